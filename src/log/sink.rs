//! Where log lines go: a file opened `O_APPEND` (relative paths under ServerRoot), a piped
//! logger process, or stderr. Every line is one `write(2)` of a fully formatted buffer, so
//! processes and threads sharing the descriptor never interleave inside a line.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, RwLock};

/// One open log target, shared (behind an `Arc`) by every clone of a log handle.
#[derive(Debug)]
pub(crate) struct Sink {
    /// The target as written in the configuration (for messages).
    target: String,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Stderr,
    /// A regular file; the lock is only taken for writing to swap the file on reopen.
    File {
        path: PathBuf,
        file: RwLock<File>,
    },
    /// The write end of a piped logger's stdin. The child is kept so it is not reaped
    /// implicitly and its pid stays known.
    Pipe {
        file: File,
        child: Mutex<Child>,
    },
}

impl Sink {
    pub(crate) fn stderr() -> Sink {
        Sink {
            target: "stderr".to_string(),
            kind: Kind::Stderr,
        }
    }

    /// Opens `target`: `stderr`, `|prog args` / `||prog args` (run directly, as Apache
    /// 2.4), `|$command` (run through `/bin/sh -c`), or a path (relative to
    /// `server_root`) opened for appending and created if missing.
    pub(crate) fn open(target: &str, server_root: &Path) -> io::Result<Sink> {
        if target == "stderr" {
            return Ok(Sink::stderr());
        }
        if target.starts_with("syslog") {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "{target}: logging to syslog is not supported by rhttpd; use a file, \
                     a |piped logger (e.g. \"|/usr/bin/logger -t httpd\") or stderr"
                ),
            ));
        }
        if let Some(cmd) = target.strip_prefix('|') {
            return Sink::spawn(target, cmd);
        }
        let path = resolve(target, server_root);
        let file = open_append(&path)?;
        Ok(Sink {
            target: target.to_string(),
            kind: Kind::File {
                path,
                file: RwLock::new(file),
            },
        })
    }

    fn spawn(target: &str, cmd: &str) -> io::Result<Sink> {
        let cmd = cmd.strip_prefix('|').unwrap_or(cmd);
        let mut command = if let Some(shell_cmd) = cmd.strip_prefix('$') {
            let mut c = Command::new("/bin/sh");
            c.arg("-c").arg(shell_cmd);
            c
        } else {
            let argv = tokenize(cmd);
            let Some((prog, args)) = argv.split_first() else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{target}: no program given for the piped log"),
                ));
            };
            let mut c = Command::new(prog);
            c.args(args);
            c
        };
        let mut child = command.stdin(Stdio::piped()).spawn().map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("could not start piped log process '{cmd}': {e}"),
            )
        })?;
        let Some(stdin) = child.stdin.take() else {
            return Err(io::Error::other("piped log process has no stdin"));
        };
        let file = File::from(std::os::fd::OwnedFd::from(stdin));
        Ok(Sink {
            target: target.to_string(),
            kind: Kind::Pipe {
                file,
                child: Mutex::new(child),
            },
        })
    }

    pub(crate) fn target(&self) -> &str {
        &self.target
    }

    /// The process id of a piped logger.
    pub(crate) fn pipe_pid(&self) -> Option<u32> {
        match &self.kind {
            Kind::Pipe { child, .. } => Some(child.lock().unwrap_or_else(|e| e.into_inner()).id()),
            _ => None,
        }
    }

    /// Writes one complete line (already ending in `\n`) with a single `write_all`.
    pub(crate) fn write_line(&self, line: &[u8]) -> io::Result<()> {
        match &self.kind {
            Kind::Stderr => io::stderr().lock().write_all(line),
            Kind::File { file, .. } => {
                let f = file.read().unwrap_or_else(|e| e.into_inner());
                (&*f).write_all(line)
            }
            Kind::Pipe { file, .. } => (&*file).write_all(line),
        }
    }

    /// Re-opens a file target (after rotation); a no-op for stderr and pipes. On error the
    /// old descriptor stays in use.
    pub(crate) fn reopen(&self) -> io::Result<()> {
        if let Kind::File { path, file } = &self.kind {
            let new = open_append(path)?;
            *file.write().unwrap_or_else(|e| e.into_inner()) = new;
        }
        Ok(())
    }

    /// A duplicate of the descriptor (e.g. for a CGI child's stderr); `None` for stderr.
    pub(crate) fn try_clone_file(&self) -> Option<io::Result<File>> {
        match &self.kind {
            Kind::Stderr => None,
            Kind::File { file, .. } => {
                Some(file.read().unwrap_or_else(|e| e.into_inner()).try_clone())
            }
            Kind::Pipe { file, .. } => Some(file.try_clone()),
        }
    }
}

