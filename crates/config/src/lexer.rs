//! The lexical layer of Apache's configuration language, ported from httpd 2.4:
//!
//! * [`logical_lines`]: `ap_cfg_getline` — physical lines joined on a backslash right
//!   before the newline (`\` LF or `\` CR LF), then trimmed; blank lines and lines whose
//!   first non-blank character is `#` are dropped. As in Apache, a logical line reports
//!   the number of the *last* physical line it was read from.
//! * [`getword_conf`] / [`split_words`]: `ap_getword_conf` — whitespace-separated words;
//!   a word that *starts* with `"` or `'` runs to the matching quote (or the end of the
//!   line when unterminated), and inside it `\"` (resp. `\'`) and `\\` are escapes; in a
//!   bare word only `\\` is. There are no trailing comments.
//! * [`resolve_vars`]: `ap_resolve_env` — `${NAME}` replaced by a `Define`d value or an
//!   environment variable, left as is (and reported) when neither exists.

/// One logical configuration line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogicalLine {
    /// Trimmed text with continuations joined (the backslash and newline removed).
    pub text: String,
    /// 1-based number of the last physical line consumed (what Apache reports).
    pub line: usize,
}

/// `apr_isspace`: C's `isspace` in the C locale.
pub fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn trim(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_ascii() && is_space(c as u8))
}

/// Split `text` into logical lines, dropping blank lines and `#` comments.
pub fn logical_lines(text: &str) -> Vec<LogicalLine> {
    let mut out = Vec::new();
    let mut line_no = 0usize;
    let mut rest = text;
    let mut buf = String::new();
    let mut continuing = false;
    while !rest.is_empty() {
        line_no += 1;
        let (piece, had_lf) = match rest.find('\n') {
            Some(i) => {
                let p = &rest[..i];
                rest = &rest[i + 1..];
                (p, true)
            }
            None => {
                let p = rest;
                rest = "";
                (p, false)
            }
        };
        let mut piece = piece;
        if had_lf {
            piece = piece.strip_suffix('\r').unwrap_or(piece);
            if let Some(joined) = piece.strip_suffix('\\') {
                buf.push_str(joined);
                continuing = true;
                continue;
            }
        }
        buf.push_str(piece);
        continuing = false;
        push_line(&mut out, &mut buf, line_no);
    }
    if continuing {
        // Apache counts the read that hit end of file.
        line_no += 1;
        push_line(&mut out, &mut buf, line_no);
    }
    out
}

fn push_line(out: &mut Vec<LogicalLine>, buf: &mut String, line: usize) {
    let t = trim(buf);
    if !t.is_empty() && !t.starts_with('#') {
        out.push(LogicalLine {
            text: t.to_string(),
            line,
        });
    }
    buf.clear();
}

/// `substring_conf`: copy, turning `\\` (and `\<quote>` inside quotes) into one char.
fn substring_conf(s: &[u8], quote: Option<u8>) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if b == b'\\'
            && let Some(&next) = s.get(i + 1)
            && (next == b'\\' || Some(next) == quote)
        {
            out.push(next);
            i += 2;
            continue;
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// `ap_getword_conf`: the next word of `line` and what follows it (leading whitespace of
/// the rest already skipped). Returns an empty word at the end of the line — and also
/// for `""`, which is why callers look at the rest, as Apache does.
pub fn getword_conf(line: &str) -> (String, &str) {
    let b = line.as_bytes();
    let mut start = 0;
    while start < b.len() && is_space(b[start]) {
        start += 1;
    }
    if start == b.len() {
        return (String::new(), &line[start..]);
    }
    let q = b[start];
    let (word, mut end) = if q == b'"' || q == b'\'' {
        let mut end = start + 1;
        while end < b.len() && b[end] != q {
            if b[end] == b'\\' && end + 1 < b.len() && (b[end + 1] == q || b[end + 1] == b'\\') {
                end += 2;
            } else {
                end += 1;
            }
        }
        let w = substring_conf(&b[start + 1..end], Some(q));
        if end < b.len() && b[end] == q {
            end += 1;
        }
        (w, end)
    } else {
        let mut end = start;
        while end < b.len() && !is_space(b[end]) {
            end += 1;
        }
        (substring_conf(&b[start..end], None), end)
    };
    while end < b.len() && is_space(b[end]) {
        end += 1;
    }
    // `end` always sits on an ASCII byte or the end of the string: a char boundary.
    (word, line.get(end..).unwrap_or(""))
}

/// Every word of `line`, as repeated [`getword_conf`] calls see them.
pub fn split_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut rest = line;
    loop {
        let trimmed = rest.trim_start_matches(|c: char| c.is_ascii() && is_space(c as u8));
        if trimmed.is_empty() {
            return words;
        }
        let (w, r) = getword_conf(trimmed);
        words.push(w);
        rest = r;
    }
}

