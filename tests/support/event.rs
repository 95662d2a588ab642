//! Helpers shared by the event MPM end-to-end tests (tests/e2e_event*.rs): /proc
//! readers, the keep-alive client, slow readers, request loops, mod_status parsing.
#![allow(dead_code, unused_imports)]

use crate::common;

pub use crate::common::{Resp, Server, read_response, wait_until};
pub use std::collections::{BTreeMap, BTreeSet};
pub use std::io::{ErrorKind, Read, Write};
pub use std::net::TcpStream;
pub use std::os::unix::fs::PermissionsExt;
pub use std::sync::Arc;
pub use std::sync::atomic::{AtomicBool, Ordering};
pub use std::time::{Duration, Instant};

pub const EVENT: &str = "LoadModule mpm_event_module x\n";

pub const STATUS: &str = "LoadModule status_module x\n<Location /server-status>\nSetHandler server-status\n</Location>\n";

/// pid, thread id and request line of every request.
pub const TID_LOG: &str = "CustomLog logs/tid_log \"%P %{tid}P %r %>s\"\n";

pub const USR1: i32 = 10;

pub const KILL: i32 = 9;

// ---------------------------------------------------------------------------------------
// /proc helpers

pub fn thread_names(pid: i32) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for e in dir.flatten() {
            if let Ok(c) = std::fs::read_to_string(e.path().join("comm")) {
                out.push(c.trim().to_string());
            }
        }
    }
    out
}

pub fn worker_threads(pid: i32) -> usize {
    thread_names(pid)
        .iter()
        .filter(|n| {
            n.strip_prefix("worker-")
                .is_some_and(|d| d.parse::<u32>().is_ok())
        })
        .count()
}

/// The name of thread `tid` of process `pid`.
pub fn thread_name(pid: i32, tid: i32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/comm"))
        .ok()
        .map(|c| c.trim().to_string())
}

/// Proportional set size of `pid` in KiB (/proc/PID/smaps_rollup): `(total, file)`.
pub fn pss_kib(pid: i32) -> (u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
    };
    let total = field("Pss:").unwrap_or_else(|| panic!("no Pss for pid {pid}: {text}"));
    (total, field("Pss_File:").unwrap_or(0))
}

/// PSS of the parent and all its children in KiB: `(total, without file pages)`. The
/// file-backed part (the binary's code, shared with every other rhttpd running at the
/// time, such as other tests' servers) changes with what else runs; the rest (heap,
/// stacks, the scoreboard) is the server's own memory.
pub fn server_pss_kib(s: &Server) -> (u64, u64) {
    let mut pids = s.children();
    pids.push(s.pid());
    pids.iter()
        .map(|&p| pss_kib(p))
        .fold((0, 0), |(t, o), (pt, pf)| {
            (t + pt, o + pt.saturating_sub(pf))
        })
}

pub fn fnv64(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Deterministic, non-repeating-looking content of `len` bytes.
pub fn pattern(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Server helpers

pub fn start(body: &str) -> Server {
    Server::start_with(&format!("{EVENT}{body}"), &["-D", "FOREGROUND"])
}

/// Wait until the server has exactly `n` children, each with `tpc` worker threads.
pub fn await_children(s: &Server, n: usize, tpc: usize, limit: Duration) -> Vec<i32> {
    let mut kids = Vec::new();
    let ok = wait_until(limit, || {
        kids = s.children();
        kids.len() == n && kids.iter().all(|&k| worker_threads(k) == tpc)
    });
    let detail: Vec<(i32, Vec<String>)> = kids.iter().map(|&k| (k, thread_names(k))).collect();
    assert!(
        ok,
        "expected {n} children with {tpc} workers each, got {detail:?}\nerror_log:\n{}",
        s.log("error_log")
    );
    kids
}

pub fn stop_server(s: &mut Server) -> String {
    assert!(
        s.stop_and_wait_children(),
        "server or children did not stop in time"
    );
    s.take_stderr()
}

/// `/server-status?auto` on a fresh connection.
pub fn auto(s: &Server) -> String {
    let r = s.get("/server-status?auto");
    assert_eq!(r.status, 200, "{}", r.text());
    r.text()
}

pub fn auto_value(text: &str, key: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(": "))
        .map(str::to_string)
}

pub fn auto_num(text: &str, key: &str) -> u64 {
    auto_value(text, key)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {text}"))
}

/// Lines of the tid log whose request line contains `needle`: (pid, tid).
pub fn served_by(s: &Server, needle: &str) -> Vec<(i32, i32)> {
    s.log("tid_log")
        .lines()
        .filter(|l| l.contains(needle))
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            Some((f.next()?.parse().ok()?, f.next()?.parse().ok()?))
        })
        .collect()
}

