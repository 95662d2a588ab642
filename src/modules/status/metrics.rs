//! `?metrics`: the report in the Prometheus text exposition format 0.0.4, with names
//! modelled on prometheus-apache-exporter's (`rhttpd_` instead of `apache_`) so
//! dashboards translate directly.

use std::fmt::Write;

use super::report::Report;
use crate::scoreboard::WorkerStatus;

/// `state` label of each scoreboard letter, by [`WorkerStatus::value`]
/// (`. S _ R W K L D C G I`).
pub const STATE_NAMES: [&str; 11] = [
    "open",
    "starting",
    "waiting",
    "reading",
    "sending",
    "keepalive",
    "logging",
    "dns",
    "closing",
    "graceful",
    "idle_cleanup",
];

/// A label value with `\`, `"` and newlines escaped.
pub fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn header(o: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(o, "# HELP {name} {help}");
    let _ = writeln!(o, "# TYPE {name} {kind}");
}

fn num(v: f64) -> String {
    if v.is_finite() {
        format!("{v}")
    } else if v.is_nan() {
        "NaN".into()
    } else if v > 0.0 {
        "+Inf".into()
    } else {
        "-Inf".into()
    }
}

pub fn render(r: &Report) -> String {
    let mut o = String::with_capacity(4096);
    header(&mut o, "rhttpd_up", "gauge", "Whether the server is up.");
    o.push_str("rhttpd_up 1\n");
    header(&mut o, "rhttpd_info", "gauge", "Server version and MPM.");
    let _ = writeln!(
        o,
        "rhttpd_info{{version=\"{}\",mpm=\"{}\"}} 1",
        label(&r.mpm.server_version),
        label(r.mpm.name)
    );
    header(
        &mut o,
        "rhttpd_uptime_seconds_total",
        "counter",
        "Seconds since the server was (re)started.",
    );
    let _ = writeln!(o, "rhttpd_uptime_seconds_total {}", r.uptime_secs);
    header(
        &mut o,
        "rhttpd_generation",
        "gauge",
        "Configuration and MPM generations of the parent.",
    );
    let _ = writeln!(
        o,
        "rhttpd_generation{{kind=\"config\"}} {}",
        r.config_generation
    );
    let _ = writeln!(o, "rhttpd_generation{{kind=\"mpm\"}} {}", r.mpm_generation);
    header(&mut o, "rhttpd_load", "gauge", "System load average.");
    for (m, v) in ["1", "5", "15"].iter().zip(r.env.load) {
        let _ = writeln!(o, "rhttpd_load{{minutes=\"{m}\"}} {}", num(v));
    }
    if r.env.extended {
        let t = &r.totals;
        header(
            &mut o,
            "rhttpd_accesses_total",
            "counter",
            "Requests served (ExtendedStatus).",
        );
        let _ = writeln!(o, "rhttpd_accesses_total {}", t.accesses);
        header(
            &mut o,
            "rhttpd_sent_kilobytes_total",
            "counter",
            "Kilobytes of response bodies sent (ExtendedStatus).",
        );
        let _ = writeln!(o, "rhttpd_sent_kilobytes_total {}", t.kbytes);
        header(
            &mut o,
            "rhttpd_duration_seconds_total",
            "counter",
            "Sum of request processing times (ExtendedStatus).",
        );
        let _ = writeln!(
            o,
            "rhttpd_duration_seconds_total {}",
            num(t.duration_ms as f64 / 1000.0)
        );
        header(
            &mut o,
            "rhttpd_cpu_seconds_total",
            "counter",
            "CPU time of the worker processes/threads, and of reaped children.",
        );
        for (mode, v) in [
            ("user", t.cpu_user),
            ("system", t.cpu_system),
            ("children_user", t.cpu_children_user),
            ("children_system", t.cpu_children_system),
        ] {
            let _ = writeln!(o, "rhttpd_cpu_seconds_total{{mode=\"{mode}\"}} {}", num(v));
        }
        if let Some(load) = r.cpu_load() {
            header(
                &mut o,
                "rhttpd_cpuload",
                "gauge",
                "CPU time over uptime, in percent.",
            );
            let _ = writeln!(o, "rhttpd_cpuload {}", num(load));
        }
    }
    header(
        &mut o,
        "rhttpd_workers",
        "gauge",
        "Workers by state (mod_status BusyWorkers, GracefulWorkers, IdleWorkers).",
    );
    for (state, n) in [("busy", r.busy), ("graceful", r.graceful), ("idle", r.idle)] {
        let _ = writeln!(o, "rhttpd_workers{{state=\"{state}\"}} {n}");
    }
    header(
        &mut o,
        "rhttpd_scoreboard",
        "gauge",
        "Scoreboard cells by state letter.",
    );
    for s in WorkerStatus::ALL {
        let _ = writeln!(
            o,
            "rhttpd_scoreboard{{state=\"{}\"}} {}",
            STATE_NAMES[s as usize], r.state_counts[s as usize]
        );
    }
    header(&mut o, "rhttpd_processes", "gauge", "Child processes.");
    let _ = writeln!(o, "rhttpd_processes {}", r.processes.len());
    if r.mpm.is_async {
        header(
            &mut o,
            "rhttpd_processes_stopping",
            "gauge",
            "Child processes going down gracefully.",
        );
        let _ = writeln!(o, "rhttpd_processes_stopping {}", r.stopping());
        header(
            &mut o,
            "rhttpd_connections",
            "gauge",
            "Connections by state (event MPM).",
        );
        let [total, wait_io, writing, keep_alive, closing] = r.conn_sums();
        for (state, n) in [
            ("total", total),
            ("wait_io", wait_io),
            ("writing", writing),
            ("keepalive", keep_alive),
            ("closing", closing),
        ] {
            let _ = writeln!(o, "rhttpd_connections{{state=\"{state}\"}} {n}");
        }
    }
    o
}
