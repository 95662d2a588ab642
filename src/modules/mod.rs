//! Modules: each declares its directives in a table and implements its handler.

pub mod mime;
