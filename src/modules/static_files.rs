//! The default handler: Apache's `default_handler` (core.c) for files, with mod_dir's
//! trailing-slash redirect and DirectoryIndex, mod_autoindex for listings, and the
//! conditional/Range logic of `ap_meets_conditions` and the byterange filter.
//!
//! Behaviour checked against Apache 2.4:
//! - GET, HEAD and POST serve the file (POST too, with any body discarded); OPTIONS is
//!   answered with `Allow`; other registered methods get 405, unregistered ones 501, both
//!   with `Allow: GET,POST,OPTIONS,HEAD[,TRACE]`.
//! - A directory without a trailing slash is redirected (301, any method) to the same
//!   URL plus `/`, query string kept; with the slash the first DirectoryIndex file that is
//!   a regular file is served, else a listing (GET/HEAD with `Options Indexes`), else 403
//!   (404 for POST, which mod_autoindex declines).
//! - Not a regular file (FIFO, device, socket) → 403; an `open` failure → 403 (AH00132).
//! - 304 and 412 are sent as plain responses with the validators (no error page), as
//!   `default_handler` does; 416 is an error page with `Content-Range: bytes */LEN`.

use std::fs::Metadata;
use std::io::{self, ErrorKind};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use bytes::Bytes;
use http::{HeaderValue, header};
use rhttpd_http::{
    BodyFraming, ByteRange, Method, Precondition, RangeOutcome, StatusCode, Validators,
    byteranges_boundary, byteranges_content_type, byteranges_part_header, byteranges_trailer,
    etag_should_be_weak, evaluate_preconditions, evaluate_range_limits, fmt_http_date,
    if_range_matches, make_etag,
};

use crate::authz::check_symlinks;
use crate::conf::{FileETag, Options};
use crate::handler::{
    Body, BodyPart, DEFAULT_HANDLER, Handler, Request, RequestBody, Response, allow_header,
};
use crate::modules::autoindex::{self, IndexOptions};
use crate::modules::file_cache;
use crate::modules::mime::{content_encoding_for, content_languages_for, content_type_for};
use crate::uri::encode_path;

/// Apache's default `MaxRanges`.
pub const MAX_RANGES: usize = 200;

/// Methods Apache knows (`ap_method_registry_init`) besides GET/HEAD/POST/OPTIONS: they
/// get 405 from the default handler; any other method gets 501.
pub(crate) const KNOWN_METHODS: &[&str] = &[
    "PUT",
    "DELETE",
    "CONNECT",
    "TRACE",
    "PATCH",
    "PROPFIND",
    "PROPPATCH",
    "MKCOL",
    "COPY",
    "MOVE",
    "LOCK",
    "UNLOCK",
    "VERSION-CONTROL",
    "CHECKOUT",
    "UNCHECKOUT",
    "CHECKIN",
    "UPDATE",
    "LABEL",
    "REPORT",
    "MKWORKSPACE",
    "MKACTIVITY",
    "BASELINE-CONTROL",
    "MERGE",
];

/// The static file handler (Apache's `default-handler`).
#[derive(Clone, Copy, Debug, Default)]
pub struct StaticFiles;

impl Handler for StaticFiles {
    fn name(&self) -> &'static str {
        DEFAULT_HANDLER
    }

    /// Local files only (a request body, which it discards, is never read inline).
    fn may_block(&self) -> bool {
        false
    }

    fn handle(&self, req: &Request<'_>, body: &mut RequestBody<'_>) -> Response {
        serve(req, body)
    }
}

