//! mod_dir's fixups (`dir_fixups`), which run after access control and the handler
//! choice: a directory URL ending in `/` is served by the first `DirectoryIndex` entry
//! that names a regular file (a name relative to the directory, or a URL path such as
//! `/index.php`); a URL that maps to nothing on disk and has no handler is served by
//! `FallbackResource`. Both are Apache's internal fast redirect: the request is
//! processed again for the new URL with its method, body and original request line
//! (so CGI and FastCGI see the original `REQUEST_URI`).

use std::cell::Cell;
use std::io::ErrorKind;
use std::path::Path;

use rhttpd_http::{RequestHead, StatusCode};

use crate::conf::{DirConfig, VirtualHost};
use crate::handler::{ConnInfo, Handlers, Response};
use crate::log::Level;
use crate::modules::file_cache;

/// Whether `url` (a decoded local URL path, maybe with a query) can serve the request:
/// a handler claims it (mod_proxy), it maps to a regular file, or MultiViews finds a
/// variant for the file it maps to (`has_variants`, for `DirectoryIndex index` with
/// `index.html.en`) — `ap_sub_req_lookup_uri` and mod_dir's test of the result.
fn serves(
    host: &VirtualHost,
    handlers: &Handlers,
    url: &str,
    has_variants: &dyn Fn(&Path) -> bool,
) -> bool {
    let path = url.split_once('?').map_or(url, |(p, _)| p);
    if handlers.claiming(host, path).is_some() {
        return true;
    }
    let (file, _, _) = super::mapping::map_to_file(host, path);
    match file_cache::stat(&file) {
        Ok(m) => m.is_file(),
        Err(e) if e.kind() == ErrorKind::NotFound => has_variants(&file),
        Err(_) => false,
    }
}

/// A name relative to the directory of `uri_path` as `ap_sub_req_lookup_uri` resolves
/// it; `None` for a name that would climb out with `..`.
fn resolve(uri_path: &str, name: &str) -> Option<String> {
    if name.starts_with('/') {
        return Some(name.to_string());
    }
    if name.split(['/', '?']).any(|seg| seg == "..") {
        return None;
    }
    let dir = &uri_path[..uri_path.rfind('/').map_or(0, |i| i + 1)];
    Some(format!("{dir}{name}"))
}

/// The local URL mod_dir serves this request from instead, if any.
pub(super) fn target(
    host: &VirtualHost,
    handlers: &Handlers,
    dir: &DirConfig,
    filename: &Path,
    uri_path: &str,
    alias_handler: Option<&str>,
    has_variants: &dyn Fn(&Path) -> bool,
) -> Option<String> {
    if handlers.claiming(host, uri_path).is_some() {
        return None;
    }
    match file_cache::stat(filename) {
        Ok(m) if m.is_dir() => {
            if !uri_path.ends_with('/') {
                return None;
            }
            dir.directory_index()
                .iter()
                .filter(|n| !n.is_empty())
                .filter_map(|n| resolve(uri_path, n))
                .find(|url| serves(host, handlers, url, has_variants))
        }
        Ok(_) => None,
        // Nothing on disk (ENOENT; a file with path info below it is ENOTDIR) and no
        // handler: the fallback.
        Err(e) if e.kind() == ErrorKind::NotFound => {
            if super::choose_handler(dir, filename, alias_handler).is_some() {
                return None;
            }
            let fallback = dir.fallback_resource.as_deref()?;
            if fallback.eq_ignore_ascii_case("disabled") {
                return None;
            }
            resolve(uri_path, fallback).filter(|url| serves(host, handlers, url, has_variants))
        }
        Err(_) => None,
    }
}

