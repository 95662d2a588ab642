//! The server side of one HTTP/2 connection (RFC 9113) as a state machine, without I/O.
//!
//! A driver (blocking or epoll) moves bytes between a transport and a [`ServerSession`]:
//!
//! 1. make the session: [`ServerSession::new`] when the client preface is still to come
//!    (TLS with ALPN `h2`), [`ServerSession::with_preface_consumed`] when the HTTP/1.1
//!    engine's sniffing ([`crate::starts_with_h2_preface`]) already took some of it off
//!    the wire, [`ServerSession::new_upgraded`] after answering an `Upgrade: h2c`
//!    request with 101 (stream 1 is that request). Our SETTINGS and a connection
//!    WINDOW_UPDATE are in the output from the start;
//! 2. feed what the transport read to [`ServerSession::recv`], then take every
//!    [`Event`] with [`ServerSession::poll_event`]: requests, body data, trailers,
//!    streams that went away, the client's GOAWAY;
//! 3. answer with [`ServerSession::respond`], [`ServerSession::send_data`] (which writes
//!    only what the flow-control windows allow and says how much; the rest waits until
//!    [`ServerSession::writable_streams`] lists the stream again, after a `recv`),
//!    [`ServerSession::send_trailers`] or [`ServerSession::reset_stream`]; give request
//!    body back with [`ServerSession::release_capacity`] once it is consumed, which is
//!    what lets the client send more;
//! 4. write [`ServerSession::output`] to the transport and [`ServerSession::consume_output`]
//!    what was written (or [`ServerSession::take_output`]); close the transport once
//!    [`ServerSession::is_done`]. [`ServerSession::graceful_shutdown`] starts a GOAWAY
//!    after which the open streams finish.
//!
//! Events come only out of `recv`; drain them after every call. A connection error
//! (the client broke the protocol or one of the flood limits) makes `recv` return a
//! [`SessionError`], queues a GOAWAY with its code, and the session is then only waiting
//! for its output to be written.
//!
//! # Memory
//!
//! What one session holds, apart from what the caller submits to send:
//! * the input of one partial frame, at most 9 + SETTINGS_MAX_FRAME_SIZE octets;
//! * one field block being reassembled, at most SETTINGS_MAX_HEADER_LIST_SIZE octets
//!   (64 KiB at most by default), or the connection ends with ENHANCE_YOUR_CALM;
//! * the HPACK tables: the decoder's at most our SETTINGS_HEADER_TABLE_SIZE (4096 by
//!   default, in force once the client acknowledges it), the encoder's at most its own
//!   limit;
//! * at most SETTINGS_MAX_CONCURRENT_STREAMS streams of ~100 octets, plus the ids of the
//!   last 64 closed streams;
//! * queued events: request heads (one per open stream, each within the header-list
//!   limit) and body data, which never exceeds the connection's receive window
//!   (`connection_window_size`, 1 MiB by default) because we give window back only when
//!   the caller releases data;
//! * control frames we write in answer to the client (PING and SETTINGS ACKs,
//!   RST_STREAM), at most `max_queued_control_frames` (17 octets at most each) while the
//!   output is not taken.
//!
//! # Choices
//!
//! * A request over LimitRequestFieldSize, LimitRequestFields or the header-list limit
//!   becomes [`Event::Rejected`] with 431 (414 for a pseudo-header over LimitRequestLine),
//!   which the caller answers like any response: what Apache's mod_http2 does
//!   (`h2_stream_set_error`). Its body is dropped.
//! * Once our response is complete while the client is still sending, the stream is
//!   reset with NO_ERROR (§8.1): the rest of the request body is not wanted.
//! * A body without `content-length` is [`BodyFraming::UntilClose`] in the head: it ends
//!   with the stream's END_STREAM. LimitRequestBody is the caller's to apply.
//! * PRIORITY frames and priority fields are ignored (RFC 9113 §5.3.2), except that a
//!   stream depending on itself is reset with PROTOCOL_ERROR (RFC 7540 §5.3.1).
//! * SETTINGS timeout: the session reads no clock but the one passed to `recv`; frames
//!   that arrive past [`SessionSettings::settings_timeout`] after the first `recv`
//!   without the client having acknowledged our SETTINGS end the connection with
//!   SETTINGS_TIMEOUT (an ACK in the same batch counts).
//!
//! [`BodyFraming::UntilClose`]: crate::BodyFraming::UntilClose

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::time::Instant;

