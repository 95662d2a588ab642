//! The handler interface: what every content generator (static files, autoindex, status,
//! CGI, proxy) implements, the response bodies the connection drivers know how to send,
//! and the registry ([`Handlers`]) through which the request core reaches the handlers
//! without naming any module. Also what the core and handlers both build answers from:
//! absolute URLs (`ap_construct_url`) and the default `Allow` header.
//!
//! Handlers are synchronous. A handler that cannot block (static files, status) may run
//! to completion on the thread that read the request; one that can (CGI, proxy) returns
//! a [`Body::Stream`] and keeps its thread until the stream ends.

use std::fs::File;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use http::header;
use rhttpd_http::{HeaderMap, HeaderValue, RequestHead, StatusCode};

use crate::conf::{DirConfig, ServerConfig, VirtualHost};

/// Facts about the connection a request arrived on.
#[derive(Clone, Debug)]
pub struct ConnInfo {
    pub client: SocketAddr,
    pub local: SocketAddr,
    /// Requests served on this connection before this one.
    pub keepalives: u32,
    /// What the TLS handshake agreed (`None`: plain TCP, or the handshake has not
    /// finished).
    pub tls: Option<Arc<TlsInfo>>,
    /// A client spoke plain HTTP to a TLS port (answered with Apache's 400).
    pub plain_http_on_tls: bool,
    /// Work a handler started on the event listener without blocking (see [`Pending`]).
    pub pending: PendingSlot,
}

/// Work a handler started without blocking on the event listener (a request written to
/// a pooled backend connection), to be finished when `fd` becomes readable: the
/// listener waits for it in epoll, then runs the request through the pipeline again, and
/// the handler takes its work back ([`PendingSlot::take`]) — answering on the listener
/// if everything it needs has arrived, or on a worker otherwise.
pub trait Pending: Send {
    fn fd(&self) -> std::os::fd::BorrowedFd<'_>;
    /// Whether `fd` is in this process's listener epoll set already; the listener sets
    /// it when it registers the descriptor (edge-triggered, until it is closed).
    fn in_listener(&mut self) -> &mut bool;
    /// Readiness came: take in what arrived, reading until a short read or `EAGAIN`
    /// (readiness is edge-triggered). True when the request should run again (the
    /// answer is complete, too large to collect here, or the backend closed or failed).
    fn advance(&mut self) -> bool;
    /// How long the listener waits before handing the request to a worker anyway.
    fn timeout(&self) -> std::time::Duration;
    /// The wait reached [`Pending::timeout`] (the worker answers at once).
    fn expire(&mut self);
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any>;
    fn as_any(&self) -> &dyn std::any::Any;
}

thread_local! {
    /// Backend descriptors the event listener saw become readable while nobody waited
    /// on them (an idle pooled connection the backend closed, or wrote to unasked):
    /// kept on the listener's thread, the only one that reads them.
    static IDLE_BACKEND_EVENTS: std::cell::RefCell<std::collections::HashSet<i32>> =
        std::cell::RefCell::default();
}

/// The listener: backend descriptor `fd`, registered with it, had an event while idle.
pub fn note_idle_backend_event(fd: i32) {
    IDLE_BACKEND_EVENTS.with(|h| h.borrow_mut().insert(fd));
}

/// The listener registered `fd` for a new connection: an old mark is not its.
pub fn forget_idle_backend_event(fd: i32) {
    IDLE_BACKEND_EVENTS.with(|h| h.borrow_mut().remove(&fd));
}

/// On the listener: whether `fd` (registered with it) had an event while idle; the mark
/// goes.
pub fn idle_backend_had_event(fd: i32) -> bool {
    IDLE_BACKEND_EVENTS.with(|h| h.borrow_mut().remove(&fd))
}

/// Where a request's [`Pending`] work waits between two runs of the pipeline. Only the
/// HTTP/1.1 listener path opens it; anywhere else handlers find it closed. A copy of a
/// connection's facts (HTTP/2 streams) gets a closed slot.
#[derive(Default)]
pub struct PendingSlot(std::sync::Mutex<PendingState>);

