//! Conditional requests (RFC 9110 §13) as Apache's `ap_meets_conditions` and
//! `ap_condition_if_*` evaluate them, plus Apache's ETag format (`http_etag.c`).

use std::time::{SystemTime, UNIX_EPOCH};

use crate::date::{parse_http_date, unix_secs};
use crate::types::{HeaderMap, HeaderName, Method};

/// The validators of the selected representation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Validators<'a> {
    /// The ETag as sent, with quotes and optional `W/`.
    pub etag: Option<&'a str>,
    pub last_modified: Option<SystemTime>,
}

/// Result of [`evaluate_preconditions`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precondition {
    /// Serve normally (200/206).
    Proceed,
    /// Answer 304.
    NotModified,
    /// Answer 412.
    Failed,
}

/// One entity-tag of a list: `weak` flag and the opaque tag including its quotes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Tag<'a> {
    weak: bool,
    opaque: &'a str,
}

fn parse_tag(s: &str) -> Option<Tag<'_>> {
    let s = s.trim_matches(|c| c == ' ' || c == '\t');
    let (weak, rest) = match s.strip_prefix("W/") {
        Some(r) => (true, r),
        None => (false, s),
    };
    if rest.len() >= 2 && rest.starts_with('"') && rest.ends_with('"') {
        Some(Tag { weak, opaque: rest })
    } else {
        None
    }
}

/// Split an If-Match / If-None-Match value into its elements; commas inside quoted
/// strings do not split.
fn list_elements(v: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut in_quotes = false;
    let mut start = 0;
    for (i, c) in v.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            ',' if !in_quotes => {
                out.push(&v[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&v[start..]);
    out.into_iter()
        .map(|s| s.trim_matches(|c| c == ' ' || c == '\t'))
        .filter(|s| !s.is_empty())
        .collect()
}

fn header_elements<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Option<Vec<&'h str>> {
    if !headers.contains_key(name) {
        return None;
    }
    let mut out = Vec::new();
    for v in headers.get_all(name) {
        // Values that are not visible ASCII cannot match any tag we produce.
        if let Ok(s) = v.to_str() {
            out.extend(list_elements(s));
        }
    }
    Some(out)
}

/// Strong comparison (RFC 9110 §8.8.3.2): both strong and identical.
fn strong_match(list: &[&str], etag: Option<&str>) -> bool {
    let Some(ours) = etag.and_then(parse_tag) else {
        return false;
    };
    !ours.weak
        && list
            .iter()
            .filter_map(|e| parse_tag(e))
            .any(|t| !t.weak && t.opaque == ours.opaque)
}

/// Weak comparison: opaque tags identical, weakness ignored.
fn weak_match(list: &[&str], etag: Option<&str>) -> bool {
    let Some(ours) = etag.and_then(parse_tag) else {
        return false;
    };
    list.iter()
        .filter_map(|e| parse_tag(e))
        .any(|t| t.opaque == ours.opaque)
}

/// Whether `If-None-Match` names `etag` (weak comparison, `*` not counted): for a
/// representation whose ETag is only known after the conditions were evaluated (a
/// compressed variant's `"…-gzip"`).
pub fn if_none_match_names(headers: &HeaderMap, etag: &str) -> bool {
    header_elements(headers, &http::header::IF_NONE_MATCH)
        .is_some_and(|list| weak_match(&list, Some(etag)))
}

fn is_star(list: &[&str]) -> bool {
    list.contains(&"*")
}

fn header_date(headers: &HeaderMap, name: &HeaderName) -> Option<SystemTime> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_http_date)
}

/// Evaluate If-Match, If-Unmodified-Since, If-None-Match and If-Modified-Since in the
/// order of RFC 9110 §13.2.2, with Apache's details:
/// * `*` in If-Match / If-None-Match matches any representation;
/// * If-None-Match uses weak comparison for GET/HEAD without `Range`, strong otherwise;
/// * If-Modified-Since is ignored for methods other than GET/HEAD, for invalid dates,
///   for dates later than now, when If-None-Match is present, and (Apache) for `Range`
///   requests when the resource changed less than 60 s before now;
/// * a 304 is not given when `If-Range` and `Range` are present and If-Range matches
///   (the range request proceeds, as in `ap_meets_conditions`).
///
/// Without a Last-Modified, the date conditions are ignored (RFC 9110).
pub fn evaluate_preconditions(
    method: &Method,
    headers: &HeaderMap,
    v: &Validators,
) -> Precondition {
    evaluate_preconditions_at(method, headers, v, SystemTime::now())
}

