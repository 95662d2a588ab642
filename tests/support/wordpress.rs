//! WordPress from Debian's `wordpress` package on a real MariaDB server and PHP-FPM, for
//! tests/e2e_wordpress.rs: the database, the PHP pool and a copy of the WordPress tree in
//! a temporary directory, one configuration text that both rhttpd and Apache httpd read,
//! and the visit a new site owner makes (installer, login, a post through the REST API,
//! pretty permalinks, the admin area, a static asset), returning each step's status.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::common::{Resp, Spawned, command, output, parse_response, php_fpm_binary, wait_until};

const WORDPRESS: &str = "/usr/share/wordpress";
const MARIADBD: &str = "/usr/sbin/mariadbd";
pub const APACHE: &str = "/usr/sbin/apache2";
const ADMIN_PASSWORD: &str = "Secret-pass-123";

/// WordPress's own rules (wp-admin/includes/misc.php), as an operator pastes them when
/// WordPress cannot write `.htaccess` itself.
const HTACCESS: &str = "# BEGIN WordPress\n<IfModule mod_rewrite.c>\nRewriteEngine On\n\
    RewriteRule .* - [E=HTTP_AUTHORIZATION:%{HTTP:Authorization}]\nRewriteBase /\n\
    RewriteRule ^index\\.php$ - [L]\nRewriteCond %{REQUEST_FILENAME} !-f\n\
    RewriteCond %{REQUEST_FILENAME} !-d\nRewriteRule . /index.php [L]\n</IfModule>\n\
    # END WordPress\n";

/// The database, the PHP pool and the site's files.
pub struct Stack {
    pub dir: tempfile::TempDir,
    _db: Spawned,
    _fpm: Spawned,
}

/// Why the stack cannot run here (a package is missing), if it cannot.
pub fn missing() -> Option<String> {
    let fpm = php_fpm_binary();
    for (what, ok) in [
        (
            "wordpress",
            Path::new(WORDPRESS).join("wp-settings.php").exists(),
        ),
        ("mariadb-server", Path::new(MARIADBD).exists()),
        ("php-fpm", fpm.is_some()),
        ("php-mysql", fpm_has_mysqli()),
    ] {
        if !ok {
            return Some(format!(
                "{what} is not installed (scripts/test.sh installs it)"
            ));
        }
    }
    None
}

/// Whether PHP-FPM loads mysqli (`/etc/php/*/fpm/conf.d/*mysqli.ini`).
fn fpm_has_mysqli() -> bool {
    let Ok(versions) = std::fs::read_dir("/etc/php") else {
        return false;
    };
    versions.filter_map(|v| v.ok()).any(|v| {
        std::fs::read_dir(v.path().join("fpm/conf.d")).is_ok_and(|rd| {
            rd.filter_map(|e| e.ok())
                .any(|e| e.file_name().to_string_lossy().contains("mysqli"))
        })
    })
}

