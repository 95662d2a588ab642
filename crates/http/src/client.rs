//! Client role (used by the reverse proxy): write request heads, parse response heads,
//! decide response framing and reuse. Bodies are decoded with [`crate::BodyDecoder`]
//! and encoded with [`crate::write_chunk`], the same code as the server role.

use std::io::Write;
use std::mem::MaybeUninit;

use crate::request::UNLIMITED_FIELDS_CAP;
use crate::token::{TeKind, content_length, has_token, transfer_encoding};
use crate::types::{
    BodyFraming, HeaderMap, HeaderName, HeaderValue, Limits, Method, ParseError, StatusCode,
    Version,
};

/// How the request body will be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestBodyLength {
    /// No body, no framing header.
    None,
    /// `Content-Length: n`.
    Known(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// An HTTP/1.1 request line: `target` with bytes a request-target may not hold
/// (controls, space, non-ASCII) percent-encoded, `/` for an empty one.
pub fn write_request_line(method: &Method, target: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    if target.is_empty() {
        out.push(b'/');
    }
    for &b in target.as_bytes() {
        if b <= b' ' || b >= 0x7f {
            let _ = write!(out, "%{b:02X}");
        } else {
            out.push(b);
        }
    }
    out.extend_from_slice(b" HTTP/1.1\r\n");
}

/// The end of a request head: the body's framing field (`Content-Length` or
/// `Transfer-Encoding: chunked`, which the caller's fields must not repeat) and the blank
/// line.
pub fn end_request_head(body: RequestBodyLength, out: &mut Vec<u8>) {
    match body {
        RequestBodyLength::None => {}
        RequestBodyLength::Known(n) => {
            let _ = write!(out, "Content-Length: {n}\r\n");
        }
        RequestBodyLength::Chunked => out.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
    }
    out.extend_from_slice(b"\r\n");
}

/// A parsed response head.
#[derive(Clone, Debug)]
pub struct ResponseHeadParsed {
    pub version: Version,
    pub status: StatusCode,
    pub reason: String,
    pub headers: HeaderMap,
    /// Bytes consumed, including the terminating blank line.
    pub head_len: usize,
}

/// Parse a response head (httparse). `Ok(None)`: incomplete. Limits: the status line
/// must fit `request_line`, each field `field_size`, the count `fields`; an incomplete
/// head larger than those allow is an error. Malformed status lines give
/// `BadStatusLine` (502).
pub fn parse_response_head(
    buf: &[u8],
    limits: &Limits,
) -> Result<Option<ResponseHeadParsed>, ParseError> {
    let max_fields = if limits.fields == 0 {
        UNLIMITED_FIELDS_CAP
    } else {
        limits.fields
    };
    let mut cap = max_fields.saturating_add(1).min(128);
    loop {
        // Header slots on the stack, left uninitialised (a proxied answer is parsed on
        // every readiness event): a heap vector only for limits above 127 fields.
        let mut stack = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; 128];
        let mut heap = Vec::new();
        let slots = if cap <= stack.len() {
            &mut stack[..cap]
        } else {
            heap.resize_with(cap, MaybeUninit::uninit);
            &mut heap[..]
        };
        let mut none: [httparse::Header<'_>; 0] = [];
        let mut resp = httparse::Response::new(&mut none);
        match httparse::ParserConfig::default()
            .parse_response_with_uninit_headers(&mut resp, buf, slots)
        {
            Ok(httparse::Status::Partial) => {
                let bound = limits
                    .request_line
                    .saturating_add(4)
                    .saturating_add(max_fields.saturating_mul(limits.field_size.saturating_add(2)));
                if buf.len() > bound {
                    return Err(ParseError::HeaderFieldTooLong);
                }
                let first_line = memchr::memchr(b'\n', buf).unwrap_or(buf.len());
                if first_line > limits.request_line.saturating_add(1) {
                    return Err(ParseError::BadStatusLine);
                }
                return Ok(None);
            }
            Ok(httparse::Status::Complete(head_len)) => {
                if resp.headers.len() > max_fields {
                    return Err(ParseError::TooManyHeaders);
                }
                return build_response(&resp, head_len, limits).map(Some);
            }
            Err(httparse::Error::TooManyHeaders) => {
                if cap > max_fields {
                    return Err(ParseError::TooManyHeaders);
                }
                cap = cap.saturating_mul(2).min(max_fields.saturating_add(1));
            }
            Err(httparse::Error::HeaderName | httparse::Error::HeaderValue) => {
                return Err(ParseError::BadHeader);
            }
            Err(_) => return Err(ParseError::BadStatusLine),
        }
    }
}

fn build_response(
    resp: &httparse::Response<'_, '_>,
    head_len: usize,
    limits: &Limits,
) -> Result<ResponseHeadParsed, ParseError> {
    let version = match resp.version {
        Some(0) => Version::HTTP_10,
        Some(1) => Version::HTTP_11,
        _ => return Err(ParseError::BadStatusLine),
    };
    let status = resp
        .code
        .and_then(|c| StatusCode::from_u16(c).ok())
        .ok_or(ParseError::BadStatusLine)?;
    let mut headers = HeaderMap::with_capacity(resp.headers.len());
    for h in resp.headers.iter() {
        if h.name.len() + 2 + h.value.len() > limits.field_size {
            return Err(ParseError::HeaderFieldTooLong);
        }
        let name = HeaderName::from_bytes(h.name.as_bytes()).map_err(|_| ParseError::BadHeader)?;
        let value = HeaderValue::from_bytes(h.value).map_err(|_| ParseError::BadHeader)?;
        headers.append(name, value);
    }
    Ok(ResponseHeadParsed {
        version,
        status,
        reason: resp.reason.unwrap_or("").to_owned(),
        headers,
        head_len,
    })
}

/// How the response body is delimited (RFC 9112 §6.3): none for HEAD, 1xx, 204, 304
/// and 2xx to CONNECT; `Transfer-Encoding` ending in `chunked` → Chunked (other codings
/// before it → `UnsupportedTransferEncoding`); a Transfer-Encoding not ending in chunked
/// → UntilClose; Content-Length → Length; otherwise UntilClose. Both TE and CL →
/// `ConflictingFraming`.
pub fn response_framing(
    request_method: &Method,
    status: StatusCode,
    headers: &HeaderMap,
) -> Result<BodyFraming, ParseError> {
    let code = status.as_u16();
    if *request_method == Method::HEAD
        || status.is_informational()
        || code == 204
        || code == 304
        || (*request_method == Method::CONNECT && status.is_success())
    {
        return Ok(BodyFraming::None);
    }
    let te = transfer_encoding(headers);
    if te != TeKind::Absent && headers.contains_key(http::header::CONTENT_LENGTH) {
        return Err(ParseError::ConflictingFraming);
    }
    match te {
        TeKind::Chunked => Ok(BodyFraming::Chunked),
        TeKind::ChunkedWithOthers => Err(ParseError::UnsupportedTransferEncoding),
        TeKind::NotChunked => Ok(BodyFraming::UntilClose),
        TeKind::Absent => Ok(match content_length(headers)? {
            Some(n) => BodyFraming::Length(n),
            None => BodyFraming::UntilClose,
        }),
    }
}

/// May the backend connection be reused after this response (framing permitting)?
/// HTTP/1.1 unless `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`.
pub fn response_keep_alive(version: Version, headers: &HeaderMap) -> bool {
    if has_token(headers, &http::header::CONNECTION, "close") {
        return false;
    }
    match version {
        Version::HTTP_11 => true,
        Version::HTTP_10 => has_token(headers, &http::header::CONNECTION, "keep-alive"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn request_heads() {
        let mut out = Vec::new();
        write_request_line(&Method::POST, "/p?q=1", &mut out);
        out.extend_from_slice(b"Host: backend:8080\r\n");
        end_request_head(RequestBodyLength::Known(5), &mut out);
        assert_eq!(
            out,
            b"POST /p?q=1 HTTP/1.1\r\nHost: backend:8080\r\nContent-Length: 5\r\n\r\n"
        );
        out.clear();
        write_request_line(&Method::PUT, "", &mut out);
        end_request_head(RequestBodyLength::Chunked, &mut out);
        assert_eq!(out, b"PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
        out.clear();
        // Bytes that could split the request line are percent-encoded.
        write_request_line(&Method::GET, "/a b\r\nX", &mut out);
        end_request_head(RequestBodyLength::None, &mut out);
        assert_eq!(out, b"GET /a%20b%0D%0AX HTTP/1.1\r\n\r\n");
    }

    #[test]
    fn response_heads() {
        let buf = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-A: b\r\n\r\nabc";
        let l = Limits::default();
        for i in 0..buf.len() - 3 {
            assert!(parse_response_head(&buf[..i], &l).unwrap().is_none(), "{i}");
        }
        let r = parse_response_head(buf, &l).unwrap().unwrap();
        assert_eq!(r.version, Version::HTTP_11);
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.reason, "OK");
        assert_eq!(r.headers.get("x-a").unwrap(), "b");
        assert_eq!(r.head_len, buf.len() - 3);
        let r = parse_response_head(b"HTTP/1.0 404 Not Found\r\n\r\n", &l)
            .unwrap()
            .unwrap();
        assert_eq!((r.version, r.status.as_u16()), (Version::HTTP_10, 404));
        let r = parse_response_head(b"HTTP/1.1 299\r\n\r\n", &l)
            .unwrap()
            .unwrap();
        assert_eq!(r.reason, "");
    }

    #[test]
    fn response_head_errors() {
        let l = Limits::default();
        for bad in [
            &b"HTTP/1.1 20 OK\r\n\r\n"[..],
            b"HTTP/2 200 OK\r\n\r\n",
            b"FOO\r\n\r\n",
        ] {
            let e = parse_response_head(bad, &l).unwrap_err();
            assert_eq!(
                (e.clone(), e.status().as_u16()),
                (ParseError::BadStatusLine, 502)
            );
        }
        assert_eq!(
            parse_response_head(b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", &l).unwrap_err(),
            ParseError::BadHeader
        );
        let small = Limits {
            fields: 2,
            field_size: 20,
            request_line: 30,
            ..l
        };
        assert_eq!(
            parse_response_head(b"HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", &small)
                .unwrap_err(),
            ParseError::TooManyHeaders
        );
        assert_eq!(
            parse_response_head(
                b"HTTP/1.1 200 OK\r\nA: 123456789012345678901\r\n\r\n",
                &small
            )
            .unwrap_err(),
            ParseError::HeaderFieldTooLong
        );
        let endless = [b"HTTP/1.1 200 OK\r\n".as_slice(), &[b'a'; 200]].concat();
        assert!(parse_response_head(&endless, &small).is_err());
        let long_status = [b"HTTP/1.1 200 ".as_slice(), &[b'a'; 40]].concat();
        assert_eq!(
            parse_response_head(&long_status, &small).unwrap_err(),
            ParseError::BadStatusLine
        );
        // many headers with unlimited fields grow the array
        let mut s = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..300 {
            s.extend_from_slice(format!("X{i}: v\r\n").as_bytes());
        }
        s.extend_from_slice(b"\r\n");
        let l0 = Limits { fields: 0, ..l };
        assert_eq!(
            parse_response_head(&s, &l0).unwrap().unwrap().headers.len(),
            300
        );
        assert_eq!(
            parse_response_head(&s, &l).unwrap_err(),
            ParseError::TooManyHeaders
        );
    }

    #[test]
    fn framing() {
        let f = |m: &Method, s: u16, h: &[(&str, &str)]| {
            response_framing(m, StatusCode::from_u16(s).unwrap(), &hm(h))
        };
        assert_eq!(
            f(&Method::HEAD, 200, &[("content-length", "5")]),
            Ok(BodyFraming::None)
        );
        assert_eq!(f(&Method::GET, 204, &[]), Ok(BodyFraming::None));
        assert_eq!(
            f(&Method::GET, 304, &[("content-length", "5")]),
            Ok(BodyFraming::None)
        );
        assert_eq!(f(&Method::GET, 101, &[]), Ok(BodyFraming::None));
        assert_eq!(f(&Method::CONNECT, 200, &[]), Ok(BodyFraming::None));
        assert_eq!(
            f(&Method::GET, 200, &[("transfer-encoding", "chunked")]),
            Ok(BodyFraming::Chunked)
        );
        assert_eq!(
            f(&Method::GET, 200, &[("content-length", "5")]),
            Ok(BodyFraming::Length(5))
        );
        assert_eq!(f(&Method::GET, 200, &[]), Ok(BodyFraming::UntilClose));
        assert_eq!(
            f(&Method::GET, 200, &[("transfer-encoding", "gzip")]),
            Ok(BodyFraming::UntilClose)
        );
        assert_eq!(
            f(&Method::GET, 200, &[("transfer-encoding", "gzip, chunked")]),
            Err(ParseError::UnsupportedTransferEncoding)
        );
        assert_eq!(
            f(
                &Method::GET,
                200,
                &[("transfer-encoding", "chunked"), ("content-length", "5")]
            ),
            Err(ParseError::ConflictingFraming)
        );
        assert_eq!(
            f(&Method::GET, 200, &[("content-length", "x")]),
            Err(ParseError::BadContentLength)
        );
    }

    #[test]
    fn keep_alive() {
        assert!(response_keep_alive(Version::HTTP_11, &hm(&[])));
        assert!(!response_keep_alive(
            Version::HTTP_11,
            &hm(&[("connection", "Close")])
        ));
        assert!(!response_keep_alive(Version::HTTP_10, &hm(&[])));
        assert!(response_keep_alive(
            Version::HTTP_10,
            &hm(&[("connection", "keep-alive")])
        ));
    }
}
