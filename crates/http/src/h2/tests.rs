//! Unit tests of the frame layer, one or more per rule; the RFC 9113 section is in the
//! test name (`s6_1` = §6.1).

use super::*;

const MAX: u32 = DEFAULT_MAX_FRAME_SIZE;

/// A frame written by hand, not by our encoder: `stream` may carry the reserved bit.
fn raw(frame_type: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut out = len.to_be_bytes()[1..].to_vec();
    out.push(frame_type);
    out.push(flags);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// Decodes `buf`, which must hold exactly one valid frame.
fn one(buf: &[u8]) -> Frame<'_> {
    match decode_frame(buf, MAX) {
        Ok(Some((frame, n))) => {
            assert_eq!(n, buf.len(), "consumed");
            frame
        }
        other => panic!("expected a frame, got {other:?}"),
    }
}

/// The code of the connection error `buf` must give.
fn connection_error(buf: &[u8]) -> ErrorCode {
    match decode_frame(buf, MAX) {
        Err(FrameError::Connection { code, .. }) => code,
        other => panic!("expected a connection error, got {other:?}"),
    }
}

/// The stream and code of the stream error `buf` must give; it covers the whole frame.
fn stream_error(buf: &[u8]) -> (u32, ErrorCode) {
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

fn encoded(f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
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

// --- §6.5 SETTINGS ----------------------------------------------------------------------

fn settings_payload(pairs: &[(u16, u32)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (id, value) in pairs {
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&value.to_be_bytes());
    }
    out
}

#[test]
fn s6_5_settings_in_order_with_unknown_ones_skipped() {
    let payload = settings_payload(&[
        (0x1, 0),
        (0x2, 0),
        (0x3, 100),
        (0x4, 0),
        (0x5, 16_777_215),
        (0x6, 8192),
        (0x8, 1),      // SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441): not ours, ignored
        (0xabcd, 7),   // unknown: ignored
        (0x4, 65_535), // a repeat: both kept, in order
    ]);
    let buf = raw(0x4, 0, 0, &payload);
    let Frame::Settings(s) = one(&buf) else {
        panic!("not SETTINGS")
    };
    assert!(!s.is_ack());
    assert_eq!(
        s.iter().collect::<Vec<_>>(),
        [
            Setting::HeaderTableSize(0),
            Setting::EnablePush(false),
            Setting::MaxConcurrentStreams(100),
            Setting::InitialWindowSize(0),
            Setting::MaxFrameSize(16_777_215),
            Setting::MaxHeaderListSize(8192),
            Setting::InitialWindowSize(65_535),
        ]
    );
    // The client preface's SETTINGS may be empty (§3.4).
    let buf = raw(0x4, 0, 0, b"");
    let Frame::Settings(s) = one(&buf) else {
        panic!("not SETTINGS")
    };
    assert_eq!(s.iter().count(), 0);
}

#[test]
fn s6_5_settings_ack() {
    let buf = raw(0x4, flags::ACK, 0, b"");
    let Frame::Settings(s) = one(&buf) else {
        panic!("not SETTINGS")
    };
    assert!(s.is_ack());
    assert_eq!(s.iter().next(), None);
}

#[test]
fn s6_5_settings_ack_with_a_payload_is_a_frame_size_error() {
    let buf = raw(0x4, flags::ACK, 0, &settings_payload(&[(0x3, 1)]));
    assert_eq!(connection_error(&buf), ErrorCode::FrameSizeError);
}

#[test]
fn s6_5_settings_not_a_multiple_of_6_is_a_frame_size_error() {
    for len in [1, 5, 7, 11] {
        let buf = raw(0x4, 0, 0, &vec![0; len]);
        assert_eq!(
            connection_error(&buf),
            ErrorCode::FrameSizeError,
            "length {len}"
        );
    }
}

#[test]
fn s6_5_settings_on_a_stream_is_a_connection_protocol_error() {
    assert_eq!(
        connection_error(&raw(0x4, 0, 1, b"")),
        ErrorCode::ProtocolError
    );
    assert_eq!(
        connection_error(&raw(0x4, flags::ACK, 3, b"")),
        ErrorCode::ProtocolError
    );
}

#[test]
fn s6_5_2_enable_push_above_1_is_a_protocol_error() {
    let ok = raw(0x4, 0, 0, &settings_payload(&[(0x2, 1)]));
    let Frame::Settings(s) = one(&ok) else {
        panic!("not SETTINGS")
    };
    assert_eq!(s.iter().collect::<Vec<_>>(), [Setting::EnablePush(true)]);
    for value in [2, u32::MAX] {
        let buf = raw(0x4, 0, 0, &settings_payload(&[(0x2, value)]));
        assert_eq!(connection_error(&buf), ErrorCode::ProtocolError);
    }
}

#[test]
fn s6_5_2_initial_window_size_above_2_31_minus_1_is_a_flow_control_error() {
    let ok = raw(0x4, 0, 0, &settings_payload(&[(0x4, MAX_WINDOW_SIZE)]));
    assert!(matches!(one(&ok), Frame::Settings(_)));
    for value in [MAX_WINDOW_SIZE + 1, u32::MAX] {
        let buf = raw(0x4, 0, 0, &settings_payload(&[(0x4, value)]));
        assert_eq!(connection_error(&buf), ErrorCode::FlowControlError);
    }
}

#[test]
fn s6_5_2_max_frame_size_outside_2_14_to_2_24_minus_1_is_a_protocol_error() {
    for value in [DEFAULT_MAX_FRAME_SIZE, 65_536, LARGEST_MAX_FRAME_SIZE] {
        let buf = raw(0x4, 0, 0, &settings_payload(&[(0x5, value)]));
        let Frame::Settings(s) = one(&buf) else {
            panic!("not SETTINGS")
        };
        assert_eq!(s.iter().collect::<Vec<_>>(), [Setting::MaxFrameSize(value)]);
    }
    for value in [0, 16_383, 16_777_216, u32::MAX] {
        let buf = raw(0x4, 0, 0, &settings_payload(&[(0x5, value)]));
        assert_eq!(connection_error(&buf), ErrorCode::ProtocolError, "{value}");
    }
}

#[test]
fn s6_5_2_a_bad_value_after_good_ones_fails_the_whole_frame() {
    let buf = raw(0x4, 0, 0, &settings_payload(&[(0x3, 10), (0x2, 7)]));
    assert_eq!(connection_error(&buf), ErrorCode::ProtocolError);
}

// --- §6.6 PUSH_PROMISE ------------------------------------------------------------------

#[test]
fn s6_6_push_promise_frame() {
    let buf = raw(0x5, flags::END_HEADERS, 1, b"\x80\x00\x00\x02\x82");
    assert_eq!(
        one(&buf),
        Frame::PushPromise(PushPromise {
            stream_id: 1,
            promised_stream_id: 2,
            end_headers: true,
            pad_len: None,
            fragment: b"\x82",
        })
    );
    let buf = raw(0x5, flags::PADDED, 1, b"\x01\x00\x00\x00\x04\x82\x86\0");
    let Frame::PushPromise(p) = one(&buf) else {
        panic!("not PUSH_PROMISE")
    };
    assert_eq!((p.promised_stream_id, p.pad_len), (4, Some(1)));
    assert_eq!((p.fragment, p.end_headers), (&b"\x82\x86"[..], false));
}

#[test]
fn s6_6_push_promise_errors() {
    // §4.2: no room for the promised stream.
    let buf = raw(0x5, 0, 1, b"\0\0\x02");
    assert_eq!(connection_error(&buf), ErrorCode::FrameSizeError);
    // Padding that eats into the promised stream.
    let buf = raw(0x5, flags::PADDED, 1, b"\x02\0\0\0\x02\0");
    assert_eq!(connection_error(&buf), ErrorCode::ProtocolError);
    // Stream 0.
    let buf = raw(0x5, 0, 0, b"\0\0\0\x02");
    assert_eq!(connection_error(&buf), ErrorCode::ProtocolError);
}

// --- §6.7 PING --------------------------------------------------------------------------

#[test]
fn s6_7_ping_frame_and_its_ack() {
    let buf = raw(0x6, 0, 0, b"\x01\x02\x03\x04\x05\x06\x07\x08");
    assert_eq!(
        one(&buf),
        Frame::Ping(Ping {
            ack: false,
            opaque_data: [1, 2, 3, 4, 5, 6, 7, 8],
        })
    );
    let buf = raw(0x6, flags::ACK, 0, b"\x01\x02\x03\x04\x05\x06\x07\x08");
    assert!(matches!(one(&buf), Frame::Ping(Ping { ack: true, .. })));
}

#[test]
fn s6_7_ping_not_of_8_octets_is_a_frame_size_error() {
    for len in [0, 7, 9, 16] {
        let buf = raw(0x6, 0, 0, &vec![0; len]);
        assert_eq!(
            connection_error(&buf),
            ErrorCode::FrameSizeError,
            "length {len}"
        );
    }
}

#[test]
fn s6_7_ping_on_a_stream_is_a_connection_protocol_error() {
    assert_eq!(
        connection_error(&raw(0x6, 0, 1, &[0; 8])),
        ErrorCode::ProtocolError
    );
}

// --- §6.8 GOAWAY ------------------------------------------------------------------------

#[test]
fn s6_8_goaway_frame() {
    let buf = raw(0x7, 0, 0, b"\x80\x00\x00\x05\x00\x00\x00\x0bcalm down");
    assert_eq!(
        one(&buf),
        Frame::GoAway(GoAway {
            last_stream_id: 5,
            error_code: ErrorCode::EnhanceYourCalm,
            debug_data: b"calm down",
        })
    );
    let buf = raw(0x7, 0, 0, b"\x00\x00\x00\x00\x00\x00\x01\x00");
    let Frame::GoAway(g) = one(&buf) else {
        panic!("not GOAWAY")
    };
    assert_eq!(
        (g.last_stream_id, g.error_code),
        (0, ErrorCode::Unknown(0x100))
    );
    assert!(g.debug_data.is_empty());
}

#[test]
fn s6_8_goaway_under_8_octets_is_a_frame_size_error() {
    for len in [0, 4, 7] {
        let buf = raw(0x7, 0, 0, &vec![0; len]);
        assert_eq!(
            connection_error(&buf),
            ErrorCode::FrameSizeError,
            "length {len}"
        );
    }
}

#[test]
fn s6_8_goaway_on_a_stream_is_a_connection_protocol_error() {
    assert_eq!(
        connection_error(&raw(0x7, 0, 1, &[0; 8])),
        ErrorCode::ProtocolError
    );
}

// --- §6.9 WINDOW_UPDATE -----------------------------------------------------------------

#[test]
fn s6_9_window_update_frame() {
    let buf = raw(0x8, 0, 0, &[0xff, 0xff, 0xff, 0xff]);
    // The reserved bit is dropped: the largest increment.
    assert_eq!(
        one(&buf),
        Frame::WindowUpdate(WindowUpdate {
            stream_id: 0,
            increment: MAX_WINDOW_SIZE,
        })
    );
    let buf = raw(0x8, 0, 3, &[0, 0, 0x40, 0]);
    assert_eq!(
        one(&buf),
        Frame::WindowUpdate(WindowUpdate {
            stream_id: 3,
            increment: 0x4000,
        })
    );
}

#[test]
fn s6_9_window_update_not_of_4_octets_is_a_connection_frame_size_error() {
    for (stream, len) in [(0, 3), (0, 5), (1, 0), (1, 8)] {
        let buf = raw(0x8, 0, stream, &vec![1; len]);
        assert_eq!(connection_error(&buf), ErrorCode::FrameSizeError);
    }
}

#[test]
fn s6_9_window_update_of_0_is_a_protocol_error_of_its_stream_or_the_connection() {
    // On the connection: a connection error.
    assert_eq!(
        connection_error(&raw(0x8, 0, 0, &[0; 4])),
        ErrorCode::ProtocolError
    );
    // Only the reserved bit set is still 0.
    let buf = raw(0x8, 0, 0, &[0x80, 0, 0, 0]);
    assert_eq!(connection_error(&buf), ErrorCode::ProtocolError);
    // On a stream: a stream error.
    let buf = raw(0x8, 0, 5, &[0; 4]);
    assert_eq!(stream_error(&buf), (5, ErrorCode::ProtocolError));
}

// --- §6.10 CONTINUATION -----------------------------------------------------------------

#[test]
fn s6_10_continuation_frame() {
    let buf = raw(0x9, flags::END_HEADERS | flags::PADDED, 1, b"\x84\x87");
    // PADDED means nothing on CONTINUATION: the whole payload is the fragment.
    assert_eq!(
        one(&buf),
        Frame::Continuation(Continuation {
            stream_id: 1,
            end_headers: true,
            fragment: b"\x84\x87",
        })
    );
    let buf = raw(0x9, 0, 1, b"");
    let Frame::Continuation(c) = one(&buf) else {
        panic!("not CONTINUATION")
    };
    assert!(!c.end_headers && c.fragment.is_empty());
}

#[test]
fn s6_10_continuation_on_stream_0_is_a_connection_protocol_error() {
    let buf = raw(0x9, flags::END_HEADERS, 0, b"\x84");
    assert_eq!(connection_error(&buf), ErrorCode::ProtocolError);
}

// --- encoders ---------------------------------------------------------------------------

#[test]
fn encode_data_writes_the_rfc_layout() {
    let out = encoded(|o| encode_data(o, 1, b"hi", true));
    assert_eq!(out, raw(0x0, flags::END_STREAM, 1, b"hi"));
    let out = encoded(|o| encode_data(o, 0x8000_0003, b"", false));
    assert_eq!(out, raw(0x0, 0, 3, b""));
}

#[test]
fn encode_headers_fits_one_frame() {
    let out = encoded(|o| encode_headers(o, 1, b"\x82\x86\x84", true, MAX));
    let flags = flags::END_STREAM | flags::END_HEADERS;
    assert_eq!(out, raw(0x1, flags, 1, b"\x82\x86\x84"));
    // An empty block: one empty HEADERS with END_HEADERS.
    let out = encoded(|o| encode_headers(o, 3, b"", false, MAX));
    assert_eq!(out, raw(0x1, flags::END_HEADERS, 3, b""));
    // Exactly the frame size: still one frame.
    let block = vec![0x82; MAX as usize];
    let out = encoded(|o| encode_headers(o, 3, &block, false, MAX));
    assert_eq!(out, raw(0x1, flags::END_HEADERS, 3, &block));
}

#[test]
fn s4_3_encode_headers_splits_into_continuation_frames() {
    let block: Vec<u8> = (0..2 * MAX + 100).map(|i| i as u8).collect();
    let out = encoded(|o| encode_headers(o, 5, &block, true, MAX));
    let m = MAX as usize;
    let mut expected = raw(0x1, flags::END_STREAM, 5, &block[..m]);
    expected.extend_from_slice(&raw(0x9, 0, 5, &block[m..2 * m]));
    expected.extend_from_slice(&raw(0x9, flags::END_HEADERS, 5, &block[2 * m..]));
    assert_eq!(out, expected);
    // A small limit, and 0 taken as 1.
    let out = encoded(|o| encode_headers(o, 1, b"abc", false, 2));
    let mut expected = raw(0x1, 0, 1, b"ab");
    expected.extend_from_slice(&raw(0x9, flags::END_HEADERS, 1, b"c"));
    assert_eq!(out, expected);
    let out = encoded(|o| encode_headers(o, 1, b"ab", false, 0));
    let mut expected = raw(0x1, 0, 1, b"a");
    expected.extend_from_slice(&raw(0x9, flags::END_HEADERS, 1, b"b"));
    assert_eq!(out, expected);
}

#[test]
fn encode_settings_and_ack() {
    let out = encoded(|o| {
        encode_settings(
            o,
            &[
                Setting::MaxConcurrentStreams(100),
                Setting::InitialWindowSize(65_535),
                Setting::EnablePush(false),
            ],
        )
    });
    let payload = settings_payload(&[(0x3, 100), (0x4, 65_535), (0x2, 0)]);
    assert_eq!(out, raw(0x4, 0, 0, &payload));
    assert_eq!(encoded(|o| encode_settings(o, &[])), raw(0x4, 0, 0, b""));
    assert_eq!(encoded(encode_settings_ack), raw(0x4, flags::ACK, 0, b""));
}

#[test]
fn encode_ping_ack_echoes_the_data() {
    let out = encoded(|o| encode_ping_ack(o, *b"pingpong"));
    assert_eq!(out, raw(0x6, flags::ACK, 0, b"pingpong"));
}

#[test]
fn encode_goaway_window_update_rst_stream() {
    let out = encoded(|o| encode_goaway(o, MAX_WINDOW_SIZE, ErrorCode::NoError, b"bye"));
    assert_eq!(out, raw(0x7, 0, 0, b"\x7f\xff\xff\xff\0\0\0\0bye"));
    let out = encoded(|o| encode_goaway(o, u32::MAX, ErrorCode::Unknown(0x42), b""));
    assert_eq!(out, raw(0x7, 0, 0, b"\x7f\xff\xff\xff\0\0\0\x42"));
    let out = encoded(|o| encode_window_update(o, 0, 0x1_0000));
    assert_eq!(out, raw(0x8, 0, 0, b"\0\x01\0\0"));
    let out = encoded(|o| encode_window_update(o, 7, u32::MAX));
    assert_eq!(out, raw(0x8, 0, 7, b"\x7f\xff\xff\xff"));
    let out = encoded(|o| encode_rst_stream(o, 9, ErrorCode::RefusedStream));
    assert_eq!(out, raw(0x3, 0, 9, b"\0\0\0\x07"));
}

// --- round trips and cut streams ---------------------------------------------------------

/// One frame of every type, with padding and priority where they can be.
fn sample_stream() -> Vec<u8> {
    let dependency = StreamDependency {
        exclusive: true,
        stream_id: 1,
        weight: 200,
    };
    let mut out = Vec::new();
    encode_settings(
        &mut out,
        &[Setting::MaxFrameSize(20_000), Setting::HeaderTableSize(0)],
    );
    encode_settings_ack(&mut out);
    let frames = [
        Frame::Headers(Headers {
            stream_id: 3,
            end_stream: false,
            end_headers: false,
            priority: Some(dependency),
            pad_len: Some(4),
            fragment: b"\x82\x86\x84",
        }),
        Frame::Continuation(Continuation {
            stream_id: 3,
            end_headers: true,
            fragment: b"\x41\x0fwww.example.com",
        }),
        Frame::Data(Data {
            stream_id: 3,
            end_stream: true,
            pad_len: Some(0),
            data: b"body",
        }),
        Frame::Priority(Priority {
            stream_id: 5,
            dependency,
        }),
        Frame::RstStream(RstStream {
            stream_id: 3,
            error_code: ErrorCode::Cancel,
        }),
        Frame::PushPromise(PushPromise {
            stream_id: 3,
            promised_stream_id: 2,
            end_headers: true,
            pad_len: Some(1),
            fragment: b"\x82",
        }),
        Frame::Ping(Ping {
            ack: false,
            opaque_data: *b"\0\x01\x02\x03\x04\x05\x06\x07",
        }),
        Frame::WindowUpdate(WindowUpdate {
            stream_id: 0,
            increment: 1,
        }),
        Frame::Unknown(Unknown {
            frame_type: 0x10,
            flags: 0x5a,
            stream_id: 11,
            payload: b"extension",
        }),
        Frame::GoAway(GoAway {
            last_stream_id: 3,
            error_code: ErrorCode::NoError,
            debug_data: b"",
        }),
    ];
    for frame in frames {
        frame.encode(&mut out);
    }
    out
}

/// Decodes frames from `input` fed in pieces ending at `cuts`, as a connection would:
/// each decoded frame is handed on (here: re-encoded) and its octets dropped.
fn decode_in_pieces(input: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut buf = Vec::new();
    let mut fed = 0;
    let mut frames = Vec::new();
    for &end in cuts.iter().chain(Some(&input.len())) {
        buf.extend_from_slice(&input[fed..end]);
        fed = end;
        while let Some((frame, n)) = decode_frame(&buf, MAX).expect("valid frames") {
            frames.push(encoded(|o| frame.encode(o)));
            buf.drain(..n);
        }
    }
    assert!(buf.is_empty(), "octets left over");
    frames
}

#[test]
fn every_frame_type_round_trips_through_encode() {
    let input = sample_stream();
    let frames = decode_in_pieces(&input, &[]);
    assert_eq!(frames.len(), 12);
    // Re-encoding each decoded frame gives back the input octets.
    assert_eq!(frames.concat(), input);
}

#[test]
fn a_stream_cut_at_any_octet_decodes_to_the_same_frames() {
    let input = sample_stream();
    let whole = decode_in_pieces(&input, &[]);
    for cut in 0..=input.len() {
        assert_eq!(decode_in_pieces(&input, &[cut]), whole, "cut at {cut}");
    }
    // And fed one octet at a time.
    let every: Vec<usize> = (0..input.len()).collect();
    assert_eq!(decode_in_pieces(&input, &every), whole);
}
