//! Authentication modules: mod_authn_core, mod_auth_basic, mod_authn_file,
//! mod_authz_user (only `Require user`/`valid-user`, no directives) and
//! mod_authz_groupfile.

use rhttpd_config::{Arity, Contexts as C, DirectiveSpec};

use super::d;

/// mod_authn_core.c.
pub const AUTHN_CORE: &[DirectiveSpec] = &[
    d(
        "AuthType",
        C::DIR_ONLY,
        Arity::Take1,
        "an HTTP authorization type (e.g., \"Basic\")",
    ),
    d(
        "AuthName",
        C::DIR_ONLY,
        Arity::Take1,
        "the authentication realm (e.g. \"Members Only\")",
    ),
    d(
        "AuthnProviderAlias",
        C::GLOBAL,
        Arity::Section,
        "container for grouping an authentication provider's directives under a provider alias",
    ),
];

/// mod_auth_basic.c.
pub const AUTH_BASIC: &[DirectiveSpec] = &[
    d(
        "AuthBasicProvider",
        C::DIR_ONLY,
        Arity::OneOrMore,
        "specify the auth providers for a directory or location",
    ),
    d(
        "AuthBasicAuthoritative",
        C::DIR_ONLY,
        Arity::Flag,
        "Set to 'Off' to allow access control to be passed along to lower modules if the UserID is not known to this module (no other module: Off has no effect)",
    ),
];

/// mod_authn_file.c.
pub const AUTHN_FILE: &[DirectiveSpec] = &[d(
    "AuthUserFile",
    C::DIR_ONLY,
    Arity::Take1,
    "text file containing user IDs and passwords",
)];

/// mod_authz_groupfile.c.
pub const AUTHZ_GROUPFILE: &[DirectiveSpec] = &[d(
    "AuthGroupFile",
    C::DIR_ONLY,
    Arity::Take1,
    "text file containing group names and member user IDs",
)];

/// mod_access_compat.c.
pub const ACCESS_COMPAT: &[DirectiveSpec] = &[
    d(
        "Order",
        C::DIR_ONLY,
        Arity::Take1,
        "'allow,deny', 'deny,allow', or 'mutual-failure'",
    ),
    d(
        "Allow",
        C::DIR_ONLY,
        Arity::OneOrMore,
        "'from' followed by hostnames or IP-address wildcards",
    ),
    d(
        "Deny",
        C::DIR_ONLY,
        Arity::OneOrMore,
        "'from' followed by hostnames or IP-address wildcards",
    ),
    d(
        "Satisfy",
        C::DIR_ONLY,
        Arity::Take1,
        "access policy if both allow and require used ('all' or 'any')",
    ),
];
