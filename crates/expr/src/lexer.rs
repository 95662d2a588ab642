//! The scanner: Apache's `util_expr_scan.l` as hand-written code. Quoted strings,
//! `%{...}` variables and regexes are read whole here (they have their own states in
//! flex), so the parser sees one token for each.

use crate::ast::{REGEX_DELIMITERS, Word};
use crate::names;
use crate::{MAX_DEPTH, MAX_STRING, Options, ParseError};

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    End,
    True,
    False,
    Digits(String),
    Ident(String),
    /// A quoted string, already split into literal text, variables and back-references.
    Str(Word),
    /// `%{NAME}` or `%{func:arg}`.
    Var(Word),
    Backref(u8),
    /// `/re/flags` or `m#re#flags`: the pattern and whether `i` was given.
    Regex(String, bool),
    /// `-x` (one letter).
    Unary(String),
    /// `-name` (two letters or more, not one of the comparison keywords).
    Binary(String),
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
    In,
    ReMatch,
    ReNoMatch,
    And,
    Or,
    Not,
    Concat,
    LParen,
    RParen,
    LBrace,
    RBrace,
    Comma,
}

impl Tok {
    /// The name bison gives the token in "unexpected X" messages.
    pub(crate) fn describe(&self) -> &'static str {
        match self {
            Tok::End => "$end",
            Tok::True => "T_TRUE",
            Tok::False => "T_FALSE",
            Tok::Digits(_) => "T_DIGIT",
            Tok::Ident(_) => "T_ID",
            Tok::Str(_) => "T_STR_BEGIN",
            Tok::Var(_) => "T_VAR_BEGIN",
            Tok::Backref(_) => "T_REGEX_BACKREF",
            Tok::Regex(_, false) => "T_REGEX",
            Tok::Regex(_, true) => "T_REGEX_I",
            Tok::Unary(_) => "T_OP_UNARY",
            Tok::Binary(_) => "T_OP_BINARY",
            Tok::StrEq => "T_OP_STR_EQ",
            Tok::StrNe => "T_OP_STR_NE",
            Tok::StrLt => "T_OP_STR_LT",
            Tok::StrLe => "T_OP_STR_LE",
            Tok::StrGt => "T_OP_STR_GT",
            Tok::StrGe => "T_OP_STR_GE",
            Tok::IntEq => "T_OP_EQ",
            Tok::IntNe => "T_OP_NE",
            Tok::IntLt => "T_OP_LT",
            Tok::IntLe => "T_OP_LE",
            Tok::IntGt => "T_OP_GT",
            Tok::IntGe => "T_OP_GE",
            Tok::In => "T_OP_IN",
            Tok::ReMatch => "T_OP_REG",
            Tok::ReNoMatch => "T_OP_NRE",
            Tok::And => "T_OP_AND",
            Tok::Or => "T_OP_OR",
            Tok::Not => "T_OP_NOT",
            Tok::Concat => "T_OP_CONCAT",
            Tok::LParen => "'('",
            Tok::RParen => "')'",
            Tok::LBrace => "'{'",
            Tok::RBrace => "'}'",
            Tok::Comma => "','",
        }
    }
}

pub(crate) struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
    opts: &'a Options,
}

fn err<T>(msg: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError::new(msg))
}

