//! The protocol seam: which engine speaks on a connection. It is chosen from what the
//! transport negotiated (ALPN) and, on cleartext connections, from the first bytes (an
//! HTTP/2 client with prior knowledge opens with the h2 preface). Today HTTP/1.1 is the
//! only engine; a second one is a new variant here and one arm in each driver, with no
//! change to handlers or the request pipeline.

use rhttpd_http::ServerConn;

/// The engine of one connection.
#[derive(Debug)]
pub enum Protocol {
    /// HTTP/1.0 and HTTP/1.1.
    H1(ServerConn),
}

/// Which engine a connection wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtocolKind {
    Http1,
    /// HTTP/2: by ALPN `h2` or the prior-knowledge preface.
    Http2,
}

impl Protocol {
    /// The engine for a new connection: HTTP/1.1 unless the transport agreed on
    /// another protocol that an engine exists for.
    pub fn for_transport(alpn: Option<&[u8]>) -> Protocol {
        match detect(alpn, None) {
            // No HTTP/2 engine yet: a client that negotiated h2 was not offered it.
            ProtocolKind::Http2 | ProtocolKind::Http1 => Protocol::H1(ServerConn::new()),
        }
    }

    pub fn kind(&self) -> ProtocolKind {
        match self {
            Protocol::H1(_) => ProtocolKind::Http1,
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
        assert_eq!(
            Protocol::for_transport(Some(b"h2")).kind(),
            ProtocolKind::Http1,
            "no h2 engine yet"
        );
    }
}
