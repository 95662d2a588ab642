//! mod_reqtimeout (`RequestReadTimeout`) under every MPM, and slow clients against the
//! event MPM: a head or body that does not arrive in time gets 408 and the connection
//! closes (AH01382 in the error log); MinRate extends the limit up to its maximum;
//! thousands of slowloris, slow-body or slow-reading connections neither keep fresh
//! clients waiting nor outlive their limits; SendMinRate closes a reader too slow.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::Server;

const MPMS: &[(&str, &str, &[&str])] = &[
    (
        "prefork",
        "LoadModule mpm_prefork_module m\nStartServers 2\nMinSpareServers 1\nMaxSpareServers 4\n",
        &["-D", "FOREGROUND"],
    ),
    (
        "worker",
        "LoadModule mpm_worker_module m\nServerLimit 1\nStartServers 1\nThreadsPerChild 8\nMinSpareThreads 1\nMaxSpareThreads 8\nMaxRequestWorkers 8\n",
        &["-D", "FOREGROUND"],
    ),
    (
        "event",
        "LoadModule mpm_event_module m\nServerLimit 1\nStartServers 1\nThreadsPerChild 8\nMinSpareThreads 1\nMaxSpareThreads 8\nMaxRequestWorkers 8\n",
        &["-D", "FOREGROUND"],
    ),
    ("one process", "", &["-X"]),
];

/// Read until the server closes (or `limit` passes): what arrived and when it closed.
fn read_until_closed(s: &mut TcpStream, limit: Duration) -> (Vec<u8>, Option<Duration>) {
    let t0 = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = limit.saturating_sub(t0.elapsed());
        if left.is_zero() {
            return (got, None);
        }
        s.set_read_timeout(Some(left)).unwrap();
        match s.read(&mut buf) {
            Ok(0) => return (got, Some(t0.elapsed())),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return (got, None);
            }
            Err(_) => return (got, Some(t0.elapsed())),
        }
    }
}

#[test]
fn a_head_that_does_not_arrive_in_time_gets_408_under_every_mpm() {
    for (name, mpm, args) in MPMS {
        let s = Server::start_with(
            // AcceptFilter none: the kernel would hold the connection that sends
            // nothing (TCP_DEFER_ACCEPT) instead of handing it to the server's timer.
            &format!(
                "{mpm}Timeout 30\nRequestReadTimeout header=2 body=0\nAcceptFilter http none\n"
            ),
            args,
        );
        let mut c = s.connect();
        c.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
            .unwrap();
        let (got, closed) = read_until_closed(&mut c, Duration::from_secs(10));
        let text = String::from_utf8_lossy(&got);
        assert!(
            text.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
            "{name}: expected 408, got {text:?}"
        );
        let after = closed.unwrap_or_else(|| panic!("{name}: the connection stayed open"));
        assert!(
            after >= Duration::from_millis(1500) && after < Duration::from_secs(6),
            "{name}: closed after {after:?}, the header limit is 2 s (Timeout 30)"
        );
        let log = s.wait_log("error_log", "AH01382");
        assert!(
            log.contains("[reqtimeout:info]")
                && log.contains("AH01382: Request header read timeout"),
            "{name}: {log}"
        );
        // A connection that sends nothing at all is closed at the same limit, silently.
        let mut idle = s.connect();
        let (got, closed) = read_until_closed(&mut idle, Duration::from_secs(10));
        assert!(
            got.is_empty(),
            "{name}: {:?}",
            String::from_utf8_lossy(&got)
        );
        assert!(closed.is_some(), "{name}: a silent connection stayed open");
        // A complete request is still served.
        s.write("htdocs/index.html", "ok\n");
        assert_eq!(s.get("/index.html").status, 200, "{name}");
    }
}

