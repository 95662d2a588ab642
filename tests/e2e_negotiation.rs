//! End-to-end tests of content negotiation (issue #15 point 6): MultiViews with
//! Accept, Accept-Language, Accept-Charset (AddCharset) and Accept-Encoding
//! (AddEncoding), `prefer-language` from SetEnvIf (not SetEnv, which runs after
//! Apache's type checker), LanguagePriority and ForceLanguagePriority, type maps
//! (`.var` with `qs`, `Body:`), `DirectoryIndex index` finding `index.html.en`, 406
//! with Apache's variant list, `Vary`/`TCN`/`Content-Location` — compared with the
//! real Apache on this machine when it is installed (same status, variant, Vary) —
//! bad type maps (500, AH00681), bad directives (AH00526), under each MPM.

mod common;
#[path = "support/dynamic.rs"]
mod dynamic_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use common::{Resp, Server, Spawned, command, free_port, parse_response, wait_until};
use dynamic_support::{EVENT, Mpm, PREFORK, WORKER};

const APACHE: &str = "/usr/sbin/apache2";
const APACHE_MODULES: &str = "/usr/lib/apache2/modules";

/// The directives both servers run (mod_mime and mod_negotiation as Debian sets them
/// up, a few directories with variants).
fn negotiation_conf(docroot: &Path) -> String {
    let d = docroot.display();
    format!(
        "TypesConfig /etc/mime.types\n\
         AddLanguage en .en\nAddLanguage fr .fr\nAddLanguage de .de\n\
         AddHandler type-map .var\n\
         <Directory \"{d}\">\n  Options MultiViews\n  Require all granted\n  DirectoryIndex index\n</Directory>\n\
         <Directory \"{d}/lp\">\n  LanguagePriority fr en\n  ForceLanguagePriority Prefer Fallback\n</Directory>\n\
         <Directory \"{d}/any\">\n  MultiviewsMatch Any\n</Directory>\n\
         <Directory \"{d}/pref\">\n  SetEnv prefer-language de\n</Directory>\n\
         SetEnvIf Request_URI ^/pref2/ prefer-language=de\n\
         AddEncoding gzip .gz\nAddCharset UTF-8 .utf8\nAddCharset KOI8-R .koi8\n"
    )
}

fn write_tree(docroot: &Path) {
    let w = |rel: &str, body: &str| {
        let p = docroot.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    };
    w("docs/about.html.en", "EN");
    w("docs/about.html.fr", "FRFR");
    w("docs/about.html.de", "de");
    w("docs/about.foo", "x");
    w("docs/index.html.en", "ix-en");
    w("docs/index.html.fr", "ix-fr");
    for l in ["en", "fr", "de"] {
        w(&format!("lp/p.html.{l}"), &format!("lp-{l}"));
    }
    w("ty/t.html", "<b>h</b>");
    w("ty/t.txt", "plain text");
    w("ty/t.png", "x");
    w(
        "ty/m.var",
        "URI: m\n\nURI: m.en.html\nContent-type: text/html\nContent-language: en\n\n\
         URI: m.fr.html\nContent-type: text/html;qs=0.5\nContent-language: fr\n",
    );
    w("ty/m.en.html", "menhtml");
    w("ty/m.fr.html", "mfr");
    w("ty/bad.var", "URI: x\nbroken line\n");
    w("any/z.zzq", "zzq");
    w("any/y.html.zzq", "yy");
    w("docs/y.html.zzq", "yy");
    w("enc/x.txt", "plain plain plain");
    w("enc/x.txt.gz", "gz");
    w("cs/c.html.utf8", "utf8utf8");
    w("cs/c.html.koi8", "koi8");
    for l in ["en", "fr", "de"] {
        w(&format!("pref/q.html.{l}"), &format!("q-{l}"));
        w(&format!("pref2/q.html.{l}"), &format!("q-{l}"));
    }
    w(
        "inline/b.var",
        "Content-language: en\nContent-type: text/plain\nBody:--en--\nhello\n--en--\n\n\
         Content-language: fr\nContent-type: text/plain\nBody:--fr--\nbonjour\n--fr--\n",
    );
}

