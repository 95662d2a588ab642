//! The request body as the handler's `Read`: pulls bytes from the transport through the
//! HTTP/1.1 engine, which de-chunks and enforces LimitRequestBody, sending
//! `100 Continue` before the first read when the client asked for it.

use std::io::{self, ErrorKind, Read};

use rhttpd_http::{BodyRead, CONTINUE_100, ServerConn};

use crate::transport::Transport;

pub(crate) struct BodyReader<'a> {
    pub(crate) transport: &'a mut dyn Transport,
    pub(crate) h1: &'a mut ServerConn,
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
                BodyRead::NeedInput => match self.h1.read_from(self.transport) {
                    Ok(0) => {
                        self.h1.input_failed();
                        return Err(io::Error::new(
                            ErrorKind::UnexpectedEof,
                            "client closed the connection before the end of the request body",
                        ));
                    }
                    Ok(_) => {}
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
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
