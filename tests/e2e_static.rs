//! End-to-end tests of static file serving against the real binary: bodies (small and
//! multi-MiB, sendfile on and off), validators and conditionals, ranges, MIME types,
//! directories, access control, aliases, error documents, redirects, path safety,
//! symlink policy and server signatures; plus curl for ranges, conditionals and HEAD.

mod common;

use common::*;
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A fixed mtime well in the past, so ETags are strong and Last-Modified is known.
fn old_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_600_000_000) + Duration::from_micros(123_456)
}

const OLD_DATE: &str = "Sun, 13 Sep 2020 12:26:40 GMT";

fn req(srv: &Server, method: &str, path: &str, extra: &str) -> Resp {
    let raw = srv.raw(
        format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{extra}\r\n")
            .as_bytes(),
    );
    let r = if method == "HEAD" {
        parse_response_head_only(&raw)
    } else {
        parse_response(&raw)
    };
    r.unwrap_or_else(|| panic!("unparseable: {:?}", String::from_utf8_lossy(&raw)))
}

/// Deterministic pseudo-random bytes.
fn pattern(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

fn digits_file(srv: &Server) {
    srv.write("htdocs/d.txt", "0123456789abcdefghij");
    srv.set_mtime("htdocs/d.txt", old_time());
}

// ---------------------------------------------------------------------------------------
// Bodies

#[test]
fn get_and_head_of_files() {
    let srv = Server::start("");
    srv.write("htdocs/a.txt", "hello a\n");
    srv.write("htdocs/empty.txt", "");
    let r = srv.get("/a.txt");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"hello a\n");
    assert_eq!(r.header("content-length"), Some("8"));
    assert_eq!(r.header("accept-ranges"), Some("bytes"));
    let r = srv.get("/empty.txt");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some("0"));
    assert!(r.body.is_empty());
    let h = req(&srv, "HEAD", "/a.txt", "");
    assert_eq!(h.status, 200);
    assert_eq!(h.header("content-length"), Some("8"));
    assert_eq!(h.wire_len, srv.raw(b"HEAD /a.txt HTTP/1.0\r\n\r\n").len());
}

fn big_file_roundtrip(sendfile: &str) {
    let srv = Server::start(&format!("EnableSendfile {sendfile}\n"));
    let data = pattern(5 * 1024 * 1024 + 17);
    srv.write("htdocs/big.bin", &data);
    let r = srv.get("/big.bin");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-length"),
        Some(data.len().to_string().as_str())
    );
    assert!(r.body == data, "body differs (EnableSendfile {sendfile})");
    // A range from the middle of the big file.
    let r = req(&srv, "GET", "/big.bin", "Range: bytes=3000000-3999999\r\n");
    assert_eq!(r.status, 206);
    assert!(r.body == data[3_000_000..4_000_000]);
    // Two in a row on one connection (the file body does not disturb framing).
    let mut c = srv.connect();
    use std::io::Write;
    c.write_all(
        b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\nGET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n",
    )
    .unwrap();
    let rs = read_responses(&mut c, &[false, false]);
    assert_eq!(rs.len(), 2);
    assert!(rs[0].body == data && rs[1].body == data);
}

#[test]
fn big_file_with_sendfile_on() {
    big_file_roundtrip("On");
}

#[test]
fn big_file_with_sendfile_off() {
    big_file_roundtrip("Off");
}

// ---------------------------------------------------------------------------------------
// Validators and conditionals

