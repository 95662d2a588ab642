//! End-to-end tests of the error log and access logs: Apache 2.4's line formats, LogLevel
//! filtering (per module too), LogFormat/CustomLog with the mod_logio fields, append
//! mode and piped logs.

mod common;
#[path = "support/config.rs"]
mod config_support;

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use common::*;
use config_support::{BASE, Root, assert_ok, assert_syntax_error, stderr};
use regex::Regex;

const ERROR_LINE: &str = r"^\[(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{2} \d{2}:\d{2}:\d{2}\.\d{6} \d{4}\] \[[a-z_]+:(emerg|alert|crit|error|warn|notice|info|debug|trace[1-8])\] \[pid (\d+)\] (\[client (127\.0\.0\.1):(\d+)\] )?AH\d{5}: .+$";

/// Apache's `%t`: `[22/Nov/2026:16:52:41 +0100]`.
const CLF_TIME: &str = r"\[\d{2}/(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\]";

/// Send `req` on a fresh connection; returns the response and the client port used.
fn request_from(s: &Server, req: &str) -> (Resp, u16) {
    let mut c = s.connect();
    let port = c.local_addr().unwrap().port();
    c.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    let _ = std::io::Read::read_to_end(&mut c, &mut raw);
    (parse_response(&raw).expect("response"), port)
}

fn get_close(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
}

#[test]
fn error_log_lines_match_apache_format() {
    let s = Server::start("<Directory htdocs/denied>\n  Require all denied\n</Directory>\n");
    s.write("htdocs/denied/x", "x");
    let (r, port404) = request_from(&s, &get_close("/missing.html"));
    assert_eq!(r.status, 404);
    let (r, port403) = request_from(&s, &get_close("/denied/x"));
    assert_eq!(r.status, 403);
    let log = s.wait_log("error_log", "AH01630");
    let re = Regex::new(ERROR_LINE).unwrap();
    let pid = s.child.id().to_string();
    let mut seen = 0;
    for line in log.lines() {
        let caps = re
            .captures(line)
            .unwrap_or_else(|| panic!("not Apache's error-log format: {line:?}\n{log}"));
        assert_eq!(&caps[4], pid, "pid of the serving process: {line}");
        seen += 1;
    }
    assert!(seen >= 3, "{log}");
    let missing = s.path("htdocs/missing.html");
    let want404 = format!(
        "] [core:info] [pid {pid}] [client 127.0.0.1:{port404}] AH00128: File does not exist: {}",
        missing.display()
    );
    assert!(
        log.lines().any(|l| l.ends_with(&want404)),
        "want ...{want404}\n{log}"
    );
    let want403 = format!(
        "] [authz_core:error] [pid {pid}] [client 127.0.0.1:{port403}] AH01630: client denied by server configuration: {}",
        s.path("htdocs/denied/x").display()
    );
    assert!(
        log.lines().any(|l| l.ends_with(&want403)),
        "want ...{want403}\n{log}"
    );
    // The startup notices, without a client.
    assert!(
        log.lines().any(|l| l.contains(":notice] [pid ")
            && l.contains("AH00163: rhttpd/")
            && l.ends_with("configured -- resuming normal operations")),
        "{log}"
    );
    assert!(log.contains("AH00094: Command line: '"), "{log}");
}

#[test]
fn log_level_filters_messages() {
    let s = Server::start(
        "LogLevel warn\n<Directory htdocs/denied>\n  Require all denied\n</Directory>\n",
    );
    s.write("htdocs/denied/x", "x");
    assert_eq!(s.get("/missing").status, 404);
    assert_eq!(s.get("/denied/x").status, 403);
    let log = s.wait_log("error_log", "AH01630");
    assert!(log.contains("[authz_core:error]"), "{log}");
    assert!(
        !log.contains("AH00128"),
        "info message at LogLevel warn: {log}"
    );
    assert!(!log.contains(":info]"), "{log}");
    // Notices are always written (startup), as in Apache.
    assert!(log.contains("AH00163"), "{log}");
}

