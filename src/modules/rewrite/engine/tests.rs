use std::collections::HashMap;

use proptest::prelude::*;
use rhttpd_config::{Directive, Location};

use super::*;
use crate::conf::rewrite::{parse_cond, parse_rule};

/// A request without I/O: variables, existing files and maps from tables.
#[derive(Default)]
struct Fake {
    vars: HashMap<String, String>,
    files: Vec<String>,
    dirs: Vec<String>,
    maps: HashMap<String, HashMap<String, String>>,
    blocking_maps: Vec<String>,
    env: Vec<(String, Option<String>)>,
}

/// The fake's variables as ap_expr sees them.
struct FakeExpr<'a>(&'a HashMap<String, String>);

impl rhttpd_expr::Context for FakeExpr<'_> {
    fn var(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
    fn function(&self, _name: &str, _arg: &str) -> Option<String> {
        None
    }
}

impl Lookup for Fake {
    fn var(&mut self, name: &str) -> String {
        if let Some(v) = name.strip_prefix("ENV:")
            && let Some((_, val)) = self.env.iter().rev().find(|(k, _)| k == v)
        {
            return val.clone().unwrap_or_default();
        }
        self.vars.get(name).cloned().unwrap_or_default()
    }
    fn file_test(&mut self, test: FileTest, path: &str) -> bool {
        match test {
            FileTest::File | FileTest::NonEmpty => self.files.iter().any(|f| f == path),
            FileTest::Dir => self.dirs.iter().any(|f| f == path),
            _ => false,
        }
    }
    fn map(&mut self, map: &str, key: &str) -> MapAnswer {
        if self.blocking_maps.iter().any(|m| m == map) {
            return MapAnswer::Blocked;
        }
        match self.maps.get(map).and_then(|m| m.get(key)) {
            Some(v) => MapAnswer::Value(v.clone()),
            None => MapAnswer::NotFound,
        }
    }
    fn set_env(&mut self, name: &str, value: Option<&str>) {
        self.env.push((name.into(), value.map(Into::into)));
    }
    fn expr(&mut self, expr: &ConfExpr) -> Option<Groups> {
        let ctx = FakeExpr(&self.vars);
        let mut evaluator = rhttpd_expr::Evaluator::new(&ctx as &dyn rhttpd_expr::Context);
        match expr.expr.eval_in(&mut evaluator) {
            Ok(true) => Some(evaluator.groups().cloned().unwrap_or_default()),
            _ => None,
        }
    }
    fn server_url(&mut self) -> String {
        "http://example.org".into()
    }
    fn is_this_server(&mut self, scheme: &str, authority: &str) -> bool {
        scheme == "http" && authority == "example.org"
    }
}

fn directive(name: &'static str, line: &str) -> Directive {
    Directive {
        name,
        args: rhttpd_config::lexer::split_words(line),
        location: Location::new("t.conf", 1),
    }
}

/// Rules from configuration text: `RewriteCond` and `RewriteRule` lines.
fn rules(text: &str) -> Vec<Rule> {
    let mut out = Vec::new();
    let mut conds = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("RewriteCond ") {
            conds.push(parse_cond(&directive("RewriteCond", rest)).unwrap());
        } else if let Some(rest) = line.strip_prefix("RewriteRule ") {
            out.push(
                parse_rule(&directive("RewriteRule", rest), std::mem::take(&mut conds)).unwrap(),
            );
        }
    }
    out
}

const SERVER: Context<'static> = Context {
    perdir: None,
    subrequest: false,
    encoded_qmark: false,
};

fn run(text: &str, uri: &str, query: Option<&str>, fake: &mut Fake) -> Pass {
    apply(&rules(text), SERVER, uri, query, fake).unwrap()
}

#[test]
fn wordpress_front_controller_per_directory() {
    let text = r"
        RewriteRule .* - [E=HTTP_AUTHORIZATION:%{HTTP:Authorization}]
        RewriteRule ^index\.php$ - [L]
        RewriteCond %{REQUEST_FILENAME} !-f
        RewriteCond %{REQUEST_FILENAME} !-d
        RewriteRule . /index.php [L]
    ";
    let ctx = Context {
        perdir: Some("/srv/www/"),
        ..SERVER
    };
    let mut fake = Fake {
        files: vec!["/srv/www/style.css".into()],
        ..Fake::default()
    };
    fake.vars
        .insert("HTTP:Authorization".into(), "Basic eA==".into());
    fake.vars.insert(
        "REQUEST_FILENAME".into(),
        "/srv/www/2026/12/01/hello/".into(),
    );
    let pass = apply(
        &rules(text),
        ctx,
        "/srv/www/2026/12/01/hello/",
        None,
        &mut fake,
    )
    .unwrap();
    assert_eq!(pass.uri, "/index.php");
    assert_eq!(pass.changed, Some(false));
    assert_eq!(
        pass.env,
        vec![(
            "HTTP_AUTHORIZATION".to_string(),
            Some("Basic eA==".to_string())
        )]
    );
    // The redirected request matches ^index\.php$ and stops.
    let again = apply(&rules(text), ctx, "/srv/www/index.php", None, &mut fake).unwrap();
    assert_eq!(again.changed, None);
    // An existing file is left alone.
    fake.vars
        .insert("REQUEST_FILENAME".into(), "/srv/www/style.css".into());
    let file = apply(&rules(text), ctx, "/srv/www/style.css", None, &mut fake).unwrap();
    assert_eq!(file.changed, None);
}

