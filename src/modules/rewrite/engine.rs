//! The rewriting engine, sans I/O: runs a list of rules over a URL (server context) or
//! a file name (per-directory context) as mod_rewrite's `apply_rewrite_list` /
//! `apply_rewrite_rule` / `apply_rewrite_cond` do. Variables, file tests and map
//! lookups come through [`Lookup`], so the engine can be driven by tests and the fuzzer
//! without a request.

use rhttpd_expr::Groups;

use super::expand::{Refs, expand};
use crate::conf::expr::ConfExpr;
use crate::conf::rewrite::{Cond, CondPattern, FileTest, Rule};

/// A map lookup would have to wait (a `prg:` map on the event listener).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Blocked;

/// What a map lookup gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MapAnswer {
    Value(String),
    /// No such key (or no such map): the `|default` applies.
    NotFound,
    Blocked,
}

/// Everything the engine needs from outside.
pub trait Lookup {
    /// The value of `%{name}` (`HTTP_HOST`, `HTTP:X-Forwarded-Proto`, `ENV:foo` ...).
    fn var(&mut self, name: &str) -> String;
    /// A `RewriteCond` file test on `path`.
    fn file_test(&mut self, test: FileTest, path: &str) -> bool;
    /// `${map:key}`.
    fn map(&mut self, map: &str, key: &str) -> MapAnswer;
    /// `RewriteCond expr`: `Some` with the groups of the expression's last regex match
    /// (empty when it has none) if it is true; `None` if false or it failed to evaluate.
    fn expr(&mut self, expr: &ConfExpr) -> Option<Groups>;
    /// An `[E=]` flag set (`Some`) or unset (`None`) a variable: later `%{ENV:...}` see it.
    fn set_env(&mut self, name: &str, value: Option<&str>);
    /// `scheme://host[:port]` of this server, for `[R]` targets that are paths.
    fn server_url(&mut self) -> String;
    /// Whether `authority` (`host[:port]` of an absolute substitution) is this server.
    fn is_this_server(&mut self, scheme: &str, authority: &str) -> bool;
    /// A rule changed the URL or file name being rewritten and the query string
    /// (`%{REQUEST_FILENAME}` and `%{QUERY_STRING}` of later rules see them).
    fn current_changed(&mut self, _uri: &str, _query: Option<&str>) {}
}

/// Where the rules run.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    /// Per-directory context: the directory prefix (ending in `/`) stripped before
    /// matching and put back after; `Some("")` for sections without a directory.
    pub perdir: Option<&'a str>,
    /// The request is a sub-request (`[NS]` rules are skipped).
    pub subrequest: bool,
    /// The request line's target had an encoded `?` (`%3f`): a result with a `?` is
    /// refused unless the rule has `[UnsafeAllow3F]`.
    pub encoded_qmark: bool,
}

/// How the result of a pass was reached.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pass {
    /// The URL (server context) or file name (per-directory) after the rules; an
    /// absolute URL for a redirect; the proxy target for `[P]`.
    pub uri: String,
    /// The query string after the rules.
    pub query: Option<String>,
    /// A substitution was applied (`Some(noescape)`).
    pub changed: Option<bool>,
    /// `[F]`, `[G]`, `[R=non-3xx]`, a refused `%3f` or too many `[N]` rounds: answer
    /// with this status.
    pub status: Option<u16>,
    /// `[R]`: the redirect status.
    pub redirect: Option<u16>,
    pub proxy: bool,
    pub passthrough: bool,
    /// `[END]`: no more rewriting for this request, even after an internal redirect.
    pub end: bool,
    /// A substitution that was an absolute URL of this server was reduced to its path
    /// (such a path is always taken relative to DocumentRoot).
    pub uri_reduced: bool,
    /// Server context: the last substitution starts with a variable or back-reference
    /// and lacks `[UnsafePrefixStat]`, so its result is always under DocumentRoot.
    pub docroot_only: bool,
    /// `[E=]` in order (`None`: unset).
    pub env: Vec<(String, Option<String>)>,
    /// `[CO=]` expanded, as written after the `=`.
    pub cookies: Vec<String>,
    pub handler: Option<String>,
    pub mime_type: Option<String>,
    pub discard_path_info: bool,
}

