//! Turns positioned glyphs into lines of text, in the order they are drawn.
//!
//! A new line starts when the baseline moves by more than half the font size or the
//! writing direction changes; a space is inserted when the gap to the previous glyph
//! exceeds a fraction of the font size (or the pen jumps back along the line). Positions
//! are in device space, so rotated and scaled text works alike.

/// Where a glyph sits, in device space.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GlyphPos {
    /// The glyph origin (on the baseline).
    pub origin: (f64, f64),
    /// Where the pen is after the glyph (origin + advance, without char/word spacing).
    pub end: (f64, f64),
    /// Unit vector of the writing direction.
    pub dir: (f64, f64),
    /// Font size in device units (the em height).
    pub size: f64,
}

/// A gap wider than this many ems reads as a word break. TeX's inter-word space is
/// about 0.33 em, kerning inside words rarely passes 0.1 em.
const SPACE_GAP: f64 = 0.15;
/// The same, next to a Chinese or Japanese character.
const CJK_SPACE_GAP: f64 = 1.0;
/// A baseline shift of more than this many ems starts a new line (superscripts move
/// by about 0.3 to 0.4 em and stay on the line).
const LINE_SHIFT: f64 = 0.5;
/// Moving back by more than this many ems on the same baseline reads as a break too.
const BACK_JUMP: f64 = 0.5;

#[derive(Debug, Clone, Copy)]
struct Last {
    end: (f64, f64),
    dir: (f64, f64),
    size: f64,
}

/// Accumulates the text of one page.
#[derive(Debug, Default)]
pub struct TextBuilder {
    text: String,
    last: Option<Last>,
    /// Where the current line starts in `text`.
    line_start: usize,
    /// Whether the current line holds right-to-left letters (see [`logical_order`]).
    line_rtl: bool,
    scratch: Vec<char>,
}

impl TextBuilder {
    pub fn clear(&mut self) {
        self.text.clear();
        self.last = None;
        self.line_start = 0;
        self.line_rtl = false;
    }

    /// The page text so far, without trailing whitespace.
    pub fn finish(&mut self) -> &str {
        self.end_line();
        let n = self.text.trim_end().len();
        self.text.truncate(n);
        &self.text
    }

    pub fn len(&self) -> usize {
        self.text.len()
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Adds the text of one glyph (possibly empty when its code maps to nothing).
    pub fn push(&mut self, text: &str, g: &GlyphPos) {
        if let Some(l) = self.last {
            let (dx, dy) = (g.origin.0 - l.end.0, g.origin.1 - l.end.1);
            let along = dx * l.dir.0 + dy * l.dir.1;
            let across = dy * l.dir.0 - dx * l.dir.1;
            let same_dir = g.dir.0 * l.dir.0 + g.dir.1 * l.dir.1 > 0.9;
            let size = l.size.max(g.size).max(1e-6);
            if !same_dir || across.abs() > LINE_SHIFT * size {
                self.newline();
            } else if (along > self.gap_for(text) * size || along < -BACK_JUMP * size)
                && !text.is_empty()
            {
                self.space();
            }
        }
        if text.chars().all(char::is_whitespace) {
            if !text.is_empty() {
                self.space();
            }
        } else {
            self.line_rtl |= !text.is_ascii() && text.chars().any(is_rtl);
            self.text.push_str(text);
        }
        self.last = Some(Last {
            end: g.end,
            dir: g.dir,
            size: g.size,
        });
    }

    /// The gap (in ems) that reads as a word break before `next`. Chinese and Japanese
    /// put no spaces between words: a gap between two ideographs or kana is layout
    /// (spaced-out headings), unless it is wide. Next to digits or Latin it still counts
    /// (table columns).
    fn gap_for(&self, next: &str) -> f64 {
        let prev = self.text.chars().next_back();
        let next = next.chars().next();
        if prev.is_some_and(is_cjk) && next.is_some_and(is_cjk) {
            CJK_SPACE_GAP
        } else {
            SPACE_GAP
        }
    }

    /// Adds text that has no position of its own (e.g. /ActualText); it follows the
    /// previous glyph directly.
    pub fn push_unpositioned(&mut self, text: &str) {
        self.text.push_str(text);
    }

    fn space(&mut self) {
        if !self.text.is_empty() && !self.text.ends_with(char::is_whitespace) {
            self.text.push(' ');
        }
    }

    pub fn newline(&mut self) {
        self.end_line();
        let n = self.text.trim_end_matches([' ', '\t']).len();
        self.text.truncate(n);
        if !self.text.is_empty() && !self.text.ends_with('\n') {
            self.text.push('\n');
        }
        self.line_start = self.text.len();
    }

    /// Puts a line with right-to-left letters into logical order.
    fn end_line(&mut self) {
        if self.line_rtl {
            self.line_rtl = false;
            let start = self.line_start.min(self.text.len());
            self.scratch.clear();
            self.scratch.extend(self.text[start..].chars());
            logical_order(&mut self.scratch);
            self.text.truncate(start);
            self.text.extend(self.scratch.iter());
        }
        self.line_start = self.text.len();
    }
}

/// Hebrew, Arabic, Syriac, Thaana, NKo, Samaritan ... and their presentation forms.
fn is_rtl(c: char) -> bool {
    matches!(c as u32, 0x0590..=0x08FF | 0xFB1D..=0xFDFF | 0xFE70..=0xFEFF | 0x10800..=0x10FFF | 0x1E800..=0x1EFFF)
}

/// Han ideographs, kana and CJK punctuation: scripts written without word spaces.
fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3000..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF
        | 0xFF00..=0xFF60 | 0x20000..=0x3FFFF)
}

