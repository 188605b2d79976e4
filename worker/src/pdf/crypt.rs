//! The plaintext of encrypted object streams, decrypted by `hayro-syntax`'s own security
//! handler, for the compression-bomb count made before a file is opened ([`super::Survey`]).
//!
//! `hayro-syntax` (0.9) decrypts a stream only through a document it has opened
//! (`Stream::raw_data`), and opening one (`Pdf::new`) resolves the catalog and the page
//! tree, whose objects may sit in the very object streams to be counted: it would decrypt
//! and inflate them whole, with no cap, before they were counted. Its public API has no
//! way to open a document without that, to decode a stream with a limit, or to decrypt
//! bytes given with an object number. So the encrypted object streams are copied into a
//! small document of their own ([`Plaintexts::open`]): the file's encryption dictionary
//! and first `/ID` string in its trailer, a one-page tree, and each stream under its own
//! object number and generation (the key of each object depends on them, ISO 32000-1
//! §7.6.2), with a direct `/Length` and no filter. `hayro-syntax` opens that document
//! without inflating anything, and decrypts each stream there as it decrypts it in the
//! file, so one security handler serves both.
//!
//! What is read from the raw bytes of the file: its trailer (the one the last `startxref`
//! points to, else the last one holding `/Encrypt`, a classic trailer or an xref stream's
//! dictionary) and, when the encryption dictionary is an indirect object, its last
//! definition; each is parsed by `hayro-syntax` within a window of [`WINDOW`] bytes. When
//! the cross-reference data is broken, `hayro-syntax` repairs it and may pick another
//! trailer than this search does; the decrypted bytes are then garbage, as they are when
//! the trailer's `/ID` or an entry of the encryption dictionary is an indirect object.
//! Per-stream crypt filters (`/Filter /Crypt`) are not carried over: the copy is decrypted
//! with the document's default (`/StmF`).

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::sync::Arc;

use hayro_syntax::object::{Array, Dict, FromBytes, Name, ObjectIdentifier, Stream};
use hayro_syntax::{Pdf, PdfData};
use memchr::memmem;

/// How far a trailer or an encryption dictionary may reach from where it starts (bytes).
const WINDOW: usize = 64 << 10;

/// How many trailers the search from the end of the file parses at most.
const MAX_CANDIDATES: usize = 64;

/// An object stream as stored in the file, encrypted.
#[derive(Debug, Clone, Copy)]
pub struct Encrypted<'a> {
    pub num: u32,
    pub generation: u16,
    /// The stream's data, between `stream` and its end of line and `endstream`.
    pub stored: &'a [u8],
}

/// At most this many documents are made for streams that share a number and generation
/// (an incremental update may define an object again): each needs the key of its own
/// number, so each must be decrypted under it, in a document of its own. A stream past
/// them gets no plaintext.
const MAX_LAYERS: usize = 8;

/// Object streams of one file, ready to be decrypted one at a time ([`Plaintexts::get`]).
pub struct Plaintexts {
    /// The small documents holding them (see the module's documentation): the first holds
    /// the first stream of each number and generation, the next one the second, and so
    /// on; `None` for one `hayro-syntax` did not open.
    docs: Vec<Option<Pdf>>,
    /// Each stream given to [`Plaintexts::open`], in order: its number and generation,
    /// and the document holding it (`None` past [`MAX_LAYERS`], or past as many bytes of
    /// streams as the file has).
    streams: Vec<(u32, u16, Option<usize>)>,
}

