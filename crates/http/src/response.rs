//! Server role: response heads, keep-alive decision (`ap_set_keepalive`) and chunked
//! output framing.

use std::io::Write;

use crate::types::{HeaderMap, Method, RequestHead, StatusCode, Version};

/// The last chunk and an empty trailer section.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";
/// The interim response sent before reading a body when the client expects it.
pub const CONTINUE_100: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";
/// What ends a chunk's data after [`write_chunk_header`] and the data.
pub const CHUNK_END: &[u8] = b"\r\n";

/// Inputs of the keep-alive decision that come from configuration and connection state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeepAlivePolicy {
    /// KeepAlive On, server not stopping, and the request body was fully read.
    pub enabled: bool,
    /// KeepAliveTimeout in whole seconds, for the `Keep-Alive: timeout=` header (a
    /// sub-second timeout prints 0; `enabled` decides whether keep-alive is granted).
    pub timeout_secs: u64,
    /// MaxKeepAliveRequests (0 = unlimited).
    pub max: u32,
    /// Requests completed on this connection before this one.
    pub served: u32,
}

/// The length of the response body the handler will produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseLength {
    Known(u64),
    Unknown,
}

/// How the caller must send the body and what to do with the connection afterwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Framing {
    /// Wrap the body with [`write_chunk`] and finish with [`LAST_CHUNK`].
    pub chunked: bool,
    /// Keep the connection open for another request after this response.
    pub keep_alive: bool,
    /// Send a body at all (false for HEAD, 1xx, 204, 304).
    pub send_body: bool,
}

/// Apache 2.4's reason phrases (`status_lines` in `http_protocol.c`); "" for codes
/// Apache has no phrase for.
pub fn reason_phrase(status: StatusCode) -> &'static str {
    match status.as_u16() {
        100 => "Continue",
        101 => "Switching Protocols",
        102 => "Processing",
        103 => "Early Hints",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        207 => "Multi-Status",
        208 => "Already Reported",
        226 => "IM Used",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        305 => "Use Proxy",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Request Entity Too Large",
        414 => "Request-URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Requested Range Not Satisfiable",
        417 => "Expectation Failed",
        421 => "Misdirected Request",
        422 => "Unprocessable Entity",
        423 => "Locked",
        424 => "Failed Dependency",
        425 => "Too Early",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        451 => "Unavailable For Legal Reasons",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        506 => "Variant Also Negotiates",
        507 => "Insufficient Storage",
        508 => "Loop Detected",
        510 => "Not Extended",
        511 => "Network Authentication Required",
        _ => "",
    }
}

/// `ap_status_drops_connection` (httpd.h), plus 417: Apache ends the connection after
/// an unmet expectation too (`ap_read_request` returns no request).
pub fn status_drops_connection(status: StatusCode) -> bool {
    matches!(
        status.as_u16(),
        400 | 408 | 411 | 413 | 414 | 417 | 500 | 501 | 503
    )
}

/// Fields the engine owns; dropped from the caller's map.
const OWNED: &[&str] = &[
    "date",
    "server",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
];

