//! The steps of one request that every driver shares: run the pipeline with the body
//! read from the connection, discard what the handler left of the body, make the
//! response head (keep-alive decided by the engine) and its writer; once written, log
//! it and tell the scoreboard.

use std::time::{Instant, SystemTime};

use http::HeaderMap;
use rhttpd_http::{BodyFraming, KeepAliveSettings, RequestHead, ResponseLength, StatusCode};

use super::body::BodyReader;
use super::outgoing::Outgoing;
use super::protocol::Protocol;
use super::{ConnObserver, Connection, Finished, Phase};
use crate::conf::VirtualHost;
use crate::handler::{Body, ConnInfo, Response, Tunnel};
use crate::pipeline::Outcome;
use crate::site::{AccessEntry, Site};

/// When a request started: its first byte, not the keep-alive wait before it (%t, %D).
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    pub started: SystemTime,
    pub t0: Instant,
}

impl Clock {
    pub fn now() -> Clock {
        Clock {
            started: SystemTime::now(),
            t0: Instant::now(),
        }
    }
}

/// A request whose response is being written: what the access log and the scoreboard
/// need once it is.
pub struct Exchange {
    head: RequestHead,
    outcome: Outcome,
    clock: Clock,
    status: u16,
    headers: HeaderMap,
    head_len: u64,
    /// Body bytes of a known-length body that is sent (0 for HEAD, 304 ...).
    body_len: u64,
    streamed: bool,
    bytes_in: u64,
    keep_alive: bool,
    /// A `101 Switching Protocols` answer's other end (see `tunnel.rs`).
    tunnel: Option<Tunnel>,
}

/// The keep-alive settings of the host that answers.
pub fn keep_alive_settings(host: &VirtualHost) -> KeepAliveSettings {
    KeepAliveSettings {
        enabled: host.keep_alive && !host.keep_alive_timeout.is_zero(),
        timeout_secs: host.keep_alive_timeout.as_secs(),
        max: host.max_keep_alive_requests,
    }
}

/// Run `head` through the pipeline (or take the response the event listener already
/// made, `ready`) and prepare its response. `None` for the writer when the response
/// could not be prepared (a file that cannot be read): the connection closes; `None`
/// in all when the connection does not speak HTTP/1.1.
pub fn run(
    conn: &mut Connection,
    site: &Site,
    head: RequestHead,
    obs: &mut dyn ConnObserver,
    clock: Clock,
    ready: Option<(Response, Outcome)>,
) -> Option<(Exchange, Option<Outgoing>)> {
    let cfg = &site.cfg;
    conn.note_transport();
    // A body the event listener began collecting goes on under the limit it started.
    let collected = conn.head_timer.body_deadline();
    conn.head_timer.clear();
    let Protocol::H1(h1) = &mut conn.protocol else {
        return None;
    };
    obs.phase(Phase::Write);
    let (resp, outcome) = match ready {
        Some(r) => r,
        None => {
            // RequestReadTimeout body= of the host the request names; looked up only
            // when there is a body to read.
            let (limit, timeout) = if head.body == BodyFraming::None {
                (None, cfg.main.timeout)
            } else {
                let sel = crate::conf::vhost::select(cfg, conn.info.local, head.host.as_deref());
                let req_host = crate::conf::vhost::host(cfg, sel);
                let body = req_host.req_timeout.body;
                ((!body.is_off()).then_some(body), req_host.timeout)
            };
            let mut reader = BodyReader {
                transport: &mut *conn.transport,
                h1: &mut *h1,
                limit,
                deadline: collected,
                timeout,
                client: conn.info.client,
            };
            let ran = crate::pipeline::process(cfg, &site.handlers, &conn.info, &head, &mut reader);
            if reader.h1.handler_done() {
                reader.discard();
            }
            ran
        }
    };
    let resp = match h1.body_error() {
        Some(e) => {
            crate::pipeline::error_response_for(cfg, &site.handlers, &conn.info, &head, e.status())
        }
        None => resp,
    };
    let bytes_in = head.head_len as u64 + h1.body_wire_len();
    let host = crate::conf::vhost::host(cfg, outcome.vhost);
    let length = match resp.body.len() {
        Some(n) => ResponseLength::Known(n),
        None => ResponseLength::Unknown,
    };
    let date = rhttpd_http::http_date_at(clock.started);
    let mut head_bytes = Vec::with_capacity(512 + super::outgoing::inline_body_len(&resp.body));
    // mod_setenvif's nokeepalive, downgrade-1.0 and force-response-1.0.
    let sp = outcome.specials;
    let downgraded = sp
        .downgrade_1_0
        .then(|| crate::modules::setenvif::downgraded(&head));
    let mut ka = keep_alive_settings(host);
    ka.enabled &= !sp.closes(downgraded.as_ref().unwrap_or(&head));
    let framing = h1.respond(
        downgraded.as_ref().unwrap_or(&head),
        resp.status,
        &resp.headers,
        length,
        &ka,
        obs.stopping(),
        &site.banner,
        &date,
        &mut head_bytes,
    );
    crate::modules::setenvif::force_response_1_0(
        sp,
        downgraded.as_ref().unwrap_or(&head),
        &mut head_bytes,
    );
    let Response {
        status,
        headers,
        body,
        ..
    } = resp;
    // The connection switches protocols once the 101 head is out.
    let (body, tunnel) = match body {
        Body::Tunnel(t) if status == StatusCode::SWITCHING_PROTOCOLS && framing.keep_alive => {
            (Body::Empty, Some(*t))
        }
        Body::Tunnel(_) => (Body::Empty, None),
        b => (b, None),
    };
    let streamed = framing.send_body && body.is_stream();
    let body_len = if framing.send_body {
        body.len().unwrap_or(0)
    } else {
        0
    };
    let head_len = head_bytes.len() as u64;
    let out = Outgoing::new(
        head_bytes,
        body,
        framing.send_body,
        framing.chunked,
        conn.transport.can_sendfile(),
    )
    .ok();
    let ex = Exchange {
        head,
        outcome,
        clock,
        status: status.as_u16(),
        headers,
        head_len,
        body_len,
        streamed,
        bytes_in,
        keep_alive: framing.keep_alive,
        tunnel,
    };
    Some((ex, out))
}

