//! The examples of RFC 7541 Appendix C, for the decoder and (where its choices are the
//! RFC's) the encoder, and the decoding errors a peer can provoke.

use rhttpd_http::hpack::{CompressionError, Decoder, Encoder, HpackError, OwnedField};

fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

type Pairs = Vec<(String, String)>;

fn pairs(list: &[(&str, &str)]) -> Pairs {
    list.iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

fn as_pairs(fields: &[OwnedField]) -> Pairs {
    fields
        .iter()
        .map(|f| {
            (
                String::from_utf8(f.name.clone()).unwrap(),
                String::from_utf8(f.value.clone()).unwrap(),
            )
        })
        .collect()
}

/// A dynamic table, newest first, with each entry's size.
fn table<'a>(entries: impl Iterator<Item = (&'a [u8], &'a [u8])>) -> Vec<(String, String, usize)> {
    entries
        .map(|(n, v)| {
            (
                String::from_utf8(n.to_vec()).unwrap(),
                String::from_utf8(v.to_vec()).unwrap(),
                n.len() + v.len() + 32,
            )
        })
        .collect()
}

fn sized(list: &[(&str, &str, usize)]) -> Vec<(String, String, usize)> {
    list.iter()
        .map(|(n, v, s)| (n.to_string(), v.to_string(), *s))
        .collect()
}

const NO_LIMIT: usize = usize::MAX;

#[test]
fn c2_literal_fields() {
    // C.2.1: literal with indexing.
    let mut d = Decoder::new(4096);
    let f = d
        .decode_owned(
            &hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572"),
            NO_LIMIT,
        )
        .unwrap();
    assert_eq!(as_pairs(&f), pairs(&[("custom-key", "custom-header")]));
    assert!(!f[0].sensitive);
    assert_eq!(
        table(d.table_entries()),
        sized(&[("custom-key", "custom-header", 55)])
    );
    assert_eq!(d.table_size(), 55);

    // C.2.2: literal without indexing.
    let mut d = Decoder::new(4096);
    let f = d
        .decode_owned(&hex("040c 2f73 616d 706c 652f 7061 7468"), NO_LIMIT)
        .unwrap();
    assert_eq!(as_pairs(&f), pairs(&[(":path", "/sample/path")]));
    assert!(!f[0].sensitive);
    assert_eq!(d.table_size(), 0);

    // C.2.3: literal never indexed.
    let mut d = Decoder::new(4096);
    let f = d
        .decode_owned(&hex("1008 7061 7373 776f 7264 0673 6563 7265 74"), NO_LIMIT)
        .unwrap();
    assert_eq!(as_pairs(&f), pairs(&[("password", "secret")]));
    assert!(f[0].sensitive);
    assert_eq!(d.table_size(), 0);

    // C.2.4: indexed field.
    let mut d = Decoder::new(4096);
    let f = d.decode_owned(&hex("82"), NO_LIMIT).unwrap();
    assert_eq!(as_pairs(&f), pairs(&[(":method", "GET")]));
    assert_eq!(d.table_size(), 0);
}

#[test]
fn c2_encoder_representations() {
    // The encoder picks C.2.3's representation for a sensitive field (with Huffman where
    // shorter), and C.2.4's for a static match.
    let mut e = Encoder::new();
    let mut out = Vec::new();
    e.encode([(&b"password"[..], &b"secret"[..], true)], &mut out);
    assert_eq!(out[0], 0x10);
    assert_eq!(e.table_size(), 0);
    let f = Decoder::new(4096).decode_owned(&out, NO_LIMIT).unwrap();
    assert_eq!(as_pairs(&f), pairs(&[("password", "secret")]));
    assert!(f[0].sensitive);

    out.clear();
    e.encode([(":method", "GET", false)], &mut out);
    assert_eq!(out, hex("82"));
}

fn request_lists() -> [Pairs; 3] {
    [
        pairs(&[
            (":method", "GET"),
            (":scheme", "http"),
            (":path", "/"),
            (":authority", "www.example.com"),
        ]),
        pairs(&[
            (":method", "GET"),
            (":scheme", "http"),
            (":path", "/"),
            (":authority", "www.example.com"),
            ("cache-control", "no-cache"),
        ]),
        pairs(&[
            (":method", "GET"),
            (":scheme", "https"),
            (":path", "/index.html"),
            (":authority", "www.example.com"),
            ("custom-key", "custom-value"),
        ]),
    ]
}

