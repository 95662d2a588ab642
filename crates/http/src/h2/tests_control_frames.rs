//! Unit tests of the frame layer, continued: SETTINGS, PUSH_PROMISE, PING, GOAWAY,
//! WINDOW_UPDATE, CONTINUATION and the encoders (RFC 9113 section in each test name).
//! The hand-made frame helpers are in `tests.rs`.

use super::tests::*;
use super::*;

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
