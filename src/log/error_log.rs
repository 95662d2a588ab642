//! The error log in Apache 2.4's default `ErrorLogFormat`:
//!
//! ```text
//! [Sun Nov 22 16:31:00.123456 2026] [core:error] [pid 1234:tid 1240] [client 127.0.0.1:51234] AH00128: File does not exist: /var/www/html/x
//! ```
//!
//! `:tid N` appears only under a threaded MPM ([`set_threaded_mpm`]), the `[client ...]`
//! part only when a client address is given, and `, referer: ...` only through
//! [`ErrorLog::log_request`].

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::fs::File;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use chrono::{DateTime, Datelike, Local, Timelike};

use super::errorlog_format::{Entry, ErrorLogFormat};
use super::level::{Level, LogLevels, module_short_name};
use super::sink::{self, Sink};

/// Longest message text kept (Apache's `MAX_STRING_LEN`); longer ones are truncated.
const MAX_MESSAGE: usize = 8192;

static THREADED_MPM: AtomicBool = AtomicBool::new(false);

/// Declares whether the configured MPM is threaded (worker, event): Apache then prints
/// `[pid N:tid M]`, otherwise (prefork) `[pid N]`. Process-wide; set once after the
/// configuration is read, before forking.
pub fn set_threaded_mpm(threaded: bool) {
    THREADED_MPM.store(threaded, Ordering::Relaxed);
}

/// Whether [`set_threaded_mpm`] declared a threaded MPM.
pub fn threaded_mpm() -> bool {
    THREADED_MPM.load(Ordering::Relaxed)
}

/// An open error log plus the `LogLevel` settings that filter it. Cloning is cheap (two
/// `Arc`s); clones share the descriptor, and each may carry its own levels (a vhost's).
#[derive(Clone, Debug)]
pub struct ErrorLog {
    sink: Arc<Sink>,
    levels: Arc<LogLevels>,
    /// `ErrorLogFormat` (`None`: Apache's default line).
    format: Option<Arc<ErrorLogFormat>>,
}

impl ErrorLog {
    /// `ErrorLog` target: a path (relative to `server_root`), `stderr`, or a piped logger
    /// `|prog args` (run directly), `|$shell command` (through `/bin/sh -c`). `syslog` and
    /// `syslog:facility` are rejected with an explanatory error.
    pub fn open(target: &str, server_root: &Path) -> io::Result<ErrorLog> {
        Ok(ErrorLog {
            sink: Arc::new(Sink::open(target, server_root)?),
            levels: Arc::default(),
            format: None,
        })
    }

    /// Logging to the process's stderr with default levels (`warn`).
    pub fn stderr() -> ErrorLog {
        ErrorLog {
            sink: Arc::new(Sink::stderr()),
            levels: Arc::default(),
            format: None,
        }
    }

    /// Sets the levels used by this handle (other clones keep theirs).
    pub fn set_levels(&mut self, levels: LogLevels) {
        self.levels = Arc::new(levels);
    }

    /// A clone of this log filtered by `levels` (e.g. a vhost sharing the main log file).
    pub fn with_levels(&self, levels: LogLevels) -> ErrorLog {
        ErrorLog {
            sink: Arc::clone(&self.sink),
            levels: Arc::new(levels),
            format: self.format.clone(),
        }
    }

    /// Lines in `format` (`ErrorLogFormat`) instead of Apache's default.
    pub fn set_format(&mut self, format: Option<Arc<ErrorLogFormat>>) {
        self.format = format;
    }

    pub fn levels(&self) -> &LogLevels {
        &self.levels
    }

    /// The target as configured (`logs/error_log`, `|...`, `stderr`).
    pub fn target(&self) -> &str {
        self.sink.target()
    }

    /// The pid of a piped logger process.
    pub fn pipe_pid(&self) -> Option<u32> {
        self.sink.pipe_pid()
    }