/// What one rule did.
enum RuleResult {
    NoMatch,
    /// Matched; `true` when a substitution was applied.
    Match(bool),
}

/// Apache's schemes that make a substitution an absolute URL; the length of the
/// `scheme://` (or `scheme:`) prefix, 0 when `s` is not one.
pub fn absolute_uri_prefix(s: &str) -> usize {
    const SCHEMES: &[&str] = &[
        "ajp://",
        "balancer://",
        "fcgi://",
        "ftp://",
        "gopher://",
        "h2://",
        "h2c://",
        "http://",
        "https://",
        "ldap://",
        "nntp://",
        "scgi://",
        "ws://",
        "wss://",
        "mailto:",
        "news:",
    ];
    for scheme in SCHEMES {
        if s.len() >= scheme.len() && s[..scheme.len()].eq_ignore_ascii_case(scheme) {
            return scheme.len();
        }
    }
    if s.len() > 5 && s[..5].eq_ignore_ascii_case("unix:") && s.contains('|') {
        return 5;
    }
    0
}

/// Run `rules` over `uri` (with query `query`).
pub fn apply(
    rules: &[Rule],
    ctx: Context<'_>,
    uri: &str,
    query: Option<&str>,
    lookup: &mut dyn Lookup,
) -> Result<Pass, Blocked> {
    let mut pass = Pass {
        uri: uri.to_string(),
        query: query.map(str::to_string),
        ..Pass::default()
    };
    let mut rounds = 0u32;
    'round: loop {
        let mut i = 0;
        while i < rules.len() {
            let rule = &rules[i];
            if rule.flags.nosubreq && ctx.subrequest {
                i += 1;
                continue;
            }
            match apply_rule(rule, ctx, &mut pass, lookup)? {
                RuleResult::Match(substituted) => {
                    if substituted {
                        pass.changed = Some(rule.flags.noescape);
                        lookup.current_changed(&pass.uri, pass.query.as_deref());
                    }
                    if pass.status.is_some() {
                        return Ok(pass);
                    }
                    if pass.proxy {
                        break 'round;
                    }
                    if rule.flags.passthrough {
                        pass.passthrough = true;
                        pass.changed.get_or_insert(rule.flags.noescape);
                        break 'round;
                    }
                    if rule.flags.end {
                        pass.end = true;
                        break 'round;
                    }
                    if rule.flags.last {
                        break 'round;
                    }
                    if let Some(limit) = rule.flags.next {
                        rounds += 1;
                        if rounds >= limit {
                            crate::log::log(
                                "rewrite",
                                crate::log::Level::Error,
                                None,
                                &format!(
                                    "AH02596: RewriteRule '{}' and URI '{}' exceeded maximum number of rounds ({limit}) via the [N] flag",
                                    rule.pattern.as_str(),
                                    pass.uri
                                ),
                            );
                            pass.status = Some(500);
                            return Ok(pass);
                        }
                        continue 'round;
                    }
                    i += 1 + rule.flags.skip as usize;
                }
                RuleResult::NoMatch => {
                    // A failed rule of a chain skips the rest of the chain.
                    while i < rules.len() && rules[i].flags.chain {
                        i += 1;
                    }
                    i += 1;
                }
            }
        }
        break;
    }
    Ok(pass)
}

