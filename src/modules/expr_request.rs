//! ap_expr's view of a request: the [`rhttpd_expr::Context`] `<If>`, `Require expr`,
//! `SetEnvIfExpr`, `Header ... expr=`, `CustomLog ... expr=` and mod_rewrite's
//! `RewriteCond expr` evaluate against.
//!
//! [`ExprRequest::new`] needs only the request head and the connection; everything the
//! pipeline learns later (the virtual host, the mapped file and URL path, the merged
//! per-directory configuration with mod_setenvif's overlay, the user, notes, response
//! headers, status) is added with the `with_*` setters, so the context can be built
//! right after the per-directory merge (for `<If>`) as well as at logging time.
//!
//! Variables are Apache's (`util_expr_eval.c`), plus `SERVER_ADDR` and any `HTTP_*`
//! header for callers such as mod_rewrite whose variable set is larger; the expression
//! parser itself only lets through the names Apache's does.

use std::cell::{Cell, RefCell};
use std::net::IpAddr;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use rhttpd_expr::{Context, FileInfo, MAX_FILE_SIZE};
use rhttpd_http::{HeaderMap, RequestHead};

use crate::conf::{DirConfig, ServerTokens, VirtualHost};
use crate::handler::ConnInfo;

/// Apache's `MODULE_MAGIC_NUMBER_MAJOR` for 2.4 (`API_VERSION`).
pub const API_VERSION: &str = "20120211";

/// A request as expressions see it. Cheap to build: it holds references only.
#[derive(Clone)]
pub struct ExprRequest<'a> {
    head: &'a RequestHead,
    conn: &'a ConnInfo,
    host: Option<&'a VirtualHost>,
    server_tokens: ServerTokens,
    filename: Option<&'a Path>,
    uri: Option<&'a str>,
    context: Option<(&'a str, &'a Path)>,
    dir: Option<&'a DirConfig>,
    user: Option<&'a str>,
    notes: &'a [(String, String)],
    response_headers: Option<&'a HeaderMap>,
    status: Option<u16>,
    handler: Option<&'a str>,
    content_type: Option<&'a str>,
    /// Request headers the result depended on (for `Vary`).
    used_headers: RefCell<Vec<String>>,
    /// `REMOTE_USER` was read while no user was known.
    wanted_user: Cell<bool>,
}

