//! End-to-end tests of mod_rewrite (issue #14 point 2): the rules real projects ship in
//! their `.htaccess` files (WordPress, Laravel's public/.htaccess, Drupal's front
//! controller, Nextcloud's well-known redirects) in `<Directory>` blocks; server and
//! virtual-host rules (redirects with QSA, [F], [G], [PT], file results kept under
//! DocumentRoot, maps txt/int/prg, cookies, variables for CGI, inheritance, `RewriteCond
//! expr`); [P] to
//! a backend; the internal-redirect limit; syntax errors at startup. Bounded waits,
//! ephemeral loopback ports, only our own processes.

mod common;
#[path = "support/config.rs"]
mod config_support;

use config_support::*;
use std::os::unix::fs::PermissionsExt;

const MODS: &str =
    "LoadModule rewrite_module modules/mod_rewrite.so\nLoadModule cgi_module modules/mod_cgi.so\n";

/// A CGI script printing its environment, saved as `path` (any name: `.php` files are
/// CGI scripts in these tests, standing in for PHP).
fn env_script(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        path,
        "#!/bin/sh\necho 'Content-Type: text/plain'\necho\necho \"script=$SCRIPT_NAME\"\nenv | sort\n",
    )
    .unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn has_line(text: &str, line: &str) -> bool {
    text.lines().any(|l| l == line)
}

/// The `.htaccess` rules of four projects, each in its `<Directory>`.
fn projects(root: &Path, _port: u16) -> String {
    let h = root.join("htdocs");
    for app in ["wp", "laravel/public", "drupal"] {
        env_script(&h.join(app).join("index.php"));
    }
    write(root, "htdocs/wp/wp-content/style.css", "body{}\n");
    std::fs::create_dir_all(h.join("wp/wp-admin")).unwrap();
    write(root, "htdocs/wp/wp-admin/index.html", "admin\n");
    write(root, "htdocs/drupal/core/misc/drupal.js", "js\n");
    write(root, "htdocs/drupal/.git/config", "secret\n");
    write(root, "htdocs/laravel/public/robots.txt", "robots\n");
    std::fs::create_dir_all(h.join("nextcloud")).unwrap();
    write(root, "htdocs/prg-k.txt", "from prg\n");
    let prg = root.join("conf/map.sh");
    write(
        root,
        "conf/map.sh",
        "#!/bin/sh\nwhile read k; do echo \"prg-$k.txt\"; done\n",
    );
    std::fs::set_permissions(&prg, std::fs::Permissions::from_mode(0o755)).unwrap();
    let h = h.display();
    format!(
        r#"{MODS}AddHandler cgi-script .php
# A prg: map may block: under event the request moves from the listener to a worker.
RewriteEngine On
RewriteMap byprg prg:conf/map.sh
RewriteRule ^/prg/(.*)$ /${{byprg:$1}} [L]
DirectoryIndex index.php index.html
<Directory "{h}">
    Options FollowSymLinks ExecCGI
</Directory>
# WordPress (wp-admin/includes/misc.php, a site in /wp/).
<Directory "{h}/wp">
# BEGIN WordPress
<IfModule mod_rewrite.c>
RewriteEngine On
RewriteRule .* - [E=HTTP_AUTHORIZATION:%{{HTTP:Authorization}}]
RewriteBase /wp/
RewriteRule ^index\.php$ - [L]
RewriteCond %{{REQUEST_FILENAME}} !-f
RewriteCond %{{REQUEST_FILENAME}} !-d
RewriteRule . /wp/index.php [L]
</IfModule>
# END WordPress
</Directory>
# Laravel's public/.htaccess.
<Directory "{h}/laravel/public">
<IfModule mod_rewrite.c>
    <IfModule mod_negotiation.c>
        Options -MultiViews -Indexes
    </IfModule>

    RewriteEngine On

    # Handle Authorization Header
    RewriteCond %{{HTTP:Authorization}} .
    RewriteRule .* - [E=HTTP_AUTHORIZATION:%{{HTTP:Authorization}}]

    # Handle X-XSRF-Token Header
    RewriteCond %{{HTTP:x-xsrf-token}} .
    RewriteRule .* - [E=HTTP_X_XSRF_TOKEN:%{{HTTP:X-XSRF-Token}}]

    # Redirect Trailing Slashes If Not A Folder...
    RewriteCond %{{REQUEST_FILENAME}} !-d
    RewriteCond %{{REQUEST_URI}} (.+)/$
    RewriteRule ^ %1 [L,R=301]

    # Send Requests To Front Controller...
    RewriteCond %{{REQUEST_FILENAME}} !-d
    RewriteCond %{{REQUEST_FILENAME}} !-f
    RewriteRule ^ index.php [L]
</IfModule>
</Directory>
# Drupal's core .htaccess, the front-controller part.
<Directory "{h}/drupal">
<IfModule mod_rewrite.c>
  RewriteEngine on
  RewriteRule ^ - [E=protossl]
  RewriteCond %{{HTTPS}} on
  RewriteRule ^ - [E=protossl:s]
  RewriteRule "/\.|^\.(?!well-known/)" - [F]
  RewriteBase /drupal
  RewriteCond %{{REQUEST_FILENAME}} !-f
  RewriteCond %{{REQUEST_FILENAME}} !-d
  RewriteCond %{{REQUEST_URI}} !=/favicon.ico
  RewriteRule ^ index.php [L]
</IfModule>
</Directory>
# Nextcloud's .htaccess well-known redirects.
<Directory "{h}/nextcloud">
  <IfModule mod_rewrite.c>
    RewriteEngine on
    RewriteRule ^\.well-known/carddav /nextcloud/remote.php/dav/ [R=301,L]
    RewriteRule ^\.well-known/caldav /nextcloud/remote.php/dav/ [R=301,L]
    RewriteRule ^\.well-known/webfinger /nextcloud/index.php/.well-known/webfinger [R=301,L]
  </IfModule>
</Directory>
# A rule that changes the URL on every pass.
<Directory "{h}/loop">
  RewriteEngine On
  RewriteRule ^(.*)$ x$1
</Directory>
"#
    )
}

