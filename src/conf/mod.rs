//! The typed server configuration: built from the parser's tree by the directive
//! handlers of each module, then frozen and shared (read-only) by every process and
//! thread of a generation.

pub mod access_compat;
pub mod alias;
pub mod auth;
pub mod balancer;
mod build;
pub mod conditional;
pub mod deflate;
mod dir;
pub mod env;
pub mod expires;
pub mod expr;
pub mod h2;
pub mod headers;
pub mod limit;
mod mime;
pub mod negotiation;
pub mod overrides;
pub mod proxy;
pub mod proxy_extra;
pub mod proxy_match;
pub mod proxy_sections;
pub mod reqtimeout;
mod require;
pub mod rewrite;
pub mod setenvif;
pub mod ssl;
pub mod tables;
mod values;
pub mod vhost;

pub use build::{Htaccess, LoadOptions, htaccess, load};
pub use dir::*;
pub use mime::MimeTypes;
pub use values::atoi;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rhttpd_config::Location;
use rhttpd_http::Limits;

use crate::log::{LogFormat, LogLevels};

/// A `Listen` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listen {
    pub addr: SocketAddr,
    /// `http` unless given (Apache: `https` for port 443).
    pub protocol: String,
    pub location: Location,
}

/// `ServerTokens`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerTokens {
    Prod,
    Major,
    Minor,
    Min,
    Os,
    Full,
}

/// One address a `<VirtualHost>` answers on: `*:80`, `127.0.0.1:8080`, `[::1]:80`, `*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VhostAddr {
    /// `None` = `*` / `_default_`.
    pub ip: Option<IpAddr>,
    /// `None` = any port (`*` or no port given).
    pub port: Option<u16>,
}

/// `Alias`/`ScriptAlias`: a URL prefix mapped to a filesystem path; or `AliasMatch`/
/// `ScriptAliasMatch`: a regex (`url` as written) whose match of the whole URL path is
/// replaced by `path` with `$N` substituted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alias {
    pub url: String,
    pub path: PathBuf,
    /// Set by ScriptAlias: everything below is a CGI script.
    pub handler: Option<String>,
    /// The `*Match` forms' pattern.
    pub regex: Option<alias::UrlRegex>,
}

/// The kind of a per-directory section.
#[derive(Clone, Debug)]
pub enum SectionMatch {
    /// `<Directory /path>` (glob-style wildcards allowed, as Apache) and `<Directory ~ re>`.
    Directory(PathPattern),
    /// `<Files name>` / `<FilesMatch re>`: applied to the last path component.
    Files(PathPattern),
    /// `<Location /url>` / `<LocationMatch re>`.
    Location(PathPattern),
}

/// A literal/wildcard path or a regular expression.
#[derive(Clone, Debug)]
pub enum PathPattern {
    /// A path or URL prefix, possibly with `*`, `?`, `[...]` wildcards.
    Wildcard(String),
    Regex(regex::Regex),
}

/// A `<Directory>`/`<Files>`/`<Location>` section with its configuration.
#[derive(Clone, Debug)]
pub struct DirSection {
    pub matcher: SectionMatch,
    pub config: DirConfig,
    pub location: Location,
}

/// `CustomLog` target and format.
#[derive(Clone, Debug)]
pub struct CustomLog {
    /// A path relative to ServerRoot was already resolved; `|cmd` for a piped log.
    pub target: String,
    pub format: Arc<LogFormat>,
    /// `env=[!]VAR` or `expr=EXPRESSION`: the request is logged only when it holds.
    pub condition: Option<LogCondition>,
}

/// `CustomLog`'s third argument.
#[derive(Clone, Debug)]
pub enum LogCondition {
    /// `env=VAR` (`negate`: `env=!VAR`): whether the request's variable is set.
    Env { name: String, negate: bool },
    /// `expr=EXPRESSION`, evaluated once the response is known.
    Expr(expr::ConfExpr),
}

impl LogCondition {
    /// mod_log_config's `add_custom_log` reading of `env=...` / `expr=...`.
    pub fn parse(clause: &str, loc: &Location) -> Result<LogCondition, String> {
        let lower = clause.to_ascii_lowercase();
        if lower.starts_with("env=") {
            let var = &clause[4..];
            let (negate, name) = match var.strip_prefix('!') {
                Some(n) => (true, n),
                None => (false, var),
            };
            if name.is_empty() {
                return Err("missing environment variable name".into());
            }
            Ok(LogCondition::Env {
                name: name.to_string(),
                negate,
            })
        } else if lower.starts_with("expr=") {
            if clause.len() == 5 {
                return Err("missing condition".into());
            }
            expr::parse(&clause[5..], loc, |m| {
                format!("Cannot parse expression: {m}")
            })
            .map(LogCondition::Expr)
            .map_err(|e| e.message)
        } else {
            Err("error in condition clause".into())
        }
    }
}

