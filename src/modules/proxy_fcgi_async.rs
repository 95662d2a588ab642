//! mod_proxy_fcgi without a worker, for the event listener's common case: a request
//! without a body (a PHP page's GET) to a FastCGI application over a Unix socket, or
//! over TCP when an idle pooled connection exists (`enablereuse=on`). On the listener's
//! first run of the request ([`start`]) the connection is had without blocking (a
//! non-blocking `connect(2)` on the Unix socket, or the pool), the whole request —
//! BEGIN_REQUEST, PARAMS and the empty STDIN record — goes out with one non-blocking
//! send, and the connection waits in the request's pending slot as [`Sent`]: the
//! listener watches it in epoll. When END_REQUEST has arrived, the request runs again
//! and `proxy_fcgi` answers from the records read, on the listener; an answer larger
//! than [`COLLECT_MAX`], a closed or broken connection, or a wait that reached the
//! timeout is finished by a worker, which takes the connection and what was read over
//! ([`take`]).
//!
//! This is nginx's `fastcgi_pass` shape: no thread hand-off when nothing blocks.

use std::any::Any;
use std::os::fd::BorrowedFd;
use std::time::Duration;

use rhttpd_http::BodyFraming;

use super::proxy_backend::{self, Conn};
use super::proxy_pool::{self, PoolLimits};
use crate::conf::proxy::{Backend, BackendAddr};
use crate::handler::{Pending, Request};

/// The FastCGI record header's version byte, and the type of the record that ends a
/// request's answer (`proxy_fcgi.rs` has the other types).
pub(crate) const VERSION: u8 = 1;
pub(crate) const END_REQUEST: u8 = 3;

/// Answers larger than this are streamed by a worker instead of collected here.
const COLLECT_MAX: usize = 64 * 1024;

/// A FastCGI request sent, waiting for the application's records.
pub(crate) struct Sent {
    conn: Conn,
    buf: Vec<u8>,
    /// Where the record scan stopped (the start of the first incomplete record).
    scanned: usize,
    /// The request this belongs to: its SCRIPT_FILENAME and the connection's request
    /// count.
    script: String,
    served: u32,
    /// The connection came from the pool (one the application may have closed since,
    /// in blocking mode); else it was made here and is non-blocking.
    pooled: bool,
    /// END_REQUEST is in `buf` (the listener can answer without blocking).
    complete: bool,
    timeout: Duration,
    timed_out: bool,
}

/// Where the record stream in `buf` stands, from `from` (a record boundary).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Scan {
    /// Records up to this offset are whole; more are to come.
    Partial(usize),
    /// END_REQUEST ends at this offset.
    Ended(usize),
    /// Not a FastCGI record stream (a worker answers 502).
    Broken,
}

/// Walk the record headers in `buf` from `from`.
pub(crate) fn scan(buf: &[u8], mut from: usize) -> Scan {
    loop {
        let Some(h) = buf.get(from..from + 8) else {
            return Scan::Partial(from);
        };
        if h[0] != VERSION {
            return Scan::Broken;
        }
        let len = u16::from_be_bytes([h[4], h[5]]) as usize + h[6] as usize;
        let end = from + 8 + len;
        if end > buf.len() {
            return Scan::Partial(from);
        }
        if h[1] == END_REQUEST {
            return Scan::Ended(end);
        }
        from = end;
    }
}

impl Sent {
    fn fd(&self) -> BorrowedFd<'_> {
        self.conn.fd()
    }
}

