//! A small epoll set for prefork children: the listening sockets are registered with
//! `EPOLLEXCLUSIVE`, so one incoming connection wakes one idle child instead of all of
//! them (no thundering herd and no accept mutex), while each child's own wake-up
//! descriptors (its signal pipe) are registered normally.

use std::io;
use std::os::fd::BorrowedFd;
use std::time::Duration;

use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};

/// An epoll instance over listeners (exclusive wake-ups) and wake-up descriptors.
#[derive(Debug)]
pub struct ListenPoll {
    epoll: Epoll,
    count: usize,
}

impl ListenPoll {
    /// Register `listeners` (indexes `0..listeners.len()`) with EPOLLEXCLUSIVE and
    /// `wakers` (the following indexes) normally.
    pub fn new(listeners: &[BorrowedFd<'_>], wakers: &[BorrowedFd<'_>]) -> io::Result<ListenPoll> {
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).map_err(crate::errno)?;
        let mut i = 0u64;
        for fd in listeners {
            epoll
                .add(
                    fd,
                    EpollEvent::new(EpollFlags::EPOLLIN | EpollFlags::EPOLLEXCLUSIVE, i),
                )
                .map_err(crate::errno)?;
            i += 1;
        }
        for fd in wakers {
            epoll
                .add(fd, EpollEvent::new(EpollFlags::EPOLLIN, i))
                .map_err(crate::errno)?;
            i += 1;
        }
        Ok(ListenPoll {
            epoll,
            count: i as usize,
        })
    }

    /// Wait at most `timeout` for readiness; returns the indexes that are ready (empty
    /// on timeout or on EINTR).
    pub fn wait(&self, timeout: Duration) -> io::Result<Vec<usize>> {
        let mut events = vec![EpollEvent::empty(); self.count.max(1)];
        // Rounded up: a deadline less than a millisecond away must not become a zero
        // timeout and a busy loop until it passes.
        let ms = timeout.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
        let t = EpollTimeout::try_from(ms).unwrap_or(EpollTimeout::NONE);
        match self.epoll.wait(&mut events, t) {
            Ok(n) => Ok(events[..n].iter().map(|e| e.data() as usize).collect()),
            Err(nix::errno::Errno::EINTR) => Ok(Vec::new()),
            Err(e) => Err(crate::errno(e)),
        }
    }
}

/// What a registration waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interest {
    /// Readable (data, EOF, or an incoming connection).
    Read,
    /// Writable.
    Write,
    /// Either (a TLS connection may need to read and write to make progress).
    ReadWrite,
}

/// A readiness event from [`Poller::wait`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ready {
    /// The token given at registration.
    pub token: u64,
    /// Data (or EOF) can be read.
    pub readable: bool,
    /// The socket takes more data.
    pub writable: bool,
    /// Error or hang-up on the descriptor.
    pub closed: bool,
}

/// An epoll set (level-triggered unless said otherwise) with caller-chosen tokens: the event MPM's listener
/// holds listening sockets (EPOLLEXCLUSIVE), its wake-up socket and every parked
/// connection in one of these.
#[derive(Debug)]
pub struct Poller {
    epoll: Epoll,
    events: Vec<EpollEvent>,
}

fn flags(i: Interest) -> EpollFlags {
    match i {
        Interest::Read => EpollFlags::EPOLLIN | EpollFlags::EPOLLRDHUP,
        Interest::Write => EpollFlags::EPOLLOUT,
        Interest::ReadWrite => EpollFlags::EPOLLIN | EpollFlags::EPOLLRDHUP | EpollFlags::EPOLLOUT,
    }
}

