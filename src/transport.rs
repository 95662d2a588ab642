//! The transport seam: what a connection's bytes travel over. The protocol engines and
//! the drivers see only [`Transport`]; plain TCP is [`PlainTcp`], TLS is
//! `tls::TlsTcp` (rustls stays behind it). What the handshake agreed reaches the
//! request pipeline as plain data ([`Transport::tls_info`]).

use std::fs::File;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::{AsFd, BorrowedFd};
use std::time::Duration;

use std::sync::Arc;

use rhttpd_sys::Interest;

pub use crate::handler::TlsInfo;

/// What the connection wants to do next, before the transport adds its own needs (a TLS
/// transport that wants to read may first have to write a handshake record).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Want {
    Read,
    Write,
}

/// A byte stream to one client.
pub trait Transport: Read + Write + Send {
    /// The socket, for the event loop's registration.
    fn fd(&self) -> BorrowedFd<'_>;

    /// What to wait for in epoll so that `want` can make progress.
    fn interest(&self, want: Want) -> Interest;

    /// Whether file bodies may go with sendfile(2) (the kernel copies straight to the
    /// socket: plain TCP only).
    fn can_sendfile(&self) -> bool;

    /// The protocol agreed during the handshake (ALPN), if any.
    fn alpn(&self) -> Option<&[u8]> {
        None
    }

    /// What the TLS handshake agreed, once it is complete (`None` for plain TCP).
    fn tls_info(&self) -> Option<Arc<TlsInfo>> {
        None
    }

    /// The TLS handshake has not finished yet (always false for plain TCP).
    fn handshake_pending(&self) -> bool {
        false
    }

    /// A client spoke plain HTTP to this TLS port: the bytes pass through unencrypted
    /// so that the request can be answered with Apache's 400.
    fn plain_http_on_tls(&self) -> bool {
        false
    }

    /// Input the transport holds already (decrypted or not yet decrypted), which the
    /// socket's readiness will not announce: the event loop reads on without waiting.
    fn has_pending_input(&mut self) -> bool {
        false
    }

    /// `Some(timeout)`: blocking reads and writes, each bounded by `timeout`; `None`:
    /// non-blocking. Cheap when nothing changes.
    fn set_blocking(&mut self, timeout: Option<Duration>) -> io::Result<()>;

    /// The bound of the next blocking reads (KeepAliveTimeout while idle, Timeout
    /// otherwise).
    fn set_read_timeout(&mut self, timeout: Duration) -> io::Result<()>;

    /// Write part of `buf`, telling the kernel that more follows (the head before a
    /// file body leaves in full packets with it).
    fn write_more(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write(buf)
    }

    /// Send up to `count` bytes of `file` from `*offset` (advanced by what was sent).
    /// Only called when [`Transport::can_sendfile`] is true.
    fn send_file(&mut self, file: &File, offset: &mut u64, count: usize) -> io::Result<usize>;

    /// Stop sending (the first step of a lingering close).
    fn shutdown_write(&mut self) -> io::Result<()>;

    /// Whether the peer has sent bytes nobody read yet (checked without blocking).
    fn peer_has_sent(&mut self) -> bool;
}

/// A TCP socket's blocking mode and read timeout as last set (`set_blocking`,
/// `set_read_timeout`), so that asking again for the same costs no system call. Shared
/// by every transport over TCP.
#[derive(Clone, Copy, Debug, Default)]
pub struct SocketMode {
    /// `None`: never set (sockets start blocking, without timeouts).
    mode: Option<Option<Duration>>,
    /// SO_RCVTIMEO as last set here.
    read_timeout: Option<Duration>,
}

impl SocketMode {
    /// `Some(timeout)`: blocking, each read and write bounded by `timeout`; `None`:
    /// non-blocking.
    pub fn set(&mut self, stream: &TcpStream, timeout: Option<Duration>) -> io::Result<()> {
        if self.mode != Some(timeout) {
            stream.set_nonblocking(timeout.is_none())?;
            if let Some(t) = timeout {
                stream.set_write_timeout(Some(t.max(Duration::from_millis(1))))?;
            }
            self.mode = Some(timeout);
        }
        match timeout {
            // The read bound may have moved since (set_read_timeout).
            Some(t) => self.set_read_timeout(stream, t),
            None => Ok(()),
        }
    }

    /// Bound the next blocking reads by `timeout` (at least 1 ms: zero would mean no
    /// limit); no system call when it is already the bound.
    pub fn set_read_timeout(&mut self, stream: &TcpStream, timeout: Duration) -> io::Result<()> {
        let t = timeout.max(Duration::from_millis(1));
        if self.read_timeout == Some(t) {
            return Ok(());
        }
        stream.set_read_timeout(Some(t))?;
        self.read_timeout = Some(t);
        Ok(())
    }

