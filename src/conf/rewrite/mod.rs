//! mod_rewrite's configuration: rules, conditions, maps and options of the main server,
//! each virtual host and each per-directory section, and Apache's merges of them.
//!
//! The engine that runs them is `modules/rewrite`; the directive syntax (flags, condition
//! patterns, map sources) is parsed in `parse.rs`.
//!
//! Merging, as mod_rewrite's `config_server_merge` / `config_perdir_merge`:
//! * a virtual host uses only its own rules, maps and conditions unless it (or, with
//!   `InheritDown*`, the main server) says `RewriteOptions Inherit` / `InheritBefore`;
//!   then the main server's come after (`Inherit`) or before (`InheritBefore`) its own;
//! * a per-directory section without any mod_rewrite directive leaves the enclosing
//!   section's rewrite configuration (rules *and* the directory they strip) in force;
//!   one with rewrite directives replaces the enclosing rules unless it inherits;
//! * `RewriteBase` is the section's own unless `RewriteOptions MergeBase`.

mod parse;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use rhttpd_config::{ConfigError, Directive, Location};
use rhttpd_expr::Pcre;

pub use parse::{parse_cond, parse_map, parse_options, parse_rule};

/// `RewriteOptions` flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RewriteOptions {
    pub inherit: bool,
    pub inherit_before: bool,
    pub inherit_down: bool,
    pub inherit_down_before: bool,
    pub ignore_inherit: bool,
    pub merge_base: bool,
}

/// A `RewriteCond` file or sub-request test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileTest {
    /// `-f`: a regular file.
    File,
    /// `-d`: a directory.
    Dir,
    /// `-s`: a regular file with a size above zero.
    NonEmpty,
    /// `-l`, `-L`, `-h`: a symbolic link.
    Symlink,
    /// `-x`: a file with an execute permission bit.
    Executable,
    /// `-U`: the URL maps to something that exists (a sub-request by URL).
    UrlExists,
    /// `-F`: the path exists as a file the server may serve (a sub-request by file).
    FileAccessible,
}

/// String and integer comparisons of `RewriteCond`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compare {
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
}

impl Compare {
    pub fn holds(self, ord: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            Compare::Lt => ord == Less,
            Compare::Le => ord != Greater,
            Compare::Eq => ord == Equal,
            Compare::Ge => ord != Less,
            Compare::Gt => ord == Greater,
        }
    }
}

/// What a `RewriteCond` tests its expanded test string against.
#[derive(Clone, Debug, PartialEq)]
pub enum CondPattern {
    Regex(Pcre),
    File(FileTest),
    /// `<`, `<=`, `=`, `>=`, `>` with the literal text after the operator.
    Str(Compare, String),
    /// `-lt`, `-le`, `-eq`, `-ge`, `-gt` (`-ne` is `-eq` negated) with the text after it.
    Int(Compare, String),
    /// `RewriteCond expr "ap_expr"`: the test string is not used; the expression's last
    /// regex match gives `%N`.
    Expr(crate::conf::expr::ConfExpr),
}

/// One `RewriteCond`.
#[derive(Clone, Debug, PartialEq)]
pub struct Cond {
    /// The test string as written (`%{HTTP_HOST}`, `%{REQUEST_FILENAME}`, `$1` ...).
    pub test: String,
    pub pattern: CondPattern,
    /// `!` before the pattern.
    pub negate: bool,
    /// `[OR]`: this condition or the next one.
    pub or_next: bool,
    /// `[NC]` (for string comparisons too).
    pub nocase: bool,
}

/// `RewriteRule` flags (`[L,R=301,QSA ...]`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleFlags {
    pub chain: bool,
    pub last: bool,
    pub end: bool,
    /// `[N]`; with `N=n` the limit of rounds (Apache's default is 10000).
    pub next: Option<u32>,
    pub forbidden: bool,
    pub gone: bool,
    pub proxy: bool,
    pub passthrough: bool,
    pub qs_append: bool,
    pub qs_discard: bool,
    pub qs_last: bool,
    pub nocase: bool,
    pub noescape: bool,
    pub nosubreq: bool,
    pub discard_path_info: bool,
    /// `[R]` / `[R=code]`: the status to answer with (302 when no code is given).
    pub redirect: Option<u16>,
    /// `[S=n]`: rules to skip after this one matched.
    pub skip: u32,
    /// `[B]` / `[B=chars]`: escape back-references (`Some("")`: every unsafe byte;
    /// `Some(chars)`: only those).
    pub escape_backrefs: Option<String>,
    /// `[BNP]`: spaces in escaped back-references as `%20`, not `+`.
    pub backref_no_plus: bool,
    /// `[BCTLS]`: escape only controls and spaces in back-references.
    pub backref_ctls: bool,
    /// `[BNE=chars]`: characters `[B]` leaves alone.
    pub backref_never: Option<String>,
    /// `[E=VAR:VAL]`, `[E=!VAR]`: as written (expanded when the rule applies).
    pub env: Vec<String>,
    /// `[CO=NAME:VAL:domain...]`: as written.
    pub cookies: Vec<String>,
    /// `[T=type]` (expanded when the rule applies).
    pub mime_type: Option<String>,
    /// `[H=handler]` (expanded when the rule applies).
    pub handler: Option<String>,
    pub unsafe_prefix_stat: bool,
    pub unsafe_allow_3f: bool,
}

