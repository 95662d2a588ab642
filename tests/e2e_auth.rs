//! End-to-end tests of authentication (issue #15 point 4): mod_auth_basic with
//! mod_authn_file against password files made by the real `htpasswd` (bcrypt, APR1-MD5,
//! SHA-1, crypt, SHA-256/512), `Require user`/`valid-user`/`group` (mod_authz_user,
//! mod_authz_groupfile), `<RequireAny>` with an address, `AuthMerging`,
//! `AuthzSendForbiddenOnFailure`, `<AuthnProviderAlias>`, `REMOTE_USER`/`AUTH_TYPE` to
//! CGI and `%u` in the access log, Apache's error-log lines, and configuration errors.

mod common;
#[path = "support/config.rs"]
mod config_support;
#[path = "support/dynamic.rs"]
mod dynamic_support;

use config_support::{BASE, Root, assert_syntax_error};
use dynamic_support::{EVENT, Mpm, PREFORK, Site, WORKER, script, start};

use common::{have, output};

const AUTH: &str = "LoadModule authn_core_module x\nLoadModule auth_basic_module x\n\
                    LoadModule authn_file_module x\nLoadModule authz_user_module x\n\
                    LoadModule authz_groupfile_module x\n";

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

/// `htpasswd -b FLAG FILE USER PASSWORD` (creating the file first with `-c`).
fn htpasswd(file: &std::path::Path, flag: &str, user: &str, password: &str) {
    let mut args = vec!["-b"];
    if !file.exists() {
        args.push("-c");
    }
    if !flag.is_empty() {
        args.push(flag);
    }
    let f = file.display().to_string();
    args.extend([f.as_str(), user, password]);
    let o = output(common::command("htpasswd").args(&args)).expect("htpasswd");
    assert!(o.status.success(), "htpasswd {args:?}: {o:?}");
}

fn get(s: &common::Server, path: &str, creds: Option<(&str, &str)>) -> common::Resp {
    let auth = creds
        .map(|(u, p)| {
            format!(
                "Authorization: Basic {}\r\n",
                b64(format!("{u}:{p}").as_bytes())
            )
        })
        .unwrap_or_default();
    s.request(&format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Connection: close\r\n\r\n"
    ))
}

/// A site with `/private/` behind Basic authentication for `users` (made by htpasswd
/// with `flag`), a group file, and a CGI script that prints REMOTE_USER.
fn site(users: &[(&str, &str, &str)], require: &str, extra: &str) -> (Site, String) {
    let site = Site::new();
    let pw = site.p("passwords");
    for (flag, u, p) in users {
        htpasswd(&pw, flag, u, p);
    }
    std::fs::write(site.p("groups"), "staff: alice carol\nadmins: dave\n").unwrap();
    std::fs::create_dir_all(site.p("htdocs/private")).unwrap();
    std::fs::write(site.p("htdocs/private/x.txt"), "secret\n").unwrap();
    std::fs::write(site.p("htdocs/open.txt"), "open\n").unwrap();
    script(
        &site.p("cgi-bin/who.cgi"),
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\n\
         echo \"user=$REMOTE_USER type=$AUTH_TYPE auth=$HTTP_AUTHORIZATION\"\n",
    );
    let conf = format!(
        "{AUTH}DocumentRoot \"{docs}\"\nScriptAlias /cgi-bin/ \"{cgi}/\"\n\
         <Directory \"{docs}/private\">\n  AuthType Basic\n  AuthName \"Members Only\"\n\
           AuthUserFile \"{pw}\"\n  AuthGroupFile \"{groups}\"\n  {require}\n</Directory>\n\
         <Directory \"{cgi}\">\n  AuthType Basic\n  AuthName cgi\n  AuthUserFile \"{pw}\"\n\
           Require valid-user\n</Directory>\n{extra}",
        docs = site.s("htdocs"),
        cgi = site.s("cgi-bin"),
        pw = pw.display(),
        groups = site.s("groups"),
    );
    (site, conf)
}

