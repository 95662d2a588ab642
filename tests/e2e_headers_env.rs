//! End-to-end tests of mod_expires, mod_env and mod_headers (issue #15) against the real
//! binary: Expires/Cache-Control by type and base, SetEnv/PassEnv/UnsetEnv reaching CGI
//! scripts and `%{VAR}e` in the access log, every Header/RequestHeader action over
//! HTTP, `Header always` on a 404, and the configuration errors (AH00526, exit 1).

mod common;
#[path = "support/config.rs"]
mod config_support;
#[path = "support/dynamic.rs"]
mod dynamic_support;

use config_support::{BASE, Root, assert_syntax_error, stderr};
use dynamic_support::{EVENT, Mpm, ONE_PROCESS, Site, script, start};
use std::time::{Duration, SystemTime};

use common::{Resp, Server};

const MODS: &str =
    "LoadModule expires_module x\nLoadModule env_module x\nLoadModule headers_module x\n";

fn get(s: &Server, path: &str, extra: &str) -> Resp {
    s.request(&format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\n{extra}Connection: close\r\n\r\n"
    ))
}

fn date(r: &Resp, name: &str) -> SystemTime {
    let v = r
        .header(name)
        .unwrap_or_else(|| panic!("no {name}: {:?}", r.header_map()));
    httpdate::parse_http_date(v).unwrap_or_else(|_| panic!("bad {name}: {v}"))
}

