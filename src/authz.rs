//! Who may reach what: mod_authz_core / mod_authz_host (evaluating `Require` lines and
//! `<RequireAll/Any/None>` containers against a request, with Apache's three-valued
//! result: granted, denied, neutral) and the core's symbolic-link policy
//! (`Options FollowSymLinks` / `SymLinksIfOwnerMatch`, AH00037), which the request core,
//! the static-file handler and directory listings all apply.

use std::fs;
use std::net::IpAddr;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use rhttpd_http::RequestHead;

use crate::conf::{DirConfig, Options, RequireRule};
use crate::handler::ConnInfo;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Authz {
    Granted,
    Denied,
    /// Denied for want of an authenticated user: authentication may still grant.
    DeniedNoUser,
    Neutral,
}

/// What the `Require` lines say about a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    Granted,
    Denied,
    /// A user provider (`Require user`, `valid-user`, `group`) decides: authenticate
    /// first (Apache's AUTHZ_DENIED_NO_USER).
    NeedUser,
}

/// The authenticated user, if any, how to ask whether they are in a group, and the
/// request as `Require expr` sees it.
pub(crate) struct Who<'a> {
    pub user: Option<&'a str>,
    pub in_group: &'a dyn Fn(&str) -> bool,
    /// `None`: `Require expr` lines deny (no request to evaluate them against).
    pub request: Option<&'a dyn rhttpd_expr::Context>,
}

impl Who<'_> {
    pub(crate) const NOBODY: Who<'static> = Who {
        user: None,
        in_group: &|_| false,
        request: None,
    };
}

pub(crate) fn ip_in(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits.min(32))
            };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits.min(128))
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

fn eval_rule(rule: &RequireRule, conn: &ConnInfo, head: &RequestHead, who: &Who<'_>) -> Authz {
    let yes = |b: bool| if b { Authz::Granted } else { Authz::Denied };
    match rule {
        RequireRule::All(g) => yes(*g),
        RequireRule::Ip(nets) => yes(nets.iter().any(|(n, b)| ip_in(conn.client.ip(), *n, *b))),
        RequireRule::Local => {
            let ip = conn.client.ip();
            yes(ip.is_loopback()
                || ip == conn.local.ip()
                || ip_in(ip, IpAddr::from([127, 0, 0, 0]), 8))
        }
        RequireRule::Host(names) => yes(host_matches(conn, names.iter())),
        RequireRule::Method(ms) => yes(ms.iter().any(|m| m == head.method.as_str())),
        RequireRule::User(names) => match who.user {
            None => Authz::DeniedNoUser,
            Some(u) => yes(names.iter().any(|n| n == u)),
        },
        RequireRule::ValidUser => match who.user {
            None => Authz::DeniedNoUser,
            Some(_) => Authz::Granted,
        },
        RequireRule::Group(groups) => match who.user {
            None => Authz::DeniedNoUser,
            Some(_) => yes(groups.iter().any(|g| (who.in_group)(g))),
        },
        RequireRule::Expr(e) => {
            // mod_authz_core: an expression reading REMOTE_USER waits for a user.
            if who.user.is_none() && e.expr.mentions_var("REMOTE_USER") {
                return Authz::DeniedNoUser;
            }
            match who.request {
                Some(ctx) => yes(e.eval_or_log(ctx, "authz_core")),
                None => Authz::Denied,
            }
        }
        // The request's variables as mod_setenvif and mod_env left them.
        RequireRule::Env(vars) => yes(who
            .request
            .is_some_and(|ctx| vars.iter().any(|v| ctx.function("reqenv", v).is_some()))),
        RequireRule::Not(inner) => match eval_rule(inner, conn, head, who) {
            Authz::Granted => Authz::Denied,
            Authz::DeniedNoUser => Authz::DeniedNoUser,
            _ => Authz::Neutral,
        },
        RequireRule::Limited(methods, inner) => {
            if methods.contains(head.method.as_str()) {
                eval_rule(inner, conn, head, who)
            } else {
                Authz::Neutral
            }
        }
        RequireRule::AllOf(members) => {
            // A member limited to other methods grants inside <RequireAll>
            // (mod_authz_core's apply_authz_sections under AND).
            let rs: Vec<Authz> = members
                .iter()
                .map(|m| {
                    if applies(m, head.method.as_str()) {
                        eval_rule(m, conn, head, who)
                    } else {
                        Authz::Granted
                    }
                })
                .collect();
            if rs.contains(&Authz::Denied) {
                Authz::Denied
            } else if rs.contains(&Authz::DeniedNoUser) {
                Authz::DeniedNoUser
            } else if rs.contains(&Authz::Granted) {
                Authz::Granted
            } else {
                Authz::Neutral
            }
        }
        RequireRule::AnyOf(members) => any_of(members, conn, head, who),
        RequireRule::NoneOf(members) => {
            let rs: Vec<Authz> = members
                .iter()
                .map(|m| neutral_unless_applies(m, conn, head, who))
                .collect();
            if rs.contains(&Authz::Granted) {
                Authz::Denied
            } else if rs.contains(&Authz::DeniedNoUser) {
                Authz::DeniedNoUser
            } else {
                Authz::Neutral
            }
        }
    }
}

