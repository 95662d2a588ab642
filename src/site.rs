//! A site: the configuration, handlers and open log files that one (re)start of the
//! server serves with (Apache's "generation"). The parent builds it before forking, so children inherit
//! the parsed configuration and the log file descriptors (opened O_APPEND); a graceful
//! restart builds a new site and new children, while old children finish with
//! theirs.

use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::conf::{LogCondition, ServerConfig};
use crate::handler::{ConnInfo, Handler};
use crate::log::{AccessLog, LogRecord};
use crate::pipeline::{Handlers, Outcome, server_banner};
use crate::tls::TlsSite;

pub struct Site {
    pub cfg: Arc<ServerConfig>,
    pub handlers: Handlers,
    /// The `Server` header value (per ServerTokens).
    pub banner: String,
    /// Access logs per host: index 0 = main server, i + 1 = `cfg.vhosts[i]`. Hosts that
    /// share a target share the open file.
    access_logs: Vec<Vec<(Arc<AccessLog>, Option<LogCondition>)>>,
    /// The TLS configurations of the hosts with `SSLEngine on` (`None`: no TLS host).
    pub tls: Option<Arc<TlsSite>>,
}

/// What the connection driver reports about a finished request.
pub struct AccessEntry<'a> {
    pub info: &'a ConnInfo,
    pub head: Option<&'a rhttpd_http::RequestHead>,
    pub outcome: &'a Outcome,
    pub started: SystemTime,
    pub duration: Duration,
    pub status: u16,
    pub original_status: u16,
    pub body_bytes: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub response_headers: &'a http::HeaderMap,
    pub keep_alive: bool,
}

impl Site {
    /// Open the logs and set up the handler registry for `cfg`: the static files, the
    /// handlers of the modules `cfg` loaded, then `extra_handlers` (the MPM's:
    /// `server-status`, which reads its scoreboard).
    pub fn new(mut cfg: ServerConfig, extra_handlers: Vec<Arc<dyn Handler>>) -> io::Result<Site> {
        open_host_error_logs(&mut cfg)?;
        let mut by_target: HashMap<String, Arc<AccessLog>> = HashMap::new();
        let mut access_logs = Vec::with_capacity(cfg.vhosts.len() + 1);
        for host in std::iter::once(&cfg.main).chain(cfg.vhosts.iter()) {
            let mut logs = Vec::new();
            for cl in &host.custom_logs {
                let key = format!("{}\u{0}{:p}", cl.target, Arc::as_ptr(&cl.format));
                let log = match by_target.get(&key) {
                    Some(l) => l.clone(),
                    None => {
                        let l = Arc::new(
                            AccessLog::open(&cl.target, &cfg.server_root, cl.format.clone())
                                .map_err(|e| {
                                    io::Error::new(
                                        e.kind(),
                                        format!(
                                            "AH00649: could not open transfer log file {}: {e}",
                                            cl.target
                                        ),
                                    )
                                })?,
                        );
                        by_target.insert(key, l.clone());
                        l
                    }
                };
                logs.push((log, cl.condition.clone()));
            }
            access_logs.push(logs);
        }
        let cfg = Arc::new(cfg);
        // Certificates and keys are read here, by the parent (still root), before the
        // children are forked; a bad one refuses the generation (exit 1 at start, the
        // old generation keeps serving on restart).
        let tls = TlsSite::build(&cfg)
            .map_err(io::Error::other)?
            .map(Arc::new);
        Ok(Site {
            banner: server_banner(cfg.server_tokens),
            handlers: Handlers::new(
                (crate::modules::handlers(&cfg).into_iter())
                    .chain(extra_handlers)
                    .collect(),
            ),
            cfg,
            access_logs,
            tls,
        })
    }

    /// Write the access-log lines for a finished request.
    pub fn log_access(&self, e: &AccessEntry<'_>) {
        let idx = e.outcome.vhost.map(|i| i + 1).unwrap_or(0);
        let Some(logs) = self.access_logs.get(idx) else {
            return;
        };
        if logs.is_empty() {
            return;
        }
        let host = crate::conf::vhost::host(&self.cfg, e.outcome.vhost);
        let empty = http::HeaderMap::new();
        let (request_line, method, protocol, query, req_headers, host_header) = match e.head {
            Some(h) => (
                h.request_line.as_str(),
                h.method.as_str(),
                rhttpd_http::protocol_name(h.version),
                h.query.as_deref(),
                &h.headers,
                h.host.as_deref(),
            ),
            None => ("-", "-", "-", None, &empty, None),
        };
        let server_name = host.server_name.as_deref().unwrap_or("localhost");
        let server_name = server_name.split(':').next().unwrap_or(server_name);
        let rec = LogRecord {
            client: e.info.client,
            local: e.info.local,
            remote_user: e.outcome.user.as_deref(),
            request_time: e.started,
            duration: e.duration,
            request_line,
            method,
            uri_path: if e.outcome.uri_path.is_empty() {
                e.head.map(|h| h.path.as_str()).unwrap_or("-")
            } else {
                &e.outcome.uri_path
            },
            query,
            protocol,
            status: e.status,
            original_status: e.original_status,
            body_bytes: e.body_bytes,
            bytes_in: e.bytes_in,
            bytes_out: e.bytes_out,
            request_headers: req_headers,
            response_headers: e.response_headers,
            server_name,
            host_header,
            server_port: e.info.local.port(),
            filename: e.outcome.filename.as_deref(),
            keepalives: e.info.keepalives,
            conn_status: if e.keep_alive { '+' } else { '-' },
            ssl_var: &|name| Some(e.info.tls.as_ref()?.var(name)?.into_owned()),
            env_var: &|name| {
                let dir = e.outcome.dir.as_deref().unwrap_or(&host.base_dir);
                let tls = e.info.tls.as_deref();
                Some(crate::modules::env::var(dir, tls, name)?.into_owned())
            },
            notes: &e.outcome.notes,
        };
        for (l, condition) in logs {
            let wanted = match condition {
                None => true,
                Some(LogCondition::Env { name, negate }) => {
                    (rec.env_var)(name).is_some() != *negate
                }
                Some(LogCondition::Expr(expr)) => self.log_expr_holds(expr, e, host),
            };
            if wanted {
                l.log(&rec);
            }
        }
    }

