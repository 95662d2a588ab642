//! The test PKI for the TLS end-to-end tests, made with the `openssl` CLI in the
//! server's ServerRoot at test time (nothing committed). All in `ROOT/conf/`, ECDSA P-256
//! unless said otherwise:
//! - `ca.crt`/`ca.key`: the root, `O=Test, CN=Test CA` (what clients trust);
//! - `inter.crt`: an intermediate signed by the root, `CN=Test Intermediate`;
//! - `a.crt`/`a.key`: `CN=a.test` (SAN a.test), signed by the intermediate, the leaf
//!   alone (the vhost names `inter.crt` in `SSLCertificateChainFile`);
//! - `b.crt`/`b.key`: `CN=b.test`, signed by the intermediate, the file holding the leaf
//!   then the intermediate (Apache 2.4.8+); its key is an `EC PARAMETERS` + `EC PRIVATE
//!   KEY` (SEC1) file as `openssl ecparam -genkey` writes it;
//! - `client.crt`/`client.key`: `O=Test, CN=client`, signed by the root, clientAuth.
//!
//! A client trusting only `ca.crt` verifies `a.test` and `b.test` only if the server
//! sends the intermediate.
#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use super::command;
use super::tls::{openssl, run_bounded, seq};

// ---------------------------------------------------------------------------------------
// The PKI

/// Key types of generated leaves.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Key {
    /// ECDSA P-256, PKCS#8 (`openssl genpkey`).
    Ec,
    /// ECDSA P-256, `EC PARAMETERS` + SEC1 `EC PRIVATE KEY` (`openssl ecparam -genkey`).
    EcSec1,
    /// RSA 2048, PKCS#8.
    Rsa,
}

pub fn write_file(p: &Path, text: impl AsRef<[u8]>) {
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(p, text).unwrap();
}

fn genkey(conf: &Path, name: &str, key: Key) {
    let out = format!("{name}.key");
    match key {
        Key::Ec => openssl(
            conf,
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                &out,
            ],
        ),
        Key::EcSec1 => openssl(
            conf,
            &["ecparam", "-genkey", "-name", "prime256v1", "-out", &out],
        ),
        Key::Rsa => openssl(
            conf,
            &[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
                &out,
            ],
        ),
    };
}

fn serial() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    format!("0x{:x}{:04x}", nanos, seq() & 0xffff)
}

/// Make `conf/NAME.key` and `conf/NAME.crt` for `subject` (openssl `-subj` form), signed
/// by `issuer` (`ca` or `inter`), with the extensions in `ext` (an extfile's lines).
pub fn issue(conf: &Path, name: &str, subject: &str, key: Key, issuer: &str, ext: &str) {
    genkey(conf, name, key);
    let csr = format!("{name}.csr");
    openssl(
        conf,
        &[
            "req",
            "-new",
            "-key",
            &format!("{name}.key"),
            "-subj",
            subject,
            "-out",
            &csr,
        ],
    );
    let extfile = format!("{name}.ext");
    write_file(
        &conf.join(&extfile),
        format!("subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n{ext}"),
    );
    openssl(
        conf,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &format!("{issuer}.crt"),
            "-CAkey",
            &format!("{issuer}.key"),
            "-set_serial",
            &serial(),
            "-days",
            "30",
            "-sha256",
            "-extfile",
            &extfile,
            "-out",
            &format!("{name}.crt"),
        ],
    );
}

/// Extensions of a TLS server leaf for `dns`.
pub fn server_ext(dns: &str) -> String {
    format!(
        "subjectAltName=DNS:{dns}\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
    )
}

pub const CLIENT_EXT: &str = "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n";

