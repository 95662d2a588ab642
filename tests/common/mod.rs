//! Shared end-to-end harness: starts the real `rhttpd` binary with an inline
//! configuration in a temporary ServerRoot on an ephemeral loopback port, waits for it
//! by polling, and speaks raw HTTP/1.1 to it. Every wait is bounded; only processes this
//! harness started are ever signalled. Every process a test starts comes from
//! [`command`] and, when it outlives the call that starts it, is held as a [`Spawned`]
//! that kills its whole process group on drop.
#![allow(dead_code)]

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub mod h2wire;
pub mod pki;
pub mod tls;

pub const BIN: &str = env!("CARGO_BIN_EXE_rhttpd");

/// A free TCP port on 127.0.0.1 (bound then released; the server binds it next).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("ephemeral port")
}

/// Poll until `cond` holds or `limit` passes.
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

pub struct Server {
    pub child: Spawned,
    pub port: u16,
    pub root: tempfile::TempDir,
}

impl Server {
    /// Write `htdocs/` and `conf/httpd.conf` (the common header plus `body`) and start
    /// `rhttpd -X` on it.
    pub fn start(body: &str) -> Server {
        Server::start_with(body, &["-X"])
    }

    pub fn start_with(body: &str, args: &[&str]) -> Server {
        let root = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        std::fs::create_dir_all(root.path().join("htdocs")).unwrap();
        std::fs::create_dir_all(root.path().join("logs")).unwrap();
        std::fs::create_dir_all(root.path().join("conf")).unwrap();
        let conf = Server::config_text(root.path(), port, body);
        std::fs::write(root.path().join("conf/httpd.conf"), conf).unwrap();
        Server::launch(root, port, args)
    }

    pub fn config_text(root: &Path, port: u16, body: &str) -> String {
        format!(
            "ServerRoot \"{root}\"\nListen 127.0.0.1:{port}\nServerName localhost\nPidFile logs/httpd.pid\nErrorLog logs/error_log\nLogLevel info\nDocumentRoot \"{root}/htdocs\"\nLogFormat \"%h %l %u %t \\\"%r\\\" %>s %b\" common\nCustomLog logs/access_log common\n{body}\n",
            root = root.display()
        )
    }

    /// Start `rhttpd -d ROOT -f ROOT/conf/httpd.conf <args>` and wait until it listens.
    /// `args` must keep it in the foreground (`-X` or `-D FOREGROUND`): a daemon would
    /// leave the process group its [`Spawned`] kills.
    pub fn launch(root: tempfile::TempDir, port: u16, args: &[&str]) -> Server {
        assert!(
            args.contains(&"-X") || args.windows(2).any(|w| w == ["-D", "FOREGROUND"]),
            "the tests run rhttpd in the foreground (-X or -D FOREGROUND), not {args:?}"
        );
        let child = Spawned::spawn(
            command(BIN)
                .arg("-d")
                .arg(root.path())
                .arg("-f")
                .arg(root.path().join("conf/httpd.conf"))
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped()),
        )
        .expect("spawn rhttpd");
        let mut s = Server { child, port, root };
        s.wait_ready();
        s
    }

    fn wait_ready(&mut self) {
        let addr: SocketAddr = format!("127.0.0.1:{}", self.port).parse().unwrap();
        let ok = wait_until(Duration::from_secs(15), || {
            if let Ok(Some(status)) = self.child.try_wait() {
                let mut err = String::new();
                if let Some(e) = self.child.stderr.as_mut() {
                    let _ = e.read_to_string(&mut err);
                }
                panic!(
                    "rhttpd exited early ({status}):\n--- stderr ---\n{err}\n--- error_log ---\n{}",
                    self.log("error_log")
                );
            }
            TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
        });
        assert!(ok, "rhttpd did not start listening on {addr}");
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }

    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) {
        let p = self.path(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(p, content).unwrap();
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr()).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    }

    /// Send raw bytes on a fresh connection and read until the server closes it.
    pub fn raw(&self, req: &[u8]) -> Vec<u8> {
        let mut s = self.connect();
        s.write_all(req).unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        out
    }

    /// `GET path` with `Connection: close`.
    pub fn get(&self, path: &str) -> Resp {
        self.request(&format!(
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        ))
    }

    pub fn request(&self, req: &str) -> Resp {
        let raw = self.raw(req.as_bytes());
        parse_response(&raw)
            .unwrap_or_else(|| panic!("unparseable response: {:?}", String::from_utf8_lossy(&raw)))
    }

    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(&format!("logs/{name}"))).unwrap_or_default()
    }

    /// Poll a log until it contains `needle` (logs are written after the response).
    pub fn wait_log(&self, name: &str, needle: &str) -> String {
        let mut text = String::new();
        wait_until(Duration::from_secs(5), || {
            text = self.log(name);
            text.contains(needle)
        });
        text
    }

    /// SIGKILL the server's process group (parent and children) and reap the parent.
    pub fn stop(&mut self) {
        self.child.kill();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A parsed response.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Bytes of the whole response on the wire (head + body as framed).
    pub wire_len: usize,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header_map(&self) -> HashMap<String, String> {
        self.headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect()
    }
}

