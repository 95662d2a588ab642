//! The one parent loop of every MPM (prefork, worker, event), generic over [`Mpm`]: what
//! differs between MPMs (settings, what a unit of idleness is, the child's entry point,
//! the AH numbers) is a parameter, as nginx's master cycle takes its process type.
//!
//! **Processes and threads.** The parent parses the configuration, binds the listeners,
//! creates the scoreboard, forks the children and then only supervises: it never serves
//! a request, never starts a thread and never builds a runtime (so `fork` stays well
//! defined).
//!
//! **Sockets.** The listeners are bound once (`parent::start`) and kept across restarts;
//! children inherit them. A restart binds new `Listen` addresses and closes removed ones
//! (`parent::rebind`); a socket that stays is never closed, so no connection waiting in
//! its backlog is lost.
//!
//! **Shared memory.** The scoreboard, ServerLimit × ThreadLimit cells (prefork: one per
//! slot), created before the first fork. The parent writes a slot's pid and generation
//! when it forks into it, the global generations and restart time, and its own CPU time
//! once a second; children write their cells. The parent reads a snapshot for
//! maintenance.
//!
//! **The cycle.** Signal handlers only write to a self-pipe; the loop waits on it for at
//! most a second and turns what arrived into requests (TERM/INT stop, WINCH graceful
//! stop, HUP restart, USR1 graceful restart), then:
//! 1. reaps exited children: logs the exit (`common::log_child_exit`), frees the slot;
//!    after a graceful restart forks the next new child into it (1-for-1); a child of
//!    the running generation killed by a signal nobody sent is replaced at once, but
//!    only three times in a row (then "children are killed successively!" every 10th);
//! 2. once a second: publishes the parent's CPU time; if no child was reaped in this
//!    pass, the crash count starts over and either the children still owed by a
//!    graceful restart are forked, or idle-server maintenance runs
//!    (`maintain::plan`: fork 1, 2, 4 … 32 per second below the minimum of spare
//!    units, stop one child per second above the maximum).
//!
//! **Graceful restart (USR1)**, step by step:
//! 1. Re-read and check the configuration. If it is bad (or names another MPM), log why
//!    and keep serving with the running one (Apache's parent exits here).
//! 2. Apply the new MPM settings, keeping ServerLimit/ThreadLimit (they sized the
//!    scoreboard; AH00179/AH00304/AH00309/AH00501/AH00506); rebind; build the new
//!    generation (logs reopened, handlers, banner).
//! 3. Every old child is marked stopping and gets SIGUSR1: it finishes what it is
//!    serving (answered `Connection: close`) and exits. Exponential spawning is held
//!    off for 10 maintenance passes.
//! 4. generation += 1 in the scoreboard; StartServers new children are forked into the
//!    free slots at once, the rest 1-for-1 as old children exit or all together at the
//!    first second without an exit.
//!
//! **Restart (HUP):** as a graceful restart, but the old children are stopped as TERM
//! does and the scoreboard is cleared before StartServers new children are forked.
//! **Graceful stop (WINCH):** pid file removed, listeners closed, SIGUSR1 to every child,
//! wait until all exit or GracefulShutdownTimeout passes (0 = forever) or TERM arrives,
//! then stop the rest as TERM does. **Stop (TERM):** SIGTERM to every child, escalating
//! to SIGKILL after 9 s (`common::reclaim`), pid file removed.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rhttpd_sys::ChildExit;
use rhttpd_sys::process::{Forked, exit_now, fork, reap_nohang, send_signal};
use rhttpd_sys::sig;

use super::child::ChildContext;
use super::common::{log_child_exit, reclaim};
use super::maintain::{self, ChildView, Limits, Notice};
use super::messages::Messages;
use super::parent::{self, Started};
use crate::conf::{LoadOptions, MpmKind, ServerConfig};
use crate::handler::Handler;
use crate::log::{self, Level};
use crate::pidfile;
use crate::scoreboard::{Scoreboard, ScoreboardSnapshot, WorkerStatus, now_micros};

