//! HTTP/2 floods against the real server (issue #13): rapid reset (CVE-2023-44487),
//! CONTINUATION flood (CVE-2024-27316), HPACK bomb, ping and settings floods
//! (CVE-2019-9512, -9515), empty frames (CVE-2019-9518), WINDOW_UPDATE flood, reset flood
//! (CVE-2019-9514), zero-window dribble (CVE-2019-9511, -9517), oversized header lists
//! (LimitRequestFieldSize, LimitRequestFields) and streams past H2MaxSessionStreams.
//! Each runs on h2c under worker and event (rapid reset and CONTINUATION also over TLS
//! under event) and checks what the misbehaving connection gets (GOAWAY
//! ENHANCE_YOUR_CALM where the engine's limits in crates/http/src/h2/settings.rs apply),
//! then that the server survived: the same child processes, their resident memory
//! grown by less than 64 MiB, and a 200 for a GET on a fresh connection.

mod common;
#[path = "support/dynamic.rs"]
mod dynamic_support;
#[path = "support/h2target.rs"]
mod h2target;

use std::time::{Duration, Instant};

use common::h2wire::*;
use h2target::{MpmName, Target, Transport};

const H2C: [(Transport, MpmName); 2] = [
    (Transport::H2c, MpmName::Worker),
    (Transport::H2c, MpmName::Event),
];
const H2C_AND_TLS: [(Transport, MpmName); 3] = [
    (Transport::H2c, MpmName::Worker),
    (Transport::H2c, MpmName::Event),
    (Transport::Tls, MpmName::Event),
];

/// How much the children's summed VmRSS may grow over one flood.
const RSS_GROWTH_KIB: u64 = 64 * 1024;

/// A flood's GOAWAY (read through whatever the server sent before it).
const FLOOD_WAIT: Duration = Duration::from_secs(15);

/// Start a server per combination (`Timeout 2` plus `extra`), run `flood` on it, then
/// check that it survived.
fn flood_on(targets: &[(Transport, MpmName)], extra: &str, flood: impl Fn(&Target)) {
    for &(transport, mpm) in targets {
        let t = Target::start(transport, mpm, &format!("Timeout 2\n{extra}"));
        t.write("big.bin", vec![b'z'; 1 << 20]);
        // Warm up (the first requests fill caches), then measure.
        let mut c = t.open();
        c.get(1, "/big.bin");
        assert_eq!(c.response(1).0, 200, "{}", t.name);
        drop(c);
        let kids = t.children();
        let rss = t.children_rss_kib();
        flood(&t);
        survived(&t, &kids, rss);
    }
}

/// The same children are alive, their memory is bounded, and a fresh connection is
/// served.
fn survived(t: &Target, kids: &[i32], rss_before: u64) {
    let now = t.children();
    for pid in kids {
        assert!(
            now.contains(pid),
            "{}: child {pid} is gone ({now:?})\n{}",
            t.name,
            t.diag()
        );
    }
    let rss = t.children_rss_kib();
    assert!(
        rss < rss_before + RSS_GROWTH_KIB,
        "{}: children's VmRSS grew from {rss_before} KiB to {rss} KiB",
        t.name
    );
    let mut c = t.open();
    c.get(1, "/");
    assert_eq!(c.response(1), (200, b"site a\n".to_vec()), "{}", t.name);
}

/// The GOAWAY a flood must end with, and the close after it.
fn assert_goaway(t: &Target, c: &mut Conn, code: u32, what: &str) {
    match c.expect_goaway(FLOOD_WAIT) {
        Ok((_, got)) => assert_eq!(got, code, "{}: {what}: GOAWAY code", t.name),
        Err(e) => panic!("{}: {what}: no GOAWAY ({e:?})\n{}", t.name, t.diag()),
    }
    assert!(
        c.closes_within(FLOOD_WAIT),
        "{}: {what}: open after GOAWAY",
        t.name
    );
}

