//! mod_mime's rules for choosing a response's Content-Type and Content-Encoding from a
//! file name (the `TypesConfig` table itself is configuration: `conf/mime.rs`).
//!
//! As in Apache 2.4 there is no DefaultType: a file whose name maps to no type is sent
//! without a Content-Type header.

use std::path::Path;

use crate::conf::{DirConfig, MimeTypes};

/// The Content-Type for a file, as mod_mime and the core compute it:
///
/// - `ForceType` wins (`ForceType None` cancels it);
/// - otherwise every dot-separated extension after the base name is looked up (the base
///   name keeps its leading dots, so `.png` is not a PNG; empty extensions are skipped),
///   `AddType` before the `TypesConfig` table, and the last extension that maps to a type
///   wins: `a.tar.gz` → the type of `gz`, `index.html.en` → text/html;
/// - `AddCharset`: the charset of the last extension that has one is added to the type
///   (any type) unless it already has a charset parameter (not with `ForceType`);
/// - `AddDefaultCharset` adds `; charset=X` to text/plain and text/html without a
///   charset parameter.
///
/// `None` means no Content-Type header (Apache 2.4 has no DefaultType).
pub fn content_type_for(path: &Path, dir: &DirConfig, mime: &MimeTypes) -> Option<String> {
    let forced = dir
        .force_type
        .as_deref()
        .filter(|t| !t.is_empty() && !t.eq_ignore_ascii_case("none"));
    let ty = match forced {
        Some(t) => Some(t.to_string()),
        None => {
            let part = extension_part(path);
            type_from_name(&part, dir, mime).map(|mut ty| {
                let charset = if dir.add_charsets.is_empty() {
                    None
                } else {
                    extensions(&part)
                        .filter_map(|e| dir.add_charsets.get(e))
                        .next_back()
                };
                if let Some(cs) = charset
                    && !ty.to_ascii_lowercase().contains("charset=")
                {
                    ty = format!("{ty}; charset={cs}");
                }
                ty
            })
        }
    }?;
    Some(add_default_charset(ty, dir.default_charset()))
}

/// The Content-Encoding mod_mime gives a file: the `AddEncoding` codings of its
/// extensions, in order, joined with `, ` (`a.tar.gz` with `AddEncoding gzip gz` →
/// `gzip`; its type is still that of the last extension with one). `None` when no
/// extension has a coding.
pub fn content_encoding_for(path: &Path, dir: &DirConfig) -> Option<String> {
    if dir.add_encodings.is_empty() {
        return None;
    }
    let part = extension_part(path);
    let codings: Vec<&str> = extensions(&part)
        .filter_map(|e| dir.add_encodings.get(e).map(String::as_str))
        .collect();
    (!codings.is_empty()).then(|| codings.join(", "))
}

/// The Content-Language mod_mime gives a file: the `AddLanguage` languages of its
/// extensions, in order and each once (`a.html.en` → `en`), else `DefaultLanguage`;
/// empty when neither says anything.
pub fn content_languages_for(path: &Path, dir: &DirConfig) -> Vec<String> {
    let neg = &dir.negotiation;
    let mut langs: Vec<String> = Vec::new();
    if !neg.languages.is_empty() {
        let part = extension_part(path);
        for ext in extensions(&part) {
            if let Some(l) = neg.languages.get(ext)
                && !langs.contains(l)
            {
                langs.push(l.clone());
            }
        }
    }
    if langs.is_empty()
        && let Some(l) = &neg.default_language
    {
        langs.push(l.clone());
    }
    langs
}

/// Whether every extension in `suffix` — what follows the requested name and its dot
/// in a MultiViews candidate (`html.en` of `about.html.en` for `about`) — means
/// something to mod_mime (`MultiviewsMatch`): a type, language, charset or coding; a
/// handler or an output filter too when MultiviewsMatch allows it; anything with
/// `Any`. Unknown parts of the requested name itself do not count, as in Apache.
pub fn negotiable(suffix: &str, dir: &DirConfig, mime: &MimeTypes) -> bool {
    let m = dir.negotiation.multiviews_match();
    if m.any {
        return true;
    }
    let lower = suffix.to_ascii_lowercase();
    extensions(&lower).all(|e| {
        dir.add_types.contains_key(e)
            || mime.lookup(e).is_some()
            || dir.negotiation.languages.contains_key(e)
            || dir.add_charsets.contains_key(e)
            || dir.add_encodings.contains_key(e)
            || (m.handlers && dir.add_handlers.contains_key(e))
            || (m.filters && dir.deflate.by_ext.contains_key(e))
    })
}

