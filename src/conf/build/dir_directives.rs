//! Per-directory directives (Options, ErrorDocument, AddType, DirectoryIndex ...): valid
//! in sections and at server and virtual-host level alike.

use std::sync::Arc;

use rhttpd_config::{ConfigError, Directive};

use super::Builder;
use crate::conf::values::{duration, err, flag, number, parse_file_etag, parse_options};
use crate::conf::{DirConfig, DocText, ErrorDocument, ServerSignature};
use crate::log::LogLevels;

impl Builder {
    /// Per-directory directives, valid at every level. Returns false when `d` is not one.
    pub(super) fn dir_directive(
        &mut self,
        dc: &mut DirConfig,
        d: &Directive,
    ) -> Result<bool, ConfigError> {
        let a0 = d.args.first().map(String::as_str).unwrap_or("");
        match d.name {
            "Options" => dc.options.push(parse_options(d)?),
            name if name.starts_with("SSL") => {
                return crate::conf::ssl::dir_directive(&mut dc.ssl, d);
            }
            "ErrorDocument" => {
                let code: u16 = a0
                    .parse()
                    .ok()
                    .filter(|c| (400..600).contains(c) || (300..400).contains(c))
                    .ok_or_else(|| err(&d.location, "Unsupported HTTP response code"))?;
                let target = d.args.get(1).cloned().unwrap_or_default();
                // Apache's heuristic: with a space it is a message, else a local path,
                // else a URL, else a message (a leading quote marks a message in Apache
                // 2.0 syntax; the parser removed the others).
                let text = |s: &str| -> Result<DocText, ConfigError> {
                    if !s.contains("%{") {
                        return Ok(DocText::Literal(s.to_string()));
                    }
                    crate::conf::expr::parse_string(s, &d.location, |m| {
                        format!("Cannot parse expression in ErrorDocument: {m}")
                    })
                    .map(DocText::Expr)
                };
                let doc = if target.eq_ignore_ascii_case("default") {
                    ErrorDocument::Default
                } else if target.contains(' ') {
                    ErrorDocument::Text(text(target.trim_start_matches('"'))?)
                } else if target.starts_with('/') {
                    ErrorDocument::Local(text(&target)?)
                } else if target.contains("://") {
                    ErrorDocument::Remote(text(&target)?)
                } else {
                    ErrorDocument::Text(text(target.trim_start_matches('"'))?)
                };
                Arc::make_mut(&mut dc.error_documents).insert(code, doc);
            }
            "AddDefaultCharset" => {
                dc.add_default_charset = Some(if a0.eq_ignore_ascii_case("off") {
                    None
                } else if a0.eq_ignore_ascii_case("on") {
                    Some("iso-8859-1".to_string())
                } else {
                    Some(a0.to_string())
                });
            }
            "ServerSignature" => {
                dc.server_signature = Some(match a0.to_ascii_lowercase().as_str() {
                    "on" => ServerSignature::On,
                    "off" => ServerSignature::Off,
                    "email" => ServerSignature::Email,
                    _ => {
                        return Err(err(
                            &d.location,
                            "ServerSignature: use one of: off | on | email",
                        ));
                    }
                })
            }
            "LimitRequestBody" => {
                dc.limit_request_body = Some(number::<u64>(d, "number")?.min(i64::MAX as u64))
            }
            "FileETag" => dc.file_etag = Some(parse_file_etag(d)?),
            "EnableSendfile" => dc.enable_sendfile = Some(flag(d)),
            "MaxRanges" | "MaxRangeOverlaps" | "MaxRangeReversals" => {
                // Apache: default | unlimited | none | N (N > 0); `none` is 0 here.
                let value = match a0.to_ascii_lowercase().as_str() {
                    "default" => match d.name {
                        "MaxRanges" => 200,
                        _ => 20,
                    },
                    "unlimited" => usize::MAX,
                    "none" => 0,
                    _ => match a0.parse::<usize>() {
                        Ok(0) => usize::MAX,
                        Ok(n) => n,
                        Err(_) => {
                            return Err(err(
                                &d.location,
                                format!(
                                    "{} must be 'none', 'default', 'unlimited' or a positive integer",
                                    d.name
                                ),
                            ));
                        }
                    },
                };
                match d.name {
                    "MaxRanges" => dc.max_ranges = Some(value),
                    "MaxRangeOverlaps" => dc.max_range_overlaps = Some(value),
                    _ => dc.max_range_reversals = Some(value),
                }
            }
            "ContentDigest" => {
                if flag(d) {
                    return Err(err(
                        &d.location,
                        "ContentDigest On: rhttpd does not send Content-MD5 (deprecated by RFC 7231); remove the line or use Off",
                    ));
                }
            }
            name if crate::conf::negotiation::handles(name) => {
                crate::conf::negotiation::directive(&mut dc.negotiation, d)?
            }
            name if crate::conf::access_compat::handles(name) => {
                crate::conf::access_compat::directive(
                    &mut dc.access_compat,
                    d,
                    &crate::conf::require::parse_ip_net,
                )?
            }
            name if crate::conf::deflate::handles(name) => {
                crate::conf::deflate::directive(&mut dc.deflate, d, &mut self.cfg.warnings)?
            }
            "EnableMMAP"
            | "AddInputFilter"
            | "CacheNegotiatedDocs"
            | "UseCanonicalName"
            | "IndexOptions"
            | "IndexOrderDefault"
            | "IndexStyleSheet"
            | "IndexHeadInsert"
            | "AddIcon"
            | "AddIconByType"
            | "AddIconByEncoding"
            | "AddAlt"
            | "AddAltByType"
            | "AddAltByEncoding"
            | "AddDescription"
            | "DefaultIcon"
            | "HeaderName"
            | "ReadmeName" => {}
            "HostnameLookups" => {
                if !a0.eq_ignore_ascii_case("off") {
                    return Err(err(
                        &d.location,
                        format!(
                            "HostnameLookups {a0}: rhttpd logs client addresses only; use HostnameLookups Off (Require host still works)"
                        ),
                    ));
                }
            }
            "LogLevel" => {
                // Per-directory LogLevel is accepted; the server-wide level governs.
                LogLevels::parse(&d.args).map_err(|m| err(&d.location, m))?;
            }
            "SetHandler" => {
                dc.set_handler = Some(if a0.eq_ignore_ascii_case("none") {
                    String::new()
                } else if a0
                    .get(..6)
                    .is_some_and(|p| p.eq_ignore_ascii_case("proxy:"))
                {
                    format!("proxy:{}", &a0[6..])
                } else {
                    a0.to_ascii_lowercase()
                })
            }
            "ForceType" => {
                dc.force_type = if a0.eq_ignore_ascii_case("none") {
                    None
                } else {
                    Some(a0.to_string())
                }
            }
            "AddType" | "AddHandler" | "AddCharset" | "AddEncoding" => {
                // mod_mime lower-cases charset and coding names (`UTF-8` → `utf-8`).
                let value = if matches!(d.name, "AddCharset" | "AddEncoding") {
                    a0.to_ascii_lowercase()
                } else {
                    a0.to_string()
                };
                let map = match d.name {
                    "AddType" => &mut dc.add_types,
                    "AddHandler" => &mut dc.add_handlers,
                    "AddCharset" => &mut dc.add_charsets,
                    _ => &mut dc.add_encodings,
                };
                let m = Arc::make_mut(map);
                for ext in &d.args[1..] {
                    m.insert(
                        ext.trim_start_matches('.').to_ascii_lowercase(),
                        value.clone(),
                    );
                }
            }
            "RemoveHandler" | "RemoveType" => {
                let map = if d.name == "RemoveHandler" {
                    &mut dc.add_handlers
                } else {
                    &mut dc.add_types
                };
                let m = Arc::make_mut(map);
                for ext in &d.args {
                    m.remove(&ext.trim_start_matches('.').to_ascii_lowercase());
                }
            }
            "DirectoryIndex" => {
                dc.directory_index = Some(
                    if d.args.len() == 1 && a0.eq_ignore_ascii_case("disabled") {
                        Vec::new()
                    } else {
                        d.args.clone()
                    },
                )
            }
            "DirectorySlash" => dc.directory_slash = Some(flag(d)),
            "FallbackResource" => dc.fallback_resource = Some(a0.to_string()),
            "CGIDScriptTimeout" => dc.cgid_script_timeout = Some(duration(d)?),
            "IndexIgnore" => {
                let mut list = dc.index_ignore.clone().unwrap_or_default();
                list.extend(d.args.iter().cloned());
                dc.index_ignore = Some(list);
            }
            "IndexIgnoreReset" => {
                if flag(d) {
                    dc.index_ignore = Some(Vec::new());
                }
            }
            "Require" => {
                return Err(err(&d.location, "Require not allowed here"));
            }
            name if crate::conf::auth::handles(name) => {
                let root = self.cfg.server_root.clone();
                let path = move |p: &str| root.join(p);
                crate::conf::auth::directive(&mut dc.auth, d, &path, &mut self.cfg.warnings)?;
                if d.name == "AuthBasicProvider" {
                    for p in dc.auth.providers() {
                        let known = if p == "file" {
                            self.cfg.loaded_modules.contains(&"authn_file_module")
                        } else {
                            self.cfg.authn_aliases.contains_key(p)
                        };
                        if !known {
                            return Err(err(&d.location, format!("Unknown Authn provider: {p}")));
                        }
                    }
                }
            }
            name if crate::conf::rewrite::handles(name) => {
                crate::conf::rewrite::dir_directive(&mut dc.rewrite, d, &mut self.cfg.warnings)?
            }
            "ExpiresActive" | "ExpiresDefault" | "ExpiresByType" => {
                crate::conf::expires::directive(&mut dc.expires, d)?
            }
            "SetEnv" | "PassEnv" | "UnsetEnv" => {
                crate::conf::env::directive(&mut dc.env, d, &mut self.cfg.warnings)?
            }
            // At server and virtual-host level (sections call these themselves).
            "SetEnvIf" | "SetEnvIfNoCase" | "BrowserMatch" | "BrowserMatchNoCase"
            | "SetEnvIfExpr" => crate::conf::setenvif::directive(&mut dc.setenvif, d, true)?,
            "Header" | "RequestHeader" => {
                crate::conf::headers::directive(&mut dc.headers, d, false)?
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}
