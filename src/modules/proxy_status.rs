//! `ProxyStatus On|Full`: mod_proxy_balancer's section of mod_status's HTML page, one
//! table per load balancer of the request's virtual host (sticky session name, timeout,
//! method) and one row per member (scheme, host, status, route, redirect, factor, set,
//! times elected, bytes sent and read), read from the balancers' shared memory, then
//! the legend. The `?auto` page is unchanged, as Apache's.

use std::fmt::Write;
use std::sync::Arc;

use super::balancer_manager::{factor, status_text, strfsize};
use super::proxy_balancer::{M_ELECTED, M_LBSET, M_READ, M_TRANSFERRED, Registry};
use crate::conf::proxy::ProxyStatus;
use crate::error_pages::html_escape as esc;
use crate::handler::Request;

const LEGEND: &str = "<hr /><table>\n\
<tr><th>SSes</th><td>Sticky session name</td></tr>\n\
<tr><th>Timeout</th><td>Balancer Timeout</td></tr>\n\
<tr><th>Sch</th><td>Connection scheme</td></tr>\n\
<tr><th>Host</th><td>Backend Hostname</td></tr>\n\
<tr><th>Stat</th><td>Worker status</td></tr>\n\
<tr><th>Route</th><td>Session Route</td></tr>\n\
<tr><th>Redir</th><td>Session Route Redirection</td></tr>\n\
<tr><th>F</th><td>Load Balancer Factor</td></tr>\n\
<tr><th>Set</th><td>Load Balancer Set</td></tr>\n\
<tr><th>Acc</th><td>Number of uses</td></tr>\n\
<tr><th>Wr</th><td>Number of bytes transferred</td></tr>\n\
<tr><th>Rd</th><td>Number of bytes read</td></tr>\n\
</table>";

/// The section for `req`'s virtual host: empty when ProxyStatus is Off or the host has
/// no balancer.
pub fn html_section(req: &Request<'_>, registry: Option<&Arc<Registry>>) -> String {
    let Some(reg) = registry else {
        return String::new();
    };
    if req.vhost.proxy.status == ProxyStatus::Off {
        return String::new();
    }
    let balancers: Vec<_> = req
        .vhost
        .balancers
        .list
        .iter()
        .filter_map(|b| reg.get(b))
        .collect();
    if balancers.is_empty() {
        return String::new();
    }
    let mut o = String::with_capacity(1024);
    for sh in balancers {
        let _ = write!(
            o,
            "<hr />\n<h1>Proxy LoadBalancer Status for {}</h1>\n\n",
            esc(&sh.cfg.name)
        );
        o.push_str(
            "\n\n<table border=\"0\"><tr><th>SSes</th><th>Timeout</th><th>Method</th></tr>\n<tr>",
        );
        match sh.sticky() {
            Some((cookie, path)) if cookie == path => {
                let _ = write!(o, "<td>{}", esc(&cookie));
            }
            Some((cookie, path)) => {
                let _ = write!(o, "<td>{} | {}", esc(&cookie), esc(&path));
            }
            None => o.push_str("<td> - "),
        }
        let _ = writeln!(
            o,
            "</td><td>{}</td><td>{}</td>",
            sh.timeout().as_secs(),
            sh.lbmethod().name()
        );
        o.push_str("</table>\n");
        o.push_str(
            "\n\n<table border=\"0\"><tr><th>Sch</th><th>Host</th><th>Stat</th>\
             <th>Route</th><th>Redir</th><th>F</th><th>Set</th><th>Acc</th><th>Wr</th>\
             <th>Rd</th></tr>\n",
        );
        for (i, m) in sh.cfg.members.iter().enumerate() {
            let (scheme, host) = scheme_and_host(&m.backend.url);
            let _ = writeln!(
                o,
                "<tr>\n<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
                esc(scheme),
                esc(host),
                status_text(sh, i),
                esc(&sh.route(i)),
                esc(&sh.redirect(i)),
                factor(sh, i),
                sh.load(i, M_LBSET),
                sh.load(i, M_ELECTED),
                strfsize(sh.load(i, M_TRANSFERRED)),
                strfsize(sh.load(i, M_READ)),
            );
            o.push_str("</tr>\n");
        }
        o.push_str("</table>\n");
    }
    o.push_str(LEGEND);
    o
}

/// `http` and `b1.example` of `http://b1.example:8080/path` (an IPv6 literal keeps its
/// brackets, as Apache's hostname field).
fn scheme_and_host(url: &str) -> (&str, &str) {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let host = if authority.starts_with('[') {
        authority.find(']').map_or(authority, |e| &authority[..=e])
    } else {
        authority.split(':').next().unwrap_or(authority)
    };
    (scheme, host)
}

#[cfg(test)]
mod tests {
    use super::scheme_and_host;

    #[test]
    fn hosts_lose_their_port_and_path() {
        assert_eq!(
            scheme_and_host("http://b1.example:8080/app"),
            ("http", "b1.example")
        );
        assert_eq!(scheme_and_host("h2c://[::1]:81/"), ("h2c", "[::1]"));
        assert_eq!(scheme_and_host("fcgi://127.0.0.1"), ("fcgi", "127.0.0.1"));
        assert_eq!(scheme_and_host("http://u@h:1"), ("http", "h"));
    }
}
