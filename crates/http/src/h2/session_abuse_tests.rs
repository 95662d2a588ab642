//! Session tests of what a misbehaving peer sends: malformed requests (RFC 9113 §8.1.1),
//! oversized header sections, CONTINUATION sequencing, HPACK and stream-state errors, and
//! the flood protections (CVE-2019-9511..9518, CVE-2023-44487, CVE-2024-27316). The test
//! client and the connection helper are in `session_tests.rs`.

use std::time::Duration;

use http::StatusCode;

use super::session_tests::*;
use super::*;
use crate::hpack;
use crate::types::{HeaderMap, Limits};

/// Requests that are malformed (§8.1.1) and answered with RST_STREAM PROTOCOL_ERROR.
#[test]
fn s8_1_1_malformed_requests_are_reset() {
    let base = request_fields("GET", "/");
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("no :method", base[1..].to_vec()),
        ("no :scheme", vec![base[0], base[2], base[3]]),
        ("no :path", base[..3].to_vec()),
        (
            "empty :path",
            vec![base[0], base[1], base[2], (":path", "")],
        ),
        ("unknown pseudo", [&base[..], &[(":foo", "x")]].concat()),
        ("repeated pseudo", [&base[..], &[(":path", "/b")]].concat()),
        (
            "response pseudo",
            [&base[..], &[(":status", "200")]].concat(),
        ),
        (
            "pseudo after regular",
            vec![base[0], base[1], ("accept", "*/*"), base[2], base[3]],
        ),
        ("uppercase name", [&base[..], &[("Accept", "x")]].concat()),
        ("space in name", [&base[..], &[("a b", "x")]].concat()),
        (
            "connection",
            [&base[..], &[("connection", "close")]].concat(),
        ),
        ("keep-alive", [&base[..], &[("keep-alive", "5")]].concat()),
        (
            "proxy-connection",
            [&base[..], &[("proxy-connection", "x")]].concat(),
        ),
        (
            "transfer-encoding",
            [&base[..], &[("transfer-encoding", "chunked")]].concat(),
        ),
        ("upgrade", [&base[..], &[("upgrade", "h2c")]].concat()),
        ("te gzip", [&base[..], &[("te", "gzip")]].concat()),
        ("value with LF", [&base[..], &[("x", "a\nb")]].concat()),
        ("value with NUL", [&base[..], &[("x", "a\0b")]].concat()),
        ("leading space", [&base[..], &[("x", " a")]].concat()),
        (
            "bad content-length",
            [&base[..], &[("content-length", "1x")]].concat(),
        ),
        (
            "two content-lengths",
            [
                &base[..],
                &[("content-length", "1"), ("content-length", "2")],
            ]
            .concat(),
        ),
        (
            "absolute :path",
            vec![base[0], base[1], base[2], (":path", "http://a/")],
        ),
        (
            "* without OPTIONS",
            vec![base[0], base[1], base[2], (":path", "*")],
        ),
        (
            "CONNECT with :path",
            vec![
                (":method", "CONNECT"),
                (":authority", "a:443"),
                (":path", "/"),
            ],
        ),
        ("CONNECT without :authority", vec![(":method", "CONNECT")]),
        (
            "host differs",
            [&base[..], &[("host", "other.example")]].concat(),
        ),
        (
            "bad :authority",
            vec![base[0], base[1], (":authority", "a b"), base[3]],
        ),
        (
            "content-length with END_STREAM",
            [&base[..], &[("content-length", "3")]].concat(),
        ),
    ];
    for (what, fields) in cases {
        let mut conn = Conn::new();
        let h = conn.c.headers(1, &fields, true);
        assert_eq!(conn.resets(&h), (1, ErrorCode::ProtocolError), "{what}");
        assert!(conn.events().is_empty(), "{what}");
        // The connection goes on (its HPACK state intact).
        conn.send_get(3, "/").unwrap();
        assert_eq!(conn.request().0, 3, "{what}");
    }
}

#[test]
fn well_formed_variants_are_accepted() {
    let base = request_fields("GET", "/");
    let cases: Vec<Vec<(&str, &str)>> = vec![
        [&base[..], &[("te", "trailers")]].concat(),
        vec![base[0], base[1], base[3], ("host", "Example.com:8080")],
        vec![(":method", "OPTIONS"), base[1], base[2], (":path", "*")],
        vec![(":method", "CONNECT"), (":authority", "a.example:443")],
        [&base[..], &[("host", "example.com")]].concat(),
    ];
    for fields in cases {
        let mut conn = Conn::new();
        let h = conn.c.headers(1, &fields, true);
        conn.send(&h).unwrap();
        let (_, head, _) = conn.request();
        assert!(head.host.is_some(), "{fields:?}");
    }
}