/// What the parent loop reads from an MPM's settings.
#[derive(Clone, Copy, Debug)]
pub struct Sizing {
    /// Scoreboard slots (ServerLimit); cannot change on restart.
    pub server_limit: usize,
    /// Scoreboard cells per slot (ThreadLimit; prefork 1); cannot change on restart.
    pub thread_limit: usize,
    /// Worker threads per child (prefork 1).
    pub threads_per_child: usize,
    pub start_servers: usize,
    /// 0 = never recycle.
    pub max_connections_per_child: u64,
    /// event only: AsyncRequestWorkerFactor.
    pub async_factor: f64,
    pub graceful_shutdown_timeout: Duration,
    /// Spare units and limits for maintenance.
    pub limits: Limits,
}

/// One child's units in a scoreboard snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Units {
    pub idle: usize,
    pub active: usize,
    /// Not quiescing (event: nor refusing connections for overload): its idle units
    /// count as spare capacity.
    pub taking_connections: bool,
}

/// What makes an MPM: everything the parent loop does not do the same way for all.
pub trait Mpm {
    /// The MPM a restart must keep (AH00537 otherwise).
    const KIND: MpmKind;
    const MESSAGES: &'static Messages;
    /// Children run threads (log lines then carry a thread id).
    const THREADED: bool;
    type Settings;

    /// Read and clamp the MPM directives; the warnings to print (console form).
    fn settings(cfg: &ServerConfig) -> (Self::Settings, Vec<String>);
    /// On restart: keep what cannot change from `running`; the errors to log.
    fn keep_limits(next: &mut Self::Settings, running: &Self::Settings) -> Vec<String>;
    fn sizing(settings: &Self::Settings) -> Sizing;
    /// Why this configuration cannot run under this MPM (`None`: it can).
    fn refuse(_cfg: &ServerConfig) -> Option<String> {
        None
    }
    /// The handlers the MPM adds to the generation (mod_status's, described by the
    /// settings).
    fn handlers(
        cfg: &ServerConfig,
        scoreboard: &Scoreboard,
        settings: &Self::Settings,
    ) -> Vec<Arc<dyn Handler>>;
    /// Count the idle and active units of the child in `slot`.
    fn units(snap: &ScoreboardSnapshot, slot: usize, threads_per_child: usize) -> Units;
    /// A graceful restart tells the child in `slot` to stop (prefork shows it as `G`).
    fn mark_told_to_stop(_scoreboard: &Scoreboard, _slot: usize) {}
    /// The child's life after fork; returns its exit status.
    fn child_main(ctx: ChildContext<'_>) -> i32;
}

/// A live child, by pid.
#[derive(Clone, Copy, Debug)]
struct Child {
    slot: usize,
    generation: u64,
    /// Told to stop (maintenance, restart, graceful stop): not counted as spare.
    stopping: bool,
}

/// What the signals received since the last pass ask for.
#[derive(Clone, Copy, Debug, Default)]
struct Requests {
    stop: bool,
    graceful_stop: bool,
    restart: bool,
    graceful_restart: bool,
}

impl Requests {
    fn from_signals(got: &[i32]) -> Requests {
        Requests {
            stop: got.contains(&sig::TERM) || got.contains(&sig::INT),
            graceful_stop: got.contains(&sig::WINCH),
            restart: got.contains(&sig::HUP),
            graceful_restart: got.contains(&sig::USR1),
        }
    }
}

/// Crashes replaced at once before the parent waits for a quiet second.
const RESPAWNS_IN_A_ROW: u32 = 3;
/// Maintenance passes without exponential spawning after a graceful restart.
const HOLD_OFF_PASSES: u32 = 10;

struct Parent<'a, M: Mpm> {
    opts: &'a LoadOptions,
    settings: M::Settings,
    sizing: Sizing,
    started: Started,
    scoreboard: Scoreboard,
    generation: u64,
    children: HashMap<i32, Child>,
    maintenance: maintain::State,
    /// Since when (and for how many passes) the scoreboard has had no free slot: the
    /// condition is logged when it starts and when it ends.
    scoreboard_full: Option<(Instant, u64)>,
    /// Children still to start after a graceful restart: each old child that exits is
    /// replaced 1-for-1 in its slot, the rest start at the first quiet second.
    remaining_to_start: usize,
    /// Crash exits (death by a signal nobody sent) since the last quiet second.
    successive_kills: u32,
}

