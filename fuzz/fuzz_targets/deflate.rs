//! mod_deflate's request-side parsing and its compressor: `Accept-Encoding` values
//! (`modules::deflate::accepts_gzip_value`) and `gzip`. Input: one control byte (which
//! level), then the bytes (as a header value, and as data to compress).
//!
//! Invariants: no panic; a value naming only `gzip` without parameters is accepted;
//! what `gzip` makes decodes back to the input.
#![no_main]

use std::io::Read;

use libfuzzer_sys::fuzz_target;
use rhttpd::modules::deflate::{accepts_gzip_value, gzip};

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let _ = accepts_gzip_value(&text);
    assert!(accepts_gzip_value(&format!("{},gzip", text.replace(',', ""))));
    let level = flate2::Compression::new(u32::from(control % 10));
    let packed = gzip(rest, level);
    let mut back = Vec::new();
    flate2::read::GzDecoder::new(&packed[..])
        .read_to_end(&mut back)
        .expect("gzip output decodes");
    assert_eq!(back, rest);
});
