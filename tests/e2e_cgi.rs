//! End-to-end tests of mod_cgi (issue #7) under every MPM and `-X`: the RFC 3875
//! environment and a chunked body echoed, ExecCGI rules, streaming (the first byte before
//! the script ends), local and client redirects, failures logged with the reason, nph-
//! scripts, and scripts killed with the client or the server.
//!
//! Reverse proxy, nginx and PHP-FPM: tests/e2e_dynamic.rs.

mod common;
#[path = "support/dynamic.rs"]
mod dynamic_support;

use dynamic_support::*;

fn env_script() -> &'static str {
    "#!/bin/sh\necho 'Content-Type: text/plain'\necho\nenv | sort\necho '--body--'\ncat\n"
}

// ---------------------------------------------------------------------------------------
// CGI

fn cgi_env_and_body(mpm: Mpm) {
    let site = Site::new();
    script(&site.p("cgi-bin/env.cgi"), env_script());
    let conf = format!("ScriptAlias /cgi-bin/ \"{}/\"\n", site.s("cgi-bin"));
    let s = start(mpm, &conf);
    let body = "hello=world";
    let r = s.request(&format!(
        "POST /cgi-bin/env.cgi/extra/path?a=1&b=2 HTTP/1.1\r\nHost: localhost\r\nX-Custom-Header: v1\r\nX-Custom-Header: v2\r\nProxy: http://evil/\r\nAuthorization: Basic c2VjcmV0\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("text/plain"));
    let t = r.text();
    let (env, echoed) = t.split_once("--body--\n").expect("body marker");
    assert_eq!(echoed, body);
    let has = |line: &str| env.lines().any(|l| l == line);
    for want in [
        "GATEWAY_INTERFACE=CGI/1.1".to_string(),
        "REQUEST_METHOD=POST".into(),
        "QUERY_STRING=a=1&b=2".into(),
        "SCRIPT_NAME=/cgi-bin/env.cgi".into(),
        "PATH_INFO=/extra/path".into(),
        format!("SCRIPT_FILENAME={}", site.s("cgi-bin/env.cgi")),
        "REQUEST_URI=/cgi-bin/env.cgi/extra/path?a=1&b=2".into(),
        "CONTENT_LENGTH=11".into(),
        "CONTENT_TYPE=application/x-www-form-urlencoded".into(),
        "HTTP_X_CUSTOM_HEADER=v1, v2".into(),
        "HTTP_HOST=localhost".into(),
        "REMOTE_ADDR=127.0.0.1".into(),
        format!("SERVER_PORT={}", s.port),
        "SERVER_ADDR=127.0.0.1".into(),
        "SERVER_NAME=localhost".into(),
        "SERVER_PROTOCOL=HTTP/1.1".into(),
        "REQUEST_SCHEME=http".into(),
        "CONTEXT_PREFIX=/cgi-bin/".into(),
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
    ] {
        assert!(has(&want), "missing {want} in:\n{env}");
    }
    for absent in [
        "HTTP_PROXY=",
        "HTTP_AUTHORIZATION=",
        "HTTPS=",
        "CARGO",
        "HOME=",
    ] {
        assert!(
            !env.lines().any(|l| l.starts_with(absent)),
            "{absent} leaked:\n{env}"
        );
    }
    assert!(env.lines().any(|l| l.starts_with("REMOTE_PORT=")));
    assert!(env.lines().any(|l| l.starts_with("SERVER_SOFTWARE=rhttpd")));

    // A chunked upload: streamed to stdin, no CONTENT_LENGTH (as mod_cgi). 2 MiB so the
    // script's output (it echoes while reading) overtakes its input.
    let big: String = (0..2 * 1024 * 1024)
        .map(|i| (b'a' + (i % 26) as u8) as char)
        .collect();
    let mut req = String::from(
        "POST /cgi-bin/env.cgi HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
    );
    for part in big.as_bytes().chunks(100_000) {
        req.push_str(&format!(
            "{:x}\r\n{}\r\n",
            part.len(),
            std::str::from_utf8(part).unwrap()
        ));
    }
    req.push_str("0\r\n\r\n");
    let r = s.request(&req);
    assert_eq!(r.status, 200);
    let t = r.text();
    let (env, echoed) = t.split_once("--body--\n").unwrap();
    assert!(!env.contains("CONTENT_LENGTH="), "{env}");
    assert_eq!(echoed.len(), big.len());
    assert!(echoed == big, "echoed body differs");
}

fn cgi_exec_rules(mpm: Mpm) {
    let site = Site::new();
    let hello =
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nhello from %s\\n' \"$SCRIPT_NAME\"\n";
    script(&site.p("htdocs/no/x.cgi"), hello);
    script(&site.p("htdocs/yes/x.cgi"), hello);
    script(&site.p("htdocs/sh/run"), hello);
    let conf = format!(
        "DocumentRoot \"{d}\"\nAddHandler cgi-script .cgi\n<Directory \"{d}/yes\">\nOptions +ExecCGI\n</Directory>\n<Directory \"{d}/sh\">\nOptions ExecCGI\nSetHandler cgi-script\n</Directory>\n",
        d = site.s("htdocs")
    );
    let s = start(mpm, &conf);
    let r = s.get("/no/x.cgi");
    assert_eq!(r.status, 403);
    let log = s.wait_log("error_log", "AH01212");
    assert!(
        log.contains("AH01212: Options ExecCGI is off in this directory:")
            && log.contains("no/x.cgi"),
        "{log}"
    );
    let r = s.get("/yes/x.cgi");
    assert_eq!(
        (r.status, r.text()),
        (200, "hello from /yes/x.cgi\n".into())
    );
    let r = s.get("/sh/run");
    assert_eq!((r.status, r.text()), (200, "hello from /sh/run\n".into()));
}

fn cgi_streams(mpm: Mpm) {
    let site = Site::new();
    script(
        &site.p("cgi-bin/slow.cgi"),
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nfirst\\n'\nsleep 2\nprintf 'second\\n'\n",
    );
    let conf = format!("ScriptAlias /cgi-bin/ \"{}/\"\n", site.s("cgi-bin"));
    let s = start(mpm, &conf);
    let mut c = s.connect();
    let t0 = Instant::now();
    c.write_all(b"GET /cgi-bin/slow.cgi HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    let mut first_at = None;
    let mut buf = [0u8; 4096];
    loop {
        match c.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                if first_at.is_none() && String::from_utf8_lossy(&got).contains("first") {
                    first_at = Some(t0.elapsed());
                }
            }
        }
    }
    let end = t0.elapsed();
    let r = parse_response(&got).expect("response");
    assert_eq!(r.text(), "first\nsecond\n");
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    let first_at = first_at.expect("first line seen");
    assert!(
        first_at + Duration::from_millis(1500) <= end,
        "first byte at {first_at:?}, end at {end:?}: the output was not streamed"
    );
}

fn cgi_redirects(mpm: Mpm) {
    let site = Site::new();
    script(
        &site.p("cgi-bin/local.cgi"),
        "#!/bin/sh\nprintf 'Location: /target.txt\\n\\n'\n",
    );
    script(
        &site.p("cgi-bin/abs.cgi"),
        "#!/bin/sh\nprintf 'Location: http://example.org/elsewhere\\nSet-Cookie: a=b\\n\\n'\n",
    );
    script(
        &site.p("cgi-bin/status.cgi"),
        "#!/bin/sh\nprintf 'Status: 404 Nope\\nContent-Type: text/plain\\n\\nscript says 404\\n'\n",
    );
    std::fs::write(site.p("htdocs/target.txt"), "the target\n").unwrap();
    let conf = format!(
        "DocumentRoot \"{}\"\nScriptAlias /cgi-bin/ \"{}/\"\n",
        site.s("htdocs"),
        site.s("cgi-bin")
    );
    let s = start(mpm, &conf);
    let r = s.get("/cgi-bin/local.cgi");
    assert_eq!((r.status, r.text()), (200, "the target\n".into()));
    let r = s.get("/cgi-bin/abs.cgi");
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some("http://example.org/elsewhere"));
    assert_eq!(r.header("set-cookie"), Some("a=b"));
    let r = s.get("/cgi-bin/status.cgi");
    assert_eq!((r.status, r.text()), (404, "script says 404\n".into()));
}