#[derive(Default)]
enum PendingState {
    #[default]
    Closed,
    Open,
    Filled(Box<dyn Pending>),
}

impl PendingSlot {
    fn lock(&self) -> std::sync::MutexGuard<'_, PendingState> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Allow a handler to leave work here (the listener, before an inline run).
    pub fn open(&self) {
        let mut st = self.lock();
        if matches!(*st, PendingState::Closed) {
            *st = PendingState::Open;
        }
    }

    /// An open slot nothing was left in closes again.
    pub fn close_if_empty(&self) {
        let mut st = self.lock();
        if matches!(*st, PendingState::Open) {
            *st = PendingState::Closed;
        }
    }

    /// Leave `work` (only while open); it comes back when the slot is not open.
    pub fn offer(&self, work: Box<dyn Pending>) -> Result<(), Box<dyn Pending>> {
        let mut st = self.lock();
        match *st {
            PendingState::Open => {
                *st = PendingState::Filled(work);
                Ok(())
            }
            _ => Err(work),
        }
    }

    /// Work may be left now.
    pub fn is_open(&self) -> bool {
        matches!(*self.lock(), PendingState::Open)
    }

    pub fn is_filled(&self) -> bool {
        matches!(*self.lock(), PendingState::Filled(_))
    }

    /// Run `f` on the work left here, if any.
    pub fn with<R>(&self, f: impl FnOnce(&mut dyn Pending) -> R) -> Option<R> {
        match &mut *self.lock() {
            PendingState::Filled(p) => Some(f(p.as_mut())),
            _ => None,
        }
    }

    /// Take the work back if it is a `T` (the slot closes).
    pub fn take<T: 'static>(&self) -> Option<Box<T>> {
        let mut st = self.lock();
        if !matches!(*st, PendingState::Filled(_)) {
            return None;
        }
        match std::mem::take(&mut *st) {
            PendingState::Filled(p) => p.into_any().downcast::<T>().ok(),
            _ => None,
        }
    }
}

impl Clone for PendingSlot {
    fn clone(&self) -> Self {
        PendingSlot::default()
    }
}

impl std::fmt::Debug for PendingSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_filled() {
            "PendingSlot(filled)"
        } else {
            "PendingSlot"
        })
    }
}

impl ConnInfo {
    pub fn new(client: SocketAddr, local: SocketAddr) -> ConnInfo {
        ConnInfo {
            client,
            local,
            keepalives: 0,
            tls: None,
            plain_http_on_tls: false,
            pending: PendingSlot::default(),
        }
    }
}

/// What a TLS handshake agreed, as plain data for the request core, the CGI variables
/// (mod_ssl's `SSL_*`) and the access log (`%{SSL_PROTOCOL}x`). Filled by the TLS
/// transport; no TLS library type appears here.
#[derive(Clone, Debug, Default)]
pub struct TlsInfo {
    /// `TLSv1.2`, `TLSv1.3`.
    pub protocol: &'static str,
    /// The OpenSSL name of the cipher suite (`SSL_CIPHER`).
    pub cipher: &'static str,
    pub cipher_bits: u16,
    /// The SNI name the client sent (lower case).
    pub sni: Option<String>,
    pub resumed: bool,
    /// The host whose TLS configuration served the handshake: `None` = main server,
    /// `Some(i)` = `cfg.vhosts[i]`.
    pub host: Option<usize>,
    /// `SSL_CLIENT_VERIFY`: `NONE`, `SUCCESS`, `GENEROUS`.
    pub client_verify: &'static str,
    /// `SSL_CLIENT_*` and `SSL_SERVER_*` certificate variables (subject, issuer, serial,
    /// validity ...), in Apache's names.
    pub cert_vars: Vec<(String, String)>,
    /// The certificates as PEM, for `SSLOptions +ExportCertData`.
    pub client_pem: Option<String>,
    pub server_pem: Option<Arc<str>>,
}

