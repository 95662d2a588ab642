//! `Protocols` (core) and mod_http2's directives for one host: which protocols a
//! connection may speak and the HTTP/2 session's limits.
//!
//! As in Apache, HTTP/2 is on only where `Protocols` names it and mod_http2 is loaded
//! (`LoadModule http2_module`); `h2c` is prior-knowledge HTTP/2 (`H2Direct`) and
//! `Upgrade: h2c` (`H2Upgrade`) on cleartext ports, `h2` is ALPN on TLS ports. Under
//! prefork the protocols are dropped at start with Apache's AH10034 warning.

use rhttpd_config::{ConfigError, Directive};

use super::values::{err, flag, number};

/// A protocol `Protocols` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    Http11,
    /// HTTP/2 over TLS (ALPN `h2`).
    H2,
    /// HTTP/2 over cleartext TCP.
    H2c,
}

/// A host's protocol settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct H2Host {
    /// `Protocols`, in the order given (Apache's default: `http/1.1`).
    pub protocols: Vec<Proto>,
    /// `ProtocolsHonorOrder` (default On: the server's order wins in ALPN).
    pub honor_order: bool,
    /// `H2Direct`: prior-knowledge h2c (default on where h2c is enabled).
    pub direct: Option<bool>,
    /// `H2Upgrade`: `Upgrade: h2c` on cleartext (default on where h2c is enabled).
    pub upgrade: Option<bool>,
    /// `H2MaxSessionStreams` (default 100).
    pub max_session_streams: u32,
    /// `H2WindowSize`: each stream's initial receive window (default 65535).
    pub window_size: u32,
    /// `H2StreamMaxMemSize`: response octets queued per stream before it waits for
    /// the client (default 65536).
    pub stream_max_mem: usize,
    /// `H2MaxWorkers` (server): stream threads per child at most; `None`: Apache's
    /// default, 1.5 × ThreadsPerChild and at least 4.
    pub max_workers: Option<usize>,
}

impl Default for H2Host {
    fn default() -> Self {
        H2Host {
            protocols: vec![Proto::Http11],
            honor_order: true,
            direct: None,
            upgrade: None,
            max_session_streams: 100,
            window_size: 65_535,
            stream_max_mem: 65_536,
            max_workers: None,
        }
    }
}

impl H2Host {
    /// Prior-knowledge HTTP/2 on a cleartext connection.
    pub fn h2c_direct(&self) -> bool {
        self.protocols.contains(&Proto::H2c) && self.direct.unwrap_or(true)
    }

    /// HTTP/1.1 `Upgrade: h2c`.
    pub fn h2c_upgrade(&self) -> bool {
        self.protocols.contains(&Proto::H2c) && self.upgrade.unwrap_or(true)
    }

    /// Whether any HTTP/2 protocol is enabled.
    pub fn any_h2(&self) -> bool {
        self.protocols.iter().any(|p| *p != Proto::Http11)
    }

    /// The ALPN protocols a TLS handshake offers, in `Protocols` order; empty when h2
    /// is not enabled (no ALPN at all, as before HTTP/2 existed: a client offering
    /// only h2 is not refused).
    pub fn alpn(&self) -> Vec<Vec<u8>> {
        if !self.protocols.contains(&Proto::H2) {
            return Vec::new();
        }
        self.protocols
            .iter()
            .filter_map(|p| match p {
                Proto::H2 => Some(b"h2".to_vec()),
                Proto::Http11 => Some(b"http/1.1".to_vec()),
                Proto::H2c => None,
            })
            .collect()
    }
}

/// mod_http2 directives that rhttpd accepts and does not act on, with why.
fn accepted_only(name: &str) -> Option<&'static str> {
    Some(match name {
        "H2MinWorkers" | "H2MaxWorkerIdleSeconds" => {
            "stream threads are started when a stream needs one and end with it"
        }
        "H2SerializeHeaders" => "requests are never serialized to HTTP/1.1",
        "H2Padding" => "frames are sent without padding",
        "H2PushPriority" | "H2PushDiarySize" | "H2PushResource" => {
            "server push is not done (browsers removed it)"
        }
        "H2CopyFiles" | "H2TLSWarmUpSize" | "H2TLSCoolDownSecs" | "H2OutputBuffering"
        | "H2MaxDataFrameLen" | "H2StreamTimeout" => "rhttpd sizes frames and buffers itself",
        "H2EarlyHints" => "103 Early Hints are not sent",
        "H2ProxyRequests" | "H2WebSockets" => "not supported over HTTP/2 yet",
        _ => return None,
    })
}

/// Whether `name` is a directive this module handles.
pub fn handles(name: &str) -> bool {
    name == "Protocols" || name == "ProtocolsHonorOrder" || name.starts_with("H2")
}

