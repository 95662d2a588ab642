//! Small shared helpers: token classes, comma lists, header line parsing and the
//! Content-Length / Transfer-Encoding rules shared by the server and client roles.

use crate::types::{HeaderMap, HeaderName, HeaderValue, ParseError};

/// RFC 9110 `tchar`.
pub(crate) fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_'
        | b'`' | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

pub(crate) fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

pub(crate) fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if is_ows(*first) {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if is_ows(*last) {
            s = rest;
        } else {
            break;
        }
    }
    s
}

/// Iterate the comma-separated elements of every instance of header `name`, trimmed of
/// OWS, skipping empty elements.
pub(crate) fn list_items<'a>(
    headers: &'a HeaderMap,
    name: &'a HeaderName,
) -> impl Iterator<Item = &'a [u8]> + 'a {
    headers.get_all(name).iter().flat_map(|v| {
        v.as_bytes()
            .split(|&b| b == b',')
            .map(trim_ows)
            .filter(|s| !s.is_empty())
    })
}

/// Does any instance of header `name` contain `token` (case-insensitive) as a list item?
pub(crate) fn has_token(headers: &HeaderMap, name: &HeaderName, token: &str) -> bool {
    list_items(headers, name).any(|t| t.eq_ignore_ascii_case(token.as_bytes()))
}

/// Parse one header line (without its line terminator) into a name and value.
/// Rejects obs-fold (leading whitespace), whitespace before the colon, empty or
/// non-token names, and control characters in the value.
pub(crate) fn parse_header_line(line: &[u8]) -> Result<(HeaderName, HeaderValue), ParseError> {
    parse_header_line_with(line, true)
}

/// [`parse_header_line`]; `strict: false` (`HttpProtocolOptions Unsafe`) also takes
/// spaces or tabs between the name and the colon, as Apache then does.
pub(crate) fn parse_header_line_with(
    line: &[u8],
    strict: bool,
) -> Result<(HeaderName, HeaderValue), ParseError> {
    let colon = memchr::memchr(b':', line).ok_or(ParseError::BadHeader)?;
    let mut name = &line[..colon];
    if !strict {
        while let [rest @ .., b' ' | b'\t'] = name {
            name = rest;
        }
    }
    if !is_token(name) {
        return Err(ParseError::BadHeader);
    }
    let value = trim_ows(&line[colon + 1..]);
    if value.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(ParseError::BadHeader);
    }
    let name = HeaderName::from_bytes(name).map_err(|_| ParseError::BadHeader)?;
    let value = HeaderValue::from_bytes(value).map_err(|_| ParseError::BadHeader)?;
    Ok((name, value))
}

/// Client role (backend responses): all Content-Length values must be digit strings
/// naming the same number (RFC 9110 §8.6: `5, 5` and repeated identical fields are
/// accepted). Requests use the stricter [`request_content_length`]. `Ok(None)` if absent.
pub(crate) fn content_length(headers: &HeaderMap) -> Result<Option<u64>, ParseError> {
    let mut found: Option<u64> = None;
    for v in headers.get_all(http::header::CONTENT_LENGTH) {
        for item in v.as_bytes().split(|&b| b == b',') {
            let item = trim_ows(item);
            if item.is_empty() || !item.iter().all(u8::is_ascii_digit) {
                return Err(ParseError::BadContentLength);
            }
            let mut n: u64 = 0;
            for &d in item {
                n = n
                    .checked_mul(10)
                    .and_then(|n| n.checked_add(u64::from(d - b'0')))
                    .ok_or(ParseError::BadContentLength)?;
            }
            match found {
                Some(prev) if prev != n => return Err(ParseError::BadContentLength),
                _ => found = Some(n),
            }
        }
    }
    Ok(found)
}

/// The request side's stricter rule, Apache's (`ap_parse_strict_length` on the merged
/// field): exactly one Content-Length field whose value is a digit string of at most
/// `i64::MAX` (`apr_off_t`). A list (`3, 3`) or a repeated field, even with identical
/// values, is a 400, as in Apache 2.4. `Ok(None)` if absent.
pub(crate) fn request_content_length(headers: &HeaderMap) -> Result<Option<u64>, ParseError> {
    let mut values = headers.get_all(http::header::CONTENT_LENGTH).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(ParseError::BadContentLength);
    }
    let item = trim_ows(first.as_bytes());
    if item.is_empty() || !item.iter().all(u8::is_ascii_digit) {
        return Err(ParseError::BadContentLength);
    }
    let mut n: u64 = 0;
    for &d in item {
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(d - b'0')))
            .filter(|&n| n <= i64::MAX.unsigned_abs())
            .ok_or(ParseError::BadContentLength)?;
    }
    Ok(Some(n))
}

