//! `SSLSessionCache shmcb:PATH(SIZE)`: a TLS session table in shared memory.
//!
//! Apache's shmcb is a cyclic buffer in shared memory serialised by the `ssl-cache` mutex.
//! This is its equivalent for rustls's [`StoresServerSessions`]: the parent maps one
//! [`SessionStore`] before forking, so a session stored by one child resumes in any other
//! (rustls's default `ServerSessionMemoryCache` is per process, so under prefork a client
//! resumed only when it happened to return to the same child).
//!
//! # Layout
//!
//! The region is a slice of `AtomicU64` words ([`SharedWords`]): a few global words
//! (statistics and an insertion sequence) followed by buckets. A bucket is one lock word
//! and [`SLOTS_PER_BUCKET`] slots of [`SLOT_BYTES`] bytes; the bucket of a key is chosen by
//! a SHA-256 hash of the key. A slot holds a header (lengths, expiry, insertion sequence,
//! key hash, checksum) and then the namespaced key and the value, packed little-endian
//! into words. An entry whose key and value together exceed [`MAX_ENTRY_BYTES`] is not
//! cached (`put` returns `false`; rustls then simply does not offer resumption for it).
//!
//! # Locking
//!
//! Every access to a bucket happens under its lock word, so readers never see a
//! half-written entry. The word holds the holder's pid and a per-process counter. A
//! waiter that sees the same holder for [`STEAL_FROM_DEAD`] and finds that pid gone (a
//! child killed with SIGKILL inside the critical section) steals the lock; after
//! [`STEAL_ANYWAY`] it steals it whatever the pid says (pid reuse, an unreaped zombie).
//! Critical sections are a few hundred word copies, so a live holder is never that slow
//! unless it is stopped; as a last line of defence each entry carries a checksum, and an
//! entry that fails it reads as absent.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rhttpd_sys::SharedWords;
use ring::digest;
use rustls::server::StoresServerSessions;

/// Bytes per slot, header included.
pub const SLOT_BYTES: usize = 512;
/// Slots per bucket (one lock word guards them all).
pub const SLOTS_PER_BUCKET: usize = 8;
/// Words of a slot's header: meta, expiry, sequence, key hash, checksum.
const HEADER_WORDS: usize = 5;
const SLOT_WORDS: usize = SLOT_BYTES / 8;
/// The largest namespaced key plus value one slot holds: 472 bytes. The namespace takes
/// [`NAMESPACE_BYTES`] of it, so a 32-byte rustls key leaves 424 bytes for the value.
pub const MAX_ENTRY_BYTES: usize = (SLOT_WORDS - HEADER_WORDS) * 8;
/// Every key is prefixed with a 16-byte digest of its virtual host's namespace.
pub const NAMESPACE_BYTES: usize = 16;
const BUCKET_WORDS: usize = 1 + SLOTS_PER_BUCKET * SLOT_WORDS;
/// Apache's lower bound for `shmcb:(SIZE)`.
pub const MIN_BYTES: usize = 8192;
/// Upper bound (exclusive) for `shmcb:(SIZE)`: `SHMCB_MAX_SIZE` of mod_socache_shmcb.c.
pub const MAX_BYTES: usize = 64 * 1024 * 1024;

/// A lock held this long by a process that no longer exists is taken over.
pub const STEAL_FROM_DEAD: Duration = Duration::from_millis(10);
/// A lock held this long by anyone is taken over.
pub const STEAL_ANYWAY: Duration = Duration::from_secs(1);

// Global words: counters, the insertion sequence, padding.
const STORED: usize = 0;
const HITS: usize = 1;
const MISSES: usize = 2;
const REMOVED: usize = 3;
const SEQUENCE: usize = 4;
const GLOBAL_WORDS: usize = 8;
// Slot header words.
const META: usize = 0;
const EXPIRES: usize = 1;
const SEQ: usize = 2;
const HASH: usize = 3;
const CHECK: usize = 4;
/// Set in the meta word of an occupied slot; the low 32 bits hold the key and value lengths.
const OCCUPIED: u64 = 1 << 63;

