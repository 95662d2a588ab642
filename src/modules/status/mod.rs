//! mod_status: `SetHandler server-status` serves the server's status page, read from
//! the shared-memory scoreboard, the same for every MPM.
//!
//! Formats, chosen by the query string (options combine, `?auto&refresh=5`):
//!
//! * default: Apache 2.4's HTML page (`html`), `?notable` without tables;
//! * `?auto`: Apache's machine-readable `Key: value` lines (`auto`), which monitoring
//!   tools (prometheus-apache-exporter, collectd, Telegraf ...) parse;
//! * `?json`: the same data as JSON (`json`), and `?metrics`: Prometheus text
//!   exposition format 0.0.4 (`metrics`) — rhttpd additions;
//! * `?refresh[=N]` adds `Refresh: N` (10 when N < 1).
//!
//! The handler is registered only when `status_module` is loaded
//! ([`handlers_for`]); each MPM describes itself with an [`MpmInfo`].

mod auto;
mod html;
mod json;
mod metrics;
mod report;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE, REFRESH};
use rhttpd_http::{Method, StatusCode};

use crate::conf::{ServerConfig, ServerTokens};
use crate::error_pages::server_banner;
use crate::handler::{Body, Handler, Request, RequestBody, Response};
use crate::scoreboard::{Scoreboard, now_micros};

pub use report::{CellRow, Env, ProcRow, Report, Totals};

/// The name `SetHandler` uses.
pub const HANDLER_NAME: &str = "server-status";

/// What the status page says about the MPM, and how to read its scoreboard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MpmInfo {
    /// "prefork", "worker" or "event" (`ServerMPM`).
    pub name: &'static str,
    /// `ServerLimit` (process slots of the scoreboard).
    pub server_limit: usize,
    /// `ThreadLimit` (cells per slot; 1 for prefork).
    pub thread_limit: usize,
    /// `ThreadsPerChild` (1 for prefork). Dead cells at or beyond it are not shown.
    pub threads_per_child: usize,
    /// `MaxRequestWorkers`. Dead cells of slots at or beyond
    /// `MaxRequestWorkers / ThreadsPerChild` are not shown.
    pub max_request_workers: usize,
    /// The MPM is asynchronous (event): adds the per-process connection table and the
    /// `Processes` ... `ConnsAsyncClosing` keys.
    pub is_async: bool,
    /// `ServerVersion` (Apache's full server description).
    pub server_version: String,
    /// `Server Built` date.
    pub server_built: String,
}

impl MpmInfo {
    /// An MPM description with this build's version banner and build date.
    pub fn new(
        name: &'static str,
        server_limit: usize,
        thread_limit: usize,
        threads_per_child: usize,
        max_request_workers: usize,
        is_async: bool,
    ) -> MpmInfo {
        MpmInfo {
            name,
            server_limit,
            thread_limit,
            threads_per_child,
            max_request_workers,
            is_async,
            server_version: server_banner(ServerTokens::Full),
            server_built: built_date(),
        }
    }

    /// The prefork MPM: one cell per process.
    pub fn prefork(server_limit: usize, max_request_workers: usize) -> MpmInfo {
        MpmInfo::new("prefork", server_limit, 1, 1, max_request_workers, false)
    }

    /// Apache's `AP_MPMQ_MAX_DAEMONS`: process slots that may be in use.
    pub fn max_daemons(&self) -> usize {
        self.max_request_workers
            .div_ceil(self.threads_per_child.max(1))
            .max(1)
    }
}

/// The build date as `rhttpd -v` prints it ("Mar  4 2025 10:11:12").
pub fn built_date() -> String {
    let secs: i64 = env!("RHTTPD_BUILT_EPOCH").parse().unwrap_or(0);
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%b %e %Y %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// The extra handlers an MPM registers in its generation: the status handler when
/// `status_module` is loaded, else none.
pub fn handlers_for(
    cfg: &ServerConfig,
    scoreboard: &Scoreboard,
    mpm: MpmInfo,
) -> Vec<Arc<dyn Handler>> {
    if cfg.loaded_modules.contains(&"status_module") {
        vec![Arc::new(StatusHandler::new(scoreboard.clone(), mpm))]
    } else {
        Vec::new()
    }
}

/// The `server-status` handler.
pub struct StatusHandler {
    scoreboard: Scoreboard,
    mpm: MpmInfo,
}

impl StatusHandler {
    pub fn new(scoreboard: Scoreboard, mpm: MpmInfo) -> StatusHandler {
        StatusHandler { scoreboard, mpm }
    }

    /// The report for a request described by `env`.
    pub fn report(&self, env: Env) -> Report {
        Report::build(&self.scoreboard.snapshot(), &self.mpm, env)
    }
}

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Html,
    Auto,
    Json,
    Metrics,
}

/// What the query string asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Query {
    pub format: Format,
    pub notable: bool,
    /// Seconds for `Refresh:`.
    pub refresh: Option<u64>,
}

