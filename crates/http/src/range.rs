//! `Range` evaluation and multipart/byteranges framing, following Apache's
//! `modules/http/byterange_filter.c` (`ap_set_byterange` and `ap_byterange_filter`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Apache's default `MaxRanges`.
pub const DEFAULT_MAX_RANGES: usize = 200;
/// Apache's default `MaxRangeOverlaps`.
pub const DEFAULT_MAX_OVERLAPS: usize = 20;
/// Apache's default `MaxRangeReversals`.
pub const DEFAULT_MAX_REVERSALS: usize = 20;

/// An inclusive byte range `start..=end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteRange {
    pub start: u64,
    /// Inclusive.
    pub end: u64,
}

impl ByteRange {
    /// Number of bytes in the range (`end - start + 1`; 0 if the range is inverted).
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u64 {
        self.end
            .checked_sub(self.start)
            .and_then(|d| d.checked_add(1))
            .unwrap_or(0)
    }
}

/// What to send for a request that may carry a `Range` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RangeOutcome {
    /// Send the whole representation with 200 (no/ignored Range).
    Full,
    /// Send 206: one range (with `Content-Range`) or several (multipart/byteranges).
    /// Ranges are in Apache's order (request order, adjacent/overlapping ones merged).
    Partial(Vec<ByteRange>),
    /// Send 416.
    Unsatisfiable,
}

/// Evaluate a `Range` header value for a representation of `len` bytes, with Apache's
/// default `MaxRangeOverlaps`/`MaxRangeReversals` (20). `max_ranges`: `MaxRanges`
/// (`usize::MAX` = unlimited, 0 = `none`: ranges are never honoured).
pub fn evaluate_range(range: Option<&str>, len: u64, max_ranges: usize) -> RangeOutcome {
    evaluate_range_limits(
        range,
        len,
        max_ranges,
        DEFAULT_MAX_OVERLAPS,
        DEFAULT_MAX_REVERSALS,
    )
}

/// [`evaluate_range`] with explicit `MaxRangeOverlaps` / `MaxRangeReversals`
/// (`usize::MAX` = unlimited).
pub fn evaluate_range_limits(
    range: Option<&str>,
    len: u64,
    max_ranges: usize,
    max_overlaps: usize,
    max_reversals: usize,
) -> RangeOutcome {
    let Some(range) = range else {
        return RangeOutcome::Full;
    };
    // Apache skips byteranging for empty bodies.
    let clength = i64::try_from(len).unwrap_or(i64::MAX);
    if clength <= 0 {
        return RangeOutcome::Full;
    }
    let Some(spec) = strip_prefix_ci(range, "bytes=") else {
        return RangeOutcome::Full;
    };
    match set_byterange(spec, clength) {
        Parsed::Ignore => RangeOutcome::Full,
        Parsed::Unsatisfiable => RangeOutcome::Unsatisfiable,
        Parsed::Ranges {
            ranges,
            overlaps,
            reversals,
        } => {
            if ranges.is_empty()
                || ranges.len() > max_ranges
                || overlaps > max_overlaps
                || reversals > max_reversals
            {
                RangeOutcome::Full
            } else {
                RangeOutcome::Partial(ranges)
            }
        }
    }
}

enum Parsed {
    Ignore,
    Unsatisfiable,
    Ranges {
        ranges: Vec<ByteRange>,
        overlaps: usize,
        reversals: usize,
    },
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        s.get(prefix.len()..)
    } else {
        None
    }
}

/// `ap_getword(.., ',')`: the text up to the next comma, then skip all following commas.
fn getword<'a>(line: &mut &'a str) -> &'a str {
    let s = *line;
    let end = s.find(',').unwrap_or(s.len());
    let word = &s[..end];
    *line = s[end..].trim_start_matches(',');
    word
}

/// `apr_strtoff(.., 10)` with the "whole string consumed" check Apache applies:
/// optional leading whitespace, optional sign, at least one digit, nothing after.
fn strtoff(s: &str) -> Option<i64> {
    let s = s.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '\x0b');
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut v: i64 = 0;
    for b in digits.bytes() {
        v = v.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
    }
    Some(if neg { -v } else { v })
}

fn push(ranges: &mut Vec<ByteRange>, start: i64, end: i64, sum: &mut i128) {
    *sum += i128::from(end) - i128::from(start) + 1;
    ranges.push(ByteRange {
        start: u64::try_from(start).unwrap_or(0),
        end: u64::try_from(end).unwrap_or(0),
    });
}

