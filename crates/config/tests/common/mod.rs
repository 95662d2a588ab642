//! A small fake module table and helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use rhttpd_config::{
    Arity, ConfigError, Contexts as C, DirectiveSpec, ModuleInfo, Node, ParseOptions, Parsed, parse,
};

const fn d(name: &'static str, contexts: C, arity: Arity, help: &'static str) -> DirectiveSpec {
    DirectiveSpec {
        name,
        contexts,
        arity,
        help,
    }
}

const FILES_CTX: C = C(1 | 2 | 4 | 16);

pub static CORE: &[DirectiveSpec] = &[
    d(
        "DocumentRoot",
        C::SERVER_VHOST,
        Arity::Take1,
        "Root directory of the document tree",
    ),
    d(
        "Listen",
        C::GLOBAL,
        Arity::Take12,
        "A port number or a numeric IP address and a port number, and an optional protocol",
    ),
    d(
        "Options",
        C::ANY,
        Arity::OneOrMore,
        "Set a number of attributes for a given directory",
    ),
    d(
        "KeepAlive",
        C::SERVER_VHOST,
        Arity::Flag,
        "Whether persistent connections are allowed",
    ),
    d(
        "AllowOverride",
        C::DIRECTORY,
        Arity::OneOrMore,
        "Controls what groups of directives can be configured by per-directory config files",
    ),
    d(
        "ServerName",
        C::SERVER_VHOST,
        Arity::Take1,
        "The hostname and port of the server",
    ),
    d(
        "Require",
        C::DIR_ONLY,
        Arity::OneOrMore,
        "Selects which authenticated users or groups may access a protected space",
    ),
    d("NoArg", C::ANY, Arity::NoArgs, "nothing"),
    d("Three", C::ANY, Arity::Take123, "up to three"),
    d(
        "VirtualHost",
        C::GLOBAL,
        Arity::Section,
        "Container to map directives to a particular virtual host",
    ),
    d(
        "Directory",
        C::SERVER_VHOST,
        Arity::Section,
        "Container for directives affecting resources located in the specified directories",
    ),
    d(
        "Location",
        C::SERVER_VHOST,
        Arity::Section,
        "Container for directives affecting resources accessed through the specified URL paths",
    ),
    d(
        "Files",
        FILES_CTX,
        Arity::Section,
        "Container for directives affecting files matching specified patterns",
    ),
    d(
        "FilesMatch",
        FILES_CTX,
        Arity::Section,
        "Container for directives affecting files matching specified patterns",
    ),
    d(
        "Limit",
        C::ANY,
        Arity::Section,
        "Container for authentication directives when accessed using specified HTTP methods",
    ),
    d(
        "RequireAll",
        C::DIR_ONLY,
        Arity::Section,
        "Container for authorization directives",
    ),
];

pub static STATUS: &[DirectiveSpec] = &[d(
    "ExtendedStatus",
    C::GLOBAL,
    Arity::Flag,
    "\"On\" to track extended status information, \"Off\" to disable",
)];

pub static MIME: &[DirectiveSpec] = &[d(
    "AddType",
    C::ANY,
    Arity::TwoOrMore,
    "a mime type followed by one or more file extensions",
)];

pub static MODULES: &[ModuleInfo] = &[
    ModuleInfo {
        name: "core_module",
        source: "core.c",
        builtin: true,
        directives: CORE,
    },
    ModuleInfo {
        name: "mime_module",
        source: "mod_mime.c",
        builtin: true,
        directives: MIME,
    },
    ModuleInfo {
        name: "status_module",
        source: "mod_status.c",
        builtin: false,
        directives: STATUS,
    },
];

pub const MAIN: &str = "/conf/httpd.conf";

pub fn opts(text: &'static str) -> ParseOptions<'static> {
    ParseOptions {
        file: PathBuf::from(MAIN),
        server_root: PathBuf::from("/"),
        defines: Vec::new(),
        pre_directives: Vec::new(),
        post_directives: Vec::new(),
        modules: MODULES,
        embedded: Some(text),
    }
}

pub fn ok(text: &'static str) -> Parsed {
    match parse(&opts(text)) {
        Ok(p) => p,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

pub fn err(text: &'static str) -> ConfigError {
    match parse(&opts(text)) {
        Ok(p) => panic!("expected an error, got {:?}", p.nodes),
        Err(e) => e,
    }
}

/// (file, line, message) of an error.
pub fn where_(e: &ConfigError) -> (PathBuf, usize, String) {
    let loc = e.location.as_ref().expect("error has a location");
    (loc.file.to_path_buf(), loc.line, e.message.clone())
}

/// Assert an error in the embedded main file at `line` with `msg`.
pub fn assert_err(text: &'static str, line: usize, msg: &str) {
    let e = err(text);
    assert_eq!(
        where_(&e),
        (PathBuf::from(MAIN), line, msg.to_string()),
        "config:\n{text}"
    );
}

/// Names (sections as `<Name>`) and args of the tree, flattened depth-first.
pub fn flat(nodes: &[Node]) -> Vec<String> {
    let mut out = Vec::new();
    for n in nodes {
        match n {
            Node::Directive(d) => out.push(format!("{} {}", d.name, d.args.join("|"))),
            Node::Section(s) => {
                out.push(format!("<{}> {}", s.name, s.args.join("|")));
                out.extend(flat(&s.children).into_iter().map(|x| format!("  {x}")));
            }
        }
    }
    out
}

pub fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}
