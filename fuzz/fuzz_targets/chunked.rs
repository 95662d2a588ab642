//! The message-body decoder (`BodyDecoder`), chunked above all. Input: two control bytes
//! (framing and LimitRequestBody, cut seed), then the bytes that follow the head.
//!
//! Invariants: no panic, every loop ends; each `decode` consumes no more than it was
//! given and returns data from inside what it consumed; the decoded body never has more
//! bytes than the input and never exceeds the limit; `data_len` and `wire_len` count
//! what was returned and consumed; the result (body, completion, error, bytes left
//! over, trailers) is the same however the input is cut.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rhttpd_fuzz::Cuts;
use rhttpd_http::{BodyDecoder, BodyFraming, HeaderMap, ParseError};

#[derive(Debug, PartialEq)]
struct Outcome {
    body: Vec<u8>,
    /// `Ok`: complete (at the end of the input, for an until-close body).
    result: Result<(), ParseError>,
    consumed: usize,
    trailers: Option<HeaderMap>,
}

fn run(
    framing: BodyFraming,
    limit: u64,
    input: &[u8],
    mut piece: impl FnMut() -> usize,
) -> Outcome {
    let mut dec = BodyDecoder::new(framing, limit);
    let mut buf: Vec<u8> = Vec::new();
    let mut fed = 0usize;
    let mut consumed = 0usize;
    let mut body = Vec::new();
    let mut steps = 0usize;
    let result = loop {
        steps += 1;
        assert!(steps < 1_000_000, "the decoder does not progress");
        let d = match dec.decode(&buf) {
            Ok(d) => d,
            Err(e) => break Err(e),
        };
        assert!(d.consumed <= buf.len(), "consumed more than given");
        assert!(d.data.len() <= d.consumed, "more data than consumed");
        if !d.data.is_empty() {
            let off = d.data.as_ptr() as usize - buf.as_ptr() as usize;
            assert!(
                off + d.data.len() <= d.consumed,
                "data outside what was consumed"
            );
        }
        body.extend_from_slice(d.data);
        let (n, done) = (d.consumed, d.done);
        buf.drain(..n);
        consumed += n;
        assert_eq!(done, dec.is_done());
        if done {
            break Ok(());
        }
        if n == 0 {
            if fed == input.len() {
                break dec.finish_eof();
            }
            let k = piece().min(input.len() - fed);
            buf.extend_from_slice(&input[fed..fed + k]);
            fed += k;
        }
    };
    assert!(body.len() <= input.len(), "more body than input");
    assert!(consumed <= input.len());
    if limit != 0 {
        assert!(body.len() as u64 <= limit, "body beyond LimitRequestBody");
    }
    assert_eq!(dec.data_len(), body.len() as u64, "data_len");
    if result.is_ok() {
        // (After an error the line that failed may be counted in wire_len.)
        assert_eq!(dec.wire_len(), consumed as u64, "wire_len");
        if let BodyFraming::Length(n) = framing {
            assert_eq!(body.len() as u64, n);
        }
    }
    Outcome {
        body,
        // After an error, what counts as consumed depends on the cut (the bytes of a run
        // that came before the error are consumed with it); the connection closes.
        consumed: if result.is_ok() { consumed } else { 0 },
        result,
        trailers: dec.trailers().cloned(),
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let (ctl, input) = data.split_at(2);
    let framing = match ctl[0] % 8 {
        0..=4 => BodyFraming::Chunked,
        5 => BodyFraming::UntilClose,
        6 => BodyFraming::Length(u64::from(ctl[1])),
        _ => BodyFraming::Length(input.len() as u64 / 2),
    };
    let limit = [0, 0, 1, 7, 64, 1000, 1 << 20, u64::MAX][usize::from(ctl[0] >> 5)];
    let whole = run(framing, limit, input, || usize::MAX);
    let max_piece = 1 + usize::from(ctl[1] % 16);
    let mut cuts = Cuts::new(u64::from(ctl[1]));
    let cut = run(framing, limit, input, || cuts.piece(max_piece));
    if framing == BodyFraming::UntilClose && whole.result.is_err() {
        // An until-close body over the limit fails when the piece that crosses it
        // arrives: what came before it may have been handed out already.
        assert_eq!(whole.result, cut.result);
        assert!(cut.body.starts_with(&whole.body));
    } else {
        assert_eq!(whole, cut, "the result depends on how the input was cut");
    }
});
