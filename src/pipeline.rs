//! The request pipeline: from a parsed request head to a finished [`Response`], the
//! same under every MPM. Steps, in Apache's order:
//!
//! 1. virtual host by local address and Host (`conf::vhost`);
//! 2. method screening (TRACE, `OPTIONS *`, CONNECT);
//! 3. URL decoding and normalisation (`uri`), 400/404 on bad paths;
//! 4. mod_alias `Redirect`, then `Alias`/`ScriptAlias`/DocumentRoot mapping;
//! 5. merge of the per-directory configuration: server/vhost base, `<Directory>`
//!    (shortest first), `<DirectoryMatch>`, `<Files>`/`<FilesMatch>`, `<Location>`/
//!    `<LocationMatch>`;
//! 6. authorisation (`Require`), symlink policy;
//! 7. handler choice (`SetHandler`, `AddHandler`, ScriptAlias, default) and run;
//! 8. error documents (`ErrorDocument` or Apache's built-in pages).
//!
//! Authorisation lives in `authz.rs`, error pages in `error_pages.rs`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE};
use rhttpd_http::{Method, RequestHead, StatusCode};

use crate::conf::{self, DirConfig, PathPattern, SectionMatch, ServerConfig, VirtualHost};
use crate::handler::{Body, ConnInfo, Handler, Request, RequestBody, Response};
use crate::log::Level;
use crate::modules::static_files::{StaticFiles, check_symlinks};
use crate::uri::{self, UriError};

use crate::authz::authorized;
use crate::error_pages::error_response;
pub use crate::error_pages::{bare_error, error_page, error_response_for, html_escape};

/// What the connection driver needs besides the response, for logging and the
/// scoreboard.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    /// `None` = main server, `Some(i)` = `cfg.vhosts[i]`.
    pub vhost: Option<usize>,
    pub uri_path: String,
    pub filename: Option<PathBuf>,
    /// The status before an ErrorDocument redirect replaced the response (`%<s`).
    pub original_status: u16,
}

/// The handlers of one generation, by name.
pub struct Handlers {
    default: Arc<dyn Handler>,
    named: Vec<Arc<dyn Handler>>,
}

impl Handlers {
    pub fn new(named: Vec<Arc<dyn Handler>>) -> Self {
        Handlers {
            default: Arc::new(StaticFiles),
            named,
        }
    }

    fn find(&self, name: &str) -> Option<&Arc<dyn Handler>> {
        // A name ending in ':' is a prefix (mod_proxy's `proxy:URL` handlers).
        self.named
            .iter()
            .find(|h| h.name() == name || (h.name().ends_with(':') && name.starts_with(h.name())))
    }

    /// Handlers that would refuse a threaded MPM.
    pub fn not_thread_safe(&self) -> Vec<&'static str> {
        self.named
            .iter()
            .filter(|h| !h.thread_safe())
            .map(|h| h.name())
            .collect()
    }
}

/// The server identification for the `Server` header and signatures, per ServerTokens.
pub fn server_banner(tokens: conf::ServerTokens) -> String {
    let v = env!("CARGO_PKG_VERSION");
    let mut parts = v.split('.');
    let major = parts.next().unwrap_or("0");
    let minor = parts.next().unwrap_or("0");
    match tokens {
        conf::ServerTokens::Prod => "rhttpd".to_string(),
        conf::ServerTokens::Major => format!("rhttpd/{major}"),
        conf::ServerTokens::Minor => format!("rhttpd/{major}.{minor}"),
        conf::ServerTokens::Min => format!("rhttpd/{v}"),
        conf::ServerTokens::Os | conf::ServerTokens::Full => format!("rhttpd/{v} (Unix)"),
    }
}

/// Run one request. `body` reads the request body from the connection.
pub fn process(
    cfg: &ServerConfig,
    handlers: &Handlers,
    conn: &ConnInfo,
    head: &RequestHead,
    body: &mut RequestBody<'_>,
) -> (Response, Outcome) {
    match run(cfg, handlers, conn, head, body, false) {
        Ok(r) => r,
        // Not reachable: only inline runs defer to a worker.
        Err(NeedsWorker) => (
            Response::error(StatusCode::INTERNAL_SERVER_ERROR),
            Outcome::default(),
        ),
    }
}

/// The request would run a handler that may block (CGI, proxy ...): the event MPM's
/// listener hands such requests to a worker thread instead of running them inline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeedsWorker;