/// The name of the thread that served the (single) request containing `needle`.
pub fn thread_that_served(s: &Server, needle: &str) -> String {
    let mut who = Vec::new();
    let ok = wait_until(Duration::from_secs(10), || {
        who = served_by(s, needle);
        !who.is_empty()
    });
    assert!(ok, "{needle} not logged: {}", s.log("tid_log"));
    let (pid, tid) = who[0];
    thread_name(pid, tid).unwrap_or_else(|| format!("<thread {tid} of {pid} gone>"))
}

pub fn script(path: &std::path::Path, text: &str) {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).unwrap();
    }
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A CGI script echoing its request body (a handler that can block: a worker's job).
pub const ECHO_CGI: &str = "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\nprintf 'method=%s\\n' \"$REQUEST_METHOD\"\ncat\n";

/// A client connection used with keep-alive.
pub struct KaConn {
    pub s: TcpStream,
    pub buf: Vec<u8>,
}

impl KaConn {
    pub fn open(addr: &str) -> Option<KaConn> {
        let s = TcpStream::connect(addr).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
        s.set_write_timeout(Some(Duration::from_secs(20))).ok()?;
        Some(KaConn { s, buf: Vec::new() })
    }

    pub fn send(&mut self, path: &str) -> bool {
        self.s
            .write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes())
            .is_ok()
    }

    pub fn recv(&mut self) -> Option<Resp> {
        read_response(&mut self.s, &mut self.buf, false)
    }

    pub fn get(&mut self, path: &str) -> Option<Resp> {
        if !self.send(path) {
            return None;
        }
        self.recv()
    }
}

pub fn kept_alive(r: &Resp) -> bool {
    !r.header("connection")
        .is_some_and(|v| v.eq_ignore_ascii_case("close"))
}

/// Send a request for a big file and read about `first` bytes of the response, then
/// stop reading. Returns the connection and what was read.
pub fn start_download(s: &Server, req: &str, first: usize) -> (TcpStream, Vec<u8>) {
    let mut c = s.connect();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    c.write_all(req.as_bytes()).unwrap();
    let mut got = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    while got.len() < first {
        let n = c.read(&mut chunk).expect("read the start of the download");
        assert!(n > 0, "download closed early");
        got.extend_from_slice(&chunk[..n]);
    }
    (c, got)
}

/// Read the rest of a download (until `total` bytes of response) and check the body
/// against `want` by length and hash.
pub fn finish_download(c: &mut TcpStream, mut got: Vec<u8>, want: &[u8]) -> Resp {
    let head_end = got
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response head")
        + 4;
    let total = head_end + want.len();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut chunk = vec![0u8; 256 * 1024];
    while got.len() < total && Instant::now() < deadline {
        match c.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => panic!("download failed after {} bytes: {e}", got.len()),
        }
    }
    let r = common::parse_response_head_only(&got).expect("response head");
    let body = &got[head_end..];
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-length"),
        Some(want.len().to_string().as_str())
    );
    assert_eq!(body.len(), want.len(), "body length");
    assert_eq!(fnv64(body), fnv64(want), "body hash");
    r
}

