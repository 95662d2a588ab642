//! Streams whose handler may block (CGI, proxy, FastCGI, request bodies) run on stream
//! threads, so that one slow script does not hold up the other streams of its
//! connection: mod_http2's secondary connections ("c2") on its H2MaxWorkers pool.
//!
//! The thread serving the connection (c1: a worker thread, `-X`'s only thread, or an
//! event worker while streams are in flight) keeps the session and the socket. A stream
//! thread runs the pipeline, posts the response head to the connection's [`Mailbox`]
//! and, for a body produced as it is read, pumps it into a [`Pipe`] of at most
//! H2StreamMaxMemSize octets, waiting while it is full: the client's flow-control windows
//! decide how fast c1 empties it. Every post wakes c1 through the mailbox's socket pair.
//! Dropping c1's end ([`PipeReader`]) tells the producer to stop (the client reset the
//! stream or the connection closed).
//!
//! Stream threads are spawned when needed, at most [`set_thread_limit`] at once per
//! child (H2MaxWorkers; Apache's default is 1.5 × ThreadsPerChild, at least 4). A
//! stream that finds the limit reached waits in the connection's runnable queue.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use bytes::Bytes;
use rhttpd_http::RequestHead;

use super::ReqBody;
use crate::handler::{Body, ConnInfo, Response};
use crate::pipeline::Outcome;
use crate::site::Site;

/// Stream threads running in this process, and how many may.
static RUNNING: AtomicUsize = AtomicUsize::new(0);
static LIMIT: AtomicUsize = AtomicUsize::new(32);

/// H2MaxWorkers for this child (set by the MPM after fork).
pub fn set_thread_limit(n: usize) {
    LIMIT.store(n.max(1), Ordering::Relaxed);
}

/// A slot for one more stream thread, if the limit allows.
pub(super) fn acquire() -> Option<ThreadSlot> {
    let limit = LIMIT.load(Ordering::Relaxed);
    RUNNING
        .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |n| {
            (n < limit).then_some(n + 1)
        })
        .ok()
        .map(|_| ThreadSlot)
}

/// Held by a stream thread; gives its slot back when dropped.
pub(super) struct ThreadSlot;

impl Drop for ThreadSlot {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, Ordering::AcqRel);
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What a stream thread hands back: the response, without its body when that is
/// produced as it is read (then `pipe` carries it).
pub(super) struct Finished {
    pub id: u32,
    pub head: RequestHead,
    pub resp: Response,
    pub outcome: Outcome,
    pub pipe: Option<PipeReader>,
    /// The length of the body `pipe` carries, when known (a sized stream).
    pub pipe_len: Option<u64>,
    pub bytes_in: u64,
}

/// Where a connection's stream threads post their results.
pub(super) struct Mailbox {
    /// `None` once the connection is gone: later results are dropped at once (which
    /// closes their pipes, so no producer waits for a reader that will never come).
    done: Mutex<Option<Vec<Finished>>>,
    wake: UnixStream,
    /// Stream threads of this connection still running.
    pub running: AtomicUsize,
}

impl Mailbox {
    pub fn new(wake: UnixStream) -> Arc<Mailbox> {
        Arc::new(Mailbox {
            done: Mutex::new(Some(Vec::new())),
            wake,
            running: AtomicUsize::new(0),
        })
    }

    fn poke(&self) {
        // A full socket already holds a wake-up.
        let _ = (&self.wake).write(&[1]);
    }

    fn post(&self, f: Finished) {
        let dropped = match lock(&self.done).as_mut() {
            Some(done) => {
                done.push(f);
                None
            }
            None => Some(f),
        };
        drop(dropped);
        self.poke();
    }

