//! mod_ssl's configuration, typed: what each server/virtual host says about TLS
//! ([`SslHost`]), the server-wide session cache ([`SslGlobal`]), and the per-directory
//! `SSLOptions` / `SSLRequireSSL` ([`SslDir`]).
//!
//! Only names and paths are checked here (a certificate file that does not exist is
//! refused with Apache's message, as mod_ssl does while reading the configuration);
//! reading the certificates and keys, and matching them, is `tls::build`'s work.
//!
//! Inheritance as mod_ssl's `ssl_config_server_merge`: a virtual host starts from the
//! main server's settings (SSLEngine included); its own `SSLCertificateFile` lines
//! replace the inherited list rather than adding to it.

use std::path::PathBuf;
use std::time::Duration;

use rhttpd_config::{ConfigError, Directive, Location};

use super::values::{err, flag};

/// `SSLVerifyClient`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum VerifyClient {
    #[default]
    None,
    Optional,
    Require,
    /// `optional_no_ca`: ask for a certificate, accept any (not verified).
    OptionalNoCa,
}

/// One certificate of a host: `SSLCertificateFile` with the `SSLCertificateKeyFile`
/// given in the same position (none: the key is in the certificate file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertFiles {
    pub cert: PathBuf,
    pub key: Option<PathBuf>,
    pub location: Location,
}

/// The TLS settings of the main server or a virtual host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SslHost {
    /// `SSLEngine on` (`optional` is refused: it means TLS upgrade, RFC 2817).
    pub engine: bool,
    pub engine_location: Option<Location>,
    pub certs: Vec<CertFiles>,
    /// Whether `certs` came from the main server (a vhost's own line replaces them).
    pub certs_inherited: bool,
    /// Key files waiting for their certificate (`SSLCertificateKeyFile` before
    /// `SSLCertificateFile`, or more key than certificate lines).
    pub pending_keys: Vec<PathBuf>,
    pub chain_file: Option<PathBuf>,
    /// `SSLProtocol` as written (`all -SSLv3` by default here: rustls has TLS 1.2 and
    /// 1.3 only), with where it was given.
    pub protocol: Vec<String>,
    pub protocol_location: Option<Location>,
    /// `SSLCipherSuite` for TLS <= 1.2 and for TLS 1.3 (`SSLCipherSuite TLSv1.3 ...`).
    pub cipher_suite: Option<String>,
    pub cipher_suite_tls13: Option<String>,
    pub cipher_location: Option<Location>,
    pub honor_cipher_order: bool,
    pub strict_sni: bool,
    /// `SSLSessionTickets` (Apache's default: on).
    pub session_tickets: bool,
    pub ticket_key_file: Option<(PathBuf, Location)>,
    /// `SSLSessionCacheTimeout` (also the lifetime of session tickets, as Apache 2.4.10+).
    pub session_timeout: Duration,
    pub verify_client: VerifyClient,
    /// `SSLVerifyDepth` (Apache's default: 1).
    pub verify_depth: u32,
    pub ca_file: Option<PathBuf>,
    pub ca_path: Option<PathBuf>,
    pub ca_location: Option<Location>,
    /// `SSLProxyEngine`: TLS to `https://` backends of mod_proxy.
    pub proxy_engine: bool,
    /// `SSLProxyVerify require` (Apache's default is none).
    pub proxy_verify: bool,
    pub proxy_ca_file: Option<PathBuf>,
    /// `SSLProxyCheckPeerName` (default on).
    pub proxy_check_peer_name: bool,
}

impl Default for SslHost {
    fn default() -> Self {
        SslHost {
            engine: false,
            engine_location: None,
            certs: Vec::new(),
            certs_inherited: false,
            pending_keys: Vec::new(),
            chain_file: None,
            protocol: Vec::new(),
            protocol_location: None,
            cipher_suite: None,
            cipher_suite_tls13: None,
            cipher_location: None,
            honor_cipher_order: false,
            strict_sni: false,
            session_tickets: true,
            ticket_key_file: None,
            session_timeout: Duration::from_secs(300),
            verify_client: VerifyClient::None,
            verify_depth: 1,
            ca_file: None,
            ca_path: None,
            ca_location: None,
            proxy_engine: false,
            proxy_verify: false,
            proxy_ca_file: None,
            proxy_check_peer_name: true,
        }
    }
}

