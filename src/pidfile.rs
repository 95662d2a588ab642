//! PidFile handling and `-k start|stop|restart|graceful|graceful-stop`: the command line
//! rejects any other `-k` argument, and the config has been read and checked by the time
//! these run, so a bad config never signals anything.

use std::path::Path;
use std::process::ExitCode;

use crate::conf::ServerConfig;
use rhttpd_sys::sig;

/// The pid in the PidFile if that process is alive (and is not us, as Apache: in a
/// container the old pid may be our own).
pub fn running_pid(cfg: &ServerConfig) -> Option<i32> {
    let text = std::fs::read_to_string(&cfg.pid_file).ok()?;
    let pid: i32 = text.trim().parse().ok()?;
    (pid > 0 && pid != rhttpd_sys::process::getpid() && rhttpd_sys::process::process_alive(pid))
        .then_some(pid)
}

/// Write our pid (AH00098 when an old file is found).
pub fn write(path: &Path) -> std::io::Result<()> {
    if path.exists() {
        crate::log::log(
            "core",
            crate::log::Level::Warn,
            None,
            &format!(
                "AH00098: pid file {} overwritten -- Unclean shutdown of previous rhttpd run?",
                path.display()
            ),
        );
    }
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    // Written to a temporary name and renamed, so a reader (`-k`, a supervisor) never
    // sees a half-written file.
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, format!("{}\n", rhttpd_sys::process::getpid()))?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

pub fn remove(path: &Path) {
    if std::fs::remove_file(path).is_ok() {
        crate::log::log(
            "core",
            crate::log::Level::Info,
            None,
            &format!(
                "AH00096: removed PID file {} (pid={})",
                path.display(),
                rhttpd_sys::process::getpid()
            ),
        );
    }
}

/// A `-k` argument (Apache's `ap_mpm_rewrite_args` accepts exactly these).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignalAction {
    Start,
    Stop,
    Restart,
    Graceful,
    GracefulStop,
}

impl SignalAction {
    /// `None` for anything but `start|stop|restart|graceful|graceful-stop`.
    pub fn parse(arg: &str) -> Option<SignalAction> {
        Some(match arg {
            "start" => SignalAction::Start,
            "stop" => SignalAction::Stop,
            "restart" => SignalAction::Restart,
            "graceful" => SignalAction::Graceful,
            "graceful-stop" => SignalAction::GracefulStop,
            _ => return None,
        })
    }
}

pub enum SignalOutcome {
    /// Nothing more to do: exit with this code.
    Done(ExitCode),
    /// Go on and start the server (start, or restart/graceful of a stopped server).
    Start,
}

/// Apache's `ap_signal_server`.
pub fn signal_action(cfg: &ServerConfig, action: SignalAction) -> SignalOutcome {
    let pid = running_pid(cfg);
    let sig = match action {
        SignalAction::Start => {
            return match pid {
                Some(p) => {
                    println!("rhttpd (pid {p}) already running");
                    SignalOutcome::Done(ExitCode::SUCCESS)
                }
                None => SignalOutcome::Start,
            };
        }
        SignalAction::Stop => sig::TERM,
        SignalAction::Restart => sig::HUP,
        SignalAction::Graceful => sig::USR1,
        SignalAction::GracefulStop => sig::WINCH,
    };
    match pid {
        Some(p) => match rhttpd_sys::process::send_signal(p, sig) {
            Ok(()) => SignalOutcome::Done(ExitCode::SUCCESS),
            Err(e) => {
                eprintln!("rhttpd: could not send signal to pid {p}: {e}");
                SignalOutcome::Done(ExitCode::from(1))
            }
        },
        None => {
            if matches!(action, SignalAction::Restart | SignalAction::Graceful) {
                println!("rhttpd not running, trying to start");
                SignalOutcome::Start
            } else if cfg.pid_file.exists() {
                println!(
                    "rhttpd (pid {}?) not running",
                    std::fs::read_to_string(&cfg.pid_file)
                        .unwrap_or_default()
                        .trim()
                );
                SignalOutcome::Done(ExitCode::SUCCESS)
            } else {
                println!("rhttpd (no pid file) not running");
                SignalOutcome::Done(ExitCode::SUCCESS)
            }
        }
    }
}
