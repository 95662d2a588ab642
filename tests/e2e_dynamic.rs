//! Dynamic content end to end: reverse proxying to real upstreams (a second rhttpd,
//! Debian's nginx), FastCGI to a real PHP-FPM, and the non-thread-safe handler that keeps
//! worker and event from starting. Every scenario is a function of the MPM it runs
//! under, run under prefork, worker, event and `-X`.
//!
//! nginx and PHP-FPM are installed by scripts/test.sh; when they are missing the tests
//! that need them fail with a message saying so.
//!
//! CGI scenarios: tests/e2e_cgi.rs.

mod common;
#[path = "support/dynamic.rs"]
mod dynamic_support;

use dynamic_support::*;

// ---------------------------------------------------------------------------------------
// Reverse proxy

/// A backend rhttpd (-X) with a CGI that echoes the request headers and body, a
/// Redirect, a small and a large file, and an access log of `%k %r` (requests served
/// before this one on its connection: 0 = a new connection).
fn backend() -> (Server, Site, Vec<u8>) {
    let site = Site::new();
    script(
        &site.p("cgi-bin/echo.cgi"),
        "#!/bin/sh\necho 'Content-Type: text/plain'\necho\nenv | grep -E '^(HTTP_|CONTENT_LENGTH|REQUEST_URI)' | sort\necho '--body--'\ncat\n",
    );
    std::fs::write(site.p("htdocs/small.txt"), "small\n").unwrap();
    let big: Vec<u8> = (0..3 * 1024 * 1024u32)
        .map(|i| (i * 7 % 251) as u8)
        .collect();
    std::fs::write(site.p("htdocs/big.bin"), &big).unwrap();
    let (h, c) = (site.s("htdocs"), site.s("cgi-bin"));
    let s = Server::start_fn_with(
        |port| {
            format!(
                "LoadModule cgi_module x\nDocumentRoot \"{h}\"\nScriptAlias /cgi-bin/ \"{c}/\"\nRedirect /old http://127.0.0.1:{port}/new\nLogFormat \"%k %r\" ka\nCustomLog logs/ka_log ka\nMaxKeepAliveRequests 0\n"
            )
        },
        &["-X"],
    );
    (s, site, big)
}

fn keepalive_gets(s: &Server, path: &str, n: usize) -> Vec<Resp> {
    let mut c = s.connect();
    let mut out = Vec::new();
    let mut buf = Vec::new();
    for _ in 0..n {
        c.write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes())
            .unwrap();
        out.push(read_response(&mut c, &mut buf, false).expect("keep-alive response"));
    }
    out
}

