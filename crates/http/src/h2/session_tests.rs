//! Tests of the server session: a small test client builds frames with the frame
//! encoders and an HPACK encoder, and decodes what the session writes.

use std::time::Instant;

use http::{HeaderValue, StatusCode};

use super::session::{Preface, base64url_decode};
use super::*;
use crate::RequestHead;
use crate::hpack;
use crate::types::{BodyFraming, HeaderMap, Limits};

/// A frame the session wrote, owned, with field blocks decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Out {
    Settings(Vec<Setting>),
    SettingsAck,
    Headers {
        stream: u32,
        end_stream: bool,
        fields: Vec<(String, String)>,
    },
    Data {
        stream: u32,
        data: Vec<u8>,
        end_stream: bool,
    },
    Rst(u32, ErrorCode),
    GoAway(u32, ErrorCode),
    WindowUpdate(u32, u32),
    PingAck([u8; 8]),
}

/// The client side of a test connection.
pub(super) struct Client {
    enc: hpack::Encoder,
    dec: hpack::Decoder,
    pending: Option<(u32, bool, Vec<u8>)>,
}

impl Client {
    pub(super) fn new() -> Self {
        Client {
            enc: hpack::Encoder::new(),
            dec: hpack::Decoder::new(4096),
            pending: None,
        }
    }

    /// The preface and an empty SETTINGS.
    pub(super) fn preface(&self) -> Vec<u8> {
        let mut out = PREFACE.to_vec();
        encode_settings(&mut out, &[]);
        out
    }

    /// A field block, encoded.
    pub(super) fn block(&mut self, fields: &[(&str, &str)]) -> Vec<u8> {
        let mut block = Vec::new();
        self.enc
            .encode(fields.iter().map(|(n, v)| (n, v, false)), &mut block);
        block
    }

    /// HEADERS (with CONTINUATIONs if over 16384 octets).
    pub(super) fn headers(&mut self, stream: u32, fields: &[(&str, &str)], end: bool) -> Vec<u8> {
        let block = self.block(fields);
        let mut out = Vec::new();
        encode_headers(&mut out, stream, &block, end, DEFAULT_MAX_FRAME_SIZE);
        out
    }

    pub(super) fn get(&mut self, stream: u32, path: &str) -> Vec<u8> {
        self.headers(stream, &request_fields("GET", path), true)
    }

    /// Decodes the session's output.
    pub(super) fn read(&mut self, mut buf: &[u8]) -> Vec<Out> {
        let mut frames = Vec::new();
        while !buf.is_empty() {
            let (frame, n) = decode_frame(buf, LARGEST_MAX_FRAME_SIZE)
                .expect("the session writes valid frames")
                .expect("the session writes whole frames");
            let out = match frame {
                Frame::Settings(s) if s.is_ack() => Some(Out::SettingsAck),
                Frame::Settings(s) => Some(Out::Settings(s.iter().collect())),
                Frame::Headers(h) => {
                    assert!(self.pending.is_none(), "HEADERS inside a block");
                    self.pending = Some((h.stream_id, h.end_stream, h.fragment.to_vec()));
                    if h.end_headers { self.finish() } else { None }
                }
                Frame::Continuation(c) => {
                    let pending = self.pending.as_mut().expect("CONTINUATION after HEADERS");
                    assert_eq!(pending.0, c.stream_id);
                    pending.2.extend_from_slice(c.fragment);
                    if c.end_headers { self.finish() } else { None }
                }
                Frame::Data(d) => Some(Out::Data {
                    stream: d.stream_id,
                    data: d.data.to_vec(),
                    end_stream: d.end_stream,
                }),
                Frame::RstStream(r) => Some(Out::Rst(r.stream_id, r.error_code)),
                Frame::GoAway(g) => Some(Out::GoAway(g.last_stream_id, g.error_code)),
                Frame::WindowUpdate(w) => Some(Out::WindowUpdate(w.stream_id, w.increment)),
                Frame::Ping(p) if p.ack => Some(Out::PingAck(p.opaque_data)),
                other => panic!("the session wrote {other:?}"),
            };
            frames.extend(out);
            buf = &buf[n..];
        }
        frames
    }

