//! mod_rewrite at run time: the two places Apache runs rules, as functions the request
//! core calls.
//!
//! * [`translate`] — server and virtual-host rules, Apache's `translate_name` hook at
//!   `APR_HOOK_FIRST` (before mod_alias and mod_proxy): the URL path is rewritten to a
//!   file (not mapped by Alias again), a URL for Alias mapping (`[PT]`), a redirect, a
//!   proxy target or a status.
//! * [`fixup`] — per-directory rules (`<Directory>`, `.htaccess`), Apache's `fixups`
//!   hook at `APR_HOOK_FIRST`, after authorisation: the file name without the
//!   directory's prefix is matched; a changed result gets the prefix (or `RewriteBase`)
//!   back and becomes an internal redirect, bounded by `LimitInternalRecursion`
//!   ([`enter_redirect`]).
//!
//! The engine itself is sans-I/O (`engine.rs`, `expand.rs`); `vars.rs` feeds it from the
//! request, `maps.rs` runs `RewriteMap`s.

mod engine;
mod expand;
mod maps;
mod proxy;
mod vars;

pub use vars::{walked_below, walked_filename};

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rhttpd_http::{RequestHead, StatusCode};

use crate::conf::rewrite::RewriteHost;
use crate::conf::{DirConfig, ServerConfig, VirtualHost};
use crate::handler::{ConnInfo, Response};
use crate::log::Level;

pub use engine::{Blocked, Context, Lookup, MapAnswer, Pass, absolute_uri_prefix, apply};
pub use maps::{int_map, parse_txt, retain as retain_maps};
pub use proxy::{PROXY_HANDLER, RewriteProxy};

/// The request as the rewrite hooks need it.
pub struct Request<'a> {
    pub cfg: &'a ServerConfig,
    pub host: &'a VirtualHost,
    pub conn: &'a ConnInfo,
    pub head: &'a RequestHead,
    /// The decoded URL path (`r->uri`).
    pub uri_path: &'a str,
    /// The request's variables so far (mod_setenvif; `%{ENV:...}` reads them).
    pub env: &'a [(String, Option<String>)],
    pub user: Option<&'a str>,
    /// Running on a thread that must not block (the event listener).
    pub inline: bool,
}

/// What the server/vhost rules decided.
#[derive(Debug)]
pub enum Translate {
    /// No rule changed the URL: the core maps it as usual.
    Declined,
    /// Answer with this (redirect, 403, 410, 400, 500).
    Respond(Response),
    /// `[PT]`: continue with this URL path (Alias and DocumentRoot mapping apply).
    Url { uri: String, query: Option<String> },
    /// The URL was rewritten to this file; mod_alias does not map it again.
    File {
        path: PathBuf,
        query: Option<String>,
    },
    /// `[P]`: hand the request to mod_proxy.
    Proxy(ProxyTarget),
}

/// What the per-directory rules decided.
#[derive(Debug)]
pub enum Fixup {
    Declined,
    Respond(Response),
    /// Run the request again for this URL path and query (an internal redirect).
    Redirect {
        uri: String,
        query: Option<String>,
    },
    Proxy(ProxyTarget),
}

/// A `[P]` target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyTarget {
    /// The handler name that proxies to it: [`PROXY_HANDLER`] followed by the
    /// backend URL (path escaped, query appended).
    pub handler: String,
}

/// Side effects of the rules that matched, whatever they decided.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Effects {
    /// `[E=]` variables (`None`: unset), in order.
    pub env: Vec<(String, Option<String>)>,
    /// `Set-Cookie` values from `[CO=]`.
    pub cookies: Vec<String>,
    /// `[H=]`.
    pub handler: Option<String>,
    /// `[T=]`.
    pub mime_type: Option<String>,
}

impl Effects {
    fn from_pass(pass: &Pass) -> Effects {
        Effects {
            env: pass.env.clone(),
            cookies: pass.cookies.iter().filter_map(|c| cookie(c)).collect(),
            handler: pass.handler.clone(),
            mime_type: pass.mime_type.clone(),
        }
    }

    /// The merged per-directory configuration with `[H=]` and `[T=]` applied.
    pub fn apply_to(&self, dir: Arc<DirConfig>) -> Arc<DirConfig> {
        if self.handler.is_none() && self.mime_type.is_none() {
            return dir;
        }
        let mut d = (*dir).clone();
        if let Some(h) = &self.handler {
            d.set_handler = Some(match h.get(..6) {
                Some(p) if p.eq_ignore_ascii_case("proxy:") => format!("proxy:{}", &h[6..]),
                _ => h.to_ascii_lowercase(),
            });
        }
        if let Some(t) = &self.mime_type {
            d.force_type = Some(t.clone());
        }
        Arc::new(d)
    }
}

