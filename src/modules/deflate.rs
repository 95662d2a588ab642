//! mod_deflate's and mod_brotli's output filters, for responses a section sends through
//! `DEFLATE` or `BROTLI_COMPRESS` (`SetOutputFilter`, mod_mime's `AddOutputFilter`,
//! mod_filter's `AddOutputFilterByType`): brotli when the client takes `br`, else gzip
//! (Apache's order), with Apache's rules — `no-gzip`/`no-brotli`,
//! `gzip-only-text/html`, `dont-vary`, nothing already encoded, no 204/206/304,
//! `Vary: Accept-Encoding`, ETag suffixed `-gzip`/`-br`, Content-Length dropped. Whole
//! small bodies and files up to
//! [`CACHE_MAX_FILE`] are compressed in memory, a file's result remembered per version
//! (inode, size, modification time) so a repeated request is not compressed again;
//! larger files and streamed bodies (CGI, proxy, FastCGI) are compressed as they are read.
//! A `FILE.gz` / `FILE.br` made beforehand, no older than the file, is sent as it is
//! instead (as nginx's `gzip_static`).

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::sync::{Arc, LazyLock, Mutex};

use bytes::Bytes;
use flate2::Compression;
use flate2::read::GzEncoder;
use http::header::{
    ACCEPT_ENCODING, ACCEPT_RANGES, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, ETAG, VARY,
};
use http::{HeaderValue, StatusCode};
use rhttpd_http::RequestHead;

use crate::conf::DirConfig;
use crate::conf::deflate::AlterETag;
use crate::handler::{Body, Response};

/// Files up to this size are compressed whole and the result remembered.
pub const CACHE_MAX_FILE: u64 = 4 << 20;
/// The compressed files remembered per process, in bytes at most.
const CACHE_BUDGET: usize = 64 << 20;

/// Whether `dir` sends this response through `filter` (`DEFLATE`, `BROTLI_COMPRESS`):
/// `SetOutputFilter`, the file's extension (`AddOutputFilter`) or its type
/// (`AddOutputFilterByType`).
fn wants(dir: &DirConfig, file: Option<&Path>, content_type: &str, filter: &str) -> bool {
    let z = &dir.deflate;
    let has = |fs: &Vec<String>| fs.iter().any(|f| f == filter);
    if z.set_output.as_ref().is_some_and(has) {
        return true;
    }
    if !z.by_ext.is_empty()
        && let Some(name) = file.and_then(|f| f.file_name()).and_then(|n| n.to_str())
        && name
            .split('.')
            .skip(1)
            .any(|ext| z.by_ext.get(&ext.to_ascii_lowercase()).is_some_and(has))
    {
        return true;
    }
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    z.by_type.iter().any(|(fs, t)| {
        has(fs)
            && (*t == mime
                || t.strip_suffix("/*")
                    .is_some_and(|major| mime.split('/').next() == Some(major)))
    })
}

/// Whether the client takes gzip: a `gzip` (or `x-gzip`) coding whose q is not 0.
pub fn accepts_gzip(head: &RequestHead) -> bool {
    accepts(head, Coding::Gzip)
}

fn accepts(head: &RequestHead, coding: Coding) -> bool {
    head.headers
        .get_all(ACCEPT_ENCODING)
        .iter()
        .any(|v| accepts_value(v.to_str().unwrap_or(""), coding.names()))
}

/// [`accepts_gzip`] for one `Accept-Encoding` value.
pub fn accepts_gzip_value(value: &str) -> bool {
    accepts_value(value, Coding::Gzip.names())
}

/// Whether one `Accept-Encoding` value names one of `names` with q above 0.
fn accepts_value(value: &str, names: &[&str]) -> bool {
    value.split(',').any(|item| {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim();
        if !names.iter().any(|n| coding.eq_ignore_ascii_case(n)) {
            return false;
        }
        !parts.any(|p| {
            let p = p.trim();
            p.strip_prefix("q=")
                .or_else(|| p.strip_prefix("Q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0 || q.is_nan())
        })
    })
}

/// A content coding rhttpd produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coding {
    /// mod_deflate's gzip.
    Gzip,
    /// mod_brotli's br.
    Br,
}

impl Coding {
    fn names(self) -> &'static [&'static str] {
        match self {
            Coding::Gzip => &["gzip", "x-gzip"],
            Coding::Br => &["br"],
        }
    }

    fn token(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Br => "br",
        }
    }

    /// The suffix of a variant made beforehand, and of an altered ETag.
    fn suffix(self) -> &'static str {
        match self {
            Coding::Gzip => ".gz",
            Coding::Br => ".br",
        }
    }
}

