//! The default handler's open-file cache: the descriptor of a file served recently is
//! kept and used again while the stat the handler makes of the path shows the same file
//! unchanged in the ways that matter.
//!
//! Not time-based (nginx's `open_file_cache` trusts a cached stat for
//! `open_file_cache_valid`, 60 s): the cached descriptor is used only when the
//! request's stat names the same inode (device and inode number) with the same
//! ctime, mode and owner. A file replaced (rename over it, new inode), deleted (the stat
//! fails: the entry goes), truncated or written (ctime moves), or whose permissions,
//! owner or ACL changed (ctime moves) is opened afresh, and an open the server is no
//! longer allowed fails as it would without the cache. While the inode is the same the
//! descriptor reads what the file holds now, and the headers (size, Last-Modified,
//! ETag) come from the fresh stat. A request saves `openat`, `fstat` and `close`.
//!
//! The stat itself is shared only within one batch of readiness events of the event MPM's
//! listener ([`stat_batch`]), as h2o shares its file cache within one event-loop
//! iteration: requests answered in the same batch (microseconds apart) see the path as
//! the batch's first stat of it did; the next batch stats again. Worker and prefork
//! stat every request.
//!
//! Per process, at most [`CAPACITY`] descriptors (opened `O_CLOEXEC`: CGI children do
//! not inherit them); the least recently used goes first, and [`FileCache::sweep`] (called from
//! the MPMs' loops) closes entries unused for [`IDLE`] to [`IDLE`] × 2, so a deleted
//! file's space is not held for long.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::{File, Metadata};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Descriptors kept open per process.
pub const CAPACITY: usize = 64;
/// Entries unused for this long (to twice this long) are closed by [`FileCache::sweep`].
pub const IDLE: Duration = Duration::from_secs(10);

/// What must match between the cached descriptor and the path's stat now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Identity {
    dev: u64,
    ino: u64,
    ctime: i64,
    ctime_nsec: i64,
    mode: u32,
    uid: u32,
    gid: u32,
}

impl Identity {
    fn of(m: &Metadata) -> Identity {
        Identity {
            dev: m.dev(),
            ino: m.ino(),
            ctime: m.ctime(),
            ctime_nsec: m.ctime_nsec(),
            mode: m.mode(),
            uid: m.uid(),
            gid: m.gid(),
        }
    }
}

struct Entry {
    file: Arc<File>,
    id: Identity,
    /// Lookup sequence number of the last use (least recently used goes first).
    used: u64,
    /// Used since the last sweep.
    fresh: bool,
}

struct Cache {
    map: HashMap<PathBuf, Entry>,
    seq: u64,
    swept: Instant,
}

/// A cache of open files (the process has one, [`global`]).
pub struct FileCache {
    inner: Mutex<Cache>,
}

static GLOBAL: LazyLock<FileCache> = LazyLock::new(FileCache::new);

/// The process's cache.
pub fn global() -> &'static FileCache {
    &GLOBAL
}

/// Paths stat'ed in one listener batch at most (more are stat'ed every time).
const BATCH_STATS: usize = 64;

thread_local! {
    /// The stats of the current batch; `None` outside a batch.
    static BATCH: RefCell<Option<HashMap<Vec<u8>, Metadata, PathBytesHash>>> = const { RefCell::new(None) };
}

/// FNV-1a for the batch's keys (path bytes): `Path`'s own `Hash` walks components.
#[derive(Clone, Copy, Default)]
struct PathBytesHash;

