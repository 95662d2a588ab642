//! `<Proxy URL>` and `<ProxyMatch regex>` (see `conf/proxy_sections.rs`): their
//! `ProxySet` lines, and their other directives read as a per-directory body.

use std::sync::Arc;

use rhttpd_config::{ConfigError, Node, Section};
use rhttpd_expr::Pcre;

use super::Builder;
use crate::conf::VirtualHost;
use crate::conf::alias::UrlRegex;
use crate::conf::proxy::Backend;
use crate::conf::proxy_extra::{ProxyPattern, ProxySection};
use crate::conf::values::err;

impl Builder {
    pub(super) fn proxy_section(
        &mut self,
        host: &mut VirtualHost,
        s: &Section,
    ) -> Result<(), ConfigError> {
        let arg = s.args.first().map(String::as_str).unwrap_or("");
        if arg.is_empty() {
            return Err(err(
                &s.location,
                format!("<{}> directive requires additional arguments", s.name),
            ));
        }
        let tilde = arg == "~";
        let pattern = if s.name == "ProxyMatch" || tilde {
            let re = if tilde {
                s.args.get(1).map(String::as_str).unwrap_or("")
            } else {
                arg
            };
            ProxyPattern::Regex(
                Pcre::new(re, false)
                    .map(UrlRegex)
                    .map_err(|_| err(&s.location, "Regex could not be compiled"))?,
            )
        } else {
            ProxyPattern::proxy(arg)
        };
        // `<Proxy "fcgi://localhost/" enablereuse=on max=10>`: worker parameters after the
        // URL, as ProxySet inside (mod_proxy_fcgi's documented form).
        let mut set = Vec::new();
        let params = &s.args[if tilde { 2 } else { 1 }.min(s.args.len())..];
        if !params.is_empty() {
            let mut probe = Backend::parse("http://x/").map_err(|m| err(&s.location, m))?;
            probe
                .apply_params(params)
                .map_err(|m| err(&s.location, format!("<{}>: {m}", s.name)))?;
            set.extend(params.iter().cloned());
        }
        let mut body = Vec::new();
        for node in &s.children {
            match node {
                Node::Directive(d) if d.name == "ProxySet" => {
                    // Checked now, so that a bad parameter is an error at its line.
                    let mut probe = Backend::parse("http://x/").map_err(|m| err(&d.location, m))?;
                    probe
                        .apply_params(&d.args)
                        .map_err(|m| err(&d.location, format!("ProxySet: {m}")))?;
                    set.extend(d.args.iter().cloned());
                }
                Node::Directive(d)
                    if crate::conf::proxy::handles(d.name)
                        || crate::conf::proxy_match::handles(d.name) =>
                {
                    return Err(err(
                        &d.location,
                        format!("{} inside <{}> is not supported by rhttpd", d.name, s.name),
                    ));
                }
                other => body.push(other.clone()),
            }
        }
        let config = if body.is_empty() {
            None
        } else {
            Some(Arc::new(self.dir_section_body(&body, false)?))
        };
        Arc::make_mut(&mut Arc::make_mut(&mut host.proxy).extra)
            .sections
            .push(ProxySection {
                pattern,
                text: s.args.join(" "),
                config,
                set,
            });
        Ok(())
    }
}