/// Parse one response from the start of `raw` (Content-Length, chunked, or to the end).
/// HEAD-style responses are handled by `parse_response_head_only`.
pub fn parse_response(raw: &[u8]) -> Option<Resp> {
    parse_one(raw, false)
}

pub fn parse_response_head_only(raw: &[u8]) -> Option<Resp> {
    parse_one(raw, true)
}

/// Parse several pipelined responses.
pub fn parse_many(mut raw: &[u8]) -> Vec<Resp> {
    let mut out = Vec::new();
    while !raw.is_empty() {
        match parse_one(raw, false) {
            Some(r) => {
                raw = &raw[r.wire_len..];
                out.push(r);
            }
            None => break,
        }
    }
    out
}

fn parse_one(raw: &[u8], head_only: bool) -> Option<Resp> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let mut parts = status_line.splitn(3, ' ');
    let _version = parts.next()?;
    let status: u16 = parts.next()?.parse().ok()?;
    let reason = parts.next().unwrap_or("").to_string();
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let get = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.clone())
    };
    let rest = &raw[end..];
    let no_body = head_only || status == 204 || status == 304 || (100..200).contains(&status);
    let (body, used) = if no_body {
        (Vec::new(), 0)
    } else if get("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
        dechunk(rest)?
    } else if let Some(cl) = get("content-length") {
        let n: usize = cl.parse().ok()?;
        if rest.len() < n {
            return None;
        }
        (rest[..n].to_vec(), n)
    } else {
        (rest.to_vec(), rest.len())
    };
    Some(Resp {
        status,
        reason,
        headers,
        body,
        wire_len: end + used,
    })
}

