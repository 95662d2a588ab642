//! A raw-frame HTTP/2 client for the wire tests (tests/e2e_h2_wire.rs,
//! tests/e2e_h2_floods.rs): it sends whatever frames a test builds, including broken
//! ones, and reads the server's frames back one by one with bounded waits. h2c with prior
//! knowledge over a `TcpStream`, or TLS with ALPN `h2` through rustls (any certificate
//! accepted). Request header blocks are HPACK literals without indexing, not Huffman
//! coded (written here); response blocks are decoded with the server crate's own HPACK
//! decoder, kept per connection so its dynamic table follows the server's.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rhttpd_http::hpack::Decoder;

pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// Frame types (RFC 9113 §6).
pub const DATA: u8 = 0x0;
pub const HEADERS: u8 = 0x1;
pub const PRIORITY: u8 = 0x2;
pub const RST_STREAM: u8 = 0x3;
pub const SETTINGS: u8 = 0x4;
pub const PUSH_PROMISE: u8 = 0x5;
pub const PING: u8 = 0x6;
pub const GOAWAY: u8 = 0x7;
pub const WINDOW_UPDATE: u8 = 0x8;
pub const CONTINUATION: u8 = 0x9;

// Flags.
pub const END_STREAM: u8 = 0x1;
pub const ACK: u8 = 0x1;
pub const END_HEADERS: u8 = 0x4;
pub const PADDED: u8 = 0x8;
pub const PRIORITY_FLAG: u8 = 0x20;

// Error codes (RFC 9113 §7).
pub const NO_ERROR: u32 = 0x0;
pub const PROTOCOL_ERROR: u32 = 0x1;
pub const INTERNAL_ERROR: u32 = 0x2;
pub const FLOW_CONTROL_ERROR: u32 = 0x3;
pub const SETTINGS_TIMEOUT: u32 = 0x4;
pub const STREAM_CLOSED: u32 = 0x5;
pub const FRAME_SIZE_ERROR: u32 = 0x6;
pub const REFUSED_STREAM: u32 = 0x7;
pub const CANCEL: u32 = 0x8;
pub const COMPRESSION_ERROR: u32 = 0x9;
pub const ENHANCE_YOUR_CALM: u32 = 0xb;

// Settings identifiers (RFC 9113 §6.5.2).
pub const HEADER_TABLE_SIZE: u16 = 0x1;
pub const ENABLE_PUSH: u16 = 0x2;
pub const MAX_CONCURRENT_STREAMS: u16 = 0x3;
pub const INITIAL_WINDOW_SIZE: u16 = 0x4;
pub const MAX_FRAME_SIZE: u16 = 0x5;
pub const MAX_HEADER_LIST_SIZE: u16 = 0x6;

/// One frame as it is on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub ty: u8,
    pub flags: u8,
    pub stream: u32,
    pub payload: Vec<u8>,
}

impl Frame {
    pub fn new(ty: u8, flags: u8, stream: u32, payload: impl Into<Vec<u8>>) -> Frame {
        Frame {
            ty,
            flags,
            stream,
            payload: payload.into(),
        }
    }

