//! The parsed form of an expression, and its canonical source text.
//!
//! `Display` prints an expression in a form [`crate::parse`] reads back to the same tree
//! (the property tests check this): words are joined with `.`, literals are single-quoted
//! with escapes, regexes use the first delimiter their pattern does not contain.

use std::fmt;

use crate::funcs::Subnet;
use crate::pcre::Pcre;

/// A boolean expression (`cond` in Apache's grammar).
#[derive(Clone, Debug, PartialEq)]
pub enum Cond {
    True,
    False,
    Not(Box<Cond>),
    /// `a && b && ...`: evaluated left to right, stops at the first false.
    And(Vec<Cond>),
    /// `a || b || ...`: evaluated left to right, stops at the first true.
    Or(Vec<Cond>),
    Compare(CmpOp, Word, Word),
    /// `-d word`, `-R 'subnet'` ...
    Unary(UnaryOp, Word),
    /// `word -ipmatch 'subnet'`, `word -strmatch word` ...
    Binary(BinaryOp, Word, Word),
    /// `word in { a, b }`.
    In(Word, Vec<Word>),
    /// `word =~ /re/` (`negate`: `!~`).
    Match {
        word: Word,
        regex: Regex,
        negate: bool,
    },
}

/// A string-valued expression (`word`, and the body of a string expression).
#[derive(Clone, Debug, PartialEq)]
pub enum Word {
    /// A number as written (`-?[0-9]+`).
    Digits(String),
    /// Literal text (from a quoted string, or the literal parts of one).
    Literal(String),
    /// `%{NAME}`: the canonical (upper-case) variable name.
    Var(String),
    /// `name(word)` or `%{name:arg}`: the canonical (lower-case) function name.
    Func(String, Box<Word>),
    /// `$0` .. `$9`.
    Backref(u8),
    /// `a . b . c`, and a quoted string with variables in it. Never nested, never
    /// fewer than two parts.
    Concat(Vec<Word>),
}

/// String (`==` ...) and integer (`-eq` ...) comparisons.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    StrEq,
    StrNe,
    StrLt,
    StrLe,
    StrGt,
    StrGe,
    IntEq,
    IntNe,
    IntLt,
    IntLe,
    IntGt,
    IntGe,
}

impl CmpOp {
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::StrEq => "==",
            CmpOp::StrNe => "!=",
            CmpOp::StrLt => "<",
            CmpOp::StrLe => "<=",
            CmpOp::StrGt => ">",
            CmpOp::StrGe => ">=",
            CmpOp::IntEq => "-eq",
            CmpOp::IntNe => "-ne",
            CmpOp::IntLt => "-lt",
            CmpOp::IntLe => "-le",
            CmpOp::IntGt => "-gt",
            CmpOp::IntGe => "-ge",
        }
    }
}

/// Apache's unary operators (`-d -e -f -s -L -h -x -F -U -A -n -z -T -R`).
#[derive(Clone, Debug, PartialEq)]
pub enum UnaryOp {
    /// `-d`: is a directory.
    Dir,
    /// `-e`: exists.
    Exists,
    /// `-f`: is a regular file.
    File,
    /// `-s`: is a regular file with a size above zero.
    NonEmptyFile,
    /// `-L` and `-h`: is a symbolic link (the letter kept for printing).
    Symlink(char),
    /// `-x`: has an execute bit.
    Executable,
    /// `-F`: a file a subrequest finds accessible.
    SubreqFile,
    /// `-U` and `-A`: a URL a subrequest finds accessible.
    SubreqUrl(char),
    /// `-n`: not empty.
    NonEmpty,
    /// `-z`: empty.
    Empty,
    /// `-T`: true unless empty, `0`, `off`, `false` or `no`.
    Truthy,
    /// `-R 'subnet'`: the client address is in the subnet (parsed when read).
    RemoteIn(Subnet),
}

impl UnaryOp {
    pub fn letter(&self) -> char {
        match self {
            UnaryOp::Dir => 'd',
            UnaryOp::Exists => 'e',
            UnaryOp::File => 'f',
            UnaryOp::NonEmptyFile => 's',
            UnaryOp::Symlink(c) | UnaryOp::SubreqUrl(c) => *c,
            UnaryOp::Executable => 'x',
            UnaryOp::SubreqFile => 'F',
            UnaryOp::NonEmpty => 'n',
            UnaryOp::Empty => 'z',
            UnaryOp::Truthy => 'T',
            UnaryOp::RemoteIn(_) => 'R',
        }
    }

    /// Does this operator touch the file system (refused in a restricted context)?
    pub fn touches_files(&self) -> bool {
        matches!(
            self,
            UnaryOp::Dir
                | UnaryOp::Exists
                | UnaryOp::File
                | UnaryOp::NonEmptyFile
                | UnaryOp::Symlink(_)
                | UnaryOp::Executable
        )
    }
}

