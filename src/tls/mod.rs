//! TLS (mod_ssl) with rustls and its ring provider; rustls types stay inside this
//! module. What it holds:
//!
//! - [`TlsSite`]: one generation's TLS configurations, one rustls `ServerConfig` per
//!   host with `SSLEngine on`, built by the parent before it forks (certificates and
//!   keys are read as root); the SNI name picks among them (`choose`);
//! - [`TlsTcp`] (`transport.rs`): the TLS transport of a connection;
//! - session resumption that works whichever child a client comes back to: ticket keys
//!   (`ticketer.rs`) and the session cache (`session_cache.rs`) live in shared memory
//!   the parent maps once and keeps across restarts, so sessions survive `-k graceful`
//!   and `-k restart`; the parent rotates the ticket keys ([`TlsSite::maintain`]);
//! - `suites.rs` (SSLProtocol, SSLCipherSuite), `certs.rs` (PEM, keys, client
//!   verification), `x509.rs` (the certificate facts mod_ssl exports), `vars.rs`
//!   (what a finished handshake tells the request core).

mod certs;
pub mod client;
pub mod session_cache;
pub mod suites;
pub mod ticketer;
mod transport;
mod vars;
pub mod x509;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use rustls::crypto::CryptoProvider;
use rustls::server::{NoServerSessionStorage, ServerConfig as RustlsConfig};

use crate::conf::ssl::{SessionCache, SslHost};
use crate::conf::{ServerConfig, VirtualHost, vhost};
use crate::log::{self, Level};

use self::session_cache::{SessionStore, VhostSessions};
use self::ticketer::{TicketKeySource, TicketKeys, VhostTicketer};
pub use self::transport::TlsTcp;

/// The TLS side of one host.
pub struct HostTls {
    pub config: Arc<RustlsConfig>,
    /// `SSL_SERVER_*` variables of its (first) certificate.
    server_vars: Vec<(String, String)>,
    server_pem: Arc<str>,
    /// `SSLVerifyClient optional_no_ca`: client certificates are taken unverified.
    generous: bool,
}

/// One generation's TLS configurations.
pub struct TlsSite {
    cfg: Arc<ServerConfig>,
    /// Index 0 = main server, i + 1 = `cfg.vhosts[i]`; `None` = no TLS there.
    hosts: Vec<Option<Arc<HostTls>>>,
    ticket_keys: Option<Arc<TicketKeys>>,
    ticket_lifetime: Duration,
}

/// Shared memory made once by the parent and kept across restarts.
struct Shared {
    ticket_keys: Option<Arc<TicketKeys>>,
    sessions: Option<(usize, Arc<SessionStore>)>,
}

static SHARED: Mutex<Shared> = Mutex::new(Shared {
    ticket_keys: None,
    sessions: None,
});

fn host_index(sel: Option<usize>) -> usize {
    sel.map(|i| i + 1).unwrap_or(0)
}

/// `name:port` of a host, for messages (Apache's `ssl_util_vhostid`).
fn host_id(v: &VirtualHost) -> String {
    let name = v.server_name.as_deref().unwrap_or("localhost");
    match v.addrs.first().and_then(|a| a.port) {
        Some(p) if !name.contains(':') => format!("{name}:{p}"),
        _ => name.to_string(),
    }
}

