//! Error log and access logs in Apache httpd's formats.
//!
//! - [`Level`] / [`LogLevels`]: the `LogLevel` directive (`LogLevel warn ssl:info`).
//! - [`ErrorLog`]: `ErrorLog` targets written in Apache 2.4's default `ErrorLogFormat`
//!   (`[time] [module:level] [pid N:tid M] [client ip:port] AHnnnnn: message`).
//! - [`LogFormat`] / [`LogFormats`] / [`LogRecord`] / [`AccessLog`]: mod_log_config's
//!   `LogFormat`, `CustomLog` and `TransferLog`.
//!
//! Every line is formatted into a buffer and written with one `write(2)` on a descriptor
//! opened `O_APPEND` (or a pipe), so lines from many processes and threads never
//! interleave. Nothing here starts a thread: the parent may open logs before forking and
//! the children inherit the descriptors. Piped logs (`|prog`, `|$shell cmd`) are spawned
//! by whoever opens them, normally the parent.
//!
//! Usage:
//!
//! ```ignore
//! use crate::log::{self, ErrorLog, Level, LogLevels};
//!
//! // Before the configuration is read: messages go to stderr at `warn`.
//! log::startup("AH00558: rhttpd: Could not reliably determine the server's fully qualified domain name");
//!
//! // After it: open the main server's log and make it the process's current one.
//! let mut elog = ErrorLog::open("logs/error_log", &server_root)?;
//! elog.set_levels(LogLevels::parse(&["warn".into(), "ssl:info".into()])?);
//! log::set_threaded_mpm(true); // worker/event: "[pid N:tid M]"
//! log::set_global(elog);
//!
//! // Anywhere: formats only when enabled for that module and level.
//! crate::elog!(Level::Error, "core", Some(peer), "AH00128: File does not exist: {}", path.display());
//! crate::elog!(Level::Notice, "mpm_event", None, "AH00489: {} configured -- resuming normal operations", version);
//! // To a specific (e.g. a vhost's) error log:
//! crate::elog_to!(vhost_log, Level::Warn, "proxy", None, "AH01102: error reading status line");
//!
//! // Access logs:
//! let mut formats = log::LogFormats::new(); // common, combined, ... predefined
//! formats.define("%h %l %u %t \"%r\" %>s %b", Some("mine"))?;
//! let access = log::AccessLog::open("logs/access_log", &server_root, formats.resolve("combined")?)?;
//! access.log(&record);
//! ```

mod access_log;
mod error_log;
mod errorlog_format;
mod format;
mod level;
mod sink;

pub use access_log::AccessLog;
pub use error_log::{
    ErrorLog, ErrorLogScope, HostErrorLog, global, set_global, set_threaded_mpm, startup,
    threaded_mpm, with_global, with_process_log,
};
pub use errorlog_format::{Entry as ErrorLogEntry, ErrorLogFormat};
pub use format::{
    DEFAULT_LOG_FORMAT, LogFormat, LogFormats, LogRecord, PREDEFINED_FORMATS, push_escaped,
};
pub use level::{LEVEL_KEYWORD_ERROR, Level, LogLevels, module_short_name};
pub use sink::{os_error_text, pid, tid};

/// The current error log if a message of `module` at `level` would be written to it
/// (what [`elog!`](crate::elog) uses, so disabled messages cost no formatting).
pub fn global_if_enabled(module: &str, level: Level) -> Option<ErrorLog> {
    with_global(|log| log.enabled(module, level).then(|| log.clone()))
}

/// Logs to the process's current error log:
/// `elog!(level, module, client, "format", args...)`, where `level` is a
/// [`Level`](crate::log::Level), `module` a module name (`"core"`, `"mod_ssl.c"`,
/// `"ssl_module"`), `client` an `Option<SocketAddr>`. The message is only formatted when
/// enabled.
///
/// ```ignore
/// crate::elog!(Level::Error, "core", Some(peer), "AH00128: File does not exist: {}", path);
/// ```
#[macro_export]
macro_rules! elog {
    ($level:expr, $module:expr, $client:expr, $($arg:tt)+) => {{
        let (__elog_module, __elog_level) = ($module, $level);
        if let ::std::option::Option::Some(__elog) =
            $crate::log::global_if_enabled(__elog_module, __elog_level)
        {
            __elog.log_fmt(
                __elog_module,
                __elog_level,
                $client,
                ::std::option::Option::None,
                ::std::format_args!($($arg)+),
            );
        }
    }};
}

/// As [`elog!`](crate::elog) but to a given [`ErrorLog`](crate::log::ErrorLog) (e.g. a
/// vhost's): `elog_to!(log, level, module, client, "format", args...)`.
#[macro_export]
macro_rules! elog_to {
    ($log:expr, $level:expr, $module:expr, $client:expr, $($arg:tt)+) => {{
        let __elog: &$crate::log::ErrorLog = &$log;
        let (__elog_module, __elog_level) = ($module, $level);
        if __elog.enabled(__elog_module, __elog_level) {
            __elog.log_fmt(
                __elog_module,
                __elog_level,
                $client,
                ::std::option::Option::None,
                ::std::format_args!($($arg)+),
            );
        }
    }};
}

/// Write `msg` to the current error log when `module`/`level` is enabled (for messages
/// already formatted; [`elog!`](crate::elog) avoids formatting disabled ones).
pub fn log(module: &str, level: Level, client: Option<std::net::SocketAddr>, msg: &str) {
    if let Some(l) = global_if_enabled(module, level) {
        l.log(module, level, client, msg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<ErrorLog>();
        assert_send_sync::<AccessLog>();
        assert_send_sync::<LogFormat>();
        assert_send_sync::<LogFormats>();
        assert_send_sync::<LogLevels>();
    }

    #[test]
    fn macros_compile_and_write() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = ErrorLog::open("e.log", dir.path()).unwrap();
        log.set_levels(LogLevels::new(Level::Info));
        let peer: std::net::SocketAddr = "10.1.2.3:4".parse().unwrap();
        crate::elog_to!(
            log,
            Level::Info,
            "core",
            Some(peer),
            "AH00128: File does not exist: {}",
            "/x"
        );
        crate::elog_to!(log, Level::Debug, "core", None, "hidden {}", 1);
        let text = std::fs::read_to_string(dir.path().join("e.log")).unwrap();
        assert_eq!(text.lines().count(), 1);
        assert!(
            text.ends_with("[client 10.1.2.3:4] AH00128: File does not exist: /x\n"),
            "{text}"
        );
        // The global defaults to stderr at warn: debug is filtered, error passes.
        assert!(global_if_enabled("core", Level::Debug).is_none());
        assert!(global_if_enabled("core", Level::Error).is_some());
        crate::elog!(Level::Debug, "core", None, "not written {}", 2);
    }
}
