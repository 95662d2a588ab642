//! The event MPM proxies a request without a body to a pooled backend connection from
//! its listener thread (`modules/proxy_async.rs`, `listener/pending.rs`): the request is
//! sent without blocking and the wait for the answer costs no worker. These tests use a
//! real (Python, threaded, keep-alive) backend and check what a user can see: slow
//! answers pending together hold no busy worker on the scoreboard, ProxyTimeout still
//! gives 504, large answers still arrive whole (a worker streams them), and every
//! answer is the right one.

mod common;
#[path = "support/dynamic.rs"]
mod dynamic_support;
#[path = "support/proxy_backends.rs"]
mod proxy_backends;

use dynamic_support::*;
use proxy_backends::{PyBackend, python_backend};

const BACKEND: &str = r#"
import http.server, os, sys, threading, time
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        if self.path.startswith("/then-junk"):
            # After the answer, an unasked 408 on the idle keep-alive connection.
            sock = self.connection
            junk = b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 4\r\n\r\njunk"
            threading.Timer(0.2, lambda: sock.sendall(junk)).start()
        if self.path.startswith("/slow"):
            time.sleep(float(self.path.split("/")[2]))
        if self.path.startswith("/big"):
            body = bytes(range(256)) * 4096
        else:
            body = ("answer " + self.path).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
class S(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64
s = S(("127.0.0.1", 0), H)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(s.server_address[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.serve_forever()
"#;

struct Setup {
    server: Server,
    _backend: PyBackend,
    _site: Site,
    backend_port: u16,
}

fn setup(extra: &str) -> Setup {
    setup_with(BACKEND, extra)
}

fn setup_with(code: &str, extra: &str) -> Setup {
    let site = Site::new();
    let backend = python_backend(site.dir.path(), "backend", code, &[]);
    let port = backend.port;
    // One child, so that every request meets the same connection pool.
    let conf = format!(
        "LoadModule mpm_event_module x\nServerLimit 1\nStartServers 1\nThreadsPerChild 8\nMinSpareThreads 1\nMaxSpareThreads 8\nMaxRequestWorkers 8\n\
         LoadModule proxy_module x\nLoadModule proxy_http_module x\nLoadModule status_module x\n\
         <Location /server-status>\nSetHandler server-status\n</Location>\n\
         ProxyPass /b/ http://127.0.0.1:{port}/\n{extra}"
    );
    let server = Server::start_with(&conf, &["-D", "FOREGROUND"]);
    Setup {
        server,
        _backend: backend,
        _site: site,
        backend_port: port,
    }
}

/// This process's IPv4 TCP connections to `port` (`/proc/net/tcp`): (state, bytes
/// waiting unread) each; state 01 is ESTABLISHED, 08 CLOSE_WAIT.
fn tcp_to(port: u16) -> Vec<(String, u64)> {
    let text = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let rem = format!(":{port:04X}");
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() > 4 && f[2].ends_with(&rem)).then(|| {
                let rx = f[4].split(':').nth(1).unwrap_or("0");
                (f[3].to_string(), u64::from_str_radix(rx, 16).unwrap_or(0))
            })
        })
        .collect()
}

/// Connections to `port`: (established, close-wait).
fn conns_to(port: u16) -> (usize, usize) {
    let t = tcp_to(port);
    let n = |st: &str| t.iter().filter(|(s, _)| s == st).count();
    (n("01"), n("08"))
}

/// Bytes waiting unread in the established connections to `port`.
fn unread_from(port: u16) -> u64 {
    tcp_to(port)
        .iter()
        .filter(|(s, _)| s == "01")
        .map(|(_, rx)| rx)
        .sum()
}

