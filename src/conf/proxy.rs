//! mod_proxy's configuration: `ProxyPass`, `ProxyPassReverse`, `ProxyPreserveHost`,
//! `ProxyTimeout`, `ProxyRequests`, `ProxyAddHeaders`, `ProxyVia`, `ProxyStatus` and
//! mod_proxy_fcgi's `ProxyFCGIBackendType`, typed per server/virtual host.
//!
//! `ProxyPass` inside `<Location /path>` takes one argument (the backend URL) and uses
//! the section's path; such rules join the host's list in configuration order, as
//! Apache does. The first matching rule wins; a `!` target excludes a path.
//! `ProxyPassMatch` and the other mod_proxy directives are in `proxy_match.rs` (their
//! rules join the same list); `<Proxy>` sections in `proxy_sections.rs`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rhttpd_config::{ConfigError, Directive, Node};

use super::{PathPattern, SectionMatch, VirtualHost};

/// `ProxyVia`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProxyVia {
    #[default]
    Off,
    On,
    Full,
    Block,
}

/// `ProxyStatus`: whether mod_status's page shows the load balancers (On and Full
/// show the same tables).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProxyStatus {
    #[default]
    Off,
    On,
    Full,
}

/// `ProxyFCGIBackendType`: how SCRIPT_FILENAME is presented to the application.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FcgiBackendType {
    /// PHP-FPM: a plain filesystem path.
    #[default]
    Fpm,
    /// Anything else: `proxy:fcgi://host:port/path` as Apache's filename.
    Generic,
}

/// The protocol spoken to a backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Http,
    /// HTTP over TLS (`SSLProxyEngine on` in the host).
    Https,
    Fcgi,
}

/// Where a backend listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BackendAddr {
    Tcp { host: String, port: u16 },
    Unix(PathBuf),
}

/// Worker parameters (`key=value` after the URL).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerParams {
    /// How long a backend stays in error state after a failed connect (`retry=`, 60 s).
    pub retry: Duration,
    /// Read/write timeout (`timeout=`); `None` = ProxyTimeout, else Timeout.
    pub timeout: Option<Duration>,
    /// Connect timeout (`connectiontimeout=`); `None` = the read timeout.
    pub connect_timeout: Option<Duration>,
    /// TCP keep-alive probes on backend connections (`keepalive=On`).
    pub tcp_keepalive: bool,
    /// Never reuse a backend connection (`disablereuse=On`).
    pub disable_reuse: bool,
    /// FastCGI connection reuse (`enablereuse=On`; off by default for fcgi as Apache).
    pub enable_reuse: Option<bool>,
    /// Protocols a client may switch to through this backend (`upgrade=websocket`,
    /// comma-separated, `ANY` for any; `ws://`/`wss://` URLs: `websocket`), lower case.
    pub upgrade: Option<Vec<String>>,
    /// At most this many connections to the backend in use at once per process
    /// (`max=`); `None`: no limit.
    pub max: Option<usize>,
    /// Idle pooled connections above this many are closed once idle longer than `ttl`
    /// (`smax=`); `None`: every idle connection is subject to `ttl`.
    pub smax: Option<usize>,
    /// Idle pooled connections older than this are closed, not reused (`ttl=`).
    pub ttl: Option<Duration>,
    /// How long a request waits for a connection when `max` are in use (`acquire=`,
    /// milliseconds); `None`: the backend's read timeout.
    pub acquire: Option<Duration>,
    /// Read size for the backend's response (`iobuffersize=`, ProxyIOBufferSize).
    pub io_buffer: Option<usize>,
    /// SO_RCVBUF of backend sockets (`receivebuffersize=`, ProxyReceiveBufferSize).
    pub receive_buffer: Option<usize>,
    /// Parameters accepted without effect (`flushpackets=`, `ping=` ...), named in a
    /// warning at start.
    pub ignored: Vec<String>,
}

impl Default for WorkerParams {
    fn default() -> Self {
        WorkerParams {
            retry: Duration::from_secs(60),
            timeout: None,
            connect_timeout: None,
            tcp_keepalive: false,
            disable_reuse: false,
            enable_reuse: None,
            upgrade: None,
            max: None,
            smax: None,
            ttl: None,
            acquire: None,
            io_buffer: None,
            receive_buffer: None,
            ignored: Vec::new(),
        }
    }
}

