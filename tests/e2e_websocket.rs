//! WebSockets through the reverse proxy, end to end with real peers: a Python
//! `websockets` echo server as the backend (plain and TLS) and the `websockets` client
//! (text, binary, ping/pong, 1 MiB messages, close), under every MPM.
//!
//! - `ProxyPass ... upgrade=websocket` (Apache 2.4.47+) and `ws://`/`wss://` URLs
//!   (mod_proxy_wstunnel) tunnel only when the backend answers 101;
//! - a backend that answers an Upgrade request with 200 gives an ordinary response;
//! - a ProxyPass without `upgrade=` passes no Upgrade header (no tunnel);
//! - the tunnel closes after ProxyWebsocketIdleTimeout without traffic;
//! - event: idle tunnels hold no worker (scoreboard), and messages still flow on each;
//! - event: a TLS client through to a `wss://` backend.
//!
//! The `websockets` package is installed by scripts/test.sh (pip).

mod common;
#[path = "support/dynamic.rs"]
mod dynamic_support;
#[path = "support/proxy_backends.rs"]
mod proxy_backends;

use dynamic_support::*;
use proxy_backends::{PyBackend, python_backend};

const ECHO_SERVER: &str = r#"
import asyncio, os, ssl, sys
from websockets.asyncio.server import serve

async def echo(ws):
    async for message in ws:
        await ws.send(message)

async def main():
    port_file = sys.argv[1]
    ctx = None
    if len(sys.argv) > 3:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[2], sys.argv[3])
    async with serve(echo, "127.0.0.1", 0, ssl=ctx, max_size=8 << 20) as server:
        port = server.sockets[0].getsockname()[1]
        with open(port_file + ".tmp", "w") as f:
            f.write(str(port))
        os.rename(port_file + ".tmp", port_file)
        await asyncio.Future()

asyncio.run(main())
"#;

const ECHO_CLIENT: &str = r#"
import asyncio, os, ssl, sys
from websockets.asyncio.client import connect

async def main():
    url = sys.argv[1]
    kw = {}
    if len(sys.argv) > 2:
        kw["ssl"] = ssl.create_default_context(cafile=sys.argv[2])
        kw["server_hostname"] = "localhost"
    async with connect(url, max_size=8 << 20, open_timeout=10, **kw) as ws:
        await ws.send("hello")
        assert await ws.recv() == "hello", "text echo"
        data = os.urandom(1 << 20)
        await ws.send(data)
        assert await ws.recv() == data, "1 MiB binary echo"
        text = "é" * (1 << 19)
        await ws.send(text)
        assert await ws.recv() == text, "1 MiB text echo"
        pong = await ws.ping(b"ping!")
        await asyncio.wait_for(pong, 10)
        for i in range(200):
            await ws.send(f"m{i}")
            assert await ws.recv() == f"m{i}", f"message {i}"
        await ws.close()
        print("OK", ws.close_code)

asyncio.run(asyncio.wait_for(main(), 60))
"#;

/// Answers every request with 200 "plain", Upgrade or not.
const PLAIN_SERVER: &str = r#"
import http.server, os, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = b"plain " + self.headers.get("Upgrade", "-").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(s.server_address[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.serve_forever()
"#;

fn have_websockets() -> bool {
    output(command("python3").args(["-c", "import websockets"]))
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Run the Python client against `url`; its output and whether it succeeded.
fn client(dir: &Path, url: &str, ca: Option<&Path>) -> (bool, String) {
    let path = dir.join("client.py");
    std::fs::write(&path, ECHO_CLIENT).unwrap();
    let mut cmd = command("python3");
    cmd.arg(&path).arg(url);
    if let Some(ca) = ca {
        cmd.arg(ca);
    }
    let out = output(&mut cmd).expect("python3 client");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success() && text.contains("OK 1000"), text)
}

/// A self-signed certificate for localhost and 127.0.0.1 (cert, key).
fn certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("ws.crt"), dir.join("ws.key"));
    let out = output(command("openssl").args([
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=DNS:localhost,IP:127.0.0.1",
        "-keyout",
        key.to_str().unwrap(),
        "-out",
        cert.to_str().unwrap(),
    ]))
    .expect("openssl");
    assert!(out.status.success(), "openssl req failed");
    (cert, key)
}

const HANDSHAKE_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const USR1: i32 = 10;

fn upgrade_request(path: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {HANDSHAKE_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
}

/// Open a WebSocket by hand; the response head as text.
fn ws_open(addr: &str, path: &str) -> (TcpStream, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(upgrade_request(path).as_bytes()).unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut b) {
            Ok(1) => head.push(b[0]),
            _ => break,
        }
    }
    (s, String::from_utf8_lossy(&head).into_owned())
}