#[test]
fn per_module_log_level() {
    // Global warn, core raised to info: the core info message appears.
    let s = Server::start("LogLevel warn core:info\n");
    assert_eq!(s.get("/missing").status, 404);
    let log = s.wait_log("error_log", "AH00128");
    assert!(log.contains("[core:info]"), "{log}");
    assert!(log.contains("AH00128: File does not exist:"), "{log}");

    // Global info, core lowered to warn and authz_core to crit: both are silenced.
    let s = Server::start(
        "LogLevel info core:warn authz_core:crit\n<Directory htdocs/denied>\n  Require all denied\n</Directory>\n",
    );
    s.write("htdocs/denied/x", "x");
    assert_eq!(s.get("/missing").status, 404);
    assert_eq!(s.get("/denied/x").status, 403);
    // A sentinel written after both requests: a TERM makes rhttpd log its shutdown.
    let mut s = s;
    let _ = command("kill")
        .args(["-TERM", &s.child.id().to_string()])
        .status();
    let log = s.wait_log("error_log", "AH00169");
    assert!(log.contains("AH00169"), "{log}");
    assert!(!log.contains("AH00128"), "{log}");
    assert!(!log.contains("AH01630"), "{log}");
    s.stop();

    // Bad levels and modules are configuration errors, with Apache's words.
    for (arg, msg) in [
        (
            "LogLevel loud",
            "Log level keyword must be one of emerg/alert/crit/error/warn/notice/info/debug/trace1/.../trace8",
        ),
        ("LogLevel warn foo:info", "Cannot find module foo"),
        (
            "LogLevel warn core:",
            "Module specifier 'core' must be followed by a log level keyword",
        ),
    ] {
        let o = run(&["-t", "-f", "/dev/null", "-C", arg]);
        assert_eq!(o.status.code(), Some(1));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(&format!(
                "AH00526: Syntax error on line 1 of -c/-C directives:\n{msg}\n"
            )),
            "{arg}: {err}"
        );
    }
}

