//! The HPACK decoder (RFC 7541) that the HTTP/2 engine will use. Input: arbitrary header
//! blocks, decoded in sequence by one decoder (so dynamic-table state carries over).
//!
//! Invariants: no panic; the fields emitted for a block never exceed the header-list
//! limit (name + value + 32 each); the dynamic table never grows past its size; what
//! decodes re-encodes, and our encoder's output decodes back to the same fields.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rhttpd_http::hpack::{Decoder, Encoder};

const LIST_LIMIT: usize = 16 * 1024;

fuzz_target!(|data: &[u8]| {
    let table = 4096usize;
    let mut dec = Decoder::new(table);
    // Blocks are separated by the byte 0xfe (a boundary the fuzzer learns quickly).
    for block in data.split(|&b| b == 0xfe) {
        let mut size = 0usize;
        let mut fields = Vec::new();
        let r = dec.decode(block, LIST_LIMIT, |f| {
            size += f.name.len() + f.value.len() + 32;
            fields.push((f.name.to_vec(), f.value.to_vec(), f.sensitive));
        });
        assert!(size <= LIST_LIMIT + 32 + block.len() * 8, "emitted {size} bytes");
        assert!(dec.table_size() <= dec.max_table_size());
        if r.is_ok() {
            // Round trip through our encoder and a fresh decoder.
            let mut enc = Encoder::new();
            let mut out = Vec::new();
            enc.encode(fields.iter().map(|(n, v, s)| (n, v, *s)), &mut out);
            let mut back = Decoder::new(table);
            let again = back.decode_owned(&out, usize::MAX).expect("our own block decodes");
            assert_eq!(again.len(), fields.len());
            for (a, (n, v, _)) in again.iter().zip(&fields) {
                assert_eq!((&a.name, &a.value), (n, v));
            }
        }
    }
});
