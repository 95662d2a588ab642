//! URL-to-file mapping and the per-directory configuration of a request: the alias
//! mapping (mod_alias's rules are in `alias.rs`) or DocumentRoot, and the merge of
//! `<Directory>`, `<DirectoryMatch>`, `<Files>`/`<FilesMatch>` and
//! `<Location>`/`<LocationMatch>` sections in Apache's order.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::htaccess::{self, HtaccessError};
use crate::conf::overrides::AllowOverride;
use crate::conf::{
    self, ConfigId, DirConfig, Htaccess, PathPattern, SectionMatch, ServerConfig, VirtualHost,
};

/// Alias/ScriptAlias (and their `*Match` forms, `alias.rs`)/DocumentRoot mapping:
/// (file, URL prefix replaced, alias handler).
pub(super) fn map_to_file(host: &VirtualHost, uri_path: &str) -> (PathBuf, String, Option<String>) {
    if let Some(found) = super::alias::translate_alias(host, uri_path) {
        return found;
    }
    let mut p = host.document_root.to_string_lossy().into_owned();
    p.push_str(uri_path);
    (PathBuf::from(p), String::new(), None)
}

/// The directory below which symlinks are checked for this URL.
pub(super) fn file_root(host: &VirtualHost, uri_path: &str) -> PathBuf {
    super::alias::alias_root(host, uri_path).unwrap_or_else(|| host.document_root.clone())
}

/// Does a non-regex `<Directory>` pattern apply to `path` (the pattern or below it)?
fn directory_matches(pattern: &str, path: &str) -> bool {
    if pattern == "/" {
        return true;
    }
    let pat: Vec<&str> = pattern.split('/').collect();
    let comps: Vec<&str> = path.split('/').collect();
    if comps.len() < pat.len() {
        return false;
    }
    pat.iter()
        .zip(comps.iter())
        .all(|(p, c)| conf::vhost::wildcard_match(p, c) && (p.contains(['*', '?']) || p == c))
}

/// `<Files>` (`prefix_mode` false: the whole base name) and `<Location>` (`prefix_mode`
/// true) matching. For `<Location>`, as Apache 2.4's `ap_location_walk`: a wildcard
/// pattern must match the whole URL path with `*`/`?` not crossing `/`
/// (`apr_fnmatch(APR_FNM_PATHNAME)`); a plain one is a case-sensitive prefix that ends
/// on a segment boundary (`/private` covers `/private`, `/private/x`, not `/privateer`).
pub(super) fn pattern_matches(p: &PathPattern, text: &str, prefix_mode: bool) -> bool {
    match p {
        PathPattern::Regex(re) => re.is_match(text),
        PathPattern::Wildcard(w) => {
            if prefix_mode {
                // A plain <Location> sees the path with slashes merged even under
                // MergeSlashes Off (regular expressions see it as it is).
                let text = crate::uri::merge_slashes(text);
                if w.contains(['*', '?', '[']) {
                    fnmatch_pathname(w.as_bytes(), text.as_bytes())
                } else {
                    location_prefix_matches(w, &text)
                }
            } else {
                conf::vhost::wildcard_match(w, text)
            }
        }
    }
}

