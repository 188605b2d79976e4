//! CMaps: ToUnicode maps (ISO 32000-1 §9.10.3) and embedded encoding CMaps of Type0
//! fonts (§9.7.5; Adobe Technical Note #5014 for the syntax).
//!
//! Only the parts text extraction needs are read: `codespacerange` (how many bytes a code
//! has), `bfchar`/`bfrange` (code -> Unicode) and `cidchar`/`cidrange` (code -> CID).
//! Everything else in the PostScript-like syntax is skipped.

/// One `codespacerange` entry: codes of `len` bytes whose bytes each lie between the
/// bytes of `lo` and `hi` (the comparison is per byte, §9.7.6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeRange {
    pub len: u8,
    pub lo: [u8; 4],
    pub hi: [u8; 4],
}

impl CodeRange {
    fn contains(&self, bytes: &[u8]) -> bool {
        let n = self.len as usize;
        bytes.len() >= n && (0..n).all(|i| self.lo[i] <= bytes[i] && bytes[i] <= self.hi[i])
    }
}

/// A parsed CMap.
#[derive(Debug, Default, Clone)]
pub struct CMap {
    pub codespace: Vec<CodeRange>,
    /// `bfchar` entries: (code, start, end) into `pool`, sorted by code.
    chars: Vec<(u32, u32, u32)>,
    /// `bfrange` entries: (lo, hi, start, end) into `pool`; the last UTF-16 unit of the
    /// destination is incremented by `code - lo`. Sorted by `lo`.
    ranges: Vec<(u32, u32, u32, u32)>,
    /// UTF-16 code units of all destinations.
    pool: Vec<u16>,
    /// `cidchar`/`cidrange` entries: (lo, hi, first CID), sorted by `lo`.
    cids: Vec<(u32, u32, u32)>,
    /// The parent CMap named by `usecmap`, if any.
    pub use_cmap: Option<String>,
}

/// Bounds on what one CMap may hold, so a hostile one cannot exhaust memory.
const MAX_ENTRIES: usize = 1 << 20;
const MAX_POOL: usize = 1 << 22;

impl CMap {
    /// Parses CMap data. Never fails: what cannot be read is skipped.
    pub fn parse(data: &[u8]) -> CMap {
        let mut cmap = CMap::default();
        let mut lx = Lexer { data, pos: 0 };
        let mut operands: Vec<Tok<'_>> = Vec::new();
        while let Some(tok) = lx.next() {
            match tok {
                Tok::Word(b"begincodespacerange") => {
                    operands.clear();
                    cmap.read_section(&mut lx, b"endcodespacerange", 2, |c, t| {
                        if let (Tok::Hex(lo), Tok::Hex(hi)) = (&t[0], &t[1])
                            && !lo.is_empty()
                            && lo.len() <= 4
                            && lo.len() == hi.len()
                        {
                            let mut r = CodeRange {
                                len: lo.len() as u8,
                                lo: [0; 4],
                                hi: [0; 4],
                            };
                            r.lo[..lo.len()].copy_from_slice(lo);
                            r.hi[..hi.len()].copy_from_slice(hi);
                            c.codespace.push(r);
                        }
                    });
                }
                Tok::Word(b"beginbfchar") => {
                    cmap.read_section(&mut lx, b"endbfchar", 2, |c, t| {
                        if let (Some(code), Some(dst)) = (code_of(&t[0]), dst_units(&t[1])) {
                            let (s, e) = c.pool_push(&dst);
                            c.chars.push((code, s, e));
                        }
                    });
                }
                Tok::Word(b"beginbfrange") => {
                    cmap.read_bfrange(&mut lx);
                }
                Tok::Word(b"begincidchar") => {
                    cmap.read_section(&mut lx, b"endcidchar", 2, |c, t| {
                        if let (Some(code), Tok::Num(cid)) = (code_of(&t[0]), &t[1]) {
                            c.cids.push((code, code, (*cid).max(0) as u32));
                        }
                    });
                }
                Tok::Word(b"begincidrange") => {
                    cmap.read_section(&mut lx, b"endcidrange", 3, |c, t| {
                        if let (Some(lo), Some(hi), Tok::Num(cid)) =
                            (code_of(&t[0]), code_of(&t[1]), &t[2])
                            && lo <= hi
                        {
                            c.cids.push((lo, hi, (*cid).max(0) as u32));
                        }
                    });
                }
                Tok::Word(b"usecmap") => {
                    if let Some(Tok::Name(n)) = operands.last() {
                        cmap.use_cmap = Some(String::from_utf8_lossy(n).into_owned());
                    }
                    operands.clear();
                }
                Tok::Word(_) => operands.clear(),
                other => {
                    if operands.len() > 8 {
                        operands.clear();
                    }
                    operands.push(other);
                }
            }
            if cmap.chars.len() + cmap.ranges.len() + cmap.cids.len() > MAX_ENTRIES {
                break;
            }
        }
        cmap.chars.sort_by_key(|e| e.0);
        cmap.ranges.sort_by_key(|e| e.0);
        cmap.cids.sort_by_key(|e| e.0);
        cmap
    }

