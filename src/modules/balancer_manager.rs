//! mod_proxy_balancer's `balancer-manager` handler (`SetHandler balancer-manager`): an
//! HTML page like Apache's listing every balancer of the host (sticky session,
//! failover, timeout, attempts, method) and its members (URL, route, redirect, factor,
//! set, status, elected, busy, load, bytes to and from, health checks), with forms to
//! edit a member (`w_lf`, `w_ls`, `w_wr`, `w_rr`, `w_status_I/N/D/H/R/C/S`, and with
//! mod_proxy_hcheck `w_hm`, `w_hi`, `w_hp`, `w_hf`, `w_hu`) or a balancer (`b_lbm`,
//! `b_tmo`, `b_max`, `b_sforce`, `b_ss`).
//!
//! As in Apache 2.4.71, a GET only selects (`b`, `w`, `nonce`); changes come by POST,
//! and only when the `Referer` names this host (else AH10187 and nothing is read) and
//! `nonce=` is the balancer's nonce (a random UUID per balancer, shown in the page's
//! links and forms); a balancer with `nonce=None` takes no changes at all.
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
    HcField, M_BUSY, M_ELECTED, M_HC_FAILS, M_HC_PASSES, M_LBFACTOR, M_LBSET, M_LBSTATUS, M_READ,
    M_TRANSFERRED, Registry, Shared,
};
use crate::conf::balancer::{HcMethod, LbMethod, status};
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
pub fn strfsize(mut n: u64) -> String {
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
pub fn form_pairs(s: &str) -> Vec<(String, String)> {
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

/// Apply the parameters (the nonce has been checked): Apache's
/// `balancer_process_balancer_worker`, without adding members (`b_wyes`) or changing
/// a member's `hcexpr` (`w_he`).
fn apply(
    sh: &Shared,
    member: Option<usize>,
    get: &dyn Fn(&str) -> Option<String>,
    loaded: &[&str],
) {
    let hcheck = loaded.contains(&"proxy_hcheck_module");
    let atoi = |v: &str| crate::conf::atoi(v);
    if let Some(i) = member {
        let was_usable = sh.usable(i);
        if let Some(v) = get("w_lf") {
            let f = (v.trim().parse::<f64>().unwrap_or(0.0) * 100.0) as i64;
            if (100..=10000).contains(&f) {
                sh.m(i, M_LBFACTOR).store(f as u64, Relaxed);
            }
        }
        for (key, redirect) in [("w_wr", false), ("w_rr", true)] {
            if let Some(v) = get(key) {
                sh.set_route(i, redirect, if v.len() < 64 { &v } else { "" });
            }
        }
        for (letter, bit, _) in EDITABLE {
            if let Some(v) = get(&format!("w_status_{letter}")) {
                if atoi(&v) != 0 {
                    sh.set_bits(i, *bit);
                } else {
                    sh.clear_bits(i, *bit);
                }
            }
        }
        if let Some(v) = get("w_ls") {
            let n = atoi(&v);
            if (0..=99).contains(&n) {
                sh.m(i, M_LBSET).store(n as u64, Relaxed);
            }
        }
        if hcheck {
            apply_hc(sh, i, get);
        }
        if !was_usable && sh.usable(i) {
            sh.request_reset();
        }
    }
    if let Some(v) = get("b_lbm")
        && let Some(m) = LbMethod::from_name(&v)
        && m != sh.lbmethod()
        && loaded.contains(&m.module())
    {
        sh.set_lbmethod(m);
        sh.request_reset();
    }
    if let Some(v) = get("b_tmo") {
        let n = atoi(&v);
        if (0..=7200).contains(&n) {
            sh.set_timeout(Duration::from_secs(n as u64));
        }
    }
    if let Some(v) = get("b_max") {
        let n = atoi(&v);
        if (0..=99).contains(&n) {
            sh.set_max_attempts(n as u64);
        }
    }
    if let Some(v) = get("b_sforce") {
        sh.set_nofailover(atoi(&v) != 0);
    }
    if let Some(v) = get("b_ss")
        && !v.is_empty()
        && v.len() < 63
    {
        if v == "-" {
            sh.set_sticky("", "");
        } else {
            let (c, p) = v.split_once('|').unwrap_or((&v, &v));
            sh.set_sticky(c, p);
        }
    }
}

/// mod_proxy_hcheck's member settings: `w_hm` method, `w_hi` interval (ms unless a
/// unit is given, at least 100 ms), `w_hp`/`w_hf` passes/fails (at least 1), `w_hu`.
fn apply_hc(sh: &Shared, i: usize, get: &dyn Fn(&str) -> Option<String>) {
    let atoi = |v: &str| crate::conf::atoi(v);
    if let Some(v) = get("w_hi") {
        let v = v.trim();
        let (num, mult) = if let Some(n) = v.strip_suffix("ms") {
            (n, 1)
        } else if let Some(n) = v.strip_suffix("mi") {
            (n, 60_000)
        } else if let Some(n) = v.strip_suffix('s') {
            (n, 1000)
        } else if let Some(n) = v.strip_suffix('h') {
            (n, 3_600_000)
        } else {
            (v, 1)
        };
        if let Ok(n) = num.parse::<u64>() {
            let ms = n.saturating_mul(mult);
            if ms >= 100 {
                sh.store_hc(i, HcField::IntervalMs, ms);
            }
        }
    }
    for (key, field) in [("w_hp", HcField::Passes), ("w_hf", HcField::Fails)] {
        if let Some(v) = get(key) {
            let n = atoi(&v);
            if n >= 1 {
                sh.store_hc(i, field, n as u64);
            }
        }
    }
    if let Some(v) = get("w_hm") {
        let m = v.trim().to_ascii_uppercase();
        let method = match m.as_str() {
            "NONE" => Some(None),
            "TCP" => Some(Some(HcMethod::Tcp)),
            "OPTIONS" | "OPTIONS11" => Some(Some(HcMethod::Options)),
            "HEAD" | "HEAD11" => Some(Some(HcMethod::Head)),
            "GET" | "GET11" => Some(Some(HcMethod::Get)),
            _ => None,
        };
        if let Some(method) = method {
            sh.set_hc_method(i, method);
        }
    }
    if let Some(v) = get("w_hu") {
        sh.set_hc_uri(i, if v.len() < 64 { &v } else { "" });
    }
}

/// The host name the request was for (Apache's `ap_get_server_name` with
/// `UseCanonicalName Off`).
fn server_name(req: &Request<'_>) -> String {
    req.head
        .host
        .as_deref()
        .map(|h| match h.rfind(':') {
            Some(i) if !h.ends_with(']') => h[..i].to_string(),
            _ => h.to_string(),
        })
        .or_else(|| req.vhost.server_name.clone())
        .unwrap_or_else(|| req.conn.local.ip().to_string())
}

/// Apache's `safe_referer`: the Referer names this host.
fn safe_referer(req: &Request<'_>, referer: &str) -> bool {
    let Some((_, rest)) = referer.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.split(':').next().unwrap_or(""),
    };
    !host.is_empty() && host.eq_ignore_ascii_case(&server_name(req))
}

/// The parameters a GET may carry: selection only, as in Apache.
const GET_ALLOWED: &[&str] = &["w", "b", "nonce", "xml"];

impl Handler for BalancerManager {
    fn name(&self) -> &'static str {
        HANDLER
    }

    fn handle(&self, req: &Request<'_>, body: &mut RequestBody<'_>) -> Response {
        super::proxy_hcheck::ensure_started(&self.registry);
        let mut pairs: Vec<(String, String)> = req
            .head
            .query
            .as_deref()
            .map(form_pairs)
            .unwrap_or_default()
            .into_iter()
            .filter(|(k, _)| GET_ALLOWED.contains(&k.as_str()))
            .collect();
        if req.head.method == http::Method::POST {
            // Apache reads one buffer of 1024 bytes of the form.
            let mut buf = Vec::new();
            let _ = body.take(1024).read_to_end(&mut buf);
            pairs.extend(form_pairs(&String::from_utf8_lossy(&buf)));
        }
        let referer = req
            .head
            .headers
            .get(http::header::REFERER)
            .and_then(|v| v.to_str().ok());
        if !pairs.is_empty() && !referer.is_some_and(|r| safe_referer(req, r)) {
            super::proxy_backend::log(
                req,
                crate::log::Level::Error,
                &format!(
                    "AH10187: ignoring params in balancer-manager cross-site access {}: {}",
                    referer.unwrap_or("(null)"),
                    server_name(req)
                ),
            );
            pairs.clear();
        }
        let get = |k: &str| {
            pairs
                .iter()
                .rev()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
        };
        let balancers = self.balancers_of(req);
        let bsel = get("b").and_then(|b| {
            let name = format!("balancer://{}", b.to_ascii_lowercase());
            balancers.iter().find(|s| s.cfg.name == name).copied()
        });
        let wsel = bsel.and_then(|sh| get("w").and_then(|w| member_by_url(sh, &w)));
        if let Some(sh) = bsel {
            // A balancer with `nonce=None` takes no changes here, as in Apache.
            let nonce = sh.nonce();
            if !nonce.is_empty() && get("nonce").is_some_and(|n| n == nonce) {
                apply(sh, wsel, &get, &req.server.loaded_modules);
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

/// The worker form's health-check table (Apache's layout; the expression is shown,
/// not changed).
fn hc_form(o: &mut String, sh: &Shared, i: usize) {
    let (method, interval, passes, fails, uri) = sh.hc_values(i);
    o.push_str("<tr><td colspan='2'>\n<table align='center'><tr><th>Health Check param</th><th>Value</th></tr>\n<tr><td>Method</td><td><select name='w_hm'>\n");
    let current = method.map_or("NONE", HcMethod::name);
    for name in [
        "NONE",
        "TCP",
        "OPTIONS",
        "HEAD",
        "GET",
        "OPTIONS11",
        "HEAD11",
        "GET11",
    ] {
        let sel = if name == current { "selected" } else { "" };
        let _ = writeln!(o, "<option value='{name}' {sel} >{name}</option>");
    }
    o.push_str("</select>\n</td></tr>\n<tr><td>Expr</td><td><select name='w_he'>\n");
    if let Some((name, _)) = sh.cfg.members[i].hc.as_ref().and_then(|h| h.expr.as_ref()) {
        let _ = writeln!(o, "<option value='{0}' selected >{0}</option>", esc(name));
    }
    o.push_str("</select>\n</td></tr>\n");
    let _ = writeln!(
        o,
        "<tr><td>Interval (ms)</td><td><input name='w_hi' id='w_hi' type='text' value='{interval}'></td></tr>"
    );
    let _ = writeln!(
        o,
        "<tr><td>Passes trigger</td><td><input name='w_hp' id='w_hp' type='text' value='{passes}'></td></tr>"
    );
    let _ = writeln!(
        o,
        "<tr><td>Fails trigger)</td><td><input name='w_hf' id='w_hf' type='text' value='{fails}'></td></tr>"
    );
    let _ = writeln!(
        o,
        "<tr><td>HC uri</td><td><input name='w_hu' id='w_hu' type='text' value=\"{}\"></td></tr>\n</table>\n</td></tr>",
        esc(&uri)
    );
}

/// An On/Off radio pair (Apache's `create_radio`).
fn radio(o: &mut String, name: &str, on: bool) {
    let _ = writeln!(
        o,
        "<td><label for='{name}1'>On</label> <input name='{name}' id='{name}1' value='1' type=radio{}> <br/> <label for='{name}0'>Off</label> <input name='{name}' id='{name}0' value='0' type=radio{}></td>",
        if on { " checked" } else { "" },
        if on { "" } else { " checked" }
    );
}

pub(crate) fn factor(sh: &Shared, i: usize) -> String {
    let f = sh.load(i, M_LBFACTOR);
    format!("{}.{:02}", f / 100, f % 100)
}

fn render(
    req: &Request<'_>,
    balancers: &[&Arc<Shared>],
    bsel: Option<&Arc<Shared>>,
    wsel: Option<usize>,
) -> String {
    let me = esc(&req.head.path);
    let action = esc(&req.absolute_url(&req.head.path));
    let hcheck = req.server.loaded_modules.contains(&"proxy_hcheck_module");
    let mut o = String::with_capacity(4096);
    o.push_str("<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\" \"http://www.w3.org/TR/html4/strict.dtd\">\n<html><head><title>Balancer Manager</title>\n");
    o.push_str("<style type='text/css'>\ntable {\n border-width: 1px;\n border-spacing: 3px;\n border-style: solid;\n border-color: gray;\n border-collapse: collapse;\n background-color: white;\n text-align: center;\n}\nth {\n border-width: 1px;\n padding: 2px;\n border-style: dotted;\n border-color: gray;\n background-color: lightgray;\n text-align: center;\n}\ntd {\n border-width: 1px;\n padding: 2px;\n border-style: dotted;\n border-color: gray;\n background-color: white;\n text-align: center;\n}\n</style>\n</head>\n");
    let _ = writeln!(
        o,
        "<body><h1>Load Balancer Manager for {}</h1>\n",
        esc(&server_name(req))
    );
    let _ = writeln!(
        o,
        "<dl><dt>Server Version: {}</dt>",
        esc(&crate::error_pages::server_banner(req.server.server_tokens))
    );
    o.push_str("<dt>Balancer changes will NOT be persisted on restart.</dt><dt>Balancers are inherited from main server.</dt><dt>ProxyPass settings are inherited from main server.</dt></dl>\n");
    for sh in balancers {
        let b = esc(short_name(sh));
        let nonce = esc(&sh.nonce());
        o.push_str("<hr />\n");
        let _ = writeln!(
            o,
            "<h3>LoadBalancer Status for <a href=\"{me}?b={b}&amp;nonce={nonce}\">{}</a> [p{:08x}_{b}]</h3>\n\n",
            esc(&sh.cfg.name),
            sh.id()
        );
        o.push_str("<table><tr><th>MaxMembers</th><th>StickySession</th><th>DisableFailover</th><th>Timeout</th><th>FailoverAttempts</th><th>Method</th><th>Path</th><th>Active</th></tr>\n");
        let n = sh.cfg.members.len();
        let sticky = match sh.sticky() {
            Some((c, u)) if c == u => c,
            Some((c, u)) => format!("{c}|{u}"),
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
            "<tr><td>{n} [{n} Used]</td>\n<td>{}</td><td>{}</td>\n<td>{}</td><td>{}</td>\n<td>{}</td>\n<td>{}</td>\n<td>Yes</td>\n</tr>\n</table>\n<br />\n",
            esc(&sticky),
            if sh.nofailover() { "On" } else { "Off" },
            sh.timeout().as_secs(),
            sh.max_attempts(),
            sh.lbmethod().name(),
            esc(&paths.join(" "))
        );
        o.push_str("<table><tr><th>Worker URL</th><th>Route</th><th>RouteRedir</th><th>Factor</th><th>Set</th><th>Status</th><th>Elected</th><th>Busy</th><th>Load</th><th>To</th><th>From</th>");
        if hcheck {
            o.push_str("<th>HC Method</th><th>HC Interval</th><th>Passes</th><th>Fails</th><th>HC uri</th><th>HC Expr</th>");
        }
        o.push_str("</tr>\n");
        for (i, m) in sh.cfg.members.iter().enumerate() {
            let url = esc(&m.backend.url);
            let _ = write!(
                o,
                "<tr>\n<td><a href=\"{me}?b={b}&amp;w={url}&amp;nonce={nonce}\">{url}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
                esc(&sh.route(i)),
                esc(&sh.redirect(i)),
                factor(sh, i),
                sh.load(i, M_LBSET),
                status_text(sh, i),
                sh.load(i, M_ELECTED),
                sh.load(i, M_BUSY),
                sh.load(i, M_LBSTATUS) as i64,
                strfsize(sh.load(i, M_TRANSFERRED)),
                strfsize(sh.load(i, M_READ)),
            );
            if hcheck {
                let (method, interval, passes, fails, uri) = sh.hc_values(i);
                let method = method.map_or("NONE", HcMethod::name);
                let expr =
                    m.hc.as_ref()
                        .and_then(|h| h.expr.as_ref())
                        .map_or("", |(n, _)| n.as_str());
                let uri = uri.as_str();
                let _ = write!(
                    o,
                    "<td>{method}</td><td>{interval}ms</td><td>{passes} ({})</td><td>{fails} ({})</td><td>{}</td><td>{}</td>",
                    sh.load(i, M_HC_PASSES),
                    sh.load(i, M_HC_FAILS),
                    esc(uri),
                    esc(expr)
                );
            }
            o.push_str("</tr>\n");
        }
        o.push_str("</table>\n");
    }
    o.push_str("<hr />\n");
    if let (Some(sh), Some(i)) = (bsel, wsel) {
        let url = esc(&sh.cfg.members[i].backend.url);
        let _ = writeln!(o, "<h3>Edit worker settings for {url}</h3>");
        let _ = writeln!(
            o,
            "<form method='POST' enctype='application/x-www-form-urlencoded' action=\"{action}\">"
        );
        let _ = writeln!(
            o,
            "<table><tr><td>Load factor:</td><td><input name='w_lf' id='w_lf' type=text value='{}'></td></tr>",
            factor(sh, i)
        );
        let _ = writeln!(
            o,
            "<tr><td>LB Set:</td><td><input name='w_ls' id='w_ls' type=text value='{}'></td></tr>",
            sh.load(i, M_LBSET)
        );
        let _ = writeln!(
            o,
            "<tr><td>Route:</td><td><input name='w_wr' id='w_wr' type=text value=\"{}\"></td></tr>",
            esc(&sh.route(i))
        );
        let _ = writeln!(
            o,
            "<tr><td>Route Redirect:</td><td><input name='w_rr' id='w_rr' type=text value=\"{}\"></td></tr>",
            esc(&sh.redirect(i))
        );
        o.push_str("<tr><td>Status:</td><td><table><tr>");
        for (_, _, label) in EDITABLE {
            let _ = write!(o, "<th>{label}</th>");
        }
        o.push_str("</tr>\n<tr>");
        let bits = sh.status(i);
        for (letter, bit, _) in EDITABLE {
            radio(&mut o, &format!("w_status_{letter}"), bits & bit != 0);
        }
        o.push_str("</tr></table></td></tr>\n");
        if hcheck {
            hc_form(&mut o, sh, i);
        }
        o.push_str("<tr><td colspan='2'><input type=submit value='Submit'></td></tr>\n</table>\n");
        let _ = writeln!(
            o,
            "<input type=hidden name='w' id='w' value=\"{url}\">\n<input type=hidden name='b' id='b' value=\"{}\">\n<input type=hidden name='nonce' id='nonce' value='{}'>\n</form>\n<hr />",
            esc(short_name(sh)),
            esc(&sh.nonce())
        );
    } else if let Some(sh) = bsel {
        let _ = writeln!(
            o,
            "<h3>Edit balancer settings for {}</h3>",
            esc(&sh.cfg.name)
        );
        let _ = writeln!(
            o,
            "<form method='POST' enctype='application/x-www-form-urlencoded' action=\"{action}\">"
        );
        o.push_str("<table>\n<tr><td>LBmethod:</td><td>\n<select name='b_lbm' id='b_lbm'>");
        let cur = sh.lbmethod();
        for m in LbMethod::ALL {
            if !req.server.loaded_modules.contains(&m.module()) {
                continue;
            }
            if m == cur {
                let _ = writeln!(o, "<option value='{0}' selected >{0}", m.name());
            } else {
                let _ = writeln!(o, "<option value='{0}'>{0}", m.name());
            }
        }
        o.push_str("</select>\n</td></tr>\n");
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
        o.push_str("<tr><td>Disable Failover:</td>");
        radio(&mut o, "b_sforce", sh.nofailover());
        o.push_str("</tr>\n");
        let ss = match sh.sticky() {
            Some((c, u)) if c == u => c,
            Some((c, u)) => format!("{c}|{u}"),
            None => String::new(),
        };
        let _ = writeln!(
            o,
            "<tr><td>Sticky Session:</td><td><input name='b_ss' id='b_ss' size=64 type=text value =\"{}\">&nbsp;&nbsp;&nbsp;&nbsp;(Use '-' to delete)</td></tr>",
            esc(&ss)
        );
        o.push_str("<tr><td colspan=2><input type=submit value='Submit'></td></tr>\n</table>\n");
        let _ = writeln!(
            o,
            "<input type=hidden name='b' id='b' value=\"{}\">\n<input type=hidden name='nonce' id='nonce' value='{}'>\n</form>\n<hr />",
            esc(short_name(sh)),
            esc(&sh.nonce())
        );
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

    proptest::proptest! {
        #[test]
        fn sizes_are_four_characters(n in proptest::num::u64::ANY) {
            proptest::prop_assert_eq!(strfsize(n).chars().count(), 4, "{}", n);
        }

        #[test]
        fn forms_never_panic(s in ".{0,80}") {
            let pairs = form_pairs(&s);
            proptest::prop_assert!(pairs.len() <= s.matches('&').count() + 1);
        }
    }
}
