mod common;

// The prefork MPM end to end (issue #3): the real binary with `LoadModule
// mpm_prefork_module`, its children watched through /proc. Every wait is a bounded poll
// (maintenance runs once a second and the machine is shared, so the bounds are wide),
// and every test stops its server with SIGTERM and waits for the children to go.

use std::collections::HashSet;
use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use common::{
    Server, children_of, closed_within, pid_alive, pid_holding_connection, proc_uids,
    read_response, send_signal, wait_until,
};

const MPM: &str = "LoadModule mpm_prefork_module modules/mod_mpm_prefork.so\n";
const USR1: i32 = 10;
const HUP: i32 = 1;
const TERM: i32 = 15;
const KILL: i32 = 9;
const WINCH: i32 = 28;
/// Bound for effects of the 1-second maintenance loop.
const MAINT: Duration = Duration::from_secs(20);

/// A prefork server that is stopped (parent and children) when dropped.
struct Prefork(Server);

impl std::ops::Deref for Prefork {
    type Target = Server;
    fn deref(&self) -> &Server {
        &self.0
    }
}

impl std::ops::DerefMut for Prefork {
    fn deref_mut(&mut self) -> &mut Server {
        &mut self.0
    }
}

impl Drop for Prefork {
    fn drop(&mut self) {
        self.0.stop_and_wait_children();
    }
}

fn body(extra: &str) -> String {
    format!("{MPM}{extra}")
}

fn start(extra: &str) -> Prefork {
    Prefork(Server::start_with(&body(extra), &["-D", "FOREGROUND"]))
}

fn wait_children(s: &Server, n: usize) -> Vec<i32> {
    let mut kids = Vec::new();
    let ok = wait_until(MAINT, || {
        kids = s.children();
        kids.len() == n
    });
    assert!(ok, "expected {n} children, have {kids:?}");
    kids
}

/// Open a connection and send a request head without its final blank line: the child
/// that accepts it stays busy reading it.
fn partial_request(s: &Server, path: &str) -> TcpStream {
    let mut c = s.connect();
    write!(c, "GET {path} HTTP/1.1\r\nHost: localhost\r\n").unwrap();
    c
}

/// The child serving `c`, once one has accepted it.
fn holder_of(s: &Server, c: &TcpStream) -> i32 {
    let client_port = c.local_addr().unwrap().port();
    let mut holder = None;
    wait_until(MAINT, || {
        holder = pid_holding_connection(&s.children(), s.port, client_port);
        holder.is_some()
    });
    holder.expect("no child accepted the connection")
}

/// Send the blank line that completes a `partial_request` and read the response.
fn finish_request(c: &mut TcpStream) -> common::Resp {
    c.write_all(b"\r\n").unwrap();
    let mut buf = Vec::new();
    read_response(c, &mut buf, false).expect("response to the in-flight request")
}

#[derive(Default)]
struct LoopStats {
    ok: AtomicUsize,
    errors: Mutex<Vec<String>>,
    bodies: Mutex<HashSet<String>>,
}

/// A client requesting `path` in a loop until `stop`: one connection per request, or one
/// keep-alive connection that is reopened whenever the server says `Connection: close`.
fn client_loop(
    addr: String,
    path: &'static str,
    keep_alive: bool,
    stop: Arc<AtomicBool>,
    stats: Arc<LoopStats>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let connect = || {
            let c = TcpStream::connect(&addr)?;
            c.set_read_timeout(Some(Duration::from_secs(15)))?;
            c.set_write_timeout(Some(Duration::from_secs(15)))?;
            Ok::<_, std::io::Error>(c)
        };
        let mut conn: Option<TcpStream> = None;
        while !stop.load(Ordering::Relaxed) {
            let fail = |what: String| stats.errors.lock().unwrap().push(what);
            if conn.is_none() {
                match connect() {
                    Ok(c) => conn = Some(c),
                    Err(e) => {
                        fail(format!("connect: {e}"));
                        continue;
                    }
                }
            }
            let c = conn.as_mut().unwrap();
            let req = if keep_alive {
                format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n")
            } else {
                format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            };
            if let Err(e) = c.write_all(req.as_bytes()) {
                fail(format!("write: {e}"));
                conn = None;
                continue;
            }
            let mut buf = Vec::new();
            match read_response(c, &mut buf, false) {
                Some(r) if r.status == 200 => {
                    stats.ok.fetch_add(1, Ordering::Relaxed);
                    stats.bodies.lock().unwrap().insert(r.text());
                    let close = r
                        .header("connection")
                        .is_some_and(|v| v.eq_ignore_ascii_case("close"));
                    if !keep_alive || close {
                        conn = None;
                    }
                }
                Some(r) => {
                    fail(format!("status {}", r.status));
                    conn = None;
                }
                None => {
                    fail("connection closed or timed out without a response".into());
                    conn = None;
                }
            }
        }
    })
}

