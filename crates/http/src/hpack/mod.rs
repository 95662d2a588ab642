//! HPACK, the header compression of HTTP/2 (RFC 7541), without I/O.
//!
//! A connection has two independent contexts, one per direction: the [`Decoder`] turns the
//! peer's header blocks (a HEADERS frame's fragment plus its CONTINUATION fragments, put
//! together) into fields, the [`Encoder`] turns ours into blocks. Each keeps a dynamic
//! table that must stay in step with the peer's, so every block has to be processed, in
//! order, exactly once.
//!
//! Limits a peer cannot get around:
//! * the decoder's dynamic table never exceeds the size given to [`Decoder::new`] /
//!   [`Decoder::set_max_table_size`] (our SETTINGS_HEADER_TABLE_SIZE);
//! * [`Decoder::decode`] stops handing out fields once their size (RFC 9113
//!   SETTINGS_MAX_HEADER_LIST_SIZE: name + value + 32 each) passes the caller's limit, so a
//!   small block that references big table entries over and over costs constant time per
//!   octet and no memory;
//! * integers longer than 6 octets or above `u32::MAX`, strings longer than the block,
//!   bad Huffman padding, EOS inside a string, index 0 or past the tables, and table size
//!   updates that are too large, late in a block, or missing after we lowered the size,
//!   are all [`HpackError::Compression`].

mod decoder;
mod encoder;
mod huffman;
mod huffman_table;
mod table;

use std::fmt;

pub use decoder::{Decoder, Field, OwnedField};
pub use encoder::Encoder;
pub use table::{DEFAULT_TABLE_SIZE, ENTRY_OVERHEAD};

/// Why a header block could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HpackError {
    /// The block breaks the rules of HPACK: for HTTP/2 a connection error of type
    /// COMPRESSION_ERROR (RFC 9113 §4.3). The decoder's state is then lost, and so is the
    /// connection.
    Compression(CompressionError),
    /// The decoded header list is larger than the limit given to [`Decoder::decode`]. The
    /// block was still decoded to its end, so the dynamic table is in step with the peer's
    /// and the connection can go on: answer the request with 431 or reset the stream.
    HeaderListTooLarge,
}

/// What exactly was wrong with a block; see [`HpackError::Compression`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompressionError {
    /// The block ends inside a representation.
    Truncated,
    /// An integer is longer than this decoder accepts or larger than `u32::MAX`.
    IntegerOverflow,
    /// An indexed representation with index 0.
    ZeroIndex,
    /// An index past the static and dynamic tables.
    InvalidIndex,
    /// A dynamic table size update above SETTINGS_HEADER_TABLE_SIZE.
    TableSizeTooLarge,
    /// A dynamic table size update after the first field of the block.
    LateTableSizeUpdate,
    /// The table size was lowered, but the block does not start with a size update.
    MissingTableSizeUpdate,
    /// A Huffman-coded string contains the EOS symbol.
    HuffmanEos,
    /// A Huffman-coded string is padded with more than 7 bits or not with ones.
    HuffmanPadding,
}

impl CompressionError {
    /// A short explanation, for logs and GOAWAY debug data.
    pub fn reason(self) -> &'static str {
        match self {
            CompressionError::Truncated => "header block truncated",
            CompressionError::IntegerOverflow => "integer too large",
            CompressionError::ZeroIndex => "index 0",
            CompressionError::InvalidIndex => "index past the header tables",
            CompressionError::TableSizeTooLarge => "table size update above the limit",
            CompressionError::LateTableSizeUpdate => "table size update after a field",
            CompressionError::MissingTableSizeUpdate => "table size update missing",
            CompressionError::HuffmanEos => "EOS in a Huffman-coded string",
            CompressionError::HuffmanPadding => "invalid Huffman padding",
        }
    }
}

impl From<CompressionError> for HpackError {
    fn from(e: CompressionError) -> Self {
        HpackError::Compression(e)
    }
}

impl From<huffman::HuffmanError> for CompressionError {
    fn from(e: huffman::HuffmanError) -> Self {
        match e {
            huffman::HuffmanError::Eos => CompressionError::HuffmanEos,
            huffman::HuffmanError::Padding => CompressionError::HuffmanPadding,
        }
    }
}

impl fmt::Display for CompressionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

