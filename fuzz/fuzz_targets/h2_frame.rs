//! The HTTP/2 frame decoder (`h2::decode_frame`) over a stream of frames, as a connection
//! reads them after the preface. Input: a control byte (SETTINGS_MAX_FRAME_SIZE), a cut
//! seed, then the frames.
//!
//! Invariants: no panic, every loop ends; a decoded frame takes 9 + its length octets,
//! no more than the buffer holds and within the frame size; it re-encodes to as many
//! octets, which decode to the same frame; a stream error covers a whole frame in the
//! buffer; the frames, stream errors, connection error and incomplete rest are the same
//! whether the input comes whole or cut at random points; a field block cut up by
//! `encode_headers` goes back together.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rhttpd_fuzz::Cuts;
use rhttpd_http::h2::{self, Frame, FrameError, FrameHeader, decode_frame, encode_headers};

#[derive(Debug, PartialEq)]
enum Event {
    /// A decoded frame, re-encoded.
    Frame(Vec<u8>),
    StreamError(FrameError),
    ConnectionError(FrameError),
    /// The input ended inside a frame, with this many octets of it buffered.
    Incomplete(usize),
}

/// Splits a HEADERS frame's fragment with `encode_headers` at `max` and puts it together.
fn check_field_block(frame: &Frame<'_>, max: u32) {
    let Frame::Headers(h) = frame else {
        return;
    };
    // encode_headers takes a limit of 0 as 1.
    let max = max.max(1);
    let mut out = Vec::new();
    encode_headers(&mut out, h.stream_id, h.fragment, h.end_stream, max);
    let mut rest = &out[..];
    let mut block = Vec::new();
    let mut end_headers = false;
    while !rest.is_empty() {
        assert!(!end_headers, "a frame after END_HEADERS");
        let first = rest.len() == out.len();
        let (part, n) = decode_frame(rest, max)
            .expect("encode_headers writes valid frames")
            .expect("complete frames");
        match part {
            Frame::Headers(p) if first => {
                assert_eq!((p.stream_id, p.end_stream), (h.stream_id, h.end_stream));
                block.extend_from_slice(p.fragment);
                end_headers = p.end_headers;
            }
            Frame::Continuation(c) if !first => {
                assert_eq!(c.stream_id, h.stream_id);
                block.extend_from_slice(c.fragment);
                end_headers = c.end_headers;
            }
            other => panic!("encode_headers wrote {other:?}"),
        }
        rest = &rest[n..];
    }
    assert!(end_headers, "no END_HEADERS");
    assert_eq!(block, h.fragment, "the fragments do not make the block");
}

fn run(input: &[u8], max: u32, mut piece: impl FnMut() -> usize) -> Vec<Event> {
    let mut buf: Vec<u8> = Vec::new();
    let mut fed = 0usize;
    let mut events = Vec::new();
    let mut steps = 0usize;
    loop {
        steps += 1;
        assert!(steps < 10_000_000, "the decoder does not progress");
        match decode_frame(&buf, max) {
            Ok(Some((frame, n))) => {
                let header = FrameHeader::parse(buf.first_chunk().expect("a header"));
                assert_eq!(n, FrameHeader::LEN + header.length as usize);
                assert!(n <= buf.len(), "consumed more than given");
                assert!(header.length <= max, "a frame over the frame size");
                let mut again = Vec::new();
                frame.encode(&mut again);
                assert_eq!(again.len(), n, "re-encoded to another length");
                assert_eq!(
                    decode_frame(&again, max),
                    Ok(Some((frame, n))),
                    "the re-encoded frame decodes differently"
                );
                check_field_block(&frame, max);
                events.push(Event::Frame(again));
                buf.drain(..n);
            }
            Ok(None) => {
                if fed == input.len() {
                    events.push(Event::Incomplete(buf.len()));
                    return events;
                }
                let k = piece().min(input.len() - fed);
                buf.extend_from_slice(&input[fed..fed + k]);
                fed += k;
            }
            Err(e @ FrameError::Stream { frame_len, .. }) => {
                assert!(
                    (FrameHeader::LEN..=buf.len()).contains(&frame_len),
                    "a stream error beyond the buffer"
                );
                events.push(Event::StreamError(e));
                buf.drain(..frame_len);
            }
            Err(e @ FrameError::Connection { .. }) => {
                events.push(Event::ConnectionError(e));
                return events;
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let (ctl, input) = data.split_at(2);
    // Our SETTINGS_MAX_FRAME_SIZE: the default, the largest, and small values (below what
    // a peer may set, but the decoder takes any) so that short inputs reach the limit.
    let max = match ctl[0] % 4 {
        0 => h2::DEFAULT_MAX_FRAME_SIZE,
        1 => h2::LARGEST_MAX_FRAME_SIZE,
        2 => u32::from(ctl[0] >> 2),
        _ => 1000,
    };
    let whole = run(input, max, || usize::MAX);
    let max_piece = 1 + usize::from(ctl[1] % 32);
    let mut cuts = Cuts::new(u64::from(ctl[1]));
    let cut = run(input, max, || cuts.piece(max_piece));
    assert_eq!(whole, cut, "the result depends on how the input was cut");
});