/// Run one request on a thread that must not block (the event listener): like
/// [`process`], but stops with [`NeedsWorker`] before running a handler that may block.
/// Nothing observable has happened by then, so a worker can run the request afresh.
pub fn process_inline(
    cfg: &ServerConfig,
    handlers: &Handlers,
    conn: &ConnInfo,
    head: &RequestHead,
) -> Result<(Response, Outcome), NeedsWorker> {
    let mut none = std::io::empty();
    run(cfg, handlers, conn, head, &mut none, true)
}

fn run(
    cfg: &ServerConfig,
    handlers: &Handlers,
    conn: &ConnInfo,
    head: &RequestHead,
    body: &mut RequestBody<'_>,
    inline: bool,
) -> Result<(Response, Outcome), NeedsWorker> {
    let sel = conf::vhost::select(cfg, conn.local, head.host.as_deref());
    let host = conf::vhost::host(cfg, sel);
    let mut out = Outcome {
        vhost: sel,
        ..Outcome::default()
    };
    let mut resp = route(cfg, host, handlers, conn, head, body, &mut out, inline)?;
    out.original_status = resp.status.as_u16();
    if resp.error_page {
        resp = error_response(cfg, host, handlers, conn, head, resp, &out);
    }
    Ok((resp, out))
}

#[allow(clippy::too_many_arguments)] // the request's parts, passed through as they are
pub(crate) fn route(
    cfg: &ServerConfig,
    host: &VirtualHost,
    handlers: &Handlers,
    conn: &ConnInfo,
    head: &RequestHead,
    body: &mut RequestBody<'_>,
    out: &mut Outcome,
    inline: bool,
) -> Result<Response, NeedsWorker> {
    if head.method == Method::TRACE {
        if !host.trace_enable {
            return Ok(Response::error(StatusCode::METHOD_NOT_ALLOWED));
        }
        return Ok(trace_echo(head));
    }
    if head.method == Method::CONNECT {
        return Ok(Response::error(StatusCode::METHOD_NOT_ALLOWED));
    }
    if head.path == "*" {
        // OPTIONS * (the parser only accepts `*` with OPTIONS).
        return Ok(options_response(host));
    }
    let uri_path = match uri::decode_path(&head.path) {
        Ok(p) => p,
        Err(UriError::BadRequest) => return Ok(Response::error(StatusCode::BAD_REQUEST)),
        Err(UriError::NotFound) => return Ok(Response::error(StatusCode::NOT_FOUND)),
    };
    out.uri_path = uri_path.clone();

    if let Some(r) = redirect_for(host, &uri_path, head.query.as_deref()) {
        return Ok(r);
    }

    let (filename, url_prefix, alias_handler) = map_to_file(host, &uri_path);
    out.filename = Some(filename.clone());
    let dir = merged_dir_config(host, &filename, &uri_path);

    if !authorized(&dir, conn, head) {
        crate::log::log(
            "authz_core",
            Level::Error,
            Some(conn.client),
            &format!(
                "AH01630: client denied by server configuration: {}",
                filename.display()
            ),
        );
        return Ok(Response::error(StatusCode::FORBIDDEN));
    }

    // mod_alias's fixup: Redirect inside <Location>/<Directory>.
    if let Some((status, target)) = dir.section_redirect(&uri_path, head.query.as_deref()) {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::FOUND);
        return Ok(match target {
            Some(t) if t.starts_with('/') => Response::redirect(
                status,
                &crate::modules::static_files::absolute_url_for(cfg, host, conn, head, &t),
            ),
            Some(t) => Response::redirect(status, &t),
            None => Response::error(status),
        });
    }

    let handler_name = crate::modules::proxy::handler_for(host, &uri_path)
        .or_else(|| choose_handler(&dir, &filename, alias_handler.as_deref()));
    let handler = match handler_name.as_deref() {
        Some(name) => match handlers.find(name) {
            Some(h) => h.clone(),
            None => {
                if alias_handler.is_some() || name == "cgi-script" {
                    // A script area whose handler rhttpd does not have: never serve
                    // the script source.
                    crate::log::log(
                        "core",
                        Level::Error,
                        Some(conn.client),
                        &format!(
                            "AH00130: handler '{name}' not found for: {}",
                            filename.display()
                        ),
                    );
                    return Ok(Response::error(StatusCode::FORBIDDEN));
                }
                handlers.default.clone()
            }
        },
        None => handlers.default.clone(),
    };
    let is_default = Arc::ptr_eq(&handler, &handlers.default);

    if is_default {
        let root = file_root(host, &uri_path);
        if !check_symlinks(&root, &filename, dir.options()) {
            crate::log::log(
                "core",
                Level::Error,
                Some(conn.client),
                &format!(
                    "AH00037: Symbolic link not allowed or link target not accessible: {}",
                    filename.display()
                ),
            );
            return Ok(Response::error(StatusCode::FORBIDDEN));
        }
        if head.method == Method::OPTIONS {
            return Ok(options_response(host));
        }
    }

    let req = Request {
        head,
        conn,
        server: cfg,
        vhost: host,
        dir: &dir,
        uri_path,
        filename: Some(filename),
        url_prefix,
    };
    if inline && handler.may_block() {
        return Err(NeedsWorker);
    }
    let resp = handler.handle(&req, body);
    if resp.status == StatusCode::NOT_FOUND && is_default {
        crate::log::log(
            "core",
            Level::Info,
            Some(conn.client),
            &format!(
                "AH00128: File does not exist: {}",
                req.filename.as_deref().unwrap_or(Path::new("")).display()
            ),
        );
    }
    Ok(resp)
}

