//! mod_headers at run time, and the pipeline's last step for every response
//! ([`finish_response`]): mod_expires, then the `Header` lines, as Apache's output
//! filters run (`MOD_EXPIRES` is inserted before `FIXUP_HEADERS_OUT`, so `Header`
//! lines see and may edit what mod_expires set).
//!
//! Apache keeps two response tables: `Header [onsuccess]` edits `headers_out`, which
//! an error document replaces, and `Header always` edits `err_headers_out`, which
//! every response carries. rhttpd has one header map per response: the `always`
//! lines apply to every response, the `onsuccess` lines to responses that are not
//! error documents, `always` first. `early` lines run on an empty table before the
//! handler and the handler's own headers take precedence over them. `RequestHeader`
//! lines run before the handler (`early` ones right after the request head is read).

use std::borrow::Cow;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use regex::Captures;
use rhttpd_http::{HeaderMap, HeaderValue, RequestHead};

use crate::conf::headers::{Action, Condition, Entry, Format, Tag};
use crate::conf::{DirConfig, MimeTypes};
use crate::handler::{ConnInfo, Response};
use crate::modules::expr_request::ExprRequest;

/// What format strings and conditions look at.
struct Ctx<'a> {
    dir: &'a DirConfig,
    conn: &'a ConnInfo,
    started: SystemTime,
    /// The request as `expr=` conditions and values see it.
    expr: ExprRequest<'a>,
    /// The lines edit the response (`resp()` reads the table being edited).
    response: bool,
}

impl Ctx<'_> {
    fn env(&self, name: &str) -> Option<Cow<'_, str>> {
        super::env::var(self.dir, self.conn.tls.as_deref(), name)
    }

    fn runs(&self, e: &Entry, h: &HeaderMap) -> bool {
        match &e.condition {
            Condition::Always => true,
            Condition::Env(v) => self.env(v).is_some(),
            Condition::NotEnv(v) => self.env(v).is_none(),
            Condition::Expr(x) => {
                if self.response {
                    let with_resp = self.expr.clone().with_response(h, 0);
                    x.eval_or_log(&with_resp, "headers")
                } else {
                    x.eval_or_log(&self.expr, "headers")
                }
            }
        }
    }

    fn render(&self, f: &Format) -> String {
        let micros = |d: std::time::Duration| d.as_micros();
        let mut out = String::new();
        for t in &f.0 {
            match t {
                Tag::Lit(l) => out.push_str(l),
                Tag::Time => {
                    let t = self.started.duration_since(UNIX_EPOCH).unwrap_or_default();
                    out.push_str(&format!("t={}", micros(t)));
                }
                Tag::Duration => {
                    let d = self.started.elapsed().unwrap_or_default();
                    out.push_str(&format!("D={}", micros(d)));
                }
                Tag::Env(name) => match self.env(name) {
                    Some(v) => out.push_str(&unwrap_lines(&v)),
                    None => out.push_str("(null)"),
                },
                Tag::Ssl(name) => match self.conn.tls.as_ref().and_then(|t| t.var(name)) {
                    Some(v) if !v.is_empty() => out.push_str(&unwrap_lines(&v)),
                    _ => out.push_str("(null)"),
                },
                Tag::Expr(x) => match x.expr.eval_string(&self.expr) {
                    Ok(v) => out.push_str(&unwrap_lines(&v)),
                    Err(msg) => x.log_failure("headers", &msg),
                },
            }
        }
        out
    }
}

/// CR and LF become spaces (Apache's `unwrap_header`).
fn unwrap_lines(s: &str) -> Cow<'_, str> {
    if s.contains(['\r', '\n']) {
        Cow::Owned(s.replace(['\r', '\n'], " "))
    } else {
        Cow::Borrowed(s)
    }
}

fn value(s: &str) -> Option<HeaderValue> {
    HeaderValue::from_bytes(s.as_bytes()).ok()
}

