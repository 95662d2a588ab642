//! URL path decoding and normalisation, as Apache 2.4's request processing does it
//! (`ap_normalize_path` then `ap_unescape_url`, with `MergeSlashes On` and
//! `AllowEncodedSlashes Off`), and the reverse: escaping a path for a Location header or
//! a link (`ap_escape_uri`).

use std::fmt;

/// Why a request path was refused; each maps to the status Apache answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UriError {
    /// 400: a malformed `%` escape, a path not starting with `/`, a `..` climbing above
    /// the root (AH10244 "invalid URI path"), or a NUL byte.
    BadRequest,
    /// 404: an encoded slash (`%2F`, AH00026) or an encoded NUL (`%00`), or a path that
    /// decodes to bytes that are not UTF-8 (they cannot name a file rhttpd can map).
    NotFound,
}

impl UriError {
    pub fn status(self) -> u16 {
        match self {
            UriError::BadRequest => 400,
            UriError::NotFound => 404,
        }
    }
}

impl fmt::Display for UriError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UriError::BadRequest => f.write_str("invalid URI path"),
            UriError::NotFound => f.write_str("found %2f (encoded '/') or %00 in URI path"),
        }
    }
}

impl std::error::Error for UriError {}

/// Decodes and normalises the (still percent-encoded) path of a request target.
///
/// 1. Normalisation on the encoded form, as `ap_normalize_path(NOT_ABOVE_ROOT |
///    MERGE_SLASHES | DECODE_UNRESERVED)`: escapes of unreserved characters (`%2e`,
///    `%41`, ...) are decoded first, `//` collapse to `/`, `.` segments go, `..` segments
///    remove the previous segment, and a `..` at the root or a malformed escape is a 400.
/// 2. Unescaping, as `ap_unescape_url`: a malformed escape is a 400, `%2F` or `%00` a
///    404 (the bad escape wins when both occur).
///
/// The result starts with `/` and has no `.` or `..` segment, and no `//` when merging.
pub fn decode_path(raw: &str) -> Result<String, UriError> {
    decode_path_with(raw, true)
}

/// [`decode_path`]; `merge_slashes: false` (`MergeSlashes Off`) keeps runs of `/`.
pub fn decode_path_with(raw: &str, merge_slashes: bool) -> Result<String, UriError> {
    let raw = raw.as_bytes();
    if raw.contains(&0) {
        return Err(UriError::BadRequest);
    }
    let normal = normalize(raw, merge_slashes).ok_or(UriError::BadRequest)?;
    let bytes = unescape(&normal)?;
    let s = String::from_utf8(bytes).map_err(|_| UriError::NotFound)?;
    // Defence in depth: what the steps above guarantee, checked once more.
    if !s.starts_with('/') || s.split('/').any(|seg| seg == "." || seg == "..") {
        return Err(UriError::BadRequest);
    }
    Ok(s)
}

