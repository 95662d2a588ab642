//! The server process: `-k` signalling, listeners, the pid file, and the choice of how
//! to serve (one process for `-X`; the MPMs otherwise).

pub mod generation;
pub mod listeners;
pub mod one_process;
pub mod pidfile;

use std::process::ExitCode;

use crate::cli::{self, Args};

/// What `rhttpd` does when asked to run (no informational flag).
pub fn run(args: &Args) -> ExitCode {
    let cfg = match cli::load_or_report(args) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if let Some(action) = &args.signal {
        match pidfile::signal_action(&cfg, action) {
            pidfile::SignalOutcome::Done(code) => return code,
            pidfile::SignalOutcome::Start => {}
        }
    } else if let Some(pid) = pidfile::running_pid(&cfg) {
        // Apache: plain `httpd` (= -k start) when one is already running.
        println!("rhttpd (pid {pid}) already running");
        return ExitCode::SUCCESS;
    }
    one_process::run(args, cfg)
}