fn get_block(c: &Conn, path: &str) -> Vec<u8> {
    headers_block(&get_fields(&c.authority, path))
}

fn post_block(c: &Conn) -> Vec<u8> {
    headers_block(&[
        (":method", "POST"),
        (":scheme", "http"),
        (":authority", &c.authority),
        (":path", "/cgi-bin/echo.cgi"),
    ])
}

/// CVE-2023-44487: HEADERS then RST_STREAM, thousands of times; past 100 early resets
/// in 10 s the connection ends with ENHANCE_YOUR_CALM.
#[test]
fn rapid_reset() {
    flood_on(&H2C_AND_TLS, "", |t| {
        let mut c = t.open();
        let block = get_block(&c, "/big.bin");
        let frames = (0..5000u32).map(|i| {
            let id = 2 * i + 1;
            let mut f = headers(id, END_STREAM | END_HEADERS, &block);
            f.extend(rst_stream(id, CANCEL));
            f
        });
        c.blast(frames);
        assert_goaway(t, &mut c, ENHANCE_YOUR_CALM, "rapid reset");
    });
}

/// CVE-2024-27316: a header block that never ends. It is cut off after 8
/// CONTINUATION frames: the server buffers at most one bounded block.
#[test]
fn continuation_flood() {
    flood_on(&H2C_AND_TLS, "", |t| {
        let mut c = t.open();
        let start = headers(1, END_STREAM, &get_block(&c, "/"));
        let mut piece = Vec::new();
        hpack_literal(&mut piece, "x-flood", &"c".repeat(1000));
        let frames = std::iter::once(start).chain((0..20_000).map(|_| continuation(1, 0, &piece)));
        c.blast(frames);
        assert_goaway(t, &mut c, ENHANCE_YOUR_CALM, "CONTINUATION flood");
    });
}

/// An HPACK bomb: one 4000-octet field enters the dynamic table, then 4000 one-octet
/// references to it make a 16 MB header list from an 8 KB block. The decoded-size limit
/// (SETTINGS_MAX_HEADER_LIST_SIZE, 64 KiB) answers each such request 431 and keeps the
/// connection; 50 of them in a row change nothing.
#[test]
fn hpack_bomb() {
    flood_on(&H2C, "", |t| {
        let mut c = t.open();
        assert_eq!(
            c.server_setting(MAX_HEADER_LIST_SIZE),
            Some(64 * 1024),
            "{}",
            t.name
        );
        for i in 0..50u32 {
            let id = 2 * i + 1;
            let mut b = get_block(&c, "/");
            if i == 0 {
                hpack_indexed_literal(&mut b, "x-bomb", &[b'b'; 4000]);
            }
            for _ in 0..4000 {
                hpack_indexed(&mut b, 62);
            }
            let _ = c.send(&headers(id, END_STREAM | END_HEADERS, &b));
            let (status, _) = c.response(id);
            assert_eq!(status, 431, "{}: stream {id}", t.name);
        }
        c.get(101, "/");
        assert_eq!(
            c.response(101).0,
            200,
            "{}: the connection after the bombs",
            t.name
        );
    });
}

/// CVE-2019-9512: PINGs from a client that reads nothing (a 4 KiB receive buffer, so
/// the server's writes stop at once). Past 1000 queued PING ACKs the server gives up
/// (ENHANCE_YOUR_CALM) instead of buffering: the connection is closed and what the client
/// reads afterwards is bounded. (That the GOAWAY itself reaches this client is
/// `goaway_reaches_a_client_that_is_still_sending`.)
#[test]
fn ping_flood() {
    flood_on(&H2C, "", |t| {
        let mut c = tight(t);
        c.blast((0..400_000u32).map(|i| ping((i as u64).to_be_bytes())));
        assert_cut_off(t, &mut c, PING, "ping flood");
    });
}

