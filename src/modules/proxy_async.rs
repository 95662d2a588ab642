//! mod_proxy_http without a worker, for the event listener's common case: a request
//! without a body to a plain HTTP backend with an idle pooled connection. On the
//! listener's first run of the request ([`start`]) the request head is sent with one
//! non-blocking send and the connection is left as [`Sent`] in the request's pending
//! slot; the listener waits for the backend's answer in epoll (no worker, no context
//! switch). When the whole answer has arrived (head and a small body), its head is
//! parsed once, here, and the request runs again: `proxy_http::serve` answers it from
//! the parsed head and the body bytes, on the listener; a
//! large, streamed or failed answer is finished by a worker instead, which takes the
//! connection and the bytes read so far over ([`take`]).
//!
//! Nothing here blocks: sends and receives use MSG_DONTWAIT on the pooled connection's
//! (blocking) socket, so its mode never changes.

use std::any::Any;
use std::os::fd::BorrowedFd;

use http::{HeaderMap, StatusCode};
use rhttpd_http::{BodyFraming, Limits, Method, Version, parse_response_head, response_framing};

use super::proxy_backend::{self, Conn};
use super::proxy_pool::{self, PoolLimits};
use crate::conf::proxy::{Backend, BackendAddr, Scheme};
use crate::handler::{Pending, Request};

/// Answers larger than this are streamed by a worker instead of collected here (as are
/// chunked ones, which keep their framing).
const COLLECT_MAX: usize = 64 * 1024;

/// A backend's answer head: status, version, headers and the body's framing.
pub(crate) type Parsed = (StatusCode, Version, HeaderMap, BodyFraming);

/// A request sent to a backend, waiting for the answer.
pub(crate) struct Sent {
    conn: Conn,
    buf: Vec<u8>,
    /// The request this belongs to: its target and the connection's request count.
    target: String,
    served: u32,
    method: Method,
    /// The whole answer is here (the listener can answer without blocking): its head,
    /// parsed, and `buf` holds exactly its body.
    parsed: Option<Parsed>,
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

/// What the bytes read so far of an answer are.
pub(crate) enum Collected {
    /// Not all of it yet.
    Partial,
    /// All of it: the parsed head; the head's bytes were taken off the buffer, which
    /// holds the body and nothing more.
    Whole(Parsed),
    /// Not collectable here (informational, chunked, broken, or more bytes than the
    /// body): a worker finishes it.
    Worker,
}

/// Whether `buf` holds a whole answer: a head and a body of exactly its
/// Content-Length (or none). `serve` uses the head parsed here instead of parsing it
/// again.
pub(crate) fn collect(buf: &mut Vec<u8>, method: &Method) -> Collected {
    let head = match parse_response_head(buf, &Limits::default()) {
        Ok(Some(h)) => h,
        Ok(None) => return Collected::Partial,
        Err(_) => return Collected::Worker,
    };
    if head.status.is_informational() {
        return Collected::Worker;
    }
    let Ok(framing) = response_framing(method, head.status, &head.headers) else {
        return Collected::Worker;
    };
    let body = (buf.len() - head.head_len) as u64;
    let want = match framing {
        BodyFraming::None => 0,
        BodyFraming::Length(n) => n,
        // Until the close: read to the end, then a worker answers. A chunked answer
        // stays chunked: a worker streams it.
        BodyFraming::UntilClose => return Collected::Partial,
        BodyFraming::Chunked => return Collected::Worker,
    };
    if body < want {
        return Collected::Partial;
    }
    if body > want {
        return Collected::Worker;
    }
    let parsed = (head.status, head.version, head.headers, framing);
    let head_len = head.head_len;
    buf.drain(..head_len);
    Collected::Whole(parsed)
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
        match collect(&mut self.buf, &self.method) {
            Collected::Whole(parsed) => {
                self.parsed = Some(parsed);
                true
            }
            Collected::Partial => false,
            Collected::Worker => true,
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
        parsed: None,
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
        p.as_any().downcast_ref::<Sent>().is_some_and(|s| {
            s.parsed.is_some() && s.target == target && s.served == req.conn.keepalives
        })
    })
}

/// What a worker takes over from [`start`].
pub(crate) struct TakenOver {
    pub conn: Conn,
    /// What the backend answered so far (only the body when `parsed` is there).
    pub buf: Vec<u8>,
    /// The listener already waited the backend's whole timeout.
    pub timed_out: bool,
    /// The whole answer's head: `buf` holds its body.
    pub parsed: Option<Parsed>,
}

/// Take over the request [`start`] sent for this request (the same target, on the same
/// request of the connection).
pub(crate) fn take(req: &Request<'_>, target: &str) -> Option<TakenOver> {
    let sent = req.conn.pending.take::<Sent>()?;
    (sent.target == target && sent.served == req.conn.keepalives).then(|| TakenOver {
        conn: sent.conn,
        buf: sent.buf,
        timed_out: sent.timed_out,
        parsed: sent.parsed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collected(answer: &[u8]) -> (&'static str, Vec<u8>) {
        let mut buf = answer.to_vec();
        let what = match collect(&mut buf, &Method::GET) {
            Collected::Partial => "partial",
            Collected::Whole(_) => "whole",
            Collected::Worker => "worker",
        };
        (what, buf)
    }

    #[test]
    fn whole_answers_are_recognised() {
        let (what, body) = collected(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc");
        assert_eq!(
            (what, &body[..]),
            ("whole", &b"abc"[..]),
            "the head is taken off"
        );
        let mut buf = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nX-A: b\r\n\r\n".to_vec();
        match collect(&mut buf, &Method::GET) {
            Collected::Whole((status, _, headers, framing)) => {
                assert_eq!(status, StatusCode::NOT_FOUND);
                assert_eq!(headers.get("x-a").unwrap(), "b");
                assert_eq!(framing, BodyFraming::Length(0));
                assert!(buf.is_empty());
            }
            _ => panic!("a whole empty answer"),
        }
        let partial = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab";
        assert_eq!(collected(partial), ("partial", partial.to_vec()));
        assert_eq!(collected(b"HTTP/1.1 200 OK\r\nContent-Le").0, "partial");
        // Chunked answers keep their framing: a worker streams them.
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
        assert_eq!(collected(chunked).0, "worker");
        // Close-delimited answers wait for the close; informational, broken answers
        // and bytes past the body go to a worker, the buffer untouched.
        assert_eq!(collected(b"HTTP/1.1 200 OK\r\n\r\nabc").0, "partial");
        assert_eq!(collected(b"HTTP/1.1 100 Continue\r\n\r\n").0, "worker");
        assert_eq!(collected(b"garbage\r\n\r\n").0, "worker");
        let extra = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcd";
        assert_eq!(collected(extra), ("worker", extra.to_vec()));
        // A HEAD answer has no body whatever its Content-Length says.
        let mut head = b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n".to_vec();
        assert!(matches!(
            collect(&mut head, &Method::HEAD),
            Collected::Whole(_)
        ));
    }
}
