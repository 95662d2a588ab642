//! Drives one connection with blocking I/O: the loop prefork children and worker
//! threads (and `-X`) run. It reads request heads into a per-connection buffer, feeds
//! them to the sans-I/O HTTP/1.1 engine, runs the pipeline, writes the response (with
//! sendfile(2) for file bodies), logs it, and repeats while keep-alive allows.
//!
//! Timeouts, as Apache's: `Timeout` for every read and write of a request; while waiting
//! for the next request on a kept-alive connection, `KeepAliveTimeout` until its first
//! byte arrives. A connection closed after a response goes through lingering close
//! (shutdown of our side, then discard input until EOF, 2 s idle / 30 s in all).

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use rhttpd_http::{
    BodyDecoder, BodyFraming, CONTINUE_100, KeepAlivePolicy, LAST_CHUNK, ParseError, RequestHead,
    ResponseLength, StatusCode, parse_request_head, write_chunk_header, write_response_head,
};

use crate::handler::{Body, BodyPart, ConnInfo, Response};
use crate::site::Site;

/// What a connection is doing, for the scoreboard (Apache's R/W/K/L/C letters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Reading a request head or body (`R`).
    Read,
    /// Running the handler and writing the response (`W`).
    Write,
    /// Waiting for the next request on a kept-alive connection (`K`).
    KeepAlive,
    /// Writing the access log (`L`).
    Log,
    /// Lingering close (`C`).
    Closing,
}

/// A request that finished, for the scoreboard.
#[derive(Debug)]
pub struct Finished<'a> {
    pub request_line: &'a str,
    pub vhost: &'a str,
    pub bytes: u64,
    pub duration: Duration,
}

/// Hooks an MPM uses to follow a connection. All have no-op defaults.
pub trait ConnObserver {
    fn phase(&mut self, _phase: Phase) {}
    fn request_started(&mut self, _head: &RequestHead, _client: &ConnInfo) {}
    fn request_finished(&mut self, _f: &Finished<'_>) {}
    /// The server is stopping: answer the current request with `Connection: close`.
    fn stopping(&self) -> bool {
        false
    }
}

/// An observer that observes nothing (`-X`, tests).
pub struct NoObserver;
impl ConnObserver for NoObserver {}

const READ_CHUNK: usize = 16 * 1024;

/// The connection's input: bytes read but not yet consumed.
pub(crate) struct InBuf {
    pub(crate) data: Vec<u8>,
    pub(crate) start: usize,
}

impl InBuf {
    pub(crate) fn pending(&self) -> &[u8] {
        &self.data[self.start..]
    }

    pub(crate) fn consume(&mut self, n: usize) {
        self.start += n.min(self.data.len() - self.start);
        if self.start == self.data.len() {
            self.data.clear();
            self.start = 0;
        }
    }

    /// Read more from `s`; Ok(0) at EOF.
    pub(crate) fn fill(&mut self, s: &mut TcpStream) -> io::Result<usize> {
        if self.start > 0 && self.start == self.data.len() {
            self.data.clear();
            self.start = 0;
        }
        if self.start > 64 * 1024 {
            self.data.drain(..self.start);
            self.start = 0;
        }
        let old = self.data.len();
        self.data.resize(old + READ_CHUNK, 0);
        match s.read(&mut self.data[old..]) {
            Ok(n) => {
                self.data.truncate(old + n);
                Ok(n)
            }
            Err(e) => {
                self.data.truncate(old);
                Err(e)
            }
        }
    }
}

/// The request body as a `Read`: pulls from the connection through the body decoder,
/// sending `100 Continue` before the first read when the client asked for it.
pub(crate) struct BodyReader<'a> {
    pub(crate) stream: &'a mut TcpStream,
    pub(crate) buf: &'a mut InBuf,
    pub(crate) decoder: BodyDecoder,
    pub(crate) continue_pending: bool,
    pub(crate) error: Option<ParseError>,
    /// Decoded bytes a short read could not take yet.
    pub(crate) spill: Vec<u8>,
    /// Reading from the client failed (timeout, reset, EOF inside the body): the rest
    /// of the body cannot be drained, the connection must close.
    pub(crate) io_failed: bool,
}

