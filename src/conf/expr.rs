//! ap_expr expressions in the configuration: [`ConfExpr`], a parsed expression that
//! remembers where it was written (for Apache's "Evaluation of expression from FILE:LINE
//! failed" lines) and compares by its text, and [`parse`], which turns a syntax error
//! into the directive's AH00526 error with Apache's prefix for that directive.

use std::fmt;
use std::sync::Arc;

use rhttpd_config::{ConfigError, Location};
use rhttpd_expr::Expr;

/// A boolean expression from a directive.
#[derive(Clone)]
pub struct ConfExpr {
    pub expr: Arc<Expr>,
    pub location: Location,
}

impl ConfExpr {
    /// Evaluate over `ctx`; an evaluation error is logged as Apache logs it (at error
    /// level, from `module`) and counts as false.
    pub fn eval_or_log(&self, ctx: &dyn rhttpd_expr::Context, module: &str) -> bool {
        match self.expr.eval(ctx) {
            Ok(v) => v,
            Err(e) => {
                self.log_failure(module, &e);
                false
            }
        }
    }

    pub fn log_failure(&self, module: &str, message: &str) {
        crate::log::log(
            module,
            crate::log::Level::Error,
            None,
            &format!(
                "Evaluation of expression from {}:{} failed: {message}",
                self.location.file.display(),
                self.location.line
            ),
        );
    }
}

impl fmt::Debug for ConfExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConfExpr({:?})", self.expr.source())
    }
}

impl PartialEq for ConfExpr {
    fn eq(&self, other: &Self) -> bool {
        self.expr.source() == other.expr.source()
    }
}

impl Eq for ConfExpr {}

/// Parse boolean expression `src` written at `loc`; `message` words the parser's
/// error as Apache does for this directive (`Cannot parse expression in require line:
/// ...`).
pub(crate) fn parse(
    src: &str,
    loc: &Location,
    message: impl FnOnce(&str) -> String,
) -> Result<ConfExpr, ConfigError> {
    match Expr::parse(src) {
        Ok(e) => Ok(ConfExpr {
            expr: Arc::new(e),
            location: loc.clone(),
        }),
        Err(e) => Err(ConfigError::at(loc, message(e.message()))),
    }
}

/// Parse string expression `src` (`Header set X "expr=%{REMOTE_ADDR}"`).
pub(crate) fn parse_string(
    src: &str,
    loc: &Location,
    message: impl FnOnce(&str) -> String,
) -> Result<ConfExpr, ConfigError> {
    match Expr::parse_string(src) {
        Ok(e) => Ok(ConfExpr {
            expr: Arc::new(e),
            location: loc.clone(),
        }),
        Err(e) => Err(ConfigError::at(loc, message(e.message()))),
    }
}
