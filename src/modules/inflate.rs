//! mod_deflate's input filter (`SetInputFilter DEFLATE`): a request body sent with
//! `Content-Encoding: gzip` reaches the handler inflated, its head without the gzip
//! coding and without Content-Length (the length is no longer known). Bounded as
//! Apache bounds it: the inflated size by `DeflateInflateLimitRequestBody` (default
//! LimitRequestBody; 413, AH02647), the inflation ratio by `DeflateInflateRatioLimit`
//! more than `DeflateInflateRatioBurst` reads in a row (400, AH02649); corrupt data is a
//! 400 (AH01232).

use std::io::{self, Read};

use flate2::read::MultiGzDecoder;
use http::header::{CONTENT_ENCODING, CONTENT_LENGTH};
use rhttpd_http::{BodyFraming, HeaderValue, RequestHead, StatusCode};

use crate::conf::DirConfig;
use crate::handler::RequestBody;

/// Apache's defaults for the ratio check.
const RATIO_LIMIT: u64 = 200;
const RATIO_BURST: u32 = 3;

/// Whether the head's last content coding is gzip.
fn gzip_coded(head: &RequestHead) -> bool {
    let Some(v) = head.headers.get(CONTENT_ENCODING) else {
        return false;
    };
    let last = v.as_bytes().rsplit(|&b| b == b',').next().unwrap_or(b"");
    let last = String::from_utf8_lossy(last);
    let last = last.trim();
    last.eq_ignore_ascii_case("gzip") || last.eq_ignore_ascii_case("x-gzip")
}

/// The head the handler sees when the body is to be inflated, or `None` when it is not
/// (no `SetInputFilter DEFLATE` here, or a body that is not gzip-coded).
pub fn inflated_head(dir: &DirConfig, head: &RequestHead) -> Option<RequestHead> {
    if dir.deflate.inflate != Some(true) || head.body == BodyFraming::None || !gzip_coded(head) {
        return None;
    }
    let mut h = head.clone();
    let codings = String::from_utf8_lossy(head.headers[CONTENT_ENCODING].as_bytes()).into_owned();
    let rest: Vec<&str> = codings.split(',').map(str::trim).collect();
    h.headers.remove(CONTENT_ENCODING);
    if rest.len() > 1
        && let Ok(v) = HeaderValue::from_str(&rest[..rest.len() - 1].join(", "))
    {
        h.headers.insert(CONTENT_ENCODING, v);
    }
    h.headers.remove(CONTENT_LENGTH);
    h.headers.remove("content-md5");
    h.body = BodyFraming::Chunked;
    Some(h)
}

/// Why inflation stopped early: the status the response becomes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InflateError {
    pub status: StatusCode,
    pub message: String,
}

/// The compressed body as read from the connection, counted.
struct Counted<'a, 'b> {
    inner: &'a mut RequestBody<'b>,
    read: u64,
    /// Reading from the connection failed (not the data).
    inner_failed: bool,
}

impl Read for Counted<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.read += n as u64;
                Ok(n)
            }
            Err(e) => {
                self.inner_failed |= e.kind() != io::ErrorKind::Interrupted;
                Err(e)
            }
        }
    }
}

/// The inflated body, for the handler.
pub struct InflateBody<'a, 'b> {
    decoder: MultiGzDecoder<Counted<'a, 'b>>,
    limit: u64,
    ratio_limit: u64,
    ratio_burst: u32,
    ratio_hits: u32,
    produced: u64,
    failed: Option<InflateError>,
}

impl<'a, 'b> InflateBody<'a, 'b> {
    pub fn new(dir: &DirConfig, body: &'a mut RequestBody<'b>) -> InflateBody<'a, 'b> {
        InflateBody {
            decoder: MultiGzDecoder::new(Counted {
                inner: body,
                read: 0,
                inner_failed: false,
            }),
            limit: dir
                .deflate
                .inflate_limit
                .unwrap_or_else(|| dir.limit_request_body()),
            ratio_limit: dir.deflate.inflate_ratio_limit.unwrap_or(RATIO_LIMIT),
            ratio_burst: dir.deflate.inflate_ratio_burst.unwrap_or(RATIO_BURST),
            ratio_hits: 0,
            produced: 0,
            failed: None,
        }
    }

    /// The reason inflation was stopped, if it was.
    pub fn failure(&self) -> Option<&InflateError> {
        self.failed.as_ref()
    }

    fn fail(&mut self, status: StatusCode, message: String) -> io::Error {
        let e = io::Error::new(io::ErrorKind::InvalidData, message.clone());
        self.failed = Some(InflateError { status, message });
        e
    }
}

