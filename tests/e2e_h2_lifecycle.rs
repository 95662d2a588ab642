//! End-to-end tests of how HTTP/2 is switched on and off and how its connections end
//! (issue #13 points 1, 4, 5): `Protocols` with and without mod_http2, prefork's AH10034
//! advisory, mod_http2's directives and their errors, curl over prior knowledge and
//! `Upgrade: h2c` under worker, event and `-X`, `%H`/`%r` and SERVER_PROTOCOL for h2,
//! request bodies to CGI, and graceful restart: an in-flight stream completes and the
//! client is told with GOAWAY.

mod common;
#[path = "support/config.rs"]
mod config_support;
#[path = "support/dynamic.rs"]
mod dynamic_support;

use config_support::{BASE, Root, assert_syntax_error};
use dynamic_support::{EVENT, Mpm, ONE_PROCESS, PREFORK, Site, WORKER, script, start};

use common::{curl, have, output, wait_until};
use std::time::Duration;

const H2: &str = "LoadModule http2_module x\nProtocols h2 h2c http/1.1\n";

/// `curl ARGS -w '%{http_version} %{http_code}'`: (version, status, body).
fn fetch(args: &[&str]) -> (String, String) {
    let mut all = vec!["-w", "\n%{http_version} %{http_code}"];
    all.extend_from_slice(args);
    let o = curl(&all);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let (body, tail) = out.rsplit_once('\n').unwrap_or(("", &out));
    (tail.to_string(), body.to_string())
}

fn site_with_cgi() -> Site {
    let site = Site::new();
    std::fs::write(site.p("htdocs/a.txt"), "alpha\n").unwrap();
    script(
        &site.p("cgi-bin/echo.cgi"),
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\n\
         echo \"proto=$SERVER_PROTOCOL len=$CONTENT_LENGTH\"\nwc -c | tr -d ' '\n",
    );
    site
}

fn conf_for(site: &Site, extra: &str) -> String {
    format!(
        "{H2}DocumentRoot \"{docs}\"\nScriptAlias /cgi-bin/ \"{cgi}/\"\n\
         LogFormat \"%H|%r|%>s\" proto\nCustomLog logs/proto_log proto\n{extra}",
        docs = site.s("htdocs"),
        cgi = site.s("cgi-bin"),
    )
}

fn serves_h2(mpm: Mpm) {
    if !have("curl") {
        eprintln!("curl missing: skipped");
        return;
    }
    let site = site_with_cgi();
    let s = start(mpm, &conf_for(&site, ""));
    let url = format!("http://127.0.0.1:{}/a.txt", s.port);
    // Prior knowledge (H2Direct is on by default where h2c is enabled).
    let (v, body) = fetch(&["--http2-prior-knowledge", &url]);
    assert_eq!(v, "2 200", "{body}");
    assert_eq!(body, "alpha\n");
    // Upgrade: h2c, the request answered as stream 1.
    let (v, body) = fetch(&["--http2", &url]);
    assert_eq!(v, "2 200", "{body}");
    assert_eq!(body, "alpha\n");
    // A request body to CGI over h2: 300 KiB, more than one window.
    let big = site.p("big.bin");
    std::fs::write(&big, vec![b'x'; 300 * 1024]).unwrap();
    let data = format!("@{}", big.display());
    let cgi = format!("http://127.0.0.1:{}/cgi-bin/echo.cgi", s.port);
    let (v, body) = fetch(&["--http2-prior-knowledge", "--data-binary", &data, &cgi]);
    assert_eq!(v, "2 200", "{body}");
    assert_eq!(body, "proto=HTTP/2.0 len=307200\n307200\n");
    // HTTP/1.1 still works beside it.
    let (v, _) = fetch(&["--http1.1", &url]);
    assert_eq!(v, "1.1 200");
    let log = s.wait_log("proto_log", "HTTP/2.0|POST /cgi-bin/echo.cgi HTTP/2.0|200");
    assert!(log.contains("HTTP/2.0|GET /a.txt HTTP/2.0|200"), "{log}");
    assert!(log.contains("HTTP/1.1|GET /a.txt HTTP/1.1|200"), "{log}");
}

#[test]
fn worker_serves_h2c() {
    serves_h2(WORKER);
}

#[test]
fn event_serves_h2c() {
    serves_h2(EVENT);
}

#[test]
fn one_process_serves_h2c() {
    serves_h2(ONE_PROCESS);
}

