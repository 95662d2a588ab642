//! mod_proxy's backend connections, shared by the protocol modules (`proxy_http.rs`,
//! `proxy_fcgi.rs`): connections over TCP or a Unix socket (their per-process pool and
//! its limits are in `proxy_pool.rs`), and the error state of a backend after a failed
//! connect (`retry=`, 60 s by default), during which requests get 503 without a
//! connection attempt.
//!
//! The pool is per process (each prefork child, or each worker/event child shared by
//! its threads). The error state of the backends of `ProxyPass` rules is in shared
//! memory (`proxy_worker_state.rs`), as Apache keeps it, so one child's failure spares
//! the others; other backends (`SetHandler "proxy:..."`, rewrite `[P]`) keep a
//! per-process state. Balancer members keep theirs in the balancer's shared memory.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::sync::{LazyLock, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::conf::proxy::{Backend, BackendAddr, Scheme};
use crate::handler::Request;
use crate::log::Level;

/// A message from mod_proxy about `req`.
pub(crate) fn log(req: &Request<'_>, level: Level, msg: &str) {
    crate::log::log("proxy", level, Some(req.conn.client), msg);
}

/// The transport of a backend connection.
pub(crate) enum Io {
    Tcp(TcpStream),
    Unix(UnixStream),
    Tls(Box<crate::tls::client::ClientStream>),
}

/// A connection to a backend.
pub(crate) struct Conn {
    pub(crate) io: Io,
    /// Its descriptor is in this process's event listener epoll set (edge-triggered,
    /// under a token made from the descriptor), where it stays until it is closed: the
    /// listener does not register it again for each request it waits on.
    pub(crate) in_listener: bool,
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.io {
            Io::Tcp(s) => s.read(buf),
            Io::Unix(s) => s.read(buf),
            Io::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.io {
            Io::Tcp(s) => s.write(buf),
            Io::Unix(s) => s.write(buf),
            Io::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.io {
            Io::Tls(s) => s.flush(),
            _ => Ok(()),
        }
    }
}

impl Conn {
    pub(crate) fn new(io: Io) -> Conn {
        Conn {
            io,
            in_listener: false,
        }
    }

    pub(crate) fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        use std::os::fd::AsFd;
        match &self.io {
            Io::Tcp(s) => s.as_fd(),
            Io::Unix(s) => s.as_fd(),
            Io::Tls(s) => s.tcp().as_fd(),
        }
    }

    pub(crate) fn set_timeout(&self, timeout: Duration) {
        let t = Some(timeout.max(Duration::from_millis(1)));
        match &self.io {
            Io::Tcp(s) => {
                let _ = s.set_read_timeout(t);
                let _ = s.set_write_timeout(t);
            }
            Io::Unix(s) => {
                let _ = s.set_read_timeout(t);
                let _ = s.set_write_timeout(t);
            }
            Io::Tls(s) => s.set_timeout(timeout),
        }
    }

    /// Back to blocking mode (a connection made on the event listener, before a worker or
    /// the pool has it).
    pub(crate) fn set_blocking(&self) {
        let _ = match &self.io {
            Io::Tcp(s) => s.set_nonblocking(false),
            Io::Unix(s) => s.set_nonblocking(false),
            Io::Tls(s) => s.tcp().set_nonblocking(false),
        };
    }

    /// On the event listener, readiness came: append what has arrived to `buf`, reading
    /// until a short read or `EAGAIN` (readiness is edge-triggered), 4 KiB first (most
    /// answers) and 16 KiB after. True when the wait is over whatever the answer says:
    /// the backend closed or failed, or `buf` grew past `limit`.
    pub(crate) fn read_ready(&self, buf: &mut Vec<u8>, limit: usize) -> bool {
        loop {
            let want = if buf.is_empty() { 4096 } else { 16 * 1024 };
            match rhttpd_sys::net::recv_dontwait_append(self.fd(), buf, want) {
                Ok(0) => return true,
                Ok(n) if n < want => return false,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
                Err(_) => return true,
            }
            if buf.len() > limit {
                return true;
            }
        }
    }

    /// An idle pooled connection is usable when the backend has neither closed it nor
    /// sent anything unexpected (Apache's `ap_proxy_is_socket_connected`): one peek.
    pub(crate) fn is_reusable(&mut self) -> bool {
        use std::os::fd::AsFd;
        let fd = match &mut self.io {
            Io::Tls(s) => {
                if s.has_buffered_input() {
                    return false;
                }
                s.tcp().as_fd()
            }
            Io::Tcp(s) => TcpStream::as_fd(s),
            Io::Unix(s) => UnixStream::as_fd(s),
        };
        rhttpd_sys::net::idle_and_open(fd).unwrap_or(false)
    }
}

/// Why no connection could be had.
pub(crate) enum ConnectError {
    /// The backend is in error state (a recent connect failed).
    InError,
    Failed,
}

static DOWN: LazyLock<Mutex<HashMap<String, Instant>>> = LazyLock::new(Default::default);

fn down() -> MutexGuard<'static, HashMap<String, Instant>> {
    DOWN.lock().unwrap_or_else(|e| e.into_inner())
}

