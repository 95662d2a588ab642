//! The MIME type table of `TypesConfig` (`mime.types` format: `type ext1 ext2 ...`).
//! How a response's Content-Type is chosen from it (with AddType, ForceType,
//! AddCharset ...) is mod_mime's part, in `modules/mime.rs`.

use std::collections::HashMap;
use std::io;
use std::path::Path;

/// The built-in table (Debian's media-types list), used when no `TypesConfig` is given.
const BUILTIN: &str = include_str!("../../conf/mime.types");

/// Extension → MIME type map read from `TypesConfig`.
#[derive(Clone, Debug, Default)]
pub struct MimeTypes {
    /// Lower-case extension (no dot) → type.
    by_ext: HashMap<String, String>,
}

impl MimeTypes {
    /// Parses the `mime.types` format: `type ext1 ext2 ...` per line, `#` comments,
    /// whitespace-separated. A later line wins for an extension listed twice (as
    /// mod_mime's hash table does).
    pub fn parse(text: &str) -> MimeTypes {
        let mut by_ext = HashMap::new();
        for line in text.lines() {
            let line = match line.find('#') {
                Some(i) => &line[..i],
                None => line,
            };
            let mut words = line.split_ascii_whitespace();
            let Some(ty) = words.next() else { continue };
            for ext in words {
                by_ext.insert(ext.to_ascii_lowercase(), ty.to_string());
            }
        }
        MimeTypes { by_ext }
    }

    /// Reads and parses a `TypesConfig` file.
    pub fn load(path: &Path) -> io::Result<MimeTypes> {
        let bytes = std::fs::read(path)?;
        Ok(MimeTypes::parse(&String::from_utf8_lossy(&bytes)))
    }

    /// The table compiled into the binary (`conf/mime.types`).
    pub fn builtin() -> MimeTypes {
        MimeTypes::parse(BUILTIN)
    }

    /// The type for an extension (without the dot), case-insensitively.
    pub fn lookup(&self, ext: &str) -> Option<&str> {
        if let Some(t) = self.by_ext.get(ext) {
            return Some(t);
        }
        if ext.bytes().any(|b| b.is_ascii_uppercase()) {
            return self
                .by_ext
                .get(&ext.to_ascii_lowercase())
                .map(String::as_str);
        }
        None
    }

    /// Number of extensions known.
    pub fn len(&self) -> usize {
        self.by_ext.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_ext.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_comments_and_case() {
        let m =
            MimeTypes::parse("# c\ntext/x-a  aa AB # trailing\n\napplication/none\nimage/y\tyy\n");
        assert_eq!(m.lookup("aa"), Some("text/x-a"));
        assert_eq!(m.lookup("ab"), Some("text/x-a"));
        assert_eq!(m.lookup("AB"), Some("text/x-a"));
        assert_eq!(m.lookup("yy"), Some("image/y"));
        assert_eq!(m.lookup("none"), None);
        assert_eq!(m.len(), 3);
    }

    #[test]
    fn later_line_wins() {
        let m = MimeTypes::parse("a/b x\nc/d x\n");
        assert_eq!(m.lookup("x"), Some("c/d"));
    }

    #[test]
    fn builtin_is_complete() {
        let m = MimeTypes::builtin();
        assert!(m.len() > 1000);
        assert_eq!(m.lookup("html"), Some("text/html"));
        assert_eq!(m.lookup("css"), Some("text/css"));
        assert_eq!(m.lookup("png"), Some("image/png"));
        assert_eq!(m.lookup("JSON"), Some("application/json"));
    }

    #[test]
    fn load_from_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("mime.types");
        std::fs::write(&p, "text/x-foo foo\n").unwrap();
        assert_eq!(
            MimeTypes::load(&p).unwrap().lookup("foo"),
            Some("text/x-foo")
        );
        assert!(MimeTypes::load(&d.path().join("missing")).is_err());
    }
}
