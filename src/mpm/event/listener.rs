//! The event child's listener thread: one epoll set for the listening sockets, the
//! wake-up socket and every parked connection, the timeout queues, admission control,
//! write completion and lingering close. See the module header in `mod.rs`.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{ErrorKind, Read};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rhttpd_sys::{Interest, Poller, Ready};

use super::jobs::Jobs;
use crate::conf::vhost;
use crate::conn::readiness::{self, Next};
use crate::conn::{Connection, Want};
use crate::log::{self, Level};
use crate::mpm::child::ChildContext;
use crate::scoreboard::WorkerStatus;
use pressure::{FD_RESERVE, PressureLog};
use timers::TimeoutQueue;

mod pending;
mod pressure;
mod timers;
mod tunnels;

/// Lingering close: give up after this long (Apache: 2 s without data; rhttpd closes
/// 2 s after the response at the latest, which also bounds Apache's 30 s total).
const LINGER_IDLE: Duration = Duration::from_secs(2);
/// Once the child is stopping, idle connections (keep-alive, or new ones that have sent
/// nothing yet) are closed after this short grace instead of at the very instant: a
/// client that has just received a response (or just connected) usually has its next
/// request on the way, and closing under it would fail that request. Apache closes them
/// at once and relies on clients retrying; this loses no request of a busy client and
/// still frees an idle one within half a second.
const DYING_GRACE: Duration = Duration::from_millis(500);
const WAKE_TOKEN: u64 = u64::MAX;
/// Connection tokens start here; listener i has token i.
const CONN_BASE: u64 = 1 << 32;

/// Why a connection is parked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Parked {
    /// Waiting for (more of) a request head.
    Reading,
    KeepAlive,
    Writing,
    Linger,
    /// Switched protocols: relayed to a backend (`tunnels.rs`).
    Tunnel,
    /// A handler's work waits for its backend (`pending.rs`).
    Pending,
}

struct Slot {
    conn: Connection,
    state: Parked,
    /// What the client's socket is registered for in epoll (`None`: not in the set).
    interest: Option<Interest>,
    /// Distinguishes this parking from earlier ones of the same slot index in the
    /// timeout queues (entries are removed lazily).
    stamp: u64,
}

pub struct Listener<'a> {
    ctx: &'a ChildContext<'a>,
    jobs: &'a Jobs,
    stopping: &'a AtomicBool,
    wake_rx: &'a UnixStream,
    poller: Poller,
    slots: Vec<Option<Slot>>,
    free: Vec<usize>,
    queues: Vec<TimeoutQueue>,
    /// RequestReadTimeout limits of connections parked while reading a head (or the
    /// TLS handshake): (deadline, slot, stamp), removed lazily like the queues' entries.
    head_deadlines: BinaryHeap<Reverse<(Instant, usize, u64)>>,
    next_stamp: u64,
    accepting: bool,
    accepted: u64,
    /// Connections handed to workers and not back yet.
    with_workers: usize,
    reading: usize,
    keep_alive: usize,
    writing: usize,
    lingering: usize,
    tunnels: usize,
    pending: usize,
    dying: bool,
    /// Read buffer for inline requests.
    scratch: Vec<u8>,
    /// Descriptors this process may hold for connections (RLIMIT_NOFILE less a
    /// reserve for logs, listeners, CGI pipes and backends).
    fd_budget: usize,
    /// Accepting pauses until then after EMFILE/ENFILE with nothing left to shed.
    accept_paused_until: Option<Instant>,
    /// Descriptor pressure's rate-limited reports.
    pressure: PressureLog,
    /// The open-file cache was last swept then (at most once a second from here).
    last_sweep: Instant,
    /// Parked requests waiting on a backend descriptor: descriptor -> slot
    /// (`pending.rs`; the descriptors stay registered under [`pending::BACKEND_BIT`]).
    backend_waits: std::collections::HashMap<i32, usize>,
}