/// CVE-2019-9515: SETTINGS frames (each owed an ACK) from a client that reads nothing.
#[test]
fn settings_flood() {
    flood_on(&H2C, "", |t| {
        let mut c = tight(t);
        c.blast((0..400_000).map(|_| settings(&[(ENABLE_PUSH, 0)])));
        assert_cut_off(t, &mut c, SETTINGS, "settings flood");
    });
}

/// The connection of a client flooding us with frames owed an answer is closed within
/// `FLOOD_WAIT`, with at most about 1000 answers (`max_queued_control_frames`) and
/// GOAWAY ENHANCE_YOUR_CALM (delivered thanks to the lingering close).
fn assert_cut_off(t: &Target, c: &mut Conn, answer: u8, what: &str) {
    let (mut answers, mut goaway) = (0, None);
    let end = Instant::now() + FLOOD_WAIT;
    let last = loop {
        match c.read_frame(end.saturating_duration_since(Instant::now())) {
            Ok(f) if f.ty == answer => answers += 1,
            Ok(f) if f.ty == GOAWAY => goaway = Some(f.error_code()),
            Ok(_) => {}
            Err(e) => break e,
        }
    };
    assert_eq!(last, ReadError::Closed, "{}: {what}: not closed", t.name);
    assert!(answers <= 1100, "{}: {what}: {answers} answers", t.name);
    assert_eq!(goaway, Some(ENHANCE_YOUR_CALM), "{}: {what}", t.name);
}

/// RFC 9113 §5.4.1: the GOAWAY of a connection error is meant to reach the client.
/// Apache closes connections by lingering (shut down our side, read and discard for
/// up to 2 s), HTTP/2 ones included, and so does rhttpd. The ping flood of a client
/// with a 4 KiB receive buffer: the server queues 1000 PING ACKs and GOAWAY
/// ENHANCE_YOUR_CALM, hands them to the kernel (one 17 KB sendto); a plain close() with
/// the client's PINGs unread would reset the connection and drop the unsent GOAWAY.
#[test]
fn goaway_reaches_a_client_that_is_still_sending() {
    flood_on(&H2C, "", |t| {
        let mut c = tight(t);
        c.blast((0..400_000u32).map(|i| ping((i as u64).to_be_bytes())));
        assert_goaway(t, &mut c, ENHANCE_YOUR_CALM, "ping flood");
    });
}

/// An h2c connection past the handshake whose receive buffer is 4 KiB.
fn tight(t: &Target) -> Conn {
    let h = connect_h2c_rcvbuf(t.server().port, 4096);
    let mut c: Conn = H2::new(Box::new(h.io));
    c.handshake();
    c
}

/// CVE-2019-9518: DATA frames without payload or END_STREAM on an open stream; past
/// 100 the connection ends with ENHANCE_YOUR_CALM. Empty HEADERS+CONTINUATION
/// frames count the same way.
#[test]
fn empty_frame_flood() {
    flood_on(&H2C, "", |t| {
        let mut c = t.open();
        let _ = c.send(&headers(1, END_HEADERS, &post_block(&c)));
        c.blast((0..10_000).map(|_| data(1, 0, b"")));
        assert_goaway(t, &mut c, ENHANCE_YOUR_CALM, "empty DATA");
        let mut c = t.open();
        let mut frames = vec![headers(1, 0, b"")];
        frames.extend((0..10_000).map(|_| continuation(1, 0, b"")));
        c.blast(frames);
        assert_goaway(t, &mut c, ENHANCE_YOUR_CALM, "empty HEADERS/CONTINUATION");
    });
}

