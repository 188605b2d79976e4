//! The engine against small PDFs written here with pdf-writer, whose text is known.

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use pdf_writer::types::{CidFontType, SystemInfo};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str};
use worker::engine::{ExtractError, Limits, Outcome, extract};
use worker::protocol::Reason;

// Each test binary uses a part of the shared helpers.
#[allow(dead_code)]
mod common;

/// Refs used by every fixture.
const CATALOG: Ref = Ref::new(1);
const TREE: Ref = Ref::new(2);
const HELV: Ref = Ref::new(3);
const TIMES: Ref = Ref::new(4);
const TYPE0: Ref = Ref::new(5);
const CIDFONT: Ref = Ref::new(6);
const CMAP: Ref = Ref::new(7);
const CUSTOM: Ref = Ref::new(8);
const FORM: Ref = Ref::new(9);
const FIRST_PAGE: i32 = 100;

/// A document with one page per content stream. Fonts: /F1 Helvetica (WinAnsi),
/// /F2 Times-Roman, /F3 a Type0 Identity-H font with a ToUnicode CMap, /F4 a Type1 font
/// with /Differences and /Widths; XObject /Fm1 a form that shows "inside form".
fn document(contents: &[Vec<u8>], compress: bool) -> Vec<u8> {
    let mut pdf = Pdf::new();
    pdf.catalog(CATALOG).pages(TREE);
    let page_ids: Vec<Ref> = (0..contents.len() as i32)
        .map(|i| Ref::new(FIRST_PAGE + 2 * i))
        .collect();
    pdf.pages(TREE)
        .kids(page_ids.iter().copied())
        .count(contents.len() as i32);
    for (i, content) in contents.iter().enumerate() {
        let page_id = page_ids[i];
        let content_id = Ref::new(page_id.get() + 1);
        let mut page = pdf.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, 595.0, 842.0))
            .parent(TREE)
            .contents(content_id);
        let mut res = page.resources();
        res.fonts()
            .pair(Name(b"F1"), HELV)
            .pair(Name(b"F2"), TIMES)
            .pair(Name(b"F3"), TYPE0)
            .pair(Name(b"F4"), CUSTOM);
        res.x_objects().pair(Name(b"Fm1"), FORM);
        drop(res);
        page.finish();
        if compress {
            let z = miniz_oxide::deflate::compress_to_vec_zlib(content, 6);
            pdf.stream(content_id, &z).filter(Filter::FlateDecode);
        } else {
            pdf.stream(content_id, content);
        }
    }
    pdf.type1_font(HELV)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(TIMES).base_font(Name(b"Times-Roman"));

    // A composite font whose glyph ids mean nothing; only the ToUnicode map tells.
    pdf.type0_font(TYPE0)
        .base_font(Name(b"ABCDEF+SomeSans"))
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(CIDFONT)
        .to_unicode(CMAP);
    pdf.cid_font(CIDFONT)
        .subtype(CidFontType::Type2)
        .base_font(Name(b"ABCDEF+SomeSans"))
        .system_info(SystemInfo {
            registry: Str(b"Adobe"),
            ordering: Str(b"Identity"),
            supplement: 0,
        })
        .default_width(600.0);
    let cmap = b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n\
        1 begincodespacerange <0000> <FFFF> endcodespacerange\n\
        5 beginbfchar <0001> <041F> <0002> <0440> <0003> <0020> <0004> <0438> <0005> <0442> endbfchar\n\
        2 beginbfrange <0010> <0014> <0432> <0020> <0021> [<D835DC00> <00660069>] endbfrange\n\
        endcmap CMapName currentdict /CMap defineresource pop end end";
    pdf.stream(CMAP, cmap);

    let mut custom = pdf.type1_font(CUSTOM);
    custom
        .base_font(Name(b"XYZABC+CMR10"))
        .first_char(65)
        .widths([700.0, 550.0, 500.0]);
    custom
        .encoding_custom()
        .differences()
        .consecutive(65, [Name(b"Aacute"), Name(b"fi"), Name(b"uni2014")]);
    custom.finish();

    let mut form_content = Content::new();
    form_content
        .begin_text()
        .set_font(Name(b"F1"), 10.0)
        .next_line(0.0, 0.0)
        .show(Str(b"inside form"))
        .end_text();
    let form_bytes = form_content.finish();
    let mut form = pdf.form_xobject(FORM, &form_bytes);
    form.bbox(Rect::new(0.0, 0.0, 300.0, 50.0));
    form.resources().fonts().pair(Name(b"F1"), HELV);
    form.finish();
    pdf.finish()
}

