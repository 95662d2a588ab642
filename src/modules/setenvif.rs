//! mod_setenvif at run time (`match_headers`): the rules of `conf::setenvif` tested
//! against the request, their variables joining mod_env's (CGI, FastCGI, `%{VAR}e`,
//! `Header env=`), and the special variables the connection layer honours.

use std::sync::Arc;

use rhttpd_http::RequestHead;

use crate::conf::DirConfig;
use crate::conf::setenvif::{Action, Attr, Rule, Test};
use crate::handler::ConnInfo;

/// Variables set (`Some`) or unset (`None`) by rules, in order.
pub type Overlay = Vec<(String, Option<String>)>;

/// The special variables the HTTP/1 connection honours (Apache's `nokeepalive`,
/// `downgrade-1.0`, `force-response-1.0`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Specials {
    pub nokeepalive: bool,
    pub downgrade_1_0: bool,
    pub force_response_1_0: bool,
}

impl Specials {
    /// The connection closes after this response: `nokeepalive`, or
    /// `force-response-1.0` on an HTTP/1.0 request.
    pub fn closes(&self, head: &RequestHead) -> bool {
        self.nokeepalive
            || (self.force_response_1_0 && head.version == rhttpd_http::Version::HTTP_10)
    }
}

/// What a rule needs from the request.
pub struct Request<'a> {
    pub head: &'a RequestHead,
    pub conn: &'a ConnInfo,
    /// The decoded URL path (Apache's `r->uri`).
    pub uri: &'a str,
}

fn lookup<'a>(overlay: &'a Overlay, base: Option<&'a DirConfig>, name: &str) -> Option<&'a str> {
    if let Some((_, v)) = overlay
        .iter()
        .rev()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
    {
        return v.as_deref();
    }
    base.and_then(|d| d.env.get(name))
}

fn header(head: &RequestHead, name: &str) -> Option<String> {
    let mut values = head.headers.get_all(name).iter().peekable();
    values.peek()?;
    let joined: Vec<String> = values
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    Some(joined.join(", "))
}

