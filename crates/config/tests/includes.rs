//! Include / IncludeOptional, directories, globs, cycles, ServerRoot — on real files.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;
use rhttpd_config::{ConfigError, ParseOptions, Parsed, parse};

fn write(dir: &Path, rel: &str, text: &str) -> PathBuf {
    let p = dir.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(&p, text).unwrap();
    p
}

fn run(root: &Path, main: &str) -> Result<Parsed, ConfigError> {
    parse(&ParseOptions {
        file: PathBuf::from(main),
        server_root: root.to_path_buf(),
        defines: Vec::new(),
        pre_directives: Vec::new(),
        post_directives: Vec::new(),
        modules: MODULES,
        embedded: None,
    })
}

fn root() -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let p = fs::canonicalize(t.path()).unwrap();
    (t, p)
}

#[test]
fn literal_glob_and_directory_includes() {
    let (_t, r) = root();
    write(
        &r,
        "conf/httpd.conf",
        "Listen 1\nInclude conf/one.conf\nInclude conf.d/*.conf\nInclude sites\nListen 9\n",
    );
    write(&r, "conf/one.conf", "Listen 2\n");
    write(&r, "conf.d/b.conf", "Listen 4\n");
    write(&r, "conf.d/a.conf", "Listen 3\n");
    write(&r, "conf.d/.hidden.conf", "Bogus\n");
    write(&r, "conf.d/skip.txt", "Bogus\n");
    write(&r, "sites/z.conf", "Listen 7\n");
    write(&r, "sites/m/x.conf", "Listen 6\n");
    write(&r, "sites/a", "Listen 5\n");
    let p = run(&r, "conf/httpd.conf").unwrap();
    assert_eq!(
        flat(&p.nodes),
        (1..=7)
            .chain([9])
            .map(|i| format!("Listen {i}"))
            .collect::<Vec<_>>()
    );
    let s = |rel: &str| path(&r.join(rel));
    let inc: Vec<(usize, String)> = p.includes.iter().map(|(d, p)| (*d, path(p))).collect();
    assert_eq!(
        inc,
        vec![
            (0, s("conf/httpd.conf")),
            (1, s("conf/one.conf")),
            (1, s("conf.d/a.conf")),
            (1, s("conf.d/b.conf")),
            (1, s("sites/a")),
            (1, s("sites/m/x.conf")),
            (1, s("sites/z.conf")),
        ]
    );
}

#[test]
fn wildcard_directories_and_nesting_depth() {
    let (_t, r) = root();
    write(
        &r,
        "httpd.conf",
        "<VirtualHost *>\nInclude vhosts/*/site.conf\n</VirtualHost>\n",
    );
    write(
        &r,
        "vhosts/a/site.conf",
        "ServerName a\nInclude vhosts/a/more.conf\n",
    );
    write(&r, "vhosts/a/more.conf", "DocumentRoot /a\n");
    write(&r, "vhosts/b/site.conf", "ServerName b\n");
    write(&r, "vhosts/file", "not a directory\n");
    let p = run(&r, "httpd.conf").unwrap();
    assert_eq!(
        flat(&p.nodes),
        vec![
            "<VirtualHost> *",
            "  ServerName a",
            "  DocumentRoot /a",
            "  ServerName b"
        ]
    );
    assert_eq!(
        p.includes.iter().map(|(d, _)| *d).collect::<Vec<_>>(),
        vec![0, 1, 2, 1]
    );
    // The line of the Include that read each file (0 for the main file).
    assert_eq!(p.include_lines, vec![0, 2, 2, 2]);
}

#[test]
fn include_errors() {
    let (_t, r) = root();
    let main = write(&r, "httpd.conf", "Listen 1\nInclude conf.d/*.conf\n");
    fs::create_dir_all(r.join("conf.d")).unwrap();
    let e = run(&r, "httpd.conf").unwrap_err();
    assert_eq!(
        where_(&e),
        (
            main.clone(),
            2,
            format!(
                "No matches for the wildcard '*.conf' in '{}', failing (use IncludeOptional if required)",
                path(&r.join("conf.d"))
            )
        )
    );
    fs::write(&main, "\nInclude missing.conf\n").unwrap();
    let e = run(&r, "httpd.conf").unwrap_err();
    assert_eq!(
        where_(&e),
        (
            main.clone(),
            2,
            format!(
                "Could not open configuration file {}: No such file or directory",
                path(&r.join("missing.conf"))
            )
        )
    );
    fs::write(&main, "Include nodir/*.conf\n").unwrap();
    let e = run(&r, "httpd.conf").unwrap_err();
    assert_eq!(
        e.message,
        format!(
            "Could not open config directory {}: No such file or directory",
            path(&r.join("nodir"))
        )
    );
    fs::write(&main, "Include\n").unwrap();
    let e = run(&r, "httpd.conf").unwrap_err();
    assert_eq!(
        e.message,
        "Include takes one argument, Name(s) of the config file(s) to be included; fails if the wildcard does not match at least one file"
    );
}

