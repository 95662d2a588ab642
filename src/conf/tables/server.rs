//! The server itself: core.c, the listeners (listen.c), HTTP keep-alive (http_core.c)
//! and privileges (mod_unixd.c).

use rhttpd_config::{Arity, Contexts as C, DirectiveSpec};

use super::{SERVER_VHOST_DIR_FILES, d};

/// core.c: the server core.
pub const CORE: &[DirectiveSpec] = &[
    d(
        "ServerRoot",
        C::GLOBAL,
        Arity::Take1,
        "Common directory of server-related files (logs, confs, etc.)",
    ),
    d(
        "DefaultRuntimeDir",
        C::GLOBAL,
        Arity::Take1,
        "Common directory for run-time files (shared memory, locks, etc.)",
    ),
    d(
        "ServerName",
        C::SERVER_VHOST,
        Arity::Take1,
        "The hostname and port of the server",
    ),
    d(
        "ServerAlias",
        C::VHOST,
        Arity::OneOrMore,
        "A name or names alternately used to access the server",
    ),
    d(
        "ServerAdmin",
        C::SERVER_VHOST,
        Arity::Take1,
        "The email address of the server administrator",
    ),
    d(
        "DocumentRoot",
        C::SERVER_VHOST,
        Arity::Take1,
        "Root directory of the document tree",
    ),
    d(
        "Options",
        C::ANY,
        Arity::Any,
        "Set a number of attributes for a given directory",
    ),
    d(
        "AllowOverride",
        C::DIR_ONLY,
        Arity::OneOrMore,
        "Controls what groups of directives can be configured by per-directory config files",
    ),
    d(
        "AllowOverrideList",
        C::DIR_ONLY,
        Arity::OneOrMore,
        "Controls what individual directives can be configured by per-directory config files",
    ),
    d(
        "AccessFileName",
        C::SERVER_VHOST,
        Arity::OneOrMore,
        "Name(s) of per-directory config files (default: .htaccess)",
    ),
    d(
        "ErrorDocument",
        C::ANY,
        Arity::Take2,
        "Change responses for HTTP errors",
    ),
    d(
        "AddDefaultCharset",
        C::ANY,
        Arity::Take1,
        "The name of the default charset to add to any Content-Type without one or 'Off' to disable",
    ),
    d(
        "ServerTokens",
        C::GLOBAL,
        Arity::Take1,
        "Tag the server with Prod, Major, Minor, Min, OS or Full",
    ),
    d(
        "ServerSignature",
        C::ANY,
        Arity::Take1,
        "En-/disable server signature (on|off|email)",
    ),
    d(
        "Timeout",
        C::SERVER_VHOST,
        Arity::Take1,
        "Timeout duration (sec)",
    ),
    d(
        "LimitInternalRecursion",
        C::SERVER_VHOST,
        Arity::Take12,
        "maximum recursion depth of internal redirects and subrequests",
    ),
    // rhttpd's own: the minimum send rate of event's write completion.
    d(
        "SendMinRate",
        C::SERVER_VHOST,
        Arity::Take1,
        "Minimum average rate (bytes/s) at which a client must take a response once it has waited in write completion for Timeout, or 0 for none",
    ),
    d(
        "LimitRequestLine",
        C::SERVER_VHOST,
        Arity::Take1,
        "Limit on maximum size of an HTTP request line",
    ),
    d(
        "LimitRequestFieldSize",
        C::SERVER_VHOST,
        Arity::Take1,
        "Limit on maximum size of an HTTP request header field",
    ),
    d(
        "LimitRequestFields",
        C::SERVER_VHOST,
        Arity::Take1,
        "Limit (0 = unlimited) on max number of header fields in a request message",
    ),
    d(
        "MaxRanges",
        C::ANY,
        Arity::Take1,
        "Maximum number of Ranges in a request before returning the entire resource, or 0 for unlimited",
    ),
    d(
        "MaxRangeOverlaps",
        C::ANY,
        Arity::Take1,
        "Maximum number of overlaps in Ranges in a request before returning the entire resource, or 0 for unlimited",
    ),
    d(
        "MaxRangeReversals",
        C::ANY,
        Arity::Take1,
        "Maximum number of reversals in Ranges in a request before returning the entire resource, or 0 for unlimited",
    ),
    d(
        "ContentDigest",
        C::ANY,
        Arity::Flag,
        "whether or not to send a Content-MD5 header with each request (refused: Off only)",
    ),
    d(
        "LimitRequestBody",
        C::ANY,
        Arity::Take1,
        "Limit (in bytes) on maximum size of request message body",
    ),
    d(
        "FileETag",
        C::ANY,
        Arity::OneOrMore,
        "Specify components used to construct a file's ETag",
    ),
    d(
        "EnableSendfile",
        C::ANY,
        Arity::Flag,
        "Controls whether sendfile may be used to transmit files",
    ),
    d(
        "EnableMMAP",
        C::ANY,
        Arity::Flag,
        "Controls whether memory-mapping may be used to read files (accepted, no effect)",
    ),
    d(
        "HostnameLookups",
        C::ANY,
        Arity::Take1,
        "\"on\" to enable, \"off\" to disable reverse DNS lookups, or \"double\" to enable double-reverse DNS lookups",
    ),
    d(
        "ErrorLog",
        C::SERVER_VHOST,
        Arity::Take1,
        "The filename of the error log",
    ),
    d(
        "ErrorLogFormat",
        C::SERVER_VHOST,
        Arity::Take12,
        "Format string for the ErrorLog",
    ),
    d(
        "LogLevel",
        C::ANY,
        Arity::OneOrMore,
        "Level of verbosity in error logging",
    ),
    d(
        "MergeSlashes",
        C::SERVER_VHOST,
        Arity::Flag,
        "Controls whether consecutive slashes in the URI path are merged",
    ),
    d(
        "TraceEnable",
        C::SERVER_VHOST,
        Arity::Take1,
        "'on' (default), 'off' or 'extended' to trace request body content",
    ),
    d(
        "UseCanonicalName",
        C::ANY,
        Arity::Take1,
        "How to work out the ServerName : Port when constructing URLs",
    ),
    d(
        "HttpProtocolOptions",
        C::SERVER_VHOST,
        Arity::OneOrMore,
        "'Allow0.9' or 'Require1.0' (default); 'RegisteredMethods' or 'LenientMethods' (default); 'Unsafe' or 'Strict' (default)",
    ),
    d(
        "Protocols",
        C::SERVER_VHOST,
        Arity::OneOrMore,
        "Controls which protocols are allowed",
    ),
    d(
        "ProtocolsHonorOrder",
        C::SERVER_VHOST,
        Arity::Flag,
        "'On': use server preferences and order protocols, 'Off': client preferences",
    ),
    d(
        "SetOutputFilter",
        C::ANY,
        Arity::Take1,
        "filter (or ; delimited list of filters) to be run on the request content",
    ),
    d(
        "SetInputFilter",
        C::ANY,
        Arity::Take1,
        "filter (or ; delimited list of filters) to be run on the request body (rhttpd: DEFLATE)",
    ),
    d(
        "SetHandler",
        C::ANY,
        Arity::Take1,
        "A handler name that overrides any other configured handler",
    ),
    d(
        "ForceType",
        C::ANY,
        Arity::Take1,
        "A mime type that overrides other configured type",
    ),
    d(
        "Mutex",
        C::GLOBAL,
        Arity::OneOrMore,
        "mutex (or \"default\") and mechanism (accepted; rhttpd needs no persistent mutex)",
    ),
    d(
        "CoreDumpDirectory",
        C::GLOBAL,
        Arity::Take1,
        "The location of the directory Apache changes to before dumping core",
    ),
    d(
        "ScoreBoardFile",
        C::GLOBAL,
        Arity::Take1,
        "A file for Apache to maintain runtime process management information (accepted; rhttpd always uses anonymous shared memory)",
    ),
    d(
        "VirtualHost",
        C::GLOBAL,
        Arity::Section,
        "Container for directives affecting resources accessed through the specified IP addresses",
    ),
    d(
        "Directory",
        C::SERVER_VHOST,
        Arity::Section,
        "Container for directives affecting resources located in the specified directories",
    ),
    d(
        "DirectoryMatch",
        C::SERVER_VHOST,
        Arity::Section,
        "Container for directives affecting resources located in the specified directories",
    ),
    d(
        "Location",
        C::SERVER_VHOST,
        Arity::Section,
        "Container for directives affecting resources accessed through the specified URL paths",
    ),
    d(
        "LocationMatch",
        C::SERVER_VHOST,
        Arity::Section,
        "Container for directives affecting resources accessed through the specified URL paths",
    ),
    d(
        "If",
        C::ANY,
        Arity::Section,
        "Container for directives based on a run-time expression (ap_expr)",
    ),
    d(
        "ElseIf",
        C::ANY,
        Arity::Section,
        "Container for directives based on a run-time expression, if no earlier <If>/<ElseIf> matched",
    ),
    d(
        "Else",
        C::ANY,
        Arity::Section,
        "Container for directives applied when no earlier <If>/<ElseIf> matched",
    ),
    d(
        "Files",
        SERVER_VHOST_DIR_FILES,
        Arity::Section,
        "Container for directives affecting files matching specified patterns",
    ),
    d(
        "FilesMatch",
        SERVER_VHOST_DIR_FILES,
        Arity::Section,
        "Container for directives affecting files matching specified patterns",
    ),
    // OR_LIMIT | OR_AUTHCFG: per-directory sections only ("<Limit not allowed here" at
    // server and virtual-host level, as Apache).
    d(
        "Limit",
        C::DIR_ONLY,
        Arity::Section,
        "Container for authentication directives when accessed using specified HTTP methods",
    ),
    d(
        "LimitExcept",
        C::DIR_ONLY,
        Arity::Section,
        "Container for authentication directives to be applied when any HTTP method other than those specified is used to access the resource",
    ),
];

