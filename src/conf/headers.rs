//! mod_headers' configuration: `Header` and `RequestHeader` lines parsed into actions,
//! their format strings (`%t %D %{VAR}e %{VAR}s %%`) compiled once. The request and
//! response side is `modules::headers`.
//!
//! As in Apache the lists of the server, the virtual host and each section are
//! concatenated in merge order (`merge_headers_config`), so a section's `Header unset`
//! undoes what the server level set.

use std::sync::Arc;

use http::HeaderName;
use regex::Regex;
use rhttpd_config::{ConfigError, Directive};

use super::values::err;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Set,
    SetIfEmpty,
    Add,
    Append,
    Merge,
    Unset,
    Echo,
    Edit,
    EditAll,
    Note,
}

/// One piece of a format string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tag {
    Lit(String),
    /// `%t`: `t=` and the request's start in microseconds since the epoch.
    Time,
    /// `%D`: `D=` and the microseconds since the request started.
    Duration,
    /// `%{NAME}e`: a request environment variable, `(null)` when unset.
    Env(String),
    /// `%{NAME}s`: a mod_ssl variable, `(null)` when unset or not TLS.
    Ssl(String),
    /// A value written `expr=STRING-EXPRESSION` (the whole value).
    Expr(super::expr::ConfExpr),
}

/// A compiled format string.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Format(pub Vec<Tag>);

/// When an action runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    Always,
    /// `env=VAR`: only when VAR is set.
    Env(String),
    /// `env=!VAR`: only when VAR is not set.
    NotEnv(String),
    /// `expr=EXPRESSION`: only when the ap_expr expression is true.
    Expr(super::expr::ConfExpr),
}

/// One `Header` / `RequestHeader` line.
#[derive(Clone, Debug)]
pub struct Entry {
    pub action: Action,
    /// The header (for `echo`, unused: see `regex`).
    pub name: HeaderName,
    /// The value (`set`, `add` ...), the substitution (`edit`), the note name (`note`).
    pub value: Format,
    /// `edit`'s pattern; `echo`'s pattern on request header names.
    pub regex: Option<Regex>,
    pub condition: Condition,
    /// `early`: applied right after the request head is read.
    pub early: bool,
}

/// Which list a line goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    /// `RequestHeader`.
    In,
    /// `Header [onsuccess]`: responses that are not error documents.
    Out,
    /// `Header always`: every response, error documents included.
    Err,
}

/// A section's mod_headers lines, or the merged lists of a request.
#[derive(Clone, Debug, Default)]
pub struct HeadersDir {
    pub request: Arc<Vec<Entry>>,
    pub onsuccess: Arc<Vec<Entry>>,
    pub always: Arc<Vec<Entry>>,
}

fn concat(a: &Arc<Vec<Entry>>, b: &Arc<Vec<Entry>>) -> Arc<Vec<Entry>> {
    if b.is_empty() {
        a.clone()
    } else if a.is_empty() {
        b.clone()
    } else {
        Arc::new(a.iter().chain(b.iter()).cloned().collect())
    }
}

impl HeadersDir {
    pub fn merge(&self, more: &HeadersDir) -> HeadersDir {
        HeadersDir {
            request: concat(&self.request, &more.request),
            onsuccess: concat(&self.onsuccess, &more.onsuccess),
            always: concat(&self.always, &more.always),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.request.is_empty() && self.onsuccess.is_empty() && self.always.is_empty()
    }
}

/// Where `parse_line` says its expressions were written (`directive` puts the line's).
fn nowhere() -> rhttpd_config::Location {
    rhttpd_config::Location::new("", 0)
}

/// Apache's `parse_format_tag` over a whole string: literal text with `\\ \r \n \t`
/// escapes, `%%` (and a `%` at the end) for `%`, `%t`, `%D`, `%{NAME}e`, `%{NAME}s`.
pub fn parse_format(s: &str) -> Result<Format, String> {
    let mut tags = Vec::new();
    let mut lit = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some('\\') => {
                    lit.push('\\');
                    chars.next();
                }
                Some('r') => {
                    lit.push('\r');
                    chars.next();
                }
                Some('n') => {
                    lit.push('\n');
                    chars.next();
                }
                Some('t') => {
                    lit.push('\t');
                    chars.next();
                }
                _ => lit.push('\\'),
            },
            '%' => {
                let mut arg = None;
                match chars.peek() {
                    None | Some('%') => {
                        chars.next();
                        lit.push('%');
                        continue;
                    }
                    Some('{') => {
                        chars.next();
                        let mut a = String::new();
                        for c in chars.by_ref() {
                            if c == '}' {
                                break;
                            }
                            a.push(c);
                        }
                        arg = Some(a);
                    }
                    _ => {}
                }
                let tag = match chars.next() {
                    Some('t') => Tag::Time,
                    Some('D') => Tag::Duration,
                    Some('e') => Tag::Env(arg.unwrap_or_default()),
                    Some('s') => Tag::Ssl(arg.unwrap_or_default()),
                    Some(c @ ('l' | 'i' | 'b')) => {
                        return Err(format!(
                            "header format %{c} (server load) is not supported by rhttpd yet"
                        ));
                    }
                    Some(c) => return Err(format!("Unrecognized header format %{c}")),
                    None => return Err("Unrecognized header format %".to_string()),
                };
                if !lit.is_empty() {
                    tags.push(Tag::Lit(std::mem::take(&mut lit)));
                }
                tags.push(tag);
            }
            c => lit.push(c),
        }
    }
    if !lit.is_empty() {
        tags.push(Tag::Lit(lit));
    }
    Ok(Format(tags))
}

