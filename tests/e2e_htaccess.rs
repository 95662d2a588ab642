//! End-to-end tests of `.htaccess` files (issue #14 point 1): read along the path where
//! `AllowOverride` lets them be, each directive checked against its override class
//! (Apache's "X not allowed here" as a 500 with the file and line in the error log),
//! `AllowOverrideList`, `Nonfatal=`, `Options=`, `AccessFileName`, `<Files>` inside a
//! file, and edits seen on the next request under every MPM.

mod common;
#[path = "support/dynamic.rs"]
mod dynamic_support;

use dynamic_support::{EVENT, Mpm, PREFORK, Site, WORKER, start};

const AUTH: &str = "LoadModule authn_core_module x\nLoadModule auth_basic_module x\n\
                    LoadModule authn_file_module x\nLoadModule authz_user_module x\n\
                    LoadModule access_compat_module x\nLoadModule headers_module x\n";

fn get(s: &common::Server, path: &str) -> common::Resp {
    s.request(&format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    ))
}

fn write(site: &Site, rel: &str, text: &str) {
    let p = site.p(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// A document tree with `AllowOverride` per directory:
/// `all/` All, `info/` FileInfo, `none/` None, `list/` only by AllowOverrideList,
/// `opts/` Options=Indexes, `soft/` AuthConfig with Nonfatal=All.
fn site() -> (Site, String) {
    let site = Site::new();
    for d in ["all/sub", "info", "none", "list", "opts", "soft", "named"] {
        write(&site, &format!("htdocs/{d}/page.html"), &format!("{d}\n"));
    }
    write(&site, "htdocs/all/sub/index.txt", "the index\n");
    write(&site, "htdocs/all/secret.cfg", "hidden\n");
    let docs = site.s("htdocs");
    let conf = format!(
        "{AUTH}DocumentRoot \"{docs}\"\n\
         <Directory \"{docs}/all\">\n  AllowOverride All\n</Directory>\n\
         <Directory \"{docs}/info\">\n  AllowOverride FileInfo\n</Directory>\n\
         <Directory \"{docs}/none\">\n  AllowOverride None\n</Directory>\n\
         <Directory \"{docs}/list\">\n  AllowOverride None\n  AllowOverrideList Redirect Header\n</Directory>\n\
         <Directory \"{docs}/opts\">\n  AllowOverride Options=Indexes,FollowSymLinks\n</Directory>\n\
         <Directory \"{docs}/soft\">\n  AllowOverride AuthConfig Nonfatal=All\n</Directory>\n\
         <Directory \"{docs}/named\">\n  AllowOverride All\n</Directory>\n\
         AccessFileName .htaccess .config\n\
         <VirtualHost 127.0.0.1:*>\n  ServerName localhost\n</VirtualHost>\n\
         <VirtualHost 127.0.0.1:*>\n  ServerName other.test\n  AccessFileName .config\n</VirtualHost>\n"
    );
    (site, conf)
}

fn htaccess_files(mpm: Mpm) {
    let (site, conf) = site();
    // Every class AllowOverride All grants, with a <Files> section inside.
    write(
        &site,
        "htdocs/all/.htaccess",
        "DirectoryIndex index.txt\nHeader set X-From all\nErrorDocument 404 \"gone from all\"\n\
         <Files \"*.cfg\">\n  Require all denied\n</Files>\n\
         AuthType Basic\nAuthName zone\n",
    );
    write(
        &site,
        "htdocs/info/.htaccess",
        "Redirect 301 /info/page.html /all/sub/\n",
    );
    write(&site, "htdocs/none/.htaccess", "This is not a directive\n");
    write(&site, "htdocs/list/.htaccess", "Header set X-Listed yes\n");
    write(&site, "htdocs/opts/.htaccess", "Options -Indexes\n");
    write(
        &site,
        "htdocs/soft/.htaccess",
        "Header set X-Soft yes\nNoSuchDirective here\nRequire all denied\n",
    );
    write(
        &site,
        "htdocs/named/.config",
        "Header set X-Config second-name\n",
    );
    let s = start(mpm, &conf);

    // Inherited below the file's directory; the <Files> section applies by name.
    let r = get(&s, "/all/sub/");
    assert_eq!(
        (r.status, r.text().as_str()),
        (200, "the index\n"),
        "{}",
        s.log("error_log")
    );
    assert_eq!(r.header("x-from"), Some("all"));
    assert_eq!(get(&s, "/all/secret.cfg").status, 403);
    assert_eq!(get(&s, "/all/sub/page.html").status, 200);
    let r = get(&s, "/all/nothing-here");
    assert_eq!((r.status, r.text().as_str()), (404, "gone from all"));

    // FileInfo: mod_alias's Redirect works.
    let r = get(&s, "/info/page.html");
    assert_eq!(r.status, 301);
    assert!(
        r.header("location").unwrap().ends_with("/all/sub/"),
        "{r:?}"
    );

    // AllowOverride None: the file is never read (its garbage costs nothing).
    assert_eq!(get(&s, "/none/page.html").status, 200);

    // AllowOverrideList: Header is allowed by name.
    assert_eq!(get(&s, "/list/page.html").header("x-listed"), Some("yes"));

    // Options=Indexes,FollowSymLinks permits these options.
    assert_eq!(get(&s, "/opts/page.html").status, 200);
    assert_eq!(
        get(&s, "/opts/").status,
        403,
        "Options -Indexes from .htaccess"
    );

    // Nonfatal=All: the FileInfo line and the unknown one are skipped with a warning;
    // the AuthConfig line (Require) applies.
    let r = get(&s, "/soft/page.html");
    assert_eq!(r.status, 403);
    assert_eq!(r.header("x-soft"), None);
    let log = s.wait_log("error_log", "NoSuchDirective");
    assert!(log.contains("Header not allowed here"), "{log}");

    // The second AccessFileName is read where the first is missing.
    assert_eq!(
        get(&s, "/named/page.html").header("x-config"),
        Some("second-name")
    );

    // Forbidden classes and syntax errors: 500 with the file and line in the log.
    write(&site, "htdocs/info/.htaccess", "\nAuthType Basic\n");
    assert_eq!(get(&s, "/info/page.html").status, 500);
    let info = site.s("htdocs/info/.htaccess");
    s.wait_log(
        "error_log",
        &format!("{info}: AuthType not allowed here (line 2)"),
    );
    write(&site, "htdocs/opts/.htaccess", "Options +ExecCGI\n");
    assert_eq!(get(&s, "/opts/page.html").status, 500);
    s.wait_log("error_log", "Option ExecCGI not allowed here (line 1)");
    write(
        &site,
        "htdocs/all/.htaccess",
        "# a comment\n\nRedirectt /x /y\n",
    );
    assert_eq!(get(&s, "/all/sub/index.txt").status, 500);
    s.wait_log(
        "error_log",
        "Invalid command 'Redirectt', perhaps misspelled or defined by a module not included in the server configuration (line 3)",
    );
    write(
        &site,
        "htdocs/all/.htaccess",
        "<Directory />\n</Directory>\n",
    );
    assert_eq!(get(&s, "/all/sub/index.txt").status, 500);
    s.wait_log("error_log", "<Directory not allowed here (line 1)");
    write(&site, "htdocs/all/.htaccess", "Include /etc/passwd\n");
    assert_eq!(get(&s, "/all/sub/index.txt").status, 500);
    s.wait_log("error_log", "Include not allowed here (line 1)");

    // A fixed file is seen on the next request; a deleted one stops applying.
    write(&site, "htdocs/all/.htaccess", "Header set X-From fixed\n");
    let r = get(&s, "/all/sub/index.txt");
    assert_eq!((r.status, r.header("x-from")), (200, Some("fixed")));
    std::fs::remove_file(site.p("htdocs/all/.htaccess")).unwrap();
    let r = get(&s, "/all/sub/index.txt");
    assert_eq!((r.status, r.header("x-from")), (200, None));
    assert_eq!(get(&s, "/all/secret.cfg").status, 200);

    // The virtual host reads only its own AccessFileName.
    let r =
        s.request("GET /list/page.html HTTP/1.1\r\nHost: other.test\r\nConnection: close\r\n\r\n");
    assert_eq!((r.status, r.header("x-listed")), (200, None));
}

#[test]
fn htaccess_files_under_event() {
    htaccess_files(EVENT);
}

#[test]
fn htaccess_files_under_worker() {
    htaccess_files(WORKER);
}

#[test]
fn htaccess_files_under_prefork() {
    htaccess_files(PREFORK);
}

/// AllowOverride's own errors at start, and its warning where it is useless.
#[test]
fn allow_override_errors_at_start() {
    let site = Site::new();
    let docs = site.s("htdocs");
    for (line, reason) in [
        ("AllowOverride Bogus", "Illegal override option"),
        (
            "AllowOverride Options=Nope",
            "Illegal option Nope in restricted AllowOverride",
        ),
        (
            "AllowOverride Nonfatal=Maybe",
            "Nonfatal=Maybe is not a valid Nonfatal= value",
        ),
    ] {
        let conf = site.p("bad.conf");
        std::fs::write(
            &conf,
            format!("Listen 127.0.0.1:1\nDocumentRoot \"{docs}\"\n<Directory \"{docs}\">\n{line}\n</Directory>\n"),
        )
        .unwrap();
        let o = common::output(common::command(common::BIN).args(["-t", "-f"]).arg(&conf))
            .expect("rhttpd -t");
        assert_eq!(o.status.code(), Some(1), "{line}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(&format!(
                "AH00526: Syntax error on line 4 of {}:",
                conf.display()
            )) && err.contains(reason),
            "{line}: {err}"
        );
    }
    let conf = site.p("warn.conf");
    std::fs::write(
        &conf,
        "Listen 127.0.0.1:1\n<Location /x>\nAllowOverride All\n</Location>\n",
    )
    .unwrap();
    let o = common::output(common::command(common::BIN).args(["-t", "-f"]).arg(&conf))
        .expect("rhttpd -t");
    assert_eq!(o.status.code(), Some(0));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!(
            "AH00114: Useless use of AllowOverride line 3 of {}.",
            conf.display()
        )),
        "{err}"
    );
}

