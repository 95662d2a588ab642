//! Directory listings in mod_autoindex's default (non-fancy) format, byte for byte as
//! Apache 2.4 emits them without `IndexOptions`:
//!
//! ```text
//! <!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">
//! <html>
//!  <head>
//!   <title>Index of /x</title>
//!  </head>
//!  <body>
//! <h1>Index of /x</h1>
//! <ul><li><a href="/"> Parent Directory</a></li>
//! <li><a href="a.txt"> a.txt</a></li>
//! </ul>
//! </body></html>
//! ```
//!
//! Entries sort by name (directories carry their trailing `/` in the comparison, as in
//! Apache), byte-wise; `?C=M;O=D`-style queries pick another column and direction.

use std::cmp::Ordering;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::SystemTime;

use crate::authz::symlink_allowed;
use crate::conf::Options;
use crate::uri::{encode_path, encode_path_bytes};

/// The Content-Type Apache sends for a listing on Unix (no `IndexOptions Charset`).
pub const CONTENT_TYPE: &str = "text/html;charset=ISO-8859-1";

const DOCTYPE: &str = "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\" \"http://www.w3.org/TR/html4/strict.dtd\">\n";

/// What shapes a listing besides the directory itself.
#[derive(Clone, Debug)]
pub struct IndexOptions {
    /// `IndexIgnore` patterns (`*`, `?` and `[...]` wildcards) matched against names.
    /// Empty by default, as in Apache without the directive (dotfiles are listed).
    pub ignore: Vec<String>,
    /// The request's query string (`C=N;O=D`), or `None` for name ascending.
    pub query: Option<String>,
    /// The directory's `Options`: symbolic links are left out unless FollowSymLinks (or
    /// SymLinksIfOwnerMatch with matching owners) allows them, as Apache's per-entry
    /// subrequests would refuse them.
    pub options: Options,
    /// Inserted verbatim before `</body>` (the ServerSignature `<address>` line).
    pub signature: Option<String>,
}

impl Default for IndexOptions {
    fn default() -> Self {
        IndexOptions {
            ignore: Vec::new(),
            query: None,
            options: Options::DEFAULT,
            signature: None,
        }
    }
}

struct Entry {
    /// Raw name bytes, with `/` appended for a directory.
    name: Vec<u8>,
    mtime: Option<SystemTime>,
    /// -1 for directories, as Apache sorts them.
    size: i64,
}

/// Renders the listing of `dir`, whose URL is `url_path` (decoded, e.g. `/pub/`).
pub fn render_listing(url_path: &str, dir: &Path, opts: &IndexOptions) -> io::Result<String> {
    let mut entries = Vec::new();
    for ent in fs::read_dir(dir)? {
        let Ok(ent) = ent else { continue };
        let name = ent.file_name();
        let raw = name.as_bytes();
        if raw == b"."
            || raw == b".."
            || opts
                .ignore
                .iter()
                .any(|p| wildcard_match(p.as_bytes(), raw))
        {
            continue;
        }
        let path = ent.path();
        let Ok(lmeta) = fs::symlink_metadata(&path) else {
            continue;
        };
        if lmeta.file_type().is_symlink() && !symlink_allowed(&path, opts.options) {
            continue;
        }
        // Follow the link (a dangling one is left out, as Apache's lookup would 404).
        let Ok(meta) = fs::metadata(&path) else {
            continue;
        };
        let is_dir = meta.is_dir();
        let mut name = raw.to_vec();
        if is_dir {
            name.push(b'/');
        }
        entries.push(Entry {
            name,
            mtime: meta.modified().ok(),
            size: if is_dir {
                -1
            } else {
                i64::try_from(meta.len()).unwrap_or(i64::MAX)
            },
        });
    }
    let (key, ascending) = parse_sort(opts.query.as_deref());
    entries.sort_by(|a, b| {
        let (x, y) = if ascending { (a, b) } else { (b, a) };
        let primary = match key {
            b'M' => x.mtime.cmp(&y.mtime),
            b'S' => x.size.cmp(&y.size),
            _ => Ordering::Equal,
        };
        primary.then_with(|| x.name.cmp(&y.name))
    });

    let mut title = url_path.trim_end_matches('/');
    if title.is_empty() {
        title = "/";
    }
    let title = escape_html(title);
    let mut out = String::with_capacity(256 + entries.len() * 64);
    out.push_str(DOCTYPE);
    out.push_str("<html>\n <head>\n  <title>Index of ");
    out.push_str(&title);
    out.push_str("</title>\n </head>\n <body>\n<h1>Index of ");
    out.push_str(&title);
    out.push_str("</h1>\n<ul>");
    if let Some(parent) = parent_url(url_path) {
        out.push_str("<li><a href=\"");
        out.push_str(&escape_html(&encode_path(&parent)));
        out.push_str("\"> Parent Directory</a></li>\n");
    }
    for e in &entries {
        out.push_str("<li><a href=\"");
        out.push_str(&escape_html(&entry_href(&e.name)));
        out.push_str("\"> ");
        out.push_str(&escape_html(&String::from_utf8_lossy(&e.name)));
        out.push_str("</a></li>\n");
    }
    out.push_str("</ul>\n");
    if let Some(sig) = &opts.signature {
        out.push_str(sig);
    }
    out.push_str("</body></html>\n");
    Ok(out)
}

