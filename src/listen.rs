//! Binding the `Listen` sockets, once, in the parent (they stay open across restarts),
//! and making the connection (plain TCP or TLS) for what a listener accepts. Each
//! listener keeps the protocol its `Listen` line declared (`Listen 8443 https`;
//! `https` by default on port 443).

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::ops::Deref;
use std::os::fd::AsFd;

use std::sync::Arc;

use crate::conn::{Connection, PlainTcp, Transport};
use crate::handler::ConnInfo;
use crate::tls::{TlsSite, TlsTcp};

use socket2::{Domain, Protocol, Socket, Type};

use crate::conf::ServerConfig;

/// A bound listening socket and the protocol its `Listen` line declared.
#[derive(Debug)]
pub struct Listener {
    pub socket: TcpListener,
    /// `http`, `https`, or another name given on the `Listen` line.
    pub protocol: String,
    /// The address connections arrive on when the listener is bound to one address
    /// (not a wildcard): then no getsockname(2) per connection.
    local: Option<SocketAddr>,
}

/// The socket's own methods (`accept`, `as_fd`, `local_addr` ...) on the listener.
impl Deref for Listener {
    type Target = TcpListener;

    fn deref(&self) -> &TcpListener {
        &self.socket
    }
}

impl Listener {
    /// Accept a client. `nonblocking` (the event MPM): the socket arrives non-blocking
    /// from accept4(2) itself. TCP_NODELAY is inherited from the listening socket.
    pub fn accept_client(&self, nonblocking: bool) -> io::Result<(TcpStream, SocketAddr)> {
        if !nonblocking {
            return self.socket.accept();
        }
        let (sock, addr) =
            socket2::SockRef::from(&self.socket).accept4(rhttpd_sys::net::ACCEPT_NONBLOCKING)?;
        let client = addr
            .as_socket()
            .ok_or_else(|| io::Error::other("accept: not an IP peer"))?;
        Ok((sock.into(), client))
    }

    /// The connection for a socket this listener accepted with
    /// [`accept_client`](Listener::accept_client) (`nonblocking` as given there). As mod_ssl decides it, the connection is TLS when the host that answers
    /// the address by default (its first virtual host) has `SSLEngine on`, whatever
    /// protocol the `Listen` line named.
    pub fn connection(
        &self,
        stream: TcpStream,
        client: SocketAddr,
        nonblocking: bool,
        tls: Option<&Arc<TlsSite>>,
    ) -> io::Result<Connection> {
        let local = match self.local {
            Some(a) => a,
            None => stream.local_addr()?,
        };
        let info = ConnInfo::new(client, local);
        let transport: Box<dyn Transport> = match tls {
            Some(site) if site.serves(local) => {
                let mut t = TlsTcp::new(stream, site.clone(), local, client);
                if nonblocking {
                    t.set_blocking(None)?;
                }
                Box::new(t)
            }
            _ => Box::new(PlainTcp::accepted(stream, nonblocking)),
        };
        Ok(Connection::new(transport, info))
    }
}

/// Bind every listener with Apache's socket options (SO_REUSEADDR, IPV6_V6ONLY,
/// SendBufferSize/ReceiveBufferSize, ListenBacklog). Errors read like Apache's AH00072.
pub fn bind_all(cfg: &ServerConfig) -> io::Result<Vec<Listener>> {
    let mut out = Vec::with_capacity(cfg.listeners.len());
    for l in &cfg.listeners {
        let sock = Socket::new(
            Domain::for_address(l.addr),
            Type::STREAM,
            Some(Protocol::TCP),
        )?;
        sock.set_reuse_address(true)?;
        if l.addr.is_ipv6() {
            sock.set_only_v6(true)?;
        }
        sock.set_keepalive(true)?;
        set_buffer_sizes(&sock, cfg, l.addr);
        sock.bind(&l.addr.into()).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "{}: AH00072: make_sock: could not bind to address {}",
                    crate::log::os_error_text(&e),
                    l.addr
                ),
            )
        })?;
        // Accepted sockets inherit it (Linux): no setsockopt per connection.
        sock.set_tcp_nodelay(true)?;
        apply_accept_filter(cfg, &l.protocol, sock.as_fd());
        sock.listen(cfg.listen_backlog)?;
        let socket: TcpListener = sock.into();
        let local = socket.local_addr()?;
        out.push(Listener {
            socket,
            protocol: l.protocol.clone(),
            local: (!local.ip().is_unspecified()).then_some(local),
        });
    }
    if out.is_empty() {
        return Err(io::Error::other(
            "no listening sockets available, shutting down",
        ));
    }
    Ok(out)
}