impl Read for BodyReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        if !self.spill.is_empty() {
            let n = self.spill.len().min(out.len());
            out[..n].copy_from_slice(&self.spill[..n]);
            self.spill.drain(..n);
            return Ok(n);
        }
        if self.decoder.is_done() {
            return Ok(0);
        }
        if self.continue_pending {
            self.continue_pending = false;
            if let Err(e) = self.stream.write_all(CONTINUE_100) {
                self.io_failed = true;
                return Err(e);
            }
        }
        loop {
            if !self.buf.pending().is_empty() {
                let d = match self.decoder.decode(self.buf.pending()) {
                    Ok(d) => d,
                    Err(e) => {
                        self.error = Some(e.clone());
                        return Err(io::Error::new(ErrorKind::InvalidData, e.to_string()));
                    }
                };
                let n = d.data.len().min(out.len());
                out[..n].copy_from_slice(&d.data[..n]);
                // A data run longer than the caller's buffer: keep the rest aside so the
                // run is consumed exactly once.
                self.spill.extend_from_slice(&d.data[n..]);
                let (consumed, done) = (d.consumed, d.done);
                self.buf.consume(consumed);
                if n > 0 || done {
                    return Ok(n);
                }
                if consumed > 0 {
                    continue;
                }
            }
            match self.buf.fill(self.stream) {
                Ok(0) => {
                    self.io_failed = true;
                    return Err(io::Error::new(
                        ErrorKind::UnexpectedEof,
                        "client closed the connection before the end of the request body",
                    ));
                }
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    self.io_failed = true;
                    return Err(e);
                }
            }
        }
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