/// Combining marks of the right-to-left scripts (Hebrew points, Arabic harakat).
fn is_rtl_mark(c: char) -> bool {
    matches!(c as u32, 0x0591..=0x05BD | 0x05BF | 0x05C1..=0x05C2 | 0x05C4..=0x05C5 | 0x05C7
        | 0x0610..=0x061A | 0x064B..=0x065F | 0x0670 | 0x06D6..=0x06DC | 0x06DF..=0x06E4
        | 0x06E7..=0x06E8 | 0x06EA..=0x06ED)
}

/// Glyphs come in drawing order, left to right on the page; right-to-left text is read
/// the other way (Unicode Bidirectional Algorithm, UAX #9, much simplified: a line with
/// right-to-left letters is taken as a right-to-left paragraph). The line is reversed,
/// then runs of left-to-right letters and digits (with the neutrals between them) are
/// turned back, and marks put back after their base letter.
fn logical_order(line: &mut [char]) {
    line.reverse();
    let ltr = |c: char| c.is_alphanumeric() && !is_rtl(c);
    let mut i = 0;
    while i < line.len() {
        if !ltr(line[i]) {
            i += 1;
            continue;
        }
        let start = i;
        let mut end = i + 1;
        let mut j = i + 1;
        while j < line.len() && !is_rtl(line[j]) {
            if ltr(line[j]) {
                end = j + 1;
            }
            j += 1;
        }
        line[start..end].reverse();
        i = end;
    }
    // Reversed, a base letter follows its marks: move it before them.
    let mut i = 0;
    while i < line.len() {
        if is_rtl_mark(line[i]) {
            let start = i;
            while i < line.len() && is_rtl_mark(line[i]) {
                i += 1;
            }
            if i < line.len() {
                line[start..=i].rotate_right(1);
            }
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(x: f64, y: f64, w: f64) -> GlyphPos {
        GlyphPos {
            origin: (x, y),
            end: (x + w, y),
            dir: (1.0, 0.0),
            size: 10.0,
        }
    }

    #[test]
    fn gaps_make_spaces_and_baselines_make_lines() {
        let mut t = TextBuilder::default();
        t.push("a", &at(0.0, 100.0, 5.0));
        t.push("b", &at(5.2, 100.0, 5.0)); // kerning-sized gap: same word
        t.push("c", &at(13.0, 100.0, 5.0)); // 0.28 em gap: a space
        t.push("d", &at(0.0, 88.0, 5.0)); // next line
        t.push("e", &at(5.0, 103.0, 5.0)); // superscript-sized shift
        assert_eq!(t.finish(), "ab c\nd\ne");
    }

    #[test]
    fn explicit_spaces_collapse() {
        let mut t = TextBuilder::default();
        t.push("a", &at(0.0, 0.0, 5.0));
        t.push(" ", &at(5.0, 0.0, 2.5));
        t.push(" ", &at(7.5, 0.0, 2.5));
        t.push("b", &at(20.0, 0.0, 5.0));
        assert_eq!(t.finish(), "a b");
    }

    #[test]
    fn right_to_left_lines_come_out_in_logical_order() {
        // docling__right_to_left_01, pdfcpu__UserFont_Hebrew: glyphs are drawn left to
        // right on the page, so the letters of every word came out reversed.
        let mut t = TextBuilder::default();
        let mut x = 0.0;
        for g in [
            "ם", "ו", "ל", "ש", " ", "2", "0", "2", "6", " ", "P", "D", "F",
        ] {
            t.push(g, &at(x, 100.0, 5.0));
            x += 5.0;
        }
        t.push("x", &at(0.0, 80.0, 5.0));
        assert_eq!(t.finish(), "2026 PDF שלום\nx");
        // A point drawn after its letter stays after it.
        let mut t = TextBuilder::default();
        t.push("ב", &at(0.0, 0.0, 5.0));
        t.push("\u{5b8}", &at(5.0, 0.0, 0.0));
        t.push("א", &at(5.0, 0.0, 5.0));
        assert_eq!(t.finish(), "אב\u{5b8}");
    }

    #[test]
    fn spaced_out_cjk_headings_stay_one_word() {
        // pdfpig__0000851: "広 報 誌 の 発 行" for MuPDF's "広報誌の発行"; a digit next to
        // an ideograph keeps the usual rule (table columns in pypdf__issue-914).
        let mut t = TextBuilder::default();
        t.push("広", &at(0.0, 0.0, 10.0));
        t.push("報", &at(15.0, 0.0, 10.0));
        t.push("2", &at(30.0, 0.0, 5.0));
        t.push("誌", &at(50.0, 0.0, 10.0));
        assert_eq!(t.finish(), "広報 2 誌");
    }

    #[test]
    fn rotated_text_reads_along_its_direction() {
        let mut t = TextBuilder::default();
        let up = |y: f64| GlyphPos {
            origin: (50.0, y),
            end: (50.0, y + 5.0),
            dir: (0.0, 1.0),
            size: 10.0,
        };
        t.push("u", &up(0.0));
        t.push("p", &up(5.0));
        assert_eq!(t.finish(), "up");
    }
}
