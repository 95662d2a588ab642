//! mod_proxy_http without a worker, for the event listener's common case: a request
//! without a body to a plain HTTP backend with an idle pooled connection. On the
//! listener's first run of the request ([`start`]) the request head is sent with one
//! non-blocking send and the connection is left as [`Sent`] in the request's pending
//! slot; the listener waits for the backend's answer in epoll (no worker, no context
//! switch). When the whole answer has arrived (head and a small body), the request runs
//! again and `proxy_http::serve` answers it from what was read, on the listener; a
//! large, streamed or failed answer is finished by a worker instead, which takes the
//! connection and the bytes read so far over ([`take`]).
//!
//! Nothing here blocks: sends and receives use MSG_DONTWAIT on the pooled connection's
//! (blocking) socket, so its mode never changes.

use std::any::Any;
use std::os::fd::BorrowedFd;

use rhttpd_http::{BodyDecoder, BodyFraming, Limits, Method, parse_response_head};
use rhttpd_http::{BodyFraming as F, response_framing};

use super::proxy_backend::{self, Conn};
use super::proxy_pool::{self, PoolLimits};
use crate::conf::proxy::{Backend, BackendAddr, Scheme};
use crate::handler::{Pending, Request};

/// Answers larger than this are streamed by a worker instead of collected here (as are
/// chunked ones, which keep their framing).
const COLLECT_MAX: usize = 64 * 1024;

/// A request sent to a backend, waiting for the answer.
pub(crate) struct Sent {
    conn: Conn,
    buf: Vec<u8>,
    /// The request this belongs to: its target and the connection's request count.
    target: String,
    served: u32,
    method: Method,
    /// The whole answer is in `buf` (the listener can answer without blocking).
    complete: bool,
    /// The backend's timeout (`timeout=`, ProxyTimeout, Timeout) and whether the
    /// listener's wait reached it.
    timeout: std::time::Duration,
    timed_out: bool,
}

impl Sent {
    fn fd(&self) -> BorrowedFd<'_> {
        self.conn.fd()
    }
}

/// Whether `buf` holds a whole answer: the head and a body that decodes to its end from
/// what is there (`None`: not yet, or not collectable here).
pub(crate) fn whole_answer(buf: &[u8], method: &Method) -> Option<bool> {
    let head = match parse_response_head(buf, &Limits::default()) {
        Ok(Some(h)) => h,
        Ok(None) => return Some(false),
        Err(_) => return None,
    };
    if head.status.is_informational() {
        return None;
    }
    let framing = response_framing(method, head.status, &head.headers).ok()?;
    // A chunked answer stays chunked: a worker streams it.
    if framing == BodyFraming::Chunked {
        return None;
    }
    Some(whole_body(framing, &buf[head.head_len..]).is_some())
}

