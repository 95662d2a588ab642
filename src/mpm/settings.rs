//! MPM directives: Apache's defaults, hard limits and clamp-and-warn rules
//! (reference/apache-mpm.md §1). Values are read with `atoi` semantics as Apache does
//! (leading digits; garbage reads as 0 and is then clamped), and each clamp produces the
//! warning with the AH number operators grep for.

use std::time::Duration;

use super::messages::{self, Messages};
use crate::conf::ServerConfig;

pub use crate::conf::atoi;

/// The last value given for `name` (or its deprecated alias), if any, with a deprecation
/// note for the alias.
fn value(
    cfg: &ServerConfig,
    name: &str,
    alias: Option<(&str, &str)>,
    notes: &mut Vec<String>,
) -> Option<i64> {
    let mut found = None;
    for d in &cfg.mpm_directives {
        if d.name.eq_ignore_ascii_case(name) {
            found = d.args.first().map(|a| atoi(a));
        } else if let Some((alias_name, ah)) = alias
            && d.name.eq_ignore_ascii_case(alias_name)
        {
            notes.push(format!(
                "{ah}: {alias_name} is deprecated, use {name} instead."
            ));
            found = d.args.first().map(|a| atoi(a));
        }
    }
    found
}

/// prefork's settings after clamping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreforkSettings {
    pub server_limit: usize,
    pub start_servers: usize,
    pub min_spare: usize,
    pub max_spare: usize,
    pub max_request_workers: usize,
    /// 0 = never recycle.
    pub max_connections_per_child: u64,
    pub graceful_shutdown_timeout: Duration,
}

pub const PREFORK_MAX_SERVER_LIMIT: i64 = 200_000;
pub const MAX_SPAWN_RATE: usize = 32;

impl PreforkSettings {
    /// Read and clamp; returns the settings and the warnings to print (console form).
    pub fn from_config(cfg: &ServerConfig) -> (PreforkSettings, Vec<String>) {
        let mut w = Vec::new();
        let mut server_limit = value(cfg, "ServerLimit", None, &mut w).unwrap_or(256);
        if server_limit > PREFORK_MAX_SERVER_LIMIT {
            w.push(format!(
                "AH00175: WARNING: ServerLimit of {server_limit} exceeds compile-time limit of {PREFORK_MAX_SERVER_LIMIT} servers, decreasing to {PREFORK_MAX_SERVER_LIMIT}."
            ));
            server_limit = PREFORK_MAX_SERVER_LIMIT;
        } else if server_limit < 1 {
            w.push(format!(
                "AH00177: WARNING: ServerLimit of {server_limit} not allowed, increasing to 1."
            ));
            server_limit = 1;
        }
        let mut mrw = value(
            cfg,
            "MaxRequestWorkers",
            Some(("MaxClients", "AH00188")),
            &mut w,
        )
        .unwrap_or(server_limit);
        if mrw > server_limit {
            w.push(format!(
                "AH00180: WARNING: MaxRequestWorkers of {mrw} exceeds ServerLimit value of {server_limit} servers, decreasing MaxRequestWorkers to {server_limit}. To increase, please see the ServerLimit directive."
            ));
            mrw = server_limit;
        } else if mrw < 1 {
            w.push(format!(
                "AH00182: WARNING: MaxRequestWorkers of {mrw} not allowed, increasing to 1."
            ));
            mrw = 1;
        }
        let mut start = value(cfg, "StartServers", None, &mut w).unwrap_or(5);
        if start < 1 {
            w.push(format!(
                "AH00184: WARNING: StartServers of {start} not allowed, increasing to 1."
            ));
            start = 1;
        }
        let mut min_spare = value(cfg, "MinSpareServers", None, &mut w).unwrap_or(5);
        if min_spare < 1 {
            w.push(format!(
                "AH00186: WARNING: MinSpareServers of {min_spare} not allowed, increasing to 1 to avoid almost certain server failure. Please read the documentation."
            ));
            min_spare = 1;
        }
        // Silently raised to MinSpareServers + 1 (one listener bucket).
        let max_spare = value(cfg, "MaxSpareServers", None, &mut w)
            .unwrap_or(10)
            .max(min_spare + 1);
        let mcpc = value(
            cfg,
            "MaxConnectionsPerChild",
            Some(("MaxRequestsPerChild", "AH00545")),
            &mut w,
        )
        .unwrap_or(0);
        (
            PreforkSettings {
                server_limit: server_limit as usize,
                // At run time StartServers is capped to the number of children allowed.
                start_servers: (start.min(mrw)) as usize,
                min_spare: min_spare as usize,
                max_spare: max_spare as usize,
                max_request_workers: mrw as usize,
                // Negative = unlimited for prefork (Apache).
                max_connections_per_child: mcpc.max(0) as u64,
                graceful_shutdown_timeout: cfg.graceful_shutdown_timeout,
            },
            w,
        )
    }
}

