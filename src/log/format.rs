//! mod_log_config's `LogFormat` strings: compiled once into items, rendered per request.

use std::collections::HashMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::format::{Item as TimeItem, StrftimeItems};
use chrono::{DateTime, Datelike, Local, Offset, Timelike};
use http::{HeaderMap, HeaderName, header};

use super::error_log::push_escaped_byte;
use super::sink;

/// Apache's `DEFAULT_LOG_FORMAT` (used by `TransferLog` and a `CustomLog` without format).
pub const DEFAULT_LOG_FORMAT: &str = "%h %l %u %t \"%r\" %>s %b";

/// Everything a log line can show about one finished request.
#[derive(Clone, Copy)]
pub struct LogRecord<'a> {
    pub client: SocketAddr,
    pub local: SocketAddr,
    pub remote_user: Option<&'a str>,
    /// When the request started (`%t`, `%{begin:...}t`).
    pub request_time: SystemTime,
    /// Time taken (`%D`, `%T`; `%{end:...}t` is `request_time + duration`).
    pub duration: Duration,
    pub request_line: &'a str,
    pub method: &'a str,
    /// `%U`: the URL path, without the query.
    pub uri_path: &'a str,
    /// `%q`: printed as `?query`, or nothing when `None`.
    pub query: Option<&'a str>,
    /// `HTTP/1.1`.
    pub protocol: &'a str,
    /// Final status (`%>s`, and what `%400,501...` conditions test).
    pub status: u16,
    /// Status of the original request before internal redirects (`%s`, `%<s`).
    pub original_status: u16,
    /// Response body bytes (`%b`, `%B`).
    pub body_bytes: u64,
    /// Bytes received including headers (`%I`).
    pub bytes_in: u64,
    /// Bytes sent including headers (`%O`).
    pub bytes_out: u64,
    pub request_headers: &'a HeaderMap,
    pub response_headers: &'a HeaderMap,
    /// `%v`: the vhost's ServerName.
    pub server_name: &'a str,
    /// `%V` with `UseCanonicalName Off`: the Host header's name (without port).
    pub host_header: Option<&'a str>,
    /// `%p`: the canonical port of the server.
    pub server_port: u16,
    pub filename: Option<&'a Path>,
    /// `%k`: keep-alive requests handled on this connection before this one.
    pub keepalives: u32,
    /// `%X`: `X` aborted, `+` may be kept alive, `-` will be closed.
    pub conn_status: char,
    /// `%{NAME}x`: a mod_ssl variable of the connection (`None` on plain HTTP).
    pub ssl_var: &'a dyn Fn(&str) -> Option<String>,
    /// `%{NAME}e`: a request environment variable (mod_env's, `HTTPS` ...).
    pub env_var: &'a dyn Fn(&str) -> Option<String>,
    /// `%{NAME}n`: the request's notes (mod_headers' `note`), name → value.
    pub notes: &'a [(String, String)],
}

/// A compiled `LogFormat` string. `Default` is [`DEFAULT_LOG_FORMAT`].
#[derive(Clone, Debug)]
pub struct LogFormat {
    source: String,
    items: Vec<Item>,
}

#[derive(Clone, Debug)]
enum Item {
    Literal(Box<[u8]>),
    Field(Field),
}

#[derive(Clone, Debug)]
struct Field {
    kind: Kind,
    /// Status codes of `%400,501{...}x`; empty = unconditional.
    conditions: Box<[u32]>,
    /// `!`: print only when the status is *not* listed.
    negate: bool,
    /// `<` (original request) vs `>` (final request); only `%s` has both here.
    want_orig: bool,
}