/// A backend URL: `http://host:port/path`, `fcgi://host:port/path`,
/// `unix:/run/php.sock|fcgi://localhost/path`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backend {
    /// The URL as written (without a `unix:...|` prefix), for logs and ProxyPassReverse.
    pub url: String,
    pub scheme: Scheme,
    pub addr: BackendAddr,
    /// The `Host` header sent to an HTTP backend (`host` or `host:port`).
    pub authority: String,
    /// The path part of the URL (`/` when empty).
    pub path: String,
    pub params: WorkerParams,
    /// [`Backend::key`], made once.
    pool_key: String,
}

impl Backend {
    /// Parse a backend URL (without parameters).
    pub fn parse(url: &str) -> Result<Backend, String> {
        let (unix, rest) = match url.split_once('|') {
            Some((u, r)) if u.len() > 5 && u[..5].eq_ignore_ascii_case("unix:") => {
                (Some(PathBuf::from(&u[5..])), r)
            }
            _ => (None, url),
        };
        let (scheme, after) = rest
            .split_once("://")
            .ok_or_else(|| format!("Invalid ProxyPass target '{url}': not an absolute URL"))?;
        let lower = scheme.to_ascii_lowercase();
        // mod_proxy_wstunnel's URLs: HTTP(S) whose requests may switch to WebSocket.
        let websocket = matches!(lower.as_str(), "ws" | "wss");
        let scheme = match lower.as_str() {
            "http" | "ws" => Scheme::Http,
            "fcgi" => Scheme::Fcgi,
            "https" | "wss" => Scheme::Https,
            other => {
                return Err(format!(
                    "ProxyPass {url}: scheme '{other}' is not supported by rhttpd (http and fcgi are)"
                ));
            }
        };
        let (authority, path) = match after.find('/') {
            Some(i) => (&after[..i], &after[i..]),
            None => (after, "/"),
        };
        if authority.is_empty() {
            return Err(format!("ProxyPass {url}: the URL has no host"));
        }
        let default_port = match scheme {
            Scheme::Http => 80,
            Scheme::Https => 443,
            Scheme::Fcgi => 8000,
        };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, p) = v6
                .split_once(']')
                .ok_or_else(|| format!("ProxyPass {url}: bad IPv6 address"))?;
            let port = match p.strip_prefix(':') {
                Some(p) => p
                    .parse()
                    .map_err(|_| format!("ProxyPass {url}: bad port"))?,
                None => default_port,
            };
            (h.to_string(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (
                    h.to_string(),
                    p.parse()
                        .map_err(|_| format!("ProxyPass {url}: bad port '{p}'"))?,
                ),
                None => (authority.to_string(), default_port),
            }
        };
        let addr = match unix {
            Some(p) => BackendAddr::Unix(p),
            None => BackendAddr::Tcp {
                host: host.clone(),
                port,
            },
        };
        Ok(Backend {
            url: rest.to_string(),
            pool_key: Backend::pool_key(scheme, &addr),
            scheme,
            addr,
            authority: authority.to_string(),
            path: path.to_string(),
            params: WorkerParams {
                upgrade: websocket.then(|| vec!["websocket".to_string()]),
                ..WorkerParams::default()
            },
        })
    }

    /// A `ws://` or `wss://` URL (mod_proxy_wstunnel's).
    pub fn is_websocket_url(&self) -> bool {
        let l = self.url.as_bytes();
        l.len() > 3 && (l[..3].eq_ignore_ascii_case(b"ws:") || l[..4].eq_ignore_ascii_case(b"wss:"))
    }

    /// The key of this backend's connection pool and error state.
    pub fn key(&self) -> &str {
        &self.pool_key
    }

    fn pool_key(scheme: Scheme, addr: &BackendAddr) -> String {
        match addr {
            BackendAddr::Tcp { host, port } if scheme == Scheme::Https => {
                format!("https://{host}:{port}")
            }
            BackendAddr::Tcp { host, port } => format!("{host}:{port}"),
            BackendAddr::Unix(p) => format!("unix:{}", p.display()),
        }
    }

    pub(crate) fn apply_params(&mut self, params: &[String]) -> Result<(), String> {
        for p in params {
            let Some((k, v)) = p.split_once('=') else {
                return Err(format!(
                    "Invalid ProxyPass parameter '{p}' (expected key=value)"
                ));
            };
            let secs = |v: &str| -> Result<Duration, String> {
                v.parse::<u64>()
                    .map(Duration::from_secs)
                    .or_else(|_| {
                        v.strip_suffix("ms")
                            .and_then(|m| m.parse::<u64>().ok())
                            .map(Duration::from_millis)
                            .ok_or(())
                    })
                    .map_err(|_| format!("ProxyPass {k}={v}: not a number of seconds"))
            };
            let on = |v: &str| -> Result<bool, String> {
                match v.to_ascii_lowercase().as_str() {
                    "on" => Ok(true),
                    "off" => Ok(false),
                    _ => Err(format!("ProxyPass {k} must be On|Off")),
                }
            };
            match k.to_ascii_lowercase().as_str() {
                "retry" => self.params.retry = secs(v)?,
                "timeout" => self.params.timeout = Some(secs(v)?),
                "connectiontimeout" => self.params.connect_timeout = Some(secs(v)?),
                "keepalive" => self.params.tcp_keepalive = on(v)?,
                "disablereuse" => self.params.disable_reuse = on(v)?,
                "enablereuse" => self.params.enable_reuse = Some(on(v)?),
                "upgrade" => {
                    let list: Vec<String> = v
                        .split(',')
                        .map(|p| p.trim().to_ascii_lowercase())
                        .filter(|p| !p.is_empty())
                        .collect();
                    if list.is_empty() {
                        return Err(format!("ProxyPass upgrade={v}: no protocol named"));
                    }
                    self.params.upgrade = Some(list);
                }
                "max" | "smax" | "iobuffersize" | "receivebuffersize" => {
                    let n: usize = v
                        .parse()
                        .map_err(|_| format!("ProxyPass {k}={v}: not a number"))?;
                    match k.to_ascii_lowercase().as_str() {
                        "max" => self.params.max = (n > 0).then_some(n),
                        "smax" => self.params.smax = Some(n),
                        "iobuffersize" => {
                            self.params.io_buffer = (n > 0).then_some(n.clamp(512, 1 << 20))
                        }
                        _ => self.params.receive_buffer = (n > 0).then_some(n.max(512)),
                    }
                }
                "ttl" => self.params.ttl = Some(secs(v)?).filter(|t| !t.is_zero()),
                // Apache: milliseconds.
                "acquire" => {
                    let ms: u64 = v.parse().map_err(|_| {
                        format!("ProxyPass acquire={v}: not a number of milliseconds")
                    })?;
                    self.params.acquire = Some(Duration::from_millis(ms));
                }
                // Accepted without effect: the connections are opened when needed
                // (`min`), every piece of a response is written as it is read
                // (`flushpackets`, `flushwait`), no 100-continue probe (`ping`).
                "min" | "flushpackets" | "flushwait" | "ping" => {
                    self.params.ignored.push(format!("{k}={v}"))
                }
                // The balancer's parameters.
                "lbset" | "loadfactor" | "route" | "redirect" | "status" => {}
                _ => return Err(format!("ProxyPass unknown Worker parameter '{k}'")),
            }
        }
        Ok(())
    }
}

