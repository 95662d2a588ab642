//! mod_authz_core's `Require` lines and `<RequireAll/Any/None>` containers, and the
//! address ranges of `Require ip`.

use std::net::IpAddr;

use rhttpd_config::{ConfigError, Directive, Node, Section};

use super::RequireRule;
use super::values::err;

pub(super) fn require_rule(d: &Directive) -> Result<RequireRule, ConfigError> {
    let mut args: &[String] = &d.args;
    let negate = args.first().is_some_and(|a| a.eq_ignore_ascii_case("not"));
    if negate {
        args = &args[1..];
    }
    let provider = args
        .first()
        .map(|s| s.to_ascii_lowercase())
        .unwrap_or_default();
    let rest = &args[args.len().min(1)..];
    let rule = match provider.as_str() {
        "all" => match rest.first().map(|s| s.to_ascii_lowercase()).as_deref() {
            Some("granted") => RequireRule::All(true),
            Some("denied") => RequireRule::All(false),
            _ => {
                return Err(err(
                    &d.location,
                    "'Require all' accepts only 'granted' or 'denied'",
                ));
            }
        },
        "ip" => {
            let mut nets = Vec::new();
            for a in rest {
                nets.push(parse_ip_net(a).ok_or_else(|| {
                    err(
                        &d.location,
                        format!("ip address '{a}' appears to be invalid"),
                    )
                })?);
            }
            if nets.is_empty() {
                return Err(err(&d.location, "'Require ip' requires an argument"));
            }
            RequireRule::Ip(nets)
        }
        "host" => RequireRule::Host(rest.iter().map(|s| s.to_ascii_lowercase()).collect()),
        "local" => RequireRule::Local,
        "method" => RequireRule::Method(rest.iter().map(|s| s.to_ascii_uppercase()).collect()),
        "user" | "group" if rest.is_empty() => {
            return Err(err(
                &d.location,
                format!("'Require {provider}' requires at least one name"),
            ));
        }
        "user" => RequireRule::User(rest.to_vec()),
        "valid-user" => RequireRule::ValidUser,
        "expr" => {
            // mod_authz_core takes the rest of the line, one pair of quotes removed.
            let line = rest.join(" ");
            let line = line
                .strip_prefix('"')
                .and_then(|l| l.strip_suffix('"'))
                .unwrap_or(&line);
            RequireRule::Expr(super::expr::parse(line, &d.location, |e| {
                format!("Cannot parse expression in require line: {e}")
            })?)
        }
        "group" => RequireRule::Group(rest.to_vec()),
        "env" if rest.is_empty() => {
            return Err(err(
                &d.location,
                "'Require env' requires at least one variable name",
            ));
        }
        "env" => RequireRule::Env(rest.to_vec()),
        other => {
            return Err(err(&d.location, format!("Unknown Authz provider: {other}")));
        }
    };
    Ok(if negate {
        RequireRule::Not(Box::new(rule))
    } else {
        rule
    })
}

/// The first provider in `rule` whose module is not loaded, as (provider, module):
/// Apache knows `Require user` only once mod_authz_user is loaded.
pub(super) fn missing_provider(
    rule: &RequireRule,
    loaded: &[&str],
) -> Option<(&'static str, &'static str)> {
    let need = |p, m: &'static str| (!loaded.contains(&m)).then_some((p, m));
    match rule {
        RequireRule::User(_) => need("user", "authz_user_module"),
        RequireRule::ValidUser => need("valid-user", "authz_user_module"),
        RequireRule::Group(_) => need("group", "authz_groupfile_module"),
        RequireRule::Not(inner) | RequireRule::Limited(_, inner) => missing_provider(inner, loaded),
        RequireRule::AllOf(m) | RequireRule::AnyOf(m) | RequireRule::NoneOf(m) => {
            m.iter().find_map(|r| missing_provider(r, loaded))
        }
        _ => None,
    }
}