/// Counters since the store was made (all children together), for mod_status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// Successful `put`s.
    pub stored: u64,
    /// `get`s and `take`s that found a live entry.
    pub hits: u64,
    /// `get`s and `take`s that found nothing (or only an expired entry).
    pub misses: u64,
    /// Entries removed by `take` (TLS 1.3 single-use resumption).
    pub removed: u64,
}

/// A shared-memory table of TLS sessions (Apache's shmcb), made by the parent before fork.
pub struct SessionStore {
    shm: SharedWords,
    buckets: usize,
}

impl SessionStore {
    /// Maps a table for `bytes` as given in `shmcb:PATH(SIZE)` (Debian's default: 512000,
    /// which holds 1000 entries). `bytes / 4096` buckets of 8 slots are made (plus one lock
    /// word per bucket). Sizes outside Apache's bounds are refused with Apache's wording.
    pub fn new(bytes: usize) -> io::Result<SessionStore> {
        if bytes < MIN_BYTES {
            return Err(invalid(format!(
                "Invalid argument: size has to be >= {MIN_BYTES} bytes"
            )));
        }
        if bytes >= MAX_BYTES {
            return Err(invalid(format!(
                "Invalid argument: size has to be < {MAX_BYTES} bytes on this platform"
            )));
        }
        let buckets = bytes / (SLOTS_PER_BUCKET * SLOT_BYTES);
        let shm = SharedWords::new(GLOBAL_WORDS + buckets * BUCKET_WORDS)?;
        Ok(SessionStore { shm, buckets })
    }

    /// The number of entries it can hold.
    pub fn capacity(&self) -> usize {
        self.buckets * SLOTS_PER_BUCKET
    }

    /// The counters, as seen now (each word is read atomically, not all of them at once).
    pub fn stats(&self) -> SessionStats {
        let word = |i: usize| self.shm[i].load(Ordering::Relaxed);
        SessionStats {
            stored: word(STORED),
            hits: word(HITS),
            misses: word(MISSES),
            removed: word(REMOVED),
        }
    }

    fn count(&self, which: usize) {
        self.shm[which].fetch_add(1, Ordering::Relaxed);
    }

    fn bucket_of(&self, hash: u64) -> usize {
        // `buckets` fits in u64 and the remainder is below it, so both conversions hold.
        (hash % self.buckets as u64) as usize
    }

    fn bucket(&self, index: usize) -> Bucket<'_> {
        let start = GLOBAL_WORDS + index * BUCKET_WORDS;
        Bucket(&self.shm[start..start + BUCKET_WORDS])
    }

    /// Stores `value` under the namespaced `key`, expiring at `expires` (seconds since the
    /// epoch). Replaces the same key, else fills an empty slot, else an expired one, else
    /// the oldest entry of the bucket.
    fn put(&self, key: &[u8], value: &[u8], expires: u64, now: u64) -> bool {
        if key.len() + value.len() > MAX_ENTRY_BYTES {
            return false;
        }
        let hash = hash(key);
        let bucket = self.bucket(self.bucket_of(hash));
        let _lock = bucket.lock();
        let mut best: Option<((u8, u64), usize)> = None;
        for i in 0..SLOTS_PER_BUCKET {
            let slot = bucket.slot(i);
            let rank = if slot.word(META) == 0 {
                (1, 0)
            } else if slot.word(HASH) == hash && slot.read().is_some_and(|e| e.key() == key) {
                (0, 0)
            } else if slot.word(EXPIRES) <= now {
                (2, 0)
            } else {
                (3, slot.word(SEQ))
            };
            if best.is_none_or(|(r, _)| rank < r) {
                best = Some((rank, i));
            }
            if rank.0 == 0 {
                break;
            }
        }
        let Some((_, target)) = best else {
            return false;
        };
        let seq = self.shm[SEQUENCE].fetch_add(1, Ordering::Relaxed);
        bucket.slot(target).write(hash, expires, seq, key, value);
        self.count(STORED);
        true
    }

    /// Finds the live entry for `key` and returns a copy of its value; with `remove`, the
    /// entry is deleted before the lock is released (so two `take`s never both get it).
    fn lookup(&self, key: &[u8], now: u64, remove: bool) -> Option<Vec<u8>> {
        let hash = hash(key);
        let bucket = self.bucket(self.bucket_of(hash));
        let found = {
            let _lock = bucket.lock();
            (0..SLOTS_PER_BUCKET).find_map(|i| {
                let slot = bucket.slot(i);
                if slot.word(META) == 0 || slot.word(HASH) != hash {
                    return None;
                }
                let Some(entry) = slot.read() else {
                    slot.clear(); // torn by a writer whose lock was stolen
                    return None;
                };
                if entry.key() != key {
                    return None;
                }
                if entry.expires <= now || remove {
                    slot.clear();
                }
                (entry.expires > now).then(|| entry.value().to_vec())
            })
        };
        match &found {
            Some(_) => {
                self.count(HITS);
                if remove {
                    self.count(REMOVED);
                }
            }
            None => self.count(MISSES),
        }
        found
    }
}