/// WordPress's shipped `.htaccess` two levels down (`/blog/` with `RewriteBase /blog/`):
/// files are served as they are, every other URL goes to the front controller.
fn wordpress_rules(mpm: Mpm) {
    let site = Site::new();
    write(&site, "htdocs/sites/blog/index.html", "front controller\n");
    write(&site, "htdocs/sites/blog/style.css", "body{}\n");
    write(
        &site,
        "htdocs/sites/blog/.htaccess",
        "# BEGIN WordPress\n<IfModule mod_rewrite.c>\nRewriteEngine On\n\
         RewriteRule .* - [E=HTTP_AUTHORIZATION:%{HTTP:Authorization}]\nRewriteBase /sites/blog/\n\
         RewriteRule ^index\\.html$ - [L]\nRewriteCond %{REQUEST_FILENAME} !-f\n\
         RewriteCond %{REQUEST_FILENAME} !-d\nRewriteRule . /sites/blog/index.html [L]\n\
         </IfModule>\n# END WordPress\n",
    );
    let docs = site.s("htdocs");
    let conf = format!(
        "LoadModule rewrite_module x\nDocumentRoot \"{docs}\"\n\
         <Directory \"{docs}/sites\">\n  AllowOverride All\n</Directory>\n"
    );
    let s = start(mpm, &conf);
    let r = get(&s, "/sites/blog/2026/12/03/hello/");
    assert_eq!(
        (r.status, r.text().as_str()),
        (200, "front controller\n"),
        "{}",
        s.log("error_log")
    );
    let r = get(&s, "/sites/blog/style.css");
    assert_eq!((r.status, r.text().as_str()), (200, "body{}\n"));
    assert_eq!(get(&s, "/sites/blog/").status, 200);
    // Outside the directory the rules do not apply.
    assert_eq!(get(&s, "/sites/nothing").status, 404);
}

