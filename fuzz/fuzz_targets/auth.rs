//! Authentication input from clients and files: `Authorization: Basic` values
//! (`modules::auth::basic_credentials`), password and group files
//! (`parse_passwords`, `parse_groups`), base64 and a password check against whatever
//! hash the file held (`modules::htpasswd`). Input: one control byte (which parser),
//! then the bytes.
//!
//! Invariants: no panic; credentials re-encoded as `Basic base64(user:password)` parse
//! back to the same pair when the user has no `:`; every parsed user maps to a hash
//! without `:` or a line break.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rhttpd::modules::auth::{basic_credentials, parse_groups, parse_passwords};
use rhttpd::modules::htpasswd::{base64_decode, verify};

fn b64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                T[((n >> (18 - 6 * i)) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    match control % 4 {
        0 => {
            if let Some((user, password)) = basic_credentials(rest)
                && !user.contains(':')
                && let Ok(s) = std::str::from_utf8(rest)
                && !s.contains('\u{fffd}')
            {
                let again = format!("Basic {}", b64(format!("{user}:{password}").as_bytes()));
                assert_eq!(
                    basic_credentials(again.as_bytes()),
                    Some((user, password))
                );
            }
        }
        1 => {
            let text = String::from_utf8_lossy(rest);
            for hash in parse_passwords(&text).values() {
                assert!(!hash.contains(':') && !hash.contains('\n'));
            }
            let _ = parse_groups(&text);
        }
        2 => {
            let _ = base64_decode(rest);
        }
        _ => {
            // Password before the first NUL, the "hash" after it (cheap formats only:
            // a fuzzer-made bcrypt cost could take seconds).
            let mut parts = rest.splitn(2, |b| *b == 0);
            let pw = parts.next().unwrap_or_default();
            let hash = String::from_utf8_lossy(parts.next().unwrap_or_default());
            if !hash.starts_with("$2") && !hash.starts_with("$5") && !hash.starts_with("$6") {
                let _ = verify(pw, &hash);
            }
        }
    }
});