fn projects_under(args: &[&str], mpm: &str) {
    let s = Server::start_root_fn_with(|root, port| format!("{mpm}{}", projects(root, port)), args);
    let port = s.port;
    // WordPress: a pretty permalink reaches index.php, which sees the URL asked for and
    // the Authorization header as a variable.
    let r = s.request(
        "GET /wp/2026/12/01/hello/?p=2 HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer tok\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let t = r.text();
    assert!(has_line(&t, "script=/wp/index.php"), "{t}");
    assert!(has_line(&t, "REQUEST_URI=/wp/2026/12/01/hello/?p=2"), "{t}");
    assert!(has_line(&t, "QUERY_STRING=p=2"), "{t}");
    assert!(has_line(&t, "HTTP_AUTHORIZATION=Bearer tok"), "{t}");
    assert!(has_line(&t, "REDIRECT_URL=/wp/2026/12/01/hello/"), "{t}");
    // Existing files and directories are served as they are.
    assert_eq!(s.get("/wp/wp-content/style.css").text(), "body{}\n");
    assert_eq!(s.get("/wp/wp-admin/").text(), "admin\n");

    // Laravel: trailing slashes redirected (301), everything else to index.php.
    let r = s.get("/laravel/public/users/");
    assert_eq!(r.status, 301);
    assert_eq!(
        r.header("location"),
        Some(format!("http://localhost:{port}/laravel/public/users").as_str())
    );
    let r = s.request(
        "GET /laravel/public/users?page=2 HTTP/1.1\r\nHost: localhost\r\nX-XSRF-TOKEN: xs\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(r.status, 200);
    let t = r.text();
    assert!(has_line(&t, "script=/laravel/public/index.php"), "{t}");
    assert!(has_line(&t, "QUERY_STRING=page=2"), "{t}");
    assert!(has_line(&t, "HTTP_X_XSRF_TOKEN=xs"), "{t}");
    assert_eq!(s.get("/laravel/public/robots.txt").text(), "robots\n");

    // Drupal: dot-files refused (a look-ahead pattern), paths to index.php, favicon not.
    assert_eq!(s.get("/drupal/.git/config").status, 403);
    let t = s.get("/drupal/node/1").text();
    assert!(has_line(&t, "script=/drupal/index.php"), "{t}");
    assert!(has_line(&t, "protossl="), "{t}");
    assert_eq!(s.get("/drupal/core/misc/drupal.js").text(), "js\n");
    assert_eq!(s.get("/favicon.ico").status, 404);

    // Nextcloud: the well-known redirects.
    let r = s.get("/nextcloud/.well-known/carddav");
    assert_eq!(r.status, 301);
    assert_eq!(
        r.header("location"),
        Some(format!("http://localhost:{port}/nextcloud/remote.php/dav/").as_str())
    );

    assert_eq!(s.get("/prg/k").text(), "from prg\n");

    // A rule that never settles ends at LimitInternalRecursion with Apache's 500.
    assert_eq!(s.get("/loop/a").status, 500);
    let log = s.wait_log("error_log", "AH00124");
    assert!(
        log.contains("AH00124: Request exceeded the limit of 10 internal redirects due to probable configuration error. Use 'LimitInternalRecursion' to increase the limit if necessary."),
        "{log}"
    );
}

#[test]
fn project_htaccess_rules_in_directory_blocks() {
    projects_under(&["-X"], "");
}

#[test]
fn project_htaccess_rules_under_event() {
    // The event MPM runs cheap requests on its listener thread: rewriting works there,
    // and CGI (index.php here) is still handed to a worker.
    projects_under(
        &["-D", "FOREGROUND"],
        "LoadModule mpm_event_module x\nServerLimit 1\nStartServers 1\nThreadsPerChild 4\nMinSpareThreads 1\nMaxSpareThreads 8\nMaxRequestWorkers 4\n",
    );
}

fn server_rules(root: &Path, port: u16) -> String {
    write(root, "htdocs/i.txt", "index\n");
    write(root, "htdocs/f/a.txt", "file a\n");
    write(root, "htdocs/hello.txt", "hello\n");
    write(root, "htdocs/mapped-one.txt", "one\n");
    write(root, "htdocs/missing.txt", "default\n");
    write(root, "htdocs/prg-x.txt", "from prg\n");
    write(root, "aliased/b.txt", "aliased b\n");
    write(root, "conf/pages.txt", "# pages\nfirst mapped-one.txt\n");
    env_script(&root.join("cgi-bin/env.cgi"));
    let prg = root.join("conf/map.sh");
    std::fs::write(
        &prg,
        "#!/bin/sh\nwhile read k; do echo \"prg-$k.txt\"; done\n",
    )
    .unwrap();
    std::fs::set_permissions(&prg, std::fs::Permissions::from_mode(0o755)).unwrap();
    let r = root.display();
    format!(
        r#"{MODS}ScriptAlias /cgi-bin/ "{r}/cgi-bin/"
Alias /aliased/ "{r}/aliased/"
<Directory "{r}/aliased">
    Require all granted
</Directory>
RewriteEngine On
RewriteMap lower int:tolower
RewriteMap pages txt:conf/pages.txt
RewriteMap byprg prg:conf/map.sh
RewriteRule ^/old/(.*)$ /new/$1?from=old [R=301,QSA,L]
RewriteRule ^/forbidden - [F]
RewriteRule ^/gone - [G]
RewriteRule ^/pt/(.*)$ /aliased/$1 [PT]
RewriteRule ^/file/(.*)$ /f/$1 [L]
RewriteRule ^/escape(/.*)$ $1 [L]
RewriteRule ^/lc/(.*)$ /${{lower:$1}} [L]
RewriteRule ^/p/(.*)$ /${{pages:$1|missing.txt}} [L]
RewriteRule ^/prg/(.*)$ /${{byprg:$1}} [L]
RewriteRule ^/i\.txt$ - [CO=seen:yes:localhost:0:/:0:1]
RewriteRule ^/cgi-bin/ - [E=FROM_REWRITE:yes]
# RewriteCond expr: ap_expr with its regex groups as %N, a file test, negation.
RewriteCond expr "%{{HTTP:X-Site}} =~ /^site-([a-z]+)$/"
RewriteRule ^/by-header$ /%1.txt [L]
RewriteCond expr "-f '{r}/htdocs/hello.txt' && %{{QUERY_STRING}} == 'greet'"
RewriteRule ^/greet$ /hello.txt [L]
RewriteCond expr "!(%{{REQUEST_METHOD}} in {{'GET', 'HEAD'}})"
RewriteRule ^/read-only$ - [F]
RewriteCond %{{HTTP_HOST}} ^www\.(.+)$ [NC]
RewriteRule ^/(.*)$ http://%1:{port}/$1 [R=301,L]
<VirtualHost 127.0.0.1:{port}>
    ServerName inherits.test
    RewriteEngine On
    RewriteOptions Inherit
    RewriteRule ^/vhost-own$ /hello.txt
</VirtualHost>
<VirtualHost 127.0.0.1:{port}>
    ServerName plain.test
    RewriteEngine On
    RewriteRule ^/vhost-own$ /i.txt
</VirtualHost>
"#
    )
}

fn get_host(s: &Server, path: &str, host: &str) -> Resp {
    s.request(&format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    ))
}

#[test]
fn server_and_virtual_host_rules() {
    let s = Server::start_root_fn_with(server_rules, &["-X"]);
    let port = s.port;
    let get = |p: &str| get_host(&s, p, "inherits.test");
    // [R=301,QSA]: the substitution's query first, then the client's.
    let r = get("/old/a%20b?x=1");
    assert_eq!(r.status, 301);
    assert_eq!(
        r.header("location"),
        Some(format!("http://inherits.test:{port}/new/a%20b?from=old&x=1").as_str())
    );
    assert_eq!(get("/forbidden").status, 403);
    assert_eq!(get("/gone").status, 410);
    // [PT] hands the new URL to Alias; a plain result is a file under DocumentRoot.
    assert_eq!(get("/pt/b.txt").text(), "aliased b\n");
    assert_eq!(get("/file/a.txt").text(), "file a\n");
    // A back-reference never makes the result a path outside DocumentRoot.
    let r = get("/escape/etc/passwd");
    assert_eq!(r.status, 404);
    assert!(!r.text().contains("root:"));
    // Maps: int, txt (with default, and re-read after a change), prg.
    assert_eq!(get("/lc/HELLO.TXT").text(), "hello\n");
    assert_eq!(get("/p/first").text(), "one\n");
    assert_eq!(get("/p/nothing").text(), "default\n");
    s.write("conf/pages.txt", "first hello.txt\n");
    s.set_mtime(
        "conf/pages.txt",
        std::time::SystemTime::now() + Duration::from_secs(10),
    );
    assert_eq!(get("/p/first").text(), "hello\n");
    assert_eq!(get("/prg/x").text(), "from prg\n");
    assert_eq!(get("/prg/x").text(), "from prg\n");
    // [CO=] sets a cookie; [E=] reaches CGI.
    let r = get("/i.txt");
    assert_eq!(r.text(), "index\n");
    assert_eq!(
        r.header("set-cookie"),
        Some("seen=yes; path=/; domain=localhost; HttpOnly")
    );
    assert!(has_line(
        &get("/cgi-bin/env.cgi").text(),
        "FROM_REWRITE=yes"
    ));
    // Conditions on the Host header with a %N back-reference.
    let r = get_host(&s, "/x?y=1", "www.Example.test");
    assert_eq!(r.status, 301);
    assert_eq!(
        r.header("location"),
        Some(format!("http://Example.test:{port}/x?y=1").as_str())
    );
    // RewriteCond expr.
    let r = s.request("GET /by-header HTTP/1.1\r\nHost: inherits.test\r\nX-Site: site-hello\r\nConnection: close\r\n\r\n");
    assert_eq!(r.text(), "hello\n");
    assert_eq!(get("/by-header").status, 404);
    assert_eq!(get("/greet?greet").text(), "hello\n");
    assert_eq!(get("/greet?other").status, 404);
    assert_eq!(get("/read-only").status, 404);
    let r = s.request("POST /read-only HTTP/1.1\r\nHost: inherits.test\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    assert_eq!(r.status, 403);
    // The vhost's own rule comes first; the main server's only with Inherit.
    assert_eq!(get("/vhost-own").text(), "hello\n");
    assert_eq!(get_host(&s, "/vhost-own", "plain.test").text(), "index\n");
    assert_eq!(get_host(&s, "/forbidden", "plain.test").status, 404);
}

#[test]
fn proxy_flag_forwards_to_a_backend() {
    let backend = Server::start("");
    backend.write("htdocs/api/item.txt", "from backend\n");
    let bport = backend.port;
    let s = Server::start(&format!(
        "LoadModule rewrite_module x\nLoadModule proxy_module x\nLoadModule proxy_http_module x\nRewriteEngine On\nRewriteRule ^/remote/(.*)$ http://127.0.0.1:{bport}/api/$1 [P]\n"
    ));
    let r = s.get("/remote/item.txt?q=1");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), "from backend\n");
    let log = backend.wait_log("access_log", "/api/item.txt?q=1");
    assert!(
        log.contains("\"GET /api/item.txt?q=1 HTTP/1.1\" 200"),
        "{log}"
    );
    // Without mod_proxy, [P] is refused as Apache does.
    let alone = Server::start(&format!(
        "LoadModule rewrite_module x\nRewriteEngine On\nRewriteRule ^/remote/(.*)$ http://127.0.0.1:{bport}/api/$1 [P]\n"
    ));
    assert_eq!(alone.get("/remote/item.txt").status, 403);
    assert!(alone.wait_log("error_log", "AH00669").contains("AH00669"));
}

