//! Helpers of the balancer tests (tests/e2e_balancer.rs, tests/e2e_balancer_manager.rs):
//! python3 member backends that answer with their name, the MPM sizings, the module
//! lines, and request spreads counted by answer.
#![allow(dead_code, unused_imports)]

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::dynamic_support::*;

pub const BACKEND_PY: &str = r#"
import http.server, os, sys
name, port, state = sys.argv[1], int(sys.argv[2]), sys.argv[3]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def answer(self, with_body):
        code = 200
        if self.path.startswith("/health"):
            try:
                code = int(open(os.path.join(state, name + ".health")).read().strip())
            except Exception:
                code = 200
        body = (name + "\n").encode()
        if self.path.startswith("/big"):
            body = (name + "\n").encode() * 20000
        if self.path.startswith("/redir"):
            code = 302
        self.send_response(code)
        if code == 302:
            self.send_header("Location", "http://127.0.0.1:%d/target" % port)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if with_body:
            self.wfile.write(body)
        if not self.path.startswith("/health"):
            with open(os.path.join(state, name + ".hits"), "a") as f:
                f.write(self.path + "\n")
    def do_GET(self):
        self.answer(True)
    def do_HEAD(self):
        self.answer(False)
    def do_OPTIONS(self):
        self.answer(False)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer.allow_reuse_address = True
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
"#;

pub const MODULES: &str = "LoadModule proxy_module x\nLoadModule proxy_http_module x\nLoadModule proxy_balancer_module x\nLoadModule slotmem_shm_module x\nLoadModule lbmethod_byrequests_module x\nLoadModule lbmethod_bytraffic_module x\nLoadModule lbmethod_bybusyness_module x\nLoadModule proxy_hcheck_module x\n";

pub const PREFORK3: Mpm = Mpm {
    conf: "LoadModule mpm_prefork_module x\nStartServers 4\nMinSpareServers 4\nMaxSpareServers 8\n",
    args: &["-D", "FOREGROUND"],
};

pub const WORKER2: Mpm = Mpm {
    conf: "LoadModule mpm_worker_module x\nServerLimit 2\nStartServers 2\nThreadsPerChild 4\nMinSpareThreads 1\nMaxSpareThreads 8\nMaxRequestWorkers 8\n",
    args: &["-D", "FOREGROUND"],
};

pub const EVENT2: Mpm = Mpm {
    conf: "LoadModule mpm_event_module x\nServerLimit 2\nStartServers 2\nThreadsPerChild 4\nMinSpareThreads 1\nMaxSpareThreads 8\nMaxRequestWorkers 8\n",
    args: &["-D", "FOREGROUND"],
};

pub struct Backend {
    name: String,
    port: u16,
    proc: Option<Spawned>,
}

pub struct Backends {
    dir: tempfile::TempDir,
    list: Vec<Backend>,
}

impl Backends {
    pub fn start(names: &[&str]) -> Backends {
        let dir = tempfile::tempdir().unwrap();
        let py = dir.path().join("backend.py");
        std::fs::write(&py, BACKEND_PY).unwrap();
        let mut list = Vec::new();
        for n in names {
            let port = free_port();
            let proc = Spawned::spawn(
                command("python3")
                    .arg(&py)
                    .arg(n)
                    .arg(port.to_string())
                    .arg(dir.path())
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null()),
            )
            .expect("python3 (scripts/test.sh installs it)");
            list.push(Backend {
                name: n.to_string(),
                port,
                proc: Some(proc),
            });
        }
        for b in &list {
            let ok = wait_until(Duration::from_secs(10), || {
                TcpStream::connect(("127.0.0.1", b.port)).is_ok()
            });
            assert!(ok, "backend {} did not start", b.name);
        }
        Backends { dir, list }
    }

    pub fn port(&self, name: &str) -> u16 {
        self.list.iter().find(|b| b.name == name).unwrap().port
    }

    pub fn kill(&mut self, name: &str) {
        let b = self.list.iter_mut().find(|b| b.name == name).unwrap();
        if let Some(mut p) = b.proc.take() {
            p.kill();
        }
        let port = b.port;
        assert!(wait_until(Duration::from_secs(5), || TcpStream::connect((
            "127.0.0.1",
            port
        ))
        .is_err()));
    }

    pub fn set_health(&self, name: &str, code: u16) {
        std::fs::write(
            self.dir.path().join(format!("{name}.health")),
            code.to_string(),
        )
        .unwrap();
    }

    /// `BalancerMember` lines: `(name, extra parameters)`.
    pub fn members(&self, extra: &[(&str, &str)]) -> String {
        extra
            .iter()
            .map(|(n, p)| {
                format!(
                    "BalancerMember http://127.0.0.1:{} route={n} {p}\n",
                    self.port(n)
                )
            })
            .collect()
    }
}

