//! Signals, nginx-style: handlers only set flags or write a byte to a self-pipe; the
//! parent's loop does the work. Nothing here starts a thread.
//!
//! Handlers are installed through `signal-hook`, which keeps one process-wide handler per
//! signal and a list of actions. [`ignore`] and [`reset_to_default`] replace the kernel
//! disposition directly; this module remembers the `signal-hook` handler they displaced
//! and puts it back when a flag or pipe is registered for that signal again, so a child
//! can reset what it inherited from the parent and then install its own handlers. Install
//! all handlers through this module for that bookkeeping to stay right.
//!
//! After `fork`, a child inherits the parent's actions, including writes into the
//! parent's [`SignalPipe`] (the socket is shared across fork). Children call
//! [`reset_after_fork`] first thing.

use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal};
use signal_hook::SigId;

use crate::errno;

struct Registry {
    /// Actions registered through this module, by signal.
    actions: Vec<(i32, SigId)>,
    /// Signals for which `signal-hook` has installed its handler at some point.
    hooked: Vec<i32>,
    /// `signal-hook` handlers displaced by `ignore`/`reset_to_default`.
    saved: Vec<(i32, SigAction)>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    actions: Vec::new(),
    hooked: Vec::new(),
    saved: Vec::new(),
});

fn registry() -> MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|p| p.into_inner())
}

fn signal(sig: i32) -> io::Result<Signal> {
    Signal::try_from(sig).map_err(errno)
}

/// Records a new action and, if `ignore`/`reset_to_default` displaced this signal's
/// `signal-hook` handler earlier, reinstalls that handler so the action can run.
fn after_register(sig: i32, id: SigId) -> io::Result<()> {
    let mut reg = registry();
    reg.actions.push((sig, id));
    if !reg.hooked.contains(&sig) {
        reg.hooked.push(sig);
    }
    if let Some(i) = reg.saved.iter().position(|(s, _)| *s == sig) {
        let (_, action) = reg.saved.swap_remove(i);
        // SAFETY: `action` is the disposition `signal-hook` installed for this signal
        // (saved by `set_disposition` when it replaced it). Its handler function is part
        // of this program and still valid, and signal-hook's bookkeeping for the signal
        // still exists (slots are never removed), so reinstalling it is exactly the state
        // signal-hook expects.
        unsafe { nix::sys::signal::sigaction(signal(sig)?, &action) }.map_err(errno)?;
    }
    Ok(())
}

fn set_disposition(sig: i32, handler: SigHandler) -> io::Result<()> {
    let signal = signal(sig)?;
    let mut reg = registry();
    reg.actions.retain(|&(s, id)| {
        if s == sig {
            signal_hook::low_level::unregister(id);
        }
        s != sig
    });
    let action = SigAction::new(handler, SaFlags::empty(), SigSet::empty());
    // SAFETY: SIG_IGN and SIG_DFL are not Rust functions, so no handler can run Rust code
    // that is not async-signal-safe. Replacing signal-hook's handler is tracked in
    // `saved` and undone by `after_register` before signal-hook relies on it again.
    let old = unsafe { nix::sys::signal::sigaction(signal, &action) }.map_err(errno)?;
    if reg.hooked.contains(&sig) && !reg.saved.iter().any(|(s, _)| *s == sig) {
        reg.saved.push((sig, old));
    }
    Ok(())
}

/// On `sig`, set `flag` to true.
pub fn register_flag(sig: i32, flag: Arc<AtomicBool>) -> io::Result<()> {
    let id = signal_hook::flag::register(sig, flag)?;
    after_register(sig, id)
}

/// On `sig`, store `value` into `slot` (one slot for several signals tells which came
/// last, as `signal_hook::flag::register_usize` does).
pub fn register_usize(sig: i32, slot: Arc<AtomicUsize>, value: usize) -> io::Result<()> {
    let id = signal_hook::flag::register_usize(sig, slot, value)?;
    after_register(sig, id)
}

