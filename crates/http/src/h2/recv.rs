//! The frames a client sends, one handler each (RFC 9113 §5, §6, §8): the input half of
//! [`ServerSession`].

use std::time::Instant;

use crate::hpack::HpackError;

use super::request::{BlockKind, FieldCollector, Reject};
use super::session::{
    BlockInfo, DEFAULT_WINDOW, Event, Lookup, PendingBlock, Preface, ServerSession, SessionError,
    conn_error, event_stream,
};
use super::stream::{Closed, Stream};
use super::{
    Continuation, Data, ErrorCode, Frame, Headers, MAX_WINDOW_SIZE, RstStream, Setting, Settings,
    WindowUpdate, encode_ping_ack, encode_rst_stream, encode_settings_ack,
};

impl ServerSession {
    pub(super) fn on_frame(&mut self, frame: Frame<'_>, now: Instant) -> Result<(), SessionError> {
        if self.preface == Preface::Settings {
            match frame {
                Frame::Settings(s) if !s.is_ack() => self.preface = Preface::Done,
                _ => {
                    return Err(conn_error(
                        ErrorCode::ProtocolError,
                        "first frame is not SETTINGS",
                    ));
                }
            }
        }
        if let Some(pending) = &self.block {
            return match frame {
                Frame::Continuation(c) if c.stream_id == pending.info.stream_id => {
                    self.on_continuation(c)
                }
                _ => Err(conn_error(
                    ErrorCode::ProtocolError,
                    "frame inside a field block",
                )),
            };
        }
        match frame {
            Frame::Data(d) => self.on_data(d),
            Frame::Headers(h) => self.on_headers(h),
            Frame::Priority(p) if p.dependency.stream_id == p.stream_id => {
                self.stream_error(p.stream_id, ErrorCode::ProtocolError)
            }
            Frame::Priority(_) | Frame::Unknown(_) => Ok(()),
            Frame::RstStream(r) => self.on_rst_stream(r, now),
            Frame::Settings(s) if s.is_ack() => {
                self.on_settings_ack();
                Ok(())
            }
            Frame::Settings(s) => {
                self.apply_peer_settings(&s)?;
                encode_settings_ack(&mut self.out);
                self.control_queued()
            }
            Frame::PushPromise(_) => Err(conn_error(
                ErrorCode::ProtocolError,
                "PUSH_PROMISE from a client",
            )),
            Frame::Ping(p) if p.ack => Ok(()),
            Frame::Ping(p) => {
                encode_ping_ack(&mut self.out, p.opaque_data);
                self.control_queued()
            }
            Frame::GoAway(g) => {
                self.peer_goaway = true;
                self.events.push_back(Event::GoAway {
                    last_stream_id: g.last_stream_id,
                    code: g.error_code,
                    debug_data: g.debug_data.to_vec(),
                });
                Ok(())
            }
            Frame::WindowUpdate(w) => self.on_window_update(w),
            Frame::Continuation(_) => Err(conn_error(
                ErrorCode::ProtocolError,
                "CONTINUATION without HEADERS",
            )),
        }
    }

    pub(super) fn empty_frame(&mut self) -> Result<(), SessionError> {
        self.empty_frames += 1;
        if self.empty_frames > self.settings.flood.max_empty_frames {
            return Err(conn_error(
                ErrorCode::EnhanceYourCalm,
                "too many empty frames",
            ));
        }
        Ok(())
    }

    pub(super) fn control_queued(&mut self) -> Result<(), SessionError> {
        self.queued_control += 1;
        if self.queued_control > self.settings.flood.max_queued_control_frames {
            return Err(conn_error(
                ErrorCode::EnhanceYourCalm,
                "too many control frames queued: the client does not read",
            ));
        }
        Ok(())
    }

