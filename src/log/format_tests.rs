use super::*;
use http::HeaderValue;

/// A representative record: `GET /index.html?a=1 HTTP/1.1` from 127.0.0.1:51234 to
/// 127.0.0.1:8080, started at 1_700_000_000.123456 (Tue Nov 14 22:13:20 2023 UTC), took
/// 1.5 s, final status 404, original 200, 1234 body bytes.
pub(crate) fn record<'a>(req: &'a HeaderMap, resp: &'a HeaderMap) -> LogRecord<'a> {
    LogRecord {
        client: "127.0.0.1:51234".parse().unwrap(),
        local: "127.0.0.1:8080".parse().unwrap(),
        remote_user: None,
        request_time: UNIX_EPOCH + Duration::from_micros(1_700_000_000_123_456),
        duration: Duration::from_micros(1_500_250),
        request_line: "GET /index.html?a=1 HTTP/1.1",
        method: "GET",
        uri_path: "/index.html",
        query: Some("a=1"),
        protocol: "HTTP/1.1",
        status: 404,
        original_status: 200,
        body_bytes: 1234,
        bytes_in: 100,
        bytes_out: 1500,
        request_headers: req,
        response_headers: resp,
        server_name: "www.example.com",
        host_header: Some("example.org"),
        server_port: 80,
        filename: Some(Path::new("/var/www/html/index.html")),
        keepalives: 3,
        conn_status: '+',
        ssl_var: &|_| None,
        env_var: &|name| (name == "FOO").then(|| "bar baz".to_string()),
        notes: &[],
    }
}

fn render(fmt: &str, rec: &LogRecord<'_>) -> String {
    let f = LogFormat::compile(fmt).unwrap_or_else(|e| panic!("{fmt}: {e}"));
    let mut out = Vec::new();
    f.render(rec, &mut out);
    let s = String::from_utf8(out).unwrap();
    s.strip_suffix('\n').unwrap().to_string()
}

fn headers(pairs: &[(&str, &[u8])]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_bytes(v).unwrap(),
        );
    }
    h
}

fn r(fmt: &str) -> String {
    let h = HeaderMap::new();
    render(fmt, &record(&h, &h))
}

#[test]
fn simple_items() {
    assert_eq!(r("%%"), "%");
    assert_eq!(
        r("%a %{c}a %A %h %{c}h %l"),
        "127.0.0.1 127.0.0.1 127.0.0.1 127.0.0.1 127.0.0.1 -"
    );
    assert_eq!(r("%f"), "/var/www/html/index.html");
    assert_eq!(
        r("%H %m %q %r"),
        "HTTP/1.1 GET ?a=1 GET /index.html?a=1 HTTP/1.1"
    );
    assert_eq!(r("%k %X"), "3 +");
    assert_eq!(r("%U %v %V"), "/index.html www.example.com example.org");
    assert_eq!(r("%I %O %S"), "100 1500 1600");
    assert_eq!(r("%u"), "-");
    assert_eq!(
        r("%e %{BAR}e %{note}n %L %R %^ti %^to %^FB"),
        "- - - - - - - -"
    );
    // mod_env's variables (escaped like every other item).
    assert_eq!(r("%{FOO}e"), "bar baz");
    // mod_headers' notes, looked up case-insensitively.
    let h = HeaderMap::new();
    let notes = [("Cookie-Note".to_string(), "a=\"b\"".to_string())];
    let rec = LogRecord {
        notes: &notes,
        ..record(&h, &h)
    };
    assert_eq!(render("%{cookie-note}n %{other}n", &rec), "a=\\\"b\\\" -");
    assert!(r("ok").starts_with("ok"));
    assert_eq!(r(""), "");
}

#[test]
fn status_original_and_final() {
    assert_eq!(r("%s %>s %<s"), "200 404 200");
    let h = HeaderMap::new();
    let mut rec = record(&h, &h);
    rec.status = 0;
    assert_eq!(render("%>s", &rec), "-");
}

#[test]
fn bytes_clf_vs_plain() {
    assert_eq!(r("%b %B"), "1234 1234");
    let h = HeaderMap::new();
    let mut rec = record(&h, &h);
    rec.body_bytes = 0;
    assert_eq!(render("%b %B", &rec), "- 0");
}

