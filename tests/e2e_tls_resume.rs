//! End-to-end tests of TLS session resumption (issue #12) with `openssl s_client
//! -sess_out` / `-sess_in`: a session made with one child resumes on other children (a
//! CGI prints its parent's pid: the serving rhttpd process), for TLS 1.3 and 1.2, with
//! Debian's configuration (`SSLSessionTickets off` + an shmcb cache) and with tickets
//! only (`SSLSessionCache none`); across `-k graceful` and `-k restart`; with
//! `SSLSessionTicketKeyFile` across a full stop and start; and a session the server
//! cannot use (another instance's, another vhost's) falls back to a full handshake.
//!
//! Under prefork the next connection would usually go to the same idle child, so before
//! each resumption the child that served the previous one is kept busy by a half-sent
//! plain-HTTP request. Threaded MPMs recycle their processes with MaxConnectionsPerChild.
//!
//! TLS 1.3 sessions kept by the server (tickets off) are single-use (RFC 8446 §8.1,
//! rustls' `StoresServerSessions::take`): there, like a real client, each connection uses
//! the newest session the server gave it; in every other case the one saved file is
//! offered again and again.

mod common;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::tls::{self, Mpm, Ran, TlsServer};
use common::{pid_alive, pid_holding_connection, wait_until};

const CLIENTS: &[&str] = &["openssl", "curl"];

const PREFORK4: Mpm = Mpm {
    name: "prefork",
    conf: "LoadModule mpm_prefork_module modules/mod_mpm_prefork.so\nStartServers 4\nMinSpareServers 4\nMaxSpareServers 8\nServerLimit 16\nMaxRequestWorkers 16\nKeepAlive Off\n",
    args: &["-D", "FOREGROUND"],
};

const WORKER_RECYCLING: Mpm = Mpm {
    name: "worker",
    conf: "LoadModule mpm_worker_module modules/mod_mpm_worker.so\nServerLimit 4\nStartServers 2\nThreadsPerChild 4\nMinSpareThreads 5\nMaxSpareThreads 16\nMaxRequestWorkers 16\nMaxConnectionsPerChild 3\nKeepAlive Off\n",
    args: &["-D", "FOREGROUND"],
};

const EVENT_RECYCLING: Mpm = Mpm {
    name: "event",
    conf: "LoadModule mpm_event_module modules/mod_mpm_event.so\nServerLimit 4\nStartServers 2\nThreadsPerChild 4\nMinSpareThreads 5\nMaxSpareThreads 16\nMaxRequestWorkers 16\nMaxConnectionsPerChild 3\nKeepAlive Off\n",
    args: &["-D", "FOREGROUND"],
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Store {
    /// Debian: `SSLSessionTickets off` and `SSLSessionCache shmcb:...`.
    Cache,
    /// `SSLSessionTickets on` and `SSLSessionCache none`.
    Tickets,
}

fn global(store: Store, extra: &str) -> String {
    let st = match store {
        Store::Cache => {
            "SSLSessionCache shmcb:logs/ssl_scache(512000)\nSSLSessionCacheTimeout 300\nSSLSessionTickets off\n"
        }
        Store::Tickets => {
            "SSLSessionCache none\nSSLSessionCacheTimeout 300\nSSLSessionTickets on\n"
        }
    };
    format!("{}{st}{extra}", tls::CGI_MODULE)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Proto {
    Tls13,
    Tls12,
}

impl Proto {
    fn flag(self) -> &'static str {
        match self {
            Proto::Tls13 => "-tls1_3",
            Proto::Tls12 => "-tls1_2",
        }
    }
    fn name(self) -> &'static str {
        match self {
            Proto::Tls13 => "TLSv1.3",
            Proto::Tls12 => "TLSv1.2",
        }
    }
}

/// A client's saved session for one vhost and protocol.
struct Client {
    proto: Proto,
    sni: &'static str,
    file: PathBuf,
    /// Move to the newest session after each connection (single-use sessions).
    follow: bool,
    n: usize,
    /// The pid that served the connection which gave the session in `file`.
    maker: i32,
}

impl Client {
    fn new(s: &TlsServer, proto: Proto, store: Store, sni: &'static str) -> Client {
        Client {
            proto,
            sni,
            file: s.path(&format!("logs/sess-{}-{sni}-0.pem", proto.name())),
            follow: proto == Proto::Tls13 && store == Store::Cache,
            n: 0,
            maker: 0,
        }
    }

    fn get(&self, s: &TlsServer, sni: &str, sess_in: Option<&Path>, sess_out: &Path) -> Ran {
        let mut args = vec![self.proto.flag().to_string()];
        if let Some(f) = sess_in {
            args.push("-sess_in".into());
            args.push(f.display().to_string());
        }
        args.push("-sess_out".into());
        args.push(sess_out.display().to_string());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        s.s_get(Some(sni), sni, "/cgi-bin/ppid.cgi", &args)
    }

