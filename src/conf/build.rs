//! From the parser's tree to a [`ServerConfig`]: gives each directive its meaning.
//!
//! Order of work, as Apache's: the main server's directives are applied first (all of
//! them, wherever they appear relative to `<VirtualHost>` sections), then every virtual
//! host starts from a copy of the finished main server and applies its own directives.
//! That is how a vhost inherits the main server's values for everything it did not set.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rhttpd_config::{ConfigError, Directive, Location, Node, ParseOptions, Section};

use super::*;
use crate::log::{LogFormats, LogLevels};
use crate::modules::mime::MimeTypes;

/// What the command line contributes to loading.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    pub file: PathBuf,
    pub server_root: PathBuf,
    pub defines: Vec<String>,
    pub pre_directives: Vec<String>,
    pub post_directives: Vec<String>,
    /// The text of the main file when it is compiled in (the default config).
    pub embedded: Option<&'static str>,
}

/// Parse and build the configuration.
pub fn load(opts: &LoadOptions) -> Result<ServerConfig, ConfigError> {
    let parsed = rhttpd_config::parse(&ParseOptions {
        file: opts.file.clone(),
        server_root: opts.server_root.clone(),
        defines: opts.defines.clone(),
        pre_directives: opts.pre_directives.clone(),
        post_directives: opts.post_directives.clone(),
        modules: crate::modules::MODULES,
        embedded: opts.embedded,
    })?;
    let mut b = Builder::new(&parsed.server_root, opts.file.clone());
    b.cfg.loaded_modules = parsed.loaded_modules.clone();
    b.cfg.defines = parsed.defines.clone();
    b.cfg.warnings.extend(parsed.warnings.iter().cloned());

    // Pass 1: the main server (everything outside <VirtualHost>).
    let mut vhost_sections = Vec::new();
    for node in &parsed.nodes {
        match node {
            Node::Section(s) if s.name == "VirtualHost" => vhost_sections.push(s),
            _ => {
                let mut main = std::mem::take(&mut b.cfg.main);
                let r = b.host_node(&mut main, node, false);
                b.cfg.main = main;
                r?;
            }
        }
    }
    b.finish_main()?;

    // Pass 2: virtual hosts, each starting from the finished main server.
    for s in vhost_sections {
        let v = b.virtual_host(s)?;
        b.cfg.vhosts.push(v);
    }
    b.finish()
}

struct Builder {
    cfg: ServerConfig,
    formats: LogFormats,
    /// Raw CustomLog lines of the main server (resolved once all LogFormats are known).
    main_logs: Vec<(String, String, Location)>,
    types_config: Option<(String, Location)>,
}

fn err(loc: &Location, msg: impl Into<String>) -> ConfigError {
    ConfigError::at(loc, msg)
}

fn flag(d: &Directive) -> bool {
    d.args.first().is_some_and(|a| a.eq_ignore_ascii_case("on"))
}

fn number<T: std::str::FromStr>(d: &Directive, what: &str) -> Result<T, ConfigError> {
    let a = d.args.first().map(String::as_str).unwrap_or("");
    a.trim().parse::<T>().map_err(|_| {
        err(
            &d.location,
            format!("{} argument '{a}' is not a valid {what}", d.name),
        )
    })
}

/// `Timeout`-style values: seconds, or with a unit suffix (`ms`, `s`, `mi`, `h`) as
/// Apache's ap_timeout_parameter_parse accepts.
fn duration(d: &Directive) -> Result<Duration, ConfigError> {
    let a = d.args.first().map(String::as_str).unwrap_or("").trim();
    let split = a.find(|c: char| !c.is_ascii_digit()).unwrap_or(a.len());
    let (num, unit) = a.split_at(split);
    let n: u64 = num.parse().map_err(|_| {
        err(
            &d.location,
            format!("{} argument '{a}' is not a valid time", d.name),
        )
    })?;
    let dur = match unit.to_ascii_lowercase().as_str() {
        "" | "s" => Duration::from_secs(n),
        "ms" => Duration::from_millis(n),
        "mi" => Duration::from_secs(n.saturating_mul(60)),
        "h" => Duration::from_secs(n.saturating_mul(3600)),
        _ => {
            return Err(err(
                &d.location,
                format!("{} argument '{a}' is not a valid time", d.name),
            ));
        }
    };
    Ok(dur)
}