#[test]
fn start_servers_children_exist_and_term_leaves_nothing() {
    let mut s = start("StartServers 3\nMinSpareServers 1\nMaxSpareServers 5\n");
    s.write("htdocs/index.html", "hello\n");
    let kids = wait_children(&s, 3);
    assert_eq!(s.get("/index.html").text(), "hello\n");
    let pid_file = s.path("logs/httpd.pid");
    let written = std::fs::read_to_string(&pid_file).unwrap();
    assert_eq!(written.trim(), s.pid().to_string());

    s.signal(TERM);
    let status = s
        .wait_exit(Duration::from_secs(20))
        .expect("parent exits on TERM");
    assert!(status.success(), "{status}");
    assert!(
        wait_until(Duration::from_secs(10), || kids
            .iter()
            .all(|&p| !pid_alive(p))),
        "children left behind: {kids:?}"
    );
    assert!(!pid_file.exists(), "pid file left behind");
    assert!(
        s.log("error_log")
            .contains("AH00169: caught SIGTERM, shutting down")
    );
}

#[test]
fn k_stop_leaves_no_child_and_no_pid_file() {
    let mut s = start("StartServers 2\n");
    let kids = wait_children(&s, 2);
    let out = s.run_ctl(&["-k", "stop"]);
    assert!(out.status.success(), "{out:?}");
    let status = s.wait_exit(Duration::from_secs(20)).expect("parent exits");
    assert!(status.success(), "{status}");
    assert!(
        wait_until(Duration::from_secs(10), || kids
            .iter()
            .all(|&p| !pid_alive(p))),
        "children left behind: {kids:?}"
    );
    assert!(!s.path("logs/httpd.pid").exists());
    // A second stop finds nothing to stop.
    let again = s.run_ctl(&["-k", "stop"]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("not running"));
}

