//! Unit tests of the frame layer, one or more per rule; the RFC 9113 section is in the
//! test name (`s6_1` = §6.1).

use super::*;

pub(super) const MAX: u32 = DEFAULT_MAX_FRAME_SIZE;

/// A frame written by hand, not by our encoder: `stream` may carry the reserved bit.
pub(super) fn raw(frame_type: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut out = len.to_be_bytes()[1..].to_vec();
    out.push(frame_type);
    out.push(flags);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// Decodes `buf`, which must hold exactly one valid frame.
pub(super) fn one(buf: &[u8]) -> Frame<'_> {
    match decode_frame(buf, MAX) {
        Ok(Some((frame, n))) => {
            assert_eq!(n, buf.len(), "consumed");
            frame
        }
        other => panic!("expected a frame, got {other:?}"),
    }
}

/// The code of the connection error `buf` must give.
pub(super) fn connection_error(buf: &[u8]) -> ErrorCode {
    match decode_frame(buf, MAX) {
        Err(FrameError::Connection { code, .. }) => code,
        other => panic!("expected a connection error, got {other:?}"),
    }
}

/// The stream and code of the stream error `buf` must give; it covers the whole frame.
pub(super) fn stream_error(buf: &[u8]) -> (u32, ErrorCode) {
    match decode_frame(buf, MAX) {
        Err(FrameError::Stream {
            stream_id,
            code,
            frame_len,
            ..
        }) => {
            assert_eq!(frame_len, buf.len(), "frame_len");
            (stream_id, code)
        }
        other => panic!("expected a stream error, got {other:?}"),
    }
}

pub(super) fn encoded(f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::new();
    f(&mut out);
    out
}

// --- §3.4, §4.1, §4.2: preface, header, sizes -------------------------------------------

#[test]
fn s3_4_preface_is_the_24_octets_of_the_rfc() {
    let hex = "505249202a20485454502f322e300d0a0d0a534d0d0a0d0a";
    let octets: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    assert_eq!(PREFACE, &octets[..]);
}

#[test]
fn s4_1_header_parse_masks_the_reserved_bit() {
    let h = FrameHeader::parse(&[0x01, 0x02, 0x03, 0x01, 0x25, 0x80, 0x00, 0x00, 0x07]);
    assert_eq!(
        h,
        FrameHeader {
            length: 0x01_0203,
            frame_type: FrameType::Headers,
            flags: 0x25,
            stream_id: 7,
        }
    );
    assert!(h.has_flag(flags::END_STREAM) && h.has_flag(flags::END_HEADERS));
    assert!(h.has_flag(flags::PRIORITY) && !h.has_flag(flags::PADDED));
    let mut out = Vec::new();
    h.write(&mut out);
    // Written back without the reserved bit.
    assert_eq!(out, [0x01, 0x02, 0x03, 0x01, 0x25, 0x00, 0x00, 0x00, 0x07]);
}

#[test]
fn s4_1_header_write_never_sets_the_reserved_bit() {
    let mut out = Vec::new();
    FrameHeader {
        length: LARGEST_MAX_FRAME_SIZE,
        frame_type: FrameType::Unknown(0xfa),
        flags: 0xff,
        stream_id: u32::MAX,
    }
    .write(&mut out);
    assert_eq!(out, [0xff, 0xff, 0xff, 0xfa, 0xff, 0x7f, 0xff, 0xff, 0xff]);
}

#[test]
#[should_panic(expected = "24-bit length")]
fn s4_1_header_write_panics_on_a_length_above_24_bits() {
    FrameHeader {
        length: 1 << 24,
        frame_type: FrameType::Data,
        flags: 0,
        stream_id: 1,
    }
    .write(&mut Vec::new());
}

#[test]
fn s4_1_frame_types_round_trip() {
    for t in 0..=u8::MAX {
        let ft = FrameType::from(t);
        assert_eq!(u8::from(ft), t);
        assert_eq!(matches!(ft, FrameType::Unknown(_)), t > 9);
    }
}

#[test]
fn incomplete_frames_need_more_octets() {
    let buf = raw(0x0, 0x1, 1, b"hello");
    for n in 0..buf.len() {
        assert_eq!(decode_frame(&buf[..n], MAX), Ok(None), "prefix of {n}");
    }
    assert!(decode_frame(&buf, MAX).unwrap().is_some());
}