impl Builder {
    fn new(server_root: &Path, config_file: PathBuf) -> Self {
        let mut main = VirtualHost {
            document_root: server_root.join("htdocs"),
            ..VirtualHost::default()
        };
        main.base_dir = DirConfig::default();
        Builder {
            cfg: ServerConfig {
                config_file,
                server_root: server_root.to_path_buf(),
                listeners: Vec::new(),
                listen_backlog: 511,
                main,
                vhosts: Vec::new(),
                pid_file: server_root.join("logs/httpd.pid"),
                user: "#-1".to_string(),
                group: "#-1".to_string(),
                error_log: "logs/error_log".to_string(),
                log_level: LogLevels::default(),
                server_tokens: ServerTokens::Full,
                mime: Arc::new(MimeTypes::default()),
                types_config: server_root.join("conf/mime.types"),
                mpm: None,
                loaded_modules: Vec::new(),
                defines: Vec::new(),
                mpm_directives: Vec::new(),
                extended_status: None,
                see_request_tail: false,
                graceful_shutdown_timeout: Duration::ZERO,
                core_dump_directory: None,
                warnings: Vec::new(),
            },
            formats: LogFormats::default(),
            main_logs: Vec::new(),
            types_config: None,
        }
    }

    fn path(&self, p: &str) -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.cfg.server_root.join(p)
        }
    }

    /// A node at server or virtual-host level.
    fn host_node(
        &mut self,
        host: &mut VirtualHost,
        node: &Node,
        in_vhost: bool,
    ) -> Result<(), ConfigError> {
        match node {
            Node::Section(s) => self.section(host, s),
            Node::Directive(d) => {
                // LogLevel is valid everywhere, but at server and virtual-host level it
                // sets the error log's levels rather than a per-directory value.
                if d.name != "LogLevel" && self.dir_directive(&mut host.base_dir, d)? {
                    return Ok(());
                }
                if self.host_directive(host, d, in_vhost)? {
                    return Ok(());
                }
                if in_vhost {
                    // The parser's context check keeps global directives out of vhosts.
                    return Err(err(&d.location, format!("{} not allowed here", d.name)));
                }
                self.global_directive(d)
            }
        }
    }

    fn section(&mut self, host: &mut VirtualHost, s: &Section) -> Result<(), ConfigError> {
        let arg = |i: usize| s.args.get(i).map(String::as_str).unwrap_or("");
        let regex = |pat: &str| {
            regex::Regex::new(pat)
                .map(PathPattern::Regex)
                .map_err(|e| err(&s.location, format!("Regex could not be compiled: {e}")))
        };
        let (matcher, tilde) = match s.name {
            "Directory" | "DirectoryMatch" => {
                let tilde = arg(0) == "~";
                let pat = if s.name == "DirectoryMatch" || tilde {
                    regex(if tilde { arg(1) } else { arg(0) })?
                } else {
                    let p = self.path(arg(0));
                    let mut t = p.to_string_lossy().into_owned();
                    while t.len() > 1 && t.ends_with('/') {
                        t.pop();
                    }
                    PathPattern::Wildcard(t)
                };
                (SectionMatch::Directory(pat), tilde)
            }
            "Location" | "LocationMatch" => {
                let tilde = arg(0) == "~";
                let pat = if s.name == "LocationMatch" || tilde {
                    regex(if tilde { arg(1) } else { arg(0) })?
                } else {
                    PathPattern::Wildcard(arg(0).to_string())
                };
                (SectionMatch::Location(pat), tilde)
            }
            "Files" | "FilesMatch" => {
                let tilde = arg(0) == "~";
                let pat = if s.name == "FilesMatch" || tilde {
                    regex(if tilde { arg(1) } else { arg(0) })?
                } else {
                    PathPattern::Wildcard(arg(0).to_string())
                };
                (SectionMatch::Files(pat), tilde)
            }
            "VirtualHost" => {
                return Err(err(
                    &s.location,
                    "<VirtualHost> cannot occur within <VirtualHost> section",
                ));
            }
            "Limit" | "LimitExcept" => {
                return Err(err(
                    &s.location,
                    format!(
                        "<{}> is not supported by rhttpd; use 'Require method ...' inside <RequireAll>",
                        s.name
                    ),
                ));
            }
            other => {
                return Err(err(&s.location, format!("<{other}> is not allowed here")));
            }
        };
        if s.args.is_empty() || (tilde && s.args.len() < 2) {
            return Err(err(
                &s.location,
                format!("<{}> directive requires additional arguments", s.name),
            ));
        }
        let config =
            self.dir_section_body(&s.children, matches!(matcher, SectionMatch::Directory(_)))?;
        // <Files> nested inside <Directory> become their own sections after it (Apache
        // merges them in the Files phase, which runs after every Directory section).
        let mut nested = Vec::new();
        for child in &s.children {
            if let Node::Section(inner) = child
                && (inner.name == "Files" || inner.name == "FilesMatch")
            {
                nested.push(inner);
            }
        }
        super::proxy::section_hook(host, &matcher, &s.children)?;
        host.sections.push(DirSection {
            matcher,
            config,
            location: s.location.clone(),
        });
        for inner in nested {
            self.section(host, inner)?;
        }
        Ok(())
    }

    /// The directives inside a per-directory section.
    fn dir_section_body(
        &mut self,
        nodes: &[Node],
        in_directory: bool,
    ) -> Result<DirConfig, ConfigError> {
        let mut dc = DirConfig::default();
        let mut require = Vec::new();
        for node in nodes {
            match node {
                Node::Directive(d) if d.name == "Require" => require.push(require_rule(d)?),
                Node::Directive(d)
                    if d.name == "AllowOverride" || d.name == "AllowOverrideList" =>
                {
                    let none = d.args.len() == 1 && d.args[0].eq_ignore_ascii_case("none");
                    if !none && in_directory {
                        return Err(err(
                            &d.location,
                            format!(
                                "{} {}: rhttpd does not read .htaccess files; use 'AllowOverride None' and move the directives into the main configuration",
                                d.name,
                                d.args.join(" ")
                            ),
                        ));
                    }
                }
                Node::Directive(d) if super::proxy::handles(d.name) => {}
                Node::Directive(d) => {
                    if !self.dir_directive(&mut dc, d)? {
                        return Err(err(&d.location, format!("{} not allowed here", d.name)));
                    }
                }
                Node::Section(s)
                    if matches!(s.name, "RequireAll" | "RequireAny" | "RequireNone") =>
                {
                    require.push(require_container(s)?)
                }
                Node::Section(s) if s.name == "Files" || s.name == "FilesMatch" => {}
                Node::Section(s) if s.name == "Limit" || s.name == "LimitExcept" => {
                    return Err(err(
                        &s.location,
                        format!(
                            "<{}> is not supported by rhttpd; use 'Require method ...' inside <RequireAll>",
                            s.name
                        ),
                    ));
                }
                Node::Section(s) => {
                    return Err(err(
                        &s.location,
                        format!(
                            "<{}> cannot occur within <Directory/Location/Files> section",
                            s.name
                        ),
                    ));
                }
            }
        }
        if !require.is_empty() {
            dc.require = Some(Require { rules: require });
        }
        Ok(dc)
    }

    /// Per-directory directives, valid at every level. Returns false when `d` is not one.
    fn dir_directive(&mut self, dc: &mut DirConfig, d: &Directive) -> Result<bool, ConfigError> {
        let a0 = d.args.first().map(String::as_str).unwrap_or("");
        match d.name {
            "Options" => dc.options.push(parse_options(d)?),
            "ErrorDocument" => {
                let code: u16 = a0
                    .parse()
                    .ok()
                    .filter(|c| (400..600).contains(c) || (300..400).contains(c))
                    .ok_or_else(|| err(&d.location, "Unsupported HTTP response code"))?;
                let target = d.args.get(1).cloned().unwrap_or_default();
                let doc = if target.eq_ignore_ascii_case("default") {
                    ErrorDocument::Default
                } else if target.starts_with('/') {
                    ErrorDocument::Local(target)
                } else if target.contains("://") {
                    ErrorDocument::Remote(target)
                } else {
                    // Apache: a message (the quotes were removed by the parser; a
                    // leading quote marks a message in Apache 2.0 syntax).
                    ErrorDocument::Text(target.trim_start_matches('"').to_string())
                };
                Arc::make_mut(&mut dc.error_documents).insert(code, doc);
            }
            "AddDefaultCharset" => {
                dc.add_default_charset = Some(if a0.eq_ignore_ascii_case("off") {
                    None
                } else if a0.eq_ignore_ascii_case("on") {
                    Some("iso-8859-1".to_string())
                } else {
                    Some(a0.to_string())
                });
            }
            "ServerSignature" => {
                dc.server_signature = Some(match a0.to_ascii_lowercase().as_str() {
                    "on" => ServerSignature::On,
                    "off" => ServerSignature::Off,
                    "email" => ServerSignature::Email,
                    _ => {
                        return Err(err(
                            &d.location,
                            "ServerSignature: use one of: off | on | email",
                        ));
                    }
                })
            }
            "LimitRequestBody" => {
                dc.limit_request_body = Some(number::<u64>(d, "number")?.min(i64::MAX as u64))
            }
            "FileETag" => dc.file_etag = Some(parse_file_etag(d)?),
            "EnableSendfile" => dc.enable_sendfile = Some(flag(d)),
            "EnableMMAP" | "AddLanguage" | "AddOutputFilter" | "AddInputFilter"
            | "DefaultLanguage" | "UseCanonicalName" | "IndexOptions" | "IndexOrderDefault"
            | "IndexStyleSheet" | "IndexHeadInsert" | "AddIcon" | "AddIconByType"
            | "AddIconByEncoding" | "AddAlt" | "AddAltByType" | "AddAltByEncoding"
            | "AddDescription" | "DefaultIcon" | "HeaderName" | "ReadmeName" => {}
            "HostnameLookups" => {
                if !a0.eq_ignore_ascii_case("off") {
                    return Err(err(
                        &d.location,
                        format!(
                            "HostnameLookups {a0}: rhttpd logs client addresses only; use HostnameLookups Off (Require host still works)"
                        ),
                    ));
                }
            }
            "LogLevel" => {
                // Per-directory LogLevel is accepted; the server-wide level governs.
                LogLevels::parse(&d.args).map_err(|m| err(&d.location, m))?;
            }
            "SetHandler" => {
                dc.set_handler = Some(if a0.eq_ignore_ascii_case("none") {
                    String::new()
                } else if a0
                    .get(..6)
                    .is_some_and(|p| p.eq_ignore_ascii_case("proxy:"))
                {
                    format!("proxy:{}", &a0[6..])
                } else {
                    a0.to_ascii_lowercase()
                })
            }
            "ForceType" => {
                dc.force_type = if a0.eq_ignore_ascii_case("none") {
                    None
                } else {
                    Some(a0.to_string())
                }
            }
            "AddType" | "AddHandler" | "AddCharset" | "AddEncoding" => {
                let value = a0.to_string();
                let map = match d.name {
                    "AddType" => &mut dc.add_types,
                    "AddHandler" => &mut dc.add_handlers,
                    "AddCharset" => &mut dc.add_charsets,
                    _ => &mut dc.add_encodings,
                };
                let m = Arc::make_mut(map);
                for ext in &d.args[1..] {
                    m.insert(
                        ext.trim_start_matches('.').to_ascii_lowercase(),
                        value.clone(),
                    );
                }
            }
            "RemoveHandler" | "RemoveType" => {
                let map = if d.name == "RemoveHandler" {
                    &mut dc.add_handlers
                } else {
                    &mut dc.add_types
                };
                let m = Arc::make_mut(map);
                for ext in &d.args {
                    m.remove(&ext.trim_start_matches('.').to_ascii_lowercase());
                }
            }
            "DirectoryIndex" => {
                dc.directory_index = Some(
                    if d.args.len() == 1 && a0.eq_ignore_ascii_case("disabled") {
                        Vec::new()
                    } else {
                        d.args.clone()
                    },
                )
            }
            "DirectorySlash" => dc.directory_slash = Some(flag(d)),
            "IndexIgnore" => {
                let mut list = dc.index_ignore.clone().unwrap_or_default();
                list.extend(d.args.iter().cloned());
                dc.index_ignore = Some(list);
            }
            "IndexIgnoreReset" => {
                if flag(d) {
                    dc.index_ignore = Some(Vec::new());
                }
            }
            "Require" => {
                return Err(err(&d.location, "Require not allowed here"));
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Directives of the main server or a virtual host. Returns false when `d` is not one.
    fn host_directive(
        &mut self,
        host: &mut VirtualHost,
        d: &Directive,
        in_vhost: bool,
    ) -> Result<bool, ConfigError> {
        let a0 = d.args.first().map(String::as_str).unwrap_or("");
        match d.name {
            "ServerName" => {
                let name = a0
                    .strip_prefix("http://")
                    .or_else(|| a0.strip_prefix("https://"))
                    .unwrap_or(a0);
                host.server_name = Some(name.to_string());
            }
            "ServerAlias" => host
                .server_aliases
                .extend(d.args.iter().map(|a| a.to_ascii_lowercase())),
            "ServerAdmin" => host.server_admin = Some(a0.to_string()),
            "DocumentRoot" => {
                let p = self.path(a0);
                let mut s = p.to_string_lossy().into_owned();
                while s.len() > 1 && s.ends_with('/') {
                    s.pop();
                }
                host.document_root = PathBuf::from(s);
            }
            "Timeout" => host.timeout = duration(d)?,
            "KeepAlive" => host.keep_alive = flag(d),
            "KeepAliveTimeout" => host.keep_alive_timeout = duration(d)?,
            "MaxKeepAliveRequests" => host.max_keep_alive_requests = number(d, "number")?,
            "LimitRequestLine" => host.limits.request_line = number(d, "number")?,
            "LimitRequestFieldSize" => host.limits.field_size = number(d, "number")?,
            "LimitRequestFields" => host.limits.fields = number(d, "number")?,
            "ErrorLog" => {
                if in_vhost {
                    host.error_log = Some(a0.to_string());
                } else {
                    self.cfg.error_log = a0.to_string();
                }
            }
            "ErrorLogFormat" | "AccessFileName" | "HttpProtocolOptions" => {}
            "Protocols" => {
                for p in &d.args {
                    if !p.eq_ignore_ascii_case("http/1.1") {
                        self.cfg.warnings.push(format!(
                            "{}: Protocols {p}: not supported yet, serving http/1.1 only",
                            d.location
                        ));
                    }
                }
            }
            "LogLevel" => {
                // As Apache, each LogLevel line applies on top of the previous ones of
                // the same context; module names must be those of loaded modules.
                let loaded = &self.cfg.loaded_modules;
                let known = |short: &str| {
                    loaded
                        .iter()
                        .any(|m| crate::log::module_short_name(m) == short)
                };
                let target = if in_vhost {
                    host.log_level.get_or_insert_with(LogLevels::default)
                } else {
                    &mut self.cfg.log_level
                };
                target
                    .apply(&d.args, &known)
                    .map_err(|m| err(&d.location, m))?;
            }
            "LogFormat" => {
                let name = d.args.get(1).map(String::as_str);
                self.formats
                    .define(a0, name)
                    .map_err(|m| err(&d.location, m))?;
            }
            "CustomLog" | "TransferLog" => {
                if d.args.get(2).is_some() {
                    return Err(err(
                        &d.location,
                        "CustomLog: env= and expr= conditions are not supported yet",
                    ));
                }
                let fmt = if d.name == "TransferLog" {
                    String::new()
                } else {
                    d.args.get(1).cloned().unwrap_or_default()
                };
                if in_vhost {
                    let format = self.resolve_format(&fmt, &d.location)?;
                    host.custom_logs.push(CustomLog {
                        target: self.log_target(a0),
                        format,
                    });
                } else {
                    self.main_logs
                        .push((a0.to_string(), fmt, d.location.clone()));
                }
            }
            "Alias" | "ScriptAlias" => {
                let target = d.args.get(1).map(String::as_str).unwrap_or("");
                host.aliases.push(Alias {
                    url: a0.to_string(),
                    path: self.path(target),
                    handler: (d.name == "ScriptAlias").then(|| "cgi-script".to_string()),
                });
            }
            "Redirect" | "RedirectPermanent" | "RedirectTemp" => {
                host.redirects.push(parse_redirect(d)?);
            }
            name if super::proxy::handles(name) => super::proxy::host_directive(host, d)?,
            "TraceEnable" => {
                host.trace_enable = match a0.to_ascii_lowercase().as_str() {
                    "on" => true,
                    "off" => false,
                    "extended" => true,
                    _ => {
                        return Err(err(
                            &d.location,
                            "TraceEnable must be one of 'on', 'off', or 'extended'",
                        ));
                    }
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn global_directive(&mut self, d: &Directive) -> Result<(), ConfigError> {
        let a0 = d.args.first().map(String::as_str).unwrap_or("");
        match d.name {
            "ServerRoot"
            | "LoadModule"
            | "DefaultRuntimeDir"
            | "Mutex"
            | "ScoreBoardFile"
            | "AcceptFilter"
            | "MaxMemFree"
            | "BufferedLogs"
            | "ListenCoresBucketsRatio" => {}
            "Listen" => {
                let l = parse_listen(d)?;
                if self.cfg.listeners.iter().any(|x| x.addr == l.addr) {
                    return Err(err(
                        &d.location,
                        "Cannot define multiple Listeners on the same IP:port",
                    ));
                }
                self.cfg.listeners.push(l);
            }
            "ListenBacklog" => {
                let n: i32 = number(d, "number")?;
                if n <= 0 {
                    return Err(err(&d.location, "ListenBacklog must be > 0"));
                }
                self.cfg.listen_backlog = n;
            }
            "SendBufferSize" | "ReceiveBufferSize" => {
                let n: u32 = number(d, "number")?;
                if n != 0 && n < 512 {
                    return Err(err(
                        &d.location,
                        format!("{} must be >= 512 bytes, or 0 for system default.", d.name),
                    ));
                }
            }
            "PidFile" => self.cfg.pid_file = self.path(a0),
            "User" => self.cfg.user = a0.to_string(),
            "Group" => self.cfg.group = a0.to_string(),
            "ServerTokens" => {
                self.cfg.server_tokens = match a0.to_ascii_lowercase().as_str() {
                    "os" => ServerTokens::Os,
                    "min" | "minimal" => ServerTokens::Min,
                    "major" => ServerTokens::Major,
                    "minor" => ServerTokens::Minor,
                    "prod" | "productonly" => ServerTokens::Prod,
                    "full" => ServerTokens::Full,
                    _ => {
                        return Err(err(
                            &d.location,
                            "ServerTokens takes 1 argument: 'Prod(uctOnly)', 'Major', 'Minor', 'Min(imal)', 'OS', or 'Full'",
                        ));
                    }
                }
            }
            "TypesConfig" => self.types_config = Some((a0.to_string(), d.location.clone())),
            "CoreDumpDirectory" => {
                let p = self.path(a0);
                if !p.is_dir() {
                    return Err(err(
                        &d.location,
                        format!("CoreDumpDirectory {} does not exist", p.display()),
                    ));
                }
                self.cfg.core_dump_directory = Some(p);
            }
            "ExtendedStatus" => self.cfg.extended_status = Some(flag(d)),
            "SeeRequestTail" => self.cfg.see_request_tail = flag(d),
            "GracefulShutdownTimeout" => {
                self.cfg.graceful_shutdown_timeout = Duration::from_secs(number(d, "number")?)
            }
            _ => {
                let is_mpm = crate::modules::MODULES
                    .iter()
                    .filter(|m| m.name.starts_with("mpm_") && m.name != "mpm_common_module")
                    .any(|m| m.directives.iter().any(|s| s.name == d.name));
                if is_mpm {
                    self.cfg.mpm_directives.push(d.clone());
                } else {
                    return Err(err(
                        &d.location,
                        format!("{} is not implemented by rhttpd in this context", d.name),
                    ));
                }
            }
        }
        Ok(())
    }

    fn log_target(&self, t: &str) -> String {
        if t.starts_with('|') || t == "stderr" || t == "stdout" || t.starts_with("/dev/") {
            t.to_string()
        } else {
            self.path(t).to_string_lossy().into_owned()
        }
    }

    fn resolve_format(
        &self,
        fmt: &str,
        loc: &Location,
    ) -> Result<Arc<crate::log::LogFormat>, ConfigError> {
        self.formats.resolve(fmt).map_err(|m| err(loc, m))
    }

    fn finish_main(&mut self) -> Result<(), ConfigError> {
        let logs = std::mem::take(&mut self.main_logs);
        for (target, fmt, loc) in logs {
            let format = self.resolve_format(&fmt, &loc)?;
            let target = self.log_target(&target);
            self.cfg.main.custom_logs.push(CustomLog { target, format });
        }
        Ok(())
    }

    fn virtual_host(&mut self, s: &Section) -> Result<VirtualHost, ConfigError> {
        let main = &self.cfg.main;
        let mut v = VirtualHost {
            addrs: Vec::new(),
            server_aliases: Vec::new(),
            location: Some(s.location.clone()),
            aliases: Vec::new(),
            custom_logs: Vec::new(),
            sections: Vec::new(),
            redirects: Vec::new(),
            base_dir: DirConfig::default(),
            ..main.clone()
        };
        for a in &s.args {
            v.addrs.push(parse_vhost_addr(a, &s.location)?);
        }
        if v.addrs.is_empty() {
            return Err(err(
                &s.location,
                "<VirtualHost> directive requires additional arguments",
            ));
        }
        for node in &s.children {
            self.host_node(&mut v, node, true)?;
        }
        let main = &self.cfg.main;
        // Inheritance: sections and per-dir settings merge main first; mod_alias puts the
        // vhost's own aliases before the main server's; access logs are inherited only
        // when the vhost has none of its own (mod_log_config).
        let mut sections = main.sections.clone();
        sections.extend(v.sections);
        v.sections = sections;
        v.base_dir = main.base_dir.merge(&v.base_dir);
        v.aliases.extend(main.aliases.iter().cloned());
        v.redirects.extend(main.redirects.iter().cloned());
        if v.custom_logs.is_empty() {
            v.custom_logs = main.custom_logs.clone();
        }
        // Apache's ap_merge_log_config: a vhost's LogLevel applies over the main
        // server's; `None` inherits it unchanged.
        v.log_level = v.log_level.map(|l| self.cfg.log_level.merge(&l));
        Ok(v)
    }

    fn finish(mut self) -> Result<ServerConfig, ConfigError> {
        self.cfg.mime = Arc::new(match &self.types_config {
            Some((p, loc)) => {
                let path = self.path(p);
                MimeTypes::load(&path).map_err(|e| {
                    err(
                        loc,
                        format!(
                            "could not open mime types config file {}: {e}",
                            path.display()
                        ),
                    )
                })?
            }
            None => {
                let path = self.cfg.types_config.clone();
                MimeTypes::load(&path).unwrap_or_else(|_| MimeTypes::builtin())
            }
        });
        if let Some((p, _)) = &self.types_config {
            self.cfg.types_config = self.path(p);
        }
        let mpms: Vec<MpmKind> = self
            .cfg
            .loaded_modules
            .iter()
            .filter_map(|m| match *m {
                "mpm_prefork_module" => Some(MpmKind::Prefork),
                "mpm_worker_module" => Some(MpmKind::Worker),
                "mpm_event_module" => Some(MpmKind::Event),
                _ => None,
            })
            .collect();
        if mpms.len() > 1 {
            return Err(ConfigError::bare(
                "AH00534: rhttpd: Configuration error: More than one MPM loaded.",
            ));
        }
        self.cfg.mpm = mpms.first().copied();
        if self.cfg.extended_status.is_none() && self.cfg.loaded_modules.contains(&"status_module")
        {
            self.cfg.extended_status = Some(true);
        }
        Ok(self.cfg)
    }
}

fn parse_options(d: &Directive) -> Result<OptionsEdit, ConfigError> {
    let mut set = Options {
        follow_symlinks: false,
        ..Options::default()
    };
    let mut add = Options::default();
    let mut remove = Options::default();
    let mut relative = None;
    for a in &d.args {
        let (sign, word) = match a.as_bytes().first() {
            Some(b'+') => (Some(true), &a[1..]),
            Some(b'-') => (Some(false), &a[1..]),
            _ => (None, a.as_str()),
        };
        match (relative, sign.is_some()) {
            (Some(true), false) | (Some(false), true) => {
                return Err(err(
                    &d.location,
                    "Either all Options must start with + or -, or no Option may.",
                ));
            }
            _ => relative = Some(sign.is_some()),
        }
        let target = match sign {
            Some(true) => &mut add,
            Some(false) => &mut remove,
            None => &mut set,
        };
        match word.to_ascii_lowercase().as_str() {
            "indexes" => target.indexes = true,
            "followsymlinks" => target.follow_symlinks = true,
            "symlinksifownermatch" => target.symlinks_if_owner_match = true,
            "execcgi" => target.exec_cgi = true,
            "includes" | "includesnoexec" => target.includes = true,
            "multiviews" => target.multiviews = true,
            "all" => {
                target.indexes = true;
                target.follow_symlinks = true;
                target.symlinks_if_owner_match = true;
                target.exec_cgi = true;
                target.includes = true;
            }
            "none" if sign.is_none() => {}
            _ => {
                return Err(err(&d.location, format!("Illegal option {word}")));
            }
        }
    }
    Ok(if relative == Some(true) {
        OptionsEdit::Relative { add, remove }
    } else {
        OptionsEdit::Set(set)
    })
}

fn parse_file_etag(d: &Directive) -> Result<FileETag, ConfigError> {
    let mut e = FileETag {
        inode: false,
        mtime: false,
        size: false,
    };
    for a in &d.args {
        let (sign, word) = match a.as_bytes().first() {
            Some(b'+') => (Some(true), &a[1..]),
            Some(b'-') => (Some(false), &a[1..]),
            _ => (None, a.as_str()),
        };
        if sign.is_some()
            && e == (FileETag {
                inode: false,
                mtime: false,
                size: false,
            })
        {
            e = FileETag::DEFAULT;
        }
        let on = sign.unwrap_or(true);
        match word.to_ascii_lowercase().as_str() {
            "inode" => e.inode = on,
            "mtime" => e.mtime = on,
            "size" => e.size = on,
            "all" => {
                e = FileETag {
                    inode: true,
                    mtime: true,
                    size: true,
                }
            }
            "none" => {
                e = FileETag {
                    inode: false,
                    mtime: false,
                    size: false,
                }
            }
            _ => {
                return Err(err(
                    &d.location,
                    format!("Unknown keyword '{word}' for FileETag"),
                ));
            }
        }
    }
    Ok(e)
}

fn parse_redirect(d: &Directive) -> Result<Redirect, ConfigError> {
    let mut args: Vec<&str> = d.args.iter().map(String::as_str).collect();
    let status = match d.name {
        "RedirectPermanent" => 301,
        "RedirectTemp" => 302,
        _ => {
            let first = args.first().copied().unwrap_or("");
            let s = match first.to_ascii_lowercase().as_str() {
                "permanent" => Some(301),
                "temp" => Some(302),
                "seeother" => Some(303),
                "gone" => Some(410),
                x if x.len() == 3 && x.bytes().all(|b| b.is_ascii_digit()) => x.parse().ok(),
                _ => None,
            };
            if s.is_some() {
                args.remove(0);
            }
            s.unwrap_or(302)
        }
    };
    let url = args.first().copied().unwrap_or("").to_string();
    let target = args.get(1).map(|s| s.to_string());
    if (300..400).contains(&status) && target.is_none() {
        return Err(err(&d.location, "URL to redirect to is missing"));
    }
    if !(300..400).contains(&status) && target.is_some() {
        return Err(err(&d.location, "Redirect URL not valid for this status"));
    }
    Ok(Redirect {
        status,
        url,
        target,
    })
}

fn parse_listen(d: &Directive) -> Result<Listen, ConfigError> {
    let a0 = d.args[0].as_str();
    let addr = parse_host_port(a0).ok_or_else(|| {
        if a0.rsplit_once(':').is_none() && a0.parse::<u16>().is_err() {
            err(&d.location, "Port must be specified")
        } else {
            err(&d.location, format!("Invalid address or port: {a0}"))
        }
    })?;
    let protocol = d
        .args
        .get(1)
        .map(|p| p.to_ascii_lowercase())
        .unwrap_or_else(|| {
            if addr.port() == 443 {
                "https".into()
            } else {
                "http".into()
            }
        });
    Ok(Listen {
        addr,
        protocol,
        location: d.location.clone(),
    })
}

/// `80`, `0.0.0.0:80`, `127.0.0.1:8080`, `[::1]:80`, `[::]:80`.
fn parse_host_port(s: &str) -> Option<SocketAddr> {
    if let Ok(port) = s.parse::<u16>() {
        return (port != 0).then(|| SocketAddr::new(IpAddr::from([0, 0, 0, 0]), port));
    }
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Some(a);
    }
    let (host, port) = s.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    let ip: IpAddr = if host == "*" {
        IpAddr::from([0, 0, 0, 0])
    } else if host.eq_ignore_ascii_case("localhost") {
        IpAddr::from([127, 0, 0, 1])
    } else {
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .ok()?
    };
    Some(SocketAddr::new(ip, port))
}

fn parse_vhost_addr(a: &str, loc: &Location) -> Result<VhostAddr, ConfigError> {
    let bad = || {
        err(
            loc,
            format!(
                "Invalid address for <VirtualHost>: {a} (rhttpd needs numeric addresses, * or _default_)"
            ),
        )
    };
    let (host, port) = if let Some(rest) = a.strip_prefix('[') {
        let (h, p) = rest.split_once(']').ok_or_else(bad)?;
        (h, p.strip_prefix(':'))
    } else if a.matches(':').count() > 1 {
        (a, None)
    } else {
        match a.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (a, None),
        }
    };
    let ip = match host {
        "*" | "_default_" => None,
        h if h.eq_ignore_ascii_case("localhost") => Some(IpAddr::from([127, 0, 0, 1])),
        h => Some(h.parse::<IpAddr>().map_err(|_| bad())?),
    };
    let port = match port {
        None | Some("*") => None,
        Some(p) => Some(p.parse::<u16>().map_err(|_| bad())?),
    };
    Ok(VhostAddr { ip, port })
}

fn require_rule(d: &Directive) -> Result<RequireRule, ConfigError> {
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

fn require_container(s: &Section) -> Result<RequireRule, ConfigError> {
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
fn parse_ip_net(a: &str) -> Option<(IpAddr, u8)> {
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
