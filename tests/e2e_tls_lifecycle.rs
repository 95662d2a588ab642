//! End-to-end tests of TLS (mod_ssl, issue #12) over a server's life: certificate and key
//! errors at start (`-t` and starting, Apache's AH00526 with file and line), an expired
//! certificate (a warning), a graceful restart refused for a missing certificate (the old
//! one keeps serving) and one that picks up a renewed certificate; under the event MPM,
//! idle TLS keep-alive connections and stalled handshakes that hold no worker.
//!
//! Certificates are made at test time (tests/common/tls.rs).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::tls::{self, EVENT, Mpm, PREFORK, SHMCB, TlsServer};
use common::{closed_within, wait_until};

const CLIENTS: &[&str] = &["openssl", "curl"];

// ---------------------------------------------------------------------------------------
// Errors at start and on graceful restart

/// A root whose configuration is the two sites with `edit` applied to the text.
fn broken_root(edit: impl FnOnce(String) -> String) -> (tempfile::TempDir, u16, u16) {
    let (root, port, tls_port) = tls::new_root();
    let body = edit(tls::two_sites(root.path(), tls_port, SHMCB, "", ""));
    tls::write_conf(root.path(), port, &body);
    (root, port, tls_port)
}

#[test]
fn missing_certificate_or_key_file_is_a_syntax_error() {
    for (directive, from, to) in [
        (
            "SSLCertificateFile",
            "SSLCertificateFile conf/a.crt",
            "SSLCertificateFile conf/missing.crt",
        ),
        (
            "SSLCertificateKeyFile",
            "SSLCertificateKeyFile conf/b.key",
            "SSLCertificateKeyFile conf/missing.key",
        ),
    ] {
        let (root, _, _) = broken_root(|t| t.replace(from, to));
        let missing = to
            .split_whitespace()
            .nth(1)
            .unwrap()
            .trim_start_matches("conf/")
            .to_string();
        let line = tls::conf_line(root.path(), to);
        let conf = root.path().join("conf/httpd.conf");
        let head = format!(
            "AH00526: Syntax error on line {line} of {}:",
            conf.display()
        );
        let (code, text) = tls::config_test(root.path());
        assert_eq!(code, Some(1), "-t with a missing {directive}: {text}");
        assert!(text.contains(&head), "-t: expected {head:?} in:\n{text}");
        assert!(
            text.contains(&missing),
            "-t: the missing file {missing} is not named:\n{text}"
        );
        let (code, text) = tls::start_expecting_failure(root.path(), &["-X"]);
        assert_eq!(code, Some(1), "start with a missing {directive}: {text}");
        assert!(
            text.contains(&head) && text.contains(&missing),
            "start: {text}"
        );
    }
}

