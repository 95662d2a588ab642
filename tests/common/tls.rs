//! TLS helpers for the mod_ssl end-to-end tests (tests/e2e_tls*.rs): a server with an
//! HTTPS `Listen` next to the harness's plain one, the usual two name-based TLS virtual
//! hosts `a.test` and `b.test`, and bounded real clients (curl, `openssl s_client`,
//! python3 `ssl`). The test PKI they use is in `pki.rs` (re-exported here).
#![allow(dead_code)]

pub use super::pki::*;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::{BIN, Server, Spawned, command, free_port, wait_until};

pub const SSL_MODULE: &str = "LoadModule ssl_module modules/mod_ssl.so\n";
pub const CGI_MODULE: &str = "LoadModule cgi_module modules/mod_cgi.so\n";
pub const STATUS: &str = "LoadModule status_module modules/mod_status.so\n<Location /server-status>\nSetHandler server-status\n</Location>\n";
/// Debian's default session cache (ssl.conf).
pub const SHMCB: &str =
    "SSLSessionCache shmcb:logs/ssl_scache(512000)\nSSLSessionCacheTimeout 300\n";
/// The TLS access log of the tests, at server level (every vhost inherits it).
pub const TLS_LOG: &str = "LogFormat \"%h %{SSL_PROTOCOL}x %{SSL_CIPHER}x %{SSL_SESSION_RESUMED}x \\\"%r\\\" %>s\" tls\nCustomLog logs/tls_log tls\n";

/// A CGI printing its environment, sorted.
pub const ENV_CGI: &str = "#!/bin/sh\necho 'Content-Type: text/plain'\necho\nenv | sort\n";
/// A CGI printing its parent's pid: the rhttpd process that serves the request.
pub const PPID_CGI: &str =
    "#!/bin/sh\necho 'Content-Type: text/plain'\necho\necho \"ppid=$PPID\"\n";

/// How to run the server under test.
#[derive(Clone, Copy, Debug)]
pub struct Mpm {
    pub name: &'static str,
    pub conf: &'static str,
    pub args: &'static [&'static str],
}

pub const PREFORK: Mpm = Mpm {
    name: "prefork",
    conf: "LoadModule mpm_prefork_module modules/mod_mpm_prefork.so\nStartServers 2\nMinSpareServers 1\nMaxSpareServers 4\n",
    args: &["-D", "FOREGROUND"],
};

pub const WORKER: Mpm = Mpm {
    name: "worker",
    conf: "LoadModule mpm_worker_module modules/mod_mpm_worker.so\nServerLimit 2\nStartServers 1\nThreadsPerChild 8\nMinSpareThreads 1\nMaxSpareThreads 16\nMaxRequestWorkers 16\n",
    args: &["-D", "FOREGROUND"],
};

pub const EVENT: Mpm = Mpm {
    name: "event",
    conf: "LoadModule mpm_event_module modules/mod_mpm_event.so\nServerLimit 2\nStartServers 1\nThreadsPerChild 8\nMinSpareThreads 1\nMaxSpareThreads 16\nMaxRequestWorkers 16\n",
    args: &["-D", "FOREGROUND"],
};

pub const ONE_PROCESS: Mpm = Mpm {
    name: "one process (-X)",
    conf: "",
    args: &["-X"],
};

/// Whether every client binary a test needs is installed; if not, say why the test is
/// skipped.
pub fn have_clients(bins: &[&str]) -> bool {
    for b in bins {
        if !super::have(b) {
            eprintln!("skipped: `{b}` is not installed");
            return false;
        }
    }
    true
}

// ---------------------------------------------------------------------------------------
// Bounded processes

static SEQ: AtomicU64 = AtomicU64::new(0);

/// A unique number for scratch file names.
pub fn seq() -> u64 {
    SEQ.fetch_add(1, Ordering::Relaxed)
}

/// What a bounded run produced.
#[derive(Debug)]
pub struct Ran {
    pub what: String,
    pub status: Option<ExitStatus>,
    pub timed_out: bool,
    pub out: String,
    pub err: String,
}

impl Ran {
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    /// The command, its status and (the end of) its output, for failure messages.
    pub fn describe(&self) -> String {
        fn tail(s: &str) -> &str {
            let n = s.len();
            let mut start = n.saturating_sub(4000);
            while !s.is_char_boundary(start) {
                start += 1;
            }
            &s[start..]
        }
        format!(
            "`{}`: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.what,
            if self.timed_out {
                "TIMED OUT (killed)".to_string()
            } else {
                format!("{:?}", self.status)
            },
            tail(&self.out),
            tail(&self.err)
        )
    }