fn dechunk(mut raw: &[u8]) -> Option<(Vec<u8>, usize)> {
    let start_len = raw.len();
    let mut body = Vec::new();
    loop {
        let nl = raw.windows(2).position(|w| w == b"\r\n")?;
        let size_str = std::str::from_utf8(&raw[..nl]).ok()?;
        let size = usize::from_str_radix(size_str.split(';').next()?.trim(), 16).ok()?;
        raw = &raw[nl + 2..];
        if size == 0 {
            // trailers until empty line
            loop {
                let nl = raw.windows(2).position(|w| w == b"\r\n")?;
                raw = &raw[nl + 2..];
                if nl == 0 {
                    return Some((body, start_len - raw.len()));
                }
            }
        }
        if raw.len() < size + 2 {
            return None;
        }
        body.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

/// Run the binary with arguments and capture its output (bounded by the process itself:
/// these are the non-serving commands such as -t, -V, -S, -k stop). Anything it leaves
/// running is killed when it returns (see [`output`]).
pub fn run(args: &[&str]) -> Output {
    output(command(BIN).args(args)).expect("run rhttpd")
}

/// `cmd` (from [`command`]) run to its end with stdin at /dev/null and its stdout and
/// stderr captured, like `Command::output`; then whatever it left in its process group or
/// carrying its marker (a daemon it started) is killed.
pub fn output(cmd: &mut Command) -> std::io::Result<Output> {
    Spawned::spawn(
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    )?
    .wait_with_output()
}

/// Whether `cmd` is installed (scripts/test.sh installs what the tests use).
pub fn have(cmd: &str) -> bool {
    command("sh")
        .arg("-c")
        .arg(format!("command -v {cmd} >/dev/null 2>&1"))
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

// ---------------------------------------------------------------------------------------
// Helpers for configurations that need the port, keep-alive connections and pipelining.

impl Server {
    /// Like [`Server::start`], but the configuration body is built from the chosen port
    /// (for `<VirtualHost 127.0.0.1:PORT>` blocks and the like).
    pub fn start_fn(body: impl FnOnce(u16) -> String) -> Server {
        Server::start_fn_with(body, &["-X"])
    }

    /// [`Server::start_fn`] with explicit command-line arguments.
    pub fn start_fn_with(body: impl FnOnce(u16) -> String, args: &[&str]) -> Server {
        let root = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        for d in ["htdocs", "logs", "conf"] {
            std::fs::create_dir_all(root.path().join(d)).unwrap();
        }
        let conf = Server::config_text(root.path(), port, &body(port));
        std::fs::write(root.path().join("conf/httpd.conf"), conf).unwrap();
        Server::launch(root, port, args)
    }

    /// The ServerRoot as a string (for `Alias` and `<Directory>` paths in configs built
    /// before the server starts, use [`Server::start_fn`] and `root` there instead).
    pub fn root_str(&self) -> String {
        self.root.path().display().to_string()
    }

    /// Set a file's modification time (e.g. into the past so its ETag is strong).
    pub fn set_mtime(&self, rel: &str, t: std::time::SystemTime) {
        let f = std::fs::File::options()
            .write(true)
            .open(self.path(rel))
            .expect("open for set_mtime");
        f.set_modified(t).expect("set_modified");
    }

    /// Send raw bytes on a fresh connection, half-close our side, read until EOF.
    pub fn raw_shutdown(&self, req: &[u8]) -> Vec<u8> {
        let mut s = self.connect();
        s.write_all(req).unwrap();
        let _ = s.shutdown(std::net::Shutdown::Write);
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        out
    }
}

/// Read from `s` until one complete response is buffered in `buf` (which may already
/// hold bytes), parse it and remove it from `buf`. `head_only` for responses to HEAD.
/// `None` on EOF, error or timeout before a complete response.
pub fn read_response(s: &mut TcpStream, buf: &mut Vec<u8>, head_only: bool) -> Option<Resp> {
    loop {
        if let Some(r) = parse_complete(buf, head_only) {
            buf.drain(..r.wire_len);
            return Some(r);
        }
        let mut chunk = [0u8; 64 * 1024];
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Like `parse_one`, but a response without Content-Length or chunked framing that has
/// a body is only complete at EOF, so it is never reported complete here unless it
/// cannot have a body.
fn parse_complete(raw: &[u8], head_only: bool) -> Option<Resp> {
    let r = parse_one(raw, head_only)?;
    let framed = head_only
        || r.status == 204
        || r.status == 304
        || (100..200).contains(&r.status)
        || r.header("content-length").is_some()
        || r.header("transfer-encoding").is_some();
    framed.then_some(r)
}

/// Read `heads.len()` responses from `s` (`heads[i]` = the i-th was a HEAD).
pub fn read_responses(s: &mut TcpStream, heads: &[bool]) -> Vec<Resp> {
    let mut buf = Vec::new();
    let mut out = Vec::new();
    for &h in heads {
        match read_response(s, &mut buf, h) {
            Some(r) => out.push(r),
            None => break,
        }
    }
    out
}

/// Whether the peer closes `s` (EOF or reset) within `limit`, discarding any data.
pub fn closed_within(s: &mut TcpStream, limit: Duration) -> bool {
    let end = Instant::now() + limit;
    let mut scratch = [0u8; 4096];
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        s.set_read_timeout(Some(left)).unwrap();
        match s.read(&mut scratch) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return false;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return true,
        }
    }
}

/// Run `curl` with `args` (bounded by `--max-time 20`) and return its output.
pub fn curl(args: &[&str]) -> Output {
    output(command("curl").args(["-sS", "--max-time", "20"]).args(args)).expect("run curl")
}

/// Whether `::1` can be bound (IPv6 loopback available).
pub fn have_ipv6_loopback() -> bool {
    TcpListener::bind("[::1]:0").is_ok()
}

/// A free TCP port on `[::1]`.
pub fn free_port_v6() -> u16 {
    TcpListener::bind("[::1]:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("ephemeral v6 port")
}

// ---------------------------------------------------------------------------------------
// Process helpers for the MPM tests: children of a pid, their uids, signals, and a stop
// that waits until the parent and every child it had are gone.

/// `(state, ppid)` of `pid` from `/proc/PID/stat` (`None` once it has gone).
pub fn proc_stat(pid: i32) -> Option<(char, i32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) S ppid ...": comm may hold spaces and parentheses, so cut at the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let mut f = rest.split_whitespace();
    let state = f.next()?.chars().next()?;
    let ppid = f.next()?.parse().ok()?;
    Some((state, ppid))
}

/// Whether `pid` exists and is not a zombie.
pub fn pid_alive(pid: i32) -> bool {
    proc_stat(pid).is_some_and(|(state, _)| state != 'Z' && state != 'X')
}

/// The live (non-zombie) children of `pid`, sorted.
pub fn children_of(pid: i32) -> Vec<i32> {
    let mut out: Vec<i32> = std::fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
                .filter(|&p| {
                    proc_stat(p)
                        .is_some_and(|(state, ppid)| ppid == pid && state != 'Z' && state != 'X')
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort_unstable();
    out
}

/// `(real, effective)` uid of `pid` from the `Uid:` line of `/proc/PID/status`.
pub fn proc_uids(pid: i32) -> Option<(u32, u32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find_map(|l| l.strip_prefix("Uid:"))?;
    let mut f = line.split_whitespace().map(|v| v.parse::<u32>().ok());
    Some((f.next()??, f.next()??))
}

/// Send `sig` to `pid` (a process the test started, or one of its children).
pub fn send_signal(pid: i32, sig: i32) {
    rhttpd_sys::process::send_signal(pid, sig)
        .unwrap_or_else(|e| panic!("signal {sig} to pid {pid}: {e}"));
}

/// Which of `pids` holds the server side of the TCP connection from 127.0.0.1:`client_port`
/// to 127.0.0.1:`server_port` (found through `/proc/net/tcp` and the pids' open files).
/// `None` while no process has accepted it yet.
pub fn pid_holding_connection(pids: &[i32], server_port: u16, client_port: u16) -> Option<i32> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let port_of = |field: &str| {
        field
            .rsplit(':')
            .next()
            .and_then(|p| u16::from_str_radix(p, 16).ok())
    };
    let inode = table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 10 {
            return None;
        }
        (port_of(f[1]) == Some(server_port) && port_of(f[2]) == Some(client_port))
            .then(|| f[9].to_string())
            .filter(|i| i != "0")
    })?;
    let target = format!("socket:[{inode}]");
    pids.iter().copied().find(|pid| {
        std::fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|d| {
            d.flatten().any(|e| {
                std::fs::read_link(e.path())
                    .is_ok_and(|l| l.as_os_str() == std::ffi::OsStr::new(&target))
            })
        })
    })
}

impl Server {
    /// Like [`Server::start_with`], but `setup` runs on the fresh ServerRoot (for example
    /// to chmod it or add files) before the server starts.
    pub fn start_with_setup(body: &str, args: &[&str], setup: impl FnOnce(&Path)) -> Server {
        let root = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        for d in ["htdocs", "logs", "conf"] {
            std::fs::create_dir_all(root.path().join(d)).unwrap();
        }
        setup(root.path());
        let conf = Server::config_text(root.path(), port, body);
        std::fs::write(root.path().join("conf/httpd.conf"), conf).unwrap();
        Server::launch(root, port, args)
    }

    /// The server's (parent's) pid.
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// The parent's live children.
    pub fn children(&self) -> Vec<i32> {
        children_of(self.pid())
    }

    /// Send `sig` to the parent.
    pub fn signal(&self, sig: i32) {
        send_signal(self.pid(), sig);
    }

    /// Rewrite `conf/httpd.conf` with the common header plus `body` (before a restart).
    pub fn rewrite_config(&self, body: &str) {
        let conf = Server::config_text(self.root.path(), self.port, body);
        std::fs::write(self.path("conf/httpd.conf"), conf).unwrap();
    }

    /// Run `rhttpd -d ROOT -f CONF <args>` against this server's files (`-k graceful`,
    /// `-t`, ...).
    pub fn run_ctl(&self, args: &[&str]) -> Output {
        output(
            command(BIN)
                .arg("-d")
                .arg(self.root.path())
                .arg("-f")
                .arg(self.path("conf/httpd.conf"))
                .args(args),
        )
        .expect("run rhttpd")
    }

    /// Wait up to `limit` for the parent to exit; its status if it did.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let mut status = None;
        wait_until(limit, || {
            status = self.child.try_wait().ok().flatten();
            status.is_some()
        });
        status
    }

    /// Stop the whole server: SIGTERM to the parent, wait for it to exit, then wait for
    /// every child it had to disappear (SIGKILL to stragglers after the bound, as they
    /// are this test's processes). Returns whether all went away within the bounds
    /// without the SIGKILLs.
    pub fn stop_and_wait_children(&mut self) -> bool {
        if self.child.try_wait().ok().flatten().is_some() {
            return true;
        }
        let kids = self.children();
        let _ = rhttpd_sys::process::send_signal(self.pid(), 15);
        let parent_gone = self.wait_exit(Duration::from_secs(20)).is_some();
        if !parent_gone {
            self.child.kill();
        }
        let kids_gone = wait_until(Duration::from_secs(15), || {
            kids.iter().all(|&p| !pid_alive(p))
        });
        if !kids_gone {
            for &p in kids.iter().filter(|&&p| pid_alive(p)) {
                let _ = rhttpd_sys::process::send_signal(p, 9);
            }
        }
        parent_gone && kids_gone
    }

    /// Everything the server wrote to stderr (call once it has exited, children too).
    pub fn take_stderr(&mut self) -> String {
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        err
    }
}

