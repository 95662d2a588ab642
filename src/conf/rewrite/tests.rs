use super::*;
use proptest::prelude::*;
use rhttpd_config::Location;

fn dir(name: &'static str, args: &[&str]) -> Directive {
    Directive {
        name,
        args: args.iter().map(|s| s.to_string()).collect(),
        location: Location::new("t.conf", 7),
    }
}

fn rule(args: &[&str]) -> Result<Rule, ConfigError> {
    parse_rule(&dir("RewriteRule", args), Vec::new())
}

fn cond(args: &[&str]) -> Result<Cond, ConfigError> {
    parse_cond(&dir("RewriteCond", args))
}

#[test]
fn rule_flags_long_and_short_forms() {
    let r = rule(&[
        "^/(.*)$",
        "/x/$1",
        "[L,R=301,QSA,NC,NE,E=A:b,E=!C,CO=n:v:.example.org,T=text/plain,H=cgi-script,S=2,B,BNP,END,DPI,NS,QSD,QSL,PT,P,F,G,C,N=5,BCTLS,BNE=/,UnsafePrefixStat,UnsafeAllow3F]",
    ])
    .unwrap();
    let f = &r.flags;
    assert!(f.last && f.qs_append && f.nocase && f.noescape && f.end && f.chain);
    assert_eq!(f.redirect, Some(301));
    assert_eq!(f.env, vec!["A:b".to_string(), "!C".to_string()]);
    assert_eq!(f.cookies, vec!["n:v:.example.org".to_string()]);
    assert_eq!(f.mime_type.as_deref(), Some("text/plain"));
    assert_eq!(f.handler.as_deref(), Some("cgi-script"));
    assert_eq!(f.skip, 2);
    assert_eq!(f.next, Some(5));
    assert_eq!(f.escape_backrefs.as_deref(), Some(""));
    assert_eq!(f.backref_never.as_deref(), Some("/"));
    assert!(f.discard_path_info && f.nosubreq && f.qs_discard && f.qs_last);
    assert!(f.passthrough && f.proxy && f.forbidden && f.gone && f.backref_ctls);
    assert!(f.unsafe_prefix_stat && f.unsafe_allow_3f && f.backref_no_plus);
    // [NC] makes the pattern case-insensitive.
    assert!(r.pattern.is_match("/ABC"));
    let long = rule(&[
        "a",
        "b",
        "[last,redirect=permanent,qsappend,nocase,chain,skip=1]",
    ])
    .unwrap();
    assert!(long.flags.last && long.flags.qs_append && long.flags.chain);
    assert_eq!(long.flags.redirect, Some(301));
    assert_eq!(rule(&["a", "b", "[R]"]).unwrap().flags.redirect, Some(302));
    assert_eq!(
        rule(&["a", "b", "[R=seeother]"]).unwrap().flags.redirect,
        Some(303)
    );
    assert_eq!(rule(&["a", "b", "[N]"]).unwrap().flags.next, Some(10_000));
}

#[test]
fn rule_errors_use_apache_wording() {
    let msg = |r: Result<Rule, ConfigError>| r.unwrap_err().message;
    assert_eq!(
        msg(rule(&["^(", "/x"])),
        "RewriteRule: cannot compile regular expression '^('"
    );
    assert_eq!(
        msg(rule(&["a", "b", "[L,XYZ]"])),
        "RewriteRule: unknown flag 'XYZ'"
    );
    assert_eq!(
        msg(rule(&["a", "b", "L"])),
        "RewriteRule: bad flag delimiters"
    );
    assert_eq!(msg(rule(&["a"])), "RewriteRule: bad argument line 'a'");
    assert_eq!(
        msg(rule(&["a", "b", "[L]", "x"])),
        "RewriteRule: bad argument line 'a b [L] x'"
    );
    assert_eq!(
        msg(rule(&["a", "b", "[R=999]"])),
        "RewriteRule: invalid HTTP response code for flag 'R'"
    );
    let e = rule(&["a", "b", "[L]"]);
    assert!(e.is_ok());
    let e = rule(&["(", "b"]).unwrap_err();
    assert_eq!(e.location.unwrap().line, 7);
}