use http::StatusCode;

use crate::hpack::{Decoder, Encoder};
use crate::types::{HeaderMap, RequestHead};

use super::settings::SessionSettings;
use super::stream::{Closed, ClosedStreams, Stream};
use super::{
    ErrorCode, Frame, FrameError, FrameHeader, FrameType, PREFACE, Setting, decode_frame,
    encode_goaway, encode_settings, encode_window_update,
};

/// The initial flow-control window of every stream and of the connection (§6.9.2).
pub(super) const DEFAULT_WINDOW: u32 = 65_535;

/// A DATA frame below this many octets, sent because a window allowed no more, counts
/// towards [`FloodLimits::max_small_window_frames`](super::FloodLimits).
pub(super) const SMALL_FRAME: usize = 128;

/// Something the client did, for the caller to act on.
// Request heads go straight to the caller; boxing them would cost an allocation each.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Event {
    /// A new request on `stream_id`: `end_stream` means it has no body.
    Request {
        /// The client's stream.
        stream_id: u32,
        /// The request: version HTTP/2, method, target from `:path`, `host` from
        /// `:authority` (also put in the `host` field if absent), the regular fields.
        head: RequestHead,
        /// No DATA follows.
        end_stream: bool,
    },
    /// Request body. Consecutive DATA frames of a stream may come as one event. Give the
    /// octets back with [`ServerSession::release_capacity`] once consumed.
    Data {
        /// The stream.
        stream_id: u32,
        /// The octets (without padding).
        data: Vec<u8>,
        /// The body is complete.
        end_stream: bool,
    },
    /// Trailer fields, which end the request body.
    Trailers {
        /// The stream.
        stream_id: u32,
        /// The fields.
        headers: HeaderMap,
    },
    /// A request the session will not hand out because its header section is too large:
    /// answer it with `status` (and no request body is delivered).
    Rejected {
        /// The stream.
        stream_id: u32,
        /// 431, or 414 for a pseudo-header value beyond LimitRequestLine.
        status: StatusCode,
    },
    /// The stream is gone: the client reset it with `code` (it cancelled), or it broke
    /// the protocol on it and we reset it with `code`. Stop working on it.
    Reset {
        /// The stream.
        stream_id: u32,
        /// The error code of the RST_STREAM.
        code: ErrorCode,
    },
    /// The client sent GOAWAY: it opens no more streams. The session closes when the
    /// open ones are done.
    GoAway {
        /// The highest server stream it processed (always 0: we do not push).
        last_stream_id: u32,
        /// Why.
        code: ErrorCode,
        /// Its debug data.
        debug_data: Vec<u8>,
    },
}

/// A connection error (RFC 9113 §5.4.1): the GOAWAY that says so is in the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionError {
    /// The GOAWAY's error code.
    pub code: ErrorCode,
    /// A short explanation, also the GOAWAY's debug data.
    pub reason: &'static str,
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP/2 connection error {}: {}", self.code, self.reason)
    }
}

impl std::error::Error for SessionError {}

impl From<FrameError> for SessionError {
    fn from(e: FrameError) -> Self {
        SessionError {
            code: e.code(),
            reason: e.reason(),
        }
    }
}

pub(super) fn conn_error(code: ErrorCode, reason: &'static str) -> SessionError {
    SessionError { code, reason }
}

/// Why a response could not be sent on a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendError {
    /// No such stream is open: it was never opened, it was reset (see
    /// [`Event::Reset`]), or it is complete.
    UnknownStream,
    /// Our side of the stream is already ended.
    StreamEnded,
    /// Data or trailers before a final response head.
    NoResponse,
    /// A second final response head.
    AlreadyResponded,
    /// 101, or a 1xx head with `end_stream`: not a response HTTP/2 can carry.
    InvalidStatus,
    /// The connection is closing after an error.
    SessionClosed,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SendError::UnknownStream => "no such HTTP/2 stream",
            SendError::StreamEnded => "the stream's response is complete",
            SendError::NoResponse => "no response head was sent",
            SendError::AlreadyResponded => "a response head was already sent",
            SendError::InvalidStatus => "status not allowed here",
            SendError::SessionClosed => "the connection is closing",
        })
    }
}

