//! Output filters and compression configuration: the core's `SetOutputFilter` /
//! `SetInputFilter`, mod_mime's `AddOutputFilter`, mod_filter's `AddOutputFilterByType`
//! and mod_deflate's and mod_brotli's directives. The response side is `modules::deflate`.

use std::collections::HashMap;
use std::sync::Arc;

use rhttpd_config::{ConfigError, Directive};

use super::values::{err, number};

/// `DeflateAlterETag`: what compression does to the ETag.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AlterETag {
    /// `"abc"` becomes `"abc-gzip"` (Apache's default).
    #[default]
    AddSuffix,
    NoChange,
    Remove,
}

/// The per-directory part (server and virtual-host values are the base of every
/// section), merged as Apache merges each directive.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeflateDir {
    /// `SetOutputFilter` (upper-cased names; the more specific section replaces).
    pub set_output: Option<Vec<String>>,
    /// `AddOutputFilterByType FILTER;... type`: (upper-cased filters, lower-cased MIME
    /// type or `type/*`), added up along the merge.
    pub by_type: Arc<Vec<(Vec<String>, String)>>,
    /// `AddOutputFilter FILTER;... .ext`: extension (lower case, no dot) → filters.
    pub by_ext: Arc<HashMap<String, Vec<String>>>,
    /// `DeflateCompressionLevel` (1-9; zlib's default 6 when unset).
    pub level: Option<u32>,
    pub alter_etag: Option<AlterETag>,
    /// mod_brotli: `BrotliCompressionQuality` (0-11, default 5),
    /// `BrotliCompressionWindow` (10-24, default 18), `BrotliAlterETag`.
    pub brotli_quality: Option<u32>,
    pub brotli_window: Option<u32>,
    pub brotli_alter_etag: Option<AlterETag>,
    /// `SetInputFilter DEFLATE`: gzip request bodies are inflated for the handler.
    pub inflate: Option<bool>,
    /// `DeflateInflateLimitRequestBody` (bytes after inflation; default LimitRequestBody).
    pub inflate_limit: Option<u64>,
    /// `DeflateInflateRatioLimit` (default 200) and `DeflateInflateRatioBurst` (3).
    pub inflate_ratio_limit: Option<u64>,
    pub inflate_ratio_burst: Option<u32>,
}

impl DeflateDir {
    pub fn merge(&self, more: &DeflateDir) -> DeflateDir {
        let by_type = if more.by_type.is_empty() {
            self.by_type.clone()
        } else if self.by_type.is_empty() {
            more.by_type.clone()
        } else {
            Arc::new(
                self.by_type
                    .iter()
                    .chain(more.by_type.iter())
                    .cloned()
                    .collect(),
            )
        };
        let by_ext = if more.by_ext.is_empty() {
            self.by_ext.clone()
        } else if self.by_ext.is_empty() {
            more.by_ext.clone()
        } else {
            let mut m = (*self.by_ext).clone();
            m.extend(more.by_ext.iter().map(|(k, v)| (k.clone(), v.clone())));
            Arc::new(m)
        };
        DeflateDir {
            set_output: more.set_output.clone().or_else(|| self.set_output.clone()),
            by_type,
            by_ext,
            level: more.level.or(self.level),
            alter_etag: more.alter_etag.or(self.alter_etag),
            brotli_quality: more.brotli_quality.or(self.brotli_quality),
            brotli_window: more.brotli_window.or(self.brotli_window),
            brotli_alter_etag: more.brotli_alter_etag.or(self.brotli_alter_etag),
            inflate: more.inflate.or(self.inflate),
            inflate_limit: more.inflate_limit.or(self.inflate_limit),
            inflate_ratio_limit: more.inflate_ratio_limit.or(self.inflate_ratio_limit),
            inflate_ratio_burst: more.inflate_ratio_burst.or(self.inflate_ratio_burst),
        }
    }

    /// Whether any configuration here could compress a response.
    pub fn configured(&self) -> bool {
        let deflate = |fs: &Vec<String>| fs.iter().any(|f| COMPRESSORS.contains(&f.as_str()));
        self.set_output.as_ref().is_some_and(deflate)
            || self.by_type.iter().any(|(fs, _)| deflate(fs))
            || self.by_ext.values().any(deflate)
    }
}

/// Whether `name` is one of the directives [`directive`] handles.
pub fn handles(name: &str) -> bool {
    matches!(
        name,
        "SetOutputFilter"
            | "SetInputFilter"
            | "AddOutputFilter"
            | "AddOutputFilterByType"
            | "DeflateCompressionLevel"
            | "DeflateBufferSize"
            | "DeflateWindowSize"
            | "DeflateMemLevel"
            | "DeflateFilterNote"
            | "DeflateAlterETag"
            | "DeflateInflateLimitRequestBody"
            | "DeflateInflateRatioLimit"
            | "DeflateInflateRatioBurst"
            | "BrotliCompressionQuality"
            | "BrotliCompressionWindow"
            | "BrotliCompressionMaxInputBlock"
            | "BrotliAlterETag"
            | "BrotliFilterNote"
    )
}

