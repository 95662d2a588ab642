//! Helper processes of handlers (CGI scripts): waiting on their pipes in both
//! directions and signalling their process group (they are started by [`crate::spawn`]).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use crate::errno;

/// What to wait for on one descriptor in [`poll_fds`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interest {
    /// Readable (or hung up / in error).
    Read,
    /// Writable (or in error: the reader went away).
    Write,
}

/// Wait until at least one of `fds` is ready for its [`Interest`] (an error or hang-up
/// counts as ready, so the next read or write reports it), at most `timeout`. Returns
/// one flag per descriptor; all false on timeout or when interrupted by a signal.
pub fn poll_fds(fds: &[(BorrowedFd<'_>, Interest)], timeout: Duration) -> io::Result<Vec<bool>> {
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|(fd, interest)| libc::pollfd {
            fd: fd.as_raw_fd(),
            events: match interest {
                Interest::Read => libc::POLLIN,
                Interest::Write => libc::POLLOUT,
            },
            revents: 0,
        })
        .collect();
    let ms = timeout.as_millis().min(i32::MAX as u128) as libc::c_int;
    // SAFETY: `pfds` is a valid, exclusively borrowed array of `pfds.len()` pollfd
    // structs for the duration of the call; the descriptors are borrowed from live
    // owners (BorrowedFd), so poll only reads them.
    let n = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ms) };
    if n < 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::Interrupted {
            return Ok(vec![false; fds.len()]);
        }
        return Err(e);
    }
    Ok(pfds
        .iter()
        .map(|p| p.revents & (p.events | libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0)
        .collect())
}

/// Sends `sig` to every process of process group `pgid` (`killpg(2)`). Groups `<= 1`
/// are refused with `InvalidInput` (0 would be the caller's own group).
pub fn kill_process_group(pgid: i32, sig: i32) -> io::Result<()> {
    if pgid <= 1 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("refusing to signal process group {pgid}"),
        ));
    }
    let signal = Signal::try_from(sig).map_err(errno)?;
    killpg(Pid::from_raw(pgid), signal).map_err(errno)
}
