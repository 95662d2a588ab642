//! mod_access_compat: Apache 2.2's host-based access control (`Order`, `Allow from`,
//! `Deny from`, `Satisfy`), kept by Apache 2.4 for old configurations. Evaluated in
//! `authz::compat_access` before the `Require` lines.

use std::net::IpAddr;

use rhttpd_config::{ConfigError, Directive};

use super::limit::Methods;
use super::values::err;

/// `Order`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Order {
    /// Allowed unless a Deny matches and no Allow does (the default).
    #[default]
    DenyAllow,
    /// Denied unless an Allow matches and no Deny does.
    AllowDeny,
    /// Allowed only when an Allow matches and no Deny does.
    MutualFailure,
}

/// One argument of `Allow from` / `Deny from`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host {
    All,
    /// `env=VAR` / `env=!VAR`.
    Env {
        name: String,
        negate: bool,
    },
    Net(IpAddr, u8),
    /// A host name or domain suffix, matched against the client's double-reverse name.
    Name(String),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccessCompat {
    pub order: Option<Order>,
    pub allow: Vec<Host>,
    pub deny: Vec<Host>,
    /// `Satisfy Any` (true) / `All`.
    pub satisfy_any: Option<bool>,
    /// The lines written inside `<Limit>`/`<LimitExcept>`: each counts only for its
    /// methods (and, for Order and Satisfy, over the unlimited value).
    pub limited: Limited,
}

/// Order/Allow/Deny/Satisfy lines of `<Limit>` sections, in configuration order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Limited {
    pub order: Vec<(Methods, Order)>,
    pub allow: Vec<(Methods, Host)>,
    pub deny: Vec<(Methods, Host)>,
    pub satisfy_any: Vec<(Methods, bool)>,
}

impl Limited {
    fn is_empty(&self) -> bool {
        self.order.is_empty()
            && self.allow.is_empty()
            && self.deny.is_empty()
            && self.satisfy_any.is_empty()
    }
}

impl AccessCompat {
    /// The more specific section's lists replace the inherited ones when it has any, as
    /// mod_access_compat merges them; its Order and Satisfy apply over the inherited
    /// ones method by method.
    pub fn merge(&self, more: &AccessCompat) -> AccessCompat {
        let more_allows = !more.allow.is_empty() || !more.limited.allow.is_empty();
        let more_denies = !more.deny.is_empty() || !more.limited.deny.is_empty();
        let (allow, limited_allow) = if more_allows {
            (more.allow.clone(), more.limited.allow.clone())
        } else {
            (self.allow.clone(), self.limited.allow.clone())
        };
        let (deny, limited_deny) = if more_denies {
            (more.deny.clone(), more.limited.deny.clone())
        } else {
            (self.deny.clone(), self.limited.deny.clone())
        };
        // An unlimited Order (Satisfy) in `more` sets every method: the inherited
        // limited ones go.
        let over = |base: &[(Methods, Order)], own: &[(Methods, Order)], reset: bool| {
            let mut v = if reset { Vec::new() } else { base.to_vec() };
            v.extend(own.iter().cloned());
            v
        };
        let mut satisfy = if more.satisfy_any.is_some() {
            Vec::new()
        } else {
            self.limited.satisfy_any.clone()
        };
        satisfy.extend(more.limited.satisfy_any.iter().cloned());
        AccessCompat {
            order: more.order.or(self.order),
            allow,
            deny,
            satisfy_any: more.satisfy_any.or(self.satisfy_any),
            limited: Limited {
                order: over(
                    &self.limited.order,
                    &more.limited.order,
                    more.order.is_some(),
                ),
                allow: limited_allow,
                deny: limited_deny,
                satisfy_any: satisfy,
            },
        }
    }

    /// Whether any Order/Allow/Deny applies (else the module grants).
    pub fn configured(&self) -> bool {
        self.order.is_some() || !self.allow.is_empty() || !self.deny.is_empty()
    }

