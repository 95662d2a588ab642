//! Authentication configuration: mod_authn_core (`AuthType`, `AuthName`,
//! `<AuthnProviderAlias>`), mod_auth_basic (`AuthBasicProvider`,
//! `AuthBasicAuthoritative`), mod_authn_file (`AuthUserFile`), mod_authz_groupfile
//! (`AuthGroupFile`) and mod_authz_core's `AuthMerging` and
//! `AuthzSendForbiddenOnFailure`. The request side is `modules::auth`.

use std::path::PathBuf;

use rhttpd_config::{ConfigError, Directive};

use super::values::{err, flag};

/// `AuthType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthType {
    Basic,
    /// `AuthType None`: authentication switched off for the section.
    None,
}

/// `AuthMerging`: how a section's `Require` lines combine with those it inherits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AuthMerging {
    /// The section's own lines replace the inherited ones (Apache's default).
    #[default]
    Off,
    And,
    Or,
}

/// The per-directory part, merged field by field (the more specific section wins).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthDir {
    pub auth_type: Option<AuthType>,
    pub name: Option<String>,
    pub user_file: Option<PathBuf>,
    pub group_file: Option<PathBuf>,
    /// `AuthBasicProvider`: `file` or `<AuthnProviderAlias>` names, tried in order.
    pub basic_providers: Option<Vec<String>>,
    pub send_forbidden_on_failure: Option<bool>,
    /// This section's `AuthMerging` (not inherited: it says how this section's own
    /// `Require` lines meet its parent's).
    pub merging: AuthMerging,
}

impl AuthDir {
    pub fn merge(&self, more: &AuthDir) -> AuthDir {
        AuthDir {
            auth_type: more.auth_type.or(self.auth_type),
            name: more.name.clone().or_else(|| self.name.clone()),
            user_file: more.user_file.clone().or_else(|| self.user_file.clone()),
            group_file: more.group_file.clone().or_else(|| self.group_file.clone()),
            basic_providers: more
                .basic_providers
                .clone()
                .or_else(|| self.basic_providers.clone()),
            send_forbidden_on_failure: more
                .send_forbidden_on_failure
                .or(self.send_forbidden_on_failure),
            merging: more.merging,
        }
    }

    /// The providers mod_auth_basic asks, in order (`file` unless configured).
    pub fn providers(&self) -> &[String] {
        static FILE: std::sync::LazyLock<Vec<String>> =
            std::sync::LazyLock::new(|| vec!["file".to_string()]);
        self.basic_providers.as_deref().unwrap_or(&FILE)
    }
}

/// Whether `name` is one of the directives [`directive`] handles.
pub fn handles(name: &str) -> bool {
    matches!(
        name,
        "AuthType"
            | "AuthName"
            | "AuthUserFile"
            | "AuthGroupFile"
            | "AuthBasicProvider"
            | "AuthBasicAuthoritative"
            | "AuthMerging"
            | "AuthzSendForbiddenOnFailure"
    )
}

/// One authentication directive; `path` resolves a file name against ServerRoot.
pub fn directive(
    a: &mut AuthDir,
    d: &Directive,
    path: &dyn Fn(&str) -> PathBuf,
    warnings: &mut Vec<String>,
) -> Result<(), ConfigError> {
    let a0 = d.args.first().map(String::as_str).unwrap_or("");
    match d.name {
        "AuthType" => {
            a.auth_type = Some(match a0.to_ascii_lowercase().as_str() {
                "basic" => AuthType::Basic,
                "none" => AuthType::None,
                "digest" => {
                    return Err(err(
                        &d.location,
                        "AuthType Digest: rhttpd has no mod_auth_digest; use AuthType Basic over TLS",
                    ));
                }
                "form" => {
                    return Err(err(
                        &d.location,
                        "AuthType Form: rhttpd has no mod_auth_form; use AuthType Basic",
                    ));
                }
                _ => {
                    return Err(err(
                        &d.location,
                        format!("AuthType {a0}: unknown authentication type (Basic or None)"),
                    ));
                }
            })
        }
        "AuthName" => {
            if a0.is_empty() {
                return Err(err(&d.location, "AuthName must not be empty"));
            }
            a.name = Some(a0.to_string());
        }
        "AuthUserFile" => a.user_file = Some(path(a0)),
        "AuthGroupFile" => a.group_file = Some(path(a0)),
        "AuthBasicProvider" => {
            a.basic_providers = Some(d.args.iter().map(|s| s.to_ascii_lowercase()).collect())
        }
        "AuthBasicAuthoritative" if !flag(d) => {
            warnings.push(
                "AuthBasicAuthoritative Off has no effect: rhttpd has no other authentication module to pass to"
                    .to_string(),
            );
        }
        "AuthMerging" => {
            a.merging = match a0.to_ascii_lowercase().as_str() {
                "off" => AuthMerging::Off,
                "and" => AuthMerging::And,
                "or" => AuthMerging::Or,
                _ => {
                    return Err(err(
                        &d.location,
                        "AuthMerging must be one of: off | and | or",
                    ));
                }
            }
        }
        "AuthzSendForbiddenOnFailure" => a.send_forbidden_on_failure = Some(flag(d)),
        _ => {}
    }
    Ok(())
}