/// Run the server with MPM `M` until it is stopped. `opts` is how the configuration is
/// loaded again on restart.
pub fn run<M: Mpm>(opts: &LoadOptions, cfg: ServerConfig, foreground: bool) -> ExitCode {
    let (settings, warnings) = M::settings(&cfg);
    for w in &warnings {
        eprintln!("{w}");
    }
    if let Some(msg) = M::refuse(&cfg) {
        eprintln!("{msg}");
        return ExitCode::from(1);
    }
    if M::THREADED {
        log::set_threaded_mpm(true);
    }
    let sizing = M::sizing(&settings);
    let scoreboard = match Scoreboard::create(sizing.server_limit, sizing.thread_limit) {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "AH00004: Unable to create or access scoreboard (anonymous shared memory failure): {e}"
            );
            return ExitCode::from(1);
        }
    };
    let handlers = M::handlers(&cfg, &scoreboard, &settings);
    let started = match parent::start(cfg, foreground, handlers) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let g = scoreboard.global();
    g.set_restart_time(now_micros());
    g.set_parent_pid(rhttpd_sys::process::getpid());
    g.set_running_generation(0);
    g.set_config_generation(1);
    let pid_file = started.current.cfg.pid_file.clone();
    let mut p = Parent::<M> {
        opts,
        settings,
        sizing,
        started,
        scoreboard,
        generation: 0,
        children: HashMap::new(),
        maintenance: maintain::State::default(),
        scoreboard_full: None,
        remaining_to_start: 0,
        successive_kills: 0,
    };
    let msgs = M::MESSAGES;
    parent::log_started(msgs.module, msgs.started, &p.started.current.banner);
    p.start_children(p.sizing.start_servers);
    let code = p.main_loop();
    pidfile::remove(&pid_file);
    code
}

