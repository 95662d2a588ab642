//! The server side of one HTTP/1.1 connection as a state machine, without I/O.
//!
//! [`ServerConn`] owns the connection's input buffer and knows where the connection is
//! in its life: reading a request head, reading (or discarding) a request body while the
//! handler runs, writing a response, waiting between requests (keep-alive), closing. A
//! driver — blocking (prefork, worker, `-X`) or readiness-based (event) — moves bytes
//! between the engine and a transport and asks it what comes next:
//!
//! 1. put bytes in ([`ServerConn::read_from`] or [`ServerConn::feed`]) until
//!    [`ServerConn::next_request`] gives a [`RequestHead`] (or an error to answer);
//! 2. while the handler runs, pull the body with [`ServerConn::read_body`] (sending
//!    [`CONTINUE_100`] first when [`ServerConn::take_continue`] says so); afterwards
//!    [`ServerConn::handler_done`] says whether the rest of the body must be discarded;
//! 3. [`ServerConn::respond`] writes the response head and makes the keep-alive decision
//!    (Apache's `ap_set_keepalive` plus what only the connection knows: the body was read
//!    to its end, the server is stopping, MaxKeepAliveRequests);
//! 4. once the response is on the wire, [`ServerConn::response_sent`] says whether to wait
//!    for the next request or to close (and whether a lingering close is needed).
//!
//! Pipelined requests stay in the buffer and are served in order.

use std::io::{self, Read};

use crate::body::BodyDecoder;
use crate::request::parse_request_head;
use crate::response::{Framing, KeepAlivePolicy, ResponseLength, write_response_head};
use crate::types::{BodyFraming, HeaderMap, Limits, ParseError, RequestHead, StatusCode};

/// What a client sends first to speak HTTP/2 with prior knowledge (RFC 9113 §3.4).
pub const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Whether `input` starts with the HTTP/2 connection preface: `Some(true)`/`Some(false)`
/// once enough bytes decide it, `None` while `input` is a strict prefix of it.
pub fn starts_with_h2_preface(input: &[u8]) -> Option<bool> {
    let n = input.len().min(H2_PREFACE.len());
    if input[..n] != H2_PREFACE[..n] {
        Some(false)
    } else if n == H2_PREFACE.len() {
        Some(true)
    } else {
        None
    }
}

/// How much is read from the transport at a time.
const READ_CHUNK: usize = 16 * 1024;
/// Consumed input is moved out of the buffer once it exceeds this.
const COMPACT_AFTER: usize = 64 * 1024;

/// Where the connection is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnState {
    /// Waiting for (the rest of) a request head; after a response with nothing
    /// buffered, this is the keep-alive wait ([`ServerConn::is_idle`]).
    ReadingHead,
    /// A request was taken; its handler runs and may read the body.
    Handling,
    /// The response head was made; the driver is writing the response.
    Writing,
    /// The connection is to be closed: nothing more is read or answered.
    Closed,
}

/// What the engine needs next, or what it found.
// The head is moved straight to the caller; boxing it would cost an allocation per request.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Event {
    /// A complete request head: run it.
    Request(RequestHead),
    /// More input is needed for a request head.
    NeedInput,
    /// The input is not a valid request: answer `error.status()` with
    /// [`ServerConn::reject`], then close.
    Invalid(ParseError),
}

/// The result of one [`ServerConn::read_body`] call.
#[derive(Debug, PartialEq, Eq)]
pub enum BodyRead {
    /// `n` body bytes were copied out.
    Data(usize),
    /// The buffer holds no more body bytes: read from the transport and feed them.
    NeedInput,
    /// The body is complete.
    End,
    /// The body is invalid or too large; the handler's response is replaced by an error
    /// for `status()` and the connection closes.
    Failed(ParseError),
}

/// What to do after a response was written in full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum After {
    /// Wait for the next request (or serve the one already buffered).
    KeepAlive,
    /// Close the connection. `clean`: the request was read to its end and nothing more
    /// is buffered, so the close needs no lingering unless the peer still sends.
    Close { clean: bool },
}

