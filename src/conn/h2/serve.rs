//! One HTTP/2 stream's request through the pipeline, its response head as a HEADERS
//! frame, and its body as DATA frames within the flow-control windows.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};
use rhttpd_http::h2::ErrorCode;
use rhttpd_http::{RequestHead, StatusCode};

use super::H2Conn;
use crate::conn::ConnObserver;
use crate::conn::exchange::{Clock, Exchange};
use crate::handler::{Body, BodyPart, ConnInfo, Response};
use crate::pipeline::Outcome;
use crate::site::{AccessEntry, Site};

/// Octets read from a file or a stream per DATA batch at most.
const CHUNK: usize = 64 * 1024;
/// Stop queueing DATA once this much output waits for the transport.
pub(super) const OUTPUT_HIGH: usize = 256 * 1024;

/// A response to send on a stream.
struct Answer {
    head: RequestHead,
    resp: Response,
    outcome: Outcome,
    /// The body, when a stream thread produces it.
    pipe: Option<super::streams::PipeReader>,
    /// The length of the body `pipe` carries, when known.
    pipe_len: Option<u64>,
    bytes_in: u64,
}

/// A response body being sent.
pub(super) struct Sending {
    src: Source,
    /// Logged once the body has gone (a stream's length is known only then); boxed:
    /// stream state is moved around, and most bodies have a known length.
    pending_log: Option<Box<Exchange>>,
    sent: u64,
}

enum Source {
    Bytes(Bytes),
    File {
        file: Arc<File>,
        offset: u64,
        end: u64,
    },
    Parts {
        file: Arc<File>,
        parts: std::collections::VecDeque<BodyPart>,
    },
    Stream(Box<dyn Read + Send>),
    /// A streamed body a stream thread produces (`streams.rs`): read without waiting.
    Pipe(super::streams::PipeReader),
}

/// What a source gave.
enum Next {
    Data(Bytes),
    End,
    /// A pipe that has nothing yet.
    Pending,
}

impl Sending {
    pub(super) fn is_stream(&self) -> bool {
        matches!(self.src, Source::Stream(_))
    }
}

impl Source {
    /// Nothing is left to read (never known in advance for a stream).
    fn exhausted(&self) -> bool {
        match self {
            Source::Bytes(b) => b.is_empty(),
            Source::File { offset, end, .. } => offset >= end,
            Source::Parts { parts, .. } => parts.iter().all(|p| match p {
                BodyPart::Bytes(b) => b.is_empty(),
                BodyPart::FileRange { len, .. } => *len == 0,
            }),
            Source::Stream(_) | Source::Pipe(_) => false,
        }
    }

    /// Up to `want` octets, the end, or (a pipe) nothing yet.
    fn pull(&mut self, want: usize, buf: &mut Vec<u8>) -> std::io::Result<Next> {
        if let Source::Pipe(p) = self {
            return match p.take(want) {
                super::streams::Take::Data(d) => Ok(Next::Data(d)),
                super::streams::Take::End(true) => Ok(Next::End),
                super::streams::Take::End(false) => Err(ErrorKind::UnexpectedEof.into()),
                super::streams::Take::Pending => Ok(Next::Pending),
            };
        }
        Ok(match self.next(want, buf)? {
            Some(d) => Next::Data(d),
            None => Next::End,
        })
    }