impl std::error::Error for SendError {}

/// Where the session is in the client's connection preface (§3.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Preface {
    /// This many octets of [`PREFACE`] matched so far.
    Magic(usize),
    /// The magic is in: the first frame must be SETTINGS.
    Settings,
    Done,
}

/// A HEADERS frame whose field block is not complete yet.
#[derive(Debug)]
pub(super) struct PendingBlock {
    pub(super) info: BlockInfo,
    pub(super) block: Vec<u8>,
    pub(super) continuations: u32,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct BlockInfo {
    pub(super) stream_id: u32,
    pub(super) end_stream: bool,
    /// The priority fields make the stream depend on itself.
    pub(super) self_dependent: bool,
    /// The HEADERS opened the stream (it was idle).
    pub(super) opens: bool,
}

/// What a stream id designates.
pub(super) enum Lookup {
    Open,
    Idle,
    Closed(Option<Closed>),
}

/// One HTTP/2 server connection, sans I/O: see the module documentation.
#[derive(Debug)]
pub struct ServerSession {
    pub(super) settings: SessionSettings,
    pub(super) preface: Preface,
    /// A partial frame, when a `recv` ended inside one.
    pub(super) input: Vec<u8>,
    pub(super) out: Vec<u8>,
    pub(super) out_start: usize,
    /// Control frames written in answer to the client since the output was last empty.
    pub(super) queued_control: usize,
    pub(super) events: VecDeque<Event>,
    pub(super) decoder: Decoder,
    pub(super) encoder: Encoder,
    pub(super) streams: BTreeMap<u32, Stream>,
    pub(super) closed: ClosedStreams,
    /// The highest client stream id seen (opened, refused or ignored).
    pub(super) last_stream_id: u32,
    pub(super) block: Option<PendingBlock>,
    /// The client acknowledged our SETTINGS.
    pub(super) local_acked: bool,
    /// When the first `recv` call came: our SETTINGS went out by then.
    pub(super) first_recv: Option<Instant>,
    pub(super) peer_initial_window: u32,
    pub(super) peer_max_frame: u32,
    /// What the client may still send on the connection.
    pub(super) conn_recv_window: i64,
    /// Released octets not yet given back with a WINDOW_UPDATE.
    pub(super) conn_recv_unacked: u32,
    pub(super) conn_send_window: i64,
    /// Our GOAWAY's last stream id, once sent.
    pub(super) goaway_sent: Option<u32>,
    pub(super) peer_goaway: bool,
    pub(super) error: Option<SessionError>,
    pub(super) early_resets: u32,
    pub(super) reset_window_start: Option<Instant>,
    pub(super) stream_errors: u32,
    pub(super) empty_frames: u32,
    pub(super) small_frames: u32,
}

impl ServerSession {
    /// A session for a connection whose client preface is still to come.
    pub fn new(settings: SessionSettings) -> Self {
        let settings = settings.sanitized();
        let mut session = ServerSession {
            preface: Preface::Magic(0),
            input: Vec::new(),
            out: Vec::new(),
            out_start: 0,
            queued_control: 0,
            events: VecDeque::new(),
            decoder: Decoder::new(crate::hpack::DEFAULT_TABLE_SIZE),
            encoder: Encoder::new(),
            streams: BTreeMap::new(),
            closed: ClosedStreams::default(),
            last_stream_id: 0,
            block: None,
            local_acked: false,
            first_recv: None,
            peer_initial_window: DEFAULT_WINDOW,
            peer_max_frame: super::DEFAULT_MAX_FRAME_SIZE,
            conn_recv_window: i64::from(settings.connection_window_size),
            conn_recv_unacked: 0,
            conn_send_window: i64::from(DEFAULT_WINDOW),
            goaway_sent: None,
            peer_goaway: false,
            error: None,
            early_resets: 0,
            reset_window_start: None,
            stream_errors: 0,
            empty_frames: 0,
            small_frames: 0,
            settings,
        };
        session.write_server_preface();
        session
    }

