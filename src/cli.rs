//! The `httpd` command line: Apache's getopt string `C:c:D:d:E:e:f:vVlLtTSMh?Xk:`,
//! with the same outputs (`-v`, `-V`, `-l`, `-L`, `-M`, `-S`, `-t`) and `-k` signalling
//! the server named by PidFile.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use rhttpd_config::{Arity, Contexts, ModuleInfo};

use crate::conf::{self, LoadOptions, MpmKind, ServerConfig};
use crate::modules::MODULES;
use crate::pidfile::SignalAction;

/// The embedded default configuration (used when no `-f` is given).
pub const DEFAULT_CONFIG: &str = include_str!("../conf/default.conf");
/// Compiled-in ServerRoot (Apache's HTTPD_ROOT): the source tree rhttpd was built from,
/// so that the default configuration serves the repository's `htdocs`.
pub const HTTPD_ROOT: &str = env!("CARGO_MANIFEST_DIR");
pub const SERVER_CONFIG_FILE: &str = "conf/httpd.conf";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Parsed command line.
#[derive(Clone, Debug, Default)]
pub struct Args {
    pub config_file: Option<PathBuf>,
    pub server_root: Option<PathBuf>,
    pub defines: Vec<String>,
    pub pre: Vec<String>,
    pub post: Vec<String>,
    pub action: Action,
    pub skip_docroot_check: bool,
    pub one_process: bool,
    pub signal: Option<SignalAction>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Action {
    #[default]
    Run,
    Version,
    CompileSettings,
    ListCompiled,
    ListDirectives,
    ListModules,
    SyntaxCheck,
    DumpVhosts,
    Help,
}

pub fn usage() -> String {
    format!(
        "Usage: rhttpd [-D name] [-d directory] [-f file]
              [-C \"directive\"] [-c \"directive\"]
              [-k start|restart|graceful|graceful-stop|stop]
              [-v] [-V] [-h] [-l] [-L] [-t] [-T] [-S] [-X]
Options:
  -D name            : define a name for use in <IfDefine name> directives
  -d directory       : specify an alternate initial ServerRoot
  -f file            : specify an alternate ServerConfigFile
  -C \"directive\"     : process directive before reading config files
  -c \"directive\"     : process directive after reading config files
  -e level           : show startup errors of level (see LogLevel)
  -E file            : log startup errors to file
  -v                 : show version number
  -V                 : show compile settings
  -h                 : list available command line options (this page)
  -l                 : list compiled in modules
  -L                 : list available configuration directives
  -t -D DUMP_VHOSTS  : show parsed vhost settings
  -t -D DUMP_RUN_CFG : show parsed run settings
  -S                 : a synonym for -t -D DUMP_VHOSTS -D DUMP_RUN_CFG
  -t -D DUMP_MODULES : show all loaded modules
  -M                 : a synonym for -t -D DUMP_MODULES
  -t -D DUMP_INCLUDES: show all included configuration files
  -t                 : run syntax check for config files
  -T                 : start without DocumentRoot(s) check
  -X                 : debug mode (only one worker, do not detach)
  -k start|restart|graceful|graceful-stop|stop
                     : signal the running server (rhttpd {VERSION})"
    )
}

/// Parse argv (without the program name) the way Apache's apr_getopt does: options may
/// be attached (`-DFOO`, `-f/x`) or separate.
pub fn parse_args(argv: &[String]) -> Result<Args, String> {
    let mut a = Args::default();
    let mut i = 0;
    while i < argv.len() {
        let arg = &argv[i];
        i += 1;
        let Some(opts) = arg.strip_prefix('-') else {
            return Err(format!("rhttpd: unexpected argument '{arg}'"));
        };
        for (pos, c) in opts.char_indices() {
            let takes_value = "CcDdEefk".contains(c);
            if takes_value {
                let rest = &opts[pos + c.len_utf8()..];
                let value = if !rest.is_empty() {
                    rest.to_string()
                } else if i < argv.len() {
                    i += 1;
                    argv[i - 1].clone()
                } else {
                    return Err(format!("rhttpd: option requires an argument -- {c}"));
                };
                match c {
                    'C' => a.pre.push(value),
                    'c' => a.post.push(value),
                    'D' => a.defines.push(value),
                    'd' => a.server_root = Some(PathBuf::from(value)),
                    'f' => a.config_file = Some(PathBuf::from(value)),
                    'k' => {
                        a.signal = Some(
                            SignalAction::parse(&value)
                                .ok_or_else(|| format!("rhttpd: invalid -k argument '{value}'"))?,
                        )
                    }
                    _ => {} // -e level, -E file: accepted
                }
                break;
            }
            match c {
                'v' => a.action = Action::Version,
                'V' => a.action = Action::CompileSettings,
                'l' => a.action = Action::ListCompiled,
                'L' => a.action = Action::ListDirectives,
                'M' => {
                    a.action = Action::ListModules;
                }
                't' => {
                    if a.action == Action::Run {
                        a.action = Action::SyntaxCheck;
                    }
                }
                'T' => a.skip_docroot_check = true,
                'S' => {
                    // Apache: -S is -t -D DUMP_VHOSTS -D DUMP_RUN_CFG (both defines are
                    // real, `-S` prints them).
                    a.action = Action::DumpVhosts;
                    for d in ["DUMP_VHOSTS", "DUMP_RUN_CFG"] {
                        if !a.defines.iter().any(|x| x == d) {
                            a.defines.push(d.to_string());
                        }
                    }
                }
                'X' => a.one_process = true,
                'h' | '?' => a.action = Action::Help,
                _ => return Err(format!("rhttpd: illegal option -- {c}")),
            }
        }
    }
    if a.action == Action::SyntaxCheck {
        if a.defines
            .iter()
            .any(|d| d == "DUMP_VHOSTS" || d == "DUMP_RUN_CFG")
        {
            a.action = Action::DumpVhosts;
        } else if a.defines.iter().any(|d| d == "DUMP_MODULES") {
            a.action = Action::ListModules;
        }
    }
    if a.defines.iter().any(|d| d == "ONE_PROCESS" || d == "DEBUG") {
        a.one_process = true;
    }
    Ok(a)
}

/// The LoadOptions for these arguments: `-f` (relative to ServerRoot), or the embedded
/// default configuration when no `-f` is given and `conf/httpd.conf` does not exist.
pub fn load_options(a: &Args) -> LoadOptions {
    let server_root = a
        .server_root
        .clone()
        .unwrap_or_else(|| PathBuf::from(HTTPD_ROOT));
    let rel = |p: &Path| {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            server_root.join(p)
        }
    };
    let (file, embedded) = match &a.config_file {
        Some(f) => {
            // Apache resolves -f against ServerRoot; a path that exists relative to the
            // current directory is what users mean, so prefer it.
            let file = if f.is_absolute() || f.exists() {
                std::path::absolute(f).unwrap_or_else(|_| f.clone())
            } else {
                rel(f)
            };
            (file, None)
        }
        None => {
            let f = rel(Path::new(SERVER_CONFIG_FILE));
            if f.exists() {
                (f, None)
            } else {
                (server_root.join("conf/default.conf"), Some(DEFAULT_CONFIG))
            }
        }
    };
    LoadOptions {
        file,
        server_root,
        defines: a.defines.clone(),
        pre_directives: a.pre.clone(),
        post_directives: a.post.clone(),
        embedded,
    }
}

fn built() -> String {
    let secs: i64 = env!("RHTTPD_BUILT_EPOCH").parse().unwrap_or(0);
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%b %e %Y %H:%M:%S").to_string())
        .unwrap_or_default()
}

fn version_lines() -> String {
    format!(
        "Server version: rhttpd/{VERSION} (Unix)\nServer built:   {}\n",
        built()
    )
}

fn mpm_words(mpm: MpmKind) -> (&'static str, &'static str) {
    match mpm {
        MpmKind::Prefork => ("no", "yes (variable process count)"),
        MpmKind::Worker | MpmKind::Event => {
            ("yes (fixed thread count)", "yes (variable process count)")
        }
    }
}

fn compile_settings(mpm: MpmKind) -> String {
    let (threaded, forked) = mpm_words(mpm);
    format!(
        "{}Server's Module Magic Number: 20120211:137
Architecture:   {}-bit
Server MPM:     {}
  threaded:     {threaded}
    forked:     {forked}
Server compiled with....
 -D OS=\"{}\"
 -D APR_HAS_SENDFILE
 -D APR_HAS_MMAP
 -D APR_HAVE_IPV6 (IPv4-mapped addresses disabled)
 -D APR_USE_FLOCK_SERIALIZE
 -D SINGLE_LISTEN_UNSERIALIZED_ACCEPT
 -D APR_HAS_OTHER_CHILD
 -D AP_HAVE_RELIABLE_PIPED_LOGS
 -D DYNAMIC_MODULE_LIMIT=256
 -D HTTPD_ROOT=\"{HTTPD_ROOT}\"
 -D DEFAULT_PIDLOG=\"logs/httpd.pid\"
 -D DEFAULT_ERRORLOG=\"logs/error_log\"
 -D AP_TYPES_CONFIG_FILE=\"conf/mime.types\"
 -D SERVER_CONFIG_FILE=\"{SERVER_CONFIG_FILE}\"
",
        version_lines(),
        usize::BITS,
        mpm.name(),
        std::env::consts::OS.replace("linux", "Linux"),
    )
}

fn context_words(c: Contexts) -> &'static str {
    if c == Contexts::ANY {
        "anywhere"
    } else if c.0 & Contexts::DIR_ONLY.0 == 0 {
        "only outside <Directory>, <Files>, <Location>, or <If>"
    } else if c.0 & Contexts::SERVER_VHOST.0 == 0 {
        "only inside <Directory>, <Files>, <Location>, or <If>"
    } else {
        "anywhere"
    }
}

