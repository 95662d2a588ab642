//! The standard built-in modules: logging, MIME types, directory indexes, aliases,
//! authorization, autoindex listings and mod_status.

use rhttpd_config::{Arity, Contexts as C, DirectiveSpec};

use super::d;

/// mod_log_config.c (+ mod_logio.c's %I/%O, built in).
pub const LOG_CONFIG: &[DirectiveSpec] = &[
    d(
        "LogFormat",
        C::SERVER_VHOST,
        Arity::Take12,
        "a log format string (see docs) and an optional format name",
    ),
    d(
        "CustomLog",
        C::SERVER_VHOST,
        Arity::Take23,
        "a file name, a custom log format string or format name, and an optional \"env=\" or \"expr=\" clause (see docs)",
    ),
    d(
        "TransferLog",
        C::SERVER_VHOST,
        Arity::Take1,
        "the filename of the access log",
    ),
    d(
        "BufferedLogs",
        C::GLOBAL,
        Arity::Flag,
        "Enable Buffered Logging (accepted; rhttpd writes each line with one write)",
    ),
];

/// mod_mime.c.
pub const MIME: &[DirectiveSpec] = &[
    d(
        "TypesConfig",
        C::GLOBAL,
        Arity::Take1,
        "the MIME types config file",
    ),
    d(
        "AddType",
        C::ANY,
        Arity::TwoOrMore,
        "a mime type followed by one or more file extensions",
    ),
    d(
        "AddHandler",
        C::ANY,
        Arity::TwoOrMore,
        "a handler name followed by one or more file extensions",
    ),
    d(
        "RemoveHandler",
        C::ANY,
        Arity::OneOrMore,
        "one or more file extensions",
    ),
    d(
        "RemoveType",
        C::ANY,
        Arity::OneOrMore,
        "one or more file extensions",
    ),
    d(
        "AddCharset",
        C::ANY,
        Arity::TwoOrMore,
        "a charset (e.g., iso-2022-jp), followed by one or more file extensions",
    ),
    d(
        "AddEncoding",
        C::ANY,
        Arity::TwoOrMore,
        "an encoding (e.g., gzip), followed by one or more file extensions",
    ),
    d(
        "AddLanguage",
        C::ANY,
        Arity::TwoOrMore,
        "a language (e.g., fr), followed by one or more file extensions",
    ),
    d(
        "AddOutputFilter",
        C::ANY,
        Arity::TwoOrMore,
        "output filter name followed by one or more file extensions",
    ),
    d(
        "AddInputFilter",
        C::ANY,
        Arity::TwoOrMore,
        "input filter name followed by one or more file extensions (accepted, no effect)",
    ),
    d(
        "DefaultLanguage",
        C::ANY,
        Arity::Take1,
        "language to use for documents with no other language file extension",
    ),
    d(
        "RemoveLanguage",
        C::ANY,
        Arity::OneOrMore,
        "one or more file extensions",
    ),
    d(
        "MultiviewsMatch",
        C::ANY,
        Arity::OneOrMore,
        "NegotiatedOnly (default), Handlers and/or Filters, or Any",
    ),
];

/// mod_dir.c.
pub const DIR: &[DirectiveSpec] = &[
    d(
        "DirectoryIndex",
        C::ANY,
        Arity::OneOrMore,
        "a list of file names",
    ),
    d("DirectorySlash", C::ANY, Arity::Flag, "On or Off"),
    d(
        "FallbackResource",
        C::ANY,
        Arity::Take1,
        "Set a default handler",
    ),
];

/// mod_alias.c.
pub const ALIAS: &[DirectiveSpec] = &[
    d(
        "Alias",
        C::ANY,
        Arity::Take12,
        "a fakename and a realname, or a realname in a Location",
    ),
    d(
        "ScriptAlias",
        C::ANY,
        Arity::Take12,
        "a fakename and a realname, or a realname in a Location",
    ),
    d(
        "Redirect",
        C::ANY,
        Arity::Take123,
        "an optional status, then document to be redirected and destination URL",
    ),
    d(
        "AliasMatch",
        C::SERVER_VHOST,
        Arity::Take2,
        "a regular expression and a filename",
    ),
    d(
        "ScriptAliasMatch",
        C::SERVER_VHOST,
        Arity::Take2,
        "a regular expression and a filename",
    ),
    d(
        "RedirectMatch",
        C::ANY,
        Arity::Take23,
        "an optional status, then a regular expression and destination URL",
    ),
    d(
        "RedirectPermanent",
        C::ANY,
        Arity::Take2,
        "a document to be redirected, then the destination URL",
    ),
    d(
        "RedirectTemp",
        C::ANY,
        Arity::Take2,
        "a document to be redirected, then the destination URL",
    ),
];

