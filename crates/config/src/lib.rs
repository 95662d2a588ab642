//! Apache httpd's configuration language.
//!
//! [`parse`] reads a main file (plus `-C`/`-c` directives), follows `Include` and
//! `IncludeOptional` (globs, cycle detection), evaluates `Define`/`UnDefine`/`${VAR}`,
//! `<IfDefine>`, `<IfModule>`, `<IfFile>`, `<IfDirective>`, `<IfSection>`, `<IfVersion>` and
//! `LoadModule`, and checks every directive against the
//! tables of the modules it was given: unknown names, wrong contexts and wrong argument
//! counts are reported as Apache reports them (`AH00526: Syntax error on line N of FILE:`).
//! What a directive *means* is left to the modules that own it.

mod check;
pub mod conditions;
mod include;
pub mod lexer;
mod parser;
mod types;

pub use parser::{COMMAND_LINE_FILE, parse, parse_htaccess};
pub use types::*;
