//! mod_proxy_balancer: a `ProxyPass` to `balancer://name` picks one member of the
//! balancer per request and hands the request to mod_proxy_http (or mod_proxy_fcgi)
//! for that member, failing over to another member when it cannot be reached.
//!
//! Shared state: every balancer's runtime state (member status bits, error time,
//! lbstatus, load factor, lbset, elected/busy counts, bytes each way, health-check
//! counters, the balancer-manager's nonce and live settings) is a block of `AtomicU64`
//! words in anonymous `MAP_SHARED` memory ([`SharedWords`]) that the parent maps while it
//! builds the generation, before any child is forked: every prefork child and every
//! thread of every worker/event child reads and writes the same words. Choosing a
//! member (Apache's balancer mutex) takes a spin lock word in the block; the lock is
//! held for microseconds, and a holder that died is overtaken after 50 ms.
//!
//! Graceful restart: the parent keeps each balancer's block keyed by its definition
//! ([`Balancer::fingerprint`]); a new generation whose balancer is defined the same way
//! continues with the same block (errors, counters and balancer-manager changes
//! survive), a changed definition starts fresh.
//!
//! The algorithms are Apache's (`proxy_util.c`'s `ap_proxy_balancer_get_best_worker`
//! and the three lbmethod modules): members are taken lbset by lbset; hot spares
//! replace unusable members of their set; hot standbys are used only when no other
//! member of the set is usable.

use std::collections::HashMap;
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::header;
use rhttpd_http::StatusCode;
use rhttpd_sys::SharedWords;

use super::proxy_backend::log;
use crate::conf::ServerConfig;
use crate::conf::balancer::{Balancer, LbMethod, Member, status};
use crate::conf::proxy::{Backend, ProxyRule, Scheme};
use crate::handler::{Body, Request, RequestBody, Response};
use crate::log::Level;

/// Words of a balancer's header.
const B_WORDS: usize = 16;
const B_LOCK: usize = 0;
const B_LBMETHOD: usize = 1;
const B_NOFAILOVER: usize = 2;
const B_MAXATTEMPTS: usize = 3;
const B_TIMEOUT_MS: usize = 4;
const B_NONCE: usize = 5; // two words
const B_FORCERECOVERY: usize = 7;

/// Words per member.
pub(crate) const M_WORDS: usize = 32;
pub(crate) const M_STATUS: usize = 0;
pub(crate) const M_ERROR_TIME: usize = 1;
pub(crate) const M_LBSTATUS: usize = 2;
pub(crate) const M_LBFACTOR: usize = 3;
pub(crate) const M_LBSET: usize = 4;
pub(crate) const M_ELECTED: usize = 5;
pub(crate) const M_BUSY: usize = 6;
pub(crate) const M_TRANSFERRED: usize = 7;
pub(crate) const M_READ: usize = 8;
pub(crate) const M_HC_PASSES: usize = 9;
pub(crate) const M_HC_FAILS: usize = 10;
pub(crate) const M_HC_DUE: usize = 11;
pub(crate) const M_RETRIES: usize = 12;
/// Seqlock version of the route and redirect strings (odd while being written).
const M_STR_VERSION: usize = 13;
/// 8 words: length byte + up to 63 bytes.
const M_ROUTE: usize = 14;
const M_REDIRECT: usize = 22;

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// One balancer's configuration and shared state.
pub struct Shared {
    pub cfg: Arc<Balancer>,
    words: Arc<SharedWords>,
}

impl Shared {
    fn w(&self, i: usize) -> &AtomicU64 {
        &self.words[i]
    }

    pub(crate) fn m(&self, member: usize, field: usize) -> &AtomicU64 {
        &self.words[B_WORDS + member * M_WORDS + field]
    }

    pub(crate) fn load(&self, member: usize, field: usize) -> u64 {
        self.m(member, field).load(Ordering::Relaxed)
    }

