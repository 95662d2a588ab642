//! What Apache exports about a certificate (mod_ssl `ssl_engine_vars.c`): the
//! distinguished names (`SSL_CLIENT_S_DN`, `SSL_CLIENT_I_DN`, `SSL_CLIENT_S_DN_CN`, ...),
//! serial, version, validity (`SSL_CLIENT_V_START`, `_V_END`, `_V_REMAIN`), algorithms
//! (`SSL_CLIENT_A_KEY`, `_A_SIG`), subjectAltName entries and the PEM text
//! (`SSL_CLIENT_CERT`), in the formats OpenSSL gives Apache.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use x509_parser::asn1_rs::{Any, Class};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate, X509Name};

/// What Apache exports about one certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertSummary {
    /// `SSL_{CLIENT,SERVER}_S_DN`: Apache 2.4's format, OpenSSL's `X509_NAME_print_ex` with
    /// `XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB` ("CN=client.example,O=Example Org,C=DE"):
    /// last RDN first, `,` between RDNs and `+` inside one, RFC 2253 escaping, UTF-8 left
    /// as is, values of unknown attributes or string types as `#` and the DER in hex.
    pub subject_dn: String,
    /// `SSL_{CLIENT,SERVER}_I_DN`, formatted as `subject_dn`.
    pub issuer_dn: String,
    /// The subject's attributes in certificate order as (OpenSSL short name, value): "CN",
    /// "O", "OU", "C", "ST", "L", "emailAddress", ..., or the dotted OID for attributes
    /// OpenSSL has no name for here. Values as Apache's `SSL_CLIENT_S_DN_CN` etc.: UTF-8,
    /// control characters written `\XX` (hex) and `\` written `\\`, nothing else escaped.
    pub subject: Vec<(String, String)>,
    /// The issuer's attributes, as `subject` (`SSL_CLIENT_I_DN_*`).
    pub issuer: Vec<(String, String)>,
    /// `SSL_{CLIENT,SERVER}_M_SERIAL`: upper-case hex without separators (OpenSSL's
    /// `i2a_ASN1_INTEGER`: "-" before a negative serial, "00" for zero, and a `\` and a
    /// newline after every 35 bytes, which only serials longer than RFC 5280 allows reach).
    pub serial_hex: String,
    /// `SSL_{CLIENT,SERVER}_M_VERSION`: 1 to 3.
    pub version: u32,
    /// Start of validity (`SSL_*_V_START` through [`openssl_time`]).
    pub not_before: SystemTime,
    /// End of validity (`SSL_*_V_END`, and `SSL_CLIENT_V_REMAIN` through [`days_remaining`]).
    pub not_after: SystemTime,
    /// The subjectAltName DNS entries (`SSL_*_SAN_DNS_n`).
    pub dns_names: Vec<String>,
    /// The subjectAltName e-mail (rfc822Name) entries (`SSL_*_SAN_Email_n`).
    pub email_names: Vec<String>,
    /// The public key type: "RSA", "EC", "RSA-PSS", "ED25519", "ED448", "DSA" or "UNKNOWN".
    pub key_type: &'static str,
    /// `SSL_*_A_KEY`, OpenSSL's long name of the key algorithm: "rsaEncryption",
    /// "id-ecPublicKey", "ED25519", ...; "UNKNOWN" as Apache for others.
    pub key_algorithm: &'static str,
    /// `SSL_*_A_SIG`, OpenSSL's long name of the signature algorithm:
    /// "sha256WithRSAEncryption", "ecdsa-with-SHA256", ...; the dotted OID for algorithms
    /// not listed here.
    pub sig_algorithm: String,
}