#[derive(Clone, Debug)]
enum Kind {
    RemoteHost,
    RemoteAddr,
    LocalAddr,
    BytesClf,
    Bytes,
    DurationUs,
    Duration(TimeUnit),
    Filename,
    Protocol,
    HeaderIn(Option<HeaderName>),
    HeaderOut(Option<HeaderName>),
    Keepalives,
    Logname,
    Method,
    ServerPort,
    LocalPort,
    RemotePort,
    Pid,
    Tid {
        hex: bool,
    },
    Query,
    RequestLine,
    Status,
    Time {
        end: bool,
        fmt: TimeFmt,
    },
    User,
    Uri,
    ServerName,
    HostName,
    ConnStatus,
    BytesIn,
    BytesOut,
    BytesTotal,
    Cookie(Box<str>),
    /// Items whose data rhttpd does not track (`%L %R %^ti %^to %^FB`): `-`.
    Unavailable,
    /// A bogus `{arg}` that Apache echoes verbatim (`%{foo}T`, `%{foo}p`, `%{foo}P`).
    Echo(Box<str>),
    /// `%{SSL_PROTOCOL}x` ...: mod_ssl's variables.
    SslVar(Box<str>),
    /// `%{NAME}e`: a request environment variable.
    EnvVar(Box<str>),
    /// `%{NAME}n`: a note.
    Note(Box<str>),
}

#[derive(Clone, Copy, Debug)]
enum TimeUnit {
    Sec,
    Milli,
    Micro,
}

#[derive(Clone, Debug)]
enum TimeFmt {
    Clf,
    Sec,
    Msec,
    Usec,
    MsecFrac,
    UsecFrac,
    Custom(Vec<TimeItem<'static>>),
}

impl Default for LogFormat {
    fn default() -> Self {
        LogFormat::compile(DEFAULT_LOG_FORMAT).unwrap_or_else(|_| LogFormat {
            source: String::new(),
            items: Vec::new(),
        })
    }
}

impl LogFormat {
    /// Parses a format string as mod_log_config does, with its error messages
    /// ("Unrecognized LogFormat directive %x", "Ran off end of LogFormat parsing args to
    /// some directive"). Literal text has `\n`, `\r`, `\t` and `\\` processed; any other
    /// backslash is kept.
    pub fn compile(fmt: &str) -> Result<LogFormat, String> {
        let mut items = Vec::new();
        let b = fmt.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                let (item, next) = parse_field(fmt, i + 1)?;
                items.push(item);
                i = next;
            } else {
                let mut lit = Vec::new();
                while i < b.len() && b[i] != b'%' {
                    if b[i] == b'\\' && i + 1 < b.len() {
                        let esc = match b[i + 1] {
                            b'\\' => Some(b'\\'),
                            b'r' => Some(b'\r'),
                            b'n' => Some(b'\n'),
                            b't' => Some(b'\t'),
                            _ => None,
                        };
                        if let Some(c) = esc {
                            lit.push(c);
                            i += 2;
                            continue;
                        }
                    }
                    lit.push(b[i]);
                    i += 1;
                }
                items.push(Item::Literal(lit.into_boxed_slice()));
            }
        }
        Ok(LogFormat {
            source: fmt.to_string(),
            items,
        })
    }

    /// The format string this was compiled from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Appends the line for `rec` to `out`, newline included.
    pub fn render(&self, rec: &LogRecord<'_>, out: &mut Vec<u8>) {
        for item in &self.items {
            match item {
                Item::Literal(l) => out.extend_from_slice(l),
                Item::Field(f) => f.render(rec, out),
            }
        }
        out.push(b'\n');
    }
}

