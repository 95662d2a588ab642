//! Apache's server-driven negotiation algorithm (`best_match` with
//! `is_variant_better` in mod_negotiation.c), without I/O: given the variants and the
//! request's Accept headers, which variant to serve, or none (406). Also what the
//! response says about the negotiation: `Vary`, `Alternates` and the variant list of
//! the 406 page.
//!
//! Per variant a quality is found for each dimension — media type (Accept, with
//! Apache's fiddles: no header counts as `*/*`, and without explicit `q` values a
//! wildcard match is worth 0.01 or 0.02), language (Accept-Language: the longest
//! matching range, `*`, the `en-US` → `en` fiddle at 0.001, 0.0001 for a variant
//! without language when others have one), charset (Accept-Charset, ISO-8859-1
//! acceptable unless excluded), content coding (Accept-Encoding: without the header
//! an encoded variant is worth 0.5, identity 1) — and the best variant is the one
//! with the highest media-type quality × source quality (`qs`), ties broken by
//! language quality, LanguagePriority order, the media type's `level`, charset
//! (anything over ISO-8859-1), coding quality and finally the smallest size; the
//! first variant in order wins a complete tie.

use super::accept::{AcceptItem, AcceptList};
use crate::conf::negotiation::ForceLanguagePriority;

/// One representation of the resource.
#[derive(Clone, Debug, PartialEq)]
pub struct Variant {
    /// The name relative to the negotiated resource's directory (MultiViews) or the
    /// type map's `URI:`.
    pub file_name: String,
    /// The media type without parameters, lower case; empty when unknown.
    pub mime_type: String,
    /// The media type's `level` parameter.
    pub level: f32,
    /// The media type's `charset` parameter, lower case.
    pub charset: Option<String>,
    /// Content-Language tags, lower case.
    pub languages: Vec<String>,
    /// Content-Encoding, lower case.
    pub encoding: Option<String>,
    /// The type map's `qs` (1 otherwise).
    pub source_quality: f32,
    /// The size in bytes, when known.
    pub length: Option<u64>,
    /// The type map's `Description:`.
    pub description: Option<String>,
    /// Whether a handler (CGI ...) produces it: Alternates then gives no length.
    pub has_handler: bool,
}

impl Default for Variant {
    fn default() -> Self {
        Variant {
            file_name: String::new(),
            mime_type: String::new(),
            level: 0.0,
            charset: None,
            languages: Vec::new(),
            encoding: None,
            source_quality: 1.0,
            length: None,
            description: None,
            has_handler: false,
        }
    }
}

impl Variant {
    /// Fill `mime_type`, `level`, `charset` and `source_quality` from a Content-Type
    /// value such as `text/html; charset=UTF-8; qs=0.5` (lenient, as `get_entry`).
    pub fn set_content_type(&mut self, value: &str) {
        let mut parts = value.split(';');
        self.mime_type = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        for p in parts {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let v = v.trim().trim_matches('"');
            match k.trim().to_ascii_lowercase().as_str() {
                "level" => self.level = super::accept::atof(v),
                "charset" if !v.is_empty() => self.charset = Some(v.to_ascii_lowercase()),
                // `get_entry` reads `q` as `qs` too.
                "qs" | "q" => self.source_quality = super::accept::atof(v).clamp(0.0, 1.0),
                _ => {}
            }
        }
    }

    fn is_pseudo_html(&self) -> bool {
        self.mime_type == "text/html"
            || self.mime_type == "text/x-server-parsed-html"
            || self.mime_type == "text/x-server-parsed-html3"
    }

    fn language_list(&self) -> Option<String> {
        (!self.languages.is_empty()).then(|| self.languages.join(","))
    }
}

/// The request's Accept headers (`None`: the header was absent).
#[derive(Clone, Debug, Default)]
pub struct Accepts {
    pub media: Option<AcceptList>,
    pub language: Option<AcceptList>,
    pub charset: Option<AcceptList>,
    pub encoding: Option<AcceptList>,
}

/// The configuration and request variables the algorithm reads.
#[derive(Clone, Copy, Debug, Default)]
pub struct Preferences<'a> {
    /// LanguagePriority, lower case.
    pub language_priority: &'a [String],
    pub force: ForceLanguagePriority,
    /// The `prefer-language` variable: only variants in it are considered (as if fully
    /// acceptable), unless none of them can be chosen.
    pub prefer_language: Option<&'a str>,
    /// `no-gzip` set: encoded variants are not considered.
    pub no_encodings: bool,
    /// `gzip-only-text/html` is `1`: encoded variants other than text/html are not
    /// considered.
    pub encodings_only_html: bool,
}

