//! rhttpd: an Apache-httpd-compatible web server with the prefork, worker and event
//! Multi-Processing Modules.
//!
//! Layers, top to bottom; a module uses only modules below it (`scripts/check-layers.py`
//! fails on any import cycle among these, and among the children of `conf` and
//! `modules`):
//!
//! 1. `cli`: the `httpd` command line;
//! 2. `server`: what "run" means: `-k` and the pid file, binding listeners, `-X`;
//! 3. `mpm`: the prefork, worker and event parents and children;
//! 4. `conn`: drives one connection (the event child's driver is in `mpm/event/`);
//! 5. `site`: one generation's configuration, handler registry and access logs;
//! 6. `pipeline` (the request core: vhost, mapping, section merge, access, handler
//!    choice, ErrorDocument) and `modules` (the handlers) side by side: neither names
//!    the other; the core reaches handlers only through the registry
//!    (`handler::Handlers`) that `site` fills from `modules`;
//! 7. `error_pages` (built-in error pages, the `Server` banner) and `authz` (`Require`,
//!    the symlink policy), used by both;
//! 8. `tls`: mod_ssl with rustls (per-host configurations chosen by SNI, the TLS
//!    transport, shared session cache and ticket keys, the client for https://
//!    backends); no rustls type leaves it;
//! 9. `transport`: what a connection's bytes travel over (the trait, plain TCP);
//! 10. `handler`: the handler interface, the registry, response bodies, and what a
//!     TLS handshake agreed (`TlsInfo`, plain data);
//! 11. `conf`: typed configuration built from the parse tree;
//! 12. `log`, `uri`, `scoreboard`: leaves that use no other module;
//!
//! then the `rhttpd-config`, `rhttpd-http` and `rhttpd-sys` crates. Only `rhttpd-sys`
//! contains `unsafe`.

pub mod authz;
pub mod cli;
pub mod conf;
pub mod conn;
pub mod error_pages;
pub mod handler;
pub mod listen;
pub mod log;
pub mod modules;
pub mod mpm;
pub mod pidfile;
pub mod pipeline;
pub mod scoreboard;
pub mod server;
pub mod site;
pub mod tls;
pub mod transport;
pub mod uri;
