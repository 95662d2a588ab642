//! `ErrorLogFormat`: Apache 2.4's error-log line format. A format is a list of items
//! separated into fields by spaces (`\ ` is a space that does not separate) and by `% `
//! (separates, prints nothing). An item that has nothing to print drops its whole field —
//! unless it has the `-` flag (prints `-`) or the `+` flag (drops the whole line); a digit
//! flag (`%7F`) prints the item only for messages of that level or more verbose
//! (0 emerg … 7 debug, 8+ trace).
//!
//! What rhttpd's log calls carry: time, module, level, pid/tid, client address, the
//! message and the referer (`%{Referer}i`). Items that need more of the request
//! (`%{name}e`, `%{name}n`, other `%{name}i`, `%L`, `%k`, `%v`, `%V`, `%A`) or of the
//! call site (`%E`, `%F`) print nothing; [`ErrorLogFormat::parse`] names them so the
//! configuration can warn.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::SystemTime;

use chrono::{DateTime, Local};

use super::level::Level;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    Literal(String),
    /// A field separator: a space (printed) or `% ` (not printed).
    Separator {
        print: bool,
    },
    ClientAddr,
    Level,
    Module,
    Message,
    Pid,
    Tid,
    /// `%t` (`None`), `%{u}t`, `%{cu}t`.
    Time(Option<String>),
    /// `%{Referer}i`.
    Referer,
    /// An item rhttpd cannot fill: always empty.
    Unavailable,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Item {
    kind: Kind,
    hyphen: bool,
    required: bool,
    /// Only for messages at this level or more verbose.
    min_level: Option<u8>,
}

/// A parsed `ErrorLogFormat`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorLogFormat {
    items: Vec<Item>,
}

/// What one message gives the format.
pub struct Entry<'a> {
    pub now: SystemTime,
    /// The module's short name (`core`, `ssl`).
    pub module: &'a str,
    pub level: Level,
    pub pid: u32,
    pub tid: u64,
    pub client: Option<SocketAddr>,
    /// The message, already escaped.
    pub message: &'a [u8],
    /// The referer, already escaped.
    pub referer: Option<&'a [u8]>,
}

