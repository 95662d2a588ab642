//! The HTTP/2 server session (`h2::ServerSession`) fed a client's bytes. Input: a control
//! byte (settings: defaults or small limits; whether the preface is prepended), a cut
//! seed, then what the client sends (after the preface, when it is prepended).
//!
//! Invariants: no panic, every call returns; the events, the request body of each
//! stream, the output and the error are the same whether the input comes whole or cut at
//! random points (the caller polls the events once, at the end: a stream reset before
//! its request was polled leaves no event at all, so polling in between would change
//! them); the output is within the bound the
//! session documents (our preface, control frames up to the flood limit, WINDOW_UPDATEs,
//! one GOAWAY); open streams never exceed SETTINGS_MAX_CONCURRENT_STREAMS; a second run
//! that answers every request and releases every body octet keeps to the same stream
//! bound and never panics.
#![no_main]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use rhttpd_fuzz::Cuts;
use rhttpd_http::h2::{self, Event, FloodLimits, ServerSession, SessionSettings};
use rhttpd_http::{HeaderMap, HeaderValue, StatusCode};

fn settings(sel: u8) -> SessionSettings {
    match sel % 2 {
        0 => SessionSettings::default(),
        _ => SessionSettings {
            max_concurrent_streams: 3,
            initial_window_size: 100,
            connection_window_size: 65_535,
            max_header_list_size: 2000,
            limits: rhttpd_fuzz::limits(3),
            flood: FloodLimits {
                max_early_resets: 5,
                reset_window: Duration::from_secs(1),
                max_queued_control_frames: 10,
                max_stream_errors: 10,
                max_empty_frames: 5,
                max_continuations: 2,
                max_small_window_frames: 5,
            },
            ..SessionSettings::default()
        },
    }
}

#[derive(Debug, PartialEq)]
struct Run {
    events: Vec<String>,
    bodies: BTreeMap<u32, Vec<u8>>,
    output: Vec<u8>,
    error: Option<h2::SessionError>,
}

fn run(input: &[u8], sel: u8, mut piece: impl FnMut() -> usize) -> Run {
    let settings = settings(sel);
    let mut s = ServerSession::new(settings.clone());
    let now = Instant::now();
    let mut events = Vec::new();
    let mut bodies: BTreeMap<u32, Vec<u8>> = BTreeMap::new();
    let mut rest = input;
    while !rest.is_empty() {
        let n = piece().min(rest.len());
        let _ = s.recv(&rest[..n], now);
        rest = &rest[n..];
        assert!(s.open_streams() <= settings.max_concurrent_streams as usize);
        let control = 17 * (settings.flood.max_queued_control_frames + 1);
        assert!(
            s.output().len() <= 64 + control + (input.len() - rest.len()) + 200,
            "{} octets of output",
            s.output().len()
        );
    }
    while let Some(e) = s.poll_event() {
        match e {
            Event::Data {
                stream_id,
                data,
                end_stream,
            } => {
                bodies.entry(stream_id).or_default().extend(data);
                if end_stream {
                    events.push(format!("end of {stream_id}"));
                }
            }
            e => events.push(format!("{e:?}")),
        }
    }
    Run {
        events,
        bodies,
        output: s.take_output(),
        error: s.error(),
    }
}

/// Answers everything: exercises the send side against whatever the client did.
fn serve(input: &[u8], sel: u8, cuts: &mut Cuts) {
    let settings = settings(sel);
    let mut s = ServerSession::new(settings.clone());
    let mut now = Instant::now();
    let mut rest = input;
    let mut pending: Vec<(u32, usize)> = Vec::new();
    let body = [b'x'; 40_000];
    while !rest.is_empty() {
        let n = cuts.piece(64).min(rest.len());
        let _ = s.recv(&rest[..n], now);
        rest = &rest[n..];
        now += Duration::from_millis(cuts.next_u64() % 300);
        while let Some(e) = s.poll_event() {
            match e {
                Event::Request { stream_id, .. } => {
                    let mut headers = HeaderMap::new();
                    headers.insert("connection", HeaderValue::from_static("close"));
                    headers.insert("x-a", HeaderValue::from_static("b"));
                    let status = StatusCode::OK;
                    if s.respond(stream_id, status, &headers, false).is_ok() {
                        pending.push((stream_id, (cuts.next_u64() % 40_000) as usize));
                    }
                }
                Event::Rejected { stream_id, status } => {
                    let _ = s.respond(stream_id, status, &HeaderMap::new(), true);
                }
                Event::Data {
                    stream_id, data, ..
                } => s.release_capacity(stream_id, data.len()),
                Event::Trailers { stream_id, .. } if cuts.next_u64() % 2 == 0 => {
                    s.reset_stream(stream_id, h2::ErrorCode::Cancel)
                }
                _ => {}
            }
        }
        let writable = s.writable_streams();
        pending.retain_mut(|(id, left)| {
            if *left > 0 && !writable.contains(id) && s.send_capacity(*id) == 0 {
                return true;
            }
            match s.send_data(*id, &body[..*left], true) {
                Ok(n) => {
                    *left -= n;
                    *left > 0
                }
                Err(_) => false,
            }
        });
        assert!(s.open_streams() <= settings.max_concurrent_streams as usize);
        s.consume_output(cuts.piece(100_000));
        if cuts.next_u64() % 16 == 0 {
            s.graceful_shutdown();
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let (ctl, rest) = data.split_at(2);
    let mut input = Vec::with_capacity(rest.len() + h2::PREFACE.len());
    if ctl[0] & 2 == 0 {
        input.extend_from_slice(h2::PREFACE);
    }
    input.extend_from_slice(rest);
    let sel = ctl[0];
    let whole = run(&input, sel, || usize::MAX);
    let max_piece = 1 + usize::from(ctl[1] % 32);
    let mut cuts = Cuts::new(u64::from(ctl[1]));
    let cut = run(&input, sel, || cuts.piece(max_piece));
    assert_eq!(whole, cut, "the result depends on how the input was cut");
    serve(
        &input,
        sel,
        &mut Cuts::new(u64::from(ctl[1]) << 8 | u64::from(ctl[0])),
    );
});
