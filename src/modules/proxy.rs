//! mod_proxy: the `proxy-server` handler that `ProxyPass` rules select (it claims those
//! URLs through [`Handler::claims`]), and the `proxy:URL` handlers that
//! `SetHandler "proxy:unix:/run/php/php-fpm.sock|fcgi://localhost"` names. Both hand the
//! request to a protocol module (`proxy_http.rs`, `proxy_fcgi.rs`); the backend
//! connections those share are in `proxy_backend.rs`. A rule to `balancer://` goes to
//! mod_proxy_balancer (`proxy_balancer/`), which picks the member.

use std::cell::RefCell;
use std::sync::{Arc, Weak};

use rhttpd_http::StatusCode;

use super::proxy_backend::log;
use crate::conf::VirtualHost;
use crate::conf::alias::UrlRegex;
use crate::conf::proxy::{Backend, BackendAddr, ProxyConfig, ProxyRule, Scheme, prefix_rest};
use crate::handler::{Handler, Request, RequestBody, Response};
use crate::log::Level;

/// The handler `ProxyPass` assigns.
pub const PROXY_HANDLER: &str = "proxy-server";
/// The handler-name prefix of `SetHandler "proxy:..."`.
pub const PROXY_PREFIX: &str = "proxy:";

/// The `proxy-server` handler (ProxyPass).
pub struct ProxyServer {
    /// mod_proxy_http is loaded.
    pub http: bool,
    /// mod_proxy_fcgi is loaded.
    pub fcgi: bool,
    /// mod_proxy_balancer is loaded: the generation's balancers.
    pub balancers: Option<std::sync::Arc<super::proxy_balancer::Registry>>,
}

/// The `proxy:` prefix handler (`SetHandler "proxy:unix:/path|fcgi://localhost"`).
pub struct ProxySetHandler {
    pub http: bool,
    pub fcgi: bool,
}

fn no_protocol(req: &Request<'_>, url: &str) -> Response {
    log(
        req,
        Level::Warn,
        &format!(
            "AH01144: No protocol handler was valid for the URL {url} (scheme '{}'). If you are using a DSO version of mod_proxy, make sure the proxy submodules are included in the configuration using LoadModule.",
            url.split("://").next().unwrap_or("")
        ),
    );
    Response::error(StatusCode::INTERNAL_SERVER_ERROR)
}

/// The rest of the URL after the rule's path — the raw (still encoded) text when the raw
/// path has the same prefix, else the decoded text re-encoded — and the query unless
/// `noquery`: what follows the backend URL's path in the request-target.
fn rest_for(req: &Request<'_>, rule: &ProxyRule) -> String {
    let mut rest = match prefix_rest(&rule.path, &req.head.path) {
        Some(raw) => raw.to_string(),
        None => {
            let decoded = prefix_rest(&rule.path, req.uri_path).unwrap_or("");
            crate::uri::encode_path(decoded)
        }
    };
    if !rule.noquery
        && let Some(q) = &req.head.query
    {
        rest.push('?');
        rest.push_str(q);
    }
    rest
}

