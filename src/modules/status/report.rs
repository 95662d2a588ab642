//! The numbers behind every output format, computed once per request from a scoreboard
//! snapshot with mod_status's counting rules (reference §5.3), plus the number and time
//! formatting helpers Apache's page uses (`%g`, `format_byte_out`, `show_time`, ...).

use std::time::{Duration, UNIX_EPOCH};

use chrono::{DateTime, Local, Offset};

use super::MpmInfo;
use crate::scoreboard::{ScoreboardSnapshot, WorkerStatus};

/// Facts that come from the request and the machine rather than the scoreboard.
#[derive(Clone, Debug)]
pub struct Env {
    /// `ap_get_server_name`: the Host of the request, else the vhost's ServerName.
    pub server_name: String,
    /// Local address the request arrived on ("via").
    pub local_ip: String,
    /// Local port (signature line).
    pub local_port: u16,
    /// Current time, µs since the epoch.
    pub now_micros: u64,
    /// 1, 5 and 15 minute load averages (-1 when unavailable).
    pub load: [f64; 3],
    /// `ExtendedStatus`.
    pub extended: bool,
    /// mod_ssl's part (`None` without TLS hosts).
    pub tls: Option<TlsStatus>,
}

/// The TLS hosts and the shared session cache, for the status page.
#[derive(Clone, Debug, Default)]
pub struct TlsStatus {
    /// `name:port` of every host with `SSLEngine on`.
    pub hosts: Vec<String>,
    /// `SSLSessionCache` size in bytes and its counters (`None`: no cache).
    pub cache: Option<(usize, usize, crate::tls::session_cache::SessionStats)>,
}

/// Sums over every cell (only meaningful with ExtendedStatus).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Totals {
    pub accesses: u64,
    pub bytes: u64,
    /// `bytes / 1024`, as Apache's `kbcount`.
    pub kbytes: u64,
    /// Sum of request durations, ms.
    pub duration_ms: u64,
    /// CPU seconds: user and system of live workers, then user and system of reaped
    /// children (Apache's `cu`/`cs`).
    pub cpu_user: f64,
    pub cpu_system: f64,
    pub cpu_children_user: f64,
    pub cpu_children_system: f64,
}

impl Totals {
    pub fn cpu_total(&self) -> f64 {
        self.cpu_user + self.cpu_system + self.cpu_children_user + self.cpu_children_system
    }
}

/// One live process, for the async (event) table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcRow {
    pub slot: usize,
    pub pid: i32,
    pub stopping: bool,
    /// Started in an older generation than the running one.
    pub old_gen: bool,
    pub connections: u64,
    pub accepting: bool,
    pub busy: usize,
    pub graceful: usize,
    pub idle: usize,
    pub wait_io: u64,
    pub writing: u64,
    pub keep_alive: u64,
    pub closing: u64,
}

/// One scoreboard cell that is shown (not disabled).
#[derive(Clone, Debug, PartialEq)]
pub struct CellRow {
    pub slot: usize,
    pub thread: usize,
    /// Pid of the owning process (0 = none).
    pub pid: i32,
    pub generation: u64,
    pub status: WorkerStatus,
    /// Accesses: this connection / this child / this slot.
    pub conn_count: u64,
    pub my_access_count: u64,
    pub access_count: u64,
    pub cpu_secs: f64,
    pub cpu_user: f64,
    pub cpu_system: f64,
    /// Seconds since the cell last changed state.
    pub ss_secs: u64,
    /// Milliseconds of the last request.
    pub req_ms: u64,
    /// Sum of request milliseconds.
    pub dur_ms: u64,
    pub conn_bytes: u64,
    pub my_bytes: u64,
    pub bytes: u64,
    pub client: String,
    pub protocol: String,
    pub vhost: String,
    pub request: String,
}

impl CellRow {
    /// Whether the extended table lists the cell (Apache skips idle or dead cells that
    /// never served a request).
    pub fn listed(&self) -> bool {
        !(self.access_count == 0 && matches!(self.status, WorkerStatus::Ready | WorkerStatus::Dead))
    }
}

/// Everything a status page shows.
#[derive(Clone, Debug)]
pub struct Report {
    pub env: Env,
    pub mpm: MpmInfo,
    pub restart_micros: u64,
    pub config_generation: u64,
    pub mpm_generation: u64,
    pub uptime_secs: u64,
    pub totals: Totals,
    /// Busy, gracefully finishing and idle workers (Apache's counting rules).
    pub busy: usize,
    pub graceful: usize,
    pub idle: usize,
    /// Live processes (all MPMs; the HTML table and the `?auto` keys are event-only).
    pub processes: Vec<ProcRow>,
    /// The scoreboard letters, disabled cells omitted.
    pub scoreboard: String,
    /// The non-disabled cells, slot-major.
    pub cells: Vec<CellRow>,
    /// Cells per state (disabled cells not counted), by [`WorkerStatus::value`].
    pub state_counts: [usize; 11],
}