/// One `ProxyPass` rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyRule {
    /// The URL path prefix.
    pub path: String,
    /// `None` for `ProxyPass /path !`.
    pub backend: Option<Arc<Backend>>,
    /// `nocanon`: pass the raw (still encoded) remainder of the URL.
    pub nocanon: bool,
    /// `noquery`: do not pass the query string.
    pub noquery: bool,
    /// `ProxyPass /path balancer://name/...`: resolved by `conf/balancer/`.
    pub balancer: Option<Arc<BalancerTarget>>,
    /// `ProxyPassMatch`: the rule matches URL paths this regex matches (`path` is the
    /// pattern, for logs), and `$N` in the backend URL take its groups.
    pub regex: Option<super::alias::UrlRegex>,
}

/// The target of a `ProxyPass` to a balancer, as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BalancerTarget {
    /// `balancer://name/path`.
    pub url: String,
    /// The `key=value` parameters: balancer parameters (`stickysession=` ...).
    pub params: Vec<String>,
    pub location: rhttpd_config::Location,
}

/// One `ProxyPassReverse` mapping: a header value starting with `url` is rewritten to
/// the front end's URL for `path`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReverseMap {
    pub path: String,
    pub url: String,
}

/// The proxy configuration of the main server or a virtual host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyConfig {
    pub rules: Vec<ProxyRule>,
    pub reverse: Vec<ReverseMap>,
    pub preserve_host: bool,
    /// `ProxyTimeout`; `None` = the host's `Timeout`.
    pub timeout: Option<Duration>,
    /// `ProxyAddHeaders` (X-Forwarded-For/-Host/-Server), default On.
    pub add_headers: bool,
    pub via: ProxyVia,
    /// `ProxyStatus` (Off): On/Full add the balancers' tables to mod_status's page.
    pub status: ProxyStatus,
    pub fcgi_backend: FcgiBackendType,
    /// `ProxyWebsocketIdleTimeout`: a tunnel's idle limit; `None` = the backend's
    /// timeout (`timeout=`, ProxyTimeout, Timeout), as mod_proxy_http's tunnels.
    pub websocket_idle_timeout: Option<Duration>,
    /// `ProxyWebsocketFallbackToProxyHttp` (On): requests to a `ws://` backend that do
    /// not ask for an upgrade are proxied as HTTP; Off: they get 500 (no handler).
    pub websocket_fallback: bool,
    /// ProxyPassReverseCookie*, ProxyErrorOverride, ProxyBadHeader, the buffer sizes and
    /// the `<Proxy>` sections (types in `proxy_extra.rs`, parsed by `proxy_match.rs` and
    /// `build/proxy_sections.rs`).
    pub extra: Arc<super::proxy_extra::ProxyExtra>,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        ProxyConfig {
            rules: Vec::new(),
            reverse: Vec::new(),
            preserve_host: false,
            timeout: None,
            add_headers: true,
            via: ProxyVia::Off,
            status: ProxyStatus::Off,
            fcgi_backend: FcgiBackendType::Fpm,
            websocket_idle_timeout: None,
            websocket_fallback: true,
            extra: Arc::default(),
        }
    }
}