/// rhttpd under `mpm` with the balancer modules loaded.
pub fn start_balanced(mpm: Mpm, conf: &str) -> Server {
    Server::start_with(&format!("{}{MODULES}{conf}", mpm.conf), mpm.args)
}

pub fn manager_conf() -> &'static str {
    "<Location /balancer-manager>\nSetHandler balancer-manager\nRequire ip 127.0.0.1\n</Location>\n"
}

/// `n` GETs of `path` (each on its own connection) from 4 client threads at once, so
/// that several children answer; the bodies' first lines, counted.
pub fn spread(s: &Server, path: &str, n: usize, extra: &str) -> HashMap<String, usize> {
    spread_with(s, path, n, 4, extra)
}

/// [`spread`] from `threads` client threads.
pub fn spread_with(
    s: &Server,
    path: &str,
    n: usize,
    threads: usize,
    extra: &str,
) -> HashMap<String, usize> {
    let addr = s.addr();
    let per = n / threads;
    let mut handles = Vec::new();
    for _ in 0..threads {
        let addr = addr.clone();
        let path = path.to_string();
        let extra = extra.to_string();
        handles.push(std::thread::spawn(move || {
            let mut out = Vec::new();
            for _ in 0..per {
                let mut c = TcpStream::connect(&addr).unwrap();
                c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                c.write_all(
                    format!(
                        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{extra}\r\n"
                    )
                    .as_bytes(),
                )
                .unwrap();
                let mut raw = Vec::new();
                let _ = c.read_to_end(&mut raw);
                let r = parse_response(&raw).expect("response");
                let first = String::from_utf8_lossy(&r.body)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_string();
                out.push(format!("{} {first}", r.status));
            }
            out
        }));
    }
    let mut counts = HashMap::new();
    for h in handles {
        for k in h.join().unwrap() {
            *counts.entry(k).or_insert(0) += 1;
        }
    }
    counts
}

/// The pid of the child that logged the first `AH01114` (failed connect).
pub fn failing_pid(s: &Server) -> String {
    let log = s.log("error_log");
    let line = log
        .lines()
        .find(|l| l.contains("AH01114"))
        .unwrap_or_else(|| panic!("no failed connect: {log}"));
    let at = line.find("[pid ").expect("pid") + 5;
    line[at..].split([']', ':']).next().unwrap().to_string()
}

/// Send batches of concurrent `path` requests until one is served (as `pid_log`'s
/// `%P %>s %U` lines after line `from` show) by a child other than `not`; the
/// statuses seen.
pub fn until_other_child(s: &Server, path: &str, not: &str, from: usize) -> HashMap<String, usize> {
    let mut all = HashMap::new();
    let found = wait_until(Duration::from_secs(15), || {
        for (k, n) in spread_with(s, path, 16, 8, "") {
            *all.entry(k).or_insert(0) += n;
        }
        s.log("pid_log")
            .lines()
            .skip(from)
            .any(|l| l.ends_with(path) && !l.starts_with(&format!("{not} ")))
    });
    assert!(found, "no other child served {path}: {}", s.log("pid_log"));
    all
}

pub fn count(c: &HashMap<String, usize>, k: &str) -> usize {
    c.get(k).copied().unwrap_or(0)
}

pub fn within(got: usize, want: usize, total: usize) -> bool {
    got.abs_diff(want) * 10 <= total
}
