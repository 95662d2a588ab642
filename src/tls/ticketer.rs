//! Session tickets that every child, and every restart of the same parent, understands.
//!
//! rustls's stock ticketer keeps random keys per process and refuses tickets longer than it
//! has itself produced, so forked children reject each other's tickets. Here the keys live
//! in shared memory ([`TicketKeys`]), made and rotated only by the parent, and every
//! [`VhostTicketer`] in every child encrypts with the same "current" key.
//!
//! A ticket is `key name (16) ‖ nonce (12, random) ‖ AES-256-GCM(plaintext) ‖ tag (16)`,
//! authenticated with the virtual host's namespace as additional data, so a ticket of one
//! vhost never decrypts on another. Decryption tries the previous, current and next keys
//! by name; an unknown name, a short ticket or a failed tag gives `None`, and rustls falls
//! back to a full handshake.
//!
//! Rotation (nginx's scheme): every `lifetime` the parent shifts previous ← current ←
//! next and makes a fresh next. A ticket therefore decrypts while its key is current or
//! previous: at least `lifetime` and at most twice that after it was issued. After two
//! rotations the key it was made under is overwritten and the ticket is gone.
//!
//! `SSLSessionTicketKeyFile` ([`TicketKeySource::File`]): the key is derived from the
//! file's 48 bytes and fixed until restart, as in Apache (whose own tickets, AES-128-CBC
//! with HMAC-SHA256, are not readable here nor ours there).

use std::fmt;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering, fence};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rhttpd_sys::SharedWords;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hkdf;
use ring::rand::{SecureRandom, SystemRandom};
use rustls::server::ProducesTickets;

/// Bytes of a key name (the first bytes of every ticket).
pub const NAME_LEN: usize = 16;
const KEY_LEN: usize = 32;
const TAG_LEN: usize = 16;
const HEADER_LEN: usize = NAME_LEN + NONCE_LEN;
/// Bytes a ticket adds to its plaintext: name, nonce and tag.
pub const OVERHEAD: usize = HEADER_LEN + TAG_LEN;
/// Length of an `SSLSessionTicketKeyFile` (Apache's `TLSEXT_TICKET_KEY_LEN`).
pub const KEY_FILE_LEN: usize = 48;

// Shared words: the generation (current = slot generation % 3), when the current key
// became current (seconds since the epoch), then three slots of
// [seqlock version, name (2 words), key (4 words), created-at].
const GENERATION: usize = 0;
const CURRENT_SINCE: usize = 1;
const SLOTS: usize = 8;
const SLOT_WORDS: usize = 8;
/// A reader gives up (no ticket / no resumption) if a slot stays mid-write this long.
const READ_ATTEMPTS: u32 = 10_000;

/// One key as copied out of shared memory (never printed).
#[derive(Clone, Copy)]
struct KeySlot {
    name: [u8; NAME_LEN],
    key: [u8; KEY_LEN],
    created: u64,
}

impl KeySlot {
    fn random(rng: &SystemRandom, created: u64) -> io::Result<KeySlot> {
        let mut slot = KeySlot {
            name: [0; NAME_LEN],
            key: [0; KEY_LEN],
            created,
        };
        rng.fill(&mut slot.name)
            .and_then(|()| rng.fill(&mut slot.key))
            .map_err(|_| io::Error::other("the system random generator failed"))?;
        Ok(slot)
    }

    fn aead_key(&self) -> Option<LessSafeKey> {
        Some(LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, &self.key).ok()?,
        ))
    }
}

/// Ticket keys in shared memory: three slots (previous, current, next), each {16-byte
/// name, 32-byte AES-256-GCM key, created-at seconds}, written only by the parent.
///
/// Each slot is a seqlock (its version word is odd while it is written; a reader retries
/// when the version moved), so a reader never uses a half-written key.
pub struct TicketKeys {
    shm: SharedWords,
}

impl TicketKeys {
    /// Parent, before forking: random keys (from `ring::rand::SystemRandom`) for all three
    /// slots. The "previous" one is never used to encrypt; filling it means no slot ever
    /// holds a known (all-zero) key.
    pub fn new() -> io::Result<TicketKeys> {
        TicketKeys::new_at(SystemTime::now())
    }