#[test]
fn etag_follows_file_etag() {
    let srv = Server::start(
        "<Files \"n-*\">\n  FileETag None\n</Files>\n\
         <Files \"all-*\">\n  FileETag All\n</Files>\n\
         <Files \"i-*\">\n  FileETag INode\n</Files>\n",
    );
    for f in ["x.txt", "n-x.txt", "all-x.txt", "i-x.txt"] {
        srv.write(&format!("htdocs/{f}"), "0123456789abcdefghij");
        srv.set_mtime(&format!("htdocs/{f}"), old_time());
    }
    let usec = 1_600_000_000_123_456u64;
    let r = srv.get("/x.txt");
    assert_eq!(r.header("etag"), Some(format!("\"14-{usec:x}\"").as_str()));
    assert_eq!(r.header("last-modified"), Some(OLD_DATE));
    let r = srv.get("/n-x.txt");
    assert_eq!(r.status, 200);
    assert!(r.header("etag").is_none(), "{:?}", r.headers);
    assert_eq!(r.header("last-modified"), Some(OLD_DATE));
    let ino = std::fs::metadata(srv.path("htdocs/all-x.txt"))
        .unwrap()
        .ino();
    let r = srv.get("/all-x.txt");
    assert_eq!(
        r.header("etag"),
        Some(format!("\"{ino:x}-14-{usec:x}\"").as_str())
    );
    let ino = std::fs::metadata(srv.path("htdocs/i-x.txt")).unwrap().ino();
    let r = srv.get("/i-x.txt");
    assert_eq!(r.header("etag"), Some(format!("\"{ino:x}\"").as_str()));
}

#[test]
fn fresh_file_gets_weak_etag() {
    let srv = Server::start("");
    srv.write("htdocs/new.txt", "new");
    let r = srv.get("/new.txt");
    let et = r.header("etag").expect("ETag");
    assert!(et.starts_with("W/\""), "{et}");
}

#[test]
fn conditional_requests() {
    let srv = Server::start("");
    digits_file(&srv);
    let et = srv.get("/d.txt").header("etag").unwrap().to_string();

    let r = req(&srv, "GET", "/d.txt", &format!("If-None-Match: {et}\r\n"));
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    assert_eq!(r.header("etag"), Some(et.as_str()));
    let r = req(&srv, "GET", "/d.txt", "If-None-Match: \"other\", *\r\n");
    assert_eq!(r.status, 304);
    let r = req(&srv, "GET", "/d.txt", "If-None-Match: \"other\"\r\n");
    assert_eq!(r.status, 200);

    let r = req(
        &srv,
        "GET",
        "/d.txt",
        &format!("If-Modified-Since: {OLD_DATE}\r\n"),
    );
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    let r = req(
        &srv,
        "GET",
        "/d.txt",
        "If-Modified-Since: Sat, 12 Sep 2020 00:00:00 GMT\r\n",
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"0123456789abcdefghij");

    let r = req(&srv, "GET", "/d.txt", "If-Match: \"nope\"\r\n");
    assert_eq!(r.status, 412);
    let r = req(&srv, "GET", "/d.txt", &format!("If-Match: {et}\r\n"));
    assert_eq!(r.status, 200);
    let r = req(
        &srv,
        "GET",
        "/d.txt",
        "If-Unmodified-Since: Sat, 12 Sep 2020 00:00:00 GMT\r\n",
    );
    assert_eq!(r.status, 412);
    let r = req(
        &srv,
        "GET",
        "/d.txt",
        &format!("If-Unmodified-Since: {OLD_DATE}\r\n"),
    );
    assert_eq!(r.status, 200);
}

/// Apache 2.4.71 keeps the handler's fields on a 304 (for a static file: Last-Modified,
/// ETag and Accept-Ranges) and drops only Content-Length and Content-Type.
#[test]
fn not_modified_keeps_validators_and_accept_ranges() {
    let srv = Server::start("");
    digits_file(&srv);
    let et = srv.get("/d.txt").header("etag").unwrap().to_string();
    for cond in [
        format!("If-None-Match: {et}\r\n"),
        format!("If-Modified-Since: {OLD_DATE}\r\n"),
    ] {
        let r = req(&srv, "GET", "/d.txt", &cond);
        assert_eq!(r.status, 304, "{cond}");
        assert_eq!(r.header("last-modified"), Some(OLD_DATE), "{cond}");
        assert_eq!(r.header("etag"), Some(et.as_str()), "{cond}");
        assert_eq!(r.header("accept-ranges"), Some("bytes"), "{cond}");
        assert_eq!(r.header("content-type"), None, "{cond}");
        assert_eq!(r.header("content-length"), None, "{cond}");
        assert!(r.body.is_empty());
    }
}

// ---------------------------------------------------------------------------------------
// Ranges