#[test]
fn min_rate_extends_the_head_limit_up_to_its_maximum() {
    for (name, mpm, args) in MPMS.iter().filter(|m| m.0 == "worker" || m.0 == "event") {
        let s = Server::start_with(
            &format!("{mpm}Timeout 30\nRequestReadTimeout header=1-3,MinRate=100\n"),
            args,
        );
        let mut c = s.connect();
        c.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
            .unwrap();
        // 60 bytes every 250 ms (240 B/s): each chunk buys 0.6 s, more than it costs,
        // so only the 3 s maximum ends it.
        let t0 = Instant::now();
        let mut refused_at = None;
        while t0.elapsed() < Duration::from_secs(8) {
            if c.write_all(format!("X-Pad: {}\r\n", "a".repeat(50)).as_bytes())
                .is_err()
            {
                refused_at = Some(t0.elapsed());
                break;
            }
            let mut b = [0u8; 64];
            c.set_read_timeout(Some(Duration::from_millis(250)))
                .unwrap();
            match c.read(&mut b) {
                Ok(n) if n > 0 => {
                    assert!(
                        b.starts_with(b"HTTP/1.1 408"),
                        "{name}: {:?}",
                        String::from_utf8_lossy(&b[..n])
                    );
                    refused_at = Some(t0.elapsed());
                    break;
                }
                Ok(_) => {
                    refused_at = Some(t0.elapsed());
                    break;
                }
                Err(_) => {}
            }
        }
        let at = refused_at.unwrap_or_else(|| panic!("{name}: never timed out"));
        assert!(
            at >= Duration::from_millis(2300) && at < Duration::from_secs(6),
            "{name}: timed out after {at:?}; the rate should have carried it to the 3 s maximum"
        );
    }
}

#[test]
fn a_body_that_does_not_arrive_in_time_gets_408() {
    for (name, mpm, args) in MPMS {
        let s = Server::start_with(
            &format!("{mpm}Timeout 30\nRequestReadTimeout header=10 body=2\n"),
            args,
        );
        s.write("htdocs/index.html", "hello\n");
        let mut c = s.connect();
        c.write_all(
            b"POST /index.html HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n0123456789",
        )
        .unwrap();
        let (got, closed) = read_until_closed(&mut c, Duration::from_secs(10));
        let text = String::from_utf8_lossy(&got);
        assert!(
            text.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
            "{name}: expected 408, got {text:?}"
        );
        assert!(closed.is_some(), "{name}: the connection stayed open");
        let log = s.wait_log("error_log", "Request body read timeout");
        assert!(
            log.contains("AH01382: Request body read timeout"),
            "{name}: {log}"
        );
    }
}

