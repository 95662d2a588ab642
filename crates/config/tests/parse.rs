//! Parser behaviour and Apache's messages, on embedded text (no files needed).

mod common;

use common::*;
use rhttpd_config::{Node, parse};

#[test]
fn tree_shape_and_canonical_names() {
    let p = ok(
        "documentroot /srv\n<directory /x>\n  options Indexes \"Follow SymLinks\"\n</DIRECTORY>\nOptions a # x\n",
    );
    assert_eq!(
        flat(&p.nodes),
        vec![
            "DocumentRoot /srv",
            "<Directory> /x",
            "  Options Indexes|Follow SymLinks",
            "Options a|#|x",
        ]
    );
    // Listen 80 # x: Apache has no trailing comments, so that is three words for a
    // Take12 directive.
    assert_err(
        "Listen 80 # x\n",
        1,
        "Listen takes 1-2 arguments, A port number or a numeric IP address and a port number, and an optional protocol",
    );
}

#[test]
fn section_gt_attached_or_separate_and_quoted_args() {
    let p = ok(
        "<Directory \"/a b\">\n</Directory>\n<Directory /c >\n</Directory>\n<Files>\n</Files>\n",
    );
    assert_eq!(
        flat(&p.nodes),
        vec!["<Directory> /a b", "<Directory> /c", "<Files> "]
    );
}

#[test]
fn continuation_lines_report_last_physical_line() {
    let p = ok("DocumentRoot \\\n   /srv\nServerName a\n");
    let Node::Directive(d) = &p.nodes[0] else {
        panic!()
    };
    assert_eq!(
        (d.args.clone(), d.location.line),
        (vec!["/srv".to_string()], 2)
    );
    assert_err(
        "Foo a \\\n b \\\n c\n",
        3,
        "Invalid command 'Foo', perhaps misspelled or defined by a module not included in the server configuration",
    );
}

#[test]
fn crlf_accepted() {
    let p = ok("DocumentRoot /srv\r\n<Directory /x>\r\nOptions None\r\n</Directory>\r\n");
    assert_eq!(
        flat(&p.nodes),
        vec!["DocumentRoot /srv", "<Directory> /x", "  Options None"]
    );
}

#[test]
fn unknown_directive_and_section() {
    assert_err(
        "\n\nFoo bar\n",
        3,
        "Invalid command 'Foo', perhaps misspelled or defined by a module not included in the server configuration",
    );
    assert_err(
        "<Foo x>\n</Foo>\n",
        1,
        "Invalid command '<Foo', perhaps misspelled or defined by a module not included in the server configuration",
    );
    // a section name used as a directive is unknown too
    assert_err(
        "Directory /x\n",
        1,
        "Invalid command 'Directory', perhaps misspelled or defined by a module not included in the server configuration",
    );
}

#[test]
fn section_structure_errors() {
    assert_err(
        "<Directory /x\n</Directory>\n",
        1,
        "<Directory> directive missing closing '>'",
    );
    assert_err(
        "<Directory /x>\n</Location>\n",
        2,
        "Expected </Directory> but saw </Location>",
    );
    assert_err(
        "<directory /x>\n</Location>\n",
        2,
        "Expected </directory> but saw </Location>",
    );
    assert_err(
        "DocumentRoot /\n</Directory>\n",
        2,
        "</Directory> without matching <Directory> section",
    );
    assert_err(
        "<Directory /x>\n</Directory\n",
        2,
        "</Directory> directive missing closing '>'",
    );
    assert_err(
        "ServerName a\n<VirtualHost *:80>\n<Directory /x>\nOptions None\n",
        2,
        "/conf/httpd.conf:3: <Directory> was not closed.\n/conf/httpd.conf:2: <VirtualHost> was not closed.",
    );
}

#[test]
fn structure_errors_come_before_unknown_directives() {
    // Apache builds the whole tree before it looks directives up.
    assert_err(
        "Foo\n<Directory /x>\n",
        2,
        "/conf/httpd.conf:2: <Directory> was not closed.",
    );
}

