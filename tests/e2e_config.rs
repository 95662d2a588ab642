//! End-to-end tests of the configuration language and of each foundation directive,
//! against the real binary: `rhttpd -t` exit codes and Apache's messages (file and line),
//! and, for a running `-X` server, one observable effect per directive.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// A scratch ServerRoot with `conf/`, `htdocs/` and `logs/`.
struct Root {
    dir: tempfile::TempDir,
}

impl Root {
    fn new() -> Root {
        let dir = tempfile::tempdir().unwrap();
        for d in ["conf", "htdocs", "logs"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        Root { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn s(&self) -> String {
        self.dir.path().display().to_string()
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    /// `rhttpd -t -d ROOT -f ROOT/conf/httpd.conf [extra...]` on `text`.
    fn check(&self, text: &str, extra: &[&str]) -> Output {
        let f = self.write("conf/httpd.conf", text);
        let root = self.s();
        let f = f.display().to_string();
        let mut args = vec!["-t", "-d", root.as_str(), "-f", f.as_str()];
        args.extend_from_slice(extra);
        run(&args)
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[track_caller]
fn assert_ok(o: &Output) {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(o));
    assert!(stderr(o).contains("Syntax OK"), "stderr: {}", stderr(o));
}

/// Exit 1 with `AH00526: Syntax error on line LINE of FILE:` followed by `reason`.
#[track_caller]
fn assert_syntax_error(o: &Output, file: &Path, line: usize, reason: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(1), "stderr: {err}");
    let head = format!(
        "AH00526: Syntax error on line {line} of {}:\n",
        file.display()
    );
    let Some(at) = err.find(&head) else {
        panic!("expected {head:?} in stderr:\n{err}");
    };
    let rest = &err[at + head.len()..];
    assert!(
        rest.lines().next().unwrap_or("").contains(reason),
        "expected reason {reason:?} after the head, stderr:\n{err}"
    );
    assert!(!err.contains("Syntax OK"), "{err}");
}

const BASE: &str = "Listen 127.0.0.1:1\nServerName localhost\n";

// ---------------------------------------------------------------------------------------
// -t: good and bad configurations

#[test]
fn good_config_prints_syntax_ok() {
    let r = Root::new();
    let o = r.check(
        &format!(
            "{BASE}DocumentRoot htdocs\n<Directory htdocs>\n  Require all granted\n</Directory>\n"
        ),
        &[],
    );
    assert_ok(&o);
    assert!(
        stdout(&o).is_empty(),
        "Syntax OK goes to stderr: {}",
        stdout(&o)
    );
}

#[test]
fn unknown_directive_names_file_line_and_command() {
    let r = Root::new();
    let o = r.check(&format!("{BASE}# comment\n\nFoo bar\n"), &[]);
    assert_syntax_error(
        &o,
        &r.path("conf/httpd.conf"),
        5,
        "Invalid command 'Foo', perhaps misspelled or defined by a module not included in the server configuration",
    );
}

#[test]
fn wrong_argument_count() {
    let r = Root::new();
    let o = r.check(&format!("{BASE}DocumentRoot a b\n"), &[]);
    assert_syntax_error(
        &o,
        &r.path("conf/httpd.conf"),
        3,
        "DocumentRoot takes one argument, Root directory of the document tree",
    );
    let o = r.check(&format!("{BASE}KeepAlive maybe\n"), &[]);
    assert_syntax_error(
        &o,
        &r.path("conf/httpd.conf"),
        3,
        "KeepAlive must be On or Off",
    );
    let o = r.check(&format!("{BASE}ErrorDocument 404\n"), &[]);
    assert_syntax_error(
        &o,
        &r.path("conf/httpd.conf"),
        3,
        "ErrorDocument takes two arguments",
    );
}

#[test]
fn directives_in_the_wrong_context() {
    let r = Root::new();
    let f = r.path("conf/httpd.conf");
    let o = r.check(
        &format!("{BASE}<VirtualHost *:80>\n  Listen 8081\n</VirtualHost>\n"),
        &[],
    );
    assert_syntax_error(
        &o,
        &f,
        4,
        "Listen cannot occur within <VirtualHost> section",
    );
    let o = r.check(&format!("{BASE}Require all granted\n"), &[]);
    assert_syntax_error(&o, &f, 3, "Require not allowed here");
    let o = r.check(
        &format!("{BASE}<VirtualHost *:80>\n<VirtualHost *:81>\n</VirtualHost>\n</VirtualHost>\n"),
        &[],
    );
    assert_syntax_error(
        &o,
        &f,
        4,
        "<VirtualHost> cannot occur within <VirtualHost> section",
    );
    let o = r.check(
        &format!("{BASE}<Directory />\n  Listen 8081\n</Directory>\n"),
        &[],
    );
    assert_syntax_error(&o, &f, 4, "Listen not allowed here");
}

#[test]
fn unclosed_and_mismatched_sections() {
    let r = Root::new();
    let f = r.path("conf/httpd.conf");
    let o = r.check(&format!("{BASE}<Directory /tmp>\n  Options None\n"), &[]);
    assert_syntax_error(
        &o,
        &f,
        3,
        &format!("{}:3: <Directory> was not closed.", f.display()),
    );
    let o = r.check(&format!("{BASE}<Directory /tmp>\n</Location>\n"), &[]);
    assert_syntax_error(&o, &f, 4, "Expected </Directory> but saw </Location>");
    let o = r.check(&format!("{BASE}</Directory>\n"), &[]);
    assert_syntax_error(
        &o,
        &f,
        3,
        "</Directory> without matching <Directory> section",
    );
}

#[test]
fn error_inside_included_file_reports_that_file_and_line() {
    let r = Root::new();
    let inc = r.write("conf/extra/a.conf", "ServerAdmin a@b.c\n\n\nBogus 1\n");
    let o = r.check(&format!("{BASE}Include conf/extra/a.conf\n"), &[]);
    assert_syntax_error(&o, &inc, 4, "Invalid command 'Bogus'");
    // The same through a glob.
    let o = r.check(&format!("{BASE}Include conf/extra/*.conf\n"), &[]);
    assert_syntax_error(&o, &inc, 4, "Invalid command 'Bogus'");
}

#[test]
fn include_cycle_is_detected() {
    let r = Root::new();
    r.write("conf/a.conf", "Include conf/b.conf\n");
    let b = r.write("conf/b.conf", "\nInclude conf/a.conf\n");
    let o = r.check(&format!("{BASE}Include conf/a.conf\n"), &[]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("Include cycle detected"), "{err}");
    assert!(
        err.contains(&format!("Syntax error on line 2 of {}", b.display())),
        "{err}"
    );
}

#[test]
fn include_missing_vs_include_optional() {
    let r = Root::new();
    let f = r.path("conf/httpd.conf");
    let missing = r.path("conf/nothere.conf");
    let o = r.check(&format!("{BASE}Include conf/nothere.conf\n"), &[]);
    assert_syntax_error(
        &o,
        &f,
        3,
        &format!(
            "Could not open configuration file {}: No such file or directory",
            missing.display()
        ),
    );
    std::fs::create_dir_all(r.path("conf/empty")).unwrap();
    let o = r.check(&format!("{BASE}Include conf/empty/*.conf\n"), &[]);
    assert_syntax_error(&o, &f, 3, "No matches for the wildcard '*.conf'");
    let o = r.check(
        &format!(
            "{BASE}IncludeOptional conf/empty/*.conf\nIncludeOptional conf/nothere.conf\nIncludeOptional conf/nodir/*.conf\n"
        ),
        &[],
    );
    assert_ok(&o);
}

#[test]
fn load_module_of_unknown_module_names_it() {
    let r = Root::new();
    let o = r.check(
        &format!("{BASE}LoadModule foo_module modules/mod_foo.so\n"),
        &[],
    );
    assert_syntax_error(&o, &r.path("conf/httpd.conf"), 3, "foo_module");
    assert!(stderr(&o).contains("mod_foo.so"), "{}", stderr(&o));
}

#[test]
fn status_directive_needs_status_module() {
    let r = Root::new();
    let o = r.check(&format!("{BASE}ExtendedStatus On\n"), &[]);
    assert_syntax_error(
        &o,
        &r.path("conf/httpd.conf"),
        3,
        "Invalid command 'ExtendedStatus', perhaps misspelled",
    );
    let o = r.check(
        &format!("{BASE}LoadModule status_module modules/mod_status.so\nExtendedStatus On\n"),
        &[],
    );
    assert_ok(&o);
}

#[test]
fn continuation_lines_count_physical_lines() {
    let r = Root::new();
    // The error is on the 3rd logical line, which is physical line 6: lines 3-5 are one
    // continued directive.
    let o = r.check(
        &format!("{BASE}ServerAdmin \\\n  a@b.c\n# x \\\nBogus\n"),
        &[],
    );
    // "# x \" continues the comment onto "Bogus" (Apache joins before stripping
    // comments), so this is valid.
    assert_ok(&o);
    let o = r.check(
        &format!("{BASE}DirectoryIndex \\\n  index.html \\\n  default.htm\nBogus\n"),
        &[],
    );
    assert_syntax_error(&o, &r.path("conf/httpd.conf"), 6, "Invalid command 'Bogus'");
    // An error in the continued directive itself is reported on its last physical line.
    let o = r.check(&format!("{BASE}DocumentRoot \\\n  a \\\n  b\n"), &[]);
    assert_syntax_error(
        &o,
        &r.path("conf/httpd.conf"),
        5,
        "DocumentRoot takes one argument",
    );
}

#[test]
fn continued_directive_is_applied() {
    let mut s = Server::start("DirectoryIndex \\\n   first.html \\\n   second.html\n");
    s.write("htdocs/second.html", "second");
    let r = s.get("/");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "second");
    s.stop();
}

#[test]
fn quoted_argument_with_spaces() {
    // A DocumentRoot with spaces in it, quoted.
    let r = Root::new();
    let docs = r.path("my docs");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(docs.join("f.txt"), "spaced").unwrap();
    let s = Server::start(&format!(
        "DocumentRoot \"{}\"\nAddType \"text/plain\" .txt\n",
        docs.display()
    ));
    let resp = s.get("/f.txt");
    assert_eq!(resp.status, 200);
    assert_eq!(resp.text(), "spaced");
    // Unquoted, the path splits into two words: an arity error.
    let o = r.check(&format!("{BASE}DocumentRoot {}\n", docs.display()), &[]);
    assert_syntax_error(
        &o,
        &r.path("conf/httpd.conf"),
        3,
        "DocumentRoot takes one argument",
    );
}

#[test]
fn define_variables_and_ifdefine() {
    let r = Root::new();
    std::fs::create_dir_all(r.path("docs2")).unwrap();
    let text = format!(
        "{BASE}Define DOCS docs2\nDocumentRoot ${{DOCS}}\n<IfDefine FOO>\nBogusFoo\n</IfDefine>\n<IfDefine !FOO>\nServerAdmin nofoo@x\n</IfDefine>\n"
    );
    let o = r.check(&text, &[]);
    assert_ok(&o);
    // -S shows the DocumentRoot the variable expanded to.
    let f = r.path("conf/httpd.conf").display().to_string();
    let root = r.s();
    let o = run(&["-S", "-d", &root, "-f", &f]);
    assert!(
        stdout(&o).contains(&format!(
            "Main DocumentRoot: \"{}\"",
            r.path("docs2").display()
        )),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("Define: DOCS=docs2"), "{}", stdout(&o));
    // -D FOO (separate and attached) switches the <IfDefine FOO> body on.
    for extra in [&["-D", "FOO"][..], &["-DFOO"][..]] {
        let o = r.check(&text, extra);
        assert_syntax_error(
            &o,
            &r.path("conf/httpd.conf"),
            6,
            "Invalid command 'BogusFoo'",
        );
    }
    // A Define in the file also counts for <IfDefine>.
    let o = r.check(&format!("Define FOO\n{text}"), &[]);
    assert_syntax_error(
        &o,
        &r.path("conf/httpd.conf"),
        7,
        "Invalid command 'BogusFoo'",
    );
}

#[test]
fn ifmodule_by_name_and_source_file() {
    let r = Root::new();
    let text = format!(
        "{BASE}<IfModule status_module>\nExtendedStatus On\nBogusStatus\n</IfModule>\n<IfModule !mod_status.c>\nServerAdmin x@y\n</IfModule>\n<IfModule mod_mime.c>\nAddType text/x-a .a\n</IfModule>\n<IfModule !mime_module>\nBogusMime\n</IfModule>\n"
    );
    // status_module not loaded: its body is skipped, the negated one is read.
    assert_ok(&r.check(&text, &[]));
    // Loaded: the body is read (and its bogus line reported).
    let o = r.check(
        &format!("LoadModule status_module modules/mod_status.so\n{text}"),
        &[],
    );
    assert_syntax_error(
        &o,
        &r.path("conf/httpd.conf"),
        6,
        "Invalid command 'BogusStatus'",
    );
}

/// Spawn `rhttpd -X` with explicit arguments (no harness header) and wait for `port`.
fn spawn_x(args: &[&str], port: u16) -> std::process::Child {
    let mut child = Command::new(BIN)
        .args(args)
        .arg("-X")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let ok = wait_until(Duration::from_secs(15), || {
        if let Ok(Some(st)) = child.try_wait() {
            let mut e = String::new();
            let _ = child.stderr.take().map(|mut x| x.read_to_string(&mut e));
            panic!("rhttpd exited early ({st}): {e}");
        }
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert!(ok, "not listening on {port}");
    child
}

fn get_at(port: u16, path: &str, host: &str) -> Resp {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    parse_response(&raw).unwrap_or_else(|| panic!("bad response {raw:?}"))
}

fn kill(child: &mut std::process::Child) {
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn command_line_directives_before_and_after_the_file() {
    let r = Root::new();
    for d in ["one", "two", "three"] {
        r.write(&format!("{d}/x.txt"), d);
    }
    let port = free_port();
    // The file sets DocumentRoot two; -C (before the file) sets one, which the file
    // overrides; -c (after) sets three, which wins. Listen comes only from -C.
    let f = r.write(
        "conf/httpd.conf",
        "ServerName localhost\nPidFile logs/httpd.pid\nErrorLog logs/error_log\nDocumentRoot two\n",
    );
    let root = r.s();
    let f = f.display().to_string();
    let listen = format!("Listen 127.0.0.1:{port}");
    let mut child = spawn_x(
        &[
            "-d",
            &root,
            "-f",
            &f,
            "-C",
            &listen,
            "-C",
            "DocumentRoot one",
            "-c",
            "DocumentRoot three",
        ],
        port,
    );
    let resp = get_at(port, "/x.txt", "localhost");
    assert_eq!(resp.status, 200);
    assert_eq!(resp.text(), "three");
    kill(&mut child);

    // Without -c, the file's value beats -C's.
    let port = free_port();
    let listen = format!("Listen 127.0.0.1:{port}");
    let mut child = spawn_x(
        &[
            "-d",
            &root,
            "-f",
            &f,
            "-C",
            &listen,
            "-C",
            "DocumentRoot one",
        ],
        port,
    );
    assert_eq!(get_at(port, "/x.txt", "localhost").text(), "two");
    kill(&mut child);

    // An error in a -c directive is reported as Apache does.
    let o = run(&["-t", "-d", &root, "-f", &f, "-c", "Bogus x"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("Syntax error on line 1 of -c/-C directives:\nInvalid command 'Bogus'"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn relative_paths_resolve_against_server_root() {
    let r = Root::new();
    r.write("site/hello.txt", "relative");
    r.write("conf/extra/inc.conf", "DocumentRoot site\n");
    let port = free_port();
    r.write(
        "conf/httpd.conf",
        &format!(
            "Listen 127.0.0.1:{port}\nServerName localhost\nPidFile logs/rel.pid\nErrorLog logs/err.log\nInclude conf/extra/inc.conf\nCustomLog logs/acc.log \"%>s %U\"\n"
        ),
    );
    let root = r.s();
    // -f relative to -d (run from another directory).
    let mut child = Command::new(BIN)
        .args(["-d", &root, "-f", "conf/httpd.conf", "-X"])
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(wait_until(Duration::from_secs(15), || TcpStream::connect(
        ("127.0.0.1", port)
    )
    .is_ok()));
    let resp = get_at(port, "/hello.txt", "localhost");
    assert_eq!(resp.status, 200);
    assert_eq!(resp.text(), "relative");
    assert!(wait_until(Duration::from_secs(5), || {
        std::fs::read_to_string(r.path("logs/acc.log"))
            .unwrap_or_default()
            .contains("200 /hello.txt")
    }));
    assert!(r.path("logs/rel.pid").exists());
    assert!(r.path("logs/err.log").exists());
    kill(&mut child);
}

#[test]
fn server_root_directive_overrides_d() {
    let r = Root::new();
    r.write("site/s.txt", "from ServerRoot");
    let port = free_port();
    let f = r.write(
        "conf/httpd.conf",
        &format!(
            "ServerRoot \"{}\"\nListen 127.0.0.1:{port}\nServerName localhost\nPidFile logs/sr.pid\nErrorLog logs/sr_error\nDocumentRoot site\n",
            r.s()
        ),
    );
    // -d points elsewhere; the ServerRoot directive wins for what follows it.
    let mut child = spawn_x(&["-d", "/", "-f", &f.display().to_string()], port);
    let resp = get_at(port, "/s.txt", "localhost");
    assert_eq!(resp.text(), "from ServerRoot");
    assert!(r.path("logs/sr.pid").exists());
    assert!(r.path("logs/sr_error").exists());
    kill(&mut child);
    let o = r.check("ServerRoot /nonexistent/rhttpd-root\n", &[]);
    assert_syntax_error(
        &o,
        &r.path("conf/httpd.conf"),
        1,
        "ServerRoot must be a valid directory",
    );
}

// ---------------------------------------------------------------------------------------
// A running server: each directive observable

fn ipv6_loopback() -> bool {
    std::net::TcpListener::bind("[::1]:0").is_ok()
}

#[test]
fn listen_several_addresses_and_forms() {
    let p2 = free_port();
    let p3 = free_port();
    let v6 = ipv6_loopback();
    let p6 = if v6 {
        std::net::TcpListener::bind("[::1]:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    } else {
        0
    };
    let mut body = format!("Listen 127.0.0.1:{p2}\nListen {p3}\n");
    if v6 {
        body.push_str(&format!("Listen [::1]:{p6}\n"));
    } else {
        eprintln!("note: no IPv6 loopback here, [::1] listener not tested");
    }
    let s = Server::start(&body);
    s.write("htdocs/i.txt", "hi");
    assert_eq!(s.get("/i.txt").text(), "hi");
    // The bare port form listens on every IPv4 address, 127.0.0.1 included.
    for p in [p2, p3] {
        let r = get_at(p, "/i.txt", "localhost");
        assert_eq!(r.status, 200, "port {p}");
        assert_eq!(r.text(), "hi");
    }
    if v6 {
        let mut c = TcpStream::connect(("::1", p6)).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        c.write_all(b"GET /i.txt HTTP/1.1\r\nHost: [::1]\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut raw = Vec::new();
        let _ = c.read_to_end(&mut raw);
        let r = parse_response(&raw).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.text(), "hi");
    }
    // The same address twice is an error.
    let r = Root::new();
    let o = r.check(&format!("{BASE}Listen 127.0.0.1:1\n"), &[]);
    assert_syntax_error(
        &o,
        &r.path("conf/httpd.conf"),
        3,
        "Cannot define multiple Listeners on the same IP:port",
    );
}

#[test]
fn server_name_alias_and_document_root_per_vhost() {
    let s = Server::start(
        "<VirtualHost *>\n  ServerName a.example\n  ServerAlias www.a.example *.wild.example\n  DocumentRoot htdocs/a\n</VirtualHost>\n<VirtualHost *>\n  ServerName b.example\n  DocumentRoot htdocs/b\n</VirtualHost>\n",
    );
    s.write("htdocs/a/who.txt", "A");
    s.write("htdocs/b/who.txt", "B");
    let req = |host: &str| {
        s.request(&format!(
            "GET /who.txt HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        ))
    };
    assert_eq!(req("a.example").text(), "A");
    assert_eq!(req("www.a.example").text(), "A");
    assert_eq!(req("x.wild.example").text(), "A");
    assert_eq!(req("B.example:80").text(), "B");
    // Unknown name: the first vhost of the address.
    assert_eq!(req("other.example").text(), "A");
}

#[test]
fn directory_index_alias_and_options() {
    let tmp = tempfile::tempdir().unwrap();
    let adir = tmp.path().join("aliased");
    std::fs::create_dir_all(adir.join("sub")).unwrap();
    std::fs::write(adir.join("a.txt"), "aliased file").unwrap();
    let s = Server::start(&format!(
        "DirectoryIndex start.html index.html\nAlias /files \"{a}\"\n<Directory \"{a}\">\n  Options Indexes\n  Require all granted\n</Directory>\n<Directory \"{d}/noindex\">\n  Options None\n</Directory>\n",
        a = adir.display(),
        d = tmp.path().display(),
    ));
    s.write("htdocs/start.html", "start page");
    s.write("htdocs/index.html", "index page");
    s.write("htdocs/d2/index.html", "d2 index");
    let r = s.get("/");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "start page");
    assert_eq!(s.get("/d2/").text(), "d2 index");
    let r = s.get("/files/a.txt");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "aliased file");
    // Options Indexes on the alias target: a listing naming the entries.
    let r = s.get("/files/");
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("a.txt"), "{}", r.text());
    assert!(r.text().contains("sub/"), "{}", r.text());
    // Options None (the default document root has no Indexes either): 403.
    s.write("htdocs/plain/x.txt", "x");
    assert_eq!(s.get("/plain/").status, 403);
}

#[test]
fn allow_override_none_and_other_values() {
    let s = Server::start("<Directory />\n  AllowOverride None\n</Directory>\n");
    s.write("htdocs/.htaccess", "Require all denied\n");
    s.write("htdocs/x.txt", "x");
    // .htaccess is not read.
    assert_eq!(s.get("/x.txt").status, 200);
    let r = Root::new();
    let o = r.check(
        &format!("{BASE}<Directory />\n  AllowOverride All\n</Directory>\n"),
        &[],
    );
    assert_syntax_error(&o, &r.path("conf/httpd.conf"), 4, "AllowOverride All");
    assert!(stderr(&o).contains(".htaccess"), "{}", stderr(&o));
}

#[test]
fn require_all_ip_and_host() {
    let s = Server::start(
        "<Directory HT/denied>\n  Require all denied\n</Directory>\n<Directory HT/iplocal>\n  Require ip 127.0.0.1\n</Directory>\n<Directory HT/ipnet>\n  Require ip 127.0.0.0/8\n</Directory>\n<Directory HT/ipother>\n  Require ip 10.0.0.0/8 192.168.1\n</Directory>\n<Directory HT/hostother>\n  Require host example.invalid\n</Directory>\n<Directory HT/notip>\n  <RequireAll>\n    Require all granted\n    Require not ip 127.0.0.1\n  </RequireAll>\n</Directory>\n"
            .replace("HT/", "htdocs/")
            .as_str(),
    );
    for d in [
        "denied",
        "iplocal",
        "ipnet",
        "ipother",
        "hostother",
        "notip",
        "open",
    ] {
        s.write(&format!("htdocs/{d}/f.txt"), d);
    }
    assert_eq!(s.get("/open/f.txt").status, 200);
    assert_eq!(s.get("/denied/f.txt").status, 403);
    assert_eq!(s.get("/iplocal/f.txt").status, 200);
    assert_eq!(s.get("/ipnet/f.txt").status, 200);
    assert_eq!(s.get("/ipother/f.txt").status, 403);
    assert_eq!(s.get("/hostother/f.txt").status, 403);
    assert_eq!(s.get("/notip/f.txt").status, 403);
    let log = s.wait_log("error_log", "AH01630");
    assert!(
        log.contains("AH01630: client denied by server configuration:"),
        "{log}"
    );
}

#[test]
fn require_host_matches_reverse_lookup_of_loopback() {
    // 127.0.0.1 reverse-resolves to "localhost" through /etc/hosts on any sane system;
    // skip (with a note) where it does not.
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    let has_localhost = hosts.lines().any(|l| {
        let mut w = l.split_whitespace();
        w.next() == Some("127.0.0.1") && w.any(|x| x == "localhost")
    });
    if !has_localhost {
        eprintln!("note: /etc/hosts has no '127.0.0.1 localhost': Require host not tested");
        return;
    }
    let s = Server::start("<Directory htdocs/h>\n  Require host localhost\n</Directory>\n");
    s.write("htdocs/h/f.txt", "h");
    assert_eq!(s.get("/h/f.txt").status, 200);
}

#[test]
fn types_config_and_add_type() {
    // TypesConfig is read at startup: write the file first, then start.
    let tmp = tempfile::tempdir().unwrap();
    let types = tmp.path().join("my.types");
    std::fs::write(
        &types,
        "# custom\ntext/x-foo\t\tfoo fooo\napplication/x-zed zed\n",
    )
    .unwrap();
    let s = Server::start(&format!(
        "TypesConfig \"{}\"\nAddType application/x-bar .bar\nAddType text/x-over zed\n",
        types.display()
    ));
    for (f, ct) in [
        ("a.foo", "text/x-foo"),
        ("a.fooo", "text/x-foo"),
        ("a.bar", "application/x-bar"),
        ("a.zed", "text/x-over"),
    ] {
        s.write(&format!("htdocs/{f}"), "x");
        let r = s.get(&format!("/{f}"));
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some(ct), "{f}");
    }
    // .html is not in the custom file: no type from the standard table.
    s.write("htdocs/a.html", "x");
    assert_ne!(
        s.get("/a.html").header("content-type"),
        Some("text/html"),
        "TypesConfig replaces the standard mime.types"
    );
    // A missing TypesConfig file is a startup error.
    let r = Root::new();
    let o = r.check(&format!("{BASE}TypesConfig conf/none.types\n"), &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("none.types"), "{}", stderr(&o));
}

#[test]
fn add_default_charset() {
    let s = Server::start(
        "AddType text/html .html\nAddDefaultCharset utf-8\n<Directory htdocs/off>\n  AddDefaultCharset Off\n</Directory>\n<Directory htdocs/on>\n  AddDefaultCharset On\n</Directory>\n",
    );
    s.write("htdocs/a.html", "<p>");
    s.write("htdocs/off/a.html", "<p>");
    s.write("htdocs/on/a.html", "<p>");
    assert_eq!(
        s.get("/a.html").header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(
        s.get("/off/a.html").header("content-type"),
        Some("text/html")
    );
    assert_eq!(
        s.get("/on/a.html").header("content-type"),
        Some("text/html; charset=iso-8859-1")
    );
}

#[test]
fn error_document_text_and_local_url() {
    let s = Server::start(
        "ErrorDocument 404 /errors/nf.html\nErrorDocument 403 \"Go away, custom\"\n<Directory htdocs/secret>\n  Require all denied\n</Directory>\n",
    );
    s.write("htdocs/errors/nf.html", "custom not found page");
    s.write("htdocs/secret/x.txt", "x");
    let r = s.get("/missing");
    assert_eq!(r.status, 404);
    assert_eq!(r.text(), "custom not found page");
    let r = s.get("/secret/x.txt");
    assert_eq!(r.status, 403);
    assert_eq!(r.text(), "Go away, custom");
}

#[test]
fn server_tokens_and_server_signature() {
    for (tokens, want) in [
        ("Prod", "rhttpd".to_string()),
        ("Major", "rhttpd/0".to_string()),
        (
            "Full",
            format!("rhttpd/{} (Unix)", env!("CARGO_PKG_VERSION")),
        ),
    ] {
        let s = Server::start(&format!("ServerTokens {tokens}\nServerSignature On\n"));
        let r = s.get("/nope");
        assert_eq!(r.status, 404);
        assert_eq!(
            r.header("server"),
            Some(want.as_str()),
            "ServerTokens {tokens}"
        );
        // The signature follows ServerTokens and names the ServerName and port.
        assert!(
            r.text().contains(&format!(
                "<address>{want} Server at localhost Port {}</address>",
                s.port
            )),
            "{}",
            r.text()
        );
    }
    let s = Server::start("ServerSignature Off\n");
    let r = s.get("/nope");
    assert_eq!(r.status, 404);
    assert!(!r.text().contains("<address>"), "{}", r.text());
    let s = Server::start("ServerSignature EMail\nServerAdmin hostmaster@example.org\n");
    let r = s.get("/nope");
    assert!(
        r.text()
            .contains("<a href=\"mailto:hostmaster@example.org\">localhost</a>"),
        "{}",
        r.text()
    );
}

/// Read one response (with Content-Length) from a kept-alive connection.
fn read_one(c: &mut TcpStream) -> Option<Resp> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let cl = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + cl {
                return parse_response(&buf[..end + 4 + cl]);
            }
        }
        match c.read(&mut chunk) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

fn keepalive_get(c: &mut TcpStream, path: &str) -> Option<Resp> {
    c.write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes())
        .ok()?;
    read_one(c)
}

/// How long until the server closes `c` (bounded by `limit`).
fn time_to_close(c: &mut TcpStream, limit: Duration) -> Duration {
    c.set_read_timeout(Some(limit)).unwrap();
    let t = Instant::now();
    let mut b = [0u8; 64];
    // EINTR (e.g. after the test process was stopped and continued) is not a close.
    while let Err(e) = c.read(&mut b) {
        if e.kind() != std::io::ErrorKind::Interrupted || t.elapsed() >= limit {
            break;
        }
    }
    t.elapsed()
}

#[test]
fn keep_alive_on_off_and_max_requests() {
    // Apache counts the requests *after* the first: MaxKeepAliveRequests 3 serves four
    // requests on a connection, the fourth with `Connection: close`.
    let s = Server::start("KeepAlive On\nMaxKeepAliveRequests 3\n");
    s.write("htdocs/k.txt", "k");
    let mut c = s.connect();
    for i in 1..=3 {
        let r = keepalive_get(&mut c, "/k.txt").unwrap();
        assert_eq!(r.status, 200);
        assert_ne!(r.header("connection"), Some("close"), "request {i}");
    }
    let r4 = keepalive_get(&mut c, "/k.txt").unwrap();
    assert_eq!(r4.header("connection"), Some("close"), "4th with max 3");
    assert!(keepalive_get(&mut c, "/k.txt").is_none(), "closed after 4");

    let s = Server::start("KeepAlive Off\n");
    s.write("htdocs/k.txt", "k");
    let mut c = s.connect();
    let r = keepalive_get(&mut c, "/k.txt").unwrap();
    assert_eq!(r.header("connection"), Some("close"));
    assert!(keepalive_get(&mut c, "/k.txt").is_none());
}

#[test]
fn keep_alive_timeout_in_milliseconds() {
    let s = Server::start("KeepAliveTimeout 300ms\n");
    s.write("htdocs/k.txt", "k");
    let mut c = s.connect();
    assert_eq!(keepalive_get(&mut c, "/k.txt").unwrap().status, 200);
    let waited = time_to_close(&mut c, Duration::from_secs(8));
    assert!(
        waited < Duration::from_secs(3),
        "idle connection closed after {waited:?}, want ~300ms"
    );
    let s = Server::start("KeepAliveTimeout 2\n");
    s.write("htdocs/k.txt", "k");
    let mut c = s.connect();
    c.write_all(b"GET /k.txt HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n")
        .unwrap();
    let r = read_one(&mut c).unwrap();
    assert_eq!(r.header("keep-alive"), Some("timeout=2, max=100"));
    let waited = time_to_close(&mut c, Duration::from_secs(10));
    assert!(
        waited >= Duration::from_millis(1500) && waited < Duration::from_secs(6),
        "closed after {waited:?}, want ~2s"
    );
}

#[test]
fn timeout_closes_a_stalled_request() {
    let s = Server::start("Timeout 1\n");
    let mut c = s.connect();
    c.write_all(b"GET / HTTP/1.1\r\nHost: loc").unwrap();
    let t = Instant::now();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    let waited = t.elapsed();
    assert!(
        waited >= Duration::from_millis(700) && waited < Duration::from_secs(5),
        "stalled request closed after {waited:?}, want ~1s"
    );
    // Apache answers 408 (or just closes) on a request-head timeout.
    if !out.is_empty() {
        assert!(
            out.starts_with(b"HTTP/1.1 408"),
            "{:?}",
            String::from_utf8_lossy(&out)
        );
    }
}

#[test]
fn request_limits() {
    let s = Server::start(
        "LimitRequestLine 100\nLimitRequestFieldSize 60\nLimitRequestFields 4\nLimitRequestBody 10\n",
    );
    s.write("htdocs/x.txt", "x");
    let long = "a".repeat(120);
    assert_eq!(s.get(&format!("/{long}")).status, 414);
    assert_eq!(s.get(&format!("/{}", "a".repeat(50))).status, 404);
    let r = s.request(&format!(
        "GET /x.txt HTTP/1.1\r\nHost: localhost\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
        "b".repeat(80)
    ));
    assert_eq!(r.status, 400);
    let r = s.request(
        "GET /x.txt HTTP/1.1\r\nHost: localhost\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(r.status, 400, "5 fields > LimitRequestFields 4");
    let r =
        s.request("GET /x.txt HTTP/1.1\r\nHost: localhost\r\nA: 1\r\nConnection: close\r\n\r\n");
    assert_eq!(r.status, 200);
    let r = s.request(&format!(
        "POST /x.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 20\r\nConnection: close\r\n\r\n{}",
        "z".repeat(20)
    ));
    assert_eq!(r.status, 413);
}

#[test]
fn file_etag_and_enable_sendfile() {
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let s = Server::start(
        "<Directory htdocs/none>\n  FileETag None\n</Directory>\n<Directory htdocs/size>\n  FileETag Size\n</Directory>\n<Directory htdocs/nosf>\n  EnableSendfile Off\n</Directory>\nEnableSendfile On\n",
    );
    s.write("htdocs/all/f.bin", &big);
    s.write("htdocs/none/f.bin", &big);
    s.write("htdocs/size/f.bin", &big);
    s.write("htdocs/nosf/f.bin", &big);
    let all = s.get("/all/f.bin");
    assert_eq!(all.body, big);
    let etag = all
        .header("etag")
        .expect("default FileETag MTime Size")
        .to_string();
    // Weak (W/) while the file is younger than a second, as Apache.
    let strong = etag.trim_start_matches("W/");
    assert!(strong.starts_with('"') && strong.contains('-'), "{etag}");
    assert_eq!(s.get("/none/f.bin").header("etag"), None);
    // Size only: the size in hex, quoted.
    let size_tag = s.get("/size/f.bin").header("etag").unwrap().to_string();
    assert_eq!(
        size_tag.trim_start_matches("W/"),
        format!("\"{:x}\"", big.len())
    );
    // Both transmission paths deliver the same bytes.
    let nosf = s.get("/nosf/f.bin");
    assert_eq!(nosf.status, 200);
    assert_eq!(nosf.body, big);
}

#[test]
fn hostname_lookups_off_is_accepted_on_is_an_error() {
    let r = Root::new();
    assert_ok(&r.check(&format!("{BASE}HostnameLookups Off\n"), &[]));
    let o = r.check(&format!("{BASE}HostnameLookups On\n"), &[]);
    assert_syntax_error(&o, &r.path("conf/httpd.conf"), 3, "HostnameLookups On");
    let s =
        Server::start("HostnameLookups Off\nLogFormat \"%h|%a\" hl\nCustomLog logs/hl_log hl\n");
    s.get("/");
    let log = s.wait_log("hl_log", "127.0.0.1|127.0.0.1");
    assert!(log.contains("127.0.0.1|127.0.0.1"), "{log}");
}

#[test]
fn pid_file_written_and_removed_on_term() {
    let mut s = Server::start("PidFile logs/other.pid\n");
    let pid_path = s.path("logs/other.pid");
    let text = std::fs::read_to_string(&pid_path).expect("pid file");
    assert_eq!(text.trim(), s.child.id().to_string());
    let st = Command::new("kill")
        .args(["-TERM", &s.child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let exited = wait_until(Duration::from_secs(10), || {
        matches!(s.child.try_wait(), Ok(Some(_)))
    });
    assert!(exited, "rhttpd did not exit on TERM");
    assert!(!pid_path.exists(), "pid file not removed");
    s.stop();
}

#[test]
fn user_and_group_are_parsed() {
    let r = Root::new();
    let f = r.write(
        "conf/httpd.conf",
        &format!("{BASE}User nobody\nGroup nogroup\n"),
    );
    let o = run(&["-S", "-d", &r.s(), "-f", &f.display().to_string()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        regex::Regex::new(r#"(?m)^User: name="nobody" id=\d+( not_used)?$"#)
            .unwrap()
            .is_match(&out),
        "{out}"
    );
    assert!(
        regex::Regex::new(r#"(?m)^Group: name="nogroup" id=\d+( not_used)?$"#)
            .unwrap()
            .is_match(&out),
        "{out}"
    );
    let o = r.check(&format!("{BASE}User\n"), &[]);
    assert_syntax_error(&o, &r.path("conf/httpd.conf"), 3, "User takes one argument");
}

// ---------------------------------------------------------------------------------------
// Directives the tables promised but the builder refused or ignored

#[test]
fn cgi_script_log_and_cgid_directives_are_accepted() {
    let r = Root::new();
    let o = r.check(
        &format!(
            "{BASE}LoadModule cgi_module x\nLoadModule cgid_module x\nScriptLog logs/cgi_log\nScriptLogLength 10485760\nScriptLogBuffer 1024\nScriptSock cgisock\nCGIDScriptTimeout 20\n<VirtualHost *:1>\nScriptLog logs/v_log\n</VirtualHost>\n<Location /x>\nCGIDScriptTimeout 5s\n</Location>\n"
        ),
        &[],
    );
    assert_ok(&o);
}

#[test]
fn cgid_script_timeout_replaces_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let cgi = dir.path();
    let script = cgi.join("hang.cgi");
    std::fs::write(&script, "#!/bin/sh\nexec sleep 30\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let s = Server::start(&format!(
        "LoadModule cgid_module x\nTimeout 60\nScriptAlias /cgi-bin/ \"{}/\"\n<Location /cgi-bin>\nCGIDScriptTimeout 1\n</Location>\n",
        cgi.display()
    ));
    let t0 = Instant::now();
    let r = s.get("/cgi-bin/hang.cgi");
    assert_eq!(r.status, 504);
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
}

#[test]
fn async_request_worker_factor_is_checked_at_load() {
    let r = Root::new();
    let f = r.path("conf/httpd.conf");
    let o = r.check(&format!("{BASE}AsyncRequestWorkerFactor 2x\n"), &[]);
    assert_syntax_error(&o, &f, 3, "error parsing value");
    for bad in ["0", "-1.5"] {
        let o = r.check(&format!("{BASE}AsyncRequestWorkerFactor {bad}\n"), &[]);
        assert_syntax_error(
            &o,
            &f,
            3,
            "AsyncRequestWorkerFactor argument must be a positive number",
        );
    }
    assert_ok(&r.check(&format!("{BASE}AsyncRequestWorkerFactor 1.5\n"), &[]));
}

#[test]
fn graceful_shutdown_timeout_reads_leading_digits() {
    let r = Root::new();
    assert_ok(&r.check(&format!("{BASE}GracefulShutdownTimeout 5s\n"), &[]));
}

#[test]
fn dump_includes_lists_files_with_include_lines() {
    let r = Root::new();
    let inc1 = r.write("conf/inc1.conf", "# comment\n\nInclude conf/inc2.conf\n");
    let inc2 = r.write("conf/inc2.conf", "# nothing\n");
    let o = r.check(
        &format!("{BASE}# x\nInclude conf/inc1.conf\n"),
        &["-D", "DUMP_INCLUDES"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        format!(
            "Included configuration files:\n  (*) {}\n    (4) {}\n      (3) {}\n",
            r.path("conf/httpd.conf").display(),
            inc1.display(),
            inc2.display()
        )
    );
    // As Apache: the list replaces "Syntax OK".
    assert!(!stderr(&o).contains("Syntax OK"), "{}", stderr(&o));
}

#[test]
fn error_log_syslog_fails_the_syntax_check() {
    let r = Root::new();
    let o = r.check(&format!("{BASE}ErrorLog syslog:local7\n"), &[]);
    assert_syntax_error(
        &o,
        &r.path("conf/httpd.conf"),
        3,
        "syslog:local7: logging to syslog is not supported by rhttpd",
    );
    let o = r.check(
        &format!("{BASE}<VirtualHost *:1>\nErrorLog syslog\n</VirtualHost>\n"),
        &[],
    );
    assert_syntax_error(&o, &r.path("conf/httpd.conf"), 4, "logging to syslog");
}

#[test]
fn send_and_receive_buffer_sizes_are_accepted_and_checked() {
    let r = Root::new();
    assert_ok(&r.check(
        &format!("{BASE}SendBufferSize 65536\nReceiveBufferSize 65536\n"),
        &[],
    ));
    let s = Server::start("SendBufferSize 65536\nReceiveBufferSize 131072\n");
    s.write("htdocs/a.txt", "abc");
    assert_eq!(s.get("/a.txt").text(), "abc");
}
