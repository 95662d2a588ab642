//! `<Limit METHOD ...>` and `<LimitExcept METHOD ...>` inside a per-directory section,
//! as core.c's `ap_limit_section` reads them: the access-control lines inside
//! (`Require` and `<RequireAll/Any/None>`, mod_access_compat's `Order`, `Allow`, `Deny`,
//! `Satisfy`) count for the section's methods only; every other directive inside
//! applies to all methods, as in Apache.

use rhttpd_config::{ConfigError, Node, Section};

use super::Builder;
use crate::conf::limit::{self, Methods};
use crate::conf::values::err;
use crate::conf::{DirConfig, RequireRule};

impl Builder {
    /// Read a `<Limit>`/`<LimitExcept>` met in a directory-level body into `dc` (and its
    /// `Require` lines into `require`, wrapped with the methods).
    pub(super) fn limit_section(
        &mut self,
        dc: &mut DirConfig,
        require: &mut Vec<RequireRule>,
        s: &Section,
        in_directory: bool,
    ) -> Result<(), ConfigError> {
        let except = s.name == "LimitExcept";
        let outer = self.limited.clone().unwrap_or_else(Methods::all);
        let methods =
            limit::parse(s.name, &s.args, except, &outer).map_err(|m| err(&s.location, m))?;
        for node in &s.children {
            // What Apache checks with NOT_IN_LIMIT.
            let refused = match node {
                Node::Directive(d) if d.name.starts_with("AllowOverride") => {
                    Some((&d.location, d.name.to_string()))
                }
                Node::Section(inner)
                    if !matches!(
                        inner.name,
                        "Limit" | "LimitExcept" | "RequireAll" | "RequireAny" | "RequireNone"
                    ) =>
                {
                    Some((&inner.location, format!("<{}>", inner.name)))
                }
                _ => None,
            };
            if let Some((at, what)) = refused {
                return Err(err(
                    at,
                    format!("{what} cannot occur within <Limit> or <LimitExcept> section"),
                ));
            }
        }
        let saved = self.limited.replace(methods.clone());
        let body = self.dir_section_body(&s.children, in_directory);
        self.limited = saved;
        let mut body = body?;
        if let Some(r) = body.require.take() {
            require.extend(
                r.rules
                    .into_iter()
                    .map(|rule| RequireRule::Limited(methods.clone(), Box::new(rule))),
            );
        }
        let compat = std::mem::take(&mut body.access_compat);
        dc.access_compat.add_limited(&methods, &compat);
        *dc = dc.merge(&body);
        Ok(())
    }
}
