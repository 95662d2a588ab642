//! Per-directory configuration: what `<Directory>`, `<Files>`, `<Location>` (and the
//! server/vhost level, for directives allowed everywhere) can set, and how sections merge.
//!
//! Every field is an `Option` (or an additive list) so that merging is "the more specific
//! section wins where it said something"; the accessors supply Apache's defaults.

use std::collections::HashMap;
use std::sync::Arc;

/// `Options` flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    pub indexes: bool,
    pub follow_symlinks: bool,
    pub symlinks_if_owner_match: bool,
    pub exec_cgi: bool,
    pub includes: bool,
    pub multiviews: bool,
}

impl Options {
    /// Apache 2.4's default: FollowSymLinks only.
    pub const DEFAULT: Options = Options {
        indexes: false,
        follow_symlinks: true,
        symlinks_if_owner_match: false,
        exec_cgi: false,
        includes: false,
        multiviews: false,
    };
}

/// One `Options` directive: either an absolute set or +/- edits of the inherited set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OptionsEdit {
    Set(Options),
    Relative { add: Options, remove: Options },
}

impl OptionsEdit {
    pub fn apply(&self, base: Options) -> Options {
        match self {
            OptionsEdit::Set(o) => *o,
            OptionsEdit::Relative { add, remove } => {
                let f = |b: bool, a: bool, r: bool| (b || a) && !r;
                Options {
                    indexes: f(base.indexes, add.indexes, remove.indexes),
                    follow_symlinks: f(
                        base.follow_symlinks,
                        add.follow_symlinks,
                        remove.follow_symlinks,
                    ),
                    symlinks_if_owner_match: f(
                        base.symlinks_if_owner_match,
                        add.symlinks_if_owner_match,
                        remove.symlinks_if_owner_match,
                    ),
                    exec_cgi: f(base.exec_cgi, add.exec_cgi, remove.exec_cgi),
                    includes: f(base.includes, add.includes, remove.includes),
                    multiviews: f(base.multiviews, add.multiviews, remove.multiviews),
                }
            }
        }
    }
}

/// `FileETag` components. Apache 2.4's default is `MTime Size`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileETag {
    pub inode: bool,
    pub mtime: bool,
    pub size: bool,
}

impl FileETag {
    pub const DEFAULT: FileETag = FileETag {
        inode: false,
        mtime: true,
        size: true,
    };

    /// `FileETag None`: no ETag header at all.
    pub fn is_none(&self) -> bool {
        !self.inode && !self.mtime && !self.size
    }
}

/// One `Require` line of mod_authz_core/mod_authz_host, or a `<RequireAll>`/`<RequireAny>`/
/// `<RequireNone>` container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequireRule {
    /// `Require all granted` (true) / `Require all denied` (false).
    All(bool),
    /// `Require ip 10.0.0.0/8 ::1 192.168` (networks as (address, prefix length)).
    Ip(Vec<(std::net::IpAddr, u8)>),
    /// `Require host example.org`: double-reverse DNS of the client, suffix match
    /// (HostnameLookups Off does not disable it, as in Apache).
    Host(Vec<String>),
    /// `Require local`: loopback addresses and the server's own address.
    Local,
    /// `Require method GET POST`.
    Method(Vec<String>),
    /// mod_authz_user's `Require user alice bob`.
    User(Vec<String>),
    /// mod_authz_user's `Require valid-user`.
    ValidUser,
    /// mod_authz_groupfile's `Require group staff`.
    Group(Vec<String>),
    /// `Require expr EXPRESSION` (ap_expr).
    Expr(super::expr::ConfExpr),
    /// mod_authz_host's `Require env VAR ...`: one of the request's variables is set.
    Env(Vec<String>),
    /// `Require not ...`.
    Not(Box<RequireRule>),
    /// `<RequireAll>`: every member must grant and none deny.
    AllOf(Vec<RequireRule>),
    /// `<RequireAny>`: one member granting is enough.
    AnyOf(Vec<RequireRule>),
    /// `<RequireNone>`: no member may grant.
    NoneOf(Vec<RequireRule>),
    /// A rule inside `<Limit>`/`<LimitExcept>`: it counts only for these methods (for
    /// others it is neutral, or granting inside `<RequireAll>`, as mod_authz_core).
    Limited(super::limit::Methods, Box<RequireRule>),
}

