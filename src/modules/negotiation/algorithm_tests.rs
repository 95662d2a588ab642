use super::*;
use crate::modules::negotiation::accept::parse;
use proptest::prelude::*;

fn v(name: &str, ty: &str, langs: &[&str], len: u64) -> Variant {
    let mut v = Variant {
        file_name: name.into(),
        languages: langs.iter().map(|l| l.to_string()).collect(),
        source_quality: 1.0,
        length: Some(len),
        ..Variant::default()
    };
    v.set_content_type(ty);
    v
}

fn accepts(media: Option<&str>, lang: Option<&str>) -> Accepts {
    Accepts {
        media: media.map(|m| parse(m, true)),
        language: lang.map(|l| parse(l, false)),
        ..Accepts::default()
    }
}

fn pick(vs: &[Variant], a: &Accepts, prefs: Preferences<'_>) -> Option<String> {
    choose(vs, a, prefs, true)
        .best
        .map(|i| vs[i].file_name.clone())
}

fn about() -> Vec<Variant> {
    vec![
        v("about.html.de", "text/html", &["de"], 2),
        v("about.html.en", "text/html", &["en"], 2),
        v("about.html.fr", "text/html", &["fr"], 4),
    ]
}

#[test]
fn languages_as_apache_chose_them() {
    let p = Preferences::default();
    let vs = about();
    // The cases compared with Apache 2.4 by hand (see tests/e2e_negotiation.rs).
    assert_eq!(
        pick(&vs, &accepts(None, None), p).as_deref(),
        Some("about.html.de")
    );
    assert_eq!(
        pick(&vs, &accepts(None, Some("fr")), p).as_deref(),
        Some("about.html.fr")
    );
    assert_eq!(pick(&vs, &accepts(None, Some("it")), p), None);
    assert_eq!(
        pick(&vs, &accepts(None, Some("fr;q=0.5, de")), p).as_deref(),
        Some("about.html.de")
    );
    assert_eq!(
        pick(&vs, &accepts(None, Some("en-US")), p).as_deref(),
        Some("about.html.en"),
        "the en-US fiddle"
    );
    assert_eq!(
        pick(&vs, &accepts(None, Some("it, *;q=0.1")), p).as_deref(),
        Some("about.html.de")
    );
    assert_eq!(
        choose(&vs, &accepts(None, None), p, true).vary,
        "negotiate,accept-language"
    );
}

#[test]
fn language_priority_prefer_and_fallback() {
    let lp = vec!["fr".to_string(), "en".to_string()];
    let mut p = Preferences {
        language_priority: &lp,
        force: ForceLanguagePriority {
            prefer: true,
            fallback: true,
        },
        ..Preferences::default()
    };
    let vs = about();
    assert_eq!(
        pick(&vs, &accepts(None, None), p).as_deref(),
        Some("about.html.fr")
    );
    assert_eq!(
        pick(&vs, &accepts(None, Some("it")), p).as_deref(),
        Some("about.html.fr")
    );
    assert_eq!(
        pick(&vs, &accepts(None, Some("en, de")), p).as_deref(),
        Some("about.html.en")
    );
    p.force.fallback = false;
    assert_eq!(pick(&vs, &accepts(None, Some("it")), p), None);
    p.force.prefer = false;
    assert_eq!(
        pick(&vs, &accepts(None, None), p).as_deref(),
        Some("about.html.de")
    );
}

#[test]
fn media_types_and_wildcards() {
    let p = Preferences::default();
    let vs = vec![
        v("t.html", "text/html", &[], 8),
        v("t.png", "image/png", &[], 1),
        v("t.txt", "text/plain", &[], 10),
    ];
    assert_eq!(pick(&vs, &accepts(None, None), p).as_deref(), Some("t.png"));
    assert_eq!(
        pick(&vs, &accepts(Some("text/plain"), None), p).as_deref(),
        Some("t.txt")
    );
    let a = accepts(Some("text/html;q=0.5, text/plain;q=0.4, */*;q=0.1"), None);
    assert_eq!(pick(&vs, &a, p).as_deref(), Some("t.html"));
    assert_eq!(
        pick(&vs, &accepts(Some("image/*"), None), p).as_deref(),
        Some("t.png")
    );
    assert_eq!(pick(&vs, &accepts(Some("application/json"), None), p), None);
    // Without explicit q a wildcard is worth little: the named type wins.
    let a = accepts(Some("text/plain, */*"), None);
    assert_eq!(pick(&vs, &a, p).as_deref(), Some("t.txt"));
    assert_eq!(choose(&vs, &a, p, true).vary, "negotiate,accept");
    assert_eq!(
        alternates(&vs[..2]),
        "{\"t.html\" 1 {type text/html} {length 8}}, {\"t.png\" 1 {type image/png} {length 1}}"
    );
}