/// Parses one `%...` item; `i` is just past the `%`. Returns the item and the next index.
fn parse_field(fmt: &str, mut i: usize) -> Result<(Item, usize), String> {
    let b = fmt.as_bytes();
    if b.get(i) == Some(&b'%') {
        return Ok((Item::Literal(Box::new(*b"%")), i + 1));
    }
    let mut negate = false;
    let mut want_orig: Option<bool> = None;
    let mut arg = "";
    let mut conditions: Vec<u32> = Vec::new();
    while i < b.len() {
        match b[i] {
            b'!' => {
                negate = !negate;
                i += 1;
            }
            b'<' => {
                want_orig = Some(true);
                i += 1;
            }
            b'>' => {
                want_orig = Some(false);
                i += 1;
            }
            b',' => i += 1,
            b'{' => {
                let rest = &fmt[i + 1..];
                match rest.find('}') {
                    Some(end) => {
                        arg = &rest[..end];
                        i += end + 2;
                    }
                    None => {
                        arg = rest;
                        i = b.len();
                    }
                }
            }
            b'0'..=b'9' => {
                let mut n: u32 = 0;
                while i < b.len() && b[i].is_ascii_digit() {
                    n = n.saturating_mul(10).saturating_add(u32::from(b[i] - b'0'));
                    i += 1;
                }
                conditions.push(n);
            }
            _ => {
                let (kind, orig_default, len) = lookup(&fmt[i..], arg)?;
                let field = Field {
                    kind,
                    conditions: conditions.into_boxed_slice(),
                    negate,
                    want_orig: want_orig.unwrap_or(orig_default),
                };
                return Ok((Item::Field(field), i + len));
            }
        }
    }
    Err("Ran off end of LogFormat parsing args to some directive".to_string())
}

/// The handler for the directive letter(s) at the start of `s`: the kind, whether it
/// defaults to the original request, and how many bytes it used.
fn lookup(s: &str, arg: &str) -> Result<(Kind, bool, usize), String> {
    for three in ["^ti", "^to", "^FB"] {
        if s.starts_with(three) {
            return Ok((Kind::Unavailable, false, 3));
        }
    }
    let c = s.chars().next().unwrap_or('%');
    let echo = || Kind::Echo(arg.into());
    let kind = match c {
        'a' => Kind::RemoteAddr,
        'A' => Kind::LocalAddr,
        'b' => Kind::BytesClf,
        'B' => Kind::Bytes,
        'C' => Kind::Cookie(arg.into()),
        'D' => Kind::DurationUs,
        'e' => Kind::EnvVar(arg.into()),
        'n' => Kind::Note(arg.into()),
        'L' | 'R' => Kind::Unavailable,
        'f' => Kind::Filename,
        'h' => Kind::RemoteHost,
        'H' => Kind::Protocol,
        'i' => Kind::HeaderIn(HeaderName::from_bytes(arg.as_bytes()).ok()),
        'I' => Kind::BytesIn,
        'k' => Kind::Keepalives,
        'l' => Kind::Logname,
        'm' => Kind::Method,
        'o' => Kind::HeaderOut(HeaderName::from_bytes(arg.as_bytes()).ok()),
        'O' => Kind::BytesOut,
        'p' => match arg.to_ascii_lowercase().as_str() {
            "" | "canonical" => Kind::ServerPort,
            "local" => Kind::LocalPort,
            "remote" => Kind::RemotePort,
            _ => echo(),
        },
        'P' => match arg.to_ascii_lowercase().as_str() {
            "" | "pid" => Kind::Pid,
            "tid" => Kind::Tid { hex: false },
            "hextid" => Kind::Tid { hex: true },
            _ => echo(),
        },
        'q' => Kind::Query,
        'r' => Kind::RequestLine,
        's' => Kind::Status,
        'S' => Kind::BytesTotal,
        't' => Kind::Time {
            end: time_is_end(arg),
            fmt: time_fmt(arg),
        },
        'T' => match arg.to_ascii_lowercase().as_str() {
            "" | "s" => Kind::Duration(TimeUnit::Sec),
            "ms" => Kind::Duration(TimeUnit::Milli),
            "us" => Kind::Duration(TimeUnit::Micro),
            _ => echo(),
        },
        'u' => Kind::User,
        'U' => Kind::Uri,
        'v' => Kind::ServerName,
        'V' => Kind::HostName,
        'X' => Kind::ConnStatus,
        'x' => Kind::SslVar(arg.into()),
        other => return Err(format!("Unrecognized LogFormat directive %{other}")),
    };
    let orig_default = matches!(c, 'r' | 'D' | 'T' | 'U' | 's' | 'L' | 'R');
    Ok((kind, orig_default, c.len_utf8()))
}

