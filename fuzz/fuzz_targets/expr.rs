//! ap_expr (`rhttpd_expr::Expr`): boolean and string expressions. Input: one control
//! byte (bit 0: string expression, bit 1: restricted), then the text.
//!
//! Invariants: no panic in parsing or evaluation; a parsed boolean expression's
//! canonical form parses back to the same tree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rhttpd_expr::{Context, Expr, Options};

struct Fixed;

impl Context for Fixed {
    fn var(&self, name: &str) -> Option<String> {
        Some(format!("{name}/x.html"))
    }
    fn function(&self, _name: &str, arg: &str) -> Option<String> {
        Some(arg.to_ascii_uppercase())
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let Ok(src) = std::str::from_utf8(rest) else {
        return;
    };
    let opts = Options {
        restricted: control & 2 != 0,
    };
    if control & 1 != 0 {
        if let Ok(e) = Expr::parse_string_with(src, &opts) {
            let _ = e.eval_string(&Fixed);
        }
    } else if let Ok(e) = Expr::parse_with(src, &opts) {
        let _ = e.eval(&Fixed);
        let again = Expr::parse_with(&e.to_string(), &opts).expect("canonical form parses");
        assert_eq!(e.cond(), again.cond());
    }
});
