//! `?json`: the report as one JSON object (written by hand: the server has no JSON
//! dependency). Times are seconds since the epoch; byte counts are bytes; CPU is
//! seconds. Non-finite numbers (never expected) are written as `null`.
//!
//! ```text
//! {"server_name": "...", "server_version": "...", "server_mpm": "prefork",
//!  "server_built": "...", "current_time": 1700000000, "restart_time": ...,
//!  "config_generation": 1, "mpm_generation": 0, "uptime_seconds": 12,
//!  "load": [0.1, 0.2, 0.3], "extended_status": true,
//!  "totals": {"accesses", "bytes", "kbytes", "duration_ms", "cpu_user", "cpu_system",
//!             "cpu_children_user", "cpu_children_system", "cpu_load",
//!             "requests_per_second", "bytes_per_second", "bytes_per_request",
//!             "ms_per_request"},            <- only with ExtendedStatus
//!  "workers": {"busy", "graceful", "idle"},
//!  "states": {"waiting": n, "starting": n, ...},
//!  "processes": [{"slot", "pid", "stopping", "old_generation", "connections",
//!                 "accepting", "busy", "graceful", "idle", "wait_io", "writing",
//!                 "keep_alive", "closing"}],
//!  "scoreboard": "__RK...",
//!  "workers_detail": [{...}]}               <- only with ExtendedStatus
//! ```

use std::fmt::Write;

use super::metrics::STATE_NAMES;
use super::report::{CellRow, Report};
use crate::scoreboard::WorkerStatus;

/// A JSON string literal for `s`.
pub fn string(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// A JSON number for `v` (`null` if not finite).
pub fn number(v: f64) -> String {
    if v.is_finite() {
        format!("{v}")
    } else {
        "null".into()
    }
}

fn opt(v: Option<f64>) -> String {
    v.map(number).unwrap_or_else(|| "null".into())
}

/// Writes `"key": value` pairs separated by commas.
struct Obj<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Obj<'a> {
    fn open(out: &'a mut String) -> Obj<'a> {
        out.push('{');
        Obj { out, first: true }
    }

    fn raw(&mut self, key: &str, value: &str) -> &mut Self {
        if !self.first {
            self.out.push_str(", ");
        }
        self.first = false;
        self.out.push_str(&string(key));
        self.out.push_str(": ");
        self.out.push_str(value);
        self
    }

    fn str(&mut self, key: &str, value: &str) -> &mut Self {
        self.raw(key, &string(value))
    }

    fn int(&mut self, key: &str, value: impl std::fmt::Display) -> &mut Self {
        self.raw(key, &value.to_string())
    }

    fn num(&mut self, key: &str, value: f64) -> &mut Self {
        self.raw(key, &number(value))
    }

    fn bool(&mut self, key: &str, value: bool) -> &mut Self {
        self.raw(key, if value { "true" } else { "false" })
    }

    fn close(&mut self) {
        self.out.push('}');
    }
}

fn cell(c: &CellRow) -> String {
    let mut s = String::new();
    Obj::open(&mut s)
        .int("slot", c.slot)
        .int("thread", c.thread)
        .int("pid", c.pid)
        .int("generation", c.generation)
        .str("status", &c.status.letter().to_string())
        .int("connection_accesses", c.conn_count)
        .int("child_accesses", c.my_access_count)
        .int("slot_accesses", c.access_count)
        .num("cpu_seconds", c.cpu_secs)
        .int("seconds_since_last", c.ss_secs)
        .int("last_request_ms", c.req_ms)
        .int("duration_ms", c.dur_ms)
        .int("connection_bytes", c.conn_bytes)
        .int("child_bytes", c.my_bytes)
        .int("slot_bytes", c.bytes)
        .str("client", &c.client)
        .str("protocol", &c.protocol)
        .str("vhost", &c.vhost)
        .str("request", &c.request)
        .close();
    s
}

pub fn render(r: &Report) -> String {
    let mut out = String::with_capacity(2048 + r.cells.len() * 320);
    let load = format!("[{}]", r.env.load.map(number).join(", "));
    let mut totals = String::new();
    if r.env.extended {
        let t = &r.totals;
        let per_sec = r.per_second();
        let per_req = r.per_request();
        Obj::open(&mut totals)
            .int("accesses", t.accesses)
            .int("bytes", t.bytes)
            .int("kbytes", t.kbytes)
            .int("duration_ms", t.duration_ms)
            .num("cpu_user", t.cpu_user)
            .num("cpu_system", t.cpu_system)
            .num("cpu_children_user", t.cpu_children_user)
            .num("cpu_children_system", t.cpu_children_system)
            .raw("cpu_load", &opt(r.cpu_load()))
            .raw("requests_per_second", &opt(per_sec.map(|p| p.0)))
            .raw("bytes_per_second", &opt(per_sec.map(|p| p.1)))
            .raw("bytes_per_request", &opt(per_req.map(|p| p.0)))
            .raw("ms_per_request", &opt(per_req.map(|p| p.1)))
            .close();
    }
    let mut workers = String::new();
    Obj::open(&mut workers)
        .int("busy", r.busy)
        .int("graceful", r.graceful)
        .int("idle", r.idle)
        .close();
    let mut states = String::new();
    {
        let mut o = Obj::open(&mut states);
        for s in WorkerStatus::ALL {
            o.int(STATE_NAMES[s as usize], r.state_counts[s as usize]);
        }
        o.close();
    }
    let processes: Vec<String> = r
        .processes
        .iter()
        .map(|p| {
            let mut s = String::new();
            Obj::open(&mut s)
                .int("slot", p.slot)
                .int("pid", p.pid)
                .bool("stopping", p.stopping)
                .bool("old_generation", p.old_gen)
                .int("connections", p.connections)
                .bool("accepting", p.accepting)
                .int("busy", p.busy)
                .int("graceful", p.graceful)
                .int("idle", p.idle)
                .int("wait_io", p.wait_io)
                .int("writing", p.writing)
                .int("keep_alive", p.keep_alive)
                .int("closing", p.closing)
                .close();
            s
        })
        .collect();
    let mut o = Obj::open(&mut out);
    o.str("server_name", &r.env.server_name)
        .str("server_version", &r.mpm.server_version)
        .str("server_mpm", r.mpm.name)
        .str("server_built", &r.mpm.server_built)
        .int("current_time", r.env.now_micros / 1_000_000)
        .int("restart_time", r.restart_micros / 1_000_000)
        .int("config_generation", r.config_generation)
        .int("mpm_generation", r.mpm_generation)
        .int("uptime_seconds", r.uptime_secs)
        .raw("load", &load)
        .bool("extended_status", r.env.extended);
    if r.env.extended {
        o.raw("totals", &totals);
    }
    o.raw("workers", &workers)
        .raw("states", &states)
        .raw("processes", &format!("[{}]", processes.join(", ")))
        .str("scoreboard", &r.scoreboard);
    if r.env.extended {
        let cells: Vec<String> = r.cells.iter().filter(|c| c.listed()).map(cell).collect();
        o.raw("workers_detail", &format!("[{}]", cells.join(",\n ")));
    }
    o.close();
    out.push('\n');
    out
}
