//! The balancer-manager (Apache's nonce and Referer checks, changes in shared memory),
//! mod_proxy_hcheck's health checks, balancer state across a graceful restart, and the
//! balancer directives' configuration errors, against the python3 members of
//! tests/support/balancer.rs. Distribution, failover and sticky sessions:
//! tests/e2e_balancer.rs.
#[path = "support/balancer.rs"]
mod balancer_support;
mod common;
#[path = "support/config.rs"]
mod config_support;
#[path = "support/dynamic.rs"]
mod dynamic_support;

use dynamic_support::*;

use balancer_support::*;

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
    let s = start_balanced(mpm, &conf);
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
    let s = start_balanced(mpm, &conf);
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

/// `ProxyStatus On`: mod_status's page has a table per balancer of the host with its
/// members' state and counts (mod_proxy_balancer's status hook); Off (the default) and
/// `?auto` leave the page as it was.
fn proxy_status(mpm: Mpm, on: &str) -> (Server, Backends) {
    let b = Backends::start(&["node1", "node2"]);
    let conf = format!(
        "LoadModule status_module x\n{on}<Proxy balancer://c>\n{}ProxySet stickysession=ROUTEID\n</Proxy>\nProxyPass /app/ balancer://c/\n<Location /server-status>\nSetHandler server-status\n</Location>\n",
        b.members(&[("node1", "route=r1"), ("node2", "route=r2 status=+D")]),
    );
    let s = start_balanced(mpm, &conf);
    let c = spread(&s, "/app/x", 8, "");
    assert_eq!(count(&c, "200 node1"), 8, "{c:?}");
    (s, b)
}

#[test]
fn proxy_status_shows_the_balancers_event() {
    let (s, _backends) = proxy_status(EVENT2, "ProxyStatus On\n");
    let page = s.get("/server-status").text();
    assert!(
        page.contains("<h1>Proxy LoadBalancer Status for balancer://c</h1>"),
        "{page}"
    );
    assert!(
        page.contains("<td>ROUTEID</td><td>0</td><td>byrequests</td>"),
        "{page}"
    );
    // node1 elected 8 times (the spread above), node2 disabled and never used.
    let row = |route: &str| {
        let at = page
            .find(&format!("</td><td>{route}</td>"))
            .unwrap_or_else(|| panic!("no row for {route}: {page}"));
        let start = page[..at].rfind("<tr>").unwrap();
        page[start..at + page[at..].find("</tr>").unwrap()].to_string()
    };
    let r1 = row("r1");
    assert!(
        r1.starts_with("<tr>\n<td>http</td><td>127.0.0.1</td><td>Init Ok </td>"),
        "{r1}"
    );
    assert!(r1.contains("<td>1.00</td><td>0</td><td>8</td>"), "{r1}");
    let r2 = row("r2");
    assert!(r2.contains("<td>Init Dis </td>"), "{r2}");
    assert!(
        r2.contains("<td>1.00</td><td>0</td><td>0</td><td>  0 </td><td>  0 </td>"),
        "{r2}"
    );
    assert!(
        page.contains("<tr><th>Acc</th><td>Number of uses</td></tr>"),
        "{page}"
    );
    // The section comes before the signature, and ?auto is Apache's keys only.
    let auto = s.get("/server-status?auto").text();
    assert!(
        auto.contains("BusyWorkers:") && !auto.contains("LoadBalancer"),
        "{auto}"
    );
}

#[test]
fn proxy_status_off_by_default_prefork() {
    let (s, _backends) = proxy_status(PREFORK3, "");
    let page = s.get("/server-status").text();
    assert!(page.contains("Server Version:"), "{page}");
    assert!(!page.contains("Proxy LoadBalancer Status"), "{page}");
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
        "ProxyStatus Full\n<VirtualHost *:80>\nProxyStatus off\n</VirtualHost>\n",
    ));
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
            "ProxyStatus sometimes\n",
            "ProxyStatus must be one of: off | on | full",
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
