//! Reading one frame from the front of the caller's buffer (RFC 9113 §4, §6).

use super::error::{ErrorCode, FrameError};
use super::frame::{
    Continuation, Data, Frame, FrameHeader, FrameType, GoAway, Headers, Ping, Priority,
    PushPromise, RstStream, STREAM_ID_MASK, Setting, Settings, StreamDependency, Unknown,
    WindowUpdate, flags,
};

/// Decodes the frame at the start of `buf`.
///
/// `Ok(None)`: `buf` holds only part of a frame; call again with more octets (the frame's
/// size is known once its 9-octet header is in, see [`FrameHeader::parse`]).
/// `Ok(Some((frame, n)))`: the frame and the `n` octets it took (9 + its length); the
/// frame borrows from `buf`, so handle it before dropping those octets.
///
/// `max_frame_size` is the largest payload the peer may send: our SETTINGS_MAX_FRAME_SIZE
/// (16384 unless we sent another), or the previous value while a SETTINGS that lowers it
/// is not acknowledged yet. A longer frame is a connection FRAME_SIZE_ERROR as soon as its
/// header is in, so the buffer never needs to hold more than `9 + max_frame_size` octets.
///
/// After a [`FrameError::Stream`], drop its `frame_len` octets and decode on; after a
/// [`FrameError::Connection`], stop. The rules (RFC 9113 sections in brackets):
/// * a frame longer than `max_frame_size`: connection FRAME_SIZE_ERROR [4.2];
/// * DATA, HEADERS, PRIORITY, RST_STREAM, PUSH_PROMISE or CONTINUATION on stream 0, or
///   SETTINGS, PING or GOAWAY on another stream: connection PROTOCOL_ERROR [6.1–6.10];
/// * a PADDED frame without room for its Pad Length, HEADERS without room for its
///   priority fields, PUSH_PROMISE without room for its promised stream, GOAWAY under 8
///   octets: connection FRAME_SIZE_ERROR [4.2];
/// * padding longer than what is left of the payload: connection PROTOCOL_ERROR
///   [6.1, 6.2, 6.6];
/// * PRIORITY not of 5 octets: stream FRAME_SIZE_ERROR [6.3]; RST_STREAM or WINDOW_UPDATE
///   not of 4, PING not of 8: connection FRAME_SIZE_ERROR [6.4, 6.7, 6.9];
/// * SETTINGS with ACK and a payload, or not a multiple of 6 octets: connection
///   FRAME_SIZE_ERROR; SETTINGS_ENABLE_PUSH other than 0 or 1 or SETTINGS_MAX_FRAME_SIZE
///   outside 2^14..=2^24-1: PROTOCOL_ERROR; SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1:
///   FLOW_CONTROL_ERROR; unknown settings are ignored [6.5, 6.5.2];
/// * a WINDOW_UPDATE increment of 0: PROTOCOL_ERROR, a stream error unless on stream 0
///   [6.9].
pub fn decode_frame(
    buf: &[u8],
    max_frame_size: u32,
) -> Result<Option<(Frame<'_>, usize)>, FrameError> {
    let Some(octets) = buf.first_chunk::<{ FrameHeader::LEN }>() else {
        return Ok(None);
    };
    let header = FrameHeader::parse(octets);
    check_header(&header, max_frame_size)?;
    let frame_len = FrameHeader::LEN + header.length as usize;
    let Some(payload) = buf.get(FrameHeader::LEN..frame_len) else {
        return Ok(None);
    };
    let frame = parse_payload(&header, payload)?;
    Ok(Some((frame, frame_len)))
}

fn connection_error(code: ErrorCode, reason: &'static str) -> FrameError {
    FrameError::Connection { code, reason }
}