    /// The 9-octet header and the payload (the length taken from the payload).
    pub fn encode(&self) -> Vec<u8> {
        frame_with_len(
            self.payload.len() as u32,
            self.ty,
            self.flags,
            self.stream,
            &self.payload,
        )
    }

    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    /// The error code of a RST_STREAM, or of a GOAWAY (its second word).
    /// `u32::MAX` if the payload is too short to hold one.
    pub fn error_code(&self) -> u32 {
        let at = if self.ty == GOAWAY { 4 } else { 0 };
        self.payload.get(at..at + 4).map_or(u32::MAX, be32)
    }
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// A frame header that states `len` whatever the payload is (for length-mismatch cases).
pub fn frame_with_len(len: u32, ty: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(9 + payload.len());
    v.extend_from_slice(&len.to_be_bytes()[1..]);
    v.push(ty);
    v.push(flags);
    v.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
    v.extend_from_slice(payload);
    v
}

/// The octets of one frame.
pub fn frame(ty: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    Frame::new(ty, flags, stream, payload).encode()
}

/// A SETTINGS frame with these entries.
pub fn settings(entries: &[(u16, u32)]) -> Vec<u8> {
    let mut p = Vec::new();
    for (id, v) in entries {
        p.extend_from_slice(&id.to_be_bytes());
        p.extend_from_slice(&v.to_be_bytes());
    }
    frame(SETTINGS, 0, 0, &p)
}

pub fn settings_ack() -> Vec<u8> {
    frame(SETTINGS, ACK, 0, &[])
}

pub fn ping(data: [u8; 8]) -> Vec<u8> {
    frame(PING, 0, 0, &data)
}

pub fn window_update(stream: u32, inc: u32) -> Vec<u8> {
    frame(WINDOW_UPDATE, 0, stream, &inc.to_be_bytes())
}

pub fn rst_stream(stream: u32, code: u32) -> Vec<u8> {
    frame(RST_STREAM, 0, stream, &code.to_be_bytes())
}

pub fn goaway(last: u32, code: u32) -> Vec<u8> {
    let mut p = last.to_be_bytes().to_vec();
    p.extend_from_slice(&code.to_be_bytes());
    frame(GOAWAY, 0, 0, &p)
}

pub fn data(stream: u32, flags: u8, body: &[u8]) -> Vec<u8> {
    frame(DATA, flags, stream, body)
}

/// HEADERS carrying `block` (END_HEADERS is the caller's to set in `flags`).
pub fn headers(stream: u32, flags: u8, block: &[u8]) -> Vec<u8> {
    frame(HEADERS, flags, stream, block)
}

pub fn continuation(stream: u32, flags: u8, block: &[u8]) -> Vec<u8> {
    frame(CONTINUATION, flags, stream, block)
}

/// An HPACK integer with an `n`-bit prefix, the first octet's other bits being `high`
/// (RFC 7541 §5.1).
pub fn hpack_int(out: &mut Vec<u8>, n: u8, high: u8, mut v: usize) {
    let max = (1usize << n) - 1;
    if v < max {
        out.push(high | v as u8);
        return;
    }
    out.push(high | max as u8);
    v -= max;
    while v >= 128 {
        out.push((v % 128 + 128) as u8);
        v /= 128;
    }
    out.push(v as u8);
}

/// An HPACK string literal, not Huffman coded.
pub fn hpack_str(out: &mut Vec<u8>, s: &[u8]) {
    hpack_int(out, 7, 0, s.len());
    out.extend_from_slice(s);
}

/// A literal field without indexing, new name (RFC 7541 §6.2.2).
pub fn hpack_literal(out: &mut Vec<u8>, name: &str, value: &str) {
    out.push(0x00);
    hpack_str(out, name.as_bytes());
    hpack_str(out, value.as_bytes());
}

/// A literal field with incremental indexing, new name (RFC 7541 §6.2.1): it enters
/// the dynamic table.
pub fn hpack_indexed_literal(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.push(0x40);
    hpack_str(out, name.as_bytes());
    hpack_str(out, value);
}

/// An indexed field (RFC 7541 §6.1): 1..=61 static, 62.. dynamic.
pub fn hpack_indexed(out: &mut Vec<u8>, index: usize) {
    hpack_int(out, 7, 0x80, index);
}

/// A dynamic table size update (RFC 7541 §6.3).
pub fn hpack_size_update(out: &mut Vec<u8>, size: usize) {
    hpack_int(out, 5, 0x20, size);
}

/// A field block of literals without indexing, in order.
pub fn headers_block(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (n, v) in fields {
        hpack_literal(&mut out, n, v);
    }
    out
}

/// The pseudo-headers of a GET of `path` on `authority` (https for TLS is not checked by
/// the server; `http` is what h2c clients send).
pub fn get_fields<'a>(authority: &'a str, path: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        (":method", "GET"),
        (":scheme", "http"),
        (":authority", authority),
        (":path", path),
    ]
}

/// Why a read ended without a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadError {
    /// The server closed the connection (EOF, reset, TLS close).
    Closed,
    /// Nothing complete arrived in time.
    Timeout,
}