impl TlsInfo {
    /// One mod_ssl variable by name (`SSL_PROTOCOL`, `SSL_CLIENT_S_DN_CN`, `HTTPS` ...).
    pub fn var(&self, name: &str) -> Option<std::borrow::Cow<'_, str>> {
        use std::borrow::Cow;
        Some(match name {
            "HTTPS" => Cow::Borrowed("on"),
            "SSL_PROTOCOL" => Cow::Borrowed(self.protocol),
            "SSL_CIPHER" => Cow::Borrowed(self.cipher),
            "SSL_CIPHER_USEKEYSIZE" | "SSL_CIPHER_ALGKEYSIZE" => {
                Cow::Owned(self.cipher_bits.to_string())
            }
            "SSL_CIPHER_EXPORT" => Cow::Borrowed("false"),
            "SSL_SESSION_RESUMED" => {
                Cow::Borrowed(if self.resumed { "Resumed" } else { "Initial" })
            }
            "SSL_SECURE_RENEG" => Cow::Borrowed("false"),
            "SSL_COMPRESS_METHOD" => Cow::Borrowed("NULL"),
            "SSL_TLS_SNI" => Cow::Borrowed(self.sni.as_deref()?),
            "SSL_CLIENT_VERIFY" => Cow::Borrowed(self.client_verify),
            "SSL_VERSION_INTERFACE" => Cow::Borrowed(concat!("rhttpd/", env!("CARGO_PKG_VERSION"))),
            "SSL_VERSION_LIBRARY" => Cow::Borrowed("rustls/0.23"),
            "SSL_CLIENT_CERT" => Cow::Borrowed(self.client_pem.as_deref()?),
            "SSL_SERVER_CERT" => Cow::Borrowed(self.server_pem.as_deref()?),
            _ => {
                return self
                    .cert_vars
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| Cow::Borrowed(v.as_str()));
            }
        })
    }

    /// The variables `SSLOptions +StdEnvVars` gives CGI and FastCGI (`HTTPS` is set for
    /// every TLS request whatever the options, as mod_ssl does).
    pub fn std_env_vars(&self, export_cert_data: bool) -> Vec<(String, String)> {
        let mut out = Vec::with_capacity(16 + self.cert_vars.len());
        for name in [
            "SSL_VERSION_INTERFACE",
            "SSL_VERSION_LIBRARY",
            "SSL_PROTOCOL",
            "SSL_SECURE_RENEG",
            "SSL_COMPRESS_METHOD",
            "SSL_CIPHER",
            "SSL_CIPHER_EXPORT",
            "SSL_CIPHER_USEKEYSIZE",
            "SSL_CIPHER_ALGKEYSIZE",
            "SSL_CLIENT_VERIFY",
            "SSL_SESSION_RESUMED",
            "SSL_TLS_SNI",
        ] {
            if let Some(v) = self.var(name) {
                out.push((name.to_string(), v.into_owned()));
            }
        }
        out.extend(self.cert_vars.iter().cloned());
        if export_cert_data {
            for name in ["SSL_CLIENT_CERT", "SSL_SERVER_CERT"] {
                if let Some(v) = self.var(name) {
                    out.push((name.to_string(), v.into_owned()));
                }
            }
        }
        out
    }
}

/// Everything a handler may look at. Built by the request pipeline after vhost selection,
/// URL decoding, Alias/DocumentRoot mapping and merging of the per-directory sections.
pub struct Request<'a> {
    pub head: &'a RequestHead,
    pub conn: &'a ConnInfo,
    pub server: &'a ServerConfig,
    pub vhost: &'a VirtualHost,
    /// The merged `<Directory>`/`<Files>`/`<Location>` configuration for this request.
    pub dir: &'a DirConfig,
    /// The URL path, percent-decoded and normalised (no `.`/`..` segments, no `//`).
    pub uri_path: &'a str,
    /// The file the URL maps to (DocumentRoot or an Alias target joined with the
    /// remaining path); `None` when the URL maps to no file (e.g. a `<Location>` handler
    /// such as `server-status`).
    pub filename: Option<&'a Path>,
    /// For an Alias or DocumentRoot mapping: the URL prefix that was replaced, so that a
    /// directory listing can print URLs.
    pub url_prefix: String,
    /// Runs another request head through the whole request core (vhost, mapping,
    /// access, handler, error documents) on this connection, with no body, and returns
    /// its response: Apache's internal redirect (CGI's local `Location:`).
    pub internal_redirect: &'a dyn Fn(&RequestHead) -> Response,
    /// The authenticated user (`REMOTE_USER`), when `Require` wanted one.
    pub user: Option<&'a str>,
}

