//! mod_negotiation: content negotiation as Apache 2.4 does it.
//!
//! - **MultiViews** (`Options MultiViews`): a request for a file that does not exist,
//!   `/docs/about`, looks in its directory for `about.*` files whose every extension
//!   mod_mime knows (`MultiviewsMatch`), learns each one's type, language, charset and
//!   coding from mod_mime (AddType/TypesConfig, AddLanguage/DefaultLanguage,
//!   AddCharset, AddEncoding), and the pipeline serves the chosen one as an internal
//!   fast redirect (sections, handlers, ETag and conditionals apply to it).
//! - **Type maps** (handler `type-map`, `AddHandler type-map .var`): the variants are
//!   listed in the file (`typemap.rs`); the chosen one is served by an internal
//!   redirect to its URI, or from the map itself for a `Body:` record.
//!
//! The choice itself (`algorithm.rs`) is sans I/O; this file reads the directory and
//! the map. A negotiated response carries `Vary`, `TCN: choice` and
//! `Content-Location`; when nothing is acceptable the answer is 406 with `Alternates`,
//! `TCN: list` and Apache's list of variants.

pub mod accept;
pub mod algorithm;
pub mod typemap;

use std::path::Path;

use bytes::Bytes;
use http::HeaderValue;
use http::header::{CONTENT_LOCATION, CONTENT_TYPE, HeaderName, VARY};
use rhttpd_http::{RequestHead, StatusCode};

use crate::conf::{DirConfig, ServerConfig, VirtualHost};
use crate::handler::{Body, ConnInfo, Handler, Request, RequestBody, Response};
use crate::log::Level;
use crate::modules::file_cache;
use crate::modules::mime::{
    content_encoding_for, content_languages_for, content_type_for, negotiable,
};
use algorithm::{Accepts, Decision, Preferences, Variant};

/// The request's Accept headers (several lines of one header are one list).
pub fn accepts(head: &RequestHead) -> Accepts {
    let get = |name: &str, media: bool| {
        let mut values = head.headers.get_all(name).iter().peekable();
        values.peek()?;
        let joined: Vec<String> = values
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        Some(accept::parse(&joined.join(","), media))
    };
    Accepts {
        media: get("accept", true),
        language: get("accept-language", false),
        charset: get("accept-charset", false),
        encoding: get("accept-encoding", false),
    }
}

/// The configuration and the request's variables `prefer-language`, `no-gzip` and
/// `gzip-only-text/html` as `var` finds them.
fn preferences<'a>(dir: &'a DirConfig, var: &dyn Fn(&str) -> Option<&'a str>) -> Preferences<'a> {
    Preferences {
        language_priority: dir.negotiation.language_priority(),
        force: dir.negotiation.force_language_priority(),
        prefer_language: var("prefer-language"),
        no_encodings: var("no-gzip").is_some(),
        encodings_only_html: var("gzip-only-text/html") == Some("1"),
    }
}

/// What MultiViews decided for a request whose file does not exist.
pub enum MultiViews {
    /// Serve this file of the same directory, then add [`choice_headers`].
    Choice {
        file_name: String,
        decision: Decision,
    },
    /// Answer with this (406 Not Acceptable, or 404 when names matched but none can
    /// be negotiated).
    Respond(Response),
}

/// MultiViews for `filename` (which does not exist) under `dir`: `None` when no file
/// of its directory starts with its name and a dot. `early_vars` are the variables set
/// before Apache's type checker runs (SetEnvIf's; SetEnv's come later, in fixups).
pub fn multiviews(
    cfg: &ServerConfig,
    host: &VirtualHost,
    dir: &DirConfig,
    conn: &ConnInfo,
    head: &RequestHead,
    filename: &Path,
    early_vars: &[(String, Option<String>)],
) -> Option<MultiViews> {
    let (found, any_match) = multiviews_variants(cfg, dir, filename)?;
    if found.is_empty() {
        if any_match {
            crate::log::log(
                "negotiation",
                Level::Error,
                Some(conn.client),
                &format!(
                    "AH00687: Negotiation: discovered file(s) matching request: {} (None could be negotiated).",
                    filename.display()
                ),
            );
            return Some(MultiViews::Respond(Response::error(StatusCode::NOT_FOUND)));
        }
        return None;
    }
    let var = |name: &str| {
        early_vars
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_deref())
    };
    let decision = algorithm::choose(&found, &accepts(head), preferences(dir, &var), true);
    Some(match decision.best {
        Some(i) => MultiViews::Choice {
            file_name: found[i].file_name.clone(),
            decision,
        },
        None => MultiViews::Respond(not_acceptable(
            cfg, host, dir, conn, head, &found, &decision,
        )),
    })
}