impl fmt::Debug for SessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionStore")
            .field("buckets", &self.buckets)
            .field("capacity", &self.capacity())
            .field("stats", &self.stats())
            .finish()
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// The first 8 bytes of SHA-256: chooses the bucket and pre-filters slots. Keys are chosen
/// by rustls (random), so the hash need not be secret; it only has to agree across
/// processes.
fn hash(key: &[u8]) -> u64 {
    let d = digest::digest(&digest::SHA256, key);
    let mut first = [0u8; 8];
    first.copy_from_slice(&d.as_ref()[..8]);
    u64::from_le_bytes(first)
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A word-wise checksum: detects entries torn by two writers, not adversaries (only this
/// server's processes can write the region).
fn checksum(words: impl Iterator<Item = u64>) -> u64 {
    words.fold(0x9e37_79b9_7f4a_7c15, |h, w| {
        let h = (h ^ w).wrapping_mul(0x0100_0000_01b3_9e37);
        h ^ (h >> 29)
    })
}

fn words_for(bytes: usize) -> usize {
    bytes.div_ceil(8)
}

/// One bucket: its lock word, then its slots.
struct Bucket<'a>(&'a [AtomicU64]);

impl<'a> Bucket<'a> {
    fn slot(&self, i: usize) -> Slot<'a> {
        let start = 1 + i * SLOT_WORDS;
        Slot(&self.0[start..start + SLOT_WORDS])
    }

    /// Spins (then yields, then naps) until the lock is free or may be stolen.
    fn lock(&self) -> BucketLock<'a> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let word = &self.0[0];
        let me = rhttpd_sys::process::getpid();
        let stamp = (u64::from(me.unsigned_abs()) << 32)
            | u64::from(COUNTER.fetch_add(1, Ordering::Relaxed));
        let mut watched = 0;
        let mut since = Instant::now();
        let mut next_check = STEAL_FROM_DEAD;
        let mut spins = 0u32;
        loop {
            let held = word.load(Ordering::Relaxed);
            let may_take = if held == 0 {
                true
            } else if held != watched {
                (watched, since, next_check) = (held, Instant::now(), STEAL_FROM_DEAD);
                false
            } else {
                let waited = since.elapsed();
                if waited >= STEAL_ANYWAY {
                    true
                } else if waited >= next_check {
                    next_check = waited + STEAL_FROM_DEAD;
                    holder_is_gone(held, me)
                } else {
                    false
                }
            };
            if may_take
                && word
                    .compare_exchange(held, stamp, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
            {
                return BucketLock { word, stamp };
            }
            spins = spins.saturating_add(1);
            if spins < 64 {
                std::hint::spin_loop();
            } else if spins < 1000 {
                thread::yield_now();
            } else {
                thread::sleep(Duration::from_micros(100));
            }
        }
    }
}

/// Whether the process named in lock word `held` no longer exists. A thread of this
/// process always releases (the guard's drop runs on unwind), so our own pid is alive.
fn holder_is_gone(held: u64, me: i32) -> bool {
    match i32::try_from(held >> 32) {
        Ok(pid) if pid == me => false,
        Ok(pid) if pid > 0 => !rhttpd_sys::process::process_alive(pid),
        _ => true,
    }
}

/// Releases the bucket on drop, unless another process stole it meanwhile.
struct BucketLock<'a> {
    word: &'a AtomicU64,
    stamp: u64,
}

impl Drop for BucketLock<'_> {
    fn drop(&mut self) {
        let _ = self
            .word
            .compare_exchange(self.stamp, 0, Ordering::Release, Ordering::Relaxed);
    }
}

