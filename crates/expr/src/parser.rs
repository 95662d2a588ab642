//! Recursive descent over Apache 2.4's `util_expr_parse.y` grammar.
//!
//! The one ambiguity of the grammar, `(` opening either a condition or a word, is
//! resolved without backtracking: what follows `(` is read as a condition that may turn
//! out to be a bare word ([`Item::Word`]), and a word is then only accepted where the
//! grammar wants one. Nesting is bounded by [`MAX_DEPTH`].

use crate::ast::{BinaryOp, CmpOp, Cond, Regex, UnaryOp, Word};
use crate::funcs::Subnet;
use crate::lexer::{Lexer, Tok};
use crate::names;
use crate::pcre::Pcre;
use crate::{MAX_DEPTH, Options, ParseError};

/// A condition, or a word found where a condition could have been.
enum Item {
    Cond(Cond),
    Word(Word),
}

pub(crate) struct Parser<'a> {
    lexer: Lexer<'a>,
    tok: Tok,
    depth: usize,
    opts: &'a Options,
}

fn unexpected<T>(tok: &Tok) -> Result<T, ParseError> {
    Err(ParseError::new(format!(
        "syntax error, unexpected {}",
        tok.describe()
    )))
}

fn unexpected_expecting<T>(tok: &Tok, what: &str) -> Result<T, ParseError> {
    Err(ParseError::new(format!(
        "syntax error, unexpected {}, expecting {what}",
        tok.describe()
    )))
}

fn concat(a: Word, b: Word) -> Word {
    let mut parts = Vec::new();
    for w in [a, b] {
        match w {
            Word::Concat(inner) => parts.extend(inner),
            other => parts.push(other),
        }
    }
    Word::Concat(parts)
}

