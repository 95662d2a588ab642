//! mod_proxy_balancer's configuration: `<Proxy "balancer://name">` sections with
//! `BalancerMember URL [key=value ...]` and `ProxySet key=value ...`, the same directives
//! at server/virtual-host level with the balancer URL first, the balancer parameters a
//! `ProxyPass /path balancer://name/ key=value` line sets, and mod_proxy_hcheck's
//! member parameters (`hcmethod=` ...) and `ProxyHCExpr`.
//!
//! The definitions are per host (a virtual host starts with the main server's, as with
//! Apache's default `BalancerInherit On`); the runtime state of each balancer lives in
//! shared memory set up by `modules/proxy_balancer.rs` when the generation is built.
//! Unlike Apache, a `ProxyPass` to a balancer that no section or `BalancerMember`
//! defines is a configuration error (Apache starts and answers 503).

use std::sync::Arc;
use std::time::Duration;

use rhttpd_config::{ConfigError, Directive, Location, Node, Section};

mod params;

use params::parse_member;
pub use params::{parse_status, set_balancer_param};

use super::VirtualHost;
use super::expr::ConfExpr;
use super::proxy::Backend;

/// Apache's `PROXY_WORKER_*` status bits (the letters `status=` and the
/// balancer-manager use), as stored in shared memory.
pub mod status {
    pub const INITIALIZED: u64 = 0x0001;
    pub const IGNORE_ERRORS: u64 = 0x0002;
    pub const DRAIN: u64 = 0x0004;
    pub const DISABLED: u64 = 0x0020;
    pub const STOPPED: u64 = 0x0040;
    pub const IN_ERROR: u64 = 0x0080;
    pub const HOT_STANDBY: u64 = 0x0100;
    pub const HC_FAIL: u64 = 0x0400;
    pub const HOT_SPARE: u64 = 0x0800;
    /// Bits that make a member unusable (Apache's `PROXY_WORKER_NOT_USABLE_BITMAP`).
    pub const NOT_USABLE: u64 = DISABLED | STOPPED | IN_ERROR | HC_FAIL;
    /// `status=` letters and their bits.
    pub const LETTERS: &[(char, u64)] = &[
        ('I', IGNORE_ERRORS),
        ('N', DRAIN),
        ('D', DISABLED),
        ('S', STOPPED),
        ('E', IN_ERROR),
        ('H', HOT_STANDBY),
        ('C', HC_FAIL),
        ('R', HOT_SPARE),
    ];
}

/// `lbmethod=`, each provided by its `lbmethod_*_module`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LbMethod {
    ByRequests,
    ByTraffic,
    ByBusyness,
    /// mod_lbmethod_heartbeat: rhttpd has no mod_heartmonitor, so it balances as
    /// `byrequests` (with a startup warning).
    Heartbeat,
}

impl LbMethod {
    pub const ALL: [LbMethod; 4] = [
        LbMethod::ByRequests,
        LbMethod::ByTraffic,
        LbMethod::ByBusyness,
        LbMethod::Heartbeat,
    ];

    pub fn name(self) -> &'static str {
        match self {
            LbMethod::ByRequests => "byrequests",
            LbMethod::ByTraffic => "bytraffic",
            LbMethod::ByBusyness => "bybusyness",
            LbMethod::Heartbeat => "heartbeat",
        }
    }

    pub fn module(self) -> &'static str {
        match self {
            LbMethod::ByRequests => "lbmethod_byrequests_module",
            LbMethod::ByTraffic => "lbmethod_bytraffic_module",
            LbMethod::ByBusyness => "lbmethod_bybusyness_module",
            LbMethod::Heartbeat => "lbmethod_heartbeat_module",
        }
    }

    pub fn from_name(s: &str) -> Option<LbMethod> {
        LbMethod::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(s))
    }

    /// Index stored in shared memory.
    pub fn index(self) -> u64 {
        LbMethod::ALL.iter().position(|m| *m == self).unwrap_or(0) as u64
    }

    pub fn from_index(i: u64) -> LbMethod {
        LbMethod::ALL
            .get(i as usize)
            .copied()
            .unwrap_or(LbMethod::ByRequests)
    }
}