#[test]
fn s8_1_1_content_length_must_match_data() {
    for (len, frames) in [("5", vec![&b"abc"[..]]), ("2", vec![&b"abc"[..]])] {
        let mut conn = Conn::new();
        let mut fields = request_fields("POST", "/");
        fields.push(("content-length", len));
        let h = conn.c.headers(1, &fields, false);
        conn.send(&h).unwrap();
        conn.events();
        let mut input = Vec::new();
        for f in frames {
            input.extend(data(1, f, true));
        }
        assert_eq!(conn.resets(&input), (1, ErrorCode::ProtocolError));
        // The caller had the request: it learns the stream is gone.
        let events = conn.events();
        assert!(
            matches!(
                events.last(),
                Some(Event::Reset {
                    stream_id: 1,
                    code: ErrorCode::ProtocolError
                })
            ),
            "{events:?}"
        );
    }
}

#[test]
fn oversized_header_sections_are_rejected_with_431_or_414() {
    let limits = Limits {
        field_size: 100,
        fields: 3,
        request_line: 50,
        ..Limits::default()
    };
    let long = "v".repeat(100);
    let long_path = format!("/{}", "p".repeat(60));
    let base = request_fields("GET", "/");
    let cases: Vec<(Vec<(&str, &str)>, StatusCode)> = vec![
        (
            [&base[..], &[("x", long.as_str())]].concat(),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        ),
        (
            [&base[..], &[("a", "1"), ("b", "2"), ("c", "3"), ("d", "4")]].concat(),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        ),
        (
            vec![base[0], base[1], base[2], (":path", long_path.as_str())],
            StatusCode::URI_TOO_LONG,
        ),
    ];
    for (fields, status) in cases {
        let mut conn = Conn::with(SessionSettings::from_limits(limits));
        let h = conn.c.headers(1, &fields, false);
        conn.send(&h).unwrap();
        let events = conn.events();
        assert!(
            matches!(events[..], [Event::Rejected { stream_id: 1, status: s }] if s == status),
            "{events:?}"
        );
        // The body is dropped and its window given back; the caller answers.
        conn.send(&data(1, &[0; 1000], true)).unwrap();
        assert!(conn.events().is_empty());
        conn.s.respond(1, status, &HeaderMap::new(), true).unwrap();
        assert!(matches!(
            conn.out()[0],
            Out::Headers {
                stream: 1,
                end_stream: true,
                ..
            }
        ));
    }
    // Beyond SETTINGS_MAX_HEADER_LIST_SIZE, but within the block limit: 431 as well.
    let mut conn = Conn::with(SessionSettings {
        max_header_list_size: 16384,
        limits: Limits {
            fields: 0,
            ..Limits::default()
        },
        ..SessionSettings::default()
    });
    let values: Vec<String> = (0..20).map(|i| format!("{i}{}", "z".repeat(900))).collect();
    let mut fields = base.clone();
    for v in &values {
        fields.push(("x-big", v.as_str()));
    }
    let mut block = Vec::new();
    hpack::Encoder::with_max_table_size(0)
        .encode(fields.iter().map(|(n, v)| (n, v, false)), &mut block);
    // Not Huffman-friendly enough to fit: make sure the block itself fits the limit.
    if block.len() <= 16384 {
        let mut h = Vec::new();
        encode_headers(&mut h, 1, &block, true, 16384);
        conn.send(&h).unwrap();
        assert!(matches!(conn.events()[..], [Event::Rejected { .. }]));
    }
}