/// One slot's words. Only touched under the bucket lock, so relaxed loads and stores
/// suffice (the lock's acquire and release order them).
struct Slot<'a>(&'a [AtomicU64]);

/// A copy of a slot's entry: the namespaced key followed by the value.
struct Entry {
    key_len: usize,
    expires: u64,
    bytes: Vec<u8>,
}

impl Entry {
    fn key(&self) -> &[u8] {
        &self.bytes[..self.key_len]
    }

    fn value(&self) -> &[u8] {
        &self.bytes[self.key_len..]
    }
}

impl Slot<'_> {
    fn word(&self, i: usize) -> u64 {
        self.0[i].load(Ordering::Relaxed)
    }

    fn clear(&self) {
        self.0[META].store(0, Ordering::Relaxed);
    }

    fn write(&self, hash: u64, expires: u64, seq: u64, key: &[u8], value: &[u8]) {
        let meta = OCCUPIED | ((key.len() as u64) << 16) | value.len() as u64;
        self.clear();
        let payload = &self.0[HEADER_WORDS..];
        let mut sum = vec![meta, expires, seq, hash];
        let bytes = [key, value].concat();
        for (w, chunk) in payload.iter().zip(bytes.chunks(8)) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            let v = u64::from_le_bytes(b);
            w.store(v, Ordering::Relaxed);
            sum.push(v);
        }
        self.0[EXPIRES].store(expires, Ordering::Relaxed);
        self.0[SEQ].store(seq, Ordering::Relaxed);
        self.0[HASH].store(hash, Ordering::Relaxed);
        self.0[CHECK].store(checksum(sum.into_iter()), Ordering::Relaxed);
        self.0[META].store(meta, Ordering::Relaxed);
    }

    /// The entry, or `None` if the slot is empty or its checksum or lengths are wrong.
    fn read(&self) -> Option<Entry> {
        let meta = self.word(META);
        if meta & OCCUPIED == 0 {
            return None;
        }
        let key_len = ((meta >> 16) & 0xffff) as usize;
        let value_len = (meta & 0xffff) as usize;
        let len = key_len + value_len;
        if len > MAX_ENTRY_BYTES {
            return None;
        }
        let (expires, seq, hash) = (self.word(EXPIRES), self.word(SEQ), self.word(HASH));
        let payload: Vec<u64> = self.0[HEADER_WORDS..HEADER_WORDS + words_for(len)]
            .iter()
            .map(|w| w.load(Ordering::Relaxed))
            .collect();
        let header = [meta, expires, seq, hash];
        if checksum(header.into_iter().chain(payload.iter().copied())) != self.word(CHECK) {
            return None;
        }
        let mut bytes: Vec<u8> = payload.iter().flat_map(|w| w.to_le_bytes()).collect();
        bytes.truncate(len);
        Some(Entry {
            key_len,
            expires,
            bytes,
        })
    }
}

/// One virtual host's view: keys are namespaced so a session of one vhost never resumes on
/// another.
pub struct VhostSessions {
    store: Arc<SessionStore>,
    namespace: String,
    prefix: [u8; NAMESPACE_BYTES],
    timeout: Duration,
}

impl VhostSessions {
    /// `namespace` identifies the virtual host (any stable string, e.g. `name:port`);
    /// entries expire `timeout` after they are stored (`SSLSessionCacheTimeout`, 300 s by
    /// default), counted in whole seconds.
    pub fn new(store: Arc<SessionStore>, namespace: &str, timeout: Duration) -> Self {
        let d = digest::digest(
            &digest::SHA256,
            [b"rhttpd session namespace\0", namespace.as_bytes()]
                .concat()
                .as_slice(),
        );
        let mut prefix = [0u8; NAMESPACE_BYTES];
        prefix.copy_from_slice(&d.as_ref()[..NAMESPACE_BYTES]);
        VhostSessions {
            store,
            namespace: namespace.to_owned(),
            prefix,
            timeout,
        }
    }

    fn key(&self, key: &[u8]) -> Vec<u8> {
        [&self.prefix[..], key].concat()
    }