/// mod_proxy_hcheck's `hcmethod=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HcMethod {
    Tcp,
    Options,
    Head,
    Get,
}

impl HcMethod {
    pub fn name(self) -> &'static str {
        match self {
            HcMethod::Tcp => "TCP",
            HcMethod::Options => "OPTIONS",
            HcMethod::Head => "HEAD",
            HcMethod::Get => "GET",
        }
    }
}

/// A member's health check (mod_proxy_hcheck).
#[derive(Clone, Debug)]
pub struct HealthCheck {
    pub method: HcMethod,
    /// `hcinterval=` (30 s).
    pub interval: Duration,
    /// `hcpasses=`: consecutive passes that bring a failed member back (1).
    pub passes: u32,
    /// `hcfails=`: consecutive failures that take it out (1).
    pub fails: u32,
    /// `hcuri=`: appended to the member's URL path.
    pub uri: String,
    /// `hcexpr=`: the `ProxyHCExpr` deciding whether a response passes (else 2xx/3xx).
    pub expr: Option<(String, ConfExpr)>,
}

/// One `BalancerMember`.
#[derive(Clone, Debug)]
pub struct Member {
    /// The member URL and its worker parameters; `params.retry` is zero here because
    /// the error state lives in the balancer's shared memory, not in mod_proxy's
    /// (see [`Member::retry`]).
    pub backend: Arc<Backend>,
    /// `retry=` (60 s).
    pub retry: Duration,
    /// `route=`.
    pub route: String,
    /// `redirect=`: the route to use when this member is unusable.
    pub redirect: String,
    /// `loadfactor=` 1..100 (1), × 100 as Apache 2.4 keeps it (decimals allowed).
    pub loadfactor: u64,
    /// `lbset=` 0..99 (0).
    pub lbset: u64,
    /// Initial status bits from `status=`.
    pub status: u64,
    /// `hcmethod=` other than NONE.
    pub hc: Option<HealthCheck>,
    /// Where the `BalancerMember` line is.
    pub location: Location,
}

/// Balancer parameters (`ProxySet`, or on the `ProxyPass` line).
#[derive(Clone, Debug)]
pub struct BalancerParams {
    pub lbmethod: LbMethod,
    /// `stickysession=NAME[|URLNAME]`: the cookie and the URL parameter.
    pub sticky: Option<(String, String)>,
    /// `stickysessionsep=` ('.').
    pub sticky_sep: u8,
    /// `scolonpathdelim=On`: `;` also ends a URL session parameter.
    pub scolon: bool,
    /// `nofailover=On`: a request for an unusable route gets 503.
    pub nofailover: bool,
    /// `maxattempts=` (members - 1).
    pub maxattempts: Option<u64>,
    /// `timeout=`: how long to wait for a usable member (0: not at all).
    pub timeout: Duration,
    /// `failonstatus=`: backend statuses that put the member in error state.
    pub failonstatus: Vec<u16>,
    /// `failontimeout=On`: a backend timeout puts the member in error state.
    pub failontimeout: bool,
    /// `forcerecovery=` (On): when all members are in error state, try them anyway.
    pub forcerecovery: bool,
    /// `nonce=`: the balancer-manager's CSRF nonce (`None`: a random one; `Some("")`:
    /// `nonce=None`, no check).
    pub nonce: Option<String>,
    /// `growth=`: accepted (members cannot be added at run time here).
    pub growth: u64,
}

impl Default for BalancerParams {
    fn default() -> Self {
        BalancerParams {
            lbmethod: LbMethod::ByRequests,
            sticky: None,
            sticky_sep: b'.',
            scolon: false,
            nofailover: false,
            maxattempts: None,
            timeout: Duration::ZERO,
            failonstatus: Vec::new(),
            failontimeout: false,
            forcerecovery: true,
            nonce: None,
            growth: 0,
        }
    }
}

