//! Reverse-proxy features end to end, against real Python backends written into each
//! test's directory (tests/support/proxy_backends.rs): the backend's framing reaches
//! the client (Content-Length stays, chunked stays, HEAD and 304 keep their headers),
//! large and chunked uploads, bad backend answers (502 with Apache's AH numbers, or a
//! truncated and closed client connection once the head is out), request smuggling
//! refused before a byte reaches the backend, and the mod_proxy directives and worker
//! parameters (ProxyPreserveHost, ProxyVia, ProxyAddHeaders, ProxyTimeout, max, ttl,
//! ...). The main scenarios run under event and prefork.

mod common;
#[path = "support/config.rs"]
mod config_support;
#[path = "support/dynamic.rs"]
mod dynamic_support;
#[path = "support/proxy_backends.rs"]
mod proxy_backends;
#[path = "support/proxy_features.rs"]
mod proxy_features;

use dynamic_support::*;
use proxy_features::*;

// ---------------------------------------------------------------------------------------
// Framing

fn framing(mpm: Mpm) {
    let t = setup(mpm, "");
    let s = &t.s;
    // Content-Length from the backend reaches the client unchanged, HTTP/1.1 and 1.0.
    let r = raw(s, &get_close("/b/len/300000"));
    assert_eq!(r.status(), 200, "{}", r.head);
    assert_eq!(
        r.header("content-length").as_deref(),
        Some("300000"),
        "{}",
        r.head
    );
    assert_eq!(r.header("transfer-encoding"), None, "{}", r.head);
    assert!(r.body == pattern(300000), "body of {} bytes", r.body.len());
    let r = raw(s, "GET /b/len/10 HTTP/1.0\r\n\r\n");
    assert_eq!(
        r.header("content-length").as_deref(),
        Some("10"),
        "{}",
        r.head
    );
    assert_eq!(r.body, pattern(10));
    // A chunked answer stays chunked.
    let r = raw(s, &get_close("/b/chunked/50000"));
    assert_eq!(
        r.header("transfer-encoding").as_deref(),
        Some("chunked"),
        "{}",
        r.head
    );
    assert_eq!(r.header("content-length"), None);
    assert!(r.body.ends_with(b"0\r\n\r\n"));
    assert_eq!(s.get("/b/chunked/50000").body, pattern(50000));
    // HEAD keeps the backend's Content-Length and sends no body.
    let r = raw(
        s,
        "HEAD /b/len/1234 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.header("content-length").as_deref(),
        Some("1234"),
        "{}",
        r.head
    );
    assert!(r.body.is_empty());
    // 304 keeps the backend's validators and headers.
    let r = raw(
        s,
        "GET /b/etag HTTP/1.1\r\nHost: localhost\r\nIf-None-Match: \"v1\"\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(r.status(), 304, "{}", r.head);
    assert_eq!(r.header("etag").as_deref(), Some("\"v1\""));
    assert_eq!(r.header("x-backend").as_deref(), Some("304"));
    assert!(r.body.is_empty());
    // Keep-alive through the proxy with Content-Length bodies.
    let mut c = s.connect();
    let mut buf = Vec::new();
    for n in [5usize, 70000, 1] {
        c.write_all(format!("GET /b/len/{n} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes())
            .unwrap();
        let r = read_response(&mut c, &mut buf, false).expect("keep-alive answer");
        assert_eq!(r.header("content-length"), Some(n.to_string().as_str()));
        assert_eq!(r.body, pattern(n));
    }
}

#[test]
fn framing_event() {
    framing(EVENT);
}

#[test]
fn framing_prefork() {
    framing(PREFORK);
}

fn uploads(mpm: Mpm) {
    let t = setup(mpm, "");
    let s = &t.s;
    let body: Vec<u8> = (0..8 * 1024 * 1024u32)
        .map(|i| (i * 13 % 253) as u8)
        .collect();
    let digest = sha256_hex(&body);
    let mut c = s.connect();
    c.write_all(
        format!(
            "POST /b/echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    )
    .unwrap();
    c.write_all(&body).unwrap();
    let mut out = Vec::new();
    c.read_to_end(&mut out).unwrap();
    let r = parse_response(&out).expect("answer");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), format!("{} {digest}\n", body.len()));

    // Chunked upload, odd chunk sizes.
    let mut c = s.connect();
    c.write_all(b"POST /b/echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        .unwrap();
    let part = &body[..1_000_003];
    for ch in part.chunks(77_777) {
        c.write_all(format!("{:x}\r\n", ch.len()).as_bytes())
            .unwrap();
        c.write_all(ch).unwrap();
        c.write_all(b"\r\n").unwrap();
    }
    c.write_all(b"0\r\n\r\n").unwrap();
    let mut out = Vec::new();
    c.read_to_end(&mut out).unwrap();
    let r = parse_response(&out).expect("answer");
    assert_eq!(r.text(), format!("{} {}\n", part.len(), sha256_hex(part)));
}

#[test]
fn uploads_event() {
    uploads(EVENT);
}

#[test]
fn uploads_prefork() {
    uploads(PREFORK);
}

// ---------------------------------------------------------------------------------------
// Bad input from the backend

fn bad_backend(mpm: Mpm) {
    let t = setup(mpm, "");
    let s = &t.s;
    for (path, ah) in [
        ("/r/badstatus", "AH01102"),
        ("/r/nohead", "AH01102"),
        ("/r/bigheader", "AH01102"),
        ("/r/badheader", "AH01102"),
    ] {
        let r = raw(s, &get_close(path));
        assert_eq!(r.status(), 502, "{path}: {}", r.head);
        let log = s.wait_log("error_log", ah);
        assert!(log.contains(ah), "{path}: {log}");
    }

    // A body longer than its Content-Length: the extra bytes are dropped and the
    // backend connection is not used again.
    let conns_before = std::fs::read_to_string(&t.record)
        .unwrap()
        .matches("conn ")
        .count();
    let mut c = s.connect();
    let mut buf = Vec::new();
    for _ in 0..2 {
        c.write_all(b"GET /r/overlong HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .unwrap();
        let r = read_response(&mut c, &mut buf, false).expect("answer");
        assert_eq!((r.status, r.body.as_slice()), (200, &b"hello"[..]));
        assert_eq!(r.header("content-length"), Some("5"));
    }
    c.write_all(b"GET /r/ok HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let r = read_response(&mut c, &mut buf, false).expect("answer");
    assert_eq!(r.body, b"ok");
    drop(c);
    let rec = std::fs::read_to_string(&t.record).unwrap();
    assert_eq!(
        rec.matches("conn ").count() - conns_before,
        3,
        "each request after an overlong body needs a new connection:\n{rec}"
    );

    // The backend closes mid-body after the head went out: the client gets fewer bytes
    // than Content-Length and a close; chunked: no last chunk.
    let r = raw(s, &get_close("/r/midbody"));
    assert_eq!(r.status(), 200, "{}", r.head);
    assert_eq!(r.header("content-length").as_deref(), Some("100000"));
    assert!(r.body.len() < 100000, "{} bytes", r.body.len());
    let log = s.wait_log("error_log", "AH01110");
    assert!(log.contains("AH01110"), "{log}");
    let r = raw(s, &get_close("/r/midchunk"));
    assert_eq!(r.header("transfer-encoding").as_deref(), Some("chunked"));
    assert!(
        !r.body.ends_with(b"0\r\n\r\n"),
        "truncated chunked body ended with a last chunk"
    );
    assert!(r.body.len() >= 1000, "{} bytes", r.body.len());
}

#[test]
fn bad_backend_event() {
    bad_backend(EVENT);
}

#[test]
fn bad_backend_prefork() {
    bad_backend(PREFORK);
}

fn smuggling(mpm: Mpm) {
    let t = setup(mpm, "");
    let s = &t.s;
    let attempts: [&[u8]; 6] = [
        b"POST /r/x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /r/smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /r/x HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
        b"POST /r/x HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
        b"GET /r/x HTTP/1.1\r\nHost: localhost\r\nX-Folded: a\r\n b\r\n\r\n",
        b"GET /r/x HTTP/1.1\nHost: localhost\n\n",
        b"POST /r/x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    ];
    for a in attempts {
        let out = s.raw(a);
        let r = parse_response_head_only(&out)
            .unwrap_or_else(|| panic!("{:?}", String::from_utf8_lossy(&out)));
        assert_eq!(r.status, 400, "{:?}", String::from_utf8_lossy(a));
    }
    // A good request afterwards reaches it, so the backend was listening all along.
    assert_eq!(s.get("/r/ok").text(), "ok");
    let rec = std::fs::read_to_string(&t.record).unwrap();
    assert!(!rec.contains("/r/x") && !rec.contains("/x HTTP"), "{rec}");
    assert!(!rec.contains("smuggled"), "{rec}");
    assert_eq!(rec.matches("GET /ok ").count(), 1, "{rec}");
}

#[test]
fn smuggling_is_refused_event() {
    smuggling(EVENT);
}

#[test]
fn smuggling_is_refused_prefork() {
    smuggling(PREFORK);
}