/// `ap_pregsub`: `$0`..`$9` are the match and its groups, a backslash takes the next
/// character literally.
fn expand(subs: &str, caps: &Captures<'_>, out: &mut String) {
    let mut chars = subs.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' if chars.peek().is_some_and(char::is_ascii_digit) => {
                let n = chars.next().and_then(|d| d.to_digit(10)).unwrap_or(0) as usize;
                if let Some(m) = caps.get(n) {
                    out.push_str(m.as_str());
                }
            }
            '\\' if chars.peek().is_some() => out.extend(chars.next()),
            c => out.push(c),
        }
    }
}

fn edit(e: &Entry, subs: &str, v: &str) -> String {
    let Some(re) = &e.regex else {
        return v.to_string();
    };
    let mut out = String::with_capacity(v.len());
    let mut last = 0;
    for caps in re.captures_iter(v) {
        let Some(m) = caps.get(0) else { continue };
        out.push_str(&v[last..m.start()]);
        expand(subs, &caps, &mut out);
        last = m.end();
        if e.action == Action::Edit {
            break;
        }
    }
    out.push_str(&v[last..]);
    out
}

/// Whether `token` is one of the comma-separated items of `list` (Apache's merge test:
/// items start after blanks and run to the next comma outside quotes).
fn has_token(list: &[u8], token: &[u8]) -> bool {
    let mut i = 0;
    while i < list.len() {
        while i < list.len() && list[i].is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        while i < list.len() && list[i] != b',' {
            if list[i] == b'"' {
                i += 1;
                while i < list.len() && list[i] != b'"' {
                    i += 1;
                }
            }
            i = (i + 1).min(list.len());
        }
        if &list[start..i] == token {
            return true;
        }
        i += 1;
    }
    false
}

/// The request's notes (Apache's `r->notes`): `Header note` / `RequestHeader note`
/// copies a header there, `%{NAME}n` in LogFormat prints it.
pub type Notes = Vec<(String, String)>;

/// Apply one line to `h`; `echo_from` is the request's headers (for `Header echo`).
fn apply_entry(
    ctx: &Ctx<'_>,
    e: &Entry,
    h: &mut HeaderMap,
    echo_from: Option<&HeaderMap>,
    notes: &mut Notes,
) {
    let name = &e.name;
    match e.action {
        Action::Set => {
            if let Some(v) = value(&ctx.render(&e.value)) {
                h.insert(name.clone(), v);
            }
        }
        Action::SetIfEmpty => {
            if !h.contains_key(name)
                && let Some(v) = value(&ctx.render(&e.value))
            {
                h.insert(name.clone(), v);
            }
        }
        Action::Add => {
            if let Some(v) = value(&ctx.render(&e.value)) {
                h.append(name.clone(), v);
            }
        }
        Action::Append | Action::Merge => {
            let new = ctx.render(&e.value);
            match h.get_mut(name) {
                Some(old) => {
                    if e.action == Action::Merge && has_token(old.as_bytes(), new.as_bytes()) {
                        return;
                    }
                    let mut merged = old.as_bytes().to_vec();
                    merged.extend_from_slice(b", ");
                    merged.extend_from_slice(new.as_bytes());
                    if let Ok(v) = HeaderValue::from_bytes(&merged) {
                        *old = v;
                    }
                }
                None => {
                    if let Some(v) = value(&new) {
                        h.append(name.clone(), v);
                    }
                }
            }
        }
        Action::Unset => {
            h.remove(name);
        }
        Action::Echo => {
            if let (Some(re), Some(from)) = (&e.regex, echo_from) {
                for (k, v) in from {
                    if re.is_match(k.as_str()) {
                        h.append(k.clone(), v.clone());
                    }
                }
            }
        }
        Action::Edit | Action::EditAll => {
            if !h.contains_key(name) {
                return;
            }
            let subs = ctx.render(&e.value);
            let edited: Vec<HeaderValue> = h
                .get_all(name)
                .iter()
                .map(|v| {
                    let text = String::from_utf8_lossy(v.as_bytes());
                    value(&edit(e, &subs, &text)).unwrap_or_else(|| v.clone())
                })
                .collect();
            h.remove(name);
            for v in edited {
                h.append(name.clone(), v);
            }
        }
        Action::Note => {
            if let Some(v) = h.get(name) {
                let key = ctx.render(&e.value);
                let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
                match notes.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(&key)) {
                    Some(slot) => slot.1 = v,
                    None => notes.push((key, v)),
                }
            }
        }
    }
}

