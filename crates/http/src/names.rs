//! Header-name casing on the wire. The `http` crate stores names lower-case; Apache
//! writes the names its modules use (`ETag`, `Last-Modified`, `WWW-Authenticate` ...),
//! so serialisation restores that casing: a match on the common names (and the
//! irregular ones), else each `-`-separated word capitalised.

/// Apache's spelling of a well-known field name given in lower case (as
/// [`http::HeaderName::as_str`] returns it); `None` for other names.
pub fn known_header_name(lower: &str) -> Option<&'static str> {
    Some(match lower {
        // Irregular: not derivable by capitalising words.
        "etag" => "ETag",
        "www-authenticate" => "WWW-Authenticate",
        "content-md5" => "Content-MD5",
        "te" => "TE",
        "tcn" => "TCN",
        "dnt" => "DNT",
        "p3p" => "P3P",
        "nel" => "NEL",
        "expect-ct" => "Expect-CT",
        "x-xss-protection" => "X-XSS-Protection",
        "x-ua-compatible" => "X-UA-Compatible",
        "x-dns-prefetch-control" => "X-DNS-Prefetch-Control",
        "x-webkit-csp" => "X-WebKit-CSP",
        "sec-websocket-accept" => "Sec-WebSocket-Accept",
        "sec-websocket-extensions" => "Sec-WebSocket-Extensions",
        "sec-websocket-key" => "Sec-WebSocket-Key",
        "sec-websocket-protocol" => "Sec-WebSocket-Protocol",
        "sec-websocket-version" => "Sec-WebSocket-Version",
        // Common names, matched only to skip the generic pass.
        "accept" => "Accept",
        "accept-encoding" => "Accept-Encoding",
        "accept-language" => "Accept-Language",
        "accept-ranges" => "Accept-Ranges",
        "age" => "Age",
        "allow" => "Allow",
        "authorization" => "Authorization",
        "cache-control" => "Cache-Control",
        "connection" => "Connection",
        "content-disposition" => "Content-Disposition",
        "content-encoding" => "Content-Encoding",
        "content-language" => "Content-Language",
        "content-length" => "Content-Length",
        "content-location" => "Content-Location",
        "content-range" => "Content-Range",
        "content-type" => "Content-Type",
        "cookie" => "Cookie",
        "date" => "Date",
        "expires" => "Expires",
        "host" => "Host",
        "if-match" => "If-Match",
        "if-modified-since" => "If-Modified-Since",
        "if-none-match" => "If-None-Match",
        "if-range" => "If-Range",
        "if-unmodified-since" => "If-Unmodified-Since",
        "keep-alive" => "Keep-Alive",
        "last-modified" => "Last-Modified",
        "link" => "Link",
        "location" => "Location",
        "pragma" => "Pragma",
        "proxy-authenticate" => "Proxy-Authenticate",
        "range" => "Range",
        "referer" => "Referer",
        "retry-after" => "Retry-After",
        "server" => "Server",
        "set-cookie" => "Set-Cookie",
        "transfer-encoding" => "Transfer-Encoding",
        "upgrade" => "Upgrade",
        "user-agent" => "User-Agent",
        "vary" => "Vary",
        "via" => "Via",
        "warning" => "Warning",
        "x-forwarded-for" => "X-Forwarded-For",
        "x-forwarded-host" => "X-Forwarded-Host",
        "x-forwarded-server" => "X-Forwarded-Server",
        _ => return None,
    })
}

/// Append `name` in Apache's casing: [`known_header_name`], else every `-`-separated
/// word capitalised and the rest lower-cased (`x-custom-thing` → `X-Custom-Thing`).
/// Writes straight into `out`; no allocation besides `out` growing.
pub fn write_header_name(name: &str, out: &mut Vec<u8>) {
    if let Some(known) = known_header_name(name) {
        out.extend_from_slice(known.as_bytes());
        return;
    }
    let mut word_start = true;
    out.extend(name.bytes().map(|b| {
        let c = if word_start {
            b.to_ascii_uppercase()
        } else {
            b.to_ascii_lowercase()
        };
        word_start = b == b'-';
        c
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cased(name: &str) -> String {
        let mut out = Vec::new();
        write_header_name(name, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn apache_casing() {
        for (lower, want) in [
            ("etag", "ETag"),
            ("last-modified", "Last-Modified"),
            ("accept-ranges", "Accept-Ranges"),
            ("location", "Location"),
            ("allow", "Allow"),
            ("content-range", "Content-Range"),
            ("content-type", "Content-Type"),
            ("content-length", "Content-Length"),
            ("www-authenticate", "WWW-Authenticate"),
            ("x-forwarded-for", "X-Forwarded-For"),
            ("content-md5", "Content-MD5"),
            ("te", "TE"),
            ("tcn", "TCN"),
            ("dnt", "DNT"),
            ("x-xss-protection", "X-XSS-Protection"),
            ("x-custom", "X-Custom"),
            ("content-security-policy", "Content-Security-Policy"),
            ("x-a--b-", "X-A--B-"),
            ("-x", "-X"),
            ("x_y", "X_y"),
            ("1st-thing", "1st-Thing"),
            ("MiXed-CASE", "Mixed-Case"),
            ("", ""),
        ] {
            assert_eq!(cased(lower), want, "{lower}");
        }
    }

    #[test]
    fn known_names_are_consistent() {
        // Every entry of the table, lower-cased, is its own key.
        for name in ["etag", "x-forwarded-server", "sec-websocket-key", "te"] {
            let k = known_header_name(name).unwrap();
            assert_eq!(k.to_ascii_lowercase(), name);
        }
        assert_eq!(known_header_name("x-unknown"), None);
    }
}