#[test]
fn relative_results_get_the_directory_back() {
    let ctx = Context {
        perdir: Some("/srv/www/app/"),
        ..SERVER
    };
    let pass = apply(
        &rules("RewriteRule ^(.*)$ index.php?q=$1 [QSA,L]"),
        ctx,
        "/srv/www/app/a/b",
        Some("x=1"),
        &mut Fake::default(),
    )
    .unwrap();
    assert_eq!(pass.uri, "/srv/www/app/index.php");
    assert_eq!(pass.query.as_deref(), Some("q=a/b&x=1"));
}

#[test]
fn back_references_conditions_and_or_chains() {
    let mut fake = Fake::default();
    fake.vars
        .insert("HTTP_HOST".into(), "www.Example.org".into());
    let p = run(
        r"
        RewriteCond %{HTTP_HOST} ^www\.(.+)$ [NC]
        RewriteRule ^/(.*)$ http://%1/$1 [R=301,L]
        ",
        "/a b",
        None,
        &mut fake,
    );
    assert_eq!(p.uri, "http://Example.org/a b");
    assert_eq!(p.redirect, Some(301));
    // OR: either condition.
    let text = r"
        RewriteCond %{HTTP_HOST} ^nomatch [OR]
        RewriteCond %{HTTP_HOST} example [NC]
        RewriteRule ^/x$ /y
    ";
    assert_eq!(run(text, "/x", None, &mut fake).uri, "/y");
    fake.vars.insert("HTTP_HOST".into(), "other".into());
    assert_eq!(run(text, "/x", None, &mut fake).changed, None);
    // Negated conditions and comparisons.
    fake.vars.insert("TIME_HOUR".into(), "07".into());
    let text = r"
        RewriteCond %{TIME_HOUR} -lt12
        RewriteCond %{TIME_HOUR} >06
        RewriteCond %{TIME_HOUR} !=08
        RewriteRule ^/morning$ /am
    ";
    assert_eq!(run(text, "/morning", None, &mut fake).uri, "/am");
    fake.vars.insert("TIME_HOUR".into(), "13".into());
    assert_eq!(run(text, "/morning", None, &mut fake).changed, None);
}

#[test]
fn expression_conditions_and_their_back_references() {
    let mut fake = Fake::default();
    fake.vars
        .insert("HTTP_HOST".into(), "shop.example.org".into());
    // The expression's last regex match gives %N; the test string "expr" is not expanded.
    let text = r#"
        RewriteCond expr "%{HTTP_HOST} =~ /^([a-z]+)\.example\.org$/"
        RewriteRule ^/(.*)$ /sites/%1/$1
    "#;
    assert_eq!(run(text, "/a", None, &mut fake).uri, "/sites/shop/a");
    fake.vars.insert("HTTP_HOST".into(), "example.com".into());
    assert_eq!(run(text, "/a", None, &mut fake).changed, None);
    // Negated, and in an OR chain with a plain condition.
    let text = r#"
        RewriteCond expr "%{HTTP_HOST} -strmatch '*.org'" [OR]
        RewriteCond %{HTTP_HOST} ^nomatch
        RewriteCond expr "!(%{HTTP_HOST} == 'example.net')"
        RewriteRule ^/x$ /y
    "#;
    assert_eq!(run(text, "/x", None, &mut fake).changed, None);
    fake.vars.insert("HTTP_HOST".into(), "a.org".into());
    assert_eq!(run(text, "/x", None, &mut fake).uri, "/y");
}