fn apply_list(
    ctx: &Ctx<'_>,
    list: &[Entry],
    early: bool,
    h: &mut HeaderMap,
    echo_from: Option<&HeaderMap>,
    notes: &mut Notes,
) {
    for e in list.iter().filter(|e| e.early == early) {
        if early || ctx.runs(e, h) {
            apply_entry(ctx, e, h, echo_from, notes);
        }
    }
}

fn request_lines(
    dir: &DirConfig,
    conn: &ConnInfo,
    head: &RequestHead,
    early: bool,
    notes: &mut Notes,
) -> Option<RequestHead> {
    let list = &dir.headers.request;
    if !list.iter().any(|e| e.early == early) {
        return None;
    }
    let ctx = Ctx {
        dir,
        conn,
        started: SystemTime::now(),
        expr: ExprRequest::new(head, conn).with_dir(dir),
        response: false,
    };
    let mut sub = head.clone();
    apply_list(&ctx, list, early, &mut sub.headers, None, notes);
    Some(sub)
}

/// `RequestHeader ... early` of the server or virtual host (`base`: its base
/// configuration), right after the head is read. `None`: nothing to change.
pub fn early_request(
    base: &DirConfig,
    conn: &ConnInfo,
    head: &RequestHead,
    notes: &mut Notes,
) -> Option<RequestHead> {
    request_lines(base, conn, head, true, notes)
}

/// The request's `RequestHeader` lines (Apache's fixup), before the handler runs.
/// `None`: nothing to change.
pub fn request_fixup(
    dir: &DirConfig,
    conn: &ConnInfo,
    head: &RequestHead,
    notes: &mut Notes,
) -> Option<RequestHead> {
    request_lines(dir, conn, head, false, notes)
}