    fn new_at(now: SystemTime) -> io::Result<TicketKeys> {
        let now = secs(now);
        let rng = SystemRandom::new();
        let keys = TicketKeys {
            shm: SharedWords::new(SLOTS + 3 * SLOT_WORDS)?,
        };
        for i in 0..3 {
            keys.write_slot(i, &KeySlot::random(&rng, now)?);
        }
        keys.shm[CURRENT_SINCE].store(now, Ordering::Relaxed);
        Ok(keys)
    }

    /// Parent's once-a-second maintenance: rotate (previous = current, current = next,
    /// next = fresh random) when current has been current for `lifetime` or longer, or
    /// when the clock went back by more than `lifetime`. Returns whether it rotated;
    /// `false` also if the random generator failed (the old keys then stay in use).
    pub fn rotate_if_due(&self, now: SystemTime, lifetime: Duration) -> bool {
        let now = secs(now);
        let lifetime = lifetime.as_secs();
        let since = self.shm[CURRENT_SINCE].load(Ordering::Relaxed);
        let due = now.saturating_sub(since) >= lifetime || since > now.saturating_add(lifetime);
        if !due {
            return false;
        }
        let Ok(fresh) = KeySlot::random(&SystemRandom::new(), now) else {
            return false;
        };
        // Claiming the rotation makes concurrent callers (there should be only the
        // parent) rotate once, not twice.
        if self.shm[CURRENT_SINCE]
            .compare_exchange(since, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return false;
        }
        let generation = self.shm[GENERATION].load(Ordering::Relaxed);
        // The old previous slot becomes the new next; current and next shift by one.
        self.write_slot(slot_index(generation, 2), &fresh);
        self.shm[GENERATION].store(generation.wrapping_add(1), Ordering::Release);
        true
    }

    fn slot_words(&self, i: usize) -> &[AtomicU64] {
        &self.shm[SLOTS + i * SLOT_WORDS..][..SLOT_WORDS]
    }

    fn write_slot(&self, i: usize, slot: &KeySlot) {
        let w = self.slot_words(i);
        let mut version = w[0].load(Ordering::Relaxed);
        loop {
            if version.is_multiple_of(2) {
                match w[0].compare_exchange_weak(
                    version,
                    version + 1,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => break,
                    Err(v) => version = v,
                }
            } else {
                std::hint::spin_loop();
                version = w[0].load(Ordering::Relaxed);
            }
        }
        fence(Ordering::Release);
        let bytes = [&slot.name[..], &slot.key[..]].concat();
        for (word, chunk) in w[1..7].iter().zip(bytes.chunks(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            word.store(u64::from_le_bytes(b), Ordering::Relaxed);
        }
        w[7].store(slot.created, Ordering::Relaxed);
        w[0].store(version + 2, Ordering::Release);
    }

    /// A consistent copy of slot `i`, or `None` if it was never written or stayed
    /// mid-write for [`READ_ATTEMPTS`] tries.
    fn read_slot(&self, i: usize) -> Option<KeySlot> {
        let w = self.slot_words(i);
        for attempt in 0..READ_ATTEMPTS {
            let before = w[0].load(Ordering::Acquire);
            if before == 0 {
                return None;
            }
            if before.is_multiple_of(2) {
                let data: [u64; 7] = std::array::from_fn(|k| w[k + 1].load(Ordering::Relaxed));
                fence(Ordering::Acquire);
                if w[0].load(Ordering::Relaxed) == before {
                    let mut slot = KeySlot {
                        name: [0; NAME_LEN],
                        key: [0; KEY_LEN],
                        created: data[6],
                    };
                    let bytes: Vec<u8> = data[..6].iter().flat_map(|d| d.to_le_bytes()).collect();
                    slot.name.copy_from_slice(&bytes[..NAME_LEN]);
                    slot.key.copy_from_slice(&bytes[NAME_LEN..]);
                    return Some(slot);
                }
            }
            if attempt < 100 {
                std::hint::spin_loop();
            } else {
                thread::yield_now();
            }
        }
        None
    }

    fn generation(&self) -> u64 {
        self.shm[GENERATION].load(Ordering::Acquire)
    }

    fn current(&self) -> Option<KeySlot> {
        self.read_slot(slot_index(self.generation(), 0))
    }

    /// The current, previous or next key called `name`.
    fn find(&self, name: &[u8]) -> Option<KeySlot> {
        let generation = self.generation();
        [0, 2, 1]
            .into_iter()
            .filter_map(|role| self.read_slot(slot_index(generation, role)))
            .find(|slot| slot.name == name)
    }
}

/// Slot of a role: 0 current, 1 next, 2 previous.
fn slot_index(generation: u64, role: u64) -> usize {
    // A remainder of 3 always fits in usize.
    (generation.wrapping_add(role) % 3) as usize
}

fn secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl fmt::Debug for TicketKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TicketKeys")
            .field("generation", &self.generation())
            .field(
                "current_since",
                &self.shm[CURRENT_SINCE].load(Ordering::Relaxed),
            )
            .finish_non_exhaustive()
    }
}

