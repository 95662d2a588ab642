//! mod_proxy_fcgi: a hand-written FastCGI client (FastCGI 1.0, role RESPONDER) for
//! PHP-FPM and other FastCGI applications, over TCP or a Unix socket.
//!
//! Records: an 8-byte header (version 1, type, request id, content length, padding
//! length), then content and padding. A request is BEGIN_REQUEST (with the keep-conn
//! flag when the connection is to be reused: `enablereuse=on`), PARAMS (the CGI
//! environment, name/value lengths in 1 or 4 bytes) closed by an empty PARAMS record,
//! STDIN streamed from the client's body in records of at most 65535 bytes closed by an
//! empty STDIN record. The answer is STDOUT (CGI output: the header block is parsed with
//! mod_cgi's parser, the rest streams to the client record by record), STDERR (to the
//! error log, AH01071) and END_REQUEST.
//!
//! SCRIPT_FILENAME follows Apache's rules: for `ProxyFCGIBackendType FPM` (the default)
//! a plain path: the file the URL maps to for `SetHandler "proxy:..."` (with the path
//! info split off), or the backend URL's path plus the rest of the URL for `ProxyPass`
//! (path info split off when that path exists here, else left to the application);
//! for `GENERIC`, Apache's
//! `proxy:fcgi://host:port/path` form.

use std::io::{self, ErrorKind, Read, Write};

use rhttpd_http::{BodyFraming, StatusCode};

use super::cgi::{self, CgiHead, ScriptInfo};
use super::proxy_backend::{self, Conn, ConnectError};
use super::proxy_fcgi_async::{END_REQUEST, VERSION};
use super::proxy_pool::{self, PoolLimits};
use crate::conf::proxy::{Backend, FcgiBackendType};
use crate::handler::{Body, Request, RequestBody, Response};
use crate::log::Level;

const BEGIN_REQUEST: u8 = 1;
const PARAMS: u8 = 4;
const STDIN: u8 = 5;
const STDOUT: u8 = 6;
const STDERR: u8 = 7;
const RESPONDER: u16 = 1;
const KEEP_CONN: u8 = 1;
const REQUEST_ID: u16 = 1;
const MAX_RECORD: usize = 65535;
const MAX_HEADER_BLOCK: usize = 64 * 1024;

/// Append one record.
fn record(kind: u8, content: &[u8], out: &mut Vec<u8>) {
    debug_assert!(content.len() <= MAX_RECORD);
    let len = content.len() as u16;
    let pad = (8 - content.len() % 8) % 8;
    out.extend_from_slice(&[
        VERSION,
        kind,
        (REQUEST_ID >> 8) as u8,
        REQUEST_ID as u8,
        (len >> 8) as u8,
        len as u8,
        pad as u8,
        0,
    ]);
    out.extend_from_slice(content);
    out.extend_from_slice(&[0u8; 8][..pad]);
}

/// A stream split into records of at most 65535 bytes (nothing for empty input).
fn records(kind: u8, content: &[u8], out: &mut Vec<u8>) {
    for part in content.chunks(MAX_RECORD) {
        record(kind, part, out);
    }
}

fn push_len(n: usize, out: &mut Vec<u8>) {
    if n < 128 {
        out.push(n as u8);
    } else {
        out.extend_from_slice(&((n as u32) | 0x8000_0000).to_be_bytes());
    }
}

/// FastCGI name-value pairs.
fn encode_params(env: &[(String, String)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2048);
    for (k, v) in env {
        push_len(k.len(), &mut out);
        push_len(v.len(), &mut out);
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(v.as_bytes());
    }
    out
}

/// The request head: BEGIN_REQUEST and the PARAMS stream.
fn request_head(env: &[(String, String)], keep_conn: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(4096);
    let role = RESPONDER.to_be_bytes();
    let flags = if keep_conn { KEEP_CONN } else { 0 };
    record(
        BEGIN_REQUEST,
        &[role[0], role[1], flags, 0, 0, 0, 0, 0],
        &mut out,
    );
    records(PARAMS, &encode_params(env), &mut out);
    record(PARAMS, &[], &mut out);
    out
}

