//! The error state of plain (non-balancer) `ProxyPass` backends in shared memory, as
//! Apache keeps a worker's state in its scoreboard-like shared segment: after one child
//! fails to connect to a backend, no child of the generation tries it again within its
//! `retry=`.
//!
//! The parent builds the table while it builds a generation (before fork): one
//! `AtomicU64` word per distinct backend of the configuration's `ProxyPass` rules,
//! holding the end of its error state in milliseconds since the Unix epoch (0: usable).
//! Backends the table does not know (a `SetHandler "proxy:..."` or a rewrite `[P]`
//! target) keep mod_proxy's per-process state. A graceful restart carries the words of
//! backends that are still configured over to the new table.

use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rhttpd_sys::SharedWords;

use crate::conf::ServerConfig;

struct Table {
    slots: HashMap<String, usize>,
    words: SharedWords,
}

/// The current generation's table (set by the parent; children inherit it at fork).
static CURRENT: Mutex<Option<Arc<Table>>> = Mutex::new(None);

fn current() -> Option<Arc<Table>> {
    CURRENT.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Parent: the table for `cfg`'s `ProxyPass` backends.
pub fn build(cfg: &ServerConfig) {
    let mut slots = HashMap::new();
    for host in std::iter::once(&cfg.main).chain(&cfg.vhosts) {
        for rule in &host.proxy.rules {
            if let Some(b) = &rule.backend {
                let n = slots.len();
                slots.entry(b.key().to_string()).or_insert(n);
            }
        }
    }
    let table = if slots.is_empty() {
        None
    } else {
        match SharedWords::new(slots.len()) {
            Ok(words) => {
                let t = Table { slots, words };
                if let Some(old) = current() {
                    for (key, &i) in &t.slots {
                        if let Some(&j) = old.slots.get(key) {
                            t.words[i].store(old.words[j].load(Relaxed), Relaxed);
                        }
                    }
                }
                Some(Arc::new(t))
            }
            // Without the table each process keeps its own state.
            Err(_) => None,
        }
    };
    *CURRENT.lock().unwrap_or_else(|e| e.into_inner()) = table;
}

/// Whether `key` is in error state now; `None` when the table does not know it.
pub(crate) fn in_error(key: &str) -> Option<bool> {
    let t = current()?;
    let &i = t.slots.get(key)?;
    Some(now_ms() < t.words[i].load(Relaxed))
}

/// Put `key` in error state for `retry`; false when the table does not know it.
pub(crate) fn set_error(key: &str, retry: Duration) -> bool {
    let Some(t) = current() else { return false };
    let Some(&i) = t.slots.get(key) else {
        return false;
    };
    t.words[i].store(now_ms() + retry.as_millis() as u64, Relaxed);
    true
}
