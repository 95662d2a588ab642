//! Authentication at request time: mod_auth_basic reading `Authorization: Basic`,
//! mod_authn_file checking the password against an `AuthUserFile` (or an
//! `<AuthnProviderAlias>`'s), and mod_authz_groupfile's `AuthGroupFile` membership for
//! `Require group`. Password and group files are parsed once and re-read when their
//! inode, size or modification time changes (Apache reads them on every request).
//! Hash formats are `modules::htpasswd`'s.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};

use http::StatusCode;
use rhttpd_http::RequestHead;

use crate::conf::auth::AuthType;
use crate::conf::{DirConfig, ServerConfig};
use crate::handler::{ConnInfo, Response};
use crate::log::Level;

/// What authentication concluded.
pub enum Authn {
    /// The user proved who they are.
    User(String),
    /// The answer to send (401 with the challenge, or 500 for a configuration error),
    /// with the user name the client gave, if any (`%u` logs it, as Apache does).
    Refused(Response, Option<String>),
}

/// The 401 that asks for Basic credentials in `dir`'s realm.
pub fn challenge(dir: &DirConfig) -> Response {
    let realm = dir.auth.name.as_deref().unwrap_or("");
    Response::error(StatusCode::UNAUTHORIZED).header(
        http::header::WWW_AUTHENTICATE,
        &format!("Basic realm=\"{}\"", realm.replace('"', "\\\"")),
    )
}

fn error(conn: &ConnInfo, msg: &str) -> Response {
    crate::log::log("auth_basic", Level::Error, Some(conn.client), msg);
    Response::error(StatusCode::INTERNAL_SERVER_ERROR)
}

/// mod_auth_basic's check_user_id for a request `Require` wants a user for.
pub fn authenticate(
    cfg: &ServerConfig,
    dir: &DirConfig,
    conn: &ConnInfo,
    head: &RequestHead,
) -> Authn {
    let uri = head.path.as_str();
    match dir.auth.auth_type {
        None => return Authn::Refused(error(conn, "AH01796: AuthType not set!"), None),
        Some(AuthType::None) => {
            let msg = format!(
                "AH00027: No authentication done but request not allowed without authentication for {uri}. Authentication not configured?"
            );
            return Authn::Refused(error(conn, &msg), None);
        }
        Some(AuthType::Basic) => {}
    }
    if dir.auth.name.is_none() {
        return Authn::Refused(error(conn, &format!("AH01615: need AuthName: {uri}")), None);
    }
    let Some(value) = head.headers.get(http::header::AUTHORIZATION) else {
        return Authn::Refused(challenge(dir), None);
    };
    let Some((user, password)) = basic_credentials(value.as_bytes()) else {
        crate::log::log(
            "auth_basic",
            Level::Error,
            Some(conn.client),
            &format!("AH01614: client used wrong authentication scheme: {uri}"),
        );
        return Authn::Refused(challenge(dir), None);
    };
    for provider in dir.auth.providers() {
        let file = if provider == "file" {
            if !cfg.loaded_modules.contains(&"authn_file_module") {
                let msg = "AH01600: No Authn provider configured";
                return Authn::Refused(error(conn, msg), Some(user));
            }
            match &dir.auth.user_file {
                Some(f) => f.clone(),
                None => {
                    let msg = "AH01619: AuthUserFile not specified in the configuration";
                    return Authn::Refused(error(conn, msg), Some(user));
                }
            }
        } else {
            match cfg.authn_aliases.get(provider) {
                Some(f) => f.clone(),
                None => {
                    let msg = format!("AH01616: Unknown Authn provider: {provider}");
                    return Authn::Refused(error(conn, &msg), Some(user));
                }
            }
        };
        let users = match PASSWORDS.get(&file) {
            Ok(u) => u,
            Err(e) => {
                let msg = format!(
                    "AH01620: Could not open password file: {}: {e}",
                    file.display()
                );
                return Authn::Refused(error(conn, &msg), Some(user));
            }
        };
        let Some(hash) = users.get(&user) else {
            continue; // AUTH_USER_NOT_FOUND: the next provider may know them
        };
        if crate::modules::htpasswd::verify(password.as_bytes(), hash) {
            return Authn::User(user);
        }
        crate::log::log(
            "auth_basic",
            Level::Error,
            Some(conn.client),
            &format!(
                "AH01617: user {user}: authentication failure for \"{uri}\": Password Mismatch"
            ),
        );
        return Authn::Refused(challenge(dir), Some(user));
    }
    crate::log::log(
        "auth_basic",
        Level::Error,
        Some(conn.client),
        &format!("AH01618: user {user} not found: {uri}"),
    );
    Authn::Refused(challenge(dir), Some(user))
}

/// `Basic base64(user:password)` → (user, password); a missing `:` is an empty password
/// (as Apache's `ap_getword_nulls`). `None` for another scheme or bad base64.
pub fn basic_credentials(value: &[u8]) -> Option<(String, String)> {
    let value = value.trim_ascii();
    let (scheme, rest) = value.split_at(value.iter().position(|b| *b == b' ')?);
    if !scheme.eq_ignore_ascii_case(b"basic") {
        return None;
    }
    let decoded = crate::modules::htpasswd::base64_decode(rest.trim_ascii())?;
    let text = String::from_utf8_lossy(&decoded);
    Some(match text.split_once(':') {
        Some((u, p)) => (u.to_string(), p.to_string()),
        None => (text.into_owned(), String::new()),
    })
}