/// A transcription of `ap_set_byterange` (httpd 2.4).
fn set_byterange(spec: &str, clength: i64) -> Parsed {
    let mut rest = spec;
    let mut ranges: Vec<ByteRange> = Vec::new();
    let (mut ostart, mut oend) = (0i64, 0i64);
    let mut in_merge = false;
    let mut unsatisfiable = false;
    let mut sum: i128 = 0;
    let (mut overlaps, mut reversals) = (0usize, 0usize);
    let last = clength - 1;

    loop {
        let cur = getword(&mut rest);
        if cur.is_empty() {
            break;
        }
        // One syntactically invalid byte-range-spec: ignore the whole header.
        let Some(dash) = cur.find('-') else {
            return Parsed::Ignore;
        };
        let (mut start, mut end);
        if dash == 0 {
            let Some(n) = strtoff(&cur[1..]) else {
                return Parsed::Ignore;
            };
            if n < 1 {
                return Parsed::Ignore;
            }
            start = clength.saturating_sub(n);
            end = last;
        } else {
            let Some(n) = strtoff(&cur[..dash]) else {
                return Parsed::Ignore;
            };
            start = n;
            let tail = &cur[dash + 1..];
            if !tail.is_empty() {
                let Some(e) = strtoff(tail) else {
                    return Parsed::Ignore;
                };
                end = e;
                if start > end {
                    return Parsed::Ignore;
                }
            } else {
                end = last;
                // "0-": the whole entity, all other ranges are dropped.
                if start == 0 {
                    ranges.clear();
                    sum = 0;
                    in_merge = true;
                    ostart = 0;
                    oend = end;
                    break;
                }
            }
        }
        if start < 0 {
            start = 0;
        }
        if start >= clength {
            unsatisfiable = true;
            continue;
        }
        if end >= clength {
            end = last;
        }
        if !in_merge {
            ostart = start;
            oend = end;
            in_merge = true;
            continue;
        }
        in_merge = start >= ostart && end <= oend;
        if start < ostart && end >= ostart.saturating_sub(1) {
            ostart = start;
            reversals += 1;
            in_merge = true;
        }
        if end >= oend && start <= oend.saturating_add(1) {
            oend = end;
            in_merge = true;
        }
        if in_merge {
            overlaps += 1;
        } else {
            push(&mut ranges, ostart, oend, &mut sum);
            in_merge = true;
            ostart = start;
            oend = end;
        }
    }

    if in_merge {
        push(&mut ranges, ostart, oend, &mut sum);
    } else if ranges.is_empty() && unsatisfiable {
        return Parsed::Unsatisfiable;
    }
    if sum > i128::from(clength) {
        // "Sum of ranges larger than file, ignoring."
        return Parsed::Ignore;
    }
    Parsed::Ranges {
        ranges,
        overlaps,
        reversals,
    }
}

/// `Content-Range` value for a single-range 206: `bytes 0-4/100`.
pub fn content_range(r: ByteRange, total: u64) -> String {
    format!("bytes {}-{}/{}", r.start, r.end, total)
}

/// `Content-Range` value for a 416 per RFC 9110 §14.4: `bytes */100`.
pub fn content_range_unsatisfied(total: u64) -> String {
    format!("bytes */{total}")
}

/// A fresh multipart boundary: lower-case hex of a 64-bit value mixed from the time, the
/// process id and a counter (Apache uses a random 64-bit hex value per process).
pub fn byteranges_boundary() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut z = t ^ (u64::from(std::process::id()) << 32) ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    // splitmix64 finaliser
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    format!("{z:x}")
}

/// `Content-Type` of a multi-range 206.
pub fn byteranges_content_type(boundary: &str) -> String {
    format!("multipart/byteranges; boundary={boundary}")
}

/// The bytes Apache emits before each part:
/// `CRLF "--" boundary CRLF "Content-type: " ct CRLF "Content-range: bytes " s "-" e "/" total CRLF CRLF`
/// (the `Content-type` line is omitted when the representation has no type).
pub fn byteranges_part_header(
    boundary: &str,
    content_type: Option<&str>,
    r: ByteRange,
    total: u64,
) -> String {
    match content_type {
        Some(ct) => format!(
            "\r\n--{boundary}\r\nContent-type: {ct}\r\nContent-range: bytes {}-{}/{total}\r\n\r\n",
            r.start, r.end
        ),
        None => format!(
            "\r\n--{boundary}\r\nContent-range: bytes {}-{}/{total}\r\n\r\n",
            r.start, r.end
        ),
    }
}