impl Handler for ProxyServer {
    fn name(&self) -> &'static str {
        PROXY_HANDLER
    }

    /// The URL has a `ProxyPass` rule (the first match not a `!` exclusion). mod_proxy
    /// translates before mod_alias, so this wins over every other handler choice.
    fn claims(&self, vhost: &VirtualHost, uri_path: &str) -> bool {
        !vhost.proxy.rules.is_empty()
            && vhost
                .proxy
                .find(uri_path)
                .is_some_and(|r| r.backend.is_some() || r.balancer.is_some())
    }

    /// Under event: a request the backend has answered in full while the listener
    /// waited is answered on the listener; one to send is sent from there
    /// (`proxy_async.rs`).
    fn answers_without_blocking(&self, req: &Request<'_>) -> bool {
        let Some(rule) = req.vhost.proxy.find(req.uri_path) else {
            return false;
        };
        let Some(backend) = rule.backend.as_deref() else {
            return false;
        };
        // ProxyPassMatch targets are made per request (`serve_match`): on a worker.
        if rule.regex.is_some() {
            return false;
        }
        if backend.scheme == Scheme::Fcgi {
            let decoded_rest = prefix_rest(&rule.path, req.uri_path).unwrap_or("");
            return self.fcgi
                && super::proxy_fcgi::answers_without_blocking(req, backend, Some(decoded_rest));
        }
        if !self.http {
            return false;
        }
        let target = format!("{}{}", backend.path, rest_for(req, rule));
        if let Some(ready) = super::proxy_async::ready_for(req, &target) {
            return ready;
        }
        super::proxy_async::start(req, backend, &target, || {
            super::proxy_http::request_head(req, backend, &target, true)
        })
    }

    fn handle(&self, req: &Request<'_>, body: &mut RequestBody<'_>) -> Response {
        let Some(rule) = req.vhost.proxy.find(req.uri_path) else {
            return Response::error(StatusCode::NOT_FOUND);
        };
        let rest = rest_for(req, rule);
        if let Some(t) = &rule.balancer {
            let decoded_rest = prefix_rest(&rule.path, req.uri_path).unwrap_or("");
            let Some(reg) = &self.balancers else {
                return no_protocol(req, &t.url);
            };
            // -X has no child start: its checker starts with the first request.
            super::proxy_hcheck::ensure_started(reg);
            let protocols = super::proxy_balancer::Protocols {
                http: self.http,
                fcgi: self.fcgi,
            };
            return super::proxy_balancer::serve(
                reg,
                &protocols,
                req,
                body,
                rule,
                &rest,
                decoded_rest,
            );
        }
        let Some(backend) = rule.backend.as_deref() else {
            return Response::error(StatusCode::NOT_FOUND);
        };
        if let Some(re) = &rule.regex {
            return self.serve_match(req, body, rule, re, backend);
        }
        let target = format!("{}{}", backend.path, rest);
        match backend.scheme {
            Scheme::Http | Scheme::Https if self.http => {
                super::proxy_http::serve(req, body, backend, &target)
            }
            Scheme::Fcgi if self.fcgi => {
                let decoded_rest = prefix_rest(&rule.path, req.uri_path).unwrap_or("");
                super::proxy_fcgi::serve_proxypass(req, body, backend, decoded_rest)
            }
            _ => no_protocol(req, &backend.url),
        }
    }
}

impl ProxyServer {
    /// A `ProxyPassMatch` rule: `$N` in the backend URL take the regex's groups; a URL
    /// the substitution leaves unchanged gets the request path appended (Apache's
    /// `ap_proxy_trans_match`: `ProxyPassMatch \.gif$ http://b` proxies `/a.gif` to
    /// `http://b/a.gif`). The result is parsed again, since the groups may name the
    /// host or port; the rule's parameters apply to it.
    fn serve_match(
        &self,
        req: &Request<'_>,
        body: &mut RequestBody<'_>,
        rule: &ProxyRule,
        re: &UrlRegex,
        template: &Backend,
    ) -> Response {
        let url = match re.replace(req.uri_path, &template.url) {
            Some(Some(found)) if found != template.url => found,
            Some(Some(_)) => format!("{}{}", template.url, crate::uri::encode_path(req.uri_path)),
            Some(None) => {
                log(
                    req,
                    Level::Crit,
                    "AH01135: Substitution in regular expression failed. Replacement too long?",
                );
                return Response::error(StatusCode::INTERNAL_SERVER_ERROR);
            }
            None => return Response::error(StatusCode::NOT_FOUND),
        };
        let spec = match &template.addr {
            BackendAddr::Unix(p) => format!("unix:{}|{url}", p.display()),
            BackendAddr::Tcp { .. } => url,
        };
        let mut backend = match Backend::parse(&spec) {
            Ok(b) => b,
            Err(e) => {
                log(req, Level::Error, &format!("AH01144: {e}"));
                return Response::error(StatusCode::INTERNAL_SERVER_ERROR);
            }
        };
        backend.params = template.params.clone();
        match backend.scheme {
            Scheme::Http | Scheme::Https if self.http => {
                let mut target = if rule.nocanon {
                    backend.path.clone()
                } else {
                    canon(&backend.path)
                };
                if !rule.noquery
                    && let Some(q) = &req.head.query
                {
                    target.push(if target.contains('?') { '&' } else { '?' });
                    target.push_str(q);
                }
                super::proxy_http::serve(req, body, &backend, &target)
            }
            Scheme::Fcgi if self.fcgi => {
                super::proxy_fcgi::serve_proxypass(req, body, &backend, "")
            }
            _ => no_protocol(req, &backend.url),
        }
    }
}

