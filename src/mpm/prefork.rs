//! The prefork MPM: what makes it prefork. The parent loop itself (signals, reaping,
//! maintenance, restarts, stops) is `parent_loop.rs`, shared with worker and event.
//!
//! **Processes and threads.** One parent and N single-threaded children
//! (prefork_child.rs), each serving one connection at a time. The parent never serves,
//! never starts a thread and never builds a runtime. N moves between MinSpareServers and
//! MaxSpareServers idle children, capped by MaxRequestWorkers: the unit of idleness is a
//! child whose one cell is Starting or Ready.
//!
//! **Sockets.** The parent binds every `Listen` socket once and keeps it open for its
//! whole life, across restarts; children inherit them. A child waits in its own epoll
//! set (listeners registered EPOLLEXCLUSIVE: one connection wakes one idle child, so
//! there is no accept mutex and no thundering herd), accepts one connection and serves
//! it to the end, keep-alive included.
//!
//! **Shared memory.** The scoreboard (anonymous MAP_SHARED, created before the first
//! fork, sized by ServerLimit × 1): per slot the child's pid and generation (written by
//! the parent when it forks into the slot) and its one worker cell (status letter,
//! counters, client, vhost, request line; written by that child, and set to `G` by the
//! parent when a graceful restart tells the child to stop). The parent reads it to count
//! idle children; mod_status reads it for the page.
//!
//! **Signals.** Parent: as `parent_loop.rs` (TERM/INT stop, USR1 graceful restart, HUP
//! restart, WINCH graceful stop). Child: USR1 = finish the current connection (answered
//! `Connection: close`) then exit; TERM and HUP = exit now.
//!
//! **Graceful restart (USR1)** and stops: the steps of `parent_loop.rs`; every old
//! child's cell turns `G`, idle children exit at once, busy ones after the request in
//! flight. Messages: AH00163 started, AH00169/AH00170 stop, AH00171/AH00173 restart,
//! AH00159 fork failed, AH00161 MaxRequestWorkers reached (once), AH00162 busy
//! (`messages::PREFORK`).

use std::sync::Arc;

use super::child::ChildContext;
use super::maintain::Limits;
use super::messages::{self, Messages};
use super::parent_loop::{Mpm, Sizing, Units};
use super::prefork_child;
use super::settings::PreforkSettings;
use crate::conf::{MpmKind, ServerConfig};
use crate::handler::Handler;
use crate::modules::status::{self, MpmInfo};
use crate::scoreboard::{Scoreboard, ScoreboardSnapshot, WorkerStatus};

/// The prefork MPM, for `parent_loop::run::<Prefork>`.
pub struct Prefork;

impl Mpm for Prefork {
    const KIND: MpmKind = MpmKind::Prefork;
    const MESSAGES: &'static Messages = &messages::PREFORK;
    const THREADED: bool = false;
    type Settings = PreforkSettings;

    fn settings(cfg: &ServerConfig) -> (PreforkSettings, Vec<String>) {
        PreforkSettings::from_config(cfg)
    }

    fn keep_limits(next: &mut PreforkSettings, running: &PreforkSettings) -> Vec<String> {
        next.keep_limits_of(running)
    }

    fn sizing(s: &PreforkSettings) -> Sizing {
        Sizing {
            server_limit: s.server_limit,
            thread_limit: 1,
            threads_per_child: 1,
            start_servers: s.start_servers,
            max_connections_per_child: s.max_connections_per_child,
            async_factor: 1.0,
            graceful_shutdown_timeout: s.graceful_shutdown_timeout,
            limits: Limits {
                min_spare: s.min_spare,
                max_spare: s.max_spare,
                max_request_workers: s.max_request_workers,
                max_children: s.max_request_workers,
                slots: s.max_request_workers.min(s.server_limit),
                tells_limits_apart: false,
            },
        }
    }

    fn handlers(
        cfg: &ServerConfig,
        scoreboard: &Scoreboard,
        s: &PreforkSettings,
    ) -> Vec<Arc<dyn Handler>> {
        let info = MpmInfo::prefork(s.server_limit, s.max_request_workers);
        status::handlers_for(cfg, scoreboard, info)
    }

    /// A child is one unit: idle while Starting (so the parent does not over-fork) or
    /// Ready.
    fn units(snap: &ScoreboardSnapshot, slot: usize, _threads_per_child: usize) -> Units {
        let status = snap.worker(slot, 0).status;
        Units {
            idle: usize::from(matches!(
                status,
                WorkerStatus::Starting | WorkerStatus::Ready
            )),
            active: usize::from(!matches!(
                status,
                WorkerStatus::Dead | WorkerStatus::Starting | WorkerStatus::Graceful
            )),
            taking_connections: true,
        }
    }

    fn mark_told_to_stop(scoreboard: &Scoreboard, slot: usize) {
        scoreboard
            .worker(slot, 0)
            .set_status(WorkerStatus::Graceful);
    }

    fn child_main(ctx: ChildContext<'_>) -> i32 {
        prefork_child::run(ctx)
    }
}
