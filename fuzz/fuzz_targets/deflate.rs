//! mod_deflate's request-side parsing, its compressor and its input filter:
//! `Accept-Encoding` values (`modules::deflate::accepts_gzip_value`), `gzip`, and
//! `modules::inflate::InflateBody` over the bytes as a request body. Input: one control
//! byte (which level; the inflate limit), then the bytes (as a header value, as data to
//! compress, as a gzip body).
//!
//! Invariants: no panic; a value naming only `gzip` without parameters is accepted;
//! what `gzip` makes decodes back to the input, and through `InflateBody` too when it is
//! under the limits; `InflateBody` never hands out more than its limit and, once it
//! failed, keeps failing.
#![no_main]

use std::io::Read;

use libfuzzer_sys::fuzz_target;
use rhttpd::conf::DirConfig;
use rhttpd::modules::deflate::{accepts_gzip_value, gzip};
use rhttpd::modules::inflate::InflateBody;

/// Everything `InflateBody` gives for `wire`, read `chunk` bytes at a time, and whether
/// it failed.
fn inflate(dir: &DirConfig, wire: &[u8], chunk: usize) -> (Vec<u8>, bool) {
    let mut src = wire;
    let mut body = InflateBody::new(dir, &mut src);
    let mut out = Vec::new();
    let mut buf = vec![0u8; chunk];
    loop {
        match body.read(&mut buf) {
            Ok(0) => return (out, false),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(_) => {
                assert!(body.read(&mut buf).is_err(), "a failed body keeps failing");
                return (out, true);
            }
        }
    }
}

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

    let mut dir = DirConfig::default();
    dir.deflate.inflate = Some(true);
    let limit = [0u64, 64, 4096][usize::from(control / 10 % 3)];
    dir.deflate.inflate_limit = Some(limit);
    let chunk = 1 + usize::from(control % 61);
    let (out, _) = inflate(&dir, rest, chunk);
    assert!(limit == 0 || out.len() as u64 <= limit, "more than the limit");
    let (out, failed) = inflate(&dir, &packed, chunk);
    if !failed {
        assert_eq!(out, rest, "InflateBody decodes what gzip made");
    } else {
        assert!(limit != 0 && rest.len() as u64 > limit || rest.len() >= 200 * packed.len());
    }
});
