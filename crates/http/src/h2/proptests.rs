//! Property tests of the frame layer: arbitrary octets never panic the decoder and what
//! it accepts re-encodes to itself; every frame the encoders write decodes to the same
//! frame; a stream of frames decodes the same however it is cut; HEADERS splitting.

use proptest::collection::vec;
use proptest::prelude::*;

use super::*;

/// A frame that owns its octets, from which a [`Frame`] is borrowed.
#[derive(Clone, Debug)]
enum Model {
    Data {
        stream_id: u32,
        end_stream: bool,
        pad_len: Option<u8>,
        data: Vec<u8>,
    },
    Headers {
        stream_id: u32,
        end_stream: bool,
        end_headers: bool,
        priority: Option<StreamDependency>,
        pad_len: Option<u8>,
        fragment: Vec<u8>,
    },
    Priority(Priority),
    RstStream(RstStream),
    /// Written with [`encode_settings`] (or [`encode_settings_ack`] if `ack`).
    Settings {
        ack: bool,
        settings: Vec<Setting>,
    },
    PushPromise {
        stream_id: u32,
        promised_stream_id: u32,
        end_headers: bool,
        pad_len: Option<u8>,
        fragment: Vec<u8>,
    },
    Ping(Ping),
    GoAway {
        last_stream_id: u32,
        error_code: ErrorCode,
        debug_data: Vec<u8>,
    },
    WindowUpdate(WindowUpdate),
    Continuation {
        stream_id: u32,
        end_headers: bool,
        fragment: Vec<u8>,
    },
    Unknown {
        frame_type: u8,
        flags: u8,
        stream_id: u32,
        payload: Vec<u8>,
    },
}

impl Model {
    /// The frame, for every model but SETTINGS (whose type only the decoder makes).
    fn frame(&self) -> Option<Frame<'_>> {
        Some(match self {
            Model::Data {
                stream_id,
                end_stream,
                pad_len,
                data,
            } => Frame::Data(Data {
                stream_id: *stream_id,
                end_stream: *end_stream,
                pad_len: *pad_len,
                data,
            }),
            Model::Headers {
                stream_id,
                end_stream,
                end_headers,
                priority,
                pad_len,
                fragment,
            } => Frame::Headers(Headers {
                stream_id: *stream_id,
                end_stream: *end_stream,
                end_headers: *end_headers,
                priority: *priority,
                pad_len: *pad_len,
                fragment,
            }),
            Model::Priority(p) => Frame::Priority(*p),
            Model::RstStream(r) => Frame::RstStream(*r),
            Model::Settings { .. } => return None,
            Model::PushPromise {
                stream_id,
                promised_stream_id,
                end_headers,
                pad_len,
                fragment,
            } => Frame::PushPromise(PushPromise {
                stream_id: *stream_id,
                promised_stream_id: *promised_stream_id,
                end_headers: *end_headers,
                pad_len: *pad_len,
                fragment,
            }),
            Model::Ping(p) => Frame::Ping(*p),
            Model::GoAway {
                last_stream_id,
                error_code,
                debug_data,
            } => Frame::GoAway(GoAway {
                last_stream_id: *last_stream_id,
                error_code: *error_code,
                debug_data,
            }),
            Model::WindowUpdate(w) => Frame::WindowUpdate(*w),
            Model::Continuation {
                stream_id,
                end_headers,
                fragment,
            } => Frame::Continuation(Continuation {
                stream_id: *stream_id,
                end_headers: *end_headers,
                fragment,
            }),
            Model::Unknown {
                frame_type,
                flags,
                stream_id,
                payload,
            } => Frame::Unknown(Unknown {
                frame_type: *frame_type,
                flags: *flags,
                stream_id: *stream_id,
                payload,
            }),
        })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match (self, self.frame()) {
            (_, Some(frame)) => frame.encode(out),
            (Model::Settings { ack: true, .. }, None) => encode_settings_ack(out),
            (Model::Settings { settings, .. }, None) => encode_settings(out, settings),
            (_, None) => unreachable!("only SETTINGS has no frame"),
        }
    }

    /// Whether `decoded` is this frame.
    fn is(&self, decoded: &Frame<'_>) -> bool {
        match (self, decoded) {
            (Model::Settings { ack, settings }, Frame::Settings(s)) => {
                s.is_ack() == *ack && s.iter().eq(settings.iter().copied())
            }
            _ => self.frame().as_ref() == Some(decoded),
        }
    }
}