    /// Re-opens a file target (log rotation on restart); no-op for stderr and pipes.
    pub fn reopen(&self) -> io::Result<()> {
        self.sink.reopen()
    }

    /// A duplicate descriptor of the log (for a CGI child's stderr, or to `dup2` onto fd
    /// 2); `None` when logging to stderr already.
    pub fn try_clone_file(&self) -> Option<io::Result<File>> {
        self.sink.try_clone_file()
    }

    /// Whether a message would be written: `notice` always is (Apache logs startup and
    /// shutdown notices whatever the `LogLevel`), other levels per the module's level.
    pub fn enabled(&self, module: &str, level: Level) -> bool {
        level == Level::Notice || self.levels.enabled(module, level)
    }

    /// Logs `msg` if enabled. `module` is a module name in any form (`core`,
    /// `mod_ssl.c`, `ssl_module`). Write errors are ignored (there is nowhere to report).
    pub fn log(&self, module: &str, level: Level, client: Option<SocketAddr>, msg: &str) {
        self.log_fmt(module, level, client, None, format_args!("{msg}"));
    }

    /// As [`ErrorLog::log`] for a request, appending Apache's `, referer: URL`.
    pub fn log_request(
        &self,
        module: &str,
        level: Level,
        client: Option<SocketAddr>,
        referer: Option<&str>,
        msg: &str,
    ) {
        self.log_fmt(module, level, client, referer, format_args!("{msg}"));
    }

    /// Logs pre-formatted arguments (what the `elog!` macros call); the message is only
    /// formatted when enabled.
    pub fn log_fmt(
        &self,
        module: &str,
        level: Level,
        client: Option<SocketAddr>,
        referer: Option<&str>,
        args: fmt::Arguments<'_>,
    ) {
        if !self.enabled(module, level) {
            return;
        }
        with_buffers(|line, scratch| {
            let now = SystemTime::now();
            let logged = match &self.format {
                None => {
                    format_line(line, scratch, now, module, level, client, referer, args);
                    true
                }
                Some(f) => custom_line(f, line, scratch, now, module, level, client, referer, args),
            };
            if logged {
                let _ = self.sink.write_line(line);
            }
        });
    }
}

/// Prints a message the way Apache does before the error log is open (startup): just the
/// text on stderr, e.g. `AH00558: rhttpd: Could not reliably determine ...`.
pub fn startup(msg: &str) {
    let mut line = Vec::with_capacity(msg.len() + 1);
    line.extend_from_slice(msg.as_bytes());
    line.push(b'\n');
    let _ = io::stderr().lock().write_all(&line);
}

/// Runs `f` with two cleared per-thread buffers (line, message scratch), falling back to
/// fresh ones if re-entered (a `Display` impl that logs).
fn with_buffers(f: impl FnOnce(&mut Vec<u8>, &mut String)) {
    thread_local! {
        static BUFS: RefCell<(Vec<u8>, String)> = const { RefCell::new((Vec::new(), String::new())) };
    }
    let mut f = Some(f);
    let _ = BUFS.try_with(|b| {
        if let Ok(mut b) = b.try_borrow_mut() {
            let (line, scratch) = &mut *b;
            line.clear();
            scratch.clear();
            if let Some(f) = f.take() {
                f(line, scratch);
            }
            if line.capacity() > 64 * 1024 {
                *line = Vec::new();
                *scratch = String::new();
            }
        }
    });
    if let Some(f) = f.take() {
        f(&mut Vec::new(), &mut String::new());
    }
}

