//! Server-wide directives, valid only outside `<VirtualHost>`: listeners, process
//! files and identity, server tokens, MIME types file, MPM tuning.

use std::time::Duration;

use rhttpd_config::{ConfigError, Directive};

use super::Builder;
use crate::conf::ServerTokens;
use crate::conf::values::{atoi, err, flag, number, parse_listen};

impl Builder {
    pub(super) fn global_directive(&mut self, d: &Directive) -> Result<(), ConfigError> {
        let a0 = d.args.first().map(String::as_str).unwrap_or("");
        match d.name {
            "ServerRoot"
            | "LoadModule"
            | "DefaultRuntimeDir"
            | "Mutex"
            | "ScoreBoardFile"
            | "MaxMemFree"
            | "BufferedLogs"
            | "ListenCoresBucketsRatio"
            | "ScriptSock"
            | "SSLRandomSeed"
            | "SSLPassPhraseDialog"
            | "SSLStaplingCache" => {}
            "SSLSessionCache" => self.cfg.ssl.session_cache = crate::conf::ssl::session_cache(d)?,
            "SSLCryptoDevice" if !a0.eq_ignore_ascii_case("builtin") => {
                return Err(err(
                    &d.location,
                    format!(
                        "SSLCryptoDevice: Invalid argument; engine '{a0}' not supported (rhttpd uses rustls: builtin only)"
                    ),
                ));
            }
            "SSLCryptoDevice" => {}
            "SSLFIPS" if flag(d) => {
                return Err(err(
                    &d.location,
                    "SSLFIPS invalid, rebuild rhttpd with a FIPS-capable TLS library",
                ));
            }
            "SSLFIPS" => {}
            "Listen" => {
                let l = parse_listen(d)?;
                if self.cfg.listeners.iter().any(|x| x.addr == l.addr) {
                    return Err(err(
                        &d.location,
                        "Cannot define multiple Listeners on the same IP:port",
                    ));
                }
                self.cfg.listeners.push(l);
            }
            "AcceptFilter" => {
                let filter = d.args.get(1).map(String::as_str).unwrap_or("");
                self.cfg
                    .accept_filters
                    .push((a0.to_ascii_lowercase(), filter.to_string()));
            }
            "ListenBacklog" => {
                let n: i32 = number(d, "number")?;
                if n <= 0 {
                    return Err(err(&d.location, "ListenBacklog must be > 0"));
                }
                self.cfg.listen_backlog = n;
            }
            "SendBufferSize" | "ReceiveBufferSize" => {
                let n: u32 = number(d, "number")?;
                if n != 0 && n < 512 {
                    return Err(err(
                        &d.location,
                        format!("{} must be >= 512 bytes, or 0 for system default.", d.name),
                    ));
                }
                if d.name == "SendBufferSize" {
                    self.cfg.send_buffer_size = n;
                } else {
                    self.cfg.receive_buffer_size = n;
                }
            }
            "PidFile" => self.cfg.pid_file = self.path(a0),
            "User" => self.cfg.user = a0.to_string(),
            "Group" => self.cfg.group = a0.to_string(),
            "ServerTokens" => {
                self.cfg.server_tokens = match a0.to_ascii_lowercase().as_str() {
                    "os" => ServerTokens::Os,
                    "min" | "minimal" => ServerTokens::Min,
                    "major" => ServerTokens::Major,
                    "minor" => ServerTokens::Minor,
                    "prod" | "productonly" => ServerTokens::Prod,
                    "full" => ServerTokens::Full,
                    _ => {
                        return Err(err(
                            &d.location,
                            "ServerTokens takes 1 argument: 'Prod(uctOnly)', 'Major', 'Minor', 'Min(imal)', 'OS', or 'Full'",
                        ));
                    }
                }
            }
            "TypesConfig" => self.types_config = Some((a0.to_string(), d.location.clone())),
            "CoreDumpDirectory" => {
                let p = self.path(a0);
                if !p.is_dir() {
                    return Err(err(
                        &d.location,
                        format!("CoreDumpDirectory {} does not exist", p.display()),
                    ));
                }
                self.cfg.core_dump_directory = Some(p);
            }
            "ExtendedStatus" => self.cfg.extended_status = Some(flag(d)),
            "SeeRequestTail" => self.cfg.see_request_tail = flag(d),
            "GracefulShutdownTimeout" => {
                // Apache reads it with atoi: `5s` is 5, junk is 0 (no timeout).
                let n = atoi(a0).max(0);
                self.cfg.graceful_shutdown_timeout = Duration::from_secs(n as u64)
            }
            "ThreadStackSize" => {
                // mpm_common's strtol: leading digits; a negative value is an error.
                if atoi(a0) < 0 {
                    return Err(err(
                        &d.location,
                        format!("Invalid ThreadStackSize value: {a0}"),
                    ));
                }
                self.cfg.mpm_directives.push(d.clone());
            }
            "AsyncRequestWorkerFactor" => {
                // event.c's set_worker_factor: strtod, then these two checks.
                let t = a0.trim_start();
                let v: f64 = if t.is_empty() {
                    0.0
                } else {
                    t.parse()
                        .map_err(|_| err(&d.location, "error parsing value"))?
                };
                if v <= 0.0 {
                    return Err(err(
                        &d.location,
                        "AsyncRequestWorkerFactor argument must be a positive number",
                    ));
                }
                self.cfg.mpm_directives.push(d.clone());
            }
            _ => {
                let is_mpm = crate::conf::tables::MODULES
                    .iter()
                    .filter(|m| m.name.starts_with("mpm_") && m.name != "mpm_common_module")
                    .any(|m| m.directives.iter().any(|s| s.name == d.name));
                if is_mpm {
                    self.cfg.mpm_directives.push(d.clone());
                } else {
                    return Err(err(
                        &d.location,
                        format!("{} is not implemented by rhttpd in this context", d.name),
                    ));
                }
            }
        }
        Ok(())
    }
}