fn is_unreserved(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~')
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// `ap_no2slash`: `path` with each run of `/` made one (borrowed when there is none).
pub fn merge_slashes(path: &str) -> std::borrow::Cow<'_, str> {
    if !path.contains("//") {
        return std::borrow::Cow::Borrowed(path);
    }
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A port of `ap_normalize_path` (with `AP_NORMALIZE_MERGE_SLASHES` when `merge`);
/// `None` when Apache would return failure (400).
fn normalize(input: &[u8], merge: bool) -> Option<Vec<u8>> {
    if input.first() != Some(&b'/') {
        return None;
    }
    let mut p = input.to_vec();
    let len = p.len();
    let at = |p: &[u8], i: usize| p.get(i).copied().unwrap_or(0);
    let slash_or_end = |c: u8| c == b'/' || c == 0;
    let mut ok = true;
    let (mut l, mut w) = (1usize, 1usize);
    while l < len {
        if p[l] == b'%' {
            match (hex_val(at(&p, l + 1)), hex_val(at(&p, l + 2))) {
                (Some(h), Some(lo)) => {
                    let c = (h << 4) | lo;
                    if is_unreserved(c) {
                        l += 2;
                        p[l] = c;
                    }
                }
                _ => ok = false,
            }
        }
        if p[w - 1] == b'/' {
            if merge && p[l] == b'/' {
                while l < len && p[l] == b'/' {
                    l += 1;
                }
                continue;
            }
            if p[l] == b'.' {
                if slash_or_end(at(&p, l + 1)) {
                    l = (l + 2).min(len);
                    continue;
                }
                let mut n = l + 1;
                let dotdot = if at(&p, n) == b'.' {
                    true
                } else if at(&p, n) == b'%' && at(&p, n + 1) == b'2' && at(&p, n + 2) | 0x20 == b'e'
                {
                    n += 2;
                    true
                } else {
                    false
                };
                if dotdot && slash_or_end(at(&p, n + 1)) {
                    if w > 1 {
                        w -= 1;
                        while w > 0 && p[w - 1] != b'/' {
                            w -= 1;
                        }
                    } else {
                        ok = false;
                    }
                    l = (n + 2).min(len);
                    continue;
                }
            }
        }
        p[w] = p[l];
        w += 1;
        l += 1;
    }
    p.truncate(w);
    ok.then_some(p)
}

/// `ap_unescape_url` with `AllowEncodedSlashes Off`.
fn unescape(input: &[u8]) -> Result<Vec<u8>, UriError> {
    let mut out = Vec::with_capacity(input.len());
    let (mut bad_escape, mut bad_path) = (false, false);
    let mut i = 0;
    while i < input.len() {
        let c = input[i];
        if c != b'%' {
            out.push(c);
            i += 1;
            continue;
        }
        let hi = input.get(i + 1).copied().and_then(hex_val);
        let lo = input.get(i + 2).copied().and_then(hex_val);
        match (hi, lo) {
            (Some(h), Some(l)) => {
                let d = (h << 4) | l;
                if d == 0 || d == b'/' {
                    bad_path = true;
                }
                out.push(d);
                i += 3;
            }
            _ => {
                bad_escape = true;
                out.push(b'%');
                i += 1;
            }
        }
    }
    if bad_escape {
        Err(UriError::BadRequest)
    } else if bad_path {
        Err(UriError::NotFound)
    } else {
        Ok(out)
    }
}

/// Characters `ap_escape_uri` leaves alone besides ASCII letters and digits.
const PATH_SAFE: &[u8] = b"$-_.+!*'(),:;@&=/~";

/// Percent-encodes a decoded path for a URL (Location headers, listing links), as
/// Apache's `ap_escape_uri`: letters, digits and `$-_.+!*'(),:;@&=/~` stay, everything
/// else becomes `%xx` with lower-case hex.
pub fn encode_path(s: &str) -> String {
    encode_path_bytes(s.as_bytes())
}

/// [`encode_path`] for raw bytes (file names that are not UTF-8).
pub fn encode_path_bytes(s: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(s.len());
    for &b in s {
        if b.is_ascii_alphanumeric() || PATH_SAFE.contains(&b) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ok(raw: &str) -> String {
        decode_path(raw).unwrap_or_else(|e| panic!("{raw}: {e:?}"))
    }

    #[test]
    fn merge_slashes_off_keeps_runs_of_slashes() {
        assert_eq!(decode_path_with("/a//b///c", false).unwrap(), "/a//b///c");
        assert_eq!(decode_path_with("/a//b", true).unwrap(), "/a/b");
        assert_eq!(decode_path_with("/a//./b/../c", false).unwrap(), "/a//c");
        assert!(decode_path_with("/..//x", false).is_err());
        assert_eq!(merge_slashes("/a//b///c/"), "/a/b/c/");
        assert!(matches!(
            merge_slashes("/a/b"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn plain_paths() {
        assert_eq!(ok("/"), "/");
        assert_eq!(ok("/a/b.txt"), "/a/b.txt");
        assert_eq!(ok("/a/b/"), "/a/b/");
        assert_eq!(ok("/a%20b"), "/a b");
        assert_eq!(ok("/%C3%A9"), "/é");
        assert_eq!(ok("/a%5cb"), "/a\\b");
        assert_eq!(ok("/a%3Fb%23"), "/a?b#");
    }

    #[test]
    fn dot_segments_and_slashes() {
        assert_eq!(ok("/./a.txt"), "/a.txt");
        assert_eq!(ok("//a.txt"), "/a.txt");
        assert_eq!(ok("/a//b///c"), "/a/b/c");
        assert_eq!(ok("/a/."), "/a/");
        assert_eq!(ok("/a/.."), "/");
        assert_eq!(ok("/a/../b"), "/b");
        assert_eq!(ok("/a/b/../../c"), "/c");
        assert_eq!(ok("/sub/%2e%2e/a.txt"), "/a.txt");
        assert_eq!(ok("/sub/.%2e/a.txt"), "/a.txt");
        assert_eq!(ok("/sub/%2E./a.txt"), "/a.txt");
        assert_eq!(ok("/a/.../b"), "/a/.../b");
        assert_eq!(ok("/a/..b/.c"), "/a/..b/.c");
        assert_eq!(ok("/a/.%2e%2e"), "/a/...");
    }

    #[test]
    fn above_root_is_400() {
        for p in [
            "/..",
            "/../a.txt",
            "/a/../../x",
            "/%2e%2e/a.txt",
            "/.%2E/x",
            "//../x",
        ] {
            assert_eq!(decode_path(p), Err(UriError::BadRequest), "{p}");
        }
    }

    #[test]
    fn escapes() {
        for p in ["/a%zz", "/a%2", "/a%", "/a%2fb%zz", "/a%00%zz", "/%g0"] {
            assert_eq!(decode_path(p), Err(UriError::BadRequest), "{p}");
        }
        for p in ["/a%2fb", "/a%2Fb.txt", "/a%00", "/%2F", "/.%2f/x"] {
            assert_eq!(decode_path(p), Err(UriError::NotFound), "{p}");
        }
        assert_eq!(decode_path("/%ff"), Err(UriError::NotFound));
    }

    #[test]
    fn must_start_with_slash() {
        for p in ["", "*", "a/b", "%2fa", "http://x/"] {
            assert_eq!(decode_path(p), Err(UriError::BadRequest), "{p}");
        }
        assert_eq!(decode_path("/a\0b"), Err(UriError::BadRequest));
    }

    #[test]
    fn encode() {
        assert_eq!(encode_path("/a b/é?#%\""), "/a%20b/%c3%a9%3f%23%25%22");
        assert_eq!(encode_path("/b'$+!*(),@=~-_;:&"), "/b'$+!*(),@=~-_;:&");
        assert_eq!(encode_path("<x>"), "%3cx%3e");
    }

    #[test]
    fn encode_decode_round_trip() {
        for s in ["/a b/é", "/x/y?z", "/100%/", "/a&b=c;d"] {
            assert_eq!(ok(&encode_path(s)), s);
        }
    }

    proptest! {
        #[test]
        fn never_escapes_root(raw in "[/.%2eEfF0a-c]{0,24}") {
            check(&raw);
        }

        #[test]
        fn arbitrary_input(raw in any::<String>()) {
            check(&raw);
        }

        #[test]
        fn arbitrary_with_slash(raw in "/\\PC{0,40}") {
            check(&raw);
        }

        #[test]
        fn round_trip(s in "(/[a-zA-Z0-9 %?#;&é~-]{1,10}){1,4}/?") {
            prop_assert_eq!(decode_path(&encode_path(&s)), Ok(s.clone()));
        }
    }

    fn check(raw: &str) {
        if let Ok(p) = decode_path(raw) {
            assert!(p.starts_with('/'), "{raw:?} -> {p:?}");
            assert!(!p.contains("//"), "{raw:?} -> {p:?}");
            assert!(
                !p.split('/').any(|s| s == ".." || s == "."),
                "{raw:?} -> {p:?}"
            );
        }
    }
}
