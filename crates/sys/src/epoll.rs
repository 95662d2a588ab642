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
        let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
        let t = EpollTimeout::try_from(ms).unwrap_or(EpollTimeout::NONE);
        match self.epoll.wait(&mut events, t) {
            Ok(n) => Ok(events[..n].iter().map(|e| e.data() as usize).collect()),
            Err(nix::errno::Errno::EINTR) => Ok(Vec::new()),
            Err(e) => Err(crate::errno(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsFd;

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
