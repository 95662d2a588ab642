//! Content negotiation's configuration: mod_mime's `AddLanguage`, `DefaultLanguage`,
//! `RemoveLanguage` and `MultiviewsMatch`, and mod_negotiation's `LanguagePriority`
//! and `ForceLanguagePriority` (the algorithm that uses them is
//! `modules/negotiation`).

use std::collections::HashMap;
use std::sync::Arc;

use rhttpd_config::{ConfigError, Directive};

use super::values::err;

/// `MultiviewsMatch`: which files MultiViews may pick besides those whose every
/// extension mod_mime knows as a type, language, charset or coding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MultiviewsMatch {
    /// `Handlers`: extensions that only name a handler (`AddHandler`) are allowed.
    pub handlers: bool,
    /// `Filters`: extensions that only name a filter (`AddOutputFilter`) are allowed.
    pub filters: bool,
    /// `Any`: every file that starts with the name and a dot.
    pub any: bool,
}

/// `ForceLanguagePriority`: Apache's default is `Prefer`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ForceLanguagePriority {
    /// Among variants of equal language quality, the one whose language comes first
    /// in LanguagePriority wins; without it the later tie-breaks (level, charset,
    /// coding, size) decide (the server-driven algorithm never answers 300).
    pub prefer: bool,
    /// When no variant's language is acceptable, the first in LanguagePriority is
    /// served instead of 406 Not Acceptable.
    pub fallback: bool,
}

