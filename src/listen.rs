//! Binding the `Listen` sockets, once, in the parent (they stay open across restarts),
//! and making the connection (plain TCP or TLS) for what a listener accepts. Each
//! listener keeps the protocol its `Listen` line declared (`Listen 8443 https`;
//! `https` by default on port 443).

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::ops::Deref;

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
}

/// The socket's own methods (`accept`, `as_fd`, `local_addr` ...) on the listener.
impl Deref for Listener {
    type Target = TcpListener;

    fn deref(&self) -> &TcpListener {
        &self.socket
    }
}

impl Listener {
    /// The connection for a socket this listener accepted; `nonblocking` for the event
    /// MPM. As mod_ssl decides it, the connection is TLS when the host that answers
    /// the address by default (its first virtual host) has `SSLEngine on`, whatever
    /// protocol the `Listen` line named.
    pub fn connection(
        &self,
        stream: TcpStream,
        client: SocketAddr,
        nonblocking: bool,
        tls: Option<&Arc<TlsSite>>,
    ) -> io::Result<Connection> {
        let local = stream.local_addr()?;
        let info = ConnInfo::new(client, local);
        let mut transport: Box<dyn Transport> = match tls {
            Some(site) if site.serves(local) => {
                Box::new(TlsTcp::new(stream, site.clone(), local, client))
            }
            _ => Box::new(PlainTcp::new(stream)),
        };
        if nonblocking {
            transport.set_blocking(None)?;
        }
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
        sock.listen(cfg.listen_backlog)?;
        out.push(Listener {
            socket: sock.into(),
            protocol: l.protocol.clone(),
        });
    }
    if out.is_empty() {
        return Err(io::Error::other(
            "no listening sockets available, shutting down",
        ));
    }
    Ok(out)
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

    #[test]
    fn listeners_keep_their_declared_protocol() {
        let free = || {
            TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        };
        let (a, b) = (free(), free());
        let text = format!("Listen 127.0.0.1:{a} https\nListen 127.0.0.1:{b}\n");
        let cfg = crate::conf::load(&crate::conf::LoadOptions {
            file: "embedded.conf".into(),
            embedded: Some(Box::leak(text.into_boxed_str())),
            ..Default::default()
        })
        .unwrap();
        let bound = bind_all(&cfg).unwrap();
        let got: Vec<(u16, &str)> = bound
            .iter()
            .map(|l| (l.local_addr().unwrap().port(), l.protocol.as_str()))
            .collect();
        assert_eq!(got, [(a, "https"), (b, "http")]);
        // A connection accepted on it gets its transport from the listener.
        let client = TcpStream::connect(("127.0.0.1", a)).unwrap();
        let (stream, peer) = bound[0].accept().unwrap();
        let conn = bound[0].connection(stream, peer, false, None).unwrap();
        assert_eq!(conn.info.client, client.local_addr().unwrap());
        assert!(conn.transport.can_sendfile(), "no TLS host: plain TCP");
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
