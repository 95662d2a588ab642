//! The parent of the threaded MPMs (worker and event).
//!
//! **Processes and threads.** One parent that never serves, never starts a thread and
//! never builds a runtime; up to MaxRequestWorkers / ThreadsPerChild children (at most
//! ServerLimit), each with ThreadsPerChild worker threads and one listener thread
//! (worker_child.rs; the event child has its own listener). Spare capacity is counted in
//! idle *threads*: below MinSpareThreads the parent forks children (1, 2, 4 … 32 per
//! second); above MaxSpareThreads it asks one child per second to stop gracefully.
//!
//! **Sockets.** Listeners are bound once by the parent and inherited; children register
//! them EPOLLEXCLUSIVE in their listener thread's epoll set.
//!
//! **Shared memory.** The scoreboard, ServerLimit × ThreadLimit cells: the parent writes
//! a slot's pid/generation when it forks into it; each thread writes its own cell; a
//! child sets `quiescing` when it stops accepting.
//!
//! **Signals.** As prefork: TERM/INT stop, USR1 graceful restart, HUP restart, WINCH
//! graceful stop; children get SIGUSR1 (graceful) or SIGTERM (now).
//!
//! **Graceful restart:** 1. re-read the configuration (bad → logged, old one keeps
//! serving); 2. new generation, listeners kept (new addresses bound, removed ones
//! closed); 3. generation += 1, SIGUSR1 to every old child: its listener stops, its
//! threads finish their current requests and it exits; 4. StartServers new children at
//! once into free slots. Old children keep their slots until they exit; when every slot
//! is taken maintenance logs "scoreboard is full" (AH00288/AH03490) and waits.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rhttpd_sys::ChildExit;
use rhttpd_sys::process::{Forked, exit_now, fork, reap_nohang, send_signal};

use super::common::{log_child_exit, reclaim};
use super::parent::{self, Started};
use super::settings::{MAX_SPAWN_RATE, Threaded, ThreadedSettings};
use super::worker_child::ChildContext;
use crate::cli::Args;
use crate::conf::{MpmKind, ServerConfig};
use crate::log::{self, Level};
use crate::modules::status::{self, MpmInfo};
use crate::scoreboard::{Scoreboard, WorkerStatus, now_micros};
use crate::server::pidfile;
use rhttpd_sys::sig;

/// The child entry point of a threaded MPM.
pub type ChildMain = fn(ChildContext<'_>) -> i32;

#[derive(Clone, Copy, Debug)]
struct Child {
    slot: usize,
    generation: u64,
    stopping: bool,
}

struct Parent<'a> {
    args: &'a Args,
    which: Threaded,
    child_main: ChildMain,
    settings: ThreadedSettings,
    started: Started,
    scoreboard: Scoreboard,
    generation: u64,
    children: HashMap<i32, Child>,
    spawn_rate: usize,
    hold_off: u32,
    /// AH00286 (no idle thread at MaxRequestWorkers) was logged: once per lifetime.
    reached_max_logged: bool,
    /// AH00287 (within MinSpareThreads of MaxRequestWorkers) was logged: once too.
    near_max_logged: bool,
    /// Children still to start after a graceful restart: each old child that exits
    /// is replaced 1-for-1 in its slot, the rest start at the first quiet second.
    remaining_to_start: usize,
    /// Crash exits (death by a signal nobody sent) since the last quiet second.
    successive_kills: u32,
}

fn module(which: Threaded) -> &'static str {
    match which {
        Threaded::Worker => "mpm_worker",
        Threaded::Event => "mpm_event",
    }
}

