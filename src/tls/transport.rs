//! TLS over TCP as a [`Transport`]: rustls's buffered `ServerConnection`, fed from the
//! socket by this type, the same way in blocking mode (prefork, worker, `-X`) and
//! non-blocking mode (event). The handshake advances inside `read`: in non-blocking
//! mode each call takes what has arrived, answers it, and returns `WouldBlock` when the
//! next flight has not come yet, so the event MPM parks the connection in epoll between
//! flights (no thread waits on a handshake).
//!
//! Steps of a connection: the first byte is peeked — anything but a TLS handshake
//! record (0x16) is plain HTTP on a TLS port, passed through so the pipeline can answer
//! Apache's 400; then rustls's `Acceptor` reads the ClientHello, its SNI name picks the
//! virtual host whose configuration continues the handshake; then application data.

use std::fs::File;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::Arc;
use std::time::Duration;

use rhttpd_sys::Interest;
use rustls::server::{Acceptor, ServerConnection};

use super::TlsSite;
use crate::handler::TlsInfo;
use crate::log::{self, Level};
use crate::transport::{SocketMode, Transport, Want};

/// Plaintext rustls may hold for sending before `write` says `WouldBlock`.
const SEND_BUFFER: usize = 64 * 1024;
/// `write_more` holds at most this much to join the next write's record.
const HOLD_MAX: usize = 8 * 1024;

enum State {
    /// Nothing read yet: the first byte decides between TLS and plain HTTP.
    Sniff,
    /// Reading the ClientHello.
    Accepting(Box<Acceptor>),
    Open(Box<ServerConnection>),
    /// Plain HTTP on a TLS port.
    Plain,
    /// The handshake failed (an alert may still be queued in `alert`).
    Failed,
}

/// A TLS connection to one client.
pub struct TlsTcp {
    stream: TcpStream,
    site: Arc<TlsSite>,
    local: SocketAddr,
    client: SocketAddr,
    state: State,
    /// The host chosen from the SNI name (`None` = main server).
    host: Option<usize>,
    sni: Option<String>,
    info: Option<Arc<TlsInfo>>,
    /// An alert the Acceptor produced, not yet written.
    alert: Vec<u8>,
    /// Plaintext `write_more` was given (a response head before its body): it goes
    /// into the same TLS record as what follows.
    held: Vec<u8>,
    mode: SocketMode,
}

impl TlsTcp {
    pub fn new(
        stream: TcpStream,
        site: Arc<TlsSite>,
        local: SocketAddr,
        client: SocketAddr,
    ) -> TlsTcp {
        let _ = stream.set_nodelay(true);
        TlsTcp {
            stream,
            site,
            local,
            client,
            state: State::Sniff,
            host: None,
            sni: None,
            info: None,
            alert: Vec::new(),
            held: Vec::new(),
            mode: SocketMode::default(),
        }
    }

    fn handshake_failed(&mut self, what: &str, e: impl std::fmt::Display) -> io::Error {
        log::log(
            "ssl",
            Level::Info,
            Some(self.client),
            &format!("AH02008: SSL library error in handshake ({what}): {e}"),
        );
        io::Error::new(ErrorKind::InvalidData, format!("TLS handshake: {e}"))
    }

