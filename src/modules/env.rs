//! The request's environment as mod_env and mod_ssl leave it (Apache's
//! `r->subprocess_env` after the fixups): `SetEnv`/`PassEnv` variables, `HTTPS=on` on
//! TLS connections and, with `SSLOptions +StdEnvVars`, the `SSL_*` variables. Read by
//! mod_headers (`env=VAR`, `%{VAR}e`), the access log (`%{VAR}e`) and, for the mod_env
//! part, CGI and FastCGI.

use std::borrow::Cow;

use crate::conf::DirConfig;
use crate::handler::TlsInfo;

/// The value of `name` (case-insensitive, as Apache's tables), if set.
pub fn var<'a>(dir: &'a DirConfig, tls: Option<&'a TlsInfo>, name: &str) -> Option<Cow<'a, str>> {
    if let Some(v) = dir.env.get(name) {
        return Some(Cow::Borrowed(v));
    }
    let tls = tls?;
    if name.eq_ignore_ascii_case("HTTPS") {
        return Some(Cow::Borrowed("on"));
    }
    if dir.ssl.std_env_vars == Some(true) && name.starts_with("SSL_") {
        return tls.var(name).filter(|_| {
            dir.ssl.export_cert_data == Some(true)
                || !matches!(name, "SSL_CLIENT_CERT" | "SSL_SERVER_CERT")
        });
    }
    None
}

/// Put mod_env's variables into a CGI environment built by `cgi_env`: as Apache's
/// `ap_add_common_vars` overlays its own variables, the server's (`SERVER_*`, `HTTP_*`,
/// `REMOTE_ADDR` ...) win over a `SetEnv` of the same name, except `PATH`, which
/// `SetEnv PATH` replaces.
pub(crate) fn add_to_cgi(env: &mut Vec<(String, String)>, dir: &DirConfig) {
    for (k, v) in dir.env.vars.iter() {
        match env.iter_mut().find(|(e, _)| e.eq_ignore_ascii_case(k)) {
            Some((e, slot)) if e == "PATH" => *slot = v.clone(),
            Some(_) => {}
            None => env.push((k.clone(), v.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn lookup_and_cgi() {
        let mut dir = DirConfig::default();
        dir.env.vars = Arc::new(vec![
            ("Foo".into(), "1".into()),
            ("PATH".into(), "/opt/bin".into()),
            ("REMOTE_ADDR".into(), "spoof".into()),
        ]);
        assert_eq!(var(&dir, None, "FOO").as_deref(), Some("1"));
        assert_eq!(var(&dir, None, "HTTPS"), None);
        let tls = TlsInfo {
            protocol: "TLSv1.3",
            ..Default::default()
        };
        assert_eq!(var(&dir, Some(&tls), "HTTPS").as_deref(), Some("on"));
        assert_eq!(var(&dir, Some(&tls), "SSL_PROTOCOL"), None);
        dir.ssl.std_env_vars = Some(true);
        assert_eq!(
            var(&dir, Some(&tls), "SSL_PROTOCOL").as_deref(),
            Some("TLSv1.3")
        );
        let mut env = vec![
            ("PATH".to_string(), "/bin".to_string()),
            ("REMOTE_ADDR".to_string(), "127.0.0.1".to_string()),
        ];
        add_to_cgi(&mut env, &dir);
        assert_eq!(
            env,
            [
                ("PATH".to_string(), "/opt/bin".to_string()),
                ("REMOTE_ADDR".to_string(), "127.0.0.1".to_string()),
                ("Foo".to_string(), "1".to_string()),
            ]
        );
    }
}