#[test]
fn single_range() {
    let srv = Server::start("");
    digits_file(&srv);
    for (spec, body, cr) in [
        ("bytes=0-4", "01234", "bytes 0-4/20"),
        ("bytes=15-", "fghij", "bytes 15-19/20"),
        ("bytes=-3", "hij", "bytes 17-19/20"),
        ("bytes=18-100", "ij", "bytes 18-19/20"),
    ] {
        let r = req(&srv, "GET", "/d.txt", &format!("Range: {spec}\r\n"));
        assert_eq!(r.status, 206, "{spec}");
        assert_eq!(r.text(), body, "{spec}");
        assert_eq!(r.header("content-range"), Some(cr), "{spec}");
        assert_eq!(
            r.header("content-length"),
            Some(body.len().to_string().as_str())
        );
    }
}

#[test]
fn multiple_ranges_are_multipart_byteranges() {
    let srv = Server::start("");
    digits_file(&srv);
    let r = req(&srv, "GET", "/d.txt", "Range: bytes=0-1,5-7,-2\r\n");
    assert_eq!(r.status, 206);
    let ct = r.header("content-type").unwrap();
    let boundary = ct
        .strip_prefix("multipart/byteranges; boundary=")
        .unwrap_or_else(|| panic!("{ct}"));
    assert_eq!(
        r.header("content-length"),
        Some(r.body.len().to_string().as_str())
    );
    let text = r.text();
    let parts: Vec<&str> = text
        .split(&format!("--{boundary}"))
        .filter(|p| !p.trim().is_empty() && p.trim() != "--")
        .collect();
    assert_eq!(parts.len(), 3, "{text}");
    let want = [
        ("bytes 0-1/20", "01"),
        ("bytes 5-7/20", "567"),
        ("bytes 18-19/20", "ij"),
    ];
    for (p, (cr, body)) in parts.iter().zip(want) {
        let (head, data) = p.split_once("\r\n\r\n").expect("part head");
        assert!(
            head.contains("Content-type: text/plain") || head.contains("Content-Type: text/plain"),
            "{head}"
        );
        assert!(
            head.contains(&format!("Content-range: {cr}"))
                || head.contains(&format!("Content-Range: {cr}")),
            "{head}"
        );
        assert_eq!(data.trim_end_matches("\r\n"), body);
    }
    assert!(
        text.trim_end().ends_with(&format!("--{boundary}--")),
        "{text}"
    );
}

#[test]
fn if_range_and_unsatisfiable_ranges() {
    let srv = Server::start("");
    digits_file(&srv);
    let et = srv.get("/d.txt").header("etag").unwrap().to_string();
    let r = req(
        &srv,
        "GET",
        "/d.txt",
        &format!("Range: bytes=0-2\r\nIf-Range: {et}\r\n"),
    );
    assert_eq!(r.status, 206);
    assert_eq!(r.text(), "012");
    let r = req(
        &srv,
        "GET",
        "/d.txt",
        "Range: bytes=0-2\r\nIf-Range: \"old\"\r\n",
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "0123456789abcdefghij");
    let r = req(
        &srv,
        "GET",
        "/d.txt",
        &format!("Range: bytes=0-2\r\nIf-Range: {OLD_DATE}\r\n"),
    );
    assert_eq!(r.status, 206);
    let r = req(
        &srv,
        "GET",
        "/d.txt",
        "Range: bytes=0-2\r\nIf-Range: Sat, 12 Sep 2020 00:00:00 GMT\r\n",
    );
    assert_eq!(r.status, 200);

    let r = req(&srv, "GET", "/d.txt", "Range: bytes=50-60\r\n");
    assert_eq!(r.status, 416);
    assert_eq!(r.header("content-range"), Some("bytes */20"));
    assert!(!r.text().contains("0123"));
}

// ---------------------------------------------------------------------------------------
// MIME types

