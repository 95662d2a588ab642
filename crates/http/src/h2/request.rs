//! Turning a decoded request field block into a [`RequestHead`] (RFC 9113 §8.1–§8.3), and
//! a trailer block into a [`HeaderMap`].
//!
//! A [`FieldCollector`] sees the fields one by one, straight from the HPACK decoder, and
//! remembers the first problem:
//! * [`Reject::Malformed`] (§8.1.1: RST_STREAM PROTOCOL_ERROR): an unknown, repeated or
//!   late pseudo-header, a pseudo-header in trailers, a field name that is not a
//!   lowercase token, a value with NUL, CR, LF or surrounding whitespace, a
//!   connection-specific field (`connection`, `keep-alive`, `proxy-connection`,
//!   `transfer-encoding`, `upgrade`), `te` other than `trailers`, an invalid or
//!   inconsistent `content-length`, missing pseudo-headers, a `:path` that is not
//!   origin-form (or `*` for OPTIONS), CONNECT with `:scheme` or `:path` or without
//!   `:authority`, a bad `:authority` or one that disagrees with `host`;
//! * [`Reject::Status`] (answered on the stream, as Apache's `h2_stream_add_header`
//!   does): 431 for a field longer than LimitRequestFieldSize (name + 2 + value), more
//!   regular fields than LimitRequestFields or a list beyond SETTINGS_MAX_HEADER_LIST_SIZE;
//!   414 for a pseudo-header value longer than LimitRequestLine.
//!
//! A malformed request wins over a too-large one: the stream is reset either way.

use http::{HeaderName, HeaderValue, Method, StatusCode, Version};

use crate::request::normalize_host;
use crate::types::{BodyFraming, HeaderMap, Limits, RequestHead};

/// Why a field block is not a request the caller gets to see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Reject {
    /// Malformed (§8.1.1): reset the stream with PROTOCOL_ERROR.
    Malformed(&'static str),
    /// Too large: the caller answers with this status.
    Status(StatusCode),
}

/// What kind of block is being read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum BlockKind {
    Request,
    Trailers,
}

/// Collects the fields of one block; see the module documentation.
#[derive(Debug)]
pub(super) struct FieldCollector<'l> {
    limits: &'l Limits,
    kind: BlockKind,
    method: Option<String>,
    scheme: Option<String>,
    authority: Option<String>,
    path: Option<String>,
    headers: HeaderMap,
    regular: usize,
    cookie: Option<Vec<u8>>,
    content_length: Option<u64>,
    error: Option<Reject>,
}

/// Fields HTTP/2 does not carry (§8.2.2).
fn connection_specific(name: &[u8]) -> bool {
    matches!(
        name,
        b"connection" | b"keep-alive" | b"proxy-connection" | b"transfer-encoding" | b"upgrade"
    )
}

/// §8.2.1: a field name is a token without uppercase letters.
fn valid_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name.iter().all(|&b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b"!#$%&'*+-.^_`|~".contains(&b)
        })
}

/// §8.2.1: no NUL, CR or LF, and no leading or trailing SP or HTAB.
fn valid_value(value: &[u8]) -> bool {
    let ws = |b: &u8| *b == b' ' || *b == b'\t';
    !value.iter().any(|&b| b == 0 || b == b'\r' || b == b'\n')
        && !value.first().is_some_and(ws)
        && !value.last().is_some_and(ws)
}

impl<'l> FieldCollector<'l> {
    pub(super) fn new(limits: &'l Limits, kind: BlockKind) -> Self {
        FieldCollector {
            limits,
            kind,
            method: None,
            scheme: None,
            authority: None,
            path: None,
            headers: HeaderMap::new(),
            regular: 0,
            cookie: None,
            content_length: None,
            error: None,
        }
    }

    fn fail(&mut self, reject: Reject) {
        match (self.error, reject) {
            (None, _) | (Some(Reject::Status(_)), Reject::Malformed(_)) => {
                self.error = Some(reject)
            }
            _ => {}
        }
    }

    /// The decoder stopped handing out fields: the list is over
    /// SETTINGS_MAX_HEADER_LIST_SIZE.
    pub(super) fn list_too_large(&mut self) {
        self.fail(Reject::Status(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE));
    }