/// The test PKI in `ROOT/conf` (see the module comment).
pub fn make_pki(root: &Path) {
    let conf = root.join("conf");
    std::fs::create_dir_all(&conf).unwrap();
    genkey(&conf, "ca", Key::Ec);
    openssl(
        &conf,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "ca.key",
            "-sha256",
            "-days",
            "30",
            "-subj",
            "/O=Test/CN=Test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-out",
            "ca.crt",
        ],
    );
    issue(
        &conf,
        "inter",
        "/O=Test/CN=Test Intermediate",
        Key::Ec,
        "ca",
        "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n",
    );
    issue(
        &conf,
        "a",
        "/O=Test/CN=a.test",
        Key::Ec,
        "inter",
        &server_ext("a.test"),
    );
    issue(
        &conf,
        "b",
        "/O=Test/CN=b.test",
        Key::EcSec1,
        "inter",
        &server_ext("b.test"),
    );
    // b.crt holds its chain: the leaf, then the intermediate.
    let mut chain = std::fs::read(conf.join("b.crt")).unwrap();
    chain.extend(std::fs::read(conf.join("inter.crt")).unwrap());
    std::fs::write(conf.join("b.crt"), chain).unwrap();
    issue(
        &conf,
        "client",
        "/O=Test/CN=client",
        Key::Ec,
        "ca",
        CLIENT_EXT,
    );
}

/// An RSA leaf for `a.test`, `conf/a-rsa.{crt,key}`, signed by the intermediate.
pub fn make_rsa_a(root: &Path) {
    issue(
        &root.join("conf"),
        "a-rsa",
        "/O=Test RSA/CN=a.test",
        Key::Rsa,
        "inter",
        &server_ext("a.test"),
    );
}

/// A leaf for `a.test` valid from 2020-01-01 to 2020-01-02 only, `conf/old.{crt,key}`,
/// signed by the intermediate (`openssl ca` takes explicit dates; `x509 -req` in OpenSSL
/// 3.0 does not).
pub fn make_expired_a(root: &Path) {
    let conf = root.join("conf");
    genkey(&conf, "old", Key::Ec);
    openssl(
        &conf,
        &[
            "req",
            "-new",
            "-key",
            "old.key",
            "-subj",
            "/O=Test/CN=a.test",
            "-out",
            "old.csr",
        ],
    );
    std::fs::create_dir_all(conf.join("cadb")).unwrap();
    write_file(&conf.join("cadb/index.txt"), "");
    write_file(&conf.join("cadb/serial"), "1000\n");
    write_file(
        &conf.join("cadb/ca.cnf"),
        format!(
            "[ca]\ndefault_ca = tca\n[tca]\ndatabase = cadb/index.txt\nserial = cadb/serial\nnew_certs_dir = cadb\ndefault_md = sha256\npolicy = pol\nunique_subject = no\n[pol]\ncommonName = supplied\norganizationName = optional\n[ext]\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n{}",
            server_ext("a.test")
        ),
    );
    openssl(
        &conf,
        &[
            "ca",
            "-batch",
            "-config",
            "cadb/ca.cnf",
            "-cert",
            "inter.crt",
            "-keyfile",
            "inter.key",
            "-in",
            "old.csr",
            "-startdate",
            "20200101000000Z",
            "-enddate",
            "20200102000000Z",
            "-extensions",
            "ext",
            "-preserveDN",
            "-notext",
            "-out",
            "old.crt",
        ],
    );
}

/// A self-signed client certificate no configured CA knows, `conf/rogue.{crt,key}`.
pub fn make_rogue_client(root: &Path) {
    let conf = root.join("conf");
    genkey(&conf, "rogue", Key::Ec);
    openssl(
        &conf,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "rogue.key",
            "-sha256",
            "-days",
            "30",
            "-subj",
            "/O=Rogue/CN=client",
            "-out",
            "rogue.crt",
        ],
    );
}

/// `subject=...` (RFC 2253 order) and the public key algorithm of a PEM certificate.
pub fn cert_info(pem: &str) -> (String, String) {
    let r = run_bounded(
        command("openssl").args(["x509", "-noout", "-subject", "-nameopt", "RFC2253", "-text"]),
        pem.as_bytes(),
        Duration::from_secs(20),
    );
    assert!(r.success(), "openssl x509: {}", r.describe());
    let subject = r
        .out
        .lines()
        .find_map(|l| l.strip_prefix("subject="))
        .unwrap_or("")
        .trim()
        .to_string();
    let alg = r
        .out
        .lines()
        .find_map(|l| l.trim().strip_prefix("Public Key Algorithm:"))
        .unwrap_or("")
        .trim()
        .to_string();
    (subject, alg)
}

/// Write an executable script.
pub fn script(path: &Path, text: &str) {
    write_file(path, text);
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}
