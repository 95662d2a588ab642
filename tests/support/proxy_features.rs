//! Helpers shared by the reverse-proxy feature tests (tests/e2e_proxy_features.rs,
//! tests/e2e_proxy_directives.rs): raw responses, a server proxying to the two Python
//! backends of `proxy_backends.rs`, body patterns and digests.
#![allow(dead_code)]

use crate::dynamic_support::*;
use crate::proxy_backends::*;

/// A raw response: its head as text and the body bytes as they came on the wire.
pub struct RawResp {
    pub head: String,
    pub body: Vec<u8>,
}

impl RawResp {
    pub fn status(&self) -> u16 {
        self.head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

/// Send `req` on a fresh connection and read until the server closes it.
pub fn raw(s: &Server, req: &str) -> RawResp {
    let out = s.raw(req.as_bytes());
    let at = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no head in {:?}", String::from_utf8_lossy(&out)));
    RawResp {
        head: String::from_utf8_lossy(&out[..at]).into_owned(),
        body: out[at + 4..].to_vec(),
    }
}

pub fn get_close(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
}

pub fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| ((i * 7) % 251) as u8).collect()
}

pub fn sha256_hex(data: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("data");
    std::fs::write(&f, data).unwrap();
    let out = output(command("sha256sum").arg(&f)).unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split(' ')
        .next()
        .unwrap()
        .to_string()
}

pub struct Setup {
    pub s: Server,
    _dir: tempfile::TempDir,
    pub http: PyBackend,
    _raw: PyBackend,
    pub record: PathBuf,
}

/// rhttpd under `mpm` with `/b/` proxied to the HTTP backend and `/r/` to the raw one,
/// plus `extra` configuration (`{B}` and `{R}` stand for the two backend ports).
pub fn setup(mpm: Mpm, extra: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let http = python_backend(dir.path(), "httpback", HTTP_BACKEND, &[]);
    let record = dir.path().join("raw.record");
    std::fs::write(&record, "").unwrap();
    let rec = record.display().to_string();
    let rawb = python_backend(dir.path(), "rawback", RAW_BACKEND, &[&rec]);
    let conf = format!(
        "{}ProxyPass /b/ http://127.0.0.1:{}/\nProxyPass /r/ http://127.0.0.1:{}/\n",
        extra
            .replace("{B}", &http.port.to_string())
            .replace("{R}", &rawb.port.to_string()),
        http.port,
        rawb.port
    );
    let s = start(mpm, &conf);
    Setup {
        s,
        _dir: dir,
        http,
        _raw: rawb,
        record,
    }
}
