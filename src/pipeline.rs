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

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE, LOCATION};
use rhttpd_http::{HeaderValue, Method, RequestHead, StatusCode};

use crate::conf::{
    self, DirConfig, ErrorDocument, PathPattern, RequireRule, SectionMatch, ServerConfig,
    ServerSignature, VirtualHost,
};
use crate::handler::{Body, ConnInfo, Handler, Request, RequestBody, Response};
use crate::log::Level;
use crate::modules::static_files::{StaticFiles, check_symlinks};
use crate::uri::{self, UriError};

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
fn route(
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
fn map_to_file(host: &VirtualHost, uri_path: &str) -> (PathBuf, String, Option<String>) {
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

#[derive(Clone, Copy, PartialEq, Eq)]
enum Authz {
    Granted,
    Denied,
    Neutral,
}

fn ip_in(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits.min(32))
            };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits.min(128))
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

fn eval_rule(rule: &RequireRule, conn: &ConnInfo, head: &RequestHead) -> Authz {
    let yes = |b: bool| if b { Authz::Granted } else { Authz::Denied };
    match rule {
        RequireRule::All(g) => yes(*g),
        RequireRule::Ip(nets) => yes(nets.iter().any(|(n, b)| ip_in(conn.client.ip(), *n, *b))),
        RequireRule::Local => {
            let ip = conn.client.ip();
            yes(ip.is_loopback()
                || ip == conn.local.ip()
                || ip_in(ip, IpAddr::from([127, 0, 0, 0]), 8))
        }
        RequireRule::Host(names) => {
            let name = rhttpd_sys::reverse_lookup_confirmed(conn.client.ip());
            yes(name.is_some_and(|n| {
                let n = n.to_ascii_lowercase();
                names.iter().any(|want| {
                    n == *want
                        || (n.ends_with(want.as_str())
                            && (want.starts_with('.') || n[..n.len() - want.len()].ends_with('.')))
                })
            }))
        }
        RequireRule::Method(ms) => yes(ms.iter().any(|m| m == head.method.as_str())),
        RequireRule::Not(inner) => match eval_rule(inner, conn, head) {
            Authz::Granted => Authz::Denied,
            _ => Authz::Neutral,
        },
        RequireRule::AllOf(members) => {
            let rs: Vec<Authz> = members.iter().map(|m| eval_rule(m, conn, head)).collect();
            if rs.contains(&Authz::Denied) {
                Authz::Denied
            } else if rs.contains(&Authz::Granted) {
                Authz::Granted
            } else {
                Authz::Neutral
            }
        }
        RequireRule::AnyOf(members) => any_of(members, conn, head),
        RequireRule::NoneOf(members) => {
            if members
                .iter()
                .any(|m| eval_rule(m, conn, head) == Authz::Granted)
            {
                Authz::Denied
            } else {
                Authz::Neutral
            }
        }
    }
}

fn any_of(members: &[RequireRule], conn: &ConnInfo, head: &RequestHead) -> Authz {
    let rs: Vec<Authz> = members.iter().map(|m| eval_rule(m, conn, head)).collect();
    if rs.contains(&Authz::Granted) {
        Authz::Granted
    } else if rs.contains(&Authz::Denied) {
        Authz::Denied
    } else {
        Authz::Neutral
    }
}

