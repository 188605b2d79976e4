//! Inflates the page content streams of a folder of PDFs with one decoder, to compare
//! decoders on the streams the engine really reads (issue 11, item 4).
//!
//! ```text
//! cargo run -p worker --release --example inflate_compare -- DIR DECODER [REPEAT]
//! ```
//! DECODER: `miniz` (a fresh miniz_oxide state per stream, as the engine did),
//! `miniz-reused` (one state, reset per stream), `zlib-rs` (flate2 over zlib-rs, one
//! reused `Decompress`), `libdeflate` (one-shot into a buffer guessed from the input
//! size, doubled until it fits), `engine` (worker::pdf::stream::inflate). Prints streams,
//! bytes in and out, and the time; run it under `valgrind --tool=cachegrind` for
//! instruction counts. The streams are collected before the clock starts.

use std::time::Instant;

use hayro_syntax::object::{Array, Stream};
use hayro_syntax::{Filter, Pdf};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(dir), Some(decoder)) = (args.first(), args.get(1)) else {
        eprintln!(
            "usage: inflate_compare DIR miniz|miniz-reused|zlib-rs|libdeflate|engine [REPEAT]"
        );
        std::process::exit(2);
    };
    let repeat: usize = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(1);
    let mut streams: Vec<Vec<u8>> = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .expect("reading the folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("pdf")))
        .collect();
    paths.sort();
    for path in paths {
        let Ok(pdf) = Pdf::new(std::fs::read(&path).unwrap_or_default()) else {
            continue;
        };
        for page in pdf.pages().iter() {
            let dict = page.raw();
            let mut add = |s: Stream<'_>| {
                if s.filters().as_slice() == [Filter::FlateDecode] {
                    streams.push(s.raw_data().into_owned());
                }
            };
            if let Some(s) = dict.get::<Stream<'_>>(b"Contents") {
                add(s);
            } else if let Some(a) = dict.get::<Array<'_>>(b"Contents") {
                a.iter::<Stream<'_>>().for_each(&mut add);
            }
        }
    }
    let bytes_in: usize = streams.iter().map(Vec::len).sum();
    let cap = worker::pdf::stream::MAX_DECODED;
    let mut out = Vec::new();
    let mut bytes_out = 0usize;
    let start = Instant::now();
    let mut miniz = Box::<miniz_oxide::inflate::core::DecompressorOxide>::default();
    let mut zlib = flate2::Decompress::new(true);
    let mut deflater = libdeflater::Decompressor::new();
    for _ in 0..repeat {
        for s in &streams {
            out.clear();
            let n = match decoder.as_str() {
                "miniz" => {
                    let mut fresh = Box::<miniz_oxide::inflate::core::DecompressorOxide>::default();
                    miniz_into(&mut fresh, s, &mut out, cap)
                }
                "miniz-reused" => {
                    miniz.init();
                    miniz_into(&mut miniz, s, &mut out, cap)
                }
                "zlib-rs" => {
                    zlib.reset(true);
                    let mut room = (s.len() * 4).max(1024);
                    loop {
                        out.reserve(room.saturating_sub(out.len()));
                        let (before_in, before_out) = (zlib.total_in(), zlib.total_out());
                        let input = &s[before_in as usize..];
                        match zlib.decompress_vec(input, &mut out, flate2::FlushDecompress::Finish)
                        {
                            Ok(flate2::Status::StreamEnd) | Err(_) => break,
                            _ if out.len() >= cap => break,
                            // Truncated data: no progress once the input is used up.
                            _ if zlib.total_in() == before_in && zlib.total_out() == before_out => {
                                break;
                            }
                            Ok(_) => room *= 2,
                        }
                    }
                    out.len()
                }
                "libdeflate" => {
                    let mut room = (s.len() * 4).max(1024);
                    loop {
                        out.resize(room, 0);
                        match deflater.zlib_decompress(s, &mut out) {
                            Ok(n) => break n,
                            Err(libdeflater::DecompressionError::InsufficientSpace)
                                if room < cap =>
                            {
                                room *= 2
                            }
                            Err(_) => break 0,
                        }
                    }
                }
                "engine" => worker::pdf::stream::inflate(s, cap).map_or(0, |v| v.len()),
                other => panic!("unknown decoder {other}"),
            };
            bytes_out += n;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "decoder={decoder} streams={} repeat={repeat} bytes_in={bytes_in} bytes_out={bytes_out} secs={secs:.3} MB_out_per_s={:.0}",
        streams.len(),
        bytes_out as f64 / secs / 1e6
    );
}

fn miniz_into(
    state: &mut miniz_oxide::inflate::core::DecompressorOxide,
    data: &[u8],
    out: &mut Vec<u8>,
    cap: usize,
) -> usize {
    use miniz_oxide::inflate::TINFLStatus;
    use miniz_oxide::inflate::core::{decompress, inflate_flags};
    let flags = inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF
        | inflate_flags::TINFL_FLAG_IGNORE_ADLER32
        | inflate_flags::TINFL_FLAG_PARSE_ZLIB_HEADER;
    let mut room = (data.len() * 4).max(1024);
    out.resize(room, 0);
    let mut pos = 0;
    let mut input = data;
    loop {
        let (status, used, written) = decompress(state, input, out, pos, flags);
        pos += written;
        input = &input[used..];
        match status {
            TINFLStatus::HasMoreOutput if room < cap => {
                room *= 2;
                out.resize(room, 0);
            }
            _ => break,
        }
    }
    out.truncate(pos);
    pos
}
