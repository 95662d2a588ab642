//! Debian's stock Apache configuration runs unchanged (issue #15): /etc/apache2 as
//! `apt-get install apache2` leaves it (the modules Debian enables: access_compat,
//! auth_basic, authn_core, authn_file, authz_*, autoindex, deflate, dir, env, filter,
//! mime, negotiation, reqtimeout, setenvif, status), copied to a temporary directory with
//! only the Listen port and the paths changed, under each MPM (switched as a2enmod does,
//! by its symlinks), with `a2enmod cgi` done: `-t` says Syntax OK, `/` serves Debian's
//! default page, gzip applies to text/html, `/cgi-bin/` runs a script, and
//! security.conf's settings show (ServerTokens OS, ServerSignature On, TraceEnable Off).
//! The `${APACHE_*}` variables apache2ctl takes from `envvars` are given with `-C Define`.

mod common;

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

use common::{Server, free_port, output};

const ETC: &str = "/etc/apache2";

fn edit(path: &Path, from: &str, to: &str) {
    // Files in *-enabled are symlinks into *-available: edit the target.
    let real = std::fs::canonicalize(path).unwrap();
    let text = std::fs::read_to_string(&real).unwrap();
    assert!(text.contains(from), "{} has no {from:?}", real.display());
    std::fs::remove_file(&real).unwrap();
    std::fs::write(&real, text.replace(from, to)).unwrap();
}

fn enable(root: &Path, module: &str, files: &[&str]) {
    for ext in files {
        let link = root.join(format!("mods-enabled/{module}.{ext}"));
        let _ = std::fs::remove_file(&link);
        symlink(format!("../mods-available/{module}.{ext}"), link).unwrap();
    }
}

/// The copied tree for `mpm` (`event`, `worker`, `prefork`) listening on `port`.
fn debian_tree(mpm: &str, port: u16) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    // www-data (User) must reach the documents and the script.
    std::fs::set_permissions(r, std::fs::Permissions::from_mode(0o755)).unwrap();
    let o = output(common::command("cp").args(["-a", &format!("{ETC}/."), r.to_str().unwrap()]))
        .unwrap();
    assert!(o.status.success(), "cp: {o:?}");
    std::fs::create_dir_all(r.join("conf")).unwrap();
    std::fs::copy(r.join("apache2.conf"), r.join("conf/httpd.conf")).unwrap();
    let www = r.join("www/html");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::copy("/var/www/html/index.html", www.join("index.html")).unwrap();
    std::fs::write(www.join("greeting.html.en"), "hello\n").unwrap();
    std::fs::write(www.join("greeting.html.fr"), "bonjour\n").unwrap();
    std::fs::write(
        www.join("greeting.var"),
        "URI: greeting.html.en\nContent-Type: text/html\nContent-Language: en\n\n\
         URI: greeting.html.fr\nContent-Type: text/html\nContent-Language: fr\n",
    )
    .unwrap();
    for d in ["logs", "run", "lock", "cgi-bin"] {
        std::fs::create_dir_all(r.join(d)).unwrap();
    }
    let root_s = r.display().to_string();
    edit(
        &r.join("ports.conf"),
        "Listen 80\n",
        &format!("Listen 127.0.0.1:{port}\n"),
    );
    edit(
        &r.join("conf/httpd.conf"),
        "<Directory /var/www/>",
        &format!("<Directory {root_s}/www/>"),
    );
    let site = r.join("sites-enabled/000-default.conf");
    edit(
        &site,
        "<VirtualHost *:80>",
        &format!("<VirtualHost *:{port}>"),
    );
    edit(
        &site,
        "DocumentRoot /var/www/html",
        &format!("DocumentRoot {root_s}/www/html"),
    );
    edit(
        &r.join("conf-enabled/serve-cgi-bin.conf"),
        "/usr/lib/cgi-bin",
        &format!("{root_s}/cgi-bin"),
    );
    let script = r.join("cgi-bin/hello");
    std::fs::write(
        &script,
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nhello from cgi\\n'\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    // a2dismod mpm_*; a2enmod mpm_MPM; a2enmod cgi (cgid under a threaded MPM). Modules
    // this machine enabled beyond Debian's stock set are disabled too: libapache2-mod-php
    // (pulled in by another package) switches the MPM to prefork and loads libphp, which
    // rhttpd does not embed (PHP runs behind PHP-FPM, docs/differences.md).
    for entry in std::fs::read_dir(r.join("mods-enabled")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.starts_with("mpm_") || name.starts_with("php") {
            std::fs::remove_file(r.join("mods-enabled").join(name)).unwrap();
        }
    }
    enable(r, &format!("mpm_{mpm}"), &["load", "conf"]);
    if mpm == "prefork" {
        enable(r, "cgi", &["load"]);
    } else {
        enable(r, "cgid", &["load", "conf"]);
    }
    root
}

