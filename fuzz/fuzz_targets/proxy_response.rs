//! mod_proxy_http's reading of a backend's response head: the head parser, the
//! ProxyBadHeader Ignore/StartBody mending of a head with lines that are not header
//! fields, and the ProxyPassReverseCookieDomain/Path mapping of `Set-Cookie`, through
//! `rhttpd::modules::proxy_http::fuzz_response_head` (the code real requests use).
//! Input: a mode byte (IsError, Ignore, StartBody) then the bytes the backend sends.
//!
//! Invariants: no panic, no hang; what is left after the head is never more than the
//! input; the status is a three-digit code.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rhttpd::modules::proxy_http::fuzz_response_head;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if let Some((status, fields, left)) = fuzz_response_head(rest, mode) {
        assert!((100..1000).contains(&status));
        assert!(left <= rest.len(), "more left than given");
        assert!(fields <= rest.len());
    }
});
