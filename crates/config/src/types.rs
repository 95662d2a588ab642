//! The public vocabulary of the configuration layer: where a directive came from, which
//! contexts it may appear in, how many arguments it takes, what a module declares, and the
//! tree the parser hands to the server.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A place in a configuration file: the 1-based number of the *last* physical line of
/// the logical line, as Apache reports it (`ap_cfg_getline` counts every physical line
/// it reads, so a directive continued over lines 3-5 is "line 5").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub file: Arc<Path>,
    pub line: usize,
}

impl Location {
    pub fn new(file: impl Into<PathBuf>, line: usize) -> Self {
        Location {
            file: Arc::from(file.into().into_boxed_path()),
            line,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// A configuration error. `Display` renders it the way Apache does:
///
/// ```text
/// AH00526: Syntax error on line 12 of /etc/rhttpd/httpd.conf:
/// Invalid command 'Foo', perhaps misspelled or defined by a module not included in the server configuration
/// ```
///
/// Errors without a location (e.g. a missing top-level file) print only the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub location: Option<Location>,
    pub message: String,
}

impl ConfigError {
    pub fn at(location: &Location, message: impl Into<String>) -> Self {
        ConfigError {
            location: Some(location.clone()),
            message: message.into(),
        }
    }

    pub fn bare(message: impl Into<String>) -> Self {
        ConfigError {
            location: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(loc) => write!(
                f,
                "AH00526: Syntax error on line {} of {}:\n{}",
                loc.line,
                loc.file.display(),
                self.message
            ),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// The contexts a directive may appear in, as a bit set (Apache's RSRC_CONF /
/// ACCESS_CONF / GLOBAL_ONLY rolled into five places).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Contexts(pub u8);

impl Contexts {
    /// Main server configuration, outside any section that changes context.
    pub const SERVER: Contexts = Contexts(1);
    /// Inside `<VirtualHost>`.
    pub const VHOST: Contexts = Contexts(2);
    /// Inside `<Directory>` / `<DirectoryMatch>`.
    pub const DIRECTORY: Contexts = Contexts(4);
    /// Inside `<Location>` / `<LocationMatch>`.
    pub const LOCATION: Contexts = Contexts(8);
    /// Inside `<Files>` / `<FilesMatch>`.
    pub const FILES: Contexts = Contexts(16);

    /// Server config only (Apache's GLOBAL_ONLY).
    pub const GLOBAL: Contexts = Contexts::SERVER;
    /// Server config and virtual host (Apache's RSRC_CONF).
    pub const SERVER_VHOST: Contexts = Contexts(1 | 2);
    /// Per-directory sections only (Apache's ACCESS_CONF).
    pub const DIR_ONLY: Contexts = Contexts(4 | 8 | 16);
    /// Everywhere (RSRC_CONF | ACCESS_CONF).
    pub const ANY: Contexts = Contexts(1 | 2 | 4 | 8 | 16);

    pub const fn union(self, other: Contexts) -> Contexts {
        Contexts(self.0 | other.0)
    }

    pub const fn contains(self, other: Contexts) -> bool {
        self.0 & other.0 == other.0
    }

    /// The words Apache's `-L` prints for these contexts ("server config, virtual host,
    /// directory").
    pub fn describe(self) -> String {
        let mut parts = Vec::new();
        if self.contains(Contexts::SERVER) {
            parts.push("server config");
        }
        if self.contains(Contexts::VHOST) {
            parts.push("virtual host");
        }
        if self.0 & (Contexts::DIRECTORY.0 | Contexts::LOCATION.0 | Contexts::FILES.0) != 0 {
            parts.push("directory");
        }
        parts.join(", ")
    }
}

/// How many arguments a directive takes (Apache's TAKE1, TAKE12, FLAG, ITERATE, RAW_ARGS...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arity {
    NoArgs,
    Take1,
    Take2,
    Take3,
    Take12,
    Take13,
    Take23,
    Take123,
    /// `On` or `Off` (case-insensitive).
    Flag,
    /// One or more arguments.
    OneOrMore,
    /// Two or more arguments.
    TwoOrMore,
    /// Any number of arguments, including none.
    Any,
    /// A `<Section ...>` opener: the arguments inside `<...>`; children follow.
    Section,
}

impl Arity {
    /// Whether `n` arguments are acceptable.
    pub fn accepts(self, n: usize) -> bool {
        match self {
            Arity::NoArgs => n == 0,
            Arity::Take1 | Arity::Flag => n == 1,
            Arity::Take2 => n == 2,
            Arity::Take3 => n == 3,
            Arity::Take12 => (1..=2).contains(&n),
            Arity::Take13 => n == 1 || n == 3,
            Arity::Take23 => (2..=3).contains(&n),
            Arity::Take123 => (1..=3).contains(&n),
            Arity::OneOrMore => n >= 1,
            Arity::TwoOrMore => n >= 2,
            Arity::Any | Arity::Section => true,
        }
    }
}

/// One row of a module's directive table.
#[derive(Clone, Copy, Debug)]
pub struct DirectiveSpec {
    /// Canonical spelling (`DocumentRoot`); sections without the angle bracket
    /// (`Directory`, `VirtualHost`). Matched case-insensitively.
    pub name: &'static str,
    pub contexts: Contexts,
    pub arity: Arity,
    /// One-line help, printed by `rhttpd -L` and in arity errors.
    pub help: &'static str,
}

/// A module compiled into rhttpd, with the directives it owns.
#[derive(Clone, Copy, Debug)]
pub struct ModuleInfo {
    /// The name `LoadModule` and `<IfModule>` use: `status_module`.
    pub name: &'static str,
    /// The source-file name Apache prints and `<IfModule>` also accepts: `mod_status.c`.
    pub source: &'static str,
    /// Always present (Apache's statically linked modules, printed by `-l`). Modules that
    /// are not built in are present only once a `LoadModule` line names them.
    pub builtin: bool,
    pub directives: &'static [DirectiveSpec],
}

/// A node of the parsed tree. `<IfModule>`, `<IfDefine>`, `Include`, `IncludeOptional`,
/// `Define`, `UnDefine`, `ServerRoot` and `LoadModule` are evaluated by the parser; the
/// tree holds what they produced (LoadModule and ServerRoot are kept as directives too,
/// so later stages may report them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Directive(Directive),
    Section(Section),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directive {
    /// Canonical spelling from the directive table.
    pub name: &'static str,
    /// Arguments with quotes removed, escapes resolved and `${VAR}` expanded.
    pub args: Vec<String>,
    pub location: Location,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// Canonical spelling without brackets: `VirtualHost`, `Directory`, `FilesMatch`.
    pub name: &'static str,
    pub args: Vec<String>,
    /// The arguments as written, before the closing `>` (`<If>` reads an expression,
    /// not words).
    pub raw_args: String,
    pub location: Location,
    pub children: Vec<Node>,
}

/// What the caller gives the parser.
#[derive(Clone, Debug)]
pub struct ParseOptions<'a> {
    /// The main configuration file (relative paths are taken relative to `server_root`).
    pub file: PathBuf,
    /// Initial ServerRoot (`-d`, else the compiled-in default); a `ServerRoot` directive
    /// changes it for everything that follows.
    pub server_root: PathBuf,
    /// `-D NAME` defines (also visible to `<IfDefine>`).
    pub defines: Vec<String>,
    /// `-C` directives, processed before the file.
    pub pre_directives: Vec<String>,
    /// `-c` directives, processed after the file.
    pub post_directives: Vec<String>,
    /// Every module rhttpd knows (builtin or loadable).
    pub modules: &'a [ModuleInfo],
    /// Text of the main file when it is embedded in the binary rather than read from
    /// `file` (the default configuration); `file` is then only used for messages.
    pub embedded: Option<&'a str>,
}

/// What the parser returns.
#[derive(Clone, Debug)]
pub struct Parsed {
    pub nodes: Vec<Node>,
    /// The final ServerRoot.
    pub server_root: PathBuf,
    /// Names (`status_module`) of modules present: builtin ones plus the LoadModule'd ones,
    /// in load order.
    pub loaded_modules: Vec<&'static str>,
    /// All defines in effect at the end (from -D and `Define NAME`), for `-S`.
    pub defines: Vec<(String, Option<String>)>,
    /// Every file read, in order, with nesting depth (for `-t -D DUMP_INCLUDES`).
    pub includes: Vec<(usize, PathBuf)>,
    /// For each entry of `includes`, the line number of the `Include` directive that
    /// read the file (0 for the main file), as `-D DUMP_INCLUDES` prints it.
    pub include_lines: Vec<usize>,
    /// Startup warnings, in order: `AH00111: Config variable ${X} is not defined (line N
    /// of FILE)` and `AH01574: module X is already loaded, skipping`.
    pub warnings: Vec<String>,
}
