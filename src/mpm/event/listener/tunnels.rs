//! Tunnels in the event listener: a connection that switched protocols through the proxy
//! (`101 Switching Protocols`, WebSockets) is parked with both of its sockets — the
//! client's under the connection's token, the backend's under the same token with
//! [`PEER_BIT`] — and relayed right here with non-blocking I/O whenever either side is
//! ready (`conn/tunnel.rs`). No worker is held between messages. A side that has nothing
//! to wait for is taken out of the epoll set (level-triggered readiness on a source the
//! relay must not read yet would spin).
//!
//! The idle timeout is checked lazily: the queue entry made at parking is looked at when
//! it falls due, and re-queued for the tunnel's actual deadline if bytes moved since.

use std::os::fd::BorrowedFd;
use std::time::Instant;

use rhttpd_sys::{Interest, Poller, Ready};

use super::{CONN_BASE, InlineObserver, Listener, Parked, Slot};
use crate::conn::Connection;

/// Set in the token of a tunnel's backend socket.
pub(super) const PEER_BIT: u64 = 1 << 62;

/// Bring one socket's registration from `old` to `new`.
fn reregister(
    poller: &Poller,
    fd: BorrowedFd<'_>,
    token: u64,
    old: Option<Interest>,
    new: Option<Interest>,
) -> bool {
    let r = match (old, new) {
        (None, Some(i)) => poller.add(fd, token, i),
        (Some(_), None) => poller.delete(fd),
        (Some(a), Some(b)) if a != b => poller.modify(fd, token, b),
        _ => Ok(()),
    };
    r.is_ok()
}

impl Listener<'_> {
    /// Park a connection whose response opened a tunnel (`conn.tunnel`).
    pub(super) fn park_tunnel(&mut self, mut conn: Connection) {
        let started = match conn.tunnel.as_mut() {
            Some(relay) => relay.start().is_ok() && conn.transport.set_blocking(None).is_ok(),
            None => false,
        };
        if !started {
            self.end_tunnel(conn);
            return;
        }
        let idle = conn
            .tunnel
            .as_ref()
            .map(|r| r.idle_timeout)
            .unwrap_or_default();
        let idx = self.free.pop().unwrap_or_else(|| {
            self.slots.push(None);
            self.slots.len() - 1
        });
        self.next_stamp += 1;
        let stamp = self.next_stamp;
        self.count(Parked::Tunnel, true);
        self.slots[idx] = Some(Slot {
            conn,
            state: Parked::Tunnel,
            // The relay keeps both sockets' registrations.
            interest: None,
            stamp,
        });
        let at = Instant::now() + idle;
        self.queue_for(Parked::Tunnel, idle)
            .entries
            .push_back((idx, stamp, at));
        self.tunnel_event(idx, None);
    }

    /// A socket of tunnel `idx` is ready (`ev`, with `peer` telling which), or it was
    /// just parked (`None`): relay what can move and wait for what each side needs next.
    pub(super) fn tunnel_event(&mut self, idx: usize, ready: Option<(bool, Ready)>) {
        let Some(slot) = self.slots.get_mut(idx).and_then(|s| s.as_mut()) else {
            return;
        };
        let conn = &mut slot.conn;
        let Some(relay) = conn.tunnel.as_mut() else {
            return;
        };
        if let Some((peer, ev)) = ready {
            let readable = ev.readable || ev.closed;
            relay.readable(!peer && readable, peer && readable);
        }
        let Some(waits) = relay.pump(&mut *conn.transport, &mut self.scratch) else {
            self.close(idx);
            return;
        };
        let token = CONN_BASE + idx as u64;
        let (old_client, old_peer) = relay.registered;
        let ok = reregister(
            &self.poller,
            conn.transport.fd(),
            token,
            old_client,
            waits.client,
        ) && reregister(
            &self.poller,
            relay.peer_fd(),
            token | PEER_BIT,
            old_peer,
            waits.peer,
        );
        relay.registered = (waits.client, waits.peer);
        if !ok || (waits.client.is_none() && waits.peer.is_none()) {
            self.close(idx);
        }
    }

    /// Remove a tunnel's backend socket from the set (the client's goes in `unpark`).
    pub(super) fn unregister_peer(&self, conn: &mut Connection) {
        if let Some(relay) = conn.tunnel.as_mut() {
            if relay.registered.1.is_some() {
                let _ = self.poller.delete(relay.peer_fd());
            }
            relay.registered = (None, None);
        }
    }

    /// A tunnel's queue entry fell due: true when it has really been idle that long
    /// (close it); otherwise it is re-queued for its actual deadline.
    pub(super) fn tunnel_idle(&mut self, idx: usize, now: Instant) -> bool {
        let Some((deadline, idle, stamp)) = self.slots[idx].as_ref().and_then(|s| {
            s.conn
                .tunnel
                .as_ref()
                .map(|r| (r.deadline(), r.idle_timeout, s.stamp))
        }) else {
            return true;
        };
        if deadline <= now {
            return true;
        }
        self.queue_for(Parked::Tunnel, idle)
            .entries
            .push_back((idx, stamp, deadline));
        false
    }

    /// A tunnel is over: log the request that opened it.
    pub(super) fn end_tunnel(&mut self, mut conn: Connection) {
        let mut obs = InlineObserver {
            cell: self.ctx.scoreboard.worker(self.ctx.slot, 0),
            stopping: self.dying,
        };
        conn.close_tunnel(self.ctx.site, &mut obs);
    }
}
