//! The event listener's timers: one FIFO of deadlines per (state, timeout) — keep-alive,
//! reading, write completion, lingering close — and a heap of RequestReadTimeout limits.
//!
//! Entries are not removed when their connection moves on (to a worker, to another
//! state, or closes): a stamp tells a live entry from a stale one. Stale entries at the
//! front are dropped before the next deadline is taken, so a storm of short connections
//! does not leave thousands of past-or-imminent deadlines that keep epoll_wait returning
//! at once; and once stale entries outnumber the live connections, they are swept out
//! in one pass (amortised O(1) per entry), so memory follows the connections held, not
//! the connections made in the last Timeout.

use std::cmp::Reverse;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::{Listener, Parked, Slot};
use crate::conn::readiness;

/// A FIFO of (slot, stamp, deadline) for one (state, timeout): deadlines are appended
/// in order, so expiry looks only at the front.
pub(super) struct TimeoutQueue {
    pub(super) state: Parked,
    pub(super) timeout: Duration,
    pub(super) entries: VecDeque<(usize, u64, Instant)>,
}

/// Stale entries are swept once a queue (or the heap) holds more than twice the live
/// connections plus this many.
const STALE_SLACK: usize = 64;

/// Whether slot `idx` still holds the parking `stamp` in `state`.
fn live(slots: &[Option<Slot>], idx: usize, stamp: u64, state: Parked) -> bool {
    slots
        .get(idx)
        .and_then(|s| s.as_ref())
        .is_some_and(|s| s.stamp == stamp && s.state == state)
}

impl Listener<'_> {
    pub(super) fn queue_for(&mut self, state: Parked, timeout: Duration) -> &mut TimeoutQueue {
        let pos = self
            .queues
            .iter()
            .position(|q| q.state == state && q.timeout == timeout);
        let idx = match pos {
            Some(i) => i,
            None => {
                self.queues.push(TimeoutQueue {
                    state,
                    timeout,
                    entries: VecDeque::new(),
                });
                self.queues.len() - 1
            }
        };
        &mut self.queues[idx]
    }

    /// The earliest deadline of a live connection (or the end of an accept pause).
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.queues
            .iter()
            .filter_map(|q| q.entries.front().map(|e| e.2))
            .chain(self.head_deadlines.peek().map(|e| e.0.0))
            .chain(self.accept_paused_until)
            .min()
    }

    /// Close what timed out: keep-alive, unfinished heads and writes, lingering; then
    /// drop stale entries (see the module header).
    pub(super) fn expire(&mut self) {
        let now = Instant::now();
        let mut victims = Vec::new();
        for q in &mut self.queues {
            while let Some(&(idx, stamp, at)) = q.entries.front() {
                if at > now {
                    break;
                }
                q.entries.pop_front();
                if live(&self.slots, idx, stamp, q.state) {
                    victims.push(idx);
                }
            }
        }
        for idx in victims {
            let tunnel = self.slots[idx]
                .as_ref()
                .is_some_and(|s| s.state == Parked::Tunnel);
            if tunnel && !self.tunnel_idle(idx, now) {
                continue;
            }
            if self.slots[idx]
                .as_ref()
                .is_some_and(|s| s.state == Parked::Pending)
            {
                self.pending_timed_out(idx);
                continue;
            }
            // An HTTP/2 connection is told why it goes (GOAWAY), as mod_http2 does.
            if let Some(s) = self.slots[idx].as_mut() {
                crate::conn::h2::goodbye(&mut s.conn);
            }
            self.close(idx);
        }
        // RequestReadTimeout: heads (and handshakes) that took too long get 408.
        while let Some(&Reverse((at, idx, stamp))) = self.head_deadlines.peek() {
            if at > now {
                break;
            }
            self.head_deadlines.pop();
            let expired = live(&self.slots, idx, stamp, Parked::Reading)
                && self.slots[idx]
                    .as_ref()
                    .is_some_and(|s| s.conn.head_timer.expired(now));
            if expired && let Some(mut conn) = self.unpark(idx) {
                let next = readiness::head_timed_out(&mut conn, self.ctx.site);
                self.park(conn, next);
            }
        }
        self.drop_stale();
    }

    /// Drop stale entries at the front of every queue and the heap, and sweep a queue
    /// (or the heap) whose stale entries outnumber the live connections.
    fn drop_stale(&mut self) {
        let slots = &self.slots;
        let parked = slots.len() - self.free.len();
        for q in &mut self.queues {
            while let Some(&(idx, stamp, _)) = q.entries.front() {
                if live(slots, idx, stamp, q.state) {
                    break;
                }
                q.entries.pop_front();
            }
            if q.entries.len() > 2 * parked + STALE_SLACK {
                let state = q.state;
                q.entries
                    .retain(|&(idx, stamp, _)| live(slots, idx, stamp, state));
            }
            if q.entries.capacity() > 4 * q.entries.len() + 1024 {
                q.entries.shrink_to(2 * q.entries.len());
            }
        }
        let heap = &mut self.head_deadlines;
        while let Some(&Reverse((_, idx, stamp))) = heap.peek() {
            if live(slots, idx, stamp, Parked::Reading) {
                break;
            }
            heap.pop();
        }
        if heap.len() > 2 * self.reading + STALE_SLACK {
            heap.retain(|&Reverse((_, idx, stamp))| live(slots, idx, stamp, Parked::Reading));
        }
        if heap.capacity() > 4 * heap.len() + 1024 {
            heap.shrink_to(2 * heap.len());
        }
    }
}