fn serve(req: &Request<'_>, body: &mut RequestBody<'_>) -> Response {
    let allow = allow_header(req.vhost.trace_enable);
    let meta = req.filename.map(file_cache::stat);

    // mod_dir's DirectorySlash runs as a fixup, before the handler, for every method.
    // With `DirectorySlash Off` the directory is left to the handler as it is.
    if let Some(Ok(m)) = &meta
        && m.is_dir()
        && !req.uri_path.ends_with('/')
        && req.dir.directory_slash()
    {
        let mut target = encode_path(req.uri_path);
        target.push('/');
        if let Some(q) = &req.head.query {
            target.push('?');
            target.push_str(q);
        }
        return Response::redirect(StatusCode::MOVED_PERMANENTLY, &req.absolute_url(&target));
    }

    let method = &req.head.method;
    if *method == Method::OPTIONS {
        return Response::new(StatusCode::OK, Body::Empty).header(header::ALLOW, allow);
    }
    if *method != Method::GET && *method != Method::HEAD && *method != Method::POST {
        let status = if KNOWN_METHODS.contains(&method.as_str()) {
            StatusCode::METHOD_NOT_ALLOWED
        } else {
            StatusCode::NOT_IMPLEMENTED
        };
        return Response::error(status).header(header::ALLOW, allow);
    }

    // ap_discard_request_body.
    if !matches!(req.head.body, BodyFraming::None)
        && let Err(e) = io::copy(body, &mut io::sink())
    {
        // As ap_map_http_request_error: a body over LimitRequestBody is 413, a client
        // that stops sending within Timeout 408, anything else (bad framing) 400.
        return Response::error(match e.kind() {
            ErrorKind::FileTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::WouldBlock | ErrorKind::TimedOut => StatusCode::REQUEST_TIMEOUT,
            _ => StatusCode::BAD_REQUEST,
        });
    }

    let (Some(path), Some(meta)) = (req.filename, meta) else {
        return Response::error(StatusCode::NOT_FOUND);
    };
    let meta = match meta {
        Ok(m) => m,
        Err(e) => {
            file_cache::global().forget(path);
            return Response::error(stat_error_status(&e));
        }
    };
    if meta.is_dir() {
        return serve_directory(req, path);
    }
    if !meta.is_file() {
        return Response::error(StatusCode::FORBIDDEN);
    }
    // A file reached with a trailing slash has path info "/": AcceptPathInfo Default
    // refuses it for the default handler.
    if req.uri_path.ends_with('/') {
        return Response::error(StatusCode::NOT_FOUND);
    }
    serve_file(req, path, &meta)
}

fn stat_error_status(e: &io::Error) -> StatusCode {
    match e.kind() {
        ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
        _ => StatusCode::NOT_FOUND,
    }
}

fn serve_directory(req: &Request<'_>, dir_path: &Path) -> Response {
    let opts = req.dir.options();
    // mod_dir looks for the DirectoryIndex only for a URL ending in `/` (reached without
    // one only under `DirectorySlash Off`: Apache then goes straight to the listing).
    if req.uri_path.ends_with('/')
        && let Some((index, stat)) = find_index_stat(dir_path, &req.dir.directory_index(), opts)
    {
        return serve_file(req, &index, &stat);
    }
    // mod_autoindex declines anything but GET (and HEAD); the default handler then
    // refuses to serve a directory.
    if req.head.method == Method::POST {
        return Response::error(StatusCode::NOT_FOUND);
    }
    if !opts.indexes {
        // AH01276: no matching DirectoryIndex and listings forbidden by Options.
        return Response::error(StatusCode::FORBIDDEN);
    }
    let iopts = IndexOptions {
        ignore: req.dir.index_ignore.clone().unwrap_or_default(),
        query: req.head.query.clone(),
        options: opts,
        ..IndexOptions::default()
    };
    match autoindex::render_listing(req.uri_path, dir_path, &iopts) {
        Ok(html) => Response::new(StatusCode::OK, Body::Bytes(Bytes::from(html)))
            .header(header::CONTENT_TYPE, autoindex::CONTENT_TYPE),
        Err(_) => Response::error(StatusCode::FORBIDDEN),
    }
}

/// The first DirectoryIndex entry that names a regular file in `dir`. `disabled` turns
/// the index off; entries that are URL paths (`/cgi-bin/index.pl`) or contain `..` are
/// left to the pipeline.
pub fn find_index(dir: &Path, names: &[String], opts: Options) -> Option<PathBuf> {
    find_index_stat(dir, names, opts).map(|(p, _)| p)
}

/// [`find_index`] with the index file's stat.
fn find_index_stat(dir: &Path, names: &[String], opts: Options) -> Option<(PathBuf, Metadata)> {
    if names
        .first()
        .is_some_and(|n| n.eq_ignore_ascii_case("disabled"))
    {
        return None;
    }
    names
        .iter()
        .filter(|n| !n.is_empty() && !n.starts_with('/'))
        .filter(|n| {
            Path::new(n)
                .components()
                .all(|c| matches!(c, Component::Normal(_)))
        })
        .map(|n| dir.join(n))
        .filter(|p| check_symlinks(dir, p, opts))
        .find_map(|p| match file_cache::stat(&p) {
            Ok(m) if m.is_file() => Some((p, m)),
            _ => None,
        })
}

struct FileInfo {
    meta: Metadata,
    mtime: Option<SystemTime>,
    etag: Option<HeaderValue>,
    last_modified: Option<HeaderValue>,
    content_type: Option<String>,
    content_encoding: Option<String>,
    /// mod_mime's languages (AddLanguage, DefaultLanguage): Content-Language.
    content_languages: Vec<String>,
}

