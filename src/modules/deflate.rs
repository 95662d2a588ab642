//! mod_deflate's output filter: gzip for responses a section sends through `DEFLATE`
//! (`SetOutputFilter`, mod_mime's `AddOutputFilter`, mod_filter's
//! `AddOutputFilterByType`), with Apache's rules — `no-gzip`, `gzip-only-text/html` and
//! `dont-vary`, nothing already encoded, no 204/206/304, `Vary: Accept-Encoding`, ETag
//! suffixed `-gzip`, Content-Length dropped. Whole small bodies and files up to
//! [`CACHE_MAX_FILE`] are compressed in memory, a file's result remembered per version
//! (inode, size, modification time) so a repeated request is not compressed again;
//! larger files and streamed bodies (CGI, proxy, FastCGI) are compressed as they are read.
//! A `FILE.gz` made beforehand, no older than the file, is sent as it is instead (as
//! nginx's `gzip_static`).

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

/// Whether `dir` sends this response through DEFLATE: `SetOutputFilter`, the file's
/// extension (`AddOutputFilter`) or its type (`AddOutputFilterByType`).
fn wants_deflate(dir: &DirConfig, file: Option<&Path>, content_type: &str) -> bool {
    let z = &dir.deflate;
    let has = |fs: &Vec<String>| fs.iter().any(|f| f == "DEFLATE");
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
    head.headers
        .get_all(ACCEPT_ENCODING)
        .iter()
        .any(|v| accepts_gzip_value(v.to_str().unwrap_or("")))
}

/// [`accepts_gzip`] for one `Accept-Encoding` value.
pub fn accepts_gzip_value(value: &str) -> bool {
    value.split(',').any(|item| {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim();
        if !coding.eq_ignore_ascii_case("gzip") && !coding.eq_ignore_ascii_case("x-gzip") {
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

/// mod_deflate's output filter on a finished response.
pub fn apply(dir: &DirConfig, head: &RequestHead, file: Option<&Path>, resp: &mut Response) {
    let file_path = file;
    if !dir.deflate.configured() {
        return;
    }
    static NO_OVERLAY: crate::modules::setenvif::Overlay = Vec::new();
    let env = |name: &str| crate::modules::setenvif::lookup(&NO_OVERLAY, Some(dir), name);
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
    if !wants_deflate(dir, file, &content_type) || env("no-gzip").is_some() {
        return;
    }
    if env("gzip-only-text/html") == Some("1")
        && !content_type.to_ascii_lowercase().starts_with("text/html")
    {
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
    if !accepts_gzip(head) {
        return;
    }
    let level = Compression::new(dir.deflate.level.unwrap_or(6));
    let body = std::mem::replace(&mut resp.body, Body::Empty);
    resp.body = match body {
        Body::Bytes(b) => Body::Bytes(gzip(&b, level)),
        Body::File {
            file,
            offset,
            len,
            sendfile,
        } => match precompressed(file_path, &file, offset, len) {
            Some((gz, gz_len)) => Body::File {
                file: Arc::new(gz),
                offset: 0,
                len: gz_len,
                sendfile,
            },
            None => match compressed_file(&file, offset, len, level) {
                Some(b) => Body::Bytes(b),
                None => Body::Stream(Box::new(GzEncoder::new(
                    FileSlice {
                        file,
                        pos: offset,
                        end: offset + len,
                    },
                    level,
                ))),
            },
        },
        Body::Stream(r) => Body::Stream(Box::new(GzEncoder::new(r, level))),
        other => {
            resp.body = other;
            return;
        }
    };
    resp.headers
        .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    resp.headers.remove(CONTENT_LENGTH);
    resp.headers.remove(ACCEPT_RANGES);
    match dir.deflate.alter_etag.unwrap_or_default() {
        AlterETag::AddSuffix => {
            if let Some(tag) = resp.headers.get(ETAG).and_then(|v| v.to_str().ok())
                && let Some(inner) = tag.strip_suffix('"')
                && let Ok(v) = HeaderValue::from_str(&format!("{inner}-gzip\""))
            {
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
    let mut out = Vec::with_capacity(data.len() / 3 + 64);
    let mut enc = GzEncoder::new(data, level);
    // Reading from a slice cannot fail.
    let _ = enc.read_to_end(&mut out);
    Bytes::from(out)
}

/// `FILE.gz` beside the whole file sent, made before (nginx's `gzip_static`): used when
/// it is a regular file no older than the file itself. (file, length).
fn precompressed(path: Option<&Path>, file: &File, offset: u64, len: u64) -> Option<(File, u64)> {
    let path = path?;
    let meta = file.metadata().ok()?;
    if offset != 0 || len != meta.len() {
        return None;
    }
    let mut name = path.as_os_str().to_owned();
    name.push(".gz");
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
fn compressed_file(file: &File, offset: u64, len: u64, level: Compression) -> Option<Bytes> {
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
        level.level(),
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
    let gz = gzip(&data, level);
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
            proptest::prop_assert_eq!(gunzip(&gzip(&data, Compression::new(6))), data);
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
        let a = compressed_file(&f, 0, text.len() as u64, Compression::new(6)).unwrap();
        let b = compressed_file(&f, 0, text.len() as u64, Compression::new(6)).unwrap();
        assert_eq!(a.as_ptr(), b.as_ptr(), "second request from the cache");
        assert_eq!(gunzip(&a), text.as_bytes());
        assert!(compressed_file(&f, 0, CACHE_MAX_FILE + 1, Compression::new(6)).is_none());
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
