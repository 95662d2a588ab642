//! Evaluation over a caller's [`Context`]: Apache's `ap_expr_eval` and
//! `ap_expr_eval_word`.

use std::net::IpAddr;

use crate::ast::{BinaryOp, CmpOp, Cond, UnaryOp, Word};
use crate::funcs;
use crate::pcre::Groups;

/// Largest file `file()` reads (Apache's `MAX_FILE_SIZE`).
pub const MAX_FILE_SIZE: u64 = 10 * 1024 * 1024;

/// What a file test needs to know about a path.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileInfo {
    pub is_dir: bool,
    pub is_file: bool,
    pub size: u64,
    /// Seconds since the epoch.
    pub mtime: i64,
    /// Any of the owner, group or other execute bits.
    pub executable: bool,
}

/// What an expression reads from outside: the request and the file system. Every
/// method but [`Context::var`] and [`Context::function`] has a default that answers
/// as an absent request or file would.
pub trait Context {
    /// Variable `name` (canonical upper case: `REQUEST_URI`, `HTTP_HOST`, `SSL_PROTOCOL`).
    /// `None` is the empty string.
    fn var(&self, name: &str) -> Option<String>;

    /// A request-side function: `req`/`http`/`req_novary` (request header), `resp`
    /// (response header), `reqenv` (request environment), `note`, `env` (notes, then
    /// request environment, then the process environment), `osenv`.
    fn function(&self, name: &str, arg: &str) -> Option<String>;

    /// The client address `-R` tests.
    fn client_ip(&self) -> Option<IpAddr> {
        None
    }

    /// `stat(2)` of `path`, following symbolic links.
    fn stat(&self, path: &str) -> Option<FileInfo> {
        let _ = path;
        None
    }

    /// Is `path` itself a symbolic link (`-L`, `-h`)?
    fn is_symlink(&self, path: &str) -> bool {
        let _ = path;
        false
    }

    /// The contents of `path` for `file()`, at most [`MAX_FILE_SIZE`] bytes; the error is
    /// Apache's message (`Cannot open file X`, `File X too large`).
    fn read_file(&self, path: &str) -> Result<String, String> {
        Err(format!("Cannot open file {path}"))
    }

    /// `-F path` (`url`: false) or `-U`/`-A url` (`url`: true): would a subrequest for
    /// it succeed?
    fn subrequest_ok(&self, arg: &str, url: bool) -> bool {
        let _ = (arg, url);
        false
    }

    /// A request header the result depended on (Apache adds it to `Vary`).
    fn used_header(&self, name: &str) {
        let _ = name;
    }
}

/// Evaluation state: the context and the regex groups `$0`..`$9` refer to.
pub struct Evaluator<'c, C: Context + ?Sized> {
    ctx: &'c C,
    groups: Option<Groups>,
}

/// Header each `HTTP_*` variable reads (Apache's `req_header_var_names`).
fn header_of(var: &str) -> Option<&'static str> {
    Some(match var {
        "HTTP_USER_AGENT" => "User-Agent",
        "HTTP_PROXY_CONNECTION" => "Proxy-Connection",
        "HTTP_REFERER" => "Referer",
        "HTTP_COOKIE" => "Cookie",
        "HTTP_FORWARDED" => "Forwarded",
        "HTTP_HOST" => "Host",
        "HTTP_ACCEPT" => "Accept",
        _ => return None,
    })
}