/// How to compress: the coding and its level (gzip 1-9; brotli quality 0-11 and window).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    pub coding: Coding,
    pub level: u32,
    pub window: u32,
}

impl Params {
    fn key(self) -> u32 {
        (self.coding as u32) << 16 | self.level << 8 | self.window
    }
}

/// `data` compressed whole.
pub fn compress(data: &[u8], p: Params) -> Bytes {
    let mut out = Vec::with_capacity(data.len() / 3 + 64);
    // Reading from a slice cannot fail.
    let _ = encoder(Box::new(data), p).read_to_end(&mut out);
    Bytes::from(out)
}

/// A reader of `input` compressed.
fn encoder<'a>(input: Box<dyn Read + Send + 'a>, p: Params) -> Box<dyn Read + Send + 'a> {
    match p.coding {
        Coding::Gzip => Box::new(GzEncoder::new(input, Compression::new(p.level))),
        Coding::Br => Box::new(brotli::CompressorReader::new(
            input,
            16 * 1024,
            p.level,
            p.window,
        )),
    }
}

/// mod_brotli's and mod_deflate's output filters on a finished response: brotli when
/// the section runs BROTLI_COMPRESS and the client takes `br`, else gzip when it runs
/// DEFLATE and the client takes `gzip` (Apache runs them in that order, the second
/// skipping what the first encoded).
pub fn apply(dir: &DirConfig, head: &RequestHead, file: Option<&Path>, resp: &mut Response) {
    let file_path = file;
    if !dir.deflate.configured() {
        return;
    }
    // The request's variables (SetEnvIf's joined in by the pipeline).
    let env = |name: &str| dir.env.get(name);
    let status = resp.status;
    if status.is_informational()
        || matches!(
            status,
            StatusCode::NO_CONTENT | StatusCode::PARTIAL_CONTENT | StatusCode::NOT_MODIFIED
        )
        || matches!(resp.body, Body::Empty | Body::FileParts { .. })
    {
        return;
    }
    let content_type = resp
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let want_br = wants(dir, file, &content_type, "BROTLI_COMPRESS") && env("no-brotli").is_none();
    let want_gzip = wants(dir, file, &content_type, "DEFLATE")
        && env("no-gzip").is_none()
        && (env("gzip-only-text/html") != Some("1")
            || content_type.to_ascii_lowercase().starts_with("text/html"));
    if !want_br && !want_gzip {
        return;
    }
    if resp
        .headers
        .get(CONTENT_ENCODING)
        .is_some_and(|e| !e.as_bytes().eq_ignore_ascii_case(b"identity"))
    {
        return;
    }
    if env("dont-vary").is_none() {
        add_vary(resp);
    }
    let z = &dir.deflate;
    let p = if want_br && accepts(head, Coding::Br) {
        Params {
            coding: Coding::Br,
            level: z.brotli_quality.unwrap_or(5),
            window: z.brotli_window.unwrap_or(18),
        }
    } else if want_gzip && accepts(head, Coding::Gzip) {
        Params {
            coding: Coding::Gzip,
            level: z.level.unwrap_or(6),
            window: 15,
        }
    } else {
        return;
    };
    let alter = match p.coding {
        Coding::Gzip => z.alter_etag,
        Coding::Br => z.brotli_alter_etag,
    };
    let variant_tag = match alter.unwrap_or_default() {
        AlterETag::AddSuffix => resp
            .headers
            .get(ETAG)
            .and_then(|v| v.to_str().ok())
            .and_then(|tag| tag.strip_suffix('"'))
            .and_then(|inner| {
                HeaderValue::from_str(&format!("{inner}-{}\"", p.coding.token())).ok()
            }),
        _ => None,
    };
    // The client holds this compressed variant (If-None-Match names its `-gzip` tag):
    // 304, where Apache's mod_deflate answers 200 with the whole body again.
    if let Some(tag) = &variant_tag
        && status == StatusCode::OK
        && (head.method == http::Method::GET || head.method == http::Method::HEAD)
        && !head.headers.contains_key(http::header::RANGE)
        && rhttpd_http::if_none_match_names(&head.headers, tag.to_str().unwrap_or(""))
    {
        resp.status = StatusCode::NOT_MODIFIED;
        resp.body = Body::Empty;
        resp.headers.insert(ETAG, tag.clone());
        resp.headers.remove(CONTENT_LENGTH);
        resp.headers.remove(ACCEPT_RANGES);
        return;
    }
    let body = std::mem::replace(&mut resp.body, Body::Empty);
    resp.body = match body {
        Body::Bytes(b) => Body::Bytes(compress(&b, p)),
        Body::File {
            file,
            offset,
            len,
            sendfile,
        } => match precompressed(file_path, &file, offset, len, p.coding) {
            Some((pre, pre_len)) => Body::File {
                file: Arc::new(pre),
                offset: 0,
                len: pre_len,
                sendfile,
            },
            None => match compressed_file(&file, offset, len, p) {
                Some(b) => Body::Bytes(b),
                None => Body::Stream(encoder(
                    Box::new(FileSlice {
                        file,
                        pos: offset,
                        end: offset + len,
                    }),
                    p,
                )),
            },
        },
        // Compressed, a sized stream's length is no longer known.
        b @ Body::SizedStream { .. } => match b.into_stream() {
            Ok((r, _)) => Body::Stream(encoder(r, p)),
            Err(b) => b,
        },
        Body::Stream(r) => Body::Stream(encoder(r, p)),
        other => {
            resp.body = other;
            return;
        }
    };
    resp.headers
        .insert(CONTENT_ENCODING, HeaderValue::from_static(p.coding.token()));
    resp.headers.remove(CONTENT_LENGTH);
    resp.headers.remove(ACCEPT_RANGES);
    match alter.unwrap_or_default() {
        AlterETag::AddSuffix => {
            if let Some(v) = variant_tag {
                resp.headers.insert(ETAG, v);
            }
        }
        AlterETag::Remove => {
            resp.headers.remove(ETAG);
        }
        AlterETag::NoChange => {}
    }
}

