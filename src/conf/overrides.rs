//! `AllowOverride` and `AllowOverrideList`: which directives a `.htaccess` file may
//! hold, and the override class of every directive rhttpd has (Apache's `OR_*` flag
//! in each module's command table).

use rhttpd_config::{ConfigError, Directive};

use super::values::err;

/// The words `Options` takes (`AllowOverride Options=` may list them).
fn is_option_name(word: &str) -> bool {
    [
        "All",
        "ExecCGI",
        "FollowSymLinks",
        "Includes",
        "IncludesNOEXEC",
        "Indexes",
        "MultiViews",
        "SymLinksIfOwnerMatch",
    ]
    .iter()
    .any(|o| o.eq_ignore_ascii_case(word))
}

/// Apache's override classes (`OR_AUTHCFG`, `OR_FILEINFO`, `OR_INDEXES`, `OR_LIMIT`,
/// `OR_OPTIONS`), as bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OverrideClasses(pub u8);

impl OverrideClasses {
    pub const NONE: OverrideClasses = OverrideClasses(0);
    pub const AUTH_CONFIG: OverrideClasses = OverrideClasses(1);
    pub const FILE_INFO: OverrideClasses = OverrideClasses(2);
    pub const INDEXES: OverrideClasses = OverrideClasses(4);
    pub const LIMIT: OverrideClasses = OverrideClasses(8);
    pub const OPTIONS: OverrideClasses = OverrideClasses(16);
    /// `OR_ALL`: a directive every class allows.
    pub const ALL: OverrideClasses = OverrideClasses(31);

    pub const fn union(self, other: OverrideClasses) -> OverrideClasses {
        OverrideClasses(self.0 | other.0)
    }

    pub const fn intersects(self, other: OverrideClasses) -> bool {
        self.0 & other.0 != 0
    }
}

/// What `AllowOverride` and `AllowOverrideList` allow in a directory's `.htaccess`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowOverride {
    pub classes: OverrideClasses,
    /// `Options=All,FollowSymLinks,...`: the options a `.htaccess` may set (Apache's
    /// `override_opts`); all of them unless `Options=` narrowed the list.
    pub options: Option<Vec<String>>,
    /// `Nonfatal=Override`: a directive of a class not allowed is skipped with a warning.
    pub nonfatal_override: bool,
    /// `Nonfatal=Unknown`: an unknown directive is skipped with a warning.
    pub nonfatal_unknown: bool,
    /// `AllowOverrideList`: directives allowed by name whatever their class.
    pub list: Vec<String>,
}

impl AllowOverride {
    /// Is any `.htaccess` file read at all? (`AllowOverride None` with no list: no.)
    pub fn reads_files(&self) -> bool {
        self.classes != OverrideClasses::NONE || !self.list.is_empty()
    }

    /// May a `.htaccess` file hold directive `name` (canonical spelling)?
    pub fn allows(&self, name: &str) -> bool {
        let class = override_class(name);
        class.intersects(self.classes) || self.list.iter().any(|l| l.eq_ignore_ascii_case(name))
    }

    /// May a `.htaccess` `Options` line with these arguments stand? `Err(option)` names
    /// the first option `AllowOverride Options=...` leaves out.
    pub fn options_allowed(&self, args: &[String]) -> Result<(), String> {
        let Some(allowed) = &self.options else {
            return Ok(());
        };
        for arg in args {
            let name = arg.trim_start_matches(['+', '-']);
            if name.eq_ignore_ascii_case("None") {
                continue;
            }
            let ok = allowed.iter().any(|a| {
                a.eq_ignore_ascii_case(name)
                    || (a.eq_ignore_ascii_case("All") && !name.eq_ignore_ascii_case("MultiViews"))
            });
            if !ok {
                return Err(name.to_string());
            }
        }
        Ok(())
    }
}

