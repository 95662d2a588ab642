//! The readiness driver of the event MPM: non-blocking steps over a [`Connection`]
//! that return as soon as the connection would wait, saying where it goes next
//! ([`Next`]). The listener thread calls [`try_inline`] when a parked connection
//! becomes readable (requests without a body whose handler cannot block are served
//! right there, with no hand-off) and [`continue_write`] for write completion; a worker
//! thread calls [`serve_available`] for everything else.
//!
//! A request body of up to [`BODY_COLLECT_MAX`] bytes is collected on the listener (the
//! connection parked in epoll, bounded by `RequestReadTimeout body=` and Timeout) before
//! a worker runs the request, so a client that sends its body slowly holds no thread, as
//! nginx buffers bodies before proxying. Larger bodies, bodies after `Expect:
//! 100-continue` and streamed responses (CGI, proxy) are transferred with blocking I/O
//! bounded by Timeout on the worker, as Apache's event MPM does.

use std::io::ErrorKind;

use rhttpd_http::{After, BodyBuffered, BodyFraming, Event, RequestHead};

use super::exchange::{self, Clock, Exchange};
use super::protocol::Protocol;
use super::{ConnObserver, Connection, Outgoing, Phase, Progress};
use crate::conf::VirtualHost;
use crate::site::Site;

/// Where the connection goes next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// A request head is incomplete: wait for more input (Timeout).
    ReadMore,
    /// Idle between requests: the keep-alive queue (KeepAliveTimeout).
    KeepAlive,
    /// `conn.out` is waiting for the transport (Timeout).
    WriteCompletion,
    /// Done: shut down our side and drain the peer (lingering close).
    Linger,
    /// Done: close at once.
    Close,
    /// Switched protocols: relay between the client and `conn.tunnel`'s peer (both
    /// sockets parked; the tunnel's idle timeout).
    Tunnel,
    /// A handler's work waits for its descriptor (`conn.info.pending`; Timeout): then
    /// the request runs again.
    Pending,
}

/// Bytes read per call at most, so one busy connection does not hold the thread.
const READ_BUDGET: usize = 64 * 1024;
/// Request bodies up to this size are collected on the listener before a worker runs
/// the request (nginx's client_body_buffer_size on 64-bit systems).
pub const BODY_COLLECT_MAX: usize = 16 * 1024;

/// The host that answers before a request names one (limits and timeouts).
pub fn default_host<'s>(site: &'s Site, conn: &Connection) -> &'s VirtualHost {
    let cfg = &site.cfg;
    crate::conf::vhost::host(cfg, crate::conf::vhost::select(cfg, conn.info.local, None))
}

/// Read what the transport has without blocking (through `scratch`, so that a
/// connection's buffer holds only what arrived), and move the head's RequestReadTimeout
/// limit accordingly. False when the peer closed or failed.
fn read_available(conn: &mut Connection, scratch: &mut [u8]) -> bool {
    let open = read_into(conn, scratch);
    conn.head_timer.received(open.1);
    open.0
}

