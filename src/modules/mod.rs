//! Modules: each declares its directives in a table and implements its handler.

pub mod autoindex;
pub mod cgi;
mod cgi_env;
mod cgi_output;
pub mod dynamic;
pub mod mime;
pub mod proxy;
pub mod proxy_fcgi;
pub mod proxy_http;
pub mod static_files;
pub mod status;

pub use crate::conf::tables::MODULES;
pub use dynamic::{dynamic_handlers, refuse_threaded};