    fn finish(&mut self) -> Option<Out> {
        let (stream, end_stream, block) = self.pending.take()?;
        let fields = self
            .dec
            .decode_owned(&block, usize::MAX)
            .expect("the session's blocks decode");
        Some(Out::Headers {
            stream,
            end_stream,
            fields: fields
                .into_iter()
                .map(|f| {
                    (
                        String::from_utf8(f.name).unwrap(),
                        String::from_utf8(f.value).unwrap(),
                    )
                })
                .collect(),
        })
    }
}

pub(super) fn request_fields<'a>(method: &'a str, path: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        (":method", method),
        (":scheme", "https"),
        (":authority", "example.com"),
        (":path", path),
    ]
}

pub(super) fn data(stream: u32, payload: &[u8], end: bool) -> Vec<u8> {
    let mut out = Vec::new();
    encode_data(&mut out, stream, payload, end);
    out
}

pub(super) fn frame(f: Frame<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    f.encode(&mut out);
    out
}

pub(super) fn window_update(stream: u32, increment: u32) -> Vec<u8> {
    let mut out = Vec::new();
    encode_window_update(&mut out, stream, increment);
    out
}

pub(super) fn rst(stream: u32, code: ErrorCode) -> Vec<u8> {
    let mut out = Vec::new();
    encode_rst_stream(&mut out, stream, code);
    out
}

pub(super) fn settings(list: &[Setting]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_settings(&mut out, list);
    out
}

pub(super) fn ping(data: [u8; 8]) -> Vec<u8> {
    frame(Frame::Ping(Ping {
        ack: false,
        opaque_data: data,
    }))
}

/// A session and a client that completed the preface exchange.
pub(super) struct Conn {
    pub(super) s: ServerSession,
    pub(super) c: Client,
    pub(super) now: Instant,
}

impl Conn {
    pub(super) fn new() -> Self {
        Self::with(SessionSettings::default())
    }

    pub(super) fn with(settings: SessionSettings) -> Self {
        let mut conn = Conn {
            s: ServerSession::new(settings),
            c: Client::new(),
            now: Instant::now(),
        };
        let preface = conn.c.preface();
        conn.send(&preface).unwrap();
        let mut ack = Vec::new();
        encode_settings_ack(&mut ack);
        conn.send(&ack).unwrap();
        conn.out();
        conn
    }

    pub(super) fn send(&mut self, bytes: &[u8]) -> Result<(), SessionError> {
        self.s.recv(bytes, self.now)
    }

    pub(super) fn send_get(&mut self, stream: u32, path: &str) -> Result<(), SessionError> {
        let h = self.c.get(stream, path);
        self.send(&h)
    }

    pub(super) fn out(&mut self) -> Vec<Out> {
        let bytes = self.s.take_output();
        self.c.read(&bytes)
    }

    pub(super) fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.s.poll_event()).collect()
    }

    pub(super) fn request(&mut self) -> (u32, RequestHead, bool) {
        match self.events().as_slice() {
            [
                Event::Request {
                    stream_id,
                    head,
                    end_stream,
                },
            ] => (*stream_id, head.clone(), *end_stream),
            other => panic!("expected one request, got {other:?}"),
        }
    }

    /// The connection error the bytes cause, and the GOAWAY written for it.
    pub(super) fn fails(&mut self, bytes: &[u8]) -> ErrorCode {
        let e = self.send(bytes).expect_err("a connection error");
        let out = self.out();
        assert!(
            out.contains(&Out::GoAway(self.s.last_stream_id, e.code)),
            "no GOAWAY {:?} in {out:?}",
            e.code
        );
        assert!(self.s.wants_close() && self.s.is_done());
        e.code
    }

    /// The stream error the bytes cause.
    pub(super) fn resets(&mut self, bytes: &[u8]) -> (u32, ErrorCode) {
        self.send(bytes).expect("no connection error");
        let rsts: Vec<_> = self
            .out()
            .into_iter()
            .filter_map(|o| match o {
                Out::Rst(s, c) => Some((s, c)),
                _ => None,
            })
            .collect();
        assert_eq!(rsts.len(), 1, "expected one RST_STREAM, got {rsts:?}");
        rsts[0]
    }
}