impl SslHost {
    /// Whether a connection made with `self`'s TLS settings may serve a request for a
    /// host with `other`'s (mod_ssl's `ssl_server_compatible`: same certificates,
    /// protocols, ciphers and client verification). A request whose Host names a host
    /// that is not compatible with the SNI name's is refused with 421.
    pub fn compatible(&self, other: &SslHost) -> bool {
        let certs = |h: &SslHost| -> Vec<(PathBuf, Option<PathBuf>)> {
            h.certs
                .iter()
                .map(|c| (c.cert.clone(), c.key.clone()))
                .collect()
        };
        self.engine == other.engine
            && certs(self) == certs(other)
            && self.chain_file == other.chain_file
            && self.protocol == other.protocol
            && self.cipher_suite == other.cipher_suite
            && self.cipher_suite_tls13 == other.cipher_suite_tls13
            && self.honor_cipher_order == other.honor_cipher_order
            && self.verify_client == other.verify_client
            && self.verify_depth == other.verify_depth
            && self.ca_file == other.ca_file
            && self.ca_path == other.ca_path
    }
}

/// `SSLSessionCache`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum SessionCache {
    /// `none` / `nonenotnull`, or no directive: no server-side cache (tickets only).
    #[default]
    None,
    /// `shmcb:PATH(SIZE)`, `shm:`, `dbm:`, `dc:` ... all become one table in shared
    /// memory of `bytes` (the path names Apache's file; nothing is written there).
    Shared { bytes: usize },
}

/// Server-wide mod_ssl settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SslGlobal {
    pub session_cache: SessionCache,
}

/// Per-directory mod_ssl settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SslDir {
    /// `SSLOptions +StdEnvVars`: the SSL_* variables for CGI/FastCGI.
    pub std_env_vars: Option<bool>,
    /// `+ExportCertData`: SSL_SERVER_CERT / SSL_CLIENT_CERT as PEM.
    pub export_cert_data: Option<bool>,
    /// `+StrictRequire`.
    pub strict_require: Option<bool>,
    /// `+LegacyDNStringFormat`: `/C=DE/O=x/CN=y` instead of RFC 2253.
    pub legacy_dn: Option<bool>,
    /// `SSLRequireSSL`.
    pub require_ssl: Option<bool>,
}

impl SslDir {
    pub fn merge(&self, more: &SslDir) -> SslDir {
        SslDir {
            std_env_vars: more.std_env_vars.or(self.std_env_vars),
            export_cert_data: more.export_cert_data.or(self.export_cert_data),
            strict_require: more.strict_require.or(self.strict_require),
            legacy_dn: more.legacy_dn.or(self.legacy_dn),
            require_ssl: more.require_ssl.or(self.require_ssl),
        }
    }
}

/// Apache's check while reading SSLCertificateFile and friends: the file must exist
/// and not be empty (mod_ssl `ssl_cmd_check_file`).
fn existing_file(d: &Directive, path: PathBuf) -> Result<PathBuf, ConfigError> {
    match std::fs::metadata(&path) {
        Ok(m) if m.is_file() && m.len() > 0 => Ok(path),
        _ => Err(err(
            &d.location,
            format!(
                "{}: file '{}' does not exist or is empty",
                d.name,
                path.display()
            ),
        )),
    }
}

