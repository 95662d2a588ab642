//! The relay of a switched connection (`101 Switching Protocols` from a proxied
//! backend: WebSockets and other Upgrade protocols): bytes go both ways between the
//! client's transport and the handler's [`TunnelPeer`] with non-blocking I/O, until both
//! directions have ended, either side fails, or the tunnel has been silent for its idle
//! timeout.
//!
//! One relay serves every driver: [`Relay::pump`] moves what it can without blocking and
//! says what each side must wait for. The event listener keeps both sockets in its epoll
//! set between pumps (a tunnel holds no worker while it is quiet); prefork and worker run
//! [`relay_blocking`], a poll(2) loop on the connection's own process or thread, as
//! Apache's `ap_proxy_tunnel_run` does.
//!
//! Memory: bytes are read into the driver's scratch buffer and written on at once; only
//! what the other side does not take right away is kept, at most one read (16 KiB) per
//! direction, and a source is not read again until its leftover is gone. A quiet tunnel
//! holds no buffer.
//!
//! Half-closes travel: when one side ends its stream, the other side's write half is shut
//! down once everything before the end was delivered; the relay ends when both have.

use std::io::{self, ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use rhttpd_sys::Interest;

use super::exchange::Exchange;
use super::{Transport, Want};
use crate::handler::{Tunnel, TunnelPeer};

/// A switched connection's relay state.
pub struct Relay {
    peer: Box<dyn TunnelPeer>,
    /// Read from the peer, not yet taken by the client.
    to_client: Vec<u8>,
    /// Read from the client, not yet taken by the peer.
    to_peer: Vec<u8>,
    client_eof: bool,
    peer_eof: bool,
    client_shut: bool,
    peer_shut: bool,
    /// How long the tunnel may stay silent.
    pub idle_timeout: Duration,
    /// The last byte moved (either way).
    pub last_activity: Instant,
    /// Bytes relayed client → peer and peer → client.
    pub bytes_up: u64,
    pub bytes_down: u64,
    /// The request that opened the tunnel, logged when it ends (Apache logs the 101
    /// request once its handler returns, i.e. after the tunnel).
    pub exchange: Option<Exchange>,
    /// The event listener's current registrations (client, peer).
    pub registered: (Option<Interest>, Option<Interest>),
}

/// What each side waits for next (`None`: nothing, it is out of the poll set).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Waits {
    pub client: Option<Interest>,
    pub peer: Option<Interest>,
}

fn join(read: bool, write: bool) -> Option<Interest> {
    match (read, write) {
        (true, true) => Some(Interest::ReadWrite),
        (true, false) => Some(Interest::Read),
        (false, true) => Some(Interest::Write),
        (false, false) => None,
    }
}

fn would_block(e: &io::Error) -> bool {
    e.kind() == ErrorKind::WouldBlock
}

/// Write as much of `buf` as `dst` takes now; the rest stays in `buf`. `Err` on failure.
fn drain(dst: &mut dyn Write, buf: &mut Vec<u8>) -> io::Result<bool> {
    let mut moved = false;
    while !buf.is_empty() {
        match dst.write(buf) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => {
                buf.drain(..n);
                moved = true;
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if would_block(&e) => break,
            Err(e) => return Err(e),
        }
    }
    if buf.is_empty() {
        // Give a buffer that grew for a burst back.
        *buf = Vec::new();
    }
    Ok(moved)
}

/// Read once from `src` into `scratch` and write what arrived to `dst`, keeping what
/// `dst` does not take in `left`. `Ok(None)`: nothing to read now; `Ok(Some(0))`: end.
fn forward(
    src: &mut dyn Read,
    dst: &mut dyn Write,
    scratch: &mut [u8],
    left: &mut Vec<u8>,
) -> io::Result<Option<usize>> {
    let n = loop {
        match src.read(scratch) {
            Ok(n) => break n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if would_block(&e) => return Ok(None),
            Err(e) => return Err(e),
        }
    };
    if n == 0 {
        return Ok(Some(0));
    }
    let mut sent = 0;
    while sent < n {
        match dst.write(&scratch[sent..n]) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(k) => sent += k,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if would_block(&e) => break,
            Err(e) => return Err(e),
        }
    }
    left.extend_from_slice(&scratch[sent..n]);
    Ok(Some(n))
}

impl Relay {
    /// A relay for `tunnel`; `from_client` is what the client sent after its request
    /// head (it goes to the peer first).
    pub fn new(tunnel: Tunnel, from_client: Vec<u8>, exchange: Option<Exchange>) -> Relay {
        let Tunnel {
            peer,
            from_peer,
            idle_timeout,
        } = tunnel;
        Relay {
            peer,
            to_client: from_peer,
            to_peer: from_client,
            client_eof: false,
            peer_eof: false,
            client_shut: false,
            peer_shut: false,
            idle_timeout,
            last_activity: Instant::now(),
            bytes_up: 0,
            bytes_down: 0,
            exchange,
            registered: (None, None),
        }
    }

