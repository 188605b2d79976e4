//! `worker::pdf::crypt` against `hayro-syntax` and the engine: documents encrypted here
//! (RC4 40 and 128 bits, AESV2, AESV3 R6), each for the empty user password, open in
//! hayro-syntax, and `Plaintexts` gives the plaintext the engine reads. When the shared
//! corpus is present, its encrypted files with object streams are checked too.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aes::{Aes128, Aes256};
use cbc::cipher::array::Array;
use cbc::cipher::{BlockModeEncrypt, KeyInit, KeyIvInit, StreamCipher};
use hayro_syntax::object::{ObjectIdentifier, Stream};
use hayro_syntax::{LoadPdfError, Pdf, PdfData};
use md5::{Digest, Md5};
use memchr::memmem;
use rc4::Rc4;
use worker::engine::{Limits, extract};
use worker::pdf::crypt::{Encrypted, Plaintexts};
use worker::pdf::stream::inflated_size;

mod common;
use common::{HELLO, assemble, one_page, stream};

/// ISO 32000-1 §7.6.3.3, Algorithm 2 step (a): the padding string.
const PAD: [u8; 32] = [
    0x28, 0xBF, 0x4E, 0x5E, 0x4E, 0x75, 0x8A, 0x41, 0x64, 0x00, 0x4E, 0x56, 0xFF, 0xFA, 0x01, 0x08,
    0x2E, 0x2E, 0x00, 0xB6, 0xD0, 0x68, 0x3E, 0x80, 0x2F, 0x0C, 0xA9, 0xFE, 0x64, 0x53, 0x69, 0x7A,
];

/// How a test document is encrypted.
#[derive(Debug, Clone, Copy)]
enum Scheme {
    /// V1 R2, RC4 40 bits.
    Rc4R2,
    /// V2 R3, RC4 128 bits.
    Rc4R3,
    /// V4 R4, /CFM /AESV2.
    AesV2,
    /// V5 R6, /CFM /AESV3.
    AesV3,
}

const SCHEMES: [Scheme; 4] = [Scheme::Rc4R2, Scheme::Rc4R3, Scheme::AesV2, Scheme::AesV3];

/// A scheme's file key and encryption dictionary, for the empty user password.
struct Encryption {
    scheme: Scheme,
    key: Vec<u8>,
    dict: String,
}

const ID: &[u8] = b"\x8e\x01q\xe0 distributed";

impl Encryption {
    /// Writes the encryption dictionary: /O arbitrary, /U (and /UE) computed from it so
    /// that the empty password is the user password (Algorithms 2, 4, 5; 2.A for R6).
    fn new(scheme: Scheme) -> Encryption {
        let o: Vec<u8> = (0..32u8).map(|i| i.wrapping_mul(37) ^ 0x5C).collect();
        let p: i32 = -1028;
        let (v, r, n, extra) = match scheme {
            Scheme::Rc4R2 => (1, 2, 5, String::new()),
            Scheme::Rc4R3 => (2, 3, 16, "/Length 128".to_string()),
            Scheme::AesV2 => (
                4,
                4,
                16,
                "/Length 128 /CF << /StdCF << /AuthEvent /DocOpen /CFM /AESV2 /Length 16 >> >> \
                 /StmF /StdCF /StrF /StdCF"
                    .to_string(),
            ),
            Scheme::AesV3 => return Encryption::aes_v3(),
        };
        let mut md5 = Md5::new();
        md5.update(PAD);
        md5.update(&o);
        md5.update(p.to_le_bytes());
        md5.update(ID);
        let mut hash = md5.finalize();
        if r >= 3 {
            for _ in 0..50 {
                hash = Md5::digest(&hash[..n]);
            }
        }
        let key = hash[..n].to_vec();
        let u = if r == 2 {
            rc4(&key, &PAD)
        } else {
            let mut x = rc4(
                &key,
                &Md5::new().chain_update(PAD).chain_update(ID).finalize(),
            );
            for i in 1..=19u8 {
                let pass: Vec<u8> = key.iter().map(|b| b ^ i).collect();
                x = rc4(&pass, &x);
            }
            x.resize(32, 0xAB); // arbitrary: only 16 bytes are compared
            x
        };
        let dict = format!(
            "<< /Filter /Standard /V {v} /R {r} {extra} /O {} /U {} /P {p} >>",
            pdf_hex(&o),
            literal(&u),
        );
        Encryption { scheme, key, dict }
    }

