//! Helpers shared by the configuration end-to-end tests (tests/e2e_config*.rs).
#![allow(dead_code, unused_imports)]

use crate::common;

pub use crate::common::*;
pub use std::io::{Read, Write};
pub use std::net::TcpStream;
pub use std::path::{Path, PathBuf};
pub use std::process::{Command, Output, Stdio};
pub use std::time::{Duration, Instant};

/// A scratch ServerRoot with `conf/`, `htdocs/` and `logs/`.
pub struct Root {
    pub dir: tempfile::TempDir,
}

impl Root {
    pub fn new() -> Root {
        let dir = tempfile::tempdir().unwrap();
        for d in ["conf", "htdocs", "logs"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        Root { dir }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn s(&self) -> String {
        self.dir.path().display().to_string()
    }

    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    /// `rhttpd -t -d ROOT -f ROOT/conf/httpd.conf [extra...]` on `text`.
    pub fn check(&self, text: &str, extra: &[&str]) -> Output {
        let f = self.write("conf/httpd.conf", text);
        let root = self.s();
        let f = f.display().to_string();
        let mut args = vec!["-t", "-d", root.as_str(), "-f", f.as_str()];
        args.extend_from_slice(extra);
        run(&args)
    }
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[track_caller]
pub fn assert_ok(o: &Output) {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(o));
    assert!(stderr(o).contains("Syntax OK"), "stderr: {}", stderr(o));
}

/// Exit 1 with `AH00526: Syntax error on line LINE of FILE:` followed by `reason`.
#[track_caller]
pub fn assert_syntax_error(o: &Output, file: &Path, line: usize, reason: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(1), "stderr: {err}");
    let head = format!(
        "AH00526: Syntax error on line {line} of {}:\n",
        file.display()
    );
    let Some(at) = err.find(&head) else {
        panic!("expected {head:?} in stderr:\n{err}");
    };
    let rest = &err[at + head.len()..];
    assert!(
        rest.lines().next().unwrap_or("").contains(reason),
        "expected reason {reason:?} after the head, stderr:\n{err}"
    );
    assert!(!err.contains("Syntax OK"), "{err}");
}

pub const BASE: &str = "Listen 127.0.0.1:1\nServerName localhost\n";

/// Spawn `rhttpd -X` with explicit arguments (no harness header) and wait for `port`.
pub fn spawn_x(args: &[&str], port: u16) -> Spawned {
    let mut child = Spawned::spawn(
        command(BIN)
            .args(args)
            .arg("-X")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
    )
    .unwrap();
    let ok = wait_until(Duration::from_secs(15), || {
        if let Ok(Some(st)) = child.try_wait() {
            let mut e = String::new();
            let _ = child.stderr.take().map(|mut x| x.read_to_string(&mut e));
            panic!("rhttpd exited early ({st}): {e}");
        }
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert!(ok, "not listening on {port}");
    child
}

pub fn get_at(port: u16, path: &str, host: &str) -> Resp {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    parse_response(&raw).unwrap_or_else(|| panic!("bad response {raw:?}"))
}

/// Kill the server's process group and reap it (what dropping it does too).
pub fn kill(child: &mut Spawned) {
    child.kill();
}

// ---------------------------------------------------------------------------------------
// A running server: each directive observable

pub fn ipv6_loopback() -> bool {
    std::net::TcpListener::bind("[::1]:0").is_ok()
}

/// Read one response (with Content-Length) from a kept-alive connection.
pub fn read_one(c: &mut TcpStream) -> Option<Resp> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let cl = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + cl {
                return parse_response(&buf[..end + 4 + cl]);
            }
        }
        match c.read(&mut chunk) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

pub fn keepalive_get(c: &mut TcpStream, path: &str) -> Option<Resp> {
    c.write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes())
        .ok()?;
    read_one(c)
}

/// How long until the server closes `c` (bounded by `limit`).
pub fn time_to_close(c: &mut TcpStream, limit: Duration) -> Duration {
    c.set_read_timeout(Some(limit)).unwrap();
    let t = Instant::now();
    let mut b = [0u8; 64];
    // EINTR (e.g. after the test process was stopped and continued) is not a close.
    while let Err(e) = c.read(&mut b) {
        if e.kind() != std::io::ErrorKind::Interrupted || t.elapsed() >= limit {
            break;
        }
    }
    t.elapsed()
}