/// The last step of every response: mod_expires, then the `Header` lines. `error`: the
/// response is an error document (only `Header always` applies); `filename`: the file
/// the request mapped to (the `modification` base); `started`: when the request core
/// took the request (`%t`, `%D`, the `access` base).
#[allow(clippy::too_many_arguments)] // the request's parts, passed through as they are
pub fn finish_response(
    mime: &MimeTypes,
    dir: &DirConfig,
    conn: &ConnInfo,
    head: &RequestHead,
    filename: Option<&Path>,
    error: bool,
    started: SystemTime,
    notes: &mut Notes,
    resp: &mut Response,
) {
    let h = &dir.headers;
    if !dir.expires.enabled() && h.onsuccess.is_empty() && h.always.is_empty() {
        return;
    }
    super::expires::apply(mime, dir, filename, error, started, resp);
    let mut expr = ExprRequest::new(head, conn).with_dir(dir);
    if let Some(f) = filename {
        expr = expr.with_filename(f);
    }
    let ctx = Ctx {
        dir,
        conn,
        started,
        expr,
        response: true,
    };
    let echo = Some(&head.headers);
    if h.always.iter().chain(h.onsuccess.iter()).any(|e| e.early) {
        let mut early = HeaderMap::new();
        apply_list(&ctx, &h.always, true, &mut early, echo, notes);
        if !error {
            apply_list(&ctx, &h.onsuccess, true, &mut early, echo, notes);
        }
        for name in early.keys() {
            if !resp.headers.contains_key(name) {
                for v in early.get_all(name) {
                    resp.headers.append(name.clone(), v.clone());
                }
            }
        }
    }
    apply_list(&ctx, &h.always, false, &mut resp.headers, echo, notes);
    if !error {
        apply_list(&ctx, &h.onsuccess, false, &mut resp.headers, echo, notes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conf::headers::{HeadersDir, Table, parse_line};
    use crate::handler::Body;
    use proptest::prelude::*;
    use rhttpd_http::StatusCode;
    use std::sync::Arc;

    fn conn() -> ConnInfo {
        ConnInfo::new(
            "127.0.0.1:5000".parse().unwrap(),
            "127.0.0.1:80".parse().unwrap(),
        )
    }

    fn dir(lines: &[&[&str]]) -> DirConfig {
        let mut h = HeadersDir::default();
        for l in lines {
            let (req, rest) = match l[0] {
                "RequestHeader" => (true, &l[1..]),
                _ => (false, &l[1..]),
            };
            let args: Vec<String> = rest.iter().map(|s| s.to_string()).collect();
            let (t, e) = parse_line(req, &args, false).unwrap();
            let list = match t {
                Table::In => &mut h.request,
                Table::Out => &mut h.onsuccess,
                Table::Err => &mut h.always,
            };
            Arc::make_mut(list).push(e);
        }
        DirConfig {
            headers: h,
            ..Default::default()
        }
    }

    fn head(headers: &[(&str, &str)]) -> RequestHead {
        let raw = headers
            .iter()
            .map(|(k, v)| format!("{k}: {v}\r\n"))
            .collect::<String>();
        let text = format!("GET / HTTP/1.1\r\nHost: x\r\n{raw}\r\n");
        match rhttpd_http::parse_request_head(text.as_bytes(), &rhttpd_http::Limits::default()) {
            Ok(Some(h)) => h,
            other => panic!("{other:?}"),
        }
    }

    fn run(d: &DirConfig, resp: &mut Response, error: bool, h: &RequestHead) -> Notes {
        let mut notes = Notes::new();
        finish_response(
            &MimeTypes::builtin(),
            d,
            &conn(),
            h,
            None,
            error,
            SystemTime::now(),
            &mut notes,
            resp,
        );
        notes
    }

    fn all(r: &Response, n: &str) -> Vec<String> {
        r.headers
            .get_all(n)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn actions() {
        let d = dir(&[
            &["Header", "set", "X-Set", "a"],
            &["Header", "add", "X-Add", "1"],
            &["Header", "add", "X-Add", "2"],
            &["Header", "append", "Cache-Control", "public"],
            &["Header", "merge", "Vary", "Accept"],
            &["Header", "merge", "Vary", "Cookie"],
            &["Header", "setifempty", "X-Own", "no"],
            &["Header", "setifempty", "X-New", "yes"],
            &["Header", "unset", "X-Gone"],
            &["Header", "edit", "X-Edit", "o", "0"],
            &["Header", "edit*", "X-EditAll", "(o)", "[$1]"],
            &["Header", "echo", "^X-Req"],
            &["Header", "set", "X-Pct", "100%% %{FOO}e"],
            &["Header", "note", "X-Set", "n"],
            &["Header", "note", "X-Absent", "m"],
        ]);
        let mut r = Response::new(StatusCode::OK, Body::Empty);
        for (k, v) in [
            ("vary", "Accept"),
            ("x-own", "mine"),
            ("x-gone", "1"),
            ("x-edit", "foo"),
            ("x-editall", "foo"),
            ("cache-control", "max-age=5"),
        ] {
            r.headers.insert(k, HeaderValue::from_static(v));
        }
        let notes = run(
            &d,
            &mut r,
            false,
            &head(&[("X-Req-A", "1"), ("Other", "2")]),
        );
        assert_eq!(notes, [("n".to_string(), "a".to_string())]);
        assert_eq!(all(&r, "x-set"), ["a"]);
        assert_eq!(all(&r, "x-add"), ["1", "2"]);
        assert_eq!(all(&r, "cache-control"), ["max-age=5, public"]);
        assert_eq!(all(&r, "vary"), ["Accept, Cookie"]);
        assert_eq!(all(&r, "x-own"), ["mine"]);
        assert_eq!(all(&r, "x-new"), ["yes"]);
        assert!(all(&r, "x-gone").is_empty());
        assert_eq!(all(&r, "x-edit"), ["f0o"]);
        assert_eq!(all(&r, "x-editall"), ["f[o][o]"]);
        assert_eq!(all(&r, "x-req-a"), ["1"]);
        assert!(all(&r, "other").is_empty());
        assert_eq!(all(&r, "x-pct"), ["100% (null)"]);
    }

    #[test]
    fn onsuccess_always_and_conditions() {
        let mut d = dir(&[
            &["Header", "set", "X-Ok", "1"],
            &["Header", "always", "set", "X-Always", "1"],
            &["Header", "set", "X-If", "%{FOO}e", "env=FOO"],
            &["Header", "set", "X-IfNot", "1", "env=!FOO"],
        ]);
        let h = head(&[]);
        let mut r = Response::new(StatusCode::NOT_FOUND, Body::Empty);
        run(&d, &mut r, true, &h);
        assert_eq!(all(&r, "x-always"), ["1"]);
        assert!(all(&r, "x-ok").is_empty());
        let mut r = Response::new(StatusCode::OK, Body::Empty);
        run(&d, &mut r, false, &h);
        assert_eq!(all(&r, "x-ok"), ["1"]);
        assert!(all(&r, "x-if").is_empty());
        assert_eq!(all(&r, "x-ifnot"), ["1"]);
        d.env.vars = Arc::new(vec![("foo".into(), "bar\nbaz".into())]);
        let mut r = Response::new(StatusCode::OK, Body::Empty);
        run(&d, &mut r, false, &h);
        assert_eq!(all(&r, "x-if"), ["bar baz"]);
        assert!(all(&r, "x-ifnot").is_empty());
    }

    #[test]
    fn early_and_request_lines() {
        let d = dir(&[
            &["Header", "set", "Content-Type", "early/x", "early"],
            &["Header", "set", "X-Early", "1", "early"],
            &["RequestHeader", "set", "X-In", "e", "early"],
            &["RequestHeader", "append", "X-In", "late"],
            &["RequestHeader", "unset", "Cookie"],
        ]);
        let mut r = Response::new(StatusCode::OK, Body::Empty);
        r.headers
            .insert("content-type", HeaderValue::from_static("text/html"));
        run(&d, &mut r, false, &head(&[]));
        assert_eq!(all(&r, "content-type"), ["text/html"]);
        assert_eq!(all(&r, "x-early"), ["1"]);
        let h = head(&[("Cookie", "a=b")]);
        let mut notes = Notes::new();
        let e = early_request(&d, &conn(), &h, &mut notes).unwrap();
        assert_eq!(e.headers.get("x-in").unwrap(), "e");
        let f = request_fixup(&d, &conn(), &e, &mut notes).unwrap();
        assert_eq!(f.headers.get("x-in").unwrap(), "e, late");
        assert!(f.headers.get("cookie").is_none());
        assert!(request_fixup(&DirConfig::default(), &conn(), &h, &mut notes).is_none());
    }

    #[test]
    fn format_tags() {
        let d = dir(&[&["Header", "set", "X-T", "%t %D %{SSL_PROTOCOL}s"]]);
        let mut r = Response::new(StatusCode::OK, Body::Empty);
        run(&d, &mut r, false, &head(&[]));
        let v = all(&r, "x-t").remove(0);
        let parts: Vec<&str> = v.split(' ').collect();
        assert!(
            parts[0].starts_with("t=") && parts[0][2..].parse::<u128>().is_ok(),
            "{v}"
        );
        assert!(
            parts[1].starts_with("D=") && parts[1][2..].parse::<u128>().is_ok(),
            "{v}"
        );
        assert_eq!(parts[2], "(null)");
    }

    #[test]
    fn tokens() {
        assert!(has_token(b"a, b", b"b"));
        assert!(has_token(b"\"x,y\", b", b"\"x,y\""));
        assert!(!has_token(b"a , b", b"a"));
        assert!(!has_token(b"", b"a"));
    }

    proptest! {
        #[test]
        fn edit_never_panics(pat in "[a-z.*()|?]{0,6}", subs in ".{0,12}", v in ".{0,24}") {
            let args = vec!["edit*".to_string(), "X".to_string(), pat, subs];
            if let Ok((_, e)) = parse_line(false, &args, false) {
                let s = match &e.value.0[..] {
                    [Tag::Lit(l)] => l.clone(),
                    _ => String::new(),
                };
                let _ = edit(&e, &s, &v);
            }
        }

        #[test]
        fn tokens_never_panic(list in proptest::collection::vec(any::<u8>(), 0..32), t in "[a-z\"]{0,4}") {
            let _ = has_token(&list, t.as_bytes());
        }
    }
}
