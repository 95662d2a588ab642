//! Backends for the reverse-proxy tests (e2e_proxy_features, e2e_proxy_directives,
//! e2e_proxy_event, e2e_websocket): small Python 3 servers written into the test's
//! directory and started through `common::command`. Each writes its port to a file
//! once it listens.
#![allow(dead_code)]

use crate::common::*;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

/// An HTTP/1.1 backend on Python's `http.server` (threaded, keep-alive):
///
/// - `GET /len/N` N bytes with Content-Length (`HEAD` too); `/chunked/N` chunked;
/// - `GET /etag`: ETag "v1", 304 when If-None-Match names it;
/// - `POST /echo`: "LENGTH SHA256" of the body (Content-Length or chunked);
/// - `GET /headers`: the request headers, one `name: value` a line (lower-case names);
/// - `GET /status/N`: status N with the body `backend N`;
/// - `GET /cookie`: two Set-Cookie headers with `Domain=` and `Path=`;
/// - `GET /slow/MS`: answers after MS milliseconds;
/// - `GET /conc/MS`: answers after MS milliseconds with the highest number of
///   connections that were open at once so far and the client port;
/// - `GET /open`: the number of connections open now;
/// - `GET /path...`: the request target itself;
/// - `GET /conn`: the client port of this connection (tells connections apart).
pub const HTTP_BACKEND: &str = r#"
import hashlib, http.server, os, socketserver, sys, threading, time

lock = threading.Lock()
open_now = 0
open_max = 0

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def setup(self):
        global open_now, open_max
        super().setup()
        with lock:
            open_now += 1
            open_max = max(open_max, open_now)
    def finish(self):
        global open_now
        super().finish()
        with lock:
            open_now -= 1
    def send(self, status, body, extra=(), ctype="text/plain"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
    def body(self, n):
        return bytes((i * 7) % 251 for i in range(n))
    def do_HEAD(self):
        self.do_GET()
    def do_GET(self):
        p = self.path
        if p.startswith("/len/"):
            self.send(200, self.body(int(p[5:])), ctype="application/octet-stream")
        elif p.startswith("/chunked/"):
            data = self.body(int(p[9:]))
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(data), 10000):
                part = data[i:i + 10000]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        elif p == "/etag":
            if self.headers.get("If-None-Match") == '"v1"':
                self.send_response(304)
                self.send_header("ETag", '"v1"')
                self.send_header("X-Backend", "304")
                self.end_headers()
            else:
                self.send(200, b"etag body\n", [("ETag", '"v1"')])
        elif p == "/headers":
            text = "".join("%s: %s\n" % (k.lower(), v) for k, v in self.headers.items())
            self.send(200, text.encode())
        elif p.startswith("/status/"):
            n = int(p[8:])
            self.send(n, b"backend %d\n" % n)
        elif p == "/cookie":
            self.send(200, b"cookies\n", [
                ("Set-Cookie", "a=1; Domain=backend.internal; Path=/app/x"),
                ("Set-Cookie", "b=2; path=/app/; domain=.backend.internal; HttpOnly"),
            ])
        elif p.startswith("/slow/"):
            time.sleep(int(p[6:]) / 1000)
            self.send(200, b"slow\n")
        elif p.startswith("/conc/"):
            time.sleep(int(p[6:]) / 1000)
            with lock:
                m = open_max
            self.send(200, b"%d %d\n" % (m, self.client_address[1]))
        elif p == "/open":
            with lock:
                m = open_now
            self.send(200, b"%d\n" % m)
        elif p.startswith("/path"):
            self.send(200, p.encode())
        elif p == "/conn":
            self.send(200, b"%d\n" % self.client_address[1])
        else:
            self.send(404, b"no\n")
    def do_POST(self):
        h = hashlib.sha256()
        n = 0
        if "chunked" in self.headers.get("Transfer-Encoding", ""):
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                data = self.rfile.read(size)
                self.rfile.readline()
                h.update(data)
                n += len(data)
        else:
            left = int(self.headers.get("Content-Length", "0"))
            while left > 0:
                data = self.rfile.read(min(left, 65536))
                if not data:
                    break
                h.update(data)
                n += len(data)
                left -= len(data)
        self.send(200, ("%d %s\n" % (n, h.hexdigest())).encode())

class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 64