/// Run the server with a threaded MPM until it is stopped.
pub fn run(
    args: &Args,
    cfg: ServerConfig,
    foreground: bool,
    which: Threaded,
    child_main: ChildMain,
    handlers: fn(&ServerConfig, &Scoreboard) -> Vec<Arc<dyn crate::handler::Handler>>,
) -> ExitCode {
    let (settings, warnings) = ThreadedSettings::from_config(&cfg, which);
    for w in &warnings {
        eprintln!("{w}");
    }
    if let Some(msg) = thread_unsafe_handler(&cfg) {
        eprintln!("{msg}");
        return ExitCode::from(1);
    }
    log::set_threaded_mpm(true);
    let scoreboard = match Scoreboard::create(settings.server_limit, settings.thread_limit) {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "AH00004: Unable to create or access scoreboard (anonymous shared memory failure): {e}"
            );
            return ExitCode::from(1);
        }
    };
    let mut extra = handlers(&cfg, &scoreboard);
    extra.extend(status_handlers(&cfg, &scoreboard, &settings, which));
    let started = match parent::start(cfg, foreground, extra) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let g = scoreboard.global();
    g.set_restart_time(now_micros());
    g.set_parent_pid(rhttpd_sys::process::getpid());
    g.set_running_generation(0);
    g.set_config_generation(1);
    let pid_file = started.current.cfg.pid_file.clone();
    let mut p = Parent {
        args,
        which,
        child_main,
        settings,
        started,
        scoreboard,
        generation: 0,
        children: HashMap::new(),
        spawn_rate: 1,
        hold_off: 0,
        reached_max_logged: false,
        near_max_logged: false,
        remaining_to_start: 0,
        successive_kills: 0,
    };
    let ah = if which == Threaded::Worker {
        "AH00292"
    } else {
        "AH00489"
    };
    parent::log_started(module(which), ah, &p.started.current.banner);
    p.start_children(p.settings.start_servers, handlers);
    let code = p.main_loop(handlers);
    pidfile::remove(&pid_file);
    code
}

type HandlerFn = fn(&ServerConfig, &Scoreboard) -> Vec<Arc<dyn crate::handler::Handler>>;