fn secs_between(a: SystemTime, b: SystemTime) -> i64 {
    match b.duration_since(a) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

// ---------------------------------------------------------------------------------------
// mod_expires

fn expires(mpm: Mpm) {
    let site = Site::new();
    std::fs::write(site.p("htdocs/a.html"), "<p>a</p>").unwrap();
    std::fs::write(site.p("htdocs/b.txt"), "b").unwrap();
    std::fs::write(site.p("htdocs/c.png"), "png").unwrap();
    std::fs::create_dir_all(site.p("htdocs/mod")).unwrap();
    std::fs::write(site.p("htdocs/mod/m.txt"), "m").unwrap();
    std::fs::create_dir_all(site.p("htdocs/off")).unwrap();
    std::fs::write(site.p("htdocs/off/o.txt"), "o").unwrap();
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    let f = std::fs::File::options()
        .write(true)
        .open(site.p("htdocs/mod/m.txt"))
        .unwrap();
    f.set_modified(hour_ago).unwrap();
    script(
        &site.p("cgi-bin/cc.cgi"),
        "#!/bin/sh\necho 'Content-Type: text/plain'\necho 'Cache-Control: public'\necho\necho hi\n",
    );
    script(
        &site.p("cgi-bin/own.cgi"),
        "#!/bin/sh\necho 'Content-Type: text/plain'\necho 'Expires: 0'\necho\necho hi\n",
    );
    let conf = format!(
        "{MODS}ScriptAlias /cgi-bin/ \"{cgi}/\"\nDocumentRoot \"{docs}\"\n\
         ExpiresActive On\n\
         ExpiresDefault A60\n\
         ExpiresByType text/html \"access plus 1 month 2 days\"\n\
         ExpiresByType image/* M604800\n\
         <Directory \"{docs}/mod\">\n  ExpiresDefault \"modification plus 2 hours\"\n</Directory>\n\
         <Directory \"{docs}/off\">\n  ExpiresActive Off\n</Directory>\n",
        cgi = site.s("cgi-bin"),
        docs = site.s("htdocs"),
    );
    let s = start(mpm, &conf);

    let r = get(&s, "/a.html", "");
    assert_eq!(r.status, 200);
    let month2 = 30 * 86400 + 2 * 86400;
    assert_eq!(
        r.header("cache-control"),
        Some(format!("max-age={month2}").as_str())
    );
    let d = secs_between(date(&r, "date"), date(&r, "expires"));
    assert!((month2 - 1..=month2 + 1).contains(&d), "{d}");

    // ExpiresDefault for a type without its own rule.
    let r = get(&s, "/b.txt", "");
    assert_eq!(r.header("cache-control"), Some("max-age=60"));

    // The image/* wildcard with a modification base: mtime + 1 week, from now.
    let r = get(&s, "/c.png", "");
    let lm = date(&r, "last-modified");
    assert_eq!(secs_between(lm, date(&r, "expires")), 604_800);

    // modification plus 2 hours of a file modified an hour ago: about an hour left.
    let r = get(&s, "/mod/m.txt", "");
    let cc = r.header("cache-control").unwrap().to_string();
    let left: i64 = cc.strip_prefix("max-age=").unwrap().parse().unwrap();
    assert!((3595..=3601).contains(&left), "{cc}");

    // A 304 gets them too.
    let etag = get(&s, "/b.txt", "").header("etag").unwrap().to_string();
    let r = get(&s, "/b.txt", &format!("If-None-Match: {etag}\r\n"));
    assert_eq!(r.status, 304);
    assert_eq!(r.header("cache-control"), Some("max-age=60"));
    assert!(r.header("expires").is_some());

    // Errors and ExpiresActive Off: none.
    let r = get(&s, "/missing.txt", "");
    assert_eq!(r.status, 404);
    assert!(r.header("expires").is_none() && r.header("cache-control").is_none());
    let r = get(&s, "/off/o.txt", "");
    assert_eq!(r.status, 200);
    assert!(r.header("expires").is_none());

    // max-age merges into the script's Cache-Control; the script's own Expires wins.
    let r = get(&s, "/cgi-bin/cc.cgi", "");
    assert_eq!(r.header("cache-control"), Some("public, max-age=60"));
    let r = get(&s, "/cgi-bin/own.cgi", "");
    assert_eq!(r.header("expires"), Some("0"));
    assert!(r.header("cache-control").is_none());
}

#[test]
fn expires_one_process() {
    expires(ONE_PROCESS);
}

#[test]
fn expires_event() {
    expires(EVENT);
}

// ---------------------------------------------------------------------------------------
// mod_env

#[test]
fn setenv_passenv_unsetenv_reach_cgi_and_log() {
    let site = Site::new();
    let env = "#!/bin/sh\necho 'Content-Type: text/plain'\necho\nenv | sort\n";
    script(&site.p("cgi-bin/env.cgi"), env);
    script(&site.p("cgi-bin/unset.cgi"), env);
    let conf = format!(
        "{MODS}ScriptAlias /cgi-bin/ \"{cgi}/\"\n\
         SetEnv FOO \"bar baz\"\n\
         SetEnv EMPTY\n\
         SetEnv REMOTE_ADDR spoofed\n\
         SetEnv GONE 1\n\
         UnsetEnv GONE\n\
         PassEnv PATH\n\
         LogFormat \"%{{FOO}}e|%{{DIRVAR}}e|%{{GONE}}e\" envlog\n\
         CustomLog logs/env_log envlog\n\
         <Directory \"{cgi}\">\n  SetEnv DIRVAR dir\n</Directory>\n\
         <Files unset.cgi>\n  UnsetEnv FOO\n  SetEnv FOO2 two\n</Files>\n",
        cgi = site.s("cgi-bin"),
    );
    let s = start(ONE_PROCESS, &conf);
    let r = get(&s, "/cgi-bin/env.cgi", "");
    assert_eq!(r.status, 200, "{}", r.text());
    let t = r.text();
    let has = |l: &str| t.lines().any(|x| x == l);
    assert!(has("FOO=bar baz"), "{t}");
    assert!(has("EMPTY="), "{t}");
    assert!(has("DIRVAR=dir"), "{t}");
    assert!(
        has("REMOTE_ADDR=127.0.0.1"),
        "the server's own variable wins: {t}"
    );
    assert!(!t.contains("GONE="), "{t}");
    let path = std::env::var("PATH").unwrap();
    assert!(
        has(&format!("PATH={path}")),
        "PassEnv PATH replaces the fixed PATH: {t}"
    );

    let r = get(&s, "/cgi-bin/unset.cgi", "");
    let t = r.text();
    assert!(!t.contains("FOO=bar"), "{t}");
    assert!(t.lines().any(|l| l == "FOO2=two"), "{t}");
    assert!(t.lines().any(|l| l == "DIRVAR=dir"), "{t}");

    let log = s.wait_log("env_log", "-|dir|-");
    assert!(log.lines().any(|l| l == "bar baz|dir|-"), "{log}");
}

// ---------------------------------------------------------------------------------------
// mod_headers

#[test]
fn header_and_request_header_actions() {
    let site = Site::new();
    std::fs::write(site.p("htdocs/a.txt"), "a").unwrap();
    std::fs::create_dir_all(site.p("htdocs/sub")).unwrap();
    std::fs::write(site.p("htdocs/sub/s.txt"), "s").unwrap();
    script(
        &site.p("cgi-bin/env.cgi"),
        "#!/bin/sh\necho 'Content-Type: text/plain'\necho 'X-Cgi: foofoo'\necho 'X-Cgi2: foofoo'\necho 'X-Keep: script'\necho\nenv | sort\n",
    );
    let conf = format!(
        "{MODS}ScriptAlias /cgi-bin/ \"{cgi}/\"\nDocumentRoot \"{docs}\"\n\
         SetEnv FOO bar\n\
         ExpiresActive On\nExpiresDefault A120\n\
         Header set X-Server 1\n\
         Header always set X-Always yes\n\
         Header append Cache-Control public\n\
         Header merge Vary Accept-Encoding\n\
         Header merge Vary Accept-Encoding\n\
         Header set X-Env \"%{{FOO}}e and %{{NOPE}}e\" env=FOO\n\
         Header set X-Not 1 env=!FOO\n\
         Header set X-Time \"%t %D 100%%\"\n\
         Header echo ^X-Echo\n\
         Header set X-Early early early\n\
         Header set Content-Type early/loses early\n\
         Redirect /old /a.txt\n\
         RequestHeader set X-Injected hello\n\
         RequestHeader append X-Injected world\n\
         RequestHeader unset User-Agent\n\
         RequestHeader set X-From-Early e early\n\
         RequestHeader note X-Note-In innote\n\
         LogFormat \"%{{cgi}}n|%{{innote}}n\" notelog\n\
         CustomLog logs/note_log notelog\n\
         <Location /sub>\n  Header unset X-Server\n  Header add X-Sub a\n  Header add X-Sub b\n</Location>\n\
         <Directory \"{cgi}\">\n  Header edit X-Cgi ^foo bar\n  Header edit* X-Cgi2 foo bar\n  Header setifempty X-Keep mine\n  Header setifempty X-Fresh mine\n  Header note X-Keep cgi\n</Directory>\n",
        cgi = site.s("cgi-bin"),
        docs = site.s("htdocs"),
    );
    let s = start(ONE_PROCESS, &conf);

    let r = get(&s, "/a.txt", "X-Echo-Me: 1\r\nX-Other: 2\r\n");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-server"), Some("1"));
    assert_eq!(r.header("x-always"), Some("yes"));
    assert_eq!(r.header("cache-control"), Some("max-age=120, public"));
    assert_eq!(r.header("vary"), Some("Accept-Encoding"));
    assert_eq!(r.header("x-env"), Some("bar and (null)"));
    assert!(r.header("x-not").is_none());
    assert_eq!(r.header("x-echo-me"), Some("1"));
    assert!(r.header("x-other").is_none());
    assert_eq!(r.header("x-early"), Some("early"));
    // The handler's own header wins over an early one.
    assert_eq!(r.header("content-type"), Some("text/plain"));
    let t = r.header("x-time").unwrap();
    let p: Vec<&str> = t.split(' ').collect();
    assert!(
        p.len() == 3 && p[0].starts_with("t=") && p[1].starts_with("D="),
        "{t}"
    );
    assert!(
        p[0][2..].parse::<u64>().is_ok() && p[1][2..].parse::<u64>().is_ok() && p[2] == "100%",
        "{t}"
    );

    // A section's lines run after the server's.
    let r = get(&s, "/sub/s.txt", "");
    assert!(r.header("x-server").is_none());
    let subs: Vec<&str> = r
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("x-sub"))
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(subs, ["a", "b"]);

    // Header always on a 404; onsuccess lines are not applied to the error document.
    let r = get(&s, "/missing", "");
    assert_eq!(r.status, 404);
    assert_eq!(r.header("x-always"), Some("yes"));
    assert!(r.header("x-server").is_none());
    // So is a redirect.
    let r = get(&s, "/old", "");
    assert_eq!(r.status, 302);
    assert_eq!(r.header("x-always"), Some("yes"));
    assert!(r.header("x-server").is_none());

    // RequestHeader lines reach the script; edit, edit*, setifempty on its headers.
    let r = get(
        &s,
        "/cgi-bin/env.cgi",
        "User-Agent: curl/8\r\nX-Note-In: given\r\n",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let t = r.text();
    assert!(
        t.lines().any(|l| l == "HTTP_X_INJECTED=hello, world"),
        "{t}"
    );
    assert!(t.lines().any(|l| l == "HTTP_X_FROM_EARLY=e"), "{t}");
    assert!(!t.contains("HTTP_USER_AGENT"), "{t}");
    assert_eq!(r.header("x-cgi"), Some("barfoo"));
    assert_eq!(r.header("x-cgi2"), Some("barbar"));
    assert_eq!(r.header("x-keep"), Some("script"));
    assert_eq!(r.header("x-fresh"), Some("mine"));
    // Header note / RequestHeader note feed %{NAME}n in the access log.
    let log = s.wait_log("note_log", "script|given");
    assert!(log.lines().any(|l| l == "-|-"), "{log}");
}

// ---------------------------------------------------------------------------------------
// Configuration errors

#[test]
fn config_errors_name_file_and_line() {
    let r = Root::new();
    let f = r.path("conf/httpd.conf");
    let check = |body: &str| r.check(&format!("{BASE}{MODS}{body}"), &[]);
    // BASE is two lines, MODS three: the body starts on line 6.
    let o = check("Header set X-A v \"expr=%{NO_SUCH_VAR} == 'on'\"\n");
    assert_syntax_error(&o, &f, 6, "Can't parse envclause/expression");
    let o = check("\nHeader set X-A \"expr=%{REMOTE_ADDR\"\n");
    assert_syntax_error(&o, &f, 7, "Can't parse value expression");
    let o = check("Header frobnicate X-A v\n");
    assert_syntax_error(&o, &f, 6, "first argument must be 'add', 'set'");
    let o = check("Header set X-A \"%Q\"\n");
    assert_syntax_error(&o, &f, 6, "Unrecognized header format %Q");
    let o = check("<Location />\nHeader set X-A v early\n</Location>\n");
    assert_syntax_error(
        &o,
        &f,
        7,
        "'early' is allowed in server and virtual host context only",
    );
    let o = check("ExpiresDefault \"later plus 1 day\"\n");
    assert_syntax_error(
        &o,
        &f,
        6,
        "'ExpiresDefault later plus 1 day': bad expires code, unrecognised <base> 'later'",
    );
    let o = check("ExpiresByType html A60\n");
    assert_syntax_error(&o, &f, 6, "Invalid mimetype: should contain a slash");
    let o = check("ExpiresByType text/html \"access plus 1 fortnight\"\n");
    assert_syntax_error(
        &o,
        &f,
        6,
        "bad expires code, unrecognised <type>'fortnight'",
    );
    let o = check("SetEnv A B C\n");
    assert_syntax_error(&o, &f, 6, "SetEnv takes 1-2 arguments");
    // Without the LoadModule line the directives are unknown.
    let o = r.check(&format!("{BASE}Header set X v\n"), &[]);
    assert_syntax_error(&o, &f, 3, "Invalid command 'Header'");
    // An undefined PassEnv variable is a warning, as in Apache.
    let o = check("PassEnv RHTTPD_SURELY_UNDEFINED_VAR\n");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("AH01506: PassEnv variable RHTTPD_SURELY_UNDEFINED_VAR was undefined"),
        "{}",
        stderr(&o)
    );
}

