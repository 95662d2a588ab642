//! `.htaccess` files: the text of a per-directory configuration file parsed against a
//! running configuration (`rhttpd::conf::htaccess`) under `AllowOverride All` and under
//! a narrow `AllowOverride FileInfo`; mod_rewrite is loaded, so this is also the fuzz
//! target of RewriteRule/RewriteCond/RewriteBase/RewriteOptions parsing.
//!
//! Invariants: no panic, no hang; whatever the narrow overrides accept, `All` accepts
//! too (a class check can only remove directives); an error always names the file.
//! `Include` and `IncludeOptional` are refused in `.htaccess` files before any file is
//! opened, so a run never reads the file system.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rhttpd::conf::overrides::{AllowOverride, OverrideClasses};
use rhttpd::conf::{LoadOptions, ServerConfig, htaccess, load};

fn config() -> &'static ServerConfig {
    static CFG: OnceLock<ServerConfig> = OnceLock::new();
    CFG.get_or_init(|| {
        load(&LoadOptions {
            file: "/nonexistent/httpd.conf".into(),
            server_root: "/nonexistent".into(),
            embedded: Some(
                "Listen 127.0.0.1:1\nLoadModule headers_module x\nLoadModule authn_core_module x\n\
                 LoadModule auth_basic_module x\nLoadModule access_compat_module x\n\
                 LoadModule setenvif_module x\nLoadModule expires_module x\n\
                 LoadModule rewrite_module x\n",
            ),
            ..Default::default()
        })
        .expect("fuzz configuration")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let file = Path::new("/srv/www/.htaccess");
    let all = AllowOverride {
        classes: OverrideClasses::ALL,
        ..AllowOverride::default()
    };
    let narrow = AllowOverride {
        classes: OverrideClasses::FILE_INFO,
        ..AllowOverride::default()
    };
    let wide = htaccess(config(), text, file, &all);
    let small = htaccess(config(), text, file, &narrow);
    if small.is_ok() {
        assert!(wide.is_ok(), "FileInfo accepted what All refused: {text:?}");
    }
    for e in [wide.err(), small.err()].into_iter().flatten() {
        if let Some(l) = &e.location {
            assert_eq!(&*l.file, file);
        }
    }
});
