//! mod_proxy_balancer end to end, against real backends: small python3 HTTP servers
//! written into the test directory that answer with their own name (and `/health` with
//! the status in a file the test changes). Run under prefork (several children) and
//! event (two children), the shared failover also under worker (two children), since
//! the point of the shared state is that every child sees what one child learnt.

mod common;
#[path = "support/config.rs"]
mod config_support;
#[path = "support/dynamic.rs"]
mod dynamic_support;

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use dynamic_support::*;

const BACKEND_PY: &str = r#"
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

const MODULES: &str = "LoadModule proxy_module x\nLoadModule proxy_http_module x\nLoadModule proxy_balancer_module x\nLoadModule slotmem_shm_module x\nLoadModule lbmethod_byrequests_module x\nLoadModule lbmethod_bytraffic_module x\nLoadModule lbmethod_bybusyness_module x\nLoadModule proxy_hcheck_module x\n";

const PREFORK3: Mpm = Mpm {
    conf: "LoadModule mpm_prefork_module x\nStartServers 4\nMinSpareServers 4\nMaxSpareServers 8\n",
    args: &["-D", "FOREGROUND"],
};

const WORKER2: Mpm = Mpm {
    conf: "LoadModule mpm_worker_module x\nServerLimit 2\nStartServers 2\nThreadsPerChild 4\nMinSpareThreads 1\nMaxSpareThreads 8\nMaxRequestWorkers 8\n",
    args: &["-D", "FOREGROUND"],
};

const EVENT2: Mpm = Mpm {
    conf: "LoadModule mpm_event_module x\nServerLimit 2\nStartServers 2\nThreadsPerChild 4\nMinSpareThreads 1\nMaxSpareThreads 8\nMaxRequestWorkers 8\n",
    args: &["-D", "FOREGROUND"],
};

struct Backend {
    name: String,
    port: u16,
    proc: Option<Spawned>,
}

struct Backends {
    dir: tempfile::TempDir,
    list: Vec<Backend>,
}