impl Pending for Sent {
    fn fd(&self) -> BorrowedFd<'_> {
        Sent::fd(self)
    }

    fn in_listener(&mut self) -> &mut bool {
        &mut self.conn.in_listener
    }

    fn advance(&mut self) -> bool {
        // Closed before END_REQUEST, or failed: a worker retries or answers.
        if self.conn.read_ready(&mut self.buf, COLLECT_MAX) {
            return true;
        }
        match scan(&self.buf, self.scanned) {
            Scan::Partial(at) => {
                self.scanned = at;
                self.buf.len() > COLLECT_MAX
            }
            Scan::Ended(_) => {
                self.complete = true;
                true
            }
            Scan::Broken => true,
        }
    }

    fn timeout(&self) -> Duration {
        self.timeout
    }

    fn expire(&mut self) {
        self.timed_out = true;
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// On the listener: send the request (`request`, made by mod_proxy_fcgi: the records up
/// to the empty STDIN) without blocking and leave it in the request's pending slot.
/// Nothing happens when the request does not qualify (a body, `max=`, a TCP backend
/// without an idle pooled connection, the backend in error, the slot closed) or the
/// connection cannot be had or take the request at once: a worker serves it as usual.
pub(crate) fn start(
    req: &Request<'_>,
    backend: &Backend,
    script: &str,
    reuse: bool,
    request: impl FnOnce() -> Vec<u8>,
) {
    if !req.conn.pending.is_open()
        || req.head.body != BodyFraming::None
        // `max=` permits are waited for, which only a worker may do.
        || backend.params.max.is_some()
    {
        return;
    }
    let pooled = if reuse {
        proxy_pool::take_on_listener(backend.key(), &PoolLimits::of(&backend.params))
    } else {
        None
    };
    let (conn, pooled) = match pooled {
        Some(c) => (c, true),
        None => match &backend.addr {
            BackendAddr::Unix(path) => match proxy_backend::connect_unix_now(backend, path) {
                Some(c) => (c, false),
                None => return,
            },
            BackendAddr::Tcp { .. } => return,
        },
    };
    let head = request();
    let sent = Sent {
        conn,
        buf: Vec::new(),
        scanned: 0,
        script: script.to_string(),
        served: req.conn.keepalives,
        pooled,
        complete: false,
        timeout: proxy_backend::io_timeout(req, backend),
        timed_out: false,
    };
    match rhttpd_sys::net::send_dontwait(sent.fd(), &head) {
        Ok(n) if n == head.len() => {}
        // Part of a request went out: this connection cannot carry another one.
        _ => return,
    }
    let _ = req.conn.pending.offer(Box::new(sent));
}

/// On the run after the wait: `Some(true)` when this request's answer is whole and
/// `answerable` (given the records) says the listener may make the response from it,
/// `Some(false)` when a worker must finish it, `None` when nothing of this request's is
/// pending.
pub(crate) fn ready_for(
    req: &Request<'_>,
    script: &str,
    answerable: impl FnOnce(&[u8]) -> bool,
) -> Option<bool> {
    req.conn
        .pending
        .with(|p| {
            p.as_any()
                .downcast_ref::<Sent>()
                .filter(|s| s.script == script && s.served == req.conn.keepalives)
                .map(|s| s.complete && !s.timed_out && answerable(&s.buf))
        })
        .flatten()
}

/// What a worker (or the listener's second run) takes over from [`start`].
pub(crate) struct TakenOver {
    /// Non-blocking unless `pooled`.
    pub conn: Conn,
    /// The records read so far.
    pub buf: Vec<u8>,
    pub pooled: bool,
    /// `buf` ends with END_REQUEST.
    pub complete: bool,
    /// The listener already waited the backend's whole timeout.
    pub timed_out: bool,
}

/// Take over the request [`start`] sent for this request (the same script, on the same
/// request of the connection).
pub(crate) fn take(req: &Request<'_>, script: &str) -> Option<TakenOver> {
    let sent = req.conn.pending.take::<Sent>()?;
    (sent.script == script && sent.served == req.conn.keepalives).then(|| TakenOver {
        conn: sent.conn,
        buf: sent.buf,
        pooled: sent.pooled,
        complete: sent.complete,
        timed_out: sent.timed_out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(kind: u8, content: &[u8], pad: u8) -> Vec<u8> {
        let len = content.len() as u16;
        let mut out = vec![1, kind, 0, 1, (len >> 8) as u8, len as u8, pad, 0];
        out.extend_from_slice(content);
        out.extend(std::iter::repeat_n(0, pad as usize));
        out
    }

    #[test]
    fn record_scan_finds_the_end_of_the_request() {
        let mut buf = rec(6, b"Content-Type: text/plain\r\n\r\nhi", 2);
        let first = buf.len();
        assert_eq!(scan(&buf, 0), Scan::Partial(first));
        buf.extend(rec(7, b"warning", 1));
        let second = buf.len();
        let end = rec(3, &[0; 8], 0);
        // A record cut anywhere is partial, scanned up to the last whole one.
        for cut in 0..end.len() {
            let mut b = buf.clone();
            b.extend_from_slice(&end[..cut]);
            assert_eq!(scan(&b, 0), Scan::Partial(second), "cut {cut}");
            assert_eq!(scan(&b, first), Scan::Partial(second), "cut {cut}");
        }
        buf.extend(end);
        assert_eq!(scan(&buf, 0), Scan::Ended(buf.len()));
        assert_eq!(scan(&buf, second), Scan::Ended(buf.len()));
        // Another version byte is no FastCGI answer.
        assert_eq!(scan(b"HTTP/1.1 200 OK\r\n", 0), Scan::Broken);
        assert_eq!(scan(b"", 0), Scan::Partial(0));
    }
}
