//! Reading the configuration, in Apache's two passes:
//!
//! 1. *Build* (`ap_build_config`): logical lines become a tree of directives and sections;
//!    section nesting is checked per file, and the `EXEC_ON_READ` directives run as they
//!    are read — `Include`/`IncludeOptional`, `Define`/`UnDefine`, `<IfModule>`,
//!    `<IfDefine>`, `<IfFile>`, `<IfDirective>`, `<IfSection>`, `<IfVersion>`,
//!    `ServerRoot`, `LoadModule`. `${VAR}` is expanded on each whole line
//!    before it is split into words (`ap_resolve_env`), so a value may hold several words.
//! 2. *Walk* ([`crate::check`]): every remaining node is looked up in the tables of the
//!    modules loaded by the end of pass 1, and its context and arguments are checked.
//!
//! So, as in Apache, a structural error anywhere (an unclosed section, a bad `Include`)
//! is reported before an unknown directive earlier in the file.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::check::{Checker, Raw, check_arity, missing_gt};
use crate::conditions;
use crate::include::{expand, root_relative, strerror};
use crate::lexer::{LogicalLine, getword_conf, logical_lines, resolve_vars, split_words};
use crate::types::*;

/// The file name Apache gives `-C`/`-c` directives in messages.
pub const COMMAND_LINE_FILE: &str = "-c/-C directives";
/// `AP_MAX_INCLUDE_DEPTH`.
const MAX_INCLUDE_DEPTH: usize = 128;

const INCLUDE_HELP: &str = "Name(s) of the config file(s) to be included; fails if the wildcard does not match at least one file";
const INCLUDE_OPT_HELP: &str = "Name or pattern of the config file(s) to be included; ignored if the file does not exist or the pattern does not match any files";
const DEFINE_HELP: &str =
    "Define a variable, optionally to a value.  Same as passing -D to the command line.";
const UNDEFINE_HELP: &str = "Undefine the existence of a variable. Undo a Define.";
const SERVER_ROOT_HELP: &str = "Common directory of server-related files (logs, confs, etc.)";
const LOAD_MODULE_HELP: &str = "a module name and the name of a shared object file to load it from";
const IFMODULE_HELP: &str = "Container for directives based on existence of specified modules";
const IFDEFINE_HELP: &str = "Container for directives based on existence of command line defines";
/// The directives this reader runs itself, as `<IfDirective>`/`<IfSection>` see them.
const READER_DIRECTIVES: &[&str] = &[
    "Include",
    "IncludeOptional",
    "Define",
    "UnDefine",
    "ServerRoot",
    "LoadModule",
];
const READER_SECTIONS: &[&str] = &[
    "IfModule",
    "IfDefine",
    "IfFile",
    "IfDirective",
    "IfSection",
    "IfVersion",
];

/// Parse the configuration: `-C` directives, the main file (with everything it
/// includes), `-c` directives; then check the whole tree against the module tables.
pub fn parse(opts: &ParseOptions) -> Result<Parsed, ConfigError> {
    let mut p = Reader {
        opts,
        server_root: opts.server_root.to_string_lossy().into_owned(),
        dyn_loaded: Vec::new(),
        defines: Vec::new(),
        includes: Vec::new(),
        include_lines: Vec::new(),
        warnings: Vec::new(),
        chain: Vec::new(),
        htaccess: false,
    };
    for d in &opts.defines {
        if !p.defines.iter().any(|(k, _)| k == d) {
            p.defines.push((d.clone(), None));
        }
    }
    let mut nodes = p.command_line(&opts.pre_directives)?;
    nodes.extend(p.main_file()?);
    nodes.extend(p.command_line(&opts.post_directives)?);

    let mut tables: Vec<&[DirectiveSpec]> = Vec::new();
    let mut loaded_modules = Vec::new();
    for m in opts.modules.iter().filter(|m| m.builtin) {
        tables.push(m.directives);
        loaded_modules.push(m.name);
    }
    for &i in &p.dyn_loaded {
        if let Some(m) = opts.modules.get(i) {
            tables.push(m.directives);
            loaded_modules.push(m.name);
        }
    }
    // No MPM loaded: the default one's directives are known anyway, as in an Apache
    // build with its MPM compiled in (the server then runs event).
    let is_mpm = |n: &str| n.starts_with("mpm_") && n != "mpm_common_module";
    if !loaded_modules.iter().any(|n| is_mpm(n))
        && let Some(m) = opts.modules.iter().find(|m| m.name == "mpm_event_module")
    {
        tables.push(m.directives);
    }
    let nodes = Checker { tables }.walk(nodes, Contexts::SERVER)?;
    Ok(Parsed {
        nodes,
        server_root: PathBuf::from(p.server_root),
        loaded_modules,
        defines: p.defines,
        includes: p.includes,
        include_lines: p.include_lines,
        warnings: p.warnings,
    })
}

