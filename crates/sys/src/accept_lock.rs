//! The accept mutex of prefork with several listeners (Apache's `Mutex flock` mechanism):
//! only the child holding it polls the listeners, so one connection wakes one child.
//!
//! Backed by `flock(2)` on a temporary file that is unlinked right after creation, so
//! nothing outlives the server (no SysV semaphores, no stale lock files after a crash).
//! `flock` locks belong to the *open file description*: children that merely inherit the
//! parent's descriptor share one description and therefore one lock, which excludes
//! nobody. Each child calls [`AcceptLock::reopen_in_child`] after `fork`, which opens the
//! (unlinked) file again through `/proc/self/fd/N` to get its own description.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// A cross-process mutex: an unlinked temporary file plus `flock`.
#[derive(Debug)]
pub struct AcceptLock {
    file: File,
}

impl AcceptLock {
    /// Creates the lock in the system temporary directory (in the parent, before forking).
    pub fn new() -> io::Result<AcceptLock> {
        AcceptLock::new_in(&std::env::temp_dir())
    }

    /// Creates the lock file in `dir` (Apache's `Mutex flock:DIR`), then unlinks it.
    pub fn new_in(dir: &Path) -> io::Result<AcceptLock> {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let mut attempts = 0;
        loop {
            let name = format!(
                "rhttpd-accept.{}.{}",
                std::process::id(),
                SEQ.fetch_add(1, Ordering::Relaxed)
            );
            let path = dir.join(name);
            match OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
            {
                Ok(file) => {
                    std::fs::remove_file(&path)?;
                    return Ok(AcceptLock { file });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempts < 100 => {
                    attempts += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Gives this process its own open file description of the lock file, so that its
    /// `lock` excludes the parent and siblings. Call once in each child after `fork`.
    pub fn reopen_in_child(&mut self) -> io::Result<()> {
        let path = format!("/proc/self/fd/{}", self.file.as_raw_fd());
        self.file = OpenOptions::new().read(true).write(true).open(path)?;
        Ok(())
    }

    fn flock(&self, op: libc::c_int) -> io::Result<()> {
        loop {
            // SAFETY: `flock` takes an integer descriptor and touches no memory; the
            // descriptor is owned by `self.file` and open for as long as `self` is borrowed.
            let rc = unsafe { libc::flock(self.file.as_raw_fd(), op) };
            if rc == 0 {
                return Ok(());
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
    }

    /// Blocks until this process holds the lock.
    pub fn lock(&self) -> io::Result<()> {
        self.flock(libc::LOCK_EX)
    }

    /// Takes the lock if it is free: `Ok(false)` if another holder has it.
    pub fn try_lock(&self) -> io::Result<bool> {
        match self.flock(libc::LOCK_EX | libc::LOCK_NB) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Releases the lock.
    pub fn unlock(&self) -> io::Result<()> {
        self.flock(libc::LOCK_UN)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;
    use std::time::Duration;

    use super::*;
    use crate::process::{self, ChildExit};
    use crate::test_util::fork_lock;

    #[test]
    fn leaves_no_file_behind() {
        let dir = tempfile::tempdir().unwrap();
        let lock = AcceptLock::new_in(dir.path()).unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        lock.lock().unwrap();
        lock.unlock().unwrap();
        assert!(lock.try_lock().unwrap());
        lock.unlock().unwrap();
    }

    /// A child takes the lock and holds it until told to release it; returns whether the
    /// parent could take the lock (while held, after release).
    fn probe(reopen: bool) -> (bool, bool) {
        let _guard = fork_lock();
        let lock = AcceptLock::new().unwrap();
        let (mut parent_end, mut child_end) = UnixStream::pair().unwrap();
        parent_end
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let child = process::run_in_forked_child(|| {
            // `lock` here is the copy inherited through fork: same open file description.
            let mut mine = AcceptLock {
                file: match lock.file.try_clone() {
                    Ok(f) => f,
                    Err(_) => return 10,
                },
            };
            if reopen && mine.reopen_in_child().is_err() {
                return 11;
            }
            if mine.lock().is_err() {
                return 12;
            }
            let mut b = [0u8];
            let _ = child_end.write_all(b"l");
            let _ = child_end.read_exact(&mut b);
            let _ = mine.unlock();
            let _ = child_end.write_all(b"u");
            0
        })
        .unwrap();
        let mut b = [0u8];
        parent_end.read_exact(&mut b).unwrap();
        let free_while_held = lock.try_lock().unwrap();
        if free_while_held {
            lock.unlock().unwrap();
        }
        parent_end.write_all(b"x").unwrap();
        parent_end.read_exact(&mut b).unwrap();
        let free_after = lock.try_lock().unwrap();
        let exit = process::wait_child_timeout(child, Duration::from_secs(20)).unwrap();
        assert_eq!(exit, Some(ChildExit::Exited(0)));
        (free_while_held, free_after)
    }

    #[test]
    fn reopened_lock_excludes_the_parent() {
        let (free_while_held, free_after) = probe(true);
        assert!(
            !free_while_held,
            "parent got the lock while the child held it"
        );
        assert!(free_after);
    }

    #[test]
    fn inherited_description_is_shared_hence_reopen_is_needed() {
        let (free_while_held, _) = probe(false);
        assert!(
            free_while_held,
            "without reopen the child's flock is the parent's"
        );
    }
}