/// How much of a peeked request's body the buffer holds ([`ServerConn::body_buffered`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyBuffered {
    /// The whole body is buffered, or its framing is invalid: reading it will not wait.
    Whole,
    /// Part of it, fewer than the cap's bytes: more is on its way.
    Partial,
    /// More than the cap's bytes are needed: the body is read while the handler runs.
    Large,
}

/// The keep-alive settings of the virtual host that answers (KeepAlive,
/// KeepAliveTimeout, MaxKeepAliveRequests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeepAliveSettings {
    /// KeepAlive On and a non-zero KeepAliveTimeout.
    pub enabled: bool,
    /// KeepAliveTimeout in whole seconds (for the `Keep-Alive:` header).
    pub timeout_secs: u64,
    /// MaxKeepAliveRequests (0 = unlimited).
    pub max: u32,
}

/// The request body being read while its handler runs.
#[derive(Debug)]
struct BodyState {
    decoder: BodyDecoder,
    /// The client waits for `100 Continue` before it sends the body.
    continue_pending: bool,
    /// Decoded bytes a short read could not take yet.
    spill: Vec<u8>,
    error: Option<ParseError>,
    /// Reading from the transport failed (EOF, reset, timeout) inside the body.
    input_failed: bool,
}

/// One HTTP/1.1 server connection, sans I/O.
#[derive(Debug)]
pub struct ServerConn {
    buf: Vec<u8>,
    start: usize,
    state: ConnState,
    /// Responses completed on this connection.
    served: u32,
    body: Option<BodyState>,
    /// The keep-alive decision of the response being written.
    keep_alive: bool,
    /// The last request's body was read to its end (or it had none).
    body_complete: bool,
}

impl Default for ServerConn {
    fn default() -> Self {
        Self::new()
    }
}

impl ServerConn {
    pub fn new() -> Self {
        ServerConn {
            buf: Vec::new(),
            start: 0,
            state: ConnState::ReadingHead,
            served: 0,
            body: None,
            keep_alive: false,
            body_complete: true,
        }
    }

    pub fn state(&self) -> ConnState {
        self.state
    }

    /// Responses completed on this connection so far.
    pub fn served(&self) -> u32 {
        self.served
    }

