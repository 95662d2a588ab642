//! End-to-end tests of issue #14 points 4 and 5: mod_alias's regex forms (`AliasMatch`,
//! `ScriptAliasMatch`, `RedirectMatch` with `$N`, a status and `gone`),
//! `RedirectPermanent`/`RedirectTemp`, the one-argument `Alias` in `<Location>`,
//! mod_dir's `FallbackResource` (CGI and static targets, `disabled`) and URL entries in
//! `DirectoryIndex`, `<Limit>`/`<LimitExcept>` around `Require` and mod_access_compat,
//! and the configuration errors with Apache's wording.

mod common;
#[path = "support/config.rs"]
mod config_support;
#[path = "support/dynamic.rs"]
mod dynamic_support;

use config_support::{BASE, Root, assert_syntax_error};
use dynamic_support::{EVENT, ONE_PROCESS, Site, script, start};

use common::{Server, have, output};

fn send(s: &Server, method: &str, path: &str, extra: &str, body: &str) -> common::Resp {
    s.request(&format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ))
}

fn get(s: &Server, path: &str) -> common::Resp {
    send(s, "GET", path, "", "")
}

const ENV_CGI: &str = "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\n\
     echo \"uri=$REQUEST_URI script=$SCRIPT_NAME info=$PATH_INFO query=$QUERY_STRING method=$REQUEST_METHOD\"\n\
     cat\n";

#[test]
fn regex_aliases_and_redirects() {
    let site = Site::new();
    let w = |rel: &str, text: &str| {
        let p = site.p(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    w("images/7/cat.png", "a cat\n");
    w("one.txt", "the one\n");
    w("htdocs/sub/page.txt", "sub\n");
    script(&site.p("cgi-bin/env.cgi"), ENV_CGI);
    let conf = format!(
        "DocumentRoot \"{docs}\"\n\
         AliasMatch ^/img/([a-z]+)-([0-9]+)\\.png$ \"{root}/images/$2/$1.png\"\n\
         ScriptAliasMatch ^/run/([a-z]+)(.*) \"{root}/cgi-bin/$1.cgi$2\"\n\
         RedirectMatch ^/img/dog-1\\.png$ /moved-dog\n\
         RedirectMatch 301 ^/old/(.*)\\.html$ http://example.org/new/$1\n\
         RedirectMatch gone ^/removed/\n\
         RedirectMatch 403 ^/forbidden\n\
         RedirectMatch ^/rel/(.*) /target/$1\n\
         RedirectPermanent /perm http://example.org/p\n\
         RedirectTemp /temp /t\n\
         Redirect /first http://example.org/first-prefix\n\
         RedirectMatch ^/first http://example.org/never\n\
         <Location /one>\n  Alias \"{root}/one.txt\"\n</Location>\n\
         <Directory \"{docs}/sub\">\n  RedirectMatch 303 ^/sub/(.*)\\.php$ /php/$1\n</Directory>\n",
        docs = site.s("htdocs"),
        root = site.s(""),
    );
    let s = start(ONE_PROCESS, &conf);

    // AliasMatch: the whole URL replaced, $N substituted.
    let r = get(&s, "/img/cat-7.png");
    assert_eq!((r.status, r.text().as_str()), (200, "a cat\n"));
    assert_eq!(get(&s, "/img/cat-8.png").status, 404);
    assert_eq!(
        get(&s, "/img/cat-x.png").status,
        404,
        "no match: DocumentRoot"
    );
    // Redirect* before Alias*, whatever the configuration order.
    let r = get(&s, "/img/dog-1.png");
    assert_eq!(r.status, 302);
    assert!(r.header("location").unwrap().ends_with("/moved-dog"));

    // ScriptAliasMatch: a CGI without ExecCGI, path info after the script.
    let r = get(&s, "/run/env/extra/x?q=1");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.text(),
        "uri=/run/env/extra/x?q=1 script=/run/env info=/extra/x query=q=1 method=GET\n"
    );

    // RedirectMatch with a status, $N, escaping and the query.
    let r = get(&s, "/old/a/b%20c.html?x=1");
    assert_eq!(r.status, 301);
    assert_eq!(
        r.header("location"),
        Some("http://example.org/new/a/b%20c?x=1")
    );
    assert_eq!(get(&s, "/removed/thing").status, 410);
    assert_eq!(get(&s, "/forbidden/x").status, 403);
    let r = get(&s, "/rel/z");
    assert_eq!(r.status, 302);
    let loc = r.header("location").unwrap();
    assert!(
        loc.starts_with("http://") && loc.ends_with("/target/z"),
        "{loc}"
    );
    // RedirectPermanent / RedirectTemp.
    let r = get(&s, "/perm/a");
    assert_eq!(
        (r.status, r.header("location")),
        (301, Some("http://example.org/p/a"))
    );
    let r = get(&s, "/temp/b");
    assert_eq!(r.status, 302);
    assert!(r.header("location").unwrap().ends_with("/t/b"));
    // First match in configuration order wins.
    let r = get(&s, "/first/x");
    assert_eq!(
        r.header("location"),
        Some("http://example.org/first-prefix/x")
    );
    // One-argument Alias in <Location>: every URL below maps to that one file.
    for p in ["/one", "/one/deeper/x"] {
        let r = get(&s, p);
        assert_eq!((r.status, r.text().as_str()), (200, "the one\n"), "{p}");
    }
    // RedirectMatch inside <Directory> (mod_alias's fixup).
    let r = get(&s, "/sub/a.php");
    assert_eq!(r.status, 303);
    assert!(r.header("location").unwrap().ends_with("/php/a"));
    assert_eq!(get(&s, "/sub/page.txt").status, 200);
}

#[test]
fn fallback_resource_and_url_directory_index() {
    let site = Site::new();
    let docs = site.p("htdocs");
    for d in ["static", "off", "has", "noindex", "idx"] {
        std::fs::create_dir_all(docs.join(d)).unwrap();
    }
    std::fs::write(docs.join("fallback.txt"), "fallback\n").unwrap();
    std::fs::write(docs.join("has/index.html"), "has index\n").unwrap();
    script(&site.p("cgi-bin/front.cgi"), ENV_CGI);
    let conf = format!(
        "DocumentRoot \"{docs}\"\nScriptAlias /cgi-bin/ \"{cgi}/\"\n\
         FallbackResource /cgi-bin/front.cgi\n\
         DirectoryIndex index.html /cgi-bin/front.cgi\n\
         <Directory \"{docs}/static\">\n  FallbackResource /fallback.txt\n</Directory>\n\
         <Directory \"{docs}/off\">\n  FallbackResource disabled\n</Directory>\n\
         <Location /idx>\n  DirectoryIndex /fallback.txt\n</Location>\n",
        docs = site.s("htdocs"),
        cgi = site.s("cgi-bin"),
    );
    // The event MPM: static targets are served on its listener, CGI ones hand over.
    let s = start(EVENT, &conf);

    // A front controller: the original REQUEST_URI, the query, the method and body.
    let r = get(&s, "/2026/12/01/hello/?p=1");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.text(),
        "uri=/2026/12/01/hello/?p=1 script=/cgi-bin/front.cgi info= query=p=1 method=GET\n"
    );
    let r = send(&s, "POST", "/wp/form", "", "a=1&b=2");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.text(),
        "uri=/wp/form script=/cgi-bin/front.cgi info= query= method=POST\na=1&b=2"
    );
    // A static fallback, per directory.
    let r = get(&s, "/static/missing.css");
    assert_eq!((r.status, r.text().as_str()), (200, "fallback\n"));
    // `disabled`: the real 404 (and its log line).
    assert_eq!(get(&s, "/off/missing").status, 404);
    s.wait_log("error_log", "AH00128: File does not exist");
    // Path info below an existing file is not "nothing there".
    assert_eq!(get(&s, "/fallback.txt/x").status, 404);
    // DirectoryIndex: a file of the directory first, then the URL entry.
    let r = get(&s, "/has/");
    assert_eq!((r.status, r.text().as_str()), (200, "has index\n"));
    let r = get(&s, "/noindex/?q=2");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.text(),
        "uri=/noindex/?q=2 script=/cgi-bin/front.cgi info= query=q=2 method=GET\n"
    );
    let r = get(&s, "/idx/");
    assert_eq!((r.status, r.text().as_str()), (200, "fallback\n"));
}

