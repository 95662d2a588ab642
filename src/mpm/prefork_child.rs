//! A prefork child: one process, one thread, one connection at a time.
//!
//! After fork the child resets the parent's signal handling, asks the kernel to TERM it
//! if the parent dies, drops privileges (User/Group, when started as root), marks its
//! scoreboard cell Ready and loops: wait in its own epoll set (the inherited listeners,
//! registered EPOLLEXCLUSIVE so one connection wakes one idle child, plus its signal
//! pipe), accept, serve the connection to its end with the blocking driver, repeat.
//!
//! It exits (status 0) when: the parent asks for a graceful stop (SIGUSR1: a connection
//! being served finishes its current request, answered with `Connection: close`);
//! MaxConnectionsPerChild connections were served; or the scoreboard's generation moved
//! on. SIGTERM and SIGHUP end it at once (default action), as in Apache.

use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rhttpd_sys::ListenPoll;
use rhttpd_sys::signals::{self, SignalPipe};

use super::child::{CellObserver, ChildContext};
use crate::conn;
use crate::log::{self, Level};
use crate::scoreboard::WorkerStatus;
use rhttpd_sys::sig;

/// The child's life; returns its exit status.
pub fn run(ctx: ChildContext<'_>) -> i32 {
    if let Err(code) = super::child::child_prologue(ctx.scoreboard, &ctx.drop_to, false) {
        return code;
    }
    let stopping = Arc::new(AtomicBool::new(false));
    let _ = signals::register_flag(sig::USR1, stopping.clone());
    let sigs = match SignalPipe::new(&[sig::USR1]) {
        Ok(s) => s,
        Err(_) => return 7, // APEXIT_CHILDSICK
    };
    let lfds: Vec<_> = ctx.listeners.iter().map(|l| l.as_fd()).collect();
    let poll = match ListenPoll::new(&lfds, &sigs.fds()) {
        Ok(p) => p,
        Err(e) => {
            log::log(
                "mpm_prefork",
                Level::Emerg,
                None,
                &format!("AH00143: Couldn't create the pollset: {e}"),
            );
            return 7;
        }
    };
    let pid = rhttpd_sys::process::getpid();
    let cell = ctx.scoreboard.worker(ctx.slot, 0);
    cell.claim(pid, rhttpd_sys::process::gettid(), ctx.generation);
    let n = ctx.listeners.len();
    let mut served: u64 = 0;
    loop {
        cell.set_status(WorkerStatus::Ready);
        if stopping.load(Ordering::Relaxed) {
            break;
        }
        if ctx.max_connections > 0 && served >= ctx.max_connections {
            break;
        }
        if ctx.scoreboard.global().running_generation() != ctx.generation {
            break;
        }
        crate::modules::file_cache::global().sweep();
        let ready = poll.wait(Duration::from_secs(1)).unwrap_or_default();
        if ready.iter().any(|&i| i >= n) {
            let _ = sigs.wait(Duration::ZERO);
        }
        // Try every listener that reported readiness; on a timeout try them all, so a
        // connection whose wake-up went to a child that has since exited is not left
        // waiting in the backlog.
        let candidates: Vec<usize> = if ready.is_empty() {
            (0..n).collect()
        } else {
            ready.iter().copied().filter(|&i| i < n).collect()
        };
        for i in candidates {
            let listener = &ctx.listeners[i];
            match listener.accept_client(false) {
                Ok((stream, client)) => {
                    served += 1;
                    let mut obs = CellObserver {
                        cell: ctx.scoreboard.worker(ctx.slot, 0),
                        stopping: &stopping,
                        see_request_tail: ctx.site.cfg.see_request_tail,
                    };
                    if let Ok(conn) =
                        listener.connection(stream, client, false, ctx.site.tls.as_ref())
                    {
                        conn::blocking::drive(conn, ctx.site, &mut obs);
                    }
                    break;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    if matches!(e.raw_os_error(), Some(24) | Some(23) | Some(105) | Some(12)) {
                        // EMFILE/ENFILE/ENOBUFS/ENOMEM: a resource shortage (CHILDSICK).
                        log::log(
                            "mpm_prefork",
                            Level::Error,
                            None,
                            &format!("AH02179: apr_socket_accept: {e}"),
                        );
                        return 7;
                    }
                }
            }
        }
    }
    cell.set_status(WorkerStatus::Graceful);
    0
}