/// OpenSSL's short names of the name attributes it knows (`OBJ_nid2sn`).
#[rustfmt::skip]
const ATTRIBUTES: &[(&str, &str)] = &[
    ("2.5.4.3", "CN"), ("2.5.4.4", "SN"), ("2.5.4.5", "serialNumber"), ("2.5.4.6", "C"),
    ("2.5.4.7", "L"), ("2.5.4.8", "ST"), ("2.5.4.9", "street"), ("2.5.4.10", "O"),
    ("2.5.4.11", "OU"), ("2.5.4.12", "title"), ("2.5.4.13", "description"),
    ("2.5.4.14", "searchGuide"), ("2.5.4.15", "businessCategory"),
    ("2.5.4.16", "postalAddress"), ("2.5.4.17", "postalCode"), ("2.5.4.18", "postOfficeBox"),
    ("2.5.4.19", "physicalDeliveryOfficeName"), ("2.5.4.20", "telephoneNumber"),
    ("2.5.4.41", "name"), ("2.5.4.42", "GN"), ("2.5.4.43", "initials"),
    ("2.5.4.44", "generationQualifier"), ("2.5.4.45", "x500UniqueIdentifier"),
    ("2.5.4.46", "dnQualifier"), ("2.5.4.65", "pseudonym"), ("2.5.4.72", "role"),
    ("2.5.4.97", "organizationIdentifier"), ("1.2.840.113549.1.9.1", "emailAddress"),
    ("1.2.840.113549.1.9.2", "unstructuredName"),
    ("1.2.840.113549.1.9.8", "unstructuredAddress"), ("0.9.2342.19200300.100.1.1", "UID"),
    ("0.9.2342.19200300.100.1.3", "mail"), ("0.9.2342.19200300.100.1.25", "DC"),
    ("1.3.6.1.4.1.311.60.2.1.1", "jurisdictionL"),
    ("1.3.6.1.4.1.311.60.2.1.2", "jurisdictionST"),
    ("1.3.6.1.4.1.311.60.2.1.3", "jurisdictionC"),
];

/// Key algorithms: OID, OpenSSL's long name, key type.
#[rustfmt::skip]
const KEYS: &[(&str, &str, &str)] = &[
    ("1.2.840.113549.1.1.1", "rsaEncryption", "RSA"),
    ("1.2.840.10045.2.1", "id-ecPublicKey", "EC"),
    ("1.2.840.113549.1.1.10", "rsassaPss", "RSA-PSS"),
    ("1.3.101.112", "ED25519", "ED25519"),
    ("1.3.101.113", "ED448", "ED448"),
    ("1.2.840.10040.4.1", "dsaEncryption", "DSA"),
];

/// Signature algorithms: OID, OpenSSL's long name.
#[rustfmt::skip]
const SIGNATURES: &[(&str, &str)] = &[
    ("1.2.840.113549.1.1.4", "md5WithRSAEncryption"),
    ("1.2.840.113549.1.1.5", "sha1WithRSAEncryption"),
    ("1.2.840.113549.1.1.10", "rsassaPss"),
    ("1.2.840.113549.1.1.11", "sha256WithRSAEncryption"),
    ("1.2.840.113549.1.1.12", "sha384WithRSAEncryption"),
    ("1.2.840.113549.1.1.13", "sha512WithRSAEncryption"),
    ("1.2.840.113549.1.1.14", "sha224WithRSAEncryption"),
    ("1.2.840.10045.4.1", "ecdsa-with-SHA1"),
    ("1.2.840.10045.4.3.1", "ecdsa-with-SHA224"),
    ("1.2.840.10045.4.3.2", "ecdsa-with-SHA256"),
    ("1.2.840.10045.4.3.3", "ecdsa-with-SHA384"),
    ("1.2.840.10045.4.3.4", "ecdsa-with-SHA512"),
    ("1.3.101.112", "ED25519"),
    ("1.3.101.113", "ED448"),
    ("1.2.840.10040.4.3", "dsaWithSHA1"),
    ("2.16.840.1.101.3.4.3.2", "dsa_with_SHA256"),
];

/// Parses a DER certificate and extracts what Apache exports about it. Errors only when
/// the certificate itself cannot be parsed; a malformed subjectAltName gives no names.
pub fn summarize(der: &[u8]) -> Result<CertSummary, String> {
    let (_, cert) =
        X509Certificate::from_der(der).map_err(|e| format!("invalid certificate: {e}"))?;
    let tbs = &cert.tbs_certificate;
    let mut dns_names = Vec::new();
    let mut email_names = Vec::new();
    if let Ok(Some(san)) = tbs.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(n) => dns_names.push(n.to_string()),
                GeneralName::RFC822Name(n) => email_names.push(n.to_string()),
                _ => {}
            }
        }
    }
    let key_oid = tbs.subject_pki.algorithm.algorithm.to_id_string();
    let key = KEYS.iter().find(|(oid, _, _)| *oid == key_oid);
    let sig_oid = tbs.signature.algorithm.to_id_string();
    let sig_algorithm = SIGNATURES
        .iter()
        .find(|(oid, _)| *oid == sig_oid)
        .map_or(sig_oid, |(_, name)| name.to_string());
    Ok(CertSummary {
        subject_dn: dn_string(&tbs.subject),
        issuer_dn: dn_string(&tbs.issuer),
        subject: attributes(&tbs.subject),
        issuer: attributes(&tbs.issuer),
        serial_hex: serial_hex(tbs.raw_serial()),
        version: tbs.version.0.saturating_add(1),
        not_before: system_time(tbs.validity.not_before.timestamp())?,
        not_after: system_time(tbs.validity.not_after.timestamp())?,
        dns_names,
        email_names,
        key_type: key.map_or("UNKNOWN", |k| k.2),
        key_algorithm: key.map_or("UNKNOWN", |k| k.1),
        sig_algorithm,
    })
}

