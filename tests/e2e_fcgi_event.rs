//! The event MPM sends a FastCGI request without a body (a PHP page's GET) from its
//! listener thread (`modules/proxy_fcgi_async.rs`): over a Unix socket, or over TCP on a
//! pooled connection (`enablereuse=on`), and waits for PHP-FPM's answer in epoll, so a
//! slow page costs no worker. These tests run Debian's real php-fpm and check what a
//! user sees: slow pages pending together hold no busy worker on the scoreboard, every
//! answer is its own request's, ProxyTimeout gives 504, answers larger than the listener
//! collects and internal redirects (`Location: /local`) still come out right, a
//! php-fpm that is not there gives 503, and a POST (which has a body) is still served.

mod common;
#[path = "support/dynamic.rs"]
mod dynamic_support;

use dynamic_support::*;

/// `slow.php?ms=N&n=I` sleeps N ms and names I; `big.php` is 200 KiB; `moved.php`
/// redirects internally to a static file (`Location` with status 200: PHP would make a
/// bare `Location` a 302); `post.php` echoes a form field.
fn site() -> Site {
    let site = Site::new();
    let pages = [
        (
            "slow.php",
            "<?php\nusleep((int)($_GET['ms'] ?? 0) * 1000);\nheader('Content-Type: text/plain');\necho 'answer ', $_GET['n'] ?? '';\n",
        ),
        (
            "big.php",
            "<?php\nheader('Content-Type: text/plain');\necho str_repeat('0123456789abcdef', 12800);\n",
        ),
        (
            "moved.php",
            "<?php\nheader('Location: /target.txt', true, 200);\n",
        ),
        ("post.php", "<?php\necho 'posted=', $_POST['p'] ?? '';\n"),
        ("target.txt", "the target\n"),
    ];
    for (name, text) in pages {
        std::fs::write(site.p(&format!("htdocs/{name}")), text).unwrap();
    }
    site
}

/// One event child of 8 workers (every request meets the same connection pool), with
/// mod_status and `handler` (the lines that send `.php` to php-fpm).
fn start_event(site: &Site, handler: &str) -> Server {
    let conf = format!(
        "LoadModule mpm_event_module x\nServerLimit 1\nStartServers 1\nThreadsPerChild 8\nMinSpareThreads 1\nMaxSpareThreads 8\nMaxRequestWorkers 8\n\
         {MODS}LoadModule status_module x\n<Location /server-status>\nSetHandler server-status\n</Location>\n\
         DocumentRoot \"{}\"\n{handler}",
        site.s("htdocs")
    );
    Server::start_with(&conf, &["-D", "FOREGROUND"])
}

fn unix_fpm(children: u32) -> PhpFpm {
    php_fpm_children(
        |d| d.join("php.sock").display().to_string(),
        |d| std::os::unix::net::UnixStream::connect(d.join("php.sock")).is_ok(),
        children,
    )
}

fn sethandler(fpm: &PhpFpm) -> String {
    format!(
        "<FilesMatch \\.php$>\n    SetHandler \"proxy:unix:{}|fcgi://localhost\"\n</FilesMatch>\n",
        fpm.dir.path().join("php.sock").display()
    )
}