#[test]
fn preface_and_settings_exchange() {
    let mut s = ServerSession::new(SessionSettings::default());
    let mut c = Client::new();
    let out = c.read(&s.take_output());
    assert_eq!(
        out,
        [
            Out::Settings(vec![
                Setting::MaxConcurrentStreams(100),
                Setting::MaxHeaderListSize(65536),
            ]),
            Out::WindowUpdate(0, (1 << 20) - 65535),
        ]
    );
    let now = Instant::now();
    let mut input = PREFACE.to_vec();
    input.extend(settings(&[Setting::InitialWindowSize(1000)]));
    // Byte by byte: the preface and the frame are put together.
    for b in &input {
        s.recv(std::slice::from_ref(b), now).unwrap();
    }
    assert_eq!(c.read(&s.take_output()), [Out::SettingsAck]);
    assert_eq!(s.peer_initial_window, 1000);
}

#[test]
fn s3_4_invalid_preface_and_first_frame() {
    let mut s = ServerSession::new(SessionSettings::default());
    s.take_output();
    let e = s.recv(b"GET / HTTP/1.1\r\n", Instant::now()).unwrap_err();
    assert_eq!(e.code, ErrorCode::ProtocolError);
    assert!(s.is_done() == s.output().is_empty());
    // After the magic, the first frame must be SETTINGS.
    let mut s = ServerSession::new(SessionSettings::default());
    let mut input = PREFACE.to_vec();
    input.extend(ping([0; 8]));
    assert_eq!(
        s.recv(&input, Instant::now()).unwrap_err().code,
        ErrorCode::ProtocolError
    );
    // Errors stay.
    assert!(s.recv(b"", Instant::now()).is_err());
}

#[test]
fn preface_partly_consumed_by_the_h1_sniffer() {
    for consumed in [0, 5, 24, 99] {
        let mut s = ServerSession::with_preface_consumed(SessionSettings::default(), consumed);
        let c = Client::new();
        let preface = c.preface();
        let rest = &preface[consumed.min(24)..];
        s.recv(rest, Instant::now()).unwrap();
        assert!(s.error().is_none(), "consumed {consumed}");
        assert_eq!(s.preface, Preface::Done);
    }
}

#[test]
fn get_request_and_response() {
    let mut conn = Conn::new();
    let mut fields = request_fields("GET", "/a/b?x=1");
    fields.push(("user-agent", "t"));
    fields.push(("cookie", "a=1"));
    fields.push(("cookie", "b=2"));
    let h = conn.c.headers(1, &fields, true);
    conn.send(&h).unwrap();
    let (id, head, end) = conn.request();
    assert_eq!((id, end), (1, true));
    assert_eq!(head.method, http::Method::GET);
    assert_eq!(head.version, http::Version::HTTP_2);
    assert_eq!(head.path, "/a/b");
    assert_eq!(head.query.as_deref(), Some("x=1"));
    assert_eq!(head.raw_target, "/a/b?x=1");
    assert_eq!(head.host.as_deref(), Some("example.com"));
    assert_eq!(head.headers["host"], "example.com");
    assert_eq!(head.headers["cookie"], "a=1; b=2");
    assert_eq!(head.request_line, "GET /a/b?x=1 HTTP/2.0");
    assert_eq!(head.body, BodyFraming::None);

    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("text/plain"));
    // Connection-specific fields are dropped.
    headers.insert("connection", HeaderValue::from_static("close"));
    headers.insert("transfer-encoding", HeaderValue::from_static("chunked"));
    conn.s.respond(1, StatusCode::OK, &headers, false).unwrap();
    assert_eq!(conn.s.send_data(1, b"hello", true), Ok(5));
    assert_eq!(
        conn.out(),
        [
            Out::Headers {
                stream: 1,
                end_stream: false,
                fields: vec![
                    (":status".into(), "200".into()),
                    ("content-type".into(), "text/plain".into()),
                ],
            },
            Out::Data {
                stream: 1,
                data: b"hello".to_vec(),
                end_stream: true,
            },
        ]
    );
    assert_eq!(conn.s.open_streams(), 0);
    assert_eq!(
        conn.s.send_data(1, b"x", true),
        Err(SendError::UnknownStream)
    );
    assert!(!conn.s.wants_close());
}