impl ErrorLogFormat {
    /// Parse `format`. `Ok((format, unavailable))`: `unavailable` lists the items that
    /// will always print nothing in rhttpd (for a warning at start).
    pub fn parse(format: &str) -> Result<(ErrorLogFormat, Vec<String>), String> {
        let mut items = Vec::new();
        let mut unavailable = Vec::new();
        let mut literal = String::new();
        let mut chars = format.chars().peekable();
        let flush = |literal: &mut String, items: &mut Vec<Item>| {
            if !literal.is_empty() {
                items.push(item(Kind::Literal(std::mem::take(literal))));
            }
        };
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => literal.push('\n'),
                    Some('t') => literal.push('\t'),
                    Some(other) => literal.push(other),
                    None => literal.push('\\'),
                },
                ' ' => {
                    flush(&mut literal, &mut items);
                    items.push(item(Kind::Separator { print: true }));
                }
                '%' => {
                    let mut it = item(Kind::Unavailable);
                    let mut spec = String::from("%");
                    loop {
                        match chars.peek() {
                            Some('-') => it.hyphen = true,
                            Some('+') => it.required = true,
                            Some(d @ '0'..='9') => {
                                it.min_level = Some(d.to_digit(10).unwrap_or(0) as u8)
                            }
                            _ => break,
                        }
                        spec.extend(chars.next());
                    }
                    let mut arg = None;
                    if chars.peek() == Some(&'{') {
                        chars.next();
                        let mut a = String::new();
                        loop {
                            match chars.next() {
                                Some('}') => break,
                                Some(ch) => a.push(ch),
                                None => return Err(format!("Unterminated %{{ in '{format}'")),
                            }
                        }
                        spec.push_str(&format!("{{{a}}}"));
                        arg = Some(a);
                    }
                    let Some(letter) = chars.next() else {
                        return Err("Unexpected end of format string".into());
                    };
                    spec.push(letter);
                    it.kind = match letter {
                        '%' => {
                            literal.push('%');
                            continue;
                        }
                        ' ' => Kind::Separator { print: false },
                        'a' if arg.is_none() || arg.as_deref() == Some("c") => Kind::ClientAddr,
                        'l' => Kind::Level,
                        'm' => Kind::Module,
                        'M' => Kind::Message,
                        'P' => Kind::Pid,
                        'T' => Kind::Tid,
                        't' => match arg.as_deref() {
                            None => Kind::Time(None),
                            Some(a @ ("u" | "cu")) => Kind::Time(Some(a.to_string())),
                            Some(a) => return Err(format!("Unsupported time format {{{a}}}t")),
                        },
                        'i' if arg
                            .as_deref()
                            .is_some_and(|a| a.eq_ignore_ascii_case("referer")) =>
                        {
                            Kind::Referer
                        }
                        'i' | 'e' | 'n' | 'E' | 'F' | 'k' | 'L' | 'v' | 'V' | 'A' => {
                            unavailable.push(spec.clone());
                            Kind::Unavailable
                        }
                        other => {
                            return Err(format!(
                                "Unrecognized error log format directive %{other}"
                            ));
                        }
                    };
                    flush(&mut literal, &mut items);
                    items.push(it);
                }
                other => literal.push(other),
            }
        }
        flush(&mut literal, &mut items);
        Ok((ErrorLogFormat { items }, unavailable))
    }

    /// Append the line for `e` (newline included) to `out`; `false` when a `+` item had
    /// nothing to print (the line is not logged).
    pub fn render(&self, e: &Entry<'_>, out: &mut Vec<u8>) -> bool {
        let start = out.len();
        let mut field_start = out.len();
        let mut skipping = false;
        let verbosity = e.level.number();
        for it in &self.items {
            if let Kind::Separator { print } = it.kind {
                field_start = out.len();
                skipping = false;
                if print {
                    out.push(b' ');
                }
                continue;
            }
            if skipping {
                continue;
            }
            if let Kind::Literal(s) = &it.kind {
                out.extend_from_slice(s.as_bytes());
                continue;
            }
            let before = out.len();
            if it.min_level.is_none_or(|m| verbosity >= m) {
                write_item(&it.kind, e, out);
            }
            if out.len() == before {
                if it.required {
                    out.truncate(start);
                    return false;
                }
                if it.hyphen {
                    out.push(b'-');
                } else {
                    out.truncate(field_start);
                    skipping = true;
                }
            }
        }
        out.push(b'\n');
        true
    }
}

fn item(kind: Kind) -> Item {
    Item {
        kind,
        hyphen: false,
        required: false,
        min_level: None,
    }
}

fn write_item(kind: &Kind, e: &Entry<'_>, out: &mut Vec<u8>) {
    match kind {
        Kind::ClientAddr => {
            if let Some(a) = e.client {
                super::error_log::push_addr(out, a);
            }
        }
        Kind::Level => out.extend_from_slice(e.level.name().as_bytes()),
        Kind::Module => out.extend_from_slice(e.module.as_bytes()),
        Kind::Message => out.extend_from_slice(e.message),
        Kind::Pid => {
            let _ = write!(out_str(out), "{}", e.pid);
        }
        Kind::Tid => {
            let _ = write!(out_str(out), "{}", e.tid);
        }
        Kind::Time(style) => {
            let dt: DateTime<Local> = DateTime::from(e.now);
            let text = match style.as_deref() {
                None => dt.format("%a %b %d %H:%M:%S %Y").to_string(),
                Some("u") => dt.format("%a %b %d %H:%M:%S%.6f %Y").to_string(),
                _ => dt.format("%Y-%m-%d %H:%M:%S%.6f").to_string(),
            };
            out.extend_from_slice(text.as_bytes());
        }
        Kind::Referer => {
            if let Some(r) = e.referer {
                out.extend_from_slice(r);
            }
        }
        Kind::Literal(_) | Kind::Separator { .. } | Kind::Unavailable => {}
    }
}