#[test]
fn chains_skips_and_rounds() {
    let mut fake = Fake::default();
    // A failed rule of a chain skips the rest of the chain.
    let text = r"
        RewriteRule ^/a - [C]
        RewriteRule ^(.*)$ /chained
        RewriteRule ^/b(.*)$ /after$1
    ";
    assert_eq!(run(text, "/b1", None, &mut fake).uri, "/after1");
    assert_eq!(run(text, "/a1", None, &mut fake).uri, "/chained");
    // [S=1] skips the next rule.
    let text = r"
        RewriteRule ^/s - [S=1]
        RewriteRule ^ /skipped
        RewriteRule ^/s(.*) /kept$1
    ";
    assert_eq!(run(text, "/s2", None, &mut fake).uri, "/kept2");
    // [N] restarts; a runaway [N] ends with a 500.
    let text = r"
        RewriteRule ^/(.*)-(.*)$ /$1_$2 [N]
    ";
    assert_eq!(run(text, "/a-b-c", None, &mut fake).uri, "/a_b_c");
    let p = run("RewriteRule ^/(.*)$ /x$1 [N=3]", "/y", None, &mut fake);
    assert_eq!(p.status, Some(500));
    // [L] stops; [END] stops and says so.
    let p = run(
        "RewriteRule ^/e$ /f [END]\nRewriteRule ^/f$ /g",
        "/e",
        None,
        &mut fake,
    );
    assert_eq!((p.uri.as_str(), p.end), ("/f", true));
}

#[test]
fn query_strings() {
    let mut fake = Fake::default();
    let p = run(
        "RewriteRule ^/a$ /b?n=1 [QSA]",
        "/a",
        Some("o=2"),
        &mut fake,
    );
    assert_eq!(p.query.as_deref(), Some("n=1&o=2"));
    let p = run("RewriteRule ^/a$ /b?n=1", "/a", Some("o=2"), &mut fake);
    assert_eq!(p.query.as_deref(), Some("n=1"));
    let p = run("RewriteRule ^/a$ /b [QSD]", "/a", Some("o=2"), &mut fake);
    assert_eq!(p.query, None);
    let p = run("RewriteRule ^/a$ /b", "/a", Some("o=2"), &mut fake);
    assert_eq!(p.query.as_deref(), Some("o=2"));
    // A trailing `?` drops the query string.
    let p = run("RewriteRule ^/a$ /b?", "/a", Some("o=2"), &mut fake);
    assert_eq!((p.uri.as_str(), p.query), ("/b", None));
    let p = run("RewriteRule ^/(.*)$ /b?x=$1 [QSL]", "/a?c", None, &mut fake);
    assert_eq!(p.uri, "/b?x=a");
}

#[test]
fn statuses_redirects_proxies_and_reduction() {
    let mut fake = Fake::default();
    assert_eq!(
        run("RewriteRule ^/f - [F]", "/f", None, &mut fake).status,
        Some(403)
    );
    assert_eq!(
        run("RewriteRule ^/g - [G]", "/g", None, &mut fake).status,
        Some(410)
    );
    assert_eq!(
        run("RewriteRule ^/s - [R=404]", "/s", None, &mut fake).status,
        Some(404)
    );
    let p = run("RewriteRule ^/r$ /new [R]", "/r", None, &mut fake);
    assert_eq!(
        (p.uri.as_str(), p.redirect),
        ("http://example.org/new", Some(302))
    );
    let p = run(
        "RewriteRule ^/p/(.*)$ http://127.0.0.1:9/$1 [P]",
        "/p/x",
        None,
        &mut fake,
    );
    assert!(p.proxy);
    assert_eq!(p.uri, "http://127.0.0.1:9/x");
    // A full URL naming this server is reduced to its path.
    let p = run(
        "RewriteRule ^/u$ http://example.org/local",
        "/u",
        None,
        &mut fake,
    );
    assert_eq!((p.uri.as_str(), p.uri_reduced), ("/local", true));
    let p = run(
        "RewriteRule ^/u$ http://other.example/x",
        "/u",
        None,
        &mut fake,
    );
    assert_eq!(p.uri, "http://other.example/x");
    // Substitutions led by a back-reference stay under DocumentRoot.
    assert!(run("RewriteRule ^(.*)$ $1", "/etc/passwd", None, &mut fake).docroot_only);
    assert!(
        !run(
            "RewriteRule ^(.*)$ $1 [UnsafePrefixStat]",
            "/x",
            None,
            &mut fake
        )
        .docroot_only
    );
    assert!(!run("RewriteRule ^/(.*)$ /srv/$1", "/x", None, &mut fake).docroot_only);
    // An encoded `?` may not become a query string.
    let ctx = Context {
        encoded_qmark: true,
        ..SERVER
    };
    let p = apply(
        &rules("RewriteRule ^/(.*)$ /i.php?$1"),
        ctx,
        "/a?b",
        None,
        &mut fake,
    )
    .unwrap();
    assert_eq!(p.status, Some(403));
    let p = apply(
        &rules("RewriteRule ^/(.*)$ /i.php?$1 [UnsafeAllow3F]"),
        ctx,
        "/a?b",
        None,
        &mut fake,
    )
    .unwrap();
    assert_eq!(p.query.as_deref(), Some("a?b"));
}

