//! What running means: `-k` signalling through the pid file, and the choice of how to
//! serve (one process for `-X`; the MPM the configuration loads otherwise).

pub mod one_process;

use std::process::ExitCode;

use crate::conf::{LoadOptions, MpmKind, ServerConfig};
use crate::mpm::prefork::Prefork;
use crate::mpm::threaded::{Event, Worker};
use crate::pidfile::{self, SignalAction};

/// What the command line asked for, as far as running is concerned: below this point
/// nothing sees the command line.
pub struct RunRequest {
    /// How the configuration was found (re-read on restarts).
    pub load: LoadOptions,
    /// `-k start|stop|restart|graceful|graceful-stop`.
    pub signal: Option<SignalAction>,
    /// `-X`.
    pub one_process: bool,
    /// `-D FOREGROUND` / `-D NO_DETACH`, or the embedded development configuration.
    pub foreground: bool,
}

/// Run with the configuration `cfg` loaded as `req.load` says (no informational flag).
pub fn run(req: &RunRequest, cfg: ServerConfig) -> ExitCode {
    if let Some(action) = req.signal {
        match pidfile::signal_action(&cfg, action) {
            pidfile::SignalOutcome::Done(code) => return code,
            pidfile::SignalOutcome::Start => {}
        }
    } else if let Some(pid) = pidfile::running_pid(&cfg) {
        // Apache: plain `httpd` (= -k start) when one is already running.
        println!("rhttpd (pid {pid}) already running");
        return ExitCode::SUCCESS;
    }
    if req.one_process {
        return one_process::run(&req.load, cfg);
    }
    // apachectl runs `ulimit -n` at its maximum before starting httpd; do the same, so
    // that an event child can hold thousands of idle connections.
    let _ = rhttpd_sys::limits::raise_nofile_limit();
    // No MPM loaded: event, the default MPM of Apache's own build (and of `-V`).
    let opts = &req.load;
    let foreground = req.foreground;
    match cfg.mpm.unwrap_or(MpmKind::Event) {
        MpmKind::Prefork => crate::mpm::run::<Prefork>(opts, cfg, foreground),
        MpmKind::Worker => crate::mpm::run::<Worker>(opts, cfg, foreground),
        MpmKind::Event => crate::mpm::run::<Event>(opts, cfg, foreground),
    }
}