#[test]
fn s6_10_continuation_sequencing() {
    // A field block split over HEADERS + CONTINUATION is put together.
    let mut conn = Conn::new();
    let block = conn.c.block(&request_fields("GET", "/split"));
    let mut input = Vec::new();
    encode_headers(&mut input, 1, &block, true, 5);
    conn.send(&input).unwrap();
    assert_eq!(conn.request().1.path, "/split");

    // Anything between HEADERS and its last CONTINUATION: connection PROTOCOL_ERROR.
    let interlopers = [
        ping([0; 8]),
        data(1, b"x", false),
        window_update(0, 1),
        settings(&[]),
        frame(Frame::Unknown(Unknown {
            frame_type: 0xf0,
            flags: 0,
            stream_id: 3,
            payload: b"",
        })),
        frame(Frame::Priority(Priority {
            stream_id: 3,
            dependency: StreamDependency {
                exclusive: false,
                stream_id: 0,
                weight: 0,
            },
        })),
    ];
    for interloper in interlopers {
        let mut conn = Conn::new();
        let block = conn.c.block(&request_fields("GET", "/"));
        let mut split = Vec::new();
        encode_headers(&mut split, 3, &block, true, 4);
        let first_len = FrameHeader::LEN + 4;
        let mut input = split[..first_len].to_vec();
        input.extend(interloper);
        input.extend(&split[first_len..]);
        assert_eq!(conn.fails(&input), ErrorCode::ProtocolError);
    }
    // CONTINUATION on another stream, or without HEADERS.
    let mut conn = Conn::new();
    let block = conn.c.block(&request_fields("GET", "/"));
    let mut split = Vec::new();
    encode_headers(&mut split, 3, &block, true, 4);
    let mut input = split[..FrameHeader::LEN + 4].to_vec();
    input.extend(frame(Frame::Continuation(Continuation {
        stream_id: 5,
        end_headers: true,
        fragment: &block[4..],
    })));
    assert_eq!(conn.fails(&input), ErrorCode::ProtocolError);
    let mut conn = Conn::new();
    let cont = frame(Frame::Continuation(Continuation {
        stream_id: 1,
        end_headers: true,
        fragment: b"",
    }));
    assert_eq!(conn.fails(&cont), ErrorCode::ProtocolError);
}

#[test]
fn cve_2024_27316_continuation_flood() {
    // Many small CONTINUATION frames.
    let mut conn = Conn::new();
    let block = conn.c.block(&request_fields("GET", "/"));
    let mut input = Vec::new();
    encode_headers(&mut input, 1, &block, true, 1);
    assert!(block.len() > 9);
    assert_eq!(conn.fails(&input), ErrorCode::EnhanceYourCalm);
    // A block that never ends and grows past the limit: buffering stops there.
    let mut conn = Conn::with(SessionSettings {
        flood: FloodLimits {
            max_continuations: u32::MAX,
            ..FloodLimits::default()
        },
        ..SessionSettings::default()
    });
    let mut input = frame(Frame::Headers(Headers {
        stream_id: 1,
        end_stream: true,
        end_headers: false,
        priority: None,
        pad_len: None,
        fragment: &[0x82],
    }));
    let junk = vec![0x82u8; 16384];
    for _ in 0..5 {
        input.extend(frame(Frame::Continuation(Continuation {
            stream_id: 1,
            end_headers: false,
            fragment: &junk,
        })));
    }
    assert_eq!(conn.fails(&input), ErrorCode::EnhanceYourCalm);
    assert!(conn.s.block.is_none());
}

#[test]
fn hpack_errors_are_compression_errors() {
    let mut conn = Conn::new();
    // Index 0, then an index past the tables.
    for block in [&[0x80u8][..], &[0xff, 0x7f][..]] {
        let mut conn2 = Conn::new();
        let mut h = Vec::new();
        encode_headers(&mut h, 1, block, true, 16384);
        assert_eq!(conn2.fails(&h), ErrorCode::CompressionError);
    }
    // A HPACK bomb: one big entry referenced many times stays within the list limit.
    let big = "b".repeat(3000);
    let mut fields = request_fields("GET", "/");
    fields.push(("x-bomb", big.as_str()));
    let h = conn.c.headers(1, &fields, true);
    conn.send(&h).unwrap();
    conn.events();
    let mut block = Vec::new();
    block.extend_from_slice(&conn.c.block(&request_fields("GET", "/")));
    // 62 = the newest dynamic entry (x-bomb), repeated.
    block.extend(std::iter::repeat_n(0xbe, 5000));
    let mut h = Vec::new();
    encode_headers(&mut h, 3, &block, true, 16384);
    conn.send(&h).unwrap();
    assert!(matches!(
        conn.events()[..],
        [Event::Rejected {
            stream_id: 3,
            status: StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
        }]
    ));
}