    fn lbstatus(&self, member: usize) -> i64 {
        self.load(member, M_LBSTATUS) as i64
    }

    fn add_lbstatus(&self, member: usize, delta: i64) {
        self.m(member, M_LBSTATUS)
            .fetch_add(delta as u64, Ordering::Relaxed);
    }

    pub(crate) fn status(&self, member: usize) -> u64 {
        self.load(member, M_STATUS)
    }

    pub(crate) fn set_bits(&self, member: usize, bits: u64) {
        self.m(member, M_STATUS).fetch_or(bits, Ordering::AcqRel);
    }

    pub(crate) fn clear_bits(&self, member: usize, bits: u64) {
        self.m(member, M_STATUS).fetch_and(!bits, Ordering::AcqRel);
    }

    pub(crate) fn usable(&self, member: usize) -> bool {
        let s = self.status(member);
        s & status::INITIALIZED != 0 && s & status::NOT_USABLE == 0
    }

    /// Put a member in error state now (unless it ignores errors).
    pub(crate) fn mark_error(&self, member: usize) {
        if self.status(member) & status::IGNORE_ERRORS == 0 {
            self.m(member, M_ERROR_TIME)
                .store(now_ms(), Ordering::Relaxed);
            self.set_bits(member, status::IN_ERROR);
        }
    }

    pub fn lbmethod(&self) -> LbMethod {
        LbMethod::from_index(self.w(B_LBMETHOD).load(Ordering::Relaxed))
    }

    pub(crate) fn set_lbmethod(&self, m: LbMethod) {
        self.w(B_LBMETHOD).store(m.index(), Ordering::Relaxed);
    }

    pub fn nofailover(&self) -> bool {
        self.w(B_NOFAILOVER).load(Ordering::Relaxed) != 0
    }

    pub(crate) fn set_nofailover(&self, on: bool) {
        self.w(B_NOFAILOVER).store(on as u64, Ordering::Relaxed);
    }

    pub fn max_attempts(&self) -> u64 {
        self.w(B_MAXATTEMPTS).load(Ordering::Relaxed)
    }