impl Report {
    /// Apply mod_status's rules to `snap`.
    pub fn build(snap: &ScoreboardSnapshot, mpm: &MpmInfo, env: Env) -> Report {
        let tl = snap.thread_limit();
        let sl = snap.processes.len();
        let tpc = mpm.threads_per_child.clamp(1, tl.max(1));
        let max_daemons = mpm.max_daemons().min(sl);
        let running = snap.global.running_generation;
        let now = env.now_micros;

        let mut busy = 0;
        let mut graceful = 0;
        let mut idle = 0;
        let mut scoreboard = String::new();
        let mut cells = Vec::new();
        let mut state_counts = [0usize; 11];
        let mut totals = Totals::default();
        let mut processes = Vec::new();
        for (slot, p) in snap.processes.iter().enumerate() {
            let live = p.pid != 0 && p.quiescing == 0;
            let (mut p_busy, mut p_graceful, mut p_idle) = (0, 0, 0);
            for (thread, w) in snap.workers_of(slot).iter().enumerate() {
                let s = w.status;
                let disabled = (slot >= max_daemons || thread >= tpc) && s == WorkerStatus::Dead;
                if live {
                    match s {
                        WorkerStatus::Ready => {
                            // READY cells of an older generation count as neither.
                            if w.generation == running {
                                idle += 1;
                            }
                            p_idle += 1;
                        }
                        WorkerStatus::Graceful => {
                            graceful += 1;
                            p_graceful += 1;
                        }
                        WorkerStatus::Dead | WorkerStatus::Starting | WorkerStatus::IdleKill => {}
                        _ => {
                            busy += 1;
                            p_busy += 1;
                        }
                    }
                }
                totals.accesses += w.access_count;
                totals.bytes += w.bytes_served;
                totals.duration_ms += w.duration_micros;
                totals.cpu_user += w.cpu_user_micros as f64 / 1e6;
                totals.cpu_system += w.cpu_system_micros as f64 / 1e6;
                if disabled {
                    continue;
                }
                scoreboard.push(s.letter());
                state_counts[s as usize] += 1;
                let req_ms = if w.start_time == 0 {
                    0
                } else {
                    w.stop_time.saturating_sub(w.start_time) / 1000
                };
                let last = w.last_used.max(w.start_time).max(w.stop_time);
                let pid = if w.pid != 0 { w.pid } else { p.pid };
                cells.push(CellRow {
                    slot,
                    thread,
                    pid,
                    generation: if p.pid != 0 {
                        p.generation
                    } else {
                        w.generation
                    },
                    status: s,
                    conn_count: w.conn_count,
                    my_access_count: w.my_access_count,
                    access_count: w.access_count,
                    cpu_secs: (w.cpu_user_micros + w.cpu_system_micros) as f64 / 1e6,
                    cpu_user: w.cpu_user_micros as f64 / 1e6,
                    cpu_system: w.cpu_system_micros as f64 / 1e6,
                    ss_secs: if last == 0 {
                        0
                    } else {
                        now.saturating_sub(last) / 1_000_000
                    },
                    req_ms,
                    dur_ms: w.duration_micros / 1000,
                    conn_bytes: w.conn_bytes,
                    my_bytes: w.my_bytes_served,
                    bytes: w.bytes_served,
                    client: w.info.client.clone(),
                    protocol: w.info.protocol.clone(),
                    vhost: w.info.vhost.clone(),
                    request: w.info.request.clone(),
                });
            }
            if p.pid != 0 {
                processes.push(ProcRow {
                    slot,
                    pid: p.pid,
                    stopping: p.quiescing != 0,
                    old_gen: p.generation != running,
                    connections: p.connections,
                    accepting: !p.not_accepting,
                    busy: p_busy,
                    graceful: p_graceful,
                    idle: p_idle,
                    wait_io: p.wait_io,
                    writing: p.write_completion,
                    keep_alive: p.keep_alive,
                    closing: p.lingering_close,
                });
            }
        }
        totals.kbytes = totals.bytes / 1024;
        totals.duration_ms /= 1000;
        totals.cpu_children_user = snap.global.children_user_micros as f64 / 1e6;
        totals.cpu_children_system = snap.global.children_system_micros as f64 / 1e6;
        let restart = snap.global.restart_time;
        let uptime_secs = if restart == 0 {
            0
        } else {
            now.saturating_sub(restart) / 1_000_000
        };
        Report {
            env,
            mpm: mpm.clone(),
            restart_micros: restart,
            config_generation: snap.global.config_generation,
            mpm_generation: running,
            uptime_secs,
            totals,
            busy,
            graceful,
            idle,
            processes,
            scoreboard,
            cells,
            state_counts,
        }
    }

