//! The request core: from a parsed request head to a finished [`Response`], the same
//! under every MPM. Steps, in Apache's order:
//!
//! 1. virtual host by local address and Host (`conf::vhost`);
//! 2. method screening (TRACE, `OPTIONS *`, CONNECT);
//! 3. URL decoding and normalisation (`uri`), 400/404 on bad paths;
//! 4. mod_alias: `Redirect*`/`RedirectMatch`, then `Alias*`/`ScriptAlias*`/DocumentRoot
//!    mapping (`alias.rs`);
//! 5. merge of the per-directory configuration: server/vhost base, `<Directory>`
//!    (shortest first), `<DirectoryMatch>`, `<Files>`/`<FilesMatch>`, `<Location>`/
//!    `<LocationMatch>`;
//! 6. authorisation (`Require`), symlink policy; mod_dir's DirectoryIndex and
//!    FallbackResource (`dir_fixup.rs`);
//! 7. handler choice (a handler that claims the URL, e.g. mod_proxy's ProxyPass; then
//!    `SetHandler`, `AddHandler`, ScriptAlias, the default handler) and run;
//! 8. error documents (`ErrorDocument` or Apache's built-in pages);
//! 9. mod_expires and mod_headers on the finished response (`modules::headers`; its
//!    `RequestHeader` lines run right after the head is read and before the handler).
//!
//! Handlers are reached only through the registry ([`Handlers`], built by `Site::new`):
//! this module names no handler module. Mapping and the section merge are in `mapping.rs`,
//! `ErrorDocument` in `error_documents.rs`; authorisation and the symlink policy in
//! `authz.rs`, the built-in error pages in `error_pages.rs`.

mod alias;
mod dir_fixup;
mod error_documents;
mod htaccess;
mod mapping;
mod rewriting;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE};
use rhttpd_http::{Method, RequestHead, StatusCode};

use crate::authz::{Access, Who, access, check_symlinks, compat_access};
use crate::conf::{DirConfig, ServerConfig, VirtualHost};
use crate::handler::{Body, ConnInfo, Request, RequestBody, Response, allow_header};
use crate::log::Level;
use crate::uri::{self, UriError};

pub use crate::error_pages::{bare_error, error_page, html_escape, server_banner};
pub use crate::handler::Handlers;
use error_documents::error_response;
pub use error_documents::error_response_for;
pub use mapping::merged_dir_config;
use mapping::{file_root, map_to_file};

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
    /// The merged per-directory configuration, once the URL was mapped.
    pub dir: Option<Arc<DirConfig>>,
    /// The request's notes (`Header note`, `%{NAME}n`).
    pub notes: crate::modules::headers::Notes,
    /// Variables mod_setenvif's rules set or unset (joined into `dir`'s once mapped).
    pub setenv: crate::modules::setenvif::Overlay,
    /// mod_setenvif's special variables the HTTP/1 connection honours.
    pub specials: crate::modules::setenvif::Specials,
    /// The user authentication named (`%u`, `REMOTE_USER`): set once the client gave a
    /// name, whether or not the password matched.
    pub user: Option<String>,
    /// `Set-Cookie` values of mod_rewrite's `[CO=]` flags.
    pub rewrite_cookies: Vec<String>,
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
    let sel = crate::conf::vhost::select(cfg, conn.local, head.host.as_deref());
    let host = crate::conf::vhost::host(cfg, sel);
    // What this request logs goes to its host's ErrorLog at its LogLevel.
    let _error_log = host.request_error_log.as_ref().map(|l| l.enter());
    htaccess::new_request();
    let started = std::time::SystemTime::now();
    let mut out = Outcome {
        vhost: sel,
        ..Outcome::default()
    };
    let early = crate::modules::headers::early_request(&host.base_dir, conn, head, &mut out.notes);
    let head = early.as_ref().unwrap_or(head);
    // mod_setenvif's post-read-request rules (after mod_headers' early ones, as there).
    if !host.base_dir.setenvif.rules.is_empty() {
        let uri = uri::decode_path_with(&head.path, host.merge_slashes).unwrap_or_default();
        let req = crate::modules::setenvif::Request {
            head,
            conn,
            uri: &uri,
        };
        let rules = &host.base_dir.setenvif.rules;
        crate::modules::setenvif::apply(rules, true, &req, None, &mut out.setenv);
        out.specials = crate::modules::setenvif::specials(&out.setenv, None);
    }
    let mut resp = match tls_mismatch(cfg, conn, head, sel) {
        Some(r) => r,
        None => route(cfg, host, handlers, conn, head, body, &mut out, inline)?,
    };
    out.original_status = resp.status.as_u16();
    let error = resp.error_page;
    if resp.error_page {
        resp = error_response(cfg, host, handlers, conn, head, resp, &out);
    }
    for c in &out.rewrite_cookies {
        if let Ok(v) = http::HeaderValue::from_str(c) {
            resp.headers.append(http::header::SET_COOKIE, v);
        }
    }
    let dir = out.dir.as_deref().unwrap_or(&host.base_dir);
    let file = out.filename.as_deref();
    crate::modules::headers::finish_response(
        &cfg.mime,
        dir,
        conn,
        head,
        file,
        error,
        started,
        &mut out.notes,
        &mut resp,
    );
    crate::modules::deflate::apply(dir, head, file, &mut resp);
    Ok((resp, out))
}

