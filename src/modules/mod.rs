//! Modules: each declares its directives in a table and implements its handler.

pub mod auth;
pub mod autoindex;
pub mod balancer_manager;
pub mod cgi;
mod cgi_env;
mod cgi_output;
pub mod deflate;
pub mod dynamic;
pub mod env;
pub mod expires;
pub mod expr_request;
pub mod file_cache;
pub mod headers;
pub mod htpasswd;
pub mod inflate;
pub mod mime;
pub mod negotiation;
pub mod proxy;
mod proxy_async;
mod proxy_backend;
pub mod proxy_balancer;
pub mod proxy_fcgi;
mod proxy_fcgi_async;
pub mod proxy_hcheck;
pub mod proxy_http;
mod proxy_pool;
mod proxy_request_head;
mod proxy_response;
pub(crate) mod proxy_status;
mod proxy_tunnel;
mod proxy_worker_state;
pub mod rewrite;
pub mod setenvif;
pub mod static_files;
pub mod status;

use std::sync::Arc;

use crate::conf::ServerConfig;
use crate::handler::Handler;

pub use crate::conf::tables::MODULES;
pub use dynamic::{dynamic_handlers, refuse_threaded};

/// The handlers `cfg` has besides the MPM's: the static files (the default handler) and
/// those of the modules it loaded, for the registry `Site::new` builds.
pub fn handlers(cfg: &ServerConfig) -> Vec<Arc<dyn Handler>> {
    let mut v: Vec<Arc<dyn Handler>> = vec![Arc::new(static_files::StaticFiles)];
    v.extend(dynamic_handlers(cfg));
    let loaded = |m: &str| cfg.loaded_modules.contains(&m);
    if loaded("negotiation_module") {
        v.push(Arc::new(negotiation::TypeMap));
    }
    if loaded("rewrite_module") && loaded("proxy_module") {
        let http = loaded("proxy_http_module");
        v.push(Arc::new(rewrite::RewriteProxy { http }));
    }
    v
}
