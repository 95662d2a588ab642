//! A CGI script's (or FastCGI responder's) output: the header block (Status, Location,
//! Content-Type and the rest) and the response built from it, shared by mod_cgi and
//! mod_proxy_fcgi.

use std::cell::Cell;

use http::header::{CONTENT_TYPE, LOCATION};
use rhttpd_http::{BodyFraming, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};

use crate::handler::{Body, Request, Response};
use crate::log::Level;

/// What a script's header block says.
#[derive(Debug, Default)]
pub(crate) struct CgiHead {
    pub status: Option<StatusCode>,
    pub location: Option<String>,
    pub headers: HeaderMap,
}

impl CgiHead {
    /// `Location: /local` with no other status: mod_cgi serves that URL in place of the
    /// request (an internal redirect).
    pub(crate) fn redirects_internally(&self) -> bool {
        matches!(
            (&self.location, self.status),
            (Some(loc), None | Some(StatusCode::OK)) if loc.starts_with('/')
        )
    }
}

/// The end of the header block in `buf`: (end of the last header line, start of the
/// body). Lines may end in LF or CRLF.
pub(crate) fn header_end(buf: &[u8]) -> Option<(usize, usize)> {
    let mut pos = 0;
    while let Some(nl) = memchr::memchr(b'\n', &buf[pos..]) {
        let line = &buf[pos..pos + nl];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            return Some((pos, pos + nl + 1));
        }
        pos += nl + 1;
    }
    None
}

/// Parse a CGI header block. `Err` carries Apache's complaint.
pub(crate) fn parse_header_block(block: &[u8]) -> Result<CgiHead, String> {
    let mut head = CgiHead::default();
    for raw in block.split(|&b| b == b'\n') {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line.is_empty() {
            continue;
        }
        let bad = || {
            format!(
                "Bad header: {}",
                String::from_utf8_lossy(&line[..line.len().min(30)])
            )
        };
        let colon = memchr::memchr(b':', line).ok_or_else(bad)?;
        let name = &line[..colon];
        let value = trim(&line[colon + 1..]);
        let hn = HeaderName::from_bytes(name).map_err(|_| bad())?;
        let hv = HeaderValue::from_bytes(value).map_err(|_| bad())?;
        if hn == "status" {
            let text = String::from_utf8_lossy(value);
            let code = text
                .get(..3)
                .and_then(|c| c.parse::<u16>().ok())
                .and_then(|c| StatusCode::from_u16(c).ok())
                .filter(|c| c.as_u16() >= 100)
                .ok_or_else(|| format!("Invalid status line: {text}"))?;
            head.status = Some(code);
        } else {
            if hn == LOCATION {
                head.location = Some(String::from_utf8_lossy(value).into_owned());
            }
            head.headers.append(hn, hv);
        }
    }
    Ok(head)
}

fn trim(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &v[start..end.max(start)]
}

thread_local! {
    static REDIRECT_DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// Serve `location` (a local URL) in place of the current request, as Apache's
/// `ap_internal_redirect_handler`: method GET, no body.
pub(crate) fn internal_redirect(req: &Request<'_>, location: &str) -> Response {
    let depth = REDIRECT_DEPTH.with(|d| d.get());
    if depth >= 10 {
        crate::log::log(
            "core",
            Level::Error,
            Some(req.conn.client),
            "AH00124: Request exceeded the limit of 10 internal redirects due to probable configuration error.",
        );
        return Response::error(StatusCode::INTERNAL_SERVER_ERROR);
    }
    let mut sub = req.head.clone();
    sub.method = Method::GET;
    let (p, q) = match location.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (location.to_string(), None),
    };
    sub.path = p;
    sub.query = q;
    sub.body = BodyFraming::None;
    sub.expect_continue = false;
    sub.headers.remove(http::header::CONTENT_LENGTH);
    sub.headers.remove(http::header::TRANSFER_ENCODING);
    sub.headers.remove(CONTENT_TYPE);
    REDIRECT_DEPTH.with(|d| d.set(depth + 1));
    let resp = (req.internal_redirect)(&sub);
    REDIRECT_DEPTH.with(|d| d.set(depth));
    resp
}

/// Turn a parsed header block and the rest of the output into the response, as
/// mod_cgi does: `Location: /local` with no other status is an internal redirect,
/// an absolute `Location` without `Status` a 302 with the core's page.
pub(crate) fn cgi_response(req: &Request<'_>, head: CgiHead, body: Body) -> Response {
    match (&head.location, head.status) {
        (Some(loc), _) if head.redirects_internally() => {
            drop(body);
            internal_redirect(req, loc)
        }
        (Some(_), None) => {
            drop(body);
            let mut r = Response::error(StatusCode::FOUND);
            r.headers = head.headers;
            r
        }
        _ => {
            let status = head.status.unwrap_or(StatusCode::OK);
            let body = if req.head.method == Method::HEAD {
                Body::Empty
            } else {
                body
            };
            let mut r = Response::new(status, body);
            r.headers = head.headers;
            r
        }
    }
}