impl TlsSite {
    /// The TLS configurations of `cfg`; `Ok(None)` when no host has `SSLEngine on`.
    /// Errors are Apache's configuration errors (file and line of the directive).
    pub fn build(cfg: &Arc<ServerConfig>) -> Result<Option<TlsSite>, String> {
        let all: Vec<&VirtualHost> = std::iter::once(&cfg.main).chain(&cfg.vhosts).collect();
        if !all.iter().any(|h| h.ssl.engine) {
            return Ok(None);
        }
        let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
        let sessions = match cfg.ssl.session_cache {
            SessionCache::None => None,
            SessionCache::Shared { bytes } => match &shared.sessions {
                Some((size, store)) if *size == bytes => Some(store.clone()),
                _ => {
                    let store = Arc::new(SessionStore::new(bytes).map_err(|e| {
                        format!(
                            "AH01872: could not allocate the session cache ({bytes} bytes): {e}"
                        )
                    })?);
                    shared.sessions = Some((bytes, store.clone()));
                    Some(store)
                }
            },
        };
        let needs_keys = all
            .iter()
            .any(|h| h.ssl.engine && h.ssl.session_tickets && h.ssl.ticket_key_file.is_none());
        if needs_keys && shared.ticket_keys.is_none() {
            shared.ticket_keys =
                Some(Arc::new(TicketKeys::new().map_err(|e| {
                    format!("AH02288: could not make session ticket keys: {e}")
                })?));
        }
        let ticket_keys = shared.ticket_keys.clone().filter(|_| needs_keys);
        drop(shared);
        let mut hosts = Vec::with_capacity(all.len());
        for h in &all {
            hosts.push(if h.ssl.engine {
                Some(Arc::new(build_host(
                    h,
                    sessions.as_ref(),
                    ticket_keys.as_ref(),
                )?))
            } else {
                None
            });
        }
        Ok(Some(TlsSite {
            cfg: cfg.clone(),
            hosts,
            ticket_keys,
            ticket_lifetime: cfg.main.ssl.session_timeout.max(Duration::from_secs(1)),
        }))
    }

    /// Whether connections to `local` speak TLS: the host answering the address by
    /// default has `SSLEngine on`.
    pub fn serves(&self, local: SocketAddr) -> bool {
        let sel = vhost::select(&self.cfg, local, None);
        self.hosts.get(host_index(sel)).is_some_and(Option::is_some)
    }

    /// The host and TLS configuration for a ClientHello: the host the SNI name selects
    /// if it has TLS, else the address's default host (no SNI, or an unknown name).
    pub fn choose(
        &self,
        local: SocketAddr,
        sni: Option<&str>,
    ) -> Option<(Option<usize>, Arc<RustlsConfig>)> {
        let default = vhost::select(&self.cfg, local, None);
        let by_name = sni.map(|n| vhost::select(&self.cfg, local, Some(n)));
        by_name
            .into_iter()
            .chain([default])
            .find_map(|sel| Some((sel, self.host(sel)?.config.clone())))
    }

    fn host(&self, sel: Option<usize>) -> Option<&HostTls> {
        self.hosts.get(host_index(sel)).and_then(|h| h.as_deref())
    }

    /// The parent's once-a-second work: rotate the shared ticket keys when due.
    pub fn maintain(&self) {
        if let Some(keys) = &self.ticket_keys {
            keys.rotate_if_due(SystemTime::now(), self.ticket_lifetime);
        }
    }
}

/// A configuration error at `loc` (Apache's AH00526 form), or a bare one.
fn at(loc: Option<&rhttpd_config::Location>, msg: String) -> String {
    match loc {
        Some(l) => rhttpd_config::ConfigError::at(l, msg).to_string(),
        None => msg,
    }
}

fn log_warnings(ws: Vec<String>, loc: Option<&rhttpd_config::Location>) {
    for w in ws {
        let text = match loc {
            Some(l) => format!("{l}: {w}"),
            None => w,
        };
        log::log("ssl", Level::Warn, None, &text);
    }
}

