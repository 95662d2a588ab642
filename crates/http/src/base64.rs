//! Base64 decoding shared by the protocol engines and the server's modules.

/// Decodes base64 (RFC 4648 §4) or base64url (§5) — either alphabet, padding optional,
/// surrounding blanks ignored — as `HTTP2-Settings`, `Authorization: Basic` and
/// `{SHA}` password hashes carry it. `None` for any other character or a length no
/// encoding can have.
pub fn decode(s: &[u8]) -> Option<Vec<u8>> {
    let s = s.trim_ascii();
    let s = s.strip_suffix(b"==").or(s.strip_suffix(b"=")).unwrap_or(s);
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for &c in s {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    // A single leftover sextet cannot be the end of a valid encoding.
    (bits < 6).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[test]
    fn vectors() {
        assert_eq!(decode(b"dXNlcjpwYXNz").unwrap(), b"user:pass");
        assert_eq!(decode(b"YQ==").unwrap(), b"a");
        assert_eq!(decode(b"YWI=").unwrap(), b"ab");
        assert_eq!(decode(b" YWJj ").unwrap(), b"abc");
        assert_eq!(decode(b"-_8").unwrap(), decode(b"+/8").unwrap());
        assert_eq!(decode(b"").unwrap(), b"");
        assert!(decode(b"Y").is_none());
        assert!(decode(b"a*b=").is_none());
    }
}
