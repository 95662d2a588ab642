//! The request core's two calls into mod_rewrite (`modules::rewrite`): the server and
//! virtual-host rules before URL mapping, and the per-directory rules after the
//! per-directory merge and authorisation, whose changed URL becomes an internal
//! redirect.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rhttpd_http::RequestHead;

use super::{NeedsWorker, Outcome};
use crate::conf::{DirConfig, ServerConfig, VirtualHost};
use crate::handler::{ConnInfo, Response};
use crate::modules::rewrite::{self, Effects, Fixup, Translate};
use crate::modules::setenvif::Overlay;

/// What the server/vhost rules left for the rest of the request.
#[derive(Default)]
pub(super) struct Translated {
    /// The request head with the rewritten query string.
    pub head: Option<RequestHead>,
    /// The URL was rewritten to this file (no Alias/DocumentRoot mapping, no ProxyPass).
    pub file: Option<PathBuf>,
    /// `[P]`: the handler that proxies the request.
    pub proxy: Option<String>,
    /// `[H=]`, `[T=]` to apply to the merged per-directory configuration.
    pub effects: Effects,
}

impl Translated {
    /// Whether mod_rewrite took the URL (so mod_alias and mod_proxy's `translate_name`
    /// do not run).
    pub fn took_url(&self) -> bool {
        self.file.is_some() || self.proxy.is_some()
    }

    /// The merged configuration with the rules' handler and type.
    pub fn apply(&self, dir: Arc<DirConfig>) -> Arc<DirConfig> {
        let dir = self.effects.apply_to(dir);
        match &self.proxy {
            Some(h) => with_handler(dir, h),
            None => dir,
        }
    }
}

fn with_handler(dir: Arc<DirConfig>, handler: &str) -> Arc<DirConfig> {
    let mut d = (*dir).clone();
    d.set_handler = Some(handler.to_string());
    Arc::new(d)
}

fn with_query(head: &RequestHead, query: Option<String>) -> RequestHead {
    let mut h = head.clone();
    h.query = query;
    h
}

/// The variables and cookies of the rules that matched join the request's.
fn record(setenv: &mut Overlay, cookies: &mut Vec<String>, effects: &Effects) {
    setenv.extend(effects.env.iter().cloned());
    cookies.extend(effects.cookies.iter().cloned());
}

/// Server and virtual-host rules: `Err(response)` answers the request.
pub(super) fn translate(
    cfg: &ServerConfig,
    host: &VirtualHost,
    conn: &ConnInfo,
    head: &RequestHead,
    out: &mut Outcome,
    inline: bool,
) -> Result<Result<Translated, Response>, NeedsWorker> {
    // Called for every request (it also forgets an earlier request's [END]).
    let (decision, effects) = {
        let req = rewrite::Request {
            cfg,
            host,
            conn,
            head,
            uri_path: &out.uri_path,
            env: &out.setenv,
            user: None,
            inline,
        };
        rewrite::translate(&req).map_err(|_| NeedsWorker)?
    };
    record(&mut out.setenv, &mut out.rewrite_cookies, &effects);
    let mut t = Translated {
        effects,
        ..Translated::default()
    };
    match decision {
        Translate::Declined => {}
        Translate::Respond(r) => return Ok(Err(r)),
        Translate::Url { uri, query } => {
            out.uri_path = uri;
            t.head = Some(with_query(head, query));
        }
        Translate::File { path, query } => {
            t.file = Some(path);
            t.head = Some(with_query(head, query));
        }
        Translate::Proxy(target) => t.proxy = Some(target.handler),
    }
    Ok(Ok(t))
}

/// What the per-directory rules decided.
pub(super) enum FixupStep {
    Continue(Arc<DirConfig>),
    Respond(Response),
    /// Run the request again with this head (an internal redirect).
    Redirect(RequestHead),
}

/// Per-directory rules of the merged configuration `dir`.
#[allow(clippy::too_many_arguments)] // the request's parts, passed through as they are
pub(super) fn fixup(
    cfg: &ServerConfig,
    host: &VirtualHost,
    conn: &ConnInfo,
    head: &RequestHead,
    dir: Arc<DirConfig>,
    filename: &Path,
    uri_path: &str,
    setenv: &mut Overlay,
    cookies: &mut Vec<String>,
    user: Option<&str>,
    inline: bool,
) -> Result<FixupStep, NeedsWorker> {
    if !dir.rewrite.engine_on() {
        return Ok(FixupStep::Continue(dir));
    }
    let (decision, effects) = {
        let req = rewrite::Request {
            cfg,
            host,
            conn,
            head,
            uri_path,
            env: setenv,
            user,
            inline,
        };
        rewrite::fixup(&req, &dir, filename).map_err(|_| NeedsWorker)?
    };
    record(setenv, cookies, &effects);
    Ok(match decision {
        Fixup::Declined => {
            let dir = crate::modules::setenvif::with_overlay(dir, &effects.env);
            FixupStep::Continue(effects.apply_to(dir))
        }
        Fixup::Respond(r) => FixupStep::Respond(r),
        Fixup::Proxy(target) => {
            let dir = crate::modules::setenvif::with_overlay(dir, &effects.env);
            FixupStep::Continue(with_handler(effects.apply_to(dir), &target.handler))
        }
        Fixup::Redirect { uri, query } => {
            // What Apache's internal redirect gives the new request: REDIRECT_URL,
            // REDIRECT_STATUS and the variables set so far under REDIRECT_ names.
            let mut redirected: Overlay = vec![
                ("REDIRECT_URL".to_string(), Some(uri_path.to_string())),
                ("REDIRECT_STATUS".to_string(), Some("200".to_string())),
            ];
            for (k, v) in &effects.env {
                redirected.push((format!("REDIRECT_{k}"), v.clone()));
            }
            setenv.extend(redirected);
            let mut sub = head.clone();
            sub.path = crate::uri::encode_path(&uri);
            sub.query = query;
            FixupStep::Redirect(sub)
        }
    })
}
