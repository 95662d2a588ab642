//! Protocol upgrades through mod_proxy_http (Apache 2.4.47+'s `upgrade=` and
//! mod_proxy_wstunnel's `ws://`/`wss://` URLs): a client's `Upgrade` request is passed
//! on with its `Upgrade` and `Connection: Upgrade` headers when the backend's
//! `upgrade=` list names the protocol; only when the backend answers `101 Switching
//! Protocols` for that protocol does the connection become a tunnel
//! ([`Body::Tunnel`], relayed by the connection driver). Any other answer is an
//! ordinary proxied response.

use std::io;
use std::os::fd::BorrowedFd;

use http::header;
use rhttpd_http::{HeaderMap, HeaderValue, StatusCode, Version};

use super::proxy_backend::{self, Conn, Io};
use crate::conf::proxy::Backend;
use crate::handler::{Body, Request, Response, Tunnel, TunnelPeer};
use crate::log::Level;

impl TunnelPeer for Conn {
    fn fd(&self) -> BorrowedFd<'_> {
        Conn::fd(self)
    }

    fn set_nonblocking(&mut self) -> io::Result<()> {
        match &self.io {
            Io::Tcp(s) => s.set_nonblocking(true),
            Io::Unix(s) => s.set_nonblocking(true),
            Io::Tls(s) => s.tcp().set_nonblocking(true),
        }
    }

    fn wants_write(&self) -> bool {
        match &self.io {
            Io::Tls(s) => s.wants_write(),
            _ => false,
        }
    }

    fn has_pending_input(&mut self) -> bool {
        match &mut self.io {
            Io::Tls(s) => s.has_buffered_input(),
            _ => false,
        }
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        match &mut self.io {
            Io::Tcp(s) => s.shutdown(std::net::Shutdown::Write),
            Io::Unix(s) => s.shutdown(std::net::Shutdown::Write),
            Io::Tls(s) => s.shutdown_write(),
        }
    }
}

/// The first protocol of a header value listing protocols (`websocket`,
/// `h2c, websocket` → `h2c`), lower case.
fn first_protocol(v: &str) -> String {
    v.split(',')
        .next()
        .unwrap_or("")
        .trim()
        .split('/')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// The client's `Upgrade` value when it asks to switch to a protocol this backend
/// allows (`upgrade=` list, `ANY`), over HTTP/1.1 with `Connection: upgrade`.
pub(crate) fn requested(req: &Request<'_>, backend: &Backend) -> Option<HeaderValue> {
    let allowed = backend.params.upgrade.as_ref()?;
    if req.head.version != Version::HTTP_11 {
        return None;
    }
    let upgrade = req.head.headers.get(header::UPGRADE)?;
    let connection_upgrade = req
        .head
        .headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("upgrade"));
    if !connection_upgrade {
        return None;
    }
    let proto = first_protocol(upgrade.to_str().ok()?);
    let ok = allowed.iter().any(|a| a == "any" || *a == proto);
    ok.then(|| upgrade.clone())
}

/// The backend answered 101 to an upgrade request: the response that switches the
/// client over, with the backend connection (and any bytes it sent after its head) as
/// the tunnel's peer. 502 when it switched to a protocol the client did not ask for.
pub(crate) fn switched(
    req: &Request<'_>,
    backend: &Backend,
    asked: &HeaderValue,
    conn: Conn,
    after_head: Vec<u8>,
    backend_headers: &HeaderMap,
    mut client_headers: HeaderMap,
) -> Response {
    let answered = backend_headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .map(first_protocol);
    let wanted = asked.to_str().map(first_protocol).unwrap_or_default();
    if answered.as_deref() != Some(wanted.as_str()) {
        proxy_backend::log(
            req,
            Level::Error,
            &format!(
                "AH10239: {}: backend switched to '{}' instead of the requested '{wanted}'",
                backend.key(),
                answered.as_deref().unwrap_or("")
            ),
        );
        return Response::error(StatusCode::BAD_GATEWAY);
    }
    if let Some(v) = backend_headers.get(header::UPGRADE) {
        client_headers.insert(header::UPGRADE, v.clone());
    }
    client_headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    let idle_timeout = req
        .vhost
        .proxy
        .websocket_idle_timeout
        .unwrap_or_else(|| proxy_backend::io_timeout(req, backend));
    let mut r = Response::new(
        StatusCode::SWITCHING_PROTOCOLS,
        Body::Tunnel(Box::new(Tunnel {
            peer: Box::new(conn),
            from_peer: after_head,
            idle_timeout,
        })),
    );
    r.headers = client_headers;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_protocol_of_upgrade_lists() {
        assert_eq!(first_protocol("WebSocket"), "websocket");
        assert_eq!(first_protocol(" h2c , websocket"), "h2c");
        assert_eq!(first_protocol("HTTP/2.0"), "http");
        assert_eq!(first_protocol(""), "");
    }
}