#[test]
fn decoding_takes_one_frame_and_leaves_the_rest() {
    let mut buf = raw(0x6, 0, 0, b"12345678");
    buf.extend_from_slice(&raw(0x6, 1, 0, b"abcdefgh"));
    buf.extend_from_slice(&[0, 0]);
    let (first, n) = decode_frame(&buf, MAX).unwrap().unwrap();
    assert_eq!(n, 17);
    assert_eq!(
        first,
        Frame::Ping(Ping {
            ack: false,
            opaque_data: *b"12345678"
        })
    );
    let (second, m) = decode_frame(&buf[n..], MAX).unwrap().unwrap();
    assert_eq!(m, 17);
    assert!(matches!(second, Frame::Ping(Ping { ack: true, .. })));
    assert_eq!(decode_frame(&buf[n + m..], MAX), Ok(None));
}

#[test]
fn s4_2_frame_over_max_frame_size_fails_on_its_header_alone() {
    // Only the header of a frame one octet too long: the error comes before its payload.
    let header = &raw(0x0, 0, 1, &vec![0; MAX as usize + 1])[..9];
    assert_eq!(connection_error(header), ErrorCode::FrameSizeError);
    // The same for a type that would otherwise be ignored, and with a larger limit.
    let big = raw(0xbb, 0, 0, &[0; 100]);
    assert!(matches!(
        decode_frame(&big, 99),
        Err(FrameError::Connection {
            code: ErrorCode::FrameSizeError,
            ..
        })
    ));
    assert!(decode_frame(&big, 100).unwrap().is_some());
}

#[test]
fn s4_2_frame_of_exactly_max_frame_size_is_accepted() {
    let payload = vec![7; MAX as usize];
    let buf = raw(0x0, 0, 1, &payload);
    let Frame::Data(d) = one(&buf) else {
        panic!("not DATA")
    };
    assert_eq!(d.data, &payload[..]);
}

#[test]
fn s4_1_s5_5_unknown_types_are_kept_for_the_caller_to_ignore() {
    let buf = raw(0xa, 0xff, 0x8000_0005, b"ext");
    assert_eq!(
        one(&buf),
        Frame::Unknown(Unknown {
            frame_type: 0xa,
            flags: 0xff,
            stream_id: 5,
            payload: b"ext",
        })
    );
    // Unknown types have no stream rules: stream 0 is fine too.
    assert!(matches!(one(&raw(0xff, 0, 0, b"")), Frame::Unknown(_)));
}

#[test]
fn s4_1_undefined_flags_are_ignored() {
    // PING with every flag set: only ACK means something.
    let buf = raw(0x6, 0xff, 0, &[0; 8]);
    assert_eq!(
        one(&buf),
        Frame::Ping(Ping {
            ack: true,
            opaque_data: [0; 8]
        })
    );
    // WINDOW_UPDATE defines no flags.
    let buf = raw(0x8, 0xff, 3, &[0, 0, 0, 9]);
    assert_eq!(
        one(&buf),
        Frame::WindowUpdate(WindowUpdate {
            stream_id: 3,
            increment: 9
        })
    );
}

// --- §6.1 DATA --------------------------------------------------------------------------

#[test]
fn s6_1_data_frame() {
    let buf = raw(0x0, flags::END_STREAM, 1, b"body");
    let frame = one(&buf);
    assert_eq!(
        frame,
        Frame::Data(Data {
            stream_id: 1,
            end_stream: true,
            pad_len: None,
            data: b"body",
        })
    );
    assert_eq!(frame.stream_id(), 1);
    assert_eq!(frame.frame_type(), FrameType::Data);
    let Frame::Data(d) = one(&buf) else {
        unreachable!()
    };
    assert_eq!(d.flow_controlled_len(), 4);
}

#[test]
fn s6_1_data_padding_is_stripped_and_counts_for_flow_control() {
    let buf = raw(0x0, flags::PADDED, 3, b"\x03abc\0\0\0");
    let Frame::Data(d) = one(&buf) else {
        panic!("not DATA")
    };
    assert_eq!(
        (d.data, d.pad_len, d.end_stream),
        (&b"abc"[..], Some(3), false)
    );
    assert_eq!(d.flow_controlled_len(), 7);
    // A Pad Length of 0 and no data: one octet of payload, all flow-controlled.
    let buf = raw(0x0, flags::PADDED, 3, b"\x00");
    let Frame::Data(d) = one(&buf) else {
        panic!("not DATA")
    };
    assert_eq!(
        (d.data, d.pad_len, d.flow_controlled_len()),
        (&b""[..], Some(0), 1)
    );
    // Padding octets are not checked.
    assert!(matches!(
        one(&raw(0x0, flags::PADDED, 3, b"\x01x\x07")),
        Frame::Data(_)
    ));
}

