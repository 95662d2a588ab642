//! The static table (RFC 7541 Appendix A) and the dynamic table (§2.3.2, §4).

use std::collections::VecDeque;

/// The size of the dynamic table both sides start with, and the initial value of
/// SETTINGS_HEADER_TABLE_SIZE (RFC 9113 §6.5.2).
pub const DEFAULT_TABLE_SIZE: usize = 4096;

/// What each entry adds to the size of a dynamic table or of a header list beyond its
/// name and value (RFC 7541 §4.1, RFC 9113 §6.5.2).
pub const ENTRY_OVERHEAD: usize = 32;

/// The static table; index `i` in HPACK is `STATIC[i - 1]`.
pub(super) const STATIC: [(&[u8], &[u8]); 61] = [
    (b":authority", b""),
    (b":method", b"GET"),
    (b":method", b"POST"),
    (b":path", b"/"),
    (b":path", b"/index.html"),
    (b":scheme", b"http"),
    (b":scheme", b"https"),
    (b":status", b"200"),
    (b":status", b"204"),
    (b":status", b"206"),
    (b":status", b"304"),
    (b":status", b"400"),
    (b":status", b"404"),
    (b":status", b"500"),
    (b"accept-charset", b""),
    (b"accept-encoding", b"gzip, deflate"),
    (b"accept-language", b""),
    (b"accept-ranges", b""),
    (b"accept", b""),
    (b"access-control-allow-origin", b""),
    (b"age", b""),
    (b"allow", b""),
    (b"authorization", b""),
    (b"cache-control", b""),
    (b"content-disposition", b""),
    (b"content-encoding", b""),
    (b"content-language", b""),
    (b"content-length", b""),
    (b"content-location", b""),
    (b"content-range", b""),
    (b"content-type", b""),
    (b"cookie", b""),
    (b"date", b""),
    (b"etag", b""),
    (b"expect", b""),
    (b"expires", b""),
    (b"from", b""),
    (b"host", b""),
    (b"if-match", b""),
    (b"if-modified-since", b""),
    (b"if-none-match", b""),
    (b"if-range", b""),
    (b"if-unmodified-since", b""),
    (b"last-modified", b""),
    (b"link", b""),
    (b"location", b""),
    (b"max-forwards", b""),
    (b"proxy-authenticate", b""),
    (b"proxy-authorization", b""),
    (b"range", b""),
    (b"referer", b""),
    (b"refresh", b""),
    (b"retry-after", b""),
    (b"server", b""),
    (b"set-cookie", b""),
    (b"strict-transport-security", b""),
    (b"transfer-encoding", b""),
    (b"user-agent", b""),
    (b"vary", b""),
    (b"via", b""),
    (b"www-authenticate", b""),
];

/// The HPACK index of the first dynamic table entry.
pub(super) const FIRST_DYNAMIC: usize = STATIC.len() + 1;

/// The static table's match for a field: the index of an entry with this name (the first
/// one), and whether that entry's value matches too.
pub(super) fn static_lookup(name: &[u8], value: &[u8]) -> Option<(usize, bool)> {
    let exact = |candidates: &[(usize, &[u8])], first: usize| {
        candidates
            .iter()
            .find(|(_, v)| *v == value)
            .map_or((first, false), |&(i, _)| (i, true))
    };
    let found = match name {
        b":authority" => (1, value.is_empty()),
        b":method" => exact(&[(2, b"GET"), (3, b"POST")], 2),
        b":path" => exact(&[(4, b"/"), (5, b"/index.html")], 4),
        b":scheme" => exact(&[(6, b"http"), (7, b"https")], 6),
        b":status" => exact(
            &[
                (8, b"200"),
                (9, b"204"),
                (10, b"206"),
                (11, b"304"),
                (12, b"400"),
                (13, b"404"),
                (14, b"500"),
            ],
            8,
        ),
        b"accept-encoding" => exact(&[(16, b"gzip, deflate")], 16),
        _ => {
            let i = match name {
                b"accept-charset" => 15,
                b"accept-language" => 17,
                b"accept-ranges" => 18,
                b"accept" => 19,
                b"access-control-allow-origin" => 20,
                b"age" => 21,
                b"allow" => 22,
                b"authorization" => 23,
                b"cache-control" => 24,
                b"content-disposition" => 25,
                b"content-encoding" => 26,
                b"content-language" => 27,
                b"content-length" => 28,
                b"content-location" => 29,
                b"content-range" => 30,
                b"content-type" => 31,
                b"cookie" => 32,
                b"date" => 33,
                b"etag" => 34,
                b"expect" => 35,
                b"expires" => 36,
                b"from" => 37,
                b"host" => 38,
                b"if-match" => 39,
                b"if-modified-since" => 40,
                b"if-none-match" => 41,
                b"if-range" => 42,
                b"if-unmodified-since" => 43,
                b"last-modified" => 44,
                b"link" => 45,
                b"location" => 46,
                b"max-forwards" => 47,
                b"proxy-authenticate" => 48,
                b"proxy-authorization" => 49,
                b"range" => 50,
                b"referer" => 51,
                b"refresh" => 52,
                b"retry-after" => 53,
                b"server" => 54,
                b"set-cookie" => 55,
                b"strict-transport-security" => 56,
                b"transfer-encoding" => 57,
                b"user-agent" => 58,
                b"vary" => 59,
                b"via" => 60,
                b"www-authenticate" => 61,
                _ => return None,
            };
            (i, value.is_empty())
        }
    };
    Some(found)
}