/// The lower-case extension part of a file name: what follows the first dot after the
/// base name (which keeps its leading dots): `A.Tar.GZ` → `tar.gz`.
fn extension_part(path: &Path) -> String {
    let Some(name) = path.file_name() else {
        return String::new();
    };
    let name = name.to_string_lossy();
    name.trim_start_matches('.')
        .split_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default()
}

/// The extensions in an [`extension_part`], in order, empty ones skipped.
fn extensions(part: &str) -> impl DoubleEndedIterator<Item = &str> {
    part.split('.').filter(|e| !e.is_empty())
}

fn type_from_name(part: &str, dir: &DirConfig, mime: &MimeTypes) -> Option<String> {
    let mut found: Option<&str> = None;
    for lower in extensions(part) {
        if let Some(t) = dir.add_types.get(lower) {
            found = Some(t);
        } else if let Some(t) = mime.lookup(lower) {
            found = Some(t);
        }
    }
    found.map(str::to_string)
}

/// Apache's `ap_make_content_type`: only text/plain and text/html get the charset.
fn add_default_charset(ty: String, charset: Option<&str>) -> String {
    let Some(cs) = charset else { return ty };
    let essence = ty.split(';').next().unwrap_or("").trim();
    let needs =
        essence.eq_ignore_ascii_case("text/plain") || essence.eq_ignore_ascii_case("text/html");
    if needs && !ty.to_ascii_lowercase().contains("charset=") {
        format!("{ty}; charset={cs}")
    } else {
        ty
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::Arc;

    fn ct(name: &str, dir: &DirConfig) -> Option<String> {
        content_type_for(Path::new(name), dir, &MimeTypes::builtin())
    }

    #[test]
    fn last_mapped_extension_wins() {
        let d = DirConfig::default();
        assert_eq!(
            ct("/x/file.tar.gz", &d).as_deref(),
            Some("application/gzip")
        );
        assert_eq!(
            ct("/x/file.gz.tar", &d).as_deref(),
            Some("application/x-tar")
        );
        assert_eq!(ct("/x/index.html.en", &d).as_deref(), Some("text/html"));
        assert_eq!(ct("/x/a..html", &d).as_deref(), Some("text/html"));
        assert_eq!(ct("/x/A.TXT", &d).as_deref(), Some("text/plain"));
    }

    #[test]
    fn add_charset_and_add_encoding() {
        let mut d = DirConfig::default();
        Arc::make_mut(&mut d.add_charsets).insert("txt".into(), "utf-8".into());
        Arc::make_mut(&mut d.add_charsets).insert("jis".into(), "iso-2022-jp".into());
        Arc::make_mut(&mut d.add_encodings).insert("gz".into(), "gzip".into());
        assert_eq!(
            ct("/x/a.txt", &d).as_deref(),
            Some("text/plain; charset=utf-8")
        );
        assert_eq!(
            ct("/x/a.html.jis", &d).as_deref(),
            Some("text/html; charset=iso-2022-jp")
        );
        // As Apache with Debian's mime.types: the type of the last extension that has
        // one (gz → application/gzip), the charset of .txt, and the coding of .gz.
        assert_eq!(
            ct("/x/a.txt.gz", &d).as_deref(),
            Some("application/gzip; charset=utf-8")
        );
        assert_eq!(
            content_encoding_for(Path::new("/x/a.txt.gz"), &d).as_deref(),
            Some("gzip")
        );
        assert_eq!(content_encoding_for(Path::new("/x/a.txt"), &d), None);
        assert_eq!(content_encoding_for(Path::new("/x/gz"), &d), None);
        // No type table entry for the coding's extension: the inner type stays.
        let mime = MimeTypes::parse("text/plain txt\n");
        assert_eq!(
            content_type_for(Path::new("a.txt.gz"), &d, &mime).as_deref(),
            Some("text/plain; charset=utf-8")
        );
        // An existing charset parameter is kept; ForceType drops AddCharset's.
        Arc::make_mut(&mut d.add_types).insert("t2".into(), "text/x; charset=koi8-r".into());
        assert_eq!(
            ct("/x/a.txt.t2", &d).as_deref(),
            Some("text/x; charset=koi8-r")
        );
        d.force_type = Some("text/plain".into());
        assert_eq!(ct("/x/a.txt", &d).as_deref(), Some("text/plain"));
    }

    #[test]
    fn languages_and_negotiable_names() {
        let mut d = DirConfig::default();
        let langs = Arc::make_mut(&mut d.negotiation.languages);
        langs.insert("en".into(), "en".into());
        langs.insert("fr".into(), "fr".into());
        let l = |n: &str, d: &DirConfig| content_languages_for(Path::new(n), d);
        assert_eq!(l("/x/a.html.en", &d), ["en"]);
        assert_eq!(l("/x/a.fr.en.html", &d), ["fr", "en"]);
        assert!(l("/x/a.html", &d).is_empty());
        d.negotiation.default_language = Some("de".into());
        assert_eq!(l("/x/a.html", &d), ["de"]);
        let mime = MimeTypes::builtin();
        assert!(negotiable("html.en", &d, &mime));
        assert!(!negotiable("html.zzq", &d, &mime));
        Arc::make_mut(&mut d.add_handlers).insert("var".into(), "type-map".into());
        assert!(!negotiable("var", &d, &mime));
        d.negotiation.multiviews_match = Some(crate::conf::negotiation::MultiviewsMatch {
            handlers: true,
            ..Default::default()
        });
        assert!(negotiable("var", &d, &mime));
        d.negotiation.multiviews_match = Some(crate::conf::negotiation::MultiviewsMatch {
            any: true,
            ..Default::default()
        });
        assert!(negotiable("html.zzq", &d, &mime));
    }

    #[test]
    fn base_name_is_not_an_extension() {
        let d = DirConfig::default();
        assert_eq!(ct("/x/html", &d), None);
        assert_eq!(ct("/x/.png", &d), None);
        assert_eq!(ct("/x/..html", &d), None);
        assert_eq!(ct("/x/.hidden.png", &d).as_deref(), Some("image/png"));
        assert_eq!(ct("/x/noext", &d), None);
        assert_eq!(ct("/x/a.unknownext", &d), None);
        assert_eq!(ct("/", &d), None);
    }

    #[test]
    fn add_type_and_force_type() {
        let mut d = DirConfig {
            add_types: Arc::new(HashMap::from([(
                "gz".to_string(),
                "application/x-gzip".to_string(),
            )])),
            ..Default::default()
        };
        assert_eq!(ct("/a.tar.gz", &d).as_deref(), Some("application/x-gzip"));
        // A later mime.types extension still wins over an earlier AddType one.
        assert_eq!(ct("/a.gz.png", &d).as_deref(), Some("image/png"));
        d.force_type = Some("text/x-forced".into());
        assert_eq!(ct("/a.tar.gz", &d).as_deref(), Some("text/x-forced"));
        assert_eq!(ct("/noext", &d).as_deref(), Some("text/x-forced"));
        d.force_type = Some("None".into());
        assert_eq!(ct("/a.png", &d).as_deref(), Some("image/png"));
    }

    #[test]
    fn default_charset_only_for_text_plain_and_html() {
        let mut d = DirConfig {
            add_default_charset: Some(Some("UTF-8".into())),
            ..Default::default()
        };
        assert_eq!(
            ct("/a.txt", &d).as_deref(),
            Some("text/plain; charset=UTF-8")
        );
        assert_eq!(
            ct("/a.html", &d).as_deref(),
            Some("text/html; charset=UTF-8")
        );
        assert_eq!(ct("/a.css", &d).as_deref(), Some("text/css"));
        assert_eq!(ct("/a.png", &d).as_deref(), Some("image/png"));
        d.force_type = Some("text/html; charset=latin1".into());
        assert_eq!(
            ct("/a.txt", &d).as_deref(),
            Some("text/html; charset=latin1")
        );
        d.force_type = None;
        d.add_default_charset = Some(None);
        assert_eq!(ct("/a.txt", &d).as_deref(), Some("text/plain"));
    }
}
