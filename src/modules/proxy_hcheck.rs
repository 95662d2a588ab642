//! mod_proxy_hcheck: health checks of balancer members (`hcmethod=TCP|OPTIONS|HEAD|GET`,
//! `hcinterval=`, `hcpasses=`, `hcfails=`, `hcuri=`, `hcexpr=`).
//!
//! Who checks: with proxy_hcheck_module loaded and a balancer configured, each child
//! process runs one `proxy-hcheck` thread, started when the child starts (`-X`: with
//! the first balancer or balancer-manager request); never the parent. It reads each
//! member's live settings (method, interval, passes, fails, URI) from shared memory,
//! where the balancer-manager may change them.
//! A check is claimed through its member's due-time word in the balancer's shared
//! memory (compare-and-swap to the next due time), so however many children run the
//! thread, each member is checked once per interval, and the checks go on when a
//! child exits. Results are written to the same shared memory: `hcfails`
//! consecutive failures set the member's hc-failed bit (`C`, "HcFl" on the
//! balancer-manager page) and the balancer skips it; `hcpasses` consecutive passes
//! clear it.
//!
//! HTTP checks are sent as HTTP/1.0 over plain TCP; an `https://` member gets a TCP
//! check (its TLS is not exercised). `hcexpr=` is evaluated by the ap_expr engine with
//! `%{REQUEST_STATUS}` and `resp('Header')`; `hc('body')` is not available.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rhttpd_http::{HeaderMap, Limits, parse_response_head};

use super::proxy_balancer::{
    HcSettings, M_HC_DUE, M_HC_FAILS, M_HC_PASSES, Registry, Shared, now_ms,
};
use crate::conf::balancer::{HcMethod, Member, status};
use crate::conf::proxy::{BackendAddr, Scheme};
use crate::log::Level;

/// The registries (by address) this process runs a checker for.
static STARTED: Mutex<Vec<usize>> = Mutex::new(Vec::new());

/// The generation's registry, set by the parent when it builds the generation (no
/// thread is started there), so that each child it forks next can start its checker.
static CURRENT: Mutex<Option<Arc<Registry>>> = Mutex::new(None);

/// Parent: the registry children forked from now on check.
pub fn set_current(reg: &Arc<Registry>) {
    *CURRENT.lock().unwrap_or_else(|e| e.into_inner()) = Some(reg.clone());
}

