//! Property tests of the server session: arbitrary octets after a valid preface never
//! panic it and never make it hold more than its documented bound; a valid exchange
//! gives the same events and output however the input is cut.

use std::time::Instant;

use proptest::collection::vec;
use proptest::prelude::*;

use super::session_tests::{Client, data, request_fields};
use super::*;
use crate::types::HeaderMap;

/// Checks the memory bound of the module documentation, for a session whose output was
/// never taken after `fed` octets of input.
fn assert_bounded(s: &ServerSession, settings: &SessionSettings, fed: usize) {
    assert!(s.input.len() <= FrameHeader::LEN + settings.max_frame_size as usize);
    if let Some(b) = &s.block {
        assert!(b.block.len() <= settings.max_header_list_size);
    }
    assert!(s.streams.len() <= settings.max_concurrent_streams as usize);
    // Our preface, then control frames (17 octets at most each), WINDOW_UPDATEs (at
    // most one per 16 KiB received) and one GOAWAY with its reason.
    let control = 17 * (settings.flood.max_queued_control_frames + 1);
    let bound = 64 + control + fed + 200;
    assert!(
        s.output().len() <= bound,
        "{} octets of output",
        s.output().len()
    );
    let queued: usize = s
        .events
        .iter()
        .map(|e| match e {
            Event::Data { data, .. } => data.len(),
            _ => 0,
        })
        .sum();
    assert!(queued <= settings.connection_window_size as usize);
}

fn small_settings() -> SessionSettings {
    SessionSettings {
        max_concurrent_streams: 4,
        max_header_list_size: 16384,
        flood: FloodLimits {
            max_queued_control_frames: 20,
            max_continuations: 3,
            ..FloodLimits::default()
        },
        ..SessionSettings::default()
    }
}

/// Frames a fuzzing client might send: mostly well-formed, with random parts.
fn frame_strategy() -> impl Strategy<Value = Vec<u8>> {
    let id = prop_oneof![Just(1u32), Just(3), Just(5), 0u32..12];
    prop_oneof![
        (id.clone(), any::<bool>(), vec(any::<u8>(), 0..40))
            .prop_map(|(id, end, payload)| { data(id, &payload, end) }),
        (id.clone(), any::<bool>(), any::<u8>()).prop_map(|(id, end, n)| {
            let mut c = Client::new();
            let path = format!("/{n}");
            c.headers(id, &request_fields("POST", &path), end)
        }),
        (
            id.clone(),
            any::<u8>(),
            any::<u8>(),
            vec(any::<u8>(), 0..30)
        )
            .prop_map(|(id, t, flags, payload)| {
                let mut out = Vec::new();
                FrameHeader {
                    length: payload.len() as u32,
                    frame_type: FrameType::from(t % 12),
                    flags,
                    stream_id: id,
                }
                .write(&mut out);
                out.extend(payload);
                out
            }),
        vec(any::<u8>(), 0..50),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_input_after_the_preface_is_bounded(
        frames in vec(frame_strategy(), 0..40),
        cut in 1usize..64,
    ) {
        let settings = small_settings();
        let mut s = ServerSession::new(settings.clone());
        let c = Client::new();
        let now = Instant::now();
        let mut input = c.preface();
        for f in &frames {
            input.extend_from_slice(f);
        }
        let mut fed = 0;
        for piece in input.chunks(cut) {
            fed += piece.len();
            let _ = s.recv(piece, now);
            assert_bounded(&s, &settings, fed);
            // Some events are answered, the way a caller would.
            while let Some(e) = s.poll_event() {
                match e {
                    Event::Request { stream_id, .. } | Event::Rejected { stream_id, .. } => {
                        let _ = s.respond(stream_id, http::StatusCode::OK, &HeaderMap::new(), false);
                        let _ = s.send_data(stream_id, b"body", stream_id % 4 == 1);
                    }
                    Event::Data { stream_id, data, .. } => s.release_capacity(stream_id, data.len()),
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn a_valid_exchange_gives_the_same_events_however_it_is_cut(
        cuts in vec(1usize..200, 1..50),
        body in vec(any::<u8>(), 0..3000),
    ) {
        let mut c = Client::new();
        let mut input = c.preface();
        let mut fields = request_fields("POST", "/upload?x");
        let len = body.len().to_string();
        fields.push(("content-length", &len));
        fields.push(("x-long", "a value that is long enough to be worth compressing"));
        input.extend(c.headers(1, &fields, false));
        for chunk in body.chunks(700) {
            input.extend(data(1, chunk, false));
        }
        input.extend(c.headers(1, &[("x-trailer", "t")], true));
        input.extend(c.get(3, "/get"));
        let mut p = Vec::new();
        Frame::Ping(Ping { ack: false, opaque_data: [9; 8] }).encode(&mut p);
        input.extend(p);
        let run = |pieces: &mut dyn Iterator<Item = usize>| {
            let mut s = ServerSession::new(SessionSettings::default());
            let now = Instant::now();
            let mut rest = &input[..];
            let mut events = Vec::new();
            let mut body = Vec::new();
            while !rest.is_empty() {
                let n = pieces.next().unwrap_or(rest.len()).min(rest.len());
                s.recv(&rest[..n], now).unwrap();
                rest = &rest[n..];
                while let Some(e) = s.poll_event() {
                    match e {
                        // Data events may be coalesced differently: the body as a whole.
                        Event::Data { data, end_stream, .. } => {
                            body.extend(data);
                            if end_stream {
                                events.push("data end".to_owned());
                            }
                        }
                        e => events.push(format!("{e:?}")),
                    }
                }
            }
            (events, body, s.take_output())
        };
        let whole = run(&mut std::iter::empty());
        let cut = run(&mut cuts.iter().copied().cycle());
        prop_assert_eq!(&whole, &cut);
        prop_assert_eq!(whole.0.len(), 3, "{:?}", whole.0);
        prop_assert_eq!(&whole.1, &body);
    }
}