#[test]
fn post_body_over_data_frames_and_window_updates() {
    let mut conn = Conn::with(SessionSettings {
        connection_window_size: 65535,
        ..SessionSettings::default()
    });
    let mut fields = request_fields("POST", "/up");
    fields.push(("content-length", "60000"));
    let h = conn.c.headers(1, &fields, false);
    conn.send(&h).unwrap();
    let (_, head, end) = conn.request();
    assert!(!end);
    assert_eq!(head.body, BodyFraming::Length(60000));
    let chunk = vec![7u8; 15000];
    let mut body = Vec::new();
    for i in 0..4 {
        body.extend(data(1, &chunk, i == 3));
    }
    conn.send(&body).unwrap();
    let events = conn.events();
    // Coalesced into one event.
    let got: usize = events
        .iter()
        .map(|e| match e {
            Event::Data { data, .. } => data.len(),
            other => panic!("{other:?}"),
        })
        .sum();
    assert_eq!(got, 60000);
    assert!(matches!(
        events.last(),
        Some(Event::Data {
            end_stream: true,
            ..
        })
    ));
    // Nothing is given back before the caller releases it.
    assert_eq!(conn.out(), []);
    conn.s.release_capacity(1, 40000);
    // Half the connection window: a connection WINDOW_UPDATE; the stream is half-closed
    // (remote), so no stream update.
    assert_eq!(conn.out(), [Out::WindowUpdate(0, 40000)]);
    conn.s.release_capacity(1, 20000);
    assert_eq!(conn.out(), []);
    // Beyond the stream's window: the client sends more than we granted.
    let mut conn = Conn::with(SessionSettings {
        initial_window_size: 1000,
        ..SessionSettings::default()
    });
    let h = conn.c.headers(3, &request_fields("POST", "/x"), false);
    conn.send(&h).unwrap();
    conn.events();
    let mut input = data(3, &[0; 600], false);
    input.extend(data(3, &[0; 401], false));
    assert_eq!(conn.resets(&input), (3, ErrorCode::FlowControlError));
}

#[test]
fn s6_9_connection_window_exceeded_is_a_connection_error() {
    let mut conn = Conn::with(SessionSettings {
        connection_window_size: 65535,
        initial_window_size: MAX_WINDOW_SIZE,
        ..SessionSettings::default()
    });
    let mut input = Vec::new();
    for id in [1, 3] {
        input.extend(conn.c.headers(id, &request_fields("POST", "/"), false));
    }
    conn.send(&input).unwrap();
    let mut flood = Vec::new();
    for id in [1, 3, 1, 3, 1] {
        flood.extend(data(id, &[0; 16000], false));
    }
    assert_eq!(conn.fails(&flood), ErrorCode::FlowControlError);
}

#[test]
fn stream_window_updates_are_batched() {
    let mut conn = Conn::new();
    let h = conn.c.headers(1, &request_fields("PUT", "/"), false);
    conn.send(&h).unwrap();
    conn.events();
    conn.send(&data(1, &[1; 10000], false)).unwrap();
    conn.events();
    conn.s.release_capacity(1, 10000);
    assert_eq!(conn.out(), []);
    let mut more = data(1, &[1; 15000], false);
    more.extend(data(1, &[1; 15000], false));
    conn.send(&more).unwrap();
    conn.events();
    // More than was received is not given back.
    conn.s.release_capacity(1, 100_000);
    assert_eq!(conn.out(), [Out::WindowUpdate(1, 40000)]);
}

#[test]
fn response_larger_than_the_window_waits_for_window_update() {
    let mut conn = Conn::new();
    conn.send_get(1, "/big").unwrap();
    conn.events();
    conn.s
        .respond(1, StatusCode::OK, &HeaderMap::new(), false)
        .unwrap();
    let body = vec![b'x'; 100_000];
    let n = conn.s.send_data(1, &body, true).unwrap();
    assert_eq!(n, 65535);
    assert!(conn.s.writable_streams().is_empty());
    let out = conn.out();
    let sent: usize = out
        .iter()
        .map(|o| match o {
            Out::Data {
                data, end_stream, ..
            } => {
                assert!(data.len() <= 16384 && !end_stream);
                data.len()
            }
            _ => 0,
        })
        .sum();
    assert_eq!(sent, 65535);
    // The stream's window opens, the connection's does not: still blocked.
    conn.send(&window_update(1, 50000)).unwrap();
    assert!(conn.s.writable_streams().is_empty());
    assert_eq!(conn.s.send_data(1, &body[n..], true), Ok(0));
    conn.send(&window_update(0, 50000)).unwrap();
    assert_eq!(conn.s.writable_streams(), [1]);
    assert_eq!(conn.s.send_data(1, &body[n..], true), Ok(100_000 - 65535));
    let out = conn.out();
    assert!(matches!(
        out.last(),
        Some(Out::Data {
            end_stream: true,
            ..
        })
    ));
    assert_eq!(conn.s.open_streams(), 0);
}