fn defines(root: &Path) -> Vec<String> {
    let user = if common::proc_uids(std::process::id() as i32).is_some_and(|(u, _)| u == 0) {
        "www-data"
    } else {
        "nobody"
    };
    let r = root.display();
    [
        format!("Define APACHE_RUN_USER {user}"),
        format!(
            "Define APACHE_RUN_GROUP {}",
            if user == "nobody" { "nogroup" } else { user }
        ),
        format!("Define APACHE_PID_FILE {r}/run/apache2.pid"),
        format!("Define APACHE_RUN_DIR {r}/run"),
        format!("Define APACHE_LOCK_DIR {r}/lock"),
        format!("Define APACHE_LOG_DIR {r}/logs"),
    ]
    .into_iter()
    .flat_map(|d| ["-C".to_string(), d])
    .collect()
}

fn stock_config_runs(mpm: &str) {
    if !Path::new(ETC).join("apache2.conf").exists()
        || !Path::new("/var/www/html/index.html").exists()
    {
        eprintln!("apache2 is not installed (scripts/test.sh installs it): skipped");
        return;
    }
    let port = free_port();
    let root = debian_tree(mpm, port);
    let defs = defines(root.path());
    let mut check: Vec<&str> = vec!["-t"];
    check.extend(defs.iter().map(String::as_str));
    let conf = root.path().join("conf/httpd.conf");
    let mut args = vec![
        "-d",
        root.path().to_str().unwrap(),
        "-f",
        conf.to_str().unwrap(),
    ];
    args.extend(check);
    let o = common::run(&args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success() && err.contains("Syntax OK"),
        "{mpm}: -t: {err}"
    );
    // No DocumentRoot warning for the built-in default Debian never names; mod_negotiation's
    // directives take effect (no warning).
    assert!(!err.contains("AH00112"), "{err}");
    assert!(!err.contains("LanguagePriority"), "{err}");
    let mut run: Vec<&str> = vec!["-D", "FOREGROUND"];
    run.extend(defs.iter().map(String::as_str));
    let s = Server::launch(root, port, &run);
    let r = s.request("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    assert_eq!(r.status, 200, "{mpm}");
    assert!(r.text().contains("Apache2 Debian Default Page"), "{mpm}");
    // security.conf: ServerTokens OS.
    assert!(
        r.header("server")
            .is_some_and(|v| v.starts_with("rhttpd/") && v.contains('('))
    );
    // deflate.conf: text/html is gzipped for a client that takes it.
    let r = s.request(
        "GET / HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(r.header("content-encoding"), Some("gzip"), "{mpm}");
    assert_eq!(r.header("vary"), Some("Accept-Encoding"), "{mpm}");
    // negotiation.conf and mime.conf: a type map (AddHandler type-map var) chooses by
    // Accept-Language and AddLanguage, ForceLanguagePriority Fallback serves
    // LanguagePriority's first (en) when nothing is acceptable.
    for (lang, want) in [
        ("fr", "bonjour"),
        ("it", "hello"),
        ("de;q=0.5, fr", "bonjour"),
    ] {
        let r = s.request(&format!(
            "GET /greeting.var HTTP/1.1\r\nHost: localhost\r\nAccept-Language: {lang}\r\nConnection: close\r\n\r\n"
        ));
        assert_eq!((r.status, r.text().trim()), (200, want), "{mpm} {lang}");
        assert_eq!(
            r.header("vary"),
            Some("negotiate,accept-language,Accept-Encoding"),
            "{mpm}"
        );
    }
    // serve-cgi-bin.conf with cgi (prefork) or cgid enabled.
    let r =
        s.request("GET /cgi-bin/hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    assert_eq!(
        (r.status, r.text().as_str()),
        (200, "hello from cgi\n"),
        "{mpm}"
    );
    // TraceEnable Off; ServerSignature On on error pages.
    let r = s.request("TRACE / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    assert_eq!(r.status, 405, "{mpm}");
    let r = s.request("GET /missing HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    assert_eq!(r.status, 404);
    assert!(
        r.text().contains(&format!("Port {port}</address>")),
        "{}",
        r.text()
    );
    // mod_status from status.conf, for local clients.
    let r = s.request(
        "GET /server-status?auto HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    );
    assert!(
        r.text().contains(&format!("ServerMPM: {mpm}")),
        "{}",
        r.text()
    );
}

#[test]
fn debian_stock_config_event() {
    stock_config_runs("event");
}

#[test]
fn debian_stock_config_worker() {
    stock_config_runs("worker");
}

#[test]
fn debian_stock_config_prefork() {
    stock_config_runs("prefork");
}

/// `a2enmod proxy_http proxy_fcgi proxy_balancer lbmethod_byrequests` (their Depends:
/// proxy, slotmem_shm) and `a2enconf php*-fpm` on the stock tree: status.conf's
/// `ProxyStatus On` (inside `<IfModule mod_proxy.c>`) and PHP-FPM's conf file are taken,
/// a balancer declared in the site shows on the status page.
#[test]
fn debian_config_with_proxy_modules_and_php_fpm() {
    if !Path::new(ETC).join("apache2.conf").exists()
        || !Path::new("/var/www/html/index.html").exists()
    {
        eprintln!("apache2 is not installed (scripts/test.sh installs it): skipped");
        return;
    }
    let port = free_port();
    let root = debian_tree("event", port);
    let r = root.path();
    for m in [
        "proxy",
        "proxy_http",
        "proxy_fcgi",
        "proxy_balancer",
        "slotmem_shm",
        "lbmethod_byrequests",
    ] {
        let files: Vec<&str> = ["load", "conf"]
            .into_iter()
            .filter(|e| r.join(format!("mods-available/{m}.{e}")).exists())
            .collect();
        enable(r, m, &files);
    }
    // php-fpm's conf (SetHandler "proxy:unix:/run/php/phpX-fpm.sock|fcgi://localhost").
    let fpm_conf = std::fs::read_dir(r.join("conf-available"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .find(|n| n.starts_with("php") && n.ends_with("-fpm.conf"));
    if let Some(name) = &fpm_conf {
        symlink(
            format!("../conf-available/{name}"),
            r.join(format!("conf-enabled/{name}")),
        )
        .unwrap();
    }
    edit(
        &r.join("sites-enabled/000-default.conf"),
        "</VirtualHost>",
        "<Proxy balancer://app>\nBalancerMember http://127.0.0.1:9 route=one\n</Proxy>\nProxyPass /app/ balancer://app/\n</VirtualHost>",
    );
    let defs = defines(r);
    let conf = r.join("conf/httpd.conf");
    let mut args = vec![
        "-d",
        r.to_str().unwrap(),
        "-f",
        conf.to_str().unwrap(),
        "-t",
    ];
    args.extend(defs.iter().map(String::as_str));
    let o = common::run(&args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success() && err.contains("Syntax OK"),
        "-t ({fpm_conf:?}): {err}"
    );
    let mut run: Vec<&str> = vec!["-D", "FOREGROUND"];
    run.extend(defs.iter().map(String::as_str));
    let s = Server::launch(root, port, &run);
    let r = s.request("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    assert_eq!(r.status, 200);
    // status.conf's ProxyStatus On: the site's balancer and its member.
    let r =
        s.request("GET /server-status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    let page = r.text();
    assert!(
        page.contains("<h1>Proxy LoadBalancer Status for balancer://app</h1>"),
        "{page}"
    );
    assert!(page.contains("<td>http</td><td>127.0.0.1</td>"), "{page}");
}