    /// `New` or `Reused`: the first `New, ...`/`Reused, ...` line of `openssl s_client`.
    pub fn session(&self) -> Option<&str> {
        self.out.lines().find_map(|l| {
            if l.starts_with("Reused, ") {
                Some("Reused")
            } else if l.starts_with("New, ") {
                Some("New")
            } else {
                None
            }
        })
    }

    pub fn reused(&self) -> bool {
        self.session() == Some("Reused")
    }

    /// The protocol s_client reports: `TLSv1.3` from `New, TLSv1.3, Cipher is ...`.
    pub fn protocol(&self) -> Option<String> {
        self.out.lines().find_map(|l| {
            let rest = l
                .strip_prefix("Reused, ")
                .or_else(|| l.strip_prefix("New, "))?;
            Some(rest.split(',').next()?.trim().to_string())
        })
    }

    /// The status of the first HTTP response in stdout.
    pub fn http_status(&self) -> Option<u16> {
        self.out
            .lines()
            .find(|l| l.starts_with("HTTP/1."))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
    }

    /// The first HTTP response in stdout, parsed (s_client may print session tickets
    /// after it: the body ends at its Content-Length).
    pub fn response(&self) -> Option<super::Resp> {
        let start = self.out.find("HTTP/1.")?;
        super::parse_response(&self.out.as_bytes()[start..])
    }

    /// The body of the first HTTP response in stdout ("" if there is none).
    pub fn http_body(&self) -> String {
        self.response().map(|r| r.text()).unwrap_or_default()
    }

    /// `N` from a `ppid=N` line (the ppid CGI).
    pub fn ppid(&self) -> Option<i32> {
        self.out
            .lines()
            .find_map(|l| l.trim().strip_prefix("ppid=")?.parse().ok())
    }

    /// The first PEM certificate in stdout (s_client prints the server's).
    pub fn pem(&self) -> Option<String> {
        let start = self.out.find("-----BEGIN CERTIFICATE-----")?;
        let end_tag = "-----END CERTIFICATE-----";
        let end = self.out[start..].find(end_tag)? + start + end_tag.len();
        Some(format!("{}\n", &self.out[start..end]))
    }
}

/// Run `cmd` (from [`command`]) with `input` on stdin, its output captured, killed (with
/// its process group) if it has not ended after `limit`.
pub fn run_bounded(cmd: &mut Command, input: &[u8], limit: Duration) -> Ran {
    let what = format!("{cmd:?}");
    let mut child = Spawned::spawn(
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    )
    .unwrap_or_else(|e| panic!("spawn {what}: {e}"));
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let mut so = child.stdout.take().expect("stdout");
    let mut se = child.stderr.take().expect("stderr");
    let r_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = so.read_to_end(&mut v);
        v
    });
    let r_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = se.read_to_end(&mut v);
        v
    });
    let mut status = None;
    let done = wait_until(limit, || {
        status = child.try_wait().ok().flatten();
        status.is_some()
    });
    // Whatever is left of its group (or the process itself, on a timeout) goes now, so
    // the pipes reach their end.
    child.kill();
    if !done {
        status = child.try_wait().ok().flatten();
    }
    let _ = writer.join();
    let out = r_out.join().unwrap_or_default();
    let err = r_err.join().unwrap_or_default();
    Ran {
        what,
        status,
        timed_out: !done,
        out: String::from_utf8_lossy(&out).into_owned(),
        err: String::from_utf8_lossy(&err).into_owned(),
    }
}

/// `openssl ARGS` in `dir`, which must succeed.
pub fn openssl(dir: &Path, args: &[&str]) -> Ran {
    let r = run_bounded(
        command("openssl").current_dir(dir).args(args),
        b"",
        Duration::from_secs(60),
    );
    assert!(r.success(), "openssl failed: {}", r.describe());
    r
}

// ---------------------------------------------------------------------------------------
// Configuration

/// `<VirtualHost *:TLS>` for `name`, DocumentRoot `ROOT/<dir>`, `SSLEngine on`, the
/// certificate/key pairs, CGI under `/cgi-bin/` (ROOT/cgi-bin), then `extra`.
pub fn vhost(
    root: &Path,
    tls: u16,
    name: &str,
    dir: &str,
    certs: &[(&str, &str)],
    extra: &str,
) -> String {
    let r = root.display();
    let mut v = format!(
        "<VirtualHost *:{tls}>\n  ServerName {name}\n  DocumentRoot \"{r}/{dir}\"\n  SSLEngine on\n"
    );
    for (c, k) in certs {
        v.push_str(&format!(
            "  SSLCertificateFile {c}\n  SSLCertificateKeyFile {k}\n"
        ));
    }
    v.push_str(&format!(
        "  ScriptAlias /cgi-bin/ \"{r}/cgi-bin/\"\n{extra}</VirtualHost>\n"
    ));
    v
}

