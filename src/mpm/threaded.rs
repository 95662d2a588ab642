//! What the threaded MPMs (worker and event) add to the shared parent loop
//! (`parent_loop.rs`): their settings, their unit of idleness (a thread), their status
//! description, the refusal of thread-unsafe handlers, and their child entry points.
//!
//! **Processes and threads.** One parent that never serves, never starts a thread and
//! never builds a runtime; up to MaxRequestWorkers / ThreadsPerChild children (at most
//! ServerLimit), each with ThreadsPerChild worker threads and one listener thread
//! (worker_child.rs; the event child, event/, has its own listener). Spare capacity is
//! counted in idle *threads*: below MinSpareThreads the parent forks children (1, 2, 4
//! … 32 per second); above MaxSpareThreads it asks one child per second to stop
//! gracefully.
//!
//! **Sockets.** Listeners are bound once by the parent and inherited; children register
//! them EPOLLEXCLUSIVE in their listener thread's epoll set.
//!
//! **Shared memory.** The scoreboard, ServerLimit × ThreadLimit cells: the parent writes
//! a slot's pid/generation when it forks into it; each thread writes its own cell; a
//! child sets `quiescing` when it stops accepting (event also `not_accepting` while
//! overloaded); such a child's idle threads are not spare capacity.
//!
//! **Signals.** As `parent_loop.rs`: TERM/INT stop, USR1 graceful restart, HUP restart,
//! WINCH graceful stop; children get SIGUSR1 (graceful) or SIGTERM (now).
//!
//! **Graceful restart** and stops: the steps of `parent_loop.rs`. An old child's
//! listener stops, its threads finish their current requests and it exits; it keeps its
//! slot until then, so when every slot is taken maintenance logs "scoreboard is full"
//! (AH00288/AH03490) and waits. Messages: `messages::WORKER` and `messages::EVENT`.

use std::sync::Arc;

use super::child::ChildContext;
use super::maintain::Limits;
use super::messages::{self, Messages};
use super::parent_loop::{Mpm, Sizing, Units};
use super::settings::{Threaded, ThreadedSettings};
use crate::conf::{MpmKind, ServerConfig};
use crate::handler::Handler;
use crate::modules::status::{self, MpmInfo};
use crate::scoreboard::{Scoreboard, ScoreboardSnapshot, WorkerStatus};

/// The worker MPM, for `parent_loop::run::<Worker>`.
pub struct Worker;

/// The event MPM, for `parent_loop::run::<Event>`.
pub struct Event;

/// What tells worker and event apart in the parent; everything else they share.
pub trait Flavor {
    const KIND: MpmKind;
    const MESSAGES: &'static Messages;
    const WHICH: Threaded;
    /// The MPM's name on the status page.
    const NAME: &'static str;
    /// A child that turned its listeners off for overload (`not_accepting`, event
    /// only) offers no spare threads.
    const OVERLOAD_FLAG: bool;
    fn child_main(ctx: ChildContext<'_>) -> i32;
}

impl Flavor for Worker {
    const KIND: MpmKind = MpmKind::Worker;
    const MESSAGES: &'static Messages = &messages::WORKER;
    const WHICH: Threaded = Threaded::Worker;
    const NAME: &'static str = "worker";
    const OVERLOAD_FLAG: bool = false;
    fn child_main(ctx: ChildContext<'_>) -> i32 {
        super::worker_child::run(ctx)
    }
}

impl Flavor for Event {
    const KIND: MpmKind = MpmKind::Event;
    const MESSAGES: &'static Messages = &messages::EVENT;
    const WHICH: Threaded = Threaded::Event;
    const NAME: &'static str = "event";
    const OVERLOAD_FLAG: bool = true;
    fn child_main(ctx: ChildContext<'_>) -> i32 {
        super::event::run(ctx)
    }
}

impl<F: Flavor> Mpm for F {
    const KIND: MpmKind = F::KIND;
    const MESSAGES: &'static Messages = F::MESSAGES;
    const THREADED: bool = true;
    type Settings = ThreadedSettings;

