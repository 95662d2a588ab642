//! Choosing the virtual host for a connection and request, as Apache does: first by the
//! address the connection arrived on (an exact IP:port match beats `*:port`), then by the
//! Host header among the name-based hosts of that address (ServerName, then ServerAlias
//! with wildcards); no name match → the first vhost of the address; no address match →
//! the main server.

use std::net::SocketAddr;

use super::{ServerConfig, VhostAddr, VirtualHost};

fn addr_matches(a: &VhostAddr, local: SocketAddr, exact_ip: bool) -> bool {
    let port_ok = a.port.is_none_or(|p| p == local.port());
    let ip_ok = match a.ip {
        Some(ip) => exact_ip && canonical(ip) == canonical(local.ip()),
        None => !exact_ip,
    };
    port_ok && ip_ok
}

fn canonical(ip: std::net::IpAddr) -> std::net::IpAddr {
    match ip {
        std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map(std::net::IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// Shell-style wildcard match (`*` and `?`), ASCII case-insensitive.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p: Vec<u8> = pattern.bytes().map(|b| b.to_ascii_lowercase()).collect();
    let t: Vec<u8> = text.bytes().map(|b| b.to_ascii_lowercase()).collect();
    let (mut pi, mut ti, mut star, mut mark) = (0usize, 0usize, None, 0usize);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

fn name_of(v: &VirtualHost) -> Option<String> {
    v.server_name.as_ref().map(|n| {
        let n = n.to_ascii_lowercase();
        // Strip a ":port" (but not the colons of an IPv6 literal).
        match n.rsplit_once(':') {
            Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) && !h.ends_with(':') => {
                h.to_string()
            }
            _ => n,
        }
    })
}

/// The index into `cfg.vhosts` of the virtual hosts bound to `local` (IP-specific ones
/// if any match, else wildcard ones), in configuration order.
pub fn candidates(cfg: &ServerConfig, local: SocketAddr) -> Vec<usize> {
    for exact in [true, false] {
        let found: Vec<usize> = cfg
            .vhosts
            .iter()
            .enumerate()
            .filter(|(_, v)| v.addrs.iter().any(|a| addr_matches(a, local, exact)))
            .map(|(i, _)| i)
            .collect();
        if !found.is_empty() {
            return found;
        }
    }
    Vec::new()
}

/// Which host serves a request: `None` = the main server, `Some(i)` = `cfg.vhosts[i]`.
pub fn select(cfg: &ServerConfig, local: SocketAddr, host: Option<&str>) -> Option<usize> {
    let cands = candidates(cfg, local);
    let first = *cands.first()?;
    if let Some(host) = host {
        let host = host.to_ascii_lowercase();
        for &i in &cands {
            let v = &cfg.vhosts[i];
            if name_of(v).as_deref() == Some(host.as_str())
                || v.server_aliases.iter().any(|a| wildcard_match(a, &host))
            {
                return Some(i);
            }
        }
    }
    Some(first)
}

/// The host config for a selection made by [`select`].
pub fn host(cfg: &ServerConfig, sel: Option<usize>) -> &VirtualHost {
    match sel {
        Some(i) => &cfg.vhosts[i],
        None => &cfg.main,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard_match("*.example.org", "www.example.org"));
        assert!(!wildcard_match("*.example.org", "example.org"));
        assert!(wildcard_match("w?w.EXAMPLE.org", "www.example.org"));
        assert!(wildcard_match("*", ""));
        assert!(!wildcard_match("a", "ab"));
    }
}