/// Where a virtual host's ticket keys come from.
pub enum TicketKeySource {
    /// The parent's rotating keys in shared memory.
    Shared(Arc<TicketKeys>),
    /// `SSLSessionTicketKeyFile`: 48 bytes (name 16, HMAC 16, AES 16 in Apache); fixed
    /// until restart.
    File([u8; KEY_FILE_LEN]),
}

impl fmt::Debug for TicketKeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TicketKeySource::Shared(keys) => f.debug_tuple("Shared").field(keys).finish(),
            TicketKeySource::File(_) => f.write_str("File(..)"),
        }
    }
}

/// Reads an `SSLSessionTicketKeyFile` (path already resolved against ServerRoot): its
/// first 48 bytes, as Apache's `apr_file_read_full` does (a longer file is accepted, a
/// shorter one is not). The error is Apache's AH02286 / AH02287 message.
pub fn read_key_file(path: &Path) -> Result<[u8; KEY_FILE_LEN], String> {
    let mut file = std::fs::File::open(path).map_err(|e| {
        format!(
            "AH02286: Failed to open ticket key file {}: {}",
            path.display(),
            apr_error_text(&e)
        )
    })?;
    let mut key = [0u8; KEY_FILE_LEN];
    file.read_exact(&mut key).map_err(|e| {
        format!(
            "AH02287: Failed to read {KEY_FILE_LEN} bytes from {}: {}",
            path.display(),
            apr_error_text(&e)
        )
    })?;
    Ok(key)
}

/// Apache's `(%d) %pm` rendering of an error; a short read is APR_EOF.
fn apr_error_text(e: &io::Error) -> String {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        return "(70014) End of file found".to_owned();
    }
    match e.raw_os_error() {
        Some(code) => {
            let text = e.to_string();
            let suffix = format!(" (os error {code})");
            format!("({code}) {}", text.strip_suffix(&suffix).unwrap_or(&text))
        }
        None => e.to_string(),
    }
}

/// HKDF output length for the file key.
struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// The name is the file's first 16 bytes (as in Apache); the AES-256 key is
/// HKDF-SHA256 over all 48.
fn file_key(bytes: &[u8; KEY_FILE_LEN]) -> KeySlot {
    let mut slot = KeySlot {
        name: [0; NAME_LEN],
        key: [0; KEY_LEN],
        created: 0,
    };
    slot.name.copy_from_slice(&bytes[..NAME_LEN]);
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"rhttpd SSLSessionTicketKeyFile").extract(bytes);
    prk.expand(&[b"aes-256-gcm ticket key"], Len(KEY_LEN))
        .and_then(|okm| okm.fill(&mut slot.key))
        .expect("HKDF-SHA256 can produce 32 bytes");
    slot
}

enum Keys {
    Shared(Arc<TicketKeys>),
    File {
        name: [u8; NAME_LEN],
        key: Box<LessSafeKey>,
    },
}

/// One virtual host's [`ProducesTickets`].
pub struct VhostTicketer {
    keys: Keys,
    namespace: String,
    lifetime: u32,
}

impl VhostTicketer {
    /// `namespace` identifies the virtual host (authenticated in every ticket);
    /// `lifetime` is what [`ProducesTickets::lifetime`] reports, in whole seconds (the
    /// rotation lifetime for shared keys: `SSLSessionCacheTimeout`).
    pub fn new(source: TicketKeySource, namespace: &str, lifetime: Duration) -> Self {
        let keys = match source {
            TicketKeySource::Shared(keys) => Keys::Shared(keys),
            TicketKeySource::File(bytes) => {
                let slot = file_key(&bytes);
                Keys::File {
                    name: slot.name,
                    key: Box::new(slot.aead_key().expect("a 32-byte AES-256-GCM key")),
                }
            }
        };
        VhostTicketer {
            keys,
            namespace: namespace.to_owned(),
            lifetime: u32::try_from(lifetime.as_secs()).unwrap_or(u32::MAX),
        }
    }