/// Parse a per-directory configuration file (`.htaccess`) whose text is `text`:
/// `<IfModule>`/`<IfDefine>` and `${VAR}` are evaluated against the running
/// configuration (`loaded`: the names of the modules it loaded, `defines`: its
/// defines), every directive is checked against the loaded modules' tables in a
/// directory context, and what only the main configuration may hold (`Include`,
/// `Define`, `LoadModule`, `<Directory>`, `<VirtualHost>` ...) is refused with Apache's
/// "not allowed here". Which directives the `AllowOverride` in force permits is the
/// caller's check.
pub fn parse_htaccess(
    text: &str,
    file: &Path,
    modules: &[ModuleInfo],
    loaded: &[&str],
    defines: &[(String, Option<String>)],
) -> Result<Vec<Node>, ConfigError> {
    let opts = ParseOptions {
        file: file.to_path_buf(),
        server_root: PathBuf::from("/"),
        defines: Vec::new(),
        pre_directives: Vec::new(),
        post_directives: Vec::new(),
        modules,
        embedded: Some(text),
    };
    let dyn_loaded = modules
        .iter()
        .enumerate()
        .filter(|(_, m)| !m.builtin && loaded.contains(&m.name))
        .map(|(i, _)| i)
        .collect();
    let mut p = Reader {
        opts: &opts,
        server_root: "/".into(),
        dyn_loaded,
        defines: defines.to_vec(),
        includes: Vec::new(),
        include_lines: Vec::new(),
        warnings: Vec::new(),
        chain: Vec::new(),
        htaccess: true,
    };
    let nodes = p.main_file()?;
    let tables = modules
        .iter()
        .filter(|m| m.builtin || loaded.contains(&m.name))
        .map(|m| m.directives)
        .collect();
    Checker { tables }.walk(nodes, Contexts::DIRECTORY)
}

/// The lines of one file being read.
struct Src {
    file: Arc<Path>,
    lines: Vec<LogicalLine>,
    pos: usize,
}

/// A section opened and not yet closed in the current file.
struct Open {
    name: String,
    raw_args: String,
    location: Location,
    children: Vec<Raw>,
}

struct Reader<'a, 'o> {
    opts: &'a ParseOptions<'o>,
    server_root: String,
    /// Indexes into `opts.modules` of non-builtin modules loaded, in load order.
    dyn_loaded: Vec<usize>,
    defines: Vec<(String, Option<String>)>,
    includes: Vec<(usize, PathBuf)>,
    /// For each entry of `includes`, the line of the `Include` that read it (0: none).
    include_lines: Vec<usize>,
    warnings: Vec<String>,
    /// Files being read, outermost first: (canonical path, path as shown).
    chain: Vec<(PathBuf, String)>,
    /// Reading a `.htaccess` file: `Include`, `Define`, `LoadModule` ... are refused.
    htaccess: bool,
}

fn canonical(path: &str) -> PathBuf {
    fs::canonicalize(path).unwrap_or_else(|_| PathBuf::from(path))
}