/// mod_authz_core.c (mod_authz_host provides the ip/host/local providers).
pub const AUTHZ_CORE: &[DirectiveSpec] = &[
    d(
        "Require",
        C::DIR_ONLY,
        Arity::OneOrMore,
        "specifies authorization directives which one must pass (or not) for a request to be allowed",
    ),
    d(
        "RequireAny",
        C::DIR_ONLY,
        Arity::Section,
        "Container for authorization directives grouped under an authz provider",
    ),
    d(
        "RequireAll",
        C::DIR_ONLY,
        Arity::Section,
        "Container for authorization directives grouped under an authz provider",
    ),
    d(
        "RequireNone",
        C::DIR_ONLY,
        Arity::Section,
        "Container for authorization directives grouped under an authz provider",
    ),
    d(
        "AuthMerging",
        C::DIR_ONLY,
        Arity::Take1,
        "controls how a <Directory>, <Location>, or similar directive's authorization directives are combined with those of its predecessor",
    ),
    d(
        "AuthzSendForbiddenOnFailure",
        C::DIR_ONLY,
        Arity::Flag,
        "Controls if an authorization failure should result in a '403 FORBIDDEN' response instead of the HTTP-conforming '401 UNAUTHORIZED'",
    ),
];

/// mod_autoindex.c. Listings follow Apache's plain (non-fancy) format; the presentation
/// directives are accepted for configuration compatibility.
pub const AUTOINDEX: &[DirectiveSpec] = &[
    d(
        "IndexIgnore",
        C::ANY,
        Arity::OneOrMore,
        "one or more file extensions",
    ),
    d(
        "IndexIgnoreReset",
        C::ANY,
        Arity::Flag,
        "Reset the inherited list of IndexIgnore filenames",
    ),
    d(
        "IndexOptions",
        C::ANY,
        Arity::OneOrMore,
        "one or more index options [+|-][] (accepted, no effect)",
    ),
    d(
        "IndexOrderDefault",
        C::ANY,
        Arity::Take2,
        "{Ascending,Descending} {Name,Size,Description,Date} (accepted, no effect)",
    ),
    d(
        "IndexStyleSheet",
        C::ANY,
        Arity::Take1,
        "URL to the style sheet (accepted, no effect)",
    ),
    d(
        "IndexHeadInsert",
        C::ANY,
        Arity::Take1,
        "String to insert in HTML HEAD section (accepted, no effect)",
    ),
    d(
        "AddIcon",
        C::ANY,
        Arity::TwoOrMore,
        "an icon URL followed by one or more filenames (accepted, no effect)",
    ),
    d(
        "AddIconByType",
        C::ANY,
        Arity::TwoOrMore,
        "an icon URL followed by one or more MIME types (accepted, no effect)",
    ),
    d(
        "AddIconByEncoding",
        C::ANY,
        Arity::TwoOrMore,
        "an icon URL followed by one or more content encodings (accepted, no effect)",
    ),
    d(
        "AddAlt",
        C::ANY,
        Arity::TwoOrMore,
        "alternate descriptive text followed by one or more filenames (accepted, no effect)",
    ),
    d(
        "AddAltByType",
        C::ANY,
        Arity::TwoOrMore,
        "alternate descriptive text followed by one or more MIME types (accepted, no effect)",
    ),
    d(
        "AddAltByEncoding",
        C::ANY,
        Arity::TwoOrMore,
        "alternate descriptive text followed by one or more content encodings (accepted, no effect)",
    ),
    d(
        "AddDescription",
        C::ANY,
        Arity::TwoOrMore,
        "Descriptive text followed by one or more filenames (accepted, no effect)",
    ),
    d(
        "DefaultIcon",
        C::ANY,
        Arity::Take1,
        "an icon URL (accepted, no effect)",
    ),
    d(
        "HeaderName",
        C::ANY,
        Arity::Take1,
        "a filename (accepted, no effect)",
    ),
    d(
        "ReadmeName",
        C::ANY,
        Arity::Take1,
        "a filename (accepted, no effect)",
    ),
];

/// mod_status.c.
pub const STATUS: &[DirectiveSpec] = &[
    d(
        "ExtendedStatus",
        C::GLOBAL,
        Arity::Flag,
        "\"On\" to track extended status information, \"Off\" to disable",
    ),
    d(
        "SeeRequestTail",
        C::GLOBAL,
        Arity::Flag,
        "For verbose requests, \"On\" to see the last 63 chars of the request, \"Off\" (default) to see the first 63 in extended status display",
    ),
];
