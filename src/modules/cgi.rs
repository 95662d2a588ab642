//! mod_cgi: the `cgi-script` handler (RFC 3875).
//!
//! A script runs in its own process group with the RFC 3875 environment (plus Apache's
//! additions) and nothing inherited from the server. The request body is written to its
//! stdin while its stdout and stderr are read, all from one thread with poll(2), so a
//! script that answers before reading its input cannot deadlock; output produced before
//! the input is consumed is the only thing ever held in memory. Once the header block is
//! parsed the handler returns and the body streams to the client as the script writes
//! it. Every wait is bounded by `Timeout` (or mod_cgid's `CGIDScriptTimeout`; AH01220,
//! 504). A script whose client goes away
//! (the stream is dropped before its end) is killed with its whole process group, and
//! every script gets `SIGKILL` when the server thread that started it dies.
//!
//! The header parsing and the response building are shared with mod_proxy_fcgi.

use std::io::{self, ErrorKind, Read, Write};
use std::io::{PipeReader, PipeWriter};
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::path::Path;
use std::time::{Duration, Instant};

use http::header::CONTENT_TYPE;
use rhttpd_http::{BodyFraming, HeaderValue, StatusCode};
use rhttpd_sys::child::{Interest, kill_process_group, poll_fds};
use rhttpd_sys::spawn::{Process, SpawnSpec, spawn_piped};

use crate::handler::{Body, Handler, Request, RequestBody, Response};
use crate::log::Level;

pub use super::cgi_env::CGI_HANDLER;
pub(crate) use super::cgi_env::{ScriptInfo, cgi_env, script_aliased, split_path_info};
pub(crate) use super::cgi_output::{CgiHead, cgi_response, header_end, parse_header_block};

/// Longest header block accepted from a script.
pub(crate) const MAX_HEADER_BLOCK: usize = 64 * 1024;

const READ_CHUNK: usize = 32 * 1024;

/// mod_cgi's handler.
pub struct Cgi;

impl Handler for Cgi {
    fn name(&self) -> &'static str {
        CGI_HANDLER
    }

    fn handle(&self, req: &Request<'_>, body: &mut RequestBody<'_>) -> Response {
        run(req, body)
    }
}

fn log(level: Level, req: &Request<'_>, msg: &str) {
    crate::log::log("cgi", level, Some(req.conn.client), msg);
}

/// A running script: its process, the pipes we read, and where its stderr goes.
struct Script {
    /// `None` once handed to the reaper.
    child: Option<Process>,
    pgid: i32,
    stdout: Option<PipeReader>,
    stderr: Option<PipeReader>,
    err_line: Vec<u8>,
    path: String,
    client: SocketAddr,
    timeout: Duration,
    stdin_broken: bool,
}

/// What one wait on the pipes gave.
struct Pumped {
    written: usize,
    progress: bool,
}