#[test]
fn negated_rules_and_condition_patterns() {
    let r = rule(&["!^/keep", "/other"]).unwrap();
    assert!(r.negate && r.pattern.is_match("/keep"));
    let c = cond(&["%{REQUEST_FILENAME}", "!-f"]).unwrap();
    assert_eq!(c.pattern, CondPattern::File(FileTest::File));
    assert!(c.negate);
    for (p, t) in [
        ("-d", FileTest::Dir),
        ("-s", FileTest::NonEmpty),
        ("-l", FileTest::Symlink),
        ("-L", FileTest::Symlink),
        ("-h", FileTest::Symlink),
        ("-x", FileTest::Executable),
        ("-U", FileTest::UrlExists),
        ("-F", FileTest::FileAccessible),
    ] {
        assert_eq!(cond(&["x", p]).unwrap().pattern, CondPattern::File(t));
    }
    assert_eq!(
        cond(&["x", "-lt12"]).unwrap().pattern,
        CondPattern::Int(Compare::Lt, "12".into())
    );
    let ne = cond(&["x", "-ne3"]).unwrap();
    assert_eq!(ne.pattern, CondPattern::Int(Compare::Eq, "3".into()));
    assert!(ne.negate);
    assert_eq!(
        cond(&["x", ">=b"]).unwrap().pattern,
        CondPattern::Str(Compare::Ge, "b".into())
    );
    assert_eq!(
        cond(&["x", "=\"\""]).unwrap().pattern,
        CondPattern::Str(Compare::Eq, String::new())
    );
    assert_eq!(
        cond(&["x", "<a"]).unwrap().pattern,
        CondPattern::Str(Compare::Lt, "a".into())
    );
    // `-ltestfile`-like text that is no operator stays a regex.
    assert!(matches!(
        cond(&["x", "-zz"]).unwrap().pattern,
        CondPattern::Regex(_)
    ));
    let c = cond(&["%{HTTP_HOST}", "^www\\.", "[NC,OR]"]).unwrap();
    assert!(c.nocase && c.or_next);
    assert!(cond(&["x", "y", "[NV]"]).is_ok());
}

#[test]
fn condition_errors() {
    let msg = |r: Result<Cond, ConfigError>| r.unwrap_err().message;
    assert_eq!(
        msg(cond(&["x", "y", "[FOO]"])),
        "RewriteCond: unknown flag 'FOO'"
    );
    assert_eq!(
        msg(cond(&["x", "(", "[NC]"])),
        "RewriteCond: cannot compile regular expression '('"
    );
    assert_eq!(msg(cond(&["x"])), "RewriteCond: bad argument line 'x'");
    assert_eq!(
        msg(cond(&["expr", "%{HTTP_HOST} =="])),
        "RewriteCond: cannot compile expression \"%{HTTP_HOST} ==\": syntax error, unexpected $end"
    );
    let c = cond(&["expr", "!-f %{REQUEST_FILENAME}", "[OR]"]).unwrap();
    assert!(c.negate && c.or_next);
    assert!(matches!(c.pattern, CondPattern::Expr(_)));
    assert_eq!(
        msg(cond(&["x", "y", "NC"])),
        "RewriteCond: bad flag delimiters"
    );
}

#[test]
fn maps_and_their_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("m.txt");
    std::fs::write(&file, "a b\n").unwrap();
    let root = tmp.path().to_path_buf();
    let resolve = move |p: &str| root.join(p);
    let m = |args: &[&str]| parse_map(&dir("RewriteMap", args), &resolve);
    assert_eq!(
        m(&["m", "txt:m.txt"]).unwrap().source,
        MapSource::Txt(file.clone())
    );
    assert_eq!(
        m(&["m", "rnd:m.txt"]).unwrap().source,
        MapSource::Rnd(file.clone())
    );
    assert_eq!(
        m(&["u", "int:toupper"]).unwrap().source,
        MapSource::Int(IntMap::ToUpper)
    );
    assert_eq!(
        m(&["u", "int:nothing"]).unwrap_err().message,
        "RewriteMap: internal map not found:nothing"
    );
    assert!(
        m(&["m", "txt:missing.txt"])
            .unwrap_err()
            .message
            .starts_with("RewriteMap: file for map m not found:")
    );
    assert!(
        m(&["m", "dbm:x.db"])
            .unwrap_err()
            .message
            .contains("no dbm maps")
    );
    assert_eq!(
        m(&["m", "nonsense"]).unwrap_err().message,
        "RewriteMap: bad map:nonsense"
    );
    assert_eq!(
        m(&["m", "foo:bar"]).unwrap_err().message,
        "RewriteMap: bad map:foo:bar"
    );
    assert!(
        m(&["p", "prg:/nonexistent/prog"])
            .unwrap_err()
            .message
            .starts_with("RewriteMap: map file or program not found:")
    );
    let a = m(&["u", "int:tolower"]).unwrap();
    let b = m(&["u", "int:tolower"]).unwrap();
    assert_ne!(a.id, b.id);
}

