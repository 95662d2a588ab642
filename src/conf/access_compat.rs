//! mod_access_compat: Apache 2.2's host-based access control (`Order`, `Allow from`,
//! `Deny from`, `Satisfy`), kept by Apache 2.4 for old configurations. Evaluated in
//! `authz::compat_access` before the `Require` lines.

use std::net::IpAddr;

use rhttpd_config::{ConfigError, Directive};

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
}

impl AccessCompat {
    /// The more specific section's lists replace the inherited ones when it has any, as
    /// mod_access_compat merges them.
    pub fn merge(&self, more: &AccessCompat) -> AccessCompat {
        AccessCompat {
            order: more.order.or(self.order),
            allow: if more.allow.is_empty() {
                self.allow.clone()
            } else {
                more.allow.clone()
            },
            deny: if more.deny.is_empty() {
                self.deny.clone()
            } else {
                more.deny.clone()
            },
            satisfy_any: more.satisfy_any.or(self.satisfy_any),
        }
    }

    /// Whether any Order/Allow/Deny applies (else the module grants).
    pub fn configured(&self) -> bool {
        self.order.is_some() || !self.allow.is_empty() || !self.deny.is_empty()
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
            a.order = Some(match a0.to_ascii_lowercase().as_str() {
                "deny,allow" => Order::DenyAllow,
                "allow,deny" => Order::AllowDeny,
                "mutual-failure" => Order::MutualFailure,
                _ => return Err(err(&d.location, "unknown order")),
            })
        }
        "Satisfy" => {
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