impl Script {
    fn log_stderr_line(&self, line: &[u8]) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        crate::log::log(
            "cgi",
            Level::Error,
            Some(self.client),
            &format!(
                "AH01215: stderr from {}: {}",
                self.path,
                String::from_utf8_lossy(line)
            ),
        );
    }

    fn drain_stderr(&mut self) {
        let Some(mut e) = self.stderr.take() else {
            return;
        };
        let mut buf = [0u8; 4096];
        loop {
            match e.read(&mut buf) {
                Ok(0) => {
                    if !self.err_line.is_empty() {
                        let l = std::mem::take(&mut self.err_line);
                        self.log_stderr_line(&l);
                    }
                    return;
                }
                Ok(n) => {
                    self.err_line.extend_from_slice(&buf[..n]);
                    while let Some(nl) = memchr::memchr(b'\n', &self.err_line) {
                        let line: Vec<u8> = self.err_line.drain(..=nl).collect();
                        self.log_stderr_line(&line[..line.len() - 1]);
                    }
                    if self.err_line.len() > 8192 {
                        let l = std::mem::take(&mut self.err_line);
                        self.log_stderr_line(&l);
                    }
                }
                Err(err) if err.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    // WouldBlock: nothing more for now.
                    self.stderr = Some(e);
                    return;
                }
            }
        }
    }

    /// Wait (at most Timeout) until stdout, stderr or stdin (when `input` is given) is
    /// ready, then move what can be moved: stdout is appended to `out`, stderr lines go
    /// to the error log, `input` is written to stdin.
    fn pump(
        &mut self,
        input: Option<(&PipeWriter, &[u8])>,
        out: &mut Vec<u8>,
    ) -> io::Result<Pumped> {
        let mut fds = Vec::with_capacity(3);
        let mut slots = [usize::MAX; 3];
        if let Some(o) = &self.stdout {
            slots[0] = fds.len();
            fds.push((o.as_fd(), Interest::Read));
        }
        if let Some(e) = &self.stderr {
            slots[1] = fds.len();
            fds.push((e.as_fd(), Interest::Read));
        }
        if let Some((i, _)) = &input {
            slots[2] = fds.len();
            fds.push((i.as_fd(), Interest::Write));
        }
        if fds.is_empty() {
            return Ok(Pumped {
                written: 0,
                progress: false,
            });
        }
        let deadline = Instant::now() + self.timeout;
        let ready = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let r = poll_fds(&fds, left)?;
            if r.iter().any(|&x| x) || left.is_zero() {
                break r;
            }
        };
        drop(fds);
        let is = |slot: usize| slot != usize::MAX && ready[slot];
        let mut p = Pumped {
            written: 0,
            progress: ready.iter().any(|&x| x),
        };
        if is(slots[1]) {
            self.drain_stderr();
        }
        if is(slots[0])
            && let Some(o) = self.stdout.as_mut()
        {
            let start = out.len();
            out.resize(start + READ_CHUNK, 0);
            match o.read(&mut out[start..]) {
                Ok(0) => {
                    out.truncate(start);
                    self.stdout = None;
                }
                Ok(n) => out.truncate(start + n),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {
                    out.truncate(start)
                }
                Err(e) => {
                    out.truncate(start);
                    return Err(e);
                }
            }
        }
        if is(slots[2])
            && let Some((mut stdin, data)) = input
        {
            match stdin.write(data) {
                Ok(n) => p.written = n,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
                Err(_) => self.stdin_broken = true,
            }
        }
        Ok(p)
    }

    /// The exit status, waiting at most `limit` for it.
    fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        self.child.as_mut()?.wait_timeout(limit).ok().flatten()
    }

    /// Log the exit status if it says the script failed.
    fn log_exit(&mut self, limit: Duration) {
        if let Some(s) = self.wait_exit(limit)
            && !s.success()
        {
            let why = match (s.code(), std::os::unix::process::ExitStatusExt::signal(&s)) {
                (Some(c), _) => format!("exited with status {c}"),
                (None, Some(sig)) => format!("was killed by signal {sig}"),
                _ => "failed".to_string(),
            };
            crate::log::log(
                "cgi",
                Level::Error,
                Some(self.client),
                &format!("CGI script {} {why}", self.path),
            );
        }
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        self.drain_stderr();
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        // Still running: the client went away, a timeout fired, or the output ended
        // without the process exiting. Give it a moment when its output ended, then
        // TERM the group and KILL it 3 s later (Apache's kill_after_timeout), on a small
        // reaper thread so the worker is free at once.
        let grace = if self.stdout.is_none() {
            Duration::from_secs(1)
        } else {
            Duration::ZERO
        };
        let pgid = self.pgid;
        let reap = move || {
            let wait = |child: &mut Process, limit: Duration| {
                !matches!(child.wait_timeout(limit), Ok(None))
            };
            if wait(&mut child, grace) {
                return;
            }
            let _ = kill_process_group(pgid, 15);
            if wait(&mut child, Duration::from_secs(3)) {
                return;
            }
            let _ = kill_process_group(pgid, 9);
            let _ = child.wait();
        };
        if grace.is_zero() {
            // Make sure the group stops producing output at once.
            let _ = kill_process_group(pgid, 15);
        }
        if std::thread::Builder::new()
            .name("cgi-reaper".into())
            .spawn(reap)
            .is_err()
        {
            let _ = kill_process_group(pgid, 9);
        }
    }
}

/// The response body: the rest of the script's stdout, read as the client takes it.
struct CgiBody {
    script: Script,
    pending: Vec<u8>,
    pos: usize,
}