/// `OPTIONS` answered by the core: `Allow` in the order Apache 2.4's default handler
/// prints it (`GET,POST,OPTIONS,HEAD[,TRACE]`), as for 405/501 from the static handler.
fn options_response(host: &VirtualHost) -> Response {
    let allow = crate::modules::static_files::allow_header(host.trace_enable);
    Response::new(StatusCode::OK, Body::Empty).header(ALLOW, allow)
}

fn trace_echo(head: &RequestHead) -> Response {
    let mut text = format!("{}\r\n", head.request_line);
    for (k, v) in &head.headers {
        text.push_str(k.as_str());
        text.push_str(": ");
        text.push_str(&String::from_utf8_lossy(v.as_bytes()));
        text.push_str("\r\n");
    }
    text.push_str("\r\n");
    Response::new(StatusCode::OK, Body::Bytes(Bytes::from(text)))
        .header(CONTENT_TYPE, "message/http")
}

/// A URL prefix match on path-segment boundaries (`/foo` matches `/foo` and `/foo/x`,
/// not `/foobar`; `/foo/` matches only below `/foo/`). Returns the remainder.
fn prefix_match<'a>(prefix: &str, path: &'a str) -> Option<&'a str> {
    let rest = path.strip_prefix(prefix)?;
    if prefix.ends_with('/') || rest.is_empty() || rest.starts_with('/') {
        Some(rest)
    } else {
        None
    }
}

fn redirect_for(host: &VirtualHost, uri_path: &str, query: Option<&str>) -> Option<Response> {
    for r in &host.redirects {
        let Some(rest) = prefix_match(&r.url, uri_path) else {
            continue;
        };
        let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::FOUND);
        return Some(match &r.target {
            Some(t) => {
                let mut loc = format!("{t}{}", uri::encode_path(rest));
                if let Some(q) = query {
                    loc.push('?');
                    loc.push_str(q);
                }
                Response::redirect(status, &loc)
            }
            None => Response::error(status),
        });
    }
    None
}

/// Alias/ScriptAlias/DocumentRoot mapping: (file, URL prefix replaced, alias handler).
pub(crate) fn map_to_file(host: &VirtualHost, uri_path: &str) -> (PathBuf, String, Option<String>) {
    for a in &host.aliases {
        if let Some(rest) = prefix_match(&a.url, uri_path) {
            let mut p = a.path.to_string_lossy().into_owned();
            if !rest.is_empty() && !p.ends_with('/') && !rest.starts_with('/') {
                p.push('/');
            }
            p.push_str(rest);
            return (PathBuf::from(p), a.url.clone(), a.handler.clone());
        }
    }
    let mut p = host.document_root.to_string_lossy().into_owned();
    p.push_str(uri_path);
    (PathBuf::from(p), String::new(), None)
}

/// The directory below which symlinks are checked for this URL.
fn file_root(host: &VirtualHost, uri_path: &str) -> PathBuf {
    for a in &host.aliases {
        if prefix_match(&a.url, uri_path).is_some() {
            return a.path.clone();
        }
    }
    host.document_root.clone()
}