    pub(super) fn on_data(&mut self, d: Data<'_>) -> Result<(), SessionError> {
        let id = d.stream_id;
        let len = d.flow_controlled_len();
        if d.data.is_empty() && !d.end_stream {
            self.empty_frame()?;
        }
        let closed = match self.lookup(id) {
            Lookup::Idle => {
                return Err(conn_error(
                    ErrorCode::ProtocolError,
                    "DATA on an idle stream",
                ));
            }
            Lookup::Closed(how) => Some(how),
            Lookup::Open => None,
        };
        if i64::from(len) > self.conn_recv_window {
            return Err(conn_error(
                ErrorCode::FlowControlError,
                "DATA beyond the connection window",
            ));
        }
        self.conn_recv_window -= i64::from(len);
        if let Some(how) = closed {
            self.give_back(None, len);
            return match how {
                Some(Closed::ByUs) => Ok(()),
                _ => self.stream_error(id, ErrorCode::StreamClosed),
            };
        }
        let Some(stream) = self.streams.get_mut(&id) else {
            return Ok(());
        };
        if stream.recv_closed {
            self.give_back(None, len);
            return self.stream_error(id, ErrorCode::StreamClosed);
        }
        if i64::from(len) > stream.recv_window {
            self.give_back(None, len);
            return self.stream_error(id, ErrorCode::FlowControlError);
        }
        stream.recv_window -= i64::from(len);
        stream.received += d.data.len() as u64;
        let bad_length = stream
            .content_length
            .is_some_and(|n| stream.received > n || (d.end_stream && stream.received != n));
        if bad_length {
            self.give_back(None, len);
            return self.stream_error(id, ErrorCode::ProtocolError);
        }
        stream.recv_closed |= d.end_stream;
        let discard = stream.discard;
        let padding = len - d.data.len() as u32;
        if discard {
            self.give_back(Some(id), len);
        } else {
            stream.held += d.data.len() as u32;
            self.give_back(Some(id), padding);
            self.push_data(id, d.data, d.end_stream);
        }
        if d.end_stream {
            self.maybe_close(id);
        }
        Ok(())
    }

    pub(super) fn push_data(&mut self, stream_id: u32, data: &[u8], end_stream: bool) {
        if let Some(Event::Data {
            stream_id: last,
            data: queued,
            end_stream: ended,
        }) = self.events.back_mut()
            && *last == stream_id
            && !*ended
        {
            queued.extend_from_slice(data);
            *ended = end_stream;
            return;
        }
        self.events.push_back(Event::Data {
            stream_id,
            data: data.to_vec(),
            end_stream,
        });
    }

    pub(super) fn on_headers(&mut self, h: Headers<'_>) -> Result<(), SessionError> {
        let id = h.stream_id;
        if h.fragment.is_empty() && !h.end_headers && !h.end_stream {
            self.empty_frame()?;
        }
        let opens = match self.lookup(id) {
            Lookup::Open | Lookup::Closed(Some(Closed::ByUs)) => false,
            Lookup::Idle if id.is_multiple_of(2) => {
                return Err(conn_error(
                    ErrorCode::ProtocolError,
                    "HEADERS on an even stream id",
                ));
            }
            Lookup::Idle => {
                self.last_stream_id = id;
                true
            }
            Lookup::Closed(Some(Closed::ByPeerOrDone)) => {
                return Err(conn_error(
                    ErrorCode::StreamClosed,
                    "HEADERS on a closed stream",
                ));
            }
            Lookup::Closed(None) => {
                return Err(conn_error(
                    ErrorCode::ProtocolError,
                    "HEADERS on a stream id below one already used",
                ));
            }
        };
        let info = BlockInfo {
            stream_id: id,
            end_stream: h.end_stream,
            self_dependent: h.priority.is_some_and(|p| p.stream_id == id),
            opens,
        };
        if h.end_headers {
            return self.on_block(info, h.fragment);
        }
        if h.fragment.len() > self.settings.max_header_list_size {
            return Err(conn_error(
                ErrorCode::EnhanceYourCalm,
                "field block too large",
            ));
        }
        self.block = Some(PendingBlock {
            info,
            block: h.fragment.to_vec(),
            continuations: 0,
        });
        Ok(())
    }

    pub(super) fn on_continuation(&mut self, c: Continuation<'_>) -> Result<(), SessionError> {
        if c.fragment.is_empty() && !c.end_headers {
            self.empty_frame()?;
        }
        let (max_cont, max_block) = (
            self.settings.flood.max_continuations,
            self.settings.max_header_list_size,
        );
        let Some(pending) = self.block.as_mut() else {
            return Ok(());
        };
        pending.continuations += 1;
        if pending.continuations > max_cont {
            return Err(conn_error(
                ErrorCode::EnhanceYourCalm,
                "too many CONTINUATION frames",
            ));
        }
        if pending.block.len() + c.fragment.len() > max_block {
            return Err(conn_error(
                ErrorCode::EnhanceYourCalm,
                "field block too large",
            ));
        }
        pending.block.extend_from_slice(c.fragment);
        if !c.end_headers {
            return Ok(());
        }
        let pending = self.block.take().expect("checked above");
        self.on_block(pending.info, &pending.block)
    }