#[test]
fn prefork_logs_ah10034_and_stays_on_http1() {
    if !have("curl") {
        return;
    }
    // The advisory is printed where startup warnings go (stderr; -t shows it too).
    let r = Root::new();
    let o = r.check(&format!("{BASE}LoadModule mpm_prefork_module x\n{H2}"), &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("AH10034"), "{err}");
    assert!(err.contains("HTTP/2 protocol will be inactive"), "{err}");
    let site = site_with_cgi();
    let s = start(PREFORK, &conf_for(&site, ""));
    let url = format!("http://127.0.0.1:{}/a.txt", s.port);
    // curl asks for the upgrade; prefork answers over HTTP/1.1.
    let (v, body) = fetch(&["--http2", &url]);
    assert_eq!(v, "1.1 200", "{body}");
}

#[test]
fn protocols_without_mod_http2_warn_and_serve_http1() {
    if !have("curl") {
        return;
    }
    let r = Root::new();
    let o = r.check(&format!("{BASE}Protocols h2c http/1.1\n"), &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("mod_http2 is not loaded"), "{err}");
    let site = site_with_cgi();
    let conf = format!(
        "Protocols h2c http/1.1\nDocumentRoot \"{}\"\n",
        site.s("htdocs")
    );
    let s = start(EVENT, &conf);
    let url = format!("http://127.0.0.1:{}/a.txt", s.port);
    let (v, _) = fetch(&["--http2", &url]);
    assert_eq!(v, "1.1 200");
    // Prior knowledge is not HTTP/1.1: the preface is answered as a bad request.
    let o = curl(&["--http2-prior-knowledge", &url]);
    assert!(!o.status.success());
}

#[test]
fn h2_switches_follow_the_directives() {
    if !have("curl") {
        return;
    }
    let site = site_with_cgi();
    let s = start(EVENT, &conf_for(&site, "H2Direct off\nH2Upgrade off\n"));
    let url = format!("http://127.0.0.1:{}/a.txt", s.port);
    let (v, _) = fetch(&["--http2", &url]);
    assert_eq!(v, "1.1 200", "H2Upgrade off: no 101");
    let o = curl(&["--http2-prior-knowledge", &url]);
    assert!(!o.status.success(), "H2Direct off: no prior knowledge");
}

#[test]
fn http2_directive_errors_and_notices() {
    let r = Root::new();
    let f = r.path("conf/httpd.conf");
    let check = |body: &str| r.check(&format!("{BASE}LoadModule http2_module x\n{body}"), &[]);
    // BASE is two lines, the LoadModule one more: the body starts on line 4.
    assert_syntax_error(
        &check("H2MaxSessionStreams 0\n"),
        &f,
        4,
        "value must be > 0",
    );
    assert_syntax_error(&check("H2WindowSize lots\n"), &f, 4, "H2WindowSize");
    assert_syntax_error(&check("H2Direct maybe\n"), &f, 4, "H2Direct");
    // Without the module its directives are unknown, as in Apache.
    let o = r.check(&format!("{BASE}H2Direct on\n"), &[]);
    assert!(!o.status.success());
    // Accepted-but-inactive directives say so at start.
    let o = check("Protocols h2c http/1.1\nH2MinWorkers 8\nH2Push on\n");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("H2MinWorkers 8: no effect"), "{err}");
    assert!(err.contains("server push is not done"), "{err}");
}