/// How a Transfer-Encoding header list ends.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TeKind {
    Absent,
    /// Exactly `chunked` (possibly split over several fields).
    Chunked,
    /// Final coding `chunked`, with other codings before it.
    ChunkedWithOthers,
    /// Final coding is not `chunked`, or `chunked` appears twice, or the list is empty.
    NotChunked,
}

pub(crate) fn transfer_encoding(headers: &HeaderMap) -> TeKind {
    if !headers.contains_key(http::header::TRANSFER_ENCODING) {
        return TeKind::Absent;
    }
    let items: Vec<&[u8]> = list_items(headers, &http::header::TRANSFER_ENCODING).collect();
    let Some((last, before)) = items.split_last() else {
        return TeKind::NotChunked;
    };
    let is_chunked = |s: &&[u8]| s.eq_ignore_ascii_case(b"chunked");
    if !is_chunked(last) || before.iter().any(is_chunked) {
        TeKind::NotChunked
    } else if before.is_empty() {
        TeKind::Chunked
    } else {
        TeKind::ChunkedWithOthers
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
    fn content_length_rules() {
        assert_eq!(content_length(&hm(&[])), Ok(None));
        assert_eq!(content_length(&hm(&[("content-length", "5")])), Ok(Some(5)));
        assert_eq!(
            content_length(&hm(&[("content-length", "5, 5")])),
            Ok(Some(5))
        );
        assert_eq!(
            content_length(&hm(&[("content-length", "5"), ("content-length", "5")])),
            Ok(Some(5))
        );
        for bad in [
            "5, 6",
            "+5",
            "-1",
            "",
            "0x10",
            "5 5",
            "99999999999999999999",
        ] {
            assert_eq!(
                content_length(&hm(&[("content-length", bad)])),
                Err(ParseError::BadContentLength),
                "{bad}"
            );
        }
        assert_eq!(
            content_length(&hm(&[("content-length", "5"), ("content-length", "6")])),
            Err(ParseError::BadContentLength)
        );
    }

    #[test]
    fn te_rules() {
        assert_eq!(transfer_encoding(&hm(&[])), TeKind::Absent);
        assert_eq!(
            transfer_encoding(&hm(&[("transfer-encoding", "Chunked")])),
            TeKind::Chunked
        );
        assert_eq!(
            transfer_encoding(&hm(&[("transfer-encoding", "gzip, chunked")])),
            TeKind::ChunkedWithOthers
        );
        assert_eq!(
            transfer_encoding(&hm(&[
                ("transfer-encoding", "gzip"),
                ("transfer-encoding", "chunked")
            ])),
            TeKind::ChunkedWithOthers
        );
        assert_eq!(
            transfer_encoding(&hm(&[("transfer-encoding", "gzip")])),
            TeKind::NotChunked
        );
        assert_eq!(
            transfer_encoding(&hm(&[("transfer-encoding", "chunked, chunked")])),
            TeKind::NotChunked
        );
        assert_eq!(
            transfer_encoding(&hm(&[("transfer-encoding", "")])),
            TeKind::NotChunked
        );
    }

    #[test]
    fn header_lines() {
        let (n, v) = parse_header_line(b"Foo-Bar:  baz qux \t").unwrap();
        assert_eq!(n.as_str(), "foo-bar");
        assert_eq!(v.as_bytes(), b"baz qux");
        assert!(parse_header_line(b"Foo : bar").is_err());
        assert!(parse_header_line(b" Foo: bar").is_err());
        assert!(parse_header_line(b": bar").is_err());
        assert!(parse_header_line(b"Foo bar").is_err());
        assert!(parse_header_line(b"Foo: b\x00ar").is_err());
        assert!(parse_header_line(b"Foo: b\x7far").is_err());
        assert!(parse_header_line(b"Foo:").is_ok());
        assert!(parse_header_line("Foo: caf\u{e9}".as_bytes()).is_ok());
    }

    #[test]
    fn tokens() {
        let h = hm(&[
            ("connection", "Keep-Alive, Upgrade"),
            ("connection", "close"),
        ]);
        assert!(has_token(&h, &http::header::CONNECTION, "keep-alive"));
        assert!(has_token(&h, &http::header::CONNECTION, "CLOSE"));
        assert!(!has_token(&h, &http::header::CONNECTION, "te"));
    }
}