/// A plain `<Location>` path: a prefix of the URL path ending at a `/` or at its end.
fn location_prefix_matches(prefix: &str, path: &str) -> bool {
    match path.strip_prefix(prefix) {
        Some(rest) => prefix.ends_with('/') || rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

/// `fnmatch(3)` with `FNM_PATHNAME`, case-sensitive: `*` and `?` never match `/`,
/// `[...]` (with `!`/`^` negation and ranges) matches one non-`/` byte.
fn fnmatch_pathname(p: &[u8], t: &[u8]) -> bool {
    match p.split_first() {
        None => t.is_empty(),
        Some((b'*', rest)) => {
            let rest = {
                let mut r = rest;
                while let Some((b'*', more)) = r.split_first() {
                    r = more;
                }
                r
            };
            let mut i = 0;
            loop {
                if fnmatch_pathname(rest, &t[i..]) {
                    return true;
                }
                if i >= t.len() || t[i] == b'/' {
                    return false;
                }
                i += 1;
            }
        }
        Some((b'?', rest)) => match t.split_first() {
            Some((c, tr)) if *c != b'/' => fnmatch_pathname(rest, tr),
            _ => false,
        },
        Some((b'[', rest)) => {
            let Some((c, tr)) = t.split_first() else {
                return false;
            };
            let (negate, mut body) = match rest.split_first() {
                Some((b'!' | b'^', b)) => (true, b),
                _ => (false, rest),
            };
            let mut matched = false;
            let mut first = true;
            loop {
                match body {
                    // No closing bracket: `[` is a literal.
                    [] => return *c == b'[' && fnmatch_pathname(rest, tr),
                    [b']', after @ ..] if !first => {
                        return *c != b'/' && matched != negate && fnmatch_pathname(after, tr);
                    }
                    [lo, b'-', hi, after @ ..] if *hi != b']' => {
                        matched |= (*lo..=*hi).contains(c);
                        body = after;
                    }
                    [x, after @ ..] => {
                        matched |= x == c;
                        body = after;
                    }
                }
                first = false;
            }
        }
        Some((b'\\', [esc, rest @ ..])) => {
            t.first() == Some(esc) && fnmatch_pathname(rest, &t[1..])
        }
        Some((x, rest)) => t.first() == Some(x) && fnmatch_pathname(rest, &t[1..]),
    }
}

/// Merged configurations a thread keeps at most: a request for a file and URL seen
/// before reuses the merge (a few sections' worth of clones) instead of redoing it.
const DIR_CACHE_ENTRIES: usize = 64;
/// Longer file names and URLs are merged afresh each time (they bound the cache's
/// memory: at most 64 × 1 KiB of keys per thread).
const DIR_CACHE_MAX_KEY: usize = 1024;

/// A directory the walk looked for a `.htaccess` file in (its `AllowOverride` permits
/// one), and the file it found there.
#[derive(Clone, Debug)]
pub struct HtaccessLevel {
    dir: PathBuf,
    allowed: AllowOverride,
    found: Option<Arc<Htaccess>>,
}

struct CachedDir {
    config: ConfigId,
    vhost: Option<usize>,
    filename: PathBuf,
    uri_path: String,
    dir: Arc<DirConfig>,
    /// The `.htaccess` files the merge read: a hit is valid while each is unchanged.
    levels: Vec<HtaccessLevel>,
}

thread_local! {
    static DIR_CACHE: RefCell<HashMap<u64, CachedDir>> = RefCell::new(HashMap::new());
}

/// FNV-1a over the key's parts: cheap for the short keys of a URL cache.
fn dir_cache_hash(config: ConfigId, vhost: Option<usize>, filename: &Path, uri_path: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    };
    eat(&config.0.to_le_bytes());
    eat(&vhost.map_or(u64::MAX, |v| v as u64).to_le_bytes());
    eat(filename.as_os_str().as_encoded_bytes());
    eat(&[0]);
    eat(uri_path.as_bytes());
    h
}

/// Are the `.htaccess` files a cached merge read still the ones on disk (one `stat`
/// each, through the parsed-file cache)?
fn levels_unchanged(cfg: &ServerConfig, host: &VirtualHost, levels: &[HtaccessLevel]) -> bool {
    levels.iter().all(|l| {
        match htaccess::lookup(cfg, &l.dir, &host.access_file_names, &l.allowed) {
            Ok(now) => match (&now, &l.found) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                (None, None) => true,
                _ => false,
            },
            Err(_) => false,
        }
    })
}