#[test]
fn options_accept_apache_s_and_warn_for_no_effect() {
    let mut warnings = Vec::new();
    let o = parse_options(
        &dir(
            "RewriteOptions",
            &[
                "Inherit",
                "MergeBase",
                "AllowNoSlash",
                "LongURLOptimization",
            ],
        ),
        RewriteOptions::default(),
        &mut warnings,
    )
    .unwrap();
    assert!(o.inherit && o.merge_base);
    assert_eq!(warnings.len(), 2);
    let o = parse_options(
        &dir(
            "RewriteOptions",
            &[
                "InheritDownBefore",
                "IgnoreInherit",
                "IgnoreContextInfo",
                "AllowAnyURI",
            ],
        ),
        RewriteOptions::default(),
        &mut warnings,
    )
    .unwrap();
    assert!(o.inherit_down_before && o.inherit_before && o.ignore_inherit);
    assert_eq!(
        parse_options(&dir("RewriteOptions", &["Bogus"]), o, &mut warnings)
            .unwrap_err()
            .message,
        "RewriteOptions: unknown option 'Bogus'"
    );
}

fn host_with(rules: &[&str], opts: &[&str]) -> RewriteHost {
    let mut h = RewriteHost::default();
    let mut w = Vec::new();
    let resolve = |p: &str| PathBuf::from(p);
    host_directive(&mut h, &dir("RewriteEngine", &["on"]), &resolve, &mut w).unwrap();
    if !opts.is_empty() {
        host_directive(&mut h, &dir("RewriteOptions", opts), &resolve, &mut w).unwrap();
    }
    for r in rules {
        host_directive(&mut h, &dir("RewriteRule", &[r, "-"]), &resolve, &mut w).unwrap();
    }
    h
}

fn patterns(rules: &[Rule]) -> Vec<&str> {
    rules.iter().map(|r| r.pattern.as_str()).collect()
}

#[test]
fn virtual_hosts_inherit_only_when_told() {
    let main = host_with(&["main"], &[]);
    assert_eq!(
        patterns(&main.merge_into_vhost(&host_with(&["v"], &[])).rules),
        ["v"]
    );
    assert_eq!(
        patterns(
            &main
                .merge_into_vhost(&host_with(&["v"], &["Inherit"]))
                .rules
        ),
        ["v", "main"]
    );
    assert_eq!(
        patterns(
            &main
                .merge_into_vhost(&host_with(&["v"], &["InheritBefore"]))
                .rules
        ),
        ["main", "v"]
    );
    let down = host_with(&["main"], &["InheritDown"]);
    assert_eq!(
        patterns(&down.merge_into_vhost(&host_with(&["v"], &[])).rules),
        ["v", "main"]
    );
    assert_eq!(
        patterns(
            &down
                .merge_into_vhost(&host_with(&["v"], &["IgnoreInherit"]))
                .rules
        ),
        ["v"]
    );
    // The engine state is inherited when the vhost does not say.
    assert!(main.merge_into_vhost(&RewriteHost::default()).engine_on());
}

fn dir_with(rules: &[&str], opts: &[&str], base: Option<&str>) -> RewriteDir {
    let mut d = RewriteDir::default();
    let mut w = Vec::new();
    dir_directive(&mut d, &dir("RewriteEngine", &["on"]), &mut w).unwrap();
    if !opts.is_empty() {
        dir_directive(&mut d, &dir("RewriteOptions", opts), &mut w).unwrap();
    }
    if let Some(b) = base {
        dir_directive(&mut d, &dir("RewriteBase", &[b]), &mut w).unwrap();
    }
    for r in rules {
        dir_directive(&mut d, &dir("RewriteRule", &[r, "-"]), &mut w).unwrap();
    }
    d
}