fn proxy_http(mpm: Mpm) {
    let (back, _site, big) = backend();
    let dead = free_port();
    let conf = format!(
        "ProxyRequests Off\nProxyPass /app/excluded !\nProxyPass /app/ http://127.0.0.1:{b}/\nProxyPassReverse /app/ http://127.0.0.1:{b}/\nProxyPass /down/ http://127.0.0.1:{dead}/ retry=30\n<Location /loc/>\nProxyPass http://127.0.0.1:{b}/\n</Location>\n",
        b = back.port
    );
    let s = start(mpm, &conf);

    // A large body back through the proxy.
    let r = s.get("/app/big.bin");
    assert_eq!(r.status, 200);
    assert!(
        r.body == big,
        "proxied body differs ({} bytes)",
        r.body.len()
    );

    // Headers and a large request body both ways; hop-by-hop headers removed.
    let payload: String = (0..3 * 1024 * 1024)
        .map(|i| (b'a' + (i % 26) as u8) as char)
        .collect();
    let r = s.request(&format!(
        "POST /app/cgi-bin/echo.cgi?x=1 HTTP/1.1\r\nHost: localhost\r\nX-Drop: 1\r\nKeep-Alive: 300\r\nConnection: close, X-Drop\r\nX-Keep: yes\r\nContent-Length: {}\r\n\r\n{payload}",
        payload.len()
    ));
    assert_eq!(r.status, 200);
    let t = r.text();
    let (env, echoed) = t.split_once("--body--\n").expect("marker");
    assert!(echoed == payload, "echoed {} bytes", echoed.len());
    for want in [
        "HTTP_X_FORWARDED_FOR=127.0.0.1".to_string(),
        "HTTP_X_FORWARDED_HOST=localhost".into(),
        "HTTP_X_FORWARDED_SERVER=localhost".into(),
        format!("HTTP_HOST=127.0.0.1:{}", back.port),
        "HTTP_X_KEEP=yes".into(),
        format!("CONTENT_LENGTH={}", payload.len()),
        "REQUEST_URI=/cgi-bin/echo.cgi?x=1".into(),
    ] {
        assert!(env.lines().any(|l| l == want), "missing {want}:\n{env}");
    }
    assert!(!env.contains("HTTP_X_DROP"), "{env}");
    assert!(!env.contains("HTTP_KEEP_ALIVE"), "{env}");

    // A chunked request body is forwarded chunked.
    let mut req = String::from(
        "POST /app/cgi-bin/echo.cgi HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
    );
    for part in payload.as_bytes()[..500_000].chunks(70_000) {
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
    assert_eq!(echoed.as_bytes(), &payload.as_bytes()[..500_000]);
    assert!(!env.contains("CONTENT_LENGTH"), "{env}");

    // ProxyPassReverse rewrites the backend's redirect.
    let r = s.get("/app/old");
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some("http://localhost/app/new"));

    // <Location> form and the ! exclusion.
    assert_eq!(s.get("/loc/small.txt").text(), "small\n");
    assert_eq!(s.get("/app/excluded").status, 404);

    // Backend connections are reused: five requests on one client connection go over
    // one backend connection (%k counts requests before this one on a connection). One
    // client connection is served by one process under every MPM, and a process keeps
    // its own backend pool, so the five follow each other on one backend connection
    // (which may have served earlier requests of that process: the sequence need not
    // start at 0). Each request is told apart by its query: the earlier /loc/small.txt
    // is in the same log, and the backend logs after it has answered, so the log is
    // read once all five are in it.
    let mut c = s.connect();
    let mut buf = Vec::new();
    for i in 0..5 {
        c.write_all(
            format!("GET /app/small.txt?reuse={i} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes(),
        )
        .unwrap();
        let r = read_response(&mut c, &mut buf, false).expect("keep-alive response");
        assert!(r.status == 200 && r.text() == "small\n", "{r:?}");
    }
    let k_of = |log: &str, i: usize| {
        let line = format!(" GET /small.txt?reuse={i} HTTP/1.1");
        log.lines()
            .find_map(|l| l.strip_suffix(line.as_str())?.parse::<u32>().ok())
    };
    let mut log = String::new();
    wait_until(Duration::from_secs(5), || {
        log = back.log("ka_log");
        (0..5).all(|i| k_of(&log, i).is_some())
    });
    let ks: Vec<Option<u32>> = (0..5).map(|i| k_of(&log, i)).collect();
    assert!(
        ks.iter().all(Option::is_some),
        "backend did not log all five: {ks:?}\n{log}"
    );
    assert!(
        ks.windows(2).all(|w| w[1] == w[0].map(|k| k + 1)),
        "backend connection not reused: {ks:?}\n{log}"
    );

    // A backend that is down: 503, logged, and the backend stays disabled.
    assert_eq!(s.get("/down/x").status, 503);
    let elog = s.wait_log("error_log", "AH01114");
    assert!(
        elog.contains("AH01114: HTTP: failed to make connection to backend"),
        "{elog}"
    );
    assert!(elog.contains("AH00959"), "{elog}");
    assert_eq!(s.get("/down/x").status, 503);
}

#[test]
fn proxy_http_prefork() {
    proxy_http(PREFORK);
}

#[test]
fn proxy_http_one_process() {
    proxy_http(ONE_PROCESS);
}

/// An nginx upstream (Debian's package, installed by scripts/test.sh); stopped with its
/// process group when dropped.
struct Nginx {
    _process: Spawned,
    port: u16,
    dir: tempfile::TempDir,
}

fn nginx() -> Nginx {
    let bin = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or_else(|| {
            panic!("nginx is not installed: scripts/test.sh installs it (apt-get install nginx)")
        });
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let d = dir.path().display();
    std::fs::create_dir_all(dir.path().join("html")).unwrap();
    std::fs::write(dir.path().join("html/file.txt"), "from nginx\n").unwrap();
    let conf = format!(
        "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{ worker_connections 64; }}\nhttp {{\n log_format ka '$connection $connection_requests $request';\n access_log {d}/access.log ka;\n client_body_temp_path {d}/t1; proxy_temp_path {d}/t2; fastcgi_temp_path {d}/t3; uwsgi_temp_path {d}/t4; scgi_temp_path {d}/t5;\n keepalive_requests 1000;\n server {{\n  listen 127.0.0.1:{port};\n  root {d}/html;\n  location /redir {{ return 302 http://127.0.0.1:{port}/landed; }}\n }}\n}}\n"
    );
    std::fs::write(dir.path().join("nginx.conf"), conf).unwrap();
    let process = Spawned::spawn(
        command(bin)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(dir.path().join("nginx.conf"))
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
    .expect("start nginx");
    let n = Nginx {
        _process: process,
        port,
        dir,
    };
    assert!(
        wait_until(Duration::from_secs(10), || TcpStream::connect((
            "127.0.0.1",
            port
        ))
        .is_ok()),
        "nginx did not start: {}",
        std::fs::read_to_string(n.dir.path().join("error.log")).unwrap_or_default()
    );
    n
}

fn proxy_nginx(mpm: Mpm) {
    let ng = nginx();
    let conf = format!(
        "ProxyPass /ng/ http://127.0.0.1:{p}/\nProxyPassReverse /ng/ http://127.0.0.1:{p}/\n",
        p = ng.port
    );
    let s = start(mpm, &conf);
    let rs = keepalive_gets(&s, "/ng/file.txt", 4);
    assert!(
        rs.iter()
            .all(|r| r.status == 200 && r.text() == "from nginx\n")
    );
    let r = s.get("/ng/redir");
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some("http://localhost/ng/landed"));
    let log_path = ng.dir.path().join("access.log");
    let mut log = String::new();
    wait_until(Duration::from_secs(5), || {
        log = std::fs::read_to_string(&log_path).unwrap_or_default();
        log.lines().filter(|l| l.contains("GET /file.txt")).count() == 4
    });
    let conns: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("GET /file.txt"))
        .filter_map(|l| l.split(' ').next())
        .collect();
    assert_eq!(conns.len(), 4, "{log}");
    assert!(
        conns.iter().all(|c| *c == conns[0]),
        "nginx saw several connections: {log}"
    );
}