fn apply_rule(
    rule: &Rule,
    ctx: Context<'_>,
    pass: &mut Pass,
    lookup: &mut dyn Lookup,
) -> Result<RuleResult, Blocked> {
    // Per-directory: match without the directory prefix.
    let subject = match ctx.perdir {
        Some(dir) if !dir.is_empty() && pass.uri.starts_with(dir) => &pass.uri[dir.len()..],
        _ => pass.uri.as_str(),
    };
    let rule_groups = if rule.negate {
        if rule.pattern.is_match(subject) {
            return Ok(RuleResult::NoMatch);
        }
        Groups::default()
    } else {
        match rule.pattern.captures(subject) {
            Some(g) => g,
            None => return Ok(RuleResult::NoMatch),
        }
    };
    let mut cond_groups = Groups::default();
    if !conditions_hold(&rule.conds, &rule_groups, &mut cond_groups, lookup)? {
        return Ok(RuleResult::NoMatch);
    }
    let plain = Refs {
        rule: &rule_groups,
        cond: &cond_groups,
        escape: None,
    };
    // The rule matched: its variables, cookies, type and handler apply.
    for spec in &rule.flags.env {
        let text = expand(spec, &plain, lookup)?;
        let (name, value) = match text.strip_prefix('!') {
            Some(name) => (name.to_string(), None),
            None => match text.split_once(':') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (text.clone(), Some(String::new())),
            },
        };
        if name.is_empty() {
            continue;
        }
        lookup.set_env(&name, value.as_deref());
        pass.env.push((name, value));
    }
    for spec in &rule.flags.cookies {
        pass.cookies.push(expand(spec, &plain, lookup)?);
    }
    if let Some(t) = &rule.flags.mime_type {
        pass.mime_type = Some(expand(t, &plain, lookup)?.to_ascii_lowercase());
    }
    if let Some(h) = &rule.flags.handler {
        pass.handler = Some(expand(h, &plain, lookup)?);
    }
    if let Some(status) = status_of(rule) {
        pass.status = Some(status);
        return Ok(RuleResult::Match(false));
    }
    if rule.no_substitution() {
        return Ok(RuleResult::Match(false));
    }
    let with_escape = Refs {
        rule: &rule_groups,
        cond: &cond_groups,
        escape: Some(&rule.flags),
    };
    let (substitution, qs_none) = match rule.substitution.strip_suffix('?') {
        Some(s) if !rule.flags.qs_append && !s.ends_with('\\') => (s, true),
        _ => (rule.substitution.as_str(), false),
    };
    let mut new_uri = expand(substitution, &with_escape, lookup)?;
    if ctx.encoded_qmark && !rule.flags.unsafe_allow_3f && new_uri.contains('?') {
        crate::log::log(
            "rewrite",
            crate::log::Level::Error,
            None,
            &format!("AH10508: Unsafe URL with %3f URL rewritten without UnsafeAllow3F: {new_uri}"),
        );
        pass.status = Some(403);
        return Ok(RuleResult::Match(false));
    }
    if rule.flags.discard_path_info {
        pass.discard_path_info = true;
    }
    let qs_last = rule.flags.qs_last || (rule.flags.qs_append && rule.substitution.ends_with('?'));
    split_query(&mut new_uri, &mut pass.query, &rule.flags, qs_none, qs_last);
    // Per-directory: a relative result gets the directory prefix back.
    if let Some(dir) = ctx.perdir
        && !new_uri.starts_with('/')
        && absolute_uri_prefix(&new_uri) == 0
    {
        new_uri = if dir.is_empty() {
            format!("/{new_uri}")
        } else {
            format!("{dir}{new_uri}")
        };
    }
    pass.docroot_only = ctx.perdir.is_none()
        && !rule.flags.unsafe_prefix_stat
        && matches!(rule.substitution.as_bytes().first(), Some(b'$' | b'%'));
    pass.uri = new_uri;
    if rule.flags.proxy {
        if absolute_uri_prefix(&pass.uri) == 0 {
            let base = lookup.server_url();
            pass.uri = qualify(&base, &pass.uri);
        }
        pass.proxy = true;
        return Ok(RuleResult::Match(true));
    }
    if let Some(status) = rule.flags.redirect {
        if absolute_uri_prefix(&pass.uri) == 0 {
            let base = lookup.server_url();
            pass.uri = qualify(&base, &pass.uri);
        }
        pass.redirect = Some(status);
        return Ok(RuleResult::Match(true));
    }
    reduce(pass, lookup);
    Ok(RuleResult::Match(true))
}

/// `[F]`, `[G]` and `[R=code]` outside 300–399 answer with a status.
fn status_of(rule: &Rule) -> Option<u16> {
    if rule.flags.forbidden {
        return Some(403);
    }
    if rule.flags.gone {
        return Some(410);
    }
    match rule.flags.redirect {
        Some(s) if !(300..400).contains(&s) => Some(s),
        _ => None,
    }
}

/// `fully_qualify_uri`: a path made an absolute URL of this server.
fn qualify(base: &str, path: &str) -> String {
    if path.starts_with('/') {
        format!("{base}{path}")
    } else {
        format!("{base}/{path}")
    }
}

