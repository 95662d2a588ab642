//! mod_expires' output step: `Expires` and `Cache-Control: max-age=N` on responses
//! that are not errors (status below 400, not an error document), by the response's
//! type (`ExpiresByType`, `major/*`, then `ExpiresDefault`), as `expires_filter` does.
//! A response that already has `Expires` (a CGI script's own) is left alone; a
//! `modification` rule adds nothing when the request maps to no file; `max-age` is
//! merged into an existing `Cache-Control`.

use std::path::Path;
use std::time::{Duration, SystemTime};

use http::header::{CACHE_CONTROL, CONTENT_TYPE, EXPIRES};
use rhttpd_http::{HeaderValue, StatusCode};

use crate::conf::expires::Base;
use crate::conf::{DirConfig, MimeTypes};
use crate::handler::Response;

/// Add the headers `dir`'s rules give `resp` (`error`: the response is an error
/// document). `now` is the request's time, the `access` base.
pub fn apply(
    mime: &MimeTypes,
    dir: &DirConfig,
    filename: Option<&Path>,
    error: bool,
    now: SystemTime,
    resp: &mut Response,
) {
    let ex = &dir.expires;
    if !ex.enabled() || error || resp.status.as_u16() >= 400 || resp.headers.contains_key(EXPIRES) {
        return;
    }
    let ct = match resp.headers.get(CONTENT_TYPE) {
        Some(v) => Some(String::from_utf8_lossy(v.as_bytes()).into_owned()),
        // A 304 carries no Content-Type; Apache still knows the file's type.
        None if resp.status == StatusCode::NOT_MODIFIED => {
            filename.and_then(|f| crate::modules::mime::content_type_for(f, dir, mime))
        }
        None => None,
    };
    let Some(code) = ex.code_for(ct.as_deref()) else {
        return;
    };
    let base = match code.base {
        Base::Access => now,
        Base::Modification => {
            match filename.and_then(|f| std::fs::metadata(f).ok()?.modified().ok()) {
                Some(m) => m,
                None => return,
            }
        }
    };
    let delta = Duration::from_secs(code.seconds.unsigned_abs());
    let expires = if code.seconds >= 0 {
        base.checked_add(delta)
            .unwrap_or(now + Duration::from_secs(u32::MAX as u64 * 64))
    } else {
        base.checked_sub(delta).unwrap_or(now)
    }
    .max(now);
    let max_age = expires
        .duration_since(now)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let cc = format!("max-age={max_age}");
    match resp.headers.get_mut(CACHE_CONTROL) {
        Some(v) => {
            let mut merged = v.as_bytes().to_vec();
            merged.extend_from_slice(b", ");
            merged.extend_from_slice(cc.as_bytes());
            if let Ok(nv) = HeaderValue::from_bytes(&merged) {
                *v = nv;
            }
        }
        None => {
            if let Ok(v) = HeaderValue::from_str(&cc) {
                resp.headers.insert(CACHE_CONTROL, v);
            }
        }
    }
    if let Ok(v) = HeaderValue::from_str(&rhttpd_http::fmt_http_date(expires)) {
        resp.headers.insert(EXPIRES, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conf::expires::{ExpiresCode, ExpiresDir};
    use crate::handler::Body;
    use std::sync::Arc;

    fn dir(default: Option<&str>, by_type: &[(&str, &str)]) -> DirConfig {
        let mut ex = ExpiresDir {
            active: Some(true),
            default: default.map(|c| crate::conf::expires::parse_code(c).unwrap()),
            ..Default::default()
        };
        for (t, c) in by_type {
            let code: ExpiresCode = crate::conf::expires::parse_code(c).unwrap();
            Arc::make_mut(&mut ex.by_type).insert(t.to_string(), code);
        }
        DirConfig {
            expires: ex,
            ..Default::default()
        }
    }

    fn resp(status: u16, ct: Option<&str>) -> Response {
        let mut r = Response::new(StatusCode::from_u16(status).unwrap(), Body::Empty);
        if let Some(ct) = ct {
            r.headers
                .insert(CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
        }
        r
    }

    fn hdr<'a>(r: &'a Response, n: &str) -> Option<&'a str> {
        r.headers.get(n).and_then(|v| v.to_str().ok())
    }

    #[test]
    fn access_by_type_and_default() {
        let cfg = MimeTypes::builtin();
        let d = dir(
            Some("A60"),
            &[("text/html", "access plus 1 hour"), ("image/*", "A7")],
        );
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        let mut r = resp(200, Some("text/html; charset=utf-8"));
        apply(&cfg, &d, None, false, now, &mut r);
        assert_eq!(hdr(&r, "cache-control"), Some("max-age=3600"));
        assert_eq!(hdr(&r, "expires"), Some("Sun, 09 Sep 2001 02:46:40 GMT"));
        let mut r = resp(200, Some("image/png"));
        apply(&cfg, &d, None, false, now, &mut r);
        assert_eq!(hdr(&r, "cache-control"), Some("max-age=7"));
        let mut r = resp(200, None);
        r.headers
            .insert(CACHE_CONTROL, HeaderValue::from_static("public"));
        apply(&cfg, &d, None, false, now, &mut r);
        assert_eq!(hdr(&r, "cache-control"), Some("public, max-age=60"));
    }

    #[test]
    fn skipped_cases() {
        let cfg = MimeTypes::builtin();
        let d = dir(Some("A60"), &[]);
        let now = SystemTime::now();
        for (status, error) in [(404, false), (500, false), (302, true)] {
            let mut r = resp(status, Some("text/plain"));
            apply(&cfg, &d, None, error, now, &mut r);
            assert!(hdr(&r, "expires").is_none(), "{status}");
        }
        // An Expires of the handler's own wins, and Cache-Control is not touched.
        let mut r = resp(200, Some("text/plain"));
        r.headers.insert(EXPIRES, HeaderValue::from_static("0"));
        apply(&cfg, &d, None, false, now, &mut r);
        assert_eq!(hdr(&r, "expires"), Some("0"));
        assert!(hdr(&r, "cache-control").is_none());
        // Inactive.
        let mut off = d.clone();
        off.expires.active = Some(false);
        let mut r = resp(200, Some("text/plain"));
        apply(&cfg, &off, None, false, now, &mut r);
        assert!(hdr(&r, "expires").is_none());
        // modification without a file: nothing.
        let m = dir(Some("modification plus 1 day"), &[]);
        let mut r = resp(200, Some("text/plain"));
        apply(
            &cfg,
            &m,
            Some(Path::new("/nonexistent/x")),
            false,
            now,
            &mut r,
        );
        assert!(hdr(&r, "expires").is_none());
    }

    #[test]
    fn modification_base_and_clamp() {
        let cfg = MimeTypes::builtin();
        let f = tempfile::NamedTempFile::new().unwrap();
        let mtime = std::fs::metadata(f.path()).unwrap().modified().unwrap();
        let d = dir(Some("M100"), &[]);
        let mut r = resp(304, None);
        apply(&cfg, &d, Some(f.path()), false, mtime, &mut r);
        assert_eq!(hdr(&r, "cache-control"), Some("max-age=100"));
        // Long past: clamped to the request time.
        let later = mtime + Duration::from_secs(1000);
        let mut r = resp(200, Some("text/plain"));
        apply(&cfg, &d, Some(f.path()), false, later, &mut r);
        assert_eq!(hdr(&r, "cache-control"), Some("max-age=0"));
        let expect = rhttpd_http::fmt_http_date(later);
        assert_eq!(hdr(&r, "expires"), Some(expect.as_str()));
    }
}