/// WINDOW_UPDATE frames cost the server nothing to keep: 100,000 increments of 1 on
/// the connection and on an open stream are taken without answer and the connection
/// serves on; the increment that takes the connection window past 2^31-1 is a
/// FLOW_CONTROL_ERROR.
#[test]
fn window_update_flood() {
    flood_on(&H2C, "", |t| {
        let mut c = t.open();
        let _ = c.send(&headers(1, END_HEADERS, &post_block(&c)));
        let n = c.blast((0..100_000).map(|i| window_update(if i % 2 == 0 { 0 } else { 1 }, 1)));
        assert_eq!(n, 100_000, "{}", t.name);
        assert_eq!(c.outcome(0), Outcome::Alive, "{}", t.name);
        let _ = c.send(&data(1, END_STREAM, b"abc"));
        assert_eq!(c.response(1), (200, b"len=3".to_vec()), "{}", t.name);
        // 65535 + 50,000 + this > 2^31-1.
        let _ = c.send(&window_update(0, (1 << 31) - 1 - 65_535));
        assert_goaway(t, &mut c, FLOW_CONTROL_ERROR, "window overflow");
    });
}

/// CVE-2019-9514: requests the server must reset (an uppercase field name: malformed,
/// RST_STREAM PROTOCOL_ERROR each); past 1000 stream errors the connection ends with
/// ENHANCE_YOUR_CALM.
#[test]
fn stream_reset_flood() {
    flood_on(&H2C, "", |t| {
        let mut c = t.open();
        let mut fields = get_fields(&c.authority, "/");
        fields.push(("X-Upper", "1"));
        let block = headers_block(&fields);
        let first = (0..5u32).map(|i| headers(2 * i + 1, END_STREAM | END_HEADERS, &block));
        c.blast(first);
        for i in 0..5 {
            assert_eq!(c.expect_rst(2 * i + 1), Ok(PROTOCOL_ERROR), "{}", t.name);
        }
        let rest = (5..3000u32).map(|i| headers(2 * i + 1, END_STREAM | END_HEADERS, &block));
        c.blast(rest);
        assert_goaway(t, &mut c, ENHANCE_YOUR_CALM, "reset flood");
    });
}

/// CVE-2019-9517-ish: a 1 MiB file requested with a window of 0 that is never opened.
/// The stream waits for the client, so the connection is closed after `Timeout 2`
/// (without GOAWAY: the head was sent, no DATA).
#[test]
fn zero_window_times_out() {
    flood_on(&H2C, "", |t| {
        let mut c = t.open_with(&[(INITIAL_WINDOW_SIZE, 0)]);
        c.auto_window = false;
        c.get(1, "/big.bin");
        let began = Instant::now();
        let mut frames = Vec::new();
        let end = loop {
            match c.read_frame(Duration::from_secs(10)) {
                Ok(f) => frames.push((f.ty, f.payload.len())),
                Err(e) => break e,
            }
        };
        let waited = began.elapsed();
        assert_eq!(end, ReadError::Closed, "{}: {frames:?}", t.name);
        assert!(
            waited >= Duration::from_millis(1500) && waited < Duration::from_secs(8),
            "{}: closed after {waited:?}",
            t.name
        );
        assert_eq!(c.status(1), Some(200), "{}", t.name);
        assert!(
            !frames.iter().any(|&(ty, _)| ty == DATA),
            "{}: {frames:?}",
            t.name
        );
    });
}

/// CVE-2019-9511: the window opened one octet at a time makes the server send 1-octet
/// DATA frames; past `max_small_window_frames` (1000) of them the engine ends the
/// connection with ENHANCE_YOUR_CALM. Frames: SETTINGS_INITIAL_WINDOW_SIZE 0, GET
/// /big.bin (1 MiB), then WINDOW_UPDATE(stream 1, +1) each answered by a 1-octet DATA:
/// 1200 of them and no GOAWAY. The session counts a small frame only when `send_data`
/// is given more than the window allows (`n < data.len()` in h2/send.rs), but the
/// driver (`fill_stream` in src/conn/h2/serve.rs) pulls only `send_capacity` octets
/// from the body, so the count never moves.
#[test]
fn data_dribble_is_cut_off() {
    flood_on(&H2C, "", |t| {
        let mut c = t.open_with(&[(INITIAL_WINDOW_SIZE, 0)]);
        c.auto_window = false;
        c.get(1, "/big.bin");
        while c.status(1).is_none() {
            c.read_frame(WAIT).expect("the response head");
        }
        let mut got = 0;
        let mut goaway = None;
        'dribble: for _ in 0..1200 {
            if c.send(&window_update(1, 1)).is_err() {
                break;
            }
            loop {
                match c.read_frame(WAIT) {
                    Ok(f) if f.ty == DATA => {
                        assert_eq!(f.payload.len(), 1, "{}", t.name);
                        got += 1;
                        break;
                    }
                    Ok(f) if f.ty == GOAWAY => {
                        goaway = Some(f.error_code());
                        break 'dribble;
                    }
                    Ok(_) => {}
                    Err(_) => break 'dribble,
                }
            }
        }
        let goaway = goaway.or_else(|| c.expect_goaway(WAIT).ok().map(|(_, code)| code));
        assert_eq!(
            goaway,
            Some(ENHANCE_YOUR_CALM),
            "{}: after {got} DATA frames",
            t.name
        );
        assert!(
            (1000..=1001).contains(&got),
            "{}: {got} 1-octet DATA frames",
            t.name
        );
    });
}