#[test]
fn mime_types_from_types_config_and_add_type() {
    let extra = tempfile::tempdir().unwrap();
    let types = extra.path().join("mime.types");
    std::fs::write(
        &types,
        "# test table\ntext/html html htm\napplication/x-zork zork\nimage/png png\n",
    )
    .unwrap();
    let srv = Server::start(&format!(
        "TypesConfig \"{}\"\nAddType application/x-custom .cust\n",
        types.display()
    ));
    for f in [
        "a.html",
        "a.zork",
        "a.png",
        "a.cust",
        "a.unknownext",
        "a.txt",
    ] {
        srv.write(&format!("htdocs/{f}"), "x");
    }
    assert_eq!(srv.get("/a.html").header("content-type"), Some("text/html"));
    assert_eq!(
        srv.get("/a.zork").header("content-type"),
        Some("application/x-zork")
    );
    assert_eq!(srv.get("/a.png").header("content-type"), Some("image/png"));
    assert_eq!(
        srv.get("/a.cust").header("content-type"),
        Some("application/x-custom")
    );
    // Not in this table: no Content-Type at all (Apache 2.4 has no DefaultType).
    assert_eq!(srv.get("/a.unknownext").header("content-type"), None);
    assert_eq!(srv.get("/a.txt").header("content-type"), None);
}

#[test]
fn add_default_charset() {
    let srv = Server::start("AddDefaultCharset UTF-8\nAddType image/x-foo .foo\n");
    for f in ["a.txt", "a.html", "a.foo"] {
        srv.write(&format!("htdocs/{f}"), "x");
    }
    assert_eq!(
        srv.get("/a.txt").header("content-type"),
        Some("text/plain; charset=UTF-8")
    );
    assert_eq!(
        srv.get("/a.html").header("content-type"),
        Some("text/html; charset=UTF-8")
    );
    assert_eq!(
        srv.get("/a.foo").header("content-type"),
        Some("image/x-foo")
    );
    let srv = Server::start("AddDefaultCharset On\n");
    srv.write("htdocs/a.txt", "x");
    assert_eq!(
        srv.get("/a.txt").header("content-type"),
        Some("text/plain; charset=iso-8859-1")
    );
}

// ---------------------------------------------------------------------------------------
// Directories

#[test]
fn directory_index_and_listings() {
    let srv = Server::start("DirectoryIndex index.html home.htm\n");
    srv.write("htdocs/d1/index.html", "<p>index</p>");
    srv.write("htdocs/d1/home.htm", "home");
    srv.write("htdocs/d2/home.htm", "home2");
    srv.write("htdocs/d3/x.txt", "x");
    let r = srv.get("/d1/");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "<p>index</p>");
    assert_eq!(r.header("content-type"), Some("text/html"));
    let r = srv.get("/d2/");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "home2");
    let r = srv.get("/d3/");
    assert_eq!(r.status, 403, "no index and no Options Indexes");

    // Trailing-slash redirect, query kept.
    let r = srv.get("/d3?x=1");
    assert_eq!(r.status, 301);
    let loc = r.header("location").unwrap();
    assert!(loc.ends_with("/d3/?x=1"), "{loc}");
    assert!(loc.starts_with("http://localhost/"), "{loc}");
}

#[test]
fn directory_listing_with_options_indexes() {
    let srv = Server::start("<Location \"/list\">\n  Options +Indexes\n</Location>\n");
    srv.write("htdocs/list/a file.txt", "a");
    srv.write("htdocs/list/b.txt", "b");
    srv.write("htdocs/list/sub/c.txt", "c");
    let r = srv.get("/list/");
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    let t = r.text();
    assert!(t.contains("Index of /list"), "{t}");
    for href in [
        "href=\"a%20file.txt\"",
        "href=\"b.txt\"",
        "href=\"sub/\"",
        "href=\"/\"",
    ] {
        assert!(t.contains(href), "missing {href}: {t}");
    }
    // The links work.
    assert_eq!(srv.get("/list/a%20file.txt").text(), "a");
    assert_eq!(srv.get("/list/sub/").status, 200);
    assert_eq!(srv.get("/list/sub/c.txt").text(), "c");
}

// ---------------------------------------------------------------------------------------
// Errors and access control

#[test]
fn missing_file_is_404() {
    let srv = Server::start("");
    srv.write("htdocs/dir/f.txt", "f");
    let r = srv.get("/no/such/file.txt");
    assert_eq!(r.status, 404);
    assert!(r.text().contains("<h1>Not Found</h1>"));
    assert!(
        r.text()
            .contains("The requested URL was not found on this server.")
    );
    assert_eq!(
        r.header("content-type"),
        Some("text/html; charset=iso-8859-1")
    );
    // A file with a trailing slash (path info) is not found either.
    assert_eq!(srv.get("/dir/f.txt/").status, 404);
    assert_eq!(srv.get("/dir/f.txt/extra").status, 404);
}