/// The requests compared: (path, extra header line or "").
const CASES: &[(&str, &str)] = &[
    ("/docs/about", ""),
    ("/docs/about", "Accept-Language: fr"),
    ("/docs/about", "Accept-Language: it"),
    ("/docs/about", "Accept-Language: fr;q=0.5, de"),
    ("/docs/about", "Accept-Language: en-US"),
    ("/lp/p", ""),
    ("/lp/p", "Accept-Language: it"),
    ("/lp/p", "Accept-Language: en, de"),
    ("/docs/", ""),
    ("/docs/", "Accept-Language: fr"),
    ("/ty/t", ""),
    ("/ty/t", "Accept: text/plain"),
    (
        "/ty/t",
        "Accept: text/html;q=0.5, text/plain;q=0.4, */*;q=0.1",
    ),
    ("/ty/t", "Accept: image/*"),
    ("/ty/t", "Accept: application/json"),
    ("/ty/m.var", ""),
    ("/ty/m.var", "Accept-Language: fr"),
    ("/ty/m", ""),
    ("/ty/bad.var", ""),
    ("/any/z", ""),
    ("/any/y", ""),
    ("/docs/y", ""),
    ("/enc/x", ""),
    ("/enc/x", "Accept-Encoding: gzip"),
    ("/enc/x", "Accept-Encoding: gzip, identity;q=0"),
    ("/enc/x", "Accept: text/plain"),
    ("/cs/c", ""),
    ("/cs/c", "Accept-Charset: utf-8"),
    ("/cs/c", "Accept-Charset: iso-8859-5"),
    ("/pref/q", "Accept-Language: fr"),
    ("/pref2/q", "Accept-Language: fr"),
    ("/docs/about.html.en", ""),
    ("/inline/b.var", "Accept-Language: fr"),
];

/// What must agree: status, the chosen variant, Vary, TCN, type, language, body.
fn summary(r: &Resp) -> String {
    let h = |n: &str| r.header(n).unwrap_or("-").to_string();
    let body = if r.status == 200 {
        r.text()
    } else {
        String::new()
    };
    format!(
        "{} loc={} vary={} tcn={} type={} lang={} body={body:?}",
        r.status,
        h("content-location"),
        h("vary"),
        h("tcn"),
        h("content-type"),
        h("content-language"),
    )
}

fn get(port: u16, path: &str, header: &str) -> Resp {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let extra = if header.is_empty() {
        String::new()
    } else {
        format!("{header}\r\n")
    };
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{extra}\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    parse_response(&raw).unwrap_or_else(|| panic!("no response for {path}"))
}

