//! The server process: `-k` signalling, listeners, the pid file, and the choice of how
//! to serve (one process for `-X`; the MPMs otherwise).

pub mod listeners;
pub mod one_process;
pub mod pidfile;

use std::process::ExitCode;

use crate::cli::{self, Args};
use crate::conf::MpmKind;
use crate::mpm::prefork::Prefork;
use crate::mpm::threaded::{Event, Worker};

/// What `rhttpd` does when asked to run (no informational flag).
pub fn run(args: &Args) -> ExitCode {
    let cfg = match cli::load_or_report(args) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if let Some(action) = args.signal {
        match pidfile::signal_action(&cfg, action) {
            pidfile::SignalOutcome::Done(code) => return code,
            pidfile::SignalOutcome::Start => {}
        }
    } else if let Some(pid) = pidfile::running_pid(&cfg) {
        // Apache: plain `httpd` (= -k start) when one is already running.
        println!("rhttpd (pid {pid}) already running");
        return ExitCode::SUCCESS;
    }
    // How the configuration was found, for the restarts: below this point nothing sees
    // the command line.
    let opts = cli::load_options(args);
    if args.one_process {
        return one_process::run(&opts, cfg);
    }
    // Apache detaches unless told not to; the embedded default configuration is a
    // development setup and stays in the foreground, logging to the terminal.
    let foreground = args
        .defines
        .iter()
        .any(|d| d == "FOREGROUND" || d == "NO_DETACH")
        || opts.embedded.is_some();
    // apachectl runs `ulimit -n` at its maximum before starting httpd; do the same, so
    // that an event child can hold thousands of idle connections.
    let _ = rhttpd_sys::limits::raise_nofile_limit();
    // No MPM loaded: event, the default MPM of Apache's own build (and of `-V`).
    match cfg.mpm.unwrap_or(MpmKind::Event) {
        MpmKind::Prefork => crate::mpm::run::<Prefork>(&opts, cfg, foreground),
        MpmKind::Worker => crate::mpm::run::<Worker>(&opts, cfg, foreground),
        MpmKind::Event => crate::mpm::run::<Event>(&opts, cfg, foreground),
    }
}