impl Read for CgiBody {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.pos < self.pending.len() {
                let n = (self.pending.len() - self.pos).min(buf.len());
                buf[..n].copy_from_slice(&self.pending[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            self.pending.clear();
            self.pos = 0;
            if self.script.stdout.is_none() {
                self.script.drain_stderr();
                self.script.log_exit(Duration::from_secs(1));
                return Ok(0);
            }
            let p = self.script.pump(None, &mut self.pending)?;
            if !p.progress {
                crate::log::log(
                    "cgi",
                    Level::Warn,
                    Some(self.script.client),
                    &format!(
                        "AH01220: Timeout waiting for output from CGI script {}",
                        self.script.path
                    ),
                );
                return Err(io::Error::new(
                    ErrorKind::TimedOut,
                    "timeout waiting for output from CGI script",
                ));
            }
        }
    }
}

/// How to start the script: its own process group (killed whole on timeout or when
/// the client goes away), tied to the life of the server thread that starts it, in the
/// script's directory, with nothing of the server's environment. Started with
/// `clone(CLONE_VM | CLONE_VFORK)` rather than a fork of this (threaded, large) process:
/// copying its page tables cost more than running a small script.
fn command(
    req: &Request<'_>,
    script: &ScriptInfo,
    env: Vec<(String, String)>,
) -> io::Result<SpawnSpec> {
    use std::os::unix::ffi::OsStrExt;
    let c = |b: &[u8]| {
        std::ffi::CString::new(b)
            .map_err(|_| io::Error::new(ErrorKind::InvalidInput, "NUL byte in a CGI argument"))
    };
    let program = c(script.filename.as_os_str().as_bytes())?;
    let mut args = vec![program.clone()];
    for a in isindex_args(req.head.query.as_deref()) {
        args.push(c(a.as_bytes())?);
    }
    let mut vars = Vec::with_capacity(env.len());
    for (k, v) in env {
        let mut kv = k.into_bytes();
        kv.push(b'=');
        kv.extend_from_slice(v.as_bytes());
        vars.push(c(&kv)?);
    }
    let dir = script.filename.parent().unwrap_or(Path::new("/"));
    Ok(SpawnSpec {
        program,
        args,
        env: vars,
        dir: Some(c(dir.as_os_str().as_bytes())?),
        new_process_group: true,
        die_with_parent: true,
    })
}

/// `nph-` scripts write their own status line.
fn is_nph(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("nph-"))
}