impl<'a> ExprRequest<'a> {
    pub fn new(head: &'a RequestHead, conn: &'a ConnInfo) -> ExprRequest<'a> {
        ExprRequest {
            head,
            conn,
            host: None,
            server_tokens: ServerTokens::Full,
            filename: None,
            uri: None,
            context: None,
            dir: None,
            user: None,
            notes: &[],
            response_headers: None,
            status: None,
            handler: None,
            content_type: None,
            used_headers: RefCell::new(Vec::new()),
            wanted_user: Cell::new(false),
        }
    }

    /// The virtual host that serves the request and the `ServerTokens` setting.
    pub fn with_host(mut self, host: &'a VirtualHost, tokens: ServerTokens) -> Self {
        self.host = Some(host);
        self.server_tokens = tokens;
        self
    }

    /// The file the URL mapped to (`REQUEST_FILENAME`, `SCRIPT_FILENAME`).
    pub fn with_filename(mut self, filename: &'a Path) -> Self {
        self.filename = Some(filename);
        self
    }

    /// The decoded URL path (`REQUEST_URI`, `DOCUMENT_URI`).
    pub fn with_uri(mut self, uri: &'a str) -> Self {
        self.uri = Some(uri);
        self
    }

    /// The URL prefix of the `Alias` that mapped the request (empty: none), for
    /// `CONTEXT_PREFIX` and `CONTEXT_DOCUMENT_ROOT`. Needs [`Self::with_host`] first.
    pub fn with_url_prefix(mut self, prefix: &'a str) -> Self {
        let alias = self.host.and_then(|h| {
            h.aliases
                .iter()
                .find(|a| !prefix.is_empty() && a.url == prefix)
        });
        self.context = alias.map(|a| (a.url.as_str(), a.path.as_path()));
        self
    }

    /// The merged per-directory configuration (with mod_setenvif's overlay joined in:
    /// the request environment `reqenv()` and `env()` read).
    pub fn with_dir(mut self, dir: &'a DirConfig) -> Self {
        self.dir = Some(dir);
        self
    }

    pub fn with_user(mut self, user: Option<&'a str>) -> Self {
        self.user = user;
        self
    }

    pub fn with_notes(mut self, notes: &'a [(String, String)]) -> Self {
        self.notes = notes;
        self
    }

    /// The response so far (`resp()`, `REQUEST_STATUS`).
    pub fn with_response(mut self, headers: &'a HeaderMap, status: u16) -> Self {
        self.response_headers = Some(headers);
        self.status = Some(status);
        self
    }

    pub fn with_handler(mut self, handler: Option<&'a str>, content_type: Option<&'a str>) -> Self {
        self.handler = handler;
        self.content_type = content_type;
        self
    }

    /// Request headers an evaluation read (`Vary` material), in order, without repeats.
    pub fn used_headers(&self) -> Vec<String> {
        self.used_headers.borrow().clone()
    }

    /// Did an evaluation read `REMOTE_USER` before anyone authenticated?
    pub fn wanted_user(&self) -> bool {
        self.wanted_user.get()
    }

    fn header(&self, name: &str) -> Option<String> {
        let mut values = self.head.headers.get_all(name).iter().peekable();
        values.peek()?;
        let joined: Vec<String> = values
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        Some(joined.join(", "))
    }

    fn request_env(&self, name: &str) -> Option<String> {
        let dir = self.dir?;
        crate::modules::env::var(dir, self.conn.tls.as_deref(), name).map(|v| v.into_owned())
    }

    fn server_name(&self) -> String {
        self.head
            .host
            .clone()
            .or_else(|| self.host.and_then(|h| h.server_name.clone()))
            .unwrap_or_else(|| self.conn.local.ip().to_string())
    }

    fn server_port(&self) -> u16 {
        self.head
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| {
                let after = h.rsplit_once(']').map(|(_, p)| p).unwrap_or(h);
                after.rsplit_once(':').and_then(|(_, p)| p.parse().ok())
            })
            .unwrap_or(self.conn.local.port())
    }

    fn document_root(&self) -> Option<String> {
        self.host
            .map(|h| h.document_root.to_string_lossy().into_owned())
    }

    fn filename(&self) -> Option<String> {
        self.filename.map(|f| f.to_string_lossy().into_owned())
    }

    fn uri(&self) -> String {
        self.uri
            .map(str::to_string)
            .unwrap_or_else(|| self.head.path.clone())
    }

    /// Local time parts for the `TIME_*` variables.
    fn time(&self, name: &str) -> String {
        use chrono::{Datelike, Timelike};
        let now = chrono::Local::now();
        match name {
            "TIME_YEAR" => format!("{:04}", now.year()),
            "TIME_MON" => format!("{:02}", now.month()),
            "TIME_DAY" => format!("{:02}", now.day()),
            "TIME_HOUR" => format!("{:02}", now.hour()),
            "TIME_MIN" => format!("{:02}", now.minute()),
            "TIME_SEC" => format!("{:02}", now.second()),
            "TIME_WDAY" => now.weekday().num_days_from_sunday().to_string(),
            _ => now.format("%Y%m%d%H%M%S").to_string(),
        }
    }

    /// One variable by its upper-case name: Apache's set and mod_ssl's `SSL_*`,
    /// plus `SERVER_ADDR` and every `HTTP_*` request header.
    pub fn lookup(&self, name: &str) -> Option<String> {
        let tls = self.conn.tls.as_deref();
        Some(match name {
            "TIME_YEAR" | "TIME_MON" | "TIME_DAY" | "TIME_HOUR" | "TIME_MIN" | "TIME_SEC"
            | "TIME_WDAY" | "TIME" => self.time(name),
            "SERVER_SOFTWARE" => crate::error_pages::server_banner(self.server_tokens),
            "API_VERSION" => API_VERSION.to_string(),
            "REQUEST_METHOD" => self.head.method.as_str().to_string(),
            "REQUEST_SCHEME" => if tls.is_some() { "https" } else { "http" }.to_string(),
            "REQUEST_URI" | "DOCUMENT_URI" => self.uri(),
            "REQUEST_FILENAME" | "SCRIPT_FILENAME" => self.filename()?,
            "REMOTE_HOST" | "REMOTE_ADDR" | "CONN_REMOTE_ADDR" => self.conn.client.ip().to_string(),
            "REMOTE_PORT" => self.conn.client.port().to_string(),
            "REMOTE_IDENT" => return None,
            "REMOTE_USER" => {
                if self.user.is_none() {
                    self.wanted_user.set(true);
                }
                self.user?.to_string()
            }
            "AUTH_TYPE" => {
                self.user?;
                "Basic".to_string()
            }
            "SERVER_ADMIN" => self
                .host
                .and_then(|h| h.server_admin.clone())
                .unwrap_or_else(|| "[no address given]".to_string()),
            "SERVER_NAME" => self.server_name(),
            "SERVER_PORT" => self.server_port().to_string(),
            "SERVER_ADDR" => self.conn.local.ip().to_string(),
            "SERVER_PROTOCOL" => rhttpd_http::protocol_name(self.head.version).to_string(),
            "QUERY_STRING" => self.head.query.clone().unwrap_or_default(),
            "THE_REQUEST" => self.head.request_line.clone(),
            "IS_SUBREQ" => "false".to_string(),
            "DOCUMENT_ROOT" => self.document_root()?,
            "CONTEXT_PREFIX" => self.context.map(|(p, _)| p.to_string()).unwrap_or_default(),
            "CONTEXT_DOCUMENT_ROOT" => match self.context {
                Some((_, root)) => root.to_string_lossy().into_owned(),
                None => self.document_root()?,
            },
            "REQUEST_STATUS" => self.status?.to_string(),
            "HANDLER" => self.handler?.to_string(),
            "CONTENT_TYPE" => self.content_type?.to_string(),
            "HTTPS" => if tls.is_some() { "on" } else { "off" }.to_string(),
            "IPV6" => match self.conn.client.ip() {
                IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => "on",
                _ => "off",
            }
            .to_string(),
            "HTTP2" => if self.head.version == http::Version::HTTP_2 {
                "on"
            } else {
                "off"
            }
            .to_string(),
            "PATH_INFO" | "SCRIPT_USER" | "SCRIPT_GROUP" | "LAST_MODIFIED" | "REQUEST_LOG_ID"
            | "CONN_LOG_ID" => return None,
            n if n.starts_with("SSL_") => tls?.var(n)?.into_owned(),
            n if n.starts_with("HTTP_") => {
                let header = n[5..].replace('_', "-");
                self.header(&header)?
            }
            _ => return None,
        })
    }
}

