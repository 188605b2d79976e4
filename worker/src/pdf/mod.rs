//! The object layer: opening a document from borrowed bytes and getting at the decoded
//! bytes of its streams, on top of `hayro-syntax` (xref tables and streams, repair by
//! scanning, object streams, filters, decryption with the empty user password).
//!
//! What this module adds: a document over a reusable copy of the caller's bytes, error
//! kinds the engine maps to a [`crate::protocol::Reason`], stream decoding with a cap on
//! the inflated size ([`stream`]), and the checks of a file's raw bytes made once before
//! it is opened ([`Survey`]: compression bombs in object streams, counted decrypted by
//! `hayro-syntax` when they are encrypted ([`crypt`]), predictors it cannot apply,
//! hostile nesting).

pub mod crypt;
pub mod stream;

use std::sync::{Arc, OnceLock};

use aho_corasick::AhoCorasick;

use hayro_syntax::page::Page;
use hayro_syntax::{Filter, LoadPdfError, Pdf, PdfData};

/// Why a document could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenError {
    /// No `%PDF-` header and nothing parseable.
    NotPdf,
    /// A password (other than the empty one) is needed, or the method is unsupported.
    Encrypted(&'static str),
    /// There is a header, but neither the xref nor a scan found a usable catalog/page tree.
    Malformed,
    /// The file parses but has no reachable page.
    NoPages,
    /// Its object and xref streams inflate past [`MAX_OBJECT_STREAMS`].
    Bomb,
    /// An object or xref stream has predictor parameters no reader can apply.
    BadPredictor,
}

impl OpenError {
    pub fn detail(self) -> &'static str {
        match self {
            OpenError::Bomb => "the object and xref streams inflate past 48 MB: a compression bomb",
            OpenError::NotPdf => "no %PDF- header and no PDF objects found",
            OpenError::Encrypted(d) => d,
            OpenError::Malformed => "no readable xref, catalog or page tree (even after repair)",
            OpenError::NoPages => "the document has no reachable page",
            OpenError::BadPredictor => {
                "an object or xref stream has /DecodeParms no reader can apply (e.g. /Columns 0)"
            }
        }
    }
}

/// An open document. It owns (a share of) a copy of the bytes it was opened from.
pub struct Document {
    pdf: Pdf,
}

/// How far into the file the header may start (junk before it is tolerated, as by
/// Acrobat; ISO 32000-1 §7.5.2 puts it first, implementation note: within 1024 bytes).
const HEADER_WINDOW: usize = 1024;

impl Document {
    /// Opens a document. Only the xref and the page tree are read now; everything else
    /// lazily.
    ///
    /// `hayro-syntax` wants the data as an owned `Arc` (its objects and xref clones hold
    /// it), so borrowed `data` is copied into `buf`, whose allocation is reused when no
    /// clone of it is alive any more (the previous `Document` dropped). Handing over a
    /// borrow with its lifetime erased would be unsound, since `XRef: Clone` lets a clone
    /// of the data escape any borrow. A mapped file avoids the copy: [`Self::open_shared`].
    ///
    /// `survey` is [`Survey::of`] these bytes when the caller made it already (once per
    /// file); without it the survey is made here.
    pub fn open(
        data: &[u8],
        buf: &mut Arc<Vec<u8>>,
        survey: Option<&Survey>,
    ) -> Result<Self, OpenError> {
        Self::open_with(data, survey, || {
            match Arc::get_mut(buf) {
                Some(v) => {
                    v.clear();
                    v.extend_from_slice(data);
                }
                None => *buf = Arc::new(data.to_vec()),
            }
            PdfData::from(buf.clone())
        })
    }

    /// Opens a document from bytes already held in an `Arc` (a mapped file): handed to
    /// `hayro-syntax` as they are, without a copy. `survey` as for [`Self::open`].
    pub fn open_shared(data: PdfData, survey: Option<&Survey>) -> Result<Self, OpenError> {
        let owned = data.clone();
        Self::open_with(data.as_ref(), survey, move || owned)
    }

