//! mod_setenvif: `SetEnvIf`, `SetEnvIfNoCase`, `BrowserMatch`, `BrowserMatchNoCase`
//! and `SetEnvIfExpr` (an ap_expr expression instead of an attribute and a regex).
//! Rules of the server and virtual-host level run when the request has been read
//! (Apache's post-read-request hook), those of `<Directory>`/`<Location>` sections at
//! the fixups, after the URL was mapped (`modules::setenvif`).

use std::sync::Arc;

use regex::{Regex, RegexBuilder};
use rhttpd_config::{ConfigError, Directive};

/// What a rule tests (`add_setenvif_core`'s special names, else a request header).
#[derive(Clone, Debug)]
pub enum Attr {
    RemoteAddr,
    RemoteHost,
    RequestMethod,
    RequestUri,
    RequestProtocol,
    ServerAddr,
    /// A request header by name, or, when the request has none, a variable set by an
    /// earlier rule.
    Name(String),
    /// A regex over request header names (a name with other than `[-A-Za-z0-9_]`).
    HeaderRegex(Regex),
}

/// `VAR`, `VAR=value` (with `$0`..`$9` from the match) or `!VAR`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Set(String, String),
    Unset(String),
}

/// What decides whether a rule's actions run.
#[derive(Clone, Debug)]
pub enum Test {
    /// `SetEnvIf ATTR REGEX`: the regex over the attribute's value.
    Match { attr: Attr, pattern: Regex },
    /// `SetEnvIfExpr EXPR`: `$0`..`$9` come from the expression's last regex match.
    Expr(super::expr::ConfExpr),
}

#[derive(Clone, Debug)]
pub struct Rule {
    pub test: Test,
    pub actions: Vec<Action>,
    /// Declared at server or virtual-host level: runs at post-read-request.
    pub server_level: bool,
}

/// One section's rules; a merge appends the more specific section's after the base's.
#[derive(Clone, Debug, Default)]
pub struct SetEnvIfDir {
    pub rules: Arc<Vec<Rule>>,
}

impl SetEnvIfDir {
    pub fn merge(&self, more: &SetEnvIfDir) -> SetEnvIfDir {
        if more.rules.is_empty() {
            return self.clone();
        }
        if self.rules.is_empty() {
            return more.clone();
        }
        SetEnvIfDir {
            rules: Arc::new(
                self.rules
                    .iter()
                    .chain(more.rules.iter())
                    .cloned()
                    .collect(),
            ),
        }
    }
}

fn err(d: &Directive, msg: String) -> ConfigError {
    super::values::err(&d.location, msg)
}

/// Parse one `VAR`, `VAR=value` or `!VAR` word.
pub fn parse_action(word: &str) -> Option<Action> {
    if let Some(name) = word.strip_prefix('!') {
        return (!name.is_empty()).then(|| Action::Unset(name.to_string()));
    }
    let (name, value) = match word.split_once('=') {
        Some((n, v)) => (n, v),
        None => (word, "1"),
    };
    (!name.is_empty()).then(|| Action::Set(name.to_string(), value.to_string()))
}

/// Parse an attribute name as `add_setenvif_core` does.
pub fn parse_attr(name: &str) -> Result<Attr, regex::Error> {
    let special = [
        ("remote_addr", Attr::RemoteAddr),
        ("remote_host", Attr::RemoteHost),
        ("request_method", Attr::RequestMethod),
        ("request_uri", Attr::RequestUri),
        ("request_protocol", Attr::RequestProtocol),
        ("server_addr", Attr::ServerAddr),
    ];
    if let Some((_, a)) = special
        .into_iter()
        .find(|(n, _)| name.eq_ignore_ascii_case(n))
    {
        return Ok(a);
    }
    if name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Ok(Attr::Name(name.to_string()));
    }
    // Header names compare case-insensitively whatever the directive.
    Ok(Attr::HeaderRegex(
        RegexBuilder::new(name).case_insensitive(true).build()?,
    ))
}

