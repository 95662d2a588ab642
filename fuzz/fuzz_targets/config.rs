//! The configuration language: the lexer (`logical_lines`, `getword_conf`,
//! `split_words`, `quote`, `resolve_vars`) and the parser (`parse` of an embedded main
//! file against rhttpd's real module table). Input: the text of a configuration file.
//!
//! Invariants: no panic, no hang; logical lines are trimmed, non-empty, not comments,
//! with strictly increasing line numbers within the file; quoted words read back
//! unchanged; without definitions `resolve_vars` leaves a line as it is; every
//! directive the parser returns (but LoadModule and ServerRoot, its own) is in a module
//! table and has an argument count its arity accepts.
//!
//! The parser reads files only for `Include`/`IncludeOptional`: texts that contain
//! "include", or both `${` and "define" (a name built from a variable), are given to
//! the lexer only, and scripts/fuzz.sh runs every target with an empty environment
//! (`${HOME}` would otherwise name a real directory), so a run never walks the file
//! system.
#![no_main]

use std::path::PathBuf;

use libfuzzer_sys::fuzz_target;
use rhttpd_config::lexer::{getword_conf, logical_lines, quote, resolve_vars, split_words};
use rhttpd_config::{Arity, Node, ParseOptions, parse};

fn check_nodes(nodes: &[Node]) {
    for n in nodes {
        match n {
            // The parser's own directives, kept in the tree for later stages.
            Node::Directive(d) if matches!(d.name, "LoadModule" | "ServerRoot") => {
                assert!(!d.args.is_empty());
            }
            Node::Directive(d) => {
                let spec = rhttpd::modules::MODULES
                    .iter()
                    .flat_map(|m| m.directives)
                    .find(|s| s.name == d.name)
                    .unwrap_or_else(|| panic!("{} is in no module table", d.name));
                // As Apache's invoke_cmd: FLAG looks at its first word only, TAKE13
                // takes `a ""` too.
                let ok = match spec.arity {
                    Arity::Flag => d.args.first().is_some_and(|w| {
                        w.eq_ignore_ascii_case("on") || w.eq_ignore_ascii_case("off")
                    }),
                    Arity::Take13 => (1..=3).contains(&d.args.len()),
                    a => a.accepts(d.args.len()),
                };
                assert!(
                    ok,
                    "{} with {} arguments ({:?})",
                    d.name,
                    d.args.len(),
                    spec.arity
                );
            }
            Node::Section(s) => check_nodes(&s.children),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);

    let lines = logical_lines(&text);
    let physical = text.matches('\n').count() + 2;
    let mut last = 0;
    for l in &lines {
        assert!(!l.text.is_empty() && !l.text.starts_with('#'));
        assert_eq!(
            l.text.trim_matches([' ', '\t', '\r', '\n', '\x0b', '\x0c']),
            l.text
        );
        assert!(l.line > last && l.line <= physical, "line numbers");
        last = l.line;
        let words = split_words(&l.text);
        let (first, _) = getword_conf(&l.text);
        assert_eq!(words.first().map(String::as_str).unwrap_or(""), first);
        let quoted = words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ");
        assert_eq!(split_words(&quoted), words, "quoted words read back");
        let (same, _) = resolve_vars(&l.text, |_| None);
        assert_eq!(same, l.text);
    }

    let lower = text.to_ascii_lowercase();
    if lower.contains("include") || (lower.contains("${") && lower.contains("define")) {
        return;
    }
    let opts = ParseOptions {
        file: PathBuf::from("/nonexistent/rhttpd-fuzz/httpd.conf"),
        server_root: PathBuf::from("/nonexistent/rhttpd-fuzz"),
        defines: vec!["FUZZ".to_string()],
        pre_directives: Vec::new(),
        post_directives: Vec::new(),
        modules: rhttpd::modules::MODULES,
        embedded: Some(&text),
    };
    match parse(&opts) {
        Ok(parsed) => check_nodes(&parsed.nodes),
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
