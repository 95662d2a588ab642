//! mod_status end to end on the prefork MPM: `?auto` counts and letters under a known
//! load, access control, formats, and prometheus-apache-exporter reading `?auto`.

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::Duration;

use common::*;

fn config(extra: &str) -> String {
    format!(
        "LoadModule mpm_prefork_module modules/mod_mpm_prefork.so
LoadModule status_module modules/mod_status.so
StartServers 3
MinSpareServers 2
MaxSpareServers 30
ServerLimit 30
MaxRequestWorkers 30
KeepAliveTimeout 60
Timeout 60
<Location /server-status>
    SetHandler server-status
    Require ip 127.0.0.1
</Location>
<Location /private-status>
    SetHandler server-status
    Require ip 10.0.0.1
</Location>
{extra}"
    )
}

fn start(extra: &str) -> Server {
    let s = Server::start_with(&config(extra), &["-D", "FOREGROUND"]);
    s.write("htdocs/index.html", "hello\n");
    s
}

/// `?auto` parsed into its keys (the first line, the server name, under "").
fn auto(s: &Server) -> HashMap<String, String> {
    let r = s.get("/server-status?auto");
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    let mut lines = text.lines();
    let mut m = HashMap::new();
    m.insert(String::new(), lines.next().unwrap_or("").to_string());
    for l in lines {
        let (k, v) = l
            .split_once(':')
            .unwrap_or_else(|| panic!("bad line {l:?}"));
        m.insert(k.to_string(), v.trim_start().to_string());
    }
    m
}

fn num(m: &HashMap<String, String>, k: &str) -> usize {
    m.get(k)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {k} in {m:?}"))
}

fn count(board: &str, c: char) -> usize {
    board.chars().filter(|&x| x == c).count()
}

/// Open `n` connections that sent half a request line (their children read: `R`).
fn slow_clients(s: &Server, n: usize) -> Vec<TcpStream> {
    (0..n)
        .map(|_| {
            let mut c = s.connect();
            c.write_all(b"GET /slow").unwrap();
            c
        })
        .collect()
}

/// Open `n` connections that completed one keep-alive request (their children wait
/// for the next one: `K`).
fn keepalive_clients(s: &Server, n: usize) -> Vec<TcpStream> {
    (0..n)
        .map(|_| {
            let mut c = s.connect();
            c.write_all(b"GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n")
                .unwrap();
            let mut buf = Vec::new();
            let r = read_response(&mut c, &mut buf, false).expect("keep-alive response");
            assert_eq!(r.status, 200);
            assert_ne!(r.header("connection"), Some("close"));
            c
        })
        .collect()
}

#[test]
fn auto_counts_and_letters_follow_the_load() {
    let s = start("");
    let (n, m) = (3, 2);
    let slow = slow_clients(&s, n);
    let ka = keepalive_clients(&s, m);
    // Expected: n `R`, m `K`, and the status request itself (`W`). A previous poll's
    // child may still be closing, so poll until the picture is exact.
    let mut last = HashMap::new();
    let ok = wait_until(Duration::from_secs(20), || {
        last = auto(&s);
        let board = &last["Scoreboard"];
        count(board, 'R') == n
            && count(board, 'K') == m
            && count(board, 'W') == 1
            && num(&last, "BusyWorkers") == n + m + 1
            && num(&last, "IdleWorkers") == count(board, '_')
    });
    assert!(ok, "scoreboard never matched the load: {last:?}");
    let board = &last["Scoreboard"];
    assert_eq!(board.len(), 30, "one cell per MaxRequestWorkers: {board}");
    assert_eq!(num(&last, "GracefulWorkers"), 0);
    assert_eq!(last["ServerMPM"], "prefork");
    assert!(last["ServerVersion"].starts_with("rhttpd/"));
    assert!(num(&last, "Total Accesses") >= m);
    assert!(
        !last.contains_key("Processes"),
        "event-only keys on prefork"
    );

    // The load goes away: back to just the status request.
    drop(slow);
    drop(ka);
    let ok = wait_until(Duration::from_secs(20), || {
        last = auto(&s);
        let board = &last["Scoreboard"];
        count(board, 'R') + count(board, 'K') == 0 && num(&last, "BusyWorkers") == 1
    });
    assert!(ok, "load did not drain: {last:?}");
}

#[test]
fn auto_keys_come_in_apaches_order() {
    let s = start("");
    let r = s.get("/server-status?auto");
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; charset=ISO-8859-1")
    );
    let text = r.text();
    let keys: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.split_once(':').unwrap().0)
        .filter(|k| {
            ![
                "CPULoad",
                "ReqPerSec",
                "BytesPerSec",
                "BytesPerReq",
                "DurationPerReq",
            ]
            .contains(k)
        })
        .collect();
    assert_eq!(
        keys,
        [
            "ServerVersion",
            "ServerMPM",
            "Server Built",
            "CurrentTime",
            "RestartTime",
            "ParentServerConfigGeneration",
            "ParentServerMPMGeneration",
            "ServerUptimeSeconds",
            "ServerUptime",
            "Load1",
            "Load5",
            "Load15",
            "Total Accesses",
            "Total kBytes",
            "Total Duration",
            "CPUUser",
            "CPUSystem",
            "CPUChildrenUser",
            "CPUChildrenSystem",
            "Uptime",
            "BusyWorkers",
            "GracefulWorkers",
            "IdleWorkers",
            "Scoreboard",
        ],
        "{text}"
    );
    assert_eq!(text.lines().next(), Some("localhost"));

    // ExtendedStatus Off drops the totals.
    let s = start("ExtendedStatus Off");
    let text = s.get("/server-status?auto").text();
    assert!(
        !text.contains("Total Accesses") && text.contains("BusyWorkers: "),
        "{text}"
    );
}