/// The per-host mod_ssl directives. `path` resolves a name relative to ServerRoot.
/// Returns false for a directive that is not one.
pub fn host_directive(
    ssl: &mut SslHost,
    d: &Directive,
    path: &dyn Fn(&str) -> PathBuf,
    warnings: &mut Vec<String>,
) -> Result<bool, ConfigError> {
    let a0 = d.args.first().map(String::as_str).unwrap_or("");
    match d.name {
        "SSLEngine" => {
            ssl.engine = match a0.to_ascii_lowercase().as_str() {
                "on" => true,
                "off" => false,
                "optional" => {
                    return Err(err(
                        &d.location,
                        "SSLEngine optional (TLS upgrade, RFC 2817) is not supported by rhttpd",
                    ));
                }
                _ => {
                    return Err(err(&d.location, "Argument must be On, Off, or Optional"));
                }
            };
            ssl.engine_location = Some(d.location.clone());
        }
        "SSLCertificateFile" => {
            let p = existing_file(d, path(a0))?;
            if ssl.certs_inherited {
                ssl.certs.clear();
                ssl.certs_inherited = false;
            }
            let key = if ssl.pending_keys.is_empty() {
                None
            } else {
                Some(ssl.pending_keys.remove(0))
            };
            ssl.certs.push(CertFiles {
                cert: p,
                key,
                location: d.location.clone(),
            });
        }
        "SSLCertificateKeyFile" => {
            let p = existing_file(d, path(a0))?;
            if ssl.certs_inherited {
                ssl.certs.clear();
                ssl.certs_inherited = false;
            }
            // Apache pairs the n-th key file with the n-th certificate file.
            match ssl.certs.iter_mut().find(|c| c.key.is_none()) {
                Some(c) => c.key = Some(p),
                None => ssl.pending_keys.push(p),
            }
        }
        "SSLCertificateChainFile" => {
            ssl.chain_file = Some(existing_file(d, path(a0))?);
        }
        "SSLCACertificateFile" => {
            ssl.ca_file = Some(existing_file(d, path(a0))?);
            ssl.ca_location = Some(d.location.clone());
        }
        "SSLCACertificatePath" => {
            let p = path(a0);
            if !p.is_dir() {
                return Err(err(
                    &d.location,
                    format!(
                        "SSLCACertificatePath: directory '{}' does not exist",
                        p.display()
                    ),
                ));
            }
            ssl.ca_path = Some(p);
            ssl.ca_location = Some(d.location.clone());
        }
        "SSLProtocol" => {
            ssl.protocol = d.args.clone();
            ssl.protocol_location = Some(d.location.clone());
        }
        "SSLCipherSuite" => {
            // One argument: the TLS <= 1.2 list; two: a protocol ("SSL" or "TLSv1.3")
            // and its list.
            match d.args.as_slice() {
                [list] => ssl.cipher_suite = Some(list.clone()),
                [proto, list] if proto.eq_ignore_ascii_case("SSL") => {
                    ssl.cipher_suite = Some(list.clone())
                }
                [proto, list] if proto.eq_ignore_ascii_case("TLSv1.3") => {
                    ssl.cipher_suite_tls13 = Some(list.clone())
                }
                [proto, _] => {
                    return Err(err(
                        &d.location,
                        format!(
                            "SSLCipherSuite: protocol '{proto}' not supported (SSL or TLSv1.3)"
                        ),
                    ));
                }
                _ => {
                    return Err(err(
                        &d.location,
                        "SSLCipherSuite takes one or two arguments",
                    ));
                }
            }
            ssl.cipher_location = Some(d.location.clone());
        }
        "SSLHonorCipherOrder" => ssl.honor_cipher_order = flag(d),
        "SSLStrictSNIVHostCheck" => ssl.strict_sni = flag(d),
        "SSLSessionTickets" => ssl.session_tickets = flag(d),
        "SSLSessionTicketKeyFile" => {
            let p = existing_file(d, path(a0))?;
            ssl.ticket_key_file = Some((p, d.location.clone()));
        }
        "SSLSessionCacheTimeout" => {
            let secs: u64 = a0
                .trim()
                .parse()
                .map_err(|_| err(&d.location, "SSLSessionCacheTimeout: Invalid argument"))?;
            ssl.session_timeout = Duration::from_secs(secs);
        }
        "SSLVerifyClient" => {
            ssl.verify_client = parse_verify_client(d)?;
        }
        "SSLVerifyDepth" => {
            ssl.verify_depth = a0
                .trim()
                .parse()
                .map_err(|_| err(&d.location, "SSLVerifyDepth: Invalid argument"))?;
        }
        "SSLProxyEngine" => ssl.proxy_engine = flag(d),
        "SSLProxyVerify" => {
            ssl.proxy_verify = match parse_verify_client(d)? {
                VerifyClient::Require => true,
                VerifyClient::None | VerifyClient::OptionalNoCa => false,
                VerifyClient::Optional => {
                    warnings.push(format!(
                        "{}: SSLProxyVerify optional: treated as require (a backend certificate is always checked when verification is on)",
                        d.location
                    ));
                    true
                }
            }
        }
        "SSLProxyCACertificateFile" => {
            ssl.proxy_ca_file = Some(existing_file(d, path(a0))?);
        }
        "SSLProxyCheckPeerName" | "SSLProxyCheckPeerCN" => {
            ssl.proxy_check_peer_name = flag(d);
        }
        "SSLUseStapling" => {
            if flag(d) {
                warnings.push(format!(
                    "{}: SSLUseStapling on: OCSP stapling is not supported by rhttpd; no OCSP response is stapled",
                    d.location
                ));
            }
        }
        "SSLCompression" => {
            if flag(d) {
                warnings.push(format!(
                    "{}: SSLCompression on: TLS compression is not supported (CRIME); it stays off",
                    d.location
                ));
            }
        }
        "SSLOpenSSLConfCmd" | "SSLCARevocationFile" | "SSLCARevocationPath" => {
            warnings.push(format!(
                "{}: {} is not supported by rhttpd (rustls); ignored",
                d.location, d.name
            ));
        }
        "SSLProxyMachineCertificateFile" => {
            warnings.push(format!(
                "{}: SSLProxyMachineCertificateFile: client certificates towards backends are not supported by rhttpd; none is sent",
                d.location
            ));
        }
        // Accepted without effect, as their help text says (`rhttpd -L`).
        "SSLCADNRequestFile"
        | "SSLCADNRequestPath"
        | "SSLCARevocationCheck"
        | "SSLStaplingResponderTimeout"
        | "SSLStaplingReturnResponderErrors"
        | "SSLStaplingStandardCacheTimeout"
        | "SSLStaplingErrorCacheTimeout"
        | "SSLStaplingFakeTryLater"
        | "SSLStaplingForceURL"
        | "SSLStaplingResponseMaxAge"
        | "SSLStaplingResponseTimeSkew"
        | "SSLProxyVerifyDepth"
        | "SSLProxyCACertificatePath"
        | "SSLProxyCheckPeerExpire"
        | "SSLProxyProtocol"
        | "SSLProxyCipherSuite" => {}
        "SSLInsecureRenegotiation" => {
            if flag(d) {
                warnings.push(format!(
                    "{}: SSLInsecureRenegotiation on: rhttpd never renegotiates; ignored",
                    d.location
                ));
            }
        }
        _ => return Ok(false),
    }
    Ok(true)
}