impl Poller {
    /// A new epoll set returning up to `capacity` events per wait (grows as needed).
    pub fn new(capacity: usize) -> io::Result<Poller> {
        Ok(Poller {
            epoll: Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).map_err(crate::errno)?,
            events: vec![EpollEvent::empty(); capacity.max(16)],
        })
    }

    /// Register a listening socket so that one connection wakes one process only.
    pub fn add_exclusive(&self, fd: BorrowedFd<'_>, token: u64) -> io::Result<()> {
        self.epoll
            .add(
                fd,
                EpollEvent::new(EpollFlags::EPOLLIN | EpollFlags::EPOLLEXCLUSIVE, token),
            )
            .map_err(crate::errno)
    }

    /// Register `fd` (level-triggered) under `token`.
    pub fn add(&self, fd: BorrowedFd<'_>, token: u64, interest: Interest) -> io::Result<()> {
        self.epoll
            .add(fd, EpollEvent::new(flags(interest), token))
            .map_err(crate::errno)
    }

    /// Register `fd` edge-triggered under `token`: one event each time it becomes
    /// readable (or hangs up), so it can stay registered while nobody waits on it. The
    /// reader must read until a short read or `EAGAIN` to be told of more.
    pub fn add_edge_read(&self, fd: BorrowedFd<'_>, token: u64) -> io::Result<()> {
        self.epoll
            .add(
                fd,
                EpollEvent::new(flags(Interest::Read) | EpollFlags::EPOLLET, token),
            )
            .map_err(crate::errno)
    }

    /// Change what `fd` waits for.
    pub fn modify(&self, fd: BorrowedFd<'_>, token: u64, interest: Interest) -> io::Result<()> {
        let mut ev = EpollEvent::new(flags(interest), token);
        self.epoll.modify(fd, &mut ev).map_err(crate::errno)
    }

    /// Remove `fd` from the set.
    pub fn delete(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        self.epoll.delete(fd).map_err(crate::errno)
    }

    /// Wait at most `timeout`; appends what is ready to `out` (cleared first).
    pub fn wait(&mut self, timeout: Duration, out: &mut Vec<Ready>) -> io::Result<()> {
        out.clear();
        // Rounded up: a deadline less than a millisecond away must not become a zero
        // timeout and a busy loop until it passes.
        let ms = timeout.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
        let t = EpollTimeout::try_from(ms).unwrap_or(EpollTimeout::NONE);
        let n = match self.epoll.wait(&mut self.events, t) {
            Ok(n) => n,
            Err(nix::errno::Errno::EINTR) => 0,
            Err(e) => return Err(crate::errno(e)),
        };
        for e in &self.events[..n] {
            let f = e.events();
            out.push(Ready {
                token: e.data(),
                readable: f.intersects(EpollFlags::EPOLLIN),
                writable: f.intersects(EpollFlags::EPOLLOUT),
                closed: f.intersects(
                    EpollFlags::EPOLLERR | EpollFlags::EPOLLHUP | EpollFlags::EPOLLRDHUP,
                ),
            });
        }
        if n == self.events.len() && self.events.len() < 4096 {
            let len = self.events.len() * 2;
            self.events.resize(len, EpollEvent::empty());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsFd;

    #[test]
    fn poller_tokens_and_interest() {
        use std::io::Write;
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut p = Poller::new(4).unwrap();
        p.add_exclusive(l.as_fd(), 7).unwrap();
        let mut out = Vec::new();
        p.wait(Duration::from_millis(5), &mut out).unwrap();
        assert!(out.is_empty());
        let mut c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        p.wait(Duration::from_secs(5), &mut out).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].token, 7);
        let (s, _) = l.accept().unwrap();
        p.add(s.as_fd(), 9, Interest::Write).unwrap();
        p.wait(Duration::from_secs(5), &mut out).unwrap();
        assert!(out.iter().any(|r| r.token == 9 && r.writable));
        p.modify(s.as_fd(), 9, Interest::Read).unwrap();
        c.write_all(b"x").unwrap();
        p.wait(Duration::from_secs(5), &mut out).unwrap();
        assert!(out.iter().any(|r| r.token == 9 && r.readable));
        p.modify(s.as_fd(), 9, Interest::ReadWrite).unwrap();
        p.wait(Duration::from_secs(5), &mut out).unwrap();
        assert!(out.iter().any(|r| r.token == 9 && r.readable && r.writable));
        p.delete(s.as_fd()).unwrap();
    }

    #[test]
    fn reports_listener_and_waker_indexes() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let w = TcpListener::bind("127.0.0.1:0").unwrap();
        let p = ListenPoll::new(&[l.as_fd()], &[w.as_fd()]).unwrap();
        assert!(p.wait(Duration::from_millis(10)).unwrap().is_empty());
        let _c = TcpStream::connect(w.local_addr().unwrap()).unwrap();
        assert_eq!(p.wait(Duration::from_secs(5)).unwrap(), vec![1]);
        let _d = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let mut got = p.wait(Duration::from_secs(5)).unwrap();
        got.sort();
        assert_eq!(got, vec![0, 1]);
    }
}
