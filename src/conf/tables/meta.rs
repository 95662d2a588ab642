//! Metadata modules: response expiry (mod_expires), request environment variables
//! (mod_env, mod_setenvif) and request/response header editing (mod_headers).

use rhttpd_config::{Arity, Contexts as C, DirectiveSpec};

use super::d;

/// mod_expires.c.
pub const EXPIRES: &[DirectiveSpec] = &[
    d(
        "ExpiresActive",
        C::ANY,
        Arity::Flag,
        "Limited to 'on' or 'off'",
    ),
    d(
        "ExpiresByType",
        C::ANY,
        Arity::Take2,
        "a MIME type followed by an expiry date code",
    ),
    d(
        "ExpiresDefault",
        C::ANY,
        Arity::Take1,
        "an expiry date code",
    ),
];

/// mod_env.c.
pub const ENV: &[DirectiveSpec] = &[
    d(
        "PassEnv",
        C::ANY,
        Arity::OneOrMore,
        "a list of environment variables to pass to CGI.",
    ),
    d(
        "SetEnv",
        C::ANY,
        Arity::Take12,
        "an environment variable name and optional value to pass to CGI.",
    ),
    d(
        "UnsetEnv",
        C::ANY,
        Arity::OneOrMore,
        "a list of variables to remove from the CGI environment.",
    ),
];

/// mod_headers.c (`expr=` conditions and values are refused: no ap_expr yet).
pub const HEADERS: &[DirectiveSpec] = &[
    d(
        "Header",
        C::ANY,
        Arity::OneOrMore,
        "an optional condition, an action, header and value followed by optional env clause",
    ),
    d(
        "RequestHeader",
        C::ANY,
        Arity::OneOrMore,
        "an action, header and value followed by optional env clause",
    ),
];

/// mod_setenvif.c (`SetEnvIfExpr` is refused: no ap_expr yet).
pub const SETENVIF: &[DirectiveSpec] = &[
    d(
        "BrowserMatch",
        C::ANY,
        Arity::OneOrMore,
        "A browser regex and a list of variables.",
    ),
    d(
        "BrowserMatchNoCase",
        C::ANY,
        Arity::OneOrMore,
        "A browser regex and a list of variables.",
    ),
    d(
        "SetEnvIf",
        C::ANY,
        Arity::TwoOrMore,
        "A header-name, regex and a list of variables.",
    ),
    d(
        "SetEnvIfExpr",
        C::ANY,
        Arity::OneOrMore,
        "A boolean expression and a list of variables.",
    ),
    d(
        "SetEnvIfNoCase",
        C::ANY,
        Arity::TwoOrMore,
        "a header-name, regex and a list of variables.",
    ),
];