#[test]
fn durations() {
    assert_eq!(
        r("%D %T %{s}T %{ms}T %{us}T %{MS}T"),
        "1500250 1 1 1500 1500250 1500"
    );
    assert_eq!(r("%{bogus}T"), "bogus");
}

#[test]
fn ports_and_ids() {
    assert_eq!(
        r("%p %{canonical}p %{local}p %{remote}p %{x}p"),
        "80 80 8080 51234 x"
    );
    assert_eq!(r("%P"), std::process::id().to_string());
    assert_eq!(r("%{pid}P"), std::process::id().to_string());
    let tid = sink::tid();
    assert_eq!(r("%{tid}P %{hextid}P"), format!("{tid} {tid:x}"));
    assert_eq!(r("%{what}P"), "what");
}

#[test]
fn user_variants() {
    let h = HeaderMap::new();
    let mut rec = record(&h, &h);
    rec.remote_user = Some("");
    assert_eq!(render("%u", &rec), "\"\"");
    rec.remote_user = Some("bob \"x\"");
    assert_eq!(render("%u", &rec), "bob \\\"x\\\"");
}

#[test]
fn query_and_filename_absent() {
    let h = HeaderMap::new();
    let mut rec = record(&h, &h);
    rec.query = None;
    rec.filename = None;
    rec.host_header = None;
    assert_eq!(render("[%q] %f %V", &rec), "[] - www.example.com");
    rec.query = Some("");
    assert_eq!(render("[%q]", &rec), "[?]");
}

#[test]
fn request_headers() {
    let req = headers(&[
        ("user-agent", b"curl/8"),
        ("accept", b"a"),
        ("accept", b"b"),
        ("x-empty", b""),
        ("x-quote", b"say \"hi\" \\o/\t\xe9"),
    ]);
    let resp = HeaderMap::new();
    let rec = record(&req, &resp);
    assert_eq!(
        render("%{User-Agent}i|%{user-agent}i", &rec),
        "curl/8|curl/8"
    );
    assert_eq!(render("%{Accept}i", &rec), "a, b");
    assert_eq!(
        render("[%{X-Empty}i] %{Referer}i %{bad name}i", &rec),
        "[] - -"
    );
    assert_eq!(render("%{X-Quote}i", &rec), "say \\\"hi\\\" \\\\o/\\t\\xe9");
}

#[test]
fn response_headers() {
    let resp = headers(&[
        ("content-type", b"text/html ; charset=utf-8"),
        ("set-cookie", b"a=1"),
        ("set-cookie", b"b=2"),
        ("x-multi", b"first"),
        ("x-multi", b"second"),
    ]);
    let req = HeaderMap::new();
    let rec = record(&req, &resp);
    assert_eq!(render("%{Content-Type}o", &rec), "text/html");
    assert_eq!(render("%{Set-Cookie}o", &rec), "a=1, b=2");
    assert_eq!(render("%{X-Multi}o %{Location}o", &rec), "first -");
}

#[test]
fn cookies() {
    let req = headers(&[("cookie", b"a=1; SessID = xyz ; empty=; c=\"q\"")]);
    let resp = HeaderMap::new();
    let rec = record(&req, &resp);
    assert_eq!(
        render("%{sessid}C %{a}C %{empty}C %{c}C %{zz}C", &rec),
        "xyz 1 - \\\"q\\\" -"
    );
}

#[test]
fn escaping_of_request_fields() {
    let h = HeaderMap::new();
    let mut rec = record(&h, &h);
    rec.request_line = "GET /a\"b\\c\x01\n HTTP/1.1";
    rec.uri_path = "/ü";
    rec.method = "G\tT";
    assert_eq!(render("%r", &rec), "GET /a\\\"b\\\\c\\x01\\n HTTP/1.1");
    assert_eq!(render("%U %m", &rec), "/\\xc3\\xbc G\\tT");
}

#[test]
fn conditions() {
    // status is 404 in the record
    assert_eq!(
        r("%404{Host}i|%400,501{Host}i|%!200,304{Host}i|%!404{Host}i"),
        "-|-|-|-"
    );
    let req = headers(&[("host", b"h")]);
    let resp = HeaderMap::new();
    let rec = record(&req, &resp);
    assert_eq!(
        render(
            "%404{Host}i|%400,501{Host}i|%!200,304{Host}i|%!404{Host}i",
            &rec
        ),
        "h|-|h|-"
    );
    assert_eq!(render("%400,404,501>s %!404b %404b", &rec), "404 - 1234");
    // conditions test the final status even for %<s
    assert_eq!(render("%404<s", &rec), "200");
}