fn parse_verify_client(d: &Directive) -> Result<VerifyClient, ConfigError> {
    let a0 = d.args.first().map(String::as_str).unwrap_or("");
    Ok(match a0.to_ascii_lowercase().as_str() {
        "none" => VerifyClient::None,
        "optional" => VerifyClient::Optional,
        "require" => VerifyClient::Require,
        "optional_no_ca" => VerifyClient::OptionalNoCa,
        _ => {
            return Err(err(
                &d.location,
                format!("{}: Invalid argument '{a0}'", d.name),
            ));
        }
    })
}

/// `SSLSessionCache` (server config only).
pub fn session_cache(d: &Directive) -> Result<SessionCache, ConfigError> {
    let a0 = d.args.first().map(String::as_str).unwrap_or("");
    let lower = a0.to_ascii_lowercase();
    if lower == "none" || lower == "nonenotnull" {
        return Ok(SessionCache::None);
    }
    let Some((kind, rest)) = a0.split_once(':') else {
        return Err(err(
            &d.location,
            format!("SSLSessionCache: Invalid argument: '{a0}'"),
        ));
    };
    match kind.to_ascii_lowercase().as_str() {
        "shmcb" | "shm" | "shmht" | "dbm" | "sdbm" | "dc" | "memcache" | "redis" => {}
        _ => {
            return Err(err(
                &d.location,
                format!("SSLSessionCache: Invalid argument: '{a0}'"),
            ));
        }
    }
    // shmcb:/path(512000); without a size Apache uses 512000 bytes (and dbm/dc are a
    // shared table here, of the same default size).
    let bytes = match rest.rfind('(') {
        Some(open) if rest.ends_with(')') => rest[open + 1..rest.len() - 1]
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|&n| (8192..=1 << 30).contains(&n))
            .ok_or_else(|| {
                err(
                    &d.location,
                    format!(
                        "SSLSessionCache: Invalid argument: size has to be >= 8192 bytes and <= 1 GiB: '{a0}'"
                    ),
                )
            })?,
        _ => 512_000,
    };
    Ok(SessionCache::Shared { bytes })
}