impl Reader<'_, '_> {
    fn command_line(&mut self, lines: &[String]) -> Result<Vec<Raw>, ConfigError> {
        if lines.is_empty() {
            return Ok(Vec::new());
        }
        let lines = lines
            .iter()
            .enumerate()
            .flat_map(|(i, l)| {
                let mut v = logical_lines(l.replace(['\r', '\n'], " ").as_str());
                v.iter_mut().for_each(|x| x.line = i + 1);
                v
            })
            .collect();
        let mut src = Src {
            file: Arc::from(Path::new(COMMAND_LINE_FILE)),
            lines,
            pos: 0,
        };
        self.chain
            .push((PathBuf::from(COMMAND_LINE_FILE), COMMAND_LINE_FILE.into()));
        let r = self.build(&mut src, None);
        self.chain.pop();
        r
    }

    fn main_file(&mut self) -> Result<Vec<Raw>, ConfigError> {
        if let Some(text) = self.opts.embedded {
            let file = self.opts.file.clone();
            let shown = file.to_string_lossy().into_owned();
            self.includes.push((0, file.clone()));
            self.include_lines.push(0);
            let mut src = Src {
                file: Arc::from(file.as_path()),
                lines: logical_lines(text),
                pos: 0,
            };
            self.chain.push((canonical(&shown), shown));
            let r = self.build(&mut src, None);
            self.chain.pop();
            return r;
        }
        let path = root_relative(&self.server_root, &self.opts.file.to_string_lossy());
        let files = expand(&path, false).map_err(ConfigError::bare)?;
        let mut nodes = Vec::new();
        for f in files {
            nodes.extend(self.read_file(&f, None, false)?);
        }
        Ok(nodes)
    }

