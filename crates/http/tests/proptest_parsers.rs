//! Property tests for the parsers and the body decoder.

use proptest::prelude::*;
use rhttpd_http::{
    BodyDecoder, BodyFraming, Limits, RangeOutcome, Version, evaluate_range, parse_request_head,
    parse_response_head, write_chunk,
};

fn small_limits() -> Limits {
    Limits {
        request_line: 64,
        field_size: 48,
        fields: 5,
        body: 1000,
        ..Limits::default()
    }
}

/// Feed `input` to a decoder in pieces cut at `cuts`; returns the decoded data or the
/// first error.
fn decode_split(
    framing: BodyFraming,
    input: &[u8],
    cuts: &[usize],
) -> Result<(Vec<u8>, bool, usize), rhttpd_http::ParseError> {
    let mut dec = BodyDecoder::new(framing, 0);
    let mut buf: Vec<u8> = Vec::new();
    let mut out = Vec::new();
    let mut fed = 0;
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    cuts.push(input.len());
    cuts.sort_unstable();
    for cut in cuts {
        buf.extend_from_slice(&input[fed..cut]);
        fed = cut;
        loop {
            let d = dec.decode(&buf)?;
            assert!(d.consumed <= buf.len());
            out.extend_from_slice(d.data);
            let (consumed, done) = (d.consumed, d.done);
            buf.drain(..consumed);
            if done || consumed == 0 {
                break;
            }
        }
    }
    Ok((out, dec.is_done(), buf.len()))
}

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}"
}

#[derive(Debug, Clone)]
struct Req {
    method: String,
    path: String,
    query: Option<String>,
    http11: bool,
    headers: Vec<(String, String)>,
}

impl Req {
    fn bytes(&self) -> Vec<u8> {
        let mut s = format!("{} {}", self.method, self.path);
        if let Some(q) = &self.query {
            s.push('?');
            s.push_str(q);
        }
        s.push_str(if self.http11 {
            " HTTP/1.1\r\n"
        } else {
            " HTTP/1.0\r\n"
        });
        s.push_str("Host: Example.org:8080\r\n");
        for (k, v) in &self.headers {
            s.push_str(&format!("{k}: {v}\r\n"));
        }
        s.push_str("\r\n");
        s.into_bytes()
    }
}

