//! Moving an HTTP/2 connection's bytes: the blocking loop of worker threads and `-X`
//! ([`blocking`]), and the event MPM's steps: [`inline`] on the listener thread (serves
//! the requests whose handler cannot block, writes without waiting), [`on_worker`] on a
//! worker thread (runs everything else, then hands the connection back to epoll), and
//! [`continue_write`] for write completion.
//!
//! Waiting is bounded as for HTTP/1.1: KeepAliveTimeout while no stream is open (the
//! connection then ends with GOAWAY), Timeout while a stream waits for the client.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::Ordering;

use rhttpd_sys::{Interest, Poller};

use super::H2Conn;
use super::streams::{self, Mailbox};
use crate::conn::readiness::Next;
use crate::conn::{ConnObserver, Connection, Phase, Progress, Protocol};
use crate::handler::ConnInfo;
use crate::site::Site;
use crate::transport::{Transport, Want};

/// Octets read per inline step at most, so one busy connection does not hold the
/// listener.
const READ_BUDGET: usize = 64 * 1024;

/// Write the session's output and flush the transport.
fn write_out(h2: &mut H2Conn, t: &mut dyn Transport) -> Progress {
    loop {
        let out = h2.session.output();
        if out.is_empty() {
            return match t.flush() {
                Ok(()) => Progress::Done,
                Err(e) if e.kind() == ErrorKind::WouldBlock => Progress::WouldBlock,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => Progress::Failed,
            };
        }
        match t.write(out) {
            Ok(0) => return Progress::Failed,
            Ok(n) => {
                h2.session.consume_output(n);
                h2.written += n as u64;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Progress::WouldBlock,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return Progress::Failed,
        }
    }
}

/// Queue DATA and write it, without blocking, until the windows, the transport or
/// the bodies say stop. Streamed bodies wait for a worker.
fn pump(
    h2: &mut H2Conn,
    t: &mut dyn Transport,
    info: &mut ConnInfo,
    site: &Site,
    obs: &mut dyn ConnObserver,
) -> Next {
    loop {
        h2.fill(false, info, site, obs);
        if h2.session.output().is_empty() {
            break;
        }
        match write_out(h2, t) {
            Progress::Done => {}
            Progress::WouldBlock => return Next::WriteCompletion,
            Progress::Failed => return Next::Close,
        }
    }
    if h2.session.is_done() {
        // GOAWAY is written: shut down our side and drain the client (lingering close),
        // so input it is still sending does not reset the connection before the
        // GOAWAY reaches it.
        Next::Linger
    } else if h2.is_idle() {
        Next::KeepAlive
    } else {
        Next::ReadMore
    }
}

/// The response the listener can make for `id` without blocking, if any.
fn inline_response(
    h2: &H2Conn,
    id: u32,
    info: &ConnInfo,
    site: &Site,
) -> Option<(crate::handler::Response, crate::pipeline::Outcome)> {
    let w = h2.streams.get(&id)?;
    let head = w.head.as_ref()?;
    if w.status_now.is_some() || w.body.len() > 0 {
        return None;
    }
    let ran = crate::pipeline::process_inline(&site.cfg, &site.handlers, info, head).ok()?;
    (!ran.0.body.is_stream()).then_some(ran)
}

/// On the event listener: read what has arrived, serve what cannot block and write
/// without waiting. `None`: a request needs a worker ([`on_worker`]).
pub fn inline(
    conn: &mut Connection,
    site: &Site,
    obs: &mut dyn ConnObserver,
    scratch: &mut [u8],
) -> Option<Next> {
    let Protocol::H2(h2) = &mut conn.protocol else {
        return Some(Next::Close);
    };
    let t = &mut *conn.transport;
    let mut total = 0;
    let open = loop {
        match t.read(scratch) {
            Ok(0) => break false,
            Ok(n) => {
                h2.recv(&scratch[..n]);
                total += n;
                if (n < scratch.len() || total >= READ_BUDGET) && !t.has_pending_input() {
                    break true;
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => break true,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return Some(Next::Close),
        }
    };
    if obs.stopping() {
        h2.session.graceful_shutdown();
    }
    let info = &mut conn.info;
    let mut waiting = VecDeque::new();
    while let Some(id) = h2.runnable.pop_front() {
        match inline_response(h2, id, info, site) {
            Some(ready) => h2.run_stream(id, info, site, obs, Some(ready)),
            None => waiting.push_back(id),
        }
    }
    h2.runnable = waiting;
    let next = pump(h2, t, info, site, obs);
    if !open {
        return Some(Next::Close);
    }
    if matches!(next, Next::KeepAlive | Next::ReadMore) && h2.needs_thread() {
        return None;
    }
    Some(next)
}

/// The server is stopping: an idle HTTP/2 connection is told with GOAWAY before it is
/// closed (written if the transport takes it now).
pub fn goodbye(conn: &mut Connection) {
    if let Protocol::H2(h2) = &mut conn.protocol {
        h2.session.graceful_shutdown();
        let _ = write_out(h2, &mut *conn.transport);
    }
}

/// Event's write completion: write the output, then queue more DATA as the windows
/// allow.
pub fn continue_write(conn: &mut Connection, site: &Site, obs: &mut dyn ConnObserver) -> Next {
    let Protocol::H2(h2) = &mut conn.protocol else {
        return Next::Close;
    };
    match write_out(h2, &mut *conn.transport) {
        Progress::Done => pump(h2, &mut *conn.transport, &mut conn.info, site, obs),
        Progress::WouldBlock => Next::WriteCompletion,
        Progress::Failed => Next::Close,
    }
}

/// Read what the transport has without blocking and feed it to the session. False
/// when the peer closed or the transport failed.
fn read_nonblocking(h2: &mut H2Conn, t: &mut dyn Transport, scratch: &mut [u8]) -> bool {
    let mut total = 0;
    loop {
        match t.read(scratch) {
            Ok(0) => return false,
            Ok(n) => {
                h2.recv(&scratch[..n]);
                total += n;
                if (n < scratch.len() || total >= READ_BUDGET) && !t.has_pending_input() {
                    return true;
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}

/// A worker thread or `-X` runs the connection to its end. True when it should end
/// with a lingering close (our GOAWAY is written; the client may still be sending).
pub fn blocking(conn: &mut Connection, site: &Site, obs: &mut dyn ConnObserver) -> bool {
    let mut scratch = vec![0u8; 16 * 1024];
    session(conn, site, obs, &mut scratch, false) == Next::Linger
}

/// On an event worker: run what may block, then give the connection back to the
/// listener as soon as no stream thread is running and only waiting is left.
pub fn on_worker(
    conn: &mut Connection,
    site: &Site,
    obs: &mut dyn ConnObserver,
    scratch: &mut [u8],
) -> Next {
    session(conn, site, obs, scratch, true)
}

const SOCKET: u64 = 0;
const WAKE: u64 = 1;
/// How soon a stream that found every stream thread of the child busy tries again.
const RETRY_THREAD: std::time::Duration = std::time::Duration::from_millis(10);

/// mod_http2's scoreboard text for a session between requests.
fn status_text(idle: bool, h2: &H2Conn) -> String {
    let c = h2.counts;
    format!(
        "{}, streams: {}/{}/{}/0/{} (open/recv/resp/push/rst)",
        if idle { "idle" } else { "busy" },
        h2.session.open_streams(),
        c.received,
        c.answered,
        c.reset
    )
}

/// The connection's own loop (mod_http2's c1): the socket and the stream threads'
/// wake-ups in one small epoll set; static streams answered at once, the others on
/// stream threads (`streams.rs`); output written as the socket takes it. Waits are
/// bounded by KeepAliveTimeout while nothing is open (then GOAWAY) and by Timeout
/// while the client owes us frames; never while our own handlers are still working.
/// `hand_back`: return as soon as only waiting on the client is left (event).
fn session(
    conn: &mut Connection,
    site: &Site,
    obs: &mut dyn ConnObserver,
    scratch: &mut [u8],
    hand_back: bool,
) -> Next {
    let host = crate::conn::readiness::default_host(site, conn);
    let (timeout, ka_timeout) = (host.timeout, host.keep_alive_timeout);
    let Ok((wake_rx, wake_tx)) = UnixStream::pair() else {
        return Next::Close;
    };
    let Ok(mut poller) = Poller::new(4) else {
        return Next::Close;
    };
    if wake_rx.set_nonblocking(true).is_err()
        || wake_tx.set_nonblocking(true).is_err()
        || conn.transport.set_blocking(None).is_err()
        || poller.add(wake_rx.as_fd(), WAKE, Interest::Read).is_err()
    {
        return Next::Close;
    }
    let mut interest = conn.transport.interest(Want::Read);
    if poller.add(conn.transport.fd(), SOCKET, interest).is_err() {
        return Next::Close;
    }
    let mailbox = Mailbox::new(wake_tx);
    let next = std::thread::scope(|scope| {
        let next = session_steps(
            conn,
            site,
            obs,
            scratch,
            hand_back,
            scope,
            &mailbox,
            &mut poller,
            &wake_rx,
            &mut interest,
            timeout,
            ka_timeout,
        );
        if matches!(next, Next::Close | Next::Linger) {
            // Stream threads still running stop at their next write: their pipes and
            // their results are dropped before the scope waits for them.
            mailbox.close();
            if let Protocol::H2(h2) = &mut conn.protocol {
                h2.abandon();
            }
        }
        next
    });
    // Stream threads are joined by now; the socket goes back to the caller's control.
    let _ = poller.delete(conn.transport.fd());
    next
}

#[allow(clippy::too_many_arguments)]
fn session_steps<'scope, 'env>(
    conn: &mut Connection,
    site: &'env Site,
    obs: &mut dyn ConnObserver,
    scratch: &mut [u8],
    hand_back: bool,
    scope: &'scope std::thread::Scope<'scope, 'env>,
    mailbox: &std::sync::Arc<Mailbox>,
    poller: &mut Poller,
    wake_rx: &UnixStream,
    interest: &mut Interest,
    timeout: std::time::Duration,
    ka_timeout: std::time::Duration,
) -> Next {
    let mut ready = Vec::new();
    let mut shown = None;
    loop {
        let Protocol::H2(h2) = &mut conn.protocol else {
            return Next::Close;
        };
        let t = &mut *conn.transport;
        let info = &mut conn.info;
        for f in mailbox.take() {
            h2.finished(f, info, site, obs);
        }
        let mut waiting = VecDeque::new();
        while let Some(id) = h2.runnable.pop_front() {
            if let Some(ready) = inline_response(h2, id, info, site) {
                h2.run_stream(id, info, site, obs, Some(ready));
                continue;
            }
            let Some(slot) = streams::acquire() else {
                waiting.push_back(id);
                continue;
            };
            let Some(job) = h2.take_job(id, info, obs, mailbox) else {
                // Answered here: a status decided already (413, 431).
                drop(slot);
                h2.run_stream(id, info, site, obs, None);
                continue;
            };
            mailbox.running.fetch_add(1, Ordering::AcqRel);
            let spawned = std::thread::Builder::new()
                .name("h2-stream".into())
                .spawn_scoped(scope, move || streams::run(job, site, slot));
            if spawned.is_err() {
                mailbox.running.fetch_sub(1, Ordering::AcqRel);
                h2.reset_unrunnable(id);
            }
        }
        h2.runnable = waiting;
        let running = mailbox.running.load(Ordering::Acquire);
        if obs.stopping() {
            h2.session.graceful_shutdown();
        }
        let mut want_write = false;
        loop {
            // Bodies from stream threads are read without waiting; only a body a handler on
            // this thread produced (an error document's script) blocks.
            h2.fill(true, info, site, obs);
            if h2.session.output().is_empty() {
                break;
            }
            match write_out(h2, t) {
                Progress::Done => {}
                Progress::WouldBlock => {
                    want_write = true;
                    break;
                }
                Progress::Failed => return Next::Close,
            }
        }
        if h2.session.is_done() {
            return Next::Linger; // as in `pump`
        }
        if hand_back && running == 0 && h2.runnable.is_empty() && !want_write {
            return if h2.is_idle() {
                Next::KeepAlive
            } else {
                Next::ReadMore
            };
        }
        // Wait for the client, the socket's room or a stream thread.
        let idle = h2.is_idle() && running == 0;
        obs.phase(if idle { Phase::KeepAlive } else { Phase::Read });
        let now_shown = (idle, h2.counts, h2.session.open_streams());
        if shown != Some(now_shown) {
            shown = Some(now_shown);
            obs.session_status(&status_text(idle, h2), info);
        }
        let want = if want_write { Want::Write } else { Want::Read };
        let mut wanted = t.interest(want);
        if want_write && wanted == Interest::Write {
            wanted = Interest::ReadWrite;
        }
        if wanted != *interest {
            if poller.modify(t.fd(), SOCKET, wanted).is_err() {
                return Next::Close;
            }
            *interest = wanted;
        }
        let socket_ready = if t.has_pending_input() {
            true
        } else {
            let mut wait = if idle { ka_timeout } else { timeout };
            if !h2.runnable.is_empty() && running == 0 {
                // Streams wait for a stream thread another connection holds: try again
                // soon (no wake-up comes from there).
                wait = wait.min(RETRY_THREAD);
            }
            let waited = std::time::Instant::now();
            if poller.wait(wait, &mut ready).is_err() {
                return Next::Close;
            }
            if ready.is_empty() {
                if mailbox.running.load(Ordering::Acquire) > 0
                    || !h2.runnable.is_empty()
                    || waited.elapsed() < wait
                {
                    // Our handlers are still working, streams wait for a thread, or a
                    // signal cut the wait short: not the client's fault.
                    continue;
                }
                if idle {
                    // Idle past KeepAliveTimeout: say goodbye, as mod_http2 does.
                    h2.session.graceful_shutdown();
                    let _ = write_out(h2, t);
                    return Next::Linger;
                }
                return Next::Close;
            }
            let mut socket = false;
            for r in &ready {
                if r.token == WAKE {
                    drain(wake_rx);
                } else {
                    socket = true;
                }
            }
            socket
        };
        if socket_ready && !read_nonblocking(h2, t, scratch) {
            return Next::Close;
        }
    }
}

fn drain(wake: &UnixStream) {
    let mut buf = [0u8; 64];
    let mut r = wake;
    while let Ok(n) = r.read(&mut buf) {
        if n < buf.len() {
            break;
        }
    }
}