/// Formats one complete error-log line, newline included.
#[allow(clippy::too_many_arguments)]
fn format_line(
    line: &mut Vec<u8>,
    scratch: &mut String,
    now: SystemTime,
    module: &str,
    level: Level,
    client: Option<SocketAddr>,
    referer: Option<&str>,
    args: fmt::Arguments<'_>,
) {
    line.push(b'[');
    push_ctime_usec(line, now);
    line.extend_from_slice(b"] [");
    let module = module_short_name(module);
    line.extend_from_slice(if module.is_empty() {
        b"-"
    } else {
        module.as_bytes()
    });
    line.push(b':');
    line.extend_from_slice(level.name().as_bytes());
    let _ = write!(line, "] [pid {}", sink::pid());
    if threaded_mpm() {
        let _ = write!(line, ":tid {}", sink::tid());
    }
    line.extend_from_slice(b"] ");
    if let Some(addr) = client {
        line.extend_from_slice(b"[client ");
        push_addr(line, addr);
        line.extend_from_slice(b"] ");
    }
    push_message(line, scratch, args);
    if let Some(r) = referer {
        line.extend_from_slice(b", referer: ");
        escape_errorlog_item(line, r.as_bytes());
    }
    line.push(b'\n');
}

/// The message (formatted into `scratch`), cut at [`MAX_MESSAGE`] and escaped, onto `out`.
fn push_message(out: &mut Vec<u8>, scratch: &mut String, args: fmt::Arguments<'_>) {
    let _ = scratch.write_fmt(args);
    let mut msg = scratch.as_bytes();
    if msg.len() > MAX_MESSAGE {
        msg = &msg[..MAX_MESSAGE];
    }
    escape_errorlog_item(out, msg);
}

/// One line in an `ErrorLogFormat`; `false` when the format drops it.
#[allow(clippy::too_many_arguments)]
fn custom_line(
    format: &ErrorLogFormat,
    line: &mut Vec<u8>,
    scratch: &mut String,
    now: SystemTime,
    module: &str,
    level: Level,
    client: Option<SocketAddr>,
    referer: Option<&str>,
    args: fmt::Arguments<'_>,
) -> bool {
    let mut message = Vec::new();
    push_message(&mut message, scratch, args);
    let referer = referer.map(|r| {
        let mut v = Vec::with_capacity(r.len());
        escape_errorlog_item(&mut v, r.as_bytes());
        v
    });
    let short = module_short_name(module);
    let entry = Entry {
        now,
        module: if short.is_empty() { "" } else { short },
        level,
        pid: sink::pid(),
        tid: sink::tid(),
        client,
        message: &message,
        referer: referer.as_deref(),
    };
    format.render(&entry, line)
}

/// `ip:port` as Apache prints it: no brackets around IPv6, IPv4-mapped shown as IPv4.
pub(crate) fn push_addr(out: &mut Vec<u8>, addr: SocketAddr) {
    let _ = write!(out, "{}:{}", addr.ip().to_canonical(), addr.port());
}

/// `Sun Nov 22 16:31:00.123456 2026` in local time (Apache's ctime with microseconds).
fn push_ctime_usec(out: &mut Vec<u8>, t: SystemTime) {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let dt: DateTime<Local> = DateTime::from(t);
    let day = DAYS[dt.weekday().num_days_from_monday() as usize % 7];
    let month = MONTHS[dt.month0() as usize % 12];
    let _ = write!(
        out,
        "{day} {month} {:02} {:02}:{:02}:{:02}.{:06} {}",
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        dt.nanosecond() % 1_000_000_000 / 1000,
        dt.year()
    );
}

/// Apache's `ap_escape_errorlog_item`: control characters, bytes >= 0x7f and `\` are
/// escaped (`\n`, `\t`, `\xhh`, `\\`); `"` is left alone.
fn escape_errorlog_item(out: &mut Vec<u8>, s: &[u8]) {
    for &b in s {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.push(b'"'),
            _ => push_escaped_byte(out, b),
        }
    }
}