    fn pool_push(&mut self, units: &[u16]) -> (u32, u32) {
        if self.pool.len() + units.len() > MAX_POOL {
            return (0, 0);
        }
        let s = self.pool.len() as u32;
        self.pool.extend_from_slice(units);
        (s, self.pool.len() as u32)
    }

    /// Reads groups of `n` operands until `end`, handing each group to `f`.
    fn read_section<'d>(
        &mut self,
        lx: &mut Lexer<'d>,
        end: &[u8],
        n: usize,
        mut f: impl FnMut(&mut CMap, &[Tok<'d>]),
    ) {
        let mut group: Vec<Tok<'d>> = Vec::with_capacity(n);
        while let Some(tok) = lx.next() {
            match tok {
                Tok::Word(w) if w == end => return,
                Tok::Word(_) => return,
                t => {
                    group.push(t);
                    if group.len() == n {
                        f(self, &group);
                        group.clear();
                        if self.chars.len() + self.cids.len() > MAX_ENTRIES {
                            return;
                        }
                    }
                }
            }
        }
    }

    fn read_bfrange(&mut self, lx: &mut Lexer<'_>) {
        loop {
            let (Some(lo_t), Some(hi_t)) = (lx.next(), lx.next()) else {
                return;
            };
            let (Some(lo), Some(hi)) = (code_of(&lo_t), code_of(&hi_t)) else {
                return;
            };
            match lx.next() {
                Some(Tok::Hex(dst)) => {
                    let units = utf16_units(&dst);
                    if lo <= hi && !units.is_empty() && self.ranges.len() < MAX_ENTRIES {
                        let (s, e) = self.pool_push(&units);
                        self.ranges.push((lo, hi, s, e));
                    }
                }
                Some(Tok::ArrayStart) => {
                    let mut code = lo;
                    while let Some(t) = lx.next() {
                        match t {
                            Tok::ArrayEnd => break,
                            Tok::Hex(dst) => {
                                if code <= hi && self.chars.len() < MAX_ENTRIES {
                                    let (s, e) = self.pool_push(&utf16_units(&dst));
                                    self.chars.push((code, s, e));
                                }
                                code = code.saturating_add(1);
                            }
                            Tok::Word(_) => return,
                            _ => {}
                        }
                    }
                }
                _ => return,
            }
        }
    }

    /// Whether the CMap maps anything to Unicode.
    pub fn has_unicode(&self) -> bool {
        !self.chars.is_empty() || !self.ranges.is_empty()
    }

    /// Appends the Unicode text of `code` to `out`; false when the code is not mapped.
    pub fn push_unicode(&self, code: u32, out: &mut String) -> bool {
        if let Ok(i) = self.chars.binary_search_by_key(&code, |e| e.0) {
            let (_, s, e) = self.chars[i];
            push_utf16(&self.pool[s as usize..e as usize], 0, out);
            return true;
        }
        // The last range starting at or before `code` that contains it.
        let idx = self.ranges.partition_point(|r| r.0 <= code);
        for &(lo, hi, s, e) in self.ranges[..idx].iter().rev().take(8) {
            if code <= hi {
                push_utf16(&self.pool[s as usize..e as usize], code - lo, out);
                return true;
            }
        }
        false
    }

    /// The CID of `code` from `cidchar`/`cidrange` entries.
    pub fn cid(&self, code: u32) -> Option<u32> {
        let idx = self.cids.partition_point(|r| r.0 <= code);
        self.cids[..idx]
            .iter()
            .rev()
            .take(8)
            .find(|r| code <= r.1)
            .map(|r| r.2 + (code - r.0))
    }

    /// Splits the next code off `bytes` by the codespace ranges: (code, length). Bytes no
    /// range matches are taken with the length of the shortest range (§9.7.6.3).
    pub fn next_code(&self, bytes: &[u8]) -> (u32, usize) {
        let mut shortest = 4usize;
        for r in &self.codespace {
            if r.contains(bytes) {
                let n = r.len as usize;
                return (be(&bytes[..n]), n);
            }
            shortest = shortest.min(r.len as usize);
        }
        let n = shortest.clamp(1, 4).min(bytes.len());
        (be(&bytes[..n]), n.max(1))
    }
}

/// Big-endian value of up to 4 bytes.
pub(crate) fn be(bytes: &[u8]) -> u32 {
    bytes.iter().take(4).fold(0u32, |a, &b| (a << 8) | b as u32)
}

fn code_of(t: &Tok<'_>) -> Option<u32> {
    match t {
        Tok::Hex(h) if !h.is_empty() && h.len() <= 4 => Some(be(h)),
        Tok::Num(n) if *n >= 0 => Some(*n as u32),
        _ => None,
    }
}

/// A `bfchar` destination: a hex string of UTF-16BE, or (rarely) a glyph name.
fn dst_units(t: &Tok<'_>) -> Option<Vec<u16>> {
    match t {
        Tok::Hex(h) => Some(utf16_units(h)),
        Tok::Name(n) => {
            let mut s = String::new();
            crate::text::encoding::glyph_to_unicode(n, &mut s).then(|| s.encode_utf16().collect())
        }
        _ => None,
    }
}

fn utf16_units(bytes: &[u8]) -> Vec<u16> {
    let mut units: Vec<u16> = bytes
        .chunks(2)
        .map(|c| {
            if c.len() == 2 {
                u16::from_be_bytes([c[0], c[1]])
            } else {
                c[0] as u16
            }
        })
        .collect();
    units.truncate(64);
    units
}

/// Appends UTF-16 `units`, with `add` added to the last unit (bfrange increments).
fn push_utf16(units: &[u16], add: u32, out: &mut String) {
    if units.is_empty() {
        return;
    }
    if add == 0 {
        out.extend(char::decode_utf16(units.iter().copied()).map(|r| r.unwrap_or('\u{FFFD}')));
        return;
    }
    let (last, head) = match units.split_last() {
        Some(x) => x,
        None => return,
    };
    // A range whose destination is a surrogate pair increments the low surrogate; beyond
    // it, compute on the scalar value instead.
    if head.is_empty() {
        let v = *last as u32 + add;
        if let Some(c) = char::from_u32(v) {
            out.push(c);
        }
        return;
    }
    let mut all = head.to_vec();
    let decoded: Vec<char> = char::decode_utf16(units.iter().copied())
        .map(|r| r.unwrap_or('\u{FFFD}'))
        .collect();
    if let Some(&lastc) = decoded.last()
        && (lastc as u32) >= 0x10000
    {
        for c in &decoded[..decoded.len() - 1] {
            out.push(*c);
        }
        if let Some(c) = char::from_u32(lastc as u32 + add) {
            out.push(c);
        }
        return;
    }
    all.push(last.wrapping_add(add as u16));
    out.extend(char::decode_utf16(all).map(|r| r.unwrap_or('\u{FFFD}')));
}

#[derive(Debug, Clone, PartialEq)]
enum Tok<'d> {
    Hex(Vec<u8>),
    Str,
    Name(&'d [u8]),
    Num(i64),
    Word(&'d [u8]),
    ArrayStart,
    ArrayEnd,
    Other,
}

struct Lexer<'d> {
    data: &'d [u8],
    pos: usize,
}

fn is_delim(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

impl<'d> Lexer<'d> {
    fn next(&mut self) -> Option<Tok<'d>> {
        let d = self.data;
        loop {
            let b = *d.get(self.pos)?;
            if b.is_ascii_whitespace() || b == 0 {
                self.pos += 1;
            } else if b == b'%' {
                while self.pos < d.len() && d[self.pos] != b'\n' && d[self.pos] != b'\r' {
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
        let b = d[self.pos];
        match b {
            b'<' if d.get(self.pos + 1) == Some(&b'<') => {
                self.pos += 2;
                Some(Tok::Other)
            }
            b'>' if d.get(self.pos + 1) == Some(&b'>') => {
                self.pos += 2;
                Some(Tok::Other)
            }
            b'<' => {
                self.pos += 1;
                let mut out = Vec::new();
                let mut hi: Option<u8> = None;
                while let Some(&c) = d.get(self.pos) {
                    self.pos += 1;
                    if c == b'>' {
                        break;
                    }
                    let v = match c {
                        b'0'..=b'9' => c - b'0',
                        b'a'..=b'f' => c - b'a' + 10,
                        b'A'..=b'F' => c - b'A' + 10,
                        _ => continue,
                    };
                    match hi.take() {
                        Some(h) => out.push(h << 4 | v),
                        None => hi = Some(v),
                    }
                }
                if let Some(h) = hi {
                    out.push(h << 4);
                }
                Some(Tok::Hex(out))
            }
            b'(' => {
                let mut depth = 0usize;
                while let Some(&c) = d.get(self.pos) {
                    self.pos += 1;
                    match c {
                        b'\\' => self.pos += 1,
                        b'(' => depth += 1,
                        b')' => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                Some(Tok::Str)
            }
            b'[' => {
                self.pos += 1;
                Some(Tok::ArrayStart)
            }
            b']' => {
                self.pos += 1;
                Some(Tok::ArrayEnd)
            }
            b'/' => {
                self.pos += 1;
                let s = self.pos;
                while self.pos < d.len()
                    && !d[self.pos].is_ascii_whitespace()
                    && !is_delim(d[self.pos])
                {
                    self.pos += 1;
                }
                Some(Tok::Name(&d[s..self.pos]))
            }
            _ if is_delim(b) => {
                self.pos += 1;
                Some(Tok::Other)
            }
            _ => {
                let s = self.pos;
                while self.pos < d.len()
                    && !d[self.pos].is_ascii_whitespace()
                    && !is_delim(d[self.pos])
                {
                    self.pos += 1;
                }
                let w = &d[s..self.pos];
                if w.first().is_some_and(|c| c.is_ascii_digit() || *c == b'-')
                    && let Some(n) = std::str::from_utf8(w).ok().and_then(|t| t.parse().ok())
                {
                    return Some(Tok::Num(n));
                }
                Some(Tok::Word(w))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uni(c: &CMap, code: u32) -> Option<String> {
        let mut s = String::new();
        c.push_unicode(code, &mut s).then_some(s)
    }

    #[test]
    fn bfchar_and_bfrange() {
        let c = CMap::parse(
            b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n\
              1 begincodespacerange <0000> <FFFF> endcodespacerange\n\
              2 beginbfchar <0003> <0020> <0011> <00660069> endbfchar\n\
              2 beginbfrange <0024> <0026> <0041> <0030> <0031> [<0061> <0062>] endbfrange\n\
              endcmap",
        );
        assert_eq!(uni(&c, 3).as_deref(), Some(" "));
        assert_eq!(uni(&c, 0x11).as_deref(), Some("fi"));
        assert_eq!(uni(&c, 0x25).as_deref(), Some("B"));
        assert_eq!(uni(&c, 0x26).as_deref(), Some("C"));
        assert_eq!(uni(&c, 0x31).as_deref(), Some("b"));
        assert_eq!(uni(&c, 0x27), None);
        assert_eq!(c.next_code(&[0, 3, 9]), (3, 2));
    }

    #[test]
    fn surrogate_pairs_and_one_byte_codes() {
        let c = CMap::parse(
            b"1 begincodespacerange <00> <FF> endcodespacerange\n\
              1 beginbfchar <41> <D835DC00> endbfchar\n\
              1 beginbfrange <50> <52> <D835DC00> endbfrange",
        );
        assert_eq!(uni(&c, 0x41).as_deref(), Some("\u{1D400}"));
        assert_eq!(uni(&c, 0x52).as_deref(), Some("\u{1D402}"));
        assert_eq!(c.next_code(b"AB"), (0x41, 1));
    }

    #[test]
    fn mixed_length_codespace() {
        let c = CMap::parse(
            b"2 begincodespacerange <00> <80> <8140> <9FFC> endcodespacerange\n\
              1 begincidrange <8140> <817E> 633 endcidrange 1 begincidchar <41> 34 endcidchar",
        );
        assert_eq!(c.next_code(&[0x41, 0x81]), (0x41, 1));
        assert_eq!(c.next_code(&[0x81, 0x41]), (0x8141, 2));
        assert_eq!(c.cid(0x8141), Some(634));
        assert_eq!(c.cid(0x41), Some(34));
        assert_eq!(c.cid(0x42), None);
    }

    #[test]
    fn garbage_and_truncation_do_not_panic() {
        for input in [
            &b"begincodespacerange <00"[..],
            b"beginbfrange <00> <ff>",
            b"beginbfrange <00> <ff> [<41",
            b"beginbfchar <0041> <",
            b"(((((",
            b"\xff\xfe<<>>]]]",
            b"1 beginbfrange <FFFFFFFF> <FFFFFFFF> <DBFFDFFF> endbfrange",
        ] {
            let c = CMap::parse(input);
            let mut s = String::new();
            for code in [0, 0x41, 0xFFFF_FFFF] {
                c.push_unicode(code, &mut s);
            }
            let _ = c.next_code(&[]);
        }
    }
}
