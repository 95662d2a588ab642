//! `ErrorDocument`: the error response for a request, as the vhost and the request's
//! sections configure it — quoted text, a remote URL (302), or a local document served
//! by internal redirect with the original status — else Apache's built-in page.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, LOCATION};
use rhttpd_http::{HeaderValue, Method, RequestHead, StatusCode};

use super::mapping::{map_to_file, merged_dir_config};
use super::{Handlers, NeedsWorker, Outcome, route};
use crate::conf::{self, DirConfig, DocText, ErrorDocument, ServerConfig, VirtualHost};
use crate::error_pages::{error_page, html_response};
use crate::handler::{Body, ConnInfo, Response};
use crate::uri;

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
    let _error_log = host.request_error_log.as_ref().map(|l| l.enter());
    let mut out = Outcome {
        vhost: sel,
        ..Outcome::default()
    };
    if let Ok(p) = uri::decode_path_with(&head.path, host.merge_slashes) {
        out.filename = Some(map_to_file(host, &p).0);
        out.uri_path = p;
    }
    let mut r = error_response(
        cfg,
        host,
        handlers,
        conn,
        head,
        Response::error(status),
        &out,
    );
    // `Header always` applies to these error responses too.
    let dir = out
        .filename
        .as_ref()
        .map(|f| merged_dir_config(host, f, &out.uri_path));
    let dir = dir.as_ref().unwrap_or(&host.base_dir);
    let now = std::time::SystemTime::now();
    let notes = &mut Vec::new();
    crate::modules::headers::finish_response(
        &cfg.mime, dir, conn, head, None, true, now, notes, &mut r,
    );
    r
}

/// An `ErrorDocument` with its text evaluated for this response.
enum Doc {
    Text(String),
    Remote(String),
    Local(String),
}

pub(super) fn error_response(
    cfg: &ServerConfig,
    host: &VirtualHost,
    handlers: &Handlers,
    conn: &ConnInfo,
    head: &RequestHead,
    resp: Response,
    out: &Outcome,
) -> Response {
    let status = resp.status;
    // The request's own merge (its .htaccess files included) when it got that far.
    let merged;
    let dir: &DirConfig = match (&out.dir, &out.filename) {
        (Some(d), _) => d,
        (None, Some(f)) => {
            merged = merged_dir_config(host, f, &out.uri_path);
            &merged
        }
        (None, None) => &host.base_dir,
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
    // A string expression sees the request, its variables and the error response.
    // One that fails to evaluate is logged and the built-in page is sent (AH02841).
    let text = |t: &DocText| -> Option<String> {
        match t {
            DocText::Literal(s) => Some(s.clone()),
            DocText::Expr(e) => {
                let mut ctx = crate::modules::expr_request::ExprRequest::new(head, conn)
                    .with_host(host, cfg.server_tokens)
                    .with_dir(dir)
                    .with_user(out.user.as_deref())
                    .with_response(&resp.headers, status.as_u16());
                if !out.uri_path.is_empty() {
                    ctx = ctx.with_uri(&out.uri_path);
                }
                if let Some(f) = &out.filename {
                    ctx = ctx.with_filename(f);
                }
                match e.expr.eval_string(&ctx) {
                    Ok(s) => Some(s),
                    Err(m) => {
                        e.log_failure("core", &format!("AH02841: ErrorDocument: {m}"));
                        None
                    }
                }
            }
        }
    };
    let doc = match dir.error_documents.get(&status.as_u16()) {
        Some(ErrorDocument::Text(t)) => text(t).map(Doc::Text),
        Some(ErrorDocument::Remote(t)) => text(t).map(Doc::Remote),
        Some(ErrorDocument::Local(t)) => text(t).map(Doc::Local),
        _ => None,
    };
    match doc {
        Some(Doc::Text(t)) => html(Bytes::from(t)),
        Some(Doc::Remote(url)) => {
            let mut r = Response::redirect(StatusCode::FOUND, &url);
            let page = error_page(
                cfg,
                host,
                sig,
                StatusCode::FOUND,
                method,
                hh,
                Some(&url),
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
        Some(Doc::Local(path)) => {
            // Internal redirect: serve the local document with the original status.
            let mut sub = head.clone();
            sub.method = Method::GET;
            let (p, q) = match path.split_once('?') {
                Some((p, q)) => (p.to_string(), Some(q.to_string())),
                None => (path.to_string(), None),
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
