//! Log levels and the `LogLevel` directive (per-server default plus per-module overrides).

use std::fmt;

/// An error-log severity, most severe first: `Emerg < Alert < ... < Debug < Trace1 < ... <
/// Trace8` in the derived order, so a message is logged when `level <= configured`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Emerg,
    Alert,
    Crit,
    Error,
    Warn,
    Notice,
    Info,
    Debug,
    Trace1,
    Trace2,
    Trace3,
    Trace4,
    Trace5,
    Trace6,
    Trace7,
    Trace8,
}

const ALL: [Level; 16] = [
    Level::Emerg,
    Level::Alert,
    Level::Crit,
    Level::Error,
    Level::Warn,
    Level::Notice,
    Level::Info,
    Level::Debug,
    Level::Trace1,
    Level::Trace2,
    Level::Trace3,
    Level::Trace4,
    Level::Trace5,
    Level::Trace6,
    Level::Trace7,
    Level::Trace8,
];

/// Apache's `ap_parse_log_level` error text.
pub const LEVEL_KEYWORD_ERROR: &str = "Log level keyword must be one of emerg/alert/crit/error/warn/notice/info/debug/trace1/.../trace8";

impl Level {
    /// Apache's name of the level, as printed in `[core:error]`.
    /// Apache's number for the level: emerg 0 … debug 7, trace1 8 … trace8 15.
    pub fn number(self) -> u8 {
        ALL.iter().position(|l| *l == self).unwrap_or(0) as u8
    }

    pub fn name(self) -> &'static str {
        match self {
            Level::Emerg => "emerg",
            Level::Alert => "alert",
            Level::Crit => "crit",
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Notice => "notice",
            Level::Info => "info",
            Level::Debug => "debug",
            Level::Trace1 => "trace1",
            Level::Trace2 => "trace2",
            Level::Trace3 => "trace3",
            Level::Trace4 => "trace4",
            Level::Trace5 => "trace5",
            Level::Trace6 => "trace6",
            Level::Trace7 => "trace7",
            Level::Trace8 => "trace8",
        }
    }

    /// Parses a level keyword case-insensitively, with Apache's error message.
    pub fn parse(s: &str) -> Result<Level, String> {
        ALL.iter()
            .copied()
            .find(|l| l.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| LEVEL_KEYWORD_ERROR.to_string())
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The short module name Apache prints and matches: `mod_ssl.c`, `ssl_module` and `ssl`
/// all become `ssl`; `core.c` and `core_module` become `core`.
pub fn module_short_name(name: &str) -> &str {
    if let Some(s) = name.strip_suffix("_module") {
        return s;
    }
    if let Some(s) = name.strip_suffix(".c") {
        return s.strip_prefix("mod_").unwrap_or(s);
    }
    name
}

/// `LogLevel` settings of one context: a default level (unset means Apache's default,
/// `warn`) and per-module overrides keyed by short module name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogLevels {
    level: Option<Level>,
    modules: Vec<(String, Level)>,
}

impl LogLevels {
    /// Apache's default level when no `LogLevel` is given.
    pub const DEFAULT: Level = Level::Warn;

    /// All modules at `level`.
    pub fn new(level: Level) -> LogLevels {
        LogLevels {
            level: Some(level),
            modules: Vec::new(),
        }
    }

    /// Parses the arguments of one `LogLevel` directive, e.g. `["warn", "ssl:info"]`.
    /// Module names are not checked; see [`LogLevels::parse_with`].
    pub fn parse(args: &[String]) -> Result<LogLevels, String> {
        let mut l = LogLevels::default();
        l.apply(args, &|_| true)?;
        Ok(l)
    }

    /// As [`LogLevels::parse`], rejecting module names for which `known(short_name)` is
    /// false with Apache's "Cannot find module NAME".
    pub fn parse_with(args: &[String], known: &dyn Fn(&str) -> bool) -> Result<LogLevels, String> {
        let mut l = LogLevels::default();
        l.apply(args, known)?;
        Ok(l)
    }

    /// Applies one more `LogLevel` directive of the same context on top of this one, as
    /// Apache does argument by argument: a bare level resets every module override.
    pub fn apply(&mut self, args: &[String], known: &dyn Fn(&str) -> bool) -> Result<(), String> {
        if args.is_empty() {
            return Err("LogLevel requires at least one argument".to_string());
        }
        for arg in args {
            match arg.rfind(':') {
                None => {
                    self.level = Some(Level::parse(arg)?);
                    self.modules.clear();
                }
                Some(colon) => {
                    let (name, level_str) = (&arg[..colon], &arg[colon + 1..]);
                    if level_str.is_empty() {
                        return Err(format!(
                            "Module specifier '{name}' must be followed by a log level keyword"
                        ));
                    }
                    let level =
                        Level::parse(level_str).map_err(|e| format!("{name}:{level_str}: {e}"))?;
                    let short = module_short_name(name);
                    if short.is_empty() || !known(short) {
                        return Err(format!("Cannot find module {name}"));
                    }
                    self.set_module(short, level);
                }
            }
        }
        Ok(())
    }

    /// Sets the level of one module (any of its name forms).
    pub fn set_module(&mut self, module: &str, level: Level) {
        let short = module_short_name(module);
        match self.modules.iter_mut().find(|(m, _)| m == short) {
            Some(slot) => slot.1 = level,
            None => self.modules.push((short.to_string(), level)),
        }
    }

    /// The default level set here, `None` when this context set none.
    pub fn explicit_level(&self) -> Option<Level> {
        self.level
    }

