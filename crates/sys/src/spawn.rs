//! Starting handler helper programs (CGI scripts) without copying the server's address
//! space.
//!
//! `fork(2)` from a threaded server child copies the page tables of every mapping the
//! child has (heap, caches, thread stacks), which costs more than the script itself runs;
//! Apache works around it with mod_cgid's small spawning daemon. Here the new process is
//! created the way `posix_spawn(3)` does it, with `clone(CLONE_VM | CLONE_VFORK)`: it
//! borrows the caller's memory until `execve`, and the calling thread waits meanwhile.
//! Unlike `posix_spawn`, the new process can also be tied to the calling thread's life
//! (`PR_SET_PDEATHSIG`), which is why this exists instead of `std::process::Command`
//! (whose `pre_exec` hook forces a full `fork`).
//!
//! The code between `clone` and `execve` runs on a borrowed stack in shared memory: it
//! calls only async-signal-safe functions, allocates nothing, and reports a failure
//! through a field of the caller's context instead of returning.

use std::ffi::{CString, c_int, c_void};
use std::io::{self, PipeReader, PipeWriter};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::Duration;

/// A program to start with its three standard streams connected to new pipes.
#[derive(Debug, Default)]
pub struct SpawnSpec {
    /// The file to execute (a path; no `PATH` search is done).
    pub program: CString,
    /// `argv`, including `argv[0]`.
    pub args: Vec<CString>,
    /// The whole environment, `NAME=value` each (nothing is inherited).
    pub env: Vec<CString>,
    /// The working directory of the new process, if it is to change.
    pub dir: Option<CString>,
    /// Put the process in a new process group of its own (`setpgid(0, 0)`).
    pub new_process_group: bool,
    /// Deliver `SIGKILL` to the process when the thread that started it dies; if that
    /// thread's process is already gone when the program starts, it exits at once.
    pub die_with_parent: bool,
}

/// A started program: its pid and the caller's ends of its standard streams, which are
/// close-on-exec so later programs do not inherit them.
#[derive(Debug)]
pub struct Spawned {
    /// The process (also its process group when `new_process_group` was asked for).
    pub process: Process,
    /// Writes to the program's stdin.
    pub stdin: PipeWriter,
    /// Reads the program's stdout.
    pub stdout: PipeReader,
    /// Reads the program's stderr.
    pub stderr: PipeReader,
}

/// A child process started by [`spawn_piped`]. Dropping it neither waits for nor kills
/// the process (as `std::process::Child`).
#[derive(Debug)]
pub struct Process {
    pid: libc::pid_t,
    status: Option<ExitStatus>,
    /// Readable once the process has exited (`pidfd_open(2)`), when the kernel has it.
    pidfd: Option<OwnedFd>,
}

/// What the new process reads before `execve`: every pointer stays valid while the
/// caller waits (`CLONE_VFORK`), and the process writes only `error`.
struct ChildContext {
    program: *const libc::c_char,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    dir: *const libc::c_char,
    /// The pipe ends to become fds 0, 1 and 2 (each >= 3, so `dup2` never overlaps).
    stdio: [RawFd; 3],
    new_process_group: bool,
    die_with_parent: bool,
    parent: libc::pid_t,
    /// errno of the step that failed, 0 if `execve` succeeded.
    error: c_int,
}

/// Stack of the new process until `execve` (it runs a handful of system calls).
const CHILD_STACK: usize = 64 * 1024;