impl fmt::Display for HpackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HpackError::Compression(e) => write!(f, "HPACK compression error: {e}"),
            HpackError::HeaderListTooLarge => f.write_str("header list too large"),
        }
    }
}

impl std::error::Error for CompressionError {}
impl std::error::Error for HpackError {}

/// Continuation octets accepted after a full prefix: 5 carry 35 bits, enough for any
/// `u32`; more can only be padding with zeros.
const MAX_INT_CONTINUATIONS: usize = 5;

/// Decodes an integer with a `prefix`-bit prefix (RFC 7541 §5.1) starting at `block[*pos]`
/// and moves `*pos` past it. The bits above the prefix are ignored.
fn decode_int(block: &[u8], pos: &mut usize, prefix: u8) -> Result<usize, CompressionError> {
    let mask = u8::MAX >> (8 - prefix);
    let first = *block.get(*pos).ok_or(CompressionError::Truncated)?;
    *pos += 1;
    let mut value = u64::from(first & mask);
    if value < u64::from(mask) {
        return Ok(value as usize);
    }
    for n in 0..MAX_INT_CONTINUATIONS {
        let b = *block.get(*pos).ok_or(CompressionError::Truncated)?;
        *pos += 1;
        value += u64::from(b & 0x7f) << (7 * n);
        if b & 0x80 == 0 {
            return u32::try_from(value)
                .map(|v| v as usize)
                .map_err(|_| CompressionError::IntegerOverflow);
        }
    }
    Err(CompressionError::IntegerOverflow)
}

/// Appends `value` as an integer with a `prefix`-bit prefix whose first octet also
/// carries `flags` (the bits above the prefix).
fn encode_int(out: &mut Vec<u8>, flags: u8, prefix: u8, value: usize) {
    let mask = usize::from(u8::MAX >> (8 - prefix));
    if value < mask {
        out.push(flags | value as u8);
        return;
    }
    out.push(flags | mask as u8);
    let mut rest = value - mask;
    while rest >= 0x80 {
        out.push(0x80 | (rest as u8 & 0x7f));
        rest >>= 7;
    }
    out.push(rest as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(prefix: u8, value: usize) -> Vec<u8> {
        let mut out = Vec::new();
        encode_int(&mut out, 0, prefix, value);
        out
    }

    fn dec(prefix: u8, block: &[u8]) -> Result<(usize, usize), CompressionError> {
        let mut pos = 0;
        decode_int(block, &mut pos, prefix).map(|v| (v, pos))
    }

    #[test]
    fn rfc_integer_examples() {
        // C.1.1: 10 with a 5-bit prefix; C.1.2: 1337 with a 5-bit prefix; C.1.3: 42 at 8 bits.
        assert_eq!(enc(5, 10), [0x0a]);
        assert_eq!(enc(5, 1337), [0x1f, 0x9a, 0x0a]);
        assert_eq!(enc(8, 42), [0x2a]);
        assert_eq!(dec(5, &[0xea]), Ok((10, 1)));
        assert_eq!(dec(5, &[0x1f, 0x9a, 0x0a]), Ok((1337, 3)));
        assert_eq!(dec(8, &[0x2a]), Ok((42, 1)));
    }

    #[test]
    fn integer_limits() {
        for prefix in 1..=8 {
            for v in [
                0,
                1,
                30,
                31,
                127,
                128,
                255,
                256,
                16_383,
                1 << 21,
                u32::MAX as usize,
            ] {
                let e = enc(prefix, v);
                assert_eq!(
                    dec(prefix, &e),
                    Ok((v, e.len())),
                    "prefix {prefix} value {v}"
                );
            }
        }
        // u32::MAX + 1 is refused, as are six continuation octets (zero padding).
        assert_eq!(
            dec(8, &enc(8, u32::MAX as usize + 1)),
            Err(CompressionError::IntegerOverflow)
        );
        assert_eq!(
            dec(5, &[0x1f, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]),
            Err(CompressionError::IntegerOverflow)
        );
        assert_eq!(dec(5, &[0x1f, 0x80, 0x80, 0x80, 0x80, 0x00]), Ok((31, 6)));
        assert_eq!(dec(5, &[0x1f, 0xff]), Err(CompressionError::Truncated));
        assert_eq!(dec(5, &[]), Err(CompressionError::Truncated));
        assert_eq!(
            dec(7, &[0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]),
            Err(CompressionError::IntegerOverflow)
        );
    }
}