fn passwords_from_htpasswd(mpm: Mpm) {
    if !have("htpasswd") {
        eprintln!("htpasswd missing (apache2-utils; scripts/test.sh installs it): skipped");
        return;
    }
    let users = [
        ("-B", "bcrypt", "pw-bcrypt"),
        ("-m", "apr1", "pw-apr1"),
        ("-s", "sha1", "pw-sha1"),
        ("-d", "crypt", "pwcrypt"),
        ("-2", "sha256", "pw-sha256"),
        ("-5", "sha512", "pw-sha512"),
    ];
    let (_site, conf) = site(&users, "Require valid-user", "");
    let s = start(mpm, &conf);
    for (flag, u, p) in users {
        let r = get(&s, "/private/x.txt", Some((u, p)));
        assert_eq!(r.status, 200, "htpasswd {flag}: {} {}", r.status, r.text());
        assert_eq!(r.text(), "secret\n");
        let r = get(&s, "/private/x.txt", Some((u, "wrong")));
        assert_eq!(r.status, 401, "htpasswd {flag} with a wrong password");
    }
    // No credentials: the challenge names the realm.
    let r = get(&s, "/private/x.txt", None);
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Basic realm=\"Members Only\"")
    );
    // Outside the section nothing is asked.
    assert_eq!(get(&s, "/open.txt", None).status, 200);
    // Unknown user, and a malformed header: 401, never a crash.
    assert_eq!(get(&s, "/private/x.txt", Some(("nobody", "x"))).status, 401);
    for bad in ["Basic !!!", "Basic", "Bearer abc", "Basic dXNlcg=="] {
        let r = s.request(&format!(
            "GET /private/x.txt HTTP/1.1\r\nHost: localhost\r\nAuthorization: {bad}\r\nConnection: close\r\n\r\n"
        ));
        assert_eq!(r.status, 401, "{bad}");
    }
    let log = s.wait_log(
        "error_log",
        "AH01618: user nobody not found: /private/x.txt",
    );
    assert!(
        log.contains(
            "AH01617: user bcrypt: authentication failure for \"/private/x.txt\": Password Mismatch"
        ),
        "{log}"
    );
    assert!(
        log.contains("AH01614: client used wrong authentication scheme"),
        "{log}"
    );
    // %u: the user who got in, and the one who tried.
    let access = s.wait_log("access_log", "sha512");
    assert!(
        access.contains(" - bcrypt [") && access.contains("\"GET /private/x.txt HTTP/1.1\" 200"),
        "{access}"
    );
    assert!(access.contains(" - nobody ["), "{access}");
    // CGI: REMOTE_USER and AUTH_TYPE, never the credentials themselves.
    let r = get(&s, "/cgi-bin/who.cgi", Some(("apr1", "pw-apr1")));
    assert_eq!(r.text(), "user=apr1 type=Basic auth=\n");
}

#[test]
fn event_checks_htpasswd_passwords() {
    passwords_from_htpasswd(EVENT);
}

#[test]
fn worker_checks_htpasswd_passwords() {
    passwords_from_htpasswd(WORKER);
}

#[test]
fn prefork_checks_htpasswd_passwords() {
    passwords_from_htpasswd(PREFORK);
}