/// mod_ssl's checks before a request on a TLS port is served (`ssl_hook_ReadReq`): plain
/// HTTP spoken to it gets 400; without SNI, `SSLStrictSNIVHostCheck on` refuses a
/// name-based host (403, AH02033); a Host naming a host whose TLS setup differs from
/// the one the SNI name chose gets 421 (AH02032).
fn tls_mismatch(
    cfg: &ServerConfig,
    conn: &ConnInfo,
    head: &RequestHead,
    sel: Option<usize>,
) -> Option<Response> {
    let host = crate::conf::vhost::host(cfg, sel);
    if conn.plain_http_on_tls {
        // Apache's 400 page with mod_ssl's note in it.
        let page = crate::error_pages::error_page(
            cfg,
            host,
            host.base_dir.server_signature(),
            StatusCode::BAD_REQUEST,
            head.method.as_str(),
            head.host.as_deref(),
            None,
            conn.local.port(),
        );
        let text = String::from_utf8_lossy(&page).replacen(
            "understand.<br />\n",
            "understand.<br />\nReason: You're speaking plain HTTP to an SSL-enabled server port.<br />\n \
             Instead use the HTTPS scheme to access this URL, please.<br />\n",
            1,
        );
        // 400 ends the connection (`status_drops_connection`).
        return Some(crate::error_pages::html_response(
            StatusCode::BAD_REQUEST,
            Bytes::from(text),
        ));
    }
    let tls = conn.tls.as_ref()?;
    let handshake_host = crate::conf::vhost::host(cfg, tls.host);
    match &tls.sni {
        None => {
            let name_based = crate::conf::vhost::candidates(cfg, conn.local)
                .nth(1)
                .is_some();
            if name_based && (host.ssl.strict_sni || handshake_host.ssl.strict_sni) {
                crate::log::log(
                    "ssl",
                    Level::Error,
                    Some(conn.client),
                    "AH02033: No hostname was provided via SNI for a name based virtual host",
                );
                return Some(Response::error(StatusCode::FORBIDDEN));
            }
        }
        Some(sni) => {
            if sel != tls.host && !handshake_host.ssl.compatible(&host.ssl) {
                crate::log::log(
                    "ssl",
                    Level::Error,
                    Some(conn.client),
                    &format!(
                        "AH02032: Hostname {sni} provided via SNI and hostname {} provided via HTTP have no compatible SSL setup",
                        head.host.as_deref().unwrap_or("")
                    ),
                );
                return Some(Response::error(StatusCode::MISDIRECTED_REQUEST));
            }
        }
    }
    None
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
    if host.registered_methods_only && !registered_method(head.method.as_str()) {
        crate::log::log(
            "core",
            crate::log::Level::Info,
            Some(conn.client),
            &format!(
                "AH02418: HTTP Request Line; Unrecognized HTTP method: '{}'",
                head.method
            ),
        );
        return Ok(Response::error(StatusCode::NOT_IMPLEMENTED));
    }
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
    let uri_path = match uri::decode_path_with(&head.path, host.merge_slashes) {
        Ok(p) => p,
        Err(UriError::BadRequest) => return Ok(Response::error(StatusCode::BAD_REQUEST)),
        Err(UriError::NotFound) => return Ok(Response::error(StatusCode::NOT_FOUND)),
    };
    out.uri_path = uri_path;
    // mod_rewrite's server/vhost rules (translate_name, before mod_alias and mod_proxy).
    let rewritten = match rewriting::translate(cfg, host, conn, head, out, inline)? {
        Ok(t) => t,
        Err(resp) => return Ok(resp),
    };
    let head = rewritten.head.as_ref().unwrap_or(head);
    let uri_path: &str = &out.uri_path;

    if !rewritten.took_url()
        && let Some((status, target)) =
            alias::translate_redirect(host, uri_path, head.query.as_deref())
    {
        return Ok(alias::redirect_response(
            cfg, host, conn, head, status, target,
        ));
    }

    let (filename, url_prefix, alias_handler) = match &rewritten.file {
        Some(f) => (f.clone(), String::new(), None),
        None => map_to_file(host, uri_path),
    };
    let mut dir = match mapping::dir_config_for(cfg, out.vhost, host, &filename, uri_path) {
        Ok(dir) => dir,
        Err(e) => {
            // Apache's ap_parse_htaccess failure: the request ends there.
            crate::log::log("core", Level::Alert, Some(conn.client), &e.message);
            out.filename = Some(filename);
            return Ok(Response::error(e.status));
        }
    };
    if !out.setenv.is_empty() || dir.setenvif.rules.iter().any(|r| !r.server_level) {
        // mod_setenvif's fixup: the sections' rules, then the variables join mod_env's.
        let req = crate::modules::setenvif::Request {
            head,
            conn,
            uri: uri_path,
        };
        let rules = &dir.setenvif.rules;
        crate::modules::setenvif::apply(rules, false, &req, Some(&dir), &mut out.setenv);
        dir = crate::modules::setenvif::with_overlay(dir, &out.setenv);
    }
    if !dir.env.is_empty() {
        // The special variables may come from mod_env too (`SetEnv nokeepalive`).
        out.specials = crate::modules::setenvif::specials(&Vec::new(), Some(&dir));
    }
    let dir = rewritten.apply(dir);
    // <If>/<ElseIf>/<Else>: decided now the walk is done (Apache's ap_if_walk).
    let dir = if dir.ifs.is_empty() {
        dir
    } else {
        let decided = {
            let ctx = crate::modules::expr_request::ExprRequest::new(head, conn)
                .with_host(host, cfg.server_tokens)
                .with_url_prefix(&url_prefix)
                .with_filename(&filename)
                .with_uri(uri_path)
                .with_dir(&dir);
            crate::conf::conditional::resolve(&dir, &ctx)
        };
        match decided {
            Ok(Some(d)) => Arc::new(d),
            Ok(None) => dir,
            Err(m) => {
                crate::log::log("core", Level::Error, Some(conn.client), &m);
                out.filename = Some(filename);
                return Ok(Response::error(StatusCode::INTERNAL_SERVER_ERROR));
            }
        }
    };
    out.dir = Some(dir.clone());
    let filename: &Path = out.filename.insert(filename);

    if dir.ssl.require_ssl == Some(true) && conn.tls.is_none() {
        crate::log::log(
            "ssl",
            Level::Error,
            Some(conn.client),
            &format!(
                "AH02219: access to {} failed, reason: SSL connection required",
                filename.display()
            ),
        );
        return Ok(Response::error(StatusCode::FORBIDDEN));
    }

    // mod_access_compat first: with `Satisfy All` its denial is final; with `Satisfy
    // Any` its grant is ("authorized without authentication") and its denial leaves the
    // decision to Require and authentication.
    let compat = compat_access(&dir, conn, head.method.as_str());
    let satisfy_any = dir
        .access_compat
        .for_method(head.method.as_str())
        .satisfy_any
        == Some(true);
    if compat == Some(false) && !satisfy_any {
        crate::log::log(
            "access_compat",
            Level::Error,
            Some(conn.client),
            &format!(
                "AH01797: client denied by server configuration: {}",
                filename.display()
            ),
        );
        return Ok(Response::error(StatusCode::FORBIDDEN));
    }
    let expr_req = crate::modules::expr_request::ExprRequest::new(head, conn)
        .with_host(host, cfg.server_tokens)
        .with_url_prefix(&url_prefix)
        .with_filename(filename)
        .with_uri(uri_path)
        .with_dir(&dir);
    let access_now = if compat == Some(true) && satisfy_any {
        Access::Granted
    } else {
        let who = Who {
            request: Some(&expr_req),
            ..Who::NOBODY
        };
        access(&dir, conn, head, &who)
    };
    match access_now {
        Access::Granted => {}
        Access::Denied => {
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
        Access::NeedUser => {
            if inline {
                // Password hashes (bcrypt) take milliseconds: never on the listener.
                return Err(NeedsWorker);
            }
            if let Some(refused) =
                authenticate_and_authorize(cfg, &dir, conn, head, &expr_req, &mut out.user)
            {
                return Ok(refused);
            }
        }
    }

    // mod_rewrite's per-directory rules (its fixup runs first); a changed URL is an
    // internal redirect: the request runs again for it.
    let step = rewriting::fixup(
        cfg,
        host,
        conn,
        head,
        dir,
        filename,
        uri_path,
        &mut out.setenv,
        &mut out.rewrite_cookies,
        out.user.as_deref(),
        inline,
    )?;
    let dir = match step {
        rewriting::FixupStep::Continue(d) => d,
        rewriting::FixupStep::Respond(r) => return Ok(r),
        rewriting::FixupStep::Redirect(sub) => {
            let Some(_guard) =
                crate::modules::rewrite::enter_redirect(host.limit_internal_recursion, conn)
            else {
                return Ok(Response::error(StatusCode::INTERNAL_SERVER_ERROR));
            };
            return route(cfg, host, handlers, conn, &sub, body, out, inline);
        }
    };
    out.dir = Some(dir.clone());

    // mod_alias's fixup: Redirect inside <Location>/<Directory>.
    if let Some((status, target)) = dir.section_redirect(uri_path, head.query.as_deref()) {
        return Ok(alias::redirect_response(
            cfg, host, conn, head, status, target,
        ));
    }

    // mod_negotiation's MultiViews (its type checker): a file that does not exist is
    // served by the best of its variants, as an internal fast redirect.
    let multiviews = dir.options().multiviews && cfg.loaded_modules.contains(&"negotiation_module");
    if multiviews
        && !uri_path.ends_with('/')
        && !rewritten.took_url()
        && handlers.claiming(host, uri_path).is_none()
        && crate::modules::file_cache::stat(filename)
            .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
    {
        use crate::modules::negotiation::{MultiViews, choice_headers, multiviews};
        match multiviews(cfg, host, &dir, conn, head, filename, &out.setenv) {
            Some(MultiViews::Choice {
                file_name,
                decision,
            }) => {
                let dir_url = &uri_path[..uri_path.rfind('/').map_or(0, |i| i + 1)];
                let url = format!("{dir_url}{file_name}");
                let mut resp = dir_fixup::fast_redirect(conn, head, &url, |sub| {
                    route(cfg, host, handlers, conn, sub, body, out, inline)
                })?;
                choice_headers(&mut resp, &file_name, &decision);
                return Ok(resp);
            }
            Some(MultiViews::Respond(resp)) => return Ok(resp),
            None => {}
        }
    }

    // mod_dir's fixups: DirectoryIndex and FallbackResource (an internal fast redirect).
    let has_variants =
        |file: &Path| multiviews && crate::modules::negotiation::has_variants(cfg, &dir, file);
    if let Some(url) = dir_fixup::target(
        host,
        handlers,
        &dir,
        filename,
        uri_path,
        alias_handler.as_deref(),
        &has_variants,
    ) {
        return dir_fixup::fast_redirect(conn, head, &url, |sub| {
            route(cfg, host, handlers, conn, sub, body, out, inline)
        });
    }

    let claimed = match rewritten.took_url() {
        true => None,
        false => handlers.claiming(host, uri_path),
    };
    let chosen = match claimed {
        Some(h) => Some(h.clone()),
        None => match choose_handler(&dir, filename, alias_handler.as_deref()) {
            Some(name) => match handlers.find(&name) {
                Some(h) => Some(h.clone()),
                None if alias_handler.is_some() || name == "cgi-script" => {
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
                None => handlers.default_handler().cloned(),
            },
            None => handlers.default_handler().cloned(),
        },
    };
    let Some(handler) = chosen else {
        crate::log::log(
            "core",
            Level::Error,
            Some(conn.client),
            &format!(
                "no default handler registered, cannot serve: {}",
                filename.display()
            ),
        );
        return Ok(Response::error(StatusCode::INTERNAL_SERVER_ERROR));
    };
    let is_default = handlers
        .default_handler()
        .is_some_and(|d| Arc::ptr_eq(&handler, d));

    if is_default {
        let root = file_root(host, uri_path);
        if !check_symlinks(&root, filename, dir.options()) {
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

    let fixed = crate::modules::headers::request_fixup(&dir, conn, head, &mut out.notes);
    let head = fixed.as_ref().unwrap_or(head);
    // SetInputFilter DEFLATE: the handler reads a gzip body inflated.
    let inflated = cfg
        .loaded_modules
        .contains(&"deflate_module")
        .then(|| crate::modules::inflate::inflated_head(&dir, head))
        .flatten();
    let head = inflated.as_ref().unwrap_or(head);
    let internal_redirect =
        |sub: &RequestHead| process(cfg, handlers, conn, sub, &mut std::io::empty()).0;
    let req = Request {
        head,
        conn,
        server: cfg,
        vhost: host,
        dir: &dir,
        uri_path,
        filename: Some(filename),
        url_prefix,
        internal_redirect: &internal_redirect,
        user: out.user.as_deref(),
    };
    if inline && handler.may_block() {
        return Err(NeedsWorker);
    }
    let resp = if inflated.is_some() {
        let mut body = crate::modules::inflate::InflateBody::new(&dir, body);
        let resp = handler.handle(&req, &mut body);
        match body.failure() {
            Some(f) => {
                crate::log::log("deflate", Level::Error, Some(conn.client), &f.message);
                Response::error(f.status)
            }
            None => resp,
        }
    } else {
        handler.handle(&req, body)
    };
    if resp.status == StatusCode::NOT_FOUND && is_default {
        crate::log::log(
            "core",
            Level::Info,
            Some(conn.client),
            &format!(
                "AH00128: File does not exist: {}",
                req.filename.unwrap_or(Path::new("")).display()
            ),
        );
    }
    Ok(resp)
}

/// Authentication for a request whose `Require` lines want a user, then authorization
/// with that user: `None` when both pass (the user is in `out_user`), else the answer —
/// 401 with the challenge (403 with `AuthzSendForbiddenOnFailure On` once the user is
/// known), or 500 for a configuration error.
fn authenticate_and_authorize(
    cfg: &ServerConfig,
    dir: &DirConfig,
    conn: &ConnInfo,
    head: &RequestHead,
    expr_req: &crate::modules::expr_request::ExprRequest<'_>,
    out_user: &mut Option<String>,
) -> Option<Response> {
    use crate::modules::auth::{Authn, authenticate, challenge, in_group};
    let user = match authenticate(cfg, dir, conn, head) {
        Authn::User(u) => u,
        Authn::Refused(resp, user) => {
            *out_user = user;
            return Some(resp);
        }
    };
    let member = |group: &str| in_group(dir, conn, &user, group);
    let expr_req = expr_req.clone().with_user(Some(&user));
    let who = Who {
        user: Some(&user),
        in_group: &member,
        request: Some(&expr_req),
    };
    let granted = access(dir, conn, head, &who) == Access::Granted;
    let refused = (!granted).then(|| {
        crate::log::log(
            "authz_core",
            Level::Error,
            Some(conn.client),
            &format!(
                "AH01631: user {user}: authorization failure for \"{}\": ",
                head.path
            ),
        );
        if dir.auth.send_forbidden_on_failure == Some(true) {
            Response::error(StatusCode::FORBIDDEN)
        } else {
            challenge(dir)
        }
    });
    *out_user = Some(user);
    refused
}

/// `OPTIONS` answered by the core: `Allow` in the order Apache 2.4's default handler
/// prints it (`GET,POST,OPTIONS,HEAD[,TRACE]`), as for 405/501 from the static handler.
/// The methods Apache's registry knows without extra modules (`ap_method_registry_init`),
/// for `HttpProtocolOptions RegisteredMethods`.
fn registered_method(method: &str) -> bool {
    matches!(method, "GET" | "HEAD" | "POST" | "OPTIONS")
        || crate::modules::static_files::KNOWN_METHODS.contains(&method)
}

fn options_response(host: &VirtualHost) -> Response {
    Response::new(StatusCode::OK, Body::Empty).header(ALLOW, allow_header(host.trace_enable))
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

fn choose_handler(dir: &DirConfig, filename: &Path, alias_handler: Option<&str>) -> Option<String> {
    if let Some(h) = &dir.set_handler {
        return (!h.is_empty()).then(|| h.clone());
    }
    if let Some(h) = alias_handler {
        return Some(h.to_string());
    }
    if dir.add_handlers.is_empty() {
        return None;
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
