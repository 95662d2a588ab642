//! The error-log messages of the MPM parents, one table per MPM, with Apache's AH
//! numbers (reference/apache-mpm.md §2, §3.6). The parent loop (`parent_loop.rs`) and
//! the maintenance plan (`maintain.rs`) are shared by every MPM; only this table says
//! which number and wording each MPM uses. Fixed messages are stored whole; messages
//! with values are stored as their AH number and built by the methods below.

/// What an MPM counts when it counts spare capacity, for the wording of its messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpareUnit {
    /// prefork: idle child processes.
    Process,
    /// worker and event: idle worker threads.
    Thread,
}

/// The messages one MPM's parent logs.
#[derive(Debug)]
pub struct Messages {
    /// The module named in the error log (`[mpm_prefork:notice]`).
    pub module: &'static str,
    /// AH number of "<banner> configured -- resuming normal operations".
    pub started: &'static str,
    pub caught_sigterm: &'static str,
    pub caught_sigwinch: &'static str,
    /// USR1: a graceful restart begins.
    pub graceful_restart: &'static str,
    /// HUP: a hard restart begins.
    pub sighup: &'static str,
    /// AH number of "fork: Unable to fork new process: <error>".
    pub fork_failed: &'static str,
    /// No room for another child at MaxRequestWorkers (once per lifetime).
    pub reached_max: &'static str,
    /// Fewer than MinSpareThreads idle at MaxRequestWorkers (once per lifetime). `None`:
    /// the MPM says `reached_max` for every way of running out of room (prefork).
    pub near_max: Option<&'static str>,
    /// Every slot taken though MaxRequestWorkers is not reached (every pass). `None`: as
    /// for `near_max`.
    pub scoreboard_full: Option<&'static str>,
    /// AH number of "server seems busy ... spawning N children" (rate >= 8).
    pub busy: &'static str,
    pub spare_unit: SpareUnit,
    /// AH number of "changing ServerLimit ... not allowed during restart".
    pub server_limit_kept: &'static str,
    /// AH number of "changing ThreadLimit ... not allowed during restart" (threaded).
    pub thread_limit_kept: &'static str,
    /// Crashed children are replaced at once only three times in a row; then this is
    /// logged every 10th crash. prefork has no Apache number for it.
    pub killed_successively: &'static str,
}

/// "AHnnnnn: text", or just the text when the MPM has no number for it.
fn numbered(ah: &str, text: &str) -> String {
    if ah.is_empty() {
        text.to_string()
    } else {
        format!("{ah}: {text}")
    }
}

impl Messages {
    pub fn fork_failed(&self, error: &std::io::Error) -> String {
        numbered(
            self.fork_failed,
            &format!("fork: Unable to fork new process: {error}"),
        )
    }

    pub fn busy(&self, spawning: usize, idle: usize, total: usize) -> String {
        match self.spare_unit {
            SpareUnit::Process => numbered(
                self.busy,
                &format!(
                    "server seems busy, (you may need to increase StartServers, or Min/MaxSpareServers), spawning {spawning} children, there are {idle} idle, and {total} total children"
                ),
            ),
            SpareUnit::Thread => numbered(
                self.busy,
                &format!(
                    "server seems busy, (you may need to increase StartServers, ThreadsPerChild or Min/MaxSpareThreads), spawning {spawning} children, there are around {idle} idle threads, and {total} total children"
                ),
            ),
        }
    }

    pub fn server_limit_kept(&self, wanted: usize, kept: usize) -> String {
        numbered(
            self.server_limit_kept,
            &format!(
                "changing ServerLimit to {wanted} from original value of {kept} not allowed during restart"
            ),
        )
    }

    pub fn thread_limit_kept(&self, wanted: usize, kept: usize) -> String {
        numbered(
            self.thread_limit_kept,
            &format!(
                "changing ThreadLimit to {wanted} from original value of {kept} not allowed during restart"
            ),
        )
    }
}

pub const PREFORK: Messages = Messages {
    module: "mpm_prefork",
    started: "AH00163",
    caught_sigterm: "AH00169: caught SIGTERM, shutting down",
    caught_sigwinch: "AH00170: caught SIGWINCH, shutting down gracefully",
    graceful_restart: "AH00171: Graceful restart requested, doing restart",
    sighup: "AH00173: SIGHUP received.  Attempting to restart",
    fork_failed: "AH00159",
    reached_max: "AH00161: server reached MaxRequestWorkers setting, consider raising the MaxRequestWorkers setting",
    near_max: None,
    scoreboard_full: None,
    busy: "AH00162",
    spare_unit: SpareUnit::Process,
    server_limit_kept: "AH00179",
    thread_limit_kept: "",
    killed_successively: "children are killed successively!",
};

pub const WORKER: Messages = Messages {
    module: "mpm_worker",
    started: "AH00292",
    caught_sigterm: "AH00295: caught SIGTERM, shutting down",
    caught_sigwinch: "AH00296: caught SIGWINCH, shutting down gracefully",
    graceful_restart: "AH00297: SIGUSR1 received.  Doing graceful restart",
    sighup: "AH00298: SIGHUP received.  Attempting to restart",
    fork_failed: "AH00283",
    reached_max: "AH00286: server reached MaxRequestWorkers setting, consider raising the MaxRequestWorkers setting",
    near_max: Some(
        "AH00287: server is within MinSpareThreads of MaxRequestWorkers, consider raising the MaxRequestWorkers setting",
    ),
    scoreboard_full: Some("AH00288: scoreboard is full, not at MaxRequestWorkers"),
    busy: "AH00289",
    spare_unit: SpareUnit::Thread,
    server_limit_kept: "AH00304",
    thread_limit_kept: "AH00309",
    killed_successively: "AH10392: children are killed successively!",
};

pub const EVENT: Messages = Messages {
    module: "mpm_event",
    started: "AH00489",
    caught_sigterm: "AH00491: caught SIGTERM, shutting down",
    caught_sigwinch: "AH00492: caught SIGWINCH, shutting down gracefully",
    graceful_restart: "AH00493: SIGUSR1 received.  Doing graceful restart",
    sighup: "AH00494: SIGHUP received.  Attempting to restart",
    fork_failed: "AH00481",
    reached_max: "AH00484: server reached MaxRequestWorkers setting, consider raising the MaxRequestWorkers setting",
    near_max: Some(
        "AH10159: server is within MinSpareThreads of MaxRequestWorkers, consider raising the MaxRequestWorkers setting",
    ),
    // Apache's text, missing space included.
    scoreboard_full: Some(
        "AH03490: scoreboard is full, not at MaxRequestWorkers.Increase ServerLimit.",
    ),
    busy: "AH00486",
    spare_unit: SpareUnit::Thread,
    server_limit_kept: "AH00501",
    thread_limit_kept: "AH00506",
    killed_successively: "AH10393: children are killed successively!",
};