/// `reduce_uri`: an absolute URL naming this server becomes its path.
fn reduce(pass: &mut Pass, lookup: &mut dyn Lookup) {
    let skip = absolute_uri_prefix(&pass.uri);
    if skip == 0 || !pass.uri[..skip].ends_with("://") {
        return;
    }
    let scheme = pass.uri[..skip - 3].to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return;
    }
    let rest = &pass.uri[skip..];
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if lookup.is_this_server(&scheme, authority) {
        pass.uri = path.to_string();
        pass.uri_reduced = true;
    }
}

/// `splitout_queryargs`: a `?` in the result sets the query string (`[QSA]` appends
/// the old one, `[QSD]` drops it, `[QSL]` splits at the last `?`).
fn split_query(
    uri: &mut String,
    query: &mut Option<String>,
    flags: &crate::conf::rewrite::RuleFlags,
    qs_none: bool,
    qs_last: bool,
) {
    if qs_none {
        *query = None;
        return;
    }
    let skip = absolute_uri_prefix(uri);
    if skip > 0 && !uri[..skip].ends_with("://") {
        // mailto:, news: — no query string of ours.
        *query = None;
        return;
    }
    if flags.qs_discard {
        *query = None;
    }
    let found = if qs_last {
        uri[skip..].rfind('?')
    } else {
        uri[skip..].find('?')
    };
    if let Some(at) = found {
        let at = skip + at;
        let new_q = uri[at + 1..].to_string();
        uri.truncate(at);
        let mut q = if flags.qs_append {
            if new_q.is_empty() {
                query.take()
            } else {
                Some(match query.take() {
                    Some(old) => format!("{new_q}&{old}"),
                    None => new_q,
                })
            }
        } else {
            Some(new_q)
        };
        if let Some(text) = &mut q {
            if text.ends_with('&') {
                text.pop();
            }
            if text.is_empty() {
                q = None;
            }
        }
        *query = q;
    }
}

/// The conditions of a rule, with `[OR]` chains; `cond_groups` ends as the groups of
/// the last regex condition that matched.
fn conditions_hold(
    conds: &[Cond],
    rule_groups: &Groups,
    cond_groups: &mut Groups,
    lookup: &mut dyn Lookup,
) -> Result<bool, Blocked> {
    let mut i = 0;
    while i < conds.len() {
        let c = &conds[i];
        let ok = cond_holds(c, rule_groups, cond_groups, lookup)?;
        if c.or_next {
            if ok {
                // Skip the rest of the OR chain.
                while i < conds.len() && conds[i].or_next {
                    i += 1;
                }
            }
        } else if !ok {
            return Ok(false);
        }
        i += 1;
    }
    Ok(true)
}

fn cond_holds(
    c: &Cond,
    rule_groups: &Groups,
    cond_groups: &mut Groups,
    lookup: &mut dyn Lookup,
) -> Result<bool, Blocked> {
    let input = match &c.pattern {
        // The expression reads the request itself; the test string is not expanded.
        CondPattern::Expr(_) => String::new(),
        _ => {
            let refs = Refs {
                rule: rule_groups,
                cond: cond_groups,
                escape: None,
            };
            expand(&c.test, &refs, lookup)?
        }
    };
    // The groups of a match, kept for `%N` unless the condition is negated.
    let mut matched = |g: Groups| {
        if !c.negate {
            *cond_groups = g;
        }
        true
    };
    let holds = match &c.pattern {
        CondPattern::Expr(e) => lookup.expr(e).is_some_and(&mut matched),
        CondPattern::Regex(re) => re.captures(&input).is_some_and(&mut matched),
        CondPattern::File(test) => lookup.file_test(*test, &input),
        CondPattern::Str(op, text) => {
            let ord = if c.nocase {
                input.to_lowercase().cmp(&text.to_lowercase())
            } else {
                input.as_str().cmp(text.as_str())
            };
            op.holds(ord)
        }
        CondPattern::Int(op, text) => op.holds(leading_int(&input).cmp(&leading_int(text))),
    };
    Ok(holds != c.negate)
}

/// `apr_atoi64`: the integer at the start of `s` (after spaces), 0 when there is none.
fn leading_int(s: &str) -> i64 {
    let t = s.trim_start();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut v: i64 = 0;
    for b in digits.bytes().take_while(u8::is_ascii_digit) {
        v = v.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if neg { -v } else { v }
}

#[cfg(test)]
mod tests;
