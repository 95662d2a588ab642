//! A response not yet fully written: the head and body as a list of parts that can be
//! written with non-blocking I/O, continued later from where the socket stopped taking
//! data. Worker threads start it; the listener thread finishes it (write completion).

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, ErrorKind, Write};
use std::net::TcpStream;
use std::os::fd::AsFd;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use bytes::Bytes;

use crate::handler::{Body, BodyPart};

/// Bodies up to this size are copied behind the head and sent with one write.
const SMALL_FILE: u64 = 16 * 1024;

enum Part {
    Bytes(Bytes),
    File {
        file: Arc<File>,
        offset: u64,
        end: u64,
        sendfile: bool,
    },
}

/// The unwritten remainder of a response.
pub struct Outgoing {
    parts: VecDeque<Part>,
    /// Bytes written so far (for the access log and scoreboard).
    pub written: u64,
}

/// How far a write attempt got.
pub enum Progress {
    Done,
    WouldBlock,
    Failed,
}

fn read_at(file: &File, offset: u64, len: u64) -> io::Result<Vec<u8>> {
    let mut v = vec![0u8; len as usize];
    file.read_exact_at(&mut v, offset)?;
    Ok(v)
}

impl Outgoing {
    /// The head bytes followed by `body` (anything but a stream). Small file bodies are
    /// read now and sent with the head in one write.
    pub fn new(mut head: Vec<u8>, body: Body, send_body: bool) -> io::Result<Outgoing> {
        let mut parts = VecDeque::new();
        if send_body {
            match body {
                Body::Empty | Body::Stream(_) => {}
                Body::Bytes(b) => {
                    if b.len() <= SMALL_FILE as usize {
                        head.extend_from_slice(&b);
                    } else {
                        parts.push_back(Part::Bytes(b));
                    }
                }
                Body::File {
                    file,
                    offset,
                    len,
                    sendfile,
                } => {
                    if len <= SMALL_FILE {
                        head.extend_from_slice(&read_at(&file, offset, len)?);
                    } else {
                        parts.push_back(Part::File {
                            file,
                            offset,
                            end: offset + len,
                            sendfile,
                        });
                    }
                }
                Body::FileParts {
                    file,
                    parts: list,
                    sendfile,
                } => {
                    for p in list {
                        match p {
                            BodyPart::Bytes(b) => parts.push_back(Part::Bytes(b)),
                            BodyPart::FileRange { offset, len } => parts.push_back(Part::File {
                                file: file.clone(),
                                offset,
                                end: offset + len,
                                sendfile,
                            }),
                        }
                    }
                }
            }
        }
        parts.push_front(Part::Bytes(Bytes::from(head)));
        Ok(Outgoing { parts, written: 0 })
    }

    /// Write as much as the (non-blocking) socket takes.
    pub fn write_some(&mut self, stream: &TcpStream) -> Progress {
        let mut s = stream;
        while !self.parts.is_empty() {
            let more = self.parts.len() > 1;
            let Some(part) = self.parts.front_mut() else {
                break;
            };
            let r = match part {
                Part::Bytes(b) => {
                    if b.is_empty() {
                        self.parts.pop_front();
                        continue;
                    }
                    // A head (or multipart glue) followed by file data leaves with it in
                    // full packets.
                    let sent = if more {
                        rhttpd_sys::send_some_more(stream.as_fd(), b)
                    } else {
                        s.write(b)
                    };
                    sent.inspect(|&n| {
                        let _ = b.split_to(n);
                    })
                }
                Part::File {
                    file,
                    offset,
                    end,
                    sendfile,
                } => {
                    if *offset >= *end {
                        self.parts.pop_front();
                        continue;
                    }
                    let count = (*end - *offset).min(1 << 30) as usize;
                    if *sendfile {
                        match rhttpd_sys::sendfile(stream.as_fd(), file.as_fd(), offset, count) {
                            Ok(0) => Err(io::Error::new(ErrorKind::UnexpectedEof, "file shrank")),
                            other => other,
                        }
                    } else {
                        let chunk = count.min(64 * 1024) as u64;
                        match read_at(file, *offset, chunk) {
                            Ok(buf) => s.write(&buf).inspect(|&n| {
                                *offset += n as u64;
                            }),
                            Err(e) => Err(e),
                        }
                    }
                }
            };
            match r {
                Ok(n) => self.written += n as u64,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Progress::WouldBlock,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return Progress::Failed,
            }
        }
        Progress::Done
    }
}