/// On `sig`, add one to `counter`.
pub fn register_counter(sig: i32, counter: Arc<AtomicUsize>) -> io::Result<()> {
    // SAFETY: the action only performs an atomic add on memory kept alive by the `Arc` it
    // owns: async-signal-safe, no allocation, no locks, no panics.
    let id = unsafe {
        signal_hook::low_level::register(sig, move || {
            counter.fetch_add(1, Ordering::SeqCst);
        })
    }?;
    after_register(sig, id)
}

/// Ignores `sig` (`SIGPIPE`, `SIGXFSZ`); removes this module's actions for it.
pub fn ignore(sig: i32) -> io::Result<()> {
    set_disposition(sig, SigHandler::SigIgn)
}

/// Restores the default action of `sig`; removes this module's actions for it.
pub fn reset_to_default(sig: i32) -> io::Result<()> {
    set_disposition(sig, SigHandler::SigDfl)
}

/// For a freshly forked child: resets to default every signal this module installed a
/// handler for (flags, counters and [`SignalPipe`]s inherited from the parent), so the
/// parent's flags and pipes are never touched from the child. Ignored signals stay
/// ignored.
pub fn reset_after_fork() -> io::Result<()> {
    let hooked = registry().hooked.clone();
    for sig in hooked {
        reset_to_default(sig)?;
    }
    Ok(())
}

fn sigset(sigs: &[i32]) -> io::Result<SigSet> {
    let mut set = SigSet::empty();
    for &sig in sigs {
        set.add(signal(sig)?);
    }
    Ok(set)
}

/// Blocks `sigs` in the calling thread (`pthread_sigmask(SIG_BLOCK)`); they stay pending.
/// The mask is inherited by threads created afterwards and across `fork`.
pub fn block(sigs: &[i32]) -> io::Result<()> {
    nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&sigset(sigs)?), None)
        .map_err(errno)
}

/// Unblocks `sigs` in the calling thread; pending ones are delivered now.
pub fn unblock(sigs: &[i32]) -> io::Result<()> {
    nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&sigset(sigs)?), None)
        .map_err(errno)
}

/// Sends `sig` to the calling thread (what `raise(3)` does).
pub fn raise(sig: i32) -> io::Result<()> {
    signal_hook::low_level::raise(sig)
}

/// A self-pipe waker: the parent's maintenance loop sleeps in [`SignalPipe::wait`] for up
/// to a second and wakes at once when one of the registered signals arrives.
///
/// One socket pair per signal: the handler writes a byte to its write end (non-blocking;
/// a full pipe just stays readable), `wait` polls the read ends and drains them.
#[derive(Debug)]
pub struct SignalPipe {
    entries: Vec<(i32, UnixStream)>,
    ids: Vec<SigId>,
}

impl SignalPipe {
    /// Installs a pipe-writing handler for each of `signals`.
    pub fn new(signals: &[i32]) -> io::Result<SignalPipe> {
        let mut pipe = SignalPipe {
            entries: Vec::new(),
            ids: Vec::new(),
        };
        for &sig in signals {
            signal(sig)?;
            let (read, write) = UnixStream::pair()?;
            read.set_nonblocking(true)?;
            let id = signal_hook::low_level::pipe::register(sig, write)?;
            pipe.ids.push(id);
            after_register(sig, id)?;
            pipe.entries.push((sig, read));
        }
        Ok(pipe)
    }

