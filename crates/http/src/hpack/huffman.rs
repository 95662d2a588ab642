//! The static Huffman code of HPACK (RFC 7541 §5.2, Appendix B).
//!
//! Encoding packs the codes of [`CODES`] most significant bit first and pads the last
//! octet with the high bits of EOS (all ones). Decoding runs a finite-state machine,
//! built at compile time from [`CODES`], that takes four bits at a time: a state is an
//! internal node of the code tree (256 of them, the root is 0), and a step gives the next
//! state and at most one decoded symbol (no code is shorter than five bits). The machine
//! also knows which states are a valid end: the bits read since the last symbol are
//! fewer than eight and all ones (RFC 7541 §5.2).

use super::huffman_table::CODES;

// A step of the decoding machine, packed in a `u32`: the next state in bits 0..8, the
// symbol in bits 8..16, and these flags.
/// The step emits its symbol.
const EMIT: u32 = 1 << 16;
/// The step reads EOS, which a string must not contain.
const FAIL: u32 = 1 << 17;
/// After the step, the string may end here (the pending bits are valid padding).
const ACCEPT: u32 = 1 << 18;

/// A child in the code tree: an internal node's index, or a leaf (`LEAF | symbol`).
const LEAF: u16 = 0x8000;

/// The code tree: `TREE[node][bit]`; 0 means "no child" (the root is never a child).
const fn build_tree() -> [[u16; 2]; 256] {
    let mut tree = [[0u16; 2]; 256];
    let mut next: u16 = 1;
    let mut sym = 0;
    while sym < CODES.len() {
        let (code, len) = CODES[sym];
        let mut node = 0usize;
        let mut depth = len;
        while depth > 1 {
            depth -= 1;
            let bit = ((code >> depth) & 1) as usize;
            if tree[node][bit] == 0 {
                tree[node][bit] = next;
                next += 1;
            }
            node = tree[node][bit] as usize;
        }
        tree[node][(code & 1) as usize] = LEAF | sym as u16;
        sym += 1;
    }
    tree
}

/// The decoding machine: `DECODE[state][nibble]`.
const fn build_machine() -> [[u32; 16]; 256] {
    let tree = build_tree();
    // States on the all-ones path from the root at depth 0..=7 are valid ends.
    let mut accept = [false; 256];
    let mut node = 0usize;
    let mut depth = 0;
    while depth < 8 {
        accept[node] = true;
        node = tree[node][1] as usize;
        depth += 1;
    }
    let mut machine = [[0u32; 16]; 256];
    let mut state = 0;
    while state < 256 {
        let mut nibble = 0;
        while nibble < 16 {
            let mut node = state;
            let mut step = 0u32;
            let mut bit = 4;
            while bit > 0 {
                bit -= 1;
                let child = tree[node][(nibble >> bit) & 1];
                if child & LEAF != 0 {
                    let sym = (child & !LEAF) as u32;
                    if sym == 256 {
                        step |= FAIL;
                    } else {
                        step |= EMIT | (sym << 8);
                    }
                    node = 0;
                } else {
                    node = child as usize;
                }
            }
            step |= node as u32;
            if accept[node] {
                step |= ACCEPT;
            }
            machine[state][nibble] = step;
            nibble += 1;
        }
        state += 1;
    }
    machine
}

static DECODE: [[u32; 16]; 256] = build_machine();

/// Why a Huffman-coded string is invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HuffmanError {
    /// The string contains the EOS symbol.
    Eos,
    /// The padding is longer than 7 bits or not the high bits of EOS.
    Padding,
}

/// Appends the decoding of `src` to `out`.
pub(crate) fn decode(src: &[u8], out: &mut Vec<u8>) -> Result<(), HuffmanError> {
    // Codes are at least 5 bits long: at most 8/5 symbols per octet. The space is made
    // first, and each step writes its symbol at `n` whether it emits one or not (`n` only
    // moves when it does), which keeps the loop free of unpredictable branches.
    let start = out.len();
    out.resize(start + src.len() * 8 / 5 + 1, 0);
    let dst = out.get_mut(start..).unwrap_or_default();
    let mut n = 0;
    let mut state = 0usize;
    let mut seen = 0u32;
    let mut last = ACCEPT;
    for &b in src {
        for nibble in [b >> 4, b & 0x0f] {
            let step = DECODE[state][usize::from(nibble)];
            if let Some(slot) = dst.get_mut(n) {
                *slot = (step >> 8) as u8;
            }
            n += ((step & EMIT) >> 16) as usize;
            seen |= step;
            state = (step & 0xff) as usize;
            last = step;
        }
    }
    out.truncate(start + n);
    if seen & FAIL != 0 {
        Err(HuffmanError::Eos)
    } else if last & ACCEPT == 0 {
        Err(HuffmanError::Padding)
    } else {
        Ok(())
    }
}

/// How many octets the Huffman coding of `src` takes.
pub(crate) fn encoded_len(src: &[u8]) -> usize {
    let bits: usize = src.iter().map(|&b| usize::from(LENS[usize::from(b)])).sum();
    bits.div_ceil(8)
}

/// The code lengths of the 256 octets: a denser table for [`encoded_len`].
static LENS: [u8; 256] = {
    let mut lens = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        lens[i] = CODES[i].1;
        i += 1;
    }
    lens
};

