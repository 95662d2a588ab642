//! mod_proxy_balancer end to end, against real backends: small python3 HTTP servers
//! written into the test directory that answer with their own name (and `/health` with
//! the status in a file the test changes). Run under prefork (several children) and
//! event (two children), the shared failover also under worker (two children), since
//! the point of the shared state is that every child sees what one child learnt.

#[path = "support/balancer.rs"]
mod balancer_support;
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

use balancer_support::*;

fn byrequests_distribution(mpm: Mpm) {
    let b = Backends::start(&["node1", "node2", "node3"]);
    let conf = format!(
        "<Proxy \"balancer://eq\">\n{}</Proxy>\n<Proxy balancer://w>\n{}</Proxy>\nProxyPass /eq/ balancer://eq/\nProxyPass /w/ balancer://w/\n",
        b.members(&[("node1", ""), ("node2", ""), ("node3", "")]),
        b.members(&[("node1", "loadfactor=1"), ("node2", "loadfactor=3")]),
    );
    let s = start_balanced(mpm, &conf);
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
    let s = start_balanced(mpm, &conf);
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
    let s = start_balanced(mpm, &conf);
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
    let s = start_balanced(mpm, &conf);
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
    let s = start_balanced(mpm, &conf);
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