    pub(crate) fn set_max_attempts(&self, n: u64) {
        self.w(B_MAXATTEMPTS).store(n, Ordering::Relaxed);
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.w(B_TIMEOUT_MS).load(Ordering::Relaxed))
    }

    pub(crate) fn set_timeout(&self, t: Duration) {
        self.w(B_TIMEOUT_MS)
            .store(t.as_millis() as u64, Ordering::Relaxed);
    }

    pub fn forcerecovery(&self) -> bool {
        self.w(B_FORCERECOVERY).load(Ordering::Relaxed) != 0
    }

    /// The balancer-manager's nonce (`""`: `nonce=None`, no check).
    pub fn nonce(&self) -> String {
        if let Some(n) = &self.cfg.params.nonce {
            return n.clone();
        }
        let hi = self.w(B_NONCE).load(Ordering::Relaxed);
        let lo = self.w(B_NONCE + 1).load(Ordering::Relaxed);
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            hi >> 32,
            (hi >> 16) & 0xffff,
            hi & 0xffff,
            lo >> 48,
            lo & 0xffff_ffff_ffff
        )
    }

    fn read_str(&self, member: usize, at: usize) -> String {
        loop {
            let v1 = self.load(member, M_STR_VERSION);
            if v1 & 1 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let mut bytes = Vec::with_capacity(64);
            for i in 0..8 {
                bytes.extend_from_slice(&self.load(member, at + i).to_le_bytes());
            }
            if self.load(member, M_STR_VERSION) == v1 {
                let len = (bytes[0] as usize).min(63);
                return String::from_utf8_lossy(&bytes[1..1 + len]).into_owned();
            }
        }
    }

    pub fn route(&self, member: usize) -> String {
        self.read_str(member, M_ROUTE)
    }

    pub fn redirect(&self, member: usize) -> String {
        self.read_str(member, M_REDIRECT)
    }

    /// Set a member's route (`route`) or redirect string, at most 63 bytes.
    pub(crate) fn write_str(&self, member: usize, redirect: bool, value: &str) {
        let at = if redirect { M_REDIRECT } else { M_ROUTE };
        let v = value.as_bytes();
        let len = v.len().min(63);
        let mut bytes = [0u8; 64];
        bytes[0] = len as u8;
        bytes[1..1 + len].copy_from_slice(&v[..len]);
        let _g = self.lock();
        self.m(member, M_STR_VERSION).fetch_add(1, Ordering::AcqRel);
        for i in 0..8 {
            let mut w = [0u8; 8];
            w.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
            self.m(member, at + i)
                .store(u64::from_le_bytes(w), Ordering::Relaxed);
        }
        self.m(member, M_STR_VERSION).fetch_add(1, Ordering::AcqRel);
    }

    /// The balancer's lock (Apache's balancer mutex), across processes.
    pub(crate) fn lock(&self) -> LockGuard<'_> {
        let me = u64::from(std::process::id()) << 20 | thread_tag();
        let word = self.w(B_LOCK);
        let start = Instant::now();
        loop {
            let cur = word.load(Ordering::Relaxed);
            if cur == 0 || start.elapsed() > Duration::from_millis(50) {
                if word
                    .compare_exchange(cur, me, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
                {
                    return LockGuard { word, me };
                }
            } else {
                std::thread::yield_now();
            }
        }
    }

    /// Apache's `ap_proxy_retry_worker`: a member in error state whose `retry=` has
    /// passed (or that ignores errors) is usable again.
    fn retry(&self, member: usize) {
        let s = self.status(member);
        if s & status::IN_ERROR == 0 {
            return;
        }
        let m = &self.cfg.members[member];
        let since = now_ms().saturating_sub(self.load(member, M_ERROR_TIME));
        if s & status::IGNORE_ERRORS != 0 || since > m.retry.as_millis() as u64 {
            self.m(member, M_RETRIES).fetch_add(1, Ordering::Relaxed);
            self.clear_bits(member, status::IN_ERROR);
        }
    }
}

/// Holds a balancer's lock.
pub(crate) struct LockGuard<'a> {
    word: &'a AtomicU64,
    me: u64,
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        let _ = self
            .word
            .compare_exchange(self.me, 0, Ordering::Release, Ordering::Relaxed);
    }
}

fn thread_tag() -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    std::thread::current().id().hash(&mut h);
    (h.finish() & 0xf_ffff) | 1
}

/// Blocks kept by the parent across generations, by fingerprint.
static KEPT: LazyLock<Mutex<HashMap<String, Arc<SharedWords>>>> = LazyLock::new(Default::default);

/// The balancers of a generation, with their shared state.
pub struct Registry {
    pub balancers: Vec<Arc<Shared>>,
    /// The address of each balancer's configuration (stable for the generation, which
    /// owns it) → index in `balancers`.
    by_cfg: HashMap<usize, usize>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Registry({} balancers)", self.balancers.len())
    }
}

fn fresh_nonce() -> (u64, u64) {
    use ring::rand::{SecureRandom, SystemRandom};
    let mut b = [0u8; 16];
    if SystemRandom::new().fill(&mut b).is_err() {
        let t = now_ms() ^ u64::from(std::process::id()).rotate_left(32);
        b[..8].copy_from_slice(&t.to_le_bytes());
    }
    let hi = u64::from_le_bytes(b[..8].try_into().unwrap_or_default());
    let lo = u64::from_le_bytes(b[8..].try_into().unwrap_or_default());
    // UUID version 4 / variant bits, as apr_uuid's text has them.
    (
        (hi & !0xf000) | 0x4000,
        (lo & !(0xc000 << 48)) | (0x8000 << 48),
    )
}

