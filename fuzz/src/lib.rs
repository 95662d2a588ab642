//! Helpers shared by the fuzz targets in `fuzz_targets/`.

use rhttpd_http::{Limits, RequestHead};

/// Request limits picked by a control byte: Apache's defaults, small ones (so that the
/// limit paths are reached with short inputs), small with `fields`/`body` unlimited, and
/// tiny ones.
pub fn limits(sel: u8) -> Limits {
    match sel % 4 {
        0 => Limits::default(),
        1 => Limits {
            request_line: 64,
            field_size: 48,
            fields: 5,
            body: 1000,
            ..Limits::default()
        },
        2 => Limits {
            request_line: 64,
            field_size: 48,
            fields: 0,
            body: 0,
            ..Limits::default()
        },
        _ => Limits {
            request_line: 16,
            field_size: 12,
            fields: 2,
            body: 10,
            ..Limits::default()
        },
    }
}

/// [`limits`] with `HttpProtocolOptions` picked by two more bits of `sel`: Strict or
/// Unsafe, Require1.0 or Allow0.9.
pub fn request_limits(sel: u8) -> Limits {
    Limits {
        strict: sel & 0x10 == 0,
        allow_http09: sel & 0x20 != 0,
        ..limits(sel)
    }
}

/// A small deterministic generator (splitmix64) for cut points drawn from a seed in the
/// input, so that every run of an input cuts it the same way.
pub struct Cuts(u64);

impl Cuts {
    pub fn new(seed: u64) -> Self {
        Cuts(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A piece length in `1..=max`.
    pub fn piece(&mut self, max: usize) -> usize {
        1 + (self.next_u64() % max.max(1) as u64) as usize
    }
}

/// A request head as bytes again: its request line, every field as `name: value`, and
/// the blank line.
pub fn serialise(r: &RequestHead) -> Vec<u8> {
    let mut out = Vec::with_capacity(r.head_len + 16);
    out.extend_from_slice(r.request_line.as_bytes());
    out.extend_from_slice(b"\r\n");
    if r.version == rhttpd_http::Version::HTTP_09 {
        // A simple request is its request line alone.
        return out;
    }
    for (name, value) in &r.headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Two parsed heads say the same (everything but `head_len`).
pub fn assert_same_head(a: &RequestHead, b: &RequestHead, what: &str) {
    assert_eq!(a.method, b.method, "{what}: method");
    assert_eq!(a.raw_target, b.raw_target, "{what}: raw_target");
    assert_eq!(a.path, b.path, "{what}: path");
    assert_eq!(a.query, b.query, "{what}: query");
    assert_eq!(a.version, b.version, "{what}: version");
    assert_eq!(a.headers, b.headers, "{what}: headers");
    assert_eq!(a.host, b.host, "{what}: host");
    assert_eq!(a.request_line, b.request_line, "{what}: request_line");
    assert_eq!(a.body, b.body, "{what}: body framing");
    assert_eq!(
        a.expect_continue, b.expect_continue,
        "{what}: expect_continue"
    );
    assert_eq!(
        a.connection_close, b.connection_close,
        "{what}: connection_close"
    );
    assert_eq!(
        a.connection_keep_alive, b.connection_keep_alive,
        "{what}: connection_keep_alive"
    );
}