#[test]
fn formats_methods_and_access_control() {
    let s = start("");
    let r = s.get("/server-status?refresh=5");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("refresh"), Some("5"));
    assert_eq!(
        r.header("content-type"),
        Some("text/html; charset=ISO-8859-1")
    );
    let page = r.text();
    for needle in [
        "<h1>Apache Server Status for localhost (via 127.0.0.1)</h1>",
        "<dt>Server MPM: prefork</dt>",
        "<pre>",
        "Scoreboard Key:",
        "<th>Srv</th><th>PID</th>",
        "GET /server-status?refresh=5 HTTP/1.1",
    ] {
        assert!(page.contains(needle), "missing {needle:?}:\n{page}");
    }
    // Client-supplied text is escaped.
    let r = s.get("/server-status?<b>x</b>");
    assert!(
        r.text()
            .contains("GET /server-status?&lt;b&gt;x&lt;/b&gt; HTTP/1.1")
    );
    assert!(!r.text().contains("<b>x</b>"));

    let r = s.get("/server-status?notable");
    assert!(!r.text().contains("<table") && r.text().contains("Server Details"));

    let r = s.get("/server-status?json");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(r.text().starts_with("{\"server_name\": \"localhost\""));
    assert!(r.text().contains("\"scoreboard\": \""));

    let r = s.get("/server-status?metrics");
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    assert!(r.text().contains("\nrhttpd_up 1\n") || r.text().contains("rhttpd_up 1\n"));
    assert!(r.text().contains("rhttpd_workers{state=\"busy\"} "));

    let raw =
        s.raw(b"HEAD /server-status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    let r = parse_response_head_only(&raw).expect("HEAD response");
    assert_eq!(r.status, 200);
    assert!(r.header("content-length").is_some());
    assert_eq!(raw.len(), r.wire_len, "HEAD answered with a body");

    let r = s.request(
        "POST /server-status HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(r.status, 405);

    // `Require ip 10.0.0.1` does not admit 127.0.0.1.
    assert_eq!(s.get("/private-status").status, 403);
    assert_eq!(s.get("/private-status?auto").status, 403);
}

#[test]
fn without_status_module_there_is_no_status_page() {
    let body = config("").replace("LoadModule status_module modules/mod_status.so\n", "");
    let s = Server::start_with(&body, &["-D", "FOREGROUND"]);
    let r = s.get("/server-status?auto");
    assert_eq!(r.status, 404, "{}", r.text());
}

fn http_get(addr: &str, path: &str) -> Option<String> {
    let mut c = TcpStream::connect(addr).ok()?;
    c.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(c, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut raw = Vec::new();
    c.read_to_end(&mut raw).ok()?;
    let r = parse_response(&raw)?;
    (r.status == 200).then(|| r.text())
}

/// `name{labels} value` lines of a Prometheus text page.
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .filter_map(|(k, v)| Some((k.to_string(), v.parse().ok()?)))
        .collect()
}

#[test]
fn prometheus_apache_exporter_reads_auto() {
    const EXPORTER: &str = "prometheus-apache-exporter";
    assert!(
        have(EXPORTER),
        "{EXPORTER} is not installed: scripts/test.sh installs it \
         (or: apt-get install prometheus-apache-exporter)"
    );
    let s = start("");
    let slow = slow_clients(&s, 2);
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let exporter = Spawned::spawn(
        command(EXPORTER)
            .arg(format!(
                "--scrape_uri=http://127.0.0.1:{}/server-status?auto",
                s.port
            ))
            .arg(format!("--telemetry.address={addr}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
    .expect("start prometheus-apache-exporter");
    // Each scrape is itself a request (one `W`) besides the two readers (`R`).
    let mut last = HashMap::new();
    let ok = wait_until(Duration::from_secs(20), || {
        let Some(text) = http_get(&addr, "/metrics") else {
            return false;
        };
        last = samples(&text);
        let get = |k: &str| last.get(k).copied().unwrap_or(-1.0);
        get("apache_up") == 1.0
            && get("apache_workers{state=\"busy\"}") == 3.0
            && get("apache_scoreboard{state=\"read\"}") == 2.0
            && get("apache_scoreboard{state=\"reply\"}") == 1.0
            && get("apache_workers{state=\"idle\"}") == get("apache_scoreboard{state=\"idle\"}")
            && get("apache_workers{state=\"idle\"}") >= 1.0
    });
    assert!(ok, "exporter never reported the load: {last:?}");
    let open = last["apache_scoreboard{state=\"open_slot\"}"];
    let idle = last["apache_workers{state=\"idle\"}"];
    assert_eq!(open + idle + 3.0, 30.0, "{last:?}");
    assert!(last.contains_key("apache_accesses_total"));
    drop(exporter);
    drop(slow);
}