#[test]
fn s6_1_data_padding_as_long_as_the_payload_is_a_protocol_error() {
    // Pad Length 3 with a payload of 3 (1 + 2): the padding would eat the Pad Length.
    let buf = raw(0x0, flags::PADDED, 1, b"\x03\0\0");
    assert_eq!(connection_error(&buf), ErrorCode::ProtocolError);
    let buf = raw(0x0, flags::PADDED, 1, b"\x01");
    assert_eq!(connection_error(&buf), ErrorCode::ProtocolError);
    let buf = raw(0x0, flags::PADDED, 1, b"\xff abc");
    assert_eq!(connection_error(&buf), ErrorCode::ProtocolError);
}

#[test]
fn s4_2_padded_data_without_pad_length_is_a_frame_size_error() {
    let buf = raw(0x0, flags::PADDED, 1, b"");
    assert_eq!(connection_error(&buf), ErrorCode::FrameSizeError);
}

#[test]
fn s6_1_data_on_stream_0_is_a_connection_protocol_error() {
    assert_eq!(
        connection_error(&raw(0x0, 0, 0, b"x")),
        ErrorCode::ProtocolError
    );
    // The reserved bit does not make a stream.
    let buf = raw(0x0, 0, 0x8000_0000, b"x");
    assert_eq!(connection_error(&buf), ErrorCode::ProtocolError);
    // Known from the header alone.
    let buf = raw(0x0, 0, 0, b"xyz");
    assert_eq!(connection_error(&buf[..9]), ErrorCode::ProtocolError);
}

// --- §6.2 HEADERS -----------------------------------------------------------------------

#[test]
fn s6_2_headers_frame_flags() {
    let buf = raw(0x1, flags::END_HEADERS, 1, b"\x82\x86");
    assert_eq!(
        one(&buf),
        Frame::Headers(Headers {
            stream_id: 1,
            end_stream: false,
            end_headers: true,
            priority: None,
            pad_len: None,
            fragment: b"\x82\x86",
        })
    );
    let buf = raw(0x1, flags::END_STREAM, 3, b"");
    let Frame::Headers(h) = one(&buf) else {
        panic!("not HEADERS")
    };
    assert!(h.end_stream && !h.end_headers && h.fragment.is_empty());
}

#[test]
fn s6_2_headers_priority_and_padding_are_parsed_and_kept() {
    let flags = flags::PADDED | flags::PRIORITY | flags::END_HEADERS;
    // Pad Length 2, Exclusive + depends on 3, weight 15, fragment, padding.
    let buf = raw(0x1, flags, 5, b"\x02\x80\x00\x00\x03\x0f\x82\x84\0\0");
    assert_eq!(
        one(&buf),
        Frame::Headers(Headers {
            stream_id: 5,
            end_stream: false,
            end_headers: true,
            priority: Some(StreamDependency {
                exclusive: true,
                stream_id: 3,
                weight: 15,
            }),
            pad_len: Some(2),
            fragment: b"\x82\x84",
        })
    );
    let buf = raw(0x1, flags::PRIORITY, 5, b"\x00\x00\x00\x00\xff");
    let Frame::Headers(h) = one(&buf) else {
        panic!("not HEADERS")
    };
    let expected = StreamDependency {
        exclusive: false,
        stream_id: 0,
        weight: 255,
    };
    assert_eq!(h.priority, Some(expected));
    assert!(h.fragment.is_empty());
}

#[test]
fn s6_2_headers_padding_as_long_as_the_payload_is_a_protocol_error() {
    let buf = raw(0x1, flags::PADDED, 1, b"\x04abc");
    assert_eq!(connection_error(&buf), ErrorCode::ProtocolError);
    // With priority fields, the padding must leave room for them.
    let buf = raw(0x1, flags::PADDED | flags::PRIORITY, 1, b"\x01\0\0\0\0\x10");
    assert_eq!(connection_error(&buf), ErrorCode::ProtocolError);
    // Exactly room for them: fine, with an empty fragment.
    let buf = raw(
        0x1,
        flags::PADDED | flags::PRIORITY,
        1,
        b"\x01\0\0\0\0\x10\0",
    );
    assert!(matches!(one(&buf), Frame::Headers(h) if h.fragment.is_empty()));
}

