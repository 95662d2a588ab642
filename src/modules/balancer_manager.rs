//! mod_proxy_balancer's `balancer-manager` handler (`SetHandler balancer-manager`): an
//! HTML page like Apache's listing every balancer of the host (sticky session,
//! failover, timeout, attempts, method) and its members (URL, route, redirect, factor,
//! set, status, elected, busy, load, bytes to and from), with forms to edit a member
//! (`w_lf`, `w_ls`, `w_wr`, `w_rr`, `w_status_I/N/D/H/R/C/S`) or a balancer (`b_lbm`,
//! `b_tmo`, `b_max`, `b_sforce`), by GET or POST.
//!
//! As in Apache, parameters change nothing unless `nonce=` is the balancer's nonce (a
//! random UUID per balancer, shown in the page's links and forms; `nonce=None` in the
//! balancer's parameters turns the check off), which stops cross-site requests.
//! Changes are written to the balancer's shared memory, so every child sees them at
//! once; they are not persisted across a restart with a changed configuration.

use std::fmt::Write as _;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use rhttpd_http::StatusCode;

use super::proxy_balancer::{
    M_BUSY, M_ELECTED, M_LBFACTOR, M_LBSET, M_LBSTATUS, M_READ, M_TRANSFERRED, Registry, Shared,
};
use crate::conf::balancer::{LbMethod, status};
use crate::handler::{Body, Handler, Request, RequestBody, Response};

/// The handler name.
pub const HANDLER: &str = "balancer-manager";

/// The `balancer-manager` handler.
pub struct BalancerManager {
    pub registry: Arc<Registry>,
}

/// Status flags in Apache's order with their page names.
const STATUS_NAMES: &[(u64, &str)] = &[
    (status::INITIALIZED, "Init "),
    (status::IGNORE_ERRORS, "Ign "),
    (status::DRAIN, "Drn "),
    (status::DISABLED, "Dis "),
    (status::STOPPED, "Stop "),
    (status::IN_ERROR, "Err "),
    (status::HOT_STANDBY, "Stby "),
    (status::HC_FAIL, "HcFl "),
    (status::HOT_SPARE, "Spar "),
];

/// The edit form's status switches: parameter letter, bit, label.
const EDITABLE: &[(char, u64, &str)] = &[
    ('I', status::IGNORE_ERRORS, "Ignore Errors"),
    ('N', status::DRAIN, "Draining Mode"),
    ('D', status::DISABLED, "Disabled"),
    ('H', status::HOT_STANDBY, "Hot Standby"),
    ('R', status::HOT_SPARE, "Hot Spare"),
    ('C', status::HC_FAIL, "HC Fail"),
    ('S', status::STOPPED, "Stopped"),
];

/// Apache's `ap_proxy_parse_wstatus`.
pub fn status_text(sh: &Shared, i: usize) -> String {
    let bits = sh.status(i);
    let mut s: String = STATUS_NAMES
        .iter()
        .filter(|(b, _)| bits & b != 0)
        .map(|(_, n)| *n)
        .collect();
    if s.is_empty() {
        s.push_str("??? ");
    }
    if sh.usable(i) {
        s.push_str("Ok ");
    }
    s
}

/// apr_strfsize: four characters ("  0 ", "1.2K", " 12M").
fn strfsize(mut n: u64) -> String {
    if n < 973 {
        return format!("{n:3} ");
    }
    for unit in ['K', 'M', 'G', 'T', 'P', 'E'] {
        let remain = n & 1023;
        n >>= 10;
        if n >= 973 {
            continue;
        }
        if n < 9 || (n == 9 && remain < 973) {
            let mut tenths = (remain * 10 + 512) / 1024;
            let mut whole = n;
            if tenths >= 10 {
                whole += 1;
                tenths = 0;
            }
            return format!("{whole}.{tenths}{unit}");
        }
        if remain >= 512 {
            n += 1;
        }
        return format!("{n:3}{unit}");
    }
    format!("{n:3}E")
}

fn esc(s: &str) -> String {
    crate::error_pages::html_escape(s)
}

/// `application/x-www-form-urlencoded` pairs.
fn form_pairs(s: &str) -> Vec<(String, String)> {
    let dec = |t: &str| {
        let t = t.replace('+', " ");
        percent_encoding::percent_decode_str(&t)
            .decode_utf8_lossy()
            .into_owned()
    };
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (dec(k), dec(v)),
            None => (dec(p), String::new()),
        })
        .collect()
}

