//! Fonts as text extraction sees them (ISO 32000-1 §9.5-§9.10): how a string splits
//! into codes, what Unicode each code stands for, and how far each glyph advances.
//! Of the embedded font programs only the built-in encoding is read (program.rs,
//! truetype.rs).

use std::borrow::Cow;
use std::sync::OnceLock;

use hayro_syntax::object::{Array, Dict, Name, Object, Stream};

use super::cjk;
use super::cmap::CMap;
use super::encoding::{self, BaseEncoding};
use super::program;
use super::tables;
use super::truetype;
use crate::pdf::stream;

/// CMaps and font programs larger than this are not read (bytes).
const MAX_CMAP: usize = 8 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Type1, MMType1, TrueType: one byte per code.
    Simple,
    /// Type3: one byte per code, glyph space given by /FontMatrix.
    Type3,
    /// Type0 (composite) with a CIDFont; codes split by the encoding CMap.
    Type0 { vertical: bool },
}

/// How a composite font's codes become CIDs and (without a ToUnicode map) text.
#[derive(Debug, Clone)]
enum CodeMap {
    /// Identity-H/V: two-byte codes, CID = code.
    Identity,
    /// A predefined UCS-2/UTF-16 CMap (Uni*-UCS2-*, Uni*-UTF16-*): codes are UTF-16.
    Utf16,
    /// A predefined CMap whose codes are a legacy charset (Shift-JIS, EUC, GBK, Big5):
    /// the code splits as that charset does, and decodes with it.
    Charset(&'static encoding_rs::Encoding, Box<CMap>),
    /// An embedded CMap, or a predefined one we only know the code lengths of.
    Embedded(Box<CMap>),
}

/// A predefined character collection (ISO 32000-1 §9.7.3), whose CIDs have a known
/// Unicode value (tables from Adobe's Unicode CMaps, see `gen_cjk.py`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Collection {
    Japan1,
    Gb1,
    Cns1,
    Korea1,
}

impl Collection {
    fn from_ordering(ordering: &[u8]) -> Option<Collection> {
        match ordering {
            b"Japan1" => Some(Collection::Japan1),
            b"GB1" => Some(Collection::Gb1),
            b"CNS1" => Some(Collection::Cns1),
            b"Korea1" => Some(Collection::Korea1),
            _ => None,
        }
    }

    fn unicode(self, cid: u32) -> Option<char> {
        let table = match self {
            Collection::Japan1 => cjk::JAPAN1,
            Collection::Gb1 => cjk::GB1,
            Collection::Cns1 => cjk::CNS1,
            Collection::Korea1 => cjk::KOREA1,
        };
        let u = *table.get(cid as usize)?;
        if u == 0 { None } else { char::from_u32(u) }
    }
}

/// A font, ready to decode strings.
#[derive(Debug, Clone)]
pub struct Font {
    pub kind: Kind,
    to_unicode: Option<Box<CMap>>,
    /// Simple fonts: the text of each code from the encoding (empty = unknown).
    simple_text: Vec<Cow<'static, str>>,
    /// Simple fonts: advance of each code, in text space units per unit of font size.
    simple_widths: Vec<f32>,
    /// Simple fonts: what each of the 256 codes shows, worked out once when the font is
    /// made ([`Font::glyph`]); empty for composite fonts.
    glyphs: Vec<Glyph>,
    /// The text of the `glyphs`, one after the other.
    glyph_text: String,
    code_map: CodeMap,
    /// Composite fonts: the descendant's Adobe character collection, if predefined.
    collection: Option<Collection>,
    /// Composite fonts: /W as sorted (first CID, last CID, width), widths in 1/1000.
    cid_widths: Vec<(u32, u32, f32)>,
    default_width: f32,
    /// Multiplies the font size to give the em size used by the layout heuristics.
    pub size_scale: f32,
}

/// One code split off a string.
#[derive(Debug, Clone, Copy)]
pub struct Code {
    pub code: u32,
    pub len: u8,
}

/// What one code of a simple font shows: its text (`glyph_text[start..end]`) and advance.
#[derive(Debug, Clone, Copy, Default)]
struct Glyph {
    start: u32,
    end: u32,
    width: f32,
}

impl Font {
    /// The stand-in for a missing or unreadable font: Helvetica metrics, Standard
    /// encoding.
    pub fn fallback() -> Font {
        let mut f = Font::empty(Kind::Simple);
        f.fill_simple(Some(BaseEncoding::Standard), &[], Some(Std14::Helvetica(0)));
        f.fill_glyphs();
        f
    }

