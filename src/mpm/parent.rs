//! Parent-process plumbing the parent loop (`parent_loop.rs`) uses for every MPM:
//! startup (bind, logs, generation, detach, signals, pid file), the privilege target of
//! children, and re-reading the configuration on restart with listeners kept open.

use crate::listen::Listener;
use std::os::fd::AsFd;
use std::process::ExitCode;
use std::sync::Arc;

use rhttpd_sys::signals::SignalPipe;

use crate::conf::{LoadOptions, MpmKind, ServerConfig};
use crate::handler::Handler;
use crate::listen;
use crate::log::{self, Level};
use crate::pidfile;
use crate::site::Site;
use crate::site::open_error_log;
use rhttpd_sys::sig;

/// Resolve User/Group when started as root; `None` means "do not switch" (not root, or
/// no User configured: rhttpd then keeps root and says so, where Apache's compiled
/// default `#-1` makes every child fail).
pub fn privilege_target(cfg: &ServerConfig) -> Result<Option<(String, String)>, String> {
    if !rhttpd_sys::running_as_root() {
        return Ok(None);
    }
    if cfg.user == "#-1" {
        log::log(
            "unixd",
            Level::Notice,
            None,
            "no User directive: children keep running as root",
        );
        return Ok(None);
    }
    if rhttpd_sys::lookup_user(&cfg.user).is_none() {
        return Err(format!("AH00543: rhttpd: bad user name {}", cfg.user));
    }
    let group = if cfg.group == "#-1" {
        rhttpd_sys::lookup_user(&cfg.user)
            .map(|(_, gid)| format!("#{gid}"))
            .unwrap_or_default()
    } else {
        cfg.group.clone()
    };
    if rhttpd_sys::lookup_group(&group).is_none() {
        return Err(format!("AH00544: rhttpd: bad group name {group}"));
    }
    Ok(Some((cfg.user.clone(), group)))
}

/// What a parent has once it is up.
pub struct Started {
    pub listeners: Vec<Listener>,
    pub current: Arc<Site>,
    pub sigs: SignalPipe,
    pub drop_to: Option<(String, String)>,
}

/// Bind, open logs, build the generation, detach (unless `foreground`), install the
/// parent's signals and write the pid file. Errors are printed; the caller exits 1.
pub fn start(
    cfg: ServerConfig,
    foreground: bool,
    handlers: Vec<Arc<dyn Handler>>,
) -> Result<Started, ExitCode> {
    let drop_to = privilege_target(&cfg).map_err(|e| {
        eprintln!("{e}");
        ExitCode::from(1)
    })?;
    let listeners = listen::bind_all(&cfg).map_err(|e| {
        eprintln!(
            "{e}\nno listening sockets available, shutting down\nAH00015: Unable to open logs"
        );
        ExitCode::from(1)
    })?;
    for l in &listeners {
        let _ = l.set_nonblocking(true);
    }
    open_error_log(&cfg).map_err(|e| {
        eprintln!(
            "AH00091: rhttpd: could not open error log file {}: {e}\nAH00015: Unable to open logs",
            cfg.error_log
        );
        ExitCode::from(1)
    })?;
    let current = Site::new(cfg, handlers).map(Arc::new).map_err(|e| {
        eprintln!("{e}");
        ExitCode::from(1)
    })?;
    if !foreground && let Err(e) = rhttpd_sys::process::daemonize() {
        eprintln!("rhttpd: could not detach: {e}");
        return Err(ExitCode::from(1));
    }
    let _ = rhttpd_sys::signals::ignore(13); // SIGPIPE
    let sigs =
        SignalPipe::new(&[sig::TERM, sig::INT, sig::WINCH, sig::HUP, sig::USR1]).map_err(|e| {
            log::log(
                "core",
                Level::Emerg,
                None,
                &format!("cannot set up signals: {e}"),
            );
            ExitCode::from(1)
        })?;
    let pid_file = &current.cfg.pid_file;
    if let Err(e) = pidfile::write(pid_file) {
        log::log(
            "core",
            Level::Error,
            None,
            &format!("AH00099: could not create {}: {e}", pid_file.display()),
        );
    }
    Ok(Started {
        listeners,
        current,
        sigs,
        drop_to,
    })
}