impl Request<'_> {
    /// The absolute URL of `path_and_query` on this server (see [`absolute_url`]).
    pub fn absolute_url(&self, path_and_query: &str) -> String {
        absolute_url(
            self.server,
            self.vhost,
            self.conn,
            self.head,
            path_and_query,
        )
    }
}

/// The URL for `path_and_query` on this server, as `ap_construct_url` builds it with
/// `UseCanonicalName Off`: the client's Host (and port, if it gave one), else ServerName,
/// else the local address; `https` when the listener was declared so (or is port 443).
pub fn absolute_url(
    server: &ServerConfig,
    vhost: &VirtualHost,
    conn: &ConnInfo,
    head: &RequestHead,
    path_and_query: &str,
) -> String {
    let local = conn.local;
    let https = conn.tls.is_some()
        || server
            .listeners
            .iter()
            .find(|l| {
                l.addr == local || (l.addr.ip().is_unspecified() && l.addr.port() == local.port())
            })
            .map(|l| l.protocol.eq_ignore_ascii_case("https"))
            .unwrap_or(local.port() == 443);
    let (scheme, default_port) = if https { ("https", 443) } else { ("http", 80) };
    let host_header = head
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|h| !h.is_empty());
    let (host, port) = match host_header.and_then(split_host_port) {
        Some((h, p)) => (h.to_ascii_lowercase(), p),
        None => match vhost.server_name.as_deref().and_then(split_host_port) {
            Some((h, p)) => (h.to_string(), p),
            None => match local.ip() {
                std::net::IpAddr::V4(ip) => (ip.to_string(), Some(local.port())),
                std::net::IpAddr::V6(ip) => (format!("[{ip}]"), Some(local.port())),
            },
        },
    };
    match port {
        Some(p) if p != default_port => format!("{scheme}://{host}:{p}{path_and_query}"),
        _ => format!("{scheme}://{host}{path_and_query}"),
    }
}

/// `host[:port]` or `[v6][:port]`; `None` when malformed.
fn split_host_port(s: &str) -> Option<(&str, Option<u16>)> {
    let (host, rest) = if s.starts_with('[') {
        let end = s.find(']')?;
        (&s[..=end], &s[end + 1..])
    } else {
        match s.rfind(':') {
            Some(i) => (&s[..i], &s[i..]),
            None => (s, ""),
        }
    };
    if host.is_empty() || host.contains(['/', ' ', '@']) {
        return None;
    }
    match rest.strip_prefix(':') {
        None if rest.is_empty() => Some((host, None)),
        None => None,
        Some("") => Some((host, None)),
        Some(p) => p.parse().ok().map(|p| (host, Some(p))),
    }
}

/// The `Allow` header of the default handler and of the core's `OPTIONS` answers (the
/// order Apache 2.4 prints).
pub fn allow_header(trace_enable: bool) -> &'static str {
    if trace_enable {
        "GET,POST,OPTIONS,HEAD,TRACE"
    } else {
        "GET,POST,OPTIONS,HEAD"
    }
}

/// The request body as a handler sees it: a reader that pulls from the connection,
/// de-chunking as needed and sending `100 Continue` on first read. Reads return
/// `Ok(0)` at the end of the body.
pub type RequestBody<'a> = dyn Read + 'a;

/// One part of a multipart/byteranges response.
#[derive(Debug)]
pub enum BodyPart {
    Bytes(Bytes),
    FileRange { offset: u64, len: u64 },
}

