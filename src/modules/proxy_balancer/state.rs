//! The shared memory of mod_proxy_balancer: per balancer one block of `AtomicU64` words
//! (a header, then [`M_WORDS`] per member), mapped by the parent before fork and kept
//! across graceful restarts while the balancer's definition is unchanged; the typed
//! accessors, the cross-process lock and Apache's `ap_proxy_retry_worker`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering, Ordering::Relaxed};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rhttpd_sys::SharedWords;

use crate::conf::ServerConfig;
use crate::conf::balancer::{Balancer, HcMethod, LbMethod, status};
use crate::log::Level;

/// Words of a balancer's header.
const B_WORDS: usize = 32;
const B_LOCK: usize = 0;
const B_LBMETHOD: usize = 1;
const B_NOFAILOVER: usize = 2;
const B_MAXATTEMPTS: usize = 3;
const B_TIMEOUT_MS: usize = 4;
const B_NONCE: usize = 5; // two words
const B_FORCERECOVERY: usize = 7;
/// Seqlock version of the sticky session names.
const B_STR_VERSION: usize = 8;
const B_NEED_RESET: usize = 9;
/// 8 words each: the cookie name and the URL parameter name of `stickysession`.
const B_STICKY: usize = 16;
const B_STICKY_PATH: usize = 24;

/// Words per member.
pub(crate) const M_WORDS: usize = 48;
pub(crate) const M_STATUS: usize = 0;
pub(crate) const M_ERROR_TIME: usize = 1;
pub(crate) const M_LBSTATUS: usize = 2;
/// `loadfactor` × 100, as Apache 2.4 keeps it (the manager takes decimals).
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
/// The live health-check settings (the manager edits them): method (0: none, then
/// TCP, OPTIONS, HEAD, GET), interval in ms, passes and fails needed, and the URI
/// (8 words, under the string seqlock).
const M_HC_METHOD: usize = 30;
const M_HC_INTERVAL: usize = 31;
const M_HC_NEED_PASSES: usize = 32;
const M_HC_NEED_FAILS: usize = 33;
const M_HC_URI: usize = 34;

/// Health-check methods by their index in shared memory (0: none).
const HC_METHODS: [HcMethod; 4] = [
    HcMethod::Tcp,
    HcMethod::Options,
    HcMethod::Head,
    HcMethod::Get,
];

