//! The protocol seam: which engine speaks on a connection. Every connection starts
//! with the HTTP/1.1 engine; it becomes HTTP/2 ([`super::h2`]) once the transport
//! agreed on ALPN `h2`, when a cleartext connection opens with the h2 preface, or after
//! an `Upgrade: h2c` request ([`super::switch_protocol`]). Handlers and the request
//! pipeline see neither engine.

use rhttpd_http::ServerConn;

/// The engine of one connection.
// HTTP/1.1 is the common case: boxing it would cost an allocation per connection.
#[allow(clippy::large_enum_variant)]
pub enum Protocol {
    /// HTTP/1.0 and HTTP/1.1.
    H1(ServerConn),
    /// HTTP/2.
    H2(Box<super::h2::H2Conn>),
}

/// Which engine a connection wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtocolKind {
    Http1,
    /// HTTP/2: by ALPN `h2` or the prior-knowledge preface.
    Http2,
}

impl Protocol {
    /// The engine for a new connection: HTTP/1.1, which hands over to HTTP/2 once the
    /// handshake or the first bytes say so (the session needs the host's settings).
    pub fn http1() -> Protocol {
        Protocol::H1(ServerConn::new())
    }

    pub fn kind(&self) -> ProtocolKind {
        match self {
            Protocol::H1(_) => ProtocolKind::Http1,
            Protocol::H2(_) => ProtocolKind::Http2,
        }
    }
}

/// What the client asked for: ALPN decides on TLS; on cleartext, the h2 preface at the
/// start of `first_bytes` (`None` while too few bytes have arrived to tell).
pub fn detect(alpn: Option<&[u8]>, first_bytes: Option<&[u8]>) -> ProtocolKind {
    match alpn {
        Some(b"h2") => ProtocolKind::Http2,
        Some(_) => ProtocolKind::Http1,
        None => match first_bytes.and_then(rhttpd_http::starts_with_h2_preface) {
            Some(true) => ProtocolKind::Http2,
            _ => ProtocolKind::Http1,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpn_decides_then_the_preface() {
        assert_eq!(detect(Some(b"h2"), None), ProtocolKind::Http2);
        assert_eq!(detect(Some(b"http/1.1"), None), ProtocolKind::Http1);
        assert_eq!(
            detect(None, Some(rhttpd_http::H2_PREFACE)),
            ProtocolKind::Http2
        );
        assert_eq!(
            detect(None, Some(b"GET / HTTP/1.1\r\n")),
            ProtocolKind::Http1
        );
        assert_eq!(detect(None, None), ProtocolKind::Http1);
        assert_eq!(Protocol::http1().kind(), ProtocolKind::Http1);
    }
}