fn b64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn limit_and_limit_except() {
    let site = Site::new();
    let docs = site.p("htdocs");
    for d in ["writers", "getonly", "compat"] {
        std::fs::create_dir_all(docs.join(d)).unwrap();
        std::fs::write(docs.join(d).join("x.txt"), "x\n").unwrap();
    }
    let pw = site.p("passwords");
    let have_htpasswd = have("htpasswd");
    if have_htpasswd {
        let o = output(common::command("htpasswd").args([
            "-b",
            "-c",
            "-B",
            pw.to_str().unwrap(),
            "alice",
            "secret",
        ]))
        .unwrap();
        assert!(o.status.success(), "{o:?}");
    } else {
        eprintln!("htpasswd missing (apache2-utils): only the 401 half is checked");
        std::fs::write(&pw, "").unwrap();
    }
    let conf = format!(
        "LoadModule authn_core_module x\nLoadModule auth_basic_module x\n\
         LoadModule authn_file_module x\nLoadModule authz_user_module x\n\
         LoadModule access_compat_module x\n\
         DocumentRoot \"{docs}\"\n\
         <Directory \"{docs}/writers\">\n  AuthType Basic\n  AuthName Writers\n\
           AuthUserFile \"{pw}\"\n  <Limit POST PUT>\n    Require valid-user\n  </Limit>\n</Directory>\n\
         <Directory \"{docs}/getonly\">\n  <Limit GET>\n    Require all granted\n  </Limit>\n\
           <LimitExcept GET>\n    Require all denied\n  </LimitExcept>\n</Directory>\n\
         <Directory \"{docs}/compat\">\n  <Limit POST>\n    Order deny,allow\n    Deny from all\n  </Limit>\n</Directory>\n",
        docs = site.s("htdocs"),
        pw = pw.display(),
    );
    let s = start(ONE_PROCESS, &conf);

    // <Limit POST PUT> Require valid-user: GET open, POST and PUT ask for a user.
    assert_eq!(get(&s, "/writers/x.txt").status, 200);
    let r = send(&s, "POST", "/writers/x.txt", "", "a=1");
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Basic realm=\"Writers\"")
    );
    assert_eq!(send(&s, "PUT", "/writers/x.txt", "", "a=1").status, 401);
    if have_htpasswd {
        let auth = format!("Authorization: Basic {}\r\n", b64(b"alice:secret"));
        assert_eq!(send(&s, "POST", "/writers/x.txt", &auth, "a=1").status, 200);
        let bad = format!("Authorization: Basic {}\r\n", b64(b"alice:wrong"));
        assert_eq!(send(&s, "POST", "/writers/x.txt", &bad, "a=1").status, 401);
    }
    // <LimitExcept GET> Require all denied: GET (and HEAD) only.
    assert_eq!(get(&s, "/getonly/x.txt").status, 200);
    for m in ["POST", "DELETE", "OPTIONS", "PROPFIND"] {
        assert_eq!(send(&s, m, "/getonly/x.txt", "", "").status, 403, "{m}");
    }
    s.wait_log(
        "error_log",
        "AH01630: client denied by server configuration",
    );
    // mod_access_compat inside <Limit POST>.
    assert_eq!(get(&s, "/compat/x.txt").status, 200);
    assert_eq!(send(&s, "POST", "/compat/x.txt", "", "").status, 403);
    s.wait_log(
        "error_log",
        "AH01797: client denied by server configuration",
    );
}

