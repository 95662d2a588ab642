//! TLS seen from more clients and from the operator's side: headless Chromium loading a
//! page over HTTPS, mod_proxy towards an `https://` backend (`SSLProxyEngine`,
//! `SSLProxyVerify`, `SSLProxyCheckPeerName`), and which hosts `-S` and mod_status
//! show as TLS.

mod common;

use std::time::Duration;

use common::tls::{self, EVENT, SHMCB, TLS_LOG, TlsServer};

/// Headless Chromium, as a user's browser: the page arrives over TLS 1.3 and the access
/// log says so.
#[test]
fn chromium_loads_a_page_over_https() {
    let Some(browser) = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|b| common::have(b))
    else {
        eprintln!("skipped: chromium is not installed (scripts/test.sh installs it)");
        return;
    };
    let s = TlsServer::two_sites(EVENT, &format!("{SHMCB}{TLS_LOG}"), "", "");
    let profile = tempfile::tempdir().unwrap();
    let url = format!("https://a.test:{}/", s.tls);
    let ran = tls::run_bounded(
        common::command(browser).args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-dev-shm-usage",
            "--ignore-certificate-errors",
            &format!("--user-data-dir={}", profile.path().display()),
            "--host-resolver-rules=MAP a.test 127.0.0.1",
            "--dump-dom",
            &url,
        ]),
        b"",
        Duration::from_secs(60),
    );
    assert!(
        ran.out.contains("site a"),
        "Chromium did not show the page: {}\n{}",
        ran.describe(),
        s.diag()
    );
    let log = s.wait_log("tls_log", "\"GET / HTTP/1.1\" 200");
    assert!(
        log.lines()
            .any(|l| l.contains(" TLSv1.3 ") && l.contains("\"GET / HTTP/1.1\" 200")),
        "access log: {log}"
    );
}

/// A plain front server proxying `/app/` to the TLS site.
fn front(backend: &TlsServer, ssl: &str) -> common::Server {
    common::Server::start(&format!(
        "LoadModule proxy_module modules/mod_proxy.so\n\
         LoadModule proxy_http_module modules/mod_proxy_http.so\n\
         LoadModule ssl_module modules/mod_ssl.so\n\
         {ssl}\
         ProxyPass /app/ https://127.0.0.1:{}/ retry=0\n",
        backend.tls
    ))
}

#[test]
fn https_backends_need_ssl_proxy_engine_and_follow_ssl_proxy_verify() {
    if !tls::have_clients(&["openssl"]) {
        return;
    }
    let backend = TlsServer::two_sites(EVENT, &format!("{SHMCB}{TLS_LOG}"), "", "");
    let ca = backend.conf("ca.crt");

    // SSLProxyVerify none (Apache's default): any certificate; the backend's first
    // vhost answers (no SNI for an IP address).
    let f = front(&backend, "SSLProxyEngine on\n");
    let r = f.get("/app/index.html");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), f.log("error_log"));
    assert_eq!(r.text(), "site a\n");
    let log = backend.wait_log("tls_log", "\"GET /index.html HTTP/1.1\" 200");
    assert!(log.contains(" TLSv1.3 "), "the backend saw: {log}");
    // A second request may reuse the pooled TLS connection; either way it works.
    assert_eq!(f.get("/app/index.html").status, 200);

    // Without SSLProxyEngine the https:// backend is refused (AH00961), nothing sent.
    let f = front(&backend, "");
    let r = f.get("/app/index.html");
    assert!(r.status >= 500, "got {}: {}", r.status, r.text());
    let err = f.wait_log("error_log", "AH00961");
    assert!(err.contains("SSLProxyEngine"), "{err}");

    // SSLProxyVerify require: the chain is checked against SSLProxyCACertificateFile;
    // the certificate names a.test, not 127.0.0.1, so the name check refuses it ...
    let verify =
        format!("SSLProxyEngine on\nSSLProxyVerify require\nSSLProxyCACertificateFile {ca}\n");
    let f = front(&backend, &verify);
    let r = f.get("/app/index.html");
    assert!(
        r.status >= 500,
        "a name mismatch must fail, got {}",
        r.status
    );
    // ... and SSLProxyCheckPeerName off accepts the verified chain.
    let f = front(&backend, &format!("{verify}SSLProxyCheckPeerName off\n"));
    let r = f.get("/app/index.html");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), f.log("error_log"));

    // A CA that did not sign the backend's certificate: refused.
    let other = tempfile::tempdir().unwrap();
    tls::openssl(
        other.path(),
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "o.key",
            "-out",
            "o.crt",
            "-subj",
            "/CN=Other CA",
            "-days",
            "2",
        ],
    );
    let f = front(
        &backend,
        &format!(
            "SSLProxyEngine on\nSSLProxyVerify require\nSSLProxyCheckPeerName off\nSSLProxyCACertificateFile {}\n",
            other.path().join("o.crt").display()
        ),
    );
    let r = f.get("/app/index.html");
    assert!(r.status >= 500, "an unknown CA must fail, got {}", r.status);
}

#[test]
fn dash_s_and_server_status_name_the_tls_hosts() {
    if !tls::have_clients(&["openssl"]) {
        return;
    }
    // Tickets off: sessions go to the shared cache (Debian's setting).
    let s = TlsServer::two_sites(
        EVENT,
        &format!("{SHMCB}SSLSessionTickets off\n{}", tls::STATUS),
        "",
        "",
    );
    let out = common::run(&["-S", "-f", &s.conf("httpd.conf")]);
    let text = String::from_utf8_lossy(&out.stdout);
    for name in ["a.test", "b.test"] {
        assert!(
            text.lines()
                .any(|l| l.contains(&format!("namevhost {name} (")) && l.ends_with("[TLS]")),
            "-S must mark {name} as TLS:\n{text}"
        );
    }
    // A session, so the cache has counted something.
    assert_eq!(s.curl("a.test", "/", &[]).http, 200);
    let auto = s.get("/server-status?auto").text();
    let tail: Vec<&str> = auto
        .lines()
        .skip_while(|l| *l != "TLSSessionCacheStatus")
        .collect();
    assert!(
        tail.first() == Some(&"TLSSessionCacheStatus")
            && tail.contains(&"CacheType: SHMCB")
            && tail.contains(&"CacheSharedMemory: 512000"),
        "?auto: {auto}"
    );
    assert!(
        tail.iter().any(|l| l
            .strip_prefix("CacheStoreCount: ")
            .is_some_and(|n| n.parse::<u64>().unwrap_or(0) >= 1)),
        "one full handshake stores a session: {auto}"
    );
    let html = s.get("/server-status").text();
    assert!(
        html.contains("Hosts with SSLEngine on: a.test:") && html.contains("b.test:"),
        "{html}"
    );
}
