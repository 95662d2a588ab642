//! URL-to-file mapping and the per-directory configuration of a request: the alias
//! mapping (mod_alias's rules are in `alias.rs`) or DocumentRoot, and the merge of
//! `<Directory>`, `<DirectoryMatch>`, `<Files>`/`<FilesMatch>` and
//! `<Location>`/`<LocationMatch>` sections in Apache's order.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::conf::{self, ConfigId, DirConfig, PathPattern, SectionMatch, VirtualHost};

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
                if w.contains(['*', '?', '[']) {
                    fnmatch_pathname(w.as_bytes(), text.as_bytes())
                } else {
                    location_prefix_matches(w, text)
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

struct CachedDir {
    config: ConfigId,
    vhost: Option<usize>,
    filename: PathBuf,
    uri_path: String,
    dir: Arc<DirConfig>,
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

/// [`merged_dir_config`] through a per-thread cache keyed by the configuration, the
/// virtual host (`None`: the main server), the file and the URL: the merge depends on
/// nothing else, and a configuration never changes once built.
pub fn dir_config_for(
    config: ConfigId,
    vhost: Option<usize>,
    host: &VirtualHost,
    filename: &Path,
    uri_path: &str,
) -> Arc<DirConfig> {
    if filename.as_os_str().len() + uri_path.len() > DIR_CACHE_MAX_KEY {
        return Arc::new(merged_dir_config(host, filename, uri_path));
    }
    let key = dir_cache_hash(config, vhost, filename, uri_path);
    DIR_CACHE.with_borrow_mut(|cache| {
        if let Some(c) = cache.get(&key)
            && c.config == config
            && c.vhost == vhost
            && c.filename == filename
            && c.uri_path == uri_path
        {
            return c.dir.clone();
        }
        let dir = Arc::new(merged_dir_config(host, filename, uri_path));
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
            },
        );
        dir
    })
}

/// The per-directory configuration for a file and URL (Apache's merge order).
pub fn merged_dir_config(host: &VirtualHost, filename: &Path, uri_path: &str) -> DirConfig {
    let mut dc = host.base_dir.clone();
    let fname = filename.to_string_lossy();
    // <Directory> (non-regex), fewest components first; stable for equal depth.
    let mut dirs: Vec<(usize, &conf::DirSection)> = host
        .sections
        .iter()
        .filter_map(|s| match &s.matcher {
            SectionMatch::Directory(PathPattern::Wildcard(w)) => {
                directory_matches(w, &fname).then(|| (w.matches('/').count(), s))
            }
            _ => None,
        })
        .collect();
    dirs.sort_by_key(|(depth, _)| *depth);
    for (_, s) in dirs {
        dc = dc.merge(&s.config);
    }
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
    for s in &host.sections {
        if let SectionMatch::Files(p) = &s.matcher
            && pattern_matches(p, &base, false)
        {
            dc = dc.merge(&s.config);
        }
    }
    for s in &host.sections {
        if let SectionMatch::Location(p) = &s.matcher
            && pattern_matches(p, uri_path, true)
        {
            dc = dc.merge(&s.config);
        }
    }
    dc
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn merged_configurations_are_cached_per_configuration_host_file_and_url() {
        let host_with = |index: &str| {
            let mut h = VirtualHost::default();
            h.base_dir.directory_index = Some(vec![index.to_string()]);
            h
        };
        let (a, b) = (host_with("a.html"), host_with("b.html"));
        let (ida, idb) = (ConfigId::fresh(), ConfigId::fresh());
        let f = Path::new("/srv/www/x.html");
        let first = dir_config_for(ida, None, &a, f, "/x.html");
        let again = dir_config_for(ida, None, &a, f, "/x.html");
        assert!(Arc::ptr_eq(&first, &again));
        // Another configuration, host, file or URL never gets that merge.
        let other = dir_config_for(idb, None, &b, f, "/x.html");
        assert_eq!(other.directory_index(), vec!["b.html".to_string()]);
        assert_eq!(first.directory_index(), vec!["a.html".to_string()]);
        assert!(!Arc::ptr_eq(
            &first,
            &dir_config_for(ida, Some(0), &a, f, "/x.html")
        ));
        assert!(!Arc::ptr_eq(
            &first,
            &dir_config_for(ida, None, &a, Path::new("/y"), "/x.html")
        ));
        assert!(!Arc::ptr_eq(
            &first,
            &dir_config_for(ida, None, &a, f, "/y.html")
        ));
        // Long keys are merged afresh each time (not kept).
        let long = "/".to_string() + &"a".repeat(DIR_CACHE_MAX_KEY);
        let l1 = dir_config_for(ida, None, &a, f, &long);
        assert!(!Arc::ptr_eq(&l1, &dir_config_for(ida, None, &a, f, &long)));
        // The cache stays bounded.
        for i in 0..DIR_CACHE_ENTRIES * 3 {
            dir_config_for(ida, None, &a, f, &format!("/{i}"));
        }
        assert!(DIR_CACHE.with_borrow(|c| c.len()) <= DIR_CACHE_ENTRIES);
    }
}
