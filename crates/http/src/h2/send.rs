//! Responses: heads, body, trailers and resets a caller sends, within the client's
//! flow-control windows (RFC 9113 §6.9, §8.1): the output half of [`ServerSession`].

use http::StatusCode;

use crate::types::HeaderMap;

use super::session::{SMALL_FRAME, SendError, ServerSession, conn_error};
use super::stream::{Closed, Stream};
use super::{ErrorCode, encode_data, encode_headers, encode_rst_stream};

impl ServerSession {
    fn sendable(&mut self, stream_id: u32) -> Result<&mut Stream, SendError> {
        if self.error.is_some() {
            return Err(SendError::SessionClosed);
        }
        let stream = self
            .streams
            .get_mut(&stream_id)
            .ok_or(SendError::UnknownStream)?;
        if stream.send_closed {
            return Err(SendError::StreamEnded);
        }
        Ok(stream)
    }

    /// Sends the response head of `stream_id`: `:status`, then `headers` (names are
    /// lowercase in a [`HeaderMap`]; connection-specific fields are dropped, §8.2.2).
    /// `end_stream`: the response has no body. A 1xx head (not 101) may come before the
    /// final one.
    pub fn respond(
        &mut self,
        stream_id: u32,
        status: StatusCode,
        headers: &HeaderMap,
        end_stream: bool,
    ) -> Result<(), SendError> {
        let stream = self.sendable(stream_id)?;
        if stream.responded {
            return Err(SendError::AlreadyResponded);
        }
        let informational = status.is_informational();
        if informational && (status == StatusCode::SWITCHING_PROTOCOLS || end_stream) {
            return Err(SendError::InvalidStatus);
        }
        stream.responded = !informational;
        let status_field = (&b":status"[..], status.as_str().as_bytes(), false);
        self.write_block(stream_id, Some(status_field), headers, end_stream);
        if end_stream {
            self.end_local(stream_id);
        }
        Ok(())
    }

    /// Sends trailer fields, which end the response.
    pub fn send_trailers(&mut self, stream_id: u32, headers: &HeaderMap) -> Result<(), SendError> {
        if !self.sendable(stream_id)?.responded {
            return Err(SendError::NoResponse);
        }
        self.write_block(stream_id, None, headers, true);
        self.end_local(stream_id);
        Ok(())
    }

    fn write_block(
        &mut self,
        stream_id: u32,
        first: Option<(&[u8], &[u8], bool)>,
        headers: &HeaderMap,
        end_stream: bool,
    ) {
        let fields = first.into_iter().chain(
            headers
                .iter()
                .filter(|(name, _)| {
                    let name = name.as_str().as_bytes();
                    !matches!(
                        name,
                        b"connection"
                            | b"keep-alive"
                            | b"proxy-connection"
                            | b"transfer-encoding"
                            | b"upgrade"
                            | b"te"
                    )
                })
                .map(|(name, value)| {
                    (
                        name.as_str().as_bytes(),
                        value.as_bytes(),
                        value.is_sensitive(),
                    )
                }),
        );
        let mut block = Vec::new();
        self.encoder.encode(fields, &mut block);
        encode_headers(
            &mut self.out,
            stream_id,
            &block,
            end_stream,
            self.peer_max_frame,
        );
    }

    /// Sends response body on `stream_id`, as much of `data` as the connection's and
    /// the stream's windows allow now, in frames within the client's
    /// SETTINGS_MAX_FRAME_SIZE: the number of octets taken. END_STREAM goes with the last
    /// octet if `end_stream` and all of `data` was taken (an empty `data` with
    /// `end_stream` just ends the stream). The rest is the caller's to send again once
    /// [`ServerSession::writable_streams`] lists the stream.
    pub fn send_data(
        &mut self,
        stream_id: u32,
        data: &[u8],
        end_stream: bool,
    ) -> Result<usize, SendError> {
        let conn_window = self.conn_send_window;
        let max_frame = self.peer_max_frame as usize;
        let stream = self.sendable(stream_id)?;
        if !stream.responded {
            return Err(SendError::NoResponse);
        }
        let window = stream.send_window.min(conn_window).max(0) as usize;
        let n = data.len().min(window);
        stream.send_window -= n as i64;
        stream.blocked = n < data.len();
        let ends = end_stream && n == data.len();
        self.conn_send_window -= n as i64;
        if n == 0 && ends {
            encode_data(&mut self.out, stream_id, &[], true);
        }
        let mut chunks = data[..n].chunks(max_frame.max(1)).peekable();
        while let Some(chunk) = chunks.next() {
            encode_data(
                &mut self.out,
                stream_id,
                chunk,
                ends && chunks.peek().is_none(),
            );
        }
        // A frame cut short by the window (a caller that sends only what the window
        // allows offers exactly `window`) counts towards the dribble limit; a body's
        // small last piece does not.
        if n > 0 && n == window && !ends && n < SMALL_FRAME {
            self.small_frames += 1;
            if self.small_frames > self.settings.flood.max_small_window_frames {
                self.fail(conn_error(
                    ErrorCode::EnhanceYourCalm,
                    "flow-control windows too small (data dribble)",
                ));
            }
        }
        if ends {
            self.end_local(stream_id);
        }
        Ok(n)
    }

    /// Our side of the stream is complete; if the client is still sending, it is told
    /// to stop with RST_STREAM NO_ERROR (§8.1).
    fn end_local(&mut self, stream_id: u32) {
        let Some(stream) = self.streams.get_mut(&stream_id) else {
            return;
        };
        stream.send_closed = true;
        if stream.recv_closed {
            self.maybe_close(stream_id);
        } else {
            encode_rst_stream(&mut self.out, stream_id, ErrorCode::NoError);
            self.remove_stream(stream_id, Closed::ByUs, None);
        }
    }

    /// Resets `stream_id` with `code` (the handler failed: INTERNAL_ERROR; it no longer
    /// wants the stream: CANCEL). Nothing happens if the stream is not open.
    pub fn reset_stream(&mut self, stream_id: u32, code: ErrorCode) {
        if self.error.is_none() && self.streams.contains_key(&stream_id) {
            encode_rst_stream(&mut self.out, stream_id, code);
            self.remove_stream(stream_id, Closed::ByUs, None);
        }
    }

    /// The caller consumed `n` octets of request body it got in [`Event::Data`] on
    /// `stream_id`: the client may send that much more. WINDOW_UPDATEs are batched (one
    /// per half window). Octets of streams that are gone were already given back.
    pub fn release_capacity(&mut self, stream_id: u32, n: usize) {
        let Some(stream) = self.streams.get_mut(&stream_id) else {
            return;
        };
        let n = stream.held.min(u32::try_from(n).unwrap_or(u32::MAX));
        stream.held -= n;
        self.give_back(Some(stream_id), n);
    }
}