impl Parent<'_> {
    fn main_loop(&mut self, handlers: HandlerFn) -> ExitCode {
        let mut last = Instant::now();
        loop {
            let left = Duration::from_secs(1).saturating_sub(last.elapsed());
            let got = self.started.sigs.wait(left).unwrap_or_default();
            if got.contains(&sig::TERM) || got.contains(&sig::INT) {
                let ah = if self.which == Threaded::Worker {
                    "AH00295"
                } else {
                    "AH00491"
                };
                log::log(
                    module(self.which),
                    Level::Notice,
                    None,
                    &format!("{ah}: caught SIGTERM, shutting down"),
                );
                self.stop_all();
                return ExitCode::SUCCESS;
            }
            if got.contains(&sig::WINCH) {
                self.graceful_stop();
                return ExitCode::SUCCESS;
            }
            if got.contains(&sig::HUP) {
                self.restart(false, handlers);
            } else if got.contains(&sig::USR1) {
                self.restart(true, handlers);
            }
            let reaped = self.reap(handlers);
            if last.elapsed() >= Duration::from_secs(1) {
                last = Instant::now();
                if !reaped {
                    self.successive_kills = 0;
                    if self.remaining_to_start > 0 {
                        // After a graceful restart: start the rest at once, as Apache's
                        // startup_children, and skip maintenance this tick.
                        let n = self.remaining_to_start;
                        self.remaining_to_start = 0;
                        self.start_children(n, handlers);
                    } else {
                        self.maintain(handlers);
                    }
                }
            }
        }
    }

    fn reap(&mut self, handlers: HandlerFn) -> bool {
        let mut any = false;
        while let Some((pid, exit)) = reap_nohang() {
            any = true;
            let Some(c) = self.children.remove(&pid) else {
                continue;
            };
            log_child_exit(pid, exit, &self.started.current.cfg.server_root);
            self.free_slot(c.slot, pid);
            let usable = c.slot < self.settings.daemons_limit.min(self.settings.server_limit);
            let crashed = matches!(exit, ChildExit::Signaled { .. })
                && !c.stopping
                && c.generation == self.generation;
            if self.remaining_to_start > 0 && usable {
                // Graceful restart, first phase: 1-for-1 replacement of old children.
                self.remaining_to_start -= 1;
                self.spawn(c.slot, handlers);
            } else if crashed && usable {
                // A child of the running generation died by a signal nobody sent: its
                // connections are lost; replace it at once rather than waiting for spare
                // maintenance, unless children keep dying (then wait for a quiet tick).
                self.successive_kills += 1;
                if self.successive_kills <= 3 {
                    self.spawn(c.slot, handlers);
                } else if self.successive_kills.is_multiple_of(10) {
                    let ah = if self.which == Threaded::Worker {
                        "AH10392"
                    } else {
                        "AH10393"
                    };
                    log::log(
                        module(self.which),
                        Level::Warn,
                        None,
                        &format!("{ah}: children are killed successively!"),
                    );
                }
            }
        }
        any
    }

    fn free_slot(&self, slot: usize, pid: i32) {
        let p = self.scoreboard.process(slot);
        if p.pid() == pid {
            p.mark_free();
            for t in 0..self.scoreboard.thread_limit() {
                self.scoreboard
                    .worker(slot, t)
                    .set_status(WorkerStatus::Dead);
            }
        }
    }

    fn free_slots(&self, want: usize) -> Vec<usize> {
        (0..self.settings.daemons_limit.min(self.settings.server_limit))
            .filter(|&s| !self.children.values().any(|c| c.slot == s))
            .take(want)
            .collect()
    }

    fn spawn(&mut self, slot: usize, handlers: HandlerFn) -> bool {
        let _ = handlers;
        let sb = &self.scoreboard;
        sb.process(slot).reset_for_new_child(0, self.generation);
        for t in 0..self.settings.threads_per_child {
            sb.worker(slot, t).set_status(WorkerStatus::Starting);
        }
        match fork() {
            Ok(Forked::Child) => {
                let code = (self.child_main)(ChildContext {
                    slot,
                    generation: self.generation,
                    threads: self.settings.threads_per_child,
                    listeners: &self.started.listeners,
                    scoreboard: &self.scoreboard,
                    site: &self.started.current,
                    max_connections: self.settings.max_connections_per_child,
                    drop_to: self.started.drop_to.clone(),
                    async_factor: self.settings.async_factor,
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
                for t in 0..self.settings.threads_per_child {
                    sb.worker(slot, t).set_status(WorkerStatus::Dead);
                }
                let ah = if self.which == Threaded::Worker {
                    "AH00283"
                } else {
                    "AH00481"
                };
                log::log(
                    module(self.which),
                    Level::Error,
                    None,
                    &format!("{ah}: fork: Unable to fork new process: {e}"),
                );
                std::thread::sleep(Duration::from_secs(10));
                false
            }
        }
    }

    /// Fork up to `n` children into free slots; returns how many were started.
    fn start_children(&mut self, n: usize, handlers: HandlerFn) -> usize {
        let mut started = 0;
        for slot in self.free_slots(n) {
            if !self.spawn(slot, handlers) {
                break;
            }
            started += 1;
        }
        started
    }

    /// Apache's perform_idle_server_maintenance for worker/event, counted in threads.
    fn maintain(&mut self, handlers: HandlerFn) {
        let snap = self.scoreboard.snapshot();
        let tpc = self.settings.threads_per_child;
        let mut idle = 0usize;
        let mut active = 0usize;
        let mut candidates: Vec<(usize, i32)> = Vec::new();
        for (&pid, c) in &self.children {
            if c.generation != self.generation || c.stopping {
                continue;
            }
            let proc_ = &snap.processes[c.slot];
            if proc_.quiescing != 0 || (self.which == Threaded::Event && proc_.not_accepting) {
                continue;
            }
            let mut child_idle = 0;
            for t in 0..tpc {
                let st = snap.worker(c.slot, t).status;
                if matches!(
                    st,
                    WorkerStatus::Dead | WorkerStatus::Starting | WorkerStatus::Ready
                ) {
                    child_idle += 1;
                }
                if !matches!(
                    st,
                    WorkerStatus::Dead | WorkerStatus::Starting | WorkerStatus::Graceful
                ) {
                    active += 1;
                }
            }
            idle += child_idle;
            candidates.push((c.slot, pid));
        }
        let m = module(self.which);
        if idle > self.settings.max_spare_threads {
            // One graceful stop per pass: the child in the highest slot.
            if let Some(&(_, pid)) = candidates.iter().max_by_key(|(slot, _)| *slot) {
                if let Some(c) = self.children.get_mut(&pid) {
                    c.stopping = true;
                }
                let _ = send_signal(pid, sig::USR1);
            }
            self.spawn_rate = 1;
        } else if idle < self.settings.min_spare_threads {
            let at_max = active >= self.settings.max_request_workers
                || candidates.len() >= self.settings.daemons_limit;
            let free = self.free_slots(self.spawn_rate);
            if at_max {
                let flag = if idle == 0 {
                    &mut self.reached_max_logged
                } else {
                    &mut self.near_max_logged
                };
                if !std::mem::replace(flag, true) {
                    let msg = match (self.which, idle == 0) {
                        (Threaded::Worker, true) => {
                            "AH00286: server reached MaxRequestWorkers setting, consider raising the MaxRequestWorkers setting"
                        }
                        (Threaded::Worker, false) => {
                            "AH00287: server is within MinSpareThreads of MaxRequestWorkers, consider raising the MaxRequestWorkers setting"
                        }
                        (Threaded::Event, true) => {
                            "AH00484: server reached MaxRequestWorkers setting, consider raising the MaxRequestWorkers setting"
                        }
                        (Threaded::Event, false) => {
                            "AH10159: server is within MinSpareThreads of MaxRequestWorkers, consider raising the MaxRequestWorkers setting"
                        }
                    };
                    log::log(m, Level::Error, None, msg);
                }
                self.spawn_rate = 1;
            } else if free.is_empty() {
                let msg = if self.which == Threaded::Worker {
                    "AH00288: scoreboard is full, not at MaxRequestWorkers"
                } else {
                    "AH03490: scoreboard is full, not at MaxRequestWorkers.Increase ServerLimit."
                };
                log::log(m, Level::Error, None, msg);
                self.spawn_rate = 1;
            } else {
                let room = self.settings.daemons_limit.saturating_sub(candidates.len());
                let n = free.len().min(room);
                if self.spawn_rate >= 8 {
                    let ah = if self.which == Threaded::Worker {
                        "AH00289"
                    } else {
                        "AH00486"
                    };
                    log::log(
                        m,
                        Level::Info,
                        None,
                        &format!(
                            "{ah}: server seems busy, (you may need to increase StartServers, ThreadsPerChild or Min/MaxSpareThreads), spawning {n} children, there are around {idle} idle threads, and {} total children",
                            self.children.len()
                        ),
                    );
                }
                for slot in free.into_iter().take(n) {
                    if !self.spawn(slot, handlers) {
                        break;
                    }
                }
                if self.hold_off > 0 {
                    self.hold_off -= 1;
                } else {
                    self.spawn_rate = (self.spawn_rate * 2).min(MAX_SPAWN_RATE);
                }
            }
        } else {
            self.spawn_rate = 1;
        }
    }

    fn stop_all(&mut self) {
        let mut pids: HashMap<i32, usize> =
            self.children.iter().map(|(&p, c)| (p, c.slot)).collect();
        let sb = self.scoreboard.clone();
        let tl = sb.thread_limit();
        reclaim(&mut pids, Some(sig::TERM), |pid, slot, _| {
            if sb.process(slot).pid() == pid {
                sb.process(slot).mark_free();
                for t in 0..tl {
                    sb.worker(slot, t).set_status(WorkerStatus::Dead);
                }
            }
        });
        self.children.clear();
    }

    fn graceful_stop(&mut self) {
        pidfile::remove(&self.started.current.cfg.pid_file);
        let ah = if self.which == Threaded::Worker {
            "AH00296"
        } else {
            "AH00492"
        };
        log::log(
            module(self.which),
            Level::Notice,
            None,
            &format!("{ah}: caught SIGWINCH, shutting down gracefully"),
        );
        self.started.listeners.clear();
        self.remaining_to_start = 0;
        for (&pid, c) in self.children.iter_mut() {
            c.stopping = true;
            let _ = send_signal(pid, sig::USR1);
        }
        let timeout = self.settings.graceful_shutdown_timeout;
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
            if got.contains(&sig::TERM) || got.contains(&sig::INT) {
                break;
            }
            // Every child is stopping and nothing remains to start: nothing respawns.
            self.reap(no_handlers);
        }
        self.stop_all();
    }

    fn restart(&mut self, graceful: bool, handlers: HandlerFn) {
        let kind = if self.which == Threaded::Worker {
            MpmKind::Worker
        } else {
            MpmKind::Event
        };
        let Some(cfg) = parent::reload(self.args, kind) else {
            return;
        };
        if let Some(msg) = thread_unsafe_handler(&cfg) {
            log::log(
                "core",
                Level::Error,
                None,
                &format!("{msg}: restart refused"),
            );
            return;
        }
        let (mut settings, warnings) = ThreadedSettings::from_config(&cfg, self.which);
        for w in warnings {
            log::log(module(self.which), Level::Warn, None, &w);
        }
        let m = module(self.which);
        if settings.server_limit != self.settings.server_limit {
            let ah = if self.which == Threaded::Worker {
                "AH00304"
            } else {
                "AH00501"
            };
            log::log(
                m,
                Level::Error,
                None,
                &format!(
                    "{ah}: changing ServerLimit to {} from original value of {} not allowed during restart",
                    settings.server_limit, self.settings.server_limit
                ),
            );
            settings.server_limit = self.settings.server_limit;
            settings.daemons_limit = settings.daemons_limit.min(settings.server_limit);
        }
        if settings.thread_limit != self.settings.thread_limit {
            let ah = if self.which == Threaded::Worker {
                "AH00309"
            } else {
                "AH00506"
            };
            log::log(
                m,
                Level::Error,
                None,
                &format!(
                    "{ah}: changing ThreadLimit to {} from original value of {} not allowed during restart",
                    settings.thread_limit, self.settings.thread_limit
                ),
            );
            settings.thread_limit = self.settings.thread_limit;
            settings.threads_per_child = settings.threads_per_child.min(settings.thread_limit);
        }
        if let Err(e) = parent::rebind(&mut self.started.listeners, &cfg) {
            log::log("core", Level::Error, None, &format!("{e}: restart refused"));
            return;
        }
        let mut extra = handlers(&cfg, &self.scoreboard);
        extra.extend(status_handlers(
            &cfg,
            &self.scoreboard,
            &settings,
            self.which,
        ));
        let Some(next) = parent::next_generation(cfg, extra) else {
            return;
        };
        if graceful {
            let ah = if self.which == Threaded::Worker {
                "AH00297"
            } else {
                "AH00493"
            };
            log::log(
                m,
                Level::Notice,
                None,
                &format!("{ah}: SIGUSR1 received.  Doing graceful restart"),
            );
            for (&pid, c) in self.children.iter_mut() {
                c.stopping = true;
                let _ = send_signal(pid, sig::USR1);
            }
            self.hold_off = 10;
        } else {
            let ah = if self.which == Threaded::Worker {
                "AH00298"
            } else {
                "AH00494"
            };
            log::log(
                m,
                Level::Notice,
                None,
                &format!("{ah}: SIGHUP received.  Attempting to restart"),
            );
            self.stop_all();
            self.scoreboard.clear();
            self.scoreboard.global().set_restart_time(now_micros());
            self.scoreboard
                .global()
                .set_parent_pid(rhttpd_sys::process::getpid());
        }
        self.generation += 1;
        self.settings = settings;
        self.started.current = next;
        let g = self.scoreboard.global();
        g.set_running_generation(self.generation);
        g.set_config_generation(g.config_generation() + 1);
        self.spawn_rate = 1;
        let started = self.start_children(self.settings.start_servers, handlers);
        self.remaining_to_start = if graceful {
            self.settings.start_servers.saturating_sub(started)
        } else {
            0
        };
    }
}

/// The status page's handler when `status_module` is loaded, described from the
/// threaded settings.
fn status_handlers(
    cfg: &ServerConfig,
    scoreboard: &Scoreboard,
    settings: &ThreadedSettings,
    which: Threaded,
) -> Vec<Arc<dyn crate::handler::Handler>> {
    let (name, is_async) = match which {
        Threaded::Worker => ("worker", false),
        Threaded::Event => ("event", true),
    };
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

/// Handlers a threaded MPM registers (none beyond the defaults yet).
pub fn no_handlers(_: &ServerConfig, _: &Scoreboard) -> Vec<Arc<dyn crate::handler::Handler>> {
    Vec::new()
}

/// The startup error when the configuration loads a handler that is not thread-safe
/// (Apache's mod_php situation): worker and event refuse to run it.
fn thread_unsafe_handler(cfg: &ServerConfig) -> Option<String> {
    let probe = crate::pipeline::Handlers::new(crate::modules::dynamic_handlers(cfg));
    crate::modules::refuse_threaded(&probe)
}