#[test]
fn wordpress_rules_in_htaccess_under_event() {
    wordpress_rules(EVENT);
}

#[test]
fn wordpress_rules_in_htaccess_under_prefork() {
    wordpress_rules(PREFORK);
}

/// `<If>`, `<ElseIf>` and `<Else>` in the configuration and in a `.htaccess` file.
#[test]
fn if_sections_are_decided_per_request() {
    let site = Site::new();
    write(&site, "htdocs/d/page.html", "page\n");
    write(
        &site,
        "htdocs/d/.htaccess",
        "<If \"%{QUERY_STRING} =~ /deny/\">\n  Require all denied\n</If>\n",
    );
    let docs = site.s("htdocs");
    let conf = format!(
        "{AUTH}DocumentRoot \"{docs}\"\n<Directory \"{docs}/d\">\n  AllowOverride All\n</Directory>\n\
         <If \"%{{HTTP_HOST}} == 'a.test'\">\n  Header set X-If a\n</If>\n\
         <ElseIf \"-f %{{REQUEST_FILENAME}}\">\n  Header set X-If file\n</ElseIf>\n\
         <Else>\n  Header always set X-If else\n</Else>\n"
    );
    let s = start(EVENT, &conf);
    let host = |h: &str, path: &str| {
        s.request(&format!(
            "GET {path} HTTP/1.1\r\nHost: {h}\r\nConnection: close\r\n\r\n"
        ))
    };
    assert_eq!(host("a.test", "/d/page.html").header("x-if"), Some("a"));
    assert_eq!(host("b.test", "/d/page.html").header("x-if"), Some("file"));
    assert_eq!(host("b.test", "/d/none.html").header("x-if"), Some("else"));
    assert_eq!(host("b.test", "/d/page.html?deny=1").status, 403);
    assert_eq!(host("b.test", "/d/page.html?ok=1").status, 200);
    drop(s);
    // Bad conditions and a stray <Else> are errors at start.
    for (text, reason) in [
        (
            "<If \"%{NO_SUCH_VAR} == 'x'\">\n</If>\n",
            "Cannot parse condition clause",
        ),
        (
            "<Else>\n</Else>\n",
            "<ElseIf> or <Else> section without previous <If>",
        ),
        (
            "<If \"\">\n</If>\n",
            "<If> directive requires additional arguments",
        ),
    ] {
        let conf = site.p("bad.conf");
        std::fs::write(&conf, format!("Listen 127.0.0.1:1\n{text}")).unwrap();
        let o = common::output(common::command(common::BIN).args(["-t", "-f"]).arg(&conf))
            .expect("rhttpd -t");
        assert_eq!(o.status.code(), Some(1), "{text}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(&format!(
                "AH00526: Syntax error on line 2 of {}:",
                conf.display()
            )) && err.contains(reason),
            "{text}: {err}"
        );
    }
}
