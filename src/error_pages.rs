//! Apache's built-in error pages (with the server signature), the `Server` banner, and
//! HTML escaping. `ErrorDocument` (which may run another request) is the request core's
//! part: `pipeline/error_documents.rs`.

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use rhttpd_http::{HeaderValue, StatusCode};

use crate::conf::{self, ServerConfig, ServerSignature, ServerTokens, VirtualHost};
use crate::handler::{Body, ConnInfo, Response};

/// The server identification for the `Server` header and signatures, per ServerTokens.
pub fn server_banner(tokens: ServerTokens) -> String {
    let v = env!("CARGO_PKG_VERSION");
    let mut parts = v.split('.');
    let major = parts.next().unwrap_or("0");
    let minor = parts.next().unwrap_or("0");
    match tokens {
        ServerTokens::Prod => "rhttpd".to_string(),
        ServerTokens::Major => format!("rhttpd/{major}"),
        ServerTokens::Minor => format!("rhttpd/{major}.{minor}"),
        ServerTokens::Min => format!("rhttpd/{v}"),
        ServerTokens::Os | ServerTokens::Full => format!("rhttpd/{v} (Unix)"),
    }
}

/// `admin`: the host's ServerAdmin (Apache prints `[no address given]` without one).
fn canned_text(
    status: StatusCode,
    method: &str,
    location: Option<&str>,
    admin: Option<&str>,
) -> String {
    let esc = |s: &str| html_escape(s);
    match status.as_u16() {
        301 | 302 | 303 | 307 | 308 => format!(
            "<p>The document has moved <a href=\"{}\">here</a>.</p>\n",
            esc(location.unwrap_or(""))
        ),
        400 => "<p>Your browser sent a request that this server could not understand.<br />\n</p>\n".into(),
        401 => "<p>This server could not verify that you\nare authorized to access the document\nrequested.  Either you supplied the wrong\ncredentials (e.g., bad password), or your\nbrowser doesn't understand how to supply\nthe credentials required.</p>\n".into(),
        403 => "<p>You don't have permission to access this resource.</p>\n".into(),
        404 => "<p>The requested URL was not found on this server.</p>\n".into(),
        405 => format!(
            "<p>The requested method {} is not allowed for this URL.</p>\n",
            esc(method)
        ),
        406 => "<p>An appropriate representation of the requested resource could not be found on this server.</p>\n".into(),
        408 => "<p>Server timeout waiting for the HTTP request from the client.</p>\n".into(),
        410 => "<p>The requested resource is no longer available on this server and there is no forwarding address.\nPlease remove all references to this resource.</p>\n".into(),
        411 => format!(
            "<p>A request of the requested method {} requires a valid Content-length.<br />\n</p>\n",
            esc(method)
        ),
        412 => "<p>The precondition on the request for this URL evaluated to false.</p>\n".into(),
        413 => format!(
            "The requested resource does not allow request data with {} requests, or the amount of data provided in\nthe request exceeds the capacity limit.\n",
            esc(method)
        ),
        414 => "<p>The requested URL's length exceeds the capacity\nlimit for this server.<br />\n</p>\n".into(),
        415 => "<p>The supplied request data is not in a format\nacceptable for processing by this resource.</p>\n".into(),
        416 => "<p>None of the range-specifier values in the Range\nrequest-header field overlap the current extent\nof the selected resource.</p>\n".into(),
        417 => "<p>The expectation given in the Expect request-header\nfield could not be met by this server.\nThe client sent<pre>\n    Expect: 100-continue\n</pre>\n</p><p>Only the 100-continue expectation is supported.</p>\n".into(),
        500 => format!(
            "<p>The server encountered an internal error or\nmisconfiguration and was unable to complete\nyour request.</p>\n<p>Please contact the server administrator at \n {} to inform them of the time this error occurred,\n and the actions you performed just before this error.</p>\n<p>More information about this error may be available\nin the server error log.</p>\n",
            esc(admin.unwrap_or("[no address given]"))
        ),
        501 => format!(
            "<p>{} not supported for current URL.<br />\n</p>\n",
            esc(method)
        ),
        502 => "<p>The proxy server received an invalid\nresponse from an upstream server.<br />\n</p>\n".into(),
        503 => "<p>The server is temporarily unable to service your\nrequest due to maintenance downtime or capacity\nproblems. Please try again later.</p>\n".into(),
        504 => "<p>The gateway did not receive a timely response\nfrom the upstream server or application.</p>\n".into(),
        505 => "<p>The server encountered an internal error or\nmisconfiguration and was unable to complete\nyour request.</p>\n".into(),
        _ => String::new(),
    }
}

pub fn html_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '"' => o.push_str("&quot;"),
            _ => o.push(c),
        }
    }
    o
}

/// Apache's built-in error page (with the server signature when enabled).
#[allow(clippy::too_many_arguments)] // each argument is one fact of the page; a struct would only rename them
pub fn error_page(
    cfg: &ServerConfig,
    host: &VirtualHost,
    sig: ServerSignature,
    status: StatusCode,
    method: &str,
    host_header: Option<&str>,
    location: Option<&str>,
    local_port: u16,
) -> Bytes {
    let reason = rhttpd_http::reason_phrase(status);
    let mut page = format!(
        "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>{} {}</title>\n</head><body>\n<h1>{}</h1>\n{}",
        status.as_u16(),
        reason,
        reason,
        canned_text(status, method, location, host.server_admin.as_deref())
    );
    if sig != ServerSignature::Off {
        let name = host
            .server_name
            .clone()
            .or_else(|| host_header.map(str::to_string))
            .unwrap_or_else(|| "localhost".into());
        let banner = server_banner(cfg.server_tokens);
        let server = match (sig, &host.server_admin) {
            (ServerSignature::Email, Some(admin)) => {
                format!(
                    "<a href=\"mailto:{}\">{}</a>",
                    html_escape(admin),
                    html_escape(&name)
                )
            }
            _ => html_escape(&name),
        };
        page.push_str(&format!(
            "<hr>\n<address>{banner} Server at {server} Port {local_port}</address>\n"
        ));
    }
    page.push_str("</body></html>\n");
    Bytes::from(page)
}

/// An HTML error page as a response (the charset Apache declares for its pages).
pub(crate) fn html_response(status: StatusCode, page: Bytes) -> Response {
    let mut r = Response::new(status, Body::Bytes(page));
    r.headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=iso-8859-1"),
    );
    r
}

/// The built-in error page for a request that could not be parsed (no ErrorDocument:
/// there is no URL to map).
pub fn bare_error(cfg: &ServerConfig, conn: &ConnInfo, status: StatusCode) -> Response {
    let host = conf::vhost::host(cfg, conf::vhost::select(cfg, conn.local, None));
    let page = error_page(
        cfg,
        host,
        host.base_dir.server_signature(),
        status,
        "GET",
        None,
        None,
        conn.local.port(),
    );
    html_response(status, page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_error_names_the_server_admin() {
        let s = StatusCode::INTERNAL_SERVER_ERROR;
        let t = canned_text(s, "GET", None, Some("web<master>@example.org"));
        assert!(
            t.contains("administrator at \n web&lt;master&gt;@example.org to inform them"),
            "{t}"
        );
        // Apache's DEFAULT_ADMIN when no ServerAdmin is set.
        let t = canned_text(s, "GET", None, None);
        assert!(
            t.contains("administrator at \n [no address given] to inform them"),
            "{t}"
        );
        assert!(!t.contains(" you to inform"));
    }
}
