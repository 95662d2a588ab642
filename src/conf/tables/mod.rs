//! Directive tables: for each module rhttpd implements, the directives it owns, where
//! they may appear and how many arguments they take. The parser (rhttpd-config) checks
//! every directive against these tables; `conf::build` gives them their meaning; `-L`
//! prints them.
//!
//! A few directives are accepted for compatibility with stock Apache/Debian
//! configurations but have no effect in rhttpd; they say so in their help text
//! (`(accepted, no effect)`) and in docs/directives.md.

use rhttpd_config::{Arity, Contexts as C, DirectiveSpec, ModuleInfo};

const fn d(name: &'static str, contexts: C, arity: Arity, help: &'static str) -> DirectiveSpec {
    DirectiveSpec {
        name,
        contexts,
        arity,
        help,
    }
}

const ANY_NO_FILES: C = C(1 | 2 | 4 | 8);
const SERVER_VHOST_DIR_FILES: C = C(1 | 2 | 4 | 16);

mod auth;
mod dynamic;
mod filters;
mod meta;
mod mpm;
mod rewrite;
mod server;
mod ssl;
mod standard;

pub use auth::{ACCESS_COMPAT, AUTH_BASIC, AUTHN_CORE, AUTHN_FILE, AUTHZ_GROUPFILE};
pub use dynamic::{
    CGI, CGID, HEARTBEAT, HEARTMONITOR, LBMETHOD_HEARTBEAT, PROXY, PROXY_FCGI, PROXY_HCHECK,
    PROXY_WSTUNNEL,
};
pub use filters::{BROTLI, DEFLATE, FILTER, NEGOTIATION};
pub use meta::{ENV, EXPIRES, HEADERS, HTTP2, SETENVIF};
pub use mpm::{MPM_EVENT, MPM_PREFORK, MPM_WORKER};
pub use rewrite::REWRITE;
pub use server::{CORE, HTTP_CORE, LISTEN, REQTIMEOUT, UNIXD};
pub use ssl::SSL;
pub use standard::{ALIAS, AUTHZ_CORE, AUTOINDEX, DIR, LOG_CONFIG, MIME, STATUS};

const fn module(
    name: &'static str,
    source: &'static str,
    builtin: bool,
    directives: &'static [DirectiveSpec],
) -> ModuleInfo {
    ModuleInfo {
        name,
        source,
        builtin,
        directives,
    }
}