    /// The peer's socket (the event listener registers it beside the client's).
    pub fn peer_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.peer.fd()
    }

    /// Switch the peer to non-blocking I/O (the client's transport is switched by the
    /// driver).
    pub fn start(&mut self) -> io::Result<()> {
        self.peer.set_nonblocking()
    }

    /// When the idle timeout passes without traffic.
    pub fn deadline(&self) -> Instant {
        self.last_activity + self.idle_timeout
    }

    /// Move every byte that can move without blocking. `None`: the tunnel is over (both
    /// directions ended, or a side failed); otherwise what each side waits for.
    pub fn pump(&mut self, client: &mut dyn Transport, scratch: &mut [u8]) -> Option<Waits> {
        match self.pump_io(client, scratch) {
            Ok(()) => {}
            Err(_) => return None,
        }
        if self.client_shut && self.peer_shut {
            return None;
        }
        let client_read = !self.client_eof && self.to_peer.is_empty();
        let client_wait = match (client_read, !self.to_client.is_empty()) {
            (true, true) => Some(Interest::ReadWrite),
            // A TLS transport adds what its own records need.
            (true, false) => Some(client.interest(Want::Read)),
            (false, true) => Some(client.interest(Want::Write)),
            // Nothing to read or write, unless a TLS record still waits to go out.
            (false, false) => {
                (client.interest(Want::Read) == Interest::ReadWrite).then_some(Interest::Write)
            }
        };
        let peer_read = !self.peer_eof && self.to_client.is_empty();
        let peer_write = !self.to_peer.is_empty() || self.peer.wants_write();
        Some(Waits {
            client: client_wait,
            peer: join(peer_read, peer_write),
        })
    }

    fn pump_io(&mut self, client: &mut dyn Transport, scratch: &mut [u8]) -> io::Result<()> {
        loop {
            let mut moved = false;
            // Peer → client.
            moved |= drain(&mut *client, &mut self.to_client)?;
            if self.to_client.is_empty() && !self.peer_eof {
                match forward(&mut *self.peer, &mut *client, scratch, &mut self.to_client)? {
                    Some(0) => {
                        self.peer_eof = true;
                        moved = true;
                    }
                    Some(n) => {
                        self.bytes_down += n as u64;
                        moved = true;
                    }
                    None => {}
                }
            }
            // Client → peer.
            moved |= drain(&mut *self.peer, &mut self.to_peer)?;
            if self.to_peer.is_empty() && !self.client_eof {
                match forward(&mut *client, &mut *self.peer, scratch, &mut self.to_peer)? {
                    Some(0) => {
                        self.client_eof = true;
                        moved = true;
                    }
                    Some(n) => {
                        self.bytes_up += n as u64;
                        moved = true;
                    }
                    None => {}
                }
            }
            if moved {
                self.last_activity = Instant::now();
            }
            // A TLS side may hold what it took: push it out.
            match client.flush() {
                Ok(()) => {}
                Err(e) if would_block(&e) => {}
                Err(e) => return Err(e),
            }
            match self.peer.flush() {
                Ok(()) => {}
                Err(e) if would_block(&e) => {}
                Err(e) => return Err(e),
            }
            // Ends travel once everything before them was delivered.
            if self.peer_eof && self.to_client.is_empty() && !self.client_shut {
                let _ = client.shutdown_write();
                self.client_shut = true;
            }
            if self.client_eof && self.to_peer.is_empty() && !self.peer_shut {
                let _ = self.peer.shutdown_write();
                self.peer_shut = true;
            }
            let pending_input = (!self.client_eof
                && self.to_peer.is_empty()
                && client.has_pending_input())
                || (!self.peer_eof && self.to_client.is_empty() && self.peer.has_pending_input());
            if !moved && !pending_input {
                return Ok(());
            }
        }
    }
}

/// Relay on the calling thread until the tunnel ends (prefork, worker, `-X`): poll(2)
/// on both sockets, bounded by the idle timeout.
pub fn relay_blocking(relay: &mut Relay, client: &mut dyn Transport, scratch: &mut [u8]) {
    use rhttpd_sys::child::{Interest as PollInterest, poll_fds};
    if relay.start().is_err() || client.set_blocking(None).is_err() {
        return;
    }
    loop {
        let Some(waits) = relay.pump(client, scratch) else {
            return;
        };
        let left = relay.deadline().saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        let mut fds = Vec::with_capacity(4);
        for (fd, wait) in [(client.fd(), waits.client), (relay.peer_fd(), waits.peer)] {
            match wait {
                Some(Interest::Read) => fds.push((fd, PollInterest::Read)),
                Some(Interest::Write) => fds.push((fd, PollInterest::Write)),
                Some(Interest::ReadWrite) => {
                    fds.push((fd, PollInterest::Read));
                    fds.push((fd, PollInterest::Write));
                }
                None => {}
            }
        }
        if fds.is_empty() {
            return;
        }
        match poll_fds(&fds, left) {
            Ok(ready) if ready.iter().any(|r| *r) => {}
            // Timed out (or interrupted): the loop checks the deadline again.
            Ok(_) => {}
            Err(_) => return,
        }
    }
}
