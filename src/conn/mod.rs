//! One connection, whatever the MPM: a [`Transport`] (plain TCP today), the protocol
//! engine chosen for it ([`Protocol`]: the sans-I/O HTTP/1.1 [`rhttpd_http::ServerConn`]),
//! and what the request pipeline needs to know about it ([`ConnInfo`]).
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
pub mod outgoing;
pub mod protocol;
pub mod readiness;

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
}

impl Connection {
    /// A new connection; the engine is chosen from what the transport negotiated.
    pub fn new(transport: Box<dyn Transport>, info: ConnInfo) -> Connection {
        let protocol = Protocol::for_transport(transport.alpn());
        Connection {
            transport,
            protocol,
            info,
            out: None,
            opened: Instant::now(),
            head_timer: deadline::HeadTimer::default(),
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
    /// `deadline.rs`).
    pub fn arm_head_timer(&mut self, rt: &crate::conf::reqtimeout::ReqTimeout) {
        let first = self.info.keepalives == 0;
        let Protocol::H1(h1) = &self.protocol;
        let pending = !h1.buffered().is_empty();
        let handshaking = self.transport.handshake_pending();
        self.head_timer
            .arm(rt, self.opened, first, pending, handshaking);
    }

    /// The HTTP/1.1 engine.
    pub fn h1(&self) -> &ServerConn {
        let Protocol::H1(h1) = &self.protocol;
        h1
    }

    /// Give back buffer memory while the connection waits between requests.
    pub fn shrink_idle(&mut self) {
        let Protocol::H1(h1) = &mut self.protocol;
        h1.shrink_idle();
    }
}
