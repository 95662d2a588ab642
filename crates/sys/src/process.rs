//! Processes: fork, daemonize, reaping, signalling other processes, `_exit`, CPU times.
//!
//! The server's parent process is single-threaded by design (see `reference/rust-deps.md`
//! §2): [`fork`] is only well defined there, and debug builds assert it. Tests, which run
//! inside a multi-threaded harness, use [`run_in_forked_child`] instead.

use std::fs::OpenOptions;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::resource::{UsageWho, getrusage};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{self, ForkResult, Pid};

use crate::errno;

/// Which side of a [`fork`] the caller is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forked {
    /// The original process; `child` is the new process's pid.
    Parent {
        /// Pid of the new child.
        child: i32,
    },
    /// The new process.
    Child,
}

/// How a child process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildExit {
    /// `exit(code)` or a return from `main`.
    Exited(i32),
    /// Killed by a signal.
    Signaled {
        /// The signal number.
        signal: i32,
        /// Whether a core dump was written.
        core_dumped: bool,
    },
}

/// CPU time used by this process and by its reaped children, in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuTimes {
    /// User time of this process.
    pub user_secs: f64,
    /// System time of this process.
    pub system_secs: f64,
    /// User time of terminated and waited-for children.
    pub children_user: f64,
    /// System time of terminated and waited-for children.
    pub children_system: f64,
}

/// Forks the process.
///
/// Must be called from a single-threaded process (the server's parent); debug builds
/// assert this. In the child only the calling thread exists, and it should either keep
/// running the server's child code or leave with [`exit_now`].
pub fn fork() -> io::Result<Forked> {
    debug_assert!(
        thread_count() <= 1,
        "rhttpd_sys::process::fork called from a multi-threaded process ({} threads)",
        thread_count()
    );
    fork_inner()
}

fn fork_inner() -> io::Result<Forked> {
    // SAFETY: `fork` is memory-safe in itself; the hazard is that in a multi-threaded
    // process the child gets a copy of locks held by threads that no longer exist. The
    // server calls `fork` only from its single-threaded parent (debug-asserted in `fork`);
    // `run_in_forked_child` documents that its closure must not depend on such locks and
    // ends the child with `_exit` so no inherited destructor or atexit handler runs.
    match unsafe { unistd::fork() }.map_err(errno)? {
        ForkResult::Parent { child } => Ok(Forked::Parent {
            child: child.as_raw(),
        }),
        ForkResult::Child => Ok(Forked::Child),
    }
}

/// Forks, runs `f` in the child and ends the child with `_exit(f())` (101 if `f` panics).
/// Returns the child's pid in the parent; never returns in the child.
///
/// Unlike [`fork`] this may be called from a multi-threaded process (test harnesses):
/// `f` then runs with only one thread and must not wait for anything another thread of
/// the parent held at the time of the fork.
pub fn run_in_forked_child<F: FnOnce() -> i32>(f: F) -> io::Result<i32> {
    match fork_inner()? {
        Forked::Parent { child } => Ok(child),
        Forked::Child => {
            let code = panic::catch_unwind(AssertUnwindSafe(f)).unwrap_or(101);
            exit_now(code)
        }
    }
}

/// Detaches from the terminal as Apache's `apr_proc_detach(DAEMONIZE)` does: fork (the
/// original process `_exit(0)`s), `setsid`, and point stdin/stdout/stderr at `/dev/null`.
/// The umask and the working directory are left unchanged. Call while single-threaded.
pub fn daemonize() -> io::Result<()> {
    match fork()? {
        Forked::Parent { .. } => exit_now(0),
        Forked::Child => {}
    }
    unistd::setsid().map_err(errno)?;
    let null = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?;
    unistd::dup2_stdin(&null).map_err(errno)?;
    unistd::dup2_stdout(&null).map_err(errno)?;
    unistd::dup2_stderr(&null).map_err(errno)?;
    Ok(())
}

fn to_exit(status: WaitStatus) -> Option<(i32, ChildExit)> {
    match status {
        WaitStatus::Exited(pid, code) => Some((pid.as_raw(), ChildExit::Exited(code))),
        WaitStatus::Signaled(pid, sig, core_dumped) => Some((
            pid.as_raw(),
            ChildExit::Signaled {
                signal: sig as i32,
                core_dumped,
            },
        )),
        _ => None,
    }
}

/// Reaps one terminated child without blocking (`waitpid(-1, WNOHANG)`). `None` when no
/// child has terminated (or there are no children). Call in a loop until `None`.
pub fn reap_nohang() -> Option<(i32, ChildExit)> {
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(_) => return None,
            Ok(status) => {
                if let Some(exit) = to_exit(status) {
                    return Some(exit);
                }
                // Stopped/continued reports are not terminations: look again.
            }
        }
    }
}

