//! Apache's expression language and regular expressions, sans I/O.
//!
//! [`Pcre`] is the regular expression every rule-bearing directive uses (mod_rewrite,
//! `<If>` `=~`, `RedirectMatch` ...): Perl syntax with back-references and look-around,
//! as Apache's PCRE gives, from the pure-Rust `fancy-regex` (which hands patterns
//! without those features to the `regex` crate's linear-time engine).
//!
//! [`Expr`] is ap_expr (<https://httpd.apache.org/docs/2.4/expr.html>): [`Expr::parse`]
//! reads a boolean expression (`<If>`, `Require expr`, `SetEnvIfExpr`, `Header ...
//! expr=`), [`Expr::parse_string`] a string expression; [`Expr::eval`] and
//! [`Expr::eval_string`] evaluate over a [`Context`] the caller implements for its
//! request. Unknown variables, functions and operators are errors when read, as in
//! Apache, with Apache's messages (`syntax error, unexpected $end`, `Variable 'X' does
//! not exist` ...); callers add their directive's prefix (`Cannot parse condition
//! clause: `). Input is bounded ([`MAX_LENGTH`], [`MAX_DEPTH`], [`MAX_STRING`]) so no
//! expression can exhaust the stack or memory.

mod ast;
mod eval;
pub mod funcs;
mod lexer;
pub mod names;
mod parser;
mod pcre;

use std::fmt;

pub use ast::{BinaryOp, CmpOp, Cond, Regex, UnaryOp, Word};
pub use eval::{Context, Evaluator, FileInfo, MAX_FILE_SIZE};
pub use funcs::Subnet;
pub use pcre::{Groups, Pcre};

/// Longest expression accepted, in bytes.
pub const MAX_LENGTH: usize = 64 * 1024;
/// Deepest nesting of parentheses, `!`, function calls and variables.
pub const MAX_DEPTH: usize = 48;
/// Longest string literal or regex (Apache's scanner buffer).
pub const MAX_STRING: usize = 8192;

/// Why an expression could not be read: Apache's message, without a directive prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    message: String,
}

impl ParseError {
    pub(crate) fn new(message: impl Into<String>) -> ParseError {
        ParseError {
            message: message.into(),
        }
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParseError {}

/// How an expression is read.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Apache's `AP_EXPR_FLAG_RESTRICTED`: no `file()`, `filesize()`, `filemod()` nor
    /// file tests.
    pub restricted: bool,
}

/// A parsed expression, boolean or string, with its source text.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    source: String,
    body: Body,
}

#[derive(Clone, Debug, PartialEq)]
enum Body {
    Bool(Cond),
    Str(Word),
}

fn check_length(src: &str) -> Result<(), ParseError> {
    if src.len() > MAX_LENGTH {
        return Err(ParseError::new("Expression too long"));
    }
    Ok(())
}

impl Expr {
    /// A boolean expression.
    pub fn parse(src: &str) -> Result<Expr, ParseError> {
        Expr::parse_with(src, &Options::default())
    }

    pub fn parse_with(src: &str, opts: &Options) -> Result<Expr, ParseError> {
        check_length(src)?;
        let cond = parser::Parser::new(src, opts)?.parse_cond()?;
        Ok(Expr {
            source: src.to_string(),
            body: Body::Bool(cond),
        })
    }

    /// A string expression: text with `%{VAR}`, `%{func:arg}`, `$N` and escapes.
    pub fn parse_string(src: &str) -> Result<Expr, ParseError> {
        Expr::parse_string_with(src, &Options::default())
    }

    pub fn parse_string_with(src: &str, opts: &Options) -> Result<Expr, ParseError> {
        check_length(src)?;
        let word = lexer::Lexer::new(src, opts).string_body()?;
        Ok(Expr {
            source: src.to_string(),
            body: Body::Str(word),
        })
    }

    /// The expression as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The condition of a boolean expression.
    pub fn cond(&self) -> Option<&Cond> {
        match &self.body {
            Body::Bool(c) => Some(c),
            Body::Str(_) => None,
        }
    }

    /// The word of a string expression.
    pub fn word(&self) -> Option<&Word> {
        match &self.body {
            Body::Str(w) => Some(w),
            Body::Bool(_) => None,
        }
    }

    /// Does the expression read variable `name` (canonical upper case) anywhere?
    /// mod_authz_core asks this of `REMOTE_USER` to know whether to authenticate first.
    pub fn mentions_var(&self, name: &str) -> bool {
        match &self.body {
            Body::Bool(c) => c.mentions_var(name),
            Body::Str(w) => w.mentions_var(name),
        }
    }

    /// True or false; a string expression is true when not empty. The error is
    /// Apache's evaluation message (`Cannot open file X`).
    pub fn eval(&self, ctx: &dyn Context) -> Result<bool, String> {
        self.eval_in(&mut Evaluator::new(ctx))
    }

    /// Evaluate with `evaluator`'s regex groups, leaving in it those of the last match.
    pub fn eval_in(&self, evaluator: &mut Evaluator<'_, dyn Context + '_>) -> Result<bool, String> {
        match &self.body {
            Body::Bool(c) => evaluator.cond(c),
            Body::Str(w) => Ok(!evaluator.word(w)?.is_empty()),
        }
    }

    /// The value of a string expression; a boolean one gives `true` or `false`.
    pub fn eval_string(&self, ctx: &dyn Context) -> Result<String, String> {
        let mut evaluator = Evaluator::new(ctx);
        match &self.body {
            Body::Str(w) => evaluator.word(w),
            Body::Bool(c) => Ok(evaluator.cond(c)?.to_string()),
        }
    }
}

impl fmt::Display for Expr {
    /// The canonical form ([`Expr::parse`] reads it back to the same tree).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.body {
            Body::Bool(c) => write!(f, "{c}"),
            Body::Str(w) => write!(f, "{w}"),
        }
    }
}