/// Where the name of a new entry comes from.
#[derive(Clone, Copy)]
pub(super) enum NameRef<'a> {
    /// These octets.
    Bytes(&'a [u8]),
    /// The name of the dynamic entry at this position (0 = newest), which the insertion
    /// may evict.
    Entry(usize),
}

/// One entry: where its octets start in the table's buffer (counted from the first
/// octet ever appended), and its name and value lengths.
#[derive(Clone, Copy)]
struct Slot {
    at: usize,
    name_len: usize,
    value_len: usize,
}

impl Slot {
    fn size(&self) -> usize {
        self.name_len + self.value_len + ENTRY_OVERHEAD
    }
}

/// A dynamic table: a FIFO of entries whose total size (name + value + 32 each) stays
/// within `capacity`, the size last set by a dynamic table size update.
///
/// Entries' octets live one after the other in a single buffer, so insertion does not
/// allocate once the buffer has grown: evicting moves nothing, and the dead space at the
/// front is reclaimed (one move of the live octets) once it is as large as the live part.
/// The buffer therefore stays below about three times `capacity`.
pub(super) struct DynamicTable {
    /// Oldest entry first.
    slots: VecDeque<Slot>,
    buf: Vec<u8>,
    /// The position of `buf[0]` in the count of octets ever appended.
    base: usize,
    size: usize,
    capacity: usize,
}

impl DynamicTable {
    pub(super) fn new(capacity: usize) -> Self {
        DynamicTable {
            slots: VecDeque::new(),
            buf: Vec::new(),
            base: 0,
            size: 0,
            capacity,
        }
    }

    /// The size of the entries (RFC 7541 §4.1).
    pub(super) fn size(&self) -> usize {
        self.size
    }

    /// The maximum size.
    pub(super) fn capacity(&self) -> usize {
        self.capacity
    }

    pub(super) fn len(&self) -> usize {
        self.slots.len()
    }

    /// The entry at `i` (0 = newest).
    pub(super) fn get(&self, i: usize) -> Option<(&[u8], &[u8])> {
        let slot = self
            .slots
            .len()
            .checked_sub(i + 1)
            .and_then(|j| self.slots.get(j))?;
        let start = slot.at - self.base;
        let mid = start + slot.name_len;
        let end = mid + slot.value_len;
        Some((self.buf.get(start..mid)?, self.buf.get(mid..end)?))
    }