impl Plaintexts {
    /// Copies `streams` into a document with the encryption of the file `data` and opens it
    /// with the empty user password. `None` when the file has no trailer with `/Encrypt`,
    /// or `hayro-syntax` cannot open the copy (a user password is needed, the method is
    /// unsupported, the values are garbage): it cannot open the file for the same reason,
    /// and then inflates none of its encrypted streams.
    pub fn open(data: &[u8], streams: &[Encrypted<'_>]) -> Option<Plaintexts> {
        let trailer = trailer_at_startxref(data)
            .filter(|t| t.contains_key(b"Encrypt"))
            .or_else(|| trailer_by_scan(data))?;
        let encrypt = match trailer.get::<Dict<'_>>(b"Encrypt") {
            Some(dict) => dict.data(),
            None => {
                let at = trailer.get_ref(b"Encrypt")?;
                let generation = u16::try_from(at.gen_number).ok()?;
                indirect_dict(data, at.obj_number, generation)?.data()
            }
        };
        // hayro-syntax derives the key from the first /ID string (an empty one without it).
        let id = trailer
            .get::<Array<'_>>(b"ID")
            .and_then(|a| a.flex_iter().next::<hayro_syntax::object::String<'_>>())
            .map(|s| s.as_bytes().to_vec())
            .unwrap_or_default();
        // A stream whose number and generation came before goes into the next document
        // (found by the `open` fuzz target: with one document, the second object stream
        // 5 0 hid the first, a bomb, which was then counted as the second).
        let mut seen: HashMap<(u32, u16), usize> = HashMap::new();
        let mut layers: Vec<Vec<Encrypted<'_>>> = Vec::new();
        let mut placed = Vec::with_capacity(streams.len());
        // Streams do not overlap in a sound file, so all of them are no larger than the
        // file; those of a hostile one may (a stream without /Length or `endstream` runs
        // to the end of the file), and copying them all would take the square of its size.
        let mut budget = data.len();
        for s in streams {
            let count = seen.entry((s.num, s.generation)).or_insert(0);
            let layer = *count;
            // Object 0 heads the free list of every xref table: no stream has it.
            if s.num == 0 || layer >= MAX_LAYERS || s.stored.len() > budget {
                placed.push((s.num, s.generation, None));
                continue;
            }
            *count += 1;
            budget -= s.stored.len();
            if layers.len() <= layer {
                layers.resize_with(layer + 1, Vec::new);
            }
            layers[layer].push(*s);
            placed.push((s.num, s.generation, Some(layer)));
        }
        let mut docs = Vec::with_capacity(layers.len());
        for layer in &layers {
            let opened = document(encrypt, &id, layer)
                .and_then(|doc| Pdf::new(PdfData::from(Arc::new(doc))).ok());
            // The first document not opening means the key is not there: no plaintext.
            if docs.is_empty() && opened.is_none() {
                return None;
            }
            docs.push(opened);
        }
        Some(Plaintexts {
            docs,
            streams: placed,
        })
    }

    /// The decrypted data of the `index`th stream given to [`Plaintexts::open`], its
    /// filters not applied; `None` when it could not be decrypted.
    pub fn get(&self, index: usize) -> Option<Vec<u8>> {
        let &(num, generation, layer) = self.streams.get(index)?;
        let pdf = self.docs.get(layer?)?.as_ref()?;
        let id = ObjectIdentifier::new(num, i32::from(generation));
        let stream = pdf.xref().get::<Stream<'_>>(id)?;
        Some(stream.raw_data().into_owned())
    }
}

/// The document [`Plaintexts::open`] opens: a catalog, a page tree and a page under the
/// smallest object numbers no stream has, each stream (of distinct numbers and
/// generations, none 0) as it is stored, a classic xref table, and a trailer with
/// `encrypt` (the bytes of the file's encryption dictionary) and `id`.
fn document(encrypt: &[u8], id: &[u8], streams: &[Encrypted<'_>]) -> Option<Vec<u8>> {
    let taken: BTreeSet<u32> = streams.iter().map(|s| s.num).collect();
    let mut free = (1u32..=u32::MAX).filter(|n| !taken.contains(n));
    let (catalog, pages, page) = (free.next()?, free.next()?, free.next()?);
    let mut doc = b"%PDF-1.7\n".to_vec();
    let mut offsets: Vec<(u32, u16, usize)> = Vec::with_capacity(streams.len() + 3);
    let mut object = |doc: &mut Vec<u8>, num: u32, generation: u16, body: &[u8]| {
        offsets.push((num, generation, doc.len()));
        doc.extend_from_slice(format!("{num} {generation} obj\n").as_bytes());
        doc.extend_from_slice(body);
        doc.extend_from_slice(b"\nendobj\n");
    };
    let tree = [
        (catalog, format!("<< /Type /Catalog /Pages {pages} 0 R >>")),
        (
            pages,
            format!("<< /Type /Pages /Kids [{page} 0 R] /Count 1 >>"),
        ),
        (page, format!("<< /Type /Page /Parent {pages} 0 R >>")),
    ];
    for (num, body) in tree {
        object(&mut doc, num, 0, body.as_bytes());
    }
    for s in streams {
        let mut body = format!("<< /Length {} >>\nstream\n", s.stored.len()).into_bytes();
        body.extend_from_slice(s.stored);
        body.extend_from_slice(b"\nendstream");
        object(&mut doc, s.num, s.generation, &body);
    }
    let xref = doc.len();
    let mut table = String::from("xref\n0 1\n0000000000 65535 f\r\n");
    let mut size = 0;
    for (num, generation, offset) in offsets {
        // ISO 32000-1 §7.5.4: each entry is exactly 20 bytes.
        let _ = write!(table, "{num} 1\n{offset:010} {generation:05} n\r\n");
        size = size.max(num);
    }
    doc.extend_from_slice(table.as_bytes());
    doc.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root {catalog} 0 R /Encrypt ",
            size + 1
        )
        .as_bytes(),
    );
    doc.extend_from_slice(encrypt);
    let mut hex = String::with_capacity(2 * id.len());
    for b in id {
        let _ = write!(hex, "{b:02x}");
    }
    doc.extend_from_slice(
        format!(" /ID [<{hex}> <{hex}>] >>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
    );
    Some(doc)
}

/// The trailer the last `startxref` points to (ISO 32000-1 §7.5.5): the dictionary after
/// `trailer` past an xref table, or an xref stream's dictionary (§7.5.8).
fn trailer_at_startxref(data: &[u8]) -> Option<Dict<'_>> {
    let at = memmem::rfind(data, b"startxref")? + b"startxref".len();
    let digits = &data[at..data.len().min(at + 32)].trim_ascii_start();
    let len = digits.iter().take_while(|b| b.is_ascii_digit()).count();
    let offset: usize = std::str::from_utf8(&digits[..len]).ok()?.parse().ok()?;
    let after = skip_space(data, offset);
    if data.get(after..)?.starts_with(b"xref") {
        let trailer = after + memmem::find(&data[after..], b"trailer")?;
        return dict_at(data, trailer + b"trailer".len());
    }
    let obj = after + memmem::find(&data[after..data.len().min(after + 32)], b"obj")?;
    object_header_before(data, obj)?;
    let dict = dict_at(data, obj + b"obj".len())?;
    is_xref_stream(&dict).then_some(dict)
}

