//! End-to-end tests of mod_setenvif (issue #15 point 4) against the real binary:
//! Debian's stock `BrowserMatch` lines (nokeepalive closes the connection,
//! downgrade-1.0 + force-response-1.0 answer `HTTP/1.0`), SetEnvIf variables with
//! `$1`, `!VAR` and earlier-variable tests reaching a CGI script, `%{VAR}e` and
//! `Header env=`, section rules at the fixups, and `SetEnvIfExpr` expression errors (AH00526).

mod common;
#[path = "support/config.rs"]
mod config_support;
#[path = "support/dynamic.rs"]
mod dynamic_support;

use config_support::{BASE, Root, assert_syntax_error};
use dynamic_support::{EVENT, Mpm, ONE_PROCESS, Site, script, start};

use common::parse_many;

const MODS: &str =
    "LoadModule setenvif_module x\nLoadModule env_module x\nLoadModule headers_module x\n";

/// The lines of Debian's `setenvif.conf`.
const DEBIAN: &str = "BrowserMatch \"Mozilla/2\" nokeepalive\n\
     BrowserMatch \"MSIE [2-5]\" nokeepalive downgrade-1.0 force-response-1.0\n\
     BrowserMatch \"MSIE 7\\.0\" nokeepalive downgrade-1.0 force-response-1.0\n\
     BrowserMatch \"RealPlayer 4\\.0\" force-response-1.0\n\
     BrowserMatch \"Java/1\\.0\" force-response-1.0\n\
     BrowserMatch \"JDK/1\\.0\" force-response-1.0\n\
     BrowserMatch \"Microsoft Data Access Internet Publishing Provider\" redirect-carefully\n\
     BrowserMatch \"^WebDrive\" redirect-carefully\n\
     BrowserMatch \"^WebDAVFS/1.[012]\" redirect-carefully\n\
     BrowserMatch \"^gnome-vfs/1.0\" redirect-carefully\n\
     BrowserMatch \"^XML Spy\" redirect-carefully\n\
     BrowserMatch \"^Dreamweaver-WebDAV-SCM1\" redirect-carefully\n\
     BrowserMatch \" Konqueror/4\" redirect-carefully\n";

fn debian(mpm: Mpm) {
    let site = Site::new();
    std::fs::write(site.p("htdocs/a.txt"), "a").unwrap();
    std::fs::create_dir_all(site.p("htdocs/nka")).unwrap();
    std::fs::write(site.p("htdocs/nka/a.txt"), "a").unwrap();
    let conf = format!(
        "{MODS}{DEBIAN}DocumentRoot \"{docs}\"\nKeepAlive On\nKeepAliveTimeout 30\n\
         <Directory \"{docs}/nka\">\n  SetEnv nokeepalive\n</Directory>\n",
        docs = site.s("htdocs"),
    );
    let s = start(mpm, &conf);
    let two_at = |path: &str, ua: &str, version: &str| {
        let one = format!(
            "GET {path} HTTP/{version}\r\nHost: x\r\nUser-Agent: {ua}\r\nConnection: keep-alive\r\n\r\n"
        );
        let last = format!("GET /a.txt HTTP/{version}\r\nHost: x\r\nConnection: close\r\n\r\n");
        let raw = s.raw(format!("{one}{last}").as_bytes());
        (String::from_utf8_lossy(&raw).into_owned(), parse_many(&raw))
    };
    let two = |ua: &str, version: &str| two_at("/a.txt", ua, version);
    // Without a matching agent both pipelined requests are answered.
    let (_, rs) = two("curl/8", "1.1");
    assert_eq!(rs.len(), 2);
    // nokeepalive: the connection closes after the first response.
    let (raw, rs) = two("Mozilla/2.0 (X11)", "1.1");
    assert_eq!(rs.len(), 1, "{raw}");
    assert!(raw.starts_with("HTTP/1.1 200 "), "{raw}");
    assert_eq!(rs[0].header("connection"), Some("close"), "{raw}");
    // MSIE 7.0: downgraded to 1.0, then force-response-1.0 answers HTTP/1.0.
    let (raw, rs) = two("Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.0)", "1.1");
    assert_eq!(rs.len(), 1, "{raw}");
    assert!(raw.starts_with("HTTP/1.0 200 "), "{raw}");
    // force-response-1.0 alone on an HTTP/1.0 keep-alive request: 1.0 and closed.
    let (raw, rs) = two("Java/1.0", "1.0");
    assert_eq!(rs.len(), 1, "{raw}");
    assert!(raw.starts_with("HTTP/1.0 200 "), "{raw}");
    // mod_env's SetEnv nokeepalive in a section closes too.
    let (raw, rs) = two_at("/nka/a.txt", "curl/8", "1.1");
    assert_eq!(rs.len(), 1, "{raw}");
    // ... but not on an HTTP/1.1 request (Apache's basic_http_header_check).
    let (raw, rs) = two("Java/1.0", "1.1");
    assert_eq!(rs.len(), 2, "{raw}");
    assert!(raw.starts_with("HTTP/1.1 200 "), "{raw}");
}