#[test]
fn s6_9_2_initial_window_size_change_mid_stream() {
    let mut conn = Conn::new();
    conn.send_get(1, "/").unwrap();
    conn.events();
    conn.s
        .respond(1, StatusCode::OK, &HeaderMap::new(), false)
        .unwrap();
    conn.send(&settings(&[Setting::InitialWindowSize(100)]))
        .unwrap();
    assert_eq!(conn.out().last(), Some(&Out::SettingsAck));
    assert_eq!(conn.s.send_data(1, &[0; 300], false), Ok(100));
    // Lowered below what was sent: the window goes negative.
    conn.send(&settings(&[Setting::InitialWindowSize(50)]))
        .unwrap();
    assert_eq!(conn.s.send_capacity(1), 0);
    conn.send(&window_update(1, 60)).unwrap();
    assert_eq!(conn.s.send_capacity(1), 10);
    conn.send(&settings(&[Setting::InitialWindowSize(1050)]))
        .unwrap();
    assert_eq!(conn.s.send_capacity(1), 1010);
    conn.out();
    // Raised past 2^31-1: FLOW_CONTROL_ERROR.
    conn.send(&window_update(1, MAX_WINDOW_SIZE - 2000))
        .unwrap();
    let e = conn.fails(&settings(&[Setting::InitialWindowSize(MAX_WINDOW_SIZE)]));
    assert_eq!(e, ErrorCode::FlowControlError);
}

#[test]
fn peer_max_frame_size_and_header_table_size_apply() {
    let mut conn = Conn::new();
    conn.send(&settings(&[
        Setting::MaxFrameSize(20000),
        Setting::HeaderTableSize(0),
    ]))
    .unwrap();
    conn.send(&window_update(0, 100_000)).unwrap();
    conn.send_get(1, "/").unwrap();
    conn.events();
    conn.out();
    conn.s
        .respond(1, StatusCode::OK, &HeaderMap::new(), false)
        .unwrap();
    conn.s.send_data(1, &[1; 30000], true).unwrap();
    let bytes = conn.s.take_output();
    // The header block starts with a table size update to 0 (0x20).
    let (Frame::Headers(h), n) = decode_frame(&bytes, LARGEST_MAX_FRAME_SIZE)
        .unwrap()
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(h.fragment[0], 0x20);
    let (Frame::Data(d), _) = decode_frame(&bytes[n..], LARGEST_MAX_FRAME_SIZE)
        .unwrap()
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(d.data.len(), 20000);
}

#[test]
fn max_concurrent_streams_refuses_with_refused_stream() {
    let mut conn = Conn::with(SessionSettings {
        max_concurrent_streams: 2,
        ..SessionSettings::default()
    });
    let mut input = Vec::new();
    for id in [1, 3, 5] {
        input.extend(conn.c.get(id, "/"));
    }
    assert_eq!(conn.resets(&input), (5, ErrorCode::RefusedStream));
    assert_eq!(conn.events().len(), 2);
    // Once one is done, another is accepted.
    conn.s
        .respond(1, StatusCode::NO_CONTENT, &HeaderMap::new(), true)
        .unwrap();
    conn.send_get(7, "/").unwrap();
    assert_eq!(conn.request().0, 7);
}