/// Seconds of `TCP_DEFER_ACCEPT` for a data filter: Apache's value.
const DEFER_ACCEPT_SECS: i32 = 30;

/// Whether listeners of `protocol` accept only connections whose client has sent data
/// (`AcceptFilter`: the last filter named for the protocol, unless it is `none`).
pub fn defers_accept(cfg: &ServerConfig, protocol: &str) -> bool {
    cfg.accept_filters
        .iter()
        .rev()
        .find(|(p, _)| p.eq_ignore_ascii_case(protocol))
        .is_some_and(|(_, f)| f != "none")
}

/// `AcceptFilter` on a listening socket (bound now or kept across a restart): the
/// kernel holds a connection until its first data arrives, so an accepted connection
/// always has a request to read. As Apache's, a failure is a warning (AH00076).
pub fn apply_accept_filter(cfg: &ServerConfig, protocol: &str, fd: std::os::fd::BorrowedFd<'_>) {
    let secs = if defers_accept(cfg, protocol) {
        DEFER_ACCEPT_SECS
    } else {
        0
    };
    if let Err(e) = rhttpd_sys::net::set_defer_accept(fd, secs) {
        crate::log::log(
            "core",
            crate::log::Level::Warn,
            None,
            &format!(
                "({}) {}: AH00076: Failed to enable APR_TCP_DEFER_ACCEPT",
                e.raw_os_error().unwrap_or(0),
                crate::log::os_error_text(&e)
            ),
        );
    }
}

