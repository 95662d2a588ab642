//! Directive tables: for each module rhttpd implements, the directives it owns, where
//! they may appear and how many arguments they take. The parser (rhttpd-config) checks
//! every directive against these tables; `build.rs` gives them their meaning; `-L`
//! prints them.
//!
//! A few directives are accepted for compatibility with stock Apache/Debian
//! configurations but have no effect in rhttpd; they say so in their help text
//! (`(accepted, no effect)`) and in docs/directives.md.

use rhttpd_config::{Arity, Contexts as C, DirectiveSpec, ModuleInfo};

const fn d(name: &'static str, contexts: C, arity: Arity, help: &'static str) -> DirectiveSpec {
    DirectiveSpec {
        name,
        contexts,
        arity,
        help,
    }
}

const ANY_NO_FILES: C = C(1 | 2 | 4 | 8);
const SERVER_VHOST_DIR_FILES: C = C(1 | 2 | 4 | 16);

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
        C::DIRECTORY,
        Arity::OneOrMore,
        "Controls what groups of directives can be configured by per-directory config files",
    ),
    d(
        "AllowOverrideList",
        C::DIRECTORY,
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
        "Format string for the ErrorLog (accepted, no effect: the default format is used)",
    ),
    d(
        "LogLevel",
        C::ANY,
        Arity::OneOrMore,
        "Level of verbosity in error logging",
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
    d(
        "Limit",
        C::ANY,
        Arity::Section,
        "Container for authentication directives when accessed using specified HTTP methods",
    ),
    d(
        "LimitExcept",
        C::ANY,
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
        "Accept Filters for a given protocol (accepted; see docs)",
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

/// mod_log_config.c (+ mod_logio.c's %I/%O, built in).
pub const LOG_CONFIG: &[DirectiveSpec] = &[
    d(
        "LogFormat",
        C::SERVER_VHOST,
        Arity::Take12,
        "a log format string (see docs) and an optional format name",
    ),
    d(
        "CustomLog",
        C::SERVER_VHOST,
        Arity::Take23,
        "a file name, a custom log format string or format name, and an optional \"env=\" or \"expr=\" clause (see docs)",
    ),
    d(
        "TransferLog",
        C::SERVER_VHOST,
        Arity::Take1,
        "the filename of the access log",
    ),
    d(
        "BufferedLogs",
        C::GLOBAL,
        Arity::Flag,
        "Enable Buffered Logging (accepted; rhttpd writes each line with one write)",
    ),
];

/// mod_mime.c.
pub const MIME: &[DirectiveSpec] = &[
    d(
        "TypesConfig",
        C::GLOBAL,
        Arity::Take1,
        "the MIME types config file",
    ),
    d(
        "AddType",
        C::ANY,
        Arity::TwoOrMore,
        "a mime type followed by one or more file extensions",
    ),
    d(
        "AddHandler",
        C::ANY,
        Arity::TwoOrMore,
        "a handler name followed by one or more file extensions",
    ),
    d(
        "RemoveHandler",
        C::ANY,
        Arity::OneOrMore,
        "one or more file extensions",
    ),
    d(
        "RemoveType",
        C::ANY,
        Arity::OneOrMore,
        "one or more file extensions",
    ),
    d(
        "AddCharset",
        C::ANY,
        Arity::TwoOrMore,
        "a charset (e.g., iso-2022-jp), followed by one or more file extensions",
    ),
    d(
        "AddEncoding",
        C::ANY,
        Arity::TwoOrMore,
        "an encoding (e.g., gzip), followed by one or more file extensions",
    ),
    d(
        "AddLanguage",
        C::ANY,
        Arity::TwoOrMore,
        "a language (e.g., fr), followed by one or more file extensions (accepted, no effect)",
    ),
    d(
        "AddOutputFilter",
        C::ANY,
        Arity::TwoOrMore,
        "output filter name followed by one or more file extensions (accepted, no effect)",
    ),
    d(
        "AddInputFilter",
        C::ANY,
        Arity::TwoOrMore,
        "input filter name followed by one or more file extensions (accepted, no effect)",
    ),
    d(
        "DefaultLanguage",
        C::ANY,
        Arity::Take1,
        "language to use for documents with no other language file extension (accepted, no effect)",
    ),
];

/// mod_dir.c.
pub const DIR: &[DirectiveSpec] = &[
    d(
        "DirectoryIndex",
        C::ANY,
        Arity::OneOrMore,
        "a list of file names",
    ),
    d("DirectorySlash", C::ANY, Arity::Flag, "On or Off"),
];

/// mod_alias.c.
pub const ALIAS: &[DirectiveSpec] = &[
    d(
        "Alias",
        C::SERVER_VHOST,
        Arity::Take2,
        "a fakename and a realname",
    ),
    d(
        "ScriptAlias",
        C::SERVER_VHOST,
        Arity::Take2,
        "a fakename and a realname",
    ),
    d(
        "Redirect",
        ANY_NO_FILES,
        Arity::Take123,
        "an optional status, then document to be redirected and destination URL",
    ),
    d(
        "RedirectPermanent",
        ANY_NO_FILES,
        Arity::Take2,
        "a document to be redirected, then the destination URL",
    ),
    d(
        "RedirectTemp",
        ANY_NO_FILES,
        Arity::Take2,
        "a document to be redirected, then the destination URL",
    ),
];

/// mod_authz_core.c (mod_authz_host provides the ip/host/local providers).
pub const AUTHZ_CORE: &[DirectiveSpec] = &[
    d(
        "Require",
        C::DIR_ONLY,
        Arity::OneOrMore,
        "specifies authorization directives which one must pass (or not) for a request to be allowed",
    ),
    d(
        "RequireAny",
        C::DIR_ONLY,
        Arity::Section,
        "Container for authorization directives grouped under an authz provider",
    ),
    d(
        "RequireAll",
        C::DIR_ONLY,
        Arity::Section,
        "Container for authorization directives grouped under an authz provider",
    ),
    d(
        "RequireNone",
        C::DIR_ONLY,
        Arity::Section,
        "Container for authorization directives grouped under an authz provider",
    ),
];

/// mod_autoindex.c. Listings follow Apache's plain (non-fancy) format; the presentation
/// directives are accepted for configuration compatibility.
pub const AUTOINDEX: &[DirectiveSpec] = &[
    d(
        "IndexIgnore",
        C::ANY,
        Arity::OneOrMore,
        "one or more file extensions",
    ),
    d(
        "IndexIgnoreReset",
        C::ANY,
        Arity::Flag,
        "Reset the inherited list of IndexIgnore filenames",
    ),
    d(
        "IndexOptions",
        C::ANY,
        Arity::OneOrMore,
        "one or more index options [+|-][] (accepted, no effect)",
    ),
    d(
        "IndexOrderDefault",
        C::ANY,
        Arity::Take2,
        "{Ascending,Descending} {Name,Size,Description,Date} (accepted, no effect)",
    ),
    d(
        "IndexStyleSheet",
        C::ANY,
        Arity::Take1,
        "URL to the style sheet (accepted, no effect)",
    ),
    d(
        "IndexHeadInsert",
        C::ANY,
        Arity::Take1,
        "String to insert in HTML HEAD section (accepted, no effect)",
    ),
    d(
        "AddIcon",
        C::ANY,
        Arity::TwoOrMore,
        "an icon URL followed by one or more filenames (accepted, no effect)",
    ),
    d(
        "AddIconByType",
        C::ANY,
        Arity::TwoOrMore,
        "an icon URL followed by one or more MIME types (accepted, no effect)",
    ),
    d(
        "AddIconByEncoding",
        C::ANY,
        Arity::TwoOrMore,
        "an icon URL followed by one or more content encodings (accepted, no effect)",
    ),
    d(
        "AddAlt",
        C::ANY,
        Arity::TwoOrMore,
        "alternate descriptive text followed by one or more filenames (accepted, no effect)",
    ),
    d(
        "AddAltByType",
        C::ANY,
        Arity::TwoOrMore,
        "alternate descriptive text followed by one or more MIME types (accepted, no effect)",
    ),
    d(
        "AddAltByEncoding",
        C::ANY,
        Arity::TwoOrMore,
        "alternate descriptive text followed by one or more content encodings (accepted, no effect)",
    ),
    d(
        "AddDescription",
        C::ANY,
        Arity::TwoOrMore,
        "Descriptive text followed by one or more filenames (accepted, no effect)",
    ),
    d(
        "DefaultIcon",
        C::ANY,
        Arity::Take1,
        "an icon URL (accepted, no effect)",
    ),
    d(
        "HeaderName",
        C::ANY,
        Arity::Take1,
        "a filename (accepted, no effect)",
    ),
    d(
        "ReadmeName",
        C::ANY,
        Arity::Take1,
        "a filename (accepted, no effect)",
    ),
];

/// mod_status.c.
pub const STATUS: &[DirectiveSpec] = &[
    d(
        "ExtendedStatus",
        C::GLOBAL,
        Arity::Flag,
        "\"On\" to track extended status information, \"Off\" to disable",
    ),
    d(
        "SeeRequestTail",
        C::GLOBAL,
        Arity::Flag,
        "For verbose requests, \"On\" to see the last 63 chars of the request, \"Off\" (default) to see the first 63 in extended status display",
    ),
];

/// mod_cgi.c (the script log is not implemented: stderr goes to the error log).
pub const CGI: &[DirectiveSpec] = &[
    d(
        "ScriptLog",
        C::SERVER_VHOST,
        Arity::Take1,
        "the name of a log for script debugging info (accepted, no effect)",
    ),
    d(
        "ScriptLogLength",
        C::SERVER_VHOST,
        Arity::Take1,
        "the maximum length (in bytes) of the script debug log (accepted, no effect)",
    ),
    d(
        "ScriptLogBuffer",
        C::SERVER_VHOST,
        Arity::Take1,
        "the maximum size (in bytes) to record of a POST request (accepted, no effect)",
    ),
];

/// mod_cgid.c: Debian's CGI module for threaded MPMs; rhttpd runs scripts the same way
/// under every MPM, so it is mod_cgi under another name.
pub const CGID: &[DirectiveSpec] = &[
    d(
        "ScriptSock",
        C::GLOBAL,
        Arity::Take1,
        "the name of the socket to use for communication with the cgi daemon (accepted, no effect)",
    ),
    d(
        "CGIDScriptTimeout",
        ANY_NO_FILES,
        Arity::Take1,
        "The amount of time to wait between successful reads from the CGI script, in seconds (accepted, no effect: Timeout applies)",
    ),
];

/// mod_proxy.c (reverse proxying only).
pub const PROXY: &[DirectiveSpec] = &[
    d(
        "ProxyPass",
        C(1 | 2 | 8),
        Arity::OneOrMore,
        "a virtual path and a URL (or ! to exclude), then key=value worker parameters",
    ),
    d(
        "ProxyPassReverse",
        C(1 | 2 | 8),
        Arity::Take123,
        "a virtual path and a URL for reverse proxy behaviour",
    ),
    d(
        "ProxyPreserveHost",
        C::ANY,
        Arity::Flag,
        "on if we should preserve host header while proxying",
    ),
    d(
        "ProxyTimeout",
        C::SERVER_VHOST,
        Arity::Take1,
        "Set the timeout (in seconds) for a proxied connection",
    ),
    d(
        "ProxyRequests",
        C::SERVER_VHOST,
        Arity::Flag,
        "on if the true proxy requests should be accepted (rhttpd: Off only)",
    ),
    d(
        "ProxyAddHeaders",
        C::ANY,
        Arity::Flag,
        "on if X-Forwarded-* headers should be added or completed",
    ),
    d(
        "ProxyVia",
        C::SERVER_VHOST,
        Arity::Take1,
        "Configure Via: proxy header header to one of: on | off | block | full",
    ),
];

/// mod_proxy_fcgi.c.
pub const PROXY_FCGI: &[DirectiveSpec] = &[d(
    "ProxyFCGIBackendType",
    C::ANY,
    Arity::Take1,
    "Specify the type of FastCGI server: 'Generic', 'FPM'",
)];

/// Directives every Unix MPM has (mpm_common.c).
const MPM_COMMON: [DirectiveSpec; 7] = [
    d(
        "StartServers",
        C::GLOBAL,
        Arity::Take1,
        "Number of child processes launched at server startup",
    ),
    d(
        "ServerLimit",
        C::GLOBAL,
        Arity::Take1,
        "Maximum value of MaxRequestWorkers for this run of Apache",
    ),
    d(
        "MaxRequestWorkers",
        C::GLOBAL,
        Arity::Take1,
        "Maximum number of connections that will be processed simultaneously",
    ),
    d(
        "MaxClients",
        C::GLOBAL,
        Arity::Take1,
        "Deprecated name of MaxRequestWorkers",
    ),
    d(
        "MaxConnectionsPerChild",
        C::GLOBAL,
        Arity::Take1,
        "Maximum number of connections a particular child serves before dying.",
    ),
    d(
        "MaxRequestsPerChild",
        C::GLOBAL,
        Arity::Take1,
        "Deprecated name of MaxConnectionsPerChild",
    ),
    d(
        "GracefulShutdownTimeout",
        C::GLOBAL,
        Arity::Take1,
        "Maximum time in seconds to wait for child processes to complete transactions during shutdown",
    ),
];

const fn join<const A: usize, const B: usize, const N: usize>(
    a: [DirectiveSpec; A],
    b: [DirectiveSpec; B],
) -> [DirectiveSpec; N] {
    assert!(A + B == N);
    let mut out = [a[0]; N];
    let mut i = 0;
    while i < A {
        out[i] = a[i];
        i += 1;
    }
    while i < N {
        out[i] = b[i - A];
        i += 1;
    }
    out
}

const THREADED: [DirectiveSpec; 5] = [
    d(
        "ThreadsPerChild",
        C::GLOBAL,
        Arity::Take1,
        "Number of threads each child creates",
    ),
    d(
        "ThreadLimit",
        C::GLOBAL,
        Arity::Take1,
        "Maximum number of worker threads per child process for this run of Apache - Upper limit for ThreadsPerChild",
    ),
    d(
        "MinSpareThreads",
        C::GLOBAL,
        Arity::Take1,
        "Minimum number of idle threads, to handle request spikes",
    ),
    d(
        "MaxSpareThreads",
        C::GLOBAL,
        Arity::Take1,
        "Maximum number of idle threads",
    ),
    d(
        "ThreadStackSize",
        C::GLOBAL,
        Arity::Take1,
        "Size in bytes of stack used by threads handling client connections",
    ),
];

const PREFORK_OWN: [DirectiveSpec; 2] = [
    d(
        "MinSpareServers",
        C::GLOBAL,
        Arity::Take1,
        "Minimum number of idle children, to handle request spikes",
    ),
    d(
        "MaxSpareServers",
        C::GLOBAL,
        Arity::Take1,
        "Maximum number of idle children",
    ),
];

const EVENT_THREADED: [DirectiveSpec; 6] = join(
    THREADED,
    [d(
        "AsyncRequestWorkerFactor",
        C::GLOBAL,
        Arity::Take1,
        "How many additional connects will be accepted per idle worker thread",
    )],
);

pub const MPM_PREFORK: &[DirectiveSpec] = &join::<7, 2, 9>(MPM_COMMON, PREFORK_OWN);
pub const MPM_WORKER: &[DirectiveSpec] = &join::<7, 5, 12>(MPM_COMMON, THREADED);
pub const MPM_EVENT: &[DirectiveSpec] = &join::<7, 6, 13>(MPM_COMMON, EVENT_THREADED);

const fn module(
    name: &'static str,
    source: &'static str,
    builtin: bool,
    directives: &'static [DirectiveSpec],
) -> ModuleInfo {
    ModuleInfo {
        name,
        source,
        builtin,
        directives,
    }
}

/// Every module rhttpd has. Built-in modules are always present (like a static Apache
/// build, `-l` lists them); the others are present once a `LoadModule` line names them.
pub static MODULES: &[ModuleInfo] = &[
    module("core_module", "core.c", true, CORE),
    module("so_module", "mod_so.c", true, &[]),
    module("http_module", "http_core.c", true, HTTP_CORE),
    module("mpm_common_module", "mpm_common.c", true, LISTEN),
    module("unixd_module", "mod_unixd.c", true, UNIXD),
    module("log_config_module", "mod_log_config.c", true, LOG_CONFIG),
    module("logio_module", "mod_logio.c", true, &[]),
    module("mime_module", "mod_mime.c", true, MIME),
    module("dir_module", "mod_dir.c", true, DIR),
    module("alias_module", "mod_alias.c", true, ALIAS),
    module("authz_core_module", "mod_authz_core.c", true, AUTHZ_CORE),
    module("authz_host_module", "mod_authz_host.c", true, &[]),
    module("autoindex_module", "mod_autoindex.c", true, AUTOINDEX),
    module("status_module", "mod_status.c", false, STATUS),
    module("cgi_module", "mod_cgi.c", false, CGI),
    module("cgid_module", "mod_cgid.c", false, CGID),
    module("proxy_module", "mod_proxy.c", false, PROXY),
    module("proxy_http_module", "mod_proxy_http.c", false, &[]),
    module("proxy_fcgi_module", "mod_proxy_fcgi.c", false, PROXY_FCGI),
    module("example_unsafe_module", "mod_example_unsafe.c", false, &[]),
    module("mpm_prefork_module", "prefork.c", false, MPM_PREFORK),
    module("mpm_worker_module", "worker.c", false, MPM_WORKER),
    module("mpm_event_module", "event.c", false, MPM_EVENT),
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique_per_module_and_loaded_set() {
        // Within the built-in set no directive may be declared twice (the parser could
        // not tell which module owns it).
        let mut seen = HashSet::new();
        for m in MODULES.iter().filter(|m| m.builtin) {
            for dspec in m.directives {
                assert!(
                    seen.insert(dspec.name.to_ascii_lowercase()),
                    "{} declared twice",
                    dspec.name
                );
            }
        }
    }

    #[test]
    fn mpm_tables_share_common_rows() {
        for t in [MPM_PREFORK, MPM_WORKER, MPM_EVENT] {
            assert!(t.iter().any(|x| x.name == "MaxRequestWorkers"));
        }
        assert!(
            MPM_EVENT
                .iter()
                .any(|x| x.name == "AsyncRequestWorkerFactor")
        );
        assert!(
            !MPM_WORKER
                .iter()
                .any(|x| x.name == "AsyncRequestWorkerFactor")
        );
    }
}