fn add_vary(resp: &mut Response) {
    let has = resp.headers.get_all(VARY).iter().any(|v| {
        v.to_str().unwrap_or("").split(',').any(|t| {
            let t = t.trim();
            t == "*" || t.eq_ignore_ascii_case("accept-encoding")
        })
    });
    if !has {
        resp.headers
            .append(VARY, HeaderValue::from_static("Accept-Encoding"));
    }
}

/// `data` as one gzip member.
pub fn gzip(data: &[u8], level: Compression) -> Bytes {
    compress(
        data,
        Params {
            coding: Coding::Gzip,
            level: level.level(),
            window: 15,
        },
    )
}

/// `FILE.gz` beside the whole file sent, made before (nginx's `gzip_static`): used when
/// it is a regular file no older than the file itself. (file, length).
fn precompressed(
    path: Option<&Path>,
    file: &File,
    offset: u64,
    len: u64,
    coding: Coding,
) -> Option<(File, u64)> {
    let path = path?;
    let meta = file.metadata().ok()?;
    if offset != 0 || len != meta.len() {
        return None;
    }
    let mut name = path.as_os_str().to_owned();
    name.push(coding.suffix());
    let gz = File::open(name).ok()?;
    let gm = gz.metadata().ok()?;
    (gm.is_file() && gm.modified().ok()? >= meta.modified().ok()?).then_some((gz, gm.len()))
}

/// A file's version, what its compressed form is remembered by.
type FileKey = (u64, u64, u64, i64, i64, u64, u64, u32);

struct Compressed {
    files: HashMap<FileKey, Bytes>,
    bytes: usize,
}

static CACHE: LazyLock<Mutex<Compressed>> = LazyLock::new(|| {
    Mutex::new(Compressed {
        files: HashMap::new(),
        bytes: 0,
    })
});

/// The gzip of `len` bytes of `file` from `offset`, from the cache or made now; `None`
/// for a file too large to hold (it is compressed as it is sent).
fn compressed_file(file: &File, offset: u64, len: u64, p: Params) -> Option<Bytes> {
    if len > CACHE_MAX_FILE {
        return None;
    }
    let m = file.metadata().ok()?;
    let key = (
        m.dev(),
        m.ino(),
        m.len(),
        m.mtime(),
        m.mtime_nsec(),
        offset,
        len,
        p.key(),
    );
    if let Some(b) = CACHE
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .files
        .get(&key)
    {
        return Some(b.clone());
    }
    let mut data = vec![0u8; len as usize];
    file.read_exact_at(&mut data, offset).ok()?;
    let gz = compress(&data, p);
    let mut c = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    if c.bytes + gz.len() > CACHE_BUDGET {
        c.files.clear();
        c.bytes = 0;
    }
    c.bytes += gz.len();
    c.files.insert(key, gz.clone());
    Some(gz)
}