#[test]
fn maps_variables_escapes_and_flags_that_set_things() {
    let mut fake = Fake::default();
    fake.maps.insert(
        "users".into(),
        HashMap::from([("joe".to_string(), "42".to_string())]),
    );
    let text = "RewriteRule ^/u/(.*)$ /id/${users:$1|unknown}";
    assert_eq!(run(text, "/u/joe", None, &mut fake).uri, "/id/42");
    assert_eq!(run(text, "/u/ann", None, &mut fake).uri, "/id/unknown");
    assert_eq!(
        run("RewriteRule ^/(.*)$ /${nomap:$1}", "/k", None, &mut fake).uri,
        "/"
    );
    // A blocking map stops the pass.
    fake.blocking_maps.push("slow".into());
    assert_eq!(
        apply(
            &rules("RewriteRule ^/(.*)$ /${slow:$1}"),
            SERVER,
            "/k",
            None,
            &mut fake
        ),
        Err(Blocked)
    );
    // Escapes: `\$` is a dollar; [B] escapes back-references.
    assert_eq!(
        run(r"RewriteRule ^/(.*)$ /\$1", "/z", None, &mut fake).uri,
        "/$1"
    );
    let p = run(
        "RewriteRule ^/s/(.*)$ /search?q=$1 [B]",
        "/s/a b&c",
        None,
        &mut fake,
    );
    assert_eq!(p.query.as_deref(), Some("q=a+b%26c"));
    let p = run(
        "RewriteRule ^/s/(.*)$ /search?q=$1 [B,BNP]",
        "/s/a b",
        None,
        &mut fake,
    );
    assert_eq!(p.query.as_deref(), Some("q=a%20b"));
    // E= is seen by later conditions; T=, H=, CO= recorded.
    let text = r"
        RewriteRule ^ - [E=SEEN:yes]
        RewriteCond %{ENV:SEEN} =yes
        RewriteRule ^/t$ /t.txt [T=text/x-Special,H=server-status,CO=c:v:example.org]
    ";
    let p = run(text, "/t", None, &mut fake);
    assert_eq!(p.uri, "/t.txt");
    assert_eq!(p.mime_type.as_deref(), Some("text/x-special"));
    assert_eq!(p.handler.as_deref(), Some("server-status"));
    assert_eq!(p.cookies, vec!["c:v:example.org".to_string()]);
    // Negated rule patterns apply when they do not match, with no groups.
    let p = run("RewriteRule !^/keep /other$1", "/x", None, &mut fake);
    assert_eq!(p.uri, "/other");
    assert_eq!(
        run("RewriteRule !^/keep /other", "/keep", None, &mut fake).changed,
        None
    );
}

#[test]
fn absolute_uri_schemes() {
    assert_eq!(absolute_uri_prefix("http://x"), 7);
    assert_eq!(absolute_uri_prefix("HTTPS://x"), 8);
    assert_eq!(absolute_uri_prefix("mailto:a@b"), 7);
    assert_eq!(absolute_uri_prefix("/http://x"), 0);
    assert_eq!(absolute_uri_prefix("unix:/run/x.sock|http://l/"), 5);
    assert_eq!(absolute_uri_prefix("htt"), 0);
}

proptest! {
    /// Arbitrary rules over arbitrary URLs and variables never panic, and a pass that
    /// was not told to stop leaves a result.
    #[test]
    fn engine_never_panics(
        pattern in "\\PC{0,12}",
        subst in "[-/$%{}:|a-zA-Z0-9?&=\\\\.]{0,24}",
        flags in "\\[(L|N=2|C|S=1|QSA|QSD|B|R|F|NE|END|E=a:b|CO=a:b:c)(,(L|QSA|B|NE|S=1|C))?\\]",
        uri in "/\\PC{0,24}",
        query in proptest::option::of("[a-z=&%?]{0,10}"),
        cond_test in "[%{}A-Z_:$0-9a-z]{0,16}",
        cond_pat in "!?(-f|-d|=x|>a|-lt3|[a-z^$.*]{0,6})",
        perdir in proptest::bool::ANY,
    ) {
        let mut conds = Vec::new();
        if let Ok(c) = parse_cond(&Directive {
            name: "RewriteCond",
            args: vec![cond_test, cond_pat, "[OR]".into()],
            location: Location::new("t", 1),
        }) {
            conds.push(c);
        }
        let Ok(rule) = parse_rule(
            &Directive {
                name: "RewriteRule",
                args: vec![pattern, if subst.is_empty() { "-".into() } else { subst }, flags],
                location: Location::new("t", 1),
            },
            conds,
        ) else {
            return Ok(());
        };
        let rules = vec![rule.clone(), rule];
        let ctx = Context {
            perdir: perdir.then_some("/srv/"),
            ..SERVER
        };
        let mut fake = Fake::default();
        fake.vars.insert("HTTP_HOST".into(), "example.org".into());
        let _ = apply(&rules, ctx, &uri, query.as_deref(), &mut fake);
    }
}
