//! End-to-end tests of the event MPM (issue #5) against the real binary: selection by
//! `LoadModule` and as the default MPM, `-V`, a thousand idle keep-alive connections held
//! by the listener (no thread each, little memory, fresh clients still served), the
//! keep-alive timeout, pipelining, write completion of a slow reader on the listener,
//! graceful restart and stop, admission control (AsyncRequestWorkerFactor), a killed
//! child, MaxConnectionsPerChild, and the request kinds served inline by the listener or
//! handed to a worker (checked through the `%{tid}P` of the access log and /proc).
//!
//! Every wait polls with a generous bound; only the server each test started (and its
//! children) is ever signalled.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{Resp, Server, read_response, wait_until};

const EVENT: &str = "LoadModule mpm_event_module x\n";
const STATUS: &str = "LoadModule status_module x\n<Location /server-status>\nSetHandler server-status\n</Location>\n";
/// pid, thread id and request line of every request.
const TID_LOG: &str = "CustomLog logs/tid_log \"%P %{tid}P %r %>s\"\n";

const USR1: i32 = 10;
const KILL: i32 = 9;

// ---------------------------------------------------------------------------------------
// /proc helpers

fn thread_names(pid: i32) -> Vec<String> {
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

fn worker_threads(pid: i32) -> usize {
    thread_names(pid)
        .iter()
        .filter(|n| {
            n.strip_prefix("worker-")
                .is_some_and(|d| d.parse::<u32>().is_ok())
        })
        .count()
}

/// The name of thread `tid` of process `pid`.
fn thread_name(pid: i32, tid: i32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/comm"))
        .ok()
        .map(|c| c.trim().to_string())
}

/// Proportional set size of `pid` in KiB (/proc/PID/smaps_rollup): `(total, file)`.
fn pss_kib(pid: i32) -> (u64, u64) {
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
fn server_pss_kib(s: &Server) -> (u64, u64) {
    let mut pids = s.children();
    pids.push(s.pid());
    pids.iter()
        .map(|&p| pss_kib(p))
        .fold((0, 0), |(t, o), (pt, pf)| {
            (t + pt, o + pt.saturating_sub(pf))
        })
}

fn fnv64(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Deterministic, non-repeating-looking content of `len` bytes.
fn pattern(len: usize) -> Vec<u8> {
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

fn start(body: &str) -> Server {
    Server::start_with(&format!("{EVENT}{body}"), &["-D", "FOREGROUND"])
}

/// Wait until the server has exactly `n` children, each with `tpc` worker threads.
fn await_children(s: &Server, n: usize, tpc: usize, limit: Duration) -> Vec<i32> {
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

fn stop_server(s: &mut Server) -> String {
    assert!(
        s.stop_and_wait_children(),
        "server or children did not stop in time"
    );
    s.take_stderr()
}

/// `/server-status?auto` on a fresh connection.
fn auto(s: &Server) -> String {
    let r = s.get("/server-status?auto");
    assert_eq!(r.status, 200, "{}", r.text());
    r.text()
}

fn auto_value(text: &str, key: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(": "))
        .map(str::to_string)
}

fn auto_num(text: &str, key: &str) -> u64 {
    auto_value(text, key)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {text}"))
}

/// Lines of the tid log whose request line contains `needle`: (pid, tid).
fn served_by(s: &Server, needle: &str) -> Vec<(i32, i32)> {
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
fn thread_that_served(s: &Server, needle: &str) -> String {
    let mut who = Vec::new();
    let ok = wait_until(Duration::from_secs(10), || {
        who = served_by(s, needle);
        !who.is_empty()
    });
    assert!(ok, "{needle} not logged: {}", s.log("tid_log"));
    let (pid, tid) = who[0];
    thread_name(pid, tid).unwrap_or_else(|| format!("<thread {tid} of {pid} gone>"))
}

fn script(path: &std::path::Path, text: &str) {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).unwrap();
    }
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A CGI script echoing its request body (a handler that can block: a worker's job).
const ECHO_CGI: &str = "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\nprintf 'method=%s\\n' \"$REQUEST_METHOD\"\ncat\n";

/// A client connection used with keep-alive.
struct KaConn {
    s: TcpStream,
    buf: Vec<u8>,
}

impl KaConn {
    fn open(addr: &str) -> Option<KaConn> {
        let s = TcpStream::connect(addr).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
        s.set_write_timeout(Some(Duration::from_secs(20))).ok()?;
        Some(KaConn { s, buf: Vec::new() })
    }

    fn send(&mut self, path: &str) -> bool {
        self.s
            .write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes())
            .is_ok()
    }

    fn recv(&mut self) -> Option<Resp> {
        read_response(&mut self.s, &mut self.buf, false)
    }

    fn get(&mut self, path: &str) -> Option<Resp> {
        if !self.send(path) {
            return None;
        }
        self.recv()
    }
}

fn kept_alive(r: &Resp) -> bool {
    !r.header("connection")
        .is_some_and(|v| v.eq_ignore_ascii_case("close"))
}

/// Send a request for a big file and read about `first` bytes of the response, then
/// stop reading. Returns the connection and what was read.
fn start_download(s: &Server, req: &str, first: usize) -> (TcpStream, Vec<u8>) {
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
fn finish_download(c: &mut TcpStream, mut got: Vec<u8>, want: &[u8]) -> Resp {
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

fn v_output(body: &str) -> String {
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

#[test]
fn loadmodule_selects_event_and_v_says_so() {
    let text = v_output(EVENT);
    assert!(text.contains("Server MPM:     event\n"), "{text}");
    assert!(
        text.contains("\n  threaded:     yes (fixed thread count)\n"),
        "{text}"
    );
    assert!(
        text.contains("\n    forked:     yes (variable process count)\n"),
        "{text}"
    );

    let mut s = start(&format!(
        "{STATUS}ServerLimit 2\nThreadsPerChild 4\nStartServers 1\nMinSpareThreads 1\nMaxSpareThreads 8\nMaxRequestWorkers 8\n"
    ));
    let kids = await_children(&s, 1, 4, Duration::from_secs(20));
    let names = thread_names(kids[0]);
    // ThreadsPerChild workers + the listener + the main thread.
    assert_eq!(names.len(), 4 + 2, "{names:?}");
    assert!(names.iter().any(|n| n == "listener"), "{names:?}");
    assert!(
        s.wait_log("error_log", "AH00292")
            .contains("[mpm_event:notice]")
    );
    let a = auto(&s);
    assert!(a.contains("ServerMPM: event\n"), "{a}");
    assert!(a.contains("ConnsAsyncKeepAlive: "), "{a}");
    stop_server(&mut s);
}

#[test]
fn event_is_the_default_mpm() {
    // -V and -t without any MPM loaded.
    let text = v_output("");
    assert!(text.contains("Server MPM:     event\n"), "{text}");
    assert!(
        text.contains("\n  threaded:     yes (fixed thread count)\n"),
        "{text}"
    );

    // And the server runs event: children with a listener thread and workers.
    let mut s = Server::start_with(
        &format!(
            "{STATUS}ThreadsPerChild 3\nStartServers 2\nMinSpareThreads 1\nMaxSpareThreads 6\n"
        ),
        &["-D", "FOREGROUND"],
    );
    s.write("htdocs/index.html", "hello\n");
    let kids = await_children(&s, 2, 3, Duration::from_secs(20));
    for &k in &kids {
        assert!(thread_names(k).iter().any(|n| n == "listener"));
    }
    assert_eq!(s.get("/index.html").text(), "hello\n");
    let a = auto(&s);
    assert!(a.contains("ServerMPM: event\n"), "{a}");
    assert!(
        s.wait_log("error_log", "AH00292")
            .contains("[mpm_event:notice]")
    );
    let err = stop_server(&mut s);
    assert!(!err.contains("No MPM"), "{err}");
}

// ---------------------------------------------------------------------------------------
// A thousand idle keep-alive connections

#[test]
fn thousand_idle_keepalive_connections_are_held_cheaply() {
    const N: usize = 1000;
    const THREADS: usize = 4;
    let _ = rhttpd_sys::limits::raise_nofile_limit();
    let (soft, _) = rhttpd_sys::limits::nofile_limit().unwrap();
    assert!(
        soft >= 1200,
        "the test needs >= 1200 descriptors, has {soft}"
    );
    let mut s = start(&format!(
        "{STATUS}ServerLimit 2\nThreadsPerChild 4\nStartServers 2\nMinSpareThreads 1\nMaxSpareThreads 8\nMaxRequestWorkers 8\nAsyncRequestWorkerFactor 250\nKeepAliveTimeout 10\nMaxKeepAliveRequests 0\n"
    ));
    s.write("htdocs/index.html", "hello\n");
    let kids = await_children(&s, 2, 4, Duration::from_secs(20));
    for &k in &kids {
        let limits = std::fs::read_to_string(format!("/proc/{k}/limits")).unwrap();
        let line = limits
            .lines()
            .find(|l| l.starts_with("Max open files"))
            .unwrap();
        let soft: u64 = line.split_whitespace().nth(3).unwrap().parse().unwrap();
        assert!(soft >= 1100, "child {k}: {line}");
    }
    // Warm up (both children, their allocators) before the baseline.
    for _ in 0..50 {
        assert_eq!(s.get("/index.html").status, 200);
        auto(&s);
    }
    std::thread::sleep(Duration::from_millis(300));
    let before = server_pss_kib(&s);

    // Open N connections in parallel; each sends one request, reads it, then idles.
    let addr = s.addr();
    let opened = Instant::now();
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let addr = addr.clone();
            std::thread::spawn(move || {
                let mut conns = Vec::new();
                for i in (t..N).step_by(THREADS) {
                    let mut c = KaConn::open(&addr).expect("connect");
                    let r = c
                        .get(&format!("/index.html?c={i}"))
                        .unwrap_or_else(|| panic!("connection {i}: no response"));
                    assert_eq!(r.status, 200);
                    assert!(kept_alive(&r), "connection {i} not kept alive");
                    conns.push((i, c));
                }
                conns
            })
        })
        .collect();
    let mut groups: Vec<Vec<(usize, KaConn)>> =
        handles.into_iter().map(|h| h.join().unwrap()).collect();
    eprintln!("{N} connections opened in {:?}", opened.elapsed());
    assert_eq!(groups.iter().map(Vec::len).sum::<usize>(), N);

    // All of them idle in the listeners' keep-alive queues; no worker is busy.
    let mut text = String::new();
    let ok = wait_until(Duration::from_secs(15), || {
        text = auto(&s);
        auto_num(&text, "ConnsAsyncKeepAlive") == N as u64
    });
    assert!(ok, "keep-alive count: {text}");
    assert!(auto_num(&text, "ConnsTotal") >= N as u64, "{text}");
    let board = auto_value(&text, "Scoreboard").unwrap();
    assert!(
        !board.contains('K') && board.chars().filter(|&c| c == '_').count() >= 7,
        "idle keep-alive connections hold no thread: {board}"
    );

    let held = server_pss_kib(&s);
    let per_conn = |a: u64, b: u64| (b.saturating_sub(a) as f64) * 1024.0 / N as f64;
    eprintln!(
        "PSS: {} KiB before, {} KiB with {N} idle keep-alive connections: {:.0} bytes per connection; without file pages: {} -> {} KiB, {:.0} bytes per connection",
        before.0,
        held.0,
        per_conn(before.0, held.0),
        before.1,
        held.1,
        per_conn(before.1, held.1)
    );
    assert!(
        held.1 <= before.1 + 2 * N as u64,
        "memory grew by {} KiB for {N} connections ({:.0} B each)",
        held.1.saturating_sub(before.1),
        per_conn(before.1, held.1)
    );

    // A fresh client is served promptly: well before KeepAliveTimeout (10 s).
    let t0 = Instant::now();
    let r = s.get("/index.html");
    let waited = t0.elapsed();
    assert_eq!(r.status, 200);
    assert!(
        waited < Duration::from_secs(5),
        "fresh client waited {waited:?}"
    );

    // Every held connection is still usable.
    let handles: Vec<_> = groups
        .drain(..)
        .map(|mut conns| {
            std::thread::spawn(move || {
                let mut failed = Vec::new();
                for (i, c) in &mut conns {
                    match c.get(&format!("/index.html?again={i}")) {
                        Some(r) if r.status == 200 && r.body == b"hello\n" => {}
                        other => failed.push((*i, other.map(|r| r.status))),
                    }
                }
                (conns.len(), failed)
            })
        })
        .collect();
    let mut answered = 0;
    for h in handles {
        let (n, failed) = h.join().unwrap();
        assert!(failed.is_empty(), "second requests failed: {failed:?}");
        answered += n;
    }
    assert_eq!(answered, N);
    stop_server(&mut s);
}

// ---------------------------------------------------------------------------------------
// Timeouts, pipelining, write completion

#[test]
fn keepalive_timeout_closes_idle_connections_on_time() {
    let mut s = start(
        "ServerLimit 1\nStartServers 1\nThreadsPerChild 2\nMaxRequestWorkers 2\nMinSpareThreads 1\nMaxSpareThreads 3\nKeepAliveTimeout 1\n",
    );
    s.write("htdocs/index.html", "hello\n");
    await_children(&s, 1, 2, Duration::from_secs(20));
    let mut conns: Vec<KaConn> = (0..3).map(|_| KaConn::open(&s.addr()).unwrap()).collect();
    for c in &mut conns {
        let r = c.get("/index.html").expect("response");
        assert_eq!(r.status, 200);
        assert!(kept_alive(&r));
    }
    let t0 = Instant::now();
    for c in &mut conns {
        assert!(
            common::closed_within(&mut c.s, Duration::from_secs(4)),
            "idle connection not closed after {:?}",
            t0.elapsed()
        );
    }
    let took = t0.elapsed();
    eprintln!("closed after {took:?}");
    assert!(
        took >= Duration::from_millis(700),
        "closed too early: {took:?}"
    );
    assert!(took <= Duration::from_secs(3), "closed too late: {took:?}");

    // A connection that is used keeps living past the timeout.
    let mut c = KaConn::open(&s.addr()).unwrap();
    for _ in 0..4 {
        assert_eq!(c.get("/index.html").expect("kept alive").status, 200);
        std::thread::sleep(Duration::from_millis(500));
    }
    stop_server(&mut s);
}

/// An event server with the CGI echo script at /cgi-bin/echo.cgi, the tid log and the
/// status page, plus `extra` directives.
fn start_cgi(extra: &str) -> Server {
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

#[test]
fn pipelined_requests_are_answered_in_order() {
    let mut s = start_cgi(
        "ServerLimit 1\nStartServers 1\nThreadsPerChild 2\nMaxRequestWorkers 2\nMinSpareThreads 1\nMaxSpareThreads 3\n",
    );
    s.write("htdocs/a.txt", "alpha\n");
    s.write("htdocs/b.txt", "bravo\n");
    await_children(&s, 1, 2, Duration::from_secs(20));
    let body = "x=1&y=two";
    let reqs = format!(
        "GET /a.txt HTTP/1.1\r\nHost: localhost\r\n\r\n\
         POST /cgi-bin/echo.cgi HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}\
         GET /b.txt HTTP/1.1\r\nHost: localhost\r\n\r\n\
         HEAD /a.txt HTTP/1.1\r\nHost: localhost\r\n\r\n\
         GET /missing.txt HTTP/1.1\r\nHost: localhost\r\n\r\n\
         POST /cgi-bin/echo.cgi HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n\
         GET /b.txt?last HTTP/1.1\r\nHost: localhost\r\n\r\n",
        body.len()
    );
    let mut c = s.connect();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    c.write_all(reqs.as_bytes()).unwrap();
    let rs = common::read_responses(&mut c, &[false, false, false, true, false, false, false]);
    assert_eq!(rs.len(), 7, "responses: {rs:?}");
    assert_eq!((rs[0].status, rs[0].text().as_str()), (200, "alpha\n"));
    assert_eq!(rs[1].status, 200);
    assert_eq!(rs[1].text(), format!("method=POST\n{body}"));
    assert_eq!((rs[2].status, rs[2].text().as_str()), (200, "bravo\n"));
    assert_eq!(rs[3].status, 200);
    assert_eq!(rs[3].header("content-length"), Some("6"));
    assert!(rs[3].body.is_empty());
    assert_eq!(rs[4].status, 404);
    assert_eq!(rs[5].text(), "method=POST\nabcd");
    assert_eq!((rs[6].status, rs[6].text().as_str()), (200, "bravo\n"));
    assert!(rs.iter().all(kept_alive), "{rs:?}");
    // And the connection still works after the pipeline.
    c.write_all(b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut buf = Vec::new();
    let r = read_response(&mut c, &mut buf, false).expect("after the pipeline");
    assert_eq!(r.text(), "alpha\n");
    let log = s.wait_log("access_log", "GET /b.txt?last");
    let order: Vec<&str> = log
        .lines()
        .filter_map(|l| l.split('"').nth(1))
        .filter(|r| !r.contains("server-status"))
        .collect();
    assert_eq!(
        order,
        [
            "GET /a.txt HTTP/1.1",
            "POST /cgi-bin/echo.cgi HTTP/1.1",
            "GET /b.txt HTTP/1.1",
            "HEAD /a.txt HTTP/1.1",
            "GET /missing.txt HTTP/1.1",
            "POST /cgi-bin/echo.cgi HTTP/1.1",
            "GET /b.txt?last HTTP/1.1",
            "GET /a.txt HTTP/1.1",
        ][..],
        "{log}"
    );
    stop_server(&mut s);
}

/// With two workers: no worker is busy but the one that may be serving the status
/// request itself (the status handler runs on a worker).
fn workers_free(auto_text: &str) -> bool {
    let board = auto_value(auto_text, "Scoreboard").unwrap_or_default();
    auto_num(auto_text, "BusyWorkers") <= 1
        && board.chars().filter(|&c| c == '_').count() >= 1
        && !board.contains('K')
}

const ONE_CHILD_TWO_THREADS: &str = "ServerLimit 1\nStartServers 1\nThreadsPerChild 2\nMaxRequestWorkers 2\nMinSpareThreads 1\nMaxSpareThreads 3\n";
const BIG: usize = 50 << 20;

/// While a client holds a 50 MiB download without reading, the connection is in write
/// completion on the listener and every worker is idle; then the bytes all arrive.
fn slow_reader(req: &str, want_thread: &str) {
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

#[test]
fn slow_reader_of_an_inline_response_holds_no_worker() {
    slow_reader(
        "GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n",
        "listener",
    );
}

#[test]
fn slow_reader_of_a_worker_response_frees_the_worker() {
    // A request body (empty, chunked) sends the request to a worker thread, which hands
    // the unfinished response to the listener.
    let want = "worker-";
    let mut s = start_cgi(ONE_CHILD_TWO_THREADS);
    let content = pattern(BIG);
    s.write("htdocs/big.bin", &content);
    await_children(&s, 1, 2, Duration::from_secs(20));
    let (mut c, got) = start_download(
        &s,
        "GET /big.bin HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        256 * 1024,
    );
    let mut text = String::new();
    let ok = wait_until(Duration::from_secs(20), || {
        text = auto(&s);
        auto_num(&text, "ConnsAsyncWriting") == 1 && workers_free(&text)
    });
    assert!(ok, "worker not freed: {text}");
    let who = thread_that_served(&s, "GET /big.bin");
    assert!(who.starts_with(want), "served by {who}");
    // Both workers are free: two CGI requests run at the same time.
    for i in 0..2 {
        let r = s.request(&format!(
            "POST /cgi-bin/echo.cgi HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\nConnection: close\r\n\r\np{i}"
        ));
        assert_eq!(r.text(), format!("method=POST\np{i}"));
    }
    finish_download(&mut c, got, &content);
    stop_server(&mut s);
}

// ---------------------------------------------------------------------------------------
// Graceful restart and stop

/// Successes, failures and the count per response body of one request loop.
type Tally = (usize, usize, BTreeMap<String, usize>);

/// A request loop over new connections and one over a keep-alive connection that
/// reconnects on `Connection: close`; counts bodies seen and failures.
struct Loops {
    stop: Arc<AtomicBool>,
    handles: Vec<std::thread::JoinHandle<Tally>>,
}

impl Loops {
    fn start(addr: String) -> Loops {
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

    fn finish(self) -> Tally {
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

fn graceful_conf(docroot: &str) -> String {
    format!(
        "{EVENT}ServerLimit 4\nThreadsPerChild 4\nMaxRequestWorkers 8\nStartServers 2\nMinSpareThreads 1\nMaxSpareThreads 16\nDocumentRoot {docroot}\nCustomLog logs/pid_log \"%P %r %>s\"\n"
    )
}

/// Wait until the `old` children have gone and only new ones (4 workers each) serve.
/// (After a graceful restart the old children are replaced one for one as they exit,
/// but, as in Apache, a tick without an exit ends that phase and spare-thread
/// maintenance decides the rest: with MinSpareThreads 1 one new child may be all.)
fn await_new_children(s: &Server, old: &[i32]) -> Vec<i32> {
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

#[test]
fn graceful_restart_under_load_loses_no_request() {
    let mut s = Server::start_with(&graceful_conf("htdocs"), &["-D", "FOREGROUND"]);
    s.write("htdocs/index.html", "v1\n");
    s.write("htdocs2/index.html", "v2\n");
    let before = await_children(&s, 2, 4, Duration::from_secs(20));
    assert_eq!(s.get("/index.html").text(), "v1\n");

    // Round 1: SIGUSR1 with another DocumentRoot.
    let loops = Loops::start(s.addr());
    std::thread::sleep(Duration::from_millis(800));
    s.rewrite_config(&graceful_conf("htdocs2"));
    s.signal(USR1);
    let after = await_new_children(&s, &before);
    let ok = wait_until(Duration::from_secs(20), || {
        s.get("/index.html").text() == "v2\n"
    });
    assert!(ok, "new DocumentRoot not in effect");
    std::thread::sleep(Duration::from_millis(800));
    let (served, failed, bodies) = loops.finish();
    assert_eq!(
        failed,
        0,
        "failed requests across SIGUSR1 ({served} served, {bodies:?})\nerror_log:\n{}",
        s.log("error_log")
    );
    assert!(
        bodies.contains_key("v1\n") && bodies.contains_key("v2\n"),
        "{bodies:?}"
    );
    assert!(
        s.log("error_log")
            .contains("AH00493: SIGUSR1 received.  Doing graceful restart")
    );

    // Round 2: `rhttpd -k graceful`, back to the first DocumentRoot.
    let loops = Loops::start(s.addr());
    std::thread::sleep(Duration::from_millis(800));
    s.rewrite_config(&graceful_conf("htdocs"));
    let out = s.run_ctl(&["-k", "graceful"]);
    assert!(
        out.status.success(),
        "-k graceful: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = await_new_children(&s, &after);
    let ok = wait_until(Duration::from_secs(20), || {
        s.get("/index.html").text() == "v1\n"
    });
    assert!(ok, "-k graceful: first DocumentRoot not back in effect");
    std::thread::sleep(Duration::from_millis(800));
    let (served, failed, bodies) = loops.finish();
    assert_eq!(
        failed,
        0,
        "failed requests across -k graceful ({served} served, {bodies:?})\nerror_log:\n{}",
        s.log("error_log")
    );
    assert!(
        bodies.contains_key("v2\n") && bodies.contains_key("v1\n"),
        "{bodies:?}"
    );
    let pids: BTreeSet<i32> = s
        .log("pid_log")
        .lines()
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    assert!(
        before
            .iter()
            .chain(&after)
            .chain(&last)
            .all(|p| pids.contains(p)),
        "every generation served: {pids:?}"
    );
    stop_server(&mut s);
}

#[test]
fn graceful_stop_closes_idle_keepalive_and_completes_in_flight() {
    let mut s = start_cgi(ONE_CHILD_TWO_THREADS);
    let content = pattern(BIG);
    s.write("htdocs/big.bin", &content);
    s.write("htdocs/index.html", "hello\n");
    await_children(&s, 1, 2, Duration::from_secs(20));

    // An idle keep-alive connection.
    let mut idle = KaConn::open(&s.addr()).unwrap();
    assert!(kept_alive(&idle.get("/index.html").unwrap()));
    // A download parked in write completion.
    let (mut dl, got) = start_download(
        &s,
        "GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n",
        256 * 1024,
    );
    // A POST whose body is half sent: a worker is reading it.
    let mut post = s.connect();
    post.write_all(
        b"POST /cgi-bin/echo.cgi HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\nfirst",
    )
    .unwrap();
    let mut text = String::new();
    let ok = wait_until(Duration::from_secs(20), || {
        text = auto(&s);
        let json = s.get("/server-status?json").text();
        auto_num(&text, "ConnsAsyncWriting") == 1
            && auto_num(&text, "ConnsAsyncKeepAlive") == 1
            && json.contains("\"request\": \"POST /cgi-bin/echo.cgi HTTP/1.1\"")
    });
    assert!(ok, "{text}\n{}", s.get("/server-status?json").text());

    let t0 = Instant::now();
    let out = s.run_ctl(&["-k", "graceful-stop"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The idle connection is closed at once.
    assert!(
        common::closed_within(&mut idle.s, Duration::from_secs(3)),
        "idle keep-alive connection not closed"
    );
    eprintln!(
        "idle connection closed {:?} after graceful-stop",
        t0.elapsed()
    );
    // New connections are no longer served by the stopping child (the parent is gone
    // or going); in-flight work completes.
    std::thread::sleep(Duration::from_millis(300));
    post.write_all(b"-last").unwrap();
    let mut buf = Vec::new();
    let r = read_response(&mut post, &mut buf, false).expect("in-flight POST answered");
    assert_eq!(r.text(), "method=POST\nfirst-last");
    assert!(!kept_alive(&r), "answered with Connection: close");
    let r = finish_download(&mut dl, got, &content);
    assert_eq!(r.status, 200);
    assert!(common::closed_within(&mut dl, Duration::from_secs(5)));
    let status = s.wait_exit(Duration::from_secs(20));
    assert!(status.is_some(), "server did not exit after graceful-stop");
    assert!(
        s.log("error_log")
            .contains("AH00492: caught SIGWINCH, shutting down gracefully")
    );
    stop_server(&mut s);
}

#[test]
fn sigusr1_closes_idle_keepalive_connections_of_old_children() {
    let mut s = Server::start_with(&graceful_conf("htdocs"), &["-D", "FOREGROUND"]);
    s.write("htdocs/index.html", "v1\n");
    let before = await_children(&s, 2, 4, Duration::from_secs(20));
    let mut held: Vec<KaConn> = (0..4).map(|_| KaConn::open(&s.addr()).unwrap()).collect();
    for c in &mut held {
        assert!(kept_alive(&c.get("/index.html").unwrap()));
    }
    s.signal(USR1);
    for c in &mut held {
        assert!(
            common::closed_within(&mut c.s, Duration::from_secs(5)),
            "idle keep-alive connection of an old child not closed"
        );
    }
    await_new_children(&s, &before);
    let gone = wait_until(Duration::from_secs(10), || {
        before.iter().all(|&p| !common::pid_alive(p))
    });
    assert!(gone, "old children remain");
    assert_eq!(s.get("/index.html").status, 200);
    stop_server(&mut s);
}

// ---------------------------------------------------------------------------------------
// Admission control

#[test]
fn admission_control_stops_accepting_and_resumes() {
    let mut s = start(&format!(
        "{STATUS}ServerLimit 1\nStartServers 1\nThreadsPerChild 2\nMaxRequestWorkers 2\nMinSpareThreads 1\nMaxSpareThreads 3\nAsyncRequestWorkerFactor 1\nKeepAliveTimeout 30\nMaxKeepAliveRequests 0\n"
    ));
    s.write("htdocs/index.html", "hello\n");
    await_children(&s, 1, 2, Duration::from_secs(20));
    let json = |c: &mut KaConn| {
        let r = c
            .get("/server-status?json")
            .expect("status over the held connection");
        assert_eq!(r.status, 200);
        r.text()
    };
    // The status connection first, then more idle keep-alive connections: the limit is
    // ThreadsPerChild + idle workers × factor = 2 + 2 × 1 = 4 open connections.
    let mut status = KaConn::open(&s.addr()).unwrap();
    let first = json(&mut status);
    assert!(first.contains("\"accepting\": true"), "{first}");
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut c = KaConn::open(&s.addr()).unwrap();
        assert_eq!(c.get("/index.html").unwrap().status, 200);
        held.push(c);
    }
    // More clients: the kernel completes their handshakes, the child leaves them in the
    // backlog.
    let mut waiting: Vec<TcpStream> = (0..6)
        .map(|_| {
            let mut c = s.connect();
            c.write_all(
                b"GET /index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
            )
            .unwrap();
            c
        })
        .collect();
    let mut text = String::new();
    let ok = wait_until(Duration::from_secs(10), || {
        text = json(&mut status);
        text.contains("\"accepting\": false")
    });
    assert!(ok, "the child kept accepting: {text}");
    assert!(text.contains("\"connections\": 4"), "{text}");
    // Nobody answers the waiting clients while the child is full.
    for c in &mut waiting {
        c.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut b = [0u8; 64];
        match c.read(&mut b) {
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            other => panic!("a client beyond the limit got {other:?}"),
        }
    }
    // The load drops: the child accepts again and serves every waiting client.
    drop(held);
    drop(status);
    for (i, c) in waiting.iter_mut().enumerate() {
        c.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        let mut out = Vec::new();
        let _ = c.read_to_end(&mut out);
        let r = common::parse_response(&out)
            .unwrap_or_else(|| panic!("waiting client {i} not served: {:?}", out));
        assert_eq!(r.status, 200);
    }
    let ok = wait_until(Duration::from_secs(10), || {
        s.get("/server-status?json")
            .text()
            .contains("\"accepting\": true")
    });
    assert!(ok, "not accepting again");
    stop_server(&mut s);
}

// ---------------------------------------------------------------------------------------
// Crashes and recycling

#[test]
fn killed_child_is_replaced_and_the_other_keeps_its_connections() {
    let mut s = start(
        "ServerLimit 2\nThreadsPerChild 4\nMaxRequestWorkers 8\nStartServers 2\nMinSpareThreads 1\nMaxSpareThreads 8\nKeepAliveTimeout 60\nMaxKeepAliveRequests 0\n",
    );
    s.write("htdocs/index.html", "hello\n");
    let kids = await_children(&s, 2, 4, Duration::from_secs(20));
    // Connections until both children hold some.
    let mut held: Vec<(KaConn, i32)> = Vec::new();
    for _ in 0..200 {
        let mut c = KaConn::open(&s.addr()).unwrap();
        assert_eq!(c.get("/index.html").unwrap().status, 200);
        let cport = c.s.local_addr().unwrap().port();
        let mut owner = None;
        wait_until(Duration::from_secs(5), || {
            owner = common::pid_holding_connection(&kids, s.port, cport);
            owner.is_some()
        });
        held.push((c, owner.expect("owner of a connection")));
        let on = |p: i32| held.iter().filter(|(_, o)| *o == p).count();
        if on(kids[0]) >= 3 && on(kids[1]) >= 3 {
            break;
        }
    }
    let (victim, survivor) = (kids[0], kids[1]);
    assert!(
        held.iter().filter(|(_, o)| *o == victim).count() >= 3
            && held.iter().filter(|(_, o)| *o == survivor).count() >= 3,
        "connections not spread over both children"
    );
    common::send_signal(victim, KILL);
    let needle = format!("AH00052: child pid {victim} exit signal Killed (9)");
    assert!(s.wait_log("error_log", &needle).contains(&needle));
    let now = await_children(&s, 2, 4, Duration::from_secs(20));
    assert!(now.contains(&survivor) && !now.contains(&victim), "{now:?}");
    for (c, owner) in &mut held {
        let r = c.get("/index.html");
        if *owner == victim {
            assert!(r.is_none(), "a connection survived its child");
        } else {
            assert_eq!(r.expect("survivor's connection works").status, 200);
        }
    }
    assert_eq!(s.get("/index.html").status, 200);
    stop_server(&mut s);
}

#[test]
fn max_connections_per_child_recycles_children() {
    let mut s = start(
        "ServerLimit 4\nThreadsPerChild 4\nMaxRequestWorkers 16\nStartServers 1\nMinSpareThreads 1\nMaxSpareThreads 6\nMaxConnectionsPerChild 10\nCustomLog logs/pid_log \"%P %r %>s\"\n",
    );
    s.write("htdocs/index.html", "hello\n");
    let first = await_children(&s, 1, 4, Duration::from_secs(20));
    let mut failed = 0;
    for _ in 0..40 {
        let r = KaConn::open(&s.addr()).and_then(|mut c| {
            c.s.write_all(
                b"GET /index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
            )
            .ok()?;
            c.recv()
        });
        if r.is_none_or(|r| r.status != 200) {
            failed += 1;
        }
    }
    assert_eq!(failed, 0, "requests failed across recycling");
    let pids = || -> Vec<i32> {
        s.log("pid_log")
            .lines()
            .filter_map(|l| l.split_whitespace().next()?.parse().ok())
            .collect()
    };
    assert!(wait_until(Duration::from_secs(10), || pids().len() >= 40));
    let mut per_pid: BTreeMap<i32, usize> = BTreeMap::new();
    for p in pids() {
        *per_pid.entry(p).or_insert(0) += 1;
    }
    assert!(
        per_pid.len() >= 3,
        "children were not recycled: {per_pid:?}"
    );
    for (&pid, &n) in &per_pid {
        // The readiness probe counts as a connection too.
        assert!(n <= 10, "child {pid} served {n} connections");
    }
    assert!(per_pid.contains_key(&first[0]));
    let gone = wait_until(Duration::from_secs(10), || !common::pid_alive(first[0]));
    assert!(gone, "the first child did not exit");
    assert!(!s.children().is_empty(), "no child replaced it");
    stop_server(&mut s);
}

// ---------------------------------------------------------------------------------------
// Request kinds: inline on the listener or on a worker

#[test]
fn request_kinds_inline_and_on_workers() {
    let mut s = start_cgi(
        "ServerLimit 1\nStartServers 1\nThreadsPerChild 2\nMaxRequestWorkers 2\nMinSpareThreads 1\nMaxSpareThreads 3\nErrorDocument 404 \"custom not found\"\n",
    );
    s.write("htdocs/index.html", "hello\n");
    s.write("htdocs/digits.txt", "0123456789");
    await_children(&s, 1, 2, Duration::from_secs(20));

    // A static GET: served on the listener thread, no hand-off.
    let r = s.get("/index.html?k=static");
    assert_eq!(r.text(), "hello\n");
    assert_eq!(thread_that_served(&s, "k=static"), "listener");

    // POST with Content-Length and with chunked: a worker.
    let r = s.request(
        "POST /cgi-bin/echo.cgi?k=cl HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
    );
    assert_eq!(r.text(), "method=POST\nhello");
    assert!(thread_that_served(&s, "k=cl").starts_with("worker-"));
    let r = s.request(
        "POST /cgi-bin/echo.cgi?k=chunked HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
    );
    assert_eq!(r.text(), "method=POST\nabcde");
    assert!(thread_that_served(&s, "k=chunked").starts_with("worker-"));

    // Expect: 100-continue: the interim response, then the body is read.
    let mut c = s.connect();
    c.write_all(b"POST /cgi-bin/echo.cgi?k=expect HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        .unwrap();
    let mut buf = Vec::new();
    let interim = read_response(&mut c, &mut buf, false).expect("100 Continue");
    assert_eq!(interim.status, 100);
    c.write_all(b"body").unwrap();
    let r = read_response(&mut c, &mut buf, false).expect("final response");
    assert_eq!(r.text(), "method=POST\nbody");
    assert!(thread_that_served(&s, "k=expect").starts_with("worker-"));
    // The same connection goes on with an inline request.
    c.write_all(b"GET /index.html?k=after-expect HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    assert_eq!(
        read_response(&mut c, &mut buf, false).unwrap().text(),
        "hello\n"
    );

    // HEAD, 304, ranges, 404 with its error document.
    let r = s.raw(b"HEAD /index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    let r = common::parse_response_head_only(&r).unwrap();
    assert_eq!((r.status, r.header("content-length")), (200, Some("6")));
    assert_eq!(
        r.wire_len,
        s.raw(b"HEAD /index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .len()
    );
    let etag = s
        .get("/index.html")
        .header("etag")
        .expect("ETag")
        .to_string();
    let r = s.request(&format!(
        "GET /index.html?k=304 HTTP/1.1\r\nHost: localhost\r\nIf-None-Match: {etag}\r\nConnection: close\r\n\r\n"
    ));
    assert_eq!(r.status, 304);
    assert_eq!(thread_that_served(&s, "k=304"), "listener");
    let r = s.request(
        "GET /digits.txt?k=range HTTP/1.1\r\nHost: localhost\r\nRange: bytes=2-5\r\nConnection: close\r\n\r\n",
    );
    assert_eq!((r.status, r.text().as_str()), (206, "2345"));
    assert_eq!(r.header("content-range"), Some("bytes 2-5/10"));
    let r = s.request(
        "GET /digits.txt HTTP/1.1\r\nHost: localhost\r\nRange: bytes=0-1,8-\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(r.status, 206);
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("multipart/byteranges")
    );
    assert!(
        r.text().contains("01") && r.text().contains("89"),
        "{}",
        r.text()
    );
    let r = s.get("/missing.html?k=404");
    assert_eq!((r.status, r.text().as_str()), (404, "custom not found"));
    assert_eq!(thread_that_served(&s, "k=404"), "listener");
    let r = s.get("/nothere.html");
    assert_eq!(r.status, 404);

    // OPTIONS *.
    let r = s.request("OPTIONS * HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    assert_eq!(r.status, 200);
    assert!(r.header("allow").is_some(), "{:?}", r.headers);

    // A malformed request: 400 on a fresh connection and on a kept-alive one.
    let raw = s.raw(b"GET /index.html HTTP/1.1\r\nHost: localhost\r\nBad Header\r\n\r\n");
    let r = common::parse_response(&raw).expect("400 response");
    assert_eq!(r.status, 400);
    let mut c = s.connect();
    let mut buf = Vec::new();
    c.write_all(b"GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let r = read_response(&mut c, &mut buf, false).unwrap();
    assert!(kept_alive(&r));
    c.write_all(b"GARBAGE\r\n\r\n").unwrap();
    let r = read_response(&mut c, &mut buf, false).expect("400 on a kept-alive connection");
    assert_eq!(r.status, 400);
    assert!(common::closed_within(&mut c, Duration::from_secs(5)));
    // A request line split over two writes (the rest of a head on the listener).
    let mut c = s.connect();
    c.write_all(b"GET /index.html?k=split HTTP/1.1\r\nHo")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    c.write_all(b"st: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    assert_eq!(common::parse_response(&out).unwrap().text(), "hello\n");
    // Still serving.
    assert_eq!(s.get("/index.html").status, 200);
    stop_server(&mut s);
}
