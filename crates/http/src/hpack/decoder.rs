//! Decoding header blocks (RFC 7541 §3, §6).

use super::huffman;
use super::table::{DynamicTable, ENTRY_OVERHEAD, FIRST_DYNAMIC, NameRef, STATIC};
use super::{CompressionError, HpackError, decode_int};

/// A decoded field, borrowed from the block, the tables or the decoder's scratch space for
/// the time of the callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field<'a> {
    /// The name, as sent: HPACK does not check it (HTTP/2 wants it lowercase).
    pub name: &'a [u8],
    /// The value, as sent.
    pub value: &'a [u8],
    /// The peer sent it as a literal never indexed (RFC 7541 §6.2.3): whoever forwards it
    /// must keep it out of compression tables.
    pub sensitive: bool,
}

impl Field<'_> {
    /// The size a header list counts for this field: name + value + 32 (RFC 9113 §6.5.2).
    pub fn size(&self) -> usize {
        self.name.len() + self.value.len() + ENTRY_OVERHEAD
    }

    /// An owned copy.
    pub fn to_owned_field(&self) -> OwnedField {
        OwnedField {
            name: self.name.to_vec(),
            value: self.value.to_vec(),
            sensitive: self.sensitive,
        }
    }
}

/// A [`Field`] that owns its octets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedField {
    /// See [`Field::name`].
    pub name: Vec<u8>,
    /// See [`Field::value`].
    pub value: Vec<u8>,
    /// See [`Field::sensitive`].
    pub sensitive: bool,
}

/// The decoding context for the header blocks a peer sends on one connection.
pub struct Decoder {
    table: DynamicTable,
    /// The most the peer may set the table to: our SETTINGS_HEADER_TABLE_SIZE.
    max_size: usize,
    /// The limit was lowered below the table's size: the next block must update it.
    need_update: bool,
    /// Scratch space for Huffman-decoded names and values, kept between blocks.
    name_buf: Vec<u8>,
    value_buf: Vec<u8>,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("max_table_size", &self.max_size)
            .field("table_capacity", &self.table.capacity())
            .field("table_size", &self.table.size())
            .field("table_len", &self.table.len())
            .field("need_update", &self.need_update)
            .finish()
    }
}

/// How a literal field is to be remembered (RFC 7541 §6.2).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Indexing {
    Incremental,
    Without,
    Never,
}

/// Where a literal's name is.
enum Name<'a> {
    Bytes(&'a [u8]),
    /// A dynamic table position (0 = newest).
    Dynamic(usize),
}

impl Decoder {
    /// Frees the scratch space kept between blocks (an idle connection's).
    pub fn shrink_scratch(&mut self) {
        self.name_buf = Vec::new();
        self.value_buf = Vec::new();
    }

    /// A decoder whose table limit and initial table size are `max_table_size`.
    ///
    /// For HTTP/2 that is [`DEFAULT_TABLE_SIZE`](super::DEFAULT_TABLE_SIZE) (4096): the peer
    /// may send header blocks before it has seen our SETTINGS. Once the peer acknowledges
    /// a SETTINGS_HEADER_TABLE_SIZE of ours, pass it to [`Decoder::set_max_table_size`].
    pub fn new(max_table_size: usize) -> Self {
        Decoder {
            table: DynamicTable::new(max_table_size),
            max_size: max_table_size,
            need_update: false,
            name_buf: Vec::new(),
            value_buf: Vec::new(),
        }
    }

    /// Applies a new SETTINGS_HEADER_TABLE_SIZE of ours once the peer has acknowledged
    /// it. Later size updates above it are refused; if it is below the table's current
    /// size, the peer's next (non-empty) block must start with a size update (RFC 7541
    /// §4.2).
    pub fn set_max_table_size(&mut self, max_table_size: usize) {
        self.max_size = max_table_size;
        if max_table_size < self.table.capacity() {
            self.need_update = true;
        }
    }

    /// The limit set by [`Decoder::new`] or [`Decoder::set_max_table_size`].
    pub fn max_table_size(&self) -> usize {
        self.max_size
    }

    /// The dynamic table's maximum size, as the peer last set it (or the initial one).
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