/// The output filters rhttpd runs: mod_deflate's and mod_brotli's.
pub const COMPRESSORS: &[&str] = &["DEFLATE", "BROTLI_COMPRESS"];

/// The filters rhttpd runs ([`COMPRESSORS`]); other names are accepted with a warning.
fn filters(list: &str, warnings: &mut Vec<String>, directive: &str) -> Vec<String> {
    let names: Vec<String> = list
        .split(';')
        .filter(|s| !s.is_empty())
        .map(|s| s.to_ascii_uppercase())
        .collect();
    for n in &names {
        if !COMPRESSORS.contains(&n.as_str()) {
            warnings.push(format!(
                "{directive} {n}: rhttpd has no {n} filter; responses are sent without it"
            ));
        }
    }
    names
}

pub fn directive(
    z: &mut DeflateDir,
    d: &Directive,
    warnings: &mut Vec<String>,
) -> Result<(), ConfigError> {
    let a0 = d.args.first().map(String::as_str).unwrap_or("");
    match d.name {
        "SetOutputFilter" => z.set_output = Some(filters(a0, warnings, d.name)),
        "AddOutputFilter" => {
            let fs = filters(a0, warnings, d.name);
            let m = Arc::make_mut(&mut z.by_ext);
            for ext in &d.args[1..] {
                m.insert(ext.trim_start_matches('.').to_ascii_lowercase(), fs.clone());
            }
        }
        "AddOutputFilterByType" => {
            let fs = filters(a0, warnings, d.name);
            let v = Arc::make_mut(&mut z.by_type);
            for t in &d.args[1..] {
                v.push((fs.clone(), t.to_ascii_lowercase()));
            }
        }
        "SetInputFilter" => {
            let names: Vec<String> = a0
                .split(';')
                .filter(|s| !s.is_empty())
                .map(|s| s.to_ascii_uppercase())
                .collect();
            for n in names.iter().filter(|n| *n != "DEFLATE") {
                warnings.push(format!(
                    "SetInputFilter {n}: rhttpd has no {n} input filter; request bodies are passed without it"
                ));
            }
            z.inflate = Some(names.iter().any(|n| n == "DEFLATE"));
        }
        "DeflateInflateLimitRequestBody" => z.inflate_limit = Some(number(d, "number")?),
        "DeflateInflateRatioLimit" | "DeflateInflateRatioBurst" => {
            let n: u32 = number(d, "number")?;
            if n == 0 {
                return Err(err(&d.location, format!("{} must be positive", d.name)));
            }
            if d.name == "DeflateInflateRatioLimit" {
                z.inflate_ratio_limit = Some(u64::from(n));
            } else {
                z.inflate_ratio_burst = Some(n);
            }
        }
        "DeflateCompressionLevel" => {
            let n: u32 = number(d, "number")?;
            if !(1..=9).contains(&n) {
                return Err(err(
                    &d.location,
                    "DeflateCompressionLevel must be between 1 and 9",
                ));
            }
            z.level = Some(n);
        }
        "BrotliCompressionQuality" | "BrotliCompressionWindow" => {
            let n: u32 = number(d, "number")?;
            let (lo, hi) = if d.name == "BrotliCompressionQuality" {
                (0, 11)
            } else {
                (10, 24)
            };
            if !(lo..=hi).contains(&n) {
                return Err(err(
                    &d.location,
                    format!("{} must be between {lo} and {hi}", d.name),
                ));
            }
            if d.name == "BrotliCompressionQuality" {
                z.brotli_quality = Some(n);
            } else {
                z.brotli_window = Some(n);
            }
        }
        "DeflateAlterETag" | "BrotliAlterETag" => {
            let tag = Some(match a0.to_ascii_lowercase().as_str() {
                "addsuffix" => AlterETag::AddSuffix,
                "nochange" => AlterETag::NoChange,
                "remove" => AlterETag::Remove,
                _ => {
                    return Err(err(
                        &d.location,
                        format!(
                            "{} accepts only 'AddSuffix', 'NoChange', or 'Remove'",
                            d.name
                        ),
                    ));
                }
            });
            if d.name == "DeflateAlterETag" {
                z.alter_etag = tag;
            } else {
                z.brotli_alter_etag = tag;
            }
        }
        "DeflateBufferSize" | "DeflateWindowSize" | "DeflateMemLevel" => {
            let _: u32 = number(d, "number")?;
            warnings.push(format!(
                "{} {a0}: no effect (rhttpd's compressor sizes its own buffers and window)",
                d.name
            ));
        }
        _ => {
            // DeflateFilterNote: there is no ratio note.
            warnings.push(format!(
                "{} {}: no effect in rhttpd",
                d.name,
                d.args.join(" ")
            ));
        }
    }
    Ok(())
}
