//! Socket calls the standard library lacks: poll(2) over several descriptors, send(2)
//! with MSG_MORE (so a response head and the sendfile body that follows leave in full
//! packets), and double-reverse DNS for `Require host`.

use std::ffi::CStr;
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::Duration;

/// Wait until at least one of `fds` is readable (or has an error/hang-up), at most
/// `timeout` (`None` = forever). Returns the indexes of the ready descriptors; empty on
/// timeout or when interrupted by a signal.
pub fn poll_readable(fds: &[BorrowedFd<'_>], timeout: Option<Duration>) -> io::Result<Vec<usize>> {
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|fd| libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let ms: libc::c_int = match timeout {
        None => -1,
        Some(t) => t.as_millis().min(i32::MAX as u128) as libc::c_int,
    };
    // SAFETY: `pfds` is a valid, exclusively borrowed array of `pfds.len()` pollfd
    // structs for the duration of the call; the descriptors are borrowed from live
    // owners (BorrowedFd), so poll only reads them.
    let n = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ms) };
    if n < 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::Interrupted {
            return Ok(Vec::new());
        }
        return Err(e);
    }
    Ok(pfds
        .iter()
        .enumerate()
        .filter(|(_, p)| p.revents & (libc::POLLIN | libc::POLLERR | libc::POLLHUP) != 0)
        .map(|(i, _)| i)
        .collect())
}