/// `%{end}t` / `%{end:...}t` use the end of the request.
fn time_is_end(arg: &str) -> bool {
    arg.strip_prefix("end")
        .is_some_and(|r| r.is_empty() || r.starts_with(':'))
}

/// Follows mod_log_config's `log_request_time` argument handling.
fn time_fmt(arg: &str) -> TimeFmt {
    if arg.is_empty() {
        return TimeFmt::Clf;
    }
    let mut fmt = arg;
    let mut custom = arg;
    for prefix in ["begin", "end"] {
        if let Some(r) = arg.strip_prefix(prefix) {
            fmt = r;
            if r.is_empty() {
                return TimeFmt::Clf;
            }
            if let Some(r) = r.strip_prefix(':') {
                fmt = r;
                custom = r;
            }
            break;
        }
    }
    match fmt {
        "" => return TimeFmt::Clf,
        "sec" => return TimeFmt::Sec,
        "msec" => return TimeFmt::Msec,
        "usec" => return TimeFmt::Usec,
        "msec_frac" => return TimeFmt::MsecFrac,
        "usec_frac" => return TimeFmt::UsecFrac,
        _ => {}
    }
    // Lenient: an unknown conversion is printed as written, as glibc's strftime does.
    match StrftimeItems::new_lenient(custom).parse_to_owned() {
        Ok(items) => TimeFmt::Custom(items),
        Err(_) => TimeFmt::Custom(vec![TimeItem::OwnedLiteral(custom.into())]),
    }
}