#[test]
fn graceful_shutdown_lets_in_flight_streams_finish() {
    let mut conn = Conn::new();
    let mut input = conn.c.get(1, "/");
    input.extend(conn.c.get(3, "/"));
    conn.send(&input).unwrap();
    assert_eq!(conn.events().len(), 2);
    conn.s.graceful_shutdown();
    assert_eq!(conn.out(), [Out::GoAway(3, ErrorCode::NoError)]);
    // A stream opened after the GOAWAY is ignored (its HPACK block still decoded).
    conn.send_get(5, "/").unwrap();
    assert!(conn.events().is_empty());
    conn.send(&data(5, b"late", true)).unwrap();
    assert_eq!(conn.out(), []);
    conn.s
        .respond(1, StatusCode::OK, &HeaderMap::new(), true)
        .unwrap();
    assert!(!conn.s.wants_close());
    conn.s
        .respond(3, StatusCode::OK, &HeaderMap::new(), false)
        .unwrap();
    conn.s.send_data(3, b"end", true).unwrap();
    assert!(conn.s.wants_close() && !conn.s.is_done());
    assert_eq!(conn.out().len(), 3);
    assert!(conn.s.is_done());
}

#[test]
fn client_goaway_closes_when_streams_are_done() {
    let mut conn = Conn::new();
    conn.send_get(1, "/").unwrap();
    let mut g = Vec::new();
    encode_goaway(&mut g, 0, ErrorCode::NoError, b"bye");
    conn.send(&g).unwrap();
    let events = conn.events();
    assert!(
        matches!(&events[1], Event::GoAway { code: ErrorCode::NoError, debug_data, .. } if debug_data == b"bye")
    );
    assert!(!conn.s.wants_close());
    conn.s
        .respond(1, StatusCode::OK, &HeaderMap::new(), true)
        .unwrap();
    assert!(conn.s.wants_close());
}

#[test]
fn trailers_both_ways() {
    let mut conn = Conn::new();
    let h = conn.c.headers(1, &request_fields("POST", "/t"), false);
    conn.send(&h).unwrap();
    conn.send(&data(1, b"body", false)).unwrap();
    let t = conn.c.headers(1, &[("x-checksum", "abc")], true);
    conn.send(&t).unwrap();
    let events = conn.events();
    assert!(
        matches!(&events[2], Event::Trailers { stream_id: 1, headers } if headers["x-checksum"] == "abc")
    );
    conn.s.release_capacity(1, 4);
    conn.s
        .respond(1, StatusCode::OK, &HeaderMap::new(), false)
        .unwrap();
    conn.s.send_data(1, b"ok", false).unwrap();
    let mut trailers = HeaderMap::new();
    trailers.insert("grpc-status", HeaderValue::from_static("0"));
    conn.s.send_trailers(1, &trailers).unwrap();
    let out = conn.out();
    assert_eq!(
        out.last(),
        Some(&Out::Headers {
            stream: 1,
            end_stream: true,
            fields: vec![("grpc-status".into(), "0".into())],
        })
    );
    assert_eq!(conn.s.open_streams(), 0);
    // Trailers without END_STREAM, or with a pseudo-header: PROTOCOL_ERROR.
    for (fields, end) in [(vec![("x", "y")], false), (vec![(":path", "/")], true)] {
        let mut conn = Conn::new();
        let h = conn.c.headers(1, &request_fields("POST", "/t"), false);
        conn.send(&h).unwrap();
        let t = conn.c.headers(1, &fields, end);
        assert_eq!(conn.resets(&t), (1, ErrorCode::ProtocolError));
    }
}

#[test]
fn response_api_misuse() {
    let mut conn = Conn::new();
    conn.send_get(1, "/").unwrap();
    conn.events();
    let h = HeaderMap::new();
    assert_eq!(conn.s.send_data(1, b"x", false), Err(SendError::NoResponse));
    assert_eq!(conn.s.send_trailers(1, &h), Err(SendError::NoResponse));
    assert_eq!(
        conn.s
            .respond(1, StatusCode::SWITCHING_PROTOCOLS, &h, false),
        Err(SendError::InvalidStatus)
    );
    assert_eq!(
        conn.s.respond(1, StatusCode::CONTINUE, &h, true),
        Err(SendError::InvalidStatus)
    );
    conn.s
        .respond(1, StatusCode::EARLY_HINTS, &h, false)
        .unwrap();
    conn.s.respond(1, StatusCode::OK, &h, false).unwrap();
    assert_eq!(
        conn.s.respond(1, StatusCode::OK, &h, false),
        Err(SendError::AlreadyResponded)
    );
    assert_eq!(
        conn.s.respond(3, StatusCode::OK, &h, false),
        Err(SendError::UnknownStream)
    );
    assert_eq!(conn.s.send_data(1, b"", true), Ok(0));
    assert!(matches!(
        conn.out().last(),
        Some(Out::Data {
            end_stream: true,
            ..
        })
    ));
}