#[test]
fn bad_request_read_timeout_lines_are_syntax_errors() {
    for (arg, reason) in [
        (
            "header=10-20",
            "Must set MinRate option if using timeout range",
        ),
        ("head=10", "Unknown RequestReadTimeout parameter"),
        ("header=x", "Invalid RequestReadTimeout timeout value"),
    ] {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("conf")).unwrap();
        let conf = root.path().join("conf/httpd.conf");
        std::fs::write(
            &conf,
            Server::config_text(root.path(), 1, &format!("\nRequestReadTimeout {arg}\n")),
        )
        .unwrap();
        let out = common::run(&["-t", "-f", conf.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{arg}: {err}");
        assert!(
            err.contains("AH00526: Syntax error on line") && err.contains(reason),
            "{arg}: {err}"
        );
    }
}

/// Slowloris against the event MPM with its compiled-in defaults: 3,000 connections
/// that each send a partial head and then one header line a second. Fresh clients are
/// answered at once throughout, and every slow connection is gone soon after the
/// header limit (3-6 s here so that the test is short; the default is 20-40 s).
#[test]
fn slowloris_cannot_starve_the_event_mpm() {
    let (_, gone_after) = slow_senders(
        "RequestReadTimeout header=3-6,MinRate=500\n",
        b"GET / HTTP/1.1\r\nHost: localhost\r\n",
        b"X-Slow: 1\r\n",
    );
    assert!(
        gone_after < Duration::from_secs(12),
        "the slow connections took {gone_after:?} to go; the header limit is 3-6 s"
    );
}

/// R-U-Dead-Yet against the event MPM with its compiled-in defaults: 3,000 connections
/// that send a complete head announcing a body and then one body byte every half
/// second. Their bodies are collected on the listeners, so no worker waits for them:
/// fresh clients are answered at once throughout, and every slow connection gets 408
/// at the body limit (3 s here; the default is 20 s).
#[test]
fn slow_request_bodies_cannot_starve_the_event_mpm() {
    let (answers, gone_after) = slow_senders(
        "RequestReadTimeout header=3-6,MinRate=500 body=3\n",
        b"POST /index.html HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n0123456789",
        b"x",
    );
    assert!(
        gone_after < Duration::from_secs(9),
        "the slow connections took {gone_after:?} to go; the body limit is 3 s"
    );
    let timed_out = answers
        .iter()
        .filter(|got| got.starts_with(b"HTTP/1.1 408 "))
        .count();
    assert!(
        timed_out > SLOW_SENDERS * 9 / 10,
        "only {timed_out} of {SLOW_SENDERS} got 408"
    );
}

/// A collected chunked body that outgrows what the listener collects goes to a worker
/// under the body limit that started at the end of the head (not a fresh one): 408
/// about 3 s after the head, although the worker took over 2 s later.
#[test]
fn a_body_limit_started_on_the_listener_goes_on_on_the_worker() {
    let s = Server::start_with(
        "LoadModule mpm_event_module m\nServerLimit 1\nStartServers 1\nThreadsPerChild 2\nMinSpareThreads 1\nMaxSpareThreads 2\nMaxRequestWorkers 2\nRequestReadTimeout body=3\n",
        &["-D", "FOREGROUND"],
    );
    s.write("htdocs/index.html", "x\n");
    let mut c = s.connect();
    let t0 = Instant::now();
    c.write_all(b"POST /index.html HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    // Over 16 KiB: the listener hands the request to a worker, which waits for the rest.
    let big = vec![b'y'; 20_000];
    c.write_all(format!("{:x}\r\n", big.len()).as_bytes())
        .unwrap();
    c.write_all(&big).unwrap();
    c.write_all(b"\r\n").unwrap();
    let (got, closed) = read_until_closed(&mut c, Duration::from_secs(10));
    let took = t0.elapsed();
    assert!(
        got.starts_with(b"HTTP/1.1 408 "),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
    assert!(closed.is_some());
    assert!(
        took < Duration::from_millis(4300),
        "408 after {took:?}: the worker started a fresh body limit"
    );
}

/// Slow readers against the event MPM (defaults but for a short Timeout): 3,000
/// connections that each ask for a 1 MiB file and read nothing. Their responses wait in
/// write completion on the listeners, so fresh clients are answered at once, and each
/// slow connection is closed once Timeout passes without progress (its response cut).
#[test]
fn slow_readers_cannot_starve_the_event_mpm() {
    const SLOW: usize = 3000;
    let s = Server::start_with(
        "LoadModule mpm_event_module m\nTimeout 3\nSendBufferSize 32768\n",
        &["-D", "FOREGROUND"],
    );
    s.write("htdocs/index.html", "fresh\n");
    let size = 1024 * 1024;
    s.write("htdocs/big.bin", vec![b'b'; size]);
    let mut slow = Vec::with_capacity(SLOW);
    for _ in 0..SLOW {
        // Small buffers (set before connecting, so the window is scaled for them): the
        // server's writes wait on this reader after a few KiB.
        let sock =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        sock.set_recv_buffer_size(16 * 1024).unwrap();
        let addr: std::net::SocketAddr = s.addr().parse().unwrap();
        sock.connect(&addr.into()).unwrap();
        let mut c: TcpStream = sock.into();
        c.write_all(b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .unwrap();
        slow.push(c);
    }
    let started = Instant::now();
    let mut round = 0;
    while started.elapsed() < Duration::from_secs(5) {
        fresh_clients(&s, round, SLOW);
        round += 1;
        std::thread::sleep(Duration::from_millis(300));
    }
    // Timeout (3 s) has passed for every one of them: what each got ends short of the
    // file, and the server has closed the connection.
    for (i, c) in slow.iter_mut().enumerate() {
        let (got, closed) = read_until_closed(c, Duration::from_secs(10));
        assert!(closed.is_some(), "slow reader {i} is still open");
        assert!(got.starts_with(b"HTTP/1.1 200 "), "slow reader {i}");
        assert!(got.len() < size, "slow reader {i} got the whole file");
    }
    // All of them were taken at once (write completion does not count against a
    // child's connection budget), so all were closed at about the same time.
    let gone_after = started.elapsed();
    assert!(
        gone_after < Duration::from_secs(9),
        "the slow readers took {gone_after:?} to go; Timeout is 3 s"
    );
    fresh_clients(&s, round, SLOW);
}

/// SendMinRate: a reader that takes a response at ~160 KiB/s is closed once it has been
/// in write completion for Timeout (1 s here) and stays below the rate (1 MB/s here),
/// and the error log says why. (At the default rate, 240 bytes/s, the steady slow
/// reader above gets its whole download.) A value that is not a number is a syntax
/// error.
#[test]
fn a_reader_below_send_min_rate_is_closed_after_timeout() {
    let s = Server::start_with(
        "LoadModule mpm_event_module m\nServerLimit 1\nStartServers 1\nThreadsPerChild 2\nMinSpareThreads 1\nMaxSpareThreads 2\nMaxRequestWorkers 2\nTimeout 1\nSendBufferSize 16384\nLogLevel info\nSendMinRate 1000000\n",
        &["-D", "FOREGROUND"],
    );
    let size = 4 * 1024 * 1024;
    s.write("htdocs/big.bin", vec![b'r'; size]);
    let mut c = s.connect();
    c.write_all(b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let t0 = Instant::now();
    let mut got = 0;
    let mut buf = [0u8; 8192];
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    while t0.elapsed() < Duration::from_secs(40) {
        match c.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        got < size,
        "the slow reader got the whole file in {:?}",
        t0.elapsed()
    );
    let log = s.wait_log("error_log", "below SendMinRate");
    assert!(log.contains("below SendMinRate 1000000: closing"), "{log}");

    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("conf")).unwrap();
    let conf = root.path().join("conf/httpd.conf");
    std::fs::write(
        &conf,
        Server::config_text(root.path(), 1, "\nSendMinRate fast\n"),
    )
    .unwrap();
    let out = common::run(&["-t", "-f", conf.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("AH00526: Syntax error on line")
            && err.contains("SendMinRate argument 'fast' is not a valid number"),
        "{err}"
    );
}

const SLOW_SENDERS: usize = 3000;

/// Hold SLOW_SENDERS connections against the event MPM with its compiled-in defaults
/// (plus `conf`): each sends `first`, then `drip` every half second until the server
/// closes it, while 20 fresh clients a round must each be answered within a second.
/// Returns what each slow connection was answered and how long until all were gone.
fn slow_senders(conf: &str, first: &[u8], drip: &[u8]) -> (Vec<Vec<u8>>, Duration) {
    let s = Server::start_with(
        &format!("LoadModule mpm_event_module m\n{conf}"),
        &["-D", "FOREGROUND"],
    );
    s.write("htdocs/index.html", "fresh\n");
    let mut slow = Vec::with_capacity(SLOW_SENDERS);
    for _ in 0..SLOW_SENDERS {
        let mut c = s.connect();
        c.write_all(first).unwrap();
        c.set_nonblocking(true).unwrap();
        slow.push((c, Vec::new()));
    }
    let started = Instant::now();
    let mut open = SLOW_SENDERS;
    let mut round = 0;
    while open > 0 && started.elapsed() < Duration::from_secs(20) {
        fresh_clients(&s, round, SLOW_SENDERS);
        round += 1;
        open = trickle(&mut slow, drip);
        std::thread::sleep(Duration::from_millis(500));
    }
    let gone_after = started.elapsed();
    assert_eq!(open, 0, "slow connections still open after {gone_after:?}");
    fresh_clients(&s, round, SLOW_SENDERS);
    (slow.into_iter().map(|(_, got)| got).collect(), gone_after)
}

/// Twenty fresh clients one after another, each answered within a second.
fn fresh_clients(s: &Server, round: usize, slow: usize) {
    for i in 0..20 {
        let t = Instant::now();
        let r = s.get("/index.html");
        let took = t.elapsed();
        assert_eq!(r.status, 200, "round {round}, fresh client {i}");
        assert!(
            took < Duration::from_secs(1),
            "round {round}, fresh client {i} waited {took:?} with {slow} slow connections open"
        );
    }
}

/// Send `byte` on every slow connection the server has not closed (keeping what it
/// answered); how many are still open.
fn trickle(slow: &mut [(TcpStream, Vec<u8>)], byte: &[u8]) -> usize {
    let mut open = 0;
    for (c, got) in slow.iter_mut() {
        let mut b = [0u8; 512];
        let closed = match c.read(&mut b) {
            Ok(0) => true,
            Ok(n) => {
                got.extend_from_slice(&b[..n]);
                true
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => false,
            Err(_) => true,
        };
        if !closed && c.write_all(byte).is_ok() {
            open += 1;
        }
    }
    open
}

/// CPU time (user + system, clock ticks) of `pid` and its threads.
fn cpu_ticks(pid: i32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = text.rfind(')').map(|i| &text[i + 1..]).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the comm: state(0) ppid(1) ... utime(11) stime(12).
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    n(11) + n(12)
}

/// Out of descriptors (the child's RLIMIT_NOFILE lowered under it, so accept fails with
/// EMFILE): the event child closes the connections that have waited longest for a head,
/// keeps serving fresh clients, and does not spin on its readable listener.
#[test]
fn descriptor_exhaustion_sheds_the_oldest_partial_connections_and_never_spins() {
    if !common::have("prlimit") {
        eprintln!("skipped: prlimit (util-linux) is not installed");
        return;
    }
    let s = Server::start_with(
        "LoadModule mpm_event_module m\nServerLimit 1\nStartServers 1\nThreadsPerChild 8\nMinSpareThreads 1\nMaxSpareThreads 8\nMaxRequestWorkers 8\nRequestReadTimeout header=120\nTimeout 120\n",
        &["-D", "FOREGROUND"],
    );
    s.write("htdocs/index.html", "fresh\n");
    let mut child = Vec::new();
    assert!(
        common::wait_until(Duration::from_secs(10), || {
            child = s.children();
            child.len() == 1
        }),
        "one child expected: {child:?}"
    );
    let pid = child[0];
    let out = common::output(
        common::command("prlimit").args([&format!("--pid={pid}"), "--nofile=120:120"]),
    )
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Far more slow connections than the child has descriptors for.
    let mut slow = Vec::new();
    for _ in 0..400 {
        let mut c = s.connect();
        c.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
            .unwrap();
        slow.push(c);
    }
    // Fresh clients are still answered (each after the oldest partial connections made
    // room), one after another.
    for i in 0..20 {
        let r = s.get("/index.html");
        assert_eq!(r.status, 200, "fresh client {i}:\n{}", s.log("error_log"));
    }
    let log = s.wait_log("error_log", "descriptor limit reached");
    assert!(log.contains("closed"), "{log}");
    // With the backlog full of connections it cannot take, the child waits instead of
    // spinning on EMFILE: over 3 s it uses well under one second of CPU.
    let t0 = cpu_ticks(pid);
    std::thread::sleep(Duration::from_secs(3));
    let used = cpu_ticks(pid) - t0;
    assert!(
        used < 100,
        "the child used {used} ticks in 3 s (spinning on EMFILE?)"
    );
    assert_eq!(s.get("/index.html").status, 200);
    drop(slow);
}

/// worker out of descriptors (the child's RLIMIT_NOFILE lowered under it): accept
/// fails with EMFILE while clients wait in the backlog. The condition is logged once
/// when it starts and once when it ends, with a count (Apache logs AH02179 at every
/// retry), and the waiting clients are served once descriptors free up.
#[test]
fn worker_out_of_descriptors_logs_once_and_recovers() {
    if !common::have("prlimit") {
        eprintln!("skipped: prlimit (util-linux) is not installed");
        return;
    }
    let s = Server::start_with(
        // AcceptFilter none: the silent connections below reach the server.
        "LoadModule mpm_worker_module m\nServerLimit 1\nStartServers 1\nThreadsPerChild 64\nThreadLimit 64\nMinSpareThreads 1\nMaxSpareThreads 64\nMaxRequestWorkers 64\nKeepAliveTimeout 30\nAcceptFilter http none\n",
        &["-D", "FOREGROUND"],
    );
    s.write("htdocs/index.html", "fresh\n");
    let mut child = Vec::new();
    assert!(
        common::wait_until(Duration::from_secs(10), || {
            child = s.children();
            child.len() == 1
        }),
        "one child expected: {child:?}"
    );
    let before = std::fs::read_dir(format!("/proc/{}/fd", child[0]))
        .unwrap()
        .count();
    let limit = before + 8;
    let out = common::output(common::command("prlimit").args([
        &format!("--pid={}", child[0]),
        &format!("--nofile={limit}:{limit}"),
    ]))
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // More idle connections than descriptors: the first few hold a thread each (a
    // keep-alive wait), the rest wait in the backlog while accept fails.
    let mut held = Vec::new();
    for _ in 0..24 {
        held.push(s.connect());
    }
    let log = s.wait_log("error_log", "AH02179");
    assert!(log.contains("Too many open files"), "{log}");
    // Over a second and a half of retries, still one line.
    std::thread::sleep(Duration::from_millis(1500));
    let log = s.log("error_log");
    assert_eq!(log.matches("AH02179").count(), 1, "{log}");
    // Descriptors free up (every connection the child holds closes, and more): the
    // last clients, waiting in the backlog, are taken and served, and the end is logged.
    let mut waiting = held.split_off(20);
    drop(held);
    for c in &mut waiting {
        c.write_all(b"GET /index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut got = Vec::new();
        let _ = c.read_to_end(&mut got);
        assert!(
            got.starts_with(b"HTTP/1.1 200"),
            "{}",
            String::from_utf8_lossy(&got)
        );
    }
    // The end is logged at the first accept a second after the last failure.
    let mut log = String::new();
    assert!(
        common::wait_until(Duration::from_secs(10), || {
            assert_eq!(s.get("/index.html").status, 200);
            log = s.log("error_log");
            log.contains("accepting connections again")
        }),
        "{log}"
    );
    assert!(log.contains("failed accepts"), "{log}");
    assert_eq!(log.matches("AH02179").count(), 1, "{log}");
}

/// A storm of short connections leaves thousands of timer entries behind (keep-alive
/// and RequestReadTimeout deadlines of connections long gone). They must not keep
/// epoll_wait returning at once when their moment comes: after the storm, the idle
/// event child uses next to no CPU through the window where those deadlines fall.
#[test]
fn timers_left_by_a_connection_storm_do_not_spin_the_listener() {
    let s = Server::start_with(
        "LoadModule mpm_event_module m\nServerLimit 1\nStartServers 1\nThreadsPerChild 4\nMinSpareThreads 1\nMaxSpareThreads 4\nMaxRequestWorkers 4\nKeepAliveTimeout 2\nRequestReadTimeout header=3\n",
        &["-D", "FOREGROUND"],
    );
    s.write("htdocs/index.html", "storm\n");
    let mut child = Vec::new();
    assert!(
        common::wait_until(Duration::from_secs(10), || {
            child = s.children();
            child.len() == 1
        }),
        "one child expected: {child:?}"
    );
    let pid = child[0];
    // Each connection: one keep-alive request, its response read, then closed by the
    // client, which leaves a stale keep-alive deadline (2 s on) and a stale head
    // deadline (3 s on) in the listener.
    let storm_start = Instant::now();
    let mut served = 0;
    for _ in 0..8000 {
        let mut c = s.connect();
        c.write_all(b"GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .unwrap();
        let mut buf = [0u8; 1024];
        let mut got = Vec::new();
        while !got.ends_with(b"storm\n") {
            match c.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        if got.starts_with(b"HTTP/1.1 200") {
            served += 1;
        }
    }
    assert_eq!(served, 8000, "{}", s.log("error_log"));
    // Through the window where the storm's deadlines fall (from 2 s after its start to
    // 3 s after its end, plus a margin), the child sleeps.
    let storm = storm_start.elapsed();
    let t0 = cpu_ticks(pid);
    std::thread::sleep(storm + Duration::from_secs(4));
    let used = cpu_ticks(pid) - t0;
    assert!(
        used < 50,
        "the idle child used {used} ticks while the storm's stale deadlines fell due (storm took {storm:?})"
    );
    assert_eq!(s.get("/index.html").status, 200);
}

/// A slow but steady reader of a large response under event: write completion waits in
/// the listener, and `Timeout` bounds each wait without progress (as Apache), not the
/// whole download, so a download longer than Timeout arrives intact.
#[test]
fn a_steady_slow_reader_outlasting_timeout_gets_the_whole_response() {
    let s = Server::start_with(
        "LoadModule mpm_event_module m\nServerLimit 1\nStartServers 1\nThreadsPerChild 2\nMinSpareThreads 1\nMaxSpareThreads 2\nMaxRequestWorkers 2\nTimeout 2\nSendBufferSize 32768\n",
        &["-D", "FOREGROUND"],
    );
    let size = 6 * 1024 * 1024;
    let content: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    s.write("htdocs/big.bin", &content);
    let mut c = s.connect();
    // A small receive buffer so that the server's writes really wait on this reader.
    socket2::SockRef::from(&c)
        .set_recv_buffer_size(32 * 1024)
        .unwrap();
    c.write_all(b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let t0 = Instant::now();
    let mut got = Vec::with_capacity(size + 1024);
    let mut buf = vec![0u8; 32 * 1024];
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    loop {
        match c.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => panic!("read failed after {:?}: {e}", t0.elapsed()),
        }
        // About 1.5 MiB/s: the download takes ~4 s, twice Timeout.
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = t0.elapsed();
    let body_at = got.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    let body = &got[body_at.expect("a response head")..];
    assert_eq!(body.len(), size, "the download was cut after {took:?}");
    assert!(body == &content[..], "the body differs");
    assert!(
        took > Duration::from_secs(2),
        "too fast to test anything: {took:?}"
    );
}