    /// The checks every open makes on the bytes, then `hayro-syntax` on `owned()` (or on
    /// a flattened copy, see [`flatten_deep_nesting`]).
    fn open_with(
        data: &[u8],
        survey: Option<&Survey>,
        owned: impl FnOnce() -> PdfData,
    ) -> Result<Self, OpenError> {
        let has_header = find(&data[..data.len().min(HEADER_WINDOW)], b"%PDF-").is_some();
        if !has_header && find(data, b" obj").is_none() {
            return Err(OpenError::NotPdf);
        }
        let made;
        let survey = match survey {
            Some(s) => s,
            None => {
                made = Survey::of(data);
                &made
            }
        };
        if survey.object_streams_over_cap {
            return Err(OpenError::Bomb);
        }
        if survey.bad_predictor {
            return Err(OpenError::BadPredictor);
        }
        let parsed = if survey.needs_flattening(data.len()) {
            PdfData::from(Arc::new(flatten_deep_nesting(data, false)))
        } else {
            owned()
        };
        let mut opened = Pdf::new(parsed);
        let unreadable = match &opened {
            Ok(pdf) => pdf.pages().is_empty(),
            Err(e) => matches!(e, LoadPdfError::Invalid),
        };
        if unreadable && deepest_array(data) > MAX_NESTING {
            // Deep arrays cost hayro-syntax nothing, but make what holds them unreadable
            // (past 512 levels): looked for only once a file has failed.
            opened = Pdf::new(PdfData::from(Arc::new(flatten_deep_nesting(data, true))));
        }
        match opened {
            Ok(pdf) => {
                if pdf.pages().is_empty() {
                    return Err(OpenError::NoPages);
                }
                Ok(Document { pdf })
            }
            Err(LoadPdfError::Decryption(e)) => Err(OpenError::Encrypted(match e {
                hayro_syntax::DecryptionError::PasswordProtected => "a user password is needed",
                hayro_syntax::DecryptionError::UnsupportedAlgorithm => {
                    "unsupported encryption method"
                }
                hayro_syntax::DecryptionError::MissingIDEntry => {
                    "encrypted, but the trailer has no /ID to derive the key"
                }
                hayro_syntax::DecryptionError::InvalidEncryption => "invalid encryption dictionary",
            })),
            Err(LoadPdfError::Invalid) if !has_header => Err(OpenError::NotPdf),
            Err(LoadPdfError::Invalid) => {
                // hayro-syntax reports a missing page tree and an unreadable file alike;
                // tell them apart by whether any page object exists at all.
                if has_page_object(data) {
                    Err(OpenError::Malformed)
                } else {
                    Err(OpenError::NoPages)
                }
            }
        }
    }

    /// The pages, in document order (page tree order, or file order after repair).
    pub fn pages(&self) -> &[Page<'_>] {
        self.pdf.pages()
    }
}

/// Most bytes all object and xref streams of a file may inflate to (the realworld
/// corpus's largest total is 2 MB).
pub const MAX_OBJECT_STREAMS: usize = 48 << 20;

/// How deep `<<` may nest in the raw bytes before the file is flattened
/// ([`flatten_deep_nesting`]). The realworld corpus nests at most 30 deep by this count
/// (its dictionaries themselves at most 18; the rest are `<<` bytes inside binary streams).
pub const MAX_NESTING: usize = 64;

/// What one pass over a file's raw bytes finds before it is parsed: whether its object
/// streams are a compression bomb, whether their predictors can be applied, whether it
/// must be flattened. A verdict about the bytes (like their size), so it can be made
/// once per file and handed to every open of the same bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Survey {
    /// Whether the object and xref streams inflate past [`MAX_OBJECT_STREAMS`].
    object_streams_over_cap: bool,
    /// The deepest `<<` nesting, counted over the raw bytes: `<<` one level down, `>>`
    /// one up (never above the top), strings and stream data included.
    max_depth: usize,
    /// How many `<<` the file holds.
    opens: usize,
    /// Whether an object or xref stream has predictor parameters that would make
    /// `hayro-syntax` divide by zero ([`stream::predictor_params_ok`]).
    bad_predictor: bool,
}