/// The last dictionary holding `/Encrypt` that follows a `trailer` keyword or is an xref
/// stream's (found by its `/XRef` name and the `obj` keyword before it), searching from the
/// end of the file and parsing at most [`MAX_CANDIDATES`] of them.
fn trailer_by_scan(data: &[u8]) -> Option<Dict<'_>> {
    let mut trailers = memmem::rfind_iter(data, b"trailer")
        .filter(|&at| ends_token(data, at + b"trailer".len()))
        .peekable();
    let mut xrefs = memmem::rfind_iter(data, b"/XRef")
        .filter(|&at| ends_token(data, at + b"/XRef".len()))
        .peekable();
    for _ in 0..MAX_CANDIDATES {
        let dict = match (trailers.peek().copied(), xrefs.peek().copied()) {
            (None, None) => return None,
            (Some(t), x) if x.is_none_or(|x| t > x) => {
                trailers.next();
                dict_at(data, t + b"trailer".len())
            }
            (_, x) => {
                xrefs.next();
                xref_stream_dict(data, x?)
            }
        };
        if let Some(dict) = dict.filter(|d| d.contains_key(b"Encrypt")) {
            return Some(dict);
        }
    }
    None
}

/// The dictionary of the xref stream whose `/XRef` name is at `at`: that of the object
/// whose `obj` keyword is the last one before it (within [`WINDOW`]), if its `/Type` is
/// `/XRef`.
fn xref_stream_dict(data: &[u8], at: usize) -> Option<Dict<'_>> {
    let from = at.saturating_sub(WINDOW);
    let obj = from + memmem::rfind(&data[from..at], b"obj")?;
    // Not `endobj`, nor `obj` inside another token.
    if !obj.checked_sub(1).is_some_and(|b| is_space(data[b])) {
        return None;
    }
    let dict = dict_at(data, obj + b"obj".len())?;
    is_xref_stream(&dict).then_some(dict)
}

fn is_xref_stream(dict: &Dict<'_>) -> bool {
    dict.get::<Name<'_>>(b"Type")
        .is_some_and(|t| t.as_ref() == b"XRef")
}