/// The request's per-directory configuration: [`merged_dir_config`] plus the
/// `.htaccess` files `AllowOverride` lets the walk read, through a per-thread cache
/// keyed by the configuration, the virtual host (`None`: the main server), the file
/// and the URL (a configuration never changes once built; `.htaccess` files are
/// revalidated on every hit).
pub fn dir_config_for(
    cfg: &ServerConfig,
    vhost: Option<usize>,
    host: &VirtualHost,
    filename: &Path,
    uri_path: &str,
) -> Result<Arc<DirConfig>, HtaccessError> {
    let config = cfg.id;
    if filename.as_os_str().len() + uri_path.len() > DIR_CACHE_MAX_KEY {
        return walk(Some(cfg), host, filename, uri_path).map(|(dc, _)| Arc::new(dc));
    }
    let key = dir_cache_hash(config, vhost, filename, uri_path);
    let hit = DIR_CACHE.with_borrow(|cache| {
        cache
            .get(&key)
            .filter(|c| {
                c.config == config
                    && c.vhost == vhost
                    && c.filename == filename
                    && c.uri_path == uri_path
            })
            .map(|c| (c.dir.clone(), c.levels.clone()))
    });
    if let Some((dir, levels)) = hit
        && (levels.is_empty() || levels_unchanged(cfg, host, &levels))
    {
        return Ok(dir);
    }
    let (dc, levels) = walk(Some(cfg), host, filename, uri_path)?;
    let dir = Arc::new(dc);
    DIR_CACHE.with_borrow_mut(|cache| {
        if cache.len() >= DIR_CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(
            key,
            CachedDir {
                config,
                vhost,
                filename: filename.to_path_buf(),
                uri_path: uri_path.to_string(),
                dir: dir.clone(),
                levels,
            },
        );
    });
    Ok(dir)
}

/// The per-directory configuration for a file and URL from the configuration's
/// sections alone (Apache's merge order, no `.htaccess` files read).
pub fn merged_dir_config(host: &VirtualHost, filename: &Path, uri_path: &str) -> DirConfig {
    match walk(None, host, filename, uri_path) {
        Ok((dc, _)) => dc,
        Err(_) => host.base_dir.clone(),
    }
}

/// Depth of a non-regex `<Directory>` pattern: its number of components (`/` is 0).
fn section_depth(pattern: &str) -> usize {
    if pattern == "/" {
        0
    } else {
        pattern.matches('/').count()
    }
}

/// The directories a file's walk passes through, shallowest first, with their depth:
/// `/`, `/srv`, `/srv/www` ... and the path itself (it may be a directory).
fn walk_levels(fname: &str) -> Vec<(usize, &str)> {
    let mut levels = vec![(0, "/")];
    let trimmed = fname.trim_end_matches('/');
    for (i, _) in trimmed.match_indices('/').skip(1) {
        levels.push((levels.len(), &trimmed[..i]));
    }
    if trimmed.len() > 1 && trimmed.starts_with('/') {
        levels.push((levels.len(), trimmed));
    }
    levels
}

