//! Output filtering: mod_deflate and mod_filter (only `AddOutputFilterByType`; the
//! filter-chain directives are unknown), and mod_negotiation's accepted directives.

use rhttpd_config::{Arity, Contexts as C, DirectiveSpec};

use super::d;

/// mod_deflate.c.
pub const DEFLATE: &[DirectiveSpec] = &[
    d(
        "DeflateCompressionLevel",
        C::SERVER_VHOST,
        Arity::Take1,
        "Set the Deflate Compression Level (1-9)",
    ),
    d(
        "DeflateBufferSize",
        C::SERVER_VHOST,
        Arity::Take1,
        "Set the Deflate Buffer Size (no effect)",
    ),
    d(
        "DeflateWindowSize",
        C::SERVER_VHOST,
        Arity::Take1,
        "Set the Deflate window size (1-15) (no effect)",
    ),
    d(
        "DeflateMemLevel",
        C::SERVER_VHOST,
        Arity::Take1,
        "Set the Deflate Memory Level (1-9) (no effect)",
    ),
    d(
        "DeflateFilterNote",
        C::SERVER_VHOST,
        Arity::Take12,
        "Set a note to report on compression ratio (no effect)",
    ),
    d(
        "DeflateAlterETag",
        C::ANY,
        Arity::Take1,
        "Set how mod_deflate should modify ETAG response headers: 'AddSuffix' (default), 'NoChange' (2.2.x behaviour), 'Remove'",
    ),
    d(
        "DeflateInflateLimitRequestBody",
        C::ANY,
        Arity::Take1,
        "Set a limit on size of inflated input",
    ),
    d(
        "DeflateInflateRatioLimit",
        C::ANY,
        Arity::Take1,
        "Set the inflate ratio limit above which inflation is aborted",
    ),
    d(
        "DeflateInflateRatioBurst",
        C::ANY,
        Arity::Take1,
        "Set the maximum number of following inflate ratios above limit",
    ),
];

/// mod_brotli.c.
pub const BROTLI: &[DirectiveSpec] = &[
    d(
        "BrotliCompressionQuality",
        C::SERVER_VHOST,
        Arity::Take1,
        "Compression quality between 0 and 11 (higher quality means slower compression)",
    ),
    d(
        "BrotliCompressionWindow",
        C::SERVER_VHOST,
        Arity::Take1,
        "Sliding window size between 10 and 24 (larger windows can improve compression ratio)",
    ),
    d(
        "BrotliCompressionMaxInputBlock",
        C::SERVER_VHOST,
        Arity::Take1,
        "Maximum input block size between 16 and 24 (no effect)",
    ),
    d(
        "BrotliAlterETag",
        C::SERVER_VHOST,
        Arity::Take1,
        "Set how mod_brotli should modify ETag response headers: 'AddSuffix' (default), 'NoChange', 'Remove'",
    ),
    d(
        "BrotliFilterNote",
        C::SERVER_VHOST,
        Arity::Take12,
        "Set a note to report on compression ratio (no effect)",
    ),
];

/// mod_filter.c.
pub const FILTER: &[DirectiveSpec] = &[d(
    "AddOutputFilterByType",
    C::ANY,
    Arity::TwoOrMore,
    "output filter name followed by one or more content-types",
)];

/// mod_negotiation.c: MultiViews and type maps (`modules/negotiation`).
pub const NEGOTIATION: &[DirectiveSpec] = &[
    d(
        "LanguagePriority",
        C::ANY,
        Arity::OneOrMore,
        "space-delimited list of MIME language abbreviations",
    ),
    d(
        "ForceLanguagePriority",
        C::ANY,
        Arity::OneOrMore,
        "Force LanguagePriority elections, either None, or Fallback and/or Prefer",
    ),
    d(
        "CacheNegotiatedDocs",
        C::SERVER_VHOST,
        Arity::Flag,
        "Either 'on' or 'off' (default) (accepted: negotiated responses carry Vary either way)",
    ),
];
