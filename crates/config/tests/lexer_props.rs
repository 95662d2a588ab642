//! Property tests for the lexer.

use proptest::prelude::*;
use rhttpd_config::lexer::{getword_conf, logical_lines, quote, resolve_vars, split_words};

proptest! {
    #[test]
    fn never_panics(text in any::<String>()) {
        for l in logical_lines(&text) {
            let _ = split_words(&l.text);
            let _ = getword_conf(&l.text);
            let _ = resolve_vars(&l.text, |n| (n.len() % 2 == 0).then(|| n.to_string()));
        }
    }

    #[test]
    fn never_panics_on_config_like_text(text in "[<>/\"'\\\\ \t\r\n#${}a-c!*?\\[\\]]{0,80}") {
        for l in logical_lines(&text) {
            prop_assert!(!l.text.is_empty() && !l.text.starts_with('#'));
            let _ = split_words(&l.text);
            let _ = resolve_vars(&l.text, |_| None);
        }
    }

    #[test]
    fn quoted_arguments_round_trip(args in prop::collection::vec("[^\n\r]{0,12}", 0..6)) {
        let line = args.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ");
        prop_assert_eq!(split_words(&line), args);
    }

    #[test]
    fn bare_words_round_trip(args in prop::collection::vec("[a-zA-Z0-9/._:=-]{1,10}", 0..6)) {
        prop_assert_eq!(split_words(&args.join(" \t ")), args);
    }

    #[test]
    fn continuation_joins(parts in prop::collection::vec("[a-z ]{0,8}[a-z]", 1..5), crlf in any::<bool>()) {
        let nl = if crlf { "\r\n" } else { "\n" };
        let text = format!("{}{nl}Next{nl}", parts.join(&format!("\\{nl}")));
        let lines = logical_lines(&text);
        let joined = parts.concat();
        let joined = joined.trim();
        let mut expect = Vec::new();
        if !joined.is_empty() {
            expect.push((joined.to_string(), parts.len()));
        }
        expect.push(("Next".to_string(), parts.len() + 1));
        let got: Vec<(String, usize)> = lines.into_iter().map(|l| (l.text, l.line)).collect();
        prop_assert_eq!(got, expect);
    }
}
