//! The certificate facts mod_ssl exports (`SSL_CLIENT_S_DN`, `SSL_CLIENT_SAN_DNS_n`,
//! ...): `rhttpd::tls::x509::summarize` on DER bytes. Input: a DER certificate.
//!
//! Invariants: no panic; a summary has version >= 1 and a serial in hex digits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rhttpd::tls::x509::summarize;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = summarize(data) {
        assert!(s.version >= 1);
        // Hex digits (OpenSSL's `-` for a negative serial, `\` newline every 35 bytes).
        let hex = s.serial_hex.strip_prefix('-').unwrap_or(&s.serial_hex);
        let hex = hex.replace("\\\n", "");
        assert!(
            !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()),
            "serial {:?}",
            s.serial_hex
        );
        let _ = (s.not_before, s.not_after, s.key_type, s.key_algorithm);
    }
});
