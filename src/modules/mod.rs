//! Modules: each declares its directives in a table and implements its handler.

pub mod autoindex;
pub mod mime;
pub mod static_files;
pub mod status;

pub use crate::conf::tables::MODULES;
