//! Fixtures for the classes of files where our text differed from MuPDF's (issue 11,
//! item 6). Each test builds a tiny document that has the trait and checks the text MuPDF
//! 1.28 (the reference of `../shared/tools/fidelity.py`) extracts from the same bytes.

use std::ops::ControlFlow;

use worker::engine::{Limits, extract};

mod common;
use common::{assemble, one_page};

/// The text of every page; the document must open.
fn texts(data: &[u8]) -> Vec<String> {
    let mut pages = Vec::new();
    extract(data, &Limits::default(), &mut |_, text| {
        pages.push(text.to_string());
        ControlFlow::Continue(())
    })
    .expect("the fixture opens");
    pages
}

/// A one-page document whose /F1 is `font` (object 5), drawing `content`.
fn with_font(font: &str, content: &[u8]) -> Vec<u8> {
    let mut objects = one_page("", content);
    objects[4] = font.as_bytes().to_vec();
    assemble(&objects, "")
}

#[test]
fn glyph_names_beyond_the_glyph_list_read_as_mupdf_reads_them() {
    // smalot__Issue33, caly-issues-58-2: Windows printer drivers name subset glyphs
    // G<hex> (a byte of code page 437) or g<hex> (a glyph index in the Macintosh order);
    // TeX's fonts use names the AGL lacks (cmsy's /prime, musixtex's /sharp).
    let font = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding << /Differences \
                [1 /G48 /G69 /G82 /g2B /g4C /prime /sharp /GEA 122 /nosuch] >> >>";
    let content = b"BT /F1 12 Tf 72 720 Td (\x01\x02\x03 \x04\x05 a\x06 \x07 \x08 z) Tj ET";
    // An unknown name is its code, as MuPDF reads it.
    assert_eq!(
        texts(&with_font(font, content)),
        ["Hi\u{e9} Hi a\u{2032} \u{266f} \u{3a9} z"]
    );
}

#[test]
fn fake_bold_drawn_twice_is_read_once() {
    // Fake bold: each glyph drawn again a fraction of a point to the side. MuPDF keeps
    // the second copy out (same character, origin within 0.1 em); a word drawn twice by
    // two text objects it reads twice, and so do we.
    let content = b"BT /F1 12 Tf 72 720 Td (B) Tj 0.4 0.2 Td (B) Tj 7.6 -0.2 Td (o) Tj \
        0.4 0 Td (o) Tj 6.27 0 Td (l) Tj 0.4 0 Td (l) Tj 2.27 0 Td (d) Tj 0.4 0 Td (d) Tj ET \
        BT /F1 12 Tf 72 700 Td (twice) Tj ET BT /F1 12 Tf 72.3 700 Td (twice) Tj ET";
    let objects = one_page("", content);
    assert_eq!(texts(&assemble(&objects, "")), ["Bold\ntwice\ntwice"]);
}