/// Does a non-regex `<Directory>` pattern apply to `path` (the pattern or below it)?
fn directory_matches(pattern: &str, path: &str) -> bool {
    if pattern == "/" {
        return true;
    }
    let pat: Vec<&str> = pattern.split('/').collect();
    let comps: Vec<&str> = path.split('/').collect();
    if comps.len() < pat.len() {
        return false;
    }
    pat.iter()
        .zip(comps.iter())
        .all(|(p, c)| conf::vhost::wildcard_match(p, c) && (p.contains(['*', '?']) || p == c))
}

/// `<Files>` (`prefix_mode` false: the whole base name) and `<Location>` (`prefix_mode`
/// true) matching. For `<Location>`, as Apache 2.4's `ap_location_walk`: a wildcard
/// pattern must match the whole URL path with `*`/`?` not crossing `/`
/// (`apr_fnmatch(APR_FNM_PATHNAME)`); a plain one is a case-sensitive prefix that ends
/// on a segment boundary (`/private` covers `/private`, `/private/x`, not `/privateer`).
fn pattern_matches(p: &PathPattern, text: &str, prefix_mode: bool) -> bool {
    match p {
        PathPattern::Regex(re) => re.is_match(text),
        PathPattern::Wildcard(w) => {
            if prefix_mode {
                if w.contains(['*', '?', '[']) {
                    fnmatch_pathname(w.as_bytes(), text.as_bytes())
                } else {
                    location_prefix_matches(w, text)
                }
            } else {
                conf::vhost::wildcard_match(w, text)
            }
        }
    }
}

