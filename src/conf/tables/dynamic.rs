//! Dynamic content: CGI (mod_cgi, mod_cgid) and reverse proxying (mod_proxy,
//! mod_proxy_fcgi).

use rhttpd_config::{Arity, Contexts as C, DirectiveSpec};

use super::{ANY_NO_FILES, d};

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
        "The amount of time to wait between successful reads from the CGI script, in seconds",
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
        "ProxyPassMatch",
        C(1 | 2 | 8),
        Arity::OneOrMore,
        "a regex and a URL (or ! to exclude), then key=value worker parameters",
    ),
    d(
        "ProxyPassReverseCookieDomain",
        C(1 | 2 | 8),
        Arity::Take23,
        "Domain rewrite rule for proxy response cookies: internal public",
    ),
    d(
        "ProxyPassReverseCookiePath",
        C(1 | 2 | 8),
        Arity::Take23,
        "Path rewrite rule for proxy response cookies: internal public",
    ),
    d(
        "ProxyErrorOverride",
        C::ANY,
        Arity::OneOrMore,
        "use our error handling pages instead of the servers' we are proxying: On|Off [codes]",
    ),
    d(
        "ProxyBadHeader",
        C::SERVER_VHOST,
        Arity::Take1,
        "How to handle bad header line in response: IsError | Ignore | StartBody",
    ),
    d(
        "ProxyIOBufferSize",
        C::SERVER_VHOST,
        Arity::Take1,
        "IO buffer size for outgoing HTTP sockets",
    ),
    d(
        "ProxyReceiveBufferSize",
        C::SERVER_VHOST,
        Arity::Take1,
        "Receive buffer size for outgoing HTTP sockets",
    ),
    d(
        "Proxy",
        C::SERVER_VHOST,
        Arity::Section,
        "Container for directives affecting resources located in the proxied location",
    ),
    d(
        "ProxyMatch",
        C::SERVER_VHOST,
        Arity::Section,
        "Container for directives affecting resources located in the proxied location, in regular expression syntax",
    ),
    d(
        "ProxySet",
        C(1 | 2 | 4),
        Arity::OneOrMore,
        "A balancer or worker name with list of params",
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
    d(
        "ProxyStatus",
        C::SERVER_VHOST,
        Arity::Take1,
        "Configure Status: proxy status to one of: on | off | full",
    ),
    d(
        "Proxy",
        C::SERVER_VHOST,
        Arity::Section,
        "Container for directives affecting resources located in the proxied location (rhttpd: balancer:// only)",
    ),
    d(
        "BalancerMember",
        C(1 | 2 | 4),
        Arity::OneOrMore,
        "A balancer name and scheme with list of params",
    ),
    d(
        "ProxySet",
        C(1 | 2 | 4),
        Arity::OneOrMore,
        "A balancer or worker name with list of params",
    ),
    d(
        "BalancerGrowth",
        C::SERVER_VHOST,
        Arity::Take1,
        "Number of additional Balancers that can be added post-config (accepted, no effect)",
    ),
    d(
        "BalancerPersist",
        C::SERVER_VHOST,
        Arity::Flag,
        "on if the balancer should persist changes on reboot/restart made via the Balancer Manager (accepted, no effect)",
    ),
    d(
        "BalancerInherit",
        C::SERVER_VHOST,
        Arity::Flag,
        "on if this server should inherit Balancers and Workers defined in the main server (rhttpd: always on)",
    ),
];

/// mod_proxy_wstunnel.c (its tunnels are run by mod_proxy_http's Upgrade support, as
/// Apache 2.4.47+ does with ProxyWebsocketFallbackToProxyHttp On).
pub const PROXY_WSTUNNEL: &[DirectiveSpec] = &[
    d(
        "ProxyWebsocketIdleTimeout",
        C::SERVER_VHOST,
        Arity::Take1,
        "timeout for activity in either direction, unlimited by default",
    ),
    d(
        "ProxyWebsocketFallbackToProxyHttp",
        C::SERVER_VHOST,
        Arity::Flag,
        "whether to let mod_proxy_http handle the upgrade and tunneling, On by default",
    ),
];

/// mod_proxy_hcheck.c.
pub const PROXY_HCHECK: &[DirectiveSpec] = &[
    d(
        "ProxyHCExpr",
        C::SERVER_VHOST,
        Arity::Take2,
        "Define a health check condition ruleset expression",
    ),
    d(
        "ProxyHCTemplate",
        C::SERVER_VHOST,
        Arity::OneOrMore,
        "Define a health check template",
    ),
    d(
        "ProxyHCTPsize",
        C::GLOBAL,
        Arity::Take1,
        "Set size of health check thread pool (accepted, no effect)",
    ),
];

/// mod_heartmonitor.c (accepted; heartbeats are not read).
pub const HEARTMONITOR: &[DirectiveSpec] = &[
    d(
        "HeartbeatListen",
        C::GLOBAL,
        Arity::Take1,
        "Address to listen for heartbeat requests (accepted, no effect)",
    ),
    d(
        "HeartbeatMaxServers",
        C::GLOBAL,
        Arity::Take1,
        "Max Heartbeat servers to track (accepted, no effect)",
    ),
];

/// mod_heartbeat.c (accepted; no heartbeats are sent).
pub const HEARTBEAT: &[DirectiveSpec] = &[d(
    "HeartbeatAddress",
    C::GLOBAL,
    Arity::Take1,
    "Address to send heartbeat requests (accepted, no effect)",
)];

/// mod_lbmethod_heartbeat.c.
pub const LBMETHOD_HEARTBEAT: &[DirectiveSpec] = &[d(
    "HeartbeatStorage",
    C::SERVER_VHOST,
    Arity::Take1,
    "Path to read heartbeat data (accepted, no effect: heartbeats are not read)",
)];

/// mod_proxy_fcgi.c.
pub const PROXY_FCGI: &[DirectiveSpec] = &[d(
    "ProxyFCGIBackendType",
    C::ANY,
    Arity::Take1,
    "Specify the type of FastCGI server: 'Generic', 'FPM'",
)];