/// How an exchange ended, for the cases' assertions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// GOAWAY with this error code (last stream id left out: see `expect_goaway`).
    GoAway(u32),
    /// RST_STREAM on this stream with this code.
    Rst(u32, u32),
    /// A response head with this status on this stream.
    Status(u32, u16),
    /// The ACK of our probe PING: the connection is alive and said nothing else.
    Alive,
    /// Closed without a GOAWAY.
    Closed,
    /// A frame the exchange did not call for.
    Unexpected(String),
    Timeout,
}

/// A transport the client can bound reads on.
pub trait Wire: Read + Write {
    fn set_timeout(&mut self, d: Option<Duration>);
}

impl<W: Wire + ?Sized> Wire for Box<W> {
    fn set_timeout(&mut self, d: Option<Duration>) {
        (**self).set_timeout(d);
    }
}

/// A connection over either transport.
pub type Conn = H2<Box<dyn Wire + Send>>;

impl Wire for TcpStream {
    fn set_timeout(&mut self, d: Option<Duration>) {
        let _ = self.set_read_timeout(d);
    }
}

/// A TLS client connection over a `TcpStream`. Unlike `rustls::StreamOwned`, a read
/// never writes first, so what the server sent before closing can still be read after
/// one of our writes failed (the server reset the connection on a flood).
pub struct TlsStream {
    pub conn: rustls::ClientConnection,
    pub sock: TcpStream,
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            match self.conn.reader().read(buf) {
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                other => return other,
            }
            if self.conn.read_tls(&mut self.sock)? == 0 {
                return Ok(0);
            }
            self.conn
                .process_new_packets()
                .map_err(|e| std::io::Error::new(ErrorKind::InvalidData, e))?;
        }
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.conn.writer().write(buf)?;
        self.flush()?;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        while self.conn.wants_write() {
            self.conn.write_tls(&mut self.sock)?;
        }
        self.sock.flush()
    }
}

impl Wire for TlsStream {
    fn set_timeout(&mut self, d: Option<Duration>) {
        let _ = self.sock.set_read_timeout(d);
    }
}

/// The default bound of one read in the tests.
pub const WAIT: Duration = Duration::from_secs(5);

/// One HTTP/2 client connection.
pub struct H2<S: Wire> {
    pub io: S,
    buf: Vec<u8>,
    decoder: Decoder,
    /// A header block being reassembled (stream, octets).
    block: Option<(u32, Vec<u8>)>,
    /// Decoded header blocks per stream, oldest first.
    pub blocks: HashMap<u32, Vec<Vec<(String, String)>>>,
    /// DATA received per stream.
    pub bodies: HashMap<u32, Vec<u8>>,
    /// Streams that got END_STREAM.
    pub ended: Vec<u32>,
    /// The server's SETTINGS, as received.
    pub server_settings: Vec<(u16, u32)>,
    /// Give back every DATA octet at once with WINDOW_UPDATE (stream and connection).
    pub auto_window: bool,
    /// A HEADERS block the server sent could not be decoded.
    pub hpack_failed: bool,
    /// The `:authority` of [`H2::get`].
    pub authority: String,
}

/// An h2c connection to 127.0.0.1:`port`: the preface is not sent yet.
pub fn connect_h2c(port: u16) -> H2<TcpStream> {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect h2c");
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_nodelay(true).unwrap();
    H2::new(s)
}

/// Like [`connect_h2c`] with the client's receive buffer set to `rcvbuf` octets before
/// connecting (a client that does not read then stops the server's writes sooner).
pub fn connect_h2c_rcvbuf(port: u16, rcvbuf: usize) -> H2<TcpStream> {
    let sock =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    sock.set_recv_buffer_size(rcvbuf).expect("SO_RCVBUF");
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    sock.connect(&addr.into()).expect("connect h2c");
    let s: TcpStream = sock.into();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_nodelay(true).unwrap();
    H2::new(s)
}

/// A TLS connection to 127.0.0.1:`port` with SNI `sni` and ALPN `h2`, handshake done,
/// `h2` asserted as the negotiated protocol.
pub fn connect_tls(port: u16, sni: &str) -> H2<TlsStream> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(AnyCert(provider.clone()));
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let name = rustls::pki_types::ServerName::try_from(sni.to_string()).expect("server name");
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name).expect("tls client");
    let mut sock = TcpStream::connect(("127.0.0.1", port)).expect("connect tls");
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    sock.set_write_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    sock.set_nodelay(true).unwrap();
    while conn.is_handshaking() {
        conn.complete_io(&mut sock).expect("TLS handshake");
    }
    assert_eq!(
        conn.alpn_protocol(),
        Some(&b"h2"[..]),
        "ALPN did not pick h2"
    );
    H2::new(TlsStream { conn, sock })
}

