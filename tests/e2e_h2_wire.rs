//! HTTP/2 conformance over the wire (issue #13), following h2spec's list of cases
//! (generic; http2 §3.5, 4.1–4.3, 5.1, 5.1.1, 5.1.2, 5.3.1, 5.4.1, 5.5, 6.1–6.10, 7, 8.1,
//! 8.1.2.x, 8.2; hpack §2.3, 4.2, 5.2, 6.1–6.3) with the raw-frame client of
//! `common::h2wire`. Every group runs against h2c (prior knowledge) and h2 over TLS
//! (ALPN), each under worker and event, and asserts the exact frame RFC 9113 asks for:
//! a connection error is a GOAWAY with its code followed by the close, a stream error a
//! RST_STREAM with its code. Then flow control (a 1-octet window, a 100 KiB file through
//! small windows), concurrent streams and H2MaxSessionStreams, HEAD, ranges,
//! conditionals, request trailers and `:authority` choosing a name-based virtual host.

mod common;
#[path = "support/dynamic.rs"]
mod dynamic_support;
#[path = "support/h2target.rs"]
mod h2target;
#[macro_use]
#[path = "support/h2cases.rs"]
mod h2cases;

use std::time::Duration;

use common::h2wire::*;
use h2cases::Expect::*;
use h2cases::*;
use h2target::{ALL, Target, Transport};

const FRAMING: &[Case] = cases![
    "4.1/1" "a frame of unknown type is ignored" => Alive,
        |c| put(c, &frame(0x20, 0, 0, b"unknown"));
    "4.1/2" "undefined flags are ignored" => PingAck(*b"flags!!!"),
        |c| put(c, &frame(PING, 0xfe, 0, b"flags!!!"));
    "4.1/3" "the reserved bit of the stream id is ignored" => Status(1, 200), |c| {
        let mut f = headers(1, END_STREAM | END_HEADERS, &get_block(c, "/"));
        f[5] |= 0x80;
        put(c, &f);
    };
    "4.2/1" "DATA of SETTINGS_MAX_FRAME_SIZE octets" => Status(1, 200), |c| {
        open_post(c, 1);
        put(c, &data(1, END_STREAM, &[b'x'; 16384]));
    };
    "4.2/2" "DATA larger than SETTINGS_MAX_FRAME_SIZE" => GoAway(FRAME_SIZE_ERROR), |c| {
        open_post(c, 1);
        put(c, &data(1, END_STREAM, &[b'x'; 16385]));
    };
    "4.2/3" "HEADERS larger than SETTINGS_MAX_FRAME_SIZE" => GoAway(FRAME_SIZE_ERROR), |c| {
        let mut b = get_block(c, "/");
        hpack_literal(&mut b, "x-big", &"v".repeat(16400));
        put(c, &headers(1, END_STREAM | END_HEADERS, &b));
    };
    "4.3/1" "invalid header block fragment" => GoAway(COMPRESSION_ERROR),
        |c| send_block(c, &[0x00, 0x05, b'a']);
    "4.3/2" "PRIORITY inside a header block" => GoAway(PROTOCOL_ERROR), |c| {
        let b = get_block(c, "/");
        let mut out = headers(1, END_STREAM, &b[..4]);
        out.extend(frame(PRIORITY, 0, 1, &[0, 0, 0, 0, 15]));
        out.extend(continuation(1, END_HEADERS, &b[4..]));
        put(c, &out);
    };
    "4.3/3" "HEADERS of another stream inside a header block" => GoAway(PROTOCOL_ERROR), |c| {
        let b = get_block(c, "/");
        let mut out = headers(1, END_STREAM, &b[..4]);
        out.extend(headers(3, END_STREAM | END_HEADERS, &b));
        put(c, &out);
    };
    "5.5/1" "an unknown extension frame on a stream is ignored" => Alive,
        |c| put(c, &frame(0xff, 0xff, 1, b"ext"));
    "5.5/2" "an unknown extension frame inside a header block" => GoAway(PROTOCOL_ERROR), |c| {
        let b = get_block(c, "/");
        let mut out = headers(1, END_STREAM, &b[..4]);
        out.extend(frame(0xff, 0, 1, b"ext"));
        out.extend(continuation(1, END_HEADERS, &b[4..]));
        put(c, &out);
    };
];