pub(super) fn require_container(s: &Section) -> Result<RequireRule, ConfigError> {
    let mut members = Vec::new();
    for n in &s.children {
        match n {
            Node::Directive(d) if d.name == "Require" => members.push(require_rule(d)?),
            Node::Section(inner) if inner.name.starts_with("Require") => {
                members.push(require_container(inner)?)
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
    Ok(match s.name {
        "RequireAll" => RequireRule::AllOf(members),
        "RequireNone" => RequireRule::NoneOf(members),
        _ => RequireRule::AnyOf(members),
    })
}

/// `10.1.2.3`, `10.1`, `10.0.0.0/8`, `10.0.0.0/255.0.0.0`, `::1`, `2001:db8::/32`.
pub(super) fn parse_ip_net(a: &str) -> Option<(IpAddr, u8)> {
    let (addr, mask) = match a.split_once('/') {
        Some((x, m)) => (x, Some(m)),
        None => (a, None),
    };
    if let Ok(ip) = addr.parse::<IpAddr>() {
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let bits = match mask {
            None => max,
            Some(m) => match m.parse::<u8>() {
                Ok(b) if b <= max => b,
                Ok(_) => return None,
                Err(_) => {
                    let mip: std::net::Ipv4Addr = m.parse().ok()?;
                    let v = u32::from(mip);
                    if v.leading_ones() + v.trailing_zeros() != 32 {
                        return None;
                    }
                    v.leading_ones() as u8
                }
            },
        };
        return Some((ip, bits));
    }
    // Partial IPv4 ("10.1"): a prefix of whole octets.
    if mask.is_some() {
        return None;
    }
    let parts: Vec<&str> = addr.trim_end_matches('.').split('.').collect();
    if parts.is_empty() || parts.len() > 3 {
        return None;
    }
    let mut octets = [0u8; 4];
    for (i, p) in parts.iter().enumerate() {
        octets[i] = p.parse().ok()?;
    }
    Some((IpAddr::from(octets), (parts.len() * 8) as u8))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rhttpd_config::Location;

    fn require(args: &[&str]) -> Result<RequireRule, ConfigError> {
        require_rule(&Directive {
            name: "Require",
            args: args.iter().map(|a| a.to_string()).collect(),
            location: Location::new("test.conf", 1),
        })
    }

    fn net(a: &str, bits: u8) -> (IpAddr, u8) {
        (a.parse().unwrap(), bits)
    }

    #[test]
    fn ip_nets() {
        assert_eq!(parse_ip_net("10.1.2.3"), Some(net("10.1.2.3", 32)));
        assert_eq!(parse_ip_net("10.0.0.0/8"), Some(net("10.0.0.0", 8)));
        assert_eq!(
            parse_ip_net("10.0.0.0/255.255.0.0"),
            Some(net("10.0.0.0", 16))
        );
        assert_eq!(parse_ip_net("10.1"), Some(net("10.1.0.0", 16)));
        assert_eq!(parse_ip_net("192.168.1."), Some(net("192.168.1.0", 24)));
        assert_eq!(parse_ip_net("::1"), Some(net("::1", 128)));
        assert_eq!(parse_ip_net("2001:db8::/32"), Some(net("2001:db8::", 32)));
        assert_eq!(parse_ip_net("10.0.0.0/33"), None);
        assert_eq!(parse_ip_net("10.0.0.0/255.0.255.0"), None);
        assert_eq!(parse_ip_net("10.1/16"), None);
        assert_eq!(parse_ip_net("example.com"), None);
    }

    #[test]
    fn rules() {
        assert_eq!(
            require(&["all", "granted"]).unwrap(),
            RequireRule::All(true)
        );
        assert_eq!(
            require(&["all", "Denied"]).unwrap(),
            RequireRule::All(false)
        );
        assert!(require(&["all", "maybe"]).is_err());
        assert_eq!(
            require(&["ip", "10.0.0.0/8", "::1"]).unwrap(),
            RequireRule::Ip(vec![net("10.0.0.0", 8), net("::1", 128)])
        );
        assert!(require(&["ip"]).is_err());
        assert!(require(&["ip", "nope"]).is_err());
        assert_eq!(
            require(&["host", "Example.COM"]).unwrap(),
            RequireRule::Host(vec!["example.com".into()])
        );
        assert_eq!(require(&["local"]).unwrap(), RequireRule::Local);
        assert_eq!(
            require(&["not", "method", "post"]).unwrap(),
            RequireRule::Not(Box::new(RequireRule::Method(vec!["POST".into()])))
        );
        assert_eq!(
            require(&["user", "bob"]).unwrap(),
            RequireRule::User(vec!["bob".into()])
        );
        assert_eq!(require(&["valid-user"]).unwrap(), RequireRule::ValidUser);
        assert!(require(&["group"]).is_err());
        let e = require(&["nosuch", "x"]).unwrap_err();
        assert!(e.to_string().contains("Unknown Authz provider: nosuch"));
        // Whether a provider's module is loaded is checked by the caller.
        let rule = RequireRule::AnyOf(vec![RequireRule::Local, RequireRule::Group(vec![])]);
        assert_eq!(
            missing_provider(&rule, &["authz_user_module"]),
            Some(("group", "authz_groupfile_module"))
        );
        assert_eq!(missing_provider(&rule, &["authz_groupfile_module"]), None);
    }

    #[test]
    fn containers() {
        let loc = Location::new("test.conf", 1);
        let req = |args: &[&str]| {
            Node::Directive(Directive {
                name: "Require",
                args: args.iter().map(|a| a.to_string()).collect(),
                location: loc.clone(),
            })
        };
        let section = |name: &'static str, children| Section {
            name,
            args: Vec::new(),
            raw_args: String::new(),
            children,
            location: loc.clone(),
        };
        let inner = section("RequireNone", vec![req(&["ip", "10.0.0.1"])]);
        let outer = section(
            "RequireAll",
            vec![req(&["all", "granted"]), Node::Section(inner)],
        );
        assert_eq!(
            require_container(&outer).unwrap(),
            RequireRule::AllOf(vec![
                RequireRule::All(true),
                RequireRule::NoneOf(vec![RequireRule::Ip(vec![net("10.0.0.1", 32)])]),
            ])
        );
        let any = section("RequireAny", vec![req(&["local"])]);
        assert_eq!(
            require_container(&any).unwrap(),
            RequireRule::AnyOf(vec![RequireRule::Local])
        );
        let bad = section(
            "RequireAll",
            vec![Node::Directive(Directive {
                name: "Options",
                args: vec!["None".into()],
                location: loc.clone(),
            })],
        );
        assert!(require_container(&bad).is_err());
    }
}
