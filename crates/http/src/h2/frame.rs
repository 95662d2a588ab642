//! The frame header (RFC 9113 §4.1) and the frame types of §6, as the decoder hands them
//! out: payloads borrow from the caller's buffer.

use std::fmt;

use super::error::{ErrorCode, FrameError};
use super::{DEFAULT_MAX_FRAME_SIZE, LARGEST_MAX_FRAME_SIZE, MAX_WINDOW_SIZE};

/// The flag bits of the frame header (RFC 9113 §6). A bit means something only for the
/// frame types listed with it; on other types it is ignored on receipt and never sent.
pub mod flags {
    /// DATA, HEADERS: the sender's last frame on the stream.
    pub const END_STREAM: u8 = 0x01;
    /// SETTINGS, PING: the frame acknowledges the peer's.
    pub const ACK: u8 = 0x01;
    /// HEADERS, PUSH_PROMISE, CONTINUATION: the field block ends with this frame.
    pub const END_HEADERS: u8 = 0x04;
    /// DATA, HEADERS, PUSH_PROMISE: a Pad Length octet and padding are present.
    pub const PADDED: u8 = 0x08;
    /// HEADERS: the Exclusive, Stream Dependency and Weight fields are present.
    pub const PRIORITY: u8 = 0x20;
}

/// The mask of the 31 bits of a stream identifier; the bit above is reserved.
pub(super) const STREAM_ID_MASK: u32 = 0x7fff_ffff;

/// The type octet of a frame (RFC 9113 §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrameType {
    /// 0x0 (§6.1).
    Data,
    /// 0x1 (§6.2).
    Headers,
    /// 0x2 (§6.3).
    Priority,
    /// 0x3 (§6.4).
    RstStream,
    /// 0x4 (§6.5).
    Settings,
    /// 0x5 (§6.6).
    PushPromise,
    /// 0x6 (§6.7).
    Ping,
    /// 0x7 (§6.8).
    GoAway,
    /// 0x8 (§6.9).
    WindowUpdate,
    /// 0x9 (§6.10).
    Continuation,
    /// A type this list does not name (an extension, §5.5). [`FrameType::from`] never puts
    /// one of the types above here.
    Unknown(u8),
}

impl FrameType {
    /// The type as it goes on the wire.
    pub fn to_u8(self) -> u8 {
        match self {
            FrameType::Data => 0x0,
            FrameType::Headers => 0x1,
            FrameType::Priority => 0x2,
            FrameType::RstStream => 0x3,
            FrameType::Settings => 0x4,
            FrameType::PushPromise => 0x5,
            FrameType::Ping => 0x6,
            FrameType::GoAway => 0x7,
            FrameType::WindowUpdate => 0x8,
            FrameType::Continuation => 0x9,
            FrameType::Unknown(t) => t,
        }
    }
}

impl From<u8> for FrameType {
    fn from(t: u8) -> Self {
        match t {
            0x0 => FrameType::Data,
            0x1 => FrameType::Headers,
            0x2 => FrameType::Priority,
            0x3 => FrameType::RstStream,
            0x4 => FrameType::Settings,
            0x5 => FrameType::PushPromise,
            0x6 => FrameType::Ping,
            0x7 => FrameType::GoAway,
            0x8 => FrameType::WindowUpdate,
            0x9 => FrameType::Continuation,
            other => FrameType::Unknown(other),
        }
    }
}

impl From<FrameType> for u8 {
    fn from(t: FrameType) -> Self {
        t.to_u8()
    }
}

/// The 9 octets in front of every frame (RFC 9113 §4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// The payload length in octets (24 bits), the 9 header octets not counted.
    pub length: u32,
    /// The frame type.
    pub frame_type: FrameType,
    /// The flag octet, as sent: see [`flags`].
    pub flags: u8,
    /// The stream identifier (31 bits): the reserved bit above it is dropped when parsing
    /// and never written.
    pub stream_id: u32,
}