/// Starts `spec.program` with pipes for stdin, stdout and stderr.
pub fn spawn_piped(spec: &SpawnSpec) -> io::Result<Spawned> {
    let (stdin_r, stdin_w) = io::pipe()?;
    let (stdout_r, stdout_w) = io::pipe()?;
    let (stderr_r, stderr_w) = io::pipe()?;
    // The child's ends must not sit on 0-2 already (a server started with them
    // closed), or one dup2 could overwrite another's source.
    let child_in = above_stdio(OwnedFd::from(stdin_r))?;
    let child_out = above_stdio(OwnedFd::from(stdout_w))?;
    let child_err = above_stdio(OwnedFd::from(stderr_w))?;

    let argv: Vec<*const libc::c_char> = spec
        .args
        .iter()
        .map(|a| a.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect();
    let envp: Vec<*const libc::c_char> = spec
        .env
        .iter()
        .map(|e| e.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect();
    let mut ctx = ChildContext {
        program: spec.program.as_ptr(),
        argv: argv.as_ptr(),
        envp: envp.as_ptr(),
        dir: spec.dir.as_ref().map_or(std::ptr::null(), |d| d.as_ptr()),
        stdio: [
            child_in.as_raw_fd(),
            child_out.as_raw_fd(),
            child_err.as_raw_fd(),
        ],
        new_process_group: spec.new_process_group,
        die_with_parent: spec.die_with_parent,
        // SAFETY: getpid(2) has no preconditions.
        parent: unsafe { libc::getpid() },
        error: 0,
    };
    let mut stack = vec![0u8; CHILD_STACK];
    // The stack grows down on every Linux target we build for; 16-byte aligned top.
    let top = (stack.as_mut_ptr() as usize + CHILD_STACK) & !15;

    // Block every signal so that no handler of ours runs in the new process while it
    // shares our memory; it unblocks them itself after resetting the handlers.
    // SAFETY: sigset_t is plain data; sigfillset initialises it.
    let mut all: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: both sets are valid, exclusively borrowed sigset_t values.
    unsafe {
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
    }
    // SAFETY: `child_main` gets a pointer to `ctx`, which outlives the new process's
    // use of it: with CLONE_VFORK this thread is suspended until the process calls
    // execve or exits, and `ctx`, `argv`, `envp`, `spec` and `stack` are all alive
    // until after clone returns. The new process runs only async-signal-safe calls on
    // `stack`, which nothing else uses meanwhile.
    let pid = unsafe {
        libc::clone(
            child_main,
            top as *mut c_void,
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            (&mut ctx as *mut ChildContext).cast::<c_void>(),
        )
    };
    let clone_error = io::Error::last_os_error();
    // SAFETY: `old` is the mask saved above.
    unsafe {
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
    }
    drop(stack);
    drop((child_in, child_out, child_err));
    if pid < 0 {
        return Err(clone_error);
    }
    // SAFETY: the new process wrote `error` before calling execve or _exit and has
    // now done one of them (CLONE_VFORK), so nothing writes it concurrently; the
    // volatile read keeps the compiler from assuming it is still 0.
    let error = unsafe { std::ptr::read_volatile(&ctx.error) };
    let mut process = Process {
        pid,
        status: None,
        pidfd: None,
    };
    if error != 0 {
        let _ = process.wait();
        return Err(io::Error::from_raw_os_error(error));
    }
    process.pidfd = pidfd_open(pid);
    Ok(Spawned {
        process,
        stdin: stdin_w,
        stdout: stdout_r,
        stderr: stderr_r,
    })
}

/// `fd` moved to a descriptor number above 2 (close-on-exec kept), if it is not already.
fn above_stdio(fd: OwnedFd) -> io::Result<OwnedFd> {
    if fd.as_raw_fd() > 2 {
        return Ok(fd);
    }
    // SAFETY: F_DUPFD_CLOEXEC on a valid descriptor we own returns a new descriptor or
    // -1; nothing else is touched.
    let moved = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 3) };
    if moved < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `moved` is a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(moved) })
}

/// One past the highest signal number on Linux.
const NSIG: c_int = 65;

/// Records errno for the waiting caller and ends the new process.
///
/// # Safety
/// Only for the process started by `clone` in [`spawn_piped`], with its context.
unsafe fn fail(ctx: &mut ChildContext) -> ! {
    // SAFETY: the caller is suspended (CLONE_VFORK) and reads `error` only after we exit.
    unsafe {
        std::ptr::write_volatile(&mut ctx.error, *libc::__errno_location());
        libc::_exit(127)
    }
}

/// The process side of [`spawn_piped`], between `clone` and `execve`.
extern "C" fn child_main(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the `ChildContext` the suspended caller keeps alive; this
    // process only reads it, except `error`, which the caller reads after we exec or
    // exit. Every call below is async-signal-safe and allocates nothing.
    unsafe {
        let ctx = &mut *arg.cast::<ChildContext>();
        // Handlers belong to the server; the script starts with default dispositions
        // (SIGPIPE included: the Rust runtime ignores it, scripts expect it) and an
        // empty signal mask, as std::process::Command gives.
        for sig in 1..NSIG {
            let mut sa: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, std::ptr::null(), &mut sa) != 0 {
                continue;
            }
            let handled = sa.sa_sigaction != libc::SIG_DFL && sa.sa_sigaction != libc::SIG_IGN;
            if handled || sig == libc::SIGPIPE {
                sa.sa_sigaction = libc::SIG_DFL;
                sa.sa_flags = 0;
                libc::sigaction(sig, &sa, std::ptr::null_mut());
            }
        }
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());

        if ctx.new_process_group && libc::setpgid(0, 0) != 0 {
            fail(ctx);
        }
        if ctx.die_with_parent {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                fail(ctx);
            }
            if libc::getppid() != ctx.parent {
                libc::_exit(1);
            }
        }
        if !ctx.dir.is_null() && libc::chdir(ctx.dir) != 0 {
            fail(ctx);
        }
        for (target, &fd) in ctx.stdio.iter().enumerate() {
            // dup2 onto 0-2 clears close-on-exec on the copy only.
            if libc::dup2(fd, target as c_int) < 0 {
                fail(ctx);
            }
        }
        libc::execve(ctx.program, ctx.argv, ctx.envp);
        fail(ctx)
    }
}

