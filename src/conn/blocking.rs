//! The blocking driver: `-X`, prefork children and worker threads run a connection to
//! its end with it. Each step blocks on the transport, bounded as Apache bounds it:
//! `Timeout` for every read and write of a request; while waiting for the next request
//! on a kept-alive connection, `KeepAliveTimeout` until its first byte arrives. A
//! connection closed after a response goes through lingering close (shutdown of our
//! side, then discard input until EOF, 2 s idle / 30 s in all).

use std::io::{ErrorKind, Read};
use std::time::{Duration, Instant};

use rhttpd_http::{After, Event, StatusCode};

use super::exchange::{self, Clock};
use super::protocol::Protocol;
use super::{ConnObserver, Connection, Outgoing, Phase, Progress};
use crate::site::Site;

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

/// Write all of `out`; false when the transport failed or timed out.
fn write_all(conn: &mut Connection, out: &mut Outgoing) -> bool {
    out.write_some(&mut *conn.transport) == Progress::Done
}

/// Serve `conn` until it closes.
pub fn drive(mut conn: Connection, site: &Site, obs: &mut dyn ConnObserver) {
    let cfg = &site.cfg;
    let default_host =
        crate::conf::vhost::host(cfg, crate::conf::vhost::select(cfg, conn.info.local, None));
    let limit = default_host.base_dir.limit_request_body();
    let timeout = default_host.timeout;
    let rt = default_host.req_timeout;
    if conn.transport.set_blocking(Some(timeout)).is_err() {
        return;
    }
    loop {
        // 1. Wait for a request head.
        let Protocol::H1(h1) = &mut conn.protocol else {
            if super::h2::blocking(&mut conn, site, obs) {
                lingering_close(conn, obs);
            }
            return;
        };
        let mut idle = h1.is_idle();
        obs.phase(if idle { Phase::KeepAlive } else { Phase::Read });
        let mut wait = if idle {
            default_host.keep_alive_timeout
        } else {
            timeout
        };
        let mut socket_wait = wait;
        let _ = conn.transport.set_read_timeout(wait);
        let mut clock = Clock::now();
        let head = loop {
            match super::switch_protocol(&mut conn, default_host) {
                super::Switch::Switched => {
                    if super::h2::blocking(&mut conn, site, obs) {
                        lingering_close(conn, obs);
                    }
                    return;
                }
                super::Switch::NeedMore => {}
                super::Switch::Stay => {
                    let Protocol::H1(h1) = &mut conn.protocol else {
                        return;
                    };
                    match h1.next_request(&default_host.limits, limit) {
                        Event::Request(h) => break h,
                        Event::Invalid(e) => {
                            let mut out = exchange::reject(&mut conn, site, e.status(), clock);
                            if write_all(&mut conn, &mut out) {
                                lingering_close(conn, obs);
                            }
                            return;
                        }
                        Event::NeedInput => {}
                    }
                }
            }
            // RequestReadTimeout: no read waits past the head's (or handshake's) limit.
            conn.arm_head_timer(&rt);
            let now = Instant::now();
            let step = conn
                .head_timer
                .deadline()
                .map_or(wait, |at| wait.min(at.saturating_duration_since(now)));
            if step.is_zero() {
                head_timed_out(conn, site, clock);
                return;
            }
            if step != socket_wait {
                let _ = conn.transport.set_read_timeout(step);
                socket_wait = step;
            }
            let Protocol::H1(h1) = &mut conn.protocol else {
                return;
            };
            match h1.read_from(&mut *conn.transport) {
                Ok(0) => return,
                Ok(n) => {
                    if idle {
                        idle = false;
                        clock = Clock::now();
                        obs.phase(Phase::Read);
                        wait = timeout;
                    }
                    conn.head_timer.received(n);
                }
                Err(e) if is_timeout(&e) && conn.head_timer.expired(Instant::now()) => {
                    head_timed_out(conn, site, clock);
                    return;
                }
                Err(e) if is_timeout(&e) => {
                    // Apache answers 408 to a request that started arriving; a
                    // connection that sent nothing is just closed.
                    if !h1.buffered().is_empty() {
                        let mut out =
                            exchange::reject(&mut conn, site, StatusCode::REQUEST_TIMEOUT, clock);
                        write_all(&mut conn, &mut out);
                    }
                    return;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        };
        // An `Upgrade: h2c` request is answered as stream 1 of an HTTP/2 session.
        let head = match super::upgrade_to_h2c(&mut conn, default_host, head) {
            super::Upgrade::Declined(head) => head,
            super::Upgrade::Done => {
                if super::h2::blocking(&mut conn, site, obs) {
                    lingering_close(conn, obs);
                }
                return;
            }
            super::Upgrade::Failed => return,
        };
        obs.request_started(&head, &conn.info);

        // 2. Run it, 3. write the response, 4. log it.
        let Some((mut ex, out)) = exchange::run(&mut conn, site, head, obs, clock, None) else {
            return;
        };
        let Some(mut out) = out else {
            ex.finish(&mut conn.info, site, obs, None, false);
            return;
        };
        let ok = write_all(&mut conn, &mut out);
        if let Some(tunnel) = ex.take_tunnel() {
            // 101 Switching Protocols: relay on this process/thread until it ends.
            if ok {
                conn.open_tunnel(tunnel, ex);
                if let Some(relay) = conn.tunnel.as_mut() {
                    let mut scratch = vec![0u8; 16 * 1024];
                    super::tunnel::relay_blocking(relay, &mut *conn.transport, &mut scratch);
                }
                conn.close_tunnel(site, obs);
            } else {
                ex.finish(&mut conn.info, site, obs, Some(&out), false);
            }
            return;
        }
        ex.finish(&mut conn.info, site, obs, Some(&out), ok);
        if !ok {
            return;
        }
        let Protocol::H1(h1) = &mut conn.protocol else {
            return;
        };
        match h1.response_sent() {
            After::KeepAlive => {}
            After::Close { clean } => {
                close(conn, clean, obs);
                return;
            }
        }
    }
}

/// mod_reqtimeout's limit passed while a head (or the handshake) was awaited: log it
/// and, if part of a request arrived, answer 408; then close.
fn head_timed_out(mut conn: Connection, site: &Site, clock: Clock) {
    super::deadline::log_timeout(conn.head_timer.stage(), conn.info.client);
    if conn.has_buffered_input() && !conn.transport.handshake_pending() {
        let mut out = exchange::reject(&mut conn, site, StatusCode::REQUEST_TIMEOUT, clock);
        write_all(&mut conn, &mut out);
    }
}

/// Close after the last response: at once when the request was read completely and
/// the peer has nothing in flight (nginx's heuristic, saving the lingering round
/// trip), else lingering.
pub fn close(mut conn: Connection, clean: bool, obs: &mut dyn ConnObserver) {
    if clean && !conn.transport.peer_has_sent() {
        obs.phase(Phase::Closing);
        return;
    }
    lingering_close(conn, obs);
}

/// Apache's lingering close: stop sending, then read and discard until the client
/// closes, at most 2 s without data and 30 s in all, so that a client still sending
/// (pipelined requests, an unread body) sees our response instead of a reset.
pub fn lingering_close(mut conn: Connection, obs: &mut dyn ConnObserver) {
    obs.phase(Phase::Closing);
    if conn.transport.shutdown_write().is_err() {
        return;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    if conn
        .transport
        .set_blocking(Some(Duration::from_secs(2)))
        .is_err()
    {
        return;
    }
    let mut scratch = [0u8; 4096];
    while Instant::now() < deadline {
        match conn.transport.read(&mut scratch) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
}