/// §3.5 on connections without the handshake, then the framing table.
#[test]
fn preface_and_frame_format() {
    let mut failures = Vec::new();
    for (transport, mpm) in ALL {
        let t = Target::start(transport, mpm, "");
        // 3.5/1: the preface and SETTINGS are answered with SETTINGS and an ACK.
        let mut c = t.open();
        c.get(1, "/");
        assert_eq!(c.response(1), (200, b"site a\n".to_vec()), "{}", t.name);
        // 6.5.3/2: a client that has not ACKed our SETTINGS yet is served (the
        // SETTINGS_TIMEOUT of 10 s is checked in the session's unit tests).
        let mut c = t.connect();
        let mut out = PREFACE.to_vec();
        out.extend(settings(&[]));
        out.extend(headers(1, END_STREAM | END_HEADERS, &get_block(&c, "/")));
        put(&mut c, &out);
        assert_eq!(
            c.response(1),
            (200, b"site a\n".to_vec()),
            "{} no ACK",
            t.name
        );
        // 3.5/2: a PING as the first frame.
        let mut c = t.connect();
        let mut out = PREFACE.to_vec();
        out.extend(ping(*b"notfirst"));
        put(&mut c, &out);
        match c.expect_goaway(WAIT) {
            Ok((0, PROTOCOL_ERROR)) if c.closes_within(WAIT) => {}
            got => failures.push(format!("{} 3.5/2 PING first: {got:?}", t.name)),
        }
        // 3.5/3: a broken preface. Over TLS the connection is HTTP/2 already: GOAWAY
        // PROTOCOL_ERROR. On cleartext the preface is what makes it HTTP/2: HTTP/1.1
        // reads `PRI * HTTP/2.0` as a request line of an unsupported version: 505.
        let mut c = t.connect();
        put(&mut c, b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n");
        match transport {
            Transport::Tls => match c.expect_goaway(WAIT) {
                Ok((0, PROTOCOL_ERROR)) if c.closes_within(WAIT) => {}
                got => failures.push(format!("{} 3.5/3 bad preface: {got:?}", t.name)),
            },
            Transport::H2c => {
                let mut raw = Vec::new();
                c.io.set_timeout(Some(WAIT));
                let _ = std::io::Read::read_to_end(&mut c.io, &mut raw);
                let text = String::from_utf8_lossy(&raw);
                if !text.starts_with("HTTP/1.1 505 ") {
                    failures.push(format!("{} 3.5/3 bad preface: {text:?}", t.name));
                }
            }
        }
        for case in FRAMING {
            if let Err(e) = check(&t, case) {
                failures.push(format!("{} {} ({}): {e}", t.name, case.id, case.what));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

const STREAMS: &[Case] = cases![
    "5.1/1" "DATA on an idle stream" => GoAway(PROTOCOL_ERROR), |c| put(c, &data(1, 0, b"x"));
    "5.1/2" "RST_STREAM on an idle stream" => GoAway(PROTOCOL_ERROR),
        |c| put(c, &rst_stream(1, CANCEL));
    "5.1/3" "WINDOW_UPDATE on an idle stream" => GoAway(PROTOCOL_ERROR),
        |c| put(c, &window_update(1, 100));
    "5.1/4" "CONTINUATION on an idle stream" => GoAway(PROTOCOL_ERROR), |c| {
        let b = get_block(c, "/");
        put(c, &continuation(1, END_HEADERS, &b));
    };
    "5.1/5" "DATA on a half-closed (remote) stream" => Rst(1, STREAM_CLOSED), |c| {
        let mut out = headers(1, END_STREAM | END_HEADERS, &post_block(c, &[]));
        out.extend(data(1, 0, b"late"));
        put(c, &out);
    };
    "5.1/6" "HEADERS on a half-closed (remote) stream" => Rst(1, STREAM_CLOSED), |c| {
        let mut out = headers(1, END_STREAM | END_HEADERS, &post_block(c, &[]));
        out.extend(headers(1, END_STREAM | END_HEADERS, &headers_block(&[("x-t", "1")])));
        put(c, &out);
    };
    "5.1/7" "DATA on a closed stream" => Rst(1, STREAM_CLOSED), |c| {
        c.get(1, "/");
        c.response(1);
        put(c, &data(1, 0, b"late"));
    };
    "5.1/8" "HEADERS on a closed stream" => GoAway(STREAM_CLOSED), |c| {
        c.get(1, "/");
        c.response(1);
        c.get(1, "/");
    };
    "5.1/9" "DATA after the client's RST_STREAM" => Rst(1, STREAM_CLOSED), |c| {
        open_post(c, 1);
        put(c, &rst_stream(1, CANCEL));
        put(c, &data(1, 0, b"late"));
    };
    "5.1.1/1" "HEADERS on an even stream id" => GoAway(PROTOCOL_ERROR), |c| {
        let b = get_block(c, "/");
        put(c, &headers(2, END_STREAM | END_HEADERS, &b));
    };
    "5.1.1/2" "a stream id lower than one used" => GoAway(PROTOCOL_ERROR), |c| {
        c.get(5, "/");
        c.get(3, "/");
    };
    "5.3.1/1" "HEADERS depending on its own stream" => Rst(1, PROTOCOL_ERROR), |c| {
        let mut p = vec![0, 0, 0, 1, 15];
        p.extend(get_block(c, "/"));
        put(c, &headers(1, END_STREAM | END_HEADERS | PRIORITY_FLAG, &p));
    };
    "5.3.1/2" "PRIORITY depending on its own stream" => Rst(1, PROTOCOL_ERROR),
        |c| put(c, &frame(PRIORITY, 0, 1, &[0, 0, 0, 1, 15]));
    "5.4.1/1" "GOAWAY names the last stream processed" => GoAwayLast(1, PROTOCOL_ERROR), |c| {
        c.get(1, "/");
        c.response(1);
        put(c, &data(0, 0, b"x"));
    };
    "7/1" "RST_STREAM with an unknown error code" => Alive, |c| {
        open_post(c, 1);
        put(c, &rst_stream(1, 0xff));
    };
];

#[test]
fn stream_states_identifiers_and_errors() {
    run_group(STREAMS);
}

const FRAMES: &[Case] = cases![
    "6.1/1" "DATA on stream 0" => GoAway(PROTOCOL_ERROR), |c| put(c, &data(0, 0, b"x"));
    "6.1/3" "DATA with a pad length past the payload" => GoAway(PROTOCOL_ERROR), |c| {
        open_post(c, 1);
        put(c, &data(1, PADDED | END_STREAM, &[10, b'a', b'b']));
    };
    "6.2/1" "padded HEADERS with priority" => Status(1, 200), |c| {
        let mut p = vec![3, 0, 0, 0, 0, 15];
        p.extend(get_block(c, "/"));
        p.extend([0, 0, 0]);
        put(c, &headers(1, END_STREAM | END_HEADERS | PADDED | PRIORITY_FLAG, &p));
    };
    "6.2/2" "HEADERS on stream 0" => GoAway(PROTOCOL_ERROR), |c| {
        let b = get_block(c, "/");
        put(c, &headers(0, END_STREAM | END_HEADERS, &b));
    };
    "6.2/3" "HEADERS with a pad length past the payload" => GoAway(PROTOCOL_ERROR), |c| {
        let mut p = vec![200];
        p.extend(get_block(c, "/"));
        put(c, &headers(1, END_STREAM | END_HEADERS | PADDED, &p));
    };
    "6.2/4" "DATA inside a header block" => GoAway(PROTOCOL_ERROR), |c| {
        let b = post_block(c, &[]);
        let mut out = headers(1, 0, &b[..4]);
        out.extend(data(1, 0, b"x"));
        put(c, &out);
    };
    "6.3/1" "PRIORITY on stream 0" => GoAway(PROTOCOL_ERROR),
        |c| put(c, &frame(PRIORITY, 0, 0, &[0, 0, 0, 3, 15]));
    "6.3/2" "PRIORITY of 4 octets" => Rst(1, FRAME_SIZE_ERROR),
        |c| put(c, &frame(PRIORITY, 0, 1, &[0, 0, 0, 3]));
    "6.3/3" "PRIORITY on an idle stream is ignored" => Status(1, 200), |c| {
        put(c, &frame(PRIORITY, 0, 1, &[0, 0, 0, 3, 15]));
        c.get(1, "/");
    };
    "6.4/1" "RST_STREAM on stream 0" => GoAway(PROTOCOL_ERROR), |c| put(c, &rst_stream(0, CANCEL));
    "6.4/3" "RST_STREAM of 3 octets" => GoAway(FRAME_SIZE_ERROR), |c| {
        open_post(c, 1);
        put(c, &frame(RST_STREAM, 0, 1, &[0, 0, 8]));
    };
    "6.5/1" "SETTINGS ACK with a payload" => GoAway(FRAME_SIZE_ERROR),
        |c| put(c, &frame(SETTINGS, ACK, 0, &[0, 3, 0, 0, 0, 100]));
    "6.5/2" "SETTINGS on stream 1" => GoAway(PROTOCOL_ERROR),
        |c| put(c, &frame(SETTINGS, 0, 1, &[0, 3, 0, 0, 0, 100]));
    "6.5/3" "SETTINGS of 3 octets" => GoAway(FRAME_SIZE_ERROR),
        |c| put(c, &frame(SETTINGS, 0, 0, &[0, 3, 0]));
    "6.5.2/1" "SETTINGS_ENABLE_PUSH 2" => GoAway(PROTOCOL_ERROR),
        |c| put(c, &settings(&[(ENABLE_PUSH, 2)]));
    "6.5.2/2" "SETTINGS_INITIAL_WINDOW_SIZE 2^31" => GoAway(FLOW_CONTROL_ERROR),
        |c| put(c, &settings(&[(INITIAL_WINDOW_SIZE, 1 << 31)]));
    "6.5.2/3" "SETTINGS_MAX_FRAME_SIZE 2^14-1" => GoAway(PROTOCOL_ERROR),
        |c| put(c, &settings(&[(MAX_FRAME_SIZE, 16383)]));
    "6.5.2/4" "SETTINGS_MAX_FRAME_SIZE 2^24" => GoAway(PROTOCOL_ERROR),
        |c| put(c, &settings(&[(MAX_FRAME_SIZE, 1 << 24)]));
    "6.5.2/5" "an unknown setting is ignored and ACKed" => SettingsAck,
        |c| put(c, &settings(&[(0xff, 1)]));
    "6.5.3/1" "SETTINGS with several values is ACKed" => SettingsAck,
        |c| put(c, &settings(&[(HEADER_TABLE_SIZE, 0), (MAX_CONCURRENT_STREAMS, 10)]));
    "6.7/1" "PING is answered with its payload" => PingAck(*b"h2wire!!"),
        |c| put(c, &ping(*b"h2wire!!"));
    "6.7/2" "a PING ACK from the client is not answered" => Alive,
        |c| put(c, &frame(PING, ACK, 0, b"unasked!"));
    "6.7/3" "PING on stream 1" => GoAway(PROTOCOL_ERROR),
        |c| put(c, &frame(PING, 0, 1, b"onstream"));
    "6.7/4" "PING of 7 octets" => GoAway(FRAME_SIZE_ERROR),
        |c| put(c, &frame(PING, 0, 0, b"seven!!"));
    "6.8/1" "GOAWAY on stream 1" => GoAway(PROTOCOL_ERROR),
        |c| put(c, &frame(GOAWAY, 0, 1, &[0; 8]));
    "6.9/1" "WINDOW_UPDATE of 0 on the connection" => GoAway(PROTOCOL_ERROR),
        |c| put(c, &window_update(0, 0));
    "6.9/2" "WINDOW_UPDATE of 0 on a stream" => Rst(1, PROTOCOL_ERROR), |c| {
        open_post(c, 1);
        put(c, &window_update(1, 0));
    };
    "6.9/3" "WINDOW_UPDATE of 3 octets" => GoAway(FRAME_SIZE_ERROR),
        |c| put(c, &frame(WINDOW_UPDATE, 0, 0, &[0, 0, 1]));
    "6.9.1/1" "connection window past 2^31-1" => GoAway(FLOW_CONTROL_ERROR),
        |c| put(c, &window_update(0, (1 << 31) - 1));
    "6.9.1/2" "stream window past 2^31-1" => Rst(1, FLOW_CONTROL_ERROR), |c| {
        open_post(c, 1);
        put(c, &window_update(1, (1 << 31) - 1));
    };
    "6.9.2/3" "INITIAL_WINDOW_SIZE takes an open stream's window past 2^31-1"
        => GoAway(FLOW_CONTROL_ERROR), |c| {
        open_post(c, 1);
        put(c, &window_update(1, (1 << 31) - 1 - 65_535));
        put(c, &settings(&[(INITIAL_WINDOW_SIZE, 65_536)]));
    };
    "6.10/1" "a header block over several CONTINUATION frames" => Status(1, 200), |c| {
        let b = get_block(c, "/");
        let mut out = headers(1, END_STREAM, &b[..3]);
        out.extend(continuation(1, 0, &b[3..9]));
        out.extend(continuation(1, END_HEADERS, &b[9..]));
        put(c, &out);
    };
    "6.10/2" "CONTINUATION after END_HEADERS" => GoAway(PROTOCOL_ERROR), |c| {
        let mut out = headers(1, END_STREAM | END_HEADERS, &get_block(c, "/"));
        out.extend(continuation(1, END_HEADERS, &headers_block(&[("x-t", "1")])));
        put(c, &out);
    };
    "6.10/3" "CONTINUATION after a CONTINUATION with END_HEADERS"
        => GoAway(PROTOCOL_ERROR), |c| {
        let b = get_block(c, "/");
        let mut out = headers(1, END_STREAM, &b[..4]);
        out.extend(continuation(1, END_HEADERS, &b[4..]));
        out.extend(continuation(1, END_HEADERS, &headers_block(&[("x-t", "1")])));
        put(c, &out);
    };
    "6.10/4" "CONTINUATION after DATA" => GoAway(PROTOCOL_ERROR), |c| {
        open_post(c, 1);
        put(c, &data(1, 0, b"x"));
        put(c, &continuation(1, END_HEADERS, &headers_block(&[("x-t", "1")])));
    };
    "6.10/5" "CONTINUATION on stream 0" => GoAway(PROTOCOL_ERROR), |c| {
        let b = get_block(c, "/");
        let mut out = headers(1, END_STREAM, &b[..4]);
        out.extend(continuation(0, END_HEADERS, &b[4..]));
        put(c, &out);
    };
    "6.10/6" "CONTINUATION on another stream" => GoAway(PROTOCOL_ERROR), |c| {
        let b = get_block(c, "/");
        let mut out = headers(1, END_STREAM, &b[..4]);
        out.extend(continuation(3, END_HEADERS, &b[4..]));
        put(c, &out);
    };
];

#[test]
fn frame_definitions() {
    run_group(FRAMES);
}

const HTTP: &[Case] = cases![
    "8.1/1" "trailers without END_STREAM" => Rst(1, PROTOCOL_ERROR), |c| {
        open_post(c, 1);
        put(c, &data(1, 0, b"body"));
        put(c, &headers(1, END_HEADERS, &headers_block(&[("x-trailer", "1")])));
    };
    "8.1/2" "a request with trailers" => Status(1, 200), |c| {
        open_post(c, 1);
        put(c, &data(1, 0, b"body"));
        put(c, &headers(1, END_STREAM | END_HEADERS, &headers_block(&[("x-trailer", "1")])));
    };
    "8.1.2.1/3" "a pseudo-header in trailers" => Rst(1, PROTOCOL_ERROR), |c| {
        open_post(c, 1);
        put(c, &data(1, 0, b"body"));
        put(c, &headers(1, END_STREAM | END_HEADERS, &headers_block(&[(":method", "POST")])));
    };
    "8.1.2.2/3" "TE: trailers is allowed" => Status(1, 200), |c| {
        let mut b = get_block(c, "/");
        hpack_literal(&mut b, "te", "trailers");
        send_block(c, &b);
    };
    "8.1.2.6/1" "content-length above the DATA" => Rst(1, PROTOCOL_ERROR), |c| {
        let b = post_block(c, &[("content-length", "8")]);
        put(c, &headers(1, END_HEADERS, &b));
        put(c, &data(1, 0, b"1234"));
        put(c, &data(1, END_STREAM, b"567"));
    };
    "8.1.2.6/2" "content-length below the DATA" => Rst(1, PROTOCOL_ERROR), |c| {
        let b = post_block(c, &[("content-length", "1")]);
        put(c, &headers(1, END_HEADERS, &b));
        put(c, &data(1, END_STREAM, b"1234"));
    };
    "8.2/1" "PUSH_PROMISE from a client" => GoAway(PROTOCOL_ERROR), |c| {
        open_post(c, 1);
        let mut p = vec![0, 0, 0, 2];
        p.extend(get_block(c, "/"));
        put(c, &frame(PUSH_PROMISE, END_HEADERS, 1, &p));
    };
];

const MALFORMED: &[Case] = malformed![
    "8.1.2/1" "an uppercase field name":
        [":method" = "GET", ":scheme" = "http", ":authority" = "{a}", ":path" = "/", "X-Up" = "1"];
    "8.1.2.1/1" "an unknown pseudo-header":
        [":method" = "GET", ":scheme" = "http", ":authority" = "{a}", ":path" = "/", ":foo" = "1"];
    "8.1.2.1/2" "a response pseudo-header in a request":
        [":method" = "GET", ":scheme" = "http", ":authority" = "{a}", ":path" = "/", ":status" = "200"];
    "8.1.2.1/4" "a pseudo-header after a regular field":
        [":method" = "GET", ":scheme" = "http", "x-a" = "1", ":authority" = "{a}", ":path" = "/"];
    "8.1.2.2/1" "a connection-specific field":
        [":method" = "GET", ":scheme" = "http", ":authority" = "{a}", ":path" = "/",
         "connection" = "keep-alive"];
    "8.1.2.2/2" "TE other than trailers":
        [":method" = "GET", ":scheme" = "http", ":authority" = "{a}", ":path" = "/", "te" = "gzip"];
    "8.1.2.3/1" "an empty :path":
        [":method" = "GET", ":scheme" = "http", ":authority" = "{a}", ":path" = ""];
    "8.1.2.3/2" "no :method": [":scheme" = "http", ":authority" = "{a}", ":path" = "/"];
    "8.1.2.3/3" "no :scheme": [":method" = "GET", ":authority" = "{a}", ":path" = "/"];
    "8.1.2.3/4" "no :path": [":method" = "GET", ":scheme" = "http", ":authority" = "{a}"];
    "8.1.2.3/5" "two :method":
        [":method" = "GET", ":method" = "GET", ":scheme" = "http", ":authority" = "{a}", ":path" = "/"];
    "8.1.2.3/6" "two :scheme":
        [":method" = "GET", ":scheme" = "http", ":scheme" = "http", ":authority" = "{a}", ":path" = "/"];
    "8.1.2.3/7" "two :path":
        [":method" = "GET", ":scheme" = "http", ":authority" = "{a}", ":path" = "/", ":path" = "/"];
];

#[test]
fn http_message_exchange() {
    run_group(&[HTTP, MALFORMED].concat());
}

/// The block of a GET of "/" with `field` (already encoded) added at the end.
fn get_with(c: &Conn, field: &[u8]) -> Vec<u8> {
    let mut b = get_block(c, "/");
    b.extend_from_slice(field);
    b
}

const HPACK: &[Case] = cases![
    "hpack 2.3.3/1" "an indexed field past both tables" => GoAway(COMPRESSION_ERROR), |c| {
        let mut f = Vec::new();
        hpack_indexed(&mut f, 70);
        send_block(c, &get_with(c, &f));
    };
    "hpack 2.3.3/2" "a literal whose name index is past both tables"
        => GoAway(COMPRESSION_ERROR), |c| {
        let mut f = Vec::new();
        hpack_int(&mut f, 4, 0x00, 70);
        hpack_str(&mut f, b"v");
        send_block(c, &get_with(c, &f));
    };
    "hpack 4.2/1" "a table size update above SETTINGS_HEADER_TABLE_SIZE"
        => GoAway(COMPRESSION_ERROR), |c| {
        let mut b = Vec::new();
        hpack_size_update(&mut b, 4097);
        b.extend(get_block(c, "/"));
        send_block(c, &b);
    };
    "hpack 5.2/1" "a Huffman string holding EOS" => GoAway(COMPRESSION_ERROR), |c| {
        let f = [&[0x00, 0x03][..], b"x-h", &[0x84, 0xff, 0xff, 0xff, 0xff]].concat();
        send_block(c, &get_with(c, &f));
    };
    "hpack 5.2/2" "Huffman padding longer than 7 bits" => GoAway(COMPRESSION_ERROR), |c| {
        let f = [&[0x00, 0x03][..], b"x-h", &[0x82, 0x1f, 0xff]].concat();
        send_block(c, &get_with(c, &f));
    };
    "hpack 5.2/3" "Huffman padding not of ones" => GoAway(COMPRESSION_ERROR), |c| {
        let f = [&[0x00, 0x03][..], b"x-h", &[0x81, 0x00]].concat();
        send_block(c, &get_with(c, &f));
    };
    "hpack 6.1/1" "an indexed field of index 0" => GoAway(COMPRESSION_ERROR),
        |c| send_block(c, &get_with(c, &[0x80]));
    "hpack 6.3/1" "a table size update after a field" => GoAway(COMPRESSION_ERROR), |c| {
        let mut f = Vec::new();
        hpack_size_update(&mut f, 100);
        send_block(c, &get_with(c, &f));
    };
    "hpack 6.2.1/1" "a field indexed on one stream is used on the next" => Status(3, 200), |c| {
        let mut b = get_block(c, "/");
        hpack_indexed_literal(&mut b, "x-indexed", b"yes");
        send_block(c, &b);
        c.response(1);
        let mut b = Vec::new();
        hpack_size_update(&mut b, 4096);
        b.extend(get_block(c, "/"));
        hpack_indexed(&mut b, 62);
        put(c, &headers(3, END_STREAM | END_HEADERS, &b));
    };
];

#[test]
fn hpack_decoding() {
    run_group(HPACK);
}

/// The `:authority` as a literal without indexing whose name is static index 1.
fn authority_field(c: &Conn, out: &mut Vec<u8>) {
    hpack_int(out, 4, 0x00, 1);
    hpack_str(out, c.authority.as_bytes());
}

/// h2spec's generic cases: what a well-behaved client does must work.
const GENERIC: &[Case] = cases![
    "generic 2/1" "a POST whose body is in three DATA frames" => Status(1, 200), |c| {
        open_post(c, 1);
        put(c, &[data(1, 0, b"ab"), data(1, 0, b"cd"), data(1, END_STREAM, b"e")].concat());
    };
    "generic 2/2" "a stream the client reset, then a new one" => Status(3, 200), |c| {
        open_post(c, 1);
        put(c, &rst_stream(1, CANCEL));
        c.get(3, "/");
    };
    "generic 3/1" "WINDOW_UPDATE on the connection and the stream" => Status(1, 200), |c| {
        put(c, &window_update(0, 1000));
        open_post(c, 1);
        put(c, &window_update(1, 1000));
        put(c, &data(1, END_STREAM, b"x"));
    };
    "generic 5/1" "static table indexed fields" => Status(1, 200), |c| {
        let mut b = vec![0x82, 0x86, 0x84];
        authority_field(c, &mut b);
        send_block(c, &b);
    };
    "generic 5/2" "a literal with incremental indexing and an indexed name" => Status(3, 200),
        |c| {
        let mut b = vec![0x82, 0x86, 0x84, 0x41];
        hpack_str(&mut b, c.authority.as_bytes());
        send_block(c, &b);
        c.response(1);
        put(c, &headers(3, END_STREAM | END_HEADERS, &[0x82, 0x86, 0x84, 0xbe]));
    };
    "generic 5/3" "a literal never indexed" => Status(1, 200), |c| {
        let mut b = get_block(c, "/");
        b.push(0x10);
        hpack_str(&mut b, b"x-secret");
        hpack_str(&mut b, b"1");
        send_block(c, &b);
    };
    "generic 5/4" "a Huffman-coded value" => Status(1, 200), |c| {
        // "www.example.com" (RFC 7541 C.4.1).
        let huff = [0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90, 0xf4, 0xff];
        let f = [&[0x00, 0x03][..], b"x-h", &[0x80 | huff.len() as u8], &huff].concat();
        send_block(c, &get_with(c, &f));
    };
    "generic 5/5" "a table size update to 0 first" => Status(1, 200), |c| {
        let mut b = Vec::new();
        hpack_size_update(&mut b, 0);
        b.extend(get_block(c, "/"));
        send_block(c, &b);
    };
];

#[test]
fn generic_exchanges() {
    run_group(GENERIC);
}

/// §6.9.2 and §5.1.2 end to end: a 1-octet window, a 100 KiB file through 1 KiB
/// windows, five concurrent streams answered, the sixth refused (H2MaxSessionStreams 5).
#[test]
fn flow_control_and_concurrency() {
    let big: Vec<u8> = (0..100 * 1024).map(|i| (i % 251) as u8).collect();
    for (transport, mpm) in ALL {
        let t = Target::start(transport, mpm, "H2MaxSessionStreams 5\n");
        t.write("ten.txt", "0123456789");
        t.write("big.bin", &big);
        for i in 1..=5 {
            t.write(&format!("f{i}.txt"), format!("file {i}\n"));
        }
        let n = &t.name;
        // SETTINGS_INITIAL_WINDOW_SIZE 1: one octet per window.
        let mut c = t.open_with(&[(INITIAL_WINDOW_SIZE, 1)]);
        assert_eq!(c.server_setting(MAX_CONCURRENT_STREAMS), Some(5), "{n}");
        c.auto_window = false;
        c.get(1, "/ten.txt");
        let mut got = Vec::new();
        for round in 0..10 {
            let f = loop {
                let f = c
                    .read_frame(WAIT)
                    .unwrap_or_else(|e| panic!("{n} round {round}: {e:?}"));
                if f.ty == DATA {
                    break f;
                }
                assert!(f.ty == HEADERS || f.ty == WINDOW_UPDATE, "{n}: {f:?}");
            };
            assert_eq!(
                (f.stream, f.payload.len()),
                (1, 1),
                "{n}: round {round}: {f:?}"
            );
            got.extend_from_slice(&f.payload);
            if round < 9 {
                // Nothing more until the window opens again.
                match c.read_frame(Duration::from_millis(300)) {
                    Err(ReadError::Timeout) => {}
                    other => panic!("{n}: a frame past the window: {other:?}"),
                }
                put(&mut c, &window_update(1, 1));
            } else {
                assert!(
                    f.has(END_STREAM) || c.read_frame(WAIT).is_ok_and(|f| f.has(END_STREAM)),
                    "{n}"
                );
            }
        }
        assert_eq!(got, b"0123456789", "{n}");
        assert_eq!(c.status(1), Some(200), "{n}");
        // A 100 KiB file through 1 KiB stream windows, given back frame by frame.
        let mut c = t.open_with(&[(INITIAL_WINDOW_SIZE, 1024)]);
        c.get(1, "/big.bin");
        assert_eq!(c.response(1), (200, big.clone()), "{n}: big file");
        // Five concurrent streams on one connection, answered.
        let mut c = t.open();
        for i in 1..=5u32 {
            c.get(2 * i - 1, &format!("/f{i}.txt"));
        }
        for i in 1..=5u32 {
            let want = format!("file {i}\n").into_bytes();
            assert_eq!(
                c.response(2 * i - 1),
                (200, want),
                "{n}: stream {}",
                2 * i - 1
            );
        }
        // Five POSTs left open hold the streams; the sixth is refused, and once one
        // ends, a new one is served.
        let mut c = t.open();
        for s in [1, 3, 5, 7, 9, 11] {
            open_post(&mut c, s);
        }
        assert_eq!(c.expect_rst(11), Ok(REFUSED_STREAM), "{n}: sixth stream");
        put(&mut c, &data(1, END_STREAM, b"abc"));
        assert_eq!(c.response(1), (200, b"len=3".to_vec()), "{n}");
        c.get(13, "/f1.txt");
        assert_eq!(c.response(13).0, 200, "{n}: a stream after one ended");
    }
}

/// HEAD, Range (206), If-None-Match (304), and `:authority` choosing a name-based
/// virtual host over h2c.
#[test]
fn http_features_over_h2() {
    for (transport, mpm) in ALL {
        let t = Target::start(transport, mpm, "");
        let n = &t.name;
        t.write("r.txt", "0123456789abcdef");
        let a = t.authority();
        let mut c = t.open();
        let req = |fields: &[(&str, &str)]| {
            let mut f = vec![
                (":method", "GET"),
                (":scheme", "http"),
                (":authority", a),
                (":path", "/r.txt"),
            ];
            f.extend_from_slice(fields);
            headers_block(&f)
        };
        let head = headers_block(&[
            (":method", "HEAD"),
            (":scheme", "http"),
            (":authority", a),
            (":path", "/r.txt"),
        ]);
        put(&mut c, &headers(1, END_STREAM | END_HEADERS, &head));
        assert_eq!(c.response(1), (200, Vec::new()), "{n}: HEAD");
        assert_eq!(c.header(1, "content-length").as_deref(), Some("16"), "{n}");
        let etag = c
            .header(1, "etag")
            .unwrap_or_else(|| panic!("{n}: no ETag"));
        put(
            &mut c,
            &headers(3, END_STREAM | END_HEADERS, &req(&[("range", "bytes=2-5")])),
        );
        assert_eq!(c.response(3), (206, b"2345".to_vec()), "{n}: Range");
        assert_eq!(
            c.header(3, "content-range").as_deref(),
            Some("bytes 2-5/16"),
            "{n}"
        );
        put(
            &mut c,
            &headers(
                5,
                END_STREAM | END_HEADERS,
                &req(&[("if-none-match", &etag)]),
            ),
        );
        assert_eq!(c.response(5), (304, Vec::new()), "{n}: If-None-Match");
    }
    for mpm in [dynamic_support::WORKER, dynamic_support::EVENT] {
        let site_a = tempfile::tempdir().unwrap();
        let site_b = tempfile::tempdir().unwrap();
        std::fs::write(site_a.path().join("index.html"), "vhost a\n").unwrap();
        std::fs::write(site_b.path().join("index.html"), "vhost b\n").unwrap();
        let s = common::Server::start_fn_with(
            |port| {
                format!(
                    "{}LoadModule http2_module x\nProtocols h2 h2c http/1.1\n\
                     <VirtualHost 127.0.0.1:{port}>\nServerName a.test\nDocumentRoot \"{}\"\n</VirtualHost>\n\
                     <VirtualHost 127.0.0.1:{port}>\nServerName b.test\nDocumentRoot \"{}\"\n</VirtualHost>\n",
                    mpm.conf,
                    site_a.path().display(),
                    site_b.path().display()
                )
            },
            mpm.args,
        );
        let mut c = connect_h2c(s.port);
        c.handshake();
        c.authority = "b.test".into();
        c.get(1, "/");
        assert_eq!(c.response(1), (200, b"vhost b\n".to_vec()), "{}", mpm.conf);
        c.authority = "a.test".into();
        c.get(3, "/");
        assert_eq!(c.response(3), (200, b"vhost a\n".to_vec()), "{}", mpm.conf);
    }
}