/// Each variant's qualities, as `best_match` computes them.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Scores {
    mime: f32,
    level_matched: f32,
    language: f32,
    /// The variant's position in LanguagePriority (`None`: not listed).
    language_index: Option<usize>,
    charset: f32,
    encoding: f32,
}

/// What the negotiation decided.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    /// The index of the variant to serve; `None`: nothing is acceptable (406).
    pub best: Option<usize>,
    /// The `Vary` value Apache sends (`negotiate,accept-language` ...); empty for none.
    pub vary: String,
    /// Whether the response says `TCN` and `Content-Location`.
    pub transparent: bool,
}

/// Choose among `variants` (in their canonical order). `transparent`: the resource is
/// transparently negotiable (MultiViews, a type map without `Body:` records), which
/// puts `negotiate` in Vary.
pub fn choose(
    variants: &[Variant],
    accepts: &Accepts,
    prefs: Preferences<'_>,
    transparent: bool,
) -> Decision {
    let default_lang_quality = if variants.iter().any(|v| !v.languages.is_empty()) {
        0.0001
    } else {
        1.0
    };
    let mut preferred = prefs.prefer_language;
    let (best, best_q) = loop {
        let mut best: Option<(usize, Scores)> = None;
        let mut best_q = 0.0f32;
        for (i, v) in variants.iter().enumerate() {
            let encoded =
                !is_identity(v.encoding.as_deref()) && v.encoding.as_deref() != Some("identity");
            if encoded
                && (prefs.no_encodings
                    || (prefs.encodings_only_html && !v.mime_type.starts_with("text/html")))
            {
                continue;
            }
            if preferred.is_some_and(|p| !v.languages.iter().any(|l| l == p)) {
                continue;
            }
            let s = Scores {
                language: 1.0,
                language_index: None,
                charset: charset_quality(v, accepts.charset.as_ref()),
                encoding: encoding_quality(v, accepts.encoding.as_ref()),
                ..media_quality(v, accepts.media.as_ref())
            };
            let s = match preferred {
                Some(_) => Scores { language: 1.0, ..s },
                None => {
                    language_quality(v, s, accepts.language.as_ref(), prefs, default_lang_quality)
                }
            };
            if let Some(q) = better(variants, v, &s, best.as_ref(), best_q) {
                best_q = q;
                best = Some((i, s));
            }
        }
        // A preferred language that gave nothing: negotiate over everything.
        if preferred.is_some() && (best.is_none() || best_q <= 0.0) {
            preferred = None;
            continue;
        }
        break (best, best_q);
    };
    Decision {
        best: best.filter(|_| best_q > 0.0).map(|(i, _)| i),
        vary: vary(variants, transparent),
        transparent,
    }
}

fn media_quality(v: &Variant, accept: Option<&AcceptList>) -> Scores {
    let star_star = AcceptList {
        items: vec![AcceptItem {
            name: "*/*".into(),
            quality: 1.0,
            level: 0.0,
        }],
        explicit_q: false,
    };
    let accept = accept.unwrap_or(&star_star);
    let mut stars = 0u8;
    let mut level_matched = 0.0;
    let mut q = 0.0;
    for item in &accept.items {
        let Some(these) = media_match(item, v) else {
            continue;
        };
        if these <= stars {
            continue;
        }
        stars = these;
        if these == 3 {
            level_matched = v.level;
        }
        q = match (accept.explicit_q, these) {
            (false, 1) => 0.01,
            (false, 2) => 0.02,
            _ => item.quality,
        };
    }
    Scores {
        mime: q,
        level_matched,
        language: 1.0,
        language_index: None,
        charset: 1.0,
        encoding: 1.0,
    }
}

/// How specifically `item` matches the variant's type: 1 for `*/*`, 2 for `type/*`,
/// 3 for the type itself; `None` when it does not.
fn media_match(item: &AcceptItem, v: &Variant) -> Option<u8> {
    let name = item.name.as_str();
    if name.starts_with('*') {
        return Some(1);
    }
    if let Some(major) = name.strip_suffix("/*")
        && v.mime_type.split('/').next() == Some(major)
        && v.mime_type.contains('/')
    {
        return Some(2);
    }
    let same = name == v.mime_type || (name == "text/html" && v.is_pseudo_html());
    (same && item.level >= v.level).then_some(3)
}