impl Field {
    fn render(&self, rec: &LogRecord<'_>, out: &mut Vec<u8>) {
        if !self.conditions.is_empty() {
            let listed = self.conditions.contains(&u32::from(rec.status));
            if listed == self.negate {
                out.push(b'-');
                return;
            }
        }
        match &self.kind {
            Kind::RemoteHost | Kind::RemoteAddr => push_ip(out, rec.client),
            Kind::LocalAddr => push_ip(out, rec.local),
            Kind::BytesClf => {
                if rec.body_bytes == 0 {
                    out.push(b'-');
                } else {
                    push_num(out, rec.body_bytes);
                }
            }
            Kind::Bytes => push_num(out, rec.body_bytes),
            Kind::DurationUs => push_num(out, duration_as(rec.duration, TimeUnit::Micro)),
            Kind::Duration(unit) => push_num(out, duration_as(rec.duration, *unit)),
            Kind::Filename => match rec.filename {
                Some(p) => push_escaped(out, p.as_os_str().as_bytes()),
                None => out.push(b'-'),
            },
            Kind::Protocol => push_escaped(out, rec.protocol.as_bytes()),
            Kind::HeaderIn(name) => push_header_in(out, rec.request_headers, name.as_ref()),
            Kind::HeaderOut(name) => push_header_out(out, rec.response_headers, name.as_ref()),
            Kind::Keepalives => push_num(out, u64::from(rec.keepalives)),
            Kind::Logname | Kind::Unavailable => out.push(b'-'),
            Kind::Method => push_escaped(out, rec.method.as_bytes()),
            Kind::ServerPort => push_num(out, u64::from(rec.server_port)),
            Kind::LocalPort => push_num(out, u64::from(rec.local.port())),
            Kind::RemotePort => push_num(out, u64::from(rec.client.port())),
            Kind::Pid => push_num(out, u64::from(sink::pid())),
            Kind::Tid { hex: false } => push_num(out, sink::tid()),
            Kind::Tid { hex: true } => {
                let _ = write!(out, "{:x}", sink::tid());
            }
            Kind::Query => {
                if let Some(q) = rec.query {
                    out.push(b'?');
                    push_escaped(out, q.as_bytes());
                }
            }
            Kind::RequestLine => push_escaped(out, rec.request_line.as_bytes()),
            Kind::Status => {
                let s = if self.want_orig {
                    rec.original_status
                } else {
                    rec.status
                };
                if s == 0 {
                    out.push(b'-');
                } else {
                    push_num(out, u64::from(s));
                }
            }
            Kind::Time { end, fmt } => {
                let t = if *end {
                    rec.request_time + rec.duration
                } else {
                    rec.request_time
                };
                push_time(out, t, fmt);
            }
            Kind::User => match rec.remote_user {
                None => out.push(b'-'),
                Some("") => out.extend_from_slice(b"\"\""),
                Some(u) => push_escaped(out, u.as_bytes()),
            },
            Kind::Uri => push_escaped(out, rec.uri_path.as_bytes()),
            Kind::ServerName => push_escaped(out, rec.server_name.as_bytes()),
            Kind::HostName => {
                push_escaped(out, rec.host_header.unwrap_or(rec.server_name).as_bytes())
            }
            Kind::ConnStatus => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(rec.conn_status.encode_utf8(&mut buf).as_bytes());
            }
            Kind::BytesIn => push_num(out, rec.bytes_in),
            Kind::BytesOut => push_num(out, rec.bytes_out),
            Kind::BytesTotal => push_num(out, rec.bytes_in.saturating_add(rec.bytes_out)),
            Kind::Cookie(name) => match find_cookie(rec.request_headers, name) {
                Some(v) => push_escaped(out, v),
                None => out.push(b'-'),
            },
            Kind::Echo(a) => out.extend_from_slice(a.as_bytes()),
            Kind::SslVar(name) => match (rec.ssl_var)(name) {
                Some(v) => push_escaped(out, v.as_bytes()),
                None => out.push(b'-'),
            },
            Kind::EnvVar(name) => match (rec.env_var)(name) {
                Some(v) => push_escaped(out, v.as_bytes()),
                None => out.push(b'-'),
            },
            Kind::Note(name) => {
                match rec.notes.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
                    Some((_, v)) => push_escaped(out, v.as_bytes()),
                    None => out.push(b'-'),
                }
            }
        }
    }
}

fn duration_as(d: Duration, unit: TimeUnit) -> u64 {
    let v = match unit {
        TimeUnit::Sec => u128::from(d.as_secs()),
        TimeUnit::Milli => d.as_millis(),
        TimeUnit::Micro => d.as_micros(),
    };
    u64::try_from(v).unwrap_or(u64::MAX)
}

fn push_num(out: &mut Vec<u8>, n: u64) {
    let _ = write!(out, "{n}");
}

fn push_ip(out: &mut Vec<u8>, addr: SocketAddr) {
    let _ = write!(out, "{}", addr.ip().to_canonical());
}

/// Apache's `ap_escape_logitem`: `"` and `\` get a backslash; control characters and
/// non-ASCII bytes become `\n`, `\t`, ... or `\xhh`.
pub fn push_escaped(out: &mut Vec<u8>, s: &[u8]) {
    for &b in s {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
            out.push(b);
        } else {
            push_escaped_byte(out, b);
        }
    }
}

/// Request headers as Apache sees them: repeated fields merged with `, `.
fn push_header_in(out: &mut Vec<u8>, headers: &HeaderMap, name: Option<&HeaderName>) {
    let Some(name) = name else {
        out.push(b'-');
        return;
    };
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        out.push(b'-');
        return;
    };
    push_escaped(out, first.as_bytes());
    for v in values {
        out.extend_from_slice(b", ");
        push_escaped(out, v.as_bytes());
    }
}