/// (Needs a server-level `LogLevel info` to reach the error log; the harness sets it.)
#[test]
fn missing_file_logs_ah00128_at_loglevel_info() {
    let srv = Server::start("");
    let r = srv.get("/no/such/file.txt");
    assert_eq!(r.status, 404);
    let log = srv.wait_log("error_log", "AH00128");
    assert!(log.contains("AH00128: File does not exist:"), "{log}");
    assert!(log.contains("htdocs/no/such/file.txt"), "{log}");
}

#[test]
fn require_all_denied_is_403_and_logged() {
    let srv = Server::start("<Location \"/denied\">\n  Require all denied\n</Location>\n");
    srv.write("htdocs/denied/x.txt", "secret");
    srv.write("htdocs/ok.txt", "ok");
    let r = srv.get("/denied/x.txt");
    assert_eq!(r.status, 403);
    assert!(!r.text().contains("secret"));
    let log = srv.wait_log("error_log", "AH01630");
    assert!(
        log.contains("AH01630: client denied by server configuration:"),
        "{log}"
    );
    assert!(log.contains("[client 127.0.0.1:"), "{log}");
    assert_eq!(srv.get("/ok.txt").status, 200);
}

#[test]
fn require_ip_and_host() {
    let srv = Server::start(
        "<Location \"/lo\">\n  Require ip 127.0.0.1\n</Location>\n\
         <Location \"/ten\">\n  Require ip 10.0.0.0/8\n</Location>\n\
         <Location \"/name\">\n  Require host localhost\n</Location>\n\
         <Location \"/other\">\n  Require host example.invalid\n</Location>\n\
         <Location \"/local\">\n  Require local\n</Location>\n",
    );
    for d in ["lo", "ten", "name", "other", "local"] {
        srv.write(&format!("htdocs/{d}/f.txt"), d);
    }
    assert_eq!(srv.get("/lo/f.txt").status, 200);
    assert_eq!(srv.get("/ten/f.txt").status, 403);
    assert_eq!(srv.get("/name/f.txt").status, 200);
    assert_eq!(srv.get("/other/f.txt").status, 403);
    assert_eq!(srv.get("/local/f.txt").status, 200);
}

#[test]
fn files_and_location_sections_deny() {
    let srv = Server::start(
        "<Files \"*.secret\">\n  Require all denied\n</Files>\n\
         <Location /private>\n  Require all denied\n</Location>\n\
         <Location /w*>\n  Require all denied\n</Location>\n",
    );
    srv.write("htdocs/w1x.txt", "w");
    srv.write("htdocs/w1/w.txt", "w");
    srv.write("htdocs/a.secret", "s");
    srv.write("htdocs/sub/b.secret", "s");
    srv.write("htdocs/a.public", "p");
    srv.write("htdocs/private/x.txt", "x");
    srv.write("htdocs/privateer.txt", "y");
    assert_eq!(srv.get("/a.secret").status, 403);
    assert_eq!(srv.get("/sub/b.secret").status, 403);
    assert_eq!(srv.get("/a.public").status, 200);
    assert_eq!(srv.get("/private/x.txt").status, 403);
    assert_eq!(srv.get("/private").status, 403);
    // A plain <Location> ends on a segment boundary (Apache 2.4.71: /privateer.txt is
    // served), a wildcard one matches the whole path with `*` not crossing `/`.
    let r = srv.get("/privateer.txt");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "y");
    assert_eq!(srv.get("/w1x.txt").status, 403);
    assert_eq!(srv.get("/w1").status, 403);
    assert_eq!(srv.get("/w1/w.txt").status, 200);
}

