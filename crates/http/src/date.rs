//! HTTP dates (IMF-fixdate out; IMF-fixdate, RFC 850 and asctime in).

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

thread_local! {
    static CACHED: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

/// The current time as an IMF-fixdate, formatted at most once per second per thread
/// (Apache's `ap_recent_rfc822_date`).
pub fn http_date_now() -> String {
    http_date_at(SystemTime::now())
}

/// `now` as an IMF-fixdate, through the same once-per-second cache as [`http_date_now`]
/// (a response's Date is its request's time, as Apache's `r->request_time`).
pub fn http_date_at(now: SystemTime) -> String {
    let secs = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    CACHED.with(|c| {
        let mut c = c.borrow_mut();
        if c.0 != secs {
            c.1 = fmt_http_date(now);
            c.0 = secs;
        }
        c.1.clone()
    })
}

/// Format a time as an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`); sub-second
/// precision is dropped. Times before 1970 format as the epoch, times after 9999 as
/// the last second of 9999 (httpdate would panic).
pub fn fmt_http_date(t: SystemTime) -> String {
    const MAX_SECS: u64 = 253_402_300_799;
    let t = if t < UNIX_EPOCH {
        UNIX_EPOCH
    } else if unix_secs(t) > MAX_SECS {
        UNIX_EPOCH + std::time::Duration::from_secs(MAX_SECS)
    } else {
        t
    };
    httpdate::fmt_http_date(t)
}

/// Parse any of the three HTTP date formats. `None` if invalid.
pub fn parse_http_date(s: &str) -> Option<SystemTime> {
    httpdate::parse_http_date(s.trim()).ok()
}

/// Whole seconds since the epoch (negative times clamp to 0); used for comparisons at
/// HTTP's one-second resolution.
pub(crate) fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_and_parses_all_three() {
        let t = UNIX_EPOCH + Duration::from_secs(784111777);
        assert_eq!(fmt_http_date(t), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(t));
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), Some(t));
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), Some(t));
        assert_eq!(parse_http_date("yesterday"), None);
        assert_eq!(parse_http_date(""), None);
    }

    #[test]
    fn extreme_times_do_not_panic() {
        assert_eq!(
            fmt_http_date(UNIX_EPOCH - Duration::from_secs(5)),
            "Thu, 01 Jan 1970 00:00:00 GMT"
        );
        let far = UNIX_EPOCH + Duration::from_secs(300_000_000_000);
        assert!(fmt_http_date(far).contains("9999"));
    }

    #[test]
    fn subsecond_dropped() {
        let t = UNIX_EPOCH + Duration::from_millis(784_111_777_900);
        assert_eq!(fmt_http_date(t), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(unix_secs(t), 784111777);
    }

    #[test]
    fn now_is_cached_and_valid() {
        let a = http_date_now();
        let b = http_date_now();
        assert!(parse_http_date(&a).is_some());
        assert!(a == b || parse_http_date(&b).is_some());
        assert!(a.ends_with(" GMT") && a.len() == 29);
    }
}