    /// The first connection: a full handshake saving the session. Returns the ppid.
    fn first(&mut self, s: &TlsServer) -> i32 {
        let r = self.get(s, self.sni, None, &self.file.clone());
        assert_eq!(
            r.session(),
            Some("New"),
            "first connection: {}\n{}",
            r.describe(),
            s.diag()
        );
        assert_eq!(
            r.protocol().as_deref(),
            Some(self.proto.name()),
            "{}",
            r.describe()
        );
        assert_eq!(r.http_status(), Some(200), "{}\n{}", r.describe(), s.diag());
        assert!(
            std::fs::metadata(&self.file).is_ok_and(|m| m.len() > 0),
            "s_client saved no session: {}",
            r.describe()
        );
        self.maker = r
            .ppid()
            .unwrap_or_else(|| panic!("no ppid: {}", r.describe()));
        self.maker
    }

    /// A connection offering the saved session (to SNI `sni`).
    fn again_to(&mut self, s: &TlsServer, sni: &str) -> Ran {
        self.n += 1;
        let next = self.file.with_file_name(format!(
            "sess-{}-{}-{}.pem",
            self.proto.name(),
            self.sni,
            self.n
        ));
        let r = self.get(s, sni, Some(&self.file.clone()), &next);
        if self.follow && sni == self.sni && std::fs::metadata(&next).is_ok_and(|m| m.len() > 0) {
            self.file = next;
            self.maker = r.ppid().unwrap_or(0);
        }
        r
    }

    /// A connection that must resume; returns the serving pid and the one that made the
    /// session it resumed.
    fn resume(&mut self, s: &TlsServer, what: &str) -> (i32, i32) {
        let maker = self.maker;
        let r = self.again_to(s, self.sni);
        assert!(
            r.reused(),
            "{what}: {} {} expected `Reused`, got {:?}\n{}\n{}",
            self.sni,
            self.proto.name(),
            r.session(),
            r.describe(),
            s.diag()
        );
        assert_eq!(r.http_status(), Some(200), "{what}: {}", r.describe());
        let pid = r
            .ppid()
            .unwrap_or_else(|| panic!("{what}: no ppid: {}", r.describe()));
        (pid, maker)
    }
}

fn wait_children(s: &TlsServer, n: usize) -> Vec<i32> {
    let mut kids = Vec::new();
    let ok = wait_until(Duration::from_secs(20), || {
        kids = s.children();
        kids.len() >= n
    });
    assert!(ok, "expected {n} children, have {kids:?}\n{}", s.diag());
    kids
}

/// Try to keep the prefork child `pid` busy: half-sent plain-HTTP requests (each
/// accepted one occupies a child) until one is accepted by `pid`, at most three (so
/// that idle children remain: an idle child gets connections in a stable order, and a
/// target far down that order is given up on). Dropping them frees the children.
fn occupy(s: &TlsServer, pid: i32) -> Vec<TcpStream> {
    let mut held = Vec::new();
    while held.len() < 3 && s.children().contains(&pid) {
        let mut c = s.connect();
        c.write_all(b"GET /index.html HTTP/1.1\r\nHost: localhost\r\n")
            .unwrap();
        let client_port = c.local_addr().unwrap().port();
        let mut holder = None;
        wait_until(Duration::from_secs(10), || {
            holder = pid_holding_connection(&s.children(), s.port, client_port);
            holder.is_some()
        });
        held.push(c);
        if holder == Some(pid) {
            break;
        }
    }
    held
}

/// `runs` resumptions; under prefork each with the previous server kept busy if it can
/// be. Returns (serving pid, pid that made the session resumed) of each.
fn resume_runs(
    s: &TlsServer,
    cl: &mut Client,
    runs: usize,
    mut prev: Option<i32>,
    prefork: bool,
    what: &str,
) -> Vec<(i32, i32)> {
    let mut pids = Vec::new();
    for i in 0..runs {
        let held = match (prefork, prev) {
            (true, Some(p)) => occupy(s, p),
            _ => Vec::new(),
        };
        let (pid, maker) = cl.resume(s, &format!("{what}, resumption {}", i + 1));
        drop(held);
        pids.push((pid, maker));
        prev = Some(pid);
    }
    pids
}

fn graceful_and_wait(s: &TlsServer, args: &[&str]) -> Vec<i32> {
    let old = s.children();
    let out = s.run_ctl(args);
    assert!(out.status.success(), "{args:?}: {out:?}");
    let ok = wait_until(Duration::from_secs(30), || {
        old.iter().all(|&p| !pid_alive(p)) && !s.children().is_empty()
    });
    assert!(
        ok,
        "after {args:?} the old children {old:?} are still there: {:?}\n{}",
        s.children(),
        s.diag()
    );
    old
}

