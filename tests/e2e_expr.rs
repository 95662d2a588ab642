//! End-to-end tests of ap_expr where the configuration uses it (issue #14 point 3):
//! `Require expr`, `Require env`, `SetEnvIfExpr` (with its regex groups), `Header ... expr=` values and
//! conditions, `<If>`/`<ElseIf>`/`<Else>` in the server configuration. The `.htaccess`
//! forms are in e2e_htaccess.rs, `RewriteCond expr` in e2e_rewrite.rs, `CustomLog expr=`
//! in e2e_logs.rs and `ErrorDocument` expressions in e2e_config_directives.rs.

mod common;

use common::*;

const MODS: &str = "LoadModule setenvif_module x\nLoadModule headers_module x\n";

fn with_headers(s: &Server, path: &str, headers: &str) -> Resp {
    s.request(&format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\n{headers}Connection: close\r\n\r\n"
    ))
}

#[test]
fn require_expr_grants_and_denies() {
    let s = Server::start(&format!(
        "{MODS}<Directory htdocs/token>\n  Require expr \"%{{HTTP:X-Token}} == 'secret'\"\n</Directory>\n\
         <Directory htdocs/lan>\n  Require expr \"-R '10.0.0.0/8'\"\n</Directory>\n\
         <Directory htdocs/either>\n  <RequireAny>\n    Require expr \"%{{QUERY_STRING}} =~ /^key=[0-9]+$/\"\n    Require ip 192.0.2.1\n  </RequireAny>\n</Directory>\n"
    ));
    for d in ["token", "lan", "either"] {
        s.write(&format!("htdocs/{d}/a.txt"), d);
    }
    assert_eq!(s.get("/token/a.txt").status, 403);
    assert_eq!(
        with_headers(&s, "/token/a.txt", "X-Token: wrong\r\n").status,
        403
    );
    let r = with_headers(&s, "/token/a.txt", "X-Token: secret\r\n");
    assert_eq!((r.status, r.text().as_str()), (200, "token"));
    // The client is 127.0.0.1, not in 10/8.
    assert_eq!(s.get("/lan/a.txt").status, 403);
    assert_eq!(s.get("/either/a.txt?key=12").status, 200);
    assert_eq!(s.get("/either/a.txt?key=x").status, 403);
    assert!(s.wait_log("error_log", "AH01630").contains("AH01630"));
}

#[test]
fn setenvifexpr_and_header_expressions() {
    let s = Server::start(&format!(
        "{MODS}SetEnvIfExpr \"%{{HTTP_USER_AGENT}} =~ /(\\w+)bot/\" crawler=$1\n\
         SetEnvIfExpr \"%{{REQUEST_URI}} -strmatch '/private/*'\" private\n\
         Header set X-Crawler %{{crawler}}e env=crawler\n\
         Header set X-Private yes env=private\n\
         Header set X-Client \"expr=%{{REMOTE_ADDR}}\"\n\
         Header set X-Txt yes \"expr=%{{REQUEST_URI}} =~ m#\\.txt$#\"\n\
         Header set X-Upper \"expr=%{{toupper:%{{QUERY_STRING}}}}\"\n"
    ));
    s.write("htdocs/a.txt", "a");
    s.write("htdocs/private/b.html", "b");
    let r = with_headers(&s, "/a.txt?abc", "User-Agent: Googlebot/2.1\r\n");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-crawler"), Some("Google"));
    assert_eq!(r.header("x-private"), None);
    assert_eq!(r.header("x-client"), Some("127.0.0.1"));
    assert_eq!(r.header("x-txt"), Some("yes"));
    assert_eq!(r.header("x-upper"), Some("ABC"));
    let r = with_headers(&s, "/private/b.html", "User-Agent: curl/8\r\n");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-crawler"), None);
    assert_eq!(r.header("x-private"), Some("yes"));
    assert_eq!(r.header("x-txt"), None);
}

#[test]
fn if_elseif_else_in_the_server_configuration() {
    let s = Server::start(&format!(
        "{MODS}<If \"%{{QUERY_STRING}} == 'a'\">\n  Header set X-Branch a\n</If>\n\
         <ElseIf \"%{{QUERY_STRING}} in {{'b', 'c'}}\">\n  Header set X-Branch b-or-c\n</ElseIf>\n\
         <Else>\n  Header set X-Branch other\n</Else>\n\
         <Directory htdocs/gated>\n  <If \"%{{HTTP:X-Open}} != 'yes'\">\n    Require all denied\n  </If>\n</Directory>\n"
    ));
    s.write("htdocs/x.txt", "x");
    s.write("htdocs/gated/y.txt", "y");
    let branch = |q: &str| {
        s.get(&format!("/x.txt?{q}"))
            .header("x-branch")
            .map(str::to_string)
    };
    assert_eq!(branch("a").as_deref(), Some("a"));
    assert_eq!(branch("c").as_deref(), Some("b-or-c"));
    assert_eq!(branch("zzz").as_deref(), Some("other"));
    assert_eq!(s.get("/gated/y.txt").status, 403);
    let r = with_headers(&s, "/gated/y.txt", "X-Open: yes\r\n");
    assert_eq!((r.status, r.text().as_str()), (200, "y"));
}

#[test]
fn require_env_reads_the_request_variables() {
    let s = Server::start(&format!(
        "{MODS}SetEnvIf User-Agent ^trusted let_in\n\
         <Directory htdocs/gate>\n  Require env let_in other_var\n</Directory>\n"
    ));
    s.write("htdocs/gate/a.txt", "in");
    let r = with_headers(&s, "/gate/a.txt", "User-Agent: trusted-client/1\r\n");
    assert_eq!((r.status, r.text().as_str()), (200, "in"));
    assert_eq!(
        with_headers(&s, "/gate/a.txt", "User-Agent: curl/8\r\n").status,
        403
    );
}
