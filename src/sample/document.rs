//! What each file of the corpus holds, and how it is assembled into a PDF.

use pdf_writer::{Content, Date, Filter, Finish, Name, Pdf, Rect, Ref, TextStr};

use super::page::{FONTS, PageFrame, prose_page, table_page, two_column_page};
use super::text::Rng;

/// The recipe of one file.
pub(super) struct DocSpec {
    pub(super) file: &'static str,
    pub(super) title: &'static str,
    pub(super) author: &'static str,
    pub(super) subject: &'static str,
    pub(super) pages: u32,
    /// FlateDecode content streams, or plain ones: real corpora hold both, and inflating
    /// is a real part of the engine's cost.
    pub(super) compressed: bool,
    size: PageSize,
    /// Page layouts, repeated in this order from the second page on.
    layouts: &'static [Layout],
}

#[derive(Debug, Clone, Copy)]
enum PageSize {
    Letter,
    A4,
}

impl PageSize {
    fn points(self) -> (f32, f32) {
        match self {
            PageSize::Letter => (612.0, 792.0),
            PageSize::A4 => (595.28, 841.89),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    Prose,
    TwoColumn,
    Table,
}

use Layout::{Prose, Table, TwoColumn};

pub(super) const FULL: &[DocSpec] = &[
    DocSpec {
        file: "01-annual-report.pdf",
        title: "Annual Report – Fiscal Year in Review",
        author: "Finance Office",
        subject: "Results, outlook and regional figures",
        pages: 36,
        compressed: true,
        size: PageSize::Letter,
        layouts: &[Prose, Prose, Table, Prose, TwoColumn],
    },
    DocSpec {
        file: "02-field-guide.pdf",
        title: "Field Guide to Alpine Flora",
        author: "Léa Moreau",
        subject: "Identification notes",
        pages: 24,
        compressed: false,
        size: PageSize::A4,
        layouts: &[Prose, TwoColumn],
    },
    DocSpec {
        file: "03-meeting-minutes.pdf",
        title: "Minutes of the Steering Committee",
        author: "Secretariat",
        subject: "Decisions and actions",
        pages: 12,
        compressed: true,
        size: PageSize::A4,
        layouts: &[Prose],
    },
    DocSpec {
        file: "04-technical-manual.pdf",
        title: "Technical Manual: Installation and Maintenance",
        author: "Engineering Documentation",
        subject: "Procedures and reference tables",
        pages: 48,
        compressed: true,
        size: PageSize::Letter,
        layouts: &[Prose, Prose, Table],
    },
    DocSpec {
        file: "05-novella.pdf",
        title: "The Café on the Øresund",
        author: "Jürgen Åkesson",
        subject: "Fiction",
        pages: 40,
        compressed: false,
        size: PageSize::A4,
        layouts: &[Prose],
    },
    DocSpec {
        file: "06-price-list.pdf",
        title: "Wholesale Price List",
        author: "Sales Department",
        subject: "Prices in euro (€)",
        pages: 20,
        compressed: false,
        size: PageSize::Letter,
        layouts: &[Table, Table, Prose],
    },
    DocSpec {
        file: "07-research-paper.pdf",
        title: "On the Scaling of Parallel Text Extraction",
        author: "M. Núñez and S. Kowalski",
        subject: "Preprint",
        pages: 30,
        compressed: true,
        size: PageSize::Letter,
        layouts: &[TwoColumn, TwoColumn, Table, TwoColumn],
    },
    DocSpec {
        file: "08-travel-journal.pdf",
        title: "Travel Journal: Zürich to Málaga",
        author: "Chloé Brontë",
        subject: "Notes from the road",
        pages: 28,
        compressed: false,
        size: PageSize::A4,
        layouts: &[Prose, Prose, TwoColumn],
    },
    DocSpec {
        file: "09-policy-handbook.pdf",
        title: "Staff Policy Handbook",
        author: "Human Resources",
        subject: "Policies and procedures",
        pages: 32,
        compressed: true,
        size: PageSize::Letter,
        layouts: &[Prose, Prose, Prose, Table],
    },
    DocSpec {
        file: "10-newsletter.pdf",
        title: "Community Newsletter — Spring Edition",
        author: "Editorial Team",
        subject: "News and events",
        pages: 30,
        compressed: false,
        size: PageSize::A4,
        layouts: &[TwoColumn, TwoColumn, Prose],
    },
];

pub(super) const SMALL: &[DocSpec] = &[
    DocSpec {
        file: "01-small-report.pdf",
        title: "Quarterly Report – Summary",
        author: "Finance Office",
        subject: "Small sample",
        pages: 4,
        compressed: true,
        size: PageSize::Letter,
        layouts: &[Table, TwoColumn],
    },
    DocSpec {
        file: "02-small-letter.pdf",
        title: "A Letter from Zürich",
        author: "Chloé Brontë",
        subject: "Small sample",
        pages: 5,
        compressed: false,
        size: PageSize::A4,
        layouts: &[Prose, Table],
    },
    DocSpec {
        file: "03-small-paper.pdf",
        title: "Notes on Kerning",
        author: "M. Núñez",
        subject: "Small sample",
        pages: 3,
        compressed: true,
        size: PageSize::Letter,
        layouts: &[TwoColumn],
    },
];

/// Hands out object numbers in order, so that the layout of every file is reproducible.
struct Refs(i32);

impl Refs {
    fn next(&mut self) -> Ref {
        self.0 += 1;
        Ref::new(self.0)
    }
}

/// Documents longer than this get an intermediate level in their page tree, as long
/// documents from real producers do (ISO 32000-1 §7.7.3.2).
const FLAT_TREE_MAX: u32 = 20;
const TREE_FANOUT: usize = 10;

pub(super) fn build_pdf(doc: &DocSpec) -> Vec<u8> {
    let mut refs = Refs(0);
    let catalog_id = refs.next();
    let root_id = refs.next();
    let info_id = refs.next();
    let font_ids: Vec<Ref> = FONTS.iter().map(|_| refs.next()).collect();
    let page_ids: Vec<Ref> = (0..doc.pages).map(|_| refs.next()).collect();

    let mut pdf = Pdf::new();
    pdf.catalog(catalog_id).pages(root_id);
    write_info(&mut pdf, info_id, doc);
    for ((_, base), &id) in FONTS.iter().zip(&font_ids) {
        pdf.type1_font(id)
            .base_font(Name(base.as_bytes()))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    let parents = write_page_tree(&mut pdf, &mut refs, root_id, &page_ids);

    let (width, height) = doc.size.points();
    let mut rng = Rng::for_file(doc.file);
    for (i, (&page_id, &parent)) in page_ids.iter().zip(&parents).enumerate() {
        let frame = PageFrame {
            width,
            height,
            title: doc.title,
            number: i as u32 + 1,
            pages: doc.pages,
        };
        let content = render_page(doc, &frame, &mut rng, i);
        let content_id = refs.next();
        write_page(&mut pdf, page_id, parent, content_id, &font_ids, &frame);
        write_content(&mut pdf, content_id, &content, doc.compressed);
    }
    pdf.finish()
}

fn write_info(pdf: &mut Pdf, id: Ref, doc: &DocSpec) {
    // A fixed date: the bytes must not depend on when the corpus was written.
    let date = Date::new(2024)
        .month(3)
        .day(14)
        .hour(9)
        .minute(26)
        .second(53)
        .utc_offset_hour(0);
    pdf.document_info(id)
        .title(TextStr(doc.title))
        .author(TextStr(doc.author))
        .subject(TextStr(doc.subject))
        .creator(TextStr("distributed-benchmark sample corpus"))
        .producer(TextStr("pdf-writer"))
        .creation_date(date);
}

/// Writes the page tree and returns each page's parent.
fn write_page_tree(pdf: &mut Pdf, refs: &mut Refs, root: Ref, pages: &[Ref]) -> Vec<Ref> {
    let count = pages.len() as i32;
    if pages.len() <= FLAT_TREE_MAX as usize {
        pdf.pages(root).kids(pages.iter().copied()).count(count);
        return vec![root; pages.len()];
    }
    let mut parents = Vec::with_capacity(pages.len());
    let mut nodes = Vec::new();
    for group in pages.chunks(TREE_FANOUT) {
        let node = refs.next();
        pdf.pages(node)
            .parent(root)
            .kids(group.iter().copied())
            .count(group.len() as i32);
        parents.extend(std::iter::repeat_n(node, group.len()));
        nodes.push(node);
    }
    pdf.pages(root).kids(nodes).count(count);
    parents
}

fn render_page(doc: &DocSpec, frame: &PageFrame, rng: &mut Rng, index: usize) -> Vec<u8> {
    let mut content = Content::new();
    if index == 0 {
        prose_page(&mut content, frame, rng, Some(doc.title));
    } else {
        match doc.layouts[(index - 1) % doc.layouts.len()] {
            Prose => prose_page(&mut content, frame, rng, None),
            TwoColumn => two_column_page(&mut content, frame, rng),
            Table => table_page(&mut content, frame, rng),
        }
    }
    content.finish().into_vec()
}

fn write_page(
    pdf: &mut Pdf,
    id: Ref,
    parent: Ref,
    contents: Ref,
    fonts: &[Ref],
    frame: &PageFrame,
) {
    let mut page = pdf.page(id);
    page.parent(parent)
        .media_box(Rect::new(0.0, 0.0, frame.width, frame.height))
        .contents(contents);
    let mut resources = page.resources();
    let mut dict = resources.fonts();
    for ((key, _), &font) in FONTS.iter().zip(fonts) {
        dict.pair(Name(key.as_bytes()), font);
    }
    dict.finish();
    resources.finish();
    page.finish();
}

fn write_content(pdf: &mut Pdf, id: Ref, content: &[u8], compressed: bool) {
    if compressed {
        // zlib framing, as FlateDecode expects (ISO 32000-1 §7.4.4).
        let deflated = miniz_oxide::deflate::compress_to_vec_zlib(content, 6);
        pdf.stream(id, &deflated).filter(Filter::FlateDecode);
    } else {
        pdf.stream(id, content);
    }
}
