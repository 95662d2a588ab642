//! Server role: parse a request head (request line + header fields) from bytes.
//!
//! A line scanner rather than httparse, so that every Apache rule can be applied while
//! the head is still incomplete: LimitRequestLine (414) is enforced before the line's
//! newline arrives, LimitRequestFieldSize per field and LimitRequestFields per count, so
//! the amount a client can make us buffer is bounded by
//! `request_line + fields * (field_size + 2) + blank lines`. Request-line syntax follows
//! Apache's `HttpProtocolOptions Strict` (single SP separators, token method, no control
//! characters in the target, upper-case `HTTP/x.y`).

use crate::token::{
    TeKind, has_token, is_token, parse_header_line_with, request_content_length, transfer_encoding,
};
use crate::types::{BodyFraming, HeaderMap, Limits, Method, ParseError, RequestHead, Version};

/// Apache's `DEFAULT_LIMIT_BLANK_LINES`: blank lines tolerated before a request line.
pub const MAX_LEADING_BLANK_LINES: usize = 10;

/// Hard cap on the number of header fields when `LimitRequestFields 0` (unlimited), so a
/// client still cannot make us buffer forever.
pub const UNLIMITED_FIELDS_CAP: usize = 10_000;

/// Parse a request head from the start of `buf`. `Ok(None)`: incomplete, read more and
/// call again with the grown buffer. On success, `head_len` bytes were consumed; the
/// body (if any) and pipelined requests follow.
pub fn parse_request_head(buf: &[u8], limits: &Limits) -> Result<Option<RequestHead>, ParseError> {
    let mut pos = 0usize;
    let mut blanks = 0usize;
    loop {
        let rest = &buf[pos..];
        if rest.starts_with(b"\r\n") {
            pos += 2;
        } else if rest.starts_with(b"\n") {
            pos += 1;
        } else if rest.is_empty() || rest == b"\r" {
            return Ok(None);
        } else {
            break;
        }
        blanks += 1;
        if blanks > MAX_LEADING_BLANK_LINES {
            return Err(ParseError::BadRequestLine);
        }
    }

    // Request line.
    let rest = &buf[pos..];
    let Some(lf) = memchr::memchr(b'\n', rest) else {
        if rest.len() > limits.request_line.saturating_add(1) {
            return Err(ParseError::RequestLineTooLong);
        }
        return Ok(None);
    };
    let line = strip_cr(&rest[..lf]);
    if line.len() > limits.request_line {
        return Err(ParseError::RequestLineTooLong);
    }
    // Strict (Apache's AP_GETLINE_CRLF): a line must end in CRLF; a bare LF is a
    // line end only to some parsers, which is how requests are smuggled past proxies.
    if limits.strict && line.len() == lf {
        return Err(ParseError::BadRequestLine);
    }
    let (method, target, version) = parse_request_line(line, limits)?;
    let request_line = String::from_utf8_lossy(line).into_owned();
    pos += lf + 1;
    if version == Version::HTTP_09 {
        // A simple request has no header fields and no body; the answer is the body
        // alone, then the connection closes.
        let target_parts = split_target(&method, target, limits.strict)?;
        return Ok(Some(RequestHead {
            method,
            raw_target: target.to_owned(),
            path: target_parts.path,
            query: target_parts.query,
            version,
            headers: HeaderMap::new(),
            host: None,
            request_line,
            body: BodyFraming::None,
            expect_continue: false,
            connection_close: true,
            connection_keep_alive: false,
            head_len: pos,
        }));
    }

    // Header fields.
    let max_fields = if limits.fields == 0 {
        UNLIMITED_FIELDS_CAP
    } else {
        limits.fields
    };
    let mut headers = HeaderMap::new();
    let mut count = 0usize;
    loop {
        let rest = &buf[pos..];
        // The count is checked before the length, complete line or not, so that the
        // error does not depend on how much of the line has arrived.
        let Some(lf) = memchr::memchr(b'\n', rest) else {
            // Another field is on its way but the count is already at the limit.
            if count >= max_fields && !rest.is_empty() && rest != b"\r" {
                return Err(ParseError::TooManyHeaders);
            }
            if rest.len() > limits.field_size.saturating_add(1) {
                return Err(ParseError::HeaderFieldTooLong);
            }
            return Ok(None);
        };
        let line = strip_cr(&rest[..lf]);
        pos += lf + 1;
        // Strict: a bare LF ends no line. Checked after the count and the length, which
        // an incomplete line is checked for too: the error must not depend on how the
        // input was cut.
        let bare_lf = limits.strict && line.len() == lf;
        if line.is_empty() {
            if bare_lf {
                return Err(ParseError::BadHeader);
            }
            break;
        }
        count += 1;
        if count > max_fields {
            return Err(ParseError::TooManyHeaders);
        }
        if line.len() > limits.field_size {
            return Err(ParseError::HeaderFieldTooLong);
        }
        if bare_lf {
            return Err(ParseError::BadHeader);
        }
        if line[0] == b' ' || line[0] == b'\t' {
            // obs-fold: rejected (RFC 9112 §5.2 allows a 400).
            return Err(ParseError::BadHeader);
        }
        let (name, value) = parse_header_line_with(line, limits.strict)?;
        headers.append(name, value);
    }

    let target_parts = split_target(&method, target, limits.strict)?;
    let host = check_host(version, &headers, target_parts.host)?;

    let expect_continue = check_expect(&headers)? && version == Version::HTTP_11;

    let body = request_framing(version, &headers, limits)?;
    let connection_close = has_token(&headers, &http::header::CONNECTION, "close");
    let connection_keep_alive = has_token(&headers, &http::header::CONNECTION, "keep-alive");

    Ok(Some(RequestHead {
        method,
        raw_target: target.to_owned(),
        path: target_parts.path,
        query: target_parts.query,
        version,
        headers,
        host,
        request_line,
        body,
        expect_continue,
        connection_close,
        connection_keep_alive,
        head_len: pos,
    }))
}

