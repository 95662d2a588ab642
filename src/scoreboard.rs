//! The shared-memory scoreboard (Apache `include/scoreboard.h`): what every process and
//! worker thread is doing, readable by the parent's idle-server maintenance and by
//! mod_status in any child.
//!
//! # Layout
//!
//! One anonymous `MAP_SHARED` region of `AtomicU64` words ([`rhttpd_sys::SharedWords`]),
//! created by the parent before the first fork and inherited by every child:
//!
//! ```text
//! [ global: 16 words ][ process × server_limit: 16 words each ]
//! [ worker × server_limit × thread_limit: 48 words (384 bytes, 6 cache lines) each ]
//! ```
//!
//! Every field is one word; strings are fixed-size byte arrays packed 8 bytes per word
//! (client 64 bytes, vhost 32, request 64, protocol 16) with their lengths in one word.
//! There are no pointers, so the memory means the same thing in every process. Worker
//! records are cache-line aligned so that two threads bumping their counters never share a
//! line. Word offsets are the `G_*`, `P_*` and `W_*` constants below.
//!
//! # Concurrency
//!
//! Each worker record has a single writer, the thread that owns the cell, with one
//! exception: the event listener adds the requests it serves inline to the counters of
//! its process's cell 0 (`record_request`), which are bumped with `fetch_add`, so the
//! two writers lose no count; status and text stay the owner's alone. Numeric fields
//! are independent atomics (release stores, acquire loads). The four text fields span
//! several words, so they are guarded by a per-record **seqlock**: the writer makes the
//! version word odd, stores the words, then makes it even again; a reader copies the words
//! and retries if the version was odd or changed meanwhile. Readers never block writers.
//! A writer that dies mid-update (a crashed child) leaves the version odd: readers give up
//! after a bounded number of attempts and report empty text (never torn text), and the
//! next writer of the cell simply continues from the odd value. Process records are written by the parent
//! (pid, generation) and by the child (quiescing, connection counts); global fields by
//! the parent only.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering, fence};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rhttpd_sys::SharedWords;

use Ordering::{Acquire, Relaxed, Release};

/// Words in the global record.
pub const GLOBAL_WORDS: usize = 16;
/// Words in each process record.
pub const PROCESS_WORDS: usize = 16;
/// Words in each worker record.
pub const WORKER_WORDS: usize = 48;

/// Bytes of the client address text (Apache `client64`).
pub const CLIENT_LEN: usize = 64;
/// Bytes of the virtual host text ("name:port").
pub const VHOST_LEN: usize = 32;
/// Bytes of the request line text.
pub const REQUEST_LEN: usize = 64;
/// Bytes of the protocol text.
pub const PROTOCOL_LEN: usize = 16;

const LAYOUT_MAGIC: u64 = 0x7268_7474_7064_0001; // "rhttpd" + layout version 1

// Global record.
const G_MAGIC: usize = 0;
const G_SERVER_LIMIT: usize = 1;
const G_THREAD_LIMIT: usize = 2;
const G_RUNNING_GENERATION: usize = 3;
const G_RESTART_TIME: usize = 4;
const G_CONFIG_GENERATION: usize = 5;
const G_PARENT_PID: usize = 6;
const G_PARENT_CPU: usize = 7; // user, system, children user, children system (µs)

// Process record.
const P_PID: usize = 0;
const P_GENERATION: usize = 1;
const P_QUIESCING: usize = 2;
const P_NOT_ACCEPTING: usize = 3;
const P_CONNECTIONS: usize = 4;
const P_WRITE_COMPLETION: usize = 5;
const P_KEEP_ALIVE: usize = 6;
const P_LINGERING_CLOSE: usize = 7;
const P_SUSPENDED: usize = 8;
const P_WAIT_IO: usize = 9;
const P_START_TIME: usize = 10;
const P_USED: usize = 11;

// Worker record.
const W_SEQ: usize = 0;
const W_STATUS: usize = 1;
const W_PID: usize = 2;
const W_TID: usize = 3;
const W_GENERATION: usize = 4;
const W_THREAD_NUM: usize = 5;
const W_ACCESS_COUNT: usize = 6;
const W_BYTES_SERVED: usize = 7;
const W_MY_ACCESS_COUNT: usize = 8;
const W_MY_BYTES_SERVED: usize = 9;
const W_CONN_COUNT: usize = 10;
const W_CONN_BYTES: usize = 11;
const W_START_TIME: usize = 12;
const W_STOP_TIME: usize = 13;
const W_LAST_USED: usize = 14;
const W_DURATION: usize = 15;
const W_CPU_USER: usize = 16;
const W_CPU_SYSTEM: usize = 17;
const W_TEXT_LENS: usize = 18;
/// (first word, byte capacity) of client, vhost, request, protocol.
const TEXT_FIELDS: [(usize, usize); 4] = [
    (19, CLIENT_LEN),
    (19 + CLIENT_LEN / 8, VHOST_LEN),
    (19 + (CLIENT_LEN + VHOST_LEN) / 8, REQUEST_LEN),
    (
        19 + (CLIENT_LEN + VHOST_LEN + REQUEST_LEN) / 8,
        PROTOCOL_LEN,
    ),
];
const W_USED: usize = 19 + (CLIENT_LEN + VHOST_LEN + REQUEST_LEN + PROTOCOL_LEN) / 8;
const _: () = assert!(W_USED <= WORKER_WORDS && P_USED <= PROCESS_WORDS);
const _: () = assert!(G_PARENT_CPU + 4 <= GLOBAL_WORDS && WORKER_WORDS.is_multiple_of(8));

/// Seqlock read attempts before a reader gives up and reports empty text.
const SEQLOCK_MAX_ATTEMPTS: usize = 4096;

/// What a worker cell is doing (Apache `SERVER_*`; the numeric values are Apache's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[repr(u8)]
pub enum WorkerStatus {
    /// `.` open slot, no thread or process.
    #[default]
    Dead = 0,
    /// `S` process or thread being created.
    Starting = 1,
    /// `_` idle, waiting for a connection.
    Ready = 2,
    /// `R` reading a request (line, headers, TLS handshake).
    BusyRead = 3,
    /// `W` running the handler or sending the reply.
    BusyWrite = 4,
    /// `K` waiting for the next request on a persistent connection.
    BusyKeepalive = 5,
    /// `L` logging.
    BusyLog = 6,
    /// `D` DNS lookup.
    BusyDns = 7,
    /// `C` closing the connection (lingering close).
    Closing = 8,
    /// `G` finishing work in a process that must exit.
    Graceful = 9,
    /// `I` idle worker being cleaned up.
    IdleKill = 10,
}