/// Copies a printable ASCII byte; escapes anything else as Apache's log escaping does.
pub(crate) fn push_escaped_byte(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match b {
        0x20..=0x7e => out.push(b),
        0x08 => out.extend_from_slice(b"\\b"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        0x0b => out.extend_from_slice(b"\\v"),
        _ => out.extend_from_slice(&[
            b'\\',
            b'x',
            HEX[usize::from(b >> 4)],
            HEX[usize::from(b & 15)],
        ]),
    }
}

static GLOBAL: RwLock<Option<ErrorLog>> = RwLock::new(None);

/// Installs the process's current error log (what `elog!` writes to).
pub fn set_global(log: ErrorLog) {
    *GLOBAL.write().unwrap_or_else(|e| e.into_inner()) = Some(log);
}

thread_local! {
    /// The error log of the virtual host whose request this thread is running, when it
    /// is not the process's (its own `ErrorLog` or `LogLevel`): see [`ErrorLogScope`].
    static SCOPED: RefCell<Option<ErrorLog>> = const { RefCell::new(None) };
}

/// While alive, what this thread logs goes to `log` instead of the process's error log
/// (Apache's `r->server->error_log`); dropping it restores the previous one.
#[must_use]
pub struct ErrorLogScope {
    previous: Option<ErrorLog>,
}

impl ErrorLogScope {
    pub fn enter(log: ErrorLog) -> ErrorLogScope {
        let previous = SCOPED.try_with(|s| s.replace(Some(log))).ok().flatten();
        ErrorLogScope { previous }
    }
}

impl Drop for ErrorLogScope {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let _ = SCOPED.try_with(|s| *s.borrow_mut() = previous);
    }
}

/// Where a virtual host's requests log when not to the process's error log as it is.
#[derive(Clone, Debug)]
pub enum HostErrorLog {
    /// The process's error log file, filtered by the host's own `LogLevel`.
    Levels(Arc<LogLevels>),
    /// The host's own `ErrorLog` (with its levels).
    Own(ErrorLog),
}

impl HostErrorLog {
    /// Send this thread's messages to the host's log until the scope ends.
    pub fn enter(&self) -> ErrorLogScope {
        ErrorLogScope::enter(match self {
            HostErrorLog::Levels(levels) => with_process_log(|g| ErrorLog {
                sink: Arc::clone(&g.sink),
                levels: Arc::clone(levels),
                format: g.format.clone(),
            }),
            HostErrorLog::Own(log) => log.clone(),
        })
    }
}

/// A handle to the current error log (stderr with `warn` until [`set_global`]).
pub fn global() -> ErrorLog {
    with_global(ErrorLog::clone)
}

/// Runs `f` on the current error log without cloning it: the scoped one of the request
/// this thread runs ([`ErrorLogScope`]), else the process's.
pub fn with_global<R>(f: impl FnOnce(&ErrorLog) -> R) -> R {
    // A clone (two reference counts) so that `f` may log too.
    if let Some(log) = SCOPED.try_with(|s| s.borrow().clone()).ok().flatten() {
        return f(&log);
    }
    with_process_log(f)
}