/// One balancer of a host.
#[derive(Clone, Debug)]
pub struct Balancer {
    /// `balancer://name`, lower case.
    pub name: String,
    pub members: Vec<Member>,
    pub params: BalancerParams,
    pub location: Location,
}

impl Balancer {
    /// `maxattempts`, Apache's default being one less than the members.
    pub fn max_attempts(&self) -> u64 {
        self.params
            .maxattempts
            .unwrap_or(self.members.len().saturating_sub(1) as u64)
    }

    /// What identifies the balancer's shared state across a graceful restart: the
    /// state is kept only when this text is unchanged.
    pub fn fingerprint(&self) -> String {
        let mut s = format!("{}|{}|{:?}", self.name, self.members.len(), self.params);
        for m in &self.members {
            s.push_str(&format!(
                "|{}|{}|{}|{}|{}|{}|{:?}",
                m.backend.url, m.route, m.redirect, m.loadfactor, m.lbset, m.status, m.hc
            ));
        }
        s
    }
}

/// The balancers and `ProxyHCExpr`s of a host.
#[derive(Clone, Debug, Default)]
pub struct Balancers {
    pub list: Vec<Arc<Balancer>>,
    pub hc_exprs: Vec<(String, ConfExpr)>,
    /// `ProxyHCTemplate name key=value ...`.
    pub hc_templates: Vec<(String, Vec<String>)>,
    /// Startup notices collected while reading (shared workers ...).
    pub notes: Vec<String>,
}

impl Balancers {
    /// The balancer called `name` (`balancer://name`, any case).
    pub fn find(&self, name: &str) -> Option<&Arc<Balancer>> {
        let name = name.to_ascii_lowercase();
        self.list.iter().find(|b| b.name == name)
    }
}

/// Directives this file gives a meaning to.
pub fn handles(name: &str) -> bool {
    matches!(
        name,
        "BalancerMember"
            | "ProxySet"
            | "ProxyHCExpr"
            | "ProxyHCTemplate"
            | "ProxyHCTPsize"
            | "BalancerGrowth"
            | "BalancerPersist"
            | "BalancerInherit"
            | "HeartbeatStorage"
            | "HeartbeatListen"
            | "HeartbeatMaxServers"
            | "HeartbeatAddress"
    )
}

fn err(loc: &Location, msg: impl Into<String>) -> ConfigError {
    ConfigError::at(loc, msg)
}

/// `balancer://name[/path]` → (`balancer://name`, `/path`).
pub fn split_url(url: &str) -> Option<(String, String)> {
    let rest = url
        .get(..11)
        .filter(|p| p.eq_ignore_ascii_case("balancer://"))
        .map(|_| &url[11..])?;
    let (name, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if name.is_empty() {
        return None;
    }
    Some((
        format!("balancer://{}", name.to_ascii_lowercase()),
        path.to_string(),
    ))
}

/// The balancer `name` of `host`, created empty when missing; a balancer shared with
/// the main server is copied first, so the virtual host's change stays its own.
fn balancer_mut<'a>(host: &'a mut VirtualHost, name: &str, loc: &Location) -> &'a mut Balancer {
    let bs = Arc::make_mut(&mut host.balancers);
    let i = match bs.list.iter().position(|b| b.name == name) {
        Some(i) => i,
        None => {
            bs.list.push(Arc::new(Balancer {
                name: name.to_string(),
                members: Vec::new(),
                params: BalancerParams::default(),
                location: loc.clone(),
            }));
            bs.list.len() - 1
        }
    };
    Arc::make_mut(&mut bs.list[i])
}

fn kv(d: &Directive, a: &str) -> Result<(String, String), ConfigError> {
    a.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| {
            err(
                &d.location,
                format!(
                    "Invalid {} parameter. Parameter must be in the form 'key=value'",
                    d.name
                ),
            )
        })
}