impl WorkerStatus {
    /// All states in numeric order.
    pub const ALL: [WorkerStatus; 11] = [
        WorkerStatus::Dead,
        WorkerStatus::Starting,
        WorkerStatus::Ready,
        WorkerStatus::BusyRead,
        WorkerStatus::BusyWrite,
        WorkerStatus::BusyKeepalive,
        WorkerStatus::BusyLog,
        WorkerStatus::BusyDns,
        WorkerStatus::Closing,
        WorkerStatus::Graceful,
        WorkerStatus::IdleKill,
    ];

    /// The mod_status letter: `. S _ R W K L D C G I`.
    pub fn letter(self) -> char {
        b".S_RWKLDCGI"[self as usize] as char
    }

    /// Apache's numeric value.
    pub fn value(self) -> u8 {
        self as u8
    }

    /// The state with numeric value `v` (unknown values read as `Dead`).
    pub fn from_value(v: u64) -> WorkerStatus {
        usize::try_from(v)
            .ok()
            .and_then(|i| Self::ALL.get(i).copied())
            .unwrap_or(WorkerStatus::Dead)
    }

    /// Counted as busy by mod_status: neither dead, starting, ready nor idle-kill.
    pub fn is_busy(self) -> bool {
        !matches!(
            self,
            WorkerStatus::Dead
                | WorkerStatus::Starting
                | WorkerStatus::Ready
                | WorkerStatus::IdleKill
        )
    }
}

impl fmt::Display for WorkerStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.letter())
    }
}

/// Current time in microseconds since the Unix epoch (the unit of every time field).
pub fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

fn secs_to_micros(s: f64) -> u64 {
    (s * 1e6).max(0.0) as u64
}

/// The shared scoreboard. Cheap to clone (an `Arc`); create it in the parent before
/// forking, and every child sees the same memory.
#[derive(Clone)]
pub struct Scoreboard {
    inner: Arc<Inner>,
}

struct Inner {
    shm: SharedWords,
    server_limit: usize,
    thread_limit: usize,
}

impl fmt::Debug for Scoreboard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scoreboard")
            .field("server_limit", &self.inner.server_limit)
            .field("thread_limit", &self.inner.thread_limit)
            .finish()
    }
}

impl Scoreboard {
    /// Maps a zeroed scoreboard for `server_limit` processes of `thread_limit` threads.
    pub fn create(server_limit: usize, thread_limit: usize) -> io::Result<Scoreboard> {
        let invalid = || {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid scoreboard size {server_limit} x {thread_limit}"),
            )
        };
        if server_limit == 0 || thread_limit == 0 {
            return Err(invalid());
        }
        let words = server_limit
            .checked_mul(thread_limit)
            .and_then(|cells| cells.checked_mul(WORKER_WORDS))
            .and_then(|w| w.checked_add(server_limit.checked_mul(PROCESS_WORDS)?))
            .and_then(|w| w.checked_add(GLOBAL_WORDS))
            .ok_or_else(invalid)?;
        let shm = SharedWords::new(words)?;
        let board = Scoreboard {
            inner: Arc::new(Inner {
                shm,
                server_limit,
                thread_limit,
            }),
        };
        board.write_header();
        Ok(board)
    }

    fn write_header(&self) {
        let g = self.global_words();
        g[G_SERVER_LIMIT].store(self.inner.server_limit as u64, Release);
        g[G_THREAD_LIMIT].store(self.inner.thread_limit as u64, Release);
        g[G_MAGIC].store(LAYOUT_MAGIC, Release);
    }

    /// `ServerLimit` the board was sized for.
    pub fn server_limit(&self) -> usize {
        self.inner.server_limit
    }

    /// `ThreadLimit` the board was sized for.
    pub fn thread_limit(&self) -> usize {
        self.inner.thread_limit
    }

    fn global_words(&self) -> &[AtomicU64] {
        &self.inner.shm[..GLOBAL_WORDS]
    }

    /// The global record.
    pub fn global(&self) -> GlobalRecord<'_> {
        GlobalRecord {
            w: self.global_words(),
        }
    }

    /// The record of process slot `slot`. Panics if `slot >= server_limit`.
    pub fn process(&self, slot: usize) -> ProcessRecord<'_> {
        assert!(
            slot < self.inner.server_limit,
            "process slot {slot} out of range"
        );
        let start = GLOBAL_WORDS + slot * PROCESS_WORDS;
        ProcessRecord {
            w: &self.inner.shm[start..start + PROCESS_WORDS],
        }
    }

    /// The record of thread `thread` of process slot `slot`. Panics if out of range.
    pub fn worker(&self, slot: usize, thread: usize) -> WorkerRecord<'_> {
        let (sl, tl) = (self.inner.server_limit, self.inner.thread_limit);
        assert!(
            slot < sl && thread < tl,
            "worker cell {slot}/{thread} out of range"
        );
        let index = slot * tl + thread;
        let start = GLOBAL_WORDS + sl * PROCESS_WORDS + index * WORKER_WORDS;
        WorkerRecord {
            w: &self.inner.shm[start..start + WORKER_WORDS],
            thread_num: index as u64,
        }
    }

    /// An owned copy of everything, for mod_status and idle-server maintenance.
    pub fn snapshot(&self) -> ScoreboardSnapshot {
        let (sl, tl) = (self.inner.server_limit, self.inner.thread_limit);
        let mut workers = Vec::with_capacity(sl * tl);
        for slot in 0..sl {
            for thread in 0..tl {
                workers.push(self.worker(slot, thread).snapshot());
            }
        }
        ScoreboardSnapshot {
            global: self.global().snapshot(),
            processes: (0..sl).map(|s| self.process(s).snapshot()).collect(),
            workers,
            thread_limit: tl,
        }
    }

    /// Zeroes every record (hard restart, when no child is left), keeping the limits.
    pub fn clear(&self) {
        for w in self.inner.shm.iter() {
            w.store(0, Relaxed);
        }
        fence(Release);
        self.write_header();
    }
}