    fn seal(&self, name: &[u8; NAME_LEN], key: &LessSafeKey, plain: &[u8]) -> Option<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).ok()?;
        let mut out = Vec::with_capacity(plain.len() + OVERHEAD);
        out.extend_from_slice(name);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plain);
        let tag = key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(self.namespace.as_bytes()),
                &mut out[HEADER_LEN..],
            )
            .ok()?;
        out.extend_from_slice(tag.as_ref());
        Some(out)
    }

    fn open(&self, key: &LessSafeKey, cipher: &[u8]) -> Option<Vec<u8>> {
        let nonce = Nonce::try_assume_unique_for_key(&cipher[NAME_LEN..HEADER_LEN]).ok()?;
        let mut buf = cipher[HEADER_LEN..].to_vec();
        let len = key
            .open_in_place(nonce, Aad::from(self.namespace.as_bytes()), &mut buf)
            .ok()?
            .len();
        buf.truncate(len);
        Some(buf)
    }
}

impl fmt::Debug for VhostTicketer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source: &dyn fmt::Debug = match &self.keys {
            Keys::Shared(keys) => keys,
            Keys::File { .. } => &"SSLSessionTicketKeyFile",
        };
        f.debug_struct("VhostTicketer")
            .field("namespace", &self.namespace)
            .field("lifetime", &self.lifetime)
            .field("keys", source)
            .finish()
    }
}

impl ProducesTickets for VhostTicketer {
    fn enabled(&self) -> bool {
        true
    }