impl Backends {
    fn start(names: &[&str]) -> Backends {
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

    fn port(&self, name: &str) -> u16 {
        self.list.iter().find(|b| b.name == name).unwrap().port
    }

    fn kill(&mut self, name: &str) {
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

    fn set_health(&self, name: &str, code: u16) {
        std::fs::write(
            self.dir.path().join(format!("{name}.health")),
            code.to_string(),
        )
        .unwrap();
    }

    /// `BalancerMember` lines: `(name, extra parameters)`.
    fn members(&self, extra: &[(&str, &str)]) -> String {
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

fn start(mpm: Mpm, conf: &str) -> Server {
    Server::start_with(&format!("{}{MODULES}{conf}", mpm.conf), mpm.args)
}

fn manager_conf() -> &'static str {
    "<Location /balancer-manager>\nSetHandler balancer-manager\nRequire ip 127.0.0.1\n</Location>\n"
}

/// `n` GETs of `path` (each on its own connection) from 4 client threads at once, so
/// that several children answer; the bodies' first lines, counted.
fn spread(s: &Server, path: &str, n: usize, extra: &str) -> HashMap<String, usize> {
    spread_with(s, path, n, 4, extra)
}

/// [`spread`] from `threads` client threads.
fn spread_with(
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
fn failing_pid(s: &Server) -> String {
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
fn until_other_child(s: &Server, path: &str, not: &str, from: usize) -> HashMap<String, usize> {
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

fn count(c: &HashMap<String, usize>, k: &str) -> usize {
    c.get(k).copied().unwrap_or(0)
}

fn within(got: usize, want: usize, total: usize) -> bool {
    got.abs_diff(want) * 10 <= total
}

fn byrequests_distribution(mpm: Mpm) {
    let b = Backends::start(&["node1", "node2", "node3"]);
    let conf = format!(
        "<Proxy \"balancer://eq\">\n{}</Proxy>\n<Proxy balancer://w>\n{}</Proxy>\nProxyPass /eq/ balancer://eq/\nProxyPass /w/ balancer://w/\n",
        b.members(&[("node1", ""), ("node2", ""), ("node3", "")]),
        b.members(&[("node1", "loadfactor=1"), ("node2", "loadfactor=3")]),
    );
    let s = start(mpm, &conf);
    let c = spread(&s, "/eq/x", 240, "");
    for n in ["node1", "node2", "node3"] {
        assert!(
            within(count(&c, &format!("200 {n}")), 80, 240),
            "equal factors: {c:?}"
        );
    }
    let c = spread(&s, "/w/x", 200, "");
    assert!(
        within(count(&c, "200 node1"), 50, 200),
        "1:3 factors: {c:?}"
    );
    assert!(
        within(count(&c, "200 node2"), 150, 200),
        "1:3 factors: {c:?}"
    );
}

#[test]
fn byrequests_distribution_prefork() {
    byrequests_distribution(PREFORK3);
}

#[test]
fn byrequests_distribution_event() {
    byrequests_distribution(EVENT2);
}

/// A killed member: after the first failed connect every child skips it (no request
/// reaches its port again within retry=), the balancer-manager page of every child
/// shows it in error, and every request still gets 200.
fn failover_shared(mpm: Mpm) {
    let mut b = Backends::start(&["node1", "node2"]);
    let conf = format!(
        "<Proxy balancer://c>\n{}</Proxy>\nProxyPass /app/ balancer://c/\nLogFormat \"%P %>s %U\" pid\nCustomLog logs/pid_log pid\n{}",
        b.members(&[("node1", "retry=60"), ("node2", "retry=60")]),
        manager_conf()
    );
    let s = start(mpm, &conf);
    assert_eq!(count(&spread(&s, "/app/x", 8, ""), "200 node2"), 4);
    b.kill("node2");
    // Requests until one of them found node2 dead (failing over to node1).
    let mut first = HashMap::new();
    let found = wait_until(Duration::from_secs(10), || {
        first = spread(&s, "/app/x", 4, "");
        s.log("error_log").contains("AH01114")
    });
    assert!(found, "no failed connect logged: {}", s.log("error_log"));
    assert_eq!(count(&first, "200 node1"), 4, "{first:?}");
    // Requests in flight together may each have tried it (as in Apache); from now on
    // none may.
    let attempts = s.log("error_log").matches("AH01114").count();
    // Something now listens on node2's port and counts connections: a child that did
    // not know about the error state would connect to it.
    let listener = TcpListener::bind(("127.0.0.1", b.port("node2"))).unwrap();
    listener.set_nonblocking(true).unwrap();
    let conns = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicUsize::new(0));
    let counter = {
        let (conns, stop) = (conns.clone(), stop.clone());
        std::thread::spawn(move || {
            while stop.load(Ordering::Relaxed) == 0 {
                match listener.accept() {
                    Ok(_) => {
                        conns.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        })
    };
    let from = s.log("pid_log").lines().count();
    let mut c = spread(&s, "/app/x", 80, "");
    for (k, n) in until_other_child(&s, "/app/x", &failing_pid(&s), from) {
        *c.entry(k).or_insert(0) += n;
    }
    stop.store(1, Ordering::Relaxed);
    counter.join().unwrap();
    assert_eq!(c.len(), 1, "{c:?}");
    assert!(count(&c, "200 node1") >= 80, "{c:?}");
    assert_eq!(
        conns.load(Ordering::Relaxed),
        0,
        "a child connected to the member in error state"
    );
    assert_eq!(
        s.log("error_log").matches("AH01114").count(),
        attempts,
        "connect attempts to the member in error state: {}",
        s.log("error_log")
    );
    // Every child's manager page shows the member in error.
    for _ in 0..8 {
        let page = s.get("/balancer-manager").text();
        let row = page
            .lines()
            .find(|l| l.contains(&format!(":{}</a>", b.port("node2"))))
            .unwrap_or_else(|| panic!("no node2 row: {page}"))
            .to_string();
        assert!(row.contains("Init Err "), "{row}");
    }
}

#[test]
fn failover_shared_prefork() {
    failover_shared(PREFORK3);
}

#[test]
fn failover_shared_event() {
    failover_shared(EVENT2);
}

#[test]
fn failover_shared_worker() {
    failover_shared(WORKER2);
}

/// Counts connections to `port` until the returned stop flag is set.
fn count_connections(
    port: u16,
) -> (
    Arc<AtomicUsize>,
    Arc<AtomicUsize>,
    std::thread::JoinHandle<()>,
) {
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    listener.set_nonblocking(true).unwrap();
    let conns = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicUsize::new(0));
    let (c, s) = (conns.clone(), stop.clone());
    let h = std::thread::spawn(move || {
        while s.load(Ordering::Relaxed) == 0 {
            match listener.accept() {
                Ok(_) => {
                    c.fetch_add(1, Ordering::Relaxed);
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    (conns, stop, h)
}

/// A plain `ProxyPass` backend's error state is shared too: after one child's failed
/// connect no child connects to it within retry=.
fn plain_worker_shared(mpm: Mpm) {
    let b = Backends::start(&["node1"]);
    let dead = free_port();
    let conf = format!(
        "ProxyPass /up/ http://127.0.0.1:{}/\nProxyPass /down/ http://127.0.0.1:{dead}/ retry=60\nProxyTimeout 3\nLogFormat \"%P %>s %U\" pid\nCustomLog logs/pid_log pid\n",
        b.port("node1")
    );
    let s = start(mpm, &conf);
    let r = s.get("/down/x");
    assert_eq!(r.status, 503);
    let (conns, stop, h) = count_connections(dead);
    let from = s.log("pid_log").lines().count();
    let c = until_other_child(&s, "/down/x", &failing_pid(&s), from);
    let up = spread(&s, "/up/x", 40, "");
    stop.store(1, Ordering::Relaxed);
    h.join().unwrap();
    assert!(c.keys().all(|k| k.starts_with("503 ")), "{c:?}");
    assert_eq!(count(&up, "200 node1"), 40, "{up:?}");
    assert_eq!(
        conns.load(Ordering::Relaxed),
        0,
        "a child connected to the backend in error state"
    );
    assert!(
        s.log("error_log").contains("AH00940"),
        "{}",
        s.log("error_log")
    );
}

#[test]
fn plain_worker_shared_prefork() {
    plain_worker_shared(PREFORK3);
}

#[test]
fn plain_worker_shared_event() {
    plain_worker_shared(EVENT2);
}

fn sticky_and_standby(mpm: Mpm) {
    let mut b = Backends::start(&["node1", "node2", "node3"]);
    let conf = format!(
        "<Proxy balancer://s>\n{}ProxySet stickysession=JSESSIONID|jsessionid\n</Proxy>\nProxyPass /s/ balancer://s/\nProxyPassReverse /s/ balancer://s/\n<Proxy balancer://h>\n{}</Proxy>\nProxyPass /h/ balancer://h/\n<Proxy balancer://nf>\n{}</Proxy>\nProxyPass /nf/ balancer://nf/ stickysession=ROUTEID nofailover=On\n",
        b.members(&[("node1", ""), ("node2", "")]),
        b.members(&[("node1", ""), ("node2", ""), ("node3", "status=+H")]),
        b.members(&[("node1", ""), ("node2", "")]),
    );
    let s = start(mpm, &conf);
    // ProxyPassReverse to a balancer rewrites every member's URL.
    for _ in 0..2 {
        let r = s.get("/s/redir");
        assert_eq!(r.status, 302);
        assert_eq!(r.header("location"), Some("http://localhost/s/target"));
    }
    let c = spread(&s, "/s/x", 40, "Cookie: a=b; JSESSIONID=abc.node2\r\n");
    assert_eq!(count(&c, "200 node2"), 40, "cookie route: {c:?}");
    let c = spread(&s, "/s/x;jsessionid=q.node1", 40, "");
    assert_eq!(count(&c, "200 node1"), 40, "URL route: {c:?}");
    let c = spread(&s, "/s/x?jsessionid=q.node2", 20, "");
    assert_eq!(count(&c, "200 node2"), 20, "query route: {c:?}");
    // No route: balanced, with Apache's accounting of the sticky hits (each moved the
    // other member's lbstatus up): 40 to node2, 40 to node1, 20 to node2 leave node1
    // 20 requests ahead, so of 40 new ones node1 takes 20 + half of the other 20.
    let c = spread(&s, "/s/x", 40, "");
    assert_eq!(count(&c, "200 node1"), 30, "{c:?}");
    // The hot standby takes nothing while others are up.
    let c = spread(&s, "/h/x", 40, "");
    assert_eq!(count(&c, "200 node3"), 0, "{c:?}");
    b.kill("node1");
    // nofailover: the route's member is down → 503; without it, node2.
    let c = spread(&s, "/nf/x", 8, "Cookie: ROUTEID=.node1\r\n");
    let unavailable: usize = c
        .iter()
        .filter(|(k, _)| k.starts_with("503 "))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(unavailable, 8, "nofailover: {c:?}");
    // Failover of a sticky session to the other member.
    let c = spread(&s, "/s/x", 8, "Cookie: JSESSIONID=abc.node1\r\n");
    assert_eq!(count(&c, "200 node2"), 8, "failover: {c:?}");
    b.kill("node2");
    let c = spread(&s, "/h/x", 20, "");
    assert_eq!(
        count(&c, "200 node3"),
        20,
        "standby when all are down: {c:?}"
    );
}

#[test]
fn sticky_and_standby_prefork() {
    sticky_and_standby(PREFORK3);
}

#[test]
fn sticky_and_standby_event() {
    sticky_and_standby(EVENT2);
}

fn bybusyness_and_bytraffic(mpm: Mpm) {
    let b = Backends::start(&["node1", "node2"]);
    let conf = format!(
        "<Proxy balancer://busy>\n{}ProxySet lbmethod=bybusyness\n</Proxy>\nProxyPass /busy/ balancer://busy/\n<Proxy balancer://t>\n{}ProxySet lbmethod=bytraffic\n</Proxy>\nProxyPass /t/ balancer://t/\n",
        b.members(&[("node1", ""), ("node2", "")]),
        b.members(&[("node1", ""), ("node2", "")]),
    );
    let s = start(mpm, &conf);
    // Sequential requests never find a member busy: they alternate as byrequests.
    let c = spread(&s, "/busy/x", 40, "");
    assert!(within(count(&c, "200 node1"), 20, 40), "{c:?}");
    // bytraffic: one big answer from a member makes the next ones go to the other.
    let big = s.get("/t/big");
    assert_eq!(big.status, 200);
    let first = String::from_utf8_lossy(&big.body)
        .lines()
        .next()
        .unwrap()
        .to_string();
    let other = if first == "node1" { "node2" } else { "node1" };
    let c = spread(&s, "/t/x", 20, "");
    assert_eq!(count(&c, &format!("200 {other}")), 20, "{c:?}");
}

#[test]
fn bybusyness_and_bytraffic_prefork() {
    bybusyness_and_bytraffic(PREFORK3);
}

#[test]
fn bybusyness_and_bytraffic_event() {
    bybusyness_and_bytraffic(EVENT2);
}

/// The nonce in the manager page's first link for balancer `b`.
fn nonce_of(page: &str, b: &str) -> String {
    let key = format!("?b={b}&amp;nonce=");
    let at = page.find(&key).unwrap_or_else(|| panic!("no link: {page}")) + key.len();
    page[at..].split('"').next().unwrap().to_string()
}

/// POST `form` to the balancer-manager with `referer` (if any).
fn manager_post(s: &Server, form: &str, referer: Option<&str>) -> Resp {
    let referer = referer
        .map(|r| format!("Referer: {r}\r\n"))
        .unwrap_or_default();
    s.request(&format!(
        "POST /balancer-manager HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{referer}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    ))
}

fn manager_disables(mpm: Mpm) {
    let b = Backends::start(&["node1", "node2"]);
    let conf = format!(
        "<Proxy balancer://c>\n{}</Proxy>\nProxyPass /app/ balancer://c/\n{}",
        b.members(&[("node1", ""), ("node2", "")]),
        manager_conf()
    );
    let s = start(mpm, &conf);
    let page = s.get("/balancer-manager").text();
    assert!(page.contains("LoadBalancer Status for"), "{page}");
    assert!(page.contains(">balancer://c</a>"), "{page}");
    assert!(
        page.contains("<td>node1</td>") && page.contains("<td>node2</td>"),
        "{page}"
    );
    assert!(page.contains("<td>Init Ok </td>"), "{page}");
    assert!(page.contains("<td>1.00</td>"), "{page}");
    let nonce = nonce_of(&page, "c");
    let w = format!("http://127.0.0.1:{}", b.port("node2"));
    let me = Some("http://localhost/balancer-manager");
    let still_both = |s: &Server| {
        let c = spread(s, "/app/x", 20, "");
        assert_eq!(count(&c, "200 node2"), 10, "{c:?}");
    };
    // Nothing changes: a GET (selection only, even with the nonce), a POST without the
    // nonce, with a wrong one, without a Referer or from another site.
    let page = s
        .get(&format!(
            "/balancer-manager?b=c&w={w}&w_status_D=1&nonce={nonce}"
        ))
        .text();
    assert!(page.contains("<td>Init Ok </td>"), "{page}");
    for (form, referer) in [
        (format!("b=c&w={w}&w_status_D=1"), me),
        (
            format!("b=c&w={w}&w_status_D=1&nonce=00000000-0000-4000-8000-000000000000"),
            me,
        ),
        (format!("b=c&w={w}&w_status_D=1&nonce={nonce}"), None),
        (
            format!("b=c&w={w}&w_status_D=1&nonce={nonce}"),
            Some("http://evil.example/balancer-manager"),
        ),
    ] {
        let r = manager_post(&s, &form, referer);
        assert_eq!(r.status, 200);
        assert!(!r.text().contains("Init Dis"), "{form} {referer:?}");
    }
    assert!(s.log("error_log").contains("AH10187: ignoring params in balancer-manager cross-site access http://evil.example/balancer-manager: localhost"));
    still_both(&s);
    // A POST from the page with the nonce disables node2 for every child.
    let r = manager_post(&s, &format!("b=c&w={w}&w_status_D=1&nonce={nonce}"), me);
    assert_eq!(r.status, 200);
    assert!(r.text().contains("<td>Init Dis </td>"), "{}", r.text());
    let c = spread(&s, "/app/x", 40, "");
    assert_eq!(count(&c, "200 node1"), 40, "{c:?}");
    // The edit form of a member (selected by GET from the page), then re-enabling.
    let form_page = s
        .request(&format!(
            "GET /balancer-manager?b=c&w={w}&nonce={nonce} HTTP/1.1\r\nHost: localhost\r\nReferer: http://localhost/balancer-manager\r\nConnection: close\r\n\r\n"
        ))
        .text();
    assert!(
        form_page.contains("<h3>Edit worker settings for"),
        "{form_page}"
    );
    assert!(
        form_page.contains("name='w_status_D' id='w_status_D1' value='1' type=radio checked"),
        "{form_page}"
    );
    manager_post(
        &s,
        &format!("b=c&w={w}&w_status_D=0&w_lf=3&nonce={nonce}"),
        me,
    );
    let c = spread(&s, "/app/x", 40, "");
    assert_eq!(count(&c, "200 node2"), 30, "after loadfactor 3: {c:?}");
    // Balancer settings: the method.
    let r = manager_post(&s, &format!("b=c&b_lbm=bytraffic&nonce={nonce}"), me);
    assert!(r.text().contains("<td>bytraffic</td>"), "{}", r.text());
}

#[test]
fn manager_disables_prefork() {
    manager_disables(PREFORK3);
}

#[test]
fn manager_disables_event() {
    manager_disables(EVENT2);
}

fn hcheck(mpm: Mpm) {
    let b = Backends::start(&["node1", "node2"]);
    b.set_health("node2", 500);
    let hc = "hcmethod=GET hcuri=/health hcinterval=1 hcpasses=2 hcfails=1";
    // node2 gets the same settings through a ProxyHCTemplate.
    let conf = format!(
        "ProxyHCTemplate tpl {hc}\n<Proxy balancer://c>\n{}</Proxy>\nProxyPass /app/ balancer://c/\n{}",
        b.members(&[("node1", hc), ("node2", "hctemplate=tpl")]),
        manager_conf()
    );
    let s = start(mpm, &conf);
    // The children check from the start, before any request.
    let failed = format!(
        "Health check balancer://c Status (Failed) for http://127.0.0.1:{}.",
        b.port("node2")
    );
    let log = s.wait_log("error_log", &failed);
    assert!(log.contains(&failed), "{log}");
    assert_eq!(log.matches("Status (Failed)").count(), 1, "{log}");
    let row = |s: &Server| {
        let page = s.get("/balancer-manager").text();
        page.lines()
            .find(|l| l.contains(&format!(":{}</a>", b.port("node2"))))
            .map(str::to_string)
            .unwrap_or_default()
    };
    assert!(row(&s).contains("Init HcFl "), "{}", row(&s));
    let c = spread(&s, "/app/x", 20, "");
    assert_eq!(count(&c, "200 node1"), 20, "{c:?}");
    b.set_health("node2", 200);
    assert!(
        wait_until(Duration::from_secs(10), || row(&s).contains("Init Ok ")),
        "not back: {}",
        row(&s)
    );
    let c = spread(&s, "/app/x", 20, "");
    assert_eq!(count(&c, "200 node2"), 10, "{c:?}");
    // Down again when /health answers 500.
    b.set_health("node2", 500);
    assert!(
        wait_until(Duration::from_secs(10), || row(&s).contains("HcFl ")),
        "not marked failed: {}",
        row(&s)
    );
    // The manager changes the check's URI (to one that answers 200) for every child.
    let page = s.get("/balancer-manager").text();
    let nonce = nonce_of(&page, "c");
    let w = format!("http://127.0.0.1:{}", b.port("node2"));
    let r = manager_post(
        &s,
        &format!("b=c&w={w}&w_hu=/fine&w_hi=500&nonce={nonce}"),
        Some("http://localhost/balancer-manager"),
    );
    assert!(r.text().contains("<td>/fine</td>"), "{}", r.text());
    assert!(r.text().contains("<td>500ms</td>"), "{}", r.text());
    assert!(
        wait_until(Duration::from_secs(10), || row(&s).contains("Init Ok ")),
        "not back after the manager's change: {}",
        row(&s)
    );
}

/// A graceful restart keeps a balancer's state when its definition is unchanged and
/// starts fresh when it changed.
fn restart_keeps_state(mpm: Mpm) {
    let mut b = Backends::start(&["node1", "node2"]);
    let members = |lf: u32| b.members(&[("node1", &format!("loadfactor={lf}")), ("node2", "")]);
    let (one, two) = (members(1), members(2));
    let conf = |m: &str| {
        format!(
            "{}{MODULES}<Proxy balancer://c>\n{m}</Proxy>\nProxyPass /app/ balancer://c/\n{}",
            mpm.conf,
            manager_conf()
        )
    };
    let s = Server::start_with(&conf(&one), mpm.args);
    let node2 = format!(":{}</a>", b.port("node2"));
    let row = |s: &Server| {
        let page = s.get("/balancer-manager").text();
        page.lines()
            .find(|l| l.contains(&node2))
            .map(str::to_string)
            .unwrap_or_default()
    };
    b.kill("node2");
    assert!(wait_until(Duration::from_secs(10), || {
        spread(&s, "/app/x", 4, "");
        row(&s).contains("Init Err ")
    }));
    let generations = |s: &Server| s.log("error_log").matches("raceful restart").count();
    s.signal(10); // SIGUSR1: graceful restart, same configuration
    assert!(wait_until(Duration::from_secs(10), || generations(&s) >= 1));
    for _ in 0..6 {
        assert!(row(&s).contains("Init Err "), "state lost: {}", row(&s));
    }
    s.rewrite_config(&conf(&two));
    s.signal(10);
    assert!(wait_until(Duration::from_secs(10), || generations(&s) >= 2));
    assert!(
        wait_until(Duration::from_secs(10), || {
            let page = s.get("/balancer-manager").text();
            page.contains("<td>2.00</td>")
                && page
                    .lines()
                    .any(|l| l.contains(&node2) && l.contains("Init Ok "))
        }),
        "changed balancer not fresh: {}",
        row(&s)
    );
}

#[test]
fn restart_keeps_state_prefork() {
    restart_keeps_state(PREFORK3);
}

#[test]
fn restart_keeps_state_event() {
    restart_keeps_state(EVENT2);
}

#[test]
fn hcheck_prefork() {
    hcheck(PREFORK3);
}

#[test]
fn hcheck_event() {
    hcheck(EVENT2);
}

/// Syntax errors, each with Apache's AH00526 head and the line of the directive.
#[test]
fn config_errors() {
    use config_support::{BASE, Root, assert_ok, assert_syntax_error};
    let root = Root::new();
    let f = root.path("conf/httpd.conf");
    let check = |body: &str| root.check(&format!("{BASE}{MODULES}{body}"), &[]);
    let line = |body: &str| BASE.lines().count() + MODULES.lines().count() + body.lines().count();
    let ok = "<Proxy balancer://c>\nBalancerMember http://127.0.0.1:1 route=a loadfactor=5 lbset=1 status=+H retry=5 timeout=3 hcmethod=HEAD hcinterval=5\nProxySet lbmethod=bytraffic stickysession=S|s nofailover=On maxattempts=2 timeout=5 failonstatus=500,503 forcerecovery=Off\n</Proxy>\nBalancerMember balancer://c http://127.0.0.1:2\nProxySet balancer://c scolonpathdelim=On\nProxyPass /a/ balancer://c/ stickysessionsep=_\n";
    assert_ok(&check(ok));
    assert_ok(&check(
        "ProxyHCTemplate t hcmethod=GET hcinterval=10 hcuri=/health\n<Proxy balancer://c>\nBalancerMember http://h:1 hctemplate=t hcfails=2\n</Proxy>\n",
    ));
    // Accepted as by Apache: a repeated member is shared, an empty balancer answers 503,
    // maxattempts is read with atoi.
    assert_ok(&check(
        "<Proxy balancer://c>\nBalancerMember http://h:1\nBalancerMember http://h:1\nProxySet maxattempts=x\n</Proxy>\n<Proxy balancer://e>\n</Proxy>\n",
    ));
    for (body, reason) in [
        (
            "<Proxy balancer://c>\nBalancerMember http://h:1 loadfactor=0\n",
            "BalancerMember LoadFactor must be a number between 1..100",
        ),
        (
            "<Proxy balancer://c>\nBalancerMember http://h:1 lbset=100\n",
            "BalancerMember lbset must be between 0 and 99",
        ),
        (
            "<Proxy balancer://c>\nBalancerMember http://h:1 status=+X\n",
            "BalancerMember Unknown status parameter option",
        ),
        (
            "<Proxy balancer://c>\nBalancerMember http://h:1 bogus=1\n",
            "BalancerMember unknown Worker hcheck parameter",
        ),
        (
            "<Proxy balancer://c>\nBalancerMember http://h:1 hcmethod=PUT\n",
            "BalancerMember Unknown method",
        ),
        (
            "<Proxy balancer://c>\nBalancerMember http://h:1 hcexpr=nope\n",
            "BalancerMember Unknown health check condition expr: nope",
        ),
        (
            "<Proxy balancer://c>\nBalancerMember http://h:1\nProxySet lbmethod=heartbeat\n",
            "ProxySet: unknown lbmethod lbmethod=heartbeat; balancer://c",
        ),
        (
            "<Proxy balancer://c>\nBalancerMember http://h:1\nProxySet nofailover=maybe\n",
            "ProxySet: failover must be On|Off nofailover=maybe; balancer://c",
        ),
        (
            "BalancerMember http://h:1\n",
            "BalancerMember must define remote proxy server",
        ),
        (
            "ProxySet lbmethod=byrequests\n",
            "ProxySet can not find 'lbmethod=byrequests' Worker.",
        ),
        (
            "<Directory />\nBalancerMember balancer://c http://h:1\n",
            "BalancerMember can not have a balancer name when defined in a location",
        ),
        (
            "<Proxy balancer://c>\nBalancerMember http://h:1 hctemplate=nope\n",
            "BalancerMember Unknown ProxyHCTemplate name: nope",
        ),
        (
            "ProxyHCTemplate t route=x\n",
            "ProxyHCTemplate: unknown Worker hcheck parameter route=x; t",
        ),
        (
            "ProxyHCTemplate t hcmethod=FOO\n",
            "ProxyHCTemplate: Unknown method hcmethod=FOO; t",
        ),
        (
            "<Proxy balancer://c>\nBalancerMember http://h:1\nRequire ip 10.0.0.1\n",
            "Require inside <Proxy balancer://...> is not supported by rhttpd",
        ),
        (
            "ProxyPass /a/ balancer://nope/\n",
            "no balancer balancer://nope is defined",
        ),
        (
            "<Proxy balancer://c>\nBalancerMember http://h:1\n</Proxy>\nProxyPass /a/ balancer://c/ stickysessionsep=ab\n",
            "ProxyPass stickysessionsep must be a single character or Off",
        ),
        (
            "<Proxy balancer://c>\nBalancerMember http://h:1\n</Proxy>\nProxyPass /a/ balancer://c/ bogus=1\n",
            "ProxyPass unknown Balancer parameter",
        ),
        (
            "<Proxy balancer://c>\nBalancerMember http://h:1 hcinterval=0\n",
            "BalancerMember Interval must be a positive value greater than 100ms",
        ),
        (
            "<Proxy balancer://c>\nBalancerMember http://h:1\nProxySet timeout=0\n",
            "ProxySet: timeout must be at least one second timeout=0; balancer://c",
        ),
        (
            "<Proxy balancer://c>\nBalancerMember http://h:1\nProxySet failonstatus=5000\n",
            "ProxySet: failonstatus must be one or more HTTP response codes failonstatus=5000; balancer://c",
        ),
        (
            "<Proxy balancer://c>\nBalancerMember http://h:1 route=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
            "BalancerMember Route length must be < 64 characters",
        ),
        (
            "<Proxy balancer://c>\nBalancerMember http://h:1\nProxySet growth=200\n",
            "ProxySet: growth must be between 1 and 100 growth=200; balancer://c",
        ),
    ] {
        let closed = if body.starts_with("<Proxy") && !body.contains("</Proxy>") {
            format!("{body}</Proxy>\n")
        } else if body.starts_with("<Directory") {
            format!("{body}</Directory>\n")
        } else {
            body.to_string()
        };
        assert_syntax_error(&check(&closed), &f, line(body), reason);
    }
    // What is accepted but not done is said at start, once.
    let o = check(
        "LoadModule lbmethod_heartbeat_module x\nLoadModule heartmonitor_module x\nHeartbeatListen 239.0.0.1:27999\nBalancerGrowth 5\n<Proxy balancer://c>\nBalancerMember http://h:1\nProxySet lbmethod=heartbeat\nRequire all granted\n</Proxy>\n<VirtualHost *:1>\nBalancerMember balancer://v http://h:2\n</VirtualHost>\n",
    );
    assert_ok(&o);
    let e = config_support::stderr(&o);
    for w in [
        "HeartbeatListen (line",
        "BalancerGrowth (line",
        "balancer://c: lbmethod=heartbeat needs mod_heartmonitor",
        "Require all granted inside <Proxy balancer://c>",
    ] {
        assert_eq!(e.matches(w).count(), 1, "{w}: {e}");
    }
    // mod_proxy_balancer needs mod_slotmem_shm, as in Apache.
    let o = root.check(
        &format!("{BASE}LoadModule proxy_module x\nLoadModule proxy_balancer_module x\n"),
        &[],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        config_support::stderr(&o).contains("AH01177"),
        "{}",
        config_support::stderr(&o)
    );
}