/// A substituted backend path made fit for a request line: bytes a URL path may not
/// hold are percent-encoded; `%` escapes and a `?` query already there are kept
/// (`ap_proxy_canonenc` for a reverse proxy).
fn canon(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if c.is_ascii_alphanumeric() || "$-_.+!*'(),:;@&=/~%?".contains(c) {
            out.push(c);
        } else {
            let mut b = [0u8; 4];
            for byte in c.encode_utf8(&mut b).bytes() {
                out.push_str(&format!("%{byte:02x}"));
            }
        }
    }
    out
}

/// Backends of `SetHandler "proxy:..."` made on this thread: (the virtual host's proxy
/// configuration they were made with, the handler text, the backend). A configuration
/// is immutable while it serves, and the `Weak` keeps its address from being reused.
type MadeBackend = (Weak<ProxyConfig>, String, Arc<Backend>);

thread_local! {
    static HANDLER_BACKENDS: RefCell<Vec<MadeBackend>> = const { RefCell::new(Vec::new()) };
}

/// Handler backends remembered per thread (a site has a handful).
const HANDLER_BACKENDS_MAX: usize = 16;

/// The backend of `SetHandler "proxy:unix:/run/php/php-fpm.sock|fcgi://localhost"`,
/// with the parameters of the `<Proxy>` sections that name its URL: parsed once per
/// thread and configuration (a PHP request asks for it up to four times).
fn handler_backend(req: &Request<'_>) -> Result<Arc<Backend>, String> {
    let spec = req
        .dir
        .set_handler
        .as_deref()
        .and_then(|h| h.strip_prefix(PROXY_PREFIX))
        .unwrap_or("");
    let pc = &req.vhost.proxy;
    let found = HANDLER_BACKENDS.with(|c| {
        c.borrow()
            .iter()
            .find(|(w, s, _)| s == spec && std::ptr::eq(w.as_ptr(), Arc::as_ptr(pc)))
            .map(|(_, _, b)| b.clone())
    });
    if let Some(b) = found {
        return Ok(b);
    }
    let mut backend = Backend::parse(spec)?;
    crate::conf::proxy_sections::apply_sets_to(pc, &mut backend);
    let backend = Arc::new(backend);
    HANDLER_BACKENDS.with(|c| {
        let mut c = c.borrow_mut();
        c.retain(|(w, _, _)| w.strong_count() > 0);
        if c.len() >= HANDLER_BACKENDS_MAX {
            c.remove(0);
        }
        c.push((Arc::downgrade(pc), spec.to_string(), backend.clone()));
    });
    Ok(backend)
}

impl Handler for ProxySetHandler {
    fn name(&self) -> &'static str {
        PROXY_PREFIX
    }

    /// Under event: a FastCGI request is sent from the listener and its answer, once
    /// whole, made there (`proxy_fcgi_async.rs`); HTTP backends run on a worker.
    fn answers_without_blocking(&self, req: &Request<'_>) -> bool {
        match handler_backend(req) {
            Ok(b) if b.scheme == Scheme::Fcgi && self.fcgi => {
                super::proxy_fcgi::answers_without_blocking(req, &b, None)
            }
            _ => false,
        }
    }

    fn handle(&self, req: &Request<'_>, body: &mut RequestBody<'_>) -> Response {
        let backend = match handler_backend(req) {
            Ok(b) => b,
            Err(e) => {
                log(req, Level::Error, &format!("AH01144: {e}"));
                return Response::error(StatusCode::INTERNAL_SERVER_ERROR);
            }
        };
        match backend.scheme {
            Scheme::Fcgi if self.fcgi => super::proxy_fcgi::serve_file(req, body, &backend),
            Scheme::Http | Scheme::Https if self.http => {
                let mut target = crate::uri::encode_path(req.uri_path);
                if let Some(q) = &req.head.query {
                    target.push('?');
                    target.push_str(q);
                }
                super::proxy_http::serve(req, body, &backend, &target)
            }
            _ => no_protocol(req, &backend.url),
        }
    }
}