/// Response headers as mod_log_config reads them: Content-Type without parameters,
/// every Set-Cookie joined with `, `, otherwise the first value.
fn push_header_out(out: &mut Vec<u8>, headers: &HeaderMap, name: Option<&HeaderName>) {
    let Some(name) = name else {
        out.push(b'-');
        return;
    };
    if *name == header::SET_COOKIE {
        return push_header_in(out, headers, Some(name));
    }
    let Some(v) = headers.get(name) else {
        out.push(b'-');
        return;
    };
    let mut v = v.as_bytes();
    if *name == header::CONTENT_TYPE {
        if let Some(semi) = v.iter().position(|&c| c == b';') {
            v = &v[..semi];
        }
        while let [rest @ .., last] = v
            && last.is_ascii_whitespace()
        {
            v = rest;
        }
    }
    push_escaped(out, v);
}

/// `%{name}C`: the value of cookie `name` (case-insensitive) in the Cookie header.
fn find_cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h [u8]> {
    for value in headers.get_all(header::COOKIE) {
        for pair in value.as_bytes().split(|&c| c == b';') {
            let Some(eq) = pair.iter().position(|&c| c == b'=') else {
                continue;
            };
            let (n, v) = (pair[..eq].trim_ascii(), pair[eq + 1..].trim_ascii());
            if !n.is_empty() && !v.is_empty() && n.eq_ignore_ascii_case(name.as_bytes()) {
                return Some(v);
            }
        }
    }
    None
}

fn push_time(out: &mut Vec<u8>, t: SystemTime, fmt: &TimeFmt) {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    match fmt {
        TimeFmt::Clf => push_clf_time(out, t, since.as_secs()),
        TimeFmt::Sec => push_num(out, since.as_secs()),
        TimeFmt::Msec => push_num(out, duration_as(since, TimeUnit::Milli)),
        TimeFmt::Usec => push_num(out, duration_as(since, TimeUnit::Micro)),
        TimeFmt::MsecFrac => {
            let _ = write!(out, "{:03}", since.subsec_millis());
        }
        TimeFmt::UsecFrac => {
            let _ = write!(out, "{:06}", since.subsec_micros());
        }
        TimeFmt::Custom(items) => {
            let dt: DateTime<Local> = DateTime::from(t);
            // A formatting error leaves partial output; it never panics.
            let _ = write!(out, "{}", dt.format_with_items(items.iter()));
        }
    }
}

/// `[22/Nov/2026:16:31:00 +0000]` in local time, cached per thread for the current second.
fn push_clf_time(out: &mut Vec<u8>, t: SystemTime, secs: u64) {
    use std::cell::RefCell;
    thread_local! {
        static CACHE: RefCell<(u64, Vec<u8>)> = const { RefCell::new((u64::MAX, Vec::new())) };
    }
    let hit = CACHE.try_with(|c| {
        let Ok(mut c) = c.try_borrow_mut() else {
            return false;
        };
        if c.0 != secs {
            c.1.clear();
            format_clf_time(&mut c.1, t);
            c.0 = secs;
        }
        out.extend_from_slice(&c.1);
        true
    });
    if hit != Ok(true) {
        format_clf_time(out, t);
    }
}

