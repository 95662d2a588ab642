//! Incremental message-body decoding (Content-Length, chunked, until-close) without
//! internal buffering: the caller owns the bytes and passes the unconsumed remainder.

use crate::token::parse_header_line;
use crate::types::{BodyFraming, HeaderMap, ParseError};

/// Longest chunk-size line accepted (hex size plus up to ~1 KiB of extensions).
pub const MAX_CHUNK_LINE: usize = 1024 + 32;
/// Most trailer fields accepted after the last chunk.
pub const MAX_TRAILER_FIELDS: usize = 100;
/// Longest trailer field line accepted.
pub const MAX_TRAILER_LINE: usize = 8190;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Length(u64),
    UntilClose,
    ChunkSize,
    ChunkData(u64),
    ChunkDataEnd,
    Trailers,
    Done,
}

/// Decodes one message body.
#[derive(Debug)]
pub struct BodyDecoder {
    state: State,
    limit: u64,
    data_len: u64,
    wire_len: u64,
    trailers: Option<HeaderMap>,
    trailer_count: usize,
    /// An error found after a data run was returned; reported on the next call.
    pending: Option<ParseError>,
}

/// Result of one [`BodyDecoder::decode`] call.
#[derive(Debug, PartialEq, Eq)]
pub struct Decoded<'a> {
    /// Bytes of `input` consumed (framing and data).
    pub consumed: usize,
    /// Body bytes: a subslice of `input[..consumed]`, possibly empty.
    pub data: &'a [u8],
    /// The body is complete.
    pub done: bool,
}

enum Step {
    /// Framing consumed; go on.
    Continue,
    /// Need more input.
    NeedMore,
}

impl BodyDecoder {
    /// `limit`: LimitRequestBody (0 = unlimited); exceeding it gives `BodyTooLarge`.
    pub fn new(framing: BodyFraming, limit: u64) -> Self {
        let mut pending = None;
        let state = match framing {
            BodyFraming::None | BodyFraming::Length(0) => State::Done,
            BodyFraming::Length(n) => {
                if limit != 0 && n > limit {
                    pending = Some(ParseError::BodyTooLarge);
                }
                State::Length(n)
            }
            BodyFraming::Chunked => State::ChunkSize,
            BodyFraming::UntilClose => State::UntilClose,
        };
        BodyDecoder {
            state,
            limit,
            data_len: 0,
            wire_len: 0,
            trailers: None,
            trailer_count: 0,
            pending,
        }
    }

