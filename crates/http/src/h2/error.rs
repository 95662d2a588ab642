//! HTTP/2 error codes (RFC 9113 §7) and the errors the frame decoder reports (§5.4).

use std::fmt;

/// The 32-bit error code of RST_STREAM and GOAWAY (RFC 9113 §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// 0x0: not the result of an error (a graceful GOAWAY, or a RST_STREAM after a
    /// complete response).
    NoError,
    /// 0x1: an unspecific protocol error.
    ProtocolError,
    /// 0x2: an unexpected internal error.
    InternalError,
    /// 0x3: the peer violated flow control.
    FlowControlError,
    /// 0x4: a SETTINGS frame was not acknowledged in time.
    SettingsTimeout,
    /// 0x5: a frame arrived after the stream was half-closed.
    StreamClosed,
    /// 0x6: a frame had an invalid size.
    FrameSizeError,
    /// 0x7: the stream was refused before any application processing.
    RefusedStream,
    /// 0x8: the stream is no longer needed.
    Cancel,
    /// 0x9: the field section compression context cannot be maintained.
    CompressionError,
    /// 0xa: the connection made for a CONNECT request was reset or closed abnormally.
    ConnectError,
    /// 0xb: the peer generates excessive load.
    EnhanceYourCalm,
    /// 0xc: the transport does not meet the minimum security requirements (§9.2).
    InadequateSecurity,
    /// 0xd: HTTP/1.1 is required instead of HTTP/2.
    Http11Required,
    /// A code this list does not name, kept as sent. [`ErrorCode::from`] never puts one
    /// of the codes above here. RFC 9113 §7: it must not trigger special behaviour and may
    /// be treated as INTERNAL_ERROR.
    Unknown(u32),
}

impl ErrorCode {
    /// The code as it goes on the wire.
    pub fn to_u32(self) -> u32 {
        match self {
            ErrorCode::NoError => 0x0,
            ErrorCode::ProtocolError => 0x1,
            ErrorCode::InternalError => 0x2,
            ErrorCode::FlowControlError => 0x3,
            ErrorCode::SettingsTimeout => 0x4,
            ErrorCode::StreamClosed => 0x5,
            ErrorCode::FrameSizeError => 0x6,
            ErrorCode::RefusedStream => 0x7,
            ErrorCode::Cancel => 0x8,
            ErrorCode::CompressionError => 0x9,
            ErrorCode::ConnectError => 0xa,
            ErrorCode::EnhanceYourCalm => 0xb,
            ErrorCode::InadequateSecurity => 0xc,
            ErrorCode::Http11Required => 0xd,
            ErrorCode::Unknown(code) => code,
        }
    }

    /// The name RFC 9113 §7 gives the code (`"PROTOCOL_ERROR"`), `None` for an unknown one.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            ErrorCode::NoError => "NO_ERROR",
            ErrorCode::ProtocolError => "PROTOCOL_ERROR",
            ErrorCode::InternalError => "INTERNAL_ERROR",
            ErrorCode::FlowControlError => "FLOW_CONTROL_ERROR",
            ErrorCode::SettingsTimeout => "SETTINGS_TIMEOUT",
            ErrorCode::StreamClosed => "STREAM_CLOSED",
            ErrorCode::FrameSizeError => "FRAME_SIZE_ERROR",
            ErrorCode::RefusedStream => "REFUSED_STREAM",
            ErrorCode::Cancel => "CANCEL",
            ErrorCode::CompressionError => "COMPRESSION_ERROR",
            ErrorCode::ConnectError => "CONNECT_ERROR",
            ErrorCode::EnhanceYourCalm => "ENHANCE_YOUR_CALM",
            ErrorCode::InadequateSecurity => "INADEQUATE_SECURITY",
            ErrorCode::Http11Required => "HTTP_1_1_REQUIRED",
            ErrorCode::Unknown(_) => return None,
        })
    }
}

impl From<u32> for ErrorCode {
    fn from(code: u32) -> Self {
        match code {
            0x0 => ErrorCode::NoError,
            0x1 => ErrorCode::ProtocolError,
            0x2 => ErrorCode::InternalError,
            0x3 => ErrorCode::FlowControlError,
            0x4 => ErrorCode::SettingsTimeout,
            0x5 => ErrorCode::StreamClosed,
            0x6 => ErrorCode::FrameSizeError,
            0x7 => ErrorCode::RefusedStream,
            0x8 => ErrorCode::Cancel,
            0x9 => ErrorCode::CompressionError,
            0xa => ErrorCode::ConnectError,
            0xb => ErrorCode::EnhanceYourCalm,
            0xc => ErrorCode::InadequateSecurity,
            0xd => ErrorCode::Http11Required,
            other => ErrorCode::Unknown(other),
        }
    }
}