/// The effective authorisation of a section: the Require lines of the most specific
/// section that has any (Apache's default `AuthMerging Off`), combined as `<RequireAny>`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Require {
    pub rules: Vec<RequireRule>,
}

/// An `ErrorDocument` target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorDocument {
    /// A local URL path (`/errors/404.html`): served by an internal redirect.
    Local(DocText),
    /// An external URL: the client gets a 302 to it.
    Remote(DocText),
    /// A quoted message: sent as text/html.
    Text(DocText),
    /// `ErrorDocument 404 default`: back to the built-in page.
    Default,
}

/// An `ErrorDocument` argument: literal text, or (Apache 2.4.13+) an ap_expr string
/// expression such as `/errors/%{REQUEST_STATUS}.html`, evaluated per response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DocText {
    Literal(String),
    Expr(crate::conf::expr::ConfExpr),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerSignature {
    Off,
    On,
    Email,
}

/// The per-directory configuration, mergeable.
#[derive(Clone, Debug, Default)]
pub struct DirConfig {
    /// Options edits in order of application, from least to most specific.
    pub options: Vec<OptionsEdit>,
    pub require: Option<Require>,
    pub directory_index: Option<Vec<String>>,
    /// AddType: extension (lower case, without dot) → MIME type.
    pub add_types: Arc<HashMap<String, String>>,
    /// AddDefaultCharset: Some(None) = Off, Some(Some(cs)) = On/charset.
    pub add_default_charset: Option<Option<String>>,
    pub file_etag: Option<FileETag>,
    pub enable_sendfile: Option<bool>,
    pub limit_request_body: Option<u64>,
    /// SetHandler (`None` string means "SetHandler None").
    pub set_handler: Option<String>,
    /// AddHandler: extension → handler name.
    pub add_handlers: Arc<HashMap<String, String>>,
    pub error_documents: Arc<HashMap<u16, ErrorDocument>>,
    pub server_signature: Option<ServerSignature>,
    /// ForceType.
    pub force_type: Option<String>,
    /// DirectorySlash (default On).
    pub directory_slash: Option<bool>,
    /// IndexIgnore patterns (added up along the merge, reset by IndexIgnoreReset).
    pub index_ignore: Option<Vec<String>>,
    /// AddCharset: extension → charset.
    pub add_charsets: Arc<HashMap<String, String>>,
    /// AddEncoding: extension → content coding.
    pub add_encodings: Arc<HashMap<String, String>>,
    /// mod_cgid's CGIDScriptTimeout (0 or unset: `Timeout` applies).
    pub cgid_script_timeout: Option<std::time::Duration>,
    /// mod_alias `Redirect` with the URL path left out, in a section (`<Location /old>`
    /// `Redirect /new`): every request the section matches is redirected to the target.
    pub redirect: Option<SectionRedirect>,
    /// mod_alias `Redirect URL-path URL` inside a section, most specific section first
    /// (Apache's merge appends the base's list after the more specific one's).
    pub redirects: Vec<super::Redirect>,
    /// mod_ssl's `SSLOptions` and `SSLRequireSSL`.
    pub ssl: super::ssl::SslDir,
    /// mod_env's `SetEnv`, `PassEnv`, `UnsetEnv`.
    pub env: super::env::EnvDir,
    /// mod_setenvif's rules (server-level ones first).
    pub setenvif: super::setenvif::SetEnvIfDir,
    /// mod_expires.
    pub expires: super::expires::ExpiresDir,
    /// mod_headers' `Header` and `RequestHeader` lines.
    pub headers: super::headers::HeadersDir,
    /// Authentication (mod_authn_core, mod_auth_basic, mod_authn_file, ...).
    pub auth: super::auth::AuthDir,
    /// Output filters and mod_deflate.
    pub deflate: super::deflate::DeflateDir,
    /// `MaxRanges`, `MaxRangeOverlaps`, `MaxRangeReversals` (`usize::MAX`: unlimited).
    pub max_ranges: Option<usize>,
    pub max_range_overlaps: Option<usize>,
    pub max_range_reversals: Option<usize>,
    /// mod_access_compat's Order/Allow/Deny/Satisfy.
    pub access_compat: super::access_compat::AccessCompat,
    /// `AllowOverride` (classes, `Options=`, `Nonfatal=`) of a non-regex `<Directory>`.
    pub allow_override: Option<super::overrides::AllowOverride>,
    /// `AllowOverrideList` of a non-regex `<Directory>`.
    pub allow_override_list: Option<Vec<String>>,
    /// `<If>`/`<ElseIf>`/`<Else>` chains, least specific first, decided per request.
    pub ifs: Vec<Arc<super::conditional::IfChain>>,
    /// mod_rewrite's per-directory rules (`conf/rewrite`).
    pub rewrite: super::rewrite::RewriteDir,
    /// mod_alias's one-argument `Alias`/`ScriptAlias` of a `<Location>`.
    pub alias: Option<super::alias::LocationAlias>,
    /// mod_dir's `FallbackResource` (`disabled` turns an inherited one off).
    pub fallback_resource: Option<String>,
    /// Languages (AddLanguage, DefaultLanguage), MultiviewsMatch, LanguagePriority.
    pub negotiation: super::negotiation::NegotiationDir,
}

