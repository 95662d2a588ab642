//! mod_expires' configuration: `ExpiresActive`, `ExpiresDefault`, `ExpiresByType` and
//! the time specification they take ("access plus 1 month 2 days", or the old
//! `A2592000` / `M604800` codes), parsed once into a base and a number of seconds.
//! The response side is `modules::expires`.

use std::collections::HashMap;
use std::sync::Arc;

use rhttpd_config::{ConfigError, Directive};

use super::values::{err, flag};

/// What an expiry is counted from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Base {
    /// `access` / `now` / `A`: the time of the request.
    Access,
    /// `modification` / `M`: the file's last modification (no header for a response
    /// that has no file).
    Modification,
}

/// One parsed time specification: `base + seconds` (seconds may be negative in the
/// `A-100` form, as Apache's `atoi` allows; the result is never before the request).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpiresCode {
    pub base: Base,
    pub seconds: i64,
}

/// The per-directory part, merged as `merge_expires_dir_configs` does: `ExpiresActive`
/// and `ExpiresDefault` of the more specific section win where given, the
/// `ExpiresByType` tables overlay (the more specific section wins per type).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExpiresDir {
    pub active: Option<bool>,
    pub default: Option<ExpiresCode>,
    /// Lower-cased MIME type (`text/html`, or `text/*`) → code.
    pub by_type: Arc<HashMap<String, ExpiresCode>>,
}

impl ExpiresDir {
    pub fn merge(&self, more: &ExpiresDir) -> ExpiresDir {
        let by_type = if more.by_type.is_empty() {
            self.by_type.clone()
        } else if self.by_type.is_empty() {
            more.by_type.clone()
        } else {
            let mut m = (*self.by_type).clone();
            m.extend(more.by_type.iter().map(|(k, v)| (k.clone(), *v)));
            Arc::new(m)
        };
        ExpiresDir {
            active: more.active.or(self.active),
            default: more.default.or(self.default),
            by_type,
        }
    }

    /// Whether the module would insert its filter at all (`ExpiresActive On` and some
    /// rule to apply).
    pub fn enabled(&self) -> bool {
        self.active == Some(true) && (self.default.is_some() || !self.by_type.is_empty())
    }

    /// The rule for a response of `content_type` (parameters ignored): the exact type,
    /// then `major/*`, then `ExpiresDefault`.
    pub fn code_for(&self, content_type: Option<&str>) -> Option<ExpiresCode> {
        if let Some(ct) = content_type {
            let t = ct
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if let Some(c) = self.by_type.get(&t) {
                return Some(*c);
            }
            if let Some((major, _)) = t.split_once('/')
                && let Some(c) = self.by_type.get(&format!("{major}/*"))
            {
                return Some(*c);
            }
        }
        self.default
    }
}