/// One record read from the application.
struct Rec {
    kind: u8,
    content: Vec<u8>,
}

fn read_record(conn: &mut impl Read) -> io::Result<Rec> {
    let mut h = [0u8; 8];
    conn.read_exact(&mut h)?;
    if h[0] != VERSION {
        return Err(io::Error::new(
            ErrorKind::InvalidData,
            format!("bad FastCGI record version {}", h[0]),
        ));
    }
    let len = u16::from_be_bytes([h[4], h[5]]) as usize;
    let pad = h[6] as usize;
    let mut content = vec![0u8; len + pad];
    conn.read_exact(&mut content)?;
    content.truncate(len);
    Ok(Rec {
        kind: h[1],
        content,
    })
}

/// Why the response head could not be had.
enum HeadFail {
    /// Reading a record failed.
    Io(io::Error),
    /// No complete CGI header block within `MAX_HEADER_BLOCK` bytes or before END_REQUEST.
    Incomplete,
    /// The header block does not parse (Apache's complaint).
    Bad(String),
}

/// The answer up to its body: STDOUT records until the CGI header block is complete
/// (STDERR contents go to `stderr`), the block parsed. Returns the head, the STDOUT bytes
/// after it, and whether END_REQUEST came.
fn read_head(
    conn: &mut impl Read,
    stderr: &mut dyn FnMut(&[u8]),
) -> Result<(CgiHead, Vec<u8>, bool), HeadFail> {
    let mut out: Vec<u8> = Vec::new();
    let mut ended = false;
    let (head_end, body_start) = loop {
        if let Some(found) = cgi::header_end(&out) {
            break found;
        }
        if out.len() > MAX_HEADER_BLOCK || ended {
            return Err(HeadFail::Incomplete);
        }
        let r = read_record(conn).map_err(HeadFail::Io)?;
        match r.kind {
            STDOUT => out.extend_from_slice(&r.content),
            STDERR => stderr(&r.content),
            END_REQUEST => ended = true,
            _ => {}
        }
    };
    let head = cgi::parse_header_block(&out[..head_end]).map_err(HeadFail::Bad)?;
    let rest = out.split_off(body_start);
    Ok((head, rest, ended))
}

/// What the fuzz target `fuzz/fuzz_targets/fcgi_response.rs` runs: an application's
/// answer given as bytes, read with the record reader and head parser of a real request
/// (`read_head`), then the body records to END_REQUEST or the end of the input, as
/// `FcgiBody` reads them. `None` where a real request answers 502 or 503; else the
/// `Status` code, the number of header fields, the body and the STDERR byte count.
#[doc(hidden)]
pub fn fuzz_response(mut input: &[u8]) -> Option<(Option<u16>, usize, Vec<u8>, usize)> {
    let mut stderr_bytes = 0usize;
    let (head, body, _) = collect_answer(&mut input, &mut |c| stderr_bytes += c.len()).ok()?;
    Some((
        head.status.map(|s| s.as_u16()),
        head.headers.len(),
        body,
        stderr_bytes,
    ))
}

/// A whole answer from `input`: the head (as [`read_head`]), then the body records to
/// END_REQUEST or the end of the input (as `FcgiBody` reads them). Returns the head, the
/// body and whether END_REQUEST came.
fn collect_answer(
    input: &mut impl Read,
    stderr: &mut dyn FnMut(&[u8]),
) -> Result<(CgiHead, Vec<u8>, bool), HeadFail> {
    let (head, mut body, mut ended) = read_head(input, stderr)?;
    while !ended {
        match read_record(input) {
            Ok(r) => match r.kind {
                STDOUT => body.extend_from_slice(&r.content),
                STDERR => stderr(&r.content),
                END_REQUEST => ended = true,
                _ => {}
            },
            Err(_) => break,
        }
    }
    Ok((head, body, ended))
}