/// What rhttpd answers for each case; when Apache is installed it must answer the same.
const EXPECTED: &[&str] = &[
    "200 loc=about.html.de vary=negotiate,accept-language tcn=choice type=text/html lang=de body=\"de\"",
    "200 loc=about.html.fr vary=negotiate,accept-language tcn=choice type=text/html lang=fr body=\"FRFR\"",
    "406 loc=- vary=negotiate,accept-language tcn=list type=text/html; charset=iso-8859-1 lang=- body=\"\"",
    "200 loc=about.html.de vary=negotiate,accept-language tcn=choice type=text/html lang=de body=\"de\"",
    "200 loc=about.html.en vary=negotiate,accept-language tcn=choice type=text/html lang=en body=\"EN\"",
    "200 loc=p.html.fr vary=negotiate,accept-language tcn=choice type=text/html lang=fr body=\"lp-fr\"",
    "200 loc=p.html.fr vary=negotiate,accept-language tcn=choice type=text/html lang=fr body=\"lp-fr\"",
    "200 loc=p.html.en vary=negotiate,accept-language tcn=choice type=text/html lang=en body=\"lp-en\"",
    "200 loc=index.html.en vary=negotiate,accept-language tcn=choice type=text/html lang=en body=\"ix-en\"",
    "200 loc=index.html.fr vary=negotiate,accept-language tcn=choice type=text/html lang=fr body=\"ix-fr\"",
    "200 loc=t.png vary=negotiate,accept tcn=choice type=image/png lang=- body=\"x\"",
    "200 loc=t.txt vary=negotiate,accept tcn=choice type=text/plain lang=- body=\"plain text\"",
    "200 loc=t.html vary=negotiate,accept tcn=choice type=text/html lang=- body=\"<b>h</b>\"",
    "200 loc=t.png vary=negotiate,accept tcn=choice type=image/png lang=- body=\"x\"",
    "406 loc=- vary=negotiate,accept tcn=list type=text/html; charset=iso-8859-1 lang=- body=\"\"",
    "200 loc=m.en.html vary=negotiate,accept-language tcn=choice type=text/html lang=en body=\"menhtml\"",
    "200 loc=m.fr.html vary=negotiate,accept-language tcn=choice type=text/html lang=fr body=\"mfr\"",
    "200 loc=m.fr.html vary=negotiate,accept-language tcn=choice type=text/html lang=fr body=\"mfr\"",
    "500 loc=- vary=- tcn=- type=text/html; charset=iso-8859-1 lang=- body=\"\"",
    "404 loc=- vary=- tcn=- type=text/html; charset=iso-8859-1 lang=- body=\"\"",
    "200 loc=y.html.zzq vary=negotiate tcn=choice type=text/html lang=- body=\"yy\"",
    "404 loc=- vary=- tcn=- type=text/html; charset=iso-8859-1 lang=- body=\"\"",
    "200 loc=x.txt vary=negotiate,accept,accept-encoding tcn=choice type=text/plain lang=- body=\"plain plain plain\"",
    "200 loc=x.txt.gz vary=negotiate,accept,accept-encoding tcn=choice type=application/gzip lang=- body=\"gz\"",
    "200 loc=x.txt.gz vary=negotiate,accept,accept-encoding tcn=choice type=application/gzip lang=- body=\"gz\"",
    "200 loc=x.txt vary=negotiate,accept,accept-encoding tcn=choice type=text/plain lang=- body=\"plain plain plain\"",
    "200 loc=c.html.koi8 vary=negotiate,accept-charset tcn=choice type=text/html; charset=koi8-r lang=- body=\"koi8\"",
    "200 loc=c.html.utf8 vary=negotiate,accept-charset tcn=choice type=text/html; charset=utf-8 lang=- body=\"utf8utf8\"",
    "406 loc=- vary=negotiate,accept-charset tcn=list type=text/html; charset=iso-8859-1 lang=- body=\"\"",
    "200 loc=q.html.fr vary=negotiate,accept-language tcn=choice type=text/html lang=fr body=\"q-fr\"",
    "200 loc=q.html.de vary=negotiate,accept-language tcn=choice type=text/html lang=de body=\"q-de\"",
    "200 loc=- vary=- tcn=- type=text/html lang=en body=\"EN\"",
    "200 loc=- vary=accept-language tcn=- type=text/plain lang=fr body=\"bonjour\\n\"",
];

fn rhttpd_site() -> Server {
    let root = tempfile::tempdir().unwrap();
    let docroot = root.path().join("htdocs");
    write_tree(&docroot);
    let port = free_port();
    std::fs::create_dir_all(root.path().join("logs")).unwrap();
    std::fs::create_dir_all(root.path().join("conf")).unwrap();
    let body = format!(
        "LoadModule negotiation_module x\nLoadModule mime_module x\nLoadModule env_module x\nLoadModule setenvif_module x\n{}",
        negotiation_conf(&docroot)
    );
    let conf = Server::config_text(root.path(), port, &body);
    std::fs::write(root.path().join("conf/httpd.conf"), conf).unwrap();
    Server::launch(root, port, &["-X"])
}