    /// R6: /U made of the Algorithm 2.B hash of the empty password with the validation salt
    /// and, with the key salt, the key that wraps the file key into /UE. Both hashes were
    /// computed independently (Python's hashlib and `cryptography`), as constants here.
    fn aes_v3() -> Encryption {
        let validation_hash =
            hex("b90142bea43155b2094aad190e6ff365279df18d86ce2e2c2e5a548ed2dbd1c8");
        let key_hash = hex("b26052f8f5e95008230e8a9046566113531360bd8e9b2ccf8d6586f3326c5be8");
        let u = [validation_hash.as_slice(), b"VSALT123", b"KSALT456"].concat();
        let key: Vec<u8> = (0..32u8).map(|i| i.wrapping_mul(151) ^ 0x3D).collect();
        let mut ue = key.clone();
        encrypt_blocks(&key_hash, &[0; 16], &mut ue);
        let dict = format!(
            "<< /Filter /Standard /V 5 /R 6 /Length 256 /CF << /StdCF << /AuthEvent /DocOpen \
             /CFM /AESV3 /Length 32 >> >> /StmF /StdCF /StrF /StdCF /P -1028 /O {} /OE {} \
             /U {} /UE {} /Perms <0123456789ABCDEF0123456789ABCDEF> >>",
            pdf_hex(&[0x42; 48]),
            pdf_hex(&[0x24; 32]),
            literal(&u),
            pdf_hex(&ue),
        );
        Encryption {
            scheme: Scheme::AesV3,
            key,
            dict,
        }
    }

    /// The stored form of stream `num gen` holding `plain` (ISO 32000-1 §7.6.2,
    /// Algorithm 1; AES with a fixed IV).
    fn encrypt(&self, num: u32, generation: u16, plain: &[u8]) -> Vec<u8> {
        let aes = matches!(self.scheme, Scheme::AesV2);
        let key = if matches!(self.scheme, Scheme::AesV3) {
            self.key.clone()
        } else {
            let mut md5 = Md5::new();
            md5.update(&self.key);
            md5.update(&num.to_le_bytes()[..3]);
            md5.update(generation.to_le_bytes());
            if aes {
                md5.update(b"sAlT");
            }
            md5.finalize()[..(self.key.len() + 5).min(16)].to_vec()
        };
        match self.scheme {
            Scheme::Rc4R2 | Scheme::Rc4R3 => rc4(&key, plain),
            Scheme::AesV2 | Scheme::AesV3 => {
                let iv = [num as u8 ^ 0xA7; 16];
                let pad = 16 - plain.len() % 16;
                let mut buf = plain.to_vec();
                buf.extend(std::iter::repeat_n(pad as u8, pad));
                encrypt_blocks(&key, &iv, &mut buf);
                [iv.as_slice(), &buf].concat()
            }
        }
    }
}

fn rc4(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    Rc4::new_from_slice(key).unwrap().apply_keystream(&mut out);
    out
}

