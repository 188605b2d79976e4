//! Turns positioned glyphs into lines of text, in the order they are drawn.
//!
//! The rules are MuPDF's (1.28, the reference of our fidelity score), as measured on
//! probe documents: a glyph more than 0.8 em off the baseline, or more than 0.8 em along
//! it from where the pen stands, starts a new line; a forward gap over 0.15 em is a word
//! space, but only after a character of the scripts that space their words (below
//! U+0700, general punctuation) and not where the writing direction turns; a smaller
//! gap, or a step back within 0.8 em, joins. Positions are in device space, so rotated
//! and scaled text works alike.

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
/// A baseline shift of this many ems or more starts a new line (superscripts move by
/// about 0.3 to 0.4 em and stay on the line).
const LINE_SHIFT: f64 = 0.8;
/// A move along the line (forward or back) of more than this many ems starts a new
/// line: table columns, a word drawn again over itself.
const SPLIT_GAP: f64 = 0.8;
/// The same text again, its origin closer than this many ems to the previous glyph's:
/// fake bold (the glyph overprinted at a small offset), kept once.
const OVERPRINT: f64 = 0.1;

#[derive(Debug, Clone, Copy)]
struct Last {
    origin: (f64, f64),
    end: (f64, f64),
    dir: (f64, f64),
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
    /// How many bytes at the end of `text` the last glyph put there (for [`OVERPRINT`]).
    last_len: usize,
}