/// Whether `rule` says anything about a request with `method`: a rule inside `<Limit>`
/// only for its methods, a container when one of its members does.
fn applies(rule: &RequireRule, method: &str) -> bool {
    match rule {
        RequireRule::Limited(methods, inner) => methods.contains(method) && applies(inner, method),
        RequireRule::AllOf(m) | RequireRule::AnyOf(m) | RequireRule::NoneOf(m) => {
            m.is_empty() || m.iter().any(|r| applies(r, method))
        }
        RequireRule::Not(inner) => applies(inner, method),
        _ => true,
    }
}

/// A member of `<RequireAny>`/`<RequireNone>` (or the implicit top-level any): one
/// limited to other methods is neutral there.
fn neutral_unless_applies(
    rule: &RequireRule,
    conn: &ConnInfo,
    head: &RequestHead,
    who: &Who<'_>,
) -> Authz {
    if applies(rule, head.method.as_str()) {
        eval_rule(rule, conn, head, who)
    } else {
        Authz::Neutral
    }
}

fn any_of(members: &[RequireRule], conn: &ConnInfo, head: &RequestHead, who: &Who<'_>) -> Authz {
    let rs: Vec<Authz> = members
        .iter()
        .map(|m| neutral_unless_applies(m, conn, head, who))
        .collect();
    if rs.contains(&Authz::Granted) {
        Authz::Granted
    } else if rs.contains(&Authz::DeniedNoUser) {
        Authz::DeniedNoUser
    } else if rs.contains(&Authz::Denied) {
        Authz::Denied
    } else {
        Authz::Neutral
    }
}

/// Whether the client's double-reverse DNS name is one of `names` or in one of their
/// domains (`example.org` matches `www.example.org`, not `badexample.org`).
fn host_matches<'a>(conn: &ConnInfo, mut names: impl Iterator<Item = &'a String>) -> bool {
    let Some(n) = rhttpd_sys::reverse_lookup_confirmed(conn.client.ip()) else {
        return false;
    };
    let n = n.to_ascii_lowercase();
    names.any(|want| {
        n == *want
            || (n.ends_with(want.as_str())
                && (want.starts_with('.') || n[..n.len() - want.len()].ends_with('.')))
    })
}

/// mod_access_compat's verdict (`Order`/`Allow`/`Deny`): `None` when the section has
/// none of them (the module grants), else whether the client may in.
pub(crate) fn compat_access(dir: &DirConfig, conn: &ConnInfo, method: &str) -> Option<bool> {
    use crate::conf::access_compat::{Host, Order};
    let a = dir.access_compat.for_method(method);
    if !a.configured() {
        return None;
    }
    let ip = conn.client.ip();
    // The request's variables are in `dir` (mod_setenvif's joined in by the pipeline).
    let env = |name: &str| dir.env.get(name).is_some();
    let matches = |list: &[Host]| {
        let mut names = list.iter().filter_map(|h| match h {
            Host::Name(n) => Some(n),
            _ => None,
        });
        list.iter().any(|h| match h {
            Host::All => true,
            Host::Env { name, negate } => env(name) != *negate,
            Host::Net(net, bits) => ip_in(ip, *net, *bits),
            Host::Name(_) => false,
        }) || (list.iter().any(|h| matches!(h, Host::Name(_))) && host_matches(conn, &mut names))
    };
    Some(match a.order.unwrap_or_default() {
        Order::DenyAllow => !matches(&a.deny) || matches(&a.allow),
        Order::AllowDeny => matches(&a.allow) && !matches(&a.deny),
        Order::MutualFailure => matches(&a.allow) && !matches(&a.deny),
    })
}

