//! The [`Lookup`] of a real request: mod_rewrite's server variables (`lookup_variable`),
//! the file tests on the local disk, and the maps of the virtual host.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use chrono::{Datelike, Local, Timelike};
use rhttpd_http::RequestHead;

use rhttpd_expr::Groups;

use super::engine::{Lookup, MapAnswer};
use crate::conf::expr::ConfExpr;
use crate::conf::rewrite::{FileTest, RewriteMap};
use crate::conf::{DirConfig, ServerConfig, VirtualHost};
use crate::handler::{ConnInfo, absolute_url};
use crate::log::Level;
use crate::modules::expr_request::ExprRequest;

/// Apache's module API version (`MODULE_MAGIC_NUMBER_MAJOR:MINOR` of 2.4.x).
pub const API_VERSION: &str = "20120211:140";

/// Where the directory walk of a `current` value stopped.
pub struct Walked {
    current: String,
    len: usize,
    meta: Option<std::fs::Metadata>,
}

/// The request as mod_rewrite sees it.
pub struct RequestLookup<'a> {
    pub cfg: &'a ServerConfig,
    pub host: &'a VirtualHost,
    pub conn: &'a ConnInfo,
    pub head: &'a RequestHead,
    /// `r->uri`: the decoded URL path.
    pub uri: &'a str,
    /// `r->filename`: the URL (server context) or file (per-directory) being rewritten.
    pub current: String,
    /// `r->args`.
    pub query: Option<String>,
    /// Per-directory context (`REQUEST_FILENAME` is the file the directory walk found).
    pub perdir: bool,
    /// The request's variables (mod_setenvif, earlier `[E=]`), newest last.
    pub env: Vec<(String, Option<String>)>,
    /// mod_env's variables of the merged section, when known.
    pub dir: Option<&'a DirConfig>,
    pub user: Option<&'a str>,
    pub maps: &'a HashMap<String, Arc<RewriteMap>>,
    /// False on a thread that must not wait (`prg:` maps answer "blocked").
    pub may_block: bool,
    /// Set when a lookup was refused for that reason.
    pub blocked: bool,
    /// Per-directory context: the directory whose rules run (it exists: its `.htaccess`
    /// was read or a walked file is under it), where the walk for `REQUEST_FILENAME`
    /// starts.
    pub rules_dir: Option<String>,
    /// `current`, the length of its walked filename and that file's metadata (`None`:
    /// it does not exist), once computed.
    pub walked: std::cell::RefCell<Option<Walked>>,
}

fn header(head: &RequestHead, name: &str) -> String {
    let mut out = String::new();
    for v in head.headers.get_all(name) {
        if !out.is_empty() {
            out.push_str(", ");
        }
        out.push_str(&String::from_utf8_lossy(v.as_bytes()));
    }
    out
}

/// The file an Apache directory walk stops at: the path up to its first component
/// that is not a directory (what is left is `PATH_INFO`).
pub fn walked_filename(path: &str) -> &str {
    walked_below(path, "/")
}

/// [`walked_filename`] for a path under `known`, a directory known to exist (the
/// directory whose rules run): only the components below it are looked at.
pub fn walked_below<'p>(path: &'p str, known: &str) -> &'p str {
    walk_below(path, known).0
}

/// [`walked_below`], and the metadata of what it names (`None`: it does not exist).
fn walk_below<'p>(path: &'p str, known: &str) -> (&'p str, Option<std::fs::Metadata>) {
    if let Ok(m) = std::fs::metadata(path) {
        return (path, Some(m));
    }
    let known = known.trim_end_matches('/');
    let start = if path.len() > known.len()
        && path.starts_with(known)
        && path.as_bytes()[known.len()] == b'/'
    {
        known.len()
    } else {
        0
    };
    for (i, _) in path.match_indices('/').filter(|(i, _)| *i > start) {
        let prefix = &path[..i];
        match std::fs::metadata(prefix) {
            Ok(m) if m.is_dir() => continue,
            Ok(m) => return (prefix, Some(m)),
            Err(_) => return (prefix, None),
        }
    }
    (path, None)
}