/// The rules the header alone decides: the frame size and which stream a type may be on.
fn check_header(header: &FrameHeader, max_frame_size: u32) -> Result<(), FrameError> {
    if header.length > max_frame_size {
        return Err(connection_error(
            ErrorCode::FrameSizeError,
            "frame larger than SETTINGS_MAX_FRAME_SIZE",
        ));
    }
    let on_stream_0 = header.stream_id == 0;
    let reason = match header.frame_type {
        FrameType::Data if on_stream_0 => "DATA on stream 0",
        FrameType::Headers if on_stream_0 => "HEADERS on stream 0",
        FrameType::Priority if on_stream_0 => "PRIORITY on stream 0",
        FrameType::RstStream if on_stream_0 => "RST_STREAM on stream 0",
        FrameType::PushPromise if on_stream_0 => "PUSH_PROMISE on stream 0",
        FrameType::Continuation if on_stream_0 => "CONTINUATION on stream 0",
        FrameType::Settings if !on_stream_0 => "SETTINGS on a stream",
        FrameType::Ping if !on_stream_0 => "PING on a stream",
        FrameType::GoAway if !on_stream_0 => "GOAWAY on a stream",
        _ => return Ok(()),
    };
    Err(connection_error(ErrorCode::ProtocolError, reason))
}

/// Reads the payload of a frame whose header passed [`check_header`].
fn parse_payload<'a>(header: &FrameHeader, payload: &'a [u8]) -> Result<Frame<'a>, FrameError> {
    let stream_id = header.stream_id;
    let padded = header.has_flag(flags::PADDED);
    Ok(match header.frame_type {
        FrameType::Data => {
            let (pad_len, data) = strip_padding(padded, payload, 0)?;
            Frame::Data(Data {
                stream_id,
                end_stream: header.has_flag(flags::END_STREAM),
                pad_len,
                data,
            })
        }
        FrameType::Headers => {
            let with_priority = header.has_flag(flags::PRIORITY);
            let fields_len = if with_priority {
                StreamDependency::LEN
            } else {
                0
            };
            let (pad_len, rest) = strip_padding(padded, payload, fields_len)?;
            let (priority, fragment) = match rest.split_first_chunk() {
                Some((fields, fragment)) if with_priority => {
                    (Some(StreamDependency::parse(*fields)), fragment)
                }
                _ => (None, rest),
            };
            Frame::Headers(Headers {
                stream_id,
                end_stream: header.has_flag(flags::END_STREAM),
                end_headers: header.has_flag(flags::END_HEADERS),
                priority,
                pad_len,
                fragment,
            })
        }
        FrameType::Priority => {
            let Ok(fields) = payload.try_into() else {
                return Err(FrameError::Stream {
                    stream_id,
                    code: ErrorCode::FrameSizeError,
                    reason: "PRIORITY length is not 5",
                    frame_len: FrameHeader::LEN + payload.len(),
                });
            };
            Frame::Priority(Priority {
                stream_id,
                dependency: StreamDependency::parse(fields),
            })
        }
        FrameType::RstStream => {
            let Ok(code) = payload.try_into() else {
                return Err(connection_error(
                    ErrorCode::FrameSizeError,
                    "RST_STREAM length is not 4",
                ));
            };
            Frame::RstStream(RstStream {
                stream_id,
                error_code: ErrorCode::from(u32::from_be_bytes(code)),
            })
        }
        FrameType::Settings => Frame::Settings(parse_settings(header, payload)?),
        FrameType::PushPromise => {
            let (pad_len, rest) = strip_padding(padded, payload, 4)?;
            // strip_padding left at least the 4 octets of the promised stream.
            let (promised, fragment) = rest.split_at(4);
            let promised = u32::from_be_bytes([promised[0], promised[1], promised[2], promised[3]]);
            Frame::PushPromise(PushPromise {
                stream_id,
                promised_stream_id: promised & STREAM_ID_MASK,
                end_headers: header.has_flag(flags::END_HEADERS),
                pad_len,
                fragment,
            })
        }
        FrameType::Ping => {
            let Ok(opaque_data) = payload.try_into() else {
                return Err(connection_error(
                    ErrorCode::FrameSizeError,
                    "PING length is not 8",
                ));
            };
            Frame::Ping(Ping {
                ack: header.has_flag(flags::ACK),
                opaque_data,
            })
        }
        FrameType::GoAway => {
            let Some((fixed, debug_data)) = payload.split_first_chunk::<8>() else {
                return Err(connection_error(
                    ErrorCode::FrameSizeError,
                    "GOAWAY shorter than 8 octets",
                ));
            };
            let [s0, s1, s2, s3, e0, e1, e2, e3] = *fixed;
            Frame::GoAway(GoAway {
                last_stream_id: u32::from_be_bytes([s0, s1, s2, s3]) & STREAM_ID_MASK,
                error_code: ErrorCode::from(u32::from_be_bytes([e0, e1, e2, e3])),
                debug_data,
            })
        }
        FrameType::WindowUpdate => {
            let Ok(increment) = <[u8; 4]>::try_from(payload) else {
                return Err(connection_error(
                    ErrorCode::FrameSizeError,
                    "WINDOW_UPDATE length is not 4",
                ));
            };
            let increment = u32::from_be_bytes(increment) & STREAM_ID_MASK;
            if increment == 0 {
                let reason = "WINDOW_UPDATE increment of 0";
                return Err(if stream_id == 0 {
                    connection_error(ErrorCode::ProtocolError, reason)
                } else {
                    FrameError::Stream {
                        stream_id,
                        code: ErrorCode::ProtocolError,
                        reason,
                        frame_len: FrameHeader::LEN + payload.len(),
                    }
                });
            }
            Frame::WindowUpdate(WindowUpdate {
                stream_id,
                increment,
            })
        }
        FrameType::Continuation => Frame::Continuation(Continuation {
            stream_id,
            end_headers: header.has_flag(flags::END_HEADERS),
            fragment: payload,
        }),
        FrameType::Unknown(frame_type) => Frame::Unknown(Unknown {
            frame_type,
            flags: header.flags,
            stream_id,
            payload,
        }),
    })
}