fn system_time(unix: i64) -> Result<SystemTime, String> {
    let d = Duration::from_secs(unix.unsigned_abs());
    if unix >= 0 {
        UNIX_EPOCH.checked_add(d)
    } else {
        UNIX_EPOCH.checked_sub(d)
    }
    .ok_or_else(|| format!("invalid certificate: time {unix} out of range"))
}

fn short_name(oid: &str) -> Option<&'static str> {
    ATTRIBUTES
        .iter()
        .find(|(o, _)| *o == oid)
        .map(|(_, sn)| *sn)
}

/// `X509_NAME_print_ex(.., XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB)`.
fn dn_string(name: &X509Name) -> String {
    let mut entries: Vec<_> = name
        .iter()
        .enumerate()
        .flat_map(|(set, rdn)| rdn.iter().map(move |attr| (set, attr)))
        .collect();
    entries.reverse();
    let mut out = String::new();
    let mut prev = None;
    for (set, attr) in entries {
        if let Some(p) = prev {
            out.push(if p == set { '+' } else { ',' });
        }
        prev = Some(set);
        let oid = attr.attr_type().to_id_string();
        let sn = short_name(&oid);
        out.push_str(sn.unwrap_or(&oid));
        out.push('=');
        out.push_str(&print_value(attr.attr_value(), sn.is_some(), true));
    }
    out
}

fn attributes(name: &X509Name) -> Vec<(String, String)> {
    name.iter_attributes()
        .map(|attr| {
            let oid = attr.attr_type().to_id_string();
            let value = print_value(attr.attr_value(), true, false);
            (short_name(&oid).map_or(oid, String::from), value)
        })
        .collect()
}