impl TextBuilder {
    pub fn clear(&mut self) {
        self.text.clear();
        self.last = None;
        self.line_start = 0;
        self.line_rtl = false;
        self.last_len = 0;
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
            if !text.is_empty()
                && text.len() == self.last_len
                && ends_with(self.text.as_bytes(), text.as_bytes())
            {
                let (ox, oy) = (g.origin.0 - l.origin.0, g.origin.1 - l.origin.1);
                let near = OVERPRINT * g.size;
                if ox * ox + oy * oy < near * near {
                    return;
                }
            }
            let size = g.size.max(1e-6);
            let (dx, dy) = (g.origin.0 - l.end.0, g.origin.1 - l.end.1);
            let along = dx * l.dir.0 + dy * l.dir.1;
            let across = dy * l.dir.0 - dx * l.dir.1;
            let same_dir = g.dir.0 * l.dir.0 + g.dir.1 * l.dir.1 > 0.9;
            if !same_dir || across.abs() >= LINE_SHIFT * size || along.abs() > SPLIT_GAP * size {
                self.newline();
            } else if along > SPACE_GAP * size && self.spaced_before(text) {
                self.space();
            }
        }
        if let &[b] = text.as_bytes() {
            // One ASCII byte, the usual glyph: as below, without walking characters.
            if matches!(b, b' ' | b'\t'..=b'\r') {
                self.space();
                self.last_len = 0;
            } else {
                self.text.push(char::from(b));
                self.last_len = 1;
            }
        } else if text.chars().all(char::is_whitespace) {
            if !text.is_empty() {
                self.space();
            }
            self.last_len = 0;
        } else {
            self.line_rtl |= !text.is_ascii() && text.chars().any(is_rtl);
            self.text.push_str(text);
            self.last_len = text.len();
        }
        self.last = Some(Last {
            origin: g.origin,
            end: g.end,
            dir: g.dir,
        });
    }

    /// Whether a gap before `next` reads as a word space: after a character of the
    /// scripts that put spaces between words (MuPDF's test: below U+0700, general
    /// punctuation up to U+20C0), and not between right-to-left and left-to-right text.
    /// Chinese and Japanese put no spaces between words, so a gap after an ideograph or
    /// kana is layout (spaced-out headings); so is one after a mathematical symbol.
    fn spaced_before(&self, next: &str) -> bool {
        let (Some(prev), Some(next)) = (self.text.chars().next_back(), next.chars().next()) else {
            return false;
        };
        let spacing = matches!(prev as u32, 0x21..=0x6FF | 0x2010..=0x20C0 | 0xFFFD);
        spacing && right_to_left(prev) == right_to_left(next)
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

/// Whether `hay` ends with `needle`, compared byte by byte: a glyph's text is a few
/// bytes, for which a call to `memcmp` costs more than the comparison.
fn ends_with(hay: &[u8], needle: &[u8]) -> bool {
    hay.len() >= needle.len()
        && hay[hay.len() - needle.len()..]
            .iter()
            .zip(needle)
            .all(|(a, b)| a == b)
}

/// Hebrew, Arabic, Syriac, Thaana, NKo, Samaritan ... and their presentation forms.
fn is_rtl(c: char) -> bool {
    matches!(c as u32, 0x0590..=0x08FF | 0xFB1D..=0xFDFF | 0xFE70..=0xFEFF | 0x10800..=0x10FFF | 0x1E800..=0x1EFFF)
}

/// Right-to-left letters and Arabic digits (Bidi_Class R, AL, AN; UAX #9).
fn right_to_left(c: char) -> bool {
    use unicode_bidi::BidiClass::{AL, AN, R};
    // Nothing before the Hebrew block is right-to-left: most text skips the table.
    c >= '\u{590}' && matches!(unicode_bidi::bidi_class(c), R | AL | AN)
}

/// Combining marks of the right-to-left scripts (Hebrew points, Arabic harakat).
fn is_rtl_mark(c: char) -> bool {
    matches!(c as u32, 0x0591..=0x05BD | 0x05BF | 0x05C1..=0x05C2 | 0x05C4..=0x05C5 | 0x05C7
        | 0x0610..=0x061A | 0x064B..=0x065F | 0x0670 | 0x06D6..=0x06DC | 0x06DF..=0x06E4
        | 0x06E7..=0x06E8 | 0x06EA..=0x06ED)
}

/// Glyphs come in drawing order, left to right on the page; right-to-left text is read
/// the other way. As MuPDF does, each run of right-to-left letters (with what stands
/// between them, short of a left-to-right letter or digit) is turned around where it
/// stands, and marks put back after their base letter; left-to-right text keeps its
/// place, so a line keeps its visual order of runs (a much simplified UAX #9).
fn logical_order(line: &mut [char]) {
    let mut i = 0;
    while i < line.len() {
        if !right_to_left(line[i]) {
            i += 1;
            continue;
        }
        let start = i;
        let mut end = i + 1;
        let mut j = i + 1;
        while j < line.len() && !left_to_right(line[j]) {
            if right_to_left(line[j]) || is_rtl_mark(line[j]) {
                end = j + 1;
            }
            j += 1;
        }
        let run = &mut line[start..end];
        run.reverse();
        // Reversed, a base letter follows its marks: move it before them.
        let mut k = 0;
        while k < run.len() {
            if is_rtl_mark(run[k]) {
                let marks = k;
                while k < run.len() && is_rtl_mark(run[k]) {
                    k += 1;
                }
                if k < run.len() {
                    run[marks..=k].rotate_right(1);
                }
            }
            k += 1;
        }
        i = end;
    }
}

/// Left-to-right letters and European digits (Bidi_Class L, EN).
fn left_to_right(c: char) -> bool {
    use unicode_bidi::BidiClass::{EN, L};
    matches!(unicode_bidi::bidi_class(c), L | EN)
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
        t.push("b", &at(12.0, 0.0, 5.0));
        assert_eq!(t.finish(), "a b");
    }

    #[test]
    fn right_to_left_lines_come_out_in_logical_order() {
        // docling__right_to_left_01, pdfcpu__UserFont_Hebrew: glyphs are drawn left to
        // right on the page, so the letters of every word came out reversed. Each
        // right-to-left run is turned where it stands (MuPDF keeps the runs' order).
        let mut t = TextBuilder::default();
        let mut x = 0.0;
        for g in [
            "ם", "ו", "ל", "ש", " ", "2", "0", "2", "6", " ", "P", "D", "F",
        ] {
            t.push(g, &at(x, 100.0, 5.0));
            x += 5.0;
        }
        t.push("x", &at(0.0, 80.0, 5.0));
        assert_eq!(t.finish(), "שלום 2026 PDF\nx");
        // A point drawn after its letter stays after it.
        let mut t = TextBuilder::default();
        t.push("ב", &at(0.0, 0.0, 5.0));
        t.push("\u{5b8}", &at(5.0, 0.0, 0.0));
        t.push("א", &at(5.0, 0.0, 5.0));
        assert_eq!(t.finish(), "אב\u{5b8}");
    }

    #[test]
    fn no_word_space_after_ideographs() {
        // pdfpig__0000851: "広 報 誌 の 発 行" for MuPDF's "広報誌の発行"; Type0_CJK_Font:
        // "2010 年 8 月" for its "2010 年8 月". MuPDF spaces a gap after Latin (and other
        // scripts below U+0700), never after an ideograph; past 0.8 em it breaks the line.
        let mut t = TextBuilder::default();
        t.push("広", &at(0.0, 0.0, 10.0));
        t.push("報", &at(15.0, 0.0, 10.0));
        t.push("2", &at(30.0, 0.0, 5.0));
        t.push("誌", &at(37.0, 0.0, 10.0));
        t.push("x", &at(60.0, 0.0, 5.0));
        assert_eq!(t.finish(), "広報2 誌\nx");
    }

    #[test]
    fn no_word_space_where_the_direction_turns() {
        // MuPDF: a gap between Hebrew and Latin or digits is no word space; between two
        // Hebrew letters (or two Latin ones) it is.
        let mut t = TextBuilder::default();
        let mut x = 0.0;
        for g in ["a", "\u{5d0}", "\u{5d1}", "1", "b"] {
            t.push(g, &at(x, 0.0, 5.0));
            x += 8.0;
        }
        assert_eq!(t.finish(), "a\u{5d1} \u{5d0}1 b");
    }

    #[test]
    fn small_steps_back_join_and_overprints_count_once() {
        // GeoTopo: TeX sets an accent, steps back and sets the letter under it; MuPDF
        // joins steps back up to 0.8 em. Fake bold: the same glyph again less than
        // 0.1 em from where it was drawn is kept once.
        let mut t = TextBuilder::default();
        t.push("\u{2dc}", &at(0.0, 0.0, 5.0));
        t.push("a", &at(0.5, 0.0, 5.0));
        t.push("a", &at(0.9, 0.3, 5.0));
        t.push("b", &at(5.5, 0.0, 5.0));
        t.push("b", &at(6.5, 0.0, 5.0));
        assert_eq!(t.finish(), "\u{2dc}abb");
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
