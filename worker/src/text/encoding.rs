//! Simple-font encodings and glyph names (ISO 32000-1 §9.6.6, Annex D), and the
//! Adobe Glyph List rules for turning a glyph name into Unicode.

use super::tables;

/// A built-in base encoding: code -> glyph name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaseEncoding {
    Standard,
    WinAnsi,
    MacRoman,
    Symbol,
    ZapfDingbats,
}

impl BaseEncoding {
    /// From an `/Encoding` or `/BaseEncoding` name. MacExpertEncoding holds small caps
    /// and old-style figures whose names the glyph list resolves as well; Standard
    /// stands in for it.
    pub fn from_name(name: &[u8]) -> Option<Self> {
        match name {
            b"WinAnsiEncoding" => Some(Self::WinAnsi),
            b"MacRomanEncoding" => Some(Self::MacRoman),
            b"StandardEncoding" | b"MacExpertEncoding" => Some(Self::Standard),
            _ => None,
        }
    }

    pub fn table(self) -> &'static [Option<&'static str>; 256] {
        match self {
            Self::Standard => &tables::STANDARD,
            Self::WinAnsi => &tables::WIN_ANSI,
            Self::MacRoman => &tables::MAC_ROMAN,
            Self::Symbol => &tables::SYMBOL,
            Self::ZapfDingbats => &tables::ZAPF_DINGBATS,
        }
    }

    pub fn glyph(self, code: u8) -> Option<&'static str> {
        self.table()[code as usize]
    }
}

/// Appends the Unicode text of glyph `name` to `out` (Adobe Glyph List specification:
/// strip a suffix after '.', split ligatures at '_', then look each part up in the list
/// or read it as `uniXXXX...` / `uXXXX[XX]`). False when nothing could be made of it.
pub fn glyph_to_unicode(name: &[u8], out: &mut String) -> bool {
    let Ok(name) = std::str::from_utf8(name) else {
        return false;
    };
    let base = name.split('.').next().unwrap_or("");
    if base.is_empty() {
        return false;
    }
    let start = out.len();
    for part in base.split('_') {
        if !component(part, out) {
            out.truncate(start);
            return false;
        }
    }
    out.len() > start
}

fn component(part: &str, out: &mut String) -> bool {
    if let Ok(i) = tables::GLYPH_LIST.binary_search_by(|e| e.0.cmp(part)) {
        out.push(tables::GLYPH_LIST[i].1);
        return true;
    }
    if let Some(hex) = part.strip_prefix("uni")
        && hex.len() >= 4
        && hex.len() % 4 == 0
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
    {
        let units: Vec<u16> = hex
            .as_bytes()
            .chunks(4)
            .filter_map(|c| u16::from_str_radix(std::str::from_utf8(c).ok()?, 16).ok())
            .collect();
        let before = out.len();
        out.extend(char::decode_utf16(units).filter_map(Result::ok));
        return out.len() > before;
    }
    if let Some(hex) = part.strip_prefix('u')
        && (4..=6).contains(&hex.len())
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
        && let Some(c) = u32::from_str_radix(hex, 16).ok().and_then(char::from_u32)
    {
        out.push(c);
        return true;
    }
    false
}

/// The name forms MuPDF 1.28 (our reference) reads beyond the glyph list, as observed
/// (a font with such names in /Differences, and what MuPDF extracts for each):
/// - `G` and hex digits: a byte of code page 437, the IBM PC's (subsets from Windows
///   printer drivers name glyphs `G21` ... `GFF`: smalot__Issue33, caly-issues-58-2);
/// - `g` and hex digits: a glyph index in the Macintosh standard order (TrueType's
///   'post' format 1: `g48` is `e`), from 3 (space) to 257;
/// - `a` and two or more decimal digits, or decimal digits alone: that code point.
///
/// `None` when the name is none of these; the caller then takes the code itself.
pub fn numeric_glyph_name(name: &[u8]) -> Option<char> {
    let s = std::str::from_utf8(name).ok()?;
    let value = |digits: &str, radix: u32| {
        let digits = digits.strip_prefix('+').unwrap_or(digits);
        u32::from_str_radix(digits, radix).ok()
    };
    let code = match s.as_bytes().first()? {
        b'G' => {
            let v = value(&s[1..], 16).filter(|v| (1..=0xFF).contains(v))?;
            return Some(match v {
                0x80.. => tables::CP437_HIGH[v as usize - 0x80],
                _ => char::from(v as u8),
            });
        }
        b'g' => {
            let v = value(&s[1..], 16).filter(|v| (3..=257).contains(v))?;
            let mut out = String::new();
            glyph_to_unicode(tables::MAC_GLYPH_ORDER[v as usize].as_bytes(), &mut out);
            return out.chars().next();
        }
        b'a' if s.len() >= 3 => value(&s[1..], 10)?,
        b'0'..=b'9' => value(s, 10)?,
        _ => return None,
    };
    char::from_u32(code).filter(|_| code > 0)
}