thread_local! {
    /// Internal redirects made by rewriting on this thread for the request in progress,
    /// and whether an `[END]` rule stopped rewriting for it.
    static REDIRECTS: Cell<(u32, bool)> = const { Cell::new((0, false)) };
}

/// Held while the request a rewrite redirected to runs.
pub struct RedirectGuard {
    previous: (u32, bool),
}

impl Drop for RedirectGuard {
    fn drop(&mut self) {
        REDIRECTS.with(|r| r.set(self.previous));
    }
}

/// Enter an internal redirect; `None` (logged as Apache's AH00124) when it would
/// exceed `LimitInternalRecursion`.
pub fn enter_redirect(limit: u32, conn: &ConnInfo) -> Option<RedirectGuard> {
    let previous = REDIRECTS.with(Cell::get);
    if previous.0 >= limit {
        crate::log::log(
            "core",
            Level::Error,
            Some(conn.client),
            &format!(
                "AH00124: Request exceeded the limit of {limit} internal redirects due to probable configuration error. Use 'LimitInternalRecursion' to increase the limit if necessary. Use 'LogLevel debug' to get a backtrace."
            ),
        );
        return None;
    }
    REDIRECTS.with(|r| r.set((previous.0 + 1, previous.1)));
    Some(RedirectGuard { previous })
}

fn ended() -> bool {
    REDIRECTS.with(|r| r.get().1)
}

fn set_ended() {
    REDIRECTS.with(|r| {
        let (depth, _) = r.get();
        r.set((depth, true));
    });
}

fn encoded_qmark(head: &RequestHead) -> bool {
    let t = head.path.as_bytes();
    t.windows(3)
        .any(|w| w[0] == b'%' && w[1] == b'3' && (w[2] == b'f' || w[2] == b'F'))
}

fn lookup<'a>(
    req: &'a Request<'a>,
    maps: &'a RewriteHost,
    current: &str,
    perdir: bool,
    dir: Option<&'a DirConfig>,
    rules_dir: Option<&str>,
) -> vars::RequestLookup<'a> {
    vars::RequestLookup {
        cfg: req.cfg,
        host: req.host,
        conn: req.conn,
        head: req.head,
        uri: req.uri_path,
        current: current.to_string(),
        query: req.head.query.clone(),
        perdir,
        env: req.env.to_vec(),
        dir,
        user: req.user,
        maps: &maps.maps,
        may_block: !req.inline,
        blocked: false,
        rules_dir: rules_dir.map(str::to_string),
        walked: std::cell::RefCell::new(None),
    }
}

/// Server and virtual-host rules (Apache's `hook_uri2file`).
pub fn translate(req: &Request<'_>) -> Result<(Translate, Effects), Blocked> {
    if REDIRECTS.with(|r| r.get().0) == 0 {
        // A new request: no [END] of an earlier one applies.
        REDIRECTS.with(|r| r.set((0, false)));
    }
    let rw = &req.host.rewrite;
    if !rw.engine_on() || rw.rules.is_empty() || ended() {
        return Ok((Translate::Declined, Effects::default()));
    }
    let mut lk = lookup(req, rw, req.uri_path, false, None, None);
    let ctx = Context {
        perdir: None,
        subrequest: false,
        encoded_qmark: encoded_qmark(req.head),
    };
    let pass = apply(
        &rw.rules,
        ctx,
        req.uri_path,
        req.head.query.as_deref(),
        &mut lk,
    )?;
    let effects = Effects::from_pass(&pass);
    if pass.end {
        set_ended();
    }
    if let Some(status) = pass.status {
        return Ok((Translate::Respond(status_response(status)), effects));
    }
    if pass.proxy {
        return Ok((
            proxy(req, &pass).map_or_else(Translate::Respond, Translate::Proxy),
            effects,
        ));
    }
    let Some(noescape) = pass.changed else {
        return Ok((Translate::Declined, effects));
    };
    if absolute_uri_prefix(&pass.uri) > 0 {
        let resp = redirect(&pass, noescape, req.head.query.as_deref());
        return Ok((Translate::Respond(resp), effects));
    }
    if !pass.uri.starts_with('/') {
        return Ok((
            Translate::Respond(Response::error(StatusCode::BAD_REQUEST)),
            effects,
        ));
    }
    if pass.passthrough {
        return Ok((
            Translate::Url {
                uri: normalize(&pass.uri),
                query: pass.query,
            },
            effects,
        ));
    }
    let path = normalize(&pass.uri);
    // A file-system path is honoured as written when its first component exists and
    // the rule wrote it (not a variable or back-reference); anything else is a URL
    // path under DocumentRoot.
    let file = if pass.uri_reduced || pass.docroot_only || !prefix_exists(&path) {
        let mut root = req.host.document_root.to_string_lossy().into_owned();
        root.push_str(&path);
        PathBuf::from(root)
    } else {
        PathBuf::from(path)
    };
    Ok((
        Translate::File {
            path: file,
            query: pass.query,
        },
        effects,
    ))
}

