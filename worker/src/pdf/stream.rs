//! Decoded stream data with a cap on the inflated size (ISO 32000-1 §7.3.8, §7.4).
//!
//! A few KB of FlateDecode can inflate to gigabytes; the worker runs in a container with
//! a memory limit, so every stream the engine reads is decoded through here.

use std::borrow::Cow;

use hayro_syntax::Filter;
use hayro_syntax::object::{Array, Dict, Stream};
use hayro_syntax::page::Page;
use miniz_oxide::inflate::TINFLStatus;
use miniz_oxide::inflate::core::{DecompressorOxide, decompress, inflate_flags};

/// Largest decoded content stream, font program or CMap kept (bytes). Longer data is
/// cut there: a page with more than this much drawing code is not a text page.
pub const MAX_DECODED: usize = 64 << 20;

/// Decoded data of a stream, at most `cap` bytes. Corrupt FlateDecode data yields what
/// was inflated before the damage (readers show that much too). `None` when the data
/// cannot be decoded at all (image filters, unknown filters, a failing decryption).
pub fn decode<'a>(stream: &Stream<'a>, cap: usize) -> Option<Cow<'a, [u8]>> {
    let filters = stream.filters();
    let plain_flate = filters.len() == 1
        && filters[0] == Filter::FlateDecode
        && predictor(stream.dict()).is_none_or(|p| p <= 1);
    let data = if filters.is_empty() {
        stream.raw_data()
    } else if plain_flate {
        Cow::Owned(inflate(&stream.raw_data(), cap)?)
    } else {
        // Other chains are rare in text-bearing streams; hayro-syntax decodes them whole.
        stream.decoded_data().ok()?
    };
    Some(match data {
        Cow::Borrowed(b) => Cow::Borrowed(&b[..b.len().min(cap)]),
        Cow::Owned(mut v) => {
            v.truncate(cap);
            Cow::Owned(v)
        }
    })
}

fn predictor(dict: &Dict<'_>) -> Option<i32> {
    let params = dict
        .get::<Dict<'_>>(b"DecodeParms")
        .or_else(|| dict.get::<Dict<'_>>(b"DP"))?;
    params.get::<i32>(b"Predictor")
}

/// Inflates zlib (or, without a zlib header, raw deflate) data to at most `cap` bytes.
/// Damaged data yields what was inflated before the damage; `None` when that is nothing.
pub fn inflate(data: &[u8], cap: usize) -> Option<Vec<u8>> {
    // A zlib header (RFC 1950 §2.2): compression method 8 and a valid check value.
    // Some writers omit it and store raw deflate data.
    let zlib_header = data.len() >= 2
        && data[0] & 0x0f == 8
        && (u16::from(data[0]) << 8 | u16::from(data[1])) % 31 == 0;
    let mut flags = inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF
        // A wrong checksum does not make the text wrong.
        | inflate_flags::TINFL_FLAG_IGNORE_ADLER32;
    if zlib_header {
        flags |= inflate_flags::TINFL_FLAG_PARSE_ZLIB_HEADER;
    }
    let mut out = vec![0u8; data.len().saturating_mul(4).max(1024).min(cap.max(1))];
    let mut state = Box::<DecompressorOxide>::default();
    let mut input = data;
    let mut pos = 0;
    loop {
        let (status, used, written) = decompress(&mut state, input, &mut out, pos, flags);
        pos += written;
        input = input.get(used..).unwrap_or(&[]);
        match status {
            TINFLStatus::HasMoreOutput if out.len() < cap => {
                let grown = out.len().saturating_mul(2).min(cap);
                out.resize(grown, 0);
            }
            // Done, the cap reached, truncated input or damaged data: keep what we have.
            _ => break,
        }
    }
    out.truncate(pos);
    (!out.is_empty()).then_some(out)
}

/// Appends the decoded content streams of a page to `out` (ISO 32000-1 §7.8.2: an array
/// of streams is one stream split at token boundaries, so a space separates the parts).
/// At most `cap` bytes in all.
pub fn page_contents(page: &Page<'_>, cap: usize, out: &mut Vec<u8>) {
    let dict = page.raw();
    if let Some(stream) = dict.get::<Stream<'_>>(b"Contents") {
        if let Some(d) = decode(&stream, cap) {
            out.extend_from_slice(&d);
        }
    } else if let Some(array) = dict.get::<Array<'_>>(b"Contents") {
        for stream in array.iter::<Stream<'_>>() {
            let room = cap.saturating_sub(out.len());
            if room == 0 {
                break;
            }
            if let Some(d) = decode(&stream, room) {
                out.extend_from_slice(&d);
                out.push(b'\n');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zlib(data: &[u8]) -> Vec<u8> {
        miniz_oxide::deflate::compress_to_vec_zlib(data, 6)
    }

    #[test]
    fn inflates_zlib_and_raw_deflate() {
        let text = b"BT /F1 12 Tf (Hello) Tj ET".repeat(10);
        assert_eq!(inflate(&zlib(&text), MAX_DECODED).unwrap(), text);
        let raw = miniz_oxide::deflate::compress_to_vec(&text, 6);
        assert_eq!(inflate(&raw, MAX_DECODED).unwrap(), text);
    }

    #[test]
    fn inflate_is_capped() {
        let bomb = zlib(&vec![b'a'; 1 << 20]);
        assert_eq!(inflate(&bomb, 1000).unwrap().len(), 1000);
    }

    #[test]
    fn truncated_data_keeps_the_prefix() {
        let text: Vec<u8> = (0..20000u32).flat_map(|i| i.to_le_bytes()).collect();
        let z = zlib(&text);
        let part = inflate(&z[..z.len() / 2], MAX_DECODED).unwrap();
        assert!(!part.is_empty() && text.starts_with(&part));
    }

    #[test]
    fn garbage_stays_within_the_cap() {
        for g in [
            &b"\xff\xff\xff\xff not deflate"[..],
            b"",
            b"x",
            b"\x78\x9c\xff",
        ] {
            assert!(inflate(g, 100).is_none_or(|v| v.len() <= 100));
        }
    }
}
