//! What mod_proxy_http does to a backend's response head besides hop-by-hop removal
//! and ProxyPassReverse (`proxy_http.rs`):
//!
//! - `ProxyPassReverseCookieDomain` / `ProxyPassReverseCookiePath`: the `domain=` and
//!   `path=` attributes of `Set-Cookie` are mapped as Apache's
//!   `ap_proxy_cookie_reverse_map` does (a domain ending in the internal name is
//!   replaced by the public one; a path starting with the internal path has that
//!   prefix replaced);
//! - `ProxyErrorOverride`: whether an error status is answered with the local error
//!   page (ErrorDocument) instead of the backend's body;
//! - `ProxyBadHeader Ignore|StartBody`: a head line that is not a header field is
//!   dropped, or it and what follows become the body (IsError: 502).

use http::header::{self, HeaderValue};
use rhttpd_http::{HeaderMap, StatusCode};

use crate::conf::proxy_extra::{BadHeader, CookieMap, ProxyExtra};

/// Map the `Set-Cookie` attributes of `h` (ProxyPassReverseCookie*).
pub(crate) fn rewrite_cookies(extra: &ProxyExtra, h: &mut HeaderMap) {
    if extra.cookie_domains.is_empty() && extra.cookie_paths.is_empty() {
        return;
    }
    let old: Vec<HeaderValue> = h.get_all(header::SET_COOKIE).iter().cloned().collect();
    if old.is_empty() {
        return;
    }
    h.remove(header::SET_COOKIE);
    for v in old {
        let new = v
            .to_str()
            .ok()
            .map(|s| map_cookie(s, &extra.cookie_domains, &extra.cookie_paths))
            .and_then(|s| HeaderValue::from_str(&s).ok())
            .unwrap_or(v);
        h.append(header::SET_COOKIE, new);
    }
}

/// One `Set-Cookie` value with its `domain=` and `path=` attributes mapped.
fn map_cookie(value: &str, domains: &[CookieMap], paths: &[CookieMap]) -> String {
    let mut out = String::with_capacity(value.len());
    for (i, part) in value.split(';').enumerate() {
        if i > 0 {
            out.push(';');
        }
        let lead = &part[..part.len() - part.trim_start().len()];
        let attr = part.trim_start();
        let mapped = attr.split_once('=').and_then(|(k, v)| {
            let key = k.trim();
            if key.eq_ignore_ascii_case("domain") {
                domains
                    .iter()
                    .find(|m| {
                        v.len() >= m.internal.len()
                            && v[v.len() - m.internal.len()..].eq_ignore_ascii_case(&m.internal)
                    })
                    .map(|m| format!("{k}={}", m.public))
            } else if key.eq_ignore_ascii_case("path") {
                paths
                    .iter()
                    .find(|m| v.starts_with(m.internal.as_str()))
                    .map(|m| format!("{k}={}{}", m.public, &v[m.internal.len()..]))
            } else {
                None
            }
        });
        out.push_str(lead);
        out.push_str(mapped.as_deref().unwrap_or(attr));
    }
    out
}

/// ProxyErrorOverride: whether the local error page replaces a backend's `status`.
pub(crate) fn overrides(extra: &ProxyExtra, status: StatusCode) -> bool {
    match &extra.error_override {
        Some(codes) if status.as_u16() >= 400 => {
            codes.is_empty() || codes.contains(&status.as_u16())
        }
        _ => false,
    }
}

/// ProxyBadHeader Ignore/StartBody on a complete head in `buf` that did not parse:
/// lines after the status line that are not `name: value` fields are dropped
/// (Ignore), or end the head there and start the body (StartBody). Returns false when
/// nothing was changed (the head is bad in another way, or is not complete yet).
pub(crate) fn fix_bad_head(buf: &mut Vec<u8>, mode: BadHeader) -> bool {
    if mode == BadHeader::IsError {
        return false;
    }
    let Some(end) = find(buf, b"\r\n\r\n").or_else(|| find(buf, b"\n\n")) else {
        return false;
    };
    let head = &buf[..end];
    let mut lines: Vec<&[u8]> = head.split(|&b| b == b'\n').collect();
    for l in lines.iter_mut() {
        *l = l.strip_suffix(b"\r").unwrap_or(l);
    }
    let is_field = |l: &[u8]| {
        let Some(colon) = l.iter().position(|&b| b == b':') else {
            return false;
        };
        colon > 0
            && l[..colon]
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    };
    let Some(first_bad) = lines
        .iter()
        .skip(1)
        .position(|l| !is_field(l))
        .map(|i| i + 1)
    else {
        return false;
    };
    let mut fixed = Vec::with_capacity(buf.len());
    match mode {
        BadHeader::Ignore => {
            for (_, l) in lines
                .iter()
                .enumerate()
                .filter(|(i, l)| *i == 0 || is_field(l))
            {
                fixed.extend_from_slice(l);
                fixed.extend_from_slice(b"\r\n");
            }
            fixed.extend_from_slice(b"\r\n");
            fixed.extend_from_slice(buf[end..].trim_ascii_start_newlines());
        }
        _ => {
            for l in &lines[..first_bad] {
                fixed.extend_from_slice(l);
                fixed.extend_from_slice(b"\r\n");
            }
            fixed.extend_from_slice(b"\r\n");
            // The bad line and everything after it (its line ends included) are body.
            let mut body_start = 0;
            for l in &lines[..first_bad] {
                body_start += l.len();
                body_start += if buf.get(body_start) == Some(&b'\r') {
                    2
                } else {
                    1
                };
            }
            fixed.extend_from_slice(&buf[body_start..]);
        }
    }
    *buf = fixed;
    true
}