/// The per-directory mod_ssl directives. Returns false for a directive that is not one.
pub fn dir_directive(dir: &mut SslDir, d: &Directive) -> Result<bool, ConfigError> {
    match d.name {
        "SSLOptions" => {
            for a in &d.args {
                let (value, name) = match a.as_bytes().first() {
                    Some(b'+') => (true, &a[1..]),
                    Some(b'-') => (false, &a[1..]),
                    _ => (true, a.as_str()),
                };
                let field = match name.to_ascii_lowercase().as_str() {
                    "stdenvvars" => &mut dir.std_env_vars,
                    "exportcertdata" => &mut dir.export_cert_data,
                    "strictrequire" => &mut dir.strict_require,
                    "legacydnstringformat" => &mut dir.legacy_dn,
                    // No renegotiation (rustls), no SSLRequire, no FakeBasicAuth yet:
                    // accepted without effect, as their help text says.
                    "optrenegotiate" | "fakebasicauth" | "compatenvvars" => continue,
                    _ => {
                        return Err(err(
                            &d.location,
                            format!("SSLOptions: Illegal option '{name}'"),
                        ));
                    }
                };
                *field = Some(value);
            }
        }
        "SSLRequireSSL" => dir.require_ssl = Some(true),
        "SSLRequire" => {
            return Err(err(
                &d.location,
                "SSLRequire is not supported by rhttpd (it is deprecated in Apache 2.4); use SSLRequireSSL or Require",
            ));
        }
        "SSLRenegBufferSize" | "SSLUserName" => {}
        _ => return Ok(false),
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directive(name: &'static str, args: &[&str]) -> Directive {
        Directive {
            name,
            args: args.iter().map(|s| s.to_string()).collect(),
            location: Location::new("t.conf", 3),
        }
    }

    #[test]
    fn session_cache_sizes() {
        let c = |a: &str| session_cache(&directive("SSLSessionCache", &[a]));
        assert_eq!(c("none").unwrap(), SessionCache::None);
        assert_eq!(
            c("shmcb:/run/apache2/ssl_scache(512000)").unwrap(),
            SessionCache::Shared { bytes: 512000 }
        );
        assert_eq!(
            c("shmcb:/x").unwrap(),
            SessionCache::Shared { bytes: 512000 }
        );
        assert!(c("shmcb:/x(10)").is_err());
        assert!(c("bogus").is_err());
    }

    #[test]
    fn ssl_options_add_and_remove() {
        let mut dir = SslDir::default();
        dir_directive(
            &mut dir,
            &directive("SSLOptions", &["+StdEnvVars", "-ExportCertData"]),
        )
        .unwrap();
        assert_eq!(dir.std_env_vars, Some(true));
        assert_eq!(dir.export_cert_data, Some(false));
        assert!(dir_directive(&mut dir, &directive("SSLOptions", &["+Bogus"])).is_err());
        let merged = SslDir::default().merge(&dir);
        assert_eq!(merged.std_env_vars, Some(true));
    }

    #[test]
    fn verify_client_words() {
        let mut ssl = SslHost::default();
        let mut w = Vec::new();
        let p = |s: &str| PathBuf::from(s);
        host_directive(
            &mut ssl,
            &directive("SSLVerifyClient", &["require"]),
            &p,
            &mut w,
        )
        .unwrap();
        assert_eq!(ssl.verify_client, VerifyClient::Require);
        assert!(
            host_directive(
                &mut ssl,
                &directive("SSLVerifyClient", &["maybe"]),
                &p,
                &mut w
            )
            .is_err()
        );
    }

    #[test]
    fn a_missing_certificate_is_named_with_apaches_words() {
        let mut ssl = SslHost::default();
        let mut w = Vec::new();
        let p = |s: &str| PathBuf::from(s);
        let e = host_directive(
            &mut ssl,
            &directive("SSLCertificateFile", &["/nonexistent/x.crt"]),
            &p,
            &mut w,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("SSLCertificateFile: file '/nonexistent/x.crt' does not exist or is empty"),
            "{e}"
        );
        assert!(e.contains("line 3"), "{e}");
    }
}
