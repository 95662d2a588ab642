//! The handlers of the modules a configuration loaded (mod_cgi, mod_proxy and its
//! protocol modules, the thread-safety fixture), and the threaded-MPM refusal for
//! handlers that are not thread-safe.

use std::sync::Arc;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use rhttpd_http::StatusCode;

use crate::conf::ServerConfig;
use crate::handler::{Body, Handler, Handlers, Request, RequestBody, Response};

/// The handlers of the modules `cfg` loaded (with the static files, [`super::handlers`]).
pub fn dynamic_handlers(cfg: &ServerConfig) -> Vec<Arc<dyn Handler>> {
    let loaded = |m: &str| cfg.loaded_modules.contains(&m);
    let mut v: Vec<Arc<dyn Handler>> = Vec::new();
    if loaded("cgi_module") || loaded("cgid_module") {
        v.push(Arc::new(super::cgi::Cgi));
    }
    if loaded("proxy_module") {
        super::proxy_worker_state::build(cfg);
        let http = loaded("proxy_http_module");
        let fcgi = loaded("proxy_fcgi_module");
        let balancers = loaded("proxy_balancer_module")
            .then(|| Arc::new(super::proxy_balancer::Registry::build(cfg)));
        if let Some(reg) = &balancers {
            super::proxy_hcheck::set_current(reg);
            v.push(Arc::new(super::balancer_manager::BalancerManager {
                registry: reg.clone(),
            }));
        }
        v.push(Arc::new(super::proxy::ProxyServer {
            http,
            fcgi,
            balancers,
        }));
        v.push(Arc::new(super::proxy::ProxySetHandler { http, fcgi }));
    }
    if loaded("example_unsafe_module") {
        v.push(Arc::new(ExampleUnsafe::default()));
    }
    v
}

/// Which module provides a handler (for messages).
fn module_of(handler: &str) -> &'static str {
    match handler {
        "cgi-script" => "cgi_module",
        "proxy-server" | "proxy:" => "proxy_module",
        super::balancer_manager::HANDLER => "proxy_balancer_module",
        EXAMPLE_UNSAFE => "example_unsafe_module",
        _ => "an unknown module",
    }
}

/// For the worker and event MPMs: the startup error when a loaded handler is not
/// thread-safe, naming it and suggesting prefork or an out-of-process alternative.
pub fn refuse_threaded(handlers: &Handlers) -> Option<String> {
    let bad = handlers.not_thread_safe();
    if bad.is_empty() {
        return None;
    }
    let names: Vec<String> = bad
        .iter()
        .map(|h| format!("{} (handler '{h}')", module_of(h)))
        .collect();
    Some(format!(
        "AH00534: rhttpd: Configuration error: {} {} not thread-safe and cannot run under a threaded MPM (worker, event). Load the prefork MPM instead (LoadModule mpm_prefork_module ...), or run the code out of process, e.g. behind FastCGI with mod_proxy_fcgi.",
        names.join(", "),
        if names.len() == 1 { "is" } else { "are" }
    ))
}

/// The handler name of the thread-safety fixture.
pub const EXAMPLE_UNSAFE: &str = "example-unsafe";

/// `mod_example_unsafe` (`LoadModule example_unsafe_module ...`, `SetHandler
/// example-unsafe`): a documented fixture for the thread-safety rule
/// (docs/dynamic-content.md).
/// It keeps per-process state (a request counter), the way an embedded interpreter
/// does, and declares itself not thread-safe: worker and event refuse to start with
/// it, prefork serves it.
#[derive(Default)]
pub struct ExampleUnsafe {
    // A Mutex keeps the fixture memory-safe in Rust; the flag is what the rule checks.
    count: std::sync::Mutex<u64>,
}

impl Handler for ExampleUnsafe {
    fn name(&self) -> &'static str {
        EXAMPLE_UNSAFE
    }

    fn thread_safe(&self) -> bool {
        false
    }

    fn handle(&self, _req: &Request<'_>, _body: &mut RequestBody<'_>) -> Response {
        let n = {
            let mut c = self.count.lock().unwrap_or_else(|e| e.into_inner());
            *c += 1;
            *c
        };
        let mut r = Response::new(
            StatusCode::OK,
            Body::Bytes(Bytes::from(format!(
                "example-unsafe: request {n} in process {}\n",
                std::process::id()
            ))),
        );
        r.headers
            .insert(CONTENT_TYPE, http::HeaderValue::from_static("text/plain"));
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threaded_refusal_names_the_handler() {
        let safe = Handlers::new(vec![Arc::new(super::super::cgi::Cgi)]);
        assert_eq!(refuse_threaded(&safe), None);
        let unsafe_ = Handlers::new(vec![
            Arc::new(super::super::cgi::Cgi),
            Arc::new(ExampleUnsafe::default()),
        ]);
        let msg = refuse_threaded(&unsafe_).unwrap();
        assert!(
            msg.contains("example_unsafe_module (handler 'example-unsafe')"),
            "{msg}"
        );
        assert!(msg.contains("prefork"), "{msg}");
        assert!(msg.contains("FastCGI"), "{msg}");
    }
}