impl Read for InflateBody<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(f) = &self.failed {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                f.message.clone(),
            ));
        }
        let n = match self.decoder.read(buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(e),
            Err(e) if self.decoder.get_ref().inner_failed => {
                // The connection's own error (the driver answers for it).
                let msg = format!("Error reading request entity data: {e}");
                return Err(self.fail(StatusCode::BAD_REQUEST, msg));
            }
            Err(e) => {
                // Not gzip, corrupt, or cut short.
                let msg = format!("AH01232: Zlib error inflating data ({e})");
                return Err(self.fail(StatusCode::BAD_REQUEST, msg));
            }
        };
        self.produced += n as u64;
        if self.limit != 0 && self.produced > self.limit {
            let msg = format!(
                "AH02647: Inflated content length of {} is larger than the configured limit of {}",
                self.produced, self.limit
            );
            return Err(self.fail(StatusCode::PAYLOAD_TOO_LARGE, msg));
        }
        let read = self.decoder.get_ref().read;
        if read > 0 && n > 0 {
            if self.produced / read < self.ratio_limit {
                self.ratio_hits = 0;
            } else {
                self.ratio_hits += 1;
                if self.ratio_hits > self.ratio_burst {
                    let msg = format!(
                        "AH02649: Inflated content ratio is larger than the configured limit {} by {} time(s)",
                        self.ratio_limit, self.ratio_hits
                    );
                    return Err(self.fail(StatusCode::BAD_REQUEST, msg));
                }
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compression, write::GzEncoder};
    use proptest::prelude::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn dir(f: impl FnOnce(&mut DirConfig)) -> DirConfig {
        let mut d = DirConfig::default();
        d.deflate.inflate = Some(true);
        f(&mut d);
        d
    }

    fn inflate(d: &DirConfig, wire: &[u8], chunk: usize) -> (Vec<u8>, Option<InflateError>) {
        let mut src: &[u8] = wire;
        let body: &mut RequestBody<'_> = &mut src;
        let mut r = InflateBody::new(d, body);
        let mut out = Vec::new();
        let mut buf = vec![0u8; chunk];
        loop {
            match r.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(_) => break,
            }
        }
        (out, r.failure().cloned())
    }

    #[test]
    fn inflates_and_bounds() {
        let text = b"name=value&x=1".repeat(10);
        let (out, failed) = inflate(&dir(|_| {}), &gzip(&text), 7);
        assert_eq!((out.as_slice(), failed), (&text[..], None));
        // Over the inflated limit: 413.
        let (_, failed) = inflate(
            &dir(|d| d.deflate.inflate_limit = Some(50)),
            &gzip(&text),
            64,
        );
        assert_eq!(failed.unwrap().status, StatusCode::PAYLOAD_TOO_LARGE);
        // LimitRequestBody is the default limit.
        let (_, failed) = inflate(&dir(|d| d.limit_request_body = Some(100)), &gzip(&text), 64);
        assert!(failed.unwrap().message.contains("AH02647"));
        // A bomb: 10 MB of zeros in ~10 KB trips the ratio check once the output passes
        // 200 times what was read (the decoder reads the whole 10 KB at once), plus the
        // three reads of burst.
        let bomb = gzip(&vec![0u8; 10 << 20]);
        let (out, failed) = inflate(&dir(|_| {}), &bomb, 8192);
        let failed = failed.unwrap();
        assert_eq!(failed.status, StatusCode::BAD_REQUEST);
        assert!(failed.message.contains("AH02649"), "{}", failed.message);
        assert!(out.len() < 3 << 20, "{}", out.len());
        // Corrupt data: 400.
        let (_, failed) = inflate(&dir(|_| {}), b"\x1f\x8b\x08\x00garbage-garbage", 64);
        assert!(failed.unwrap().message.contains("AH01232"));
    }

    #[test]
    fn the_head_loses_gzip_and_its_length() {
        let text = "POST / HTTP/1.1\r\nHost: a\r\nContent-Encoding: identity, gzip\r\nContent-Length: 9\r\n\r\n";
        let head = rhttpd_http::parse_request_head(text.as_bytes(), &Default::default())
            .unwrap()
            .unwrap();
        assert!(inflated_head(&DirConfig::default(), &head).is_none());
        let h = inflated_head(&dir(|_| {}), &head).unwrap();
        assert_eq!(h.headers.get(CONTENT_ENCODING).unwrap(), "identity");
        assert!(h.headers.get(CONTENT_LENGTH).is_none());
        assert_eq!(h.body, BodyFraming::Chunked);
        let plain = text.replace("identity, gzip", "br");
        let head = rhttpd_http::parse_request_head(plain.as_bytes(), &Default::default())
            .unwrap()
            .unwrap();
        assert!(inflated_head(&dir(|_| {}), &head).is_none());
    }

    proptest! {
        #[test]
        fn any_input_ends_without_panic(wire in proptest::collection::vec(any::<u8>(), 0..512), chunk in 1usize..64) {
            let _ = inflate(&dir(|_| {}), &wire, chunk);
        }

        #[test]
        fn round_trips_below_the_limits(data in proptest::collection::vec(any::<u8>(), 0..4096), chunk in 1usize..512) {
            let (out, failed) = inflate(&dir(|_| {}), &gzip(&data), chunk);
            prop_assert_eq!(failed, None);
            prop_assert_eq!(out, data);
        }
    }
}
