//! Mapping of [`ParseError`] to the status Apache answers with and the text it logs.

use std::fmt;

use crate::types::{ParseError, StatusCode};

impl ParseError {
    /// The status Apache httpd 2.4 answers with for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ParseError::RequestLineTooLong => StatusCode::URI_TOO_LONG,
            ParseError::UnsupportedVersion => StatusCode::HTTP_VERSION_NOT_SUPPORTED,
            ParseError::UnsupportedTransferEncoding => StatusCode::NOT_IMPLEMENTED,
            ParseError::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ParseError::UnsupportedExpectation => StatusCode::EXPECTATION_FAILED,
            ParseError::BadStatusLine => StatusCode::BAD_GATEWAY,
            ParseError::HeaderFieldTooLong
            | ParseError::TooManyHeaders
            | ParseError::BadRequestLine
            | ParseError::BadHeader
            | ParseError::Http09
            | ParseError::BadContentLength
            | ParseError::ConflictingFraming
            | ParseError::BadTransferEncoding
            | ParseError::BadChunk
            | ParseError::BadHost
            | ParseError::IncompleteBody => StatusCode::BAD_REQUEST,
            ParseError::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
        }
    }

    /// The explanation Apache logs (or puts in the `error-notes` of its error page).
    pub fn reason(&self) -> &'static str {
        match self {
            ParseError::RequestLineTooLong => {
                "The requested URL's length exceeds the capacity limit for this server."
            }
            ParseError::HeaderFieldTooLong => {
                "Size of a request header field exceeds server limit."
            }
            ParseError::TooManyHeaders => {
                "The number of request header fields exceeds this server's limit."
            }
            ParseError::BadRequestLine => "HTTP Request Line; Invalid request line",
            ParseError::BodyTimeout => "Request body read timeout",
            ParseError::BadHeader => "Request header field is malformed.",
            ParseError::Http09 => "HTTP Request Line; Rejected HTTP/0.9 request",
            ParseError::UnsupportedVersion => "HTTP Request Line; Unsupported HTTP version",
            ParseError::BadContentLength => "client sent invalid Content-Length",
            ParseError::ConflictingFraming => {
                "client sent both Transfer-Encoding and Content-Length"
            }
            ParseError::UnsupportedTransferEncoding => "client sent unknown Transfer-Encoding",
            ParseError::BadTransferEncoding => "client sent invalid Transfer-Encoding",
            ParseError::UnsupportedExpectation => {
                "client sent an unrecognized expectation value of Expect"
            }
            ParseError::BodyTooLarge => {
                "Requested content-length is larger than the configured limit"
            }
            ParseError::BadChunk => "Error reading chunk: invalid chunked encoding",
            ParseError::BadHost => {
                "client sent HTTP/1.1 request without hostname or with a malformed Host header"
            }
            ParseError::IncompleteBody => "Connection closed before the whole body was received",
            ParseError::BadStatusLine => "Error reading status line from remote server",
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.reason(), self.status().as_u16())
    }
}

impl std::error::Error for ParseError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_match_apache() {
        assert_eq!(ParseError::RequestLineTooLong.status().as_u16(), 414);
        assert_eq!(ParseError::HeaderFieldTooLong.status().as_u16(), 400);
        assert_eq!(ParseError::TooManyHeaders.status().as_u16(), 400);
        assert_eq!(ParseError::BadRequestLine.status().as_u16(), 400);
        assert_eq!(ParseError::BadHeader.status().as_u16(), 400);
        assert_eq!(ParseError::Http09.status().as_u16(), 400);
        assert_eq!(ParseError::UnsupportedVersion.status().as_u16(), 505);
        assert_eq!(ParseError::BadContentLength.status().as_u16(), 400);
        assert_eq!(ParseError::ConflictingFraming.status().as_u16(), 400);
        assert_eq!(
            ParseError::UnsupportedTransferEncoding.status().as_u16(),
            501
        );
        assert_eq!(ParseError::BadTransferEncoding.status().as_u16(), 400);
        assert_eq!(ParseError::UnsupportedExpectation.status().as_u16(), 417);
        assert_eq!(ParseError::BodyTooLarge.status().as_u16(), 413);
        assert_eq!(ParseError::BadChunk.status().as_u16(), 400);
        assert_eq!(ParseError::BodyTimeout.status().as_u16(), 408);
        assert_eq!(ParseError::BadHost.status().as_u16(), 400);
        assert_eq!(ParseError::IncompleteBody.status().as_u16(), 400);
        assert_eq!(ParseError::BadStatusLine.status().as_u16(), 502);
    }

    #[test]
    fn display_includes_reason_and_status() {
        let s = ParseError::HeaderFieldTooLong.to_string();
        assert!(s.contains("Size of a request header field exceeds server limit."));
        assert!(s.contains("400"));
        let e: Box<dyn std::error::Error> = Box::new(ParseError::BadChunk);
        assert!(!e.to_string().is_empty());
    }
}
