//! The job queue between the event listener and the workers (connections with work
//! that may block), and the way back (connections a worker is done with for now).

use std::collections::VecDeque;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

use crate::conn::Connection;
use crate::conn::readiness::Next;

/// The job queue between the listener and the workers, and the way back.
pub struct Jobs {
    state: Mutex<JobState>,
    ready: Condvar,
    wake_tx: UnixStream,
    /// Workers waiting for a job.
    pub idle: AtomicUsize,
    /// Connections in the queue, and given back and not taken yet: read by the
    /// listener on every loop iteration without taking the lock.
    queue_len: AtomicUsize,
    returned_len: AtomicUsize,
}

struct JobState {
    queue: VecDeque<Connection>,
    returned: Vec<(Connection, Next)>,
    closed: bool,
}

impl Jobs {
    pub fn new(wake_tx: UnixStream) -> Jobs {
        Jobs {
            state: Mutex::new(JobState {
                queue: VecDeque::new(),
                returned: Vec::new(),
                closed: false,
            }),
            ready: Condvar::new(),
            wake_tx,
            idle: AtomicUsize::new(0),
            queue_len: AtomicUsize::new(0),
            returned_len: AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, JobState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Worker side: the next connection with input; `None` once closed.
    pub fn take(&self) -> Option<Connection> {
        let mut st = self.lock();
        self.idle.fetch_add(1, Ordering::Relaxed);
        loop {
            if let Some(c) = st.queue.pop_front() {
                self.idle.fetch_sub(1, Ordering::Relaxed);
                self.queue_len.store(st.queue.len(), Ordering::Relaxed);
                return Some(c);
            }
            if st.closed {
                self.idle.fetch_sub(1, Ordering::Relaxed);
                return None;
            }
            st = self.ready.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Worker side: hand a connection back to the listener.
    pub fn give_back(&self, conn: Connection, next: Next) {
        {
            let mut st = self.lock();
            st.returned.push((conn, next));
            self.returned_len
                .store(st.returned.len(), Ordering::Release);
        }
        self.wake();
    }

    pub fn wake(&self) {
        use std::io::Write;
        let _ = (&self.wake_tx).write(b"!");
    }

    pub(super) fn push(&self, conn: Connection) {
        let mut st = self.lock();
        st.queue.push_back(conn);
        self.queue_len.store(st.queue.len(), Ordering::Relaxed);
        drop(st);
        self.ready.notify_one();
    }

    /// Connections workers gave back (no lock taken when there are none).
    pub(super) fn take_returned(&self) -> Vec<(Connection, Next)> {
        if self.returned_len.load(Ordering::Acquire) == 0 {
            return Vec::new();
        }
        let mut st = self.lock();
        self.returned_len.store(0, Ordering::Release);
        std::mem::take(&mut st.returned)
    }

    pub(super) fn queued(&self) -> usize {
        self.queue_len.load(Ordering::Relaxed)
    }

    pub fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }
}