    /// Decodes one complete header block, calling `emit` for each field in order.
    ///
    /// The fields' sizes (name + value + 32) are added up as they come; once the sum
    /// passes `max_list_size`, no more fields are emitted but the rest of the block is
    /// still decoded (cheaply: indexed fields are only checked, literals that are not
    /// indexed are skipped over), so the table stays in step, and the result is
    /// [`HpackError::HeaderListTooLarge`]. On [`HpackError::Compression`] some fields may
    /// already have been emitted; the caller must drop them and the connection.
    pub fn decode<F>(
        &mut self,
        block: &[u8],
        max_list_size: usize,
        mut emit: F,
    ) -> Result<(), HpackError>
    where
        F: FnMut(Field<'_>),
    {
        let Decoder {
            table,
            max_size,
            need_update,
            name_buf,
            value_buf,
        } = self;
        let mut pos = 0;
        let mut list_size = 0usize;
        let mut too_large = false;
        let mut at_start = true;
        while let Some(&first) = block.get(pos) {
            if first & 0xe0 == 0x20 {
                // Dynamic table size update (§6.3).
                if !at_start {
                    return Err(CompressionError::LateTableSizeUpdate.into());
                }
                let size = decode_int(block, &mut pos, 5)?;
                if size > *max_size {
                    return Err(CompressionError::TableSizeTooLarge.into());
                }
                table.set_capacity(size);
                *need_update = false;
                continue;
            }
            if at_start && *need_update {
                return Err(CompressionError::MissingTableSizeUpdate.into());
            }
            at_start = false;
            if first & 0x80 != 0 {
                // Indexed field (§6.1).
                let index = decode_int(block, &mut pos, 7)?;
                let (name, value) = lookup(table, index)?;
                list_size = list_size.saturating_add(name.len() + value.len() + ENTRY_OVERHEAD);
                too_large |= list_size > max_list_size;
                if !too_large {
                    emit(Field {
                        name,
                        value,
                        sensitive: false,
                    });
                }
                continue;
            }
            let (indexing, prefix) = match first & 0xf0 {
                0x00 => (Indexing::Without, 4),
                0x10 => (Indexing::Never, 4),
                _ => (Indexing::Incremental, 6),
            };
            let index = decode_int(block, &mut pos, prefix)?;
            if too_large && indexing != Indexing::Incremental {
                // Nothing to emit or remember: check the name and skip the strings.
                if index != 0 {
                    lookup(table, index)?;
                } else {
                    skip_string(block, &mut pos)?;
                }
                skip_string(block, &mut pos)?;
                continue;
            }
            let name = match index {
                0 => Name::Bytes(read_string(block, &mut pos, name_buf)?),
                i if i < FIRST_DYNAMIC => Name::Bytes(static_entry(i)?.0),
                i => {
                    lookup(table, i)?;
                    Name::Dynamic(i - FIRST_DYNAMIC)
                }
            };
            let value = read_string(block, &mut pos, value_buf)?;
            let name_bytes = match name {
                Name::Bytes(b) => b,
                Name::Dynamic(i) => table.get(i).map_or(&[][..], |e| e.0),
            };
            list_size = list_size.saturating_add(name_bytes.len() + value.len() + ENTRY_OVERHEAD);
            too_large |= list_size > max_list_size;
            if !too_large {
                emit(Field {
                    name: name_bytes,
                    value,
                    sensitive: indexing == Indexing::Never,
                });
            }
            if indexing == Indexing::Incremental {
                let name = match name {
                    Name::Bytes(b) => NameRef::Bytes(b),
                    Name::Dynamic(i) => NameRef::Entry(i),
                };
                if !table.insert(name, value) {
                    return Err(CompressionError::InvalidIndex.into());
                }
            }
        }
        if too_large {
            Err(HpackError::HeaderListTooLarge)
        } else {
            Ok(())
        }
    }

    /// [`Decoder::decode`] into a vector of owned fields.
    pub fn decode_owned(
        &mut self,
        block: &[u8],
        max_list_size: usize,
    ) -> Result<Vec<OwnedField>, HpackError> {
        let mut fields = Vec::new();
        self.decode(block, max_list_size, |f| fields.push(f.to_owned_field()))?;
        Ok(fields)
    }
}

/// The entry at HPACK index `index` in the static or the dynamic table.
fn lookup(table: &DynamicTable, index: usize) -> Result<(&[u8], &[u8]), CompressionError> {
    match index {
        0 => Err(CompressionError::ZeroIndex),
        i if i < FIRST_DYNAMIC => static_entry(i),
        i => table
            .get(i - FIRST_DYNAMIC)
            .ok_or(CompressionError::InvalidIndex),
    }
}

/// The static table's entry at HPACK index `index` (1 to 61).
fn static_entry(index: usize) -> Result<(&'static [u8], &'static [u8]), CompressionError> {
    index
        .checked_sub(1)
        .and_then(|i| STATIC.get(i))
        .copied()
        .ok_or(CompressionError::InvalidIndex)
}

/// The octets of the string literal at `*pos` (§5.2), without its length prefix.
fn string_octets<'a>(
    block: &'a [u8],
    pos: &mut usize,
) -> Result<(&'a [u8], bool), CompressionError> {
    let huffman = block.get(*pos).ok_or(CompressionError::Truncated)? & 0x80 != 0;
    let len = decode_int(block, pos, 7)?;
    let end = pos.checked_add(len).ok_or(CompressionError::Truncated)?;
    let octets = block.get(*pos..end).ok_or(CompressionError::Truncated)?;
    *pos = end;
    Ok((octets, huffman))
}

/// Reads the string literal at `*pos`: a slice of `block` or, if Huffman-coded, its
/// decoding in `buf`.
fn read_string<'a>(
    block: &'a [u8],
    pos: &mut usize,
    buf: &'a mut Vec<u8>,
) -> Result<&'a [u8], CompressionError> {
    let (octets, huffman) = string_octets(block, pos)?;
    if !huffman {
        return Ok(octets);
    }
    buf.clear();
    huffman::decode(octets, buf)?;
    Ok(buf)
}

fn skip_string(block: &[u8], pos: &mut usize) -> Result<(), CompressionError> {
    string_octets(block, pos).map(drop)
}