/// `stat`: this request's stat of `path` (a regular file); the open-file cache reuses a
/// descriptor only while it matches.
fn serve_file(req: &Request<'_>, path: &Path, stat: &Metadata) -> Response {
    let (file, meta) = match file_cache::global().open(path, stat) {
        Ok(o) => (o.file, o.meta),
        Err(e) if e.kind() == ErrorKind::NotFound => return Response::error(StatusCode::NOT_FOUND),
        // AH00132: file permissions deny server access.
        Err(_) => return Response::error(StatusCode::FORBIDDEN),
    };
    if !meta.is_file() {
        return Response::error(StatusCode::FORBIDDEN);
    }
    let info = file_info(req, path, meta);
    let size = info.meta.len();

    let validators = Validators {
        etag: info.etag.as_ref().and_then(|v| v.to_str().ok()),
        last_modified: info.mtime,
    };
    match evaluate_preconditions(&req.head.method, &req.head.headers, &validators) {
        Precondition::Proceed => {}
        Precondition::NotModified => {
            return with_validators(Response::new(StatusCode::NOT_MODIFIED, Body::Empty), &info);
        }
        Precondition::Failed => {
            let r = with_validators(
                Response::new(StatusCode::PRECONDITION_FAILED, Body::Empty),
                &info,
            );
            return with_type(r, &info);
        }
    }

    let sendfile = req.dir.enable_sendfile();
    let range_header = req
        .head
        .headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok());
    let outcome = match range_header {
        Some(_) if !if_range_matches(&req.head.headers, &validators) => RangeOutcome::Full,
        r => evaluate_range_limits(
            r,
            size,
            req.dir.max_ranges.unwrap_or(MAX_RANGES),
            req.dir.max_range_overlaps.unwrap_or(20),
            req.dir.max_range_reversals.unwrap_or(20),
        ),
    };
    match outcome {
        RangeOutcome::Full => {
            let body = match small_content(&file, &info.meta, info.mtime) {
                Some(bytes) => Body::Bytes(bytes),
                None => Body::File {
                    file,
                    offset: 0,
                    len: size,
                    sendfile,
                },
            };
            with_type(
                with_validators(Response::new(StatusCode::OK, body), &info),
                &info,
            )
        }
        RangeOutcome::Unsatisfiable => Response::error(StatusCode::RANGE_NOT_SATISFIABLE)
            .header(header::CONTENT_RANGE, &format!("bytes */{size}")),
        RangeOutcome::Partial(ranges) => match ranges.as_slice() {
            [] => Response::error(StatusCode::RANGE_NOT_SATISFIABLE)
                .header(header::CONTENT_RANGE, &format!("bytes */{size}")),
            [r] => {
                let body = Body::File {
                    file,
                    offset: r.start,
                    len: r.len(),
                    sendfile,
                };
                let resp = with_validators(Response::new(StatusCode::PARTIAL_CONTENT, body), &info)
                    .header(
                        header::CONTENT_RANGE,
                        &format!("bytes {}-{}/{size}", r.start, r.end),
                    );
                with_type(resp, &info)
            }
            many => {
                let boundary = byteranges_boundary();
                let parts = multipart_parts(&boundary, info.content_type.as_deref(), many, size);
                let body = Body::FileParts {
                    file,
                    parts,
                    sendfile,
                };
                let r = with_validators(Response::new(StatusCode::PARTIAL_CONTENT, body), &info);
                with_encoding(r, &info)
                    .header(header::CONTENT_TYPE, &byteranges_content_type(&boundary))
            }
        },
    }
}

fn multipart_parts(
    boundary: &str,
    ct: Option<&str>,
    ranges: &[ByteRange],
    total: u64,
) -> Vec<BodyPart> {
    let mut parts = Vec::with_capacity(ranges.len() * 2 + 1);
    for r in ranges {
        let head = byteranges_part_header(boundary, ct, *r, total);
        parts.push(BodyPart::Bytes(Bytes::from(head)));
        parts.push(BodyPart::FileRange {
            offset: r.start,
            len: r.len(),
        });
    }
    parts.push(BodyPart::Bytes(Bytes::from(byteranges_trailer(boundary))));
    parts
}

/// A file's validators as header values, remembered per thread for the last few files
/// whose Last-Modified and ETag cannot change any more (modified over a second before the
/// request): a hot file's are formatted once, not on every request.
#[derive(Clone, PartialEq, Eq)]
struct ValidatorKey {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: SystemTime,
    etag_fields: FileETag,
}

const VALIDATOR_MEMO: usize = 8;

thread_local! {
    static VALIDATORS: std::cell::RefCell<(usize, Vec<(ValidatorKey, Validated)>)> =
        const { std::cell::RefCell::new((0, Vec::new())) };
}

#[derive(Clone)]
struct Validated {
    last_modified: HeaderValue,
    etag: Option<HeaderValue>,
}