impl Survey {
    /// `hayro-syntax` inflates object streams (ISO 32000-1 §7.5.7) and xref streams
    /// (§7.5.8) whole, with no cap, and keeps the object streams. So before opening,
    /// every `/ObjStm` and `/XRef` stream in the file is inflated into a counter (nothing
    /// kept) and the total checked. Encrypted object streams cannot be counted this way
    /// (their bytes look like garbage and count as nothing).
    ///
    /// The same pass measures how deep dictionaries nest: `hayro-syntax` reads at most
    /// 512 levels, but its repair scan probes a dictionary at every `<<` and walks up to
    /// 512 levels from each, so a file of nested dictionaries costs it about a second per
    /// megabyte, past any deadline (it cannot be interrupted).
    ///
    /// In an encrypted file the object streams are stored encrypted (xref streams never
    /// are, ISO 32000-1 §7.6.1), and `hayro-syntax` decrypts them with the empty user
    /// password before inflating, so they are counted decrypted too, by `hayro-syntax`
    /// itself ([`crypt::Plaintexts`]): each at the larger of its stored and decrypted
    /// sizes.
    pub fn of(data: &[u8]) -> Survey {
        static NEEDLES: OnceLock<AhoCorasick> = OnceLock::new();
        let needles = NEEDLES.get_or_init(|| {
            AhoCorasick::new(["<<", ">>", "/ObjStm", "/XRef", "/Encrypt"]).expect("fixed needles")
        });
        let mut survey = Survey {
            object_streams_over_cap: false,
            max_depth: 0,
            opens: 0,
            bad_predictor: false,
        };
        let mut depth = 0usize;
        // Where `/ObjStm` (true) and `/XRef` (false) occur; counted once the whole file
        // has been seen, since `/Encrypt` is usually in the trailer at its end.
        let mut streams = Vec::new();
        let mut encrypted = false;
        for m in needles.find_iter(data) {
            match m.pattern().as_u32() {
                0 => {
                    depth += 1;
                    survey.opens += 1;
                    survey.max_depth = survey.max_depth.max(depth);
                }
                1 => depth = depth.saturating_sub(1),
                2 => streams.push((m.start(), true)),
                3 => streams.push((m.start(), false)),
                _ => encrypted = true,
            }
        }
        let streams: Vec<(RawStream<'_>, bool)> = streams
            .into_iter()
            .filter_map(|(at, objstm)| Some((RawStream::at(data, at)?, objstm)))
            .collect();
        // Stored encrypted, an object stream's bytes look damaged: it is counted from
        // its decrypted bytes, which hayro-syntax gives (see crypt.rs).
        let plaintexts = if encrypted {
            let objstms: Vec<crypt::Encrypted<'_>> = streams
                .iter()
                .filter(|(_, objstm)| *objstm)
                .filter_map(|(s, _)| {
                    let (num, generation) = s.id?;
                    Some(crypt::Encrypted {
                        num,
                        generation,
                        stored: s.stored(),
                    })
                })
                .collect();
            (!objstms.is_empty())
                .then(|| crypt::Plaintexts::open(data, &objstms))
                .flatten()
        } else {
            None
        };
        let mut inflated = 0usize;
        // The index of the next encrypted object stream among those handed to crypt.
        let mut next = 0;
        for (stream, objstm) in streams {
            if !stream::predictor_params_ok(|key| raw_int(stream.dict, key)) {
                survey.bad_predictor = true;
                break;
            }
            let cap = MAX_OBJECT_STREAMS + 1 - inflated;
            let stored = stream.stored();
            // Its worst case is counted from the decrypted bytes only.
            let stored_len = if objstm && encrypted { 0 } else { stored.len() };
            let mut size = stream::decoded_size(stream.body, &stream.filters, stored_len, cap);
            let index = (objstm && stream.id.is_some()).then(|| {
                next += 1;
                next - 1
            });
            if let (Some(plaintexts), Some(index)) = (&plaintexts, index) {
                size = size.max(match plaintexts.get(index) {
                    Some(plain) => stream::decoded_size(&plain, &stream.filters, plain.len(), cap),
                    // The file decrypts, but this stream cannot be (its number and
                    // generation defined again and again, or 0): it cannot be checked,
                    // so it counts as the cap.
                    None => cap,
                });
            }
            inflated += size;
            if inflated > MAX_OBJECT_STREAMS {
                survey.object_streams_over_cap = true;
                break;
            }
        }
        survey
    }
}

impl Survey {
    /// Whether the file is flattened before parsing: nested deeper than [`MAX_NESTING`]
    /// by this pass's count, or so dense in `<<` (more than one per 64 bytes, and over
    /// 4,096 of them) that `>>` may be hidden from the count in strings or comments. The
    /// densest realworld file has one `<<` per 130 bytes.
    fn needs_flattening(&self, len: usize) -> bool {
        self.max_depth > MAX_NESTING || (self.opens > 4096 && self.opens > len / 64)
    }
}

/// How far around a `/ObjStm` or `/XRef` marker its stream dictionary is looked for.
const DICT_WINDOW: usize = 4096;

/// A stream found in the raw bytes around a marker in its dictionary.
struct RawStream<'a> {
    /// `N G` of the `N G obj` line before the dictionary, when there is one.
    id: Option<(u32, u16)>,
    /// The dictionary's bytes, from the `obj` keyword to `stream`.
    dict: &'a [u8],
    /// The dictionary's `/Filter`, read from the `obj` keyword to `stream`: a name or
    /// an array of names (`[/FlateDecode /FlateDecode]` inflates twice: a 2.5 KB file
    /// of that kind inflated to 1 GB in hayro-syntax when only the first stage was
    /// counted).
    filters: Vec<Filter>,
    /// From after `stream` and its end of line to the end of the file (the decoders stop
    /// where the data does).
    body: &'a [u8],
}

