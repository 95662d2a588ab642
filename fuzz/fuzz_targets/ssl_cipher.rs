//! mod_ssl's OpenSSL-syntax strings: `SSLCipherSuite` (`parse_cipher_suites`, TLS 1.2
//! cipher strings and TLS 1.3 suite lists) and `SSLProtocol` (`parse_protocols`).
//! Input: one control byte (which protocols, which strings are given), then the TLS 1.2
//! string, a NUL, the TLS 1.3 list, a NUL, the SSLProtocol words.
//!
//! Invariants: no panic; a success offers at least one suite, each for an enabled
//! protocol, none twice; `SSLProtocol` yields TLS 1.2 or 1.3 when it succeeds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rhttpd::tls::suites::{ProtocolSet, parse_cipher_suites, parse_protocols};

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let mut parts = text.split('\0');
    let tls12 = parts.next().unwrap_or("");
    let tls13 = parts.next().unwrap_or("");
    let proto = parts.next().unwrap_or("");
    let protocols = ProtocolSet {
        tls12: ctl & 1 != 0 || ctl & 3 == 0,
        tls13: ctl & 2 != 0,
    };
    let tls12 = (ctl & 4 == 0).then_some(tls12);
    let tls13 = (ctl & 8 == 0).then_some(tls13);
    if let Ok((suites, _warnings)) = parse_cipher_suites(tls12, tls13, protocols) {
        assert!(!suites.is_empty(), "no suite but no error");
        for (i, s) in suites.iter().enumerate() {
            let is13 = s.tls13().is_some();
            assert!(if is13 {
                protocols.tls13
            } else {
                protocols.tls12
            });
            assert!(
                !suites[..i].iter().any(|t| t.suite() == s.suite()),
                "suite twice"
            );
        }
    }
    let words: Vec<String> = proto.split_whitespace().map(str::to_string).collect();
    if let Ok((set, _warnings)) = parse_protocols(&words) {
        assert!(set.tls12 || set.tls13);
    }
});