fn atoi64(s: &str) -> i64 {
    // apr_atoi64: leading space, sign, digits; stops at the first non-digit; saturates.
    let t = s.trim_start();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut n: i64 = 0;
    for b in digits.bytes() {
        if !b.is_ascii_digit() {
            break;
        }
        n = n.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if neg { n.saturating_neg() } else { n }
}

impl<'c, C: Context + ?Sized> Evaluator<'c, C> {
    pub fn new(ctx: &'c C) -> Evaluator<'c, C> {
        Evaluator { ctx, groups: None }
    }

    /// Start with the groups of an earlier match (`RewriteRule`'s, for instance).
    pub fn with_groups(ctx: &'c C, groups: Groups) -> Evaluator<'c, C> {
        Evaluator {
            ctx,
            groups: Some(groups),
        }
    }

    /// The groups of the last matching regex with capturing groups.
    pub fn groups(&self) -> Option<&Groups> {
        self.groups.as_ref()
    }

    pub fn cond(&mut self, cond: &Cond) -> Result<bool, String> {
        Ok(match cond {
            Cond::True => true,
            Cond::False => false,
            Cond::Not(c) => !self.cond(c)?,
            Cond::And(cs) => {
                for c in cs {
                    if !self.cond(c)? {
                        return Ok(false);
                    }
                }
                true
            }
            Cond::Or(cs) => {
                for c in cs {
                    if self.cond(c)? {
                        return Ok(true);
                    }
                }
                false
            }
            Cond::Compare(op, a, b) => {
                let a = self.word(a)?;
                let b = self.word(b)?;
                let ord = match op {
                    CmpOp::StrEq
                    | CmpOp::StrNe
                    | CmpOp::StrLt
                    | CmpOp::StrLe
                    | CmpOp::StrGt
                    | CmpOp::StrGe => a.as_bytes().cmp(b.as_bytes()),
                    _ => atoi64(&a).cmp(&atoi64(&b)),
                };
                match op {
                    CmpOp::StrEq | CmpOp::IntEq => ord.is_eq(),
                    CmpOp::StrNe | CmpOp::IntNe => ord.is_ne(),
                    CmpOp::StrLt | CmpOp::IntLt => ord.is_lt(),
                    CmpOp::StrLe | CmpOp::IntLe => ord.is_le(),
                    CmpOp::StrGt | CmpOp::IntGt => ord.is_gt(),
                    CmpOp::StrGe | CmpOp::IntGe => ord.is_ge(),
                }
            }
            Cond::Unary(op, w) => self.unary(op, w)?,
            Cond::Binary(op, a, b) => {
                let a = self.word(a)?;
                match op {
                    BinaryOp::IpMatch(subnet) => a
                        .parse::<IpAddr>()
                        .map(|ip| subnet.contains(ip))
                        .unwrap_or(false),
                    BinaryOp::FnMatch => funcs::fnmatch(&self.word(b)?, &a, true, false),
                    BinaryOp::StrMatch => funcs::fnmatch(&self.word(b)?, &a, false, false),
                    BinaryOp::StrCMatch => funcs::fnmatch(&self.word(b)?, &a, false, true),
                }
            }
            Cond::In(w, list) => {
                let needle = self.word(w)?;
                for item in list {
                    if self.word(item)? == needle {
                        return Ok(true);
                    }
                }
                false
            }
            Cond::Match {
                word,
                regex,
                negate,
            } => {
                let subject = self.word(word)?;
                // As Apache: $0..$9 change only when the regex has capturing groups.
                let matched = if regex.subgroups() > 0 {
                    let groups = regex.pcre.captures(&subject);
                    let matched = groups.is_some();
                    self.groups = groups;
                    matched
                } else {
                    regex.pcre.is_match(&subject)
                };
                matched != *negate
            }
        })
    }

    fn unary(&mut self, op: &UnaryOp, w: &Word) -> Result<bool, String> {
        if let UnaryOp::RemoteIn(subnet) = op {
            return Ok(self.ctx.client_ip().is_some_and(|ip| subnet.contains(ip)));
        }
        let arg = self.word(w)?;
        Ok(match op {
            UnaryOp::NonEmpty => !arg.is_empty(),
            UnaryOp::Empty => arg.is_empty(),
            UnaryOp::Truthy => funcs::truthy(&arg),
            UnaryOp::Dir => self.ctx.stat(&arg).is_some_and(|f| f.is_dir),
            UnaryOp::Exists => self.ctx.stat(&arg).is_some(),
            UnaryOp::File => self.ctx.stat(&arg).is_some_and(|f| f.is_file),
            UnaryOp::NonEmptyFile => self.ctx.stat(&arg).is_some_and(|f| f.is_file && f.size > 0),
            UnaryOp::Symlink(_) => self.ctx.is_symlink(&arg),
            UnaryOp::Executable => self.ctx.stat(&arg).is_some_and(|f| f.executable),
            UnaryOp::SubreqFile => self.ctx.subrequest_ok(&arg, false),
            UnaryOp::SubreqUrl(_) => self.ctx.subrequest_ok(&arg, true),
            UnaryOp::RemoteIn(_) => false,
        })
    }

    pub fn word(&mut self, w: &Word) -> Result<String, String> {
        Ok(match w {
            Word::Digits(s) | Word::Literal(s) => s.clone(),
            Word::Var(name) => {
                if let Some(header) = header_of(name)
                    && header != "Host"
                {
                    self.ctx.used_header(header);
                }
                self.ctx.var(name).unwrap_or_default()
            }
            Word::Backref(n) => self
                .groups
                .as_ref()
                .map(|g| g.text(usize::from(*n)).to_string())
                .unwrap_or_default(),
            Word::Concat(parts) => {
                let mut out = String::new();
                for p in parts {
                    out.push_str(&self.word(p)?);
                }
                out
            }
            Word::Func(name, arg) => {
                let arg = self.word(arg)?;
                self.function(name, &arg)?
            }
        })
    }

    fn function(&mut self, name: &str, arg: &str) -> Result<String, String> {
        Ok(match name {
            "tolower" => arg.to_ascii_lowercase(),
            "toupper" => arg.to_ascii_uppercase(),
            "escape" => funcs::escape(arg),
            "unescape" => funcs::unescape(arg).unwrap_or_default(),
            "base64" => funcs::base64(arg.as_bytes()),
            "unbase64" => String::from_utf8_lossy(&funcs::unbase64(arg)).into_owned(),
            "md5" => funcs::md5_hex(arg),
            "sha1" => funcs::sha1_hex(arg),
            "ldap" => funcs::ldap_escape(arg),
            "file" => self.ctx.read_file(arg)?,
            "filesize" => match self.ctx.stat(arg) {
                Some(f) if f.is_file && f.size > 0 => f.size.to_string(),
                _ => "0".to_string(),
            },
            "filemod" => match self.ctx.stat(arg) {
                Some(f) if f.is_file && f.mtime > 0 => f.mtime.to_string(),
                _ => "0".to_string(),
            },
            _ => {
                if matches!(name, "req" | "http") && !arg.eq_ignore_ascii_case("Host") {
                    self.ctx.used_header(arg);
                }
                self.ctx.function(name, arg).unwrap_or_default()
            }
        })
    }
}