/// Appends the Huffman coding of `src` to `out`; `len` is [`encoded_len`]`(src)`, the
/// space reserved.
pub(crate) fn encode(src: &[u8], len: usize, out: &mut Vec<u8>) {
    out.reserve(len);
    // Pending bits are the low `bits` bits of `acc` (at most 31 + 30 of them); whole
    // 32-bit words are written out as they complete.
    let mut acc: u64 = 0;
    let mut bits: u32 = 0;
    for &b in src {
        let (code, n) = CODES[usize::from(b)];
        acc = (acc << n) | u64::from(code);
        bits += u32::from(n);
        if bits >= 32 {
            bits -= 32;
            out.extend_from_slice(&((acc >> bits) as u32).to_be_bytes());
        }
    }
    while bits >= 8 {
        bits -= 8;
        out.push((acc >> bits) as u8);
    }
    if bits > 0 {
        // Pad with the most significant bits of EOS (all ones).
        out.push(((acc << (8 - bits)) as u8) | (0xff >> bits));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(src: &[u8]) -> Result<Vec<u8>, HuffmanError> {
        let mut out = Vec::new();
        decode(src, &mut out).map(|()| out)
    }

    #[test]
    fn table_is_canonical_and_complete() {
        let mut order: Vec<usize> = (0..257).collect();
        order.sort_by_key(|&s| (CODES[s].1, s));
        let mut code = 0u64;
        let mut prev = CODES[order[0]].1;
        for &s in &order {
            let (c, len) = CODES[s];
            code <<= len - prev;
            prev = len;
            assert_eq!(u64::from(c), code, "symbol {s}");
            code += 1;
        }
        // Kraft equality: the code is complete, and EOS is the last, all-ones code.
        assert_eq!(code, 1 << 30);
        assert_eq!(CODES[256], (0x3fff_ffff, 30));
        // Entries as RFC 7541 Appendix B lists them.
        assert_eq!(CODES[0], (0x1ff8, 13));
        assert_eq!(CODES[usize::from(b'0')], (0x0, 5));
        assert_eq!(CODES[usize::from(b'a')], (0x3, 5));
        assert_eq!(CODES[usize::from(b' ')], (0x14, 6));
        assert_eq!(CODES[usize::from(b'~')], (0x1ffd, 13));
        assert_eq!(CODES[10], (0x3fff_fffc, 30));
        assert_eq!(CODES[255], (0x3ff_ffee, 26));
    }

    #[test]
    fn every_symbol_round_trips() {
        let all: Vec<u8> = (0..=255).collect();
        let mut enc = Vec::new();
        encode(&all, encoded_len(&all), &mut enc);
        assert_eq!(enc.len(), encoded_len(&all));
        assert_eq!(decoded(&enc).unwrap(), all);
        for b in 0..=255u8 {
            let mut enc = Vec::new();
            encode(&[b], encoded_len(&[b]), &mut enc);
            assert_eq!(decoded(&enc).unwrap(), [b]);
        }
    }

    #[test]
    fn rfc_example_strings() {
        let mut enc = Vec::new();
        encode(b"www.example.com", 12, &mut enc);
        assert_eq!(
            enc,
            [
                0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90, 0xf4, 0xff
            ]
        );
        assert_eq!(decoded(&enc).unwrap(), b"www.example.com");
        assert_eq!(decoded(&[]).unwrap(), b"");
    }

    #[test]
    fn padding_rules() {
        // '0' is 00000: three bits of ones pad it.
        assert_eq!(decoded(&[0x07]).unwrap(), b"0");
        // Padding not all ones.
        assert_eq!(decoded(&[0x06]), Err(HuffmanError::Padding));
        // A whole octet of padding (8 bits > 7).
        assert_eq!(decoded(&[0x07, 0xff]), Err(HuffmanError::Padding));
        assert_eq!(decoded(&[0xff]), Err(HuffmanError::Padding));
        // 'a' is 00011; after '0' (00000), padding of zeros is refused.
        assert_eq!(decoded(&[0x1f]).unwrap(), b"a");
        assert_eq!(decoded(&[0x00]), Err(HuffmanError::Padding));
        // EOS itself (30 ones) followed by two ones of padding.
        assert_eq!(decoded(&[0xff, 0xff, 0xff, 0xff]), Err(HuffmanError::Eos));
        // Fewer than 30 ones: only padding-length errors.
        assert_eq!(decoded(&[0xff, 0xff, 0xff]), Err(HuffmanError::Padding));
    }

    proptest::proptest! {
        #[test]
        fn round_trip(src in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..500)) {
            let mut enc = Vec::new();
            encode(&src, encoded_len(&src), &mut enc);
            proptest::prop_assert_eq!(enc.len(), encoded_len(&src));
            proptest::prop_assert_eq!(decoded(&enc).unwrap(), src);
        }

        /// Any input either fails or is the one encoding of what it decodes to (the
        /// padding rules leave no freedom).
        #[test]
        fn decoding_arbitrary_bytes(src in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            if let Ok(out) = decoded(&src) {
                let mut again = Vec::new();
                encode(&out, encoded_len(&out), &mut again);
                proptest::prop_assert_eq!(again, src);
            }
        }
    }
}