/// The reads of [`read_available`]: (still open, bytes read).
fn read_into(conn: &mut Connection, scratch: &mut [u8]) -> (bool, usize) {
    let Protocol::H1(h1) = &mut conn.protocol else {
        return (true, 0);
    };
    let mut total = 0usize;
    loop {
        match conn.transport.read(scratch) {
            Ok(0) => return (false, total),
            Ok(n) => {
                h1.feed(&scratch[..n]);
                total += n;
                // Input a TLS transport holds already is read now: epoll would not
                // announce it.
                if (n < scratch.len() || total >= READ_BUDGET)
                    && !conn.transport.has_pending_input()
                {
                    return (true, total);
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return (true, total),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return (false, total),
        }
    }
}

/// Where to wait when no complete request is buffered (a head on its way starts its
/// RequestReadTimeout limit).
fn wait_for_input(conn: &mut Connection, host: &VirtualHost) -> Next {
    if conn.h1().is_none_or(|h1| h1.is_idle()) {
        Next::KeepAlive
    } else {
        conn.arm_head_timer(&host.req_timeout);
        Next::ReadMore
    }
}

/// On a worker thread (handlers may block): serve every complete request that has
/// arrived, until the connection must wait.
pub fn serve_available(
    conn: &mut Connection,
    site: &Site,
    obs: &mut dyn ConnObserver,
    scratch: &mut [u8],
) -> Next {
    let host = default_host(site, conn);
    if let Protocol::H2(_) = conn.protocol {
        return super::h2::on_worker(conn, site, obs, scratch);
    }
    if !read_available(conn, scratch) && !conn.has_buffered_input() {
        return Next::Close;
    }
    let limit = host.base_dir.limit_request_body();
    loop {
        match super::switch_protocol(conn, host) {
            super::Switch::Switched => return super::h2::on_worker(conn, site, obs, scratch),
            super::Switch::NeedMore => return wait_for_input(conn, host),
            super::Switch::Stay => {}
        }
        obs.phase(Phase::Read);
        let clock = Clock::now();
        let Protocol::H1(h1) = &mut conn.protocol else {
            return Next::Close;
        };
        let head = match h1.next_request(&host.limits, limit) {
            Event::Request(h) => h,
            Event::NeedInput => return wait_for_input(conn, host),
            Event::Invalid(e) => return answer_invalid(conn, site, e.status(), clock),
        };
        if super::h2::upgrade(&head, host, conn.info.tls.is_some()).is_some() {
            let _ = conn.transport.set_blocking(Some(host.timeout));
        }
        let head = match super::upgrade_to_h2c(conn, host, head) {
            super::Upgrade::Declined(head) => head,
            super::Upgrade::Done => return super::h2::on_worker(conn, site, obs, scratch),
            super::Upgrade::Failed => return Next::Close,
        };
        obs.request_started(&head, &conn.info);
        if head.body != BodyFraming::None {
            // Bodies are read with blocking I/O bounded by Timeout.
            let _ = conn.transport.set_blocking(Some(host.timeout));
        }
        let Some((ex, out)) = exchange::run(conn, site, head, obs, clock, None) else {
            return Next::Close;
        };
        match write_response(conn, site, obs, ex, out, host) {
            Next::KeepAlive if conn.has_buffered_input() => {} // pipelined
            next => return next,
        }
    }
}

/// On the listener thread, which must not block: serve requests without a body whose
/// handler cannot block (static files, status). `None` as soon as a request needs a
/// worker (its bytes stay buffered for [`serve_available`]).
pub fn try_inline(
    conn: &mut Connection,
    site: &Site,
    obs: &mut dyn ConnObserver,
    scratch: &mut [u8],
) -> Option<Next> {
    if let Protocol::H2(_) = conn.protocol {
        return super::h2::inline(conn, site, obs, scratch);
    }
    if !read_available(conn, scratch) && !conn.has_buffered_input() {
        return Some(Next::Close);
    }
    serve_buffered_inline(conn, site, obs, scratch)
}

/// [`try_inline`] on what is buffered already, without reading first (a request whose
/// pending work has just completed: the client sent nothing that epoll announced).
pub fn serve_buffered_inline(
    conn: &mut Connection,
    site: &Site,
    obs: &mut dyn ConnObserver,
    scratch: &mut [u8],
) -> Option<Next> {
    let host = default_host(site, conn);
    let limit = host.base_dir.limit_request_body();
    loop {
        match super::switch_protocol(conn, host) {
            super::Switch::Switched => return super::h2::inline(conn, site, obs, scratch),
            super::Switch::NeedMore => return Some(wait_for_input(conn, host)),
            super::Switch::Stay => {}
        }
        // The run after a pending wait: the request as it was parsed then (a stale
        // one, left by a request a worker finished, is dropped).
        let waited = conn
            .waiting_request
            .take()
            .filter(|w| conn.info.pending.is_filled() && w.2 == conn.info.keepalives);
        let clock = waited.as_ref().map_or_else(Clock::now, |w| w.1);
        conn.note_transport();
        let Protocol::H1(h1) = &mut conn.protocol else {
            return Some(Next::Close);
        };
        let head = match waited {
            Some((head, ..)) => head,
            None => match h1.peek_request(&host.limits) {
                Ok(Some(h)) => h,
                Ok(None) => return Some(wait_for_input(conn, host)),
                Err(e) => {
                    let _ = h1.next_request(&host.limits, limit);
                    return Some(answer_invalid(conn, site, e.status(), clock));
                }
            },
        };
        if head.body != BodyFraming::None {
            return collect_body(conn, site, &head, limit).then_some(Next::ReadMore);
        }
        if super::h2::upgrade(&head, host, conn.info.tls.is_some()).is_some() {
            // The 101 and the switch happen on a worker.
            return None;
        }
        // A handler may leave work to wait for here (a request sent to a backend); on
        // the run after that wait, the work is already there.
        let resumed = conn.info.pending.is_filled();
        conn.info.pending.open();
        let ran = crate::pipeline::process_inline(&site.cfg, &site.handlers, &conn.info, &head);
        conn.info.pending.close_if_empty();
        let ran = match ran {
            Ok(ran) => ran,
            Err(_) if !resumed && conn.info.pending.is_filled() => {
                conn.waiting_request = Some((head, clock, conn.info.keepalives));
                return Some(Next::Pending);
            }
            Err(_) => return None,
        };
        if ran.0.body.is_stream() {
            return None;
        }
        h1.accept_request(&head, limit);
        obs.request_started(&head, &conn.info);
        let Some((ex, out)) = exchange::run(conn, site, head, obs, clock, Some(ran)) else {
            return Some(Next::Close);
        };
        match write_response(conn, site, obs, ex, out, host) {
            Next::KeepAlive if conn.has_buffered_input() => {}
            next => return Some(next),
        }
    }
}

/// Whether to keep collecting the body of `head` on the listener (true: park it for more
/// input under the body's RequestReadTimeout limit) rather than hand the request to a
/// worker now: the whole body is here, it is larger than [`BODY_COLLECT_MAX`], the
/// client waits for `100 Continue`, or its length is over LimitRequestBody (answered at
/// once).
fn collect_body(conn: &mut Connection, site: &Site, head: &RequestHead, limit: u64) -> bool {
    let over_limit = matches!(head.body, BodyFraming::Length(n) if limit != 0 && n > limit);
    if head.expect_continue || over_limit {
        return false;
    }
    if conn
        .h1()
        .is_none_or(|h1| h1.body_buffered(head, BODY_COLLECT_MAX) != BodyBuffered::Partial)
    {
        return false;
    }
    let cfg = &site.cfg;
    let host = crate::conf::vhost::select(cfg, conn.info.local, head.host.as_deref());
    let body = crate::conf::vhost::host(cfg, host).req_timeout.body;
    conn.head_timer.arm_body(&body);
    true
}

/// Start writing a prepared response, log it, and say where the connection goes.
fn write_response(
    conn: &mut Connection,
    site: &Site,
    obs: &mut dyn ConnObserver,
    mut ex: Exchange,
    out: Option<Outgoing>,
    host: &VirtualHost,
) -> Next {
    let Some(mut out) = out else {
        ex.finish(&mut conn.info, site, obs, None, false);
        return Next::Close;
    };
    if let Some(tunnel) = ex.take_tunnel() {
        // 101 Switching Protocols: once the head is out, the listener relays.
        if conn.transport.set_blocking(None).is_err() {
            return Next::Close;
        }
        let progress = out.write_some(&mut *conn.transport);
        if progress == Progress::Failed {
            ex.finish(&mut conn.info, site, obs, Some(&out), false);
            return Next::Close;
        }
        conn.open_tunnel(tunnel, ex);
        if progress == Progress::WouldBlock {
            conn.out = Some(out);
            return Next::WriteCompletion;
        }
        return Next::Tunnel;
    }
    if out.has_stream() {
        // Streams keep the worker: written to the end with blocking I/O.
        let _ = conn.transport.set_blocking(Some(host.timeout));
        let ok = out.write_some(&mut *conn.transport) == Progress::Done;
        ex.finish(&mut conn.info, site, obs, Some(&out), ok);
        if !ok || conn.transport.set_blocking(None).is_err() {
            return Next::Close;
        }
        return after_response(conn);
    }
    if conn.transport.set_blocking(None).is_err() {
        return Next::Close;
    }
    let progress = out.write_some(&mut *conn.transport);
    ex.finish(
        &mut conn.info,
        site,
        obs,
        Some(&out),
        progress != Progress::Failed,
    );
    match progress {
        Progress::Done => after_response(conn),
        Progress::WouldBlock => {
            conn.out = Some(out);
            Next::WriteCompletion
        }
        Progress::Failed => Next::Close,
    }
}

/// Answer input that is not a request, then close (lingering).
fn answer_invalid(
    conn: &mut Connection,
    site: &Site,
    status: http::StatusCode,
    clock: Clock,
) -> Next {
    let out = exchange::reject(conn, site, status, clock);
    if conn.transport.set_blocking(None).is_err() {
        return Next::Close;
    }
    conn.out = Some(out);
    continue_h1(conn)
}

/// mod_reqtimeout's limit for the head (or the handshake) passed while the connection
/// was parked: log it, answer 408 when part of a request arrived, and close.
pub fn head_timed_out(conn: &mut Connection, site: &Site) -> Next {
    super::deadline::log_timeout(conn.head_timer.stage(), conn.info.client);
    if !conn.has_buffered_input() || conn.transport.handshake_pending() {
        return Next::Close;
    }
    answer_invalid(conn, site, http::StatusCode::REQUEST_TIMEOUT, Clock::now())
}

/// Continue writing `conn.out` (write completion on the listener thread); an HTTP/2
/// connection writes its session's output and sends more DATA as windows allow.
pub fn continue_write(conn: &mut Connection, site: &Site, obs: &mut dyn ConnObserver) -> Next {
    if let Protocol::H2(_) = conn.protocol {
        return super::h2::continue_write(conn, site, obs);
    }
    continue_h1(conn)
}

fn continue_h1(conn: &mut Connection) -> Next {
    let Some(out) = conn.out.as_mut() else {
        return after_response(conn);
    };
    match out.write_some(&mut *conn.transport) {
        Progress::Done => {
            conn.out = None;
            if conn.tunnel.is_some() {
                return Next::Tunnel;
            }
            after_response(conn)
        }
        Progress::WouldBlock => Next::WriteCompletion,
        Progress::Failed => Next::Close,
    }
}

/// The response is on the wire: keep-alive, or close (at once when the request was
/// read completely and the peer has nothing in flight, lingering otherwise).
fn after_response(conn: &mut Connection) -> Next {
    let Protocol::H1(h1) = &mut conn.protocol else {
        return Next::Close;
    };
    match h1.response_sent() {
        After::KeepAlive => Next::KeepAlive,
        After::Close { clean } if clean && !conn.transport.peer_has_sent() => Next::Close,
        After::Close { .. } => Next::Linger,
    }
}
