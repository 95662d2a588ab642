//! rhttpd: an Apache-httpd-compatible web server with the prefork, worker and event
//! Multi-Processing Modules.
//!
//! Layers (arrows point down only): `cli` → `server` (parent) → `mpm` → `conn` (drives
//! one connection) → `pipeline` (vhost, mapping, access, handler) → `modules` (handlers
//! and their directive tables) → `conf` (typed configuration) → the `rhttpd-config`,
//! `rhttpd-http` and `rhttpd-sys` crates. Only `rhttpd-sys` contains `unsafe`.

pub mod authz;
pub mod cli;
pub mod conf;
pub mod conn;
pub mod error_pages;
pub mod handler;
pub mod log;
pub mod modules;
pub mod mpm;
pub mod pipeline;
pub mod scoreboard;
pub mod server;
pub mod site;
pub mod uri;