#[test]
fn proxy_nginx_prefork() {
    proxy_nginx(PREFORK);
}

#[test]
fn proxy_nginx_one_process() {
    proxy_nginx(ONE_PROCESS);
}

// ---------------------------------------------------------------------------------------
// FastCGI to PHP-FPM

const PHP_PAGE: &str = r#"<?php
header('Content-Type: text/plain');

header('X-Php: yes');

echo "get=", $_GET['a'] ?? '', "\n";

echo "post=", $_POST['p'] ?? '', "\n";

echo "method=", $_SERVER['REQUEST_METHOD'], "\n";

echo "script_name=", $_SERVER['SCRIPT_NAME'], "\n";

echo "script_filename=", $_SERVER['SCRIPT_FILENAME'], "\n";

echo "path_info=", $_SERVER['PATH_INFO'] ?? '', "\n";

echo "remote_addr=", $_SERVER['REMOTE_ADDR'], "\n";

if (isset($_FILES['up'])) {
    echo "upload=", $_FILES['up']['name'], ":", $_FILES['up']['size'], ":", md5_file($_FILES['up']['tmp_name']), "\n";
}

"#;

fn multipart(field: &str, post: &str, file: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----rhttpdBoundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"p\"\r\n\r\n{post}\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"data.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn md5_hex(data: &[u8]) -> String {
    let mut child = Spawned::spawn(
        command("md5sum")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped()),
    )
    .expect("md5sum");
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_string()
}

