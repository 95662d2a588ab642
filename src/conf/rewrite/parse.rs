//! The syntax of mod_rewrite's directives: `RewriteRule` patterns and flags,
//! `RewriteCond` patterns and flags, `RewriteMap` sources and `RewriteOptions`, with
//! Apache's error messages.

use std::path::PathBuf;

use rhttpd_config::{ConfigError, Directive};
use rhttpd_expr::Pcre;

use super::{
    Compare, Cond, CondPattern, FileTest, IntMap, MapSource, RewriteMap, RewriteOptions, Rule,
    RuleFlags, err,
};

/// The `[...]` of a rule or condition split into `(key, value)` pairs; `None` when the
/// brackets are missing.
fn flag_list(text: &str) -> Option<Vec<(String, String)>> {
    let inner = text.strip_prefix('[')?.strip_suffix(']')?;
    Some(
        inner
            .split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(|f| match f.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (f.to_string(), String::new()),
            })
            .collect(),
    )
}

/// `RewriteRule Pattern Substitution [flags]`.
pub fn parse_rule(d: &Directive, conds: Vec<Cond>) -> Result<Rule, ConfigError> {
    let bad_line = || {
        err(
            &d.location,
            format!("RewriteRule: bad argument line '{}'", d.args.join(" ")),
        )
    };
    if d.args.len() < 2 || d.args.len() > 3 {
        return Err(bad_line());
    }
    let mut flags = RuleFlags::default();
    if let Some(text) = d.args.get(2) {
        let list =
            flag_list(text).ok_or_else(|| err(&d.location, "RewriteRule: bad flag delimiters"))?;
        for (key, value) in list {
            rule_flag(&mut flags, &key, &value).map_err(|m| err(&d.location, m))?;
        }
    }
    let (negate, pattern) = match d.args[0].strip_prefix('!') {
        Some(p) => (true, p),
        None => (false, d.args[0].as_str()),
    };
    let pattern = Pcre::new(pattern, flags.nocase).map_err(|_| {
        err(
            &d.location,
            format!(
                "RewriteRule: cannot compile regular expression '{}'",
                d.args[0]
            ),
        )
    })?;
    let substitution = d.args[1].clone();
    if substitution.is_empty() {
        return Err(bad_line());
    }
    Ok(Rule {
        pattern,
        negate,
        substitution,
        conds,
        flags,
        location: d.location.clone(),
    })
}

fn is(key: &str, names: &[&str]) -> bool {
    names.iter().any(|n| key.eq_ignore_ascii_case(n))
}

/// One rule flag, as mod_rewrite's `cmd_rewriterule_setflag`.
fn rule_flag(f: &mut RuleFlags, key: &str, value: &str) -> Result<(), String> {
    let unknown = || format!("RewriteRule: unknown flag '{key}'");
    if is(key, &["B", "backrefescaping"]) {
        f.escape_backrefs = Some(value.to_string());
    } else if is(key, &["BNP", "backrefnoplus"]) {
        f.backref_no_plus = true;
    } else if is(key, &["BCTLS"]) {
        f.backref_ctls = true;
    } else if is(key, &["BNE"]) {
        f.backref_never = Some(value.to_string());
    } else if is(key, &["C", "chain"]) {
        f.chain = true;
    } else if is(key, &["CO", "cookie"]) {
        f.cookies.push(value.to_string());
    } else if is(key, &["DPI", "discardpath"]) {
        f.discard_path_info = true;
    } else if is(key, &["E", "env"]) {
        f.env.push(value.to_string());
    } else if is(key, &["END"]) {
        f.end = true;
    } else if is(key, &["F", "forbidden"]) {
        f.forbidden = true;
    } else if is(key, &["G", "gone"]) {
        f.gone = true;
    } else if is(key, &["H", "handler"]) {
        f.handler = Some(value.to_string());
    } else if is(key, &["L", "last"]) {
        f.last = true;
    } else if is(key, &["N", "next"]) {
        let limit = if value.is_empty() {
            10_000
        } else {
            value
                .parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    format!("RewriteRule: invalid number of rounds '{value}' for flag 'N'")
                })?
        };
        f.next = Some(limit);
    } else if is(key, &["NC", "nocase"]) {
        f.nocase = true;
    } else if is(key, &["NE", "noescape"]) {
        f.noescape = true;
    } else if is(key, &["NS", "nosubreq"]) {
        f.nosubreq = true;
    } else if is(key, &["P", "proxy"]) {
        f.proxy = true;
    } else if is(key, &["PT", "passthrough"]) {
        f.passthrough = true;
    } else if is(key, &["QSA", "qsappend"]) {
        f.qs_append = true;
    } else if is(key, &["QSD", "qsdiscard"]) {
        f.qs_discard = true;
    } else if is(key, &["QSL", "qslast"]) {
        f.qs_last = true;
    } else if is(key, &["R", "redirect"]) {
        let status = if value.is_empty() {
            302
        } else if value.eq_ignore_ascii_case("permanent") {
            301
        } else if value.eq_ignore_ascii_case("temp") {
            302
        } else if value.eq_ignore_ascii_case("seeother") {
            303
        } else {
            value
                .parse::<u16>()
                .ok()
                .filter(|s| (100..600).contains(s))
                .ok_or_else(|| "RewriteRule: invalid HTTP response code for flag 'R'".to_string())?
        };
        f.redirect = Some(status);
    } else if is(key, &["S", "skip"]) {
        f.skip = value
            .parse()
            .map_err(|_| format!("RewriteRule: invalid number '{value}' for flag 'S'"))?;
    } else if is(key, &["T", "type"]) {
        f.mime_type = Some(value.to_string());
    } else if is(key, &["UnsafePrefixStat"]) {
        f.unsafe_prefix_stat = true;
    } else if is(key, &["UnsafeAllow3F"]) {
        f.unsafe_allow_3f = true;
    } else {
        return Err(unknown());
    }
    if matches!(key.to_ascii_uppercase().as_str(), "E" | "ENV") && value.is_empty() {
        return Err(unknown());
    }
    Ok(())
}