/// `ap_os_escape_path(name, 0)`: escaped, with `./` in front when a `:` comes before any
/// `/` (so that `a:b` is not read as a URL scheme).
fn entry_href(name: &[u8]) -> String {
    let colon = name.iter().position(|&b| b == b':');
    let slash = name.iter().position(|&b| b == b'/');
    let prefix = match (colon, slash) {
        (Some(c), Some(s)) if c < s => "./",
        (Some(_), None) => "./",
        _ => "",
    };
    format!("{prefix}{}", encode_path_bytes(name))
}

/// The URL of the parent directory (`/a/b/` → `/a/`), `None` at the root.
fn parent_url(url_path: &str) -> Option<String> {
    let trimmed = url_path.trim_end_matches('/');
    if trimmed.is_empty() {
        return None;
    }
    let cut = trimmed.rfind('/')?;
    Some(trimmed[..=cut].to_string())
}

/// mod_autoindex's query parsing: `C=` (N, M, S, D) and `O=` (A, D), separated by `&`
/// or `;`; `F=`, `V=` and `P=` are accepted and ignored; anything else ends parsing.
fn parse_sort(query: Option<&str>) -> (u8, bool) {
    let (mut key, mut asc) = (b'N', true);
    let Some(q) = query else { return (key, asc) };
    for item in q.split(['&', ';']) {
        let b = item.as_bytes();
        match b {
            [b'C', b'=', k @ (b'N' | b'M' | b'S' | b'D')] => key = *k,
            [b'O', b'=', b'A'] => asc = true,
            [b'O', b'=', b'D'] => asc = false,
            [b'F', b'=', b'0'..=b'2'] | [b'V', b'=', b'0' | b'1'] => {}
            [b'P', b'=', ..] => {}
            _ => break,
        }
    }
    (key, asc)
}

/// `ap_escape_html`: `<`, `>`, `&` and `"`.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// fnmatch-style matching of `*`, `?` and `[...]` (with `!`/`^` negation and ranges).
fn wildcard_match(pat: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        let step = match pat.get(p) {
            Some(b'*') => {
                star = Some((p, n));
                p += 1;
                continue;
            }
            Some(b'?') => Some(p + 1),
            Some(b'[') => match_class(pat, p, name[n]),
            Some(&c) if c == name[n] => Some(p + 1),
            _ => None,
        };
        match (step, star) {
            (Some(np), _) => {
                p = np;
                n += 1;
            }
            (None, Some((sp, sn))) => {
                p = sp + 1;
                n = sn + 1;
                star = Some((sp, sn + 1));
            }
            (None, None) => return false,
        }
    }
    pat[p.min(pat.len())..].iter().all(|&c| c == b'*')
}

