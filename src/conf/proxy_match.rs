//! mod_proxy's directives beyond `ProxyPass`, typed into the host's [`ProxyConfig`]:
//! `ProxyPassMatch`, `ProxyPassReverseCookieDomain`, `ProxyPassReverseCookiePath`,
//! `ProxyErrorOverride`, `ProxyBadHeader`, `ProxyIOBufferSize`,
//! `ProxyReceiveBufferSize`.
//!
//! `ProxyPassMatch regex URL` joins the host's rule list in configuration order with
//! `ProxyPass` (first match wins). Inside `<LocationMatch regex>` (or `<Location path>`,
//! whose path is then the regex, as Apache compiles it) it takes the URL alone.

use std::sync::Arc;

use rhttpd_config::{ConfigError, Directive, Node};
use rhttpd_expr::Pcre;

use super::alias::UrlRegex;
use super::proxy::{ProxyConfig, parse_target};
use super::proxy_extra::{BadHeader, CookieMap, ProxyPattern, ProxySection};
use super::{PathPattern, SectionMatch, VirtualHost};

/// Directives this file gives a meaning to.
pub fn handles(name: &str) -> bool {
    matches!(
        name,
        "ProxyPassMatch"
            | "ProxyPassReverseCookieDomain"
            | "ProxyPassReverseCookiePath"
            | "ProxyErrorOverride"
            | "ProxyBadHeader"
            | "ProxyIOBufferSize"
            | "ProxyReceiveBufferSize"
            | "ProxySet"
    )
}

fn err(d: &Directive, msg: impl Into<String>) -> ConfigError {
    ConfigError::at(&d.location, msg)
}

