//! The servers the HTTP/2 wire tests (tests/e2e_h2_wire.rs, tests/e2e_h2_floods.rs) run
//! against: h2c with prior knowledge on the harness's plain port (`dynamic_support`'s
//! MPM settings) or h2 by ALPN on the TLS port of `TlsServer::two_sites` (host a.test),
//! under worker or event, each with a CGI that echoes its request body's length.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use crate::common::h2wire::{self, Conn};
use crate::common::tls::{self, TlsServer};
use crate::common::{Server, wait_until};
use crate::dynamic_support::{self, Site, script, start};

const H2C: &str = "LoadModule http2_module x\nProtocols h2 h2c http/1.1\n";
const H2_TLS: &str = "LoadModule http2_module modules/mod_http2.so\nProtocols h2 http/1.1\n";

/// A CGI printing the length of the request body it read.
pub const ECHO_CGI: &str = "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\nprintf 'len=%s' \"$(wc -c | tr -d ' ')\"\n";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    H2c,
    Tls,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MpmName {
    Worker,
    Event,
}

/// The four combinations every conformance group runs on.
pub const ALL: [(Transport, MpmName); 4] = [
    (Transport::H2c, MpmName::Worker),
    (Transport::H2c, MpmName::Event),
    (Transport::Tls, MpmName::Worker),
    (Transport::Tls, MpmName::Event),
];

enum Running {
    Plain(Server, Site),
    Tls(TlsServer),
}

/// A running server speaking HTTP/2 on one transport.
pub struct Target {
    pub name: String,
    pub transport: Transport,
    running: Running,
}

impl Target {
    /// Start a server for `transport` under `mpm` with `extra` server-level directives.
    pub fn start(transport: Transport, mpm: MpmName, extra: &str) -> Target {
        let name = format!("{transport:?}/{mpm:?}");
        let running = match transport {
            Transport::H2c => {
                let site = Site::new();
                let m = match mpm {
                    MpmName::Worker => dynamic_support::WORKER,
                    MpmName::Event => dynamic_support::EVENT,
                };
                script(&site.p("cgi-bin/echo.cgi"), ECHO_CGI);
                std::fs::write(site.p("htdocs/index.html"), "site a\n").unwrap();
                let conf = format!(
                    "{H2C}DocumentRoot \"{docs}\"\nScriptAlias /cgi-bin/ \"{cgi}/\"\n{extra}",
                    docs = site.s("htdocs"),
                    cgi = site.s("cgi-bin"),
                );
                Running::Plain(start(m, &conf), site)
            }
            Transport::Tls => {
                let m = match mpm {
                    MpmName::Worker => tls::WORKER,
                    MpmName::Event => tls::EVENT,
                };
                let s =
                    TlsServer::two_sites(m, &format!("{}{H2_TLS}{extra}", tls::CGI_MODULE), "", "");
                script(&s.path("cgi-bin/echo.cgi"), ECHO_CGI);
                Running::Tls(s)
            }
        };
        let t = Target {
            name,
            transport,
            running,
        };
        t.wait_children();
        t
    }

    pub fn server(&self) -> &Server {
        match &self.running {
            Running::Plain(s, _) => s,
            Running::Tls(t) => &t.s,
        }
    }

    /// The document root of the host the connections reach.
    pub fn docroot(&self) -> PathBuf {
        match &self.running {
            Running::Plain(_, site) => site.p("htdocs"),
            Running::Tls(t) => t.path("a"),
        }
    }

    /// Write a file under the document root.
    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) {
        std::fs::write(self.docroot().join(rel), content).unwrap();
    }

    pub fn authority(&self) -> &'static str {
        match self.transport {
            Transport::H2c => "localhost",
            Transport::Tls => "a.test",
        }
    }

    /// A connection, the preface not sent yet.
    pub fn connect(&self) -> Conn {
        let mut c: Conn = match &self.running {
            Running::Plain(s, _) => {
                let h = h2wire::connect_h2c(s.port);
                h2wire::H2::new(Box::new(h.io))
            }
            Running::Tls(t) => {
                let h = h2wire::connect_tls(t.tls, "a.test");
                h2wire::H2::new(Box::new(h.io))
            }
        };
        c.authority = self.authority().to_string();
        c
    }

    /// A connection past the handshake.
    pub fn open(&self) -> Conn {
        let mut c = self.connect();
        c.handshake();
        c
    }

    /// A connection past the handshake with our SETTINGS `ours`.
    pub fn open_with(&self, ours: &[(u16, u32)]) -> Conn {
        let mut c = self.connect();
        c.handshake_with(ours);
        c
    }

    /// The server's children (worker/event: the processes that serve).
    pub fn children(&self) -> Vec<i32> {
        self.server().children()
    }

    /// Wait until the parent has started its child.
    fn wait_children(&self) {
        let ok = wait_until(Duration::from_secs(10), || !self.children().is_empty());
        assert!(ok, "{}: no child process", self.name);
    }

    /// The summed VmRSS (KiB) of the children.
    pub fn children_rss_kib(&self) -> u64 {
        self.children()
            .iter()
            .filter_map(|pid| {
                let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
                let line = text.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
                line.split_whitespace().next()?.parse::<u64>().ok()
            })
            .sum()
    }

    /// The error log, for failure messages.
    pub fn diag(&self) -> String {
        format!(
            "--- error_log of {} ---\n{}",
            self.name,
            self.server().log("error_log")
        )
    }
}