fn request() -> impl Strategy<Value = Req> {
    (
        prop_oneof![
            Just("GET".to_string()),
            Just("POST".to_string()),
            Just("DELETE".to_string()),
            "[A-Z]{1,10}"
        ],
        prop::collection::vec("[A-Za-z0-9._~%-]{0,8}", 1..5),
        prop::option::of("[A-Za-z0-9=&%+/]{0,20}"),
        any::<bool>(),
        prop::collection::vec((token(), "[!-~]([ !-~]{0,30}[!-~])?"), 0..8),
    )
        .prop_map(|(method, segs, query, http11, headers)| Req {
            method,
            path: format!("/{}", segs.join("/")),
            query,
            http11,
            headers: headers
                .into_iter()
                .map(|(k, v)| (format!("x-{k}"), v))
                .collect(),
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn request_parser_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_request_head(&bytes, &Limits::default());
        let _ = parse_request_head(&bytes, &small_limits());
        let _ = parse_request_head(&bytes, &Limits { fields: 0, body: 0, ..small_limits() });
    }

    #[test]
    fn request_parser_never_panics_on_near_valid(
        prefix in "(GET|HEAD|OPTIONS|CONNECT|POST) ",
        body in "[ -~\r\n\t]{0,200}",
    ) {
        let s = format!("{prefix}{body}");
        if let Ok(Some(r)) = parse_request_head(s.as_bytes(), &Limits::default()) {
            prop_assert!(r.head_len <= s.len());
        }
    }

    #[test]
    fn response_parser_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_response_head(&bytes, &Limits::default());
        let _ = parse_response_head(&bytes, &small_limits());
        let mut with_prefix = b"HTTP/1.1 200 OK\r\n".to_vec();
        with_prefix.extend_from_slice(&bytes);
        let _ = parse_response_head(&with_prefix, &small_limits());
    }

    #[test]
    fn valid_requests_round_trip(req in request(), cut in any::<prop::sample::Index>(), trailing in prop::collection::vec(any::<u8>(), 0..20)) {
        let bytes = req.bytes();
        let limits = Limits::default();
        let r = parse_request_head(&bytes, &limits).unwrap().unwrap();
        prop_assert_eq!(r.method.as_str(), req.method.as_str());
        prop_assert_eq!(&r.path, &req.path);
        prop_assert_eq!(&r.query, &req.query);
        prop_assert_eq!(r.version, if req.http11 { Version::HTTP_11 } else { Version::HTTP_10 });
        prop_assert_eq!(r.host.as_deref(), Some("example.org"));
        prop_assert_eq!(r.head_len, bytes.len());
        for (k, v) in &req.headers {
            let vals: Vec<&str> = r.headers.get_all(k.as_str()).iter().map(|v| v.to_str().unwrap()).collect();
            prop_assert!(vals.contains(&v.as_str()), "{} missing {:?}", k, vals);
        }
        // any strict prefix is incomplete
        let i = cut.index(bytes.len());
        prop_assert!(parse_request_head(&bytes[..i], &limits).unwrap().is_none());
        // trailing bytes (a pipelined request or body) do not change the result
        let mut more = bytes.clone();
        more.extend_from_slice(&trailing);
        let r2 = parse_request_head(&more, &limits).unwrap().unwrap();
        prop_assert_eq!(r2.head_len, r.head_len);
        prop_assert_eq!(r2.request_line, r.request_line);
        prop_assert_eq!(r2.headers, r.headers);
    }

    #[test]
    fn chunked_round_trip(
        data in prop::collection::vec(any::<u8>(), 0..2000),
        sizes in prop::collection::vec(1usize..300, 1..20),
        ext in any::<bool>(),
        trailers in any::<bool>(),
        cuts in prop::collection::vec(any::<usize>(), 0..10),
    ) {
        let mut enc = Vec::new();
        let mut rest: &[u8] = &data;
        let mut i = 0;
        while !rest.is_empty() {
            let n = sizes[i % sizes.len()].min(rest.len());
            if ext && i % 2 == 0 {
                enc.extend_from_slice(format!("{n:X};name=\"v,a\";flag\r\n").as_bytes());
                enc.extend_from_slice(&rest[..n]);
                enc.extend_from_slice(b"\r\n");
            } else {
                write_chunk(&rest[..n], &mut enc);
            }
            rest = &rest[n..];
            i += 1;
        }
        enc.extend_from_slice(b"0\r\n");
        if trailers {
            enc.extend_from_slice(b"X-Checksum: abc\r\n");
        }
        enc.extend_from_slice(b"\r\n");
        let wire = enc.len();
        enc.extend_from_slice(b"GET / HTTP/1.1\r\n");
        let (out, done, left) = decode_split(BodyFraming::Chunked, &enc, &cuts).unwrap();
        prop_assert!(done);
        prop_assert_eq!(out, data);
        prop_assert_eq!(left, enc.len() - wire);
    }

    #[test]
    fn length_round_trip(
        data in prop::collection::vec(any::<u8>(), 0..500),
        cuts in prop::collection::vec(any::<usize>(), 0..10),
    ) {
        let mut input = data.clone();
        input.extend_from_slice(b"NEXT");
        let (out, done, left) = decode_split(BodyFraming::Length(data.len() as u64), &input, &cuts).unwrap();
        prop_assert!(done);
        prop_assert_eq!(out, data);
        prop_assert_eq!(left, 4);
    }

    #[test]
    fn body_decoder_never_panics(
        bytes in prop::collection::vec(any::<u8>(), 0..512),
        cuts in prop::collection::vec(any::<usize>(), 0..10),
        n in any::<u64>(),
    ) {
        for framing in [BodyFraming::Chunked, BodyFraming::Length(n), BodyFraming::UntilClose, BodyFraming::None] {
            let _ = decode_split(framing, &bytes, &cuts);
            let mut d = BodyDecoder::new(framing, 100);
            let _ = d.decode(&bytes);
            let _ = d.finish_eof();
        }
    }

    #[test]
    fn chunked_decoder_never_panics_on_near_valid(
        s in "([0-9a-fA-F]{1,4}(;[ -~]{0,8})?\r?\n[ -~]{0,20}\r?\n){0,5}(0\r\n([A-Za-z-]{1,5}: [ -~]{0,5}\r\n)*\r\n)?",
        cuts in prop::collection::vec(any::<usize>(), 0..10),
    ) {
        let _ = decode_split(BodyFraming::Chunked, s.as_bytes(), &cuts);
    }

    #[test]
    fn ranges_are_within_bounds(h in "[bB]ytes=[0-9, -]{0,30}", len in 0u64..1000) {
        match evaluate_range(Some(&h), len, 200) {
            RangeOutcome::Partial(rs) => {
                prop_assert!(!rs.is_empty());
                let sum: u64 = rs.iter().map(|r| r.len()).sum();
                prop_assert!(sum <= len);
                for r in rs {
                    prop_assert!(r.start <= r.end && r.end < len);
                }
            }
            RangeOutcome::Unsatisfiable => prop_assert!(len > 0),
            RangeOutcome::Full => {}
        }
    }

    #[test]
    fn range_never_panics(h in ".{0,60}", len in any::<u64>(), max in any::<usize>()) {
        let _ = evaluate_range(Some(&h), len, max);
    }
}

proptest! {
    #[test]
    fn dates_and_preconditions_never_panic(
        s in ".{0,40}",
        secs in any::<u64>(),
        etag in "(W/)?\"[ -~]{0,10}\"",
    ) {
        use rhttpd_http::{HeaderMap, HeaderValue, Method, Validators, evaluate_preconditions, if_range_matches, parse_http_date, fmt_http_date};
        use std::time::{Duration, UNIX_EPOCH};
        let _ = parse_http_date(&s);
        let t = UNIX_EPOCH.checked_add(Duration::from_secs(secs % (1u64 << 40)));
        if let Some(t) = t {
            let _ = fmt_http_date(t);
        }
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(&s) {
            for name in ["if-match", "if-none-match", "if-modified-since", "if-unmodified-since", "if-range", "range"] {
                h.insert(name, v.clone());
            }
        }
        let v = Validators { etag: Some(&etag), last_modified: t };
        for m in [Method::GET, Method::HEAD, Method::PUT] {
            let _ = evaluate_preconditions(&m, &h, &v);
        }
        let _ = if_range_matches(&h, &v);
    }
}