/// Apache's `header_cmd` + `header_inout_cmd`: `[always|onsuccess] action header
/// [value] [replacement] [early|env=[!]VAR]` (the condition word only for `Header`).
/// `in_section`: inside `<Directory>`/`<Location>`/`<Files>` (where `early` is not
/// allowed).
pub fn parse_line(
    request: bool,
    args: &[String],
    in_section: bool,
) -> Result<(Table, Entry), String> {
    let dname = if request { "RequestHeader" } else { "Header" };
    let mut it = args.iter().map(String::as_str);
    let mut table = if request { Table::In } else { Table::Out };
    let mut action = it.next().unwrap_or("");
    if !request {
        if action.eq_ignore_ascii_case("always") {
            table = Table::Err;
            action = it.next().unwrap_or("");
        } else if action.eq_ignore_ascii_case("onsuccess") {
            action = it.next().unwrap_or("");
        }
    }
    let hdr = it.next().unwrap_or("");
    let mut value = it.next();
    let subs = it.next();
    let mut envclause = it.next();
    if it.next().is_some() {
        return Err(format!("{dname} has too many arguments"));
    }
    let action = match action.to_ascii_lowercase().as_str() {
        "set" => Action::Set,
        "setifempty" => Action::SetIfEmpty,
        "add" => Action::Add,
        "append" => Action::Append,
        "merge" => Action::Merge,
        "unset" => Action::Unset,
        "echo" => Action::Echo,
        "edit" => Action::Edit,
        "edit*" => Action::EditAll,
        "note" => Action::Note,
        _ => {
            return Err("first argument must be 'add', 'set', 'setifempty', 'append', 'merge', 'unset', 'echo', 'note', 'edit', or 'edit*'.".to_string());
        }
    };
    let mut regex = None;
    let mut format_src = None;
    match action {
        Action::Edit | Action::EditAll => {
            let Some(subs) = subs else {
                return Err("Header edit requires a match and a substitution".to_string());
            };
            let pattern = value.unwrap_or("");
            regex = Some(
                Regex::new(pattern)
                    .map_err(|_| "Header edit regex could not be compiled".to_string())?,
            );
            format_src = Some(subs);
        }
        _ => {
            if envclause.is_some() {
                return Err("Too many arguments to directive".to_string());
            }
            envclause = subs;
        }
    }
    match action {
        Action::Unset | Action::Echo => {
            if let Some(v) = value.take() {
                if envclause.is_some() {
                    return Err(if action == Action::Unset {
                        "header unset takes two arguments".to_string()
                    } else {
                        "Header echo takes two arguments".to_string()
                    });
                }
                envclause = Some(v);
            }
            if action == Action::Echo {
                if request {
                    return Err("Header echo only valid on Header directives".to_string());
                }
                regex = Some(
                    regex::RegexBuilder::new(hdr)
                        .case_insensitive(true)
                        .build()
                        .map_err(|_| "Header echo regex could not be compiled".to_string())?,
                );
            }
        }
        Action::Edit | Action::EditAll => {}
        _ => match value {
            None => return Err("Header requires three arguments".to_string()),
            Some(v) => format_src = Some(v),
        },
    }
    let mut condition = Condition::Always;
    let mut early = false;
    if let Some(e) = envclause {
        let lower = e.to_ascii_lowercase();
        if lower == "early" {
            if in_section {
                return Err(format!(
                    "{dname}: 'early' is allowed in server and virtual host context only"
                ));
            }
            early = true;
        } else if lower.starts_with("env=") {
            let var = &e[4..];
            match var.strip_prefix('!') {
                _ if var.is_empty() || var == "!" => {
                    return Err("error: missing environment variable name. envclause should be in the form env=envar ".to_string());
                }
                Some(v) => condition = Condition::NotEnv(v.to_string()),
                None => condition = Condition::Env(var.to_string()),
            }
        } else if lower.starts_with("expr=") {
            let expr = super::expr::parse(&e[5..], &nowhere(), |m| {
                format!("Can't parse envclause/expression: {m}")
            })
            .map_err(|e| e.message)?;
            condition = Condition::Expr(expr);
        } else {
            return Err(format!("Unknown parameter: {e}"));
        }
    }
    let value = match format_src {
        Some(s) if s.starts_with("expr=") => {
            let expr = super::expr::parse_string(&s[5..], &nowhere(), |m| {
                format!("Can't parse value expression : {m}")
            })
            .map_err(|e| e.message)?;
            Format(vec![Tag::Expr(expr)])
        }
        Some(s) => parse_format(s)?,
        None => Format::default(),
    };
    let name_src = if action == Action::Echo {
        "x-echo"
    } else {
        hdr.split(':').next().unwrap_or("")
    };
    let name = HeaderName::from_bytes(name_src.as_bytes())
        .map_err(|_| format!("{dname}: invalid header name '{hdr}'"))?;
    Ok((
        table,
        Entry {
            action,
            name,
            value,
            regex,
            condition,
            early,
        },
    ))
}