    fn empty(kind: Kind) -> Font {
        Font {
            kind,
            to_unicode: None,
            simple_text: Vec::new(),
            simple_widths: Vec::new(),
            glyphs: Vec::new(),
            glyph_text: String::new(),
            code_map: CodeMap::Identity,
            collection: None,
            cid_widths: Vec::new(),
            default_width: 1.0,
            size_scale: 1.0,
        }
    }

    /// Reads a font dictionary. Never fails: what is missing is guessed.
    pub fn load(dict: &Dict<'_>) -> Font {
        let subtype = dict.get::<Name<'_>>(b"Subtype");
        let subtype = subtype.as_deref().unwrap_or(b"Type1");
        let mut font = match subtype {
            b"Type0" => Self::load_type0(dict),
            b"Type3" => Self::load_simple(dict, Kind::Type3),
            _ => Self::load_simple(dict, Kind::Simple),
        };
        match dict.get::<Object<'_>>(b"ToUnicode") {
            Some(Object::Stream(s)) => {
                if let Some(data) = stream::decode(&s, MAX_CMAP) {
                    let cmap = CMap::parse(&data);
                    if cmap.has_unicode() {
                        font.to_unicode = Some(Box::new(cmap));
                    }
                }
            }
            // pdfminer__issue-625-identity-cmap: `/ToUnicode /Identity-H` (not a stream,
            // against §9.10.3) from writers whose codes are UCS-2; MuPDF reads it so.
            Some(Object::Name(n)) if n.starts_with(b"Identity") => {
                if let CodeMap::Identity = font.code_map
                    && let Kind::Type0 { .. } = font.kind
                {
                    font.code_map = CodeMap::Utf16;
                }
            }
            _ => {}
        }
        font.fill_glyphs();
        font
    }

    /// Works out what each code of a simple font shows, as [`Font::push_text`] and
    /// [`Font::width`] give it, so that showing a glyph is one table lookup (issue 11:
    /// the ToUnicode search and the copies through a scratch string were a tenth of the
    /// instructions of a pass). A drawn glyph (one with a width) whose text is unknown
    /// shows U+FFFD, so that "identi\u{FFFD}cation" does not read as a word (TeX's Type3
    /// ligatures named /a28); MuPDF puts the raw code there.
    fn fill_glyphs(&mut self) {
        if !matches!(self.kind, Kind::Simple | Kind::Type3) {
            return;
        }
        let mut text = String::new();
        let glyphs = (0..=255u32)
            .map(|c| {
                let code = Code { code: c, len: 1 };
                let start = text.len();
                let width = self.width(code);
                if !self.push_text(code, &mut text) && width > 0.0 {
                    text.push('\u{FFFD}');
                }
                // A code's text is short (a CMap destination is cut at 64 UTF-16 units).
                Glyph {
                    start: start as u32,
                    end: text.len() as u32,
                    width,
                }
            })
            .collect();
        self.glyphs = glyphs;
        self.glyph_text = text;
    }

    /// What byte `code` of a simple font shows, and its advance (text space units per
    /// unit of font size); `None` for a composite font, whose codes go through
    /// [`Font::next_code`], [`Font::push_text`] and [`Font::width`].
    #[inline]
    pub fn glyph(&self, code: u8) -> Option<(&str, f32)> {
        let g = self.glyphs.get(code as usize)?;
        Some((&self.glyph_text[g.start as usize..g.end as usize], g.width))
    }

    fn load_simple(dict: &Dict<'_>, kind: Kind) -> Font {
        let mut font = Font::empty(kind);
        let base_font = dict.get::<Name<'_>>(b"BaseFont");
        let std14 = base_font.as_deref().and_then(Std14::from_base_font);
        let descriptor = dict.get::<Dict<'_>>(b"FontDescriptor");
        let flags = descriptor
            .as_ref()
            .and_then(|d| d.get::<i64>(b"Flags"))
            .unwrap_or(0);
        let symbolic = flags & 4 != 0 && flags & 32 == 0;

        // §9.6.6.1: the base encoding is /Encoding (a name), /BaseEncoding in an encoding
        // dictionary, else the font's built-in one. Without the font program, guess the
        // built-in one: Symbol and ZapfDingbats have their own; text fonts Standard.
        let builtin = match std14 {
            Some(Std14::Symbol) => BaseEncoding::Symbol,
            Some(Std14::ZapfDingbats) => BaseEncoding::ZapfDingbats,
            _ if subtype_is(dict, b"TrueType") || symbolic => BaseEncoding::WinAnsi,
            _ => BaseEncoding::Standard,
        };
        let mut base = builtin;
        let mut differences: Vec<(u8, Vec<u8>)> = Vec::new();
        match dict.get::<Object<'_>>(b"Encoding") {
            Some(Object::Name(n)) => {
                if let Some(b) = BaseEncoding::from_name(&n) {
                    base = b;
                }
            }
            Some(Object::Dict(d)) => {
                if let Some(b) = d
                    .get::<Name<'_>>(b"BaseEncoding")
                    .and_then(|n| BaseEncoding::from_name(&n))
                {
                    base = b;
                }
                if let Some(arr) = d.get::<Array<'_>>(b"Differences") {
                    differences = read_differences(&arr);
                }
            }
            _ => {}
        }
        let named_base =
            base != builtin || matches!(dict.get::<Object<'_>>(b"Encoding"), Some(Object::Name(_)));
        // The font program's own encoding, when it is the base and no ToUnicode map
        // makes it moot: read it, and it replaces the guess (codes it lacks are
        // .notdef), with /Differences applied on top.
        let mut program_encoding = false;
        if !named_base
            && kind == Kind::Simple
            && !dict.contains_key(b"ToUnicode")
            && let Some(encoding) = descriptor
                .as_ref()
                .and_then(|d| program_encoding_of(d, symbolic))
        {
            program_encoding = true;
            let mut merged = encoding;
            merged.append(&mut differences);
            differences = merged;
        }
        let std14_widths = if dict.contains_key(b"Widths") {
            None
        } else {
            std14
        };
        font.fill_simple(
            (!program_encoding).then_some(base),
            &differences,
            std14_widths,
        );

        if dict.contains_key(b"Widths") {
            let first = dict.get::<i64>(b"FirstChar").unwrap_or(0).clamp(0, 255) as usize;
            let missing = descriptor
                .as_ref()
                .and_then(|d| d.get::<f32>(b"MissingWidth"))
                .unwrap_or(0.0);
            let scale = if kind == Kind::Type3 {
                font_matrix_scale(dict).0
            } else {
                0.001
            };
            let mut widths = vec![missing * scale; 256];
            if let Some(arr) = dict.get::<Array<'_>>(b"Widths") {
                for (i, obj) in arr.iter::<Object<'_>>().enumerate() {
                    let Some(slot) = widths.get_mut(first + i) else {
                        break;
                    };
                    if let Object::Number(n) = obj {
                        *slot = n.as_f32() * scale;
                    }
                }
            }
            font.simple_widths = widths;
        }
        if kind == Kind::Type3 {
            font.size_scale = type3_em(dict);
        }
        font
    }

    /// Fills the per-code text (from the encoding) and, for a standard-14 font without
    /// /Widths, the widths from its metrics.
    fn fill_simple(
        &mut self,
        base: Option<BaseEncoding>,
        differences: &[(u8, Vec<u8>)],
        std14: Option<Std14>,
    ) {
        let mut names: [Option<&[u8]>; 256] = [None; 256];
        if let Some(base) = base {
            for (code, slot) in names.iter_mut().enumerate() {
                *slot = base.glyph(code as u8).map(str::as_bytes);
            }
        }
        for (code, name) in differences {
            names[*code as usize] = Some(name.as_slice());
        }
        let mut overridden = [false; 256];
        for (code, _) in differences {
            overridden[*code as usize] = true;
        }
        let cached = base.map(base_texts);
        let mut text = Vec::with_capacity(256);
        let mut widths = Vec::with_capacity(256);
        let mut s = String::new();
        for (code, name) in names.iter().enumerate() {
            let t: Cow<'static, str> = match cached {
                // The base's own text, worked out once per process.
                Some(c) if !overridden[code] => Cow::Borrowed(&c[code]),
                _ => {
                    s.clear();
                    glyph_text(*name, base, code as u8, &mut s);
                    Cow::Owned(s.clone())
                }
            };
            text.push(t);
            widths.push(match std14 {
                Some(f) => f.width(code as u8, *name) as f32 * 0.001,
                None => 0.5,
            });
        }
        self.simple_text = text;
        self.simple_widths = widths;
    }

    fn load_type0(dict: &Dict<'_>) -> Font {
        let mut font = Font::empty(Kind::Type0 { vertical: false });
        match dict.get::<Object<'_>>(b"Encoding") {
            Some(Object::Name(n)) => {
                let n: &[u8] = &n;
                if n.ends_with(b"-V") {
                    font.kind = Kind::Type0 { vertical: true };
                }
                font.code_map = if n.starts_with(b"Identity") {
                    CodeMap::Identity
                } else if n.starts_with(b"Uni") && (contains(n, b"UCS2") || contains(n, b"UTF16")) {
                    CodeMap::Utf16
                } else if let Some(charset) = legacy_charset(n) {
                    CodeMap::Charset(charset, Box::new(predefined_codespace(n)))
                } else {
                    CodeMap::Embedded(Box::new(predefined_codespace(n)))
                };
            }
            Some(Object::Stream(s)) => {
                if s.dict().get::<i64>(b"WMode") == Some(1) {
                    font.kind = Kind::Type0 { vertical: true };
                }
                let cmap = stream::decode(&s, MAX_CMAP)
                    .map(|d| CMap::parse(&d))
                    .unwrap_or_default();
                font.code_map = if cmap.codespace.is_empty() {
                    CodeMap::Identity
                } else {
                    CodeMap::Embedded(Box::new(cmap))
                };
            }
            _ => {}
        }
        let descendant = dict
            .get::<Array<'_>>(b"DescendantFonts")
            .and_then(|a| a.iter::<Dict<'_>>().next());
        if let Some(cid_font) = descendant {
            font.collection = cid_font
                .get::<Dict<'_>>(b"CIDSystemInfo")
                .filter(|d| {
                    d.get::<hayro_syntax::object::String<'_>>(b"Registry")
                        .is_some_and(|r| r.as_bytes() == b"Adobe")
                })
                .and_then(|d| d.get::<hayro_syntax::object::String<'_>>(b"Ordering"))
                .and_then(|o| Collection::from_ordering(o.as_bytes()));
            font.default_width = cid_font.get::<f32>(b"DW").unwrap_or(1000.0) * 0.001;
            if let Some(w) = cid_font.get::<Array<'_>>(b"W") {
                font.cid_widths = read_cid_widths(&w);
            }
        }
        font
    }

    /// Splits the next code off `bytes` (which must not be empty).
    pub fn next_code(&self, bytes: &[u8]) -> Code {
        match self.kind {
            Kind::Simple | Kind::Type3 => Code {
                code: bytes[0] as u32,
                len: 1,
            },
            Kind::Type0 { .. } => match &self.code_map {
                CodeMap::Identity | CodeMap::Utf16 => {
                    if bytes.len() >= 2 {
                        Code {
                            code: (bytes[0] as u32) << 8 | bytes[1] as u32,
                            len: 2,
                        }
                    } else {
                        Code {
                            code: bytes[0] as u32,
                            len: 1,
                        }
                    }
                }
                CodeMap::Embedded(cmap) | CodeMap::Charset(_, cmap) => {
                    let (code, len) = cmap.next_code(bytes);
                    Code {
                        code,
                        len: len as u8,
                    }
                }
            },
        }
    }

    /// Appends the text of `code` to `out`; false when nothing is known about it.
    pub fn push_text(&self, code: Code, out: &mut String) -> bool {
        if let Some(tu) = &self.to_unicode
            && tu.push_unicode(code.code, out)
        {
            return true;
        }
        match self.kind {
            Kind::Simple | Kind::Type3 => match self.simple_text.get(code.code as usize) {
                Some(t) if !t.is_empty() => {
                    out.push_str(t);
                    true
                }
                _ => false,
            },
            Kind::Type0 { .. } => match &self.code_map {
                CodeMap::Utf16 => match char::from_u32(code.code) {
                    Some(c) => {
                        out.push(c);
                        true
                    }
                    None => false,
                },
                CodeMap::Charset(charset, _) => {
                    let bytes = code.code.to_be_bytes();
                    let bytes = &bytes[4 - (code.len as usize).clamp(1, 4)..];
                    let (text, malformed) = charset.decode_without_bom_handling(bytes);
                    if malformed || text.is_empty() {
                        return false;
                    }
                    out.push_str(&text);
                    true
                }
                CodeMap::Identity | CodeMap::Embedded(_) => {
                    // A predefined CMap known only by its code lengths has no CIDs.
                    let cid = match &self.code_map {
                        CodeMap::Embedded(c) => c.cid(code.code),
                        _ => Some(code.code),
                    };
                    match self.collection.zip(cid).and_then(|(c, cid)| c.unicode(cid)) {
                        Some(c) => {
                            out.push(c);
                            true
                        }
                        None => false,
                    }
                }
            },
        }
    }

    /// Horizontal advance of `code`, in text space units per unit of font size (§9.2.4).
    pub fn width(&self, code: Code) -> f32 {
        match self.kind {
            Kind::Simple | Kind::Type3 => self
                .simple_widths
                .get(code.code as usize)
                .copied()
                .unwrap_or(0.5),
            Kind::Type0 { .. } => {
                let cid = match &self.code_map {
                    CodeMap::Embedded(c) => c.cid(code.code).unwrap_or(code.code),
                    _ => code.code,
                };
                let i = self.cid_widths.partition_point(|r| r.0 <= cid);
                match i.checked_sub(1).map(|i| self.cid_widths[i]) {
                    Some((_, last, w)) if cid <= last => w,
                    _ => self.default_width,
                }
            }
        }
    }

    pub fn is_vertical(&self) -> bool {
        matches!(self.kind, Kind::Type0 { vertical: true })
    }
}

