//! Reverse-proxy directives and worker parameters end to end, against the real Python
//! backends of tests/support/proxy_backends.rs: what the backend sees (ProxyPreserveHost,
//! ProxyAddHeaders, ProxyVia), timeouts, the pool's max/smax/ttl, ProxyPassMatch, the
//! response directives (cookie rewriting, ProxyErrorOverride, ProxyBadHeader),
//! `<Proxy>` sections, the directives' syntax errors, HTTP/2 and mod_deflate on proxied
//! answers, TCP keep-alive and FastCGI reuse. Framing, uploads, bad backends and
//! smuggling: tests/e2e_proxy_features.rs.

mod common;
#[path = "support/config.rs"]
mod config_support;
#[path = "support/dynamic.rs"]
mod dynamic_support;
#[path = "support/proxy_backends.rs"]
mod proxy_backends;
#[path = "support/proxy_features.rs"]
mod proxy_features;

use dynamic_support::*;
use proxy_backends::*;
use proxy_features::*;

// ---------------------------------------------------------------------------------------
// Directives that change what the backend sees

/// The request headers the backend got for `path`, as `name: value` lines.
fn backend_saw(s: &Server, host: &str, path: &str) -> String {
    let r = s.request(&format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    ));
    assert_eq!(r.status, 200, "{path}");
    r.text()
}