/// Apache (`ap_read_request`, AH00570): the Expect fields, merged as Apache merges
/// repeated fields (`a, b`), must be empty or exactly `100-continue`; anything else,
/// including a repeated `Expect` field, is a 417. `Ok(true)`: 100-continue expected.
fn check_expect(headers: &HeaderMap) -> Result<bool, ParseError> {
    let mut values = headers.get_all(http::header::EXPECT).iter();
    let Some(first) = values.next() else {
        return Ok(false);
    };
    if values.next().is_some() {
        // The merged value contains ", " and so is never exactly `100-continue`.
        return Err(ParseError::UnsupportedExpectation);
    }
    let v = crate::token::trim_ows(first.as_bytes());
    if v.is_empty() {
        Ok(false)
    } else if v.eq_ignore_ascii_case(b"100-continue") {
        Ok(true)
    } else {
        Err(ParseError::UnsupportedExpectation)
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// `method SP target SP protocol`. Without [`Limits::strict`], the parts may be
/// separated (and followed) by runs of spaces and tabs and the protocol name may be in
/// lower case. A line without a protocol is HTTP/0.9: a `GET` when
/// [`Limits::allow_http09`], else [`ParseError::Http09`].
fn parse_request_line<'a>(
    line: &'a [u8],
    limits: &Limits,
) -> Result<(Method, &'a str, Version), ParseError> {
    let (method, target, proto) = if limits.strict {
        let sp1 = memchr::memchr(b' ', line).ok_or(ParseError::BadRequestLine)?;
        let rest = &line[sp1 + 1..];
        let (target, proto) = match memchr::memchr(b' ', rest) {
            Some(sp2) => (&rest[..sp2], Some(&rest[sp2 + 1..])),
            None => (rest, None),
        };
        (&line[..sp1], target, proto)
    } else {
        let mut words = line
            .split(|&b| b == b' ' || b == b'\t')
            .filter(|w| !w.is_empty());
        let method = words.next().ok_or(ParseError::BadRequestLine)?;
        let target = words.next().ok_or(ParseError::BadRequestLine)?;
        let proto = words.next();
        if words.next().is_some() {
            return Err(ParseError::BadRequestLine);
        }
        (method, target, proto)
    };
    if !is_token(method) {
        return Err(ParseError::BadRequestLine);
    }
    if target.is_empty() || target.iter().any(|&b| b <= b' ' || b == 0x7f) {
        return Err(ParseError::BadRequestLine);
    }
    let target = std::str::from_utf8(target).map_err(|_| ParseError::BadRequestLine)?;
    let Some(proto) = proto else {
        // Apache answers only GET as HTTP/0.9 (a HEAD would get no headers at all).
        if limits.allow_http09 && method == b"GET" {
            return Ok((Method::GET, target, Version::HTTP_09));
        }
        return Err(ParseError::Http09);
    };
    let upper;
    let proto = if limits.strict {
        proto
    } else {
        upper = proto.to_ascii_uppercase();
        &upper[..]
    };
    let version = match proto {
        b"HTTP/1.1" => Version::HTTP_11,
        b"HTTP/1.0" => Version::HTTP_10,
        // RFC 9112 §2.3: a higher minor version of HTTP/1 is answered as HTTP/1.1, the
        // highest we conform to (Apache does the same).
        [b'H', b'T', b'T', b'P', b'/', b'1', b'.', minor] if minor.is_ascii_digit() => {
            Version::HTTP_11
        }
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() && *major != b'0' =>
        {
            return Err(ParseError::UnsupportedVersion);
        }
        _ => return Err(ParseError::BadRequestLine),
    };
    let method = Method::from_bytes(method).map_err(|_| ParseError::BadRequestLine)?;
    Ok((method, target, version))
}

struct TargetParts {
    path: String,
    query: Option<String>,
    host: Option<String>,
}

fn split_path_query(s: &str) -> (String, Option<String>) {
    match s.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (s.to_owned(), None),
    }
}