#[test]
fn syntax_errors_stop_the_server() {
    let r = Root::new();
    let conf = r.path("conf/httpd.conf");
    for (line, reason) in [
        (
            "RewriteRule ^( /x",
            "RewriteRule: cannot compile regular expression '^('",
        ),
        (
            "RewriteRule ^/a /b [L,BOGUS]",
            "RewriteRule: unknown flag 'BOGUS'",
        ),
        (
            "RewriteCond %{HTTP_HOST} x [XX]",
            "RewriteCond: unknown flag 'XX'",
        ),
        ("RewriteMap m dbm:/x.db", "rhttpd has no dbm maps"),
        (
            "RewriteMap m int:nothing",
            "RewriteMap: internal map not found:nothing",
        ),
        (
            "RewriteOptions Bogus",
            "RewriteOptions: unknown option 'Bogus'",
        ),
        (
            "RewriteBase /x",
            "RewriteBase: only valid in per-directory config files",
        ),
        (
            "RewriteCond expr \"%{HTTP_HOST} =~\"",
            "RewriteCond: cannot compile expression \"%{HTTP_HOST} =~\": syntax error",
        ),
    ] {
        let o = r.check(&format!("{BASE}LoadModule rewrite_module x\n{line}\n"), &[]);
        assert_syntax_error(&o, &conf, 4, reason);
    }
    // Without LoadModule the directives are unknown, as in Apache.
    let o = r.check(&format!("{BASE}RewriteEngine On\n"), &[]);
    assert_eq!(o.status.code(), Some(1));
    // A condition no rule follows is a warning, not silence.
    let o = r.check(
        &format!("{BASE}LoadModule rewrite_module x\nRewriteCond %{{HTTPS}} on\n"),
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("followed by no RewriteRule"),
        "{}",
        stderr(&o)
    );
}