fn header_directives(mpm: Mpm) {
    let t = setup(
        mpm,
        "<VirtualHost *:*>\nServerName localhost\n</VirtualHost>\n<VirtualHost *:*>\nServerName front.example\nProxyPreserveHost On\nProxyAddHeaders Off\nProxyVia On\nProxyPass /p/ http://127.0.0.1:{B}/\n</VirtualHost>\n",
    );
    let s = &t.s;
    // Defaults: the backend's own Host, X-Forwarded-*, no Via.
    let seen = backend_saw(s, "localhost", "/b/headers");
    let port = t.http.port;
    assert!(
        seen.contains(&format!("host: 127.0.0.1:{port}\n")),
        "{seen}"
    );
    assert!(seen.contains("x-forwarded-for: 127.0.0.1\n"), "{seen}");
    assert!(seen.contains("x-forwarded-host: localhost\n"), "{seen}");
    assert!(seen.contains("x-forwarded-server: localhost\n"), "{seen}");
    assert!(!seen.contains("via:"), "{seen}");
    // ProxyPreserveHost On, ProxyAddHeaders Off, ProxyVia On in the virtual host.
    let seen = backend_saw(s, "front.example", "/p/headers");
    assert!(seen.contains("host: front.example\n"), "{seen}");
    assert!(!seen.contains("x-forwarded"), "{seen}");
    assert!(seen.contains("via: 1.1 front.example\n"), "{seen}");
    let r = s.request("GET /p/len/3 HTTP/1.1\r\nHost: front.example\r\nConnection: close\r\n\r\n");
    assert_eq!(r.header("via"), Some("1.1 front.example"));
    // A client's Via is kept and ours appended (On).
    let r = s.request("GET /p/headers HTTP/1.1\r\nHost: front.example\r\nVia: 1.0 edge\r\nConnection: close\r\n\r\n");
    assert!(
        r.text().contains("via: 1.0 edge, 1.1 front.example\n"),
        "{}",
        r.text()
    );
    // The client's X-Forwarded-* (every line) come first, this hop after them; what
    // its Connection lists stays here, and so do Keep-Alive and Proxy-*.
    let r = s.request("GET /b/headers HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-For: 10.0.0.2\r\nX-Forwarded-Host: edge.example\r\nConnection: close, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: 5\r\nProxy-Foo: 2\r\nX-End: 3\r\n\r\n");
    let seen = r.text();
    assert!(
        seen.contains("x-forwarded-for: 10.0.0.1, 10.0.0.2, 127.0.0.1\n"),
        "{seen}"
    );
    assert!(
        seen.contains("x-forwarded-host: edge.example, localhost\n"),
        "{seen}"
    );
    assert!(seen.contains("x-end: 3\n"), "{seen}");
    for gone in ["x-hop:", "keep-alive:", "proxy-foo:"] {
        assert!(!seen.contains(gone), "{gone} forwarded: {seen}");
    }
    // ProxyRequests Off: an absolute-form request for another host is not forwarded.
    let r = s.request(&format!(
        "GET http://127.0.0.1:{port}/len/7 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    ));
    assert_eq!(r.status, 404, "forward-proxied: {:?}", r.text());
}

#[test]
fn header_directives_event() {
    header_directives(EVENT);
}

#[test]
fn header_directives_prefork() {
    header_directives(PREFORK);
}

fn timeouts(mpm: Mpm) {
    let t = setup(
        mpm,
        "ProxyTimeout 1\nProxyPass /t/ http://127.0.0.1:{B}/ timeout=3\n",
    );
    let s = &t.s;
    let t0 = Instant::now();
    assert_eq!(s.get("/b/slow/2500").status, 504);
    assert!(
        t0.elapsed() < Duration::from_millis(2400),
        "{:?}",
        t0.elapsed()
    );
    assert!(s.wait_log("error_log", "AH01102").contains("AH01102"));
    assert_eq!(s.get("/b/slow/200").status, 200);
    // timeout= wins over ProxyTimeout.
    assert_eq!(s.get("/t/slow/1500").status, 200);
}

#[test]
fn timeouts_event() {
    timeouts(EVENT);
}

#[test]
fn timeouts_prefork() {
    timeouts(PREFORK);
}

// ---------------------------------------------------------------------------------------
// Worker parameters and the connection pool

/// event with one child, so that every request shares one pool.
const EVENT_ONE_CHILD: Mpm = Mpm {
    conf: "LoadModule mpm_event_module x\nServerLimit 1\nStartServers 1\nThreadsPerChild 12\nMinSpareThreads 1\nMaxSpareThreads 12\nMaxRequestWorkers 12\n",
    args: &["-D", "FOREGROUND"],
};

/// `n` concurrent GETs of `path`; their bodies.
fn concurrent(s: &Server, path: &str, n: usize) -> Vec<Resp> {
    let addr = s.addr();
    let threads: Vec<_> = (0..n)
        .map(|_| {
            let addr = addr.clone();
            let path = path.to_string();
            std::thread::spawn(move || {
                let mut c = TcpStream::connect(addr).unwrap();
                c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                c.write_all(get_close(&path).as_bytes()).unwrap();
                let mut out = Vec::new();
                let _ = c.read_to_end(&mut out);
                parse_response(&out).expect("answer")
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

fn first_number(r: &Resp) -> usize {
    r.text().split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn max_limits_backend_connections() {
    let t = setup(EVENT_ONE_CHILD, "");
    let s = &t.s;
    // Unlimited (/b/): six at once reach the backend on six connections.
    let peak = concurrent(s, "/b/conc/600", 6)
        .iter()
        .map(first_number)
        .max()
        .unwrap();
    assert!(
        peak >= 3,
        "the backend saw at most {peak} connections at once"
    );
    // max=2 (on a fresh backend, whose peak counts only these): all six are answered,
    // over at most two connections at once.
    drop(t);
    let t = setup(
        EVENT_ONE_CHILD,
        "ProxyPass /m/ http://127.0.0.1:{B}/ max=2\n",
    );
    let s = &t.s;
    let answers = concurrent(s, "/m/conc/300", 6);
    assert!(answers.iter().all(|r| r.status == 200));
    let peak = answers.iter().map(first_number).max().unwrap();
    assert!(
        peak <= 2,
        "max=2 but the backend saw {peak} connections at once"
    );
    drop(t);
    // max=1 acquire=200: a request waiting longer than 200 ms for the connection gets
    // 503 and AH00941.
    let t = setup(
        EVENT_ONE_CHILD,
        "ProxyPass /one/ http://127.0.0.1:{B}/ max=1 acquire=200\n",
    );
    let s = &t.s;
    let answers = concurrent(s, "/one/slow/1500", 2);
    let mut statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    statuses.sort();
    assert_eq!(statuses, vec![200, 503]);
    assert!(s.wait_log("error_log", "AH00941").contains("AH00941"));
}

/// GET `path` on the keep-alive connection `c`; the body.
fn ka_get(c: &mut TcpStream, path: &str) -> String {
    let mut buf = Vec::new();
    c.write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes())
        .unwrap();
    read_response(c, &mut buf, false).expect("answer").text()
}

#[test]
fn reuse_ttl_and_smax() {
    let t = setup(
        EVENT_ONE_CHILD,
        "ProxyPass /ttl/ http://127.0.0.1:{B}/ ttl=1\nProxyPass /dis/ http://127.0.0.1:{B}/ disablereuse=On\n",
    );
    let s = &t.s;
    let mut c = s.connect();
    // Reused by default.
    let a = ka_get(&mut c, "/b/conn");
    assert_eq!(ka_get(&mut c, "/b/conn"), a);
    // disablereuse=On: a new connection every time.
    let d = ka_get(&mut c, "/dis/conn");
    assert_ne!(ka_get(&mut c, "/dis/conn"), d);
    // ttl=1: reused within the second, not after.
    let x = ka_get(&mut c, "/ttl/conn");
    assert_eq!(ka_get(&mut c, "/ttl/conn"), x);
    std::thread::sleep(Duration::from_millis(1500)); // the ttl itself is under test
    assert_ne!(ka_get(&mut c, "/ttl/conn"), x);
    drop(c);
    drop(t);

    // smax=1 ttl=1: of three idle connections, the two above smax close after the ttl;
    // the newest stays and is reused.
    let t = setup(
        EVENT_ONE_CHILD,
        "ProxyPass /s/ http://127.0.0.1:{B}/ smax=1 ttl=1\n",
    );
    let s = &t.s;
    let ports: Vec<String> = concurrent(s, "/s/conc/300", 3)
        .iter()
        .map(|r| r.text().split_whitespace().nth(1).unwrap().to_string())
        .collect();
    std::thread::sleep(Duration::from_millis(1500)); // the ttl itself is under test
    let port = s.get("/s/conn").text().trim().to_string();
    assert!(ports.contains(&port), "{port} is not one of {ports:?}");
    assert!(
        wait_until(Duration::from_secs(5), || s.get("/s/open").text() == "1\n"),
        "the idle connections above smax stayed open"
    );
}

#[test]
fn retry_and_connection_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let dead = free_port();
    // A listener that never accepts, its queue full: connects to it hang.
    let full = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    full.bind(
        &"127.0.0.1:0"
            .parse::<std::net::SocketAddr>()
            .unwrap()
            .into(),
    )
    .unwrap();
    full.listen(0).unwrap();
    let full_addr = full.local_addr().unwrap().as_socket().unwrap();
    let full_port = full_addr.port();
    let _held: Vec<TcpStream> = (0..4)
        .filter_map(|_| TcpStream::connect_timeout(&full_addr, Duration::from_millis(200)).ok())
        .collect();
    let s = start(
        EVENT,
        &format!(
            "ProxyPass /dead/ http://127.0.0.1:{dead}/ retry=1\nProxyPass /hang/ http://127.0.0.1:{full_port}/ connectiontimeout=1 retry=0\n"
        ),
    );
    // retry=1: the failed connect disables the backend for a second.
    assert_eq!(s.get("/dead/len/3").status, 503);
    assert!(s.wait_log("error_log", "AH00959").contains("for 1s"));
    // Within the second no connection is tried (AH00940); the backend comes up and,
    // once the second is over, is used again.
    assert_eq!(s.get("/dead/len/3").status, 503);
    assert!(s.wait_log("error_log", "AH00940").contains("AH00940"));
    let _b = python_backend(dir.path(), "late", HTTP_BACKEND, &[&dead.to_string()]);
    assert!(
        wait_until(Duration::from_secs(10), || s.get("/dead/len/3").status
            == 200),
        "never served after retry"
    );
    // connectiontimeout=1: a connect that hangs gives up after a second.
    let t0 = Instant::now();
    let st = s.get("/hang/x").status;
    assert_eq!(st, 503);
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
}

// ---------------------------------------------------------------------------------------
// ProxyPassMatch (the paths the backend gets are those Debian's Apache 2.4 sends for the
// same configuration)

fn proxy_pass_match(mpm: Mpm) {
    let t = setup(
        mpm,
        "ProxyPassMatch \"^/q/\" !\nProxyPassMatch \"^/x/.*\\.txt$\" http://127.0.0.1:{B}/path\nProxyPassMatch \"^/y/(.*)\\.txt$\" http://127.0.0.1:{B}/len/$1 noquery\nProxyPassMatch \"^/q\" http://127.0.0.1:{B}/pathq\n<LocationMatch \"^/z/(\\d+)\">\nProxyPassMatch http://127.0.0.1:{B}/len/$1\n</LocationMatch>\nProxyPassMatch \"^/c/(.*)$\" http://127.0.0.1:{B}/path/$1 max=1\n",
    );
    let s = &t.s;
    // $1 substituted; the query string follows unless noquery.
    let r = s.get("/y/12.txt?k=v");
    assert_eq!((r.status, r.body.len()), (200, 12), "{}", r.text());
    let r = s.get("/z/7/rest");
    assert_eq!((r.status, r.body.len()), (200, 7));
    // No substitution in the URL: the request path is appended, as Apache does ("$1
    // is implied"), with the query.
    assert_eq!(s.get("/x/a.txt?k=v").text(), "/path/x/a.txt?k=v");
    assert_eq!(s.get("/x/a%20b.txt").text(), "/path/x/a%20b.txt");
    // `!` excludes; rules are tried in order.
    assert_eq!(s.get("/q/a").status, 404);
    assert_eq!(s.get("/qa").text(), "/pathq/qa");
    // Parameters apply to the substituted URL.
    assert_eq!(s.get("/c/what%20ever").text(), "/path/what%20ever");
    assert!(
        !s.log("error_log").contains("AH01144"),
        "{}",
        s.log("error_log")
    );
}

#[test]
fn proxy_pass_match_event() {
    proxy_pass_match(EVENT);
}

#[test]
fn proxy_pass_match_prefork() {
    proxy_pass_match(PREFORK);
}

// ---------------------------------------------------------------------------------------
// Response rewriting: cookies, error pages, bad header lines

fn response_directives(mpm: Mpm) {
    let t = setup(
        mpm,
        "ProxyPassReverseCookieDomain backend.internal www.example.com\nProxyPassReverseCookiePath /app/ /\nProxyIOBufferSize 512\n<VirtualHost *:*>\nServerName localhost\n</VirtualHost>\n<VirtualHost *:*>\nServerName override.example\nErrorDocument 404 \"local not found\"\nErrorDocument 500 \"local error\"\nErrorDocument 503 \"local unavailable\"\nProxyErrorOverride On 404 503\nProxyBadHeader Ignore\nProxyPass /b/ http://127.0.0.1:{B}/\nProxyPass /r/ http://127.0.0.1:{R}/\n</VirtualHost>\n<VirtualHost *:*>\nServerName all.example\nErrorDocument 500 \"local error\"\nProxyErrorOverride On\nProxyBadHeader StartBody\nProxyPass /b/ http://127.0.0.1:{B}/\nProxyPass /r/ http://127.0.0.1:{R}/\n</VirtualHost>\n",
    );
    let s = &t.s;
    let on = |host: &str, path: &str| {
        s.request(&format!(
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        ))
    };
    // Set-Cookie domain= and path= mapped.
    let r = s.get("/b/cookie");
    let cookies: Vec<&str> = r
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(
        cookies,
        vec![
            "a=1; Domain=www.example.com; Path=/x",
            "b=2; path=/; domain=www.example.com; HttpOnly"
        ]
    );
    // A 512-byte IO buffer still carries a large body whole.
    assert_eq!(s.get("/b/len/300000").body, pattern(300000));
    // Without ProxyErrorOverride the backend's error body is passed on.
    assert_eq!(on("localhost", "/b/status/404").text(), "backend 404\n");
    // With codes: only those are replaced by the local ErrorDocument.
    let r = on("override.example", "/b/status/404");
    assert_eq!((r.status, r.text().as_str()), (404, "local not found"));
    let r = on("override.example", "/b/status/503");
    assert_eq!((r.status, r.text().as_str()), (503, "local unavailable"));
    let r = on("override.example", "/b/status/500");
    assert_eq!((r.status, r.text().as_str()), (500, "backend 500\n"));
    assert_eq!(on("override.example", "/b/len/4").body, pattern(4));
    // Without codes: every status >= 400.
    let r = on("all.example", "/b/status/500");
    assert_eq!((r.status, r.text().as_str()), (500, "local error"));
    assert_eq!(on("all.example", "/b/status/410").status, 410);
    assert!(
        !on("all.example", "/b/status/410")
            .text()
            .contains("backend")
    );
    // ProxyBadHeader: IsError (default) 502, Ignore drops the line, StartBody makes it
    // the body.
    assert_eq!(on("localhost", "/r/badheader").status, 502);
    let r = on("override.example", "/r/badheader");
    assert_eq!((r.status, r.text().as_str()), (200, "ok"));
    let r = on("all.example", "/r/badheader");
    assert_eq!(r.status, 200);
    assert!(
        r.text().starts_with("This is not a header"),
        "{:?}",
        r.text()
    );
}

#[test]
fn response_directives_event() {
    response_directives(EVENT);
}

#[test]
fn response_directives_prefork() {
    response_directives(PREFORK);
}

// ---------------------------------------------------------------------------------------
// <Proxy> and <ProxyMatch>

fn proxy_sections(mpm: Mpm) {
    let t = setup(
        mpm,
        "<Proxy \"http://127.0.0.1:{B}/status/*\">\nRequire all denied\n</Proxy>\n<ProxyMatch \"^http://127\\.0\\.0\\.1:{R}/\">\nRequire ip 10.9.8.7\n</ProxyMatch>\n<Proxy \"http://127.0.0.1:{B}/\">\nProxySet timeout=1\n</Proxy>\n<Proxy \"http://127.0.0.1:{B}/len/\">\nRequire ip 127.0.0.1\n</Proxy>\n<Proxy \"http://127.0.0.1:{B}/co*\">\nRequire all denied\n</Proxy>\n<Location /b/conn>\nRequire all granted\n</Location>\n",
    );
    let s = &t.s;
    assert_eq!(s.get("/b/status/200").status, 403);
    assert!(s.wait_log("error_log", "AH01630").contains("AH01630"));
    assert_eq!(s.get("/b/len/3").body, pattern(3));
    // <Location> is merged after <Proxy>, as in Apache (Debian 2.4.71 gives the same
    // 200 and 403 on this configuration): its Require wins.
    assert_eq!(s.get("/b/conn").status, 200);
    assert_eq!(s.get("/b/cookie").status, 403);
    // ProxySet timeout=1 on the worker: a 2.5 s answer times out.
    let t0 = Instant::now();
    assert_eq!(s.get("/b/slow/2500").status, 504);
    assert!(t0.elapsed() < Duration::from_millis(2400));
    // Refused before any byte reaches the backend.
    assert_eq!(s.get("/r/ok").status, 403);
    let rec = std::fs::read_to_string(&t.record).unwrap();
    assert!(!rec.contains("GET /ok"), "{rec}");
}

#[test]
fn proxy_sections_event() {
    proxy_sections(EVENT);
}

#[test]
fn proxy_sections_prefork() {
    proxy_sections(PREFORK);
}

// ---------------------------------------------------------------------------------------
// Configuration errors of the new directives (Apache's AH00526 with file and line)

#[test]
fn syntax_errors_of_the_new_directives() {
    use config_support::{BASE, Root, assert_ok, assert_syntax_error};
    let head = format!("{BASE}LoadModule proxy_module x\nLoadModule proxy_http_module x\n");
    // Line 5 is the line under test.
    let cases: [(&str, &str); 14] = [
        (
            "ProxyPassMatch http://b/",
            "ProxyPassMatch needs a path when not defined in a location",
        ),
        (
            "ProxyPassMatch ^/( http://b/",
            "Regular expression could not be compiled",
        ),
        (
            "ProxyPassMatch ^/a http://b/ bogus=1",
            "ProxyPass unknown Worker parameter 'bogus'",
        ),
        (
            "ProxyPass /a http://b/ max=many",
            "ProxyPass max=many: not a number",
        ),
        (
            "ProxyPass /a http://b/ acquire=1s",
            "not a number of milliseconds",
        ),
        ("ProxyPass /a http://b/ ttl=soon", "not a number of seconds"),
        (
            "ProxyErrorOverride On 200",
            "must be valid HTTP Status Codes",
        ),
        (
            "ProxyErrorOverride Maybe",
            "ProxyErrorOverride must be On|Off",
        ),
        ("ProxyBadHeader Sometimes", "ProxyBadHeader must be one of"),
        (
            "ProxyIOBufferSize lots",
            "ProxyIOBufferSize must be a positive integer",
        ),
        (
            "ProxyReceiveBufferSize 100",
            "ProxyReceiveBufferSize must be >= 512",
        ),
        ("ProxyPassReverseCookieDomain a b c", "takes two arguments"),
        (
            "ProxySet keepalive=On",
            "ProxySet can not find 'keepalive=On' Worker.",
        ),
        ("ProxySet http://b/ nonsense=1", "unknown Worker parameter"),
    ];
    for (line, reason) in cases {
        let r = Root::new();
        let o = r.check(&format!("{head}{line}\n"), &[]);
        assert_syntax_error(&o, &r.path("conf/httpd.conf"), 5, reason);
    }
    // Worker parameters on a section's opening line (mod_proxy_fcgi's
    // `<Proxy "fcgi://localhost/" enablereuse=on max=10>`) are checked as ProxySet's.
    let r = Root::new();
    let o = r.check(
        &format!("{head}<Proxy \"fcgi://localhost/\" enablereuse=on max=x>\n</Proxy>\n"),
        &[],
    );
    assert_syntax_error(
        &o,
        &r.path("conf/httpd.conf"),
        5,
        "<Proxy>: ProxyPass max=x",
    );
    let r = Root::new();
    let o = r.check(
        &format!("{head}<Proxy \"fcgi://localhost/\" enablereuse=on max=10>\n</Proxy>\n"),
        &[],
    );
    assert_ok(&o);
    // Inside sections.
    let r = Root::new();
    let o = r.check(
        &format!("{head}<Proxy http://b/>\nProxySet max=x\n</Proxy>\n"),
        &[],
    );
    assert_syntax_error(
        &o,
        &r.path("conf/httpd.conf"),
        6,
        "ProxySet: ProxyPass max=x",
    );
    let r = Root::new();
    let o = r.check(
        &format!("{head}<Proxy http://b/>\nProxyPass /x http://b/\n</Proxy>\n"),
        &[],
    );
    assert_syntax_error(
        &o,
        &r.path("conf/httpd.conf"),
        6,
        "ProxyPass cannot occur within <Proxy> section",
    );
    let r = Root::new();
    let o = r.check(
        &format!("{head}<Directory /tmp>\nProxyPassMatch http://b/\n</Directory>\n"),
        &[],
    );
    assert_syntax_error(
        &o,
        &r.path("conf/httpd.conf"),
        6,
        "ProxyPassMatch cannot occur within <Directory>",
    );
    let r = Root::new();
    let o = r.check(
        &format!("{head}<LocationMatch ^/a>\nProxyPassMatch ^/b http://b/\n</LocationMatch>\n"),
        &[],
    );
    assert_syntax_error(
        &o,
        &r.path("conf/httpd.conf"),
        6,
        "can not have a path when defined in a location",
    );
    // The accepted forms, and the warning for parameters without effect.
    let r = Root::new();
    let o = r.check(
        &format!(
            "{head}ProxyPassMatch ^/(.*)$ http://b/$1 max=2 smax=1 ttl=5 acquire=100 min=1 flushpackets=on\n<LocationMatch ^/z/(\\d+)>\nProxyPassMatch http://b/$1\n</LocationMatch>\n<ProxyMatch ^http://b/>\nRequire all denied\nProxySet timeout=3\n</ProxyMatch>\nProxySet http://b/ keepalive=On\nProxyErrorOverride On 404 500\nProxyBadHeader StartBody\nProxyIOBufferSize 65536\nProxyReceiveBufferSize 0\nProxyPassReverseCookieDomain in out\nProxyPassReverseCookiePath /a/ /\n"
        ),
        &[],
    );
    assert_ok(&o);
    let err = config_support::stderr(&o);
    assert!(
        err.contains("min=1 flushpackets=on accepted but have no effect"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------
// The known length over HTTP/2 and through mod_deflate; TCP keep-alive probes

#[test]
fn framing_over_h2_and_deflate() {
    let t = setup(
        EVENT,
        "LoadModule http2_module x\nProtocols h2c http/1.1\nLoadModule deflate_module x\nLoadModule filter_module x\nAddOutputFilterByType DEFLATE text/plain\n",
    );
    let s = &t.s;
    let url = format!("http://127.0.0.1:{}/b/len/70000", s.port);
    let o = curl(&[
        "-s",
        "--http2-prior-knowledge",
        "-D",
        "-",
        "-o",
        "/dev/null",
        &url,
    ]);
    let head = String::from_utf8_lossy(&o.stdout).to_ascii_lowercase();
    assert!(head.starts_with("http/2 200"), "{head}");
    assert!(head.contains("content-length: 70000\r\n"), "{head}");
    let o = curl(&["-s", "--http2-prior-knowledge", &url]);
    assert!(
        o.stdout == pattern(70000),
        "{} bytes over h2",
        o.stdout.len()
    );
    // Compressed, the backend's length is dropped; the body inflates to the original.
    let r = s.request(
        "GET /b/headers HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    let plain = s.get("/b/headers").body;
    assert_ne!(
        r.header("content-length").map(str::to_string),
        Some(plain.len().to_string())
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("b.gz"), &r.body).unwrap();
    let out = output(command("gzip").arg("-dc").arg(dir.path().join("b.gz"))).unwrap();
    assert!(out.status.success(), "not gzip: {:?}", r.body);
    assert!(String::from_utf8_lossy(&out.stdout).contains("accept-encoding: gzip"));
}

#[test]
fn keepalive_sets_tcp_keepalive_on_backend_connections() {
    if !have("ss") {
        panic!("ss (iproute2) is missing");
    }
    // The pooled connection to the backend after a request: with keepalive=On its
    // socket has SO_KEEPALIVE (ss shows a keepalive timer), without it none. (A pool
    // is per backend address, so each case has a server and backend of its own.)
    let sockets = |ka: bool| {
        let t = setup(
            EVENT_ONE_CHILD,
            if ka {
                "ProxyPass /ka/ http://127.0.0.1:{B}/ keepalive=On\n"
            } else {
                ""
            },
        );
        let port = t.http.port;
        assert_eq!(
            t.s.get(if ka { "/ka/len/1" } else { "/b/len/1" }).status,
            200
        );
        let filter = format!("( dport = :{port} )");
        let o = output(command("ss").args(["-tno", "state", "established", &filter])).unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let plain = sockets(false);
    assert!(
        plain.contains("127.0.0.1") && !plain.contains("keepalive"),
        "{plain}"
    );
    let ka = sockets(true);
    assert!(ka.contains("timer:(keepalive"), "{ka}");
}

#[test]
fn fastcgi_enablereuse() {
    let dir = tempfile::tempdir().unwrap();
    let f = python_backend(dir.path(), "fcgiback", FCGI_BACKEND, &[]);
    let s = start(
        EVENT_ONE_CHILD,
        &format!(
            "ProxyPass /once/ fcgi://127.0.0.1:{p}/srv/\nProxyPass /reuse/ fcgi://127.0.0.1:{p}/srv/ enablereuse=on\n",
            p = f.port
        ),
    );
    let mut c = s.connect();
    // Off by default for FastCGI: a connection per request.
    let a = ka_get(&mut c, "/once/x");
    let b = ka_get(&mut c, "/once/x");
    assert!(a.starts_with("conn ") && a != b, "{a} {b}");
    // enablereuse=on: the connection is kept (FCGI_KEEP_CONN) and used again.
    let a = ka_get(&mut c, "/reuse/x");
    assert_eq!(ka_get(&mut c, "/reuse/x"), a);
}

#[test]
fn via_full_and_block() {
    let t = setup(
        EVENT,
        "<VirtualHost *:*>\nServerName localhost\nProxyVia Full\nProxyPass /f/ http://127.0.0.1:{B}/\n</VirtualHost>\n<VirtualHost *:*>\nServerName block.example\nProxyVia Block\nProxyPass /k/ http://127.0.0.1:{B}/\n</VirtualHost>\n",
    );
    let s = &t.s;
    let r = s.get("/f/headers");
    assert!(
        r.text().contains("via: 1.1 localhost (rhttpd/"),
        "{}",
        r.text()
    );
    let r = s.request("GET /k/headers HTTP/1.1\r\nHost: block.example\r\nVia: 1.0 edge\r\nConnection: close\r\n\r\n");
    assert!(!r.text().contains("via:"), "{}", r.text());
    assert_eq!(r.header("via"), None);
}