/// `$0`..`$9` from `group` into `value` (`\$` and `\\` escape, as `ap_pregsub`).
fn substitute(value: &str, group: &dyn Fn(usize) -> Option<String>) -> String {
    if !value.contains('$') {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if matches!(chars.peek(), Some('$' | '\\')) => {
                out.push(chars.next().unwrap_or('\\'));
            }
            '$' if chars.peek().is_some_and(|d| d.is_ascii_digit()) => {
                let n = chars.next().and_then(|d| d.to_digit(10)).unwrap_or(0) as usize;
                if let Some(m) = group(n) {
                    out.push_str(&m);
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// Run `rules` (those with `server_level == server_level`) against the request, adding
/// to `overlay`. `base`: the directory's mod_env variables (at the fixups), which a
/// rule naming a variable can test.
pub fn apply(
    rules: &[Rule],
    server_level: bool,
    req: &Request<'_>,
    base: Option<&DirConfig>,
    overlay: &mut Overlay,
) {
    for rule in rules.iter().filter(|r| r.server_level == server_level) {
        let group: Box<dyn Fn(usize) -> Option<String>> = match &rule.test {
            Test::Match { attr, pattern } => {
                let value = attr_value(attr, req, base, overlay);
                let Some(caps) = pattern.captures(&value) else {
                    continue;
                };
                let groups: Vec<Option<String>> = caps
                    .iter()
                    .map(|m| m.map(|m| m.as_str().to_string()))
                    .collect();
                Box::new(move |n| groups.get(n).cloned().flatten())
            }
            Test::Expr(e) => {
                // The request environment as the earlier rules left it.
                let dir = with_overlay(Arc::new(base.cloned().unwrap_or_default()), overlay);
                let ctx = crate::modules::expr_request::ExprRequest::new(req.head, req.conn)
                    .with_uri(req.uri)
                    .with_dir(&dir);
                let mut evaluator = rhttpd_expr::Evaluator::new(&ctx as &dyn rhttpd_expr::Context);
                match e.expr.eval_in(&mut evaluator) {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(msg) => {
                        e.log_failure("setenvif", &msg);
                        continue;
                    }
                }
                let groups = evaluator.groups().cloned().unwrap_or_default();
                Box::new(move |n| groups.get(n).map(str::to_string))
            }
        };
        for a in &rule.actions {
            match a {
                Action::Set(k, v) => overlay.push((k.clone(), Some(substitute(v, &*group)))),
                Action::Unset(k) => overlay.push((k.clone(), None)),
            }
        }
    }
}

/// The value a `SetEnvIf` attribute names.
fn attr_value(
    attr: &Attr,
    req: &Request<'_>,
    base: Option<&DirConfig>,
    overlay: &Overlay,
) -> String {
    match attr {
        Attr::RemoteAddr | Attr::RemoteHost => req.conn.client.ip().to_string(),
        Attr::ServerAddr => req.conn.local.ip().to_string(),
        Attr::RequestMethod => req.head.method.as_str().to_string(),
        Attr::RequestUri => req.uri.to_string(),
        Attr::RequestProtocol => format!("{:?}", req.head.version),
        Attr::Name(n) => header(req.head, n)
            .or_else(|| lookup(overlay, base, n).map(str::to_string))
            .unwrap_or_default(),
        Attr::HeaderRegex(re) => req
            .head
            .headers
            .iter()
            .filter(|(k, _)| re.is_match(k.as_str()))
            .last()
            .map(|(_, v)| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default(),
    }
}

/// The special variables in effect after `overlay` over `dir`'s variables.
pub fn specials(overlay: &Overlay, dir: Option<&DirConfig>) -> Specials {
    Specials {
        nokeepalive: lookup(overlay, dir, "nokeepalive").is_some(),
        downgrade_1_0: lookup(overlay, dir, "downgrade-1.0").is_some(),
        force_response_1_0: lookup(overlay, dir, "force-response-1.0").is_some(),
    }
}

/// `dir` with `overlay` applied to its variables (shared unchanged when empty).
pub fn with_overlay(dir: Arc<DirConfig>, overlay: &Overlay) -> Arc<DirConfig> {
    if overlay.is_empty() {
        return dir;
    }
    let mut d = (*dir).clone();
    let vars = Arc::make_mut(&mut d.env.vars);
    for (k, v) in overlay {
        vars.retain(|(n, _)| !n.eq_ignore_ascii_case(k));
        if let Some(v) = v {
            vars.push((k.clone(), v.clone()));
        }
    }
    Arc::new(d)
}

/// `downgrade-1.0`: the request treated as HTTP/1.0 (no chunked response, keep-alive
/// only when asked for).
pub fn downgraded(head: &RequestHead) -> RequestHead {
    let mut h = head.clone();
    if h.version > rhttpd_http::Version::HTTP_10 {
        h.version = rhttpd_http::Version::HTTP_10;
    }
    h
}

/// `force-response-1.0` on an HTTP/1.0 request: the status line says `HTTP/1.0`, as
/// Apache's `basic_http_header_check` (which also closes the connection: `Specials::closes`).
pub fn force_response_1_0(sp: Specials, head: &RequestHead, head_bytes: &mut [u8]) {
    if sp.force_response_1_0
        && head.version == rhttpd_http::Version::HTTP_10
        && head_bytes.starts_with(b"HTTP/1.1 ")
    {
        head_bytes[7] = b'0';
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rhttpd_config::{Directive, Location};

    fn loc() -> Location {
        Location::new("t.conf", 1)
    }

    fn rules(lines: &[(&'static str, &[&str])]) -> Vec<Rule> {
        let mut dir = crate::conf::setenvif::SetEnvIfDir::default();
        for (name, args) in lines {
            let d = Directive {
                name,
                args: args.iter().map(|s| s.to_string()).collect(),
                location: loc(),
            };
            crate::conf::setenvif::directive(&mut dir, &d, true).unwrap();
        }
        dir.rules.to_vec()
    }

    fn head(ua: &str) -> RequestHead {
        let text = format!("GET /x.gif HTTP/1.1\r\nHost: x\r\nUser-Agent: {ua}\r\n\r\n");
        match rhttpd_http::parse_request_head(text.as_bytes(), &rhttpd_http::Limits::default()) {
            Ok(Some(h)) => h,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn debian_browser_match_and_captures() {
        let r = rules(&[
            ("BrowserMatch", &["Mozilla/2", "nokeepalive"]),
            (
                "BrowserMatch",
                &[
                    "MSIE 7\\.0",
                    "nokeepalive",
                    "downgrade-1.0",
                    "force-response-1.0",
                ],
            ),
            (
                "SetEnvIf",
                &["User-Agent", "^(\\w+)/", "ua=$1", "!nokeepalive"],
            ),
            ("SetEnvIfNoCase", &["ua", "^moz", "ismoz"]),
            ("SetEnvIf", &["Request_URI", "\\.gif$", "gif"]),
        ]);
        let h = head("Mozilla/4.0 (compatible; MSIE 7.0)");
        let a: std::net::SocketAddr = "127.0.0.1:1".parse().unwrap();
        let conn = ConnInfo::new(a, a);
        let req = Request {
            head: &h,
            conn: &conn,
            uri: "/x.gif",
        };
        let mut o = Overlay::new();
        apply(&r, true, &req, None, &mut o);
        let s = specials(&o, None);
        assert!(!s.nokeepalive && s.downgrade_1_0 && s.force_response_1_0);
        assert_eq!(lookup(&o, None, "UA"), Some("Mozilla"));
        assert_eq!(lookup(&o, None, "ismoz"), Some("1"));
        assert_eq!(lookup(&o, None, "gif"), Some("1"));
        let mut o2 = Overlay::new();
        apply(&r, false, &req, None, &mut o2);
        assert!(o2.is_empty());
    }

    #[test]
    fn expr_rules_set_variables_with_their_backreferences() {
        let r = rules(&[
            (
                "SetEnvIfExpr",
                &["%{HTTP_USER_AGENT} =~ m#^(\\w+)/#", "agent=$1", "seen"],
            ),
            (
                "SetEnvIfExpr",
                &["-z %{HTTP_REFERER} && reqenv('seen') == '1'", "noref"],
            ),
            ("SetEnvIfExpr", &["%{REQUEST_URI} == '/other'", "other"]),
        ]);
        let h = head("Mozilla/5.0");
        let a: std::net::SocketAddr = "127.0.0.1:1".parse().unwrap();
        let conn = ConnInfo::new(a, a);
        let req = Request {
            head: &h,
            conn: &conn,
            uri: "/x.gif",
        };
        let mut o = Overlay::new();
        let base = DirConfig::default();
        apply(&r, true, &req, Some(&base), &mut o);
        assert_eq!(lookup(&o, None, "agent"), Some("Mozilla"));
        assert_eq!(lookup(&o, None, "noref"), Some("1"));
        assert_eq!(lookup(&o, None, "other"), None);
    }

    #[test]
    fn expr_syntax_errors_are_apaches() {
        let mut dir = crate::conf::setenvif::SetEnvIfDir::default();
        let d = Directive {
            name: "SetEnvIfExpr",
            args: vec!["1 -eq".into(), "x".into()],
            location: loc(),
        };
        let e = crate::conf::setenvif::directive(&mut dir, &d, true).unwrap_err();
        assert!(
            e.to_string()
                .contains("Could not parse expression \"1 -eq\": syntax error, unexpected $end"),
            "{e}"
        );
    }

    proptest::proptest! {
        #[test]
        fn substitute_never_panics(v in "[$\\\\0-9a]{0,10}", s in "[a-z]{0,5}") {
            let re = regex::Regex::new("(a)?(.*)").unwrap();
            let caps = re.captures(&s).unwrap();
            let _ = substitute(&v, &|n| caps.get(n).map(|m| m.as_str().to_string()));
        }
    }
}