fn list_directives(modules: &[&ModuleInfo]) -> String {
    let mut s = String::new();
    for m in modules {
        for d in m.directives {
            let name = if d.arity == Arity::Section {
                format!("<{}", d.name)
            } else {
                d.name.to_string()
            };
            s.push_str(&format!(
                "{name} ({})\n\t{}\n\tAllowed in *.conf {}\n",
                m.source,
                d.help,
                context_words(d.contexts)
            ));
        }
    }
    s
}

/// `-S`: Apache's vhost dump and run settings.
pub fn dump_vhosts(cfg: &ServerConfig) -> String {
    dump_config(cfg, true, true)
}

/// `-t -D DUMP_VHOSTS` (`vhosts`) and `-t -D DUMP_RUN_CFG` (`run_cfg`); `-S` is both.
pub fn dump_config(cfg: &ServerConfig, vhosts: bool, run_cfg: bool) -> String {
    let mut s = String::new();
    if vhosts {
        s.push_str(&dump_vhost_part(cfg));
    }
    if run_cfg {
        s.push_str(&dump_run_cfg(cfg));
    }
    s
}

fn dump_vhost_part(cfg: &ServerConfig) -> String {
    let mut s = String::from("VirtualHost configuration:\n");
    // Group vhosts by address as Apache prints them: IP-specific addresses (Apache's
    // hash table) before the wildcard ones (its default list).
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    let specific = cfg.vhosts.iter().enumerate().flat_map(|(i, v)| {
        v.addrs
            .iter()
            .filter(|a| a.ip.is_some())
            .map(move |a| (i, a))
    });
    let wild = cfg.vhosts.iter().enumerate().flat_map(|(i, v)| {
        v.addrs
            .iter()
            .filter(|a| a.ip.is_none())
            .map(move |a| (i, a))
    });
    for (i, a) in specific.chain(wild) {
        let ip = match a.ip {
            None => "*".to_string(),
            Some(std::net::IpAddr::V6(v6)) => format!("[{v6}]"),
            Some(ip) => ip.to_string(),
        };
        let key = format!(
            "{ip}:{}",
            a.port.map(|p| p.to_string()).unwrap_or("*".into())
        );
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, list)) => list.push(i),
            None => groups.push((key, vec![i])),
        }
    }
    // Apache prints no TLS mark; rhttpd appends " [TLS]" after the location of a
    // host with SSLEngine on, so the line's start reads as Apache's.
    let loc = |v: &crate::conf::VirtualHost| {
        let at = v
            .location
            .as_ref()
            .map(|l| format!("({}:{})", l.file.display(), l.line))
            .unwrap_or_default();
        if v.ssl.engine {
            format!("{at} [TLS]")
        } else {
            at
        }
    };
    let name = |v: &crate::conf::VirtualHost| {
        v.server_name
            .clone()
            .unwrap_or_else(|| "localhost".to_string())
    };
    for (addr, list) in &groups {
        if list.len() == 1 {
            let v = &cfg.vhosts[list[0]];
            s.push_str(&format!("{addr:<22} {} {}\n", name(v), loc(v)));
        } else {
            s.push_str(&format!("{addr:<22} is a NameVirtualHost\n"));
            let v0 = &cfg.vhosts[list[0]];
            s.push_str(&format!(
                "         default server {} {}\n",
                name(v0),
                loc(v0)
            ));
            let port = addr.rsplit(':').next().unwrap_or("*");
            for &i in list {
                let v = &cfg.vhosts[i];
                s.push_str(&format!(
                    "         port {port} namevhost {} {}\n",
                    name(v),
                    loc(v)
                ));
                for al in &v.server_aliases {
                    if al.contains(['*', '?']) {
                        s.push_str(&format!("                 wild alias {al}\n"));
                    } else {
                        s.push_str(&format!("                 alias {al}\n"));
                    }
                }
            }
        }
    }
    s
}