#[test]
fn context_errors() {
    assert_err(
        "<VirtualHost *>\nListen 80\n</VirtualHost>\n",
        2,
        "Listen cannot occur within <VirtualHost> section",
    );
    assert_err(
        "<VirtualHost *>\n<VirtualHost *>\n</VirtualHost>\n</VirtualHost>\n",
        2,
        "<VirtualHost> cannot occur within <VirtualHost> section",
    );
    assert_err(
        "<Directory /x>\nDocumentRoot /y\n</Directory>\n",
        2,
        "DocumentRoot not allowed here",
    );
    assert_err(
        "<Directory /x>\n<Directory /y>\n</Directory>\n</Directory>\n",
        2,
        "<Directory not allowed here",
    );
    assert_err("Require all granted\n", 1, "Require not allowed here");
    assert_err(
        "<Location /x>\nAllowOverride None\n</Location>\n",
        2,
        "AllowOverride cannot occur within <Location> section",
    );
    assert_err(
        "<Location /x>\n<Files a>\n</Files>\n</Location>\n",
        2,
        "<Files> cannot occur within <Location> section",
    );
    assert_err(
        "<Limit GET>\nListen 80\n</Limit>\n",
        2,
        "Listen cannot occur within <Limit> or <LimitExcept> section",
    );
    // inner sections that do not change the context, and the ones that do
    let p = ok(
        "<VirtualHost *>\n<Directory /x>\n<Limit GET>\n<RequireAll>\nRequire all granted\n</RequireAll>\n</Limit>\n<Files a>\nOptions None\n</Files>\n</Directory>\nDocumentRoot /v\n</VirtualHost>\n",
    );
    assert_eq!(flat(&p.nodes).len(), 8);
}

#[test]
fn arity_errors() {
    assert_err(
        "DocumentRoot\n",
        1,
        "DocumentRoot takes one argument, Root directory of the document tree",
    );
    assert_err(
        "DocumentRoot a b\n",
        1,
        "DocumentRoot takes one argument, Root directory of the document tree",
    );
    assert_err(
        "DocumentRoot \"\"\n",
        1,
        "DocumentRoot takes one argument, Root directory of the document tree",
    );
    assert_err("KeepAlive maybe\n", 1, "KeepAlive must be On or Off");
    assert_err("NoArg x\n", 1, "NoArg takes no arguments");
    assert_err(
        "Three 1 2 3 4\n",
        1,
        "Three takes one, two or three arguments, up to three",
    );
    assert_err(
        "Options\n",
        1,
        "Options requires at least one argument, Set a number of attributes for a given directory",
    );
    assert_err(
        "AddType text/x\n",
        1,
        "AddType requires at least two arguments, a mime type followed by one or more file extensions",
    );
    ok("KeepAlive ON\nKeepAlive off\nNoArg\nThree a b\n");
}

#[test]
fn ifmodule_and_ifdefine() {
    let p = ok(
        "<IfModule mime_module>\nListen 1\n</IfModule>\n<IfModule mod_mime.c>\nListen 2\n</IfModule>\n<IfModule !mod_status.c>\nListen 3\n</IfModule>\n<IfModule status_module>\nListen 4\nJunk here\n<Nested>\n</Nested>\n</IfModule>\n<IfDefine !NOPE>\nListen 5\n</IfDefine>\n<IfDefine NOPE>\nListen 6\n</IfDefine>\n",
    );
    assert_eq!(
        flat(&p.nodes),
        vec!["Listen 1", "Listen 2", "Listen 3", "Listen 5"]
    );
    // the body keeps the enclosing context
    let p = ok("<Directory /x>\n<IfModule mime_module>\nOptions None\n</IfModule>\n</Directory>\n");
    assert_eq!(flat(&p.nodes), vec!["<Directory> /x", "  Options None"]);
    // LoadModule makes a module present for later <IfModule>s only
    let p = ok(
        "<IfModule status_module>\nListen 1\n</IfModule>\nLoadModule status_module modules/mod_status.so\n<IfModule mod_status.c>\nListen 2\n</IfModule>\n",
    );
    assert_eq!(
        flat(&p.nodes),
        vec!["LoadModule status_module|modules/mod_status.so", "Listen 2"]
    );
}

#[test]
fn ifmodule_errors() {
    assert_err(
        "<IfModule foo\n</IfModule>\n",
        1,
        "<IfModule> directive missing closing '>'",
    );
    assert_err(
        "<IfModule>\n</IfModule>\n",
        1,
        "<IfModule> directive requires additional arguments",
    );
    assert_err(
        "<IfDefine !>\n</IfDefine>\n",
        1,
        "<IfDefine> directive requires additional arguments",
    );
    assert_err(
        "<IfModule a b>\n</IfModule>\n",
        1,
        "<IfModule takes one argument, Container for directives based on existence of specified modules",
    );
    assert_err(
        "<IfModule nope>\nListen 1\n",
        1,
        "Expected </IfModule> before end of configuration",
    );
    assert_err(
        "<IfModule core_module>\nListen 1\n",
        1,
        "Expected </IfModule> before end of configuration",
    );
    assert_err(
        "<IfModule nope>\n<Directory /x>\n</Location>\n</IfModule>\n",
        1,
        "Expected </Directory> but saw </Location>",
    );
    assert_err(
        "<IfModule core.c>\n<Directory /x>\n</IfModule>\n",
        3,
        "Expected </Directory> but saw </IfModule>",
    );
    assert_err(
        "<Directory /x>\n<IfModule core.c>\n</Directory>\n</IfModule>\n",
        3,
        "</Directory> without matching <Directory> section",
    );
}

