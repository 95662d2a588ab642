//! Directives of the main server or a virtual host: names, document root, timeouts,
//! logs, aliases and redirects.

use std::path::PathBuf;

use rhttpd_config::{ConfigError, Directive};

use super::Builder;
use crate::conf::values::{duration, err, flag, number, parse_redirect};
use crate::conf::{Alias, CustomLog, LogCondition, VirtualHost};
use crate::log::LogLevels;

impl Builder {
    /// Directives of the main server or a virtual host. Returns false when `d` is not one.
    pub(super) fn host_directive(
        &mut self,
        host: &mut VirtualHost,
        d: &Directive,
        in_vhost: bool,
    ) -> Result<bool, ConfigError> {
        let a0 = d.args.first().map(String::as_str).unwrap_or("");
        match d.name {
            "ServerName" => {
                let name = a0
                    .strip_prefix("http://")
                    .or_else(|| a0.strip_prefix("https://"))
                    .unwrap_or(a0);
                host.server_name = Some(name.to_string());
            }
            "ServerAlias" => host
                .server_aliases
                .extend(d.args.iter().map(|a| a.to_ascii_lowercase())),
            "ServerAdmin" => host.server_admin = Some(a0.to_string()),
            "DocumentRoot" => {
                let p = self.path(a0);
                let mut s = p.to_string_lossy().into_owned();
                while s.len() > 1 && s.ends_with('/') {
                    s.pop();
                }
                host.document_root = PathBuf::from(s);
            }
            "Timeout" => host.timeout = duration(d)?,
            "SendMinRate" => host.send_min_rate = number(d, "number of bytes per second")?,
            "KeepAlive" => host.keep_alive = flag(d),
            "KeepAliveTimeout" => host.keep_alive_timeout = duration(d)?,
            "MaxKeepAliveRequests" => host.max_keep_alive_requests = number(d, "number")?,
            "LimitRequestLine" => host.limits.request_line = number(d, "number")?,
            "LimitRequestFieldSize" => host.limits.field_size = number(d, "number")?,
            "LimitRequestFields" => host.limits.fields = number(d, "number")?,
            "ErrorLog" => {
                // Refused here (not only when the server opens it) so that -t fails too;
                // the message is the one the log sink gives.
                if a0.starts_with("syslog") {
                    return Err(err(
                        &d.location,
                        format!(
                            "{a0}: logging to syslog is not supported by rhttpd; use a file, \
                             a |piped logger (e.g. \"|/usr/bin/logger -t httpd\") or stderr"
                        ),
                    ));
                }
                if in_vhost {
                    host.error_log = Some(a0.to_string());
                } else {
                    self.cfg.error_log = a0.to_string();
                }
            }
            "AccessFileName" => host.access_file_names = d.args.clone(),
            "ErrorLogFormat" => {
                let (scope, text) = match d.args.as_slice() {
                    [s, f]
                        if s.eq_ignore_ascii_case("connection")
                            || s.eq_ignore_ascii_case("request") =>
                    {
                        (Some(s.as_str()), f)
                    }
                    [f] => (None, f),
                    _ => {
                        return Err(err(
                            &d.location,
                            "ErrorLogFormat type must be one of request, connection",
                        ));
                    }
                };
                let (format, unavailable) =
                    crate::log::ErrorLogFormat::parse(text).map_err(|m| err(&d.location, m))?;
                let at = format!("{}:{}", d.location.file.display(), d.location.line);
                if let Some(scope) = scope {
                    self.cfg.warnings.push(format!(
                        "ErrorLogFormat {scope} at {at}: rhttpd writes no per-{scope} lines; ignored"
                    ));
                } else if in_vhost {
                    self.cfg.warnings.push(format!(
                        "ErrorLogFormat at {at}: a virtual host's format is not used; its messages take the main server's"
                    ));
                } else {
                    if !unavailable.is_empty() {
                        self.cfg.warnings.push(format!(
                            "ErrorLogFormat at {at}: {} always log nothing in rhttpd (their fields are left out)",
                            unavailable.join(" ")
                        ));
                    }
                    self.cfg.error_log_format = Some(std::sync::Arc::new(format));
                }
            }
            "MergeSlashes" => host.merge_slashes = flag(d),
            "HttpProtocolOptions" => {
                for a in &d.args {
                    match a.to_ascii_lowercase().as_str() {
                        "strict" => host.limits.strict = true,
                        "unsafe" => host.limits.strict = false,
                        "allow0.9" => host.limits.allow_http09 = true,
                        "require1.0" => host.limits.allow_http09 = false,
                        "registeredmethods" => host.registered_methods_only = true,
                        "lenientmethods" => host.registered_methods_only = false,
                        _ => {
                            return Err(err(
                                &d.location,
                                format!("HttpProtocolOptions does not accept {a}"),
                            ));
                        }
                    }
                }
            }
            // mod_cgi's script log: accepted, no effect (script stderr goes to the
            // error log).
            "ScriptLog" | "ScriptLogLength" | "ScriptLogBuffer" => {}
            name if crate::conf::h2::handles(name) => {
                crate::conf::h2::directive(&mut host.h2, d, &mut self.cfg.warnings)?
            }
            "LogLevel" => {
                // As Apache, each LogLevel line applies on top of the previous ones of
                // the same context; module names must be those of loaded modules.
                let loaded = &self.cfg.loaded_modules;
                let known = |short: &str| {
                    loaded
                        .iter()
                        .any(|m| crate::log::module_short_name(m) == short)
                };
                let target = if in_vhost {
                    host.log_level.get_or_insert_with(LogLevels::default)
                } else {
                    &mut self.cfg.log_level
                };
                target
                    .apply(&d.args, &known)
                    .map_err(|m| err(&d.location, m))?;
            }
            "LogFormat" => {
                let name = d.args.get(1).map(String::as_str);
                self.formats
                    .define(a0, name)
                    .map_err(|m| err(&d.location, m))?;
            }
            "CustomLog" | "TransferLog" => {
                let condition = match d.args.get(2) {
                    Some(clause) => Some(
                        LogCondition::parse(clause, &d.location)
                            .map_err(|m| err(&d.location, m))?,
                    ),
                    None => None,
                };
                let fmt = if d.name == "TransferLog" {
                    String::new()
                } else {
                    d.args.get(1).cloned().unwrap_or_default()
                };
                if in_vhost {
                    let format = self.resolve_format(&fmt, &d.location)?;
                    host.custom_logs.push(CustomLog {
                        target: self.log_target(a0),
                        format,
                        condition,
                    });
                } else {
                    self.main_logs
                        .push((a0.to_string(), fmt, condition, d.location.clone()));
                }
            }
            "Alias" | "ScriptAlias" => {
                let Some(target) = d.args.get(1) else {
                    // mod_alias's wording, for ScriptAlias too.
                    return Err(err(
                        &d.location,
                        "Alias must have two arguments when used globally",
                    ));
                };
                host.aliases.push(Alias {
                    url: a0.to_string(),
                    path: self.path(target),
                    handler: (d.name == "ScriptAlias").then(|| "cgi-script".to_string()),
                    regex: None,
                });
            }
            "AliasMatch" | "ScriptAliasMatch" => {
                let root = self.cfg.server_root.clone();
                host.aliases
                    .push(crate::conf::alias::parse_alias_match(d, &root)?);
            }
            "Redirect" | "RedirectPermanent" | "RedirectTemp" => {
                host.redirects.push(parse_redirect(d)?);
            }
            "RedirectMatch" => host
                .redirects
                .push(crate::conf::alias::parse_redirect_match(d)?),
            name if super::proxy::handles(name) => {
                super::proxy::host_directive(host, d, &mut self.cfg.warnings)?
            }
            // `ProxySet balancer://name ...` sets a balancer's parameters; any other URL,
            // a worker's (conf/proxy_match.rs).
            "ProxySet"
                if d.args
                    .first()
                    .is_some_and(|u| crate::conf::balancer::split_url(u).is_some()) =>
            {
                super::balancer::directive(host, d, None, &self.cfg.loaded_modules)?
            }
            name if crate::conf::proxy_match::handles(name) => {
                crate::conf::proxy_match::host_directive(host, d, &mut self.cfg.warnings)?
            }
            name if super::balancer::handles(name) => {
                super::balancer::directive(host, d, None, &self.cfg.loaded_modules)?
            }
            name if name.starts_with("SSL") => {
                let root = self.cfg.server_root.clone();
                let resolve = |p: &str| {
                    let p = std::path::Path::new(p);
                    if p.is_absolute() {
                        p.to_path_buf()
                    } else {
                        root.join(p)
                    }
                };
                let ssl = std::sync::Arc::make_mut(&mut host.ssl);
                return super::ssl::host_directive(ssl, d, &resolve, &mut self.cfg.warnings);
            }
            "RequestReadTimeout" => {
                host.req_timeout = super::reqtimeout::parse(d, host.req_timeout)?;
            }
            name if crate::conf::rewrite::handles(name) => {
                let root = self.cfg.server_root.clone();
                let resolve = move |p: &str| root.join(p);
                let rw = std::sync::Arc::make_mut(&mut host.rewrite);
                crate::conf::rewrite::host_directive(rw, d, &resolve, &mut self.cfg.warnings)?;
            }
            "LimitInternalRecursion" => {
                let limit: u32 = number(d, "number")?;
                if limit < 1 {
                    return Err(err(
                        &d.location,
                        "Recursion limit must be greater than zero.",
                    ));
                }
                host.limit_internal_recursion = limit;
            }
            "TraceEnable" => {
                host.trace_enable = match a0.to_ascii_lowercase().as_str() {
                    "on" => true,
                    "off" => false,
                    "extended" => true,
                    _ => {
                        return Err(err(
                            &d.location,
                            "TraceEnable must be one of 'on', 'off', or 'extended'",
                        ));
                    }
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}