/// One `RewriteRule` with the conditions written before it.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub pattern: Pcre,
    /// `!` before the pattern: the rule applies when it does not match (no `$N`).
    pub negate: bool,
    /// The substitution as written; `-` means "no substitution".
    pub substitution: String,
    pub conds: Vec<Cond>,
    pub flags: RuleFlags,
    pub location: Location,
}

impl Rule {
    /// `-`: the URL is left as it is (the rule is there for its flags).
    pub fn no_substitution(&self) -> bool {
        self.substitution == "-"
    }
}

/// `RewriteMap int:` functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntMap {
    ToUpper,
    ToLower,
    Escape,
    Unescape,
}

/// Where a `RewriteMap` takes its values from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MapSource {
    /// `txt:/path`: `key value` lines, re-read when the file's modification time changes.
    Txt(PathBuf),
    /// `rnd:/path`: like txt, the value one of its `|`-separated choices at random.
    Rnd(PathBuf),
    Int(IntMap),
    /// `prg:/path args`: a program answering one key per line on its standard output.
    Prg {
        program: PathBuf,
        args: Vec<String>,
    },
}

/// One `RewriteMap`.
#[derive(Debug, PartialEq, Eq)]
pub struct RewriteMap {
    pub name: String,
    pub source: MapSource,
    /// Tells this map's run-time state (txt cache, prg process) from any other's.
    pub id: u64,
}

impl RewriteMap {
    pub fn new(name: String, source: MapSource) -> RewriteMap {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        RewriteMap {
            name,
            source,
            id: NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }
}

/// The rewrite configuration of the main server or a virtual host (Apache's
/// `rewrite_server_conf`).
#[derive(Clone, Debug, Default)]
pub struct RewriteHost {
    /// `RewriteEngine` (`None`: not said; off).
    pub engine: Option<bool>,
    pub options: Option<RewriteOptions>,
    pub rules: Arc<Vec<Rule>>,
    pub maps: Arc<HashMap<String, Arc<RewriteMap>>>,
    /// Conditions read and not yet followed by their rule.
    pending: Vec<Cond>,
}

/// The rewrite configuration of a per-directory section (Apache's
/// `rewrite_perdir_conf`).
#[derive(Clone, Debug, Default)]
pub struct RewriteDir {
    /// The section has mod_rewrite directives of its own (otherwise merging it changes
    /// nothing, as Apache only creates a module's per-directory config on first use).
    pub present: bool,
    pub engine: Option<bool>,
    pub options: Option<RewriteOptions>,
    /// `RewriteBase`.
    pub base: Option<String>,
    /// The directory the rules belong to (with no trailing slash): the prefix they strip
    /// from the file name before matching and put back after. Set for `<Directory>`
    /// sections (and `.htaccess` files); `None` in `<Location>`/`<Files>`.
    pub directory: Option<String>,
    pub rules: Arc<Vec<Rule>>,
    pending: Vec<Cond>,
}

impl RewriteHost {
    pub fn engine_on(&self) -> bool {
        self.engine == Some(true)
    }

    /// Apache's `config_server_merge`: `self` is the main server, `vhost` a virtual
    /// host's own settings.
    pub fn merge_into_vhost(&self, vhost: &RewriteHost) -> RewriteHost {
        let base_opts = self.options.unwrap_or_default();
        let mut opts = vhost.options.unwrap_or_default();
        if !opts.ignore_inherit {
            opts.inherit |= base_opts.inherit_down;
            opts.inherit_before |= base_opts.inherit_down_before;
        }
        let (rules, maps) = if opts.inherit || opts.inherit_before {
            let mut maps = (*self.maps).clone();
            maps.extend(vhost.maps.iter().map(|(k, v)| (k.clone(), v.clone())));
            let rules = if opts.inherit_before {
                self.rules
                    .iter()
                    .chain(vhost.rules.iter())
                    .cloned()
                    .collect()
            } else {
                vhost
                    .rules
                    .iter()
                    .chain(self.rules.iter())
                    .cloned()
                    .collect()
            };
            (Arc::new(rules), Arc::new(maps))
        } else {
            (vhost.rules.clone(), vhost.maps.clone())
        };
        RewriteHost {
            engine: vhost.engine.or(self.engine),
            options: vhost.options.or(self.options),
            rules,
            maps,
            pending: Vec::new(),
        }
    }

    /// Conditions read but never followed by a rule (they have no effect).
    pub fn dangling_conds(&self) -> bool {
        !self.pending.is_empty()
    }
}

impl RewriteDir {
    pub fn engine_on(&self) -> bool {
        self.engine == Some(true)
    }