/// argv for an ISINDEX-style query (no `=`): the `+`-separated words, decoded.
fn isindex_args(query: Option<&str>) -> Vec<String> {
    match query {
        Some(q) if !q.is_empty() && !q.contains('=') => q
            .split('+')
            .map(|w| {
                percent_encoding::percent_decode_str(w)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn run(req: &Request<'_>, body: &mut RequestBody<'_>) -> Response {
    let Some(filename) = req.filename else {
        return Response::error(StatusCode::NOT_FOUND);
    };
    let script = match split_path_info(filename, req.uri_path) {
        Ok(s) => s,
        Err(status) => {
            log(
                Level::Error,
                req,
                &format!(
                    "AH01264: script not found or unable to stat: {}",
                    filename.display()
                ),
            );
            return Response::error(status);
        }
    };
    let path = script.filename.to_string_lossy().into_owned();
    if script.filename.is_dir() {
        log(
            Level::Error,
            req,
            &format!("AH01217: attempt to invoke directory as script: {path}"),
        );
        return Response::error(StatusCode::FORBIDDEN);
    }
    if !req.dir.options().exec_cgi && !script_aliased(req) {
        log(
            Level::Error,
            req,
            &format!("AH01212: Options ExecCGI is off in this directory: {path}"),
        );
        return Response::error(StatusCode::FORBIDDEN);
    }
    let content_length = match req.head.body {
        BodyFraming::Length(n) => Some(n),
        _ => None,
    };
    let env = cgi_env(req, &script, &path, content_length);
    let spawned = command(req, &script, env).and_then(|spec| spawn_piped(&spec));
    let spawned = match spawned {
        Ok(c) => c,
        Err(e) => {
            log(
                Level::Error,
                req,
                &format!(
                    "AH01215: {}: exec of '{path}' failed",
                    crate::log::os_error_text(&e)
                ),
            );
            return Response::error(StatusCode::INTERNAL_SERVER_ERROR);
        }
    };
    let child = spawned.process;
    let (stdin, stdout, stderr) = (
        Some(spawned.stdin),
        Some(spawned.stdout),
        Some(spawned.stderr),
    );
    for fd in [
        stdin.as_ref().map(|s| s.as_fd()),
        stdout.as_ref().map(|s| s.as_fd()),
        stderr.as_ref().map(|s| s.as_fd()),
    ]
    .into_iter()
    .flatten()
    {
        let _ = rhttpd_sys::limits::set_nonblocking(fd, true);
    }
    let mut sc = Script {
        pgid: child.id(),
        child: Some(child),
        stdout,
        stderr,
        err_line: Vec::new(),
        path: path.clone(),
        client: req.conn.client,
        // mod_cgid's CGIDScriptTimeout, when set (and not 0), replaces Timeout.
        timeout: req
            .dir
            .cgid_script_timeout
            .filter(|t| !t.is_zero())
            .unwrap_or(req.vhost.timeout)
            .max(Duration::from_millis(10)),
        stdin_broken: false,
    };
    let mut out = Vec::new();

    // 1. The request body to stdin, reading stdout and stderr meanwhile.
    if let Some(stdin) = stdin {
        if req.head.body != BodyFraming::None {
            let mut buf = vec![0u8; READ_CHUNK];
            let (mut start, mut end) = (0usize, 0usize);
            let mut eof = false;
            loop {
                if start == end && !eof {
                    match body.read(&mut buf) {
                        Ok(0) => eof = true,
                        Ok(n) => (start, end) = (0, n),
                        Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                        Err(e) => {
                            log(
                                Level::Error,
                                req,
                                &format!("AH01225: Error reading request entity data: {e}"),
                            );
                            return Response::error(StatusCode::BAD_REQUEST);
                        }
                    }
                }
                if (start == end && eof) || sc.stdin_broken {
                    break;
                }
                if start == end {
                    continue;
                }
                match sc.pump(Some((&stdin, &buf[start..end])), &mut out) {
                    Ok(p) if p.progress => start += p.written,
                    Ok(_) => {
                        log(
                            Level::Error,
                            req,
                            &format!("AH01224: Timeout writing request body to CGI script {path}"),
                        );
                        return Response::error(StatusCode::GATEWAY_TIMEOUT);
                    }
                    Err(e) => {
                        log(Level::Error, req, &format!("CGI script {path}: {e}"));
                        return Response::error(StatusCode::INTERNAL_SERVER_ERROR);
                    }
                }
                if out.len() > 16 * 1024 * 1024 {
                    // The script answers without reading its input; keep what it said
                    // but stop feeding it.
                    break;
                }
            }
        }
        drop(stdin);
    }

    // 2. The header block (nph-: the status line first).
    let nph = is_nph(&script.filename);
    let (head_end, body_start) = loop {
        if let Some(found) = header_end(&out) {
            break found;
        }
        if out.len() > MAX_HEADER_BLOCK {
            log(
                Level::Error,
                req,
                &format!("malformed header from script '{path}': header block too long"),
            );
            return Response::error(StatusCode::INTERNAL_SERVER_ERROR);
        }
        if sc.stdout.is_none() {
            sc.drain_stderr();
            log(
                Level::Error,
                req,
                &format!(
                    "End of script output before headers: {}",
                    script
                        .filename
                        .file_name()
                        .map(|n| n.to_string_lossy())
                        .unwrap_or_default()
                ),
            );
            sc.log_exit(Duration::from_secs(2));
            return Response::error(StatusCode::INTERNAL_SERVER_ERROR);
        }
        match sc.pump(None, &mut out) {
            Ok(p) if p.progress => {}
            Ok(_) => {
                log(
                    Level::Warn,
                    req,
                    &format!("AH01220: Timeout waiting for output from CGI script {path}"),
                );
                return Response::error(StatusCode::GATEWAY_TIMEOUT);
            }
            Err(e) => {
                log(Level::Error, req, &format!("CGI script {path}: {e}"));
                return Response::error(StatusCode::INTERNAL_SERVER_ERROR);
            }
        }
    };
    let mut block = &out[..head_end];
    let mut nph_status = None;
    if nph {
        let nl = memchr::memchr(b'\n', block).unwrap_or(block.len());
        let line = String::from_utf8_lossy(&block[..nl]).into_owned();
        let code = line
            .strip_prefix("HTTP/")
            .and_then(|r| r.split_whitespace().nth(1))
            .and_then(|c| c.parse::<u16>().ok())
            .and_then(|c| StatusCode::from_u16(c).ok());
        match code {
            Some(c) => nph_status = Some(c),
            None => {
                log(
                    Level::Error,
                    req,
                    &format!("malformed header from script '{path}': Bad status line: {line}"),
                );
                return Response::error(StatusCode::INTERNAL_SERVER_ERROR);
            }
        }
        block = &block[(nl + 1).min(block.len())..];
    }
    let mut head = match parse_header_block(block) {
        Ok(h) => h,
        Err(why) => {
            log(
                Level::Error,
                req,
                &format!("malformed header from script '{path}': {why}"),
            );
            return Response::error(StatusCode::INTERNAL_SERVER_ERROR);
        }
    };
    let rest = out.split_off(body_start);
    let body = Body::Stream(Box::new(CgiBody {
        script: sc,
        pending: rest,
        pos: 0,
    }));
    if let Some(status) = nph_status {
        // nph-: the script's status and headers go out as it wrote them (the server
        // still frames the body itself).
        let mut r = Response::new(status, body);
        r.headers = head.headers;
        return r;
    }
    if head.status.is_none() && head.location.is_none() && !head.headers.contains_key(CONTENT_TYPE)
    {
        head.headers
            .insert(CONTENT_TYPE, HeaderValue::from_static("text/html"));
    }
    cgi_response(req, head, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_blocks() {
        assert_eq!(header_end(b"A: b\n\nbody"), Some((5, 6)));
        assert_eq!(header_end(b"A: b\r\n\r\nbody"), Some((6, 8)));
        assert_eq!(header_end(b"\r\nbody"), Some((0, 2)));
        assert_eq!(header_end(b"A: b\r\n"), None);
        let h =
            parse_header_block(b"Status: 404 Not Found\r\nContent-Type: text/plain\nX-A:  b \n")
                .unwrap();
        assert_eq!(h.status, Some(StatusCode::NOT_FOUND));
        assert_eq!(h.headers.get("x-a").unwrap(), "b");
        assert_eq!(h.headers.get("content-type").unwrap(), "text/plain");
        assert!(h.headers.get("status").is_none());
        let h = parse_header_block(b"Location: /x\n").unwrap();
        assert_eq!(h.location.as_deref(), Some("/x"));
        assert!(
            parse_header_block(b"no colon here\n")
                .unwrap_err()
                .starts_with("Bad header")
        );
        assert!(parse_header_block(b"Status: abc\n").is_err());
        assert!(parse_header_block(b"Bad Name: x\n").is_err());
    }

    #[test]
    fn path_info_split() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("s.cgi");
        std::fs::write(&script, "x").unwrap();
        let full = script.join("a/b");
        let s = split_path_info(&full, "/cgi-bin/s.cgi/a/b").unwrap();
        assert_eq!(s.filename, script);
        assert_eq!(s.script_name, "/cgi-bin/s.cgi");
        assert_eq!(s.path_info, "/a/b");
        let s = split_path_info(&script, "/cgi-bin/s.cgi").unwrap();
        assert_eq!(
            (s.script_name.as_str(), s.path_info.as_str()),
            ("/cgi-bin/s.cgi", "")
        );
        assert_eq!(
            split_path_info(&dir.path().join("none/x"), "/none/x"),
            Err(StatusCode::NOT_FOUND)
        );
        assert_eq!(
            split_path_info(&dir.path().join("missing"), "/missing"),
            Err(StatusCode::NOT_FOUND)
        );
    }

    #[test]
    fn isindex_queries() {
        assert_eq!(isindex_args(Some("a+b%21")), vec!["a", "b!"]);
        assert!(isindex_args(Some("a=1")).is_empty());
        assert!(isindex_args(None).is_empty());
    }
}