fn cgi_failures(mpm: Mpm) {
    let site = Site::new();
    script(
        &site.p("cgi-bin/crash.cgi"),
        "#!/bin/sh\necho 'boom: something broke' >&2\nexit 3\n",
    );
    script(
        &site.p("cgi-bin/bad.cgi"),
        "#!/bin/sh\nprintf 'this is not a header\\n\\n'\n",
    );
    script(&site.p("cgi-bin/hang.cgi"), "#!/bin/sh\nexec sleep 30\n");
    script(
        &site.p("cgi-bin/nph-raw.cgi"),
        "#!/bin/sh\nprintf 'HTTP/1.1 299 Custom\\r\\nContent-Type: text/plain\\r\\nX-Nph: yes\\r\\n\\r\\nnph body\\n'\n",
    );
    let conf = format!(
        "Timeout 2\nScriptAlias /cgi-bin/ \"{}/\"\n",
        site.s("cgi-bin")
    );
    let s = start(mpm, &conf);
    let r = s.get("/cgi-bin/crash.cgi");
    assert_eq!(r.status, 500);
    let log = s.wait_log("error_log", "exited with status 3");
    assert!(
        log.contains("End of script output before headers: crash.cgi"),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "AH01215: stderr from {}: boom: something broke",
            site.s("cgi-bin/crash.cgi")
        )),
        "{log}"
    );
    assert!(log.contains("exited with status 3"), "{log}");

    let r = s.get("/cgi-bin/bad.cgi");
    assert_eq!(r.status, 500);
    let log = s.wait_log("error_log", "malformed header from script");
    assert!(log.contains("Bad header: this is not a header"), "{log}");

    let r = s.get("/cgi-bin/nph-raw.cgi");
    assert_eq!((r.status, r.text()), (299, "nph body\n".into()));
    assert_eq!(r.header("x-nph"), Some("yes"));

    let t0 = Instant::now();
    let r = s.get("/cgi-bin/hang.cgi");
    assert_eq!(r.status, 504);
    assert!(t0.elapsed() < Duration::from_secs(20));
    let log = s.wait_log("error_log", "AH01220");
    assert!(
        log.contains("AH01220: Timeout waiting for output from CGI script"),
        "{log}"
    );
}