/// The text of each code of a base encoding without differences (see [`glyph_text`]).
fn base_texts(base: BaseEncoding) -> &'static [Box<str>] {
    static TABLES: [OnceLock<Vec<Box<str>>>; 5] = [const { OnceLock::new() }; 5];
    TABLES[base as usize].get_or_init(|| {
        let mut s = String::new();
        (0..=255u8)
            .map(|code| {
                s.clear();
                glyph_text(
                    base.glyph(code).map(str::as_bytes),
                    Some(base),
                    code,
                    &mut s,
                );
                s.as_str().into()
            })
            .collect()
    })
}

/// Appends the text of glyph `name` at `code` of a simple font to `s`.
///
/// After the glyph list come the name forms MuPDF (our reference) reads
/// ([`encoding::numeric_glyph_name`]); a glyph with no name, or one nobody can read, is
/// taken as its code, as MuPDF does, unless that is a control character.
fn glyph_text(name: Option<&[u8]>, base: Option<BaseEncoding>, code: u8, s: &mut String) {
    if let Some(name) = name {
        // The glyph list maps /a1../a191 to dingbats, right for ZapfDingbats
        // only; elsewhere such names are private (TeX's Type3 bitmap fonts).
        let private = base != Some(BaseEncoding::ZapfDingbats)
            && name.len() > 1
            && name[0] == b'a'
            && name[1..].iter().all(u8::is_ascii_digit);
        if !private && encoding::glyph_to_unicode(name, s) {
            return;
        }
        if let Some(c) = encoding::numeric_glyph_name(name) {
            // A control character read from the name stands for nothing.
            if !c.is_control() {
                s.push(c);
            }
            return;
        }
    }
    let c = char::from(code);
    if !c.is_control() {
        s.push(c);
    }
}