/// The script of `ProxyPass /app/ fcgi://host:port/path/` (`rest` is the decoded URL
/// after `/app/`) and its SCRIPT_FILENAME.
fn proxypass_script(req: &Request<'_>, backend: &Backend, rest: &str) -> (ScriptInfo, String) {
    let path = format!("{}{}", backend.path, rest);
    // When the application's files are visible here (PHP-FPM on the same machine),
    // split the path info off as for a local file (Apache's `proxy-fcgi-pathinfo`);
    // otherwise pass the whole path and let the application split it.
    let script = match cgi::split_path_info(std::path::Path::new(&path), req.uri_path) {
        Ok(s) if !s.path_info.is_empty() && s.filename.is_file() => s,
        _ => ScriptInfo {
            filename: path.into(),
            script_name: req.uri_path.to_string(),
            path_info: String::new(),
        },
    };
    let filename = script_filename(req, backend, &script);
    (script, filename)
}

/// The script of `SetHandler "proxy:unix:/run/php/php-fpm.sock|fcgi://localhost"` (the
/// mapped file, path info split off) and its SCRIPT_FILENAME.
fn file_script(req: &Request<'_>, backend: &Backend) -> Result<(ScriptInfo, String), StatusCode> {
    let filename = req.filename.ok_or(StatusCode::NOT_FOUND)?;
    let script = cgi::split_path_info(filename, req.uri_path)?;
    let filename = script_filename(req, backend, &script);
    Ok((script, filename))
}

fn script_filename(req: &Request<'_>, backend: &Backend, script: &ScriptInfo) -> String {
    let path = script.filename.to_string_lossy().into_owned();
    match req.vhost.proxy.fcgi_backend {
        FcgiBackendType::Fpm => path,
        FcgiBackendType::Generic => format!("proxy:{}{path}", authority_url(backend)),
    }
}

/// `ProxyPass /app/ fcgi://host:port/path/`: `rest` is the decoded URL after `/app/`.
pub(crate) fn serve_proxypass(
    req: &Request<'_>,
    body: &mut RequestBody<'_>,
    backend: &Backend,
    rest: &str,
) -> Response {
    let (script, filename) = proxypass_script(req, backend, rest);
    fcgi_request(req, body, backend, &script, &filename)
}

/// `SetHandler "proxy:unix:/run/php/php-fpm.sock|fcgi://localhost"`: the mapped file.
pub(crate) fn serve_file(
    req: &Request<'_>,
    body: &mut RequestBody<'_>,
    backend: &Backend,
) -> Response {
    match file_script(req, backend) {
        Ok((script, filename)) => fcgi_request(req, body, backend, &script, &filename),
        Err(status) => {
            if let Some(f) = req.filename {
                crate::log::log(
                    "proxy_fcgi",
                    Level::Info,
                    Some(req.conn.client),
                    &format!("AH00128: File does not exist: {}", f.display()),
                );
            }
            Response::error(status)
        }
    }
}

/// Under event, on the listener, for [`serve_proxypass`] (`rest: Some`) or
/// [`serve_file`]: true when the request can be answered right there — its answer
/// arrived in full while the listener waited, or it fails before any backend I/O.
/// Otherwise the request may have been sent from here (`proxy_fcgi_async.rs`) to be
/// waited for in epoll; if not, a worker serves it.
pub(crate) fn answers_without_blocking(
    req: &Request<'_>,
    backend: &Backend,
    rest: Option<&str>,
) -> bool {
    let (script, filename) = match rest {
        Some(rest) => proxypass_script(req, backend, rest),
        None => match file_script(req, backend) {
            Ok(s) => s,
            // The 404 needs no backend.
            Err(_) => return true,
        },
    };
    if let Some(ready) = super::proxy_fcgi_async::ready_for(req, &filename, answers_here) {
        return ready;
    }
    let reuse = reuses(backend);
    super::proxy_fcgi_async::start(req, backend, &filename, reuse, || {
        let env = cgi::cgi_env(req, &script, &filename, None);
        let mut head = request_head(&env, reuse);
        record(STDIN, &[], &mut head);
        head
    });
    false
}