/// AES-CBC encryption of whole blocks in place.
fn encrypt_blocks(key: &[u8], iv: &[u8; 16], buf: &mut [u8]) {
    let (blocks, rest) = Array::slice_as_chunks_mut(buf);
    assert!(rest.is_empty());
    match key.len() {
        16 => cbc::Encryptor::<Aes128>::new_from_slices(key, iv)
            .unwrap()
            .encrypt_blocks(blocks),
        _ => cbc::Encryptor::<Aes256>::new_from_slices(key, iv)
            .unwrap()
            .encrypt_blocks(blocks),
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn pdf_hex(bytes: &[u8]) -> String {
    let mut out = "<".to_string();
    for b in bytes {
        write!(out, "{b:02x}").unwrap();
    }
    out + ">"
}

/// `bytes` as a literal string, escaping what must be and writing some bytes as octal, so
/// that both tokenizers read binary literal strings.
fn literal(bytes: &[u8]) -> String {
    let mut out = "(".to_string();
    for &b in bytes {
        match b {
            b'(' | b')' | b'\\' => write!(out, "\\{}", b as char).unwrap(),
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            0x20..=0x7E => out.push(b as char),
            _ => write!(out, "\\{b:03o}").unwrap(),
        }
    }
    out + ")"
}

/// A one-page document whose content stream (object 4) says Hello in Helvetica (object 5),
/// with a classic xref table; the encryption dictionary is object 6, or inline in the
/// trailer.
fn classic(enc: &Encryption, inline: bool) -> Vec<u8> {
    let mut objects = one_page("", HELLO);
    objects[3] = stream("", &enc.encrypt(4, 0, HELLO));
    let encrypt = if inline {
        enc.dict.clone()
    } else {
        objects.push(enc.dict.clone().into_bytes());
        "6 0 R".to_string()
    };
    let id = format!("/ID [{} {}]", pdf_hex(ID), pdf_hex(b"second"));
    assemble(&objects, &format!("/Encrypt {encrypt} {id}"))
}

/// The plaintext of the object stream in [`with_object_stream`]: the font as object 6.
const OBJECT_STREAM: &[u8] =
    b"6 0 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>";

/// The same page with its font in a compressed, encrypted object stream (object 5), the
/// encryption dictionary as object 7 and an xref stream (object 8, never encrypted).
fn with_object_stream(enc: &Encryption) -> Vec<u8> {
    with_object_stream_of(enc, OBJECT_STREAM)
}

/// [`with_object_stream`] with `plain` as the object stream's data.
fn with_object_stream_of(enc: &Encryption, plain: &[u8]) -> Vec<u8> {
    let compressed = miniz_oxide::deflate::compress_to_vec_zlib(plain, 6);
    let objects: Vec<(u32, Vec<u8>)> = vec![
        (1, b"<< /Type /Catalog /Pages 2 0 R >>".to_vec()),
        (2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec()),
        (
            3,
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R \
              /Resources << /Font << /F1 6 0 R >> >> >>"
                .to_vec(),
        ),
        (4, stream("", &enc.encrypt(4, 0, HELLO))),
        (
            5,
            stream(
                "/Type /ObjStm /N 1 /First 4 /Filter /FlateDecode",
                &enc.encrypt(5, 0, &compressed),
            ),
        ),
        (7, enc.dict.clone().into_bytes()),
    ];
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = [0u32; 9];
    for (num, body) in &objects {
        offsets[*num as usize] = out.len() as u32;
        out.extend_from_slice(format!("{num} 0 obj\n").as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    offsets[8] = out.len() as u32;
    let mut rows = Vec::new();
    for (num, &offset) in offsets.iter().enumerate() {
        match num {
            0 => rows.extend_from_slice(&[0, 0, 0, 0, 0, 0xFF, 0xFF]),
            6 => rows.extend_from_slice(&[2, 0, 0, 0, 5, 0, 0]),
            _ => {
                rows.push(1);
                rows.extend_from_slice(&offset.to_be_bytes());
                rows.extend_from_slice(&[0, 0]);
            }
        }
    }
    let dict = format!(
        "/Type /XRef /Size 9 /W [1 4 2] /Root 1 0 R /Encrypt 7 0 R /ID [{} {}]",
        pdf_hex(ID),
        pdf_hex(ID),
    );
    out.extend_from_slice(b"8 0 obj\n");
    out.extend_from_slice(&stream(&dict, &rows));
    out.extend_from_slice(format!("\nendobj\nstartxref\n{}\n%%EOF\n", offsets[8]).as_bytes());
    out
}

/// The stored data of stream object `num` in `file` (from its `/Length`).
fn stored_stream(file: &[u8], num: u32) -> &[u8] {
    let header = format!("\n{num} 0 obj\n");
    let at = memmem::find(file, header.as_bytes()).unwrap();
    let length_at = at + memmem::find(&file[at..], b"/Length ").unwrap() + 8;
    let digits = file[length_at..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    let length: usize = std::str::from_utf8(&file[length_at..length_at + digits])
        .unwrap()
        .parse()
        .unwrap();
    let data = at + memmem::find(&file[at..], b"stream\n").unwrap() + 7;
    &file[data..data + length]
}

/// The page texts the engine extracts, or its error detail.
fn texts(file: &[u8]) -> Result<Vec<String>, String> {
    let limits = Limits {
        max_pages: None,
        skip_if_pages_over: None,
        deadline: std::cell::Cell::new(None),
    };
    let mut texts = Vec::new();
    extract(file, &limits, &mut |_, text| {
        texts.push(text.to_string());
        ControlFlow::Continue(())
    })
    .map_err(|e| format!("{:?}: {}", e.reason, e.detail))?;
    Ok(texts)
}

fn hayro_opens(file: &[u8]) -> bool {
    Pdf::new(PdfData::from(Arc::new(file.to_vec()))).is_ok()
}

#[test]
fn classic_documents_decrypt_as_hayro_syntax_reads_them() {
    for scheme in SCHEMES {
        let enc = Encryption::new(scheme);
        for inline in [false, true] {
            let file = classic(&enc, inline);
            assert!(hayro_opens(&file), "{scheme:?} inline {inline}");
            let texts = texts(&file).unwrap();
            assert_eq!(texts.len(), 1);
            assert!(texts[0].contains("Hello"), "{scheme:?}: {texts:?}");

            let stored = stored_stream(&file, 4);
            assert_ne!(stored, HELLO);
            // The same bytes as object 9: another object's key gives something else
            // (AES-256 has no per-object key).
            let plain = decrypt(&file, &[(4, stored), (9, stored)]).expect("decrypted");
            assert_eq!(plain[0], HELLO, "{scheme:?}");
            assert_eq!(
                plain[1] == HELLO,
                matches!(scheme, Scheme::AesV3),
                "{scheme:?}"
            );
        }
    }
}

#[test]
fn object_streams_decrypt_as_hayro_syntax_reads_them() {
    for scheme in SCHEMES {
        let enc = Encryption::new(scheme);
        let file = with_object_stream(&enc);
        assert!(hayro_opens(&file), "{scheme:?}");
        // The font is read from the object stream: Helvetica's widths, the text decoded.
        let texts = texts(&file).unwrap();
        assert!(texts[0].contains("Hello"), "{scheme:?}: {texts:?}");

        let streams = [(4, stored_stream(&file, 4)), (5, stored_stream(&file, 5))];
        let plain = decrypt(&file, &streams).expect("decrypted");
        assert_eq!(plain[0], HELLO);
        let inflated = miniz_oxide::inflate::decompress_to_vec_zlib(&plain[1]).unwrap();
        assert_eq!(inflated, OBJECT_STREAM, "{scheme:?}");
    }
}

#[test]
fn a_user_password_stops_both() {
    for scheme in SCHEMES {
        let mut enc = Encryption::new(scheme);
        // Flip one byte of /U (its hash part): the empty password is no longer the user
        // password, for hayro-syntax in the file as in the copy.
        let at = enc.dict.find("/U (").unwrap() + 4;
        let replacement = if enc.dict.as_bytes()[at] == b'A' {
            "B"
        } else {
            "A"
        };
        enc.dict.replace_range(at..at + 1, replacement);
        let file = classic(&enc, false);
        assert!(!hayro_opens(&file), "{scheme:?}");
        assert!(texts(&file).is_err(), "{scheme:?}");
        let streams = [(4, stored_stream(&file, 4))];
        assert!(decrypt(&file, &streams).is_none(), "{scheme:?}");
    }
}

/// The plaintext of streams `(num, stored)` (generation 0) of `file`, through
/// [`Plaintexts`]; `None` when it cannot open them.
fn decrypt(file: &[u8], streams: &[(u32, &[u8])]) -> Option<Vec<Vec<u8>>> {
    let encrypted: Vec<Encrypted<'_>> = streams
        .iter()
        .map(|&(num, stored)| Encrypted {
            num,
            generation: 0,
            stored,
        })
        .collect();
    let plaintexts = Plaintexts::open(file, &encrypted)?;
    (0..streams.len()).map(|i| plaintexts.get(i)).collect()
}

/// The shared corpus, when it is there (it is not in a fresh clone).
fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
    dir.is_dir().then_some(dir)
}

/// A stream object found in a file's bytes.
struct Located<'a> {
    num: u32,
    generation: u16,
    /// From `N G obj` to the `stream` keyword.
    dict: &'a [u8],
    /// After `stream` and its end of line: `/Length` bytes when it is direct and ends
    /// before `endstream`, else up to `endstream` (so possibly with an end of line more
    /// than `/Length` counts).
    stored: &'a [u8],
}

/// The stream objects of `file`, the last one of each number and generation: every
/// `stream` keyword after `>>`, the `N G obj` before it and `endstream` after it.
fn streams(file: &[u8]) -> Vec<Located<'_>> {
    let mut found: HashMap<(u32, u16), Located<'_>> = HashMap::new();
    for at in memmem::find_iter(file, b"stream") {
        let before = file[..at].trim_ascii_end();
        if !before.ends_with(b">>") {
            continue; // `endstream`, or not after a dictionary
        }
        let Some(obj) = memmem::rfind(&file[at.saturating_sub(65536)..at], b"obj")
            .map(|o| at.saturating_sub(65536) + o)
        else {
            continue;
        };
        let head: Vec<&[u8]> = file[obj.saturating_sub(24)..obj]
            .split(|b| b.is_ascii_whitespace())
            .filter(|t| !t.is_empty())
            .collect();
        let [.., num, generation] = head.as_slice() else {
            continue;
        };
        let (Some(num), Some(generation)) = (number(num), number(generation)) else {
            continue;
        };
        let (Ok(num), Ok(generation)) = (u32::try_from(num), u16::try_from(generation)) else {
            continue;
        };
        let mut start = at + b"stream".len();
        if file[start..].starts_with(b"\r\n") {
            start += 2;
        } else if file[start..].starts_with(b"\n") || file[start..].starts_with(b"\r") {
            start += 1;
        }
        let Some(end) = memmem::find(&file[start..], b"endstream") else {
            continue;
        };
        let dict = &file[obj..at];
        // `/Length` counts when `endstream` follows it (else, as hayro-syntax does, the
        // data runs to `endstream`).
        let end = direct_length(dict)
            .filter(|&length| {
                length <= end
                    && file[start + length..]
                        .trim_ascii_start()
                        .starts_with(b"endstream")
            })
            .unwrap_or(end);
        found.insert(
            (num, generation),
            Located {
                num,
                generation,
                dict,
                stored: &file[start..start + end],
            },
        );
    }
    let mut streams: Vec<_> = found.into_values().collect();
    streams.sort_by_key(|s| (s.num, s.generation));
    streams
}

/// The `/Length` in `dict` when it is a direct integer.
fn direct_length(dict: &[u8]) -> Option<usize> {
    let at = memmem::find(dict, b"/Length")? + b"/Length".len();
    let rest = dict[at..].trim_ascii_start();
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let after = rest[digits..].trim_ascii_start();
    let indirect = after.first().is_some_and(u8::is_ascii_digit);
    if digits == 0 || indirect {
        return None;
    }
    std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
}

/// The digits at the end of `token` (`12` of `\r12`), as a number.
fn number(token: &[u8]) -> Option<u64> {
    let digits = token
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 || digits > 10 {
        return None;
    }
    std::str::from_utf8(&token[token.len() - digits..])
        .ok()?
        .parse()
        .ok()
}

/// Every encrypted corpus file: `Plaintexts` opens exactly when hayro-syntax opens the file
/// and decrypts, and then gives for every stream the bytes hayro-syntax decrypts in the file
/// (its raw data, filters not applied); object streams inflate.
#[test]
fn corpus_encrypted_files_decrypt_as_hayro_syntax_reads_them() {
    let Some(dir) = corpus() else {
        // REVIEW.md: not a silent pass where the corpus is expected.
        assert!(
            std::env::var_os("WORKER_REQUIRE_CORPUS").is_none(),
            "WORKER_REQUIRE_CORPUS is set but ../shared/corpus is missing"
        );
        eprintln!("skipped: no shared corpus next to the repository");
        return;
    };
    let (mut keyed, mut refused, mut object_streams) = (0, 0, 0);
    for sub in ["realworld", "torture"] {
        let mut paths: Vec<_> = std::fs::read_dir(dir.join(sub))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "pdf"))
            .collect();
        paths.sort();
        for path in paths {
            let file = std::fs::read(&path).unwrap();
            if memmem::find(&file, b"/Encrypt").is_none() {
                continue;
            }
            let name = format!("{sub}/{}", path.file_name().unwrap().to_string_lossy());
            let all = streams(&file);
            // Cross-reference streams are never encrypted; hayro-syntax reads them before
            // it has a key. Per-stream crypt filters are not handled.
            let encrypted: Vec<Encrypted<'_>> = all
                .iter()
                .filter(|s| {
                    memmem::find(s.dict, b"/XRef").is_none()
                        && memmem::find(s.dict, b"/Crypt").is_none()
                })
                .map(|s| Encrypted {
                    num: s.num,
                    generation: s.generation,
                    stored: s.stored,
                })
                .collect();
            let key = Plaintexts::open(&file, &encrypted);
            let pdf = match Pdf::new(PdfData::from(Arc::new(file.clone()))) {
                Ok(pdf) => pdf,
                Err(e) => {
                    eprintln!(
                        "{name}: hayro-syntax refuses it ({e:?}), key {}",
                        key.is_some()
                    );
                    if matches!(e, LoadPdfError::Decryption(_)) {
                        assert!(
                            key.is_none(),
                            "{name}: a key for a file hayro-syntax refuses"
                        );
                        refused += 1;
                    }
                    continue;
                }
            };
            if memmem::find(&file, b"/ObjStm").is_some()
                && memmem::find(&file, b"/Standard").is_some()
            {
                assert!(key.is_some(), "{name}: hayro-syntax opens it, no key");
            }
            let mut compared = 0;
            // The streams in `encrypted`, in order.
            let kept = all.iter().filter(|s| {
                memmem::find(s.dict, b"/XRef").is_none()
                    && memmem::find(s.dict, b"/Crypt").is_none()
            });
            for (index, stream) in kept.enumerate() {
                let id = ObjectIdentifier::new(stream.num, i32::from(stream.generation));
                let Some(theirs) = pdf.xref().get::<Stream<'_>>(id) else {
                    continue;
                };
                let theirs = theirs.raw_data();
                let ours = match &key {
                    Some(key) => key.get(index).unwrap(),
                    // No key: hayro-syntax must not be decrypting either.
                    None => stream.stored.to_vec(),
                };
                assert!(
                    ours.starts_with(&theirs) && ours.len() <= theirs.len() + 2,
                    "{name}: object {} {}: {} bytes, hayro-syntax {}",
                    stream.num,
                    stream.generation,
                    ours.len(),
                    theirs.len()
                );
                compared += 1;
                if memmem::find(stream.dict, b"/ObjStm").is_some() {
                    let inflated =
                        miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(&ours, 64 << 20)
                            .unwrap_or_else(|e| panic!("{name}: object {}: {e:?}", stream.num));
                    // An object stream starts with pairs of object numbers and offsets.
                    let first = inflated.iter().find(|b| !b.is_ascii_whitespace());
                    assert!(
                        first.is_some_and(u8::is_ascii_digit),
                        "{name}: {}",
                        stream.num
                    );
                    object_streams += 1;
                }
            }
            eprintln!(
                "{name}: hayro-syntax opens it, key {}, {compared} streams agree",
                key.is_some()
            );
            if key.is_some() {
                assert!(compared > 0, "{name}: no stream compared");
                keyed += 1;
            }
        }
    }
    eprintln!(
        "{keyed} files decrypted ({object_streams} object streams), {refused} refused by both"
    );
    assert!(keyed > 0 && refused > 0 && object_streams > 0);
}

