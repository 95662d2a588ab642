//! Encoding header blocks.
//!
//! Per field, in order of preference: an indexed field when the static or the dynamic
//! table holds the whole field; else a literal whose name is indexed when a table holds
//! the name (the static table first: its indexes are smaller and never go stale); the
//! literal is added to the dynamic table unless it is sensitive, too large (over 3/4 of
//! the table) or a field whose values rarely repeat. Each string is Huffman-coded when
//! that is shorter. Nothing is allocated but the output (and the dynamic table's two
//! buffers, until they have grown to its size).

use super::table::{DEFAULT_TABLE_SIZE, DynamicTable, FIRST_DYNAMIC, NameRef, static_lookup};
use super::{encode_int, huffman};

/// The encoding context for the header blocks we send on one connection.
pub struct Encoder {
    table: DynamicTable,
    /// The most the table may use whatever the peer allows.
    limit: usize,
    /// The size to use: the smaller of `limit` and the peer's SETTINGS_HEADER_TABLE_SIZE.
    target: usize,
    /// The smallest `target` since the last block, signalled first (RFC 7541 §4.2).
    low_water: usize,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("limit", &self.limit)
            .field("target", &self.target)
            .field("table_capacity", &self.table.capacity())
            .field("table_size", &self.table.size())
            .field("table_len", &self.table.len())
            .finish()
    }
}

impl Default for Encoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Encoder {
    /// An encoder that uses a dynamic table of up to 4096 octets (the protocol's
    /// initial size, so the first block needs no size update).
    pub fn new() -> Self {
        Self::with_max_table_size(DEFAULT_TABLE_SIZE)
    }

    /// An encoder that never uses more than `limit` octets of dynamic table, even if the
    /// peer allows more (0: no dynamic table). A limit below 4096 is signalled at the
    /// start of the first block.
    pub fn with_max_table_size(limit: usize) -> Self {
        let target = limit.min(DEFAULT_TABLE_SIZE);
        Encoder {
            // The peer's decoder starts with the default size.
            table: DynamicTable::new(DEFAULT_TABLE_SIZE),
            limit,
            target,
            low_water: target,
        }
    }

    /// Applies the peer's SETTINGS_HEADER_TABLE_SIZE: the table will use the smaller of
    /// it and our limit, announced by a size update at the start of the next block (two
    /// if the size went down and up again in between).
    pub fn set_max_table_size(&mut self, peer_max: usize) {
        self.target = peer_max.min(self.limit);
        self.low_water = self.low_water.min(self.target);
    }

    /// The dynamic table's maximum size as the peer's decoder knows it.
    pub fn table_capacity(&self) -> usize {
        self.table.capacity()
    }

    /// The dynamic table's current size (RFC 7541 §4.1).
    pub fn table_size(&self) -> usize {
        self.table.size()
    }

    /// The dynamic table's entries, newest (HPACK index 62) first.
    pub fn table_entries(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        self.table.iter()
    }

    /// Appends one complete header block holding `fields` — `(name, value, sensitive)`,
    /// names already lowercase — to `out`. Sensitive fields are sent as literals never
    /// indexed (RFC 7541 §7.1.3), and so are `authorization`, `proxy-authorization` and
    /// short `cookie`s whatever the flag says.
    ///
    /// Every block produced must reach the peer, in order: the peer's decoder follows the
    /// dynamic table changes each one makes. An empty `fields` gives an empty block, and
    /// pending size updates then wait for the next block.
    pub fn encode<I, N, V>(&mut self, fields: I, out: &mut Vec<u8>)
    where
        I: IntoIterator<Item = (N, V, bool)>,
        N: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        let mut fields = fields.into_iter().peekable();
        if fields.peek().is_none() {
            // Size updates wait for a block with fields: some decoders (loona-hpack)
            // refuse a block that holds nothing else.
            return;
        }
        if self.low_water < self.table.capacity() {
            encode_int(out, 0x20, 5, self.low_water);
            self.table.set_capacity(self.low_water);
        }
        if self.target != self.table.capacity() {
            encode_int(out, 0x20, 5, self.target);
            self.table.set_capacity(self.target);
        }
        self.low_water = self.target;
        for (name, value, sensitive) in fields {
            self.encode_field(name.as_ref(), value.as_ref(), sensitive, out);
        }
    }

    fn encode_field(&mut self, name: &[u8], value: &[u8], sensitive: bool, out: &mut Vec<u8>) {
        let sensitive = sensitive || never_indexed(name, value);
        let in_static = static_lookup(name, value);
        if !sensitive && let Some((index, true)) = in_static {
            encode_int(out, 0x80, 7, index);
            return;
        }
        let in_dynamic = if self.table.len() > 0 {
            self.table.find(name, value)
        } else {
            None
        };
        if !sensitive && let Some((i, true)) = in_dynamic {
            encode_int(out, 0x80, 7, FIRST_DYNAMIC + i);
            return;
        }
        let name_index = in_static
            .map(|(i, _)| i)
            .or(in_dynamic.map(|(i, _)| FIRST_DYNAMIC + i));
        let index = !sensitive
            && worth_indexing(name)
            && name.len() + value.len() + super::ENTRY_OVERHEAD
                <= self.table.capacity() - self.table.capacity() / 4;
        let (flags, prefix) = match (sensitive, index) {
            (true, _) => (0x10, 4),
            (false, true) => (0x40, 6),
            (false, false) => (0x00, 4),
        };
        match name_index {
            Some(i) => encode_int(out, flags, prefix, i),
            None => {
                out.push(flags);
                write_string(out, name);
            }
        }
        write_string(out, value);
        if index {
            self.table.insert(NameRef::Bytes(name), value);
        }
    }
}

/// Fields always sent as literals never indexed: credentials, and cookies short enough to
/// be guessed by probing the compression (RFC 7541 §7.1.3).
fn never_indexed(name: &[u8], value: &[u8]) -> bool {
    match name {
        b"authorization" | b"proxy-authorization" => true,
        b"cookie" => value.len() < 20,
        _ => false,
    }
}

/// Whether a field's value is likely to repeat on the connection; the others would only
/// push useful entries (`server`, `content-type`, `date`…) out of the table.
fn worth_indexing(name: &[u8]) -> bool {
    !matches!(
        name,
        b":path"
            | b"age"
            | b"content-length"
            | b"content-range"
            | b"etag"
            | b"if-modified-since"
            | b"if-none-match"
            | b"last-modified"
            | b"location"
            | b"set-cookie"
    )
}

/// Appends a string literal (RFC 7541 §5.2), Huffman-coded if that is shorter.
fn write_string(out: &mut Vec<u8>, s: &[u8]) {
    let huffman_len = huffman::encoded_len(s);
    if huffman_len < s.len() {
        encode_int(out, 0x80, 7, huffman_len);
        huffman::encode(s, huffman_len, out);
    } else {
        encode_int(out, 0x00, 7, s.len());
        out.extend_from_slice(s);
    }
}