/// Whether MultiViews would find a variant for `filename` (mod_dir's DirectoryIndex
/// test of a name such as `index` that is no file).
pub fn has_variants(cfg: &ServerConfig, dir: &DirConfig, filename: &Path) -> bool {
    multiviews_variants(cfg, dir, filename).is_some_and(|(v, _)| !v.is_empty())
}

/// The variants of `filename` in its directory, sorted by name, and whether any name
/// matched at all; `None` when the directory cannot be read.
fn multiviews_variants(
    cfg: &ServerConfig,
    dir: &DirConfig,
    filename: &Path,
) -> Option<(Vec<Variant>, bool)> {
    let base = filename.file_name()?.to_str()?;
    let parent = filename.parent()?;
    let prefix = format!("{base}.");
    let mut names: Vec<String> = std::fs::read_dir(parent)
        .ok()?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        // A name with `?` could not be redirected to as a URL path.
        .filter(|n| n.starts_with(&prefix) && n.len() > prefix.len() && !n.contains('?'))
        .collect();
    names.sort();
    let any_match = !names.is_empty();
    // AddDefaultCharset is added when a response is sent; it is no variant property.
    let typing: std::borrow::Cow<'_, DirConfig> = if dir.default_charset().is_some() {
        let mut d = dir.clone();
        d.add_default_charset = None;
        std::borrow::Cow::Owned(d)
    } else {
        std::borrow::Cow::Borrowed(dir)
    };
    let mut variants = Vec::new();
    for name in names {
        if !negotiable(&name[prefix.len()..], dir, &cfg.mime) {
            continue;
        }
        let path = parent.join(&name);
        let Ok(meta) = file_cache::stat(&path) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let mut v = Variant {
            length: Some(meta.len()),
            languages: content_languages_for(&path, dir),
            encoding: content_encoding_for(&path, dir),
            has_handler: has_handler(dir, &name),
            ..Variant::default()
        };
        // A file mod_mime gives no type is no variant; one with a handler counts as
        // a CGI script (Apache's `application/x-httpd-cgi`).
        match content_type_for(&path, &typing, &cfg.mime) {
            Some(ct) => v.set_content_type(&ct),
            None if v.has_handler => v.mime_type = "application/x-httpd-cgi".into(),
            None => continue,
        }
        // A `qs` parameter in an AddType is no source quality.
        v.source_quality = 1.0;
        v.file_name = name;
        variants.push(v);
    }
    Some((variants, any_match))
}

fn has_handler(dir: &DirConfig, name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower
        .split('.')
        .skip(1)
        .any(|e| dir.add_handlers.contains_key(e))
}

/// The headers of a negotiated choice: `Vary`; for a transparently negotiable resource
/// `Content-Location` (the variant's name) and `TCN: choice` too.
pub fn choice_headers(resp: &mut Response, file_name: &str, decision: &Decision) {
    if decision.transparent {
        if let Ok(v) = HeaderValue::from_str(&crate::uri::encode_path(file_name)) {
            resp.headers.insert(CONTENT_LOCATION, v);
        }
        resp.headers.insert(
            HeaderName::from_static("tcn"),
            HeaderValue::from_static("choice"),
        );
    }
    merge_vary(resp, &decision.vary);
}

/// Put the negotiation's Vary first in one `Vary` header with what the variant's own
/// response said (mod_deflate's `Accept-Encoding`), as Apache's Vary fix-up merges them.
fn merge_vary(resp: &mut Response, ours: &str) {
    if ours.is_empty() {
        return;
    }
    let mut all = vec![ours.to_string()];
    for v in resp.headers.get_all(VARY) {
        let v = String::from_utf8_lossy(v.as_bytes());
        all.extend(
            v.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty() && !ours.split(',').any(|o| o.eq_ignore_ascii_case(t)))
                .map(str::to_string),
        );
    }
    if let Ok(v) = HeaderValue::from_str(&all.join(",")) {
        resp.headers.insert(VARY, v);
    }
}

/// 406 Not Acceptable with Apache's page: the list of variants, `Alternates`, `Vary`
/// and `TCN: list`.
fn not_acceptable(
    cfg: &ServerConfig,
    host: &VirtualHost,
    dir: &DirConfig,
    conn: &ConnInfo,
    head: &RequestHead,
    variants: &[Variant],
    decision: &Decision,
) -> Response {
    let status = StatusCode::NOT_ACCEPTABLE;
    let page = crate::error_pages::error_page(
        cfg,
        host,
        dir.server_signature(),
        status,
        head.method.as_str(),
        head.host.as_deref(),
        None,
        conn.local.port(),
    );
    let page = String::from_utf8_lossy(&page);
    let list = algorithm::variant_list(variants);
    let at = page
        .find("<hr>\n<address>")
        .or_else(|| page.rfind("</body>"))
        .unwrap_or(page.len());
    let text = format!("{}{list}{}", &page[..at], &page[at..]);
    let mut r = Response::new(status, Body::Bytes(Bytes::from(text)));
    r.headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=iso-8859-1"),
    );
    if decision.transparent
        && let Ok(v) = HeaderValue::from_str(&algorithm::alternates(variants))
    {
        r.headers.insert(HeaderName::from_static("alternates"), v);
    }
    if let Ok(v) = HeaderValue::from_str(&decision.vary) {
        r.headers.append(VARY, v);
    }
    r.headers.insert(
        HeaderName::from_static("tcn"),
        HeaderValue::from_static("list"),
    );
    r
}