/// Splits off the Pad Length octet (if `padded`) and the padding at the end. What is left
/// starts with `fields_len` octets of the type's fixed fields, which must fit.
fn strip_padding(
    padded: bool,
    payload: &[u8],
    fields_len: usize,
) -> Result<(Option<u8>, &[u8]), FrameError> {
    let too_short = || {
        connection_error(
            ErrorCode::FrameSizeError,
            "frame too short for its fixed fields",
        )
    };
    if !padded {
        return if payload.len() < fields_len {
            Err(too_short())
        } else {
            Ok((None, payload))
        };
    }
    let Some((&pad_len, rest)) = payload.split_first() else {
        return Err(too_short());
    };
    let Some(room) = rest.len().checked_sub(fields_len) else {
        return Err(too_short());
    };
    // §6.1, §6.2, §6.6: padding as long as the payload or longer is a PROTOCOL_ERROR; the
    // padding must also leave room for the fixed fields.
    if usize::from(pad_len) > room {
        return Err(connection_error(
            ErrorCode::ProtocolError,
            "padding longer than the frame payload",
        ));
    }
    Ok((Some(pad_len), &rest[..rest.len() - usize::from(pad_len)]))
}

fn parse_settings<'a>(header: &FrameHeader, payload: &'a [u8]) -> Result<Settings<'a>, FrameError> {
    let ack = header.has_flag(flags::ACK);
    if ack && !payload.is_empty() {
        return Err(connection_error(
            ErrorCode::FrameSizeError,
            "SETTINGS ACK with a payload",
        ));
    }
    if !payload.len().is_multiple_of(6) {
        return Err(connection_error(
            ErrorCode::FrameSizeError,
            "SETTINGS length is not a multiple of 6",
        ));
    }
    for entry in payload.chunks_exact(6) {
        let id = u16::from_be_bytes([entry[0], entry[1]]);
        let value = u32::from_be_bytes([entry[2], entry[3], entry[4], entry[5]]);
        Setting::from_wire(id, value)?;
    }
    Ok(Settings::new_checked(ack, payload))
}