/// C's `atoi`: leading blanks, an optional sign, digits; anything after is ignored and
/// no digits give 0. Saturates instead of overflowing.
fn atoi(s: &str) -> i64 {
    let s = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut n: i64 = 0;
    for b in digits.bytes().take_while(u8::is_ascii_digit) {
        n = n.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if neg { -n } else { n }
}

/// Apache's `check_code`: `A<seconds>` / `M<seconds>`, or `<base> [plus] {<num>
/// <type>}*`. Words are matched on their leading letters, as Apache does (`a`/`n` =
/// access, `m` = modification, `p` = plus, `y` `mo` `w` `d` `h` `mi` `s` = years ...
/// seconds). A month is 30 days, a year 365. The error text is Apache's.
pub fn parse_code(code: &str) -> Result<ExpiresCode, String> {
    // The old form. Apache takes any code starting with `A` or `M` as one (so that
    // "Access plus 1 month" would mean A0); rhttpd reads a letter after it as a word.
    let old = |rest: &str| !rest.starts_with(|c: char| c.is_ascii_alphabetic());
    if let Some(rest) = code.strip_prefix('A').filter(|r| old(r)) {
        return Ok(ExpiresCode {
            base: Base::Access,
            seconds: atoi(rest),
        });
    }
    if let Some(rest) = code.strip_prefix('M').filter(|r| old(r)) {
        return Ok(ExpiresCode {
            base: Base::Modification,
            seconds: atoi(rest),
        });
    }
    let mut words = code.split_ascii_whitespace();
    let starts = |w: &str, p: &str| {
        w.len() >= p.len() && w.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes())
    };
    let word = words.next().unwrap_or("");
    let base = if starts(word, "n") || starts(word, "a") {
        Base::Access
    } else if starts(word, "m") {
        Base::Modification
    } else {
        return Err(format!("bad expires code, unrecognised <base> '{word}'"));
    };
    let mut word = words.next().unwrap_or("");
    if starts(word, "p") {
        word = words.next().unwrap_or("");
    }
    let mut seconds: i64 = 0;
    while !word.is_empty() {
        if !word.as_bytes()[0].is_ascii_digit() {
            return Err(format!(
                "bad expires code, numeric value expected <num> '{word}'"
            ));
        }
        let num = atoi(word);
        let unit = words.next().unwrap_or("");
        if unit.is_empty() {
            return Err("bad expires code, missing <type>".to_string());
        }
        let factor: i64 = if starts(unit, "y") {
            365 * 86400
        } else if starts(unit, "mo") {
            30 * 86400
        } else if starts(unit, "w") {
            7 * 86400
        } else if starts(unit, "d") {
            86400
        } else if starts(unit, "h") {
            3600
        } else if starts(unit, "mi") {
            60
        } else if starts(unit, "s") {
            1
        } else {
            return Err(format!("bad expires code, unrecognised <type>'{unit}'"));
        };
        seconds = seconds.saturating_add(num.saturating_mul(factor));
        word = words.next().unwrap_or("");
    }
    Ok(ExpiresCode { base, seconds })
}

