//! The child side every MPM shares: the one [`ChildContext`] a parent builds before it
//! forks (prefork, worker and event children all take it), the first steps of every
//! child after fork ([`child_prologue`]), and the [`CellObserver`] that keeps a worker
//! cell of the scoreboard up to date while a connection is served.

use crate::listen::Listener;
use std::sync::Arc;

use crate::log::{self, Level};
use crate::scoreboard::Scoreboard;
use crate::site::Site;
use rhttpd_sys::sig;

/// Everything a child needs, built by the parent before fork.
pub struct ChildContext<'a> {
    /// The scoreboard slot the parent forked the child into.
    pub slot: usize,
    /// The generation the child serves (the scoreboard's running generation at fork).
    pub generation: u64,
    /// Worker threads (ThreadsPerChild; 1 for prefork).
    pub threads: usize,
    pub listeners: &'a [Listener],
    pub scoreboard: &'a Scoreboard,
    pub site: &'a Arc<Site>,
    /// MaxConnectionsPerChild: connections to accept before exiting; 0 = never recycle.
    pub max_connections: u64,
    /// Resolved User/Group to switch to when running as root.
    pub drop_to: Option<(String, String)>,
    /// event only: AsyncRequestWorkerFactor.
    pub async_factor: f64,
}

impl ChildContext<'_> {
    /// ThreadStackSize for this child's threads (`None`: the default).
    pub fn stack_size(&self) -> Option<usize> {
        super::settings::thread_stack_size(&self.site.cfg)
    }
}

/// What every child does first after fork: forget the parent's signal handling, drop
/// privileges (when started as root), then ask the kernel for SIGTERM if the parent dies.
/// That request must come after the privilege drop, because changing credentials
/// clears it; and a parent that died before it is caught by the check that follows.
/// Last, the child starts mod_proxy_hcheck's thread when that module and a balancer
/// are configured (after the privilege drop, so the checks never run as root).
/// `Err(status)` = exit with that status.
pub fn child_prologue(
    scoreboard: &Scoreboard,
    drop_to: &Option<(String, String)>,
    threaded: bool,
) -> Result<(), i32> {
    let _ = rhttpd_sys::signals::reset_after_fork();
    log::set_threaded_mpm(threaded);
    if let Some((user, group)) = drop_to
        && let Err(e) = rhttpd_sys::privileges::drop_privileges(user, group)
    {
        log::log(
            "unixd",
            Level::Alert,
            None,
            &format!("AH02156: setgid/setuid to {user}/{group} failed: {e}"),
        );
        return Err(15); // APEXIT_CHILDFATAL
    }
    let _ = rhttpd_sys::process::set_parent_death_signal(sig::TERM);
    let parent = scoreboard.global().parent_pid();
    if parent > 0 && std::os::unix::process::parent_id() != parent as u32 {
        return Err(0);
    }
    // mod_proxy_hcheck's checker thread (none without the module and a balancer).
    crate::modules::proxy_hcheck::child_init();
    Ok(())
}

/// A worker cell's CPU times (mod_status's CPU figures) are refreshed after a request at
/// most this often: reading them is a system call, and a request takes microseconds.
const CPU_RECORD_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

thread_local! {
    /// When this thread last recorded its CPU time in its cell.
    static CPU_RECORDED: std::cell::Cell<Option<std::time::Instant>> =
        const { std::cell::Cell::new(None) };
}

/// The connection's protocol as the scoreboard names it (Apache's `ap_get_protocol`):
/// `http/1.1` for every HTTP/1.x connection, `h2` over TLS, `h2c` in the clear.
fn connection_protocol(
    version: rhttpd_http::Version,
    conn: &crate::handler::ConnInfo,
) -> &'static str {
    match (version == rhttpd_http::Version::HTTP_2, conn.tls.is_some()) {
        (true, true) => "h2",
        (true, false) => "h2c",
        (false, _) => "http/1.1",
    }
}

/// Follows a connection into one worker cell of the scoreboard (R/W/K/L/C, request
/// text, counters): prefork's child and every thread of worker and event.
pub struct CellObserver<'a> {
    pub cell: crate::scoreboard::WorkerRecord<'a>,
    pub stopping: &'a std::sync::atomic::AtomicBool,
    /// SeeRequestTail: keep the end of a long request line rather than its start.
    pub see_request_tail: bool,
}

impl crate::conn::ConnObserver for CellObserver<'_> {
    fn phase(&mut self, phase: crate::conn::Phase) {
        use crate::conn::Phase;
        use crate::scoreboard::WorkerStatus;
        self.cell.set_status(match phase {
            Phase::Read => WorkerStatus::BusyRead,
            Phase::Write => WorkerStatus::BusyWrite,
            Phase::KeepAlive => WorkerStatus::BusyKeepalive,
            Phase::Log => WorkerStatus::BusyLog,
            Phase::Closing => WorkerStatus::Closing,
        });
    }

    fn request_started(
        &mut self,
        head: &rhttpd_http::RequestHead,
        conn: &crate::handler::ConnInfo,
    ) {
        self.cell.mark_request_start();
        let proto = connection_protocol(head.version, conn);
        let vhost = format!(
            "{}:{}",
            head.host.as_deref().unwrap_or(""),
            conn.local.port()
        );
        self.cell.set_request_info(
            &conn.client.ip().to_string(),
            &vhost,
            crate::scoreboard::request_line_shown(&head.request_line, self.see_request_tail),
            proto,
        );
    }

    fn request_finished(&mut self, f: &crate::conn::Finished<'_>) {
        self.cell.record_request(f.bytes, f.duration);
        // The thread's CPU time (a getrusage(2) call) at most every CPU_RECORD_EVERY.
        let now = std::time::Instant::now();
        if CPU_RECORDED
            .get()
            .is_none_or(|t| now.duration_since(t) >= CPU_RECORD_EVERY)
        {
            self.cell.record_thread_cpu();
            CPU_RECORDED.set(Some(now));
        }
    }

    fn session_status(&mut self, text: &str, conn: &crate::handler::ConnInfo) {
        let shown = self.cell.request_info();
        let proto = connection_protocol(rhttpd_http::Version::HTTP_2, conn);
        let client = conn.client.ip().to_string();
        self.cell
            .set_request_info(&client, &shown.vhost, text, proto);
    }

    fn stopping(&self) -> bool {
        self.stopping.load(std::sync::atomic::Ordering::Relaxed)
    }
}
