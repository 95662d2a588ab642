//! The system's password hashing, crypt(3) from libcrypt (libxcrypt on Debian): the
//! formats `htpasswd -d` (DES), `-B` (bcrypt `$2y$`) and `-2`/`-5` (`$5$`/`$6$`) write,
//! which Apache checks with crypt() too.

use std::ffi::{CStr, CString, c_char, c_int, c_void};

#[link(name = "crypt")]
unsafe extern "C" {
    fn crypt_rn(
        phrase: *const c_char,
        setting: *const c_char,
        data: *mut c_void,
        size: c_int,
    ) -> *mut c_char;
}

/// libxcrypt's `struct crypt_data` is 32,768 bytes; crypt_rn checks the size it is given.
const CRYPT_DATA_SIZE: usize = 32 * 1024;

/// `crypt(password, setting)`: the hash of `password` with the algorithm and salt that
/// `setting` (usually a stored hash) names, or `None` if the setting is invalid or the
/// password holds a NUL byte.
pub fn crypt(password: &[u8], setting: &str) -> Option<String> {
    let phrase = CString::new(password).ok()?;
    let setting = CString::new(setting).ok()?;
    let mut data = vec![0u8; CRYPT_DATA_SIZE];
    // SAFETY: both strings are NUL-terminated and live across the call; `data` is a
    // zeroed, writable buffer of the size passed (crypt_rn refuses a smaller one); the
    // result, when not null, points into `data` and is read before `data` is dropped.
    unsafe {
        let out = crypt_rn(
            phrase.as_ptr(),
            setting.as_ptr(),
            data.as_mut_ptr().cast(),
            CRYPT_DATA_SIZE as c_int,
        );
        if out.is_null() {
            return None;
        }
        let s = CStr::from_ptr(out).to_str().ok()?.to_owned();
        // libxcrypt's failure token starts with '*'.
        (!s.starts_with('*')).then_some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn des_and_sha512_and_bcrypt() {
        // DES with the "ab" salt (as Python's crypt module computes it).
        assert_eq!(crypt(b"test", "ab").as_deref(), Some("abgOeLfPimXQo"));
        let h = crypt(b"secret", "$6$saltsalt$").unwrap();
        assert!(h.starts_with("$6$saltsalt$"));
        assert_eq!(crypt(b"secret", &h), Some(h.clone()));
        assert_ne!(crypt(b"Secret", &h), Some(h));
        let b = "$2y$05$abcdefghijklmnopqrstuu";
        let hb = crypt(b"pw", b).unwrap();
        assert_eq!(crypt(b"pw", &hb).as_deref(), Some(hb.as_str()));
        assert_eq!(crypt(b"pw", "$9$nonsense"), None);
        assert_eq!(crypt(b"p\0w", "ab"), None);
    }
}
