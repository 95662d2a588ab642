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
use super::proxy_pool::{self, PoolLimits};
use crate::conf::proxy::{Backend, FcgiBackendType};
use crate::handler::{Body, Request, RequestBody, Response};
use crate::log::Level;

const VERSION: u8 = 1;
const BEGIN_REQUEST: u8 = 1;
const END_REQUEST: u8 = 3;
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
    let (head, mut body, mut ended) =
        read_head(&mut input, &mut |c| stderr_bytes += c.len()).ok()?;
    while !ended {
        match read_record(&mut input) {
            Ok(r) => match r.kind {
                STDOUT => body.extend_from_slice(&r.content),
                STDERR => stderr_bytes += r.content.len(),
                END_REQUEST => ended = true,
                _ => {}
            },
            Err(_) => break,
        }
    }
    Some((
        head.status.map(|s| s.as_u16()),
        head.headers.len(),
        body,
        stderr_bytes,
    ))
}

/// `ProxyPass /app/ fcgi://host:port/path/`: `rest` is the decoded URL after `/app/`.
pub(crate) fn serve_proxypass(
    req: &Request<'_>,
    body: &mut RequestBody<'_>,
    backend: &Backend,
    rest: &str,
) -> Response {
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
    let file = script.filename.to_string_lossy().into_owned();
    let filename = match req.vhost.proxy.fcgi_backend {
        FcgiBackendType::Fpm => file,
        FcgiBackendType::Generic => format!("proxy:{}{file}", authority_url(backend)),
    };
    fcgi_request(req, body, backend, &script, &filename)
}

/// `SetHandler "proxy:unix:/run/php/php-fpm.sock|fcgi://localhost"`: the mapped file.
pub(crate) fn serve_file(
    req: &Request<'_>,
    body: &mut RequestBody<'_>,
    backend: &Backend,
) -> Response {
    let Some(filename) = req.filename else {
        return Response::error(StatusCode::NOT_FOUND);
    };
    let script = match cgi::split_path_info(filename, req.uri_path) {
        Ok(s) => s,
        Err(status) => {
            crate::log::log(
                "proxy_fcgi",
                Level::Info,
                Some(req.conn.client),
                &format!("AH00128: File does not exist: {}", filename.display()),
            );
            return Response::error(status);
        }
    };
    let path = script.filename.to_string_lossy().into_owned();
    let script_filename = match req.vhost.proxy.fcgi_backend {
        FcgiBackendType::Fpm => path,
        FcgiBackendType::Generic => format!("proxy:{}{path}", authority_url(backend)),
    };
    fcgi_request(req, body, backend, &script, &script_filename)
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

fn fcgi_request(
    req: &Request<'_>,
    body: &mut RequestBody<'_>,
    backend: &Backend,
    script: &ScriptInfo,
    script_filename: &str,
) -> Response {
    let key = backend.key();
    let timeout = proxy_backend::io_timeout(req, backend);
    let reuse = backend.params.enable_reuse == Some(true) && !backend.params.disable_reuse;
    let content_length = match req.head.body {
        BodyFraming::Length(n) => Some(n),
        _ => None,
    };
    let env = cgi::cgi_env(req, script, script_filename, content_length);
    let head = request_head(&env, reuse);
    let wait = backend.params.acquire.unwrap_or(timeout);
    let permit = match proxy_pool::acquire(&key, &PoolLimits::of(&backend.params), wait) {
        Ok(p) => p,
        Err(()) => {
            proxy_backend::log(
                req,
                Level::Error,
                &format!("AH00941: FCGI: failed to acquire connection for ({key})"),
            );
            return Response::error(StatusCode::SERVICE_UNAVAILABLE);
        }
    };

    let mut conn = match if reuse {
        proxy_pool::take(&key, &PoolLimits::of(&backend.params))
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
                return Response::error(StatusCode::SERVICE_UNAVAILABLE);
            }
        },
    };
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
    if let Err(e) = conn.write_all(&head) {
        return fail(&e, "writing the request");
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
                    return Response::error(StatusCode::BAD_REQUEST);
                }
            };
            out.clear();
            record(STDIN, &buf[..n], &mut out);
            if let Err(e) = conn.write_all(&out) {
                return fail(&e, "writing the request body");
            }
        }
    }
    let mut end = Vec::with_capacity(8);
    record(STDIN, &[], &mut end);
    if let Err(e) = conn.write_all(&end) {
        return fail(&e, "writing the request body");
    }

    // The answer: STDOUT until the CGI header block is complete.
    let client = req.conn.client;
    let (head, rest, ended) = match read_head(&mut conn, &mut |c| log_stderr(client, c)) {
        Ok(h) => h,
        Err(HeadFail::Io(e)) => return fail(&e, "reading the response"),
        Err(HeadFail::Incomplete) => {
            proxy_backend::log(
                req,
                Level::Error,
                &format!("AH01070: Error parsing script headers from {key}"),
            );
            return Response::error(StatusCode::BAD_GATEWAY);
        }
        Err(HeadFail::Bad(why)) => {
            proxy_backend::log(
                req,
                Level::Error,
                &format!("AH01070: Error parsing script headers from {key}: {why}"),
            );
            return Response::error(StatusCode::BAD_GATEWAY);
        }
    };
    let body = Body::Stream(Box::new(FcgiBody {
        conn: if ended { None } else { Some(conn) },
        pending: rest,
        pos: 0,
        reuse,
        key,
        client: req.conn.client,
        limits: PoolLimits::of(&backend.params),
        _permit: permit,
    }));
    cgi::cgi_response(req, head, body)
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
    conn: Option<Conn>,
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
                        if let Some(c) = self.conn.take()
                            && self.reuse
                        {
                            proxy_pool::put(&self.key, &self.limits, c);
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