impl FrameHeader {
    /// The size of the frame header on the wire.
    pub const LEN: usize = 9;

    /// Reads a frame header. Every 9 octets are a header: what a frame of this type may
    /// look like is [`decode_frame`](super::decode_frame)'s business.
    pub fn parse(octets: &[u8; Self::LEN]) -> FrameHeader {
        let [l0, l1, l2, frame_type, flags, s0, s1, s2, s3] = *octets;
        FrameHeader {
            length: u32::from_be_bytes([0, l0, l1, l2]),
            frame_type: FrameType::from(frame_type),
            flags,
            stream_id: u32::from_be_bytes([s0, s1, s2, s3]) & STREAM_ID_MASK,
        }
    }

    /// Appends the header to `out`, with the reserved bit unset. A caller that copies a
    /// payload into `out` itself (file data for DATA, say) writes the header this way.
    ///
    /// # Panics
    ///
    /// If `length` does not fit in 24 bits (it is above [`LARGEST_MAX_FRAME_SIZE`]).
    pub fn write(&self, out: &mut Vec<u8>) {
        assert!(
            self.length <= LARGEST_MAX_FRAME_SIZE,
            "HTTP/2 frame payload of {} octets does not fit the 24-bit length",
            self.length
        );
        let [_, l0, l1, l2] = self.length.to_be_bytes();
        out.extend_from_slice(&[l0, l1, l2, self.frame_type.to_u8(), self.flags]);
        out.extend_from_slice(&(self.stream_id & STREAM_ID_MASK).to_be_bytes());
    }