/// `path` relative to `server_root` unless absolute.
fn resolve(path: &str, server_root: &Path) -> PathBuf {
    let p = Path::new(path);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        server_root.join(p)
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("could not open log file {}: {e}", path.display()),
            )
        })
}

/// Splits a piped-log command line into words like `apr_tokenize_to_argv`: blanks
/// separate words, single or double quotes group, a backslash escapes the next character.
fn tokenize(cmd: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = cmd.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                in_word = true;
            }
            q @ ('"' | '\'') if quote.is_none() => {
                quote = Some(q);
                in_word = true;
            }
            q if Some(q) == quote => quote = None,
            c if c.is_ascii_whitespace() && quote.is_none() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

/// The current process id.
pub fn pid() -> u32 {
    std::process::id()
}

/// The kernel thread id of the calling thread (what `ps -L` and `gettid(2)` show), cached
/// per thread and re-read after `fork`. Swap for `rhttpd_sys::gettid()` once it exists.
pub fn tid() -> u64 {
    use std::cell::Cell;
    thread_local! {
        static CACHE: Cell<(u32, u64)> = const { Cell::new((0, 0)) };
    }
    let pid = pid();
    let cached = CACHE.try_with(Cell::get).unwrap_or((0, 0));
    if cached.0 == pid {
        return cached.1;
    }
    let tid = read_tid().unwrap_or_else(|| {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        std::thread::current().id().hash(&mut h);
        h.finish() & 0x7fff_ffff
    });
    let _ = CACHE.try_with(|c| c.set((pid, tid)));
    tid
}

/// `/proc/thread-self` links to `PID/task/TID`.
fn read_tid() -> Option<u64> {
    let link = std::fs::read_link("/proc/thread-self").ok()?;
    link.file_name()?.to_str()?.parse().ok()
}

/// Apache's rendering of an OS error in the error log: `(28)No space left on device`.
pub fn os_error_text(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => {
            let text = e.to_string();
            let suffix = format!(" (os error {code})");
            format!("({code}){}", text.strip_suffix(&suffix).unwrap_or(&text))
        }
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenize_like_apr() {
        assert_eq!(
            tokenize("/usr/bin/rotatelogs -l /var/log/x 86400"),
            ["/usr/bin/rotatelogs", "-l", "/var/log/x", "86400"]
        );
        assert_eq!(
            tokenize(r#"prog "a b" 'c d' e\ f"#),
            ["prog", "a b", "c d", "e f"]
        );
        assert!(tokenize("   ").is_empty());
    }

    #[test]
    fn tid_is_stable_and_distinct_per_thread() {
        let a = tid();
        assert_eq!(a, tid());
        let b = std::thread::spawn(tid).join().unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn relative_paths_under_server_root() {
        assert_eq!(
            resolve("logs/x", Path::new("/srv")),
            PathBuf::from("/srv/logs/x")
        );
        assert_eq!(
            resolve("/var/x", Path::new("/srv")),
            PathBuf::from("/var/x")
        );
    }

    #[test]
    fn syslog_is_rejected_clearly() {
        let e = Sink::open("syslog:local7", Path::new("/")).unwrap_err();
        assert!(e.to_string().contains("syslog is not supported"));
    }

    #[test]
    fn os_error_rendering() {
        let e = io::Error::from_raw_os_error(2);
        assert_eq!(os_error_text(&e), "(2)No such file or directory");
    }
}