/// mpm_common / listen.c: listeners and process files, shared by all MPMs.
pub const LISTEN: &[DirectiveSpec] = &[
    d(
        "Listen",
        C::GLOBAL,
        Arity::Take12,
        "A port number or a numeric IP address and a port number, and an optional protocol",
    ),
    d(
        "ListenBacklog",
        C::GLOBAL,
        Arity::Take1,
        "Maximum length of the queue of pending connections, as used by listen(2)",
    ),
    d(
        "ListenCoresBucketsRatio",
        C::GLOBAL,
        Arity::Take1,
        "Ratio between the number of CPU cores (online) and the number of listeners buckets",
    ),
    d(
        "SendBufferSize",
        C::GLOBAL,
        Arity::Take1,
        "Send buffer size in bytes",
    ),
    d(
        "ReceiveBufferSize",
        C::GLOBAL,
        Arity::Take1,
        "Receive buffer size in bytes",
    ),
    d(
        "AcceptFilter",
        C::GLOBAL,
        Arity::Take2,
        "Accept Filters for a given protocol: TCP_DEFER_ACCEPT unless none",
    ),
    d(
        "PidFile",
        C::GLOBAL,
        Arity::Take1,
        "A file for logging the server process ID",
    ),
    d(
        "MaxMemFree",
        C::GLOBAL,
        Arity::Take1,
        "Maximum number of 1k blocks a particular child's allocator may hold (accepted, no effect)",
    ),
];