/// A field from the caller's map: the name in Apache's casing.
fn push_header(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    crate::names::write_header_name(name, out);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// A field whose name is already spelled as it goes on the wire.
fn push_field(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Write `HTTP/1.1 <code> <phrase>`, `Date`, `Server` (unless `server` is empty), the
/// caller's headers, then the framing and connection headers, then the blank line.
/// Header order follows Apache: Date, Server, caller fields, Content-Length,
/// Keep-Alive, Connection, Transfer-Encoding, Content-Type. Field names from `headers`
/// are written in Apache's casing ([`crate::write_header_name`]: `ETag`,
/// `Last-Modified`, `X-Custom`).
///
/// * HTTP/0.9 requests: nothing (the body follows alone; the connection closes).
/// * 1xx: status line and the caller's headers only (e.g. `Upgrade`/`Connection` of a
///   101); no body, connection kept.
/// * 204/304: no Content-Length/Transfer-Encoding/Content-Type; every other field of
///   the caller is kept, as Apache 2.4.71 does (a 304 for a static file carries
///   Last-Modified, ETag and Accept-Ranges, plus e.g. Cache-Control, Expires, Vary,
///   Set-Cookie).
/// * HEAD: Content-Length of the would-be body when known and non-zero (Apache drops
///   `Content-Length: 0` on HEAD), `send_body = false`.
/// * Unknown length: chunked for HTTP/1.1 requests, close-delimited otherwise.
/// * Keep-alive as `ap_set_keepalive`; `Keep-Alive: timeout=N, max=M` (M = requests
///   left, `max - served`) and `Connection: Keep-Alive` only when the client sent a
///   keep-alive token; `Connection: close` whenever the connection will be closed.
///   A `Connection: close` in `headers` forces the close.
#[allow(clippy::too_many_arguments)]
pub fn write_response_head(
    req: Option<&RequestHead>,
    status: StatusCode,
    headers: &HeaderMap,
    length: ResponseLength,
    ka: &KeepAlivePolicy,
    server: &str,
    date: &str,
    out: &mut Vec<u8>,
) -> Framing {
    if req.is_some_and(|r| r.version == Version::HTTP_09) {
        // HTTP/0.9 (`HttpProtocolOptions Allow0.9`): the body alone, then close.
        return Framing {
            chunked: false,
            keep_alive: false,
            send_body: !status.is_informational(),
        };
    }
    let code = status.as_u16();
    let _ = write!(out, "HTTP/1.1 {code} {}\r\n", reason_phrase(status));

    if status.is_informational() {
        for (name, value) in headers {
            if !matches!(name.as_str(), "content-length" | "transfer-encoding") {
                push_header(out, name.as_str(), value.as_bytes());
            }
        }
        out.extend_from_slice(b"\r\n");
        return Framing {
            chunked: false,
            keep_alive: true,
            send_body: false,
        };
    }

    let is_head = req.is_some_and(|r| r.method == Method::HEAD);
    let header_only_status = code == 204 || code == 304;
    let send_body = !is_head && !header_only_status;
    let http11 = req.is_some_and(|r| r.version == Version::HTTP_11);
    let chunked = send_body && length == ResponseLength::Unknown && http11;
    let wimpy = crate::token::has_token(headers, &http::header::CONNECTION, "close");
    let length_defined =
        is_head || header_only_status || matches!(length, ResponseLength::Known(_)) || chunked;
    let left = ka.max.saturating_sub(ka.served);

    let (keep_alive, ka_sent) = match req {
        None => (false, false),
        Some(r) => {
            // `enabled` already covers KeepAliveTimeout 0; a sub-second timeout
            // (300ms) keeps the connection and advertises timeout=0, as Apache does.
            let granted = ka.enabled
                && length_defined
                && (ka.max == 0 || left > 0)
                && !status_drops_connection(status)
                && !wimpy
                && !r.connection_close
                && (r.connection_keep_alive || http11);
            (granted, granted && r.connection_keep_alive)
        }
    };

    push_field(out, "Date", date.as_bytes());
    if !server.is_empty() {
        push_field(out, "Server", server.as_bytes());
    }
    for (name, value) in headers {
        let n = name.as_str();
        if OWNED.contains(&n) || n == "content-type" {
            continue;
        }
        push_header(out, n, value.as_bytes());
    }
    if let ResponseLength::Known(n) = length
        && !header_only_status
        && (send_body || n != 0)
    {
        let _ = write!(out, "Content-Length: {n}\r\n");
    }
    if ka_sent {
        if ka.max != 0 {
            let _ = write!(
                out,
                "Keep-Alive: timeout={}, max={left}\r\n",
                ka.timeout_secs
            );
        } else {
            let _ = write!(out, "Keep-Alive: timeout={}\r\n", ka.timeout_secs);
        }
        out.extend_from_slice(b"Connection: Keep-Alive\r\n");
    }
    if !keep_alive {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    if chunked {
        out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
    }
    if !header_only_status {
        for value in headers.get_all(http::header::CONTENT_TYPE) {
            push_field(out, "Content-Type", value.as_bytes());
        }
    }
    out.extend_from_slice(b"\r\n");
    Framing {
        chunked,
        keep_alive,
        send_body,
    }
}

/// Append `data` as one chunk (`<hex len>\r\n<data>\r\n`). Empty data writes nothing
/// (an empty chunk would end the body; use [`LAST_CHUNK`] for that).
pub fn write_chunk(data: &[u8], out: &mut Vec<u8>) {
    if data.is_empty() {
        return;
    }
    write_chunk_header(data.len(), out);
    out.extend_from_slice(data);
    out.extend_from_slice(CHUNK_END);
}

/// Append a chunk-size line (`<hex len>\r\n`); the caller then sends `len` bytes of data
/// (e.g. with sendfile) followed by [`CHUNK_END`].
pub fn write_chunk_header(len: usize, out: &mut Vec<u8>) {
    let _ = write!(out, "{len:x}\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::parse_request_head;
    use crate::types::{HeaderName, HeaderValue, Limits};

    fn req(s: &str) -> RequestHead {
        parse_request_head(s.as_bytes(), &Limits::default())
            .unwrap()
            .unwrap()
    }

    const KA: KeepAlivePolicy = KeepAlivePolicy {
        enabled: true,
        timeout_secs: 5,
        max: 100,
        served: 0,
    };

    fn hm(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    fn write(
        r: Option<&RequestHead>,
        code: u16,
        h: &[(&str, &str)],
        len: ResponseLength,
        ka: &KeepAlivePolicy,
    ) -> (String, Framing) {
        let mut out = Vec::new();
        let f = write_response_head(
            r,
            StatusCode::from_u16(code).unwrap(),
            &hm(h),
            len,
            ka,
            "Apache",
            "Sun, 06 Nov 1994 08:49:37 GMT",
            &mut out,
        );
        (String::from_utf8(out).unwrap(), f)
    }

    const G11: &str = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    const G11KA: &str = "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n";
    const G11C: &str = "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    const G10: &str = "GET / HTTP/1.0\r\n\r\n";
    const G10KA: &str = "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n";

    #[test]
    fn full_head_layout() {
        let r = req(G10KA);
        let (s, f) = write(
            Some(&r),
            200,
            &[
                ("content-type", "text/html"),
                ("last-modified", "x"),
                ("etag", "\"e\""),
                ("date", "bogus"),
                ("content-length", "999"),
                ("connection", "keep-alive"),
            ],
            ResponseLength::Known(45),
            &KA,
        );
        assert_eq!(
            s,
            "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: Apache\r\n\
             Last-Modified: x\r\nETag: \"e\"\r\nContent-Length: 45\r\n\
             Keep-Alive: timeout=5, max=100\r\nConnection: Keep-Alive\r\n\
             Content-Type: text/html\r\n\r\n"
        );
        assert_eq!(
            f,
            Framing {
                chunked: false,
                keep_alive: true,
                send_body: true
            }
        );
    }

    #[test]
    fn keep_alive_matrix() {
        let known = ResponseLength::Known(1);
        let unk = ResponseLength::Unknown;
        // (request, length, keep_alive, chunked, Keep-Alive header, Connection header)
        type Case<'a> = (
            &'a str,
            ResponseLength,
            bool,
            bool,
            Option<&'a str>,
            Option<&'a str>,
        );
        let cases: &[Case] = &[
            (G11, known, true, false, None, None),
            (G11, unk, true, true, None, None),
            (
                G11KA,
                known,
                true,
                false,
                Some("timeout=5, max=100"),
                Some("Keep-Alive"),
            ),
            (G11C, known, false, false, None, Some("close")),
            (G11C, unk, false, true, None, Some("close")),
            (G10, known, false, false, None, Some("close")),
            (G10, unk, false, false, None, Some("close")),
            (
                G10KA,
                known,
                true,
                false,
                Some("timeout=5, max=100"),
                Some("Keep-Alive"),
            ),
            (G10KA, unk, false, false, None, Some("close")),
        ];
        for (i, (r, len, ka, ch, kah, conn)) in cases.iter().enumerate() {
            let r = req(r);
            let (s, f) = write(Some(&r), 200, &[], *len, &KA);
            assert_eq!((f.keep_alive, f.chunked), (*ka, *ch), "case {i}: {s}");
            let get = |n: &str| {
                s.lines()
                    .find_map(|l| l.strip_prefix(&format!("{n}: ")).map(str::to_owned))
            };
            assert_eq!(get("Keep-Alive").as_deref(), *kah, "case {i}");
            assert_eq!(get("Connection").as_deref(), *conn, "case {i}");
            assert_eq!(get("Transfer-Encoding").is_some(), *ch, "case {i}");
        }
    }

    #[test]
    fn keep_alive_limits() {
        let r = req(G11KA);
        let k = |served, max| KeepAlivePolicy { served, max, ..KA };
        let (s, f) = write(Some(&r), 200, &[], ResponseLength::Known(0), &k(99, 100));
        assert!(f.keep_alive && s.contains("Keep-Alive: timeout=5, max=1\r\n"));
        let (s, f) = write(Some(&r), 200, &[], ResponseLength::Known(0), &k(100, 100));
        assert!(!f.keep_alive && s.contains("Connection: close\r\n"));
        let (s, f) = write(Some(&r), 200, &[], ResponseLength::Known(0), &k(5000, 0));
        assert!(f.keep_alive && s.contains("Keep-Alive: timeout=5\r\n"));
        let off = KeepAlivePolicy {
            enabled: false,
            ..KA
        };
        assert!(
            !write(Some(&r), 200, &[], ResponseLength::Known(0), &off)
                .1
                .keep_alive
        );
        // A sub-second KeepAliveTimeout (300ms) keeps the connection and advertises
        // timeout=0, as Apache does; KeepAliveTimeout 0 arrives as `enabled: false`.
        let t0 = KeepAlivePolicy {
            timeout_secs: 0,
            ..KA
        };
        assert!(
            write(Some(&r), 200, &[], ResponseLength::Known(0), &t0)
                .1
                .keep_alive
        );
        let (s, f) = write(
            Some(&r),
            200,
            &[("connection", "close")],
            ResponseLength::Known(0),
            &KA,
        );
        assert!(!f.keep_alive && s.matches("Connection:").count() == 1);
    }

    #[test]
    fn dropping_statuses_close() {
        let r = req(G11);
        for code in [400, 408, 411, 413, 414, 417, 500, 501, 503] {
            let (s, f) = write(Some(&r), code, &[], ResponseLength::Known(10), &KA);
            assert!(
                !f.keep_alive && s.contains("Connection: close\r\n"),
                "{code}"
            );
        }
        for code in [200, 301, 404, 403, 412, 416, 502] {
            assert!(
                write(Some(&r), code, &[], ResponseLength::Known(10), &KA)
                    .1
                    .keep_alive,
                "{code}"
            );
        }
    }

    #[test]
    fn no_request_closes() {
        let (s, f) = write(None, 400, &[], ResponseLength::Known(10), &KA);
        assert!(s.starts_with("HTTP/1.1 400 Bad Request\r\n"));
        assert!(s.contains("Content-Length: 10\r\nConnection: close\r\n"));
        assert!(!f.keep_alive && f.send_body && !f.chunked);
        let (_, f) = write(None, 500, &[], ResponseLength::Unknown, &KA);
        assert!(!f.chunked && !f.keep_alive);
    }

    #[test]
    fn head_requests() {
        let r = req("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n");
        let (s, f) = write(Some(&r), 200, &[], ResponseLength::Known(1234), &KA);
        assert!(s.contains("Content-Length: 1234\r\n") && !f.send_body && f.keep_alive);
        let (s, f) = write(Some(&r), 200, &[], ResponseLength::Known(0), &KA);
        assert!(!s.contains("Content-Length") && !f.send_body);
        let (s, f) = write(Some(&r), 200, &[], ResponseLength::Unknown, &KA);
        assert!(!s.contains("Transfer-Encoding") && !f.chunked && f.keep_alive);
    }

    #[test]
    fn no_body_statuses() {
        let r = req(G11);
        let h = [
            ("etag", "\"e\""),
            ("last-modified", "x"),
            ("content-type", "text/plain"),
            ("cache-control", "max-age=1"),
            ("set-cookie", "a=b"),
            ("x-custom", "y"),
        ];
        // Apache 2.4.71 keeps every field but the body's framing and type on a 304.
        let (s, f) = write(Some(&r), 304, &h, ResponseLength::Known(50), &KA);
        assert_eq!(
            s,
            "HTTP/1.1 304 Not Modified\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: Apache\r\n\
             ETag: \"e\"\r\nLast-Modified: x\r\nCache-Control: max-age=1\r\n\
             Set-Cookie: a=b\r\nX-Custom: y\r\n\r\n"
        );
        assert!(!f.send_body && f.keep_alive && !f.chunked);
        let (s, f) = write(Some(&r), 204, &h, ResponseLength::Unknown, &KA);
        assert!(
            s.contains("X-Custom: y")
                && !s.contains("Content-Type")
                && !s.contains("Content-Length")
        );
        assert!(!f.send_body && !f.chunked && f.keep_alive);
    }

    #[test]
    fn informational_and_server_header() {
        let r = req(G11);
        let (s, f) = write(
            Some(&r),
            101,
            &[("upgrade", "h2c"), ("connection", "Upgrade")],
            ResponseLength::Unknown,
            &KA,
        );
        assert_eq!(
            s,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n"
        );
        assert!(!f.send_body);
        let mut out = Vec::new();
        write_response_head(
            Some(&r),
            StatusCode::OK,
            &HeaderMap::new(),
            ResponseLength::Known(0),
            &KA,
            "",
            "D",
            &mut out,
        );
        assert_eq!(
            out,
            b"HTTP/1.1 200 OK\r\nDate: D\r\nContent-Length: 0\r\n\r\n"
        );
    }

    #[test]
    fn header_names_in_apache_casing() {
        let r = req(G11);
        let (s, _) = write(
            Some(&r),
            206,
            &[
                ("accept-ranges", "bytes"),
                ("content-range", "bytes 0-1/20"),
                ("location", "/x"),
                ("allow", "GET"),
                ("www-authenticate", "Basic"),
                ("content-md5", "m"),
                ("x-forwarded-for", "1.2.3.4"),
                ("x-xss-protection", "1"),
                ("dnt", "1"),
                ("te", "trailers"),
                ("x-my-header", "v"),
                ("content-type", "text/plain"),
            ],
            ResponseLength::Known(2),
            &KA,
        );
        for line in [
            "\r\nAccept-Ranges: bytes\r\n",
            "\r\nContent-Range: bytes 0-1/20\r\n",
            "\r\nLocation: /x\r\n",
            "\r\nAllow: GET\r\n",
            "\r\nWWW-Authenticate: Basic\r\n",
            "\r\nContent-MD5: m\r\n",
            "\r\nX-Forwarded-For: 1.2.3.4\r\n",
            "\r\nX-XSS-Protection: 1\r\n",
            "\r\nDNT: 1\r\n",
            "\r\nTE: trailers\r\n",
            "\r\nX-My-Header: v\r\n",
            "\r\nContent-Length: 2\r\n",
            "\r\nContent-Type: text/plain\r\n",
        ] {
            assert!(s.contains(line), "{line:?} in {s}");
        }
    }

    #[test]
    fn reason_phrases() {
        let p = |c| reason_phrase(StatusCode::from_u16(c).unwrap());
        assert_eq!(p(413), "Request Entity Too Large");
        assert_eq!(p(414), "Request-URI Too Long");
        assert_eq!(p(416), "Requested Range Not Satisfiable");
        assert_eq!(p(501), "Not Implemented");
        assert_eq!(p(299), "");
        let (s, _) = write(Some(&req(G11)), 299, &[], ResponseLength::Known(0), &KA);
        assert!(s.starts_with("HTTP/1.1 299 \r\n"));
    }

    #[test]
    fn chunks() {
        let mut out = Vec::new();
        write_chunk(b"hello", &mut out);
        write_chunk(b"", &mut out);
        write_chunk_header(255, &mut out);
        out.extend_from_slice(CHUNK_END);
        out.extend_from_slice(LAST_CHUNK);
        assert_eq!(out, b"5\r\nhello\r\nff\r\n\r\n0\r\n\r\n");
        assert_eq!(CONTINUE_100, b"HTTP/1.1 100 Continue\r\n\r\n");
    }
}