    /// Whether `flag` (one of [`flags`]) is set.
    pub fn has_flag(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

/// One decoded frame. Payload fields borrow from the buffer given to
/// [`decode_frame`](super::decode_frame). Flags a type does not define are dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// DATA (§6.1).
    Data(Data<'a>),
    /// HEADERS (§6.2).
    Headers(Headers<'a>),
    /// PRIORITY (§6.3), deprecated: may be ignored.
    Priority(Priority),
    /// RST_STREAM (§6.4).
    RstStream(RstStream),
    /// SETTINGS (§6.5).
    Settings(Settings<'a>),
    /// PUSH_PROMISE (§6.6): only a server sends it, so a server that receives one fails
    /// the connection with PROTOCOL_ERROR (§8.4).
    PushPromise(PushPromise<'a>),
    /// PING (§6.7).
    Ping(Ping),
    /// GOAWAY (§6.8).
    GoAway(GoAway<'a>),
    /// WINDOW_UPDATE (§6.9).
    WindowUpdate(WindowUpdate),
    /// CONTINUATION (§6.10).
    Continuation(Continuation<'a>),
    /// A frame of a type RFC 9113 does not define, to be ignored (§4.1, §5.5) unless it
    /// comes in the middle of a field block.
    Unknown(Unknown<'a>),
}

impl Frame<'_> {
    /// The frame's stream identifier, 0 for the connection-level types.
    pub fn stream_id(&self) -> u32 {
        match self {
            Frame::Data(f) => f.stream_id,
            Frame::Headers(f) => f.stream_id,
            Frame::Priority(f) => f.stream_id,
            Frame::RstStream(f) => f.stream_id,
            Frame::PushPromise(f) => f.stream_id,
            Frame::WindowUpdate(f) => f.stream_id,
            Frame::Continuation(f) => f.stream_id,
            Frame::Unknown(f) => f.stream_id,
            Frame::Settings(_) | Frame::Ping(_) | Frame::GoAway(_) => 0,
        }
    }

    /// The frame's type.
    pub fn frame_type(&self) -> FrameType {
        match self {
            Frame::Data(_) => FrameType::Data,
            Frame::Headers(_) => FrameType::Headers,
            Frame::Priority(_) => FrameType::Priority,
            Frame::RstStream(_) => FrameType::RstStream,
            Frame::Settings(_) => FrameType::Settings,
            Frame::PushPromise(_) => FrameType::PushPromise,
            Frame::Ping(_) => FrameType::Ping,
            Frame::GoAway(_) => FrameType::GoAway,
            Frame::WindowUpdate(_) => FrameType::WindowUpdate,
            Frame::Continuation(_) => FrameType::Continuation,
            Frame::Unknown(f) => FrameType::from(f.frame_type),
        }
    }
}

/// A DATA frame (RFC 9113 §6.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Data<'a> {
    /// The stream, never 0.
    pub stream_id: u32,
    /// END_STREAM: the sender's last frame on the stream.
    pub end_stream: bool,
    /// `Some(n)` if the PADDED flag is set: a Pad Length octet and `n` octets of padding
    /// surround the data (their content is not checked).
    pub pad_len: Option<u8>,
    /// The application data, without padding.
    pub data: &'a [u8],
}

impl Data<'_> {
    /// What the frame counts against the flow-control windows: its whole payload, the
    /// Pad Length octet and the padding included (§6.1).
    pub fn flow_controlled_len(&self) -> u32 {
        let padding = self.pad_len.map_or(0, |n| 1 + u32::from(n));
        // A frame's payload is below 2^24 octets.
        self.data.len() as u32 + padding
    }
}

/// The priority fields of HEADERS and PRIORITY (RFC 9113 §5.3.2, RFC 7540 §5.3), a
/// deprecated scheme a server may ignore.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamDependency {
    /// The Exclusive bit.
    pub exclusive: bool,
    /// The stream this one depends on (31 bits, 0 for none).
    pub stream_id: u32,
    /// The Weight octet as sent: the weight minus one (0..=255 for 1..=256).
    pub weight: u8,
}

impl StreamDependency {
    /// The size of the fields on the wire.
    pub(super) const LEN: usize = 5;

    pub(super) fn parse(octets: [u8; Self::LEN]) -> StreamDependency {
        let [d0, d1, d2, d3, weight] = octets;
        let dependency = u32::from_be_bytes([d0, d1, d2, d3]);
        StreamDependency {
            exclusive: dependency & !STREAM_ID_MASK != 0,
            stream_id: dependency & STREAM_ID_MASK,
            weight,
        }
    }

    pub(super) fn to_octets(self) -> [u8; Self::LEN] {
        let exclusive = if self.exclusive { !STREAM_ID_MASK } else { 0 };
        let [d0, d1, d2, d3] = ((self.stream_id & STREAM_ID_MASK) | exclusive).to_be_bytes();
        [d0, d1, d2, d3, self.weight]
    }
}

/// A HEADERS frame (RFC 9113 §6.2): the first fragment of a field block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Headers<'a> {
    /// The stream, never 0.
    pub stream_id: u32,
    /// END_STREAM: the sender's last field block on the stream, no DATA follows (the
    /// block's CONTINUATION frames still do).
    pub end_stream: bool,
    /// END_HEADERS: the field block is complete; otherwise CONTINUATION frames follow.
    pub end_headers: bool,
    /// The priority fields, if the PRIORITY flag is set.
    pub priority: Option<StreamDependency>,
    /// `Some(n)` if the PADDED flag is set: `n` octets of padding (content not checked).
    pub pad_len: Option<u8>,
    /// The field block fragment, for the HPACK decoder once the block is complete.
    pub fragment: &'a [u8],
}

/// A PRIORITY frame (RFC 9113 §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Priority {
    /// The stream whose priority this is, never 0.
    pub stream_id: u32,
    /// Its new priority.
    pub dependency: StreamDependency,
}

/// A RST_STREAM frame (RFC 9113 §6.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RstStream {
    /// The stream to close, never 0.
    pub stream_id: u32,
    /// Why.
    pub error_code: ErrorCode,
}

/// One setting of a SETTINGS frame whose identifier RFC 9113 §6.5.2 defines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setting {
    /// SETTINGS_HEADER_TABLE_SIZE (0x1): the largest HPACK dynamic table the sender's
    /// decoder allows.
    HeaderTableSize(u32),
    /// SETTINGS_ENABLE_PUSH (0x2): whether the sender accepts PUSH_PROMISE.
    EnablePush(bool),
    /// SETTINGS_MAX_CONCURRENT_STREAMS (0x3).
    MaxConcurrentStreams(u32),
    /// SETTINGS_INITIAL_WINDOW_SIZE (0x4): at most [`MAX_WINDOW_SIZE`] when received.
    InitialWindowSize(u32),
    /// SETTINGS_MAX_FRAME_SIZE (0x5): within [`DEFAULT_MAX_FRAME_SIZE`]..=
    /// [`LARGEST_MAX_FRAME_SIZE`] when received.
    MaxFrameSize(u32),
    /// SETTINGS_MAX_HEADER_LIST_SIZE (0x6): advisory.
    MaxHeaderListSize(u32),
}