impl Server {
    /// Like [`Server::start_fn_with`], but the configuration body is built from the
    /// ServerRoot and the port (for `ScriptAlias` and `<Directory>` paths).
    pub fn start_root_fn_with(body: impl FnOnce(&Path, u16) -> String, args: &[&str]) -> Server {
        let root = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        for d in ["htdocs", "logs", "conf"] {
            std::fs::create_dir_all(root.path().join(d)).unwrap();
        }
        let conf = Server::config_text(root.path(), port, &body(root.path(), port));
        std::fs::write(root.path().join("conf/httpd.conf"), conf).unwrap();
        Server::launch(root, port, args)
    }
}

// ---------------------------------------------------------------------------------------
// Starting processes. Every process a test starts is built by [`command`]: it runs in a
// process group of its own and carries [`MARKER`] in its environment, with a value unique
// to that start. A long-running one is held as a [`Spawned`], which on drop (panics
// included) kills its whole group and every process still carrying its marker value (a
// daemon that left the group), then reaps it. scripts/test.sh names any process of the
// run still alive after the suite (by the marker, or by a group [`Spawned`] recorded).

/// The environment variable every process the tests start carries.
pub const MARKER: &str = "RHTTPD_TEST_SUITE";

/// Set by scripts/test.sh to a directory of its own: marker values start with it, and a
/// [`Spawned`] records its process group in `groups/` there (a process that overwrites
/// its environment, as php-fpm's retitled workers do, is still found by its group).
pub const RUN_DIR_ENV: &str = "RHTTPD_TEST_RUN";