    /// Apache's `config_perdir_merge` of `more` (more specific) over `self`.
    pub fn merge(&self, more: &RewriteDir) -> RewriteDir {
        if !more.present {
            return self.clone();
        }
        if !self.present {
            return more.clone();
        }
        let base_opts = self.options.unwrap_or_default();
        let mut opts = more.options.unwrap_or_default();
        if !opts.ignore_inherit {
            opts.inherit |= base_opts.inherit_down;
            opts.inherit_before |= base_opts.inherit_down_before;
        }
        let rules = if opts.inherit_before {
            Arc::new(
                self.rules
                    .iter()
                    .chain(more.rules.iter())
                    .cloned()
                    .collect(),
            )
        } else if opts.inherit {
            Arc::new(
                more.rules
                    .iter()
                    .chain(self.rules.iter())
                    .cloned()
                    .collect(),
            )
        } else {
            more.rules.clone()
        };
        let options = more.options.or(self.options);
        let base = if options.unwrap_or_default().merge_base {
            more.base.clone().or_else(|| self.base.clone())
        } else {
            more.base.clone()
        };
        RewriteDir {
            present: true,
            engine: more.engine.or(self.engine),
            options,
            base,
            directory: more.directory.clone(),
            rules,
            pending: Vec::new(),
        }
    }

    pub fn dangling_conds(&self) -> bool {
        !self.pending.is_empty()
    }
}

/// Whether `name` is one of mod_rewrite's directives.
pub fn handles(name: &str) -> bool {
    matches!(
        name,
        "RewriteEngine"
            | "RewriteOptions"
            | "RewriteBase"
            | "RewriteCond"
            | "RewriteRule"
            | "RewriteMap"
    )
}

fn err(loc: &Location, msg: impl Into<String>) -> ConfigError {
    ConfigError::at(loc, msg)
}

fn engine(d: &Directive) -> bool {
    d.args.first().is_some_and(|a| a.eq_ignore_ascii_case("on"))
}

/// A mod_rewrite directive at server or virtual-host level. `resolve` makes a map file
/// path absolute (relative to ServerRoot).
pub fn host_directive(
    rw: &mut RewriteHost,
    d: &Directive,
    resolve: &dyn Fn(&str) -> PathBuf,
    warnings: &mut Vec<String>,
) -> Result<(), ConfigError> {
    match d.name {
        "RewriteEngine" => rw.engine = Some(engine(d)),
        "RewriteOptions" => {
            let opts = parse_options(d, rw.options.unwrap_or_default(), warnings)?;
            rw.options = Some(opts);
        }
        "RewriteBase" => {
            return Err(err(
                &d.location,
                "RewriteBase: only valid in per-directory config files",
            ));
        }
        "RewriteCond" => rw.pending.push(parse_cond(d)?),
        "RewriteRule" => {
            let conds = std::mem::take(&mut rw.pending);
            let rule = parse_rule(d, conds)?;
            Arc::make_mut(&mut rw.rules).push(rule);
        }
        "RewriteMap" => {
            let map = parse_map(d, resolve)?;
            Arc::make_mut(&mut rw.maps).insert(map.name.clone(), Arc::new(map));
        }
        _ => {}
    }
    Ok(())
}

/// A mod_rewrite directive in a per-directory section (or `.htaccess` file).
pub fn dir_directive(
    rw: &mut RewriteDir,
    d: &Directive,
    warnings: &mut Vec<String>,
) -> Result<(), ConfigError> {
    rw.present = true;
    match d.name {
        "RewriteEngine" => rw.engine = Some(engine(d)),
        "RewriteOptions" => {
            let opts = parse_options(d, rw.options.unwrap_or_default(), warnings)?;
            rw.options = Some(opts);
        }
        "RewriteBase" => {
            let base = d.args.first().map(String::as_str).unwrap_or("");
            if base.is_empty() {
                return Err(err(&d.location, "RewriteBase: empty URL not allowed"));
            }
            if !base.starts_with('/') {
                return Err(err(&d.location, "RewriteBase: argument is not a valid URL"));
            }
            rw.base = Some(base.to_string());
        }
        "RewriteCond" => rw.pending.push(parse_cond(d)?),
        "RewriteRule" => {
            let conds = std::mem::take(&mut rw.pending);
            let rule = parse_rule(d, conds)?;
            Arc::make_mut(&mut rw.rules).push(rule);
        }
        "RewriteMap" => {
            return Err(err(&d.location, "RewriteMap not allowed here"));
        }
        _ => {}
    }
    Ok(())
}

/// The startup warning for conditions no rule follows in `context` ("the main
/// server", "the <Directory> at line 3 of httpd.conf").
pub fn dangling_warning(context: &str) -> String {
    format!("RewriteCond at the end of {context} is followed by no RewriteRule: no effect")
}

#[cfg(test)]
mod tests;