    /// Decode from `input`. Returns at most one contiguous data run; framing before and
    /// after it is consumed too. `consumed == 0 && !done` means more input is needed.
    pub fn decode<'a>(&mut self, input: &'a [u8]) -> Result<Decoded<'a>, ParseError> {
        if let Some(e) = &self.pending {
            return Err(e.clone());
        }
        let mut pos = 0usize;
        let mut data: &'a [u8] = &[];
        loop {
            let rest = &input[pos..];
            let step = match self.state {
                State::Done => break,
                State::Length(remaining) | State::ChunkData(remaining) => {
                    if !data.is_empty() || rest.is_empty() {
                        break;
                    }
                    let take = usize::try_from(remaining).map_or(rest.len(), |r| r.min(rest.len()));
                    data = &rest[..take];
                    pos += take;
                    self.data_len = self.data_len.saturating_add(take as u64);
                    self.wire_len = self.wire_len.saturating_add(take as u64);
                    let left = remaining - take as u64;
                    self.state = match (self.state, left) {
                        (State::Length(_), 0) => State::Done,
                        (State::Length(_), n) => State::Length(n),
                        (_, 0) => State::ChunkDataEnd,
                        (_, n) => State::ChunkData(n),
                    };
                    continue;
                }
                State::UntilClose => {
                    if rest.is_empty() {
                        break;
                    }
                    if self.limit != 0
                        && self.data_len.saturating_add(rest.len() as u64) > self.limit
                    {
                        return Err(ParseError::BodyTooLarge);
                    }
                    self.data_len = self.data_len.saturating_add(rest.len() as u64);
                    self.wire_len = self.wire_len.saturating_add(rest.len() as u64);
                    pos += rest.len();
                    data = rest;
                    break;
                }
                State::ChunkSize => self.chunk_size(rest, &mut pos),
                State::ChunkDataEnd => self.chunk_data_end(rest, &mut pos),
                State::Trailers => self.trailer_line(rest, &mut pos),
            };
            match step {
                Ok(Step::Continue) => {}
                Ok(Step::NeedMore) => break,
                Err(e) if data.is_empty() => return Err(e),
                Err(e) => {
                    self.pending = Some(e);
                    break;
                }
            }
        }
        Ok(Decoded {
            consumed: pos,
            data,
            done: self.state == State::Done,
        })
    }

    fn consume_line(&mut self, pos: &mut usize, n: usize) {
        *pos += n;
        self.wire_len = self.wire_len.saturating_add(n as u64);
    }

    fn chunk_size(&mut self, rest: &[u8], pos: &mut usize) -> Result<Step, ParseError> {
        let Some(lf) = memchr::memchr(b'\n', rest) else {
            return if rest.len() > MAX_CHUNK_LINE {
                Err(ParseError::BadChunk)
            } else {
                Ok(Step::NeedMore)
            };
        };
        if lf > MAX_CHUNK_LINE {
            return Err(ParseError::BadChunk);
        }
        let line = &rest[..lf];
        let size = parse_chunk_size_line(line.strip_suffix(b"\r").unwrap_or(line))?;
        self.consume_line(pos, lf + 1);
        if size == 0 {
            self.trailers = Some(HeaderMap::new());
            self.state = State::Trailers;
        } else {
            if self.limit != 0 && self.data_len.saturating_add(size) > self.limit {
                return Err(ParseError::BodyTooLarge);
            }
            self.state = State::ChunkData(size);
        }
        Ok(Step::Continue)
    }

    fn chunk_data_end(&mut self, rest: &[u8], pos: &mut usize) -> Result<Step, ParseError> {
        let n = if rest.starts_with(b"\r\n") {
            2
        } else if rest.starts_with(b"\n") {
            1
        } else if rest.is_empty() || rest == b"\r" {
            return Ok(Step::NeedMore);
        } else {
            return Err(ParseError::BadChunk);
        };
        self.consume_line(pos, n);
        self.state = State::ChunkSize;
        Ok(Step::Continue)
    }

    fn trailer_line(&mut self, rest: &[u8], pos: &mut usize) -> Result<Step, ParseError> {
        let Some(lf) = memchr::memchr(b'\n', rest) else {
            return if rest.len() > MAX_TRAILER_LINE + 1 {
                Err(ParseError::BadChunk)
            } else {
                Ok(Step::NeedMore)
            };
        };
        let line = &rest[..lf];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() > MAX_TRAILER_LINE {
            return Err(ParseError::BadChunk);
        }
        if line.is_empty() {
            self.consume_line(pos, lf + 1);
            self.state = State::Done;
            return Ok(Step::Continue);
        }
        self.trailer_count += 1;
        if self.trailer_count > MAX_TRAILER_FIELDS || line[0] == b' ' || line[0] == b'\t' {
            return Err(ParseError::BadChunk);
        }
        let (name, value) = parse_header_line(line).map_err(|_| ParseError::BadChunk)?;
        self.trailers
            .get_or_insert_with(HeaderMap::new)
            .append(name, value);
        self.consume_line(pos, lf + 1);
        Ok(Step::Continue)
    }

    /// The peer closed the connection. Completes an until-close body; an unfinished
    /// Content-Length or chunked body is an error (`IncompleteBody`).
    pub fn finish_eof(&mut self) -> Result<(), ParseError> {
        match self.state {
            State::Done => Ok(()),
            State::UntilClose => {
                self.state = State::Done;
                Ok(())
            }
            _ => Err(ParseError::IncompleteBody),
        }
    }

    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Trailer fields of a completed chunked body (empty map if there were none).
    pub fn trailers(&self) -> Option<&HeaderMap> {
        if self.state == State::Done {
            self.trailers.as_ref()
        } else {
            None
        }
    }

    /// Decoded body bytes so far.
    pub fn data_len(&self) -> u64 {
        self.data_len
    }

    /// Bytes consumed so far, including chunk framing and trailers.
    pub fn wire_len(&self) -> u64 {
        self.wire_len
    }
}