/// Waits (blocking) for the child `pid` to terminate.
pub fn wait_child(pid: i32) -> io::Result<ChildExit> {
    check_pid(pid)?;
    loop {
        match waitpid(Pid::from_raw(pid), None) {
            Ok(status) => {
                if let Some((_, exit)) = to_exit(status) {
                    return Ok(exit);
                }
            }
            Err(Errno::EINTR) => {}
            Err(e) => return Err(errno(e)),
        }
    }
}

/// Waits up to `timeout` for the child `pid` to terminate; `Ok(None)` if it is still
/// running at the deadline (it is neither signalled nor reaped then).
pub fn wait_child_timeout(pid: i32, timeout: Duration) -> io::Result<Option<ChildExit>> {
    check_pid(pid)?;
    let deadline = Instant::now() + timeout;
    let mut nap = Duration::from_micros(200);
    loop {
        match waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG)) {
            Ok(status) => {
                if let Some((_, exit)) = to_exit(status) {
                    return Ok(Some(exit));
                }
            }
            Err(Errno::EINTR) => {}
            Err(e) => return Err(errno(e)),
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        std::thread::sleep(nap.min(deadline - now));
        nap = (nap * 2).min(Duration::from_millis(20));
    }
}

fn check_pid(pid: i32) -> io::Result<()> {
    if pid <= 0 {
        // 0 and negative pids address process groups: never what a caller of this crate
        // means (a zero read from a pid file or an empty scoreboard slot).
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("refusing to address pid {pid}"),
        ));
    }
    Ok(())
}

/// Sends signal `sig` to process `pid` (`sig == 0` only checks that it exists).
/// Pids `<= 0` (process groups) are refused with `InvalidInput`.
pub fn send_signal(pid: i32, sig: i32) -> io::Result<()> {
    check_pid(pid)?;
    let signal = if sig == 0 {
        None
    } else {
        Some(Signal::try_from(sig).map_err(errno)?)
    };
    kill(Pid::from_raw(pid), signal).map_err(errno)
}

/// Whether a process with this pid exists (it may belong to another user, or be a zombie).
pub fn process_alive(pid: i32) -> bool {
    match send_signal(pid, 0) {
        Ok(()) => true,
        Err(e) => e.raw_os_error() == Some(libc::EPERM),
    }
}

/// This process's id.
pub fn getpid() -> i32 {
    unistd::getpid().as_raw()
}

/// The calling thread's kernel id (what Apache logs as `tid`).
pub fn gettid() -> i64 {
    i64::from(unistd::gettid().as_raw())
}

/// Asks the kernel to send `sig` to this process when its parent dies
/// (`prctl(PR_SET_PDEATHSIG)`); for children. The setting is cleared by `fork` and by
/// set-user-id exec, so call it in the child after both.
pub fn set_parent_death_signal(sig: i32) -> io::Result<()> {
    let signal = Signal::try_from(sig).map_err(errno)?;
    nix::sys::prctl::set_pdeathsig(signal).map_err(errno)
}

/// Ends the process at once with `_exit(code)`: no destructors, no atexit handlers, no
/// flushing of stdio buffers inherited from the parent. For forked children.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: `_exit` ends the process immediately; it is async-signal-safe and runs no
    // user code, so no invariant of this process can be observed broken afterwards.
    unsafe { libc::_exit(code) }
}

fn secs(tv: nix::sys::time::TimeVal) -> f64 {
    tv.tv_sec() as f64 + tv.tv_usec() as f64 / 1e6
}

/// CPU times of this process and of its reaped children (`getrusage`), for mod_status.
pub fn cpu_times() -> CpuTimes {
    let mut t = CpuTimes::default();
    if let Ok(me) = getrusage(UsageWho::RUSAGE_SELF) {
        t.user_secs = secs(me.user_time());
        t.system_secs = secs(me.system_time());
    }
    if let Ok(children) = getrusage(UsageWho::RUSAGE_CHILDREN) {
        t.children_user = secs(children.user_time());
        t.children_system = secs(children.system_time());
    }
    t
}

/// CPU time of the calling thread (`RUSAGE_THREAD`) as (user, system) microseconds.
pub fn thread_cpu_micros() -> (u64, u64) {
    match getrusage(UsageWho::RUSAGE_THREAD) {
        Ok(u) => {
            let micros = |tv: nix::sys::time::TimeVal| {
                (tv.tv_sec().max(0) as u64) * 1_000_000 + tv.tv_usec().max(0) as u64
            };
            (micros(u.user_time()), micros(u.system_time()))
        }
        Err(_) => (0, 0),
    }
}

