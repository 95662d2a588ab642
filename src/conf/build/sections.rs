//! `<Directory>`, `<Location>` and `<Files>` sections (and their `Match` forms): what
//! they match and the per-directory configuration of their bodies.

use rhttpd_config::{ConfigError, Node, Section};

use super::Builder;
use crate::conf::require::{missing_provider, require_container, require_rule};
use crate::conf::values::{err, parse_section_redirect};
use crate::conf::{DirConfig, DirSection, PathPattern, Require, SectionMatch, VirtualHost};

impl Builder {
    pub(super) fn section(
        &mut self,
        host: &mut VirtualHost,
        s: &Section,
    ) -> Result<(), ConfigError> {
        let arg = |i: usize| s.args.get(i).map(String::as_str).unwrap_or("");
        let regex = |pat: &str| {
            regex::Regex::new(pat)
                .map(PathPattern::Regex)
                .map_err(|e| err(&s.location, format!("Regex could not be compiled: {e}")))
        };
        let (matcher, tilde) = match s.name {
            "Directory" | "DirectoryMatch" => {
                let tilde = arg(0) == "~";
                let pat = if s.name == "DirectoryMatch" || tilde {
                    regex(if tilde { arg(1) } else { arg(0) })?
                } else {
                    let p = self.path(arg(0));
                    let mut t = p.to_string_lossy().into_owned();
                    while t.len() > 1 && t.ends_with('/') {
                        t.pop();
                    }
                    PathPattern::Wildcard(t)
                };
                (SectionMatch::Directory(pat), tilde)
            }
            "Location" | "LocationMatch" => {
                let tilde = arg(0) == "~";
                let pat = if s.name == "LocationMatch" || tilde {
                    regex(if tilde { arg(1) } else { arg(0) })?
                } else {
                    PathPattern::Wildcard(arg(0).to_string())
                };
                (SectionMatch::Location(pat), tilde)
            }
            "Files" | "FilesMatch" => {
                let tilde = arg(0) == "~";
                let pat = if s.name == "FilesMatch" || tilde {
                    regex(if tilde { arg(1) } else { arg(0) })?
                } else {
                    PathPattern::Wildcard(arg(0).to_string())
                };
                (SectionMatch::Files(pat), tilde)
            }
            "VirtualHost" => {
                return Err(err(
                    &s.location,
                    "<VirtualHost> cannot occur within <VirtualHost> section",
                ));
            }
            // The parser's context check refuses these outside directory sections.
            "Limit" | "LimitExcept" => {
                return Err(err(&s.location, format!("<{} not allowed here", s.name)));
            }
            "AuthnProviderAlias" => return self.authn_provider_alias(s),
            // `<Proxy balancer://name>` defines a balancer (conf/balancer); any other URL
            // or pattern is a section for matching proxied requests (proxy_sections.rs).
            "Proxy"
                if s.args
                    .first()
                    .is_some_and(|u| crate::conf::balancer::split_url(u).is_some()) =>
            {
                let loaded = self.cfg.loaded_modules.clone();
                return crate::conf::balancer::proxy_section(host, s, &loaded);
            }
            "Proxy" | "ProxyMatch" => return self.proxy_section(host, s),
            "If" | "ElseIf" | "Else" => {
                let mut ifs = std::mem::take(&mut host.base_dir.ifs);
                let r = self.if_section(&mut ifs, s);
                host.base_dir.ifs = ifs;
                return r;
            }
            other => {
                return Err(err(&s.location, format!("<{other}> is not allowed here")));
            }
        };
        if s.args.is_empty() || (tilde && s.args.len() < 2) {
            return Err(err(
                &s.location,
                format!("<{}> directive requires additional arguments", s.name),
            ));
        }
        let plain_directory = matches!(matcher, SectionMatch::Directory(PathPattern::Wildcard(_)));
        let mut config = self.dir_section_body(&s.children, plain_directory)?;
        // mod_rewrite strips and re-injects the directory of a <Directory> section.
        if let SectionMatch::Directory(PathPattern::Wildcard(dir)) = &matcher {
            config.rewrite.directory = Some(dir.clone());
        }
        if config.rewrite.dangling_conds() {
            let note = crate::conf::rewrite::dangling_warning(&format!(
                "the <{}> at line {} of {}",
                s.name,
                s.location.line,
                s.location.file.display()
            ));
            self.cfg.warnings.push(note);
        }
        config.alias = crate::conf::alias::section_alias(s, &|p| self.path(p))?;
        // <Files> nested inside <Directory> become their own sections after it (Apache
        // merges them in the Files phase, which runs after every Directory section).
        let mut nested = Vec::new();
        for child in &s.children {
            if let Node::Section(inner) = child
                && (inner.name == "Files" || inner.name == "FilesMatch")
            {
                nested.push(inner);
            }
        }
        super::proxy::section_hook(host, &matcher, &s.children, &mut self.cfg.warnings)?;
        crate::conf::proxy_match::section_hook(
            host,
            &matcher,
            &s.children,
            &mut self.cfg.warnings,
        )?;
        host.sections.push(DirSection {
            matcher,
            config,
            location: s.location.clone(),
        });
        for inner in nested {
            self.section(host, inner)?;
        }
        Ok(())
    }