    /// Waits up to `timeout` for a signal and returns the registered signals that arrived
    /// since the last call (in registration order, each once; empty on timeout). Returns
    /// immediately if some already arrived. `Duration::ZERO` just checks.
    pub fn wait(&self, timeout: Duration) -> io::Result<Vec<i32>> {
        let deadline = Instant::now() + timeout;
        loop {
            let arrived = self.drain()?;
            if !arrived.is_empty() {
                return Ok(arrived);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(arrived);
            }
            // Round up so a sub-millisecond remainder does not turn into a busy loop.
            let ms = left.as_micros().div_ceil(1000).min(i32::MAX as u128) as u32;
            let timeout = PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX);
            let mut fds: Vec<PollFd<'_>> = self
                .entries
                .iter()
                .map(|(_, s)| PollFd::new(s.as_fd(), PollFlags::POLLIN))
                .collect();
            match poll(&mut fds, timeout) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(e) => return Err(errno(e)),
            }
        }
    }

    fn drain(&self) -> io::Result<Vec<i32>> {
        let mut arrived = Vec::new();
        let mut buf = [0u8; 64];
        for (sig, read) in &self.entries {
            let mut got = false;
            loop {
                match (&*read).read(&mut buf) {
                    Ok(0) => break,
                    Ok(_) => got = true,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            if got {
                arrived.push(*sig);
            }
        }
        Ok(arrived)
    }

    /// The read ends, for callers that poll them together with other descriptors (then
    /// call `wait(Duration::ZERO)` to learn which signals arrived).
    pub fn fds(&self) -> Vec<BorrowedFd<'_>> {
        self.entries.iter().map(|(_, s)| s.as_fd()).collect()
    }
}