impl Registry {
    /// Called by the parent while it builds a generation (before fork): map (or keep)
    /// the shared block of every balancer of `cfg`.
    pub fn build(cfg: &ServerConfig) -> Registry {
        let mut kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
        let mut next = HashMap::new();
        let mut reg = Registry {
            balancers: Vec::new(),
            by_cfg: HashMap::new(),
        };
        for (host_index, host) in std::iter::once(&cfg.main).chain(&cfg.vhosts).enumerate() {
            for b in &host.balancers.list {
                let addr = Arc::as_ptr(b) as usize;
                if reg.by_cfg.contains_key(&addr) {
                    continue;
                }
                let key = format!("{host_index}|{}", b.fingerprint());
                let key = if next.contains_key(&key) {
                    format!("{key}|{addr}")
                } else {
                    key
                };
                let words = match kept.get(&key) {
                    Some(w) => w.clone(),
                    None => match SharedWords::new(B_WORDS + b.members.len() * M_WORDS) {
                        Ok(w) => {
                            let w = Arc::new(w);
                            init_words(&w, b);
                            w
                        }
                        Err(e) => {
                            crate::log::log(
                                "proxy_balancer",
                                Level::Emerg,
                                None,
                                &format!(
                                    "AH01184: balancer slotmem_create failed for {}: {e}",
                                    b.name
                                ),
                            );
                            continue;
                        }
                    },
                };
                next.insert(key, words.clone());
                reg.by_cfg.insert(addr, reg.balancers.len());
                reg.balancers.push(Arc::new(Shared {
                    cfg: b.clone(),
                    words,
                }));
            }
        }
        *kept = next;
        reg
    }

    /// The shared state of balancer `b` of this generation.
    pub fn get(&self, b: &Arc<Balancer>) -> Option<&Arc<Shared>> {
        self.by_cfg
            .get(&(Arc::as_ptr(b) as usize))
            .map(|&i| &self.balancers[i])
    }
}

fn init_words(w: &SharedWords, b: &Balancer) {
    let r = Relaxed;
    w[B_LBMETHOD].store(b.params.lbmethod.index(), r);
    w[B_NOFAILOVER].store(b.params.nofailover as u64, r);
    w[B_MAXATTEMPTS].store(b.max_attempts(), r);
    w[B_TIMEOUT_MS].store(b.params.timeout.as_millis() as u64, r);
    w[B_FORCERECOVERY].store(b.params.forcerecovery as u64, r);
    let (hi, lo) = fresh_nonce();
    w[B_NONCE].store(hi, r);
    w[B_NONCE + 1].store(lo, r);
    for (i, m) in b.members.iter().enumerate() {
        let base = B_WORDS + i * M_WORDS;
        w[base + M_STATUS].store(status::INITIALIZED | m.status, r);
        if m.status & status::IN_ERROR != 0 {
            w[base + M_ERROR_TIME].store(now_ms(), r);
        }
        w[base + M_LBFACTOR].store(m.loadfactor, r);
        w[base + M_LBSET].store(m.lbset, r);
        for (at, s) in [(M_ROUTE, &m.route), (M_REDIRECT, &m.redirect)] {
            let v = s.as_bytes();
            let len = v.len().min(63);
            let mut bytes = [0u8; 64];
            bytes[0] = len as u8;
            bytes[1..1 + len].copy_from_slice(&v[..len]);
            for k in 0..8 {
                let mut x = [0u8; 8];
                x.copy_from_slice(&bytes[k * 8..k * 8 + 8]);
                w[base + at + k].store(u64::from_le_bytes(x), r);
            }
        }
    }
}

use Ordering::Relaxed;