/// A response body.
pub enum Body {
    Empty,
    Bytes(Bytes),
    /// `len` bytes of `file` from `offset`: sent with sendfile(2) on plain TCP when
    /// EnableSendfile is On.
    File {
        file: Arc<File>,
        offset: u64,
        len: u64,
        sendfile: bool,
    },
    /// Several parts of one file with literal bytes between them (multipart/byteranges).
    FileParts {
        file: Arc<File>,
        parts: Vec<BodyPart>,
        sendfile: bool,
    },
    /// A body of unknown length produced as it is read (CGI, proxy). Sent chunked to
    /// HTTP/1.1 clients, close-delimited to HTTP/1.0 ones.
    Stream(Box<dyn Read + Send>),
    /// A body produced as it is read whose length is known in advance (a proxied
    /// response with `Content-Length`): sent with that Content-Length. The drivers read
    /// it through [`ExactLen`]: a stream that ends early is an error (the client's
    /// connection closes short of the length), bytes beyond `len` are never sent.
    SizedStream {
        body: Box<dyn Read + Send>,
        len: u64,
    },
    /// With `101 Switching Protocols`: after the head, the connection carries the bytes
    /// of another protocol between the client and `peer` (mod_proxy's Upgrade tunnel).
    /// With any other status it is sent as an empty body.
    Tunnel(Box<Tunnel>),
}

/// The far end of a tunnel a handler opened: a backend connection that answered
/// `101 Switching Protocols`. The connection drivers relay bytes between it and the
/// client with non-blocking I/O once the 101 head is written.
pub trait TunnelPeer: Read + Write + Send {
    /// The socket, for poll/epoll.
    fn fd(&self) -> std::os::fd::BorrowedFd<'_>;
    fn set_nonblocking(&mut self) -> std::io::Result<()>;
    /// Bytes taken by `write` wait to go out (a TLS record): wait for writability too.
    fn wants_write(&self) -> bool {
        false
    }
    /// Input already held that readiness will not announce (decrypted TLS data).
    fn has_pending_input(&mut self) -> bool {
        false
    }
    /// No more bytes will be sent to the peer (the client closed its side).
    fn shutdown_write(&mut self) -> std::io::Result<()>;
}

/// A switched connection's other end and how long it may stay silent.
pub struct Tunnel {
    pub peer: Box<dyn TunnelPeer>,
    /// Bytes the peer sent after its 101 head: the client gets them first.
    pub from_peer: Vec<u8>,
    /// The tunnel closes after this long without a byte in either direction.
    pub idle_timeout: std::time::Duration,
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Body::Empty => f.write_str("Empty"),
            Body::Bytes(b) => write!(f, "Bytes({})", b.len()),
            Body::File { offset, len, .. } => write!(f, "File({offset}+{len})"),
            Body::FileParts { parts, .. } => write!(f, "FileParts({})", parts.len()),
            Body::Stream(_) => f.write_str("Stream"),
            Body::SizedStream { len, .. } => write!(f, "SizedStream({len})"),
            Body::Tunnel(_) => f.write_str("Tunnel"),
        }
    }
}

impl Body {
    /// The exact length when it is known in advance.
    pub fn len(&self) -> Option<u64> {
        match self {
            Body::Empty => Some(0),
            Body::Bytes(b) => Some(b.len() as u64),
            Body::File { len, .. } => Some(*len),
            Body::FileParts { parts, .. } => Some(
                parts
                    .iter()
                    .map(|p| match p {
                        BodyPart::Bytes(b) => b.len() as u64,
                        BodyPart::FileRange { len, .. } => *len,
                    })
                    .sum(),
            ),
            Body::Stream(_) => None,
            Body::SizedStream { len, .. } => Some(*len),
            Body::Tunnel(_) => Some(0),
        }
    }

    /// A body produced as it is read (which may block while it is read).
    pub fn is_stream(&self) -> bool {
        matches!(self, Body::Stream(_) | Body::SizedStream { .. })
    }

