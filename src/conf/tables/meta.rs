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

/// mod_setenvif.c.
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

/// mod_http2.c (directives without an effect in rhttpd say so in a notice at start).
pub const HTTP2: &[DirectiveSpec] = &[
    d(
        "H2Direct",
        C::SERVER_VHOST,
        Arity::Flag,
        "on to enable direct HTTP/2 mode",
    ),
    d(
        "H2Upgrade",
        C::ANY,
        Arity::Flag,
        "on to allow HTTP/1 Upgrades to h2/h2c",
    ),
    d(
        "H2MaxSessionStreams",
        C::SERVER_VHOST,
        Arity::Take1,
        "maximum number of open streams per session",
    ),
    d(
        "H2WindowSize",
        C::SERVER_VHOST,
        Arity::Take1,
        "window size on client DATA",
    ),
    d(
        "H2StreamMaxMemSize",
        C::SERVER_VHOST,
        Arity::Take1,
        "maximum number of bytes buffered in memory for a stream",
    ),
    d(
        "H2MinWorkers",
        C::SERVER,
        Arity::Take1,
        "minimum number of worker threads per child (no effect)",
    ),
    d(
        "H2MaxWorkers",
        C::SERVER,
        Arity::Take1,
        "maximum number of worker threads per child (no effect)",
    ),
    d(
        "H2MaxWorkerIdleSeconds",
        C::SERVER,
        Arity::Take1,
        "maximum number of idle seconds before a worker shuts down (no effect)",
    ),
    d(
        "H2SerializeHeaders",
        C::SERVER_VHOST,
        Arity::Flag,
        "on to enable header serialization for compatibility (no effect)",
    ),
    d(
        "H2ModernTLSOnly",
        C::SERVER_VHOST,
        Arity::Flag,
        "off to not impose RFC 7540 restrictions on TLS",
    ),
    d(
        "H2Push",
        C::ANY,
        Arity::Flag,
        "off to disable HTTP/2 server push",
    ),
    d(
        "H2PushPriority",
        C::SERVER_VHOST,
        Arity::Take123,
        "define priority of PUSHed resources per content type (no effect)",
    ),
    d(
        "H2PushDiarySize",
        C::SERVER_VHOST,
        Arity::Take1,
        "size of push diary (no effect)",
    ),
    d(
        "H2PushResource",
        C::ANY,
        Arity::Take12,
        "add a resource to be pushed in this location/on this server (no effect)",
    ),
    d(
        "H2Padding",
        C::SERVER_VHOST,
        Arity::Take1,
        "set the base 2 exponent for padding frames (no effect)",
    ),
    d(
        "H2EarlyHints",
        C::ANY,
        Arity::Flag,
        "on to enable interim status 103 responses (no effect)",
    ),
    d(
        "H2CopyFiles",
        C::ANY,
        Arity::Flag,
        "on to perform copy of file data (no effect)",
    ),
    d(
        "H2TLSWarmUpSize",
        C::SERVER_VHOST,
        Arity::Take1,
        "number of bytes on TLS connection before doing max writes (no effect)",
    ),
    d(
        "H2TLSCoolDownSecs",
        C::SERVER_VHOST,
        Arity::Take1,
        "seconds of idle time on TLS before shrinking writes (no effect)",
    ),
    d(
        "H2OutputBuffering",
        C::SERVER_VHOST,
        Arity::Flag,
        "set stream output buffer on/off (no effect)",
    ),
    d(
        "H2MaxDataFrameLen",
        C::SERVER_VHOST,
        Arity::Take1,
        "maximum number of bytes in a single HTTP/2 DATA frame (no effect)",
    ),
    d(
        "H2StreamTimeout",
        C::ANY,
        Arity::Take1,
        "read/write timeout (seconds) for HTTP/2 streams (no effect)",
    ),
    d(
        "H2ProxyRequests",
        C::ANY,
        Arity::Flag,
        "Enables forward proxy requests via HTTP/2 (no effect)",
    ),
    d(
        "H2WebSockets",
        C::SERVER_VHOST,
        Arity::Flag,
        "off to disable WebSockets over HTTP/2 (no effect)",
    ),
];