/// A balancer directive inside `<Directory>`/`<Location>`/`<Files>`: Apache reads
/// the section's path as a balancer name there, which rhttpd does not; refused.
pub fn in_directory(d: &Directive) -> ConfigError {
    err(
        &d.location,
        match d.name {
            "BalancerMember" if d.args.first().is_some_and(|a| split_url(a).is_some()) => {
                "BalancerMember can not have a balancer name when defined in a location".to_string()
            }
            name => format!(
                "{name} not allowed here (rhttpd: only in <Proxy balancer://...> or at server level)"
            ),
        },
    )
}

/// A balancer directive at server/virtual-host level (`in_section`: the name of the
/// enclosing `<Proxy balancer://...>`).
pub fn directive(
    host: &mut VirtualHost,
    d: &Directive,
    in_section: Option<&str>,
    loaded: &[&str],
) -> Result<(), ConfigError> {
    let a0 = d.args.first().map(String::as_str).unwrap_or("");
    match d.name {
        "BalancerMember" => {
            let (name, url, params) = match in_section {
                Some(n) => {
                    if split_url(a0).is_some() {
                        return Err(err(
                            &d.location,
                            "BalancerMember: the balancer name is given by the <Proxy> section",
                        ));
                    }
                    (n.to_string(), a0, &d.args[1..])
                }
                None => {
                    let Some(url) = d.args.get(1).filter(|u| !u.contains('=')) else {
                        return Err(err(
                            &d.location,
                            "BalancerMember must define remote proxy server",
                        ));
                    };
                    let Some((n, _)) = split_url(a0) else {
                        return Err(err(
                            &d.location,
                            "BalancerMember must define balancer name when outside <Proxy > section",
                        ));
                    };
                    (n, url.as_str(), &d.args[2..])
                }
            };
            let exprs = host.balancers.hc_exprs.clone();
            let templates = host.balancers.hc_templates.clone();
            let m = parse_member(d, url, params, &exprs, &templates, loaded)
                .map_err(|e| err(&d.location, format!("BalancerMember {e}")))?;
            let b = balancer_mut(host, &name, &d.location);
            if b.members.iter().any(|x| x.backend.url == m.backend.url) {
                // Apache shares the existing worker (its parameters stay).
                let note = format!(
                    "AH01147: Sharing worker '{url}' instead of creating new worker '{url}' (line {} of {})",
                    d.location.line,
                    d.location.file.display()
                );
                Arc::make_mut(&mut host.balancers).notes.push(note);
            } else {
                b.members.push(m);
            }
        }
        "ProxySet" => {
            let (name, params) = match in_section {
                Some(n) => (n.to_string(), &d.args[..]),
                None => match split_url(a0) {
                    Some((n, _)) => (n, &d.args[1..]),
                    None => {
                        return Err(err(
                            &d.location,
                            if a0.contains("://") {
                                "ProxySet for a single worker (not a balancer://) is not supported by rhttpd".to_string()
                            } else {
                                format!("ProxySet can not find '{a0}' Worker.")
                            },
                        ));
                    }
                },
            };
            let mut kvs = Vec::new();
            for a in params {
                kvs.push(kv(d, a)?);
            }
            let b = balancer_mut(host, &name, &d.location);
            for (k, v) in kvs {
                set_balancer_param(&mut b.params, &k, &v, loaded)
                    .map_err(|e| err(&d.location, format!("ProxySet: {e} {k}={v}; {name}")))?;
            }
        }
        "ProxyHCExpr" => {
            let name = a0.to_string();
            let src = d.args.get(1).map(String::as_str).unwrap_or("");
            let src = src
                .strip_prefix('{')
                .and_then(|s| s.strip_suffix('}'))
                .ok_or_else(|| err(&d.location, "ProxyHCExpr: the expression must be in {}"))?;
            let e = super::expr::parse(src, &d.location, |m| {
                format!("ProxyHCExpr: Could not parse expression \"{src}\": {m}")
            })?;
            let bs = Arc::make_mut(&mut host.balancers);
            bs.hc_exprs.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
            bs.hc_exprs.push((name, e));
        }
        // Accepted: rhttpd's members are fixed at start, heartbeats are not read.
        "ProxyHCTemplate" => {
            let name = a0.to_string();
            let params = d.args[1..].to_vec();
            // Each checked as a member's parameter would be (Apache's message form).
            let exprs = host.balancers.hc_exprs.clone();
            for p in &params {
                let hc = p
                    .split_once('=')
                    .is_some_and(|(k, _)| k.len() > 2 && k[..2].eq_ignore_ascii_case("hc"))
                    && !p.to_ascii_lowercase().starts_with("hctemplate=");
                let e = if hc {
                    parse_member(
                        d,
                        "http://template.invalid",
                        std::slice::from_ref(p),
                        &exprs,
                        &[],
                        loaded,
                    )
                    .err()
                } else {
                    Some("unknown Worker hcheck parameter".to_string())
                };
                if let Some(e) = e {
                    return Err(err(
                        &d.location,
                        format!("ProxyHCTemplate: {e} {p}; {name}"),
                    ));
                }
            }
            let bs = Arc::make_mut(&mut host.balancers);
            bs.hc_templates
                .retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
            bs.hc_templates.push((name, params));
        }
        // Accepted for compatibility; what rhttpd does not do is said at start.
        "ProxyHCTPsize"
        | "BalancerGrowth"
        | "BalancerPersist"
        | "BalancerInherit"
        | "HeartbeatStorage"
        | "HeartbeatListen"
        | "HeartbeatMaxServers"
        | "HeartbeatAddress" => {
            let why = match d.name {
                "ProxyHCTPsize" => Some("each child runs one health-check thread"),
                "BalancerGrowth" => Some("members cannot be added at run time"),
                "BalancerPersist" if a0.eq_ignore_ascii_case("on") => Some(
                    "balancer-manager changes are kept across a graceful restart of an unchanged balancer, never saved",
                ),
                "BalancerInherit" if a0.eq_ignore_ascii_case("off") => {
                    Some("virtual hosts always inherit the main server's balancers")
                }
                "HeartbeatStorage" | "HeartbeatListen" | "HeartbeatMaxServers" => {
                    Some("rhttpd has no mod_heartmonitor: heartbeats are not read")
                }
                "HeartbeatAddress" => Some("rhttpd has no mod_heartbeat: no heartbeats are sent"),
                _ => None,
            };
            if let Some(why) = why {
                let note = format!(
                    "{} (line {} of {}) has no effect: {why}",
                    d.name,
                    d.location.line,
                    d.location.file.display()
                );
                Arc::make_mut(&mut host.balancers).notes.push(note);
            }
        }
        _ => return Err(err(&d.location, format!("{} not allowed here", d.name))),
    }
    Ok(())
}

