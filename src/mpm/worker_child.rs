//! A worker child: ThreadsPerChild worker threads, one listener thread, and the main
//! thread that waits for the parent's signals.
//!
//! - The **listener thread** waits until at least one worker is idle, then waits in its
//!   epoll set (the inherited listeners, EPOLLEXCLUSIVE, and a wake-up socket), accepts
//!   one connection and pushes it onto a bounded queue (capacity ThreadsPerChild). It
//!   counts connections for MaxConnectionsPerChild.
//! - A **worker thread** takes a connection from the queue and serves it for its whole
//!   life with the blocking driver, keep-alive waits included (worker's defining
//!   weakness: an idle keep-alive client holds a thread, shown as `K`).
//! - The **main thread** waits on the signal pipe. SIGUSR1 (graceful): the listener
//!   stops and closes the queue, each worker finishes its current request (answered
//!   `Connection: close`) and exits, the main thread joins them and the process exits
//!   0. SIGTERM/SIGHUP: the process exits at once (default action), as Apache's
//!   ungraceful stop cuts connections.
//!
//! Scoreboard: the process row gets `quiescing` once the child stops accepting; every
//! worker thread owns cell (slot, thread) and updates it at each state change.

use std::collections::VecDeque;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use rhttpd_sys::ListenPoll;
use rhttpd_sys::signals::SignalPipe;

use super::child::{CellObserver, ChildContext};
use crate::conn::{self, Connection};
use crate::log::{self, Level};
use crate::scoreboard::WorkerStatus;
use rhttpd_sys::sig;

/// ThreadStackSize on a thread builder: `None` keeps the default stack size.
pub trait WithStackSize {
    fn with_stack_size(self, size: Option<usize>) -> Self;
}

impl WithStackSize for std::thread::Builder {
    fn with_stack_size(self, size: Option<usize>) -> Self {
        match size {
            Some(n) => self.stack_size(n),
            None => self,
        }
    }
}

/// The bounded FIFO between the listener and the workers, with the count of idle
/// workers the listener waits on before accepting.
struct ConnQueue {
    state: Mutex<QueueState>,
    ready: Condvar,
    idle_changed: Condvar,
}

struct QueueState {
    conns: VecDeque<Connection>,
    idle_workers: usize,
    closed: bool,
}

