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
    /// Called after each read while a head is awaited: `n` bytes came in (0: none
    /// yet). `opened`: when the connection was accepted; `first`: no request was
    /// served on it yet; `pending`: bytes of a head are buffered; `handshaking`: the
    /// TLS handshake has not finished.
    #[allow(clippy::too_many_arguments)] // each is one fact the rule needs
    pub fn update(
        &mut self,
        rt: &ReqTimeout,
        opened: Instant,
        first: bool,
        pending: bool,
        handshaking: bool,
        n: usize,
        now: Instant,
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
            self.deadline = rt.header.start(now);
        }
        if self.deadline.is_none() && (first || pending) {
            self.deadline = rt.header.start(if first { opened } else { now });
        }
        if let Some(d) = &mut self.deadline {
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
        let t0 = Instant::now();
        let mut t = HeadTimer::default();
        t.update(&rt, t0, true, false, false, 0, t0 + Duration::from_secs(5));
        assert_eq!(t.deadline(), Some(t0 + Duration::from_secs(20)));
        t.clear();
        // Kept alive, nothing buffered: no head limit (KeepAliveTimeout applies).
        t.update(
            &rt,
            t0,
            false,
            false,
            false,
            0,
            t0 + Duration::from_secs(30),
        );
        assert_eq!(t.deadline(), None);
        // The next head's first bytes: from now, extended by MinRate.
        let t1 = t0 + Duration::from_secs(31);
        t.update(&rt, t0, false, true, false, 500, t1);
        assert_eq!(t.deadline(), Some(t1 + Duration::from_secs(21)));
        assert!(!t.expired(t1));
        assert!(t.expired(t1 + Duration::from_secs(21)));
    }

    #[test]
    fn a_handshake_limit_comes_first() {
        let mut rt = ReqTimeout::default();
        rt.handshake.initial = Duration::from_secs(5);
        let t0 = Instant::now();
        let mut t = HeadTimer::default();
        t.update(&rt, t0, true, false, true, 300, t0);
        assert_eq!(
            (t.deadline(), t.stage()),
            (Some(t0 + Duration::from_secs(5)), "handshake")
        );
        let t1 = t0 + Duration::from_secs(1);
        t.update(&rt, t0, true, false, false, 0, t1);
        assert_eq!(
            (t.deadline(), t.stage()),
            (Some(t1 + Duration::from_secs(20)), "header")
        );
    }
}