/// The dictionary of object `num generation`: the last `num generation obj` in the file.
fn indirect_dict(data: &[u8], num: u32, generation: u16) -> Option<Dict<'_>> {
    let at = memmem::rfind_iter(data, b"obj").find(|&at| {
        object_header_before(data, at) == Some((u64::from(num), u64::from(generation)))
    })?;
    dict_at(data, at + b"obj".len())
}

/// The dictionary starting at `pos` (after white space and comments), parsed by
/// `hayro-syntax` within [`WINDOW`] bytes.
fn dict_at(data: &[u8], pos: usize) -> Option<Dict<'_>> {
    let start = skip_space(data, pos);
    let window = data.get(start..data.len().min(start.saturating_add(WINDOW)))?;
    if !window.starts_with(b"<<") {
        return None;
    }
    Dict::from_bytes(window)
}

/// The position after the white space and comments at `pos`.
fn skip_space(data: &[u8], mut pos: usize) -> usize {
    while let Some(&b) = data.get(pos) {
        if is_space(b) {
            pos += 1;
        } else if b == b'%' {
            pos = memchr::memchr2(b'\n', b'\r', &data[pos..]).map_or(data.len(), |i| pos + i);
        } else {
            break;
        }
    }
    pos
}

/// The `num gen` of an `obj` keyword at `at` (`num gen obj`, white space between, a
/// delimiter or the start of the file before `num`), read backwards.
fn object_header_before(data: &[u8], at: usize) -> Option<(u64, u64)> {
    if !ends_token(data, at + b"obj".len()) {
        return None;
    }
    let gen_end = space_back(data, at)?;
    let (generation, gen_start) = digits_back(data, gen_end)?;
    let num_end = space_back(data, gen_start)?;
    let (number, num_start) = digits_back(data, num_end)?;
    if num_start > 0 && is_regular(data[num_start - 1]) {
        return None;
    }
    Some((number, generation))
}

/// The start of the white space ending at `end` (at least one byte of it), or `None`.
fn space_back(data: &[u8], end: usize) -> Option<usize> {
    let mut pos = end;
    while pos > 0 && is_space(data[pos - 1]) {
        pos -= 1;
    }
    (pos < end).then_some(pos)
}

/// The number written in the digits ending at `end` (1-10 of them) and where they start.
fn digits_back(data: &[u8], end: usize) -> Option<(u64, usize)> {
    let mut start = end;
    while start > 0 && data[start - 1].is_ascii_digit() && end - start < 10 {
        start -= 1;
    }
    if start == end || (start > 0 && data[start - 1].is_ascii_digit()) {
        return None;
    }
    let value = data[start..end]
        .iter()
        .fold(0u64, |n, &d| n * 10 + u64::from(d - b'0'));
    Some((value, start))
}

/// Whether a token ending at `end` really ends there: the file ends, or a delimiter or
/// white space follows.
fn ends_token(data: &[u8], end: usize) -> bool {
    data.get(end).is_none_or(|&b| !is_regular(b))
}

/// ISO 32000-1 §7.2.2: white space.
fn is_space(b: u8) -> bool {
    matches!(b, b'\0' | b'\t' | b'\n' | b'\x0C' | b'\r' | b' ')
}

