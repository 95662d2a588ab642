//! End-to-end tests of compression (issue #15 point 5): mod_deflate (and mod_brotli for
//! text/html) through mod_filter's
//! `AddOutputFilterByType` (Debian's deflate.conf) and `SetOutputFilter DEFLATE`, with
//! curl as the client: gzip applied to the configured types only, `Vary`, `-gzip` ETags,
//! no compression of ranges, of clients without gzip or of `no-gzip` requests; large
//! files and CGI output compressed as they stream; HTTP/2 too; under every MPM.

mod common;
#[path = "support/dynamic.rs"]
mod dynamic_support;

use dynamic_support::{EVENT, Mpm, ONE_PROCESS, PREFORK, Site, WORKER, script, start};

use common::{curl, have};

const MODS: &str = "LoadModule deflate_module x\nLoadModule filter_module x\n\
                    LoadModule brotli_module x\n\
                    LoadModule setenvif_module x\nLoadModule http2_module x\n\
                    Protocols h2c http/1.1\n";

/// `curl -s -D - -o FILE ARGS URL`: (lower-cased response head, body as received).
fn fetch(dir: &std::path::Path, args: &[&str], url: &str) -> (String, Vec<u8>) {
    let out = dir.join(format!("body-{}", common::tls::seq()));
    let o = out.display().to_string();
    let mut all = vec!["-s", "-D", "-", "-o", o.as_str()];
    all.extend_from_slice(args);
    all.push(url);
    let r = curl(&all);
    let head = String::from_utf8_lossy(&r.stdout).to_ascii_lowercase();
    (head, std::fs::read(&out).unwrap_or_default())
}

fn gunzip(b: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(b)
        .read_to_end(&mut out)
        .expect("not gzip");
    out
}

