//! The parser never panics, whatever the text.

mod common;

use proptest::prelude::*;
use rhttpd_config::parse;

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

proptest! {
    #[test]
    fn parser_never_panics(text in "((<|</)?(IfModule|IfDefine|Directory|VirtualHost|Files|Limit|Foo|Define|UnDefine|Listen|KeepAlive|Options|LoadModule|ServerRoot)?[ !>\"'\\\\a-z_.${}:/*]{0,12}>?(\\\\)?\r?\n){0,12}") {
        let _ = parse(&common::opts(leak(text)));
    }

    #[test]
    fn parser_never_panics_on_any_text(text in any::<String>()) {
        let _ = parse(&common::opts(leak(text)));
    }
}