/// The decoded body when `rest` (the bytes after the head) holds all of it and nothing
/// more.
pub(crate) fn whole_body(framing: BodyFraming, rest: &[u8]) -> Option<Vec<u8>> {
    match framing {
        F::None | F::Length(0) => return rest.is_empty().then(Vec::new),
        F::UntilClose => return None,
        _ => {}
    }
    let mut d = BodyDecoder::new(framing, 0);
    let mut out = Vec::with_capacity(rest.len());
    let mut pos = 0;
    loop {
        if d.is_done() {
            return (pos == rest.len()).then_some(out);
        }
        let r = d.decode(&rest[pos..]).ok()?;
        if r.consumed == 0 && r.data.is_empty() {
            return None;
        }
        out.extend_from_slice(r.data);
        pos += r.consumed;
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
        // Closed or failed: a worker retries, reads to the end or answers 502.
        if self.conn.read_ready(&mut self.buf, COLLECT_MAX) {
            return true;
        }
        match whole_answer(&self.buf, &self.method) {
            Some(true) => {
                self.complete = true;
                true
            }
            Some(false) => false,
            None => true,
        }
    }

    fn timeout(&self) -> std::time::Duration {
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

/// On the listener: send the request (`request_head`, made by mod_proxy_http) to an idle
/// pooled connection without blocking and leave it in the request's pending slot. False when this request does not qualify
/// (a body, TLS, an upgrade, no idle connection, the slot closed) or the send did not
/// take the whole head: a worker serves it as usual.
pub(crate) fn start(
    req: &Request<'_>,
    backend: &Backend,
    target: &str,
    request_head: impl FnOnce() -> Vec<u8>,
) -> bool {
    if !req.conn.pending.is_open()
        || req.head.body != BodyFraming::None
        || backend.scheme != Scheme::Http
        || backend.params.disable_reuse
        // `max=` permits are waited for, which only a worker may do.
        || backend.params.max.is_some()
        || matches!(backend.addr, BackendAddr::Unix(_))
        || super::proxy_tunnel::requested(req, backend).is_some()
    {
        return false;
    }
    let Some(conn) = proxy_pool::take_on_listener(backend.key(), &PoolLimits::of(&backend.params))
    else {
        return false;
    };
    let head = request_head();
    let sent = Sent {
        conn,
        buf: Vec::new(),
        target: target.to_string(),
        served: req.conn.keepalives,
        method: req.head.method.clone(),
        complete: false,
        timeout: proxy_backend::io_timeout(req, backend),
        timed_out: false,
    };
    match rhttpd_sys::net::send_dontwait(sent.fd(), &head) {
        Ok(n) if n == head.len() => {}
        // Part of a request went out: this connection cannot carry another one.
        _ => return false,
    }
    let _ = req.conn.pending.offer(Box::new(sent));
    false
}

/// On the run after the wait: `Some(true)` when the pending answer is this request's and
/// whole (served here), `Some(false)` when a worker must finish (or it is not this
/// request's), `None` when nothing is pending.
pub(crate) fn ready_for(req: &Request<'_>, target: &str) -> Option<bool> {
    req.conn.pending.with(|p| {
        p.as_any()
            .downcast_ref::<Sent>()
            .is_some_and(|s| s.complete && s.target == target && s.served == req.conn.keepalives)
    })
}

/// What a worker takes over from [`start`].
pub(crate) struct TakenOver {
    pub conn: Conn,
    /// What the backend answered so far.
    pub buf: Vec<u8>,
    /// The listener already waited the backend's whole timeout.
    pub timed_out: bool,
    /// `buf` holds the whole answer.
    pub complete: bool,
}

/// Take over the request [`start`] sent for this request (the same target, on the same
/// request of the connection).
pub(crate) fn take(req: &Request<'_>, target: &str) -> Option<TakenOver> {
    let sent = req.conn.pending.take::<Sent>()?;
    (sent.target == target && sent.served == req.conn.keepalives).then(|| TakenOver {
        conn: sent.conn,
        buf: sent.buf,
        timed_out: sent.timed_out,
        complete: sent.complete,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_answers_are_recognised() {
        let get = Method::GET;
        assert_eq!(
            whole_answer(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", &get),
            Some(true)
        );
        assert_eq!(
            whole_answer(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab", &get),
            Some(false)
        );
        assert_eq!(
            whole_answer(b"HTTP/1.1 200 OK\r\nContent-Le", &get),
            Some(false)
        );
        // Chunked answers keep their framing: a worker streams them.
        assert_eq!(
            whole_answer(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
                &get
            ),
            None
        );
        // Close-delimited, informational and broken answers go to a worker.
        assert_eq!(
            whole_answer(b"HTTP/1.1 200 OK\r\n\r\nabc", &get),
            Some(false)
        );
        assert_eq!(whole_answer(b"HTTP/1.1 100 Continue\r\n\r\n", &get), None);
        assert_eq!(whole_answer(b"garbage\r\n\r\n", &get), None);
        assert_eq!(
            whole_body(BodyFraming::Length(3), b"abcd"),
            None,
            "extra bytes"
        );
        assert_eq!(whole_body(BodyFraming::None, b""), Some(Vec::new()));
    }
}