/// Whether a whole answer (`records`, to END_REQUEST) can be made into the response on
/// the listener: anything but a local `Location`, whose internal redirect runs the
/// request's new URL through the pipeline (which may block).
fn answers_here(records: &[u8]) -> bool {
    let mut input = records;
    match read_head(&mut input, &mut |_| {}) {
        Ok((head, _, _)) => !head.redirects_internally(),
        // The 502 needs nothing more.
        Err(_) => true,
    }
}

/// `fcgi://host:port` of a backend URL.
fn authority_url(backend: &Backend) -> String {
    let u = &backend.url;
    match u.find("://").map(|i| i + 3) {
        Some(start) => match u[start..].find('/') {
            Some(slash) => u[..start + slash].to_string(),
            None => u.clone(),
        },
        None => u.clone(),
    }
}

/// Whether connections to `backend` are kept for the next request (`enablereuse=on`;
/// off by default, as in Apache).
fn reuses(backend: &Backend) -> bool {
    backend.params.enable_reuse == Some(true) && !backend.params.disable_reuse
}

/// A connection to the application, with the records already read from it (by the
/// event listener) in front.
struct Source {
    conn: Conn,
    read: Vec<u8>,
    pos: usize,
}

impl Source {
    /// Nothing read ahead is left unconsumed.
    fn drained(&self) -> bool {
        self.pos == self.read.len()
    }
}

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos < self.read.len() {
            let n = (self.read.len() - self.pos).min(buf.len());
            buf[..n].copy_from_slice(&self.read[self.pos..self.pos + n]);
            self.pos += n;
            return Ok(n);
        }
        self.conn.read(buf)
    }
}

fn fcgi_request(
    req: &Request<'_>,
    body: &mut RequestBody<'_>,
    backend: &Backend,
    script: &ScriptInfo,
    script_filename: &str,
) -> Response {
    let key = backend.key();
    let timeout = proxy_backend::io_timeout(req, backend);
    let reuse = reuses(backend);
    let fail = |e: &io::Error, what: &str| {
        proxy_backend::log(
            req,
            Level::Error,
            &format!(
                "{}: AH01075: Error dispatching request to {key}: {what}",
                crate::log::os_error_text(e)
            ),
        );
        Response::error(if proxy_backend::is_timeout(e) {
            StatusCode::GATEWAY_TIMEOUT
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        })
    };
    // The event listener may have sent the request already (`proxy_fcgi_async.rs`).
    let mut resumed = super::proxy_fcgi_async::take(req, script_filename);
    if let Some(t) = &resumed {
        if t.timed_out {
            return fail(
                &io::Error::from(ErrorKind::TimedOut),
                "reading the response",
            );
        }
        // A pooled connection the application closed before answering: the request
        // is sent again on a fresh one.
        if t.pooled && t.buf.is_empty() {
            resumed = None;
        }
    }
    let (mut source, permit) = match resumed {
        Some(t) => {
            if !t.pooled && (!t.complete || reuse) {
                // Made non-blocking on the listener: the rest is read here, blocking,
                // or it goes to the pool.
                t.conn.set_blocking();
            }
            if t.complete {
                return buffered_answer(req, backend, t.conn, t.buf, reuse);
            }
            t.conn.set_timeout(timeout);
            let source = Source {
                conn: t.conn,
                read: t.buf,
                pos: 0,
            };
            (source, None)
        }
        None => match send_request(req, body, backend, script, script_filename, &fail) {
            Ok(sent) => sent,
            Err(resp) => return *resp,
        },
    };

    // The answer: STDOUT until the CGI header block is complete.
    let client = req.conn.client;
    let (head, rest, ended) = match read_head(&mut source, &mut |c| log_stderr(client, c)) {
        Ok(h) => h,
        Err(HeadFail::Io(e)) => return fail(&e, "reading the response"),
        Err(e) => return bad_head(req, key, e),
    };
    let body = Body::Stream(Box::new(FcgiBody {
        conn: if ended { None } else { Some(source) },
        pending: rest,
        pos: 0,
        reuse,
        key: key.to_string(),
        client: req.conn.client,
        limits: PoolLimits::of(&backend.params),
        _permit: permit,
    }));
    cgi::cgi_response(req, head, body)
}