#[test]
fn s5_1_stream_state_errors() {
    // DATA, RST_STREAM, WINDOW_UPDATE on an idle stream.
    for bytes in [
        data(1, b"x", false),
        rst(1, ErrorCode::Cancel),
        window_update(1, 1),
    ] {
        assert_eq!(Conn::new().fails(&bytes), ErrorCode::ProtocolError);
    }
    // HEADERS on an even id; PUSH_PROMISE from a client.
    let mut conn = Conn::new();
    let h = conn.c.get(2, "/");
    assert_eq!(conn.fails(&h), ErrorCode::ProtocolError);
    let push = frame(Frame::PushPromise(PushPromise {
        stream_id: 1,
        promised_stream_id: 2,
        end_headers: true,
        pad_len: None,
        fragment: b"",
    }));
    assert_eq!(Conn::new().fails(&push), ErrorCode::ProtocolError);
    // §5.1.1: a stream id lower than one already used.
    let mut conn = Conn::new();
    conn.send_get(5, "/").unwrap();
    let h = conn.c.get(3, "/");
    assert_eq!(conn.fails(&h), ErrorCode::ProtocolError);
    // Half-closed (remote): DATA is STREAM_CLOSED.
    let mut conn = Conn::new();
    conn.send_get(1, "/").unwrap();
    assert_eq!(
        conn.resets(&data(1, b"x", false)),
        (1, ErrorCode::StreamClosed)
    );
    // Closed by the client's RST_STREAM: DATA is STREAM_CLOSED, HEADERS a connection
    // error; WINDOW_UPDATE and PRIORITY are fine.
    let mut conn = Conn::new();
    let h = conn.c.headers(1, &request_fields("POST", "/"), false);
    conn.send(&h).unwrap();
    conn.send(&rst(1, ErrorCode::Cancel)).unwrap();
    conn.send(&window_update(1, 5)).unwrap();
    assert_eq!(
        conn.resets(&data(1, b"x", false)),
        (1, ErrorCode::StreamClosed)
    );
    let h = conn.c.get(1, "/");
    assert_eq!(conn.fails(&h), ErrorCode::StreamClosed);
    // Closed by our RST_STREAM: late frames are ignored.
    let mut conn = Conn::new();
    let h = conn.c.headers(1, &request_fields("POST", "/"), false);
    conn.send(&h).unwrap();
    conn.s.reset_stream(1, ErrorCode::Cancel);
    assert_eq!(conn.out(), [Out::Rst(1, ErrorCode::Cancel)]);
    conn.send(&data(1, b"late", false)).unwrap();
    let trailers = conn.c.headers(1, &[("x", "y")], true);
    conn.send(&trailers).unwrap();
    assert_eq!(conn.out(), []);
    // Window overflow on a stream: stream FLOW_CONTROL_ERROR; on the connection: GOAWAY.
    let mut conn = Conn::new();
    conn.send_get(1, "/").unwrap();
    assert_eq!(
        conn.resets(&window_update(1, MAX_WINDOW_SIZE)),
        (1, ErrorCode::FlowControlError)
    );
    assert_eq!(
        Conn::new().fails(&window_update(0, MAX_WINDOW_SIZE)),
        ErrorCode::FlowControlError
    );
    // A stream that depends on itself.
    let mut conn = Conn::new();
    let p = frame(Frame::Priority(Priority {
        stream_id: 1,
        dependency: StreamDependency {
            exclusive: false,
            stream_id: 1,
            weight: 0,
        },
    }));
    assert_eq!(conn.resets(&p), (1, ErrorCode::ProtocolError));
}

#[test]
fn ping_is_answered_and_priority_ignored() {
    let mut conn = Conn::new();
    conn.send(&ping(*b"12345678")).unwrap();
    let p = frame(Frame::Priority(Priority {
        stream_id: 9,
        dependency: StreamDependency {
            exclusive: true,
            stream_id: 3,
            weight: 7,
        },
    }));
    conn.send(&p).unwrap();
    assert_eq!(conn.out(), [Out::PingAck(*b"12345678")]);
    // PRIORITY does not open the stream: 9 is still usable.
    conn.send_get(9, "/").unwrap();
    assert_eq!(conn.request().0, 9);
}

