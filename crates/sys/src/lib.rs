//! The operating-system layer of rhttpd: the only crate of the project allowed to use
//! `unsafe`.
//!
//! Everything above this crate is `#![forbid(unsafe_code)]`; what it needs from the kernel
//! that the standard library does not offer lives here behind a small, safe API:
//!
//! * [`process`]: fork, daemonize, reaping, signals to other processes, `_exit`, CPU times.
//! * [`shm`]: anonymous `MAP_SHARED` memory (the scoreboard's backing store).
//! * [`sendfile`]: zero-copy file bodies on plain TCP.
//! * [`privileges`]: `User`/`Group` resolution and the privilege drop.
//! * [`signals`]: flag-style handlers and a self-pipe waker for the parent's loop.
//! * [`limits`]: rlimits, fd flags, `uname`.
//! * [`net`]: poll(2), send with MSG_MORE, double-reverse DNS.
//! * [`child`]: handler helper processes (CGI): poll both ways, process groups.
//! * [`spawn`]: starting CGI scripts with `clone(CLONE_VM | CLONE_VFORK)` instead of a
//!   full fork of a threaded server child.
//! * [`crypt`]: crypt(3) password hashes (htpasswd's DES, bcrypt and SHA-crypt).
//!
//! Rules for this crate: every `unsafe` block carries a `// SAFETY:` comment saying why it
//! is sound, and no function here starts a thread (the server's parent process must stay
//! single-threaded so that `fork` is well defined).

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]
#![deny(missing_debug_implementations)]

pub mod child;
pub mod crypt;
pub mod epoll;
pub mod limits;
pub mod net;
pub mod privileges;
pub mod process;
pub mod sendfile;
pub mod shm;
pub mod signals;
pub mod spawn;

pub use epoll::{Interest, ListenPoll, Poller, Ready};
pub use net::{poll_readable, reverse_lookup_confirmed, send_more, send_some_more};
pub use privileges::{lookup_group, lookup_user, running_as_root};
pub use process::{ChildExit, CpuTimes, Forked};
pub use sendfile::sendfile;
pub use shm::SharedWords;
pub use signals::{SignalPipe, sig};

/// Converts a `nix` error into the `std::io::Error` every public function here returns.
pub(crate) fn errno(e: nix::errno::Errno) -> std::io::Error {
    std::io::Error::from_raw_os_error(e as i32)
}

#[cfg(test)]
pub(crate) mod test_util {
    //! Helpers shared by the fork-based tests of this crate.

    use std::sync::{Mutex, MutexGuard};
    use std::time::Duration;

    use crate::process::{self, ChildExit};

    static FORK_LOCK: Mutex<()> = Mutex::new(());

    /// Serialises the tests that fork or reap, so that a `waitpid(-1)` in one test never
    /// steals the child of another.
    pub fn fork_lock() -> MutexGuard<'static, ()> {
        FORK_LOCK.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` in a forked child and returns its exit status (bounded to 20 seconds).
    pub fn in_child(f: impl FnOnce() -> i32) -> ChildExit {
        let _guard = fork_lock();
        let pid = process::run_in_forked_child(f).expect("fork");
        match process::wait_child_timeout(pid, Duration::from_secs(20)).expect("waitpid") {
            Some(exit) => exit,
            None => {
                let _ = process::send_signal(pid, libc::SIGKILL);
                let _ = process::wait_child(pid);
                panic!("child {pid} did not finish in time");
            }
        }
    }
}
