//! HTTP/2 on a connection: the sans-I/O [`ServerSession`] of `rhttpd_http::h2` plus
//! what the drivers keep per stream (the request until it is complete, the response
//! body still to send).
//!
//! - [`H2Conn`] takes the session's events ([`H2Conn::absorb`]): a request becomes
//!   runnable once its body has arrived in full (bodies are collected before the
//!   handler runs, in memory up to [`BODY_IN_MEMORY`] per stream and in an unnamed
//!   temporary file beyond, as nginx buffers request bodies; LimitRequestBody answers
//!   413; `Expect: 100-continue` is answered with 100 at once, as the body is wanted).
//! - `serve.rs` runs a request through the pipeline, answers it with a HEADERS frame
//!   and queues its body; [`H2Conn::fill`] turns queued bodies into DATA frames as the
//!   flow-control windows allow.
//! - `drive.rs` moves bytes between the transport and the session: a blocking loop for
//!   worker threads and `-X`, and the event MPM's steps (static content served on the
//!   listener thread, handlers that may block on a worker).
//!
//! How a connection becomes HTTP/2: ALPN `h2` on TLS, the client preface on a cleartext
//! connection (`H2Direct`), or an HTTP/1.1 `Upgrade: h2c` request (`H2Upgrade`),
//! answered as stream 1 ([`upgrade`]).

mod drive;
mod serve;
mod streams;

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{self, Cursor, Read, Seek, Write};
use std::time::Instant;

use rhttpd_http::h2::{Event, ServerSession, SessionSettings};
use rhttpd_http::{RequestHead, StatusCode};

pub use drive::{blocking, continue_write, goodbye, inline, on_worker};
pub use streams::set_thread_limit;

use super::exchange::Clock;
use crate::conf::VirtualHost;

/// Request bodies up to this size stay in memory; larger ones go to a temporary file
/// (nginx's client_body_buffer_size is 16 KiB; at most SETTINGS_MAX_CONCURRENT_STREAMS
/// times this is held per connection).
pub const BODY_IN_MEMORY: usize = 64 * 1024;

/// One HTTP/2 connection's state beside its session.
pub struct H2Conn {
    pub session: ServerSession,
    streams: HashMap<u32, StreamWork>,
    /// Streams whose request is complete and not yet answered, in arrival order.
    runnable: VecDeque<u32>,
    /// Streams with response body left to send, in the order they were answered.
    sending: Vec<u32>,
    /// LimitRequestBody of the connection's default host (0 = none).
    body_limit: u64,
    /// Response octets queued per stream before waiting for the client.
    stream_max_mem: usize,
    /// Octets written to the transport so far.
    pub written: u64,
    /// Streams the client opened, answered and reset, for the scoreboard.
    pub counts: StreamCounts,
}

/// mod_http2's stream figures of a session, as its scoreboard text shows them.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamCounts {
    pub received: u64,
    pub answered: u64,
    pub reset: u64,
}

/// A stream's request while it arrives, and its response while it leaves.
struct StreamWork {
    /// `None` for a request the session rejected (431/414) or once it ran.
    head: Option<RequestHead>,
    clock: Clock,
    body: ReqBody,
    /// The status to answer without running the request (431, 414, 413).
    status_now: Option<StatusCode>,
    complete: bool,
    out: Option<serve::Sending>,
}

/// A request body as it is collected.
enum ReqBody {
    Memory(Vec<u8>),
    File { file: File, len: u64 },
}

impl ReqBody {
    fn len(&self) -> u64 {
        match self {
            ReqBody::Memory(v) => v.len() as u64,
            ReqBody::File { len, .. } => *len,
        }
    }

    fn append(&mut self, data: &[u8]) -> io::Result<()> {
        if let ReqBody::Memory(v) = self {
            if v.len() + data.len() <= BODY_IN_MEMORY {
                v.extend_from_slice(data);
                return Ok(());
            }
            let mut file = tempfile::tempfile()?;
            file.write_all(v)?;
            *self = ReqBody::File {
                file,
                len: v.len() as u64,
            };
        }
        if let ReqBody::File { file, len } = self {
            file.write_all(data)?;
            *len += data.len() as u64;
        }
        Ok(())
    }

