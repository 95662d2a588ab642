//! mod_alias's translate-name step (`translate_alias_redir`): first the redirects — the
//! one-argument `Redirect` of the `<Location>` sections the URL matches, then the
//! server's `Redirect*`/`RedirectMatch` lines in configuration order — then the
//! aliases — the one-argument `Alias`/`ScriptAlias` of those `<Location>` sections,
//! then `Alias`/`ScriptAlias`/`AliasMatch`/`ScriptAliasMatch` in configuration order.
//! The first match wins. Also the redirect answer shared with the fixup-time
//! (per-directory) redirects.

use std::path::PathBuf;

use rhttpd_http::{RequestHead, StatusCode};

use crate::conf::alias::{LocationAlias, first_redirect};
use crate::conf::{SectionMatch, SectionRedirect, VirtualHost};
use crate::handler::{ConnInfo, Response, absolute_url};
use crate::log::Level;

use super::mapping::pattern_matches;

/// What the `<Location>` sections matching `uri_path` say to mod_alias at translate
/// time (Apache walks the locations before translating): their one-argument Redirect
/// and Alias, the last section setting each winning as in mod_alias's merge.
fn location_forms<'a>(
    host: &'a VirtualHost,
    uri_path: &str,
) -> (Option<&'a SectionRedirect>, Option<&'a LocationAlias>) {
    let (mut redirect, mut alias) = (None, None);
    for s in &host.sections {
        let SectionMatch::Location(p) = &s.matcher else {
            continue;
        };
        if (s.config.redirect.is_none() && s.config.alias.is_none())
            || !pattern_matches(p, uri_path, true)
        {
            continue;
        }
        redirect = s.config.redirect.as_ref().or(redirect);
        alias = s.config.alias.as_ref().or(alias);
    }
    (redirect, alias)
}

/// The redirect mod_alias answers at translate time, if any, as (status, target), the
/// request's query appended to the target unless it has its own.
pub(super) fn translate_redirect(
    host: &VirtualHost,
    uri_path: &str,
    query: Option<&str>,
) -> Option<(u16, Option<String>)> {
    let (status, target) = match location_forms(host, uri_path).0 {
        Some(r) => (r.status, r.target.clone()),
        None => first_redirect(&host.redirects, uri_path)?,
    };
    let target = target.map(|mut t| {
        if let Some(q) = query
            && !t.contains('?')
        {
            t.push('?');
            t.push_str(q);
        }
        t
    });
    Some((status, target))
}

/// The answer to a mod_alias redirect: a 3xx with `Location` (a local path made
/// absolute, as `ap_construct_url`), or the bare status (`gone`, 403 ...).
pub(super) fn redirect_response(
    cfg: &crate::conf::ServerConfig,
    host: &VirtualHost,
    conn: &ConnInfo,
    head: &RequestHead,
    status: u16,
    target: Option<String>,
) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match target {
        Some(t) if (300..400).contains(&status) => {
            if t.starts_with('/') {
                Response::redirect(code, &absolute_url(cfg, host, conn, head, &t))
            } else {
                Response::redirect(code, &t)
            }
        }
        _ => Response::error(code),
    }
}