#[test]
fn multiviews_and_type_maps_choose_as_apache() {
    assert_eq!(CASES.len(), EXPECTED.len());
    let s = rhttpd_site();
    let got: Vec<String> = CASES
        .iter()
        .map(|(p, h)| summary(&get(s.port, p, h)))
        .collect();
    for (i, (case, want)) in CASES.iter().zip(EXPECTED).enumerate() {
        assert_eq!(&got[i], want, "case {case:?}");
    }
    // The 406 page lists the variants as Apache does, with Alternates.
    let r = get(s.port, "/docs/about", "Accept-Language: it");
    let page = r.text();
    assert!(
        page.contains("<p>An appropriate representation of the requested resource could not be found on this server.</p>\nAvailable variants:\n<ul>\n<li><a href=\"about.html.de\">about.html.de</a> , type text/html, language de</li>\n"),
        "{page}"
    );
    assert_eq!(
        r.header("alternates"),
        Some(
            "{\"about.html.de\" 1 {type text/html} {language de} {length 2}}, {\"about.html.en\" 1 {type text/html} {language en} {length 2}}, {\"about.html.fr\" 1 {type text/html} {language fr} {length 4}}"
        )
    );
    let log = s.wait_log("error_log", "AH00681");
    assert!(
        log.contains("Syntax error in type map, no ':' in ")
            && log.contains("bad.var for header broken line"),
        "{log}"
    );
    // Conditionals apply to the chosen variant (it is served as if requested).
    let r = get(s.port, "/docs/about", "Accept-Language: fr");
    let etag = r.header("etag").expect("etag").to_string();
    let r = get(
        s.port,
        "/docs/about",
        &format!("Accept-Language: fr\r\nIf-None-Match: {etag}"),
    );
    assert_eq!(r.status, 304);
    assert_eq!(r.header("vary"), Some("negotiate,accept-language"));

    if !Path::new(APACHE).exists() {
        eprintln!(
            "apache2 is not installed (scripts/test.sh installs it): Apache comparison skipped"
        );
        return;
    }
    let apache = ApacheSite::start();
    for (case, want) in CASES.iter().zip(&got) {
        let theirs = summary(&get(apache.port, case.0, case.1));
        // Apache 2.4's error pages are HTML 4.01; both say text/html; the status,
        // variant and Vary are what must agree.
        assert_eq!(&theirs, want, "Apache differs for {case:?}");
    }
}

/// Debian's apache2 on the same tree, in the foreground (`-X`), killed at the end.
struct ApacheSite {
    _root: tempfile::TempDir,
    _child: Spawned,
    port: u16,
}

impl ApacheSite {
    fn start() -> ApacheSite {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        let docroot = r.join("htdocs");
        write_tree(&docroot);
        std::fs::create_dir_all(r.join("logs")).unwrap();
        let port = free_port();
        let m = APACHE_MODULES;
        let conf = format!(
            "ServerRoot \"{root}\"\nListen 127.0.0.1:{port}\nServerName localhost\n\
             PidFile {root}/logs/httpd.pid\nErrorLog {root}/logs/error_log\n\
             LoadModule mpm_event_module {m}/mod_mpm_event.so\n\
             LoadModule authz_core_module {m}/mod_authz_core.so\n\
             LoadModule mime_module {m}/mod_mime.so\n\
             LoadModule negotiation_module {m}/mod_negotiation.so\n\
             LoadModule dir_module {m}/mod_dir.so\n\
             LoadModule env_module {m}/mod_env.so\n\
             LoadModule setenvif_module {m}/mod_setenvif.so\n\
             DocumentRoot \"{docroot}\"\n{}",
            negotiation_conf(&docroot),
            root = r.display(),
            docroot = docroot.display(),
        );
        let conf_path = r.join("httpd.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let child = Spawned::spawn(
            command(APACHE)
                .arg("-X")
                .arg("-f")
                .arg(&conf_path)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null()),
        )
        .expect("spawn apache2");
        let up = wait_until(Duration::from_secs(15), || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        assert!(
            up,
            "apache2 did not start: {:?}",
            std::fs::read_to_string(r.join("logs/error_log"))
        );
        ApacheSite {
            _root: root,
            _child: child,
            port,
        }
    }
}

