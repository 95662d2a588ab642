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

/// Shell-style wildcard match (`*` and `?`), ASCII case-insensitive; no allocation (it
/// runs for every request on a name-based address).
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let eq = |a: u8, b: u8| a.eq_ignore_ascii_case(&b);
    let (mut pi, mut ti, mut star, mut mark) = (0usize, 0usize, None, 0usize);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == b'?' || eq(p[pi], t[ti])) {
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

/// Whether `host` (lower case, no port) is the vhost's ServerName (its `:port`, if any,
/// ignored) or matches one of its ServerAliases.
fn names_match(v: &VirtualHost, host: &str) -> bool {
    let by_name = v.server_name.as_deref().is_some_and(|n| {
        // Strip a ":port" (but not the colons of an IPv6 literal).
        let n = match n.rsplit_once(':') {
            Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) && !h.ends_with(':') => h,
            _ => n,
        };
        n.eq_ignore_ascii_case(host)
    });
    by_name || v.server_aliases.iter().any(|a| wildcard_match(a, host))
}

/// The virtual hosts bound to `local`: IP-specific ones if any match, else wildcard
/// ones, in configuration order (indexes into `cfg.vhosts`).
pub fn candidates(cfg: &ServerConfig, local: SocketAddr) -> impl Iterator<Item = usize> + '_ {
    let bound = move |exact: bool| {
        cfg.vhosts
            .iter()
            .enumerate()
            .filter(move |(_, v)| v.addrs.iter().any(|a| addr_matches(a, local, exact)))
            .map(|(i, _)| i)
    };
    let exact = bound(true).next().is_some();
    bound(exact)
}

/// Which host serves a request: `None` = the main server, `Some(i)` = `cfg.vhosts[i]`.
pub fn select(cfg: &ServerConfig, local: SocketAddr, host: Option<&str>) -> Option<usize> {
    let mut cands = candidates(cfg, local);
    let first = cands.next()?;
    if let Some(host) = host {
        for i in std::iter::once(first).chain(cands) {
            if names_match(&cfg.vhosts[i], host) {
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

    #[test]
    fn names_ignore_port_and_case_and_follow_aliases() {
        let v = VirtualHost {
            server_name: Some("WWW.Example.org:8080".into()),
            server_aliases: vec!["*.example.net".into()],
            ..VirtualHost::default()
        };
        assert!(names_match(&v, "www.example.org"));
        assert!(names_match(&v, "a.example.net"));
        assert!(!names_match(&v, "example.org"));
        let v6 = VirtualHost {
            server_name: Some("[::1]".into()),
            ..VirtualHost::default()
        };
        assert!(names_match(&v6, "[::1]"));
    }
}