/// A plain `<Location>` path: a prefix of the URL path ending at a `/` or at its end.
fn location_prefix_matches(prefix: &str, path: &str) -> bool {
    match path.strip_prefix(prefix) {
        Some(rest) => prefix.ends_with('/') || rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

/// `fnmatch(3)` with `FNM_PATHNAME`, case-sensitive: `*` and `?` never match `/`,
/// `[...]` (with `!`/`^` negation and ranges) matches one non-`/` byte.
fn fnmatch_pathname(p: &[u8], t: &[u8]) -> bool {
    match p.split_first() {
        None => t.is_empty(),
        Some((b'*', rest)) => {
            let rest = {
                let mut r = rest;
                while let Some((b'*', more)) = r.split_first() {
                    r = more;
                }
                r
            };
            let mut i = 0;
            loop {
                if fnmatch_pathname(rest, &t[i..]) {
                    return true;
                }
                if i >= t.len() || t[i] == b'/' {
                    return false;
                }
                i += 1;
            }
        }
        Some((b'?', rest)) => match t.split_first() {
            Some((c, tr)) if *c != b'/' => fnmatch_pathname(rest, tr),
            _ => false,
        },
        Some((b'[', rest)) => {
            let Some((c, tr)) = t.split_first() else {
                return false;
            };
            let (negate, mut body) = match rest.split_first() {
                Some((b'!' | b'^', b)) => (true, b),
                _ => (false, rest),
            };
            let mut matched = false;
            let mut first = true;
            loop {
                match body {
                    // No closing bracket: `[` is a literal.
                    [] => return *c == b'[' && fnmatch_pathname(rest, tr),
                    [b']', after @ ..] if !first => {
                        return *c != b'/' && matched != negate && fnmatch_pathname(after, tr);
                    }
                    [lo, b'-', hi, after @ ..] if *hi != b']' => {
                        matched |= (*lo..=*hi).contains(c);
                        body = after;
                    }
                    [x, after @ ..] => {
                        matched |= x == c;
                        body = after;
                    }
                }
                first = false;
            }
        }
        Some((b'\\', [esc, rest @ ..])) => {
            t.first() == Some(esc) && fnmatch_pathname(rest, &t[1..])
        }
        Some((x, rest)) => t.first() == Some(x) && fnmatch_pathname(rest, &t[1..]),
    }
}

/// The per-directory configuration for a file and URL (Apache's merge order).
pub fn merged_dir_config(host: &VirtualHost, filename: &Path, uri_path: &str) -> DirConfig {
    let mut dc = host.base_dir.clone();
    let fname = filename.to_string_lossy();
    // <Directory> (non-regex), fewest components first; stable for equal depth.
    let mut dirs: Vec<(usize, &conf::DirSection)> = host
        .sections
        .iter()
        .filter_map(|s| match &s.matcher {
            SectionMatch::Directory(PathPattern::Wildcard(w)) => {
                directory_matches(w, &fname).then(|| (w.matches('/').count(), s))
            }
            _ => None,
        })
        .collect();
    dirs.sort_by_key(|(depth, _)| *depth);
    for (_, s) in dirs {
        dc = dc.merge(&s.config);
    }
    // <DirectoryMatch>: matched against the directory of the file.
    let dir_of = filename
        .parent()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    for s in &host.sections {
        if let SectionMatch::Directory(PathPattern::Regex(re)) = &s.matcher
            && (re.is_match(&dir_of) || re.is_match(&fname))
        {
            dc = dc.merge(&s.config);
        }
    }
    let base = filename
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for s in &host.sections {
        if let SectionMatch::Files(p) = &s.matcher
            && pattern_matches(p, &base, false)
        {
            dc = dc.merge(&s.config);
        }
    }
    for s in &host.sections {
        if let SectionMatch::Location(p) = &s.matcher
            && pattern_matches(p, uri_path, true)
        {
            dc = dc.merge(&s.config);
        }
    }
    dc
}

fn choose_handler(dir: &DirConfig, filename: &Path, alias_handler: Option<&str>) -> Option<String> {
    if let Some(h) = &dir.set_handler {
        return (!h.is_empty()).then(|| h.clone());
    }
    if let Some(h) = alias_handler {
        return Some(h.to_string());
    }
    let name = filename.file_name()?.to_string_lossy().to_ascii_lowercase();
    // mod_mime: every extension after the first dot is looked at; the last that names
    // a handler wins.
    let mut found = None;
    for ext in name.split('.').skip(1) {
        if let Some(h) = dir.add_handlers.get(ext) {
            found = Some(h.clone());
        }
    }
    found
}

/// Apache's canned error text for a status (http_protocol.c, get_canned_error_string).
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_matching_respects_segments() {
        assert_eq!(prefix_match("/foo", "/foo"), Some(""));
        assert_eq!(prefix_match("/foo", "/foo/x"), Some("/x"));
        assert_eq!(prefix_match("/foo", "/foobar"), None);
        assert_eq!(prefix_match("/foo/", "/foo"), None);
        assert_eq!(prefix_match("/foo/", "/foo/x"), Some("x"));
    }

    #[test]
    fn directory_patterns() {
        assert!(directory_matches("/var/www", "/var/www/index.html"));
        assert!(directory_matches("/var/www", "/var/www"));
        assert!(!directory_matches("/var/www", "/var/wwwx/a"));
        assert!(directory_matches("/var/*/htdocs", "/var/site/htdocs/a"));
        assert!(directory_matches("/", "/anything"));
    }

    #[test]
    fn location_matching_is_apache_s() {
        let w = |s: &str| PathPattern::Wildcard(s.to_string());
        assert!(pattern_matches(&w("/private"), "/private", true));
        assert!(pattern_matches(&w("/private"), "/private/x.txt", true));
        assert!(!pattern_matches(&w("/private"), "/privateer.txt", true));
        assert!(!pattern_matches(&w("/private"), "/Private/x", true));
        assert!(pattern_matches(&w("/p2/"), "/p2/z.txt", true));
        assert!(!pattern_matches(&w("/p2/"), "/p2", true));
        assert!(pattern_matches(&w("/"), "/anything", true));
        // Wildcards: the whole path, `*` not crossing `/`.
        assert!(pattern_matches(&w("/w*"), "/w1x.txt", true));
        assert!(pattern_matches(&w("/w*"), "/w1", true));
        assert!(!pattern_matches(&w("/w*"), "/w1/w.txt", true));
        assert!(pattern_matches(&w("/w*/*"), "/w1/w.txt", true));
        assert!(pattern_matches(&w("/a?c"), "/abc", true));
        assert!(!pattern_matches(&w("/a?c"), "/a/c", true));
        assert!(pattern_matches(&w("/[a-c]x"), "/bx", true));
        assert!(!pattern_matches(&w("/[!a-c]x"), "/bx", true));
        assert!(pattern_matches(&w("/[!a-c]x"), "/dx", true));
        assert!(pattern_matches(&w("/x[*"), "/x[yz", true));
    }
}