fn stream_id() -> impl Strategy<Value = u32> {
    prop_oneof![3 => 1u32..100, 1 => 1..=MAX_WINDOW_SIZE]
}

fn any_stream_id() -> impl Strategy<Value = u32> {
    prop_oneof![1 => Just(0u32), 3 => 1u32..100, 1 => 0..=MAX_WINDOW_SIZE]
}

fn octets() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![4 => vec(any::<u8>(), 0..40), 1 => vec(any::<u8>(), 0..2000)]
}

fn error_code() -> impl Strategy<Value = ErrorCode> {
    prop_oneof![3 => 0u32..16, 1 => any::<u32>()].prop_map(ErrorCode::from)
}

fn dependency() -> impl Strategy<Value = StreamDependency> {
    (any::<bool>(), any_stream_id(), any::<u8>()).prop_map(|(exclusive, stream_id, weight)| {
        StreamDependency {
            exclusive,
            stream_id,
            weight,
        }
    })
}

fn setting() -> impl Strategy<Value = Setting> {
    prop_oneof![
        any::<u32>().prop_map(Setting::HeaderTableSize),
        any::<bool>().prop_map(Setting::EnablePush),
        any::<u32>().prop_map(Setting::MaxConcurrentStreams),
        (0..=MAX_WINDOW_SIZE).prop_map(Setting::InitialWindowSize),
        (DEFAULT_MAX_FRAME_SIZE..=LARGEST_MAX_FRAME_SIZE).prop_map(Setting::MaxFrameSize),
        any::<u32>().prop_map(Setting::MaxHeaderListSize),
    ]
}

/// Frames that keep every rule of the decoder.
fn model() -> impl Strategy<Value = Model> {
    let pad = prop::option::of(any::<u8>());
    prop_oneof![
        (stream_id(), any::<bool>(), pad.clone(), octets()).prop_map(
            |(stream_id, end_stream, pad_len, data)| Model::Data {
                stream_id,
                end_stream,
                pad_len,
                data,
            }
        ),
        (
            stream_id(),
            any::<(bool, bool)>(),
            prop::option::of(dependency()),
            pad.clone(),
            octets()
        )
            .prop_map(
                |(stream_id, (end_stream, end_headers), priority, pad_len, fragment)| {
                    Model::Headers {
                        stream_id,
                        end_stream,
                        end_headers,
                        priority,
                        pad_len,
                        fragment,
                    }
                }
            ),
        (stream_id(), dependency()).prop_map(|(stream_id, dependency)| {
            Model::Priority(Priority {
                stream_id,
                dependency,
            })
        }),
        (stream_id(), error_code()).prop_map(|(stream_id, error_code)| {
            Model::RstStream(RstStream {
                stream_id,
                error_code,
            })
        }),
        Just(Model::Settings {
            ack: true,
            settings: Vec::new(),
        }),
        vec(setting(), 0..10).prop_map(|settings| Model::Settings {
            ack: false,
            settings,
        }),
        (stream_id(), any_stream_id(), any::<bool>(), pad, octets()).prop_map(
            |(stream_id, promised_stream_id, end_headers, pad_len, fragment)| {
                Model::PushPromise {
                    stream_id,
                    promised_stream_id,
                    end_headers,
                    pad_len,
                    fragment,
                }
            }
        ),
        (any::<bool>(), any::<[u8; 8]>())
            .prop_map(|(ack, opaque_data)| Model::Ping(Ping { ack, opaque_data })),
        (any_stream_id(), error_code(), octets()).prop_map(
            |(last_stream_id, error_code, debug_data)| Model::GoAway {
                last_stream_id,
                error_code,
                debug_data,
            }
        ),
        (any_stream_id(), 1..=MAX_WINDOW_SIZE).prop_map(|(stream_id, increment)| {
            Model::WindowUpdate(WindowUpdate {
                stream_id,
                increment,
            })
        }),
        (stream_id(), any::<bool>(), octets()).prop_map(|(stream_id, end_headers, fragment)| {
            Model::Continuation {
                stream_id,
                end_headers,
                fragment,
            }
        }),
        (10u8.., any::<u8>(), any_stream_id(), octets()).prop_map(
            |(frame_type, flags, stream_id, payload)| Model::Unknown {
                frame_type,
                flags,
                stream_id,
                payload,
            }
        ),
    ]
}