#[test]
fn cve_2019_9512_9515_ping_and_settings_floods() {
    for flood_frame in [ping([1; 8]), settings(&[])] {
        let mut conn = Conn::new();
        let mut input = Vec::new();
        for _ in 0..=1000 {
            input.extend(&flood_frame);
        }
        // The output is never taken: the client does not read.
        assert_eq!(conn.fails(&input), ErrorCode::EnhanceYourCalm);
    }
    // Taking the output resets the count.
    let mut conn = Conn::new();
    for _ in 0..5 {
        let mut input = Vec::new();
        for _ in 0..600 {
            input.extend(ping([1; 8]));
        }
        conn.send(&input).unwrap();
        conn.out();
    }
}

#[test]
fn cve_2019_9518_empty_frame_flood() {
    let mut conn = Conn::new();
    let h = conn.c.headers(1, &request_fields("POST", "/"), false);
    conn.send(&h).unwrap();
    let mut input = Vec::new();
    for _ in 0..=100 {
        input.extend(data(1, b"", false));
    }
    assert_eq!(conn.fails(&input), ErrorCode::EnhanceYourCalm);
}

#[test]
fn cve_2019_9514_reset_flood() {
    let mut conn = Conn::new();
    for round in 0..11 {
        let mut input = Vec::new();
        for i in 0..100u32 {
            // Malformed: no :path.
            let id = 1 + 2 * (round * 100 + i);
            input.extend(conn.c.headers(id, &request_fields("GET", "/")[..3], true));
        }
        let result = conn.send(&input);
        conn.out();
        if round < 10 {
            result.unwrap();
        } else {
            assert_eq!(result.unwrap_err().code, ErrorCode::EnhanceYourCalm);
        }
    }
}

#[test]
fn cve_2023_44487_rapid_reset() {
    let mut conn = Conn::new();
    let mut id = 1;
    let mut open_and_reset = |conn: &mut Conn, n: u32| -> Result<(), SessionError> {
        let mut input = Vec::new();
        for _ in 0..n {
            input.extend(conn.c.get(id, "/"));
            input.extend(rst(id, ErrorCode::Cancel));
            id += 2;
        }
        let r = conn.send(&input);
        conn.out();
        r
    };
    open_and_reset(&mut conn, 100).unwrap();
    // The requests were reset before the caller saw them: no events at all.
    assert!(conn.events().is_empty());
    // After the window, the count starts again.
    conn.now += Duration::from_secs(11);
    open_and_reset(&mut conn, 100).unwrap();
    assert_eq!(
        open_and_reset(&mut conn, 1).unwrap_err().code,
        ErrorCode::EnhanceYourCalm
    );
    // A reset after the response is complete does not count.
    let mut conn = Conn::new();
    for i in 0..200u32 {
        let id = 1 + 2 * i;
        let h = conn.c.headers(id, &request_fields("POST", "/"), false);
        conn.send(&h).unwrap();
        conn.events();
        conn.s
            .respond(id, StatusCode::OK, &HeaderMap::new(), true)
            .unwrap();
        conn.send(&rst(id, ErrorCode::NoError)).unwrap();
    }
    // A reset of a request the caller already has: a Reset event.
    conn.send_get(401, "/").unwrap();
    conn.events();
    conn.send(&rst(401, ErrorCode::Cancel)).unwrap();
    assert!(matches!(
        conn.events()[..],
        [Event::Reset {
            stream_id: 401,
            code: ErrorCode::Cancel
        }]
    ));
    assert_eq!(
        conn.s.respond(401, StatusCode::OK, &HeaderMap::new(), true),
        Err(SendError::UnknownStream)
    );
}

#[test]
fn cve_2019_9511_data_dribble() {
    let mut conn = Conn::with(SessionSettings {
        flood: FloodLimits {
            max_small_window_frames: 10,
            ..FloodLimits::default()
        },
        ..SessionSettings::default()
    });
    conn.send(&settings(&[Setting::InitialWindowSize(1)]))
        .unwrap();
    conn.send_get(1, "/").unwrap();
    conn.events();
    conn.s
        .respond(1, StatusCode::OK, &HeaderMap::new(), false)
        .unwrap();
    let body = vec![0u8; 1000];
    let mut sent = 0;
    for _ in 0..11 {
        sent += conn.s.send_data(1, &body[sent..], true).unwrap();
        conn.send(&window_update(1, 1)).unwrap_or(());
    }
    assert_eq!(
        conn.s.error().map(|e| e.code),
        Some(ErrorCode::EnhanceYourCalm)
    );
    assert!(
        conn.out()
            .contains(&Out::GoAway(1, ErrorCode::EnhanceYourCalm))
    );
}