#[test]
fn slow_clients_grow_children_up_to_max_request_workers_then_spares_shrink_back() {
    let s = start(
        "StartServers 2\nMinSpareServers 1\nMaxSpareServers 2\nServerLimit 4\nMaxRequestWorkers 4\nTimeout 60\n",
    );
    wait_children(&s, 2);

    // Watch the child count for the whole test.
    let max_seen = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (max_seen, stop, parent) = (max_seen.clone(), stop.clone(), s.pid());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                max_seen.fetch_max(children_of(parent).len(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };

    // Six slow clients: one sends nothing, the others half a request head.
    let mut slow = vec![s.connect()];
    for _ in 0..5 {
        slow.push(partial_request(&s, "/"));
    }
    wait_children(&s, 4);
    let log = {
        let mut text = String::new();
        wait_until(MAINT, || {
            text = s.log("error_log");
            text.contains("AH00161")
        });
        text
    };
    assert!(
        log.contains(
            "AH00161: server reached MaxRequestWorkers setting, consider raising the MaxRequestWorkers setting"
        ),
        "{log}"
    );
    // Maintenance keeps running at the limit (once a second): still no fifth child.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(s.children().len(), 4);
    let log = s.log("error_log");
    assert_eq!(
        log.matches("AH00161").count(),
        1,
        "AH00161 is logged once: {log}"
    );

    // Load gone: the four idle children fall back to MaxSpareServers (one per second).
    drop(slow);
    wait_children(&s, 2);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(s.children().len(), 2, "spare count does not settle at 2");
    stop.store(true, Ordering::Relaxed);
    watcher.join().unwrap();
    let max = max_seen.load(Ordering::Relaxed);
    assert!(max <= 4, "{max} children seen, above MaxRequestWorkers 4");
    assert_eq!(max, 4);
}

#[test]
fn max_connections_per_child_recycles_after_three_connections() {
    let s = start(concat!(
        "StartServers 1\nMinSpareServers 1\nMaxSpareServers 2\nServerLimit 1\nMaxRequestWorkers 1\n",
        "MaxConnectionsPerChild 3\n",
        "LogFormat \"%P %U\" pids\nCustomLog logs/pid_log pids\n"
    ));
    for i in 0..7 {
        s.write(&format!("htdocs/c{i}.txt"), format!("c{i}"));
    }
    s.write("htdocs/ka.txt", "ka");
    for i in 0..7 {
        let r = s.get(&format!("/c{i}.txt"));
        assert_eq!((r.status, r.text()), (200, format!("c{i}")));
    }
    // One keep-alive connection with four requests counts as one connection.
    let mut c = s.connect();
    let mut buf = Vec::new();
    for _ in 0..4 {
        c.write_all(b"GET /ka.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .unwrap();
        let r = read_response(&mut c, &mut buf, false).expect("keep-alive response");
        assert_eq!(r.status, 200);
    }
    drop(c);
    let mut lines: Vec<(i32, String)> = Vec::new();
    wait_until(Duration::from_secs(10), || {
        lines = s
            .log("pid_log")
            .lines()
            .filter_map(|l| {
                let (p, u) = l.split_once(' ')?;
                Some((p.parse().ok()?, u.to_string()))
            })
            .collect();
        lines.len() == 11
    });
    assert_eq!(lines.len(), 11, "{}", s.log("pid_log"));

    // The seven one-request connections: runs of the same pid, at most three each, and
    // every run between the first and the last exactly three (the readiness probe may
    // have used one connection of the first child).
    let mut runs: Vec<(i32, usize)> = Vec::new();
    for (pid, _) in &lines[..7] {
        match runs.last_mut() {
            Some((p, n)) if p == pid => *n += 1,
            _ => runs.push((*pid, 1)),
        }
    }
    let distinct: HashSet<i32> = runs.iter().map(|r| r.0).collect();
    assert_eq!(distinct.len(), runs.len(), "a pid came back: {runs:?}");
    assert!(runs.len() >= 3, "{runs:?}");
    assert!(runs.iter().all(|r| r.1 <= 3), "{runs:?}");
    assert!(runs[1..runs.len() - 1].iter().all(|r| r.1 == 3), "{runs:?}");
    // The keep-alive connection: one pid for all four requests.
    let ka: HashSet<i32> = lines[7..].iter().map(|l| l.0).collect();
    assert_eq!(ka.len(), 1, "{lines:?}");
    assert!(lines[7..].iter().all(|l| l.1 == "/ka.txt"));
    assert!(s.children().len() <= 1);
}

/// The graceful-restart scenario, triggered by `restart`.
fn graceful_restart_scenario(restart: impl FnOnce(&Server)) {
    let s = start(
        "StartServers 3\nMinSpareServers 2\nMaxSpareServers 6\nMaxRequestWorkers 12\nKeepAliveTimeout 5\n",
    );
    s.write("htdocs/index.html", "old\n");
    s.write("htdocs2/index.html", "new\n");
    let before = wait_children(&s, 3);

    let stop = Arc::new(AtomicBool::new(false));
    let per_request = Arc::new(LoopStats::default());
    let keep_alive = Arc::new(LoopStats::default());
    let loops = vec![
        client_loop(
            s.addr(),
            "/index.html",
            false,
            stop.clone(),
            per_request.clone(),
        ),
        client_loop(
            s.addr(),
            "/index.html",
            true,
            stop.clone(),
            keep_alive.clone(),
        ),
    ];
    assert!(wait_until(MAINT, || {
        per_request.ok.load(Ordering::Relaxed) > 20 && keep_alive.ok.load(Ordering::Relaxed) > 20
    }));

    // A request in flight (its head half sent) when the restart happens.
    let mut in_flight = partial_request(&s, "/index.html");
    let holder = holder_of(&s, &in_flight);

    let docroot2 = s.path("htdocs2");
    s.rewrite_config(&body(&format!(
        "StartServers 3\nMinSpareServers 2\nMaxSpareServers 6\nMaxRequestWorkers 12\nKeepAliveTimeout 5\nDocumentRoot \"{}\"\n",
        docroot2.display()
    )));
    restart(&s);
    assert!(
        wait_until(MAINT, || s.get("/index.html").text() == "new\n"),
        "the new configuration is not served"
    );
    // Both looping clients get to the new configuration.
    assert!(
        wait_until(MAINT, || {
            per_request.bodies.lock().unwrap().contains("new\n")
                && keep_alive.bodies.lock().unwrap().contains("new\n")
        }),
        "a looping client never saw the new configuration"
    );

    // The in-flight request completes with the old configuration, and closes.
    assert!(pid_alive(holder), "the busy old child was stopped");
    let r = finish_request(&mut in_flight);
    assert_eq!((r.status, r.text().as_str()), (200, "old\n"));
    assert_eq!(r.header("connection"), Some("close"));
    assert!(closed_within(&mut in_flight, Duration::from_secs(10)));

    // Some more traffic on the new generation, then stop the clients.
    let (a, b) = (
        per_request.ok.load(Ordering::Relaxed),
        keep_alive.ok.load(Ordering::Relaxed),
    );
    assert!(wait_until(MAINT, || {
        per_request.ok.load(Ordering::Relaxed) > a + 20
            && keep_alive.ok.load(Ordering::Relaxed) > b + 20
    }));
    stop.store(true, Ordering::Relaxed);
    for l in loops {
        l.join().unwrap();
    }
    let errs = per_request.errors.lock().unwrap().clone();
    assert!(errs.is_empty(), "per-request client errors: {errs:?}");
    let errs = keep_alive.errors.lock().unwrap().clone();
    assert!(errs.is_empty(), "keep-alive client errors: {errs:?}");

    // Every old child goes away; the new generation has its own.
    assert!(
        wait_until(MAINT, || before
            .iter()
            .chain([&holder])
            .all(|&p| !pid_alive(p))),
        "old children still running: {before:?}"
    );
    let now = s.children();
    assert!(!now.is_empty() && now.iter().all(|p| !before.contains(p)));
    assert!(
        s.log("error_log")
            .contains("AH00171: Graceful restart requested, doing restart")
    );
    assert_eq!(
        std::fs::read_to_string(s.path("logs/httpd.pid"))
            .unwrap()
            .trim(),
        s.pid().to_string()
    );
}

#[test]
fn graceful_restart_by_sigusr1_finishes_in_flight_and_loses_nothing() {
    graceful_restart_scenario(|s| s.signal(USR1));
}

#[test]
fn graceful_restart_by_k_graceful_finishes_in_flight_and_loses_nothing() {
    graceful_restart_scenario(|s| {
        let out = s.run_ctl(&["-k", "graceful"]);
        assert!(out.status.success(), "{out:?}");
    });
}

#[test]
fn bad_config_on_graceful_keeps_the_old_one_serving() {
    let s = start("StartServers 2\nMinSpareServers 1\nMaxSpareServers 3\n");
    s.write("htdocs/index.html", "old\n");
    let kids = wait_children(&s, 2);
    s.rewrite_config(&body("StartServers 2\nNoSuchDirective on\n"));

    // `-k graceful` checks the configuration first and signals nothing.
    let out = s.run_ctl(&["-k", "graceful"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Syntax error on line"), "{err}");
    assert!(err.contains("NoSuchDirective"), "{err}");

    // A raw SIGUSR1: the parent logs why and keeps serving the running configuration.
    s.signal(USR1);
    let log = s.wait_log("error_log", "restart refused");
    assert!(log.contains("AH00526"), "{log}");
    assert!(log.contains("NoSuchDirective"), "{log}");
    assert!(pid_alive(s.pid()));
    assert_eq!(s.get("/index.html").text(), "old\n");
    assert_eq!(s.children(), kids, "children were replaced");
    assert!(!log.contains("AH00171"), "{log}");
}

#[test]
fn kill_9_of_a_busy_child_loses_only_its_connection() {
    let s = start(
        "StartServers 2\nMinSpareServers 2\nMaxSpareServers 3\nServerLimit 2\nMaxRequestWorkers 2\n",
    );
    s.write("htdocs/index.html", "hi\n");
    let before = wait_children(&s, 2);

    let stop = Arc::new(AtomicBool::new(false));
    let stats = Arc::new(LoopStats::default());
    let load = client_loop(s.addr(), "/index.html", false, stop.clone(), stats.clone());

    let mut victim_conn = partial_request(&s, "/index.html");
    let victim = holder_of(&s, &victim_conn);
    assert!(wait_until(MAINT, || stats.ok.load(Ordering::Relaxed) > 20));

    send_signal(victim, KILL);
    assert!(
        closed_within(&mut victim_conn, Duration::from_secs(10)),
        "the killed child's connection stays open"
    );
    // A replacement appears in the freed slot (one idle child is below MinSpareServers).
    let mut now = Vec::new();
    assert!(
        wait_until(MAINT, || {
            now = s.children();
            now.len() == 2 && now.iter().any(|p| !before.contains(p))
        }),
        "no replacement child: before {before:?}, now {now:?}"
    );
    assert!(!now.contains(&victim));
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

    let n = stats.ok.load(Ordering::Relaxed);
    assert!(wait_until(MAINT, || stats.ok.load(Ordering::Relaxed) > n + 20));
    stop.store(true, Ordering::Relaxed);
    load.join().unwrap();
    let errs = stats.errors.lock().unwrap().clone();
    assert!(errs.is_empty(), "other clients saw errors: {errs:?}");
}

#[test]
fn children_run_as_user_nobody_and_the_parent_as_root() {
    if !rhttpd_sys::running_as_root() {
        eprintln!("note: skipped, needs root to test User/Group");
        return;
    }
    let Some((nobody, _)) = rhttpd_sys::lookup_user("nobody") else {
        eprintln!("note: skipped, no user nobody");
        return;
    };
    let group = if rhttpd_sys::lookup_group("nogroup").is_some() {
        "nogroup"
    } else {
        "nobody"
    };
    let setup = |root: &std::path::Path| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(root.join("htdocs/index.html"), "as nobody\n").unwrap();
        for d in [root.to_path_buf(), root.join("htdocs"), root.join("conf")] {
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::fs::set_permissions(
            root.join("htdocs/index.html"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
    };
    let mut s = Prefork(Server::start_with_setup(
        &body(&format!("User nobody\nGroup {group}\nStartServers 2\n")),
        &["-D", "FOREGROUND"],
        setup,
    ));
    let kids = wait_children(&s, 2);
    for &k in &kids {
        let mut uids = None;
        // The child switches right after fork: allow it a moment.
        wait_until(Duration::from_secs(10), || {
            uids = proc_uids(k);
            uids == Some((nobody, nobody))
        });
        assert_eq!(uids, Some((nobody, nobody)), "child {k}");
    }
    assert_eq!(proc_uids(s.pid()), Some((0, 0)));
    let r = s.get("/index.html");
    assert_eq!((r.status, r.text().as_str()), (200, "as nobody\n"));

    // The parent-death signal survives the switch: a parent killed outright takes its
    // unprivileged children with it.
    send_signal(s.pid(), KILL);
    let _ = s.wait_exit(Duration::from_secs(10));
    assert!(
        wait_until(Duration::from_secs(15), || kids
            .iter()
            .all(|&p| !pid_alive(p))),
        "children outlived a killed parent: {kids:?}"
    );
    assert!(s.stop_and_wait_children());
}

#[test]
fn hup_replaces_every_child() {
    let s = start("StartServers 3\nMinSpareServers 1\nMaxSpareServers 5\n");
    s.write("htdocs/index.html", "x\n");
    let before = wait_children(&s, 3);
    s.signal(HUP);
    let mut now = Vec::new();
    assert!(
        wait_until(MAINT, || {
            now = s.children();
            now.len() == 3 && now.iter().all(|p| !before.contains(p))
        }),
        "before {before:?}, now {now:?}"
    );
    assert!(before.iter().all(|&p| !pid_alive(p)));
    assert_eq!(s.get("/index.html").status, 200);
    assert!(pid_alive(s.pid()));
    assert!(
        s.log("error_log")
            .contains("AH00173: SIGHUP received.  Attempting to restart")
    );
}

#[test]
fn winch_lets_the_in_flight_request_finish_then_exits() {
    let mut s = start("StartServers 2\nMinSpareServers 1\nMaxSpareServers 3\n");
    s.write("htdocs/index.html", "last\n");
    wait_children(&s, 2);
    let mut in_flight = partial_request(&s, "/index.html");
    let holder = holder_of(&s, &in_flight);

    s.signal(WINCH);
    let pid_file = s.path("logs/httpd.pid");
    assert!(wait_until(MAINT, || !pid_file.exists()), "pid file kept");
    // The idle child leaves at once; the busy one stays for its request.
    let mut now = Vec::new();
    assert!(
        wait_until(MAINT, || {
            now = s.children();
            now == [holder]
        }),
        "children during graceful stop: {now:?}"
    );
    assert!(s.child.try_wait().unwrap().is_none(), "parent left early");

    let r = finish_request(&mut in_flight);
    assert_eq!((r.status, r.text().as_str()), (200, "last\n"));
    assert_eq!(r.header("connection"), Some("close"));
    let status = s
        .wait_exit(MAINT)
        .expect("parent exits after the last child");
    assert!(status.success(), "{status}");
    assert!(wait_until(Duration::from_secs(10), || !pid_alive(holder)));
    assert!(!pid_file.exists());
    assert!(
        s.log("error_log")
            .contains("AH00170: caught SIGWINCH, shutting down gracefully")
    );
}

#[test]
fn dash_capital_v_reports_prefork() {
    let s = start("StartServers 1\n");
    let out = s.run_ctl(&["-V"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Server MPM:     prefork\n"), "{text}");
    assert!(text.contains("  threaded:     no\n"), "{text}");
    assert!(
        text.contains("    forked:     yes (variable process count)\n"),
        "{text}"
    );
}

const CLAMPED: &str = "ServerLimit 4\nMaxRequestWorkers 300\nStartServers 0\nMinSpareServers 0\n";
const AH00180: &str = "AH00180: WARNING: MaxRequestWorkers of 300 exceeds ServerLimit value of 4 servers, decreasing MaxRequestWorkers to 4. To increase, please see the ServerLimit directive.";
const AH00184: &str = "AH00184: WARNING: StartServers of 0 not allowed, increasing to 1.";
const AH00186: &str = "AH00186: WARNING: MinSpareServers of 0 not allowed, increasing to 1 to avoid almost certain server failure. Please read the documentation.";

#[test]
fn clamping_warnings_are_printed_at_startup_and_the_clamped_values_apply() {
    let mut s = start(CLAMPED);
    // StartServers 0 → 1 child; MinSpareServers 0 → 1, MaxSpareServers → 10 (default).
    wait_children(&s, 1);
    assert!(s.stop_and_wait_children());
    let err = s.take_stderr();
    for w in [AH00180, AH00184, AH00186] {
        assert!(err.contains(w), "missing {w:?} in {err}");
    }
}

#[test]
fn syntax_check_prints_clamping_warnings() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("htdocs")).unwrap();
    let conf = root.path().join("httpd.conf");
    std::fs::write(
        &conf,
        Server::config_text(root.path(), common::free_port(), &body(CLAMPED)),
    )
    .unwrap();
    let out = common::run(&[
        "-d",
        root.path().to_str().unwrap(),
        "-f",
        conf.to_str().unwrap(),
        "-t",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("Syntax OK"), "{err}");
    for w in [AH00180, AH00184, AH00186] {
        assert!(err.contains(w), "missing {w:?} in {err}");
    }
    // A clean configuration prints none.
    std::fs::write(
        &conf,
        Server::config_text(root.path(), common::free_port(), &body("StartServers 2\n")),
    )
    .unwrap();
    let out = common::run(&[
        "-d",
        root.path().to_str().unwrap(),
        "-f",
        conf.to_str().unwrap(),
        "-t",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !err.contains("WARNING"), "{err}");
}
