//! Property tests for HPACK: round trips through our encoder and decoder over several
//! blocks that share the dynamic tables, table size changes between blocks, a decoder
//! fed arbitrary or corrupted bytes, HPACK bombs, and loona-hpack as an oracle in both
//! directions.

use std::time::{Duration, Instant};

use proptest::collection::vec;
use proptest::prelude::*;
use rhttpd_http::hpack::{Decoder, Encoder, HpackError};

type Field = (Vec<u8>, Vec<u8>, bool);

fn name() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::sample::select(vec![
            ":status", ":path", ":method", ":authority", "content-type", "server", "date",
            "cookie", "authorization", "location", "set-cookie", "accept-encoding",
            "content-length", "x-custom",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        2 => "[a-z-]{1,12}".prop_map(String::into_bytes),
        1 => vec(any::<u8>(), 0..40),
    ]
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "", "200", "404", "GET", "/", "gzip, deflate", "text/html", "rhttpd",
            "Mon, 21 Oct 2013 20:13:21 GMT", "a=b",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        3 => "[ -~]{0,30}".prop_map(String::into_bytes),
        2 => vec(any::<u8>(), 0..300),
        1 => vec(any::<u8>(), 1000..5000),
    ]
}

fn field() -> impl Strategy<Value = Field> {
    (name(), value(), prop::bool::weighted(0.1))
}

fn table_size() -> impl Strategy<Value = usize> {
    prop_oneof![Just(4096usize), 0..300usize, 0..10_000usize]
}

/// Blocks, each preceded by the peer's SETTINGS_HEADER_TABLE_SIZE changes since the last.
fn script() -> impl Strategy<Value = Vec<(Vec<usize>, Vec<Field>)>> {
    vec((vec(table_size(), 0..3), vec(field(), 0..16)), 1..8)
}

/// Whether our encoder sends the field as never indexed whatever the caller says.
fn always_sensitive(name: &[u8], value: &[u8]) -> bool {
    name == b"authorization"
        || name == b"proxy-authorization"
        || (name == b"cookie" && value.len() < 20)
}

fn decode_all(d: &mut Decoder, block: &[u8]) -> Result<Vec<Field>, HpackError> {
    let fields = d.decode_owned(block, usize::MAX)?;
    Ok(fields
        .into_iter()
        .map(|f| (f.name, f.value, f.sensitive))
        .collect())
}