#[test]
fn alias_outside_document_root_with_its_own_directory() {
    let outside = tempfile::tempdir().unwrap();
    let dir = outside.path().display().to_string();
    std::fs::write(outside.path().join("s.txt"), "static s").unwrap();
    std::fs::write(outside.path().join("no.txt"), "blocked").unwrap();
    let srv = Server::start(&format!(
        "Alias /static \"{dir}\"\n\
         <Directory \"{dir}\">\n  Require all granted\n  <Files \"no.txt\">\n    Require all denied\n  </Files>\n</Directory>\n"
    ));
    let r = srv.get("/static/s.txt");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "static s");
    assert_eq!(srv.get("/static/no.txt").status, 403);
    assert_eq!(srv.get("/static/missing").status, 404);
    assert_eq!(srv.get("/staticx/s.txt").status, 404);
}

#[test]
fn error_documents() {
    let srv = Server::start(
        "ErrorDocument 404 /errors/404.html\n\
         ErrorDocument 403 \"Custom forbidden text\"\n\
         ErrorDocument 410 http://example.invalid/\n\
         Redirect gone /gone\n\
         <Location /deny>\n  Require all denied\n</Location>\n",
    );
    srv.write("htdocs/errors/404.html", "<p>custom 404</p>");
    let r = srv.get("/missing.txt");
    assert_eq!(r.status, 404);
    assert_eq!(r.text(), "<p>custom 404</p>");
    assert_eq!(r.header("content-type"), Some("text/html"));
    let r = srv.get("/deny/x");
    assert_eq!(r.status, 403);
    assert_eq!(r.text(), "Custom forbidden text");
    let r = srv.get("/gone");
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some("http://example.invalid/"));
}

#[test]
fn redirect_directive() {
    let srv = Server::start(
        "Redirect /old http://localhost/new\nRedirect permanent /perm http://localhost/p\n",
    );
    let r = srv.get("/old");
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some("http://localhost/new"));
    let r = srv.get("/old/x.txt?q=1");
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some("http://localhost/new/x.txt?q=1"));
    assert!(r.text().contains("http://localhost/new/x.txt?q=1"));
    let r = srv.get("/oldish");
    assert_eq!(r.status, 404, "prefix matches whole segments only");
    let r = srv.get("/perm/a");
    assert_eq!(r.status, 301);
    assert_eq!(r.header("location"), Some("http://localhost/p/a"));
}

#[test]
fn path_traversal_never_escapes() {
    let srv = Server::start("");
    srv.write("secret.txt", "TOPSECRET");
    srv.write("htdocs/a/b.txt", "b");
    let cases = [
        ("/../etc/passwd", 400),
        ("/../secret.txt", 400),
        ("/%2e%2e/%2e%2e/etc/passwd", 400),
        ("/a/%2e%2e/%2e%2e/secret.txt", 400),
        ("/a/..%2f..%2fetc/passwd", 404),
        ("/a/..%2f..%2fsecret.txt", 404),
        ("/a/b.txt%00.html", 404),
        ("/%00", 404),
        ("/a/../a/b.txt", 200),
        ("/a/./b.txt", 200),
    ];
    for (path, want) in cases {
        let r = srv.get(path);
        assert_eq!(r.status, want, "{path}");
        let t = r.text();
        assert!(
            !t.contains("TOPSECRET") && !t.contains("root:x:0:0"),
            "{path}: {t}"
        );
    }
    // An absolute-form target cannot climb either.
    let r = srv.request(&format!(
        "GET http://localhost:{}/../secret.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        srv.port
    ));
    assert!(!r.text().contains("TOPSECRET"));
    assert_ne!(r.status, 200);
}

