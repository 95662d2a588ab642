//! The tests of the read-time conditional sections that core and mod_version add to
//! `<IfModule>`/`<IfDefine>`: `<IfFile>`, `<IfDirective>`, `<IfSection>` (core, Apache
//! 2.4.34+) and `<IfVersion>` (mod_version). Each is evaluated once, while the file is
//! read; a false body is skipped unparsed.

use regex::Regex;

/// The Apache release whose behaviour rhttpd follows; `<IfVersion>` compares with it.
pub const APACHE_COMPAT_VERSION: (u32, u32, u32) = (2, 4, 71);

/// [`APACHE_COMPAT_VERSION`] as `<IfVersion>` regular expressions see it.
pub fn compat_version_string() -> String {
    let (a, b, c) = APACHE_COMPAT_VERSION;
    format!("{a}.{b}.{c}")
}

/// `<IfVersion [[!]operator] version>`: `words` are the section's arguments without the
/// closing `>`. Operators `=`/`==`, `<`, `<=`, `>`, `>=`, `~` (regex), and `=`/`==` with
/// `/regex/`; one argument means `=`. A `!` before the operator negates the result.
pub fn if_version(words: &[String]) -> Result<bool, String> {
    let (op, version) = match words {
        [v] => ("=", v.as_str()),
        [op, v] => (op.as_str(), v.as_str()),
        [] => return Err("<IfVersion> directive requires additional arguments".into()),
        _ => return Err("<IfVersion> takes one or two arguments".into()),
    };
    let (negate, op) = match op.strip_prefix('!') {
        Some(rest) if !rest.is_empty() => (true, rest),
        Some(_) => (true, "="),
        None => (false, op),
    };
    let matched = match op {
        "=" | "==" if version.starts_with('/') => {
            let Some(pattern) = version
                .strip_prefix('/')
                .and_then(|v| v.strip_suffix('/'))
                .filter(|p| !p.is_empty())
            else {
                return Err("Missing delimiting / of regular expression.".into());
            };
            version_regex(pattern)?
        }
        "~" => version_regex(version)?,
        "=" | "==" => compare(version)? == 0,
        "<" => compare(version)? < 0,
        "<=" => compare(version)? <= 0,
        ">" => compare(version)? > 0,
        ">=" => compare(version)? >= 0,
        _ => return Err(format!("unrecognized operator '{}'", words[0])),
    };
    Ok(matched != negate)
}

fn version_regex(pattern: &str) -> Result<bool, String> {
    let re = Regex::new(pattern)
        .map_err(|_| format!("Cannot compile regular expression '{pattern}'"))?;
    Ok(re.is_match(&compat_version_string()))
}

/// mod_version's `compare_version`: the sign of (rhttpd's version − `version`), where
/// `version` is `major[.minor[.patch]]` and missing parts are 0.
fn compare(version: &str) -> Result<i8, String> {
    let invalid = || {
        "Version appears to be invalid. It must have the format major[.minor[.patch]] where major, minor and patch are numbers.".to_string()
    };
    let parts: Vec<&str> = version.split('.').collect();
    if parts.len() > 3 {
        return Err(invalid());
    }
    let mut given = [0u32; 3];
    for (slot, part) in given.iter_mut().zip(&parts) {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        *slot = part.parse().map_err(|_| invalid())?;
    }
    let (a, b, c) = APACHE_COMPAT_VERSION;
    Ok(match [a, b, c].cmp(&given) {
        std::cmp::Ordering::Less => -1,
        std::cmp::Ordering::Equal => 0,
        std::cmp::Ordering::Greater => 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v(args: &[&str]) -> Result<bool, String> {
        if_version(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn comparisons_against_the_claimed_version() {
        assert_eq!(v(&[">=", "2.4"]), Ok(true));
        assert_eq!(v(&["<", "2.3"]), Ok(false));
        assert_eq!(v(&[">", "2.4.71"]), Ok(false));
        assert_eq!(v(&[">=", "2.4.71"]), Ok(true));
        assert_eq!(v(&["<=", "2.4.70"]), Ok(false));
        assert_eq!(v(&["2.4.71"]), Ok(true));
        // Missing parts are zero: 2.4 means 2.4.0.
        assert_eq!(v(&["=", "2.4"]), Ok(false));
        assert_eq!(v(&["==", "2"]), Ok(false));
        assert_eq!(v(&["!<", "2.3"]), Ok(true));
        assert_eq!(v(&["!=", "2.2"]), Ok(true));
        assert_eq!(v(&["!", "2.4.71"]), Ok(false));
    }

    #[test]
    fn regular_expressions_match_the_version_string() {
        assert_eq!(v(&["~", r"^2\.4\."]), Ok(true));
        assert_eq!(v(&["=", r"/^2\.2/"]), Ok(false));
        assert_eq!(v(&[r"/^2\.4/"]), Ok(true));
        assert_eq!(v(&["!~", r"^2\.4"]), Ok(false));
        assert!(v(&["=", "/^2"]).unwrap_err().contains("delimiting"));
        assert!(v(&["~", "("]).unwrap_err().contains("regular expression"));
    }

    #[test]
    fn bad_versions_and_operators_are_errors() {
        for bad in ["2.x", "", "2..4", "2.4.1.0", "-2", "99999999999"] {
            assert!(v(&[">=", bad]).is_err(), "{bad}");
        }
        assert_eq!(v(&["=>", "2.4"]).unwrap_err(), "unrecognized operator '=>'");
        assert!(v(&[]).is_err());
        assert!(v(&["a", "b", "c"]).is_err());
    }

    proptest! {
        #[test]
        fn never_panics(args in proptest::collection::vec("[!=<>~/0-9.a-z()^$]{0,8}", 0..4)) {
            let _ = if_version(&args);
        }

        #[test]
        fn ordering_is_consistent(a in 0u32..4, b in 0u32..8, c in 0u32..100) {
            let ver = format!("{a}.{b}.{c}");
            let lt = v(&["<", &ver]).unwrap();
            let eq = v(&["=", &ver]).unwrap();
            let gt = v(&[">", &ver]).unwrap();
            prop_assert_eq!(u8::from(lt) + u8::from(eq) + u8::from(gt), 1);
            prop_assert_eq!(v(&["<=", &ver]).unwrap(), lt || eq);
            prop_assert_eq!(v(&[">=", &ver]).unwrap(), gt || eq);
        }
    }
}