#[test]
fn s4_2_headers_too_short_for_its_fields_is_a_frame_size_error() {
    let buf = raw(0x1, flags::PRIORITY, 1, b"\0\0\0\x01");
    assert_eq!(connection_error(&buf), ErrorCode::FrameSizeError);
    let buf = raw(0x1, flags::PADDED | flags::PRIORITY, 1, b"\x00\0\0\0\x01");
    assert_eq!(connection_error(&buf), ErrorCode::FrameSizeError);
    let buf = raw(0x1, flags::PADDED, 1, b"");
    assert_eq!(connection_error(&buf), ErrorCode::FrameSizeError);
}

#[test]
fn s6_2_headers_on_stream_0_is_a_connection_protocol_error() {
    let buf = raw(0x1, flags::END_HEADERS, 0, b"\x82");
    assert_eq!(connection_error(&buf), ErrorCode::ProtocolError);
}

// --- §6.3 PRIORITY ----------------------------------------------------------------------

#[test]
fn s6_3_priority_frame() {
    let buf = raw(0x2, 0, 7, b"\x80\x00\x00\x05\x20");
    let frame = one(&buf);
    assert_eq!(
        frame,
        Frame::Priority(Priority {
            stream_id: 7,
            dependency: StreamDependency {
                exclusive: true,
                stream_id: 5,
                weight: 0x20,
            },
        })
    );
    assert_eq!(frame.stream_id(), 7);
}

#[test]
fn s6_3_priority_not_of_5_octets_is_a_stream_frame_size_error() {
    for len in [0, 4, 6, 100] {
        let buf = raw(0x2, 0, 9, &vec![0; len]);
        assert_eq!(
            stream_error(&buf),
            (9, ErrorCode::FrameSizeError),
            "length {len}"
        );
    }
    // A stream error: after skipping the frame, what follows still decodes.
    let mut buf = raw(0x2, 0, 9, b"\0\0\0\0\0\0");
    buf.extend_from_slice(&raw(0x6, 0, 0, &[1; 8]));
    let Err(FrameError::Stream { frame_len, .. }) = decode_frame(&buf, MAX) else {
        panic!("no stream error")
    };
    assert!(matches!(one(&buf[frame_len..]), Frame::Ping(_)));
    // Only reported once the whole frame is in.
    assert_eq!(decode_frame(&buf[..14], MAX), Ok(None));
}

#[test]
fn s6_3_priority_on_stream_0_is_a_connection_protocol_error() {
    let buf = raw(0x2, 0, 0, b"\0\0\0\x01\x10");
    assert_eq!(connection_error(&buf), ErrorCode::ProtocolError);
}

// --- §6.4 RST_STREAM --------------------------------------------------------------------

#[test]
fn s6_4_rst_stream_frame() {
    let buf = raw(0x3, 0, 1, &[0, 0, 0, 0x8]);
    assert_eq!(
        one(&buf),
        Frame::RstStream(RstStream {
            stream_id: 1,
            error_code: ErrorCode::Cancel,
        })
    );
    // §7: an unknown code is kept as it is.
    let buf = raw(0x3, 0, 1, &[0xde, 0xad, 0xbe, 0xef]);
    let Frame::RstStream(r) = one(&buf) else {
        panic!("not RST_STREAM")
    };
    assert_eq!(r.error_code, ErrorCode::Unknown(0xdead_beef));
}

#[test]
fn s6_4_rst_stream_not_of_4_octets_is_a_connection_frame_size_error() {
    for len in [0, 3, 5, 8] {
        let buf = raw(0x3, 0, 1, &vec![0; len]);
        assert_eq!(
            connection_error(&buf),
            ErrorCode::FrameSizeError,
            "length {len}"
        );
    }
}

#[test]
fn s6_4_rst_stream_on_stream_0_is_a_connection_protocol_error() {
    let buf = raw(0x3, 0, 0, &[0, 0, 0, 1]);
    assert_eq!(connection_error(&buf), ErrorCode::ProtocolError);
}