/// Number of threads in this process (the `Threads:` line of `/proc/self/status`; 1 if it
/// cannot be read).
pub fn thread_count() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Threads:"))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{fork_lock, in_child};

    #[test]
    fn child_exit_code_and_signal_are_reported() {
        assert_eq!(in_child(|| 7), ChildExit::Exited(7));
        assert_eq!(in_child(|| panic!("boom")), ChildExit::Exited(101));
        let exit = in_child(|| {
            let _ = send_signal(getpid(), libc::SIGKILL);
            0
        });
        assert_eq!(
            exit,
            ChildExit::Signaled {
                signal: libc::SIGKILL,
                core_dumped: false
            }
        );
    }

    #[test]
    fn reap_nohang_finds_a_terminated_child() {
        let _guard = fork_lock();
        let pid = run_in_forked_child(|| 3).unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let reaped = loop {
            if let Some(r) = reap_nohang() {
                break r;
            }
            assert!(Instant::now() < deadline, "child not reaped in time");
            std::thread::sleep(Duration::from_millis(2));
        };
        assert_eq!(reaped, (pid, ChildExit::Exited(3)));
        assert!(!process_alive(pid));
    }

    #[test]
    fn wait_timeout_and_signals() {
        let _guard = fork_lock();
        let pid = run_in_forked_child(|| {
            std::thread::sleep(Duration::from_secs(30));
            0
        })
        .unwrap();
        assert!(process_alive(pid));
        assert_eq!(
            wait_child_timeout(pid, Duration::from_millis(20)).unwrap(),
            None
        );
        send_signal(pid, libc::SIGTERM).unwrap();
        let exit = wait_child_timeout(pid, Duration::from_secs(20)).unwrap();
        assert_eq!(
            exit,
            Some(ChildExit::Signaled {
                signal: libc::SIGTERM,
                core_dumped: false
            })
        );
    }

    #[test]
    fn refuses_process_groups() {
        assert_eq!(
            send_signal(0, libc::SIGTERM).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        assert!(send_signal(-1, 0).is_err());
        assert!(!process_alive(0));
    }

    #[test]
    fn ids_times_and_threads() {
        assert_eq!(getpid(), std::process::id() as i32);
        assert!(gettid() > 0);
        assert!(thread_count() >= 1);
        let t = cpu_times();
        assert!(t.user_secs >= 0.0 && t.system_secs >= 0.0);
        let exit = in_child(|| {
            // A forked child has exactly one thread, so `fork` itself may be used there.
            if thread_count() != 1 {
                return 1;
            }
            match fork() {
                Ok(Forked::Child) => exit_now(0),
                Ok(Forked::Parent { child }) => match wait_child(child) {
                    Ok(ChildExit::Exited(0)) => 0,
                    _ => 2,
                },
                Err(_) => 3,
            }
        });
        assert_eq!(exit, ChildExit::Exited(0));
    }

    #[test]
    fn parent_death_signal_can_be_set() {
        let exit = in_child(|| match set_parent_death_signal(libc::SIGTERM) {
            Ok(()) => 0,
            Err(_) => 1,
        });
        assert_eq!(exit, ChildExit::Exited(0));
    }

    #[test]
    fn daemonize_detaches() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("daemon");
        let out2 = out.clone();
        let exit = in_child(move || {
            let my_pid = getpid();
            if daemonize().is_err() {
                return 1;
            }
            // Only the daemon gets here: its session id is its own pid.
            let sid = nix::unistd::getsid(None).map(|p| p.as_raw()).unwrap_or(-1);
            let text = format!("{my_pid} {} {sid}", getpid());
            let _ = std::fs::write(out2.with_extension("tmp"), text);
            let _ = std::fs::rename(out2.with_extension("tmp"), &out2);
            0
        });
        assert_eq!(exit, ChildExit::Exited(0));
        let deadline = Instant::now() + Duration::from_secs(20);
        let text = loop {
            if let Ok(t) = std::fs::read_to_string(&out) {
                break t;
            }
            assert!(Instant::now() < deadline, "daemon never wrote");
            std::thread::sleep(Duration::from_millis(5));
        };
        let v: Vec<i32> = text.split(' ').map(|s| s.parse().unwrap()).collect();
        assert_ne!(v[0], v[1], "the daemon is a new process");
        assert_eq!(v[1], v[2], "the daemon leads its own session");
    }
}
