//! mod_alias beyond the plain prefix forms: `AliasMatch`, `ScriptAliasMatch`,
//! `RedirectMatch`, the one-argument `Alias`/`ScriptAlias` of a `<Location>`, Apache's
//! `$N` substitution (`ap_pregsub`) and how a redirection target is finished
//! (`ap_escape_uri`, `ap_is_url`).

use std::path::{Path, PathBuf};

use rhttpd_config::{ConfigError, Directive, Node, Section};
use rhttpd_expr::{Groups, Pcre};

use super::values::err;
use super::{Alias, Redirect};

/// A mod_alias regular expression, matched against the whole decoded URL path.
#[derive(Clone, Debug, PartialEq)]
pub struct UrlRegex(pub Pcre);

// Pcre's equality (same pattern, same case folding) is an equivalence.
impl Eq for UrlRegex {}

/// `AP_PREGSUB_MAXLEN`: a substitution longer than this fails (AH00672, 500).
pub const MAX_SUBSTITUTION: usize = 8192 * 8;

/// `ap_pregsub`: `$0`..`$9` become the groups of the match (a group that did not take
/// part, or does not exist, is empty); a backslash makes the next character literal
/// (`\$1` is `$1`). `None` when the result would exceed [`MAX_SUBSTITUTION`].
pub fn substitute(template: &str, groups: &Groups) -> Option<String> {
    let mut out = String::with_capacity(template.len());
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' if chars.peek().is_some_and(|d| d.is_ascii_digit()) => {
                let n = chars.next().and_then(|d| d.to_digit(10)).unwrap_or(0);
                out.push_str(groups.text(n as usize));
            }
            '\\' if chars.peek().is_some() => out.extend(chars.next()),
            c => out.push(c),
        }
        if out.len() >= MAX_SUBSTITUTION {
            return None;
        }
    }
    Some(out)
}

pub use super::values::is_url;

/// What `RedirectMatch` does with a substituted target (`apr_uri_unparse` without the
/// query, `ap_escape_uri`, the query and fragment put back as they were).
pub fn escape_target(found: &str) -> String {
    let cut = found.find(['?', '#']).unwrap_or(found.len());
    let mut out = crate::uri::encode_path(&found[..cut]);
    out.push_str(&found[cut..]);
    out
}

impl UrlRegex {
    /// The substituted `template` when the pattern matches `uri_path`: `Some(None)` for
    /// a substitution that is too long.
    pub fn replace(&self, uri_path: &str, template: &str) -> Option<Option<String>> {
        let groups = self.0.captures(uri_path)?;
        Some(substitute(template, &groups))
    }
}

/// A URL prefix match on path-segment boundaries (`/foo` matches `/foo` and `/foo/x`,
/// not `/foobar`): the rest of the path.
fn prefix_rest<'a>(prefix: &str, path: &'a str) -> Option<&'a str> {
    let rest = path.strip_prefix(prefix)?;
    (prefix.ends_with('/') || rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

/// mod_alias's `try_alias_list` over redirects: the first of `redirects` (in
/// configuration order) that matches `uri_path`, as (status, target). A prefix form
/// appends the escaped rest of the path to its target; a `RedirectMatch` substitutes
/// `$N` into its target and escapes the result. A substitution that fails (AH00672)
/// or gives neither an absolute URL nor a path (AH00674) is a 500.
pub fn first_redirect(redirects: &[Redirect], uri_path: &str) -> Option<(u16, Option<String>)> {
    use crate::log::Level;
    for r in redirects {
        let target = match &r.regex {
            Some(re) => {
                let Some(groups) = re.0.captures(uri_path) else {
                    continue;
                };
                match r.target.as_deref().map(|t| substitute(t, &groups)) {
                    None => None,
                    Some(Some(found)) => Some(escape_target(&found)),
                    Some(None) => {
                        crate::log::log(
                            "alias",
                            Level::Error,
                            None,
                            &format!(
                                "AH00672: Regex substitution in '{}' failed. Replacement too long?",
                                r.target.as_deref().unwrap_or("")
                            ),
                        );
                        return Some((500, None));
                    }
                }
            }
            None => {
                let Some(rest) = prefix_rest(&r.url, uri_path) else {
                    continue;
                };
                r.target
                    .as_ref()
                    .map(|t| format!("{t}{}", crate::uri::encode_path(rest)))
            }
        };
        if let Some(t) = &target
            && (300..400).contains(&r.status)
            && !t.starts_with('/')
            && !is_url(t)
        {
            crate::log::log(
                "alias",
                Level::Error,
                None,
                &format!(
                    "AH00674: cannot redirect '{uri_path}' to '{t}'; target is not a valid absoluteURI or abs_path"
                ),
            );
            return Some((500, None));
        }
        return Some((r.status, target));
    }
    None
}

/// The regex of a mod_alias directive, or Apache's error.
fn compile(pattern: &str, d: &Directive) -> Result<UrlRegex, ConfigError> {
    Pcre::new(pattern, false)
        .map(UrlRegex)
        .map_err(|_| err(&d.location, "Regular expression could not be compiled."))
}

/// `AliasMatch regex path` / `ScriptAliasMatch regex path` (server and virtual host).
/// A relative target is taken below ServerRoot, as `ap_server_root_relative` does with
/// the substituted path.
pub fn parse_alias_match(d: &Directive, server_root: &Path) -> Result<Alias, ConfigError> {
    let pattern = d.args.first().map(String::as_str).unwrap_or("");
    let target = d.args.get(1).map(String::as_str).unwrap_or("");
    let regex = compile(pattern, d)?;
    let path = if target.starts_with('/') {
        PathBuf::from(target)
    } else {
        server_root.join(target)
    };
    Ok(Alias {
        url: pattern.to_string(),
        path,
        handler: (d.name == "ScriptAliasMatch").then(|| "cgi-script".to_string()),
        regex: Some(regex),
    })
}

/// `RedirectMatch [status] regex [URL]`: with three arguments the first must be a
/// status; with two, a first argument that is a status takes the regex and no URL (a
/// status that is not a redirection, such as `gone` or 403), otherwise it is the regex
/// and the second the URL.
pub fn parse_redirect_match(d: &Directive) -> Result<Redirect, ConfigError> {
    let a = |i: usize| d.args.get(i).map(String::as_str);
    let arg1 = a(0).unwrap_or("");
    let grok = super::values::redirect_status_word(arg1);
    if a(2).is_some() && grok.is_none() {
        return Err(err(
            &d.location,
            "Redirect: invalid first argument (of three)",
        ));
    }
    let (status, pattern, url) = match grok {
        Some(s) => (s, a(1).unwrap_or(""), a(2)),
        None => (302, arg1, a(1)),
    };
    let regex = compile(pattern, d)?;
    if (300..400).contains(&status) {
        if url.is_none() {
            return Err(err(&d.location, "URL to redirect to is missing"));
        }
    } else if url.is_some() {
        return Err(err(&d.location, "Redirect URL not valid for this status"));
    }
    Ok(Redirect {
        status,
        url: pattern.to_string(),
        target: url.map(str::to_string),
        regex: Some(regex),
    })
}

/// A section's one-argument `Alias path` / `ScriptAlias path` (Apache 2.4.19+): every
/// URL the `<Location>` matches maps to that one path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocationAlias {
    pub path: PathBuf,
    pub handler: Option<String>,
}