fn request_tables() -> [Vec<(String, String, usize)>; 3] {
    [
        sized(&[(":authority", "www.example.com", 57)]),
        sized(&[
            ("cache-control", "no-cache", 53),
            (":authority", "www.example.com", 57),
        ]),
        sized(&[
            ("custom-key", "custom-value", 54),
            ("cache-control", "no-cache", 53),
            (":authority", "www.example.com", 57),
        ]),
    ]
}

const C3: [&str; 3] = [
    "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
    "8286 84be 5808 6e6f 2d63 6163 6865",
    "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
];

const C4: [&str; 3] = [
    "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
    "8286 84be 5886 a8eb 1064 9cbf",
    "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
];

fn response_lists() -> [Pairs; 3] {
    let date1 = "Mon, 21 Oct 2013 20:13:21 GMT";
    let date2 = "Mon, 21 Oct 2013 20:13:22 GMT";
    let url = "https://www.example.com";
    let cookie = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";
    [
        pairs(&[
            (":status", "302"),
            ("cache-control", "private"),
            ("date", date1),
            ("location", url),
        ]),
        pairs(&[
            (":status", "307"),
            ("cache-control", "private"),
            ("date", date1),
            ("location", url),
        ]),
        pairs(&[
            (":status", "200"),
            ("cache-control", "private"),
            ("date", date2),
            ("location", url),
            ("content-encoding", "gzip"),
            ("set-cookie", cookie),
        ]),
    ]
}

fn response_tables() -> [Vec<(String, String, usize)>; 3] {
    let date1 = "Mon, 21 Oct 2013 20:13:21 GMT";
    let date2 = "Mon, 21 Oct 2013 20:13:22 GMT";
    let url = "https://www.example.com";
    let cookie = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";
    [
        sized(&[
            ("location", url, 63),
            ("date", date1, 65),
            ("cache-control", "private", 52),
            (":status", "302", 42),
        ]),
        sized(&[
            (":status", "307", 42),
            ("location", url, 63),
            ("date", date1, 65),
            ("cache-control", "private", 52),
        ]),
        sized(&[
            ("set-cookie", cookie, 98),
            ("content-encoding", "gzip", 52),
            ("date", date2, 65),
        ]),
    ]
}

const C5: [&str; 3] = [
    "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32
     3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
    "4803 3330 37c1 c0bf",
    "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970
     7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61
     6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31",
];

const C6: [&str; 3] = [
    "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad
     1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
    "4883 640e ffc1 c0bf",
    "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2
     e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07",
];

fn decode_chain(
    table_size: usize,
    blocks: &[&str; 3],
    lists: &[Pairs; 3],
    tables: &[Vec<(String, String, usize)>; 3],
) {
    let mut d = Decoder::new(table_size);
    for i in 0..3 {
        let f = d.decode_owned(&hex(blocks[i]), NO_LIMIT).unwrap();
        assert_eq!(as_pairs(&f), lists[i], "block {i}");
        assert_eq!(table(d.table_entries()), tables[i], "table after block {i}");
        let size: usize = tables[i].iter().map(|e| e.2).sum();
        assert_eq!(d.table_size(), size);
    }
}

/// Encodes each list with one encoder and decodes it with one decoder; both tables must
/// stay equal. Returns the blocks.
fn encode_chain(encoder: &mut Encoder, decoder: &mut Decoder, lists: &[Pairs; 3]) -> Vec<Vec<u8>> {
    let mut blocks = Vec::new();
    for (i, list) in lists.iter().enumerate() {
        let mut out = Vec::new();
        encoder.encode(list.iter().map(|(n, v)| (n, v, false)), &mut out);
        let f = decoder.decode_owned(&out, NO_LIMIT).unwrap();
        assert_eq!(&as_pairs(&f), list, "block {i}");
        assert_eq!(
            table(encoder.table_entries()),
            table(decoder.table_entries())
        );
        assert_eq!(encoder.table_size(), decoder.table_size());
        blocks.push(out);
    }
    blocks
}

#[test]
fn c3_requests_without_huffman() {
    decode_chain(4096, &C3, &request_lists(), &request_tables());
}

#[test]
fn c4_requests_with_huffman() {
    decode_chain(4096, &C4, &request_lists(), &request_tables());
}

