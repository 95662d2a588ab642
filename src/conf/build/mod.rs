//! From the parser's tree to a [`ServerConfig`]: gives each directive its meaning.
//!
//! Order of work, as Apache's: the main server's directives are applied first (all of
//! them, wherever they appear relative to `<VirtualHost>` sections), then every virtual
//! host starts from a copy of the finished main server and applies its own directives.
//! That is how a vhost inherits the main server's values for everything it did not set.

mod dir_directives;
mod global_directives;
mod host_directives;
mod htaccess;
mod limit;
mod proxy_sections;
mod sections;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rhttpd_config::{ConfigError, Location, Node, ParseOptions, Section};

use super::values::{err, parse_vhost_addr};
use super::*;
use crate::conf::MimeTypes;
use crate::log::{LogFormats, LogLevels};
pub use htaccess::{Htaccess, htaccess};

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
        modules: crate::conf::tables::MODULES,
        embedded: opts.embedded,
    })?;
    let mut b = Builder::new(&parsed.server_root, opts.file.clone());
    b.cfg.loaded_modules = parsed.loaded_modules.clone();
    b.cfg.defines = parsed.defines.clone();
    b.cfg.warnings.extend(parsed.warnings.iter().cloned());
    b.cfg.includes = parsed
        .includes
        .iter()
        .zip(parsed.include_lines.iter().chain(std::iter::repeat(&0)))
        .map(|((depth, path), line)| (*depth, *line, path.clone()))
        .collect();

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
    main_logs: Vec<(String, String, Option<crate::conf::LogCondition>, Location)>,
    types_config: Option<(String, Location)>,
    /// The methods of the `<Limit>`/`<LimitExcept>` being read (`None`: outside any).
    limited: Option<crate::conf::limit::Methods>,
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
                id: crate::conf::ConfigId::fresh(),
                config_file,
                server_root: server_root.to_path_buf(),
                listeners: Vec::new(),
                listen_backlog: 511,
                send_buffer_size: 0,
                receive_buffer_size: 0,
                accept_filters: vec![
                    ("http".to_string(), "data".to_string()),
                    ("https".to_string(), "data".to_string()),
                ],
                main,
                vhosts: Vec::new(),
                pid_file: server_root.join("logs/httpd.pid"),
                user: "#-1".to_string(),
                group: "#-1".to_string(),
                error_log: "logs/error_log".to_string(),
                error_log_format: None,
                log_level: LogLevels::default(),
                server_tokens: ServerTokens::Full,
                mime: Arc::new(MimeTypes::default()),
                types_config: server_root.join("conf/mime.types"),
                mpm: None,
                loaded_modules: Vec::new(),
                authn_aliases: Default::default(),
                defines: Vec::new(),
                mpm_directives: Vec::new(),
                extended_status: None,
                see_request_tail: false,
                graceful_shutdown_timeout: Duration::ZERO,
                core_dump_directory: None,
                includes: Vec::new(),
                warnings: Vec::new(),
                ssl: Default::default(),
            },
            formats: LogFormats::default(),
            main_logs: Vec::new(),
            types_config: None,
            limited: None,
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
                // mod_rewrite's directives at this level are the host's, not per-directory.
                if d.name != "LogLevel"
                    && !crate::conf::rewrite::handles(d.name)
                    && self.dir_directive(&mut host.base_dir, d)?
                {
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
        crate::conf::balancer::finish_host(&mut self.cfg.main, &self.cfg.loaded_modules)?;
        let notes = crate::conf::balancer::warnings(&self.cfg.main, None);
        self.cfg.warnings.extend(notes);
        if self.cfg.main.rewrite.dangling_conds() {
            let note = crate::conf::rewrite::dangling_warning("the main server");
            self.cfg.warnings.push(note);
        }
        let logs = std::mem::take(&mut self.main_logs);
        for (target, fmt, condition, loc) in logs {
            let format = self.resolve_format(&fmt, &loc)?;
            let target = self.log_target(&target);
            self.cfg.main.custom_logs.push(CustomLog {
                target,
                format,
                condition,
            });
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
            rewrite: Arc::default(),
            ..main.clone()
        };
        for a in &s.args {
            v.addrs.push(parse_vhost_addr(a, &s.location)?);
        }
        // mod_ssl's merge: the main server's TLS settings are inherited; the vhost's
        // own SSLCertificateFile lines replace its certificates.
        {
            let ssl = Arc::make_mut(&mut v.ssl);
            ssl.certs_inherited = !ssl.certs.is_empty();
            ssl.pending_keys.clear();
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
        crate::conf::balancer::finish_host(&mut v, &self.cfg.loaded_modules)?;
        if !Arc::ptr_eq(&v.balancers, &self.cfg.main.balancers) {
            let notes = crate::conf::balancer::warnings(&v, Some(&self.cfg.main.balancers));
            self.cfg.warnings.extend(notes);
        }
        let main = &self.cfg.main;
        // Inheritance: sections and per-dir settings merge main first; mod_alias puts the
        // vhost's own aliases before the main server's; access logs are inherited only
        // when the vhost has none of its own (mod_log_config).
        let mut sections = main.sections.clone();
        sections.extend(v.sections);
        v.sections = sections;
        v.base_dir = main.base_dir.merge(&v.base_dir);
        if v.rewrite.dangling_conds() {
            let note = crate::conf::rewrite::dangling_warning(&format!(
                "the <VirtualHost> at line {} of {}",
                s.location.line,
                s.location.file.display()
            ));
            self.cfg.warnings.push(note);
        }
        let main = &self.cfg.main;
        v.rewrite = Arc::new(main.rewrite.merge_into_vhost(&v.rewrite));
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
        // ProxySet (<Proxy> sections, `ProxySet URL`) onto the rules it names.
        for host in std::iter::once(&mut self.cfg.main).chain(self.cfg.vhosts.iter_mut()) {
            if host.proxy.extra.sections.iter().any(|s| !s.set.is_empty()) {
                crate::conf::proxy_sections::apply_sets(std::sync::Arc::make_mut(&mut host.proxy))
                    .map_err(|m| {
                        err(
                            host.location
                                .as_ref()
                                .unwrap_or(&rhttpd_config::Location::new(
                                    self.cfg.config_file.clone(),
                                    0,
                                )),
                            format!("ProxySet: {m}"),
                        )
                    })?;
            }
        }
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
        crate::conf::balancer::check_modules(&self.cfg.loaded_modules)?;
        crate::conf::h2::settle(&mut self.cfg);
        if self.cfg.extended_status.is_none() && self.cfg.loaded_modules.contains(&"status_module")
        {
            self.cfg.extended_status = Some(true);
        }
        Ok(self.cfg)
    }
}