/// `chunk-size [ BWS ";" chunk-ext ]`, without the line terminator.
fn parse_chunk_size_line(line: &[u8]) -> Result<u64, ParseError> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return Err(ParseError::BadChunk);
    }
    let mut size: u64 = 0;
    for &b in &line[..digits] {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => b - b'A' + 10,
        };
        size = size
            .checked_mul(16)
            .and_then(|s| s.checked_add(u64::from(d)))
            .ok_or(ParseError::BadChunk)?;
    }
    let ext = &line[digits..];
    let ext_start = ext.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
    let ext = &ext[ext_start..];
    if ext.is_empty() {
        return Ok(size);
    }
    if ext[0] != b';' || ext.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(ParseError::BadChunk);
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feed `input` split at the given points; collect the body.
    fn run(
        framing: BodyFraming,
        input: &[u8],
        splits: &[usize],
    ) -> Result<(Vec<u8>, BodyDecoder), ParseError> {
        let mut dec = BodyDecoder::new(framing, 0);
        let mut out = Vec::new();
        let mut buf: Vec<u8> = Vec::new();
        let mut fed = 0;
        let mut cuts: Vec<usize> = splits
            .iter()
            .copied()
            .filter(|&s| s <= input.len())
            .collect();
        cuts.push(input.len());
        cuts.sort_unstable();
        for cut in cuts {
            buf.extend_from_slice(&input[fed..cut]);
            fed = cut;
            loop {
                let d = dec.decode(&buf)?;
                out.extend_from_slice(d.data);
                let (consumed, done) = (d.consumed, d.done);
                buf.drain(..consumed);
                if done || consumed == 0 {
                    break;
                }
            }
        }
        Ok((out, dec))
    }

    #[test]
    fn none_and_zero_length_are_done() {
        let mut d = BodyDecoder::new(BodyFraming::None, 0);
        assert!(d.is_done());
        assert_eq!(
            d.decode(b"GET").unwrap(),
            Decoded {
                consumed: 0,
                data: b"",
                done: true
            }
        );
        assert!(BodyDecoder::new(BodyFraming::Length(0), 0).is_done());
        assert!(d.finish_eof().is_ok());
    }

    #[test]
    fn content_length() {
        let mut d = BodyDecoder::new(BodyFraming::Length(5), 0);
        let r = d.decode(b"hel").unwrap();
        assert_eq!((r.consumed, r.data, r.done), (3, &b"hel"[..], false));
        let r = d.decode(b"loGET /").unwrap();
        assert_eq!((r.consumed, r.data, r.done), (2, &b"lo"[..], true));
        assert_eq!((d.data_len(), d.wire_len()), (5, 5));
        let r = d.decode(b"more").unwrap();
        assert_eq!((r.consumed, r.done), (0, true));
    }

    #[test]
    fn content_length_limit_and_eof() {
        let mut d = BodyDecoder::new(BodyFraming::Length(10), 5);
        assert_eq!(d.decode(b"abc").unwrap_err(), ParseError::BodyTooLarge);
        let mut d = BodyDecoder::new(BodyFraming::Length(10), 0);
        d.decode(b"abc").unwrap();
        assert_eq!(d.finish_eof().unwrap_err(), ParseError::IncompleteBody);
    }

    #[test]
    fn until_close() {
        let mut d = BodyDecoder::new(BodyFraming::UntilClose, 0);
        let r = d.decode(b"abc").unwrap();
        assert_eq!((r.consumed, r.data, r.done), (3, &b"abc"[..], false));
        assert!(!d.is_done());
        d.finish_eof().unwrap();
        assert!(d.is_done());
        let mut d = BodyDecoder::new(BodyFraming::UntilClose, 4);
        d.decode(b"abc").unwrap();
        assert_eq!(d.decode(b"de").unwrap_err(), ParseError::BodyTooLarge);
    }

    const CHUNKED: &[u8] =
        b"5;name=val;x\r\nhello\r\n6 ; q=\"a b\"\r\n world\r\nA\r\n0123456789\r\n0\r\nX-Sum: abc\r\nX-Other:  d \r\n\r\nNEXT";

    #[test]
    fn chunked_whole() {
        let mut d = BodyDecoder::new(BodyFraming::Chunked, 0);
        let mut out = Vec::new();
        let mut rest = CHUNKED;
        loop {
            let r = d.decode(rest).unwrap();
            out.extend_from_slice(r.data);
            rest = &rest[r.consumed..];
            if r.done {
                break;
            }
            assert!(r.consumed > 0);
        }
        assert_eq!(out, b"hello world0123456789");
        assert_eq!(rest, b"NEXT");
        assert_eq!(d.data_len(), 21);
        assert_eq!(d.wire_len(), (CHUNKED.len() - 4) as u64);
        let t = d.trailers().unwrap();
        assert_eq!(t.get("x-sum").unwrap(), "abc");
        assert_eq!(t.get("x-other").unwrap(), "d");
        assert!(d.finish_eof().is_ok());
    }

    #[test]
    fn chunked_split_at_every_boundary() {
        for i in 0..=CHUNKED.len() {
            let (out, d) = run(BodyFraming::Chunked, CHUNKED, &[i]).unwrap();
            assert_eq!(out, b"hello world0123456789", "split {i}");
            assert!(d.is_done(), "split {i}");
        }
        // byte by byte
        let all: Vec<usize> = (0..CHUNKED.len()).collect();
        let (out, d) = run(BodyFraming::Chunked, CHUNKED, &all).unwrap();
        assert_eq!(out, b"hello world0123456789");
        assert!(d.is_done());
    }

    #[test]
    fn chunked_bare_lf_and_no_trailers() {
        let (out, d) = run(BodyFraming::Chunked, b"3\nabc\n0\n\n", &[]).unwrap();
        assert_eq!(out, b"abc");
        assert!(d.trailers().unwrap().is_empty());
    }

    #[test]
    fn chunked_errors() {
        for bad in [
            &b"x\r\n"[..],
            b"\r\n",
            b";ext\r\n",
            b"5 x\r\nhello\r\n",
            b"5\r\nhelloXX",
            b"5\r\nhello\r\r",
            b"11111111111111111\r\n",
            b"5\r\nhello\r\n0\r\nbad trailer\r\n\r\n",
            b"5\r\nhello\r\n0\r\n folded: x\r\n\r\n",
            b"-5\r\n",
            b"5;a\x00b\r\n",
        ] {
            let r = run(BodyFraming::Chunked, bad, &[]);
            assert_eq!(
                r.unwrap_err(),
                ParseError::BadChunk,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        // an overlong size line is rejected before its end arrives
        let long = vec![b'0'; MAX_CHUNK_LINE + 1];
        let mut d = BodyDecoder::new(BodyFraming::Chunked, 0);
        assert_eq!(d.decode(&long).unwrap_err(), ParseError::BadChunk);
        // ... but a partial one within the bound just needs more input
        let mut d = BodyDecoder::new(BodyFraming::Chunked, 0);
        let r = d.decode(b"5;ext=aaaa").unwrap();
        assert_eq!((r.consumed, r.done), (0, false));
    }

    #[test]
    fn chunked_error_after_data_is_deferred() {
        let mut d = BodyDecoder::new(BodyFraming::Chunked, 0);
        let r = d.decode(b"5\r\nhelloXX").unwrap();
        assert_eq!(r.data, b"hello");
        assert_eq!(d.decode(b"XX").unwrap_err(), ParseError::BadChunk);
    }

    #[test]
    fn chunked_limits() {
        let mut d = BodyDecoder::new(BodyFraming::Chunked, 8);
        let r = d.decode(b"5\r\nhello\r\n").unwrap();
        assert_eq!(r.data, b"hello");
        assert_eq!(
            d.decode(b"4\r\nabcd\r\n").unwrap_err(),
            ParseError::BodyTooLarge
        );
        let mut many = b"0\r\n".to_vec();
        for i in 0..=MAX_TRAILER_FIELDS {
            many.extend_from_slice(format!("T{i}: v\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert_eq!(
            run(BodyFraming::Chunked, &many, &[]).unwrap_err(),
            ParseError::BadChunk
        );
        let mut long = b"0\r\nT: ".to_vec();
        long.extend(std::iter::repeat_n(b'a', MAX_TRAILER_LINE + 5));
        assert_eq!(
            run(BodyFraming::Chunked, &long, &[]).unwrap_err(),
            ParseError::BadChunk
        );
    }

    #[test]
    fn chunked_eof_incomplete() {
        let mut d = BodyDecoder::new(BodyFraming::Chunked, 0);
        d.decode(b"5\r\nhel").unwrap();
        assert_eq!(d.finish_eof().unwrap_err(), ParseError::IncompleteBody);
        assert!(d.trailers().is_none());
    }

    #[test]
    fn encode_roundtrip() {
        let mut enc = Vec::new();
        crate::response::write_chunk(b"hello", &mut enc);
        crate::response::write_chunk(b"", &mut enc);
        crate::response::write_chunk(&[7u8; 300], &mut enc);
        enc.extend_from_slice(b"0\r\n\r\n");
        assert!(enc.starts_with(b"5\r\nhello\r\n12c\r\n"));
        let (out, _) = run(BodyFraming::Chunked, &enc, &[]).unwrap();
        assert_eq!(out.len(), 305);
    }
}
