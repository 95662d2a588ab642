//! Moving an HTTP/2 connection's bytes: the blocking loop of worker threads and `-X`
//! ([`blocking`]), and the event MPM's steps: [`inline`] on the listener thread (serves
//! the requests whose handler cannot block, writes without waiting), [`on_worker`] on a
//! worker thread (runs everything else, then hands the connection back to epoll), and
//! [`continue_write`] for write completion.
//!
//! Waiting is bounded as for HTTP/1.1: KeepAliveTimeout while no stream is open (the
//! connection then ends with GOAWAY), Timeout while a stream waits for the client.

use std::collections::VecDeque;
use std::io::ErrorKind;

use super::H2Conn;
use crate::conn::readiness::Next;
use crate::conn::{ConnObserver, Connection, Phase, Progress, Protocol};
use crate::handler::{Body, ConnInfo};
use crate::site::Site;
use crate::transport::Transport;

/// Octets read per inline step at most, so one busy connection does not hold the
/// listener.
const READ_BUDGET: usize = 64 * 1024;

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

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
        Next::Close
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
    (!matches!(ran.0.body, Body::Stream(_))).then_some(ran)
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

/// Run every complete request (they may block) and write their responses, with the
/// transport blocking (Timeout); a stopping server's GOAWAY goes out once they are
/// done. False when the transport failed.
fn serve_runnable(conn: &mut Connection, site: &Site, obs: &mut dyn ConnObserver) -> bool {
    let Protocol::H2(h2) = &mut conn.protocol else {
        return false;
    };
    let t = &mut *conn.transport;
    let info = &mut conn.info;
    loop {
        if let Some(id) = h2.runnable.pop_front() {
            // What is queued (our SETTINGS, earlier responses) leaves before a handler
            // that may take long.
            if !h2.session.output().is_empty() && write_out(h2, t) != Progress::Done {
                return false;
            }
            h2.run_stream(id, info, site, obs, None);
        }
        h2.fill(true, info, site, obs);
        // Stopping: the GOAWAY leaves with the frames that end the last streams (a
        // client may close once it has its responses).
        if obs.stopping() {
            h2.session.graceful_shutdown();
        }
        if h2.session.output().is_empty() {
            if h2.runnable.is_empty() {
                break;
            }
            continue;
        }
        if write_out(h2, t) != Progress::Done {
            return false;
        }
    }
    write_out(h2, t) == Progress::Done
}

/// Wait for the client (KeepAliveTimeout when no stream is open, else Timeout) and
/// feed what it sent. False when the connection is over.
fn read_blocking(
    conn: &mut Connection,
    site: &Site,
    obs: &mut dyn ConnObserver,
    scratch: &mut [u8],
) -> bool {
    let host = crate::conn::readiness::default_host(site, conn);
    let Protocol::H2(h2) = &mut conn.protocol else {
        return false;
    };
    let idle = h2.is_idle();
    obs.phase(if idle { Phase::KeepAlive } else { Phase::Read });
    let wait = if idle {
        host.keep_alive_timeout
    } else {
        host.timeout
    };
    let t = &mut *conn.transport;
    let _ = t.set_read_timeout(wait);
    loop {
        match t.read(scratch) {
            Ok(0) => return false,
            Ok(n) => {
                h2.recv(&scratch[..n]);
                return true;
            }
            Err(e) if is_timeout(&e) => {
                if idle {
                    // Idle past KeepAliveTimeout: say goodbye, as mod_http2 does.
                    h2.session.graceful_shutdown();
                    let _ = write_out(h2, t);
                }
                return false;
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}

/// A worker thread or `-X` runs the connection to its end.
pub fn blocking(conn: &mut Connection, site: &Site, obs: &mut dyn ConnObserver) {
    let timeout = crate::conn::readiness::default_host(site, conn).timeout;
    if conn.transport.set_blocking(Some(timeout)).is_err() {
        return;
    }
    let mut scratch = vec![0u8; 16 * 1024];
    loop {
        if !serve_runnable(conn, site, obs) {
            return;
        }
        let Protocol::H2(h2) = &conn.protocol else {
            return;
        };
        if h2.session.is_done() || !read_blocking(conn, site, obs, &mut scratch) {
            return;
        }
    }
}

/// On an event worker: run what may block, then give the connection back to the
/// listener as soon as only waiting is left.
pub fn on_worker(
    conn: &mut Connection,
    site: &Site,
    obs: &mut dyn ConnObserver,
    scratch: &mut [u8],
) -> Next {
    let timeout = crate::conn::readiness::default_host(site, conn).timeout;
    if conn.transport.set_blocking(Some(timeout)).is_err() {
        return Next::Close;
    }
    loop {
        if !serve_runnable(conn, site, obs) {
            return Next::Close;
        }
        let Protocol::H2(h2) = &conn.protocol else {
            return Next::Close;
        };
        if h2.session.is_done() {
            return Next::Close;
        }
        if !h2.needs_thread() && !conn.transport.has_pending_input() {
            if conn.transport.set_blocking(None).is_err() {
                return Next::Close;
            }
            let Protocol::H2(h2) = &mut conn.protocol else {
                return Next::Close;
            };
            return pump(h2, &mut *conn.transport, &mut conn.info, site, obs);
        }
        if !read_blocking(conn, site, obs, scratch) {
            return Next::Close;
        }
    }
}
