//! mod_proxy_fcgi's reading of a FastCGI application's answer: records (8-byte header,
//! content, padding), the CGI header block from the STDOUT stream, then the body
//! records, through `rhttpd::modules::proxy_fcgi::fuzz_response` (the record reader and
//! head parser that real requests use). Input: the bytes the application sends.
//!
//! Invariants: no panic, no hang, memory bounded by the input (a record's declared
//! length is read, not trusted); the body is never longer than the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rhttpd::modules::proxy_fcgi::fuzz_response;

fuzz_target!(|data: &[u8]| {
    if let Some((status, fields, body, stderr)) = fuzz_response(data) {
        assert!(body.len() + stderr <= data.len(), "more out than in");
        assert!(fields <= data.len());
        if let Some(s) = status {
            assert!((100..1000).contains(&s));
        }
    }
});