#[test]
fn users_groups_and_combinations() {
    if !have("htpasswd") {
        return;
    }
    let users = [
        ("-m", "alice", "a"),
        ("-m", "bob", "b"),
        ("-m", "dave", "d"),
    ];
    let docs_extra = |site_docs: &str| {
        format!(
            "<Directory \"{site_docs}/private/staff\">\n  Require group staff\n</Directory>\n\
             <Directory \"{site_docs}/private/both\">\n  AuthMerging And\n  Require user bob alice\n</Directory>\n\
             <Directory \"{site_docs}/private/forbid\">\n  AuthzSendForbiddenOnFailure On\n  Require user dave\n</Directory>\n\
             <Directory \"{site_docs}/local\">\n  AuthType Basic\n  AuthName local\n  AuthBasicProvider team\n\
               <RequireAny>\n    Require ip 127.0.0.1\n    Require valid-user\n  </RequireAny>\n</Directory>\n\
             <Directory \"{site_docs}/far\">\n  AuthType Basic\n  AuthName far\n  AuthBasicProvider team\n\
               <RequireAll>\n    Require ip 10.0.0.0/8\n    Require valid-user\n  </RequireAll>\n</Directory>\n"
        )
    };
    let (site, conf) = site(&users, "Require user alice bob", "");
    let alias = format!(
        "<AuthnProviderAlias file team>\n  AuthUserFile \"{}\"\n</AuthnProviderAlias>\n",
        site.s("passwords")
    );
    for d in [
        "private/staff",
        "private/both",
        "private/forbid",
        "local",
        "far",
    ] {
        std::fs::create_dir_all(site.p(&format!("htdocs/{d}"))).unwrap();
        std::fs::write(site.p(&format!("htdocs/{d}/f.txt")), "f\n").unwrap();
    }
    let conf = format!("{conf}{alias}{}", docs_extra(&site.s("htdocs")));
    let s = start(WORKER, &conf);
    let st = |path: &str, c: Option<(&str, &str)>| get(&s, path, c).status;
    // Require user alice bob.
    assert_eq!(st("/private/x.txt", Some(("alice", "a"))), 200);
    assert_eq!(st("/private/x.txt", Some(("bob", "b"))), 200);
    let r = get(&s, "/private/x.txt", Some(("dave", "d")));
    assert_eq!(r.status, 401, "dave is a user but not named");
    assert!(r.header("www-authenticate").is_some());
    // Require group staff: alice yes, bob no.
    assert_eq!(st("/private/staff/f.txt", Some(("alice", "a"))), 200);
    assert_eq!(st("/private/staff/f.txt", Some(("bob", "b"))), 401);
    // AuthMerging And: the parent's "user alice bob" and this "user bob alice" both hold.
    assert_eq!(st("/private/both/f.txt", Some(("bob", "b"))), 200);
    assert_eq!(st("/private/both/f.txt", Some(("dave", "d"))), 401);
    // AuthzSendForbiddenOnFailure: a known user who may not enter gets 403.
    assert_eq!(st("/private/forbid/f.txt", Some(("dave", "d"))), 200);
    assert_eq!(st("/private/forbid/f.txt", Some(("alice", "a"))), 403);
    // RequireAny with the client's address: nobody is asked; RequireAll with an
    // address that does not match: 403 without a challenge.
    assert_eq!(st("/local/f.txt", None), 200);
    let r = get(&s, "/far/f.txt", Some(("alice", "a")));
    assert_eq!(r.status, 403);
    let log = s.wait_log(
        "error_log",
        "AH01631: user dave: authorization failure for \"/private/x.txt\"",
    );
    assert!(log.contains("AH01631"), "{log}");
    // The password file is re-read when it changes.
    htpasswd(&site.p("passwords"), "-m", "alice", "new");
    assert_eq!(st("/private/x.txt", Some(("alice", "new"))), 200);
    assert_eq!(st("/private/x.txt", Some(("alice", "a"))), 401);
    // An unreadable password file is a 500 with Apache's line.
    std::fs::remove_file(site.p("passwords")).unwrap();
    assert_eq!(st("/private/x.txt", Some(("alice", "new"))), 500);
    s.wait_log("error_log", "AH01620: Could not open password file");
}