fn subtype_is(dict: &Dict<'_>, t: &[u8]) -> bool {
    dict.get::<Name<'_>>(b"Subtype")
        .is_some_and(|n| n.as_ref() == t)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The legacy charset a predefined CMap's codes are in (ISO 32000-1 §9.7.5.2, Table 118),
/// for the CMaps encoding_rs can decode.
fn legacy_charset(name: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let name = name
        .strip_suffix(b"-H")
        .or_else(|| name.strip_suffix(b"-V"))?;
    Some(if contains(name, b"RKSJ") {
        encoding_rs::SHIFT_JIS
    } else if name.starts_with(b"GB") {
        // GB-EUC, GBpc-EUC, GBK-EUC, GBKp-EUC, GBK2K: GBK and GB 18030 are supersets.
        encoding_rs::GB18030
    } else if contains(name, b"B5") {
        // B5pc, ETen-B5, ETenms-B5, HKscs-B5, HKdla-B5, HKgccs-B5 ...
        encoding_rs::BIG5
    } else if name.starts_with(b"KSC") {
        // KSC-EUC, KSCms-UHC, KSCpc-EUC: EUC-KR as extended by Windows (UHC).
        encoding_rs::EUC_KR
    } else if name == b"EUC" || name == b"78-EUC" || name == b"Ext-EUC" {
        encoding_rs::EUC_JP
    } else {
        return None;
    })
}

/// Code lengths of the common predefined CJK CMaps (§9.7.5.2), so that strings at
/// least split into the right codes. Their CID and Unicode tables are not built in.
fn predefined_codespace(name: &[u8]) -> CMap {
    let spec: &[u8] = if contains(name, b"RKSJ") {
        b"4 begincodespacerange <00> <80> <8140> <9FFC> <A0> <DF> <E040> <FCFC> endcodespacerange"
    } else if contains(name, b"EUC")
        || contains(name, b"GBK")
        || contains(name, b"GB-")
        || contains(name, b"B5")
        || contains(name, b"HKscs")
        || contains(name, b"KSC")
    {
        b"2 begincodespacerange <00> <80> <8140> <FEFE> endcodespacerange"
    } else {
        b"1 begincodespacerange <0000> <FFFF> endcodespacerange"
    };
    CMap::parse(spec)
}

/// The em of a Type3 font in text space units per unit of font size. Glyph space is
/// whatever the producer chose (dvips bitmap fonts: FontMatrix 0.012, glyphs ~80 units
/// high), so the glyph box height mapped through /FontMatrix is the best measure; an
/// empty or absurd box (§9.6.5 allows all zeros) leaves the text space unit, which is
/// one em by the convention of the other font types.
fn type3_em(dict: &Dict<'_>) -> f32 {
    let (_, sy) = font_matrix_scale(dict);
    // The usual 1000-unit glyph space (matplotlib's Type3 fonts): the em is one text
    // space unit, and the box (with accents and descenders, 1.36 em for Arial) would
    // make word gaps look like kerning (docling__relative_expert_load_multi).
    if (0.0009..=0.0011).contains(&sy.abs()) {
        return 1.0;
    }
    let bbox: Vec<f32> = dict
        .get::<Array<'_>>(b"FontBBox")
        .map(|a| a.iter::<f32>().take(4).collect())
        .unwrap_or_default();
    if bbox.len() == 4 {
        let em = ((bbox[3] - bbox[1]) * sy).abs();
        if em.is_finite() && (0.2..=5.0).contains(&em) {
            return em;
        }
    }
    1.0
}

/// The built-in encoding of the embedded font program (Type 1, bare CFF, or TrueType
/// through its cmap and post tables), if it has its own. Of a Type 1 program only the clear-text part before `eexec` is inflated.
fn program_encoding_of(descriptor: &Dict<'_>, symbolic: bool) -> Option<Vec<(u8, Vec<u8>)>> {
    // A TrueType program's cmap and post tables (MuPDF reads them for every code).
    if let Some(file) = descriptor.get::<Stream<'_>>(b"FontFile2") {
        return truetype::encoding(&stream::decode(&file, MAX_CMAP)?, symbolic);
    }
    if let Some(file) = descriptor.get::<Stream<'_>>(b"FontFile3") {
        if file
            .dict()
            .get::<Name<'_>>(b"Subtype")
            .is_some_and(|s| s.as_ref() == b"Type1C")
        {
            return program::cff_encoding(&stream::decode(&file, MAX_CMAP)?);
        }
        return None;
    }
    let file = descriptor.get::<Stream<'_>>(b"FontFile")?;
    let clear_len = file
        .dict()
        .get::<i64>(b"Length1")
        .filter(|&n| n > 0)
        .map_or(MAX_CLEAR_TEXT, |n| (n as usize).min(MAX_CLEAR_TEXT));
    let data = stream::decode(&file, clear_len)?;
    program::type1_encoding(&data)
}