    /// The body as the handler reads it.
    fn into_reader(self) -> io::Result<Box<dyn Read + Send>> {
        Ok(match self {
            ReqBody::Memory(v) => Box::new(Cursor::new(v)),
            ReqBody::File { mut file, .. } => {
                file.rewind()?;
                Box::new(file)
            }
        })
    }
}

/// The session settings for a connection answered by `host`.
pub fn settings_for(host: &VirtualHost) -> SessionSettings {
    let mut s = SessionSettings::from_limits(host.limits);
    s.max_concurrent_streams = host.h2.max_session_streams;
    s.initial_window_size = host.h2.window_size;
    s
}

impl H2Conn {
    fn with_session(session: ServerSession, host: &VirtualHost) -> Box<H2Conn> {
        Box::new(H2Conn {
            session,
            streams: HashMap::new(),
            runnable: VecDeque::new(),
            sending: Vec::new(),
            body_limit: host.base_dir.limit_request_body(),
            stream_max_mem: host.h2.stream_max_mem,
            written: 0,
            counts: StreamCounts::default(),
        })
    }

    /// A connection whose first octets (`input`, possibly empty) are to be read as the
    /// client preface and frames.
    pub fn start(host: &VirtualHost, input: &[u8]) -> Box<H2Conn> {
        let mut h2 = H2Conn::with_session(ServerSession::new(settings_for(host)), host);
        h2.recv(input);
        h2
    }

    /// After `101 Switching Protocols`: `head` is stream 1; `rest` is what followed the
    /// request on the wire (the client preface, frames).
    pub fn upgraded(
        host: &VirtualHost,
        http2_settings: &[u8],
        head: RequestHead,
        rest: &[u8],
    ) -> Option<Box<H2Conn>> {
        let session = ServerSession::new_upgraded(settings_for(host), http2_settings, head).ok()?;
        let mut h2 = H2Conn::with_session(session, host);
        h2.absorb();
        h2.recv(rest);
        Some(h2)
    }

    /// Feed octets read from the transport and take the events they caused. A
    /// connection error leaves its GOAWAY in the output ([`ServerSession::is_done`]
    /// once written).
    pub fn recv(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let failed = self.session.recv(data, Instant::now()).err();
        self.absorb();
        if let Some(e) = failed {
            crate::log::log(
                "http2",
                crate::log::Level::Debug,
                None,
                &format!("AH03079: h2_session: {e}"),
            );
            self.streams.clear();
            self.runnable.clear();
            self.sending.clear();
        }
    }

    /// Take every pending event of the session.
    fn absorb(&mut self) {
        while let Some(ev) = self.session.poll_event() {
            match ev {
                Event::Request {
                    stream_id,
                    head,
                    end_stream,
                } => {
                    self.counts.received += 1;
                    let over = matches!(head.body, rhttpd_http::BodyFraming::Length(n)
                        if self.body_limit != 0 && n > self.body_limit);
                    let expects = !end_stream
                        && !over
                        && head
                            .headers
                            .get(http::header::EXPECT)
                            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
                    if expects {
                        let none = http::HeaderMap::new();
                        let _ = self
                            .session
                            .respond(stream_id, StatusCode::CONTINUE, &none, false);
                    }
                    self.streams.insert(
                        stream_id,
                        StreamWork {
                            head: Some(head),
                            clock: Clock::now(),
                            body: ReqBody::Memory(Vec::new()),
                            status_now: over.then_some(StatusCode::PAYLOAD_TOO_LARGE),
                            complete: end_stream || over,
                            out: None,
                        },
                    );
                    if end_stream || over {
                        self.runnable.push_back(stream_id);
                    }
                }
                Event::Data {
                    stream_id,
                    data,
                    end_stream,
                } => {
                    self.session.release_capacity(stream_id, data.len());
                    let limit = self.body_limit;
                    let Some(w) = self.streams.get_mut(&stream_id) else {
                        continue;
                    };
                    if w.complete {
                        continue;
                    }
                    let over = limit != 0 && w.body.len() + data.len() as u64 > limit;
                    if over {
                        w.status_now = Some(StatusCode::PAYLOAD_TOO_LARGE);
                    } else if w.body.append(&data).is_err() {
                        w.status_now = Some(StatusCode::INTERNAL_SERVER_ERROR);
                    }
                    if end_stream || w.status_now.is_some() {
                        w.complete = true;
                        self.runnable.push_back(stream_id);
                    }
                }
                Event::Trailers { stream_id, .. } => {
                    if let Some(w) = self.streams.get_mut(&stream_id)
                        && !w.complete
                    {
                        w.complete = true;
                        self.runnable.push_back(stream_id);
                    }
                }
                Event::Rejected { stream_id, status } => {
                    self.counts.received += 1;
                    self.streams.insert(
                        stream_id,
                        StreamWork {
                            head: None,
                            clock: Clock::now(),
                            body: ReqBody::Memory(Vec::new()),
                            status_now: Some(status),
                            complete: true,
                            out: None,
                        },
                    );
                    self.runnable.push_back(stream_id);
                }
                Event::Reset { stream_id, .. } => {
                    self.counts.reset += 1;
                    self.streams.remove(&stream_id);
                    self.runnable.retain(|id| *id != stream_id);
                    self.sending.retain(|id| *id != stream_id);
                }
                Event::GoAway { .. } => {}
            }
        }
    }