/// The one-argument `Alias`/`ScriptAlias` among a section's directives (the last one
/// wins, `<Limit>` bodies included), with mod_alias's context checks: two arguments
/// are for the server level only, and the one-argument form only for `<Location>`.
pub fn section_alias(
    s: &Section,
    resolve: &dyn Fn(&str) -> PathBuf,
) -> Result<Option<LocationAlias>, ConfigError> {
    let in_location = matches!(s.name, "Location" | "LocationMatch");
    let mut found = None;
    let mut nodes: Vec<&Node> = s.children.iter().collect();
    while let Some(node) = nodes.pop() {
        match node {
            Node::Directive(d) if matches!(d.name, "Alias" | "ScriptAlias") => {
                if d.args.len() != 1 || !in_location {
                    return Err(err(
                        &d.location,
                        format!("{} cannot occur within <{}> section", d.name, s.name),
                    ));
                }
                let target = &d.args[0];
                if target.contains("%{") {
                    return Err(err(
                        &d.location,
                        format!(
                            "Cannot parse alias expression '{target}': expressions are not supported by rhttpd yet (use a literal path)"
                        ),
                    ));
                }
                // `pop` walks backwards: the first one met is the last written.
                if found.is_none() {
                    found = Some(LocationAlias {
                        path: resolve(target),
                        handler: (d.name == "ScriptAlias").then(|| "cgi-script".to_string()),
                    });
                }
            }
            Node::Section(inner) if matches!(inner.name, "Limit" | "LimitExcept") => {
                nodes.extend(inner.children.iter());
            }
            _ => {}
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rhttpd_config::Location;

    fn dir(name: &'static str, args: &[&str]) -> Directive {
        Directive {
            name,
            args: args.iter().map(|s| s.to_string()).collect(),
            location: Location::new("t.conf", 3),
        }
    }

    fn groups(g: &[Option<&str>]) -> Groups {
        Groups::from_texts(g.iter().map(|s| s.map(str::to_string)).collect())
    }

    #[test]
    fn pregsub_rules() {
        let g = groups(&[Some("/a/b"), Some("a"), None, Some("b")]);
        assert_eq!(substitute("/x/$1/$3", &g).unwrap(), "/x/a/b");
        assert_eq!(substitute("$0|$2|$9", &g).unwrap(), "/a/b||");
        assert_eq!(substitute(r"\$1 \\ $", &g).unwrap(), r"$1 \ $");
        assert_eq!(substitute("$12", &g).unwrap(), "a2");
        assert_eq!(substitute("a&b", &g).unwrap(), "a&b");
        assert_eq!(substitute("end\\", &g).unwrap(), "end\\");
        let long = groups(&[Some(&"x".repeat(40_000))]);
        assert!(substitute("$0$0", &long).is_none());
    }

    #[test]
    fn urls_and_escaping() {
        assert!(is_url("http://h/x") && is_url("svn+ssh:x") && !is_url("/x"));
        assert!(!is_url(":x") && !is_url("a b:c") && !is_url("nocolon"));
        assert_eq!(escape_target("/a b/é?q=a b#f g"), "/a%20b/%c3%a9?q=a b#f g");
        assert_eq!(escape_target("http://h/x%y"), "http://h/x%25y");
    }

    #[test]
    fn alias_match_replaces_the_whole_url() {
        let a = parse_alias_match(
            &dir("AliasMatch", &["^/img/(.*)\\.png$", "/srv/$1.p"]),
            Path::new("/r"),
        )
        .unwrap();
        let re = a.regex.unwrap();
        assert_eq!(
            re.replace("/img/x/y.png", &a.path.to_string_lossy()),
            Some(Some("/srv/x/y.p".into()))
        );
        assert_eq!(re.replace("/img/x.gif", "/srv/$1"), None);
        let rel = parse_alias_match(
            &dir("ScriptAliasMatch", &["^/c", "cgi/$0"]),
            Path::new("/r"),
        )
        .unwrap();
        assert_eq!(rel.path, PathBuf::from("/r/cgi/$0"));
        assert_eq!(rel.handler.as_deref(), Some("cgi-script"));
        let e = parse_alias_match(&dir("AliasMatch", &["(", "/x"]), Path::new("/")).unwrap_err();
        assert!(
            e.to_string()
                .contains("Regular expression could not be compiled.")
        );
    }

    #[test]
    fn redirect_match_forms() {
        let p = |a: &[&str]| parse_redirect_match(&dir("RedirectMatch", a));
        let r = p(&["^/old/(.*)", "http://h/new/$1"]).unwrap();
        assert_eq!(
            (r.status, r.target.as_deref()),
            (302, Some("http://h/new/$1"))
        );
        let r = p(&["permanent", "^/o", "/n"]).unwrap();
        assert_eq!(r.status, 301);
        let r = p(&["301", "^/o", "/n"]).unwrap();
        assert_eq!(r.status, 301);
        let r = p(&["gone", "^/g"]).unwrap();
        assert_eq!((r.status, r.target), (410, None));
        let r = p(&["403", "^/f"]).unwrap();
        assert_eq!((r.status, r.target), (403, None));
        let msg = |a: &[&str]| p(a).unwrap_err().to_string();
        assert!(msg(&["x", "^/o", "/n"]).contains("invalid first argument (of three)"));
        assert!(msg(&["seeother", "^/o"]).contains("URL to redirect to is missing"));
        assert!(msg(&["gone", "^/o", "/n"]).contains("Redirect URL not valid for this status"));
        assert!(msg(&["^/(", "/n"]).contains("Regular expression could not be compiled."));
    }

    #[test]
    fn first_matching_redirect_wins() {
        let rm = |a: &[&str]| parse_redirect_match(&dir("RedirectMatch", a)).unwrap();
        let plain = |url: &str, t: &str| Redirect {
            status: 302,
            url: url.into(),
            target: Some(t.into()),
            regex: None,
        };
        let list = vec![
            rm(&["301", "^/old/([^/]+)/(.*)$", "/new/$2/$1"]),
            plain("/old", "http://h/o"),
            rm(&["gone", "^/gone"]),
            rm(&["^/bad(.*)", "x$1"]),
            rm(&["^/sp/(.*)", "http://h/a b/$1?q=1 2"]),
        ];
        let f = |p: &str| first_redirect(&list, p);
        assert_eq!(f("/old/a/b c"), Some((301, Some("/new/b%20c/a".into()))));
        assert_eq!(f("/old/x"), Some((302, Some("http://h/o/x".into()))));
        assert_eq!(f("/gone/x"), Some((410, None)));
        assert_eq!(f("/badly"), Some((500, None)));
        assert_eq!(
            f("/sp/é"),
            Some((302, Some("http://h/a%20b/%c3%a9?q=1 2".into())))
        );
        assert_eq!(f("/elsewhere"), None);
    }

    proptest! {
        #[test]
        fn parsers_never_panic(words in proptest::collection::vec("\\PC{0,12}", 1..4)) {
            let args: Vec<&str> = words.iter().map(String::as_str).collect();
            let _ = parse_redirect_match(&dir("RedirectMatch", &args));
            let _ = parse_alias_match(&dir("AliasMatch", &args), Path::new("/r"));
        }

        /// Substitution without `$` or `\` is the identity, and never panics.
        #[test]
        fn substitution(template in "\\PC{0,40}", g in proptest::option::of("\\PC{0,8}")) {
            let gs = groups(&[Some("whole"), g.as_deref()]);
            let out = substitute(&template, &gs);
            if !template.contains(['$', '\\']) {
                prop_assert_eq!(out.as_deref(), Some(template.as_str()));
            }
        }
    }
}