    /// Entries, newest first.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// Sets the maximum size, evicting the oldest entries until the rest fit.
    pub(super) fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity;
        self.evict_to(capacity);
    }

    fn evict_to(&mut self, size: usize) {
        while self.size > size {
            match self.slots.pop_front() {
                Some(slot) => self.size -= slot.size(),
                None => break,
            }
        }
    }

    /// Adds an entry (RFC 7541 §4.4): the oldest entries are evicted to make room, and an
    /// entry larger than the whole table empties it and is not added. Returns false when
    /// `name` refers to no entry (the table is then unchanged).
    pub(super) fn insert(&mut self, name: NameRef<'_>, value: &[u8]) -> bool {
        let name_len = match name {
            NameRef::Bytes(b) => b.len(),
            NameRef::Entry(i) => match self.get(i) {
                Some((n, _)) => n.len(),
                None => return false,
            },
        };
        let entry_size = name_len + value.len() + ENTRY_OVERHEAD;
        if entry_size > self.capacity {
            self.evict_to(0);
            return true;
        }
        self.compact();
        // Copy first: the evictions below may drop the entry the name comes from.
        let at = self.base + self.buf.len();
        match name {
            NameRef::Bytes(b) => self.buf.extend_from_slice(b),
            NameRef::Entry(i) => {
                let Some(slot) = self
                    .slots
                    .len()
                    .checked_sub(i + 1)
                    .and_then(|j| self.slots.get(j))
                else {
                    return false;
                };
                let start = slot.at - self.base;
                if start + name_len > self.buf.len() {
                    return false;
                }
                self.buf.extend_from_within(start..start + name_len);
            }
        }
        self.buf.extend_from_slice(value);
        self.evict_to(self.capacity - entry_size);
        self.slots.push_back(Slot {
            at,
            name_len,
            value_len: value.len(),
        });
        self.size += entry_size;
        true
    }

    /// Drops the evicted octets at the front of the buffer once they are at least as many
    /// as the live ones.
    fn compact(&mut self) {
        let start = self
            .slots
            .front()
            .map_or(self.buf.len(), |s| s.at - self.base);
        if start > 0 && start >= self.buf.len() - start {
            self.buf.drain(..start);
            self.base += start;
        }
    }

    /// Looks `name`/`value` up: the position of the newest entry equal to both, or failing
    /// that of the newest entry with that name.
    pub(super) fn find(&self, name: &[u8], value: &[u8]) -> Option<(usize, bool)> {
        let mut by_name = None;
        for (i, slot) in self.slots.iter().rev().enumerate() {
            if slot.name_len != name.len() {
                continue;
            }
            let start = slot.at - self.base;
            if self.buf.get(start..start + slot.name_len) != Some(name) {
                continue;
            }
            let mid = start + slot.name_len;
            if slot.value_len == value.len()
                && self.buf.get(mid..mid + slot.value_len) == Some(value)
            {
                return Some((i, true));
            }
            by_name.get_or_insert((i, false));
        }
        by_name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_lookup_agrees_with_the_table() {
        for (i, (name, value)) in STATIC.iter().enumerate() {
            let (first, exact) = static_lookup(name, value).unwrap();
            assert!(exact, "{i}");
            assert_eq!(STATIC[first - 1], (*name, *value));
            let first_of_name = STATIC.iter().position(|(n, _)| n == name).unwrap() + 1;
            assert_eq!(static_lookup(name, b"other"), Some((first_of_name, false)));
        }
        assert_eq!(static_lookup(b"x-custom", b""), None);
        assert_eq!(static_lookup(b":status", b"302"), Some((8, false)));
    }

    #[test]
    fn insert_evict_and_reference_an_evicted_name() {
        let mut t = DynamicTable::new(100);
        assert!(t.insert(NameRef::Bytes(b"aaaa"), b"1111")); // 40
        assert!(t.insert(NameRef::Bytes(b"bbbb"), b"2222")); // 80
        assert_eq!(t.size(), 80);
        // The new entry takes the name of the oldest one, which it evicts.
        assert!(t.insert(NameRef::Entry(1), b"3333"));
        assert_eq!(t.len(), 2);
        assert_eq!(t.get(0), Some((&b"aaaa"[..], &b"3333"[..])));
        assert_eq!(t.get(1), Some((&b"bbbb"[..], &b"2222"[..])));
        assert_eq!(t.get(2), None);
        assert!(!t.insert(NameRef::Entry(5), b""));
        assert_eq!(t.find(b"aaaa", b"3333"), Some((0, true)));
        assert_eq!(t.find(b"bbbb", b"x"), Some((1, false)));
        assert_eq!(t.find(b"cccc", b""), None);
        // Too large for the table: empties it.
        assert!(t.insert(NameRef::Bytes(&[b'x'; 70]), b""));
        assert_eq!((t.len(), t.size()), (0, 0));
        t.set_capacity(0);
        assert!(t.insert(NameRef::Bytes(b""), b""));
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn buffer_stays_bounded() {
        let mut t = DynamicTable::new(4096);
        for i in 0..100_000usize {
            let v = i.to_string();
            let name: &[u8] = if i % 3 == 0 {
                b"x-a"
            } else {
                b"x-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
            };
            assert!(t.insert(NameRef::Bytes(name), v.as_bytes()));
            if i % 7 == 0 {
                assert!(t.insert(NameRef::Entry(t.len() - 1), &[b'v'; 300]));
            }
            assert!(t.buf.len() <= 3 * 4096, "{}", t.buf.len());
            assert!(t.size() <= 4096);
        }
        let (n, v) = t.get(0).unwrap();
        assert_eq!(v, b"99999");
        assert_eq!(n, b"x-a");
    }
}
