//! End-to-end tests of TLS (mod_ssl, issue #12) against the real binary with real
//! clients (curl, `openssl s_client`, python3 `ssl`): HTTPS under every MPM, SNI and the
//! vhosts it selects (421, SSLStrictSNIVHostCheck), RSA + ECDSA on one vhost, protocol
//! and cipher directives, plain HTTP on the TLS port, `SSLOptions +StdEnvVars` and client
//! certificates to CGI, `%{SSL_*}x` in the access log.
//!
//! Certificates are made at test time (tests/common/tls.rs). Errors at start, graceful
//! restart, idle and stalled TLS connections under event: tests/e2e_tls_lifecycle.rs.
//! Session resumption: tests/e2e_tls_resume.rs.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::tls::{self, EVENT, Mpm, ONE_PROCESS, PREFORK, SHMCB, TlsServer, WORKER};
use common::{parse_response, wait_until};

const CLIENTS: &[&str] = &["openssl", "curl"];

fn env_of(text: &str) -> Vec<String> {
    text.lines().map(str::to_string).collect()
}

fn env_has(env: &[String], line: &str) -> bool {
    env.iter().any(|l| l == line)
}

fn env_value<'a>(env: &'a [String], name: &str) -> Option<&'a str> {
    env.iter()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
}

/// Deterministic bytes that do not repeat in short periods.
fn pattern(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// HTTPS under every MPM

fn https_basics(mpm: Mpm) {
    if !tls::have_clients(CLIENTS) {
        return;
    }
    let s = TlsServer::two_sites(mpm, SHMCB, "", "");
    let big = pattern(1 << 20);
    s.write("a/big.bin", &big);
    let ctx = |what: &str, c: &tls::Curl| {
        format!("{} ({what}): {}\n{}", mpm.name, c.describe(), s.diag())
    };

    let c = s.curl("a.test", "/", &[]);
    assert_eq!((c.http, c.verify), (200, 0), "{}", ctx("GET /", &c));
    assert_eq!(c.text(), "site a\n", "{}", ctx("GET /", &c));

    for (flags, want) in [
        (&["--tlsv1.3"][..], "TLSv1.3"),
        (&["--tlsv1.2", "--tls-max", "1.2"][..], "TLSv1.2"),
    ] {
        let c = s.curl("a.test", "/big.bin", flags);
        let what = format!("1 MiB over {want}");
        assert_eq!((c.http, c.verify), (200, 0), "{}", ctx(&what, &c));
        assert!(
            c.tls.as_deref().is_some_and(|t| t.starts_with(want)),
            "{}",
            ctx(&format!("expected {want}"), &c)
        );
        assert_eq!(c.body.len(), big.len(), "{}: body length", ctx(&what, &c));
        assert!(
            c.body == big,
            "{}: the body differs from the file",
            mpm.name
        );
    }

    // Keep-alive: the second transfer reuses the first connection.
    let url = format!("https://a.test:{}/", s.tls);
    let resolve = format!("a.test:{}:127.0.0.1", s.tls);
    let out = common::curl(&[
        "--cacert",
        &s.conf("ca.crt"),
        "--resolve",
        &resolve,
        "-o",
        "/dev/null",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code} %{num_connects}\n",
        &url,
        &url,
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text,
        "200 1\n200 0\n",
        "{}: two GETs in one curl, expected one connection reused; stderr {}\n{}",
        mpm.name,
        String::from_utf8_lossy(&out.stderr),
        s.diag()
    );
}

#[test]
fn https_static_prefork() {
    https_basics(PREFORK);
}

#[test]
fn https_static_worker() {
    https_basics(WORKER);
}

#[test]
fn https_static_event() {
    https_basics(EVENT);
}

#[test]
fn https_static_one_process() {
    https_basics(ONE_PROCESS);
}

#[test]
fn python_ssl_client_gets_200() {
    if !tls::have_clients(&["openssl", "python3"]) {
        return;
    }
    let s = TlsServer::two_sites(EVENT, SHMCB, "", "");
    let r = s.python_get("a.test", "/");
    assert!(r.success(), "{}\n{}", r.describe(), s.diag());
    assert!(r.out.starts_with("version=TLSv1.3\n"), "{}", r.describe());
    assert_eq!(r.http_status(), Some(200), "{}", r.describe());
    assert!(r.out.ends_with("\r\n\r\nsite a\n"), "{}", r.describe());
    assert!(
        !r.out.contains("NO_CLOSE_NOTIFY"),
        "the server closed without close_notify: {}",
        r.describe()
    );
}

// ---------------------------------------------------------------------------------------
// SNI

#[test]
fn sni_selects_the_certificate_and_the_vhost() {
    if !tls::have_clients(CLIENTS) {
        return;
    }
    let s = TlsServer::two_sites(EVENT, SHMCB, "", "");
    for (name, subject, body) in [
        ("a.test", "CN=a.test,O=Test", "site a\n"),
        ("b.test", "CN=b.test,O=Test", "site b\n"),
    ] {
        let (got, _) = s.presented(&["-servername", name]);
        assert_eq!(got, subject, "certificate for SNI {name}\n{}", s.diag());
        // Verified against the root alone: the intermediate is sent (a: from
        // SSLCertificateChainFile, b: from its SSLCertificateFile).
        let c = s.curl(name, "/", &[]);
        assert_eq!(
            (c.http, c.verify),
            (200, 0),
            "{name}: {}\n{}",
            c.describe(),
            s.diag()
        );
        assert_eq!(c.text(), body, "{name}: {}", c.describe());
    }
    // An SNI name no vhost has: the first vhost of the address.
    let (got, _) = s.presented(&["-servername", "c.test"]);
    assert_eq!(
        got,
        "CN=a.test,O=Test",
        "certificate for SNI c.test\n{}",
        s.diag()
    );
}

#[test]
fn no_sni_gets_the_first_vhost() {
    if !tls::have_clients(CLIENTS) {
        return;
    }
    let s = TlsServer::two_sites(EVENT, SHMCB, "", "");
    let (got, _) = s.presented(&["-noservername"]);
    assert_eq!(
        got,
        "CN=a.test,O=Test",
        "certificate without SNI\n{}",
        s.diag()
    );
    // curl sends no SNI to an IP address.
    let url = format!("https://127.0.0.1:{}/", s.tls);
    let c = s.curl_raw(&["-k", &url]);
    assert_eq!(c.http, 200, "{}\n{}", c.describe(), s.diag());
    assert_eq!(c.text(), "site a\n", "{}", c.describe());
    let r = s.s_get(None, "b.test", "/", &[]);
    assert_eq!(
        r.http_status(),
        Some(200),
        "no SNI, Host b.test: {}\n{}",
        r.describe(),
        s.diag()
    );
}

#[test]
fn sni_and_host_of_vhosts_with_different_certificates_is_421() {
    if !tls::have_clients(CLIENTS) {
        return;
    }
    let s = TlsServer::two_sites(EVENT, SHMCB, "", "");
    let c = s.curl("a.test", "/", &["-H", "Host: b.test"]);
    assert_eq!(
        c.http,
        421,
        "SNI a.test, Host b.test: expected 421 Misdirected Request; {}\n{}",
        c.describe(),
        s.diag()
    );
    let r = s.s_get(Some("b.test"), "a.test", "/", &[]);
    assert_eq!(
        r.http_status(),
        Some(421),
        "SNI b.test, Host a.test: {}",
        r.describe()
    );
    let r = s.s_get(Some("b.test"), "b.test", "/", &[]);
    assert_eq!(
        r.http_status(),
        Some(200),
        "SNI b.test, Host b.test: {}",
        r.describe()
    );
    assert_eq!(r.http_body(), "site b\n", "{}", r.describe());
}

#[test]
fn strict_sni_vhost_check_refuses_clients_without_sni() {
    if !tls::have_clients(CLIENTS) {
        return;
    }
    let s = TlsServer::two_sites(EVENT, SHMCB, "  SSLStrictSNIVHostCheck on\n", "");
    let url = format!("https://127.0.0.1:{}/", s.tls);
    let c = s.curl_raw(&["-k", &url]);
    assert_eq!(c.http, 403, "no SNI: {}\n{}", c.describe(), s.diag());
    let r = s.s_get(None, "a.test", "/", &[]);
    assert_eq!(
        r.http_status(),
        Some(403),
        "no SNI, Host a.test: {}",
        r.describe()
    );
    let c = s.curl("a.test", "/", &[]);
    assert_eq!(
        (c.http, c.text().as_str()),
        (200, "site a\n"),
        "{}",
        c.describe()
    );
}

// ---------------------------------------------------------------------------------------
// Certificates, protocols, ciphers

#[test]
fn rsa_and_ecdsa_certificates_on_one_vhost() {
    if !tls::have_clients(CLIENTS) {
        return;
    }
    let s = TlsServer::start(EVENT, |root, tls_port| {
        tls::make_rsa_a(root);
        let v = tls::vhost(
            root,
            tls_port,
            "a.test",
            "a",
            &[
                ("conf/a-rsa.crt", "conf/a-rsa.key"),
                ("conf/a.crt", "conf/a.key"),
            ],
            "  SSLCertificateChainFile conf/inter.crt\n  SSLCipherSuite HIGH:!aNULL\n",
        );
        format!("{}Listen 127.0.0.1:{tls_port} https\n{v}", tls::SSL_MODULE)
    });
    let cases: [(&[&str], &str, &str); 4] = [
        (
            &["-tls1_3", "-sigalgs", "ecdsa_secp256r1_sha256"],
            "id-ecPublicKey",
            "CN=a.test,O=Test",
        ),
        (
            &[
                "-tls1_3",
                "-sigalgs",
                "rsa_pss_rsae_sha256:rsa_pkcs1_sha256",
            ],
            "rsaEncryption",
            "CN=a.test,O=Test RSA",
        ),
        (
            &["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"],
            "id-ecPublicKey",
            "CN=a.test,O=Test",
        ),
        (
            &["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"],
            "rsaEncryption",
            "CN=a.test,O=Test RSA",
        ),
    ];
    for (flags, alg, subject) in cases {
        let mut args = vec!["-servername", "a.test"];
        args.extend_from_slice(flags);
        let got = s.presented(&args);
        assert_eq!(
            got,
            (subject.to_string(), alg.to_string()),
            "s_client {flags:?}\n{}",
            s.diag()
        );
    }
    // Both chains verify.
    for ciphers in [
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
    ] {
        let c = s.curl(
            "a.test",
            "/",
            &["--tlsv1.2", "--tls-max", "1.2", "--ciphers", ciphers],
        );
        assert_eq!((c.http, c.verify), (200, 0), "{ciphers}: {}", c.describe());
    }
}

#[test]
fn ssl_protocol_and_cipher_suite_with_server_order() {
    if !tls::have_clients(CLIENTS) {
        return;
    }
    let s = TlsServer::start(EVENT, |root, tls_port| {
        let v = tls::vhost(
            root,
            tls_port,
            "a.test",
            "a",
            &[("conf/a.crt", "conf/a.key")],
            "  SSLCertificateChainFile conf/inter.crt\n  SSLProtocol -all +TLSv1.2\n  SSLCipherSuite ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256\n  SSLHonorCipherOrder on\n",
        );
        format!("{}Listen 127.0.0.1:{tls_port} https\n{v}", tls::SSL_MODULE)
    });
    let c = s.curl("a.test", "/", &["--tlsv1.3"]);
    assert_eq!(
        c.http,
        0,
        "TLS 1.3 must be refused by SSLProtocol -all +TLSv1.2: {}",
        c.describe()
    );
    // The client prefers AES-GCM; the server's order wins.
    let c = s.curl(
        "a.test",
        "/",
        &[
            "--tlsv1.2",
            "--tls-max",
            "1.2",
            "--ciphers",
            "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305",
        ],
    );
    assert_eq!(c.http, 200, "{}\n{}", c.describe(), s.diag());
    assert_eq!(
        c.tls.as_deref(),
        Some("TLSv1.2 / ECDHE-ECDSA-CHACHA20-POLY1305"),
        "SSLHonorCipherOrder on: {}",
        c.describe()
    );
    let c = s.curl(
        "a.test",
        "/",
        &[
            "--tlsv1.2",
            "--tls-max",
            "1.2",
            "--ciphers",
            "ECDHE-ECDSA-AES256-GCM-SHA384",
        ],
    );
    assert_eq!(
        c.http,
        0,
        "a suite outside SSLCipherSuite was accepted: {}",
        c.describe()
    );
}

#[test]
fn plain_http_on_the_tls_port_gets_400() {
    let s = TlsServer::two_sites(EVENT, SHMCB, "", "");
    let mut c = TcpStream::connect(("127.0.0.1", s.tls)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    let _ = c.read_to_end(&mut raw);
    let r = parse_response(&raw).unwrap_or_else(|| {
        panic!(
            "expected Apache's 400 page, got {:?}\n{}",
            String::from_utf8_lossy(&raw),
            s.diag()
        )
    });
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.text()
            .contains("You're speaking plain HTTP to an SSL-enabled server port"),
        "{}",
        r.text()
    );
}

// ---------------------------------------------------------------------------------------
// SSLOptions +StdEnvVars and client certificates

#[test]
fn std_env_vars_reach_cgi() {
    if !tls::have_clients(CLIENTS) {
        return;
    }
    // Debian's default-ssl.conf form on a.test; nothing on b.test.
    let s = TlsServer::two_sites(
        EVENT,
        &format!("{}{SHMCB}", tls::CGI_MODULE),
        "  <FilesMatch \"\\.(cgi|shtml|phtml|php)$\">\n    SSLOptions +StdEnvVars\n  </FilesMatch>\n",
        "",
    );
    let tls_port = s.tls.to_string();
    for (flags, protocol, cipher) in [
        (
            &["--tlsv1.3", "--tls13-ciphers", "TLS_AES_128_GCM_SHA256"][..],
            "TLSv1.3",
            "TLS_AES_128_GCM_SHA256",
        ),
        (
            &[
                "--tlsv1.2",
                "--tls-max",
                "1.2",
                "--ciphers",
                "ECDHE-ECDSA-AES128-GCM-SHA256",
            ][..],
            "TLSv1.2",
            "ECDHE-ECDSA-AES128-GCM-SHA256",
        ),
    ] {
        let c = s.curl("a.test", "/cgi-bin/env.cgi", flags);
        assert_eq!(c.http, 200, "{}\n{}", c.describe(), s.diag());
        let env = env_of(&c.text());
        for want in [
            "HTTPS=on".to_string(),
            format!("SSL_PROTOCOL={protocol}"),
            format!("SSL_CIPHER={cipher}"),
            "SSL_TLS_SNI=a.test".into(),
            "SSL_SESSION_RESUMED=Initial".into(),
            "REQUEST_SCHEME=https".into(),
            format!("SERVER_PORT={tls_port}"),
            "SERVER_NAME=a.test".into(),
        ] {
            assert!(
                env_has(&env, &want),
                "{protocol}: missing {want} in\n{}",
                c.text()
            );
        }
        assert_eq!(
            env_value(&env, "SSL_CLIENT_VERIFY"),
            Some("NONE"),
            "{}",
            c.text()
        );
    }
    let c = s.curl("b.test", "/cgi-bin/env.cgi", &[]);
    assert_eq!(c.http, 200, "{}", c.describe());
    let env = env_of(&c.text());
    assert!(
        env_has(&env, "HTTPS=on"),
        "b.test: HTTPS=on is set without StdEnvVars:\n{}",
        c.text()
    );
    assert!(
        env_value(&env, "SSL_PROTOCOL").is_none(),
        "b.test has no SSLOptions +StdEnvVars, yet:\n{}",
        c.text()
    );
}

#[test]
fn client_certificates_require_and_optional() {
    if !tls::have_clients(CLIENTS) {
        return;
    }
    let verify = |mode: &str| {
        format!(
            "  SSLVerifyClient {mode}\n  SSLVerifyDepth 2\n  SSLCACertificateFile conf/ca.crt\n"
        )
    };
    let s = TlsServer::start(EVENT, |root, tls_port| {
        tls::make_rogue_client(root);
        let global = format!(
            "{}{SHMCB}<Directory \"{}/cgi-bin\">\n  SSLOptions +StdEnvVars\n</Directory>\n",
            tls::CGI_MODULE,
            root.display()
        );
        tls::two_sites(
            root,
            tls_port,
            &global,
            &verify("require"),
            &verify("optional"),
        )
    });
    let (crt, key) = (s.conf("client.crt"), s.conf("client.key"));
    let mine = ["--cert", crt.as_str(), "--key", key.as_str()];
    let (rcrt, rkey) = (s.conf("rogue.crt"), s.conf("rogue.key"));
    let rogue = ["--cert", rcrt.as_str(), "--key", rkey.as_str()];

    // require: no certificate, or one no configured CA signed -> no response at all.
    for (what, flags) in [
        ("no certificate", &[][..]),
        ("an unknown CA's certificate", &rogue[..]),
    ] {
        let c = s.curl("a.test", "/cgi-bin/env.cgi", flags);
        assert!(
            !c.ran.success() && c.http == 0,
            "SSLVerifyClient require with {what}: expected a failed handshake, got {}",
            c.describe()
        );
    }
    for tls_flags in [&["--tlsv1.3"][..], &["--tlsv1.2", "--tls-max", "1.2"][..]] {
        let mut flags = mine.to_vec();
        flags.extend_from_slice(tls_flags);
        let c = s.curl("a.test", "/cgi-bin/env.cgi", &flags);
        assert_eq!(
            c.http,
            200,
            "require + client cert {tls_flags:?}: {}\n{}",
            c.describe(),
            s.diag()
        );
        let env = env_of(&c.text());
        for want in [
            "SSL_CLIENT_VERIFY=SUCCESS",
            "SSL_CLIENT_S_DN=CN=client,O=Test",
            "SSL_CLIENT_I_DN=CN=Test CA,O=Test",
            "HTTPS=on",
        ] {
            assert!(
                env_has(&env, want),
                "{tls_flags:?}: missing {want} in\n{}",
                c.text()
            );
        }
    }

    // optional: no certificate is fine; one is verified.
    let c = s.curl("b.test", "/cgi-bin/env.cgi", &[]);
    assert_eq!(
        c.http,
        200,
        "optional without cert: {}\n{}",
        c.describe(),
        s.diag()
    );
    let env = env_of(&c.text());
    assert_eq!(
        env_value(&env, "SSL_CLIENT_VERIFY"),
        Some("NONE"),
        "{}",
        c.text()
    );
    assert!(env_value(&env, "SSL_CLIENT_S_DN").is_none(), "{}", c.text());
    let c = s.curl("b.test", "/cgi-bin/env.cgi", &mine);
    assert_eq!(c.http, 200, "optional with cert: {}", c.describe());
    let env = env_of(&c.text());
    assert_eq!(
        env_value(&env, "SSL_CLIENT_VERIFY"),
        Some("SUCCESS"),
        "{}",
        c.text()
    );
    assert_eq!(
        env_value(&env, "SSL_CLIENT_S_DN"),
        Some("CN=client,O=Test"),
        "{}",
        c.text()
    );
}

// ---------------------------------------------------------------------------------------
// Access log

#[test]
fn access_log_has_ssl_protocol_cipher_and_resumption() {
    if !tls::have_clients(CLIENTS) {
        return;
    }
    let s = TlsServer::two_sites(
        EVENT,
        &format!("{SHMCB}SSLSessionTickets on\n{}", tls::TLS_LOG),
        "",
        "",
    );
    let c = s.curl(
        "a.test",
        "/index.html?t13",
        &["--tlsv1.3", "--tls13-ciphers", "TLS_AES_256_GCM_SHA384"],
    );
    assert_eq!(c.http, 200, "{}", c.describe());
    let c = s.curl(
        "a.test",
        "/index.html?t12",
        &[
            "--tlsv1.2",
            "--tls-max",
            "1.2",
            "--ciphers",
            "ECDHE-ECDSA-AES256-GCM-SHA384",
        ],
    );
    assert_eq!(c.http, 200, "{}", c.describe());
    let sess = s.path("logs/sess.pem").display().to_string();
    let suite = ["-ciphersuites", "TLS_AES_256_GCM_SHA384"];
    let r = s.s_get(
        Some("a.test"),
        "a.test",
        "/index.html?first",
        &[&suite[..], &["-sess_out", &sess]].concat(),
    );
    assert_eq!(r.session(), Some("New"), "{}", r.describe());
    let r = s.s_get(
        Some("a.test"),
        "a.test",
        "/index.html?again",
        &[&suite[..], &["-sess_in", &sess]].concat(),
    );
    assert_eq!(
        r.session(),
        Some("Reused"),
        "{}\n{}",
        r.describe(),
        s.diag()
    );
    assert_eq!(s.get("/index.html?plain").status, 200);

    for want in [
        "127.0.0.1 TLSv1.3 TLS_AES_256_GCM_SHA384 Initial \"GET /index.html?t13 HTTP/1.1\" 200",
        "127.0.0.1 TLSv1.2 ECDHE-ECDSA-AES256-GCM-SHA384 Initial \"GET /index.html?t12 HTTP/1.1\" 200",
        "127.0.0.1 TLSv1.3 TLS_AES_256_GCM_SHA384 Initial \"GET /index.html?first HTTP/1.0\" 200",
        "127.0.0.1 TLSv1.3 TLS_AES_256_GCM_SHA384 Resumed \"GET /index.html?again HTTP/1.0\" 200",
        "127.0.0.1 - - - \"GET /index.html?plain HTTP/1.1\" 200",
    ] {
        let mut log = String::new();
        let ok = wait_until(Duration::from_secs(10), || {
            log = s.log("tls_log");
            log.lines().any(|l| l == want)
        });
        assert!(ok, "expected the line\n{want}\nin tls_log:\n{log}");
    }
}