    /// What applies to a request with `method`: the unlimited lines plus those of the
    /// `<Limit>` sections covering it.
    pub fn for_method(&self, method: &str) -> std::borrow::Cow<'_, AccessCompat> {
        use std::borrow::Cow;
        if self.limited.is_empty() {
            return Cow::Borrowed(self);
        }
        let mut a = AccessCompat {
            limited: Limited::default(),
            ..self.clone()
        };
        let l = &self.limited;
        for (m, o) in &l.order {
            if m.contains(method) {
                a.order = Some(*o);
            }
        }
        for (m, s) in &l.satisfy_any {
            if m.contains(method) {
                a.satisfy_any = Some(*s);
            }
        }
        let hosts = |v: &[(Methods, Host)]| {
            v.iter()
                .filter(|(m, _)| m.contains(method))
                .map(|(_, h)| h.clone())
                .collect::<Vec<_>>()
        };
        a.allow.extend(hosts(&l.allow));
        a.deny.extend(hosts(&l.deny));
        Cow::Owned(a)
    }

    /// Fold the lines of a `<Limit>` body (`inner`, parsed on its own) in, for `methods`.
    pub fn add_limited(&mut self, methods: &Methods, inner: &AccessCompat) {
        let l = &mut self.limited;
        if let Some(o) = inner.order {
            l.order.push((methods.clone(), o));
        }
        for (m, o) in &inner.limited.order {
            l.order.push((methods.intersect(m), *o));
        }
        if let Some(s) = inner.satisfy_any {
            l.satisfy_any.push((methods.clone(), s));
        }
        for (m, s) in &inner.limited.satisfy_any {
            l.satisfy_any.push((methods.intersect(m), *s));
        }
        let hosts = |plain: &[Host], nested: &[(Methods, Host)]| {
            plain
                .iter()
                .map(|h| (methods.clone(), h.clone()))
                .chain(
                    nested
                        .iter()
                        .map(|(m, h)| (methods.intersect(m), h.clone())),
                )
                .collect::<Vec<_>>()
        };
        l.allow.extend(hosts(&inner.allow, &inner.limited.allow));
        l.deny.extend(hosts(&inner.deny, &inner.limited.deny));
    }
}

pub fn handles(name: &str) -> bool {
    matches!(name, "Order" | "Allow" | "Deny" | "Satisfy")
}