#[test]
fn debian_browser_match_one_process() {
    debian(ONE_PROCESS);
}

#[test]
fn debian_browser_match_event() {
    debian(EVENT);
}

#[test]
fn setenvif_variables_reach_cgi_log_and_headers() {
    let site = Site::new();
    let env = "#!/bin/sh\necho 'Content-Type: text/plain'\necho\nenv | sort\n";
    script(&site.p("cgi-bin/env.cgi"), env);
    let conf = format!(
        "{MODS}ScriptAlias /cgi-bin/ \"{cgi}/\"\n\
         SetEnvIf User-Agent \"^(\\w+)/([0-9.]+)\" AGENT=$1 AGENT_V=$2 GONE\n\
         SetEnvIfNoCase X-Flag ^YES$ FLAG !GONE\n\
         SetEnvIf AGENT ^tester$ IS_TESTER=yes\n\
         SetEnvIf Remote_Addr ^127\\. LOCAL\n\
         SetEnvIf Request_Method ^GET$ METHOD_GET\n\
         SetEnvIf Request_URI \\.cgi$ CGI_URI\n\
         SetEnvIf Request_Protocol ^HTTP/1\\.1$ PROTO11\n\
         SetEnvIf ^X-Cust \"^v(.)\" CUST=$1\n\
         SetEnvIf X-Missing ^$ MISSING_EMPTY\n\
         Header set X-Tester yes env=IS_TESTER\n\
         LogFormat \"%{{AGENT}}e|%{{FLAG}}e|%{{DIRRULE}}e\" envlog\n\
         CustomLog logs/env_log envlog\n\
         <Directory \"{cgi}\">\n  SetEnvIf IS_TESTER yes DIRRULE=seen-$0\n</Directory>\n",
        cgi = site.s("cgi-bin"),
    );
    let s = start(ONE_PROCESS, &conf);
    let r = s.request(
        "GET /cgi-bin/env.cgi HTTP/1.1\r\nHost: x\r\nUser-Agent: tester/2.5\r\nX-Flag: yes\r\nX-Custom: v9\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let t = r.text();
    let has = |l: &str| t.lines().any(|x| x == l);
    for l in [
        "AGENT=tester",
        "AGENT_V=2.5",
        "FLAG=1",
        "IS_TESTER=yes",
        "LOCAL=1",
        "METHOD_GET=1",
        "CGI_URI=1",
        "PROTO11=1",
        "CUST=9",
        "MISSING_EMPTY=1",
        "DIRRULE=seen-yes",
    ] {
        assert!(has(l), "{l}: {t}");
    }
    assert!(!t.contains("GONE="), "{t}");
    assert_eq!(r.header("x-tester"), Some("yes"));
    let log = s.wait_log("env_log", "tester|1|seen-yes");
    assert!(log.lines().any(|l| l == "tester|1|seen-yes"), "{log}");

    let r = s.request("GET /cgi-bin/env.cgi HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let t = r.text();
    assert!(!t.contains("AGENT="), "{t}");
    assert!(!t.contains("DIRRULE="), "{t}");
    assert_eq!(r.header("x-tester"), None);
}

#[test]
fn setenvif_config_errors() {
    let r = Root::new();
    let f = r.path("conf/httpd.conf");
    let check = |body: &str| r.check(&format!("{BASE}{MODS}{body}"), &[]);
    // BASE is two lines, MODS three: the body starts on line 6.
    let o = check("SetEnvIfExpr \"%{NO_SUCH_VAR} == 'x'\" intranet\n");
    assert_syntax_error(&o, &f, 6, "Could not parse expression");
    let o = check("SetEnvIf User-Agent \"(\" x\n");
    assert_syntax_error(&o, &f, 6, "Regular expression could not be compiled");
    let o = check("\nBrowserMatch\n");
    assert_syntax_error(&o, &f, 7, "BrowserMatch");
    let o = r.check(&format!("{BASE}BrowserMatch x y\n"), &[]);
    assert!(!o.status.success());
}