// ---------------------------------------------------------------------------------------
// FastCGI: a minimal responder that answers with the parameters it was sent

/// Serve FastCGI requests on `listener` until the test ends: each answer is
/// `text/plain` with one `NAME=VALUE` line per parameter.
fn fcgi_params_responder(listener: std::net::TcpListener) {
    use std::io::{Read, Write};
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut c) = conn else { return };
            let _ = c.set_read_timeout(Some(Duration::from_secs(10)));
            let mut params = Vec::new();
            let mut id = [0u8; 2];
            loop {
                let mut h = [0u8; 8];
                if c.read_exact(&mut h).is_err() {
                    break;
                }
                let len = u16::from_be_bytes([h[4], h[5]]) as usize;
                let mut body = vec![0u8; len + h[6] as usize];
                if c.read_exact(&mut body).is_err() {
                    break;
                }
                body.truncate(len);
                id = [h[2], h[3]];
                match h[1] {
                    4 => params.extend_from_slice(&body),
                    5 if len == 0 => break,
                    _ => {}
                }
            }
            let mut out = b"Content-Type: text/plain\r\n\r\n".to_vec();
            let mut p = &params[..];
            let read_len = |p: &mut &[u8]| -> Option<usize> {
                let b = *p.first()?;
                if b & 0x80 == 0 {
                    *p = &p[1..];
                    Some(b as usize)
                } else {
                    let n = u32::from_be_bytes(p.get(..4)?.try_into().ok()?) & 0x7fff_ffff;
                    *p = &p[4..];
                    Some(n as usize)
                }
            };
            while let (Some(nl), Some(vl)) = (read_len(&mut p), read_len(&mut p)) {
                if p.len() < nl + vl {
                    break;
                }
                out.extend_from_slice(&p[..nl]);
                out.push(b'=');
                out.extend_from_slice(&p[nl..nl + vl]);
                out.push(b'\n');
                p = &p[nl + vl..];
            }
            let mut wire = Vec::new();
            for chunk in out.chunks(60_000).chain(std::iter::once(&[][..])) {
                wire.extend_from_slice(&[1, 6, id[0], id[1]]);
                wire.extend_from_slice(&(chunk.len() as u16).to_be_bytes());
                wire.extend_from_slice(&[0, 0]);
                wire.extend_from_slice(chunk);
            }
            wire.extend_from_slice(&[1, 3, id[0], id[1], 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            let _ = c.write_all(&wire);
        }
    });
}

#[test]
fn setenv_and_request_header_reach_fastcgi() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    fcgi_params_responder(listener);
    let conf = format!(
        "{MODS}ProxyPass /app/ fcgi://127.0.0.1:{port}/\n\
         SetEnv FCGIVAR yes\n\
         <Location /app/>\n  SetEnv LOCVAR loc\n  RequestHeader set X-To-Backend 1\n  Header set X-From-Front 1\n</Location>\n"
    );
    let s = start(ONE_PROCESS, &conf);
    let r = get(&s, "/app/x.php", "");
    assert_eq!(r.status, 200, "{}", r.text());
    let t = r.text();
    for want in ["FCGIVAR=yes", "LOCVAR=loc", "HTTP_X_TO_BACKEND=1"] {
        assert!(t.lines().any(|l| l == want), "missing {want} in:\n{t}");
    }
    assert_eq!(r.header("x-from-front"), Some("1"));
}