/// Octets that look like frames: headers of every type with small lengths, so that the
/// decoder gets past the header checks, mixed with plain noise.
fn frame_like_octets() -> impl Strategy<Value = Vec<u8>> {
    let frame = (
        0u8..12,
        any::<u8>(),
        any_stream_id(),
        vec(any::<u8>(), 0..30),
    )
        .prop_map(|(frame_type, flags, stream, payload)| {
            let mut out = Vec::new();
            FrameHeader {
                length: payload.len() as u32,
                frame_type: FrameType::from(frame_type),
                flags,
                stream_id: stream,
            }
            .write(&mut out);
            out.extend_from_slice(&payload);
            out
        });
    prop_oneof![
        1 => vec(any::<u8>(), 0..200),
        3 => vec(frame, 0..8).prop_map(|frames| frames.concat()),
    ]
}

fn max_frame_size() -> impl Strategy<Value = u32> {
    prop_oneof![
        3 => Just(DEFAULT_MAX_FRAME_SIZE),
        1 => Just(LARGEST_MAX_FRAME_SIZE),
        1 => 0u32..40,
        1 => any::<u32>(),
    ]
}

fn encode(frame: &Frame<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    frame.encode(&mut out);
    out
}

/// Frames (re-encoded), stream errors and the final outcome of decoding `input` fed in
/// pieces ending at `cuts`.
#[derive(Debug, PartialEq)]
enum Event {
    Frame(Vec<u8>),
    StreamError(FrameError),
    ConnectionError(FrameError),
    /// The input ended with this many octets of an incomplete frame.
    Incomplete(usize),
}