fn build_host(
    h: &VirtualHost,
    sessions: Option<&Arc<SessionStore>>,
    ticket_keys: Option<&Arc<TicketKeys>>,
) -> Result<HostTls, String> {
    let ssl: &SslHost = &h.ssl;
    let id = host_id(h);
    let engine_loc = ssl.engine_location.as_ref().or(h.location.as_ref());
    if ssl.certs.is_empty() {
        return Err(at(
            engine_loc,
            format!(
                "AH02572: Failed to configure at least one certificate and key for {id} \
                 (SSLEngine on needs SSLCertificateFile)"
            ),
        ));
    }
    // No SSLProtocol line: Apache's default, `all -SSLv3`.
    let default_protocols = ["all".to_string()];
    let protocol_args = if ssl.protocol.is_empty() {
        &default_protocols[..]
    } else {
        &ssl.protocol[..]
    };
    let (protocols, warnings) = suites::parse_protocols(protocol_args)
        .map_err(|e| at(ssl.protocol_location.as_ref(), e))?;
    log_warnings(warnings, ssl.protocol_location.as_ref());
    let (cipher_suites, warnings) = suites::parse_cipher_suites(
        ssl.cipher_suite.as_deref(),
        ssl.cipher_suite_tls13.as_deref(),
        protocols,
    )
    .map_err(|e| at(ssl.cipher_location.as_ref(), e))?;
    log_warnings(warnings, ssl.cipher_location.as_ref());
    let provider = Arc::new(CryptoProvider {
        cipher_suites,
        ..rustls::crypto::ring::default_provider()
    });
    let mut keys = Vec::with_capacity(ssl.certs.len());
    for files in &ssl.certs {
        let ck = certs::load_pair(files, ssl.chain_file.as_deref(), &provider)
            .map_err(|e| at(Some(&files.location), e))?;
        if let Some(leaf) = ck.cert.first()
            && let Ok(s) = x509::summarize(leaf)
            && s.not_after < SystemTime::now()
        {
            log::log(
                "ssl",
                Level::Warn,
                None,
                &format!(
                    "AH01909: {id}: server certificate {} has expired (notAfter {})",
                    files.cert.display(),
                    x509::openssl_time(s.not_after)
                ),
            );
        }
        keys.push(ck);
    }
    if let Some(k) = ssl.pending_keys.first() {
        return Err(at(
            engine_loc,
            format!(
                "SSLCertificateKeyFile {} has no SSLCertificateFile to go with",
                k.display()
            ),
        ));
    }
    let versions = protocols.versions();
    let verifier = certs::client_verifier(
        ssl.verify_client,
        ssl.verify_depth,
        ssl.ca_file.as_deref(),
        ssl.ca_path.as_deref(),
        provider.clone(),
    )
    .map_err(|e| at(ssl.ca_location.as_ref().or(engine_loc), e))?;
    let builder = RustlsConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|e| at(ssl.protocol_location.as_ref(), format!("SSLProtocol: {e}")))?;
    let builder = match verifier {
        Some(v) => builder.with_client_cert_verifier(v),
        None => builder.with_no_client_auth(),
    };
    let first_cert = keys[0].cert[0].clone();
    let mut config = builder.with_cert_resolver(Arc::new(certs::HostCerts { keys }));
    config.ignore_client_order = ssl.honor_cipher_order;
    // ALPN per the SNI host's Protocols (h2 only where mod_http2 can serve it).
    config.alpn_protocols = h.h2.alpn();
    // Sessions and tickets are namespaced per host, so a session never resumes under
    // another host's certificates or client-verification settings.
    let namespace = format!(
        "{}|{:?}|{}",
        h.server_name.as_deref().unwrap_or(""),
        h.addrs,
        h.location.as_ref().map(|l| l.line).unwrap_or(0)
    );
    config.session_storage = match sessions {
        Some(store) => Arc::new(VhostSessions::new(
            store.clone(),
            &namespace,
            ssl.session_timeout,
        )),
        None => Arc::new(NoServerSessionStorage {}),
    };
    if ssl.session_tickets {
        let source = match &ssl.ticket_key_file {
            Some((path, loc)) => {
                TicketKeySource::File(ticketer::read_key_file(path).map_err(|e| at(Some(loc), e))?)
            }
            None => match ticket_keys {
                Some(k) => TicketKeySource::Shared(k.clone()),
                None => return Err("internal: ticket keys missing".to_string()),
            },
        };
        config.ticketer = Arc::new(VhostTicketer::new(source, &namespace, ssl.session_timeout));
    } else {
        // Stateful TLS 1.3 tickets: each is one cache entry, one is enough.
        config.send_tls13_tickets = 1;
    }
    let (server_vars, server_pem) = vars::server_vars(&first_cert);
    Ok(HostTls {
        config: Arc::new(config),
        server_vars,
        server_pem,
        generous: ssl.verify_client == crate::conf::ssl::VerifyClient::OptionalNoCa,
    })
}

/// The shared session cache's size in bytes, entries and counters (`None`: no cache).
pub fn session_cache_status() -> Option<(usize, usize, session_cache::SessionStats)> {
    let shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    let (bytes, store) = shared.sessions.as_ref()?;
    Some((*bytes, store.capacity(), store.stats()))
}

/// Check a configuration's certificates and keys without serving (`-t`).
pub fn check(cfg: &ServerConfig) -> Result<(), String> {
    TlsSite::build(&Arc::new(cfg.clone())).map(|_| ())
}
