//! Requests whose handler started work without blocking (`handler::Pending`: a request
//! written to a pooled backend connection) wait here for that work's descriptor instead
//! of holding a worker: the descriptor is registered under the connection's token with
//! `PEER_BIT` (the client's socket is out of the set meanwhile), and when it is readable
//! the work takes in what arrived. Once it says so, the request runs through
//! `try_inline` again: answered right here when everything has arrived, or handed to a
//! worker (which takes the work over, `conn.info.pending`). A wait that reaches Timeout
//! goes to a worker too, whose handler applies its own timeout (504).

use std::time::Instant;

use rhttpd_sys::Interest;

use super::tunnels::PEER_BIT;
use super::{CONN_BASE, InlineObserver, Listener, Parked, Slot};
use crate::conn::Connection;
use crate::conn::readiness;

impl Listener<'_> {
    /// Park `conn` until its pending work's descriptor is readable.
    pub(super) fn park_pending(&mut self, conn: Connection) {
        let idx = self.free.pop().unwrap_or_else(|| {
            self.slots.push(None);
            self.slots.len() - 1
        });
        let token = (CONN_BASE + idx as u64) | PEER_BIT;
        let poller = &self.poller;
        let added = conn
            .info
            .pending
            .with(|p| poller.add(p.fd(), token, Interest::Read).is_ok())
            .unwrap_or(false);
        if !added {
            self.free.push(idx);
            self.hand_to_worker(conn);
            return;
        }
        let timeout = conn.info.pending.with(|p| p.timeout()).unwrap_or_default();
        self.next_stamp += 1;
        let stamp = self.next_stamp;
        self.count(Parked::Pending, true);
        self.slots[idx] = Some(Slot {
            conn,
            state: Parked::Pending,
            interest: None,
            stamp,
        });
        let at = Instant::now() + timeout;
        self.queue_for(Parked::Pending, timeout)
            .entries
            .push_back((idx, stamp, at));
    }

    /// A parked connection's request left pending work (an inline run said
    /// `Next::Pending`): it waits in its slot, the client's socket staying registered as
    /// it was (no epoll change for it in the common case), the work's descriptor added.
    pub(super) fn pend_in_place(&mut self, idx: usize) {
        let token = (CONN_BASE + idx as u64) | PEER_BIT;
        let poller = &self.poller;
        let (added, timeout) = match self.slots[idx].as_ref() {
            Some(s) => (
                s.conn
                    .info
                    .pending
                    .with(|p| poller.add(p.fd(), token, Interest::Read).is_ok())
                    .unwrap_or(false),
                s.conn
                    .info
                    .pending
                    .with(|p| p.timeout())
                    .unwrap_or_default(),
            ),
            None => return,
        };
        if !added {
            if let Some(conn) = self.unpark(idx) {
                self.hand_to_worker(conn);
            }
            return;
        }
        let Some(old) = self.slots[idx].as_ref().map(|s| s.state) else {
            return;
        };
        self.count(old, false);
        self.count(Parked::Pending, true);
        self.next_stamp += 1;
        let stamp = self.next_stamp;
        if let Some(s) = self.slots[idx].as_mut() {
            s.state = Parked::Pending;
            s.stamp = stamp;
        }
        let at = Instant::now() + timeout;
        self.queue_for(Parked::Pending, timeout)
            .entries
            .push_back((idx, stamp, at));
    }

    /// The client's socket fired while its request waits: take it out of the set.
    pub(super) fn quiet_client(&mut self, idx: usize) {
        if let Some(s) = self.slots[idx].as_mut()
            && s.interest.take().is_some()
        {
            let _ = self.poller.delete(s.conn.transport.fd());
        }
    }

    /// The pending work's descriptor is readable: once the work says so, the request runs
    /// again in its slot (answered here), or goes to a worker.
    pub(super) fn pending_event(&mut self, idx: usize) {
        let again = match self.slots.get_mut(idx).and_then(|s| s.as_mut()) {
            Some(s) if s.state == Parked::Pending => {
                s.conn.info.pending.with(|p| p.advance()).unwrap_or(true)
            }
            _ => return,
        };
        if !again {
            return;
        }
        let mut obs = InlineObserver {
            cell: self.ctx.scoreboard.worker(self.ctx.slot, 0),
            stopping: self.dying,
        };
        let next = match self.slots[idx].as_mut() {
            Some(s) => {
                let poller = &self.poller;
                s.conn.info.pending.with(|p| {
                    let _ = poller.delete(p.fd());
                });
                readiness::serve_buffered_inline(
                    &mut s.conn,
                    self.ctx.site,
                    &mut obs,
                    &mut self.scratch,
                )
            }
            None => return,
        };
        match next {
            Some(next) => self.reparked(idx, next),
            None => {
                if let Some(conn) = self.unpark(idx) {
                    self.hand_to_worker(conn);
                }
            }
        }
    }

    /// A pending wait reached Timeout: a worker finishes the request.
    pub(super) fn pending_timed_out(&mut self, idx: usize) {
        if let Some(conn) = self.unpark(idx) {
            conn.info.pending.with(|p| p.expire());
            self.hand_to_worker(conn);
        }
    }

    /// Take the pending work's descriptor out of the set (in `unpark`).
    pub(super) fn unregister_pending(&self, conn: &Connection) {
        let poller = &self.poller;
        conn.info.pending.with(|p| {
            let _ = poller.delete(p.fd());
        });
    }

    pub(super) fn hand_to_worker(&mut self, conn: Connection) {
        self.with_workers += 1;
        self.jobs.push(conn);
    }
}