/// Whether an idle socket is still usable as it is: `Ok(true)` when nothing is waiting
/// to be read and the peer has not closed (a peek that would block), `Ok(false)` when it
/// has data or EOF. One recv(2) with MSG_PEEK | MSG_DONTWAIT, whatever the socket's
/// blocking mode (no fcntl/ioctl around it).
pub fn idle_and_open(fd: BorrowedFd<'_>) -> io::Result<bool> {
    let mut b = [0u8; 1];
    // SAFETY: `b` is a valid writable buffer of 1 byte for the call; the descriptor is
    // borrowed from a live socket; MSG_PEEK leaves the byte in the socket.
    let n = unsafe {
        libc::recv(
            fd.as_raw_fd(),
            b.as_mut_ptr().cast(),
            1,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    if n >= 0 {
        return Ok(false);
    }
    let e = io::Error::last_os_error();
    match e.kind() {
        io::ErrorKind::WouldBlock => Ok(true),
        io::ErrorKind::Interrupted => Ok(false),
        _ => Err(e),
    }
}

/// One send(2) with MSG_DONTWAIT: what the socket takes now, whatever its blocking mode
/// (a blocking socket is used without blocking, no mode switch around it).
pub fn send_dontwait(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    loop {
        // SAFETY: `buf` is a valid readable slice for `buf.len()` bytes during the call;
        // the descriptor is borrowed from a live socket.
        let n = unsafe {
            libc::send(
                fd.as_raw_fd(),
                buf.as_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
            )
        };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// [`recv_dontwait`] of up to `max` bytes appended to `buf` (its spare capacity, grown
/// as needed and never zeroed): the count appended.
pub fn recv_dontwait_append(
    fd: BorrowedFd<'_>,
    buf: &mut Vec<u8>,
    max: usize,
) -> io::Result<usize> {
    buf.reserve(max);
    loop {
        let spare = buf.spare_capacity_mut();
        let want = spare.len().min(max);
        // SAFETY: `spare` is the vector's unused capacity, valid for writes of `want`
        // bytes during the call (recv only writes, never reads, them); the descriptor is
        // borrowed from a live socket.
        let n = unsafe {
            libc::recv(
                fd.as_raw_fd(),
                spare.as_mut_ptr().cast(),
                want,
                libc::MSG_DONTWAIT,
            )
        };
        if n >= 0 {
            let n = n as usize;
            // SAFETY: recv initialised the first `n` (<= `want`) bytes of the spare
            // capacity, which directly follow the vector's initialised length.
            unsafe { buf.set_len(buf.len() + n) };
            return Ok(n);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// One recv(2) with MSG_DONTWAIT: `WouldBlock` when nothing has arrived, `Ok(0)` at EOF.
pub fn recv_dontwait(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        // SAFETY: `buf` is a valid writable slice for `buf.len()` bytes during the call;
        // the descriptor is borrowed from a live socket.
        let n = unsafe {
            libc::recv(
                fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT,
            )
        };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// accept4(2) flags for a connection the caller drives without blocking: the socket
/// arrives non-blocking (no `ioctl(FIONBIO)` after) and close-on-exec.
pub const ACCEPT_NONBLOCKING: i32 = libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;

/// Write all of `buf` to a socket with MSG_MORE: the kernel holds a partial packet back
/// because more (a sendfile body) follows at once.
pub fn send_more(fd: BorrowedFd<'_>, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        // SAFETY: `buf` is a valid readable slice for `buf.len()` bytes during the call;
        // the descriptor is borrowed from a live socket.
        let n = unsafe {
            libc::send(
                fd.as_raw_fd(),
                buf.as_ptr().cast(),
                buf.len(),
                libc::MSG_MORE | libc::MSG_NOSIGNAL,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        buf = &buf[n as usize..];
    }
    Ok(())
}

/// One send(2) of `buf` with MSG_MORE (the head of a response whose body follows):
/// returns how much the socket took; on a non-blocking socket `WouldBlock` when none.
pub fn send_some_more(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    loop {
        // SAFETY: `buf` is a valid readable slice for `buf.len()` bytes during the call;
        // the descriptor is borrowed from a live socket.
        let n = unsafe {
            libc::send(
                fd.as_raw_fd(),
                buf.as_ptr().cast(),
                buf.len(),
                libc::MSG_MORE | libc::MSG_NOSIGNAL,
            )
        };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// `TCP_DEFER_ACCEPT` on a listening socket (Linux): `secs` > 0 makes accept wait until
/// the client's first data has arrived (or `secs` have passed), 0 turns it off. What
/// Apache's `AcceptFilter http data` sets.
pub fn set_defer_accept(fd: BorrowedFd<'_>, secs: i32) -> io::Result<()> {
    let value: libc::c_int = secs;
    // SAFETY: `fd` is a live descriptor borrowed for the call; the option value points
    // at a c_int on the stack whose size is passed.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_DEFER_ACCEPT,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The `TCP_DEFER_ACCEPT` value of a socket (the kernel rounds it to its retransmission
/// steps; 0 when off).
pub fn defer_accept(fd: BorrowedFd<'_>) -> io::Result<i32> {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `fd` is a live descriptor borrowed for the call; value and len point at
    // stack variables of the sizes passed.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_DEFER_ACCEPT,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc == 0 {
        Ok(value)
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The host name of `ip` by reverse DNS, confirmed by a forward lookup that includes
/// `ip` again (Apache's "double reverse" for `Require host`). `None` when either lookup
/// fails or they disagree.
pub fn reverse_lookup_confirmed(ip: IpAddr) -> Option<String> {
    let name = reverse_lookup(ip)?;
    let addrs = (name.as_str(), 0).to_socket_addrs().ok()?;
    let canon = |a: IpAddr| match a {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(a),
        v4 => v4,
    };
    addrs
        .map(|a: SocketAddr| canon(a.ip()))
        .any(|a| a == canon(ip))
        .then_some(name)
}

fn reverse_lookup(ip: IpAddr) -> Option<String> {
    let mut host = [0 as libc::c_char; 1025];
    let rc = match ip {
        IpAddr::V4(v4) => {
            let sa = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: 0,
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(v4.octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: `sa` is a fully initialised sockaddr_in whose size is passed;
            // `host` is a writable buffer of the length passed; no service buffer.
            unsafe {
                libc::getnameinfo(
                    (&sa as *const libc::sockaddr_in).cast(),
                    std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                    host.as_mut_ptr(),
                    host.len() as libc::socklen_t,
                    std::ptr::null_mut(),
                    0,
                    libc::NI_NAMEREQD,
                )
            }
        }
        IpAddr::V6(v6) => {
            let sa = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: 0,
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr {
                    s6_addr: v6.octets(),
                },
                sin6_scope_id: 0,
            };
            // SAFETY: as above, for a sockaddr_in6.
            unsafe {
                libc::getnameinfo(
                    (&sa as *const libc::sockaddr_in6).cast(),
                    std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
                    host.as_mut_ptr(),
                    host.len() as libc::socklen_t,
                    std::ptr::null_mut(),
                    0,
                    libc::NI_NAMEREQD,
                )
            }
        }
    };
    if rc != 0 {
        return None;
    }
    // SAFETY: getnameinfo succeeded, so `host` holds a NUL-terminated string within it.
    let s = unsafe { CStr::from_ptr(host.as_ptr()) };
    s.to_str().ok().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsFd;

    #[test]
    fn recv_appends_without_blocking() {
        let (mut a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let mut buf = b"head:".to_vec();
        let e = recv_dontwait_append(b.as_fd(), &mut buf, 4).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
        a.write_all(b"0123456789").unwrap();
        // At most `max` bytes per call, after what the vector held.
        assert_eq!(recv_dontwait_append(b.as_fd(), &mut buf, 4).unwrap(), 4);
        assert_eq!(buf, b"head:0123");
        assert_eq!(recv_dontwait_append(b.as_fd(), &mut buf, 64).unwrap(), 6);
        assert_eq!(buf, b"head:0123456789");
        drop(a);
        assert_eq!(recv_dontwait_append(b.as_fd(), &mut buf, 64).unwrap(), 0);
        assert_eq!(buf.len(), 15);
    }

    #[test]
    fn poll_reports_the_ready_descriptor() {
        let a = TcpListener::bind("127.0.0.1:0").unwrap();
        let b = TcpListener::bind("127.0.0.1:0").unwrap();
        let r = poll_readable(&[a.as_fd(), b.as_fd()], Some(Duration::from_millis(10))).unwrap();
        assert!(r.is_empty());
        let _c = TcpStream::connect(b.local_addr().unwrap()).unwrap();
        let r = poll_readable(&[a.as_fd(), b.as_fd()], Some(Duration::from_secs(5))).unwrap();
        assert_eq!(r, vec![1]);
    }

    #[test]
    fn send_more_delivers_everything() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (mut s, _) = l.accept().unwrap();
        send_more(s.as_fd(), b"hello ").unwrap();
        s.write_all(b"world").unwrap();
        drop(s);
        let mut got = String::new();
        c.read_to_string(&mut got).unwrap();
        assert_eq!(got, "hello world");
    }

    #[test]
    fn loopback_reverse_lookup_is_confirmed() {
        // /etc/hosts maps 127.0.0.1 to localhost on every Debian machine.
        let n = reverse_lookup_confirmed("127.0.0.1".parse().unwrap());
        assert!(n.is_some(), "127.0.0.1 should reverse-resolve");
        // (No lookup of a non-local address here: tests stay off the network.)
    }
}