fn validators(meta: &Metadata, mtime: SystemTime, fe: FileETag, now: SystemTime) -> Validated {
    // ap_update_mtime/ap_set_last_modified: never later than the request time.
    let make = || Validated {
        last_modified: header_value(fmt_http_date(mtime.min(now))),
        etag: (!fe.is_none()).then(|| {
            header_value(make_etag(
                fe.inode.then(|| meta.ino()),
                fe.mtime.then_some(mtime),
                fe.size.then_some(meta.len()),
                etag_should_be_weak(mtime, now),
            ))
        }),
    };
    if etag_should_be_weak(mtime, now) {
        return make();
    }
    let key = ValidatorKey {
        dev: meta.dev(),
        ino: meta.ino(),
        size: meta.len(),
        mtime,
        etag_fields: fe,
    };
    VALIDATORS.with_borrow_mut(|(next, memo)| {
        if let Some((_, v)) = memo.iter().find(|(k, _)| *k == key) {
            return v.clone();
        }
        let v = make();
        if memo.len() < VALIDATOR_MEMO {
            memo.push((key, v.clone()));
        } else {
            memo[*next] = (key, v.clone());
            *next = (*next + 1) % VALIDATOR_MEMO;
        }
        v
    })
}

/// Contents of small files, remembered per thread for the last few whose validators can
/// no longer change (the rule of [`validators`]: modified over a second before the
/// request; a new inode, size or mtime is another key): a hot small file is sent
/// without a read per request. At most [`CONTENT_MEMO`] × [`CONTENT_MAX`] per thread.
const CONTENT_MEMO: usize = 8;
const CONTENT_MAX: u64 = 8 * 1024;

type ContentKey = (u64, u64, u64, SystemTime);

thread_local! {
    static CONTENTS: std::cell::RefCell<(usize, Vec<(ContentKey, Bytes)>)> =
        const { std::cell::RefCell::new((0, Vec::new())) };
}

fn small_content(
    file: &std::fs::File,
    meta: &Metadata,
    mtime: Option<SystemTime>,
) -> Option<Bytes> {
    let size = meta.len();
    let mtime = mtime?;
    if size == 0 || size > CONTENT_MAX || etag_should_be_weak(mtime, SystemTime::now()) {
        return None;
    }
    let key = (meta.dev(), meta.ino(), size, mtime);
    CONTENTS.with_borrow_mut(|(next, memo)| {
        if let Some((_, b)) = memo.iter().find(|(k, _)| *k == key) {
            return Some(b.clone());
        }
        let mut v = vec![0u8; size as usize];
        std::os::unix::fs::FileExt::read_exact_at(file, &mut v, 0).ok()?;
        let b = Bytes::from(v);
        if memo.len() < CONTENT_MEMO {
            memo.push((key, b.clone()));
        } else {
            memo[*next] = (key, b.clone());
            *next = (*next + 1) % CONTENT_MEMO;
        }
        Some(b)
    })
}

/// A value we formatted ourselves (a date, an ETag: visible ASCII).
fn header_value(s: String) -> HeaderValue {
    HeaderValue::from_maybe_shared(Bytes::from(s)).unwrap_or(HeaderValue::from_static(""))
}

fn file_info(req: &Request<'_>, path: &Path, meta: Metadata) -> FileInfo {
    let now = SystemTime::now();
    let mtime = meta.modified().ok();
    let fe = req.dir.file_etag();
    let (last_modified, etag) = match mtime {
        Some(m) => {
            let v = validators(&meta, m, fe, now);
            (Some(v.last_modified), v.etag)
        }
        None => (
            None,
            (!fe.is_none()).then(|| {
                header_value(make_etag(
                    fe.inode.then(|| meta.ino()),
                    None,
                    fe.size.then_some(meta.len()),
                    false,
                ))
            }),
        ),
    };
    let content_type = content_type_for(path, req.dir, &req.server.mime);
    let content_encoding = content_encoding_for(path, req.dir);
    let content_languages = content_languages_for(path, req.dir);
    FileInfo {
        meta,
        mtime,
        etag,
        last_modified,
        content_type,
        content_encoding,
        content_languages,
    }
}

fn with_validators(mut r: Response, info: &FileInfo) -> Response {
    if let Some(lm) = &info.last_modified {
        r.headers.insert(header::LAST_MODIFIED, lm.clone());
    }
    if let Some(et) = &info.etag {
        r.headers.insert(header::ETAG, et.clone());
    }
    r.headers
        .insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    r
}

fn with_type(r: Response, info: &FileInfo) -> Response {
    let r = with_encoding(r, info);
    match &info.content_type {
        Some(ct) => r.header(header::CONTENT_TYPE, ct),
        None => r,
    }
}