/// A page of text lines, each shown with Tj after a Td.
fn lines(font: &[u8], lines: &[&str]) -> Vec<u8> {
    let mut c = Content::new();
    c.begin_text()
        .set_font(Name(font), 12.0)
        .next_line(72.0, 760.0);
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            c.next_line(0.0, -14.0);
        }
        c.show(Str(line.as_bytes()));
    }
    c.end_text();
    c.finish().to_vec()
}

fn run(data: &[u8], limits: &Limits) -> (Result<Outcome, ExtractError>, Vec<String>) {
    let mut pages = Vec::new();
    let r = extract(data, limits, &mut |i, text| {
        assert_eq!(i as usize, pages.len());
        pages.push(text.to_string());
        ControlFlow::Continue(())
    });
    (r, pages)
}

fn texts(data: &[u8]) -> Vec<String> {
    let (r, pages) = run(data, &Limits::default());
    let outcome = r.expect("extraction succeeds");
    assert!(outcome.complete);
    assert_eq!(outcome.pages_extracted as usize, pages.len());
    pages
}

#[test]
fn standard_fonts_and_line_moves() {
    let data = document(
        &[
            lines(b"F1", &["Hello World", "Second line"]),
            lines(b"F2", &["Times page", "with two lines"]),
        ],
        false,
    );
    assert_eq!(
        texts(&data),
        ["Hello World\nSecond line", "Times page\nwith two lines"]
    );
}

#[test]
fn compressed_content_streams() {
    let data = document(&[lines(b"F1", &["Deflated text", "still readable"])], true);
    assert_eq!(texts(&data), ["Deflated text\nstill readable"]);
}

#[test]
fn tj_kerning_joins_and_wide_gaps_split() {
    let mut c = Content::new();
    c.begin_text()
        .set_font(Name(b"F2"), 11.0)
        .next_line(72.0, 700.0);
    c.show_positioned()
        .items()
        .show(Str(b"W"))
        .adjust(80.0)
        .show(Str(b"orld"))
        .adjust(-333.0)
        .show(Str(b"peace"));
    c.end_text();
    let data = document(&[c.finish().to_vec()], true);
    assert_eq!(texts(&data), ["World peace"]);
}

#[test]
fn positioned_words_get_spaces_from_widths() {
    // Each word placed on its own with Td, as many producers do: the gap between the
    // end of one word (from the Helvetica metrics) and the next one makes the space.
    let mut c = Content::new();
    c.begin_text().set_font(Name(b"F1"), 10.0);
    c.set_text_matrix([1.0, 0.0, 0.0, 1.0, 100.0, 500.0])
        .show(Str(b"Two"));
    c.set_text_matrix([1.0, 0.0, 0.0, 1.0, 124.0, 500.0])
        .show(Str(b"words"));
    c.set_text_matrix([1.0, 0.0, 0.0, 1.0, 153.5, 500.0])
        .show(Str(b"here"));
    c.end_text();
    let data = document(&[c.finish().to_vec()], false);
    assert_eq!(texts(&data), ["Two words here"]);
}

#[test]
fn type0_identity_h_through_to_unicode() {
    let mut c = Content::new();
    c.begin_text()
        .set_font(Name(b"F3"), 12.0)
        .next_line(72.0, 700.0);
    // П р и в е т, a space, then U+1D400 and the ligature "fi".
    c.show(Str(&[
        0, 1, 0, 2, 0, 4, 0, 0x10, 0, 0x13, 0, 5, 0, 3, 0, 0x20, 0, 0x21,
    ]));
    c.end_text();
    let data = document(&[c.finish().to_vec()], false);
    assert_eq!(texts(&data), ["Привет \u{1D400}fi"]);
}