/// `AllowOverride All|None|class[=...] ...` into `into` (classes replace, the list is
/// kept: `AllowOverrideList` is its own directive).
pub fn allow_override(d: &Directive, into: &mut AllowOverride) -> Result<(), ConfigError> {
    let mut classes = OverrideClasses::NONE;
    let mut options = None;
    let (mut nonfatal_override, mut nonfatal_unknown) = (false, false);
    for arg in &d.args {
        let (word, value) = match arg.split_once('=') {
            Some((w, v)) => (w, Some(v)),
            None => (arg.as_str(), None),
        };
        let class = match word.to_ascii_lowercase().as_str() {
            "none" => OverrideClasses::NONE,
            "all" => OverrideClasses::ALL,
            "authconfig" => OverrideClasses::AUTH_CONFIG,
            "fileinfo" => OverrideClasses::FILE_INFO,
            "indexes" => OverrideClasses::INDEXES,
            "limit" => OverrideClasses::LIMIT,
            "options" => {
                if let Some(v) = value {
                    let list: Vec<String> = v.split(',').map(str::to_string).collect();
                    for o in &list {
                        if !is_option_name(o) {
                            return Err(err(
                                &d.location,
                                format!("Illegal option {o} in restricted AllowOverride"),
                            ));
                        }
                    }
                    options = Some(list);
                }
                OverrideClasses::OPTIONS
            }
            "nonfatal" => {
                match value.map(str::to_ascii_lowercase).as_deref() {
                    Some("override") => nonfatal_override = true,
                    Some("unknown") => nonfatal_unknown = true,
                    Some("all") => (nonfatal_override, nonfatal_unknown) = (true, true),
                    _ => {
                        return Err(err(
                            &d.location,
                            format!("{arg} is not a valid Nonfatal= value"),
                        ));
                    }
                }
                continue;
            }
            _ => return Err(err(&d.location, "Illegal override option")),
        };
        if value.is_some() && class != OverrideClasses::OPTIONS {
            return Err(err(&d.location, "Illegal override option"));
        }
        classes = classes.union(class);
    }
    into.classes = classes;
    into.options = options;
    into.nonfatal_override = nonfatal_override;
    into.nonfatal_unknown = nonfatal_unknown;
    Ok(())
}

/// `AllowOverrideList None|directive ...`.
pub fn allow_override_list(d: &Directive, into: &mut AllowOverride) {
    into.list = if d.args.len() == 1 && d.args[0].eq_ignore_ascii_case("none") {
        Vec::new()
    } else {
        d.args.clone()
    };
}

