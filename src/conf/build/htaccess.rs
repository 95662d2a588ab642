//! A `.htaccess` file's text to a per-directory configuration (Apache's
//! `ap_parse_htaccess`): parsed as a directory context of the running configuration,
//! each directive checked against the `AllowOverride` / `AllowOverrideList` in force,
//! then given its meaning by the same code as a `<Directory>` section's body.

use std::path::Path;

use rhttpd_config::{ConfigError, Node};

use super::Builder;
use crate::conf::overrides::{AllowOverride, override_class};
use crate::conf::values::err;
use crate::conf::{DirConfig, DirSection, ServerConfig, VirtualHost};

/// A parsed `.htaccess` file.
#[derive(Debug, Default)]
pub struct Htaccess {
    /// Its directives, merged after the `<Directory>` sections of its directory.
    pub config: DirConfig,
    /// Its `<Files>`/`<FilesMatch>` sections, merged in the Files phase after the main
    /// configuration's.
    pub files: Vec<DirSection>,
    /// Notices for the error log (`Nonfatal=` skips, directives with no effect).
    pub warnings: Vec<String>,
}

/// How often a `Nonfatal=Unknown` file may drop an unknown line before it is refused
/// (a bound on the re-parses).
const MAX_UNKNOWN_SKIPPED: usize = 64;

/// Build the `.htaccess` file `file` (text `text`) under the overrides `allowed`.
pub fn htaccess(
    cfg: &ServerConfig,
    text: &str,
    file: &Path,
    allowed: &AllowOverride,
) -> Result<Htaccess, ConfigError> {
    let mut warnings = Vec::new();
    let mut text = text.to_string();
    let modules = crate::conf::tables::MODULES;
    let mut skipped = 0;
    let nodes = loop {
        match rhttpd_config::parse_htaccess(&text, file, modules, &cfg.loaded_modules, &cfg.defines)
        {
            Ok(nodes) => break nodes,
            Err(e)
                if allowed.nonfatal_unknown
                    && skipped < MAX_UNKNOWN_SKIPPED
                    && e.message.starts_with("Invalid command")
                    && e.location.is_some() =>
            {
                // `AllowOverride Nonfatal=Unknown`: the line is skipped with a warning.
                let line = e.location.as_ref().map_or(0, |l| l.line);
                warnings.push(format!(
                    "{}: {} (line {line}, skipped)",
                    file.display(),
                    e.message
                ));
                text = blank_line(&text, line);
                skipped += 1;
            }
            Err(e) => return Err(e),
        }
    };
    let nodes = filter(&nodes, allowed, &mut warnings)?;

    let mut b = Builder::new(&cfg.server_root, cfg.config_file.clone());
    b.cfg.loaded_modules = cfg.loaded_modules.clone();
    b.cfg.authn_aliases = cfg.authn_aliases.clone();
    b.cfg.defines = cfg.defines.clone();
    let mut config = b.dir_section_body(&nodes, false)?;
    // mod_rewrite strips and re-injects the directory of the file.
    if let Some(dir) = file.parent() {
        config.rewrite.directory = Some(dir.to_string_lossy().into_owned());
    }
    if config.rewrite.dangling_conds() {
        warnings.push(crate::conf::rewrite::dangling_warning(
            &file.display().to_string(),
        ));
    }
    let mut host = VirtualHost::default();
    for node in &nodes {
        if let Node::Section(s) = node
            && (s.name == "Files" || s.name == "FilesMatch")
        {
            b.section(&mut host, s)?;
        }
    }
    warnings.extend(b.cfg.warnings);
    Ok(Htaccess {
        config,
        files: host.sections,
        warnings,
    })
}

