//! mod_proxy_balancer's parsers of client input and configuration values: the sticky
//! session cookie (`proxy_balancer::cookie_param`) and URL parameter (`path_param`), the
//! balancer-manager's form (`balancer_manager::form_pairs`) and size column
//! (`strfsize`), `status=` letters and the balancer parameters (`conf::balancer`).
//! Input: one control byte (which parser), then the bytes (a NUL splits two strings).
//!
//! Invariants: no panic; a cookie value never holds `;` or `,`; a URL value is not
//! empty, holds no `?`/`&` (nor `;` with scolonpathdelim) and follows `name=` in the
//! URL; the form has at most one pair per `&`-separated part; sizes are four
//! characters; `status=` sets only known bits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rhttpd::conf::balancer::{BalancerParams, parse_status, set_balancer_param, status};
use rhttpd::modules::balancer_manager::{form_pairs, strfsize};
use rhttpd::modules::proxy_balancer::{cookie_param, path_param};

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let (a, b) = text.split_once('\0').unwrap_or((&text, "JSESSIONID"));
    match control % 5 {
        0 => {
            if let Some(v) = cookie_param(a, b) {
                assert!(!v.contains(';') && !v.contains(','), "{v:?}");
            }
        }
        1 => {
            let scolon = control & 0x80 != 0;
            if let Some(v) = path_param(a, b, scolon) {
                assert!(!v.is_empty() && !v.contains('?') && !v.contains('&'));
                assert!(!scolon || !v.contains(';'));
                assert!(a.contains(&format!("{b}={v}")));
            }
        }
        2 => {
            let pairs = form_pairs(&text);
            assert!(pairs.len() <= text.matches('&').count() + 1);
        }
        3 => {
            let mut n = [0u8; 8];
            for (i, x) in rest.iter().take(8).enumerate() {
                n[i] = *x;
            }
            assert_eq!(strfsize(u64::from_le_bytes(n)).chars().count(), 4);
        }
        _ => {
            let known = status::LETTERS.iter().fold(0, |acc, (_, bit)| acc | bit);
            if let Ok(bits) = parse_status(0, a) {
                assert_eq!(bits & !known, 0);
            }
            let mut p = BalancerParams::default();
            let loaded = ["lbmethod_byrequests_module", "lbmethod_bytraffic_module"];
            let _ = set_balancer_param(&mut p, a, b, &loaded);
        }
    }
});
