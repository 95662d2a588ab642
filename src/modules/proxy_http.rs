//! mod_proxy_http: forwards a request to an HTTP/1.1 backend with the project's own
//! HTTP engine in the client role, streaming both ways: the client's body goes to the
//! backend as it is read (chunked when its length is unknown), the backend's body comes
//! back through [`BodyDecoder`] as the client takes it, keeping its framing (a body with
//! Content-Length is a [`Body::SizedStream`] of that length; HEAD keeps the backend's
//! Content-Length). Cookie rewriting, ProxyErrorOverride and ProxyBadHeader are in
//! `proxy_response.rs`, the pool's `max`/`ttl` limits in `proxy_pool.rs`.
//!
//! Hop-by-hop headers are removed in both directions; `X-Forwarded-For/-Host/-Server`
//! are added (ProxyAddHeaders); `ProxyPassReverse` rewrites `Location`,
//! `Content-Location` and `URI`. A backend connection goes back to the per-process pool
//! when the response allowed keep-alive and its body ended cleanly (no byte past its
//! Content-Length).
//!
//! Failures as Apache maps them: no connection → 503 (and the backend is disabled for
//! `retry=`), no answer within the timeout → 504, an unparseable answer → 502.

use std::io::{self, ErrorKind, Read, Write};

use http::header::{self, HeaderName};
use rhttpd_http::{
    BodyDecoder, BodyFraming, HeaderMap, HeaderValue, LAST_CHUNK, Limits, Method,
    RequestBodyLength, StatusCode, parse_response_head, response_framing, response_keep_alive,
    write_chunk_header,
};

use super::proxy_async::Parsed;
use super::proxy_backend::{self, Conn, ConnectError};
use super::proxy_pool::{self, Permit, PoolLimits};
use super::proxy_request_head::{self, Connection, connection_tokens, is_hop_by_hop};
use crate::conf::proxy::{Backend, ProxyVia};
use crate::conf::proxy_extra::BadHeader;
use crate::handler::{Body, Request, RequestBody, Response};
use crate::log::Level;

const CHUNK: usize = 32 * 1024;

/// The most of a head with a bad line that is read waiting for its end (ProxyBadHeader).
const MAX_MENDED_HEAD: usize = 64 * 1024;

fn head_complete(buf: &[u8]) -> bool {
    buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.windows(2).any(|w| w == b"\n\n")
}

fn add_via(req: &Request<'_>, h: &mut HeaderMap, via: ProxyVia) {
    let server = req.vhost.server_name.as_deref().unwrap_or("localhost");
    let mine = match via {
        ProxyVia::Off => return,
        ProxyVia::Block => {
            h.remove(header::VIA);
            return;
        }
        ProxyVia::On => format!("1.1 {server}"),
        ProxyVia::Full => format!(
            "1.1 {server} ({})",
            crate::error_pages::server_banner(req.server.server_tokens)
        ),
    };
    let v = match h.get(header::VIA).and_then(|v| v.to_str().ok()) {
        Some(old) => format!("{old}, {mine}"),
        None => mine,
    };
    if let Ok(v) = HeaderValue::from_str(&v) {
        h.insert(header::VIA, v);
    }
}

/// ProxyPassReverse: a value starting with a mapped backend URL is rewritten to this
/// server's URL for the mapped path (`http://` + the client's Host).
pub(crate) fn reverse_map(req: &Request<'_>, value: &str) -> Option<String> {
    for m in &req.vhost.proxy.reverse {
        if let Some(rest) = value.strip_prefix(m.url.as_str()) {
            let host = req
                .head
                .headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
                .or_else(|| req.vhost.server_name.clone())
                .unwrap_or_else(|| req.conn.local.to_string());
            let mut path = m.path.clone();
            if path.ends_with('/') && rest.starts_with('/') {
                path.pop();
            }
            return Some(format!("http://{host}{path}{rest}"));
        }
    }
    None
}