/// The site most tests use: `LoadModule ssl_module`, the HTTPS `Listen`, `global`
/// (server-level directives), then the vhosts a.test (first: the default for clients
/// without SNI) and b.test with their own certificates, each followed by its `extra`.
pub fn two_sites(root: &Path, tls: u16, global: &str, extra_a: &str, extra_b: &str) -> String {
    let a = vhost(
        root,
        tls,
        "a.test",
        "a",
        &[("conf/a.crt", "conf/a.key")],
        &format!(
            "  SSLCertificateChainFile conf/inter.crt\n  SSLProtocol all -SSLv3 -TLSv1 -TLSv1.1\n  SSLCipherSuite HIGH:!aNULL\n  SSLHonorCipherOrder on\n{extra_a}"
        ),
    );
    let b = vhost(
        root,
        tls,
        "b.test",
        "b",
        &[("conf/b.crt", "conf/b.key")],
        extra_b,
    );
    format!("{SSL_MODULE}Listen 127.0.0.1:{tls} https\n{global}{a}{b}")
}

/// Make the PKI, the docroots `ROOT/a` ("site a\n") and `ROOT/b` ("site b\n") and the
/// CGIs `ROOT/cgi-bin/{env,ppid}.cgi`.
pub fn prepare_root(root: &Path) {
    for d in ["htdocs", "logs", "conf", "a", "b", "cgi-bin"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    make_pki(root);
    write_file(&root.join("a/index.html"), "site a\n");
    write_file(&root.join("b/index.html"), "site b\n");
    write_file(&root.join("htdocs/index.html"), "plain\n");
    script(&root.join("cgi-bin/env.cgi"), ENV_CGI);
    script(&root.join("cgi-bin/ppid.cgi"), PPID_CGI);
}

// ---------------------------------------------------------------------------------------
// The server

/// A server with the harness's plain `Listen` (`port`) and an HTTPS one (`tls`); stopped
/// (parent and children) on drop.
pub struct TlsServer {
    pub s: Server,
    pub tls: u16,
    args: Vec<String>,
}

impl std::ops::Deref for TlsServer {
    type Target = Server;
    fn deref(&self) -> &Server {
        &self.s
    }
}

impl std::ops::DerefMut for TlsServer {
    fn deref_mut(&mut self) -> &mut Server {
        &mut self.s
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.s.stop_and_wait_children();
    }
}

/// A fresh ServerRoot (see [`prepare_root`]) with its plain and TLS ports.
pub fn new_root() -> (tempfile::TempDir, u16, u16) {
    let root = tempfile::tempdir().expect("tempdir");
    prepare_root(root.path());
    let port = free_port();
    let mut tls = free_port();
    while tls == port {
        tls = free_port();
    }
    (root, port, tls)
}

/// Write `ROOT/conf/httpd.conf`: the harness's header (plain Listen on `port`, logs,
/// DocumentRoot htdocs) plus `body`. Returns its path.
pub fn write_conf(root: &Path, port: u16, body: &str) -> PathBuf {
    let p = root.join("conf/httpd.conf");
    std::fs::write(&p, Server::config_text(root, port, body)).unwrap();
    p
}

/// The 1-based line of the configuration file holding `needle`.
pub fn conf_line(root: &Path, needle: &str) -> usize {
    let text = std::fs::read_to_string(root.join("conf/httpd.conf")).unwrap();
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in the configuration:\n{text}"))
        + 1
}

/// Start the server (the harness's launch waits for the plain port), then wait for the
/// HTTPS port too.
fn launch(root: tempfile::TempDir, port: u16, tls: u16, args: &[String]) -> Server {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let s = Server::launch(root, port, &args);
    let addr = format!("127.0.0.1:{tls}").parse().unwrap();
    let ok = wait_until(Duration::from_secs(20), || {
        TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
    });
    assert!(
        ok,
        "rhttpd did not listen on 127.0.0.1:{tls}\n--- error_log ---\n{}",
        s.log("error_log")
    );
    s
}

impl TlsServer {
    /// Prepare a ServerRoot, build the configuration body with `body(root, tls_port)`
    /// (after `mpm.conf`), start the server and wait until both ports accept.
    pub fn start(mpm: Mpm, body: impl FnOnce(&Path, u16) -> String) -> TlsServer {
        let (root, port, tls) = new_root();
        let text = format!("{}{}", mpm.conf, body(root.path(), tls));
        write_conf(root.path(), port, &text);
        TlsServer::launch_root(root, port, tls, mpm.args)
    }

    /// Start on a prepared root whose `conf/httpd.conf` is written.
    pub fn launch_root(root: tempfile::TempDir, port: u16, tls: u16, args: &[&str]) -> TlsServer {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let s = launch(root, port, tls, &args);
        TlsServer { s, tls, args }
    }

    /// The two-vhost site of [`two_sites`] under `mpm`.
    pub fn two_sites(mpm: Mpm, global: &str, extra_a: &str, extra_b: &str) -> TlsServer {
        TlsServer::start(mpm, |root, tls| {
            two_sites(root, tls, global, extra_a, extra_b)
        })
    }

    /// Stop the server completely (parent and children), then start it again on the same
    /// ServerRoot, ports and configuration: a new parent.
    pub fn stop_and_start(&mut self) {
        assert!(
            self.s.stop_and_wait_children(),
            "the server did not stop in time\n{}",
            self.diag()
        );
        let placeholder = tempfile::tempdir().expect("tempdir");
        let root = std::mem::replace(&mut self.s.root, placeholder);
        let (port, tls) = (self.s.port, self.tls);
        let new = launch(root, port, tls, &self.args);
        // The old Server (already stopped) drops with the placeholder root.
        let _old = std::mem::replace(&mut self.s, new);
    }

    /// Whether a line the server logged at start satisfies `pred`: looked for in the
    /// error log (where Apache's post-config messages go) and, if it is not there, on
    /// stderr, which stops the server (call it last). Also returns what was searched.
    pub fn said_at_start(&mut self, pred: impl Fn(&str) -> bool) -> (bool, String) {
        let log = self.log("error_log");
        if log.lines().any(&pred) {
            return (true, log);
        }
        self.s.stop_and_wait_children();
        let err = self.s.take_stderr();
        (
            err.lines().any(&pred),
            format!("--- error_log ---\n{log}\n--- stderr ---\n{err}"),
        )
    }

    pub fn root_path(&self) -> &Path {
        self.s.root.path()
    }

    pub fn conf(&self, name: &str) -> String {
        self.path(&format!("conf/{name}")).display().to_string()
    }

    /// The error log, for failure messages.
    pub fn diag(&self) -> String {
        format!("--- error_log ---\n{}", self.log("error_log"))
    }

    /// `curl -v` over HTTPS to `https://HOST:TLS/PATH` (HOST resolved to 127.0.0.1,
    /// `ca.crt` trusted) plus `extra`.
    pub fn curl(&self, host: &str, path: &str, extra: &[&str]) -> Curl {
        let url = format!("https://{host}:{}{path}", self.tls);
        let resolve = format!("{host}:{}:127.0.0.1", self.tls);
        let mut args = vec!["--resolve", resolve.as_str()];
        args.extend_from_slice(extra);
        args.push(url.as_str());
        self.curl_raw(&args)
    }

    /// curl with `--cacert ca.crt -v -o FILE -w '%{http_code} %{ssl_verify_result}'` and
    /// `args` (which hold the URL).
    pub fn curl_raw(&self, args: &[&str]) -> Curl {
        let body = self.path(&format!("curl-{}.out", seq()));
        let ca = self.conf("ca.crt");
        let mut all = vec![
            "-sS",
            "--max-time",
            "20",
            "-v",
            "--cacert",
            ca.as_str(),
            "-o",
            body.to_str().unwrap(),
            "-w",
            "%{http_code} %{ssl_verify_result}\n",
        ];
        all.extend_from_slice(args);
        let r = run_bounded(command("curl").args(&all), b"", Duration::from_secs(30));
        let (http, verify) = r
            .out
            .lines()
            .last()
            .and_then(|l| {
                let mut f = l.split_whitespace();
                Some((f.next()?.parse().ok()?, f.next()?.parse().ok()?))
            })
            .unwrap_or((0, -1));
        let body_bytes = std::fs::read(&body).unwrap_or_default();
        let _ = std::fs::remove_file(&body);
        let tls = r.err.lines().find_map(|l| {
            l.split_once("SSL connection using ")
                .map(|(_, v)| v.trim().to_string())
        });
        Curl {
            http,
            verify,
            body: body_bytes,
            tls,
            ran: r,
        }
    }

    /// `openssl s_client -connect 127.0.0.1:TLS -CAfile ca.crt ARGS` with `input` on stdin.
    pub fn s_client(&self, args: &[&str], input: &[u8]) -> Ran {
        let connect = format!("127.0.0.1:{}", self.tls);
        let ca = self.conf("ca.crt");
        run_bounded(
            command("openssl")
                .args(["s_client", "-connect", &connect, "-CAfile", &ca])
                .args(args),
            input,
            Duration::from_secs(30),
        )
    }

    /// An HTTP/1.0 GET of `path` with `Host: HOST` through s_client (`-ign_eof`, so the
    /// response is read to the server's close), SNI `sni` (`None`: `-noservername`), plus
    /// `extra` (`-sess_in F`, `-tls1_2`, ...).
    pub fn s_get(&self, sni: Option<&str>, host: &str, path: &str, extra: &[&str]) -> Ran {
        let mut args: Vec<&str> = match sni {
            Some(n) => vec!["-servername", n],
            None => vec!["-noservername"],
        };
        args.push("-ign_eof");
        args.extend_from_slice(extra);
        let req = format!("GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n");
        self.s_client(&args, req.as_bytes())
    }

    /// The certificate the server presents for `args` (e.g. `-servername a.test`):
    /// (RFC 2253 subject, public key algorithm).
    pub fn presented(&self, args: &[&str]) -> (String, String) {
        let r = self.s_client(args, b"");
        let pem = r
            .pem()
            .unwrap_or_else(|| panic!("no server certificate: {}\n{}", r.describe(), self.diag()));
        cert_info(&pem)
    }

    /// A GET over python3's `ssl` module (`create_default_context(cafile=ca.crt)`,
    /// `server_hostname=host`): stdout holds `version=...` then the raw response.
    pub fn python_get(&self, host: &str, path: &str) -> Ran {
        run_bounded(
            command("python3").args([
                "-c",
                PY_GET,
                &self.conf("ca.crt"),
                &self.tls.to_string(),
                host,
                path,
            ]),
            b"",
            Duration::from_secs(30),
        )
    }
}

const PY_GET: &str = r#"
import socket, ssl, sys
ca, port, host, path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=ca)
raw = socket.create_connection(("127.0.0.1", port), timeout=15)
s = ctx.wrap_socket(raw, server_hostname=host)
print("version=" + s.version(), flush=True)
s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (path, host)).encode())
data = b""
try:
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
except ssl.SSLEOFError:
    print("NO_CLOSE_NOTIFY", flush=True)