    /// Results posted since the last call.
    pub fn take(&self) -> Vec<Finished> {
        lock(&self.done)
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// The connection is gone: drop what was posted and what will be.
    pub fn close(&self) {
        let left = lock(&self.done).take();
        drop(left);
    }
}

/// A response body on its way from a stream thread to the connection.
pub(super) struct Pipe {
    state: Mutex<PipeState>,
    room: Condvar,
    mailbox: Arc<Mailbox>,
    cap: usize,
}

struct PipeState {
    chunks: VecDeque<Bytes>,
    queued: usize,
    /// The producer finished: true if the body is complete, false if it failed.
    ended: Option<bool>,
    /// The connection's end was dropped.
    closed: bool,
}

/// The connection's end of a [`Pipe`].
pub(super) struct PipeReader(Arc<Pipe>);

/// What [`PipeReader::take`] found.
pub(super) enum Take {
    Data(Bytes),
    /// The body is complete (`true`) or its producer failed (`false`).
    End(bool),
    /// Nothing yet.
    Pending,
}

impl PipeReader {
    /// Up to `want` octets without waiting.
    pub fn take(&self, want: usize) -> Take {
        let mut st = lock(&self.0.state);
        let Some(front) = st.chunks.front_mut() else {
            return match st.ended {
                Some(ok) => Take::End(ok),
                None => Take::Pending,
            };
        };
        let data = if front.len() <= want {
            st.chunks.pop_front().unwrap_or_default()
        } else {
            front.split_to(want)
        };
        st.queued -= data.len();
        drop(st);
        self.0.room.notify_one();
        Take::Data(data)
    }
}

impl Drop for PipeReader {
    fn drop(&mut self) {
        lock(&self.0.state).closed = true;
        self.0.room.notify_all();
    }
}

impl Pipe {
    /// Queue `data`, waiting while the pipe is full. False once the reader is gone.
    fn push(&self, data: Bytes) -> bool {
        let mut st = lock(&self.state);
        while !st.closed && st.queued >= self.cap {
            st = self.room.wait(st).unwrap_or_else(|p| p.into_inner());
        }
        if st.closed {
            return false;
        }
        st.queued += data.len();
        st.chunks.push_back(data);
        drop(st);
        self.mailbox.poke();
        true
    }

    fn end(&self, ok: bool) {
        lock(&self.state).ended = Some(ok);
        self.mailbox.poke();
    }
}

/// A request handed to a stream thread.
pub(super) struct Job {
    pub id: u32,
    pub head: RequestHead,
    pub body: ReqBody,
    pub info: ConnInfo,
    pub mailbox: Arc<Mailbox>,
    /// The most body octets queued for the connection at once.
    pub cap: usize,
}

/// Counts a stream thread out of its connection's mailbox when it ends, however it
/// ends.
struct Running(Arc<Mailbox>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::AcqRel);
        self.0.poke();
    }
}

/// The stream thread's work: run the request, post the head, pump a streamed body.
/// The caller counted the thread in `job.mailbox.running`.
pub(super) fn run(job: Job, site: &Site, _slot: ThreadSlot) {
    let _running = Running(job.mailbox.clone());
    let Job {
        id,
        head,
        body,
        info,
        mailbox,
        cap,
    } = job;
    let bytes_in = body.len();
    let cfg = &site.cfg;
    let (mut resp, outcome) = match body.into_reader() {
        Ok(mut reader) => crate::pipeline::process(cfg, &site.handlers, &info, &head, &mut reader),
        Err(_) => {
            let status = http::StatusCode::INTERNAL_SERVER_ERROR;
            let resp =
                crate::pipeline::error_response_for(cfg, &site.handlers, &info, &head, status);
            (resp, Outcome::default())
        }
    };
    let (stream, pipe_len) = match std::mem::replace(&mut resp.body, Body::Empty).into_stream() {
        Ok((r, len)) => (Some(r), len),
        Err(other) => {
            resp.body = other;
            (None, None)
        }
    };
    let pipe = stream.as_ref().map(|_| {
        Arc::new(Pipe {
            state: Mutex::new(PipeState {
                chunks: VecDeque::new(),
                queued: 0,
                ended: None,
                closed: false,
            }),
            room: Condvar::new(),
            mailbox: mailbox.clone(),
            cap: cap.max(16 * 1024),
        })
    });
    mailbox.post(Finished {
        id,
        head,
        resp,
        outcome,
        pipe: pipe.clone().map(PipeReader),
        pipe_len,
        bytes_in,
    });
    if let (Some(mut r), Some(pipe)) = (stream, pipe) {
        let ok = pump(&mut *r, &pipe);
        pipe.end(ok);
    }
}

/// Read a streamed body into the pipe: true when it ended cleanly.
fn pump(r: &mut dyn Read, pipe: &Pipe) -> bool {
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        match r.read(&mut buf) {
            Ok(0) => return true,
            Ok(n) => {
                if !pipe.push(Bytes::copy_from_slice(&buf[..n])) {
                    return false;
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}