    fn put_at(&self, key: &[u8], value: &[u8], now: u64) -> bool {
        let expires = now.saturating_add(self.timeout.as_secs());
        self.store.put(&self.key(key), value, expires, now)
    }

    fn get_at(&self, key: &[u8], now: u64) -> Option<Vec<u8>> {
        self.store.lookup(&self.key(key), now, false)
    }

    #[cfg(test)]
    fn take_at(&self, key: &[u8], now: u64) -> Option<Vec<u8>> {
        self.store.lookup(&self.key(key), now, true)
    }
}

impl fmt::Debug for VhostSessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VhostSessions")
            .field("namespace", &self.namespace)
            .field("timeout", &self.timeout)
            .field("store", &self.store)
            .finish()
    }
}

impl StoresServerSessions for VhostSessions {
    /// Returns `false` when the namespaced key and value exceed [`MAX_ENTRY_BYTES`].
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        self.put_at(&key, &value, now_secs())
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.get_at(key, now_secs())
    }

    /// rustls asks TLS 1.3 sessions back with `take` (single use, for 0-RTT replay
    /// protection). rhttpd accepts no early data, and Apache (OpenSSL without early
    /// data) resumes a stateful TLS 1.3 session as often as TLS 1.2 ones until it
    /// expires, so this reads without removing, as `get` does.
    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.get_at(key, now_secs())
    }

    fn can_cache(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000;
    const TIMEOUT: Duration = Duration::from_secs(300);

    fn store(bytes: usize) -> Arc<SessionStore> {
        Arc::new(SessionStore::new(bytes).unwrap())
    }

    fn bucket_of(v: &VhostSessions, key: &[u8]) -> usize {
        v.store.bucket_of(hash(&v.key(key)))
    }

    /// `n` keys of `v` that all land in bucket 0.
    fn colliding_keys(v: &VhostSessions, n: usize) -> Vec<Vec<u8>> {
        (0u32..)
            .map(|i| format!("key-{i}").into_bytes())
            .filter(|k| bucket_of(v, k) == 0)
            .take(n)
            .collect()
    }

    #[test]
    fn geometry_and_apache_bounds() {
        assert_eq!(SessionStore::new(512_000).unwrap().capacity(), 1000);
        assert_eq!(SessionStore::new(MIN_BYTES).unwrap().capacity(), 16);
        let e = SessionStore::new(8191).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid argument: size has to be >= 8192 bytes"
        );
        assert!(SessionStore::new(MAX_BYTES).is_err());
        assert_eq!(
            SessionStore::new(MIN_BYTES).unwrap().stats(),
            SessionStats::default()
        );
    }

    #[test]
    fn put_get_take() {
        let v = VhostSessions::new(store(MIN_BYTES), "www:443", TIMEOUT);
        assert!(v.can_cache());
        assert!(v.put(b"id".to_vec(), b"secret".to_vec()));
        assert_eq!(v.get(b"id").as_deref(), Some(&b"secret"[..]));
        assert_eq!(v.get(b"id").as_deref(), Some(&b"secret"[..])); // get copies
        assert_eq!(v.take(b"id").as_deref(), Some(&b"secret"[..]));
        // rustls's `take` keeps the entry (no early data: a session may resume again);
        // the store's own take removes.
        assert_eq!(v.take(b"id").as_deref(), Some(&b"secret"[..]));
        assert_eq!(
            v.take_at(b"id", now_secs()).as_deref(),
            Some(&b"secret"[..])
        );
        assert_eq!(v.take_at(b"id", now_secs()), None);
        assert_eq!(v.get(b"id"), None);
        assert_eq!(v.get(b"other"), None);
        let s = v.store.stats();
        assert_eq!((s.stored, s.hits, s.misses, s.removed), (1, 5, 3, 1));
    }

    #[test]
    fn put_replaces_the_same_key_and_empty_values_work() {
        let v = VhostSessions::new(store(MIN_BYTES), "a", TIMEOUT);
        assert!(v.put_at(b"k", b"one", NOW));
        assert!(v.put_at(b"k", b"two", NOW));
        assert_eq!(v.take_at(b"k", NOW).as_deref(), Some(&b"two"[..]));
        assert_eq!(v.get_at(b"k", NOW), None); // not a stale second copy
        assert!(v.put_at(b"", b"", NOW));
        assert_eq!(v.get_at(b"", NOW), Some(Vec::new()));
    }

    #[test]
    fn entries_expire_after_the_timeout() {
        let v = VhostSessions::new(store(MIN_BYTES), "a", TIMEOUT);
        assert!(v.put_at(b"k", b"v", NOW));
        assert!(v.get_at(b"k", NOW + 299).is_some());
        assert_eq!(v.get_at(b"k", NOW + 300), None);
        assert!(v.put_at(b"t", b"v", NOW));
        assert_eq!(v.take_at(b"t", NOW + 300), None);
        let zero = VhostSessions::new(v.store.clone(), "z", Duration::ZERO);
        assert!(zero.put(b"k".to_vec(), b"v".to_vec()));
        assert_eq!(zero.get(b"k"), None);
    }

    #[test]
    fn namespaces_isolate() {
        let s = store(MIN_BYTES);
        let a = VhostSessions::new(s.clone(), "a.example:443", TIMEOUT);
        let b = VhostSessions::new(s, "b.example:443", TIMEOUT);
        assert!(a.put_at(b"k", b"from a", NOW));
        assert_eq!(b.get_at(b"k", NOW), None);
        assert_eq!(b.take_at(b"k", NOW), None);
        assert!(b.put_at(b"k", b"from b", NOW));
        assert_eq!(a.get_at(b"k", NOW).as_deref(), Some(&b"from a"[..]));
        assert_eq!(b.get_at(b"k", NOW).as_deref(), Some(&b"from b"[..]));
    }

    #[test]
    fn too_large_is_not_cached() {
        let v = VhostSessions::new(store(MIN_BYTES), "a", TIMEOUT);
        let key = [7u8; 32];
        let fits = vec![1u8; MAX_ENTRY_BYTES - NAMESPACE_BYTES - key.len()];
        assert!(v.put_at(&key, &fits, NOW));
        assert_eq!(v.get_at(&key, NOW), Some(fits.clone()));
        let mut too_big = fits;
        too_big.push(1);
        assert!(!v.put_at(b"other", &[0; 2000], NOW));
        assert!(!v.put_at(&key, &too_big, NOW));
        assert_eq!(v.store.stats().stored, 1);
    }

    #[test]
    fn a_full_bucket_replaces_the_expired_then_the_oldest() {
        let v = VhostSessions::new(store(MIN_BYTES), "a", TIMEOUT);
        let keys = colliding_keys(&v, SLOTS_PER_BUCKET + 2);
        // keys[0..3] oldest, keys[3] newer but already expired, keys[4..8] newest.
        for k in &keys[..3] {
            assert!(v.put_at(k, k, NOW));
        }
        assert!(v.put_at(&keys[3], &keys[3], NOW - 1000));
        for k in &keys[4..SLOTS_PER_BUCKET] {
            assert!(v.put_at(k, k, NOW));
        }
        assert!(v.put_at(&keys[8], &keys[8], NOW));
        assert_eq!(v.get_at(&keys[3], NOW), None);
        let live = |k: &Vec<u8>| v.get_at(k, NOW).as_ref() == Some(k);
        assert!(keys[..3].iter().all(live));
        assert!(keys[4..9].iter().all(live));
        assert!(v.put_at(&keys[9], &keys[9], NOW));
        assert_eq!(v.get_at(&keys[0], NOW), None); // the oldest went
        assert!(keys[1..3].iter().all(live));
        assert!(keys[4..10].iter().all(live));
    }

    #[test]
    fn threads_hammering_never_get_another_keys_value() {
        let s = store(MIN_BYTES); // 16 slots for 64 keys: constant eviction
        let v = Arc::new(VhostSessions::new(s, "a", TIMEOUT));
        let threads: Vec<_> = (0..8u64)
            .map(|t| {
                let v = v.clone();
                thread::spawn(move || {
                    let mut found = 0;
                    for i in 0..4000u64 {
                        let k = (i * 7 + t * 13) % 64;
                        let key = format!("session-{k}").into_bytes();
                        // Value encodes the key, with a length that varies per write.
                        let value = key.repeat(1 + ((i + t) % 12) as usize);
                        let got = match i % 3 {
                            0 => {
                                v.put_at(&key, &value, NOW);
                                None
                            }
                            1 => v.get_at(&key, NOW),
                            _ => v.take_at(&key, NOW),
                        };
                        if let Some(got) = got {
                            assert!(!got.is_empty() && got.len() % key.len() == 0);
                            assert!(got.chunks(key.len()).all(|c| c == key));
                            found += 1;
                        }
                    }
                    found
                })
            })
            .collect();
        let found: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert!(found > 0);
        let stats = v.store.stats();
        assert_eq!(stats.hits, found);
    }

    #[test]
    fn concurrent_takes_remove_exactly_once() {
        let v = Arc::new(VhostSessions::new(store(MIN_BYTES), "a", TIMEOUT));
        for round in 0..200u32 {
            let key = round.to_le_bytes();
            assert!(v.put_at(&key, b"once", NOW));
            let takers: Vec<_> = (0..4)
                .map(|_| {
                    let v = v.clone();
                    thread::spawn(move || v.take_at(&key, NOW).is_some())
                })
                .collect();
            let winners = takers
                .into_iter()
                .map(|t| t.join().unwrap())
                .filter(|won| *won)
                .count();
            assert_eq!(winners, 1, "round {round}");
        }
    }

    #[test]
    fn a_lock_left_by_a_dead_pid_is_stolen_quickly() {
        let v = VhostSessions::new(store(MIN_BYTES), "a", TIMEOUT);
        let bucket = v.store.bucket(bucket_of(&v, b"k"));
        // Above Linux's largest pid_max (2^22): no such process.
        bucket.0[0].store((0x3fff_fff0 << 32) | 7, Ordering::Relaxed);
        let start = Instant::now();
        assert!(v.put_at(b"k", b"v", NOW));
        assert!(start.elapsed() < STEAL_ANYWAY);
        assert_eq!(bucket.0[0].load(Ordering::Relaxed), 0); // released after use
        assert!(v.get_at(b"k", NOW).is_some());
    }

    #[test]
    fn a_lock_held_too_long_by_a_live_pid_is_stolen_after_the_bound() {
        let v = VhostSessions::new(store(MIN_BYTES), "a", TIMEOUT);
        let bucket = v.store.bucket(bucket_of(&v, b"k"));
        let me = u64::from(rhttpd_sys::process::getpid().unsigned_abs());
        bucket.0[0].store((me << 32) | 0xffff_ffff, Ordering::Relaxed);
        let start = Instant::now();
        assert!(v.put_at(b"k", b"v", NOW));
        assert!(start.elapsed() >= STEAL_ANYWAY);
    }

    #[test]
    fn torn_entries_read_as_absent() {
        let v = VhostSessions::new(store(MIN_BYTES), "a", TIMEOUT);
        assert!(v.put_at(b"k", b"value", NOW));
        let bucket = v.store.bucket(bucket_of(&v, b"k"));
        let slot = (0..SLOTS_PER_BUCKET)
            .map(|i| bucket.slot(i))
            .find(|s| s.word(META) != 0)
            .unwrap();
        slot.0[HEADER_WORDS + 2].fetch_xor(1, Ordering::Relaxed); // a value byte
        assert_eq!(v.get_at(b"k", NOW), None);
    }

    #[test]
    fn a_child_killed_holding_a_lock_neither_loses_its_sessions_nor_blocks_others() {
        let v = VhostSessions::new(store(MIN_BYTES), "a", TIMEOUT);
        let pid = rhttpd_sys::process::run_in_forked_child(|| {
            if !v.put(b"from-child".to_vec(), b"v".to_vec()) {
                return 1;
            }
            // Dies holding the lock, as if SIGKILLed inside the critical section.
            std::mem::forget(v.store.bucket(bucket_of(&v, b"k")).lock());
            0
        })
        .unwrap();
        let exit = rhttpd_sys::process::wait_child_timeout(pid, Duration::from_secs(20));
        assert_eq!(exit.unwrap(), Some(rhttpd_sys::ChildExit::Exited(0)));
        let start = Instant::now();
        assert!(v.put(b"k".to_vec(), b"v".to_vec()));
        assert!(start.elapsed() < STEAL_ANYWAY);
        assert_eq!(v.get(b"from-child").as_deref(), Some(&b"v"[..]));
    }
}