fn evaluate_preconditions_at(
    method: &Method,
    headers: &HeaderMap,
    v: &Validators,
    now: SystemTime,
) -> Precondition {
    let get_or_head = *method == Method::GET || *method == Method::HEAD;
    let has_range = headers.contains_key(http::header::RANGE);
    let reqtime = unix_secs(now);

    if let Some(list) = header_elements(headers, &http::header::IF_MATCH) {
        if !is_star(&list) && !strong_match(&list, v.etag) {
            return Precondition::Failed;
        }
    } else if let (Some(ius), Some(lm)) = (
        header_date(headers, &http::header::IF_UNMODIFIED_SINCE),
        v.last_modified,
    ) && unix_secs(lm) > unix_secs(ius)
    {
        return Precondition::Failed;
    }

    let not_modified = if let Some(list) = header_elements(headers, &http::header::IF_NONE_MATCH) {
        let matched = is_star(&list)
            || if get_or_head && !has_range {
                weak_match(&list, v.etag)
            } else {
                strong_match(&list, v.etag)
            };
        if !matched {
            return Precondition::Proceed;
        }
        if !get_or_head {
            return Precondition::Failed;
        }
        true
    } else if get_or_head {
        match (
            header_date(headers, &http::header::IF_MODIFIED_SINCE),
            v.last_modified,
        ) {
            (Some(ims), Some(lm)) => {
                let (ims, mtime) = (unix_secs(ims), unix_secs(lm));
                ims >= mtime && ims <= reqtime && !(has_range && reqtime < mtime.saturating_add(60))
            }
            _ => false,
        }
    } else {
        false
    };

    if not_modified
        && !(has_range
            && headers.contains_key(http::header::IF_RANGE)
            && if_range_at(headers, v, now))
    {
        Precondition::NotModified
    } else {
        Precondition::Proceed
    }
}

/// Should a `Range` be honoured given `If-Range`? No If-Range → true. Entity-tag form:
/// strong match with the current ETag (a weak ETag never matches). Date form: equal
/// (to the second) to Last-Modified, and — as Apache — only if Last-Modified is at
/// least 60 s in the past (otherwise the date is a weak validator).
pub fn if_range_matches(headers: &HeaderMap, v: &Validators) -> bool {
    if_range_at(headers, v, SystemTime::now())
}

fn if_range_at(headers: &HeaderMap, v: &Validators, now: SystemTime) -> bool {
    let Some(value) = headers.get(http::header::IF_RANGE) else {
        return true;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let value = value.trim();
    if value.starts_with('"') {
        return match v.etag {
            Some(etag) => etag == value && parse_tag(value).is_some(),
            None => false,
        };
    }
    match (parse_http_date(value), v.last_modified) {
        (Some(d), Some(lm)) => {
            let mtime = unix_secs(lm);
            unix_secs(d) == mtime && unix_secs(now) >= mtime.saturating_add(60)
        }
        _ => false,
    }
}

/// Lower-case hex without leading zeros (`etag_uint64_to_hex`).
fn hex(out: &mut String, v: u64) {
    use std::fmt::Write;
    let _ = write!(out, "{v:x}");
}

/// `apr_time_t` of a `SystemTime`: microseconds since the epoch (negative before it,
/// reinterpreted as unsigned as Apache's `%llx` does).
fn apr_time(t: SystemTime) -> u64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => u64::try_from(d.as_micros()).unwrap_or(u64::MAX),
        Err(e) => {
            let back = i64::try_from(e.duration().as_micros()).unwrap_or(i64::MAX);
            back.wrapping_neg() as u64
        }
    }
}

/// Apache's ETag (`ap_make_etag`): the present fields among inode, size and mtime (in
/// that order; mtime in microseconds), in hex, joined by `-`, quoted, `W/` prefix when
/// `weak`. Apache 2.4's default `FileETag MTime Size` gives `"<size>-<mtime>"`.
pub fn make_etag(
    inode: Option<u64>,
    mtime: Option<SystemTime>,
    size: Option<u64>,
    weak: bool,
) -> String {
    let mut s = String::with_capacity(3 * 16 + 6);
    if weak {
        s.push_str("W/");
    }
    s.push('"');
    let fields = [inode, size, mtime.map(apr_time)];
    let mut first = true;
    for f in fields.into_iter().flatten() {
        if !first {
            s.push('-');
        }
        first = false;
        hex(&mut s, f);
    }
    s.push('"');
    s
}

