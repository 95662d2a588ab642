//! Certificates and keys of a host, read by the parent while it is still root: PEM
//! certificate chains (`SSLCertificateFile` with the chain after the leaf, plus
//! `SSLCertificateChainFile`), unencrypted PEM keys, the check that each key matches its
//! certificate, the choice between a host's RSA and ECDSA certificates by the client's
//! signature schemes, and client-certificate verification (`SSLVerifyClient`,
//! `SSLVerifyDepth`, `SSLCACertificateFile`/`Path`).

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, DistinguishedName, Error, RootCertStore, SignatureScheme};

use crate::conf::ssl::{CertFiles, VerifyClient};

/// The certificates in a PEM file, in file order.
pub fn read_certs(path: &Path, directive: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let iter = CertificateDer::pem_file_iter(path).map_err(|e| {
        format!(
            "{directive}: unable to read certificate file '{}': {e}",
            path.display()
        )
    })?;
    let certs: Vec<_> = iter.collect::<Result<_, _>>().map_err(|e| {
        format!(
            "{directive}: bad PEM in certificate file '{}': {e}",
            path.display()
        )
    })?;
    if certs.is_empty() {
        return Err(format!(
            "{directive}: no certificate found in '{}'",
            path.display()
        ));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    let text = std::fs::read(path)
        .map_err(|e| format!("unable to read private key file '{}': {e}", path.display()))?;
    if memchr::memmem::find(&text, b"ENCRYPTED").is_some() {
        return Err(format!(
            "the private key in '{}' is encrypted: rhttpd cannot ask for pass phrases \
             (SSLPassPhraseDialog); store it decrypted (openssl pkey -in KEY -out KEY.plain), \
             readable by root only",
            path.display()
        ));
    }
    PrivateKeyDer::from_pem_slice(&text)
        .map_err(|e| format!("no private key found in '{}': {e}", path.display()))
}

/// One `SSLCertificateFile`/`SSLCertificateKeyFile` pair, checked: chain read, key
/// loaded, key matching the certificate.
pub fn load_pair(
    files: &CertFiles,
    chain_file: Option<&Path>,
    provider: &CryptoProvider,
) -> Result<Arc<CertifiedKey>, String> {
    let mut chain = read_certs(&files.cert, "SSLCertificateFile")?;
    if let Some(extra) = chain_file {
        chain.extend(read_certs(extra, "SSLCertificateChainFile")?);
    }
    let key_path = files.key.as_deref().unwrap_or(&files.cert);
    let key = read_key(key_path).map_err(|e| {
        if files.key.is_none() {
            format!("{e} (no SSLCertificateKeyFile given, so the key must follow the certificate)")
        } else {
            e
        }
    })?;
    let signing = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| format!("unsupported private key in '{}': {e}", key_path.display()))?;
    let ck = CertifiedKey::new(chain, signing);
    ck.keys_match().map_err(|_| {
        format!(
            "AH02565: Certificate and private key from {} and {} do not match",
            files.cert.display(),
            key_path.display()
        )
    })?;
    Ok(Arc::new(ck))
}

/// A host's certificates; the first whose key can sign with one of the client's
/// signature schemes answers (configuration order, as Apache tries them).
#[derive(Debug)]
pub struct HostCerts {
    pub keys: Vec<Arc<CertifiedKey>>,
}

impl ResolvesServerCert for HostCerts {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let schemes = hello.signature_schemes();
        self.keys
            .iter()
            .find(|k| k.key.choose_scheme(schemes).is_some())
            .or_else(|| self.keys.first())
            .cloned()
    }
}

/// The trust anchors for client certificates.
fn client_roots(ca_file: Option<&Path>, ca_path: Option<&Path>) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    let mut files = Vec::new();
    if let Some(f) = ca_file {
        files.push(f.to_path_buf());
    }
    if let Some(dir) = ca_path {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| format!("SSLCACertificatePath: cannot read '{}': {e}", dir.display()))?;
        let mut found: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.extension()
                    .is_some_and(|x| x == "pem" || x == "crt" || x == "cer")
                    || p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.len() > 2 && n.as_bytes()[n.len() - 2] == b'.')
            })
            .collect();
        found.sort();
        files.extend(found);
    }
    for f in &files {
        for cert in read_certs(f, "SSLCACertificateFile")? {
            roots
                .add(cert)
                .map_err(|e| format!("SSLCACertificateFile: '{}': {e}", f.display()))?;
        }
    }
    Ok(roots)
}

/// The verifier for `SSLVerifyClient`; `None` for `none`.
pub fn client_verifier(
    mode: VerifyClient,
    depth: u32,
    ca_file: Option<&Path>,
    ca_path: Option<&Path>,
    provider: Arc<CryptoProvider>,
) -> Result<Option<Arc<dyn ClientCertVerifier>>, String> {
    if mode == VerifyClient::None {
        return Ok(None);
    }
    if ca_file.is_none() && ca_path.is_none() {
        return Err(
            "SSLVerifyClient needs SSLCACertificateFile or SSLCACertificatePath (the CAs that \
             sign client certificates)"
                .to_string(),
        );
    }
    let roots = Arc::new(client_roots(ca_file, ca_path)?);
    if roots.is_empty() {
        return Err("SSLCACertificateFile/Path: no CA certificate found".to_string());
    }
    let mut builder = WebPkiClientVerifier::builder_with_provider(roots, provider);
    if mode != VerifyClient::Require {
        builder = builder.allow_unauthenticated();
    }
    let inner = builder
        .build()
        .map_err(|e| format!("SSLVerifyClient: {e}"))?;
    Ok(Some(Arc::new(DepthLimited {
        inner,
        depth,
        generous: mode == VerifyClient::OptionalNoCa,
    })))
}

/// `SSLVerifyDepth` on top of webpki's verification: at most `depth - 1` intermediate
/// CAs between the client certificate and a CA the server knows (depth 1: signed
/// directly by a configured CA). `optional_no_ca` accepts what does not verify.
#[derive(Debug)]
struct DepthLimited {
    inner: Arc<dyn ClientCertVerifier>,
    depth: u32,
    generous: bool,
}

impl ClientCertVerifier for DepthLimited {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        !self.generous && self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        if self.generous {
            return Ok(ClientCertVerified::assertion());
        }
        if intermediates.len() as u64 + 1 > u64::from(self.depth.max(1)) {
            return Err(Error::General(format!(
                "certificate chain too long ({} intermediates, SSLVerifyDepth {})",
                intermediates.len(),
                self.depth
            )));
        }
        self.inner
            .verify_client_cert(end_entity, intermediates, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
