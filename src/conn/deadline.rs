//! mod_reqtimeout on a connection: the running limit for the TLS handshake and the
//! request head ([`HeadTimer`]), which every driver arms, extends by `MinRate` as bytes
//! arrive, and checks; the body's limit is kept by the body reader (`body.rs`).
//!
//! When the head timer starts, as Apache's: for the first request when the connection
//! was accepted (after the handshake when `handshake=` has its own limit); for later
//! requests on a kept-alive connection when their first byte arrives (the wait before
//! it is KeepAliveTimeout's).

use std::time::Instant;

use crate::conf::reqtimeout::{ReadDeadline, ReqTimeout};

/// The limit of the handshake or of the head now being read.
#[derive(Clone, Copy, Debug, Default)]
pub struct HeadTimer {
    deadline: Option<ReadDeadline>,
    /// The deadline is the handshake's (`RequestReadTimeout handshake=`).
    handshake: bool,
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
        if handshaking && !rt.handshake.is_off() {
            if self.deadline.is_none() {
                self.deadline = rt.handshake.start(opened);
                self.handshake = true;
            }
            return;
        }
        if self.handshake {
            // The handshake is done: the head's own limit starts now.
            self.handshake = false;
            self.deadline = rt.header.start(Instant::now());
        }
        if self.deadline.is_none() && (first || pending) {
            self.deadline = rt.header.start(if first { opened } else { Instant::now() });
        }
    }

    /// `n` bytes of the head arrived: MinRate moves the limit.
    pub fn received(&mut self, n: usize) {
        if !self.handshake
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

    /// What timed out, for the log: `handshake` or `header`.
    pub fn stage(&self) -> &'static str {
        if self.handshake {
            "handshake"
        } else {
            "header"
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