/// `pos..end` of a file, read with pread.
struct FileSlice {
    file: Arc<File>,
    pos: u64,
    end: u64,
}

impl Read for FileSlice {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let want = buf.len().min((self.end - self.pos) as usize);
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::GzDecoder;

    fn head(accept: Option<&str>) -> RequestHead {
        let ae = accept
            .map(|a| format!("Accept-Encoding: {a}\r\n"))
            .unwrap_or_default();
        let text = format!("GET /x.html HTTP/1.1\r\nHost: x\r\n{ae}\r\n");
        match rhttpd_http::parse_request_head(text.as_bytes(), &rhttpd_http::Limits::default()) {
            Ok(Some(h)) => h,
            other => panic!("{other:?}"),
        }
    }

    const GZ6: Params = Params {
        coding: Coding::Gzip,
        level: 6,
        window: 15,
    };

    #[test]
    fn brotli_when_configured_and_accepted_first() {
        let text = "<p>hello</p>".repeat(100);
        let mut d = dir(false);
        d.deflate.by_type = Arc::new(vec![(
            vec!["BROTLI_COMPRESS".into(), "DEFLATE".into()],
            "text/html".into(),
        )]);
        let mut r = html(&text);
        apply(&d, &head(Some("gzip, br")), None, &mut r);
        assert_eq!(r.headers.get(CONTENT_ENCODING).unwrap(), "br");
        assert_eq!(r.headers.get(ETAG).unwrap(), "\"abc-br\"");
        let Body::Bytes(b) = &r.body else { panic!() };
        let mut out = Vec::new();
        brotli::Decompressor::new(&b[..], 4096)
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, text.as_bytes());
        // gzip for a client without br.
        let mut r = html(&text);
        apply(&d, &head(Some("gzip")), None, &mut r);
        assert_eq!(r.headers.get(CONTENT_ENCODING).unwrap(), "gzip");
        assert!(accepts_value("br;q=0.5", Coding::Br.names()));
        assert!(!accepts_value("br;q=0", Coding::Br.names()));
    }

    fn gunzip(b: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        GzDecoder::new(b).read_to_end(&mut out).unwrap();
        out
    }

    proptest::proptest! {
        #[test]
        fn accept_encoding_never_panics_and_gzip_round_trips(
            v in "\\PC{0,60}",
            data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2000),
        ) {
            let _ = accepts_gzip_value(&v);
            proptest::prop_assert_eq!(gunzip(&gzip(&data, Compression::new(6))), data.clone());
            let br = compress(&data, Params { coding: Coding::Br, level: 1, window: 18 });
            let mut out = Vec::new();
            brotli::Decompressor::new(&br[..], 4096).read_to_end(&mut out).unwrap();
            proptest::prop_assert_eq!(out, data);
        }
    }

    #[test]
    fn accept_encoding() {
        assert!(accepts_gzip(&head(Some("gzip, deflate, br"))));
        assert!(accepts_gzip(&head(Some("br;q=1.0, GZIP;q=0.5"))));
        assert!(accepts_gzip(&head(Some("x-gzip"))));
        assert!(!accepts_gzip(&head(Some("gzip;q=0"))));
        assert!(!accepts_gzip(&head(Some("br, deflate"))));
        assert!(!accepts_gzip(&head(None)));
    }

    fn dir(set: bool) -> DirConfig {
        let mut d = DirConfig::default();
        if set {
            d.deflate.set_output = Some(vec!["DEFLATE".into()]);
        } else {
            d.deflate.by_type = Arc::new(vec![(vec!["DEFLATE".into()], "text/html".into())]);
        }
        d
    }

    fn html(body: &str) -> Response {
        Response::new(StatusCode::OK, Body::Bytes(Bytes::from(body.to_string())))
            .header(CONTENT_TYPE, "text/html; charset=utf-8")
            .header(ETAG, "\"abc\"")
            .header(CONTENT_LENGTH, &body.len().to_string())
    }

    #[test]
    fn a_client_holding_the_compressed_variant_gets_304() {
        let text = "<p>hello</p>".repeat(100);
        let conditional = |inm: &str| {
            let req = format!(
                "GET /x.html HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nIf-None-Match: {inm}\r\n\r\n"
            );
            rhttpd_http::parse_request_head(req.as_bytes(), &rhttpd_http::Limits::default())
                .unwrap()
                .unwrap()
        };
        let mut r = html(&text);
        apply(
            &dir(false),
            &conditional("\"x\", W/\"abc-gzip\""),
            None,
            &mut r,
        );
        assert_eq!(r.status, StatusCode::NOT_MODIFIED);
        assert!(matches!(r.body, Body::Empty));
        assert_eq!(r.headers.get(ETAG).unwrap(), "\"abc-gzip\"");
        assert_eq!(r.headers.get(VARY).unwrap(), "Accept-Encoding");
        assert!(r.headers.get(CONTENT_ENCODING).is_none());
        // Another tag: the compressed body.
        let mut r = html(&text);
        apply(&dir(false), &conditional("\"abc-br\""), None, &mut r);
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.headers.get(CONTENT_ENCODING).unwrap(), "gzip");
    }

    #[test]
    fn compresses_by_type_with_apaches_headers() {
        let text = "<p>hello</p>".repeat(100);
        let mut r = html(&text);
        apply(&dir(false), &head(Some("gzip")), None, &mut r);
        assert_eq!(r.headers.get(CONTENT_ENCODING).unwrap(), "gzip");
        assert_eq!(r.headers.get(VARY).unwrap(), "Accept-Encoding");
        assert_eq!(r.headers.get(ETAG).unwrap(), "\"abc-gzip\"");
        assert!(r.headers.get(CONTENT_LENGTH).is_none());
        let Body::Bytes(b) = &r.body else {
            panic!("not compressed in memory")
        };
        assert!(b.len() < text.len() / 10);
        assert_eq!(gunzip(b), text.as_bytes());
        // A client without gzip: Vary only.
        let mut r = html(&text);
        apply(&dir(false), &head(None), None, &mut r);
        assert!(r.headers.get(CONTENT_ENCODING).is_none());
        assert_eq!(r.headers.get(VARY).unwrap(), "Accept-Encoding");
        // Another type is left alone.
        let mut r = html(&text).header(CONTENT_TYPE, "image/png");
        apply(&dir(false), &head(Some("gzip")), None, &mut r);
        assert!(r.headers.get(CONTENT_ENCODING).is_none() && r.headers.get(VARY).is_none());
    }

    #[test]
    fn skips_what_apache_skips() {
        let text = "x".repeat(1000);
        for status in [StatusCode::NOT_MODIFIED, StatusCode::PARTIAL_CONTENT] {
            let mut r = html(&text);
            r.status = status;
            apply(&dir(true), &head(Some("gzip")), None, &mut r);
            assert!(r.headers.get(CONTENT_ENCODING).is_none(), "{status}");
        }
        let mut r = html(&text).header(CONTENT_ENCODING, "br");
        apply(&dir(true), &head(Some("gzip")), None, &mut r);
        assert_eq!(r.headers.get(CONTENT_ENCODING).unwrap(), "br");
        let mut d = dir(true);
        Arc::make_mut(&mut d.env.vars).push(("no-gzip".into(), "1".into()));
        let mut r = html(&text);
        apply(&d, &head(Some("gzip")), None, &mut r);
        assert!(r.headers.get(CONTENT_ENCODING).is_none() && r.headers.get(VARY).is_none());
    }

    #[test]
    fn files_are_compressed_once_per_version_and_large_ones_streamed() {
        let dirp = tempfile::tempdir().unwrap();
        let p = dirp.path().join("f.html");
        let text = "line of text\n".repeat(5000);
        std::fs::write(&p, &text).unwrap();
        let f = Arc::new(File::open(&p).unwrap());
        let a = compressed_file(&f, 0, text.len() as u64, GZ6).unwrap();
        let b = compressed_file(&f, 0, text.len() as u64, GZ6).unwrap();
        assert_eq!(a.as_ptr(), b.as_ptr(), "second request from the cache");
        assert_eq!(gunzip(&a), text.as_bytes());
        assert!(compressed_file(&f, 0, CACHE_MAX_FILE + 1, GZ6).is_none());
        let mut r = Response::new(
            StatusCode::OK,
            Body::File {
                file: f,
                offset: 13,
                len: 26,
                sendfile: false,
            },
        )
        .header(CONTENT_TYPE, "text/html");
        apply(&dir(true), &head(Some("gzip")), Some(&p), &mut r);
        let Body::Bytes(b) = &r.body else { panic!() };
        assert_eq!(gunzip(b), &text.as_bytes()[13..39]);
    }
}
