//! Writing frames (RFC 9113 §6) into a `Vec<u8>`: the frames a server sends, and any
//! decoded [`Frame`] back as it was.
//!
//! Stream identifiers and 31-bit fields are written with the reserved bit unset, whatever
//! the caller passes. Nothing here checks what the decoder enforces: the caller picks
//! the streams, keeps frames within the peer's SETTINGS_MAX_FRAME_SIZE and its flow
//! control windows.
//!
//! A payload that does not fit the 24-bit length (DATA, GOAWAY debug data, a frame
//! given to [`Frame::encode`]) panics, see [`FrameHeader::write`]; [`encode_headers`]
//! splits its block and never does.

use super::LARGEST_MAX_FRAME_SIZE;
use super::error::ErrorCode;
use super::frame::{
    Data, Frame, FrameHeader, FrameType, GoAway, Headers, PushPromise, STREAM_ID_MASK, Setting,
    StreamDependency, flags,
};

fn write_header(
    out: &mut Vec<u8>,
    length: usize,
    frame_type: FrameType,
    flags: u8,
    stream_id: u32,
) {
    FrameHeader {
        // Anything above u32::MAX is also above the 24-bit limit `write` asserts.
        length: u32::try_from(length).unwrap_or(u32::MAX),
        frame_type,
        flags,
        stream_id,
    }
    .write(out);
}

/// Appends a DATA frame carrying `data` on `stream_id`, unpadded, with END_STREAM if
/// `end_stream`. `data` must fit the peer's SETTINGS_MAX_FRAME_SIZE and both flow-control
/// windows. To copy the data into `out` another way, write the header with
/// [`FrameHeader::write`] instead.
pub fn encode_data(out: &mut Vec<u8>, stream_id: u32, data: &[u8], end_stream: bool) {
    let flags = if end_stream { flags::END_STREAM } else { 0 };
    write_header(out, data.len(), FrameType::Data, flags, stream_id);
    out.extend_from_slice(data);
}

/// Appends a whole field block (from the HPACK encoder) for `stream_id`: a HEADERS frame,
/// followed by as many CONTINUATION frames as needed to keep every fragment within
/// `max_frame_size` (the peer's SETTINGS_MAX_FRAME_SIZE, or less), the last frame with
/// END_HEADERS. END_STREAM, if `end_stream`, goes on the HEADERS frame (§8.1). An empty
/// block is one empty HEADERS frame. A `max_frame_size` of 0 is taken as 1, one above
/// 2^24-1 as 2^24-1.
pub fn encode_headers(
    out: &mut Vec<u8>,
    stream_id: u32,
    block: &[u8],
    end_stream: bool,
    max_frame_size: u32,
) {
    let max = max_frame_size.clamp(1, LARGEST_MAX_FRAME_SIZE) as usize;
    let frames = block.len().div_ceil(max).max(1);
    out.reserve(block.len() + frames * FrameHeader::LEN);
    let mut fragments = block.chunks(max).peekable();
    let first = fragments.next().unwrap_or_default();
    let mut flags = if end_stream { flags::END_STREAM } else { 0 };
    if fragments.peek().is_none() {
        flags |= flags::END_HEADERS;
    }
    write_header(out, first.len(), FrameType::Headers, flags, stream_id);
    out.extend_from_slice(first);
    while let Some(fragment) = fragments.next() {
        let flags = if fragments.peek().is_none() {
            flags::END_HEADERS
        } else {
            0
        };
        write_header(
            out,
            fragment.len(),
            FrameType::Continuation,
            flags,
            stream_id,
        );
        out.extend_from_slice(fragment);
    }
}

/// Appends a SETTINGS frame with `settings` in order, written as given (a value the
/// decoder would refuse is not caught here).
pub fn encode_settings(out: &mut Vec<u8>, settings: &[Setting]) {
    write_header(out, settings.len() * 6, FrameType::Settings, 0, 0);
    for setting in settings {
        out.extend_from_slice(&setting.id().to_be_bytes());
        out.extend_from_slice(&setting.value().to_be_bytes());
    }
}

/// Appends the empty SETTINGS frame with ACK that acknowledges the peer's settings once
/// they are applied (§6.5.3).
pub fn encode_settings_ack(out: &mut Vec<u8>) {
    write_header(out, 0, FrameType::Settings, flags::ACK, 0);
}

/// Appends the PING frame with ACK that answers a PING carrying `opaque_data` (§6.7).
pub fn encode_ping_ack(out: &mut Vec<u8>, opaque_data: [u8; 8]) {
    encode_ping(out, opaque_data, true);
}

fn encode_ping(out: &mut Vec<u8>, opaque_data: [u8; 8], ack: bool) {
    let flags = if ack { flags::ACK } else { 0 };
    write_header(out, 8, FrameType::Ping, flags, 0);
    out.extend_from_slice(&opaque_data);
}

/// Appends a GOAWAY frame (§6.8): `last_stream_id` is the highest peer stream we may have
/// acted on (2^31-1 for the first GOAWAY of a graceful shutdown, 0 if none), and
/// `debug_data` goes to the peer as it is.
pub fn encode_goaway(
    out: &mut Vec<u8>,
    last_stream_id: u32,
    error_code: ErrorCode,
    debug_data: &[u8],
) {
    write_header(out, 8 + debug_data.len(), FrameType::GoAway, 0, 0);
    out.extend_from_slice(&(last_stream_id & STREAM_ID_MASK).to_be_bytes());
    out.extend_from_slice(&error_code.to_u32().to_be_bytes());
    out.extend_from_slice(debug_data);
}