/// Per-directory rules of the merged section (Apache's `hook_fixup`).
pub fn fixup(
    req: &Request<'_>,
    dir: &DirConfig,
    filename: &Path,
) -> Result<(Fixup, Effects), Blocked> {
    let rw = &dir.rewrite;
    if !rw.engine_on() || rw.rules.is_empty() || ended() {
        return Ok((Fixup::Declined, Effects::default()));
    }
    let opts = dir.options();
    if !opts.follow_symlinks && !opts.symlinks_if_owner_match {
        crate::log::log(
            "rewrite",
            Level::Error,
            Some(req.conn.client),
            &format!(
                "AH00670: Options FollowSymLinks and SymLinksIfOwnerMatch are both off, so the RewriteRule directive is also forbidden due to its similar ability to circumvent directory restrictions : {}",
                filename.display()
            ),
        );
        return Ok((
            Fixup::Respond(Response::error(StatusCode::FORBIDDEN)),
            Effects::default(),
        ));
    }
    let prefix = match rw.directory.as_deref() {
        Some(d) if d.ends_with('/') => d.to_string(),
        Some(d) => format!("{d}/"),
        None => String::new(),
    };
    let ofilename = filename.to_string_lossy().into_owned();
    let maps = &req.host.rewrite;
    let rules_dir = rw.directory.as_deref();
    let mut lk = lookup(req, maps, &ofilename, true, Some(dir), rules_dir);
    let ctx = Context {
        perdir: Some(&prefix),
        subrequest: false,
        encoded_qmark: encoded_qmark(req.head),
    };
    let pass = apply(
        &rw.rules,
        ctx,
        &ofilename,
        req.head.query.as_deref(),
        &mut lk,
    )?;
    let effects = Effects::from_pass(&pass);
    if pass.end {
        set_ended();
    }
    if let Some(status) = pass.status {
        return Ok((Fixup::Respond(status_response(status)), effects));
    }
    if pass.proxy {
        return Ok((
            proxy(req, &pass).map_or_else(Fixup::Respond, Fixup::Proxy),
            effects,
        ));
    }
    let Some(noescape) = pass.changed else {
        return Ok((Fixup::Declined, effects));
    };
    let skip = absolute_uri_prefix(&pass.uri);
    if skip > 0 {
        let mut pass = pass;
        if let Some(base) = &rw.base
            && let Some(slash) = pass.uri[skip..].find('/')
        {
            let at = skip + slash;
            let replaced = subst_prefix_path(&pass.uri[at..], &prefix, base);
            pass.uri = format!("{}{}", &pass.uri[..at], replaced);
        }
        let resp = redirect(&pass, noescape, req.head.query.as_deref());
        return Ok((Fixup::Respond(resp), effects));
    }
    if !pass.uri.starts_with('/') {
        return Ok((
            Fixup::Respond(Response::error(StatusCode::BAD_REQUEST)),
            effects,
        ));
    }
    if pass.uri == ofilename {
        // "initial URL equal rewritten URL": nothing to redirect to.
        return Ok((Fixup::Declined, effects));
    }
    let uri = match &rw.base {
        Some(base) => subst_prefix_path(&pass.uri, &prefix, base),
        None => {
            let root = req.host.document_root.to_string_lossy();
            let root = root.trim_end_matches('/');
            match pass.uri.strip_prefix(root) {
                Some(rest) if rest.starts_with('/') => rest.to_string(),
                _ => pass.uri.clone(),
            }
        }
    };
    Ok((
        Fixup::Redirect {
            uri,
            query: pass.query,
        },
        effects,
    ))
}

/// `subst_prefix_path`: `input` with the directory prefix `dir` (ending in `/`)
/// replaced by `base`.
fn subst_prefix_path(input: &str, dir: &str, base: &str) -> String {
    let dir = dir.strip_suffix('/').unwrap_or(dir);
    match input.strip_prefix(dir) {
        Some(rest) if rest.starts_with('/') => {
            let base = base.strip_suffix('/').unwrap_or(base);
            format!("{base}{rest}")
        }
        _ => input.to_string(),
    }
}

