//! Anonymous shared memory that survives `fork`: the scoreboard's backing store.
//!
//! `mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)`, as nginx's
//! `ngx_shm_alloc` and Apache's default anonymous scoreboard do. A region created before
//! `fork` is the *same* physical memory in parent and children. (`memmap2::map_anon` is
//! `MAP_PRIVATE`: copy-on-write, so children's stores would be invisible to the parent.)
//!
//! The region is exposed only as a slice of `AtomicU64`: lock-free atomics are address-free,
//! so concurrent access from several processes is as well defined as from several threads.

use std::io;
use std::num::NonZeroUsize;
use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::atomic::AtomicU64;

use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous, munmap};

use crate::errno;

/// A zero-initialised region of `AtomicU64` words in anonymous `MAP_SHARED` memory.
///
/// Create it in the parent before forking; every child then sees the same words. Dropping
/// it unmaps this process's view only.
#[derive(Debug)]
pub struct SharedWords {
    ptr: NonNull<AtomicU64>,
    words: usize,
}

// SAFETY: the region is only reachable as `&[AtomicU64]`, and atomics may be shared and
// sent between threads; the pointer is owned by this value alone (unmapped once, in Drop).
unsafe impl Send for SharedWords {}
// SAFETY: as above; all access through `&self` goes through atomic operations.
unsafe impl Sync for SharedWords {}

impl SharedWords {
    /// Maps `words` zeroed 64-bit words (rounded up to whole pages by the kernel).
    pub fn new(words: usize) -> io::Result<SharedWords> {
        let bytes = words
            .checked_mul(size_of::<AtomicU64>())
            .and_then(NonZeroUsize::new)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("invalid shared memory size: {words} words"),
                )
            })?;
        // SAFETY: a fresh anonymous mapping at an address the kernel chooses (addr = None)
        // cannot alias any existing Rust object; the length is non-zero and checked for
        // overflow above.
        let ptr = unsafe {
            mmap_anonymous(
                None,
                bytes,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
            )
        }
        .map_err(errno)?;
        Ok(SharedWords {
            ptr: ptr.cast(),
            words,
        })
    }

    /// Number of words in the region.
    pub fn words(&self) -> usize {
        self.words
    }
}

impl Deref for SharedWords {
    type Target = [AtomicU64];

    fn deref(&self) -> &[AtomicU64] {
        // SAFETY: `ptr` is the start of a live mapping of `words * 8` readable and writable
        // bytes (mmap returns page-aligned memory, so the alignment of AtomicU64 holds), the
        // kernel zero-filled it and all-zero bytes are a valid AtomicU64, the mapping lives
        // until `self` is dropped (the slice borrows `self`), and it is only ever accessed
        // through atomics, so shared references from any number of threads or processes are
        // fine.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.words) }
    }
}

impl Drop for SharedWords {
    fn drop(&mut self) {
        let len = self.words * size_of::<AtomicU64>();
        // SAFETY: `ptr`/`len` are exactly the mapping created in `new`; no borrow of it can
        // outlive `self`, and it is unmapped only here, once.
        let _ = unsafe { munmap(self.ptr.cast(), len) };
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::process::ChildExit;
    use crate::test_util::in_child;

    #[test]
    fn zeroed_and_writable() {
        let shm = SharedWords::new(1000).unwrap();
        assert_eq!(shm.len(), 1000);
        assert_eq!(shm.words(), 1000);
        assert!(shm.iter().all(|w| w.load(Ordering::Relaxed) == 0));
        shm[999].store(42, Ordering::Relaxed);
        assert_eq!(shm[999].load(Ordering::Relaxed), 42);
    }

    #[test]
    fn rejects_empty_and_overflowing_sizes() {
        assert!(SharedWords::new(0).is_err());
        assert!(SharedWords::new(usize::MAX / 4).is_err());
    }

    #[test]
    fn child_stores_are_visible_to_the_parent() {
        let shm = SharedWords::new(16).unwrap();
        shm[0].store(1, Ordering::SeqCst);
        let exit = in_child(|| {
            // The parent's store before the fork is visible here...
            if shm[0].load(Ordering::SeqCst) != 1 {
                return 1;
            }
            // ...and this store is visible to the parent after the fork.
            shm[3].store(0xdead_beef, Ordering::SeqCst);
            shm[15].fetch_add(5, Ordering::SeqCst);
            0
        });
        assert_eq!(exit, ChildExit::Exited(0));
        assert_eq!(shm[3].load(Ordering::SeqCst), 0xdead_beef);
        assert_eq!(shm[15].load(Ordering::SeqCst), 5);
    }

    #[test]
    fn send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<SharedWords>();
        let shm = std::sync::Arc::new(SharedWords::new(1).unwrap());
        let s2 = shm.clone();
        std::thread::spawn(move || s2[0].fetch_add(1, Ordering::SeqCst))
            .join()
            .unwrap();
        assert_eq!(shm[0].load(Ordering::SeqCst), 1);
    }
}
