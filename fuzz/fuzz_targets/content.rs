//! The content-stream interpreter: the input is the content stream of a fixed, valid
//! one-page document (a Type1 font with a ToUnicode CMap as /F1, Helvetica as /F2, a
//! Type0 Identity-H font with a ToUnicode CMap as /F3, a form XObject /Fm1), so every
//! run reaches the interpreter instead of dying in the xref. It fails on a panic, on a
//! page count that disagrees with the outcome, and on one input taking more than 2 s.

#![no_main]

use std::ops::ControlFlow;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use worker::engine::{Limits, extract};
use worker::protocol::Reason;

const CMAP_1: &[u8] = b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n\
/CMapName /F1U def /CMapType 2 def\n1 begincodespacerange <00> <FF> endcodespacerange\n\
2 beginbfchar <41> <0041> <42> <00DF> endbfchar\n\
1 beginbfrange <61> <7A> <0061> endbfrange\n\
endcmap CMapName currentdict /CMap defineresource pop end end";

const CMAP_2: &[u8] = b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n\
/CMapName /F3U def /CMapType 2 def\n1 begincodespacerange <0000> <FFFF> endcodespacerange\n\
1 beginbfrange <0000> <00FF> <0030> endbfrange\n\
1 beginbfchar <0100> <D83DDE00> endbfchar\n\
endcmap CMapName currentdict /CMap defineresource pop end end";

/// The document before and after the content stream's bytes (its /Length is patched
/// in by [`document`]): objects 1-9 are fixed, 10 is the content stream, the xref last.
struct Template {
    objects: Vec<Vec<u8>>,
}

fn stream_obj(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut s = format!("<< {dict} /Length {} >>\nstream\n", data.len()).into_bytes();
    s.extend_from_slice(data);
    s.extend_from_slice(b"\nendstream");
    s
}

static TEMPLATE: LazyLock<Template> = LazyLock::new(|| Template {
    objects: vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 10 0 R \
          /Resources << /Font << /F1 4 0 R /F2 5 0 R /F3 6 0 R >> \
          /XObject << /Fm1 9 0 R >> >> >>"
            .to_vec(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Custom /FirstChar 65 /LastChar 66 \
          /Widths [600 700] /Encoding << /Differences [65 /A /germandbls] >> \
          /ToUnicode 7 0 R >>"
            .to_vec(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_vec(),
        b"<< /Type /Font /Subtype /Type0 /BaseFont /Cid /Encoding /Identity-H \
          /DescendantFonts [<< /Type /Font /Subtype /CIDFontType2 /BaseFont /Cid \
          /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> \
          /DW 1000 /W [0 [500 600] 10 20 700] >>] /ToUnicode 8 0 R >>"
            .to_vec(),
        stream_obj("", CMAP_1),
        stream_obj("", CMAP_2),
        stream_obj(
            "/Type /XObject /Subtype /Form /BBox [0 0 100 100] \
             /Resources << /Font << /F2 5 0 R >> >>",
            b"BT /F2 10 Tf (inside form) Tj ET",
        ),
    ],
});

/// The template with `content` as object 10, with a correct xref.
fn document(content: &[u8]) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    let content = stream_obj("", content);
    for (i, body) in TEMPLATE.objects.iter().chain([&content]).enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", offsets.len() + 1);
    for off in offsets {
        table.push_str(&format!("{off:010} 00000 n \n"));
    }
    table.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        TEMPLATE.objects.len() + 2
    ));
    out.extend_from_slice(table.as_bytes());
    out
}

fuzz_target!(|data: &[u8]| {
    let pdf = document(data);
    let start = Instant::now();
    let limits = Limits {
        max_pages: None,
        skip_if_pages_over: None,
        deadline: std::cell::Cell::new(Some(start + Duration::from_millis(200))),
    };
    let mut pages = 0u32;
    let result = extract(&pdf, &limits, &mut |_, text| {
        pages += 1;
        assert_eq!(text.trim_end().len(), text.len());
        ControlFlow::Continue(())
    });
    match result {
        Ok(outcome) => {
            // The template is valid: its one page must always come back.
            assert_eq!(outcome.page_count, 1);
            assert_eq!(outcome.pages_extracted, pages);
        }
        Err(e) => assert_eq!(e.reason, Reason::Timeout, "{}", e.detail),
    }
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "took {:?}",
        start.elapsed()
    );
});