impl Query {
    /// Apache's parsing: `&`-separated words, each matched case-insensitively by
    /// prefix (`refresh`, `refresh=N`, `notable`, `auto`), plus `json` and `metrics`.
    /// When several formats are named, metrics > json > auto.
    pub fn parse(q: Option<&str>) -> Query {
        let mut out = Query {
            format: Format::Html,
            notable: false,
            refresh: None,
        };
        let (mut auto, mut json, mut metrics) = (false, false, false);
        for arg in q.unwrap_or("").split('&') {
            let lower = arg.to_ascii_lowercase();
            if let Some(rest) = lower.strip_prefix("refresh") {
                let t = rest.strip_prefix('=').map(atol).unwrap_or(0);
                out.refresh = Some(if t < 1 { 10 } else { t as u64 });
            } else if lower.starts_with("notable") {
                out.notable = true;
            } else if lower.starts_with("auto") {
                auto = true;
            } else if lower.starts_with("json") {
                json = true;
            } else if lower.starts_with("metrics") {
                metrics = true;
            }
        }
        out.format = if metrics {
            Format::Metrics
        } else if json {
            Format::Json
        } else if auto {
            Format::Auto
        } else {
            Format::Html
        };
        out
    }
}

/// C's `atol`: optional sign and leading digits, 0 if none.
fn atol(s: &str) -> i64 {
    let s = s.trim_start();
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let n = digits
        .bytes()
        .take_while(u8::is_ascii_digit)
        .fold(0i64, |n, d| {
            n.saturating_mul(10).saturating_add(i64::from(d - b'0'))
        });
    if neg { -n } else { n }
}

/// What the HTML page needs besides the report.
pub struct PageOptions<'a> {
    pub notable: bool,
    pub refresh: Option<u64>,
    /// The signature line (`<hr />\n<address>...</address>\n`), empty when
    /// ServerSignature is Off.
    pub signature: &'a str,
    /// Other modules' sections, before the signature (ProxyStatus's balancer tables).
    pub sections: &'a str,
}

impl Handler for StatusHandler {
    fn name(&self) -> &'static str {
        HANDLER_NAME
    }

    /// Reads shared memory only: the event listener serves it inline.
    fn may_block(&self) -> bool {
        false
    }

    fn handle(&self, req: &Request<'_>, _body: &mut RequestBody<'_>) -> Response {
        if req.head.method != Method::GET && req.head.method != Method::HEAD {
            return Response::error(StatusCode::METHOD_NOT_ALLOWED).header(ALLOW, "GET,HEAD");
        }
        let query = Query::parse(req.head.query.as_deref());
        let server_name = req
            .head
            .host
            .clone()
            .or_else(|| req.vhost.server_name.clone())
            .map(|n| strip_port(&n).to_string())
            .unwrap_or_else(|| "localhost".into());
        let env = Env {
            server_name,
            local_ip: req.conn.local.ip().to_string(),
            local_port: req.conn.local.port(),
            now_micros: now_micros(),
            load: report::load_average(),
            extended: req.server.extended_status.unwrap_or(true),
            tls: tls_status(req.server),
        };
        let report = self.report(env);
        let (content_type, text) = match query.format {
            Format::Auto => ("text/plain; charset=ISO-8859-1", auto::render(&report)),
            Format::Json => ("application/json", json::render(&report)),
            Format::Metrics => (
                "text/plain; version=0.0.4; charset=utf-8",
                metrics::render(&report),
            ),
            Format::Html => {
                let signature = signature(req, &report.env);
                let sections = crate::modules::proxy_status::html_section(
                    req,
                    crate::modules::proxy_hcheck::current().as_ref(),
                );
                let opts = PageOptions {
                    notable: query.notable,
                    refresh: query.refresh,
                    signature: &signature,
                    sections: &sections,
                };
                (
                    "text/html; charset=ISO-8859-1",
                    html::render(&report, &opts),
                )
            }
        };
        let mut resp = Response::new(StatusCode::OK, Body::Bytes(Bytes::from(text)))
            .header(CONTENT_TYPE, content_type);
        if let Some(n) = query.refresh {
            resp = resp.header(REFRESH, &n.to_string());
        }
        resp
    }
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host
            .split_once(']')
            .map(|(h, _)| &host[..=h.len()])
            .unwrap_or(host);
    }
    match host.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') && p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

/// Apache's `ap_psignature("<hr />\n", r)`.
fn signature(req: &Request<'_>, env: &Env) -> String {
    use crate::conf::ServerSignature;
    use crate::error_pages::html_escape;
    let sig = req.dir.server_signature();
    if sig == ServerSignature::Off {
        return String::new();
    }
    let name = html_escape(&env.server_name);
    let server = match (sig, &req.vhost.server_admin) {
        (ServerSignature::Email, Some(admin)) => {
            format!("<a href=\"mailto:{}\">{name}</a>", html_escape(admin))
        }
        _ => name,
    };
    format!(
        "<hr />\n<address>{} Server at {server} Port {}</address>\n",
        server_banner(req.server.server_tokens),
        env.local_port
    )
}

/// The TLS hosts of the configuration and the session cache's counters.
fn tls_status(cfg: &crate::conf::ServerConfig) -> Option<report::TlsStatus> {
    let hosts: Vec<String> = std::iter::once(&cfg.main)
        .chain(&cfg.vhosts)
        .filter(|h| h.ssl.engine)
        .map(|h| {
            let name = h.server_name.as_deref().unwrap_or("localhost");
            match h.addrs.first().and_then(|a| a.port) {
                Some(p) => format!("{name}:{p}"),
                None => name.to_string(),
            }
        })
        .collect();
    if hosts.is_empty() {
        return None;
    }
    Some(report::TlsStatus {
        hosts,
        cache: crate::tls::session_cache_status(),
    })
}