    /// Bytes received and not consumed yet (a partial head, pipelined requests, body).
    pub fn buffered(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    /// Between requests with nothing buffered: the keep-alive wait.
    pub fn is_idle(&self) -> bool {
        self.state == ConnState::ReadingHead && self.served > 0 && self.buffered().is_empty()
    }

    /// Append bytes received from the transport.
    pub fn feed(&mut self, data: &[u8]) {
        self.compact();
        self.buf.extend_from_slice(data);
    }

    /// Read once from `r` into the buffer (at most 16 KiB); `Ok(0)` at end of input.
    pub fn read_from(&mut self, r: &mut dyn Read) -> io::Result<usize> {
        self.compact();
        let old = self.buf.len();
        self.buf.resize(old + READ_CHUNK, 0);
        let res = r.read(&mut self.buf[old..]);
        self.buf.truncate(old + *res.as_ref().unwrap_or(&0));
        res
    }

    /// Give back the buffer's memory while the connection is idle.
    pub fn shrink_idle(&mut self) {
        self.compact();
        if self.buf.is_empty() {
            self.buf = Vec::new();
        } else {
            self.buf.shrink_to_fit();
        }
    }

    fn compact(&mut self) {
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start > COMPACT_AFTER {
            self.buf.drain(..self.start);
            self.start = 0;
        }
    }

    fn consume(&mut self, n: usize) {
        self.start += n.min(self.buf.len() - self.start);
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
    }

    /// Parse the next request head without taking it (the event MPM looks at it before
    /// deciding where to run it). `Ok(None)`: more input is needed.
    pub fn peek_request(&self, limits: &Limits) -> Result<Option<RequestHead>, ParseError> {
        if self.state != ConnState::ReadingHead || self.buffered().is_empty() {
            return Ok(None);
        }
        parse_request_head(self.buffered(), limits)
    }

    /// Whether the body of `head` (returned by [`ServerConn::peek_request`], not taken
    /// yet) is in the buffer: the event MPM collects bodies of up to `cap` bytes on its
    /// listener thread before a worker runs the request, so a slow sender holds no
    /// thread. Chunked bodies are decoded in a scratch decoder to find their end.
    pub fn body_buffered(&self, head: &RequestHead, cap: usize) -> BodyBuffered {
        let rest = self.buffered().get(head.head_len..).unwrap_or_default();
        match head.body {
            BodyFraming::None | BodyFraming::Length(0) => BodyBuffered::Whole,
            BodyFraming::Length(n) if n > cap as u64 => BodyBuffered::Large,
            BodyFraming::Length(n) if rest.len() as u64 >= n => BodyBuffered::Whole,
            BodyFraming::Length(_) => BodyBuffered::Partial,
            BodyFraming::UntilClose => BodyBuffered::Large,
            BodyFraming::Chunked => {
                let mut decoder = BodyDecoder::new(BodyFraming::Chunked, 0);
                let mut pos = 0;
                loop {
                    match decoder.decode(&rest[pos..]) {
                        Err(_) => return BodyBuffered::Whole,
                        Ok(d) if d.done => return BodyBuffered::Whole,
                        Ok(d) if d.consumed == 0 => break,
                        Ok(d) => pos += d.consumed,
                    }
                }
                if rest.len() > cap {
                    BodyBuffered::Large
                } else {
                    BodyBuffered::Partial
                }
            }
        }
    }

    /// Take a head returned by [`ServerConn::peek_request`]: its bytes are consumed and
    /// its body (bounded by `body_limit`, LimitRequestBody; 0 = unlimited) is what
    /// [`ServerConn::read_body`] reads.
    pub fn accept_request(&mut self, head: &RequestHead, body_limit: u64) {
        self.consume(head.head_len);
        self.state = ConnState::Handling;
        self.body_complete = head.body == BodyFraming::None;
        self.body = (head.body != BodyFraming::None).then(|| BodyState {
            decoder: BodyDecoder::new(head.body, body_limit),
            continue_pending: head.expect_continue,
            spill: Vec::new(),
            error: None,
            input_failed: false,
        });
    }

    /// The next request, if its head is complete.
    pub fn next_request(&mut self, limits: &Limits, body_limit: u64) -> Event {
        match self.peek_request(limits) {
            Ok(Some(head)) => {
                self.accept_request(&head, body_limit);
                Event::Request(head)
            }
            Ok(None) => Event::NeedInput,
            Err(e) => {
                self.state = ConnState::Closed;
                Event::Invalid(e)
            }
        }
    }

    /// Whether `100 Continue` must be sent now, before the first body read (once).
    pub fn take_continue(&mut self) -> bool {
        match self.body.as_mut() {
            Some(b) if b.continue_pending && !b.decoder.is_done() => {
                b.continue_pending = false;
                true
            }
            _ => false,
        }
    }

    /// Copy decoded body bytes into `out`.
    pub fn read_body(&mut self, out: &mut [u8]) -> BodyRead {
        let Some(b) = self.body.as_mut() else {
            return BodyRead::End;
        };
        if let Some(e) = &b.error {
            return BodyRead::Failed(e.clone());
        }
        if out.is_empty() {
            return BodyRead::Data(0);
        }
        if !b.spill.is_empty() {
            let n = b.spill.len().min(out.len());
            out[..n].copy_from_slice(&b.spill[..n]);
            b.spill.drain(..n);
            return BodyRead::Data(n);
        }
        loop {
            if b.decoder.is_done() {
                return BodyRead::End;
            }
            // Decode even when the buffer is empty: an error the decoder found after the
            // data it last returned (a chunk size over the limit) is reported now, not
            // when more input arrives.
            let input = &self.buf[self.start..];
            let d = match b.decoder.decode(input) {
                Ok(d) => d,
                Err(e) => {
                    b.error = Some(e.clone());
                    return BodyRead::Failed(e);
                }
            };
            let n = d.data.len().min(out.len());
            out[..n].copy_from_slice(&d.data[..n]);
            // A data run longer than the caller's buffer: keep the rest aside so that
            // the run is consumed exactly once.
            b.spill.extend_from_slice(&d.data[n..]);
            let consumed = d.consumed;
            self.start += consumed;
            if self.start == self.buf.len() {
                self.buf.clear();
                self.start = 0;
            }
            if n > 0 {
                return BodyRead::Data(n);
            }
            if consumed == 0 {
                return BodyRead::NeedInput;
            }
        }
    }

    /// The transport ended or failed while the body was being read: the body cannot be
    /// completed or discarded, so the connection closes after the response.
    pub fn input_failed(&mut self) {
        if let Some(b) = self.body.as_mut() {
            b.input_failed = true;
        }
    }

    /// The body did not arrive within its time limit (`RequestReadTimeout body=`): the
    /// handler's response is replaced by 408 and the connection closes.
    pub fn input_timed_out(&mut self) {
        if let Some(b) = self.body.as_mut() {
            b.input_failed = true;
            b.error.get_or_insert(ParseError::BodyTimeout);
        }
    }

    /// The body failed to decode (the handler's response must be replaced by an error
    /// for its status).
    pub fn body_error(&self) -> Option<&ParseError> {
        self.body.as_ref().and_then(|b| b.error.as_ref())
    }

    /// Bytes of body framing read from the wire so far (for `%I`).
    pub fn body_wire_len(&self) -> u64 {
        self.body.as_ref().map_or(0, |b| b.decoder.wire_len())
    }

    /// The handler returned. `true`: the rest of the body must be read and discarded
    /// (with [`ServerConn::read_body`]) before the next request can be read. No draining
    /// when the client still waits for `100 Continue` (it may never send the body: close
    /// instead), when the body failed, or when the transport failed.
    pub fn handler_done(&mut self) -> bool {
        match &self.body {
            None => false,
            Some(b) => {
                !(b.decoder.is_done() || b.continue_pending || b.error.is_some() || b.input_failed)
            }
        }
    }

    /// Write the response head for `req` into `out` and decide keep-alive: granted when
    /// the host allows it, the body was read to its end, the server is not `stopping`, and
    /// the request and response allow it (see [`write_response_head`]).
    #[allow(clippy::too_many_arguments)]
    pub fn respond(
        &mut self,
        req: &RequestHead,
        status: StatusCode,
        headers: &HeaderMap,
        length: ResponseLength,
        settings: &KeepAliveSettings,
        stopping: bool,
        server: &str,
        date: &str,
        out: &mut Vec<u8>,
    ) -> Framing {
        self.body_complete = match &self.body {
            None => true,
            Some(b) => b.decoder.is_done() && b.error.is_none(),
        };
        let policy = KeepAlivePolicy {
            enabled: settings.enabled && self.body_complete && !stopping,
            timeout_secs: settings.timeout_secs,
            max: settings.max,
            served: self.served,
        };
        let framing = write_response_head(
            Some(req),
            status,
            headers,
            length,
            &policy,
            server,
            date,
            out,
        );
        self.keep_alive = framing.keep_alive;
        self.state = ConnState::Writing;
        framing
    }

    /// Write the head of an error response to input that is not a request (or a request
    /// head that timed out): never kept alive.
    pub fn reject(
        &mut self,
        status: StatusCode,
        headers: &HeaderMap,
        body_len: u64,
        server: &str,
        date: &str,
        out: &mut Vec<u8>,
    ) {
        let policy = KeepAlivePolicy {
            enabled: false,
            timeout_secs: 0,
            max: 0,
            served: self.served,
        };
        let length = ResponseLength::Known(body_len);
        write_response_head(None, status, headers, length, &policy, server, date, out);
        self.keep_alive = false;
        self.body_complete = false;
        self.state = ConnState::Writing;
    }

    /// The response was written in full: keep the connection or close it.
    pub fn response_sent(&mut self) -> After {
        self.served += 1;
        self.body = None;
        if self.keep_alive {
            self.state = ConnState::ReadingHead;
            After::KeepAlive
        } else {
            self.state = ConnState::Closed;
            After::Close {
                clean: self.body_complete && self.buffered().is_empty(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CONTINUE_100;

    const KA: KeepAliveSettings = KeepAliveSettings {
        enabled: true,
        timeout_secs: 5,
        max: 100,
    };

    fn request(c: &mut ServerConn) -> RequestHead {
        match c.next_request(&Limits::default(), 0) {
            Event::Request(h) => h,
            other => panic!("expected a request, got {other:?}"),
        }
    }

    fn answer(c: &mut ServerConn, h: &RequestHead, ka: &KeepAliveSettings) -> String {
        let mut out = Vec::new();
        c.respond(
            h,
            StatusCode::OK,
            &HeaderMap::new(),
            ResponseLength::Known(2),
            ka,
            false,
            "rhttpd",
            "Thu, 01 Jan 1970 00:00:00 GMT",
            &mut out,
        );
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn partial_head_needs_input_then_yields_the_request() {
        let mut c = ServerConn::new();
        c.feed(b"GET / HTTP/1.1\r\nHo");
        assert!(matches!(
            c.next_request(&Limits::default(), 0),
            Event::NeedInput
        ));
        c.feed(b"st: a\r\n\r\n");
        let h = request(&mut c);
        assert_eq!(h.path, "/");
        assert_eq!(c.state(), ConnState::Handling);
        assert!(c.buffered().is_empty());
    }

    #[test]
    fn pipelined_requests_come_out_in_order_and_keep_alive() {
        let mut c = ServerConn::new();
        c.feed(b"GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n");
        let a = request(&mut c);
        assert!(answer(&mut c, &a, &KA).contains("HTTP/1.1 200 OK"));
        assert_eq!(c.response_sent(), After::KeepAlive);
        assert!(!c.is_idle(), "the second request is buffered");
        let b = request(&mut c);
        assert_eq!((a.path.as_str(), b.path.as_str()), ("/a", "/b"));
        answer(&mut c, &b, &KA);
        assert_eq!(c.response_sent(), After::KeepAlive);
        assert!(c.is_idle());
        assert_eq!(c.served(), 2);
    }

    #[test]
    fn keep_alive_rules() {
        // HTTP/1.0 without keep-alive token: close.
        let mut c = ServerConn::new();
        c.feed(b"GET / HTTP/1.0\r\n\r\n");
        let h = request(&mut c);
        assert!(answer(&mut c, &h, &KA).contains("Connection: close"));
        assert_eq!(c.response_sent(), After::Close { clean: true });
        // HTTP/1.0 with keep-alive: kept, with the Keep-Alive header.
        let mut c = ServerConn::new();
        c.feed(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        let h = request(&mut c);
        let head = answer(&mut c, &h, &KA);
        assert!(head.contains("Keep-Alive: timeout=5, max=100"), "{head}");
        assert_eq!(c.response_sent(), After::KeepAlive);
        // Connection: close from an HTTP/1.1 client.
        let mut c = ServerConn::new();
        c.feed(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        let h = request(&mut c);
        answer(&mut c, &h, &KA);
        assert_eq!(c.response_sent(), After::Close { clean: true });
        // KeepAlive Off.
        let off = KeepAliveSettings {
            enabled: false,
            ..KA
        };
        let mut c = ServerConn::new();
        c.feed(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        let h = request(&mut c);
        answer(&mut c, &h, &off);
        assert!(matches!(c.response_sent(), After::Close { .. }));
    }

    #[test]
    fn max_keep_alive_requests_closes_the_last_one() {
        let two = KeepAliveSettings { max: 2, ..KA };
        let mut c = ServerConn::new();
        // As Apache: a response is kept alive while fewer than MaxKeepAliveRequests
        // were kept alive before it, so the third request of `max 2` closes.
        for i in 0..3 {
            c.feed(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
            let h = request(&mut c);
            let head = answer(&mut c, &h, &two);
            let after = c.response_sent();
            if i < 2 {
                assert_eq!(after, After::KeepAlive);
            } else {
                assert!(head.contains("Connection: close"), "{head}");
                assert!(matches!(after, After::Close { .. }));
            }
        }
    }

    #[test]
    fn stopping_server_answers_connection_close() {
        let mut c = ServerConn::new();
        c.feed(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        let h = request(&mut c);
        let mut out = Vec::new();
        let f = c.respond(
            &h,
            StatusCode::OK,
            &HeaderMap::new(),
            ResponseLength::Known(0),
            &KA,
            true,
            "",
            "d",
            &mut out,
        );
        assert!(!f.keep_alive);
        assert!(matches!(c.response_sent(), After::Close { .. }));
    }

    #[test]
    fn head_request_sends_no_body() {
        let mut c = ServerConn::new();
        c.feed(b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n");
        let h = request(&mut c);
        let mut out = Vec::new();
        let f = c.respond(
            &h,
            StatusCode::OK,
            &HeaderMap::new(),
            ResponseLength::Known(10),
            &KA,
            false,
            "",
            "d",
            &mut out,
        );
        assert!(!f.send_body);
        assert!(
            String::from_utf8(out)
                .unwrap()
                .contains("Content-Length: 10")
        );
        assert_eq!(c.response_sent(), After::KeepAlive);
    }

    #[test]
    fn body_is_read_across_feeds_and_the_next_request_follows() {
        let mut c = ServerConn::new();
        c.feed(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nab");
        let h = request(&mut c);
        let mut out = [0u8; 16];
        assert_eq!(c.read_body(&mut out), BodyRead::Data(2));
        assert_eq!(c.read_body(&mut out), BodyRead::NeedInput);
        c.feed(b"cdeGET /next HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(c.read_body(&mut out), BodyRead::Data(3));
        assert_eq!(&out[..3], b"cde");
        assert_eq!(c.read_body(&mut out), BodyRead::End);
        assert!(!c.handler_done());
        answer(&mut c, &h, &KA);
        assert_eq!(c.response_sent(), After::KeepAlive);
        assert_eq!(request(&mut c).path, "/next");
    }

    #[test]
    fn unread_body_is_drained_and_chunked_bodies_decode() {
        let mut c = ServerConn::new();
        c.feed(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
        let h = request(&mut c);
        assert_eq!(c.body_wire_len(), 0);
        assert!(c.handler_done(), "the handler read nothing: drain");
        let mut scratch = [0u8; 2];
        let mut got = Vec::new();
        loop {
            match c.read_body(&mut scratch) {
                BodyRead::Data(n) => got.extend_from_slice(&scratch[..n]),
                BodyRead::End => break,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(got, b"abc");
        assert!(c.body_wire_len() > 3);
        answer(&mut c, &h, &KA);
        assert_eq!(c.response_sent(), After::KeepAlive);
    }

    #[test]
    fn expect_continue_is_asked_for_once_and_an_unread_body_closes() {
        let mut c = ServerConn::new();
        c.feed(b"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
        let h = request(&mut c);
        assert!(CONTINUE_100.starts_with(b"HTTP/1.1 100"));
        // The handler does not read the body: no 100, no drain, close.
        assert!(!c.handler_done());
        answer(&mut c, &h, &KA);
        assert_eq!(c.response_sent(), After::Close { clean: false });

        let mut c = ServerConn::new();
        c.feed(b"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
        let h = request(&mut c);
        assert!(c.take_continue());
        assert!(!c.take_continue());
        c.feed(b"xyz");
        let mut out = [0u8; 8];
        assert_eq!(c.read_body(&mut out), BodyRead::Data(3));
        assert_eq!(c.read_body(&mut out), BodyRead::End);
        answer(&mut c, &h, &KA);
        assert_eq!(c.response_sent(), After::KeepAlive);
    }

    #[test]
    fn body_over_the_limit_fails_and_closes() {
        let mut c = ServerConn::new();
        c.feed(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789");
        let Event::Request(h) = c.next_request(&Limits::default(), 4) else {
            panic!()
        };
        let mut out = [0u8; 16];
        assert_eq!(
            c.read_body(&mut out),
            BodyRead::Failed(ParseError::BodyTooLarge)
        );
        assert_eq!(c.body_error(), Some(&ParseError::BodyTooLarge));
        assert!(!c.handler_done());
        answer(&mut c, &h, &KA);
        assert_eq!(c.response_sent(), After::Close { clean: false });
    }

    #[test]
    fn chunk_over_the_limit_after_data_fails_without_more_input() {
        // The decoder returns the first chunk's data and notes that the next chunk's size
        // is over the limit; the next read reports it although the buffer is now empty.
        let mut c = ServerConn::new();
        c.feed(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
        let Event::Request(_) = c.next_request(&Limits::default(), 16) else {
            panic!()
        };
        c.feed(b"3\r\nabc\r\n123456789\r\n");
        let mut out = [0u8; 64];
        assert_eq!(c.read_body(&mut out), BodyRead::Data(3));
        assert_eq!(
            c.read_body(&mut out),
            BodyRead::Failed(ParseError::BodyTooLarge)
        );
    }

    #[test]
    fn invalid_input_is_reported_and_closes() {
        let mut c = ServerConn::new();
        c.feed(b"GET / HTTP/3.0\r\n\r\n");
        match c.next_request(&Limits::default(), 0) {
            Event::Invalid(e) => assert_eq!(e.status(), StatusCode::HTTP_VERSION_NOT_SUPPORTED),
            other => panic!("{other:?}"),
        }
        let mut out = Vec::new();
        c.reject(
            StatusCode::BAD_REQUEST,
            &HeaderMap::new(),
            0,
            "",
            "d",
            &mut out,
        );
        assert!(
            String::from_utf8(out)
                .unwrap()
                .contains("Connection: close")
        );
        assert!(matches!(c.response_sent(), After::Close { .. }));
    }

    #[test]
    fn transport_failure_inside_a_body_closes() {
        let mut c = ServerConn::new();
        c.feed(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nab");
        let h = request(&mut c);
        c.input_failed();
        assert!(!c.handler_done());
        answer(&mut c, &h, &KA);
        assert!(matches!(c.response_sent(), After::Close { clean: false }));
    }

    #[test]
    fn read_from_reads_and_reports_eof() {
        let mut c = ServerConn::new();
        let mut src: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        assert_eq!(c.read_from(&mut src).unwrap(), 27);
        assert_eq!(c.read_from(&mut src).unwrap(), 0);
        request(&mut c);
        c.shrink_idle();
    }

    #[test]
    fn body_buffered_says_when_a_body_has_arrived() {
        let lim = Limits::default();
        let mut c = ServerConn::new();
        c.feed(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab");
        let h = c.peek_request(&lim).unwrap().unwrap();
        assert_eq!(c.body_buffered(&h, 16), BodyBuffered::Partial);
        assert_eq!(c.body_buffered(&h, 4), BodyBuffered::Large);
        c.feed(b"cde");
        assert_eq!(c.body_buffered(&h, 16), BodyBuffered::Whole);

        let mut c = ServerConn::new();
        c.feed(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
        let h = c.peek_request(&lim).unwrap().unwrap();
        assert_eq!(c.body_buffered(&h, 64), BodyBuffered::Partial);
        assert_eq!(c.body_buffered(&h, 4), BodyBuffered::Large);
        c.feed(b"0\r\n");
        assert_eq!(c.body_buffered(&h, 64), BodyBuffered::Partial);
        c.feed(b"\r\n");
        assert_eq!(c.body_buffered(&h, 64), BodyBuffered::Whole);
        // Taking the request afterwards reads the same body.
        c.accept_request(&h, 0);
        let mut out = [0u8; 8];
        assert_eq!(c.read_body(&mut out), BodyRead::Data(3));
        assert_eq!(c.read_body(&mut out), BodyRead::End);

        // Bad framing is for the handler's reader to report: nothing to wait for.
        let mut c = ServerConn::new();
        c.feed(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
        let h = c.peek_request(&lim).unwrap().unwrap();
        assert_eq!(c.body_buffered(&h, 64), BodyBuffered::Whole);
        let g = c.peek_request(&lim).unwrap().unwrap();
        assert_eq!(c.body_buffered(&g, 64), BodyBuffered::Whole);
    }

    #[test]
    fn h2_preface_detection() {
        assert_eq!(starts_with_h2_preface(b"PRI * HT"), None);
        assert_eq!(starts_with_h2_preface(H2_PREFACE), Some(true));
        assert_eq!(starts_with_h2_preface(b"GET / HTTP/1.1"), Some(false));
        assert_eq!(starts_with_h2_preface(b""), None);
    }
}
