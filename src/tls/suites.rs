//! Apache's `SSLProtocol` and `SSLCipherSuite` mapped onto what rustls (ring provider)
//! can offer, plus the names Apache exports for a negotiated connection (`SSL_PROTOCOL`,
//! `SSL_CIPHER`, `SSL_CIPHER_USEKEYSIZE`).
//!
//! rustls speaks TLS 1.2 and 1.3 only, with nine AEAD suites: three for TLS 1.3 and six
//! ECDHE suites for TLS 1.2 (ECDSA or RSA authentication, each with AES-128-GCM,
//! AES-256-GCM or ChaCha20-Poly1305). [`parse_cipher_suites`] evaluates an OpenSSL cipher
//! string with OpenSSL's own algorithm (the list, "add", "remove", "kill", "move to the
//! end" and `@STRENGTH` rules of `ssl_cipher_process_rulestr`) restricted to those six, so
//! the resulting order is the order `openssl ciphers` would print for them.
//!
//! `SSLHonorCipherOrder on` maps to `ServerConfig::ignore_client_order = true`; the order
//! returned here matters only then.

use rustls::crypto::ring::ALL_CIPHER_SUITES;
use rustls::{CipherSuite, CipherSuite as C, ProtocolVersion, SupportedCipherSuite};

/// The protocol versions a virtual host offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProtocolSet {
    /// TLS 1.2 is offered.
    pub tls12: bool,
    /// TLS 1.3 is offered.
    pub tls13: bool,
}

impl ProtocolSet {
    /// Both versions rustls offers (`SSLProtocol all`, also Apache's default).
    pub const ALL: ProtocolSet = ProtocolSet {
        tls12: true,
        tls13: true,
    };

    /// The rustls versions for `ServerConfig::builder_with_protocol_versions`, newest first.
    pub fn versions(self) -> Vec<&'static rustls::SupportedProtocolVersion> {
        let mut v = Vec::new();
        if self.tls13 {
            v.push(&rustls::version::TLS13);
        }
        if self.tls12 {
            v.push(&rustls::version::TLS12);
        }
        v
    }
}