/// The clear-text part of a Type 1 program is read up to this many bytes.
const MAX_CLEAR_TEXT: usize = 64 << 10;

/// /FontMatrix of a Type3 font: (x scale, y scale), default 0.001 (§9.6.5).
fn font_matrix_scale(dict: &Dict<'_>) -> (f32, f32) {
    let m: Vec<f32> = dict
        .get::<Array<'_>>(b"FontMatrix")
        .map(|a| a.iter::<f32>().take(6).collect())
        .unwrap_or_default();
    if m.len() == 6 && m[0].is_finite() && m[3].is_finite() && m[0] != 0.0 {
        (m[0], if m[3] == 0.0 { m[0] } else { m[3] })
    } else {
        (0.001, 0.001)
    }
}

/// /Differences (§9.6.6.1): a code, then names for it and the following codes.
fn read_differences(arr: &Array<'_>) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    let mut code: i64 = 0;
    for obj in arr.iter::<Object<'_>>().take(4096) {
        match obj {
            Object::Number(n) => code = n.as_i64(),
            Object::Name(name) => {
                if (0..256).contains(&code) {
                    out.push((code as u8, name.as_ref().to_vec()));
                }
                code += 1;
            }
            _ => {}
        }
    }
    out
}

/// /W (§9.7.4.3): `c [w1 w2 ...]` or `c_first c_last w`.
fn read_cid_widths(arr: &Array<'_>) -> Vec<(u32, u32, f32)> {
    let mut out = Vec::new();
    let mut pending: Vec<f64> = Vec::new();
    for obj in arr.iter::<Object<'_>>().take(1 << 16) {
        match obj {
            Object::Number(n) => {
                pending.push(n.as_f64());
                if pending.len() == 3 {
                    let (lo, hi, w) = (pending[0], pending[1], pending[2]);
                    if lo >= 0.0 && hi >= lo && hi < u32::MAX as f64 {
                        out.push((lo as u32, hi as u32, w as f32 * 0.001));
                    }
                    pending.clear();
                }
            }
            Object::Array(ws) => {
                if let Some(&first) = pending.first()
                    && first >= 0.0
                    && first < u32::MAX as f64
                {
                    let mut cid = first as u32;
                    for w in ws.iter::<f32>().take(1 << 16) {
                        out.push((cid, cid, w * 0.001));
                        cid = cid.saturating_add(1);
                    }
                }
                pending.clear();
            }
            _ => pending.clear(),
        }
    }
    out.sort_by_key(|r| r.0);
    out
}