/// Type maps larger than this are refused (500) rather than read.
const MAX_TYPE_MAP: u64 = 1 << 20;

/// The `type-map` handler.
pub struct TypeMap;

impl Handler for TypeMap {
    fn name(&self) -> &'static str {
        "type-map"
    }

    /// The chosen variant is served by an internal redirect, which may reach any
    /// handler.
    fn may_block(&self) -> bool {
        true
    }

    fn handle(&self, req: &Request<'_>, _body: &mut RequestBody<'_>) -> Response {
        let Some(path) = req.filename else {
            return Response::error(StatusCode::NOT_FOUND);
        };
        let text = match file_cache::stat(path) {
            Ok(m) if m.is_file() && m.len() <= MAX_TYPE_MAP => std::fs::read(path),
            Ok(m) if m.is_file() => Err(std::io::Error::other("type map too large")),
            Ok(_) | Err(_) => return Response::error(StatusCode::NOT_FOUND),
        };
        let text = match text {
            Ok(t) => t,
            Err(e) => {
                crate::log::log(
                    "negotiation",
                    Level::Error,
                    Some(req.conn.client),
                    &format!(
                        "AH00679: cannot access type map file: {}: {e}",
                        path.display()
                    ),
                );
                return Response::error(StatusCode::FORBIDDEN);
            }
        };
        let entries = match typemap::parse(&text) {
            Ok(e) => e,
            Err(e) => {
                crate::log::log(
                    "negotiation",
                    Level::Error,
                    Some(req.conn.client),
                    &e.message(&path.display().to_string()),
                );
                return Response::error(StatusCode::INTERNAL_SERVER_ERROR);
            }
        };
        let map_dir = path.parent().unwrap_or(Path::new("/"));
        let map_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let mut variants: Vec<Variant> = Vec::with_capacity(entries.len());
        for e in &entries {
            let mut v = e.variant.clone();
            if v.file_name.is_empty() {
                v.file_name = map_name.to_string();
            }
            if v.length.is_none() && e.body.is_none() && !v.file_name.starts_with('/') {
                let local = v.file_name.split('?').next().unwrap_or("");
                v.length = file_cache::stat(&map_dir.join(local)).ok().map(|m| m.len());
            }
            variants.push(v);
        }
        if variants.is_empty() {
            return Response::error(StatusCode::NOT_FOUND);
        }
        // Apache treats a map with inline bodies as not transparently negotiable.
        let transparent = entries.iter().all(|e| e.body.is_none());
        let decision = algorithm::choose(
            &variants,
            &accepts(req.head),
            preferences(req.dir, &|name| req.dir.env.get(name)),
            transparent,
        );
        let Some(best) = decision.best else {
            return not_acceptable(
                req.server, req.vhost, req.dir, req.conn, req.head, &variants, &decision,
            );
        };
        let chosen = &variants[best];
        let mut resp = match &entries[best].body {
            Some(body) => {
                let mut r = Response::new(StatusCode::OK, Body::Bytes(Bytes::from(body.clone())));
                if let Some(ct) = &entries[best].content_type {
                    r = r.header(CONTENT_TYPE, ct);
                }
                if !chosen.languages.is_empty() {
                    r = r.header(http::header::CONTENT_LANGUAGE, &chosen.languages.join(", "));
                }
                r
            }
            None => {
                let url = if chosen.file_name.starts_with('/') {
                    chosen.file_name.clone()
                } else {
                    let dir_url = &req.uri_path[..req.uri_path.rfind('/').map_or(0, |i| i + 1)];
                    format!("{dir_url}{}", chosen.file_name)
                };
                let mut sub = req.head.clone();
                match url.split_once('?') {
                    Some((p, q)) => {
                        sub.path = crate::uri::encode_path(p);
                        sub.query = Some(q.to_string());
                    }
                    None => sub.path = crate::uri::encode_path(&url),
                }
                (req.internal_redirect)(&sub)
            }
        };
        choice_headers(&mut resp, &chosen.file_name, &decision);
        resp
    }
}