#[test]
fn literal_escapes() {
    assert_eq!(r(r"a\tb\\c\n"), "a\tb\\c\n");
    assert_eq!(r(r"x\ry"), "x\ry");
    // Other backslashes are kept, as mod_log_config does.
    assert_eq!(r(r#"\"%>s\" \q"#), r#"\"404\" \q"#);
    assert_eq!(r("\"%r\" é"), "\"GET /index.html?a=1 HTTP/1.1\" é");
    assert_eq!(r(r"end\"), r"end\");
}

#[test]
fn compile_errors() {
    assert_eq!(
        LogFormat::compile("%h %Z").unwrap_err(),
        "Unrecognized LogFormat directive %Z"
    );
    assert_eq!(
        LogFormat::compile("%{x}ü").unwrap_err(),
        "Unrecognized LogFormat directive %ü"
    );
    assert_eq!(
        LogFormat::compile("%^zz").unwrap_err(),
        "Unrecognized LogFormat directive %^"
    );
    let ran_off = "Ran off end of LogFormat parsing args to some directive";
    assert_eq!(LogFormat::compile("%h %").unwrap_err(), ran_off);
    assert_eq!(LogFormat::compile("%{User-Agent").unwrap_err(), ran_off);
    assert_eq!(LogFormat::compile("%400,").unwrap_err(), ran_off);
    assert_eq!(
        LogFormat::compile("%99999999999999999999s").map(|_| ()),
        Ok(())
    );
}

#[test]
fn clf_time() {
    let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let dt: DateTime<Local> = DateTime::from(t);
    let off = dt.offset().fix().local_minus_utc();
    let want = format!(
        "[{}]",
        dt.format("%d/%b/%Y:%H:%M:%S ").to_string()
            + &format!(
                "{}{:02}{:02}",
                if off < 0 { '-' } else { '+' },
                off.abs() / 3600,
                off.abs() % 3600 / 60
            )
    );
    assert_eq!(r("%t"), want);
    assert_eq!(r("%{begin}t"), want);
    // twice: the per-second cache must give the same answer
    assert_eq!(r("%t %t"), format!("{want} {want}"));
    let end: DateTime<Local> = DateTime::from(t + Duration::from_micros(123_456 + 1_500_250));
    assert_eq!(
        r("%{end}t"),
        end.format("[%d/%b/%Y:%H:%M:%S %z]").to_string()
    );
    assert!(
        Regex::new(r"^\[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\]$")
            .unwrap()
            .is_match(&want)
    );
}

use regex::Regex;

#[test]
fn numeric_times() {
    assert_eq!(
        r("%{sec}t %{msec}t %{usec}t"),
        "1700000000 1700000000123 1700000000123456"
    );
    assert_eq!(r("%{msec_frac}t %{usec_frac}t"), "123 123456");
    assert_eq!(
        r("%{begin:sec}t %{end:sec}t %{end:usec_frac}t"),
        "1700000000 1700000001 623706"
    );
}

#[test]
fn strftime_times() {
    let t = UNIX_EPOCH + Duration::from_micros(1_700_000_000_123_456);
    let dt: DateTime<Local> = DateTime::from(t);
    assert_eq!(
        r("%{%Y-%m-%d %H:%M:%S}t"),
        dt.format("%Y-%m-%d %H:%M:%S").to_string()
    );
    assert_eq!(r("%{begin:%d/%b}t"), dt.format("%d/%b").to_string());
    let end: DateTime<Local> = DateTime::from(t + Duration::from_micros(1_500_250));
    assert_eq!(r("%{end:%H:%M:%S}t"), end.format("%H:%M:%S").to_string());
    // unknown conversions are printed as written, never a panic
    assert_eq!(r("%{%Q %Y}t"), format!("%Q {}", dt.format("%Y")));
    assert_eq!(r("%{%}t"), "%");
}

#[test]
fn common_and_combined() {
    let req = headers(&[("referer", b"http://r/"), ("user-agent", b"UA 1.0")]);
    let resp = HeaderMap::new();
    let mut rec = record(&req, &resp);
    rec.remote_user = Some("alice");
    let formats = LogFormats::new();
    let mut out = Vec::new();
    formats.resolve("combined").unwrap().render(&rec, &mut out);
    let line = String::from_utf8(out).unwrap();
    let re = Regex::new(
        r#"^127\.0\.0\.1 - alice \[[^\]]+\] "GET /index\.html\?a=1 HTTP/1\.1" 404 1234 "http://r/" "UA 1\.0"\n$"#,
    )
    .unwrap();
    assert!(re.is_match(&line), "{line:?}");
    assert_eq!(formats.get("common").unwrap().source(), DEFAULT_LOG_FORMAT);
    assert_eq!(LogFormat::default().source(), DEFAULT_LOG_FORMAT);
    assert_eq!(render("%v:%p %>s %O", &rec), "www.example.com:80 404 1500");
    assert!(
        formats
            .get("vhost_combined")
            .unwrap()
            .source()
            .starts_with("%v:%p ")
    );
}

#[test]
fn nicknames_resolve_like_apache() {
    let mut f = LogFormats::new();
    f.define("%h %>s", Some("short")).unwrap();
    assert_eq!(f.resolve("short").unwrap().source(), "%h %>s");
    // Not a nickname: the argument is the format itself (even without any %).
    assert_eq!(f.resolve("nosuchnick").unwrap().source(), "nosuchnick");
    assert_eq!(r("nosuchnick"), "nosuchnick");
    assert_eq!(f.resolve("%m").unwrap().source(), "%m");
    assert_eq!(
        f.resolve("%j").unwrap_err(),
        "Unrecognized LogFormat directive %j"
    );
    assert_eq!(
        f.define("%j", Some("bad")).unwrap_err(),
        "Unrecognized LogFormat directive %j"
    );
    // Redefining a predefined nickname wins; the default format can be replaced.
    f.define("%U", Some("combined")).unwrap();
    assert_eq!(f.resolve("combined").unwrap().source(), "%U");
    assert_eq!(f.default_format().source(), DEFAULT_LOG_FORMAT);
    f.define("%m", None).unwrap();
    assert_eq!(f.default_format().source(), "%m");
}

#[test]
fn merge_overlays_inner_definitions() {
    let mut outer = LogFormats::new();
    outer.define("%U", Some("combined")).unwrap();
    outer.define("%m", None).unwrap();
    let mut inner = LogFormats::new();
    inner.define("%q", Some("mine")).unwrap();
    let m = outer.merge(&inner);
    // the vhost did not redefine combined: the main server's definition stays
    assert_eq!(m.resolve("combined").unwrap().source(), "%U");
    assert_eq!(m.resolve("mine").unwrap().source(), "%q");
    assert_eq!(m.default_format().source(), "%m");
    inner.define("%H", None).unwrap();
    assert_eq!(outer.merge(&inner).default_format().source(), "%H");
}

#[test]
fn ipv6_and_mapped_addresses() {
    let h = HeaderMap::new();
    let mut rec = record(&h, &h);
    rec.client = "[::ffff:192.0.2.7]:4000".parse().unwrap();
    rec.local = "[2001:db8::1]:443".parse().unwrap();
    assert_eq!(
        render("%a %h %A %{remote}p %{local}p", &rec),
        "192.0.2.7 192.0.2.7 2001:db8::1 4000 443"
    );
}

#[test]
fn conn_status_and_aborted() {
    let h = HeaderMap::new();
    let mut rec = record(&h, &h);
    rec.conn_status = 'X';
    assert_eq!(render("%X", &rec), "X");
}

#[test]
fn never_panics_on_arbitrary_formats() {
    let h = headers(&[("cookie", b"=;;=x; a"), ("host", b"h")]);
    let rec = record(&h, &h);
    let pieces = [
        "%", "{", "}", "!", "<", ">", ",", "4", "0", "t", "i", "C", "\\", "^", "a", "é", "%Y", "T",
        "x",
    ];
    let mut state = 12345u64;
    for _ in 0..5000 {
        let mut s = String::new();
        for _ in 0..8 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            s.push_str(pieces[(state >> 33) as usize % pieces.len()]);
        }
        if let Ok(f) = LogFormat::compile(&s) {
            let mut out = Vec::new();
            f.render(&rec, &mut out);
            assert_eq!(out.last(), Some(&b'\n'));
        }
    }
}