/// Apache marks the ETag weak unless the file was last modified more than one second
/// before the request (`r->request_time - r->mtime > 1 s`); a future mtime is weak too.
pub fn etag_should_be_weak(mtime: SystemTime, now: SystemTime) -> bool {
    match now.duration_since(mtime) {
        Ok(d) => d.as_micros() <= 1_000_000,
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date::fmt_http_date;
    use crate::types::{HeaderName, HeaderValue};
    use std::time::Duration;

    fn hm(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    fn t(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    const NOW: u64 = 1_000_000;
    const LM: u64 = 900_000;

    fn eval(method: Method, h: &[(&str, &str)], etag: Option<&str>) -> Precondition {
        let v = Validators {
            etag,
            last_modified: Some(t(LM)),
        };
        evaluate_preconditions_at(&method, &hm(h), &v, t(NOW))
    }

    #[test]
    fn no_conditions_proceed() {
        assert_eq!(eval(Method::GET, &[], Some("\"a\"")), Precondition::Proceed);
    }

    #[test]
    fn if_match() {
        let e = Some("\"abc\"");
        assert_eq!(
            eval(Method::PUT, &[("if-match", "\"abc\"")], e),
            Precondition::Proceed
        );
        assert_eq!(
            eval(Method::PUT, &[("if-match", "\"x\", \"abc\"")], e),
            Precondition::Proceed
        );
        assert_eq!(
            eval(Method::PUT, &[("if-match", "\"x\"")], e),
            Precondition::Failed
        );
        assert_eq!(
            eval(Method::PUT, &[("if-match", "*")], e),
            Precondition::Proceed
        );
        assert_eq!(
            eval(Method::PUT, &[("if-match", "W/\"abc\"")], e),
            Precondition::Failed
        );
        assert_eq!(
            eval(Method::PUT, &[("if-match", "\"abc\"")], Some("W/\"abc\"")),
            Precondition::Failed
        );
        assert_eq!(
            eval(Method::PUT, &[("if-match", "\"abc\"")], None),
            Precondition::Failed
        );
        // commas inside quotes do not split
        assert_eq!(
            eval(Method::GET, &[("if-match", "\"a,b\"")], Some("\"a,b\"")),
            Precondition::Proceed
        );
    }

    #[test]
    fn if_unmodified_since() {
        let e = Some("\"a\"");
        let before = fmt_http_date(t(LM - 10));
        let after = fmt_http_date(t(LM + 10));
        assert_eq!(
            eval(Method::PUT, &[("if-unmodified-since", &before)], e),
            Precondition::Failed
        );
        assert_eq!(
            eval(Method::PUT, &[("if-unmodified-since", &after)], e),
            Precondition::Proceed
        );
        assert_eq!(
            eval(Method::PUT, &[("if-unmodified-since", "garbage")], e),
            Precondition::Proceed
        );
        // ignored when If-Match is present
        assert_eq!(
            eval(
                Method::PUT,
                &[("if-match", "\"a\""), ("if-unmodified-since", &before)],
                e
            ),
            Precondition::Proceed
        );
    }

    #[test]
    fn if_none_match() {
        let e = Some("\"abc\"");
        assert_eq!(
            eval(Method::GET, &[("if-none-match", "\"abc\"")], e),
            Precondition::NotModified
        );
        assert_eq!(
            eval(Method::HEAD, &[("if-none-match", "W/\"abc\"")], e),
            Precondition::NotModified
        );
        assert_eq!(
            eval(
                Method::GET,
                &[("if-none-match", "\"abc\"")],
                Some("W/\"abc\"")
            ),
            Precondition::NotModified
        );
        assert_eq!(
            eval(Method::GET, &[("if-none-match", "\"x\"")], e),
            Precondition::Proceed
        );
        assert_eq!(
            eval(Method::GET, &[("if-none-match", "*")], e),
            Precondition::NotModified
        );
        assert_eq!(
            eval(Method::PUT, &[("if-none-match", "*")], e),
            Precondition::Failed
        );
        assert_eq!(
            eval(Method::POST, &[("if-none-match", "\"abc\"")], e),
            Precondition::Failed
        );
        assert_eq!(
            eval(Method::POST, &[("if-none-match", "W/\"abc\"")], e),
            Precondition::Proceed
        );
        // with Range: strong comparison
        assert_eq!(
            eval(
                Method::GET,
                &[("if-none-match", "W/\"abc\""), ("range", "bytes=0-1")],
                e
            ),
            Precondition::Proceed
        );
    }

    #[test]
    fn if_modified_since() {
        let e = Some("\"a\"");
        let at = fmt_http_date(t(LM));
        let later = fmt_http_date(t(LM + 100));
        let earlier = fmt_http_date(t(LM - 100));
        let future = fmt_http_date(t(NOW + 100));
        assert_eq!(
            eval(Method::GET, &[("if-modified-since", &at)], e),
            Precondition::NotModified
        );
        assert_eq!(
            eval(Method::GET, &[("if-modified-since", &later)], e),
            Precondition::NotModified
        );
        assert_eq!(
            eval(Method::GET, &[("if-modified-since", &earlier)], e),
            Precondition::Proceed
        );
        assert_eq!(
            eval(Method::GET, &[("if-modified-since", &future)], e),
            Precondition::Proceed
        );
        assert_eq!(
            eval(Method::GET, &[("if-modified-since", "nope")], e),
            Precondition::Proceed
        );
        assert_eq!(
            eval(Method::POST, &[("if-modified-since", &at)], e),
            Precondition::Proceed
        );
        // ignored when If-None-Match is present
        assert_eq!(
            eval(
                Method::GET,
                &[("if-none-match", "\"x\""), ("if-modified-since", &at)],
                e
            ),
            Precondition::Proceed
        );
        // no Last-Modified: ignored
        let v = Validators {
            etag: e,
            last_modified: None,
        };
        let h = hm(&[("if-modified-since", &at)]);
        assert_eq!(
            evaluate_preconditions_at(&Method::GET, &h, &v, t(NOW)),
            Precondition::Proceed
        );
    }

    #[test]
    fn order_if_match_before_if_none_match() {
        let e = Some("\"a\"");
        assert_eq!(
            eval(
                Method::GET,
                &[("if-match", "\"x\""), ("if-none-match", "\"a\"")],
                e
            ),
            Precondition::Failed
        );
    }

    #[test]
    fn if_range_with_matching_etag_skips_304() {
        let e = Some("\"a\"");
        assert_eq!(
            eval(
                Method::GET,
                &[
                    ("if-none-match", "\"a\""),
                    ("range", "bytes=0-1"),
                    ("if-range", "\"a\"")
                ],
                e
            ),
            Precondition::Proceed
        );
    }

    #[test]
    fn if_range() {
        let v = Validators {
            etag: Some("\"abc\""),
            last_modified: Some(t(LM)),
        };
        let now = t(NOW);
        assert!(if_range_at(&hm(&[]), &v, now));
        assert!(if_range_at(&hm(&[("if-range", "\"abc\"")]), &v, now));
        assert!(!if_range_at(&hm(&[("if-range", "\"x\"")]), &v, now));
        assert!(!if_range_at(&hm(&[("if-range", "W/\"abc\"")]), &v, now));
        let weak = Validators {
            etag: Some("W/\"abc\""),
            ..v
        };
        assert!(!if_range_at(&hm(&[("if-range", "W/\"abc\"")]), &weak, now));
        assert!(!if_range_at(&hm(&[("if-range", "\"abc\"")]), &weak, now));
        assert!(if_range_at(
            &hm(&[("if-range", &fmt_http_date(t(LM)))]),
            &v,
            now
        ));
        assert!(!if_range_at(
            &hm(&[("if-range", &fmt_http_date(t(LM + 1)))]),
            &v,
            now
        ));
        // modified less than 60 s before now: date is weak, no match
        assert!(!if_range_at(
            &hm(&[("if-range", &fmt_http_date(t(LM)))]),
            &v,
            t(LM + 30)
        ));
        assert!(!if_range_at(&hm(&[("if-range", "garbage")]), &v, now));
    }

    #[test]
    fn etag_format() {
        let mtime = UNIX_EPOCH + Duration::from_micros(0x5f5e_1000_1234);
        assert_eq!(
            make_etag(None, Some(mtime), Some(0x1a2b), false),
            "\"1a2b-5f5e10001234\""
        );
        assert_eq!(
            make_etag(Some(0xabc), Some(mtime), Some(0), true),
            "W/\"abc-0-5f5e10001234\""
        );
        assert_eq!(
            make_etag(None, Some(mtime), None, false),
            "\"5f5e10001234\""
        );
        assert_eq!(make_etag(None, None, Some(16), false), "\"10\"");
        assert_eq!(make_etag(None, None, None, false), "\"\"");
    }

    #[test]
    fn etag_weakness() {
        let m = t(1000);
        assert!(etag_should_be_weak(m, t(1000)));
        assert!(etag_should_be_weak(m, t(1001)));
        assert!(!etag_should_be_weak(m, t(1001) + Duration::from_micros(1)));
        assert!(etag_should_be_weak(t(2000), t(1000)));
    }
}