#[test]
fn access_log_common_format() {
    let s = Server::start("");
    s.write("htdocs/a.txt", "hello");
    s.write("htdocs/empty.txt", "");
    assert_eq!(s.get("/a.txt").status, 200);
    assert_eq!(s.get("/empty.txt").status, 200);
    assert_eq!(s.get("/nope?x=1").status, 404);
    let log = s.wait_log("access_log", "/nope");
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 3, "{log}");
    let re = |tail: &str| Regex::new(&format!(r"^127\.0\.0\.1 - - {CLF_TIME} {tail}$")).unwrap();
    assert!(
        re(r#""GET /a\.txt HTTP/1\.1" 200 5"#).is_match(lines[0]),
        "{}",
        lines[0]
    );
    // %b is "-" for an empty body.
    assert!(
        re(r#""GET /empty\.txt HTTP/1\.1" 200 -"#).is_match(lines[1]),
        "{}",
        lines[1]
    );
    assert!(
        re(r#""GET /nope\?x=1 HTTP/1\.1" 404 \d+"#).is_match(lines[2]),
        "{}",
        lines[2]
    );
}

#[test]
fn access_log_combined_format() {
    let s = Server::start(
        "LogFormat \"%h %l %u %t \\\"%r\\\" %>s %b \\\"%{Referer}i\\\" \\\"%{User-agent}i\\\"\" combined\nCustomLog logs/combined_log combined\n",
    );
    s.write("htdocs/a.txt", "hello");
    s.request(
        "GET /a.txt HTTP/1.1\r\nHost: localhost\r\nReferer: http://ref.example/p\r\nUser-Agent: Test \"UA\"/1.0\r\nConnection: close\r\n\r\n",
    );
    let head = s.raw(b"HEAD /a.txt HTTP/1.0\r\n\r\n");
    assert!(head.starts_with(b"HTTP/1.1 200"), "{head:?}");
    let log = s.wait_log("combined_log", "HEAD");
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 2, "{log}");
    let re = Regex::new(&format!(
        r#"^127\.0\.0\.1 - - {CLF_TIME} "GET /a\.txt HTTP/1\.1" 200 5 "http://ref\.example/p" "Test \\"UA\\"/1\.0"$"#
    ))
    .unwrap();
    assert!(re.is_match(lines[0]), "{}", lines[0]);
    // No body for HEAD ("-"), no Referer/User-Agent ("-").
    let re = Regex::new(&format!(
        r#"^127\.0\.0\.1 - - {CLF_TIME} "HEAD /a\.txt HTTP/1\.0" 200 - "-" "-"$"#
    ))
    .unwrap();
    assert!(re.is_match(lines[1]), "{}", lines[1]);
    // The common log of the header still gets both requests too.
    let common = s.wait_log("access_log", "HEAD");
    assert_eq!(common.lines().count(), 2, "{common}");
}

/// Read one response (Content-Length framed) and return it with its raw bytes.
fn read_raw_response(c: &mut TcpStream) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let cl = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + cl {
                assert_eq!(buf.len(), end + 4 + cl, "no extra bytes expected");
                return buf;
            }
        }
        let n = match std::io::Read::read(c, &mut chunk) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            r => r.expect("read"),
        };
        assert!(n > 0, "connection closed early");
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[test]
fn logio_and_connection_fields() {
    let s = Server::start(
        "LogFormat \"%D|%T|%I|%O|%>s|%b|%{User-Agent}i|%v|%p|%k|%X\" io\nCustomLog logs/io_log io\n",
    );
    s.write("htdocs/k.txt", "0123456789");
    let mut c = s.connect();
    let mut sent = Vec::new();
    let mut received = Vec::new();
    for (i, ua) in ["UA/1", "UA/2", "UA/3"].iter().enumerate() {
        let close = if i == 2 { "Connection: close\r\n" } else { "" };
        let req = format!(
            "GET /k.txt HTTP/1.1\r\nHost: localhost:{}\r\nUser-Agent: {ua}\r\n{close}\r\n",
            s.port
        );
        c.write_all(req.as_bytes()).unwrap();
        sent.push(req.len());
        received.push(read_raw_response(&mut c).len());
    }
    let log = s.wait_log("io_log", "UA/3");
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 3, "{log}");
    for (i, line) in lines.iter().enumerate() {
        let f: Vec<&str> = line.split('|').collect();
        assert_eq!(f.len(), 11, "{line}");
        let micros: u64 = f[0].parse().expect("%D is a number");
        let secs: u64 = f[1].parse().expect("%T is a number");
        assert!(micros < 10_000_000 && secs < 10, "{line}");
        assert_eq!(
            secs,
            micros / 1_000_000,
            "%T is %D in whole seconds: {line}"
        );
        assert_eq!(f[2], sent[i].to_string(), "%I = request bytes: {line}");
        assert_eq!(f[3], received[i].to_string(), "%O = response bytes: {line}");
        assert_eq!(f[4], "200");
        assert_eq!(f[5], "10");
        assert_eq!(f[6], format!("UA/{}", i + 1));
        assert_eq!(f[7], "localhost");
        assert_eq!(f[8], s.port.to_string());
        assert_eq!(f[9], i.to_string(), "%k counts keep-alive requests: {line}");
        assert_eq!(f[10], if i < 2 { "+" } else { "-" }, "%X: {line}");
    }
}

#[test]
fn log_files_are_opened_for_appending() {
    let dir = tempfile::tempdir().unwrap();
    let err = dir.path().join("err.log");
    let acc = dir.path().join("acc.log");
    std::fs::write(&err, "old error line\n").unwrap();
    std::fs::write(&acc, "old access line\n").unwrap();
    let s = Server::start(&format!(
        "ErrorLog \"{}\"\nCustomLog \"{}\" common\n",
        err.display(),
        acc.display()
    ));
    s.write("htdocs/a.txt", "x");
    assert_eq!(s.get("/a.txt").status, 200);
    assert!(wait_until(Duration::from_secs(5), || {
        std::fs::read_to_string(&acc)
            .unwrap_or_default()
            .contains("GET /a.txt")
    }));
    let a = std::fs::read_to_string(&acc).unwrap();
    assert!(a.starts_with("old access line\n127.0.0.1 - - ["), "{a}");
    let e = std::fs::read_to_string(&err).unwrap();
    assert!(e.starts_with("old error line\n["), "{e}");
    assert!(e.contains("AH00163"), "{e}");
    // The header's own logs/access_log is still written too (two CustomLogs).
    assert!(
        s.wait_log("access_log", "GET /a.txt")
            .contains("GET /a.txt")
    );
}

