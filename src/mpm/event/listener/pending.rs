//! Requests whose handler started work without blocking (`handler::Pending`: a request
//! written to a backend connection) wait here for that work's descriptor instead of
//! holding a worker. The descriptor is registered edge-triggered under
//! [`BACKEND_BIT`]` | fd` the first time the listener waits on it and stays registered
//! while the connection lives (a pooled backend connection carries that fact with it,
//! `Pending::in_listener`), so a request costs no `epoll_ctl` for its backend — nginx
//! keeps its upstream connections registered the same way; the closing of the
//! descriptor takes it out of the set. `backend_waits` says which slot waits on which
//! descriptor; an event for a descriptor nobody waits on (an idle pooled connection, or
//! one a worker uses) only marks it, so that the pool's next take on the listener
//! checks that connection with a peek (unmarked ones are taken without). When the
//! descriptor is readable the work takes in what arrived and, once it says so, the
//! request runs through `try_inline` again: answered right here when everything has
//! arrived, or handed to a worker (which takes the work over, `conn.info.pending`). A
//! wait that reaches Timeout goes to a worker too, whose handler applies its own
//! timeout (504).

use std::io::ErrorKind;
use std::os::fd::AsRawFd;
use std::time::Instant;

use super::{InlineObserver, Listener, Parked, Slot};
use crate::conn::Connection;
use crate::conn::readiness;
use crate::handler::Pending;

/// Tokens of backend descriptors: this bit and the descriptor's number (apart from the
/// listening sockets' and connections' tokens, and from tunnels' `PEER_BIT`).
pub(super) const BACKEND_BIT: u64 = 1 << 61;

/// Make sure `p`'s descriptor is in `poller`'s set (added once, edge-triggered); its
/// number, or `None` when it cannot be registered.
fn watch(poller: &rhttpd_sys::Poller, p: &mut dyn Pending) -> Option<i32> {
    let fd = p.fd().as_raw_fd();
    if !*p.in_listener() {
        match poller.add_edge_read(p.fd(), BACKEND_BIT | fd as u64) {
            Ok(()) => crate::handler::forget_idle_backend_event(fd),
            // Already in the set (the flag travels with the connection, so this is not
            // expected): the registration is under the same token, made from the fd.
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(_) => return None,
        }
        *p.in_listener() = true;
    }
    Some(fd)
}

impl Listener<'_> {
    /// Park `conn` until its pending work's descriptor is readable.
    pub(super) fn park_pending(&mut self, conn: Connection) {
        let idx = self.free.pop().unwrap_or_else(|| {
            self.slots.push(None);
            self.slots.len() - 1
        });
        let poller = &self.poller;
        let Some(fd) = conn.info.pending.with(|p| watch(poller, p)).flatten() else {
            self.free.push(idx);
            self.hand_to_worker(conn);
            return;
        };
        self.backend_waits.insert(fd, idx);
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
        let poller = &self.poller;
        let (fd, timeout) = match self.slots[idx].as_ref() {
            Some(s) => (
                s.conn.info.pending.with(|p| watch(poller, p)).flatten(),
                s.conn
                    .info
                    .pending
                    .with(|p| p.timeout())
                    .unwrap_or_default(),
            ),
            None => return,
        };
        let Some(fd) = fd else {
            if let Some(conn) = self.unpark(idx) {
                self.hand_to_worker(conn);
            }
            return;
        };
        self.backend_waits.insert(fd, idx);
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

    /// An event of a backend descriptor: its waiting request's turn, if one waits on it.
    /// `hangup`: the backend closed (or failed), which edge-triggered readiness reports
    /// once: what arrived with the close is read to the end of the stream here.
    pub(super) fn backend_event(&mut self, token: u64, hangup: bool) {
        let fd = (token & !BACKEND_BIT) as i32;
        let Some(&idx) = self.backend_waits.get(&fd) else {
            // An idle pooled connection the backend closed or wrote to: the pool's next
            // take on this thread checks it (the others are taken without a peek).
            crate::handler::note_idle_backend_event(fd);
            return;
        };
        let waits_here = self
            .slots
            .get(idx)
            .and_then(|s| s.as_ref())
            .is_some_and(|s| {
                s.state == Parked::Pending
                    && s.conn.info.pending.with(|p| p.fd().as_raw_fd()) == Some(fd)
            });
        if waits_here {
            self.pending_event(idx, hangup);
        } else {
            self.backend_waits.remove(&fd);
            crate::handler::note_idle_backend_event(fd);
        }
    }

    /// The pending work's descriptor is readable: once the work says so, the request runs
    /// again in its slot (answered here), or goes to a worker.
    fn pending_event(&mut self, idx: usize, hangup: bool) {
        let again = match self.slots.get_mut(idx).and_then(|s| s.as_mut()) {
            Some(s) if s.state == Parked::Pending => s
                .conn
                .info
                .pending
                // After a short read a second one sees the end of the stream.
                .with(|p| p.advance() || (hangup && p.advance()))
                .unwrap_or(true),
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
                if let Some(fd) = s.conn.info.pending.with(|p| p.fd().as_raw_fd()) {
                    self.backend_waits.remove(&fd);
                }
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

    /// The request no longer waits on its pending work's descriptor (in `unpark`); the
    /// descriptor stays registered until it is closed.
    pub(super) fn unregister_pending(&mut self, conn: &Connection) {
        if let Some(fd) = conn.info.pending.with(|p| p.fd().as_raw_fd()) {
            self.backend_waits.remove(&fd);
        }
    }

    pub(super) fn hand_to_worker(&mut self, conn: Connection) {
        self.with_workers += 1;
        self.jobs.push(conn);
    }
}
