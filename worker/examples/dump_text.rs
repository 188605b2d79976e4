//! Writes the text of every PDF in a folder, one `.txt` per PDF, each page followed by a
//! form feed (as pdftotext does), and prints how fast that went.
//!
//! ```text
//! cargo run -p worker --release --example dump_text -- IN_DIR OUT_DIR [--repeat N]
//! ```
//! With `--repeat N` the folder is extracted N times (text written on the first pass
//! only) and pages/sec is computed over all passes. Reading the files is not timed.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use worker::engine::{Extractor, Limits};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(input), Some(output)) = (args.first(), args.get(1)) else {
        eprintln!("usage: dump_text IN_DIR OUT_DIR [--repeat N]");
        std::process::exit(2);
    };
    let repeat: usize = args
        .iter()
        .position(|a| a == "--repeat")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let output = PathBuf::from(output);
    std::fs::create_dir_all(&output).expect("creating the output folder");
    let mut files: Vec<PathBuf> = std::fs::read_dir(input)
        .expect("reading the input folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("pdf")))
        .collect();
    files.sort();
    let data: Vec<Vec<u8>> = files
        .iter()
        .map(|p| std::fs::read(p).unwrap_or_default())
        .collect();

    let mut extractor = Extractor::default();
    let limits = Limits::default();
    let mut pages = 0u64;
    let mut chars = 0u64;
    let mut errors: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut busy = Duration::ZERO;
    let mut slowest: Vec<(Duration, String)> = Vec::new();
    for pass in 0..repeat {
        for (path, bytes) in files.iter().zip(&data) {
            let mut text = String::new();
            let start = Instant::now();
            let r = extractor.extract(bytes, &limits, &mut |_, page| {
                chars += page.chars().count() as u64;
                if pass == 0 {
                    text.push_str(page);
                    text.push('\x0c');
                }
                ControlFlow::Continue(())
            });
            let took = start.elapsed();
            busy += took;
            let name = path.file_stem().unwrap_or_default().to_string_lossy();
            if pass == 0 {
                slowest.push((took, name.to_string()));
            }
            match r {
                Ok(o) => {
                    pages += o.pages_extracted as u64;
                }
                Err(e) => {
                    *errors.entry(e.reason.label()).or_default() += 1;
                    if pass == 0 {
                        eprintln!("{name}: {}: {}", e.reason.label(), e.detail);
                    }
                }
            }
            if pass == 0 {
                let _ = std::fs::write(output.join(format!("{name}.txt")), &text);
            }
        }
    }
    slowest.sort_by_key(|s| std::cmp::Reverse(s.0));
    for (t, name) in slowest.iter().take(5) {
        eprintln!("slow: {name}: {:.1} ms", t.as_secs_f64() * 1e3);
    }
    let secs = busy.as_secs_f64().max(1e-9);
    println!(
        "files={} passes={repeat} pages={pages} chars={chars} errors={errors:?} busy_s={secs:.3} pages_per_sec={:.1}",
        files.len(),
        pages as f64 / secs
    );
}