fn decode_in_pieces(input: &[u8], cuts: &[usize], max: u32) -> Vec<Event> {
    let mut buf = Vec::new();
    let mut fed = 0;
    let mut events = Vec::new();
    for &end in cuts.iter().chain(Some(&input.len())) {
        buf.extend_from_slice(&input[fed..end.max(fed)]);
        fed = end.max(fed);
        loop {
            match decode_frame(&buf, max) {
                Ok(Some((frame, n))) => {
                    events.push(Event::Frame(encode(&frame)));
                    buf.drain(..n);
                }
                Ok(None) => break,
                Err(e @ FrameError::Stream { frame_len, .. }) => {
                    events.push(Event::StreamError(e));
                    buf.drain(..frame_len);
                }
                Err(e @ FrameError::Connection { .. }) => {
                    events.push(Event::ConnectionError(e));
                    return events;
                }
            }
        }
    }
    events.push(Event::Incomplete(buf.len()));
    events
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Whatever the input: no panic; a frame takes 9 + its length octets, no more than
    /// there are; re-encoding it gives as many octets, which decode to the same frame; a
    /// stream error covers a whole frame; `None` only for an incomplete frame.
    #[test]
    fn arbitrary_octets_never_panic(input in frame_like_octets(), max in max_frame_size()) {
        let mut rest = &input[..];
        loop {
            match decode_frame(rest, max) {
                Ok(Some((frame, n))) => {
                    let header = FrameHeader::parse(rest.first_chunk().unwrap());
                    prop_assert_eq!(n, 9 + header.length as usize);
                    prop_assert!(n <= rest.len() && header.length <= max);
                    let again = encode(&frame);
                    prop_assert_eq!(again.len(), n);
                    prop_assert_eq!(decode_frame(&again, max), Ok(Some((frame, n))));
                    rest = &rest[n..];
                }
                Ok(None) => {
                    if let Some(head) = rest.first_chunk() {
                        let header = FrameHeader::parse(head);
                        prop_assert!(rest.len() < 9 + header.length as usize);
                    }
                    break;
                }
                Err(FrameError::Stream { frame_len, .. }) => {
                    prop_assert!((9..=rest.len()).contains(&frame_len));
                    rest = &rest[frame_len..];
                }
                Err(FrameError::Connection { .. }) => break,
            }
        }
    }

    /// Every frame the encoders write decodes to the same frame, taking all its octets.
    #[test]
    fn encoded_frames_decode_to_the_same_frame(model in model()) {
        let mut out = Vec::new();
        model.encode(&mut out);
        let (frame, n) = decode_frame(&out, LARGEST_MAX_FRAME_SIZE)
            .expect("valid frame")
            .expect("complete frame");
        prop_assert_eq!(n, out.len());
        prop_assert!(model.is(&frame), "{:?} decoded as {:?}", model, frame);
        prop_assert_eq!(encode(&frame), out);
    }

    /// Frames, stream errors and connection errors come out the same whether the input
    /// arrives whole or cut anywhere (into up to 8 pieces, or one octet at a time).
    #[test]
    fn a_stream_decodes_the_same_however_it_is_cut(
        models in vec(model(), 1..8),
        noise in frame_like_octets(),
        cuts in vec(any::<prop::sample::Index>(), 0..8),
    ) {
        let mut input = Vec::new();
        for model in &models {
            model.encode(&mut input);
        }
        input.extend_from_slice(&noise);
        let max = DEFAULT_MAX_FRAME_SIZE;
        let whole = decode_in_pieces(&input, &[], max);
        // The valid frames come first, as they were (none is near the frame size).
        prop_assert!(whole.len() > models.len());
        for (event, model) in whole.iter().zip(&models) {
            let Event::Frame(octets) = event else {
                panic!("{model:?} gave {event:?}");
            };
            let (frame, _) = decode_frame(octets, max).unwrap().unwrap();
            prop_assert!(model.is(&frame), "{:?} decoded as {:?}", model, frame);
        }
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(input.len() + 1)).collect();
        points.sort_unstable();
        prop_assert_eq!(&decode_in_pieces(&input, &points, max), &whole);
        if input.len() <= 4000 {
            let every: Vec<usize> = (0..input.len()).collect();
            prop_assert_eq!(&decode_in_pieces(&input, &every, max), &whole);
        }
    }

    /// A field block goes out as HEADERS plus CONTINUATION frames within the frame size,
    /// all on the stream, END_STREAM only on HEADERS, END_HEADERS only on the last, and
    /// the fragments put together are the block.
    #[test]
    fn encode_headers_splits_within_the_frame_size(
        block in vec(any::<u8>(), 0..3000),
        max in 1u32..600,
        end_stream in any::<bool>(),
        stream in stream_id(),
    ) {
        let mut out = Vec::new();
        encode_headers(&mut out, stream, &block, end_stream, max);
        let mut rest = &out[..];
        let mut fragments = Vec::new();
        let mut ended = false;
        while !rest.is_empty() {
            prop_assert!(!ended, "frames after END_HEADERS");
            let (frame, n) = decode_frame(rest, max).unwrap().unwrap();
            rest = &rest[n..];
            let (fragment, end_headers) = match frame {
                Frame::Headers(h) if fragments.is_empty() => {
                    prop_assert_eq!(h.stream_id, stream);
                    prop_assert_eq!(h.end_stream, end_stream);
                    prop_assert!(h.priority.is_none() && h.pad_len.is_none());
                    (h.fragment, h.end_headers)
                }
                Frame::Continuation(c) if !fragments.is_empty() => {
                    prop_assert_eq!(c.stream_id, stream);
                    (c.fragment, c.end_headers)
                }
                other => panic!("unexpected {other:?}"),
            };
            prop_assert!(fragment.len() <= max as usize);
            fragments.push(fragment);
            ended = end_headers;
        }
        prop_assert!(ended, "no END_HEADERS");
        prop_assert_eq!(fragments.len(), block.len().div_ceil(max as usize).max(1));
        prop_assert_eq!(fragments.concat(), block);
    }
}