/// GET `path` on the keep-alive connection `c`: status and body text.
fn get_on(c: &mut TcpStream, buf: &mut Vec<u8>, path: &str) -> (u16, String) {
    write!(c, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let r = read_response(c, buf, false).expect("response");
    (r.status, r.text())
}

/// `n` GETs of `path` at once, each on its own connection: (status, body) in order.
fn concurrent(s: &Server, path: &str, n: usize) -> Vec<(u16, Vec<u8>)> {
    let threads: Vec<_> = (0..n)
        .map(|i| {
            let addr = s.addr();
            let path = path.replace("{i}", &i.to_string());
            std::thread::spawn(move || {
                let mut c = TcpStream::connect(addr).unwrap();
                c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                write!(
                    c,
                    "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
                )
                .unwrap();
                let mut raw = Vec::new();
                let _ = c.read_to_end(&mut raw);
                let r = parse_response(&raw).expect("a response");
                (r.status, r.body)
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

fn busy_workers(s: &Server) -> u64 {
    let text = s.get("/server-status?auto").text();
    text.lines()
        .find_map(|l| l.strip_prefix("BusyWorkers: "))
        .and_then(|v| v.trim().parse().ok())
        .expect("BusyWorkers")
}

#[test]
fn slow_answers_wait_in_the_listener_without_busy_workers() {
    let s = setup("");
    // Twelve requests at once, twice (each answer takes 0.3 s): the first round makes
    // eight backend connections (the workers connect), the second sends eight from the
    // listener on them and four more connections from workers; twelve are pooled then.
    let rounds = [
        concurrent(&s.server, "/b/slow/0.3/warm{i}", 12),
        concurrent(&s.server, "/b/slow/0.3/again{i}", 12),
    ];
    for (status, body) in rounds.into_iter().flatten() {
        assert_eq!(
            status,
            200,
            "{}\nerror_log:\n{}",
            String::from_utf8_lossy(&body),
            s.server.log("error_log")
        );
        assert!(body.starts_with(b"answer /slow"));
    }
    // Twelve slow answers at once, more than the 8 workers: sent from the listener,
    // waited for in its epoll set.
    let server = &s.server;
    let sampler = std::thread::scope(|scope| {
        let requests = scope.spawn(|| concurrent(server, "/b/slow/2/n{i}", 12));
        std::thread::sleep(Duration::from_millis(700));
        let samples: Vec<u64> = (0..3)
            .map(|_| {
                let b = busy_workers(server);
                std::thread::sleep(Duration::from_millis(300));
                b
            })
            .collect();
        (samples, requests.join().unwrap())
    });
    let (samples, answers) = sampler;
    for (i, (status, body)) in answers.iter().enumerate() {
        assert_eq!(*status, 200, "request {i}");
        assert_eq!(
            String::from_utf8_lossy(body),
            format!("answer /slow/2/n{i}"),
            "request {i} got another request's answer"
        );
    }
    assert_eq!(
        samples,
        vec![0, 0, 0],
        "busy workers while 12 proxied requests waited\nerror_log:\n{}",
        server.log("error_log")
    );
}

#[test]
fn proxy_timeout_answers_504_for_a_request_waiting_in_the_listener() {
    let s = setup("ProxyTimeout 1\n");
    assert_eq!(s.server.get("/b/fast").status, 200);
    let t0 = Instant::now();
    let r = s.server.get("/b/slow/6/x");
    assert_eq!(r.status, 504, "{r:?}");
    assert!(
        t0.elapsed() < Duration::from_secs(4),
        "504 after {:?}, ProxyTimeout is 1 s",
        t0.elapsed()
    );
}

#[test]
fn large_and_repeated_answers_arrive_whole() {
    let s = setup("");
    let want: Vec<u8> = (0..4096).flat_map(|_| 0u8..=255).collect();
    // On one keep-alive connection: small, large (more than the listener collects),
    // small again.
    let mut c = s.server.connect();
    let mut buf = Vec::new();
    for (path, big) in [
        ("/b/a", false),
        ("/b/big", true),
        ("/b/c", false),
        ("/b/big", true),
    ] {
        write!(c, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
        let r = read_response(&mut c, &mut buf, false).expect("response");
        assert_eq!(r.status, 200, "{path}");
        if big {
            assert!(
                r.body == want,
                "{path}: {} bytes, not the file",
                r.body.len()
            );
        } else {
            assert_eq!(r.text(), format!("answer {}", &path[2..]), "{path}");
        }
    }
}

/// The backend closes keep-alive connections idle for 0.3 s. The listener keeps pooled
/// connections registered and takes them without a liveness peek unless it saw them
/// hang up; a close it has not seen yet shows as the end of stream of the request it
/// sent, which a worker retries on a fresh connection. Either way, once every pooled
/// connection sits in CLOSE_WAIT, the next requests are all answered, none gets 502 or
/// an error logged, round after round.
#[test]
fn pooled_connections_the_backend_closed_are_not_reused() {
    let code = BACKEND.replace(
        "    protocol_version = \"HTTP/1.1\"\n",
        "    protocol_version = \"HTTP/1.1\"\n    timeout = 0.3\n",
    );
    assert!(code.contains("timeout = 0.3"));
    let s = setup_with(&code, "");
    for round in 0..3 {
        let answers = concurrent(&s.server, "/b/r{i}", 4);
        for (i, (status, body)) in answers.iter().enumerate() {
            assert_eq!(*status, 200, "round {round} request {i}");
            assert_eq!(body, format!("answer /r{i}").as_bytes(), "round {round}");
        }
        // The backend closes them: rhttpd's ends are left in CLOSE_WAIT in the pool.
        assert!(
            common::wait_until(Duration::from_secs(10), || {
                let (established, close_wait) = conns_to(s.backend_port);
                established == 0 && close_wait > 0
            }),
            "round {round}: {:?}",
            conns_to(s.backend_port)
        );
        // One connection at a time, on keep-alive: each must find a live backend.
        let mut c = s.server.connect();
        let mut buf = Vec::new();
        for j in 0..3 {
            let got = get_on(&mut c, &mut buf, &format!("/b/k{j}"));
            assert_eq!(got, (200, format!("answer /k{j}")), "round {round}");
        }
    }
    let log = s.server.log("error_log");
    assert!(
        !log.contains("AH01102") && !log.contains("AH00898"),
        "{log}"
    );
}

/// A backend writes an unasked answer (a 408) on an idle pooled connection without
/// closing it. The listener hears it (the descriptor stays registered) and checks that
/// connection before reusing it, as Apache's peek would: the next request gets its own
/// answer from a fresh connection, never the stray 408.
#[test]
fn a_connection_the_backend_wrote_to_while_idle_is_not_reused() {
    let s = setup("");
    let mut c = s.server.connect();
    let mut buf = Vec::new();
    // The first request opens the pooled connection (on a worker); the second is sent
    // on it from the listener, which registers it.
    for path in ["/warm", "/then-junk"] {
        let got = get_on(&mut c, &mut buf, &format!("/b{path}"));
        assert_eq!(got, (200, format!("answer {path}")));
    }
    assert!(
        common::wait_until(Duration::from_secs(10), || unread_from(s.backend_port) > 0),
        "the backend's stray bytes never arrived"
    );
    for j in 0..3 {
        let got = get_on(&mut c, &mut buf, &format!("/b/after{j}"));
        assert_eq!(got, (200, format!("answer /after{j}")), "request {j}");
    }
}

/// `%D` of a request answered on the listener after its wait covers the wait: the
/// request's clock starts when it was read, not when its answer arrived.
#[test]
fn the_logged_duration_of_a_request_that_waited_in_the_listener_covers_the_wait() {
    let s = setup("LogFormat \"%D %r\" timed\nCustomLog logs/timed_log timed\n");
    // The first request makes the pooled connection the next ones are sent on from
    // the listener.
    assert_eq!(s.server.get("/b/fast").status, 200);
    for i in 0..3 {
        let r = s.server.get(&format!("/b/slow/0.4/t{i}"));
        assert_eq!(r.status, 200, "{r:?}");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let durations: Vec<u64> = loop {
        let log = s.server.log("timed_log");
        let slow: Vec<u64> = log
            .lines()
            .filter(|l| l.contains("/b/slow/"))
            .filter_map(|l| l.split(' ').next()?.parse().ok())
            .collect();
        if slow.len() == 3 || Instant::now() > deadline {
            break slow;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(durations.len(), 3, "{}", s.server.log("timed_log"));
    for d in durations {
        assert!(
            d >= 350_000,
            "%D {d} µs for an answer that took 0.4 s\n{}",
            s.server.log("timed_log")
        );
    }
}