/// AH01070 for a header block that is incomplete or does not parse: 502.
fn bad_head(req: &Request<'_>, key: &str, e: HeadFail) -> Response {
    let why = match e {
        HeadFail::Bad(why) => format!(": {why}"),
        _ => String::new(),
    };
    proxy_backend::log(
        req,
        Level::Error,
        &format!("AH01070: Error parsing script headers from {key}{why}"),
    );
    Response::error(StatusCode::BAD_GATEWAY)
}

/// The answer the event listener read in full (`buf` ends with END_REQUEST): made from
/// the records with no more I/O, the connection pooled again when reused.
fn buffered_answer(
    req: &Request<'_>,
    backend: &Backend,
    conn: Conn,
    buf: Vec<u8>,
    reuse: bool,
) -> Response {
    let client = req.conn.client;
    let mut input = &buf[..];
    match collect_answer(&mut input, &mut |c| log_stderr(client, c)) {
        Ok((head, body, true)) => {
            // Nothing may follow END_REQUEST on a connection that is kept.
            if reuse && input.is_empty() {
                proxy_pool::put(backend.key(), &PoolLimits::of(&backend.params), conn);
            }
            let body = if body.is_empty() {
                Body::Empty
            } else {
                Body::Bytes(body.into())
            };
            cgi::cgi_response(req, head, body)
        }
        Ok((_, _, false)) => bad_head(req, backend.key(), HeadFail::Incomplete),
        Err(HeadFail::Io(e)) => {
            proxy_backend::log(
                req,
                Level::Error,
                &format!(
                    "AH01075: Error dispatching request to {}: reading the response: {e}",
                    backend.key()
                ),
            );
            Response::error(StatusCode::BAD_GATEWAY)
        }
        Err(e) => bad_head(req, backend.key(), e),
    }
}

/// Connect (or take a pooled connection) and send the request: BEGIN_REQUEST, PARAMS
/// and STDIN streamed from the client's body. The connection and the `max=` permit held
/// while it is in use, or the error answer.
fn send_request(
    req: &Request<'_>,
    body: &mut RequestBody<'_>,
    backend: &Backend,
    script: &ScriptInfo,
    script_filename: &str,
    fail: &dyn Fn(&io::Error, &str) -> Response,
) -> Result<(Source, Option<proxy_pool::Permit>), Box<Response>> {
    let key = backend.key();
    let timeout = proxy_backend::io_timeout(req, backend);
    let reuse = reuses(backend);
    let content_length = match req.head.body {
        BodyFraming::Length(n) => Some(n),
        _ => None,
    };
    let env = cgi::cgi_env(req, script, script_filename, content_length);
    let head = request_head(&env, reuse);
    let wait = backend.params.acquire.unwrap_or(timeout);
    let permit = match proxy_pool::acquire(key, &PoolLimits::of(&backend.params), wait) {
        Ok(p) => p,
        Err(()) => {
            proxy_backend::log(
                req,
                Level::Error,
                &format!("AH00941: FCGI: failed to acquire connection for ({key})"),
            );
            return Err(Box::new(Response::error(StatusCode::SERVICE_UNAVAILABLE)));
        }
    };
    let mut conn = match if reuse {
        proxy_pool::take(key, &PoolLimits::of(&backend.params))
    } else {
        None
    } {
        Some(c) => {
            c.set_timeout(timeout);
            c
        }
        None => match proxy_backend::connect(req, backend, timeout) {
            Ok(c) => c,
            Err(ConnectError::InError | ConnectError::Failed) => {
                return Err(Box::new(Response::error(StatusCode::SERVICE_UNAVAILABLE)));
            }
        },
    };
    if let Err(e) = conn.write_all(&head) {
        return Err(Box::new(fail(&e, "writing the request")));
    }
    // STDIN, streamed from the client.
    if req.head.body != BodyFraming::None {
        let mut buf = vec![0u8; MAX_RECORD];
        let mut out = Vec::with_capacity(MAX_RECORD + 16);
        loop {
            let n = match body.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    proxy_backend::log(
                        req,
                        Level::Error,
                        &format!("AH01080: reading the request body failed: {e}"),
                    );
                    return Err(Box::new(Response::error(StatusCode::BAD_REQUEST)));
                }
            };
            out.clear();
            record(STDIN, &buf[..n], &mut out);
            if let Err(e) = conn.write_all(&out) {
                return Err(Box::new(fail(&e, "writing the request body")));
            }
        }
    }
    let mut end = Vec::with_capacity(8);
    record(STDIN, &[], &mut end);
    if let Err(e) = conn.write_all(&end) {
        return Err(Box::new(fail(&e, "writing the request body")));
    }
    let source = Source {
        conn,
        read: Vec::new(),
        pos: 0,
    };
    Ok((source, permit))
}

