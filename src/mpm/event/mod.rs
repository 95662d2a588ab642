//! The event MPM child.
//!
//! **Threads.** ThreadsPerChild worker threads, one listener thread, and the main
//! thread, which only waits for the parent's signals (SIGUSR1: stop gracefully). The
//! parent is the one parent loop of every MPM (`mpm::parent_loop`) run with
//! `mpm::threaded::Event`.
//!
//! **Who owns which socket.** The listener thread owns an epoll set holding the
//! listening sockets (EPOLLEXCLUSIVE: one connection wakes one child), a wake-up
//! socket, and every connection that is waiting: for its first bytes (new connections
//! never cost a worker before a request arrives — an improvement on Apache, whose
//! workers read the first request with blocking I/O), for the rest of a request head
//! or of a small request body (up to 16 KiB, collected before a worker runs it), idle
//! in keep-alive, waiting to write (write completion), or in lingering close. A
//! connection with input is first offered to `conn::readiness::try_inline` on the
//! listener itself: a request without a body whose handler cannot block (static files,
//! status) is served right there. Anything else goes to a worker through the job queue;
//! the worker runs `conn::readiness::serve_available` (every complete request) and gives the
//! connection back the moment it would wait. Exactly one thread owns a connection at
//! any time. A connection that switched protocols through the proxy (a WebSocket: `101`
//! from the backend) is parked with its backend socket too, both in the listener's epoll
//! set, and relayed by the listener itself (`listener/tunnels.rs`); it holds no worker
//! between messages.
//!
//! **Shared memory.** The scoreboard: each worker thread updates its cell (R/W/L while
//! busy, `_` idle); requests served inline are added to cell 0's counters; the listener
//! publishes the process row's connection counts
//! (total, keep-alive, write completion, lingering close) and `not_accepting`.
//!
//! **Timeouts.** FIFO queues per (state, timeout): keep-alive per KeepAliveTimeout, head
//! reading and write completion per Timeout, lingering close 2 s, tunnels per their idle
//! timeout (checked lazily against the last byte relayed). Appends go to the tail
//! so each queue stays sorted and expiry is O(expired). RequestReadTimeout limits of
//! heads and collected bodies sit in a heap; SendMinRate is checked as a write
//! completion progresses.
//!
//! **Admission control** (AsyncRequestWorkerFactor, Apache §4.4): the child stops
//! polling its listeners and sets `not_accepting` while it has no idle worker or
//! `connections - lingering >= ThreadsPerChild + idle_workers × factor`, where, unlike
//! Apache, connections still reading a head or body, ones in write completion and
//! tunnels do not count (they cost memory, not workers); connections then wait in the kernel
//! backlog or go to another child. Unlike Apache, busy workers
//! never cause keep-alive connections to be closed: a readable keep-alive connection
//! waits in the job queue for the next free worker.
//!
//! **Graceful stop** (SIGUSR1, MaxConnectionsPerChild, generation change), step by
//! step: 1. the listener removes the listening sockets and marks the process quiescing;
//! 2. idle keep-alive connections and connections that sent nothing are closed after a
//! 500 ms grace (`DYING_GRACE` in listener.rs: a request already on its way is answered,
//! `Connection: close`, instead of reset);
//! 3. requests in flight complete (answered `Connection: close`), write completion
//! finishes and tunnels run until they end or go idle; 4. when no connection is left the job queue closes, the workers exit, and
//! the child exits 0. SIGTERM ends the child at once.

mod jobs;
mod listener;

use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rhttpd_sys::signals::SignalPipe;

use super::child::{CellObserver, ChildContext};
use super::worker_child::WithStackSize;
use crate::log::{self, Level};
use crate::scoreboard::WorkerStatus;
use jobs::Jobs;
use listener::Listener;
use rhttpd_sys::sig;

/// The event child's life; returns its exit status.
pub fn run(ctx: ChildContext<'_>) -> i32 {
    if let Err(code) = super::child::child_prologue(ctx.scoreboard, &ctx.drop_to, true) {
        return code;
    }
    let Ok(sigs) = SignalPipe::new(&[sig::USR1]) else {
        return 7;
    };
    let Ok((wake_tx, wake_rx)) = UnixStream::pair() else {
        return 7;
    };
    let _ = wake_rx.set_nonblocking(true);
    let _ = wake_tx.set_nonblocking(true);
    let stopping = AtomicBool::new(false);
    let jobs = Jobs::new(wake_tx);
    let sb = ctx.scoreboard;
    let slot = ctx.slot;
    let threads = ctx.threads.min(sb.thread_limit());
    crate::conn::h2::set_thread_limit(crate::conf::h2::stream_threads(&ctx.site.cfg, threads));
    let pid = rhttpd_sys::process::getpid();
    std::thread::scope(|scope| {
        for t in 0..threads {
            let jobs = &jobs;
            let stopping = &stopping;
            let site = ctx.site;
            let generation = ctx.generation;
            let spawned = std::thread::Builder::new()
                .name(format!("worker-{t}"))
                .with_stack_size(ctx.stack_size())
                .spawn_scoped(scope, move || {
                    let cell = sb.worker(slot, t);
                    cell.claim(pid, rhttpd_sys::process::gettid(), generation);
                    let mut scratch = vec![0u8; 16 * 1024];
                    loop {
                        cell.set_status(WorkerStatus::Ready);
                        let Some(mut conn) = jobs.take() else {
                            break;
                        };
                        let mut obs = CellObserver {
                            cell: sb.worker(slot, t),
                            stopping,
                            see_request_tail: site.cfg.see_request_tail,
                        };
                        let next = crate::conn::readiness::serve_available(
                            &mut conn,
                            site,
                            &mut obs,
                            &mut scratch,
                        );
                        jobs.give_back(conn, next);
                    }
                    cell.set_status(WorkerStatus::Dead);
                });
            if spawned.is_err() {
                log::log(
                    "mpm_event",
                    Level::Alert,
                    None,
                    "AH00480: apr_thread_create: unable to create worker thread",
                );
                jobs.close();
                return 7;
            }
        }
        let listener = {
            let ctx = &ctx;
            let jobs = &jobs;
            let stopping = &stopping;
            let wake_rx = &wake_rx;
            std::thread::Builder::new()
                .name("listener".into())
                .with_stack_size(ctx.stack_size())
                .spawn_scoped(scope, move || {
                    match Listener::new(ctx, jobs, stopping, wake_rx) {
                        Ok(mut l) => l.run(),
                        Err(e) => log::log(
                            "mpm_event",
                            Level::Emerg,
                            None,
                            &format!("AH00471: Couldn't create the pollset: {e}"),
                        ),
                    }
                    stopping.store(true, Ordering::Relaxed);
                    jobs.close();
                })
        };
        if listener.is_err() {
            jobs.close();
            return 7;
        }
        loop {
            let got = sigs.wait(Duration::from_millis(500)).unwrap_or_default();
            if got.contains(&sig::USR1) || stopping.load(Ordering::Relaxed) {
                stopping.store(true, Ordering::Relaxed);
                jobs.wake();
                break;
            }
        }
        0
    })
}