    /// A complete field block: decoded whatever becomes of the stream (§4.3).
    pub(super) fn on_block(&mut self, info: BlockInfo, block: &[u8]) -> Result<(), SessionError> {
        let limits = self.settings.limits;
        let kind = if info.opens {
            BlockKind::Request
        } else {
            BlockKind::Trailers
        };
        let mut fields = FieldCollector::new(&limits, kind);
        let max_list = self.settings.max_header_list_size;
        match self.decoder.decode(block, max_list, |f| {
            fields.field(f.name, f.value, f.sensitive)
        }) {
            Ok(()) => {}
            Err(HpackError::HeaderListTooLarge) => fields.list_too_large(),
            Err(HpackError::Compression(e)) => {
                return Err(conn_error(ErrorCode::CompressionError, e.reason()));
            }
        }
        let id = info.stream_id;
        if info.opens {
            if self.goaway_sent.is_some_and(|last| id > last) {
                // After our GOAWAY, new streams are ignored (§6.8).
                self.closed.push(id, Closed::ByUs);
                return Ok(());
            }
            if info.self_dependent {
                return self.refuse(id, ErrorCode::ProtocolError);
            }
            if self.streams.len() >= self.settings.max_concurrent_streams as usize {
                return self.refuse(id, ErrorCode::RefusedStream);
            }
            let recv_window = if self.local_acked {
                self.settings.initial_window_size
            } else {
                DEFAULT_WINDOW
            };
            let mut stream = Stream::new(recv_window, self.peer_initial_window);
            stream.recv_closed = info.end_stream;
            let event = match fields.finish_request(info.end_stream, block.len()) {
                Err(Reject::Malformed(_)) => return self.refuse(id, ErrorCode::ProtocolError),
                Ok((_, Some(n))) if info.end_stream && n != 0 => {
                    return self.refuse(id, ErrorCode::ProtocolError);
                }
                Err(Reject::Status(status)) => {
                    stream.discard = true;
                    Event::Rejected {
                        stream_id: id,
                        status,
                    }
                }
                Ok((head, content_length)) => {
                    stream.content_length = content_length;
                    Event::Request {
                        stream_id: id,
                        head,
                        end_stream: info.end_stream,
                    }
                }
            };
            self.streams.insert(id, stream);
            self.events.push_back(event);
            return Ok(());
        }
        // Trailers, or a block on a stream we reset (ignored).
        let Some(stream) = self.streams.get(&id) else {
            return Ok(());
        };
        if stream.recv_closed {
            return self.stream_error(id, ErrorCode::StreamClosed);
        }
        let bad_length = stream.content_length.is_some_and(|n| n != stream.received);
        if info.self_dependent || !info.end_stream || bad_length {
            // §8.1: a second block must end the stream.
            return self.stream_error(id, ErrorCode::ProtocolError);
        }
        let discard = stream.discard;
        match fields.finish_trailers() {
            Err(_) => self.stream_error(id, ErrorCode::ProtocolError),
            Ok(headers) => {
                if let Some(stream) = self.streams.get_mut(&id) {
                    stream.recv_closed = true;
                }
                if !discard {
                    self.events.push_back(Event::Trailers {
                        stream_id: id,
                        headers,
                    });
                }
                self.maybe_close(id);
                Ok(())
            }
        }
    }

    /// Resets a stream that never became one the caller knows of.
    pub(super) fn refuse(&mut self, stream_id: u32, code: ErrorCode) -> Result<(), SessionError> {
        self.closed.push(stream_id, Closed::ByUs);
        self.stream_error(stream_id, code)
    }

    /// A stream error caused by the client: RST_STREAM, the stream leaves, and the
    /// caller hears of it if it knew the stream.
    pub(super) fn stream_error(
        &mut self,
        stream_id: u32,
        code: ErrorCode,
    ) -> Result<(), SessionError> {
        encode_rst_stream(&mut self.out, stream_id, code);
        self.remove_stream(stream_id, Closed::ByUs, Some(code));
        self.stream_errors += 1;
        if self.stream_errors > self.settings.flood.max_stream_errors {
            return Err(conn_error(
                ErrorCode::EnhanceYourCalm,
                "too many stream errors",
            ));
        }
        self.control_queued()
    }