#[test]
fn differences_with_glyph_names() {
    let mut c = Content::new();
    c.begin_text()
        .set_font(Name(b"F4"), 12.0)
        .next_line(72.0, 700.0);
    c.show(Str(b"ABC"));
    c.end_text();
    let data = document(&[c.finish().to_vec()], false);
    assert_eq!(texts(&data), ["\u{C1}\u{FB01}\u{2014}"]);
}

#[test]
fn form_xobjects_and_actual_text() {
    let mut c = Content::new();
    c.save_state()
        .transform([1.0, 0.0, 0.0, 1.0, 72.0, 600.0])
        .x_object(Name(b"Fm1"))
        .restore_state();
    c.begin_text()
        .set_font(Name(b"F1"), 12.0)
        .next_line(72.0, 500.0);
    c.begin_marked_content_with_properties(Name(b"Span"))
        .properties()
        .actual_text(pdf_writer::TextStr("replaced"));
    c.show(Str(b"xyz"));
    c.end_marked_content();
    c.end_text();
    let data = document(&[c.finish().to_vec()], false);
    assert_eq!(texts(&data), ["inside form\nreplaced"]);
}

fn three_pages() -> Vec<u8> {
    document(
        &[
            lines(b"F1", &["one"]),
            lines(b"F1", &["two"]),
            lines(b"F1", &["three"]),
        ],
        true,
    )
}

#[test]
fn max_pages_extracts_only_the_first_pages() {
    let limits = Limits {
        max_pages: Some(2),
        ..Limits::default()
    };
    let (r, pages) = run(&three_pages(), &limits);
    let o = r.unwrap();
    assert_eq!(pages, ["one", "two"]);
    assert_eq!((o.page_count, o.pages_extracted), (3, 2));
    assert!(o.complete);
}

#[test]
fn skip_if_pages_over_extracts_nothing() {
    let limits = Limits {
        skip_if_pages_over: Some(2),
        ..Limits::default()
    };
    let (r, pages) = run(&three_pages(), &limits);
    assert_eq!(r.unwrap_err().reason, Reason::TooManyPages);
    assert!(pages.is_empty());
    let limits = Limits {
        skip_if_pages_over: Some(3),
        ..Limits::default()
    };
    assert!(run(&three_pages(), &limits).0.is_ok());
}

#[test]
fn break_from_the_callback_stops_early() {
    let mut seen = 0;
    let o = extract(&three_pages(), &Limits::default(), &mut |_, _| {
        seen += 1;
        ControlFlow::Break(())
    })
    .unwrap();
    assert_eq!(seen, 1);
    assert_eq!((o.page_count, o.pages_extracted, o.complete), (3, 1, false));
}

#[test]
fn a_passed_deadline_is_a_timeout() {
    let limits = Limits {
        deadline: Some(Instant::now() - Duration::from_millis(1)),
        ..Limits::default()
    };
    let (r, pages) = run(&three_pages(), &limits);
    assert_eq!(r.unwrap_err().reason, Reason::Timeout);
    assert!(pages.is_empty());
}

#[test]
fn garbage_is_not_a_pdf() {
    for data in [&b""[..], b"hello, world", &[0xffu8; 4096], b"%PD"] {
        let (r, _) = run(data, &Limits::default());
        assert_eq!(r.unwrap_err().reason, Reason::NotPdf, "{data:?}");
    }
}

#[test]
fn truncated_files_fail_or_succeed_but_never_panic() {
    let data = three_pages();
    for cut in (0..data.len()).step_by(7) {
        let (r, _) = run(&data[..cut], &Limits::default());
        if let Err(e) = r {
            assert_ne!(e.reason, Reason::Panic, "cut at {cut}: {}", e.detail);
        }
    }
}