/// The listener's observer for inline requests: it has no scoreboard cell of its own,
/// so it adds their counts to cell 0's totals (counters only: the cell's status and
/// request text belong to worker 0).
struct InlineObserver<'a> {
    cell: crate::scoreboard::WorkerRecord<'a>,
    stopping: bool,
}

impl crate::conn::ConnObserver for InlineObserver<'_> {
    fn request_finished(&mut self, f: &crate::conn::Finished<'_>) {
        self.cell.record_request(f.bytes, f.duration);
    }

    fn stopping(&self) -> bool {
        self.stopping
    }
}

impl<'a> Listener<'a> {
    pub fn new(
        ctx: &'a ChildContext<'a>,
        jobs: &'a Jobs,
        stopping: &'a AtomicBool,
        wake_rx: &'a UnixStream,
    ) -> std::io::Result<Listener<'a>> {
        let poller = Poller::new(256)?;
        poller.add(wake_rx.as_fd(), WAKE_TOKEN, Interest::Read)?;
        let mut l = Listener {
            ctx,
            jobs,
            stopping,
            wake_rx,
            poller,
            slots: Vec::new(),
            free: Vec::new(),
            queues: Vec::new(),
            head_deadlines: BinaryHeap::new(),
            next_stamp: 0,
            accepting: false,
            accepted: 0,
            with_workers: 0,
            reading: 0,
            keep_alive: 0,
            writing: 0,
            lingering: 0,
            tunnels: 0,
            pending: 0,
            dying: false,
            scratch: vec![0u8; 16 * 1024],
            fd_budget: rhttpd_sys::limits::nofile_limit()
                .map(|(soft, _)| soft.saturating_sub(FD_RESERVE) as usize)
                .unwrap_or(1024 - FD_RESERVE as usize)
                .max(16),
            accept_paused_until: None,
            pressure: PressureLog::default(),
            last_sweep: Instant::now(),
            backend_waits: std::collections::HashMap::new(),
        };
        l.set_accepting(true);
        Ok(l)
    }

    fn set_accepting(&mut self, on: bool) {
        if on == self.accepting {
            return;
        }
        for (i, sock) in self.ctx.listeners.iter().enumerate() {
            let _ = if on {
                self.poller.add_exclusive(sock.as_fd(), i as u64)
            } else {
                self.poller.delete(sock.as_fd())
            };
        }
        self.accepting = on;
        self.ctx
            .scoreboard
            .process(self.ctx.slot)
            .set_not_accepting(!on);
    }

    fn open_connections(&self) -> usize {
        self.slots.len() - self.free.len() + self.with_workers
    }

    /// Apache's connections_above_limit (§4.4).
    fn above_limit(&self) -> bool {
        let idle = self
            .jobs
            .idle
            .load(Ordering::Relaxed)
            .saturating_sub(self.jobs.queued());
        if idle == 0 {
            return true;
        }
        let factor = self.ctx.async_factor.floor().max(1.0) as usize;
        let limit = self.ctx.threads + idle * factor;
        // Connections still reading a head (or collecting a small body) and ones in
        // write completion cost memory, not workers: slow clients (slowloris, slow
        // bodies, slow readers) cannot use up the budget; RequestReadTimeout, Timeout,
        // SendMinRate and the descriptor limit bound them instead. Tunnels are relayed
        // by this thread and need no worker either.
        self.open_connections().saturating_sub(
            self.lingering + self.reading + self.writing + self.tunnels + self.pending,
        ) >= limit
    }

    pub fn run(&mut self) {
        let mut events: Vec<Ready> = Vec::new();
        loop {
            self.check_stop();
            if self.dying && self.open_connections() == 0 {
                return;
            }
            let timeout = self.next_deadline().map_or(Duration::from_secs(1), |d| {
                d.saturating_duration_since(Instant::now())
                    .min(Duration::from_secs(1))
            });
            if self.poller.wait(timeout, &mut events).is_err() {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
            // Requests answered inline in this batch share their stats of a path.
            let stats = crate::modules::file_cache::stat_batch();
            for ev in &events {
                match ev.token {
                    WAKE_TOKEN => self.drain_wake(),
                    t if t < CONN_BASE => self.accept(t as usize),
                    t if t & pending::BACKEND_BIT != 0 => self.backend_event(t, ev.closed),
                    t if t & tunnels::PEER_BIT != 0 => {
                        let idx = ((t & !tunnels::PEER_BIT) - CONN_BASE) as usize;
                        let state = self
                            .slots
                            .get(idx)
                            .and_then(|s| s.as_ref())
                            .map(|s| s.state);
                        if state == Some(Parked::Tunnel) {
                            self.tunnel_event(idx, Some((true, *ev)));
                        }
                    }
                    t => self.conn_event((t - CONN_BASE) as usize, *ev),
                }
            }
            drop(stats);
            // Connections coming back from workers.
            for (conn, next) in self.jobs.take_returned() {
                self.with_workers -= 1;
                self.park(conn, next);
            }
            self.expire();
            let now = Instant::now();
            if now.saturating_duration_since(self.last_sweep) >= Duration::from_secs(1) {
                self.last_sweep = now;
                crate::modules::file_cache::global().sweep();
            }
            if self
                .accept_paused_until
                .is_some_and(|t| Instant::now() >= t)
            {
                self.accept_paused_until = None;
            }
            if !self.dying && self.accept_paused_until.is_none() {
                let above = self.above_limit();
                if above && self.accepting {
                    log::log(
                        "mpm_event",
                        Level::Debug,
                        None,
                        "Too many open connections or all workers busy, not accepting new conns in this process",
                    );
                    self.set_accepting(false);
                } else if !above && !self.accepting {
                    self.set_accepting(true);
                }
            }
            self.publish();
        }
    }

    fn check_stop(&mut self) {
        if self.dying {
            return;
        }
        let limit_reached =
            self.ctx.max_connections > 0 && self.accepted >= self.ctx.max_connections;
        let new_generation =
            self.ctx.scoreboard.global().running_generation() != self.ctx.generation;
        if !(self.stopping.load(Ordering::Relaxed) || limit_reached || new_generation) {
            return;
        }
        self.dying = true;
        self.stopping.store(true, Ordering::Relaxed);
        self.set_accepting(false);
        let sb = self.ctx.scoreboard;
        sb.process(self.ctx.slot).set_quiescing(1);
        for t in 0..self.ctx.threads.min(sb.thread_limit()) {
            let cell = sb.worker(self.ctx.slot, t);
            if cell.status() == WorkerStatus::Ready {
                cell.set_status(WorkerStatus::Graceful);
            }
        }
        // Idle connections go after a short grace (see DYING_GRACE); in-flight work
        // completes.
        let at = Instant::now() + DYING_GRACE;
        for i in 0..self.slots.len() {
            let idle = match &self.slots[i] {
                Some(s) => {
                    s.state == Parked::KeepAlive
                        || (s.state == Parked::Reading
                            && s.conn.h1().is_some_and(|h1| h1.buffered().is_empty()))
                }
                None => false,
            };
            if idle {
                if let Some(s) = self.slots[i].as_mut() {
                    crate::conn::h2::goodbye(&mut s.conn);
                }
                self.next_stamp += 1;
                let stamp = self.next_stamp;
                let state = match self.slots[i].as_mut() {
                    Some(s) => {
                        s.stamp = stamp;
                        s.state
                    }
                    None => continue,
                };
                self.queue_for(state, DYING_GRACE)
                    .entries
                    .push_back((i, stamp, at));
            }
        }
    }

    fn drain_wake(&mut self) {
        let mut buf = [0u8; 256];
        let mut r = self.wake_rx;
        while let Ok(n) = r.read(&mut buf) {
            if n < buf.len() {
                break;
            }
        }
    }

    fn accept(&mut self, i: usize) {
        let Some(sock) = self.ctx.listeners.get(i) else {
            return;
        };
        // A few per wake-up so one child does not take a whole burst.
        for _ in 0..16 {
            if self.dying || self.above_limit() {
                return;
            }
            // A tunnel holds a backend socket besides the client's.
            let fds = self.open_connections() + self.tunnels;
            if fds >= self.fd_budget && self.shed_partial(16) == 0 {
                self.pause_accepting();
                return;
            }
            match sock.accept_client(true) {
                Ok((stream, client)) => {
                    let Ok(mut conn) =
                        sock.connection(stream, client, true, self.ctx.site.tls.as_ref())
                    else {
                        continue;
                    };
                    // RequestReadTimeout runs from the accept for the first request.
                    let cfg = &self.ctx.site.cfg;
                    let host = vhost::host(cfg, vhost::select(cfg, conn.info.local, None));
                    conn.arm_head_timer(&host.req_timeout);
                    self.accepted += 1;
                    self.park(conn, Next::ReadMore);
                    if self.ctx.max_connections > 0 && self.accepted >= self.ctx.max_connections {
                        return;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                // EMFILE / ENFILE: out of descriptors. Make room by closing the oldest
                // connections that have not sent a complete head; with none, pause
                // accepting briefly rather than spin on a readable listener.
                Err(e) if matches!(e.raw_os_error(), Some(23 | 24)) => {
                    if self.shed_partial(16) == 0 {
                        self.pause_accepting();
                    }
                    return;
                }
                Err(e) => {
                    log::log(
                        "mpm_event",
                        Level::Error,
                        None,
                        &format!("AH00472: apr_socket_accept: {e}"),
                    );
                    return;
                }
            }
        }
    }

    fn host_timeouts(&self, conn: &Connection) -> (Duration, Duration) {
        let cfg = &self.ctx.site.cfg;
        let host = vhost::host(cfg, vhost::select(cfg, conn.info.local, None));
        (host.timeout, host.keep_alive_timeout)
    }

    /// Put a connection into the epoll set in the state `next` asks for.
    fn park(&mut self, mut conn: Connection, next: Next) {
        let (timeout, ka_timeout) = self.host_timeouts(&conn);
        let (state, interest, deadline) = match next {
            Next::Close => return,
            Next::Tunnel => {
                self.park_tunnel(conn);
                return;
            }
            Next::Pending => {
                self.park_pending(conn);
                return;
            }
            Next::ReadMore => (
                Parked::Reading,
                conn.transport.interest(Want::Read),
                timeout,
            ),
            Next::KeepAlive => {
                conn.shrink_idle();
                let wait = if self.dying { DYING_GRACE } else { ka_timeout };
                (Parked::KeepAlive, conn.transport.interest(Want::Read), wait)
            }
            Next::WriteCompletion => (
                Parked::Writing,
                conn.transport.interest(Want::Write),
                timeout,
            ),
            Next::Linger => {
                let _ = conn.transport.shutdown_write();
                conn.shrink_idle();
                (Parked::Linger, Interest::Read, LINGER_IDLE)
            }
        };
        let idx = self.free.pop().unwrap_or_else(|| {
            self.slots.push(None);
            self.slots.len() - 1
        });
        if self
            .poller
            .add(conn.transport.fd(), CONN_BASE + idx as u64, interest)
            .is_err()
        {
            self.free.push(idx);
            return;
        }
        self.next_stamp += 1;
        let stamp = self.next_stamp;
        self.count(state, true);
        if state == Parked::Reading
            && let Some(limit) = conn.head_timer.deadline()
        {
            self.head_deadlines.push(Reverse((limit, idx, stamp)));
        }
        self.slots[idx] = Some(Slot {
            conn,
            state,
            interest: Some(interest),
            stamp,
        });
        let at = Instant::now() + deadline;
        self.queue_for(state, deadline)
            .entries
            .push_back((idx, stamp, at));
    }

    /// Remove a parked connection from the set (without closing it).
    fn unpark(&mut self, idx: usize) -> Option<Connection> {
        let mut slot = self.slots.get_mut(idx)?.take()?;
        if slot.state == Parked::Pending {
            self.unregister_pending(&slot.conn);
        }
        let client_registered = match slot.state {
            Parked::Tunnel => slot
                .conn
                .tunnel
                .as_ref()
                .is_some_and(|r| r.registered.0.is_some()),
            _ => slot.interest.is_some(),
        };
        if client_registered {
            let _ = self.poller.delete(slot.conn.transport.fd());
        }
        self.unregister_peer(&mut slot.conn);
        self.count(slot.state, false);
        self.free.push(idx);
        Some(slot.conn)
    }

    fn close(&mut self, idx: usize) {
        if let Some(conn) = self.unpark(idx)
            && conn.tunnel.is_some()
        {
            self.end_tunnel(conn);
        }
    }

    fn conn_event(&mut self, idx: usize, ev: Ready) {
        let Some(state) = self
            .slots
            .get(idx)
            .and_then(|s| s.as_ref())
            .map(|s| s.state)
        else {
            return;
        };
        match state {
            Parked::Tunnel => self.tunnel_event(idx, Some((false, ev))),
            // The client sent more (or closed) while its request waits: its socket
            // leaves the set until the answer is out (level-triggered, it would fire on).
            Parked::Pending => self.quiet_client(idx),
            Parked::Reading | Parked::KeepAlive => {
                // Requests that cannot block are served right here (no hand-off).
                let inline = match self.slots[idx].as_mut() {
                    Some(s) => {
                        let mut obs = InlineObserver {
                            cell: self.ctx.scoreboard.worker(self.ctx.slot, 0),
                            stopping: self.dying,
                        };
                        readiness::try_inline(
                            &mut s.conn,
                            self.ctx.site,
                            &mut obs,
                            &mut self.scratch,
                        )
                    }
                    None => return,
                };
                if let Some(next) = inline {
                    self.reparked(idx, next);
                    return;
                }
                if let Some(conn) = self.unpark(idx) {
                    // Even with every worker busy the connection waits its turn in the
                    // queue; Apache would close a keep-alive connection here.
                    self.with_workers += 1;
                    self.jobs.push(conn);
                }
            }
            Parked::Writing => {
                if ev.closed && !ev.writable {
                    self.close(idx);
                    return;
                }
                let (next, progressed) = match self.slots[idx].as_mut() {
                    Some(s) => {
                        let mut obs = InlineObserver {
                            cell: self.ctx.scoreboard.worker(self.ctx.slot, 0),
                            stopping: self.dying,
                        };
                        let before = s.conn.written();
                        let next = readiness::continue_write(&mut s.conn, self.ctx.site, &mut obs);
                        let after = s.conn.written();
                        (next, after != before)
                    }
                    None => return,
                };
                // Timeout bounds each wait without progress, as Apache's: a slow but
                // steady reader of a large response is not cut off, unless it stays
                // below SendMinRate.
                if next == Next::WriteCompletion && progressed {
                    if self.sends_too_slowly(idx) {
                        self.close(idx);
                        return;
                    }
                    self.reparked(idx, next);
                }
                if next != Next::WriteCompletion
                    && let Some(conn) = self.unpark(idx)
                {
                    if matches!(next, Next::KeepAlive | Next::ReadMore) && conn.wants_worker() {
                        self.with_workers += 1;
                        self.jobs.push(conn);
                    } else {
                        self.park(conn, next);
                    }
                }
            }
            Parked::Linger => {
                let mut buf = [0u8; 4096];
                let done = match self.slots[idx].as_mut() {
                    Some(s) => loop {
                        match s.conn.transport.read(&mut buf) {
                            Ok(0) => break true,
                            Ok(_) => {}
                            Err(e) if e.kind() == ErrorKind::WouldBlock => break false,
                            Err(e) if e.kind() == ErrorKind::Interrupted => {}
                            Err(_) => break true,
                        }
                    },
                    None => return,
                };
                if done {
                    self.close(idx);
                }
            }
        }
    }

    /// After an inline run: move the parked connection to its next state, touching
    /// the epoll registration only when the interest changes.
    fn reparked(&mut self, idx: usize, next: Next) {
        let Some(slot) = self.slots[idx].as_ref() else {
            return;
        };
        let old = slot.state;
        let (state, interest) = match next {
            Next::Close => {
                self.close(idx);
                return;
            }
            Next::Tunnel => {
                if let Some(conn) = self.unpark(idx) {
                    self.park_tunnel(conn);
                }
                return;
            }
            Next::Pending => {
                self.pend_in_place(idx);
                return;
            }
            Next::ReadMore => (Parked::Reading, slot.conn.transport.interest(Want::Read)),
            Next::KeepAlive => (Parked::KeepAlive, slot.conn.transport.interest(Want::Read)),
            Next::WriteCompletion => (Parked::Writing, slot.conn.transport.interest(Want::Write)),
            Next::Linger => {
                // Re-park through the full path (shutdown, counters).
                if let Some(conn) = self.unpark(idx) {
                    self.park(conn, Next::Linger);
                }
                return;
            }
        };
        // Touch the registration only when the transport wants something else.
        let token = CONN_BASE + idx as u64;
        match slot.interest {
            Some(i) if i == interest => {}
            Some(_) => {
                let _ = self
                    .poller
                    .modify(slot.conn.transport.fd(), token, interest);
            }
            None => {
                if self
                    .poller
                    .add(slot.conn.transport.fd(), token, interest)
                    .is_err()
                {
                    self.close(idx);
                    return;
                }
            }
        }
        let (timeout, ka_timeout) = match self.slots[idx].as_ref() {
            Some(s) => self.host_timeouts(&s.conn),
            None => return,
        };
        let wait = match state {
            Parked::KeepAlive if self.dying => DYING_GRACE,
            Parked::KeepAlive => ka_timeout,
            _ => timeout,
        };
        self.count(old, false);
        self.count(state, true);
        self.next_stamp += 1;
        let stamp = self.next_stamp;
        if let Some(s) = self.slots[idx].as_mut() {
            s.state = state;
            s.stamp = stamp;
            s.interest = Some(interest);
            if state == Parked::KeepAlive {
                s.conn.shrink_idle();
            }
            if state == Parked::Reading
                && let Some(limit) = s.conn.head_timer.deadline()
            {
                self.head_deadlines.push(Reverse((limit, idx, stamp)));
            }
        }
        let at = Instant::now() + wait;
        self.queue_for(state, wait)
            .entries
            .push_back((idx, stamp, at));
    }

    fn count(&mut self, state: Parked, add: bool) {
        let c = match state {
            Parked::Reading => &mut self.reading,
            Parked::KeepAlive => &mut self.keep_alive,
            Parked::Writing => &mut self.writing,
            Parked::Linger => &mut self.lingering,
            Parked::Tunnel => &mut self.tunnels,
            Parked::Pending => &mut self.pending,
        };
        if add {
            *c += 1;
        } else {
            *c = c.saturating_sub(1);
        }
    }

    /// Connection counts by state for the scoreboard's process row.
    fn publish(&self) {
        let p = self.ctx.scoreboard.process(self.ctx.slot);
        p.set_connections(self.open_connections() as u64);
        p.set_keep_alive(self.keep_alive as u64);
        p.set_write_completion(self.writing as u64);
        p.set_lingering_close(self.lingering as u64);
    }
}