/// `RewriteCond TestString CondPattern [flags]`.
pub fn parse_cond(d: &Directive) -> Result<Cond, ConfigError> {
    if d.args.len() < 2 || d.args.len() > 3 {
        return Err(err(
            &d.location,
            format!("RewriteCond: bad argument line '{}'", d.args.join(" ")),
        ));
    }
    let test = d.args[0].clone();
    let (mut nocase, mut or_next) = (false, false);
    if let Some(text) = d.args.get(2) {
        let list =
            flag_list(text).ok_or_else(|| err(&d.location, "RewriteCond: bad flag delimiters"))?;
        for (key, _) in list {
            if is(&key, &["NC", "nocase"]) {
                nocase = true;
            } else if is(&key, &["OR", "ornext"]) {
                or_next = true;
            } else if is(&key, &["NV", "novary"]) {
                // Only the Vary header of the response; rhttpd adds none for conditions.
            } else {
                return Err(err(
                    &d.location,
                    format!("RewriteCond: unknown flag '{key}'"),
                ));
            }
        }
    }
    let (negate, text) = match d.args[1].strip_prefix('!') {
        Some(p) => (true, p),
        None => (false, d.args[1].as_str()),
    };
    if test.eq_ignore_ascii_case("expr") {
        let expr = crate::conf::expr::parse(text, &d.location, |m| {
            format!("RewriteCond: cannot compile expression \"{text}\": {m}")
        })?;
        return Ok(Cond {
            test,
            pattern: CondPattern::Expr(expr),
            negate,
            or_next,
            nocase,
        });
    }
    let (pattern, negate) = cond_pattern(text, negate, nocase).map_err(|_| {
        err(
            &d.location,
            format!(
                "RewriteCond: cannot compile regular expression '{}'",
                d.args[1]
            ),
        )
    })?;
    Ok(Cond {
        test,
        pattern,
        negate,
        or_next,
        nocase,
    })
}

/// The pattern kind, as mod_rewrite's `cmd_rewritecond` tells them apart (the file
/// tests are exactly two characters; the integer comparisons start with four or more).
fn cond_pattern(text: &str, negate: bool, nocase: bool) -> Result<(CondPattern, bool), String> {
    let b = text.as_bytes();
    if b.len() == 2 && b[0] == b'-' {
        let test = match b[1] {
            b'f' => Some(FileTest::File),
            b's' => Some(FileTest::NonEmpty),
            b'd' => Some(FileTest::Dir),
            b'x' => Some(FileTest::Executable),
            b'h' | b'l' | b'L' => Some(FileTest::Symlink),
            b'U' => Some(FileTest::UrlExists),
            b'F' => Some(FileTest::FileAccessible),
            _ => None,
        };
        if let Some(t) = test {
            return Ok((CondPattern::File(t), negate));
        }
    } else if b.len() >= 4 && b[0] == b'-' {
        let op = match text.get(1..3).unwrap_or("") {
            "lt" => Some((Compare::Lt, false)),
            "le" => Some((Compare::Le, false)),
            "eq" => Some((Compare::Eq, false)),
            "ge" => Some((Compare::Ge, false)),
            "gt" => Some((Compare::Gt, false)),
            "ne" => Some((Compare::Eq, true)),
            _ => None,
        };
        if let Some((op, invert)) = op {
            return Ok((CondPattern::Int(op, text[3..].to_string()), negate ^ invert));
        }
    } else if let Some(rest) = text.strip_prefix("<=") {
        return Ok((CondPattern::Str(Compare::Le, rest.to_string()), negate));
    } else if let Some(rest) = text.strip_prefix(">=") {
        return Ok((CondPattern::Str(Compare::Ge, rest.to_string()), negate));
    }
    if let Some(rest) = text.strip_prefix('<') {
        return Ok((CondPattern::Str(Compare::Lt, rest.to_string()), negate));
    }
    if let Some(rest) = text.strip_prefix('>') {
        return Ok((CondPattern::Str(Compare::Gt, rest.to_string()), negate));
    }
    if let Some(rest) = text.strip_prefix('=') {
        // `=""` tests for the empty string (the quotes may survive as written).
        let rest = if rest == "\"\"" { "" } else { rest };
        return Ok((CondPattern::Str(Compare::Eq, rest.to_string()), negate));
    }
    Ok((CondPattern::Regex(Pcre::new(text, nocase)?), negate))
}