/// The main server or one `<VirtualHost>`: everything Apache keeps per `server_rec`.
#[derive(Clone, Debug)]
pub struct VirtualHost {
    /// Empty for the main server.
    pub addrs: Vec<VhostAddr>,
    pub server_name: Option<String>,
    pub server_aliases: Vec<String>,
    pub server_admin: Option<String>,
    pub document_root: PathBuf,
    /// Where the `<VirtualHost>` opened (for `-S`); `None` for the main server.
    pub location: Option<Location>,
    pub keep_alive: bool,
    pub keep_alive_timeout: Duration,
    /// 0 = unlimited.
    pub max_keep_alive_requests: u32,
    pub timeout: Duration,
    /// `SendMinRate` (rhttpd): bytes per second a client must take, on average, of a
    /// response in event's write completion once it has waited there for Timeout.
    pub send_min_rate: u32,
    pub limits: Limits,
    pub aliases: Vec<Alias>,
    pub custom_logs: Vec<CustomLog>,
    pub error_log: Option<String>,
    pub log_level: Option<LogLevels>,
    /// Where this host's requests log when that is not the process's error log as it is
    /// (its own `ErrorLog`, or its own `LogLevel`): opened by `Site::new`.
    pub request_error_log: Option<crate::log::HostErrorLog>,
    /// Directives given at server/vhost level that are per-directory in nature
    /// (Options, DirectoryIndex ... outside any section): the base of every merge.
    pub base_dir: DirConfig,
    /// Sections in configuration order (server-level ones first for a vhost).
    pub sections: Vec<DirSection>,
    pub hostname_lookups: bool,
    /// mod_alias `Redirect`s, in configuration order.
    pub redirects: Vec<Redirect>,
    /// `TraceEnable` (rhttpd's default is Off; Apache's is On).
    pub trace_enable: bool,
    /// `HttpProtocolOptions RegisteredMethods`: a method Apache does not know is a 501.
    /// (Strict/Unsafe and Allow0.9 are in `limits`.)
    pub registered_methods_only: bool,
    /// `MergeSlashes` (On: `//` in the URL path counts as `/`).
    pub merge_slashes: bool,
    /// mod_proxy: ProxyPass rules and settings (`conf/proxy.rs`).
    pub proxy: Arc<proxy::ProxyConfig>,
    /// mod_proxy_balancer: this host's balancers (`conf/balancer/`).
    pub balancers: Arc<balancer::Balancers>,
    /// mod_ssl: TLS for this host (`conf/ssl.rs`).
    pub ssl: Arc<ssl::SslHost>,
    /// mod_reqtimeout's `RequestReadTimeout` (`conf/reqtimeout.rs`).
    pub req_timeout: reqtimeout::ReqTimeout,
    /// `Protocols` and mod_http2's settings (`conf/h2.rs`).
    pub h2: h2::H2Host,
    /// `AccessFileName`: the per-directory configuration files read where
    /// `AllowOverride` permits (default `.htaccess`).
    pub access_file_names: Vec<String>,
    /// mod_rewrite's server/vhost rules, maps and options (`conf/rewrite`).
    pub rewrite: Arc<rewrite::RewriteHost>,
    /// `LimitInternalRecursion`: internal redirects one request may make (default 10).
    pub limit_internal_recursion: u32,
}

/// A mod_alias `Redirect`: URL prefix → target, with the status to answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redirect {
    pub status: u16,
    /// The URL prefix, or for `RedirectMatch` the pattern as written.
    pub url: String,
    /// `None` for `Redirect gone` (410).
    pub target: Option<String>,
    /// `RedirectMatch`: the whole URL path is matched, the target gets `$N` substituted.
    pub regex: Option<alias::UrlRegex>,
}

/// `SendMinRate`'s default: IIS's `minBytesPerSecond` (a client below it is an attack
/// or a dead link, not a slow network).
pub const DEFAULT_SEND_MIN_RATE: u32 = 240;

