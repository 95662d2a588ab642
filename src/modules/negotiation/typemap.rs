//! Type map files (`.var`, handler `type-map`), as mod_negotiation's `read_type_map`
//! reads them: records of `Header: value` lines separated by blank lines; a header
//! line may continue on lines that start with white space. The headers are `URI`,
//! `Content-Type` (with `qs=`, `level=`, `charset=`), `Content-Language` (a comma
//! list), `Content-Encoding`, `Content-Length`, `Description` and `Body`, whose value
//! is a tag: the variant's content is what follows up to the next occurrence of the
//! tag. A record is a variant when it names a URI (or has a body) and says something
//! about its content; others (the map's own `URI:` line) are skipped. Unknown headers
//! are ignored. Errors are Apache's syntax errors (the request then gets 500).

use super::algorithm::Variant;

/// One variant of a type map.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MapEntry {
    pub variant: Variant,
    /// The `Content-Type` value as written (for a `Body:` record's response).
    pub content_type: Option<String>,
    /// The inline content of a `Body:` record.
    pub body: Option<Vec<u8>>,
}

/// A syntax error, worded as Apache logs it (the caller adds the AH number).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MapError {
    /// `no ':' in FILE for header LINE` (AH00681).
    NoColon(String),
    /// `no header body: FILE for LINE` (AH00682).
    NoHeaderBody(String),
    /// `no end tag 'TAG' found ... for Body: content.`
    NoEndTag(String),
}

impl MapError {
    /// Apache's error-log message for the map file `file`.
    pub fn message(&self, file: &str) -> String {
        match self {
            MapError::NoColon(h) => {
                format!("AH00681: Syntax error in type map, no ':' in {file} for header {h}")
            }
            MapError::NoHeaderBody(h) => {
                format!("AH00682: Syntax error in type map --- no header body: {file} for {h}")
            }
            MapError::NoEndTag(t) => format!(
                "Syntax error in type map, no end tag '{t}'found in {file} for Body: content."
            ),
        }
    }
}

/// Parse a type map's bytes.
pub fn parse(map: &[u8]) -> Result<Vec<MapEntry>, MapError> {
    let mut entries = Vec::new();
    let mut record = Record::default();
    let mut pos = 0;
    while pos < map.len() {
        let (line, next) = logical_line(map, pos);
        pos = next;
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end();
        if text.trim().is_empty() {
            record.finish(&mut entries);
            continue;
        }
        if text.starts_with('#') {
            continue;
        }
        let Some((name, value)) = text.split_once(':') else {
            return Err(MapError::NoColon(text.to_string()));
        };
        let value = value.trim();
        if value.is_empty() {
            return Err(MapError::NoHeaderBody(text.to_string()));
        }
        let v = &mut record.entry.variant;
        match name.trim().to_ascii_lowercase().as_str() {
            "uri" => v.file_name = value.to_string(),
            "content-type" => {
                v.set_content_type(value);
                record.entry.content_type = Some(value.to_string());
                record.has_content = true;
            }
            "content-language" => {
                v.languages = value
                    .split(',')
                    .map(|l| l.trim().to_ascii_lowercase())
                    .filter(|l| !l.is_empty())
                    .collect();
                record.has_content = true;
            }
            "content-encoding" => {
                v.encoding = Some(value.to_ascii_lowercase());
                record.has_content = true;
            }
            "content-length" => {
                v.length = value.parse().ok();
                record.has_content = true;
            }
            "description" => v.description = Some(value.to_string()),
            "body" => {
                let tag = value.as_bytes();
                let Some(end) = find(&map[pos..], tag) else {
                    return Err(MapError::NoEndTag(value.to_string()));
                };
                let body = map[pos..pos + end].to_vec();
                v.length = Some(body.len() as u64);
                record.entry.body = Some(body);
                record.has_content = true;
                // The rest of the tag's line is not a header.
                pos += end + tag.len();
                pos = map[pos..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(map.len(), |i| pos + i + 1);
            }
            _ => {}
        }
    }
    record.finish(&mut entries);
    Ok(entries)
}

#[derive(Default)]
struct Record {
    entry: MapEntry,
    has_content: bool,
}

impl Record {
    fn finish(&mut self, entries: &mut Vec<MapEntry>) {
        let done = std::mem::take(self);
        let named = !done.entry.variant.file_name.is_empty() || done.entry.body.is_some();
        if named && done.has_content {
            entries.push(done.entry);
        }
    }
}

/// The line at `pos` with its continuation lines (starting with a space or tab)
/// joined, and where the next one starts.
fn logical_line(map: &[u8], mut pos: usize) -> (Vec<u8>, usize) {
    let mut line = Vec::new();
    loop {
        let end = map[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(map.len(), |i| pos + i);
        line.extend_from_slice(&map[pos..end]);
        pos = (end + 1).min(map.len());
        let continues = !line.iter().all(u8::is_ascii_whitespace)
            && matches!(map.get(pos), Some(b' ' | b'\t'))
            && !map[pos..]
                .iter()
                .take_while(|&&b| b != b'\n')
                .all(u8::is_ascii_whitespace);
        if !continues {
            return (line, pos);
        }
        line.push(b' ');
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn records_and_the_maps_own_uri() {
        let map = b"URI: m\n\nURI: m.en.html\nContent-type: text/html\nContent-language: en\n\n\
URI: m.fr.html\nContent-type: text/html;qs=0.5\nContent-language: fr, fr-CA\nContent-Length: 3\n";
        let e = parse(map).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].variant.file_name, "m.en.html");
        assert_eq!(e[0].variant.source_quality, 1.0);
        assert_eq!(e[1].variant.source_quality, 0.5);
        assert_eq!(e[1].variant.languages, ["fr", "fr-ca"]);
        assert_eq!(e[1].variant.length, Some(3));
        assert_eq!(e[1].variant.mime_type, "text/html");
    }

    #[test]
    fn bodies_continuations_and_errors() {
        let map = b"Content-language: cs\nContent-type: text/html;\n charset=UTF-8\nBody:--cs--\n<p>ahoj</p>\n--cs--\n\nContent-language: de\nContent-type: text/html\nBody:--de--\nhallo--de--\n";
        let e = parse(map).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].body.as_deref(), Some(&b"<p>ahoj</p>\n"[..]));
        assert_eq!(e[0].variant.charset.as_deref(), Some("utf-8"));
        assert_eq!(e[1].body.as_deref(), Some(&b"hallo"[..]));
        assert_eq!(e[1].variant.length, Some(5));
        assert!(matches!(
            parse(b"<html><body>\n"),
            Err(MapError::NoColon(_))
        ));
        assert!(matches!(parse(b"URI:\n"), Err(MapError::NoHeaderBody(_))));
        assert!(matches!(
            parse(b"Body: --x--\nno end"),
            Err(MapError::NoEndTag(_))
        ));
        let m = MapError::NoColon("<html>".into()).message("/w/a.var");
        assert_eq!(
            m,
            "AH00681: Syntax error in type map, no ':' in /w/a.var for header <html>"
        );
    }

    proptest! {
        #[test]
        fn any_bytes_parse_or_fail_cleanly(map in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse(&map);
        }

        #[test]
        fn records_round_trip(names in proptest::collection::vec("[a-z]{1,8}\\.html", 1..5)) {
            let text: String = names.iter().map(|n| format!("URI: {n}\nContent-Type: text/html\n\n")).collect();
            let e = parse(text.as_bytes()).unwrap();
            prop_assert_eq!(e.len(), names.len());
            for (entry, n) in e.iter().zip(&names) {
                prop_assert_eq!(&entry.variant.file_name, n);
            }
        }
    }
}
