//! The one response writer: a response as a queue of parts (head bytes, body bytes, file
//! ranges, a stream) written as far as the transport takes them and continued later
//! from where it stopped. The blocking driver writes it to the end at once; the event
//! MPM starts it on the thread that ran the request and its listener finishes it (write
//! completion). File ranges go with sendfile(2) when the transport allows it.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, ErrorKind, Read};
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use bytes::Bytes;
use rhttpd_http::{CHUNK_END, LAST_CHUNK, write_chunk_header};

use crate::handler::{Body, BodyPart};
use crate::transport::Transport;

/// Bodies up to this size are copied behind the head and leave with it in one write
/// (one write beats a write plus a sendfile for small files).
const SMALL_BODY: u64 = 16 * 1024;
/// How much of a stream (or of a file without sendfile) is read at a time.
const CHUNK: usize = 32 * 1024;

enum Part {
    Bytes(Bytes),
    File {
        file: Arc<File>,
        offset: u64,
        end: u64,
        sendfile: bool,
    },
    /// A body produced as it is read (CGI, proxy); chunked for HTTP/1.1 clients.
    Stream {
        body: Box<dyn Read + Send>,
        chunked: bool,
        /// Framed bytes read from the stream and not written yet.
        pending: Bytes,
        /// The stream has ended (its last chunk may still be in `pending`).
        ended: bool,
    },
}

/// The unwritten remainder of a response.
pub struct Outgoing {
    parts: VecDeque<Part>,
    /// Bytes written so far (framing included).
    pub written: u64,
    /// Body bytes taken from a stream so far (a stream's length is known only at its end).
    pub stream_body: u64,
    /// When a write first found the transport full, and `written` then: the start of
    /// write completion (the event listener's SendMinRate counts from it).
    pub blocked_since: Option<(std::time::Instant, u64)>,
}

/// How far a write attempt got.
#[derive(Debug, PartialEq, Eq)]
pub enum Progress {
    Done,
    /// The transport takes no more now (non-blocking): wait until it is writable.
    WouldBlock,
    Failed,
}

fn read_at(file: &File, offset: u64, len: u64) -> io::Result<Vec<u8>> {
    let mut v = vec![0u8; len as usize];
    file.read_exact_at(&mut v, offset)?;
    Ok(v)
}

/// Bytes of `body` that [`Outgoing::new`] copies behind the head (size the head's
/// buffer with it: one allocation, no regrowth).
pub fn inline_body_len(body: &Body) -> usize {
    match body {
        Body::Bytes(b) if b.len() as u64 <= SMALL_BODY => b.len(),
        Body::File { len, .. } if *len <= SMALL_BODY => *len as usize,
        _ => 0,
    }
}

impl Outgoing {
    /// The head followed by `body` (unless `send_body` is false: HEAD, 304).
    /// `sendfile`: the transport can sendfile (the body's own flag says whether
    /// EnableSendfile allows it). Small file bodies are read now and sent with the head.
    pub fn new(
        mut head: Vec<u8>,
        body: Body,
        send_body: bool,
        chunked: bool,
        sendfile: bool,
    ) -> io::Result<Outgoing> {
        let mut parts = VecDeque::new();
        if send_body {
            match body {
                // The tunnel itself is taken out by `exchange::run`.
                Body::Empty | Body::Tunnel(_) => {}
                Body::Bytes(b) if b.len() as u64 <= SMALL_BODY => head.extend_from_slice(&b),
                Body::Bytes(b) => parts.push_back(Part::Bytes(b)),
                Body::File {
                    file, offset, len, ..
                } if len <= SMALL_BODY => {
                    // Read straight behind the head: one buffer, one write.
                    let start = head.len();
                    head.resize(start + len as usize, 0);
                    file.read_exact_at(&mut head[start..], offset)?;
                }
                Body::File {
                    file,
                    offset,
                    len,
                    sendfile: allowed,
                } => parts.push_back(Part::File {
                    file,
                    offset,
                    end: offset + len,
                    sendfile: allowed && sendfile,
                }),
                Body::FileParts {
                    file,
                    parts: list,
                    sendfile: allowed,
                } => {
                    for p in list {
                        parts.push_back(match p {
                            BodyPart::Bytes(b) => Part::Bytes(b),
                            BodyPart::FileRange { offset, len } => Part::File {
                                file: file.clone(),
                                offset,
                                end: offset + len,
                                sendfile: allowed && sendfile,
                            },
                        });
                    }
                }
                b @ (Body::Stream(_) | Body::SizedStream { .. }) => {
                    if let Ok((body, _)) = b.into_stream() {
                        parts.push_back(Part::Stream {
                            body,
                            chunked,
                            pending: Bytes::new(),
                            ended: false,
                        });
                    }
                }
            }
        }
        parts.push_front(Part::Bytes(Bytes::from(head)));
        Ok(Outgoing {
            parts,
            written: 0,
            stream_body: 0,
            blocked_since: None,
        })
    }