srv = S(("127.0.0.1", int(sys.argv[2]) if len(sys.argv) > 2 else 0), H)
port_file = sys.argv[1]
with open(port_file + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(port_file + ".tmp", port_file)
srv.serve_forever()
"#;

/// A raw TCP backend that misbehaves on purpose. Every connection's bytes are appended
/// to the file given as its second argument (`conn N` lines separate connections); the
/// answer depends on the request path:
///
/// - `/badstatus`: `HTTP/1.1 OK-ish` (no status code);
/// - `/bigheader`: a 9000-byte header field;
/// - `/overlong`: `Content-Length: 5` then ten bytes, keep-alive;
/// - `/midbody`: `Content-Length: 100000`, 1000 bytes, close;
/// - `/midchunk`: chunked, one chunk of 1000 bytes, close (no last chunk);
/// - `/nohead`: closes after half a head;
/// - `/badheader`: a header line without a colon;
/// - anything else: 200 `ok` with Content-Length, keep-alive.
pub const RAW_BACKEND: &str = r#"
import os, socket, sys, threading

port_file, record = sys.argv[1], sys.argv[2]
lock = threading.Lock()
count = [0]

def log(b):
    with lock:
        with open(record, "ab") as f:
            f.write(b)

def serve(c, n):
    log(b"conn %d\n" % n)
    buf = b""
    try:
        while True:
            while b"\r\n\r\n" not in buf:
                d = c.recv(65536)
                if not d:
                    return
                log(d)
                buf += d
            head, buf = buf.split(b"\r\n\r\n", 1)
            path = head.split(b" ")[1].decode()
            if path == "/badstatus":
                c.sendall(b"HTTP/1.1 OK-ish\r\nContent-Length: 2\r\n\r\nok")
                return
            if path == "/bigheader":
                c.sendall(b"HTTP/1.1 200 OK\r\nX-Big: " + b"b" * 9000 + b"\r\nContent-Length: 2\r\n\r\nok")
                return
            if path == "/badheader":
                c.sendall(b"HTTP/1.1 200 OK\r\nThis is not a header\r\nContent-Length: 2\r\n\r\nok")
                return
            if path == "/overlong":
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA")
                continue
            if path == "/midbody":
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"m" * 1000)
                return
            if path == "/midchunk":
                c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3e8\r\n" + b"c" * 1000 + b"\r\n")
                return
            if path == "/nohead":
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Le")
                return
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    finally:
        c.close()

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(64)
with open(port_file + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename(port_file + ".tmp", port_file)
while True:
    c, _ = s.accept()
    count[0] += 1
    threading.Thread(target=serve, args=(c, count[0]), daemon=True).start()
"#;

/// A Python backend started from `source` (argument 1: the port file; then `extra`).
pub struct PyBackend {
    _proc: Spawned,
    pub port: u16,
}

pub fn python_backend(dir: &Path, name: &str, source: &str, extra: &[&str]) -> PyBackend {
    let script_path = dir.join(format!("{name}.py"));
    std::fs::write(&script_path, source).unwrap();
    let port_file = dir.join(format!("{name}.port"));
    let proc = Spawned::spawn(
        command("python3")
            .arg(&script_path)
            .arg(&port_file)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit()),
    )
    .expect("python3");
    let mut port = 0u16;
    assert!(
        wait_until(Duration::from_secs(20), || {
            port = std::fs::read_to_string(&port_file)
                .ok()
                .and_then(|t| t.trim().parse().ok())
                .unwrap_or(0);
            port != 0
        }),
        "{name} did not start"
    );
    PyBackend { _proc: proc, port }
}

/// A FastCGI responder: answers every request with `conn N` (N counts the connections
/// it accepted) and keeps the connection only when the request asks for it
/// (FCGI_KEEP_CONN), as PHP-FPM does.
pub const FCGI_BACKEND: &str = r#"
import os, socket, struct, sys, threading

port_file = sys.argv[1]
count = [0]
lock = threading.Lock()

def read_exact(c, n):
    b = b""
    while len(b) < n:
        d = c.recv(n - len(b))
        if not d:
            raise EOFError
        b += d
    return b

def record(c):
    v, t, rid, clen, plen, _ = struct.unpack("!BBHHBB", read_exact(c, 8))
    content = read_exact(c, clen)
    read_exact(c, plen)
    return t, rid, content

def send(c, t, rid, content):
    c.sendall(struct.pack("!BBHHBB", 1, t, rid, len(content), 0, 0) + content)

def serve(c, n):
    try:
        while True:
            keep = False
            stdin_done = params_done = False
            while not (stdin_done and params_done):
                t, rid, content = record(c)
                if t == 1:
                    keep = bool(content[2] & 1)
                elif t == 4 and not content:
                    params_done = True
                elif t == 5 and not content:
                    stdin_done = True
            out = b"Content-Type: text/plain\r\n\r\nconn %d\n" % n
            send(c, 6, rid, out)
            send(c, 6, rid, b"")
            send(c, 3, rid, b"\0" * 8)
            if not keep:
                return
    except EOFError:
        pass
    finally:
        c.close()

s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
with open(port_file + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename(port_file + ".tmp", port_file)
while True:
    c, _ = s.accept()
    with lock:
        count[0] += 1
        n = count[0]
    threading.Thread(target=serve, args=(c, n), daemon=True).start()
"#;
