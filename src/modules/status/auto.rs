//! `?auto`: Apache 2.4's machine-readable status, key for key and in Apache's order
//! (note the keys with spaces, "Server Built" and "Total Accesses", that parsers
//! rely on).

use std::fmt::Write;

use super::report::{Report, fmt_g, format_time, show_time};

pub fn render(r: &Report) -> String {
    let mut o = String::with_capacity(512 + r.scoreboard.len());
    let _ = writeln!(o, "{}", r.env.server_name);
    let _ = writeln!(o, "ServerVersion: {}", r.mpm.server_version);
    let _ = writeln!(o, "ServerMPM: {}", r.mpm.name);
    let _ = writeln!(o, "Server Built: {}", r.mpm.server_built);
    let _ = writeln!(o, "CurrentTime: {}", format_time(r.env.now_micros));
    let _ = writeln!(o, "RestartTime: {}", format_time(r.restart_micros));
    let _ = writeln!(o, "ParentServerConfigGeneration: {}", r.config_generation);
    let _ = writeln!(o, "ParentServerMPMGeneration: {}", r.mpm_generation);
    let _ = writeln!(o, "ServerUptimeSeconds: {}", r.uptime_secs);
    let _ = writeln!(o, "ServerUptime:{}", show_time(r.uptime_secs));
    for (key, v) in ["Load1", "Load5", "Load15"].iter().zip(r.env.load) {
        let _ = writeln!(o, "{key}: {v:.2}");
    }
    if r.env.extended {
        let t = &r.totals;
        let _ = writeln!(o, "Total Accesses: {}", t.accesses);
        let _ = writeln!(o, "Total kBytes: {}", t.kbytes);
        let _ = writeln!(o, "Total Duration: {}", t.duration_ms);
        let _ = writeln!(o, "CPUUser: {}", fmt_g(t.cpu_user, 6));
        let _ = writeln!(o, "CPUSystem: {}", fmt_g(t.cpu_system, 6));
        let _ = writeln!(o, "CPUChildrenUser: {}", fmt_g(t.cpu_children_user, 6));
        let _ = writeln!(o, "CPUChildrenSystem: {}", fmt_g(t.cpu_children_system, 6));
        if let Some(load) = r.cpu_load() {
            let _ = writeln!(o, "CPULoad: {}", fmt_g(load, 6));
        }
        let _ = writeln!(o, "Uptime: {}", r.uptime_secs);
        if let Some((reqs, bytes)) = r.per_second() {
            let _ = writeln!(o, "ReqPerSec: {}", fmt_g(reqs, 6));
            let _ = writeln!(o, "BytesPerSec: {}", fmt_g(bytes, 6));
        }
        if let Some((bytes, ms)) = r.per_request() {
            let _ = writeln!(o, "BytesPerReq: {}", fmt_g(bytes, 6));
            let _ = writeln!(o, "DurationPerReq: {}", fmt_g(ms, 6));
        }
    }
    let _ = writeln!(o, "BusyWorkers: {}", r.busy);
    let _ = writeln!(o, "GracefulWorkers: {}", r.graceful);
    let _ = writeln!(o, "IdleWorkers: {}", r.idle);
    if r.mpm.is_async {
        let [total, wait_io, writing, keep_alive, closing] = r.conn_sums();
        let _ = writeln!(o, "Processes: {}", r.processes.len());
        let _ = writeln!(o, "Stopping: {}", r.stopping());
        let _ = writeln!(o, "ConnsTotal: {total}");
        let _ = writeln!(o, "ConnsAsyncWaitIO: {wait_io}");
        let _ = writeln!(o, "ConnsAsyncWriting: {writing}");
        let _ = writeln!(o, "ConnsAsyncKeepAlive: {keep_alive}");
        let _ = writeln!(o, "ConnsAsyncClosing: {closing}");
    }
    let _ = writeln!(o, "Scoreboard: {}", r.scoreboard);
    // mod_ssl's section, in Apache's keys (the counters rhttpd's cache keeps).
    if let Some(tls) = &r.env.tls {
        let _ = writeln!(o, "TLSSessionCacheStatus");
        match &tls.cache {
            Some((bytes, entries, s)) => {
                let _ = writeln!(o, "CacheType: SHMCB");
                let _ = writeln!(o, "CacheSharedMemory: {bytes}");
                let _ = writeln!(o, "CacheMaximumEntries: {entries}");
                let _ = writeln!(o, "CacheStoreCount: {}", s.stored);
                let _ = writeln!(o, "CacheRetrieveHitCount: {}", s.hits);
                let _ = writeln!(o, "CacheRetrieveMissCount: {}", s.misses);
                let _ = writeln!(o, "CacheRemoveHitCount: {}", s.removed);
            }
            None => {
                let _ = writeln!(o, "CacheType: NONE");
            }
        }
    }
    o
}