impl Exchange {
    /// An HTTP/2 stream's exchange: its response head went as a HEADERS frame.
    pub fn for_h2(
        head: RequestHead,
        outcome: Outcome,
        clock: Clock,
        status: StatusCode,
        headers: HeaderMap,
        bytes_in: u64,
    ) -> Exchange {
        Exchange {
            head,
            outcome,
            clock,
            status: status.as_u16(),
            headers,
            head_len: 0,
            body_len: 0,
            streamed: true,
            bytes_in,
            keep_alive: true,
            tunnel: None,
        }
    }

    /// The response head's length in bytes.
    pub fn head_len(&self) -> u64 {
        self.head_len
    }

    /// The tunnel a `101 Switching Protocols` response opens, once.
    pub fn take_tunnel(&mut self) -> Option<Tunnel> {
        self.tunnel.take()
    }

    /// Log the request and report it to the scoreboard. `out`: the writer as far as it
    /// got (a stream's length is known only now); `ok`: nothing failed so far.
    pub fn finish(
        self,
        info: &mut ConnInfo,
        site: &Site,
        obs: &mut dyn ConnObserver,
        out: Option<&Outgoing>,
        ok: bool,
    ) {
        let (body_bytes, bytes_out) = match out {
            Some(o) if self.streamed => (o.stream_body, o.written),
            Some(_) => (self.body_len, self.head_len + self.body_len),
            None => (0, 0),
        };
        self.finish_counts(info, site, obs, body_bytes, bytes_out, ok);
    }

    /// [`Exchange::finish`] with the counts given: `body_bytes` (`%B`) and `bytes_out`
    /// (`%O`).
    pub fn finish_counts(
        self,
        info: &mut ConnInfo,
        site: &Site,
        obs: &mut dyn ConnObserver,
        body_bytes: u64,
        bytes_out: u64,
        ok: bool,
    ) {
        obs.phase(Phase::Log);
        let duration = self.clock.t0.elapsed();
        site.log_access(&AccessEntry {
            info,
            head: Some(&self.head),
            outcome: &self.outcome,
            started: self.clock.started,
            duration,
            status: self.status,
            original_status: self.outcome.original_status,
            body_bytes,
            bytes_in: self.bytes_in,
            bytes_out,
            response_headers: &self.headers,
            keep_alive: self.keep_alive && ok,
        });
        let host = crate::conf::vhost::host(&site.cfg, self.outcome.vhost);
        obs.request_finished(&Finished {
            request_line: &self.head.request_line,
            vhost: host.server_name.as_deref().unwrap_or(""),
            bytes: body_bytes,
            duration,
        });
        info.keepalives += 1;
        // Work a handler left for this request is not the next request's.
        info.pending = crate::handler::PendingSlot::default();
    }
}

/// Answer input that is not a valid request (or a head that timed out) with `status`,
/// and log it. The connection closes after the response.
pub fn reject(conn: &mut Connection, site: &Site, status: StatusCode, clock: Clock) -> Outgoing {
    conn.note_transport();
    conn.head_timer.clear();
    let Protocol::H1(h1) = &mut conn.protocol else {
        return Outgoing::from_bytes(Vec::new(), bytes::Bytes::new());
    };
    let bytes_in = h1.buffered().len() as u64;
    let resp = crate::pipeline::bare_error(&site.cfg, &conn.info, status);
    let len = resp.body.len().unwrap_or(0);
    let date = rhttpd_http::http_date_now();
    let mut head = Vec::with_capacity(1024);
    h1.reject(status, &resp.headers, len, &site.banner, &date, &mut head);
    let head_len = head.len() as u64;
    let outcome = Outcome {
        original_status: status.as_u16(),
        ..Default::default()
    };
    site.log_access(&AccessEntry {
        info: &conn.info,
        head: None,
        outcome: &outcome,
        started: clock.started,
        duration: clock.t0.elapsed(),
        status: status.as_u16(),
        original_status: status.as_u16(),
        body_bytes: len,
        bytes_in,
        bytes_out: head_len + len,
        response_headers: &resp.headers,
        keep_alive: false,
    });
    let body = match resp.body {
        crate::handler::Body::Bytes(b) => b,
        _ => bytes::Bytes::new(),
    };
    Outgoing::from_bytes(head, body)
}
