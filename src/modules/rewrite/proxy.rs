//! `[P]`: the handler that forwards a rewritten request to the URL the rule produced,
//! through mod_proxy_http (mod_rewrite hands such requests to mod_proxy with the whole
//! target URL, not a `ProxyPass` prefix).

use rhttpd_http::StatusCode;

use crate::conf::proxy::Backend;
use crate::handler::{Handler, Request, RequestBody, Response};
use crate::log::Level;

/// The handler-name prefix; the backend URL follows it.
pub const PROXY_HANDLER: &str = "rewrite-proxy:";

/// The `[P]` handler (registered when mod_rewrite and mod_proxy are loaded).
pub struct RewriteProxy {
    /// mod_proxy_http is loaded.
    pub http: bool,
}

impl Handler for RewriteProxy {
    fn name(&self) -> &'static str {
        PROXY_HANDLER
    }

    fn handle(&self, req: &Request<'_>, body: &mut RequestBody<'_>) -> Response {
        let url = req
            .dir
            .set_handler
            .as_deref()
            .and_then(|h| h.strip_prefix(PROXY_HANDLER))
            .unwrap_or("");
        let fail = |msg: String| {
            crate::log::log("proxy", Level::Warn, Some(req.conn.client), &msg);
            Response::error(StatusCode::INTERNAL_SERVER_ERROR)
        };
        if !self.http {
            return fail(format!(
                "AH01144: No protocol handler was valid for the URL {url} (scheme '{}'). If you are using a DSO version of mod_proxy, make sure the proxy submodules are included in the configuration using LoadModule.",
                url.split("://").next().unwrap_or("")
            ));
        }
        let Some(scheme_end) = url.find("://") else {
            return fail(format!("mod_rewrite: [P] to an invalid URL {url}"));
        };
        let after = &url[scheme_end + 3..];
        let split = after.find('/').unwrap_or(after.len());
        let origin = &url[..scheme_end + 3 + split];
        let target = match &after[split..] {
            "" => "/".to_string(),
            t if t.starts_with('?') => format!("/{t}"),
            t => t.to_string(),
        };
        match Backend::parse(origin) {
            Ok(backend) => crate::modules::proxy_http::serve(req, body, &backend, &target),
            Err(e) => fail(format!("AH01144: {e}")),
        }
    }
}
