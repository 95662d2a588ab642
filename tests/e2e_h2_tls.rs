//! HTTP/2 over TLS (issue #13): ALPN `h2` per the SNI host's `Protocols`, headless
//! Chromium loading a page with its stylesheet, script and image over h2, curl and
//! nghttp over https, and 421 for a request that names a host with other TLS settings
//! on a coalesced connection.

mod common;

use std::time::Duration;

use common::tls::{self, EVENT, TlsServer, WORKER};

const H2: &str = "LoadModule http2_module modules/mod_http2.so\nProtocols h2 http/1.1\n\
                  LogFormat \"%v %H \\\"%r\\\" %>s\" h2log\nCustomLog logs/h2_log h2log\n";

/// A page whose script marks the DOM once it ran, with a stylesheet and an image.
fn write_page(s: &TlsServer) {
    let a = s.path("a");
    std::fs::write(
        a.join("page.html"),
        "<!doctype html><html><head><link rel=stylesheet href=style.css>\
         <script src=app.js></script></head><body><img src=img.png id=i>\
         <p id=p>static</p></body></html>\n",
    )
    .unwrap();
    std::fs::write(a.join("style.css"), "p { color: green }\n").unwrap();
    std::fs::write(
        a.join("app.js"),
        "document.addEventListener('DOMContentLoaded', () => \
         { document.getElementById('p').textContent = 'script ran'; });\n",
    )
    .unwrap();
    // A 1x1 transparent PNG.
    let png: &[u8] = &[
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52, 0,
        0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89, 0, 0, 0, 0x0d, 0x49, 0x44,
        0x41, 0x54, 0x78, 0x9c, 0x63, 0, 1, 0, 0, 5, 0, 1, 0x0d, 0x0a, 0x2d, 0xb4, 0, 0, 0, 0,
        0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
    ];
    std::fs::write(a.join("img.png"), png).unwrap();
}

#[test]
fn chromium_loads_a_page_over_h2() {
    let Some(browser) = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|b| common::have(b))
    else {
        eprintln!("skipped: chromium is not installed (scripts/test.sh installs it)");
        return;
    };
    let s = TlsServer::two_sites(EVENT, H2, "", "");
    write_page(&s);
    let profile = tempfile::tempdir().unwrap();
    let url = format!("https://a.test:{}/page.html", s.tls);
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
        ran.out.contains("script ran"),
        "Chromium did not run the page's script: {}\n{}",
        ran.describe(),
        s.diag()
    );
    let log = s.wait_log("h2_log", "\"GET /img.png HTTP/2.0\" 200");
    for path in ["/page.html", "/style.css", "/app.js", "/img.png"] {
        assert!(
            log.contains(&format!("HTTP/2.0 \"GET {path} HTTP/2.0\" 200")),
            "{path} not fetched over h2: {log}"
        );
    }
}

fn alpn_h2(mpm: tls::Mpm) {
    if !common::have("curl") {
        return;
    }
    let s = TlsServer::two_sites(mpm, H2, "", "");
    let resolve = format!("a.test:{}:127.0.0.1", s.tls);
    let url = format!("https://a.test:{}/", s.tls);
    let o = common::curl(&[
        "-k",
        "--http2",
        "--resolve",
        &resolve,
        "-w",
        "%{http_version}",
        &url,
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(out, "site a\n2", "{}", s.diag());
    // A client that offers only http/1.1 gets it.
    let o = common::curl(&[
        "-k",
        "--http1.1",
        "--resolve",
        &resolve,
        "-w",
        "%{http_version}",
        &url,
    ]);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "site a\n1.1");
    // Several streams on one TLS connection.
    if common::have("nghttp") {
        let urls: Vec<String> = (0..8)
            .map(|i| format!("https://127.0.0.1:{}/?n={i}", s.tls))
            .collect();
        let mut cmd = common::command("nghttp");
        cmd.args(["-ns", "-t", "20"]).args(&urls);
        let o = common::output(&mut cmd).expect("nghttp");
        let out = String::from_utf8_lossy(&o.stdout);
        assert_eq!(out.matches(" 200 ").count(), 8, "{out}");
    }
}

#[test]
fn event_negotiates_h2_by_alpn() {
    alpn_h2(EVENT);
}

#[test]
fn worker_negotiates_h2_by_alpn() {
    alpn_h2(WORKER);
}

/// h2load -n 20000 -c 10 -m 10 over TLS (ALPN h2) on event: every request answered 200.
#[test]
fn event_h2load_over_tls_all_requests_succeed() {
    if !common::have("h2load") {
        eprintln!("h2load missing (nghttp2-client; scripts/test.sh installs it): skipped");
        return;
    }
    let s = TlsServer::two_sites(EVENT, H2, "", "");
    std::fs::write(s.path("a").join("1k.txt"), "x".repeat(1024)).unwrap();
    let url = format!("https://127.0.0.1:{}/1k.txt", s.tls);
    let ran = tls::run_bounded(
        common::command("h2load").args(["-n", "20000", "-c", "10", "-m", "10", &url]),
        b"",
        Duration::from_secs(120),
    );
    assert!(!ran.timed_out, "h2load did not finish: {}", ran.describe());
    let n = 20000;
    let want = format!("requests: {n} total, {n} started, {n} done, {n} succeeded, 0 failed");
    assert!(
        ran.out.contains(&want),
        "h2load:\n{}\n{}",
        ran.out,
        s.diag()
    );
    assert!(
        ran.out.contains(&format!("status codes: {n} 2xx")),
        "{}",
        ran.out
    );
    assert!(ran.out.contains("Application protocol: h2"), "{}", ran.out);
}

/// The SNI host decides ALPN: a host without h2 in its Protocols answers HTTP/1.1; a
/// request on an h2 connection to a.test that names b.test (other certificate) is 421.
#[test]
fn alpn_follows_the_sni_host_and_coalescing_is_421() {
    if !common::have("curl") {
        return;
    }
    let s = TlsServer::two_sites(
        EVENT,
        "LoadModule http2_module modules/mod_http2.so\n",
        "  Protocols h2 http/1.1\n",
        "  Protocols http/1.1\n",
    );
    let v = |host: &str| {
        let o = common::curl(&[
            "-k",
            "--http2",
            "--resolve",
            &format!("{host}:{}:127.0.0.1", s.tls),
            "-w",
            "%{http_version}",
            "-o",
            "/dev/null",
            &format!("https://{host}:{}/", s.tls),
        ]);
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    assert_eq!(v("a.test"), "2");
    assert_eq!(v("b.test"), "1.1");
    // SNI a.test, then :authority b.test on the same h2 connection.
    let o = common::curl(&[
        "-k",
        "--http2",
        "--resolve",
        &format!("a.test:{}:127.0.0.1", s.tls),
        "-H",
        "Host: b.test",
        "-w",
        "%{http_version} %{http_code}",
        "-o",
        "/dev/null",
        &format!("https://a.test:{}/", s.tls),
    ]);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "2 421", "{}", s.diag());
}