/// http_core.c: HTTP keep-alive.
pub const HTTP_CORE: &[DirectiveSpec] = &[
    d(
        "KeepAlive",
        C::SERVER_VHOST,
        Arity::Flag,
        "Whether persistent connections should be On or Off",
    ),
    d(
        "KeepAliveTimeout",
        C::SERVER_VHOST,
        Arity::Take1,
        "Keep-Alive timeout duration (sec)",
    ),
    d(
        "MaxKeepAliveRequests",
        C::SERVER_VHOST,
        Arity::Take1,
        "Maximum number of Keep-Alive requests per connection, or 0 for infinite",
    ),
];

/// mod_unixd.c: privileges.
pub const UNIXD: &[DirectiveSpec] = &[
    d(
        "User",
        C::GLOBAL,
        Arity::Take1,
        "Effective user id for this server",
    ),
    d(
        "Group",
        C::GLOBAL,
        Arity::Take1,
        "Effective group id for this server",
    ),
];

/// mod_reqtimeout.c (built in: its defaults apply unless `RequestReadTimeout` says
/// otherwise).
pub const REQTIMEOUT: &[DirectiveSpec] = &[d(
    "RequestReadTimeout",
    C::SERVER_VHOST,
    Arity::OneOrMore,
    "Set various timeout parameters for TLS handshake and reading request headers and body (handshake=, header=, body= with ranges and MinRate=)",
)];