fn status_response(status: u16) -> Response {
    Response::error(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
}

/// The `Location` of an external redirect: the path escaped (unless `[NE]`), the query
/// appended (escaped unless `[NE]` or unchanged from the request's).
fn redirect(pass: &Pass, noescape: bool, original_query: Option<&str>) -> Response {
    let skip = absolute_uri_prefix(&pass.uri);
    let mut location = if noescape {
        pass.uri.clone()
    } else {
        escape_absolute_uri(&pass.uri, skip)
    };
    if let Some(q) = &pass.query {
        location.push('?');
        if noescape || Some(q.as_str()) == original_query {
            location.push_str(q);
        } else {
            location.push_str(&crate::uri::encode_path(q));
        }
    }
    let status = pass
        .redirect
        .filter(|s| (300..400).contains(s))
        .unwrap_or(302);
    Response::redirect(
        StatusCode::from_u16(status).unwrap_or(StatusCode::FOUND),
        &location,
    )
}

/// `escape_absolute_uri`: everything after `scheme://authority` escaped.
fn escape_absolute_uri(uri: &str, skip: usize) -> String {
    if !uri[..skip].ends_with("://") {
        return uri.to_string();
    }
    match uri[skip..].find('/') {
        Some(i) => {
            let at = skip + i;
            format!("{}{}", &uri[..at], crate::uri::encode_path(&uri[at..]))
        }
        None => uri.to_string(),
    }
}

/// `[P]`: the mod_proxy handler for the target, or the answer when it cannot be used.
#[allow(clippy::result_large_err)] // the refusal is the response the request gets
fn proxy(req: &Request<'_>, pass: &Pass) -> Result<ProxyTarget, Response> {
    if !req.cfg.loaded_modules.contains(&"proxy_module") {
        crate::log::log(
            "rewrite",
            Level::Error,
            Some(req.conn.client),
            &format!(
                "AH00669: attempt to make remote request from mod_rewrite without proxy enabled: {}",
                pass.uri
            ),
        );
        return Err(Response::error(StatusCode::FORBIDDEN));
    }
    let skip = absolute_uri_prefix(&pass.uri);
    let scheme = pass.uri[..skip].to_ascii_lowercase();
    if scheme != "http://" && scheme != "https://" {
        crate::log::log(
            "rewrite",
            Level::Error,
            Some(req.conn.client),
            &format!(
                "mod_rewrite: [P] to {}: rhttpd proxies rewritten URLs to http:// and https:// backends",
                pass.uri
            ),
        );
        return Err(Response::error(StatusCode::INTERNAL_SERVER_ERROR));
    }
    let rest = &pass.uri[skip..];
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut url = format!("{scheme}{authority}{}", crate::uri::encode_path(path));
    if let Some(q) = &pass.query {
        url.push('?');
        url.push_str(q);
    }
    Ok(ProxyTarget {
        handler: format!("{PROXY_HANDLER}{url}"),
    })
}

/// Whether the first component of `path` exists (Apache's `prefix_stat`).
fn prefix_exists(path: &str) -> bool {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    !first.is_empty() && Path::new("/").join(first).exists()
}

/// A path with `.` and `..` segments resolved (never above `/`) and `//` merged.
pub fn normalize(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    let mut s = String::with_capacity(path.len());
    for seg in &out {
        s.push('/');
        s.push_str(seg);
    }
    if s.is_empty() || (path.ends_with('/') && !out.is_empty()) {
        s.push('/');
    }
    s
}

/// A `[CO=NAME:VALUE:domain[:lifetime[:path[:secure[:httponly[:samesite]]]]]]` flag
/// as a `Set-Cookie` value (a leading `;` makes `;` the separator). `None` without a
/// name, value and domain, as Apache.
pub fn cookie(spec: &str) -> Option<String> {
    let (sep, body) = match spec.strip_prefix(';') {
        Some(rest) => (';', rest),
        None => (':', spec),
    };
    let mut parts = body.split(sep);
    let name = parts.next().filter(|n| !n.is_empty())?;
    let value = parts.next()?;
    let domain = parts.next()?;
    let lifetime = parts.next().and_then(|l| l.trim().parse::<u64>().ok());
    let path = parts.next().filter(|p| !p.is_empty()).unwrap_or("/");
    let yes = |s: Option<&str>, word: &str| {
        s.is_some_and(|v| {
            v.eq_ignore_ascii_case("true") || v == "1" || v.eq_ignore_ascii_case(word)
        })
    };
    let secure = yes(parts.next(), "secure");
    let httponly = yes(parts.next(), "httponly");
    let samesite = parts
        .next()
        .filter(|s| !s.is_empty() && *s != "0" && !s.eq_ignore_ascii_case("false"));
    let mut c = format!("{name}={value}; path={path}; domain={domain}");
    if let Some(minutes) = lifetime.filter(|m| *m > 0) {
        let when = chrono::Utc::now() + chrono::Duration::minutes(minutes.min(1 << 30) as i64);
        c.push_str(
            &when
                .format("; expires=%a, %d-%b-%Y %H:%M:%S GMT")
                .to_string(),
        );
    }
    if secure {
        c.push_str("; secure");
    }
    if httponly {
        c.push_str("; HttpOnly");
    }
    if let Some(s) = samesite {
        c.push_str("; SameSite=");
        c.push_str(s);
    }
    Some(c)
}

#[cfg(test)]
mod tests;