fn pid_alive(pid: i32) -> bool {
    // A zombie still has a /proc entry; look at its state.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => !s
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

fn read_pid(path: &Path) -> i32 {
    let mut pid = 0;
    assert!(
        wait_until(Duration::from_secs(10), || {
            pid = std::fs::read_to_string(path)
                .ok()
                .and_then(|t| t.trim().parse().ok())
                .unwrap_or(0);
            pid > 0
        }),
        "script did not start"
    );
    pid
}

fn cgi_killed_with_client_and_server(mpm: Mpm) {
    let site = Site::new();
    let ticker_pid = site.p("ticker.pid");
    let hung_pid = site.p("hung.pid");
    script(
        &site.p("cgi-bin/ticker.cgi"),
        &format!(
            "#!/bin/sh\necho $$ > {}\nprintf 'Content-Type: text/plain\\n\\n'\nwhile true; do echo tick; sleep 0.1; done\n",
            ticker_pid.display()
        ),
    );
    script(
        &site.p("cgi-bin/hung.cgi"),
        &format!(
            "#!/bin/sh\necho $$ > {}\nexec sleep 300\n",
            hung_pid.display()
        ),
    );
    let conf = format!("ScriptAlias /cgi-bin/ \"{}/\"\n", site.s("cgi-bin"));
    let mut s = start(mpm, &conf);

    // The client goes away: the script is killed.
    let mut c = s.connect();
    c.write_all(b"GET /cgi-bin/ticker.cgi HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = c.read(&mut buf).unwrap();
    assert!(n > 0);
    let pid = read_pid(&ticker_pid);
    assert!(pid_alive(pid));
    drop(c);
    assert!(
        wait_until(Duration::from_secs(15), || !pid_alive(pid)),
        "CGI process {pid} survived its client"
    );

    // A hung script does not survive the server.
    let mut c = s.connect();
    c.write_all(b"GET /cgi-bin/hung.cgi HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let pid = read_pid(&hung_pid);
    assert!(pid_alive(pid));
    s.stop();
    let gone = wait_until(Duration::from_secs(15), || !pid_alive(pid));
    if !gone {
        let _ = command("kill").arg("-9").arg(pid.to_string()).status();
    }
    assert!(gone, "CGI process {pid} survived the server");
}

#[test]
fn cgi_env_and_body_prefork() {
    cgi_env_and_body(PREFORK);
}

#[test]
fn cgi_env_and_body_one_process() {
    cgi_env_and_body(ONE_PROCESS);
}

#[test]
fn cgi_exec_rules_prefork() {
    cgi_exec_rules(PREFORK);
}

#[test]
fn cgi_exec_rules_one_process() {
    cgi_exec_rules(ONE_PROCESS);
}

#[test]
fn cgi_streams_prefork() {
    cgi_streams(PREFORK);
}

#[test]
fn cgi_streams_one_process() {
    cgi_streams(ONE_PROCESS);
}

#[test]
fn cgi_redirects_prefork() {
    cgi_redirects(PREFORK);
}

#[test]
fn cgi_redirects_one_process() {
    cgi_redirects(ONE_PROCESS);
}

#[test]
fn cgi_failures_prefork() {
    cgi_failures(PREFORK);
}

#[test]
fn cgi_failures_one_process() {
    cgi_failures(ONE_PROCESS);
}

#[test]
fn cgi_killed_prefork() {
    cgi_killed_with_client_and_server(PREFORK);
}

#[test]
fn cgi_killed_one_process() {
    cgi_killed_with_client_and_server(ONE_PROCESS);
}

#[test]
fn cgi_env_and_body_worker() {
    cgi_env_and_body(WORKER);
}

#[test]
fn cgi_env_and_body_event() {
    cgi_env_and_body(EVENT);
}

#[test]
fn cgi_exec_rules_worker() {
    cgi_exec_rules(WORKER);
}

#[test]
fn cgi_exec_rules_event() {
    cgi_exec_rules(EVENT);
}

#[test]
fn cgi_streams_worker() {
    cgi_streams(WORKER);
}

#[test]
fn cgi_streams_event() {
    cgi_streams(EVENT);
}

#[test]
fn cgi_redirects_worker() {
    cgi_redirects(WORKER);
}

#[test]
fn cgi_redirects_event() {
    cgi_redirects(EVENT);
}

#[test]
fn cgi_failures_worker() {
    cgi_failures(WORKER);
}

#[test]
fn cgi_failures_event() {
    cgi_failures(EVENT);
}

#[test]
fn cgi_killed_worker() {
    cgi_killed_with_client_and_server(WORKER);
}

#[test]
fn cgi_killed_event() {
    cgi_killed_with_client_and_server(EVENT);
}
