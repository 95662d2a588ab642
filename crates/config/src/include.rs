//! Which files an `Include` names, as `ap_process_fnmatch_configs` and friends find them
//! in httpd 2.4 `server/config.c`: a literal path is a file or a directory (every entry,
//! recursively, sorted by `strcmp`); a path with wildcards is walked one component at a
//! time from the root, wildcard components matching directory entries (`APR_FNM_PERIOD`:
//! a leading dot must be matched literally; inner components match directories only).

use std::fs;
use std::io;

/// `AP_MAX_INCLUDE_DIR_DEPTH`.
const MAX_DIR_DEPTH: usize = 128;

/// `apr_fnmatch_test`: does `s` contain an unescaped `*`, `?` or `[...]`?
pub(crate) fn fnmatch_test(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'?' | b'*' => return true,
            b'\\' => i += 1,
            b'[' => return b[i + 1..].contains(&b']'),
            _ => {}
        }
        i += 1;
    }
    false
}

/// `ap_make_full_path`.
pub(crate) fn full_path(dir: &str, name: &str) -> String {
    if dir.is_empty() || dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// `ap_server_root_relative` (`apr_filepath_merge`): `p` if absolute, else `root/p`;
/// `.` and empty components dropped, `..` applied lexically (never above `/`).
pub(crate) fn root_relative(root: &str, p: &str) -> String {
    let joined = if p.starts_with('/') {
        p.to_string()
    } else {
        full_path(root, p)
    };
    let absolute = joined.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for c in joined.split('/') {
        match c {
            "" | "." => {}
            ".." if parts.last().is_some_and(|l| *l != "..") => {
                parts.pop();
            }
            ".." if absolute => {}
            c => parts.push(c),
        }
    }
    let body = parts.join("/");
    if absolute {
        format!("/{body}")
    } else if body.is_empty() {
        ".".to_string()
    } else {
        body
    }
}

/// The OS error text without Rust's " (os error N)" suffix, as `apr_strerror` prints it.
pub(crate) fn strerror(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Every file `path` (already ServerRoot-relative) names, in the order Apache reads them.
/// Literal paths are returned even when they do not exist: opening them reports that.
pub(crate) fn expand(path: &str, optional: bool) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    if !fnmatch_test(path) {
        nofnmatch(path, 0, &mut out)?;
    } else if let Some(rest) = path.strip_prefix('/') {
        fnmatch("/", rest, optional, &mut out)?;
    } else {
        fnmatch(".", path, optional, &mut out)?;
    }
    Ok(out)
}

fn sorted_entries(dir: &str) -> io::Result<Vec<(String, bool)>> {
    let mut v = Vec::new();
    for e in fs::read_dir(dir)? {
        let e = e?;
        let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
        v.push((e.file_name().to_string_lossy().into_owned(), is_dir));
    }
    v.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    Ok(v)
}

/// `process_resource_config_nofnmatch`: a directory contributes all its entries.
fn nofnmatch(fname: &str, depth: usize, out: &mut Vec<String>) -> Result<(), String> {
    if !fs::metadata(fname).is_ok_and(|m| m.is_dir()) {
        out.push(fname.to_string());
        return Ok(());
    }
    let depth = depth + 1;
    if depth > MAX_DIR_DEPTH {
        return Err(format!(
            "Directory {fname} exceeds the maximum include directory nesting level of {MAX_DIR_DEPTH}. You have probably a recursion somewhere."
        ));
    }
    let entries = sorted_entries(fname)
        .map_err(|e| format!("Could not open config directory {fname}: {}", strerror(&e)))?;
    for (name, _) in entries {
        nofnmatch(&full_path(fname, &name), depth, out)?;
    }
    Ok(())
}

fn matcher(pattern: &str) -> impl Fn(&str) -> bool {
    let pat = glob::Pattern::new(pattern).ok();
    let literal = pattern.to_string();
    let opts = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: true,
    };
    move |name: &str| match &pat {
        Some(p) => p.matches_with(name, opts),
        None => name == literal,
    }
}

/// `process_resource_config_fnmatch`: `fname` is what is left of the pattern below `path`.
fn fnmatch(path: &str, fname: &str, optional: bool, out: &mut Vec<String>) -> Result<(), String> {
    let (first, rest) = match fname.split_once('/') {
        Some((f, r)) => (f, Some(r)),
        None => (fname, None),
    };
    if !fnmatch_test(first) {
        let p = full_path(path, first);
        return match rest {
            None => nofnmatch(&p, 0, out),
            Some(r) => fnmatch(&p, r, optional, out),
        };
    }
    let entries = match sorted_entries(path) {
        Ok(e) => e,
        Err(e) if optional && e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(format!(
                "Could not open config directory {path}: {}",
                strerror(&e)
            ));
        }
    };
    let matches = matcher(first);
    let candidates: Vec<String> = entries
        .into_iter()
        .filter(|(name, is_dir)| matches(name) && (rest.is_none() || *is_dir))
        .map(|(name, _)| full_path(path, &name))
        .collect();
    if candidates.is_empty() && !optional {
        return Err(format!(
            "No matches for the wildcard '{first}' in '{path}', failing (use IncludeOptional if required)"
        ));
    }
    for c in candidates {
        match rest {
            None => nofnmatch(&c, 0, out)?,
            Some(r) => fnmatch(&c, r, optional, out)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_test() {
        assert!(fnmatch_test("a/*.conf"));
        assert!(fnmatch_test("a?"));
        assert!(fnmatch_test("[ab]"));
        assert!(!fnmatch_test("[ab"));
        assert!(!fnmatch_test(r"a\*"));
        assert!(!fnmatch_test("plain/path.conf"));
    }

    #[test]
    fn merge_paths() {
        assert_eq!(root_relative("/srv", "conf/a.conf"), "/srv/conf/a.conf");
        assert_eq!(root_relative("/srv/", "./conf//a.conf"), "/srv/conf/a.conf");
        assert_eq!(root_relative("/srv", "/etc/x"), "/etc/x");
        assert_eq!(root_relative("/srv/x", "../y"), "/srv/y");
        assert_eq!(root_relative("/", "../../y"), "/y");
        assert_eq!(full_path("/", "etc"), "/etc");
    }

    #[test]
    fn strerror_strips_code() {
        let e = io::Error::from_raw_os_error(2);
        assert_eq!(strerror(&e), "No such file or directory");
    }
}
