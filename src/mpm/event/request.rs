//! What an event worker thread does with a connection that has input: read what
//! arrived (non-blocking), parse request heads with the sans-I/O engine, run each
//! complete request through the same pipeline every MPM uses, and start writing the
//! response. It returns the connection to the listener as soon as it would have to
//! wait: for the rest of a request head, for the socket to take more of a response
//! (write completion), or for the next request (keep-alive).
//!
//! Request bodies and streamed responses (CGI, proxy) are handled with blocking I/O
//! on the worker (bounded by Timeout), as Apache's event MPM does.

use std::io::{ErrorKind, Read};
use std::net::{Shutdown, TcpStream};
use std::time::{Instant, SystemTime};

use rhttpd_http::{
    BodyFraming, RequestHead, ResponseLength, parse_request_head, write_response_head,
};

use super::outgoing::{Outgoing, Progress};
use crate::conn::{
    ConnObserver, Finished, InBuf, Phase, keep_alive_policy, reject, run_request, write_response,
};
use crate::handler::{Body, ConnInfo};
use crate::site::{AccessEntry, Site};

/// A connection between requests, owned by the listener or by one worker at a time.
/// An idle one holds no buffer: `input` is empty with no capacity.
pub struct EventConn {
    pub stream: TcpStream,
    pub info: ConnInfo,
    /// Bytes received but not consumed (a partial head, or pipelined requests).
    pub input: Vec<u8>,
    pub served: u32,
    /// A response the socket has not taken in full yet.
    pub out: Option<Outgoing>,
    /// What to do once `out` is written: keep-alive or lingering close.
    pub keep_alive_after: bool,
    /// The socket is in blocking mode (only while a body or a stream is transferred).
    blocking: bool,
    /// The last request was read completely: a close needs no lingering unless the
    /// peer still has data in flight.
    clean: bool,
}

/// Where the connection goes next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// A request head is incomplete: wait for more input (Timeout).
    ReadMore,
    /// Idle between requests: the keep-alive queue (KeepAliveTimeout).
    KeepAlive,
    /// `out` is waiting for the socket (Timeout).
    WriteCompletion,
    /// Done: shut down our side and drain the peer (lingering close).
    Linger,
    /// Done: close at once.
    Close,
}

impl EventConn {
    pub fn new(stream: TcpStream, info: ConnInfo) -> Self {
        EventConn {
            stream,
            info,
            input: Vec::new(),
            served: 0,
            out: None,
            keep_alive_after: false,
            blocking: false,
            clean: true,
        }
    }

    /// Switch between blocking (with Timeout) and non-blocking I/O, only when it changes.
    fn set_blocking(&mut self, on: bool, timeout: std::time::Duration) {
        if on == self.blocking {
            return;
        }
        let _ = self.stream.set_nonblocking(!on);
        if on {
            let _ = self.stream.set_read_timeout(Some(timeout));
            let _ = self.stream.set_write_timeout(Some(timeout));
        }
        self.blocking = on;
    }