#[test]
fn piped_access_and_error_logs() {
    if !have("cat") {
        eprintln!("note: no cat, piped logs not tested");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("piped.log");
    let eout = dir.path().join("piped_err.log");
    let s = Server::start(&format!(
        "CustomLog \"|$cat >> {}\" common\nErrorLog \"|$cat >> {}\"\n",
        out.display(),
        eout.display()
    ));
    s.write("htdocs/p.txt", "p");
    assert_eq!(s.get("/p.txt").status, 200);
    let ok = wait_until(Duration::from_secs(5), || {
        std::fs::read_to_string(&out)
            .unwrap_or_default()
            .contains("\"GET /p.txt HTTP/1.1\" 200 1")
    });
    assert!(ok, "piped log: {:?}", std::fs::read_to_string(&out));
    let line = std::fs::read_to_string(&out).unwrap();
    let re = Regex::new(&format!(
        r#"^127\.0\.0\.1 - - {CLF_TIME} "GET /p\.txt HTTP/1\.1" 200 1\n$"#
    ))
    .unwrap();
    assert!(re.is_match(&line), "{line}");
    let ok = wait_until(Duration::from_secs(5), || {
        std::fs::read_to_string(&eout)
            .unwrap_or_default()
            .contains("AH00163")
    });
    assert!(ok, "piped error log: {:?}", std::fs::read_to_string(&eout));
}

/// Fails today (src/conn.rs, owned by the HTTP engineer): `%D`/`%T` of a request on a
/// kept-alive connection include the idle time spent waiting for it, because the start
/// time is taken before the keep-alive wait. Apache 2.4.71 measures from the moment the
/// request line arrives (observed: 143-188 µs for requests sent 100 ms apart).
#[test]
fn request_duration_excludes_the_keep_alive_wait() {
    let s = Server::start("LogFormat \"%D %k\" dur\nCustomLog logs/dur_log dur\n");
    s.write("htdocs/k.txt", "k");
    let mut c = s.connect();
    c.write_all(b"GET /k.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    read_raw_response(&mut c);
    std::thread::sleep(Duration::from_millis(1200));
    c.write_all(b"GET /k.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    read_raw_response(&mut c);
    let log = s.wait_log("dur_log", " 1\n");
    let second = log
        .lines()
        .find(|l| l.ends_with(" 1"))
        .expect("2nd request");
    let micros: u64 = second.split(' ').next().unwrap().parse().unwrap();
    assert!(
        micros < 1_000_000,
        "%D of the 2nd request counts the 1.2 s keep-alive wait: {second}"
    );
}

#[test]
fn conditional_access_logs_env_and_expr() {
    let s = Server::start(concat!(
        "LoadModule setenvif_module modules/mod_setenvif.so\n",
        "SetEnvIf Request_URI \"\\.png$\" image\n",
        "CustomLog logs/images.log \"%U\" env=image\n",
        "CustomLog logs/others.log \"%U\" env=!image\n",
        "CustomLog logs/errors.log \"%>s %U\" \"expr=%{REQUEST_STATUS} >= 400\"\n",
        "CustomLog logs/query.log \"%U\" \"expr=%{QUERY_STRING} =~ /debug/ && -f %{REQUEST_FILENAME}\"\n",
    ));
    s.write("htdocs/a.png", "png");
    s.write("htdocs/b.txt", "txt");
    assert_eq!(s.get("/a.png").status, 200);
    assert_eq!(s.get("/b.txt?debug=1").status, 200);
    assert_eq!(s.get("/missing.png?debug=1").status, 404);
    assert_eq!(s.get("/last").status, 404);
    s.wait_log("access_log", "/last");
    s.wait_log("others.log", "/last");
    s.wait_log("errors.log", "/last");
    assert_eq!(s.log("images.log"), "/a.png\n/missing.png\n");
    assert_eq!(s.log("others.log"), "/b.txt\n/last\n");
    assert_eq!(s.log("errors.log"), "404 /missing.png\n404 /last\n");
    assert_eq!(s.log("query.log"), "/b.txt\n");
}

#[test]
fn conditional_access_log_errors() {
    let r = Root::new();
    for (clause, reason) in [
        ("bogus=1", "error in condition clause"),
        ("env=", "missing environment variable name"),
        ("env=!", "missing environment variable name"),
        ("expr=", "missing condition"),
        (
            "\"expr=%{REQUEST_STATUS} >\"",
            "Cannot parse expression: syntax error",
        ),
    ] {
        let o = r.check(&format!("{BASE}CustomLog /dev/null common {clause}\n"), &[]);
        assert_syntax_error(&o, &r.path("conf/httpd.conf"), 3, reason);
    }
}

#[test]
fn per_virtual_host_error_log_and_log_level() {
    let vhost = |name: &str, extra: &str| {
        format!("<VirtualHost 127.0.0.1:*>\n  ServerName {name}\n{extra}</VirtualHost>\n")
    };
    let s = Server::start(&format!(
        "{}{}{}{}",
        vhost("localhost", ""),
        vhost("own.test", "  ErrorLog logs/own_error.log\n"),
        vhost(
            "shared.test",
            "  ErrorLog logs/own_error.log\n  LogLevel warn\n"
        ),
        vhost("quiet.test", "  LogLevel warn\n"),
    ));
    let get = |host: &str, path: &str| {
        s.request(&format!(
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        ))
        .status
    };
    // AH00128 (file does not exist) is an info message; the base config logs at info.
    assert_eq!(get("own.test", "/missing-own"), 404);
    assert_eq!(get("shared.test", "/missing-shared"), 404);
    assert_eq!(get("quiet.test", "/missing-quiet"), 404);
    assert_eq!(get("localhost", "/missing-main"), 404);
    let own = s.wait_log("own_error.log", "missing-own");
    assert!(
        own.contains("AH00128") && own.contains("[core:info]"),
        "{own}"
    );
    let main = s.wait_log("error_log", "missing-main");
    for (log, absent) in [
        (&main, "missing-own"),
        (&main, "missing-shared"),
        (&main, "missing-quiet"),
        (&own, "missing-shared"),
        (&own, "missing-main"),
    ] {
        assert!(!log.contains(absent), "{absent} logged:\n{log}");
    }
}

#[test]
fn error_log_format_is_honoured() {
    let s = Server::start(
        "ErrorLogFormat \"[%{cu}t] %l %m %-a %M% ,\\ ref=%{Referer}i% \\ ua=%{User-Agent}i\"\n",
    );
    let r = s.request(
        "GET /missing-fmt HTTP/1.1\r\nHost: localhost\r\nReferer: http://ref.example/\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(r.status, 404);
    let log = s.wait_log("error_log", "missing-fmt");
    let line = log.lines().find(|l| l.contains("missing-fmt")).unwrap();
    let re = Regex::new(
        r"^\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}\] info core 127\.0\.0\.1:\d+ AH00128: File does not exist: .*/missing-fmt$",
    )
    .unwrap();
    // (This message carries no referer, so the `ref=` field is left out, and the
    // unavailable `%{User-Agent}i` drops its field too.)
    assert!(re.is_match(line), "{line}");
    // A line without a client: `%-a` prints `-`.
    assert!(
        log.lines()
            .any(|l| l.contains(" notice ") && l.contains(" - ")),
        "{log}"
    );
}

#[test]
fn error_log_format_errors_and_warnings() {
    let r = Root::new();
    let o = r.check(&format!("{BASE}ErrorLogFormat \"%Z %M\"\n"), &[]);
    let conf = r.path("conf/httpd.conf");
    assert_syntax_error(&o, &conf, 3, "Unrecognized error log format directive %Z");
    let o = r.check(
        &format!("{BASE}ErrorLogFormat \"%{{User-Agent}}i %M\"\n"),
        &[],
    );
    assert_ok(&o);
    assert!(stderr(&o).contains("%{User-Agent}i always log nothing"));
    let o = r.check(&format!("{BASE}ErrorLogFormat connection \"%M\"\n"), &[]);
    assert_ok(&o);
    assert!(stderr(&o).contains("no per-connection lines"));
}