/// Runs `f` on the process's error log, ignoring any request scope.
pub fn with_process_log<R>(f: impl FnOnce(&ErrorLog) -> R) -> R {
    let guard = GLOBAL.read().unwrap_or_else(|e| e.into_inner());
    match &*guard {
        Some(log) => f(log),
        None => {
            drop(guard);
            f(&ErrorLog::stderr())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex::Regex;

    fn line(
        module: &str,
        level: Level,
        client: Option<SocketAddr>,
        referer: Option<&str>,
        msg: &str,
    ) -> String {
        let mut out = Vec::new();
        format_line(
            &mut out,
            &mut String::new(),
            SystemTime::now(),
            module,
            level,
            client,
            referer,
            format_args!("{msg}"),
        );
        String::from_utf8(out).unwrap()
    }

    const TIME: &str = r"\[(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d\d \d\d:\d\d:\d\d\.\d{6} \d{4}\]";

    // Both halves in one test: the threaded flag is process-global.
    #[test]
    fn line_format_matches_apache() {
        set_threaded_mpm(false);
        let client: SocketAddr = "127.0.0.1:51234".parse().unwrap();
        let l = line(
            "core",
            Level::Error,
            Some(client),
            None,
            "AH00128: File does not exist: /var/www/html/x",
        );
        let re = Regex::new(&format!(
            r"^{TIME} \[core:error\] \[pid \d+\] \[client 127\.0\.0\.1:51234\] AH00128: File does not exist: /var/www/html/x\n$"
        ))
        .unwrap();
        assert!(re.is_match(&l), "{l:?}");

        set_threaded_mpm(true);
        let l = line(
            "mpm_event_module",
            Level::Notice,
            None,
            None,
            "AH00489: resuming",
        );
        let re = Regex::new(&format!(
            r"^{TIME} \[mpm_event:notice\] \[pid (\d+):tid (\d+)\] AH00489: resuming\n$"
        ))
        .unwrap();
        let caps = re.captures(&l).unwrap_or_else(|| panic!("{l:?}"));
        assert_eq!(caps[1].parse::<u32>().unwrap(), std::process::id());
        set_threaded_mpm(false);
    }

    #[test]
    fn client_v6_referer_and_escaping() {
        let v6: SocketAddr = "[::1]:8080".parse().unwrap();
        let mapped: SocketAddr = "[::ffff:10.0.0.1]:99".parse().unwrap();
        let l = line(
            "mod_ssl.c",
            Level::Warn,
            Some(v6),
            Some("http://x/\"q\""),
            "a\nb\\c\"d\x01é",
        );
        assert!(l.contains("[ssl:warn]"), "{l}");
        assert!(
            l.ends_with(
                "[client ::1:8080] a\\nb\\\\c\"d\\x01\\xc3\\xa9, referer: http://x/\"q\"\n"
            ),
            "{l}"
        );
        let l = line("core", Level::Warn, Some(mapped), None, "m");
        assert!(l.contains("[client 10.0.0.1:99] m\n"), "{l}");
    }

    #[test]
    fn long_messages_are_truncated() {
        let long = "x".repeat(MAX_MESSAGE + 100);
        let l = line("core", Level::Error, None, None, &long);
        assert!(l.ends_with(&format!("] {}\n", "x".repeat(MAX_MESSAGE))));
    }

    #[test]
    fn levels_filter_and_notice_always_passes() {
        let mut log = ErrorLog::stderr();
        log.set_levels(LogLevels::parse(&["error".into(), "ssl:debug".into()]).unwrap());
        assert!(log.enabled("core", Level::Error));
        assert!(!log.enabled("core", Level::Warn));
        assert!(log.enabled("core", Level::Notice));
        assert!(log.enabled("ssl", Level::Debug));
        assert!(!log.enabled("ssl", Level::Trace1));
    }

    #[test]
    fn writes_to_file_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = ErrorLog::open("error.log", dir.path()).unwrap();
        log.set_levels(LogLevels::new(Level::Info));
        log.log("core", Level::Info, None, "first");
        log.log("core", Level::Debug, None, "filtered");
        std::fs::rename(dir.path().join("error.log"), dir.path().join("error.log.1")).unwrap();
        log.log("core", Level::Info, None, "second");
        log.reopen().unwrap();
        log.log("core", Level::Error, None, "third");
        let old = std::fs::read_to_string(dir.path().join("error.log.1")).unwrap();
        let new = std::fs::read_to_string(dir.path().join("error.log")).unwrap();
        assert_eq!(old.lines().count(), 2);
        assert!(
            old.contains("] first\n") && old.contains("] second\n") && !old.contains("filtered")
        );
        assert_eq!(new.lines().count(), 1);
        assert!(new.contains("[core:error]") && new.ends_with("] third\n"));
    }

    #[test]
    fn open_errors() {
        let dir = tempfile::tempdir().unwrap();
        assert!(ErrorLog::open("no/such/dir/log", dir.path()).is_err());
        assert!(ErrorLog::open("syslog", dir.path()).is_err());
        assert_eq!(
            ErrorLog::open("stderr", dir.path()).unwrap().target(),
            "stderr"
        );
    }
}
