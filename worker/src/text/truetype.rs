//! The built-in encoding of an embedded TrueType program (FontFile2, ISO 32000-1
//! §9.6.6.4) for a simple font without a ToUnicode map: each code goes to a glyph through
//! the program's `cmap` table, and the glyph's name in its `post` table says what the
//! glyph is. This is how MuPDF (our reference) reads such fonts; the names then go
//! through the glyph list like any other (`font::glyph_text`).

use ttf_parser::{Face, GlyphId, PlatformId};

/// `(code, glyph name)` for every code the program maps to a named glyph; `None` when
/// the program cannot be read or names no glyph (a `post` table of format 3), so that the
/// caller keeps its own guess.
///
/// The `cmap` subtable is chosen as MuPDF chooses it: for a symbolic font the Microsoft
/// symbol one (3,0) first, then Microsoft Unicode (3,1), then Macintosh Roman (1,0), then
/// the first. A code the subtable lacks is tried again at U+F000 plus the code, where
/// symbol fonts put their glyphs.
pub fn encoding(program: &[u8], symbolic: bool) -> Option<Vec<(u8, Vec<u8>)>> {
    let face = Face::parse(program, 0).ok()?;
    let cmap = face.tables().cmap?;
    let subtables: Vec<_> = cmap.subtables.into_iter().collect();
    let find = |platform: PlatformId, encoding: u16| {
        subtables
            .iter()
            .find(|s| s.platform_id == platform && s.encoding_id == encoding)
    };
    let chosen = symbolic
        .then(|| find(PlatformId::Windows, 0))
        .flatten()
        .or_else(|| find(PlatformId::Windows, 1))
        .or_else(|| find(PlatformId::Macintosh, 0))
        .or(subtables.first())?;
    let glyph = |code: u32| {
        chosen
            .glyph_index(code)
            .filter(|g| g.0 != 0)
            .or_else(|| chosen.glyph_index(0xF000 + code))
            .filter(|g| g.0 != 0)
    };
    let mut out = Vec::new();
    for code in 0..=255u8 {
        if let Some(name) = glyph(u32::from(code)).and_then(|g: GlyphId| face.glyph_name(g)) {
            out.push((code, name.as_bytes().to_vec()));
        }
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_programs_have_no_encoding() {
        assert_eq!(encoding(b"", false), None);
        assert_eq!(encoding(b"\x00\x01\x00\x00\x00\x00", true), None);
        assert_eq!(encoding(&[0xFF; 64], false), None);
    }
}