/// The headers sent to the client: the backend's, less the hop-by-hop ones and
/// Content-Length (the response's framing is made again), `ProxyPassReverse` applied to
/// Location, Content-Location and URI, and Via. The backend's map is changed in place:
/// no value is copied.
fn client_headers(req: &Request<'_>, mut h: HeaderMap) -> HeaderMap {
    let listed = connection_tokens(&h);
    let hop: Vec<HeaderName> = h
        .keys()
        .filter(|n| is_hop_by_hop(n.as_str(), &listed) || *n == header::CONTENT_LENGTH)
        .cloned()
        .collect();
    for name in hop {
        h.remove(name);
    }
    if !req.vhost.proxy.reverse.is_empty() {
        let uri = HeaderName::from_static("uri");
        for name in [header::LOCATION, header::CONTENT_LOCATION, uri] {
            if let header::Entry::Occupied(mut e) = h.entry(name) {
                for v in e.iter_mut() {
                    if let Some(new) = v.to_str().ok().and_then(|s| reverse_map(req, s))
                        && let Ok(nv) = HeaderValue::from_str(&new)
                    {
                        *v = nv;
                    }
                }
            }
        }
    }
    add_via(req, &mut h, req.vhost.proxy.via);
    h
}

/// The request head sent to `backend` (a request without body, or with the framing
/// its client used).
pub(crate) fn request_head(
    req: &Request<'_>,
    backend: &Backend,
    target: &str,
    reuse: bool,
) -> Vec<u8> {
    let connection = if reuse {
        Connection::Reuse
    } else {
        Connection::Close
    };
    let mut head_bytes = Vec::with_capacity(1024);
    proxy_request_head::write(
        req,
        backend,
        target,
        request_length(req),
        connection,
        &mut head_bytes,
    );
    head_bytes
}

fn request_length(req: &Request<'_>) -> RequestBodyLength {
    match req.head.body {
        BodyFraming::None | BodyFraming::UntilClose => RequestBodyLength::None,
        BodyFraming::Length(n) => RequestBodyLength::Known(n),
        BodyFraming::Chunked => RequestBodyLength::Chunked,
    }
}

