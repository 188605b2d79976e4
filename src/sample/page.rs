//! The content stream of each kind of page.

use pdf_writer::{Content, Name, Str};

use super::text::{
    Rng, WORDS, capitalize, chars_per_line, heading, paragraph, sentence, winansi, wrap,
};

/// Resource name and standard-14 base font. Every page lists them all.
pub(super) const FONTS: &[(&str, &str)] = &[
    ("F1", "Helvetica"),
    ("F2", "Helvetica-Bold"),
    ("F3", "Times-Roman"),
    ("F4", "Times-Italic"),
    ("F5", "Courier"),
    ("F6", "Times-Bold"),
];

const HELVETICA: Name = Name(b"F1");
const HELVETICA_BOLD: Name = Name(b"F2");
const TIMES: Name = Name(b"F3");
const TIMES_ITALIC: Name = Name(b"F4");
const COURIER: Name = Name(b"F5");
const TIMES_BOLD: Name = Name(b"F6");

#[rustfmt::skip]
pub(super) const REGIONS: &[&str] = &[
    "Zürich", "Köln", "Málaga", "Øresund", "São Paulo", "Montréal", "Reykjavík", "Kraków",
    "Lyon", "Porto",
];

#[rustfmt::skip]
pub(super) const ITEMS: &[&str] = &[
    "Crème brûlée", "Café crème", "Jalapeño salsa", "Smörgåsbord set", "Rösti", "Piñata",
    "Gâteau", "Würstchen", "Açaí bowl", "Pâté", "Soufflé", "Crêpe",
];

const MARGIN: f32 = 72.0;
const FOOTER_Y: f32 = 36.0;
/// Text stops above this line, clear of the footer.
const BOTTOM: f32 = 64.0;

/// Where a page's content goes and what it shows around it.
pub(super) struct PageFrame<'a> {
    pub(super) width: f32,
    pub(super) height: f32,
    pub(super) title: &'a str,
    pub(super) number: u32,
    pub(super) pages: u32,
}

impl PageFrame<'_> {
    fn text_width(&self) -> f32 {
        self.width - 2.0 * MARGIN
    }

    fn top(&self) -> f32 {
        self.height - MARGIN
    }
}

/// Kerning as typesetting software emits it: a few classic pairs pulled together.
fn kerning(a: char, b: char) -> Option<f32> {
    match (a, b) {
        ('T', 'o' | 'a' | 'e' | 'r' | 'h') => Some(74.0),
        ('V' | 'W', 'a' | 'e' | 'o') => Some(60.0),
        ('A', 'V' | 'W' | 'T' | 'v' | 'w' | 'y') => Some(55.0),
        ('f', 'f' | 'i') | ('r', '.' | ',') => Some(18.0),
        _ => None,
    }
}

/// Shows `line` with one `TJ`: kerned pairs, and with `stretch` (thousandths of an em,
/// negative widens) after every space to justify it.
fn show_positioned(content: &mut Content, line: &str, stretch: f32) {
    let mut op = content.show_positioned();
    let mut items = op.items();
    let chars: Vec<char> = line.chars().collect();
    let mut segment = String::new();
    for (i, &c) in chars.iter().enumerate() {
        segment.push(c);
        let adjust = match chars.get(i + 1) {
            Some(_) if c == ' ' && stretch != 0.0 => Some(stretch),
            Some(&next) => kerning(c, next),
            None => None,
        };
        if let Some(amount) = adjust {
            items.show(Str(&winansi(&segment)));
            items.adjust(amount);
            segment.clear();
        }
    }
    if !segment.is_empty() {
        items.show(Str(&winansi(&segment)));
    }
}

fn show(content: &mut Content, text: &str) {
    content.show(Str(&winansi(text)));
}

/// Stretch that fills a line of `len` characters out to `max` (at most a third of a space
/// extra per gap, as justification engines cap it).
fn justify_stretch(line: &str, max: usize) -> f32 {
    let len = line.chars().count();
    let gaps = line.matches(' ').count();
    if gaps == 0 || len >= max {
        return 0.0;
    }
    let missing_em = (max - len) as f32 * 0.45;
    -(missing_em * 1000.0 / gaps as f32).min(330.0)
}