#[test]
fn configuration_errors() {
    let r = Root::new();
    let f = r.path("conf/httpd.conf");
    let with = |mods: &str, body: &str| r.check(&format!("{BASE}{mods}{body}"), &[]);
    // BASE is two lines; the module lines follow; then the body.
    let core = "LoadModule authn_core_module x\nLoadModule auth_basic_module x\n";
    assert_syntax_error(
        &with(core, "<Location />\nRequire user alice\n</Location>\n"),
        &f,
        6,
        "Unknown Authz provider: user",
    );
    assert_syntax_error(
        &with(
            core,
            "<Location />\nAuthBasicProvider nosuch\n</Location>\n",
        ),
        &f,
        6,
        "Unknown Authn provider: nosuch",
    );
    assert_syntax_error(
        &with(core, "<Location />\nAuthType Digest\n</Location>\n"),
        &f,
        6,
        "no mod_auth_digest",
    );
    assert_syntax_error(
        &with(AUTH, "<Location />\nAuthMerging sometimes\n</Location>\n"),
        &f,
        9,
        "AuthMerging must be one of",
    );
    assert_syntax_error(
        &with(AUTH, "<Location />\nRequire user\n</Location>\n"),
        &f,
        9,
        "requires at least one name",
    );
    // Without the modules their directives are unknown, as in Apache.
    let o = with("", "<Location />\nAuthType Basic\n</Location>\n");
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("AuthType"));
    let o = with(
        AUTH,
        "<Location />\nAuthType Basic\nAuthName x\nRequire valid-user\n</Location>\n",
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// `Require valid-user` without `AuthType`: Apache's AH01796 and a 500.
#[test]
fn missing_auth_type_is_a_server_error() {
    let site = Site::new();
    std::fs::write(site.p("htdocs/x.txt"), "x").unwrap();
    let s = start(
        EVENT,
        &format!(
            "{AUTH}DocumentRoot \"{}\"\n<Location />\nRequire valid-user\n</Location>\n",
            site.s("htdocs")
        ),
    );
    assert_eq!(get(&s, "/x.txt", None).status, 500);
    s.wait_log("error_log", "AH01796: AuthType not set!");
}

/// mod_access_compat: `Order`/`Allow`/`Deny` decide alone with `Satisfy All` (403 and
/// AH01797), and with `Satisfy Any` an allowed address needs no password while others
/// must authenticate.
#[test]
fn access_compat_order_allow_deny_satisfy() {
    if !have("htpasswd") {
        return;
    }
    let (site, conf) = site(&[("-m", "alice", "a")], "Require valid-user", "");
    for d in ["deny", "allow", "mutual", "env", "any", "anyfar"] {
        std::fs::create_dir_all(site.p(&format!("htdocs/{d}"))).unwrap();
        std::fs::write(site.p(&format!("htdocs/{d}/f.txt")), "f\n").unwrap();
    }
    let docs = site.s("htdocs");
    let pw = site.s("passwords");
    let conf = format!(
        "LoadModule access_compat_module x\nLoadModule setenvif_module x\n{conf}\
         SetEnvIf User-Agent ^letmein let_in\n\
         <Directory \"{docs}/deny\">\n  Order allow,deny\n  Allow from 10.0.0.0/8\n</Directory>\n\
         <Directory \"{docs}/allow\">\n  Order deny,allow\n  Deny from all\n  Allow from 127.0.0.1\n</Directory>\n\
         <Directory \"{docs}/mutual\">\n  Order mutual-failure\n  Allow from 127.0\n  Deny from 127.0.0.1\n</Directory>\n\
         <Directory \"{docs}/env\">\n  Order deny,allow\n  Deny from all\n  Allow from env=let_in\n</Directory>\n\
         <Directory \"{docs}/any\">\n  Order deny,allow\n  Deny from all\n  Allow from 127.0.0.1\n\
           AuthType Basic\n  AuthName x\n  AuthUserFile \"{pw}\"\n  Require valid-user\n  Satisfy Any\n</Directory>\n\
         <Directory \"{docs}/anyfar\">\n  Order deny,allow\n  Deny from all\n  Allow from 10.0.0.0/8\n\
           AuthType Basic\n  AuthName x\n  AuthUserFile \"{pw}\"\n  Require valid-user\n  Satisfy Any\n</Directory>\n"
    );
    let s = start(EVENT, &conf);
    let st = |path: &str, extra: &str| {
        s.request(&format!(
            "GET {path} HTTP/1.1\r\nHost: localhost\r\n{extra}Connection: close\r\n\r\n"
        ))
        .status
    };
    assert_eq!(st("/deny/f.txt", ""), 403);
    assert_eq!(st("/allow/f.txt", ""), 200);
    assert_eq!(st("/mutual/f.txt", ""), 403);
    assert_eq!(st("/env/f.txt", ""), 403);
    assert_eq!(st("/env/f.txt", "User-Agent: letmein/1\r\n"), 200);
    // Satisfy Any: the address suffices here...
    assert_eq!(st("/any/f.txt", ""), 200);
    // ... and elsewhere a password is asked for, and works.
    assert_eq!(st("/anyfar/f.txt", ""), 401);
    let auth = format!("Authorization: Basic {}\r\n", b64(b"alice:a"));
    assert_eq!(st("/anyfar/f.txt", &auth), 200);
    s.wait_log(
        "error_log",
        "AH01797: client denied by server configuration",
    );
    // Without the module its directives are unknown, as in Apache.
    let r = Root::new();
    let o = r.check(
        &format!("{BASE}<Location />\nOrder allow,deny\n</Location>\n"),
        &[],
    );
    assert!(!o.status.success());
    let o = r.check(
        &format!(
            "{BASE}LoadModule access_compat_module x\n<Location />\nOrder sideways\n</Location>\n"
        ),
        &[],
    );
    assert_syntax_error(&o, &r.path("conf/httpd.conf"), 5, "unknown order");
}
