//! The variables and functions an expression may name, checked when it is read (as
//! Apache's `expr_lookup` hook does: an unknown name is a syntax error at start).

use crate::{Options, ParseError};

/// Apache 2.4's core variables (`util_expr_eval.c`): misc, request-header, request and
/// connection variables. Names match without regard to case.
pub const VARIABLES: &[&str] = &[
    // misc
    "TIME_YEAR",
    "TIME_MON",
    "TIME_DAY",
    "TIME_HOUR",
    "TIME_MIN",
    "TIME_SEC",
    "TIME_WDAY",
    "TIME",
    "SERVER_SOFTWARE",
    "API_VERSION",
    // request headers
    "HTTP_USER_AGENT",
    "HTTP_PROXY_CONNECTION",
    "HTTP_REFERER",
    "HTTP_COOKIE",
    "HTTP_FORWARDED",
    "HTTP_HOST",
    "HTTP_ACCEPT",
    // request
    "REQUEST_METHOD",
    "REQUEST_SCHEME",
    "REQUEST_URI",
    "REQUEST_FILENAME",
    "REMOTE_HOST",
    "REMOTE_IDENT",
    "REMOTE_USER",
    "SERVER_ADMIN",
    "SERVER_NAME",
    "SERVER_PORT",
    "SERVER_PROTOCOL",
    "SCRIPT_FILENAME",
    "PATH_INFO",
    "QUERY_STRING",
    "IS_SUBREQ",
    "DOCUMENT_ROOT",
    "AUTH_TYPE",
    "THE_REQUEST",
    "CONTENT_TYPE",
    "HANDLER",
    "REQUEST_LOG_ID",
    "SCRIPT_USER",
    "SCRIPT_GROUP",
    "DOCUMENT_URI",
    "LAST_MODIFIED",
    "CONTEXT_PREFIX",
    "CONTEXT_DOCUMENT_ROOT",
    "REQUEST_STATUS",
    "REMOTE_ADDR",
    "REMOTE_PORT",
    // connection
    "HTTPS",
    "IPV6",
    "CONN_LOG_ID",
    "CONN_REMOTE_ADDR",
    "HTTP2",
];

/// String functions whose value comes from the request (through [`crate::Context`]).
pub const REQUEST_FUNCTIONS: &[&str] = &[
    "req",
    "http",
    "req_novary",
    "resp",
    "reqenv",
    "note",
    "env",
    "osenv",
];

/// String functions the crate computes (`file`, `filesize` and `filemod` read the file
/// system through [`crate::Context`]).
pub const PURE_FUNCTIONS: &[&str] = &[
    "tolower", "toupper", "escape", "unescape", "base64", "unbase64", "md5", "sha1", "ldap",
];

/// Functions refused in a restricted context (they read files).
pub const FILE_FUNCTIONS: &[&str] = &["file", "filesize", "filemod"];

/// The canonical name of variable `name`, or Apache's "does not exist" error.
/// `SSL_*` names are mod_ssl's, always known (rhttpd has TLS built in).
pub(crate) fn variable(name: &str, _opts: &Options) -> Result<String, ParseError> {
    if let Some(v) = VARIABLES.iter().find(|v| v.eq_ignore_ascii_case(name)) {
        return Ok((*v).to_string());
    }
    if name.len() > 4 && name[..4].eq_ignore_ascii_case("SSL_") {
        return Ok(name.to_ascii_uppercase());
    }
    Err(ParseError::new(format!("Variable '{name}' does not exist")))
}

/// The canonical (lower-case) name of string function `name`.
pub(crate) fn string_function(name: &str, opts: &Options) -> Result<String, ParseError> {
    let lower = name.to_ascii_lowercase();
    if FILE_FUNCTIONS.contains(&lower.as_str()) {
        if opts.restricted {
            return Err(ParseError::new(format!(
                "{lower} not available in restricted context"
            )));
        }
        return Ok(lower);
    }
    if REQUEST_FUNCTIONS.contains(&lower.as_str()) || PURE_FUNCTIONS.contains(&lower.as_str()) {
        return Ok(lower);
    }
    Err(ParseError::new(format!("Function '{name}' does not exist")))
}
