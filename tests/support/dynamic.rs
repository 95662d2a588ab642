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