    /// One field, in block order.
    pub(super) fn field(&mut self, name: &[u8], value: &[u8], sensitive: bool) {
        if matches!(self.error, Some(Reject::Malformed(_))) {
            return;
        }
        if let Some(pseudo) = name.strip_prefix(b":") {
            self.pseudo(pseudo, value);
            return;
        }
        self.regular += 1;
        if !valid_name(name) {
            return self.fail(Reject::Malformed("invalid field name"));
        }
        if !valid_value(value) {
            return self.fail(Reject::Malformed("invalid field value"));
        }
        if connection_specific(name) {
            return self.fail(Reject::Malformed("connection-specific field"));
        }
        if name == b"te" && value != b"trailers" {
            return self.fail(Reject::Malformed("te other than trailers"));
        }
        let limit_fields = self.limits.fields;
        if name.len() + 2 + value.len() > self.limits.field_size
            || (limit_fields != 0 && self.regular > limit_fields)
        {
            return self.fail(Reject::Status(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE));
        }
        if self.error.is_some() {
            return;
        }
        if name == b"content-length" {
            let parsed = std::str::from_utf8(value)
                .ok()
                .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|s| s.parse::<u64>().ok());
            match (parsed, self.content_length) {
                (None, _) => return self.fail(Reject::Malformed("invalid content-length")),
                (Some(n), Some(m)) if n != m => {
                    return self.fail(Reject::Malformed("conflicting content-length"));
                }
                (Some(n), _) => self.content_length = Some(n),
            }
        }
        if name == b"cookie" {
            // §8.2.3: cookie fields are put back together with "; ".
            let cookie = self.cookie.get_or_insert_with(Vec::new);
            if !cookie.is_empty() {
                cookie.extend_from_slice(b"; ");
            }
            cookie.extend_from_slice(value);
            return;
        }
        let (Ok(name), Ok(mut value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        else {
            return self.fail(Reject::Malformed("invalid field"));
        };
        value.set_sensitive(sensitive);
        self.headers.append(name, value);
    }

    fn pseudo(&mut self, name: &[u8], value: &[u8]) {
        if self.kind == BlockKind::Trailers {
            return self.fail(Reject::Malformed("pseudo-header in trailers"));
        }
        if self.regular > 0 {
            return self.fail(Reject::Malformed("pseudo-header after a regular field"));
        }
        let slot = match name {
            b"method" => &mut self.method,
            b"scheme" => &mut self.scheme,
            b"authority" => &mut self.authority,
            b"path" => &mut self.path,
            _ => return self.fail(Reject::Malformed("unknown pseudo-header")),
        };
        if slot.is_some() {
            return self.fail(Reject::Malformed("repeated pseudo-header"));
        }
        let Some(text) = std::str::from_utf8(value)
            .ok()
            .filter(|s| s.bytes().all(|b| b > b' ' && b != 0x7f))
        else {
            return self.fail(Reject::Malformed("invalid pseudo-header value"));
        };
        *slot = Some(text.to_owned());
        if value.len() > self.limits.request_line {
            self.fail(Reject::Status(StatusCode::URI_TOO_LONG));
        }
    }

    /// The trailer fields.
    pub(super) fn finish_trailers(mut self) -> Result<HeaderMap, Reject> {
        self.put_cookie();
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.headers),
        }
    }

    fn put_cookie(&mut self) {
        if let Some(cookie) = self.cookie.take() {
            match HeaderValue::from_bytes(&cookie) {
                Ok(v) => {
                    self.headers.insert(http::header::COOKIE, v);
                }
                Err(_) => self.fail(Reject::Malformed("invalid cookie")),
            }
        }
    }

    /// The request: `end_stream` says whether HEADERS ended the stream (no body),
    /// `block_len` is the size of the compressed block (for `%I`-style logging).
    /// `Ok` also gives the `content-length` the DATA frames must add up to.
    pub(super) fn finish_request(
        mut self,
        end_stream: bool,
        block_len: usize,
    ) -> Result<(RequestHead, Option<u64>), Reject> {
        self.put_cookie();
        if matches!(self.error, Some(Reject::Malformed(_))) {
            return Err(self.error.unwrap_or(Reject::Malformed("")));
        }
        let Some(method_text) = self.method.take() else {
            return Err(Reject::Malformed("no :method"));
        };
        let method = Method::from_bytes(method_text.as_bytes())
            .map_err(|_| Reject::Malformed("bad :method"))?;
        let authority = self.authority.take();
        let host = match &authority {
            Some(a) => {
                if a.contains('@') {
                    return Err(Reject::Malformed(":authority with userinfo"));
                }
                Some(normalize_host(a).ok_or(Reject::Malformed("bad :authority"))?)
            }
            None => None,
        };
        let mut host_field = None;
        let mut hosts = self.headers.get_all(http::header::HOST).iter();
        if let Some(v) = hosts.next() {
            if hosts.next().is_some() {
                return Err(Reject::Malformed("repeated host"));
            }
            let h = v
                .to_str()
                .ok()
                .and_then(normalize_host)
                .ok_or(Reject::Malformed("bad host"))?;
            host_field = Some(h);
        }
        if let (Some(a), Some(h)) = (&host, &host_field)
            && a != h
        {
            return Err(Reject::Malformed(":authority and host differ"));
        }
        let (raw_target, path, query) = if method == Method::CONNECT {
            if self.scheme.is_some() || self.path.is_some() {
                return Err(Reject::Malformed("CONNECT with :scheme or :path"));
            }
            let Some(a) = authority.clone() else {
                return Err(Reject::Malformed("CONNECT without :authority"));
            };
            (a.clone(), a, None)
        } else {
            let (Some(_scheme), Some(target)) = (self.scheme.take(), self.path.take()) else {
                return Err(Reject::Malformed("missing :scheme or :path"));
            };
            if target == "*" {
                if method != Method::OPTIONS {
                    return Err(Reject::Malformed(":path * without OPTIONS"));
                }
                (target.clone(), target, None)
            } else if target.starts_with('/') && !target.contains('#') {
                let (p, q) = match target.split_once('?') {
                    Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
                    None => (target.clone(), None),
                };
                (target, p, q)
            } else {
                return Err(Reject::Malformed(":path not in origin form"));
            }
        };
        if let Some(e) = self.error {
            return Err(e);
        }
        if let Some(a) = &authority
            && host_field.is_none()
        {
            // Apache: Host is always set from :authority (RFC 9113 §8.3.1).
            let v = HeaderValue::from_str(a).map_err(|_| Reject::Malformed("bad :authority"))?;
            self.headers.insert(http::header::HOST, v);
        }
        let body = match (end_stream, self.content_length) {
            (true, _) => BodyFraming::None,
            (false, Some(n)) => BodyFraming::Length(n),
            (false, None) => BodyFraming::UntilClose,
        };
        let request_line = format!("{method} {raw_target} HTTP/2.0");
        let head = RequestHead {
            method,
            raw_target,
            path,
            query,
            version: Version::HTTP_2,
            headers: self.headers,
            host: host.or(host_field),
            request_line,
            body,
            expect_continue: false,
            connection_close: false,
            connection_keep_alive: false,
            head_len: block_len,
        };
        Ok((head, self.content_length))
    }
}