    /// A streamed body as a reader and its length when known (a sized stream comes
    /// wrapped in [`ExactLen`]); any other body is given back.
    pub fn into_stream(self) -> Result<(Box<dyn Read + Send>, Option<u64>), Body> {
        match self {
            Body::Stream(r) => Ok((r, None)),
            Body::SizedStream { body, len } => Ok((Box::new(ExactLen::new(body, len)), Some(len))),
            other => Err(other),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }
}

/// A reader held to exactly `len` bytes: it ends after `len` bytes whatever the inner
/// reader has left, and an inner end before `len` is an `UnexpectedEof` error (so a
/// response sent with a Content-Length is never completed with fewer bytes).
pub struct ExactLen {
    inner: Box<dyn Read + Send>,
    left: u64,
}

impl ExactLen {
    pub fn new(inner: Box<dyn Read + Send>, len: u64) -> ExactLen {
        ExactLen { inner, left: len }
    }
}

impl Read for ExactLen {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = buf.len().min(self.left.min(usize::MAX as u64) as usize);
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("body ended {} bytes short of its length", self.left),
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// What a handler returns.
#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    /// Headers the handler sets (Content-Type, ETag, Last-Modified, Content-Range,
    /// Location, Allow ...). Date, Server, Content-Length/Transfer-Encoding, Connection
    /// and Keep-Alive are added by the connection driver.
    pub headers: HeaderMap,
    pub body: Body,
    /// When set, the body is ignored and the core generates the error document for
    /// `status` (Apache's built-in HTML page, or the vhost's ErrorDocument). Handlers
    /// use [`Response::error`] for 403/404/405/412/416/500 and for redirects (301 with a
    /// Location header).
    pub error_page: bool,
}

impl Response {
    pub fn new(status: StatusCode, body: Body) -> Self {
        Response {
            status,
            headers: HeaderMap::new(),
            body,
            error_page: false,
        }
    }

    /// An error (or redirect) whose body the core generates.
    pub fn error(status: StatusCode) -> Self {
        Response {
            status,
            headers: HeaderMap::new(),
            body: Body::Empty,
            error_page: true,
        }
    }

    /// A 301 to `location` (an absolute URL or an absolute path) with the core's page.
    pub fn redirect(status: StatusCode, location: &str) -> Self {
        let mut r = Response::error(status);
        if let Ok(v) = HeaderValue::from_str(location) {
            r.headers.insert(http::header::LOCATION, v);
        }
        r
    }

    pub fn header(mut self, name: http::header::HeaderName, value: &str) -> Self {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.insert(name, v);
        }
        self
    }
}

/// A content generator. `name` is what `SetHandler`/`AddHandler` use (`server-status`,
/// `cgi-script`); the one named [`DEFAULT_HANDLER`] (static files) is the default.
pub trait Handler: Send + Sync {
    fn name(&self) -> &'static str;

    /// Apache's `translate_name` hook: whether this handler takes the URL `uri_path` of
    /// `vhost` before the core maps it (mod_proxy's `ProxyPass`). A handler that claims
    /// a URL wins over every other handler choice.
    fn claims(&self, _vhost: &VirtualHost, _uri_path: &str) -> bool {
        false
    }

    /// Whether the handler may run in a threaded MPM. A handler that is not thread-safe
    /// makes worker and event refuse to start (Apache's mod_php situation).
    fn thread_safe(&self) -> bool {
        true
    }

    /// Whether the handler may wait on something other than the local disk (a CGI
    /// process, a backend, the request body). The event MPM runs handlers that cannot
    /// block on its listener thread, without a hand-off to a worker; the default is the
    /// safe answer.
    fn may_block(&self) -> bool {
        true
    }

    /// For a handler that may block, on the event listener: true when it can answer
    /// this request now without blocking (it is then run right there). Otherwise it
    /// goes to a worker — unless the handler left [`Pending`] work in `req.conn.pending`,
    /// in which case the listener waits for that first.
    fn answers_without_blocking(&self, _req: &Request<'_>) -> bool {
        false
    }

    fn handle(&self, req: &Request<'_>, body: &mut RequestBody<'_>) -> Response;
}

/// The name of the handler that serves what no other handler is chosen for (Apache's
/// `default-handler`: the static files).
pub const DEFAULT_HANDLER: &str = "default-handler";

/// The handlers of one generation: looked up by the name `SetHandler`, `AddHandler` or
/// ScriptAlias give, asked in turn whether they claim a URL ([`Handler::claims`]), and
/// the [`DEFAULT_HANDLER`] for everything else. The request core reaches handlers only
/// through this registry; which handlers exist is decided where it is built
/// (`Site::new`, from the modules a configuration loaded).
pub struct Handlers {
    default: Option<Arc<dyn Handler>>,
    all: Vec<Arc<dyn Handler>>,
}

