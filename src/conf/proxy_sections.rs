//! `<Proxy URL>` and `<ProxyMatch regex>` sections, and `ProxySet`: configuration for
//! proxied requests by the backend URL they go to (Apache's `proxy_walk`).
//!
//! - A section's per-directory body (access control: `Require`, `<RequireAll>` ...,
//!   `Order/Allow/Deny`, `Auth*`; and whatever else a `<Location>` body may hold) is
//!   merged into the configuration of a proxied request whose backend URL matches:
//!   `<Proxy>` by prefix, or by wildcard when the URL holds `*`, `?` or `[`;
//!   `<ProxyMatch>` by regex. It is merged after the `<Location>` sections (Apache
//!   merges it before them).
//! - `ProxySet key=value ...` inside a section, or `ProxySet URL key=value ...` at
//!   server level, sets worker parameters of every `ProxyPass`/`ProxyPassMatch` rule
//!   whose backend URL the section (or URL prefix) matches, whatever their order in
//!   the file.

use std::sync::Arc;

use super::DirConfig;
use super::alias::UrlRegex;
use super::proxy::{ProxyConfig, prefix_rest};

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

/// The backend URL a request for `uri_path` goes to (for section matching), when a
/// `ProxyPass`/`ProxyPassMatch` rule (not `!`) takes it.
pub fn backend_url(pc: &ProxyConfig, uri_path: &str) -> Option<String> {
    let rule = pc.find(uri_path)?;
    let backend = rule.backend.as_ref()?;
    match &rule.regex {
        Some(re) => match re.replace(uri_path, &backend.url)? {
            Some(found) if found != backend.url => Some(found),
            _ => Some(format!(
                "{}{}",
                backend.url,
                crate::uri::encode_path(uri_path)
            )),
        },
        None => {
            let rest = prefix_rest(&rule.path, uri_path).unwrap_or("");
            let mut url = backend.url.clone();
            if url.ends_with('/') && rest.starts_with('/') {
                url.pop();
            }
            url.push_str(&crate::uri::encode_path(rest));
            Some(url)
        }
    }
}

/// The bodies of the sections matching the backend of a request for `uri_path`,
/// merged in configuration order; `None` when no section applies.
pub fn dir_for(pc: &ProxyConfig, uri_path: &str) -> Option<DirConfig> {
    if !pc.extra.sections.iter().any(|s| s.config.is_some()) {
        return None;
    }
    let url = backend_url(pc, uri_path)?;
    let mut merged: Option<DirConfig> = None;
    for s in &pc.extra.sections {
        if let Some(c) = &s.config
            && s.pattern.matches(&url)
        {
            merged = Some(match merged {
                Some(m) => m.merge(c),
                None => (**c).clone(),
            });
        }
    }
    merged
}

/// After a host's directives: `ProxySet` parameters onto the rules whose backend URL a
/// section matches. An error names the section's parameter.
pub fn apply_sets(pc: &mut ProxyConfig) -> Result<(), String> {
    let sets: Vec<(ProxyPattern, Vec<String>)> = pc
        .extra
        .sections
        .iter()
        .filter(|s| !s.set.is_empty())
        .map(|s| (s.pattern.clone(), s.set.clone()))
        .collect();
    if sets.is_empty() {
        return Ok(());
    }
    for rule in &mut pc.rules {
        let Some(b) = rule.backend.as_mut() else { continue };
        for (pattern, params) in &sets {
            if pattern.matches(&b.url) {
                Arc::make_mut(b).apply_params(params)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard(b"*", b"http://x/y"));
        assert!(wildcard(b"http://127.0.0.1:*/a*", b"http://127.0.0.1:80/abc/d"));
        assert!(!wildcard(b"http://127.0.0.1:*/a*", b"http://127.0.0.2:80/abc"));
        assert!(wildcard(b"http://h?/[a-c]x", b"http://h1/bx"));
        assert!(!wildcard(b"http://h?/[!a-c]x", b"http://h1/bx"));
        assert!(ProxyPattern::proxy("http://b/app").matches("http://b/app/x"));
        assert!(!ProxyPattern::proxy("http://b/app").matches("http://c/app/x"));
    }
}