/// Apply one directive to `h`; notices go to `warnings`.
pub fn directive(
    h: &mut H2Host,
    d: &Directive,
    warnings: &mut Vec<String>,
) -> Result<(), ConfigError> {
    let a0 = d.args.first().map(String::as_str).unwrap_or("");
    match d.name {
        "Protocols" => {
            let mut list = Vec::new();
            for p in &d.args {
                let proto = match p.to_ascii_lowercase().as_str() {
                    "http/1.1" => Proto::Http11,
                    "h2" => Proto::H2,
                    "h2c" => Proto::H2c,
                    _ => {
                        warnings.push(format!(
                            "{}: Protocols {p}: not a protocol rhttpd speaks; ignored",
                            d.location
                        ));
                        continue;
                    }
                };
                if !list.contains(&proto) {
                    list.push(proto);
                }
            }
            h.protocols = list;
        }
        "ProtocolsHonorOrder" => {
            h.honor_order = flag(d);
            if !h.honor_order {
                warnings.push(format!(
                    "{}: ProtocolsHonorOrder off: rhttpd always chooses in Protocols order",
                    d.location
                ));
            }
        }
        "H2Direct" => h.direct = Some(flag(d)),
        "H2Upgrade" => h.upgrade = Some(flag(d)),
        "H2MaxSessionStreams" => {
            h.max_session_streams = number(d, "number")?;
            if h.max_session_streams == 0 {
                return Err(err(&d.location, "value must be > 0"));
            }
        }
        "H2WindowSize" => {
            let n: u32 = number(d, "number")?;
            if n == 0 || n > (1 << 31) - 1 {
                return Err(err(&d.location, "value must be > 0 and < 2^31"));
            }
            h.window_size = n;
        }
        "H2StreamMaxMemSize" => {
            h.stream_max_mem = number(d, "number")?;
            if h.stream_max_mem == 0 {
                return Err(err(&d.location, "value must be > 0"));
            }
        }
        "H2MaxWorkers" => {
            let n: usize = number(d, "number")?;
            if n == 0 {
                return Err(err(&d.location, "value must be > 0"));
            }
            h.max_workers = Some(n);
        }
        "H2ModernTLSOnly" => {
            // rustls offers only TLS 1.2+ with AEAD suites: what Apache's check requires.
        }
        "H2Push" => {
            if flag(d) {
                warnings.push(format!(
                    "{}: H2Push on: server push is not done by rhttpd (browsers removed it)",
                    d.location
                ));
            }
        }
        name => match accepted_only(name) {
            Some(why) => warnings.push(format!("{}: {name} {a0}: no effect: {why}", d.location)),
            None => return Err(err(&d.location, format!("Invalid command '{name}'"))),
        },
    }
    Ok(())
}

/// Stream threads per child: `H2MaxWorkers`, or Apache's default for `threads_per_child`.
pub fn stream_threads(cfg: &super::ServerConfig, threads_per_child: usize) -> usize {
    cfg.main
        .h2
        .max_workers
        .unwrap_or((threads_per_child * 3 / 2).max(4))
}

/// Once the whole configuration is read: HTTP/2 stays on only where mod_http2 is
/// loaded and the MPM can run it (not prefork: Apache's AH10034 advisory, once).
pub fn settle(cfg: &mut super::ServerConfig) {
    let wanted = std::iter::once(&cfg.main)
        .chain(cfg.vhosts.iter())
        .any(|h| h.h2.any_h2());
    if !wanted {
        return;
    }
    let loaded = cfg.loaded_modules.contains(&"http2_module");
    let prefork = cfg.mpm == Some(super::MpmKind::Prefork);
    if loaded && !prefork {
        return;
    }
    if !loaded {
        cfg.warnings.push(
            "Protocols h2/h2c: mod_http2 is not loaded (LoadModule http2_module ...): \
             serving http/1.1 only"
                .to_string(),
        );
    } else {
        cfg.warnings.push(PREFORK_WARNING.to_string());
    }
    for h in std::iter::once(&mut cfg.main).chain(cfg.vhosts.iter_mut()) {
        h.h2.protocols.retain(|p| *p == Proto::Http11);
        if h.h2.protocols.is_empty() {
            h.h2.protocols.push(Proto::Http11);
        }
    }
}

/// Apache's advisory warning when HTTP/2 is configured under prefork.
pub const PREFORK_WARNING: &str = "AH10034: The mpm module (prefork.c) is not supported by \
    mod_http2. The mpm determines how things are processed in your server. HTTP/2 has more \
    demands in this regard and the currently selected mpm will just not do. This is an \
    advisory warning. Your server will continue to work, but the HTTP/2 protocol will be \
    inactive.";

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &'static str, args: &[&str]) -> Directive {
        Directive {
            name,
            args: args.iter().map(|a| a.to_string()).collect(),
            location: rhttpd_config::Location::new("t.conf", 3),
        }
    }

    #[test]
    fn protocols_order_and_switches() {
        let mut h = H2Host::default();
        let mut w = Vec::new();
        assert!(!h.any_h2() && h.alpn().is_empty());
        directive(
            &mut h,
            &dir("Protocols", &["h2", "h2c", "http/1.1"]),
            &mut w,
        )
        .unwrap();
        assert!(h.h2c_direct() && h.h2c_upgrade());
        assert_eq!(h.alpn(), vec![b"h2".to_vec(), b"http/1.1".to_vec()]);
        directive(&mut h, &dir("H2Direct", &["off"]), &mut w).unwrap();
        assert!(!h.h2c_direct() && h.h2c_upgrade());
        directive(
            &mut h,
            &dir("Protocols", &["http/1.1", "acme-tls/1"]),
            &mut w,
        )
        .unwrap();
        assert!(!h.any_h2());
        assert!(w[0].contains("acme-tls/1"), "{w:?}");
    }

    #[test]
    fn limits_are_checked() {
        let mut h = H2Host::default();
        let mut w = Vec::new();
        assert!(directive(&mut h, &dir("H2MaxSessionStreams", &["0"]), &mut w).is_err());
        assert!(directive(&mut h, &dir("H2WindowSize", &["x"]), &mut w).is_err());
        directive(&mut h, &dir("H2WindowSize", &["1048576"]), &mut w).unwrap();
        assert_eq!(h.window_size, 1 << 20);
        directive(&mut h, &dir("H2MaxWorkers", &["8"]), &mut w).unwrap();
        assert_eq!(h.max_workers, Some(8));
        directive(&mut h, &dir("H2MinWorkers", &["8"]), &mut w).unwrap();
        assert!(w.last().unwrap().contains("no effect"), "{w:?}");
    }
}