fn tables_equal(e: &Encoder, d: &Decoder) -> bool {
    e.table_size() == d.table_size()
        && e.table_capacity() == d.table_capacity()
        && e.table_entries().eq(d.table_entries())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn round_trip_over_several_blocks(limit in table_size(), script in script()) {
        let mut e = Encoder::with_max_table_size(limit);
        let mut d = Decoder::new(4096);
        for (changes, fields) in &script {
            for &c in changes {
                e.set_max_table_size(c);
                d.set_max_table_size(c);
            }
            let mut out = Vec::new();
            e.encode(fields.iter().map(|(n, v, s)| (n, v, *s)), &mut out);
            let got = decode_all(&mut d, &out).unwrap();
            prop_assert_eq!(got.len(), fields.len());
            for ((n, v, s), (gn, gv, gs)) in fields.iter().zip(&got) {
                prop_assert_eq!(n, gn);
                prop_assert_eq!(v, gv);
                prop_assert_eq!(*s || always_sensitive(n, v), *gs);
            }
            prop_assert!(tables_equal(&e, &d));
            prop_assert!(d.table_size() <= d.table_capacity());
            // An empty block leaves size updates for the next one.
            prop_assert!(fields.is_empty() || d.table_capacity() <= d.max_table_size());
            prop_assert!(e.table_capacity() <= limit.max(4096));
        }
    }

    #[test]
    fn our_blocks_decode_with_loona(limit in table_size(), script in script()) {
        let mut e = Encoder::with_max_table_size(limit);
        let mut oracle = loona_hpack::Decoder::new();
        for (changes, fields) in &script {
            for &c in changes {
                e.set_max_table_size(c);
            }
            let mut out = Vec::new();
            e.encode(fields.iter().map(|(n, v, s)| (n, v, *s)), &mut out);
            let got = oracle.decode(&out).unwrap();
            let want: Vec<(Vec<u8>, Vec<u8>)> =
                fields.iter().map(|(n, v, _)| (n.clone(), v.clone())).collect();
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn loona_blocks_decode_with_ours(blocks in vec(vec(field(), 0..16), 1..8)) {
        let mut oracle = loona_hpack::Encoder::new();
        let mut d = Decoder::new(4096);
        for fields in &blocks {
            let out = oracle.encode(fields.iter().map(|(n, v, _)| (&n[..], &v[..])));
            let got: Vec<(Vec<u8>, Vec<u8>)> =
                decode_all(&mut d, &out).unwrap().into_iter().map(|(n, v, _)| (n, v)).collect();
            let want: Vec<(Vec<u8>, Vec<u8>)> =
                fields.iter().map(|(n, v, _)| (n.clone(), v.clone())).collect();
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_respect_the_limits(
        blocks in vec(vec(any::<u8>(), 0..300), 1..6),
        max_table in 0..5000usize,
        max_list in 0..3000usize,
    ) {
        let mut d = Decoder::new(max_table);
        for block in &blocks {
            let mut emitted = 0;
            let r = d.decode(block, max_list, |f| emitted += f.size());
            prop_assert!(emitted <= max_list);
            prop_assert!(d.table_size() <= d.table_capacity());
            prop_assert!(d.table_capacity() <= max_table);
            if matches!(r, Err(HpackError::Compression(_))) {
                break;
            }
        }
    }

    #[test]
    fn corrupted_blocks_never_panic(
        limit in table_size(),
        script in script(),
        edits in vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..8),
        max_list in prop_oneof![Just(usize::MAX), 0..2000usize],
    ) {
        let mut e = Encoder::with_max_table_size(limit);
        let mut d = Decoder::new(4096);
        for (i, (changes, fields)) in script.iter().enumerate() {
            for &c in changes {
                e.set_max_table_size(c);
                d.set_max_table_size(c);
            }
            let mut out = Vec::new();
            e.encode(fields.iter().map(|(n, v, s)| (n, v, *s)), &mut out);
            if i + 1 == script.len() {
                for (at, byte, kind) in &edits {
                    if out.is_empty() {
                        out.push(*byte);
                        continue;
                    }
                    let at = at.index(out.len());
                    match kind {
                        0 => out[at] = *byte,
                        1 => out.insert(at, *byte),
                        _ => out.truncate(at),
                    }
                }
            }
            let mut emitted = 0;
            let r = d.decode(&out, max_list, |f| emitted += f.size());
            prop_assert!(emitted <= max_list);
            prop_assert!(d.table_size() <= d.table_capacity());
            if r.is_err() {
                break;
            }
        }
    }
}

/// One representation of a block, written by hand (not by our encoder).
#[derive(Clone, Debug)]
enum Rep {
    Indexed(usize),
    /// A literal: its first-octet pattern and prefix, name index (0 = literal name), name,
    /// value.
    Literal(u8, u8, usize, Vec<u8>, Vec<u8>),
    SizeUpdate(usize),
}

fn rep() -> impl Strategy<Value = Rep> {
    let literal = (
        prop::sample::select(vec![(0x40u8, 6u8), (0x00, 4), (0x10, 4)]),
        prop_oneof![Just(0usize), 1..75usize],
        name(),
        value(),
    )
        .prop_map(|((flags, prefix), index, n, v)| Rep::Literal(flags, prefix, index, n, v));
    prop_oneof![
        1 => (1..70usize).prop_map(Rep::Indexed),
        1 => literal,
    ]
}

/// A block: size updates (as a fraction of the table limit; above it now and then), then
/// fields.
fn reps() -> impl Strategy<Value = (Vec<u16>, Vec<Rep>)> {
    (vec(0..1040u16, 0..3), vec(rep(), 0..12))
}

fn put_int(out: &mut Vec<u8>, flags: u8, prefix: u8, value: usize) {
    let mask = (1usize << prefix) - 1;
    if value < mask {
        out.push(flags | value as u8);
        return;
    }
    out.push(flags | mask as u8);
    let mut rest = value - mask;
    while rest >= 128 {
        out.push(0x80 | (rest & 0x7f) as u8);
        rest >>= 7;
    }
    out.push(rest as u8);
}

fn put_string(out: &mut Vec<u8>, s: &[u8]) {
    put_int(out, 0, 7, s.len());
    out.extend_from_slice(s);
}

fn write_reps(reps: &[Rep]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in reps {
        match r {
            Rep::Indexed(i) => put_int(&mut out, 0x80, 7, *i),
            Rep::Literal(flags, prefix, index, n, v) => {
                put_int(&mut out, *flags, *prefix, *index);
                if *index == 0 {
                    put_string(&mut out, n);
                }
                put_string(&mut out, v);
            }
            Rep::SizeUpdate(n) => put_int(&mut out, 0x20, 5, *n),
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Hand-written blocks (any index, name references, evictions, size updates):
    /// whatever our decoder accepts, loona-hpack decodes to the same fields.
    #[test]
    fn hand_written_blocks_agree_with_loona(
        max_table in prop_oneof![Just(4096usize), 0..600usize],
        blocks in vec(reps(), 1..6),
    ) {
        let mut ours = Decoder::new(max_table);
        let mut oracle = loona_hpack::Decoder::new();
        oracle.set_max_allowed_table_size(max_table);
        oracle.set_max_table_size(max_table);
        for (updates, fields) in &blocks {
            let mut reps: Vec<Rep> = updates
                .iter()
                .map(|&u| Rep::SizeUpdate(max_table * usize::from(u) / 1024))
                .collect();
            reps.extend(fields.iter().cloned());
            if !updates.is_empty() && fields.is_empty() {
                // loona-hpack refuses a block of size updates only; ours accepts it.
                reps.push(Rep::Indexed(2));
            }
            let block = write_reps(&reps);
            match decode_all(&mut ours, &block) {
                Ok(got) => {
                    let want = oracle.decode(&block).unwrap();
                    let got: Vec<(Vec<u8>, Vec<u8>)> =
                        got.into_iter().map(|(n, v, _)| (n, v)).collect();
                    prop_assert_eq!(got, want);
                }
                Err(HpackError::HeaderListTooLarge) => unreachable!(),
                Err(HpackError::Compression(_)) => break,
            }
        }
    }
}

/// A block that inserts a 4000-octet entry, then references it over and over.
fn bomb(total: usize) -> Vec<u8> {
    let mut block = vec![0x40, 0x06];
    block.extend_from_slice(b"x-bomb");
    // Value length 4000 = 127 + 3873: 0x7f, then 3873 in 7-bit groups.
    block.extend_from_slice(&[0x7f, 0xa1, 0x1e]);
    block.extend(std::iter::repeat_n(b'a', 4000));
    block.resize(total, 0xbe); // index 62: the newest entry
    block
}

#[test]
fn hpack_bomb_is_refused_quickly_with_bounded_output() {
    let block = bomb(16 * 1024);
    let mut d = Decoder::new(4096);
    let start = Instant::now();
    let mut emitted = 0;
    let mut count = 0;
    let r = d.decode(&block, 4096, |f| {
        emitted += f.size();
        count += 1;
    });
    assert_eq!(r, Err(HpackError::HeaderListTooLarge));
    assert_eq!(count, 1);
    assert!(emitted <= 4096);
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    // Unlimited, the same 16 KiB would expand to about 50 MB.
    let expansion = (block.len() - 4011) * (4000 + 6 + 32);
    assert!(expansion > 48_000_000);
    // The table is in step: the next block references the entry.
    let f = d.decode_owned(&[0xbe], 8192).unwrap();
    assert_eq!(f[0].value.len(), 4000);
    // decode_owned keeps no more than the limit either.
    assert_eq!(
        d.decode_owned(&[0xbe; 16 * 1024], 4096),
        Err(HpackError::HeaderListTooLarge)
    );
}

#[test]
fn table_churn_after_the_limit_stays_bounded() {
    // Past the list limit, literals that are indexed must still be added to the table.
    // Each two-octet literal here copies a 4000-octet name from the table, the worst
    // case per input octet: the cost is bounded by the block size times the table size.
    let mut block = vec![0x40, 0x7f, 0xa1, 0x1e];
    block.extend(std::iter::repeat_n(b'n', 4000));
    block.push(0x00);
    while block.len() < 16 * 1024 {
        block.extend_from_slice(&[0x7e, 0x00]); // name of index 62, empty value
    }
    let mut d = Decoder::new(4096);
    let start = Instant::now();
    let r = d.decode(&block, 4096, |_| {});
    assert_eq!(r, Err(HpackError::HeaderListTooLarge));
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(d.table_size(), 4000 + 32);
}