fn dump_run_cfg(cfg: &ServerConfig) -> String {
    let mut s = String::new();
    s.push_str(&format!("ServerRoot: \"{}\"\n", cfg.server_root.display()));
    s.push_str(&format!(
        "Main DocumentRoot: \"{}\"\n",
        cfg.main.document_root.display()
    ));
    let el = if cfg.error_log.starts_with('|') || cfg.error_log == "stderr" {
        cfg.error_log.clone()
    } else {
        cfg.server_root.join(&cfg.error_log).display().to_string()
    };
    s.push_str(&format!("Main ErrorLog: \"{el}\"\n"));
    s.push_str(&format!("PidFile: \"{}\"\n", cfg.pid_file.display()));
    for (k, v) in &cfg.defines {
        match v {
            Some(v) => s.push_str(&format!("Define: {k}={v}\n")),
            None => s.push_str(&format!("Define: {k}\n")),
        }
    }
    let not_used = if rhttpd_sys::running_as_root() {
        ""
    } else {
        " not_used"
    };
    let uid = rhttpd_sys::lookup_user(&cfg.user)
        .map(|(u, _)| u as i64)
        .unwrap_or(-1);
    let gid = rhttpd_sys::lookup_group(&cfg.group)
        .map(|g| g as i64)
        .unwrap_or(-1);
    s.push_str(&format!("User: name=\"{}\" id={uid}{not_used}\n", cfg.user));
    s.push_str(&format!(
        "Group: name=\"{}\" id={gid}{not_used}\n",
        cfg.group
    ));
    s
}