trait TrimNewlines {
    fn trim_ascii_start_newlines(&self) -> &[u8];
}

impl TrimNewlines for [u8] {
    /// The bytes after the blank line that ends a head (`\r\n\r\n` or `\n\n`).
    fn trim_ascii_start_newlines(&self) -> &[u8] {
        let s = self.strip_prefix(b"\r\n\r\n").unwrap_or(self);
        s.strip_prefix(b"\n\n").unwrap_or(s)
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(i: &str, p: &str) -> CookieMap {
        CookieMap {
            internal: i.into(),
            public: p.into(),
        }
    }

    #[test]
    fn cookie_attributes() {
        let d = [m("backend.internal", "www.example.com")];
        let p = [m("/app/", "/")];
        assert_eq!(
            map_cookie("a=1; Domain=backend.internal; Path=/app/x", &d, &p),
            "a=1; Domain=www.example.com; Path=/x"
        );
        assert_eq!(
            map_cookie(
                "b=2; path=/app/; domain=.backend.internal; HttpOnly",
                &d,
                &p
            ),
            "b=2; path=/; domain=www.example.com; HttpOnly"
        );
        assert_eq!(
            map_cookie("c=3; Domain=other.org; Path=/else", &d, &p),
            "c=3; Domain=other.org; Path=/else"
        );
    }

    #[test]
    fn error_override_codes() {
        let mut x = ProxyExtra::default();
        assert!(!overrides(&x, StatusCode::NOT_FOUND));
        x.error_override = Some(vec![]);
        assert!(overrides(&x, StatusCode::NOT_FOUND));
        assert!(!overrides(&x, StatusCode::FOUND));
        x.error_override = Some(vec![500]);
        assert!(!overrides(&x, StatusCode::NOT_FOUND));
        assert!(overrides(&x, StatusCode::INTERNAL_SERVER_ERROR));
    }

    use proptest::prelude::*;

    proptest! {
        /// Without a map that applies, a cookie is passed on byte for byte.
        #[test]
        fn unmapped_cookies_are_unchanged(v in "[ -~]{0,60}") {
            let d = [m("zz.invalid", "x")];
            let p = [m("/zz-never/", "/")];
            let out = map_cookie(&v, &d, &p);
            if !v.to_ascii_lowercase().contains("zz.invalid") && !v.contains("/zz-never/") {
                prop_assert_eq!(out, v);
            }
        }

        /// Mending never panics, and an Ignore-mended head has no line without a colon.
        #[test]
        fn mending_is_total(lines in proptest::collection::vec("[ -~]{0,20}", 0..6), body in "[ -~]{0,10}") {
            let mut raw = b"HTTP/1.1 200 OK\r\n".to_vec();
            for l in &lines {
                raw.extend_from_slice(l.as_bytes());
                raw.extend_from_slice(b"\r\n");
            }
            raw.extend_from_slice(b"\r\n");
            raw.extend_from_slice(body.as_bytes());
            let mut b = raw.clone();
            if fix_bad_head(&mut b, BadHeader::Ignore) {
                let end = find(&b, b"\r\n\r\n").unwrap();
                for l in b[..end].split(|&c| c == b'\n').skip(1) {
                    prop_assert!(l.contains(&b':'));
                }
            }
            let mut b = raw.clone();
            if fix_bad_head(&mut b, BadHeader::StartBody) {
                prop_assert!(b.len() <= raw.len() + 2);
            }
        }
    }

    #[test]
    fn bad_header_lines() {
        let raw = b"HTTP/1.1 200 OK\r\nA: 1\r\nnot a header\r\nB: 2\r\n\r\nbody".to_vec();
        let mut b = raw.clone();
        assert!(fix_bad_head(&mut b, BadHeader::Ignore));
        assert_eq!(b, b"HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\n\r\nbody");
        let mut b = raw.clone();
        assert!(fix_bad_head(&mut b, BadHeader::StartBody));
        assert_eq!(
            b,
            b"HTTP/1.1 200 OK\r\nA: 1\r\n\r\nnot a header\r\nB: 2\r\n\r\nbody"
        );
        let mut b = raw.clone();
        assert!(!fix_bad_head(&mut b, BadHeader::IsError));
        let mut b = b"HTTP/1.1 200 OK\r\nA: 1\r\n\r\n".to_vec();
        assert!(!fix_bad_head(&mut b, BadHeader::Ignore));
        let mut b = b"HTTP/1.1 200 OK\r\nnot a head".to_vec();
        assert!(!fix_bad_head(&mut b, BadHeader::Ignore));
    }
}