fn language_quality(
    v: &Variant,
    mut s: Scores,
    accept: Option<&AcceptList>,
    prefs: Preferences<'_>,
    default_quality: f32,
) -> Scores {
    if v.languages.is_empty() {
        s.language = default_quality;
        return s;
    }
    if let Some(accept) = accept {
        let star = accept.items.iter().find(|a| a.name == "*");
        let mut best: Option<&AcceptItem> = None;
        let mut any_match_on_star = false;
        let mut fiddle_q = 0.0;
        for lang in &v.languages {
            let mut this_tag: Option<&AcceptItem> = None;
            let mut longest = 0;
            for a in accept.items.iter().filter(|a| a.name != "*") {
                let range = a.name.as_str();
                let matches = lang.len() >= range.len()
                    && lang.starts_with(range)
                    && matches!(lang.as_bytes().get(range.len()), None | Some(b'-'));
                if matches && range.len() > longest {
                    longest = range.len();
                    this_tag = Some(a);
                }
                // `en-US` asked for: `en` and `en-GB` are worth a little.
                if this_tag.is_none()
                    && let Some((prefix, _)) = range.split_once('-')
                    && lang.starts_with(prefix)
                {
                    fiddle_q = 0.001;
                }
            }
            if best.is_none() || this_tag.is_some_and(|t| t.quality > best.unwrap().quality) {
                best = this_tag;
            }
            if this_tag.is_none() && star.is_some() {
                any_match_on_star = true;
            }
        }
        if any_match_on_star
            && let Some(star) = star
            && best.is_none_or(|b| star.quality > b.quality)
        {
            best = Some(star);
        }
        s.language = best.map_or(fiddle_q, |b| b.quality);
    }
    let force = prefs.force;
    if (force.prefer && s.language_index.is_none()) || (force.fallback && s.language == 0.0) {
        let index = v
            .languages
            .iter()
            .filter_map(|lang| {
                prefs
                    .language_priority
                    .iter()
                    .position(|p| lang.starts_with(p.as_str()))
            })
            .min();
        if let Some(index) = index {
            if s.language > 0.0 {
                if force.prefer {
                    s.language_index = Some(index);
                }
            } else if force.fallback {
                s.language_index = Some(index);
                s.language = 0.0001;
            }
        }
    }
    s
}

fn charset_quality(v: &Variant, accept: Option<&AcceptList>) -> f32 {
    let Some(accept) = accept else { return 1.0 };
    let charset = match v.charset.as_deref() {
        Some(c) => c,
        None if v.mime_type.starts_with("text/") => "iso-8859-1",
        None => return 1.0,
    };
    if let Some(a) = accept.items.iter().find(|a| a.name == charset) {
        return a.quality;
    }
    if let Some(star) = accept.items.iter().find(|a| a.name == "*") {
        return star.quality;
    }
    if charset == "iso-8859-1" { 1.0 } else { 0.0 }
}

fn is_identity(encoding: Option<&str>) -> bool {
    matches!(encoding, None | Some("" | "7bit" | "8bit" | "binary"))
}

fn encoding_quality(v: &Variant, accept: Option<&AcceptList>) -> f32 {
    let identity = is_identity(v.encoding.as_deref());
    let Some(accept) = accept else {
        return if identity { 1.0 } else { 0.5 };
    };
    let (coding, not_found) = match identity {
        true => ("identity", 0.0001),
        false => (v.encoding.as_deref().unwrap_or(""), 0.0),
    };
    let coding = coding.strip_prefix("x-").unwrap_or(coding);
    let mut star = None;
    for a in &accept.items {
        let name = a.name.strip_prefix("x-").unwrap_or(&a.name);
        if name == coding {
            return a.quality;
        }
        if name == "*" {
            star = Some(a.quality);
        }
    }
    star.unwrap_or(not_found)
}

/// `is_variant_better`: `Some(q)` when `v` beats the best so far.
fn better(
    variants: &[Variant],
    v: &Variant,
    s: &Scores,
    best: Option<&(usize, Scores)>,
    best_q: f32,
) -> Option<f32> {
    if s.encoding == 0.0
        || s.language == 0.0
        || v.source_quality == 0.0
        || s.charset == 0.0
        || s.mime == 0.0
    {
        return None;
    }
    let q = s.mime * v.source_quality;
    if q == 0.0 || q < best_q {
        return None;
    }
    let Some((bi, b)) = best else { return Some(q) };
    if q > best_q {
        return Some(q);
    }
    let bv = &variants[*bi];
    if s.language != b.language {
        return (s.language > b.language).then_some(q);
    }
    match (s.language_index, b.language_index) {
        (None, Some(_)) => return None,
        (Some(a), Some(bx)) if a > bx => return None,
        (Some(a), Some(bx)) if a < bx => return Some(q),
        (Some(_), None) => return Some(q),
        _ => {}
    }
    match level_cmp(v, s, bv, b) {
        std::cmp::Ordering::Less => return None,
        std::cmp::Ordering::Greater => return Some(q),
        std::cmp::Ordering::Equal => {}
    }
    if s.charset < b.charset {
        return None;
    }
    let latin1 = |c: Option<&str>| c.is_none_or(|c| c.is_empty() || c == "iso-8859-1");
    if s.charset > b.charset || (!latin1(v.charset.as_deref()) && latin1(bv.charset.as_deref())) {
        return Some(q);
    }
    if s.encoding != b.encoding {
        return (s.encoding > b.encoding).then_some(q);
    }
    // Apache compares sizes with -1 for an unknown one.
    let size = |l: Option<u64>| l.map_or(-1, i128::from);
    (size(v.length) < size(bv.length)).then_some(q)
}

