//! What a [`ServerSession`](super::ServerSession) announces and enforces: our SETTINGS,
//! Apache's request limits, and the thresholds of the flood protections.

use std::time::Duration;

use crate::types::Limits;

use super::{DEFAULT_MAX_FRAME_SIZE, LARGEST_MAX_FRAME_SIZE, MAX_WINDOW_SIZE};

/// The largest SETTINGS_MAX_HEADER_LIST_SIZE [`SessionSettings::from_limits`] derives
/// (nghttp2's default): the most of one field block a peer can make us buffer.
pub const MAX_DERIVED_HEADER_LIST_SIZE: usize = 64 * 1024;

/// The configuration of one HTTP/2 server connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionSettings {
    /// SETTINGS_MAX_CONCURRENT_STREAMS (Apache `H2MaxSessionStreams`, default 100):
    /// streams beyond it are refused with RST_STREAM REFUSED_STREAM.
    pub max_concurrent_streams: u32,
    /// SETTINGS_INITIAL_WINDOW_SIZE (Apache `H2WindowSize`, default 65535): how much
    /// request body a client may send on a stream before the caller releases it.
    pub initial_window_size: u32,
    /// The connection's receive window, raised from 65535 by a WINDOW_UPDATE right after
    /// our SETTINGS (default 1 MiB): the most request body, over all streams, that is
    /// ever received and not yet released by the caller.
    pub connection_window_size: u32,
    /// SETTINGS_MAX_FRAME_SIZE (default 16384): the largest frame payload we accept.
    pub max_frame_size: u32,
    /// SETTINGS_HEADER_TABLE_SIZE (default 4096): our HPACK decoder's table.
    pub header_table_size: u32,
    /// SETTINGS_MAX_HEADER_LIST_SIZE: the largest decoded header list (name + value +
    /// 32 per field) a request may have; a larger one is answered 431. Also the most
    /// compressed field-block octets buffered: a block beyond it ends the connection.
    pub max_header_list_size: usize,
    /// LimitRequestFieldSize (name + 2 + value per field; a longer one: 431),
    /// LimitRequestFields (more regular fields: 431) and LimitRequestLine (a longer
    /// pseudo-header value: 414), as Apache's mod_http2 applies them. `body` is not
    /// applied here: the caller sees `Content-Length` in the head and counts DATA.
    pub limits: Limits,
    /// The flood protections.
    pub flood: FloodLimits,
    /// How long the client has to acknowledge our SETTINGS before the connection ends
    /// with SETTINGS_TIMEOUT (RFC 9113 §6.5.3; default 10 s, `None`: no limit). Checked
    /// when the client's frames arrive: an idle client is the idle timeout's.
    pub settings_timeout: Option<std::time::Duration>,
}

impl Default for SessionSettings {
    fn default() -> Self {
        SessionSettings::from_limits(Limits::default())
    }
}

impl SessionSettings {
    /// The defaults above with `limits`; SETTINGS_MAX_HEADER_LIST_SIZE is derived from
    /// them: room for LimitRequestFields fields of LimitRequestFieldSize (plus a few
    /// pseudo-header fields), between 16 KiB and [`MAX_DERIVED_HEADER_LIST_SIZE`].
    pub fn from_limits(limits: Limits) -> Self {
        let fields = if limits.fields == 0 {
            usize::MAX
        } else {
            limits.fields + 4
        };
        let max_header_list_size = fields
            .saturating_mul(limits.field_size.saturating_add(32))
            .clamp(16 * 1024, MAX_DERIVED_HEADER_LIST_SIZE);
        SessionSettings {
            max_concurrent_streams: 100,
            initial_window_size: 65_535,
            connection_window_size: 1 << 20,
            max_frame_size: DEFAULT_MAX_FRAME_SIZE,
            header_table_size: 4096,
            max_header_list_size,
            limits,
            flood: FloodLimits::default(),
            settings_timeout: Some(std::time::Duration::from_secs(10)),
        }
    }

    /// The settings with every value brought into the range the protocol allows.
    pub(super) fn sanitized(mut self) -> Self {
        self.initial_window_size = self.initial_window_size.min(MAX_WINDOW_SIZE);
        self.connection_window_size = self.connection_window_size.clamp(65_535, MAX_WINDOW_SIZE);
        self.max_frame_size = self
            .max_frame_size
            .clamp(DEFAULT_MAX_FRAME_SIZE, LARGEST_MAX_FRAME_SIZE);
        self.max_header_list_size = self.max_header_list_size.min(u32::MAX as usize);
        self
    }
}

/// Thresholds past which a peer is taken to be attacking the server: the connection then
/// ends with GOAWAY ENHANCE_YOUR_CALM. Each guards one known attack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FloodLimits {
    /// Rapid reset (CVE-2023-44487): streams the client opens and resets before the
    /// response is complete, at most this many within [`FloodLimits::reset_window`].
    pub max_early_resets: u32,
    /// The window of [`FloodLimits::max_early_resets`].
    pub reset_window: Duration,
    /// Ping, settings and reset floods (CVE-2019-9512, -9515, -9514): the control frames
    /// we queue in answer to the peer (PING and SETTINGS ACKs, RST_STREAM) while the
    /// caller has not taken the output away; at most this many at once.
    pub max_queued_control_frames: usize,
    /// Reset flood (CVE-2019-9514): stream errors the peer causes over the connection's
    /// life (malformed requests, refused streams, frames on closed streams…).
    pub max_stream_errors: u32,
    /// Empty-frame flood (CVE-2019-9518): DATA, HEADERS and CONTINUATION frames with an
    /// empty payload that end neither the stream nor the field block, over the
    /// connection's life.
    pub max_empty_frames: u32,
    /// CONTINUATION flood (CVE-2024-27316): CONTINUATION frames in one field block
    /// (nghttp2's default is 8).
    pub max_continuations: u32,
    /// Data dribble (CVE-2019-9511): DATA frames under 128 octets that we send only
    /// because the peer's flow-control windows allow no more, over the connection's
    /// life.
    pub max_small_window_frames: u32,
}

impl Default for FloodLimits {
    fn default() -> Self {
        FloodLimits {
            max_early_resets: 100,
            reset_window: Duration::from_secs(10),
            max_queued_control_frames: 1000,
            max_stream_errors: 1000,
            max_empty_frames: 100,
            max_continuations: 8,
            max_small_window_frames: 1000,
        }
    }
}