    /// `<If>`, `<ElseIf>` or `<Else>` in a scope whose chains are `chains`.
    fn if_section(
        &mut self,
        chains: &mut Vec<std::sync::Arc<crate::conf::conditional::IfChain>>,
        s: &Section,
    ) -> Result<(), ConfigError> {
        use crate::conf::conditional::{add_branch, condition};
        let cond = condition(s)?;
        for child in &s.children {
            if let Node::Section(inner) = child
                && matches!(inner.name, "Files" | "FilesMatch")
            {
                return Err(err(
                    &inner.location,
                    format!("<{}> cannot occur within <{}> section", inner.name, s.name),
                ));
            }
        }
        let body = self.dir_section_body(&s.children, false)?;
        add_branch(chains, s, cond, body)
    }

    /// `<AuthnProviderAlias file NAME>` holding the `AuthUserFile` the alias stands for.
    fn authn_provider_alias(&mut self, s: &Section) -> Result<(), ConfigError> {
        let (Some(base), Some(name)) = (s.args.first(), s.args.get(1)) else {
            return Err(err(
                &s.location,
                "<AuthnProviderAlias> takes two arguments, a provider name and an alias name",
            ));
        };
        if !base.eq_ignore_ascii_case("file") {
            return Err(err(
                &s.location,
                format!("Unknown Authn provider: {base} (rhttpd has the file provider)"),
            ));
        }
        let mut file = None;
        for node in &s.children {
            match node {
                Node::Directive(d) if d.name == "AuthUserFile" => {
                    file = Some(self.path(&d.args[0]));
                }
                Node::Directive(d) => {
                    return Err(err(&d.location, format!("{} not allowed here", d.name)));
                }
                Node::Section(inner) => {
                    return Err(err(
                        &inner.location,
                        format!("<{}> not allowed here", inner.name),
                    ));
                }
            }
        }
        let Some(file) = file else {
            return Err(err(
                &s.location,
                format!("<AuthnProviderAlias {base} {name}> needs an AuthUserFile"),
            ));
        };
        self.cfg
            .authn_aliases
            .insert(name.to_ascii_lowercase(), file);
        Ok(())
    }

    /// Apache's error for a `Require` provider whose module is not loaded.
    fn provider_loaded(
        &self,
        rule: &crate::conf::RequireRule,
        at: &rhttpd_config::Location,
    ) -> Result<(), ConfigError> {
        match missing_provider(rule, &self.cfg.loaded_modules) {
            None => Ok(()),
            Some((provider, module)) => Err(err(
                at,
                format!("Unknown Authz provider: {provider} (LoadModule {module} provides it)"),
            )),
        }
    }

