//! The request-head parser (`parse_request_head`). Input: one control byte (the limits
//! and `HttpProtocolOptions` Strict/Unsafe, Allow0.9), then the bytes received.
//!
//! Invariants: no panic; a parsed head lies within the input, parses the same from its
//! own bytes alone, and the byte before its end leaves it incomplete; re-serialised
//! (request line, `name: value` fields) it parses to the same request; an incomplete
//! input stays incomplete when cut shorter; an error stays an error when more bytes
//! follow.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rhttpd_fuzz::{assert_same_head, request_limits, serialise};
use rhttpd_http::{Limits, parse_request_head};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, input)) = data.split_first() else {
        return;
    };
    let limits = request_limits(sel);
    match parse_request_head(input, &limits) {
        Ok(Some(r)) => {
            assert!(
                r.head_len > 0 && r.head_len <= input.len(),
                "head_len out of the input"
            );
            let alone = parse_request_head(&input[..r.head_len], &limits)
                .expect("the head alone is valid")
                .expect("the head alone is complete");
            assert_eq!(alone.head_len, r.head_len);
            assert_same_head(&r, &alone, "the head alone");
            assert!(
                matches!(
                    parse_request_head(&input[..r.head_len - 1], &limits),
                    Ok(None)
                ),
                "a head cut by one byte is incomplete"
            );
            let wire = serialise(&r);
            // `name:value` becomes `name: value`: one byte longer at most.
            let wide = Limits {
                field_size: limits.field_size + 1,
                ..limits
            };
            let again = parse_request_head(&wire, &wide)
                .unwrap_or_else(|e| {
                    panic!(
                        "re-serialised head refused: {e:?}: {:?}",
                        String::from_utf8_lossy(&wire)
                    )
                })
                .expect("re-serialised head is complete");
            assert_eq!(again.head_len, wire.len());
            assert_same_head(&r, &again, "re-serialised");
            let _ = r.body;
        }
        Ok(None) => {
            if !input.is_empty() {
                assert!(
                    matches!(
                        parse_request_head(&input[..input.len() - 1], &limits),
                        Ok(None)
                    ),
                    "a prefix of an incomplete head is incomplete"
                );
            }
        }
        Err(e) => {
            let _ = e.status();
            let mut more = input.to_vec();
            more.extend_from_slice(b"\r\n\r\n");
            assert!(
                parse_request_head(&more, &limits).is_err(),
                "an error ({e:?}) is not undone by more input"
            );
        }
    }
});
