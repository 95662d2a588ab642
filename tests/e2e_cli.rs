//! End-to-end tests of the command line: the informational flags (-v -V -l -L -M -S -h
//! and the -t -D DUMP_* forms), option parsing, -X, -k start/stop/graceful against a
//! server the test started, signals, and the embedded default configuration.

mod common;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use common::*;
use regex::Regex;

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A config file in a fresh ServerRoot; returns (root, file).
fn conf(text: &str) -> (tempfile::TempDir, PathBuf) {
    let root = tempfile::tempdir().unwrap();
    for d in ["conf", "htdocs", "logs"] {
        std::fs::create_dir_all(root.path().join(d)).unwrap();
    }
    let f = root.path().join("conf/httpd.conf");
    std::fs::write(&f, text).unwrap();
    (root, f)
}

fn run_conf(root: &Path, file: &Path, args: &[&str]) -> Output {
    let r = root.display().to_string();
    let f = file.display().to_string();
    let mut all = vec!["-d", r.as_str(), "-f", f.as_str()];
    all.extend_from_slice(args);
    run(&all)
}

const BASE: &str = "Listen 127.0.0.1:1\nServerName localhost\n";

fn signal(pid: u32, sig: &str) {
    let st = command("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(st.success(), "kill -{sig} {pid}");
}

fn exited(s: &mut Server, limit: Duration) -> bool {
    wait_until(limit, || matches!(s.child.try_wait(), Ok(Some(_))))
}

// ---------------------------------------------------------------------------------------
// Informational flags

#[test]
fn version_flag() {
    let o = run(&["-v"]);
    assert_eq!(o.status.code(), Some(0));
    let text = out(&o);
    let re = Regex::new(
        r"^Server version: rhttpd/\d+\.\d+\.\d+ \(Unix\)\nServer built:   [A-Z][a-z]{2} [ \d]\d \d{4} \d{2}:\d{2}:\d{2}\n$",
    )
    .unwrap();
    assert!(re.is_match(&text), "{text:?}");
    assert!(text.contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn compile_settings_report_the_loaded_mpm() {
    let o = run(&["-V"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let text = out(&o);
    assert!(text.starts_with("Server version: rhttpd/"), "{text}");
    assert!(
        Regex::new(r"(?m)^Server MPM:     \w+$")
            .unwrap()
            .is_match(&text),
        "{text}"
    );
    assert!(text.contains("\n  threaded:     "), "{text}");
    assert!(text.contains("\n    forked:     "), "{text}");
    assert!(text.contains("Server compiled with....\n"), "{text}");
    assert!(
        text.contains(&format!(
            " -D HTTPD_ROOT=\"{}\"\n",
            env!("CARGO_MANIFEST_DIR")
        )),
        "{text}"
    );
    assert!(
        text.contains(" -D SERVER_CONFIG_FILE=\"conf/httpd.conf\"\n"),
        "{text}"
    );

    let (root, f) = conf(&format!(
        "{BASE}LoadModule mpm_prefork_module modules/x.so\n"
    ));
    let text = out(&run_conf(root.path(), &f, &["-V"]));
    assert!(
        text.contains(
            "Server MPM:     prefork\n  threaded:     no\n    forked:     yes (variable process count)\n"
        ),
        "{text}"
    );
    let (root, f) = conf(&format!("{BASE}LoadModule mpm_event_module modules/x.so\n"));
    let text = out(&run_conf(root.path(), &f, &["-V"]));
    assert!(
        text.contains(
            "Server MPM:     event\n  threaded:     yes (fixed thread count)\n    forked:     yes (variable process count)\n"
        ),
        "{text}"
    );
    let (root, f) = conf(&format!(
        "{BASE}LoadModule mpm_worker_module modules/x.so\n"
    ));
    let text = out(&run_conf(root.path(), &f, &["-V"]));
    assert!(text.contains("Server MPM:     worker\n"), "{text}");

    let (root, f) = conf(&format!(
        "{BASE}LoadModule mpm_prefork_module modules/a.so\nLoadModule mpm_event_module modules/b.so\n"
    ));
    let o = run_conf(root.path(), &f, &["-t"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("More than one MPM loaded."), "{}", err(&o));
    assert!(!err(&o).contains("Syntax OK"));
}

#[test]
fn list_compiled_modules() {
    let o = run(&["-l"]);
    assert_eq!(o.status.code(), Some(0));
    let text = out(&o);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("Compiled in modules:"));
    let mods: Vec<&str> = lines.collect();
    assert_eq!(mods.first(), Some(&"  core.c"), "{text}");
    for m in &mods {
        assert!(
            m.starts_with("  ") && m.ends_with(".c") && !m[2..].contains(' '),
            "{m:?}"
        );
    }
    for m in [
        "  mod_so.c",
        "  http_core.c",
        "  mod_log_config.c",
        "  mod_mime.c",
    ] {
        assert!(mods.contains(&m), "{m} missing: {text}");
    }
    // Loadable modules are not compiled in.
    assert!(!mods.contains(&"  mod_status.c"), "{text}");
}

#[test]
fn list_directives() {
    let (root, f) = conf(BASE);
    let o = run_conf(root.path(), &f, &["-L"]);
    assert_eq!(o.status.code(), Some(0));
    let text = out(&o);
    assert!(
        text.contains("DocumentRoot (core.c)\n\tRoot directory of the document tree\n\tAllowed in *.conf only outside <Directory>, <Files>, <Location>, or <If>\n"),
        "{text}"
    );
    assert!(
        text.contains("<Directory (core.c)\n\tContainer for directives affecting resources located in the specified directories\n\tAllowed in *.conf only outside <Directory>, <Files>, <Location>, or <If>\n"),
        "{text}"
    );
    assert!(text.contains("\nOptions (core.c)\n"), "{text}");
    assert!(text.contains("\nCustomLog (mod_log_config.c)\n"), "{text}");
    // Every entry is three lines: name (source), \thelp, \tAllowed in ...
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len() % 3, 0);
    let entry = Regex::new(r"^<?\w+ \([\w.]+\.c\)$").unwrap();
    for e in lines.chunks(3) {
        assert!(entry.is_match(e[0]), "{e:?}");
        assert!(e[1].starts_with('\t'), "{e:?}");
        assert!(e[2].starts_with("\tAllowed in *.conf "), "{e:?}");
    }
    // A loaded module adds its directives.
    assert!(!text.contains("ExtendedStatus (mod_status.c)"));
    let (root, f) = conf(&format!(
        "{BASE}LoadModule status_module modules/mod_status.so\n"
    ));
    let text = out(&run_conf(root.path(), &f, &["-L"]));
    assert!(text.contains("\nExtendedStatus (mod_status.c)\n"), "{text}");
}

#[test]
fn list_loaded_modules() {
    let (root, f) = conf(BASE);
    let line_re = Regex::new(r"^ \w+_module \((static|shared)\)$").unwrap();
    for args in [&["-M"][..], &["-t", "-D", "DUMP_MODULES"][..]] {
        let o = run_conf(root.path(), &f, args);
        assert_eq!(o.status.code(), Some(0), "{}", err(&o));
        let text = out(&o);
        assert!(
            text.starts_with("Loaded Modules:\n core_module (static)\n"),
            "{text}"
        );
        assert!(text.contains("\n so_module (static)\n"), "{text}");
        assert!(!text.contains("status_module"), "{text}");
        for l in text.lines().skip(1) {
            assert!(line_re.is_match(l), "{l:?}");
        }
    }
    let (root, f) = conf(&format!(
        "{BASE}LoadModule status_module modules/mod_status.so\nLoadModule mpm_prefork_module modules/mod_mpm_prefork.so\n"
    ));
    let text = out(&run_conf(root.path(), &f, &["-M"]));
    assert!(
        text.ends_with(" status_module (shared)\n mpm_prefork_module (shared)\n"),
        "{text}"
    );
    // -M checks the configuration like -t.
    let (root, f) = conf(&format!("{BASE}Bogus\n"));
    let o = run_conf(root.path(), &f, &["-M"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("Invalid command 'Bogus'"));
}

const VHOSTS: &str = "User nobody\nGroup nogroup\n<VirtualHost *:80>\n  ServerName a.example\n  ServerAlias www.a.example *.wild.example\n</VirtualHost>\n<VirtualHost *:80>\n  ServerName b.example\n</VirtualHost>\n<VirtualHost 127.0.0.1:8081>\n  ServerName c.example\n</VirtualHost>\n";

#[test]
fn dump_vhosts_and_run_settings() {
    let (root, f) = conf(&format!(
        "{BASE}PidFile logs/x.pid\nDocumentRoot htdocs\n{VHOSTS}"
    ));
    let fs = f.display();
    let r = root.path().display();
    let o = run_conf(root.path(), &f, &["-S"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let text = out(&o);
    let vhost_part = format!(
        "VirtualHost configuration:
127.0.0.1:8081         c.example ({fs}:14)
*:80                   is a NameVirtualHost
         default server a.example ({fs}:7)
         port 80 namevhost a.example ({fs}:7)
                 alias www.a.example
                 wild alias *.wild.example
         port 80 namevhost b.example ({fs}:11)
"
    );
    assert!(text.starts_with(&vhost_part), "{text}");
    let rest = &text[vhost_part.len()..];
    let mut lines = rest.lines();
    assert_eq!(lines.next(), Some(format!("ServerRoot: \"{r}\"").as_str()));
    assert_eq!(
        lines.next(),
        Some(format!("Main DocumentRoot: \"{r}/htdocs\"").as_str())
    );
    assert_eq!(
        lines.next(),
        Some(format!("Main ErrorLog: \"{r}/logs/error_log\"").as_str())
    );
    assert!(
        rest.contains(&format!("\nPidFile: \"{r}/logs/x.pid\"\n")),
        "{rest}"
    );
    assert!(
        rest.contains("\nDefine: DUMP_VHOSTS\nDefine: DUMP_RUN_CFG\n"),
        "{rest}"
    );
    let re = Regex::new(
        r#"(?m)^User: name="nobody" id=\d+( not_used)?\nGroup: name="nogroup" id=\d+( not_used)?$"#,
    )
    .unwrap();
    assert!(re.is_match(rest), "{rest}");

    // -t -D DUMP_VHOSTS: the vhost part only; -t -D DUMP_RUN_CFG: the rest only.
    let o = run_conf(root.path(), &f, &["-t", "-D", "DUMP_VHOSTS"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(out(&o), vhost_part);
    let o = run_conf(root.path(), &f, &["-t", "-D", "DUMP_RUN_CFG"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(out(&o).starts_with("ServerRoot: "), "{}", out(&o));
    assert!(!out(&o).contains("VirtualHost configuration"));

    // -D given both ways shows up as a Define.
    let o = run_conf(root.path(), &f, &["-S", "-D", "SEP", "-DATT"]);
    assert!(
        out(&o).contains("\nDefine: SEP\nDefine: ATT\n"),
        "{}",
        out(&o)
    );
}

#[test]
fn help_and_bad_options() {
    for flag in ["-h", "-?"] {
        let o = run(&[flag]);
        assert_eq!(o.status.code(), Some(1), "{flag}");
        assert!(out(&o).is_empty(), "usage goes to stderr");
        let e = err(&o);
        assert!(
            e.starts_with("Usage: rhttpd [-D name] [-d directory] [-f file]\n"),
            "{e}"
        );
        for opt in [
            "-D name",
            "-f file",
            "-t ",
            "-S ",
            "-X ",
            "-k start|restart|graceful|graceful-stop|stop",
        ] {
            assert!(e.contains(opt), "{opt} missing: {e}");
        }
    }
    let o = run(&["-Z"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("illegal option -- Z"), "{}", err(&o));
    assert!(err(&o).contains("Usage: rhttpd"), "{}", err(&o));
    let o = run(&["-f"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains("option requires an argument -- f"),
        "{}",
        err(&o)
    );
    let (root, f) = conf(BASE);
    let o = run_conf(root.path(), &f, &["-k", "bounce"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("bounce"), "{}", err(&o));
}

#[test]
fn defines_attached_and_separate() {
    let text = format!(
        "{BASE}<IfDefine ONE>\nBogusOne\n</IfDefine>\n<IfDefine TWO>\nBogusTwo\n</IfDefine>\n"
    );
    let (root, f) = conf(&text);
    let o = run_conf(root.path(), &f, &["-t"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let o = run_conf(root.path(), &f, &["-t", "-DONE"]);
    assert!(
        err(&o).contains("Invalid command 'BogusOne'"),
        "{}",
        err(&o)
    );
    let o = run_conf(root.path(), &f, &["-t", "-D", "TWO"]);
    assert!(
        err(&o).contains("Invalid command 'BogusTwo'"),
        "{}",
        err(&o)
    );
    // Flags may be grouped as with getopt: -tDTWO.
    let o = run_conf(root.path(), &f, &["-tDTWO"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains("Invalid command 'BogusTwo'"),
        "{}",
        err(&o)
    );
}

#[test]
fn skip_document_root_check() {
    let (root, f) = conf(&format!("{BASE}DocumentRoot /nonexistent/rhttpd-docroot\n"));
    let o = run_conf(root.path(), &f, &["-t"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        err(&o).contains(
            "AH00112: Warning: DocumentRoot [/nonexistent/rhttpd-docroot] does not exist"
        ),
        "{}",
        err(&o)
    );
    assert!(err(&o).contains("Syntax OK"));
    let o = run_conf(root.path(), &f, &["-t", "-T"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(!err(&o).contains("AH00112"), "{}", err(&o));
}

/// Every process whose parent is `pid` (from /proc).
fn children_of(pid: u32) -> Vec<u32> {
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(p) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
            continue;
        };
        // pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'.
        let after = &stat[stat.rfind(')').unwrap_or(0) + 1..];
        let ppid = after.split_whitespace().nth(1).and_then(|x| x.parse().ok());
        if ppid == Some(pid) {
            v.push(p);
        }
    }
    v
}

#[test]
fn one_process_mode_serves_in_the_foreground_process() {
    let s = Server::start("");
    s.write("htdocs/x.txt", "x");
    for _ in 0..3 {
        assert_eq!(s.get("/x.txt").status, 200);
    }
    let pid = s.child.id();
    // -X: the process we started is the server (pid file), in the foreground, with no
    // children.
    assert_eq!(s.log("httpd.pid").trim(), pid.to_string());
    assert!(children_of(pid).is_empty(), "{:?}", children_of(pid));
}

fn server_args(s: &Server) -> (String, String) {
    (
        s.root.path().display().to_string(),
        s.path("conf/httpd.conf").display().to_string(),
    )
}

#[test]
fn k_stop_stops_the_running_server() {
    let mut s = Server::start("");
    let pid_file = s.path("logs/httpd.pid");
    assert!(pid_file.exists());
    let (r, f) = server_args(&s);
    let o = run(&["-d", &r, "-f", &f, "-k", "stop"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(
        exited(&mut s, Duration::from_secs(10)),
        "server still running"
    );
    assert!(!pid_file.exists(), "pid file left behind");
    assert!(
        s.log("error_log")
            .contains("AH00169: caught SIGTERM, shutting down")
    );
    // Stopping again: nothing runs.
    let o = run(&["-d", &r, "-f", &f, "-k", "stop"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(out(&o), "rhttpd (no pid file) not running\n");
}

#[test]
fn k_start_and_plain_start_while_running() {
    let s = Server::start("");
    let pid = s.child.id();
    let (r, f) = server_args(&s);
    for args in [&["-k", "start"][..], &[][..]] {
        let mut all = vec!["-d", r.as_str(), "-f", f.as_str()];
        all.extend_from_slice(args);
        let o = run(&all);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", err(&o));
        assert_eq!(out(&o), format!("rhttpd (pid {pid}) already running\n"));
    }
    // The running one is untouched.
    assert_eq!(s.get("/").status, 403);
    assert_eq!(s.log("httpd.pid").trim(), pid.to_string());
}

fn rewrite_config(s: &Server, body: &str) {
    std::fs::write(
        s.path("conf/httpd.conf"),
        Server::config_text(s.root.path(), s.port, body),
    )
    .unwrap();
}

#[test]
fn k_graceful_rereads_the_configuration() {
    let s = Server::start("");
    s.write("htdocs/v.txt", "one");
    s.write("htdocs2/v.txt", "two");
    s.write("htdocs2/err.html", "custom 404 after graceful");
    assert_eq!(s.get("/v.txt").text(), "one");
    assert_eq!(s.get("/missing").status, 404);
    rewrite_config(
        &s,
        &format!(
            "DocumentRoot \"{}\"\nErrorDocument 404 /err.html\n",
            s.path("htdocs2").display()
        ),
    );
    let (r, f) = server_args(&s);
    let o = run(&["-d", &r, "-f", &f, "-k", "graceful"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let changed = wait_until(Duration::from_secs(10), || s.get("/v.txt").text() == "two");
    assert!(
        changed,
        "graceful restart did not apply the new DocumentRoot"
    );
    let r404 = s.get("/missing");
    assert_eq!(r404.status, 404);
    assert_eq!(r404.text(), "custom 404 after graceful");
    assert!(
        s.wait_log("error_log", "AH00171")
            .contains("AH00171: Graceful restart requested, doing restart")
    );
    // Same process, same pid file.
    assert_eq!(s.log("httpd.pid").trim(), s.child.id().to_string());
}

#[test]
fn k_graceful_with_a_bad_config_signals_nothing() {
    let s = Server::start("");
    s.write("htdocs/v.txt", "one");
    assert_eq!(s.get("/v.txt").text(), "one");
    let good = std::fs::read_to_string(s.path("conf/httpd.conf")).unwrap();
    let bad = format!(
        "{good}DocumentRoot \"{}\"\nBogusDirective on\n",
        s.path("htdocs2").display()
    );
    std::fs::write(s.path("conf/httpd.conf"), &bad).unwrap();
    let bad_line = bad.lines().count();
    let (r, f) = server_args(&s);
    let o = run(&["-d", &r, "-f", &f, "-k", "graceful"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains(&format!(
            "AH00526: Syntax error on line {bad_line} of {f}:\nInvalid command 'BogusDirective'"
        )),
        "{}",
        err(&o)
    );
    // Nothing was signalled: the server serves the old configuration and logged no
    // restart.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(s.get("/v.txt").text(), "one");
    let log = s.log("error_log");
    assert!(!log.contains("AH00171"), "{log}");
    assert!(!log.contains("restart refused"), "{log}");
}

#[test]
fn sigusr1_with_a_bad_config_keeps_serving() {
    let s = Server::start("");
    s.write("htdocs/v.txt", "one");
    assert_eq!(s.get("/v.txt").text(), "one");
    let good = std::fs::read_to_string(s.path("conf/httpd.conf")).unwrap();
    std::fs::write(s.path("conf/httpd.conf"), format!("{good}<Directory />\n")).unwrap();
    signal(s.child.id(), "USR1");
    let log = s.wait_log("error_log", "restart refused");
    assert!(log.contains("<Directory> was not closed."), "{log}");
    assert!(log.contains("[core:error]"), "{log}");
    assert_eq!(s.get("/v.txt").text(), "one");
    assert!(!log.contains("AH00171"), "{log}");
    // Fixing the file and signalling again applies it.
    std::fs::write(
        s.path("conf/httpd.conf"),
        format!("{good}ErrorDocument 404 \"fixed now\"\n"),
    )
    .unwrap();
    signal(s.child.id(), "HUP");
    assert!(wait_until(Duration::from_secs(10), || s
        .get("/nope")
        .text()
        == "fixed now"));
}

// ---------------------------------------------------------------------------------------
// The embedded default configuration

const REPO: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn default_config_syntax_ok() {
    for args in [&["-t", "-d", REPO][..], &["-t"][..]] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", err(&o));
        assert!(err(&o).contains("Syntax OK"), "{}", err(&o));
    }
    let o = run(&["-S", "-d", REPO]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let text = out(&o);
    assert!(text.starts_with("VirtualHost configuration:\n"), "{text}");
    assert!(
        text.contains(&format!("ServerRoot: \"{REPO}\"\n")),
        "{text}"
    );
    assert!(
        text.contains(&format!("Main DocumentRoot: \"{REPO}/htdocs\"\n")),
        "{text}"
    );
    assert!(text.contains("Main ErrorLog: \"stderr\"\n"), "{text}");
    assert!(
        text.contains("PidFile: \"/tmp/rhttpd-default.pid\"\n"),
        "{text}"
    );
}

#[test]
fn default_config_serves_the_repository_htdocs() {
    if std::net::TcpListener::bind("127.0.0.1:8080").is_err() {
        eprintln!("note: 127.0.0.1:8080 is in use, default configuration not started");
        return;
    }
    if let Ok(pid) = std::fs::read_to_string("/tmp/rhttpd-default.pid")
        && Path::new(&format!("/proc/{}", pid.trim())).exists()
    {
        eprintln!("note: a default-config rhttpd already runs, not started");
        return;
    }
    let mut child = Spawned::spawn(
        command(BIN)
            .args(["-d", REPO, "-X"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    )
    .unwrap();
    let up = wait_until(Duration::from_secs(15), || {
        matches!(child.try_wait(), Ok(Some(_))) || TcpStream::connect("127.0.0.1:8080").is_ok()
    });
    let still_running = matches!(child.try_wait(), Ok(None));
    let result = std::panic::catch_unwind(|| {
        assert!(up && still_running, "default configuration did not start");
        let mut c = TcpStream::connect("127.0.0.1:8080").unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        std::io::Write::write_all(
            &mut c,
            b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
        let mut raw = Vec::new();
        let _ = std::io::Read::read_to_end(&mut c, &mut raw);
        let r = parse_response(&raw).expect("response");
        assert_eq!(r.status, 200);
        let want = std::fs::read(format!("{REPO}/htdocs/index.html")).unwrap();
        assert_eq!(r.body, want);
        assert_eq!(r.header("content-type"), Some("text/html"));
    });
    // TERM (so the pid file in /tmp is removed), SIGKILL only if that did not work.
    signal(child.id(), "TERM");
    if !wait_until(Duration::from_secs(10), || {
        matches!(child.try_wait(), Ok(Some(_)))
    }) {
        child.kill();
    }
    let output = child.wait_with_output().unwrap();
    assert!(
        !Path::new("/tmp/rhttpd-default.pid").exists(),
        "pid file left after TERM"
    );
    if let Err(e) = result {
        eprintln!("stderr: {}", String::from_utf8_lossy(&output.stderr));
        std::panic::resume_unwind(e);
    }
    // CustomLog /dev/stdout combined.
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("\"GET / HTTP/1.1\" 200 "),
        "access log on stdout: {stdout}"
    );
}

#[test]
fn start_fails_cleanly_when_the_port_is_taken() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let (root, f) = conf(&format!(
        "Listen 127.0.0.1:{port}\nServerName localhost\nPidFile logs/httpd.pid\nErrorLog logs/error_log\n"
    ));
    let r = root.path().display().to_string();
    let fs = f.display().to_string();
    let mut child = Spawned::spawn(
        command(BIN)
            .args(["-d", &r, "-f", &fs, "-X"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
    )
    .unwrap();
    let done = wait_until(Duration::from_secs(10), || {
        matches!(child.try_wait(), Ok(Some(_)))
    });
    if !done {
        child.kill();
    }
    let o = child.wait_with_output().unwrap();
    assert!(done, "rhttpd kept running without its listener");
    assert_eq!(o.status.code(), Some(1));
    let e = err(&o);
    assert!(
        e.contains(&format!(
            "(98)Address already in use: AH00072: make_sock: could not bind to address 127.0.0.1:{port}\n"
        )),
        "{e}"
    );
    assert!(
        e.contains("no listening sockets available, shutting down"),
        "{e}"
    );
    assert!(!root.path().join("logs/httpd.pid").exists());
    drop(taken);
}

// ---------------------------------------------------------------------------------------
// The harness itself

/// Dropping a `Spawned` leaves nothing behind: neither a member of its process group that
/// cleared its environment (as php-fpm's workers overwrite theirs), nor a process that
/// left the group for a session of its own (as a daemon does) but kept the marker.
#[test]
fn dropping_a_spawned_kills_its_group_and_its_escaped_descendants() {
    let mut cmd = command("sh");
    cmd.arg("-c")
        .arg("env -i sleep 300 & echo $!; setsid sleep 300 & wait")
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    let mut sh = Spawned::spawn(&mut cmd).unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(sh.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let in_group: i32 = line.trim().parse().unwrap();
    let sh_pid = sh.id() as i32;
    let marker = cmd
        .get_envs()
        .find_map(|(k, v)| (k == MARKER).then_some(v?))
        .map(|v| format!("{MARKER}={}", v.to_string_lossy()))
        .unwrap();
    // setsid(1) forks (its caller leads a group) and the child makes its own session:
    // found by the marker, its pid also its group's and session's id.
    let mut escaped = Vec::new();
    assert!(wait_until(Duration::from_secs(10), || {
        escaped = std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter(|&p| p != sh_pid && pid_alive(p))
            .filter(|&p| {
                std::fs::read(format!("/proc/{p}/environ"))
                    .is_ok_and(|e| e.split(|&b| b == 0).any(|v| v == marker.as_bytes()))
            })
            .filter(|&p| {
                std::fs::read_to_string(format!("/proc/{p}/stat"))
                    .is_ok_and(|s| s.contains(&format!(" {p} {p} ")))
            })
            .collect();
        !escaped.is_empty() && pid_alive(in_group)
    }));
    drop(sh);
    assert!(
        wait_until(Duration::from_secs(5), || {
            !pid_alive(in_group) && escaped.iter().all(|&p| !pid_alive(p))
        }),
        "left running: group member {in_group}, escaped {escaped:?}"
    );
}
