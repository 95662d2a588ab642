//! Resource limits, descriptor flags and system identification.

use std::io;
use std::os::fd::BorrowedFd;

use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl};
use nix::sys::resource::{RLIM_INFINITY, Resource, getrlimit, setrlimit};

use crate::errno;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit (capped at `/proc/sys/fs/nr_open`
/// when the hard limit is unlimited) and returns the resulting soft limit.
pub fn raise_nofile_limit() -> io::Result<u64> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).map_err(errno)?;
    let mut target = hard;
    if target == RLIM_INFINITY {
        target = std::fs::read_to_string("/proc/sys/fs/nr_open")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(1 << 20);
    }
    if soft >= target {
        return Ok(soft);
    }
    setrlimit(Resource::RLIMIT_NOFILE, target, hard).map_err(errno)?;
    Ok(target)
}

/// The current (soft, hard) `RLIMIT_NOFILE`.
pub fn nofile_limit() -> io::Result<(u64, u64)> {
    getrlimit(Resource::RLIMIT_NOFILE).map_err(errno)
}

/// Sets or clears `O_NONBLOCK` on `fd`.
pub fn set_nonblocking(fd: BorrowedFd<'_>, nonblocking: bool) -> io::Result<()> {
    let bits = fcntl(fd, FcntlArg::F_GETFL).map_err(errno)?;
    let mut flags = OFlag::from_bits_retain(bits);
    flags.set(OFlag::O_NONBLOCK, nonblocking);
    fcntl(fd, FcntlArg::F_SETFL(flags)).map_err(errno)?;
    Ok(())
}

/// Sets or clears `FD_CLOEXEC` on `fd`.
pub fn set_cloexec(fd: BorrowedFd<'_>, cloexec: bool) -> io::Result<()> {
    let bits = fcntl(fd, FcntlArg::F_GETFD).map_err(errno)?;
    let mut flags = FdFlag::from_bits_retain(bits);
    flags.set(FdFlag::FD_CLOEXEC, cloexec);
    fcntl(fd, FcntlArg::F_SETFD(flags)).map_err(errno)?;
    Ok(())
}

/// The fields of `uname(2)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uname {
    /// Operating system name, e.g. `Linux`.
    pub sysname: String,
    /// Host name.
    pub nodename: String,
    /// Kernel release, e.g. `6.1.0-18-amd64`.
    pub release: String,
    /// Kernel version string.
    pub version: String,
    /// Hardware name, e.g. `x86_64`.
    pub machine: String,
}

/// All fields of `uname(2)`.
pub fn uname_full() -> io::Result<Uname> {
    // SAFETY: `utsname` is plain C data (arrays of c_char), for which all-zero bytes are a
    // valid value.
    let mut buf: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `buf` is a valid, writable `utsname`; uname writes only within it.
    if unsafe { libc::uname(&mut buf) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let field = |f: &[libc::c_char]| {
        let bytes: Vec<u8> = f.iter().map(|&c| c as u8).take_while(|&b| b != 0).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    Ok(Uname {
        sysname: field(&buf.sysname),
        nodename: field(&buf.nodename),
        release: field(&buf.release),
        version: field(&buf.version),
        machine: field(&buf.machine),
    })
}

/// The operating system name (`uname -s`, e.g. `Linux`), for `httpd -V`.
pub fn uname() -> String {
    uname_full()
        .map(|u| u.sysname)
        .unwrap_or_else(|_| std::env::consts::OS.to_string())
}

/// The host name (`uname -n`).
pub fn hostname() -> String {
    uname_full().map(|u| u.nodename).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;

    use super::*;
    use crate::process::ChildExit;
    use crate::test_util::in_child;

    #[test]
    fn nofile_is_raised_to_the_hard_limit() {
        let exit = in_child(|| {
            let Ok((_, hard)) = nofile_limit() else {
                return 1;
            };
            if setrlimit(Resource::RLIMIT_NOFILE, 64.min(hard), hard).is_err() {
                return 2;
            }
            match raise_nofile_limit() {
                Ok(n) if n > 64.min(hard) || hard <= 64 => {
                    if nofile_limit().map(|l| l.0).ok() == Some(n) {
                        0
                    } else {
                        3
                    }
                }
                _ => 4,
            }
        });
        assert_eq!(exit, ChildExit::Exited(0));
    }

    #[test]
    fn fd_flags() {
        let f = tempfile::tempfile().unwrap();
        set_nonblocking(f.as_fd(), true).unwrap();
        let fl = OFlag::from_bits_retain(fcntl(f.as_fd(), FcntlArg::F_GETFL).unwrap());
        assert!(fl.contains(OFlag::O_NONBLOCK));
        set_nonblocking(f.as_fd(), false).unwrap();
        let fl = OFlag::from_bits_retain(fcntl(f.as_fd(), FcntlArg::F_GETFL).unwrap());
        assert!(!fl.contains(OFlag::O_NONBLOCK));
        set_cloexec(f.as_fd(), false).unwrap();
        let fd = FdFlag::from_bits_retain(fcntl(f.as_fd(), FcntlArg::F_GETFD).unwrap());
        assert!(!fd.contains(FdFlag::FD_CLOEXEC));
        set_cloexec(f.as_fd(), true).unwrap();
        let fd = FdFlag::from_bits_retain(fcntl(f.as_fd(), FcntlArg::F_GETFD).unwrap());
        assert!(fd.contains(FdFlag::FD_CLOEXEC));
    }

    #[test]
    fn uname_reports_linux() {
        assert_eq!(uname(), "Linux");
        let u = uname_full().unwrap();
        assert!(!u.release.is_empty() && !u.machine.is_empty());
        assert!(!hostname().is_empty());
    }
}
