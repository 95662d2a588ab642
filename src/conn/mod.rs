//! One connection, whatever the MPM: a [`Transport`] (plain TCP or TLS), the protocol
//! engine speaking on it ([`Protocol`]: the sans-I/O HTTP/1.1 [`rhttpd_http::ServerConn`],
//! or HTTP/2 in [`h2`]), and what the request pipeline needs to know about it
//! ([`ConnInfo`]).
//!
//! Two drivers move it, sharing every step of a request ([`exchange`]: pipeline,
//! response head, access log, scoreboard) and the one response writer ([`outgoing`]):
//!
//! - [`blocking`]: blocking I/O with Timeout/KeepAliveTimeout, for `-X`, prefork
//!   children and worker threads;
//! - [`readiness`]: non-blocking steps for the event MPM, run on its listener thread
//!   (requests that cannot block) or on a worker, handing the connection back to the
//!   listener's epoll set whenever it would wait.

pub mod blocking;
mod body;
pub mod deadline;
pub mod exchange;
pub mod h2;
pub mod outgoing;
pub mod protocol;
pub mod readiness;
pub mod tunnel;

#[cfg(test)]
mod tests;

use std::time::{Duration, Instant};

use rhttpd_http::{RequestHead, ServerConn};

pub use self::outgoing::{Outgoing, Progress};
pub use self::protocol::Protocol;
use crate::handler::ConnInfo;
pub use crate::transport::{PlainTcp, Transport, Want};

/// What a connection is doing, for the scoreboard (Apache's R/W/K/L/C letters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Reading a request head or body (`R`).
    Read,
    /// Running the handler and writing the response (`W`).
    Write,
    /// Waiting for the next request on a kept-alive connection (`K`).
    KeepAlive,
    /// Writing the access log (`L`).
    Log,
    /// Lingering close (`C`).
    Closing,
}

/// A request that finished, for the scoreboard.
#[derive(Debug)]
pub struct Finished<'a> {
    pub request_line: &'a str,
    pub vhost: &'a str,
    pub bytes: u64,
    pub duration: Duration,
}

/// Hooks an MPM uses to follow a connection. All have no-op defaults.
pub trait ConnObserver {
    fn phase(&mut self, _phase: Phase) {}
    fn request_started(&mut self, _head: &RequestHead, _client: &ConnInfo) {}
    fn request_finished(&mut self, _f: &Finished<'_>) {}
    /// A multiplexing session (HTTP/2) between requests: `text` describes it in place of
    /// a request line (mod_http2's "idle, streams: ..." scoreboard text).
    fn session_status(&mut self, _text: &str, _conn: &ConnInfo) {}
    /// The server is stopping: answer the current request with `Connection: close`.
    fn stopping(&self) -> bool {
        false
    }
}

/// An observer that observes nothing (`-X`, tests).
pub struct NoObserver;
impl ConnObserver for NoObserver {}

/// A client connection with its transport and protocol engine.
pub struct Connection {
    pub transport: Box<dyn Transport>,
    pub protocol: Protocol,
    pub info: ConnInfo,
    /// A response the transport has not taken in full yet (event: write completion).
    pub out: Option<Outgoing>,
    /// When the connection was accepted.
    pub opened: Instant,
    /// RequestReadTimeout's limit for the handshake or the head being read.
    pub head_timer: deadline::HeadTimer,
    /// The connection switched protocols: its bytes are relayed to a backend.
    pub tunnel: Option<Box<tunnel::Relay>>,
    /// The request whose handler left work waiting on the event listener (a request
    /// sent to a backend), as parsed when it started, with its clock and the
    /// connection's request count then: the run after the wait takes it instead of
    /// parsing the buffered head again. Its bytes stay buffered (a worker that finishes
    /// the request parses them itself).
    pub waiting_request: Option<(rhttpd_http::RequestHead, exchange::Clock, u32)>,
}

impl Connection {
    /// A new connection; the engine is chosen from what the transport negotiated.
    pub fn new(transport: Box<dyn Transport>, info: ConnInfo) -> Connection {
        let protocol = Protocol::http1();
        Connection {
            transport,
            protocol,
            info,
            out: None,
            opened: Instant::now(),
            head_timer: deadline::HeadTimer::default(),
            tunnel: None,
            waiting_request: None,
        }
    }

    /// Take what the transport's handshake agreed into the request's connection facts
    /// (once: the handshake ends before the first request is complete).
    pub fn note_transport(&mut self) {
        if self.info.tls.is_none() && !self.info.plain_http_on_tls {
            self.info.tls = self.transport.tls_info();
            self.info.plain_http_on_tls = self.transport.plain_http_on_tls();
        }
    }

    /// Start the head timer if it is not running, before waiting for head bytes (see
    /// `deadline.rs`). HTTP/2 streams are bounded by Timeout instead.
    pub fn arm_head_timer(&mut self, rt: &crate::conf::reqtimeout::ReqTimeout) {
        let first = self.info.keepalives == 0;
        let Protocol::H1(h1) = &self.protocol else {
            return;
        };
        let pending = !h1.buffered().is_empty();
        let handshaking = self.transport.handshake_pending();
        self.head_timer
            .arm(rt, self.opened, first, pending, handshaking);
    }