/// Forward the request to `backend` with request-target `target`.
pub(crate) fn serve(
    req: &Request<'_>,
    body: &mut RequestBody<'_>,
    backend: &Backend,
    target: &str,
) -> Response {
    let key = backend.key();
    let timeout = proxy_backend::io_timeout(req, backend);
    // An Upgrade request (upgrade=, ws://) uses a connection of its own: it becomes the
    // tunnel, or closes after the answer.
    let upgrade = super::proxy_tunnel::requested(req, backend);
    if upgrade.is_none() && backend.is_websocket_url() && !req.vhost.proxy.websocket_fallback {
        proxy_backend::log(
            req,
            Level::Error,
            &format!(
                "AH02900: declining URL {} (not WebSocket, ProxyWebsocketFallbackToProxyHttp off)",
                backend.url
            ),
        );
        return Response::error(StatusCode::INTERNAL_SERVER_ERROR);
    }
    let reuse = !backend.params.disable_reuse && upgrade.is_none();
    let length = request_length(req);
    let limits = PoolLimits::of(&backend.params);
    // `max=`: wait for one of the backend's connections to be free.
    let wait = backend.params.acquire.unwrap_or(timeout);
    let permit = match proxy_pool::acquire(key, &limits, wait) {
        Ok(p) => p,
        Err(()) => {
            proxy_backend::log(
                req,
                Level::Error,
                &format!("AH00941: HTTP: failed to acquire connection for ({key})"),
            );
            return Response::error(StatusCode::SERVICE_UNAVAILABLE);
        }
    };
    let has_body = length != RequestBodyLength::None;
    // The event listener may have sent the request already (`proxy_async.rs`); the head
    // is made only when it has to be sent here.
    let mut resumed = super::proxy_async::take(req, target);
    let mut head_bytes: Option<Vec<u8>> = None;
    let bad_header = req.vhost.proxy.extra.bad_header;
    // A pooled connection may have been closed by the backend just now: a request
    // without a body is retried once on a fresh connection.
    let mut attempt = 0;
    let (conn, mut buf, parsed) = loop {
        attempt += 1;
        if let Some(taken) = resumed.take() {
            let (mut conn, mut buf) = (taken.conn, taken.buf);
            if taken.timed_out {
                let e = io::Error::from(ErrorKind::TimedOut);
                return backend_error(req, key, &e, "error reading status line from");
            }
            // The listener parsed the whole answer's head: `buf` is its body.
            if let Some(parsed) = taken.parsed {
                break (conn, buf, parsed);
            }
            // The rest is read here, blocking.
            conn.set_timeout(timeout);
            match read_head(&mut conn, &mut buf, &req.head.method, bad_header) {
                Ok(p) => break (conn, buf, p),
                // Closed before answering: retried on a fresh connection.
                Err(HeadError::Eof) if buf.is_empty() => continue,
                Err(HeadError::Io(e)) if buf.is_empty() && !proxy_backend::is_timeout(&e) => {
                    continue;
                }
                Err(e) => return head_failed(req, key, e),
            }
        }
        let pooled = if reuse || upgrade.is_some() {
            proxy_pool::take(key, &limits)
        } else {
            None
        };
        let reused = pooled.is_some();
        let mut conn = match pooled {
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
        let retryable = reused && !has_body && attempt == 1;
        let head_bytes = head_bytes.get_or_insert_with(|| {
            let connection = match &upgrade {
                Some(u) => Connection::Upgrade(u.as_bytes()),
                None if reuse => Connection::Reuse,
                None => Connection::Close,
            };
            let mut bytes = Vec::with_capacity(1024);
            proxy_request_head::write(req, backend, target, length, connection, &mut bytes);
            bytes
        });
        if let Err(e) = conn.write_all(head_bytes) {
            if retryable {
                continue;
            }
            return backend_error(req, key, &e, "error writing request head to");
        }
        if has_body {
            match send_body(&mut conn, body, length == RequestBodyLength::Chunked) {
                Ok(()) => {}
                Err(SendError::Client(e)) => {
                    proxy_backend::log(
                        req,
                        Level::Error,
                        &format!("AH01097: pass request body failed to {key}: {e}"),
                    );
                    return Response::error(StatusCode::BAD_REQUEST);
                }
                // The backend stopped reading: it may have answered early (413 ...).
                Err(SendError::Backend) => {}
            }
        }
        let mut buf = Vec::with_capacity(8192);
        match read_head(&mut conn, &mut buf, &req.head.method, bad_header) {
            Ok(p) => break (conn, buf, p),
            Err(HeadError::Eof) if retryable && buf.is_empty() => continue,
            Err(HeadError::Io(e))
                if retryable && buf.is_empty() && !proxy_backend::is_timeout(&e) =>
            {
                continue;
            }
            Err(e) => return head_failed(req, key, e),
        }
    };
    let (status, version, backend_h, framing) = parsed;
    let keep = reuse && response_keep_alive(version, &backend_h);
    // A HEAD answer keeps the backend's Content-Length (the body it would have sent).
    let head_len = head_length(req, status, &backend_h);
    if status == StatusCode::SWITCHING_PROTOCOLS {
        return switched(req, backend, upgrade.as_ref(), conn, buf, &backend_h);
    }
    let mut resp_headers = client_headers(req, backend_h);
    super::proxy_response::rewrite_cookies(&req.vhost.proxy.extra, &mut resp_headers);
    // ProxyErrorOverride: the local error page instead of the backend's (whose body
    // is not read: the connection is not reused).
    if super::proxy_response::overrides(&req.vhost.proxy.extra, status) {
        return Response::error(status);
    }
    let body = match framing {
        BodyFraming::None | BodyFraming::Length(0) => {
            if keep && buf.is_empty() {
                proxy_pool::put(key, &limits, conn);
            }
            Body::Empty
        }
        // All of a Content-Length body is here already (always so when the listener
        // collected it), and nothing more: no stream, the same framing, no copy.
        BodyFraming::Length(n) if buf.len() as u64 == n => {
            if keep {
                proxy_pool::put(key, &limits, conn);
            }
            Body::Bytes(std::mem::take(&mut buf).into())
        }
        f => {
            let decoder = BodyDecoder::new(f, 0);
            // `buf` holds the bytes already read past the head.
            let stream = Box::new(ProxyBody {
                conn: Some(conn),
                buf: std::mem::take(&mut buf),
                pos: 0,
                decoder,
                spill: Vec::new(),
                keep,
                key: key.to_string(),
                client: req.conn.client,
                limits,
                chunk: backend
                    .params
                    .io_buffer
                    .or(req.vhost.proxy.extra.io_buffer)
                    .unwrap_or(CHUNK),
                _permit: permit,
            });
            // The client gets the backend's framing: Content-Length stays.
            match f {
                BodyFraming::Length(len) => Body::SizedStream { body: stream, len },
                _ => Body::Stream(stream),
            }
        }
    };
    let body = match (&body, head_len) {
        (Body::Empty, Some(len)) => Body::SizedStream {
            body: Box::new(io::empty()),
            len,
        },
        _ => body,
    };
    let mut r = Response::new(status, body);
    r.headers = resp_headers;
    r
}

/// The backend answered 101: the tunnel when this request asked for that upgrade.
fn switched(
    req: &Request<'_>,
    backend: &Backend,
    upgrade: Option<&HeaderValue>,
    conn: Conn,
    buf: Vec<u8>,
    backend_h: &HeaderMap,
) -> Response {
    let Some(asked) = upgrade else {
        proxy_backend::log(
            req,
            Level::Error,
            &format!(
                "AH01102: {} answered 101 to a request that asked for no upgrade",
                backend.key()
            ),
        );
        return Response::error(StatusCode::BAD_GATEWAY);
    };
    let mut resp_headers = client_headers(req, backend_h.clone());
    super::proxy_response::rewrite_cookies(&req.vhost.proxy.extra, &mut resp_headers);
    super::proxy_tunnel::switched(req, backend, asked, conn, buf, backend_h, resp_headers)
}

/// The backend's answer could not be read: 504 on a timeout, else 502.
fn head_failed(req: &Request<'_>, key: &str, e: HeadError) -> Response {
    let why = match e {
        HeadError::Io(e) => return backend_error(req, key, &e, "error reading status line from"),
        HeadError::Eof => "connection closed".to_string(),
        HeadError::Bad(e) => e,
    };
    proxy_backend::log(
        req,
        Level::Error,
        &format!("AH01102: error reading status line from remote server {key}: {why}"),
    );
    Response::error(StatusCode::BAD_GATEWAY)
}

/// The Content-Length of a backend's answer to HEAD (sent on to the client as is).
fn head_length(req: &Request<'_>, status: StatusCode, h: &HeaderMap) -> Option<u64> {
    if req.head.method != Method::HEAD || status == StatusCode::NOT_MODIFIED {
        return None;
    }
    h.get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn backend_error(req: &Request<'_>, key: &str, e: &io::Error, what: &str) -> Response {
    let timeout = proxy_backend::is_timeout(e);
    proxy_backend::log(
        req,
        Level::Error,
        &format!(
            "{}: AH01102: {what} remote server {key}",
            crate::log::os_error_text(e)
        ),
    );
    Response::error(if timeout {
        StatusCode::GATEWAY_TIMEOUT
    } else {
        StatusCode::BAD_GATEWAY
    })
}

enum SendError {
    Client(io::Error),
    Backend,
}

/// Copy the client's body to the backend (chunk-encoded when `chunked`).
fn send_body(conn: &mut Conn, body: &mut RequestBody<'_>, chunked: bool) -> Result<(), SendError> {
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match body.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(SendError::Client(e)),
        };
        let r = if chunked {
            let mut h = Vec::with_capacity(16);
            write_chunk_header(n, &mut h);
            conn.write_all(&h)
                .and_then(|_| conn.write_all(&buf[..n]))
                .and_then(|_| conn.write_all(b"\r\n"))
        } else {
            conn.write_all(&buf[..n])
        };
        r.map_err(|_| SendError::Backend)?;
    }
    if chunked {
        conn.write_all(LAST_CHUNK).map_err(|_| SendError::Backend)?;
    }
    Ok(())
}