/// `SetEnvIf`, `SetEnvIfNoCase`, `BrowserMatch`, `BrowserMatchNoCase` and
/// `SetEnvIfExpr` into `dir`. `server_level`: the directive is outside any section.
pub fn directive(
    dir: &mut SetEnvIfDir,
    d: &Directive,
    server_level: bool,
) -> Result<(), ConfigError> {
    let nocase = d.name.ends_with("NoCase");
    let (attr_word, rest) = match d.name {
        "SetEnvIfExpr" => {
            let (src, vars) = d.args.split_first().unwrap_or((&d.args[0], &[]));
            let expr = super::expr::parse(src, &d.location, |e| {
                format!("Could not parse expression \"{src}\": {e}")
            })?;
            let actions = parse_actions(d, vars)?;
            Arc::make_mut(&mut dir.rules).push(Rule {
                test: Test::Expr(expr),
                actions,
                server_level,
            });
            return Ok(());
        }
        "BrowserMatch" | "BrowserMatchNoCase" => ("User-Agent", &d.args[..]),
        _ => match d.args.split_first() {
            Some((a, rest)) => (a.as_str(), rest),
            None => return Err(err(d, format!("{} Missing header-field name", d.name))),
        },
    };
    let Some((regex, vars)) = rest.split_first() else {
        return Err(err(d, format!("{} Missing regular expression", d.name)));
    };
    let attr = parse_attr(attr_word).map_err(|e| {
        err(
            d,
            format!("{} Header name regex could not be compiled: {e}", d.name),
        )
    })?;
    let pattern = RegexBuilder::new(regex)
        .case_insensitive(nocase)
        .build()
        .map_err(|e| {
            err(
                d,
                format!("{} Regular expression could not be compiled: {e}", d.name),
            )
        })?;
    let actions = parse_actions(d, vars)?;
    Arc::make_mut(&mut dir.rules).push(Rule {
        test: Test::Match { attr, pattern },
        actions,
        server_level,
    });
    Ok(())
}

fn parse_actions(d: &Directive, vars: &[String]) -> Result<Vec<Action>, ConfigError> {
    let mut actions = Vec::with_capacity(vars.len());
    for v in vars {
        match parse_action(v) {
            Some(a) => actions.push(a),
            None => {
                return Err(err(
                    d,
                    format!("{}: bad environment variable '{v}'", d.name),
                ));
            }
        }
    }
    Ok(actions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions() {
        assert_eq!(parse_action("a"), Some(Action::Set("a".into(), "1".into())));
        assert_eq!(
            parse_action("a=b=c"),
            Some(Action::Set("a".into(), "b=c".into()))
        );
        assert_eq!(parse_action("a="), Some(Action::Set("a".into(), "".into())));
        assert_eq!(parse_action("!a"), Some(Action::Unset("a".into())));
        assert_eq!(parse_action("!"), None);
        assert_eq!(parse_action("=x"), None);
    }

    #[test]
    fn attrs() {
        assert!(matches!(parse_attr("REMOTE_ADDR"), Ok(Attr::RemoteAddr)));
        assert!(matches!(parse_attr("Request_URI"), Ok(Attr::RequestUri)));
        assert!(matches!(parse_attr("User-Agent"), Ok(Attr::Name(_))));
        assert!(matches!(parse_attr("^X-.*"), Ok(Attr::HeaderRegex(_))));
        assert!(parse_attr("(").is_err());
    }

    proptest::proptest! {
        /// Any word parses or is refused without panicking, and a parsed `Set` keeps
        /// the text after the first `=` as its value.
        #[test]
        fn action_words(w in "\\PC{0,12}") {
            match parse_action(&w) {
                Some(Action::Set(n, v)) => {
                    proptest::prop_assert!(!n.is_empty() && !n.contains('='));
                    if w.contains('=') {
                        proptest::prop_assert_eq!(format!("{n}={v}"), w.clone());
                    }
                }
                Some(Action::Unset(n)) => proptest::prop_assert_eq!(format!("!{n}"), w.clone()),
                None => proptest::prop_assert!(w.is_empty() || w == "!" || w.starts_with('=')),
            }
            let _ = parse_attr(&w);
        }
    }
}