fn loaded_modules(cfg: &ServerConfig) -> String {
    let mut s = String::from("Loaded Modules:\n");
    for name in &cfg.loaded_modules {
        let builtin = MODULES.iter().any(|m| m.name == *name && m.builtin);
        s.push_str(&format!(
            " {name} ({})\n",
            if builtin { "static" } else { "shared" }
        ));
    }
    s
}

/// Load the configuration, printing Apache's error and returning exit code 1 on failure.
pub fn load_or_report(a: &Args) -> Result<ServerConfig, ExitCode> {
    match conf::load(&load_options(a)) {
        Ok(cfg) => {
            if !a.skip_docroot_check {
                // As Apache (the DocumentRoot directive's check): only a root a
                // configuration names, not the built-in default or one inherited.
                let default_root = cfg.server_root.join("htdocs");
                let main_root = &cfg.main.document_root;
                let named = std::iter::once(&cfg.main)
                    .filter(|h| h.document_root != default_root)
                    .chain(cfg.vhosts.iter().filter(|v| v.document_root != *main_root));
                for host in named {
                    if !host.document_root.is_dir() {
                        eprintln!(
                            "AH00112: Warning: DocumentRoot [{}] does not exist",
                            host.document_root.display()
                        );
                    }
                }
            }
            for w in &cfg.warnings {
                eprintln!("{w}");
            }
            // Certificates and keys are part of the configuration: `-t` reads them.
            if let Err(e) = crate::tls::check(&cfg) {
                eprintln!("{e}");
                return Err(ExitCode::from(1));
            }
            Ok(cfg)
        }
        Err(e) => {
            eprintln!("{e}");
            Err(ExitCode::from(1))
        }
    }
}