/// `Header` / `RequestHeader` into `h`.
pub fn directive(h: &mut HeadersDir, d: &Directive, in_section: bool) -> Result<(), ConfigError> {
    let (table, mut entry) = parse_line(d.name == "RequestHeader", &d.args, in_section)
        .map_err(|m| err(&d.location, m))?;
    if let Condition::Expr(e) = &mut entry.condition {
        e.location = d.location.clone();
    }
    for tag in &mut entry.value.0 {
        if let Tag::Expr(e) = tag {
            e.location = d.location.clone();
        }
    }
    let list = match table {
        Table::In => &mut h.request,
        Table::Out => &mut h.onsuccess,
        Table::Err => &mut h.always,
    };
    Arc::make_mut(list).push(entry);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn args(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn formats() {
        assert_eq!(
            parse_format("plain"),
            Ok(Format(vec![Tag::Lit("plain".into())]))
        );
        assert_eq!(
            parse_format("a %t b %D %{X}e%{SSL_PROTOCOL}s 100%% %"),
            Ok(Format(vec![
                Tag::Lit("a ".into()),
                Tag::Time,
                Tag::Lit(" b ".into()),
                Tag::Duration,
                Tag::Lit(" ".into()),
                Tag::Env("X".into()),
                Tag::Ssl("SSL_PROTOCOL".into()),
                Tag::Lit(" 100% %".into()),
            ]))
        );
        assert_eq!(
            parse_format(r"a\tb\\c\q"),
            Ok(Format(vec![Tag::Lit("a\tb\\c\\q".into())]))
        );
        assert_eq!(
            parse_format("%x"),
            Err("Unrecognized header format %x".into())
        );
        assert_eq!(
            parse_format("%{X"),
            Err("Unrecognized header format %".into())
        );
        assert!(parse_format("%l").unwrap_err().contains("not supported"));
        assert_eq!(parse_format(""), Ok(Format(vec![])));
    }

    #[test]
    fn lines() {
        let (t, e) = parse_line(false, &args(&["set", "X-A:", "v"]), false).unwrap();
        assert_eq!(
            (t, e.action, e.name.as_str()),
            (Table::Out, Action::Set, "x-a")
        );
        let (t, e) =
            parse_line(false, &args(&["always", "unset", "X-A", "env=!FOO"]), true).unwrap();
        assert_eq!(t, Table::Err);
        assert_eq!(e.condition, Condition::NotEnv("FOO".into()));
        let (t, e) = parse_line(false, &args(&["onsuccess", "echo", "^X-"]), true).unwrap();
        assert_eq!((t, e.action), (Table::Out, Action::Echo));
        assert!(e.regex.unwrap().is_match("x-foo"));
        let (_, e) =
            parse_line(true, &args(&["edit*", "X", "a(b)", "<$1>", "early"]), false).unwrap();
        assert!(e.early && e.action == Action::EditAll);
        assert_eq!(e.value, Format(vec![Tag::Lit("<$1>".into())]));
        let (_, e) = parse_line(false, &args(&["add", "X", "v", "env=HTTPS"]), false).unwrap();
        assert_eq!(e.condition, Condition::Env("HTTPS".into()));
    }

    #[test]
    fn line_errors() {
        let e = |a: &[&str], req: bool| parse_line(req, &args(a), true).unwrap_err();
        assert!(e(&["bogus", "X", "v"], false).starts_with("first argument must be"));
        assert_eq!(e(&["set", "X"], false), "Header requires three arguments");
        assert_eq!(
            e(&["set", "X", "v", "a", "b", "c"], false),
            "Header has too many arguments"
        );
        assert_eq!(
            e(&["set", "X", "v", "a", "b", "c"], true),
            "RequestHeader has too many arguments"
        );
        assert_eq!(
            e(&["set", "X", "v", "a", "b"], false),
            "Too many arguments to directive"
        );
        assert_eq!(
            e(&["set", "X", "v", "bogus"], false),
            "Unknown parameter: bogus"
        );
        assert_eq!(
            e(&["unset", "X", "env=A", "b"], false),
            "header unset takes two arguments"
        );
        assert_eq!(
            e(&["unset", "X", "env=A", "b", "c"], false),
            "Too many arguments to directive"
        );
        assert_eq!(
            e(&["edit", "X", "("], false),
            "Header edit requires a match and a substitution"
        );
        assert_eq!(
            e(&["edit", "X", "(", "y"], false),
            "Header edit regex could not be compiled"
        );
        assert_eq!(
            e(&["echo", "X"], true),
            "Header echo only valid on Header directives"
        );
        assert!(e(&["set", "X", "v", "env="], false).starts_with("error: missing environment"));
        assert!(e(&["set", "X", "v", "env=!"], false).starts_with("error: missing environment"));
        assert!(e(&["set", "X", "v", "early"], false).contains("'early'"));
        assert_eq!(
            e(&["set", "X", "v", "expr=%{HTTPS} =="], false),
            "Can't parse envclause/expression: syntax error, unexpected $end"
        );
        assert_eq!(
            e(&["set", "X", "expr=%{NOPE}"], false),
            "Can't parse value expression : Variable 'NOPE' does not exist"
        );
        let (_, ok) = parse_line(
            false,
            &args(&["set", "X", "expr=%{REMOTE_ADDR}", "expr=-n %{HTTPS}"]),
            false,
        )
        .unwrap();
        assert!(matches!(ok.condition, Condition::Expr(_)));
        assert!(matches!(ok.value.0.as_slice(), [Tag::Expr(_)]));
        assert!(e(&["set", "Bad Name", "v"], false).contains("invalid header name"));
    }

    #[test]
    fn merge_concatenates() {
        let mut a = HeadersDir::default();
        let mut b = HeadersDir::default();
        let d = |args: &[&str]| Directive {
            name: "Header",
            args: args.iter().map(|s| s.to_string()).collect(),
            location: rhttpd_config::Location::new("t.conf", 1),
        };
        directive(&mut a, &d(&["set", "A", "1"]), false).unwrap();
        directive(&mut b, &d(&["unset", "A"]), true).unwrap();
        let m = a.merge(&b);
        let acts: Vec<Action> = m.onsuccess.iter().map(|e| e.action).collect();
        assert_eq!(acts, [Action::Set, Action::Unset]);
        assert!(Arc::ptr_eq(
            &a.merge(&HeadersDir::default()).onsuccess,
            &a.onsuccess
        ));
    }

    proptest! {
        #[test]
        fn format_never_panics(s in ".{0,64}") {
            let _ = parse_format(&s);
        }

        #[test]
        fn literal_text_round_trips(s in "[a-zA-Z0-9 ,;=/._-]{0,40}") {
            let f = parse_format(&s).unwrap();
            let text: String = f.0.iter().map(|t| match t {
                Tag::Lit(l) => l.clone(),
                _ => unreachable!(),
            }).collect();
            prop_assert_eq!(text, s);
        }

        #[test]
        fn lines_never_panic(words in proptest::collection::vec(".{0,12}", 0..7), req: bool) {
            let _ = parse_line(req, &words, false);
        }
    }
}