impl BalancerManager {
    fn balancers_of<'a>(&'a self, req: &Request<'_>) -> Vec<&'a Arc<Shared>> {
        req.vhost
            .balancers
            .list
            .iter()
            .filter_map(|b| self.registry.get(b))
            .collect()
    }
}

fn member_by_url(sh: &Shared, w: &str) -> Option<usize> {
    let w = w.trim_end_matches('/');
    sh.cfg
        .members
        .iter()
        .position(|m| m.backend.url.trim_end_matches('/').eq_ignore_ascii_case(w))
}

/// Apply the parameters (the nonce has been checked).
fn apply(sh: &Shared, member: Option<usize>, get: &dyn Fn(&str) -> Option<String>) {
    if let Some(i) = member {
        if let Some(v) = get("w_lf")
            && let Ok(f) = v.trim().parse::<f64>()
            && (1.0..=100.0).contains(&f)
        {
            sh.m(i, M_LBFACTOR).store(f as u64, Relaxed);
        }
        if let Some(v) = get("w_ls")
            && let Ok(n) = v.trim().parse::<u64>()
            && n <= 99
        {
            sh.m(i, M_LBSET).store(n, Relaxed);
        }
        if let Some(v) = get("w_wr")
            && v.len() < 64
        {
            sh.write_str(i, false, &v);
        }
        if let Some(v) = get("w_rr")
            && v.len() < 64
        {
            sh.write_str(i, true, &v);
        }
        for (letter, bit, _) in EDITABLE {
            if let Some(v) = get(&format!("w_status_{letter}")) {
                if v.trim().parse::<i64>().unwrap_or(0) != 0 {
                    sh.set_bits(i, *bit);
                } else {
                    sh.clear_bits(i, *bit);
                }
            }
        }
    } else {
        if let Some(v) = get("b_lbm")
            && let Some(m) = LbMethod::from_name(v.trim())
        {
            sh.set_lbmethod(m);
        }
        if let Some(v) = get("b_tmo")
            && let Ok(n) = v.trim().parse::<u64>()
        {
            sh.set_timeout(Duration::from_secs(n));
        }
        if let Some(v) = get("b_max")
            && let Ok(n) = v.trim().parse::<u64>()
        {
            sh.set_max_attempts(n);
        }
        if let Some(v) = get("b_sforce") {
            sh.set_nofailover(v.trim().parse::<i64>().unwrap_or(0) != 0);
        }
    }
}

impl Handler for BalancerManager {
    fn name(&self) -> &'static str {
        HANDLER
    }

    fn handle(&self, req: &Request<'_>, body: &mut RequestBody<'_>) -> Response {
        super::proxy_hcheck::ensure_started(&self.registry);
        let mut pairs = req
            .head
            .query
            .as_deref()
            .map(form_pairs)
            .unwrap_or_default();
        if req.head.method == http::Method::POST {
            let mut text = String::new();
            let mut limited = body.take(64 * 1024);
            if limited.read_to_string(&mut text).is_ok() {
                pairs.extend(form_pairs(&text));
            }
        }
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let balancers = self.balancers_of(req);
        let bsel = get("b").and_then(|b| {
            let name = format!("balancer://{}", b.to_ascii_lowercase());
            balancers.iter().find(|s| s.cfg.name == name).copied()
        });
        let wsel = bsel.and_then(|sh| get("w").and_then(|w| member_by_url(sh, &w)));
        if let Some(sh) = bsel {
            let nonce = sh.nonce();
            let ok = nonce.is_empty() || get("nonce").is_some_and(|n| n == nonce);
            if ok {
                apply(sh, wsel, &get);
            }
        }
        let page = render(req, &balancers, bsel, wsel);
        let mut r = Response::new(StatusCode::OK, Body::Bytes(Bytes::from(page)));
        r.headers.insert(
            CONTENT_TYPE,
            http::HeaderValue::from_static("text/html; charset=ISO-8859-1"),
        );
        r
    }
}

fn short_name(sh: &Shared) -> &str {
    sh.cfg
        .name
        .strip_prefix("balancer://")
        .unwrap_or(&sh.cfg.name)
}