/// The standard 14 fonts (§9.6.2.2), for metrics when a font has no /Widths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Std14 {
    /// Style: 0 regular, 1 bold, 2 oblique, 3 bold oblique.
    Helvetica(u8),
    Times(u8),
    Courier,
    Symbol,
    ZapfDingbats,
}

impl Std14 {
    /// From /BaseFont, tolerating a subset prefix and the usual aliases (Arial,
    /// TimesNewRoman, CourierNew and their style suffixes).
    fn from_base_font(name: &[u8]) -> Option<Std14> {
        let name = std::str::from_utf8(name).ok()?;
        let name = match name.split_once('+') {
            Some((prefix, rest)) if prefix.len() == 6 => rest,
            _ => name,
        };
        let lower = name.to_ascii_lowercase();
        let bold = lower.contains("bold");
        let italic = lower.contains("italic") || lower.contains("oblique");
        let style = bold as u8 | (italic as u8) << 1;
        if lower.starts_with("helvetica") || lower.starts_with("arial") {
            Some(Std14::Helvetica(style))
        } else if lower.starts_with("times") {
            Some(Std14::Times(style))
        } else if lower.starts_with("courier") {
            Some(Std14::Courier)
        } else if lower.starts_with("symbol") {
            Some(Std14::Symbol)
        } else if lower.starts_with("zapfdingbats") {
            Some(Std14::ZapfDingbats)
        } else {
            None
        }
    }

