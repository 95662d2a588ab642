//! Property tests for the HTTP/1.1 connection state machine: however the bytes of a
//! pipelined stream are cut, a driver sees the same requests with the same bodies; and
//! arbitrary input never panics and always ends (each step consumes input or stops).

use proptest::prelude::*;
use rhttpd_http::{
    After, BodyBuffered, BodyRead, Event, HeaderMap, KeepAliveSettings, Limits, ResponseLength,
    ServerConn, StatusCode,
};

const KA: KeepAliveSettings = KeepAliveSettings {
    enabled: true,
    timeout_secs: 5,
    max: 0,
};

#[derive(Clone, Debug)]
enum Req {
    Get(String),
    Post(String, Vec<u8>, bool),
}

fn req() -> impl Strategy<Value = Req> {
    let path = "/[a-z]{1,8}";
    prop_oneof![
        path.prop_map(Req::Get),
        (
            path,
            proptest::collection::vec(any::<u8>(), 0..40),
            any::<bool>()
        )
            .prop_map(|(p, b, chunked)| Req::Post(p, b, chunked)),
    ]
}

fn wire(reqs: &[Req]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in reqs {
        match r {
            Req::Get(p) => {
                out.extend_from_slice(format!("GET {p} HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes())
            }
            Req::Post(p, body, false) => {
                out.extend_from_slice(
                    format!(
                        "POST {p} HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    )
                    .as_bytes(),
                );
                out.extend_from_slice(body);
            }
            Req::Post(p, body, true) => {
                out.extend_from_slice(
                    format!("POST {p} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
                        .as_bytes(),
                );
                for piece in body.chunks(7) {
                    out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
                    out.extend_from_slice(piece);
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b"0\r\n\r\n");
            }
        }
    }
    out
}

/// Drive a connection over `input` cut at `cuts`, reading every body in `read_size`
/// pieces; returns (method, path, body) per request, and whether it ended kept alive.
fn drive(input: &[u8], cuts: &[usize], read_size: usize) -> (Vec<(String, String, Vec<u8>)>, bool) {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    cuts.push(input.len());
    cuts.sort_unstable();
    let mut pieces = cuts
        .windows(1)
        .map(|w| w[0])
        .collect::<Vec<_>>()
        .into_iter();
    let mut fed = 0;
    let mut feed = |c: &mut ServerConn| -> bool {
        match pieces.next() {
            Some(cut) => {
                c.feed(&input[fed..cut]);
                fed = cut;
                true
            }
            None => false,
        }
    };
    let mut c = ServerConn::new();
    let mut got = Vec::new();
    let mut buf = vec![0u8; read_size.max(1)];
    loop {
        let head = loop {
            match c.next_request(&Limits::default(), 0) {
                Event::Request(h) => break h,
                Event::NeedInput => {
                    if !feed(&mut c) {
                        return (got, true);
                    }
                }
                Event::Invalid(e) => panic!("valid input refused: {e:?}"),
            }
        };
        let _ = c.take_continue();
        let mut body = Vec::new();
        loop {
            match c.read_body(&mut buf) {
                BodyRead::Data(n) => body.extend_from_slice(&buf[..n]),
                BodyRead::End => break,
                BodyRead::NeedInput => assert!(feed(&mut c), "body cut short"),
                BodyRead::Failed(e) => panic!("valid body refused: {e:?}"),
            }
        }
        assert!(!c.handler_done(), "the body was read to its end");
        let mut out = Vec::new();
        c.respond(
            &head,
            StatusCode::OK,
            &HeaderMap::new(),
            ResponseLength::Known(0),
            &KA,
            false,
            "",
            "d",
            &mut out,
        );
        got.push((head.method.to_string(), head.path.clone(), body));
        if c.response_sent() != After::KeepAlive {
            return (got, false);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn pipelined_requests_survive_any_cut(
        reqs in proptest::collection::vec(req(), 1..6),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
        read_size in 1usize..64,
    ) {
        let input = wire(&reqs);
        let (got, kept) = drive(&input, &cuts, read_size);
        prop_assert!(kept);
        prop_assert_eq!(got.len(), reqs.len());
        for (g, r) in got.iter().zip(&reqs) {
            match r {
                Req::Get(p) => prop_assert_eq!((g.0.as_str(), g.1.as_str()), ("GET", p.as_str())),
                Req::Post(p, b, _) => {
                    prop_assert_eq!((g.0.as_str(), g.1.as_str()), ("POST", p.as_str()));
                    prop_assert_eq!(&g.2, b);
                }
            }
        }
    }

    #[test]
    fn a_body_is_whole_exactly_when_all_of_it_arrived(
        body in proptest::collection::vec(any::<u8>(), 0..60),
        chunked in any::<bool>(),
        more in proptest::collection::vec(req(), 0..2),
    ) {
        let mut reqs = vec![Req::Post("/p".into(), body, chunked)];
        let one = wire(&reqs).len();
        reqs.extend(more);
        let input = wire(&reqs);
        for end in 0..=input.len() {
            let mut c = ServerConn::new();
            c.feed(&input[..end]);
            let Ok(Some(head)) = c.peek_request(&Limits::default()) else {
                continue;
            };
            let got = c.body_buffered(&head, 1 << 20);
            let want = if end >= one { BodyBuffered::Whole } else { BodyBuffered::Partial };
            prop_assert_eq!(got, want, "fed {} of {} bytes", end, one);
        }
    }

    #[test]
    fn arbitrary_input_never_panics_and_ends(
        input in proptest::collection::vec(any::<u8>(), 0..400),
        prefix in prop_oneof![Just(&b""[..]), Just(&b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"[..]), Just(&b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"[..])],
    ) {
        let mut c = ServerConn::new();
        c.feed(prefix);
        c.feed(&input);
        let mut buf = [0u8; 16];
        // Every step either consumes input or stops: bounded by the input length.
        for _ in 0..(prefix.len() + input.len() + 8) * 4 {
            match c.next_request(&Limits::default(), 100) {
                Event::Request(h) => {
                    let mut steps = 0;
                    while let BodyRead::Data(_) = c.read_body(&mut buf) {
                        steps += 1;
                        prop_assert!(steps < 1000);
                    }
                    if c.handler_done() {
                        while let BodyRead::Data(_) = c.read_body(&mut buf) {}
                    }
                    let mut out = Vec::new();
                    c.respond(&h, StatusCode::OK, &HeaderMap::new(), ResponseLength::Known(0), &KA, false, "", "d", &mut out);
                    if c.response_sent() != After::KeepAlive {
                        break;
                    }
                }
                Event::NeedInput | Event::Invalid(_) => break,
            }
        }
    }
}