    /// A session for a connection whose first `consumed` octets (at most 24) were the
    /// start of the client preface and were already taken off the wire: `recv` gets
    /// the rest.
    pub fn with_preface_consumed(settings: SessionSettings, consumed: usize) -> Self {
        let mut session = Self::new(settings);
        session.preface = match consumed.min(PREFACE.len()) {
            n if n == PREFACE.len() => Preface::Settings,
            n => Preface::Magic(n),
        };
        session
    }

    /// A session for an HTTP/1.1 request upgraded to h2c (RFC 7540 §3.2), once the
    /// caller has written `101 Switching Protocols`: `http2_settings` is the request's
    /// `HTTP2-Settings` value (base64url SETTINGS payload, applied without ACK), and
    /// `head` becomes stream 1, half-closed (remote), handed back as the first
    /// [`Event::Request`] (the upgrade is never done for a request with a body). The
    /// client preface still follows on the wire.
    pub fn new_upgraded(
        settings: SessionSettings,
        http2_settings: &[u8],
        head: RequestHead,
    ) -> Result<Self, SessionError> {
        let bad = conn_error(ErrorCode::ProtocolError, "invalid HTTP2-Settings");
        let payload = base64url_decode(http2_settings).ok_or(bad)?;
        let mut frame = Vec::with_capacity(FrameHeader::LEN + payload.len());
        let length = u32::try_from(payload.len()).map_err(|_| bad)?;
        if length > super::LARGEST_MAX_FRAME_SIZE {
            return Err(bad);
        }
        FrameHeader {
            length,
            frame_type: FrameType::Settings,
            flags: 0,
            stream_id: 0,
        }
        .write(&mut frame);
        frame.extend_from_slice(&payload);
        let mut session = Self::new(settings);
        match decode_frame(&frame, super::LARGEST_MAX_FRAME_SIZE)? {
            Some((Frame::Settings(s), _)) => session.apply_peer_settings(&s)?,
            _ => return Err(bad),
        }
        let mut stream = Stream::new(DEFAULT_WINDOW, session.peer_initial_window);
        stream.recv_closed = true;
        session.streams.insert(1, stream);
        session.last_stream_id = 1;
        session.events.push_back(Event::Request {
            stream_id: 1,
            head,
            end_stream: true,
        });
        Ok(session)
    }

    fn write_server_preface(&mut self) {
        let s = &self.settings;
        let mut list = vec![Setting::MaxConcurrentStreams(s.max_concurrent_streams)];
        if s.initial_window_size != DEFAULT_WINDOW {
            list.push(Setting::InitialWindowSize(s.initial_window_size));
        }
        if s.max_frame_size != super::DEFAULT_MAX_FRAME_SIZE {
            list.push(Setting::MaxFrameSize(s.max_frame_size));
        }
        if s.header_table_size != 4096 {
            list.push(Setting::HeaderTableSize(s.header_table_size));
        }
        list.push(Setting::MaxHeaderListSize(s.max_header_list_size as u32));
        encode_settings(&mut self.out, &list);
        let raise = s.connection_window_size - DEFAULT_WINDOW;
        if raise > 0 {
            encode_window_update(&mut self.out, 0, raise);
        }
        // The connection window counted from the client's side: 65535 plus the raise.
    }

    /// Takes octets read from the transport, in order. Frames are handled as they
    /// complete; a partial one is kept for the next call. `now` dates client resets
    /// for the rapid-reset limit. After an error, every call returns it again.
    pub fn recv(&mut self, data: &[u8], now: Instant) -> Result<(), SessionError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let since = *self.first_recv.get_or_insert(now);
        let result =
            self.recv_inner(data, now)
                .and_then(|()| match self.settings.settings_timeout {
                    Some(limit) if !self.local_acked && now.duration_since(since) > limit => {
                        Err(conn_error(
                            ErrorCode::SettingsTimeout,
                            "SETTINGS not acknowledged in time",
                        ))
                    }
                    _ => Ok(()),
                });
        match result {
            Ok(()) => Ok(()),
            Err(e) => {
                self.fail(e);
                Err(e)
            }
        }
    }