fn render(
    req: &Request<'_>,
    balancers: &[&Arc<Shared>],
    bsel: Option<&Arc<Shared>>,
    wsel: Option<usize>,
) -> String {
    let me = esc(&req.head.path);
    let host = req
        .vhost
        .server_name
        .clone()
        .unwrap_or_else(|| "localhost".into());
    let mut o = String::with_capacity(4096);
    o.push_str("<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 3.2 Final//EN\">\n<html><head><title>Balancer Manager</title>\n");
    o.push_str("<style type='text/css'>\ntable {\n border-width: 1px;\n border-spacing: 3px;\n border-style: solid;\n border-color: gray;\n border-collapse: collapse;\n background-color: white;\n text-align: center;\n}\nth {\n border-width: 1px;\n padding: 2px;\n border-style: dotted;\n border-color: gray;\n background-color: lightgray;\n text-align: center;\n}\ntd {\n border-width: 1px;\n padding: 2px;\n border-style: dotted;\n border-color: gray;\n background-color: white;\n text-align: center;\n}\n</style>\n</head>\n");
    let _ = writeln!(o, "<body><h1>Load Balancer Manager for {}</h1>", esc(&host));
    let _ = writeln!(
        o,
        "<dl><dt>Server Version: {}</dt>",
        esc(&crate::error_pages::server_banner(req.server.server_tokens))
    );
    o.push_str("<dt>Balancer changes will NOT be persisted on restart.</dt>\n");
    o.push_str("<dt>Balancers are inherited from main server.</dt>\n</dl>\n");
    for sh in balancers {
        let b = short_name(sh);
        let nonce = sh.nonce();
        o.push_str("<hr />\n");
        let _ = writeln!(
            o,
            "<h3>LoadBalancer Status for <a href='{me}?b={}&amp;nonce={}'>{}</a></h3>",
            esc(b),
            esc(&nonce),
            esc(&sh.cfg.name)
        );
        o.push_str("<table><tr><th>MaxMembers</th><th>StickySession</th><th>DisableFailover</th><th>Timeout</th><th>FailoverAttempts</th><th>Method</th><th>Path</th><th>Active</th></tr>\n");
        let n = sh.cfg.members.len();
        let sticky = match &sh.cfg.params.sticky {
            Some((c, u)) if c == u => c.clone(),
            Some((c, u)) => format!("{c} | {u}"),
            None => "(None)".into(),
        };
        let paths: Vec<String> = req
            .vhost
            .proxy
            .rules
            .iter()
            .filter(|r| {
                r.balancer.as_ref().is_some_and(|t| {
                    crate::conf::balancer::split_url(&t.url).is_some_and(|(x, _)| x == sh.cfg.name)
                })
            })
            .map(|r| r.path.clone())
            .collect();
        let _ = writeln!(
            o,
            "<tr><td>{n} [{n} Used]</td>\n<td>{}</td><td>{}</td>\n<td>{}</td><td>{}</td>\n<td>{}</td>\n<td>{}</td>\n<td>Yes</td>\n</tr>\n</table>\n<br />",
            esc(&sticky),
            if sh.nofailover() { "On" } else { "Off" },
            sh.timeout().as_secs(),
            sh.max_attempts(),
            sh.lbmethod().name(),
            esc(&paths.join(" "))
        );
        o.push_str("<table><tr><th>Worker URL</th><th>Route</th><th>RouteRedir</th><th>Factor</th><th>Set</th><th>Status</th><th>Elected</th><th>Busy</th><th>Load</th><th>To</th><th>From</th></tr>\n");
        for (i, m) in sh.cfg.members.iter().enumerate() {
            let _ = writeln!(
                o,
                "<tr>\n<td><a href='{me}?b={}&amp;w={}&amp;nonce={}'>{}</a></td><td>{}</td><td>{}</td><td>{}.00</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(b),
                esc(&m.backend.url),
                esc(&nonce),
                esc(&m.backend.url),
                esc(&sh.route(i)),
                esc(&sh.redirect(i)),
                sh.load(i, M_LBFACTOR),
                sh.load(i, M_LBSET),
                status_text(sh, i),
                sh.load(i, M_ELECTED),
                sh.load(i, M_BUSY),
                sh.load(i, M_LBSTATUS) as i64,
                strfsize(sh.load(i, M_TRANSFERRED)),
                strfsize(sh.load(i, M_READ)),
            );
        }
        o.push_str("</table>\n");
    }
    o.push_str("<hr />\n");
    if let Some(sh) = bsel {
        let b = esc(short_name(sh));
        let nonce = esc(&sh.nonce());
        if let Some(i) = wsel {
            let url = esc(&sh.cfg.members[i].backend.url);
            let _ = writeln!(o, "<h3>Edit worker settings for {url}</h3>");
            let _ = writeln!(
                o,
                "<form method='POST' enctype='application/x-www-form-urlencoded' action='{me}'>"
            );
            let _ = writeln!(
                o,
                "<table><tr><td>Load factor:</td><td><input name='w_lf' id='w_lf' type=text value='{}.00'></td></tr>",
                sh.load(i, M_LBFACTOR)
            );
            let _ = writeln!(
                o,
                "<tr><td>LB Set:</td><td><input name='w_ls' id='w_ls' type=text value='{}'></td></tr>",
                sh.load(i, M_LBSET)
            );
            let _ = writeln!(
                o,
                "<tr><td>Route:</td><td><input name='w_wr' id='w_wr' type=text value='{}'></td></tr>",
                esc(&sh.route(i))
            );
            let _ = writeln!(
                o,
                "<tr><td>Route Redirect:</td><td><input name='w_rr' id='w_rr' type=text value='{}'></td></tr>",
                esc(&sh.redirect(i))
            );
            o.push_str("<tr><td>Status:</td><td><table><tr>");
            for (_, _, label) in EDITABLE {
                let _ = write!(o, "<th>{label}</th>");
            }
            o.push_str("</tr>\n<tr>");
            let bits = sh.status(i);
            for (letter, bit, _) in EDITABLE {
                let on = bits & bit != 0;
                let _ = write!(
                    o,
                    "<td><input name='w_status_{letter}' id='w_status_{letter}' value='1' type=radio{}> On <input name='w_status_{letter}' id='w_status_{letter}' value='0' type=radio{}> Off</td>",
                    if on { " checked" } else { "" },
                    if on { "" } else { " checked" }
                );
            }
            o.push_str("</tr></table></td></tr>\n<tr><td colspan='2'><input type=submit value='Submit'></td></tr>\n</table>\n");
            let _ = writeln!(
                o,
                "<input type=hidden name='w' id='w' value='{url}'>\n<input type=hidden name='b' id='b' value='{b}'>\n<input type=hidden name='nonce' id='nonce' value='{nonce}'>\n</form>\n<hr />"
            );
        } else {
            let _ = writeln!(
                o,
                "<h3>Edit balancer settings for {}</h3>",
                esc(&sh.cfg.name)
            );
            let _ = writeln!(
                o,
                "<form method='POST' enctype='application/x-www-form-urlencoded' action='{me}'>"
            );
            o.push_str("<table><tr><td>LBmethod:</td><td><select name='b_lbm' id='b_lbm'>");
            let cur = sh.lbmethod();
            for m in LbMethod::ALL {
                if !req.server.loaded_modules.contains(&m.module()) {
                    continue;
                }
                let _ = write!(
                    o,
                    "<option value='{0}'{1}>{0}</option>",
                    m.name(),
                    if m == cur { " selected" } else { "" }
                );
            }
            o.push_str("</select></td></tr>\n");
            let _ = writeln!(
                o,
                "<tr><td>Timeout:</td><td><input name='b_tmo' id='b_tmo' type=text value='{}'></td></tr>",
                sh.timeout().as_secs()
            );
            let _ = writeln!(
                o,
                "<tr><td>Failover Attempts:</td><td><input name='b_max' id='b_max' type=text value='{}'></td></tr>",
                sh.max_attempts()
            );
            let f = sh.nofailover();
            let _ = writeln!(
                o,
                "<tr><td>Disable Failover:</td><td>On <input name='b_sforce' id='b_sforce' value='1' type=radio{}> Off <input name='b_sforce' id='b_sforce' value='0' type=radio{}></td></tr>",
                if f { " checked" } else { "" },
                if f { "" } else { " checked" }
            );
            o.push_str(
                "<tr><td colspan='2'><input type=submit value='Submit'></td></tr>\n</table>\n",
            );
            let _ = writeln!(
                o,
                "<input type=hidden name='b' id='b' value='{b}'>\n<input type=hidden name='nonce' id='nonce' value='{nonce}'>\n</form>\n<hr />"
            );
        }
    }
    o.push_str("</body></html>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_apr_prints_them() {
        assert_eq!(strfsize(0), "  0 ");
        assert_eq!(strfsize(972), "972 ");
        assert_eq!(strfsize(1024), "1.0K");
        assert_eq!(strfsize(1300), "1.3K");
        assert_eq!(strfsize(20 * 1024), " 20K");
        assert_eq!(strfsize(5 * 1024 * 1024), "5.0M");
    }

    #[test]
    fn form_decoding() {
        assert_eq!(
            form_pairs("b=c&w=http%3A%2F%2Fh%3A1&w_status_D=1&x"),
            vec![
                ("b".into(), "c".into()),
                ("w".into(), "http://h:1".into()),
                ("w_status_D".into(), "1".into()),
                ("x".into(), String::new())
            ]
        );
    }
}