fn running_header(content: &mut Content, frame: &PageFrame) {
    content.begin_text();
    content.set_font(TIMES_ITALIC, 9.0);
    content.set_text_matrix([1.0, 0.0, 0.0, 1.0, MARGIN, frame.height - 40.0]);
    show(content, frame.title);
    content.end_text();
}

fn footer(content: &mut Content, frame: &PageFrame) {
    let label = format!("Page {} of {}", frame.number, frame.pages);
    content.begin_text();
    content.set_font(HELVETICA, 9.0);
    content.set_text_matrix([1.0, 0.0, 0.0, 1.0, frame.width / 2.0 - 24.0, FOOTER_Y]);
    show(content, &label);
    content.end_text();
}

/// A heading and paragraphs in Times, with the first line of each paragraph kerned.
/// Lines advance with `T*` (and `'`) after a `TL`; paragraphs are separated with `TD`.
pub(super) fn prose_page(
    content: &mut Content,
    frame: &PageFrame,
    rng: &mut Rng,
    title: Option<&str>,
) {
    const SIZE: f32 = 11.0;
    const LEADING: f32 = 13.5;
    const PARAGRAPH_GAP: f32 = 20.0;
    let max_chars = chars_per_line(frame.text_width(), SIZE, 0.45);
    let head = title.map_or_else(|| heading(rng, frame.number), str::to_string);

    running_header(content, frame);
    content.begin_text();
    content.set_font(HELVETICA_BOLD, if title.is_some() { 20.0 } else { 15.0 });
    content.next_line(MARGIN, frame.top());
    show(content, &head);
    content.set_font(TIMES, SIZE);
    content.set_leading(LEADING);
    content.next_line(0.0, -30.0);

    let mut y = frame.top() - 30.0;
    'page: while y >= BOTTOM {
        if rng.chance(12) {
            content.set_font(TIMES_BOLD, 12.0);
            show(content, &capitalize(rng.pick(WORDS)));
            content.set_font(TIMES, SIZE);
            content.next_line_using_leading();
            y -= LEADING;
        }
        let lines = wrap(&paragraph(rng), max_chars);
        for (i, line) in lines.iter().enumerate() {
            if y < BOTTOM {
                break 'page;
            }
            match i {
                0 => show_positioned(content, line, 0.0),
                _ if i % 4 == 3 => {
                    content.next_line_show(Str(&winansi(line)));
                }
                _ => {
                    content.next_line_using_leading();
                    show(content, line);
                }
            }
            if i > 0 {
                y -= LEADING;
            }
        }
        // TD also sets the leading to the gap, so it is restored right after.
        content.next_line_and_set_leading(0.0, -PARAGRAPH_GAP);
        content.set_leading(LEADING);
        y -= PARAGRAPH_GAP;
    }
    content.end_text();
    footer(content, frame);
}

/// The running header and a 14 pt bold heading at the top of the text area.
fn headed_page(content: &mut Content, frame: &PageFrame, rng: &mut Rng) {
    running_header(content, frame);
    content.begin_text();
    content.set_font(HELVETICA_BOLD, 14.0);
    content.next_line(MARGIN, frame.top());
    show(content, &heading(rng, frame.number));
    content.end_text();
}

/// Two justified columns in Times 10 under a full-width heading, with a rule between them.
pub(super) fn two_column_page(content: &mut Content, frame: &PageFrame, rng: &mut Rng) {
    const SIZE: f32 = 10.0;
    const LEADING: f32 = 12.0;
    const GUTTER: f32 = 24.0;
    let column_width = (frame.text_width() - GUTTER) / 2.0;
    let max_chars = chars_per_line(column_width, SIZE, 0.45);
    let top = frame.top() - 32.0;

    headed_page(content, frame, rng);

    let rule_x = MARGIN + column_width + GUTTER / 2.0;
    content.set_line_width(0.5);
    content.move_to(rule_x, top + 8.0);
    content.line_to(rule_x, BOTTOM);
    content.stroke();

    for column in 0..2 {
        let x = MARGIN + column as f32 * (column_width + GUTTER);
        content.begin_text();
        content.set_font(TIMES, SIZE);
        content.set_leading(LEADING);
        content.next_line(x, top);
        column_text(content, rng, top, max_chars, LEADING);
        content.end_text();
    }
    footer(content, frame);
}

