//! Fixtures for the classes of files where our text differed from MuPDF's (issue 11,
//! item 6). Each test builds a tiny document that has the trait and checks the text MuPDF
//! 1.28 (the reference of `../shared/tools/fidelity.py`) extracts from the same bytes.

use std::ops::ControlFlow;

use worker::engine::{Limits, extract};

// Each test binary uses a part of the shared helpers.
#[allow(dead_code)]
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

/// An appearance stream showing `text` in /F1 at 10 points.
fn appearance(text: &str, extra: &str) -> Vec<u8> {
    common::stream(
        &format!(
            "/Type /XObject /Subtype /Form /BBox [0 0 100 20] {extra} \
             /Resources << /Font << /F1 5 0 R >> >>"
        ),
        format!("BT /F1 10 Tf 2 5 Td ({text}) Tj ET").as_bytes(),
    )
}

#[test]
fn annotations_and_form_fields_are_read_from_their_appearance_streams_after_the_page() {
    // pdflib__fancy_fields, pdfcpu__russian, pypdf__SF424_page2: the values of form
    // fields and the text of FreeText annotations are drawn by appearance streams. MuPDF
    // reads them after the page's content: other annotations first, then the widgets of
    // named, typed fields; links, hidden ones and nameless widgets not at all. The form's
    // box is fitted to the annotation's rectangle, here scaled and rotated.
    let mut objects = one_page(
        "/Annots [6 0 R 7 0 R 8 0 R 9 0 R 10 0 R 11 0 R]",
        b"BT /F1 12 Tf 72 720 Td (Page text) Tj ET",
    );
    objects.extend([
        b"<< /Type /Annot /Subtype /Widget /FT /Tx /T (name) /Rect [72 600 272 640] \
          /AP << /N 12 0 R >> >>"
            .to_vec(),
        b"<< /Type /Annot /Subtype /FreeText /Rect [72 500 172 520] /AP << /N 13 0 R >> >>"
            .to_vec(),
        b"<< /Type /Annot /Subtype /Widget /FT /Tx /Rect [72 450 172 470] /AP << /N 14 0 R >> >>"
            .to_vec(),
        b"<< /Type /Annot /Subtype /Widget /FT /Tx /T (hidden) /F 2 /Rect [72 400 172 420] \
          /AP << /N 14 0 R >> >>"
            .to_vec(),
        b"<< /Type /Annot /Subtype /Widget /Parent 15 0 R /AS /On /Rect [72 350 92 370] \
          /AP << /N << /On 16 0 R /Off 17 0 R >> >> >>"
            .to_vec(),
        b"<< /Type /Annot /Subtype /Link /Rect [72 300 172 320] /AP << /N 14 0 R >> >>".to_vec(),
        appearance("Ada Lovelace", ""),
        appearance("Typed note", "/Matrix [0 1 -1 0 0 0]"),
        appearance("unnamed", ""),
        b"<< /FT /Btn /T (agree) >>".to_vec(),
        appearance("Yes", ""),
        appearance("No", ""),
    ]);
    assert_eq!(
        texts(&assemble(&objects, "")),
        ["Page text\nTyped note\nAda Lovelace\nYes"]
    );
}