/// One of [`handles`]'s directives; `section`: the regex (or path) of the enclosing
/// `<LocationMatch>`/`<Location>`, if any.
pub fn apply(
    pc: &mut ProxyConfig,
    d: &Directive,
    section: Option<&str>,
    warnings: &mut Vec<String>,
) -> Result<(), ConfigError> {
    let a0 = d.args.first().map(String::as_str).unwrap_or("");
    match d.name {
        "ProxyPassMatch" => {
            let (pattern, rest) = match section {
                Some(p) => {
                    if d.args.len() > 1 && !d.args[1].contains('=') && !is_flag(&d.args[1]) {
                        return Err(err(
                            d,
                            "ProxyPassMatch can not have a path when defined in a location",
                        ));
                    }
                    (p, &d.args[..])
                }
                None => {
                    if d.args.len() < 2 || d.args[1].contains('=') {
                        return Err(err(
                            d,
                            "ProxyPassMatch needs a path when not defined in a location",
                        ));
                    }
                    (a0, &d.args[1..])
                }
            };
            let regex = Pcre::new(pattern, false)
                .map(UrlRegex)
                .map_err(|_| err(d, "Regular expression could not be compiled."))?;
            let mut rule = parse_target(d, rest, warnings)?;
            if rule.balancer.is_some() {
                return Err(err(
                    d,
                    "ProxyPassMatch to a balancer:// is not supported by rhttpd (use ProxyPass)",
                ));
            }
            rule.path = pattern.to_string();
            rule.regex = Some(regex);
            pc.rules.push(rule);
        }
        "ProxyPassReverseCookieDomain" | "ProxyPassReverseCookiePath" => {
            let (Some(internal), Some(public)) = (d.args.first(), d.args.get(1)) else {
                return Err(err(d, format!("{} takes two arguments", d.name)));
            };
            if d.args.get(2).is_some_and(|a| a != "interpolate") {
                return Err(err(
                    d,
                    format!("{} takes two arguments (and 'interpolate')", d.name),
                ));
            }
            let m = CookieMap {
                internal: internal.clone(),
                public: public.clone(),
            };
            let x = Arc::make_mut(&mut pc.extra);
            if d.name == "ProxyPassReverseCookieDomain" {
                x.cookie_domains.push(m);
            } else {
                x.cookie_paths.push(m);
            }
        }
        "ProxyErrorOverride" => {
            let on = match a0.to_ascii_lowercase().as_str() {
                "on" => true,
                "off" => false,
                _ => return Err(err(d, "ProxyErrorOverride must be On|Off")),
            };
            let mut codes = Vec::new();
            for c in &d.args[1..] {
                match c.parse::<u16>() {
                    Ok(n) if (400..600).contains(&n) => codes.push(n),
                    _ => {
                        return Err(err(
                            d,
                            "ProxyErrorOverride: status codes to intercept must be valid HTTP Status Codes >=400 && <600",
                        ));
                    }
                }
            }
            if !on && !codes.is_empty() {
                return Err(err(
                    d,
                    "ProxyErrorOverride: status codes may only be given with On",
                ));
            }
            Arc::make_mut(&mut pc.extra).error_override = on.then_some(codes);
        }
        "ProxyBadHeader" => {
            Arc::make_mut(&mut pc.extra).bad_header = match a0.to_ascii_lowercase().as_str() {
                "iserror" => BadHeader::IsError,
                "ignore" => BadHeader::Ignore,
                "startbody" => BadHeader::StartBody,
                _ => {
                    return Err(err(
                        d,
                        "ProxyBadHeader must be one of: IsError | Ignore | StartBody",
                    ));
                }
            }
        }
        "ProxyIOBufferSize" => {
            let n: usize = a0
                .parse()
                .map_err(|_| err(d, "ProxyIOBufferSize must be a positive integer"))?;
            // Apache: at least 512 bytes.
            Arc::make_mut(&mut pc.extra).io_buffer = Some(n.clamp(512, 1 << 20));
        }
        "ProxyReceiveBufferSize" => {
            let n: usize = a0
                .parse()
                .map_err(|_| err(d, "ProxyReceiveBufferSize must be a positive integer"))?;
            if n != 0 && n < 512 {
                return Err(err(
                    d,
                    "ProxyReceiveBufferSize must be >= 512 bytes, or 0 for system default.",
                ));
            }
            Arc::make_mut(&mut pc.extra).receive_buffer = (n > 0).then_some(n);
        }
        // At server or virtual-host level: `ProxySet URL key=value ...`.
        "ProxySet" => {
            if d.args.len() < 2 || a0.contains('=') {
                // Apache's words for a ProxySet without a worker URL.
                return Err(err(d, format!("ProxySet can not find '{a0}' Worker.")));
            }
            let params = d.args[1..].to_vec();
            // Checked now, so that a bad parameter is an error at its line.
            let mut probe = super::proxy::Backend::parse("http://x/").map_err(|m| err(d, m))?;
            probe
                .apply_params(&params)
                .map_err(|m| err(d, format!("ProxySet: {m}")))?;
            Arc::make_mut(&mut pc.extra).sections.push(ProxySection {
                pattern: ProxyPattern::Prefix(a0.to_string()),
                text: a0.to_string(),
                config: None,
                set: params,
            });
        }
        _ => return Err(err(d, format!("{} not allowed here", d.name))),
    }
    Ok(())
}

/// One of [`handles`]'s directives at server or virtual-host level.
pub fn host_directive(
    host: &mut VirtualHost,
    d: &Directive,
    warnings: &mut Vec<String>,
) -> Result<(), ConfigError> {
    apply(Arc::make_mut(&mut host.proxy), d, None, warnings)
}

/// [`handles`]'s directives inside a per-directory section (skipped by the section's
/// own body): `ProxyPassMatch URL` takes the regex of a `<LocationMatch>` (or the path
/// of a `<Location>`, compiled as a regex as Apache does); the others apply to the
/// whole host.
pub fn section_hook(
    host: &mut VirtualHost,
    matcher: &SectionMatch,
    children: &[Node],
    warnings: &mut Vec<String>,
) -> Result<(), ConfigError> {
    for node in children {
        let Node::Directive(d) = node else { continue };
        if !handles(d.name) {
            continue;
        }
        let section = match (d.name, matcher) {
            ("ProxyPassMatch", SectionMatch::Location(PathPattern::Wildcard(p))) => {
                Some(p.as_str())
            }
            ("ProxyPassMatch", SectionMatch::Location(PathPattern::Regex(re))) => Some(re.as_str()),
            ("ProxyPassMatch", _) => {
                return Err(err(
                    d,
                    "ProxyPassMatch cannot occur within <Directory>/<Files> section",
                ));
            }
            _ => None,
        };
        apply(Arc::make_mut(&mut host.proxy), d, section, warnings)?;
    }
    Ok(())
}

