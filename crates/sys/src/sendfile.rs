//! Zero-copy file bodies: `sendfile64(2)` from a file to a socket (plain TCP only; TLS
//! connections copy through user space, as Apache's `EnableSendfile` does).

use std::io;
use std::os::fd::BorrowedFd;

use nix::errno::Errno;

use crate::errno;

/// Sends up to `count` bytes of `file`, starting at `*offset`, to `out`; returns how many
/// were sent and advances `*offset` by that much. The file's own position is not used or
/// changed. `Ok(0)` means end of file. A non-blocking socket that is full gives
/// `io::ErrorKind::WouldBlock` (nothing sent); `EINTR` is retried.
pub fn sendfile(
    out: BorrowedFd<'_>,
    file: BorrowedFd<'_>,
    offset: &mut u64,
    count: usize,
) -> io::Result<usize> {
    let mut off = libc::off64_t::try_from(*offset)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "sendfile offset too large"))?;
    loop {
        match nix::sys::sendfile::sendfile64(out, file, Some(&mut off), count) {
            Ok(sent) => {
                // The kernel has advanced `off` by `sent`.
                *offset = off as u64;
                return Ok(sent);
            }
            Err(Errno::EINTR) => {}
            Err(e) => return Err(errno(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsFd;

    use super::*;

    #[test]
    fn sends_a_range_and_advances_the_offset() {
        let mut file = tempfile::tempfile().unwrap();
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        file.write_all(&data).unwrap();

        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();

        let reader = std::thread::spawn(move || {
            let mut client = client;
            let mut got = Vec::new();
            client.read_to_end(&mut got).unwrap();
            got
        });
        let mut offset = 10u64;
        let end = 90_010u64;
        while offset < end {
            let want = (end - offset) as usize;
            let n = sendfile(server.as_fd(), file.as_fd(), &mut offset, want).unwrap();
            assert!(n > 0);
        }
        assert_eq!(offset, end);
        // At end of file nothing more is sent.
        let mut eof = data.len() as u64;
        assert_eq!(
            sendfile(server.as_fd(), file.as_fd(), &mut eof, 10).unwrap(),
            0
        );
        drop(server);
        let got = reader.join().unwrap();
        assert_eq!(got, &data[10..90_010]);
    }

    #[test]
    fn full_nonblocking_socket_would_block() {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&vec![7u8; 1 << 20]).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let _client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        server.set_nonblocking(true).unwrap();
        let mut offset = 0u64;
        let mut saw_would_block = false;
        // Nobody reads: the socket buffers fill up (a few MiB at most) and then it blocks.
        for _ in 0..10_000 {
            if offset >= 1 << 20 {
                offset = 0;
            }
            match sendfile(server.as_fd(), file.as_fd(), &mut offset, 1 << 20) {
                Ok(_) => {}
                Err(e) => {
                    assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
                    saw_would_block = true;
                    break;
                }
            }
        }
        assert!(saw_would_block);
    }
}