#[test]
fn source_quality_charset_and_encoding() {
    let p = Preferences::default();
    let mut a = v("a.en.html", "text/html", &["en"], 7);
    let b = v("a.fr.html", "text/html;qs=0.5", &["fr"], 3);
    assert_eq!(b.source_quality, 0.5);
    assert_eq!(
        pick(&[a.clone(), b.clone()], &accepts(None, None), p).as_deref(),
        Some("a.en.html")
    );
    assert_eq!(
        pick(&[a.clone(), b.clone()], &accepts(None, Some("fr")), p).as_deref(),
        Some("a.fr.html")
    );
    // Encoded variants lose to identity when the client said nothing.
    let plain = v("x.txt", "text/plain", &[], 100);
    let mut gz = v("x.txt.gz", "text/plain", &[], 10);
    gz.encoding = Some("gzip".into());
    assert_eq!(
        pick(&[gz.clone(), plain.clone()], &accepts(None, None), p).as_deref(),
        Some("x.txt")
    );
    let mut ac = accepts(None, None);
    ac.encoding = Some(parse("gzip", false));
    assert_eq!(
        pick(&[plain.clone(), gz.clone()], &ac, p).as_deref(),
        Some("x.txt.gz")
    );
    assert_eq!(
        choose(&[plain, gz], &ac, p, true).vary,
        "negotiate,accept-encoding"
    );
    // Accept-Charset excludes what it does not name (ISO-8859-1 aside).
    a.charset = Some("koi8-r".into());
    let mut ac = accepts(None, Some("en, fr"));
    ac.charset = Some(parse("utf-8", false));
    assert_eq!(pick(&[a, b], &ac, p).as_deref(), Some("a.fr.html"));
}

#[test]
fn prefer_language_and_no_gzip() {
    let vs = about();
    let p = Preferences {
        prefer_language: Some("fr"),
        ..Preferences::default()
    };
    assert_eq!(
        pick(&vs, &accepts(None, Some("de")), p).as_deref(),
        Some("about.html.fr")
    );
    let p = Preferences {
        prefer_language: Some("it"),
        ..Preferences::default()
    };
    assert_eq!(
        pick(&vs, &accepts(None, Some("de")), p).as_deref(),
        Some("about.html.de"),
        "nothing in it: negotiated as usual"
    );
    let plain = v("x.txt", "text/plain", &[], 100);
    let mut gz = v("x.txt.gz", "text/plain", &[], 10);
    gz.encoding = Some("gzip".into());
    let mut ac = accepts(None, None);
    ac.encoding = Some(parse("gzip", false));
    let p = Preferences {
        no_encodings: true,
        ..Preferences::default()
    };
    assert_eq!(pick(&[plain, gz], &ac, p).as_deref(), Some("x.txt"));
}

#[test]
fn variant_list_is_apaches() {
    let list = variant_list(&about()[..1]);
    assert_eq!(
        list,
        "Available variants:\n<ul>\n<li><a href=\"about.html.de\">about.html.de</a> , type text/html, language de</li>\n</ul>\n"
    );
    assert_eq!(source_quality_text(0.5), "0.5");
    assert_eq!(source_quality_text(0.0), "0");
    assert_eq!(source_quality_text(0.125), "0.125");
}

proptest! {
    #[test]
    fn any_headers_choose_an_acceptable_variant_or_none(
        media in proptest::option::of("[a-z/*;=.0-9, ]{0,30}"),
        lang in proptest::option::of("[a-z*;=.0-9, -]{0,30}"),
        lens in proptest::collection::vec(0u64..100, 1..5),
    ) {
        let names = ["en", "fr", "de", "en-gb", ""];
        let types = ["text/html", "text/plain", "image/png", "", "text/html"];
        let vs: Vec<Variant> = lens.iter().enumerate().map(|(i, &len)| {
            let langs: Vec<&str> = [names[i]].into_iter().filter(|l| !l.is_empty()).collect();
            v(&format!("v{i}"), types[i], &langs, len)
        }).collect();
        let a = accepts(media.as_deref(), lang.as_deref());
        let d = choose(&vs, &a, Preferences::default(), true);
        if let Some(i) = d.best {
            prop_assert!(i < vs.len());
        }
        prop_assert!(d.vary.starts_with("negotiate"));
    }
}