/// What the key is for: an encrypted object stream inflating to 8 MiB counts as (almost)
/// nothing in its stored form, and as all of it once decrypted.
#[test]
fn decrypted_object_stream_bombs_are_counted_in_full() {
    let bomb = [OBJECT_STREAM, &vec![b' '; 8 << 20]].concat();
    let compressed = miniz_oxide::deflate::compress_to_vec_zlib(&bomb, 9);
    assert!(compressed.len() < 16 << 10);
    for scheme in SCHEMES {
        let file = with_object_stream_of(&Encryption::new(scheme), &bomb);
        let stored = stored_stream(&file, 5);
        let plain = decrypt(&file, &[(5, stored)]).unwrap();
        let cap = 64 << 20;
        assert!(inflated_size(stored, cap) < 64 << 10, "{scheme:?}");
        assert_eq!(inflated_size(&plain[0], cap), bomb.len(), "{scheme:?}");
    }
}

/// The engine refuses an encrypted object stream that decrypts and inflates past the cap
/// before hayro-syntax inflates it whole (1 GB of RSS for a 1 MB file before the check
/// decrypted; stored, the bytes inflate to nothing).
#[test]
fn encrypted_object_stream_bombs_are_refused_before_opening() {
    let bomb = [OBJECT_STREAM, &vec![b' '; 64 << 20]].concat();
    for scheme in SCHEMES {
        let file = with_object_stream_of(&Encryption::new(scheme), &bomb);
        assert!(file.len() < 1 << 20, "{scheme:?}: {}", file.len());
        let err = texts(&file).unwrap_err();
        assert!(err.contains("compression bomb"), "{scheme:?}: {err}");
        // The same stream, small, still reads.
        let small = with_object_stream_of(&Encryption::new(scheme), OBJECT_STREAM);
        assert_eq!(texts(&small).unwrap(), ["Hello"], "{scheme:?}");
        // So does one of 96 KB that hardly compresses: stored encrypted its bytes look
        // damaged, and their worst case (1,032 bytes per byte) is past the cap.
        let mut x = 1u32;
        let noise: Vec<u8> = (0..96 << 10)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                b'a' + (x >> 16) as u8 % 26
            })
            .collect();
        let large = with_object_stream_of(
            &Encryption::new(scheme),
            &[OBJECT_STREAM, b" ", &noise].concat(),
        );
        assert!(large.len() > 48 << 10, "{scheme:?}: {}", large.len());
        assert_eq!(texts(&large).unwrap(), ["Hello"], "{scheme:?}");
    }
}