/// The section's `Require` lines for this request and `who` (no `Require` anywhere →
/// granted, as Apache 2.4 without authorization configuration).
pub(crate) fn access(
    dir: &DirConfig,
    conn: &ConnInfo,
    head: &RequestHead,
    who: &Who<'_>,
) -> Access {
    match &dir.require {
        None => Access::Granted,
        // Every line inside <Limit> sections for other methods: nothing to check.
        Some(r) if !r.rules.iter().any(|x| applies(x, head.method.as_str())) => Access::Granted,
        Some(r) => match any_of(&r.rules, conn, head, who) {
            Authz::Granted => Access::Granted,
            Authz::DeniedNoUser => Access::NeedUser,
            Authz::Denied | Authz::Neutral => Access::Denied,
        },
    }
}

/// Whether the symbolic link `link` may be followed under `opts`: always with
/// FollowSymLinks; with SymLinksIfOwnerMatch only when the link and its target have
/// the same owner; never otherwise (Apache AH00037).
pub fn symlink_allowed(link: &Path, opts: Options) -> bool {
    if opts.follow_symlinks {
        return true;
    }
    if !opts.symlinks_if_owner_match {
        return false;
    }
    match (fs::symlink_metadata(link), fs::metadata(link)) {
        (Ok(l), Ok(t)) => l.uid() == t.uid(),
        _ => false,
    }
}

/// Walks the components of `path` below `root` (all of them when `path` is not under
/// `root`) and refuses any symbolic link that `opts` does not allow (see
/// [`symlink_allowed`]). Components that do not exist end the walk with `true`: the
/// missing file is a 404 for the handler, not a symlink refusal.
pub fn check_symlinks(root: &Path, path: &Path, opts: Options) -> bool {
    if opts.follow_symlinks {
        return true;
    }
    let (mut cur, rest) = match path.strip_prefix(root) {
        Ok(rest) => (root.to_path_buf(), rest),
        Err(_) => (PathBuf::new(), path),
    };
    for comp in rest.components() {
        match comp {
            Component::Normal(c) => cur.push(c),
            Component::RootDir => {
                cur.push("/");
                continue;
            }
            Component::CurDir => continue,
            // A `..` below the root could escape it: refuse.
            Component::ParentDir => return false,
            Component::Prefix(_) => continue,
        }
        match fs::symlink_metadata(&cur) {
            Ok(m) if m.file_type().is_symlink() => {
                if !symlink_allowed(&cur, opts) {
                    return false;
                }
            }
            Ok(_) => {}
            Err(_) => return true,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlink_checks() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        fs::create_dir(root.join("real")).unwrap();
        fs::write(root.join("real/f"), "x").unwrap();
        std::os::unix::fs::symlink(root.join("real"), root.join("link")).unwrap();
        std::os::unix::fs::symlink("nowhere", root.join("dangling")).unwrap();
        let none = Options::default();
        let owner = Options {
            symlinks_if_owner_match: true,
            ..Options::default()
        };
        assert!(check_symlinks(root, &root.join("link/f"), Options::DEFAULT));
        assert!(!check_symlinks(root, &root.join("link/f"), none));
        assert!(check_symlinks(root, &root.join("real/f"), none));
        assert!(check_symlinks(root, &root.join("link/f"), owner));
        assert!(!check_symlinks(root, &root.join("dangling"), owner));
        assert!(check_symlinks(root, &root.join("missing/x"), none));
        assert!(!check_symlinks(root, &root.join("real/../link/f"), none));
        // The root itself may be a link: only components below it are checked.
        assert!(check_symlinks(
            &root.join("link"),
            &root.join("link/f"),
            none
        ));
    }

    #[test]
    fn ip_networks() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(ip_in(ip("10.1.2.3"), ip("10.0.0.0"), 8));
        assert!(!ip_in(ip("11.1.2.3"), ip("10.0.0.0"), 8));
        assert!(ip_in(ip("::ffff:127.0.0.1"), ip("127.0.0.1"), 32));
        assert!(ip_in(ip("::1"), ip("::1"), 128));
        assert!(ip_in(ip("1.2.3.4"), ip("0.0.0.0"), 0));
    }
}