/// Matches `c` against the class starting at `pat[start] == '['`; returns the index
/// after the class on a match. An unterminated class matches a literal `[`.
fn match_class(pat: &[u8], start: usize, c: u8) -> Option<usize> {
    let mut i = start + 1;
    let negate = matches!(pat.get(i), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let &pc = pat.get(i)?;
        if pc == b']' && !first {
            break;
        }
        first = false;
        if pat.get(i + 1) == Some(&b'-') && pat.get(i + 2).is_some_and(|&e| e != b']') {
            let hi = pat[i + 2];
            matched |= pc <= c && c <= hi;
            i += 3;
        } else {
            matched |= pc == c;
            i += 1;
        }
    }
    (matched != negate).then_some(i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;

    fn setup() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for f in [
            "z.txt",
            "A.txt",
            ".dot",
            "sp ace;x.txt",
            "a.txt",
            "c:d",
            "q?#%x",
            "é.txt",
            "we&<n>\".txt",
        ] {
            File::create(d.path().join(f)).unwrap();
        }
        fs::create_dir(d.path().join("a")).unwrap();
        fs::create_dir(d.path().join("dir2")).unwrap();
        d
    }

    fn hrefs(html: &str) -> Vec<&str> {
        html.lines()
            .filter_map(|l| l.split("<a href=\"").nth(1))
            .map(|l| l.split('"').next().unwrap_or(""))
            .collect()
    }

    #[test]
    fn exact_default_format() {
        let d = tempfile::tempdir().unwrap();
        File::create(d.path().join("a.txt")).unwrap();
        let html = render_listing("/x/", d.path(), &IndexOptions::default()).unwrap();
        assert_eq!(
            html,
            "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\" \"http://www.w3.org/TR/html4/strict.dtd\">\n\
             <html>\n <head>\n  <title>Index of /x</title>\n </head>\n <body>\n\
             <h1>Index of /x</h1>\n<ul><li><a href=\"/\"> Parent Directory</a></li>\n\
             <li><a href=\"a.txt\"> a.txt</a></li>\n</ul>\n</body></html>\n"
        );
    }

    #[test]
    fn root_has_no_parent_and_title_slash() {
        let d = tempfile::tempdir().unwrap();
        let html = render_listing("/", d.path(), &IndexOptions::default()).unwrap();
        assert!(html.contains("<title>Index of /</title>"));
        assert!(html.contains("<ul></ul>\n"));
        assert!(!html.contains("Parent Directory"));
    }

    #[test]
    fn sorting_escaping_and_links() {
        let d = setup();
        let html = render_listing("/t/", d.path(), &IndexOptions::default()).unwrap();
        assert_eq!(
            hrefs(&html),
            vec![
                "/",
                ".dot",
                "A.txt",
                "a.txt",
                "a/",
                "./c:d",
                "dir2/",
                "q%3f%23%25x",
                "sp%20ace;x.txt",
                "we&amp;%3cn%3e%22.txt",
                "z.txt",
                "%c3%a9.txt",
            ]
        );
        assert!(html.contains("<li><a href=\"dir2/\"> dir2/</a></li>\n"));
        assert!(html.contains("> we&amp;&lt;n&gt;&quot;.txt</a>"));
        assert!(html.contains("> é.txt</a>"));
    }

    #[test]
    fn descending_and_other_keys() {
        let d = setup();
        let o = IndexOptions {
            query: Some("C=N;O=D".into()),
            ..Default::default()
        };
        let html = render_listing("/t/", d.path(), &o).unwrap();
        let h = hrefs(&html);
        assert_eq!(h[0], "/");
        assert_eq!(h[1], "%c3%a9.txt");
        assert_eq!(*h.last().unwrap(), ".dot");
        fs::write(d.path().join("big"), vec![0u8; 100]).unwrap();
        let o = IndexOptions {
            query: Some("C=S&O=D".into()),
            ..Default::default()
        };
        let html = render_listing("/t/", d.path(), &o).unwrap();
        assert_eq!(hrefs(&html)[1], "big");
        assert_eq!(parse_sort(Some("X=1;O=D")), (b'N', true));
        assert_eq!(parse_sort(Some("C=M;O=D")), (b'M', false));
        assert_eq!(parse_sort(Some("F=2;C=S")), (b'S', true));
    }

    #[test]
    fn ignore_patterns() {
        let d = setup();
        let o = IndexOptions {
            ignore: vec![".??*".into(), "*~".into(), "[Aa].txt".into()],
            ..Default::default()
        };
        let html = render_listing("/t/", d.path(), &o).unwrap();
        let h = hrefs(&html);
        assert!(!h.contains(&".dot"));
        assert!(!h.contains(&"a.txt") && !h.contains(&"A.txt"));
        assert!(h.contains(&"z.txt"));
    }

    #[test]
    fn symlinks_follow_options() {
        let d = tempfile::tempdir().unwrap();
        File::create(d.path().join("real")).unwrap();
        std::os::unix::fs::symlink("real", d.path().join("link")).unwrap();
        std::os::unix::fs::symlink("nowhere", d.path().join("dangling")).unwrap();
        let html = render_listing("/", d.path(), &IndexOptions::default()).unwrap();
        assert_eq!(hrefs(&html), vec!["link", "real"]);
        let o = IndexOptions {
            options: Options::default(),
            ..Default::default()
        };
        let html = render_listing("/", d.path(), &o).unwrap();
        assert_eq!(hrefs(&html), vec!["real"]);
    }

    #[test]
    fn parent_urls_and_titles() {
        assert_eq!(parent_url("/a/b/").as_deref(), Some("/a/"));
        assert_eq!(parent_url("/a/").as_deref(), Some("/"));
        assert_eq!(parent_url("/"), None);
        let d = tempfile::tempdir().unwrap();
        let html = render_listing("/a b/<c>/", d.path(), &IndexOptions::default()).unwrap();
        assert!(html.contains("<title>Index of /a b/&lt;c&gt;</title>"));
        assert!(html.contains("<a href=\"/a%20b/\"> Parent Directory"));
    }

    #[test]
    fn signature_and_missing_dir() {
        let d = tempfile::tempdir().unwrap();
        let o = IndexOptions {
            signature: Some("<address>sig</address>\n".into()),
            ..Default::default()
        };
        let html = render_listing("/", d.path(), &o).unwrap();
        assert!(html.ends_with("</ul>\n<address>sig</address>\n</body></html>\n"));
        assert!(render_listing("/", &d.path().join("nope"), &o).is_err());
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match(b"*", b""));
        assert!(wildcard_match(b".??*", b".dot"));
        assert!(!wildcard_match(b".??*", b".a"));
        assert!(wildcard_match(b"*,v", b"x,v"));
        assert!(wildcard_match(b"HEADER*", b"HEADER.html"));
        assert!(wildcard_match(b"[!a]x", b"bx"));
        assert!(!wildcard_match(b"[!a]x", b"ax"));
        assert!(wildcard_match(b"[a-c]", b"b"));
        assert!(!wildcard_match(b"[a-c", b"b"));
        assert!(wildcard_match(b"a*b*c", b"aXbYbZc"));
        assert!(!wildcard_match(b"a*b", b"aXc"));
    }
}
