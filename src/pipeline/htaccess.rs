//! Reading `.htaccess` files during the directory walk, through a process-wide cache
//! of parsed files revalidated by one `stat` per file per request (inode, size, mtime
//! and ctime): an unchanged file is never re-read, a replaced or edited one is re-read
//! on its next request, a deleted one stops applying at once. Within one request (an
//! internal redirect walks again: mod_rewrite's front controller, an ErrorDocument) a
//! directory is looked at once: the answer is kept per thread until [`new_request`].

use std::collections::HashMap;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rhttpd_http::StatusCode;

use crate::conf::overrides::AllowOverride;
use crate::conf::{ConfigId, Htaccess, ServerConfig};

/// Parsed files kept at most; the cache is emptied when it is full (a site with more
/// directories holding `.htaccess` files than this re-reads some of them).
const CACHE_ENTRIES: usize = 4096;

/// A `.htaccess` file that stops the request: Apache's 500 for a file that does not
/// parse or holds what `AllowOverride` forbids, 403 for one that cannot be read.
#[derive(Clone, Debug)]
pub struct HtaccessError {
    pub status: StatusCode,
    /// The error-log line (`/path/.htaccess: Invalid command 'X', ...`).
    pub message: String,
}

/// What a file was when it was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    fn of(m: &std::fs::Metadata) -> Stamp {
        Stamp {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        }
    }
}

struct Cached {
    config: ConfigId,
    allowed: AllowOverride,
    stamp: Stamp,
    parsed: Result<Arc<Htaccess>, HtaccessError>,
}

static CACHE: Mutex<Option<HashMap<PathBuf, Cached>>> = Mutex::new(None);

/// What this thread's current request found per directory (and under which
/// AllowOverride), so that its walks after an internal redirect stat nothing again.
type Seen = Vec<(PathBuf, AllowOverride, Option<Arc<Htaccess>>)>;

thread_local! {
    static SEEN: std::cell::RefCell<Seen> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A new request starts on this thread: what the previous one saw is forgotten.
pub fn new_request() {
    let _ = SEEN.try_with(|s| {
        if let Ok(mut s) = s.try_borrow_mut() {
            s.clear();
        }
    });
}

fn seen(dir: &Path, allowed: &AllowOverride) -> Option<Option<Arc<Htaccess>>> {
    SEEN.try_with(|s| {
        s.try_borrow().ok().and_then(|s| {
            s.iter()
                .find(|(d, a, _)| d == dir && a == allowed)
                .map(|(_, _, h)| h.clone())
        })
    })
    .ok()
    .flatten()
}

fn remember(dir: &Path, allowed: &AllowOverride, found: &Option<Arc<Htaccess>>) {
    let _ = SEEN.try_with(|s| {
        if let Ok(mut s) = s.try_borrow_mut()
            && s.len() < 64
        {
            s.push((dir.to_path_buf(), allowed.clone(), found.clone()));
        }
    });
}

/// The `.htaccess` file of directory `dir` under `allowed`: the first of `names` that
/// exists (Apache's `AccessFileName` order), `None` when none does.
pub fn lookup(
    cfg: &ServerConfig,
    dir: &Path,
    names: &[String],
    allowed: &AllowOverride,
) -> Result<Option<Arc<Htaccess>>, HtaccessError> {
    if let Some(found) = seen(dir, allowed) {
        return Ok(found);
    }
    let found = lookup_files(cfg, dir, names, allowed)?;
    remember(dir, allowed, &found);
    Ok(found)
}

fn lookup_files(
    cfg: &ServerConfig,
    dir: &Path,
    names: &[String],
    allowed: &AllowOverride,
) -> Result<Option<Arc<Htaccess>>, HtaccessError> {
    for name in names {
        let path = dir.join(name);
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if absent(&e) => continue,
            Err(e) => return Err(unreadable(&path, dir, &e)),
        };
        if !meta.is_file() {
            continue;
        }
        let stamp = Stamp::of(&meta);
        if let Some(hit) = cached(cfg.id, &path, allowed, stamp) {
            return hit.map(Some);
        }
        let text = match std::fs::read(&path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) if absent(&e) => continue,
            Err(e) => return Err(unreadable(&path, dir, &e)),
        };
        let parsed = parse(cfg, &path, &text, allowed);
        store(cfg.id, path, allowed, stamp, parsed.clone());
        return parsed.map(Some);
    }
    Ok(None)
}

fn absent(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

/// Apache's AH00529 for a file it may not read (403).
fn unreadable(path: &Path, dir: &Path, e: &io::Error) -> HtaccessError {
    HtaccessError {
        status: StatusCode::FORBIDDEN,
        message: format!(
            "AH00529: {} pcfg_openfile: unable to check htaccess file, ensure it is readable and that '{}' is executable ({e})",
            path.display(),
            dir.display()
        ),
    }
}

fn parse(
    cfg: &ServerConfig,
    path: &Path,
    text: &str,
    allowed: &AllowOverride,
) -> Result<Arc<Htaccess>, HtaccessError> {
    match crate::conf::htaccess(cfg, text, path, allowed) {
        Ok(h) => {
            for w in &h.warnings {
                crate::log::log("core", crate::log::Level::Warn, None, w);
            }
            Ok(Arc::new(h))
        }
        Err(e) => {
            let line = e.location.as_ref().map(|l| l.line);
            Err(HtaccessError {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                message: match line {
                    Some(n) => format!("{}: {} (line {n})", path.display(), e.message),
                    None => format!("{}: {}", path.display(), e.message),
                },
            })
        }
    }
}

fn cached(
    config: ConfigId,
    path: &Path,
    allowed: &AllowOverride,
    stamp: Stamp,
) -> Option<Result<Arc<Htaccess>, HtaccessError>> {
    let guard = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    let c = guard.as_ref()?.get(path)?;
    (c.config == config && c.stamp == stamp && c.allowed == *allowed).then(|| c.parsed.clone())
}

fn store(
    config: ConfigId,
    path: PathBuf,
    allowed: &AllowOverride,
    stamp: Stamp,
    parsed: Result<Arc<Htaccess>, HtaccessError>,
) {
    let mut guard = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    let map = guard.get_or_insert_with(HashMap::new);
    if map.len() >= CACHE_ENTRIES {
        map.clear();
    }
    map.insert(
        path,
        Cached {
            config,
            allowed: allowed.clone(),
            stamp,
            parsed,
        },
    );
}
