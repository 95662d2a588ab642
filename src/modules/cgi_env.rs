//! The CGI/1.1 environment (RFC 3875 plus Apache's additions) and Apache's path-info
//! split, shared by mod_cgi and mod_proxy_fcgi.

use std::path::{Path, PathBuf};

use http::header::CONTENT_TYPE;
use rhttpd_http::StatusCode;

use crate::handler::Request;

/// The handler name `ScriptAlias`, `AddHandler` and `SetHandler` use.
pub const CGI_HANDLER: &str = "cgi-script";

/// Apache's fixed PATH for scripts (mod_cgi passes the server's PATH; Debian's is this).
const SCRIPT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The script file, the URL path that names it and the path info after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ScriptInfo {
    pub filename: PathBuf,
    pub script_name: String,
    pub path_info: String,
}

/// Apache's path-info split: walk `filename` back component by component until an
/// existing file is found; what follows it is PATH_INFO (taken from the decoded URL,
/// whose tail is the same text). `Err(status)` when nothing runnable is there.
pub(crate) fn split_path_info(filename: &Path, uri_path: &str) -> Result<ScriptInfo, StatusCode> {
    let full = filename.to_string_lossy();
    let mut cut = full.len();
    loop {
        let cand = &full[..cut];
        // Within a batch of the event listener, the mapping's stat of the file is reused.
        match super::file_cache::stat(Path::new(cand)) {
            Ok(m) => {
                let tail = &full[cut..];
                if m.is_dir() && !tail.is_empty() {
                    return Err(StatusCode::NOT_FOUND);
                }
                let path_info = if uri_path.ends_with(tail) {
                    tail.to_string()
                } else {
                    String::new()
                };
                let script_name = uri_path[..uri_path.len() - path_info.len()].to_string();
                return Ok(ScriptInfo {
                    filename: PathBuf::from(cand),
                    script_name,
                    path_info,
                });
            }
            Err(_) => match cand.rfind('/') {
                Some(i) if i > 0 => cut = i,
                _ => return Err(StatusCode::NOT_FOUND),
            },
        }
    }
}

/// Whether the URL lies below a `ScriptAlias` or matches a `ScriptAliasMatch` (which
/// allow scripts without ExecCGI), or its `<Location>` has a one-argument ScriptAlias.
pub(crate) fn script_aliased(req: &Request<'_>) -> bool {
    let in_location = req
        .dir
        .alias
        .as_ref()
        .is_some_and(|a| a.handler.as_deref() == Some(CGI_HANDLER));
    in_location
        || req.vhost.aliases.iter().any(|a| {
            a.handler.as_deref() == Some(CGI_HANDLER)
                && match &a.regex {
                    Some(re) => re.0.is_match(req.uri_path),
                    None => crate::conf::proxy::prefix_rest(&a.url, req.uri_path).is_some(),
                }
        })
}

/// `SERVER_NAME`/`SERVER_PORT` as `UseCanonicalName Off` gives them: from the Host
/// header when present, else ServerName and the local port.
fn server_name_port(req: &Request<'_>) -> (String, u16) {
    let port = req
        .head
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| {
            let after = h.rsplit_once(']').map(|(_, p)| p).unwrap_or(h);
            after.rsplit_once(':').and_then(|(_, p)| p.parse().ok())
        })
        .unwrap_or(req.conn.local.port());
    let name = req
        .head
        .host
        .clone()
        .or_else(|| req.vhost.server_name.clone())
        .unwrap_or_else(|| req.conn.local.ip().to_string());
    let name = name.split(':').next().unwrap_or("").to_string();
    (name, port)
}