#[test]
fn corrupted_bytes_never_panic() {
    let data = three_pages();
    let mut state = 0x2545_F491u32;
    for _ in 0..300 {
        let mut d = data.clone();
        for _ in 0..8 {
            // xorshift: a fixed, reproducible sequence of positions and bytes.
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let i = state as usize % d.len();
            d[i] = (state >> 24) as u8;
        }
        if let Err(e) = run(&d, &Limits::default()).0 {
            assert_ne!(e.reason, Reason::Panic, "{}", e.detail);
        }
    }
}

/// A page whose objects all sit in object streams, repeated, with no usable xref: the
/// shape of the first cargo-fuzz finding (a qpdf test file mashed up; 2.1 s under the
/// fuzzer's instrumentation, 40 ms in release): the repair scan decodes every object
/// stream, and the bomb check counts each one. It must end, in order, with the text.
#[test]
fn fuzz_repair_through_many_object_streams() {
    let content = b"BT /F1 12 Tf 72 700 Td (Recovered) Tj ET";
    // The repair scan finds the catalog only outside object streams.
    let bodies = [
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /Contents 5 0 R /Resources << /Font << /F1 4 0 R >> >> >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ];
    let (mut header, mut body, mut offset) = (String::new(), String::new(), 0);
    for (i, b) in bodies.iter().enumerate() {
        header += &format!("{} {offset} ", i + 2);
        body += b;
        body += " ";
        offset += b.len() + 1;
    }
    let first = header.len();
    // Padding inflates each stream to 256 KB, cheap to store.
    let mut plain = (header + &body).into_bytes();
    plain.resize(256 << 10, b' ');
    let z = miniz_oxide::deflate::compress_to_vec_zlib(&plain, 6);
    let mut pdf = b"%PDF-1.5\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n".to_vec();
    for i in 0..16 {
        pdf.extend_from_slice(
            format!(
                "{} 0 obj\n<< /Type /ObjStm /N 3 /First {first} /Filter /FlateDecode /Length {} >>\nstream\n",
                10 + i,
                z.len()
            )
            .as_bytes(),
        );
        pdf.extend_from_slice(&z);
        pdf.extend_from_slice(b"\nendstream\nendobj\n");
    }
    pdf.extend_from_slice(
        format!(
            "5 0 obj\n<< /Length {} >>\nstream\n{}\nendstream\nendobj\nstartxref\n999999\n%%EOF\n",
            content.len(),
            std::str::from_utf8(content).unwrap()
        )
        .as_bytes(),
    );
    let start = Instant::now();
    let (r, pages) = run(&pdf, &Limits::default());
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(pages, vec!["Recovered".to_string()]);
}

/// Two pages drawing form 6 (page 2 twice), the form showing `form_text`.
fn pages_sharing_a_form(form_text: &str) -> Vec<u8> {
    use common::{assemble, stream};
    let page = |content: u32| {
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {content} 0 R \
             /Resources << /Font << /F1 5 0 R >> /XObject << /Fm 6 0 R >> >> >>"
        )
        .into_bytes()
    };
    let objects = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R 7 0 R] /Count 2 >>".to_vec(),
        page(4),
        stream("", b"/Fm Do"),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
        stream(
            "/Type /XObject /Subtype /Form /BBox [0 0 500 500] \
             /Resources << /Font << /F1 5 0 R >> >>",
            format!("BT /F1 12 Tf 72 700 Td ({form_text}) Tj ET").as_bytes(),
        ),
        page(8),
        stream("", b"/Fm Do 1 0 0 1 0 -100 cm /Fm Do"),
    ];
    assemble(&objects, "")
}

/// Issue 11: a form is decoded once per document and kept; what is kept never serves
/// another document, even one whose form has the same object number.
#[test]
fn a_form_kept_for_the_document_serves_every_page_and_no_other_document() {
    let mut extractor = worker::engine::Extractor::default();
    for text in ["first", "second"] {
        let mut pages = Vec::new();
        let outcome = extractor
            .extract(
                &pages_sharing_a_form(text),
                &Limits::default(),
                &mut |_, t| {
                    pages.push(t.to_string());
                    ControlFlow::Continue(())
                },
            )
            .unwrap();
        assert_eq!(outcome.pages_extracted, 2);
        assert_eq!(pages, [text.to_string(), format!("{text}\n{text}")]);
    }
}