impl std::hash::BuildHasher for PathBytesHash {
    type Hasher = Fnv;
    fn build_hasher(&self) -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

fn path_key(path: &Path) -> &[u8] {
    path.as_os_str().as_encoded_bytes()
}

/// While the returned guard lives, [`stat`] on this thread reuses the first successful
/// stat of each path (one batch of the event listener's readiness events).
pub fn stat_batch() -> StatBatch {
    BATCH.with_borrow_mut(|b| *b = Some(HashMap::with_hasher(PathBytesHash)));
    StatBatch(())
}

/// Ends the batch of [`stat_batch`] when dropped.
pub struct StatBatch(());

impl Drop for StatBatch {
    fn drop(&mut self) {
        BATCH.with_borrow_mut(|b| *b = None);
    }
}

/// `fs::metadata(path)`, shared within a [`stat_batch`]. Failures are never shared.
pub fn stat(path: &Path) -> io::Result<Metadata> {
    let cached = BATCH.with_borrow(|b| b.as_ref().map(|m| m.get(path_key(path)).cloned()));
    match cached {
        None => std::fs::metadata(path),
        Some(Some(m)) => Ok(m),
        Some(None) => {
            let m = std::fs::metadata(path)?;
            BATCH.with_borrow_mut(|b| {
                if let Some(b) = b
                    && b.len() < BATCH_STATS
                {
                    b.insert(path_key(path).to_vec(), m.clone());
                }
            });
            Ok(m)
        }
    }
}

/// Forget `path`'s stat in the current batch (a failure opening it).
fn forget_batch_stat(path: &Path) {
    BATCH.with_borrow_mut(|b| {
        if let Some(b) = b {
            b.remove(path_key(path));
        }
    });
}

/// A file opened for a response, with the metadata its headers come from.
pub struct Opened {
    pub file: Arc<File>,
    pub meta: Metadata,
}

impl Default for FileCache {
    fn default() -> Self {
        FileCache::new()
    }
}

impl FileCache {
    pub fn new() -> FileCache {
        FileCache {
            inner: Mutex::new(Cache {
                map: HashMap::new(),
                seq: 0,
                swept: Instant::now(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Cache> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Open `path`, whose stat for this request is `stat` (a regular file): the cached
    /// descriptor when it is still the same file, else a new one (then cached).
    pub fn open(&self, path: &Path, stat: &Metadata) -> io::Result<Opened> {
        let id = Identity::of(stat);
        {
            let mut c = self.lock();
            c.seq += 1;
            let seq = c.seq;
            if let Some(e) = c.map.get_mut(path) {
                if e.id == id {
                    e.used = seq;
                    e.fresh = true;
                    return Ok(Opened {
                        file: Arc::clone(&e.file),
                        meta: stat.clone(),
                    });
                }
                c.map.remove(path);
            }
        }
        let file = File::open(path)?;
        let meta = file.metadata()?;
        let file = Arc::new(file);
        if meta.is_file() {
            self.insert(path, Identity::of(&meta), Arc::clone(&file));
        }
        Ok(Opened { file, meta })
    }

    /// The path no longer names a file (its stat failed): drop any entry for it.
    pub fn forget(&self, path: &Path) {
        forget_batch_stat(path);
        let mut c = self.lock();
        if !c.map.is_empty() {
            c.map.remove(path);
        }
    }

    fn insert(&self, path: &Path, id: Identity, file: Arc<File>) {
        let mut c = self.lock();
        if c.map.len() >= CAPACITY
            && let Some(oldest) = c
                .map
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(p, _)| p.clone())
        {
            c.map.remove(&oldest);
        }
        let used = c.seq;
        c.map.insert(
            path.to_path_buf(),
            Entry {
                file,
                id,
                used,
                fresh: true,
            },
        );
    }

    /// Close entries not used since the sweep before (at most every [`IDLE`]).
    pub fn sweep(&self) {
        self.sweep_at(Instant::now());
    }

    fn sweep_at(&self, now: Instant) {
        let mut c = self.lock();
        if c.map.is_empty() || now.saturating_duration_since(c.swept) < IDLE {
            return;
        }
        c.swept = now;
        c.map.retain(|_, e| std::mem::replace(&mut e.fresh, false));
    }

    /// Descriptors the cache holds now.
    pub fn held(&self) -> usize {
        self.lock().map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;

    fn read(o: &Opened) -> String {
        let mut s = String::new();
        (&*o.file).read_to_string(&mut s).unwrap();
        s
    }

    fn serve(c: &FileCache, path: &Path) -> io::Result<Opened> {
        let stat = std::fs::metadata(path)?;
        c.open(path, &stat)
    }

    #[test]
    fn the_same_file_is_served_from_one_descriptor_and_a_replaced_one_is_reopened() {
        let c = FileCache::new();
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        std::fs::write(&p, "one").unwrap();
        let a = serve(&c, &p).unwrap();
        let b = serve(&c, &p).unwrap();
        assert!(Arc::ptr_eq(&a.file, &b.file));
        // Replaced by rename: a new inode.
        let tmp = d.path().join("f.new");
        std::fs::write(&tmp, "two!").unwrap();
        std::fs::rename(&tmp, &p).unwrap();
        let r = serve(&c, &p).unwrap();
        assert!(!Arc::ptr_eq(&a.file, &r.file));
        assert_eq!(r.meta.len(), 4);
        assert_eq!(read(&r), "two!");
    }

    #[test]
    fn a_file_changed_in_place_is_reopened_and_its_metadata_is_current() {
        let c = FileCache::new();
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        std::fs::write(&p, "long content").unwrap();
        let a = serve(&c, &p).unwrap();
        let before = a.meta.ctime_nsec() + a.meta.ctime() * 1_000_000_000;
        // Truncate and rewrite; wait for the ctime to move (coarse clocks).
        loop {
            std::fs::write(&p, "short").unwrap();
            let m = std::fs::metadata(&p).unwrap();
            if m.ctime_nsec() + m.ctime() * 1_000_000_000 != before {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let b = serve(&c, &p).unwrap();
        assert!(!Arc::ptr_eq(&a.file, &b.file));
        assert_eq!(b.meta.len(), 5);
        let mut s = String::new();
        (&*b.file).read_to_string(&mut s).unwrap();
        assert_eq!(s, "short");
    }

    #[test]
    fn a_permission_change_reopens_and_a_deleted_file_is_forgotten() {
        let c = FileCache::new();
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        std::fs::write(&p, "x").unwrap();
        let a = serve(&c, &p).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000)).unwrap();
        let stat = std::fs::metadata(&p).unwrap();
        // Reopened: as root the open still succeeds, otherwise it is refused, as it
        // would be without the cache; never the old descriptor.
        if let Ok(b) = c.open(&p, &stat) {
            assert!(!Arc::ptr_eq(&a.file, &b.file));
        }
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let _ = serve(&c, &p).unwrap();
        std::fs::remove_file(&p).unwrap();
        assert!(serve(&c, &p).is_err());
        c.forget(&p);
        assert!(!c.lock().map.contains_key(&p));
    }

    #[test]
    fn capacity_evicts_the_least_recently_used() {
        let c = FileCache::new();
        let d = tempfile::tempdir().unwrap();
        let paths: Vec<PathBuf> = (0..CAPACITY + 8)
            .map(|i| {
                let p = d.path().join(format!("f{i}"));
                std::fs::write(&p, "x").unwrap();
                p
            })
            .collect();
        let first = serve(&c, &paths[0]).unwrap();
        for p in &paths[1..] {
            serve(&c, p).unwrap();
            // Keep the first one in use.
            serve(&c, &paths[0]).unwrap();
        }
        assert!(c.held() <= CAPACITY);
        let again = serve(&c, &paths[0]).unwrap();
        assert!(Arc::ptr_eq(&first.file, &again.file));
    }

    #[test]
    fn sweeps_close_what_was_not_used_since_the_sweep_before() {
        let c = FileCache::new();
        let d = tempfile::tempdir().unwrap();
        let (p, q) = (d.path().join("p"), d.path().join("q"));
        std::fs::write(&p, "p").unwrap();
        std::fs::write(&q, "q").unwrap();
        serve(&c, &p).unwrap();
        serve(&c, &q).unwrap();
        let t0 = Instant::now();
        c.sweep_at(t0); // too soon: nothing happens
        assert_eq!(c.held(), 2);
        c.sweep_at(t0 + IDLE); // both were used since: kept, marked
        assert_eq!(c.held(), 2);
        serve(&c, &p).unwrap();
        c.sweep_at(t0 + IDLE * 2); // q unused for a whole period: closed
        assert_eq!(c.held(), 1);
        assert!(c.lock().map.contains_key(&p));
    }

    #[test]
    fn a_batch_shares_a_path_s_stat_and_the_next_batch_stats_again() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        std::fs::write(&p, "one").unwrap();
        {
            let _batch = stat_batch();
            assert_eq!(stat(&p).unwrap().len(), 3);
            std::fs::write(&p, "three").unwrap();
            // Within the batch the first stat stands.
            assert_eq!(stat(&p).unwrap().len(), 3);
            // Failures are not shared: a missing path is stat'ed each time.
            let q = d.path().join("missing");
            assert!(stat(&q).is_err());
            std::fs::write(&q, "x").unwrap();
            assert_eq!(stat(&q).unwrap().len(), 1);
            // forget() (a failed stat or open) drops the batch's entry too.
            global().forget(&p);
            assert_eq!(stat(&p).unwrap().len(), 5);
            std::fs::write(&p, "four").unwrap();
        }
        // A new batch (and no batch at all) stats afresh.
        assert_eq!(stat(&p).unwrap().len(), 4);
        let _batch = stat_batch();
        std::fs::write(&p, "sixsix").unwrap();
        assert_eq!(stat(&p).unwrap().len(), 6);
    }
}