    fn recv_inner(&mut self, mut data: &[u8], now: Instant) -> Result<(), SessionError> {
        if let Preface::Magic(matched) = self.preface {
            let want = &PREFACE[matched..];
            let n = want.len().min(data.len());
            if data[..n] != want[..n] {
                return Err(conn_error(
                    ErrorCode::ProtocolError,
                    "invalid connection preface",
                ));
            }
            data = &data[n..];
            if n < want.len() {
                self.preface = Preface::Magic(matched + n);
                return Ok(());
            }
            self.preface = Preface::Settings;
        }
        loop {
            if self.error.is_some() {
                return Ok(());
            }
            if !self.input.is_empty() {
                // Complete the partial frame with as few octets as it needs.
                let need = match self.input.first_chunk::<{ FrameHeader::LEN }>() {
                    Some(h) => FrameHeader::LEN + FrameHeader::parse(h).length as usize,
                    None => FrameHeader::LEN,
                };
                let take = need.saturating_sub(self.input.len()).min(data.len());
                self.input.extend_from_slice(&data[..take]);
                data = &data[take..];
                let input = std::mem::take(&mut self.input);
                let result = self.decode_one(&input, now);
                self.input = input;
                match result? {
                    Some(n) => {
                        debug_assert_eq!(n, self.input.len());
                        self.input.clear();
                    }
                    None if data.is_empty() => return Ok(()),
                    // Only the header was completed: go on with its payload.
                    None => {}
                }
                continue;
            }
            if data.is_empty() {
                return Ok(());
            }
            match self.decode_one(data, now)? {
                Some(n) => data = &data[n..],
                None => {
                    self.input.extend_from_slice(data);
                    return Ok(());
                }
            }
        }
    }

    /// Decodes and handles the frame at the start of `buf`: the octets it took, `None`
    /// if incomplete.
    fn decode_one(&mut self, buf: &[u8], now: Instant) -> Result<Option<usize>, SessionError> {
        match decode_frame(buf, self.settings.max_frame_size) {
            Ok(None) => Ok(None),
            Ok(Some((frame, n))) => {
                self.on_frame(frame, now)?;
                Ok(Some(n))
            }
            Err(e @ FrameError::Connection { .. }) => Err(e.into()),
            Err(FrameError::Stream {
                stream_id,
                code,
                frame_len,
                ..
            }) => {
                if self.block.is_some() {
                    return Err(conn_error(
                        ErrorCode::ProtocolError,
                        "frame inside a field block",
                    ));
                }
                if self.preface == Preface::Settings {
                    return Err(conn_error(
                        ErrorCode::ProtocolError,
                        "first frame is not SETTINGS",
                    ));
                }
                if let Lookup::Idle = self.lookup(stream_id)
                    && buf[3] == FrameType::WindowUpdate.to_u8()
                {
                    return Err(conn_error(
                        ErrorCode::ProtocolError,
                        "WINDOW_UPDATE on an idle stream",
                    ));
                }
                self.stream_error(stream_id, code)?;
                Ok(Some(frame_len))
            }
        }
    }

    pub(super) fn lookup(&self, stream_id: u32) -> Lookup {
        if self.streams.contains_key(&stream_id) {
            Lookup::Open
        } else if stream_id.is_multiple_of(2) || stream_id > self.last_stream_id {
            // We open no streams: an even id is always idle.
            Lookup::Idle
        } else {
            Lookup::Closed(self.closed.get(stream_id))
        }
    }

    /// Gives `n` received octets back: to the connection window, and to the stream's
    /// if `stream_id` is still receiving; a WINDOW_UPDATE goes out once half a window
    /// has been given back.
    pub(super) fn give_back(&mut self, stream_id: Option<u32>, n: u32) {
        if n == 0 {
            return;
        }
        self.conn_recv_unacked += n;
        if self.conn_recv_unacked >= self.settings.connection_window_size / 2 {
            encode_window_update(&mut self.out, 0, self.conn_recv_unacked);
            self.conn_recv_window += i64::from(self.conn_recv_unacked);
            self.conn_recv_unacked = 0;
        }
        let threshold = self.settings.initial_window_size.div_ceil(2).max(1);
        let Some(id) = stream_id else { return };
        let Some(stream) = self.streams.get_mut(&id) else {
            return;
        };
        if stream.recv_closed {
            return;
        }
        stream.recv_unacked += n;
        if stream.recv_unacked >= threshold {
            encode_window_update(&mut self.out, id, stream.recv_unacked);
            stream.recv_window += i64::from(stream.recv_unacked);
            stream.recv_unacked = 0;
        }
    }