/// Found by the `open` fuzz target: a copy of a small encrypted object stream 5 0 put
/// after an encrypted bomb of the same number. Decrypted in one document, the second
/// hid the first, which was counted as the small one, and hayro-syntax then inflated
/// the bomb (66 MB of RSS for that input; 1 GB for this one). Each is decrypted under
/// its own number in a document of its own now.
#[test]
fn fuzz_an_object_stream_defined_again_hides_no_bomb() {
    let bomb = [OBJECT_STREAM, &vec![b' '; 64 << 20]].concat();
    for scheme in SCHEMES {
        let enc = Encryption::new(scheme);
        let small = with_object_stream(&enc);
        let again = &small[memmem::find(&small, b"5 0 obj").unwrap()..];
        let again = &again[..memmem::find(again, b"endobj").unwrap() + b"endobj".len()];
        let file = [with_object_stream_of(&enc, &bomb).as_slice(), b"\n", again].concat();
        let err = texts(&file).unwrap_err();
        assert!(err.contains("compression bomb"), "{scheme:?}: {err}");
        // Defined again after the small one, the small one still reads.
        let twice = [small.as_slice(), b"\n", again].concat();
        assert_eq!(texts(&twice).unwrap(), ["Hello"], "{scheme:?}");
    }
}

/// Hostile: thousands of encrypted object streams with neither /Length nor `endstream`,
/// each running to the end of the file. Copied for decryption, they would take the square
/// of the file's size (12 GB here); past as many bytes as the file has, the rest are not
/// copied, cannot be checked, and the file is refused.
#[test]
fn encrypted_object_streams_running_to_the_end_are_copied_once() {
    for scheme in SCHEMES {
        let mut file = with_object_stream(&Encryption::new(scheme));
        for i in 0..20_000u32 {
            let marker = format!(
                "\n{} 0 obj << /Type /ObjStm /N 1 /First 4 >>\nstream\n",
                100 + i
            );
            file.extend_from_slice(marker.as_bytes());
        }
        assert!(file.len() > 1 << 20);
        let err = texts(&file).unwrap_err();
        assert!(err.contains("compression bomb"), "{scheme:?}: {err}");
    }
}