#[test]
fn iffile_ifdirective_ifsection_ifversion() {
    // ServerRoot is "/": /etc exists, /nonexistent-rhttpd does not; relative paths are
    // taken from ServerRoot.
    let p = ok(concat!(
        "<IfFile /etc>\nListen 1\n</IfFile>\n",
        "<IfFile \"etc\">\nListen 2\n</IfFile>\n",
        "<IfFile /nonexistent-rhttpd>\nListen 3\nJunk\n</IfFile>\n",
        "<IfFile !/nonexistent-rhttpd>\nListen 4\n</IfFile>\n",
        "<IfDirective AddType>\nListen 5\n</IfDirective>\n",
        "<IfDirective !listen>\nListen 6\n</IfDirective>\n",
        "<IfDirective Directory>\nListen 7\n</IfDirective>\n",
        "<IfSection Directory>\nListen 8\n</IfSection>\n",
        "<IfSection DocumentRoot>\nListen 9\n</IfSection>\n",
        "<IfDirective Include>\nListen 10\n</IfDirective>\n",
        "<IfSection IfVersion>\nListen 11\n</IfSection>\n",
        "<IfVersion >= 2.4>\nListen 12\n</IfVersion>\n",
        "<IfVersion < 2.4>\nListen 13\nOrder deny,allow\n</IfVersion>\n",
        "<IfVersion ~ ^2\\.4\\.>\nListen 14\n</IfVersion>\n",
        "<IfVersion 2.4.71 >\nListen 15\n</IfVersion>\n",
    ));
    assert_eq!(
        flat(&p.nodes),
        vec![
            "Listen 1",
            "Listen 2",
            "Listen 4",
            "Listen 5",
            "Listen 8",
            "Listen 10",
            "Listen 11",
            "Listen 12",
            "Listen 14",
            "Listen 15"
        ]
    );
    // A directive of a module that is not loaded (yet) does not exist.
    let p = ok(concat!(
        "<IfDirective ExtendedStatus>\nListen 1\n</IfDirective>\n",
        "LoadModule status_module modules/mod_status.so\n",
        "<IfDirective ExtendedStatus>\nListen 2\n</IfDirective>\n",
    ));
    assert_eq!(
        flat(&p.nodes),
        vec!["LoadModule status_module|modules/mod_status.so", "Listen 2"]
    );
}

#[test]
fn iffile_ifversion_errors() {
    assert_err(
        "<IfFile /etc\n</IfFile>\n",
        1,
        "<IfFile> directive missing closing '>'",
    );
    assert_err(
        "<IfFile !>\n</IfFile>\n",
        1,
        "<IfFile> directive requires additional arguments",
    );
    assert_err(
        "<IfDirective>\n</IfDirective>\n",
        1,
        "<IfDirective> directive requires additional arguments",
    );
    assert_err(
        "<IfVersion >= 2.x>\n</IfVersion>\n",
        1,
        "Version appears to be invalid. It must have the format major[.minor[.patch]] where major, minor and patch are numbers.",
    );
    assert_err(
        "<IfVersion => 2.4>\n</IfVersion>\n",
        1,
        "unrecognized operator '=>'",
    );
    assert_err(
        "<IfVersion < 2.4>\nListen 1\n",
        1,
        "Expected </IfVersion> before end of configuration",
    );
    assert_err(
        "<IfSection Directory>\nListen 1\n</IfFile>\n",
        3,
        "</IfFile> without matching <IfFile> section",
    );
}

