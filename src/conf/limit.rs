//! The methods a `<Limit>` / `<LimitExcept>` section covers, as core.c's
//! `ap_limit_section` computes them: the access-control directives inside (`Require`,
//! `Order`, `Allow`, `Deny`, `Satisfy`) apply to those methods only; everything else
//! inside applies to every method, as in Apache.

/// A set of request methods: finite (`<Limit GET POST>`) or all but a finite set
/// (`<LimitExcept GET>`). Names are case-sensitive, as Apache's method registry is; the
/// lists are kept sorted and without duplicates so that equal sets compare equal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Methods {
    Only(Vec<String>),
    AllBut(Vec<String>),
}

fn normalised(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

impl Methods {
    /// Every method (outside any `<Limit>`).
    pub fn all() -> Methods {
        Methods::AllBut(Vec::new())
    }

    /// Whether a request with `method` is covered. HEAD counts as GET: Apache gives a
    /// HEAD request GET's method number, so `<Limit GET>` covers HEAD too.
    pub fn contains(&self, method: &str) -> bool {
        let m = if method == "HEAD" { "GET" } else { method };
        match self {
            Methods::Only(v) => v.iter().any(|x| x == m),
            Methods::AllBut(v) => !v.iter().any(|x| x == m),
        }
    }

    pub fn is_empty(&self) -> bool {
        matches!(self, Methods::Only(v) if v.is_empty())
    }

    /// The methods both sets cover (a `<Limit>` nested in another).
    pub fn intersect(&self, other: &Methods) -> Methods {
        match (self, other) {
            (Methods::Only(a), Methods::Only(b)) => {
                Methods::Only(a.iter().filter(|m| b.contains(m)).cloned().collect())
            }
            (Methods::Only(a), Methods::AllBut(b)) | (Methods::AllBut(b), Methods::Only(a)) => {
                Methods::Only(a.iter().filter(|m| !b.contains(m)).cloned().collect())
            }
            (Methods::AllBut(a), Methods::AllBut(b)) => {
                Methods::AllBut(normalised(a.iter().chain(b).cloned().collect()))
            }
        }
    }
}

/// The methods of a `<Limit ...>` (`except` false) or `<LimitExcept ...>` section inside
/// a section covering `outer`, or Apache's message for a section it refuses.
pub fn parse(
    name: &str,
    args: &[String],
    except: bool,
    outer: &Methods,
) -> Result<Methods, String> {
    if args.is_empty() {
        return Err(format!("<{name}> directive requires additional arguments"));
    }
    if !except && args.iter().any(|m| m == "TRACE") {
        return Err("TRACE cannot be controlled by <Limit>, see TraceEnable".to_string());
    }
    let listed = normalised(args.to_vec());
    let own = if except {
        Methods::AllBut(listed)
    } else {
        Methods::Only(listed)
    };
    let covered = outer.intersect(&own);
    if covered.is_empty() {
        return Err(format!("<{name}> directive excludes all methods"));
    }
    if covered == *outer {
        return Err(format!(
            "<{name}> directive specifies methods already excluded"
        ));
    }
    Ok(covered)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn limit_and_limit_except() {
        let all = Methods::all();
        let get_post = parse("Limit", &words(&["POST", "GET", "GET"]), false, &all).unwrap();
        assert_eq!(get_post, Methods::Only(words(&["GET", "POST"])));
        assert!(get_post.contains("GET") && get_post.contains("HEAD"));
        assert!(!get_post.contains("PUT") && !get_post.contains("get"));
        let but_get = parse("LimitExcept", &words(&["GET"]), true, &all).unwrap();
        assert!(!but_get.contains("GET") && !but_get.contains("HEAD"));
        assert!(but_get.contains("DELETE") && but_get.contains("PROPFIND"));
    }

    #[test]
    fn apache_s_refusals() {
        let all = Methods::all();
        assert_eq!(
            parse("Limit", &[], false, &all).unwrap_err(),
            "<Limit> directive requires additional arguments"
        );
        assert_eq!(
            parse("Limit", &words(&["TRACE"]), false, &all).unwrap_err(),
            "TRACE cannot be controlled by <Limit>, see TraceEnable"
        );
        assert!(parse("LimitExcept", &words(&["TRACE"]), true, &all).is_ok());
        let get = parse("Limit", &words(&["GET"]), false, &all).unwrap();
        assert_eq!(
            parse("Limit", &words(&["POST"]), false, &get).unwrap_err(),
            "<Limit> directive excludes all methods"
        );
        assert_eq!(
            parse("Limit", &words(&["GET", "POST"]), false, &get).unwrap_err(),
            "<Limit> directive specifies methods already excluded"
        );
        assert_eq!(
            parse("LimitExcept", &words(&["GET"]), true, &get).unwrap_err(),
            "<LimitExcept> directive excludes all methods"
        );
        let but_get = parse("LimitExcept", &words(&["GET"]), true, &all).unwrap();
        let post = parse("Limit", &words(&["POST", "GET"]), false, &but_get).unwrap();
        assert_eq!(post, Methods::Only(words(&["POST"])));
    }

    proptest! {
        /// Parsing never panics, and a nested section covers no method its parent does
        /// not.
        #[test]
        fn nested_sections_only_narrow(
            outer in proptest::collection::vec("[A-Z]{1,6}", 0..4),
            inner in proptest::collection::vec("[A-Za-z]{1,6}", 0..4),
            outer_except: bool,
            inner_except: bool,
            probe in "[A-Z]{1,6}",
        ) {
            let top = parse("Limit", &outer, outer_except, &Methods::all());
            let Ok(top) = top else { return Ok(()) };
            if let Ok(m) = parse("Limit", &inner, inner_except, &top) {
                prop_assert!(!m.contains(&probe) || top.contains(&probe));
                prop_assert!(!m.is_empty());
                prop_assert_ne!(m, top);
            }
        }
    }
}