    /// Takes a stream out of the table; its unreleased body goes back to the connection
    /// window. With `notify`, the caller gets [`Event::Reset`], or, if it has not yet
    /// polled the stream's request, the stream's queued events simply disappear.
    pub(super) fn remove_stream(&mut self, stream_id: u32, how: Closed, notify: Option<ErrorCode>) {
        let Some(stream) = self.streams.remove(&stream_id) else {
            return;
        };
        self.closed.push(stream_id, how);
        self.give_back(None, stream.held);
        let Some(code) = notify else {
            return;
        };
        let unseen = self.events.iter().any(|e| {
            matches!(e, Event::Request { stream_id: s, .. } | Event::Rejected { stream_id: s, .. }
                if *s == stream_id)
        });
        if unseen {
            self.events.retain(|e| event_stream(e) != Some(stream_id));
        } else if !stream.discard {
            self.events.push_back(Event::Reset { stream_id, code });
        }
    }

    pub(super) fn maybe_close(&mut self, stream_id: u32) {
        if self
            .streams
            .get(&stream_id)
            .is_some_and(|s| s.recv_closed && s.send_closed)
        {
            self.remove_stream(stream_id, Closed::ByPeerOrDone, None);
        }
    }

    pub(super) fn on_rst_stream(&mut self, r: RstStream, now: Instant) -> Result<(), SessionError> {
        let id = r.stream_id;
        match self.lookup(id) {
            Lookup::Idle => Err(conn_error(
                ErrorCode::ProtocolError,
                "RST_STREAM on an idle stream",
            )),
            Lookup::Closed(_) => Ok(()),
            Lookup::Open => {
                let early = self.streams.get(&id).is_some_and(|s| !s.send_closed);
                self.remove_stream(id, Closed::ByPeerOrDone, Some(r.error_code));
                if !early {
                    return Ok(());
                }
                let flood = &self.settings.flood;
                let expired = self
                    .reset_window_start
                    .is_none_or(|t| now.saturating_duration_since(t) > flood.reset_window);
                if expired {
                    self.reset_window_start = Some(now);
                    self.early_resets = 0;
                }
                self.early_resets += 1;
                if self.early_resets > flood.max_early_resets {
                    return Err(conn_error(
                        ErrorCode::EnhanceYourCalm,
                        "too many streams reset early (rapid reset)",
                    ));
                }
                Ok(())
            }
        }
    }

    pub(super) fn on_settings_ack(&mut self) {
        if self.local_acked {
            return;
        }
        self.local_acked = true;
        self.decoder
            .set_max_table_size(self.settings.header_table_size as usize);
        let delta = i64::from(self.settings.initial_window_size) - i64::from(DEFAULT_WINDOW);
        for stream in self.streams.values_mut() {
            stream.recv_window += delta;
        }
    }

    pub(super) fn apply_peer_settings(&mut self, s: &Settings<'_>) -> Result<(), SessionError> {
        for setting in s.iter() {
            match setting {
                Setting::HeaderTableSize(v) => self.encoder.set_max_table_size(v as usize),
                Setting::InitialWindowSize(v) => {
                    let delta = i64::from(v) - i64::from(self.peer_initial_window);
                    for stream in self.streams.values_mut() {
                        stream.send_window += delta;
                        if stream.send_window > i64::from(MAX_WINDOW_SIZE) {
                            return Err(conn_error(
                                ErrorCode::FlowControlError,
                                "SETTINGS_INITIAL_WINDOW_SIZE takes a window above 2^31-1",
                            ));
                        }
                    }
                    self.peer_initial_window = v;
                }
                Setting::MaxFrameSize(v) => self.peer_max_frame = v,
                Setting::EnablePush(_)
                | Setting::MaxConcurrentStreams(_)
                | Setting::MaxHeaderListSize(_) => {}
            }
        }
        Ok(())
    }

    pub(super) fn on_window_update(&mut self, w: WindowUpdate) -> Result<(), SessionError> {
        let inc = i64::from(w.increment);
        if w.stream_id == 0 {
            self.conn_send_window += inc;
            if self.conn_send_window > i64::from(MAX_WINDOW_SIZE) {
                return Err(conn_error(
                    ErrorCode::FlowControlError,
                    "connection window above 2^31-1",
                ));
            }
            return Ok(());
        }
        match self.lookup(w.stream_id) {
            Lookup::Idle => Err(conn_error(
                ErrorCode::ProtocolError,
                "WINDOW_UPDATE on an idle stream",
            )),
            Lookup::Closed(_) => Ok(()),
            Lookup::Open => {
                let stream = self.streams.get_mut(&w.stream_id).expect("open");
                stream.send_window += inc;
                if stream.send_window > i64::from(MAX_WINDOW_SIZE) {
                    return self.stream_error(w.stream_id, ErrorCode::FlowControlError);
                }
                Ok(())
            }
        }
    }
}
