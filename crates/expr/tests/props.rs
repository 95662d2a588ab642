//! Property tests: no input panics the parser or evaluator; the canonical form reads
//! back to the same tree; random boolean trees evaluate as a plain model says.

use proptest::prelude::*;
use rhttpd_expr::{Context, Expr};

struct Empty;

impl Context for Empty {
    fn var(&self, name: &str) -> Option<String> {
        Some(format!("v-{name}"))
    }
    fn function(&self, _name: &str, arg: &str) -> Option<String> {
        Some(arg.to_string())
    }
}

/// Pieces expressions are made of, so random text often gets deep into the grammar.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("true".to_string()),
        Just("false".to_string()),
        Just(" && ".to_string()),
        Just(" || ".to_string()),
        Just("!".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just(" == ".to_string()),
        Just(" -eq ".to_string()),
        Just(" =~ ".to_string()),
        Just(" in ".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just(",".to_string()),
        Just(" . ".to_string()),
        Just("%{REQUEST_URI}".to_string()),
        Just("%{req:".to_string()),
        Just("%{".to_string()),
        Just("}".to_string()),
        Just("'".to_string()),
        Just("\"".to_string()),
        Just("\\".to_string()),
        Just("$1".to_string()),
        Just("/(a)/".to_string()),
        Just("m#x#i".to_string()),
        Just("-f ".to_string()),
        Just("-R '10/8'".to_string()),
        Just(" -strmatch ".to_string()),
        Just("tolower(".to_string()),
        Just("md5(".to_string()),
        "[a-z0-9 ]{0,3}",
        any::<char>().prop_map(|c| c.to_string()),
    ]
}

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(fragment(), 0..24).prop_map(|v| v.concat())
}

/// A boolean tree and its plain meaning.
#[derive(Clone, Debug)]
enum Model {
    T,
    F,
    Not(Box<Model>),
    And(Box<Model>, Box<Model>),
    Or(Box<Model>, Box<Model>),
    /// `'a' == 'b'` over short literals.
    Eq(String, String),
    /// `n -lt m`.
    Lt(i32, i32),
    /// `'x' in { ... }`.
    In(String, Vec<String>),
}

impl Model {
    fn value(&self) -> bool {
        match self {
            Model::T => true,
            Model::F => false,
            Model::Not(m) => !m.value(),
            Model::And(a, b) => a.value() && b.value(),
            Model::Or(a, b) => a.value() || b.value(),
            Model::Eq(a, b) => a == b,
            Model::Lt(a, b) => a < b,
            Model::In(x, list) => list.contains(x),
        }
    }

    fn source(&self) -> String {
        match self {
            Model::T => "true".into(),
            Model::F => "false".into(),
            Model::Not(m) => format!("!{}", m.source()),
            Model::And(a, b) => format!("({} && {})", a.source(), b.source()),
            Model::Or(a, b) => format!("({} || {})", a.source(), b.source()),
            Model::Eq(a, b) => format!("'{a}' == \"{b}\""),
            Model::Lt(a, b) => format!("{a} -lt {b}"),
            Model::In(x, list) => {
                let items: Vec<String> = list.iter().map(|i| format!("'{i}'")).collect();
                format!("'{x}' in {{{}}}", items.join(", "))
            }
        }
    }
}

fn model() -> impl Strategy<Value = Model> {
    let leaf = prop_oneof![
        Just(Model::T),
        Just(Model::F),
        ("[ab]{0,2}", "[ab]{0,2}").prop_map(|(a, b)| Model::Eq(a, b)),
        (-3i32..3, -3i32..3).prop_map(|(a, b)| Model::Lt(a, b)),
        ("[ab]", prop::collection::vec("[abc]", 1..4)).prop_map(|(x, l)| Model::In(x, l)),
    ];
    leaf.prop_recursive(8, 64, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|m| Model::Not(Box::new(m))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Model::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner).prop_map(|(a, b)| Model::Or(Box::new(a), Box::new(b))),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(src in soup()) {
        if let Ok(e) = Expr::parse(&src) {
            let _ = e.eval(&Empty);
            // Whatever parses has a canonical form that reads back to the same tree.
            let again = Expr::parse(&e.to_string());
            prop_assert!(again.is_ok(), "{} -> {}: {:?}", src, e, again);
            let again = again.unwrap();
            prop_assert_eq!(e.cond(), again.cond());
        }
        if let Ok(e) = Expr::parse_string(&src) {
            let _ = e.eval_string(&Empty);
        }
    }

    #[test]
    fn arbitrary_unicode_never_panics(src in ".{0,64}") {
        let _ = Expr::parse(&src).map(|e| e.eval(&Empty));
        let _ = Expr::parse_string(&src).map(|e| e.eval_string(&Empty));
    }

    #[test]
    fn evaluator_agrees_with_the_model(m in model()) {
        let src = m.source();
        let e = Expr::parse(&src).map_err(|e| TestCaseError::fail(format!("{src}: {e}")))?;
        prop_assert_eq!(e.eval(&Empty), Ok(m.value()), "{}", src);
        let again = Expr::parse(&e.to_string()).unwrap();
        prop_assert_eq!(again.eval(&Empty), Ok(m.value()), "{}", e);
    }

    #[test]
    fn literals_round_trip(text in "[ -~\t\n]{0,40}") {
        // Any printable text (plus tab and newline, escaped) survives printing.
        let w = rhttpd_expr::Word::Literal(text.clone());
        let src = format!("{w} == ''");
        let e = Expr::parse(&src).map_err(|e| TestCaseError::fail(format!("{src}: {e}")))?;
        match e.cond() {
            Some(rhttpd_expr::Cond::Compare(_, rhttpd_expr::Word::Literal(t), _)) => prop_assert_eq!(t, &text),
            other => prop_assert!(false, "{:?}", other),
        }
    }
}
