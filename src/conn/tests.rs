//! The same connection scenarios under every driver: the blocking driver (prefork,
//! worker, `-X`), the readiness driver as an event worker runs it, and the readiness
//! driver as the event listener runs it (inline first, a worker when needed). Each
//! scenario is a client over real loopback TCP sending raw bytes and reading the
//! server's whole answer until it closes.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use rhttpd_sys::{Interest, Poller};

use super::readiness::{self, Next};
use super::{Connection, NoObserver, PlainTcp, blocking};
use crate::handler::ConnInfo;
use crate::site::Site;

#[derive(Clone, Copy, Debug)]
enum Driver {
    Blocking,
    EventWorker,
    EventInline,
}

const DRIVERS: [Driver; 3] = [Driver::Blocking, Driver::EventWorker, Driver::EventInline];

fn site(docroot: &std::path::Path) -> Site {
    let text = format!(
        "Listen 127.0.0.1:1\nServerName test\nDocumentRoot {}\nTimeout 5\nKeepAliveTimeout 5\nMaxKeepAliveRequests 3\n",
        docroot.display()
    );
    let cfg = crate::conf::load(&crate::conf::LoadOptions {
        file: "/nonexistent/httpd.conf".into(),
        server_root: std::env::temp_dir(),
        embedded: Some(Box::leak(text.into_boxed_str())),
        ..Default::default()
    })
    .expect("test configuration");
    Site::new(cfg, Vec::new()).expect("site")
}

/// Wait until `fd` is ready for `interest` (bounded: a scenario that hangs fails).
fn wait(conn: &Connection, interest: Interest) {
    let mut p = Poller::new(4).expect("poller");
    p.add(conn.transport.fd(), 1, interest).expect("register");
    let mut out = Vec::new();
    p.wait(Duration::from_secs(5), &mut out).expect("wait");
    assert!(!out.is_empty(), "the client went silent for 5 s");
    let _ = p.delete(conn.transport.fd());
}

/// What the event MPM's listener and workers do with a connection, in one thread.
fn drive_readiness(mut conn: Connection, site: &Site, inline: bool) {
    let mut scratch = vec![0u8; 16 * 1024];
    let mut next = Next::ReadMore;
    for _ in 0..1000 {
        next = match next {
            Next::ReadMore | Next::KeepAlive => {
                wait(&conn, Interest::Read);
                let inline_result = if inline {
                    readiness::try_inline(&mut conn, site, &mut NoObserver, &mut scratch)
                } else {
                    None
                };
                match inline_result {
                    Some(n) => n,
                    None => {
                        readiness::serve_available(&mut conn, site, &mut NoObserver, &mut scratch)
                    }
                }
            }
            Next::WriteCompletion => {
                wait(&conn, Interest::Write);
                readiness::continue_write(&mut conn, site, &mut NoObserver)
            }
            Next::Linger => {
                blocking::lingering_close(conn, &mut NoObserver);
                return;
            }
            // No handler of these tests opens a tunnel.
            Next::Close | Next::Tunnel | Next::Pending => return,
        };
    }
    panic!("the connection never finished");
}

/// Send `request` (in pieces split at `|`, with a short pause between them), close our
/// sending side unless `keep_open`, and return everything the server sent until it
/// closed.
fn exchange(driver: Driver, request: &str, keep_open: bool) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("index.html"), "hello\n").unwrap();
    std::fs::write(dir.path().join("big.bin"), vec![b'x'; 300 * 1024]).unwrap();
    let site = site(dir.path());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let pieces: Vec<String> = request.split('|').map(str::to_string).collect();
    let client = std::thread::spawn(move || {
        let mut c = TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        for (i, p) in pieces.iter().enumerate() {
            if i > 0 {
                std::thread::sleep(Duration::from_millis(30));
            }
            c.write_all(p.as_bytes()).unwrap();
        }
        if !keep_open {
            let _ = c.shutdown(Shutdown::Write);
        }
        let mut got = Vec::new();
        let _ = c.read_to_end(&mut got);
        String::from_utf8_lossy(&got).into_owned()
    });
    let (stream, client_addr) = listener.accept().unwrap();
    let info = ConnInfo::new(client_addr, stream.local_addr().unwrap());
    let started = Instant::now();
    match driver {
        Driver::Blocking => blocking::drive(
            Connection::new(Box::new(PlainTcp::new(stream)), info),
            &site,
            &mut NoObserver,
        ),
        Driver::EventWorker | Driver::EventInline => {
            let t = PlainTcp::nonblocking(stream).unwrap();
            drive_readiness(
                Connection::new(Box::new(t), info),
                &site,
                matches!(driver, Driver::EventInline),
            )
        }
    }
    assert!(started.elapsed() < Duration::from_secs(20));
    client.join().unwrap()
}

fn statuses(answer: &str) -> Vec<&str> {
    answer
        .match_indices("HTTP/1.1 ")
        .map(|(i, _)| &answer[i + 9..i + 12])
        .collect()
}