/// Apache's named binary operators.
#[derive(Clone, Debug, PartialEq)]
pub enum BinaryOp {
    /// `-ipmatch 'subnet'` (the subnet parsed when read).
    IpMatch(Subnet),
    /// `-fnmatch`: shell wildcard where `*` and `?` do not match `/`.
    FnMatch,
    /// `-strmatch`: shell wildcard over the whole string.
    StrMatch,
    /// `-strcmatch`: `-strmatch` ignoring case.
    StrCMatch,
}

impl BinaryOp {
    pub fn name(&self) -> &'static str {
        match self {
            BinaryOp::IpMatch(_) => "ipmatch",
            BinaryOp::FnMatch => "fnmatch",
            BinaryOp::StrMatch => "strmatch",
            BinaryOp::StrCMatch => "strcmatch",
        }
    }
}

/// A compiled `/re/` or `m#re#i`.
#[derive(Clone, Debug, PartialEq)]
pub struct Regex {
    pub pcre: Pcre,
}

impl Regex {
    /// Number of capturing groups (not counting the whole match).
    pub fn subgroups(&self) -> usize {
        self.pcre.group_count().saturating_sub(1)
    }
}

impl Cond {
    /// Does the condition read variable `name` anywhere?
    pub fn mentions_var(&self, name: &str) -> bool {
        match self {
            Cond::True | Cond::False => false,
            Cond::Not(c) => c.mentions_var(name),
            Cond::And(cs) | Cond::Or(cs) => cs.iter().any(|c| c.mentions_var(name)),
            Cond::Compare(_, a, b) | Cond::Binary(_, a, b) => {
                a.mentions_var(name) || b.mentions_var(name)
            }
            Cond::Unary(_, w) | Cond::Match { word: w, .. } => w.mentions_var(name),
            Cond::In(w, list) => w.mentions_var(name) || list.iter().any(|i| i.mentions_var(name)),
        }
    }
}

impl Word {
    /// Does the word read variable `name` anywhere?
    pub fn mentions_var(&self, name: &str) -> bool {
        match self {
            Word::Var(v) => v == name,
            Word::Func(_, arg) => arg.mentions_var(name),
            Word::Concat(parts) => parts.iter().any(|p| p.mentions_var(name)),
            Word::Digits(_) | Word::Literal(_) | Word::Backref(_) => false,
        }
    }
}

/// Characters Apache accepts as regex delimiters after `m`.
pub(crate) const REGEX_DELIMITERS: &str = "/#$%^|?!'\",;:._-";

fn write_literal(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    f.write_str("'")?;
    for c in text.chars() {
        match c {
            '\'' => f.write_str("\\'")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            '$' => f.write_str("\\$")?,
            '%' => f.write_str("\\%")?,
            c if (c as u32) < 0x20 || c as u32 == 0x7f => write!(f, "\\x{:02x}", c as u32)?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("'")
}

impl fmt::Display for Word {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Word::Digits(d) => f.write_str(d),
            Word::Literal(s) => write_literal(f, s),
            Word::Var(name) => write!(f, "%{{{name}}}"),
            Word::Func(name, arg) => write!(f, "{name}({arg})"),
            Word::Backref(n) => write!(f, "${n}"),
            Word::Concat(parts) => {
                for (i, part) in parts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" . ")?;
                    }
                    write!(f, "{part}")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Regex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pattern = self.pcre.as_str();
        let delim = REGEX_DELIMITERS
            .chars()
            .find(|d| !pattern.contains(*d))
            .unwrap_or('/');
        let flags = if self.pcre.case_insensitive() {
            "i"
        } else {
            ""
        };
        if delim == '/' {
            write!(f, "/{pattern}/{flags}")
        } else {
            write!(f, "m{delim}{pattern}{delim}{flags}")
        }
    }
}

impl fmt::Display for Cond {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cond::True => f.write_str("true"),
            Cond::False => f.write_str("false"),
            Cond::Not(c) => write!(f, "!({c})"),
            Cond::And(cs) | Cond::Or(cs) => {
                let op = if matches!(self, Cond::And(_)) {
                    " && "
                } else {
                    " || "
                };
                for (i, c) in cs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(op)?;
                    }
                    write!(f, "({c})")?;
                }
                Ok(())
            }
            Cond::Compare(op, a, b) => write!(f, "{a} {} {b}", op.as_str()),
            Cond::Unary(UnaryOp::RemoteIn(subnet), _) => {
                write!(f, "-R ")?;
                write_literal(f, subnet.as_str())
            }
            Cond::Unary(op, w) => write!(f, "-{} {w}", op.letter()),
            Cond::Binary(BinaryOp::IpMatch(subnet), a, _) => {
                write!(f, "{a} -ipmatch ")?;
                write_literal(f, subnet.as_str())
            }
            Cond::Binary(op, a, b) => write!(f, "{a} -{} {b}", op.name()),
            Cond::In(w, list) => {
                write!(f, "{w} in {{")?;
                for (i, item) in list.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, " {item}")?;
                }
                f.write_str(" }")
            }
            Cond::Match {
                word,
                regex,
                negate,
            } => write!(f, "{word} {} {regex}", if *negate { "!~" } else { "=~" }),
        }
    }
}