fn log_stderr(client: std::net::SocketAddr, content: &[u8]) {
    let text = String::from_utf8_lossy(content);
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        crate::log::log(
            "proxy_fcgi",
            Level::Error,
            Some(client),
            &format!("AH01071: Got error '{line}'"),
        );
    }
}

/// The rest of STDOUT, record by record.
struct FcgiBody {
    /// `None` once END_REQUEST arrived.
    conn: Option<Source>,
    pending: Vec<u8>,
    pos: usize,
    reuse: bool,
    key: String,
    client: std::net::SocketAddr,
    limits: PoolLimits,
    /// Held while the connection is in use (`max=`).
    _permit: Option<proxy_pool::Permit>,
}

impl Read for FcgiBody {
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
            let Some(conn) = self.conn.as_mut() else {
                return Ok(0);
            };
            match read_record(conn) {
                Ok(r) => match r.kind {
                    STDOUT => self.pending = r.content,
                    STDERR => log_stderr(self.client, &r.content),
                    END_REQUEST => {
                        // Nothing read ahead may be left over on a connection kept.
                        if let Some(c) = self.conn.take()
                            && self.reuse
                            && c.drained()
                        {
                            proxy_pool::put(&self.key, &self.limits, c.conn);
                        }
                        return Ok(0);
                    }
                    _ => {}
                },
                Err(e) => {
                    self.conn = None;
                    crate::log::log(
                        "proxy_fcgi",
                        Level::Error,
                        Some(self.client),
                        &format!("AH01075: Error reading the response from {}: {e}", self.key),
                    );
                    return Err(e);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_params() {
        let mut out = Vec::new();
        record(STDIN, b"abc", &mut out);
        assert_eq!(&out[..8], &[1, STDIN, 0, 1, 0, 3, 5, 0]);
        assert_eq!(out.len(), 16);
        out.clear();
        record(PARAMS, &[], &mut out);
        assert_eq!(out, vec![1, PARAMS, 0, 1, 0, 0, 0, 0]);
        let long = "v".repeat(300);
        let p = encode_params(&[("A".into(), "b".into()), ("LONG".into(), long.clone())]);
        assert_eq!(&p[..4], &[1, 1, b'A', b'b']);
        assert_eq!(&p[4..9], &[4, 0x80, 0, 1, 44]);
        assert_eq!(&p[9..13], b"LONG");
        assert_eq!(p.len(), 13 + 300);
        let big = vec![7u8; MAX_RECORD + 10];
        out.clear();
        records(STDIN, &big, &mut out);
        assert_eq!(&out[4..6], &[0xff, 0xff]);
        let head = request_head(&[], true);
        assert_eq!(
            &head[..16],
            &[1, 1, 0, 1, 0, 8, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]
        );
    }
}