/// Apache's `ap_proxy_balancer_get_best_worker`: lbset by lbset, usable members first
/// (hot spares standing in for unusable ones), hot standbys last. `is_best(current,
/// best)` is the lbmethod's comparison.
fn get_best(sh: &Shared, mut is_best: impl FnMut(usize, Option<usize>) -> bool) -> Option<usize> {
    let n = sh.cfg.members.len();
    let mut best = None;
    let mut max_lbset = 0;
    let mut cur = 0;
    while best.is_none() && cur <= max_lbset {
        let mut unusable = 0;
        let mut spares = Vec::new();
        let mut standbys = Vec::new();
        for i in 0..n {
            let lbset = sh.load(i, M_LBSET);
            max_lbset = max_lbset.max(lbset);
            if lbset != cur {
                continue;
            }
            let st = sh.status(i);
            if st & status::DRAIN != 0 {
                if st & (status::HOT_SPARE | status::HOT_STANDBY) == 0 {
                    unusable += 1;
                }
                continue;
            }
            if !sh.usable(i) {
                sh.retry(i);
            }
            let st = sh.status(i);
            if st & status::HOT_SPARE != 0 {
                if sh.usable(i) {
                    spares.push(i);
                }
            } else if st & status::HOT_STANDBY != 0 {
                if sh.usable(i) {
                    standbys.push(i);
                }
            } else if sh.usable(i) {
                if is_best(i, best) {
                    best = Some(i);
                }
            } else {
                unusable += 1;
            }
        }
        for &i in spares.iter().take(unusable) {
            if is_best(i, best) {
                best = Some(i);
            }
        }
        if best.is_none() {
            for &i in &standbys {
                if is_best(i, best) {
                    best = Some(i);
                }
            }
        }
        cur += 1;
    }
    best
}

/// The lbmethod's choice (called with the balancer locked).
fn find_best(sh: &Shared) -> Option<usize> {
    match sh.lbmethod() {
        LbMethod::ByRequests | LbMethod::Heartbeat => {
            let mut total = 0i64;
            let best = get_best(sh, |i, best| {
                let f = sh.load(i, M_LBFACTOR) as i64;
                sh.add_lbstatus(i, f);
                total += f;
                best.is_none_or(|b| sh.lbstatus(i) > sh.lbstatus(b))
            });
            if let Some(b) = best {
                sh.add_lbstatus(b, -total);
            }
            best
        }
        LbMethod::ByBusyness => {
            let mut total = 0i64;
            let best = get_best(sh, |i, best| {
                let f = sh.load(i, M_LBFACTOR) as i64;
                sh.add_lbstatus(i, f);
                total += f;
                match best {
                    None => true,
                    Some(b) => {
                        let (bi, bb) = (sh.load(i, M_BUSY), sh.load(b, M_BUSY));
                        bi < bb || (bi == bb && sh.lbstatus(i) > sh.lbstatus(b))
                    }
                }
            });
            if let Some(b) = best {
                sh.add_lbstatus(b, -total);
            }
            best
        }
        LbMethod::ByTraffic => {
            let mut min = u64::MAX;
            get_best(sh, |i, best| {
                let f = sh.load(i, M_LBFACTOR).max(1);
                let t = sh.load(i, M_TRANSFERRED) / f + sh.load(i, M_READ) / f;
                if best.is_none() || t < min {
                    min = t;
                    true
                } else {
                    false
                }
            })
        }
    }
}

/// Apache's `force_recovery`: when every member is in error state (and
/// `forcerecovery` is on), clear the error state of all of them.
fn force_recovery(sh: &Shared) {
    let n = sh.cfg.members.len();
    for i in 0..n {
        if sh.status(i) & status::IN_ERROR == 0 {
            return;
        }
        sh.retry(i);
        if sh.status(i) & status::IN_ERROR == 0 {
            return;
        }
    }
    if sh.forcerecovery() {
        for i in 0..n {
            sh.m(i, M_RETRIES).fetch_add(1, Relaxed);
            sh.clear_bits(i, status::IN_ERROR);
        }
    }
}

