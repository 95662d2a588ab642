//! MPM directives: Apache's defaults, hard limits and clamp-and-warn rules
//! (reference/apache-mpm.md §1). Values are read with `atoi` semantics as Apache does
//! (leading digits; garbage reads as 0 and is then clamped), and each clamp produces the
//! warning with the AH number operators grep for.

use std::time::Duration;

use crate::conf::ServerConfig;

/// Apache's atoi: optional sign and leading digits; anything else → 0.
pub fn atoi(s: &str) -> i64 {
    let s = s.trim_start();
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut n: i64 = 0;
    for b in digits.bytes() {
        if !b.is_ascii_digit() {
            break;
        }
        n = n.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if neg { -n } else { n }
}

/// The last value given for `name` (or its deprecated alias), if any, with a deprecation
/// note for the alias.
fn value(
    cfg: &ServerConfig,
    name: &str,
    alias: Option<(&str, &str)>,
    notes: &mut Vec<String>,
) -> Option<i64> {
    let mut found = None;
    for d in &cfg.mpm_directives {
        if d.name.eq_ignore_ascii_case(name) {
            found = d.args.first().map(|a| atoi(a));
        } else if let Some((alias_name, ah)) = alias
            && d.name.eq_ignore_ascii_case(alias_name)
        {
            notes.push(format!(
                "{ah}: {alias_name} is deprecated, use {name} instead."
            ));
            found = d.args.first().map(|a| atoi(a));
        }
    }
    found
}

/// prefork's settings after clamping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreforkSettings {
    pub server_limit: usize,
    pub start_servers: usize,
    pub min_spare: usize,
    pub max_spare: usize,
    pub max_request_workers: usize,
    /// 0 = never recycle.
    pub max_connections_per_child: u64,
    pub graceful_shutdown_timeout: Duration,
}

pub const PREFORK_MAX_SERVER_LIMIT: i64 = 200_000;
pub const MAX_SPAWN_RATE: usize = 32;

impl PreforkSettings {
    /// Read and clamp; returns the settings and the warnings to print (console form).
    pub fn from_config(cfg: &ServerConfig) -> (PreforkSettings, Vec<String>) {
        let mut w = Vec::new();
        let mut server_limit = value(cfg, "ServerLimit", None, &mut w).unwrap_or(256);
        if server_limit > PREFORK_MAX_SERVER_LIMIT {
            w.push(format!(
                "AH00175: WARNING: ServerLimit of {server_limit} exceeds compile-time limit of {PREFORK_MAX_SERVER_LIMIT} servers, decreasing to {PREFORK_MAX_SERVER_LIMIT}."
            ));
            server_limit = PREFORK_MAX_SERVER_LIMIT;
        } else if server_limit < 1 {
            w.push(format!(
                "AH00177: WARNING: ServerLimit of {server_limit} not allowed, increasing to 1."
            ));
            server_limit = 1;
        }
        let mut mrw = value(
            cfg,
            "MaxRequestWorkers",
            Some(("MaxClients", "AH00188")),
            &mut w,
        )
        .unwrap_or(server_limit);
        if mrw > server_limit {
            w.push(format!(
                "AH00180: WARNING: MaxRequestWorkers of {mrw} exceeds ServerLimit value of {server_limit} servers, decreasing MaxRequestWorkers to {server_limit}. To increase, please see the ServerLimit directive."
            ));
            mrw = server_limit;
        } else if mrw < 1 {
            w.push(format!(
                "AH00182: WARNING: MaxRequestWorkers of {mrw} not allowed, increasing to 1."
            ));
            mrw = 1;
        }
        let mut start = value(cfg, "StartServers", None, &mut w).unwrap_or(5);
        if start < 1 {
            w.push(format!(
                "AH00184: WARNING: StartServers of {start} not allowed, increasing to 1."
            ));
            start = 1;
        }
        let mut min_spare = value(cfg, "MinSpareServers", None, &mut w).unwrap_or(5);
        if min_spare < 1 {
            w.push(format!(
                "AH00186: WARNING: MinSpareServers of {min_spare} not allowed, increasing to 1 to avoid almost certain server failure. Please read the documentation."
            ));
            min_spare = 1;
        }
        // Silently raised to MinSpareServers + 1 (one listener bucket).
        let max_spare = value(cfg, "MaxSpareServers", None, &mut w)
            .unwrap_or(10)
            .max(min_spare + 1);
        let mcpc = value(
            cfg,
            "MaxConnectionsPerChild",
            Some(("MaxRequestsPerChild", "AH00545")),
            &mut w,
        )
        .unwrap_or(0);
        (
            PreforkSettings {
                server_limit: server_limit as usize,
                // At run time StartServers is capped to the number of children allowed.
                start_servers: (start.min(mrw)) as usize,
                min_spare: min_spare as usize,
                max_spare: max_spare as usize,
                max_request_workers: mrw as usize,
                // Negative = unlimited for prefork (Apache).
                max_connections_per_child: mcpc.max(0) as u64,
                graceful_shutdown_timeout: cfg.graceful_shutdown_timeout,
            },
            w,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atoi_semantics() {
        assert_eq!(atoi("42"), 42);
        assert_eq!(atoi("  7x"), 7);
        assert_eq!(atoi("abc"), 0);
        assert_eq!(atoi("-3"), -3);
        assert_eq!(atoi(""), 0);
        assert_eq!(atoi("99999999999999999999999"), i64::MAX);
    }
}