fn php_checks(s: &Server, url: &str, docroot_file: &str, script_name: &str) {
    let r = s.get(&format!("{url}?a=hello"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-php"), Some("yes"));
    let t = r.text();
    assert!(t.contains("get=hello\n"), "{t}");
    assert!(t.contains("method=GET\n"), "{t}");
    assert!(t.contains(&format!("script_name={script_name}\n")), "{t}");
    assert!(
        t.contains(&format!("script_filename={docroot_file}\n")),
        "{t}"
    );
    assert!(t.contains("remote_addr=127.0.0.1\n"), "{t}");

    let file: Vec<u8> = (0..300_000u32).map(|i| (i * 13 % 256) as u8).collect();
    let (ct, body) = multipart("up", "posted", &file);
    let mut req = format!(
        "POST {url} HTTP/1.1\r\nHost: localhost\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(&body);
    let raw = s.raw(&req);
    let r = parse_response(&raw).expect("response");
    assert_eq!(r.status, 200, "{}", r.text());
    let t = r.text();
    assert!(t.contains("post=posted\n"), "{t}");
    assert!(t.contains("method=POST\n"), "{t}");
    assert!(
        t.contains(&format!(
            "upload=data.bin:{}:{}\n",
            file.len(),
            md5_hex(&file)
        )),
        "{t}"
    );
}

fn php_proxypass_tcp(mpm: Mpm) {
    let port = free_port();
    let fpm = php_fpm(
        |_| format!("127.0.0.1:{port}"),
        |_| TcpStream::connect(("127.0.0.1", port)).is_ok(),
    );
    let site = Site::new();
    std::fs::write(site.p("htdocs/index.php"), PHP_PAGE).unwrap();
    let conf = format!(
        "ProxyPass \"/app/\" \"fcgi://127.0.0.1:{port}{}/\" enablereuse=on\n",
        site.s("htdocs")
    );
    let s = start(mpm, &conf);
    php_checks(
        &s,
        "/app/index.php",
        &site.s("htdocs/index.php"),
        "/app/index.php",
    );
    // PATH_INFO: PHP-FPM splits it off SCRIPT_FILENAME itself.
    let t = s.get("/app/index.php/more/info").text();
    assert!(t.contains("path_info=/more/info\n"), "{t}");
    drop(fpm);
}

fn php_sethandler_unix(mpm: Mpm) {
    let fpm = php_fpm(
        |d| d.join("php.sock").display().to_string(),
        |d| std::os::unix::net::UnixStream::connect(d.join("php.sock")).is_ok(),
    );
    let sock = fpm.dir.path().join("php.sock");
    let site = Site::new();
    std::fs::write(site.p("htdocs/index.php"), PHP_PAGE).unwrap();
    std::fs::write(site.p("htdocs/plain.txt"), "not php\n").unwrap();
    let conf = format!(
        "DocumentRoot \"{}\"\n<FilesMatch \\.php$>\n    SetHandler \"proxy:unix:{}|fcgi://localhost\"\n</FilesMatch>\n",
        site.s("htdocs"),
        sock.display()
    );
    let s = start(mpm, &conf);
    php_checks(&s, "/index.php", &site.s("htdocs/index.php"), "/index.php");
    assert_eq!(s.get("/plain.txt").text(), "not php\n");
    assert_eq!(s.get("/missing.php").status, 404);
}

#[test]
fn php_fpm_proxypass_tcp_prefork() {
    php_proxypass_tcp(PREFORK);
}

#[test]
fn php_fpm_proxypass_tcp_one_process() {
    php_proxypass_tcp(ONE_PROCESS);
}

#[test]
fn php_fpm_sethandler_unix_prefork() {
    php_sethandler_unix(PREFORK);
}

#[test]
fn php_fpm_sethandler_unix_one_process() {
    php_sethandler_unix(ONE_PROCESS);
}

// ---------------------------------------------------------------------------------------
// Thread-safety fixture

#[test]
fn example_unsafe_module_serves_under_prefork() {
    let s = start(
        PREFORK,
        "LoadModule example_unsafe_module x\n<Location /unsafe>\nSetHandler example-unsafe\n</Location>\n",
    );
    let r = s.get("/unsafe");
    assert_eq!(r.status, 200);
    assert!(
        r.text().starts_with("example-unsafe: request "),
        "{}",
        r.text()
    );
}

#[test]
fn proxy_http_worker() {
    proxy_http(WORKER);
}

#[test]
fn proxy_http_event() {
    proxy_http(EVENT);
}

#[test]
fn proxy_nginx_worker() {
    proxy_nginx(WORKER);
}

#[test]
fn proxy_nginx_event() {
    proxy_nginx(EVENT);
}

#[test]
fn php_fpm_proxypass_tcp_worker() {
    php_proxypass_tcp(WORKER);
}

#[test]
fn php_fpm_proxypass_tcp_event() {
    php_proxypass_tcp(EVENT);
}

#[test]
fn php_fpm_sethandler_unix_worker() {
    php_sethandler_unix(WORKER);
}

#[test]
fn php_fpm_sethandler_unix_event() {
    php_sethandler_unix(EVENT);
}

/// A handler that is not thread-safe keeps worker and event from starting, with an
/// error that names it and points to prefork or FastCGI.
#[test]
fn threaded_mpm_refuses_a_non_thread_safe_handler() {
    for mpm in ["mpm_worker_module", "mpm_event_module"] {
        let dir = tempfile::tempdir().unwrap();
        let port = common::free_port();
        let conf = format!(
            "LoadModule {mpm} x\nLoadModule example_unsafe_module x\nServerRoot \"{root}\"\nListen 127.0.0.1:{port}\nDocumentRoot \"{root}\"\nErrorLog error_log\nPidFile httpd.pid\n",
            root = dir.path().display()
        );
        let f = dir.path().join("httpd.conf");
        std::fs::write(&f, conf).unwrap();
        let out =
            output(command(common::BIN).args(["-f", f.to_str().unwrap(), "-D", "FOREGROUND"]))
                .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{mpm}: {err}");
        assert!(
            err.contains("example-unsafe") && err.contains("prefork"),
            "{mpm}: {err}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Every handler over HTTP/2

/// `curl --http2-prior-knowledge ARGS URL -w '\n%{http_version} %{http_code}'`:
/// (version and status, body).
fn h2_fetch(args: &[&str], url: &str) -> (String, String) {
    let mut all = vec![
        "-s",
        "--http2-prior-knowledge",
        "-w",
        "\n%{http_version} %{http_code}",
    ];
    all.extend_from_slice(args);
    all.push(url);
    let o = common::curl(&all);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let (body, tail) = out.rsplit_once('\n').unwrap_or(("", &out));
    (tail.to_string(), body.to_string())
}

/// Issue #13 point 2: the reverse proxy (to nginx and to an rhttpd backend, with a
/// request body), FastCGI to PHP-FPM (GET and POST), autoindex and mod_status answer
/// h2c streams as they answer HTTP/1.1.
fn every_handler_over_h2(mpm: Mpm) {
    if !have("curl") {
        return;
    }
    let ng = nginx();
    let (be, _be_site, _) = backend();
    let port = free_port();
    let fpm = php_fpm(
        |_| format!("127.0.0.1:{port}"),
        |_| TcpStream::connect(("127.0.0.1", port)).is_ok(),
    );
    let site = Site::new();
    std::fs::write(site.p("htdocs/index.php"), PHP_PAGE).unwrap();
    std::fs::create_dir_all(site.p("htdocs/list")).unwrap();
    std::fs::write(site.p("htdocs/list/entry.txt"), "e\n").unwrap();
    let conf = format!(
        "LoadModule http2_module x\nProtocols h2 h2c http/1.1\nLoadModule status_module x\n\
         DocumentRoot \"{docs}\"\n<Directory \"{docs}/list\">\n  Options +Indexes\n</Directory>\n\
         <Location /server-status>\n  SetHandler server-status\n</Location>\n\
         ProxyPass /ng/ http://127.0.0.1:{ng}/\nProxyPass /be/ http://127.0.0.1:{be}/\n\
         ProxyPass \"/app/\" \"fcgi://127.0.0.1:{port}{docs}/\"\n",
        docs = site.s("htdocs"),
        ng = ng.port,
        be = be.port,
    );
    let s = start(mpm, &conf);
    let base = format!("http://127.0.0.1:{}", s.port);
    let (v, body) = h2_fetch(&[], &format!("{base}/ng/file.txt"));
    assert_eq!((v.as_str(), body.as_str()), ("2 200", "from nginx\n"));
    let post = "x".repeat(100_000);
    let (v, body) = h2_fetch(
        &["--data-binary", &post, "-H", "Content-Type: text/plain"],
        &format!("{base}/be/cgi-bin/echo.cgi"),
    );
    assert_eq!(v, "2 200", "{body}");
    assert!(body.contains("CONTENT_LENGTH=100000"), "{body}");
    assert!(
        body.ends_with(&format!("--body--\n{post}")),
        "proxied body lost"
    );
    let (v, body) = h2_fetch(&[], &format!("{base}/app/index.php?a=h2"));
    assert_eq!(v, "2 200", "{body}");
    assert!(
        body.contains("get=h2\n") && body.contains("method=GET\n"),
        "{body}"
    );
    let (v, body) = h2_fetch(&["-d", "p=posted"], &format!("{base}/app/index.php"));
    assert_eq!(v, "2 200", "{body}");
    assert!(
        body.contains("post=posted\n") && body.contains("method=POST\n"),
        "{body}"
    );
    let (v, body) = h2_fetch(&[], &format!("{base}/list/"));
    assert_eq!(v, "2 200");
    assert!(
        body.contains("Index of /list") && body.contains("entry.txt"),
        "{body}"
    );
    let (v, body) = h2_fetch(&[], &format!("{base}/server-status?auto"));
    assert_eq!(v, "2 200");
    assert!(body.contains("Total Accesses:"), "{body}");
    drop(fpm);
}

#[test]
fn every_handler_over_h2_event() {
    every_handler_over_h2(EVENT);
}

#[test]
fn every_handler_over_h2_worker() {
    every_handler_over_h2(WORKER);
}