fn split_target(method: &Method, target: &str, strict: bool) -> Result<TargetParts, ParseError> {
    let target = match target.split_once('#') {
        // Apache (strict): "URI must not contain a fragment"; Unsafe drops it.
        Some(_) if strict => return Err(ParseError::BadRequestLine),
        Some((before, _)) => before,
        None => target,
    };
    if target.starts_with('/') {
        let (path, query) = split_path_query(target);
        return Ok(TargetParts {
            path,
            query,
            host: None,
        });
    }
    if target == "*" {
        if *method == Method::OPTIONS {
            return Ok(TargetParts {
                path: "*".to_owned(),
                query: None,
                host: None,
            });
        }
        return Err(ParseError::BadRequestLine);
    }
    if *method == Method::CONNECT {
        // authority-form: host:port
        let host = normalize_host(target).ok_or(ParseError::BadRequestLine)?;
        return Ok(TargetParts {
            path: target.to_owned(),
            query: None,
            host: Some(host),
        });
    }
    // absolute-form: scheme "://" authority [path-abempty] ["?" query]
    let (scheme, rest) = target.split_once("://").ok_or(ParseError::BadRequestLine)?;
    let valid_scheme = scheme
        .as_bytes()
        .first()
        .is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.');
    if !valid_scheme {
        return Err(ParseError::BadRequestLine);
    }
    let auth_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..auth_end];
    let authority = match authority.rsplit_once('@') {
        // Apache (strict): "URI must not contain a username/password"; Unsafe ignores it.
        Some(_) if strict => return Err(ParseError::BadRequestLine),
        Some((_, host)) => host,
        None => authority,
    };
    let host = normalize_host(authority).ok_or(ParseError::BadRequestLine)?;
    let (path, query) = split_path_query(&rest[auth_end..]);
    let path = if path.is_empty() {
        "/".to_owned()
    } else {
        path
    };
    Ok(TargetParts {
        path,
        query,
        host: Some(host),
    })
}

/// Validate and normalise a `host[:port]` (Apache's `fix_hostname`): lower-case, port
/// removed, trailing dots removed; IPv6 literals keep their brackets. `None` if invalid.
pub fn normalize_host(s: &str) -> Option<String> {
    let (name, port) = if let Some(inner) = s.strip_prefix('[') {
        let close = inner.find(']')?;
        let addr = &inner[..close];
        if addr.is_empty()
            || !addr
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return None;
        }
        let after = &inner[close + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => p,
            None if after.is_empty() => "",
            None => return None,
        };
        (format!("[{}]", addr.to_ascii_lowercase()), port)
    } else {
        let (name, port) = s.split_once(':').unwrap_or((s, ""));
        let name = name.trim_end_matches('.');
        if name.is_empty()
            || name.starts_with('.')
            || name.contains("..")
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
        {
            return None;
        }
        (name.to_ascii_lowercase(), port)
    };
    if !port.is_empty()
        && (!port.bytes().all(|b| b.is_ascii_digit()) || port.parse::<u16>().is_err())
    {
        return None;
    }
    Some(name)
}

fn check_host(
    version: Version,
    headers: &HeaderMap,
    uri_host: Option<String>,
) -> Result<Option<String>, ParseError> {
    let mut values = headers.get_all(http::header::HOST).iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(ParseError::BadHost);
    }
    let header_host = match first {
        Some(v) => {
            let s = v.to_str().map_err(|_| ParseError::BadHost)?;
            Some(normalize_host(s).ok_or(ParseError::BadHost)?)
        }
        None if version == Version::HTTP_11 => return Err(ParseError::BadHost),
        None => None,
    };
    Ok(uri_host.or(header_host))
}

