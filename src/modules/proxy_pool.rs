//! mod_proxy's per-process pool of backend connections and its limits (worker
//! parameters `max`, `smax`, `ttl`, `acquire`):
//!
//! - idle connections are kept per backend (at most 64, or `max`), newest reused first;
//! - `ttl`: an idle connection older than `ttl` is closed instead of reused; with
//!   `smax`, only the idle connections above `smax` are (the oldest first);
//! - `max`: at most `max` connections to the backend are in use at once in this
//!   process. A request beyond waits up to `acquire` (else the backend's timeout) for
//!   one to be given back ([`Permit`]), then gets 503 (AH00941).
//!
//! Everything here is per process, as Apache's connection pools are (per child, shared
//! by its threads).

use std::collections::HashMap;
use std::sync::{Condvar, LazyLock, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::proxy_backend::Conn;
use crate::conf::proxy::WorkerParams;

/// Idle connections kept per backend and process when `max` does not say (nginx's
/// `keepalive` of an upstream block; under event the listener proxies without a thread
/// per request, so the connections in use are not bounded by ThreadsPerChild).
const IDLE_PER_BACKEND: usize = 64;

/// The pool parameters of one backend.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PoolLimits {
    pub max: Option<usize>,
    pub smax: Option<usize>,
    pub ttl: Option<Duration>,
}

impl PoolLimits {
    pub(crate) fn of(p: &WorkerParams) -> PoolLimits {
        PoolLimits {
            max: p.max,
            smax: p.smax,
            ttl: p.ttl,
        }
    }
}

#[derive(Default)]
struct Entry {
    /// Idle connections with the time each was given back, oldest first.
    idle: Vec<(Conn, Instant)>,
    /// Connections handed out under a [`Permit`] (only counted when `max` is set).
    busy: usize,
}

struct Pools {
    by_key: Mutex<HashMap<String, Entry>>,
    /// Signalled whenever a permit is given back.
    freed: Condvar,
}

static POOLS: LazyLock<Pools> = LazyLock::new(|| Pools {
    by_key: Mutex::new(HashMap::new()),
    freed: Condvar::new(),
});

fn pools() -> MutexGuard<'static, HashMap<String, Entry>> {
    POOLS.by_key.lock().unwrap_or_else(|e| e.into_inner())
}

/// Close what `limits.ttl` says is too old (with `smax`: only above `smax`).
fn expire(e: &mut Entry, limits: &PoolLimits, now: Instant) {
    let Some(ttl) = limits.ttl else { return };
    let keep = limits.smax.unwrap_or(0);
    while e.idle.len() > keep {
        match e.idle.first() {
            Some((_, since)) if now.duration_since(*since) > ttl => {
                e.idle.remove(0);
            }
            _ => break,
        }
    }
}

/// Take an idle connection to `key` that is still usable (newest first).
pub(crate) fn take(key: &str, limits: &PoolLimits) -> Option<Conn> {
    let mut p = pools();
    let e = p.get_mut(key)?;
    expire(e, limits, Instant::now());
    while let Some((mut c, _)) = e.idle.pop() {
        if c.is_reusable() {
            return Some(c);
        }
    }
    None
}

/// On the event listener: [`take`], except that a connection registered with the
/// listener that has had no event since it went idle is used without the liveness
/// peek — the listener hears of a backend's close, or of bytes it sent unasked,
/// edge-triggered, as nginx does of its upstream connections'. One closed just now is
/// found out by the request it carries: the answer's end of stream sends it to a worker,
/// which retries on a fresh connection.
pub(crate) fn take_on_listener(key: &str, limits: &PoolLimits) -> Option<Conn> {
    use std::os::fd::AsRawFd;
    let mut p = pools();
    let e = p.get_mut(key)?;
    expire(e, limits, Instant::now());
    while let Some((mut c, _)) = e.idle.pop() {
        if c.in_listener && !crate::handler::idle_backend_had_event(c.fd().as_raw_fd()) {
            return Some(c);
        }
        if c.is_reusable() {
            return Some(c);
        }
    }
    None
}

/// Give back a connection whose last response ended cleanly.
pub(crate) fn put(key: &str, limits: &PoolLimits, conn: Conn) {
    let mut p = pools();
    let e = p.entry(key.to_string()).or_default();
    let now = Instant::now();
    expire(e, limits, now);
    if e.idle.len() < limits.max.unwrap_or(IDLE_PER_BACKEND) {
        e.idle.push((conn, now));
    }
}

/// The right to use one connection to a backend with `max=`; given back on drop.
pub(crate) struct Permit {
    key: String,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut p = pools();
        if let Some(e) = p.get_mut(&self.key) {
            e.busy = e.busy.saturating_sub(1);
        }
        drop(p);
        POOLS.freed.notify_all();
    }
}

/// Wait (at most `wait`) until fewer than `max` connections to `key` are in use.
/// `Ok(None)`: the backend has no `max`. `Err(())`: none became free in time.
pub(crate) fn acquire(
    key: &str,
    limits: &PoolLimits,
    wait: Duration,
) -> Result<Option<Permit>, ()> {
    let Some(max) = limits.max else {
        return Ok(None);
    };
    let deadline = Instant::now() + wait;
    let mut p = pools();
    loop {
        let e = p.entry(key.to_string()).or_default();
        if e.busy < max {
            e.busy += 1;
            return Ok(Some(Permit {
                key: key.to_string(),
            }));
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(());
        }
        p = POOLS
            .freed
            .wait_timeout(p, deadline - now)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
}