impl Default for ForceLanguagePriority {
    fn default() -> Self {
        ForceLanguagePriority {
            prefer: true,
            fallback: false,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct NegotiationDir {
    /// AddLanguage: extension (lower case, no dot) → language tag (lower case).
    pub languages: Arc<HashMap<String, String>>,
    /// DefaultLanguage: the language of a file without a language extension.
    pub default_language: Option<String>,
    /// LanguagePriority, lower case, most preferred first.
    pub language_priority: Option<Vec<String>>,
    pub force_language_priority: Option<ForceLanguagePriority>,
    pub multiviews_match: Option<MultiviewsMatch>,
}

impl NegotiationDir {
    pub fn merge(&self, more: &NegotiationDir) -> NegotiationDir {
        let languages = if more.languages.is_empty() {
            self.languages.clone()
        } else if self.languages.is_empty() {
            more.languages.clone()
        } else {
            let mut m = (*self.languages).clone();
            m.extend(more.languages.iter().map(|(k, v)| (k.clone(), v.clone())));
            Arc::new(m)
        };
        NegotiationDir {
            languages,
            default_language: more
                .default_language
                .clone()
                .or_else(|| self.default_language.clone()),
            language_priority: more
                .language_priority
                .clone()
                .or_else(|| self.language_priority.clone()),
            force_language_priority: more
                .force_language_priority
                .or(self.force_language_priority),
            multiviews_match: more.multiviews_match.or(self.multiviews_match),
        }
    }

    pub fn language_priority(&self) -> &[String] {
        self.language_priority.as_deref().unwrap_or(&[])
    }

    pub fn force_language_priority(&self) -> ForceLanguagePriority {
        self.force_language_priority.unwrap_or_default()
    }

    pub fn multiviews_match(&self) -> MultiviewsMatch {
        self.multiviews_match.unwrap_or_default()
    }
}

/// Whether `name` is one of the directives [`directive`] applies.
pub fn handles(name: &str) -> bool {
    matches!(
        name,
        "AddLanguage"
            | "DefaultLanguage"
            | "RemoveLanguage"
            | "MultiviewsMatch"
            | "LanguagePriority"
            | "ForceLanguagePriority"
    )
}

/// Apply one of the directives [`handles`] names.
pub fn directive(nd: &mut NegotiationDir, d: &Directive) -> Result<(), ConfigError> {
    let a0 = d.args.first().map(String::as_str).unwrap_or("");
    match d.name {
        "AddLanguage" => {
            let lang = a0.to_ascii_lowercase();
            let m = Arc::make_mut(&mut nd.languages);
            for ext in &d.args[1..] {
                m.insert(
                    ext.trim_start_matches('.').to_ascii_lowercase(),
                    lang.clone(),
                );
            }
        }
        "RemoveLanguage" => {
            let m = Arc::make_mut(&mut nd.languages);
            for ext in &d.args {
                m.remove(&ext.trim_start_matches('.').to_ascii_lowercase());
            }
        }
        "DefaultLanguage" => nd.default_language = Some(a0.to_ascii_lowercase()),
        "LanguagePriority" => {
            nd.language_priority = Some(d.args.iter().map(|l| l.to_ascii_lowercase()).collect())
        }
        "ForceLanguagePriority" => {
            let mut f = ForceLanguagePriority {
                prefer: false,
                fallback: false,
            };
            let mut none = false;
            for a in &d.args {
                match a.to_ascii_lowercase().as_str() {
                    "none" => none = true,
                    "prefer" => f.prefer = true,
                    "fallback" => f.fallback = true,
                    _ => {
                        return Err(err(
                            &d.location,
                            format!("Invalid ForceLanguagePriority option {a}"),
                        ));
                    }
                }
            }
            if none && (f.prefer || f.fallback) {
                return Err(err(
                    &d.location,
                    "Cannot combine ForceLanguagePriority options with None",
                ));
            }
            nd.force_language_priority = Some(f);
        }
        "MultiviewsMatch" => {
            let mut m = MultiviewsMatch::default();
            let mut negotiated_only = false;
            for a in &d.args {
                match a.to_ascii_lowercase().as_str() {
                    "negotiatedonly" => negotiated_only = true,
                    "handlers" => m.handlers = true,
                    "filters" => m.filters = true,
                    "any" => m.any = true,
                    _ => {
                        return Err(err(
                            &d.location,
                            format!("MultiviewsMatch: unrecognized option '{a}'"),
                        ));
                    }
                }
            }
            if m.any && (negotiated_only || m.handlers || m.filters) {
                return Err(err(
                    &d.location,
                    "MultiviewsMatch Any excludes all other options",
                ));
            }
            if negotiated_only && (m.handlers || m.filters) {
                return Err(err(
                    &d.location,
                    "MultiviewsMatch NegotiatedOnly excludes all other options",
                ));
            }
            nd.multiviews_match = Some(m);
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rhttpd_config::Location;

    fn apply(nd: &mut NegotiationDir, name: &'static str, args: &[&str]) -> Result<(), String> {
        let d = Directive {
            name,
            args: args.iter().map(|s| s.to_string()).collect(),
            location: Location::new("t.conf", 3),
        };
        directive(nd, &d).map_err(|e| e.to_string())
    }

    #[test]
    fn directives_and_merge() {
        let mut base = NegotiationDir::default();
        apply(&mut base, "AddLanguage", &["EN", ".en", "eng"]).unwrap();
        apply(&mut base, "LanguagePriority", &["fr", "EN"]).unwrap();
        assert_eq!(base.languages.get("eng").map(String::as_str), Some("en"));
        assert_eq!(base.language_priority(), ["fr", "en"]);
        assert_eq!(
            base.force_language_priority(),
            ForceLanguagePriority::default()
        );
        let mut more = NegotiationDir::default();
        apply(&mut more, "AddLanguage", &["de", ".de"]).unwrap();
        apply(&mut more, "ForceLanguagePriority", &["Fallback"]).unwrap();
        apply(&mut more, "MultiviewsMatch", &["Handlers", "Filters"]).unwrap();
        let m = base.merge(&more);
        assert_eq!(m.languages.len(), 3);
        assert_eq!(m.language_priority(), ["fr", "en"]);
        assert!(m.force_language_priority().fallback && !m.force_language_priority().prefer);
        assert!(m.multiviews_match().handlers && m.multiviews_match().filters);
        apply(&mut more, "RemoveLanguage", &[".de"]).unwrap();
        assert!(more.languages.is_empty());
        apply(&mut more, "ForceLanguagePriority", &["None"]).unwrap();
        assert!(!more.force_language_priority().prefer);
        for (name, args) in [
            ("ForceLanguagePriority", &["Always"][..]),
            ("ForceLanguagePriority", &["None", "Fallback"][..]),
            ("MultiviewsMatch", &["Any", "Filters"][..]),
            ("MultiviewsMatch", &["NegotiatedOnly", "Handlers"][..]),
            ("MultiviewsMatch", &["Some"][..]),
        ] {
            assert!(apply(&mut more, name, args).is_err(), "{name} {args:?}");
        }
    }
}