#[test]
fn pipelined_requests_are_answered_in_order_on_one_connection() {
    for d in DRIVERS {
        let a = exchange(
            d,
            "GET /index.html HTTP/1.1\r\nHost: a\r\n\r\nHEAD /index.html HTTP/1.1\r\nHost: a\r\n\r\nGET /nothing HTTP/1.1\r\nHost: a\r\n\r\n",
            false,
        );
        assert_eq!(statuses(&a), ["200", "200", "404"], "{d:?}: {a}");
        assert_eq!(
            a.matches("hello\n").count(),
            1,
            "{d:?}: HEAD has no body: {a}"
        );
        assert!(a.contains("Content-Length: 6"), "{d:?}: {a}");
    }
}

#[test]
fn a_head_split_across_packets_is_reassembled() {
    for d in DRIVERS {
        let a = exchange(d, "GET /index.ht|ml HTTP/1.1\r\nHo|st: a\r\n\r\n", false);
        assert_eq!(statuses(&a), ["200"], "{d:?}: {a}");
        assert!(a.ends_with("hello\n"), "{d:?}: {a}");
    }
}

#[test]
fn keep_alive_rules_close_when_the_request_asks() {
    for d in DRIVERS {
        // HTTP/1.0 without a keep-alive token: one response, then the server closes
        // (the client keeps its side open: read_to_end returns only if we close).
        let a = exchange(d, "GET /index.html HTTP/1.0\r\n\r\n", true);
        assert_eq!(statuses(&a), ["200"], "{d:?}: {a}");
        assert!(a.contains("Connection: close"), "{d:?}: {a}");
        // HTTP/1.1 with Connection: close: the pipelined second request is not served.
        let a = exchange(
            d,
            "GET /index.html HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /index.html HTTP/1.1\r\nHost: a\r\n\r\n",
            true,
        );
        assert_eq!(statuses(&a), ["200"], "{d:?}: {a}");
        // HTTP/1.0 with keep-alive is kept, with the Keep-Alive header.
        let a = exchange(
            d,
            "GET /index.html HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
            false,
        );
        assert!(a.contains("Keep-Alive: timeout=5, max=3"), "{d:?}: {a}");
    }
}

#[test]
fn max_keep_alive_requests_ends_the_connection() {
    for d in DRIVERS {
        let one = "GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n";
        let a = exchange(d, &one.repeat(6), true);
        // MaxKeepAliveRequests 3: three kept alive, the fourth closes.
        assert_eq!(statuses(&a), ["200"; 4], "{d:?}: {a}");
        assert_eq!(a.matches("Connection: close").count(), 1, "{d:?}: {a}");
    }
}

#[test]
fn an_unread_body_is_discarded_and_the_next_request_served() {
    for d in DRIVERS {
        // The static handler does not read the body: the driver drains it.
        let a = exchange(
            d,
            "POST /index.html HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nab|cdeGET /index.html HTTP/1.1\r\nHost: a\r\n\r\n",
            false,
        );
        let s = statuses(&a);
        assert_eq!(s.len(), 2, "{d:?}: {a}");
        assert_eq!(s[1], "200", "{d:?}: {a}");
    }
}

#[test]
fn expect_100_continue_is_answered_before_the_body_is_read() {
    for d in DRIVERS {
        // The client sends the body only after a pause (as curl waits for the 100):
        // the interim response comes first, then the final one, on a kept connection.
        let a = exchange(
            d,
            "POST /index.html HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n|abcde|GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n",
            false,
        );
        let s = statuses(&a);
        assert_eq!(s.len(), 3, "{d:?}: {a}");
        assert_eq!((s[0], s[2]), ("100", "200"), "{d:?}: {a}");
        assert!(a.starts_with("HTTP/1.1 100 Continue\r\n\r\n"), "{d:?}: {a}");
    }
}

#[test]
fn bad_requests_get_their_status_and_close() {
    for d in DRIVERS {
        let a = exchange(d, "GET / HTTP/3.0\r\n\r\n", true);
        assert_eq!(statuses(&a), ["505"], "{d:?}: {a}");
        let a = exchange(d, "GET / HTTP/1.1\r\n\r\n", true);
        assert_eq!(statuses(&a), ["400"], "{d:?}: no Host: {a}");
        let a = exchange(
            d,
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            true,
        );
        assert_eq!(statuses(&a), ["400"], "{d:?}: CL+TE: {a}");
        assert!(a.contains("Connection: close"), "{d:?}: {a}");
    }
}

#[test]
fn a_large_file_is_written_to_the_end() {
    for d in DRIVERS {
        let a = exchange(d, "GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n", false);
        assert_eq!(statuses(&a), ["200"], "{d:?}");
        let body = a.split("\r\n\r\n").nth(1).unwrap_or("");
        assert_eq!(body.len(), 300 * 1024, "{d:?}");
    }
}