fn level_cmp(v: &Variant, s: &Scores, bv: &Variant, b: &Scores) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    if v.is_pseudo_html() != bv.is_pseudo_html()
        || (!v.is_pseudo_html() && v.mime_type != bv.mime_type)
    {
        return Equal;
    }
    if s.level_matched != b.level_matched {
        return if s.level_matched > b.level_matched {
            Greater
        } else {
            Less
        };
    }
    if v.level != bv.level {
        return if v.level < bv.level { Greater } else { Less };
    }
    Equal
}

/// The dimensions in which the variants differ, as Apache's `set_neg_headers` writes
/// them after its Vary fix-up, `negotiate` first for a transparent resource.
fn vary(variants: &[Variant], transparent: bool) -> String {
    let differs = |f: &dyn Fn(&Variant) -> Option<String>| {
        let mut it = variants.iter().map(f);
        let first = it.next().flatten().unwrap_or_default();
        it.any(|x| x.unwrap_or_default() != first)
    };
    let mut vary = Vec::new();
    if transparent {
        vary.push("negotiate");
    }
    if differs(&|v| Some(v.mime_type.clone())) {
        vary.push("accept");
    }
    if differs(&|v| v.language_list()) {
        vary.push("accept-language");
    }
    if differs(&|v| v.charset.clone()) {
        vary.push("accept-charset");
    }
    if differs(&|v| v.encoding.clone()) {
        vary.push("accept-encoding");
    }
    vary.join(",")
}

/// The `Alternates` header of a list response (RFC 2295).
pub fn alternates(variants: &[Variant]) -> String {
    variants
        .iter()
        .map(|v| {
            let mut s = format!(
                "{{\"{}\" {}",
                crate::uri::encode_path(&v.file_name),
                source_quality_text(v.source_quality)
            );
            if !v.mime_type.is_empty() {
                s.push_str(&format!(" {{type {}}}", v.mime_type));
            }
            if let Some(c) = v.charset.as_deref().filter(|c| !c.is_empty()) {
                s.push_str(&format!(" {{charset {c}}}"));
            }
            if let Some(l) = v.language_list() {
                s.push_str(&format!(" {{language {l}}}"));
            }
            if let Some(e) = v.encoding.as_deref().filter(|e| !e.is_empty()) {
                s.push_str(&format!(" {{encoding {e}}}"));
            }
            if let (false, Some(len)) = (v.has_handler, v.length) {
                s.push_str(&format!(" {{length {len}}}"));
            }
            s.push('}');
            s
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `%1.3f` with trailing zeros stripped as Apache does (`1`, `0.5`, `0.125`).
fn source_quality_text(q: f32) -> String {
    let s = format!("{q:1.3}");
    let t = s.trim_end_matches('0');
    t.trim_end_matches('.').to_string()
}

/// The HTML list of variants in Apache's 406 page (names HTML-escaped).
pub fn variant_list(variants: &[Variant]) -> String {
    let esc = crate::error_pages::html_escape;
    let mut s = String::from("Available variants:\n<ul>\n");
    for v in variants {
        let name = esc(&v.file_name);
        s.push_str(&format!(
            "<li><a href=\"{name}\">{name}</a> {}",
            esc(v.description.as_deref().unwrap_or(""))
        ));
        if !v.mime_type.is_empty() {
            s.push_str(&format!(", type {}", esc(&v.mime_type)));
        }
        if let Some(l) = v.language_list() {
            s.push_str(&format!(", language {}", esc(&l)));
        }
        if let Some(c) = v.charset.as_deref().filter(|c| !c.is_empty()) {
            s.push_str(&format!(", charset {}", esc(c)));
        }
        if let Some(e) = &v.encoding {
            s.push_str(&format!(", encoding {}", esc(e)));
        }
        s.push_str("</li>\n");
    }
    s.push_str("</ul>\n");
    s
}

#[cfg(test)]
#[path = "algorithm_tests.rs"]
mod tests;