    /// Start relaying after a `101 Switching Protocols` head: what the client sent
    /// behind its request goes to the peer first; `ex` is logged when the tunnel ends.
    pub fn open_tunnel(&mut self, tunnel: crate::handler::Tunnel, ex: exchange::Exchange) {
        let from_client = self
            .h1()
            .map(|h1| h1.buffered().to_vec())
            .unwrap_or_default();
        self.tunnel = Some(Box::new(tunnel::Relay::new(tunnel, from_client, Some(ex))));
    }

    /// A tunnel ended: log the request that opened it with the bytes relayed.
    pub fn close_tunnel(&mut self, site: &crate::site::Site, obs: &mut dyn ConnObserver) {
        let Some(mut relay) = self.tunnel.take() else {
            return;
        };
        if let Some(ex) = relay.exchange.take() {
            let head = ex.head_len();
            ex.finish_counts(
                &mut self.info,
                site,
                obs,
                relay.bytes_down,
                head + relay.bytes_down,
                true,
            );
        }
    }

    /// The HTTP/1.1 engine, while it is the one speaking.
    pub fn h1(&self) -> Option<&ServerConn> {
        match &self.protocol {
            Protocol::H1(h1) => Some(h1),
            Protocol::H2(_) => None,
        }
    }

    /// Input has arrived that no request took yet (HTTP/1.1: a pipelined or partial
    /// request).
    pub fn has_buffered_input(&self) -> bool {
        self.h1().is_some_and(|h1| !h1.buffered().is_empty())
    }

    /// Work is waiting that needs a thread which may block: a pipelined HTTP/1.1
    /// request, an HTTP/2 request not run yet or a streamed HTTP/2 body.
    pub fn wants_worker(&self) -> bool {
        match &self.protocol {
            Protocol::H1(h1) => !h1.buffered().is_empty(),
            Protocol::H2(h2) => h2.needs_thread(),
        }
    }

    /// Octets of responses written so far (write completion's progress).
    pub fn written(&self) -> u64 {
        match &self.protocol {
            Protocol::H2(h2) => h2.written,
            Protocol::H1(_) => self.out.as_ref().map_or(0, |o| o.written),
        }
    }

    /// Give back buffer memory while the connection waits between requests.
    pub fn shrink_idle(&mut self) {
        match &mut self.protocol {
            Protocol::H1(h1) => h1.shrink_idle(),
            Protocol::H2(h2) => h2.shrink_idle(),
        }
    }
}

/// What [`switch_protocol`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Switch {
    /// HTTP/1.1 goes on.
    Stay,
    /// The first bytes are the start of the h2 preface: wait for the rest.
    NeedMore,
    /// The connection speaks HTTP/2 now.
    Switched,
}

/// At a connection's start, hand it to HTTP/2 when its TLS handshake agreed on ALPN
/// `h2`, or when a cleartext client opens with the preface and `H2Direct` allows it
/// (the default host of the address decides, as no request has named one yet).
pub fn switch_protocol(conn: &mut Connection, host: &crate::conf::VirtualHost) -> Switch {
    let Protocol::H1(h1) = &conn.protocol else {
        return Switch::Stay;
    };
    if h1.served() > 0 || conn.transport.handshake_pending() {
        return Switch::Stay;
    }
    let tls = conn.transport.tls_info().is_some() || conn.transport.plain_http_on_tls();
    let to_h2 = if conn.transport.alpn() == Some(b"h2") {
        true
    } else if !tls && host.h2.h2c_direct() {
        match rhttpd_http::starts_with_h2_preface(h1.buffered()) {
            Some(true) => true,
            None if !h1.buffered().is_empty() => return Switch::NeedMore,
            _ => false,
        }
    } else {
        false
    };
    if !to_h2 {
        return Switch::Stay;
    }
    let input = h1.buffered().to_vec();
    conn.note_transport();
    conn.protocol = Protocol::H2(h2::H2Conn::start(host, &input));
    Switch::Switched
}

/// How [`upgrade_to_h2c`] ended.
// Returned and matched at once; boxing the head would cost an allocation per request.
#[allow(clippy::large_enum_variant)]
pub enum Upgrade {
    /// The connection speaks HTTP/2; the request is its stream 1.
    Done,
    /// Not upgraded (no `Upgrade: h2c`, h2c off, invalid `HTTP2-Settings`): serve the
    /// request over HTTP/1.1.
    Declined(RequestHead),
    /// The 101 could not be written: close.
    Failed,
}

/// If `head` asks for h2c and the host allows it, answer `101 Switching Protocols` and
/// make the request stream 1 of a new HTTP/2 session. The transport must be blocking
/// (a worker thread).
pub fn upgrade_to_h2c(
    conn: &mut Connection,
    host: &crate::conf::VirtualHost,
    head: RequestHead,
) -> Upgrade {
    use std::io::Write;
    let tls = conn.transport.tls_info().is_some() || conn.transport.plain_http_on_tls();
    let Some(settings) = h2::upgrade(&head, host, tls) else {
        return Upgrade::Declined(head);
    };
    let Protocol::H1(h1) = &conn.protocol else {
        return Upgrade::Declined(head);
    };
    let rest = h1.buffered().to_vec();
    let Some(h2) = h2::H2Conn::upgraded(host, &settings, head.clone(), &rest) else {
        return Upgrade::Declined(head);
    };
    if conn.transport.write_all(h2::SWITCHING).is_err() || conn.transport.flush().is_err() {
        return Upgrade::Failed;
    }
    conn.protocol = Protocol::H2(h2);
    Upgrade::Done
}