/// Send one masked text frame (client to server).
fn ws_send(s: &mut TcpStream, text: &str) {
    let p = text.as_bytes();
    assert!(p.len() < 126);
    let mask = [0x12u8, 0x34, 0x56, 0x78];
    let mut f = vec![0x81, 0x80 | p.len() as u8];
    f.extend_from_slice(&mask);
    f.extend(p.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    s.write_all(&f).unwrap();
}

/// Read one short unmasked frame (server to client): (opcode, payload).
fn ws_recv(s: &mut TcpStream) -> Option<(u8, Vec<u8>)> {
    let mut h = [0u8; 2];
    s.read_exact(&mut h).ok()?;
    let len = (h[1] & 0x7f) as usize;
    assert!(len < 126, "short frames only");
    let mut p = vec![0u8; len];
    s.read_exact(&mut p).ok()?;
    Some((h[0] & 0x0f, p))
}

struct Setup {
    server: Server,
    site: Site,
    _echo: PyBackend,
    _plain: PyBackend,
}

fn setup(mpm: Mpm, extra: &str) -> Setup {
    if !have_websockets() {
        panic!("python3 websockets is missing (scripts/test.sh installs it)");
    }
    let site = Site::new();
    let echo = python_backend(site.dir.path(), "echo", ECHO_SERVER, &[]);
    let plain = python_backend(site.dir.path(), "plain", PLAIN_SERVER, &[]);
    let (e, p) = (echo.port, plain.port);
    let conf = format!(
        "LoadModule proxy_wstunnel_module x\nLogFormat \"%>s %r %O\" tun\nCustomLog logs/tunnel_log tun\n\
         ProxyPass /ws/ http://127.0.0.1:{e}/ upgrade=websocket\n\
         ProxyPass /wst/ ws://127.0.0.1:{e}/\n\
         ProxyPass /noup/ http://127.0.0.1:{e}/\n\
         ProxyPass /plain/ http://127.0.0.1:{p}/ upgrade=websocket\n{extra}"
    );
    let server = start(mpm, &conf);
    Setup {
        server,
        site,
        _echo: echo,
        _plain: plain,
    }
}

fn websocket_echo(mpm: Mpm, name: &str) {
    let s = setup(mpm, "");
    let dir = s.site.dir.path();
    for path in ["/ws/", "/wst/"] {
        let url = format!("ws://127.0.0.1:{}{path}", s.server.port);
        let (ok, text) = client(dir, &url, None);
        assert!(
            ok,
            "{name}: echo through {path} failed:\n{text}\nerror_log:\n{}",
            s.server.log("error_log")
        );
    }
    // The 101 request is logged when its tunnel ends, with the bytes sent to the client
    // (more than the 1 MiB of random data; the client's permessage-deflate shrinks the
    // text).
    let log = s.server.wait_log("tunnel_log", "101 GET /wst/");
    let line = log
        .lines()
        .find(|l| l.starts_with("101 GET /ws/ HTTP/1.1"))
        .unwrap_or_else(|| panic!("{name}: no 101 line for /ws/ in\n{log}"));
    let out: u64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(out > 1 << 20, "{name}: %O of the tunnel is {out}: {line}");

    // The backend refuses the upgrade (200): an ordinary response, no tunnel.
    let mut c = TcpStream::connect(s.server.addr()).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(upgrade_request("/plain/").as_bytes()).unwrap();
    let r = read_response(&mut c, &mut Vec::new(), false).expect("a response");
    assert_eq!(r.status, 200, "{name}: {r:?}");
    assert_eq!(
        r.text(),
        "plain websocket",
        "{name}: the backend saw the Upgrade"
    );
    drop(c); // -X serves one connection at a time

    // Without upgrade= the Upgrade header is hop-by-hop: the backend never sees it.
    let (_c, head) = ws_open(&s.server.addr(), "/noup/");
    assert!(
        head.starts_with("HTTP/1.1 4"),
        "{name}: expected the backend's refusal without upgrade=: {head}"
    );
}

#[test]
fn websocket_echo_event() {
    websocket_echo(EVENT, "event");
}

#[test]
fn websocket_echo_worker() {
    websocket_echo(WORKER, "worker");
}

#[test]
fn websocket_echo_prefork() {
    websocket_echo(PREFORK, "prefork");
}

#[test]
fn websocket_echo_one_process() {
    websocket_echo(ONE_PROCESS, "-X");
}

/// Idle tunnels under event hold no worker; each still echoes afterwards.
#[test]
fn idle_tunnels_hold_no_worker_under_event() {
    let status = "LoadModule status_module x\n<Location /server-status>\nSetHandler server-status\n</Location>\n";
    let s = setup(EVENT, status);
    let addr = s.server.addr();
    let mut socks = Vec::new();
    for i in 0..60 {
        let (c, head) = ws_open(&addr, "/ws/");
        assert!(head.starts_with("HTTP/1.1 101"), "tunnel {i}: {head}");
        let lower = head.to_ascii_lowercase();
        assert!(
            lower.contains("upgrade: websocket") && lower.contains("connection: upgrade"),
            "tunnel {i}: {head}"
        );
        socks.push(c);
    }
    // More tunnels than the 16 workers of the configuration are open; none holds one.
    let mut busy = String::new();
    let idle = wait_until(Duration::from_secs(10), || {
        let r = s.server.get("/server-status?auto");
        let text = r.text();
        busy = text
            .lines()
            .find(|l| l.starts_with("BusyWorkers:"))
            .unwrap_or("")
            .to_string();
        busy == "BusyWorkers: 0"
    });
    assert!(idle, "60 idle tunnels: {busy}");
    for (i, c) in socks.iter_mut().enumerate() {
        let msg = format!("hello {i}");
        ws_send(c, &msg);
        let (op, payload) = ws_recv(c).unwrap_or_else(|| panic!("tunnel {i}: no echo"));
        assert_eq!((op, payload), (1, msg.into_bytes()), "tunnel {i}");
    }
}

fn idle_timeout_closes(mpm: Mpm, name: &str) {
    let s = setup(mpm, "ProxyWebsocketIdleTimeout 1\n");
    let (mut c, head) = ws_open(&s.server.addr(), "/ws/");
    assert!(head.starts_with("HTTP/1.1 101"), "{name}: {head}");
    ws_send(&mut c, "still here");
    assert_eq!(ws_recv(&mut c).map(|f| f.1), Some(b"still here".to_vec()));
    let t0 = Instant::now();
    assert!(
        closed_within(&mut c, Duration::from_secs(8)),
        "{name}: the idle tunnel stayed open"
    );
    assert!(
        t0.elapsed() >= Duration::from_millis(800),
        "{name}: closed after {:?}, before the idle timeout",
        t0.elapsed()
    );
}

#[test]
fn idle_timeout_closes_the_tunnel_event() {
    idle_timeout_closes(EVENT, "event");
}

#[test]
fn idle_timeout_closes_the_tunnel_prefork() {
    idle_timeout_closes(PREFORK, "prefork");
}

/// A TLS client through to a `wss://` backend (SSLProxyEngine), under event.
#[test]
fn wss_backend_behind_an_https_front_end() {
    if !have_websockets() {
        panic!("python3 websockets is missing (scripts/test.sh installs it)");
    }
    let site = Site::new();
    let dir = site.dir.path();
    let (cert, key) = certificate(dir);
    let (c, k) = (cert.display().to_string(), key.display().to_string());
    let echo = python_backend(dir, "echo_tls", ECHO_SERVER, &[&c, &k]);
    let tls = free_port();
    let conf = format!(
        "LoadModule ssl_module x\nLoadModule proxy_wstunnel_module x\nListen 127.0.0.1:{tls} https\n\
         <VirtualHost 127.0.0.1:{tls}>\nServerName localhost\nSSLEngine on\nSSLCertificateFile \"{c}\"\nSSLCertificateKeyFile \"{k}\"\n\
         SSLProxyEngine on\nProxyPass /wss/ wss://127.0.0.1:{}/\n</VirtualHost>\n",
        echo.port
    );
    let server = start(EVENT, &conf);
    assert!(
        wait_until(Duration::from_secs(10), || TcpStream::connect((
            "127.0.0.1",
            tls
        ))
        .is_ok()),
        "TLS port"
    );
    let (ok, text) = client(dir, &format!("wss://127.0.0.1:{tls}/wss/"), Some(&cert));
    assert!(
        ok,
        "wss echo failed:\n{text}\nerror_log:\n{}",
        server.log("error_log")
    );
}

/// A graceful restart leaves an open tunnel of the old generation running until it ends
/// (its child keeps relaying while it exits), while new tunnels go to the new children.
#[test]
fn tunnels_survive_a_graceful_restart_event() {
    let s = setup(EVENT, "");
    let (mut old, head) = ws_open(&s.server.addr(), "/ws/");
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    ws_send(&mut old, "before");
    assert_eq!(ws_recv(&mut old).map(|f| f.1), Some(b"before".to_vec()));
    let before = s.server.children();
    s.server.signal(USR1);
    let replaced = wait_until(Duration::from_secs(20), || {
        let now = s.server.children();
        now.iter().any(|p| !before.contains(p))
    });
    assert!(replaced, "no new child after SIGUSR1");
    let (mut new, head) = ws_open(&s.server.addr(), "/ws/");
    assert!(
        head.starts_with("HTTP/1.1 101"),
        "after the restart: {head}"
    );
    for (name, c) in [("old", &mut old), ("new", &mut new)] {
        ws_send(c, name);
        assert_eq!(
            ws_recv(c).map(|f| f.1),
            Some(name.as_bytes().to_vec()),
            "the {name} tunnel after the restart\nerror_log:\n{}",
            s.server.log("error_log")
        );
    }
}
