//! Parameter parsing for balancers and their members: Apache's `set_balancer_param`
//! (ProxySet and the ProxyPass line), `ap_proxy_set_wparam` for the balancer-specific
//! member keys plus mod_proxy_hcheck's `hc*` keys (the rest go to mod_proxy's worker
//! parameters), and `status=` letters.

use std::sync::Arc;
use std::time::Duration;

use rhttpd_config::Directive;

use super::{BalancerParams, HcMethod, HealthCheck, LbMethod, Member, split_url, status};
use crate::conf::expr::ConfExpr;
use crate::conf::proxy::Backend;

fn on_off(v: &str, what: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(format!("{what} must be On|Off")),
    }
}

fn seconds(v: &str, what: &str) -> Result<Duration, String> {
    if let Some(ms) = v.strip_suffix("ms") {
        return ms
            .parse::<u64>()
            .map(Duration::from_millis)
            .map_err(|_| format!("{what} must be a number of seconds"));
    }
    v.trim_end_matches('s')
        .parse::<u64>()
        .map(Duration::from_secs)
        .map_err(|_| format!("{what} must be a number of seconds"))
}

/// One balancer parameter (Apache's `set_balancer_param`).
pub fn set_balancer_param(
    p: &mut BalancerParams,
    key: &str,
    val: &str,
    loaded: &[&str],
) -> Result<(), String> {
    match key.to_ascii_lowercase().as_str() {
        "lbmethod" => {
            let m = LbMethod::from_name(val)
                .filter(|m| loaded.contains(&m.module()))
                .ok_or("unknown lbmethod")?;
            p.lbmethod = m;
        }
        "stickysession" => {
            if val.len() >= 64 {
                return Err("stickysession length must be < 64 characters".into());
            }
            let (c, u) = val.split_once('|').unwrap_or((val, val));
            p.sticky = Some((c.to_string(), u.to_string()));
        }
        "stickysessionsep" => {
            p.sticky_sep = match val.as_bytes() {
                [c] => *c,
                _ if val.eq_ignore_ascii_case("off") => 0,
                _ => return Err("stickysessionsep must be a single character or Off".into()),
            };
        }
        "nofailover" => p.nofailover = on_off(val, "failover")?,
        "scolonpathdelim" => p.scolon = on_off(val, "scolonpathdelim")?,
        "timeout" => {
            let t = seconds(val, "timeout")?;
            if t < Duration::from_secs(1) {
                return Err("timeout must be at least one second".into());
            }
            p.timeout = t;
        }
        "maxattempts" => {
            // atoi, as Apache: a word is 0.
            let n = crate::conf::atoi(val);
            if n < 0 {
                return Err("maximum number of attempts must be a positive number".into());
            }
            p.maxattempts = Some(n as u64);
        }
        "failonstatus" => {
            p.failonstatus.clear();
            for s in val.split(',') {
                let n: u16 = s.trim().parse().unwrap_or(0);
                if !(100..600).contains(&n) {
                    return Err("failonstatus must be one or more HTTP response codes".into());
                }
                p.failonstatus.push(n);
            }
        }
        "failontimeout" => p.failontimeout = on_off(val, "failontimeout")?,
        "forcerecovery" => p.forcerecovery = on_off(val, "forcerecovery")?,
        "nonce" => {
            p.nonce = Some(if val.eq_ignore_ascii_case("none") {
                String::new()
            } else {
                val.to_string()
            });
        }
        "growth" => {
            let n: u64 = val.parse().unwrap_or(u64::MAX);
            if n > 100 {
                return Err("growth must be between 1 and 100".into());
            }
            p.growth = n;
        }
        _ => return Err("unknown Balancer parameter".into()),
    }
    Ok(())
}