impl<M: Mpm> Parent<'_, M> {
    fn log(&self, level: Level, msg: &str) {
        log::log(M::MESSAGES.module, level, None, msg);
    }

    fn main_loop(&mut self) -> ExitCode {
        let mut last_tick = Instant::now();
        loop {
            let left = Duration::from_secs(1).saturating_sub(last_tick.elapsed());
            let got = self.started.sigs.wait(left).unwrap_or_default();
            let asked = Requests::from_signals(&got);
            if asked.stop {
                self.log(Level::Notice, M::MESSAGES.caught_sigterm);
                self.stop_all();
                return ExitCode::SUCCESS;
            }
            if asked.graceful_stop {
                self.graceful_stop();
                return ExitCode::SUCCESS;
            }
            if asked.restart {
                self.restart(false);
            } else if asked.graceful_restart {
                self.restart(true);
            }
            let reaped = self.reap();
            if last_tick.elapsed() >= Duration::from_secs(1) {
                last_tick = Instant::now();
                let cpu = rhttpd_sys::process::cpu_times();
                self.scoreboard.global().set_parent_cpu(&cpu);
                // Apache skips the pass on a second in which a child was reaped.
                if !reaped {
                    self.successive_kills = 0;
                    if self.remaining_to_start > 0 {
                        // After a graceful restart: start the rest at once, as Apache's
                        // startup_children, and skip maintenance this second.
                        let n = std::mem::take(&mut self.remaining_to_start);
                        self.start_children(n);
                    } else {
                        self.maintain();
                    }
                }
            }
        }
    }

    /// Reap exited children, replacing them where the rules say so; returns whether
    /// any was reaped.
    fn reap(&mut self) -> bool {
        let mut any = false;
        while let Some((pid, exit)) = reap_nohang() {
            any = true;
            let Some(c) = self.children.remove(&pid) else {
                // A piped logger or a child of an older parent life.
                continue;
            };
            log_child_exit(pid, exit, &self.started.current.cfg.server_root);
            self.free_slot(c.slot, pid);
            let usable = c.slot < self.sizing.limits.slots;
            let crashed = matches!(exit, ChildExit::Signaled { .. })
                && !c.stopping
                && c.generation == self.generation;
            if self.remaining_to_start > 0 && usable {
                // Graceful restart, first phase: 1-for-1 replacement of old children.
                self.remaining_to_start -= 1;
                self.spawn(c.slot);
            } else if crashed && usable {
                // A child of the running generation died by a signal nobody sent: its
                // connections are lost; replace it at once rather than waiting for spare
                // maintenance, unless children keep dying (then wait for a quiet second).
                self.successive_kills += 1;
                if self.successive_kills <= RESPAWNS_IN_A_ROW {
                    self.spawn(c.slot);
                } else if self.successive_kills.is_multiple_of(10) {
                    self.log(Level::Warn, M::MESSAGES.killed_successively);
                }
            }
        }
        any
    }

    fn free_slot(&self, slot: usize, pid: i32) {
        free_cells(&self.scoreboard, slot, pid);
    }

    fn spawn(&mut self, slot: usize) -> bool {
        let sb = &self.scoreboard;
        let threads = self.sizing.threads_per_child;
        sb.process(slot).reset_for_new_child(0, self.generation);
        for t in 0..threads {
            sb.worker(slot, t).set_status(WorkerStatus::Starting);
        }
        match fork() {
            Ok(Forked::Child) => {
                let code = M::child_main(ChildContext {
                    slot,
                    generation: self.generation,
                    threads,
                    listeners: &self.started.listeners,
                    scoreboard: &self.scoreboard,
                    site: &self.started.current,
                    max_connections: self.sizing.max_connections_per_child,
                    drop_to: self.started.drop_to.clone(),
                    async_factor: self.sizing.async_factor,
                });
                exit_now(code);
            }
            Ok(Forked::Parent { child }) => {
                sb.process(slot).reset_for_new_child(child, self.generation);
                self.children.insert(
                    child,
                    Child {
                        slot,
                        generation: self.generation,
                        stopping: false,
                    },
                );
                true
            }
            Err(e) => {
                for t in 0..threads {
                    sb.worker(slot, t).set_status(WorkerStatus::Dead);
                }
                self.log(Level::Error, &M::MESSAGES.fork_failed(&e));
                // Apache sleeps 10 s after a failed fork; so does rhttpd.
                std::thread::sleep(Duration::from_secs(10));
                false
            }
        }
    }

    /// Fork up to `n` children into free slots, lowest first; returns how many started.
    fn start_children(&mut self, n: usize) -> usize {
        let free: Vec<usize> = (0..self.sizing.limits.slots)
            .filter(|&s| !self.children.values().any(|c| c.slot == s))
            .take(n)
            .collect();
        let mut started = 0;
        for slot in free {
            if !self.spawn(slot) {
                break;
            }
            started += 1;
        }
        started
    }

    /// One idle-server maintenance pass: describe the children, let `maintain::plan`
    /// decide, carry it out.
    fn maintain(&mut self) {
        // TLS session ticket keys live in shared memory; only the parent rotates them.
        if let Some(tls) = &self.started.current.tls {
            tls.maintain();
        }
        let snap = self.scoreboard.snapshot();
        let tpc = self.sizing.threads_per_child;
        let views: Vec<ChildView> = self
            .children
            .iter()
            .map(|(&pid, c)| {
                let units = M::units(&snap, c.slot, tpc);
                ChildView {
                    pid,
                    slot: c.slot,
                    spare: c.generation == self.generation
                        && !c.stopping
                        && units.taking_connections,
                    idle: units.idle,
                    active: units.active,
                }
            })
            .collect();
        let plan = maintain::plan(&views, &self.sizing.limits, self.maintenance);
        self.maintenance = plan.next;
        let msgs = M::MESSAGES;
        let mut full_now = false;
        for notice in plan.notices {
            match notice {
                Notice::ReachedMax => self.log(Level::Error, msgs.reached_max),
                Notice::NearMax => {
                    self.log(Level::Error, msgs.near_max.unwrap_or(msgs.reached_max))
                }
                Notice::ScoreboardFull => {
                    // Once when it starts, once when it ends (below), not every pass.
                    if self.scoreboard_full.is_none() {
                        self.log(
                            Level::Error,
                            msgs.scoreboard_full.unwrap_or(msgs.reached_max),
                        );
                    }
                    self.scoreboard_full.get_or_insert((Instant::now(), 0)).1 += 1;
                    full_now = true;
                }
                Notice::Busy {
                    spawning,
                    idle,
                    total,
                } => self.log(Level::Info, &msgs.busy(spawning, idle, total)),
            }
        }
        if !full_now && let Some((since, passes)) = self.scoreboard_full.take() {
            self.log(
                Level::Notice,
                &format!(
                    "scoreboard no longer full: it was for {} s ({passes} maintenance passes)",
                    since.elapsed().as_secs()
                ),
            );
        }
        if let Some(pid) = plan.stop {
            if let Some(c) = self.children.get_mut(&pid) {
                c.stopping = true;
            }
            let _ = send_signal(pid, sig::USR1);
        }
        for slot in plan.spawn {
            if !self.spawn(slot) {
                break;
            }
        }
    }

    fn stop_all(&mut self) {
        let mut pids: HashMap<i32, usize> =
            self.children.iter().map(|(&p, c)| (p, c.slot)).collect();
        let sb = self.scoreboard.clone();
        reclaim(&mut pids, Some(sig::TERM), |pid, slot, _| {
            free_cells(&sb, slot, pid)
        });
        self.children.clear();
    }

    fn graceful_stop(&mut self) {
        pidfile::remove(&self.started.current.cfg.pid_file);
        self.log(Level::Notice, M::MESSAGES.caught_sigwinch);
        self.started.listeners.clear();
        self.remaining_to_start = 0;
        for (&pid, c) in self.children.iter_mut() {
            c.stopping = true;
            let _ = send_signal(pid, sig::USR1);
        }
        let timeout = self.sizing.graceful_shutdown_timeout;
        let start = Instant::now();
        while !self.children.is_empty() {
            if !timeout.is_zero() && start.elapsed() >= timeout {
                break;
            }
            let got = self
                .started
                .sigs
                .wait(Duration::from_millis(200))
                .unwrap_or_default();
            if Requests::from_signals(&got).stop {
                break;
            }
            // Every child is stopping and nothing remains to start: nothing respawns.
            self.reap();
        }
        self.stop_all();
    }

    /// Graceful (USR1) or hard (HUP) restart; a configuration that cannot be used is
    /// logged and the running one kept.
    fn restart(&mut self, graceful: bool) {
        let Some(cfg) = parent::reload(self.opts, M::KIND) else {
            return;
        };
        if let Some(msg) = M::refuse(&cfg) {
            log::log(
                "core",
                Level::Error,
                None,
                &format!("{msg}: restart refused"),
            );
            return;
        }
        let (mut settings, warnings) = M::settings(&cfg);
        for w in warnings {
            self.log(Level::Warn, &w);
        }
        for e in M::keep_limits(&mut settings, &self.settings) {
            self.log(Level::Error, &e);
        }
        if let Err(e) = parent::rebind(&mut self.started.listeners, &cfg) {
            log::log("core", Level::Error, None, &format!("{e}: restart refused"));
            return;
        }
        let handlers = M::handlers(&cfg, &self.scoreboard, &settings);
        let Some(next) = parent::next_generation(cfg, handlers) else {
            return;
        };
        if graceful {
            self.log(Level::Notice, M::MESSAGES.graceful_restart);
            for (&pid, c) in self.children.iter_mut() {
                c.stopping = true;
                M::mark_told_to_stop(&self.scoreboard, c.slot);
                let _ = send_signal(pid, sig::USR1);
            }
            self.maintenance.hold_off = HOLD_OFF_PASSES;
        } else {
            self.log(Level::Notice, M::MESSAGES.sighup);
            self.stop_all();
            self.scoreboard.clear();
            let g = self.scoreboard.global();
            g.set_restart_time(now_micros());
            g.set_parent_pid(rhttpd_sys::process::getpid());
        }
        self.generation += 1;
        self.sizing = M::sizing(&settings);
        self.settings = settings;
        self.started.current = next;
        let g = self.scoreboard.global();
        g.set_running_generation(self.generation);
        g.set_config_generation(g.config_generation() + 1);
        self.maintenance.spawn_rate = 1;
        let started = self.start_children(self.sizing.start_servers);
        self.remaining_to_start = if graceful {
            self.sizing.start_servers.saturating_sub(started)
        } else {
            0
        };
    }
}

/// The child `pid` left `slot`: free it and mark its cells Dead (unless another child
/// already took the slot).
fn free_cells(sb: &Scoreboard, slot: usize, pid: i32) {
    let p = sb.process(slot);
    if p.pid() == pid {
        p.mark_free();
        for t in 0..sb.thread_limit() {
            sb.worker(slot, t).set_status(WorkerStatus::Dead);
        }
    }
}