sys.stdout.write(data.decode("latin-1"))
"#;

/// What curl got.
#[derive(Debug)]
pub struct Curl {
    /// `%{http_code}` (0: no response).
    pub http: u16,
    /// `%{ssl_verify_result}` (0: verified).
    pub verify: i64,
    pub body: Vec<u8>,
    /// From `-v`: `TLSv1.3 / TLS_AES_256_GCM_SHA384`.
    pub tls: Option<String>,
    pub ran: Ran,
}

impl Curl {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn describe(&self) -> String {
        format!(
            "http {} verify {} tls {:?}, body {:?}\n{}",
            self.http,
            self.verify,
            self.tls,
            String::from_utf8_lossy(&self.body[..self.body.len().min(2000)]),
            self.ran.describe()
        )
    }
}

/// Start rhttpd on a prepared root (`conf/httpd.conf` written) expecting it to refuse:
/// its exit code and everything it said (stderr, then the error log). Fails if it is
/// still running after 20 s.
pub fn start_expecting_failure(root: &Path, args: &[&str]) -> (Option<i32>, String) {
    let r = run_bounded(
        command(BIN)
            .arg("-d")
            .arg(root)
            .arg("-f")
            .arg(root.join("conf/httpd.conf"))
            .args(args),
        b"",
        Duration::from_secs(20),
    );
    let log = std::fs::read_to_string(root.join("logs/error_log")).unwrap_or_default();
    assert!(
        !r.timed_out,
        "rhttpd kept running with a configuration it must refuse:\n{}\n--- error_log ---\n{log}",
        r.describe()
    );
    (
        r.status.and_then(|s| s.code()),
        format!("--- stderr ---\n{}\n--- error_log ---\n{log}", r.err),
    )
}

/// `rhttpd -t` on a prepared root: (exit code, stderr + stdout).
pub fn config_test(root: &Path) -> (Option<i32>, String) {
    let r = run_bounded(
        command(BIN)
            .arg("-d")
            .arg(root)
            .arg("-f")
            .arg(root.join("conf/httpd.conf"))
            .arg("-t"),
        b"",
        Duration::from_secs(20),
    );
    assert!(!r.timed_out, "{}", r.describe());
    (
        r.status.and_then(|s| s.code()),
        format!("{}{}", r.err, r.out),
    )
}