static STARTS: AtomicU64 = AtomicU64::new(0);

/// A `Command` for `program`, started in a new process group (its pid is the group id)
/// with [`MARKER`] set to a value no other start shares.
pub fn command(program: impl AsRef<OsStr>) -> Command {
    let run = std::env::var(RUN_DIR_ENV).unwrap_or_else(|_| "adhoc".to_string());
    let n = STARTS.fetch_add(1, Ordering::Relaxed);
    let mut cmd = Command::new(program);
    cmd.process_group(0)
        .env(MARKER, format!("{run}/{}.{n}", std::process::id()));
    cmd
}

/// A process started from a [`command`]: derefs to its `Child`; dropping it (or
/// [`Spawned::kill`]) SIGKILLs its process group and every process still carrying its
/// marker, and reaps it.
pub struct Spawned {
    /// `None` only inside [`Spawned::wait_with_output`].
    child: Option<Child>,
    marker: String,
    /// Killed and reaped: the pid may name another process group by now.
    done: bool,
}

impl Spawned {
    /// Spawn `cmd`, which must come from [`command`].
    pub fn spawn(cmd: &mut Command) -> std::io::Result<Spawned> {
        let marker = cmd
            .get_envs()
            .find(|(k, _)| *k == MARKER)
            .and_then(|(_, v)| v)
            .map(|v| format!("{MARKER}={}", v.to_string_lossy()))
            .expect("Spawned::spawn takes a Command built by common::command");
        let child = cmd.spawn()?;
        if let Ok(run) = std::env::var(RUN_DIR_ENV) {
            let groups = Path::new(&run).join("groups");
            let _ = std::fs::create_dir_all(&groups);
            let _ = std::fs::write(groups.join(child.id().to_string()), "");
        }
        Ok(Spawned {
            child: Some(child),
            marker,
            done: false,
        })
    }