/// A URL prefix match on path-segment boundaries: the rest of the path.
fn prefix_rest<'a>(prefix: &str, path: &'a str) -> Option<&'a str> {
    let rest = path.strip_prefix(prefix)?;
    (prefix.ends_with('/') || rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

/// The alias mapping of `uri_path`, if one applies: (file, URL prefix replaced, alias
/// handler). The URL prefix is empty for the forms that replace the whole URL
/// (`AliasMatch`, a `<Location>`'s one-argument Alias), which set no context prefix.
pub(super) fn translate_alias(
    host: &VirtualHost,
    uri_path: &str,
) -> Option<(PathBuf, String, Option<String>)> {
    if let Some(a) = location_forms(host, uri_path).1 {
        return Some((a.path.clone(), String::new(), a.handler.clone()));
    }
    for a in &host.aliases {
        if let Some(re) = &a.regex {
            let template = a.path.to_string_lossy();
            match re.replace(uri_path, &template) {
                None => continue,
                Some(Some(found)) => {
                    return Some((PathBuf::from(found), String::new(), a.handler.clone()));
                }
                Some(None) => {
                    crate::log::log(
                        "alias",
                        Level::Error,
                        None,
                        &format!(
                            "AH00672: Regex substitution in '{template}' failed. Replacement too long?"
                        ),
                    );
                    continue;
                }
            }
        }
        if let Some(rest) = prefix_rest(&a.url, uri_path) {
            let mut p = a.path.to_string_lossy().into_owned();
            if !rest.is_empty() && !p.ends_with('/') && !rest.starts_with('/') {
                p.push('/');
            }
            p.push_str(rest);
            return Some((PathBuf::from(p), a.url.clone(), a.handler.clone()));
        }
    }
    None
}

/// The directory below which symbolic links are checked for an aliased URL: the
/// alias's directory; for `AliasMatch`, the literal part of its target before the first
/// `$`; for a `<Location>`'s one-argument Alias, its parent.
pub(super) fn alias_root(host: &VirtualHost, uri_path: &str) -> Option<PathBuf> {
    if let Some(a) = location_forms(host, uri_path).1 {
        return Some(a.path.parent().unwrap_or(&a.path).to_path_buf());
    }
    for a in &host.aliases {
        match &a.regex {
            Some(re) if re.0.is_match(uri_path) => {
                let t = a.path.to_string_lossy();
                let literal = &t[..t.find('$').unwrap_or(t.len())];
                let dir = &literal[..literal.rfind('/').unwrap_or(0)];
                return Some(PathBuf::from(if dir.is_empty() { "/" } else { dir }));
            }
            Some(_) => {}
            None if prefix_rest(&a.url, uri_path).is_some() => return Some(a.path.clone()),
            None => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conf::alias::{parse_alias_match, parse_redirect_match};
    use crate::conf::{Alias, DirConfig, PathPattern, Redirect};
    use rhttpd_config::{Directive, Location};
    use std::path::Path;

    /// A plain-prefix `<Location>` section with `config`.
    fn location(host: &mut VirtualHost, prefix: &str, config: DirConfig) {
        host.sections.push(crate::conf::DirSection {
            matcher: SectionMatch::Location(PathPattern::Wildcard(prefix.to_string())),
            config,
            location: Location::new("t.conf", 1),
        });
    }

    fn d(name: &'static str, args: &[&str]) -> Directive {
        Directive {
            name,
            args: args.iter().map(|s| s.to_string()).collect(),
            location: Location::new("t.conf", 1),
        }
    }

    fn host() -> VirtualHost {
        let mut h = VirtualHost::default();
        h.aliases.push(Alias {
            url: "/icons".into(),
            path: "/usr/share/icons".into(),
            handler: None,
            regex: None,
        });
        h.aliases.push(
            parse_alias_match(
                &d(
                    "ScriptAliasMatch",
                    &["^/cgi/([a-z]+)\\.cgi(.*)$", "/srv/cgi/$1.sh$2"],
                ),
                Path::new("/"),
            )
            .unwrap(),
        );
        h.aliases.push(
            parse_alias_match(
                &d("AliasMatch", &["^/icons-(.*)", "/never/$1"]),
                Path::new("/"),
            )
            .unwrap(),
        );
        h.redirects.push(Redirect {
            status: 301,
            url: "/moved".into(),
            target: Some("http://h/m".into()),
            regex: None,
        });
        h.redirects
            .push(parse_redirect_match(&d("RedirectMatch", &["^/moved/(.*)$", "/never"])).unwrap());
        h.redirects
            .push(parse_redirect_match(&d("RedirectMatch", &["(.*)\\.gif$", "$1.png"])).unwrap());
        h
    }

    #[test]
    fn prefix_matching_respects_segments() {
        assert_eq!(prefix_rest("/foo", "/foo"), Some(""));
        assert_eq!(prefix_rest("/foo", "/foo/x"), Some("/x"));
        assert_eq!(prefix_rest("/foo", "/foobar"), None);
        assert_eq!(prefix_rest("/foo/", "/foo"), None);
        assert_eq!(prefix_rest("/foo/", "/foo/x"), Some("x"));
    }

    #[test]
    fn aliases_in_configuration_order_first_match_wins() {
        let h = host();
        assert_eq!(
            translate_alias(&h, "/icons/a.png"),
            Some(("/usr/share/icons/a.png".into(), "/icons".into(), None))
        );
        assert_eq!(
            translate_alias(&h, "/cgi/test.cgi/x/y"),
            Some((
                "/srv/cgi/test.sh/x/y".into(),
                String::new(),
                Some("cgi-script".into())
            ))
        );
        assert_eq!(
            translate_alias(&h, "/icons-x"),
            Some(("/never/x".into(), String::new(), None))
        );
        assert_eq!(translate_alias(&h, "/other"), None);
        assert_eq!(alias_root(&h, "/cgi/a.cgi"), Some("/srv/cgi".into()));
        assert_eq!(alias_root(&h, "/icons/x"), Some("/usr/share/icons".into()));
    }

    #[test]
    fn redirects_before_aliases_and_location_forms_first() {
        let mut h = host();
        assert_eq!(
            translate_redirect(&h, "/moved/x", Some("a=1")),
            Some((301, Some("http://h/m/x?a=1".into())))
        );
        assert_eq!(
            translate_redirect(&h, "/img/a.gif", None),
            Some((302, Some("/img/a.png".into())))
        );
        let one = DirConfig {
            redirect: Some(SectionRedirect {
                status: 410,
                target: None,
            }),
            ..DirConfig::default()
        };
        location(&mut h, "/moved", one);
        assert_eq!(translate_redirect(&h, "/moved/x", None), Some((410, None)));
        let al = DirConfig {
            alias: Some(LocationAlias {
                path: "/srv/one/file.html".into(),
                handler: None,
            }),
            ..DirConfig::default()
        };
        location(&mut h, "/icons", al);
        assert_eq!(
            translate_alias(&h, "/icons/deep/x"),
            Some(("/srv/one/file.html".into(), String::new(), None))
        );
        assert_eq!(alias_root(&h, "/icons"), Some("/srv/one".into()));
    }
}