/// `<Proxy balancer://name>`: its `BalancerMember` and `ProxySet` lines. Other
/// directives in it (access control ...) are refused: rhttpd applies only the
/// balancer definition.
pub fn proxy_section(
    host: &mut VirtualHost,
    s: &Section,
    loaded: &[&str],
) -> Result<(), ConfigError> {
    let arg = s.args.first().map(String::as_str).unwrap_or("");
    let Some((name, _)) = split_url(arg) else {
        return Err(err(
            &s.location,
            format!(
                "<{} {arg}>: rhttpd supports <Proxy> only for balancer:// URLs",
                s.name
            ),
        ));
    };
    if s.name != "Proxy" {
        return Err(err(
            &s.location,
            "<ProxyMatch> of a balancer is not supported by rhttpd",
        ));
    }
    balancer_mut(host, &name, &s.location);
    for node in &s.children {
        match node {
            Node::Directive(d) if matches!(d.name, "BalancerMember" | "ProxySet") => {
                directive(host, d, Some(&name), loaded)?
            }
            // Tutorials put these in balancer sections; they only grant, so not applying
            // them never lets more through than the <Location> rules do.
            Node::Directive(d) if only_grants(d) => {
                let note = format!(
                    "{} {} inside <Proxy {name}> (line {} of {}) is not applied: rhttpd checks access to proxied URLs with <Location> only",
                    d.name,
                    d.args.join(" "),
                    d.location.line,
                    d.location.file.display()
                );
                Arc::make_mut(&mut host.balancers).notes.push(note);
            }
            Node::Directive(d) => {
                return Err(err(
                    &d.location,
                    format!(
                        "{} inside <Proxy balancer://...> is not supported by rhttpd (only BalancerMember and ProxySet are)",
                        d.name
                    ),
                ));
            }
            Node::Section(inner) => {
                return Err(err(
                    &inner.location,
                    format!(
                        "<{}> inside <Proxy balancer://...> is not supported by rhttpd",
                        inner.name
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// `Require all granted`, `Order ...`, `Allow from all`, `Satisfy Any`.
fn only_grants(d: &Directive) -> bool {
    let args: Vec<String> = d.args.iter().map(|a| a.to_ascii_lowercase()).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match d.name {
        "Require" => args == ["all", "granted"],
        "Order" => true,
        "Allow" => args == ["from", "all"],
        "Satisfy" => args == ["any"],
        _ => false,
    }
}

/// After a host's directives: the `ProxyPass` rules to balancers get their balancer
/// (parameters on the line set the balancer's, as in Apache), and every balancer must
/// exist and have members. `loaded`: the loaded modules.
pub fn finish_host(host: &mut VirtualHost, loaded: &[&str]) -> Result<(), ConfigError> {
    expand_reverse_maps(host);
    let rules = host.proxy.rules.clone();
    for rule in &rules {
        let Some(t) = &rule.balancer else { continue };
        let Some((name, _)) = split_url(&t.url) else {
            continue;
        };
        if !host.balancers.list.iter().any(|b| b.name == name) {
            return Err(err(
                &t.location,
                format!(
                    "ProxyPass {}: no balancer {name} is defined (<Proxy \"{name}\"> with BalancerMember lines, or BalancerMember {name} URL)",
                    t.url
                ),
            ));
        }
        if t.params.is_empty() {
            continue;
        }
        let mut kvs = Vec::new();
        for p in &t.params {
            let (k, v) = p
                .split_once('=')
                .ok_or_else(|| err(&t.location, format!("Invalid ProxyPass parameter '{p}'")))?;
            kvs.push((k.to_string(), v.to_string()));
        }
        let b = balancer_mut(host, &name, &t.location);
        for (k, v) in kvs {
            set_balancer_param(&mut b.params, &k, &v, loaded)
                .map_err(|e| err(&t.location, format!("ProxyPass {e}")))?;
        }
    }
    for b in &host.balancers.list {
        if !loaded.contains(&"lbmethod_byrequests_module")
            && b.params.lbmethod == LbMethod::ByRequests
        {
            return Err(err(&b.location, "Can't find 'byrequests' lb method"));
        }
    }
    Ok(())
}

/// `ProxyPassReverse /path balancer://name/part`: a backend header is rewritten when
/// it starts with any member's URL followed by `part` (Apache's
/// `ap_proxy_location_reverse_map`), so each member gets a mapping of its own.
fn expand_reverse_maps(host: &mut VirtualHost) {
    let mut extra = Vec::new();
    for m in &host.proxy.reverse {
        let Some((name, part)) = split_url(&m.url) else {
            continue;
        };
        let Some(b) = host.balancers.find(&name) else {
            continue;
        };
        let part = if part.len() > 1 { part.as_str() } else { "" };
        for member in &b.members {
            let mut url = member.backend.url.clone();
            if !part.is_empty() && url.ends_with('/') {
                url.pop();
            }
            url.push_str(part);
            let map = super::proxy::ReverseMap {
                path: m.path.clone(),
                url,
            };
            if !host.proxy.reverse.contains(&map) && !extra.contains(&map) {
                extra.push(map);
            }
        }
    }
    if !extra.is_empty() {
        Arc::make_mut(&mut host.proxy).reverse.extend(extra);
    }
}

/// mod_proxy_balancer keeps its state through mod_slotmem_shm, which Apache requires
/// to be loaded (AH01177 at start otherwise).
pub fn check_modules(loaded: &[&str]) -> Result<(), ConfigError> {
    if loaded.contains(&"proxy_balancer_module") && !loaded.contains(&"slotmem_shm_module") {
        return Err(ConfigError::bare(
            "AH01177: Failed to lookup provider 'shm' for 'slotmem': is mod_slotmem_shm loaded??",
        ));
    }
    Ok(())
}

/// Startup warnings for what is accepted but not honoured; for a virtual host
/// (`main`: the main server's balancers) only what it did not inherit.
pub fn warnings(host: &VirtualHost, main: Option<&Balancers>) -> Vec<String> {
    let skip = main.map_or(0, |m| m.notes.len());
    let mut w: Vec<String> = host.balancers.notes.iter().skip(skip).cloned().collect();
    for b in &host.balancers.list {
        if main.is_some_and(|m| m.list.iter().any(|x| Arc::ptr_eq(x, b))) {
            continue;
        }
        if b.members.is_empty() {
            w.push(format!(
                "{}: the balancer has no BalancerMember: its requests get 503 (AH01168)",
                b.name
            ));
        }
        if b.params.lbmethod == LbMethod::Heartbeat {
            w.push(format!(
                "{}: lbmethod=heartbeat needs mod_heartmonitor's multicast heartbeats, which rhttpd does not read: the balancer uses byrequests",
                b.name
            ));
        }
        if b.params.growth > 0 {
            w.push(format!(
                "{}: growth={} has no effect: rhttpd cannot add members at run time",
                b.name, b.params.growth
            ));
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_status_letters() {
        assert_eq!(
            split_url("balancer://MyCluster/app/"),
            Some(("balancer://mycluster".into(), "/app/".into()))
        );
        assert_eq!(
            split_url("balancer://c"),
            Some(("balancer://c".into(), "".into()))
        );
        assert_eq!(split_url("balancer:///x"), None);
        assert_eq!(split_url("http://x/"), None);
        assert_eq!(parse_status(0, "+H").unwrap(), status::HOT_STANDBY);
        assert_eq!(
            parse_status(status::DISABLED, "-D+IE").unwrap(),
            status::IGNORE_ERRORS | status::IN_ERROR
        );
        assert!(parse_status(0, "+X").is_err());
    }

    #[test]
    fn balancer_params() {
        let loaded = ["lbmethod_byrequests_module", "lbmethod_bytraffic_module"];
        let mut p = BalancerParams::default();
        set_balancer_param(&mut p, "lbmethod", "bytraffic", &loaded).unwrap();
        assert_eq!(p.lbmethod, LbMethod::ByTraffic);
        // A method whose module is not loaded is unknown, as in Apache.
        assert!(set_balancer_param(&mut p, "lbmethod", "bybusyness", &loaded).is_err());
        set_balancer_param(&mut p, "stickysession", "JSESSIONID|jsessionid", &loaded).unwrap();
        assert_eq!(p.sticky, Some(("JSESSIONID".into(), "jsessionid".into())));
        set_balancer_param(&mut p, "stickysession", "ROUTEID", &loaded).unwrap();
        assert_eq!(p.sticky, Some(("ROUTEID".into(), "ROUTEID".into())));
        set_balancer_param(&mut p, "failonstatus", "500,503", &loaded).unwrap();
        assert_eq!(p.failonstatus, vec![500, 503]);
        assert!(set_balancer_param(&mut p, "failonstatus", "5000", &loaded).is_err());
        assert!(set_balancer_param(&mut p, "nofailover", "maybe", &loaded).is_err());
        assert!(set_balancer_param(&mut p, "bogus", "1", &loaded).is_err());
        set_balancer_param(&mut p, "nonce", "None", &loaded).unwrap();
        assert_eq!(p.nonce.as_deref(), Some(""));
    }
}