impl Context for ExprRequest<'_> {
    fn var(&self, name: &str) -> Option<String> {
        self.lookup(name)
    }

    fn function(&self, name: &str, arg: &str) -> Option<String> {
        let note = || {
            self.notes
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(arg))
                .map(|(_, v)| v.clone())
        };
        match name {
            "req" | "http" | "req_novary" => self.header(arg),
            "resp" => {
                let v = self.response_headers?.get(arg)?;
                Some(String::from_utf8_lossy(v.as_bytes()).into_owned())
            }
            "reqenv" => self.request_env(arg),
            "note" => note(),
            "env" => note()
                .or_else(|| self.request_env(arg))
                .or_else(|| std::env::var(arg).ok()),
            "osenv" => std::env::var(arg).ok(),
            _ => None,
        }
    }

    fn client_ip(&self) -> Option<IpAddr> {
        Some(self.conn.client.ip())
    }

    fn stat(&self, path: &str) -> Option<FileInfo> {
        let md = std::fs::metadata(path).ok()?;
        Some(FileInfo {
            is_dir: md.is_dir(),
            is_file: md.is_file(),
            size: md.len(),
            mtime: md.mtime(),
            executable: md.permissions().mode() & 0o111 != 0,
        })
    }

    fn is_symlink(&self, path: &str) -> bool {
        std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
    }

    fn read_file(&self, path: &str) -> Result<String, String> {
        let md = std::fs::metadata(path).map_err(|_| format!("Cannot open file {path}"))?;
        if md.len() > MAX_FILE_SIZE {
            return Err(format!("File {path} too large"));
        }
        let data = std::fs::read(path).map_err(|_| format!("Cannot read from file {path}"))?;
        Ok(String::from_utf8_lossy(&data).into_owned())
    }

    /// `-F` as a plain existence test of a regular file (no access-checking
    /// subrequest); `-U`/`-A` are false (rhttpd has no subrequests).
    fn subrequest_ok(&self, arg: &str, url: bool) -> bool {
        !url && std::fs::metadata(arg).is_ok_and(|m| m.is_file())
    }

    fn used_header(&self, name: &str) {
        let mut used = self.used_headers.borrow_mut();
        if !used.iter().any(|h| h.eq_ignore_ascii_case(name)) {
            used.push(name.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rhttpd_expr::Expr;

    fn head(raw: &str) -> RequestHead {
        rhttpd_http::parse_request_head(raw.as_bytes(), &Default::default())
            .expect("head")
            .expect("complete")
    }

    #[test]
    fn request_variables() {
        let h = head(
            "GET /a/b.php?x=1 HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: curl/8\r\nX-Foo: bar\r\n\r\n",
        );
        let conn = ConnInfo::new(
            "10.0.0.5:5555".parse().unwrap(),
            "127.0.0.1:8080".parse().unwrap(),
        );
        let file = Path::new("/srv/a/b.php");
        let req = ExprRequest::new(&h, &conn)
            .with_filename(file)
            .with_uri("/a/b.php");
        let t = |src: &str| Expr::parse(src).unwrap().eval(&req).unwrap();
        assert!(t(
            "%{REQUEST_METHOD} == 'GET' && %{REQUEST_SCHEME} == 'http'"
        ));
        assert!(t(
            "%{REQUEST_URI} == '/a/b.php' && %{QUERY_STRING} == 'x=1'"
        ));
        assert!(t(
            "%{REQUEST_FILENAME} == '/srv/a/b.php' && %{HTTPS} == 'off'"
        ));
        assert!(t("%{THE_REQUEST} == 'GET /a/b.php?x=1 HTTP/1.1'"));
        assert!(t(
            "%{SERVER_NAME} == 'example.com' && %{SERVER_PORT} == '8080'"
        ));
        assert!(t(
            "%{REMOTE_ADDR} == '10.0.0.5' && -R '10.0.0.0/8' && %{IPV6} == 'off'"
        ));
        assert!(t("%{HTTP_USER_AGENT} == 'curl/8' && req('x-foo') == 'bar'"));
        assert!(t(
            "%{SERVER_PROTOCOL} == 'HTTP/1.1' && %{API_VERSION} == '20120211'"
        ));
        assert!(t("%{TIME_YEAR} -ge 2024 && %{REMOTE_USER} == ''"));
        assert_eq!(req.used_headers(), vec!["User-Agent", "x-foo"]);
        assert!(req.wanted_user());
        assert_eq!(req.lookup("HTTP_X_FOO").as_deref(), Some("bar"));
        assert_eq!(req.lookup("SERVER_ADDR").as_deref(), Some("127.0.0.1"));
    }
}
