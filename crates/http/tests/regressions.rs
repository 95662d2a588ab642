//! Inputs found by the fuzz targets (fuzz/fuzz_targets/, scripts/fuzz.sh), each kept as a
//! test of the property that failed.

use rhttpd_http::{Limits, ParseError, parse_request_head};

/// fuzz target h1_conn: with LimitRequestFields reached, one more field line that is
/// also longer than LimitRequestFieldSize gave HeaderFieldTooLong when it arrived whole
/// but TooManyHeaders when only its start had arrived. Every prefix of an invalid head
/// must be incomplete or give the same error.
#[test]
fn field_count_and_size_errors_do_not_depend_on_arrival() {
    let limits = Limits {
        request_line: 64,
        field_size: 48,
        fields: 5,
        body: 1000,
        ..Limits::default()
    };
    let mut head = b"GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: ".to_vec();
    head.extend_from_slice(&[b'x'; 60]);
    head.extend_from_slice(b"\r\n\r\n");
    let whole = parse_request_head(&head, &limits).unwrap_err();
    for n in 0..head.len() {
        match parse_request_head(&head[..n], &limits) {
            Ok(None) => {}
            Err(e) => assert_eq!(e, whole, "prefix of {n} bytes"),
            Ok(Some(r)) => panic!("prefix of {n} bytes parsed: {r:?}"),
        }
    }
    assert_eq!(whole, ParseError::TooManyHeaders);
}
