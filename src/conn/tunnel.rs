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

/// Bytes one pump moves at most before it lets the listener serve other connections
/// (readiness is level-triggered: what is left is announced again).
const PUMP_BUDGET: u64 = 256 * 1024;

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
    /// A read may find bytes: set by readiness, cleared by a read that drained the
    /// socket (a short read or EAGAIN), so a pump does not try a side that has nothing.
    client_readable: bool,
    peer_readable: bool,
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
/// `readable` is cleared when the read drained the socket.
fn forward(
    src: &mut dyn Read,
    dst: &mut dyn Write,
    scratch: &mut [u8],
    left: &mut Vec<u8>,
    readable: &mut bool,
) -> io::Result<Option<usize>> {
    let n = loop {
        match src.read(scratch) {
            Ok(n) => break n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if would_block(&e) => {
                *readable = false;
                return Ok(None);
            }
            Err(e) => return Err(e),
        }
    };
    if n < scratch.len() {
        *readable = false;
    }
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
            client_readable: true,
            peer_readable: true,
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

    /// Readiness reported that a side can be read (or has closed).
    pub fn readable(&mut self, client: bool, peer: bool) {
        self.client_readable |= client;
        self.peer_readable |= peer;
    }

    /// When the idle timeout passes without traffic.
    pub fn deadline(&self) -> Instant {
        self.last_activity + self.idle_timeout
    }

    /// Move every byte that can move without blocking. `None`: the tunnel is over (both
    /// directions ended, or a side failed); otherwise what each side waits for.
    pub fn pump(&mut self, client: &mut dyn Transport, scratch: &mut [u8]) -> Option<Waits> {
        let more = match self.pump_io(client, scratch) {
            Ok(more) => more,
            Err(_) => return None,
        };
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
        // Out of budget with input held inside a transport (TLS) that readiness will not
        // announce: wait for writability too, which comes at once, to be pumped again.
        let peer_write = !self.to_peer.is_empty() || self.peer.wants_write() || more;
        let client_wait = match client_wait {
            Some(_) if more => Some(Interest::ReadWrite),
            None if more => Some(Interest::Write),
            w => w,
        };
        Some(Waits {
            client: client_wait,
            peer: join(peer_read, peer_write),
        })
    }

    /// `Ok(true)`: the budget ran out with input still held by a transport.
    fn pump_io(&mut self, client: &mut dyn Transport, scratch: &mut [u8]) -> io::Result<bool> {
        let start = self.bytes_up + self.bytes_down;
        loop {
            let mut moved = false;
            // Peer → client.
            moved |= drain(&mut *client, &mut self.to_client)?;
            if self.to_client.is_empty()
                && !self.peer_eof
                && (self.peer_readable || self.peer.has_pending_input())
            {
                let (src, dst) = (&mut *self.peer, &mut *client);
                match forward(
                    src,
                    dst,
                    scratch,
                    &mut self.to_client,
                    &mut self.peer_readable,
                )? {
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
            if self.to_peer.is_empty()
                && !self.client_eof
                && (self.client_readable || client.has_pending_input())
            {
                let (src, dst) = (&mut *client, &mut *self.peer);
                match forward(
                    src,
                    dst,
                    scratch,
                    &mut self.to_peer,
                    &mut self.client_readable,
                )? {
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
                return Ok(false);
            }
            if self.bytes_up + self.bytes_down - start >= PUMP_BUDGET {
                return Ok(pending_input);
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
        // poll(2) says little per side here; the next pump tries both.
        relay.readable(true, true);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::PlainTcp;
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixStream;

    struct UnixPeer(UnixStream);

    impl Read for UnixPeer {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.0.read(buf)
        }
    }
    impl Write for UnixPeer {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.write(buf)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    impl TunnelPeer for UnixPeer {
        fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
            self.0.as_fd()
        }
        fn set_nonblocking(&mut self) -> io::Result<()> {
            self.0.set_nonblocking(true)
        }
        fn shutdown_write(&mut self) -> io::Result<()> {
            self.0.shutdown(std::net::Shutdown::Write)
        }
    }

    /// (client side as the test holds it, server-side transport, backend as the test
    /// holds it, relay).
    fn pair(from_client: &[u8], from_peer: &[u8]) -> (TcpStream, PlainTcp, UnixStream, Relay) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (server, _) = l.accept().unwrap();
        let mut transport = PlainTcp::new(server);
        transport.set_blocking(None).unwrap();
        let (ours, theirs) = UnixStream::pair().unwrap();
        let tunnel = Tunnel {
            peer: Box::new(UnixPeer(ours)),
            from_peer: from_peer.to_vec(),
            idle_timeout: Duration::from_secs(5),
        };
        let mut relay = Relay::new(tunnel, from_client.to_vec(), None);
        relay.start().unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        theirs
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        (client, transport, theirs, relay)
    }

    fn read_n(r: &mut impl Read, n: usize) -> Vec<u8> {
        let mut v = vec![0u8; n];
        r.read_exact(&mut v).unwrap();
        v
    }

    #[test]
    fn bytes_go_both_ways_starting_with_what_each_side_sent_early() {
        let (mut client, mut t, mut backend, mut relay) = pair(b"early-up", b"early-down");
        let mut scratch = vec![0u8; 16 * 1024];
        let waits = relay.pump(&mut t, &mut scratch).unwrap();
        assert_eq!(waits.client, Some(Interest::Read));
        assert_eq!(waits.peer, Some(Interest::Read));
        assert_eq!(read_n(&mut backend, 8), b"early-up");
        assert_eq!(read_n(&mut client, 10), b"early-down");
        client.write_all(b"ping").unwrap();
        backend.write_all(b"pong").unwrap();
        assert!(wait(|| {
            relay.readable(true, true);
            relay.pump(&mut t, &mut scratch);
            relay.bytes_up == 4 && relay.bytes_down == 4
        }));
        assert_eq!(read_n(&mut backend, 4), b"ping");
        assert_eq!(read_n(&mut client, 4), b"pong");
    }

    fn wait(mut f: impl FnMut() -> bool) -> bool {
        let end = Instant::now() + Duration::from_secs(5);
        while Instant::now() < end {
            if f() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }

    #[test]
    fn a_peer_that_does_not_read_stops_the_client_being_read() {
        let (mut client, mut t, backend, mut relay) = pair(b"", b"");
        let mut scratch = vec![0u8; 16 * 1024];
        // Far more than the socket buffers hold: the backend reads nothing.
        let writer = std::thread::spawn(move || {
            let chunk = vec![7u8; 64 * 1024];
            let mut sent = 0usize;
            client
                .set_write_timeout(Some(Duration::from_millis(500)))
                .unwrap();
            while sent < 64 << 20 {
                match client.write(&chunk) {
                    Ok(n) => sent += n,
                    Err(_) => break,
                }
            }
            (client, sent)
        });
        let mut last = None;
        for _ in 0..200 {
            relay.readable(true, true);
            last = relay.pump(&mut t, &mut scratch);
            std::thread::sleep(Duration::from_millis(2));
        }
        let (_client, sent) = writer.join().unwrap();
        let waits = last.unwrap();
        // The client is no longer read (only its leftover waits for the peer).
        assert_eq!(waits.client, None, "{waits:?}");
        assert_eq!(waits.peer, Some(Interest::ReadWrite));
        assert!(relay.to_peer.len() <= scratch.len());
        assert!(sent < 64 << 20, "the client could write everything: {sent}");
        drop(backend);
    }

    #[test]
    fn ends_travel_and_the_relay_finishes_when_both_sides_have_closed() {
        let (mut client, mut t, mut backend, mut relay) = pair(b"", b"");
        let mut scratch = vec![0u8; 16 * 1024];
        backend.write_all(b"bye").unwrap();
        backend.shutdown(std::net::Shutdown::Write).unwrap();
        assert!(wait(|| {
            relay.readable(true, true);
            relay.pump(&mut t, &mut scratch).is_some() && relay.client_shut
        }));
        let mut rest = Vec::new();
        client.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, b"bye", "the client got the data, then the end");
        // Still open the other way.
        client.write_all(b"last words").unwrap();
        client.shutdown(std::net::Shutdown::Write).unwrap();
        assert!(wait(|| {
            relay.readable(true, true);
            relay.pump(&mut t, &mut scratch).is_none()
        }));
        let mut got = Vec::new();
        backend.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"last words");
    }
}