/// A certificate verifier that accepts any certificate (the tests' own PKI is not the
/// point here) but still checks the handshake signatures.
#[derive(Debug)]
struct AnyCert(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

impl<S: Wire> H2<S> {
    pub fn new(io: S) -> H2<S> {
        H2 {
            io,
            buf: Vec::new(),
            decoder: Decoder::new(4096),
            block: None,
            blocks: HashMap::new(),
            bodies: HashMap::new(),
            ended: Vec::new(),
            server_settings: Vec::new(),
            auto_window: true,
            hpack_failed: false,
            authority: "localhost".to_string(),
        }
    }

    /// Send `frames` in writes of about 64 KiB, stopping at the first write error (the
    /// server closed on us): how many frames went out.
    pub fn blast(&mut self, frames: impl IntoIterator<Item = Vec<u8>>) -> usize {
        let (mut sent, mut pending, mut batch) = (0, 0, Vec::new());
        for f in frames {
            batch.extend_from_slice(&f);
            pending += 1;
            if batch.len() >= 64 * 1024 {
                if self.send(&batch).is_err() {
                    return sent;
                }
                sent += pending;
                pending = 0;
                batch.clear();
            }
        }
        if !batch.is_empty() && self.send(&batch).is_ok() {
            sent += pending;
        }
        sent
    }

    /// Write raw octets (a write error means the server closed on us).
    pub fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.io.write_all(bytes)?;
        self.io.flush()
    }

    pub fn write_frame(&mut self, f: &Frame) -> std::io::Result<()> {
        self.send(&f.encode())
    }

    /// The next frame, waiting at most `timeout` for it. Header blocks are decoded as
    /// they complete (into `blocks`), DATA collected into `bodies`.
    pub fn read_frame(&mut self, timeout: Duration) -> Result<Frame, ReadError> {
        let end = Instant::now() + timeout;
        loop {
            if self.buf.len() >= 9 {
                let len = be32(&[0, self.buf[0], self.buf[1], self.buf[2]]) as usize;
                if self.buf.len() >= 9 + len {
                    let f = Frame {
                        ty: self.buf[3],
                        flags: self.buf[4],
                        stream: be32(&self.buf[5..9]) & 0x7fff_ffff,
                        payload: self.buf[9..9 + len].to_vec(),
                    };
                    self.buf.drain(..9 + len);
                    self.absorb(&f);
                    return Ok(f);
                }
            }
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ReadError::Timeout);
            }
            self.io.set_timeout(Some(left));
            let mut chunk = [0u8; 32 * 1024];
            match self.io.read(&mut chunk) {
                Ok(0) => return Err(ReadError::Closed),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Err(ReadError::Timeout);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return Err(ReadError::Closed),
            }
        }
    }

    fn absorb(&mut self, f: &Frame) {
        match f.ty {
            HEADERS => {
                let mut p = &f.payload[..];
                let mut pad = 0;
                if f.has(PADDED) && !p.is_empty() {
                    pad = p[0] as usize;
                    p = &p[1..];
                }
                if f.has(PRIORITY_FLAG) && p.len() >= 5 {
                    p = &p[5..];
                }
                let p = &p[..p.len().saturating_sub(pad)];
                self.block = Some((f.stream, p.to_vec()));
                if f.has(END_STREAM) {
                    self.ended.push(f.stream);
                }
                if f.has(END_HEADERS) {
                    self.finish_block();
                }
            }
            CONTINUATION => {
                if let Some((_, b)) = self.block.as_mut() {
                    b.extend_from_slice(&f.payload);
                }
                if f.has(END_HEADERS) {
                    self.finish_block();
                }
            }
            DATA => {
                let mut p = &f.payload[..];
                if f.has(PADDED) && !p.is_empty() {
                    let pad = p[0] as usize;
                    let rest = &p[1..];
                    p = &rest[..rest.len().saturating_sub(pad)];
                }
                self.bodies
                    .entry(f.stream)
                    .or_default()
                    .extend_from_slice(p);
                if f.has(END_STREAM) {
                    self.ended.push(f.stream);
                }
                let n = f.payload.len() as u32;
                if self.auto_window && n > 0 {
                    let mut wu = window_update(0, n);
                    if !f.has(END_STREAM) {
                        wu.extend_from_slice(&window_update(f.stream, n));
                    }
                    let _ = self.send(&wu);
                }
            }
            _ => {}
        }
    }

    fn finish_block(&mut self) {
        let Some((stream, block)) = self.block.take() else {
            return;
        };
        match self.decoder.decode_owned(&block, usize::MAX) {
            Ok(fields) => {
                let fields = fields
                    .into_iter()
                    .map(|f| {
                        (
                            String::from_utf8_lossy(&f.name).into_owned(),
                            String::from_utf8_lossy(&f.value).into_owned(),
                        )
                    })
                    .collect();
                self.blocks.entry(stream).or_default().push(fields);
            }
            Err(_) => self.hpack_failed = true,
        }
    }

    /// Preface and our SETTINGS, then the server's SETTINGS (ACKed) and the ACK of ours.
    pub fn handshake(&mut self) {
        self.handshake_with(&[]);
    }

    pub fn handshake_with(&mut self, ours: &[(u16, u32)]) {
        let mut out = PREFACE.to_vec();
        out.extend_from_slice(&settings(ours));
        self.send(&out).expect("send preface");
        let (mut theirs, mut acked) = (false, false);
        let end = Instant::now() + Duration::from_secs(10);
        while !(theirs && acked) {
            let left = end.saturating_duration_since(Instant::now());
            let f = self
                .read_frame(left)
                .unwrap_or_else(|e| panic!("handshake: {e:?} (theirs {theirs}, acked {acked})"));
            match (f.ty, f.has(ACK)) {
                (SETTINGS, false) => {
                    assert_eq!(f.stream, 0);
                    assert!(!theirs, "a second SETTINGS before the handshake ended");
                    for e in f.payload.chunks_exact(6) {
                        let id = u16::from_be_bytes([e[0], e[1]]);
                        self.server_settings.push((id, be32(&e[2..6])));
                    }
                    theirs = true;
                    self.send(&settings_ack()).expect("send SETTINGS ACK");
                }
                (SETTINGS, true) => acked = true,
                (WINDOW_UPDATE, _) => {}
                other => panic!("unexpected frame during the handshake: {other:?} {f:?}"),
            }
        }
    }

    /// A setting the server announced.
    pub fn server_setting(&self, id: u16) -> Option<u32> {
        self.server_settings
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, v)| *v)
    }

    /// HEADERS with END_STREAM|END_HEADERS for a GET of `path`.
    pub fn get(&mut self, stream: u32, path: &str) {
        let block = headers_block(&get_fields(&self.authority, path));
        self.send(&headers(stream, END_STREAM | END_HEADERS, &block))
            .expect("send GET");
    }

    /// Frames until a GOAWAY: `Ok((last_stream_id, error_code))`, `Err(Closed)` if the
    /// connection closed without one.
    pub fn expect_goaway(&mut self, timeout: Duration) -> Result<(u32, u32), ReadError> {
        let end = Instant::now() + timeout;
        loop {
            let f = self.read_frame(end.saturating_duration_since(Instant::now()))?;
            if f.ty == GOAWAY {
                let last = f.payload.get(0..4).map_or(u32::MAX, be32) & 0x7fff_ffff;
                return Ok((last, f.error_code()));
            }
        }
    }

    /// Whether the server closes the connection within `timeout` (frames discarded).
    pub fn closes_within(&mut self, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        loop {
            match self.read_frame(end.saturating_duration_since(Instant::now())) {
                Ok(_) => {}
                Err(ReadError::Closed) => return true,
                Err(ReadError::Timeout) => return false,
            }
        }
    }

    /// Frames until RST_STREAM on `stream`: its code. A GOAWAY or close first is an
    /// error naming what came.
    pub fn expect_rst(&mut self, stream: u32) -> Result<u32, Outcome> {
        let end = Instant::now() + WAIT;
        loop {
            match self.read_frame(end.saturating_duration_since(Instant::now())) {
                Ok(f) if f.ty == RST_STREAM && f.stream == stream => return Ok(f.error_code()),
                Ok(f) if f.ty == GOAWAY => return Err(Outcome::GoAway(f.error_code())),
                Ok(_) => {}
                Err(ReadError::Closed) => return Err(Outcome::Closed),
                Err(ReadError::Timeout) => return Err(Outcome::Timeout),
            }
        }
    }

    /// What the frames sent so far led to. A probe PING is sent now; the server handles
    /// frames in order, so whatever RST_STREAM or GOAWAY our earlier frames caused comes
    /// before the probe's ACK (or instead of it, the connection then closing). Then: a
    /// GOAWAY wins, else the first RST_STREAM, else the response head on `stream` (waited
    /// for if `stream` is not 0), else `Alive`.
    pub fn outcome(&mut self, stream: u32) -> Outcome {
        const PROBE: [u8; 8] = *b"probe-01";
        let _ = self.send(&ping(PROBE));
        let end = Instant::now() + WAIT;
        let mut rst = None;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.read_frame(left) {
                Ok(f) if f.ty == GOAWAY => return Outcome::GoAway(f.error_code()),
                Ok(f) if f.ty == RST_STREAM => {
                    rst.get_or_insert(Outcome::Rst(f.stream, f.error_code()));
                }
                Ok(f) if f.ty == PING && f.has(ACK) && f.payload != PROBE => {
                    return Outcome::Unexpected(format!("PING ACK of {:?}", f.payload));
                }
                Ok(f) if f.ty == PING && f.has(ACK) => break,
                Ok(_) => {}
                Err(ReadError::Closed) => return rst.unwrap_or(Outcome::Closed),
                Err(ReadError::Timeout) => return rst.unwrap_or(Outcome::Timeout),
            }
        }
        if let Some(r) = rst {
            return r;
        }
        if stream == 0 {
            return Outcome::Alive;
        }
        loop {
            if let Some(st) = self.status(stream) {
                return Outcome::Status(stream, st);
            }
            let left = end.saturating_duration_since(Instant::now());
            match self.read_frame(left) {
                Ok(f) if f.ty == GOAWAY => return Outcome::GoAway(f.error_code()),
                Ok(f) if f.ty == RST_STREAM => return Outcome::Rst(f.stream, f.error_code()),
                Ok(_) => {}
                Err(ReadError::Closed) => return Outcome::Closed,
                Err(ReadError::Timeout) => return Outcome::Timeout,
            }
        }
    }

    /// The `:status` of the last header block received on `stream` with one.
    pub fn status(&self, stream: u32) -> Option<u16> {
        self.blocks.get(&stream)?.iter().rev().find_map(|b| {
            b.iter()
                .find(|(n, _)| n == ":status")
                .and_then(|(_, v)| v.parse().ok())
        })
    }

    /// A response field of the first header block on `stream`.
    pub fn header(&self, stream: u32, name: &str) -> Option<String> {
        self.blocks
            .get(&stream)?
            .first()?
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }

    /// Read until `stream` ended (END_STREAM) or was reset: (status, body). Panics on a
    /// GOAWAY, RST_STREAM of that stream, close or timeout.
    pub fn response(&mut self, stream: u32) -> (u16, Vec<u8>) {
        let end = Instant::now() + Duration::from_secs(20);
        while !self.ended.contains(&stream) {
            match self.read_frame(end.saturating_duration_since(Instant::now())) {
                Ok(f) if f.ty == GOAWAY => panic!(
                    "GOAWAY {} before stream {stream} ended: {:?}",
                    f.error_code(),
                    String::from_utf8_lossy(f.payload.get(8..).unwrap_or_default())
                ),
                Ok(f) if f.ty == RST_STREAM && f.stream == stream => {
                    panic!("stream {stream} reset with {}", f.error_code())
                }
                Ok(_) => {}
                Err(e) => panic!("stream {stream}: {e:?} before it ended"),
            }
        }
        let status = self.status(stream).expect("a :status");
        (status, self.bodies.remove(&stream).unwrap_or_default())
    }
}