// ---------------------------------------------------------------------------------------
// Selection, default MPM, -V

pub fn v_output(body: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("htdocs")).unwrap();
    let conf = dir.path().join("httpd.conf");
    std::fs::write(
        &conf,
        Server::config_text(dir.path(), common::free_port(), body),
    )
    .unwrap();
    let args = [
        "-d",
        dir.path().to_str().unwrap(),
        "-f",
        conf.to_str().unwrap(),
    ];
    let t = common::run(&[&args[..], &["-t"]].concat());
    assert!(
        t.status.success(),
        "-t failed: {}",
        String::from_utf8_lossy(&t.stderr)
    );
    assert!(
        String::from_utf8_lossy(&t.stderr).contains("Syntax OK")
            || String::from_utf8_lossy(&t.stdout).contains("Syntax OK")
    );
    let out = common::run(&[&args[..], &["-V"]].concat());
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// An event server with the CGI echo script at /cgi-bin/echo.cgi, the tid log and the
/// status page, plus `extra` directives.
pub fn start_cgi(extra: &str) -> Server {
    let extra = extra.to_string();
    let s = Server::start_root_fn_with(
        move |root, _| {
            format!(
                "{EVENT}{STATUS}{TID_LOG}LoadModule cgi_module x\nScriptAlias /cgi-bin/ \"{}/cgi-bin/\"\n{extra}",
                root.display()
            )
        },
        &["-D", "FOREGROUND"],
    );
    script(&s.path("cgi-bin/echo.cgi"), ECHO_CGI);
    s
}

/// With two workers: no worker is busy but the one that may be serving the status
/// request itself (the status handler runs on a worker).
pub fn workers_free(auto_text: &str) -> bool {
    let board = auto_value(auto_text, "Scoreboard").unwrap_or_default();
    auto_num(auto_text, "BusyWorkers") <= 1
        && board.chars().filter(|&c| c == '_').count() >= 1
        && !board.contains('K')
}

pub const ONE_CHILD_TWO_THREADS: &str = "ServerLimit 1\nStartServers 1\nThreadsPerChild 2\nMaxRequestWorkers 2\nMinSpareThreads 1\nMaxSpareThreads 3\n";

pub const BIG: usize = 50 << 20;