impl<'a> RawStream<'a> {
    /// The stream whose dictionary holds `data[at]`; `None` when no `stream` keyword
    /// follows within [`DICT_WINDOW`].
    fn at(data: &'a [u8], at: usize) -> Option<Self> {
        let after = &data[at..data.len().min(at + DICT_WINDOW)];
        let keyword = memchr::memmem::find(after, b"stream")?;
        let before = &data[at.saturating_sub(DICT_WINDOW)..at];
        let obj = memchr::memmem::rfind(before, b"obj").map(|i| at - before.len() + i);
        let start = obj.unwrap_or(at);
        let body = &data[at + keyword + b"stream".len()..];
        let body = body
            .strip_prefix(b"\r\n")
            .or_else(|| body.strip_prefix(b"\n"))
            .or_else(|| body.strip_prefix(b"\r"))
            .unwrap_or(body);
        Some(RawStream {
            id: obj.and_then(|o| object_id_before(&data[o.saturating_sub(32)..o])),
            dict: &data[start..at + keyword],
            filters: stream_filters(&data[start..at + keyword]),
            body,
        })
    }

    /// The stored data: its direct `/Length`, else up to `endstream`, else the whole
    /// rest of the file.
    fn stored(&self) -> &'a [u8] {
        let length = raw_int(self.dict, b"Length")
            .and_then(|n| usize::try_from(n).ok())
            .filter(|&n| n <= self.body.len());
        let end = length.unwrap_or_else(|| {
            memchr::memmem::find(self.body, b"endstream").unwrap_or(self.body.len())
        });
        &self.body[..end]
    }
}