    /// Up to `want` octets; `None` at the end.
    fn next(&mut self, want: usize, buf: &mut Vec<u8>) -> std::io::Result<Option<Bytes>> {
        match self {
            Source::Bytes(b) => {
                if b.is_empty() {
                    return Ok(None);
                }
                Ok(Some(b.split_to(want.min(b.len()))))
            }
            Source::File { file, offset, end } => {
                if *offset >= *end {
                    return Ok(None);
                }
                let n = want.min((*end - *offset) as usize);
                buf.resize(n, 0);
                file.read_exact_at(buf, *offset)?;
                *offset += n as u64;
                Ok(Some(Bytes::copy_from_slice(buf)))
            }
            Source::Parts { file, parts } => loop {
                match parts.front_mut() {
                    None => return Ok(None),
                    Some(BodyPart::Bytes(b)) if b.is_empty() => {
                        parts.pop_front();
                    }
                    Some(BodyPart::Bytes(b)) => return Ok(Some(b.split_to(want.min(b.len())))),
                    Some(BodyPart::FileRange { len: 0, .. }) => {
                        parts.pop_front();
                    }
                    Some(BodyPart::FileRange { offset, len }) => {
                        let n = want.min(*len as usize);
                        buf.resize(n, 0);
                        file.read_exact_at(buf, *offset)?;
                        *offset += n as u64;
                        *len -= n as u64;
                        return Ok(Some(Bytes::copy_from_slice(buf)));
                    }
                }
            },
            Source::Pipe(_) => Ok(None),
            Source::Stream(r) => {
                buf.resize(want, 0);
                loop {
                    match r.read(buf) {
                        Ok(0) => return Ok(None),
                        Ok(n) => return Ok(Some(Bytes::copy_from_slice(&buf[..n]))),
                        Err(e) if e.kind() == ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
            }
        }
    }
}

thread_local! {
    /// The Date value of the current second, and the Server value of the current
    /// banner: made once, cloned per response (a reference count).
    static FIXED: std::cell::RefCell<FixedFields> = const {
        std::cell::RefCell::new(FixedFields {
            secs: u64::MAX,
            date: None,
            banner: String::new(),
            server: None,
        })
    };
}

struct FixedFields {
    secs: u64,
    date: Option<HeaderValue>,
    banner: String,
    server: Option<HeaderValue>,
}

fn date_and_server(at: SystemTime, banner: &str) -> (Option<HeaderValue>, Option<HeaderValue>) {
    let secs = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    FIXED.with(|f| {
        let mut f = f.borrow_mut();
        if f.secs != secs || f.date.is_none() {
            f.date = HeaderValue::from_str(&rhttpd_http::http_date_at(at)).ok();
            f.secs = secs;
        }
        if f.banner != banner {
            f.banner = banner.to_string();
            f.server = if banner.is_empty() {
                None
            } else {
                HeaderValue::from_str(banner).ok()
            };
        }
        (f.date.clone(), f.server.clone())
    })
}

/// The response head fields HTTP/2 carries: the handler's, minus what the connection
/// owns, plus Date, Server and Content-Length.
fn response_fields(
    resp_headers: HeaderMap,
    status: StatusCode,
    len: Option<u64>,
    send_body: bool,
    banner: &str,
    at: SystemTime,
) -> HeaderMap {
    let mut h = resp_headers;
    for name in [
        http::header::CONNECTION,
        http::header::TRANSFER_ENCODING,
        http::header::CONTENT_LENGTH,
    ] {
        h.remove(name);
    }
    h.remove("keep-alive");
    let (date, server) = date_and_server(at, banner);
    if let Some(v) = date {
        h.insert(http::header::DATE, v);
    }
    if let Some(v) = server {
        h.insert(http::header::SERVER, v);
    }
    let header_only = status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED;
    if let Some(n) = len
        && !header_only
        && (send_body || n != 0)
    {
        h.insert(http::header::CONTENT_LENGTH, HeaderValue::from(n));
    }
    if header_only {
        h.remove(http::header::CONTENT_TYPE);
    }
    h
}

/// Octets a header block costs on the wire, roughly (for `%O`): HPACK makes it smaller.
fn head_wire_len(h: &HeaderMap) -> u64 {
    9 + h
        .iter()
        .map(|(n, v)| (n.as_str().len() + v.len() + 2) as u64)
        .sum::<u64>()
}

impl H2Conn {
    /// Answer `id`: run its request (or take `ready`, the response the event listener
    /// made), send the head and queue the body.
    pub(super) fn run_stream(
        &mut self,
        id: u32,
        info: &mut ConnInfo,
        site: &Site,
        obs: &mut dyn ConnObserver,
        ready: Option<(Response, Outcome)>,
    ) {
        let Some(w) = self.streams.get_mut(&id) else {
            return;
        };
        let cfg = &site.cfg;
        let clock = w.clock;
        let Some(head) = w.head.take() else {
            // Rejected by the session before it became a request: 431 or 414.
            let status = w.status_now.unwrap_or(StatusCode::BAD_REQUEST);
            let resp = crate::pipeline::bare_error(cfg, info, status);
            self.answer_bare(id, info, site, resp, clock);
            return;
        };
        obs.request_started(&head, info);
        obs.phase(crate::conn::Phase::Write);
        let body = std::mem::replace(&mut w.body, super::ReqBody::Memory(Vec::new()));
        let bytes_in = head_wire_len(&head.headers) + body.len();
        let (resp, outcome) = match (w.status_now, ready) {
            (Some(status), _) => {
                let handlers = &site.handlers;
                let resp = crate::pipeline::error_response_for(cfg, handlers, info, &head, status);
                let sel = crate::conf::vhost::select(cfg, info.local, head.host.as_deref());
                let outcome = Outcome {
                    vhost: sel,
                    original_status: status.as_u16(),
                    ..Default::default()
                };
                (resp, outcome)
            }
            (None, Some(r)) => r,
            (None, None) => match body.into_reader() {
                Ok(mut reader) => {
                    crate::pipeline::process(cfg, &site.handlers, info, &head, &mut reader)
                }
                Err(_) => {
                    let status = StatusCode::INTERNAL_SERVER_ERROR;
                    let resp = crate::pipeline::error_response_for(
                        cfg,
                        &site.handlers,
                        info,
                        &head,
                        status,
                    );
                    (resp, Outcome::default())
                }
            },
        };
        let answer = Answer {
            head,
            resp,
            outcome,
            pipe: None,
            pipe_len: None,
            bytes_in,
        };
        self.respond(id, info, site, obs, answer, clock);
    }

    /// Take stream `id`'s request for a stream thread; `None` when it is to be answered
    /// here (a status decided already) or is gone.
    pub(super) fn take_job(
        &mut self,
        id: u32,
        info: &ConnInfo,
        obs: &mut dyn ConnObserver,
        mailbox: &std::sync::Arc<super::streams::Mailbox>,
    ) -> Option<super::streams::Job> {
        let w = self.streams.get_mut(&id)?;
        if w.status_now.is_some() {
            return None;
        }
        let head = w.head.take()?;
        obs.request_started(&head, info);
        obs.phase(crate::conn::Phase::Write);
        let body = std::mem::replace(&mut w.body, super::ReqBody::Memory(Vec::new()));
        Some(super::streams::Job {
            id,
            head,
            body,
            info: info.clone(),
            mailbox: mailbox.clone(),
            cap: self.stream_max_mem,
        })
    }

    /// A stream thread's response: send its head and queue its body (a stream that was
    /// reset meanwhile drops it, which stops the producer).
    pub(super) fn finished(
        &mut self,
        f: super::streams::Finished,
        info: &mut ConnInfo,
        site: &Site,
        obs: &mut dyn ConnObserver,
    ) {
        let Some(w) = self.streams.get(&f.id) else {
            return;
        };
        let clock = w.clock;
        let answer = Answer {
            bytes_in: head_wire_len(&f.head.headers) + f.bytes_in,
            head: f.head,
            resp: f.resp,
            outcome: f.outcome,
            pipe: f.pipe,
            pipe_len: f.pipe_len,
        };
        self.respond(f.id, info, site, obs, answer, clock);
    }

    fn respond(
        &mut self,
        id: u32,
        info: &mut ConnInfo,
        site: &Site,
        obs: &mut dyn ConnObserver,
        answer: Answer,
        clock: Clock,
    ) {
        let Answer {
            head,
            resp,
            outcome,
            pipe,
            pipe_len,
            bytes_in,
        } = answer;
        let Response {
            status,
            headers,
            body,
            ..
        } = resp;
        let len = if pipe.is_some() { pipe_len } else { body.len() };
        let header_only = status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED;
        let send_body = head.method != Method::HEAD && !header_only;
        let fields = response_fields(headers, status, len, send_body, &site.banner, clock.started);
        let head_len = head_wire_len(&fields);
        let empty = !send_body || len == Some(0);
        if self.session.respond(id, status, &fields, empty).is_err() {
            self.streams.remove(&id);
            return;
        }
        self.counts.answered += 1;
        let ex = Exchange::for_h2(head, outcome, clock, status, fields, bytes_in);
        if empty {
            ex.finish_counts(info, site, obs, 0, head_len, true);
            self.streams.remove(&id);
            return;
        }
        let streamed = pipe.is_some() || body.is_stream() || len.is_none();
        let src = match (pipe, body) {
            (Some(p), _) => Source::Pipe(p),
            // HTTP/2 has no 101: a tunnel body is empty here.
            (None, Body::Empty | Body::Tunnel(_)) => Source::Bytes(Bytes::new()),
            (None, Body::Bytes(b)) => Source::Bytes(b),
            (
                None,
                Body::File {
                    file, offset, len, ..
                },
            ) => Source::File {
                file,
                offset,
                end: offset + len,
            },
            (None, Body::FileParts { file, parts, .. }) => Source::Parts {
                file,
                parts: parts.into(),
            },
            (None, b @ (Body::Stream(_) | Body::SizedStream { .. })) => match b.into_stream() {
                Ok((r, _)) => Source::Stream(r),
                Err(_) => Source::Bytes(Bytes::new()),
            },
        };
        let pending_log = if streamed {
            Some(Box::new(ex))
        } else {
            // A known length is logged now, as HTTP/1.1 logs once writing started.
            let n = len.unwrap_or(0);
            ex.finish_counts(info, site, obs, n, head_len + n, true);
            None
        };
        if let Some(w) = self.streams.get_mut(&id) {
            w.out = Some(Sending {
                src,
                pending_log,
                sent: 0,
            });
            self.sending.push(id);
        }
    }

    /// A response to a stream that never became a request.
    fn answer_bare(&mut self, id: u32, info: &ConnInfo, site: &Site, resp: Response, clock: Clock) {
        let len = resp.body.len().unwrap_or(0);
        let status = resp.status;
        let at = SystemTime::now();
        let fields = response_fields(resp.headers, status, Some(len), true, &site.banner, at);
        let ok = self.session.respond(id, status, &fields, len == 0).is_ok();
        let body = match resp.body {
            Body::Bytes(b) => b,
            _ => Bytes::new(),
        };
        if ok && len > 0 {
            let _ = self.session.send_data(id, &body, true);
        }
        self.streams.remove(&id);
        let outcome = Outcome {
            original_status: status.as_u16(),
            ..Default::default()
        };
        site.log_access(&AccessEntry {
            info,
            head: None,
            outcome: &outcome,
            started: clock.started,
            duration: clock.t0.elapsed(),
            status: status.as_u16(),
            original_status: status.as_u16(),
            body_bytes: len,
            bytes_in: 0,
            bytes_out: head_wire_len(&fields) + len,
            response_headers: &fields,
            keep_alive: true,
        });
    }

    /// Turn queued response bodies into DATA frames as far as the windows allow and the
    /// output is below [`OUTPUT_HIGH`]. Streamed bodies are read only when `may_block`
    /// (their reads wait for a CGI script or a backend). Logs what completes.
    pub(super) fn fill(
        &mut self,
        may_block: bool,
        info: &mut ConnInfo,
        site: &Site,
        obs: &mut dyn ConnObserver,
    ) {
        let mut buf = Vec::new();
        let mut i = 0;
        while i < self.sending.len() {
            let id = self.sending[i];
            let done = self.fill_stream(id, may_block, &mut buf);
            match done {
                Some(ok) => {
                    self.sending.remove(i);
                    if let Some(mut w) = self.streams.remove(&id)
                        && let Some(out) = w.out.take()
                        && let Some(ex) = out.pending_log
                    {
                        ex.finish_counts(info, site, obs, out.sent, out.sent, ok);
                    }
                }
                None => i += 1,
            }
            if self.session.output().len() >= OUTPUT_HIGH {
                break;
            }
        }
    }

    /// Send what stream `id` may now: `Some(ok)` once its body is complete (or failed).
    fn fill_stream(&mut self, id: u32, may_block: bool, buf: &mut Vec<u8>) -> Option<bool> {
        let max_mem = self.stream_max_mem.max(16 * 1024);
        loop {
            let cap = self.session.send_capacity(id);
            let Some(w) = self.streams.get_mut(&id) else {
                return Some(false);
            };
            let out = w.out.as_mut()?;
            if cap == 0 || (out.is_stream() && !may_block) {
                return None;
            }
            if self.session.output().len() >= OUTPUT_HIGH.max(max_mem) {
                return None;
            }
            let want = cap.min(CHUNK);
            match out.src.pull(want, buf) {
                Ok(Next::Pending) => return None,
                Ok(Next::Data(data)) => {
                    out.sent += data.len() as u64;
                    let last = out.src.exhausted();
                    match self.session.send_data(id, &data, last) {
                        Ok(n) if n == data.len() && last => return Some(true),
                        Ok(n) if n == data.len() => {}
                        _ => {
                            self.session.reset_stream(id, ErrorCode::InternalError);
                            return Some(false);
                        }
                    }
                }
                Ok(Next::End) => {
                    let ok = self.session.send_data(id, &[], true).is_ok();
                    return Some(ok);
                }
                Err(_) => {
                    self.session.reset_stream(id, ErrorCode::InternalError);
                    return Some(false);
                }
            }
        }
    }
}