/// The closing delimiter: `CRLF "--" boundary "--" CRLF`.
pub fn byteranges_trailer(boundary: &str) -> String {
    format!("\r\n--{boundary}--\r\n")
}

/// Total length of a multipart/byteranges body (for `Content-Length`).
pub fn byteranges_body_len(
    boundary: &str,
    content_type: Option<&str>,
    ranges: &[ByteRange],
    total: u64,
) -> u64 {
    let mut n = byteranges_trailer(boundary).len() as u64;
    for r in ranges {
        n = n
            .saturating_add(byteranges_part_header(boundary, content_type, *r, total).len() as u64)
            .saturating_add(r.len());
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn br(start: u64, end: u64) -> ByteRange {
        ByteRange { start, end }
    }

    fn ev(h: &str, len: u64) -> RangeOutcome {
        evaluate_range(Some(h), len, DEFAULT_MAX_RANGES)
    }

    #[test]
    fn no_header_or_empty_entity_is_full() {
        assert_eq!(evaluate_range(None, 100, 200), RangeOutcome::Full);
        assert_eq!(ev("bytes=0-5", 0), RangeOutcome::Full);
        assert_eq!(ev("bytes=5-", 0), RangeOutcome::Full);
    }

    #[test]
    fn simple_forms() {
        assert_eq!(ev("bytes=0-4", 100), RangeOutcome::Partial(vec![br(0, 4)]));
        assert_eq!(
            ev("bytes=10-", 100),
            RangeOutcome::Partial(vec![br(10, 99)])
        );
        assert_eq!(
            ev("bytes=-10", 100),
            RangeOutcome::Partial(vec![br(90, 99)])
        );
        assert_eq!(
            ev("bytes=-500", 100),
            RangeOutcome::Partial(vec![br(0, 99)])
        );
        assert_eq!(
            ev("bytes=50-500", 100),
            RangeOutcome::Partial(vec![br(50, 99)])
        );
        assert_eq!(ev("BYTES=1-1", 100), RangeOutcome::Partial(vec![br(1, 1)]));
        assert_eq!(ev("bytes= 1-2", 100), RangeOutcome::Partial(vec![br(1, 2)]));
    }

    #[test]
    fn whole_entity_range_is_still_206() {
        assert_eq!(ev("bytes=0-", 100), RangeOutcome::Partial(vec![br(0, 99)]));
        assert_eq!(
            ev("bytes=0-99", 100),
            RangeOutcome::Partial(vec![br(0, 99)])
        );
        // "0-" drops every other range
        assert_eq!(
            ev("bytes=5-6,0-,8-9", 100),
            RangeOutcome::Partial(vec![br(0, 99)])
        );
    }

    #[test]
    fn invalid_syntax_ignores_header() {
        for h in [
            "bytes=abc",
            "bytes=5",
            "bytes=5-3",
            "bytes=-0",
            "bytes=1-2x",
            "bytes=1-2 ",
            "bytes=,1-2",
            "items=0-1",
            "bytes=",
            "bytes=99999999999999999999-",
            "bytes=--5",
        ] {
            assert_eq!(ev(h, 100), RangeOutcome::Full, "{h}");
        }
    }

    #[test]
    fn unsatisfiable() {
        assert_eq!(ev("bytes=100-", 100), RangeOutcome::Unsatisfiable);
        assert_eq!(ev("bytes=200-300", 100), RangeOutcome::Unsatisfiable);
        assert_eq!(ev("bytes=200-300,400-", 100), RangeOutcome::Unsatisfiable);
        // one satisfiable range is enough
        assert_eq!(
            ev("bytes=200-300,1-2", 100),
            RangeOutcome::Partial(vec![br(1, 2)])
        );
    }

    #[test]
    fn merging_follows_apache() {
        // adjacent
        assert_eq!(
            ev("bytes=0-4,5-9", 100),
            RangeOutcome::Partial(vec![br(0, 9)])
        );
        // overlapping
        assert_eq!(
            ev("bytes=0-5,3-9", 100),
            RangeOutcome::Partial(vec![br(0, 9)])
        );
        // contained
        assert_eq!(
            ev("bytes=0-9,2-3", 100),
            RangeOutcome::Partial(vec![br(0, 9)])
        );
        // reversal merge
        assert_eq!(
            ev("bytes=5-9,0-4", 100),
            RangeOutcome::Partial(vec![br(0, 9)])
        );
        // disjoint: kept in request order, not sorted
        assert_eq!(
            ev("bytes=50-59,0-4", 100),
            RangeOutcome::Partial(vec![br(50, 59), br(0, 4)])
        );
        // only merges with the previous set
        assert_eq!(
            ev("bytes=0-1,10-11,2-3", 100),
            RangeOutcome::Partial(vec![br(0, 1), br(10, 11), br(2, 3)])
        );
        // consecutive commas are skipped
        assert_eq!(
            ev("bytes=0-1,,10-11", 100),
            RangeOutcome::Partial(vec![br(0, 1), br(10, 11)])
        );
    }

    #[test]
    fn sum_larger_than_file_is_ignored() {
        assert_eq!(ev("bytes=0-0,2-2,0-0,2-2", 3), RangeOutcome::Full);
        assert_eq!(
            ev("bytes=0-1,10-11,1-2", 4),
            RangeOutcome::Partial(vec![br(0, 2)])
        );
        assert_eq!(ev("bytes=0-1,3-3,0-1", 4), RangeOutcome::Full);
    }

    #[test]
    fn limits() {
        let many: Vec<String> = (0..5)
            .map(|i| format!("{}-{}", i * 10, i * 10 + 1))
            .collect();
        let h = format!("bytes={}", many.join(","));
        assert!(
            matches!(evaluate_range(Some(&h), 1000, 5), RangeOutcome::Partial(v) if v.len() == 5)
        );
        assert_eq!(evaluate_range(Some(&h), 1000, 4), RangeOutcome::Full);
        assert_eq!(
            evaluate_range(Some("bytes=0-1"), 1000, 0),
            RangeOutcome::Full
        );
        // MaxRanges none still answers 416 for unsatisfiable ranges, like Apache
        assert_eq!(
            evaluate_range(Some("bytes=5000-"), 1000, 0),
            RangeOutcome::Unsatisfiable
        );
        // overlaps
        let ov: Vec<String> = (0..22).map(|i| format!("0-{i}")).collect();
        let h = format!("bytes={}", ov.join(","));
        assert_eq!(evaluate_range(Some(&h), 1000, 200), RangeOutcome::Full);
        assert!(matches!(
            evaluate_range_limits(Some(&h), 1000, 200, usize::MAX, usize::MAX),
            RangeOutcome::Partial(_)
        ));
        // reversals
        let rv: Vec<String> = (0..22).rev().map(|i| format!("{i}-{i}")).collect();
        let h = format!("bytes={}", rv.join(","));
        assert_eq!(evaluate_range(Some(&h), 1000, 200), RangeOutcome::Full);
    }

    #[test]
    fn multipart_bytes() {
        let b = "B";
        assert_eq!(
            byteranges_content_type(b),
            "multipart/byteranges; boundary=B"
        );
        assert_eq!(
            byteranges_part_header(b, Some("text/plain"), br(0, 4), 100),
            "\r\n--B\r\nContent-type: text/plain\r\nContent-range: bytes 0-4/100\r\n\r\n"
        );
        assert_eq!(
            byteranges_part_header(b, None, br(0, 4), 100),
            "\r\n--B\r\nContent-range: bytes 0-4/100\r\n\r\n"
        );
        assert_eq!(byteranges_trailer(b), "\r\n--B--\r\n");
        let rs = [br(0, 4), br(10, 19)];
        let mut body = String::new();
        for r in rs {
            body.push_str(&byteranges_part_header(b, Some("text/plain"), r, 100));
            body.push_str(&"x".repeat(r.len() as usize));
        }
        body.push_str(&byteranges_trailer(b));
        assert_eq!(
            byteranges_body_len(b, Some("text/plain"), &rs, 100),
            body.len() as u64
        );
        assert_eq!(content_range(br(0, 4), 100), "bytes 0-4/100");
        assert_eq!(content_range_unsatisfied(100), "bytes */100");
    }

    #[test]
    fn boundaries_are_hex_and_unique() {
        let a = byteranges_boundary();
        let b = byteranges_boundary();
        assert_ne!(a, b);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()) && !a.is_empty() && a.len() <= 16);
    }

    #[test]
    fn byte_range_len() {
        assert_eq!(br(0, 0).len(), 1);
        assert_eq!(br(5, 9).len(), 5);
        assert_eq!(br(9, 5).len(), 0);
        assert_eq!(br(0, u64::MAX).len(), 0);
    }
}