    /// A response that is all in memory: `head` then `body`.
    pub fn from_bytes(head: Vec<u8>, body: Bytes) -> Outgoing {
        Outgoing {
            parts: VecDeque::from([Part::Bytes(Bytes::from(head)), Part::Bytes(body)]),
            written: 0,
            stream_body: 0,
            blocked_since: None,
        }
    }

    /// Whether a part of the response is a stream (which may block while it is read:
    /// the event MPM writes those on a worker).
    pub fn has_stream(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Stream { .. }))
    }

    /// Write as much as the transport takes. On a blocking transport this returns
    /// `Done` or `Failed` (a write timeout is a failure).
    pub fn write_some(&mut self, t: &mut dyn Transport) -> Progress {
        loop {
            let more = self.parts.len() > 1;
            let Some(part) = self.parts.front_mut() else {
                // A transport that buffers (TLS) has taken everything: done once it is
                // on the socket.
                return match t.flush() {
                    Ok(()) => Progress::Done,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => Progress::WouldBlock,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(_) => Progress::Failed,
                };
            };
            let r = match part {
                Part::Bytes(b) => {
                    if b.is_empty() {
                        self.parts.pop_front();
                        continue;
                    }
                    // A head (or multipart glue) followed by file data leaves with it in
                    // full packets.
                    let sent = if more { t.write_more(b) } else { t.write(b) };
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
                        t.send_file(file, offset, count)
                    } else {
                        let chunk = count.min(CHUNK) as u64;
                        match read_at(file, *offset, chunk) {
                            // A short write re-reads the rest next time: simple, and
                            // only taken without sendfile.
                            Ok(buf) => t.write(&buf).inspect(|&n| *offset += n as u64),
                            Err(e) => Err(e),
                        }
                    }
                }
                Part::Stream {
                    body,
                    chunked,
                    pending,
                    ended,
                } => {
                    if pending.is_empty() {
                        if *ended {
                            self.parts.pop_front();
                            continue;
                        }
                        match next_stream_piece(body.as_mut(), *chunked) {
                            Ok(Some((bytes, data_len))) => {
                                self.stream_body += data_len;
                                *pending = bytes;
                            }
                            Ok(None) => {
                                *ended = true;
                                if *chunked {
                                    *pending = Bytes::from_static(LAST_CHUNK);
                                }
                                continue;
                            }
                            Err(_) => return Progress::Failed,
                        }
                    }
                    t.write(pending).inspect(|&n| {
                        let _ = pending.split_to(n);
                    })
                }
            };
            match r {
                Ok(0) => return Progress::Failed,
                Ok(n) => self.written += n as u64,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    if self.blocked_since.is_none() {
                        self.blocked_since = Some((std::time::Instant::now(), self.written));
                    }
                    return Progress::WouldBlock;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return Progress::Failed,
            }
        }
    }
}

/// Read the next piece of a stream, framed: `(bytes to write, body bytes in them)`;
/// `None` at the end of the stream.
fn next_stream_piece(body: &mut dyn Read, chunked: bool) -> io::Result<Option<(Bytes, u64)>> {
    let mut data = vec![0u8; CHUNK];
    let n = loop {
        match body.read(&mut data) {
            Ok(n) => break n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    };
    if n == 0 {
        return Ok(None);
    }
    data.truncate(n);
    if !chunked {
        return Ok(Some((Bytes::from(data), n as u64)));
    }
    let mut framed = Vec::with_capacity(n + 16);
    write_chunk_header(n, &mut framed);
    framed.extend_from_slice(&data);
    framed.extend_from_slice(CHUNK_END);
    Ok(Some((Bytes::from(framed), n as u64)))
}