#[test]
fn defines_and_variables() {
    let mut o = opts(
        "Define ROOT /srv\nDefine FLAG\nDocumentRoot ${ROOT}/www\n<IfDefine FLAG>\nServerName ${ROOT}\n</IfDefine>\nUnDefine FLAG\n<IfDefine FLAG>\nServerName no\n</IfDefine>\n<IfDefine CLI>\nListen 8\n</IfDefine>\nServerName ${NOT_DEFINED_ANYWHERE_X}\nServerName ${a:b}\n",
    );
    o.defines = vec!["CLI".into()];
    let p = parse(&o).unwrap();
    assert_eq!(
        flat(&p.nodes),
        vec![
            "DocumentRoot /srv/www",
            "ServerName /srv",
            "Listen 8",
            "ServerName ${NOT_DEFINED_ANYWHERE_X}",
            "ServerName ${a:b}"
        ]
    );
    assert_eq!(
        p.defines,
        vec![("CLI".into(), None), ("ROOT".into(), Some("/srv".into()))]
    );
    assert_eq!(
        p.warnings,
        vec![
            "AH00111: Config variable ${NOT_DEFINED_ANYWHERE_X} is not defined (line 14 of /conf/httpd.conf)"
        ]
    );
    // a value with spaces becomes several words (the whole line is expanded first)
    assert_err(
        "Define V \"a b\"\nDocumentRoot ${V}\n",
        2,
        "DocumentRoot takes one argument, Root directory of the document tree",
    );
    assert_err("Define a:b\n", 1, "Variable name must not contain ':'");
    assert_err(
        "Define\n",
        1,
        "Define takes 1-2 arguments, Define a variable, optionally to a value.  Same as passing -D to the command line.",
    );
    // environment variables (read only); PATH is always set for the test runner
    let path = std::env::var("PATH").unwrap_or_default();
    if !path.is_empty() && !path.contains(char::is_whitespace) {
        let p = ok("ServerName ${PATH}\n");
        assert_eq!(flat(&p.nodes), vec![format!("ServerName {path}")]);
    }
}

#[test]
fn load_module() {
    let p = ok(
        "ExtendedStatus On\nLoadModule status_module modules/mod_status.so\nLoadModule mime_module modules/mod_mime.so\nLoadModule status_module modules/mod_status.so\n",
    );
    // directives are looked up after the whole file is read, as in Apache
    assert_eq!(
        p.loaded_modules,
        vec!["core_module", "mime_module", "status_module"]
    );
    assert_eq!(
        p.warnings,
        vec!["AH01574: module status_module is already loaded, skipping"]
    );
    assert_eq!(flat(&p.nodes)[0], "ExtendedStatus On");
    assert_err(
        "ExtendedStatus On\n",
        1,
        "Invalid command 'ExtendedStatus', perhaps misspelled or defined by a module not included in the server configuration",
    );
    assert_err(
        "\nLoadModule foo_module modules/mod_foo.so\n",
        2,
        "Cannot load /modules/mod_foo.so into server: rhttpd does not implement foo_module",
    );
    assert_err(
        "LoadModule foo_module\n",
        1,
        "LoadModule takes two arguments, a module name and the name of a shared object file to load it from",
    );
    let p = ok("ServerName a\n");
    assert_eq!(p.loaded_modules, vec!["core_module", "mime_module"]);
}

#[test]
fn command_line_directives() {
    let mut o = opts("<IfDefine PRE>\nServerName main\n</IfDefine>\n");
    o.pre_directives = vec!["Define PRE".into(), "Listen 1".into()];
    o.post_directives = vec!["Listen 2".into(), "  ".into(), "Bogus".into()];
    let e = parse(&o).unwrap_err();
    assert_eq!(
        where_(&e),
        ("-c/-C directives".into(), 3, "Invalid command 'Bogus', perhaps misspelled or defined by a module not included in the server configuration".into())
    );
    o.post_directives.pop();
    let p = parse(&o).unwrap();
    assert_eq!(
        flat(&p.nodes),
        vec!["Listen 1", "ServerName main", "Listen 2"]
    );
    let Node::Directive(d) = &p.nodes[0] else {
        panic!()
    };
    assert_eq!(d.location.file.to_str(), Some("-c/-C directives"));
    assert_eq!(p.includes, vec![(0, std::path::PathBuf::from(MAIN))]);
}

#[test]
fn embedded_and_display() {
    let e = err("Foo\n");
    assert_eq!(
        e.to_string(),
        "AH00526: Syntax error on line 1 of /conf/httpd.conf:\nInvalid command 'Foo', perhaps misspelled or defined by a module not included in the server configuration"
    );
    assert!(ok("").nodes.is_empty());
}

#[test]
fn server_root_errors() {
    assert_err(
        "ServerRoot /definitely/not/here\n",
        1,
        "ServerRoot must be a valid directory",
    );
    let p = ok("ServerRoot /tmp\n");
    assert_eq!(p.server_root, std::path::PathBuf::from("/tmp"));
    assert_eq!(flat(&p.nodes), vec!["ServerRoot /tmp"]);
}

#[test]
fn missing_main_file() {
    let mut o = opts("");
    o.embedded = None;
    o.file = "/definitely/not/here.conf".into();
    let e = parse(&o).unwrap_err();
    assert_eq!(e.location, None);
    assert_eq!(
        e.message,
        "Could not open configuration file /definitely/not/here.conf: No such file or directory"
    );
}
