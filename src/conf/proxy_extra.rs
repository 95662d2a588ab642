//! The types of mod_proxy's settings beyond `ProxyPass` (ProxyPassReverseCookie*,
//! ProxyErrorOverride, ProxyBadHeader, buffer sizes, `<Proxy>` sections), kept in the
//! host's `ProxyConfig::extra`. Parsed by `proxy_match.rs` and `build/proxy_sections.rs`;
//! `<Proxy>` matching at request time is in `proxy_sections.rs`.

use std::sync::Arc;

use super::DirConfig;
use super::alias::UrlRegex;

/// `ProxyBadHeader`: what to do with a backend response header line that is not a
/// header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BadHeader {
    /// 502 (Apache's default).
    #[default]
    IsError,
    /// Drop the line.
    Ignore,
    /// The line and what follows are the body.
    StartBody,
}

/// `ProxyPassReverseCookieDomain` / `ProxyPassReverseCookiePath`: `internal` in a
/// `Set-Cookie` attribute of a backend response becomes `public`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CookieMap {
    pub internal: String,
    pub public: String,
}

/// The settings of this file, kept in the host's [`ProxyConfig`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProxyExtra {
    pub cookie_domains: Vec<CookieMap>,
    pub cookie_paths: Vec<CookieMap>,
    /// `ProxyErrorOverride On [codes]`: `Some(codes)` (empty: every status >= 400).
    pub error_override: Option<Vec<u16>>,
    pub bad_header: BadHeader,
    /// `ProxyIOBufferSize` (bytes read from a backend at a time).
    pub io_buffer: Option<usize>,
    /// `ProxyReceiveBufferSize` (SO_RCVBUF of backend sockets; 0 = the system's).
    pub receive_buffer: Option<usize>,
    /// `<Proxy>`/`<ProxyMatch>` sections and server-level `ProxySet URL` lines
    /// (matched by `proxy_sections.rs`).
    pub sections: Vec<ProxySection>,
}

/// What a section matches against the backend URL.
#[derive(Clone, Debug)]
pub enum ProxyPattern {
    Prefix(String),
    Wildcard(String),
    Regex(UrlRegex),
}

impl ProxyPattern {
    /// `<Proxy URL>`'s argument.
    pub fn proxy(arg: &str) -> ProxyPattern {
        if arg.contains(['*', '?', '[']) {
            ProxyPattern::Wildcard(arg.to_string())
        } else {
            ProxyPattern::Prefix(arg.to_string())
        }
    }

    pub fn matches(&self, url: &str) -> bool {
        match self {
            ProxyPattern::Prefix(p) => url.starts_with(p.as_str()),
            ProxyPattern::Wildcard(p) => wildcard(p.as_bytes(), url.as_bytes()),
            ProxyPattern::Regex(re) => re.0.is_match(url),
        }
    }
}

/// One `<Proxy>`/`<ProxyMatch>` section (or a server-level `ProxySet URL`).
#[derive(Clone, Debug)]
pub struct ProxySection {
    pub pattern: ProxyPattern,
    /// The section's argument as written.
    pub text: String,
    /// Its per-directory body; `None` when it holds nothing but ProxySet.
    pub config: Option<Arc<DirConfig>>,
    /// Its `ProxySet` parameters.
    pub set: Vec<String>,
}

// Sections compare by what they were written as (their bodies are not comparable).
impl PartialEq for ProxySection {
    fn eq(&self, o: &ProxySection) -> bool {
        self.text == o.text && self.set == o.set && self.config.is_some() == o.config.is_some()
    }
}

impl Eq for ProxySection {}

/// `fnmatch` without flags: `*` and `?` match any byte (`/` too), `[...]` a class.
fn wildcard(p: &[u8], t: &[u8]) -> bool {
    match (p.first(), t.first()) {
        (None, None) => true,
        (Some(b'*'), _) => wildcard(&p[1..], t) || (!t.is_empty() && wildcard(p, &t[1..])),
        (Some(b'?'), Some(_)) => wildcard(&p[1..], &t[1..]),
        (Some(b'['), Some(&c)) => {
            let Some(end) = p.iter().skip(1).position(|&b| b == b']').map(|e| e + 1) else {
                return c == b'[' && wildcard(&p[1..], &t[1..]);
            };
            let class = &p[1..end];
            let (neg, class) = match class.first() {
                Some(b'!') | Some(b'^') => (true, &class[1..]),
                _ => (false, class),
            };
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == b'-' {
                    hit |= class[i] <= c && c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == c;
                    i += 1;
                }
            }
            hit != neg && wildcard(&p[end + 1..], &t[1..])
        }
        (Some(&a), Some(&b)) => a == b && wildcard(&p[1..], &t[1..]),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard(b"*", b"http://x/y"));
        assert!(wildcard(
            b"http://127.0.0.1:*/a*",
            b"http://127.0.0.1:80/abc/d"
        ));
        assert!(!wildcard(
            b"http://127.0.0.1:*/a*",
            b"http://127.0.0.2:80/abc"
        ));
        assert!(wildcard(b"http://h?/[a-c]x", b"http://h1/bx"));
        assert!(!wildcard(b"http://h?/[!a-c]x", b"http://h1/bx"));
        assert!(ProxyPattern::proxy("http://b/app").matches("http://b/app/x"));
        assert!(!ProxyPattern::proxy("http://b/app").matches("http://c/app/x"));
    }

    use proptest::prelude::*;

    proptest! {
        /// A URL without wildcard characters matches itself, `*` matches anything, and
        /// a prefix followed by `*` matches every extension of it.
        #[test]
        fn wildcard_laws(url in "[a-z0-9:/._-]{0,30}", more in "[ -~]{0,20}") {
            prop_assert!(wildcard(url.as_bytes(), url.as_bytes()));
            prop_assert!(wildcard(b"*", more.as_bytes()));
            let star = format!("{url}*");
            let text = format!("{url}{more}");
            prop_assert!(wildcard(star.as_bytes(), text.as_bytes()));
            prop_assert!(ProxyPattern::proxy(&url).matches(&text));
        }
    }
}