    /// Width of glyph `name` (or of `code` in the built-in encoding), in 1/1000 em.
    fn width(self, code: u8, name: Option<&[u8]>) -> u16 {
        let table: &[u16] = match self {
            Std14::Courier => return 600,
            Std14::Symbol => return tables::WIDTHS_SYMBOL[code as usize],
            Std14::ZapfDingbats => return tables::WIDTHS_ZAPF_DINGBATS[code as usize],
            Std14::Helvetica(s) => match s {
                0 => &tables::WIDTHS_HR,
                1 => &tables::WIDTHS_HB,
                2 => &tables::WIDTHS_HI,
                _ => &tables::WIDTHS_HBI,
            },
            Std14::Times(s) => match s {
                0 => &tables::WIDTHS_TR,
                1 => &tables::WIDTHS_TB,
                2 => &tables::WIDTHS_TI,
                _ => &tables::WIDTHS_TBI,
            },
        };
        let Some(name) = name.and_then(|n| std::str::from_utf8(n).ok()) else {
            return 0;
        };
        match tables::LATIN_NAMES.binary_search(&name) {
            Ok(i) => table.get(i).copied().unwrap_or(500),
            // A glyph the font lacks is drawn as .notdef, which has no width here.
            Err(_) => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn std14_names_and_widths() {
        assert_eq!(
            Std14::from_base_font(b"Helvetica"),
            Some(Std14::Helvetica(0))
        );
        assert_eq!(
            Std14::from_base_font(b"ABCDEF+Arial,BoldItalic"),
            Some(Std14::Helvetica(3))
        );
        assert_eq!(Std14::from_base_font(b"Times-Roman"), Some(Std14::Times(0)));
        assert_eq!(Std14::from_base_font(b"CMR10"), None);
        assert_eq!(Std14::Helvetica(0).width(b'A', Some(b"A")), 667);
        assert_eq!(Std14::Times(0).width(b' ', Some(b"space")), 250);
        assert_eq!(Std14::Courier.width(b'i', Some(b"i")), 600);
    }

    #[test]
    fn fallback_font_decodes_ascii() {
        let f = Font::fallback();
        let mut s = String::new();
        for &b in b"Hi!" {
            assert!(f.push_text(f.next_code(&[b]), &mut s));
        }
        assert_eq!(s, "Hi!");
        assert!((f.width(f.next_code(b"A")) - 0.667).abs() < 1e-6);
    }

    fn text_of(dict: &[u8], codes: &[u8]) -> String {
        use hayro_syntax::object::FromBytes;
        let dict = Dict::from_bytes(dict).expect("test dict parses");
        let font = Font::load(&dict);
        let mut s = String::new();
        for &c in codes {
            font.push_text(font.next_code(&[c]), &mut s);
        }
        s
    }

    #[test]
    fn type3_private_glyph_names_read_as_their_number() {
        // pdfpig__MOZILLA-10372-2: dvips Type3 bitmap fonts name glyphs /a65 ...; a
        // .notdef or unknown glyph is its code, as MuPDF takes it.
        let t = text_of(
            b"<< /Subtype /Type3 /FontMatrix [0.01 0 0 0.01 0 0] \
              /Encoding << /Differences [65 /a65 /a66 97 /a97 /.notdef 120 /nosuch /a28] >> >>",
            b"ABabxy",
        );
        assert_eq!(t, "ABabx");
    }

    #[test]
    fn type3_em_comes_from_the_glyph_box() {
        // pdfpig__MOZILLA-10372-2: dvips fonts have FontMatrix 0.01204 and glyphs ~80
        // units high; taking 1000 glyph units as the em made every word gap look like
        // kerning, and the words ran together.
        use hayro_syntax::object::FromBytes;
        let load = |d: &[u8]| Font::load(&Dict::from_bytes(d).expect("test dict parses"));
        let f = load(
            b"<< /Subtype /Type3 /FontMatrix [0.01204 0 0 0.01204 0 0] \
              /FontBBox [0 -17 80 59] >>",
        );
        assert!((f.size_scale - 0.915).abs() < 0.01, "{}", f.size_scale);
        let f = load(b"<< /Subtype /Type3 /FontMatrix [1 0 0 1 0 0] /FontBBox [0 0 0 0] >>");
        assert_eq!(f.size_scale, 1.0);
        let f = load(
            b"<< /Subtype /Type3 /FontMatrix [0.001 0 0 0.001 0 0] \
              /FontBBox [-665 -325 2029 1038] >>",
        );
        assert_eq!(f.size_scale, 1.0);
    }

    fn decode(dict: &[u8], bytes: &[u8]) -> String {
        use hayro_syntax::object::FromBytes;
        let font = Font::load(&Dict::from_bytes(dict).expect("test dict parses"));
        let (mut s, mut pos) = (String::new(), 0);
        while pos < bytes.len() {
            let code = font.next_code(&bytes[pos..]);
            pos += code.len as usize;
            font.push_text(code, &mut s);
        }
        s
    }

    #[test]
    fn gbk_euc_codes_decode_without_to_unicode() {
        // pdfpig__Type0_CJK_Font, pdfplumber__pr-136-example: /Encoding /GBK-EUC-H and
        // no ToUnicode; the codes are GBK.
        let t = decode(
            b"<< /Subtype /Type0 /Encoding /GBK-EUC-H /DescendantFonts [<< \
              /CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 2 >> >>] >>",
            b"2010 \xc4\xea",
        );
        assert_eq!(t, "2010 \u{5e74}");
        let t = decode(
            b"<< /Subtype /Type0 /Encoding /90ms-RKSJ-H >>",
            b"\x82\xa0A",
        );
        assert_eq!(t, "\u{3042}A");
    }

    #[test]
    fn identity_cids_of_adobe_collections_decode_without_to_unicode() {
        // pdfminer__nlp2004slides: Identity-H over Adobe-Japan1, no ToUnicode.
        let dict = b"<< /Subtype /Type0 /Encoding /Identity-H /DescendantFonts [<< \
              /CIDSystemInfo << /Registry (Adobe) /Ordering (Japan1) /Supplement 6 >> >>] >>";
        // CID 34 is 'A', CID 843 is HIRAGANA LETTER A.
        assert_eq!(decode(dict, b"\x00\x22\x03\x4b"), "A\u{3042}");
        // pdfminer__jo (Identity-V): CID 2664 is the ideograph, not the radical U+2EDD;
        // CID 7923, vertical small tsu, is only in the -V CMap.
        assert_eq!(decode(dict, b"\x0a\x68\x1e\xf3"), "\u{9752}\u{3063}");
        let identity = b"<< /Subtype /Type0 /Encoding /Identity-H /DescendantFonts [<< \
              /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) >> >>] >>";
        assert_eq!(decode(identity, b"\x00\x22"), "");
    }

    #[test]
    fn identity_to_unicode_name_reads_codes_as_ucs2() {
        // pdfminer__issue-625-identity-cmap: both its pages came out empty.
        let t = decode(
            b"<< /Subtype /Type0 /Encoding /Identity-H /ToUnicode /Identity-H >>",
            b"\x00\x4c\x01\x42",
        );
        assert_eq!(t, "L\u{142}");
    }

    #[test]
    fn predefined_codespaces_split_codes() {
        let c = predefined_codespace(b"90ms-RKSJ-H");
        assert_eq!(c.next_code(&[0x41, 0x82]), (0x41, 1));
        assert_eq!(c.next_code(&[0x82, 0xA0]), (0x82A0, 2));
    }
}
