//! The pure parts of Apache's expression functions and operators: `escape`,
//! `unescape`, `base64`, `unbase64`, `md5`, `sha1`, `ldap`, the `-T` truth test,
//! `apr_fnmatch` wildcards and `apr_ipsubnet` subnets.

use std::net::IpAddr;

use md5::Digest;

use crate::ParseError;

/// `ap_escape_uri`: %-encode every byte but letters, digits and `$-_.+!*'(),:@&=/~`.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || b"$-_.+!*'(),:@&=/~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02x}"));
        }
    }
    out
}

/// `ap_unescape_url_keep2f`: decode `%XX`, keeping `%2F` encoded; a malformed escape or
/// an encoded NUL gives `None` (Apache returns the empty string).
pub fn unescape(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b.get(i + 1..i + 3)?;
            let text = std::str::from_utf8(hex).ok()?;
            let value = u8::from_str_radix(text, 16).ok()?;
            if value == 0 {
                return None;
            }
            if value == b'/' {
                out.extend_from_slice(&b[i..i + 3]);
            } else {
                out.push(value);
            }
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn base64(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `apr_base64_decode`: decodes up to the first byte that is not in the alphabet.
pub fn unbase64(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let mut acc = 0u32;
    let mut bits = 0;
    for &c in s.as_bytes() {
        let Some(v) = B64.iter().position(|b| *b == c) else {
            break;
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn md5_hex(s: &str) -> String {
    hex(&md5::Md5::digest(s.as_bytes()))
}

pub fn sha1_hex(s: &str) -> String {
    hex(ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, s.as_bytes()).as_ref())
}

/// `apr_escape_ldap` for both filters and DNs: `\XX` for `\ * ( ) NUL , + " < > ; =`.
pub fn ldap_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\*()\0,+\"<>;=".contains(c) {
            out.push_str(&format!("\\{:02x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// `-T`: false for the empty string, `0`, and (any case) `off`, `no`, `false`.
pub fn truthy(s: &str) -> bool {
    !(s.is_empty()
        || s == "0"
        || s.eq_ignore_ascii_case("off")
        || s.eq_ignore_ascii_case("no")
        || s.eq_ignore_ascii_case("false"))
}

/// `apr_fnmatch`: `*`, `?`, `[set]` (with `!`/`^` negation and ranges), `\` escapes.
/// `pathname`: wildcards do not match `/`. `icase`: ASCII case-insensitive.
pub fn fnmatch(pattern: &str, subject: &str, pathname: bool, icase: bool) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let s: Vec<char> = subject.chars().collect();
    let eq = |a: char, b: char| {
        if icase {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let (mut pi, mut si) = (0usize, 0usize);
    let mut backtrack: Option<(usize, usize)> = None;
    while si < s.len() {
        let step = match p.get(pi) {
            Some('*') => {
                backtrack = Some((pi, si));
                pi += 1;
                continue;
            }
            Some('?') if !(pathname && s[si] == '/') => Some(pi + 1),
            Some('[') => match class(&p, pi, s[si], icase) {
                Some((matched, next)) if matched && !(pathname && s[si] == '/') => Some(next),
                Some(_) => None,
                None if s[si] == '[' => Some(pi + 1),
                None => None,
            },
            Some('\\') if pi + 1 < p.len() => eq(p[pi + 1], s[si]).then_some(pi + 2),
            Some(c) => eq(*c, s[si]).then_some(pi + 1),
            None => None,
        };
        match step {
            Some(next) => {
                pi = next;
                si += 1;
            }
            None => match backtrack {
                Some((star, from)) if !(pathname && s[from] == '/') => {
                    pi = star + 1;
                    si = from + 1;
                    backtrack = Some((star, from + 1));
                }
                _ => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// A `[...]` set at `p[start]`: whether `c` is in it and the index after it; `None`
/// when the set is not closed (the `[` is then literal).
fn class(p: &[char], start: usize, c: char, icase: bool) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(p.get(i), Some('!') | Some('^'));
    if negate {
        i += 1;
    }
    let fold = |x: char| if icase { x.to_ascii_lowercase() } else { x };
    let c = fold(c);
    let mut found = false;
    let mut first = true;
    loop {
        let mut lo = *p.get(i)?;
        if lo == ']' && !first {
            return Some((found != negate, i + 1));
        }
        first = false;
        if lo == '\\' {
            i += 1;
            lo = *p.get(i)?;
        }
        let mut hi = lo;
        if p.get(i + 1) == Some(&'-') && p.get(i + 2).is_some_and(|h| *h != ']') {
            hi = *p.get(i + 2)?;
            i += 2;
        }
        if fold(lo) <= c && c <= fold(hi) {
            found = true;
        }
        i += 1;
    }
}

/// An `apr_ipsubnet_t`: `10.0.0.0/8`, `10.0.0.0/255.0.0.0`, `10.1` (leading octets),
/// `192.168.1.7`, `2001:db8::/32`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subnet {
    text: String,
    net: IpAddr,
    prefix: u32,
}

impl Subnet {
    pub fn parse(text: &str) -> Result<Subnet, ParseError> {
        let bad = || ParseError::new("parsing of subnet/netmask failed");
        let (addr, mask) = match text.split_once('/') {
            Some((a, m)) => (a, Some(m)),
            None => (text, None),
        };
        let (net, full) = match addr.parse::<IpAddr>() {
            Ok(ip) => (ip, if ip.is_ipv4() { 32 } else { 128 }),
            Err(_) => {
                // Partial IPv4: "10", "10.1", "10.1.2" (only without a mask).
                if mask.is_some() {
                    return Err(bad());
                }
                let octets: Vec<&str> = addr.split('.').collect();
                if octets.is_empty() || octets.len() > 3 {
                    return Err(bad());
                }
                let mut bytes = [0u8; 4];
                for (i, o) in octets.iter().enumerate() {
                    if o.is_empty() || !o.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(bad());
                    }
                    bytes[i] = o.parse().map_err(|_| bad())?;
                }
                let prefix = 8 * octets.len() as u32;
                return Ok(Subnet {
                    text: text.to_string(),
                    net: IpAddr::from(bytes),
                    prefix,
                });
            }
        };
        let prefix = match mask {
            None => full,
            Some(m) if !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit()) => {
                let n: u32 = m.parse().map_err(|_| bad())?;
                if n == 0 || n > full {
                    return Err(bad());
                }
                n
            }
            Some(m) => match (m.parse::<IpAddr>(), net) {
                (Ok(IpAddr::V4(mask)), IpAddr::V4(_)) => {
                    let bits = u32::from(mask);
                    if bits.leading_ones() + bits.trailing_zeros() != 32 {
                        return Err(bad());
                    }
                    bits.leading_ones()
                }
                _ => return Err(bad()),
            },
        };
        Ok(Subnet {
            text: text.to_string(),
            net,
            prefix,
        })
    }

    /// The subnet as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Is `ip` in the subnet? An IPv4-mapped IPv6 address counts as its IPv4 address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6
                .to_ipv4_mapped()
                .map(IpAddr::V4)
                .unwrap_or(IpAddr::V6(v6)),
            v4 => v4,
        };
        match (self.net, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - self.prefix).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - self.prefix).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_and_encodings_match_known_values() {
        assert_eq!(md5_hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(sha1_hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(base64(b"hello"), "aGVsbG8=");
        assert_eq!(unbase64("aGVsbG8="), b"hello");
        assert_eq!(unbase64("aGVs!bG8"), b"hel");
        assert_eq!(escape("/a b?c"), "/a%20b%3fc");
        assert_eq!(unescape("/a%20b%2Fc").as_deref(), Some("/a b%2Fc"));
        assert_eq!(unescape("%zz"), None);
        assert_eq!(unescape("%00"), None);
        assert_eq!(ldap_escape("a*(b)"), "a\\2a\\28b\\29");
    }

    #[test]
    fn wildcards_follow_apr_fnmatch() {
        assert!(fnmatch("*.html", "index.html", false, false));
        assert!(fnmatch("*.html", "a/index.html", false, false));
        assert!(!fnmatch("*.html", "a/index.html", true, false));
        assert!(fnmatch("a/*.html", "a/index.html", true, false));
        assert!(fnmatch("[a-c]?x", "bzx", false, false));
        assert!(!fnmatch("[!a-c]?x", "bzx", false, false));
        assert!(fnmatch("*.HTML", "x.html", false, true));
        assert!(!fnmatch("*.HTML", "x.html", false, false));
        assert!(fnmatch("\\*", "*", false, false));
        assert!(fnmatch("[", "[", false, false));
        assert!(fnmatch("*a*b*c", "xaybzc", false, false));
    }

    #[test]
    fn subnets_parse_like_apr() {
        let net = Subnet::parse("10.0.0.0/8").unwrap();
        assert!(net.contains("10.2.3.4".parse().unwrap()));
        assert!(net.contains("::ffff:10.2.3.4".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        assert!(
            Subnet::parse("192.168.0.0/255.255.0.0")
                .unwrap()
                .contains("192.168.9.9".parse().unwrap())
        );
        assert!(
            Subnet::parse("127")
                .unwrap()
                .contains("127.0.0.1".parse().unwrap())
        );
        assert!(
            Subnet::parse("2001:db8::/32")
                .unwrap()
                .contains("2001:db8::1".parse().unwrap())
        );
        for bad in [
            "foo",
            "10.0.0.0/33",
            "1.2.3.4.5",
            "10/8",
            "10.0.0.0/255.0.255.0",
            "",
        ] {
            assert!(Subnet::parse(bad).is_err(), "{bad}");
        }
    }
}