enum HeadError {
    Eof,
    Io(io::Error),
    Bad(String),
}

/// Read the response head (skipping interim 1xx responses other than 101). On return
/// `buf` holds the bytes after the head.
fn read_head(
    conn: &mut Conn,
    buf: &mut Vec<u8>,
    method: &Method,
    bad_header: BadHeader,
) -> Result<Parsed, HeadError> {
    let limits = Limits::default();
    loop {
        match parse_response_head(buf, &limits) {
            Ok(Some(p)) => {
                buf.drain(..p.head_len);
                if p.status.is_informational() && p.status != StatusCode::SWITCHING_PROTOCOLS {
                    continue;
                }
                let framing = response_framing(method, p.status, &p.headers)
                    .map_err(|e| HeadError::Bad(e.to_string()))?;
                return Ok((p.status, p.version, p.headers, framing));
            }
            Ok(None) => {}
            // ProxyBadHeader Ignore/StartBody: mend the head once it is all here.
            Err(_) if super::proxy_response::fix_bad_head(buf, bad_header) => continue,
            Err(_)
                if bad_header != BadHeader::IsError
                    && buf.len() < MAX_MENDED_HEAD
                    && !head_complete(buf) => {}
            Err(e) => return Err(HeadError::Bad(e.to_string())),
        }
        let mut chunk = [0u8; 8192];
        match conn.read(&mut chunk) {
            Ok(0) => return Err(HeadError::Eof),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(HeadError::Io(e)),
        }
    }
}