fn flate2_gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn compresses(mpm: Mpm) {
    if !have("curl") {
        return;
    }
    let site = Site::new();
    let page = "<html><body>".to_string() + &"<p>some text to compress</p>\n".repeat(3000);
    std::fs::write(site.p("htdocs/page.html"), &page).unwrap();
    let big = "a line of a large text file\n".repeat(200_000); // 5.4 MB: streamed
    std::fs::write(site.p("htdocs/big.txt"), &big).unwrap();
    std::fs::write(site.p("htdocs/img.png"), vec![7u8; 5000]).unwrap();
    script(
        &site.p("cgi-bin/gen.cgi"),
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\ni=0\n\
         while [ $i -lt 2000 ]; do echo \"cgi line $i\"; i=$((i+1)); done\n",
    );
    let conf = format!(
        "{MODS}DocumentRoot \"{docs}\"\nScriptAlias /cgi-bin/ \"{cgi}/\"\n\
         AddOutputFilterByType BROTLI_COMPRESS text/html\n\
         AddOutputFilterByType DEFLATE text/html text/plain text/css\n\
         BrowserMatch ^nogzip-agent no-gzip\n\
         <Directory \"{cgi}\">\n  SetOutputFilter DEFLATE\n</Directory>\n",
        docs = site.s("htdocs"),
        cgi = site.s("cgi-bin"),
    );
    let s = start(mpm, &conf);
    let d = site.dir.path();
    let base = format!("http://127.0.0.1:{}", s.port);
    let gz = ["-H", "Accept-Encoding: gzip"];

    // text/html: gzip, Vary, an ETag with -gzip, no Content-Length for the encoding.
    let (h, b) = fetch(d, &gz, &format!("{base}/page.html"));
    assert!(h.contains("content-encoding: gzip"), "{h}");
    assert!(h.contains("vary: accept-encoding"), "{h}");
    assert!(h.contains("-gzip\""), "{h}");
    assert!(b.len() < page.len() / 20, "{} bytes", b.len());
    assert_eq!(gunzip(&b), page.as_bytes());
    // The same again (from the compressed-file cache): the same bytes.
    let (_, b2) = fetch(d, &gz, &format!("{base}/page.html"));
    assert_eq!(b2, b);
    // A client holding that variant sends its `-gzip` tag back: 304 (Apache: 200).
    let etag = h
        .lines()
        .find_map(|l| l.strip_prefix("etag: "))
        .expect("an etag")
        .trim()
        // (`fetch` lower-cases the head; the tag's hex digits are lower case already.)
        .replacen("w/", "W/", 1);
    let inm = format!("If-None-Match: {etag}");
    let (h304, b304) = fetch(
        d,
        &["-H", "Accept-Encoding: gzip", "-H", &inm],
        &format!("{base}/page.html"),
    );
    assert!(h304.starts_with("http/1.1 304"), "{h304}");
    assert!(b304.is_empty());
    // HEAD: the same headers, no body.
    let (h, b) = fetch(
        d,
        &["-I", "-H", "Accept-Encoding: gzip"],
        &format!("{base}/page.html"),
    );
    assert!(h.contains("content-encoding: gzip"), "{h}");
    // (curl -I writes the head where the body would go.)
    assert!(!b.windows(9).any(|w| w == b"some text") && !b.starts_with(&[0x1f, 0x8b]));
    // A client without gzip: identity, but Vary for caches.
    let (h, b) = fetch(d, &[], &format!("{base}/page.html"));
    assert!(!h.contains("content-encoding"), "{h}");
    assert!(h.contains("vary: accept-encoding"), "{h}");
    assert_eq!(b, page.as_bytes());
    // gzip;q=0 is a refusal.
    let (h, _) = fetch(
        d,
        &["-H", "Accept-Encoding: gzip;q=0"],
        &format!("{base}/page.html"),
    );
    assert!(!h.contains("content-encoding"), "{h}");
    // A type not configured.
    let (h, b) = fetch(d, &gz, &format!("{base}/img.png"));
    assert!(
        !h.contains("content-encoding") && !h.contains("vary"),
        "{h}"
    );
    assert_eq!(b.len(), 5000);
    // A range is sent as it is.
    let (h, b) = fetch(
        d,
        &["-H", "Accept-Encoding: gzip", "-r", "0-99"],
        &format!("{base}/page.html"),
    );
    assert!(h.starts_with("http/1.1 206"), "{h}");
    assert!(!h.contains("content-encoding"), "{h}");
    assert_eq!(b, &page.as_bytes()[..100]);
    // no-gzip from BrowserMatch.
    let (h, _) = fetch(
        d,
        &["-H", "Accept-Encoding: gzip", "-A", "nogzip-agent/1"],
        &format!("{base}/page.html"),
    );
    assert!(!h.contains("content-encoding"), "{h}");
    // A large file, compressed as it is sent (chunked).
    let (h, b) = fetch(d, &gz, &format!("{base}/big.txt"));
    assert!(h.contains("content-encoding: gzip"), "{h}");
    assert!(h.contains("transfer-encoding: chunked"), "{h}");
    assert_eq!(gunzip(&b), big.as_bytes());
    // CGI output through SetOutputFilter DEFLATE.
    let (h, b) = fetch(d, &gz, &format!("{base}/cgi-bin/gen.cgi"));
    assert!(h.contains("content-encoding: gzip"), "{h}");
    let text = String::from_utf8(gunzip(&b)).unwrap();
    assert!(text.starts_with("cgi line 0\n") && text.ends_with("cgi line 1999\n"));
    // mod_brotli: br for a client that takes it (before gzip), with its own ETag suffix.
    let (h, b) = fetch(
        d,
        &["-H", "Accept-Encoding: gzip, br"],
        &format!("{base}/page.html"),
    );
    assert!(h.contains("content-encoding: br"), "{h}");
    assert!(h.contains("-br\""), "{h}");
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut brotli::Decompressor::new(&b[..], 4096), &mut out).unwrap();
    assert_eq!(out, page.as_bytes());
    // A FILE.gz made beforehand and no older than FILE is sent as it is; an older one
    // is not used.
    let fresh = flate2_gzip(b"made beforehand\n");
    std::fs::write(site.p("htdocs/pre.html"), &page).unwrap();
    std::fs::write(site.p("htdocs/pre.html.gz"), &fresh).unwrap();
    let (h, b) = fetch(d, &gz, &format!("{base}/pre.html"));
    assert!(h.contains("content-encoding: gzip"), "{h}");
    assert!(
        h.contains(&format!("content-length: {}", fresh.len())),
        "{h}"
    );
    assert_eq!(gunzip(&b), b"made beforehand\n");
    std::fs::write(site.p("htdocs/stale.html.gz"), &fresh).unwrap();
    std::fs::write(site.p("htdocs/stale.html"), &page).unwrap();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(site.p("htdocs/stale.html.gz"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    let (_, b) = fetch(d, &gz, &format!("{base}/stale.html"));
    assert_eq!(gunzip(&b), page.as_bytes());
    // HTTP/2 (not under prefork, which stays on HTTP/1.1).
    if mpm.conf.contains("worker") || mpm.conf.contains("event") {
        let (h, b) = fetch(
            d,
            &["--http2-prior-knowledge", "-H", "Accept-Encoding: gzip"],
            &format!("{base}/page.html"),
        );
        assert!(h.starts_with("http/2 200"), "{h}");
        assert!(h.contains("content-encoding: gzip"), "{h}");
        assert_eq!(gunzip(&b), page.as_bytes());
    }
}

#[test]
fn event_compresses() {
    compresses(EVENT);
}

#[test]
fn worker_compresses() {
    compresses(WORKER);
}

#[test]
fn prefork_compresses() {
    compresses(PREFORK);
}

#[test]
fn one_process_compresses() {
    compresses(ONE_PROCESS);
}

/// Filters rhttpd does not have and the tuning directives without effect are named at
/// start; a level out of range is Apache's syntax error.
#[test]
fn filter_directives_warn_and_check() {
    let r = Site::new();
    let conf = r.p("httpd.conf");
    let base = format!(
        "Listen 127.0.0.1:1\nServerName localhost\nServerRoot \"{}\"\n{MODS}",
        r.s("")
    );
    std::fs::write(
        &conf,
        format!("{base}SetOutputFilter INCLUDES;DEFLATE\nSetInputFilter DEFLATE;SANITIZE\nDeflateBufferSize 8096\n"),
    )
    .unwrap();
    let o = common::run(&["-t", "-f", conf.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("no INCLUDES filter"), "{err}");
    assert!(err.contains("no SANITIZE input filter"), "{err}");
    assert!(!err.contains("SetInputFilter DEFLATE"), "{err}");
    assert!(err.contains("DeflateBufferSize 8096: no effect"), "{err}");
    std::fs::write(&conf, format!("{base}DeflateCompressionLevel 12\n")).unwrap();
    let o = common::run(&["-t", "-f", conf.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("between 1 and 9"));
}

/// `SetInputFilter DEFLATE`: a gzip request body reaches CGI inflated, without its
/// Content-Encoding and Content-Length; the inflated size and the inflation ratio are
/// bounded (a compression bomb stops early with 400, an over-limit body is a 413); a
/// body that is not gzip-coded, or a directory without the filter, passes as sent.
fn inflates_request_bodies(mpm: Mpm) {
    let site = Site::new();
    script(
        &site.p("cgi-bin/echo.cgi"),
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\n\
         echo \"len=${CONTENT_LENGTH:-none} ce=${HTTP_CONTENT_ENCODING:-none}\"\ncat\n",
    );
    std::fs::copy(site.p("cgi-bin/echo.cgi"), site.p("cgi-bin/small.cgi")).unwrap();
    std::fs::create_dir_all(site.p("plain")).unwrap();
    script(
        &site.p("plain/echo.cgi"),
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\nwc -c\n",
    );
    let conf = format!(
        "{MODS}LoadModule cgi_module x\nScriptAlias /cgi-bin/ \"{cgi}/\"\nScriptAlias /plain/ \"{plain}/\"\n\
         <Directory \"{cgi}\">\n  SetInputFilter DEFLATE\n</Directory>\n\
         <Files small.cgi>\n  DeflateInflateLimitRequestBody 100\n</Files>\n",
        cgi = site.s("cgi-bin"),
        plain = site.s("plain"),
    );
    let s = start(mpm, &conf);
    let post = |path: &str, coding: &str, body: &[u8]| {
        let mut req = format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Encoding: {coding}\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        req.extend_from_slice(body);
        common::parse_response(&s.raw(&req)).expect("a response")
    };
    let form = b"name=value&other=thing\n".repeat(50);
    let r = post("/cgi-bin/echo.cgi", "gzip", &flate2_gzip(&form));
    assert_eq!(r.status, 200);
    let mut want = b"len=none ce=none\n".to_vec();
    want.extend_from_slice(&form);
    assert_eq!(r.body, want);
    // Not gzip-coded: passed as sent, with its headers.
    let r = post("/cgi-bin/echo.cgi", "br", b"raw");
    assert_eq!(r.text(), "len=3 ce=br\nraw");
    // Without the filter: the compressed bytes as they are.
    let gz = flate2_gzip(&form);
    let r = post("/plain/echo.cgi", "gzip", &gz);
    assert_eq!(r.text().trim(), gz.len().to_string());
    // DeflateInflateLimitRequestBody: 413.
    assert_eq!(post("/cgi-bin/small.cgi", "gzip", &gz).status, 413);
    // A bomb: 4 MB of zeros in ~4 KB stops at the ratio limit with 400.
    let bomb = flate2_gzip(&vec![0u8; 4 << 20]);
    assert_eq!(post("/cgi-bin/echo.cgi", "gzip", &bomb).status, 400);
    // Corrupt gzip: 400.
    assert_eq!(
        post("/cgi-bin/echo.cgi", "gzip", b"\x1f\x8b\x08\x00nonsense").status,
        400
    );
    let log = s.wait_log("error_log", "AH01232");
    assert!(log.contains("AH02647") && log.contains("AH02649"), "{log}");
}

#[test]
fn event_inflates_request_bodies() {
    inflates_request_bodies(EVENT);
}

#[test]
fn prefork_inflates_request_bodies() {
    inflates_request_bodies(PREFORK);
}