/// OpenSSL's `do_print_ex` with `ASN1_STRFLGS_UTF8_CONVERT | ASN1_STRFLGS_ESC_CTRL`, plus
/// for a DN (`rfc2253`) `ASN1_STRFLGS_ESC_2253` and the dump of unknown fields and types.
fn print_value(value: &Any, known_field: bool, rfc2253: bool) -> String {
    let header = &value.header;
    let width = match (header.class(), header.is_constructed(), header.tag().0) {
        // UTF8String: its bytes are passed through one at a time.
        (Class::Universal, false, 12) => Some(0),
        // Numeric, Printable, T61, IA5, UTCTime, GeneralizedTime, Visible: Latin-1.
        (Class::Universal, false, 18..=20 | 22..=24 | 26) => Some(1),
        (Class::Universal, false, 30) => Some(2),
        (Class::Universal, false, 28) => Some(4),
        _ => None,
    };
    if rfc2253 && (!known_field || width.is_none()) {
        return dump(value);
    }
    let data = value.data;
    let chars: Vec<u32> = match width {
        Some(2) if data.len().is_multiple_of(2) => data
            .chunks_exact(2)
            .map(|c| u32::from(c[0]) << 8 | u32::from(c[1]))
            .collect(),
        Some(4) if data.len().is_multiple_of(4) => data
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        // OpenSSL fails on a BMPString or UniversalString of odd length.
        Some(2 | 4) => return dump(value),
        _ => data.iter().map(|&b| u32::from(b)).collect(),
    };
    let mut out = Vec::with_capacity(data.len());
    let n = chars.len();
    for (i, &c) in chars.iter().enumerate() {
        let mut buf = [0u8; 4];
        let bytes: &[u8] = if width == Some(0) {
            buf[0] = u8::try_from(c).unwrap_or(b'?');
            &buf[..1]
        } else {
            // OpenSSL's UTF8_putc drops what is not a Unicode scalar value.
            match char::from_u32(c) {
                Some(ch) => ch.encode_utf8(&mut buf).as_bytes(),
                None => continue,
            }
        };
        for &b in bytes {
            escape_byte(&mut out, b, i == 0, i + 1 == n, rfc2253);
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// OpenSSL's `do_esc_char` for one output byte.
fn escape_byte(out: &mut Vec<u8>, b: u8, first: bool, last: bool, rfc2253: bool) {
    let rfc2253_special = matches!(b, b',' | b'+' | b'"' | b'\\' | b'<' | b'>' | b';')
        || (first && matches!(b, b' ' | b'#'))
        || (last && b == b' ');
    if rfc2253 && rfc2253_special {
        out.extend([b'\\', b]);
    } else if b < 0x20 || b == 0x7f {
        out.extend(format!("\\{b:02X}").bytes());
    } else if b == b'\\' {
        out.extend(b"\\\\");
    } else {
        out.push(b);
    }
}

/// `#` and the value's DER encoding in upper-case hex (`ASN1_STRFLGS_DUMP_DER`).
fn dump(value: &Any) -> String {
    let header = &value.header;
    let mut der = Vec::with_capacity(value.data.len() + 8);
    let first = (header.class() as u8) << 6 | if header.is_constructed() { 0x20 } else { 0 };
    let tag = header.tag().0;
    if tag < 31 {
        der.push(first | tag as u8);
    } else {
        der.push(first | 0x1f);
        let mut groups = Vec::new();
        let mut t = tag;
        loop {
            groups.push((t & 0x7f) as u8);
            t >>= 7;
            if t == 0 {
                break;
            }
        }
        let last = groups.len() - 1;
        der.extend(groups.iter().rev().enumerate().map(
            |(i, g)| {
                if i == last { *g } else { g | 0x80 }
            },
        ));
    }
    let len = value.data.len();
    if len < 0x80 {
        der.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        der.push(0x80 | (bytes.len() - skip) as u8);
        der.extend(&bytes[skip..]);
    }
    der.extend(value.data);
    let mut out = String::with_capacity(1 + 2 * der.len());
    out.push('#');
    for b in der {
        let _ = write!(out, "{b:02X}");
    }
    out
}

/// `i2a_ASN1_INTEGER` of the serial's DER content octets.
fn serial_hex(raw: &[u8]) -> String {
    let negative = raw.first().is_some_and(|b| b & 0x80 != 0);
    let mut magnitude = raw.to_vec();
    if negative {
        // Two's complement: invert, add one.
        let mut carry = true;
        for b in magnitude.iter_mut().rev() {
            let (v, c) = (!*b).overflowing_add(u8::from(carry));
            *b = v;
            carry = c;
        }
    }
    let zeros = magnitude.iter().take_while(|&&b| b == 0).count();
    let digits = &magnitude[zeros.min(magnitude.len().saturating_sub(1))..];
    let mut out = String::from(if negative { "-" } else { "" });
    if digits.is_empty() {
        out.push_str("00");
    }
    for (i, b) in digits.iter().enumerate() {
        if i != 0 && i % 35 == 0 {
            out.push_str("\\\n");
        }
        let _ = write!(out, "{b:02X}");
    }
    out
}

/// OpenSSL's `ASN1_TIME_print` format that Apache uses in `SSL_CLIENT_V_START` and
/// `SSL_CLIENT_V_END`: "Dec  1 12:00:00 2026 GMT" (the day padded with a space to width
/// 2). Sub-second parts are dropped.
pub fn openssl_time(t: SystemTime) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => {
            let d = e.duration();
            -i64::try_from(d.as_secs()).unwrap_or(i64::MAX) - i64::from(d.subsec_nanos() > 0)
        }
    };
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{} {day:2} {:02}:{:02}:{:02} {year} GMT",
        MONTHS[(month - 1) as usize],
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Days until `not_after`, rounded down, 0 if it has passed (`SSL_CLIENT_V_REMAIN`).
pub fn days_remaining(not_after: SystemTime, now: SystemTime) -> i64 {
    not_after.duration_since(now).map_or(0, |d| {
        i64::try_from(d.as_secs() / 86_400).unwrap_or(i64::MAX)
    })
}

/// PEM text of a DER certificate, as `PEM_write_bio_X509` writes it for `SSL_CLIENT_CERT`
/// and `SSL_SERVER_CERT`: "-----BEGIN CERTIFICATE-----", base64 in lines of 64 columns,
/// "-----END CERTIFICATE-----", each line ending in a newline.
pub fn to_pem(der: &[u8]) -> String {
    let b64 = base64(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 60);
    out.push_str("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// Standard base64 (RFC 4648, with padding).
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 0x3f) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    use std::path::Path;
    use std::process::Command;

    fn have_openssl() -> bool {
        let ok = Command::new("openssl").arg("version").output().is_ok();
        if !ok {
            eprintln!("skipped: openssl not installed");
        }
        ok
    }

    fn openssl(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("run openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 output")
    }

    /// `openssl x509 -noout <what>` of cert.pem, without the "name=" prefix.
    fn show(dir: &Path, what: &[&str]) -> String {
        let mut args = vec!["x509", "-in", "cert.pem", "-noout"];
        args.extend(what);
        let out = openssl(dir, &args);
        let line = out.trim_end_matches('\n');
        line.split_once('=').map_or(line, |(_, v)| v).to_string()
    }

    const CONFIG: &str = "[req]\ndistinguished_name = dn\nstring_mask = MASK\n[dn]\n";

    /// A self-signed certificate made by `openssl req -x509`; returns (dir, DER).
    fn make_cert(extra: &[&str], mask: &str) -> (tempfile::TempDir, Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("req.cnf"), CONFIG.replace("MASK", mask)).unwrap();
        let mut args = vec![
            "req", "-x509", "-config", "req.cnf", "-nodes", "-keyout", "key.pem", "-out",
            "cert.pem",
        ];
        args.extend(extra);
        openssl(dir.path(), &args);
        let der = CertificateDer::from_pem_file(dir.path().join("cert.pem")).unwrap();
        (dir, der.as_ref().to_vec())
    }

    const EC: [&str; 4] = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];

    fn ec_cert(extra: &[&str], mask: &str) -> (tempfile::TempDir, Vec<u8>) {
        let mut args = EC.to_vec();
        args.extend(extra);
        make_cert(&args, mask)
    }

    /// Everything that can be compared with the openssl CLI.
    fn same_as_openssl(dir: &Path, s: &CertSummary) {
        let dn = ["-nameopt", "RFC2253,-esc_msb"];
        assert_eq!(s.subject_dn, show(dir, &[&["-subject"], &dn[..]].concat()));
        assert_eq!(s.issuer_dn, show(dir, &[&["-issuer"], &dn[..]].concat()));
        assert_eq!(s.serial_hex, show(dir, &["-serial"]));
        assert_eq!(openssl_time(s.not_before), show(dir, &["-startdate"]));
        assert_eq!(openssl_time(s.not_after), show(dir, &["-enddate"]));
        // One attribute a line (two or more on one line for a multi-valued RDN), the
        // values as Apache's SSL_CLIENT_S_DN_CN etc.
        for (what, attrs) in [("-subject", &s.subject), ("-issuer", &s.issuer)] {
            let opt = "sep_multiline,utf8,esc_ctrl,sname";
            let out = openssl(
                dir,
                &["x509", "-in", "cert.pem", "-noout", what, "-nameopt", opt],
            );
            let lines: Vec<&str> = out.lines().skip(1).map(|l| &l[4..]).collect();
            if lines.len() == attrs.len() {
                let ours: Vec<String> = attrs.iter().map(|(k, v)| format!("{k}={v}")).collect();
                assert_eq!(ours, lines);
            }
        }
        let text = openssl(dir, &["x509", "-in", "cert.pem", "-noout", "-text"]);
        assert!(
            text.contains(&format!("Version: {} ", s.version)),
            "version {}",
            s.version
        );
        assert!(
            text.contains(&format!("Signature Algorithm: {}", s.sig_algorithm)),
            "{}",
            s.sig_algorithm
        );
        assert!(
            text.contains(&format!("Public Key Algorithm: {}", s.key_algorithm)),
            "{}",
            s.key_algorithm
        );
        let pem = std::fs::read_to_string(dir.join("cert.pem")).unwrap();
        assert_eq!(
            to_pem(&CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()),
            pem
        );
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn ec_client_certificate() {
        if !have_openssl() {
            return;
        }
        let (dir, der) = ec_cert(
            &[
                "-subj",
                "/C=DE/O=Example Org/CN=client.example",
                "-addext",
                "subjectAltName=DNS:client.example,DNS:www.client.example,email:me@client.example",
                "-days",
                "30",
            ],
            "utf8only",
        );
        let s = summarize(&der).unwrap();
        assert_eq!(s.subject_dn, "CN=client.example,O=Example Org,C=DE");
        assert_eq!(s.issuer_dn, s.subject_dn);
        assert_eq!(
            s.subject,
            pairs(&[("C", "DE"), ("O", "Example Org"), ("CN", "client.example")])
        );
        assert_eq!(s.issuer, s.subject);
        assert_eq!(s.dns_names, ["client.example", "www.client.example"]);
        assert_eq!(s.email_names, ["me@client.example"]);
        assert_eq!(s.version, 3);
        assert_eq!((s.key_type, s.key_algorithm), ("EC", "id-ecPublicKey"));
        assert_eq!(s.sig_algorithm, "ecdsa-with-SHA256");
        assert!(!s.serial_hex.is_empty());
        assert!(
            s.serial_hex
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_lowercase())
        );
        let remaining = days_remaining(s.not_after, SystemTime::now());
        assert!(matches!(remaining, 29 | 30), "{remaining}");
        same_as_openssl(dir.path(), &s);
    }

    #[test]
    fn rsa_certificate_valid_past_2049() {
        if !have_openssl() {
            return;
        }
        // 40000 days: notAfter is a GeneralizedTime.
        let (dir, der) = make_cert(
            &[
                "-newkey",
                "rsa:2048",
                "-subj",
                "/CN=rsa.example",
                "-days",
                "40000",
            ],
            "utf8only",
        );
        let s = summarize(&der).unwrap();
        assert_eq!((s.key_type, s.key_algorithm), ("RSA", "rsaEncryption"));
        assert_eq!(s.sig_algorithm, "sha256WithRSAEncryption");
        same_as_openssl(dir.path(), &s);
    }

    #[test]
    fn version_1_certificate() {
        if !have_openssl() {
            return;
        }
        // `openssl x509 -req` without extensions writes a v1 certificate.
        let (dir, _) = ec_cert(&["-subj", "/CN=v1"], "utf8only");
        let d = dir.path();
        openssl(
            d,
            &[
                "req", "-new", "-key", "key.pem", "-subj", "/CN=v1", "-out", "r.csr",
            ],
        );
        openssl(
            d,
            &[
                "x509", "-req", "-in", "r.csr", "-signkey", "key.pem", "-out", "cert.pem",
            ],
        );
        let der = CertificateDer::from_pem_file(d.join("cert.pem")).unwrap();
        let s = summarize(&der).unwrap();
        assert_eq!(s.version, 1);
        assert!(s.dns_names.is_empty());
        same_as_openssl(d, &s);
    }

    #[test]
    fn ed25519_certificate() {
        if !have_openssl() {
            return;
        }
        let (dir, der) = make_cert(&["-newkey", "ed25519", "-subj", "/CN=ed"], "utf8only");
        let s = summarize(&der).unwrap();
        assert_eq!((s.key_type, s.key_algorithm), ("ED25519", "ED25519"));
        assert_eq!(s.sig_algorithm, "ED25519");
        same_as_openssl(dir.path(), &s);
    }

    #[test]
    fn names_needing_escapes() {
        if !have_openssl() {
            return;
        }
        let subj = "/CN=a,b\\+c\"d<e>f;g\\\\h=i #j/O= lead# trail /OU=#hash/L=tab\there\
                    /ST=x\\/y/street=back\\\\slash";
        let (dir, der) = ec_cert(&["-subj", subj], "utf8only");
        let s = summarize(&der).unwrap();
        same_as_openssl(dir.path(), &s);
        assert_eq!(
            s.subject[0],
            ("CN".into(), "a,b+c\"d<e>f;g\\\\h=i #j".into())
        );
        assert_eq!(s.subject[3], ("L".into(), "tab\\09here".into()));
    }

    #[test]
    fn known_and_unknown_attributes() {
        if !have_openssl() {
            return;
        }
        let mut subj = String::new();
        for (oid, _) in ATTRIBUTES {
            // countryName and friends must be two letters.
            let value = if oid.ends_with(".6") || oid.ends_with(".2.1.3") {
                "DE"
            } else {
                "v"
            };
            subj.push_str(&format!("/{oid}={value}"));
        }
        let (dir, der) = ec_cert(&["-subj", &subj], "utf8only");
        let s = summarize(&der).unwrap();
        same_as_openssl(dir.path(), &s);
        let names: Vec<&str> = s.subject.iter().map(|(n, _)| n.as_str()).collect();
        let want: Vec<&str> = ATTRIBUTES.iter().map(|(_, sn)| *sn).collect();
        assert_eq!(names, want);

        // openssl req drops attributes it has no name for: patch OU (2.5.4.11) into
        // 2.5.4.127 in the DER. The signature breaks, which `openssl x509` does not check.
        let (dir, mut der) = ec_cert(&["-subj", "/CN=c/OU=unit"], "utf8only");
        let ou = [6, 3, 0x55, 4, 11];
        while let Some(at) = der.windows(5).position(|w| w == ou) {
            der[at + 4] = 127; // in the issuer and in the subject
        }
        std::fs::write(dir.path().join("cert.pem"), to_pem(&der)).unwrap();
        let s = summarize(&der).unwrap();
        same_as_openssl(dir.path(), &s);
        assert_eq!(s.subject_dn, "2.5.4.127=#0C04756E6974,CN=c");
        assert_eq!(s.subject[1], ("2.5.4.127".into(), "unit".into()));
    }

    #[test]
    fn multi_valued_rdns() {
        if !have_openssl() {
            return;
        }
        let (dir, der) = ec_cert(
            &[
                "-multivalue-rdn",
                "-subj",
                "/DC=org/DC=example/CN=a+UID=b+OU=c/O=x",
            ],
            "utf8only",
        );
        let s = summarize(&der).unwrap();
        same_as_openssl(dir.path(), &s);
        assert!(s.subject_dn.starts_with("O=x,"), "{}", s.subject_dn);
        assert!(
            s.subject_dn.ends_with(",DC=example,DC=org"),
            "{}",
            s.subject_dn
        );
        assert_eq!(s.subject_dn.matches('+').count(), 2);
    }

    #[test]
    fn non_ascii_in_every_string_type() {
        if !have_openssl() {
            return;
        }
        let subj = "/CN=Jürgen Müller/O=日本語/OU=plain/L=Ünïcödé\u{1F600}";
        // utf8only: UTF8String; default and pkix: BMPString where PrintableString does not
        // do, UTF8String beyond the BMP.
        for mask in ["utf8only", "default", "pkix"] {
            let (dir, der) = ec_cert(&["-utf8", "-subj", subj], mask);
            let s = summarize(&der).unwrap();
            same_as_openssl(dir.path(), &s);
            assert_eq!(s.subject[0].1, "Jürgen Müller", "{mask}");
            assert_eq!(s.subject[1].1, "日本語", "{mask}");
        }
        // nombstr: T61String with Latin-1 bytes, converted to UTF-8.
        let (dir, der) = ec_cert(&["-utf8", "-subj", "/CN=Jürgen Müller/OU=plain"], "nombstr");
        assert!(der.windows(2).any(|w| w == [0x14, 13]), "a T61String");
        let s = summarize(&der).unwrap();
        same_as_openssl(dir.path(), &s);
        assert_eq!(s.subject[0].1, "Jürgen Müller");
    }

    #[test]
    fn serials() {
        if !have_openssl() {
            return;
        }
        for serial in [
            "0",
            "1",
            "-5",
            "-128",
            "-256",
            "127",
            "128",
            "0x00ff00",
            "0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
            "0xDEADBEEFDEADBEEFDEADBEEFDEADBEEFDEADBEEF",
        ] {
            let (dir, der) = ec_cert(&["-subj", "/CN=s", "-set_serial", serial], "utf8only");
            let s = summarize(&der).unwrap();
            same_as_openssl(dir.path(), &s);
        }
    }

    #[test]
    fn dumps_are_der() {
        use x509_parser::asn1_rs::FromDer as _;
        let dumped = |der: &[u8]| dump(&Any::from_der(der).unwrap().1);
        assert_eq!(dumped(&[0x1f, 0x81, 0x00, 0x01, 0xaa]), "#1F810001AA");
        assert_eq!(dumped(&[0x30, 0x03, 0x02, 0x01, 0x05]), "#3003020105");
        let mut long = vec![0x04, 0x81, 200];
        long.extend([0x41; 200]);
        assert_eq!(dumped(&long), format!("#0481C8{}", "41".repeat(200)));
    }

    #[test]
    fn serial_formatting() {
        assert_eq!(serial_hex(&[]), "00");
        assert_eq!(serial_hex(&[0]), "00");
        assert_eq!(serial_hex(&[0, 0x80]), "80");
        assert_eq!(serial_hex(&[0x12, 0x0a]), "120A");
        assert_eq!(serial_hex(&[0xff]), "-01");
        assert_eq!(serial_hex(&[0x80]), "-80");
        assert_eq!(serial_hex(&[0xff, 0x00]), "-0100");
        let long = serial_hex(&[0x11; 36]);
        assert_eq!(long, format!("{}\\\n11", "11".repeat(35)));
    }

    #[test]
    fn time_format() {
        let at = |secs: i64| {
            let d = Duration::from_secs(secs.unsigned_abs());
            openssl_time(if secs < 0 {
                UNIX_EPOCH - d
            } else {
                UNIX_EPOCH + d
            })
        };
        assert_eq!(at(0), "Jan  1 00:00:00 1970 GMT");
        assert_eq!(at(1_796_126_400), "Dec  1 12:00:00 2026 GMT");
        assert_eq!(at(951_868_799), "Feb 29 23:59:59 2000 GMT");
        assert_eq!(at(-631_152_000), "Jan  1 00:00:00 1950 GMT");
        assert_eq!(at(4_107_542_400), "Mar  1 00:00:00 2100 GMT");
        assert_eq!(at(-1), "Dec 31 23:59:59 1969 GMT");
        assert_eq!(at(253_402_300_799), "Dec 31 23:59:59 9999 GMT");
        assert_eq!(
            openssl_time(UNIX_EPOCH - Duration::from_millis(500)),
            "Dec 31 23:59:59 1969 GMT"
        );
        assert_eq!(
            openssl_time(UNIX_EPOCH + Duration::from_millis(86_399_999)),
            "Jan  1 23:59:59 1970 GMT"
        );
    }

    #[test]
    fn remaining_days() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        let day = Duration::from_secs(86_400);
        assert_eq!(days_remaining(now + day * 30, now), 30);
        assert_eq!(
            days_remaining(now + day * 30 - Duration::from_secs(1), now),
            29
        );
        assert_eq!(days_remaining(now + Duration::from_secs(5), now), 0);
        assert_eq!(days_remaining(now, now), 0);
        assert_eq!(days_remaining(now - day * 3, now), 0);
    }

    #[test]
    fn base64_vectors() {
        for (raw, b64) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(raw.as_bytes()), b64);
        }
        assert_eq!(base64(&[0xfb, 0xff]), "+/8=");
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(summarize(b"").is_err());
        assert!(summarize(b"-----BEGIN CERTIFICATE-----").is_err());
        assert!(summarize(&[0x30, 0x03, 0x02, 0x01, 0x00]).is_err());
    }

    fn sample_der() -> Option<Vec<u8>> {
        if Command::new("openssl").arg("version").output().is_err() {
            return None;
        }
        let (_dir, der) = ec_cert(
            &[
                "-multivalue-rdn",
                "-utf8",
                "-subj",
                "/C=DE/O=Ex+OU=ü/CN=c",
                "-addext",
                "subjectAltName=DNS:a.example,email:e@a.example",
            ],
            "default",
        );
        Some(der)
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
            let _ = summarize(&bytes);
        }

        #[test]
        fn der_shaped_bytes_never_panic(
            body in prop::collection::vec(any::<u8>(), 0..300),
            len in any::<u8>(),
        ) {
            let mut der = vec![0x30, 0x82, 0x01, len];
            der.extend(body);
            let _ = summarize(&der);
        }

        #[test]
        fn pem_round_trips(der in prop::collection::vec(any::<u8>(), 0..300)) {
            let pem = to_pem(&der);
            prop_assert!(pem.lines().all(|l| l.len() <= 64 || l.starts_with("-----")));
            if !der.is_empty() {
                let back = CertificateDer::from_pem_slice(pem.as_bytes()).unwrap();
                prop_assert_eq!(back.as_ref(), &der[..]);
            }
        }

        #[test]
        fn any_time_formats(secs in any::<i64>(), nanos in 0u32..1_000_000_000) {
            let d = Duration::new(secs.unsigned_abs(), nanos);
            let t = if secs < 0 { UNIX_EPOCH.checked_sub(d) } else { UNIX_EPOCH.checked_add(d) };
            if let Some(t) = t {
                let s = openssl_time(t);
                prop_assert!(s.ends_with(" GMT"));
                prop_assert!(days_remaining(t, UNIX_EPOCH) >= 0);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn mutated_certificates_never_panic(
            flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
            cut in any::<prop::sample::Index>(),
        ) {
            use std::sync::OnceLock;
            static SAMPLE: OnceLock<Option<Vec<u8>>> = OnceLock::new();
            let Some(sample) = SAMPLE.get_or_init(sample_der) else {
                return Ok(());
            };
            let mut der = sample.clone();
            for (at, byte) in flips {
                let i = at.index(der.len());
                der[i] = byte;
            }
            let _ = summarize(&der);
            let _ = summarize(&der[..cut.index(der.len())]);
        }
    }
}