    fn settings(cfg: &ServerConfig) -> (ThreadedSettings, Vec<String>) {
        ThreadedSettings::from_config(cfg, F::WHICH)
    }

    fn keep_limits(next: &mut ThreadedSettings, running: &ThreadedSettings) -> Vec<String> {
        next.keep_limits_of(running, F::WHICH)
    }

    fn sizing(s: &ThreadedSettings) -> Sizing {
        sizing(s)
    }

    fn refuse(cfg: &ServerConfig) -> Option<String> {
        thread_unsafe_handler(cfg)
    }

    fn handlers(
        cfg: &ServerConfig,
        scoreboard: &Scoreboard,
        s: &ThreadedSettings,
    ) -> Vec<Arc<dyn Handler>> {
        status_handlers(cfg, scoreboard, s, F::NAME, F::OVERLOAD_FLAG)
    }

    fn units(snap: &ScoreboardSnapshot, slot: usize, threads_per_child: usize) -> Units {
        thread_units(snap, slot, threads_per_child, F::OVERLOAD_FLAG)
    }

    fn child_main(ctx: ChildContext<'_>) -> i32 {
        F::child_main(ctx)
    }
}

fn sizing(s: &ThreadedSettings) -> Sizing {
    Sizing {
        server_limit: s.server_limit,
        thread_limit: s.thread_limit,
        threads_per_child: s.threads_per_child,
        start_servers: s.start_servers,
        max_connections_per_child: s.max_connections_per_child,
        async_factor: s.async_factor,
        graceful_shutdown_timeout: s.graceful_shutdown_timeout,
        limits: Limits {
            min_spare: s.min_spare_threads,
            max_spare: s.max_spare_threads,
            max_request_workers: s.max_request_workers,
            max_children: s.daemons_limit,
            slots: s.daemons_limit.min(s.server_limit),
            tells_limits_apart: true,
        },
    }
}

/// Idle threads are Dead (not started yet), Starting or Ready; active ones are neither
/// Dead, Starting nor Graceful.
fn thread_units(
    snap: &ScoreboardSnapshot,
    slot: usize,
    threads_per_child: usize,
    overload_counts: bool,
) -> Units {
    let process = &snap.processes[slot];
    let mut units = Units {
        idle: 0,
        active: 0,
        taking_connections: process.quiescing == 0 && !(overload_counts && process.not_accepting),
    };
    for t in 0..threads_per_child {
        let status = snap.worker(slot, t).status;
        if matches!(
            status,
            WorkerStatus::Dead | WorkerStatus::Starting | WorkerStatus::Ready
        ) {
            units.idle += 1;
        }
        if !matches!(
            status,
            WorkerStatus::Dead | WorkerStatus::Starting | WorkerStatus::Graceful
        ) {
            units.active += 1;
        }
    }
    units
}

/// The status page's handler when `status_module` is loaded, described from the
/// threaded settings.
fn status_handlers(
    cfg: &ServerConfig,
    scoreboard: &Scoreboard,
    settings: &ThreadedSettings,
    name: &'static str,
    is_async: bool,
) -> Vec<Arc<dyn Handler>> {
    let info = MpmInfo::new(
        name,
        settings.server_limit,
        settings.thread_limit,
        settings.threads_per_child,
        settings.max_request_workers,
        is_async,
    );
    status::handlers_for(cfg, scoreboard, info)
}

/// The startup error when the configuration loads a handler that is not thread-safe
/// (Apache's mod_php situation): worker and event refuse to run it.
fn thread_unsafe_handler(cfg: &ServerConfig) -> Option<String> {
    let probe = crate::pipeline::Handlers::new(crate::modules::dynamic_handlers(cfg));
    crate::modules::refuse_threaded(&probe)
}