/// LimitRequestFieldSize 100 and LimitRequestFields 5 apply to HTTP/2 fields: a longer
/// field or a sixth field is answered 431 and the connection serves on.
#[test]
fn oversized_header_lists() {
    let limits = "LimitRequestFieldSize 100\nLimitRequestFields 5\n";
    flood_on(&H2C, limits, |t| {
        let mut c = t.open();
        let a = c.authority.clone();
        let long = "v".repeat(200);
        let mut fields = get_fields(&a, "/");
        fields.push(("x-long", &long));
        let _ = c.send(&headers(
            1,
            END_STREAM | END_HEADERS,
            &headers_block(&fields),
        ));
        assert_eq!(c.response(1).0, 431, "{}: a 200-octet field", t.name);
        let names: Vec<String> = (0..6).map(|i| format!("x-f{i}")).collect();
        let mut fields = get_fields(&a, "/");
        fields.extend(names.iter().map(|n| (n.as_str(), "1")));
        let _ = c.send(&headers(
            3,
            END_STREAM | END_HEADERS,
            &headers_block(&fields),
        ));
        assert_eq!(c.response(3).0, 431, "{}: six fields", t.name);
        fields.pop();
        let _ = c.send(&headers(
            5,
            END_STREAM | END_HEADERS,
            &headers_block(&fields),
        ));
        assert_eq!(c.response(5).0, 200, "{}: five fields", t.name);
        // Hundreds of such requests: each is answered, none is kept.
        let mut fields = get_fields(&a, "/");
        fields.push(("x-long", &long));
        let block = headers_block(&fields);
        for i in 0..300u32 {
            let id = 7 + 2 * i;
            let _ = c.send(&headers(id, END_STREAM | END_HEADERS, &block));
            assert_eq!(c.response(id).0, 431, "{}: stream {id}", t.name);
        }
    });
}

/// H2MaxSessionStreams 5: five open streams, then thousands more HEADERS, each refused
/// with RST_STREAM REFUSED_STREAM; the refusals count as stream errors, so past 1000
/// the connection ends with ENHANCE_YOUR_CALM.
#[test]
fn streams_past_max_concurrent() {
    flood_on(&H2C, "H2MaxSessionStreams 5\n", |t| {
        let mut c = t.open();
        assert_eq!(
            c.server_setting(MAX_CONCURRENT_STREAMS),
            Some(5),
            "{}",
            t.name
        );
        let block = post_block(&c);
        c.blast((0..5u32).map(|i| headers(2 * i + 1, END_HEADERS, &block)));
        let _ = c.send(&headers(11, END_HEADERS, &block));
        assert_eq!(c.expect_rst(11), Ok(REFUSED_STREAM), "{}", t.name);
        c.blast((6..3000u32).map(|i| headers(2 * i + 1, END_HEADERS, &block)));
        assert_goaway(t, &mut c, ENHANCE_YOUR_CALM, "streams past the limit");
    });
}
