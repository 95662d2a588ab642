//! Binding the `Listen` sockets, once, in the parent (they stay open across restarts).

use std::io;
use std::net::TcpListener;

use socket2::{Domain, Protocol, Socket, Type};

use crate::conf::ServerConfig;

/// Bind every listener with Apache's socket options (SO_REUSEADDR, IPV6_V6ONLY,
/// ListenBacklog). Errors read like Apache's AH00072.
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