fn in_error(key: &str) -> bool {
    if let Some(down) = super::proxy_worker_state::in_error(key) {
        return down;
    }
    let mut d = down();
    match d.get(key) {
        Some(until) if Instant::now() < *until => true,
        Some(_) => {
            d.remove(key);
            false
        }
        None => false,
    }
}

/// On the event listener: a connection to the Unix socket `path` of `backend` when one
/// can be had at once (a non-blocking `connect(2)`; a full backlog is `EAGAIN`), left
/// non-blocking ([`Conn::set_blocking`] before blocking I/O or the pool). `None` when it
/// cannot, or the backend is in error state: a worker then connects (and logs) as usual.
pub(crate) fn connect_unix_now(backend: &Backend, path: &std::path::Path) -> Option<Conn> {
    if in_error(backend.key()) {
        return None;
    }
    let sock = socket2::Socket::new(
        socket2::Domain::UNIX,
        socket2::Type::STREAM.nonblocking(),
        None,
    )
    .ok()?;
    sock.connect(&socket2::SockAddr::unix(path).ok()?).ok()?;
    Some(Conn::new(Io::Unix(UnixStream::from(sock))))
}

/// Open a new connection to `backend` (or refuse while it is in error state). A failed
/// connect puts the backend in error state for `retry=` and logs as Apache does.
pub(crate) fn connect(
    req: &Request<'_>,
    backend: &Backend,
    io_timeout: Duration,
) -> Result<Conn, ConnectError> {
    let key = backend.key();
    let proto = match backend.scheme {
        Scheme::Http => "HTTP",
        Scheme::Https => "HTTPS",
        Scheme::Fcgi => "FCGI",
    };
    if backend.scheme == Scheme::Https && !req.vhost.ssl.proxy_engine {
        log(
            req,
            Level::Error,
            &format!(
                "AH00961: HTTPS: failed to enable ssl support for {key}: SSLProxyEngine is not on in this virtual host"
            ),
        );
        return Err(ConnectError::Failed);
    }
    if in_error(key) {
        log(
            req,
            Level::Error,
            &format!("AH00940: {proto}: disabled connection for ({key})"),
        );
        return Err(ConnectError::InError);
    }
    let connect_timeout = backend.params.connect_timeout.unwrap_or(io_timeout);
    let result = match &backend.addr {
        BackendAddr::Unix(path) => UnixStream::connect(path).map(|s| Conn::new(Io::Unix(s))),
        BackendAddr::Tcp { host, port } => {
            (host.as_str(), *port).to_socket_addrs().and_then(|addrs| {
                let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
                for a in addrs {
                    match TcpStream::connect_timeout(&a, connect_timeout) {
                        Ok(s) => {
                            let _ = s.set_nodelay(true);
                            if backend.params.tcp_keepalive {
                                let _ = socket2::SockRef::from(&s).set_keepalive(true);
                            }
                            if let Some(n) = backend.params.receive_buffer.or(req
                                .vhost
                                .proxy
                                .extra
                                .receive_buffer)
                            {
                                let _ = socket2::SockRef::from(&s).set_recv_buffer_size(n);
                            }
                            return Ok(Conn::new(Io::Tcp(s)));
                        }
                        Err(e) => last = e,
                    }
                }
                Err(last)
            })
        }
    };
    let result = result.and_then(|c| {
        c.set_timeout(io_timeout);
        match (c.io, &backend.addr) {
            (Io::Tcp(tcp), BackendAddr::Tcp { host, .. }) if backend.scheme == Scheme::Https => {
                crate::tls::client::connect(tcp, host, &req.vhost.ssl)
                    .map(|s| Conn::new(Io::Tls(Box::new(s))))
                    .map_err(io::Error::other)
            }
            (io, _) => Ok(Conn::new(io)),
        }
    });
    match result {
        Ok(c) => Ok(c),
        Err(e) => {
            log(
                req,
                Level::Error,
                &format!(
                    "{}: AH00957: {}: attempt to connect to {key} ({key}) failed",
                    crate::log::os_error_text(&e),
                    proto.to_ascii_lowercase()
                ),
            );
            let retry = backend.params.retry;
            if !retry.is_zero() {
                if !super::proxy_worker_state::set_error(key, retry) {
                    down().insert(key.to_string(), Instant::now() + retry);
                }
                log(
                    req,
                    Level::Error,
                    &format!(
                        "AH00959: ap_proxy_connect_backend disabling worker for ({key}) for {}s",
                        retry.as_secs()
                    ),
                );
            }
            log(
                req,
                Level::Error,
                &format!("AH01114: {proto}: failed to make connection to backend: {key}"),
            );
            Err(ConnectError::Failed)
        }
    }
}

/// The read/write timeout for a backend: `timeout=`, else ProxyTimeout, else Timeout.
pub(crate) fn io_timeout(req: &Request<'_>, backend: &Backend) -> Duration {
    backend
        .params
        .timeout
        .or(req.vhost.proxy.timeout)
        .unwrap_or(req.vhost.timeout)
}

pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