/// A TrueType program of three empty glyphs named H, uni0069 and G21 in its post table
/// (format 2), reached from `codes` through one format-0 cmap subtable of `platform`
/// (platform id, encoding id). FreeType (MuPDF) and ttf-parser both read it.
fn truetype_program(platform: (u16, u16), codes: [u8; 3]) -> Vec<u8> {
    fn be(out: &mut Vec<u8>, values: &[(u64, usize)]) {
        for &(v, bytes) in values {
            out.extend_from_slice(&v.to_be_bytes()[8 - bytes..]);
        }
    }
    let glyphs = 4u64;
    let mut post = Vec::new();
    be(&mut post, &[(0x0002_0000, 4), (0, 4), (0xFF9C, 2), (50, 2)]);
    be(
        &mut post,
        &[(0, 4), (0, 4), (0, 4), (0, 4), (0, 4), (glyphs, 2)],
    );
    // .notdef, H (Macintosh name 43), then two names of the font's own.
    be(&mut post, &[(0, 2), (43, 2), (258, 2), (259, 2)]);
    post.extend_from_slice(b"\x07uni0069\x03G21");
    let mut cmap = Vec::new();
    be(
        &mut cmap,
        &[
            (0, 2),
            (1, 2),
            (platform.0 as u64, 2),
            (platform.1 as u64, 2),
        ],
    );
    be(&mut cmap, &[(12, 4), (0, 2), (262, 2), (0, 2)]);
    let mut ids = [0u8; 256];
    for (glyph, &code) in codes.iter().enumerate() {
        ids[code as usize] = glyph as u8 + 1;
    }
    cmap.extend_from_slice(&ids);
    let mut head = Vec::new();
    be(
        &mut head,
        &[(0x0001_0000, 4), (0x0001_0000, 4), (0, 4), (0x5F0F_3CF5, 4)],
    );
    be(
        &mut head,
        &[(0, 2), (1000, 2), (0, 8), (0, 8), (0, 2), (0, 2)],
    );
    be(
        &mut head,
        &[(1000, 2), (1000, 2), (0, 2), (8, 2), (2, 2), (0, 2), (0, 2)],
    );
    let mut hhea = Vec::new();
    be(
        &mut hhea,
        &[(0x0001_0000, 4), (800, 2), (0xFF38, 2), (0, 2), (1000, 2)],
    );
    be(
        &mut hhea,
        &[(0, 2), (0, 2), (1000, 2), (1, 2), (0, 2), (0, 2)],
    );
    be(
        &mut hhea,
        &[(0, 2), (0, 2), (0, 2), (0, 2), (0, 2), (glyphs, 2)],
    );
    let mut hmtx = Vec::new();
    let mut loca = Vec::new();
    for _ in 0..glyphs {
        be(&mut hmtx, &[(600, 2), (0, 2)]);
        be(&mut loca, &[(0, 2)]);
    }
    be(&mut loca, &[(0, 2)]);
    let mut maxp = Vec::new();
    be(
        &mut maxp,
        &[
            (0x0001_0000, 4),
            (glyphs, 2),
            (0, 8),
            (2, 2),
            (0, 8),
            (0, 8),
        ],
    );
    let tables: [(&[u8; 4], Vec<u8>); 8] = [
        (b"cmap", cmap),
        (b"glyf", vec![0, 0]),
        (b"head", head),
        (b"hhea", hhea),
        (b"hmtx", hmtx),
        (b"loca", loca),
        (b"maxp", maxp),
        (b"post", post),
    ];
    let mut font = Vec::new();
    be(
        &mut font,
        &[(0x0001_0000, 4), (8, 2), (64, 2), (3, 2), (64, 2)],
    );
    let mut offset = 12 + 16 * tables.len();
    let mut body = Vec::new();
    for (tag, data) in &tables {
        font.extend_from_slice(*tag);
        be(
            &mut font,
            &[
                (0, 4),
                ((offset + body.len()) as u64, 4),
                (data.len() as u64, 4),
            ],
        );
        body.extend_from_slice(data);
        body.resize(body.len().next_multiple_of(4), 0);
    }
    offset += body.len();
    font.extend_from_slice(&body);
    assert_eq!(font.len(), offset);
    font
}

/// A page showing `shown` in a TrueType font embedding `program`, without /Encoding or
/// /ToUnicode; `flags` for its descriptor.
fn truetype_page(program: &[u8], flags: u32, first: u8, shown: &[u8]) -> Vec<u8> {
    let mut content = b"BT /F1 12 Tf 72 720 Td (".to_vec();
    content.extend_from_slice(shown);
    content.extend_from_slice(b") Tj ET");
    let mut objects = one_page("", &content);
    objects[4] = format!(
        "<< /Type /Font /Subtype /TrueType /BaseFont /ABCDEF+Subset /FirstChar {first} \
         /LastChar {} /Widths [700 300 300] /FontDescriptor 6 0 R >>",
        first + 2
    )
    .into_bytes();
    objects.push(
        format!(
            "<< /Type /FontDescriptor /FontName /ABCDEF+Subset /Flags {flags} \
             /FontBBox [0 -200 1000 800] /ItalicAngle 0 /Ascent 800 /Descent -200 \
             /CapHeight 700 /StemV 80 /FontFile2 7 0 R >>"
        )
        .into_bytes(),
    );
    objects.push(common::stream(
        &format!("/Length1 {}", program.len()),
        program,
    ));
    assemble(&objects, "")
}

#[test]
fn truetype_fonts_without_to_unicode_are_read_through_their_cmap_and_post_tables() {
    // A subset whose codes 1, 2, 3 mean nothing but through the program: its (3,0) cmap
    // takes them to glyphs, and the post table names the glyphs. MuPDF reads "Hi!".
    let program = truetype_program((3, 0), [1, 2, 3]);
    assert_eq!(
        texts(&truetype_page(&program, 4, 1, b"\x01\x02\x03")),
        ["Hi!"]
    );
    // Not symbolic, no /Encoding: the codes go through the (3,1) subtable as Unicode;
    // the glyph names win over WinAnsi's reading of the codes (MuPDF: "Hi!").
    let program = truetype_program((3, 1), [b'A', b'B', b'C']);
    assert_eq!(texts(&truetype_page(&program, 32, b'A', b"ABC")), ["Hi!"]);
}

#[test]
fn text_outside_the_crop_box_is_not_page_text() {
    // pdfcpu__TheGoProgrammingLanguageCh1, pdfminer__i1040nr: a footer or a job ticket
    // beyond the crop box, inside the media box. MuPDF reads the visible page only.
    let objects = one_page(
        "/CropBox [0 0 300 842]",
        b"BT /F1 12 Tf 72 720 Td (Inside) Tj 300 0 Td (Outside) Tj ET",
    );
    assert_eq!(texts(&assemble(&objects, "")), ["Inside"]);
}