pub fn directive(
    a: &mut AccessCompat,
    d: &Directive,
    parse_net: &dyn Fn(&str) -> Option<(IpAddr, u8)>,
) -> Result<(), ConfigError> {
    let a0 = d.args.first().map(String::as_str).unwrap_or("");
    match d.name {
        "Order" => {
            // Outside <Limit> it sets every method, over the earlier limited lines.
            a.limited.order.clear();
            a.order = Some(match a0.to_ascii_lowercase().as_str() {
                "deny,allow" => Order::DenyAllow,
                "allow,deny" => Order::AllowDeny,
                "mutual-failure" => Order::MutualFailure,
                _ => return Err(err(&d.location, "unknown order")),
            })
        }
        "Satisfy" => {
            a.limited.satisfy_any.clear();
            a.satisfy_any = Some(match a0.to_ascii_lowercase().as_str() {
                "any" => true,
                "all" => false,
                _ => return Err(err(&d.location, "Satisfy either 'any' or 'all'.")),
            })
        }
        _ => {
            if !a0.eq_ignore_ascii_case("from") || d.args.len() < 2 {
                return Err(err(
                    &d.location,
                    "allow and deny must be followed by 'from'",
                ));
            }
            let mut hosts = Vec::new();
            for w in &d.args[1..] {
                hosts.push(if w.eq_ignore_ascii_case("all") {
                    Host::All
                } else if let Some(var) = w.strip_prefix("env=") {
                    match var.strip_prefix('!') {
                        Some(v) => Host::Env {
                            name: v.to_string(),
                            negate: true,
                        },
                        None => Host::Env {
                            name: var.to_string(),
                            negate: false,
                        },
                    }
                } else if let Some((ip, bits)) = parse_net(w) {
                    Host::Net(ip, bits)
                } else if w.contains('/') || w.parse::<f64>().is_ok() {
                    return Err(err(&d.location, format!("An IP address was expected: {w}")));
                } else {
                    Host::Name(w.to_ascii_lowercase())
                });
            }
            if d.name == "Allow" {
                a.allow.extend(hosts);
            } else {
                a.deny.extend(hosts);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rhttpd_config::Location;

    fn parse(name: &'static str, args: &[&str]) -> Result<AccessCompat, ConfigError> {
        let mut a = AccessCompat::default();
        let d = Directive {
            name,
            args: args.iter().map(|s| s.to_string()).collect(),
            location: Location::new("t.conf", 1),
        };
        directive(&mut a, &d, &crate::conf::require::parse_ip_net).map(|()| a)
    }

    #[test]
    fn directives() {
        assert_eq!(
            parse("Order", &["Allow,Deny"]).unwrap().order,
            Some(Order::AllowDeny)
        );
        assert!(parse("Order", &["allow, deny"]).is_err());
        assert_eq!(parse("Satisfy", &["any"]).unwrap().satisfy_any, Some(true));
        let a = parse(
            "Allow",
            &["from", "all", "env=!X", "10.1", "::1", "example.org"],
        )
        .unwrap();
        assert_eq!(a.allow.len(), 5);
        assert_eq!(a.allow[0], Host::All);
        assert_eq!(
            a.allow[1],
            Host::Env {
                name: "X".into(),
                negate: true
            }
        );
        assert!(matches!(a.allow[2], Host::Net(_, 16)));
        assert_eq!(a.allow[4], Host::Name("example.org".into()));
        assert!(parse("Deny", &["all"]).is_err(), "needs 'from'");
        assert!(parse("Deny", &["from", "10.0.0.0/99"]).is_err());
        // Merging: lists replace when the more specific section has any.
        let base = parse("Deny", &["from", "all"]).unwrap();
        let more = parse("Allow", &["from", "all"]).unwrap();
        let m = base.merge(&more);
        assert_eq!((m.allow.len(), m.deny.len()), (1, 1));
    }

    #[test]
    fn limited_lines_count_for_their_methods_only() {
        let all = Methods::all();
        let post = crate::conf::limit::parse("Limit", &["POST".into()], false, &all).unwrap();
        let mut a = parse("Order", &["Allow,Deny"]).unwrap();
        a.allow.push(Host::All);
        a.add_limited(&post, &parse("Deny", &["from", "all"]).unwrap());
        let sat = AccessCompat {
            satisfy_any: Some(true),
            ..AccessCompat::default()
        };
        a.add_limited(&post, &sat);
        let get = a.for_method("GET");
        assert!(get.deny.is_empty() && get.satisfy_any.is_none());
        let p = a.for_method("POST");
        assert_eq!((p.deny.len(), p.satisfy_any), (1, Some(true)));
        // A later unlimited Satisfy sets every method again.
        let d = Directive {
            name: "Satisfy",
            args: vec!["all".into()],
            location: Location::new("t.conf", 1),
        };
        directive(&mut a, &d, &crate::conf::require::parse_ip_net).unwrap();
        assert_eq!(a.for_method("POST").satisfy_any, Some(false));
        // Merge: the more specific section's lists (limited ones included) replace.
        let more = parse("Allow", &["from", "10.0.0.1"]).unwrap();
        let m = a.merge(&more);
        assert_eq!(m.for_method("POST").allow.len(), 1);
        assert_eq!(m.for_method("POST").deny.len(), 1);
    }

    proptest! {
        #[test]
        fn never_panics(words in proptest::collection::vec("\\PC{0,20}", 0..5)) {
            let args: Vec<&str> = words.iter().map(String::as_str).collect();
            for name in ["Order", "Allow", "Deny", "Satisfy"] {
                let _ = parse(name, &args);
            }
        }
    }
}