impl From<ErrorCode> for u32 {
    fn from(code: ErrorCode) -> Self {
        code.to_u32()
    }
}

impl fmt::Display for ErrorCode {
    /// The RFC name, or the code in hex (`0x1f`) for an unknown one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "{:#x}", self.to_u32()),
        }
    }
}

/// A frame the decoder refuses, and what the connection has to do about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// A connection error (RFC 9113 §5.4.1): send GOAWAY with `code` and close. The frame
    /// boundaries of what follows cannot be trusted, so nothing more is decoded. The
    /// error may be reported as soon as the 9-octet header is in the buffer.
    Connection {
        /// What to put in the GOAWAY.
        code: ErrorCode,
        /// A short explanation, for logs and GOAWAY debug data.
        reason: &'static str,
    },
    /// A stream error (RFC 9113 §5.4.2): send RST_STREAM with `code` on `stream_id`. It is
    /// only reported once the whole frame is in the buffer: drop its `frame_len` octets
    /// and decode on.
    Stream {
        /// The stream to reset.
        stream_id: u32,
        /// What to put in the RST_STREAM.
        code: ErrorCode,
        /// A short explanation, for logs.
        reason: &'static str,
        /// The size of the refused frame, its 9-octet header included.
        frame_len: usize,
    },
}

impl FrameError {
    /// The error code to send.
    pub fn code(&self) -> ErrorCode {
        match *self {
            FrameError::Connection { code, .. } | FrameError::Stream { code, .. } => code,
        }
    }

    /// A short explanation, for logs and GOAWAY debug data.
    pub fn reason(&self) -> &'static str {
        match *self {
            FrameError::Connection { reason, .. } | FrameError::Stream { reason, .. } => reason,
        }
    }

    /// Whether the whole connection fails (GOAWAY) rather than one stream (RST_STREAM).
    pub fn is_connection_error(&self) -> bool {
        matches!(self, FrameError::Connection { .. })
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Connection { code, reason } => {
                write!(f, "HTTP/2 connection error {code}: {reason}")
            }
            FrameError::Stream {
                stream_id,
                code,
                reason,
                ..
            } => write!(f, "HTTP/2 stream {stream_id} error {code}: {reason}"),
        }
    }
}

impl std::error::Error for FrameError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_round_trip_rfc9113_section7() {
        for code in 0..=0x20u32 {
            let e = ErrorCode::from(code);
            assert_eq!(u32::from(e), code);
            assert_eq!(e.name().is_some(), code <= 0xd);
        }
        assert_eq!(ErrorCode::from(0xd), ErrorCode::Http11Required);
        assert_eq!(ErrorCode::from(0xe), ErrorCode::Unknown(0xe));
        assert_eq!(ErrorCode::from(u32::MAX), ErrorCode::Unknown(u32::MAX));
        assert_eq!(
            ErrorCode::FlowControlError.to_string(),
            "FLOW_CONTROL_ERROR"
        );
        assert_eq!(ErrorCode::Unknown(0x1f).to_string(), "0x1f");
    }

    #[test]
    fn frame_error_accessors_and_display() {
        let c = FrameError::Connection {
            code: ErrorCode::ProtocolError,
            reason: "DATA on stream 0",
        };
        assert!(c.is_connection_error());
        assert_eq!(c.code(), ErrorCode::ProtocolError);
        assert_eq!(
            c.to_string(),
            "HTTP/2 connection error PROTOCOL_ERROR: DATA on stream 0"
        );
        let s = FrameError::Stream {
            stream_id: 3,
            code: ErrorCode::FrameSizeError,
            reason: "PRIORITY length is not 5",
            frame_len: 15,
        };
        assert!(!s.is_connection_error());
        assert_eq!(s.reason(), "PRIORITY length is not 5");
        assert_eq!(
            s.to_string(),
            "HTTP/2 stream 3 error FRAME_SIZE_ERROR: PRIORITY length is not 5"
        );
    }
}