thread_local! {
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// Process the request again for `url` (`ap_internal_fast_redirect`): the same head
/// — method, headers, body, request line — with the new path; the request's query
/// unless the URL has its own. Bounded like every internal redirect (AH00124).
pub(super) fn fast_redirect<E>(
    conn: &ConnInfo,
    head: &RequestHead,
    url: &str,
    run: impl FnOnce(&RequestHead) -> Result<Response, E>,
) -> Result<Response, E> {
    let depth = DEPTH.with(|d| d.get());
    if depth >= 10 {
        crate::log::log(
            "core",
            Level::Error,
            Some(conn.client),
            "AH00124: Request exceeded the limit of 10 internal redirects due to probable configuration error. Use 'LimitInternalRecursion' to increase the limit if necessary.",
        );
        return Ok(Response::error(StatusCode::INTERNAL_SERVER_ERROR));
    }
    let mut sub = head.clone();
    match url.split_once('?') {
        Some((p, q)) => {
            sub.path = crate::uri::encode_path(p);
            sub.query = Some(q.to_string());
        }
        None => sub.path = crate::uri::encode_path(url),
    }
    DEPTH.with(|d| d.set(depth + 1));
    let r = run(&sub);
    DEPTH.with(|d| d.set(depth));
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_resolve_against_the_directory() {
        assert_eq!(
            resolve("/a/b/", "index.php").as_deref(),
            Some("/a/b/index.php")
        );
        assert_eq!(resolve("/a/missing", "f.php").as_deref(), Some("/a/f.php"));
        assert_eq!(
            resolve("/a/b/", "/index.php").as_deref(),
            Some("/index.php")
        );
        assert_eq!(resolve("/a/", "../x"), None);
        assert_eq!(
            resolve("/a/", "sub/i.html").as_deref(),
            Some("/a/sub/i.html")
        );
    }

    fn host_with(root: &Path) -> VirtualHost {
        VirtualHost {
            document_root: root.to_path_buf(),
            ..VirtualHost::default()
        }
    }

    #[test]
    fn index_and_fallback_targets() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("sub")).unwrap();
        std::fs::write(d.path().join("front.php"), "x").unwrap();
        std::fs::write(d.path().join("sub/home.htm"), "x").unwrap();
        let host = host_with(d.path());
        let handlers = Handlers::new(Vec::new());
        let mut dir = DirConfig {
            directory_index: Some(vec!["index.html".into(), "/front.php".into()]),
            ..DirConfig::default()
        };
        let t = |dir: &DirConfig, p: &str| {
            let file = d.path().join(p.trim_start_matches('/'));
            target(&host, &handlers, dir, &file, p, None, &|_| false)
        };
        assert_eq!(t(&dir, "/sub/").as_deref(), Some("/front.php"));
        dir.directory_index = Some(vec!["home.htm".into(), "/front.php".into()]);
        assert_eq!(t(&dir, "/sub/").as_deref(), Some("/sub/home.htm"));
        assert_eq!(t(&dir, "/sub"), None, "no slash: DirectorySlash's business");
        // The fallback: only for what maps to nothing, without a handler.
        assert_eq!(t(&dir, "/2026/12/hello/"), None);
        dir.fallback_resource = Some("/front.php".into());
        assert_eq!(t(&dir, "/2026/12/hello/").as_deref(), Some("/front.php"));
        assert_eq!(t(&dir, "/sub/home.htm"), None, "exists");
        assert_eq!(
            t(&dir, "/sub/home.htm/more"),
            None,
            "path info below a file"
        );
        dir.set_handler = Some("cgi-script".into());
        assert_eq!(t(&dir, "/missing"), None, "a handler is set");
        dir.set_handler = None;
        dir.fallback_resource = Some("/nowhere.php".into());
        assert_eq!(t(&dir, "/missing"), None, "the fallback must exist");
        dir.fallback_resource = Some("disabled".into());
        assert_eq!(t(&dir, "/missing"), None);
    }

    proptest! {
        #[test]
        fn resolved_names_stay_local(uri in "/[a-z/]{0,12}", name in "[a-z./?]{0,12}") {
            if let Some(url) = resolve(&uri, &name) {
                prop_assert!(url.starts_with('/'));
                prop_assert!(!url.split(['/', '?']).any(|s| s == "..") || name.starts_with('/'));
            }
        }
    }
}
