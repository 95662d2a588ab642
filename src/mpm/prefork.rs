//! The prefork MPM.
//!
//! **Processes and threads.** One parent and N single-threaded children. The parent
//! parses the configuration, binds the listeners, creates the scoreboard, forks, and
//! then only supervises: it never serves a request, never starts a thread and never
//! builds a runtime (so `fork` stays well defined). N moves between MinSpareServers and
//! MaxSpareServers idle children, capped by MaxRequestWorkers.
//!
//! **Sockets.** The parent binds every `Listen` socket once and keeps it open for its
//! whole life, across restarts; children inherit them. A child waits in its own epoll
//! set (listeners registered EPOLLEXCLUSIVE: one connection wakes one idle child, so
//! there is no accept mutex and no thundering herd), accepts one connection and serves
//! it to the end, keep-alive included.
//!
//! **Shared memory.** The scoreboard (anonymous MAP_SHARED, created before the first
//! fork, sized by ServerLimit): per slot the child's pid and generation (written by the
//! parent when it forks into the slot) and its one worker cell (status letter, counters,
//! client, vhost, request line; written only by that child). The parent reads it to
//! count idle children; mod_status reads it for the page.
//!
//! **Signals.** Parent: TERM/INT stop, USR1 graceful restart, HUP restart, WINCH
//! graceful stop; handlers only write to a self-pipe the 1-second loop waits on. Child:
//! USR1 = finish the current connection (answered `Connection: close`) then exit; TERM
//! and HUP = exit now.
//!
//! **Graceful restart (USR1)**, step by step:
//! 1. Re-read and check the configuration. If it is bad, log why and keep serving with
//!    the running one (Apache's parent exits here).
//! 2. Build the new generation (logs reopened, handlers, banner); bind any new `Listen`
//!    address, close removed ones; sockets that stay are never closed, so no connection
//!    waiting in a backlog is lost.
//! 3. generation += 1 in the scoreboard; every old child gets SIGUSR1 and its cell `G`:
//!    idle ones exit at once, busy ones after the request in flight.
//! 4. StartServers new children are forked at once with the new configuration; the old
//!    children's slots come back as they exit. Exponential spawning is held off for 10
//!    passes.
//!
//! **Graceful stop (WINCH):** pid file removed, listeners closed, SIGUSR1 to every child,
//! wait until all exit or GracefulShutdownTimeout passes (0 = forever), then stop the
//! rest as TERM does. **Stop (TERM):** SIGTERM to every child, escalating to SIGKILL after
//! 9 s (common::reclaim), pid file removed.

use std::collections::HashMap;
use std::net::TcpListener;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rhttpd_sys::process::{Forked, exit_now, fork, reap_nohang, send_signal};
use rhttpd_sys::signals::SignalPipe;

use super::common::{log_child_exit, reclaim};
use super::parent::{self, Started};
use super::prefork_child::{self, ChildContext};
use super::settings::{MAX_SPAWN_RATE, PreforkSettings};
use crate::cli::Args;
use crate::conf::ServerConfig;
use crate::log::{self, Level};
use crate::modules::status::{self, MpmInfo};
use crate::scoreboard::{Scoreboard, WorkerStatus, now_micros};
use crate::server::pidfile;
use crate::site::Site;
use rhttpd_sys::sig;

/// A live child, by pid.
#[derive(Clone, Copy, Debug)]
struct Child {
    slot: usize,
    generation: u64,
    /// Told to stop (maintenance kill or restart): no longer counted as a spare.
    stopping: bool,
}

struct Parent<'a> {
    args: &'a Args,
    settings: PreforkSettings,
    listeners: Vec<TcpListener>,
    scoreboard: Scoreboard,
    current: Arc<Site>,
    generation: u64,
    children: HashMap<i32, Child>,
    spawn_rate: usize,
    hold_off: u32,
    reached_max_logged: bool,
    drop_to: Option<(String, String)>,
}

/// Run the server with the prefork MPM until it is stopped.
pub fn run(args: &Args, cfg: ServerConfig, foreground: bool) -> ExitCode {
    let (settings, warnings) = PreforkSettings::from_config(&cfg);
    for w in &warnings {
        eprintln!("{w}");
    }
    let scoreboard = match Scoreboard::create(settings.server_limit, 1) {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "AH00004: Unable to create or access scoreboard (anonymous shared memory failure): {e}"
            );
            return ExitCode::from(1);
        }
    };
    let mpm_info = MpmInfo::prefork(settings.server_limit, settings.max_request_workers);
    let extra = status::handlers_for(&cfg, &scoreboard, mpm_info);
    let Started {
        listeners,
        current,
        sigs,
        drop_to,
    } = match parent::start(cfg, foreground, extra) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let pid_file = current.cfg.pid_file.clone();
    let g = scoreboard.global();
    g.set_restart_time(now_micros());
    g.set_parent_pid(rhttpd_sys::process::getpid());
    g.set_running_generation(0);
    g.set_config_generation(1);
    let mut p = Parent {
        args,
        settings,
        listeners,
        scoreboard,
        current,
        generation: 0,
        children: HashMap::new(),
        spawn_rate: 1,
        hold_off: 0,
        reached_max_logged: false,
        drop_to,
    };
    parent::log_started("mpm_prefork", "AH00163", &p.current.banner);
    p.start_children(p.settings.start_servers);
    let code = p.main_loop(&sigs);
    pidfile::remove(&pid_file);
    code
}

