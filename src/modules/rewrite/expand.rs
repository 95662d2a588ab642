//! Expansion of substitutions, condition test strings and flag values: `$N` (the rule's
//! groups), `%N` (the last matched condition's groups), `%{VAR}`, `${map:key|default}`
//! and `\` escapes, as mod_rewrite's `do_expand`; and the `[B]` escaping of groups.

use rhttpd_expr::Groups;

use super::engine::{Blocked, Lookup, MapAnswer};
use crate::conf::rewrite::RuleFlags;

/// What expansion reads: the groups and, through `lookup`, variables and maps.
pub struct Refs<'a> {
    pub rule: &'a Groups,
    pub cond: &'a Groups,
    /// The rule's flags when expanding its substitution (for `[B]`), else `None`.
    pub escape: Option<&'a RuleFlags>,
}

/// The index of the `}` closing the `{` at `open`, counting nested braces.
fn closing_brace(b: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, &c) in b.iter().enumerate().skip(open) {
        match c {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Expand `input`. Fails only when a map lookup would block (a `prg:` map on a thread
/// that must not wait).
pub fn expand(input: &str, refs: &Refs<'_>, lookup: &mut dyn Lookup) -> Result<String, Blocked> {
    let b = input.as_bytes();
    let mut out = String::with_capacity(input.len() + 16);
    let mut i = 0;
    let mut literal_from = 0;
    while i < b.len() {
        let c = b[i];
        if c != b'\\' && c != b'$' && c != b'%' {
            i += 1;
            continue;
        }
        out.push_str(&input[literal_from..i]);
        if c == b'\\' {
            if i + 1 < b.len() {
                // The escaped character stands for itself (it may be multi-byte).
                let ch = input[i + 1..].chars().next().unwrap_or('\\');
                out.push(ch);
                i += 1 + ch.len_utf8();
            } else {
                out.push('\\');
                i += 1;
            }
            literal_from = i;
            continue;
        }
        let next = b.get(i + 1).copied();
        match next {
            Some(b'{') => {
                let Some(close) = closing_brace(b, i + 1) else {
                    out.push(c as char);
                    i += 1;
                    literal_from = i;
                    continue;
                };
                let inner = &input[i + 2..close];
                if c == b'%' {
                    let name = expand(inner, refs, lookup)?;
                    out.push_str(&lookup.var(&name));
                } else {
                    match map_reference(inner) {
                        Some((map, key, default)) => {
                            let key = expand(key, refs, lookup)?;
                            match lookup.map(map, &key) {
                                MapAnswer::Value(v) => out.push_str(&v),
                                MapAnswer::NotFound => {
                                    out.push_str(&expand(default.unwrap_or(""), refs, lookup)?)
                                }
                                MapAnswer::Blocked => return Err(Blocked),
                            }
                        }
                        // `${` without a `map:`: kept as written.
                        None => out.push_str(&input[i..=close]),
                    }
                }
                i = close + 1;
            }
            Some(d) if d.is_ascii_digit() => {
                let n = usize::from(d - b'0');
                let groups = if c == b'$' { refs.rule } else { refs.cond };
                let text = groups.text(n);
                match refs.escape {
                    Some(f) if f.escape_backrefs.is_some() || f.backref_ctls => {
                        out.push_str(&escape_backref(text, f))
                    }
                    _ => out.push_str(text),
                }
                i += 2;
            }
            _ => {
                out.push(c as char);
                i += 1;
            }
        }
        literal_from = i;
    }
    out.push_str(&input[literal_from..]);
    Ok(out)
}

/// `map:key|default` split into its parts; `None` without a `:`.
fn map_reference(inner: &str) -> Option<(&str, &str, Option<&str>)> {
    let (map, rest) = inner.split_once(':')?;
    // The default starts at the first `|` outside nested `${...}` / `%{...}`.
    let b = rest.as_bytes();
    let mut depth = 0usize;
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'{' => depth += 1,
            b'}' => depth = depth.saturating_sub(1),
            b'|' if depth == 0 => return Some((map, &rest[..i], Some(&rest[i + 1..]))),
            _ => {}
        }
    }
    Some((map, rest, None))
}

/// `[B]` escaping of a group: by default every byte but letters, digits and `_` (space
/// as `+` unless `[BNP]`); `[B=chars]` only those characters; `[BCTLS]` only controls
/// and space; `[BNE=chars]` never those.
pub fn escape_backref(text: &str, f: &RuleFlags) -> String {
    let only = f.escape_backrefs.as_deref().filter(|s| !s.is_empty());
    let never = f.backref_never.as_deref().unwrap_or("");
    let mut out = Vec::with_capacity(text.len() * 3 / 2);
    for &c in text.as_bytes() {
        let wanted = if f.backref_ctls && only.is_none() {
            c.is_ascii_control() || c == b' '
        } else {
            only.is_none_or(|set| set.as_bytes().contains(&c))
        } && !never.as_bytes().contains(&c);
        if !wanted || c.is_ascii_alphanumeric() || c == b'_' {
            out.push(c);
        } else if c == b' ' && !f.backref_no_plus {
            out.push(b'+');
        } else {
            out.extend_from_slice(format!("%{c:02x}").as_bytes());
        }
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}
