//! `CustomLog`/`TransferLog` writers: one formatted line, one `write(2)`.

use std::cell::RefCell;
use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::error_log::with_global;
use super::format::{LogFormat, LogRecord};
use super::level::Level;
use super::sink::{Sink, os_error_text};

/// An open access log with its format. Cloning is cheap; clones share the descriptor.
#[derive(Clone, Debug)]
pub struct AccessLog {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    sink: Sink,
    format: Arc<LogFormat>,
    /// Set after the first write error was reported, so a full disk does not flood the
    /// error log.
    failed: AtomicBool,
}

impl AccessLog {
    /// Opens `target`: a path (relative to `server_root`; opened `O_APPEND`, created if
    /// missing), `|prog args` / `||prog args` (a piped logger run directly, as Apache 2.4),
    /// `|$command` (through `/bin/sh -c`), or `stderr`.
    pub fn open(target: &str, server_root: &Path, format: Arc<LogFormat>) -> io::Result<AccessLog> {
        let sink = Sink::open(target, server_root)?;
        Ok(AccessLog {
            inner: Arc::new(Inner {
                sink,
                format,
                failed: AtomicBool::new(false),
            }),
        })
    }

    pub fn format(&self) -> &Arc<LogFormat> {
        &self.inner.format
    }

    /// The target as configured.
    pub fn target(&self) -> &str {
        self.inner.sink.target()
    }

    /// The pid of a piped logger process.
    pub fn pipe_pid(&self) -> Option<u32> {
        self.inner.sink.pipe_pid()
    }

    /// Writes the line for `rec`. The first write error is reported to the error log
    /// (Apache's AH00646); later ones are ignored.
    pub fn log(&self, rec: &LogRecord<'_>) {
        thread_local! {
            static BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
        }
        let result = BUF
            .try_with(|b| match b.try_borrow_mut() {
                Ok(mut buf) => {
                    buf.clear();
                    self.inner.format.render(rec, &mut buf);
                    let r = self.inner.sink.write_line(&buf);
                    if buf.capacity() > 64 * 1024 {
                        *buf = Vec::new();
                    }
                    r
                }
                Err(_) => self.write_fresh(rec),
            })
            .unwrap_or_else(|_| self.write_fresh(rec));
        if let Err(e) = result
            && !self.inner.failed.swap(true, Ordering::Relaxed)
        {
            let msg = format!(
                "{}: AH00646: Error writing to {}",
                os_error_text(&e),
                self.inner.sink.target()
            );
            with_global(|log| log.log("log_config", Level::Error, Some(rec.client), &msg));
        }
    }

    fn write_fresh(&self, rec: &LogRecord<'_>) -> io::Result<()> {
        let mut buf = Vec::with_capacity(256);
        self.inner.format.render(rec, &mut buf);
        self.inner.sink.write_line(&buf)
    }

    /// Re-opens a file target (log rotation on restart); no-op for pipes and stderr.
    pub fn reopen(&self) -> io::Result<()> {
        self.inner.sink.reopen()
    }

    /// A duplicate of the descriptor; `None` for stderr.
    pub fn try_clone_file(&self) -> Option<io::Result<File>> {
        self.inner.sink.try_clone_file()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::format::tests::record;
    use std::time::{Duration, Instant};

    #[test]
    fn appends_whole_lines_from_two_threads() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("access.log"), b"existing\n").unwrap();
        let fmt = Arc::new(LogFormat::compile("%>s %{X-Fill}i").unwrap());
        let log = AccessLog::open("access.log", dir.path(), fmt).unwrap();
        let threads: Vec<_> = [b'a', b'b']
            .into_iter()
            .map(|c| {
                let log = log.clone();
                std::thread::spawn(move || {
                    let mut h = http::HeaderMap::new();
                    let fill = String::from_utf8(vec![c; 3000]).unwrap();
                    h.insert("x-fill", fill.parse().unwrap());
                    let empty = http::HeaderMap::new();
                    for _ in 0..500 {
                        let mut rec = record(&h, &empty);
                        rec.status = 200;
                        log.log(&rec);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let text = std::fs::read_to_string(dir.path().join("access.log")).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("existing"));
        let (mut a, mut b) = (0, 0);
        for l in lines {
            let fill = l.strip_prefix("200 ").unwrap();
            assert_eq!(fill.len(), 3000, "torn line");
            if fill.bytes().all(|c| c == b'a') {
                a += 1;
            } else if fill.bytes().all(|c| c == b'b') {
                b += 1;
            } else {
                panic!("interleaved line");
            }
        }
        assert_eq!((a, b), (500, 500));
    }

    fn wait_for(path: &Path, want: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = std::fs::read_to_string(path).unwrap_or_default();
            if got == want || Instant::now() > deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn piped_log_through_shell() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("piped.log");
        let target = format!("|$cat > '{}'", out.display());
        let fmt = Arc::new(LogFormat::compile("%m %U%q %>s").unwrap());
        let log = AccessLog::open(&target, dir.path(), fmt).unwrap();
        assert!(log.pipe_pid().is_some());
        let h = http::HeaderMap::new();
        let rec = record(&h, &h);
        log.log(&rec);
        log.log(&rec);
        let want = "GET /index.html?a=1 404\nGET /index.html?a=1 404\n";
        assert_eq!(wait_for(&out, want), want);
    }

    #[test]
    fn piped_log_direct_exec() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("tee.log");
        let target = format!("||tee -a {}", out.display());
        let log = AccessLog::open(
            &target,
            dir.path(),
            Arc::new(LogFormat::compile("%H").unwrap()),
        )
        .unwrap();
        let h = http::HeaderMap::new();
        log.log(&record(&h, &h));
        assert_eq!(wait_for(&out, "HTTP/1.1\n"), "HTTP/1.1\n");
    }

    #[test]
    fn reopen_after_rotation_and_open_errors() {
        let dir = tempfile::tempdir().unwrap();
        let log = AccessLog::open("a.log", dir.path(), Arc::new(LogFormat::default())).unwrap();
        let h = http::HeaderMap::new();
        log.log(&record(&h, &h));
        std::fs::rename(dir.path().join("a.log"), dir.path().join("a.log.1")).unwrap();
        log.reopen().unwrap();
        log.log(&record(&h, &h));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("a.log"))
                .unwrap()
                .lines()
                .count(),
            1
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("a.log.1"))
                .unwrap()
                .lines()
                .count(),
            1
        );
        assert!(
            AccessLog::open("missing/dir/x", dir.path(), Arc::new(LogFormat::default())).is_err()
        );
        assert!(AccessLog::open("|", dir.path(), Arc::new(LogFormat::default())).is_err());
    }
}