/// SSLProtocol's protocol words; bit `1 << i` stands for `PROTOCOLS[i]`. rustls offers
/// the last two.
const PROTOCOLS: [&str; 5] = ["SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];

/// SSLProtocol's arguments, Apache semantics (mod_ssl `ssl_cmd_protocol_parse`): words
/// `all`, `SSLv3`, `TLSv1`, `TLSv1.1`, `TLSv1.2`, `TLSv1.3` (case-insensitive, as
/// Apache), each optionally prefixed with `+` (add) or `-` (remove); a word without a
/// prefix replaces the set built so far (Apache then warns with AH02532, returned here
/// as a warning). `all` is every protocol; `-SSLv2` is accepted, any other `SSLv2` is an
/// error as in Apache.
///
/// Returns the set and warnings: one for each of SSLv3, TLSv1 and TLSv1.1 that was named
/// with `+` or alone and is still in Apache's set at the end ("SSLProtocol: TLSv1 is not
/// supported by rhttpd (TLS 1.2 and 1.3 only); ignored"). `-TLSv1` and friends are silent
/// no-ops. An unknown word is an error in Apache's wording ("SSLProtocol: Illegal
/// protocol 'xyz'"), and so is a set with neither TLS 1.2 nor TLS 1.3 left.
pub fn parse_protocols(args: &[String]) -> Result<(ProtocolSet, Vec<String>), String> {
    let mut set = 0u8;
    let mut named = 0u8;
    let mut warnings = Vec::new();
    for arg in args {
        let (action, word) = match arg.as_bytes().first() {
            Some(&c @ (b'+' | b'-')) => (Some(c), &arg[1..]),
            _ => (None, arg.as_str()),
        };
        if word.eq_ignore_ascii_case("SSLv2") {
            if action == Some(b'-') {
                continue;
            }
            return Err("SSLProtocol: SSLv2 is no longer supported".to_string());
        }
        let (bits, explicit) = if word.eq_ignore_ascii_case("all") {
            (0b1_1111, 0)
        } else if let Some(i) = PROTOCOLS.iter().position(|p| p.eq_ignore_ascii_case(word)) {
            (1 << i, 1 << i)
        } else {
            return Err(format!("SSLProtocol: Illegal protocol '{word}'"));
        };
        match action {
            Some(b'-') => set &= !bits,
            Some(_) => {
                set |= bits;
                named |= explicit;
            }
            None => {
                if set != 0 {
                    warnings.push(format!(
                        "AH02532: SSLProtocol: Protocol '{word}' overrides already set \
                         parameter(s). Check if a +/- prefix is missing."
                    ));
                }
                set = bits;
                named |= explicit;
            }
        }
    }
    for (i, name) in PROTOCOLS[..3].iter().enumerate() {
        if set & named & (1 << i) != 0 {
            warnings.push(format!(
                "SSLProtocol: {name} is not supported by rhttpd (TLS 1.2 and 1.3 only); ignored"
            ));
        }
    }
    let protocols = ProtocolSet {
        tls12: set & 0b0_1000 != 0,
        tls13: set & 0b1_0000 != 0,
    };
    if !protocols.tls12 && !protocols.tls13 {
        return Err(format!(
            "SSLProtocol: no protocol left that rhttpd supports (TLS 1.2 and 1.3 only) in '{}'",
            args.join(" ")
        ));
    }
    Ok((protocols, warnings))
}

/// What OpenSSL's cipher machinery needs to know about one suite rustls offers.
struct Info {
    id: CipherSuite,
    /// OpenSSL's name (`SSL_CIPHER_get_name`); the RFC name for TLS 1.3.
    name: &'static str,
    /// Secret (symmetric key) bits, `SSL_CIPHER_get_bits`.
    bits: u16,
}

const fn info(id: CipherSuite, name: &'static str, bits: u16) -> Info {
    Info { id, name, bits }
}

/// The TLS 1.3 suites, in rustls's order.
#[rustfmt::skip]
const TLS13: [Info; 3] = [
    info(C::TLS13_AES_256_GCM_SHA384, "TLS_AES_256_GCM_SHA384", 256),
    info(C::TLS13_AES_128_GCM_SHA256, "TLS_AES_128_GCM_SHA256", 128),
    info(C::TLS13_CHACHA20_POLY1305_SHA256, "TLS_CHACHA20_POLY1305_SHA256", 256),
];

/// TLS 1.3 suites OpenSSL knows that rustls does not offer.
const TLS13_UNAVAILABLE: [&str; 4] = [
    "TLS_AES_128_CCM_SHA256",
    "TLS_AES_128_CCM_8_SHA256",
    "TLS_SHA256_SHA256",
    "TLS_SHA384_SHA384",
];

/// The TLS 1.2 suites in OpenSSL's initial order (what `openssl ciphers ALL` prints for
/// them). A [`Mask`] bit `i` stands for `TLS12[i]`.
#[rustfmt::skip]
const TLS12: [Info; 6] = [
    info(C::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "ECDHE-ECDSA-AES256-GCM-SHA384", 256),
    info(C::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, "ECDHE-RSA-AES256-GCM-SHA384", 256),
    info(C::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-ECDSA-CHACHA20-POLY1305", 256),
    info(C::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-RSA-CHACHA20-POLY1305", 256),
    info(C::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "ECDHE-ECDSA-AES128-GCM-SHA256", 128),
    info(C::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "ECDHE-RSA-AES128-GCM-SHA256", 128),
];

/// A set of [`TLS12`] suites, bit `i` for `TLS12[i]`.
type Mask = u8;
const M_ALL: Mask = 0b11_1111;
const M_ECDSA: Mask = 0b01_0101;
const M_RSA: Mask = 0b10_1010;
const M_AES256: Mask = 0b00_0011;
const M_CHACHA20: Mask = 0b00_1100;
const M_AES128: Mask = 0b11_0000;
const M_AESGCM: Mask = M_AES256 | M_AES128;

/// OpenSSL's cipher-string aliases (ssl_ciph.c `cipher_aliases`, OpenSSL 3) that select
/// some suite rustls offers, and the suites each selects here.
#[rustfmt::skip]
const ALIASES: &[(&str, Mask)] = &[
    ("ALL", M_ALL), ("HIGH", M_ALL), ("ECDHE", M_ALL), ("EECDH", M_ALL), ("kECDHE", M_ALL),
    ("kEECDH", M_ALL), ("ECDH", M_ALL), ("TLSv1.2", M_ALL), ("aRSA", M_RSA),
    ("aECDSA", M_ECDSA), ("ECDSA", M_ECDSA), ("AESGCM", M_AESGCM), ("AES", M_AESGCM),
    ("AES128", M_AES128), ("AES256", M_AES256), ("CHACHA20", M_CHACHA20),
    ("FIPS", M_AESGCM),
];

/// Aliases that select only suites rustls lacks, including the ones OpenSSL 1.1 dropped
/// (EXP, kECDH, ...) so that old configurations stay quiet. `RSA` is OpenSSL's RSA *key
/// exchange* (`kRSA`), not RSA authentication (`aRSA`).
const NOTHING: &str = "COMPLEMENTOFALL COMPLEMENTOFDEFAULT MEDIUM LOW EXP EXPORT EXPORT40 EXPORT56 eNULL \
     NULL aNULL ADH AECDH kRSA RSA kEDH kDHE EDH DHE DH kDH kDHr kDHd aDH kECDH kECDHr \
     kECDHe aECDH DSS aDSS PSK kPSK aPSK kRSAPSK kECDHEPSK kDHEPSK SRP kSRP aSRP KRB5 \
     kKRB5 aKRB5 GOST kGOST kGOST18 aGOST aGOST01 aGOST12 GOST94 GOST89MAC GOST12 RC4 \
     RC2 DES 3DES IDEA SEED CAMELLIA CAMELLIA128 CAMELLIA256 ARIA ARIAGCM ARIA128 \
     ARIA256 AESCCM AESCCM8 CBC MD5 SHA1 SHA SHA256 SHA384 SSLv2 SSLv3 TLSv1 TLSv1.0 \
     TLSv1.1";

/// What a word of a cipher string names.
enum Word {
    /// Suites rustls offers (possibly none).
    Mask(Mask),
    /// A TLS 1.3 suite, which belongs in `SSLCipherSuite TLSv1.3`.
    Tls13,
    /// Looks like a cipher suite name, but rustls does not offer it.
    Unavailable,
    /// Neither an alias nor a cipher suite name.
    Unknown,
}

fn lookup(word: &str) -> Word {
    if let Some(i) = TLS12.iter().position(|s| s.name == word) {
        return Word::Mask(1 << i);
    }
    // An extension: the RFC names of the six suites ("TLS_ECDHE_RSA_WITH_...").
    if let Some(i) = TLS12.iter().position(|s| format!("{:?}", s.id) == word) {
        return Word::Mask(1 << i);
    }
    if let Some(&(_, mask)) = ALIASES.iter().find(|(name, _)| *name == word) {
        return Word::Mask(mask);
    }
    if NOTHING.split_ascii_whitespace().any(|w| w == word) {
        return Word::Mask(0);
    }
    if TLS13.iter().any(|s| s.name == word) || TLS13_UNAVAILABLE.contains(&word) {
        return Word::Tls13;
    }
    let b = word.as_bytes();
    let openssl_shape = b.first().is_some_and(u8::is_ascii_uppercase)
        && b.contains(&b'-')
        && b.iter()
            .all(|&c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'-');
    let rfc_shape = (word.starts_with("TLS_") || word.starts_with("SSL_"))
        && b.iter()
            .all(|&c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_');
    if openssl_shape || rfc_shape {
        Word::Unavailable
    } else {
        Word::Unknown
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Rule {
    Add,
    Del,
    Ord,
    Kill,
    Special,
}

/// OpenSSL's cipher list restricted to [`TLS12`]: every suite not killed, in list order,
/// each active (selected) or not.
struct Engine {
    list: Vec<u8>,
    active: Mask,
}

impl Engine {
    fn new() -> Engine {
        Engine {
            list: (0..TLS12.len() as u8).collect(),
            active: 0,
        }
    }

    /// `ssl_cipher_apply_rule`: add appends matching inactive suites, `+` moves matching
    /// active ones to the end, `-` deactivates them and moves them to the front (so a
    /// later add restores them first), `!` removes them for good.
    fn apply(&mut self, rule: Rule, mask: Mask) {
        let hit = |i: u8| mask & (1 << i) != 0;
        let active = self.active;
        let (moved, rest): (Vec<u8>, Vec<u8>) = match rule {
            Rule::Add => self
                .list
                .iter()
                .partition(|&&i| hit(i) && active & (1 << i) == 0),
            Rule::Ord | Rule::Del => self
                .list
                .iter()
                .partition(|&&i| hit(i) && active & (1 << i) != 0),
            Rule::Kill => {
                self.list.retain(|&i| !hit(i));
                self.active &= !mask;
                return;
            }
            Rule::Special => return,
        };
        let moved_mask = moved.iter().fold(0, |m, &i| m | (1 << i));
        match rule {
            Rule::Del => {
                self.list = [moved, rest].concat();
                self.active &= !moved_mask;
            }
            _ => {
                self.list = [rest, moved].concat();
                self.active |= moved_mask;
            }
        }
    }

    /// `@STRENGTH`: active suites sorted by secret bits, strongest first, stable.
    fn strength_sort(&mut self) {
        for bits in [256, 128] {
            let mask = (0..TLS12.len())
                .filter(|&i| TLS12[i].bits == bits)
                .fold(0, |m, i| m | (1 << i));
            self.apply(Rule::Ord, mask);
        }
    }

    fn selected(&self) -> Vec<u8> {
        let active = self.active;
        self.list
            .iter()
            .copied()
            .filter(|&i| active & (1 << i) != 0)
            .collect()
    }
}

/// Names met while evaluating cipher strings, for the warnings.
#[derive(Default)]
struct Notes {
    unavailable: Vec<String>,
    tls13_in_tls12: Vec<String>,
    unknown: Vec<String>,
    other: Vec<String>,
}

fn note(list: &mut Vec<String>, word: &str) {
    if !list.iter().any(|w| w == word) {
        list.push(word.to_string());
    }
}

fn is_sep(c: u8) -> bool {
    matches!(c, b':' | b' ' | b';' | b',')
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'=')
}

/// `ssl_cipher_process_rulestr`, step by step, so that odd strings fail or pass exactly
/// where OpenSSL's do.
fn process(engine: &mut Engine, s: &str, notes: &mut Notes) -> Result<(), String> {
    let b = s.as_bytes();
    let n = b.len();
    let mut l = 0;
    let invalid = |at: usize| {
        Err(format!(
            "SSLCipherSuite: invalid cipher string '{s}' at '{}'",
            String::from_utf8_lossy(&b[at..])
        ))
    };
    while l < n {
        let ch = b[l];
        let rule = match ch {
            b'-' => Rule::Del,
            b'+' => Rule::Ord,
            b'!' => Rule::Kill,
            b'@' => Rule::Special,
            _ => Rule::Add,
        };
        if rule != Rule::Add {
            l += 1;
        } else if is_sep(ch) {
            l += 1;
            continue;
        }
        let mut mask = M_ALL;
        let mut found = true;
        let mut special = ("", 0);
        loop {
            let start = l;
            while l < n && is_word(b[l]) {
                l += 1;
            }
            if l == start {
                return invalid(start);
            }
            let word = s.get(start..l).unwrap_or_default();
            let multi = l < n && b[l] == b'+';
            if multi {
                l += 1;
            }
            if rule == Rule::Special {
                special = (word, start);
                break;
            }
            match lookup(word) {
                Word::Mask(m) => mask &= m,
                other => {
                    found = false;
                    match other {
                        Word::Unknown => note(&mut notes.unknown, word),
                        Word::Unavailable if rule == Rule::Add => {
                            note(&mut notes.unavailable, word)
                        }
                        Word::Tls13 if rule == Rule::Add => note(&mut notes.tls13_in_tls12, word),
                        _ => {}
                    }
                    break;
                }
            }
            if !multi {
                break;
            }
        }
        if rule == Rule::Special {
            let (word, at) = special;
            match (word, word.strip_prefix("SECLEVEL=").map(str::as_bytes)) {
                ("STRENGTH", _) => engine.strength_sort(),
                // Levels 0 to 3 allow every suite here.
                (_, Some(&[b'0'..=b'3'])) => {}
                (_, Some(&[b'4'..=b'5'])) => notes.other.push(format!(
                    "SSLCipherSuite: @{word} is not enforced by rhttpd; ignored"
                )),
                _ => return invalid(at),
            }
        } else if found {
            engine.apply(rule, mask);
            continue;
        }
        while l < n && !is_sep(b[l]) {
            l += 1;
        }
    }
    Ok(())
}

/// The TLS 1.2 suites an OpenSSL cipher string selects, as [`TLS12`] indices in order.
fn tls12_order(s: &str, notes: &mut Notes) -> Result<Vec<u8>, String> {
    let mut engine = Engine::new();
    let mut rest = s;
    // ssl_ciph.c check_suiteb_cipher_list: a Suite B keyword at the start replaces the
    // whole string.
    const SUITEB: [(&str, &str); 4] = [
        ("SUITEB128ONLY", "ECDHE-ECDSA-AES128-GCM-SHA256"),
        ("SUITEB128C2", "ECDHE-ECDSA-AES256-GCM-SHA384"),
        (
            "SUITEB128",
            "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384",
        ),
        ("SUITEB192", "ECDHE-ECDSA-AES256-GCM-SHA384"),
    ];
    if let Some(&(word, list)) = SUITEB.iter().find(|(w, _)| s.starts_with(w)) {
        notes.other.push(format!(
            "SSLCipherSuite: {word} selects its cipher suites, but rhttpd does not restrict \
             curves and signature algorithms to Suite B"
        ));
        rest = list;
    }
    // "DEFAULT" is special only at the very start (OpenSSL's default list is
    // "ALL:!COMPLEMENTOFDEFAULT:!eNULL", every suite here).
    if let Some(after) = rest.strip_prefix("DEFAULT") {
        engine.apply(Rule::Add, M_ALL);
        rest = after.strip_prefix(':').unwrap_or(after);
    }
    process(&mut engine, rest, notes)?;
    Ok(engine.selected())
}

/// The suites an `SSLCipherSuite TLSv1.3` list names, in order, without duplicates
/// (OpenSSL's `SSL_CTX_set_ciphersuites`: exact names separated by `:`, here also by `,`,
/// `;` or blanks; unknown ones ignored).
fn tls13_order(s: &str, notes: &mut Notes) -> Vec<usize> {
    let mut order = Vec::new();
    for word in s
        .split([':', ',', ';', ' ', '\t'])
        .filter(|w| !w.is_empty())
    {
        if let Some(i) = TLS13.iter().position(|t| t.name == word) {
            if !order.contains(&i) {
                order.push(i);
            }
        } else if TLS13_UNAVAILABLE.contains(&word) {
            note(&mut notes.unavailable, word);
        } else {
            note(&mut notes.unknown, word);
        }
    }
    order
}

fn supported(id: CipherSuite) -> Option<SupportedCipherSuite> {
    ALL_CIPHER_SUITES.iter().copied().find(|s| s.suite() == id)
}

/// `SSLCipherSuite`. `tls12` is the OpenSSL cipher string for TLS 1.2 and below
/// (Apache's one-argument form, or `SSLCipherSuite SSL <list>`), `tls13` the list for
/// TLS 1.3 (`SSLCipherSuite TLSv1.3 TLS_AES_256_GCM_SHA384:...`). `None` means the
/// default: every suite of that version, in rustls's order.
///
/// Returns the suites of the enabled `protocols` in preference order, TLS 1.3 suites
/// first as OpenSSL does, and warnings: one naming every suite that was asked for and
/// that rustls cannot offer ("SSLCipherSuite: DHE-RSA-AES128-GCM-SHA256 is not available
/// in rhttpd (rustls); ignored"), one for TLS 1.3 names in the TLS 1.2 string, one for
/// words that are neither aliases nor suite names (ignored, as OpenSSL does), and one when
/// a TLS 1.3 list leaves TLS 1.3 without a suite (TLS 1.3 is then not negotiated).
///
/// Errors, as Apache with OpenSSL refuses to start: a string OpenSSL rejects ("invalid
/// command"); a TLS 1.2 string that selects no suite while TLS 1.2 is enabled (OpenSSL's
/// "no cipher match", e.g. `RC4-SHA`); no suite at all for the enabled protocols.
pub fn parse_cipher_suites(
    tls12: Option<&str>,
    tls13: Option<&str>,
    protocols: ProtocolSet,
) -> Result<(Vec<SupportedCipherSuite>, Vec<String>), String> {
    let mut notes = Notes::default();
    let ids13: Vec<CipherSuite> = match tls13 {
        None => TLS13.iter().map(|s| s.id).collect(),
        Some(s) => tls13_order(s, &mut notes)
            .into_iter()
            .map(|i| TLS13[i].id)
            .collect(),
    };
    let ids12: Vec<CipherSuite> = match tls12 {
        None => ALL_CIPHER_SUITES
            .iter()
            .filter(|s| s.tls13().is_none())
            .map(|s| s.suite())
            .collect(),
        Some(s) => tls12_order(s, &mut notes)?
            .into_iter()
            .map(|i| TLS12[usize::from(i)].id)
            .collect(),
    };
    let mut warnings = notes.other;
    if !notes.unavailable.is_empty() {
        let verb = if notes.unavailable.len() == 1 {
            "is"
        } else {
            "are"
        };
        warnings.push(format!(
            "SSLCipherSuite: {} {verb} not available in rhttpd (rustls); ignored",
            notes.unavailable.join(", ")
        ));
    }
    if !notes.tls13_in_tls12.is_empty() {
        warnings.push(format!(
            "SSLCipherSuite: {} belong(s) to TLSv1.3, set with 'SSLCipherSuite TLSv1.3 ...'; \
             ignored in the TLSv1.2 cipher string",
            notes.tls13_in_tls12.join(", ")
        ));
    }
    if !notes.unknown.is_empty() {
        let quoted: Vec<String> = notes.unknown.iter().map(|w| format!("'{w}'")).collect();
        warnings.push(format!(
            "SSLCipherSuite: unknown cipher name(s) {} ignored",
            quoted.join(", ")
        ));
    }
    if !protocols.tls12 && !protocols.tls13 {
        return Err("SSLCipherSuite: no protocol enabled".to_string());
    }
    if protocols.tls12 && ids12.is_empty() {
        let mut msg = format!(
            "SSLCipherSuite: no cipher suite left for TLSv1.2 in '{}' (rhttpd offers only \
             ECDHE with AES-GCM or CHACHA20-POLY1305)",
            tls12.unwrap_or_default()
        );
        if !notes.unavailable.is_empty() {
            msg.push_str(&format!(
                "; not available: {}",
                notes.unavailable.join(", ")
            ));
        }
        return Err(msg);
    }
    if protocols.tls13 && ids13.is_empty() {
        let what = format!(
            "no cipher suite left for TLSv1.3 in '{}'",
            tls13.unwrap_or_default()
        );
        if !protocols.tls12 {
            return Err(format!("SSLCipherSuite: {what}"));
        }
        warnings.push(format!(
            "SSLCipherSuite: {what}; TLSv1.3 will not be negotiated"
        ));
    }
    let mut suites = Vec::new();
    if protocols.tls13 {
        suites.extend(ids13.into_iter().filter_map(supported));
    }
    if protocols.tls12 {
        suites.extend(ids12.into_iter().filter_map(supported));
    }
    Ok((suites, warnings))
}

fn find(suite: CipherSuite) -> Option<&'static Info> {
    TLS13.iter().chain(TLS12.iter()).find(|s| s.id == suite)
}

/// OpenSSL's name of a suite, what Apache puts in `SSL_CIPHER` and `%{SSL_CIPHER}x`:
/// "ECDHE-ECDSA-AES128-GCM-SHA256", or the RFC name for TLS 1.3 ("TLS_AES_128_GCM_SHA256").
/// "UNKNOWN" for a suite rustls does not offer.
pub fn openssl_name(suite: CipherSuite) -> &'static str {
    find(suite).map_or("UNKNOWN", |s| s.name)
}

/// The suite's secret key bits, 128 or 256 (`SSL_CIPHER_USEKEYSIZE` and
/// `SSL_CIPHER_ALGKEYSIZE`, which are equal for these suites); 0 for a suite rustls does
/// not offer.
pub fn secret_bits(suite: CipherSuite) -> u16 {
    find(suite).map_or(0, |s| s.bits)
}

/// OpenSSL's name of a protocol version (`SSL_PROTOCOL`): "TLSv1.2", "TLSv1.3"; "unknown"
/// (as `SSL_get_version`) for anything else rustls cannot negotiate.
pub fn protocol_name(v: ProtocolVersion) -> &'static str {
    match v {
        ProtocolVersion::TLSv1_3 => "TLSv1.3",
        ProtocolVersion::TLSv1_2 => "TLSv1.2",
        ProtocolVersion::TLSv1_1 => "TLSv1.1",
        ProtocolVersion::TLSv1_0 => "TLSv1",
        ProtocolVersion::SSLv3 => "SSLv3",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::process::Command;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    fn protocols(s: &str) -> Result<(ProtocolSet, Vec<String>), String> {
        parse_protocols(&args(s))
    }

    const BOTH: ProtocolSet = ProtocolSet::ALL;
    const ONLY12: ProtocolSet = ProtocolSet {
        tls12: true,
        tls13: false,
    };
    const ONLY13: ProtocolSet = ProtocolSet {
        tls12: false,
        tls13: true,
    };

    fn names(suites: &[SupportedCipherSuite]) -> Vec<&'static str> {
        suites.iter().map(|s| openssl_name(s.suite())).collect()
    }

    fn tls12_names(s: &str) -> Result<Vec<&'static str>, String> {
        let order = tls12_order(s, &mut Notes::default())?;
        Ok(order.iter().map(|&i| TLS12[usize::from(i)].name).collect())
    }

    const E256: &str = "ECDHE-ECDSA-AES256-GCM-SHA384";
    const R256: &str = "ECDHE-RSA-AES256-GCM-SHA384";
    const ECHA: &str = "ECDHE-ECDSA-CHACHA20-POLY1305";
    const RCHA: &str = "ECDHE-RSA-CHACHA20-POLY1305";
    const E128: &str = "ECDHE-ECDSA-AES128-GCM-SHA256";
    const R128: &str = "ECDHE-RSA-AES128-GCM-SHA256";
    const T256: &str = "TLS_AES_256_GCM_SHA384";
    const T128: &str = "TLS_AES_128_GCM_SHA256";
    const TCHA: &str = "TLS_CHACHA20_POLY1305_SHA256";

    const MOZILLA_INTERMEDIATE: &str = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:\
        ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:\
        ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:\
        DHE-RSA-CHACHA20-POLY1305";

    #[test]
    fn protocol_words() {
        let set = |s| protocols(s).unwrap().0;
        assert_eq!(set("all"), BOTH);
        assert_eq!(set("TLSv1.2"), ONLY12);
        assert_eq!(set("tlsv1.3"), ONLY13);
        assert_eq!(set("-all +TLSv1.2"), ONLY12);
        assert_eq!(set("all -SSLv3 -TLSv1 -TLSv1.1"), BOTH);
        assert_eq!(set("all -TLSv1.3"), ONLY12);
        assert_eq!(set("+TLSv1.2 +TLSv1.3"), BOTH);
        assert_eq!(set("-SSLv2 all"), BOTH);
        // Debian's ssl.conf.
        let (set, warnings) = protocols("all -SSLv3").unwrap();
        assert_eq!((set, warnings), (BOTH, vec![]));
    }

    #[test]
    fn protocol_warnings() {
        let (set, w) = protocols("TLSv1 +TLSv1.1 +TLSv1.2").unwrap();
        assert_eq!(set, ONLY12);
        assert_eq!(
            w,
            [
                "SSLProtocol: TLSv1 is not supported by rhttpd (TLS 1.2 and 1.3 only); ignored",
                "SSLProtocol: TLSv1.1 is not supported by rhttpd (TLS 1.2 and 1.3 only); ignored",
            ]
        );
        // Named, then removed: nothing to warn about.
        assert_eq!(
            protocols("all +TLSv1 -TLSv1").unwrap().1,
            Vec::<String>::new()
        );
        // A word without prefix replaces what came before (AH02532).
        let (set, w) = protocols("TLSv1.2 TLSv1.3").unwrap();
        assert_eq!(set, ONLY13);
        assert_eq!(w.len(), 1);
        assert!(w[0].starts_with("AH02532: SSLProtocol: Protocol 'TLSv1.3' overrides"));
        let (set, w) = protocols("TLSv1 TLSv1.2").unwrap();
        assert_eq!(set, ONLY12);
        assert_eq!(w.len(), 1, "{w:?}");
    }

    #[test]
    fn protocol_errors() {
        assert_eq!(
            protocols("all -TLSv1.4").unwrap_err(),
            "SSLProtocol: Illegal protocol 'TLSv1.4'"
        );
        assert_eq!(
            protocols("xyz").unwrap_err(),
            "SSLProtocol: Illegal protocol 'xyz'"
        );
        assert_eq!(
            protocols("+SSLv2").unwrap_err(),
            "SSLProtocol: SSLv2 is no longer supported"
        );
        let e = protocols("TLSv1 +TLSv1.1").unwrap_err();
        assert!(
            e.contains("no protocol left") && e.contains("'TLSv1 +TLSv1.1'"),
            "{e}"
        );
        assert!(protocols("-all").is_err());
        assert!(protocols("").is_err());
    }

    #[test]
    fn versions_newest_first() {
        let v = BOTH.versions();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].version, ProtocolVersion::TLSv1_3);
        assert_eq!(ONLY12.versions()[0].version, ProtocolVersion::TLSv1_2);
    }

    #[test]
    fn tables_match_the_provider() {
        for s in ALL_CIPHER_SUITES {
            assert_ne!(openssl_name(s.suite()), "UNKNOWN", "{:?}", s.suite());
            assert!(matches!(secret_bits(s.suite()), 128 | 256));
        }
        assert_eq!(ALL_CIPHER_SUITES.len(), TLS12.len() + TLS13.len());
        assert_eq!(
            openssl_name(CipherSuite::TLS_RSA_WITH_AES_128_CBC_SHA),
            "UNKNOWN"
        );
        assert_eq!(secret_bits(CipherSuite::TLS_RSA_WITH_AES_128_CBC_SHA), 0);
        assert_eq!(
            openssl_name(CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256),
            E128
        );
        assert_eq!(openssl_name(CipherSuite::TLS13_AES_128_GCM_SHA256), T128);
        assert_eq!(
            secret_bits(CipherSuite::TLS13_CHACHA20_POLY1305_SHA256),
            256
        );
        assert_eq!(secret_bits(CipherSuite::TLS13_AES_128_GCM_SHA256), 128);
        assert_eq!(protocol_name(ProtocolVersion::TLSv1_2), "TLSv1.2");
        assert_eq!(protocol_name(ProtocolVersion::TLSv1_3), "TLSv1.3");
        assert_eq!(protocol_name(ProtocolVersion::Unknown(7)), "unknown");
    }

    #[test]
    fn defaults_are_every_suite_in_rustls_order() {
        let (suites, w) = parse_cipher_suites(None, None, BOTH).unwrap();
        assert!(w.is_empty());
        let want: Vec<CipherSuite> = ALL_CIPHER_SUITES.iter().map(|s| s.suite()).collect();
        let got: Vec<CipherSuite> = suites.iter().map(|s| s.suite()).collect();
        assert_eq!(got, want);
        let (suites, _) = parse_cipher_suites(None, None, ONLY12).unwrap();
        assert_eq!(suites.len(), 6);
        assert!(suites.iter().all(|s| s.tls13().is_none()));
        let (suites, _) = parse_cipher_suites(None, None, ONLY13).unwrap();
        assert_eq!(names(&suites), [T256, T128, TCHA]);
    }

    #[test]
    fn real_world_strings() {
        let all_openssl = [E256, R256, ECHA, RCHA, E128, R128];
        assert_eq!(tls12_names("HIGH:!aNULL").unwrap(), all_openssl);
        assert_eq!(
            tls12_names("HIGH:MEDIUM:!aNULL:!MD5:!RC4:!3DES:!EXP:!kECDH").unwrap(),
            all_openssl
        );
        assert_eq!(tls12_names("DEFAULT").unwrap(), all_openssl);
        assert_eq!(tls12_names("ALL").unwrap(), all_openssl);
        assert_eq!(
            tls12_names("EECDH+AESGCM:EDH+AESGCM").unwrap(),
            [E256, R256, E128, R128]
        );
        assert_eq!(tls12_names("ECDHE+AESGCM:!ECDSA").unwrap(), [R256, R128]);
        assert_eq!(
            tls12_names("AES256+EECDH:AES256+EDH").unwrap(),
            [E256, R256]
        );
        assert_eq!(tls12_names("aECDSA+AES256").unwrap(), [E256]);
        assert_eq!(
            tls12_names("ECDHE-RSA-AES128-GCM-SHA256:ECDHE+CHACHA20:@STRENGTH").unwrap(),
            [ECHA, RCHA, R128]
        );
        assert_eq!(
            tls12_names("ALL:-ECDSA:ALL").unwrap(),
            [R256, RCHA, R128, E256, ECHA, E128]
        );
        assert_eq!(
            tls12_names("ALL:+AES128").unwrap(),
            [E256, R256, ECHA, RCHA, E128, R128]
        );
        assert_eq!(
            tls12_names("ALL:+AES256").unwrap(),
            [ECHA, RCHA, E128, R128, E256, R256]
        );
        assert_eq!(tls12_names("ALL:!ECDSA:ALL").unwrap(), [R256, RCHA, R128]);
        assert_eq!(tls12_names("ECDHE:DEFAULT").unwrap(), all_openssl);
        assert_eq!(tls12_names("SUITEB128").unwrap(), [E128, E256]);
        // RFC names are accepted too.
        assert_eq!(
            tls12_names("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256").unwrap(),
            [R128]
        );
        // OpenSSL's RSA alias is RSA key exchange: it selects nothing here.
        assert_eq!(tls12_names("ECDHE:!RSA").unwrap(), all_openssl);
        assert_eq!(tls12_names("ECDHE:!aRSA").unwrap(), [E256, ECHA, E128]);
        // Aliases are case-sensitive, as in OpenSSL.
        assert_eq!(tls12_names("high").unwrap(), Vec::<&str>::new());
    }

    #[test]
    fn mozilla_intermediate_keeps_its_order_and_names_what_is_missing() {
        let (suites, w) = parse_cipher_suites(Some(MOZILLA_INTERMEDIATE), None, BOTH).unwrap();
        assert_eq!(
            names(&suites),
            [T256, T128, TCHA, E128, R128, E256, R256, ECHA, RCHA]
        );
        assert_eq!(
            w,
            [
                "SSLCipherSuite: DHE-RSA-AES128-GCM-SHA256, DHE-RSA-AES256-GCM-SHA384, \
              DHE-RSA-CHACHA20-POLY1305 are not available in rhttpd (rustls); ignored"
            ]
        );
        let (_, w) =
            parse_cipher_suites(Some("ECDHE:DHE-RSA-AES128-GCM-SHA256"), None, BOTH).unwrap();
        assert_eq!(
            w,
            [
                "SSLCipherSuite: DHE-RSA-AES128-GCM-SHA256 is not available in rhttpd (rustls); \
              ignored"
            ]
        );
        // Removing what is not there is no news.
        let (_, w) =
            parse_cipher_suites(Some("ECDHE:!DHE-RSA-AES128-GCM-SHA256:!EXP"), None, BOTH).unwrap();
        assert!(w.is_empty(), "{w:?}");
    }

    #[test]
    fn warnings_for_unknown_words_and_misplaced_tls13_names() {
        let (suites, w) = parse_cipher_suites(
            Some("HIGH:!aNUL:TLS_AES_128_GCM_SHA256:ECDHE:DEFAULT"),
            None,
            BOTH,
        )
        .unwrap();
        assert_eq!(suites.len(), 9);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(
            w[0].contains("TLS_AES_128_GCM_SHA256 belong(s) to TLSv1.3"),
            "{w:?}"
        );
        assert_eq!(
            w[1],
            "SSLCipherSuite: unknown cipher name(s) 'aNUL', 'DEFAULT' ignored"
        );
        let (_, w) = parse_cipher_suites(Some("ALL:@SECLEVEL=5"), None, BOTH).unwrap();
        assert_eq!(
            w,
            ["SSLCipherSuite: @SECLEVEL=5 is not enforced by rhttpd; ignored"]
        );
        let (_, w) = parse_cipher_suites(Some("ALL:@SECLEVEL=2"), None, BOTH).unwrap();
        assert!(w.is_empty());
    }

    #[test]
    fn errors() {
        let e = parse_cipher_suites(Some("RC4-SHA"), None, BOTH).unwrap_err();
        assert!(
            e.contains("no cipher suite left for TLSv1.2 in 'RC4-SHA'")
                && e.contains("not available: RC4-SHA"),
            "{e}"
        );
        assert!(parse_cipher_suites(Some(""), None, BOTH).is_err());
        // With TLS 1.2 off the TLS 1.2 string only has to parse.
        let (suites, _) = parse_cipher_suites(Some("RC4-SHA"), None, ONLY13).unwrap();
        assert_eq!(names(&suites), [T256, T128, TCHA]);
        for bad in [
            "ECDHE%",
            "ECDHE+",
            "@FOO",
            "@SECLEVEL=12",
            "ALL:+@STRENGTH",
            "ALL::!",
        ] {
            let e = parse_cipher_suites(Some(bad), None, BOTH).unwrap_err();
            assert!(
                e.starts_with("SSLCipherSuite: invalid cipher string"),
                "{bad}: {e}"
            );
        }
        // OpenSSL skips the rest of an element whose first word it does not know.
        assert!(parse_cipher_suites(Some("ALL:FOO%BAR"), None, BOTH).is_ok());
        let none = ProtocolSet {
            tls12: false,
            tls13: false,
        };
        assert!(parse_cipher_suites(None, None, none).is_err());
    }

    #[test]
    fn tls13_lists() {
        let (suites, w) = parse_cipher_suites(
            Some("HIGH"),
            Some("TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_CCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"),
            BOTH,
        )
        .unwrap();
        assert_eq!(names(&suites)[..2], [TCHA, T256]);
        assert_eq!(suites.len(), 8);
        assert_eq!(
            w,
            ["SSLCipherSuite: TLS_AES_128_CCM_SHA256 is not available in rhttpd (rustls); ignored"]
        );
        // An empty TLS 1.3 list turns TLS 1.3 off, or fails when it is all there is.
        let (suites, w) = parse_cipher_suites(None, Some(""), BOTH).unwrap();
        assert_eq!(suites.len(), 6);
        assert!(w[0].contains("TLSv1.3 will not be negotiated"), "{w:?}");
        assert!(parse_cipher_suites(None, Some("TLS_AES_128_CCM_SHA256"), ONLY13).is_err());
        let (_, w) = parse_cipher_suites(None, Some("TLS_AES_128_GCM_SHA256:bogus"), BOTH).unwrap();
        assert_eq!(
            w,
            ["SSLCipherSuite: unknown cipher name(s) 'bogus' ignored"]
        );
    }

    /// `openssl ciphers -s -tls1_2 STRING` restricted to the suites rustls has; `Err` when
    /// OpenSSL rejects the string as malformed, `None` without openssl.
    fn openssl_tls12(s: &str) -> Option<Result<Vec<String>, String>> {
        // A leading '-' would be taken for an option; a leading ':' changes nothing.
        let arg = if s.starts_with('-') {
            format!(":{s}")
        } else {
            s.to_string()
        };
        let out = Command::new("openssl")
            .args(["ciphers", "-s", "-tls1_2", &arg])
            .output()
            .ok()?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        Some(if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout)
                .trim()
                .split(':')
                .filter(|n| TLS12.iter().any(|t| t.name == *n))
                .map(String::from)
                .collect())
        } else if stderr.contains("no cipher match") {
            Ok(Vec::new())
        } else {
            Err(stderr.into_owned())
        })
    }

    fn same_as_openssl(s: &str) -> Result<(), TestCaseError> {
        let Some(theirs) = openssl_tls12(s) else {
            return Ok(());
        };
        let ours = tls12_names(s).map(|v| v.iter().map(|n| n.to_string()).collect::<Vec<_>>());
        match (&ours, &theirs) {
            (Ok(a), Ok(b)) => prop_assert_eq!(a, b, "{}", s),
            (Err(_), Err(_)) => {}
            _ => prop_assert!(false, "{s}: ours {ours:?}, openssl {theirs:?}"),
        }
        Ok(())
    }

    #[test]
    fn same_order_as_openssl_for_real_world_strings() {
        if Command::new("openssl").arg("version").output().is_err() {
            eprintln!("skipped: openssl not installed");
            return;
        }
        for s in [
            "HIGH:!aNULL",
            "HIGH:MEDIUM:!aNULL:!MD5",
            "HIGH:!aNULL:!MD5:!3DES",
            MOZILLA_INTERMEDIATE,
            "EECDH+AESGCM:EDH+AESGCM",
            "EECDH+AESGCM:EDH+AESGCM:AES256+EECDH:AES256+EDH",
            "ECDHE+AESGCM:!ECDSA",
            "AES256+EECDH:AES256+EDH",
            "aECDSA+AES256",
            "DEFAULT",
            "DEFAULT:!ECDSA",
            "DEFAULT:+AES256",
            "ALL:-ECDSA:ALL",
            "ALL:!ECDSA:ALL",
            "ALL:+AES128:@STRENGTH",
            "CHACHA20:AES128:AES256",
            "CHACHA20:AES128:AES256:@STRENGTH",
            "ECDHE:!RSA",
            "ECDHE:!aRSA",
            "SHA256:SHA384:TLSv1.2",
            "FIPS",
            "SUITEB128",
            "SUITEB192",
            "ECDHE:DEFAULT",
            "ALL,-AES256 +CHACHA20;AES256",
            "ECDHE%",
            "ECDHE+",
            "ALL:FOO%BAR",
            "@SECLEVEL=12",
            "ALL:@SECLEVEL=2",
            "RC4-SHA",
            "high",
        ] {
            same_as_openssl(s).unwrap();
        }
    }

    const VOCAB: &[&str] = &[
        "ALL",
        "HIGH",
        "ECDHE",
        "EECDH",
        "kECDHE",
        "kEECDH",
        "aRSA",
        "aECDSA",
        "ECDSA",
        "RSA",
        "AESGCM",
        "AES",
        "AES128",
        "AES256",
        "CHACHA20",
        "SHA256",
        "SHA384",
        "TLSv1.2",
        "FIPS",
        "MEDIUM",
        "aNULL",
        "eNULL",
        "EDH",
        "DHE",
        "kRSA",
        "COMPLEMENTOFDEFAULT",
        E256,
        R256,
        ECHA,
        RCHA,
        E128,
        R128,
        "DHE-RSA-AES128-GCM-SHA256",
        "AES128-SHA",
        "ECDHE+AESGCM",
        "EECDH+AESGCM",
        "aECDSA+AES256",
        "AES256+EECDH",
        "EDH+AESGCM",
        "ECDHE+CHACHA20",
        "aRSA+AES128",
        "AES128+AES256",
        "FOO",
        "FOO+ALL",
    ];

    fn element() -> impl Strategy<Value = String> {
        prop_oneof![
            8 => (
                prop::sample::select(vec!["", "", "!", "-", "+"]),
                prop::sample::select(VOCAB.to_vec())
            )
                .prop_map(|(p, w)| format!("{p}{w}")),
            1 => prop::sample::select(vec!["@STRENGTH", "@SECLEVEL=1", "@SECLEVEL=2"])
                .prop_map(String::from),
        ]
    }

    fn cipher_string() -> impl Strategy<Value = String> {
        (
            prop::sample::select(vec!["", "", "", "DEFAULT", "DEFAULT:"]),
            prop::collection::vec(
                (
                    element(),
                    prop::sample::select(vec![":", ":", ",", " ", ";"]),
                ),
                1..8,
            ),
        )
            .prop_map(|(start, elems)| {
                let mut s = start.to_string();
                for (e, sep) in elems {
                    s.push_str(&e);
                    s.push_str(sep);
                }
                s
            })
    }

    fn protocol_set() -> impl Strategy<Value = ProtocolSet> {
        (any::<bool>(), any::<bool>()).prop_map(|(tls12, tls13)| ProtocolSet { tls12, tls13 })
    }

    fn assert_sane(suites: &[SupportedCipherSuite], p: ProtocolSet) -> Result<(), TestCaseError> {
        for (i, s) in suites.iter().enumerate() {
            prop_assert!(ALL_CIPHER_SUITES.contains(s));
            prop_assert!(!suites[..i].contains(s), "duplicate {:?}", s.suite());
            let enabled = if s.tls13().is_some() {
                p.tls13
            } else {
                p.tls12
            };
            prop_assert!(enabled, "{:?} for {:?}", s.suite(), p);
        }
        Ok(())
    }

    /// Aliases and names with the suites they must select, written out independently of
    /// the tables above.
    const EXPECT: &[(&str, &[&str])] = &[
        ("ECDSA", &[E256, ECHA, E128]),
        ("aECDSA", &[E256, ECHA, E128]),
        ("aRSA", &[R256, RCHA, R128]),
        ("AES128", &[E128, R128]),
        ("AES256", &[E256, R256]),
        ("AESGCM", &[E256, R256, E128, R128]),
        ("CHACHA20", &[ECHA, RCHA]),
        ("ECDHE", &[E256, R256, ECHA, RCHA, E128, R128]),
        ("ECDHE+AES128", &[E128, R128]),
        ("aRSA+CHACHA20", &[RCHA]),
        (R128, &[R128]),
        (ECHA, &[ECHA]),
    ];

    proptest! {
        #[test]
        fn arbitrary_strings_never_panic(
            s12 in ".{0,80}",
            s13 in prop::option::of(".{0,60}"),
            p in protocol_set(),
        ) {
            if let Ok((suites, _)) = parse_cipher_suites(Some(&s12), s13.as_deref(), p) {
                assert_sane(&suites, p)?;
            }
        }

        #[test]
        fn cipher_alphabet_strings_give_sane_results(
            s in "[A-Za-z0-9+!@:,; =._-]{0,60}",
            p in protocol_set(),
        ) {
            if let Ok((suites, _)) = parse_cipher_suites(Some(&s), None, p) {
                assert_sane(&suites, p)?;
            }
        }

        #[test]
        fn generated_strings_give_sane_results(s in cipher_string(), p in protocol_set()) {
            if let Ok((suites, _)) = parse_cipher_suites(Some(&s), Some(&s), p) {
                assert_sane(&suites, p)?;
            }
        }

        #[test]
        fn killed_suites_never_come_back(
            s in cipher_string(),
            pos in 0usize..80,
            x in 0..EXPECT.len(),
        ) {
            let (word, killed) = EXPECT[x];
            let pos = (0..=pos.min(s.len())).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0);
            let s = format!("{}:!{word}:{}", &s[..pos], &s[pos..]);
            if let Ok((suites, _)) = parse_cipher_suites(Some(&s), None, ONLY12) {
                for name in names(&suites) {
                    prop_assert!(!killed.contains(&name), "{} in {:?}", name, s);
                }
            }
        }

        #[test]
        fn protocol_arguments_never_panic(words in prop::collection::vec("[+-]?[A-Za-z0-9.]{0,8}", 0..6)) {
            if let Ok((p, _)) = parse_protocols(&words) {
                prop_assert!(p.tls12 || p.tls13);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        #[test]
        fn same_order_as_openssl(s in cipher_string()) {
            same_as_openssl(&s)?;
        }
    }
}