/// mod_mime's AddEncoding: the file's Content-Encoding.
fn with_encoding(r: Response, info: &FileInfo) -> Response {
    let r = if info.content_languages.is_empty() {
        r
    } else {
        r.header(header::CONTENT_LANGUAGE, &info.content_languages.join(", "))
    };
    match &info.content_encoding {
        Some(ce) => r.header(header::CONTENT_ENCODING, ce),
        None => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conf::{
        DirConfig, FileETag, MimeTypes, OptionsEdit, ServerConfig, ServerTokens, VirtualHost,
    };
    use crate::handler::ConnInfo;
    use crate::log::LogLevels;
    use rhttpd_http::{HeaderMap, HeaderName, HeaderValue, RequestHead, Version};

    #[test]
    fn small_contents_are_remembered_only_while_they_cannot_change() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.txt");
        let write = |text: &str, age: u64| {
            std::fs::write(&path, text).unwrap();
            let f = std::fs::File::options().write(true).open(&path).unwrap();
            f.set_modified(SystemTime::now() - std::time::Duration::from_secs(age))
                .unwrap();
        };
        let read = || {
            let f = std::fs::File::open(&path).unwrap();
            let meta = f.metadata().unwrap();
            small_content(&f, &meta, meta.modified().ok())
        };
        write("one", 10);
        assert_eq!(read().as_deref(), Some(&b"one"[..]));
        // Same size, another mtime: another key, the new content.
        write("two", 20);
        assert_eq!(read().as_deref(), Some(&b"two"[..]));
        // Modified within the last second: could still change unseen, not remembered.
        write("new", 0);
        assert_eq!(read(), None);
        // Too large for the memo.
        write(&"x".repeat(CONTENT_MAX as usize + 1), 10);
        assert_eq!(read(), None);
    }
    use std::fs;
    use std::fs::File;
    use std::io::Read;
    use std::os::unix::fs::FileExt;
    use std::sync::Arc;

    struct Fixture {
        root: tempfile::TempDir,
        server: ServerConfig,
        vhost: VirtualHost,
        conn: ConnInfo,
        dir: DirConfig,
    }

    fn fixture() -> Fixture {
        let root = tempfile::tempdir().unwrap();
        fs::write(root.path().join("a.txt"), "hello world\n").unwrap();
        fs::write(root.path().join("n.txt"), "0123456789").unwrap();
        fs::create_dir(root.path().join("sub")).unwrap();
        fs::write(root.path().join("sub/index.html"), "<p>i</p>").unwrap();
        fs::create_dir(root.path().join("list")).unwrap();
        fs::write(root.path().join("list/x.txt"), "x").unwrap();
        let server = ServerConfig {
            id: crate::conf::ConfigId::fresh(),
            config_file: PathBuf::new(),
            server_root: PathBuf::new(),
            listeners: Vec::new(),
            listen_backlog: 511,
            send_buffer_size: 0,
            receive_buffer_size: 0,
            accept_filters: Vec::new(),
            main: VirtualHost::default(),
            vhosts: Vec::new(),
            pid_file: PathBuf::new(),
            user: "nobody".into(),
            group: "nogroup".into(),
            error_log: "stderr".into(),
            error_log_format: None,
            log_level: LogLevels::default(),
            server_tokens: ServerTokens::Full,
            mime: Arc::new(MimeTypes::builtin()),
            types_config: PathBuf::new(),
            mpm: None,
            loaded_modules: Vec::new(),
            authn_aliases: Default::default(),
            defines: Vec::new(),
            mpm_directives: Vec::new(),
            extended_status: None,
            see_request_tail: false,
            graceful_shutdown_timeout: std::time::Duration::ZERO,
            core_dump_directory: None,
            includes: Vec::new(),
            warnings: Vec::new(),
            ssl: Default::default(),
        };
        Fixture {
            root,
            server,
            vhost: VirtualHost {
                server_name: Some("www.example.org".into()),
                ..VirtualHost::default()
            },
            conn: ConnInfo::new(
                "127.0.0.1:40000".parse().unwrap(),
                "127.0.0.1:8080".parse().unwrap(),
            ),
            dir: DirConfig::default(),
        }
    }

    fn no_redirect(_: &RequestHead) -> Response {
        unreachable!("the static-file handler makes no internal redirect")
    }

    fn head(method: &str, query: Option<&str>, headers: &[(&str, &str)]) -> RequestHead {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        RequestHead {
            method: Method::from_bytes(method.as_bytes()).unwrap(),
            raw_target: String::new(),
            path: String::new(),
            query: query.map(str::to_string),
            version: Version::HTTP_11,
            headers: map,
            host: None,
            request_line: String::new(),
            body: BodyFraming::None,
            expect_continue: false,
            connection_close: false,
            connection_keep_alive: false,
            head_len: 0,
        }
    }

    impl Fixture {
        fn run(&self, h: &RequestHead, uri: &str) -> Response {
            self.run_body(h, uri, &mut io::empty())
        }

        fn run_body(&self, h: &RequestHead, uri: &str, body: &mut dyn Read) -> Response {
            let rel = uri.trim_start_matches('/');
            let filename = self.root.path().join(rel);
            let req = Request {
                head: h,
                conn: &self.conn,
                server: &self.server,
                vhost: &self.vhost,
                dir: &self.dir,
                uri_path: uri,
                filename: Some(&filename),
                url_prefix: "/".into(),
                internal_redirect: &no_redirect,
                user: None,
            };
            StaticFiles.handle(&req, body)
        }

        fn get(&self, uri: &str, headers: &[(&str, &str)]) -> Response {
            self.run(&head("GET", None, headers), uri)
        }
    }

    fn hdr<'a>(r: &'a Response, name: &str) -> Option<&'a str> {
        r.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn content(r: &Response) -> Vec<u8> {
        let read = |f: &File, off: u64, len: u64| {
            let mut buf = vec![0u8; len as usize];
            f.read_exact_at(&mut buf, off).unwrap();
            buf
        };
        match &r.body {
            Body::Empty => Vec::new(),
            Body::Bytes(b) => b.to_vec(),
            Body::File {
                file, offset, len, ..
            } => read(file, *offset, *len),
            Body::FileParts { file, parts, .. } => parts
                .iter()
                .flat_map(|p| match p {
                    BodyPart::Bytes(b) => b.to_vec(),
                    BodyPart::FileRange { offset, len } => read(file, *offset, *len),
                })
                .collect(),
            Body::Stream(_) | Body::SizedStream { .. } | Body::Tunnel(_) => panic!("stream"),
        }
    }

    #[test]
    fn get_serves_file_with_headers() {
        let f = fixture();
        let r = f.get("/a.txt", &[]);
        assert_eq!(r.status, StatusCode::OK);
        assert!(!r.error_page);
        assert_eq!(content(&r), b"hello world\n");
        assert_eq!(hdr(&r, "content-type"), Some("text/plain"));
        assert_eq!(hdr(&r, "accept-ranges"), Some("bytes"));
        assert!(hdr(&r, "last-modified").is_some_and(|v| v.ends_with(" GMT")));
        assert!(hdr(&r, "etag").is_some_and(|v| v.contains('"')));
        assert!(matches!(
            r.body,
            Body::File {
                sendfile: true,
                offset: 0,
                len: 12,
                ..
            }
        ));
    }

    #[test]
    fn head_and_post_serve_too() {
        let f = fixture();
        let r = f.run(&head("HEAD", None, &[]), "/a.txt");
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body.len(), Some(12));
        let mut h = head("POST", None, &[]);
        h.body = BodyFraming::Length(3);
        let mut body: &[u8] = b"abc";
        let r = f.run_body(&h, "/a.txt", &mut body);
        assert_eq!(r.status, StatusCode::OK);
        assert!(body.is_empty(), "request body discarded");
    }

    #[test]
    fn other_methods() {
        let mut f = fixture();
        for m in ["PUT", "DELETE", "PATCH", "PROPFIND"] {
            let r = f.run(&head(m, None, &[]), "/a.txt");
            assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{m}");
            assert!(r.error_page);
            assert_eq!(hdr(&r, "allow"), Some("GET,POST,OPTIONS,HEAD"));
        }
        let r = f.run(&head("BREW", None, &[]), "/a.txt");
        assert_eq!(r.status, StatusCode::NOT_IMPLEMENTED);
        let r = f.run(&head("PUT", None, &[]), "/missing");
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
        f.vhost.trace_enable = true;
        let r = f.run(&head("OPTIONS", None, &[]), "/a.txt");
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(hdr(&r, "allow"), Some("GET,POST,OPTIONS,HEAD,TRACE"));
    }

    #[test]
    fn missing_and_special_files() {
        let f = fixture();
        assert_eq!(f.get("/missing", &[]).status, StatusCode::NOT_FOUND);
        assert!(f.get("/missing", &[]).error_page);
        assert_eq!(f.get("/a.txt/x", &[]).status, StatusCode::NOT_FOUND);
        assert_eq!(f.get("/a.txt/", &[]).status, StatusCode::NOT_FOUND);
        let h = head("GET", None, &[]);
        let req = Request {
            head: &h,
            conn: &f.conn,
            server: &f.server,
            vhost: &f.vhost,
            dir: &f.dir,
            uri_path: "/null",
            filename: Some(Path::new("/dev/null")),
            url_prefix: "/".into(),
            internal_redirect: &no_redirect,
            user: None,
        };
        assert_eq!(
            StaticFiles.handle(&req, &mut io::empty()).status,
            StatusCode::FORBIDDEN
        );
        let req = Request {
            filename: None,
            ..req
        };
        assert_eq!(
            StaticFiles.handle(&req, &mut io::empty()).status,
            StatusCode::NOT_FOUND
        );
    }

    #[test]
    fn unreadable_file_is_403() {
        use std::os::unix::fs::PermissionsExt;
        let f = fixture();
        let p = f.root.path().join("secret.txt");
        fs::write(&p, "s").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o000)).unwrap();
        if File::open(&p).is_ok() {
            return; // running as root: permissions are not enforced
        }
        assert_eq!(f.get("/secret.txt", &[]).status, StatusCode::FORBIDDEN);
    }

    #[test]
    fn directory_slash_redirect() {
        let f = fixture();
        let r = f.run(
            &head("GET", Some("a=b%20c"), &[("host", "Foo.Example:81")]),
            "/sub",
        );
        assert_eq!(r.status, StatusCode::MOVED_PERMANENTLY);
        assert!(r.error_page);
        assert_eq!(
            hdr(&r, "location"),
            Some("http://foo.example:81/sub/?a=b%20c")
        );
        let r = f.run(&head("GET", Some(""), &[("host", "h.example")]), "/sub");
        assert_eq!(hdr(&r, "location"), Some("http://h.example/sub/?"));
        let r = f.run(&head("PUT", None, &[]), "/sub");
        assert_eq!(r.status, StatusCode::MOVED_PERMANENTLY);
        assert_eq!(hdr(&r, "location"), Some("http://www.example.org/sub/"));
        fs::create_dir(f.root.path().join("a b")).unwrap();
        let r = f.run(&head("GET", None, &[("host", "[::1]:8080")]), "/a b");
        assert_eq!(hdr(&r, "location"), Some("http://[::1]:8080/a%20b/"));
    }

    #[test]
    fn directory_slash_off_lists_without_index() {
        let mut f = fixture();
        f.dir.directory_slash = Some(false);
        // No redirect: without the slash mod_dir skips DirectoryIndex and the listing
        // (or 403 without Indexes) answers, as Apache does.
        assert_eq!(f.get("/sub", &[]).status, StatusCode::FORBIDDEN);
        f.dir.options = vec![OptionsEdit::Set(Options {
            indexes: true,
            ..Options::DEFAULT
        })];
        let r = f.get("/sub", &[]);
        assert_eq!(r.status, StatusCode::OK);
        assert!(
            String::from_utf8(content(&r))
                .unwrap()
                .contains("Index of /sub")
        );
        // With the slash the index is served as usual.
        assert_eq!(content(&f.get("/sub/", &[])), b"<p>i</p>");
    }

    #[test]
    fn index_ignore_hides_names_from_listings() {
        let mut f = fixture();
        fs::write(f.root.path().join("list/.hidden"), "h").unwrap();
        fs::write(f.root.path().join("list/README"), "r").unwrap();
        f.dir.options = vec![OptionsEdit::Set(Options {
            indexes: true,
            ..Options::DEFAULT
        })];
        let html = String::from_utf8(content(&f.get("/list/", &[]))).unwrap();
        assert!(html.contains(".hidden") && html.contains("README"));
        f.dir.index_ignore = Some(vec![".??*".into(), "README*".into()]);
        let html = String::from_utf8(content(&f.get("/list/", &[]))).unwrap();
        assert!(!html.contains(".hidden") && !html.contains("README"));
        assert!(html.contains("x.txt"));
    }

    #[test]
    fn directory_index_and_listing() {
        let mut f = fixture();
        let r = f.get("/sub/", &[]);
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(content(&r), b"<p>i</p>");
        assert_eq!(hdr(&r, "content-type"), Some("text/html"));
        // No index, no Indexes: 403.
        let r = f.get("/list/", &[]);
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        f.dir.options = vec![OptionsEdit::Set(Options {
            indexes: true,
            ..Options::DEFAULT
        })];
        let r = f.get("/list/", &[]);
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(
            hdr(&r, "content-type"),
            Some("text/html;charset=ISO-8859-1")
        );
        let html = String::from_utf8(content(&r)).unwrap();
        assert!(html.contains("<title>Index of /list</title>"));
        assert!(html.contains("<li><a href=\"x.txt\"> x.txt</a></li>"));
        assert_eq!(
            f.run(&head("POST", None, &[]), "/list/").status,
            StatusCode::NOT_FOUND
        );
        // A different DirectoryIndex.
        f.dir.directory_index = Some(vec!["missing.html".into(), "x.txt".into()]);
        assert_eq!(content(&f.get("/list/", &[])), b"x");
        f.dir.directory_index = Some(vec!["disabled".into(), "x.txt".into()]);
        assert!(content(&f.get("/list/", &[])).starts_with(b"<!DOCTYPE"));
    }

    #[test]
    fn conditionals() {
        let f = fixture();
        let first = f.get("/a.txt", &[]);
        let etag = hdr(&first, "etag").unwrap().to_string();
        let lm = hdr(&first, "last-modified").unwrap().to_string();
        let r = f.get("/a.txt", &[("if-none-match", &etag)]);
        if etag.starts_with("W/") {
            // A weak ETag (file modified within the last second) still matches
            // If-None-Match (weak comparison).
            assert_eq!(r.status, StatusCode::NOT_MODIFIED);
        }
        let r = f.get("/a.txt", &[("if-modified-since", &lm)]);
        assert_eq!(r.status, StatusCode::NOT_MODIFIED);
        assert!(!r.error_page);
        assert!(r.body.is_empty());
        assert_eq!(hdr(&r, "last-modified"), Some(lm.as_str()));
        assert!(hdr(&r, "content-type").is_none());
        let r = f.get("/a.txt", &[("if-match", "\"nope\"")]);
        assert_eq!(r.status, StatusCode::PRECONDITION_FAILED);
        assert!(!r.error_page);
        assert!(r.body.is_empty());
        assert_eq!(hdr(&r, "etag"), Some(etag.as_str()));
    }

    #[test]
    fn file_etag_setting() {
        let mut f = fixture();
        f.dir.file_etag = Some(FileETag {
            inode: false,
            mtime: false,
            size: false,
        });
        assert!(hdr(&f.get("/a.txt", &[]), "etag").is_none());
        f.dir.file_etag = Some(FileETag {
            inode: false,
            mtime: false,
            size: true,
        });
        let e = hdr(&f.get("/a.txt", &[]), "etag").unwrap().to_string();
        assert!(e.contains("c\""), "{e}");
        f.dir.enable_sendfile = Some(false);
        assert!(matches!(
            f.get("/a.txt", &[]).body,
            Body::File {
                sendfile: false,
                ..
            }
        ));
    }

    #[test]
    fn single_range() {
        let f = fixture();
        let r = f.get("/n.txt", &[("range", "bytes=2-4")]);
        assert_eq!(r.status, StatusCode::PARTIAL_CONTENT);
        assert_eq!(hdr(&r, "content-range"), Some("bytes 2-4/10"));
        assert_eq!(content(&r), b"234");
        assert_eq!(hdr(&r, "content-type"), Some("text/plain"));
        let r = f.get("/n.txt", &[("range", "bytes=-3")]);
        assert_eq!(content(&r), b"789");
        // POST is ranged too (Apache's byterange filter does not look at the method).
        let r = f.run(&head("POST", None, &[("range", "bytes=0-0")]), "/n.txt");
        assert_eq!(r.status, StatusCode::PARTIAL_CONTENT);
    }

    #[test]
    fn multiple_ranges() {
        let f = fixture();
        let r = f.get("/n.txt", &[("range", "bytes=0-1,5-6")]);
        assert_eq!(r.status, StatusCode::PARTIAL_CONTENT);
        let ct = hdr(&r, "content-type").unwrap();
        let boundary = ct.strip_prefix("multipart/byteranges; boundary=").unwrap();
        let body = String::from_utf8(content(&r)).unwrap();
        assert_eq!(
            body,
            format!(
                "\r\n--{boundary}\r\nContent-type: text/plain\r\nContent-range: bytes 0-1/10\r\n\r\n01\
                 \r\n--{boundary}\r\nContent-type: text/plain\r\nContent-range: bytes 5-6/10\r\n\r\n56\
                 \r\n--{boundary}--\r\n"
            )
        );
        assert_eq!(r.body.len(), Some(body.len() as u64));
    }

    #[test]
    fn unsatisfiable_and_if_range() {
        let f = fixture();
        let r = f.get("/n.txt", &[("range", "bytes=100-")]);
        assert_eq!(r.status, StatusCode::RANGE_NOT_SATISFIABLE);
        assert!(r.error_page);
        assert_eq!(hdr(&r, "content-range"), Some("bytes */10"));
        let r = f.get(
            "/n.txt",
            &[("range", "bytes=0-1"), ("if-range", "\"other\"")],
        );
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(content(&r), b"0123456789");
        let r = f.get("/n.txt", &[("range", "items=0-1")]);
        assert_eq!(r.status, StatusCode::OK);
    }

    #[test]
    fn index_lookup() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir(d.path().join("index.html")).unwrap();
        fs::write(d.path().join("index.htm"), "x").unwrap();
        let names: Vec<String> = ["index.html", "/cgi/x", "../x", "index.htm"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            find_index(d.path(), &names, Options::DEFAULT),
            Some(d.path().join("index.htm"))
        );
        assert_eq!(
            find_index(d.path(), &["disabled".to_string()], Options::DEFAULT),
            None
        );
    }
}