impl Setting {
    /// The setting's identifier on the wire.
    pub fn id(self) -> u16 {
        match self {
            Setting::HeaderTableSize(_) => 0x1,
            Setting::EnablePush(_) => 0x2,
            Setting::MaxConcurrentStreams(_) => 0x3,
            Setting::InitialWindowSize(_) => 0x4,
            Setting::MaxFrameSize(_) => 0x5,
            Setting::MaxHeaderListSize(_) => 0x6,
        }
    }

    /// The setting's value on the wire.
    pub fn value(self) -> u32 {
        match self {
            Setting::EnablePush(on) => u32::from(on),
            Setting::HeaderTableSize(v)
            | Setting::MaxConcurrentStreams(v)
            | Setting::InitialWindowSize(v)
            | Setting::MaxFrameSize(v)
            | Setting::MaxHeaderListSize(v) => v,
        }
    }

    /// Reads one setting: `Ok(None)` for an identifier RFC 9113 does not define (ignored,
    /// §6.5.2), an error for a value out of its range.
    pub(super) fn from_wire(id: u16, value: u32) -> Result<Option<Setting>, FrameError> {
        let out_of_range = |code, reason| Err(FrameError::Connection { code, reason });
        Ok(Some(match id {
            0x1 => Setting::HeaderTableSize(value),
            0x2 => match value {
                0 | 1 => Setting::EnablePush(value == 1),
                _ => {
                    return out_of_range(
                        ErrorCode::ProtocolError,
                        "SETTINGS_ENABLE_PUSH is neither 0 nor 1",
                    );
                }
            },
            0x3 => Setting::MaxConcurrentStreams(value),
            0x4 if value > MAX_WINDOW_SIZE => {
                return out_of_range(
                    ErrorCode::FlowControlError,
                    "SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1",
                );
            }
            0x4 => Setting::InitialWindowSize(value),
            0x5 if !(DEFAULT_MAX_FRAME_SIZE..=LARGEST_MAX_FRAME_SIZE).contains(&value) => {
                return out_of_range(
                    ErrorCode::ProtocolError,
                    "SETTINGS_MAX_FRAME_SIZE outside 2^14..=2^24-1",
                );
            }
            0x5 => Setting::MaxFrameSize(value),
            0x6 => Setting::MaxHeaderListSize(value),
            _ => return Ok(None),
        }))
    }
}

/// A SETTINGS frame (RFC 9113 §6.5), checked when it was decoded: an ACK is empty, and
/// every defined setting has a value in its range. Made by
/// [`decode_frame`](super::decode_frame); to send one, see
/// [`encode_settings`](super::encode_settings).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Settings<'a> {
    ack: bool,
    /// Whole 6-octet settings, every one checked by [`Setting::from_wire`].
    payload: &'a [u8],
}

