//! The handler interface: what every content generator (static files, autoindex, status,
//! CGI, proxy) implements, and the response bodies the connection drivers know how to
//! send.
//!
//! Handlers are synchronous. A handler that cannot block (static files, status) may run
//! to completion on the thread that read the request; one that can (CGI, proxy) returns
//! a [`Body::Stream`] and keeps its thread until the stream ends.

use std::fs::File;
use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use rhttpd_http::{HeaderMap, HeaderValue, RequestHead, StatusCode};

use crate::conf::{DirConfig, ServerConfig, VirtualHost};

/// Facts about the connection a request arrived on.
#[derive(Clone, Debug)]
pub struct ConnInfo {
    pub client: SocketAddr,
    pub local: SocketAddr,
    /// Requests served on this connection before this one.
    pub keepalives: u32,
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
    pub uri_path: String,
    /// The file the URL maps to (DocumentRoot or an Alias target joined with the
    /// remaining path); `None` when the URL maps to no file (e.g. a `<Location>` handler
    /// such as `server-status`).
    pub filename: Option<PathBuf>,
    /// For an Alias or DocumentRoot mapping: the URL prefix that was replaced, so that a
    /// directory listing can print URLs.
    pub url_prefix: String,
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
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Body::Empty => f.write_str("Empty"),
            Body::Bytes(b) => write!(f, "Bytes({})", b.len()),
            Body::File { offset, len, .. } => write!(f, "File({offset}+{len})"),
            Body::FileParts { parts, .. } => write!(f, "FileParts({})", parts.len()),
            Body::Stream(_) => f.write_str("Stream"),
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
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
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
/// `cgi-script`); the static file handler is the default.
pub trait Handler: Send + Sync {
    fn name(&self) -> &'static str;

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

    fn handle(&self, req: &Request<'_>, body: &mut RequestBody<'_>) -> Response;
}