/// The `Require` lines in force after a more specific section: its own replace the
/// inherited ones (`AuthMerging Off`), or join them as both (`And`) or either (`Or`).
fn merge_require(
    base: &Option<Require>,
    more: &Option<Require>,
    merging: super::auth::AuthMerging,
) -> Option<Require> {
    use super::auth::AuthMerging;
    match (base, more) {
        (Some(b), Some(m)) => Some(match merging {
            AuthMerging::Off => m.clone(),
            AuthMerging::And => Require {
                rules: vec![RequireRule::AllOf(vec![
                    RequireRule::AnyOf(b.rules.clone()),
                    RequireRule::AnyOf(m.rules.clone()),
                ])],
            },
            AuthMerging::Or => Require {
                rules: b.rules.iter().chain(&m.rules).cloned().collect(),
            },
        }),
        (b, None) => b.clone(),
        (None, m) => m.clone(),
    }
}

/// A section's one-argument `Redirect [status] URL` (or `Redirect gone`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SectionRedirect {
    pub status: u16,
    /// `None` for a status that is not a redirection (`gone`).
    pub target: Option<String>,
}

impl DirConfig {
    /// Merge `more` (more specific) over `self`.
    pub fn merge(&self, more: &DirConfig) -> DirConfig {
        fn map<K: Clone + Eq + std::hash::Hash, V: Clone>(
            a: &Arc<HashMap<K, V>>,
            b: &Arc<HashMap<K, V>>,
        ) -> Arc<HashMap<K, V>> {
            if b.is_empty() {
                a.clone()
            } else if a.is_empty() {
                b.clone()
            } else {
                let mut m = (**a).clone();
                m.extend(b.iter().map(|(k, v)| (k.clone(), v.clone())));
                Arc::new(m)
            }
        }
        let mut options = self.options.clone();
        options.extend(more.options.iter().cloned());
        DirConfig {
            options,
            require: merge_require(&self.require, &more.require, more.auth.merging),
            directory_index: more
                .directory_index
                .clone()
                .or_else(|| self.directory_index.clone()),
            add_types: map(&self.add_types, &more.add_types),
            add_default_charset: more
                .add_default_charset
                .clone()
                .or_else(|| self.add_default_charset.clone()),
            file_etag: more.file_etag.or(self.file_etag),
            enable_sendfile: more.enable_sendfile.or(self.enable_sendfile),
            limit_request_body: more.limit_request_body.or(self.limit_request_body),
            set_handler: more
                .set_handler
                .clone()
                .or_else(|| self.set_handler.clone()),
            add_handlers: map(&self.add_handlers, &more.add_handlers),
            error_documents: map(&self.error_documents, &more.error_documents),
            server_signature: more.server_signature.or(self.server_signature),
            force_type: more.force_type.clone().or_else(|| self.force_type.clone()),
            directory_slash: more.directory_slash.or(self.directory_slash),
            index_ignore: more
                .index_ignore
                .clone()
                .or_else(|| self.index_ignore.clone()),
            add_charsets: map(&self.add_charsets, &more.add_charsets),
            add_encodings: map(&self.add_encodings, &more.add_encodings),
            cgid_script_timeout: more.cgid_script_timeout.or(self.cgid_script_timeout),
            redirect: more.redirect.clone().or_else(|| self.redirect.clone()),
            redirects: more
                .redirects
                .iter()
                .chain(&self.redirects)
                .cloned()
                .collect(),
            ssl: self.ssl.merge(&more.ssl),
            env: self.env.merge(&more.env),
            setenvif: self.setenvif.merge(&more.setenvif),
            expires: self.expires.merge(&more.expires),
            auth: self.auth.merge(&more.auth),
            deflate: self.deflate.merge(&more.deflate),
            max_ranges: more.max_ranges.or(self.max_ranges),
            max_range_overlaps: more.max_range_overlaps.or(self.max_range_overlaps),
            max_range_reversals: more.max_range_reversals.or(self.max_range_reversals),
            access_compat: self.access_compat.merge(&more.access_compat),
            headers: self.headers.merge(&more.headers),
            allow_override: more
                .allow_override
                .clone()
                .or_else(|| self.allow_override.clone()),
            allow_override_list: more
                .allow_override_list
                .clone()
                .or_else(|| self.allow_override_list.clone()),
            ifs: self.ifs.iter().chain(&more.ifs).cloned().collect(),
            rewrite: self.rewrite.merge(&more.rewrite),
            alias: more.alias.clone().or_else(|| self.alias.clone()),
            fallback_resource: more
                .fallback_resource
                .clone()
                .or_else(|| self.fallback_resource.clone()),
            negotiation: self.negotiation.merge(&more.negotiation),
        }
    }