fn across_prefork_children(store: Store, proto: Proto) {
    if !tls::have_clients(CLIENTS) {
        return;
    }
    let s = TlsServer::two_sites(PREFORK4, &global(store, ""), "", "");
    wait_children(&s, 4);
    let mut cl = Client::new(&s, proto, store, "a.test");
    let made_by = cl.first(&s);
    let what = format!("prefork {store:?} {}", proto.name());
    let pids = resume_runs(&s, &mut cl, 20, Some(made_by), true, &what);
    let distinct: BTreeSet<i32> = pids.iter().map(|p| p.0).chain([made_by]).collect();
    assert!(
        distinct.len() > 1,
        "{what}: every connection was served by one child: {pids:?} (served, made by)"
    );
    assert!(
        pids.iter().any(|(pid, maker)| pid != maker),
        "{what}: no session was resumed by a child other than the one that made it: {pids:?}"
    );

    // After a graceful restart, the new generation resumes the sessions made before.
    let old = graceful_and_wait(&s, &["-k", "graceful"]);
    let after = resume_runs(
        &s,
        &mut cl,
        5,
        None,
        true,
        &format!("{what} after -k graceful"),
    );
    assert!(
        after.iter().all(|p| !old.contains(&p.0)),
        "{what}: served by an old child after graceful: {after:?} (old {old:?})"
    );
}

#[test]
fn prefork_session_cache_tls13_resumes_on_other_children_and_after_graceful() {
    across_prefork_children(Store::Cache, Proto::Tls13);
}

#[test]
fn prefork_session_cache_tls12_resumes_on_other_children_and_after_graceful() {
    across_prefork_children(Store::Cache, Proto::Tls12);
}

#[test]
fn prefork_tickets_tls13_resume_on_other_children_and_after_graceful() {
    across_prefork_children(Store::Tickets, Proto::Tls13);
}

#[test]
fn prefork_tickets_tls12_resume_on_other_children_and_after_graceful() {
    across_prefork_children(Store::Tickets, Proto::Tls12);
}

fn across_threaded_children(mpm: Mpm) {
    if !tls::have_clients(CLIENTS) {
        return;
    }
    let s = TlsServer::two_sites(mpm, &global(Store::Cache, ""), "", "");
    for proto in [Proto::Tls13, Proto::Tls12] {
        let mut cl = Client::new(&s, proto, Store::Cache, "a.test");
        let made_by = cl.first(&s);
        let what = format!("{} cache {}", mpm.name, proto.name());
        let pids = resume_runs(&s, &mut cl, 8, Some(made_by), false, &what);
        assert!(
            pids.iter().any(|(pid, maker)| pid != maker),
            "{what}: MaxConnectionsPerChild 3, yet no session was resumed by another process \
             than the one that made it: {pids:?} (served, made by)"
        );
    }
}

#[test]
fn worker_session_cache_resumes_on_other_processes() {
    across_threaded_children(WORKER_RECYCLING);
}

#[test]
fn event_session_cache_resumes_on_other_processes() {
    across_threaded_children(EVENT_RECYCLING);
}

#[test]
fn ticket_key_file_keeps_tickets_valid_across_stop_and_start() {
    if !tls::have_clients(CLIENTS) {
        return;
    }
    let mut s = TlsServer::start(PREFORK4, |root, tls_port| {
        let mut key = [0u8; 48];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut key))
            .unwrap();
        std::fs::write(root.join("conf/ticket.key"), key).unwrap();
        tls::two_sites(
            root,
            tls_port,
            &global(Store::Tickets, "SSLSessionTicketKeyFile conf/ticket.key\n"),
            "",
            "",
        )
    });
    let mut clients: Vec<Client> = [Proto::Tls13, Proto::Tls12]
        .into_iter()
        .map(|p| Client::new(&s, p, Store::Tickets, "a.test"))
        .collect();
    for cl in &mut clients {
        cl.first(&s);
    }
    let parent = s.pid();
    s.stop_and_start();
    assert_ne!(s.pid(), parent);
    for cl in &mut clients {
        cl.resume(
            &s,
            "after a stop and a start with the same SSLSessionTicketKeyFile",
        );
    }
}