#[test]
fn c3_c4_encoder_matches_the_rfc_with_huffman() {
    // Our encoder Huffman-codes where shorter, indexes these fields as the RFC does, and so
    // produces C.4 exactly (and decodes to C.3's lists and tables).
    let mut e = Encoder::new();
    let mut d = Decoder::new(4096);
    let blocks = encode_chain(&mut e, &mut d, &request_lists());
    for (i, block) in blocks.iter().enumerate() {
        assert_eq!(block, &hex(C4[i]), "block {i}");
    }
    assert_eq!(table(e.table_entries()), request_tables()[2]);
}

#[test]
fn c5_responses_without_huffman() {
    decode_chain(256, &C5, &response_lists(), &response_tables());
}

#[test]
fn c6_responses_with_huffman() {
    decode_chain(256, &C6, &response_lists(), &response_tables());
}

#[test]
fn c5_c6_encoder_round_trips_with_a_256_octet_table() {
    // The encoder does not index `location` (its values rarely repeat), so from that field
    // on its blocks differ from C.6; up to it they are C.6's, after the size update that
    // takes the table from the default 4096 to 256 octets.
    let mut e = Encoder::with_max_table_size(256);
    let mut d = Decoder::new(4096);
    let blocks = encode_chain(&mut e, &mut d, &response_lists());
    assert_eq!(d.table_capacity(), 256);
    assert_eq!(&blocks[0][..3], &hex("3fe1 01")[..]);
    let rfc = hex(C6[0]);
    // :status, cache-control and date: 4 + 7 + 24 octets.
    assert_eq!(&blocks[0][3..3 + 35], &rfc[..35]);
    assert_ne!(blocks[0][3 + 35], rfc[35]);
    assert!(e.table_size() <= 256);
    // Evictions happened: the first response's entries are gone.
    assert!(
        e.table_entries()
            .all(|(n, v)| (n, v) != (&b":status"[..], &b"302"[..]))
    );
}

#[test]
fn size_updates() {
    let mut d = Decoder::new(4096);
    d.decode_owned(&hex(C3[0]), NO_LIMIT).unwrap();
    assert_eq!(d.table_size(), 57);
    // Two updates at the start of a block: 0 empties the table, then 4096.
    let f = d.decode_owned(&hex("20 3fe1 1f 82"), NO_LIMIT).unwrap();
    assert_eq!(as_pairs(&f), pairs(&[(":method", "GET")]));
    assert_eq!((d.table_size(), d.table_capacity()), (0, 4096));
    // 4097 is above the limit.
    assert_eq!(
        d.decode_owned(&hex("3fe2 1f"), NO_LIMIT),
        Err(HpackError::Compression(CompressionError::TableSizeTooLarge))
    );
    // After a field, or at the end of a block.
    let mut d = Decoder::new(4096);
    assert_eq!(
        d.decode_owned(&hex("82 20"), NO_LIMIT),
        Err(HpackError::Compression(
            CompressionError::LateTableSizeUpdate
        ))
    );
    let mut d = Decoder::new(4096);
    assert_eq!(
        d.decode_owned(&hex("82 20 82"), NO_LIMIT),
        Err(HpackError::Compression(
            CompressionError::LateTableSizeUpdate
        ))
    );
}

#[test]
fn lowering_the_limit_requires_an_update() {
    let mut d = Decoder::new(4096);
    d.decode_owned(&hex(C3[0]), NO_LIMIT).unwrap();
    d.set_max_table_size(100);
    assert_eq!(d.max_table_size(), 100);
    let mut missing = Decoder::new(4096);
    missing.set_max_table_size(100);
    assert_eq!(
        missing.decode_owned(&hex("82"), NO_LIMIT),
        Err(HpackError::Compression(
            CompressionError::MissingTableSizeUpdate
        ))
    );
    // 0x3f45 = 100: the entry (57 octets) stays.
    let f = d.decode_owned(&hex("3f45 be"), NO_LIMIT).unwrap();
    assert_eq!(as_pairs(&f), pairs(&[(":authority", "www.example.com")]));
    assert_eq!(d.table_capacity(), 100);
    // Raising the limit needs no update.
    d.set_max_table_size(4096);
    d.decode_owned(&hex("be"), NO_LIMIT).unwrap();

    // The encoder side: the peer lowers to 0 and back to 4096 between two blocks, so the
    // next block signals 0 (emptying the table) and then 4096.
    let mut e = Encoder::new();
    let mut d = Decoder::new(4096);
    let mut out = Vec::new();
    e.encode([("x-a", "1", false)], &mut out);
    d.decode_owned(&out, NO_LIMIT).unwrap();
    assert_eq!(d.table_size(), 36);
    e.set_max_table_size(0);
    e.set_max_table_size(4096);
    out.clear();
    e.encode([(":method", "GET", false)], &mut out);
    assert_eq!(out, hex("20 3fe1 1f 82"));
    d.decode_owned(&out, NO_LIMIT).unwrap();
    assert_eq!(d.table_size(), 0);
    // A peer limit below ours is applied once.
    e.set_max_table_size(1000);
    d.set_max_table_size(1000);
    out.clear();
    e.encode([("x-a", "1", false)], &mut out);
    assert_eq!(&out[..3], &hex("3fc9 07")[..]);
    d.decode_owned(&out, NO_LIMIT).unwrap();
    out.clear();
    e.encode([("x-a", "1", false)], &mut out);
    assert_eq!(out, hex("be"));
    assert_eq!(
        as_pairs(&d.decode_owned(&out, NO_LIMIT).unwrap()),
        pairs(&[("x-a", "1")])
    );
}