#[test]
fn configuration_errors() {
    let r = Root::new();
    let f = r.path("conf/httpd.conf");
    // BASE is two lines: the body starts on line 3.
    let check = |body: &str| r.check(&format!("{BASE}{body}"), &[]);
    let cases: &[(&str, usize, &str)] = &[
        (
            "AliasMatch ^/(x /tmp\n",
            3,
            "Regular expression could not be compiled.",
        ),
        (
            "\nRedirectMatch 301 ^/[a /b\n",
            4,
            "Regular expression could not be compiled.",
        ),
        (
            "RedirectMatch seeother ^/x\n",
            3,
            "URL to redirect to is missing",
        ),
        (
            "RedirectMatch gone ^/x http://h/\n",
            3,
            "Redirect URL not valid for this status",
        ),
        ("Redirect /a elsewhere\n", 3, "Redirect to non-URL"),
        (
            "Alias /x\n",
            3,
            "Alias must have two arguments when used globally",
        ),
        (
            "<Location /x>\nAlias /a /b\n</Location>\n",
            4,
            "Alias cannot occur within <Location> section",
        ),
        (
            "<Directory /x>\nScriptAlias /b\n</Directory>\n",
            4,
            "ScriptAlias cannot occur within <Directory> section",
        ),
        (
            "<Directory /x>\nAliasMatch ^/ /x\n</Directory>\n",
            4,
            "AliasMatch not allowed here",
        ),
        (
            "<Limit GET>\nRequire all denied\n</Limit>\n",
            3,
            "<Limit not allowed here",
        ),
        (
            "<Directory /x>\n<Limit TRACE>\nRequire all denied\n</Limit>\n</Directory>\n",
            4,
            "TRACE cannot be controlled by <Limit>, see TraceEnable",
        ),
        (
            "<Directory /x>\n<Limit GET>\n<Limit POST>\n</Limit>\n</Limit>\n</Directory>\n",
            5,
            "<Limit> directive excludes all methods",
        ),
        (
            "<Directory /x>\n<LimitExcept GET>\nAllowOverride None\n</LimitExcept>\n</Directory>\n",
            5,
            "AllowOverride cannot occur within <Limit> or <LimitExcept> section",
        ),
    ];
    for (body, line, reason) in cases {
        assert_syntax_error(&check(body), &f, *line, reason);
    }
    // What is accepted: every form at its levels, <Limit> in <Location> and <Files>.
    let o = check(
        "AliasMatch ^/a(.*) /tmp/$1\nScriptAliasMatch ^/s(.*) /tmp/$1\n\
         RedirectMatch ^/r(.*) /x$1\nFallbackResource /index.php\n\
         <VirtualHost 127.0.0.1:1>\n  RedirectMatch permanent ^/v http://h/\n  FallbackResource disabled\n</VirtualHost>\n\
         <Location /l>\n  Alias /tmp\n  RedirectTemp /l/t /u\n  <LimitExcept GET POST OPTIONS>\n    Require all denied\n  </LimitExcept>\n</Location>\n\
         <Files x.txt>\n  <Limit GET POST OPTIONS>\n    Require all granted\n  </Limit>\n  RedirectPermanent /f http://h/\n</Files>\n",
    );
    config_support::assert_ok(&o);
}