impl RequestLookup<'_> {
    fn https(&self) -> bool {
        self.conn.tls.is_some()
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

    fn server_name(&self) -> String {
        self.head
            .host
            .clone()
            .or_else(|| {
                self.host
                    .server_name
                    .as_ref()
                    .map(|n| n.split(':').next().unwrap_or("").to_string())
            })
            .unwrap_or_else(|| self.conn.local.ip().to_string())
    }

    fn env_var(&self, name: &str) -> String {
        if let Some((_, v)) = self
            .env
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
        {
            return v.clone().unwrap_or_default();
        }
        if let Some(dir) = self.dir
            && let Some((_, v)) = dir.env.vars.iter().find(|(k, _)| k == name)
        {
            return v.clone();
        }
        std::env::var(name).unwrap_or_default()
    }

    /// `current` up to where the directory walk stops, computed once per value.
    fn walked(&self) -> &str {
        self.walk();
        let len = self.walked.borrow().as_ref().map_or(0, |w| w.len);
        &self.current[..len]
    }

    /// Walk `current` once per value (the result is kept in `walked`).
    fn walk(&self) {
        let mut memo = self.walked.borrow_mut();
        if memo.as_ref().is_some_and(|w| w.current == self.current) {
            return;
        }
        let known = self.rules_dir.as_deref().unwrap_or("/");
        let (walked, meta) = walk_below(&self.current, known);
        *memo = Some(Walked {
            current: self.current.clone(),
            len: walked.len(),
            meta,
        });
    }

    /// What the walk learnt of `path` when it is the walked filename: `Some(None)` it does
    /// not exist, `Some(Some(m))` its metadata; `None` when the walk did not look at it.
    fn walked_meta(&self, path: &str) -> Option<Option<std::fs::Metadata>> {
        match &*self.walked.borrow() {
            Some(w) if w.current == self.current && w.current[..w.len] == *path => {
                Some(w.meta.clone())
            }
            _ => None,
        }
    }

    fn filename(&self) -> String {
        if self.perdir {
            self.walked().to_string()
        } else {
            self.current.clone()
        }
    }

    /// A variable by its plain name (`HTTP_HOST`, `REMOTE_ADDR` ...).
    fn named(&self, name: &str) -> String {
        let now = || Local::now();
        match name {
            "HTTP_USER_AGENT" => header(self.head, "user-agent"),
            "HTTP_REFERER" => header(self.head, "referer"),
            "HTTP_COOKIE" => header(self.head, "cookie"),
            "HTTP_FORWARDED" => header(self.head, "forwarded"),
            "HTTP_HOST" => header(self.head, "host"),
            "HTTP_PROXY_CONNECTION" => header(self.head, "proxy-connection"),
            "HTTP_ACCEPT" => header(self.head, "accept"),
            "REMOTE_ADDR" | "CONN_REMOTE_ADDR" => self.conn.client.ip().to_string(),
            "REMOTE_HOST" => self.conn.client.ip().to_string(),
            "REMOTE_PORT" => self.conn.client.port().to_string(),
            "REMOTE_USER" => self.user.unwrap_or("").to_string(),
            "REMOTE_IDENT" => String::new(),
            "REQUEST_METHOD" => self.head.method.as_str().to_string(),
            "SCRIPT_FILENAME" | "REQUEST_FILENAME" => self.filename(),
            "PATH_INFO" => {
                if self.perdir {
                    let f = self.walked().len();
                    self.current[f..].to_string()
                } else {
                    String::new()
                }
            }
            "QUERY_STRING" => self.query.clone().unwrap_or_default(),
            "AUTH_TYPE" => {
                if self.user.is_some() {
                    "Basic".to_string()
                } else {
                    String::new()
                }
            }
            "DOCUMENT_ROOT" | "CONTEXT_DOCUMENT_ROOT" => {
                self.host.document_root.to_string_lossy().into_owned()
            }
            "CONTEXT_PREFIX" => String::new(),
            "SERVER_ADMIN" => self.host.server_admin.clone().unwrap_or_default(),
            "SERVER_NAME" => self.server_name(),
            "SERVER_ADDR" => self.conn.local.ip().to_string(),
            "SERVER_PORT" => self.server_port().to_string(),
            "SERVER_PROTOCOL" => rhttpd_http::protocol_name(self.head.version).to_string(),
            "SERVER_SOFTWARE" => crate::error_pages::server_banner(self.cfg.server_tokens),
            "TIME_YEAR" => format!("{:04}", now().year()),
            "TIME_MON" => format!("{:02}", now().month()),
            "TIME_DAY" => format!("{:02}", now().day()),
            "TIME_HOUR" => format!("{:02}", now().hour()),
            "TIME_MIN" => format!("{:02}", now().minute()),
            "TIME_SEC" => format!("{:02}", now().second()),
            "TIME_WDAY" => now().weekday().num_days_from_sunday().to_string(),
            "TIME" => now().format("%Y%m%d%H%M%S").to_string(),
            "API_VERSION" => API_VERSION.to_string(),
            "THE_REQUEST" => self.head.request_line.clone(),
            "REQUEST_URI" => self.uri.to_string(),
            "REQUEST_SCHEME" => if self.https() { "https" } else { "http" }.to_string(),
            "HTTPS" => if self.https() { "on" } else { "off" }.to_string(),
            "IS_SUBREQ" => "false".to_string(),
            "HTTP2" => "off".to_string(),
            "SCRIPT_USER" | "SCRIPT_GROUP" => String::new(),
            other => match other.strip_prefix("HTTP_") {
                // Any other request header by its CGI name.
                Some(h) => header(self.head, &h.to_ascii_lowercase().replace('_', "-")),
                None => {
                    crate::log::log(
                        "rewrite",
                        Level::Debug,
                        Some(self.conn.client),
                        &format!("unknown variable %{{{other}}}: empty"),
                    );
                    String::new()
                }
            },
        }
    }
}