impl<'a> Settings<'a> {
    /// Wraps a payload that [`Setting::from_wire`] accepted setting by setting.
    pub(super) fn new_checked(ack: bool, payload: &'a [u8]) -> Settings<'a> {
        Settings { ack, payload }
    }

    /// The payload as received.
    pub(super) fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// The ACK flag: this frame acknowledges our SETTINGS and has no settings.
    pub fn is_ack(&self) -> bool {
        self.ack
    }

    /// The settings in the order sent, which is the order to apply them in (§6.5.3); a
    /// setting may appear more than once (the last value wins). Identifiers RFC 9113 does
    /// not define are skipped.
    pub fn iter(&self) -> SettingsIter<'a> {
        SettingsIter {
            entries: self.payload.chunks_exact(6),
        }
    }
}

impl fmt::Debug for Settings<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("ack", &self.ack)
            .field("settings", &self.iter().collect::<Vec<_>>())
            .finish()
    }
}

/// The settings of a [`Settings`] frame, in order: see [`Settings::iter`].
#[derive(Clone, Debug)]
pub struct SettingsIter<'a> {
    entries: std::slice::ChunksExact<'a, u8>,
}

impl Iterator for SettingsIter<'_> {
    type Item = Setting;

    fn next(&mut self) -> Option<Setting> {
        for entry in self.entries.by_ref() {
            let id = u16::from_be_bytes([entry[0], entry[1]]);
            let value = u32::from_be_bytes([entry[2], entry[3], entry[4], entry[5]]);
            // The payload was checked when the frame was decoded: no error here.
            if let Ok(Some(setting)) = Setting::from_wire(id, value) {
                return Some(setting);
            }
        }
        None
    }
}

/// A PUSH_PROMISE frame (RFC 9113 §6.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PushPromise<'a> {
    /// The stream the promise is made on, never 0.
    pub stream_id: u32,
    /// The stream it reserves (31 bits).
    pub promised_stream_id: u32,
    /// END_HEADERS: the field block is complete; otherwise CONTINUATION frames follow.
    pub end_headers: bool,
    /// `Some(n)` if the PADDED flag is set: `n` octets of padding (content not checked).
    pub pad_len: Option<u8>,
    /// The field block fragment.
    pub fragment: &'a [u8],
}

/// A PING frame (RFC 9113 §6.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ping {
    /// ACK: a response, not to be answered. Otherwise answer with the same data.
    pub ack: bool,
    /// The 8 octets to echo.
    pub opaque_data: [u8; 8],
}

/// A GOAWAY frame (RFC 9113 §6.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GoAway<'a> {
    /// The highest stream the sender may have acted on (31 bits).
    pub last_stream_id: u32,
    /// Why the connection is closing.
    pub error_code: ErrorCode,
    /// Additional debug data: opaque, possibly sensitive.
    pub debug_data: &'a [u8],
}

/// A WINDOW_UPDATE frame (RFC 9113 §6.9).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowUpdate {
    /// The stream whose window grows, or 0 for the connection's.
    pub stream_id: u32,
    /// By how much: 1..=[`MAX_WINDOW_SIZE`] when decoded.
    pub increment: u32,
}

/// A CONTINUATION frame (RFC 9113 §6.10): a further fragment of a field block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Continuation<'a> {
    /// The stream, never 0.
    pub stream_id: u32,
    /// END_HEADERS: the field block ends with this fragment.
    pub end_headers: bool,
    /// The field block fragment.
    pub fragment: &'a [u8],
}

/// A frame of a type RFC 9113 does not define, kept whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unknown<'a> {
    /// The type octet: when decoded, never one of the types RFC 9113 defines.
    pub frame_type: u8,
    /// The flag octet, as sent.
    pub flags: u8,
    /// The stream identifier (31 bits).
    pub stream_id: u32,
    /// The payload.
    pub payload: &'a [u8],
}