/// A member's live health-check settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HcSettings {
    pub method: HcMethod,
    pub interval: Duration,
    pub passes: u64,
    pub fails: u64,
    pub uri: String,
}

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

    pub(crate) fn lbstatus(&self, member: usize) -> i64 {
        self.load(member, M_LBSTATUS) as i64
    }

    pub(crate) fn add_lbstatus(&self, member: usize, delta: i64) {
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

    /// A short id for the page (Apache shows its slotmem name there).
    pub fn id(&self) -> u32 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.cfg.fingerprint().hash(&mut h);
        h.finish() as u32
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

    /// A string of up to 63 bytes at word `at` (8 words), guarded by the seqlock
    /// word `version` (odd while being written; writers hold the balancer lock).
    fn read_str(&self, version: usize, at: usize) -> String {
        loop {
            let v1 = self.words[version].load(Ordering::Acquire);
            if v1 & 1 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let mut bytes = Vec::with_capacity(64);
            for i in 0..8 {
                bytes.extend_from_slice(&self.words[at + i].load(Relaxed).to_le_bytes());
            }
            if self.words[version].load(Ordering::Acquire) == v1 {
                let len = (bytes[0] as usize).min(63);
                return String::from_utf8_lossy(&bytes[1..1 + len]).into_owned();
            }
        }
    }

    fn write_str(&self, version: usize, at: usize, value: &str) {
        let _g = self.lock();
        self.words[version].fetch_add(1, Ordering::AcqRel);
        store_str(&self.words, at, value);
        self.words[version].fetch_add(1, Ordering::AcqRel);
    }

    fn member_word(member: usize, field: usize) -> usize {
        B_WORDS + member * M_WORDS + field
    }

    pub fn route(&self, member: usize) -> String {
        self.read_str(
            Self::member_word(member, M_STR_VERSION),
            Self::member_word(member, M_ROUTE),
        )
    }

    pub fn redirect(&self, member: usize) -> String {
        self.read_str(
            Self::member_word(member, M_STR_VERSION),
            Self::member_word(member, M_REDIRECT),
        )
    }

    /// Set a member's route or (`redirect`) redirect, at most 63 bytes.
    pub(crate) fn set_route(&self, member: usize, redirect: bool, value: &str) {
        let at = if redirect { M_REDIRECT } else { M_ROUTE };
        self.write_str(
            Self::member_word(member, M_STR_VERSION),
            Self::member_word(member, at),
            value,
        );
    }

    /// A member's live health check (`None`: method NONE).
    pub fn hc(&self, member: usize) -> Option<HcSettings> {
        let m = self.load(member, M_HC_METHOD) as usize;
        let method = *HC_METHODS.get(m.checked_sub(1)?)?;
        Some(HcSettings {
            method,
            interval: Duration::from_millis(self.load(member, M_HC_INTERVAL).max(100)),
            passes: self.load(member, M_HC_NEED_PASSES),
            fails: self.load(member, M_HC_NEED_FAILS),
            uri: self.read_str(
                Self::member_word(member, M_STR_VERSION),
                Self::member_word(member, M_HC_URI),
            ),
        })
    }

    /// The live health-check values with method NONE too, for the page.
    pub fn hc_values(&self, member: usize) -> (Option<HcMethod>, u64, u64, u64, String) {
        let m = self.load(member, M_HC_METHOD) as usize;
        (
            m.checked_sub(1).and_then(|i| HC_METHODS.get(i).copied()),
            self.load(member, M_HC_INTERVAL),
            self.load(member, M_HC_NEED_PASSES),
            self.load(member, M_HC_NEED_FAILS),
            self.read_str(
                Self::member_word(member, M_STR_VERSION),
                Self::member_word(member, M_HC_URI),
            ),
        )
    }

    /// The manager's `w_hm` (`None`: NONE), `w_hi`, `w_hp`, `w_hf`, `w_hu`.
    pub(crate) fn set_hc_method(&self, member: usize, method: Option<HcMethod>) {
        let v = method
            .and_then(|m| HC_METHODS.iter().position(|x| *x == m))
            .map_or(0, |i| i as u64 + 1);
        self.m(member, M_HC_METHOD).store(v, Relaxed);
    }

    pub(crate) fn store_hc(&self, member: usize, field: HcField, value: u64) {
        let at = match field {
            HcField::IntervalMs => M_HC_INTERVAL,
            HcField::Passes => M_HC_NEED_PASSES,
            HcField::Fails => M_HC_NEED_FAILS,
        };
        self.m(member, at).store(value, Relaxed);
    }

    pub(crate) fn set_hc_uri(&self, member: usize, uri: &str) {
        self.write_str(
            Self::member_word(member, M_STR_VERSION),
            Self::member_word(member, M_HC_URI),
            uri,
        );
    }

    /// The live `stickysession` (cookie name, URL parameter name); `None`: none.
    pub fn sticky(&self) -> Option<(String, String)> {
        let c = self.read_str(B_STR_VERSION, B_STICKY);
        if c.is_empty() {
            return None;
        }
        Some((c, self.read_str(B_STR_VERSION, B_STICKY_PATH)))
    }

    /// Change the sticky session names (`b_ss`; empty: none).
    pub(crate) fn set_sticky(&self, cookie: &str, path: &str) {
        let _g = self.lock();
        self.words[B_STR_VERSION].fetch_add(1, Ordering::AcqRel);
        store_str(&self.words, B_STICKY, cookie);
        store_str(&self.words, B_STICKY_PATH, path);
        self.words[B_STR_VERSION].fetch_add(1, Ordering::AcqRel);
    }

    /// Ask the next request to reset every member's lbstatus (Apache's `need_reset`,
    /// after the method changed or a member came back through the manager).
    pub(crate) fn request_reset(&self) {
        self.w(B_NEED_RESET).store(1, Relaxed);
    }

    /// With the lock held: do a pending reset.
    pub(crate) fn reset_if_needed(&self) {
        if self.w(B_NEED_RESET).swap(0, Relaxed) != 0 {
            for i in 0..self.cfg.members.len() {
                self.m(i, M_LBSTATUS).store(0, Relaxed);
            }
        }
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
    pub(crate) fn retry(&self, member: usize) {
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

#[cfg(test)]
impl Shared {
    /// A balancer's state in a fresh block, for unit tests.
    pub(crate) fn for_test(cfg: Balancer) -> Shared {
        let words = SharedWords::new(B_WORDS + cfg.members.len().max(1) * M_WORDS).unwrap();
        init_words(&words, &cfg);
        Shared {
            cfg: Arc::new(cfg),
            words: Arc::new(words),
        }
    }
}

/// A numeric health-check setting the manager may change.
#[derive(Clone, Copy, Debug)]
pub(crate) enum HcField {
    IntervalMs,
    Passes,
    Fails,
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
    /// mod_proxy_hcheck is loaded: each child runs a checker.
    pub hcheck: bool,
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
            hcheck: cfg.loaded_modules.contains(&"proxy_hcheck_module"),
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
        store_str(w, base + M_ROUTE, &m.route);
        store_str(w, base + M_REDIRECT, &m.redirect);
        let (method, interval, passes, fails, uri) = match &m.hc {
            Some(hc) => (
                HC_METHODS
                    .iter()
                    .position(|x| *x == hc.method)
                    .map_or(0, |i| i + 1),
                hc.interval,
                u64::from(hc.passes),
                u64::from(hc.fails),
                hc.uri.as_str(),
            ),
            None => (0, Duration::from_secs(30), 1, 1, ""),
        };
        w[base + M_HC_METHOD].store(method as u64, r);
        w[base + M_HC_INTERVAL].store(interval.as_millis() as u64, r);
        w[base + M_HC_NEED_PASSES].store(passes, r);
        w[base + M_HC_NEED_FAILS].store(fails, r);
        store_str(w, base + M_HC_URI, uri);
    }
    if let Some((c, p)) = &b.params.sticky {
        store_str(w, B_STICKY, c);
        store_str(w, B_STICKY_PATH, p);
    }
}

/// Write `value` (at most 63 bytes) as a length byte and the bytes into the 8 words
/// from `at`.
fn store_str(w: &[AtomicU64], at: usize, value: &str) {
    let v = value.as_bytes();
    let len = v.len().min(63);
    let mut bytes = [0u8; 64];
    bytes[0] = len as u8;
    bytes[1..1 + len].copy_from_slice(&v[..len]);
    for k in 0..8 {
        let mut x = [0u8; 8];
        x.copy_from_slice(&bytes[k * 8..k * 8 + 8]);
        w[at + k].store(u64::from_le_bytes(x), Relaxed);
    }
}