    /// Processes that are going down.
    pub fn stopping(&self) -> usize {
        self.processes.iter().filter(|p| p.stopping).count()
    }

    /// Sum over processes of (connections, wait-io, writing, keep-alive, closing).
    pub fn conn_sums(&self) -> [u64; 5] {
        let mut s = [0u64; 5];
        for p in &self.processes {
            for (acc, v) in
                s.iter_mut()
                    .zip([p.connections, p.wait_io, p.writing, p.keep_alive, p.closing])
            {
                *acc += v;
            }
        }
        s
    }

    /// CPU load in percent, when there is CPU time and uptime.
    pub fn cpu_load(&self) -> Option<f64> {
        let cpu = self.totals.cpu_total();
        (cpu > 0.0 && self.uptime_secs > 0).then(|| cpu / self.uptime_secs as f64 * 100.0)
    }

    /// Requests per second and bytes per second (Apache: `1024 * kbytes / uptime`).
    pub fn per_second(&self) -> Option<(f64, f64)> {
        (self.uptime_secs > 0).then(|| {
            let up = self.uptime_secs as f64;
            (
                self.totals.accesses as f64 / up,
                1024.0 * self.totals.kbytes as f64 / up,
            )
        })
    }

    /// Bytes per request and milliseconds per request.
    pub fn per_request(&self) -> Option<(f64, f64)> {
        (self.totals.accesses > 0).then(|| {
            let n = self.totals.accesses as f64;
            (
                1024.0 * self.totals.kbytes as f64 / n,
                self.totals.duration_ms as f64 / n,
            )
        })
    }
}

/// The 1/5/15-minute load averages from `/proc/loadavg` (-1 each when unreadable).
pub fn load_average() -> [f64; 3] {
    let mut out = [-1.0; 3];
    if let Ok(text) = std::fs::read_to_string("/proc/loadavg") {
        for (o, v) in out.iter_mut().zip(text.split_whitespace()) {
            if let Ok(f) = v.parse() {
                *o = f;
            }
        }
    }
    out
}

/// C's `printf("%.{prec}g", v)`.
pub fn fmt_g(v: f64, prec: usize) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let p = prec.max(1);
    let sci = format!("{:.*e}", p - 1, v);
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= p as i32 {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", strip_zeros(mant), exp.unsigned_abs())
    } else {
        let decimals = (p as i32 - 1 - exp).max(0) as usize;
        strip_zeros(&format!("{v:.decimals$}")).to_string()
    }
}

fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

const KBYTE: f64 = 1024.0;
const MBYTE: f64 = 1_048_576.0;
const GBYTE: f64 = 1_073_741_824.0;

/// Apache's `format_byte_out`.
pub fn format_bytes(bytes: u64) -> String {
    let b = bytes as f64;
    if b < 5.0 * KBYTE {
        format!("{bytes} B")
    } else if b < MBYTE / 2.0 {
        format!("{:.1} kB", b / KBYTE)
    } else if b < GBYTE / 2.0 {
        format!("{:.1} MB", b / MBYTE)
    } else {
        format!("{:.1} GB", b / GBYTE)
    }
}

/// Apache's `format_kbyte_out`.
pub fn format_kbytes(kbytes: u64) -> String {
    let k = kbytes as f64;
    if k < KBYTE {
        format!("{kbytes} kB")
    } else if k < MBYTE {
        format!("{:.1} MB", k / KBYTE)
    } else {
        format!("{:.1} GB", k / MBYTE)
    }
}

/// Apache's `show_time`: " 1 day 2 hours 3 minutes 4 seconds" (each part with a leading
/// space, zero parts left out; empty for 0).
pub fn show_time(secs: u64) -> String {
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (hours, rest) = (rest / 3600, rest % 3600);
    let (mins, secs) = (rest / 60, rest % 60);
    let mut out = String::new();
    for (n, unit) in [
        (days, "day"),
        (hours, "hour"),
        (mins, "minute"),
        (secs, "second"),
    ] {
        if n > 0 {
            out.push_str(&format!(" {n} {unit}{}", if n == 1 { "" } else { "s" }));
        }
    }
    out
}

/// Apache's `DEFAULT_TIME_FORMAT` in local time: "Tuesday, 04-Mar-2025 10:11:12 UTC".
pub fn format_time(micros: u64) -> String {
    let t: DateTime<Local> = (UNIX_EPOCH + Duration::from_micros(micros)).into();
    let zone = if t.offset().fix().local_minus_utc() == 0 {
        "UTC".to_string()
    } else {
        t.format("%:z").to_string()
    };
    format!("{} {zone}", t.format("%A, %d-%b-%Y %H:%M:%S"))
}