impl<'a> Parser<'a> {
    pub(crate) fn new(src: &'a str, opts: &'a Options) -> Result<Parser<'a>, ParseError> {
        let mut lexer = Lexer::new(src, opts);
        let tok = lexer.next()?;
        Ok(Parser {
            lexer,
            tok,
            depth: 0,
            opts,
        })
    }

    fn bump(&mut self) -> Result<Tok, ParseError> {
        let next = self.lexer.next()?;
        Ok(std::mem::replace(&mut self.tok, next))
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError::new("Expression nested too deeply"));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// A whole boolean expression.
    pub(crate) fn parse_cond(mut self) -> Result<Cond, ParseError> {
        let cond = match self.or()? {
            Item::Cond(c) => c,
            Item::Word(_) => return unexpected(&self.tok),
        };
        if self.tok != Tok::End {
            return unexpected(&self.tok);
        }
        Ok(cond)
    }

    fn want_cond(&self, item: Item) -> Result<Cond, ParseError> {
        match item {
            Item::Cond(c) => Ok(c),
            Item::Word(_) => unexpected(&self.tok),
        }
    }

    fn or(&mut self) -> Result<Item, ParseError> {
        let first = self.and()?;
        if self.tok != Tok::Or {
            return Ok(first);
        }
        let mut all = vec![self.want_cond(first)?];
        while self.tok == Tok::Or {
            self.bump()?;
            let next = self.and()?;
            match self.want_cond(next)? {
                Cond::Or(inner) => all.extend(inner),
                c => all.push(c),
            }
        }
        Ok(Item::Cond(Cond::Or(all)))
    }

    fn and(&mut self) -> Result<Item, ParseError> {
        let first = self.not()?;
        if self.tok != Tok::And {
            return Ok(first);
        }
        let mut all = vec![self.want_cond(first)?];
        while self.tok == Tok::And {
            self.bump()?;
            let next = self.not()?;
            match self.want_cond(next)? {
                Cond::And(inner) => all.extend(inner),
                c => all.push(c),
            }
        }
        Ok(Item::Cond(Cond::And(all)))
    }

    fn not(&mut self) -> Result<Item, ParseError> {
        if self.tok == Tok::Not {
            self.bump()?;
            self.enter()?;
            let inner = self.not()?;
            self.leave();
            let c = self.want_cond(inner)?;
            return Ok(Item::Cond(Cond::Not(Box::new(c))));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Item, ParseError> {
        match &self.tok {
            Tok::True => {
                self.bump()?;
                Ok(Item::Cond(Cond::True))
            }
            Tok::False => {
                self.bump()?;
                Ok(Item::Cond(Cond::False))
            }
            Tok::Unary(_) => {
                let Tok::Unary(name) = self.bump()? else {
                    return unexpected(&self.tok);
                };
                let word = self.word()?;
                self.unary(&name, word).map(Item::Cond)
            }
            Tok::LParen => {
                self.bump()?;
                self.enter()?;
                let inner = self.or()?;
                self.leave();
                if self.tok != Tok::RParen {
                    return unexpected(&self.tok);
                }
                self.bump()?;
                match inner {
                    Item::Cond(c) => Ok(Item::Cond(c)),
                    Item::Word(w) => {
                        let w = self.concat_tail(w)?;
                        self.comparison(w)
                    }
                }
            }
            _ => {
                let w = self.word()?;
                self.comparison(w)
            }
        }
    }

    /// After a word where a condition may be: a comparison, or the word itself.
    fn comparison(&mut self, left: Word) -> Result<Item, ParseError> {
        let op = match &self.tok {
            Tok::StrEq => CmpOp::StrEq,
            Tok::StrNe => CmpOp::StrNe,
            Tok::StrLt => CmpOp::StrLt,
            Tok::StrLe => CmpOp::StrLe,
            Tok::StrGt => CmpOp::StrGt,
            Tok::StrGe => CmpOp::StrGe,
            Tok::IntEq => CmpOp::IntEq,
            Tok::IntNe => CmpOp::IntNe,
            Tok::IntLt => CmpOp::IntLt,
            Tok::IntLe => CmpOp::IntLe,
            Tok::IntGt => CmpOp::IntGt,
            Tok::IntGe => CmpOp::IntGe,
            Tok::ReMatch | Tok::ReNoMatch => {
                let negate = self.bump()? == Tok::ReNoMatch;
                let regex = self.regex()?;
                return Ok(Item::Cond(Cond::Match {
                    word: left,
                    regex,
                    negate,
                }));
            }
            Tok::In => {
                self.bump()?;
                let list = self.list()?;
                return Ok(Item::Cond(Cond::In(left, list)));
            }
            Tok::Binary(_) => {
                let Tok::Binary(name) = self.bump()? else {
                    return unexpected(&self.tok);
                };
                let right = self.word()?;
                return self.binary(&name, left, right).map(Item::Cond);
            }
            _ => return Ok(Item::Word(left)),
        };
        self.bump()?;
        let right = self.word()?;
        Ok(Item::Cond(Cond::Compare(op, left, right)))
    }

    fn regex(&mut self) -> Result<Regex, ParseError> {
        let Tok::Regex(pattern, icase) = &self.tok else {
            return unexpected_expecting(&self.tok, "T_REGEX or T_REGEX_I");
        };
        let pcre = Pcre::new(pattern, *icase)
            .map_err(|_| ParseError::new("Failed to compile regular expression"))?;
        self.bump()?;
        Ok(Regex { pcre })
    }

    /// `{ word, word ... }`, or a list function (none exist in Apache's core).
    fn list(&mut self) -> Result<Vec<Word>, ParseError> {
        match &self.tok {
            Tok::LBrace => {
                self.bump()?;
                let mut words = vec![self.word()?];
                while self.tok == Tok::Comma {
                    self.bump()?;
                    words.push(self.word()?);
                }
                if self.tok != Tok::RBrace {
                    return unexpected_expecting(&self.tok, "'}'");
                }
                self.bump()?;
                Ok(words)
            }
            Tok::Ident(name) => Err(ParseError::new(format!(
                "List-returning function '{name}' does not exist"
            ))),
            tok => unexpected(tok),
        }
    }

    fn unary(&self, name: &str, word: Word) -> Result<Cond, ParseError> {
        let op = match name {
            "d" => UnaryOp::Dir,
            "e" => UnaryOp::Exists,
            "f" => UnaryOp::File,
            "s" => UnaryOp::NonEmptyFile,
            "L" | "h" => UnaryOp::Symlink(name.chars().next().unwrap_or('L')),
            "x" => UnaryOp::Executable,
            "F" => UnaryOp::SubreqFile,
            "U" | "A" => UnaryOp::SubreqUrl(name.chars().next().unwrap_or('U')),
            "n" => UnaryOp::NonEmpty,
            "z" => UnaryOp::Empty,
            "T" => UnaryOp::Truthy,
            "R" => {
                let Word::Literal(text) = &word else {
                    return Err(ParseError::new(
                        "-R requires subnet/netmask as constant argument",
                    ));
                };
                UnaryOp::RemoteIn(Subnet::parse(text)?)
            }
            _ => {
                return Err(ParseError::new(format!(
                    "Unary operator '-{name}' does not exist"
                )));
            }
        };
        if self.opts.restricted && op.touches_files() {
            return Err(ParseError::new(format!(
                "-{name} not available in restricted context"
            )));
        }
        Ok(Cond::Unary(op, word))
    }

    fn binary(&self, name: &str, left: Word, right: Word) -> Result<Cond, ParseError> {
        let op = match name.to_ascii_lowercase().as_str() {
            "ipmatch" => {
                let Word::Literal(text) = &right else {
                    return Err(ParseError::new(
                        "-ipmatch requires subnet/netmask as constant argument",
                    ));
                };
                BinaryOp::IpMatch(Subnet::parse(text)?)
            }
            "fnmatch" => BinaryOp::FnMatch,
            "strmatch" => BinaryOp::StrMatch,
            "strcmatch" => BinaryOp::StrCMatch,
            _ => {
                return Err(ParseError::new(format!(
                    "Binary operator '-{name}' does not exist"
                )));
            }
        };
        Ok(Cond::Binary(op, left, right))
    }

    /// `word ('.' word)*`.
    fn word(&mut self) -> Result<Word, ParseError> {
        self.enter()?;
        let atom = self.atom()?;
        let w = self.concat_tail(atom);
        self.leave();
        w
    }

    fn concat_tail(&mut self, mut w: Word) -> Result<Word, ParseError> {
        while self.tok == Tok::Concat {
            self.bump()?;
            self.enter()?;
            let next = self.atom()?;
            self.leave();
            w = concat(w, next);
        }
        Ok(w)
    }

    fn atom(&mut self) -> Result<Word, ParseError> {
        match self.bump()? {
            Tok::Digits(d) => Ok(Word::Digits(d)),
            Tok::Str(w) | Tok::Var(w) => Ok(w),
            Tok::Backref(n) => Ok(Word::Backref(n)),
            Tok::Ident(name) => {
                if self.tok != Tok::LParen {
                    return unexpected_expecting(&self.tok, "'('");
                }
                let func = names::string_function(&name, self.opts)?;
                self.bump()?;
                let arg = self.word()?;
                if self.tok != Tok::RParen {
                    return unexpected_expecting(&self.tok, "')'");
                }
                self.bump()?;
                Ok(Word::Func(func, Box::new(arg)))
            }
            Tok::LParen => {
                let w = self.word()?;
                if self.tok != Tok::RParen {
                    return unexpected_expecting(&self.tok, "')'");
                }
                self.bump()?;
                Ok(w)
            }
            tok => unexpected(&tok),
        }
    }
}