    /// Write queued TLS records; `WouldBlock` when some remain.
    fn flush_tls(&mut self) -> io::Result<()> {
        while !self.alert.is_empty() {
            let n = self.stream.write(&self.alert)?;
            self.alert.drain(..n);
        }
        if let State::Open(conn) = &mut self.state {
            while conn.wants_write() {
                match conn.write_tls(&mut self.stream) {
                    Ok(0) => return Err(ErrorKind::WriteZero.into()),
                    Ok(_) => {}
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }

    /// Take bytes from the socket into the TLS state and process them. `Ok(false)`:
    /// the peer closed.
    fn pull(&mut self) -> io::Result<bool> {
        match std::mem::replace(&mut self.state, State::Failed) {
            State::Sniff => {
                let mut first = [0u8; 1];
                let r = self.stream.peek(&mut first);
                self.state = State::Sniff;
                match r? {
                    0 => return Ok(false),
                    _ if first[0] == 0x16 => {
                        self.state = State::Accepting(Box::default());
                    }
                    _ => self.state = State::Plain,
                }
                Ok(true)
            }
            State::Accepting(mut acceptor) => {
                let n = match acceptor.read_tls(&mut self.stream) {
                    Ok(n) => n,
                    Err(e) => {
                        self.state = State::Accepting(acceptor);
                        return Err(e);
                    }
                };
                if n == 0 {
                    return Ok(false);
                }
                match acceptor.accept() {
                    Ok(None) => {
                        self.state = State::Accepting(acceptor);
                        Ok(true)
                    }
                    Ok(Some(accepted)) => {
                        let hello = accepted.client_hello();
                        self.sni = hello.server_name().map(str::to_ascii_lowercase);
                        let Some((host, config)) =
                            self.site.choose(self.local, self.sni.as_deref())
                        else {
                            return Err(self.handshake_failed("ClientHello", "no TLS host"));
                        };
                        self.host = host;
                        match accepted.into_connection(config) {
                            Ok(mut conn) => {
                                conn.set_buffer_limit(Some(SEND_BUFFER));
                                self.state = State::Open(Box::new(conn));
                                Ok(true)
                            }
                            Err((e, mut alert)) => {
                                let _ = alert.write(&mut self.alert);
                                let _ = self.flush_tls();
                                Err(self.handshake_failed("ClientHello", e))
                            }
                        }
                    }
                    Err((e, mut alert)) => {
                        let _ = alert.write(&mut self.alert);
                        let _ = self.flush_tls();
                        Err(self.handshake_failed("ClientHello", e))
                    }
                }
            }
            State::Open(mut conn) => {
                let n = match conn.read_tls(&mut self.stream) {
                    Ok(n) => n,
                    Err(e) => {
                        self.state = State::Open(conn);
                        return Err(e);
                    }
                };
                let processed = conn.process_new_packets();
                let was_handshaking = self.info.is_none();
                self.state = State::Open(conn);
                if let Err(e) = processed {
                    // rustls queued an alert: send it if the socket takes it.
                    let _ = self.flush_tls();
                    self.state = State::Failed;
                    return Err(self.handshake_failed("records", e));
                }
                if was_handshaking {
                    self.note_handshake_done();
                }
                Ok(n > 0)
            }
            other => {
                self.state = other;
                Ok(true)
            }
        }
    }

    fn note_handshake_done(&mut self) {
        if let State::Open(conn) = &self.state
            && !conn.is_handshaking()
        {
            self.info = Some(Arc::new(self.site.info(conn, self.host, self.sni.clone())));
        }
    }
}

impl Read for TlsTcp {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut got = 0usize;
        loop {
            match &mut self.state {
                State::Plain => {
                    if got > 0 {
                        return Ok(got);
                    }
                    return self.stream.read(buf);
                }
                State::Failed => {
                    return if got > 0 {
                        Ok(got)
                    } else {
                        Err(io::Error::new(ErrorKind::InvalidData, "TLS failed"))
                    };
                }
                State::Open(conn) => match conn.reader().read(&mut buf[got..]) {
                    Ok(0) => return Ok(got), // close_notify: end of input
                    Ok(n) => {
                        got += n;
                        if got == buf.len() {
                            return Ok(got);
                        }
                        continue;
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(e) => return if got > 0 { Ok(got) } else { Err(e) },
                },
                State::Sniff | State::Accepting(_) => {}
            }
            // Send what the handshake (or a key update) wants sent first.
            match self.flush_tls() {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => return if got > 0 { Ok(got) } else { Err(e) },
            }
            // With something to return, do not read the socket again: a blocking
            // transport must not wait, and under epoll (level-triggered) what is left
            // in the socket is announced again; what rustls holds, `has_pending_input`
            // reports.
            if got > 0 {
                return Ok(got);
            }
            match self.pull() {
                Ok(true) => {}
                Ok(false) => return Ok(got),
                Err(e) if got > 0 && e.kind() == ErrorKind::WouldBlock => return Ok(got),
                Err(e) => return if got > 0 { Ok(got) } else { Err(e) },
            }
            // The handshake may have produced a flight to send.
            match self.flush_tls() {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => return if got > 0 { Ok(got) } else { Err(e) },
            }
        }
    }
}

impl TlsTcp {
    /// Encrypt `buf` into rustls's send buffer; `flush_now`: also try to put it on the
    /// socket (a part that more parts follow stays buffered: one write for both).
    fn write_plain(&mut self, buf: &[u8], flush_now: bool) -> io::Result<usize> {
        if let State::Plain = self.state {
            return self.stream.write(buf);
        }
        // Records queued earlier leave first: at most SEND_BUFFER waits in memory.
        self.flush_tls()?;
        // A response before the handshake ended (it cannot happen with HTTP/1.1,
        // which reads a request first): finish the handshake.
        while matches!(&self.state, State::Open(c) if c.is_handshaking())
            || matches!(self.state, State::Sniff | State::Accepting(_))
        {
            if !self.pull()? {
                return Err(ErrorKind::UnexpectedEof.into());
            }
            self.flush_tls()?;
        }
        if !flush_now && self.held.is_empty() && buf.len() <= HOLD_MAX {
            self.held.extend_from_slice(buf);
            return Ok(buf.len());
        }
        let State::Open(conn) = &mut self.state else {
            return Err(io::Error::new(ErrorKind::InvalidData, "TLS failed"));
        };
        // What was held and `buf` leave as one payload (one record when small).
        let held = self.held.len();
        let total = conn
            .writer()
            .write_vectored(&[io::IoSlice::new(&self.held), io::IoSlice::new(buf)])?;
        let n = if total >= held {
            self.held.clear();
            if self.held.capacity() > 1024 {
                // An idle connection keeps no large buffer.
                self.held = Vec::new();
            }
            total - held
        } else {
            self.held.drain(..total);
            0
        };
        if flush_now || n < buf.len() {
            match self.flush_tls() {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        if n == 0 && !buf.is_empty() {
            return Err(ErrorKind::WouldBlock.into());
        }
        Ok(n)
    }
}

impl Write for TlsTcp {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_plain(buf, true)
    }

    /// Everything accepted by `write` is on the socket; `WouldBlock` until then.
    fn flush(&mut self) -> io::Result<()> {
        while !self.held.is_empty() {
            let State::Open(conn) = &mut self.state else {
                self.held.clear();
                break;
            };
            let n = conn.writer().write(&self.held)?;
            self.held.drain(..n);
            if n == 0 {
                self.flush_tls()?;
            }
        }
        self.flush_tls()
    }
}

impl Transport for TlsTcp {
    fn fd(&self) -> BorrowedFd<'_> {
        self.stream.as_fd()
    }

    fn interest(&self, want: Want) -> Interest {
        let pending =
            !self.alert.is_empty() || matches!(&self.state, State::Open(c) if c.wants_write());
        match want {
            Want::Read if pending => Interest::ReadWrite,
            Want::Read => Interest::Read,
            Want::Write => Interest::Write,
        }
    }

    fn can_sendfile(&self) -> bool {
        matches!(self.state, State::Plain)
    }

    fn write_more(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_plain(buf, false)
    }

    fn alpn(&self) -> Option<&[u8]> {
        match &self.state {
            State::Open(c) => c.alpn_protocol(),
            _ => None,
        }
    }

    fn tls_info(&self) -> Option<Arc<TlsInfo>> {
        self.info.clone()
    }

    fn handshake_pending(&self) -> bool {
        match &self.state {
            State::Sniff | State::Accepting(_) => true,
            State::Open(c) => c.is_handshaking(),
            State::Plain | State::Failed => false,
        }
    }

    fn plain_http_on_tls(&self) -> bool {
        matches!(self.state, State::Plain)
    }

    fn has_pending_input(&mut self) -> bool {
        match &mut self.state {
            State::Open(c) => c
                .process_new_packets()
                .is_ok_and(|io| io.plaintext_bytes_to_read() > 0),
            _ => false,
        }
    }

    fn set_blocking(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.mode.set(&self.stream, timeout)
    }

    fn set_read_timeout(&mut self, timeout: Duration) -> io::Result<()> {
        self.mode.set_read_timeout(&self.stream, timeout)
    }

    fn send_file(&mut self, _file: &File, _offset: &mut u64, _count: usize) -> io::Result<usize> {
        Err(io::Error::new(
            ErrorKind::Unsupported,
            "sendfile over user-space TLS",
        ))
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        let _ = Write::flush(self);
        if let State::Open(conn) = &mut self.state {
            conn.send_close_notify();
        }
        let _ = self.flush_tls();
        self.stream.shutdown(Shutdown::Write)
    }

    fn peer_has_sent(&mut self) -> bool {
        self.has_pending_input() || self.mode.peer_has_sent(&self.stream)
    }
}

impl Drop for TlsTcp {
    /// Say goodbye with close_notify when the socket takes it at once (clients that
    /// check for truncation see a clean end); never wait for it.
    fn drop(&mut self) {
        if let State::Open(conn) = &mut self.state
            && !conn.is_handshaking()
        {
            conn.send_close_notify();
            if self.stream.set_nonblocking(true).is_ok() {
                let _ = conn.write_tls(&mut self.stream);
            }
        }
    }
}