#[test]
fn symlink_policy() {
    let srv = Server::start(
        "<Location /nofollow>\n  Options -FollowSymLinks\n</Location>\n\
         <Location /owner>\n  Options -FollowSymLinks +SymLinksIfOwnerMatch\n</Location>\n",
    );
    srv.write("target.txt", "linked content");
    for d in ["follow", "nofollow", "owner"] {
        std::fs::create_dir_all(srv.path(&format!("htdocs/{d}"))).unwrap();
        std::os::unix::fs::symlink(
            srv.path("target.txt"),
            srv.path(&format!("htdocs/{d}/link.txt")),
        )
        .unwrap();
    }
    let r = srv.get("/follow/link.txt");
    assert_eq!(r.status, 200, "default Options FollowSymLinks");
    assert_eq!(r.text(), "linked content");
    let r = srv.get("/nofollow/link.txt");
    assert_eq!(r.status, 403);
    assert!(!r.text().contains("linked content"));
    srv.wait_log("error_log", "AH00037");
    assert!(srv.log("error_log").contains("AH00037"));
    // Same owner (we created both).
    let r = srv.get("/owner/link.txt");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "linked content");

    let me = std::fs::metadata(srv.path("target.txt")).unwrap().uid();
    if me != 0 {
        eprintln!("skipping owner-mismatch case: not running as root");
        return;
    }
    srv.write("other.txt", "other owner");
    std::os::unix::fs::chown(srv.path("other.txt"), Some(65534), Some(65534)).unwrap();
    std::os::unix::fs::symlink(srv.path("other.txt"), srv.path("htdocs/owner/other.txt")).unwrap();
    let r = srv.get("/owner/other.txt");
    assert_eq!(r.status, 403);
    assert!(!r.text().contains("other owner"));
}

#[test]
fn server_signature_in_error_pages() {
    let srv = Server::start("ServerSignature On\nServerTokens Prod\n");
    let t = srv.get("/missing").text();
    let want = format!(
        "<address>rhttpd Server at localhost Port {}</address>",
        srv.port
    );
    assert!(t.contains(&want), "{t}");
    let srv = Server::start("ServerSignature Off\n");
    let t = srv.get("/missing").text();
    assert!(t.contains("<h1>Not Found</h1>"));
    assert!(!t.contains("<address>"), "{t}");
}

// ---------------------------------------------------------------------------------------
// curl