/// `Timeout`, `KeepAliveTimeout` ... defaults as in Apache's httpd-default.conf.
impl Default for VirtualHost {
    fn default() -> Self {
        VirtualHost {
            addrs: Vec::new(),
            server_name: None,
            server_aliases: Vec::new(),
            server_admin: None,
            document_root: PathBuf::from("htdocs"),
            location: None,
            keep_alive: true,
            keep_alive_timeout: Duration::from_secs(5),
            max_keep_alive_requests: 100,
            timeout: Duration::from_secs(60),
            send_min_rate: DEFAULT_SEND_MIN_RATE,
            limits: Limits::default(),
            aliases: Vec::new(),
            custom_logs: Vec::new(),
            error_log: None,
            log_level: None,
            request_error_log: None,
            base_dir: DirConfig::default(),
            sections: Vec::new(),
            hostname_lookups: false,
            redirects: Vec::new(),
            trace_enable: false,
            registered_methods_only: false,
            merge_slashes: true,
            proxy: Arc::default(),
            balancers: Arc::default(),
            ssl: Arc::default(),
            req_timeout: reqtimeout::ReqTimeout::default(),
            h2: h2::H2Host::default(),
            access_file_names: vec![".htaccess".to_string()],
            rewrite: Arc::default(),
            limit_internal_recursion: 10,
        }
    }
}

/// Which MPM the configuration loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MpmKind {
    Prefork,
    Worker,
    Event,
}

impl MpmKind {
    pub fn name(self) -> &'static str {
        match self {
            MpmKind::Prefork => "prefork",
            MpmKind::Worker => "worker",
            MpmKind::Event => "event",
        }
    }
}

/// Tells configurations apart (a fresh one for every configuration built), so that
/// what is derived from one (the merged per-directory configurations cached per
/// thread) is never taken for another's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConfigId(pub u64);

impl ConfigId {
    pub fn fresh() -> ConfigId {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        ConfigId(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }
}

/// The whole configuration of one generation.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub id: ConfigId,
    pub config_file: PathBuf,
    pub server_root: PathBuf,
    pub listeners: Vec<Listen>,
    pub listen_backlog: i32,
    /// `SendBufferSize` / `ReceiveBufferSize` for the listening sockets (SO_SNDBUF /
    /// SO_RCVBUF, inherited by accepted connections); 0 = the system default.
    pub send_buffer_size: u32,
    pub receive_buffer_size: u32,
    /// `AcceptFilter protocol filter`, protocols lowercased, in configuration order (the
    /// last for a protocol wins). On Linux any filter but `none` means
    /// `TCP_DEFER_ACCEPT` (accept once the client's first data is there), as in Apache;
    /// the defaults are `http data` and `https data`.
    pub accept_filters: Vec<(String, String)>,
    /// The main server (outside any `<VirtualHost>`).
    pub main: VirtualHost,
    /// `<VirtualHost>` sections in order; each already inherits the main server's values
    /// for everything it did not set.
    pub vhosts: Vec<VirtualHost>,
    pub pid_file: PathBuf,
    pub user: String,
    pub group: String,
    /// `ErrorLog` of the main server (`stderr` when started with the embedded default
    /// config in the foreground).
    /// `ErrorLogFormat` of the main server (`None`: Apache's default line).
    pub error_log_format: Option<Arc<crate::log::ErrorLogFormat>>,
    pub error_log: String,
    pub log_level: LogLevels,
    pub server_tokens: ServerTokens,
    pub mime: Arc<MimeTypes>,
    pub types_config: PathBuf,
    pub mpm: Option<MpmKind>,
    pub loaded_modules: Vec<&'static str>,
    /// `<AuthnProviderAlias file NAME>`: NAME → its `AuthUserFile`.
    pub authn_aliases: HashMap<String, PathBuf>,
    pub defines: Vec<(String, Option<String>)>,
    /// MPM directives as written (StartServers, ThreadsPerChild ...), interpreted and
    /// clamped by the MPM that was loaded.
    pub mpm_directives: Vec<rhttpd_config::Directive>,
    pub extended_status: Option<bool>,
    pub see_request_tail: bool,
    pub graceful_shutdown_timeout: Duration,
    pub core_dump_directory: Option<PathBuf>,
    /// Every configuration file read, in order, for `-t -D DUMP_INCLUDES`: nesting depth
    /// (0 = the main file), line of the `Include` that read it (0 for the main file),
    /// path.
    pub includes: Vec<(usize, usize, PathBuf)>,
    /// Startup warnings collected while loading (printed before detaching, as Apache's
    /// console "WARNING: ..." lines).
    pub warnings: Vec<String>,
    /// mod_ssl's server-wide settings (the session cache).
    pub ssl: ssl::SslGlobal,
}