/// The backend's response body, decoded as the client reads it.
struct ProxyBody {
    conn: Option<Conn>,
    buf: Vec<u8>,
    pos: usize,
    decoder: BodyDecoder,
    spill: Vec<u8>,
    keep: bool,
    key: String,
    client: std::net::SocketAddr,
    limits: PoolLimits,
    /// Bytes read from the backend at a time (`iobuffersize=`, ProxyIOBufferSize).
    chunk: usize,
    /// Held while the connection is in use (`max=`).
    _permit: Option<Permit>,
}

impl ProxyBody {
    fn finish(&mut self) {
        if let Some(c) = self.conn.take()
            && self.keep
            && self.pos >= self.buf.len()
        {
            proxy_pool::put(&self.key, &self.limits, c);
        }
    }

    fn fail(&mut self, msg: String) -> io::Error {
        self.conn = None;
        crate::log::log(
            "proxy",
            Level::Error,
            Some(self.client),
            &format!("AH01110: error reading response from {}: {msg}", self.key),
        );
        io::Error::other(msg)
    }
}

impl Read for ProxyBody {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        if !self.spill.is_empty() {
            let n = self.spill.len().min(out.len());
            out[..n].copy_from_slice(&self.spill[..n]);
            self.spill.drain(..n);
            return Ok(n);
        }
        loop {
            if self.decoder.is_done() {
                self.finish();
                return Ok(0);
            }
            if self.pos < self.buf.len() {
                let d = match self.decoder.decode(&self.buf[self.pos..]) {
                    Ok(d) => d,
                    Err(e) => return Err(self.fail(e.to_string())),
                };
                let n = d.data.len().min(out.len());
                out[..n].copy_from_slice(&d.data[..n]);
                self.spill.extend_from_slice(&d.data[n..]);
                let consumed = d.consumed;
                self.pos += consumed;
                // The connection is free as soon as the body has ended (a reader held
                // to the Content-Length never asks again).
                if self.decoder.is_done() {
                    self.finish();
                }
                if n > 0 {
                    return Ok(n);
                }
                if consumed > 0 {
                    continue;
                }
            }
            if self.decoder.is_done() {
                continue;
            }
            // Need more bytes from the backend.
            self.buf.drain(..self.pos);
            self.pos = 0;
            let Some(conn) = self.conn.as_mut() else {
                return Ok(0);
            };
            let start = self.buf.len();
            self.buf.resize(start + self.chunk, 0);
            match conn.read(&mut self.buf[start..]) {
                Ok(0) => {
                    self.buf.truncate(start);
                    self.keep = false;
                    return match self.decoder.finish_eof() {
                        Ok(()) => {
                            self.conn = None;
                            Ok(0)
                        }
                        Err(_) => Err(self.fail("backend closed the connection early".into())),
                    };
                }
                Ok(n) => self.buf.truncate(start + n),
                Err(e) if e.kind() == ErrorKind::Interrupted => self.buf.truncate(start),
                Err(e) => {
                    self.buf.truncate(start);
                    return Err(self.fail(e.to_string()));
                }
            }
        }
    }
}

/// For the fuzz target `proxy_response` (fuzz/fuzz_targets/proxy_response.rs): a
/// backend's response head as [`serve`] reads it — mended by ProxyBadHeader `mode`
/// (0 IsError, 1 Ignore, 2 StartBody) when it does not parse, then its `Set-Cookie`
/// attributes mapped by ProxyPassReverseCookieDomain/Path. `None` where a real
/// request answers 502 (or reads more); else the status, the number of header fields
/// and the bytes left after the head.
#[doc(hidden)]
pub fn fuzz_response_head(data: &[u8], mode: u8) -> Option<(u16, usize, usize)> {
    use crate::conf::proxy_extra::{CookieMap, ProxyExtra};
    let bad = match mode % 3 {
        0 => BadHeader::IsError,
        1 => BadHeader::Ignore,
        _ => BadHeader::StartBody,
    };
    let extra = ProxyExtra {
        cookie_domains: vec![CookieMap {
            internal: "internal".into(),
            public: "public.example".into(),
        }],
        cookie_paths: vec![CookieMap {
            internal: "/app/".into(),
            public: "/".into(),
        }],
        ..ProxyExtra::default()
    };
    let mut buf = data.to_vec();
    for _ in 0..3 {
        match parse_response_head(&buf, &Limits::default()) {
            Ok(Some(p)) => {
                let mut h = p.headers;
                super::proxy_response::rewrite_cookies(&extra, &mut h);
                return Some((p.status.as_u16(), h.len(), buf.len() - p.head_len));
            }
            Ok(None) => return None,
            Err(_) if super::proxy_response::fix_bad_head(&mut buf, bad) => {}
            Err(_) => return None,
        }
    }
    None
}
