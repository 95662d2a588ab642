//! ap_expr parsing and evaluation against what Apache 2.4 does with the same text
//! (the error messages are those `apache2 -t` prints after "Cannot parse condition
//! clause: ").

use std::collections::HashMap;
use std::net::IpAddr;

use rhttpd_expr::{Context, Expr, FileInfo, Options};

#[derive(Default)]
struct Map {
    vars: HashMap<&'static str, &'static str>,
    headers: HashMap<&'static str, &'static str>,
    files: HashMap<&'static str, FileInfo>,
    used: std::cell::RefCell<Vec<String>>,
}

impl Context for Map {
    fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).map(|v| v.to_string())
    }
    fn function(&self, name: &str, arg: &str) -> Option<String> {
        match name {
            "req" | "http" | "req_novary" => self
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(arg))
                .map(|(_, v)| v.to_string()),
            "reqenv" | "env" if arg == "foo" => Some("bar".into()),
            _ => None,
        }
    }
    fn client_ip(&self) -> Option<IpAddr> {
        "10.1.2.3".parse().ok()
    }
    fn stat(&self, path: &str) -> Option<FileInfo> {
        self.files.get(path).copied()
    }
    fn read_file(&self, path: &str) -> Result<String, String> {
        if path == "/data" {
            Ok("contents".into())
        } else {
            Err(format!("Cannot open file {path}"))
        }
    }
    fn used_header(&self, name: &str) {
        self.used.borrow_mut().push(name.to_string());
    }
}

fn ctx() -> Map {
    let mut m = Map::default();
    m.vars.insert("REQUEST_URI", "/a/b.html");
    m.vars.insert("REQUEST_METHOD", "GET");
    m.vars.insert("HTTP_HOST", "example.com");
    m.vars.insert("HTTP_USER_AGENT", "curl/8.0");
    m.vars.insert("REMOTE_ADDR", "10.1.2.3");
    m.headers.insert("X-Test", "yes");
    m.headers.insert("Host", "example.com");
    m.files.insert(
        "/dir",
        FileInfo {
            is_dir: true,
            ..FileInfo::default()
        },
    );
    m.files.insert(
        "/data",
        FileInfo {
            is_file: true,
            size: 8,
            mtime: 1234,
            executable: false,
            is_dir: false,
        },
    );
    m
}

fn eval(src: &str) -> bool {
    let e = Expr::parse(src).unwrap_or_else(|e| panic!("{src}: {e}"));
    e.eval(&ctx()).unwrap_or_else(|e| panic!("{src}: {e}"))
}

