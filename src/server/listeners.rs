//! Binding the `Listen` sockets, once, in the parent (they stay open across restarts).

use std::io;
use std::net::{SocketAddr, TcpListener};

use socket2::{Domain, Protocol, Socket, Type};

use crate::conf::ServerConfig;

/// Bind every listener with Apache's socket options (SO_REUSEADDR, IPV6_V6ONLY,
/// SendBufferSize/ReceiveBufferSize, ListenBacklog). Errors read like Apache's AH00072.
pub fn bind_all(cfg: &ServerConfig) -> io::Result<Vec<TcpListener>> {
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
        out.push(sock.into());
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