#[test]
fn response_before_the_body_ends_resets_with_no_error() {
    let mut conn = Conn::new();
    let h = conn.c.headers(1, &request_fields("POST", "/"), false);
    conn.send(&h).unwrap();
    conn.send(&data(1, b"part", false)).unwrap();
    conn.events();
    conn.s
        .respond(1, StatusCode::PAYLOAD_TOO_LARGE, &HeaderMap::new(), true)
        .unwrap();
    let out = conn.out();
    assert_eq!(out.last(), Some(&Out::Rst(1, ErrorCode::NoError)));
    // The unreleased body went back to the connection; later DATA is ignored.
    conn.send(&data(1, b"more", true)).unwrap();
    assert_eq!(conn.out(), []);
    assert_eq!(conn.s.open_streams(), 0);
}

#[test]
fn h2c_upgrade_start() {
    // HTTP2-Settings: SETTINGS_INITIAL_WINDOW_SIZE = 1000, base64url without padding.
    let payload = [0x00, 0x04, 0x00, 0x00, 0x03, 0xe8];
    let value = b"AAQAAAPo";
    assert_eq!(base64url_decode(value).unwrap(), payload);
    let head = crate::parse_request_head(
        b"GET /up HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nHTTP2-Settings: AAQAAAPo\r\n\r\n",
        &Limits::default(),
    )
    .unwrap()
    .unwrap();
    let mut s = ServerSession::new_upgraded(SessionSettings::default(), value, head).unwrap();
    let mut c = Client::new();
    assert!(matches!(
        s.poll_event(),
        Some(Event::Request { stream_id: 1, end_stream: true, ref head }) if head.path == "/up"
    ));
    assert_eq!(s.peer_initial_window, 1000);
    let now = Instant::now();
    s.recv(&c.preface(), now).unwrap();
    s.respond(1, StatusCode::OK, &HeaderMap::new(), false)
        .unwrap();
    assert_eq!(s.send_data(1, &[0; 2000], true), Ok(1000));
    let out = c.read(&s.take_output());
    assert!(matches!(out[0], Out::Settings(_)));
    assert!(out.contains(&Out::SettingsAck));
    // Stream 1 is used: the client's next stream is 3.
    s.recv(&c.get(3, "/next"), now).unwrap();
    assert!(matches!(
        s.poll_event(),
        Some(Event::Request { stream_id: 3, .. })
    ));
    // A bad HTTP2-Settings value.
    let head = crate::parse_request_head(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", &Limits::default())
        .unwrap()
        .unwrap();
    assert!(ServerSession::new_upgraded(SessionSettings::default(), b"A!", head.clone()).is_err());
    // SETTINGS_ENABLE_PUSH = 2 is invalid.
    assert!(ServerSession::new_upgraded(SessionSettings::default(), b"AAIAAAAC", head).is_err());
}

#[test]
fn our_settings_apply_once_acknowledged() {
    let mut s = ServerSession::new(SessionSettings {
        initial_window_size: 1000,
        header_table_size: 0,
        ..SessionSettings::default()
    });
    let mut c = Client::new();
    let now = Instant::now();
    s.recv(&c.preface(), now).unwrap();
    // Before the ACK the client may use 65535 on a stream.
    let h = c.headers(1, &request_fields("POST", "/"), false);
    s.recv(&h, now).unwrap();
    s.recv(&data(1, &[0; 5000], false), now).unwrap();
    let mut ack = Vec::new();
    encode_settings_ack(&mut ack);
    s.recv(&ack, now).unwrap();
    // 65535 - 5000 + (1000 - 65535): the stream's window is now negative.
    assert_eq!(s.streams[&1].recv_window, 1000 - 5000);
    s.take_output();
    s.recv(&data(1, &[0; 1], false), now).unwrap();
    let mut rst = Vec::new();
    encode_rst_stream(&mut rst, 1, ErrorCode::FlowControlError);
    assert_eq!(s.take_output(), rst);
    // The decoder now refuses a block without the size update to 0.
    let h = c.get(3, "/");
    assert_eq!(
        s.recv(&h, now).unwrap_err().code,
        ErrorCode::CompressionError
    );
}