    /// Read and build one file; `from` is the `Include` line naming it.
    fn read_file(
        &mut self,
        path: &str,
        from: Option<&Location>,
        optional: bool,
    ) -> Result<Vec<Raw>, ConfigError> {
        let fail = |msg: String| match from {
            Some(l) => ConfigError::at(l, msg),
            None => ConfigError::bare(msg),
        };
        let canon = canonical(path);
        if let Some(i) = self.chain.iter().position(|(c, _)| *c == canon) {
            let mut names: Vec<&str> = self.chain[i..].iter().map(|(_, s)| s.as_str()).collect();
            names.push(path);
            return Err(fail(format!(
                "Include cycle detected: {}",
                names.join(" -> ")
            )));
        }
        let text = match read_config(path) {
            Ok(t) => t,
            Err(e) if optional && e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(fail(format!(
                    "Could not open configuration file {path}: {}",
                    strerror(&e)
                )));
            }
        };
        let depth = self
            .chain
            .iter()
            .filter(|(c, _)| c != Path::new(COMMAND_LINE_FILE))
            .count();
        self.includes.push((depth, PathBuf::from(path)));
        self.include_lines.push(from.map_or(0, |l| l.line));
        let mut src = Src {
            file: Arc::from(Path::new(path)),
            lines: logical_lines(&text),
            pos: 0,
        };
        self.chain.push((canon, path.to_string()));
        let r = self.build(&mut src, None);
        self.chain.pop();
        r
    }

    fn lookup_var(&self, name: &str) -> Option<String> {
        if let Some((_, Some(v))) = self.defines.iter().find(|(k, _)| k == name) {
            return Some(v.clone());
        }
        if name.is_empty() || name.contains(['=', '\0']) {
            return None;
        }
        std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
    }

    fn resolve(&mut self, text: &str, loc: &Location) -> String {
        let (s, undefined) = resolve_vars(text, |n| self.lookup_var(n));
        for name in undefined {
            self.warnings.push(format!(
                "AH00111: Config variable ${{{name}}} is not defined (line {} of {})",
                loc.line,
                loc.file.display()
            ));
        }
        s
    }

    /// `ap_build_config` for one file, or `ap_build_cont_config` for the body of a true
    /// `<IfModule>`/`<IfDefine>` (`stop`: its name and opening line).
    fn build(
        &mut self,
        src: &mut Src,
        stop: Option<(&str, &Location)>,
    ) -> Result<Vec<Raw>, ConfigError> {
        let mut root: Vec<Raw> = Vec::new();
        let mut open: Vec<Open> = Vec::new();
        while let Some(line) = src.lines.get(src.pos) {
            src.pos += 1;
            let loc = Location {
                file: src.file.clone(),
                line: line.line,
            };
            if let Some((name, _)) = stop
                && open.is_empty()
                && line.text.len() == name.len() + 3
                && line.text.starts_with("</")
                && line.text[2..].eq_ignore_ascii_case(&format!("{name}>"))
            {
                return Ok(root);
            }
            let text = line.text.clone();
            let resolved = self.resolve(&text, &loc);
            let (mut cmd, rest) = getword_conf(&resolved);
            if cmd.is_empty() {
                continue;
            }
            let mut args = rest.to_string();
            if cmd.as_bytes().get(1) != Some(&b'/') {
                if cmd.ends_with('>') {
                    cmd.pop();
                }
                if cmd.starts_with('<') && args.is_empty() {
                    args = ">".into();
                }
            }
            let container = match open.last_mut() {
                Some(o) => &mut o.children,
                None => &mut root,
            };
            if let Some(nodes) = self.builtin(&cmd, &args, &loc, src)? {
                container.extend(nodes);
            } else if !cmd.starts_with('<') {
                container.push(Raw::Directive {
                    name: cmd,
                    words: split_words(&args),
                    location: loc,
                });
            } else if !cmd.starts_with("</") {
                open.push(Open {
                    name: cmd[1..].to_string(),
                    raw_args: args,
                    location: loc,
                    children: Vec::new(),
                });
            } else {
                let Some(top) = open.pop() else {
                    let msg = format!("{cmd} without matching <{} section", &cmd[2..]);
                    return Err(ConfigError::at(&loc, msg));
                };
                let Some(inner) = cmd.strip_suffix('>') else {
                    return Err(ConfigError::at(
                        &loc,
                        format!("{cmd}> directive missing closing '>'"),
                    ));
                };
                if !inner[2..].eq_ignore_ascii_case(&top.name) {
                    let msg = format!("Expected </{}> but saw {inner}>", top.name);
                    return Err(ConfigError::at(&loc, msg));
                }
                let node = Raw::Section {
                    name: top.name,
                    raw_args: top.raw_args,
                    location: top.location,
                    children: top.children,
                };
                match open.last_mut() {
                    Some(o) => o.children.push(node),
                    None => root.push(node),
                }
            }
        }
        if let Some(outer) = open.first() {
            let msg = open
                .iter()
                .rev()
                .map(|o| {
                    format!(
                        "{}:{}: <{}> was not closed.",
                        o.location.file.display(),
                        o.location.line,
                        o.name
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            return Err(ConfigError::at(&outer.location, msg));
        }
        if let Some((name, loc)) = stop {
            let msg = format!("Expected </{name}> before end of configuration");
            return Err(ConfigError::at(loc, msg));
        }
        Ok(root)
    }

    /// Run a directive the parser implements itself; `None` if `cmd` is not one.
    fn builtin(
        &mut self,
        cmd: &str,
        args: &str,
        loc: &Location,
        src: &mut Src,
    ) -> Result<Option<Vec<Raw>>, ConfigError> {
        let lower = cmd.to_ascii_lowercase();
        if let Some(name) = READER_SECTIONS[2..]
            .iter()
            .find(|n| lower.get(1..) == Some(n.to_ascii_lowercase().as_str()))
        {
            return self.if_exists(name, args, loc, src).map(Some);
        }
        let (name, arity, help) = match lower.as_str() {
            "include" => ("Include", Arity::Take1, INCLUDE_HELP),
            "includeoptional" => ("IncludeOptional", Arity::Take1, INCLUDE_OPT_HELP),
            "define" => ("Define", Arity::Take12, DEFINE_HELP),
            "undefine" => ("UnDefine", Arity::Take1, UNDEFINE_HELP),
            "serverroot" => ("ServerRoot", Arity::Take1, SERVER_ROOT_HELP),
            "loadmodule" => ("LoadModule", Arity::Take2, LOAD_MODULE_HELP),
            "<ifmodule" => ("<IfModule", Arity::Take1, IFMODULE_HELP),
            "<ifdefine" => ("<IfDefine", Arity::Take1, IFDEFINE_HELP),
            _ => return Ok(None),
        };
        let at = |m: String| ConfigError::at(loc, m);
        if self.htaccess && !name.starts_with('<') {
            return Err(at(format!("{name} not allowed here")));
        }
        let mut words = split_words(args);
        check_arity(name, arity, help, &words).map_err(at)?;
        let first = words.first().cloned().unwrap_or_default();
        let done = |args: Vec<String>| {
            Some(vec![Raw::Done(Directive {
                name,
                args,
                location: loc.clone(),
            })])
        };
        match name {
            "Include" | "IncludeOptional" => {
                let optional = name == "IncludeOptional";
                self.include(&first, optional, loc).map(Some)
            }
            "Define" | "UnDefine" => {
                if first.contains(':') {
                    return Err(at("Variable name must not contain ':'".into()));
                }
                if name == "UnDefine" {
                    self.defines.retain(|(k, _)| *k != first);
                    return Ok(Some(Vec::new()));
                }
                let value = words.get(1).cloned();
                match self.defines.iter_mut().find(|(k, _)| *k == first) {
                    Some(d) if value.is_some() => d.1 = value,
                    Some(_) => {}
                    None => self.defines.push((first, value)),
                }
                Ok(Some(Vec::new()))
            }
            "ServerRoot" => {
                let root = root_relative(&self.server_root, &first);
                if !fs::metadata(&root).is_ok_and(|m| m.is_dir()) {
                    return Err(at("ServerRoot must be a valid directory".into()));
                }
                self.server_root = root;
                Ok(done(words))
            }
            "LoadModule" => {
                let modules = self.opts.modules;
                match modules.iter().position(|m| m.name == first) {
                    Some(i) if modules[i].builtin => {}
                    Some(i) if self.dyn_loaded.contains(&i) => self.warnings.push(format!(
                        "AH01574: module {first} is already loaded, skipping"
                    )),
                    Some(i) => self.dyn_loaded.push(i),
                    None => {
                        let file = root_relative(&self.server_root, &words[1]);
                        return Err(at(format!(
                            "Cannot load {file} into server: rhttpd does not implement {first}"
                        )));
                    }
                }
                Ok(done(words))
            }
            _ => {
                // <IfModule> / <IfDefine>: the one word, up to its last '>'.
                let Some(end) = first.rfind('>') else {
                    return Err(at(missing_gt(name)));
                };
                let mut arg = words.swap_remove(0);
                arg.truncate(end);
                let not = arg.starts_with('!');
                let arg = if not { &arg[1..] } else { &arg[..] };
                if arg.is_empty() {
                    return Err(at(format!(
                        "{name}> directive requires additional arguments"
                    )));
                }
                let found = if name == "<IfModule" {
                    self.module_loaded(arg)
                } else {
                    self.defines.iter().any(|(k, _)| k == arg)
                };
                if found != not {
                    self.build(src, Some((&name[1..], loc))).map(Some)
                } else {
                    self.soak(src, name).map_err(at)?;
                    Ok(Some(Vec::new()))
                }
            }
        }
    }

    /// `<IfFile>`, `<IfDirective>`, `<IfSection>` (core's `start_if_exists`) and
    /// `<IfVersion>` (mod_version): test once, then read or skip the body.
    fn if_exists(
        &mut self,
        name: &str,
        args: &str,
        loc: &Location,
        src: &mut Src,
    ) -> Result<Vec<Raw>, ConfigError> {
        let at = |m: String| ConfigError::at(loc, m);
        let Some(end) = args.rfind('>') else {
            return Err(at(missing_gt(&format!("<{name}"))));
        };
        let words = split_words(&args[..end]);
        let found = if name == "IfVersion" {
            conditions::if_version(&words).map_err(at)?
        } else {
            let [arg] = words.as_slice() else {
                return Err(at(format!(
                    "<{name}> directive requires additional arguments"
                )));
            };
            let (not, arg) = match arg.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, arg.as_str()),
            };
            if arg.is_empty() {
                return Err(at(format!(
                    "<{name}> directive requires additional arguments"
                )));
            }
            let exists = match name {
                "IfFile" => fs::metadata(root_relative(&self.server_root, arg)).is_ok(),
                "IfDirective" => self.directive_exists(arg, false),
                _ => self.directive_exists(arg, true),
            };
            exists != not
        };
        if found {
            self.build(src, Some((name, loc)))
        } else {
            self.soak(src, &format!("<{name}")).map_err(at)?;
            Ok(Vec::new())
        }
    }

    /// `ap_exists_directive`: whether a loaded module (or this reader) implements the
    /// directive (`section`: the `<name>` section) `name`, case-insensitively.
    fn directive_exists(&self, name: &str, section: bool) -> bool {
        let own = if section {
            READER_SECTIONS
        } else {
            READER_DIRECTIVES
        };
        own.iter().any(|d| d.eq_ignore_ascii_case(name))
            || self.opts.modules.iter().enumerate().any(|(i, m)| {
                (m.builtin || self.dyn_loaded.contains(&i))
                    && m.directives.iter().any(|d| {
                        (d.arity == Arity::Section) == section && d.name.eq_ignore_ascii_case(name)
                    })
            })
    }

    fn module_loaded(&self, arg: &str) -> bool {
        self.opts.modules.iter().enumerate().any(|(i, m)| {
            (m.builtin || self.dyn_loaded.contains(&i)) && (m.name == arg || m.source == arg)
        })
    }

    /// `ap_soak_end_container`: skip a false `<IfModule>`/`<IfDefine>` body, matching
    /// nested sections by name only. `directive` is `<IfModule` (or a nested `<Foo`).
    fn soak(&mut self, src: &mut Src, directive: &str) -> Result<(), String> {
        while let Some(line) = src.lines.get(src.pos) {
            src.pos += 1;
            let loc = Location {
                file: src.file.clone(),
                line: line.line,
            };
            let text = line.text.clone();
            let resolved = self.resolve(&text, &loc);
            let (mut cmd, rest) = getword_conf(&resolved);
            if !cmd.starts_with('<') {
                continue;
            }
            if cmd.starts_with("</") {
                cmd.pop();
                if !cmd
                    .get(2..)
                    .unwrap_or("")
                    .eq_ignore_ascii_case(&directive[1..])
                {
                    return Err(format!("Expected </{}> but saw {cmd}>", &directive[1..]));
                }
                return Ok(());
            }
            if rest.is_empty() && cmd.ends_with('>') {
                cmd.pop();
            }
            self.soak(src, &cmd)?;
        }
        Err(format!(
            "Expected </{}> before end of configuration",
            &directive[1..]
        ))
    }

    fn include(
        &mut self,
        pattern: &str,
        optional: bool,
        loc: &Location,
    ) -> Result<Vec<Raw>, ConfigError> {
        if self.chain.len() > MAX_INCLUDE_DEPTH {
            return Err(ConfigError::at(
                loc,
                format!(
                    "Exceeded maximum include depth of {MAX_INCLUDE_DEPTH}, There appears to be a recursion."
                ),
            ));
        }
        let path = root_relative(&self.server_root, pattern);
        let files = expand(&path, optional).map_err(|m| ConfigError::at(loc, m))?;
        let mut nodes = Vec::new();
        for f in files {
            nodes.extend(self.read_file(&f, Some(loc), optional)?);
        }
        Ok(nodes)
    }
}

/// `ap_pcfg_openfile`: only regular files (and `/dev/null`) are read.
fn read_config(path: &str) -> io::Result<String> {
    let meta = fs::metadata(path)?;
    if !meta.is_file() && path != "/dev/null" {
        return Err(io::Error::from_raw_os_error(9)); // EBADF, as Apache reports it
    }
    let bytes = fs::read(path)?;
    Ok(match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}