/// The text with line `line` (1-based) emptied.
fn blank_line(text: &str, line: usize) -> String {
    text.split('\n')
        .enumerate()
        .map(|(i, l)| if i + 1 == line { "" } else { l })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Apache's override check (`invoke_cmd`: "X not allowed here"), applied to every
/// directive and section of the file; `Nonfatal=Override` drops what is not allowed
/// with a warning instead.
fn filter(
    nodes: &[Node],
    allowed: &AllowOverride,
    warnings: &mut Vec<String>,
) -> Result<Vec<Node>, ConfigError> {
    let mut out = Vec::with_capacity(nodes.len());
    for node in nodes {
        let (name, location) = match node {
            Node::Directive(d) => (d.name, &d.location),
            Node::Section(s) => (s.name, &s.location),
        };
        let shown = match node {
            Node::Directive(_) => name.to_string(),
            Node::Section(_) => format!("<{name}"),
        };
        if !allowed.allows(name) {
            let message = format!("{shown} not allowed here");
            if allowed.nonfatal_override && override_class(name).0 != 0 {
                warnings.push(format!(
                    "{}: {message} (line {}, skipped: Nonfatal=Override)",
                    location.file.display(),
                    location.line
                ));
                continue;
            }
            return Err(err(location, message));
        }
        match node {
            Node::Directive(d) if d.name == "Options" => {
                if let Err(option) = allowed.options_allowed(&d.args) {
                    return Err(err(location, format!("Option {option} not allowed here")));
                }
                out.push(node.clone());
            }
            Node::Directive(_) => out.push(node.clone()),
            Node::Section(s) => {
                let mut s = s.clone();
                s.children = filter(&s.children, allowed, warnings)?;
                out.push(Node::Section(s));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conf::overrides::OverrideClasses;
    use proptest::prelude::*;

    fn config() -> ServerConfig {
        crate::conf::load(&crate::conf::LoadOptions {
            file: "/nonexistent/httpd.conf".into(),
            server_root: std::env::temp_dir(),
            embedded: Some(
                "Listen 127.0.0.1:1\nLoadModule headers_module x\nLoadModule authn_core_module x\n\
                 LoadModule access_compat_module x\n",
            ),
            ..Default::default()
        })
        .expect("test configuration")
    }

    fn allowed(classes: OverrideClasses) -> AllowOverride {
        AllowOverride {
            classes,
            ..AllowOverride::default()
        }
    }

    const LINES: &[&str] = &[
        "DirectoryIndex index.php",
        "Header set X-A b",
        "AuthType Basic",
        "Order deny,allow",
        "Options -Indexes",
        "ErrorDocument 404 /nf.html",
        "<Files \"*.x\">\nRequire all denied\n</Files>",
        "<IfModule headers_module>\nHeader set X-B c\n</IfModule>",
        "<IfModule nope_module>\nGarbage here\n</IfModule>",
        "Bogus line",
        "DocumentRoot /",
        "Include /etc/passwd",
        "<Directory />\n</Directory>",
        "# comment",
        "",
    ];

    proptest! {
        /// Whatever lines a file holds: no panic, a narrower AllowOverride never accepts
        /// what a wider one refuses, and errors name the file.
        #[test]
        fn narrower_overrides_accept_less(picks in proptest::collection::vec(0..LINES.len(), 0..8)) {
            let cfg = config();
            let text: String = picks.iter().map(|&i| format!("{}\n", LINES[i])).collect();
            let file = Path::new("/srv/.htaccess");
            let all = htaccess(&cfg, &text, file, &allowed(OverrideClasses::ALL));
            for narrow in [OverrideClasses::FILE_INFO, OverrideClasses::AUTH_CONFIG, OverrideClasses::INDEXES] {
                let r = htaccess(&cfg, &text, file, &allowed(narrow));
                if r.is_ok() {
                    prop_assert!(all.is_ok(), "{text:?}");
                }
                if let Err(e) = r {
                    prop_assert_eq!(e.location.map(|l| l.file.to_path_buf()), Some(file.to_path_buf()));
                }
            }
        }
    }

    #[test]
    fn what_each_file_gives() {
        let cfg = config();
        let file = Path::new("/srv/.htaccess");
        let h = htaccess(
            &cfg,
            "DirectoryIndex a.php\n<Files x>\nRequire all denied\n</Files>\n",
            file,
            &allowed(OverrideClasses::ALL),
        )
        .unwrap();
        assert_eq!(h.config.directory_index(), vec!["a.php"]);
        assert_eq!(h.files.len(), 1);
        let nonfatal = AllowOverride {
            classes: OverrideClasses::INDEXES,
            nonfatal_override: true,
            nonfatal_unknown: true,
            ..AllowOverride::default()
        };
        let h = htaccess(
            &cfg,
            "Header set A b\nWhat is this\nDirectoryIndex b\n",
            file,
            &nonfatal,
        )
        .unwrap();
        assert_eq!(h.config.directory_index(), vec!["b"]);
        assert_eq!(h.warnings.len(), 2, "{:?}", h.warnings);
        let e = htaccess(
            &cfg,
            "LoadModule x y\n",
            file,
            &allowed(OverrideClasses::ALL),
        )
        .unwrap_err();
        assert_eq!(e.message, "LoadModule not allowed here");
    }
}