    /// SIGKILL the process group and whatever still carries the marker, and reap the
    /// process (its exit status stays available through `try_wait`). Only the first call
    /// does anything.
    pub fn kill(&mut self) {
        if self.done {
            return;
        }
        self.done = true;
        let Some(child) = self.child.as_mut() else {
            return;
        };
        let pid = child.id() as i32;
        if matches!(child.try_wait(), Ok(None)) {
            // Not reaped: its pid names its group (whether it is alive or a zombie).
            let _ = rhttpd_sys::child::kill_process_group(pid, 9);
            let _ = child.wait();
        } else {
            kill_group_of_reaped(pid);
        }
        kill_marked(&self.marker);
    }

    /// Like `Child::wait_with_output` (read stdout and stderr to their end, then reap);
    /// then whatever is left of the group or carries the marker is killed as on drop.
    pub fn wait_with_output(mut self) -> std::io::Result<Output> {
        let child = self.child.take().expect("present until here");
        let pid = child.id() as i32;
        let out = child.wait_with_output();
        if !self.done {
            self.done = true;
            kill_group_of_reaped(pid);
            kill_marked(&self.marker);
        }
        out
    }
}

/// SIGKILL what is left of the process group of `leader`, a reaped process that led it.
/// The group id stays reserved while any member lives; if a process holds the pid now,
/// the number was reused, which means no member of the old group was left.
fn kill_group_of_reaped(leader: i32) {
    if !Path::new(&format!("/proc/{leader}")).exists() {
        let _ = rhttpd_sys::child::kill_process_group(leader, 9);
    }
}

impl std::ops::Deref for Spawned {
    type Target = Child;
    fn deref(&self) -> &Child {
        self.child.as_ref().expect("present until wait_with_output")
    }
}

impl std::ops::DerefMut for Spawned {
    fn deref_mut(&mut self) -> &mut Child {
        self.child.as_mut().expect("present until wait_with_output")
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Pids whose environment holds the entry `marker` (`NAME=value`). Zombies have none.
fn pids_with_env_entry(marker: &str) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|&b| b == 0).any(|e| e == marker.as_bytes()))
        })
        .collect()
}

/// SIGKILL every process whose environment holds `marker`, until none is left (bounded:
/// 5 s, for a process tree that keeps forking).
fn kill_marked(marker: &str) {
    wait_until(Duration::from_secs(5), || {
        let pids = pids_with_env_entry(marker);
        for &pid in &pids {
            let _ = rhttpd_sys::process::send_signal(pid, 9);
        }
        pids.is_empty()
    });
}

/// Debian's php-fpm binary (`/usr/sbin/php-fpmX.Y`, the newest), if installed.
pub fn php_fpm_binary() -> Option<PathBuf> {
    std::fs::read_dir("/usr/sbin")
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("php-fpm"))
        })
        .max()
}
