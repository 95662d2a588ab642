//! End-to-end tests of the event MPM's process life (issue #5): graceful restart and
//! graceful stop under load, SIGUSR1 closing old children's idle connections, admission
//! control (AsyncRequestWorkerFactor), a killed child, MaxConnectionsPerChild.
//!
//! Every wait polls with a generous bound; only the server each test started (and its
//! children) is ever signalled.

mod common;
#[path = "support/event.rs"]
mod event_support;

use event_support::*;

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
    // Each generation served (not necessarily each of its children: which child's
    // listener wins an accept is the kernel's choice, and on a loaded machine one child
    // of a generation may take every connection).
    for (generation, children) in [("first", &before), ("second", &after), ("third", &last)] {
        assert!(
            children.iter().any(|p| pids.contains(p)),
            "the {generation} generation {children:?} served nothing: {pids:?}"
        );
    }
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
    // A POST whose body (over the 16 KiB the listener collects) is half sent: a worker
    // is reading it.
    let filler = "x".repeat(20_000);
    let mut post = s.connect();
    post.write_all(
        format!(
            "POST /cgi-bin/echo.cgi HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\r\nfirst",
            10 + filler.len()
        )
        .as_bytes(),
    )
    .unwrap();
    // A small POST body half sent: the listener is collecting it.
    let mut small = s.connect();
    small
        .write_all(
            b"POST /cgi-bin/echo.cgi HTTP/1.1\r\nHost: localhost\r\nContent-Length: 6\r\n\r\nsma",
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
    post.write_all(format!("-last{filler}").as_bytes()).unwrap();
    let mut buf = Vec::new();
    let r = read_response(&mut post, &mut buf, false).expect("in-flight POST answered");
    assert!(r.text() == format!("method=POST\nfirst-last{filler}"));
    assert!(!kept_alive(&r), "answered with Connection: close");
    small.write_all(b"ll!").unwrap();
    let mut buf = Vec::new();
    let r = read_response(&mut small, &mut buf, false).expect("collected POST answered");
    assert_eq!(r.text(), "method=POST\nsmall!");
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
