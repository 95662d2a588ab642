//! `<Proxy URL>` and `<ProxyMatch regex>` sections, and `ProxySet`: configuration for
//! proxied requests by the backend URL they go to (Apache's `proxy_walk`).
//!
//! - A section's per-directory body (access control: `Require`, `<RequireAll>` ...,
//!   `Order/Allow/Deny`, `Auth*`; and whatever else a `<Location>` body may hold) is
//!   merged into the configuration of a proxied request whose backend URL matches:
//!   `<Proxy>` by prefix, or by wildcard when the URL holds `*`, `?` or `[`;
//!   `<ProxyMatch>` by regex. It is merged before the `<Location>` sections, as in
//!   Apache (but after `<Directory>`/`<Files>`, which Apache skips for proxied URLs).
//! - `ProxySet key=value ...` inside a section, or `ProxySet URL key=value ...` at
//!   server level, sets worker parameters of every `ProxyPass`/`ProxyPassMatch` rule
//!   whose backend URL the section (or URL prefix) matches, whatever their order in
//!   the file.

use std::sync::Arc;

use super::DirConfig;
use super::proxy::{Backend, ProxyConfig, prefix_rest};
use super::proxy_extra::ProxyPattern;

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
        let Some(b) = rule.backend.as_mut() else {
            continue;
        };
        for (pattern, params) in &sets {
            if pattern.matches(&b.url) {
                Arc::make_mut(b).apply_params(params)?;
            }
        }
    }
    Ok(())
}

/// `SetHandler "proxy:unix:/run/php/php-fpm.sock|fcgi://localhost/"`: the parameters of
/// the sections and `ProxySet` lines whose URL matches the part after the pipe (Apache's
/// worker for that URL), as in mod_proxy_fcgi's documented
/// `<Proxy "fcgi://localhost/" enablereuse=on max=10>`. A trailing `/` is optional on
/// either side. The parameters were checked at their line when the configuration was
/// read.
pub fn apply_sets_to(pc: &ProxyConfig, backend: &mut Backend) {
    let mut sets = pc
        .extra
        .sections
        .iter()
        .filter(|s| !s.set.is_empty())
        .peekable();
    if sets.peek().is_none() {
        return;
    }
    let slashed = format!("{}/", backend.url.trim_end_matches('/'));
    for s in sets {
        if s.pattern.matches(&backend.url) || s.pattern.matches(&slashed) {
            let _ = backend.apply_params(&s.set);
        }
    }
}