/// Quote `arg` so that [`getword_conf`] reads it back unchanged.
pub fn quote(arg: &str) -> String {
    let mut s = String::with_capacity(arg.len() + 2);
    s.push('"');
    for c in arg.chars() {
        if c == '"' || c == '\\' {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('"');
    s
}

/// `ap_resolve_env`: expand `${NAME}` with `lookup`. Unknown names stay literal; those
/// without a `:` are returned so the caller can warn (AH00111), as Apache does.
pub fn resolve_vars(line: &str, lookup: impl Fn(&str) -> Option<String>) -> (String, Vec<String>) {
    let mut out = String::with_capacity(line.len());
    let mut undefined = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail[1..].starts_with('{')
            && let Some(close) = tail.find('}')
        {
            let name = &tail[2..close];
            match lookup(name) {
                Some(v) => out.push_str(&v),
                None => {
                    if !name.contains(':') {
                        undefined.push(name.to_string());
                    }
                    out.push_str(&tail[..=close]);
                }
            }
            rest = &tail[close + 1..];
        } else {
            out.push('$');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    (out, undefined)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<(String, usize)> {
        logical_lines(s)
            .into_iter()
            .map(|l| (l.text, l.line))
            .collect()
    }

    #[test]
    fn comments_blank_and_trim() {
        assert_eq!(
            texts("# c\n\n   Listen 80  \n\t# x\nA b # c\n"),
            vec![("Listen 80".into(), 3), ("A b # c".into(), 5)]
        );
    }

    #[test]
    fn continuation_reports_last_line() {
        assert_eq!(
            texts("A a \\\n  b\nB\n"),
            vec![("A a   b".into(), 2), ("B".into(), 3)]
        );
        assert_eq!(
            texts("A \\\r\n b\r\nC\r\n"),
            vec![("A  b".into(), 2), ("C".into(), 3)]
        );
        // a backslash at the very end with no newline is kept
        assert_eq!(texts("A b\\"), vec![("A b\\".into(), 1)]);
        // continuation into end of file
        assert_eq!(texts("A b\\\n"), vec![("A b".into(), 2)]);
        // continuation of a comment comments out the next line too
        assert_eq!(texts("# x \\\nFoo\nBar"), vec![("Bar".into(), 3)]);
    }

    #[test]
    fn words() {
        assert_eq!(
            split_words(r#"a "b c" 'd e' f"#),
            vec!["a", "b c", "d e", "f"]
        );
        assert_eq!(
            split_words(r#""a \" b" 'x\'y' "c\\d""#),
            vec![r#"a " b"#, "x'y", r"c\d"]
        );
        assert_eq!(split_words(r#"a\\b a\"b"#), vec![r"a\b", r#"a\"b"#]);
        assert_eq!(
            split_words(r#""unterminated rest"#),
            vec!["unterminated rest"]
        );
        assert_eq!(split_words(r#""" x"#), vec!["", "x"]);
        assert_eq!(split_words(r#""a"b"#), vec!["a", "b"]);
        assert_eq!(split_words(r#"x"a b""#), vec![r#"x"a"#, r#"b""#]);
        assert_eq!(split_words("  \t "), Vec::<String>::new());
        assert_eq!(split_words("80 # x"), vec!["80", "#", "x"]);
    }

    #[test]
    fn getword_rest() {
        let (w, r) = getword_conf("<Directory /x>");
        assert_eq!((w.as_str(), r), ("<Directory", "/x>"));
        let (w, r) = getword_conf("Foo");
        assert_eq!((w.as_str(), r), ("Foo", ""));
    }

    #[test]
    fn vars() {
        let look = |n: &str| (n == "A").then(|| "1 2".to_string());
        assert_eq!(resolve_vars("x${A}y", look), ("x1 2y".into(), vec![]));
        assert_eq!(
            resolve_vars("${B} ${a:b} $ ${", look),
            ("${B} ${a:b} $ ${".into(), vec!["B".into()])
        );
        assert_eq!(resolve_vars("'${A}'", look).0, "'1 2'");
    }

    #[test]
    fn quoting_round_trip() {
        for s in ["", "a b", "\"", "\\", "a\\\"b", "'", "x\\"] {
            assert_eq!(split_words(&quote(s)), vec![s.to_string()], "{s:?}");
        }
    }
}