/// A `BalancerMember URL [key=value ...]`.
pub(super) fn parse_member(
    d: &Directive,
    url: &str,
    params: &[String],
    exprs: &[(String, ConfExpr)],
    templates: &[(String, Vec<String>)],
    loaded: &[&str],
) -> Result<Member, String> {
    // `hctemplate=NAME` stands for the template's parameters, at its place (later
    // parameters override them, as in Apache).
    let mut expanded = Vec::with_capacity(params.len());
    for p in params {
        match p.split_once('=') {
            Some((k, v)) if k.eq_ignore_ascii_case("hctemplate") => {
                let (_, t) = templates
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(v))
                    .ok_or_else(|| format!("Unknown ProxyHCTemplate name: {v}"))?;
                expanded.extend(t.iter().cloned());
            }
            _ => expanded.push(p.clone()),
        }
    }
    let params = &expanded[..];
    if split_url(url).is_some() {
        return Err("BalancerMember: a member cannot be a balancer".into());
    }
    let mut backend = Backend::parse(url)?;
    let mut m = Member {
        backend: Arc::new(Backend::parse(url)?),
        retry: Duration::from_secs(60),
        route: String::new(),
        redirect: String::new(),
        loadfactor: 100,
        lbset: 0,
        status: 0,
        hc: None,
        location: d.location.clone(),
    };
    let mut hc = HealthCheck {
        method: HcMethod::Tcp,
        interval: Duration::from_secs(30),
        passes: 1,
        fails: 1,
        uri: String::new(),
        expr: None,
    };
    let mut hc_on = false;
    let mut worker = Vec::new();
    for p in params {
        let Some((k, v)) = p.split_once('=') else {
            return Err(format!(
                "Invalid BalancerMember parameter '{p}' (expected key=value)"
            ));
        };
        let key = k.to_ascii_lowercase();
        if key.starts_with("hc") && !loaded.contains(&"proxy_hcheck_module") {
            return Err("unknown Worker parameter".into());
        }
        match key.as_str() {
            "route" | "redirect" => {
                if v.len() >= 64 {
                    return Err(if key == "route" {
                        "Route length must be < 64 characters".into()
                    } else {
                        "Redirect length must be < 64 characters".into()
                    });
                }
                if key == "route" {
                    m.route = v.to_string();
                } else {
                    m.redirect = v.to_string();
                }
            }
            "loadfactor" => {
                let f: f64 = v.parse().unwrap_or(0.0);
                if !(1.0..=100.0).contains(&f) {
                    return Err("LoadFactor must be a number between 1..100".into());
                }
                m.loadfactor = (f * 100.0).round() as u64;
            }
            "lbset" => {
                let n: u64 = v.parse().unwrap_or(u64::MAX);
                if n > 99 {
                    return Err("lbset must be between 0 and 99".into());
                }
                m.lbset = n;
            }
            "status" => m.status = parse_status(m.status, v)?,
            "retry" => {
                m.retry = seconds(v, "retry")?;
                worker.push(p.clone());
            }
            "hcmethod" => {
                hc_on = true;
                hc.method = match v.to_ascii_uppercase().as_str() {
                    "NONE" => {
                        hc_on = false;
                        HcMethod::Tcp
                    }
                    "TCP" => HcMethod::Tcp,
                    "OPTIONS" | "OPTIONS11" => HcMethod::Options,
                    "HEAD" | "HEAD11" => HcMethod::Head,
                    "GET" | "GET11" => HcMethod::Get,
                    _ => return Err("Unknown method".into()),
                };
            }
            "hcinterval" => {
                hc.interval = seconds(v, "hcinterval")
                    .ok()
                    .filter(|t| *t >= std::time::Duration::from_millis(100))
                    .ok_or("Interval must be a positive value greater than 100ms")?;
            }
            "hcpasses" | "hcfails" => {
                let n = crate::conf::atoi(v);
                if n < 0 {
                    return Err(format!("{k} must be a positive value"));
                }
                let n = n.min(i64::from(u32::MAX)) as u32;
                if key == "hcpasses" {
                    hc.passes = n;
                } else {
                    hc.fails = n;
                }
            }
            "hcuri" => {
                if v.len() >= 64 {
                    return Err("hcuri length must be < 64 characters".into());
                }
                hc.uri = v.to_string();
            }
            "hcexpr" => {
                let e = exprs
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(v))
                    .ok_or_else(|| format!("Unknown health check condition expr: {v}"))?;
                hc.expr = Some(e.clone());
            }
            _ => worker.push(p.clone()),
        }
    }
    backend.apply_params(&worker).map_err(|e| {
        let e = e.strip_prefix("ProxyPass ").unwrap_or(&e).to_string();
        // mod_proxy_hcheck has the last word on unknown keys, as in Apache.
        if e.starts_with("unknown Worker parameter") && loaded.contains(&"proxy_hcheck_module") {
            "unknown Worker hcheck parameter".to_string()
        } else {
            e
        }
    })?;
    backend.params.retry = Duration::ZERO;
    m.backend = Arc::new(backend);
    if hc_on {
        m.hc = Some(hc);
    }
    Ok(m)
}

/// `status=[+-]LETTERS` (Apache's `ap_proxy_set_wstatus`).
pub fn parse_status(mut bits: u64, v: &str) -> Result<u64, String> {
    let mut set = true;
    for c in v.chars() {
        match c {
            '+' => set = true,
            '-' => set = false,
            _ => {
                let (_, bit) = status::LETTERS
                    .iter()
                    .find(|(l, _)| *l == c.to_ascii_uppercase())
                    .ok_or("Unknown status parameter option")?;
                if set {
                    bits |= bit;
                } else {
                    bits &= !bit;
                }
            }
        }
    }
    Ok(bits)
}
