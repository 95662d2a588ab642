//! TLS towards `https://` backends of mod_proxy (`SSLProxyEngine on`): a blocking
//! rustls client stream over the backend's TCP connection, with mod_ssl's proxy
//! checks — `SSLProxyVerify none` (Apache's default) takes any certificate (its
//! signatures are still checked); `require` verifies the chain against
//! `SSLProxyCACertificateFile`, and the name unless `SSLProxyCheckPeerName off`.
//! Client configurations are made once per process and setting.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, ClientConnection, DigitallySignedStruct, Error, RootCertStore,
    SignatureScheme, StreamOwned,
};

use crate::conf::ssl::SslHost;

/// A TLS connection to a backend.
pub struct ClientStream {
    inner: StreamOwned<ClientConnection, TcpStream>,
}

impl ClientStream {
    pub fn tcp(&self) -> &TcpStream {
        &self.inner.sock
    }

    pub fn set_timeout(&self, t: Duration) {
        let t = Some(t.max(Duration::from_millis(1)));
        let _ = self.inner.sock.set_read_timeout(t);
        let _ = self.inner.sock.set_write_timeout(t);
    }

    /// TLS records wait to be written (a tunnel waits for writability).
    pub fn wants_write(&self) -> bool {
        self.inner.conn.wants_write()
    }

    /// Send close_notify and shut down the socket's write half.
    pub fn shutdown_write(&mut self) -> io::Result<()> {
        self.inner.conn.send_close_notify();
        while self.inner.conn.wants_write() {
            self.inner.conn.write_tls(&mut self.inner.sock)?;
        }
        self.inner.sock.shutdown(std::net::Shutdown::Write)
    }

    /// Decrypted bytes already received (a pooled connection that has some is not
    /// reusable).
    pub fn has_buffered_input(&mut self) -> bool {
        self.inner.conn.process_new_packets().map_or(true, |io| {
            io.plaintext_bytes_to_read() > 0 || io.peer_has_closed()
        })
    }
}

impl Read for ClientStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

impl Write for ClientStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct Settings {
    verify: bool,
    ca_file: Option<PathBuf>,
    check_name: bool,
}

static CONFIGS: LazyLock<Mutex<HashMap<Settings, Arc<ClientConfig>>>> =
    LazyLock::new(Default::default);

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn config_for(s: &Settings) -> Result<Arc<ClientConfig>, String> {
    let mut cache = CONFIGS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(c) = cache.get(s) {
        return Ok(c.clone());
    }
    let provider = provider();
    let verifier: Arc<dyn ServerCertVerifier> = if s.verify {
        let Some(ca) = &s.ca_file else {
            return Err("SSLProxyVerify require needs SSLProxyCACertificateFile".to_string());
        };
        let mut roots = RootCertStore::empty();
        for cert in super::certs::read_certs(ca, "SSLProxyCACertificateFile")? {
            roots
                .add(cert)
                .map_err(|e| format!("SSLProxyCACertificateFile: {e}"))?;
        }
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| format!("SSLProxyVerify: {e}"))?;
        Arc::new(ProxyVerifier {
            webpki: Some(webpki),
            check_name: s.check_name,
            algorithms: provider.signature_verification_algorithms,
        })
    } else {
        Arc::new(ProxyVerifier {
            webpki: None,
            check_name: false,
            algorithms: provider.signature_verification_algorithms,
        })
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    let config = Arc::new(config);
    cache.insert(s.clone(), config.clone());
    Ok(config)
}

/// Start TLS on a connected backend socket and finish the handshake (blocking, within
/// the socket's timeouts). `host` is the backend URL's host (SNI and name check).
pub fn connect(tcp: TcpStream, host: &str, ssl: &SslHost) -> Result<ClientStream, String> {
    let settings = Settings {
        verify: ssl.proxy_verify,
        ca_file: ssl.proxy_ca_file.clone(),
        check_name: ssl.proxy_check_peer_name,
    };
    let config = config_for(&settings)?;
    let name = ServerName::try_from(
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
    )
    .map_err(|e| format!("bad backend host name '{host}': {e}"))?;
    let conn = ClientConnection::new(config, name).map_err(|e| e.to_string())?;
    let mut inner = StreamOwned::new(conn, tcp);
    while inner.conn.is_handshaking() {
        inner
            .conn
            .complete_io(&mut inner.sock)
            .map_err(|e| format!("TLS handshake with the backend failed: {e}"))?;
    }
    Ok(ClientStream { inner })
}

/// mod_ssl's proxy verification on top of webpki.
#[derive(Debug)]
struct ProxyVerifier {
    /// `None`: `SSLProxyVerify none` (any certificate).
    webpki: Option<Arc<WebPkiServerVerifier>>,
    check_name: bool,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for ProxyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let Some(webpki) = &self.webpki else {
            return Ok(ServerCertVerified::assertion());
        };
        match webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(Error::InvalidCertificate(CertificateError::NotValidForName))
            | Err(Error::InvalidCertificate(CertificateError::NotValidForNameContext { .. }))
                if !self.check_name =>
            {
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