/// `name=value` in the URL (Apache's `get_path_param`).
fn path_param<'a>(url: &'a str, name: &str, scolon: bool) -> Option<&'a str> {
    if name.is_empty() {
        return None;
    }
    let mut from = 0;
    while let Some(i) = url[from..].find(name) {
        let at = from + i + name.len();
        if let Some(rest) = url[at..].strip_prefix('=')
            && !rest.is_empty()
        {
            let end = rest
                .find(|c| c == '?' || c == '&' || (scolon && c == ';'))
                .unwrap_or(rest.len());
            if end > 0 {
                return Some(&rest[..end]);
            }
        }
        from += i + 1;
    }
    None
}

/// The value of cookie `name` (Apache's `get_cookie_param`).
fn cookie_param(cookies: &str, name: &str) -> Option<String> {
    let mut from = 0;
    while let Some(i) = cookies[from..].find(name) {
        let start = from + i;
        let before = cookies[..start].chars().last();
        if before.is_none_or(|c| c == ';' || c == ',' || c.is_ascii_whitespace()) {
            let rest = cookies[start + name.len()..].trim_start();
            if let Some(v) = rest.strip_prefix('=')
                && !v.is_empty()
            {
                let end = v.find([';', ',']).unwrap_or(v.len());
                return Some(v[..end].to_string());
            }
        }
        from = start + 1;
    }
    None
}

/// The route a request asks for: the session id from the URL parameter or cookie,
/// after the first `stickysessionsep`.
fn session_route(sh: &Shared, req: &Request<'_>) -> Option<String> {
    let (cookie, url_name) = sh.cfg.params.sticky.as_ref()?;
    let mut url = req.head.path.clone();
    if let Some(q) = &req.head.query {
        url.push('?');
        url.push_str(q);
    }
    let value = path_param(&url, url_name, sh.cfg.params.scolon)
        .map(str::to_string)
        .or_else(|| {
            let all: Vec<&str> = req
                .head
                .headers
                .get_all(header::COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            cookie_param(&all.join("; "), cookie)
        })?;
    let sep = sh.cfg.params.sticky_sep;
    let route = if sep == 0 {
        value
    } else {
        let i = value.find(sep as char)?;
        value[i + 1..].to_string()
    };
    (!route.is_empty()).then_some(route)
}

/// Apache's `find_route_worker`: the usable member with `route` (standbys second),
/// following `redirect=` of an unusable one.
fn route_member(sh: &Shared, route: &str, recursion: usize) -> Option<usize> {
    for standby in [false, true] {
        for i in 0..sh.cfg.members.len() {
            if (sh.status(i) & status::HOT_STANDBY != 0) != standby {
                continue;
            }
            if sh.route(i) != route {
                continue;
            }
            if !sh.usable(i) {
                sh.retry(i);
            }
            if sh.usable(i) {
                return Some(i);
            }
            let redirect = sh.redirect(i);
            if !redirect.is_empty()
                && recursion < sh.cfg.members.len()
                && let Some(r) = route_member(sh, &redirect, recursion + 1)
            {
                if !sh.usable(r) {
                    sh.retry(r);
                }
                if sh.usable(r) {
                    return Some(r);
                }
            }
        }
    }
    None
}

/// Apache's `proxy_balancer_pre_request` + `find_best_worker`: the member for this
/// attempt (`None`: answer 503).
fn choose(sh: &Shared, req: &Request<'_>) -> Option<usize> {
    let route = session_route(sh, req);
    {
        let _g = sh.lock();
        force_recovery(sh);
        if let Some(r) = &route {
            if let Some(i) = route_member(sh, r, 1) {
                // Sticky hit: the other members' lbstatus moves as if elected.
                let mut total = 0i64;
                for j in 0..sh.cfg.members.len() {
                    if sh.usable(j) {
                        let f = sh.load(j, M_LBFACTOR) as i64;
                        sh.add_lbstatus(j, f);
                        total += f;
                    }
                }
                sh.add_lbstatus(i, -total);
                sh.m(i, M_ELECTED).fetch_add(1, Relaxed);
                sh.m(i, M_BUSY).fetch_add(1, Relaxed);
                return Some(i);
            }
            if sh.nofailover() && (0..sh.cfg.members.len()).any(|j| sh.route(j) == *r) {
                log(
                    req,
                    Level::Error,
                    &format!(
                        "AH01161: {}: All workers are in error state for route ({r})",
                        sh.cfg.name
                    ),
                );
                return None;
            }
        }
        if let Some(i) = find_best(sh) {
            sh.m(i, M_ELECTED).fetch_add(1, Relaxed);
            sh.m(i, M_BUSY).fetch_add(1, Relaxed);
            return Some(i);
        }
    }
    // Balancer `timeout=`: wait for a member to become usable, in 100 steps.
    let timeout = sh.timeout();
    if !timeout.is_zero() {
        let step = timeout / 100;
        let start = Instant::now();
        while start.elapsed() < timeout {
            std::thread::sleep(step);
            let _g = sh.lock();
            if let Some(i) = find_best(sh) {
                sh.m(i, M_ELECTED).fetch_add(1, Relaxed);
                sh.m(i, M_BUSY).fetch_add(1, Relaxed);
                return Some(i);
            }
        }
    }
    log(
        req,
        Level::Error,
        &format!("AH01167: {}: All workers are in error state", sh.cfg.name),
    );
    None
}

/// Decrements a member's busy count once (when the response is finished).
struct Busy {
    sh: Arc<Shared>,
    member: usize,
}

impl Drop for Busy {
    fn drop(&mut self) {
        let _ = self
            .sh
            .m(self.member, M_BUSY)
            .fetch_update(Relaxed, Relaxed, |b| b.checked_sub(1));
    }
}

/// A member's response body: counts the bytes read from the backend and keeps the
/// member busy until the body is done.
struct Counted {
    inner: Box<dyn Read + Send>,
    busy: Busy,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.busy
            .sh
            .m(self.busy.member, M_READ)
            .fetch_add(n as u64, Relaxed);
        Ok(n)
    }
}