    /// `CustomLog ... expr=`: the expression over the finished request and its response.
    fn log_expr_holds(
        &self,
        expr: &crate::conf::expr::ConfExpr,
        e: &AccessEntry<'_>,
        host: &crate::conf::VirtualHost,
    ) -> bool {
        let unparsed;
        let head = match e.head {
            Some(h) => h,
            None => {
                // A request whose head could not be parsed: no method, target or headers.
                unparsed = unparsed_head();
                &unparsed
            }
        };
        let dir = e.outcome.dir.as_deref().unwrap_or(&host.base_dir);
        let mut ctx = crate::modules::expr_request::ExprRequest::new(head, e.info)
            .with_host(host, self.cfg.server_tokens)
            .with_dir(dir)
            .with_user(e.outcome.user.as_deref())
            .with_notes(&e.outcome.notes)
            .with_response(e.response_headers, e.status);
        if !e.outcome.uri_path.is_empty() {
            ctx = ctx.with_uri(&e.outcome.uri_path);
        }
        if let Some(f) = e.outcome.filename.as_deref() {
            ctx = ctx.with_filename(f);
        }
        expr.eval_or_log(&ctx, "log_config")
    }

    /// Re-open every access log (log rotation).
    pub fn reopen_logs(&self) {
        for logs in &self.access_logs {
            for (l, _) in logs {
                let _ = l.reopen();
            }
        }
    }
}

/// Per-vhost `ErrorLog`/`LogLevel`: each host that names its own log file (or pipe) gets
/// it opened here, in the parent, shared by hosts with the same target; a host with the
/// process's log but its own `LogLevel` gets those levels. Hosts with neither log to the
/// process's error log.
fn open_host_error_logs(cfg: &mut ServerConfig) -> io::Result<()> {
    let mut opened: HashMap<String, crate::log::ErrorLog> = HashMap::new();
    let main_target = cfg.error_log.clone();
    let server_root = cfg.server_root.clone();
    let main_levels = cfg.log_level.clone();
    let format = cfg.error_log_format.clone();
    for host in std::iter::once(&mut cfg.main).chain(cfg.vhosts.iter_mut()) {
        let levels = host.log_level.clone();
        host.request_error_log = match host.error_log.as_deref() {
            Some(target) if target != main_target => {
                let log = match opened.get(target) {
                    Some(l) => l.clone(),
                    None => {
                        let mut l =
                            crate::log::ErrorLog::open(target, &server_root).map_err(|e| {
                                io::Error::new(
                                    e.kind(),
                                    format!("AH00091: could not open error log file {target}: {e}"),
                                )
                            })?;
                        l.set_format(format.clone());
                        opened.insert(target.to_string(), l.clone());
                        l
                    }
                };
                Some(crate::log::HostErrorLog::Own(
                    log.with_levels(levels.unwrap_or_else(|| main_levels.clone())),
                ))
            }
            _ => levels.map(|l| crate::log::HostErrorLog::Levels(Arc::new(l))),
        };
    }
    Ok(())
}

/// The head `CustomLog expr=` sees for a request that could not be parsed.
fn unparsed_head() -> rhttpd_http::RequestHead {
    rhttpd_http::RequestHead {
        method: http::Method::GET,
        raw_target: String::new(),
        path: String::new(),
        query: None,
        version: rhttpd_http::Version::HTTP_10,
        headers: http::HeaderMap::new(),
        host: None,
        request_line: String::new(),
        body: rhttpd_http::BodyFraming::None,
        expect_continue: false,
        connection_close: true,
        connection_keep_alive: false,
        head_len: 0,
    }
}

/// Open the error log named by the config and make it the process's log.
pub fn open_error_log(cfg: &ServerConfig) -> std::io::Result<()> {
    let mut el = crate::log::ErrorLog::open(&cfg.error_log, &cfg.server_root)?;
    el.set_levels(cfg.log_level.clone());
    el.set_format(cfg.error_log_format.clone());
    crate::log::set_global(el);
    Ok(())
}