impl ConnQueue {
    fn new() -> Self {
        ConnQueue {
            state: Mutex::new(QueueState {
                conns: VecDeque::new(),
                idle_workers: 0,
                closed: false,
            }),
            ready: Condvar::new(),
            idle_changed: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Worker side: become idle and wait for a connection; `None` when closed.
    fn pop(&self) -> Option<Connection> {
        let mut st = self.lock();
        st.idle_workers += 1;
        self.idle_changed.notify_all();
        loop {
            if let Some(c) = st.conns.pop_front() {
                st.idle_workers -= 1;
                return Some(c);
            }
            if st.closed {
                st.idle_workers -= 1;
                return None;
            }
            st = self.ready.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Listener side: wait (at most `limit`) until a worker is idle and not already
    /// promised a queued connection.
    fn wait_for_idle_worker(&self, limit: Duration) -> bool {
        let mut st = self.lock();
        if st.idle_workers > st.conns.len() {
            return true;
        }
        let (g, _) = self
            .idle_changed
            .wait_timeout(st, limit)
            .unwrap_or_else(|p| p.into_inner());
        st = g;
        st.idle_workers > st.conns.len()
    }

    fn push(&self, c: Connection) {
        self.lock().conns.push_back(c);
        self.ready.notify_one();
    }

    fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
        self.idle_changed.notify_all();
    }
}

/// The child's life; returns its exit status.
pub fn run(ctx: ChildContext<'_>) -> i32 {
    if let Err(code) = super::child::child_prologue(ctx.scoreboard, &ctx.drop_to, true) {
        return code;
    }
    let sigs = match SignalPipe::new(&[sig::USR1]) {
        Ok(s) => s,
        Err(_) => return 7,
    };
    let (wake_tx, wake_rx) = match UnixStream::pair() {
        Ok(p) => p,
        Err(_) => return 7,
    };
    let stopping = AtomicBool::new(false);
    let queue = ConnQueue::new();
    let accepted = AtomicUsize::new(0);
    let pid = rhttpd_sys::process::getpid();
    let sb = ctx.scoreboard;
    let slot = ctx.slot;
    for t in 0..ctx.threads.min(sb.thread_limit()) {
        let cell = sb.worker(slot, t);
        cell.set_status(WorkerStatus::Starting);
    }
    let threads = ctx.threads.min(sb.thread_limit());
    crate::conn::h2::set_thread_limit(crate::conf::h2::stream_threads(&ctx.site.cfg, threads));
    std::thread::scope(|scope| {
        let mut workers = Vec::new();
        for t in 0..ctx.threads.min(sb.thread_limit()) {
            let queue = &queue;
            let stopping = &stopping;
            let site = ctx.site;
            let spawned = std::thread::Builder::new()
                .name(format!("worker-{t}"))
                .with_stack_size(ctx.stack_size())
                .spawn_scoped(scope, move || {
                    let cell = sb.worker(slot, t);
                    cell.claim(pid, rhttpd_sys::process::gettid(), ctx.generation);
                    loop {
                        cell.set_status(WorkerStatus::Ready);
                        let Some(conn) = queue.pop() else {
                            break;
                        };
                        let mut obs = CellObserver {
                            cell: sb.worker(slot, t),
                            stopping,
                            see_request_tail: site.cfg.see_request_tail,
                        };
                        conn::blocking::drive(conn, site, &mut obs);
                    }
                    cell.set_status(WorkerStatus::Dead);
                });
            match spawned {
                Ok(h) => workers.push(h),
                Err(e) => {
                    log::log(
                        "mpm_worker",
                        Level::Alert,
                        None,
                        &format!("AH00282: apr_thread_create: unable to create worker thread: {e}"),
                    );
                    stopping.store(true, Ordering::Relaxed);
                    queue.close();
                    return 7;
                }
            }
        }
        let listener = {
            let ctx = &ctx;
            let queue = &queue;
            let stopping = &stopping;
            let accepted = &accepted;
            let wake_rx = &wake_rx;
            std::thread::Builder::new()
                .name("listener".into())
                .with_stack_size(ctx.stack_size())
                .spawn_scoped(scope, move || {
                    listener_loop(ctx, queue, stopping, accepted, wake_rx);
                    // No more accepting: this process is on its way out.
                    sb.process(slot).set_quiescing(1);
                    stopping.store(true, Ordering::Relaxed);
                    queue.close();
                })
        };
        if listener.is_err() {
            stopping.store(true, Ordering::Relaxed);
            queue.close();
            return 7;
        }
        // Main thread: wait for the graceful signal or for the listener to finish on
        // its own (MaxConnectionsPerChild, generation change).
        loop {
            let got = sigs.wait(Duration::from_millis(500)).unwrap_or_default();
            if got.contains(&sig::USR1) || stopping.load(Ordering::Relaxed) {
                stopping.store(true, Ordering::Relaxed);
                for t in 0..ctx.threads.min(sb.thread_limit()) {
                    let cell = sb.worker(slot, t);
                    if cell.status() == WorkerStatus::Ready {
                        cell.set_status(WorkerStatus::Graceful);
                    }
                }
                let _ = (&wake_tx).write_byte();
                break;
            }
        }
        0
    })
}

trait WakeByte {
    fn write_byte(self) -> std::io::Result<()>;
}

impl WakeByte for &UnixStream {
    fn write_byte(self) -> std::io::Result<()> {
        use std::io::Write;
        let mut s = self;
        s.write_all(b"!")
    }
}

/// A spell of EMFILE/ENFILE on accept: when it began, the last failure, how many.
struct OutOfFds {
    since: Instant,
    last: Instant,
    failed: u64,
}

fn listener_loop(
    ctx: &ChildContext<'_>,
    queue: &ConnQueue,
    stopping: &AtomicBool,
    accepted: &AtomicUsize,
    wake: &UnixStream,
) {
    let lfds: Vec<_> = ctx.listeners.iter().map(|l| l.as_fd()).collect();
    let poll = match ListenPoll::new(&lfds, &[wake.as_fd()]) {
        Ok(p) => p,
        Err(e) => {
            log::log(
                "mpm_worker",
                Level::Emerg,
                None,
                &format!("AH00271: Couldn't create the pollset: {e}"),
            );
            return;
        }
    };
    let n = ctx.listeners.len();
    // Out of descriptors (EMFILE/ENFILE on accept): logged when it starts and when it
    // ends, with a count, not at every retry. It has ended at the first accept a second
    // or more after the last failure (accepts between failures do not end it: the
    // limit is usually hit again at once).
    let mut out_of_fds: Option<OutOfFds> = None;
    loop {
        if stopping.load(Ordering::Relaxed) {
            return;
        }
        crate::modules::file_cache::global().sweep();
        if ctx.scoreboard.global().running_generation() != ctx.generation {
            return;
        }
        if ctx.max_connections > 0 && accepted.load(Ordering::Relaxed) as u64 >= ctx.max_connections
        {
            return;
        }
        // Accept only when a worker can take the connection at once.
        if !queue.wait_for_idle_worker(Duration::from_millis(500)) {
            continue;
        }
        let ready = poll.wait(Duration::from_secs(1)).unwrap_or_default();
        if ready.iter().any(|&i| i >= n) {
            return;
        }
        let candidates: Vec<usize> = if ready.is_empty() {
            (0..n).collect()
        } else {
            ready
        };
        for i in candidates {
            match ctx.listeners[i].accept_client(false) {
                Ok((stream, client)) => {
                    if let Some(o) = &out_of_fds
                        && o.last.elapsed() >= Duration::from_secs(1)
                    {
                        log::log(
                            "mpm_worker",
                            Level::Notice,
                            None,
                            &format!(
                                "accepting connections again: out of descriptors for {:.1} s ({} failed accepts)",
                                (o.last - o.since).as_secs_f64(),
                                o.failed
                            ),
                        );
                        out_of_fds = None;
                    }
                    accepted.fetch_add(1, Ordering::Relaxed);
                    if let Ok(conn) =
                        ctx.listeners[i].connection(stream, client, false, ctx.site.tls.as_ref())
                    {
                        queue.push(conn);
                    }
                    break;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if matches!(e.raw_os_error(), Some(24) | Some(23)) => {
                    let now = Instant::now();
                    let o = out_of_fds.get_or_insert_with(|| {
                        log::log(
                            "mpm_worker",
                            Level::Error,
                            None,
                            &format!(
                                "AH02179: apr_socket_accept: {e}; retrying every 100 ms until descriptors free up"
                            ),
                        );
                        OutOfFds {
                            since: now,
                            last: now,
                            failed: 0,
                        }
                    });
                    o.last = now;
                    o.failed += 1;
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => {
                    log::log(
                        "mpm_worker",
                        Level::Error,
                        None,
                        &format!("AH02179: apr_socket_accept: {e}"),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_stack_size_applies_thread_stack_size() {
        // 12 MiB of locals need more than the 2 MiB default stack of a Rust thread.
        let deep = || {
            let buf = [7u8; 12 << 20];
            std::hint::black_box(&buf)[(12 << 20) - 1]
        };
        let b = std::thread::Builder::new().with_stack_size(Some(32 << 20));
        assert_eq!(b.spawn(deep).unwrap().join().unwrap(), 7);
        let b = std::thread::Builder::new().with_stack_size(None);
        assert_eq!(b.spawn(|| 1).unwrap().join().unwrap(), 1);
    }
}
