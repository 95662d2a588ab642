//! Helpers shared by the dynamic-content end-to-end tests (tests/e2e_cgi.rs,
//! tests/e2e_dynamic.rs): how to run each MPM, a temporary site, scripts.
#![allow(dead_code, unused_imports)]

use crate::common;

pub use crate::common::*;
pub use std::io::{Read, Write};
pub use std::net::TcpStream;
pub use std::os::unix::fs::PermissionsExt;
pub use std::path::{Path, PathBuf};
pub use std::process::{Child, Command, Stdio};
pub use std::time::{Duration, Instant};

/// How to run the server under test.
#[derive(Clone, Copy)]
pub struct Mpm {
    pub conf: &'static str,
    pub args: &'static [&'static str],
}

pub const PREFORK: Mpm = Mpm {
    conf: "LoadModule mpm_prefork_module x\nStartServers 2\nMinSpareServers 1\nMaxSpareServers 4\n",
    args: &["-D", "FOREGROUND"],
};

pub const ONE_PROCESS: Mpm = Mpm {
    conf: "",
    args: &["-X"],
};

pub const WORKER: Mpm = Mpm {
    conf: "LoadModule mpm_worker_module x\nServerLimit 2\nStartServers 1\nThreadsPerChild 8\nMinSpareThreads 1\nMaxSpareThreads 16\nMaxRequestWorkers 16\n",
    args: &["-D", "FOREGROUND"],
};

pub const EVENT: Mpm = Mpm {
    conf: "LoadModule mpm_event_module x\nServerLimit 2\nStartServers 1\nThreadsPerChild 8\nMinSpareThreads 1\nMaxSpareThreads 16\nMaxRequestWorkers 16\n",
    args: &["-D", "FOREGROUND"],
};

pub const MODS: &str = "LoadModule cgi_module x\nLoadModule proxy_module x\nLoadModule proxy_http_module x\nLoadModule proxy_fcgi_module x\n";

pub fn start(mpm: Mpm, conf: &str) -> Server {
    Server::start_with(&format!("{}{MODS}{conf}", mpm.conf), mpm.args)
}

/// Write an executable script.
pub fn script(path: &Path, text: &str) {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).unwrap();
    }
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A server whose ServerRoot is known before the config is written: the scripts and
/// files are created first in a directory the config points at.
pub struct Site {
    pub dir: tempfile::TempDir,
}

impl Site {
    pub fn new() -> Site {
        let dir = tempfile::tempdir().unwrap();
        for d in ["cgi-bin", "htdocs"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        Site { dir }
    }
    pub fn p(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
    pub fn s(&self, rel: &str) -> String {
        self.p(rel).display().to_string()
    }
}

// ---------------------------------------------------------------------------------------
// PHP-FPM

/// A PHP-FPM master (which makes itself a session leader, so its pid is still the id of
/// the group its workers are in); the whole group is killed when dropped.
pub struct PhpFpm {
    _process: Spawned,
    pub dir: tempfile::TempDir,
}

/// Start Debian's php-fpm (no daemon, two children) listening on `listen` (a socket
/// path or 127.0.0.1:port); `ready` says when it accepts connections.
pub fn php_fpm(listen: impl FnOnce(&Path) -> String, ready: impl Fn(&Path) -> bool) -> PhpFpm {
    php_fpm_children(listen, ready, 2)
}

/// [`php_fpm`] with `children` PHP processes.
pub fn php_fpm_children(
    listen: impl FnOnce(&Path) -> String,
    ready: impl Fn(&Path) -> bool,
    children: u32,
) -> PhpFpm {
    let bin = php_fpm_binary().unwrap_or_else(|| {
        panic!("php-fpm is not installed: scripts/test.sh installs it (apt-get install php-fpm)")
    });
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let root = rhttpd_running_as_root();
    let conf = format!(
        "[global]\npid = {p}/fpm.pid\nerror_log = {p}/fpm.log\ndaemonize = no\n[www]\n{user}listen = {l}\npm = static\npm.max_children = {children}\nclear_env = yes\ncatch_workers_output = yes\nphp_admin_value[upload_tmp_dir] = {p}\nphp_admin_value[sys_temp_dir] = {p}\n",
        p = d.display(),
        l = listen(d),
        user = if root {
            "user = root\ngroup = root\n"
        } else {
            ""
        },
    );
    std::fs::write(d.join("fpm.conf"), conf).unwrap();
    let mut cmd = command(&bin);
    cmd.arg("-F")
        .arg("-y")
        .arg(d.join("fpm.conf"))
        .arg("-p")
        .arg(d);
    if root {
        cmd.arg("-R");
    }
    let process = Spawned::spawn(
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
    .expect("start php-fpm");
    let f = PhpFpm {
        _process: process,
        dir,
    };
    assert!(
        wait_until(Duration::from_secs(15), || ready(f.dir.path())),
        "php-fpm did not start: {}",
        std::fs::read_to_string(f.dir.path().join("fpm.log")).unwrap_or_default()
    );
    f
}

pub fn rhttpd_running_as_root() -> bool {
    output(command("id").arg("-u"))
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}