/// The entry point of the `rhttpd` binary.
pub fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let a = match parse_args(&argv) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}\n{}", usage());
            return ExitCode::from(1);
        }
    };
    let out = |s: String| {
        let _ = std::io::stdout().write_all(s.as_bytes());
        ExitCode::SUCCESS
    };
    match a.action {
        Action::Help => {
            eprintln!("{}", usage());
            ExitCode::from(1)
        }
        Action::Version => out(version_lines()),
        Action::CompileSettings => {
            // As Apache with a shared MPM: read the config to report the MPM, fall back
            // to the default when it does not load.
            let mpm = conf::load(&load_options(&a))
                .ok()
                .and_then(|c| c.mpm)
                .unwrap_or(MpmKind::Event);
            out(compile_settings(mpm))
        }
        Action::ListCompiled => {
            let mut s = String::from("Compiled in modules:\n");
            for m in MODULES.iter().filter(|m| m.builtin) {
                s.push_str(&format!("  {}\n", m.source));
            }
            out(s)
        }
        Action::ListDirectives => {
            let cfg = conf::load(&load_options(&a)).ok();
            let mods: Vec<&ModuleInfo> = MODULES
                .iter()
                .filter(|m| {
                    m.builtin
                        || cfg
                            .as_ref()
                            .is_some_and(|c| c.loaded_modules.contains(&m.name))
                })
                .collect();
            out(list_directives(&mods))
        }
        Action::ListModules => match load_or_report(&a) {
            Ok(cfg) => out(loaded_modules(&cfg)),
            Err(code) => code,
        },
        Action::DumpVhosts => match load_or_report(&a) {
            Ok(cfg) => {
                let has = |d: &str| a.defines.iter().any(|x| x == d);
                out(dump_config(&cfg, has("DUMP_VHOSTS"), has("DUMP_RUN_CFG")))
            }
            Err(code) => code,
        },
        Action::SyntaxCheck => match load_or_report(&a) {
            Ok(cfg) => {
                // Apache runs the MPM's check_config (clamping warnings) before -t ends.
                for w in crate::mpm::settings::startup_warnings(&cfg) {
                    eprintln!("{w}");
                }
                if a.defines.iter().any(|d| d == "DUMP_INCLUDES") {
                    // As Apache: the list on stdout instead of "Syntax OK".
                    return out(dump_includes(&cfg));
                }
                eprintln!("Syntax OK");
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Action::Run => {
            let cfg = match load_or_report(&a) {
                Ok(c) => c,
                Err(code) => return code,
            };
            let load = load_options(&a);
            // Apache detaches unless told not to; the embedded default configuration is
            // a development setup and stays in the foreground, logging to the terminal.
            let foreground = a
                .defines
                .iter()
                .any(|d| d == "FOREGROUND" || d == "NO_DETACH")
                || load.embedded.is_some();
            let req = crate::server::RunRequest {
                load,
                signal: a.signal,
                one_process: a.one_process,
                foreground,
            };
            crate::server::run(&req, cfg)
        }
    }
}

/// `-t -D DUMP_INCLUDES`, in Apache's format: the main file marked `(*)`, each
/// included file indented by its depth with the line of the `Include` that read it.
fn dump_includes(cfg: &ServerConfig) -> String {
    let mut s = String::from("Included configuration files:\n");
    for (depth, line, path) in &cfg.includes {
        let indent = "  ".repeat(depth + 1);
        let mark = if *depth == 0 {
            "*".to_string()
        } else {
            line.to_string()
        };
        s.push_str(&format!("{indent}({mark}) {}\n", path.display()));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> Args {
        parse_args(&s.iter().map(|x| x.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn getopt_attached_and_separate() {
        let a = args(&[
            "-DFOO",
            "-D",
            "BAR",
            "-f/etc/x.conf",
            "-C",
            "Listen 81",
            "-t",
        ]);
        assert_eq!(a.defines, vec!["FOO", "BAR"]);
        assert_eq!(a.config_file, Some(PathBuf::from("/etc/x.conf")));
        assert_eq!(a.pre, vec!["Listen 81"]);
        assert_eq!(a.action, Action::SyntaxCheck);
    }

    #[test]
    fn synonyms() {
        assert_eq!(
            args(&["-t", "-D", "DUMP_VHOSTS"]).action,
            Action::DumpVhosts
        );
        assert_eq!(
            args(&["-t", "-D", "DUMP_MODULES"]).action,
            Action::ListModules
        );
        assert!(args(&["-X"]).one_process);
        assert!(args(&["-D", "ONE_PROCESS"]).one_process);
        assert_eq!(
            args(&["-k", "graceful"]).signal,
            Some(SignalAction::Graceful)
        );
        assert!(parse_args(&["-k".to_string(), "bounce".to_string()]).is_err());
        assert!(parse_args(&["-Z".to_string()]).is_err());
        assert!(parse_args(&["-f".to_string()]).is_err());
    }

    #[test]
    fn compile_settings_words() {
        let s = compile_settings(MpmKind::Prefork);
        assert!(s.contains("Server MPM:     prefork\n  threaded:     no\n    forked:     yes (variable process count)\n"));
        let s = compile_settings(MpmKind::Event);
        assert!(s.contains("  threaded:     yes (fixed thread count)\n"));
    }
}