/// A graceful restart while a stream is in flight: the stream completes, the client gets
/// GOAWAY (`expect_goaway`: under worker the scoreboard cannot show when the old child
/// has learnt it is stopping, so the test cannot wait for that), and a new connection
/// is served by the new generation.
fn graceful_restart_finishes_streams(mpm: Mpm, expect_goaway: bool) {
    if !have("nghttp") {
        eprintln!("nghttp missing: skipped");
        return;
    }
    let site = site_with_cgi();
    let marker = site.p("started");
    script(
        &site.p("cgi-bin/slow.cgi"),
        &format!(
            "#!/bin/sh\ntouch '{m}'\nwhile [ ! -e '{m}.go' ]; do sleep 0.05; done\n\
             printf 'Content-Type: text/plain\\n\\nslow done\\n'\n",
            m = marker.display()
        ),
    );
    let status = "LoadModule status_module x\n<Location /server-status>\n\
                  SetHandler server-status\n</Location>\nKeepAliveTimeout 30\n";
    let s = start(mpm, &conf_for(&site, status));
    let url = format!("http://127.0.0.1:{}/cgi-bin/slow.cgi", s.port);
    let client = std::thread::spawn(move || {
        output(common::command("nghttp").args(["-v", "-t", "20", &url])).expect("nghttp")
    });
    assert!(
        wait_until(Duration::from_secs(10), || marker.exists()),
        "the script never started"
    );
    s.signal(libc_sigusr1());
    // Once the scoreboard shows the old child's threads finishing gracefully ('G'),
    // the child knows it is stopping; then let the script answer.
    let board = format!("http://127.0.0.1:{}/server-status?auto", s.port);
    let graceful = !expect_goaway
        || wait_until(Duration::from_secs(10), || {
            let o = curl(&["--http1.1", &board]);
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.starts_with("Scoreboard:") && l.contains('G'))
        });
    assert!(graceful, "the old generation never showed G");
    std::fs::write(format!("{}.go", marker.display()), "").unwrap();
    let o = client.join().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("slow done"), "{out}");
    assert!(out.contains(":status: 200"), "{out}");
    if expect_goaway {
        assert!(out.contains("recv GOAWAY"), "{out}");
    }
    let fresh = format!("http://127.0.0.1:{}/a.txt", s.port);
    let ok = wait_until(Duration::from_secs(10), || {
        fetch(&["--http2-prior-knowledge", &fresh]).0 == "2 200"
    });
    assert!(ok, "a new connection after the graceful restart");
}

/// SIGUSR1: Apache's graceful restart.
fn libc_sigusr1() -> i32 {
    10
}

#[test]
fn event_graceful_restart_finishes_streams_with_goaway() {
    graceful_restart_finishes_streams(EVENT, true);
}

#[test]
fn worker_graceful_restart_finishes_streams_with_goaway() {
    graceful_restart_finishes_streams(WORKER, false);
}

/// Streams of one connection whose handlers block run side by side: two scripts that
/// each wait for the other to have started finish only if neither waits behind the
/// other; a static file on the same connection is answered meanwhile.
fn blocking_streams_run_in_parallel(mpm: Mpm) {
    if !have("nghttp") {
        eprintln!("nghttp missing: skipped");
        return;
    }
    let site = site_with_cgi();
    let dir = site.p("marks");
    std::fs::create_dir_all(&dir).unwrap();
    for (me, other) in [("a", "b"), ("b", "a")] {
        script(
            &site.p(&format!("cgi-bin/{me}.cgi")),
            &format!(
                "#!/bin/sh\ntouch '{d}/{me}'\nn=0\n\
                 while [ ! -e '{d}/{other}' ] && [ $n -lt 200 ]; do sleep 0.05; n=$((n+1)); done\n\
                 printf 'Content-Type: text/plain\\n\\n'\n\
                 if [ -e '{d}/{other}' ]; then echo met; else echo alone; fi\n",
                d = dir.display()
            ),
        );
    }
    let s = start(mpm, &conf_for(&site, ""));
    let base = format!("http://127.0.0.1:{}", s.port);
    let o = output(common::command("nghttp").args([
        "-t",
        "20",
        &format!("{base}/cgi-bin/a.cgi"),
        &format!("{base}/cgi-bin/b.cgi"),
        &format!("{base}/a.txt"),
    ]))
    .expect("nghttp");
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(out.matches("met").count(), 2, "{out}");
    assert!(!out.contains("alone"), "{out}");
    assert!(out.contains("alpha"), "{out}");
}

#[test]
fn worker_runs_blocking_streams_in_parallel() {
    blocking_streams_run_in_parallel(WORKER);
}

#[test]
fn event_runs_blocking_streams_in_parallel() {
    blocking_streams_run_in_parallel(EVENT);
}

#[test]
fn one_process_runs_blocking_streams_in_parallel() {
    blocking_streams_run_in_parallel(ONE_PROCESS);
}

/// h2load's summary line `requests: N total, N started, N done, N succeeded, ...` and
/// `status codes: N 2xx`: every request of the run succeeded with a 2xx.
fn assert_h2load_all_ok(out: &str, n: usize) {
    let want = format!("requests: {n} total, {n} started, {n} done, {n} succeeded, 0 failed");
    assert!(out.contains(&want), "h2load: not all succeeded:\n{out}");
    assert!(
        out.contains(&format!("status codes: {n} 2xx")),
        "h2load: not all 2xx:\n{out}"
    );
}