/// The RFC 3875 environment with Apache's additions (`ap_add_common_vars` +
/// `ap_add_cgi_vars`). `content_length` is the request body's length when known.
pub(crate) fn cgi_env(
    req: &Request<'_>,
    script: &ScriptInfo,
    script_filename: &str,
    content_length: Option<u64>,
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = Vec::with_capacity(40);
    let mut put = |k: &str, v: String| env.push((k.to_string(), v));
    // HTTP_* from the request headers (duplicates joined with ", "). Names with
    // characters other than letters, digits and '-' are dropped (Apache 2.4), and so
    // are Proxy (httpoxy) and the credentials.
    let mut seen: Vec<(String, String)> = Vec::new();
    for (name, value) in req.head.headers.iter() {
        let n = name.as_str();
        if matches!(n, "content-type" | "content-length") {
            continue;
        }
        if matches!(n, "authorization" | "proxy-authorization" | "proxy") {
            continue;
        }
        if !n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            continue;
        }
        let key = format!("HTTP_{}", n.to_ascii_uppercase().replace('-', "_"));
        let v = String::from_utf8_lossy(value.as_bytes()).into_owned();
        match seen.iter_mut().find(|(k, _)| *k == key) {
            Some((_, old)) => {
                old.push_str(", ");
                old.push_str(&v);
            }
            None => seen.push((key, v)),
        }
    }
    for (k, v) in seen {
        put(&k, v);
    }
    if let Some(ct) = req
        .head
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    {
        put("CONTENT_TYPE", ct.to_string());
    }
    if let Some(n) = content_length {
        put("CONTENT_LENGTH", n.to_string());
    }
    put("PATH", SCRIPT_PATH.to_string());
    let banner = crate::error_pages::server_banner(req.server.server_tokens);
    put("SERVER_SIGNATURE", String::new());
    put("SERVER_SOFTWARE", banner);
    let (name, port) = server_name_port(req);
    put("SERVER_NAME", name);
    put("SERVER_ADDR", req.conn.local.ip().to_string());
    put("SERVER_PORT", port.to_string());
    put("REMOTE_ADDR", req.conn.client.ip().to_string());
    if let Some(user) = req.user {
        put("REMOTE_USER", user.to_string());
        put("AUTH_TYPE", "Basic".to_string());
    }
    let docroot = req.vhost.document_root.to_string_lossy().into_owned();
    put("DOCUMENT_ROOT", docroot.clone());
    let scheme = if req.conn.tls.is_some() {
        "https"
    } else {
        "http"
    };
    put("REQUEST_SCHEME", scheme.to_string());
    let alias = req
        .vhost
        .aliases
        .iter()
        .find(|a| !req.url_prefix.is_empty() && a.url == req.url_prefix);
    match alias {
        Some(a) => {
            put("CONTEXT_PREFIX", a.url.clone());
            put(
                "CONTEXT_DOCUMENT_ROOT",
                a.path.to_string_lossy().into_owned(),
            );
        }
        None => {
            put("CONTEXT_PREFIX", String::new());
            put("CONTEXT_DOCUMENT_ROOT", docroot.clone());
        }
    }
    put(
        "SERVER_ADMIN",
        req.vhost
            .server_admin
            .clone()
            .unwrap_or_else(|| "[no address given]".to_string()),
    );
    put("SCRIPT_FILENAME", script_filename.to_string());
    put("REMOTE_PORT", req.conn.client.port().to_string());
    put("GATEWAY_INTERFACE", "CGI/1.1".to_string());
    put(
        "SERVER_PROTOCOL",
        rhttpd_http::protocol_name(req.head.version).to_string(),
    );
    put("REQUEST_METHOD", req.head.method.as_str().to_string());
    put("QUERY_STRING", req.head.query.clone().unwrap_or_default());
    // The URL the client asked for, also after an internal redirect (Apache's
    // `original_uri`); heads made up inside the server have no raw target.
    let uri = if req.head.raw_target.starts_with('/') {
        req.head.raw_target.clone()
    } else {
        let mut uri = req.head.path.clone();
        if let Some(q) = &req.head.query {
            uri.push('?');
            uri.push_str(q);
        }
        uri
    };
    put("REQUEST_URI", uri);
    put("SCRIPT_NAME", script.script_name.clone());
    if !script.path_info.is_empty() {
        put("PATH_INFO", script.path_info.clone());
        put("PATH_TRANSLATED", format!("{docroot}{}", script.path_info));
    }
    // mod_ssl's fixup: HTTPS=on for every TLS request, the SSL_* variables with
    // `SSLOptions +StdEnvVars` (and the PEM certificates with +ExportCertData).
    if let Some(tls) = &req.conn.tls {
        put("HTTPS", "on".to_string());
        if req.dir.ssl.std_env_vars == Some(true) {
            let export = req.dir.ssl.export_cert_data == Some(true);
            env.extend(tls.std_env_vars(export));
        }
    }
    // mod_env's SetEnv/PassEnv (UnsetEnv already applied by the merge).
    super::env::add_to_cgi(&mut env, req.dir);
    env
}
