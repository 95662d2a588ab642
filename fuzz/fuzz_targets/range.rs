//! The `Range` header (`evaluate_range_limits`) and the multipart/byteranges body built
//! from its ranges. Input: nine control bytes (the representation's length, MaxRanges,
//! MaxRangeOverlaps/Reversals), then the header value.
//!
//! Invariants: no panic; every range lies inside the representation, start <= end; no
//! more ranges than MaxRanges and no more bytes than the representation; the
//! `Content-Range` values say the range; the multipart body built from the part headers
//! and the trailer has exactly `byteranges_body_len` bytes and, split at its boundary,
//! gives back each range's bytes with its `Content-range`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rhttpd_http::{
    RangeOutcome, byteranges_body_len, byteranges_boundary, byteranges_part_header,
    byteranges_trailer, content_range, evaluate_range_limits,
};

/// Byte `i` of the made-up representation.
fn byte_at(i: u64) -> u8 {
    (i.wrapping_mul(31) ^ (i >> 8)) as u8
}

fn limit(b: u8) -> usize {
    match b % 6 {
        0 => 0,
        1 => 1,
        2 => 2,
        3 => 20,
        4 => 200,
        _ => usize::MAX,
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 9 {
        return;
    }
    let (ctl, rest) = data.split_at(9);
    let raw = u64::from_le_bytes(ctl[..8].try_into().unwrap());
    // Mostly small lengths (the interesting edges), sometimes any u64.
    let len = match ctl[8] >> 6 {
        0 | 1 => raw % 64,
        2 => raw % 100_000,
        _ => raw,
    };
    let max_ranges = limit(ctl[8]);
    let max_overlaps = limit(ctl[8] >> 3);
    let max_reversals = limit(ctl[8] >> 5);
    let header = String::from_utf8_lossy(rest);
    let outcome =
        evaluate_range_limits(Some(&header), len, max_ranges, max_overlaps, max_reversals);
    let RangeOutcome::Partial(ranges) = outcome else {
        return;
    };
    assert!(!ranges.is_empty());
    assert!(ranges.len() <= max_ranges, "more ranges than MaxRanges");
    let mut sum: u128 = 0;
    for r in &ranges {
        assert!(
            r.start <= r.end && r.end < len,
            "range {r:?} outside 0..{len}"
        );
        assert_eq!(r.len(), r.end - r.start + 1);
        sum += u128::from(r.len());
        assert_eq!(
            content_range(*r, len),
            format!("bytes {}-{}/{len}", r.start, r.end)
        );
    }
    assert!(
        sum <= u128::from(len),
        "the ranges add up to more than the representation"
    );
    let boundary = byteranges_boundary();
    let ct = (ctl[8] & 1 == 0).then_some("text/plain");
    let total = byteranges_body_len(&boundary, ct, &ranges, len);
    if sum > 1 << 20 {
        return; // too big to build here
    }
    let mut body = Vec::new();
    for r in &ranges {
        body.extend_from_slice(byteranges_part_header(&boundary, ct, *r, len).as_bytes());
        body.extend((r.start..=r.end).map(byte_at));
    }
    body.extend_from_slice(byteranges_trailer(&boundary).as_bytes());
    assert_eq!(body.len() as u64, total, "byteranges_body_len");
    // Read it back as a client would.
    let delim = format!("\r\n--{boundary}");
    let closing = format!("{delim}--\r\n");
    assert!(body.ends_with(closing.as_bytes()));
    let mut parts = Vec::new();
    let inner = &body[..body.len() - closing.len()];
    let mut pos = 0;
    while pos < inner.len() {
        assert!(inner[pos..].starts_with(delim.as_bytes()));
        let head_start = pos + delim.len() + 2;
        let head_end = head_start
            + inner[head_start..]
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .expect("part header ends");
        let head = std::str::from_utf8(&inner[head_start..head_end]).unwrap();
        let range_line = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-range: bytes "))
            .expect("Content-range in the part");
        let (se, tot) = range_line.split_once('/').unwrap();
        let (s, e) = se.split_once('-').unwrap();
        let (s, e): (u64, u64) = (s.parse().unwrap(), e.parse().unwrap());
        assert_eq!(tot.parse::<u64>().unwrap(), len);
        let data_start = head_end + 4;
        let data_end = data_start + (e - s + 1) as usize;
        assert!(
            inner[data_start..data_end]
                .iter()
                .copied()
                .eq((s..=e).map(byte_at))
        );
        parts.push((s, e));
        pos = data_end;
    }
    let want: Vec<(u64, u64)> = ranges.iter().map(|r| (r.start, r.end)).collect();
    assert_eq!(parts, want);
});