/// What the protocol modules need to know from mod_proxy's handler.
pub struct Protocols {
    pub http: bool,
    pub fcgi: bool,
}

fn member_path(m: &Member) -> &str {
    let b = &m.backend;
    if b.path == "/" && !b.url.ends_with('/') {
        ""
    } else {
        &b.path
    }
}

/// `ProxyPass` to a balancer: choose a member, forward, fail over (Apache's
/// `proxy_handler` loop with `maxattempts`). `raw_rest` is the rest of the URL after
/// the rule's path with the query; `decoded_rest` the decoded rest (FastCGI).
pub fn serve(
    reg: &Arc<Registry>,
    protocols: &Protocols,
    req: &Request<'_>,
    body: &mut RequestBody<'_>,
    rule: &ProxyRule,
    raw_rest: &str,
    decoded_rest: &str,
) -> Response {
    let Some(target) = &rule.balancer else {
        return Response::error(StatusCode::NOT_FOUND);
    };
    let Some((name, bpath)) = crate::conf::balancer::split_url(&target.url) else {
        return Response::error(StatusCode::INTERNAL_SERVER_ERROR);
    };
    let Some(sh) = req.vhost.balancers.find(&name).and_then(|b| reg.get(b)) else {
        log(
            req,
            Level::Error,
            &format!("AH01168: {name}: No workers in balancer"),
        );
        return Response::error(StatusCode::SERVICE_UNAVAILABLE);
    };
    let max_attempts = sh.max_attempts();
    let mut attempts = 0;
    loop {
        let Some(i) = choose(sh, req) else {
            return Response::error(StatusCode::SERVICE_UNAVAILABLE);
        };
        let busy = Busy {
            sh: sh.clone(),
            member: i,
        };
        let m = &sh.cfg.members[i];
        if let rhttpd_http::BodyFraming::Length(n) = req.head.body {
            sh.m(i, M_TRANSFERRED).fetch_add(n, Relaxed);
        }
        let resp = forward(protocols, req, body, m, &bpath, raw_rest, decoded_rest);
        let generated = resp.error_page;
        let code = resp.status.as_u16();
        if generated && (code == 503 || code == 500) {
            // No connection (503: another member may do) or an unrecoverable error.
            if sh.status(i) & status::IGNORE_ERRORS == 0 {
                sh.mark_error(i);
                log(
                    req,
                    Level::Error,
                    &format!(
                        "AH00959: {}: putting member ({}) in error state for {}s",
                        sh.cfg.name,
                        m.backend.url,
                        m.retry.as_secs()
                    ),
                );
            }
            drop(busy);
            if code == 503 && !sh.usable(i) && attempts < max_attempts {
                attempts += 1;
                continue;
            }
            return resp;
        }
        if sh.cfg.params.failonstatus.contains(&code)
            || (generated && code == 504 && sh.cfg.params.failontimeout)
        {
            sh.mark_error(i);
            log(
                req,
                Level::Error,
                &format!(
                    "AH01174: {}: Forcing worker ({}) into error state due to status code {code} matching 'failonstatus' balancer parameter",
                    sh.cfg.name, m.backend.url
                ),
            );
        }
        return track(resp, busy);
    }
}

