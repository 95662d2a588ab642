//! The case runner of tests/e2e_h2_wire.rs: an h2spec-style case is what to send after
//! the handshake and the one thing that must come of it; [`run_group`] runs a table of
//! them on h2c and TLS under worker and event and reports every mismatch at once.
#![allow(dead_code)]

use crate::common::h2wire::*;
use crate::h2target::{ALL, Target};

/// What a case must lead to.
#[derive(Clone, Debug)]
pub enum Expect {
    /// GOAWAY with this code, then the close.
    GoAway(u32),
    /// GOAWAY with this last stream id and code, then the close.
    GoAwayLast(u32, u32),
    /// RST_STREAM(stream, code), the connection staying up.
    Rst(u32, u32),
    /// A response with this status on the stream.
    Status(u32, u16),
    /// Nothing but the ACK of the probe PING.
    Alive,
    /// A PING ACK carrying this payload.
    PingAck([u8; 8]),
    /// A SETTINGS ACK before anything else telling.
    SettingsAck,
}
use Expect::*;

/// One h2spec-style case: what to send after the handshake (`run`, or, if `fields` is
/// not empty, a GET on stream 1 with exactly those fields) and what must come of it.
#[derive(Clone)]
pub struct Case {
    pub id: &'static str,
    pub what: &'static str,
    pub expect: Expect,
    pub fields: &'static [(&'static str, &'static str)],
    pub run: fn(&mut Conn),
}

/// Send octets; a write error only means the server closed already.
pub fn put(c: &mut Conn, bytes: &[u8]) {
    let _ = c.send(bytes);
}

pub fn get_block(c: &Conn, path: &str) -> Vec<u8> {
    headers_block(&get_fields(&c.authority, path))
}

/// The field block of a POST to the echo CGI, with `extra` regular fields.
pub fn post_block(c: &Conn, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut f = vec![
        (":method", "POST"),
        (":scheme", "http"),
        (":authority", c.authority.as_str()),
        (":path", "/cgi-bin/echo.cgi"),
    ];
    f.extend_from_slice(extra);
    headers_block(&f)
}

/// HEADERS opening a POST on `stream` (the body to follow).
pub fn open_post(c: &mut Conn, stream: u32) {
    let b = post_block(c, &[]);
    put(c, &headers(stream, END_HEADERS, &b));
}

/// A GET on stream 1 whose block is `fields` (pseudo-header cases).
pub fn send_fields(c: &mut Conn, fields: &[(&str, &str)]) {
    put(
        c,
        &headers(1, END_STREAM | END_HEADERS, &headers_block(fields)),
    );
}

/// A GET on stream 1 whose block is `block` (HPACK cases).
pub fn send_block(c: &mut Conn, block: &[u8]) {
    put(c, &headers(1, END_STREAM | END_HEADERS, block));
}

/// Run one case on a fresh connection: `Err` says what came instead.
pub fn check(t: &Target, case: &Case) -> Result<(), String> {
    let mut c = t.open();
    if case.fields.is_empty() {
        (case.run)(&mut c);
    } else {
        let a = c.authority.clone();
        let fields: Vec<(&str, &str)> = case
            .fields
            .iter()
            .map(|&(n, v)| (n, if v == "{a}" { a.as_str() } else { v }))
            .collect();
        send_fields(&mut c, &fields);
    }
    let want = match case.expect {
        GoAway(code) => Outcome::GoAway(code),
        Rst(s, code) => Outcome::Rst(s, code),
        Status(s, st) => Outcome::Status(s, st),
        Alive => Outcome::Alive,
        GoAwayLast(last, code) => {
            return match c.expect_goaway(WAIT) {
                Ok(got) if got == (last, code) => closes(&mut c),
                got => Err(format!(
                    "GOAWAY(last {last}, code {code}) wanted, got {got:?}"
                )),
            };
        }
        PingAck(payload) => {
            return loop {
                match c.read_frame(WAIT) {
                    Ok(f) if f.ty == PING && f.has(ACK) && f.payload == payload => break Ok(()),
                    Ok(f) if matches!(f.ty, PING | GOAWAY | RST_STREAM) => {
                        break Err(format!("PING ACK wanted, got {f:?}"));
                    }
                    Ok(_) => {}
                    Err(e) => break Err(format!("PING ACK wanted, got {e:?}")),
                }
            };
        }
        SettingsAck => {
            return loop {
                match c.read_frame(WAIT) {
                    Ok(f) if f.ty == SETTINGS && f.has(ACK) => break Ok(()),
                    Ok(f) if matches!(f.ty, SETTINGS | GOAWAY | RST_STREAM) => {
                        break Err(format!("SETTINGS ACK wanted, got {f:?}"));
                    }
                    Ok(_) => {}
                    Err(e) => break Err(format!("SETTINGS ACK wanted, got {e:?}")),
                }
            };
        }
    };
    let stream = match want {
        Outcome::Status(s, _) => s,
        _ => 0,
    };
    let got = c.outcome(stream);
    if got != want {
        return Err(format!("{want:?} wanted, got {got:?}"));
    }
    if matches!(want, Outcome::GoAway(_)) {
        return closes(&mut c);
    }
    Ok(())
}

pub fn closes(c: &mut Conn) -> Result<(), String> {
    if c.closes_within(WAIT) {
        Ok(())
    } else {
        Err("the connection stayed open after the GOAWAY".into())
    }
}

/// Run `cases` against all four combinations; one failure report for all.
pub fn run_group(cases: &[Case]) {
    let mut failures = Vec::new();
    for (transport, mpm) in ALL {
        let t = Target::start(transport, mpm, "");
        for c in cases {
            if let Err(e) = check(&t, c) {
                failures.push(format!("{} {} ({}): {e}", t.name, c.id, c.what));
            }
        }
        let mut probe = t.open();
        probe.get(1, "/");
        assert_eq!(
            probe.response(1).0,
            200,
            "{}: served after the group",
            t.name
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `"id" "what" => expect, |c| run;` lines into a table of cases (a macro, so the table
/// keeps one line per case).
macro_rules! cases {
    ($($id:literal $what:literal => $expect:expr, $run:expr;)*) => {
        &[$(Case { id: $id, what: $what, expect: $expect, fields: &[], run: $run }),*]
    };
}

/// `"id" "what": [name = value, ...];` lines into cases of malformed GETs on stream 1,
/// each to be reset with PROTOCOL_ERROR (§8.1.1). `{a}` stands for the `:authority`.
macro_rules! malformed {
    ($($id:literal $what:literal: [$($n:literal = $v:literal),*];)*) => {
        &[$(Case {
            id: $id,
            what: $what,
            expect: Rst(1, PROTOCOL_ERROR),
            fields: &[$(($n, $v)),*],
            run: |_| {},
        }),*]
    };
}
