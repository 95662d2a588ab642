//! WordPress with pretty permalinks (issue #14): Debian's `wordpress` package on a real
//! MariaDB server and PHP-FPM, served by rhttpd with `AllowOverride All` and WordPress's
//! own `.htaccess`, through the web installer, a login, a post made through the REST
//! API, the permalink settings page, the post's `/2026/12/01/hello/` URL, the admin area
//! and static assets — and the same visit against Apache httpd on the same
//! configuration, which must give the same statuses. Skipped, with the reason printed,
//! only where a package is not installed (scripts/test.sh installs them).

mod common;
#[path = "support/wordpress.rs"]
mod wordpress;

use std::path::Path;

use wordpress::{APACHE, EVENT, PREFORK, Running, Stack, missing, visit};

fn skip() -> bool {
    match missing() {
        Some(why) => {
            eprintln!("skipped: {why}");
            true
        }
        None => false,
    }
}

fn serve(stack: &Stack, program: &str, name: &str, mpm: &str) -> Running {
    let port = common::free_port();
    let conf = stack.path(&format!("{name}.conf"));
    std::fs::write(&conf, stack.config(port, name, mpm)).unwrap();
    Running::start(program, &conf, port)
}

#[test]
fn wordpress_under_rhttpd_event_matches_apache() {
    if skip() {
        return;
    }
    let stack = Stack::start();
    // rhttpd first: it sees the operator's .htaccess (WordPress under Apache rewrites
    // the file itself, with the same rules).
    let rhttpd = serve(&stack, common::BIN, "rhttpd", EVENT);
    let ours = visit(rhttpd.port);
    drop(rhttpd);
    if !Path::new(APACHE).exists() {
        eprintln!("Apache httpd is not installed: the reference run is skipped");
        return;
    }
    let apache = serve(&stack, APACHE, "apache", EVENT);
    let theirs = visit(apache.port);
    assert_eq!(ours, theirs, "rhttpd (left) and Apache (right) differ");
    // What the statuses are, so that "the same" is not "the same failure".
    let status = |step: &str| ours.iter().find(|(s, _)| *s == step).unwrap().1;
    assert_eq!(status("GET /2026/12/01/hello/"), 200);
    assert_eq!(status("GET /2026/12/01/no-such-post/"), 404);
    assert_eq!(status("GET /wp-admin/ (logged in)"), 200);
    assert_eq!(status("POST /wp-json/wp/v2/posts"), 201);
    assert_eq!(status("GET /wp-includes/css/dashicons.min.css"), 200);
}

#[test]
fn wordpress_under_rhttpd_prefork() {
    if skip() {
        return;
    }
    let stack = Stack::start();
    let rhttpd = serve(&stack, common::BIN, "rhttpd", PREFORK);
    let steps = visit(rhttpd.port);
    for (step, status) in &steps {
        assert!(*status < 500, "{step}: {status}");
    }
}