/// Keep the member busy (and count its bytes) until the body has been sent.
fn track(mut resp: Response, busy: Busy) -> Response {
    resp.body = match std::mem::replace(&mut resp.body, Body::Empty) {
        Body::Stream(inner) => Body::Stream(Box::new(Counted { inner, busy })),
        Body::Bytes(b) => {
            busy.sh
                .m(busy.member, M_READ)
                .fetch_add(b.len() as u64, Relaxed);
            Body::Bytes(b)
        }
        other => other,
    };
    resp
}

fn forward(
    protocols: &Protocols,
    req: &Request<'_>,
    body: &mut RequestBody<'_>,
    m: &Member,
    bpath: &str,
    raw_rest: &str,
    decoded_rest: &str,
) -> Response {
    let backend: &Backend = &m.backend;
    match backend.scheme {
        Scheme::Http | Scheme::Https if protocols.http => {
            let mut target = format!("{}{bpath}{raw_rest}", member_path(m));
            if !target.starts_with('/') {
                target.insert(0, '/');
            }
            super::proxy_http::serve(req, body, backend, &target)
        }
        Scheme::Fcgi if protocols.fcgi => {
            let mut b = backend.clone();
            b.path = format!("{}{bpath}", member_path(m));
            if b.path.is_empty() {
                b.path.push('/');
            }
            super::proxy_fcgi::serve_proxypass(req, body, &b, decoded_rest)
        }
        _ => {
            log(
                req,
                Level::Warn,
                &format!(
                    "AH01144: No protocol handler was valid for the URL {} (scheme '{}'). If you are using a DSO version of mod_proxy, make sure the proxy submodules are included in the configuration using LoadModule.",
                    backend.url,
                    backend.url.split("://").next().unwrap_or("")
                ),
            );
            Response::error(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_parameters() {
        assert_eq!(
            path_param("/app/x;jsessionid=abc.n2?x=1", "jsessionid", false),
            Some("abc.n2")
        );
        assert_eq!(
            path_param("/a?ROUTEID=.n1&b=2", "ROUTEID", false),
            Some(".n1")
        );
        assert_eq!(path_param("/a;s=x.n1;other", "s", true), Some("x.n1"));
        assert_eq!(path_param("/a", "s", false), None);
        assert_eq!(
            cookie_param("a=1; JSESSIONID=xyz.node2; b=2", "JSESSIONID").as_deref(),
            Some("xyz.node2")
        );
        assert_eq!(cookie_param("XJSESSIONID=1", "JSESSIONID"), None);
        assert_eq!(
            cookie_param("JSESSIONID = v,w", "JSESSIONID").as_deref(),
            Some("v")
        );
    }
}