impl ProxyConfig {
    /// The first rule whose path is a prefix of `uri_path` (on a segment boundary when
    /// the rule's path does not end with `/`), or whose regex (ProxyPassMatch) matches it.
    pub fn find(&self, uri_path: &str) -> Option<&ProxyRule> {
        self.rules.iter().find(|r| match &r.regex {
            Some(re) => re.0.is_match(uri_path),
            None => prefix_rest(&r.path, uri_path).is_some(),
        })
    }
}

/// `path` with `prefix` removed when `prefix` matches on a segment boundary.
pub fn prefix_rest<'a>(prefix: &str, path: &'a str) -> Option<&'a str> {
    let rest = path.strip_prefix(prefix)?;
    if prefix.ends_with('/') || rest.is_empty() || rest.starts_with('/') {
        Some(rest)
    } else {
        None
    }
}

/// Directives this file gives a meaning to.
pub fn handles(name: &str) -> bool {
    matches!(
        name,
        "ProxyPass"
            | "ProxyPassReverse"
            | "ProxyPreserveHost"
            | "ProxyTimeout"
            | "ProxyRequests"
            | "ProxyAddHeaders"
            | "ProxyVia"
            | "ProxyStatus"
            | "ProxyFCGIBackendType"
            | "ProxyWebsocketIdleTimeout"
            | "ProxyWebsocketFallbackToProxyHttp"
    )
}

/// `N` seconds or `Nms`.
fn parse_timeout(v: &str) -> Option<Duration> {
    match v.strip_suffix("ms") {
        Some(ms) => ms.parse().ok().map(Duration::from_millis),
        None => v.parse().ok().map(Duration::from_secs),
    }
}

fn err(d: &Directive, msg: impl Into<String>) -> ConfigError {
    ConfigError::at(&d.location, msg)
}

fn flag(d: &Directive) -> bool {
    d.args.first().is_some_and(|a| a.eq_ignore_ascii_case("on"))
}

