//! Content negotiation input from clients and files: type maps
//! (`modules::negotiation::typemap::parse`) and the Accept, Accept-Language,
//! Accept-Charset and Accept-Encoding values the algorithm reads
//! (`modules::negotiation::accept::parse`, `algorithm::choose`). Input: one control
//! byte (which input), then the bytes (the four header values split by NUL).
//!
//! Invariants: no panic; a `Body:` record's length is its body's and the body is a
//! piece of the map; every parsed quality lies in 0..=1; the chosen variant is one of
//! those given, and `Vary` names only negotiation dimensions.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rhttpd::modules::negotiation::accept;
use rhttpd::modules::negotiation::algorithm::{Accepts, Preferences, Variant, choose};
use rhttpd::modules::negotiation::typemap;

fn fixed_variants() -> Vec<Variant> {
    let v = |name: &str, ty: &str, langs: &[&str], enc: Option<&str>, len: u64| {
        let mut v = Variant {
            file_name: name.into(),
            languages: langs.iter().map(|l| l.to_string()).collect(),
            encoding: enc.map(str::to_string),
            length: Some(len),
            ..Variant::default()
        };
        v.set_content_type(ty);
        v
    };
    vec![
        v("a.html.en", "text/html", &["en"], None, 10),
        v("a.html.fr", "text/html; charset=utf-8", &["fr"], None, 12),
        v("a.txt.de.gz", "text/plain;qs=0.7", &["de", "de-at"], Some("gzip"), 5),
        v("a.png", "image/png", &[], None, 3),
        v("a.var", "", &["en-gb"], None, 0),
    ]
}

fn check(variants: &[Variant], accepts: &Accepts) {
    let priority = vec!["fr".to_string(), "en".to_string()];
    for (prefer, fallback) in [(true, false), (false, true), (true, true)] {
        let prefs = Preferences {
            language_priority: &priority,
            force: rhttpd::conf::negotiation::ForceLanguagePriority { prefer, fallback },
            prefer_language: fallback.then_some("de"),
            no_encodings: prefer && fallback,
            encodings_only_html: !prefer,
        };
        let d = choose(variants, accepts, prefs, true);
        if let Some(i) = d.best {
            assert!(i < variants.len());
        }
        for word in d.vary.split(',') {
            assert!(
                [
                    "negotiate",
                    "accept",
                    "accept-language",
                    "accept-charset",
                    "accept-encoding"
                ]
                .contains(&word),
                "{word}"
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    if control % 2 == 0 {
        let Ok(entries) = typemap::parse(rest) else {
            return;
        };
        for e in &entries {
            if let Some(body) = &e.body {
                assert_eq!(e.variant.length, Some(body.len() as u64));
                assert!(body.is_empty() || rest.windows(body.len()).any(|w| w == &body[..]));
            }
        }
        let variants: Vec<Variant> = entries.into_iter().map(|e| e.variant).collect();
        check(&variants, &Accepts::default());
    } else {
        let text = String::from_utf8_lossy(rest);
        let mut parts = text.split('\0');
        let mut next = |media: bool| {
            parts.next().map(|v| {
                let l = accept::parse(v, media);
                for item in &l.items {
                    assert!((0.0..=1.0).contains(&item.quality));
                    assert!(!item.name.is_empty());
                }
                l
            })
        };
        let accepts = Accepts {
            media: next(true),
            language: next(false),
            charset: next(false),
            encoding: next(false),
        };
        check(&fixed_variants(), &accepts);
    }
});
