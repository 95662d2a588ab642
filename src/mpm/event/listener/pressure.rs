//! Slow clients and descriptor pressure on the event listener: when the process runs
//! out of descriptors (its share of RLIMIT_NOFILE, or EMFILE/ENFILE on accept), the
//! connections that have waited longest for a complete request head (or a small body
//! being collected) are closed first — never ones open less than a second, never
//! keep-alive connections, never ones with a request in flight — and if there are
//! none, accepting pauses briefly instead of spinning on a readable listener. Logged at most every ten seconds, with a count.
//!
//! A slow reader in write completion is closed when, after waiting there for Timeout,
//! it has taken the response at less than SendMinRate bytes a second on average.

use std::time::{Duration, Instant};

use super::{Listener, Parked};
use crate::conf::vhost;
use crate::log::{self, Level};

/// Descriptors kept free of connections: log files, listeners, the epoll set, CGI pipes
/// and backend connections of requests in flight, and the open-file cache.
pub(super) const FD_RESERVE: u64 = 128 + crate::modules::file_cache::CAPACITY as u64;
/// How long accepting pauses when the descriptor limit is reached and no partial
/// connection is left to close (the listener must not spin on EMFILE).
pub(super) const ACCEPT_PAUSE: Duration = Duration::from_millis(100);
/// A connection younger than this is never closed to make room: under ordinary load
/// the newest partial connections are clients whose head is on its way (closing them
/// fails real requests); a slow client is older than this by the time it matters, and
/// new connections wait in the kernel's backlog meanwhile.
const SHED_MIN_AGE: Duration = Duration::from_secs(1);
/// Descriptor pressure is logged at most this often (with a count).
const PRESSURE_LOG_EVERY: Duration = Duration::from_secs(10);

/// Descriptor pressure's reports: when each was last logged, and what happened since.
#[derive(Default)]
pub(super) struct PressureLog {
    shed_logged: Option<Instant>,
    /// Connections closed to make room since the last report.
    shed: u64,
    pause_logged: Option<Instant>,
    /// Accept pauses since the last report.
    pauses: u64,
}

fn due(last: Option<Instant>) -> bool {
    last.is_none_or(|t| t.elapsed() >= PRESSURE_LOG_EVERY)
}

impl Listener<'_> {
    /// Close up to `n` of the connections that have waited longest for a complete
    /// request head and are at least SHED_MIN_AGE old (never keep-alive ones, never
    /// ones with a request in flight); returns how many. Logged at most every
    /// PRESSURE_LOG_EVERY, with a count.
    pub(super) fn shed_partial(&mut self, n: usize) -> usize {
        let now = Instant::now();
        let mut victims = Vec::new();
        for q in self.queues.iter().filter(|q| q.state == Parked::Reading) {
            for &(idx, stamp, _) in &q.entries {
                if victims.len() >= n {
                    break;
                }
                let live = self
                    .slots
                    .get(idx)
                    .and_then(|s| s.as_ref())
                    .is_some_and(|s| {
                        s.stamp == stamp
                            && s.state == Parked::Reading
                            && now.duration_since(s.conn.opened) >= SHED_MIN_AGE
                    });
                if live && !victims.contains(&idx) {
                    victims.push(idx);
                }
            }
        }
        for &idx in &victims {
            self.close(idx);
        }
        self.pressure.shed += victims.len() as u64;
        if self.pressure.shed > 0 && due(self.pressure.shed_logged) {
            log::log(
                "mpm_event",
                Level::Warn,
                None,
                &format!(
                    "descriptor limit reached ({} connections open, room for {}): closed {} connections open over a second without a complete request head, oldest first",
                    self.open_connections(),
                    self.fd_budget,
                    self.pressure.shed
                ),
            );
            self.pressure.shed_logged = Some(Instant::now());
            self.pressure.shed = 0;
        }
        victims.len()
    }

    /// SendMinRate: whether the connection in write completion at `idx` has, after
    /// Timeout there, taken less than the rate's bytes for every second beyond it
    /// (logged at info level when so).
    pub(super) fn sends_too_slowly(&self, idx: usize) -> bool {
        let Some(s) = self.slots.get(idx).and_then(|s| s.as_ref()) else {
            return false;
        };
        let Some(out) = &s.conn.out else {
            return false;
        };
        let Some((since, written_then)) = out.blocked_since else {
            return false;
        };
        let cfg = &self.ctx.site.cfg;
        let host = vhost::host(cfg, vhost::select(cfg, s.conn.info.local, None));
        if host.send_min_rate == 0 {
            return false;
        }
        let waited = since.elapsed();
        let Some(beyond) = waited.checked_sub(host.timeout) else {
            return false;
        };
        let sent = out.written - written_then;
        if sent as f64 >= f64::from(host.send_min_rate) * beyond.as_secs_f64() {
            return false;
        }
        log::log(
            "core",
            Level::Info,
            Some(s.conn.info.client),
            &format!(
                "client took {sent} bytes in {:.1} s of write completion, below SendMinRate {}: closing",
                waited.as_secs_f64(),
                host.send_min_rate
            ),
        );
        true
    }

    /// Out of descriptors with no connection old enough to close: stop accepting for
    /// ACCEPT_PAUSE (new clients wait in the backlog). Logged at most every
    /// PRESSURE_LOG_EVERY, with a count.
    pub(super) fn pause_accepting(&mut self) {
        self.set_accepting(false);
        self.accept_paused_until = Some(Instant::now() + ACCEPT_PAUSE);
        self.pressure.pauses += 1;
        if due(self.pressure.pause_logged) {
            log::log(
                "mpm_event",
                Level::Warn,
                None,
                &format!(
                    "descriptor limit reached ({} connections open, room for {}): accepting paused {} times ({} ms each): no connection had been open a second without a complete request head",
                    self.open_connections(),
                    self.fd_budget,
                    self.pressure.pauses,
                    ACCEPT_PAUSE.as_millis()
                ),
            );
            self.pressure.pause_logged = Some(Instant::now());
            self.pressure.pauses = 0;
        }
    }
}