/// A proxy directive at server or virtual-host level (`path` = `None`) or inside
/// `<Location path>`.
fn apply(
    host: &mut VirtualHost,
    d: &Directive,
    path: Option<&str>,
    warnings: &mut Vec<String>,
) -> Result<(), ConfigError> {
    let pc = Arc::make_mut(&mut host.proxy);
    let a0 = d.args.first().map(String::as_str).unwrap_or("");
    match d.name {
        "ProxyPass" => {
            let (prefix, rest) = match path {
                Some(p) => (p.to_string(), &d.args[..]),
                None => {
                    if d.args.len() < 2 || d.args[1].contains('=') {
                        return Err(err(
                            d,
                            "ProxyPass needs a path when not defined in a location",
                        ));
                    }
                    (a0.to_string(), &d.args[1..])
                }
            };
            let mut rule = parse_target(d, rest, warnings)?;
            rule.path = prefix;
            pc.rules.push(rule);
        }
        "ProxyPassReverse" => {
            let (prefix, url) = match path {
                Some(p) => (p.to_string(), a0.to_string()),
                None => match d.args.get(1) {
                    Some(u) if u != "interpolate" => (a0.to_string(), u.clone()),
                    _ => {
                        return Err(err(
                            d,
                            "ProxyPassReverse needs a path when not defined in a location",
                        ));
                    }
                },
            };
            pc.reverse.push(ReverseMap { path: prefix, url });
        }
        "ProxyPreserveHost" => pc.preserve_host = flag(d),
        "ProxyAddHeaders" => pc.add_headers = flag(d),
        "ProxyTimeout" => {
            let n: u64 = a0
                .parse()
                .map_err(|_| err(d, "ProxyTimeout must be a number of seconds"))?;
            pc.timeout = Some(Duration::from_secs(n));
        }
        "ProxyWebsocketIdleTimeout" => {
            let t = parse_timeout(a0).ok_or_else(|| {
                err(
                    d,
                    "ProxyWebsocketIdleTimeout timeout must be a non-negative integer",
                )
            })?;
            pc.websocket_idle_timeout = (!t.is_zero()).then_some(t);
        }
        "ProxyWebsocketFallbackToProxyHttp" => pc.websocket_fallback = flag(d),
        "ProxyRequests" => {
            if flag(d) {
                return Err(err(
                    d,
                    "ProxyRequests On: forward proxying is not supported by rhttpd (reverse proxying with ProxyPass is)",
                ));
            }
        }
        "ProxyVia" => {
            pc.via = match a0.to_ascii_lowercase().as_str() {
                "off" => ProxyVia::Off,
                "on" => ProxyVia::On,
                "full" => ProxyVia::Full,
                "block" => ProxyVia::Block,
                _ => return Err(err(d, "ProxyVia must be one of: off | on | full | block")),
            }
        }
        "ProxyStatus" => {
            pc.status = match a0.to_ascii_lowercase().as_str() {
                "off" => ProxyStatus::Off,
                "on" => ProxyStatus::On,
                "full" => ProxyStatus::Full,
                _ => return Err(err(d, "ProxyStatus must be one of: off | on | full")),
            }
        }
        "ProxyFCGIBackendType" => {
            pc.fcgi_backend = match a0.to_ascii_lowercase().as_str() {
                "fpm" => FcgiBackendType::Fpm,
                "generic" => FcgiBackendType::Generic,
                _ => {
                    return Err(err(
                        d,
                        "ProxyFCGIBackendType requires one of the following arguments: 'GENERIC', 'FPM'",
                    ));
                }
            }
        }
        _ => return Err(err(d, format!("{} not allowed here", d.name))),
    }
    Ok(())
}

/// The target of a `ProxyPass`/`ProxyPassMatch` (`rest`: the URL or `!`, then flags
/// and `key=value` parameters), as a rule without its path.
pub(crate) fn parse_target(
    d: &Directive,
    rest: &[String],
    warnings: &mut Vec<String>,
) -> Result<ProxyRule, ConfigError> {
    let target = rest.first().map(String::as_str).unwrap_or("");
    let mut nocanon = false;
    let mut noquery = false;
    let mut params = Vec::new();
    for a in rest.iter().skip(1) {
        match a.to_ascii_lowercase().as_str() {
            "nocanon" => nocanon = true,
            "noquery" => noquery = true,
            "interpolate" => {}
            _ => params.push(a.clone()),
        }
    }
    let is_balancer = target
        .get(..11)
        .is_some_and(|p| p.eq_ignore_ascii_case("balancer://"));
    let balancer = is_balancer.then(|| {
        Arc::new(BalancerTarget {
            url: target.to_string(),
            params: params.clone(),
            location: d.location.clone(),
        })
    });
    let backend = if target == "!" || is_balancer {
        None
    } else {
        let mut b = Backend::parse(target).map_err(|m| err(d, m))?;
        b.apply_params(&params).map_err(|m| err(d, m))?;
        warn_ignored(d, &b, warnings);
        Some(Arc::new(b))
    };
    Ok(ProxyRule {
        path: String::new(),
        backend,
        nocanon,
        noquery,
        balancer,
        regex: None,
    })
}

/// A start-up warning naming the worker parameters of `b` that have no effect.
pub(crate) fn warn_ignored(d: &Directive, b: &Backend, warnings: &mut Vec<String>) {
    if !b.params.ignored.is_empty() {
        warnings.push(format!(
            "{}: {} {}: parameter(s) {} accepted but have no effect in rhttpd",
            d.location,
            d.name,
            b.url,
            b.params.ignored.join(" ")
        ));
    }
}