impl Stack {
    /// Start MariaDB (its own datadir and socket, no TCP) and PHP-FPM (its own pool on a
    /// Unix socket), and copy WordPress with a `wp-config.php` pointing at them.
    pub fn start() -> Stack {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for sub in ["db", "run", "logs", "tmp"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        // Apache's and rhttpd's children run as www-data: they must reach the files.
        std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let install = output(
            command("mariadb-install-db")
                .arg("--no-defaults")
                .arg(format!("--datadir={}", d.join("db").display()))
                // Its own temporary directory: two bootstraps at once must not meet.
                .arg(format!("--tmpdir={}", d.join("tmp").display()))
                .args([
                    "--user=root",
                    "--auth-root-authentication-method=normal",
                    "--skip-test-db",
                ]),
        )
        .expect("run mariadb-install-db");
        assert!(
            install.status.success(),
            "mariadb-install-db: {}",
            String::from_utf8_lossy(&install.stderr)
        );
        let sock = d.join("run/my.sock");
        let db = Spawned::spawn(
            command(MARIADBD)
                .arg("--no-defaults")
                .arg(format!("--datadir={}", d.join("db").display()))
                .arg(format!("--socket={}", sock.display()))
                .arg(format!("--tmpdir={}", d.join("tmp").display()))
                .arg(format!("--pid-file={}", d.join("run/my.pid").display()))
                .arg(format!(
                    "--log-error={}",
                    d.join("logs/mariadb.err").display()
                ))
                .args([
                    "--skip-networking",
                    "--user=root",
                    "--innodb-buffer-pool-size=16M",
                    "--skip-log-bin",
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
        .expect("start mariadbd");
        let created = wait_until(Duration::from_secs(30), || {
            sock.exists()
                && output(
                    command("mariadb")
                        .arg("--no-defaults")
                        .arg("-S")
                        .arg(&sock)
                        .args([
                            "-u",
                            "root",
                            "-e",
                            "CREATE DATABASE IF NOT EXISTS wordpress",
                        ]),
                )
                .is_ok_and(|o| o.status.success())
        });
        assert!(
            created,
            "MariaDB did not start: {}",
            std::fs::read_to_string(d.join("logs/mariadb.err")).unwrap_or_default()
        );

        let fpm_sock = d.join("run/php.sock");
        std::fs::write(
            d.join("fpm.conf"),
            format!(
                "[global]\npid = {p}/run/fpm.pid\nerror_log = {p}/logs/fpm.log\ndaemonize = no\n\
                 [www]\nuser = root\ngroup = root\nlisten = {s}\nlisten.mode = 0666\n\
                 pm = static\npm.max_children = 4\nclear_env = yes\ncatch_workers_output = yes\n",
                p = d.display(),
                s = fpm_sock.display()
            ),
        )
        .unwrap();
        let fpm = Spawned::spawn(
            command(php_fpm_binary().expect("php-fpm"))
                .arg("-F")
                .arg("-R")
                .arg("-y")
                .arg(d.join("fpm.conf"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
        .expect("start php-fpm");
        assert!(
            wait_until(Duration::from_secs(15), || fpm_sock.exists()),
            "php-fpm did not start: {}",
            std::fs::read_to_string(d.join("logs/fpm.log")).unwrap_or_default()
        );

        // A copy of the package's tree (symlinks into /usr/share/javascript and
        // friends kept), with a configuration of our own instead of Debian's lookup in
        // /etc/wordpress. Each server gets its own tables (by port).
        let copy = output(command("cp").arg("-a").arg(WORDPRESS).arg(d.join("wp")))
            .expect("copy WordPress");
        assert!(copy.status.success());
        std::fs::write(
            d.join("wp/wp-config.php"),
            format!(
                "<?php\ndefine('DB_NAME', 'wordpress');\ndefine('DB_USER', 'root');\n\
                 define('DB_PASSWORD', '');\ndefine('DB_HOST', 'localhost:{sock}');\n\
                 define('DB_CHARSET', 'utf8mb4');\n\
                 $table_prefix = 'wp' . $_SERVER['SERVER_PORT'] . '_';\n\
                 define('WP_HOME', 'http://' . $_SERVER['HTTP_HOST']);\n\
                 define('WP_SITEURL', 'http://' . $_SERVER['HTTP_HOST']);\n\
                 define('AUTOMATIC_UPDATER_DISABLED', true);\n\
                 define('WP_HTTP_BLOCK_EXTERNAL', true);\ndefine('DISABLE_WP_CRON', true);\n\
                 define('ABSPATH', __DIR__ . '/');\nrequire_once ABSPATH . 'wp-settings.php';\n",
                sock = sock.display()
            ),
        )
        .unwrap();
        std::fs::write(d.join("wp/.htaccess"), HTACCESS).unwrap();
        Stack {
            dir,
            _db: db,
            _fpm: fpm,
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The configuration both servers read: `mpm` is the MPM's LoadModule and sizing
    /// lines, `name` tells the pid and log files apart.
    pub fn config(&self, port: u16, name: &str, mpm: &str) -> String {
        let d = self.dir.path().display();
        let m = "/usr/lib/apache2/modules";
        format!(
            "ServerRoot \"{d}\"\nListen 127.0.0.1:{port}\nServerName 127.0.0.1\n\
             PidFile {d}/run/{name}.pid\nDefaultRuntimeDir {d}/run\n\
             ErrorLog {d}/logs/{name}_error.log\nLogLevel warn\n{mpm}\
             LoadModule authz_core_module {m}/mod_authz_core.so\n\
             LoadModule dir_module {m}/mod_dir.so\n\
             LoadModule mime_module {m}/mod_mime.so\n\
             LoadModule rewrite_module {m}/mod_rewrite.so\n\
             LoadModule proxy_module {m}/mod_proxy.so\n\
             LoadModule proxy_fcgi_module {m}/mod_proxy_fcgi.so\n\
             User www-data\nGroup www-data\nTypesConfig /etc/mime.types\n\
             LogFormat \"%h %l %u %t \\\"%r\\\" %>s %b\" common\n\
             CustomLog {d}/logs/{name}_access.log common\n\
             DocumentRoot \"{d}/wp\"\nDirectoryIndex index.php index.html\n\
             <Directory />\n    AllowOverride None\n    Require all denied\n</Directory>\n\
             <Directory \"{d}/wp\">\n    Options FollowSymLinks\n    AllowOverride All\n\
                 Require all granted\n</Directory>\n\
             <FilesMatch \".+\\.php$\">\n    SetHandler \"proxy:unix:{d}/run/php.sock|fcgi://localhost\"\n</FilesMatch>\n"
        )
    }
}

/// The event MPM's lines, as small as the test needs.
pub const EVENT: &str = "LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so\n\
    StartServers 1\nServerLimit 2\nThreadsPerChild 8\nMinSpareThreads 1\nMaxSpareThreads 16\n\
    MaxRequestWorkers 16\n";
pub const PREFORK: &str = "LoadModule mpm_prefork_module /usr/lib/apache2/modules/mod_mpm_prefork.so\n\
    StartServers 2\nMinSpareServers 1\nMaxSpareServers 4\n";

/// A server (rhttpd or Apache) started in the foreground on a configuration file.
pub struct Running {
    pub port: u16,
    _process: Spawned,
}

impl Running {
    pub fn start(program: &str, conf: &Path, port: u16) -> Running {
        let process = Spawned::spawn(
            command(program)
                .arg("-f")
                .arg(conf)
                .args(["-D", "FOREGROUND"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
        .unwrap_or_else(|e| panic!("start {program}: {e}"));
        assert!(
            wait_until(Duration::from_secs(15), || {
                TcpStream::connect(("127.0.0.1", port)).is_ok()
            }),
            "{program} did not listen on {port}"
        );
        Running {
            port,
            _process: process,
        }
    }
}

/// A browser's cookie jar, reduced to what WordPress needs (every cookie on every path).
#[derive(Default)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    fn take(&mut self, r: &Resp) {
        for (k, v) in &r.headers {
            if !k.eq_ignore_ascii_case("set-cookie") {
                continue;
            }
            let pair = v.split(';').next().unwrap_or("");
            if let Some((name, value)) = pair.split_once('=') {
                if value.is_empty() || value == "deleted" {
                    self.0.remove(name.trim());
                } else {
                    self.0.insert(name.trim().to_string(), value.to_string());
                }
            }
        }
    }

    fn header(&self) -> String {
        if self.0.is_empty() {
            return String::new();
        }
        let pairs: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("Cookie: {}\r\n", pairs.join("; "))
    }
}

/// One request on a fresh connection (bounded by socket timeouts).
fn http(port: u16, method: &str, target: &str, headers: &str, body: &[u8]) -> Resp {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut req = format!(
        "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: rhttpd-test\r\n\
         {headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    s.write_all(&req).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    parse_response(&raw).unwrap_or_else(|| {
        panic!(
            "{method} {target}: no response: {:?}",
            String::from_utf8_lossy(&raw)
        )
    })
}

fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
    let enc = |s: &str| {
        let mut o = String::new();
        for b in s.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    o.push(b as char)
                }
                b' ' => o.push('+'),
                _ => o.push_str(&format!("%{b:02X}")),
            }
        }
        o
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes()
}

/// The value after `key":"` (or `key" value="`) in a page.
fn scrape(page: &str, before: &str) -> String {
    let at = page
        .find(before)
        .unwrap_or_else(|| panic!("{before} not in the page"));
    page[at + before.len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect()
}

/// What a new site owner does, step by step: `(step, status)` for each. Content is
/// checked on the way (the installer succeeded, PHP ran rather than being sent as
/// source, the post's pretty permalink shows the post).
pub fn visit(port: u16) -> Vec<(&'static str, u16)> {
    let mut steps = Vec::new();
    let mut jar = Jar::default();
    let form_type = "Content-Type: application/x-www-form-urlencoded\r\n";

    let r = http(port, "GET", "/", "", b"");
    assert_eq!(
        r.header("location"),
        Some(format!("http://127.0.0.1:{port}/wp-admin/install.php").as_str())
    );
    steps.push(("GET / (not installed)", r.status));
    let r = http(port, "GET", "/wp-admin/install.php", "", b"");
    assert!(r.text().contains("weblog_title"), "{}", r.text());
    steps.push(("GET /wp-admin/install.php", r.status));
    let body = form(&[
        ("weblog_title", "Test Blog"),
        ("user_name", "admin"),
        ("admin_password", ADMIN_PASSWORD),
        ("admin_password2", ADMIN_PASSWORD),
        ("pw_weak", "1"),
        ("admin_email", "admin@example.org"),
        ("blog_public", "0"),
        ("Submit", "Install WordPress"),
        ("language", ""),
    ]);
    let r = http(
        port,
        "POST",
        "/wp-admin/install.php?step=2",
        form_type,
        &body,
    );
    assert!(r.text().contains("Success!"), "{}", r.text());
    steps.push(("POST /wp-admin/install.php?step=2", r.status));

    // Log in (WordPress wants its test cookie back).
    jar.0
        .insert("wordpress_test_cookie".into(), "WP%20Cookie%20check".into());
    let body = form(&[
        ("log", "admin"),
        ("pwd", ADMIN_PASSWORD),
        ("wp-submit", "Log In"),
        ("redirect_to", &format!("http://127.0.0.1:{port}/wp-admin/")),
        ("testcookie", "1"),
    ]);
    let headers = format!("{form_type}{}", jar.header());
    let r = http(port, "POST", "/wp-login.php", &headers, &body);
    jar.take(&r);
    assert!(
        jar.0.keys().any(|k| k.starts_with("wordpress_logged_in_")),
        "{:?}",
        r.headers
    );
    steps.push(("POST /wp-login.php", r.status));
    let r = http(port, "GET", "/wp-admin/", &jar.header(), b"");
    let dash = r.text();
    assert!(dash.contains("Dashboard"), "{dash}");
    assert!(!dash.contains("<?php"), "PHP source was sent");
    steps.push(("GET /wp-admin/ (logged in)", r.status));

    // A post dated 2026-12-01 with the slug `hello`, through the REST API with the
    // admin's cookie and nonce (what the block editor does).
    let settings = &dash[dash.find("wpApiSettings = ").expect("wpApiSettings")..];
    let nonce = scrape(settings, "\"nonce\":\"");
    let post = br#"{"title":"Hello from the test","slug":"hello","status":"publish","date":"2026-12-01T12:00:00","content":"Body text of the post."}"#;
    let headers = format!(
        "{}X-WP-Nonce: {nonce}\r\nContent-Type: application/json\r\n",
        jar.header()
    );
    let r = http(port, "POST", "/wp-json/wp/v2/posts", &headers, post);
    assert!(r.text().contains("\"slug\":\"hello\""), "{}", r.text());
    steps.push(("POST /wp-json/wp/v2/posts", r.status));

    // Pretty permalinks: /%year%/%monthnum%/%day%/%postname%/ from the settings page.
    let r = http(
        port,
        "GET",
        "/wp-admin/options-permalink.php",
        &jar.header(),
        b"",
    );
    let page = r.text();
    steps.push(("GET /wp-admin/options-permalink.php", r.status));
    let nonce = scrape(&page, "name=\"_wpnonce\" value=\"");
    let body = form(&[
        ("_wpnonce", &nonce),
        ("_wp_http_referer", "/wp-admin/options-permalink.php"),
        ("selection", "custom"),
        (
            "permalink_structure",
            "/%year%/%monthnum%/%day%/%postname%/",
        ),
        ("category_base", ""),
        ("tag_base", ""),
        ("submit", "Save Changes"),
    ]);
    let headers = format!("{form_type}{}", jar.header());
    let r = http(
        port,
        "POST",
        "/wp-admin/options-permalink.php",
        &headers,
        &body,
    );
    steps.push(("POST /wp-admin/options-permalink.php", r.status));

    let r = http(port, "GET", "/2026/12/01/hello/", "", b"");
    assert!(r.text().contains("Hello from the test"), "{}", r.text());
    steps.push(("GET /2026/12/01/hello/", r.status));
    let r = http(port, "GET", "/2026/12/01/no-such-post/", "", b"");
    steps.push(("GET /2026/12/01/no-such-post/", r.status));
    let r = http(port, "GET", "/index.php/2026/12/01/hello/", "", b"");
    steps.push(("GET /index.php/2026/12/01/hello/", r.status));
    let r = http(port, "GET", "/wp-includes/css/dashicons.min.css", "", b"");
    assert!(
        r.header("content-type")
            .is_some_and(|t| t.starts_with("text/css")),
        "{:?}",
        r.headers
    );
    steps.push(("GET /wp-includes/css/dashicons.min.css", r.status));
    let r = http(
        port,
        "GET",
        "/wp-content/themes/twentytwentythree/style.css",
        "",
        b"",
    );
    steps.push(("GET a theme's style.css", r.status));
    let r = http(port, "GET", "/wp-admin/", "", b"");
    assert!(
        r.header("location")
            .is_some_and(|l| l.contains("/wp-login.php")),
        "{:?}",
        r.headers
    );
    steps.push(("GET /wp-admin/ (anonymous)", r.status));
    let r = http(port, "GET", "/wp-json/wp/v2/posts?slug=hello", "", b"");
    assert!(r.text().contains("Hello from the test"), "{}", r.text());
    steps.push(("GET /wp-json/wp/v2/posts?slug=hello", r.status));
    let r = http(port, "GET", "/wp-config.php", "", b"");
    assert!(
        !r.text().contains("DB_PASSWORD"),
        "wp-config.php source was sent"
    );
    steps.push(("GET /wp-config.php", r.status));
    steps
}