/// Whether `user` is in `group` according to `dir`'s `AuthGroupFile` (an unreadable
/// file is logged and counts as not a member).
pub fn in_group(dir: &DirConfig, conn: &ConnInfo, user: &str, group: &str) -> bool {
    let Some(file) = &dir.auth.group_file else {
        crate::log::log(
            "authz_groupfile",
            Level::Error,
            Some(conn.client),
            "AH01665: Authorization of user to access requires AuthGroupFile",
        );
        return false;
    };
    match GROUPS.get(file) {
        Ok(groups) => groups
            .get(group)
            .is_some_and(|members| members.iter().any(|m| m == user)),
        Err(e) => {
            crate::log::log(
                "authz_groupfile",
                Level::Error,
                Some(conn.client),
                &format!(
                    "AH01664: Could not open group file: {}: {e}",
                    file.display()
                ),
            );
            false
        }
    }
}

/// A parsed file remembered with what identifies its version.
struct Cached<T> {
    version: (u64, u64, u64, i64, i64),
    parsed: Arc<T>,
}

/// Files parsed once per version (every thread of the process shares them).
struct FileCache<T> {
    files: Mutex<HashMap<PathBuf, Cached<T>>>,
    parse: fn(&str) -> T,
}

impl<T> FileCache<T> {
    fn get(&self, path: &Path) -> std::io::Result<Arc<T>> {
        let m = std::fs::metadata(path)?;
        let version = (m.dev(), m.ino(), m.len(), m.mtime(), m.mtime_nsec());
        if let Some(c) = self
            .files
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(path)
            && c.version == version
        {
            return Ok(c.parsed.clone());
        }
        let text = std::fs::read_to_string(path)?;
        let parsed = Arc::new((self.parse)(&text));
        let mut files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        if files.len() >= 64 {
            files.clear(); // bounded: a handful of files is the normal case
        }
        files.insert(
            path.to_path_buf(),
            Cached {
                version,
                parsed: parsed.clone(),
            },
        );
        Ok(parsed)
    }
}

static PASSWORDS: LazyLock<FileCache<HashMap<String, String>>> = LazyLock::new(|| FileCache {
    files: Mutex::new(HashMap::new()),
    parse: parse_passwords,
});

static GROUPS: LazyLock<FileCache<HashMap<String, Vec<String>>>> = LazyLock::new(|| FileCache {
    files: Mutex::new(HashMap::new()),
    parse: parse_groups,
});

/// `user:hash[:...]` lines as mod_authn_file reads them (`#` comments and blank lines
/// skipped; the first line for a user wins).
pub fn parse_passwords(text: &str) -> HashMap<String, String> {
    let mut users = HashMap::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut parts = line.splitn(3, ':');
        let (Some(user), Some(hash)) = (parts.next(), parts.next()) else {
            continue;
        };
        users
            .entry(user.to_string())
            .or_insert_with(|| hash.to_string());
    }
    users
}

/// `group: user1 user2` lines as mod_authz_groupfile reads them.
pub fn parse_groups(text: &str) -> HashMap<String, Vec<String>> {
    let mut groups: HashMap<String, Vec<String>> = HashMap::new();
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        let Some((group, members)) = line.split_once(':') else {
            continue;
        };
        groups
            .entry(group.trim().to_string())
            .or_default()
            .extend(members.split_whitespace().map(str::to_string));
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn credentials() {
        assert_eq!(
            basic_credentials(b"Basic dXNlcjpwYXNz"),
            Some(("user".into(), "pass".into()))
        );
        assert_eq!(
            basic_credentials(b"basic   dXNlcjpwOmFzcw=="),
            Some(("user".into(), "p:ass".into()))
        );
        assert_eq!(
            basic_credentials(b"Basic dXNlcg=="),
            Some(("user".into(), String::new()))
        );
        assert_eq!(basic_credentials(b"Bearer abc"), None);
        assert_eq!(basic_credentials(b"Basic"), None);
        assert_eq!(basic_credentials(b"Basic !!!"), None);
        assert_eq!(basic_credentials(b""), None);
    }

    #[test]
    fn files() {
        let p = parse_passwords("# c\nalice:$apr1$x$y\n\nbob:abc:extra\nalice:other\nnocolon\n");
        assert_eq!(p.get("alice").map(String::as_str), Some("$apr1$x$y"));
        assert_eq!(p.get("bob").map(String::as_str), Some("abc"));
        assert_eq!(p.len(), 2);
        let g = parse_groups("staff: alice bob\n#x: y\nadmins:carol\nstaff: dave\n");
        assert_eq!(g["staff"], ["alice", "bob", "dave"]);
        assert_eq!(g["admins"], ["carol"]);
        assert!(!g.contains_key("#x"));
    }

    proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC{0,200}", b in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = parse_passwords(&s);
            let _ = parse_groups(&s);
            let _ = basic_credentials(&b);
        }
    }
}