/// The global record (parent-written).
#[derive(Debug, Clone, Copy)]
pub struct GlobalRecord<'a> {
    w: &'a [AtomicU64],
}

/// For a record type: a getter and a setter per `u64` field, plus an owned snapshot
/// struct holding those fields and the listed extra ones (read through their getters).
macro_rules! record_fields {
    (
        $rec:ident => $(#[$sdoc:meta])* $snap:ident;
        pid { $(#[$pdoc:meta])* $pget:ident, $pset:ident = $pidx:expr; }
        extra { $($(#[$xdoc:meta])* $xfield:ident: $xty:ty = $xget:ident;)* }
        $($(#[$doc:meta])* $get:ident, $set:ident = $idx:expr;)*
    ) => {
        impl $rec<'_> {
            $(#[$pdoc])*
            pub fn $pget(&self) -> i32 {
                self.w[$pidx].load(Acquire) as u32 as i32
            }
            #[doc = concat!("Sets [`Self::", stringify!($pget), "`].")]
            pub fn $pset(&self, pid: i32) {
                self.w[$pidx].store(u64::from(pid.max(0) as u32), Release)
            }
            $(
                $(#[$doc])*
                pub fn $get(&self) -> u64 {
                    self.w[$idx].load(Acquire)
                }
                #[doc = concat!("Sets [`Self::", stringify!($get), "`].")]
                pub fn $set(&self, v: u64) {
                    self.w[$idx].store(v, Release)
                }
            )*
            /// An owned copy of the record.
            pub fn snapshot(&self) -> $snap {
                $snap { $pget: self.$pget(), $($xfield: self.$xget(),)* $($get: self.$get(),)* }
            }
        }
        $(#[$sdoc])*
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct $snap {
            $(#[$pdoc])* pub $pget: i32,
            $($(#[$xdoc])* pub $xfield: $xty,)*
            $($(#[$doc])* pub $get: u64,)*
        }
    };
}

record_fields! {
    GlobalRecord => /// Owned copy of the global record.
    GlobalSnapshot;
    pid {
        /// Pid of the parent process.
        parent_pid, set_parent_pid = G_PARENT_PID;
    }
    extra {
        /// `ServerLimit` as stored in shared memory.
        server_limit: u64 = server_limit;
        /// `ThreadLimit` as stored in shared memory.
        thread_limit: u64 = thread_limit;
    }
    /// Generation of the current configuration (bumped by each restart).
    running_generation, set_running_generation = G_RUNNING_GENERATION;
    /// Time of the last (re)start, µs since the epoch.
    restart_time, set_restart_time = G_RESTART_TIME;
    /// Counter of configuration loads.
    config_generation, set_config_generation = G_CONFIG_GENERATION;
    /// Parent CPU user time, µs.
    parent_user_micros, set_parent_user_micros = G_PARENT_CPU;
    /// Parent CPU system time, µs.
    parent_system_micros, set_parent_system_micros = G_PARENT_CPU + 1;
    /// CPU user time of the parent's reaped children, µs.
    children_user_micros, set_children_user_micros = G_PARENT_CPU + 2;
    /// CPU system time of the parent's reaped children, µs.
    children_system_micros, set_children_system_micros = G_PARENT_CPU + 3;
}

impl GlobalRecord<'_> {
    /// `ServerLimit` as stored in shared memory.
    pub fn server_limit(&self) -> u64 {
        self.w[G_SERVER_LIMIT].load(Acquire)
    }

    /// `ThreadLimit` as stored in shared memory.
    pub fn thread_limit(&self) -> u64 {
        self.w[G_THREAD_LIMIT].load(Acquire)
    }

    /// Stores the parent's CPU times (mod_status "CPU Usage"), e.g. from
    /// `rhttpd_sys::process::cpu_times()`.
    pub fn set_parent_cpu(&self, t: &rhttpd_sys::CpuTimes) {
        self.set_parent_user_micros(secs_to_micros(t.user_secs));
        self.set_parent_system_micros(secs_to_micros(t.system_secs));
        self.set_children_user_micros(secs_to_micros(t.children_user));
        self.set_children_system_micros(secs_to_micros(t.children_system));
    }
}

/// One process slot.
#[derive(Debug, Clone, Copy)]
pub struct ProcessRecord<'a> {
    w: &'a [AtomicU64],
}

record_fields! {
    ProcessRecord => /// Owned copy of a process record.
    ProcessSnapshot;
    pid {
        /// Pid of the process in the slot (0 if none).
        pid, set_pid = P_PID;
    }
    extra {
        /// Whether the process stopped accepting connections.
        not_accepting: bool = not_accepting;
    }
    /// Generation the process was started in.
    generation, set_generation = P_GENERATION;
    /// Going down gracefully (event: 1 = just set, 2 = accounted).
    quiescing, set_quiescing = P_QUIESCING;
    /// Open connections.
    connections, set_connections = P_CONNECTIONS;
    /// Connections in write completion (event).
    write_completion, set_write_completion = P_WRITE_COMPLETION;
    /// Connections parked in keep-alive (event).
    keep_alive, set_keep_alive = P_KEEP_ALIVE;
    /// Connections in lingering close (event).
    lingering_close, set_lingering_close = P_LINGERING_CLOSE;
    /// Suspended connections (event).
    suspended, set_suspended = P_SUSPENDED;
    /// Connections waiting for I/O (event).
    wait_io, set_wait_io = P_WAIT_IO;
    /// When the process took the slot, µs since the epoch.
    start_time, set_start_time = P_START_TIME;
}

impl ProcessRecord<'_> {
    /// Whether the process stopped accepting connections (event overload, shutdown).
    pub fn not_accepting(&self) -> bool {
        self.w[P_NOT_ACCEPTING].load(Acquire) != 0
    }

    /// Sets [`Self::not_accepting`].
    pub fn set_not_accepting(&self, v: bool) {
        self.w[P_NOT_ACCEPTING].store(u64::from(v), Release)
    }

    /// True when no process owns the slot (pid 0).
    pub fn slot_is_free(&self) -> bool {
        self.pid() == 0
    }

    /// Claims the slot for a new child: clears every field, then publishes the generation,
    /// the start time and, last, the pid.
    pub fn reset_for_new_child(&self, pid: i32, generation: u64) {
        for w in &self.w[1..] {
            w.store(0, Relaxed);
        }
        self.set_generation(generation);
        self.set_start_time(now_micros());
        self.set_pid(pid);
    }

    /// Frees the slot (the child was reaped): pid 0 and all counters cleared.
    pub fn mark_free(&self) {
        self.set_pid(0);
        for w in &self.w[1..] {
            w.store(0, Release);
        }
    }
}

/// The text fields of a worker cell (what mod_status shows with `ExtendedStatus On`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestInfo {
    /// Client address (up to 64 bytes).
    pub client: String,
    /// Virtual host, "name:port" (up to 32 bytes).
    pub vhost: String,
    /// Request line (up to 64 bytes).
    pub request: String,
    /// Protocol, e.g. "http/1.1" (up to 16 bytes).
    pub protocol: String,
}

/// The part of a request line to give [`WorkerRecord::set_request_info`] (Apache's
/// copy_request): all of it (the cell keeps its start), or with `SeeRequestTail On` its
/// last 63 bytes when it is longer (cut at a character boundary).
pub fn request_line_shown(line: &str, see_tail: bool) -> &str {
    const SHOWN: usize = REQUEST_LEN - 1;
    if !see_tail || line.len() <= SHOWN {
        return line;
    }
    let mut start = line.len() - SHOWN;
    while !line.is_char_boundary(start) {
        start += 1;
    }
    &line[start..]
}

/// The longest prefix of `s` that fits in `max` bytes without splitting a character.
pub fn truncate_utf8(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// One worker cell. Its numeric and text fields are written only by the owning thread.
#[derive(Debug, Clone, Copy)]
pub struct WorkerRecord<'a> {
    w: &'a [AtomicU64],
    thread_num: u64,
}

record_fields! {
    WorkerRecord => /// Owned copy of a worker record. Times are µs since the epoch.
    WorkerSnapshot;
    pid {
        /// Pid of the owning process.
        pid, set_pid = W_PID;
    }
    extra {
        /// Current state.
        status: WorkerStatus = status;
        /// Kernel thread id of the owning thread.
        tid: i64 = tid;
        /// `slot × ThreadLimit + thread`.
        thread_num: u64 = thread_num;
        /// Client, vhost, request line and protocol.
        info: RequestInfo = request_info;
    }
    /// Generation of the owning process.
    generation, set_generation = W_GENERATION;
    /// Requests served by this cell over its whole life.
    access_count, set_access_count = W_ACCESS_COUNT;
    /// Bytes served by this cell over its whole life.
    bytes_served, set_bytes_served = W_BYTES_SERVED;
    /// Requests served by the current thread/process in this cell.
    my_access_count, set_my_access_count = W_MY_ACCESS_COUNT;
    /// Bytes served by the current thread/process in this cell.
    my_bytes_served, set_my_bytes_served = W_MY_BYTES_SERVED;
    /// Requests on the current connection.
    conn_count, set_conn_count = W_CONN_COUNT;
    /// Bytes on the current connection.
    conn_bytes, set_conn_bytes = W_CONN_BYTES;
    /// Start of the current/last request, µs since the epoch.
    start_time, set_start_time = W_START_TIME;
    /// End of the last request, µs since the epoch.
    stop_time, set_stop_time = W_STOP_TIME;
    /// Last change to or from idle, µs since the epoch.
    last_used, set_last_used = W_LAST_USED;
    /// Sum of request durations, µs.
    duration_micros, set_duration_micros = W_DURATION;
    /// CPU user time of the owning thread, µs.
    cpu_user_micros, set_cpu_user_micros = W_CPU_USER;
    /// CPU system time of the owning thread, µs.
    cpu_system_micros, set_cpu_system_micros = W_CPU_SYSTEM;

}

impl WorkerRecord<'_> {
    /// Current state.
    pub fn status(&self) -> WorkerStatus {
        WorkerStatus::from_value(self.w[W_STATUS].load(Acquire))
    }

    /// Sets the state, with Apache's bookkeeping
    /// (`ap_update_child_status_from_indexes`): entering `Ready` or `Dead` resets the
    /// per-connection counters and stamps `last_used`; entering `Dead` also resets the
    /// `my_*` counters and CPU times. The text fields are left as they are (mod_status
    /// shows an idle worker's last request).
    pub fn set_status(&self, status: WorkerStatus) {
        if matches!(status, WorkerStatus::Ready | WorkerStatus::Dead) {
            if status == WorkerStatus::Dead {
                for i in [
                    W_MY_ACCESS_COUNT,
                    W_MY_BYTES_SERVED,
                    W_CPU_USER,
                    W_CPU_SYSTEM,
                ] {
                    self.w[i].store(0, Relaxed);
                }
            }
            self.w[W_CONN_COUNT].store(0, Relaxed);
            self.w[W_CONN_BYTES].store(0, Relaxed);
            self.w[W_LAST_USED].store(now_micros(), Relaxed);
        }
        self.w[W_STATUS].store(u64::from(status.value()), Release);
    }

    /// Kernel thread id of the owning thread.
    pub fn tid(&self) -> i64 {
        self.w[W_TID].load(Acquire) as i64
    }

    /// Apache's `thread_num`: `slot × ThreadLimit + thread`, stamped by [`Self::claim`].
    pub fn thread_num(&self) -> u64 {
        self.w[W_THREAD_NUM].load(Acquire)
    }

    /// Claims the cell for a new thread (or, in prefork, a new process): records its ids
    /// and generation. The status is set separately (`Starting`, then `Ready`).
    pub fn claim(&self, pid: i32, tid: i64, generation: u64) {
        self.w[W_TID].store(tid as u64, Relaxed);
        self.w[W_THREAD_NUM].store(self.thread_num, Relaxed);
        self.set_generation(generation);
        self.set_pid(pid);
    }

    /// Stamps the start of a request (Apache `START_PREQUEST`).
    pub fn mark_request_start(&self) {
        self.set_start_time(now_micros());
    }

    /// Counts one finished request of `bytes` body bytes that took `duration`
    /// (Apache `ap_increment_counts` + `STOP_PREQUEST`).
    pub fn record_request(&self, bytes: u64, duration: Duration) {
        for i in [W_ACCESS_COUNT, W_MY_ACCESS_COUNT, W_CONN_COUNT] {
            self.w[i].fetch_add(1, Relaxed);
        }
        for i in [W_BYTES_SERVED, W_MY_BYTES_SERVED, W_CONN_BYTES] {
            self.w[i].fetch_add(bytes, Relaxed);
        }
        let micros = u64::try_from(duration.as_micros()).unwrap_or(u64::MAX);
        self.w[W_DURATION].fetch_add(micros, Relaxed);
        self.w[W_STOP_TIME].store(now_micros(), Release);
    }

    /// Records the owning thread's CPU time (`RUSAGE_THREAD`), for mod_status.
    pub fn record_thread_cpu(&self) {
        let (user, system) = rhttpd_sys::process::thread_cpu_micros();
        self.set_cpu_user_micros(user);
        self.set_cpu_system_micros(system);
    }

    /// Publishes the request description under the seqlock. Each string is cut to its
    /// field size (64/32/64/16 bytes) at a character boundary.
    pub fn set_request_info(&self, client: &str, vhost: &str, request_line: &str, protocol: &str) {
        let texts = [client, vhost, request_line, protocol];
        let seq = &self.w[W_SEQ];
        let s = seq.load(Relaxed);
        // Odd = write in progress. An odd value left by a writer that died is skipped.
        let begin = if s.is_multiple_of(2) { s + 1 } else { s + 2 };
        seq.store(begin, Relaxed);
        fence(Release);
        let mut lens = 0u64;
        for (k, (text, &(first, cap))) in texts.iter().zip(&TEXT_FIELDS).enumerate() {
            let bytes = truncate_utf8(text, cap).as_bytes();
            lens |= (bytes.len() as u64) << (8 * k);
            for (i, w) in self.w[first..first + cap / 8].iter().enumerate() {
                let mut word = [0u8; 8];
                let chunk = bytes.get(i * 8..).unwrap_or_default();
                let n = chunk.len().min(8);
                word[..n].copy_from_slice(&chunk[..n]);
                w.store(u64::from_le_bytes(word), Relaxed);
            }
        }
        self.w[W_TEXT_LENS].store(lens, Relaxed);
        seq.store(begin + 1, Release);
    }

    /// Clears the request description.
    pub fn clear_request_info(&self) {
        self.set_request_info("", "", "", "");
    }

    /// Reads the request description, never torn. If no consistent copy can be had after
    /// a few thousand attempts (the cell's writer died mid-update, or is rewriting it
    /// nonstop), the fields read as empty.
    pub fn request_info(&self) -> RequestInfo {
        let seq = &self.w[W_SEQ];
        let mut words = [0u64; W_USED - W_TEXT_LENS];
        for attempt in 0..SEQLOCK_MAX_ATTEMPTS {
            let s1 = seq.load(Acquire);
            for (dst, src) in words.iter_mut().zip(&self.w[W_TEXT_LENS..W_USED]) {
                *dst = src.load(Relaxed);
            }
            fence(Acquire);
            if s1.is_multiple_of(2) && seq.load(Relaxed) == s1 {
                return decode_text(&words);
            }
            if attempt % 16 == 15 {
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
        RequestInfo::default()
    }
}

/// Unpacks the lengths word and the four text fields copied by `request_info`.
fn decode_text(words: &[u64; W_USED - W_TEXT_LENS]) -> RequestInfo {
    let lens = words[0];
    let mut texts = TEXT_FIELDS.iter().enumerate().map(|(k, &(first, cap))| {
        let len = ((lens >> (8 * k)) & 0xff) as usize;
        let start = first - W_TEXT_LENS;
        let bytes: Vec<u8> = words[start..start + cap / 8]
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .take(len.min(cap))
            .collect();
        // Written from a `&str` cut at a character boundary, so valid unless a writer
        // bug intervened; stay total anyway.
        String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into())
    });
    let mut next = || texts.next().unwrap_or_default();
    RequestInfo {
        client: next(),
        vhost: next(),
        request: next(),
        protocol: next(),
    }
}

/// Owned copy of the whole scoreboard.
#[derive(Debug, Clone, Default)]
pub struct ScoreboardSnapshot {
    /// The global record.
    pub global: GlobalSnapshot,
    /// `server_limit` process records.
    pub processes: Vec<ProcessSnapshot>,
    /// `server_limit × thread_limit` worker records, slot-major.
    pub workers: Vec<WorkerSnapshot>,
    thread_limit: usize,
}

impl ScoreboardSnapshot {
    /// `ThreadLimit` of the board.
    pub fn thread_limit(&self) -> usize {
        self.thread_limit
    }

    /// The cell of `thread` in process slot `slot`. Panics if out of range.
    pub fn worker(&self, slot: usize, thread: usize) -> &WorkerSnapshot {
        assert!(thread < self.thread_limit);
        &self.workers[slot * self.thread_limit + thread]
    }

    /// All cells of process slot `slot`.
    pub fn workers_of(&self, slot: usize) -> &[WorkerSnapshot] {
        &self.workers[slot * self.thread_limit..(slot + 1) * self.thread_limit]
    }

    /// Slots that hold a process, with their records.
    pub fn live_processes(&self) -> impl Iterator<Item = (usize, &ProcessSnapshot)> {
        self.processes
            .iter()
            .enumerate()
            .filter(|(_, p)| p.pid != 0)
    }

    /// Number of cells in each state, indexed by [`WorkerStatus::value`].
    pub fn status_counts(&self) -> [usize; 11] {
        let mut counts = [0; 11];
        for w in &self.workers {
            counts[w.status as usize] += 1;
        }
        counts
    }

    /// Cells in `Ready` (mod_status "idle workers").
    pub fn idle_workers(&self) -> usize {
        self.status_counts()[WorkerStatus::Ready as usize]
    }

    /// Cells doing work (mod_status "requests currently being processed").
    pub fn busy_workers(&self) -> usize {
        self.workers.iter().filter(|w| w.status.is_busy()).count()
    }

    /// Idle cells of slot `slot` as idle-server maintenance counts them: `Starting` and
    /// `Ready` cells, plus `Dead` cells when a process holds the slot (a thread that is
    /// not started yet). Quiescing and generation are left to the caller.
    pub fn process_idle(&self, slot: usize) -> usize {
        let live = self.processes[slot].pid != 0;
        self.workers_of(slot)
            .iter()
            .filter(|w| w.status <= WorkerStatus::Ready && (live || w.status != WorkerStatus::Dead))
            .count()
    }

    /// Busy cells of slot `slot`.
    pub fn process_busy(&self, slot: usize) -> usize {
        self.workers_of(slot)
            .iter()
            .filter(|w| w.status.is_busy())
            .count()
    }

    /// Sum of `access_count` over all cells (mod_status "Total accesses").
    pub fn total_accesses(&self) -> u64 {
        self.workers.iter().map(|w| w.access_count).sum()
    }

    /// Sum of `bytes_served` over all cells (mod_status "Total Traffic").
    pub fn total_bytes(&self) -> u64 {
        self.workers.iter().map(|w| w.bytes_served).sum()
    }

    /// Sum of `duration_micros` over all cells (mod_status "Total Duration").
    pub fn total_duration_micros(&self) -> u64 {
        self.workers.iter().map(|w| w.duration_micros).sum()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::atomic::AtomicBool;

    use super::*;

    /// A distinct value for field `f` of record `r` (never zero).
    fn pat(r: usize, f: usize) -> u64 {
        ((r as u64 + 1) << 16) | (f as u64 + 1)
    }

    #[test]
    fn status_letters_and_values_match_apache() {
        let letters: String = WorkerStatus::ALL.iter().map(|s| s.letter()).collect();
        assert_eq!(letters, ".S_RWKLDCGI");
        for (i, s) in WorkerStatus::ALL.iter().enumerate() {
            assert_eq!(s.value() as usize, i);
            assert_eq!(WorkerStatus::from_value(i as u64), *s);
        }
        assert_eq!(WorkerStatus::from_value(99), WorkerStatus::Dead);
        assert_eq!(WorkerStatus::BusyKeepalive.to_string(), "K");
        assert!(WorkerStatus::Closing.is_busy() && WorkerStatus::Graceful.is_busy());
        assert!(!WorkerStatus::Ready.is_busy() && !WorkerStatus::Starting.is_busy());
    }

    #[test]
    fn rejects_bad_sizes() {
        fn shareable<T: Send + Sync + Clone>() {}
        shareable::<Scoreboard>();
        assert!(Scoreboard::create(0, 1).is_err());
        assert!(Scoreboard::create(1, 0).is_err());
        assert!(Scoreboard::create(usize::MAX / 2, 3).is_err());
    }

    #[test]
    fn records_do_not_overlap() {
        let (sl, tl) = (3, 4);
        let sb = Scoreboard::create(sl, tl).unwrap();
        assert_eq!((sb.server_limit(), sb.thread_limit()), (sl, tl));
        let mut fields = 0;
        let g = sb.global();
        g.set_running_generation(pat(0, 0));
        g.set_restart_time(pat(0, 1));
        g.set_config_generation(pat(0, 2));
        g.set_parent_pid(4242);
        g.set_parent_cpu(&rhttpd_sys::CpuTimes {
            user_secs: 1.5,
            system_secs: 2.5,
            children_user: 3.5,
            children_system: 4.5,
        });
        fields += 3 + 1 + 4 + 3; // + magic, server_limit, thread_limit
        for slot in 0..sl {
            let p = sb.process(slot);
            let r = slot + 1;
            p.set_pid(1000 + slot as i32);
            let setters: [&dyn Fn(u64); 9] = [
                &|v| p.set_generation(v),
                &|v| p.set_quiescing(v),
                &|v| p.set_connections(v),
                &|v| p.set_write_completion(v),
                &|v| p.set_keep_alive(v),
                &|v| p.set_lingering_close(v),
                &|v| p.set_suspended(v),
                &|v| p.set_wait_io(v),
                &|v| p.set_start_time(v),
            ];
            for (f, set) in setters.iter().enumerate() {
                set(pat(r, f));
            }
            p.set_not_accepting(true);
            fields += 11;
            for thread in 0..tl {
                let w = sb.worker(slot, thread);
                let r = 100 + slot * tl + thread;
                w.claim(2000 + r as i32, 3000 + r as i64, pat(r, 0));
                w.set_status(WorkerStatus::ALL[1 + r % 10]);
                let setters: [&dyn Fn(u64); 12] = [
                    &|v| w.set_access_count(v),
                    &|v| w.set_bytes_served(v),
                    &|v| w.set_my_access_count(v),
                    &|v| w.set_my_bytes_served(v),
                    &|v| w.set_conn_count(v),
                    &|v| w.set_conn_bytes(v),
                    &|v| w.set_start_time(v),
                    &|v| w.set_stop_time(v),
                    &|v| w.set_last_used(v),
                    &|v| w.set_duration_micros(v),
                    &|v| w.set_cpu_user_micros(v),
                    &|v| w.set_cpu_system_micros(v),
                ];
                for (f, set) in setters.iter().enumerate() {
                    set(pat(r, f + 1));
                }
                let tag = format!("{r:03}");
                w.set_request_info(
                    &tag.repeat(30),
                    &tag.repeat(20),
                    &format!("GET /{}", tag.repeat(30)),
                    &format!("P{tag}").repeat(5),
                );
                // seq, status, pid, tid, generation, thread_num (0 for cell 0/0 only),
                // 12 counters, lengths and 22 text words: all non-zero.
                fields += 6 + 12 + 1 + 22;
            }
        }
        // Every field landed in its own word: as many non-zero words as fields written
        // (thread_num of cell 0 is legitimately 0) ...
        let nonzero = sb.inner.shm.iter().filter(|w| w.load(Relaxed) != 0).count();
        assert_eq!(nonzero, fields - 1);
        // ... and everything reads back as written.
        let snap = sb.snapshot();
        assert_eq!(snap.global.running_generation, pat(0, 0));
        assert_eq!(snap.global.restart_time, pat(0, 1));
        assert_eq!(snap.global.config_generation, pat(0, 2));
        assert_eq!(snap.global.parent_pid, 4242);
        assert_eq!(snap.global.children_system_micros, 4_500_000);
        assert_eq!(snap.global.parent_user_micros, 1_500_000);
        assert_eq!((snap.global.server_limit, snap.global.thread_limit), (3, 4));
        let mut seen = HashSet::new();
        for slot in 0..sl {
            let p = &snap.processes[slot];
            let r = slot + 1;
            assert_eq!(p.pid, 1000 + slot as i32);
            assert!(p.not_accepting);
            let got = [
                p.generation,
                p.quiescing,
                p.connections,
                p.write_completion,
                p.keep_alive,
                p.lingering_close,
                p.suspended,
                p.wait_io,
                p.start_time,
            ];
            for (f, v) in got.iter().enumerate() {
                assert_eq!(*v, pat(r, f));
                assert!(seen.insert(*v));
            }
            for thread in 0..tl {
                let w = snap.worker(slot, thread);
                let r = 100 + slot * tl + thread;
                assert_eq!(w.status, WorkerStatus::ALL[1 + r % 10]);
                assert_eq!((w.pid, w.tid), (2000 + r as i32, 3000 + r as i64));
                assert_eq!(w.thread_num, (slot * tl + thread) as u64);
                assert_eq!(w.generation, pat(r, 0));
                let got = [
                    w.access_count,
                    w.bytes_served,
                    w.my_access_count,
                    w.my_bytes_served,
                    w.conn_count,
                    w.conn_bytes,
                    w.start_time,
                    w.stop_time,
                    w.last_used,
                    w.duration_micros,
                    w.cpu_user_micros,
                    w.cpu_system_micros,
                ];
                for (f, v) in got.iter().enumerate() {
                    assert_eq!(*v, pat(r, f + 1));
                    assert!(seen.insert(*v));
                }
                let tag = format!("{r:03}");
                assert_eq!(w.info.client, tag.repeat(30)[..64]);
                assert_eq!(w.info.vhost, tag.repeat(20)[..32]);
                assert_eq!(w.info.request, format!("GET /{}", tag.repeat(30))[..64]);
                assert_eq!(w.info.protocol, format!("P{tag}").repeat(5)[..16]);
            }
        }
        sb.clear();
        let nonzero = sb.inner.shm.iter().filter(|w| w.load(Relaxed) != 0).count();
        assert_eq!(nonzero, 3, "only magic and limits survive clear");
        assert_eq!(sb.global().server_limit(), 3);
        assert_eq!(sb.worker(2, 3).request_info(), RequestInfo::default());
    }

    #[test]
    #[should_panic]
    fn out_of_range_cell_panics() {
        let sb = Scoreboard::create(2, 2).unwrap();
        sb.worker(0, 2);
    }

    #[test]
    fn text_round_trip_and_utf8_truncation() {
        let sb = Scoreboard::create(1, 1).unwrap();
        let w = sb.worker(0, 0);
        w.set_request_info("127.0.0.1", "example.org:80", "GET / HTTP/1.1", "http/1.1");
        let info = w.request_info();
        assert_eq!(info.client, "127.0.0.1");
        assert_eq!(info.vhost, "example.org:80");
        assert_eq!(info.request, "GET / HTTP/1.1");
        assert_eq!(info.protocol, "http/1.1");

        // 2-byte characters: 32 fit in 64 bytes exactly.
        let e = "é".repeat(40);
        // 3-byte characters after a 2-byte prefix: 20 fit (62 bytes), the 21st would not.
        let euro = format!("ab{}", "€".repeat(30));
        // 4-byte characters in the 16-byte protocol field: exactly 4.
        let crab = "🦀".repeat(5);
        w.set_request_info(&e, &euro, &euro, &crab);
        let info = w.request_info();
        assert_eq!(info.client, "é".repeat(32));
        assert_eq!(info.vhost, format!("ab{}", "€".repeat(10)));
        assert_eq!(info.request, format!("ab{}", "€".repeat(20)));
        assert_eq!(info.protocol, "🦀".repeat(4));
        assert_eq!(truncate_utf8("a€", 3), "a");
        assert_eq!(truncate_utf8("abc", 10), "abc");

        // Shorter text replaces longer text completely.
        w.set_request_info("x", "", "GET /", "");
        assert_eq!(w.request_info().client, "x");
        assert_eq!(w.request_info().vhost, "");
        w.clear_request_info();
        assert_eq!(w.request_info(), RequestInfo::default());
        assert_eq!(
            sb.inner.shm[GLOBAL_WORDS + PROCESS_WORDS + W_SEQ].load(Relaxed) % 2,
            0
        );
    }

    #[test]
    fn see_request_tail_keeps_the_end() {
        let long = format!("GET /{} HTTP/1.1", "x".repeat(100));
        assert_eq!(request_line_shown(&long, false), long);
        let tail = request_line_shown(&long, true);
        assert_eq!(tail.len(), 63);
        assert!(long.ends_with(tail) && tail.ends_with("x HTTP/1.1"));
        assert_eq!(request_line_shown("GET / HTTP/1.1", true), "GET / HTTP/1.1");
        // Never in the middle of a character.
        let euro = format!("GET /{} HTTP/1.1", "€".repeat(30));
        assert!(request_line_shown(&euro, true).len() <= 63);
    }

    #[test]
    fn readers_never_see_torn_text() {
        let sb = Scoreboard::create(1, 2).unwrap();
        let stop = AtomicBool::new(false);
        let a = RequestInfo {
            client: "a".repeat(64),
            vhost: "A".repeat(32),
            request: "1".repeat(64),
            protocol: "x".repeat(16),
        };
        let b = RequestInfo {
            client: "b".repeat(10),
            vhost: "B".repeat(31),
            request: "2".repeat(63),
            protocol: "y".repeat(3),
        };
        std::thread::scope(|s| {
            s.spawn(|| {
                let w = sb.worker(0, 1);
                for i in 0..200_000 {
                    let t = if i % 2 == 0 { &a } else { &b };
                    w.set_request_info(&t.client, &t.vhost, &t.request, &t.protocol);
                }
                stop.store(true, Relaxed);
            });
            let w = sb.worker(0, 1);
            let mut reads = 0;
            while !stop.load(Relaxed) || reads == 0 {
                let got = w.request_info();
                assert!(
                    got == a || got == b || got == RequestInfo::default(),
                    "{got:?}"
                );
                reads += 1;
            }
        });
    }

    #[test]
    fn a_dead_writer_does_not_hang_readers_or_the_next_writer() {
        let sb = Scoreboard::create(1, 1).unwrap();
        let w = sb.worker(0, 0);
        w.set_request_info("c", "v", "r", "p");
        let seq = &sb.inner.shm[GLOBAL_WORDS + PROCESS_WORDS + W_SEQ];
        seq.store(seq.load(Relaxed) + 1, Relaxed); // as if a writer died mid-update
        assert_eq!(w.request_info(), RequestInfo::default());
        w.set_request_info("c2", "v", "r", "p");
        assert_eq!(seq.load(Relaxed) % 2, 0);
        assert_eq!(w.request_info().client, "c2");
    }

    #[test]
    fn status_bookkeeping_follows_apache() {
        let sb = Scoreboard::create(2, 2).unwrap();
        let w = sb.worker(1, 1);
        w.claim(77, 78, 5);
        assert_eq!(
            (w.pid(), w.tid(), w.generation(), w.thread_num()),
            (77, 78, 5, 3)
        );
        w.set_status(WorkerStatus::Starting);
        w.set_status(WorkerStatus::Ready);
        let idle_since = w.last_used();
        assert!(idle_since > 0);
        w.set_status(WorkerStatus::BusyRead);
        w.mark_request_start();
        w.record_request(100, Duration::from_millis(3));
        w.record_request(50, Duration::from_micros(7));
        assert_eq!(
            (w.access_count(), w.my_access_count(), w.conn_count()),
            (2, 2, 2)
        );
        assert_eq!(
            (w.bytes_served(), w.my_bytes_served(), w.conn_bytes()),
            (150, 150, 150)
        );
        assert_eq!(w.duration_micros(), 3007);
        assert!(w.stop_time() >= w.start_time() && w.start_time() > 0);
        w.set_status(WorkerStatus::BusyKeepalive);
        assert_eq!(w.conn_count(), 2);
        w.set_status(WorkerStatus::Ready);
        assert_eq!(
            (w.conn_count(), w.conn_bytes(), w.my_access_count()),
            (0, 0, 2)
        );
        w.record_thread_cpu();
        w.set_status(WorkerStatus::Dead);
        assert_eq!(
            (
                w.my_access_count(),
                w.my_bytes_served(),
                w.cpu_user_micros()
            ),
            (0, 0, 0)
        );
        assert_eq!((w.access_count(), w.bytes_served()), (2, 150));
    }

    #[test]
    fn process_slots_and_counts() {
        let sb = Scoreboard::create(3, 2).unwrap();
        assert!(sb.process(0).slot_is_free());
        let p = sb.process(1);
        p.set_connections(9);
        p.set_quiescing(1);
        p.reset_for_new_child(123, 4);
        assert_eq!(
            (p.pid(), p.generation(), p.connections(), p.quiescing()),
            (123, 4, 0, 0)
        );
        assert!(!p.slot_is_free() && p.start_time() > 0);
        sb.worker(1, 0).set_status(WorkerStatus::Ready);
        sb.worker(1, 1).set_status(WorkerStatus::BusyWrite);
        sb.worker(2, 0).set_status(WorkerStatus::Starting);
        sb.worker(2, 1).set_status(WorkerStatus::Graceful);
        let snap = sb.snapshot();
        assert_eq!(snap.idle_workers(), 1);
        assert_eq!(snap.busy_workers(), 2);
        assert_eq!(snap.status_counts()[WorkerStatus::Dead as usize], 2);
        assert_eq!(snap.process_idle(0), 0); // free slot: dead cells are not idle
        assert_eq!(snap.process_idle(1), 1);
        assert_eq!(snap.process_busy(1), 1);
        assert_eq!(snap.process_idle(2), 1);
        assert_eq!(
            snap.live_processes().map(|(s, _)| s).collect::<Vec<_>>(),
            [1]
        );
        sb.worker(1, 1).set_status(WorkerStatus::Dead);
        assert_eq!(sb.snapshot().process_idle(1), 2); // unstarted thread of a live process
        p.mark_free();
        assert!(p.slot_is_free() && p.generation() == 0);
    }

    #[test]
    fn a_childs_writes_are_visible_to_the_parent() {
        let sb = Scoreboard::create(4, 2).unwrap();
        sb.global().set_running_generation(3);
        let board = sb.clone();
        let pid = rhttpd_sys::process::run_in_forked_child(move || {
            let me = rhttpd_sys::process::getpid();
            let generation = board.global().running_generation();
            board.process(2).reset_for_new_child(me, generation);
            let w = board.worker(2, 1);
            w.claim(me, rhttpd_sys::process::gettid(), generation);
            w.set_status(WorkerStatus::BusyWrite);
            w.set_request_info("10.0.0.1", "www:80", "GET /child HTTP/1.1", "http/1.1");
            w.record_request(512, Duration::from_millis(1));
            0
        })
        .unwrap();
        let exit = rhttpd_sys::process::wait_child_timeout(pid, Duration::from_secs(20)).unwrap();
        assert_eq!(exit, Some(rhttpd_sys::ChildExit::Exited(0)));
        let snap = sb.snapshot();
        assert_eq!(snap.processes[2].pid, pid);
        assert_eq!(snap.processes[2].generation, 3);
        let w = snap.worker(2, 1);
        assert_eq!(
            (w.status, w.pid, w.access_count, w.bytes_served),
            (WorkerStatus::BusyWrite, pid, 1, 512)
        );
        assert_eq!(w.info.request, "GET /child HTTP/1.1");
        assert_eq!(w.info.client, "10.0.0.1");
        assert_eq!(snap.total_accesses(), 1);
        assert_eq!(snap.total_bytes(), 512);
        assert_eq!(snap.total_duration_micros(), 1000);
    }
}