    /// Read what the socket has (non-blocking), at most 64 KiB per call. Returns false
    /// when the peer closed or failed.
    fn read_available(&mut self, scratch: &mut [u8]) -> bool {
        let mut total = 0usize;
        loop {
            let mut s = &self.stream;
            match s.read(scratch) {
                Ok(0) => return false,
                Ok(n) => {
                    self.input.extend_from_slice(&scratch[..n]);
                    total += n;
                    if n < scratch.len() || total >= 64 * 1024 {
                        return true;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
    }

    /// Continue writing `out`; used by the worker first and then by the listener.
    pub fn continue_write(&mut self) -> Next {
        let Some(out) = self.out.as_mut() else {
            return self.after_write();
        };
        match out.write_some(&self.stream) {
            Progress::Done => {
                self.out = None;
                self.after_write()
            }
            Progress::WouldBlock => Next::WriteCompletion,
            Progress::Failed => Next::Close,
        }
    }

    fn after_write(&self) -> Next {
        if self.keep_alive_after {
            return Next::KeepAlive;
        }
        // Close at once when the peer has nothing in flight; linger otherwise.
        let mut one = [0u8; 1];
        if !self.clean || !self.input.is_empty() {
            return Next::Linger;
        }
        match self.stream.peek(&mut one) {
            Err(e) if e.kind() == ErrorKind::WouldBlock => Next::Close,
            _ => Next::Linger,
        }
    }

    /// Drop the input buffer's memory while the connection is idle.
    pub fn shrink_idle(&mut self) {
        if self.input.is_empty() {
            self.input = Vec::new();
        } else {
            self.input.shrink_to_fit();
        }
    }

    pub fn shutdown_write(&self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }
}

/// Serve what the connection has: every complete request in its input, until it must
/// wait (a worker thread: handlers may block).
pub fn process(
    conn: &mut EventConn,
    site: &Site,
    obs: &mut dyn ConnObserver,
    scratch: &mut [u8],
) -> Next {
    if !conn.read_available(scratch) && conn.input.is_empty() {
        return Next::Close;
    }
    loop {
        obs.phase(Phase::Read);
        let head = match next_head(conn, site) {
            Ok(h) => h,
            Err(next) => return next,
        };
        match serve_one(conn, head, site, obs, None) {
            Next::KeepAlive if !conn.input.is_empty() => {} // pipelined: go on here
            next => return next,
        }
    }
}

/// The same on the listener thread, which must not block: requests without a body
/// whose handler cannot block (static files, status) are served right here, with no
/// hand-off; `None` as soon as a request needs a worker (its bytes stay in `input`).
pub fn try_inline(
    conn: &mut EventConn,
    site: &Site,
    obs: &mut dyn ConnObserver,
    scratch: &mut [u8],
) -> Option<Next> {
    if !conn.read_available(scratch) && conn.input.is_empty() {
        return Some(Next::Close);
    }
    loop {
        let cfg = &site.cfg;
        let limits = &default_host(site, conn).limits;
        let head = match parse_request_head(&conn.input, limits) {
            Ok(Some(h)) => h,
            Ok(None) => {
                return Some(if conn.input.is_empty() && conn.served > 0 {
                    Next::KeepAlive
                } else {
                    Next::ReadMore
                });
            }
            // Errors are answered with a blocking write: a worker's job.
            Err(_) => return None,
        };
        if head.body != BodyFraming::None {
            return None;
        }
        let Ok(ran) = crate::pipeline::process_inline(cfg, &site.handlers, &conn.info, &head)
        else {
            return None;
        };
        let (resp, outcome) = ran;
        if matches!(resp.body, Body::Stream(_)) {
            return None;
        }
        conn.input.drain(..head.head_len);
        obs.request_started(&head, &conn.info);
        match serve_one(conn, head, site, obs, Some((resp, outcome))) {
            Next::KeepAlive if !conn.input.is_empty() => {}
            next => return Some(next),
        }
    }
}

fn default_host<'g>(site: &'g Site, conn: &EventConn) -> &'g crate::conf::VirtualHost {
    let cfg = &site.cfg;
    crate::conf::vhost::host(cfg, crate::conf::vhost::select(cfg, conn.info.local, None))
}

/// Parse the next head from `input` (consuming it), or say where to wait. Bad requests
/// are answered here (blocking write) and end in lingering close.
fn next_head(conn: &mut EventConn, site: &Site) -> Result<RequestHead, Next> {
    let host = default_host(site, conn);
    let started = SystemTime::now();
    let t0 = Instant::now();
    match parse_request_head(&conn.input, &host.limits) {
        Ok(Some(h)) => {
            conn.input.drain(..h.head_len);
            Ok(h)
        }
        Ok(None) => Err(if conn.input.is_empty() && conn.served > 0 {
            Next::KeepAlive
        } else {
            Next::ReadMore
        }),
        Err(e) => {
            conn.set_blocking(true, host.timeout);
            let buf = InBuf {
                data: std::mem::take(&mut conn.input),
                start: 0,
            };
            reject(
                &mut conn.stream,
                site,
                &conn.info,
                &buf,
                e.status(),
                started,
                t0,
            );
            Err(Next::Linger)
        }
    }
}

/// Run one request (unless `ran` already holds its response), start writing the
/// response and say where the connection goes next.
fn serve_one(
    conn: &mut EventConn,
    head: RequestHead,
    site: &Site,
    obs: &mut dyn ConnObserver,
    ran: Option<(crate::handler::Response, crate::pipeline::Outcome)>,
) -> Next {
    let cfg = &site.cfg;
    let default = default_host(site, conn);
    let started = SystemTime::now();
    let t0 = Instant::now();
    let mut body_in = 0;
    let mut body_complete = true;
    let (resp, outcome) = match ran {
        Some(r) => r,
        None => {
            obs.request_started(&head, &conn.info);
            if head.body != BodyFraming::None {
                // Bodies are read with blocking I/O bounded by Timeout.
                conn.set_blocking(true, default.timeout);
            }
            let mut buf = InBuf {
                data: std::mem::take(&mut conn.input),
                start: 0,
            };
            let limit = default.base_dir.limit_request_body();
            let ran = run_request(
                &mut conn.stream,
                &mut buf,
                site,
                &conn.info,
                &head,
                limit,
                obs,
            );
            body_complete = ran.body_complete;
            body_in = ran.body_bytes_in;
            let (resp, outcome) = (ran.response, ran.outcome);
            // What was read beyond this request stays as the next request's input.
            conn.input = buf.pending().to_vec();
            (resp, outcome)
        }
    };
    let host = crate::conf::vhost::host(cfg, outcome.vhost);
    let ka = keep_alive_policy(host, body_complete, obs.stopping(), conn.served);
    let (status, resp_headers, keep_alive, bytes_out, body_bytes, ok, pending) =
        if matches!(resp.body, Body::Stream(_)) {
            // Streams keep the worker: write them with the blocking driver.
            conn.set_blocking(true, default.timeout);
            let (status, headers, ka_ok, out, body, ok) =
                write_response(&mut conn.stream, site, &head, resp, &ka);
            (status, headers, ka_ok, out, body, ok, None)
        } else {
            let length = match resp.body.len() {
                Some(n) => ResponseLength::Known(n),
                None => ResponseLength::Unknown,
            };
            let date = rhttpd_http::http_date_now();
            let mut head_bytes = Vec::with_capacity(512);
            let framing = write_response_head(
                Some(&head),
                resp.status,
                &resp.headers,
                length,
                &ka,
                &site.banner,
                &date,
                &mut head_bytes,
            );
            let head_len = head_bytes.len() as u64;
            let body_len = if framing.send_body {
                resp.body.len().unwrap_or(0)
            } else {
                0
            };
            let status = resp.status.as_u16();
            match Outgoing::new(head_bytes, resp.body, framing.send_body) {
                Ok(out) => (
                    status,
                    resp.headers,
                    framing.keep_alive,
                    head_len + body_len,
                    body_len,
                    true,
                    Some(out),
                ),
                Err(_) => (status, resp.headers, false, 0, 0, false, None),
            }
        };
    conn.served += 1;
    obs.phase(Phase::Log);
    let duration = t0.elapsed();
    site.log_access(&AccessEntry {
        info: &conn.info,
        head: Some(&head),
        outcome: &outcome,
        started,
        duration,
        status,
        original_status: outcome.original_status,
        body_bytes,
        bytes_in: head.head_len as u64 + body_in,
        bytes_out,
        response_headers: &resp_headers,
        keep_alive: keep_alive && ok,
    });
    obs.request_finished(&Finished {
        request_line: &head.request_line,
        vhost: host.server_name.as_deref().unwrap_or(""),
        bytes: body_bytes,
        duration,
    });
    conn.info.keepalives += 1;
    if !ok {
        return Next::Close;
    }
    conn.keep_alive_after = keep_alive;
    conn.clean = body_complete;
    conn.set_blocking(false, default.timeout);
    conn.out = pending;
    conn.continue_write()
}