/// h2load -n 20000 -c 10 -m 10 over h2c prior knowledge: every request answered 200.
fn h2load_all_succeed(mpm: Mpm) {
    if !have("h2load") {
        eprintln!("h2load missing (nghttp2-client; scripts/test.sh installs it): skipped");
        return;
    }
    let site = Site::new();
    std::fs::write(site.p("htdocs/1k.txt"), "x".repeat(1024)).unwrap();
    let s = start(mpm, &conf_for(&site, "LogLevel warn\n"));
    let url = format!("http://127.0.0.1:{}/1k.txt", s.port);
    let ran = common::tls::run_bounded(
        common::command("h2load").args(["-n", "20000", "-c", "10", "-m", "10", &url]),
        b"",
        Duration::from_secs(120),
    );
    assert!(!ran.timed_out, "h2load did not finish: {}", ran.describe());
    assert_h2load_all_ok(&ran.out, 20000);
}

#[test]
fn worker_h2load_all_requests_succeed() {
    h2load_all_succeed(WORKER);
}

#[test]
fn event_h2load_all_requests_succeed() {
    h2load_all_succeed(EVENT);
}

/// A prior-knowledge h2c connection with one GET on stream 1 (HPACK: :method GET,
/// :scheme http, :path from the static table's `/` replaced by a literal path).
fn h2c_get(port: u16, path: &str) -> std::net::TcpStream {
    use std::io::Write;
    let mut block = vec![0x82, 0x86, 0x04, path.len() as u8];
    block.extend_from_slice(path.as_bytes());
    block.extend_from_slice(&[0x01, 9]);
    block.extend_from_slice(b"127.0.0.1");
    let mut out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    out.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]); // SETTINGS, empty
    let len = block.len();
    out.extend_from_slice(&[0, (len >> 8) as u8, len as u8, 1, 0x05, 0, 0, 0, 1]);
    out.extend_from_slice(&block);
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.write_all(&out).unwrap();
    c
}

/// mod_status shows an h2 session as Apache does: `h2c` in the Protocol column and
/// mod_http2's "idle|busy, streams: open/recv/resp/push/rst" text in the Request
/// column; HTTP/1.1 connections show `http/1.1`. worker keeps the idle session on its
/// thread; event shows it while a stream thread runs one of its streams.
fn scoreboard_shows_h2_sessions(mpm: Mpm, blocking: bool) {
    let site = site_with_cgi();
    let go = site.p("go");
    script(
        &site.p("cgi-bin/wait.cgi"),
        &format!(
            "#!/bin/sh\nn=0\nwhile [ ! -e '{}' ] && [ $n -lt 200 ]; do sleep 0.05; n=$((n+1)); done\n\
             printf 'Content-Type: text/plain\\n\\nwaited\\n'\n",
            go.display()
        ),
    );
    let status = "LoadModule status_module x\nExtendedStatus On\n\
                  <Location /server-status>\nSetHandler server-status\n</Location>\n";
    let s = start(mpm, &conf_for(&site, status));
    let path = if blocking {
        "/cgi-bin/wait.cgi"
    } else {
        "/a.txt"
    };
    let want = if blocking {
        "busy, streams: 1/1/0/0/0 (open/recv/resp/push/rst)"
    } else {
        "idle, streams: 0/1/1/0/0 (open/recv/resp/push/rst)"
    };
    let mut conn = h2c_get(s.port, path);
    let mut page = String::new();
    let shown = wait_until(Duration::from_secs(10), || {
        page = s.get("/server-status").text();
        page.contains(&format!(
            "<td>h2c</td><td nowrap>127.0.0.1:{}</td><td nowrap>{want}</td>",
            s.port
        ))
    });
    assert!(shown, "no h2c row with {want:?}:\n{page}");
    if !blocking {
        // worker: the status request itself holds a thread (event answers it inline).
        assert!(page.contains("<td>http/1.1</td>"), "{page}");
    }
    std::fs::write(&go, "").unwrap();
    // The stream's answer arrives.
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let body = if blocking {
        &b"waited"[..]
    } else {
        &b"alpha"[..]
    };
    while !got.windows(body.len()).any(|w| w == body) {
        use std::io::Read;
        match conn.read(&mut buf) {
            Ok(n) if n > 0 => got.extend_from_slice(&buf[..n]),
            _ => panic!("no response body on the h2 connection: {got:?}"),
        }
    }
}

#[test]
fn worker_scoreboard_shows_idle_h2_session() {
    scoreboard_shows_h2_sessions(WORKER, false);
}

#[test]
fn event_scoreboard_shows_busy_h2_session() {
    scoreboard_shows_h2_sessions(EVENT, true);
}