/// Fills one column down to the bottom margin with justified paragraphs.
fn column_text(content: &mut Content, rng: &mut Rng, top: f32, max_chars: usize, leading: f32) {
    let mut y = top;
    let mut first = true;
    while y > BOTTOM {
        let lines = wrap(&paragraph(rng), max_chars);
        for (i, line) in lines.iter().enumerate() {
            if y < BOTTOM {
                return;
            }
            if !first {
                content.next_line_using_leading();
                y -= leading;
            }
            first = false;
            let last = i + 1 == lines.len();
            let stretch = if last {
                0.0
            } else {
                justify_stretch(line, max_chars)
            };
            show_positioned(content, line, stretch);
        }
        // An empty line between paragraphs, as many two-column layouts do.
        content.next_line(0.0, -leading / 2.0);
        y -= leading / 2.0;
    }
}

/// A price table: shaded alternate rows, a bold header, names in Helvetica and figures in
/// Courier, cells placed with relative `Td` moves, then an italic note.
pub(super) fn table_page(content: &mut Content, frame: &PageFrame, rng: &mut Rng) {
    const HEADERS: [&str; 5] = ["Item", "Region", "Units", "Price (€)", "Change"];
    const WEIGHTS: [f32; 5] = [150.0, 110.0, 60.0, 80.0, 60.0];
    const ROW: f32 = 16.0;
    let scale = frame.text_width() / WEIGHTS.iter().sum::<f32>();
    let widths = WEIGHTS.map(|w| w * scale);
    let rows = rng.range(18, 28);
    let top = frame.top() - 36.0;

    headed_page(content, frame, rng);

    shade_rows(content, frame, top, rows);

    content.begin_text();
    content.set_font(HELVETICA_BOLD, 9.5);
    content.next_line(MARGIN + 4.0, top);
    let row_width: f32 = widths[..4].iter().sum();
    for (header, width) in HEADERS.iter().zip(widths) {
        show(content, header);
        content.next_line(width, 0.0);
    }
    content.next_line(-row_width - widths[4], -ROW);
    for _ in 0..rows {
        let cells = table_row(rng);
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            // Names in Helvetica, figures in Courier; Tf only where the font changes.
            if i == 0 {
                content.set_font(HELVETICA, 9.0);
            } else if i == 2 {
                content.set_font(COURIER, 9.0);
            }
            show(content, cell);
            if i < 4 {
                content.next_line(width, 0.0);
            }
        }
        content.next_line(-row_width, -ROW);
    }
    content.end_text();

    let note_y = top - (rows as f32 + 2.0) * ROW;
    if note_y > BOTTOM {
        content.begin_text();
        content.set_font(TIMES_ITALIC, 9.0);
        content.set_leading(11.0);
        content.next_line(MARGIN, note_y);
        let max_chars = chars_per_line(frame.text_width(), 9.0, 0.42);
        for line in wrap(&format!("Note: {}", sentence(rng)), max_chars) {
            show(content, &line);
            content.next_line_using_leading();
        }
        content.end_text();
    }
    footer(content, frame);
}

fn shade_rows(content: &mut Content, frame: &PageFrame, top: f32, rows: usize) {
    const ROW: f32 = 16.0;
    content.set_fill_gray(0.92);
    for row in (1..=rows).step_by(2) {
        let y = top - row as f32 * ROW - 4.0;
        content.rect(MARGIN, y, frame.text_width(), ROW);
    }
    content.fill_nonzero();
    content.set_fill_gray(0.0);
    content.set_line_width(0.75);
    content.move_to(MARGIN, top - 5.0);
    content.line_to(MARGIN + frame.text_width(), top - 5.0);
    content.stroke();
}

fn table_row(rng: &mut Rng) -> [String; 5] {
    let sign = if rng.chance(40) { "–" } else { "+" };
    [
        rng.pick(ITEMS).to_string(),
        rng.pick(REGIONS).to_string(),
        rng.range(1, 4999).to_string(),
        format!("{}.{:02}", rng.range(1, 999), rng.range(0, 99)),
        format!("{sign}{}.{}%", rng.range(0, 12), rng.range(0, 9)),
    ]
}
