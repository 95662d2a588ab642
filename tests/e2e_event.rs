//! End-to-end tests of the event MPM (issue #5) against the real binary: selection by
//! `LoadModule` and as the default MPM, `-V`, a thousand idle keep-alive connections held
//! by the listener (no thread each, little memory, fresh clients still served), the
//! keep-alive timeout, pipelining, write completion of a slow reader on the listener,
//! and the request kinds served inline by the listener or
//! handed to a worker (checked through the `%{tid}P` of the access log and /proc).
//!
//! Every wait polls with a generous bound; only the server each test started (and its
//! children) is ever signalled.
//!
//! Restarts, stops, admission control, crashes and recycling: tests/e2e_event_lifecycle.rs.

mod common;
#[path = "support/event.rs"]
mod event_support;

use event_support::*;

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
    c.write_all(b"GET /a.txt?after HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut buf = Vec::new();
    let r = read_response(&mut c, &mut buf, false).expect("after the pipeline");
    assert_eq!(r.text(), "alpha\n");
    // The access log line is written once the response is on its way: wait for the last.
    let log = s.wait_log("access_log", "GET /a.txt?after");
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
            "GET /a.txt?after HTTP/1.1",
        ][..],
        "{log}"
    );
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
// Request kinds: inline on the listener or on a worker

/// Request bodies that arrive in pieces: small ones are collected on the listener and
/// then run on a worker with the whole body there; one over the collection size (16 KiB)
/// goes to a worker that reads the rest. All are echoed intact, on a kept-alive
/// connection that goes on afterwards.
#[test]
fn bodies_sent_in_pieces_are_collected_then_served_whole() {
    let mut s = start_cgi(
        "ServerLimit 1\nStartServers 1\nThreadsPerChild 2\nMaxRequestWorkers 2\nMinSpareThreads 1\nMaxSpareThreads 3\n",
    );
    s.write("htdocs/index.html", "hello\n");
    await_children(&s, 1, 2, Duration::from_secs(20));
    let big: String = (0..40_000)
        .map(|i| (b'a' + (i % 26) as u8) as char)
        .collect();
    let cases: Vec<(&str, Vec<Vec<u8>>, String)> = vec![
        (
            "length",
            vec![
                b"POST /cgi-bin/echo.cgi?k=pieces-cl HTTP/1.1\r\nHost: localhost\r\nContent-Length: 11\r\n\r\n".to_vec(),
                b"hello".to_vec(),
                b" world".to_vec(),
            ],
            "hello world".into(),
        ),
        (
            "chunked",
            vec![
                b"POST /cgi-bin/echo.cgi?k=pieces-chunked HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab".to_vec(),
                b"c\r\n2\r\nde\r\n0\r".to_vec(),
                b"\n\r\n".to_vec(),
            ],
            "abcde".into(),
        ),
        (
            "large",
            vec![
                format!("POST /cgi-bin/echo.cgi?k=pieces-large HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\r\n{}", big.len(), &big[..10_000]).into_bytes(),
                big.as_bytes()[10_000..30_000].to_vec(),
                big.as_bytes()[30_000..].to_vec(),
            ],
            big.clone(),
        ),
    ];
    let mut c = s.connect();
    let mut buf = Vec::new();
    for (name, pieces, want) in &cases {
        for p in pieces {
            c.write_all(p).unwrap();
            std::thread::sleep(Duration::from_millis(150));
        }
        let r =
            read_response(&mut c, &mut buf, false).unwrap_or_else(|| panic!("{name}: no response"));
        assert_eq!(r.status, 200, "{name}");
        assert!(
            r.text() == format!("method=POST\n{want}"),
            "{name}: {:?}",
            &r.text()[..r.text().len().min(80)]
        );
    }
    for k in ["pieces-cl", "pieces-chunked", "pieces-large"] {
        assert!(thread_that_served(&s, k).starts_with("worker-"), "{k}");
    }
    c.write_all(b"GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    assert_eq!(
        read_response(&mut c, &mut buf, false).unwrap().text(),
        "hello\n"
    );
    s.stop();
}

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