/// The same dribble when the caller offers only what the window allows (as the server's
/// stream pump does): each 1-octet frame still counts.
#[test]
fn cve_2019_9511_data_dribble_with_capacity_sized_writes() {
    let mut conn = Conn::with(SessionSettings {
        flood: FloodLimits {
            max_small_window_frames: 10,
            ..FloodLimits::default()
        },
        ..SessionSettings::default()
    });
    conn.send(&settings(&[Setting::InitialWindowSize(1)]))
        .unwrap();
    conn.send_get(1, "/").unwrap();
    conn.events();
    conn.s
        .respond(1, StatusCode::OK, &HeaderMap::new(), false)
        .unwrap();
    let body = vec![0u8; 1000];
    let mut sent = 0;
    for _ in 0..11 {
        let room = conn.s.send_capacity(1).min(body.len() - sent);
        sent += conn
            .s
            .send_data(1, &body[sent..sent + room], false)
            .unwrap();
        conn.send(&window_update(1, 1)).unwrap_or(());
    }
    assert_eq!(
        conn.s.error().map(|e| e.code),
        Some(ErrorCode::EnhanceYourCalm)
    );
    // A short last piece with a wide window is not a dribble.
    let mut ok = Conn::with(SessionSettings {
        flood: FloodLimits {
            max_small_window_frames: 1,
            ..FloodLimits::default()
        },
        ..SessionSettings::default()
    });
    ok.send_get(1, "/").unwrap();
    ok.events();
    ok.s.respond(1, StatusCode::OK, &HeaderMap::new(), false)
        .unwrap();
    for _ in 0..3 {
        ok.s.send_data(1, b"tiny", false).unwrap();
    }
    ok.s.send_data(1, b"end", true).unwrap();
    assert!(ok.s.error().is_none());
}

/// RFC 9113 §6.5.3: a client that has not acknowledged our SETTINGS when its frames
/// arrive past the timeout gets GOAWAY SETTINGS_TIMEOUT; one that acknowledged does not.
#[test]
fn s6_5_3_settings_timeout() {
    let settings = SessionSettings {
        settings_timeout: Some(Duration::from_secs(10)),
        ..SessionSettings::default()
    };
    // Conn::with acknowledges at once: later frames are fine however late.
    let mut acked = Conn::with(settings.clone());
    acked.now += Duration::from_secs(60);
    acked.send(&ping(*b"abcdefgh")).unwrap();
    // A session whose client never acknowledges.
    let mut s = ServerSession::new(settings);
    let t0 = std::time::Instant::now();
    let client = Client::new();
    s.recv(&client.preface(), t0).unwrap();
    s.recv(&ping(*b"early..."), t0 + Duration::from_secs(9))
        .unwrap();
    let e = s
        .recv(&ping(*b"late...."), t0 + Duration::from_secs(11))
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::SettingsTimeout);
    // The ACK in the same batch as the late frame counts.
    let mut s = ServerSession::new(SessionSettings::default());
    s.recv(&client.preface(), t0).unwrap();
    let mut late = Vec::new();
    encode_settings_ack(&mut late);
    late.extend_from_slice(&ping(*b"late...."));
    s.recv(&late, t0 + Duration::from_secs(11)).unwrap();
}

/// An idle session gives its buffers back; the next response is written as before.
#[test]
fn shrink_idle_frees_the_output_buffer() {
    let mut conn = Conn::new();
    conn.send_get(1, "/").unwrap();
    conn.events();
    conn.s
        .respond(1, StatusCode::OK, &HeaderMap::new(), false)
        .unwrap();
    conn.s.send_data(1, &[7u8; 4000], true).unwrap();
    let n = conn.s.output().len();
    conn.s.consume_output(n); // as a driver does: the buffer's capacity stays
    assert!(conn.s.out.capacity() > 0);
    conn.s.shrink_idle();
    assert_eq!(conn.s.out.capacity(), 0);
    assert_eq!(conn.s.input.capacity(), 0);
    conn.send_get(3, "/").unwrap();
    conn.events();
    conn.s
        .respond(3, StatusCode::OK, &HeaderMap::new(), true)
        .unwrap();
    assert!(!conn.s.output().is_empty());
}