#[test]
fn unusable_certificates_refuse_to_start() {
    type Case = (&'static str, fn(String) -> String, &'static [&'static str]);
    let cases: [Case; 3] = [
        (
            "a key that does not match the certificate",
            |t| {
                t.replace(
                    "SSLCertificateKeyFile conf/a.key",
                    "SSLCertificateKeyFile conf/b.key",
                )
            },
            &["a.crt", "b.key"],
        ),
        (
            "a certificate file that holds no certificate",
            |t| {
                t.replace(
                    "SSLCertificateFile conf/a.crt",
                    "SSLCertificateFile conf/junk.crt",
                )
            },
            &["junk.crt"],
        ),
        (
            "SSLEngine on without a certificate",
            |t| {
                t.replace(
                    "  SSLCertificateFile conf/a.crt\n  SSLCertificateKeyFile conf/a.key\n",
                    "",
                )
                .replace("  SSLCertificateChainFile conf/inter.crt\n", "")
            },
            &["a.test"],
        ),
    ];
    for (what, edit, named) in cases {
        let (root, _, _) = broken_root(edit);
        std::fs::write(
            root.path().join("conf/junk.crt"),
            "this is not a certificate\n",
        )
        .unwrap();
        let (code, text) = tls::start_expecting_failure(root.path(), &["-X"]);
        assert_eq!(code, Some(1), "{what}: expected exit 1\n{text}");
        for n in named {
            assert!(text.contains(n), "{what}: {n} is not named in:\n{text}");
        }
        assert!(
            text.to_lowercase().contains("certificate"),
            "{what}: {text}"
        );
    }
}

#[test]
fn expired_certificate_warns_but_serves() {
    if !tls::have_clients(CLIENTS) {
        return;
    }
    let mut s = TlsServer::start(EVENT, |root, tls_port| {
        tls::make_expired_a(root);
        tls::two_sites(root, tls_port, SHMCB, "", "")
            .replace(
                "SSLCertificateFile conf/a.crt",
                "SSLCertificateFile conf/old.crt",
            )
            .replace(
                "SSLCertificateKeyFile conf/a.key",
                "SSLCertificateKeyFile conf/old.key",
            )
    });
    let c = s.curl("a.test", "/", &[]);
    assert_eq!(
        c.http,
        0,
        "curl accepted an expired certificate: {}",
        c.describe()
    );
    assert_eq!(
        c.verify,
        10,
        "X509_V_ERR_CERT_HAS_EXPIRED expected: {}",
        c.describe()
    );
    let c = s.curl("a.test", "/", &["-k"]);
    assert_eq!(
        (c.http, c.text().as_str()),
        (200, "site a\n"),
        "{}",
        c.describe()
    );
    let (warned, text) =
        s.said_at_start(|l| l.contains(":warn]") && l.to_lowercase().contains("expire"));
    assert!(
        warned,
        "expected a warning about the expired certificate:\n{text}"
    );
}

#[test]
fn cipher_suites_the_server_cannot_offer() {
    if !tls::have_clients(CLIENTS) {
        return;
    }
    // Nothing left: an error at start.
    let (root, _, _) = broken_root(|t| {
        t.replace(
            "  SSLProtocol all -SSLv3 -TLSv1 -TLSv1.1\n  SSLCipherSuite HIGH:!aNULL\n",
            "  SSLProtocol -all +TLSv1.2\n  SSLCipherSuite AES256-SHA:DHE-RSA-AES256-SHA\n",
        )
    });
    let (code, text) = tls::start_expecting_failure(root.path(), &["-X"]);
    assert_eq!(code, Some(1), "an SSLCipherSuite leaving no suite: {text}");
    assert!(
        text.contains("SSLCipherSuite") || text.to_lowercase().contains("cipher"),
        "{text}"
    );

    // One offerable, one not: a warning naming it, and the offerable one is used.
    let mut s = TlsServer::start(EVENT, |root, tls_port| {
        tls::two_sites(root, tls_port, SHMCB, "", "").replace(
            "SSLCipherSuite HIGH:!aNULL",
            "SSLCipherSuite ECDHE-ECDSA-AES128-GCM-SHA256:DHE-RSA-AES256-SHA",
        )
    });
    let c = s.curl("a.test", "/", &["--tlsv1.2", "--tls-max", "1.2"]);
    assert_eq!(c.http, 200, "{}\n{}", c.describe(), s.diag());
    assert_eq!(
        c.tls.as_deref(),
        Some("TLSv1.2 / ECDHE-ECDSA-AES128-GCM-SHA256"),
        "{}",
        c.describe()
    );
    let (warned, text) =
        s.said_at_start(|l| l.contains(":warn]") && l.contains("DHE-RSA-AES256-SHA"));
    assert!(
        warned,
        "expected a warning naming DHE-RSA-AES256-SHA:\n{text}"
    );
}

#[test]
fn ssl_use_stapling_is_accepted_with_a_notice() {
    if !tls::have_clients(CLIENTS) {
        return;
    }
    let mut s = TlsServer::two_sites(
        EVENT,
        &format!("{SHMCB}SSLStaplingCache shmcb:logs/ssl_stapling(32768)\n"),
        "  SSLUseStapling on\n",
        "",
    );
    let c = s.curl("a.test", "/", &[]);
    assert_eq!(
        (c.http, c.verify),
        (200, 0),
        "{}\n{}",
        c.describe(),
        s.diag()
    );
    let (said, text) = s.said_at_start(|l| l.to_lowercase().contains("stapling"));
    assert!(said, "SSLUseStapling on is accepted silently:\n{text}");
}

#[test]
fn graceful_restart_with_a_missing_certificate_keeps_the_old_one() {
    if !tls::have_clients(CLIENTS) {
        return;
    }
    let mut s = TlsServer::two_sites(PREFORK, SHMCB, "", "");
    let body = |cert: &str| {
        let text = tls::two_sites(s.root_path(), s.tls, SHMCB, "", "").replace(
            "SSLCertificateFile conf/a.crt",
            &format!("SSLCertificateFile {cert}"),
        );
        format!("{}{text}", PREFORK.conf)
    };
    assert_eq!(
        s.presented(&["-servername", "a.test"]).0,
        "CN=a.test,O=Test"
    );

    tls::write_conf(s.root_path(), s.port, &body("conf/missing.crt"));
    let out = s.run_ctl(&["-k", "graceful"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "-k graceful with a missing certificate: {err}"
    );
    assert!(
        err.contains("AH00526") && err.contains("missing.crt"),
        "{err}"
    );
    // A raw SIGUSR1: refused, logged, and the running generation keeps serving.
    s.signal(10);
    let log = s.wait_log("error_log", "missing.crt");
    assert!(
        log.contains("missing.crt"),
        "the refused restart is not logged:\n{log}"
    );
    assert_eq!(
        s.presented(&["-servername", "a.test"]).0,
        "CN=a.test,O=Test",
        "{}",
        s.diag()
    );
    let c = s.curl("a.test", "/", &[]);
    assert_eq!(
        (c.http, c.verify),
        (200, 0),
        "{}\n{}",
        c.describe(),
        s.diag()
    );

    // A renewed certificate is picked up by the next graceful restart.
    tls::issue(
        &s.path("conf"),
        "a2",
        "/O=Renewed/CN=a.test",
        tls::Key::Ec,
        "inter",
        &tls::server_ext("a.test"),
    );
    let text = body("conf/a2.crt").replace(
        "SSLCertificateKeyFile conf/a.key",
        "SSLCertificateKeyFile conf/a2.key",
    );
    tls::write_conf(s.root_path(), s.port, &text);
    let out = s.run_ctl(&["-k", "graceful"]);
    assert!(out.status.success(), "{out:?}");
    let mut got = String::new();
    let ok = wait_until(Duration::from_secs(20), || {
        got = s.presented(&["-servername", "a.test"]).0;
        got == "CN=a.test,O=Renewed"
    });
    assert!(
        ok,
        "after graceful the renewed certificate is not served: {got}\n{}",
        s.diag()
    );
    s.stop_and_wait_children();
}

// ---------------------------------------------------------------------------------------
// event: idle and stalled TLS connections cost no worker

fn auto_num(s: &TlsServer, key: &str) -> (u64, String) {
    let r = s.get("/server-status?auto");
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    let n = text
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(": ")?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {text}"));
    (n, text)
}

const EVENT_ONE_CHILD: &str = "LoadModule mpm_event_module modules/mod_mpm_event.so\nServerLimit 1\nStartServers 1\nThreadsPerChild 8\nMinSpareThreads 1\nMaxSpareThreads 8\nMaxRequestWorkers 8\nAsyncRequestWorkerFactor 100\n";

const HOLD_PY: &str = r#"
import socket, ssl, sys
ca, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ctx = ssl.create_default_context(cafile=ca)
def get(s):
    s.sendall(b"GET /index.html HTTP/1.1\r\nHost: a.test\r\n\r\n")
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            raise EOFError("closed before the response head")
        buf += d
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    cl = 0
    for l in lines[1:]:
        k, _, v = l.partition(b":")
        if k.strip().lower() == b"content-length":
            cl = int(v.strip())
    while len(rest) < cl:
        d = s.recv(65536)
        if not d:
            raise EOFError("closed in the body")
        rest += d
    return int(lines[0].split()[1])
conns = []
for i in range(n):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=20), server_hostname="a.test")
    st = get(s)
    if st != 200:
        print("bad status %d on connection %d" % (st, i), flush=True)
        sys.exit(1)
    conns.append(s)
print("ready %d" % len(conns), flush=True)
while True:
    line = sys.stdin.readline()
    if not line:
        break
    ok, errs = 0, []
    for s in conns:
        try:
            ok += get(s) == 200
        except Exception as e:
            errs.append(repr(e))
    print("again %d %s" % (ok, errs[:3]), flush=True)
"#;

#[test]
fn event_holds_idle_tls_keepalive_connections_without_busy_workers() {
    const N: usize = 200;
    if !tls::have_clients(&["openssl", "python3"]) {
        return;
    }
    let mpm = Mpm {
        name: "event, one child",
        conf: EVENT_ONE_CHILD,
        args: &["-D", "FOREGROUND"],
    };
    let s = TlsServer::two_sites(
        mpm,
        &format!(
            "{SHMCB}{}KeepAliveTimeout 60\nMaxKeepAliveRequests 0\n",
            tls::STATUS
        ),
        "",
        "",
    );
    s.write("a/index.html", "idle\n");
    let mut py = common::Spawned::spawn(
        common::command("python3")
            .args([
                "-c",
                HOLD_PY,
                &s.conf("ca.crt"),
                &s.tls.to_string(),
                &N.to_string(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    )
    .expect("python3");
    let (tx, rx) = mpsc::channel::<String>();
    let out = py.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut err_pipe = py.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        let mut e = String::new();
        let _ = err_pipe.read_to_string(&mut e);
        e
    });
    let mut stdin = py.stdin.take().unwrap();
    let ready = rx.recv_timeout(Duration::from_secs(90));
    if ready.as_deref() != Ok(&format!("ready {N}")) {
        py.kill();
        panic!(
            "{N} TLS keep-alive connections were not all served: {ready:?}\n{}\n{}",
            err_reader.join().unwrap_or_default(),
            s.diag()
        );
    }
    // All N are parked: no worker is busy but the one serving the status request.
    let mut last = String::new();
    let ok = wait_until(Duration::from_secs(10), || {
        let (busy, text) = auto_num(&s, "BusyWorkers");
        let (parked, _) = auto_num(&s, "ConnsAsyncKeepAlive");
        last = text;
        busy <= 1 && parked >= N as u64
    });
    assert!(
        ok,
        "with {N} idle TLS keep-alive connections, expected BusyWorkers <= 1 and ConnsAsyncKeepAlive >= {N}:\n{last}\n{}",
        s.diag()
    );
    // New clients are served meanwhile, and every held connection still works.
    let c = s.curl("a.test", "/", &[]);
    assert_eq!(c.http, 200, "{}", c.describe());
    stdin.write_all(b"again\n").unwrap();
    let again = rx.recv_timeout(Duration::from_secs(60));
    assert_eq!(
        again.as_deref(),
        Ok(&format!("again {N} []")[..]),
        "second request on each held connection\n{}",
        s.diag()
    );
    drop(stdin);
    py.kill();
}

fn stalled_handshakes(mpm: Mpm, check_workers: bool) {
    // AcceptFilter none: the kernel would hold the silent connection below
    // (TCP_DEFER_ACCEPT) instead of handing it to the server's Timeout.
    let s = TlsServer::two_sites(
        mpm,
        &format!(
            "{SHMCB}{}Timeout 2\nAcceptFilter http none\nAcceptFilter https none\n",
            tls::STATUS
        ),
        "",
        "",
    );
    let t0 = Instant::now();
    // The first 5 bytes of a TLS record (a handshake record announcing 512 bytes) ...
    let mut half = TcpStream::connect(("127.0.0.1", s.tls)).unwrap();
    half.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00]).unwrap();
    // ... and a connection that sends nothing at all.
    let mut silent = TcpStream::connect(("127.0.0.1", s.tls)).unwrap();
    if check_workers {
        for _ in 0..5 {
            let (busy, text) = auto_num(&s, "BusyWorkers");
            assert!(
                busy <= 1,
                "{}: stalled handshakes hold workers:\n{text}",
                mpm.name
            );
        }
        if tls::have_clients(CLIENTS) {
            let c = s.curl("a.test", "/", &[]);
            assert_eq!(c.http, 200, "{}", c.describe());
        }
    }
    for (what, c) in [("5 bytes of a record", &mut half), ("nothing", &mut silent)] {
        assert!(
            closed_within(c, Duration::from_secs(15)),
            "{}: a client that sent {what} is not closed after Timeout 2\n{}",
            mpm.name,
            s.diag()
        );
    }
    assert!(
        t0.elapsed() >= Duration::from_millis(1500),
        "{}: stalled handshakes closed after {:?}, before Timeout 2",
        mpm.name,
        t0.elapsed()
    );
}

#[test]
fn event_stalled_handshake_costs_no_worker_and_times_out() {
    stalled_handshakes(EVENT, true);
}

#[test]
fn prefork_stalled_handshake_times_out() {
    stalled_handshakes(PREFORK, false);
}
