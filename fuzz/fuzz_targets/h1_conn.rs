//! The HTTP/1.1 server connection (`ServerConn`: `feed`, `next_request`, `read_body`,
//! `respond`, `response_sent`) driven as the blocking driver drives it. Input: four
//! control bytes (limits, body limit and handler mode, read size, cut seed), then the
//! bytes the client sends.
//!
//! Invariants: no panic, every loop ends; the requests seen, their bodies, the errors and
//! the keep-alive decisions are the same whether the input arrives in one piece and
//! bodies are read with a large buffer, or the input arrives cut at arbitrary points and
//! bodies are read a few bytes at a time; `read_body` never returns more than asked; the
//! response heads it writes parse with the client-role parser.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rhttpd_fuzz::{Cuts, limits};
use rhttpd_http::{
    After, BodyRead, Event, HeaderMap, KeepAliveSettings, Limits, ParseError, ResponseLength,
    ServerConn, StatusCode, parse_response_head,
};

#[derive(Debug, PartialEq)]
enum Seen {
    Request {
        line: String,
        continue_sent: bool,
        body: Vec<u8>,
        body_end: Option<Result<(), ParseError>>,
    },
    Invalid(ParseError),
    /// Kept alive (`true`) or closed after the response.
    After(bool),
}

const KA: KeepAliveSettings = KeepAliveSettings {
    enabled: true,
    timeout_secs: 5,
    max: 20,
};

struct Driver<'a, P> {
    conn: ServerConn,
    input: &'a [u8],
    fed: usize,
    piece: P,
    steps: usize,
}

impl<P: FnMut() -> usize> Driver<'_, P> {
    /// Give the connection the next piece of input; `false` at the end of the input.
    fn feed(&mut self) -> bool {
        if self.fed == self.input.len() {
            return false;
        }
        let n = (self.piece)().min(self.input.len() - self.fed);
        self.conn.feed(&self.input[self.fed..self.fed + n]);
        self.fed += n;
        true
    }

    /// Every step consumes input or ends; bound the steps all the same.
    fn step(&mut self) {
        self.steps += 1;
        assert!(self.steps < 1_000_000, "the connection does not progress");
    }

    /// Read the body to its end (`None`: the input ended first).
    fn read_all(&mut self, buf: &mut [u8], body: &mut Vec<u8>) -> Option<Result<(), ParseError>> {
        loop {
            self.step();
            match self.conn.read_body(buf) {
                BodyRead::Data(n) => {
                    assert!(n <= buf.len(), "read_body returned more than asked");
                    body.extend_from_slice(&buf[..n]);
                }
                BodyRead::End => return Some(Ok(())),
                BodyRead::Failed(e) => return Some(Err(e)),
                BodyRead::NeedInput => {
                    if !self.feed() {
                        self.conn.input_failed();
                        return None;
                    }
                }
            }
        }
    }
}

/// Drive one connection. `piece`: the size of each next piece of input; `read_size`: the
/// handler's read buffer; `read_body`: whether the handler reads the body (else the
/// engine drains it after the handler).
fn drive(
    input: &[u8],
    limits: &Limits,
    body_limit: u64,
    piece: impl FnMut() -> usize,
    read_size: usize,
    read_body: bool,
) -> Vec<Seen> {
    let mut d = Driver {
        conn: ServerConn::new(),
        input,
        fed: 0,
        piece,
        steps: 0,
    };
    let mut seen = Vec::new();
    let mut buf = vec![0u8; read_size];
    loop {
        d.step();
        let head = match d.conn.next_request(limits, body_limit) {
            Event::Request(h) => h,
            Event::NeedInput => {
                if d.feed() {
                    continue;
                }
                return seen;
            }
            Event::Invalid(e) => {
                let mut out = Vec::new();
                d.conn
                    .reject(e.status(), &HeaderMap::new(), 0, "", "d", &mut out);
                check_response(&out);
                seen.push(Seen::Invalid(e));
                seen.push(Seen::After(d.conn.response_sent() == After::KeepAlive));
                return seen;
            }
        };
        let continue_sent = d.conn.take_continue();
        let mut body = Vec::new();
        let mut body_end = None;
        if read_body {
            body_end = d.read_all(&mut buf, &mut body);
        }
        if d.conn.handler_done() {
            // The engine discards what the handler did not read.
            body_end = d.read_all(&mut buf, &mut Vec::new());
        }
        let status = match d.conn.body_error() {
            Some(e) => e.status(),
            None => StatusCode::OK,
        };
        let mut out = Vec::new();
        d.conn.respond(
            &head,
            status,
            &HeaderMap::new(),
            ResponseLength::Known(0),
            &KA,
            false,
            "",
            "d",
            &mut out,
        );
        check_response(&out);
        seen.push(Seen::Request {
            line: head.request_line.clone(),
            continue_sent,
            body,
            body_end,
        });
        let after = d.conn.response_sent();
        seen.push(Seen::After(after == After::KeepAlive));
        if after != After::KeepAlive {
            return seen;
        }
    }
}

fn check_response(out: &[u8]) {
    match parse_response_head(out, &Limits::default()) {
        Ok(Some(r)) => assert_eq!(r.head_len, out.len(), "the response head is all we wrote"),
        other => panic!(
            "our response head does not parse: {other:?}: {:?}",
            String::from_utf8_lossy(out)
        ),
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let (ctl, input) = data.split_at(4);
    let limits = limits(ctl[0]);
    let body_limit = [0, 1, 16, 1000][usize::from(ctl[1] & 3)];
    let read_body = ctl[1] & 4 == 0;
    let read_size = 1 + usize::from(ctl[2] % 16);
    let max_piece = 1 + usize::from(ctl[3] % 32);
    let whole = drive(
        input,
        &limits,
        body_limit,
        || usize::MAX,
        64 * 1024,
        read_body,
    );
    let mut cuts = Cuts::new(u64::from(ctl[3]) << 8 | u64::from(ctl[2]));
    let cut = drive(
        input,
        &limits,
        body_limit,
        || cuts.piece(max_piece),
        read_size,
        read_body,
    );
    assert_eq!(whole, cut, "the result depends on how the input was cut");
});