/// `n` GETs of `path` at once, each on its own connection: (status, body) in order.
fn concurrent(s: &Server, path: &str, n: usize) -> Vec<(u16, Vec<u8>)> {
    let threads: Vec<_> = (0..n)
        .map(|i| {
            let addr = s.addr();
            let path = path.replace("{i}", &i.to_string());
            std::thread::spawn(move || {
                let mut c = TcpStream::connect(addr).unwrap();
                c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                write!(
                    c,
                    "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
                )
                .unwrap();
                let mut raw = Vec::new();
                let _ = c.read_to_end(&mut raw);
                let r = parse_response(&raw).expect("a response");
                (r.status, r.body)
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

fn busy_workers(s: &Server) -> u64 {
    let text = s.get("/server-status?auto").text();
    text.lines()
        .find_map(|l| l.strip_prefix("BusyWorkers: "))
        .and_then(|v| v.trim().parse().ok())
        .expect("BusyWorkers")
}

/// `n` pages of 2 s at once: the busy workers sampled while they wait, and the answers.
fn slow_pages_at_once(s: &Server, url: &str, n: usize) -> Vec<u64> {
    let (samples, answers) = std::thread::scope(|scope| {
        let requests = scope.spawn(|| concurrent(s, &format!("{url}?ms=2000&n={{i}}"), n));
        std::thread::sleep(Duration::from_millis(700));
        let samples: Vec<u64> = (0..3)
            .map(|_| {
                let b = busy_workers(s);
                std::thread::sleep(Duration::from_millis(300));
                b
            })
            .collect();
        (samples, requests.join().unwrap())
    });
    for (i, (status, body)) in answers.iter().enumerate() {
        assert_eq!(
            *status,
            200,
            "request {i}: {}\nerror_log:\n{}",
            String::from_utf8_lossy(body),
            s.log("error_log")
        );
        assert_eq!(
            String::from_utf8_lossy(body),
            format!("answer {i}"),
            "request {i} got another request's answer"
        );
    }
    samples
}

#[test]
fn php_pages_over_a_unix_socket_wait_in_the_listener_without_busy_workers() {
    let site = site();
    let fpm = unix_fpm(12);
    let s = start_event(&site, &sethandler(&fpm));
    // Twelve slow pages at once, more than the 8 workers.
    let samples = slow_pages_at_once(&s, "/slow.php", 12);
    assert_eq!(
        samples,
        vec![0, 0, 0],
        "busy workers while 12 PHP pages waited\nerror_log:\n{}",
        s.log("error_log")
    );
    drop(fpm);
}

#[test]
fn php_pages_over_pooled_tcp_connections_wait_in_the_listener() {
    let site = site();
    let port = free_port();
    // enablereuse=on keeps a php-fpm child on each pooled connection: more children
    // than connections, so that a fresh one is never queued behind them.
    let fpm = php_fpm_children(
        |_| format!("127.0.0.1:{port}"),
        |_| TcpStream::connect(("127.0.0.1", port)).is_ok(),
        14,
    );
    let conf = format!(
        "ProxyPass \"/app/\" \"fcgi://127.0.0.1:{port}{}/\" enablereuse=on\n",
        site.s("htdocs")
    );
    let s = start_event(&site, &conf);
    // The first round connects from workers and pools six connections; the second is
    // sent from the listener on them.
    for (status, body) in concurrent(&s, "/app/slow.php?ms=300&n={i}", 6) {
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    }
    let samples = slow_pages_at_once(&s, "/app/slow.php", 6);
    assert_eq!(
        samples,
        vec![0, 0, 0],
        "busy workers while 6 PHP pages waited on pooled connections\nerror_log:\n{}",
        s.log("error_log")
    );
    // One keep-alive client, every kind of answer in turn, twice: the pooled
    // connections stay in step with their requests.
    let mut c = s.connect();
    let mut buf = Vec::new();
    let big = "0123456789abcdef".repeat(12800);
    for _ in 0..2 {
        for (path, want) in [
            ("/app/slow.php?n=a", "answer a"),
            ("/app/big.php", big.as_str()),
            ("/app/slow.php?n=b", "answer b"),
        ] {
            write!(c, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
            let r = read_response(&mut c, &mut buf, false).expect("response");
            assert_eq!(r.status, 200, "{path}");
            assert!(
                r.text() == want,
                "{path}: {} bytes, not the page",
                r.body.len()
            );
        }
    }
    drop(fpm);
}

#[test]
fn large_answers_internal_redirects_and_posts_come_out_whole() {
    let site = site();
    let fpm = unix_fpm(2);
    let s = start_event(&site, &sethandler(&fpm));
    let big = "0123456789abcdef".repeat(12800);
    let mut c = s.connect();
    let mut buf = Vec::new();
    for (path, want) in [
        ("/slow.php?n=1", "answer 1"),
        ("/big.php", big.as_str()),
        ("/moved.php", "the target\n"),
        ("/slow.php?n=2", "answer 2"),
        ("/big.php", big.as_str()),
    ] {
        write!(c, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
        let r = read_response(&mut c, &mut buf, false).expect("response");
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert!(
            r.text() == want,
            "{path}: {} bytes: {:.200}",
            r.body.len(),
            r.text()
        );
    }
    // HEAD: the head alone, and the connection goes on.
    write!(c, "HEAD /slow.php?n=h HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let r = read_response(&mut c, &mut buf, true).expect("response");
    assert_eq!(r.status, 200);
    write!(c, "GET /slow.php?n=3 HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let r = read_response(&mut c, &mut buf, false).expect("response");
    assert_eq!(r.text(), "answer 3");
    let body = "p=from+a+form";
    let raw = s.raw(
        format!(
            "POST /post.php HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    let r = parse_response(&raw).expect("response");
    assert_eq!((r.status, r.text().as_str()), (200, "posted=from a form"));
    drop(fpm);
}

#[test]
fn proxy_timeout_answers_504_for_a_page_waiting_in_the_listener() {
    let site = site();
    let fpm = unix_fpm(2);
    let s = start_event(&site, &format!("ProxyTimeout 1\n{}", sethandler(&fpm)));
    assert_eq!(s.get("/slow.php?n=fast").text(), "answer fast");
    let t0 = Instant::now();
    let r = s.get("/slow.php?ms=6000&n=late");
    assert_eq!(r.status, 504, "{r:?}");
    assert!(
        t0.elapsed() < Duration::from_secs(4),
        "504 after {:?}, ProxyTimeout is 1 s",
        t0.elapsed()
    );
    assert!(
        s.log("error_log").contains("AH01075"),
        "{}",
        s.log("error_log")
    );
    drop(fpm);
}

#[test]
fn a_php_fpm_that_is_not_there_answers_503() {
    let site = site();
    let gone = site.p("no-such.sock");
    let s = start_event(
        &site,
        &format!(
            "<FilesMatch \\.php$>\n    SetHandler \"proxy:unix:{}|fcgi://localhost\"\n</FilesMatch>\n",
            gone.display()
        ),
    );
    for _ in 0..3 {
        assert_eq!(s.get("/slow.php?n=x").status, 503);
    }
    // Files not sent to php-fpm are served as usual.
    assert_eq!(s.get("/target.txt").text(), "the target\n");
}

/// php-fpm's end of the connections open to `sock` (accepted sockets carry the
/// listening socket's path in /proc/net/unix; state 03 = connected).
fn fpm_connections(sock: &Path) -> usize {
    let path = sock.display().to_string();
    std::fs::read_to_string("/proc/net/unix")
        .unwrap_or_default()
        .lines()
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() >= 8 && f[5] == "03" && f[7] == path
        })
        .count()
}

#[test]
fn a_proxy_section_turns_on_reuse_for_the_sethandler_form() {
    let site = site();
    let fpm = unix_fpm(4);
    let sock = fpm.dir.path().join("php.sock");
    // mod_proxy_fcgi's documented form: the worker named by the URL after the pipe
    // (here without the section's trailing slash).
    let section = "<Proxy \"fcgi://localhost/\" enablereuse=on>\n</Proxy>\n";
    for reuse in [false, true] {
        let conf = format!("{}{}", if reuse { section } else { "" }, sethandler(&fpm));
        let s = start_event(&site, &conf);
        let mut c = s.connect();
        let mut buf = Vec::new();
        for i in 0..5 {
            write!(c, "GET /slow.php?n={i} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
            let r = read_response(&mut c, &mut buf, false).expect("response");
            assert_eq!(r.text(), format!("answer {i}"), "reuse {reuse}");
        }
        // Five requests one after another: one kept connection with reuse, else none.
        let want = usize::from(reuse);
        assert!(
            wait_until(Duration::from_secs(5), || fpm_connections(&sock) == want),
            "reuse {reuse}: {} php-fpm connections open, want {want}",
            fpm_connections(&sock)
        );
        drop(c);
        drop(s);
        assert!(wait_until(Duration::from_secs(5), || fpm_connections(
            &sock
        ) == 0));
    }
    drop(fpm);
}