/// Serve one connection to completion.
pub fn serve(mut stream: TcpStream, site: &Site, obs: &mut dyn ConnObserver) {
    let (Ok(client), Ok(local)) = (stream.peer_addr(), stream.local_addr()) else {
        return;
    };
    let _ = stream.set_nodelay(true);
    let cfg = &site.cfg;
    let default_host = crate::conf::vhost::host(cfg, crate::conf::vhost::select(cfg, local, None));
    let mut buf = InBuf {
        data: Vec::new(),
        start: 0,
    };
    let mut info = ConnInfo {
        client,
        local,
        keepalives: 0,
    };
    let mut served: u32 = 0;
    let linger;
    let clean;
    loop {
        // 1. Wait for a request head.
        let waiting_ka = served > 0 && buf.pending().is_empty();
        obs.phase(if waiting_ka {
            Phase::KeepAlive
        } else {
            Phase::Read
        });
        let first_timeout = if waiting_ka {
            default_host.keep_alive_timeout
        } else {
            default_host.timeout
        };
        let _ = stream.set_read_timeout(Some(first_timeout.max(Duration::from_millis(1))));
        let _ = stream.set_write_timeout(Some(default_host.timeout.max(Duration::from_millis(1))));
        // The request's clock starts with its first byte, not with the keep-alive wait
        // before it (%D, %T, %t).
        let mut started = SystemTime::now();
        let mut t0 = Instant::now();
        let mut idle = waiting_ka;
        let head = loop {
            if !buf.pending().is_empty() {
                match parse_request_head(buf.pending(), &default_host.limits) {
                    Ok(Some(h)) => break h,
                    Ok(None) => {}
                    Err(e) => {
                        reject(&mut stream, site, &info, &buf, e.status(), started, t0);
                        lingering_close(stream, obs);
                        return;
                    }
                }
            }
            match buf.fill(&mut stream) {
                Ok(0) => return,
                Ok(_) => {
                    if idle {
                        idle = false;
                        started = SystemTime::now();
                        t0 = Instant::now();
                        obs.phase(Phase::Read);
                        let _ = stream.set_read_timeout(Some(default_host.timeout));
                    }
                }
                Err(e) if is_timeout(&e) => {
                    if !buf.pending().is_empty() || served == 0 {
                        // Apache answers 408 to a request that started arriving and
                        // logs a 408 for a connection that sent nothing.
                        let with_body = !buf.pending().is_empty();
                        if with_body {
                            reject(
                                &mut stream,
                                site,
                                &info,
                                &buf,
                                StatusCode::REQUEST_TIMEOUT,
                                started,
                                t0,
                            );
                        }
                    }
                    return;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        };
        buf.consume(head.head_len);
        obs.request_started(&head, &info);

        // 2. Run the request.
        let limit = default_host.base_dir.limit_request_body();
        let ran = run_request(&mut stream, &mut buf, site, &info, &head, limit, obs);
        let (resp, outcome, body_complete, body_bytes_in) = (
            ran.response,
            ran.outcome,
            ran.body_complete,
            ran.body_bytes_in,
        );

        // 3. Write it.
        let host = crate::conf::vhost::host(cfg, outcome.vhost);
        let ka = keep_alive_policy(host, body_complete, obs.stopping(), served);
        let written = write_response(&mut stream, site, &head, resp, &ka);
        let (status, resp_headers, framing, bytes_out, body_bytes, ok) = written;
        served += 1;

        // 4. Log it.
        obs.phase(Phase::Log);
        let duration = t0.elapsed();
        site.log_access(&crate::site::AccessEntry {
            info: &info,
            head: Some(&head),
            outcome: &outcome,
            started,
            duration,
            status,
            original_status: outcome.original_status,
            body_bytes,
            bytes_in: head.head_len as u64 + body_bytes_in,
            bytes_out,
            response_headers: &resp_headers,
            keep_alive: framing && ok,
        });
        obs.request_finished(&Finished {
            request_line: &head.request_line,
            vhost: host.server_name.as_deref().unwrap_or(""),
            bytes: body_bytes,
            duration,
        });
        info.keepalives += 1;
        if !(framing && ok) {
            linger = ok;
            clean = body_complete && buf.pending().is_empty();
            break;
        }
    }
    if linger {
        if clean {
            close_after_clean_request(stream, obs);
        } else {
            lingering_close(stream, obs);
        }
    }
}

/// A request run through the pipeline, its body read (or discarded) from the connection.
pub(crate) struct Ran {
    pub response: Response,
    pub outcome: crate::pipeline::Outcome,
    /// The request body was read to its end: the connection may be kept alive.
    pub body_complete: bool,
    /// Bytes of body framing read from the wire (for `%I`).
    pub body_bytes_in: u64,
}

/// Run `head` through the pipeline with its body read from `stream` (after what `buf`
/// already holds), then discard what the handler left of the body so the next request
/// can be read; a body that failed (413, 400, 408) gets its error response. Shared by the
/// blocking driver and the event MPM's workers.
pub(crate) fn run_request(
    stream: &mut TcpStream,
    buf: &mut InBuf,
    site: &Site,
    info: &ConnInfo,
    head: &RequestHead,
    body_limit: u64,
    obs: &mut dyn ConnObserver,
) -> Ran {
    let cfg = &site.cfg;
    let mut reader = BodyReader {
        stream,
        buf,
        decoder: BodyDecoder::new(head.body, body_limit),
        continue_pending: head.expect_continue && head.body != BodyFraming::None,
        error: None,
        spill: Vec::new(),
        io_failed: false,
    };
    obs.phase(Phase::Write);
    let (resp, outcome) = crate::pipeline::process(cfg, &site.handlers, info, head, &mut reader);
    let body_error = reader.error.clone();
    // When the client still waits for 100-continue, close instead of draining.
    let continue_unsent = reader.continue_pending;
    let mut body_complete = reader.decoder.is_done() || head.body == BodyFraming::None;
    if !body_complete && !continue_unsent && body_error.is_none() && !reader.io_failed {
        body_complete = drain(&mut reader);
    }
    let body_bytes_in = reader.decoder.wire_len();
    let response = match body_error {
        Some(e) => crate::pipeline::error_response_for(cfg, &site.handlers, info, head, e.status()),
        None => resp,
    };
    Ran {
        response,
        outcome,
        body_complete,
        body_bytes_in,
    }
}

/// Apache's keep-alive conditions that the connection driver knows (the engine adds the
/// request's and response's own).
pub(crate) fn keep_alive_policy(
    host: &crate::conf::VirtualHost,
    body_complete: bool,
    stopping: bool,
    served: u32,
) -> KeepAlivePolicy {
    KeepAlivePolicy {
        enabled: host.keep_alive
            && !host.keep_alive_timeout.is_zero()
            && body_complete
            && !stopping,
        timeout_secs: host.keep_alive_timeout.as_secs(),
        max: host.max_keep_alive_requests,
        served,
    }
}

/// Read and discard the rest of a request body (bounded by the body limit the decoder
/// enforces). Returns true when the body ended cleanly.
pub(crate) fn drain(reader: &mut BodyReader<'_>) -> bool {
    let mut scratch = [0u8; 8192];
    loop {
        match reader.read(&mut scratch) {
            Ok(0) => return reader.decoder.is_done(),
            Ok(_) => {}
            Err(_) => return false,
        }
    }
}

pub(crate) type Written = (u16, http::HeaderMap, bool, u64, u64, bool);

/// Write head and body. Returns (status, headers sent, keep-alive, bytes on the wire,
/// body bytes, whether everything was written).
pub(crate) fn write_response(
    stream: &mut TcpStream,
    site: &Site,
    head: &RequestHead,
    resp: Response,
    ka: &KeepAlivePolicy,
) -> Written {
    let Response {
        status,
        headers,
        body,
        ..
    } = resp;
    let length = match body.len() {
        Some(n) => ResponseLength::Known(n),
        None => ResponseLength::Unknown,
    };
    let date = rhttpd_http::http_date_now();
    let mut out = Vec::with_capacity(512);
    let framing = write_response_head(
        Some(head),
        status,
        &headers,
        length,
        ka,
        &site.banner,
        &date,
        &mut out,
    );
    let head_len = out.len() as u64;
    let code = status.as_u16();
    if !framing.send_body {
        let ok = stream.write_all(&out).is_ok();
        return (code, headers, framing.keep_alive, head_len, 0, ok);
    }
    let mut sent_body: u64 = 0;
    let result = (|| -> io::Result<()> {
        match body {
            Body::Empty => stream.write_all(&out),
            Body::Bytes(b) => {
                sent_body = b.len() as u64;
                if b.len() <= 64 * 1024 {
                    out.extend_from_slice(&b);
                    stream.write_all(&out)
                } else {
                    stream.write_all(&out)?;
                    stream.write_all(&b)
                }
            }
            Body::File {
                file,
                offset,
                len,
                sendfile,
            } => {
                send_file_range(stream, &mut out, &file, offset, len, sendfile)?;
                sent_body = len;
                if out.is_empty() {
                    Ok(())
                } else {
                    stream.write_all(&out)
                }
            }
            Body::FileParts {
                file,
                parts,
                sendfile,
            } => {
                for part in parts {
                    match part {
                        BodyPart::Bytes(b) => {
                            out.extend_from_slice(&b);
                            sent_body += b.len() as u64;
                        }
                        BodyPart::FileRange { offset, len } => {
                            send_file_range(stream, &mut out, &file, offset, len, sendfile)?;
                            sent_body += len;
                        }
                    }
                }
                stream.write_all(&out)
            }
            Body::Stream(mut r) => {
                stream.write_all(&out)?;
                out.clear();
                let mut chunk = vec![0u8; 32 * 1024];
                loop {
                    let n = match r.read(&mut chunk) {
                        Ok(0) => break,
                        Ok(n) => n,
                        Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                        Err(e) => return Err(e),
                    };
                    sent_body += n as u64;
                    if framing.chunked {
                        let mut h = Vec::with_capacity(16);
                        write_chunk_header(n, &mut h);
                        stream.write_all(&h)?;
                        stream.write_all(&chunk[..n])?;
                        stream.write_all(b"\r\n")?;
                    } else {
                        stream.write_all(&chunk[..n])?;
                    }
                }
                if framing.chunked {
                    stream.write_all(LAST_CHUNK)?;
                }
                Ok(())
            }
        }
    })();
    let ok = result.is_ok();
    (
        code,
        headers,
        framing.keep_alive,
        head_len + sent_body,
        sent_body,
        ok,
    )
}

/// Send `pending` (headers or multipart glue) followed by a file range: sendfile(2) on
/// plain TCP when allowed, otherwise read+write. `pending` is empty afterwards.
fn send_file_range(
    stream: &mut TcpStream,
    pending: &mut Vec<u8>,
    file: &Arc<std::fs::File>,
    offset: u64,
    len: u64,
    use_sendfile: bool,
) -> io::Result<()> {
    const SMALL: u64 = 16 * 1024;
    if !use_sendfile || len <= SMALL {
        // Small bodies: one write of head + data beats a write plus a sendfile.
        let start = pending.len();
        pending.resize(start + len as usize, 0);
        read_exact_at(file, &mut pending[start..], offset)?;
        if len > SMALL {
            stream.write_all(pending)?;
            pending.clear();
        }
        return Ok(());
    }
    if !pending.is_empty() {
        rhttpd_sys::send_more(stream.as_fd(), pending)?;
        pending.clear();
    }
    let mut off = offset;
    let end = offset + len;
    while off < end {
        let count = (end - off).min(1 << 30) as usize;
        match rhttpd_sys::sendfile(stream.as_fd(), file.as_fd(), &mut off, count) {
            Ok(0) => {
                return Err(io::Error::new(
                    ErrorKind::UnexpectedEof,
                    "file shrank while sending",
                ));
            }
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn read_exact_at(file: &std::fs::File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.read_exact_at(buf, offset)
}

/// Answer a request that could not be parsed (or timed out) and log it.
pub(crate) fn reject(
    stream: &mut TcpStream,
    site: &Site,
    info: &ConnInfo,
    buf: &InBuf,
    status: StatusCode,
    started: SystemTime,
    t0: Instant,
) {
    let resp = crate::pipeline::bare_error(&site.cfg, info, status);
    let ka = KeepAlivePolicy {
        enabled: false,
        timeout_secs: 0,
        max: 0,
        served: 0,
    };
    let date = rhttpd_http::http_date_now();
    let mut out = Vec::with_capacity(1024);
    let len = resp.body.len().unwrap_or(0);
    write_response_head(
        None,
        status,
        &resp.headers,
        ResponseLength::Known(len),
        &ka,
        &site.banner,
        &date,
        &mut out,
    );
    let head_len = out.len() as u64;
    if let Body::Bytes(b) = &resp.body {
        out.extend_from_slice(&b[..]);
    }
    let _ = stream.write_all(&out);
    let outcome = crate::pipeline::Outcome {
        original_status: status.as_u16(),
        ..Default::default()
    };
    site.log_access(&crate::site::AccessEntry {
        info,
        head: None,
        outcome: &outcome,
        started,
        duration: t0.elapsed(),
        status: status.as_u16(),
        original_status: status.as_u16(),
        body_bytes: len,
        bytes_in: buf.pending().len() as u64,
        bytes_out: head_len + len,
        response_headers: &resp.headers,
        keep_alive: false,
    });
}

/// Apache's lingering close: stop sending, then read and discard until the client
/// closes, at most 2 s without data and 30 s in all, so that a client still sending
/// (pipelined requests, an unread body) sees our response instead of a reset.
pub fn lingering_close(mut stream: TcpStream, obs: &mut dyn ConnObserver) {
    obs.phase(Phase::Closing);
    if stream.shutdown(Shutdown::Write).is_err() {
        return;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut scratch = [0u8; 4096];
    while Instant::now() < deadline {
        match stream.read(&mut scratch) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
}

/// Close after a request that was read completely: at once when the peer has nothing
/// in flight (nginx's heuristic, saving the lingering round trip), else lingering.
pub fn close_after_clean_request(stream: TcpStream, obs: &mut dyn ConnObserver) {
    if nothing_pending(&stream) {
        obs.phase(Phase::Closing);
        return;
    }
    lingering_close(stream, obs);
}

/// Whether the peer has sent nothing we have not read (a non-blocking peek).
pub(crate) fn nothing_pending(stream: &TcpStream) -> bool {
    if stream.set_nonblocking(true).is_err() {
        return false;
    }
    let mut one = [0u8; 1];
    let r = stream.peek(&mut one);
    let _ = stream.set_nonblocking(false);
    matches!(r, Err(ref e) if e.kind() == ErrorKind::WouldBlock)
}
