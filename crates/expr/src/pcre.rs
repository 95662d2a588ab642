//! A compiled Perl-style regular expression with PCRE's features that rules in the wild
//! use: back-references, look-ahead and look-behind, `(?i)`, non-greedy quantifiers.
//!
//! Matching is bounded: a pattern that backtracks more than fancy-regex's limit (one
//! million steps) on some subject fails to match instead of running away (PCRE's
//! `PCRE_ERROR_MATCHLIMIT`, which Apache also treats as no match).

use std::fmt;

/// A compiled pattern and how it was written (for messages and `-S`-style dumps).
#[derive(Clone)]
pub struct Pcre {
    re: fancy_regex::Regex,
    source: String,
    icase: bool,
}

impl fmt::Debug for Pcre {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Pcre({:?}{})",
            self.source,
            if self.icase { ", NC" } else { "" }
        )
    }
}

impl PartialEq for Pcre {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source && self.icase == other.icase
    }
}

/// The groups of one match: `get(0)` is the whole match; a group that did not take
/// part is `None` (and expands to the empty string, as in Apache's `$N`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Groups {
    groups: Vec<Option<String>>,
}

impl Groups {
    /// Group `i`, `None` when it did not take part or does not exist.
    pub fn get(&self, i: usize) -> Option<&str> {
        self.groups.get(i).and_then(|g| g.as_deref())
    }

    /// Group `i` or the empty string (what `$N` expands to).
    pub fn text(&self, i: usize) -> &str {
        self.get(i).unwrap_or("")
    }

    /// Number of groups including group 0.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Groups built from literal texts (tests and callers that carry groups along).
    pub fn from_texts(groups: Vec<Option<String>>) -> Groups {
        Groups { groups }
    }
}

impl Pcre {
    /// Compile `pattern`; `icase` is `[NC]` / `NoCase`. The error is the compiler's
    /// message, for Apache's "cannot compile regular expression" lines.
    pub fn new(pattern: &str, icase: bool) -> Result<Pcre, String> {
        let re = fancy_regex::RegexBuilder::new(pattern)
            .case_insensitive(icase)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Pcre {
            re,
            source: pattern.to_string(),
            icase,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn case_insensitive(&self) -> bool {
        self.icase
    }

    /// Does the pattern match anywhere in `subject`? A match that exceeds the
    /// backtracking limit counts as no match.
    pub fn is_match(&self, subject: &str) -> bool {
        self.re.is_match(subject).unwrap_or(false)
    }

    /// The groups of the first match in `subject`, `None` when there is none (or the
    /// backtracking limit was hit).
    pub fn captures(&self, subject: &str) -> Option<Groups> {
        let caps = self.re.captures(subject).ok()??;
        let groups = (0..caps.len())
            .map(|i| caps.get(i).map(|m| m.as_str().to_string()))
            .collect();
        Some(Groups { groups })
    }

    /// Number of capture groups, group 0 included.
    pub fn group_count(&self) -> usize {
        self.re.captures_len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perl_features_apache_rules_use() {
        // Look-ahead (common in the wild), back-reference, non-greedy, case folding.
        let re = Pcre::new(r"^/(?!wp-admin)([^/]+)/?$", false).unwrap();
        assert!(re.is_match("/hello"));
        assert!(!re.is_match("/wp-admin"));
        assert_eq!(re.captures("/hello/").unwrap().text(1), "hello");
        let back = Pcre::new(r"^(\w+)-\1$", false).unwrap();
        assert!(back.is_match("ab-ab") && !back.is_match("ab-ba"));
        let nc = Pcre::new(r"^/INDEX\.php$", true).unwrap();
        assert!(nc.is_match("/index.PHP"));
        let lazy = Pcre::new(r"^(.*?)(\.php)?$", false).unwrap();
        assert_eq!(lazy.captures("/a.php").unwrap().text(1), "/a");
    }

    #[test]
    fn groups_that_did_not_take_part_expand_to_nothing() {
        let re = Pcre::new(r"^/a(b)?(c)$", false).unwrap();
        let g = re.captures("/ac").unwrap();
        assert_eq!(g.len(), 3);
        assert_eq!(g.get(1), None);
        assert_eq!(g.text(1), "");
        assert_eq!(g.text(2), "c");
        assert_eq!(g.text(7), "");
    }

    #[test]
    fn bad_patterns_are_errors_and_runaway_matches_do_not_match() {
        assert!(Pcre::new("(", false).is_err());
        assert!(Pcre::new("a{2,1}", false).is_err());
        // Catastrophic backtracking with a back-reference forces the backtracking
        // engine; it stops at the limit and reports no match.
        let evil = Pcre::new(r"^(a+)+\1b$", false).unwrap();
        let subject = "a".repeat(40);
        assert!(!evil.is_match(&subject));
        assert!(evil.captures(&subject).is_none());
    }
}
