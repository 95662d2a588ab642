//! End-to-end tests of the worker MPM (issue #4) against the real binary: selection and
//! `-V`, process and thread counts, growth to MaxRequestWorkers and shrinking back under
//! MaxSpareThreads, the clamping warnings, keep-alive starvation (worker's defining
//! weakness: an idle keep-alive connection holds a thread), graceful restarts under a
//! request loop, a child killed under load, MaxConnectionsPerChild recycling, privilege
//! drop and a clean stop.
//!
//! Processes and threads are read from /proc: children by their parent pid, threads by
//! their names (`worker-N`, `listener`). Every wait polls with a generous bound; only the
//! server each test started (and its children) is ever signalled.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Resp, Server, read_response, wait_until};

const WORKER: &str = "LoadModule mpm_worker_module modules/mod_mpm_worker.so\n";

// ---------------------------------------------------------------------------------------
// /proc helpers

/// Names of a process's threads (/proc/PID/task/*/comm).
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

/// The `Uid:` or `Gid:` line of /proc/PID/task/TID/status, as its four numbers.
fn ids(path: &str, which: &str) -> Vec<u32> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(which))
        .map(|v| {
            v.split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// Server helpers

fn start(body: &str) -> Server {
    Server::start_with(&format!("{WORKER}{body}"), &["-D", "FOREGROUND"])
}

/// Wait until the server has exactly `n` children, each with `tpc` worker threads;
/// returns the children.
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

/// Stop the server (SIGTERM, then wait for the parent and all its children); returns
/// what it wrote on stderr.
fn stop_server(s: &mut Server) -> String {
    assert!(
        s.stop_and_wait_children(),
        "server or children did not stop in time"
    );
    s.take_stderr()
}

fn rewrite(s: &Server, body: &str) {
    s.rewrite_config(&format!("{WORKER}{body}"));
}

const USR1: i32 = 10;
const KILL: i32 = 9;

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

/// Open `n` keep-alive connections, each having sent one request (with `?c=i`) and read
/// its 200 response; they then sit idle, each holding a worker thread.
fn hold_keepalive(s: &Server, n: usize, first: usize) -> Vec<KaConn> {
    (first..first + n)
        .map(|i| {
            let mut c = KaConn::open(&s.addr()).expect("connect");
            let r = c.get(&format!("/index.html?c={i}"));
            let r = r.unwrap_or_else(|| {
                panic!(
                    "keep-alive connection {i} got no response\nerror_log:\n{}",
                    s.log("error_log")
                )
            });
            assert_eq!(r.status, 200);
            assert!(
                !r.header("connection")
                    .is_some_and(|v| v.eq_ignore_ascii_case("close")),
                "connection {i} was not kept alive"
            );
            c
        })
        .collect()
}

/// Lines of a `%P %r %>s`-style log: pid per line.
fn pids_in_log(text: &str) -> Vec<i32> {
    text.lines()
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

const PID_LOG: &str = "CustomLog logs/pid_log \"%P %r %>s\"\n";

// ---------------------------------------------------------------------------------------
// Tests

#[test]
fn loadmodule_selects_worker_and_v_says_so() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("htdocs")).unwrap();
    let conf = dir.path().join("httpd.conf");
    std::fs::write(
        &conf,
        Server::config_text(dir.path(), common::free_port(), WORKER),
    )
    .unwrap();
    let out = common::run(&[
        "-d",
        dir.path().to_str().unwrap(),
        "-f",
        conf.to_str().unwrap(),
        "-V",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "-V failed: {text}");
    assert!(text.contains("Server MPM:     worker\n"), "{text}");
    assert!(
        text.contains("\n  threaded:     yes (fixed thread count)\n"),
        "{text}"
    );
    assert!(
        text.contains("\n    forked:     yes (variable process count)\n"),
        "{text}"
    );

    // And the running server is threaded: a listener thread and worker-N threads.
    let mut s = start(
        "ServerLimit 2\nThreadsPerChild 4\nStartServers 1\nMinSpareThreads 1\nMaxSpareThreads 8\nMaxRequestWorkers 8\n",
    );
    let kids = await_children(&s, 1, 4, Duration::from_secs(20));
    assert!(thread_names(kids[0]).iter().any(|n| n == "listener"));
    assert!(
        s.wait_log("error_log", "AH00292")
            .contains("[mpm_worker:notice]")
    );
    stop_server(&mut s);
}

#[test]
fn start_counts_processes_and_threads() {
    let mut s = start(
        "ServerLimit 4\nThreadsPerChild 8\nMaxRequestWorkers 32\nStartServers 3\nMinSpareThreads 8\nMaxSpareThreads 40\n",
    );
    s.write("htdocs/index.html", "hello\n");
    let kids = await_children(&s, 3, 8, Duration::from_secs(20));
    let mut total_workers = 0;
    for &k in &kids {
        let names = thread_names(k);
        // ThreadsPerChild workers + 1 listener + the main thread.
        assert_eq!(names.len(), 8 + 2, "threads of child {k}: {names:?}");
        assert_eq!(names.iter().filter(|n| *n == "listener").count(), 1);
        let nums: BTreeSet<String> = names
            .iter()
            .filter(|n| n.starts_with("worker-"))
            .cloned()
            .collect();
        let want: BTreeSet<String> = (0..8).map(|i| format!("worker-{i}")).collect();
        assert_eq!(nums, want, "worker thread names of child {k}");
        total_workers += worker_threads(k);
    }
    assert_eq!(total_workers, 3 * 8);
    // The parent serves nothing and has no threads of its own.
    assert_eq!(thread_names(s.pid()).len(), 1);
    assert_eq!(s.get("/index.html").status, 200);
    // Steady: 24 idle threads is within [MinSpareThreads, MaxSpareThreads].
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(s.children().len(), 3);
    stop_server(&mut s);
}

#[test]
fn grows_to_max_request_workers_under_load_and_shrinks_after() {
    let mut s = start(
        "ServerLimit 4\nThreadsPerChild 8\nMaxRequestWorkers 32\nStartServers 1\nMinSpareThreads 4\nMaxSpareThreads 13\nKeepAliveTimeout 60\nMaxKeepAliveRequests 0\n",
    );
    s.write("htdocs/index.html", "hello\n");
    let ppid = s.pid();
    await_children(&s, 1, 8, Duration::from_secs(20));

    // A sampler records the most children ever seen.
    let stop = Arc::new(AtomicBool::new(false));
    let max_seen = Arc::new(AtomicUsize::new(0));
    let sampler = {
        let (stop, max_seen) = (stop.clone(), max_seen.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                max_seen.fetch_max(common::children_of(ppid).len(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(25));
            }
        })
    };

    // 29 idle keep-alive connections: 4 children, 3 idle threads, under MinSpareThreads
    // with no room to grow: "within MinSpareThreads of MaxRequestWorkers".
    let mut held = hold_keepalive(&s, 29, 0);
    let kids = await_children(&s, 4, 8, Duration::from_secs(20));
    assert_eq!(kids.len(), 4);
    let log = s.wait_log("error_log", "AH00287");
    assert!(
        log.contains(
            "AH00287: server is within MinSpareThreads of MaxRequestWorkers, consider raising the MaxRequestWorkers setting"
        ),
        "no AH00287:\n{log}"
    );
    // 32: every thread MaxRequestWorkers allows is held, none idle.
    held.extend(hold_keepalive(&s, 3, 29));
    let log = s.wait_log("error_log", "AH00286");
    assert!(
        log.contains(
            "AH00286: server reached MaxRequestWorkers setting, consider raising the MaxRequestWorkers setting"
        ),
        "no AH00286:\n{log}"
    );

    // More clients wait in the backlog; no fifth child appears.
    let mut extra: Vec<KaConn> = (0..4)
        .map(|_| {
            let mut c = KaConn::open(&s.addr()).unwrap();
            assert!(c.send("/index.html"));
            c
        })
        .collect();
    std::thread::sleep(Duration::from_millis(3000));
    assert_eq!(s.children().len(), 4);
    assert!(max_seen.load(Ordering::Relaxed) <= 4);

    // Let go of the held threads: the waiting clients are served ...
    drop(held);
    for c in &mut extra {
        let r = c.recv().expect("queued client served once threads free up");
        assert_eq!(r.status, 200);
    }
    drop(extra);
    // ... and idle threads fall back under MaxSpareThreads (13: one child of 8).
    let shrunk = wait_until(Duration::from_secs(30), || s.children().len() == 1);
    assert!(
        shrunk,
        "children did not fall back to 1: {:?}",
        s.children()
    );
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(s.children().len(), 1, "MinSpareThreads keeps one child");
    stop.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    assert_eq!(
        max_seen.load(Ordering::Relaxed),
        4,
        "never beyond 4 children"
    );
    stop_server(&mut s);
}

#[test]
fn clamping_warnings() {
    // Not a multiple of ThreadsPerChild: rounded down to 24 = 3 children at most.
    let mut s = start(
        "ServerLimit 4\nThreadsPerChild 8\nMaxRequestWorkers 30\nStartServers 4\nMinSpareThreads 1\nMaxSpareThreads 64\n",
    );
    await_children(&s, 3, 8, Duration::from_secs(20));
    let err = stop_server(&mut s);
    assert!(
        err.contains("AH00316: WARNING: MaxRequestWorkers of 30 is not an integer multiple of ThreadsPerChild of 8, decreasing to nearest multiple 24, for a maximum of 3 servers."),
        "{err}"
    );

    // ThreadsPerChild above ThreadLimit: 64 threads per child, as the warning says.
    let mut s = start(
        "ServerLimit 1\nThreadLimit 64\nThreadsPerChild 100\nMaxRequestWorkers 64\nStartServers 1\nMinSpareThreads 1\nMaxSpareThreads 200\n",
    );
    await_children(&s, 1, 64, Duration::from_secs(20));
    let err = stop_server(&mut s);
    assert!(
        err.contains("AH00310: WARNING: ThreadsPerChild of 100 exceeds ThreadLimit of 64 threads, decreasing to 64. To increase, please see the ThreadLimit directive."),
        "{err}"
    );

    // More servers than ServerLimit: at most 4 children.
    let mut s = start(
        "ServerLimit 4\nThreadsPerChild 8\nMaxRequestWorkers 64\nStartServers 8\nMinSpareThreads 1\nMaxSpareThreads 64\n",
    );
    await_children(&s, 4, 8, Duration::from_secs(20));
    let err = stop_server(&mut s);
    assert!(
        err.contains("AH00318: WARNING: MaxRequestWorkers of 64 would require 8 servers and would exceed ServerLimit of 4, decreasing to 32. To increase, please see the ServerLimit directive."),
        "{err}"
    );

    // On a graceful restart the warnings go to the error log.
    let mut s = start(
        "ServerLimit 4\nThreadsPerChild 8\nMaxRequestWorkers 32\nStartServers 1\nMinSpareThreads 1\nMaxSpareThreads 64\n",
    );
    await_children(&s, 1, 8, Duration::from_secs(20));
    rewrite(
        &s,
        "ServerLimit 4\nThreadsPerChild 8\nMaxRequestWorkers 30\nStartServers 1\nMinSpareThreads 1\nMaxSpareThreads 64\n",
    );
    s.signal(USR1);
    let log = s.wait_log("error_log", "AH00316");
    assert!(
        log.contains("AH00316") && log.contains("decreasing to nearest multiple 24"),
        "{log}"
    );
    stop_server(&mut s);
}

#[test]
fn keepalive_connections_starve_new_clients_until_keepalive_timeout() {
    let mut s = start(
        "ServerLimit 2\nThreadsPerChild 8\nMaxRequestWorkers 16\nStartServers 2\nMinSpareThreads 1\nMaxSpareThreads 16\nKeepAliveTimeout 3\n",
    );
    s.write("htdocs/index.html", "hello\n");
    await_children(&s, 2, 8, Duration::from_secs(20));
    let mut held = hold_keepalive(&s, 16, 0);
    // Re-arm every keep-alive timer together, so the first one to expire is ~3 s away.
    let armed = Instant::now();
    for c in &mut held {
        assert!(c.send("/index.html"));
    }
    for c in &mut held {
        assert_eq!(c.recv().expect("second request").status, 200);
    }
    // The 17th client: accepted by the kernel, but no thread is free to take it.
    let mut late = KaConn::open(&s.addr()).unwrap();
    let sent = Instant::now();
    assert!(late.send("/index.html"));
    let r = late
        .recv()
        .expect("17th client served after KeepAliveTimeout");
    let waited = sent.elapsed();
    let since_armed = armed.elapsed();
    eprintln!("17th client: waited {waited:?}, {since_armed:?} after the timers were armed");
    assert_eq!(r.status, 200);
    assert!(
        since_armed >= Duration::from_millis(2500),
        "the 17th client was served after {waited:?} ({since_armed:?} after the keep-alive timers were armed): no starvation?"
    );
    assert!(
        waited >= Duration::from_millis(2000),
        "the 17th client waited only {waited:?}"
    );
    // The held connections were the ones timed out to make room.
    let mut closed = 0;
    for c in &mut held {
        if common::closed_within(&mut c.s, Duration::from_millis(100)) {
            closed += 1;
        }
    }
    assert!(closed >= 1, "no keep-alive connection was timed out");
    stop_server(&mut s);
}

/// Successes, failures and the count per response body of one request loop.
type Tally = (usize, usize, BTreeMap<String, usize>);

/// A request loop over new connections and over a keep-alive connection that
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
                            if r.header("connection")
                                .is_some_and(|v| v.eq_ignore_ascii_case("close"))
                            {
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

    /// Stop and return (successes, failures, count per body) of both loops.
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

fn graceful_conf(tpc: usize, docroot: &str) -> String {
    format!(
        "ServerLimit 4\nThreadLimit 16\nThreadsPerChild {tpc}\nMaxRequestWorkers {}\nStartServers 2\nMinSpareThreads 1\nMaxSpareThreads 64\nDocumentRoot {docroot}\n{PID_LOG}",
        tpc * 4
    )
}

#[test]
fn graceful_restart_under_load_loses_no_request() {
    let mut s = start(&graceful_conf(8, "htdocs"));
    s.write("htdocs/index.html", "v1\n");
    s.write("htdocs2/index.html", "v2\n");
    let (v1, v2) = ("htdocs", "htdocs2");
    let before = await_children(&s, 2, 8, Duration::from_secs(20));
    assert_eq!(s.get("/index.html").text(), "v1\n");

    // Round 1: SIGUSR1, new config with ThreadsPerChild 4 and another DocumentRoot.
    let loops = Loops::start(s.addr());
    std::thread::sleep(Duration::from_millis(800));
    rewrite(&s, &graceful_conf(4, v2));
    s.signal(USR1);
    let after = await_children(&s, 2, 4, Duration::from_secs(30));
    assert!(
        after.iter().all(|p| !before.contains(p)),
        "old children remain"
    );
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
            .contains("AH00297: SIGUSR1 received.  Doing graceful restart")
    );

    // Round 2: `rhttpd -k graceful`, back to 8 threads and the first DocumentRoot.
    let loops = Loops::start(s.addr());
    std::thread::sleep(Duration::from_millis(800));
    rewrite(&s, &graceful_conf(8, v1));
    let out = s.run_ctl(&["-k", "graceful"]);
    assert!(
        out.status.success(),
        "-k graceful: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = await_children(&s, 2, 8, Duration::from_secs(30));
    assert!(last.iter().all(|p| !after.contains(p)));
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
    // The requests were spread over the three generations of children (which child
    // of a generation takes a connection is the kernel's choice: under a loaded
    // machine one child may take them all).
    let pids: BTreeSet<i32> = pids_in_log(&s.log("pid_log")).into_iter().collect();
    for (name, generation) in [("first", &before), ("second", &after), ("third", &last)] {
        assert!(
            generation.iter().any(|p| pids.contains(p)),
            "no child of the {name} generation ({generation:?}) served a request: {pids:?}"
        );
    }
    stop_server(&mut s);
}

#[test]
fn killed_child_loses_only_its_connections_and_is_replaced() {
    let mut s = start(&format!(
        "ServerLimit 4\nThreadsPerChild 8\nMaxRequestWorkers 32\nStartServers 2\nMinSpareThreads 1\nMaxSpareThreads 16\nKeepAliveTimeout 60\nMaxKeepAliveRequests 0\n{PID_LOG}"
    ));
    s.write("htdocs/index.html", "hello\n");
    let kids = await_children(&s, 2, 8, Duration::from_secs(20));
    // 12 connections over 16 threads: each child holds at least 4.
    let mut held = hold_keepalive(&s, 12, 0);
    let mut owner: BTreeMap<usize, i32> = BTreeMap::new();
    let ok = wait_until(Duration::from_secs(10), || {
        let log = s.log("pid_log");
        owner.clear();
        for l in log.lines() {
            let mut f = l.split_whitespace();
            let (Some(pid), Some(_), Some(path)) = (f.next(), f.next(), f.next()) else {
                continue;
            };
            if let (Ok(pid), Some(i)) = (pid.parse::<i32>(), path.strip_prefix("/index.html?c="))
                && let Ok(i) = i.parse::<usize>()
            {
                owner.insert(i, pid);
            }
        }
        owner.len() == 12
    });
    assert!(ok, "pid log incomplete: {}", s.log("pid_log"));
    let victim = kids[0];
    let survivor = kids[1];
    let on_victim: Vec<usize> = owner
        .iter()
        .filter(|(_, p)| **p == victim)
        .map(|(i, _)| *i)
        .collect();
    let on_survivor: Vec<usize> = owner
        .iter()
        .filter(|(_, p)| **p == survivor)
        .map(|(i, _)| *i)
        .collect();
    assert!(
        on_victim.len() >= 4 && on_survivor.len() >= 4,
        "connections not spread: {owner:?}"
    );

    common::send_signal(victim, KILL);
    let log = s.wait_log(
        "error_log",
        &format!("AH00052: child pid {victim} exit signal Killed (9)"),
    );
    assert!(
        log.contains(&format!(
            "AH00052: child pid {victim} exit signal Killed (9)"
        )),
        "{log}"
    );
    // Replaced: two children again, the survivor among them.
    let now = await_children(&s, 2, 8, Duration::from_secs(20));
    assert!(now.contains(&survivor) && !now.contains(&victim), "{now:?}");

    // The victim's connections are gone; the survivor's still work.
    for &i in &on_victim {
        assert!(
            held[i].get("/index.html").is_none(),
            "connection {i} survived its child"
        );
    }
    for &i in &on_survivor {
        let r = held[i]
            .get("/index.html")
            .expect("survivor's connection works");
        assert_eq!(r.status, 200);
    }
    assert_eq!(s.get("/index.html").status, 200);
    assert!(s.children().contains(&survivor));
    drop(held);
    stop_server(&mut s);
}

#[test]
fn max_connections_per_child_recycles_children() {
    let mut s = start(&format!(
        "ServerLimit 4\nThreadsPerChild 4\nMaxRequestWorkers 16\nStartServers 1\nMinSpareThreads 1\nMaxSpareThreads 6\nMaxConnectionsPerChild 10\n{PID_LOG}"
    ));
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
    let ok = wait_until(Duration::from_secs(10), || {
        pids_in_log(&s.log("pid_log")).len() >= 40
    });
    assert!(ok);
    let mut per_pid: BTreeMap<i32, usize> = BTreeMap::new();
    for p in pids_in_log(&s.log("pid_log")) {
        *per_pid.entry(p).or_insert(0) += 1;
    }
    assert!(
        per_pid.len() >= 3,
        "children were not recycled: {per_pid:?}"
    );
    for (&pid, &n) in &per_pid {
        // About N (the readiness probe counts as a connection too): never far beyond.
        assert!(n <= 10 + 4, "child {pid} served {n} connections");
    }
    assert!(per_pid.contains_key(&first[0]));
    let gone = wait_until(Duration::from_secs(10), || !common::pid_alive(first[0]));
    assert!(gone, "the first child did not exit");
    assert!(!s.children().is_empty(), "no child replaced it");
    stop_server(&mut s);
}

#[test]
fn privileges_dropped_in_every_thread_of_every_child() {
    let root_user = ids("/proc/self/status", "Uid:").first() == Some(&0);
    let body = "ServerLimit 2\nThreadsPerChild 4\nMaxRequestWorkers 8\nStartServers 2\nMinSpareThreads 1\nMaxSpareThreads 8\nUser nobody\n";
    let mut s = Server::start_fn_with(|_| String::new() + WORKER + body, &["-D", "FOREGROUND"]);
    let kids = await_children(&s, 2, 4, Duration::from_secs(20));
    let (want_uid, want_gid) = if root_user {
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
        let f: Vec<&str> = passwd
            .lines()
            .find(|l| l.starts_with("nobody:"))
            .expect("nobody in /etc/passwd")
            .split(':')
            .collect();
        (f[2].parse::<u32>().unwrap(), f[3].parse::<u32>().unwrap())
    } else {
        // Not root: nothing to drop; children keep our ids.
        (
            ids("/proc/self/status", "Uid:")[0],
            ids("/proc/self/status", "Gid:")[0],
        )
    };
    for &k in &kids {
        let tasks: Vec<_> = std::fs::read_dir(format!("/proc/{k}/task"))
            .unwrap()
            .flatten()
            .collect();
        assert_eq!(tasks.len(), 4 + 2);
        for t in tasks {
            let st = t.path().join("status").display().to_string();
            assert_eq!(ids(&st, "Uid:"), vec![want_uid; 4], "{st}");
            assert_eq!(ids(&st, "Gid:"), vec![want_gid; 4], "{st}");
        }
    }
    // The parent keeps its identity (it must be able to bind and signal on restart).
    let parent_status = format!("/proc/{}/status", s.pid());
    assert_eq!(
        ids(&parent_status, "Uid:")[0],
        ids("/proc/self/status", "Uid:")[0]
    );
    // Children serve as that user: make the tree readable to it.
    s.write("htdocs/index.html", "hello\n");
    if root_user {
        let ok = common::command("chmod")
            .args(["-R", "a+rX"])
            .arg(s.root.path())
            .status()
            .is_ok_and(|st| st.success());
        assert!(ok, "chmod");
    }
    let r = s.get("/index.html");
    assert_eq!(r.status, 200, "{}", s.log("error_log"));
    stop_server(&mut s);
}

#[test]
fn stop_leaves_no_child_and_no_pid_file() {
    // SIGTERM while keep-alive connections are held.
    let mut s = start(
        "ServerLimit 2\nThreadsPerChild 4\nMaxRequestWorkers 8\nStartServers 2\nMinSpareThreads 1\nMaxSpareThreads 8\nKeepAliveTimeout 60\n",
    );
    s.write("htdocs/index.html", "hello\n");
    let kids = await_children(&s, 2, 4, Duration::from_secs(20));
    assert!(s.path("logs/httpd.pid").exists());
    let pid_text = std::fs::read_to_string(s.path("logs/httpd.pid")).unwrap();
    assert_eq!(pid_text.trim(), s.pid().to_string());
    let mut held = hold_keepalive(&s, 3, 0);
    stop_server(&mut s);
    assert!(
        kids.iter().all(|&k| !common::pid_alive(k)),
        "children outlived the parent"
    );
    assert!(!s.path("logs/httpd.pid").exists(), "pid file left behind");
    assert!(
        s.log("error_log")
            .contains("AH00295: caught SIGTERM, shutting down")
    );
    for c in &mut held {
        assert!(common::closed_within(&mut c.s, Duration::from_secs(5)));
    }

    // `-k stop` does the same through the pid file.
    let mut s = start(
        "ServerLimit 2\nThreadsPerChild 4\nMaxRequestWorkers 8\nStartServers 2\nMinSpareThreads 1\nMaxSpareThreads 8\n",
    );
    let kids = await_children(&s, 2, 4, Duration::from_secs(20));
    let out = s.run_ctl(&["-k", "stop"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        s.wait_exit(Duration::from_secs(20)).is_some(),
        "-k stop did not stop the server"
    );
    assert!(kids.iter().all(|&k| !common::pid_alive(k)));
    assert!(!s.path("logs/httpd.pid").exists());
}

#[test]
fn scoreboard_has_a_cell_per_thread_with_k_for_idle_keepalive() {
    let mut s = start(
        "LoadModule status_module modules/mod_status.so\n<Location /server-status>\nSetHandler server-status\n</Location>\nServerLimit 2\nThreadsPerChild 8\nMaxRequestWorkers 16\nStartServers 2\nMinSpareThreads 1\nMaxSpareThreads 16\nKeepAliveTimeout 60\n",
    );
    s.write("htdocs/index.html", "hello\n");
    await_children(&s, 2, 8, Duration::from_secs(20));
    let scoreboard = |s: &Server| {
        let r = s.get("/server-status?auto");
        assert_eq!(r.status, 200, "{}", r.text());
        let text = r.text();
        let line = text
            .lines()
            .find_map(|l| l.strip_prefix("Scoreboard: "))
            .unwrap_or_else(|| panic!("no Scoreboard line: {text}"))
            .to_string();
        (line, text)
    };
    let count = |line: &str, c: char| line.chars().filter(|&x| x == c).count();
    // Idle: 16 cells, one per worker thread; ours is the one writing.
    let ok = wait_until(Duration::from_secs(10), || {
        let (line, _) = scoreboard(&s);
        count(&line, '_') == 15 && count(&line, 'W') == 1
    });
    let (line, text) = scoreboard(&s);
    assert!(ok, "{text}");
    assert_eq!(line.len(), 16, "one cell per thread: {line}");
    assert!(text.contains("ServerMPM: worker"), "{text}");

    // K idle keep-alive connections: K cells `K`.
    let held = hold_keepalive(&s, 5, 0);
    let ok = wait_until(Duration::from_secs(10), || {
        let (line, _) = scoreboard(&s);
        count(&line, 'K') == 5 && count(&line, 'W') == 1 && count(&line, '_') == 10
    });
    let (line, text) = scoreboard(&s);
    assert!(ok, "expected 5 K cells: {line}\n{text}");
    assert!(text.contains("BusyWorkers: 6"), "{text}");
    assert!(text.contains("IdleWorkers: 10"), "{text}");
    drop(held);
    let ok = wait_until(Duration::from_secs(10), || {
        count(&scoreboard(&s).0, 'K') == 0
    });
    assert!(ok, "K cells remain after the clients left");
    stop_server(&mut s);
}
