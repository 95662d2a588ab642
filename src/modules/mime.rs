//! MIME types (placeholder until the static-file module lands).

/// Extension → MIME type map read from `TypesConfig`.
#[derive(Clone, Debug, Default)]
pub struct MimeTypes {}