/// No `Require` anywhere → granted (Apache 2.4 without authz configuration).
fn authorized(dir: &DirConfig, conn: &ConnInfo, head: &RequestHead) -> bool {
    match &dir.require {
        None => true,
        Some(r) => any_of(&r.rules, conn, head) == Authz::Granted,
    }
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
fn canned_text(status: StatusCode, method: &str, location: Option<&str>) -> String {
    let esc = |s: &str| html_escape(s);
    match status.as_u16() {
        301 | 302 | 303 | 307 | 308 => format!(
            "<p>The document has moved <a href=\"{}\">here</a>.</p>\n",
            esc(location.unwrap_or(""))
        ),
        400 => "<p>Your browser sent a request that this server could not understand.<br />\n</p>\n".into(),
        401 => "<p>This server could not verify that you\nare authorized to access the document\nrequested.  Either you supplied the wrong\ncredentials (e.g., bad password), or your\nbrowser doesn't understand how to supply\nthe credentials required.</p>\n".into(),
        403 => "<p>You don't have permission to access this resource.</p>\n".into(),
        404 => "<p>The requested URL was not found on this server.</p>\n".into(),
        405 => format!(
            "<p>The requested method {} is not allowed for this URL.</p>\n",
            esc(method)
        ),
        408 => "<p>Server timeout waiting for the HTTP request from the client.</p>\n".into(),
        410 => "<p>The requested resource is no longer available on this server and there is no forwarding address.\nPlease remove all references to this resource.</p>\n".into(),
        411 => format!(
            "<p>A request of the requested method {} requires a valid Content-length.<br />\n</p>\n",
            esc(method)
        ),
        412 => "<p>The precondition on the request for this URL evaluated to false.</p>\n".into(),
        413 => format!(
            "The requested resource does not allow request data with {} requests, or the amount of data provided in\nthe request exceeds the capacity limit.\n",
            esc(method)
        ),
        414 => "<p>The requested URL's length exceeds the capacity\nlimit for this server.<br />\n</p>\n".into(),
        415 => "<p>The supplied request data is not in a format\nacceptable for processing by this resource.</p>\n".into(),
        416 => "<p>None of the range-specifier values in the Range\nrequest-header field overlap the current extent\nof the selected resource.</p>\n".into(),
        417 => "<p>The expectation given in the Expect request-header\nfield could not be met by this server.\nThe client sent<pre>\n    Expect: 100-continue\n</pre>\n</p><p>Only the 100-continue expectation is supported.</p>\n".into(),
        500 => "<p>The server encountered an internal error or\nmisconfiguration and was unable to complete\nyour request.</p>\n<p>Please contact the server administrator at \n you to inform them of the time this error occurred,\n and the actions you performed just before this error.</p>\n<p>More information about this error may be available\nin the server error log.</p>\n".into(),
        501 => format!(
            "<p>{} not supported for current URL.<br />\n</p>\n",
            esc(method)
        ),
        502 => "<p>The proxy server received an invalid\nresponse from an upstream server.<br />\n</p>\n".into(),
        503 => "<p>The server is temporarily unable to service your\nrequest due to maintenance downtime or capacity\nproblems. Please try again later.</p>\n".into(),
        504 => "<p>The gateway did not receive a timely response\nfrom the upstream server or application.</p>\n".into(),
        505 => "<p>The server encountered an internal error or\nmisconfiguration and was unable to complete\nyour request.</p>\n".into(),
        _ => String::new(),
    }
}

pub fn html_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '"' => o.push_str("&quot;"),
            _ => o.push(c),
        }
    }
    o
}

/// Apache's built-in error page (with the server signature when enabled).
#[allow(clippy::too_many_arguments)] // each argument is one fact of the page; a struct would only rename them
pub fn error_page(
    cfg: &ServerConfig,
    host: &VirtualHost,
    sig: ServerSignature,
    status: StatusCode,
    method: &str,
    host_header: Option<&str>,
    location: Option<&str>,
    local_port: u16,
) -> Bytes {
    let reason = rhttpd_http::reason_phrase(status);
    let mut page = format!(
        "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>{} {}</title>\n</head><body>\n<h1>{}</h1>\n{}",
        status.as_u16(),
        reason,
        reason,
        canned_text(status, method, location)
    );
    if sig != ServerSignature::Off {
        let name = host
            .server_name
            .clone()
            .or_else(|| host_header.map(str::to_string))
            .unwrap_or_else(|| "localhost".into());
        let banner = server_banner(cfg.server_tokens);
        let server = match (sig, &host.server_admin) {
            (ServerSignature::Email, Some(admin)) => {
                format!(
                    "<a href=\"mailto:{}\">{}</a>",
                    html_escape(admin),
                    html_escape(&name)
                )
            }
            _ => html_escape(&name),
        };
        page.push_str(&format!(
            "<hr>\n<address>{banner} Server at {server} Port {local_port}</address>\n"
        ));
    }
    page.push_str("</body></html>\n");
    Bytes::from(page)
}

fn html_response(status: StatusCode, page: Bytes) -> Response {
    let mut r = Response::new(status, Body::Bytes(page));
    r.headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=iso-8859-1"),
    );
    r
}

/// The built-in error page for a request that could not be parsed (no ErrorDocument:
/// there is no URL to map).
pub fn bare_error(cfg: &ServerConfig, conn: &ConnInfo, status: StatusCode) -> Response {
    let host = conf::vhost::host(cfg, conf::vhost::select(cfg, conn.local, None));
    let page = error_page(
        cfg,
        host,
        host.base_dir.server_signature(),
        status,
        "GET",
        None,
        None,
        conn.local.port(),
    );
    html_response(status, page)
}