/// Neither white space nor a delimiter (§7.2.2).
fn is_regular(b: u8) -> bool {
    !is_space(b)
        && !matches!(
            b,
            b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn pdf_hex(bytes: &[u8]) -> String {
        let digits: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
        format!("<{digits}>")
    }

    /// A file of `objects` (`num`, body) and a classic xref section whose trailer holds
    /// `trailer`; `startxref` points at it.
    fn classic(objects: &[(u32, &str)], trailer: &str) -> Vec<u8> {
        let mut out = b"%PDF-1.7\n".to_vec();
        for (num, body) in objects {
            out.extend_from_slice(format!("{num} 0 obj\n{body}\nendobj\n").as_bytes());
        }
        let xref = out.len();
        out.extend_from_slice(
            format!(
                "xref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size 9 /Root 1 0 R {trailer} >>\n\
                 startxref\n{xref}\n%%EOF\n"
            )
            .as_bytes(),
        );
        out
    }

    /// A file of `objects` whose trailer is the xref stream object 9 holding `trailer`;
    /// `startxref` points at it.
    fn xref_stream(objects: &[(u32, &str)], trailer: &str) -> Vec<u8> {
        let mut out = b"%PDF-1.7\n".to_vec();
        for (num, body) in objects {
            out.extend_from_slice(format!("{num} 0 obj\n{body}\nendobj\n").as_bytes());
        }
        let xref = out.len();
        out.extend_from_slice(
            format!(
                "9 0 obj\n<< /Type /XRef /Size 10 /W [1 4 2] /Root 1 0 R {trailer} /Length 0 >>\n\
                 stream\n\nendstream\nendobj\nstartxref\n{xref}\n%%EOF\n"
            )
            .as_bytes(),
        );
        out
    }

    const R2_ID: &[u8] = b"0123456789abcdef";

    /// RC4 40 bits (V1 R2) for the empty user password, with this /O, /P and R2_ID: the
    /// file key is 6647d739fd, and "Hello" in object 4 is stored as a603a3a41d (known
    /// answers computed with Python's hashlib, independently of hayro-syntax).
    fn r2_dict() -> String {
        format!(
            "<< /Filter /Standard /V 1 /R 2 /O {} /U {} /P -4 >>",
            pdf_hex(&[0x11; 32]),
            pdf_hex(&hex(
                "002c1ac809d5aea810f8e5872b25fcbc3b7244039eec09e8587c96aa7162e585"
            )),
        )
    }

    fn r2_id() -> String {
        format!("/ID [{0} {0}]", pdf_hex(R2_ID))
    }

    /// The plaintext of object `num` 0 stored as a603a3a41d in `file`.
    fn hello_as(file: &[u8], num: u32) -> Option<Vec<u8>> {
        let stored = hex("a603a3a41d");
        let streams = [Encrypted {
            num,
            generation: 0,
            stored: &stored,
        }];
        Plaintexts::open(file, &streams)?.get(0)
    }

    #[test]
    fn rc4_40_known_answer_through_hayro_syntax() {
        let referenced = classic(
            &[(1, "<< /Type /Catalog >>"), (7, &r2_dict())],
            &format!("/Encrypt 7 0 R {}", r2_id()),
        );
        assert_eq!(hello_as(&referenced, 4).unwrap(), b"Hello");
        // Another object's key gives something else.
        assert_ne!(hello_as(&referenced, 5).unwrap(), b"Hello");
        let inline = classic(&[], &format!("/Encrypt {} {}", r2_dict(), r2_id()));
        assert_eq!(hello_as(&inline, 4).unwrap(), b"Hello");
        let in_xref_stream = xref_stream(&[], &format!("/Encrypt {} {}", r2_dict(), r2_id()));
        assert_eq!(hello_as(&in_xref_stream, 4).unwrap(), b"Hello");
    }

    #[test]
    fn stream_numbers_of_the_page_tree_are_left_to_the_streams() {
        let file = classic(&[], &format!("/Encrypt {} {}", r2_dict(), r2_id()));
        let stored = hex("a603a3a41d");
        let streams: Vec<Encrypted<'_>> = (0..6)
            .map(|num| Encrypted {
                num,
                generation: 0,
                stored: &stored,
            })
            .collect();
        let plaintexts = Plaintexts::open(&file, &streams).unwrap();
        assert_eq!(plaintexts.get(4).unwrap(), b"Hello");
        for num in 1..6 {
            assert!(plaintexts.get(num).is_some(), "{num}");
        }
        // Object 0 heads the free list: no stream can have it.
        assert!(plaintexts.get(0).is_none());
        assert!(plaintexts.get(6).is_none());
    }

    #[test]
    fn streams_defined_again_are_decrypted_each_under_its_number() {
        let file = classic(&[], &format!("/Encrypt {} {}", r2_dict(), r2_id()));
        let hello = hex("a603a3a41d");
        let other = hex("0102030405");
        // Object 4 nine times (the third holds "Hello"): one document per definition up
        // to MAX_LAYERS, none past it.
        let streams: Vec<Encrypted<'_>> = (0..=MAX_LAYERS)
            .map(|i| Encrypted {
                num: 4,
                generation: 0,
                stored: if i == 2 { &hello } else { &other },
            })
            .collect();
        let plaintexts = Plaintexts::open(&file, &streams).unwrap();
        assert_eq!(plaintexts.get(2).unwrap(), b"Hello");
        assert_ne!(plaintexts.get(1).unwrap(), b"Hello");
        assert!(plaintexts.get(MAX_LAYERS - 1).is_some());
        assert!(plaintexts.get(MAX_LAYERS).is_none());
    }

    #[test]
    fn streams_past_the_size_of_the_file_are_not_copied() {
        let file = classic(&[], &format!("/Encrypt {} {}", r2_dict(), r2_id()));
        let rest = vec![0u8; file.len() / 2 + 1];
        let hello = hex("a603a3a41d");
        // Each as long as half the file, and "Hello" after them: the second does not fit.
        let streams = [&rest, &rest, &hello].map(|stored| Encrypted {
            num: 4,
            generation: 0,
            stored,
        });
        let plaintexts = Plaintexts::open(&file, &streams).unwrap();
        assert!(plaintexts.get(0).is_some());
        assert!(plaintexts.get(1).is_none());
        assert_eq!(plaintexts.get(2).unwrap(), b"Hello");
    }

    #[test]
    fn the_last_definition_of_the_encryption_dictionary_counts() {
        // `7 0 obj` twice (an incremental update): the last counts; `17 0 obj` and
        // `7 1 obj` are other objects.
        let file = classic(
            &[
                (7, "<< /Filter /Standard /V 1 /R 2 /O <00> /U <00> /P 0 >>"),
                (1, "<< /Type /Catalog >>"),
                (7, &r2_dict()),
                (17, "<< /Garbage >>"),
            ],
            &format!("/Encrypt 7 0 R {}", r2_id()),
        );
        let file = [file.as_slice(), b"7 1 obj << /Garbage >> endobj\n"].concat();
        assert_eq!(hello_as(&file, 4).unwrap(), b"Hello");
    }

    #[test]
    fn a_trailer_without_encrypt_at_startxref_sends_the_search_back() {
        // An update whose trailer lost /Encrypt: the earlier trailer holding it is found.
        let earlier = classic(&[], &format!("/Encrypt {} {}", r2_dict(), r2_id()));
        let update = format!(
            "xref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size 9 /Root 1 0 R >>\n\
             startxref\n{}\n%%EOF\n",
            earlier.len()
        );
        let file = [earlier.as_slice(), update.as_bytes()].concat();
        assert_eq!(hello_as(&file, 4).unwrap(), b"Hello");
    }

    #[test]
    fn garbage_and_passwords_open_nothing() {
        // A wrong /U: the empty password is not the user password.
        let wrong_u = r2_dict().replace("<002C", "<012C");
        assert_ne!(wrong_u, r2_dict());
        for trailer in [
            String::new(),
            format!("/Encrypt {wrong_u} {}", r2_id()),
            "/Encrypt 42".into(),
            "/Encrypt (secret)".into(),
            "/Encrypt << >>".into(),
            "/Encrypt << /Filter /Bogus >>".into(),
            "/Encrypt << /Filter /Standard /V 99 /R 99 >>".into(),
            "/Encrypt << /Filter /Standard /V 5 /R 6 /O <00> /U <00> /OE <> /UE <> /P -1 >>".into(),
            "/Encrypt 99 0 R".into(),
            "/Encrypt 1 0 R".into(),
        ] {
            let file = classic(&[(1, "<< /Type /Catalog >>")], &trailer);
            assert!(hello_as(&file, 4).is_none(), "{trailer}");
        }
        for data in [
            &b""[..],
            b"startxref",
            b"startxref 999999",
            b"trailer <<",
            b"/XRef",
        ] {
            assert!(hello_as(data, 4).is_none());
        }
    }

    #[test]
    fn object_headers_are_read_backwards() {
        let data = b"x\n12 0 obj <<>> 3 1 obj 7 0 endobj 1 2obj";
        let at = |n: usize| memmem::find_iter(data, b"obj").nth(n).unwrap();
        assert_eq!(object_header_before(data, at(0)), Some((12, 0)));
        assert_eq!(object_header_before(data, at(1)), Some((3, 1)));
        assert_eq!(object_header_before(data, at(2)), None, "endobj");
        assert_eq!(object_header_before(data, at(3)), None, "2obj");
    }
}