    /// Forget every stream (the connection is closing): bodies being produced on stream
    /// threads are told to stop.
    fn abandon(&mut self) {
        self.streams.clear();
        self.runnable.clear();
        self.sending.clear();
    }

    /// A stream that could not get a thread: reset it (the client may retry it).
    fn reset_unrunnable(&mut self, id: u32) {
        self.streams.remove(&id);
        self.session
            .reset_stream(id, rhttpd_http::h2::ErrorCode::RefusedStream);
    }

    /// Requests answered and bodies still to send: nothing left for a handler.
    /// Give back memory while no stream is open: the stream tables' capacity and the
    /// session's buffers (an idle connection on event costs only what it must keep).
    pub fn shrink_idle(&mut self) {
        if self.streams.is_empty() {
            self.streams = HashMap::new();
        }
        self.runnable.shrink_to_fit();
        self.sending.shrink_to_fit();
        self.session.shrink_idle();
    }

    pub fn is_idle(&self) -> bool {
        self.runnable.is_empty() && self.sending.is_empty() && self.session.open_streams() == 0
    }

    /// Work that needs a thread that may block: a request not run yet, or a streamed
    /// body (CGI, proxy) with room to send.
    pub fn needs_thread(&self) -> bool {
        !self.runnable.is_empty()
            || self.sending.iter().any(|id| {
                self.streams
                    .get(id)
                    .and_then(|w| w.out.as_ref())
                    .is_some_and(|o| o.is_stream() && self.session.send_capacity(*id) > 0)
            })
    }

    /// Streams open (for the scoreboard).
    pub fn open_streams(&self) -> usize {
        self.session.open_streams()
    }
}

/// Whether an HTTP/1.1 request asks to switch to h2c and may (RFC 7540 §3.2, as
/// mod_http2: `Upgrade: h2c` with `HTTP2-Settings`, no body, cleartext): the
/// `HTTP2-Settings` value.
pub fn upgrade(head: &RequestHead, host: &VirtualHost, tls: bool) -> Option<Vec<u8>> {
    if tls || !host.h2.h2c_upgrade() || head.body != rhttpd_http::BodyFraming::None {
        return None;
    }
    if head.version != rhttpd_http::Version::HTTP_11 {
        return None;
    }
    let upgrade = head.headers.get(http::header::UPGRADE)?;
    let wants = upgrade
        .to_str()
        .ok()?
        .split(',')
        .any(|t| t.trim().eq_ignore_ascii_case("h2c"));
    if !wants {
        return None;
    }
    let settings = head.headers.get("http2-settings")?;
    Some(settings.as_bytes().to_vec())
}

/// The `101 Switching Protocols` head that accepts an h2c upgrade.
pub const SWITCHING: &[u8] =
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n";