fn char_error<T>(prefix: &str, c: u8) -> Result<T, ParseError> {
    if c.is_ascii_graphic() || c == b' ' {
        err(format!("{prefix}'{}'", c as char))
    } else {
        err(format!("{prefix}'\\x{c:02X}'"))
    }
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic()
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Collects the parts of a string: literal bytes and words.
struct Parts {
    words: Vec<Word>,
    text: Vec<u8>,
    len: usize,
}

impl Parts {
    fn new() -> Parts {
        Parts {
            words: Vec::new(),
            text: Vec::new(),
            len: 0,
        }
    }

    fn push_byte(&mut self, b: u8) -> Result<(), ParseError> {
        self.len += 1;
        if self.len >= MAX_STRING {
            return err("String too long");
        }
        self.text.push(b);
        Ok(())
    }

    fn flush(&mut self) {
        if !self.text.is_empty() {
            let text = String::from_utf8_lossy(&self.text).into_owned();
            self.words.push(Word::Literal(text));
            self.text.clear();
        }
    }

    fn push_word(&mut self, w: Word) {
        self.flush();
        self.words.push(w);
    }

    fn finish(mut self) -> Word {
        self.flush();
        let mut words = self.words;
        match words.len() {
            0 => Word::Literal(String::new()),
            1 => words.pop().unwrap_or(Word::Literal(String::new())),
            _ => Word::Concat(words),
        }
    }
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(src: &'a str, opts: &'a Options) -> Lexer<'a> {
        Lexer {
            src: src.as_bytes(),
            pos: 0,
            opts,
        }
    }

    fn peek_at(&self, off: usize) -> Option<u8> {
        self.src.get(self.pos + off).copied()
    }

    fn starts_with(&self, s: &str) -> bool {
        self.src[self.pos..].starts_with(s.as_bytes())
    }

    /// A whole string expression (`AP_EXPR_FLAG_STRING_RESULT`): text up to the end of
    /// input, with variables, back-references and escapes.
    pub(crate) fn string_body(&mut self) -> Result<Word, ParseError> {
        self.string_parts(None, 0)
    }

    /// The next token in expression state.
    pub(crate) fn next(&mut self) -> Result<Tok, ParseError> {
        while let Some(c) = self.peek_at(0) {
            if c == b' ' || c == b'\t' || c == b'\n' {
                self.pos += 1;
            } else {
                break;
            }
        }
        let Some(c) = self.peek_at(0) else {
            return Ok(Tok::End);
        };
        match c {
            b'"' | b'\'' => {
                self.pos += 1;
                let w = self.string_parts(Some(c), 0)?;
                Ok(Tok::Str(w))
            }
            b'%' if self.peek_at(1) == Some(b'{') => {
                self.pos += 2;
                Ok(Tok::Var(self.variable(0)?))
            }
            b'$' if self.peek_at(1).is_some_and(|d| d.is_ascii_digit()) => {
                let n = self.peek_at(1).unwrap_or(b'0') - b'0';
                self.pos += 2;
                Ok(Tok::Backref(n))
            }
            b'/' => {
                self.pos += 1;
                self.regex(b'/')
            }
            b'm' if self
                .peek_at(1)
                .is_some_and(|d| REGEX_DELIMITERS.as_bytes().contains(&d)) =>
            {
                let delim = self.peek_at(1).unwrap_or(b'/');
                self.pos += 2;
                self.regex(delim)
            }
            b'-' if self.peek_at(1).is_some_and(|d| d.is_ascii_digit()) => {
                self.pos += 1;
                Ok(Tok::Digits(format!("-{}", self.digits())))
            }
            b'0'..=b'9' => Ok(Tok::Digits(self.digits())),
            b'-' if self
                .peek_at(1)
                .is_some_and(|d| d.is_ascii_alphabetic() || d == b'_') =>
            {
                self.pos += 1;
                let start = self.pos;
                while self.peek_at(0).is_some_and(is_ident) {
                    self.pos += 1;
                }
                let name = String::from_utf8_lossy(&self.src[start..self.pos]).into_owned();
                Ok(match name.as_str() {
                    "in" => Tok::In,
                    "eq" => Tok::IntEq,
                    "ne" => Tok::IntNe,
                    "lt" => Tok::IntLt,
                    "le" => Tok::IntLe,
                    "gt" => Tok::IntGt,
                    "ge" => Tok::IntGe,
                    _ if name.len() == 1 => Tok::Unary(name),
                    _ => Tok::Binary(name),
                })
            }
            c if is_ident_start(c) => {
                let start = self.pos;
                while self.peek_at(0).is_some_and(is_ident) {
                    self.pos += 1;
                }
                let name = String::from_utf8_lossy(&self.src[start..self.pos]).into_owned();
                Ok(match name.as_str() {
                    "true" => Tok::True,
                    "false" => Tok::False,
                    "and" => Tok::And,
                    "or" => Tok::Or,
                    "not" => Tok::Not,
                    "lt" => Tok::IntLt,
                    "le" => Tok::IntLe,
                    "gt" => Tok::IntGt,
                    "ge" => Tok::IntGe,
                    "ne" => Tok::IntNe,
                    "eq" => Tok::IntEq,
                    "in" => Tok::In,
                    _ => Tok::Ident(name),
                })
            }
            _ => self.operator(c),
        }
    }

    fn operator(&mut self, c: u8) -> Result<Tok, ParseError> {
        let two = [
            ("==", Tok::StrEq),
            ("!=", Tok::StrNe),
            ("<=", Tok::StrLe),
            (">=", Tok::StrGe),
            ("=~", Tok::ReMatch),
            ("!~", Tok::ReNoMatch),
            ("&&", Tok::And),
            ("||", Tok::Or),
        ];
        for (text, tok) in two {
            if self.starts_with(text) {
                self.pos += 2;
                return Ok(tok);
            }
        }
        let tok = match c {
            b'=' => Tok::StrEq,
            b'<' => Tok::StrLt,
            b'>' => Tok::StrGt,
            b'!' => Tok::Not,
            b'.' => Tok::Concat,
            b'(' => Tok::LParen,
            b')' => Tok::RParen,
            b'{' => Tok::LBrace,
            b'}' => Tok::RBrace,
            b',' => Tok::Comma,
            _ => return char_error("Parse error near character ", c),
        };
        self.pos += 1;
        Ok(tok)
    }

    fn digits(&mut self) -> String {
        let start = self.pos;
        while self.peek_at(0).is_some_and(|d| d.is_ascii_digit()) {
            self.pos += 1;
        }
        String::from_utf8_lossy(&self.src[start..self.pos]).into_owned()
    }

    /// A regex body after its opening delimiter, then its flags. There is no escape
    /// for the delimiter (as in Apache): the first one ends the pattern.
    fn regex(&mut self, delim: u8) -> Result<Tok, ParseError> {
        let start = self.pos;
        loop {
            match self.peek_at(0) {
                None => return err("Unterminated regexp"),
                Some(c) if c == delim => break,
                Some(c) if c.is_ascii_control() => {
                    return char_error("Invalid string character ", c);
                }
                Some(_) => self.pos += 1,
            }
            if self.pos - start >= MAX_STRING {
                return err("String too long");
            }
        }
        let pattern = String::from_utf8_lossy(&self.src[start..self.pos]).into_owned();
        self.pos += 1;
        let mut icase = false;
        while let Some(c) = self.peek_at(0) {
            if c == b'i' {
                icase = true;
                self.pos += 1;
            } else if c.is_ascii_alphanumeric() {
                return err("Invalid regexp flag(s)");
            } else {
                break;
            }
        }
        Ok(Tok::Regex(pattern, icase))
    }

    /// One escape sequence after a backslash, as `util_expr_scan.l` reads them.
    fn escape(&mut self, parts: &mut Parts) -> Result<(), ParseError> {
        let Some(c) = self.peek_at(0) else {
            return err("Unterminated string or variable");
        };
        match c {
            b'0'..=b'7' => {
                let start = self.pos;
                while self.pos - start < 3 && self.peek_at(0).is_some_and(|d| d.is_ascii_digit()) {
                    self.pos += 1;
                }
                let digits = &self.src[start..self.pos];
                if digits.iter().any(|d| *d > b'7') {
                    return err("Bad character escape sequence");
                }
                let value = digits
                    .iter()
                    .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
                if value > 255 {
                    return err("Bad character escape sequence");
                }
                parts.push_byte(value as u8)
            }
            b'8' | b'9' => err("Bad character escape sequence"),
            b'x' if self.peek_at(1).is_some_and(|d| d.is_ascii_hexdigit()) => {
                self.pos += 1;
                let mut value = 0u8;
                let start = self.pos;
                while self.pos - start < 2 && self.peek_at(0).is_some_and(|d| d.is_ascii_hexdigit())
                {
                    let d = self.peek_at(0).unwrap_or(b'0');
                    value = value * 16 + (d as char).to_digit(16).unwrap_or(0) as u8;
                    self.pos += 1;
                }
                parts.push_byte(value)
            }
            b'n' | b'r' | b't' | b'b' | b'f' => {
                self.pos += 1;
                parts.push_byte(match c {
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'b' => 0x08,
                    _ => 0x0c,
                })
            }
            c if c.is_ascii_control() => char_error("Invalid string character ", c),
            c => {
                self.pos += 1;
                parts.push_byte(c)
            }
        }
    }

    /// The inside of a quoted string (`quote`), of a `%{func:arg}` argument (`quote`
    /// None, ends before `}`), or a whole string expression (ends at end of input).
    fn string_parts(&mut self, quote: Option<u8>, depth: usize) -> Result<Word, ParseError> {
        let in_vararg = quote.is_none() && depth > 0;
        let mut parts = Parts::new();
        loop {
            let Some(c) = self.peek_at(0) else {
                if quote.is_some() {
                    return err("Unterminated string or variable");
                }
                if in_vararg {
                    return err("Unterminated variable");
                }
                return Ok(parts.finish());
            };
            if Some(c) == quote {
                self.pos += 1;
                return Ok(parts.finish());
            }
            if in_vararg && c == b'}' {
                return Ok(parts.finish());
            }
            match c {
                b'$' if self.peek_at(1).is_some_and(|d| d.is_ascii_digit()) => {
                    let n = self.peek_at(1).unwrap_or(b'0') - b'0';
                    self.pos += 2;
                    parts.push_word(Word::Backref(n));
                }
                b'%' if self.peek_at(1) == Some(b'{') => {
                    self.pos += 2;
                    let var = self.variable(depth + 1)?;
                    parts.push_word(var);
                }
                b'\\' => {
                    self.pos += 1;
                    self.escape(&mut parts)?;
                }
                b'\n' if quote.is_some() || in_vararg => {
                    return err("Unterminated string or variable");
                }
                c if c.is_ascii_control() => {
                    return char_error("Invalid string character ", c);
                }
                c => {
                    self.pos += 1;
                    parts.push_byte(c)?;
                }
            }
        }
    }

    /// After `%{`: `NAME}` or `func:arg}`.
    fn variable(&mut self, depth: usize) -> Result<Word, ParseError> {
        if depth > MAX_DEPTH {
            return err("Expression nested too deeply");
        }
        let start = self.pos;
        if self.peek_at(0).is_some_and(is_ident_start) {
            while self.peek_at(0).is_some_and(is_ident) {
                self.pos += 1;
            }
        }
        let name = String::from_utf8_lossy(&self.src[start..self.pos]).into_owned();
        match self.peek_at(0) {
            None => err("Unterminated variable"),
            Some(b'}') if !name.is_empty() => {
                self.pos += 1;
                names::variable(&name, self.opts).map(Word::Var)
            }
            Some(b':') if !name.is_empty() => {
                self.pos += 1;
                let arg = self.string_parts(None, depth.max(1))?;
                // string_parts stops before the closing brace.
                self.pos += 1;
                let func = names::string_function(&name, self.opts)?;
                Ok(Word::Func(func, Box::new(arg)))
            }
            Some(c) => char_error("Unexpected variable character ", c),
        }
    }
}
