//! The HTTP/2 frame layer (RFC 9113 §4, §6, §7), without I/O and without streams.
//!
//! [`decode_frame`] reads one frame from the front of a buffer the caller owns and lends
//! out its payload ([`Frame`] borrows from the buffer); the `encode_*` functions append
//! the frames a server sends to a `Vec<u8>`; [`Frame::encode`] writes any frame back as
//! it was decoded (for tests and for a client role).
//!
//! The layer enforces what a single frame can tell on its own: the frame size against
//! our SETTINGS_MAX_FRAME_SIZE (checked on the 9-octet header, before the payload
//! arrives), which frame types need a stream and which must be on stream 0, the fixed
//! payload lengths, padding, and the values of the settings. Each violation is a
//! [`FrameError`] that says whether the connection (GOAWAY) or only one stream
//! (RST_STREAM) fails, and with which [`ErrorCode`].
//!
//! The connection layer above keeps everything that needs state:
//! * stream states, stream-id ordering and the number of open streams (§5.1);
//! * that CONTINUATION frames follow a HEADERS or PUSH_PROMISE without END_HEADERS on the
//!   same stream, and nothing else comes in between (§4.3, §6.10);
//! * HPACK decoding of the reassembled field block, which must happen even for a stream
//!   it then resets (§4.3);
//! * flow-control windows, including their overflow past 2^31-1 (§6.9.1); a DATA frame
//!   counts with its padding: [`Data::flow_controlled_len`];
//! * applying settings in order and acknowledging them (§6.5.3);
//! * refusing PUSH_PROMISE, which a server never accepts (§8.4);
//! * a stream that depends on itself in HEADERS or PRIORITY (a stream PROTOCOL_ERROR in
//!   RFC 7540 §5.3.1, which h2spec tests; RFC 9113 dropped that text);
//! * ignoring frames of unknown types ([`Frame::Unknown`]) except inside a field block.

mod decode;
mod encode;
mod error;
mod frame;
mod recv;
mod request;
mod send;
mod session;
mod settings;
mod stream;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod session_abuse_tests;
#[cfg(test)]
mod session_proptests;
#[cfg(test)]
mod session_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_control_frames;

pub use decode::decode_frame;
pub use encode::{
    encode_data, encode_goaway, encode_headers, encode_ping_ack, encode_rst_stream,
    encode_settings, encode_settings_ack, encode_window_update,
};
pub use error::{ErrorCode, FrameError};
pub use frame::{
    Continuation, Data, Frame, FrameHeader, FrameType, GoAway, Headers, Ping, Priority,
    PushPromise, RstStream, Setting, Settings, SettingsIter, StreamDependency, Unknown,
    WindowUpdate, flags,
};
pub use session::{Event, SendError, ServerSession, SessionError};
pub use settings::{FloodLimits, MAX_DERIVED_HEADER_LIST_SIZE, SessionSettings};

/// What a client sends before its first frame (RFC 9113 §3.4): the 24 octets
/// `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`, followed by a SETTINGS frame. The same constant the
/// HTTP/1.1 engine sniffs for ([`crate::H2_PREFACE`]).
pub const PREFACE: &[u8] = crate::h1_conn::H2_PREFACE;

/// The initial SETTINGS_MAX_FRAME_SIZE, and the smallest value it may be set to
/// (RFC 9113 §4.2, §6.5.2): 2^14 octets.
pub const DEFAULT_MAX_FRAME_SIZE: u32 = 1 << 14;

/// The largest value SETTINGS_MAX_FRAME_SIZE may be set to, 2^24-1 octets: the largest
/// payload the 24-bit length field can describe (RFC 9113 §4.2).
pub const LARGEST_MAX_FRAME_SIZE: u32 = (1 << 24) - 1;

/// The largest flow-control window, and the largest SETTINGS_INITIAL_WINDOW_SIZE and
/// WINDOW_UPDATE increment: 2^31-1 octets (RFC 9113 §6.9.1).
pub const MAX_WINDOW_SIZE: u32 = (1 << 31) - 1;