/// Appends a WINDOW_UPDATE frame granting `increment` octets (1..=2^31-1; the bit above
/// is not written) on `stream_id`, or on the connection for 0 (§6.9).
pub fn encode_window_update(out: &mut Vec<u8>, stream_id: u32, increment: u32) {
    write_header(out, 4, FrameType::WindowUpdate, 0, stream_id);
    out.extend_from_slice(&(increment & STREAM_ID_MASK).to_be_bytes());
}

/// Appends a RST_STREAM frame closing `stream_id` with `error_code` (§6.4).
pub fn encode_rst_stream(out: &mut Vec<u8>, stream_id: u32, error_code: ErrorCode) {
    write_header(out, 4, FrameType::RstStream, 0, stream_id);
    out.extend_from_slice(&error_code.to_u32().to_be_bytes());
}

/// Appends a frame that may be padded: the Pad Length octet if `pad_len` is set, the
/// type's fixed `fields`, `body`, and `pad_len` zero octets.
fn write_padded(
    out: &mut Vec<u8>,
    frame_type: FrameType,
    flags: u8,
    stream_id: u32,
    pad_len: Option<u8>,
    fields: &[u8],
    body: &[u8],
) {
    let padding = pad_len.map_or(0, usize::from);
    let length = usize::from(pad_len.is_some()) + fields.len() + body.len() + padding;
    let flags = if pad_len.is_some() {
        flags | flags::PADDED
    } else {
        flags
    };
    write_header(out, length, frame_type, flags, stream_id);
    out.extend(pad_len);
    out.extend_from_slice(fields);
    out.extend_from_slice(body);
    out.resize(out.len() + padding, 0);
}

impl Frame<'_> {
    /// Appends this frame as [`decode_frame`](super::decode_frame) would read it back:
    /// same fields, flags the type does not define left unset, padding written as zeros.
    /// A HEADERS or PUSH_PROMISE frame is written as one frame, however long; for a
    /// field block to send, see [`encode_headers`].
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Frame::Data(Data {
                stream_id,
                end_stream,
                pad_len,
                data,
            }) => {
                let flags = if *end_stream { flags::END_STREAM } else { 0 };
                write_padded(out, FrameType::Data, flags, *stream_id, *pad_len, &[], data);
            }
            Frame::Headers(Headers {
                stream_id,
                end_stream,
                end_headers,
                priority,
                pad_len,
                fragment,
            }) => {
                let mut flags = 0;
                if *end_stream {
                    flags |= flags::END_STREAM;
                }
                if *end_headers {
                    flags |= flags::END_HEADERS;
                }
                let fields = priority.map(StreamDependency::to_octets);
                if fields.is_some() {
                    flags |= flags::PRIORITY;
                }
                let fields = fields.as_ref().map_or(&[][..], |f| &f[..]);
                let (frame_type, stream_id) = (FrameType::Headers, *stream_id);
                write_padded(
                    out, frame_type, flags, stream_id, *pad_len, fields, fragment,
                );
            }
            Frame::Priority(p) => {
                write_header(
                    out,
                    StreamDependency::LEN,
                    FrameType::Priority,
                    0,
                    p.stream_id,
                );
                out.extend_from_slice(&p.dependency.to_octets());
            }
            Frame::RstStream(r) => encode_rst_stream(out, r.stream_id, r.error_code),
            Frame::Settings(s) => {
                let flags = if s.is_ack() { flags::ACK } else { 0 };
                write_header(out, s.payload().len(), FrameType::Settings, flags, 0);
                out.extend_from_slice(s.payload());
            }
            Frame::PushPromise(PushPromise {
                stream_id,
                promised_stream_id,
                end_headers,
                pad_len,
                fragment,
            }) => {
                let flags = if *end_headers { flags::END_HEADERS } else { 0 };
                let promised = (promised_stream_id & STREAM_ID_MASK).to_be_bytes();
                let (frame_type, stream_id) = (FrameType::PushPromise, *stream_id);
                write_padded(
                    out, frame_type, flags, stream_id, *pad_len, &promised, fragment,
                );
            }
            Frame::Ping(p) => encode_ping(out, p.opaque_data, p.ack),
            Frame::GoAway(GoAway {
                last_stream_id,
                error_code,
                debug_data,
            }) => encode_goaway(out, *last_stream_id, *error_code, debug_data),
            Frame::WindowUpdate(w) => encode_window_update(out, w.stream_id, w.increment),
            Frame::Continuation(c) => {
                let flags = if c.end_headers { flags::END_HEADERS } else { 0 };
                let frame_type = FrameType::Continuation;
                write_header(out, c.fragment.len(), frame_type, flags, c.stream_id);
                out.extend_from_slice(c.fragment);
            }
            Frame::Unknown(u) => {
                let frame_type = FrameType::from(u.frame_type);
                write_header(out, u.payload.len(), frame_type, u.flags, u.stream_id);
                out.extend_from_slice(u.payload);
            }
        }
    }
}