/// The registry of this process's generation (mod_status's ProxyStatus section).
pub fn current() -> Option<Arc<Registry>> {
    CURRENT.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// A child, once it has dropped privileges: start the checker of its generation.
pub fn child_init() {
    let reg = CURRENT.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if let Some(reg) = reg {
        ensure_started(&reg);
    }
}

/// Start this process's checker thread for `reg` unless it runs already, or
/// mod_proxy_hcheck is not loaded, or there is no balancer (with the module loaded a
/// thread runs even while no member has a method: the manager may set one).
pub fn ensure_started(reg: &Arc<Registry>) {
    if !reg.hcheck || reg.balancers.is_empty() {
        return;
    }
    let addr = Arc::as_ptr(reg) as usize;
    let mut started = STARTED.lock().unwrap_or_else(|e| e.into_inner());
    if started.contains(&addr) {
        return;
    }
    started.push(addr);
    let reg = reg.clone();
    let spawned = std::thread::Builder::new()
        .name("proxy-hcheck".into())
        .spawn(move || run(&reg));
    if let Err(e) = spawned {
        crate::log::log(
            "proxy_hcheck",
            Level::Error,
            None,
            &format!("AH03258: could not start the health-check thread: {e}"),
        );
    }
}

fn run(reg: &Registry) -> ! {
    loop {
        let now = now_ms();
        let mut wake = now + 1000;
        for sh in &reg.balancers {
            for (i, m) in sh.cfg.members.iter().enumerate() {
                // The live settings: the balancer-manager may have changed them.
                let Some(hc) = sh.hc(i) else { continue };
                let due = sh.load(i, M_HC_DUE);
                let next = now + hc.interval.as_millis() as u64;
                if now >= due {
                    if sh
                        .m(i, M_HC_DUE)
                        .compare_exchange(due, next, Relaxed, Relaxed)
                        .is_ok()
                    {
                        let ok = check(m, &hc);
                        record(sh, i, m, &hc, ok);
                    }
                    wake = wake.min(next);
                } else {
                    wake = wake.min(due);
                }
            }
        }
        let nap = wake.saturating_sub(now_ms()).clamp(10, 1000);
        std::thread::sleep(Duration::from_millis(nap));
    }
}

/// Count a result; flip the hc-failed bit after enough in a row.
fn record(sh: &Shared, i: usize, m: &Member, hc: &HcSettings, ok: bool) {
    let failed = sh.status(i) & status::HC_FAIL != 0;
    if ok {
        sh.m(i, M_HC_FAILS).store(0, Relaxed);
        if failed {
            let n = sh.m(i, M_HC_PASSES).fetch_add(1, Relaxed) + 1;
            if n >= hc.passes {
                sh.clear_bits(i, status::HC_FAIL);
                sh.m(i, M_HC_PASSES).store(0, Relaxed);
                note(sh, m, "Ok");
            }
        }
    } else {
        sh.m(i, M_HC_PASSES).store(0, Relaxed);
        if !failed {
            let n = sh.m(i, M_HC_FAILS).fetch_add(1, Relaxed) + 1;
            if n >= hc.fails {
                sh.set_bits(i, status::HC_FAIL);
                sh.m(i, M_HC_FAILS).store(0, Relaxed);
                note(sh, m, "Failed");
            }
        }
    }
}

fn note(sh: &Shared, m: &Member, what: &str) {
    crate::log::log(
        "proxy_hcheck",
        Level::Info,
        None,
        &format!(
            "AH03251: Health check {} Status ({what}) for {}.",
            sh.cfg.name, m.backend.url
        ),
    );
}

/// One check of member `m`.
fn check(m: &Member, hc: &HcSettings) -> bool {
    let b = &m.backend;
    let timeout = b
        .params
        .connect_timeout
        .or(b.params.timeout)
        .unwrap_or(Duration::from_secs(5));
    let BackendAddr::Tcp { host, port } = &b.addr else {
        // A Unix-socket member: connecting is the check.
        if let BackendAddr::Unix(p) = &b.addr {
            return std::os::unix::net::UnixStream::connect(p).is_ok();
        }
        return false;
    };
    let Some(addr) = (host.as_str(), *port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
    else {
        return false;
    };
    let Ok(mut conn) = TcpStream::connect_timeout(&addr, timeout) else {
        return false;
    };
    if hc.method == HcMethod::Tcp || b.scheme != Scheme::Http {
        return true;
    }
    let _ = conn.set_read_timeout(Some(timeout));
    let _ = conn.set_write_timeout(Some(timeout));
    let mut path = b.path.trim_end_matches('/').to_string();
    if hc.uri.is_empty() {
        path.push('/');
    } else {
        if !hc.uri.starts_with('/') {
            path.push('/');
        }
        path.push_str(&hc.uri);
    }
    let head = format!(
        "{} {path} HTTP/1.0\r\nHost: {}\r\nUser-Agent: rhttpd-hcheck\r\n\r\n",
        hc.method.name(),
        b.authority
    );
    if conn.write_all(head.as_bytes()).is_err() {
        return false;
    }
    let mut buf = Vec::with_capacity(4096);
    let limits = Limits::default();
    let (code, headers) = loop {
        match parse_response_head(&buf, &limits) {
            Ok(Some(p)) => break (p.status.as_u16(), p.headers),
            Ok(None) => {}
            Err(_) => return false,
        }
        let mut chunk = [0u8; 4096];
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if buf.len() > 64 * 1024 {
            return false;
        }
    };
    // `hcexpr=` is the configured one (the manager does not change it).
    match m.hc.as_ref().and_then(|h| h.expr.as_ref()) {
        Some((_, e)) => e.eval_or_log(&HcContext { code, headers }, "proxy_hcheck"),
        None => (200..400).contains(&code),
    }
}

/// What an `hcexpr` sees: the check's response.
struct HcContext {
    code: u16,
    headers: HeaderMap,
}

impl rhttpd_expr::Context for HcContext {
    fn var(&self, name: &str) -> Option<String> {
        match name {
            "REQUEST_STATUS" => Some(self.code.to_string()),
            _ => None,
        }
    }

    fn function(&self, name: &str, arg: &str) -> Option<String> {
        match name {
            "resp" => self
                .headers
                .get(arg)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            _ => None,
        }
    }
}