/// The same choices under each MPM (event serves them on its listener thread).
fn mpm_site(mpm: Mpm) -> Server {
    let conf = "LoadModule negotiation_module x\nLoadModule mime_module x\n\
                AddLanguage en .en\nAddLanguage fr .fr\nAddHandler type-map .var\n\
                Options +MultiViews\nLanguagePriority en fr\nForceLanguagePriority Fallback\n";
    let s = dynamic_support::start(mpm, conf);
    s.write("htdocs/a.html.en", "english");
    s.write("htdocs/a.html.fr", "francais");
    s.write(
        "htdocs/m.var",
        "URI: a.html.en\nContent-Type: text/html\nContent-Language: en\n\n\
         URI: a.html.fr\nContent-Type: text/html\nContent-Language: fr\n",
    );
    s
}

fn check_mpm(mpm: Mpm) {
    let s = mpm_site(mpm);
    for _ in 0..3 {
        let r = s.request(
            "GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAccept-Language: fr\r\n\r\n",
        );
        assert_eq!((r.status, r.text().as_str()), (200, "francais"));
        assert_eq!(r.header("content-location"), Some("a.html.fr"));
        assert_eq!(r.header("vary"), Some("negotiate,accept-language"));
        // Fallback: nothing acceptable, LanguagePriority's first.
        let r = s.request(
            "GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAccept-Language: it\r\n\r\n",
        );
        assert_eq!((r.status, r.text().as_str()), (200, "english"));
        let r =
            s.request("GET /m.var HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAccept-Language: fr, en;q=0.5\r\n\r\n");
        assert_eq!((r.status, r.text().as_str()), (200, "francais"));
        assert_eq!(r.header("content-language"), Some("fr"));
    }
}

#[test]
fn event_negotiates() {
    check_mpm(EVENT);
}

#[test]
fn worker_negotiates() {
    check_mpm(WORKER);
}

#[test]
fn prefork_negotiates() {
    check_mpm(PREFORK);
}

/// Bad directives are Apache's syntax errors with file and line.
#[test]
fn bad_negotiation_directives_are_syntax_errors() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("httpd.conf");
    let base = format!(
        "Listen 127.0.0.1:1\nServerName localhost\nServerRoot \"{}\"\nLoadModule negotiation_module x\n",
        dir.path().display()
    );
    for (line, message) in [
        (
            "ForceLanguagePriority Sometimes",
            "Invalid ForceLanguagePriority option Sometimes",
        ),
        (
            "ForceLanguagePriority None Prefer",
            "Cannot combine ForceLanguagePriority options with None",
        ),
        (
            "MultiviewsMatch Any Handlers",
            "MultiviewsMatch Any excludes all other options",
        ),
        (
            "MultiviewsMatch Everything",
            "MultiviewsMatch: unrecognized option",
        ),
    ] {
        std::fs::write(&conf, format!("{base}{line}\n")).unwrap();
        let o = common::run(&["-t", "-f", conf.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{line}: {err}");
        assert!(
            err.contains("AH00526: Syntax error on line 5 of"),
            "{line}: {err}"
        );
        assert!(err.contains(message), "{line}: {err}");
    }
    // The directives that used to have no effect no longer warn.
    std::fs::write(
        &conf,
        format!("{base}LanguagePriority en fr\nForceLanguagePriority Prefer Fallback\nCacheNegotiatedDocs On\n"),
    )
    .unwrap();
    let o = common::run(&["-t", "-f", conf.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(!err.contains("no effect"), "{err}");
}
