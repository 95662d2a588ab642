//! mod_rewrite.c: rule-based URL rewriting (configuration in `conf/rewrite`, the
//! engine in `modules/rewrite`).

use rhttpd_config::{Arity, Contexts as C, DirectiveSpec};

use super::d;

/// mod_rewrite.c. Everything but `RewriteMap` is Apache's `OR_FILEINFO` (server, virtual
/// host and every per-directory section); `RewriteBase` is refused at server level by
/// its handler, as Apache does.
pub const REWRITE: &[DirectiveSpec] = &[
    d(
        "RewriteEngine",
        C::ANY,
        Arity::Flag,
        "On or Off to enable or disable (default) the whole rewriting engine",
    ),
    d(
        "RewriteOptions",
        C::ANY,
        Arity::OneOrMore,
        "List of option strings to set",
    ),
    d(
        "RewriteBase",
        C::ANY,
        Arity::Take1,
        "the base URL of the per-directory context",
    ),
    d(
        "RewriteCond",
        C::ANY,
        Arity::Any,
        "an input string and a to be applied regexp-pattern",
    ),
    d(
        "RewriteRule",
        C::ANY,
        Arity::Any,
        "an URL-applied regexp-pattern and a substitution URL",
    ),
    d(
        "RewriteMap",
        C::SERVER_VHOST,
        Arity::Take23,
        "a mapname and a filename and options",
    ),
];