fn is_flag(a: &str) -> bool {
    matches!(
        a.to_ascii_lowercase().as_str(),
        "nocanon" | "noquery" | "interpolate"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rhttpd_config::Location;

    fn directive(name: &'static str, args: &[&str]) -> Directive {
        Directive {
            name,
            args: args.iter().map(|s| s.to_string()).collect(),
            location: Location::new("t.conf", 1),
        }
    }

    fn run(
        name: &'static str,
        args: &[&str],
        section: Option<&str>,
    ) -> Result<ProxyConfig, String> {
        let mut pc = ProxyConfig::default();
        let mut w = Vec::new();
        apply(&mut pc, &directive(name, args), section, &mut w)
            .map(|_| pc)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn proxy_pass_match_rules() {
        let pc = run(
            "ProxyPassMatch",
            &["^/(.*)\\.gif$", "http://b:81/img/$1"],
            None,
        )
        .unwrap();
        let r = &pc.rules[0];
        assert!(r.regex.is_some());
        assert!(pc.find("/a/b.gif").is_some());
        assert!(pc.find("/a/b.png").is_none());
        assert_eq!(r.backend.as_ref().unwrap().key(), "b:81");
        let pc = run("ProxyPassMatch", &["^/x", "!"], None).unwrap();
        assert!(pc.rules[0].backend.is_none());
        let pc = run(
            "ProxyPassMatch",
            &["http://b/$1", "max=2"],
            Some("^/z/(\\d+)"),
        )
        .unwrap();
        assert_eq!(pc.rules[0].backend.as_ref().unwrap().params.max, Some(2));
        assert!(run("ProxyPassMatch", &["http://b/"], None).is_err());
        assert!(
            run("ProxyPassMatch", &["^/(", "http://b/"], None)
                .unwrap_err()
                .contains("Regular expression could not be compiled")
        );
        assert!(run("ProxyPassMatch", &["^/a", "ftp://b/"], None).is_err());
        assert!(run("ProxyPassMatch", &["^/a", "http://b/", "bogus=1"], None).is_err());
        assert!(run("ProxyPassMatch", &["/x", "http://b/"], Some("^/y")).is_err());
    }

    #[test]
    fn other_directives() {
        let pc = run("ProxyErrorOverride", &["On", "404", "502"], None).unwrap();
        assert_eq!(pc.extra.error_override, Some(vec![404, 502]));
        assert_eq!(
            run("ProxyErrorOverride", &["On"], None)
                .unwrap()
                .extra
                .error_override,
            Some(vec![])
        );
        assert!(run("ProxyErrorOverride", &["On", "200"], None).is_err());
        assert!(run("ProxyErrorOverride", &["Maybe"], None).is_err());
        assert!(run("ProxyErrorOverride", &["Off", "404"], None).is_err());
        assert_eq!(
            run("ProxyBadHeader", &["startbody"], None)
                .unwrap()
                .extra
                .bad_header,
            BadHeader::StartBody
        );
        assert!(run("ProxyBadHeader", &["sometimes"], None).is_err());
        assert_eq!(
            run("ProxyIOBufferSize", &["100"], None)
                .unwrap()
                .extra
                .io_buffer,
            Some(512)
        );
        assert!(run("ProxyIOBufferSize", &["big"], None).is_err());
        assert!(run("ProxyReceiveBufferSize", &["100"], None).is_err());
        let pc = run(
            "ProxyPassReverseCookieDomain",
            &["in.example", "out.example"],
            None,
        )
        .unwrap();
        assert_eq!(pc.extra.cookie_domains[0].public, "out.example");
        assert!(run("ProxyPassReverseCookiePath", &["/a"], None).is_err());
        assert!(run("ProxyPassReverseCookiePath", &["/a", "/b", "x"], None).is_err());
    }
}
