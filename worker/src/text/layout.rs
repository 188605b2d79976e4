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
}

impl TextBuilder {
    pub fn clear(&mut self) {
        self.text.clear();
        self.last = None;
    }

    /// The page text so far, without trailing whitespace.
    pub fn finish(&mut self) -> &str {
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
            } else if (along > SPACE_GAP * size || along < -BACK_JUMP * size) && !text.is_empty() {
                self.space();
            }
        }
        if text.chars().all(char::is_whitespace) {
            if !text.is_empty() {
                self.space();
            }
        } else {
            self.text.push_str(text);
        }
        self.last = Some(Last {
            end: g.end,
            dir: g.dir,
            size: g.size,
        });
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
        let n = self.text.trim_end_matches([' ', '\t']).len();
        self.text.truncate(n);
        if !self.text.is_empty() && !self.text.ends_with('\n') {
            self.text.push('\n');
        }
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