/// A proxy directive at server or virtual-host level.
pub fn host_directive(
    host: &mut VirtualHost,
    d: &Directive,
    warnings: &mut Vec<String>,
) -> Result<(), ConfigError> {
    apply(host, d, None, warnings)
}

/// The proxy directives inside a per-directory section (skipped by the section's own
/// body): `ProxyPass URL` and `ProxyPassReverse URL` take the `<Location>` path; the
/// flags apply to the whole host.
pub fn section_hook(
    host: &mut VirtualHost,
    matcher: &SectionMatch,
    children: &[Node],
    warnings: &mut Vec<String>,
) -> Result<(), ConfigError> {
    for node in children {
        let Node::Directive(d) = node else { continue };
        if !handles(d.name) {
            continue;
        }
        let needs_path = matches!(d.name, "ProxyPass" | "ProxyPassReverse");
        if !needs_path {
            apply(host, d, None, warnings)?;
            continue;
        }
        match matcher {
            SectionMatch::Location(PathPattern::Wildcard(p)) => {
                if d.args.len() > 1 && !d.args[1].contains('=') && d.name == "ProxyPass" {
                    return Err(err(
                        d,
                        "ProxyPass can not have a path when defined in a location",
                    ));
                }
                apply(host, d, Some(p), warnings)?
            }
            SectionMatch::Location(PathPattern::Regex(_)) => {
                return Err(err(
                    d,
                    format!(
                        "{} inside <LocationMatch> is not supported by rhttpd; use a <Location> prefix",
                        d.name
                    ),
                ));
            }
            _ => {
                return Err(err(
                    d,
                    format!("{} cannot occur within <Directory>/<Files> section", d.name),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_urls() {
        let b = Backend::parse("http://127.0.0.1:8080/app/").unwrap();
        assert_eq!(b.scheme, Scheme::Http);
        assert_eq!(
            b.addr,
            BackendAddr::Tcp {
                host: "127.0.0.1".into(),
                port: 8080
            }
        );
        assert_eq!(
            (b.path.as_str(), b.authority.as_str()),
            ("/app/", "127.0.0.1:8080")
        );
        let b = Backend::parse("http://example.org").unwrap();
        assert_eq!((b.path.as_str(), b.key()), ("/", "example.org:80"));
        let b = Backend::parse("unix:/run/php/php-fpm.sock|fcgi://localhost").unwrap();
        assert_eq!(b.scheme, Scheme::Fcgi);
        assert_eq!(b.addr, BackendAddr::Unix("/run/php/php-fpm.sock".into()));
        assert_eq!(b.url, "fcgi://localhost");
        let b = Backend::parse("fcgi://[::1]:9000/srv/").unwrap();
        assert_eq!(b.key(), "::1:9000");
        assert!(Backend::parse("ftp://x/").is_err());
        let tls = Backend::parse("https://x/").unwrap();
        assert_eq!((tls.scheme, tls.key()), (Scheme::Https, "https://x:443"));
        assert!(Backend::parse("/relative").is_err());
        let mut b = Backend::parse("http://h/").unwrap();
        b.apply_params(&[
            "retry=5".into(),
            "timeout=2".into(),
            "disablereuse=On".into(),
        ])
        .unwrap();
        assert_eq!(b.params.retry, Duration::from_secs(5));
        assert_eq!(b.params.timeout, Some(Duration::from_secs(2)));
        assert!(b.params.disable_reuse);
        assert!(b.apply_params(&["bogus=1".into()]).is_err());
    }

    #[test]
    fn first_matching_rule_wins() {
        let rule = |p: &str, t: Option<&str>| ProxyRule {
            path: p.into(),
            backend: t.map(|t| Arc::new(Backend::parse(t).unwrap())),
            nocanon: false,
            noquery: false,
            balancer: None,
            regex: None,
        };
        let pc = ProxyConfig {
            rules: vec![rule("/app/static", None), rule("/app", Some("http://b/"))],
            ..ProxyConfig::default()
        };
        assert!(pc.find("/app/static/x").unwrap().backend.is_none());
        assert!(pc.find("/app/x").unwrap().backend.is_some());
        assert!(pc.find("/app").is_some());
        assert!(pc.find("/application").is_none());
        assert!(pc.find("/other").is_none());
    }
}
