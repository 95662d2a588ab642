//! End-to-end tests of the directives of the foundation issue, each observed in a running
//! server (or by `-t` where that is what it changes): Listen, vhosts, DocumentRoot,
//! DirectoryIndex, Alias, Options, AllowOverride, Require, TypesConfig/AddType,
//! AddDefaultCharset, ErrorDocument, ServerTokens/ServerSignature, keep-alive, Timeout,
//! limits, FileETag/EnableSendfile, HostnameLookups, PidFile, User/Group and the later
//! additions. Bounded waits, ephemeral loopback ports, only our own server is signalled.

mod common;
#[path = "support/config.rs"]
mod config_support;

use config_support::*;

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
    // Other values are read (tests/e2e_htaccess.rs); a bad one is an error.
    let o = r.check(
        &format!("{BASE}<Directory />\n  AllowOverride All\n</Directory>\n"),
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = r.check(
        &format!("{BASE}<Directory />\n  AllowOverride Everything\n</Directory>\n"),
        &[],
    );
    assert_syntax_error(&o, &r.path("conf/httpd.conf"), 4, "Illegal override option");
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
fn error_document_expressions() {
    // Apache 2.4.13+: the argument is a string expression, evaluated per response.
    let s = Server::start(concat!(
        "ErrorDocument 404 /errors/%{REQUEST_STATUS}.html\n",
        "ErrorDocument 403 \"Denied: %{REQUEST_URI} from %{REMOTE_ADDR}\"\n",
        "ErrorDocument 410 http://example.org/gone?from=%{REQUEST_URI}\n",
        "Redirect gone /old\n",
        "<Directory htdocs/secret>\n  Require all denied\n</Directory>\n",
    ));
    s.write("htdocs/errors/404.html", "page for 404");
    s.write("htdocs/secret/x.txt", "x");
    let r = s.get("/missing");
    assert_eq!((r.status, r.text().as_str()), (404, "page for 404"));
    let r = s.get("/secret/x.txt");
    assert_eq!(r.status, 403);
    assert_eq!(r.text(), "Denied: /secret/x.txt from 127.0.0.1");
    let r = s.get("/old");
    assert_eq!(r.status, 302);
    assert_eq!(
        r.header("location"),
        Some("http://example.org/gone?from=/old")
    );
    // A bad expression is a syntax error at start.
    let r = Root::new();
    let o = r.check(
        &format!("{BASE}ErrorDocument 404 /e/%{{NO_SUCH_VARIABLE}}\n"),
        &[],
    );
    assert_syntax_error(
        &o,
        &r.path("conf/httpd.conf"),
        3,
        "Cannot parse expression in ErrorDocument",
    );
}

#[test]
fn merge_slashes_on_and_off() {
    let conf = |merge: &str| {
        format!(
            "LoadModule headers_module x\n{merge}<LocationMatch \"//\">\n  Require all denied\n</LocationMatch>\n\
             <Location /dir/a.txt>\n  Header always set X-Plain-Location yes\n</Location>\n"
        )
    };
    // On (the default): `//` is `/` for everything.
    let s = Server::start(&conf(""));
    s.write("htdocs/dir/a.txt", "a");
    let r = s.get("/dir//a.txt");
    assert_eq!((r.status, r.text().as_str()), (200, "a"));
    assert_eq!(r.header("x-plain-location"), Some("yes"));
    drop(s);
    // Off: regular expressions see the slashes; plain <Location> still matches merged.
    let s = Server::start(&conf("MergeSlashes Off\n"));
    s.write("htdocs/dir/a.txt", "a");
    let r = s.get("/dir//a.txt");
    assert_eq!(r.status, 403);
    assert_eq!(r.header("x-plain-location"), Some("yes"));
    assert_eq!(s.get("/dir/a.txt").status, 200);
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
    let st = command("kill")
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

/// MaxRanges / MaxRangeOverlaps / MaxRangeReversals per section: past a limit the whole
/// file is sent (200), as Apache does; `none` ignores ranges.
#[test]
fn max_ranges_directives() {
    let srv = common::Server::start(
        "<Location /one>\n  MaxRanges 1\n</Location>\n<Location /none>\n  MaxRanges none\n</Location>\n\
         <Location /ov>\n  MaxRangeOverlaps 1\n</Location>\n",
    );
    for d in ["one", "none", "ov", "free"] {
        std::fs::create_dir_all(srv.path(&format!("htdocs/{d}"))).unwrap();
        srv.write(&format!("htdocs/{d}/f.txt"), "0123456789abcdefghij");
    }
    let st = |path: &str, range: &str| {
        srv.request(&format!(
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nRange: bytes={range}\r\nConnection: close\r\n\r\n"
        ))
        .status
    };
    assert_eq!(st("/free/f.txt", "0-1,4-5"), 206);
    assert_eq!(st("/one/f.txt", "0-1"), 206);
    assert_eq!(st("/one/f.txt", "0-1,4-5"), 200);
    assert_eq!(st("/none/f.txt", "0-1"), 200);
    assert_eq!(st("/ov/f.txt", "0-5,2-7"), 206, "one overlap is allowed");
    assert_eq!(st("/ov/f.txt", "0-5,2-7,3-8"), 200);
    // ContentDigest On is refused; Off is accepted.
    let bad = common::Server::config_text(srv.root.path(), 1, "ContentDigest On\n");
    let f = srv.path("conf/bad.conf");
    std::fs::write(&f, bad).unwrap();
    let o = common::run(&["-t", "-f", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("ContentDigest On"));
    let o = common::run(&["-t", "-f", f.to_str().unwrap(), "-C", "MaxRanges lots"]);
    assert_eq!(o.status.code(), Some(1));
}