    fn lifetime(&self) -> u32 {
        self.lifetime
    }

    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        match &self.keys {
            Keys::Shared(keys) => {
                let slot = keys.current()?;
                self.seal(&slot.name, &slot.aead_key()?, plain)
            }
            Keys::File { name, key } => self.seal(name, key, plain),
        }
    }

    fn decrypt(&self, cipher: &[u8]) -> Option<Vec<u8>> {
        if cipher.len() < OVERHEAD {
            return None;
        }
        let name = &cipher[..NAME_LEN];
        match &self.keys {
            Keys::Shared(keys) => self.open(&keys.find(name)?.aead_key()?, cipher),
            Keys::File { name: ours, key } => {
                (ours == name).then(|| self.open(key, cipher)).flatten()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::time::Instant;

    use proptest::prelude::*;

    use super::*;

    const LIFETIME: Duration = Duration::from_secs(300);

    fn t0() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    fn shared(keys: &Arc<TicketKeys>, namespace: &str) -> VhostTicketer {
        VhostTicketer::new(TicketKeySource::Shared(keys.clone()), namespace, LIFETIME)
    }

    fn keys() -> Arc<TicketKeys> {
        Arc::new(TicketKeys::new_at(t0()).unwrap())
    }

    #[test]
    fn round_trip() {
        let t = shared(&keys(), "www:443");
        assert!(t.enabled());
        assert_eq!(t.lifetime(), 300);
        for plain in [&b""[..], b"x", &[0xab; 1000]] {
            let ticket = t.encrypt(plain).unwrap();
            assert_eq!(ticket.len(), plain.len() + OVERHEAD);
            assert_eq!(t.decrypt(&ticket).as_deref(), Some(plain));
        }
        // Random nonces: the same plaintext never gives the same ticket.
        assert_ne!(t.encrypt(b"same"), t.encrypt(b"same"));
    }

    #[test]
    fn a_ticket_of_one_vhost_does_not_decrypt_on_another() {
        let k = keys();
        let (a, b) = (shared(&k, "a.example:443"), shared(&k, "b.example:443"));
        let ticket = a.encrypt(b"session").unwrap();
        assert_eq!(b.decrypt(&ticket), None);
        assert!(a.decrypt(&ticket).is_some());
    }

    #[test]
    fn any_flipped_bit_is_refused() {
        let t = shared(&keys(), "a");
        let ticket = t.encrypt(b"session state").unwrap();
        for i in 0..ticket.len() * 8 {
            let mut forged = ticket.clone();
            forged[i / 8] ^= 1 << (i % 8);
            assert_eq!(t.decrypt(&forged), None, "bit {i}");
        }
        assert_eq!(t.decrypt(&ticket[..ticket.len() - 1]), None);
        assert_eq!(t.decrypt(&ticket[..OVERHEAD - 1]), None);
        assert_eq!(t.decrypt(&[]), None);
    }

    #[test]
    fn tickets_survive_one_rotation_but_not_two() {
        let k = keys();
        let t = shared(&k, "a");
        let old = t.encrypt(b"old").unwrap();
        assert!(k.rotate_if_due(t0() + LIFETIME, LIFETIME));
        let newer = t.encrypt(b"newer").unwrap();
        assert_ne!(old[..NAME_LEN], newer[..NAME_LEN]); // made under the new current
        assert_eq!(t.decrypt(&old).as_deref(), Some(&b"old"[..])); // now previous
        assert!(k.rotate_if_due(t0() + 2 * LIFETIME, LIFETIME));
        assert_eq!(t.decrypt(&old), None); // its key was overwritten
        assert_eq!(t.decrypt(&newer).as_deref(), Some(&b"newer"[..]));
    }

    #[test]
    fn tickets_under_the_next_key_are_understood() {
        // A ticket made by a process that has already seen the next rotation.
        let k = keys();
        let generation = k.generation();
        let next = k.read_slot(slot_index(generation, 1)).unwrap();
        let t = shared(&k, "a");
        let ticket = t
            .seal(&next.name, &next.aead_key().unwrap(), b"early")
            .unwrap();
        assert_eq!(t.decrypt(&ticket).as_deref(), Some(&b"early"[..]));
    }

    #[test]
    fn rotate_if_due_respects_the_lifetime() {
        let k = keys();
        assert!(!k.rotate_if_due(t0(), LIFETIME));
        assert!(!k.rotate_if_due(t0() + LIFETIME - Duration::from_secs(1), LIFETIME));
        assert!(k.rotate_if_due(t0() + LIFETIME, LIFETIME));
        assert!(!k.rotate_if_due(t0() + LIFETIME, LIFETIME));
        assert!(!k.rotate_if_due(t0() + 2 * LIFETIME - Duration::from_secs(1), LIFETIME));
        assert!(k.rotate_if_due(t0() + 2 * LIFETIME, LIFETIME));
        // The clock went back by more than a lifetime: rotate rather than keep a key
        // for that long.
        assert!(k.rotate_if_due(t0(), LIFETIME));
        assert_eq!(k.generation(), 3);
    }

    #[test]
    fn file_keys_are_the_same_across_restarts() {
        let bytes: [u8; KEY_FILE_LEN] = std::array::from_fn(|i| i as u8);
        let before = VhostTicketer::new(TicketKeySource::File(bytes), "a", LIFETIME);
        let after = VhostTicketer::new(TicketKeySource::File(bytes), "a", LIFETIME);
        let ticket = before.encrypt(b"state").unwrap();
        assert_eq!(ticket[..NAME_LEN], bytes[..NAME_LEN]);
        assert_eq!(after.decrypt(&ticket).as_deref(), Some(&b"state"[..]));
        let mut other = bytes;
        other[40] ^= 1; // same name, different key material
        let stranger = VhostTicketer::new(TicketKeySource::File(other), "a", LIFETIME);
        assert_eq!(stranger.decrypt(&ticket), None);
        // Shared and file keys do not understand each other.
        let s = shared(&keys(), "a");
        assert_eq!(s.decrypt(&ticket), None);
        assert_eq!(before.decrypt(&s.encrypt(b"x").unwrap()), None);
    }

    #[test]
    fn read_key_file_wants_48_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ticket.key");
        std::fs::File::create(&path)
            .unwrap()
            .write_all(&[1; 47])
            .unwrap();
        assert_eq!(
            read_key_file(&path).unwrap_err(),
            format!(
                "AH02287: Failed to read 48 bytes from {}: (70014) End of file found",
                path.display()
            )
        );
        std::fs::write(&path, [2u8; 80]).unwrap(); // Apache uses the first 48
        assert_eq!(read_key_file(&path).unwrap(), [2u8; 48]);
        let missing = dir.path().join("missing");
        assert_eq!(
            read_key_file(&missing).unwrap_err(),
            format!(
                "AH02286: Failed to open ticket key file {}: (2) No such file or directory",
                missing.display()
            )
        );
    }

    #[test]
    fn debug_never_shows_keys() {
        let bytes = [0x5a; KEY_FILE_LEN];
        let file = VhostTicketer::new(TicketKeySource::File(bytes), "a", LIFETIME);
        let text = format!("{file:?} {:?}", TicketKeySource::File(bytes));
        assert!(!text.contains("90") && !text.contains("5a"), "{text}");
        let k = keys();
        let text = format!("{:?} {k:?}", shared(&k, "a"));
        assert!(text.contains("generation: 0"), "{text}");
        for i in 0..3 {
            let slot = k.read_slot(i).unwrap();
            let key = format!("{:?}", &slot.key[..4]);
            assert!(!text.contains(key.trim_matches(['[', ']'])), "{text}");
        }
    }

    #[test]
    fn readers_never_see_a_half_written_slot() {
        let k = keys();
        // Slots whose every byte is the same: a torn copy would mix two values.
        let uniform = |b: u8| KeySlot {
            name: [b; NAME_LEN],
            key: [b; KEY_LEN],
            created: u64::from(b),
        };
        for i in 0..3 {
            k.write_slot(i, &uniform(0));
        }
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let readers: Vec<_> = (0..3)
            .map(|_| {
                let (k, stop) = (k.clone(), stop.clone());
                thread::spawn(move || {
                    let mut reads = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        for i in 0..3 {
                            let s = k.read_slot(i).unwrap();
                            let b = s.name[0];
                            assert!(s.name.iter().chain(&s.key).all(|&x| x == b));
                            assert_eq!(s.created, u64::from(b));
                            reads += 1;
                        }
                    }
                    reads
                })
            })
            .collect();
        for n in 0..30_000u32 {
            k.write_slot((n % 3) as usize, &uniform((n % 251) as u8));
        }
        stop.store(true, Ordering::Relaxed);
        let reads: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
        assert!(reads > 0);
    }

    #[test]
    fn a_ticket_made_in_a_child_decrypts_in_the_parent_and_rotation_reaches_children() {
        let k = keys();
        let parent = shared(&k, "a");
        let before = parent.encrypt(b"made before").unwrap();
        // The child writes its ticket into a shared word region for the parent to read.
        let out = Arc::new(SharedWords::new(64).unwrap());
        let pid = rhttpd_sys::process::run_in_forked_child(|| {
            let child = shared(&k, "a");
            if child.decrypt(&before).as_deref() != Some(&b"made before"[..]) {
                return 1;
            }
            let Some(ticket) = child.encrypt(b"from the child") else {
                return 2;
            };
            for (w, c) in out[1..].iter().zip(ticket.chunks(8)) {
                let mut b = [0u8; 8];
                b[..c.len()].copy_from_slice(c);
                w.store(u64::from_le_bytes(b), Ordering::Relaxed);
            }
            out[0].store(ticket.len() as u64, Ordering::Release); // published last
            // Wait for the parent's rotation, then encrypt under the new current key.
            let (generation, start) = (k.generation(), Instant::now());
            while k.generation() == generation {
                if start.elapsed() > Duration::from_secs(10) {
                    return 4;
                }
                thread::yield_now();
            }
            if child.encrypt(b"x").unwrap()[..NAME_LEN] == ticket[..NAME_LEN] {
                return 3;
            }
            0
        })
        .unwrap();
        let start = Instant::now();
        while out[0].load(Ordering::Acquire) == 0 && start.elapsed() < Duration::from_secs(10) {
            thread::yield_now();
        }
        let len = out[0].load(Ordering::Acquire) as usize;
        let mut ticket: Vec<u8> = out[1..]
            .iter()
            .flat_map(|w| w.load(Ordering::Relaxed).to_le_bytes())
            .collect();
        ticket.truncate(len);
        assert!(k.rotate_if_due(t0() + LIFETIME, LIFETIME));
        let exit = rhttpd_sys::process::wait_child_timeout(pid, Duration::from_secs(20));
        assert_eq!(exit.unwrap(), Some(rhttpd_sys::ChildExit::Exited(0)));
        assert_eq!(
            parent.decrypt(&ticket).as_deref(),
            Some(&b"from the child"[..])
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_decrypt(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let k = keys();
            let t = shared(&k, "a");
            prop_assert_eq!(t.decrypt(&bytes), None);
            // Also behind a real key name, the tag still fails.
            let mut named = k.current().unwrap().name.to_vec();
            named.extend_from_slice(&bytes);
            prop_assert_eq!(t.decrypt(&named), None);
            let file = VhostTicketer::new(TicketKeySource::File([9; KEY_FILE_LEN]), "a", LIFETIME);
            let mut named = vec![9; NAME_LEN];
            named.extend_from_slice(&bytes);
            prop_assert_eq!(file.decrypt(&named), None);
        }
    }
}