impl Drop for SignalPipe {
    fn drop(&mut self) {
        let mut reg = registry();
        for id in &self.ids {
            signal_hook::low_level::unregister(*id);
            reg.actions.retain(|(_, other)| other != id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::{self, ChildExit};
    use crate::test_util::in_child;
    use libc::{SIGHUP, SIGUSR1, SIGUSR2};

    // Every test runs in a forked child: signal dispositions are process-wide.

    #[test]
    fn flags_counters_and_values() {
        let exit = in_child(|| {
            let flag = Arc::new(AtomicBool::new(false));
            let count = Arc::new(AtomicUsize::new(0));
            let which = Arc::new(AtomicUsize::new(0));
            register_flag(SIGUSR1, flag.clone()).unwrap();
            register_counter(SIGUSR2, count.clone()).unwrap();
            register_usize(SIGHUP, which.clone(), 7).unwrap();
            raise(SIGUSR1).unwrap();
            for _ in 0..3 {
                raise(SIGUSR2).unwrap();
            }
            raise(SIGHUP).unwrap();
            let ok = flag.load(Ordering::SeqCst)
                && count.load(Ordering::SeqCst) == 3
                && which.load(Ordering::SeqCst) == 7;
            if ok { 0 } else { 1 }
        });
        assert_eq!(exit, ChildExit::Exited(0));
    }

    #[test]
    fn reset_to_default_really_restores_the_default() {
        let exit = in_child(|| {
            register_flag(SIGUSR1, Arc::new(AtomicBool::new(false))).unwrap();
            reset_to_default(SIGUSR1).unwrap();
            let _ = raise(SIGUSR1); // default action: terminate
            0
        });
        assert_eq!(
            exit,
            ChildExit::Signaled {
                signal: SIGUSR1,
                core_dumped: false
            }
        );
    }

    #[test]
    fn register_after_reset_and_ignore_works_again() {
        let exit = in_child(|| {
            let old = Arc::new(AtomicBool::new(false));
            register_flag(SIGUSR1, old.clone()).unwrap();
            reset_to_default(SIGUSR1).unwrap();
            ignore(SIGUSR1).unwrap();
            raise(SIGUSR1).unwrap(); // ignored: survives
            let new = Arc::new(AtomicBool::new(false));
            register_flag(SIGUSR1, new.clone()).unwrap();
            raise(SIGUSR1).unwrap();
            if new.load(Ordering::SeqCst) && !old.load(Ordering::SeqCst) {
                0
            } else {
                1
            }
        });
        assert_eq!(exit, ChildExit::Exited(0));
    }

    #[test]
    fn blocked_signals_stay_pending_until_unblocked() {
        let exit = in_child(|| {
            let flag = Arc::new(AtomicBool::new(false));
            register_flag(SIGUSR2, flag.clone()).unwrap();
            block(&[SIGUSR2]).unwrap();
            raise(SIGUSR2).unwrap();
            if flag.load(Ordering::SeqCst) {
                return 1;
            }
            unblock(&[SIGUSR2]).unwrap();
            if flag.load(Ordering::SeqCst) { 0 } else { 2 }
        });
        assert_eq!(exit, ChildExit::Exited(0));
    }

    #[test]
    fn signal_pipe_reports_which_signals_arrived() {
        let exit = in_child(|| {
            let pipe = SignalPipe::new(&[SIGUSR1, SIGUSR2, SIGHUP]).unwrap();
            if !pipe.wait(Duration::from_millis(10)).unwrap().is_empty() {
                return 1;
            }
            raise(SIGHUP).unwrap();
            raise(SIGUSR2).unwrap();
            raise(SIGUSR2).unwrap();
            if pipe.wait(Duration::from_secs(1)).unwrap() != [SIGUSR2, SIGHUP] {
                return 2;
            }
            if !pipe.wait(Duration::ZERO).unwrap().is_empty() {
                return 3;
            }
            if pipe.fds().len() != 3 {
                return 4;
            }
            0
        });
        assert_eq!(exit, ChildExit::Exited(0));
    }

    #[test]
    fn signal_pipe_wakes_a_long_wait_without_threads() {
        let exit = in_child(|| {
            let pipe = SignalPipe::new(&[SIGUSR1]).unwrap();
            let me = process::getpid();
            let Ok(helper) = process::run_in_forked_child(move || {
                std::thread::sleep(Duration::from_millis(50));
                let _ = process::send_signal(me, SIGUSR1);
                0
            }) else {
                return 1;
            };
            let start = Instant::now();
            let got = pipe.wait(Duration::from_secs(10)).unwrap();
            let _ = process::wait_child(helper);
            if got != [SIGUSR1] {
                return 2;
            }
            if start.elapsed() > Duration::from_secs(5) {
                return 3;
            }
            0
        });
        assert_eq!(exit, ChildExit::Exited(0));
    }

    #[test]
    fn reset_after_fork_disconnects_the_parents_pipe() {
        let exit = in_child(|| {
            let pipe = SignalPipe::new(&[SIGUSR1]).unwrap();
            let Ok(child) = process::run_in_forked_child(|| {
                if reset_after_fork().is_err() || ignore(SIGUSR1).is_err() {
                    return 1;
                }
                // Would write into the parent's pipe without the reset.
                let _ = raise(SIGUSR1);
                0
            }) else {
                return 1;
            };
            if process::wait_child(child).ok() != Some(ChildExit::Exited(0)) {
                return 2;
            }
            if !pipe.wait(Duration::from_millis(50)).unwrap().is_empty() {
                return 3;
            }
            // The parent's own pipe still works.
            raise(SIGUSR1).unwrap();
            if pipe.wait(Duration::from_secs(1)).unwrap() != [SIGUSR1] {
                return 4;
            }
            0
        });
        assert_eq!(exit, ChildExit::Exited(0));
    }
}

/// Signal numbers (Linux), so that callers above this crate need no libc.
pub mod sig {
    /// Restart (Apache: `-k restart`).
    pub const HUP: i32 = libc::SIGHUP;
    /// Stop, as TERM.
    pub const INT: i32 = libc::SIGINT;
    /// The last resort when stopping children.
    pub const KILL: i32 = libc::SIGKILL;
    /// Graceful restart (`-k graceful`); a child: finish and exit.
    pub const USR1: i32 = libc::SIGUSR1;
    /// Stop (`-k stop`).
    pub const TERM: i32 = libc::SIGTERM;
    /// Graceful stop (`-k graceful-stop`).
    pub const WINCH: i32 = libc::SIGWINCH;
}
