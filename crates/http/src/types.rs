//! Types shared by the server and client roles.

pub use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Version};

/// Apache's request limits (LimitRequestLine, LimitRequestFieldSize, LimitRequestFields,
/// LimitRequestBody). `fields == 0` and `body == 0` mean unlimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub request_line: usize,
    pub field_size: usize,
    pub fields: usize,
    pub body: u64,
    /// `HttpProtocolOptions Strict` (the default). `Unsafe` (false) tolerates, as
    /// Apache does, runs of spaces or tabs between the parts of the request line and
    /// after it, a lower-case protocol name (`http/1.1`), whitespace between a field
    /// name and its colon, and a fragment or user information in the target.
    pub strict: bool,
    /// `HttpProtocolOptions Allow0.9`: a simple request (`GET /path`, no version) is
    /// served as HTTP/0.9 — no header fields read, the body alone written back.
    pub allow_http09: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            request_line: 8190,
            field_size: 8190,
            fields: 100,
            body: 1 << 30,
            strict: true,
            allow_http09: false,
        }
    }
}

/// How a message body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body.
    None,
    /// `Content-Length: n` (n may be 0).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Client role only: the body runs until the server closes the connection.
    UntilClose,
}

/// A parsed request head. Everything a handler, the logger and the keep-alive logic need
/// without looking at raw bytes again.
#[derive(Clone, Debug)]
pub struct RequestHead {
    pub method: Method,
    /// The request-target exactly as received (`/a%20b?x=1`, `http://h/p`, `*`).
    pub raw_target: String,
    /// The path component, still percent-encoded; `*` for `OPTIONS *`. For an
    /// absolute-form target this is the path part of that URI (`/` if empty).
    pub path: String,
    /// The query string without the `?`.
    pub query: Option<String>,
    /// `HTTP_10` or `HTTP_11`.
    pub version: Version,
    pub headers: HeaderMap,
    /// Host name lower-cased with any port removed: from an absolute-form target if
    /// present, else from the Host header.
    pub host: Option<String>,
    /// The request line without CRLF (what `%r` logs).
    pub request_line: String,
    pub body: BodyFraming,
    /// `Expect: 100-continue` was sent (only honoured for HTTP/1.1).
    pub expect_continue: bool,
    /// A `Connection: close` token was present.
    pub connection_close: bool,
    /// A `Connection: keep-alive` token was present.
    pub connection_keep_alive: bool,
    /// Bytes of the head on the wire, including skipped leading blank lines (for `%I`).
    pub head_len: usize,
}

/// Why a request (or, in the client role, a response) could not be parsed. Each maps to
/// the status Apache answers with; see [`ParseError::status`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// Request line longer than LimitRequestLine → 414.
    RequestLineTooLong,
    /// A header field longer than LimitRequestFieldSize → 400.
    HeaderFieldTooLong,
    /// More header fields than LimitRequestFields → 400.
    TooManyHeaders,
    /// Malformed request line → 400.
    BadRequestLine,
    /// Malformed header field → 400.
    BadHeader,
    /// An HTTP/0.9 request (no version), refused as Apache's default
    /// `HttpProtocolOptions Require1.0` does → 400.
    Http09,
    /// A version other than 1.0/1.1 → 505.
    UnsupportedVersion,
    /// Invalid or repeated-and-different Content-Length → 400.
    BadContentLength,
    /// Both Content-Length and Transfer-Encoding → 400 (no request smuggling).
    ConflictingFraming,
    /// A Transfer-Encoding listing a coding we do not implement before the final
    /// `chunked` (e.g. `gzip, chunked`) → 501 (RFC 9112 §6.1).
    UnsupportedTransferEncoding,
    /// A Transfer-Encoding whose final coding is not `chunked`, `chunked` applied twice,
    /// or Transfer-Encoding in an HTTP/1.0 request → 400 (Apache AH02539, RFC 9112 §6.1).
    BadTransferEncoding,
    /// An `Expect` value other than `100-continue` → 417 (Apache AH00570).
    UnsupportedExpectation,
    /// The peer closed the connection before the body was complete → 400.
    IncompleteBody,
    /// The body did not arrive in time (`RequestReadTimeout body=`) → 408.
    BodyTimeout,
    /// Client role: the backend's status line or head could not be parsed → 502.
    BadStatusLine,
    /// Body larger than LimitRequestBody → 413.
    BodyTooLarge,
    /// Malformed chunked encoding → 400.
    BadChunk,
    /// HTTP/1.1 request without a Host header, or more than one → 400.
    BadHost,
}

/// The protocol as Apache names it in `%H`, `SERVER_PROTOCOL` and the scoreboard:
/// `HTTP/1.0`, `HTTP/1.1`, `HTTP/2.0`.
pub fn protocol_name(v: Version) -> &'static str {
    match v {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}