/// The override class of a directive or section (canonical spelling, sections without
/// `<`), as each Apache module declares it. `NONE`: never allowed in `.htaccess`
/// (`RSRC_CONF`/`ACCESS_CONF` directives such as `AllowOverride`, `Alias`, `ProxyPass`).
pub fn override_class(name: &str) -> OverrideClasses {
    use OverrideClasses as O;
    match name {
        // core, OR_ALL.
        "LimitRequestBody"
        | "LimitXMLRequestBody"
        | "ServerSignature"
        | "Files"
        | "FilesMatch"
        | "If"
        | "ElseIf"
        | "Else"
        | "IfModule"
        | "IfDefine"
        | "IfFile"
        | "IfDirective"
        | "IfSection"
        | "IfVersion" => O::ALL,
        // core, OR_OPTIONS.
        "Options" | "ContentDigest" => O::OPTIONS,
        // core, mod_mime, mod_alias, mod_rewrite, mod_headers, mod_env, mod_setenvif,
        // mod_filter, mod_negotiation, mod_dir's FallbackResource: OR_FILEINFO.
        "AcceptPathInfo"
        | "AddDefaultCharset"
        | "DefaultType"
        | "EnableMMAP"
        | "EnableSendfile"
        | "ErrorDocument"
        | "FileETag"
        | "ForceType"
        | "SetHandler"
        | "SetInputFilter"
        | "SetOutputFilter"
        | "CGIVar"
        | "AddType"
        | "AddHandler"
        | "AddCharset"
        | "AddEncoding"
        | "AddLanguage"
        | "AddInputFilter"
        | "AddOutputFilter"
        | "RemoveHandler"
        | "RemoveType"
        | "RemoveCharset"
        | "RemoveEncoding"
        | "RemoveLanguage"
        | "RemoveInputFilter"
        | "RemoveOutputFilter"
        | "DefaultLanguage"
        | "MultiviewsMatch"
        | "Redirect"
        | "RedirectMatch"
        | "RedirectTemp"
        | "RedirectPermanent"
        | "RewriteEngine"
        | "RewriteOptions"
        | "RewriteBase"
        | "RewriteCond"
        | "RewriteRule"
        | "Header"
        | "RequestHeader"
        | "SetEnv"
        | "PassEnv"
        | "UnsetEnv"
        | "SetEnvIf"
        | "SetEnvIfNoCase"
        | "BrowserMatch"
        | "BrowserMatchNoCase"
        | "SetEnvIfExpr"
        | "AddOutputFilterByType"
        | "LanguagePriority"
        | "ForceLanguagePriority"
        | "FallbackResource" => O::FILE_INFO,
        // mod_dir, mod_autoindex, mod_expires: OR_INDEXES.
        "DirectoryIndex"
        | "DirectorySlash"
        | "DirectoryCheckHandler"
        | "DirectoryIndexRedirect"
        | "IndexOptions"
        | "IndexIgnore"
        | "IndexIgnoreReset"
        | "IndexOrderDefault"
        | "IndexStyleSheet"
        | "IndexHeadInsert"
        | "AddIcon"
        | "AddIconByType"
        | "AddIconByEncoding"
        | "AddAlt"
        | "AddAltByType"
        | "AddAltByEncoding"
        | "AddDescription"
        | "DefaultIcon"
        | "HeaderName"
        | "ReadmeName"
        | "ExpiresActive"
        | "ExpiresByType"
        | "ExpiresDefault" => O::INDEXES,
        // Authentication and authorization: OR_AUTHCFG.
        "AuthType"
        | "AuthName"
        | "AuthBasicProvider"
        | "AuthBasicAuthoritative"
        | "AuthBasicFake"
        | "AuthBasicUseDigestAlgorithm"
        | "AuthUserFile"
        | "AuthGroupFile"
        | "Require"
        | "RequireAll"
        | "RequireAny"
        | "RequireNone"
        | "AuthMerging"
        | "AuthzSendForbiddenOnFailure"
        | "Satisfy"
        | "CGIPassAuth"
        | "SSLRequireSSL"
        | "SSLRequire"
        | "SSLVerifyClient"
        | "SSLVerifyDepth"
        | "SSLCipherSuite"
        | "SSLRenegBufferSize" => O::AUTH_CONFIG,
        "SSLOptions" => O::OPTIONS,
        // mod_access_compat: OR_LIMIT; <Limit> holds either kind.
        "Order" | "Allow" | "Deny" => O::LIMIT,
        "Limit" | "LimitExcept" => O::LIMIT.union(O::AUTH_CONFIG),
        _ => O::NONE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rhttpd_config::Location;
    use std::path::Path;
    use std::sync::Arc;

    fn directive(name: &'static str, args: &[&str]) -> Directive {
        Directive {
            name,
            args: args.iter().map(|s| s.to_string()).collect(),
            location: Location {
                file: Arc::from(Path::new("t.conf")),
                line: 1,
            },
        }
    }

    fn parsed(args: &[&str]) -> Result<AllowOverride, String> {
        let mut a = AllowOverride::default();
        allow_override(&directive("AllowOverride", args), &mut a)
            .map(|()| a)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn classes_gate_directives_as_apache_s_tables() {
        let fileinfo = parsed(&["FileInfo"]).unwrap();
        assert!(fileinfo.reads_files());
        assert!(fileinfo.allows("RewriteRule") && fileinfo.allows("ErrorDocument"));
        assert!(!fileinfo.allows("AuthType") && !fileinfo.allows("Options"));
        // OR_ALL directives are allowed by any class.
        assert!(fileinfo.allows("Files") && fileinfo.allows("LimitRequestBody"));
        let all = parsed(&["All"]).unwrap();
        assert!(all.allows("Require") && all.allows("Order") && all.allows("DirectoryIndex"));
        // Server-only directives never are.
        for name in [
            "AllowOverride",
            "Alias",
            "ProxyPass",
            "DocumentRoot",
            "RewriteMap",
        ] {
            assert!(!all.allows(name), "{name}");
        }
        let none = parsed(&["None"]).unwrap();
        assert!(!none.reads_files() && !none.allows("LimitRequestBody"));
        let mut listed = none.clone();
        allow_override_list(
            &directive("AllowOverrideList", &["Redirect", "RewriteRule"]),
            &mut listed,
        );
        assert!(listed.reads_files() && listed.allows("redirect") && !listed.allows("Header"));
    }

    #[test]
    fn bad_values_are_apache_s_errors() {
        assert!(
            parsed(&["Bogus"])
                .unwrap_err()
                .contains("Illegal override option")
        );
        assert!(
            parsed(&["FileInfo=x"])
                .unwrap_err()
                .contains("Illegal override option")
        );
        assert!(
            parsed(&["Options=Nope"])
                .unwrap_err()
                .contains("Illegal option Nope in restricted AllowOverride")
        );
        let nf = parsed(&["AuthConfig", "Nonfatal=All"]).unwrap();
        assert!(nf.nonfatal_override && nf.nonfatal_unknown);
        assert_eq!(
            parsed(&["Options=Indexes,FollowSymLinks"]).unwrap().classes,
            OverrideClasses::OPTIONS
        );
    }
}