#[test]
fn curl_ranges_conditionals_and_head() {
    if !have("curl") {
        eprintln!("skipping: curl not installed");
        return;
    }
    let srv = Server::start("");
    digits_file(&srv);
    let data = pattern(3 * 1024 * 1024);
    srv.write("htdocs/big.bin", &data);
    let base = format!("http://127.0.0.1:{}", srv.port);

    let out = curl(&["-r", "2-5", &format!("{base}/d.txt")]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"2345");

    let out = curl(&["-r", "1000-1999999", &format!("{base}/big.bin")]);
    assert!(out.stdout == data[1000..2_000_000]);
    let out = curl(&[&format!("{base}/big.bin")]);
    assert!(out.stdout == data);

    // -z DATE: If-Modified-Since; the file is older → 304, empty body.
    let out = curl(&[
        "-z",
        "Mon, 14 Sep 2020 00:00:00 GMT",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &format!("{base}/d.txt"),
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "304");
    let out = curl(&[
        "-z",
        "Sat, 12 Sep 2020 00:00:00 GMT",
        &format!("{base}/d.txt"),
    ]);
    assert_eq!(out.stdout, b"0123456789abcdefghij");

    let et = srv.get("/d.txt").header("etag").unwrap().to_string();
    let out = curl(&[
        "-H",
        &format!("If-None-Match: {et}"),
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &format!("{base}/d.txt"),
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "304");

    let out = curl(&["-I", &format!("{base}/d.txt")]);
    let head = String::from_utf8_lossy(&out.stdout);
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert!(head.contains("Content-Length: 20"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains(&format!("etag: {et}").to_ascii_lowercase()),
        "{head}"
    );
    assert!(!head.contains("0123"));

    let out = curl(&["--http1.0", "-i", &format!("{base}/d.txt")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.ends_with("0123456789abcdefghij"), "{text}");
}

/// Fails today because of crates/http `write_response_head`: header names from the
/// handler's `http::HeaderMap` are written lower-case (`last-modified`, `etag`,
/// `accept-ranges`, `location`, `allow`, `content-range`), where Apache sends
/// `Last-Modified`, `ETag`, `Accept-Ranges`, `Location` ... Field names are
/// case-insensitive (RFC 9110 §5.1), but scripts and tests that grep Apache's output
/// (`curl -I | grep ETag:`) break.
#[test]
fn response_header_names_have_apache_casing() {
    let srv = Server::start("");
    digits_file(&srv);
    srv.write("htdocs/dir/x.txt", "x");
    let raw = String::from_utf8_lossy(&srv.raw(
        b"GET /d.txt HTTP/1.1\r\nHost: localhost\r\nRange: bytes=0-1\r\nConnection: close\r\n\r\n",
    ))
    .into_owned();
    for name in [
        "Last-Modified: ",
        "ETag: ",
        "Accept-Ranges: ",
        "Content-Range: ",
    ] {
        assert!(raw.contains(&format!("\r\n{name}")), "{name} in {raw}");
    }
    let raw = String::from_utf8_lossy(
        &srv.raw(b"GET /dir HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
    )
    .into_owned();
    assert!(raw.contains("\r\nLocation: "), "{raw}");
}

#[test]
fn redirect_in_location_and_directory_sections() {
    let srv = Server::start_fn(|_| {
        "<Location /old>\n  Redirect /new\n</Location>\n\
         <Location /old2>\n  Redirect permanent http://example.org/n2\n</Location>\n\
         <Location /old3>\n  Redirect /old3/a http://example.org/z\n</Location>\n\
         <Location /gone>\n  Redirect gone\n</Location>\n\
         <Directory htdocs/dir>\n  RedirectTemp /dir/q http://example.org/q\n</Directory>\n"
            .to_string()
    });
    srv.write("htdocs/dir/f.txt", "f");
    // One argument: every URL of the section goes to the target (made absolute), the
    // query string appended.
    let r = srv.get("/old/x/y?a=1");
    assert_eq!(r.status, 302);
    let loc = r.header("location").unwrap_or("");
    assert!(
        loc.starts_with("http://") && loc.ends_with("/new?a=1"),
        "{loc}"
    );
    let r = srv.get("/old2/y");
    assert_eq!(r.status, 301);
    assert_eq!(r.header("location"), Some("http://example.org/n2"));
    // Two arguments: as at server level, matched against the URL path.
    let r = srv.get("/old3/a/b");
    assert_eq!(r.header("location"), Some("http://example.org/z/b"));
    assert_eq!(srv.get("/old3/other").status, 404);
    assert_eq!(srv.get("/gone/x").status, 410);
    let r = srv.get("/dir/q/r");
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some("http://example.org/q/r"));
    assert_eq!(srv.get("/dir/f.txt").text(), "f");
}

#[test]
fn mime_charset_encoding_index_ignore_and_directory_slash_off() {
    let srv = Server::start(
        "AddCharset UTF-8 .txt\nAddEncoding gzip gz\nAddEncoding X-Compress .Z\n\
         <Directory htdocs>\n  Options Indexes\n  IndexIgnore .??* *~\n</Directory>\n\
         <Location /noslash>\n  DirectorySlash Off\n</Location>\n",
    );
    srv.write("htdocs/a.txt", "hi");
    srv.write("htdocs/b.txt.gz", "zz");
    srv.write("htdocs/c.html.Z", "zz");
    let r = srv.get("/a.txt");
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(r.header("content-encoding"), None);
    // As Apache with Debian's mime.types: .gz keeps its own type.
    let r = srv.get("/b.txt.gz");
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(
        r.header("content-type"),
        Some("application/gzip; charset=utf-8")
    );
    let r = srv.get("/c.html.Z");
    assert_eq!(r.header("content-encoding"), Some("x-compress"));
    assert_eq!(r.header("content-type"), Some("text/html"));

    srv.write("htdocs/list/.hidden", "h");
    srv.write("htdocs/list/old~", "o");
    srv.write("htdocs/list/shown.txt", "s");
    let html = srv.get("/list/").text();
    assert!(html.contains("shown.txt"), "{html}");
    assert!(
        !html.contains(".hidden") && !html.contains("old~"),
        "{html}"
    );

    srv.write("htdocs/noslash/index.html", "idx");
    srv.write("htdocs/slash/index.html", "idx");
    assert_eq!(srv.get("/slash").status, 301);
    // DirectorySlash Off: no redirect; without the slash mod_dir does not look for the
    // index, so the listing answers (as Apache).
    let r = srv.get("/noslash");
    assert_eq!(r.status, 200);
    assert!(r.text().contains("Index of /noslash"), "{}", r.text());
    assert_eq!(srv.get("/noslash/").text(), "idx");
}
