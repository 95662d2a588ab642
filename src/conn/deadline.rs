//! mod_reqtimeout on a connection: the running limit for the TLS handshake and the
//! request head ([`HeadTimer`]), which every driver arms, extends by `MinRate` as bytes
//! arrive, and checks; the body's limit is kept by the body reader (`body.rs`), which
//! takes over the one the event listener started while it collected a small body
//! ([`HeadTimer::arm_body`]).
//!
//! When the head timer starts, as Apache's: for the first request when the connection
//! was accepted (after the handshake when `handshake=` has its own limit); for later
//! requests on a kept-alive connection when their first byte arrives (the wait before
//! it is KeepAliveTimeout's).

use std::time::Instant;

use crate::conf::reqtimeout::{ReadDeadline, ReqTimeout, Stage};

/// The limit of the handshake, of the head now being read, or of a body the event
/// listener collects before a worker runs the request.
#[derive(Clone, Copy, Debug, Default)]
pub struct HeadTimer {
    deadline: Option<ReadDeadline>,
    stage: Running,
}

/// Which of mod_reqtimeout's limits runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Running {
    /// `RequestReadTimeout handshake=`.
    Handshake,
    #[default]
    Header,
    /// `RequestReadTimeout body=` (event: the body is collected on the listener).
    Body,
}

impl HeadTimer {
    /// Called before the driver waits for (more of) a head: start the limit if it is
    /// not running. `opened`: when the connection was accepted; `first`: no request was
    /// served on it yet; `pending`: bytes of a head are buffered; `handshaking`: the TLS
    /// handshake has not finished. The clock is read only when a limit starts now (a
    /// request whose head arrives in one read never reads it).
    pub fn arm(
        &mut self,
        rt: &ReqTimeout,
        opened: Instant,
        first: bool,
        pending: bool,
        handshaking: bool,
    ) {
        if self.stage == Running::Body {
            return;
        }
        if handshaking && !rt.handshake.is_off() {
            if self.deadline.is_none() {
                self.deadline = rt.handshake.start(opened);
                self.stage = Running::Handshake;
            }
            return;
        }
        if self.stage == Running::Handshake {
            // The handshake is done: the head's own limit starts now.
            self.stage = Running::Header;
            self.deadline = rt.header.start(Instant::now());
        }
        if self.deadline.is_none() && (first || pending) {
            self.deadline = rt.header.start(if first { opened } else { Instant::now() });
        }
    }

    /// The head is complete and its body is being collected (event): the body's limit
    /// replaces the head's, once.
    pub fn arm_body(&mut self, body: &Stage) {
        if self.stage != Running::Body {
            self.stage = Running::Body;
            self.deadline = body.start(Instant::now());
        }
    }

    /// The running body limit, for the body reader to go on with.
    pub fn body_deadline(&self) -> Option<ReadDeadline> {
        self.deadline.filter(|_| self.stage == Running::Body)
    }

    /// `n` bytes of the head (or collected body) arrived: MinRate moves the limit.
    pub fn received(&mut self, n: usize) {
        if self.stage != Running::Handshake
            && let Some(d) = &mut self.deadline
        {
            d.received(n);
        }
    }

    /// The head is complete (or answered): the next one starts afresh.
    pub fn clear(&mut self) {
        *self = HeadTimer::default();
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.deadline.map(|d| d.at)
    }

    pub fn expired(&self, now: Instant) -> bool {
        self.deadline.is_some_and(|d| d.at <= now)
    }

    /// What timed out, for the log: `handshake`, `header` or `body`.
    pub fn stage(&self) -> &'static str {
        match self.stage {
            Running::Handshake => "handshake",
            Running::Header => "header",
            Running::Body => "body",
        }
    }
}

/// mod_reqtimeout's log line (info level, as Apache).
pub fn log_timeout(stage: &str, client: std::net::SocketAddr) {
    crate::log::log(
        "reqtimeout",
        crate::log::Level::Info,
        Some(client),
        &format!("AH01382: Request {stage} read timeout"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn first_request_counts_from_accept_later_ones_from_their_first_byte() {
        let rt = ReqTimeout::default();
        let t0 = Instant::now() - Duration::from_secs(5);
        let mut t = HeadTimer::default();
        t.arm(&rt, t0, true, false, false);
        assert_eq!(t.deadline(), Some(t0 + Duration::from_secs(20)));
        t.clear();
        // Kept alive, nothing buffered: no head limit (KeepAliveTimeout applies).
        t.arm(&rt, t0, false, false, false);
        assert_eq!(t.deadline(), None);
        // The next head's first bytes: from now, extended by MinRate.
        let before = Instant::now();
        t.arm(&rt, t0, false, true, false);
        t.received(500);
        let at = t.deadline().unwrap();
        assert!(at >= before + Duration::from_secs(21));
        assert!(at <= Instant::now() + Duration::from_secs(21));
        assert!(!t.expired(before));
        assert!(t.expired(at));
    }

    #[test]
    fn a_collected_body_runs_the_body_limit_once() {
        let rt = ReqTimeout::default();
        let t0 = Instant::now() - Duration::from_secs(5);
        let mut t = HeadTimer::default();
        t.arm(&rt, t0, true, true, false);
        assert_eq!(t.body_deadline(), None);
        let before = Instant::now();
        t.arm_body(&rt.body);
        let at = t.deadline().unwrap();
        assert!(at >= before + Duration::from_secs(20));
        assert_eq!(
            (t.stage(), t.body_deadline().map(|d| d.at)),
            ("body", Some(at))
        );
        // Re-arming (the listener parks it again) changes nothing; bytes extend it.
        t.arm(&rt, t0, true, true, false);
        t.arm_body(&rt.body);
        assert_eq!(t.deadline(), Some(at));
        t.received(1000);
        assert!(t.deadline().unwrap() > at);
        t.clear();
        assert_eq!((t.stage(), t.deadline()), ("header", None));
    }

    #[test]
    fn a_handshake_limit_comes_first() {
        let mut rt = ReqTimeout::default();
        rt.handshake.initial = Duration::from_secs(5);
        let t0 = Instant::now();
        let mut t = HeadTimer::default();
        t.arm(&rt, t0, true, false, true);
        t.received(300); // handshake bytes do not extend it
        assert_eq!(
            (t.deadline(), t.stage()),
            (Some(t0 + Duration::from_secs(5)), "handshake")
        );
        let before = Instant::now();
        t.arm(&rt, t0, true, false, false);
        assert_eq!(t.stage(), "header");
        assert!(t.deadline().unwrap() >= before + Duration::from_secs(20));
    }
}