/// `SendBufferSize` / `ReceiveBufferSize` (0 = leave the system default). As Apache's
/// make_sock, a failure is only a warning (AH00070 / AH00071).
fn set_buffer_sizes(sock: &Socket, cfg: &ServerConfig, addr: SocketAddr) {
    let warn = |ah: &str, what: &str, e: io::Error| {
        crate::log::log(
            "core",
            crate::log::Level::Warn,
            None,
            &format!(
                "{}: {ah}: make_sock: failed to set {what} for address {addr}, using default",
                crate::log::os_error_text(&e),
            ),
        )
    };
    if cfg.send_buffer_size != 0
        && let Err(e) = sock.set_send_buffer_size(cfg.send_buffer_size as usize)
    {
        warn("AH00070", "SendBufferSize", e);
    }
    if cfg.receive_buffer_size != 0
        && let Err(e) = sock.set_recv_buffer_size(cfg.receive_buffer_size as usize)
    {
        warn("AH00071", "ReceiveBufferSize", e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A loopback port free right now.
    fn free() -> u16 {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    /// A configuration from `text`.
    fn load(text: String) -> ServerConfig {
        crate::conf::load(&crate::conf::LoadOptions {
            file: "embedded.conf".into(),
            embedded: Some(Box::leak(text.into_boxed_str())),
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn accept_filters_hold_connections_until_their_first_data() {
        let (a, b, c) = (free(), free(), free());
        // Defaults: http and https data; another protocol has none; `none` turns it off.
        let text =
            format!("Listen 127.0.0.1:{a}\nListen 127.0.0.1:{b} https\nListen 127.0.0.1:{c} ftp\n");
        let bound = bind_all(&load(text.clone())).unwrap();
        let defer = |l: &Listener| rhttpd_sys::net::defer_accept(l.socket.as_fd()).unwrap();
        assert!(defer(&bound[0]) > 0 && defer(&bound[1]) > 0);
        assert_eq!(defer(&bound[2]), 0);
        // A silent connection is not accepted; one that sent its request is.
        bound[0].set_nonblocking(true).unwrap();
        let _silent = TcpStream::connect(("127.0.0.1", a)).unwrap();
        let mut talking = TcpStream::connect(("127.0.0.1", a)).unwrap();
        std::io::Write::write_all(&mut talking, b"GET / HTTP/1.1\r\n").unwrap();
        let accepted = (0..200).find_map(|_| match bound[0].accept_client(true) {
            Ok((_, peer)) => Some(peer),
            Err(_) => {
                std::thread::sleep(std::time::Duration::from_millis(10));
                None
            }
        });
        assert_eq!(accepted, Some(talking.local_addr().unwrap()));
        assert_eq!(
            bound[0].accept_client(true).unwrap_err().kind(),
            io::ErrorKind::WouldBlock,
            "the silent connection was accepted"
        );
        drop(bound);
        let cfg = load(format!(
            "{text}AcceptFilter http none\nAcceptFilter ftp data\n"
        ));
        let bound = bind_all(&cfg).unwrap();
        assert_eq!(defer(&bound[0]), 0);
        assert!(defer(&bound[1]) > 0 && defer(&bound[2]) > 0);
    }

    #[test]
    fn listeners_keep_their_declared_protocol() {
        let (a, b) = (free(), free());
        // AcceptFilter none: the connections below send nothing before they are accepted.
        let text = format!(
            "Listen 127.0.0.1:{a} https\nListen 127.0.0.1:{b}\nAcceptFilter http none\nAcceptFilter https none\n"
        );
        let bound = bind_all(&load(text)).unwrap();
        let got: Vec<(u16, &str)> = bound
            .iter()
            .map(|l| (l.local_addr().unwrap().port(), l.protocol.as_str()))
            .collect();
        assert_eq!(got, [(a, "https"), (b, "http")]);
        // A connection accepted on it gets its transport from the listener.
        let client = TcpStream::connect(("127.0.0.1", a)).unwrap();
        let (stream, peer) = bound[0].accept_client(false).unwrap();
        let conn = bound[0].connection(stream, peer, false, None).unwrap();
        assert_eq!(conn.info.client, client.local_addr().unwrap());
        assert_eq!(conn.info.local, client.peer_addr().unwrap());
        assert!(conn.transport.can_sendfile(), "no TLS host: plain TCP");
        // Non-blocking from accept4 itself, TCP_NODELAY inherited from the listener.
        let client = TcpStream::connect(("127.0.0.1", b)).unwrap();
        let (stream, peer) = bound[1].accept_client(true).unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        assert!(stream.nodelay().unwrap());
        let mut one = [0u8; 1];
        assert_eq!(
            std::io::Read::read(&mut &stream, &mut one)
                .unwrap_err()
                .kind(),
            io::ErrorKind::WouldBlock
        );
    }

    #[test]
    fn buffer_sizes_are_set_on_the_listening_socket() {
        let sock = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).unwrap();
        let before = sock.send_buffer_size().unwrap();
        let mut cfg = crate::conf::load(&crate::conf::LoadOptions {
            file: "embedded.conf".into(),
            embedded: Some("Listen 127.0.0.1:1\nSendBufferSize 65536\nReceiveBufferSize 32768\n"),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            (cfg.send_buffer_size, cfg.receive_buffer_size),
            (65536, 32768)
        );
        set_buffer_sizes(&sock, &cfg, "127.0.0.1:1".parse().unwrap());
        // Linux doubles the value asked for (bookkeeping overhead).
        assert_eq!(sock.send_buffer_size().unwrap(), 2 * 65536);
        assert_eq!(sock.recv_buffer_size().unwrap(), 2 * 32768);
        assert_ne!(before, 2 * 65536);
        cfg.send_buffer_size = 0;
        cfg.receive_buffer_size = 0;
        let other = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).unwrap();
        set_buffer_sizes(&other, &cfg, "127.0.0.1:1".parse().unwrap());
        assert_eq!(other.send_buffer_size().unwrap(), before);
    }
}
