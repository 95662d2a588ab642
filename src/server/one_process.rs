//! One process, one thread (`rhttpd -X`, Apache's ONE_PROCESS/DEBUG mode): the process
//! that parsed the configuration binds the listeners and serves one connection at a time
//! in the foreground. It is the base the MPMs build on: the same [`crate::conn::blocking::drive`]
//! runs here, in prefork children and in worker threads.
//!
//! Signals: TERM, INT and WINCH stop (after the connection being served); USR1 and HUP
//! re-read the configuration and, when it is valid, serve the next connections with it
//! (listeners are kept; a changed `Listen` needs a full restart). A bad configuration is
//! reported and the old one keeps serving.

use std::os::fd::AsFd;
use std::process::ExitCode;
use std::time::Duration;

use rhttpd_sys::signals::SignalPipe;

use crate::conf::{LoadOptions, ServerConfig};
use crate::conn::{self, NoObserver};
use crate::listen;
use crate::log::{self, Level};
use crate::pidfile;
use crate::site::Site;
use rhttpd_sys::sig;

/// Serve `cfg`; a restart signal reloads the configuration with `load`.
pub fn run(load: &LoadOptions, cfg: ServerConfig) -> ExitCode {
    if let Err(e) = crate::site::open_error_log(&cfg) {
        eprintln!(
            "AH00091: rhttpd: could not open error log file {}: {e}",
            cfg.error_log
        );
        eprintln!("AH00015: Unable to open logs");
        return ExitCode::from(1);
    }
    let _ = rhttpd_sys::signals::ignore(13); // SIGPIPE: a write to a closed peer is an error, not death
    let sigs = match SignalPipe::new(&[sig::TERM, sig::INT, sig::WINCH, sig::HUP, sig::USR1]) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("rhttpd: cannot set up signal handling: {e}");
            return ExitCode::from(1);
        }
    };
    let pid_file = cfg.pid_file.clone();
    if let Err(e) = pidfile::write(&pid_file) {
        log::log(
            "core",
            Level::Error,
            None,
            &format!("AH00099: could not create {}: {e}", pid_file.display()),
        );
    }
    let mut site = match Site::new(cfg, Vec::new()) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("{e}");
            pidfile::remove(&pid_file);
            return ExitCode::from(1);
        }
    };
    // Bound last: once a client can connect, the pid file and every log are in place
    // (tests and `-k` rely on that).
    let listeners = match listen::bind_all(&site.cfg) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{e}");
            eprintln!("no listening sockets available, shutting down");
            eprintln!("AH00015: Unable to open logs");
            log::log("core", Level::Emerg, None, &e.to_string());
            pidfile::remove(&pid_file);
            return ExitCode::from(1);
        }
    };
    for l in &listeners {
        let _ = l.set_nonblocking(true);
    }
    log::log(
        "mpm_prefork",
        Level::Notice,
        None,
        &format!(
            "AH00163: {} configured -- resuming normal operations",
            site.banner
        ),
    );
    log::log(
        "core",
        Level::Notice,
        None,
        &format!(
            "AH00094: Command line: '{}'",
            std::env::args().collect::<Vec<_>>().join(" ")
        ),
    );
    let n = listeners.len();
    loop {
        let mut fds: Vec<_> = listeners.iter().map(|l| l.as_fd()).collect();
        fds.extend(sigs.fds());
        let ready =
            rhttpd_sys::net::poll_readable(&fds, Some(Duration::from_secs(1))).unwrap_or_default();
        if ready.iter().any(|&i| i >= n) {
            let got = sigs.wait(Duration::ZERO).unwrap_or_default();
            if got
                .iter()
                .any(|s| [sig::TERM, sig::INT, sig::WINCH].contains(s))
            {
                log::log(
                    "mpm_prefork",
                    Level::Notice,
                    None,
                    "AH00169: caught SIGTERM, shutting down",
                );
                break;
            }
            if !got.is_empty() {
                // USR1/HUP: re-read the configuration; keep serving the old one when it
                // is bad.
                match crate::conf::load(load) {
                    Ok(new_cfg) => match Site::new(new_cfg, Vec::new()) {
                        Ok(g) => {
                            let _ = crate::site::open_error_log(&g.cfg);
                            site = g;
                            log::log(
                                "mpm_prefork",
                                Level::Notice,
                                None,
                                "AH00171: Graceful restart requested, doing restart",
                            );
                        }
                        Err(e) => log::log("core", Level::Error, None, &e.to_string()),
                    },
                    // The error itself (file, line, reason) goes to the error log, where
                    // the operator of a running server looks.
                    Err(e) => log::log(
                        "core",
                        Level::Error,
                        None,
                        &format!(
                            "{}; restart refused, keeping the running configuration",
                            e.to_string().replace('\n', " ")
                        ),
                    ),
                }
            }
        }
        for &i in ready.iter().filter(|&&i| i < n) {
            match listeners[i].accept_client(false) {
                Ok((stream, client)) => {
                    if let Ok(conn) =
                        listeners[i].connection(stream, client, false, site.tls.as_ref())
                    {
                        conn::blocking::drive(conn, &site, &mut NoObserver);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => log::log(
                    "core",
                    Level::Error,
                    None,
                    &format!("AH00050: apr_socket_accept: {e}"),
                ),
            }
        }
    }
    pidfile::remove(&pid_file);
    ExitCode::SUCCESS
}
