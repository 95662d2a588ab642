//! What a finished handshake tells the request core ([`TlsInfo`]), in mod_ssl's terms:
//! protocol and cipher names, resumption, the SNI name, and the `SSL_CLIENT_*` /
//! `SSL_SERVER_*` certificate variables.

use std::sync::Arc;
use std::time::SystemTime;

use rustls::HandshakeKind;
use rustls::pki_types::CertificateDer;
use rustls::server::ServerConnection;

use super::{TlsSite, suites, x509};
use crate::handler::TlsInfo;

/// `SSL_{CLIENT,SERVER}_*` variables of one certificate.
fn cert_vars(prefix: &str, der: &[u8], out: &mut Vec<(String, String)>) {
    let Ok(s) = x509::summarize(der) else {
        return;
    };
    let now = SystemTime::now();
    out.push((format!("{prefix}_S_DN"), s.subject_dn.clone()));
    out.push((format!("{prefix}_I_DN"), s.issuer_dn.clone()));
    for (part, fields) in [("S", &s.subject), ("I", &s.issuer)] {
        let mut seen: Vec<&str> = Vec::new();
        for (name, value) in fields.iter() {
            // The first of a repeated field is `_CN`, the next `_CN_1` ...
            let n = seen.iter().filter(|x| **x == name.as_str()).count();
            seen.push(name);
            let key = if n == 0 {
                format!("{prefix}_{part}_DN_{name}")
            } else {
                format!("{prefix}_{part}_DN_{name}_{n}")
            };
            out.push((key, value.clone()));
        }
    }
    out.push((format!("{prefix}_M_VERSION"), s.version.to_string()));
    out.push((format!("{prefix}_M_SERIAL"), s.serial_hex.clone()));
    out.push((
        format!("{prefix}_V_START"),
        x509::openssl_time(s.not_before),
    ));
    out.push((format!("{prefix}_V_END"), x509::openssl_time(s.not_after)));
    if prefix == "SSL_CLIENT" {
        out.push((
            format!("{prefix}_V_REMAIN"),
            x509::days_remaining(s.not_after, now).to_string(),
        ));
    }
    out.push((format!("{prefix}_A_SIG"), s.sig_algorithm.clone()));
    out.push((format!("{prefix}_A_KEY"), s.key_algorithm.to_string()));
    for (i, dns) in s.dns_names.iter().enumerate() {
        out.push((format!("{prefix}_SAN_DNS_{i}"), dns.clone()));
    }
}

/// The `SSL_SERVER_*` variables and PEM of a host's certificate (made once per host).
pub(super) fn server_vars(cert: &CertificateDer<'_>) -> (Vec<(String, String)>, Arc<str>) {
    let mut vars = Vec::new();
    cert_vars("SSL_SERVER", cert, &mut vars);
    (vars, Arc::from(x509::to_pem(cert)))
}

impl TlsSite {
    /// The facts of a connection whose handshake has just finished.
    pub(super) fn info(
        &self,
        conn: &ServerConnection,
        host: Option<usize>,
        sni: Option<String>,
    ) -> TlsInfo {
        let suite = conn.negotiated_cipher_suite().map(|s| s.suite());
        let mut cert_vars_out = Vec::new();
        let tls_host = self.host(host);
        if let Some(h) = tls_host {
            cert_vars_out.extend(h.server_vars.iter().cloned());
        }
        let client = conn.peer_certificates().and_then(|c| c.first());
        if let Some(c) = client {
            cert_vars("SSL_CLIENT", c, &mut cert_vars_out);
        }
        let verify = match (client, tls_host.and_then(|h| h.generous.then_some(()))) {
            (None, _) => "NONE",
            (Some(_), Some(())) => "GENEROUS",
            (Some(_), None) => "SUCCESS",
        };
        TlsInfo {
            protocol: conn
                .protocol_version()
                .map(suites::protocol_name)
                .unwrap_or(""),
            cipher: suite.map(suites::openssl_name).unwrap_or(""),
            cipher_bits: suite.map(suites::secret_bits).unwrap_or(0),
            sni,
            resumed: conn.handshake_kind() == Some(HandshakeKind::Resumed),
            host,
            client_verify: verify,
            cert_vars: cert_vars_out,
            client_pem: client.map(|c| x509::to_pem(c)),
            server_pem: tls_host.map(|h| h.server_pem.clone()),
        }
    }
}
