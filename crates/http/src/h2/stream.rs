//! The state a session keeps per stream (RFC 9113 §5.1), and what it remembers of the
//! streams that closed recently.
//!
//! A server stream is never reserved (we do not push), so it lives in one of the states
//! open, half-closed (remote), half-closed (local); both directions closed is closed,
//! and the stream leaves the table. What the two flags say:
//!
//! | `recv_closed` | `send_closed` | RFC 9113 state |
//! |---|---|---|
//! | no | no | open |
//! | yes | no | half-closed (remote) |
//! | no | yes | half-closed (local) |
//!
//! Idle streams are not stored: a client stream id above the highest one seen is idle,
//! one at or below it that is not in the table is closed (§5.1.1).

use std::collections::VecDeque;

/// One stream that is open or half-closed.
#[derive(Debug)]
pub(super) struct Stream {
    /// The client sent END_STREAM (or RST_STREAM).
    pub(super) recv_closed: bool,
    /// We sent END_STREAM.
    pub(super) send_closed: bool,
    /// We sent a final (non-1xx) response head.
    pub(super) responded: bool,
    /// The request was rejected (too large, 431/414): its DATA is dropped and released
    /// at once, and no event mentions the stream but the rejection.
    pub(super) discard: bool,
    /// What the client may still send on the stream: our window, signed because a
    /// lowered SETTINGS_INITIAL_WINDOW_SIZE can take it below 0 (§6.9.2).
    pub(super) recv_window: i64,
    /// Octets the caller released that were not yet given back by a WINDOW_UPDATE.
    pub(super) recv_unacked: u32,
    /// What we may still send: the peer's window for this stream.
    pub(super) send_window: i64,
    /// `content-length` of the request, if it had one.
    pub(super) content_length: Option<u64>,
    /// Request body octets received (padding not counted).
    pub(super) received: u64,
    /// Body octets handed to the caller and not yet released: given back to the
    /// connection window when the stream goes.
    pub(super) held: u32,
    /// `send_data` wrote less than it was asked because of a window.
    pub(super) blocked: bool,
}

impl Stream {
    pub(super) fn new(recv_window: u32, send_window: u32) -> Self {
        Stream {
            recv_closed: false,
            send_closed: false,
            responded: false,
            discard: false,
            recv_window: i64::from(recv_window),
            recv_unacked: 0,
            send_window: i64::from(send_window),
            content_length: None,
            received: 0,
            held: 0,
            blocked: false,
        }
    }
}

/// How a stream that left the table closed, which decides what a late frame on it means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Closed {
    /// We sent RST_STREAM (or ignored the stream after GOAWAY): frames the client had
    /// already sent may still come and are ignored (§5.1 "closed").
    ByUs,
    /// The client reset it, or both sides ended it: a later DATA or HEADERS is a
    /// STREAM_CLOSED error; WINDOW_UPDATE, RST_STREAM and PRIORITY are ignored.
    ByPeerOrDone,
}

/// How many closed streams are remembered: frames that cross our RST_STREAM arrive
/// within a round trip, during which a client opens at most a few dozen streams.
const CLOSED_REMEMBERED: usize = 64;

/// The most recently closed streams, oldest first.
#[derive(Debug, Default)]
pub(super) struct ClosedStreams {
    ring: VecDeque<(u32, Closed)>,
}

impl ClosedStreams {
    pub(super) fn push(&mut self, stream_id: u32, how: Closed) {
        if self.ring.len() == CLOSED_REMEMBERED {
            self.ring.pop_front();
        }
        self.ring.push_back((stream_id, how));
    }

    pub(super) fn get(&self, stream_id: u32) -> Option<Closed> {
        self.ring
            .iter()
            .rev()
            .find(|(id, _)| *id == stream_id)
            .map(|(_, how)| *how)
    }
}