#[test]
fn malformed_blocks() {
    use CompressionError::*;
    let cases: &[(&str, CompressionError)] = &[
        ("80", ZeroIndex),
        ("be", InvalidIndex),
        ("ff 00", InvalidIndex),
        ("7f 00 00", InvalidIndex),
        ("0f 30 00", InvalidIndex),
        ("40", Truncated),
        ("41", Truncated),
        ("400a 6375", Truncated),
        ("41 05 61", Truncated),
        ("ff", Truncated),
        ("ff ff ff ff ff ff 7f", IntegerOverflow),
        ("41 7f ff ff ff ff 0f", IntegerOverflow),
        // A Huffman name "0" padded with zeros; a whole octet of padding; EOS.
        ("00 81 00 00", HuffmanPadding),
        ("00 82 07 ff 00", HuffmanPadding),
        ("00 84 ff ff ff ff 00", HuffmanEos),
        ("41 81 06", HuffmanPadding),
    ];
    for (block, want) in cases {
        let mut d = Decoder::new(4096);
        assert_eq!(
            d.decode_owned(&hex(block), NO_LIMIT),
            Err(HpackError::Compression(*want)),
            "{block}"
        );
    }
    // An empty block is valid and empty.
    assert_eq!(Decoder::new(4096).decode_owned(&[], NO_LIMIT), Ok(vec![]));
}

#[test]
fn errors_are_described() {
    let e = HpackError::Compression(CompressionError::HuffmanEos);
    assert_eq!(
        e.to_string(),
        "HPACK compression error: EOS in a Huffman-coded string"
    );
    assert_eq!(
        HpackError::HeaderListTooLarge.to_string(),
        "header list too large"
    );
}

#[test]
fn header_list_limit_counts_32_per_field() {
    // C.3.1's fields count 7+3+32, 7+4+32, 5+1+32 and 10+15+32.
    let size = 42 + 43 + 38 + 57;
    let mut d = Decoder::new(4096);
    assert!(d.decode_owned(&hex(C3[0]), size).is_ok());
    let mut d = Decoder::new(4096);
    assert_eq!(
        d.decode_owned(&hex(C3[0]), size - 1),
        Err(HpackError::HeaderListTooLarge)
    );
    // The block was decoded to its end: the table is in step, the next block works.
    assert_eq!(d.table_size(), 57);
    let f = d.decode_owned(&hex(C3[1]), NO_LIMIT).unwrap();
    assert_eq!(as_pairs(&f), request_lists()[1]);
}

#[test]
fn sensitive_fields_stay_out_of_the_tables() {
    let mut e = Encoder::new();
    let mut d = Decoder::new(4096);
    let fields = [
        ("authorization", "Basic dXNlcjpwYXNz", false),
        ("cookie", "a=b", false),
        ("x-secret", "42", true),
        ("cookie", "session=0123456789abcdefghij", false),
    ];
    for _ in 0..2 {
        let mut out = Vec::new();
        e.encode(fields, &mut out);
        let got = d.decode_owned(&out, NO_LIMIT).unwrap();
        let flags: Vec<bool> = got.iter().map(|f| f.sensitive).collect();
        assert_eq!(flags, [true, true, true, false]);
    }
    assert_eq!(
        table(e.table_entries()),
        sized(&[("cookie", "session=0123456789abcdefghij", 66)])
    );
    assert_eq!(table(d.table_entries()), table(e.table_entries()));
}
