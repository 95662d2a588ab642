//! `User` / `Group`: name resolution and the privilege drop after binding ports.
//!
//! Names follow Apache (`ap_uname2id` / `ap_gname2id`): a plain name is looked up in the
//! user or group database, `#N` is the numeric id. For the drop, the user must exist in the
//! password database even in `#N` form, because `initgroups` needs its name (Apache's
//! "couldn't determine user name from uid").

use std::ffi::CString;
use std::io;

use nix::unistd::{self, Gid, Group, Uid, User};

use crate::errno;

/// Whether the effective user is root.
pub fn running_as_root() -> bool {
    unistd::geteuid().is_root()
}

/// The effective user id.
pub fn geteuid() -> u32 {
    unistd::geteuid().as_raw()
}

/// The effective group id.
pub fn getegid() -> u32 {
    unistd::getegid().as_raw()
}

fn numeric(name: &str) -> Option<Option<u32>> {
    name.strip_prefix('#').map(|n| n.trim().parse().ok())
}

/// Resolves a `User` argument (`www-data` or `#33`) to `(uid, primary gid)`.
pub fn lookup_user(name: &str) -> Option<(u32, u32)> {
    let user = match numeric(name) {
        Some(uid) => User::from_uid(Uid::from_raw(uid?)).ok()??,
        None => User::from_name(name).ok()??,
    };
    Some((user.uid.as_raw(), user.gid.as_raw()))
}

/// Resolves a `Group` argument (`www-data` or `#33`) to a gid. The numeric form is taken
/// as is, without a database lookup, as Apache does.
pub fn lookup_group(name: &str) -> Option<u32> {
    match numeric(name) {
        Some(gid) => gid,
        None => Some(Group::from_name(name).ok()??.gid.as_raw()),
    }
}

/// The login name of `uid`, if the password database knows it.
pub fn user_name(uid: u32) -> Option<String> {
    Some(User::from_uid(Uid::from_raw(uid)).ok()??.name)
}

/// The name of group `gid`, if the group database knows it.
pub fn group_name(gid: u32) -> Option<String> {
    Some(Group::from_gid(Gid::from_raw(gid)).ok()??.name)
}

fn not_found(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, what)
}

/// Becomes `user`:`group` for good: `setgid(group)`, `initgroups(user, group)`,
/// `setuid(user)`, then verifies that real and effective ids changed and, unless the
/// target is root, that root cannot be regained.
///
/// When the process is not running as root this does nothing and returns `Ok` (Apache
/// started by an ordinary user keeps running as that user). Call it in every thread-free
/// child (or the single-threaded parent): `setuid` in a multi-threaded process applies to
/// all threads on glibc, but doing it before threads exist avoids any window.
pub fn drop_privileges(user: &str, group: &str) -> io::Result<()> {
    if !running_as_root() {
        return Ok(());
    }
    let gid = lookup_group(group).ok_or_else(|| not_found(format!("bad group name {group}")))?;
    let (uid, _) = lookup_user(user).ok_or_else(|| not_found(format!("bad user name {user}")))?;
    let name = user_name(uid).ok_or_else(|| {
        not_found(format!(
            "getpwuid: couldn't determine user name from uid {uid}, you probably need to \
             modify the User directive"
        ))
    })?;
    let cname = CString::new(name)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in user name"))?;
    let (uid, gid) = (Uid::from_raw(uid), Gid::from_raw(gid));

    unistd::setgid(gid).map_err(errno)?;
    unistd::initgroups(&cname, gid).map_err(errno)?;
    unistd::setuid(uid).map_err(errno)?;

    let ok = unistd::getuid() == uid
        && unistd::geteuid() == uid
        && unistd::getgid() == gid
        && unistd::getegid() == gid;
    if !ok {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("privilege drop to {user}:{group} did not take effect"),
        ));
    }
    if !uid.is_root() && unistd::setuid(Uid::from_raw(0)).is_ok() {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "privileges dropped but root can be regained",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::ChildExit;
    use crate::test_util::in_child;

    #[test]
    fn resolves_names_and_numeric_forms() {
        assert_eq!(lookup_user("root"), Some((0, 0)));
        assert_eq!(lookup_user("#0"), Some((0, 0)));
        assert_eq!(lookup_group("root"), Some(0));
        assert_eq!(lookup_group("#4321"), Some(4321));
        assert_eq!(lookup_group("#x"), None);
        assert_eq!(user_name(0).as_deref(), Some("root"));
        assert_eq!(group_name(0).as_deref(), Some("root"));
        assert_eq!(lookup_user("no-such-user-rhttpd"), None);
        assert_eq!(lookup_group("no-such-group-rhttpd"), None);
        assert_eq!(running_as_root(), geteuid() == 0);
    }

    #[test]
    fn drops_to_nobody_in_a_child() {
        if !running_as_root() || lookup_user("nobody").is_none() {
            eprintln!("skipped: needs root and a nobody user");
            return;
        }
        let group = if lookup_group("nogroup").is_some() {
            "nogroup"
        } else {
            "nobody"
        };
        let (uid, _) = lookup_user("nobody").unwrap();
        let gid = lookup_group(group).unwrap();
        let exit = in_child(move || {
            if drop_privileges("nobody", group).is_err() {
                return 1;
            }
            if geteuid() != uid || getegid() != gid || running_as_root() {
                return 2;
            }
            0
        });
        assert_eq!(exit, ChildExit::Exited(0));
    }

    #[test]
    fn unknown_user_fails_before_changing_anything() {
        if !running_as_root() {
            return;
        }
        let exit = in_child(|| match drop_privileges("no-such-user-rhttpd", "#0") {
            Err(e) if e.kind() == io::ErrorKind::NotFound && running_as_root() => 0,
            _ => 1,
        });
        assert_eq!(exit, ChildExit::Exited(0));
    }
}