/// While a client holds a 50 MiB download without reading, the connection is in write
/// completion on the listener and every worker is idle; then the bytes all arrive.
pub fn slow_reader(req: &str, want_thread: &str) {
    let mut s = start_cgi(ONE_CHILD_TWO_THREADS);
    let content = pattern(BIG);
    s.write("htdocs/big.bin", &content);
    await_children(&s, 1, 2, Duration::from_secs(20));
    let (mut c, got) = start_download(&s, req, 256 * 1024);
    // Read a little more, slowly, then stop reading altogether.
    let mut got = got;
    let mut chunk = vec![0u8; 16 * 1024];
    for _ in 0..5 {
        let n = c.read(&mut chunk).unwrap();
        got.extend_from_slice(&chunk[..n]);
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut text = String::new();
    let ok = wait_until(Duration::from_secs(20), || {
        text = auto(&s);
        auto_num(&text, "ConnsAsyncWriting") == 1 && workers_free(&text)
    });
    assert!(
        ok,
        "not in write completion with idle workers: {text}\n{}",
        s.log("error_log")
    );
    assert_eq!(thread_that_served(&s, "GET /big.bin"), want_thread);
    // Other clients are served meanwhile.
    s.write("htdocs/small.txt", "small\n");
    assert_eq!(s.get("/small.txt").text(), "small\n");
    let r = finish_download(&mut c, got, &content);
    assert!(kept_alive(&r));
    // The connection goes back to keep-alive afterwards.
    let ok = wait_until(Duration::from_secs(10), || {
        let t = auto(&s);
        auto_num(&t, "ConnsAsyncWriting") == 0 && auto_num(&t, "ConnsAsyncKeepAlive") == 1
    });
    assert!(ok, "{}", auto(&s));
    stop_server(&mut s);
}

// ---------------------------------------------------------------------------------------
// Graceful restart and stop

/// Successes, failures and the count per response body of one request loop.
pub type Tally = (usize, usize, BTreeMap<String, usize>);

/// A request loop over new connections and one over a keep-alive connection that
/// reconnects on `Connection: close`; counts bodies seen and failures.
pub struct Loops {
    pub stop: Arc<AtomicBool>,
    pub handles: Vec<std::thread::JoinHandle<Tally>>,
}

impl Loops {
    pub fn start(addr: String) -> Loops {
        let stop = Arc::new(AtomicBool::new(false));
        let mut handles = Vec::new();
        {
            let (stop, addr) = (stop.clone(), addr.clone());
            handles.push(std::thread::spawn(move || {
                let (mut ok, mut failed, mut bodies) = (0, 0, BTreeMap::new());
                while !stop.load(Ordering::Relaxed) {
                    let r = KaConn::open(&addr).and_then(|mut c| {
                        c.s.write_all(
                            b"GET /index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                        )
                        .ok()?;
                        c.recv()
                    });
                    match r {
                        Some(r) if r.status == 200 => {
                            ok += 1;
                            *bodies.entry(r.text()).or_insert(0) += 1;
                        }
                        _ => failed += 1,
                    }
                }
                (ok, failed, bodies)
            }));
        }
        {
            let stop = stop.clone();
            handles.push(std::thread::spawn(move || {
                let (mut ok, mut failed, mut bodies) = (0, 0, BTreeMap::new());
                let mut conn: Option<KaConn> = None;
                while !stop.load(Ordering::Relaxed) {
                    if conn.is_none() {
                        conn = KaConn::open(&addr);
                    }
                    let Some(c) = conn.as_mut() else {
                        failed += 1;
                        continue;
                    };
                    match c.get("/index.html") {
                        Some(r) if r.status == 200 => {
                            ok += 1;
                            *bodies.entry(r.text()).or_insert(0) += 1;
                            if !kept_alive(&r) {
                                conn = None;
                            }
                        }
                        _ => {
                            failed += 1;
                            conn = None;
                        }
                    }
                }
                (ok, failed, bodies)
            }));
        }
        Loops { stop, handles }
    }

    pub fn finish(self) -> Tally {
        self.stop.store(true, Ordering::Relaxed);
        let mut total = (0, 0, BTreeMap::new());
        for h in self.handles {
            let (ok, failed, bodies) = h.join().unwrap();
            total.0 += ok;
            total.1 += failed;
            for (b, n) in bodies {
                *total.2.entry(b).or_insert(0) += n;
            }
        }
        total
    }
}

pub fn graceful_conf(docroot: &str) -> String {
    format!(
        "{EVENT}ServerLimit 4\nThreadsPerChild 4\nMaxRequestWorkers 8\nStartServers 2\nMinSpareThreads 1\nMaxSpareThreads 16\nDocumentRoot {docroot}\nCustomLog logs/pid_log \"%P %r %>s\"\n"
    )
}

/// Wait until the `old` children have gone and only new ones (4 workers each) serve.
/// (After a graceful restart the old children are replaced one for one as they exit,
/// but, as in Apache, a tick without an exit ends that phase and spare-thread
/// maintenance decides the rest: with MinSpareThreads 1 one new child may be all.)
pub fn await_new_children(s: &Server, old: &[i32]) -> Vec<i32> {
    let mut kids = Vec::new();
    let ok = wait_until(Duration::from_secs(30), || {
        kids = s.children();
        !kids.is_empty()
            && kids
                .iter()
                .all(|k| !old.contains(k) && worker_threads(*k) == 4)
    });
    assert!(
        ok,
        "new children: {kids:?} (old {old:?})\n{}",
        s.log("error_log")
    );
    kids
}