fn format_clf_time(out: &mut Vec<u8>, t: SystemTime) {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let dt: DateTime<Local> = DateTime::from(t);
    let off = dt.offset().fix().local_minus_utc();
    let (sign, off) = if off < 0 { ('-', -off) } else { ('+', off) };
    let _ = write!(
        out,
        "[{:02}/{}/{}:{:02}:{:02}:{:02} {sign}{:02}{:02}]",
        dt.day(),
        MONTHS[dt.month0() as usize % 12],
        dt.year(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        off / 3600,
        off % 3600 / 60
    );
}

/// The format strings Apache's stock `httpd.conf` (`common`, `combined`, `combinedio`) and
/// Debian's `apache2.conf` (`vhost_combined`, `referer`, `agent`) define, predefined here
/// as a convenience; a `LogFormat ... nickname` in the configuration replaces them.
pub const PREDEFINED_FORMATS: [(&str, &str); 6] = [
    ("common", "%h %l %u %t \"%r\" %>s %b"),
    (
        "combined",
        "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\"",
    ),
    (
        "combinedio",
        "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\" %I %O",
    ),
    (
        "vhost_combined",
        "%v:%p %h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\"",
    ),
    ("referer", "%{Referer}i -> %U"),
    ("agent", "%{User-agent}i"),
];

/// Named formats (`LogFormat "fmt" nickname`) plus the default format (`LogFormat "fmt"`
/// without a nickname) of one server context. Nicknames not defined here fall back to
/// [`PREDEFINED_FORMATS`]; the default format falls back to [`DEFAULT_LOG_FORMAT`].
///
/// Apache looks `CustomLog`'s nickname up when the logs are opened, i.e. after the whole
/// configuration was read, so a `LogFormat` after the `CustomLog` still applies: resolve
/// once the context is complete.
#[derive(Clone, Debug, Default)]
pub struct LogFormats {
    named: HashMap<String, Arc<LogFormat>>,
    default: Option<Arc<LogFormat>>,
}

fn predefined() -> &'static HashMap<&'static str, Arc<LogFormat>> {
    static PREDEFINED: OnceLock<HashMap<&'static str, Arc<LogFormat>>> = OnceLock::new();
    PREDEFINED.get_or_init(|| {
        PREDEFINED_FORMATS
            .iter()
            .filter_map(|(nick, fmt)| Some((*nick, Arc::new(LogFormat::compile(fmt).ok()?))))
            .collect()
    })
}

impl LogFormats {
    /// No formats defined (the predefined ones still resolve).
    pub fn new() -> LogFormats {
        LogFormats::default()
    }

    /// `LogFormat fmt [nickname]`: with a nickname, defines it; without, sets the default
    /// format. Errors are mod_log_config's messages.
    pub fn define(&mut self, fmt: &str, nickname: Option<&str>) -> Result<(), String> {
        let f = Arc::new(LogFormat::compile(fmt)?);
        match nickname {
            Some(n) => {
                self.named.insert(n.to_string(), f);
            }
            None => self.default = Some(f),
        }
        Ok(())
    }

    /// A nickname's format (defined here, else predefined).
    pub fn get(&self, nickname: &str) -> Option<Arc<LogFormat>> {
        self.named
            .get(nickname)
            .or_else(|| predefined().get(nickname))
            .cloned()
    }

    /// The format of `TransferLog` and of a `CustomLog` without a format argument.
    pub fn default_format(&self) -> Arc<LogFormat> {
        match &self.default {
            Some(f) => Arc::clone(f),
            None => Arc::clone(default_log_format()),
        }
    }

    /// The format argument of `CustomLog`: a nickname, otherwise (as Apache does) the
    /// argument itself compiled as a format string.
    pub fn resolve(&self, arg: &str) -> Result<Arc<LogFormat>, String> {
        match self.get(arg) {
            Some(f) => Ok(f),
            None => LogFormat::compile(arg).map(Arc::new),
        }
    }

    /// A vhost's formats: this (outer) set overlaid with what `inner` defined itself.
    pub fn merge(&self, inner: &LogFormats) -> LogFormats {
        let mut merged = self.clone();
        for (k, v) in &inner.named {
            merged.named.insert(k.clone(), Arc::clone(v));
        }
        if let Some(d) = &inner.default {
            merged.default = Some(Arc::clone(d));
        }
        merged
    }
}

fn default_log_format() -> &'static Arc<LogFormat> {
    static DEFAULT: OnceLock<Arc<LogFormat>> = OnceLock::new();
    DEFAULT.get_or_init(|| Arc::new(LogFormat::default()))
}

#[cfg(test)]
#[path = "format_tests.rs"]
pub(crate) mod tests;