impl Handlers {
    /// A registry of `handlers`; the one named [`DEFAULT_HANDLER`], if any, is the
    /// default (without one, a request no handler is chosen for gets a 500).
    pub fn new(handlers: Vec<Arc<dyn Handler>>) -> Self {
        Handlers {
            default: handlers
                .iter()
                .find(|h| h.name() == DEFAULT_HANDLER)
                .cloned(),
            all: handlers,
        }
    }

    /// The handler `name` selects. A handler name ending in ':' is a prefix (mod_proxy's
    /// `proxy:URL` handlers).
    pub fn find(&self, name: &str) -> Option<&Arc<dyn Handler>> {
        self.all
            .iter()
            .find(|h| h.name() == name || (h.name().ends_with(':') && name.starts_with(h.name())))
    }

    /// The first handler that claims `uri_path` of `vhost` (see [`Handler::claims`]).
    pub fn claiming(&self, vhost: &VirtualHost, uri_path: &str) -> Option<&Arc<dyn Handler>> {
        self.all.iter().find(|h| h.claims(vhost, uri_path))
    }

    /// The [`DEFAULT_HANDLER`].
    pub fn default_handler(&self) -> Option<&Arc<dyn Handler>> {
        self.default.as_ref()
    }

    /// Handlers that would refuse a threaded MPM.
    pub fn not_thread_safe(&self) -> Vec<&'static str> {
        self.all
            .iter()
            .filter(|h| !h.thread_safe())
            .map(|h| h.name())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_len_reader() {
        let mut all = Vec::new();
        let mut r = ExactLen::new(Box::new(&b"hello world"[..]), 5);
        r.read_to_end(&mut all).unwrap();
        assert_eq!(all, b"hello");
        let mut r = ExactLen::new(Box::new(&b"abc"[..]), 5);
        let mut buf = [0u8; 8];
        assert_eq!(r.read(&mut buf).unwrap(), 3);
        assert_eq!(
            r.read(&mut buf).unwrap_err().kind(),
            std::io::ErrorKind::UnexpectedEof
        );
        let b = Body::SizedStream {
            body: Box::new(std::io::empty()),
            len: 7,
        };
        assert_eq!((b.len(), b.is_stream()), (Some(7), true));
    }

    #[test]
    fn host_port_parsing() {
        assert_eq!(split_host_port("a.b:80"), Some(("a.b", Some(80))));
        assert_eq!(split_host_port("a.b"), Some(("a.b", None)));
        assert_eq!(split_host_port("[::1]:8"), Some(("[::1]", Some(8))));
        assert_eq!(split_host_port("[::1]"), Some(("[::1]", None)));
        assert_eq!(split_host_port("a:b"), None);
        assert_eq!(split_host_port("[::1"), None);
        assert_eq!(split_host_port(":80"), None);
    }

    struct Named(&'static str);

    impl Handler for Named {
        fn name(&self) -> &'static str {
            self.0
        }

        fn claims(&self, _vhost: &VirtualHost, uri_path: &str) -> bool {
            self.0 == "claimer" && uri_path.starts_with("/claimed")
        }

        fn handle(&self, _req: &Request<'_>, _body: &mut RequestBody<'_>) -> Response {
            Response::error(StatusCode::NO_CONTENT)
        }
    }

    #[test]
    fn registry_lookups() {
        let h = Handlers::new(vec![
            Arc::new(Named("proxy:")),
            Arc::new(Named(DEFAULT_HANDLER)),
            Arc::new(Named("claimer")),
        ]);
        assert_eq!(h.default_handler().map(|d| d.name()), Some(DEFAULT_HANDLER));
        assert_eq!(h.find("proxy:fcgi://x").map(|d| d.name()), Some("proxy:"));
        assert!(h.find("cgi-script").is_none());
        let v = VirtualHost::default();
        assert_eq!(
            h.claiming(&v, "/claimed/x").map(|d| d.name()),
            Some("claimer")
        );
        assert!(h.claiming(&v, "/other").is_none());
        assert!(Handlers::new(Vec::new()).default_handler().is_none());
    }
}