#[test]
fn per_directory_merge_is_apache_s() {
    let mut parent = dir_with(&["p"], &[], Some("/base/"));
    parent.directory = Some("/srv/www".into());
    // A section without rewrite directives leaves the parent's in force, directory too.
    let silent = RewriteDir {
        directory: Some("/srv/www/sub".into()),
        ..RewriteDir::default()
    };
    let m = parent.merge(&silent);
    assert_eq!(patterns(&m.rules), ["p"]);
    assert_eq!(m.directory.as_deref(), Some("/srv/www"));
    // One with rewrite directives replaces the parent's rules (and base).
    let mut child = dir_with(&["c"], &[], None);
    child.directory = Some("/srv/www/sub".into());
    let m = parent.merge(&child);
    assert_eq!(patterns(&m.rules), ["c"]);
    assert_eq!(m.directory.as_deref(), Some("/srv/www/sub"));
    assert_eq!(m.base, None);
    let m = parent.merge(&dir_with(&["c"], &["Inherit"], None));
    assert_eq!(patterns(&m.rules), ["c", "p"]);
    let m = parent.merge(&dir_with(&["c"], &["InheritBefore", "MergeBase"], None));
    assert_eq!(patterns(&m.rules), ["p", "c"]);
    assert_eq!(m.base.as_deref(), Some("/base/"));
}

#[test]
fn rewrite_base_and_map_contexts() {
    let mut w = Vec::new();
    let mut h = RewriteHost::default();
    let resolve = |p: &str| PathBuf::from(p);
    assert_eq!(
        host_directive(&mut h, &dir("RewriteBase", &["/x"]), &resolve, &mut w)
            .unwrap_err()
            .message,
        "RewriteBase: only valid in per-directory config files"
    );
    let mut d = RewriteDir::default();
    assert_eq!(
        dir_directive(&mut d, &dir("RewriteBase", &["x"]), &mut w)
            .unwrap_err()
            .message,
        "RewriteBase: argument is not a valid URL"
    );
    assert!(dir_directive(&mut d, &dir("RewriteMap", &["m", "int:toupper"]), &mut w).is_err());
    // Conditions wait for their rule.
    dir_directive(&mut d, &dir("RewriteCond", &["%{HTTPS}", "off"]), &mut w).unwrap();
    assert!(d.dangling_conds());
    dir_directive(&mut d, &dir("RewriteRule", &["^", "-"]), &mut w).unwrap();
    assert!(!d.dangling_conds());
    assert_eq!(d.rules[0].conds.len(), 1);
}

proptest! {
    #[test]
    fn parsing_never_panics(a in "\\PC{0,40}", b in "\\PC{0,20}", c in "\\PC{0,30}") {
        let _ = rule(&[&a, &b, &c]);
        let _ = rule(&[&a, &b]);
        let _ = cond(&[&a, &b, &c]);
        let _ = cond(&[&b, &a]);
        let mut w = Vec::new();
        let _ = parse_options(&dir("RewriteOptions", &[&a]), RewriteOptions::default(), &mut w);
        let resolve = |p: &str| PathBuf::from("/nonexistent").join(p);
        let _ = parse_map(&dir("RewriteMap", &[&a, &b]), &resolve);
    }

    #[test]
    fn flag_lists_round_trip(flags in proptest::collection::vec(
        prop_oneof![Just("L"), Just("QSA"), Just("NC"), Just("R=301"), Just("S=1"), Just("E=X:y"), Just("END")], 1..6)) {
        let text = format!("[{}]", flags.join(","));
        let r = rule(&["^/x", "/y", &text]).unwrap();
        prop_assert_eq!(r.flags.last, flags.contains(&"L"));
        prop_assert_eq!(r.flags.qs_append, flags.contains(&"QSA"));
        prop_assert_eq!(r.flags.end, flags.contains(&"END"));
        prop_assert_eq!(r.flags.redirect.is_some(), flags.contains(&"R=301"));
    }
}