/// The error response for a request whose body failed (413, 400 ...), with the
/// request's ErrorDocument if it has one.
pub fn error_response_for(
    cfg: &ServerConfig,
    handlers: &Handlers,
    conn: &ConnInfo,
    head: &RequestHead,
    status: StatusCode,
) -> Response {
    let sel = conf::vhost::select(cfg, conn.local, head.host.as_deref());
    let host = conf::vhost::host(cfg, sel);
    let mut out = Outcome {
        vhost: sel,
        ..Outcome::default()
    };
    if let Ok(p) = uri::decode_path(&head.path) {
        out.filename = Some(map_to_file(host, &p).0);
        out.uri_path = p;
    }
    error_response(
        cfg,
        host,
        handlers,
        conn,
        head,
        Response::error(status),
        &out,
    )
}

fn error_response(
    cfg: &ServerConfig,
    host: &VirtualHost,
    handlers: &Handlers,
    conn: &ConnInfo,
    head: &RequestHead,
    resp: Response,
    out: &Outcome,
) -> Response {
    let status = resp.status;
    let dir = match &out.filename {
        Some(f) => merged_dir_config(host, f, &out.uri_path),
        None => host.base_dir.clone(),
    };
    let location = resp
        .headers
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let method = head.method.as_str();
    let hh = head.host.as_deref();
    let port = conn.local.port();
    let sig = dir.server_signature();
    let html = |body: Bytes| {
        let mut r = html_response(status, body);
        for (k, v) in resp.headers.iter() {
            if k != CONTENT_TYPE {
                r.headers.insert(k.clone(), v.clone());
            }
        }
        r
    };
    match dir.error_documents.get(&status.as_u16()) {
        Some(ErrorDocument::Text(t)) => html(Bytes::from(t.clone())),
        Some(ErrorDocument::Remote(url)) => {
            let mut r = Response::redirect(StatusCode::FOUND, url);
            let page = error_page(
                cfg,
                host,
                sig,
                StatusCode::FOUND,
                method,
                hh,
                Some(url),
                port,
            );
            r.body = Body::Bytes(page);
            r.error_page = false;
            r.headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=iso-8859-1"),
            );
            r
        }
        Some(ErrorDocument::Local(path)) => {
            // Internal redirect: serve the local document with the original status.
            let mut sub = head.clone();
            sub.method = Method::GET;
            let (p, q) = match path.split_once('?') {
                Some((p, q)) => (p.to_string(), Some(q.to_string())),
                None => (path.clone(), None),
            };
            sub.path = p;
            sub.query = q;
            sub.headers.remove(http::header::RANGE);
            sub.headers.remove(http::header::IF_MODIFIED_SINCE);
            sub.headers.remove(http::header::IF_NONE_MATCH);
            let mut none = std::io::empty();
            let mut sub_out = Outcome::default();
            let inner = match route(
                cfg,
                host,
                handlers,
                conn,
                &sub,
                &mut none,
                &mut sub_out,
                false,
            ) {
                Ok(r) => r,
                Err(NeedsWorker) => Response::error(StatusCode::INTERNAL_SERVER_ERROR),
            };
            if inner.error_page || !inner.status.is_success() {
                // The error document itself failed: Apache appends a note; we fall back
                // to the built-in page.
                html(error_page(
                    cfg,
                    host,
                    sig,
                    status,
                    method,
                    hh,
                    location.as_deref(),
                    port,
                ))
            } else {
                let mut r = inner;
                r.status = status;
                r.headers.remove(http::header::ETAG);
                r.headers.remove(http::header::LAST_MODIFIED);
                r.headers.remove(http::header::ACCEPT_RANGES);
                r
            }
        }
        _ => html(error_page(
            cfg,
            host,
            sig,
            status,
            method,
            hh,
            location.as_deref(),
            port,
        )),
    }
}

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

    #[test]
    fn ip_networks() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(ip_in(ip("10.1.2.3"), ip("10.0.0.0"), 8));
        assert!(!ip_in(ip("11.1.2.3"), ip("10.0.0.0"), 8));
        assert!(ip_in(ip("::ffff:127.0.0.1"), ip("127.0.0.1"), 32));
        assert!(ip_in(ip("::1"), ip("::1"), 128));
        assert!(ip_in(ip("1.2.3.4"), ip("0.0.0.0"), 0));
    }
}