/// Every module rhttpd has. Built-in modules are always present (like a static Apache
/// build, `-l` lists them); the others are present once a `LoadModule` line names them.
pub static MODULES: &[ModuleInfo] = &[
    module("core_module", "core.c", true, CORE),
    module("so_module", "mod_so.c", true, &[]),
    module("http_module", "http_core.c", true, HTTP_CORE),
    module("mpm_common_module", "mpm_common.c", true, LISTEN),
    module("unixd_module", "mod_unixd.c", true, UNIXD),
    module("log_config_module", "mod_log_config.c", true, LOG_CONFIG),
    module("logio_module", "mod_logio.c", true, &[]),
    // mod_version's only directive, <IfVersion>, is run by the configuration reader.
    module("version_module", "mod_version.c", true, &[]),
    module("mime_module", "mod_mime.c", true, MIME),
    module("dir_module", "mod_dir.c", true, DIR),
    module("alias_module", "mod_alias.c", true, ALIAS),
    module("authz_core_module", "mod_authz_core.c", true, AUTHZ_CORE),
    module("authz_host_module", "mod_authz_host.c", true, &[]),
    module("autoindex_module", "mod_autoindex.c", true, AUTOINDEX),
    module("reqtimeout_module", "mod_reqtimeout.c", true, REQTIMEOUT),
    module("status_module", "mod_status.c", false, STATUS),
    module("cgi_module", "mod_cgi.c", false, CGI),
    module("cgid_module", "mod_cgid.c", false, CGID),
    module("proxy_module", "mod_proxy.c", false, PROXY),
    module("proxy_http_module", "mod_proxy_http.c", false, &[]),
    module("proxy_fcgi_module", "mod_proxy_fcgi.c", false, PROXY_FCGI),
    module(
        "proxy_wstunnel_module",
        "mod_proxy_wstunnel.c",
        false,
        PROXY_WSTUNNEL,
    ),
    module("proxy_balancer_module", "mod_proxy_balancer.c", false, &[]),
    module(
        "lbmethod_byrequests_module",
        "mod_lbmethod_byrequests.c",
        false,
        &[],
    ),
    module(
        "lbmethod_bytraffic_module",
        "mod_lbmethod_bytraffic.c",
        false,
        &[],
    ),
    module(
        "lbmethod_bybusyness_module",
        "mod_lbmethod_bybusyness.c",
        false,
        &[],
    ),
    module(
        "lbmethod_heartbeat_module",
        "mod_lbmethod_heartbeat.c",
        false,
        LBMETHOD_HEARTBEAT,
    ),
    module(
        "proxy_hcheck_module",
        "mod_proxy_hcheck.c",
        false,
        PROXY_HCHECK,
    ),
    module("slotmem_shm_module", "mod_slotmem_shm.c", false, &[]),
    module("slotmem_plain_module", "mod_slotmem_plain.c", false, &[]),
    module(
        "heartmonitor_module",
        "mod_heartmonitor.c",
        false,
        HEARTMONITOR,
    ),
    module("heartbeat_module", "mod_heartbeat.c", false, HEARTBEAT),
    // Built into Debian's apache2 (LoadModule of it is an error there, too).
    module("watchdog_module", "mod_watchdog.c", true, &[]),
    module("ssl_module", "mod_ssl.c", false, SSL),
    module("expires_module", "mod_expires.c", false, EXPIRES),
    module("env_module", "mod_env.c", false, ENV),
    module("headers_module", "mod_headers.c", false, HEADERS),
    module("setenvif_module", "mod_setenvif.c", false, SETENVIF),
    module("http2_module", "mod_http2.c", false, HTTP2),
    module("rewrite_module", "mod_rewrite.c", false, REWRITE),
    module("deflate_module", "mod_deflate.c", false, DEFLATE),
    module("brotli_module", "mod_brotli.c", false, BROTLI),
    module("filter_module", "mod_filter.c", false, FILTER),
    module(
        "negotiation_module",
        "mod_negotiation.c",
        false,
        NEGOTIATION,
    ),
    module(
        "access_compat_module",
        "mod_access_compat.c",
        false,
        ACCESS_COMPAT,
    ),
    module("authn_core_module", "mod_authn_core.c", false, AUTHN_CORE),
    module("auth_basic_module", "mod_auth_basic.c", false, AUTH_BASIC),
    module("authn_file_module", "mod_authn_file.c", false, AUTHN_FILE),
    module("authz_user_module", "mod_authz_user.c", false, &[]),
    module(
        "authz_groupfile_module",
        "mod_authz_groupfile.c",
        false,
        AUTHZ_GROUPFILE,
    ),
    module("example_unsafe_module", "mod_example_unsafe.c", false, &[]),
    module("mpm_prefork_module", "prefork.c", false, MPM_PREFORK),
    module("mpm_worker_module", "worker.c", false, MPM_WORKER),
    module("mpm_event_module", "event.c", false, MPM_EVENT),
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique_per_module_and_loaded_set() {
        // Within the built-in set no directive may be declared twice (the parser could
        // not tell which module owns it).
        let mut seen = HashSet::new();
        for m in MODULES.iter().filter(|m| m.builtin) {
            for dspec in m.directives {
                assert!(
                    seen.insert(dspec.name.to_ascii_lowercase()),
                    "{} declared twice",
                    dspec.name
                );
            }
        }
    }

    #[test]
    fn mpm_tables_share_common_rows() {
        for t in [MPM_PREFORK, MPM_WORKER, MPM_EVENT] {
            assert!(t.iter().any(|x| x.name == "MaxRequestWorkers"));
        }
        assert!(
            MPM_EVENT
                .iter()
                .any(|x| x.name == "AsyncRequestWorkerFactor")
        );
        assert!(
            !MPM_WORKER
                .iter()
                .any(|x| x.name == "AsyncRequestWorkerFactor")
        );
    }
}