/// `write!` into a byte buffer.
fn out_str(out: &mut Vec<u8>) -> impl std::fmt::Write + '_ {
    struct W<'a>(&'a mut Vec<u8>);
    impl std::fmt::Write for W<'_> {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0.extend_from_slice(s.as_bytes());
            Ok(())
        }
    }
    W(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Apache 2.4's default for threaded MPMs.
    const DEFAULT: &str =
        r"[%{u}t] [%-m:%l] [pid %P:tid %T] %7F: %E: [client\ %a] %M% ,\ referer\ %{Referer}i";

    fn entry<'a>(client: Option<SocketAddr>, referer: Option<&'a [u8]>, level: Level) -> Entry<'a> {
        Entry {
            now: SystemTime::UNIX_EPOCH,
            module: "core",
            level,
            pid: 12,
            tid: 34,
            client,
            message: b"AH00128: File does not exist: /x",
            referer,
        }
    }

    fn line(fmt: &str, e: &Entry<'_>) -> Option<String> {
        let (f, _) = ErrorLogFormat::parse(fmt).unwrap();
        let mut out = Vec::new();
        f.render(e, &mut out)
            .then(|| String::from_utf8(out).unwrap())
    }

    #[test]
    fn apache_default_drops_empty_fields() {
        let addr: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let l = line(
            DEFAULT,
            &entry(Some(addr), Some(b"http://r/"), Level::Error),
        )
        .unwrap();
        let tail = l.split_once("] [core:error]").unwrap().1;
        assert_eq!(
            tail,
            " [pid 12:tid 34] [client 127.0.0.1:5000] AH00128: File does not exist: /x, referer http://r/\n"
        );
        let l = line(DEFAULT, &entry(None, None, Level::Info)).unwrap();
        assert!(
            l.ends_with("] [core:info] [pid 12:tid 34] AH00128: File does not exist: /x\n"),
            "{l}"
        );
    }

    #[test]
    fn flags_hyphen_required_and_levels() {
        let e = entry(None, None, Level::Warn);
        assert_eq!(
            line("%l [%-a] %M", &e).unwrap(),
            "warn [-] AH00128: File does not exist: /x\n"
        );
        assert_eq!(line("%+a %M", &e), None);
        assert_eq!(line("%l %4m|", &e).unwrap(), "warn core|\n");
        assert_eq!(line("%l %5m|", &e).unwrap(), "warn\n");
        assert_eq!(line("%l\\ %%\\ %P", &e).unwrap(), "warn % 12\n");
        assert_eq!(
            line("%{cu}t", &e).unwrap().len(),
            "1970-01-01 00:00:00.000000\n".len()
        );
    }

    #[test]
    fn errors_and_unavailable_items() {
        assert!(ErrorLogFormat::parse("%Z").unwrap_err().contains("%Z"));
        assert!(ErrorLogFormat::parse("%{x").is_err());
        assert!(ErrorLogFormat::parse("abc %").is_err());
        let (_, missing) = ErrorLogFormat::parse("%{User-Agent}i %L %-{FOO}e %M").unwrap();
        assert_eq!(missing, ["%{User-Agent}i", "%L", "%-{FOO}e"]);
    }

    proptest! {
        #[test]
        fn parsing_and_rendering_never_panic(fmt in "[%{}a-zA-Z0-9 \\\\+-]{0,40}") {
            if let Ok((f, _)) = ErrorLogFormat::parse(&fmt) {
                let mut out = Vec::new();
                let _ = f.render(&entry(None, Some(b"r"), Level::Debug), &mut out);
            }
        }
    }
}