impl Lookup for RequestLookup<'_> {
    fn var(&mut self, name: &str) -> String {
        if let Some(h) = name.strip_prefix("HTTP:") {
            return header(self.head, &h.to_ascii_lowercase());
        }
        if let Some(v) = name.strip_prefix("ENV:") {
            return self.env_var(v);
        }
        if let Some(v) = name.strip_prefix("SSL:") {
            return self
                .conn
                .tls
                .as_ref()
                .and_then(|t| t.var(v).map(|c| c.into_owned()))
                .unwrap_or_default();
        }
        // Look-ahead: rhttpd gives the value as it is at this point of the request.
        if let Some(v) = name
            .strip_prefix("LA-U:")
            .or_else(|| name.strip_prefix("LA-F:"))
        {
            return self.var(v);
        }
        self.named(name)
    }

    fn file_test(&mut self, test: FileTest, path: &str) -> bool {
        use std::os::unix::fs::PermissionsExt;
        let p = Path::new(path);
        // The walk for REQUEST_FILENAME stat'ed this path already (stat, not lstat:
        // the symbolic-link test still asks the file system).
        let known = match test {
            FileTest::Symlink | FileTest::UrlExists => None,
            _ => self.walked_meta(path),
        };
        if let Some(meta) = known {
            return meta.is_some_and(|m| match test {
                FileTest::File => m.is_file(),
                FileTest::Dir => m.is_dir(),
                FileTest::NonEmpty => m.is_file() && m.len() > 0,
                FileTest::Executable => m.permissions().mode() & 0o111 != 0,
                _ => true,
            });
        }
        match test {
            FileTest::File => p.is_file(),
            FileTest::Dir => p.is_dir(),
            FileTest::NonEmpty => std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() > 0),
            FileTest::Symlink => p.is_symlink(),
            FileTest::Executable => {
                std::fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
            }
            FileTest::FileAccessible => p.exists(),
            FileTest::UrlExists => {
                // The URL mapped as the core would (Alias, then DocumentRoot).
                if !path.starts_with('/') {
                    return false;
                }
                let mapped = self
                    .host
                    .aliases
                    .iter()
                    .find_map(|a| {
                        crate::conf::proxy::prefix_rest(&a.url, path)
                            .map(|rest| a.path.join(rest.trim_start_matches('/')))
                    })
                    .unwrap_or_else(|| self.host.document_root.join(path.trim_start_matches('/')));
                mapped.exists()
            }
        }
    }

    fn map(&mut self, map: &str, key: &str) -> MapAnswer {
        let Some(m) = self.maps.get(map) else {
            crate::log::log(
                "rewrite",
                Level::Error,
                Some(self.conn.client),
                &format!("mod_rewrite: can't find RewriteMap '{map}'"),
            );
            return MapAnswer::NotFound;
        };
        let answer = super::maps::lookup(m, key, self.may_block);
        if answer == MapAnswer::Blocked {
            self.blocked = true;
        }
        answer
    }

    fn set_env(&mut self, name: &str, value: Option<&str>) {
        self.env.push((name.to_string(), value.map(str::to_string)));
    }

    fn expr(&mut self, expr: &ConfExpr) -> Option<Groups> {
        // reqenv()/env() see the variables set so far (mod_setenvif, earlier [E=]).
        let dir = self
            .dir
            .map(|d| crate::modules::setenvif::with_overlay(Arc::new(d.clone()), &self.env));
        let filename = self.filename();
        let mut ctx = ExprRequest::new(self.head, self.conn)
            .with_host(self.host, self.cfg.server_tokens)
            .with_uri(self.uri)
            .with_filename(Path::new(&filename))
            .with_user(self.user);
        if let Some(d) = &dir {
            ctx = ctx.with_dir(d);
        }
        let mut evaluator = rhttpd_expr::Evaluator::new(&ctx as &dyn rhttpd_expr::Context);
        match expr.expr.eval_in(&mut evaluator) {
            Ok(true) => Some(evaluator.groups().cloned().unwrap_or_default()),
            Ok(false) => None,
            Err(msg) => {
                // Apache writes this to the rewrite trace log only.
                crate::log::log(
                    "rewrite",
                    Level::Debug,
                    Some(self.conn.client),
                    &format!(
                        "RewriteCond: expr='{}' evaluation failed: {msg}",
                        expr.expr.source()
                    ),
                );
                None
            }
        }
    }

    /// `ap_construct_url` with `UseCanonicalName Off`, as `fully_qualify_uri` uses it:
    /// the client's host name, and the port it named or else the one it connected to.
    fn server_url(&mut self) -> String {
        let scheme_of = absolute_url(self.cfg, self.host, self.conn, self.head, "");
        let https = scheme_of.starts_with("https:");
        let (scheme, default) = if https { ("https", 443) } else { ("http", 80) };
        let port = self.server_port();
        let mut name = self.server_name();
        if name.contains(':') && !name.starts_with('[') {
            name = format!("[{name}]");
        }
        if port == default {
            format!("{scheme}://{name}")
        } else {
            format!("{scheme}://{name}:{port}")
        }
    }

    fn is_this_server(&mut self, scheme: &str, authority: &str) -> bool {
        let ours = if self.https() { "https" } else { "http" };
        if scheme != ours {
            return false;
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => {
                match p.parse::<u16>() {
                    Ok(p) => (h, p),
                    Err(_) => return false,
                }
            }
            _ => (authority, if ours == "https" { 443 } else { 80 }),
        };
        let name_ok = host.eq_ignore_ascii_case(&self.server_name())
            || self
                .host
                .server_name
                .as_deref()
                .is_some_and(|n| n.split(':').next() == Some(host))
            || self
                .host
                .server_aliases
                .iter()
                .any(|a| crate::conf::vhost::wildcard_match(a, host));
        name_ok && port == self.server_port()
    }

    fn current_changed(&mut self, uri: &str, query: Option<&str>) {
        self.current = uri.to_string();
        self.query = query.map(str::to_string);
    }
}