/// `ExpiresActive`, `ExpiresDefault`, `ExpiresByType` into `ex`.
pub fn directive(ex: &mut ExpiresDir, d: &Directive) -> Result<(), ConfigError> {
    let a0 = d.args.first().map(String::as_str).unwrap_or("");
    match d.name {
        "ExpiresActive" => ex.active = Some(flag(d)),
        "ExpiresDefault" => {
            ex.default = Some(
                parse_code(a0)
                    .map_err(|m| err(&d.location, format!("'ExpiresDefault {a0}': {m}")))?,
            );
        }
        _ => {
            let code = d.args.get(1).map(String::as_str).unwrap_or("");
            if !a0.contains('/') {
                return Err(err(&d.location, "Invalid mimetype: should contain a slash"));
            }
            let c = parse_code(code)
                .map_err(|m| err(&d.location, format!("'ExpiresByType {a0} {code}': {m}")))?;
            Arc::make_mut(&mut ex.by_type).insert(a0.to_ascii_lowercase(), c);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn code(base: Base, seconds: i64) -> ExpiresCode {
        ExpiresCode { base, seconds }
    }

    #[test]
    fn apache_syntax() {
        assert_eq!(
            parse_code("access plus 1 month"),
            Ok(code(Base::Access, 2_592_000))
        );
        assert_eq!(
            parse_code("access plus 1 month 2 days"),
            Ok(code(Base::Access, 2_592_000 + 2 * 86400))
        );
        assert_eq!(
            parse_code("modification plus 5 hours 3 minutes"),
            Ok(code(Base::Modification, 5 * 3600 + 180))
        );
        assert_eq!(
            parse_code("now plus 1 year"),
            Ok(code(Base::Access, 31_536_000))
        );
        // "plus" is optional; units match on their leading letters, any case.
        assert_eq!(
            parse_code("access 2 Weeks"),
            Ok(code(Base::Access, 14 * 86400))
        );
        assert_eq!(
            parse_code("a p 1 mo 1 mi 1 s"),
            Ok(code(Base::Access, 2_592_061))
        );
        assert_eq!(parse_code("access"), Ok(code(Base::Access, 0)));
        assert_eq!(parse_code("M0"), Ok(code(Base::Modification, 0)));
    }

    #[test]
    fn old_codes() {
        assert_eq!(parse_code("A2592000"), Ok(code(Base::Access, 2_592_000)));
        assert_eq!(parse_code("M604800"), Ok(code(Base::Modification, 604_800)));
        // atoi: trailing junk ignored, no digits = 0, a sign is allowed.
        assert_eq!(parse_code("A60x"), Ok(code(Base::Access, 60)));
        assert_eq!(parse_code("A"), Ok(code(Base::Access, 0)));
        assert_eq!(parse_code("A 5"), Ok(code(Base::Access, 5)));
        // A capitalised word is a word, not the old form.
        assert_eq!(
            parse_code("Access plus 1 day"),
            Ok(code(Base::Access, 86400))
        );
        assert_eq!(
            parse_code("Modification 1 day"),
            Ok(code(Base::Modification, 86400))
        );
        assert_eq!(parse_code("A-100"), Ok(code(Base::Access, -100)));
    }

    #[test]
    fn errors_are_apaches() {
        assert_eq!(
            parse_code("later plus 1 day"),
            Err("bad expires code, unrecognised <base> 'later'".into())
        );
        assert_eq!(
            parse_code("access plus one day"),
            Err("bad expires code, numeric value expected <num> 'one'".into())
        );
        assert_eq!(
            parse_code("access plus 1"),
            Err("bad expires code, missing <type>".into())
        );
        assert_eq!(
            parse_code("access plus 1 fortnight"),
            Err("bad expires code, unrecognised <type>'fortnight'".into())
        );
        // "m" alone is neither months nor minutes.
        assert!(parse_code("access plus 1 m").is_err());
        assert!(parse_code("").is_err());
    }

    #[test]
    fn lookup_and_merge() {
        let mut base = ExpiresDir {
            active: Some(true),
            default: Some(code(Base::Access, 10)),
            ..Default::default()
        };
        Arc::make_mut(&mut base.by_type).insert("text/*".into(), code(Base::Access, 20));
        Arc::make_mut(&mut base.by_type).insert("image/png".into(), code(Base::Access, 30));
        assert_eq!(
            base.code_for(Some("text/html; charset=utf-8"))
                .unwrap()
                .seconds,
            20
        );
        assert_eq!(base.code_for(Some("IMAGE/PNG")).unwrap().seconds, 30);
        assert_eq!(base.code_for(Some("image/gif")).unwrap().seconds, 10);
        assert_eq!(base.code_for(None).unwrap().seconds, 10);
        let mut more = ExpiresDir::default();
        Arc::make_mut(&mut more.by_type).insert("image/png".into(), code(Base::Access, 40));
        let m = base.merge(&more);
        assert!(m.enabled());
        assert_eq!(m.code_for(Some("image/png")).unwrap().seconds, 40);
        assert_eq!(m.code_for(Some("text/plain")).unwrap().seconds, 20);
        let off = m.merge(&ExpiresDir {
            active: Some(false),
            ..Default::default()
        });
        assert!(!off.enabled());
        assert!(!ExpiresDir::default().enabled());
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,64}") {
            let _ = parse_code(&s);
        }

        #[test]
        fn sums_units(parts in proptest::collection::vec((0i64..100_000, 0usize..7), 0..6)) {
            let names = ["years", "months", "weeks", "days", "hours", "minutes", "seconds"];
            let factors = [31_536_000i64, 2_592_000, 604_800, 86_400, 3_600, 60, 1];
            let mut text = String::from("access plus");
            let mut want = 0i64;
            for (n, u) in &parts {
                text.push_str(&format!(" {n} {}", names[*u]));
                want += n * factors[*u];
            }
            prop_assert_eq!(parse_code(&text), Ok(code(Base::Access, want)));
            let m = format!("M{want}");
            prop_assert_eq!(parse_code(&m), Ok(code(Base::Modification, want)));
        }
    }
}