/// `RewriteMap MapName MapType:MapSource [MapTypeOptions]`.
pub fn parse_map(
    d: &Directive,
    resolve: &dyn Fn(&str) -> PathBuf,
) -> Result<RewriteMap, ConfigError> {
    let name = d.args[0].clone();
    let spec = d.args.get(1).map(String::as_str).unwrap_or("");
    let bad = || err(&d.location, format!("RewriteMap: bad map:{spec}"));
    let (kind, source) = spec.split_once(':').ok_or_else(bad)?;
    let file = |s: &str| -> Result<PathBuf, ConfigError> {
        let p = resolve(s);
        if !p.exists() {
            return Err(err(
                &d.location,
                format!("RewriteMap: file for map {name} not found:{}", p.display()),
            ));
        }
        Ok(p)
    };
    let source = match kind.to_ascii_lowercase().as_str() {
        "txt" => MapSource::Txt(file(source)?),
        "rnd" => MapSource::Rnd(file(source)?),
        "int" => MapSource::Int(match source.to_ascii_lowercase().as_str() {
            "toupper" => IntMap::ToUpper,
            "tolower" => IntMap::ToLower,
            "escape" => IntMap::Escape,
            "unescape" => IntMap::Unescape,
            _ => {
                return Err(err(
                    &d.location,
                    format!("RewriteMap: internal map not found:{source}"),
                ));
            }
        }),
        "prg" => {
            let mut words = source.split_whitespace().map(str::to_string);
            let program = resolve(&words.next().ok_or_else(bad)?);
            if !program.is_file() {
                return Err(err(
                    &d.location,
                    format!(
                        "RewriteMap: map file or program not found:{}",
                        program.display()
                    ),
                ));
            }
            MapSource::Prg {
                program,
                args: words.collect(),
            }
        }
        "dbm" => {
            return Err(err(
                &d.location,
                format!(
                    "RewriteMap {name} {spec}: rhttpd has no dbm maps; convert the map to a txt: map (httxt2dbm's input format is the same)"
                ),
            ));
        }
        "dbd" | "fastdbd" => {
            return Err(err(
                &d.location,
                format!("RewriteMap {name} {spec}: rhttpd has no SQL (mod_dbd) maps"),
            ));
        }
        _ => return Err(bad()),
    };
    Ok(RewriteMap::new(name, source))
}

/// `RewriteOptions`, on top of what earlier lines of the same context set.
pub fn parse_options(
    d: &Directive,
    mut opts: RewriteOptions,
    warnings: &mut Vec<String>,
) -> Result<RewriteOptions, ConfigError> {
    for word in &d.args {
        let w = word.to_ascii_lowercase();
        match w.as_str() {
            "inherit" => opts.inherit = true,
            "inheritbefore" => opts.inherit_before = true,
            "inheritdown" => {
                opts.inherit_down = true;
                opts.inherit = true;
            }
            "inheritdownbefore" => {
                opts.inherit_down_before = true;
                opts.inherit_before = true;
            }
            "ignoreinherit" => opts.ignore_inherit = true,
            "mergebase" => opts.merge_base = true,
            "allownoslash"
            | "allowanyuri"
            | "ignorecontextinfo"
            | "legacyprefixdocroot"
            | "longurloptimization"
            | "unsafeprefixstat" => {
                let note = format!("RewriteOptions {word}: accepted, no effect in rhttpd");
                if !warnings.contains(&note) {
                    warnings.push(note);
                }
            }
            _ if w.starts_with("maxredirects=") => {
                warnings.push(
                    "RewriteOptions: MaxRedirects option has been removed in favor of the global LimitInternalRecursion directive and will be ignored.".to_string(),
                );
            }
            _ => {
                return Err(err(
                    &d.location,
                    format!("RewriteOptions: unknown option '{word}'"),
                ));
            }
        }
    }
    Ok(opts)
}
