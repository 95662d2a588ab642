//! The `Accept`, `Accept-Language`, `Accept-Charset` and `Accept-Encoding` request
//! headers as mod_negotiation reads them (`do_header_line`, `get_entry`): a comma-
//! separated list of names with `;param=value` parameters, names lower-cased, `q`
//! read like C's `atof` (junk is 0, a missing one is 1), `level` for media types.
//! Nothing is rejected: a malformed element is kept as well as it parses, an empty
//! one is skipped.

/// One element of an Accept-style header.
#[derive(Clone, Debug, PartialEq)]
pub struct AcceptItem {
    /// Lower case; a bare `*` in Accept stands for `*/*`.
    pub name: String,
    pub quality: f32,
    /// The media type's `level` parameter (0 when absent).
    pub level: f32,
}

/// A parsed header: its items and whether any of them is worth less than 1 (an
/// explicit `q=1` does not count, as in Apache).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AcceptList {
    pub items: Vec<AcceptItem>,
    pub explicit_q: bool,
}

/// Parse one header value (several header lines are joined with `,` first).
pub fn parse(value: &str, media_types: bool) -> AcceptList {
    let mut list = AcceptList::default();
    for element in value.split(',') {
        let mut parts = element.split(';');
        let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        if name.is_empty() {
            continue;
        }
        let name = if media_types && name == "*" {
            "*/*".to_string()
        } else {
            name
        };
        let mut item = AcceptItem {
            name,
            quality: 1.0,
            level: 0.0,
        };
        for param in parts {
            let (key, val) = param.split_once('=').unwrap_or((param, ""));
            let key = key.trim().to_ascii_lowercase();
            let val = val.trim().trim_matches('"');
            match key.as_str() {
                // `get_entry` reads `qs` as `q` too.
                "q" | "qs" => item.quality = atof(val).clamp(0.0, 1.0),
                "level" if media_types => item.level = atof(val),
                _ => {}
            }
        }
        // Apache's `accept_q`: some element is worth less than 1.
        list.explicit_q |= item.quality < 1.0;
        list.items.push(item);
    }
    list
}

/// C's `atof` on what Apache reads: the longest prefix that is a decimal number,
/// 0 when there is none.
pub fn atof(s: &str) -> f32 {
    let s = s.trim_start();
    let bytes = s.as_bytes();
    let mut end = 0;
    if end < bytes.len() && (bytes[end] == b'+' || bytes[end] == b'-') {
        end += 1;
    }
    let digits_start = end;
    while end < bytes.len() && bytes[end].is_ascii_digit() {
        end += 1;
    }
    if end < bytes.len() && bytes[end] == b'.' {
        end += 1;
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
    }
    if end == digits_start || s[digits_start..end] == *"." {
        return 0.0;
    }
    s[..end].parse::<f32>().unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn qualities_levels_and_case() {
        let l = parse("Text/HTML;level=2;q=0.5, text/*;q=.3, *", true);
        assert!(l.explicit_q);
        assert_eq!(l.items.len(), 3);
        assert_eq!(l.items[0].name, "text/html");
        assert_eq!(l.items[0].quality, 0.5);
        assert_eq!(l.items[0].level, 2.0);
        assert_eq!(l.items[1].quality, 0.3);
        assert_eq!(l.items[2].name, "*/*");
        assert_eq!(l.items[2].quality, 1.0);
        let l = parse("en-US, fr;q=0.8, ,de;q=junk", false);
        assert_eq!(l.items.len(), 3);
        assert_eq!(l.items[0].name, "en-us");
        assert_eq!(l.items[2].quality, 0.0);
        assert!(!parse("fr, de", false).explicit_q);
        assert!(!parse("text/html;q=1, */*", true).explicit_q);
        assert_eq!(parse("fr;q=7", false).items[0].quality, 1.0);
    }

    #[test]
    fn atof_reads_a_prefix() {
        assert_eq!(atof("0.5xyz"), 0.5);
        assert_eq!(atof("1"), 1.0);
        assert_eq!(atof(".25"), 0.25);
        assert_eq!(atof(""), 0.0);
        assert_eq!(atof("."), 0.0);
        assert_eq!(atof("-"), 0.0);
        assert_eq!(atof("x1"), 0.0);
    }

    proptest! {
        #[test]
        fn any_header_parses(value in "\\PC{0,80}", media in any::<bool>()) {
            let l = parse(&value, media);
            for item in &l.items {
                prop_assert!(!item.name.is_empty());
                prop_assert!((0.0..=1.0).contains(&item.quality));
            }
        }
    }
}