impl Parent<'_> {
    fn main_loop(&mut self, sigs: &SignalPipe) -> ExitCode {
        let mut last_maintenance = Instant::now();
        loop {
            let left = Duration::from_secs(1).saturating_sub(last_maintenance.elapsed());
            let got = sigs.wait(left).unwrap_or_default();
            if got.contains(&sig::TERM) || got.contains(&sig::INT) {
                log::log(
                    "mpm_prefork",
                    Level::Notice,
                    None,
                    "AH00169: caught SIGTERM, shutting down",
                );
                self.stop_all();
                return ExitCode::SUCCESS;
            }
            if got.contains(&sig::WINCH) {
                self.graceful_stop(sigs);
                return ExitCode::SUCCESS;
            }
            if got.contains(&sig::HUP) {
                self.restart(false);
            } else if got.contains(&sig::USR1) {
                self.restart(true);
            }
            let reaped = self.reap();
            if last_maintenance.elapsed() >= Duration::from_secs(1) {
                last_maintenance = Instant::now();
                let cpu = rhttpd_sys::process::cpu_times();
                self.scoreboard.global().set_parent_cpu(&cpu);
                // Apache skips maintenance on a pass where a child was reaped.
                if !reaped {
                    self.maintain();
                }
            }
        }
    }

    /// Reap exited children; returns whether any was.
    fn reap(&mut self) -> bool {
        let mut any = false;
        while let Some((pid, exit)) = reap_nohang() {
            any = true;
            match self.children.remove(&pid) {
                Some(c) => {
                    log_child_exit(pid, exit, &self.current.cfg.server_root);
                    self.free_slot(c.slot, pid);
                }
                None => {
                    // A piped logger or a child of an older parent life.
                }
            }
        }
        any
    }

    fn free_slot(&self, slot: usize, pid: i32) {
        let proc_ = self.scoreboard.process(slot);
        if proc_.pid() == pid {
            proc_.mark_free();
            self.scoreboard
                .worker(slot, 0)
                .set_status(WorkerStatus::Dead);
        }
    }

    fn slot_in_use(&self, slot: usize) -> bool {
        self.children.values().any(|c| c.slot == slot)
    }

    fn spawn(&mut self, slot: usize) -> bool {
        let sb = &self.scoreboard;
        sb.process(slot).reset_for_new_child(0, self.generation);
        sb.worker(slot, 0).set_status(WorkerStatus::Starting);
        match fork() {
            Ok(Forked::Child) => {
                let code = prefork_child::run(ChildContext {
                    slot,
                    generation: self.generation,
                    listeners: &self.listeners,
                    scoreboard: &self.scoreboard,
                    site: &self.current,
                    max_connections: self.settings.max_connections_per_child,
                    drop_to: self.drop_to.clone(),
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
                sb.worker(slot, 0).set_status(WorkerStatus::Dead);
                log::log(
                    "mpm_prefork",
                    Level::Error,
                    None,
                    &format!("AH00159: fork: Unable to fork new process: {e}"),
                );
                // Apache sleeps 10 s after a failed fork; so does rhttpd.
                std::thread::sleep(Duration::from_secs(10));
                false
            }
        }
    }

    fn free_slots(&self, want: usize) -> Vec<usize> {
        (0..self
            .settings
            .max_request_workers
            .min(self.settings.server_limit))
            .filter(|&s| !self.slot_in_use(s))
            .take(want)
            .collect()
    }

    fn start_children(&mut self, n: usize) {
        for slot in self.free_slots(n) {
            if !self.spawn(slot) {
                break;
            }
        }
    }

    /// Apache's perform_idle_server_maintenance for prefork.
    fn maintain(&mut self) {
        let snap = self.scoreboard.snapshot();
        let idle: Vec<(i32, usize)> = self
            .children
            .iter()
            .filter(|(_, c)| c.generation == self.generation && !c.stopping)
            .filter(|(_, c)| {
                matches!(
                    snap.worker(c.slot, 0).status,
                    WorkerStatus::Starting | WorkerStatus::Ready
                )
            })
            .map(|(&pid, c)| (pid, c.slot))
            .collect();
        if idle.len() > self.settings.max_spare {
            // One per pass: the idle child in the highest slot.
            if let Some(&(pid, _)) = idle.iter().max_by_key(|(_, slot)| *slot) {
                if let Some(c) = self.children.get_mut(&pid) {
                    c.stopping = true;
                }
                let _ = send_signal(pid, sig::USR1);
            }
            self.spawn_rate = 1;
        } else if idle.len() < self.settings.min_spare {
            let free = self.free_slots(self.spawn_rate);
            if free.is_empty() {
                if !self.reached_max_logged {
                    log::log(
                        "mpm_prefork",
                        Level::Error,
                        None,
                        "AH00161: server reached MaxRequestWorkers setting, consider raising the MaxRequestWorkers setting",
                    );
                    self.reached_max_logged = true;
                }
                self.spawn_rate = 1;
            } else {
                if self.spawn_rate >= 8 {
                    log::log(
                        "mpm_prefork",
                        Level::Info,
                        None,
                        &format!(
                            "AH00162: server seems busy, (you may need to increase StartServers, or Min/MaxSpareServers), spawning {} children, there are {} idle, and {} total children",
                            free.len(),
                            idle.len(),
                            self.children.len()
                        ),
                    );
                }
                for slot in free {
                    if !self.spawn(slot) {
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

    fn pid_slots(&self) -> HashMap<i32, usize> {
        self.children.iter().map(|(&p, c)| (p, c.slot)).collect()
    }

    fn stop_all(&mut self) {
        let mut pids = self.pid_slots();
        let sb = self.scoreboard.clone();
        reclaim(&mut pids, Some(sig::TERM), |pid, slot, _| {
            if sb.process(slot).pid() == pid {
                sb.process(slot).mark_free();
                sb.worker(slot, 0).set_status(WorkerStatus::Dead);
            }
        });
        self.children.clear();
    }

    fn graceful_stop(&mut self, sigs: &SignalPipe) {
        pidfile::remove(&self.current.cfg.pid_file);
        log::log(
            "mpm_prefork",
            Level::Notice,
            None,
            "AH00170: caught SIGWINCH, shutting down gracefully",
        );
        self.listeners.clear();
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
            let got = sigs.wait(Duration::from_millis(200)).unwrap_or_default();
            if got.contains(&sig::TERM) || got.contains(&sig::INT) {
                break;
            }
            self.reap();
        }
        self.stop_all();
    }

    /// Graceful (USR1) or hard (HUP) restart.
    fn restart(&mut self, graceful: bool) {
        let Some(cfg) = parent::reload(self.args, crate::conf::MpmKind::Prefork) else {
            return;
        };
        let (mut settings, warnings) = PreforkSettings::from_config(&cfg);
        for w in warnings {
            log::log("mpm_prefork", Level::Warn, None, &w);
        }
        if settings.server_limit != self.settings.server_limit {
            log::log(
                "mpm_prefork",
                Level::Error,
                None,
                &format!(
                    "AH00179: changing ServerLimit to {} from original value of {} not allowed during restart",
                    settings.server_limit, self.settings.server_limit
                ),
            );
            settings.server_limit = self.settings.server_limit;
            settings.max_request_workers = settings.max_request_workers.min(settings.server_limit);
        }
        if let Err(e) = parent::rebind(&mut self.listeners, &cfg) {
            log::log("core", Level::Error, None, &format!("{e}: restart refused"));
            return;
        }
        let mpm_info = MpmInfo::prefork(settings.server_limit, settings.max_request_workers);
        let extra = status::handlers_for(&cfg, &self.scoreboard, mpm_info);
        let Some(next) = parent::next_generation(cfg, extra) else {
            return;
        };
        if graceful {
            log::log(
                "mpm_prefork",
                Level::Notice,
                None,
                "AH00171: Graceful restart requested, doing restart",
            );
            for (&pid, c) in self.children.iter_mut() {
                c.stopping = true;
                self.scoreboard
                    .worker(c.slot, 0)
                    .set_status(WorkerStatus::Graceful);
                let _ = send_signal(pid, sig::USR1);
            }
            self.hold_off = 10;
        } else {
            log::log(
                "mpm_prefork",
                Level::Notice,
                None,
                "AH00173: SIGHUP received.  Attempting to restart",
            );
            self.stop_all();
            self.scoreboard.clear();
            let g = self.scoreboard.global();
            g.set_restart_time(now_micros());
            g.set_parent_pid(rhttpd_sys::process::getpid());
        }
        self.generation += 1;
        self.settings = settings;
        self.current = next;
        let g = self.scoreboard.global();
        g.set_running_generation(self.generation);
        g.set_config_generation(g.config_generation() + 1);
        self.spawn_rate = 1;
        self.start_children(self.settings.start_servers);
    }
}