    /// The mode of a socket that was made non-blocking when it was created.
    pub fn nonblocking() -> SocketMode {
        SocketMode {
            mode: Some(None),
            read_timeout: None,
        }
    }

    /// Blocking (also before any `set`: sockets start blocking).
    pub fn blocking(&self) -> bool {
        self.mode.is_none_or(|m| m.is_some())
    }

    /// Whether the peer has sent bytes nobody read yet, peeked without blocking. A peer
    /// that has closed its side with everything read has not: closing then sends no
    /// reset, so no lingering close is needed.
    pub fn peer_has_sent(&self, stream: &TcpStream) -> bool {
        let blocking = self.blocking();
        if blocking && stream.set_nonblocking(true).is_err() {
            return true;
        }
        let mut one = [0u8; 1];
        let r = stream.peek(&mut one);
        if blocking {
            let _ = stream.set_nonblocking(false);
        }
        match r {
            Ok(n) => n > 0,
            Err(e) => e.kind() != ErrorKind::WouldBlock,
        }
    }
}

/// Plain TCP.
pub struct PlainTcp {
    stream: TcpStream,
    mode: SocketMode,
}

impl PlainTcp {
    pub fn new(stream: TcpStream) -> PlainTcp {
        let _ = stream.set_nodelay(true);
        PlainTcp {
            stream,
            mode: SocketMode::default(),
        }
    }

    /// A plain TCP connection in non-blocking mode (the event MPM's).
    /// A socket a listener accepted: TCP_NODELAY came from the listening socket, and
    /// `nonblocking` says whether accept4(2) made it non-blocking.
    pub fn accepted(stream: TcpStream, nonblocking: bool) -> PlainTcp {
        PlainTcp {
            stream,
            mode: if nonblocking {
                SocketMode::nonblocking()
            } else {
                SocketMode::default()
            },
        }
    }

    pub fn nonblocking(stream: TcpStream) -> io::Result<PlainTcp> {
        let mut t = PlainTcp::new(stream);
        t.set_blocking(None)?;
        Ok(t)
    }
}

impl Read for PlainTcp {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.read(buf)
    }
}

impl Write for PlainTcp {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Transport for PlainTcp {
    fn fd(&self) -> BorrowedFd<'_> {
        self.stream.as_fd()
    }

    fn interest(&self, want: Want) -> Interest {
        match want {
            Want::Read => Interest::Read,
            Want::Write => Interest::Write,
        }
    }

    fn can_sendfile(&self) -> bool {
        true
    }

    fn set_blocking(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.mode.set(&self.stream, timeout)
    }

    fn set_read_timeout(&mut self, timeout: Duration) -> io::Result<()> {
        self.mode.set_read_timeout(&self.stream, timeout)
    }

    fn write_more(&mut self, buf: &[u8]) -> io::Result<usize> {
        rhttpd_sys::send_some_more(self.stream.as_fd(), buf)
    }

    fn send_file(&mut self, file: &File, offset: &mut u64, count: usize) -> io::Result<usize> {
        match rhttpd_sys::sendfile(self.stream.as_fd(), file.as_fd(), offset, count) {
            Ok(0) => Err(io::Error::new(ErrorKind::UnexpectedEof, "file shrank")),
            other => other,
        }
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.stream.shutdown(Shutdown::Write)
    }

    fn peer_has_sent(&mut self) -> bool {
        self.mode.peer_has_sent(&self.stream)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    fn pair() -> (TcpStream, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (server, _) = l.accept().unwrap();
        (client, server)
    }

    /// Waits (bounded) until the server side sees what the client did.
    fn settle(server: &TcpStream, want: bool) -> bool {
        let mode = SocketMode::default();
        let end = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let got = mode.peer_has_sent(server);
            if got == want || std::time::Instant::now() > end {
                return got;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn unread_bytes_need_lingering_a_clean_close_does_not() {
        let (mut client, mut server) = pair();
        let mode = SocketMode::default();
        assert!(!mode.peer_has_sent(&server), "nothing sent yet");
        client.write_all(b"x").unwrap();
        assert!(settle(&server, true), "a byte nobody read");
        let mut one = [0u8; 1];
        server.read_exact(&mut one).unwrap();
        drop(client);
        assert!(
            !settle(&server, false),
            "closed with everything read: no linger"
        );
        // The socket is still blocking afterwards.
        assert!(mode.blocking());
        server
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        assert_eq!(server.read(&mut one).unwrap(), 0);

        let (mut client, server) = pair();
        client.write_all(b"late").unwrap();
        drop(client);
        assert!(settle(&server, true), "bytes then a close: linger");
    }
}