/// Decodes a PDF text string (§7.9.2.2): UTF-16BE with a BOM, UTF-8 with a BOM (PDF
/// 2.0), else PDFDocEncoding (read as Latin-1 with the differences that matter for
/// text: quotes, dashes, bullets).
pub fn text_string(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        let units = rest
            .chunks(2)
            .filter(|c| c.len() == 2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]));
        return char::decode_utf16(units)
            .map(|r| r.unwrap_or('\u{FFFD}'))
            .collect();
    }
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return String::from_utf8_lossy(rest).into_owned();
    }
    bytes.iter().map(|&b| pdf_doc_char(b)).collect()
}

fn pdf_doc_char(b: u8) -> char {
    // PDFDocEncoding (Annex D.2) differs from Latin-1 in 0x18..0x1F and 0x80..0x9F.
    match b {
        0x80 => '\u{2022}',
        0x81 => '\u{2020}',
        0x82 => '\u{2021}',
        0x83 => '\u{2026}',
        0x84 => '\u{2014}',
        0x85 => '\u{2013}',
        0x86 => '\u{0192}',
        0x87 => '\u{2044}',
        0x88 => '\u{2039}',
        0x89 => '\u{203A}',
        0x8A => '\u{2212}',
        0x8B => '\u{2030}',
        0x8C => '\u{201E}',
        0x8D => '\u{201C}',
        0x8E => '\u{201D}',
        0x8F => '\u{2018}',
        0x90 => '\u{2019}',
        0x91 => '\u{201A}',
        0x92 => '\u{2122}',
        0x93 => '\u{FB01}',
        0x94 => '\u{FB02}',
        0x95 => '\u{0141}',
        0x96 => '\u{0152}',
        0x97 => '\u{0160}',
        0x98 => '\u{0178}',
        0x99 => '\u{017D}',
        0x9A => '\u{0131}',
        0x9B => '\u{0142}',
        0x9C => '\u{0153}',
        0x9D => '\u{0161}',
        0x9E => '\u{017E}',
        0xA0 => '\u{20AC}',
        _ => b as char,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(name: &str) -> Option<String> {
        let mut s = String::new();
        glyph_to_unicode(name.as_bytes(), &mut s).then_some(s)
    }

    #[test]
    fn glyph_names() {
        assert_eq!(g("A").as_deref(), Some("A"));
        assert_eq!(g("quotedblleft").as_deref(), Some("\u{201C}"));
        assert_eq!(g("fi").as_deref(), Some("\u{FB01}"));
        assert_eq!(g("uni0041").as_deref(), Some("A"));
        assert_eq!(g("uni00410042").as_deref(), Some("AB"));
        assert_eq!(g("u1D400").as_deref(), Some("\u{1D400}"));
        assert_eq!(g("f_f_i").as_deref(), Some("ffi"));
        assert_eq!(g("a.sc").as_deref(), Some("a"));
        assert_eq!(g("nosuchglyph"), None);
        assert_eq!(g(""), None);
        assert_eq!(g(".notdef"), None);
    }

    #[test]
    fn numeric_names_read_as_mupdf_reads_them() {
        // Each pair as MuPDF 1.28 extracted it from a /Differences font.
        for (name, c) in [
            ("G41", Some('A')),
            ("G4a", Some('J')),
            ("G0080", Some('\u{c7}')),
            ("GEA", Some('\u{3a9}')),
            ("GFF", Some('\u{a0}')),
            ("G100", None),
            ("G0", None),
            ("Gx", None),
            ("g48", Some('e')),
            ("g82", Some('\u{2020}')),
            ("g3", Some(' ')),
            ("g101", Some('\u{111}')),
            ("g2", None),
            ("g102", None),
            ("a65", Some('A')),
            ("a201", Some('\u{c9}')),
            ("a9", None),
            ("65", Some('A')),
            ("cid65", None),
            ("c65", None),
            ("glyph", None),
        ] {
            assert_eq!(numeric_glyph_name(name.as_bytes()), c, "{name}");
        }
    }

    #[test]
    fn base_encodings() {
        assert_eq!(BaseEncoding::WinAnsi.glyph(0x93), Some("quotedblleft"));
        assert_eq!(BaseEncoding::Standard.glyph(0x27), Some("quoteright"));
        assert_eq!(BaseEncoding::MacRoman.glyph(0x8E), Some("eacute"));
        assert_eq!(BaseEncoding::Symbol.glyph(0x61), Some("alpha"));
    }

    #[test]
    fn text_strings() {
        assert_eq!(text_string(b"\xfe\xff\x00H\x00i"), "Hi");
        assert_eq!(text_string(b"caf\xe9"), "caf\u{e9}");
        assert_eq!(text_string(b"\x93x"), "\u{FB01}x");
        assert_eq!(text_string(b"\xfe\xff\x00"), "");
    }
}
