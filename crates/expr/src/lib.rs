//! Apache's expression language and regular expressions, sans I/O.
//!
//! [`Pcre`] is the regular expression every rule-bearing directive uses (mod_rewrite,
//! `<If>` `=~`, `RedirectMatch` ...): Perl syntax with back-references and look-around,
//! as Apache's PCRE gives, from the pure-Rust `fancy-regex` (which hands patterns
//! without those features to the `regex` crate's linear-time engine).

mod pcre;

pub use pcre::{Groups, Pcre};
