//! mod_expires' time codes (`conf::expires::parse_code`), mod_headers' format strings
//! and directive lines (`conf::headers::parse_format`, `parse_line`), and the core's
//! `ErrorLogFormat` (`log::ErrorLogFormat`). Input: one control byte (which parser; for
//! lines, `Header` or `RequestHeader` and section or not), then the text (for lines, the
//! words split by NUL).
//!
//! Invariants: no panic; a parsed code written back as `A<secs>`/`M<secs>` parses to the
//! same code; a parsed format written back (literals escaped) parses to the same tags; a
//! rendered error-log line ends with one newline, or is dropped and leaves nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rhttpd::conf::expires::{Base, parse_code};
use rhttpd::conf::headers::{Format, Tag, parse_format, parse_line};
use rhttpd::log::{ErrorLogEntry, ErrorLogFormat};

fn write_back(f: &Format) -> String {
    let mut s = String::new();
    for t in &f.0 {
        match t {
            Tag::Lit(l) => {
                for c in l.chars() {
                    match c {
                        '%' => s.push_str("%%"),
                        '\\' => s.push_str("\\\\"),
                        '\r' => s.push_str("\\r"),
                        '\n' => s.push_str("\\n"),
                        '\t' => s.push_str("\\t"),
                        c => s.push(c),
                    }
                }
            }
            Tag::Time => s.push_str("%t"),
            Tag::Duration => s.push_str("%D"),
            Tag::Env(n) => s.push_str(&format!("%{{{n}}}e")),
            Tag::Ssl(n) => s.push_str(&format!("%{{{n}}}s")),
            // Only `Header ... expr=...` values are expressions, never a parse_format result.
            Tag::Expr(_) => unreachable!("parse_format makes no expression tags"),
        }
    }
    s
}

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    match ctl % 4 {
        0 => {
            if let Ok(code) = parse_code(&text) {
                let base = match code.base {
                    Base::Access => 'A',
                    Base::Modification => 'M',
                };
                assert_eq!(parse_code(&format!("{base}{}", code.seconds)), Ok(code));
            }
        }
        1 => {
            if let Ok(f) = parse_format(&text) {
                assert_eq!(parse_format(&write_back(&f)).as_ref(), Ok(&f));
            }
        }
        2 => {
            let words: Vec<String> = text.split('\0').map(str::to_string).collect();
            let _ = parse_line(ctl & 4 != 0, &words, ctl & 8 != 0);
        }
        _ => {
            if let Ok((f, _)) = ErrorLogFormat::parse(&text) {
                let entry = ErrorLogEntry {
                    now: std::time::SystemTime::UNIX_EPOCH,
                    module: "core",
                    level: rhttpd::log::Level::Info,
                    pid: 1,
                    tid: 2,
                    client: (ctl & 4 != 0).then(|| "127.0.0.1:80".parse().unwrap()),
                    message: b"message",
                    referer: (ctl & 8 != 0).then_some(&b"ref"[..]),
                };
                let mut out = Vec::new();
                if f.render(&entry, &mut out) {
                    assert_eq!(out.last(), Some(&b'\n'));
                } else {
                    assert!(out.is_empty());
                }
            }
        }
    }
});