/// Re-read the configuration for a restart. `None` (with the reason logged) when it is
/// bad or asks for another MPM: the caller keeps serving with what it has.
pub fn reload(opts: &LoadOptions, mpm: MpmKind) -> Option<ServerConfig> {
    // The error goes to the error log: a detached parent's stderr is /dev/null.
    let cfg = match crate::conf::load(opts) {
        Ok(c) => c,
        Err(e) => {
            log::log(
                "core",
                Level::Error,
                None,
                &format!("{e}\nrestart refused, still serving with the running configuration"),
            );
            return None;
        }
    };
    for w in &cfg.warnings {
        log::log("core", Level::Warn, None, w);
    }
    if cfg.mpm.unwrap_or(MpmKind::Event) != mpm {
        log::log(
            "core",
            Level::Error,
            None,
            "AH00537: The MPM cannot be changed during restart: restart refused",
        );
        return None;
    }
    Some(cfg)
}

/// Keep listeners whose address is still configured, bind new ones, close the rest.
/// On a bind failure the old set is kept and the error returned.
pub fn rebind(current: &mut Vec<Listener>, cfg: &ServerConfig) -> std::io::Result<()> {
    let mut keep: Vec<Option<Listener>> = current.drain(..).map(Some).collect();
    let mut out = Vec::new();
    let mut to_bind = cfg.clone();
    to_bind.listeners.clear();
    for l in &cfg.listeners {
        let found = keep.iter_mut().find(|k| {
            k.as_ref()
                .and_then(|s| s.local_addr().ok())
                .is_some_and(|a| a == l.addr)
        });
        match found.and_then(Option::take) {
            Some(sock) => {
                // The filter the new configuration names for the kept socket.
                listen::apply_accept_filter(cfg, &l.protocol, sock.socket.as_fd());
                out.push(sock);
            }
            None => to_bind.listeners.push(l.clone()),
        }
    }
    if !to_bind.listeners.is_empty() {
        match listen::bind_all(&to_bind) {
            Ok(new) => {
                for l in &new {
                    let _ = l.set_nonblocking(true);
                }
                out.extend(new);
            }
            Err(e) => {
                *current = out.into_iter().chain(keep.into_iter().flatten()).collect();
                return Err(e);
            }
        }
    }
    *current = out;
    Ok(())
}

/// Build the next generation for a restart (logs reopened); `None` with the reason
/// logged when it cannot be built.
pub fn next_generation(cfg: ServerConfig, handlers: Vec<Arc<dyn Handler>>) -> Option<Arc<Site>> {
    let _ = open_error_log(&cfg);
    match Site::new(cfg, handlers) {
        Ok(g) => Some(Arc::new(g)),
        Err(e) => {
            log::log("core", Level::Error, None, &format!("{e}: restart refused"));
            None
        }
    }
}

/// The startup notices every MPM logs.
pub fn log_started(module: &str, ah: &str, banner: &str) {
    log::log(
        module,
        Level::Notice,
        None,
        &format!("{ah}: {banner} configured -- resuming normal operations"),
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    fn load(text: String) -> ServerConfig {
        crate::conf::load(&LoadOptions {
            file: "embedded.conf".into(),
            embedded: Some(Box::leak(text.into_boxed_str())),
            ..Default::default()
        })
        .unwrap()
    }

    /// A restart keeps the socket of an address still configured, with the
    /// AcceptFilter the new configuration names.
    #[test]
    fn kept_listeners_take_the_new_accept_filter() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let listen = format!("Listen 127.0.0.1:{port}\n");
        let mut current = listen::bind_all(&load(listen.clone())).unwrap();
        let defer = |l: &Listener| rhttpd_sys::net::defer_accept(l.socket.as_fd()).unwrap();
        assert!(defer(&current[0]) > 0, "http data by default");
        let before = current[0].socket.as_fd().as_raw_fd();
        rebind(
            &mut current,
            &load(format!("{listen}AcceptFilter http none\n")),
        )
        .unwrap();
        assert_eq!(
            current[0].socket.as_fd().as_raw_fd(),
            before,
            "the socket is kept"
        );
        assert_eq!(defer(&current[0]), 0);
        rebind(&mut current, &load(listen)).unwrap();
        assert!(defer(&current[0]) > 0);
    }
}
