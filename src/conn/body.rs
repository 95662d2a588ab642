//! The request body as the handler's `Read`: pulls bytes from the transport through the
//! HTTP/1.1 engine, which de-chunks and enforces LimitRequestBody, sending
//! `100 Continue` before the first read when the client asked for it. mod_reqtimeout's
//! `body=` limit bounds every wait (408 when it passes, `AH01382`).

use std::io::{self, ErrorKind, Read};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rhttpd_http::{BodyRead, CONTINUE_100, ServerConn};

use crate::conf::reqtimeout::ReadDeadline;
use crate::transport::Transport;

pub(crate) struct BodyReader<'a> {
    pub(crate) transport: &'a mut dyn Transport,
    pub(crate) h1: &'a mut ServerConn,
    /// `RequestReadTimeout body=` (started when the handler first reads).
    pub(crate) limit: Option<crate::conf::reqtimeout::Stage>,
    pub(crate) deadline: Option<ReadDeadline>,
    /// Timeout: the bound of each read otherwise.
    pub(crate) timeout: Duration,
    pub(crate) client: SocketAddr,
}

impl Read for BodyReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.h1.take_continue()
            && let Err(e) = self.transport.write_all(CONTINUE_100)
        {
            self.h1.input_failed();
            return Err(e);
        }
        loop {
            match self.h1.read_body(out) {
                BodyRead::Data(n) => return Ok(n),
                BodyRead::End => return Ok(0),
                BodyRead::Failed(e) => {
                    return Err(io::Error::new(ErrorKind::InvalidData, e.to_string()));
                }
                BodyRead::NeedInput => match self.read_more() {
                    Ok(0) => {
                        self.h1.input_failed();
                        return Err(io::Error::new(
                            ErrorKind::UnexpectedEof,
                            "client closed the connection before the end of the request body",
                        ));
                    }
                    Ok(_) => {}
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) if self.deadline.is_some_and(|d| d.at <= Instant::now()) => {
                        super::deadline::log_timeout("body", self.client);
                        self.h1.input_timed_out();
                        return Err(e);
                    }
                    Err(e) => {
                        self.h1.input_failed();
                        return Err(e);
                    }
                },
            }
        }
    }
}

impl BodyReader<'_> {
    /// One read from the transport, waiting no longer than the body's limit allows.
    fn read_more(&mut self) -> io::Result<usize> {
        let now = Instant::now();
        if self.deadline.is_none() {
            self.deadline = self.limit.and_then(|s| s.start(now));
        }
        if let Some(d) = &self.deadline {
            let left = d.remaining(now);
            if left.is_zero() {
                return Err(ErrorKind::TimedOut.into());
            }
            let _ = self.transport.set_read_timeout(self.timeout.min(left));
        }
        let n = self.h1.read_from(self.transport)?;
        if let Some(d) = &mut self.deadline {
            d.received(n);
        }
        Ok(n)
    }

    /// Read and discard the rest of the body (bounded by LimitRequestBody, which the
    /// engine enforces).
    pub(crate) fn discard(&mut self) {
        let mut scratch = [0u8; 8192];
        while let Ok(n) = self.read(&mut scratch) {
            if n == 0 {
                break;
            }
        }
    }
}