/// The integer after `/key` in a raw dictionary, when it is a direct one (`N G R`
/// reads as none), saturated to 64 bits.
fn raw_int(dict: &[u8], key: &[u8]) -> Option<i64> {
    let mut rest = dict;
    loop {
        let i = memchr::memmem::find(rest, b"/")?;
        rest = &rest[i + 1..];
        if rest.starts_with(key) && rest.get(key.len()).is_none_or(|&b| is_delimiter(b)) {
            break;
        }
    }
    let value = rest[key.len()..].trim_ascii_start();
    let sign = usize::from(value.first().is_some_and(|&b| b == b'-' || b == b'+'));
    let digits = value[sign..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    let after = value[sign + digits..].trim_ascii_start();
    if digits == 0 || after.first().is_some_and(u8::is_ascii_digit) {
        return None;
    }
    // One too large for 64 bits saturates: hayro-syntax 0.9 reads it so, and the predictor
    // check must see the value it will apply (found by the `open` fuzz target).
    let magnitude = std::str::from_utf8(&value[sign..sign + digits])
        .ok()?
        .parse::<u128>()
        .unwrap_or(u128::MAX)
        .min(i64::MAX as u128) as i64;
    Some(if value[0] == b'-' {
        -magnitude
    } else {
        magnitude
    })
}

/// `N G` at the end of `text` (what precedes an `obj` keyword).
fn object_id_before(text: &[u8]) -> Option<(u32, u16)> {
    let mut words = text.trim_ascii_end().rsplit(|b| b.is_ascii_whitespace());
    let generation = std::str::from_utf8(words.next()?).ok()?.parse().ok()?;
    let num = std::str::from_utf8(words.next()?).ok()?.parse().ok()?;
    Some((num, generation))
}

/// The filters named by the `/Filter` entry of a raw stream dictionary, in order. A
/// name no filter has ends the list (the stream cannot be decoded past it).
fn stream_filters(dict: &[u8]) -> Vec<Filter> {
    let mut filters = Vec::new();
    let mut rest = dict;
    let value = loop {
        let Some(i) = memchr::memmem::find(rest, b"/Filter") else {
            return filters;
        };
        rest = &rest[i + b"/Filter".len()..];
        // `/FilterX` is another key.
        if rest.first().is_none_or(|&b| is_delimiter(b)) {
            break rest;
        }
    };
    let value = value.trim_ascii_start();
    let (names, single) = match value.strip_prefix(b"[") {
        Some(array) => (
            &array[..memchr::memchr(b']', array).unwrap_or(array.len())],
            false,
        ),
        None => (value, true),
    };
    for name in names.split(|&b| b == b'/').skip(1) {
        let end = name
            .iter()
            .position(|&b| is_delimiter(b))
            .unwrap_or(name.len());
        match stream::filter_named(&name[..end]) {
            Some(filter) => filters.push(filter),
            None => break,
        }
        if single {
            break;
        }
    }
    filters
}

/// Whitespace or a delimiter (ISO 32000-1 §7.2.2): what ends a name.
fn is_delimiter(b: u8) -> bool {
    b.is_ascii_whitespace()
        || b == 0
        || matches!(
            b,
            b'/' | b'[' | b']' | b'<' | b'>' | b'(' | b')' | b'{' | b'}' | b'%'
        )
}

/// Where a parser is in the raw bytes: inside a literal string (nested parentheses,
/// backslash escapes) or a comment (to the end of the line), or outside both.
#[derive(Default)]
struct Lexer {
    /// Literal string nesting; 0 outside one.
    string: usize,
    comment: bool,
}

impl Lexer {
    /// Whether the next byte is outside strings and comments (as the state before it).
    fn outside(&self) -> bool {
        self.string == 0 && !self.comment
    }

    /// Reads past `data[i]`; returns how many bytes that took (two for an escape).
    fn step(&mut self, data: &[u8], i: usize) -> usize {
        let b = data[i];
        if self.comment {
            self.comment = b != b'\n' && b != b'\r';
        } else if self.string > 0 {
            match b {
                b'\\' => return 2,
                b'(' => self.string += 1,
                b')' => self.string -= 1,
                _ => {}
            }
        } else {
            match b {
                b'(' => self.string = 1,
                b'%' => self.comment = true,
                _ => {}
            }
        }
        1
    }
}

/// How deep `[` nests outside literal strings and comments (never below the top).
fn deepest_array(data: &[u8]) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut lexer = Lexer::default();
    let mut i = 0;
    while i < data.len() {
        if lexer.outside() {
            match data[i] {
                b'[' => {
                    depth += 1;
                    deepest = deepest.max(depth);
                }
                b']' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        i += lexer.step(data, i);
    }
    deepest
}

/// A copy of `data` in which every `<<` and `>>` nested deeper than [`MAX_NESTING`] is
/// blanked to spaces, and every `<<` left unclosed at the end of the file. The
/// dictionary at the limit then holds the deeper keys and values as flat entries and
/// closes where it did, so the page or object around it still reads; offsets stay where
/// they were. No reader can use such nesting (`hayro-syntax` refuses 512 levels), and
/// this keeps its repair scan linear: it probes a dictionary at each `<<`, walking on
/// to the file's end from an unclosed one.
///
/// Depth is counted twice: over every `<<` and `>>` as in [`Survey`], and as a parser
/// sees them, outside literal strings and comments (a `>>` hidden in `(>>)` closes
/// nothing). A token is blanked when either count puts it past the limit.
///
/// With `arrays`, `[` and `]` nested deeper than the limit (as a parser sees them) are
/// blanked too.
fn flatten_deep_nesting(data: &[u8], arrays: bool) -> Vec<u8> {
    let mut out = data.to_vec();
    let mut plain = 0usize;
    let mut array_depth = 0usize;
    // Parser depth, and where its open dictionaries within the limit start.
    let mut parsed = 0usize;
    let mut unclosed = Vec::with_capacity(MAX_NESTING);
    let mut lexer = Lexer::default();
    let mut i = 0;
    while i < data.len() {
        let b = data[i];
        let outside = lexer.outside();
        if (b == b'<' || b == b'>') && data.get(i + 1) == Some(&b) {
            if b == b'<' {
                plain += 1;
                if outside {
                    parsed += 1;
                    if parsed <= MAX_NESTING {
                        unclosed.push(i);
                    }
                }
            }
            if plain > MAX_NESTING || (outside && parsed > MAX_NESTING) {
                out[i..i + 2].fill(b' ');
            }
            if b == b'>' {
                plain = plain.saturating_sub(1);
                if outside && parsed > 0 {
                    if parsed <= MAX_NESTING {
                        unclosed.pop();
                    }
                    parsed -= 1;
                }
            }
            // Neither byte changes the lexer's state.
            i += 2;
            continue;
        }
        if arrays && outside && (b == b'[' || b == b']') {
            if b == b'[' {
                array_depth += 1;
            }
            if array_depth > MAX_NESTING {
                out[i] = b' ';
            }
            if b == b']' {
                array_depth = array_depth.saturating_sub(1);
            }
        }
        i += lexer.step(data, i);
    }
    for at in unclosed {
        out[at..at + 2].fill(b' ');
    }
    out
}

/// Whether `/Type /Page` (not `/Pages`) occurs anywhere, as a cheap test made only
/// after a failure. Inside compressed object streams it is missed; such files are then
/// reported as having no pages, which is what a reader sees too.
fn has_page_object(data: &[u8]) -> bool {
    let mut rest = data;
    while let Some(i) = find(rest, b"/Page") {
        let after = &rest[i + 5..];
        if after.first().is_none_or(|b| !b.is_ascii_alphanumeric()) {
            return true;
        }
        rest = after;
    }
    false
}

/// First occurrence of `needle` in `hay` (none for an empty needle).
pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    memchr::memmem::find(hay, needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_locates_needles() {
        assert_eq!(find(b"abc%PDF-1.4", b"%PDF-"), Some(3));
        assert_eq!(find(b"%PD", b"%PDF-"), None);
        assert_eq!(find(b"", b"x"), None);
        assert_eq!(find(b"aab", b"ab"), Some(1));
    }

    fn open(data: &[u8]) -> Result<Document, OpenError> {
        Document::open(data, &mut Arc::default(), None)
    }

    #[test]
    fn garbage_is_not_a_pdf() {
        assert_eq!(open(b"hello world").err(), Some(OpenError::NotPdf));
        assert_eq!(open(b"").err(), Some(OpenError::NotPdf));
    }

    #[test]
    fn header_without_body_is_malformed_or_pageless() {
        let e = open(b"%PDF-1.4\n%%EOF\n").err();
        assert!(matches!(e, Some(OpenError::NoPages)), "{e:?}");
        let e = open(b"%PDF-1.4\n1 0 obj << /Type /Page >> endobj\n%%EOF").err();
        assert!(
            matches!(e, Some(OpenError::Malformed | OpenError::NoPages)),
            "{e:?}"
        );
    }

    #[test]
    fn object_stream_bombs_are_refused_before_hayro_inflates_them() {
        let z = miniz_oxide::deflate::compress_to_vec_zlib(&vec![b' '; MAX_OBJECT_STREAMS + 1], 1);
        let mut pdf = b"%PDF-1.5\n1 0 obj\n<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode >>\nstream\r\n".to_vec();
        pdf.extend_from_slice(&z);
        pdf.extend_from_slice(b"\nendstream\nendobj\n%%EOF\n");
        assert_eq!(open(&pdf).err(), Some(OpenError::Bomb));
        // Half the bomb inflates to about half the limit.
        assert!(!Survey::of(&pdf[..pdf.len() / 2]).object_streams_over_cap);
        let small = miniz_oxide::deflate::compress_to_vec_zlib(b"2 0 << >>", 6);
        let mut ok = b"1 0 obj << /Type/ObjStm >>stream\n".to_vec();
        ok.extend_from_slice(&small);
        assert!(!Survey::of(&ok).object_streams_over_cap);
        let mut xref_bomb =
            b"%PDF-1.5\n9 0 obj << /Type /XRef /W [1 2 1] /Filter /Fl >>stream\n".to_vec();
        xref_bomb.extend_from_slice(&z);
        assert_eq!(open(&xref_bomb).err(), Some(OpenError::Bomb));
        // Without a filter the stream is its own bytes: nothing to inflate.
        let mut plain = b"%PDF-1.5\n9 0 obj << /Type /XRef /W [1 2 1] >>stream\n".to_vec();
        plain.extend_from_slice(&z);
        assert!(!Survey::of(&plain).object_streams_over_cap);
    }

    #[test]
    fn object_stream_bombs_behind_two_filters_are_counted_through_both() {
        // 64 MB of spaces deflated twice is 8 KB: the first stage alone inflates to 64 KB.
        let once = miniz_oxide::deflate::compress_to_vec_zlib(&vec![b' '; 64 << 20], 10);
        let twice = miniz_oxide::deflate::compress_to_vec_zlib(&once, 10);
        for (filter, body) in [
            ("/Filter [/FlateDecode /FlateDecode]", &twice),
            (
                "/Length 99 /Filter [ /Fl/Fl ] /DecodeParms [null null]",
                &twice,
            ),
        ] {
            let mut pdf = format!("%PDF-1.5\n5 0 obj\n<< {filter} /Type /ObjStm /N 1 >>\nstream\n")
                .into_bytes();
            pdf.extend_from_slice(body);
            assert_eq!(open(&pdf).err(), Some(OpenError::Bomb), "{filter}");
        }
        // The filters are read from the whole dictionary, before and after /Type.
        let dict = b"7 0 obj << /Filter/ASCIIHexDecode /Type /ObjStm /Filters /X >>";
        assert_eq!(stream_filters(dict), [Filter::AsciiHexDecode]);
        assert_eq!(stream_filters(b"<< /FilterX /Fl >>"), []);
        assert_eq!(
            stream_filters(b"<< /Filter [/A85 /LZW /Unknown /Fl] >>"),
            [Filter::Ascii85Decode, Filter::LzwDecode]
        );
    }

    #[test]
    fn raw_integers_are_read_only_when_direct() {
        let dict =
            b"<< /Columns 5 /Colors -3 /Predictor 12 0 R /BitsPerComponent +8 /ColumnsX 9 >>";
        assert_eq!(raw_int(dict, b"Columns"), Some(5));
        assert_eq!(raw_int(dict, b"Colors"), Some(-3));
        assert_eq!(raw_int(dict, b"Predictor"), None, "a reference");
        assert_eq!(raw_int(dict, b"BitsPerComponent"), Some(8));
        assert_eq!(raw_int(dict, b"Missing"), None);
        assert_eq!(raw_int(b"/Columns /Name", b"Columns"), None);
        assert_eq!(
            raw_int(b"/Columns 9900000000000000000", b"Columns"),
            Some(i64::MAX)
        );
        assert_eq!(
            raw_int(b"/Columns -99999999999999999999", b"Columns"),
            Some(-i64::MAX)
        );
        // `/Colors+1` is another name.
        assert_eq!(raw_int(b"/Colors+1 2", b"Colors"), None);
    }

    #[test]
    fn survey_counts_how_deep_dictionaries_nest() {
        assert_eq!(Survey::of(b"<< /A << /B 1 >> /C << >> >>").max_depth, 2);
        // A stray `>>` never takes the count above the top.
        assert_eq!(Survey::of(b">> >> << /A 1 >>").max_depth, 1);
        assert_eq!(Survey::of(b"<<<<<<").max_depth, 3);
        assert_eq!(Survey::of(b"no dictionaries").max_depth, 0);
    }

    #[test]
    fn flattening_blanks_only_the_levels_past_the_limit() {
        let deep = MAX_NESTING + 3;
        let mut data = b"1 0 obj ".to_vec();
        for _ in 0..deep {
            data.extend_from_slice(b"<< /A ");
        }
        data.extend_from_slice(b"1");
        for _ in 0..deep {
            data.extend_from_slice(b" >>");
        }
        data.extend_from_slice(b" endobj << /Next 2 >>");
        let flat = flatten_deep_nesting(&data, false);
        assert_eq!(flat.len(), data.len());
        assert_eq!(Survey::of(&flat).max_depth, MAX_NESTING);
        let opens = |d: &[u8]| memchr::memmem::find_iter(d, b"<<").count();
        let closes = |d: &[u8]| memchr::memmem::find_iter(d, b">>").count();
        assert_eq!(opens(&flat), MAX_NESTING + 1);
        assert_eq!(closes(&flat), MAX_NESTING + 1);
        // Only `<<` and `>>` change; everything else stays in place.
        for (a, b) in data.iter().zip(&flat) {
            assert!(a == b || (*b == b' ' && (*a == b'<' || *a == b'>')));
        }
        assert!(flat.ends_with(b" endobj << /Next 2 >>"));
        // `>>` hidden in strings and comments closes nothing.
        let mut hidden = Vec::new();
        for i in 0..deep {
            hidden.extend_from_slice(if i % 2 == 0 {
                b"<< /A (>>) "
            } else {
                b"<< /B %>>\n"
            });
        }
        assert_eq!(Survey::of(&hidden).max_depth, 1);
        hidden.extend_from_slice(b">> ".repeat(deep).as_slice());
        let flat = flatten_deep_nesting(&hidden, false);
        assert_eq!(memchr::memmem::find_iter(&flat, b"<<").count(), MAX_NESTING);
        // Left unclosed, none stays: a parser would read from each to the end.
        hidden.truncate(hidden.len() - 3 * deep);
        let flat = flatten_deep_nesting(&hidden, false);
        assert_eq!(memchr::memmem::find_iter(&flat, b"<<").count(), 0);
        // Nesting within the limit is left alone.
        assert_eq!(
            flatten_deep_nesting(b"<< /A << >> >>", false),
            b"<< /A << >> >>"
        );
        // Arrays, when asked: `[` past the limit and its `]`; strings left alone.
        let arrays = [
            b"[(]) ".repeat(MAX_NESTING + 2),
            b"] ".repeat(MAX_NESTING + 2),
        ]
        .concat();
        let flat = flatten_deep_nesting(&arrays, true);
        assert_eq!(deepest_array(&flat), MAX_NESTING);
        assert_eq!(
            flat.iter().filter(|&&b| b == b']').count(),
            2 * MAX_NESTING + 2
        );
        assert_eq!(flatten_deep_nesting(&arrays, false), arrays);
    }

    #[test]
    fn page_object_test_ignores_pages_nodes() {
        assert!(!has_page_object(b"<< /Type /Pages >>"));
        assert!(has_page_object(b"<< /Type /Page >>"));
        assert!(has_page_object(b"<</Type/Page/Parent 2 0 R>>"));
    }
}