/// Apache's directory walk, then the Files and Location walks. With `cfg`, each
/// directory whose `AllowOverride` permits it has its `.htaccess` file merged right
/// after the `<Directory>` sections of that directory and before deeper ones; its
/// `<Files>` sections join the Files walk after the configuration's own.
fn walk(
    cfg: Option<&ServerConfig>,
    host: &VirtualHost,
    filename: &Path,
    uri_path: &str,
) -> Result<(DirConfig, Vec<HtaccessLevel>), HtaccessError> {
    let mut dc = host.base_dir.clone();
    let fname = filename.to_string_lossy();
    // <Directory> (non-regex), fewest components first; stable for equal depth.
    let mut dirs: Vec<(usize, &conf::DirSection)> = host
        .sections
        .iter()
        .filter_map(|s| match &s.matcher {
            SectionMatch::Directory(PathPattern::Wildcard(w)) => {
                directory_matches(w, &fname).then(|| (section_depth(w), s))
            }
            _ => None,
        })
        .collect();
    dirs.sort_by_key(|(depth, _)| *depth);
    let mut levels = Vec::new();
    let mut next = 0;
    if let Some(cfg) = cfg {
        for (depth, path) in walk_levels(&fname) {
            while let Some((d, s)) = dirs.get(next)
                && *d <= depth
            {
                dc = dc.merge(&s.config);
                next += 1;
            }
            let allowed = dc.overrides();
            if !allowed.reads_files() {
                continue;
            }
            let dir = Path::new(path);
            let found = htaccess::lookup(cfg, dir, &host.access_file_names, &allowed)?;
            if let Some(h) = &found {
                dc = dc.merge(&h.config);
            }
            levels.push(HtaccessLevel {
                dir: dir.to_path_buf(),
                allowed,
                found,
            });
        }
    }
    for (_, s) in &dirs[next..] {
        dc = dc.merge(&s.config);
    }
    // Apache's directory walk stops at the first path component that is not a
    // directory: the Files walk and <DirectoryMatch> see that file, the rest of the
    // path being PATH_INFO (`/index.php/2026/12/01/hello/` is `index.php`). Only worth
    // the stats when a Files section could tell the difference.
    let has_files = host
        .sections
        .iter()
        .chain(
            levels
                .iter()
                .filter_map(|l| l.found.as_ref())
                .flat_map(|h| h.files.iter()),
        )
        .any(|s| matches!(s.matcher, SectionMatch::Files(_)));
    let walked = if has_files {
        // Directories whose .htaccess was read exist: the walk resumes below the
        // deepest of them.
        let known = levels
            .iter()
            .rev()
            .find(|l| l.found.is_some())
            .map(|l| l.dir.to_string_lossy())
            .unwrap_or(std::borrow::Cow::Borrowed("/"));
        Path::new(crate::modules::rewrite::walked_below(&fname, &known))
    } else {
        filename
    };
    let filename = walked;
    let fname = filename.to_string_lossy();
    // <DirectoryMatch>: matched against the directory of the file.
    let dir_of = filename
        .parent()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    for s in &host.sections {
        if let SectionMatch::Directory(PathPattern::Regex(re)) = &s.matcher
            && (re.is_match(&dir_of) || re.is_match(&fname))
        {
            dc = dc.merge(&s.config);
        }
    }
    let base = filename
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let htaccess_files = levels
        .iter()
        .filter_map(|l| l.found.as_ref())
        .flat_map(|h| h.files.iter());
    for s in host.sections.iter().chain(htaccess_files) {
        if let SectionMatch::Files(p) = &s.matcher
            && pattern_matches(p, &base, false)
        {
            dc = dc.merge(&s.config);
        }
    }
    // <Proxy>/<ProxyMatch> of the backend URL a ProxyPass rule sends this URL to, before
    // the Location walk (Apache's proxy_walk runs in map_to_storage).
    if let Some(p) = crate::conf::proxy_sections::dir_for(&host.proxy, uri_path) {
        dc = dc.merge(&p);
    }
    for s in &host.sections {
        if let SectionMatch::Location(p) = &s.matcher
            && pattern_matches(p, uri_path, true)
        {
            dc = dc.merge(&s.config);
        }
    }
    Ok((dc, levels))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rhttpd_http::StatusCode;

    #[test]
    fn directory_patterns() {
        assert!(directory_matches("/var/www", "/var/www/index.html"));
        assert!(directory_matches("/var/www", "/var/www"));
        assert!(!directory_matches("/var/www", "/var/wwwx/a"));
        assert!(directory_matches("/var/*/htdocs", "/var/site/htdocs/a"));
        assert!(directory_matches("/", "/anything"));
    }

    #[test]
    fn location_matching_is_apache_s() {
        let w = |s: &str| PathPattern::Wildcard(s.to_string());
        assert!(pattern_matches(&w("/private"), "/private", true));
        assert!(pattern_matches(&w("/private"), "/private/x.txt", true));
        assert!(!pattern_matches(&w("/private"), "/privateer.txt", true));
        assert!(!pattern_matches(&w("/private"), "/Private/x", true));
        assert!(pattern_matches(&w("/p2/"), "/p2/z.txt", true));
        assert!(!pattern_matches(&w("/p2/"), "/p2", true));
        assert!(pattern_matches(&w("/"), "/anything", true));
        // Wildcards: the whole path, `*` not crossing `/`.
        assert!(pattern_matches(&w("/w*"), "/w1x.txt", true));
        assert!(pattern_matches(&w("/w*"), "/w1", true));
        assert!(!pattern_matches(&w("/w*"), "/w1/w.txt", true));
        assert!(pattern_matches(&w("/w*/*"), "/w1/w.txt", true));
        assert!(pattern_matches(&w("/a?c"), "/abc", true));
        assert!(!pattern_matches(&w("/a?c"), "/a/c", true));
        assert!(pattern_matches(&w("/[a-c]x"), "/bx", true));
        assert!(!pattern_matches(&w("/[!a-c]x"), "/bx", true));
        assert!(pattern_matches(&w("/[!a-c]x"), "/dx", true));
        assert!(pattern_matches(&w("/x[*"), "/x[yz", true));
    }

    fn config(text: &str) -> ServerConfig {
        crate::conf::load(&crate::conf::LoadOptions {
            file: "/nonexistent/httpd.conf".into(),
            server_root: std::env::temp_dir(),
            embedded: Some(Box::leak(text.to_string().into_boxed_str())),
            ..Default::default()
        })
        .expect("test configuration")
    }

    #[test]
    fn files_sections_see_the_file_a_path_info_url_names() {
        // `/index.php/2026/12/01/hello/`: the walk stops at index.php (a file); the rest
        // is PATH_INFO, so `<FilesMatch "\.php$">` applies (WordPress's PATHINFO links).
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("index.php"), "<?php").unwrap();
        let cfg = config(
            "Listen 127.0.0.1:1\n<FilesMatch \"\\.php$\">\nDirectoryIndex matched\n</FilesMatch>\n",
        );
        let dir =
            |rel: &str| merged_dir_config(&cfg.main, &root.path().join(rel), "/").directory_index();
        assert_eq!(dir("index.php"), ["matched"]);
        assert_eq!(dir("index.php/2026/12/01/hello"), ["matched"]);
        // A path through a missing directory names that directory, not a .php file.
        assert_ne!(dir("missing/x.php/extra"), ["matched"]);
        assert_ne!(dir("missing.html"), ["matched"]);
    }

    #[test]
    fn merged_configurations_are_cached_per_configuration_host_file_and_url() {
        let ca = config("Listen 127.0.0.1:1\nDirectoryIndex a.html\n");
        let cb = config("Listen 127.0.0.1:1\nDirectoryIndex b.html\n");
        let (a, b) = (&ca.main, &cb.main);
        let f = Path::new("/srv/www/x.html");
        let get = |cfg: &ServerConfig, v: Option<usize>, host: &VirtualHost, f: &Path, u: &str| {
            dir_config_for(cfg, v, host, f, u).expect("no .htaccess is read")
        };
        let first = get(&ca, None, a, f, "/x.html");
        let again = get(&ca, None, a, f, "/x.html");
        assert!(Arc::ptr_eq(&first, &again));
        // Another configuration, host, file or URL never gets that merge.
        let other = get(&cb, None, b, f, "/x.html");
        assert_eq!(other.directory_index(), vec!["b.html".to_string()]);
        assert_eq!(first.directory_index(), vec!["a.html".to_string()]);
        assert!(!Arc::ptr_eq(&first, &get(&ca, Some(0), a, f, "/x.html")));
        assert!(!Arc::ptr_eq(
            &first,
            &get(&ca, None, a, Path::new("/y"), "/x.html")
        ));
        assert!(!Arc::ptr_eq(&first, &get(&ca, None, a, f, "/y.html")));
        // Long keys are merged afresh each time (not kept).
        let long = "/".to_string() + &"a".repeat(DIR_CACHE_MAX_KEY);
        let l1 = get(&ca, None, a, f, &long);
        assert!(!Arc::ptr_eq(&l1, &get(&ca, None, a, f, &long)));
        // The cache stays bounded.
        for i in 0..DIR_CACHE_ENTRIES * 3 {
            get(&ca, None, a, f, &format!("/{i}"));
        }
        assert!(DIR_CACHE.with_borrow(|c| c.len()) <= DIR_CACHE_ENTRIES);
    }

    #[test]
    fn walk_levels_are_every_directory_down_to_the_path() {
        assert_eq!(
            walk_levels("/srv/www/a.html"),
            vec![
                (0, "/"),
                (1, "/srv"),
                (2, "/srv/www"),
                (3, "/srv/www/a.html")
            ]
        );
        assert_eq!(
            walk_levels("/srv/www/"),
            vec![(0, "/"), (1, "/srv"), (2, "/srv/www")]
        );
        assert_eq!(walk_levels("/"), vec![(0, "/")]);
        assert_eq!(section_depth("/"), 0);
        assert_eq!(section_depth("/srv/www"), 2);
    }

    /// `.htaccess` files merge in walk order, only where AllowOverride lets them, and a
    /// changed, new or deleted file shows on the next request despite the caches.
    #[test]
    fn htaccess_files_merge_in_walk_order_and_are_revalidated() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        let sub = root.join("a/b");
        std::fs::create_dir_all(&sub).unwrap();
        let cfg = config(&format!(
            "Listen 127.0.0.1:1\nDocumentRoot {r}\n<Directory {r}>\nAllowOverride Indexes\n</Directory>\n\
             <Directory {r}/a/b>\nDirectoryIndex from-section.html\n</Directory>\n\
             <Directory {r}/a/b/c>\nAllowOverride None\n</Directory>\n",
            r = root.display()
        ));
        let host = &cfg.main;
        let file = sub.join("x.html");
        // Each call is a request of its own (what a request saw is kept until the next).
        let get = || {
            super::htaccess::new_request();
            dir_config_for(&cfg, None, host, &file, "/a/b/x.html")
        };
        assert_eq!(get().unwrap().directory_index(), vec!["from-section.html"]);
        // A file one level up applies below the deeper <Directory>: the section wins.
        std::fs::write(root.join("a/.htaccess"), "DirectoryIndex from-a.html\n").unwrap();
        assert_eq!(get().unwrap().directory_index(), vec!["from-section.html"]);
        // A file in b itself comes after b's section.
        std::fs::write(sub.join(".htaccess"), "DirectoryIndex from-b.html\n").unwrap();
        assert_eq!(get().unwrap().directory_index(), vec!["from-b.html"]);
        // Edited (a different size, so no same-second mtime blind spot) and deleted.
        std::fs::write(sub.join(".htaccess"), "DirectoryIndex edited-b.html\n").unwrap();
        assert_eq!(get().unwrap().directory_index(), vec!["edited-b.html"]);
        std::fs::remove_file(sub.join(".htaccess")).unwrap();
        assert_eq!(get().unwrap().directory_index(), vec!["from-section.html"]);
        // A directive of a class AllowOverride does not grant: 500 with the line.
        std::fs::write(sub.join(".htaccess"), "\nErrorDocument 404 /x\n").unwrap();
        let e = get().unwrap_err();
        assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            e.message
                .contains("ErrorDocument not allowed here (line 2)"),
            "{}",
            e.message
        );
        std::fs::write(sub.join(".htaccess"), "Bogus on\n").unwrap();
        let e = get().unwrap_err();
        assert!(
            e.message.contains("Invalid command 'Bogus'"),
            "{}",
            e.message
        );
        // Below `AllowOverride None`, nothing is read: the broken file above does not
        // stop a request in c (its own file is not read either).
        let c = sub.join("c");
        std::fs::create_dir_all(&c).unwrap();
        std::fs::write(c.join(".htaccess"), "Bogus\n").unwrap();
        let in_c = c.join("y.html");
        super::htaccess::new_request();
        assert!(dir_config_for(&cfg, None, host, &in_c, "/a/b/c/y.html").is_err());
        std::fs::remove_file(sub.join(".htaccess")).unwrap();
        super::htaccess::new_request();
        assert_eq!(
            dir_config_for(&cfg, None, host, &in_c, "/a/b/c/y.html")
                .unwrap()
                .directory_index(),
            vec!["from-section.html"]
        );
        // Without AllowOverride nothing is read at all (merged_dir_config never reads).
        std::fs::write(sub.join(".htaccess"), "Bogus\n").unwrap();
        assert_eq!(
            merged_dir_config(host, &file, "/a/b/x.html").directory_index(),
            vec!["from-section.html"]
        );
    }
}