fn error(src: &str) -> String {
    match Expr::parse(src) {
        Ok(e) => panic!("{src} parsed as {e}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn comparisons_and_logic() {
    assert!(eval("true"));
    assert!(!eval("false"));
    assert!(eval("!false && (true || false)"));
    assert!(eval("not false and true or false"));
    assert!(eval("%{REQUEST_METHOD} == 'GET'"));
    assert!(eval("%{request_method} = \"GET\""));
    assert!(eval("%{REQUEST_METHOD} != 'POST'"));
    assert!(eval(
        "'abc' < 'abd' && 'b' > 'a' && 'a' <= 'a' && 'a' >= 'a'"
    ));
    assert!(eval("10 -gt 9 && 10 gt 9"));
    assert!(eval(
        "-5 -lt 3 && 3 -le 3 && 4 -ge 3 && 3 -eq 03 && 1 -ne 2"
    ));
    assert!(!eval("'10' > '9'"));
    assert!(eval("10 -gt 9"));
    assert!(eval("'a' . 'b' == 'ab'"));
    assert!(eval("('a' . %{REQUEST_METHOD}) == 'aGET'"));
    assert!(eval("'x' in { 'a', 'x' } && !('y' -in {'a'})"));
    assert!(eval("((true))"));
    assert!(eval("(('a')) == 'a'"));
}

#[test]
fn regexes_and_backreferences() {
    assert!(eval("%{REQUEST_URI} =~ /\\.html$/"));
    assert!(eval("%{REQUEST_URI} !~ m#\\.php$#"));
    assert!(eval("%{HTTP_HOST} =~ m#^EXAMPLE#i"));
    assert!(eval(
        "%{REQUEST_URI} =~ m#^/(\\w+)/(\\w+)# && $1 == 'a' && '$2' == 'b' && $0 == '/a/b'"
    ));
    // A regex without groups leaves $N alone; a failed one with groups empties them.
    assert!(eval("'ab' =~ /(a)/ && 'zz' =~ /z/ && $1 == 'a'"));
    assert!(eval("'ab' =~ /(a)/ && !('zz' =~ /(q)/) && $1 == ''"));
    assert!(eval("'aXa' =~ /^(a)X\\1$/"));
}

#[test]
fn strings_escapes_and_variables_inside() {
    assert!(eval(
        "'a\\tb' == \"a\\x09b\" && 'a\\101' == 'aA' && \"it's\" == 'it\\'s'"
    ));
    assert!(eval(
        "\"%{REQUEST_METHOD} %{REQUEST_URI}\" == 'GET /a/b.html'"
    ));
    assert!(eval("'%{req:X-Test}' == 'yes' && req('x-test') == 'yes'"));
    assert!(eval(
        "%{http:X-Test} == 'yes' && http('X-Test') . 'x' == 'yesx'"
    ));
    assert!(eval("reqenv('foo') == 'bar' && %{env:foo} == 'bar'"));
    let s = Expr::parse_string("m=%{REQUEST_METHOD} u=%{toupper:%{REQUEST_METHOD}x}").unwrap();
    assert_eq!(s.eval_string(&ctx()).unwrap(), "m=GET u=GETX");
}

#[test]
fn functions() {
    assert!(eval("tolower('AbC') == 'abc' && toupper('a') == 'A'"));
    assert!(eval(
        "escape('a b') == 'a%20b' && unescape('a%20b') == 'a b'"
    ));
    assert!(eval(
        "base64('hello') == 'aGVsbG8=' && unbase64('aGVsbG8=') == 'hello'"
    ));
    assert!(eval("md5('abc') == '900150983cd24fb0d6963f7d28e17f72'"));
    assert!(eval(
        "sha1('abc') == 'a9993e364706816aba3e25717850c26c9cd0d89d'"
    ));
    assert!(eval(
        "file('/data') == 'contents' && filesize('/data') == 8"
    ));
    assert!(eval("filesize('/nope') == 0 && filemod('/data') -eq 1234"));
    let e = Expr::parse("file('/nope') == ''").unwrap();
    assert_eq!(e.eval(&ctx()).unwrap_err(), "Cannot open file /nope");
}

#[test]
fn unary_and_binary_operators() {
    assert!(eval(
        "-d '/dir' && !-d '/data' && -e '/data' && -f '/data' && -s '/data'"
    ));
    assert!(eval("!-e '/nope' && !-L '/data' && !-x '/data'"));
    assert!(eval(
        "-n 'a' && -z '' && -T 'yes' && !-T 'off' && !-T '0' && !-T 'No'"
    ));
    assert!(eval("-R '10.0.0.0/8' && !-R '192.168.0.0/16'"));
    assert!(eval("%{REMOTE_ADDR} -ipmatch '10.1.0.0/255.255.0.0'"));
    assert!(eval(
        "'a/b.html' -strmatch '*.html' && !('a/b.html' -fnmatch '*.html')"
    ));
    assert!(eval(
        "'A.HTML' -strcmatch '*.html' && !('A.HTML' -strmatch '*.html')"
    ));
}

#[test]
fn headers_used_are_reported_except_host() {
    let c = ctx();
    let e = Expr::parse("%{HTTP_USER_AGENT} =~ /curl/ && %{HTTP_HOST} != '' && req('X-Test') == 'yes' && req_novary('X-Other') == ''").unwrap();
    assert!(e.eval(&c).unwrap());
    assert_eq!(*c.used.borrow(), vec!["User-Agent", "X-Test"]);
}

#[test]
fn errors_read_as_apache_writes_them() {
    assert_eq!(error("1 -eq"), "syntax error, unexpected $end");
    assert_eq!(error("%{NOPE} == 1"), "Variable 'NOPE' does not exist");
    assert_eq!(
        error("%{HTTP_X_FOO} == 1"),
        "Variable 'HTTP_X_FOO' does not exist"
    );
    assert_eq!(error("foo(1) == 1"), "Function 'foo' does not exist");
    assert_eq!(error("-Q 1"), "Unary operator '-Q' does not exist");
    assert_eq!(error("1 -foo 2"), "Binary operator '-foo' does not exist");
    assert_eq!(error("1 =~ /(/"), "Failed to compile regular expression");
    assert_eq!(
        error("1 =~ 'a'"),
        "syntax error, unexpected T_STR_BEGIN, expecting T_REGEX or T_REGEX_I"
    );
    assert_eq!(
        error("x == 1"),
        "syntax error, unexpected T_OP_STR_EQ, expecting '('"
    );
    assert_eq!(error("\"abc"), "Unterminated string or variable");
    assert_eq!(error("%{FOO"), "Unterminated variable");
    assert_eq!(error("%{FO-O}"), "Unexpected variable character '-'");
    assert_eq!(error("1 == 1 #"), "Parse error near character '#'");
    assert_eq!(error("'a\u{1}'"), "Invalid string character '\\x01'");
    assert_eq!(error("'\\9'"), "Bad character escape sequence");
    assert_eq!(error("1 =~ /a/x"), "Invalid regexp flag(s)");
    assert_eq!(error("1 =~ /a"), "Unterminated regexp");
    assert_eq!(
        error("'a' in x(1)"),
        "List-returning function 'x' does not exist"
    );
    assert_eq!(error("-R 'foo'"), "parsing of subnet/netmask failed");
    assert_eq!(
        error("-R %{REMOTE_ADDR}"),
        "-R requires subnet/netmask as constant argument"
    );
    assert_eq!(
        error("'a' -ipmatch %{REMOTE_ADDR}"),
        "-ipmatch requires subnet/netmask as constant argument"
    );
    assert_eq!(error("'a'"), "syntax error, unexpected $end");
    assert_eq!(error("true false"), "syntax error, unexpected T_FALSE");
    assert_eq!(error(""), "syntax error, unexpected $end");
    let restricted = Options { restricted: true };
    assert_eq!(
        Expr::parse_with("file('/x') == ''", &restricted)
            .unwrap_err()
            .to_string(),
        "file not available in restricted context"
    );
    assert_eq!(
        Expr::parse_with("-f '/x'", &restricted)
            .unwrap_err()
            .to_string(),
        "-f not available in restricted context"
    );
}

#[test]
fn hostile_input_is_bounded() {
    let deep = format!("{}true{}", "(".repeat(100_000), ")".repeat(100_000));
    assert!(Expr::parse(&deep).is_err());
    let nots = format!("{}true", "!".repeat(100_000));
    assert!(Expr::parse(&nots).is_err());
    let vars = format!("'{}'", "%{tolower:".repeat(10_000));
    assert!(Expr::parse(&vars).is_err());
    let long = format!("'{}' == ''", "a".repeat(9000));
    assert_eq!(
        Expr::parse(&long).unwrap_err().to_string(),
        "String too long"
    );
    // A long flat chain is fine (no nesting).
    let chain = vec!["true"; 2000].join(" && ");
    assert!(eval(&chain));
    let concat = vec!["'a'"; 2000].join(" . ");
    assert!(Expr::parse(&format!("{concat} == ''")).is_ok());
}

#[test]
fn canonical_form_reads_back() {
    for src in [
        "%{REQUEST_URI} =~ m#^/(a|b)/#i && !(-f %{REQUEST_FILENAME})",
        "'x\\'y\\n' . $1 . %{req:Host} in { 'a', md5('b') } || false",
        "-R '10.0.0.0/8' || %{REMOTE_ADDR} -ipmatch '::1' || 'a' -strcmatch 'A*'",
        "1 -lt 2 && (3 -ge 3 || 'a' != 'b')",
    ] {
        let e = Expr::parse(src).unwrap();
        let again = Expr::parse(&e.to_string()).unwrap_or_else(|err| panic!("{e}: {err}"));
        assert_eq!(e.cond(), again.cond(), "{src} -> {e}");
    }
}
