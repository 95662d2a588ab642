//! End-to-end tests of the configuration language against the real binary: `rhttpd -t`
//! exit codes and Apache's messages (file and line), includes, defines, `<IfModule>`,
//! `-C`/`-c` and relative paths.
//!
//! Each foundation directive observed in a running server: tests/e2e_config_directives.rs.

mod common;
#[path = "support/config.rs"]
mod config_support;

use config_support::*;

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
    let mut child = Spawned::spawn(
        command(BIN)
            .args(["-d", &root, "-f", "conf/httpd.conf", "-X"])
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
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