    pub(super) fn fail(&mut self, e: SessionError) {
        if self.error.is_some() {
            return;
        }
        self.error = Some(e);
        self.block = None;
        self.input = Vec::new();
        encode_goaway(
            &mut self.out,
            self.last_stream_id,
            e.code,
            e.reason.as_bytes(),
        );
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Octets to write to the transport.
    pub fn output(&self) -> &[u8] {
        &self.out[self.out_start..]
    }

    /// `n` octets of [`ServerSession::output`] were written.
    pub fn consume_output(&mut self, n: usize) {
        self.out_start += n.min(self.out.len() - self.out_start);
        if self.out_start == self.out.len() {
            self.out.clear();
            self.out_start = 0;
            self.queued_control = 0;
        } else if self.out_start > 64 * 1024 && self.out_start > self.out.len() / 2 {
            self.out.drain(..self.out_start);
            self.out_start = 0;
        }
    }

    /// Takes all of [`ServerSession::output`] away, to be written.
    pub fn take_output(&mut self) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.out);
        out.drain(..self.out_start);
        self.out_start = 0;
        self.queued_control = 0;
        out
    }

    /// The connection should close once the output is written: after a connection
    /// error, or after a GOAWAY (ours or the client's) once no stream is open.
    pub fn wants_close(&self) -> bool {
        self.error.is_some()
            || ((self.goaway_sent.is_some() || self.peer_goaway) && self.streams.is_empty())
    }

    /// Give back buffer memory while the connection waits between requests: the output
    /// and partial-frame buffers when empty, the event queue, the HPACK decoder's
    /// scratch space. The HPACK tables stay (they are the connection's state).
    pub fn shrink_idle(&mut self) {
        if self.out_start >= self.out.len() {
            self.out = Vec::new();
            self.out_start = 0;
        }
        if self.input.is_empty() {
            self.input = Vec::new();
        }
        self.events.shrink_to_fit();
        self.decoder.shrink_scratch();
    }

    /// [`ServerSession::wants_close`] and the output is written: close the transport.
    pub fn is_done(&self) -> bool {
        self.wants_close() && self.output().is_empty()
    }

    /// The connection error that ended the session, if one did.
    pub fn error(&self) -> Option<SessionError> {
        self.error
    }

    /// Streams open or half-closed.
    pub fn open_streams(&self) -> usize {
        self.streams.len()
    }

    /// Streams that [`ServerSession::send_data`] could not write in full and whose
    /// windows have room again, in stream order.
    pub fn writable_streams(&self) -> Vec<u32> {
        if self.conn_send_window <= 0 {
            return Vec::new();
        }
        self.streams
            .iter()
            .filter(|(_, s)| s.blocked && !s.send_closed && s.send_window > 0)
            .map(|(id, _)| *id)
            .collect()
    }

    /// How much [`ServerSession::send_data`] could write on `stream_id` now.
    pub fn send_capacity(&self, stream_id: u32) -> usize {
        self.streams.get(&stream_id).map_or(0, |s| {
            s.send_window.min(self.conn_send_window).max(0) as usize
        })
    }

    /// Starts a graceful shutdown: a GOAWAY with NO_ERROR and the highest stream the
    /// client opened so far, which are served to the end; later streams are ignored.
    /// Once none is open, the session [`wants_close`](ServerSession::wants_close).
    pub fn graceful_shutdown(&mut self) {
        if self.goaway_sent.is_some() || self.error.is_some() {
            return;
        }
        self.goaway_sent = Some(self.last_stream_id);
        encode_goaway(&mut self.out, self.last_stream_id, ErrorCode::NoError, b"");
    }
}

/// The stream an event is about.
pub(super) fn event_stream(e: &Event) -> Option<u32> {
    match e {
        Event::Request { stream_id, .. }
        | Event::Data { stream_id, .. }
        | Event::Trailers { stream_id, .. }
        | Event::Rejected { stream_id, .. }
        | Event::Reset { stream_id, .. } => Some(*stream_id),
        Event::GoAway { .. } => None,
    }
}

/// `HTTP2-Settings` is base64url (RFC 4648 §5), padding optional.
pub(super) fn base64url_decode(s: &[u8]) -> Option<Vec<u8>> {
    crate::base64::decode(s)
}