#[test]
fn include_optional_is_quiet() {
    let (_t, r) = root();
    write(
        &r,
        "httpd.conf",
        "IncludeOptional conf.d/*.conf\nIncludeOptional missing.conf\nIncludeOptional nodir/*.conf\nListen 1\n",
    );
    fs::create_dir_all(r.join("conf.d")).unwrap();
    let p = run(&r, "httpd.conf").unwrap();
    assert_eq!(flat(&p.nodes), vec!["Listen 1"]);
    assert_eq!(p.includes.len(), 1);
}

#[test]
fn errors_inside_included_files_point_there() {
    let (_t, r) = root();
    write(&r, "httpd.conf", "Include inc.conf\n");
    let inc = write(&r, "inc.conf", "Listen 1\n\nBogus x\n");
    let e = run(&r, "httpd.conf").unwrap_err();
    assert_eq!(where_(&e), (inc.clone(), 3, "Invalid command 'Bogus', perhaps misspelled or defined by a module not included in the server configuration".into()));
    // sections cannot span files
    fs::write(&inc, "<Directory /x>\n").unwrap();
    let e = run(&r, "httpd.conf").unwrap_err();
    assert_eq!(
        e.message,
        format!("{}:1: <Directory> was not closed.", path(&inc))
    );
    write(
        &r,
        "httpd.conf",
        "<Directory /x>\nInclude inc.conf\n</Directory>\n",
    );
    fs::write(&inc, "</Directory>\n").unwrap();
    let e = run(&r, "httpd.conf").unwrap_err();
    assert_eq!(
        where_(&e),
        (
            inc,
            1,
            "</Directory> without matching <Directory> section".into()
        )
    );
}

#[test]
fn include_cycles() {
    let (_t, r) = root();
    let a = write(&r, "a.conf", "Listen 1\nInclude b.conf\n");
    let b = write(&r, "b.conf", "\n\nInclude a.conf\n");
    let e = run(&r, "a.conf").unwrap_err();
    assert_eq!(
        where_(&e),
        (
            b.clone(),
            3,
            format!(
                "Include cycle detected: {} -> {} -> {}",
                path(&a),
                path(&b),
                path(&a)
            )
        )
    );
    let s = write(&r, "self.conf", "Include self.conf\n");
    let e = run(&r, "self.conf").unwrap_err();
    assert_eq!(
        e.message,
        format!("Include cycle detected: {} -> {}", path(&s), path(&s))
    );
    // including the same file twice, not nested, is fine
    write(&r, "twice.conf", "Include b2.conf\nInclude b2.conf\n");
    write(&r, "b2.conf", "Listen 1\n");
    assert_eq!(run(&r, "twice.conf").unwrap().nodes.len(), 2);
}

#[test]
fn defines_in_include_paths_and_server_root() {
    let (_t, r) = root();
    write(
        &r,
        "httpd.conf",
        "Define CONFDIR extra\nInclude ${CONFDIR}/x.conf\nServerRoot sub\nInclude y.conf\n",
    );
    write(&r, "extra/x.conf", "Listen 1\n");
    write(&r, "sub/y.conf", "Listen 2\n");
    let p = run(&r, "httpd.conf").unwrap();
    assert_eq!(
        flat(&p.nodes),
        vec!["Listen 1", "ServerRoot sub", "Listen 2"]
    );
    assert_eq!(p.server_root, r.join("sub"));
}

#[test]
fn main_file_relative_to_server_root_and_directory_main() {
    let (_t, r) = root();
    write(&r, "conf/a.conf", "Listen 1\n");
    write(&r, "conf/b.conf", "Listen 2\n");
    let p = run(&r, "conf").unwrap();
    assert_eq!(flat(&p.nodes), vec!["Listen 1", "Listen 2"]);
}
