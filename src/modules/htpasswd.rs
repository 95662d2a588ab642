//! Checking a password against an `htpasswd` line's hash, the formats Apache's
//! `apr_password_validate` accepts: `$apr1$` (MD5-crypt with APR's magic, `htpasswd -m`,
//! the default), `{SHA}` (base64 SHA-1, `htpasswd -s`), and whatever crypt(3) knows —
//! bcrypt `$2y$` (`-B`), DES (`-d`), `$5$`/`$6$` (`-2`/`-5`), `$1$`. Hashes are compared
//! in constant time.

use md5::{Digest, Md5};

/// Whether `password` matches `hash` (one line's field after the user name).
pub fn verify(password: &[u8], hash: &str) -> bool {
    let computed = if let Some(rest) = hash.strip_prefix("$apr1$") {
        let salt = rest.split('$').next().unwrap_or("");
        Some(md5_crypt(password, salt.as_bytes(), "$apr1$"))
    } else if let Some(b64) = hash.strip_prefix("{SHA}") {
        let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, password);
        return base64_decode(b64.as_bytes())
            .is_some_and(|want| constant_time_eq(&want, digest.as_ref()));
    } else {
        rhttpd_sys::crypt::crypt(password, hash)
    };
    computed.is_some_and(|c| constant_time_eq(c.as_bytes(), hash.as_bytes()))
}

/// Equality whose time depends only on the lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

const CRYPT64: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// MD5-crypt (Poul-Henning Kamp's algorithm) with `magic` (`$1$` or APR's `$apr1$`); the
/// salt is cut to 8 bytes as both do.
pub fn md5_crypt(password: &[u8], salt: &[u8], magic: &str) -> String {
    let salt = &salt[..salt.len().min(8)];
    let mut alt = Md5::new();
    alt.update(password);
    alt.update(salt);
    alt.update(password);
    let alt = alt.finalize();
    let mut ctx = Md5::new();
    ctx.update(password);
    ctx.update(magic.as_bytes());
    ctx.update(salt);
    let mut left = password.len();
    while left > 0 {
        let n = left.min(16);
        ctx.update(&alt[..n]);
        left -= n;
    }
    let mut i = password.len();
    while i > 0 {
        if i & 1 == 1 {
            ctx.update([0u8]);
        } else {
            ctx.update(&password[..1]);
        }
        i >>= 1;
    }
    let mut fin = ctx.finalize();
    for round in 0..1000 {
        let mut c = Md5::new();
        if round & 1 == 1 {
            c.update(password);
        } else {
            c.update(fin);
        }
        if round % 3 != 0 {
            c.update(salt);
        }
        if round % 7 != 0 {
            c.update(password);
        }
        if round & 1 == 1 {
            c.update(fin);
        } else {
            c.update(password);
        }
        fin = c.finalize();
    }
    let mut out = String::with_capacity(magic.len() + salt.len() + 23);
    out.push_str(magic);
    out.push_str(&String::from_utf8_lossy(salt));
    out.push('$');
    let mut put = |v: u32, n: usize| {
        let mut v = v;
        for _ in 0..n {
            out.push(CRYPT64[(v & 0x3f) as usize] as char);
            v >>= 6;
        }
    };
    let f = |i: usize| u32::from(fin[i]);
    for (a, b, c) in [(0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)] {
        put((f(a) << 16) | (f(b) << 8) | f(c), 4);
    }
    put(f(11), 2);
    out
}

/// Base64 as in `Authorization: Basic` and `{SHA}` hashes (the protocol crate's
/// decoder: either alphabet, padding optional).
pub fn base64_decode(s: &[u8]) -> Option<Vec<u8>> {
    rhttpd_http::base64::decode(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_hashes() {
        // `openssl passwd -apr1 -salt salt1234 password`.
        assert!(
            verify(b"password", "$apr1$salt1234$k3J5yKYW6TlGmTytnkXbQ0"),
            "apr1"
        );
        assert!(!verify(
            b"Password",
            "$apr1$salt1234$k3J5yKYW6TlGmTytnkXbQ0"
        ));
        // {SHA} of "password".
        assert!(verify(b"password", "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="));
        assert!(!verify(b"passwor", "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="));
        // DES and bcrypt through crypt(3).
        assert!(verify(b"test", "abgOeLfPimXQo"));
        assert!(verify(
            b"pw",
            "$2y$05$IJ/PsPhu6SxgU0o/tvUkw.BsRn7167vx7vXJFfnARnO9UunK/0AvK"
        ));
        assert!(!verify(
            b"px",
            "$2y$05$IJ/PsPhu6SxgU0o/tvUkw.BsRn7167vx7vXJFfnARnO9UunK/0AvK"
        ));
        // Neither a plain-text "hash" nor garbage matches.
        assert!(!verify(b"plain", "plain"));
        assert!(!verify(b"", ""));
    }

    #[test]
    fn md5_crypt_matches_the_classic_vector() {
        // `openssl passwd -1 -salt saltsalt password`.
        assert_eq!(
            md5_crypt(b"password", b"saltsalt", "$1$"),
            "$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/"
        );
    }

    #[test]
    fn base64_vectors() {
        assert_eq!(base64_decode(b"dXNlcjpwYXNz").unwrap(), b"user:pass");
        assert_eq!(base64_decode(b"YQ==").unwrap(), b"a");
        assert_eq!(base64_decode(b"YWI=").unwrap(), b"ab");
        assert_eq!(base64_decode(b"YWJj").unwrap(), b"abc");
        assert_eq!(base64_decode(b"").unwrap(), b"");
        assert!(base64_decode(b"Y").is_none());
        assert!(base64_decode(b"a*b=").is_none());
    }

    proptest! {
        #[test]
        fn base64_never_panics(s in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = base64_decode(&s);
        }

        #[test]
        fn verify_never_panics(pw in proptest::collection::vec(any::<u8>(), 0..32), h in "\\PC{0,40}") {
            let _ = verify(&pw, &h);
        }
    }
}