#[test]
fn sessions_the_server_cannot_use_fall_back_to_a_full_handshake() {
    if !tls::have_clients(CLIENTS) {
        return;
    }
    for store in [Store::Tickets, Store::Cache] {
        let mut s = TlsServer::two_sites(PREFORK4, &global(store, ""), "", "");
        let mut clients: Vec<Client> = [Proto::Tls13, Proto::Tls12]
            .into_iter()
            .map(|p| Client::new(&s, p, store, "a.test"))
            .collect();
        for cl in &mut clients {
            cl.first(&s);
        }
        // Another vhost (other certificate, other keys): not resumed, b's certificate.
        for cl in &mut clients {
            let r = cl.again_to(&s, "b.test");
            assert_eq!(
                r.session(),
                Some("New"),
                "{store:?} {}: a.test's session offered to b.test was resumed: {}",
                cl.proto.name(),
                r.describe()
            );
            let (subject, _) = tls::cert_info(&r.pem().expect("b's certificate"));
            assert_eq!(subject, "CN=b.test,O=Test", "{}", r.describe());
            assert_eq!(r.http_status(), Some(200), "{}", r.describe());
        }
        // A new server instance (new parent, no key file): sessions of the old one are
        // unknown or undecryptable -> full handshake, no error.
        s.stop_and_start();
        for cl in &mut clients {
            let r = cl.again_to(&s, "a.test");
            assert_eq!(
                r.session(),
                Some("New"),
                "{store:?} {}: another instance's session: {}\n{}",
                cl.proto.name(),
                r.describe(),
                s.diag()
            );
            assert_eq!(r.http_status(), Some(200), "{}", r.describe());
        }
    }
}

/// Issue #12 asks more than Apache here: ticket keys are kept across `-k restart` (Apache
/// makes new ones unless `SSLSessionTicketKeyFile` is set).
#[test]
fn tickets_resume_after_k_restart() {
    if !tls::have_clients(CLIENTS) {
        return;
    }
    let s = TlsServer::two_sites(PREFORK4, &global(Store::Tickets, ""), "", "");
    let mut clients: Vec<Client> = [Proto::Tls13, Proto::Tls12]
        .into_iter()
        .map(|p| Client::new(&s, p, Store::Tickets, "a.test"))
        .collect();
    for cl in &mut clients {
        cl.first(&s);
    }
    let old = graceful_and_wait(&s, &["-k", "restart"]);
    for cl in &mut clients {
        let (pid, _) = cl.resume(&s, "after -k restart");
        assert!(
            !old.contains(&pid),
            "served by an old child {pid} after -k restart"
        );
    }
}

/// A copy of the session in `sess` whose ticket has one byte changed (decoded and
/// re-encoded with `openssl sess_id`; the ticket is found by its first 16 bytes).
fn forge_ticket(dir: &Path, sess: &Path) -> PathBuf {
    let sess = sess.display().to_string();
    let text = tls::openssl(dir, &["sess_id", "-in", &sess, "-noout", "-text"]).out;
    let first_line = text
        .lines()
        .skip_while(|l| !l.contains("TLS session ticket:"))
        .nth(1)
        .unwrap_or_else(|| panic!("no ticket in the saved session:\n{text}"));
    let prefix: Vec<u8> = first_line
        .split_once(" - ")
        .map(|(_, hex)| hex)
        .unwrap_or("")
        .split(|c: char| c.is_whitespace() || c == '-')
        .filter(|t| !t.is_empty())
        .take(16)
        .map(|t| u8::from_str_radix(t, 16).expect("hex byte"))
        .collect();
    assert_eq!(prefix.len(), 16, "{first_line:?}");
    let der = format!("{sess}.der");
    tls::openssl(
        dir,
        &["sess_id", "-in", &sess, "-outform", "DER", "-out", &der],
    );
    let mut bytes = std::fs::read(&der).unwrap();
    let at = bytes
        .windows(16)
        .position(|w| w == prefix.as_slice())
        .expect("the ticket in the DER session")
        + 24;
    assert!(at < bytes.len(), "ticket too short");
    bytes[at] ^= 0x5a;
    std::fs::write(&der, bytes).unwrap();
    let forged = PathBuf::from(format!("{sess}.forged.pem"));
    tls::openssl(
        dir,
        &[
            "sess_id",
            "-inform",
            "DER",
            "-in",
            &der,
            "-out",
            forged.to_str().unwrap(),
        ],
    );
    forged
}

#[test]
fn forged_tickets_fall_back_to_a_full_handshake() {
    if !tls::have_clients(CLIENTS) {
        return;
    }
    let s = TlsServer::two_sites(PREFORK4, &global(Store::Tickets, ""), "", "");
    for proto in [Proto::Tls13, Proto::Tls12] {
        let mut cl = Client::new(&s, proto, Store::Tickets, "a.test");
        cl.first(&s);
        // The genuine ticket resumes; the forged one gets a full handshake and a response.
        cl.resume(&s, "the genuine ticket");
        cl.file = forge_ticket(&s.path("logs"), &cl.file);
        let r = cl.again_to(&s, "a.test");
        assert_eq!(
            r.session(),
            Some("New"),
            "{}: a forged ticket: {}\n{}",
            proto.name(),
            r.describe(),
            s.diag()
        );
        assert_eq!(r.http_status(), Some(200), "{}", r.describe());
    }
}