    /// The default level (Apache's `warn` when unset).
    pub fn level(&self) -> Level {
        self.level.unwrap_or(Self::DEFAULT)
    }

    /// The effective level of `module`.
    pub fn module_level(&self, module: &str) -> Level {
        if !self.modules.is_empty() {
            let short = module_short_name(module);
            if let Some((_, l)) = self.modules.iter().find(|(m, _)| m == short) {
                return *l;
            }
        }
        self.level()
    }

    /// Apache's `ap_merge_log_config`: `over` (the inner context, e.g. a vhost) wins; when
    /// it set a default level, the outer per-module levels are dropped too.
    pub fn merge(&self, over: &LogLevels) -> LogLevels {
        if over.level.is_some() {
            return over.clone();
        }
        let mut merged = self.clone();
        for (m, l) in &over.modules {
            merged.set_module(m, *l);
        }
        merged
    }

    /// Whether a message of `module` at `level` passes these settings. (The error log
    /// additionally always lets `notice` through, as Apache does.)
    pub fn enabled(&self, module: &str, level: Level) -> bool {
        level <= self.module_level(module)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn level_names_and_order() {
        assert!(Level::Emerg < Level::Error);
        assert!(Level::Debug < Level::Trace1);
        assert_eq!(Level::parse("WARN"), Ok(Level::Warn));
        assert_eq!(Level::parse("trace8"), Ok(Level::Trace8));
        for l in ALL {
            assert_eq!(Level::parse(l.name()), Ok(l));
        }
        assert_eq!(
            Level::parse("verbose"),
            Err(LEVEL_KEYWORD_ERROR.to_string())
        );
        assert_eq!(Level::Crit.to_string(), "crit");
    }

    #[test]
    fn default_is_warn() {
        let l = LogLevels::default();
        assert!(l.enabled("core", Level::Warn));
        assert!(!l.enabled("core", Level::Notice));
        assert_eq!(l.explicit_level(), None);
    }

    #[test]
    fn parse_plain_level() {
        let l = LogLevels::parse(&args("info")).unwrap();
        assert_eq!(l.level(), Level::Info);
        assert!(l.enabled("ssl", Level::Info));
        assert!(!l.enabled("ssl", Level::Debug));
    }

    #[test]
    fn parse_module_levels_all_name_forms() {
        let l = LogLevels::parse(&args(
            "warn ssl:info mod_rewrite.c:trace3 core_module:debug",
        ))
        .unwrap();
        assert_eq!(l.level(), Level::Warn);
        assert_eq!(l.module_level("ssl"), Level::Info);
        assert_eq!(l.module_level("mod_ssl.c"), Level::Info);
        assert_eq!(l.module_level("ssl_module"), Level::Info);
        assert_eq!(l.module_level("rewrite"), Level::Trace3);
        assert_eq!(l.module_level("core"), Level::Debug);
        assert!(l.enabled("core", Level::Debug));
        assert!(!l.enabled("mpm_event", Level::Info));
        assert!(l.enabled("rewrite", Level::Trace3));
        assert!(!l.enabled("rewrite", Level::Trace4));
    }

    #[test]
    fn bare_level_resets_modules() {
        let l = LogLevels::parse(&args("ssl:debug error")).unwrap();
        assert_eq!(l.module_level("ssl"), Level::Error);
    }

    #[test]
    fn parse_errors_match_apache() {
        assert_eq!(
            LogLevels::parse(&args("loud")).unwrap_err(),
            LEVEL_KEYWORD_ERROR
        );
        assert_eq!(
            LogLevels::parse(&args("ssl:loud")).unwrap_err(),
            format!("ssl:loud: {LEVEL_KEYWORD_ERROR}")
        );
        assert_eq!(
            LogLevels::parse(&args("ssl:")).unwrap_err(),
            "Module specifier 'ssl' must be followed by a log level keyword"
        );
        assert_eq!(
            LogLevels::parse(&[]).unwrap_err(),
            "LogLevel requires at least one argument"
        );
        let known = |m: &str| m == "core" || m == "ssl";
        assert_eq!(
            LogLevels::parse_with(&args("foo:info"), &known).unwrap_err(),
            "Cannot find module foo"
        );
        assert!(LogLevels::parse_with(&args("mod_ssl.c:info"), &known).is_ok());
    }

    #[test]
    fn merge_follows_apache() {
        let outer = LogLevels::parse(&args("info ssl:debug")).unwrap();
        // Inner sets only a module: outer default and other modules are kept.
        let inner = LogLevels::parse(&args("core:trace1")).unwrap();
        let inner = LogLevels {
            level: None,
            ..inner
        };
        let m = outer.merge(&inner);
        assert_eq!(m.level(), Level::Info);
        assert_eq!(m.module_level("ssl"), Level::Debug);
        assert_eq!(m.module_level("core"), Level::Trace1);
        // Inner sets a default level: outer module levels are dropped.
        let inner = LogLevels::parse(&args("error")).unwrap();
        let m = outer.merge(&inner);
        assert_eq!(m.module_level("ssl"), Level::Error);
        // Inner unset entirely: the outer wins.
        assert_eq!(outer.merge(&LogLevels::default()), outer);
    }

    #[test]
    fn module_short_names() {
        assert_eq!(module_short_name("mod_ssl.c"), "ssl");
        assert_eq!(module_short_name("ssl_module"), "ssl");
        assert_eq!(module_short_name("core.c"), "core");
        assert_eq!(module_short_name("mpm_event"), "mpm_event");
    }
}