impl PreforkSettings {
    /// On restart: ServerLimit sized the scoreboard and cannot change. Keep the running
    /// value (MaxRequestWorkers capped to it) and return the error to log (AH00179).
    pub fn keep_limits_of(&mut self, running: &PreforkSettings) -> Vec<String> {
        let mut errors = Vec::new();
        if self.server_limit != running.server_limit {
            errors
                .push(messages::PREFORK.server_limit_kept(self.server_limit, running.server_limit));
            self.server_limit = running.server_limit;
            self.max_request_workers = self.max_request_workers.min(self.server_limit);
            self.start_servers = self.start_servers.min(self.max_request_workers);
        }
        errors
    }
}

/// The clamping warnings the configured MPM prints at first startup (console form), for
/// `-t` to print as well: Apache runs the MPM's check_config hook before the syntax
/// check ends. Empty when no MPM is loaded or the MPM has none to give.
pub fn startup_warnings(cfg: &ServerConfig) -> Vec<String> {
    match cfg.mpm {
        Some(crate::conf::MpmKind::Prefork) => PreforkSettings::from_config(cfg).1,
        Some(crate::conf::MpmKind::Worker) => {
            ThreadedSettings::from_config(cfg, Threaded::Worker).1
        }
        Some(crate::conf::MpmKind::Event) => ThreadedSettings::from_config(cfg, Threaded::Event).1,
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_stack_size_is_read() {
        let load = |extra: &str| {
            let text = format!("LoadModule mpm_worker_module x\nListen 127.0.0.1:1\n{extra}");
            crate::conf::load(&crate::conf::LoadOptions {
                file: "embedded.conf".into(),
                embedded: Some(Box::leak(text.into_boxed_str())),
                ..Default::default()
            })
        };
        let cfg = load("ThreadStackSize 1048576\n").unwrap();
        let (s, _) = ThreadedSettings::from_config(&cfg, Threaded::Worker);
        assert_eq!(s.thread_stack_size, Some(1 << 20));
        assert_eq!(thread_stack_size(&load("").unwrap()), None);
        assert_eq!(
            thread_stack_size(&load("ThreadStackSize 0\n").unwrap()),
            None
        );
        let e = load("ThreadStackSize -5\n").unwrap_err();
        assert!(
            e.to_string().contains("Invalid ThreadStackSize value: -5"),
            "{e}"
        );
    }

    fn load(mpm: &str, extra: &str) -> ServerConfig {
        let text = format!("LoadModule mpm_{mpm}_module x\nListen 127.0.0.1:1\n{extra}");
        crate::conf::load(&crate::conf::LoadOptions {
            file: "embedded.conf".into(),
            embedded: Some(Box::leak(text.into_boxed_str())),
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn prefork_clamps() {
        let cfg = load(
            "prefork",
            "ServerLimit 4\nMaxRequestWorkers 9\nStartServers 7\nMinSpareServers 0\nMaxSpareServers 0\nMaxConnectionsPerChild -3\n",
        );
        let (s, w) = PreforkSettings::from_config(&cfg);
        assert_eq!(s.max_request_workers, 4);
        assert_eq!(
            s.start_servers, 4,
            "StartServers capped to MaxRequestWorkers"
        );
        assert_eq!(
            (s.min_spare, s.max_spare),
            (1, 2),
            "MaxSpare raised to MinSpare + 1"
        );
        assert_eq!(s.max_connections_per_child, 0);
        assert!(w.iter().any(|w| w.starts_with("AH00180: ")), "{w:?}");
        assert!(w.iter().any(|w| w.starts_with("AH00186: ")), "{w:?}");
    }

    #[test]
    fn threaded_clamps() {
        let cfg = load(
            "event",
            "ServerLimit 2\nThreadsPerChild 10\nMaxRequestWorkers 45\nMinSpareThreads 5\nMaxSpareThreads 6\nMaxConnectionsPerChild -1\n",
        );
        let (s, w) = ThreadedSettings::from_config(&cfg, Threaded::Event);
        // 45 rounds down to 40 (4 children), then 4 children exceed ServerLimit 2.
        assert_eq!(s.max_request_workers, 40);
        assert_eq!(s.daemons_limit, 2);
        assert_eq!(s.start_servers, 2);
        assert_eq!(
            s.max_spare_threads, 16,
            "raised to MinSpare + ThreadsPerChild + 1"
        );
        assert_eq!(s.max_connections_per_child, 0);
        assert!(w.iter().any(|w| w.starts_with("AH00513: ")), "{w:?}");
        assert!(w.iter().any(|w| w.starts_with("AH00515: ")), "{w:?}");
    }

    #[test]
    fn limits_are_kept_on_restart() {
        let (running, _) = PreforkSettings::from_config(&load("prefork", "ServerLimit 8\n"));
        let (mut next, _) = PreforkSettings::from_config(&load(
            "prefork",
            "ServerLimit 20\nMaxRequestWorkers 20\n",
        ));
        let errors = next.keep_limits_of(&running);
        assert_eq!(
            errors,
            [
                "AH00179: changing ServerLimit to 20 from original value of 8 not allowed during restart"
            ]
        );
        assert_eq!((next.server_limit, next.max_request_workers), (8, 8));
        assert!(next.clone().keep_limits_of(&next).is_empty());

        let (running, _) = ThreadedSettings::from_config(
            &load(
                "worker",
                "ServerLimit 4\nThreadLimit 32\nThreadsPerChild 25\n",
            ),
            Threaded::Worker,
        );
        let (mut next, _) = ThreadedSettings::from_config(
            &load(
                "worker",
                "ServerLimit 40\nThreadLimit 64\nThreadsPerChild 50\nMaxRequestWorkers 2000\n",
            ),
            Threaded::Worker,
        );
        let errors = next.keep_limits_of(&running, Threaded::Worker);
        assert_eq!(errors.len(), 2);
        assert!(
            errors[0].starts_with("AH00304: changing ServerLimit to 40 from original value of 4")
        );
        assert!(
            errors[1].starts_with("AH00309: changing ThreadLimit to 64 from original value of 32")
        );
        assert_eq!((next.server_limit, next.daemons_limit), (4, 4));
        assert_eq!((next.thread_limit, next.threads_per_child), (32, 32));
        // Apache keeps MaxRequestWorkers as configured.
        assert_eq!(next.max_request_workers, 2000);
    }

    #[test]
    fn atoi_semantics() {
        assert_eq!(atoi("42"), 42);
        assert_eq!(atoi("  7x"), 7);
        assert_eq!(atoi("abc"), 0);
        assert_eq!(atoi("-3"), -3);
        assert_eq!(atoi(""), 0);
        assert_eq!(atoi("99999999999999999999999"), i64::MAX);
    }
}

/// worker's and event's settings after clamping (they share the arithmetic; only the
/// hard limits and AH numbers differ).
#[derive(Clone, Debug, PartialEq)]
pub struct ThreadedSettings {
    pub server_limit: usize,
    pub thread_limit: usize,
    pub threads_per_child: usize,
    /// As configured after the multiple-of-ThreadsPerChild rounding (Apache keeps this
    /// value even when `daemons_limit` is lowered to ServerLimit).
    pub max_request_workers: usize,
    /// MaxRequestWorkers / ThreadsPerChild, at most ServerLimit: the most children.
    pub daemons_limit: usize,
    pub start_servers: usize,
    pub min_spare_threads: usize,
    pub max_spare_threads: usize,
    /// 0 = never recycle (a negative value too: Apache's worker and event would stop
    /// their children at once).
    pub max_connections_per_child: u64,
    /// event only: AsyncRequestWorkerFactor (Apache uses its integer part).
    pub async_factor: f64,
    pub graceful_shutdown_timeout: Duration,
    /// ThreadStackSize: the stack of each worker and listener thread; `None` (unset or
    /// 0) = the default.
    pub thread_stack_size: Option<usize>,
}

/// `ThreadStackSize` (mpm_common's strtol; negative values are refused at load): the
/// stack size for the threads of a threaded child, `None` for the default.
pub fn thread_stack_size(cfg: &ServerConfig) -> Option<usize> {
    let mut notes = Vec::new();
    value(cfg, "ThreadStackSize", None, &mut notes)
        .filter(|&n| n > 0)
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
}

/// Which threaded MPM, for limits and message numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threaded {
    Worker,
    Event,
}

impl ThreadedSettings {
    pub fn from_config(cfg: &ServerConfig, which: Threaded) -> (ThreadedSettings, Vec<String>) {
        // AH numbers: (server_limit max, <1, thread_limit max, <1, tpc>limit, tpc<1,
        // mrw<tpc, mrw not multiple, mrw>server_limit, start<1, min_spare<1).
        let (ah, max_server, max_thread): ([u32; 11], i64, i64) = match which {
            Threaded::Worker => (
                [300, 302, 305, 307, 310, 312, 314, 316, 318, 320, 322],
                20_000,
                20_000,
            ),
            Threaded::Event => (
                [497, 499, 502, 504, 507, 509, 511, 513, 515, 517, 519],
                20_000,
                100_000,
            ),
        };
        let mut w = Vec::new();
        let mut server_limit = value(cfg, "ServerLimit", None, &mut w).unwrap_or(16);
        if server_limit > max_server {
            w.push(format!("AH{:05}: WARNING: ServerLimit of {server_limit} exceeds compile-time limit of {max_server} servers, decreasing to {max_server}.", ah[0]));
            server_limit = max_server;
        } else if server_limit < 1 {
            w.push(format!(
                "AH{:05}: WARNING: ServerLimit of {server_limit} not allowed, increasing to 1.",
                ah[1]
            ));
            server_limit = 1;
        }
        let mut thread_limit = value(cfg, "ThreadLimit", None, &mut w).unwrap_or(64);
        if thread_limit > max_thread {
            w.push(format!("AH{:05}: WARNING: ThreadLimit of {thread_limit} exceeds compile-time limit of {max_thread} threads, decreasing to {max_thread}.", ah[2]));
            thread_limit = max_thread;
        } else if thread_limit < 1 {
            w.push(format!(
                "AH{:05}: WARNING: ThreadLimit of {thread_limit} not allowed, increasing to 1.",
                ah[3]
            ));
            thread_limit = 1;
        }
        let mut tpc = value(cfg, "ThreadsPerChild", None, &mut w).unwrap_or(25);
        if tpc > thread_limit {
            w.push(format!("AH{:05}: WARNING: ThreadsPerChild of {tpc} exceeds ThreadLimit of {thread_limit} threads, decreasing to {thread_limit}. To increase, please see the ThreadLimit directive.", ah[4]));
            tpc = thread_limit;
        } else if tpc < 1 {
            w.push(format!(
                "AH{:05}: WARNING: ThreadsPerChild of {tpc} not allowed, increasing to 1.",
                ah[5]
            ));
            tpc = 1;
        }
        let alias_ah = if which == Threaded::Worker {
            "AH00324"
        } else {
            "AH00521"
        };
        let mut mrw = value(
            cfg,
            "MaxRequestWorkers",
            Some(("MaxClients", alias_ah)),
            &mut w,
        )
        .unwrap_or(16 * 25);
        if mrw < tpc {
            w.push(format!("AH{:05}: WARNING: MaxRequestWorkers of {mrw} is less than ThreadsPerChild of {tpc}, increasing to {tpc}. MaxRequestWorkers must be at least as large as the number of threads in a single server.", ah[6]));
            mrw = tpc;
        }
        let mut daemons = mrw / tpc;
        if mrw % tpc != 0 {
            let rounded = daemons * tpc;
            w.push(format!("AH{:05}: WARNING: MaxRequestWorkers of {mrw} is not an integer multiple of ThreadsPerChild of {tpc}, decreasing to nearest multiple {rounded}, for a maximum of {daemons} servers.", ah[7]));
            mrw = rounded;
        }
        if daemons > server_limit {
            w.push(format!("AH{:05}: WARNING: MaxRequestWorkers of {mrw} would require {daemons} servers and would exceed ServerLimit of {server_limit}, decreasing to {}. To increase, please see the ServerLimit directive.", ah[8], server_limit * tpc));
            daemons = server_limit;
        }
        let mut start = value(cfg, "StartServers", None, &mut w).unwrap_or(3);
        if start < 1 {
            w.push(format!(
                "AH{:05}: WARNING: StartServers of {start} not allowed, increasing to 1.",
                ah[9]
            ));
            start = 1;
        }
        let mut min_spare = value(cfg, "MinSpareThreads", None, &mut w).unwrap_or(75);
        if min_spare < 1 {
            w.push(format!("AH{:05}: WARNING: MinSpareThreads of {min_spare} not allowed, increasing to 1 to avoid almost certain server failure. Please read the documentation.", ah[10]));
            min_spare = 1;
        }
        let max_spare = value(cfg, "MaxSpareThreads", None, &mut w)
            .unwrap_or(250)
            .max(min_spare + tpc + 1);
        let mcpc = value(
            cfg,
            "MaxConnectionsPerChild",
            Some(("MaxRequestsPerChild", "AH00545")),
            &mut w,
        )
        .unwrap_or(0);
        let mut async_factor = 2.0;
        for d in &cfg.mpm_directives {
            if d.name == "AsyncRequestWorkerFactor"
                && let Some(v) = d.args.first().and_then(|a| a.trim().parse::<f64>().ok())
                && v > 0.0
            {
                async_factor = v.max(1.0);
            }
        }
        (
            ThreadedSettings {
                server_limit: server_limit as usize,
                thread_limit: thread_limit as usize,
                threads_per_child: tpc as usize,
                max_request_workers: mrw as usize,
                daemons_limit: daemons as usize,
                start_servers: (start as usize).min(daemons as usize),
                min_spare_threads: min_spare as usize,
                max_spare_threads: max_spare as usize,
                max_connections_per_child: mcpc.max(0) as u64,
                async_factor,
                graceful_shutdown_timeout: cfg.graceful_shutdown_timeout,
                thread_stack_size: thread_stack_size(cfg),
            },
            w,
        )
    }
}

impl Threaded {
    /// The parent's messages of this MPM.
    pub fn messages(self) -> &'static Messages {
        match self {
            Threaded::Worker => &messages::WORKER,
            Threaded::Event => &messages::EVENT,
        }
    }
}

impl ThreadedSettings {
    /// On restart: ServerLimit and ThreadLimit sized the scoreboard and cannot change.
    /// Keep the running values (the most children and ThreadsPerChild capped to them)
    /// and return the errors to log (AH00304/AH00501, AH00309/AH00506).
    pub fn keep_limits_of(&mut self, running: &ThreadedSettings, which: Threaded) -> Vec<String> {
        let msgs = which.messages();
        let mut errors = Vec::new();
        if self.server_limit != running.server_limit {
            errors.push(msgs.server_limit_kept(self.server_limit, running.server_limit));
            self.server_limit = running.server_limit;
            self.daemons_limit = self.daemons_limit.min(self.server_limit);
            self.start_servers = self.start_servers.min(self.daemons_limit);
        }
        if self.thread_limit != running.thread_limit {
            errors.push(msgs.thread_limit_kept(self.thread_limit, running.thread_limit));
            self.thread_limit = running.thread_limit;
            self.threads_per_child = self.threads_per_child.min(self.thread_limit);
        }
        errors
    }
}