fn request_framing(
    version: Version,
    headers: &HeaderMap,
    limits: &Limits,
) -> Result<BodyFraming, ParseError> {
    let te = transfer_encoding(headers);
    if te != TeKind::Absent && headers.contains_key(http::header::CONTENT_LENGTH) {
        return Err(ParseError::ConflictingFraming);
    }
    match te {
        TeKind::Absent => match request_content_length(headers)? {
            Some(n) if limits.body != 0 && n > limits.body => Err(ParseError::BodyTooLarge),
            Some(n) => Ok(BodyFraming::Length(n)),
            None => Ok(BodyFraming::None),
        },
        // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 is faulty framing.
        _ if version == Version::HTTP_10 => Err(ParseError::BadTransferEncoding),
        TeKind::NotChunked => Err(ParseError::BadTransferEncoding),
        TeKind::ChunkedWithOthers => Err(ParseError::UnsupportedTransferEncoding),
        TeKind::Chunked => Ok(BodyFraming::Chunked),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lim() -> Limits {
        Limits::default()
    }

    fn parse(s: &str) -> Result<Option<RequestHead>, ParseError> {
        parse_request_head(s.as_bytes(), &lim())
    }

    fn ok(s: &str) -> RequestHead {
        parse(s).expect("parse error").expect("incomplete")
    }

    fn err(s: &str) -> ParseError {
        match parse(s) {
            Err(e) => e,
            Ok(r) => panic!("expected error for {s:?}, got {r:?}"),
        }
    }

    #[test]
    fn simple_get() {
        let r = ok("GET /a%20b?x=1&y HTTP/1.1\r\nHost: Example.COM:8080\r\nUser-Agent: t\r\n\r\n");
        assert_eq!(r.method, Method::GET);
        assert_eq!(r.raw_target, "/a%20b?x=1&y");
        assert_eq!(r.path, "/a%20b");
        assert_eq!(r.query.as_deref(), Some("x=1&y"));
        assert_eq!(r.version, Version::HTTP_11);
        assert_eq!(r.host.as_deref(), Some("example.com"));
        assert_eq!(r.request_line, "GET /a%20b?x=1&y HTTP/1.1");
        assert_eq!(r.body, BodyFraming::None);
        assert_eq!(r.headers.get("user-agent").unwrap(), "t");
        assert!(!r.expect_continue && !r.connection_close && !r.connection_keep_alive);
        assert_eq!(r.head_len, 68);
    }

    #[test]
    fn incomplete_returns_none() {
        let full = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        for i in 0..full.len() {
            assert!(parse(&full[..i]).unwrap().is_none(), "prefix {i}");
        }
        assert!(parse(full).unwrap().is_some());
    }

    #[test]
    fn leading_blank_lines_skipped_and_counted() {
        let r = ok("\r\n\n\r\nGET / HTTP/1.0\r\n\r\n");
        assert_eq!(r.head_len, 5 + 18);
        assert_eq!(r.request_line, "GET / HTTP/1.0");
        assert!(parse("\r\n\r\n").unwrap().is_none());
        let many = format!("{}GET / HTTP/1.0\r\n\r\n", "\r\n".repeat(11));
        assert_eq!(err(&many), ParseError::BadRequestLine);
    }

    #[test]
    fn bare_lf_line_endings() {
        // Strict (the default) refuses them, as Apache 2.4 does (400).
        assert_eq!(
            err("GET / HTTP/1.1\nHost: a\n\n"),
            ParseError::BadRequestLine
        );
        assert_eq!(
            err("GET / HTTP/1.1\r\nHost: a\n\r\n"),
            ParseError::BadHeader
        );
        assert_eq!(
            err("GET / HTTP/1.1\r\nHost: a\r\n\n"),
            ParseError::BadHeader
        );
        let unsafe_ = Limits {
            strict: false,
            ..Limits::default()
        };
        let r = parse_request_head(b"GET / HTTP/1.1\nHost: a\n\n", &unsafe_)
            .unwrap()
            .unwrap();
        assert_eq!(r.head_len, 24);
    }

    #[test]
    fn pipelined_heads() {
        let buf = b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /3 HTTP/1.1\r\nHost: a\r\n\r\n";
        let mut off = 0;
        let mut paths = vec![];
        while off < buf.len() {
            let r = parse_request_head(&buf[off..], &lim()).unwrap().unwrap();
            off += r.head_len;
            if let BodyFraming::Length(n) = r.body {
                off += n as usize;
            }
            paths.push(r.path);
        }
        assert_eq!(paths, ["/1", "/2", "/3"]);
    }

    #[test]
    fn request_line_limit() {
        let l = Limits {
            request_line: 20,
            ..lim()
        };
        // exactly at the limit is fine
        let line = format!("GET /{} HTTP/1.0", "a".repeat(20 - 14));
        assert_eq!(line.len(), 20);
        assert!(
            parse_request_head(format!("{line}\r\n\r\n").as_bytes(), &l)
                .unwrap()
                .is_some()
        );
        let long = format!("GET /{} HTTP/1.0\r\n\r\n", "a".repeat(7));
        let e = parse_request_head(long.as_bytes(), &l).unwrap_err();
        assert_eq!(e, ParseError::RequestLineTooLong);
        assert_eq!(e.status().as_u16(), 414);
        // incomplete but already too long
        let partial = format!("GET /{}", "a".repeat(30));
        assert_eq!(
            parse_request_head(partial.as_bytes(), &l).unwrap_err(),
            ParseError::RequestLineTooLong
        );
        // incomplete and within the limit
        assert!(
            parse_request_head(b"GET /aaaaaaaaaaaaaaaa", &l)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn field_size_limit() {
        let l = Limits {
            field_size: 10,
            ..lim()
        };
        assert!(
            parse_request_head(b"GET / HTTP/1.0\r\nX: 1234567\r\n\r\n", &l)
                .unwrap()
                .is_some()
        );
        let e = parse_request_head(b"GET / HTTP/1.0\r\nX: 12345678\r\n\r\n", &l).unwrap_err();
        assert_eq!(e, ParseError::HeaderFieldTooLong);
        assert_eq!(e.status().as_u16(), 400);
        let e = parse_request_head(b"GET / HTTP/1.0\r\nX: 123456789012", &l).unwrap_err();
        assert_eq!(e, ParseError::HeaderFieldTooLong);
    }

    #[test]
    fn field_count_limit() {
        let l = Limits { fields: 2, ..lim() };
        assert!(
            parse_request_head(b"GET / HTTP/1.0\r\nA: 1\r\nB: 2\r\n\r\n", &l)
                .unwrap()
                .is_some()
        );
        let e =
            parse_request_head(b"GET / HTTP/1.0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", &l).unwrap_err();
        assert_eq!(e, ParseError::TooManyHeaders);
        assert_eq!(e.status().as_u16(), 400);
        // detected before the head is complete
        let e = parse_request_head(b"GET / HTTP/1.0\r\nA: 1\r\nB: 2\r\nC", &l).unwrap_err();
        assert_eq!(e, ParseError::TooManyHeaders);
        assert!(
            parse_request_head(b"GET / HTTP/1.0\r\nA: 1\r\nB: 2\r\n\r", &l)
                .unwrap()
                .is_none()
        );
        // 0 = unlimited
        let l0 = Limits { fields: 0, ..lim() };
        let mut s = String::from("GET / HTTP/1.0\r\n");
        for i in 0..500 {
            s.push_str(&format!("X{i}: v\r\n"));
        }
        s.push_str("\r\n");
        assert_eq!(
            parse_request_head(s.as_bytes(), &l0)
                .unwrap()
                .unwrap()
                .headers
                .len(),
            500
        );
    }

    #[test]
    fn bounded_buffering_while_incomplete() {
        let l = lim();
        let bound = l.request_line + 2 + l.fields * (l.field_size + 2) + 2;
        // A head that never ends is rejected once it exceeds the bound.
        let mut s = String::from("GET / HTTP/1.1\r\n");
        let field = format!("X: {}\r\n", "a".repeat(100));
        let mut rejected = false;
        while s.len() <= bound + field.len() {
            s.push_str(&field);
            if parse(&s).is_err() {
                rejected = true;
                break;
            }
        }
        assert!(rejected && s.len() <= bound);
    }

    #[test]
    fn unsafe_protocol_options_tolerate_what_strict_refuses() {
        let unsafe_ = Limits {
            strict: false,
            ..lim()
        };
        let p = |s: &str| parse_request_head(s.as_bytes(), &unsafe_);
        for text in [
            "GET  /a   HTTP/1.1 \r\nHost: x\r\n\r\n",
            "GET\t/a\tHTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /a http/1.1\r\nHost: x\r\n\r\n",
            "GET /a HTTP/1.1\r\nHost : x\r\n\r\n",
            "GET /a#frag HTTP/1.1\r\nHost: x\r\n\r\n",
        ] {
            let strict = parse(text);
            assert!(strict.is_err(), "strict accepted {text:?}");
            let h = p(text).unwrap().unwrap();
            assert_eq!(
                (h.path.as_str(), h.host.as_deref()),
                ("/a", Some("x")),
                "{text:?}"
            );
            assert_eq!(h.version, Version::HTTP_11);
        }
        let h = p("GET http://u:pw@example.org/a HTTP/1.1\r\nHost: example.org\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(h.host.as_deref(), Some("example.org"));
        // Still refused without Strict: no target, extra words, bad names, bad versions.
        for text in [
            "GET\r\n\r\n",
            "GET /a HTTP/1.1 x\r\n\r\n",
            "GET /a HTTP/1.1\r\nBad Name: x\r\n\r\n",
            "GET /a HTTQ/1.1\r\n\r\n",
        ] {
            assert!(p(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn allow09_serves_simple_get_requests_only() {
        let l = Limits {
            allow_http09: true,
            ..lim()
        };
        let h = parse_request_head(b"GET /x?q\r\nignored", &l)
            .unwrap()
            .unwrap();
        assert_eq!(h.version, Version::HTTP_09);
        assert_eq!((h.path.as_str(), h.query.as_deref()), ("/x", Some("q")));
        assert!(h.headers.is_empty() && h.connection_close);
        assert_eq!(h.head_len, 10);
        assert_eq!(h.body, BodyFraming::None);
        assert_eq!(
            parse_request_head(b"HEAD /x\r\n", &l).unwrap_err(),
            ParseError::Http09
        );
        // A full request is unaffected.
        let h = parse_request_head(b"GET /x HTTP/1.0\r\n\r\n", &l)
            .unwrap()
            .unwrap();
        assert_eq!(h.version, Version::HTTP_10);
    }

    #[test]
    fn http09_and_versions() {
        assert_eq!(err("GET /\r\n\r\n"), ParseError::Http09);
        assert_eq!(err("GET /\r\n"), ParseError::Http09);
        let e = err("GET / HTTP/2.0\r\n\r\n");
        assert_eq!(e, ParseError::UnsupportedVersion);
        assert_eq!(e.status().as_u16(), 505);
        // A higher HTTP/1 minor version is served as HTTP/1.1 (RFC 9112 §2.3, Apache):
        // Host is then required and keep-alive is the default.
        for v in ["1.2", "1.9"] {
            let r = ok(&format!("GET / HTTP/{v}\r\nHost: a\r\n\r\n"));
            assert_eq!(r.version, Version::HTTP_11, "{v}");
            assert_eq!(r.request_line, format!("GET / HTTP/{v}"));
            assert_eq!(err(&format!("GET / HTTP/{v}\r\n\r\n")), ParseError::BadHost);
        }
        assert_eq!(err("GET / HTTP/1.x\r\n\r\n"), ParseError::BadRequestLine);
        assert_eq!(err("GET / HTTP/1.\r\n\r\n"), ParseError::BadRequestLine);
        assert_eq!(err("GET / HTTP/0.9\r\n\r\n"), ParseError::BadRequestLine);
        assert_eq!(err("GET / http/1.1\r\n\r\n"), ParseError::BadRequestLine);
        assert_eq!(err("GET / HTTP/1.10\r\n\r\n"), ParseError::BadRequestLine);
        assert_eq!(err("GET / FOO\r\n\r\n"), ParseError::BadRequestLine);
        assert_eq!(ok("GET / HTTP/1.0\r\n\r\n").version, Version::HTTP_10);
    }

    #[test]
    fn bad_request_lines() {
        for s in [
            "GET  / HTTP/1.1\r\n\r\n",
            "GET / HTTP/1.1 \r\n\r\n",
            "GET /  HTTP/1.1\r\n\r\n",
            " GET / HTTP/1.1\r\n\r\n",
            "G(T / HTTP/1.1\r\n\r\n",
            "GET\r\n\r\n",
            "GET /a\tb HTTP/1.1\r\n\r\n",
            "GET /a\x01b HTTP/1.1\r\n\r\n",
            "GET /a\x7fb HTTP/1.1\r\n\r\n",
            "GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET * HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET a/b HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET http://u@h/ HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET 1ttp://h/x HTTP/1.1\r\nHost: a\r\n\r\n",
        ] {
            assert_eq!(err(s), ParseError::BadRequestLine, "{s:?}");
        }
        // bare CR inside the request line
        assert_eq!(
            err("GET /a\rb HTTP/1.1\r\n\r\n"),
            ParseError::BadRequestLine
        );
        // non-UTF-8 target
        let e = parse_request_head(b"GET /\xff HTTP/1.0\r\n\r\n", &lim()).unwrap_err();
        assert_eq!(e, ParseError::BadRequestLine);
        // UTF-8 (obs-text) target is accepted, as Apache does
        assert_eq!(ok("GET /caf\u{e9} HTTP/1.0\r\n\r\n").path, "/caf\u{e9}");
    }

    #[test]
    fn methods() {
        assert_eq!(
            ok("PROPFIND / HTTP/1.0\r\n\r\n").method.as_str(),
            "PROPFIND"
        );
        assert_eq!(ok("FOO-BAR / HTTP/1.0\r\n\r\n").method.as_str(), "FOO-BAR");
        assert_eq!(ok("get / HTTP/1.0\r\n\r\n").method.as_str(), "get");
    }

    #[test]
    fn target_forms() {
        let r = ok("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!((r.path.as_str(), r.query.as_deref()), ("*", None));
        let r = ok("GET http://Example.org:81/p/q?z=1 HTTP/1.1\r\nHost: other\r\n\r\n");
        assert_eq!(r.host.as_deref(), Some("example.org"));
        assert_eq!(r.path, "/p/q");
        assert_eq!(r.query.as_deref(), Some("z=1"));
        assert_eq!(r.raw_target, "http://Example.org:81/p/q?z=1");
        let r = ok("GET http://h HTTP/1.0\r\n\r\n");
        assert_eq!((r.path.as_str(), r.host.as_deref()), ("/", Some("h")));
        let r = ok("GET https://h?x HTTP/1.0\r\n\r\n");
        assert_eq!((r.path.as_str(), r.query.as_deref()), ("/", Some("x")));
        let r = ok("CONNECT h.example:443 HTTP/1.1\r\nHost: h.example:443\r\n\r\n");
        assert_eq!(r.host.as_deref(), Some("h.example"));
        let r = ok("GET /p? HTTP/1.0\r\n\r\n");
        assert_eq!(r.query.as_deref(), Some(""));
    }

    #[test]
    fn host_rules() {
        assert_eq!(err("GET / HTTP/1.1\r\n\r\n"), ParseError::BadHost);
        assert_eq!(
            err("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
            ParseError::BadHost
        );
        assert_eq!(
            err("GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n"),
            ParseError::BadHost
        );
        assert_eq!(
            err("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"),
            ParseError::BadHost
        );
        assert_eq!(
            err("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"),
            ParseError::BadHost
        );
        assert_eq!(err("GET / HTTP/1.1\r\nHost: \r\n\r\n"), ParseError::BadHost);
        assert_eq!(
            err("GET / HTTP/1.1\r\nHost: a:b\r\n\r\n"),
            ParseError::BadHost
        );
        assert_eq!(
            err("GET / HTTP/1.1\r\nHost: a:99999\r\n\r\n"),
            ParseError::BadHost
        );
        assert_eq!(
            err("GET / HTTP/1.1\r\nHost: [zz]\r\n\r\n"),
            ParseError::BadHost
        );
        assert_eq!(
            err("GET / HTTP/1.1\r\nHost: a..b\r\n\r\n"),
            ParseError::BadHost
        );
        // absolute-form still needs a Host header in HTTP/1.1 (Apache AH00569)
        assert_eq!(err("GET http://h/ HTTP/1.1\r\n\r\n"), ParseError::BadHost);
        assert_eq!(ok("GET / HTTP/1.0\r\n\r\n").host, None);
        let h = |v: &str| {
            ok(&format!("GET / HTTP/1.1\r\nHost: {v}\r\n\r\n"))
                .host
                .unwrap()
        };
        assert_eq!(h("WWW.Example.com"), "www.example.com");
        assert_eq!(h("example.com.:80"), "example.com");
        assert_eq!(h("[::1]:80"), "[::1]");
        assert_eq!(h("[FE80::1]"), "[fe80::1]");
        assert_eq!(h("10.0.0.1:8080"), "10.0.0.1");
        assert_eq!(h("my_host"), "my_host");
        assert_eq!(h("a:"), "a");
    }

    #[test]
    fn header_syntax() {
        assert_eq!(
            err("GET / HTTP/1.0\r\nX : y\r\n\r\n"),
            ParseError::BadHeader
        );
        assert_eq!(
            err("GET / HTTP/1.0\r\nX\ty: y\r\n\r\n"),
            ParseError::BadHeader
        );
        assert_eq!(
            err("GET / HTTP/1.0\r\nNoColon\r\n\r\n"),
            ParseError::BadHeader
        );
        assert_eq!(
            err("GET / HTTP/1.0\r\nA: b\r\n  folded\r\n\r\n"),
            ParseError::BadHeader
        );
        assert_eq!(
            err("GET / HTTP/1.0\r\n\tA: b\r\n\r\n"),
            ParseError::BadHeader
        );
        assert_eq!(
            err("GET / HTTP/1.0\r\nA: b\x00c\r\n\r\n"),
            ParseError::BadHeader
        );
        assert_eq!(
            err("GET / HTTP/1.0\r\nA: b\rc\r\n\r\n"),
            ParseError::BadHeader
        );
        let r = ok("GET / HTTP/1.0\r\nA:   spaced value \t\r\nA: two\r\nEmpty:\r\n\r\n");
        let all: Vec<_> = r.headers.get_all("a").iter().collect();
        assert_eq!(all, ["spaced value", "two"]);
        assert_eq!(r.headers.get("empty").unwrap(), "");
    }

    #[test]
    fn content_length_framing() {
        let r = ok("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n");
        assert_eq!(r.body, BodyFraming::Length(10));
        let r = ok("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(r.body, BodyFraming::Length(0));
        // Apache tolerates surrounding whitespace and leading zeros ...
        let r = ok("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:  07 \r\n\r\n");
        assert_eq!(r.body, BodyFraming::Length(7));
        let max = format!(
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n",
            i64::MAX
        );
        let l0 = Limits { body: 0, ..lim() };
        let r = parse_request_head(max.as_bytes(), &l0).unwrap().unwrap();
        assert_eq!(r.body, BodyFraming::Length(i64::MAX.unsigned_abs()));
        // ... but not lists, even of one repeated value (Apache 2.4.71: 400), nor
        // values beyond apr_off_t.
        for v in [
            "-1",
            "1x",
            "",
            "7, 8",
            "7, 7",
            "7,7",
            "7,",
            "+7",
            "0x1",
            " ",
            "1 2",
            "9223372036854775808",
        ] {
            let s = format!("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: {v}\r\n\r\n");
            assert_eq!(err(&s), ParseError::BadContentLength, "{v:?}");
        }
        let s = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n";
        assert_eq!(err(s), ParseError::BadContentLength);
        // Repeated identical fields: Apache merges them into `7, 7` and answers 400.
        let s = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\nContent-Length: 7\r\n\r\n";
        assert_eq!(err(s), ParseError::BadContentLength);
    }

    #[test]
    fn body_limit() {
        let l = Limits { body: 100, ..lim() };
        let p = |n: u64| {
            parse_request_head(
                format!("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: {n}\r\n\r\n").as_bytes(),
                &l,
            )
        };
        assert!(p(100).unwrap().is_some());
        let e = p(101).unwrap_err();
        assert_eq!(
            (e.clone(), e.status().as_u16()),
            (ParseError::BodyTooLarge, 413)
        );
        let l0 = Limits { body: 0, ..lim() };
        let s = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999\r\n\r\n";
        assert!(parse_request_head(s.as_bytes(), &l0).unwrap().is_some());
    }

    #[test]
    fn transfer_encoding_framing() {
        let r = ok("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n");
        assert_eq!(r.body, BodyFraming::Chunked);
        let s =
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n";
        assert_eq!(err(s), ParseError::ConflictingFraming);
        let s = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n";
        assert_eq!(err(s), ParseError::BadTransferEncoding);
        let s = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n";
        assert_eq!(err(s), ParseError::BadTransferEncoding);
        let s = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n";
        let e = err(s);
        assert_eq!(
            (e.clone(), e.status().as_u16()),
            (ParseError::UnsupportedTransferEncoding, 501)
        );
        let s = "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(err(s), ParseError::BadTransferEncoding);
    }

    #[test]
    fn expect_and_connection() {
        let r =
            ok("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n");
        assert!(r.expect_continue);
        let r = ok("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n");
        assert!(!r.expect_continue);
        let e = err("GET / HTTP/1.1\r\nHost: a\r\nExpect: something\r\n\r\n");
        assert_eq!(
            (e.clone(), e.status().as_u16()),
            (ParseError::UnsupportedExpectation, 417)
        );
        // Also for HTTP/1.0, as in Apache.
        let e = err("GET / HTTP/1.0\r\nExpect: something\r\n\r\n");
        assert_eq!(e, ParseError::UnsupportedExpectation);
        // Apache merges repeated fields (`100-continue, 100-continue`) and refuses that,
        // as it refuses a list.
        for s in [
            "Expect: 100-continue\r\nExpect: 100-continue\r\n",
            "Expect: 100-continue\r\nExpect: \r\n",
            "Expect: 100-continue, foo\r\n",
        ] {
            let req = format!("GET / HTTP/1.1\r\nHost: a\r\n{s}\r\n");
            assert_eq!(err(&req), ParseError::UnsupportedExpectation, "{s:?}");
        }
        // An empty Expect is ignored; surrounding whitespace is not part of the value.
        let r = ok("GET / HTTP/1.1\r\nHost: a\r\nExpect: \r\n\r\n");
        assert!(!r.expect_continue);
        let r = ok("GET / HTTP/1.1\r\nHost: a\r\nExpect:  100-continue \r\n\r\n");
        assert!(r.expect_continue);
        let r = ok("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, CLOSE\r\n\r\n");
        assert!(r.connection_close && !r.connection_keep_alive);
        let r = ok("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
        assert!(!r.connection_close && r.connection_keep_alive);
        let r = ok("GET / HTTP/1.0\r\nConnection: keep-alivex\r\n\r\n");
        assert!(!r.connection_keep_alive);
    }
}