/// `pidfd_open(2)`: a descriptor that polls readable when `pid` exits.
fn pidfd_open(pid: libc::pid_t) -> Option<OwnedFd> {
    // SAFETY: the syscall takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: `fd` is a fresh descriptor that nothing else owns; pidfds are created
    // close-on-exec.
    Some(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

impl Process {
    /// The process id.
    pub fn id(&self) -> i32 {
        self.pid
    }

    /// The exit status if the process has ended (reaping it), `None` if it runs.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.reap(libc::WNOHANG)
    }

    /// Waits for the process to end.
    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        loop {
            if let Some(s) = self.reap(0)? {
                return Ok(s);
            }
        }
    }

    /// The exit status, waiting at most `limit` for the process to end (on its pidfd
    /// when there is one, so the wait ends the moment it exits).
    pub fn wait_timeout(&mut self, limit: Duration) -> io::Result<Option<ExitStatus>> {
        let end = std::time::Instant::now() + limit;
        loop {
            if let Some(s) = self.try_wait()? {
                return Ok(Some(s));
            }
            let left = end.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            match &self.pidfd {
                Some(fd) => {
                    let ms = left.as_millis().clamp(1, i32::MAX as u128) as c_int;
                    let mut p = libc::pollfd {
                        fd: fd.as_raw_fd(),
                        events: libc::POLLIN,
                        revents: 0,
                    };
                    // SAFETY: one valid pollfd on a descriptor we own.
                    unsafe { libc::poll(&mut p, 1, ms) };
                }
                None => std::thread::sleep(left.min(Duration::from_millis(5))),
            }
        }
    }

    fn reap(&mut self, flags: c_int) -> io::Result<Option<ExitStatus>> {
        if let Some(s) = self.status {
            return Ok(Some(s));
        }
        let mut raw: c_int = 0;
        // SAFETY: waitpid on our own child with a valid status pointer.
        let r = unsafe { libc::waitpid(self.pid, &mut raw, flags) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                return Ok(None);
            }
            return Err(e);
        }
        if r == 0 {
            return Ok(None);
        }
        let s = ExitStatus::from_raw(raw);
        self.status = Some(s);
        Ok(Some(s))
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    fn spec(script: &str) -> SpawnSpec {
        SpawnSpec {
            program: CString::new("/bin/sh").unwrap(),
            args: vec![
                CString::new("sh").unwrap(),
                CString::new("-c").unwrap(),
                CString::new(script).unwrap(),
            ],
            env: vec![CString::new("GREETING=hello").unwrap()],
            dir: Some(CString::new("/tmp").unwrap()),
            new_process_group: true,
            die_with_parent: true,
        }
    }

    #[test]
    fn runs_with_pipes_env_dir_and_group() {
        let mut s = spawn_piped(&spec(
            "read line; echo \"$GREETING $line $(pwd)\"; echo oops >&2; \
             test \"$(ps -o pgid= $$ | tr -d ' ')\" = $$ && echo own-group; exit 3",
        ))
        .unwrap();
        s.stdin.write_all(b"world\n").unwrap();
        drop(s.stdin);
        let mut out = String::new();
        s.stdout.read_to_string(&mut out).unwrap();
        let mut err = String::new();
        s.stderr.read_to_string(&mut err).unwrap();
        assert_eq!(out, "hello world /tmp\nown-group\n");
        assert_eq!(err, "oops\n");
        let st = s.process.wait_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(st.and_then(|s| s.code()), Some(3));
    }

    #[test]
    fn only_the_given_environment() {
        let mut s = spawn_piped(&spec("env")).unwrap();
        drop(s.stdin);
        let mut out = String::new();
        s.stdout.read_to_string(&mut out).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        // sh adds PWD (and maybe SHLVL/_) itself; nothing of the test process's.
        assert!(lines.contains(&"GREETING=hello"), "{out}");
        assert!(!out.contains("CARGO"), "{out}");
        s.process.wait().unwrap();
    }

    #[test]
    fn sigpipe_is_default_in_the_program() {
        let mut s = spawn_piped(&spec("grep SigIgn /proc/self/status")).unwrap();
        drop(s.stdin);
        let mut out = String::new();
        s.stdout.read_to_string(&mut out).unwrap();
        let mask = u64::from_str_radix(out.split_whitespace().nth(1).unwrap(), 16).unwrap();
        assert_eq!(mask & (1 << (libc::SIGPIPE - 1)), 0, "{out}");
        s.process.wait().unwrap();
    }

    #[test]
    fn exec_failure_is_an_error() {
        let mut bad = spec("true");
        bad.program = CString::new("/nonexistent/program").unwrap();
        let e = spawn_piped(&bad).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        let mut bad_dir = spec("true");
        bad_dir.dir = Some(CString::new("/nonexistent/dir").unwrap());
        assert_eq!(
            spawn_piped(&bad_dir).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
    }

    #[test]
    fn wait_timeout_returns_when_the_process_exits() {
        let mut s = spawn_piped(&spec("sleep 30")).unwrap();
        assert!(
            s.process
                .wait_timeout(Duration::from_millis(50))
                .unwrap()
                .is_none()
        );
        crate::child::kill_process_group(s.process.id(), 9).unwrap();
        let st = s.process.wait_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(st.and_then(|s| s.signal()), Some(9));
    }

    #[test]
    fn dies_with_the_thread_that_started_it() {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let s = spawn_piped(&spec("sleep 30")).unwrap();
            tx.send(s).unwrap();
        })
        .join()
        .unwrap();
        let mut s = rx.recv().unwrap();
        let st = s.process.wait_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(st.and_then(|s| s.signal()), Some(libc::SIGKILL));
    }
}