    /// The directives inside a per-directory section.
    pub(super) fn dir_section_body(
        &mut self,
        nodes: &[Node],
        in_directory: bool,
    ) -> Result<DirConfig, ConfigError> {
        let mut dc = DirConfig::default();
        let mut require = Vec::new();
        for node in nodes {
            match node {
                Node::Directive(d) if d.name == "Require" => {
                    let rule = require_rule(d)?;
                    self.provider_loaded(&rule, &d.location)?;
                    require.push(rule);
                }
                Node::Directive(d)
                    if d.name == "AllowOverride" || d.name == "AllowOverrideList" =>
                {
                    if !in_directory {
                        // Apache's set_override: only a non-regex <Directory> reads
                        // .htaccess files, elsewhere the line is useless.
                        let note = format!(
                            "AH00114: Useless use of {} line {} of {}.",
                            d.name,
                            d.location.line,
                            d.location.file.display()
                        );
                        self.cfg.warnings.push(note);
                        continue;
                    }
                    let mut o = dc.allow_override.clone().unwrap_or_default();
                    if d.name == "AllowOverride" {
                        crate::conf::overrides::allow_override(d, &mut o)?;
                        dc.allow_override = Some(o);
                    } else {
                        crate::conf::overrides::allow_override_list(d, &mut o);
                        dc.allow_override_list = Some(o.list);
                    }
                }
                Node::Directive(d)
                    if super::proxy::handles(d.name)
                        || crate::conf::proxy_match::handles(d.name) => {}
                Node::Directive(d) if crate::conf::balancer::handles(d.name) => {
                    return Err(crate::conf::balancer::in_directory(d));
                }
                Node::Directive(d)
                    if matches!(d.name, "Redirect" | "RedirectPermanent" | "RedirectTemp") =>
                {
                    match parse_section_redirect(d)? {
                        Ok(r) => dc.redirects.push(r),
                        Err(one) => dc.redirect = Some(one),
                    }
                }
                Node::Directive(d) if d.name == "RedirectMatch" => {
                    dc.redirects
                        .push(crate::conf::alias::parse_redirect_match(d)?);
                }
                // The one-argument form, read (and checked) by `section` with the
                // section's kind at hand.
                Node::Directive(d) if matches!(d.name, "Alias" | "ScriptAlias") => {}
                Node::Directive(d) if matches!(d.name, "Header" | "RequestHeader") => {
                    crate::conf::headers::directive(&mut dc.headers, d, true)?
                }
                Node::Directive(d)
                    if matches!(
                        d.name,
                        "SetEnvIf"
                            | "SetEnvIfNoCase"
                            | "BrowserMatch"
                            | "BrowserMatchNoCase"
                            | "SetEnvIfExpr"
                    ) =>
                {
                    crate::conf::setenvif::directive(&mut dc.setenvif, d, false)?
                }
                Node::Directive(d) => {
                    if !self.dir_directive(&mut dc, d)? {
                        return Err(err(&d.location, format!("{} not allowed here", d.name)));
                    }
                }
                Node::Section(s)
                    if matches!(s.name, "RequireAll" | "RequireAny" | "RequireNone") =>
                {
                    let rule = require_container(s)?;
                    self.provider_loaded(&rule, &s.location)?;
                    require.push(rule);
                }
                Node::Section(s) if s.name == "Files" || s.name == "FilesMatch" => {}
                Node::Section(s) if matches!(s.name, "If" | "ElseIf" | "Else") => {
                    self.if_section(&mut dc.ifs, s)?
                }
                Node::Section(s) if s.name == "Limit" || s.name == "LimitExcept" => {
                    self.limit_section(&mut dc, &mut require, s, in_directory)?;
                }
                Node::Section(s) => {
                    return Err(err(
                        &s.location,
                        format!(
                            "<{}> cannot occur within <Directory/Location/Files> section",
                            s.name
                        ),
                    ));
                }
            }
        }
        if !require.is_empty() {
            dc.require = Some(Require { rules: require });
        }
        Ok(dc)
    }
}