    /// What a `.htaccess` file in this directory may hold (Apache 2.4's default:
    /// `AllowOverride None`, `AllowOverrideList None`).
    pub fn overrides(&self) -> super::overrides::AllowOverride {
        let mut o = self.allow_override.clone().unwrap_or_default();
        o.list = self.allow_override_list.clone().unwrap_or_default();
        o
    }

    pub fn options(&self) -> Options {
        self.options
            .iter()
            .fold(Options::DEFAULT, |acc, edit| edit.apply(acc))
    }

    pub fn directory_index(&self) -> Vec<String> {
        self.directory_index
            .clone()
            .unwrap_or_else(|| vec!["index.html".to_string()])
    }

    pub fn file_etag(&self) -> FileETag {
        self.file_etag.unwrap_or(FileETag::DEFAULT)
    }

    /// Apache's default is EnableSendfile Off since 2.4 (for network filesystems); rhttpd
    /// defaults to On, as Debian's and most operators' configs do (see docs/).
    pub fn enable_sendfile(&self) -> bool {
        self.enable_sendfile.unwrap_or(true)
    }

    pub fn limit_request_body(&self) -> u64 {
        self.limit_request_body.unwrap_or(1 << 30)
    }

    /// The charset AddDefaultCharset adds to text/plain and text/html responses.
    pub fn default_charset(&self) -> Option<&str> {
        match &self.add_default_charset {
            Some(Some(cs)) => Some(cs.as_str()),
            _ => None,
        }
    }

    /// mod_alias's fixup for the sections' `Redirect`s: the status and `Location` (if
    /// any) for a request to `uri_path`. The one-argument form wins over the
    /// `URL-path URL` and `RedirectMatch` ones; the request's query string is appended
    /// unless the target has its own. A `RedirectMatch` substitution that is too long
    /// answers 500 (AH00672 is logged by the caller's status).
    pub fn section_redirect(
        &self,
        uri_path: &str,
        query: Option<&str>,
    ) -> Option<(u16, Option<String>)> {
        let (status, target) = match &self.redirect {
            Some(r) => (r.status, r.target.clone()),
            None => super::alias::first_redirect(&self.redirects, uri_path)?,
        };
        let target = target.map(|mut t| {
            if let Some(q) = query
                && !t.contains('?')
            {
                t.push('?');
                t.push_str(q);
            }
            t
        });
        Some((status, target))
    }

    pub fn directory_slash(&self) -> bool {
        self.directory_slash.unwrap_or(true)
    }

    pub fn server_signature(&self) -> ServerSignature {
        self.server_signature.unwrap_or(ServerSignature::Off)
    }
}
