//! A content-stream scanner built for text (ISO 32000-1 §7.8.2, lexical rules §7.2-§7.3).
//!
//! Content streams are postfix: operands come before the operator that says what they
//! mean, so every operand must be read. But most of them belong to operators text does
//! not need (paths, colours, images, shading), so the scanner only finds where each
//! operand starts and ends and what kind it is; nothing is built for it. Numbers are
//! parsed, strings unescaped and arrays walked only when the interpreter asks, for the
//! few operators it runs. Inline images (§8.9.7) are skipped whole.
//!
//! It never fails: bytes that make no sense are stepped over, an unclosed string,
//! array or dictionary ends at the end of the data, and the operand stack is bounded
//! (older operands are dropped past [`MAX_OPERANDS`]).

use std::borrow::Cow;

/// At most this many operands are kept for one operator; past it the oldest half is
/// dropped (no operator takes more than 33: `scn` with 32 components and a name).
pub const MAX_OPERANDS: usize = 64;

/// The kind of an operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Number,
    /// `/Name`; its bytes are after the slash, `#xx` escapes not applied.
    Name,
    /// `( ... )`; its bytes are between the parentheses, escapes not applied.
    Literal,
    /// `< ... >`; its bytes are between the brackets.
    Hex,
    /// `[ ... ]`; its bytes are between the brackets.
    Array,
    /// `<< ... >>`; its bytes include both delimiters.
    Dict,
    /// `true`, `false`, `null`.
    Other,
}

/// One operand: its kind and where its bytes are in the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operand {
    pub kind: Kind,
    start: u32,
    end: u32,
}

/// Byte classes (§7.2.2): whitespace, delimiters, and everything else ("regular").
const WHITE: u8 = 1;
const DELIM: u8 = 2;

static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    let white = b"\0\t\n\x0c\r ";
    while i < white.len() {
        t[white[i] as usize] = WHITE;
        i += 1;
    }
    let delims = b"()<>[]{}/%";
    i = 0;
    while i < delims.len() {
        t[delims[i] as usize] = DELIM;
        i += 1;
    }
    t
};

/// The bytes [`composite_end`] looks at: everything else is stepped over.
static SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let special = b"[]<>(%";
    let mut i = 0;
    while i < special.len() {
        t[special[i] as usize] = true;
        i += 1;
    }
    t
};

/// What a token starting with a byte is (§7.2, §7.3), for [`Scanner::next_operator`].
#[derive(Clone, Copy)]
enum Start {
    White,
    /// A digit, sign or period.
    Number,
    Name,
    Literal,
    /// `<`: a hex string or `<<`.
    Angle,
    Array,
    Comment,
    /// A delimiter that starts nothing: `)`, `>`, `]`, `{`, `}`.
    Stray,
    /// An operator or `true`, `false`, `null`.
    Regular,
}

static START: [Start; 256] = {
    let mut t = [Start::Regular; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = match i as u8 {
            b'0'..=b'9' | b'+' | b'-' | b'.' => Start::Number,
            b'/' => Start::Name,
            b'(' => Start::Literal,
            b'<' => Start::Angle,
            b'[' => Start::Array,
            b'%' => Start::Comment,
            b')' | b'>' | b']' | b'{' | b'}' => Start::Stray,
            b'\0' | b'\t' | b'\n' | b'\x0c' | b'\r' | b' ' => Start::White,
            _ => Start::Regular,
        };
        i += 1;
    }
    t
};

/// Where the run of regular bytes from `from` ends.
#[inline]
fn regular_end(data: &[u8], from: usize) -> usize {
    let mut i = from;
    while i < data.len() && is_regular(data[i]) {
        i += 1;
    }
    i
}

fn is_regular(b: u8) -> bool {
    CLASS[b as usize] == 0
}

fn is_white(b: u8) -> bool {
    CLASS[b as usize] == WHITE
}

/// Scans a content stream operator by operator.
pub struct Scanner<'a> {
    data: &'a [u8],
    pos: usize,
    operands: Vec<Operand>,
    /// Between `BI` and `ID`: a `BI` there is not another image.
    image_dict: bool,
}

impl<'a> Scanner<'a> {
    /// A scanner over `data` that keeps its operands in `stack` (cleared; its allocation
    /// is reused: hand it back with [`Scanner::into_stack`]).
    pub fn new(data: &'a [u8], mut stack: Vec<Operand>) -> Self {
        // Offsets are kept as u32: longer data is cut (content streams are capped far
        // below that, stream::MAX_DECODED).
        let data = &data[..data.len().min(u32::MAX as usize)];
        stack.clear();
        Scanner {
            data,
            pos: 0,
            operands: stack,
            image_dict: false,
        }
    }

    /// The operand stack's allocation, for the next scanner.
    pub fn into_stack(self) -> Vec<Operand> {
        self.operands
    }

    /// The data being scanned.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// The operands of the operator last returned by [`Scanner::next_operator`].
    pub fn operands(&self) -> &[Operand] {
        &self.operands
    }

    /// The next operator; its operands are then in [`Scanner::operands`]. `None` at the
    /// end of the data.
    ///
    /// The position is kept in a local while scanning and each kind of token is told by
    /// one table lookup of its first byte ([`START`]): most operands are short numbers
    /// one space apart (issue 11: the scanner was a seventh of the instructions of a
    /// pass).
    pub fn next_operator(&mut self) -> Option<&'a [u8]> {
        self.operands.clear();
        let data = self.data;
        let mut pos = self.pos;
        let op = loop {
            let Some(&b) = data.get(pos) else {
                self.pos = pos;
                return None;
            };
            match START[b as usize] {
                Start::White => {
                    pos += 1;
                    while data.get(pos).is_some_and(|&b| is_white(b)) {
                        pos += 1;
                    }
                }
                // A number, or a damaged token that starts like one (no operator does):
                // told apart when it is read (Scanner::number).
                Start::Number => {
                    let end = regular_end(data, pos + 1);
                    self.push(Kind::Number, pos, end);
                    pos = end;
                }
                Start::Name => {
                    let end = regular_end(data, pos + 1);
                    self.push(Kind::Name, pos + 1, end);
                    pos = end;
                }
                Start::Literal => {
                    let end = literal_end(data, pos + 1);
                    self.push(Kind::Literal, pos + 1, end);
                    pos = (end + 1).min(data.len());
                }
                Start::Angle => {
                    if data.get(pos + 1) == Some(&b'<') {
                        let end = composite_end(data, pos);
                        self.push(Kind::Dict, pos, end);
                        pos = end;
                    } else {
                        let start = pos + 1;
                        let end =
                            memchr::memchr(b'>', &data[start..]).map_or(data.len(), |i| start + i);
                        self.push(Kind::Hex, start, end);
                        pos = (end + 1).min(data.len());
                    }
                }
                Start::Array => {
                    let after = composite_end(data, pos);
                    let end = if data[after - 1] == b']' && after - 1 > pos {
                        after - 1
                    } else {
                        after
                    };
                    self.push(Kind::Array, pos + 1, end);
                    pos = after;
                }
                Start::Comment => pos = line_end(data, pos),
                // A stray `)`, `>`, `]`, `{` or `}`: nothing starts there.
                Start::Stray => pos += 1,
                Start::Regular => {
                    let start = pos;
                    pos = regular_end(data, pos + 1);
                    let op = &data[start..pos];
                    match op {
                        b"true" | b"false" | b"null" => self.push(Kind::Other, start, pos),
                        b"BI" if !self.image_dict => {
                            self.pos = pos;
                            self.skip_inline_image();
                            return Some(op);
                        }
                        _ => break op,
                    }
                }
            }
        };
        self.pos = pos;
        Some(op)
    }

    #[inline]
    fn push(&mut self, kind: Kind, start: usize, end: usize) {
        if self.operands.len() == MAX_OPERANDS {
            self.operands.drain(..MAX_OPERANDS / 2);
        }
        self.operands.push(Operand {
            kind,
            start: start as u32,
            end: end as u32,
        });
    }

    /// After `BI`: the image dictionary up to `ID`, one whitespace byte, then the data up
    /// to the `EI` that ends it (§8.9.7). The data has no length (before PDF 2.0), so
    /// the end is the first `EI` between whitespace (or the end of the data) that is
    /// followed by what looks like content: no byte outside printable ASCII and
    /// whitespace within the next 32 bytes.
    fn skip_inline_image(&mut self) {
        let data = self.data;
        // The dictionary: operands up to the `ID` operator.
        self.image_dict = true;
        let found = loop {
            match self.next_operator() {
                Some(b"ID") => break true,
                Some(_) => {}
                None => break false,
            }
        };
        self.image_dict = false;
        self.operands.clear();
        if !found {
            return;
        }
        let start = (self.pos + 1).min(data.len());
        let mut at = start;
        while let Some(i) = memchr::memmem::find(&data[at..], b"EI") {
            let ei = at + i;
            at = ei + 2;
            let before_ok = ei == start || is_white(data[ei - 1]);
            let after = &data[at..];
            let after_ok = after.first().is_none_or(|&b| !is_regular(b));
            if before_ok
                && after_ok
                && after
                    .iter()
                    .take(32)
                    .all(|&b| (0x20..0x7f).contains(&b) || is_white(b))
            {
                self.pos = at;
                return;
            }
        }
        self.pos = data.len();
    }

    /// The bytes of an operand as it is written (see [`Kind`] for what they cover).
    pub fn raw(&self, op: &Operand) -> &'a [u8] {
        &self.data[op.start as usize..op.end as usize]
    }

    /// A number operand's value; `None` for other kinds and for a damaged token that
    /// starts like a number (`1.2.3`, `3x`).
    pub fn number(&self, op: &Operand) -> Option<f64> {
        if op.kind != Kind::Number {
            return None;
        }
        parse_number(self.raw(op))
    }

    /// A name operand with its `#xx` escapes applied (§7.3.5).
    pub fn name(&self, op: &Operand) -> Option<Cow<'a, [u8]>> {
        (op.kind == Kind::Name).then(|| unescape_name(self.raw(op)))
    }

    /// A string operand's bytes (§7.3.4): escapes of a literal string applied, a hex
    /// string decoded; into `buf` when they differ from the written bytes.
    pub fn string<'b>(&self, op: &Operand, buf: &'b mut Vec<u8>) -> Option<&'b [u8]>
    where
        'a: 'b,
    {
        string_bytes(op.kind, self.raw(op), buf)
    }

    /// The items of an array operand, in order (nested arrays and dictionaries are
    /// items of kind [`Kind::Array`] and [`Kind::Dict`], not walked).
    pub fn items(&self, op: &Operand) -> Items<'a> {
        let range = if op.kind == Kind::Array {
            self.raw(op)
        } else {
            &[]
        };
        Items {
            data: range,
            pos: 0,
        }
    }
}

/// The items of an array, each an operand over the array's bytes.
pub struct Items<'a> {
    data: &'a [u8],
    pos: usize,
}

/// One item of an array.
pub enum Item<'a> {
    Number(f64),
    /// A string: its kind ([`Kind::Literal`] or [`Kind::Hex`]) and written bytes; see
    /// [`Item::bytes`].
    String(Kind, &'a [u8]),
    /// Anything else (names, nested arrays, dictionaries, damaged tokens).
    Other,
}

impl<'a> Item<'a> {
    /// A string item's bytes, as [`Scanner::string`].
    pub fn bytes<'b>(&self, buf: &'b mut Vec<u8>) -> Option<&'b [u8]>
    where
        'a: 'b,
    {
        match self {
            Item::String(kind, raw) => string_bytes(*kind, raw, buf),
            _ => None,
        }
    }
}

impl<'a> Iterator for Items<'a> {
    type Item = Item<'a>;

    fn next(&mut self) -> Option<Item<'a>> {
        let data = self.data;
        loop {
            let b = *data.get(self.pos)?;
            let start = self.pos;
            return Some(match b {
                _ if is_white(b) => {
                    self.pos += 1;
                    continue;
                }
                b'%' => {
                    self.pos = line_end(data, start);
                    continue;
                }
                b'(' => {
                    let end = literal_end(data, start + 1);
                    self.pos = (end + 1).min(data.len());
                    Item::String(Kind::Literal, &data[start + 1..end])
                }
                b'<' if data.get(start + 1) != Some(&b'<') => {
                    let end =
                        memchr::memchr(b'>', &data[start..]).map_or(data.len(), |i| start + i);
                    self.pos = (end + 1).min(data.len());
                    Item::String(Kind::Hex, &data[start + 1..end])
                }
                b'<' | b'[' => {
                    self.pos = composite_end(data, start);
                    Item::Other
                }
                _ if is_regular(b) => {
                    let end = data[start..]
                        .iter()
                        .position(|&b| !is_regular(b))
                        .map_or(data.len(), |i| start + i);
                    self.pos = end;
                    match parse_number(&data[start..end]) {
                        Some(v) => Item::Number(v),
                        None => Item::Other,
                    }
                }
                // `/Name`, stray delimiters.
                b'/' => {
                    let end = data[start + 1..]
                        .iter()
                        .position(|&b| !is_regular(b))
                        .map_or(data.len(), |i| start + 1 + i);
                    self.pos = end;
                    Item::Other
                }
                _ => {
                    self.pos += 1;
                    Item::Other
                }
            });
        }
    }
}

/// Where the end of line after `from` is (the position of the `\r` or `\n`, or the end).
fn line_end(data: &[u8], from: usize) -> usize {
    memchr::memchr2(b'\n', b'\r', &data[from..]).map_or(data.len(), |i| from + i)
}

/// The position of the `)` closing a literal string whose bytes start at `from`
/// (balanced parentheses, backslash escapes), or the end of the data. A plain loop:
/// most strings in content are a few bytes long, too short for a vectorised search.
fn literal_end(data: &[u8], from: usize) -> usize {
    let mut depth = 1usize;
    let mut i = from;
    while i < data.len() {
        match data[i] {
            b'\\' => i += 1,
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
        i += 1;
    }
    data.len()
}

/// The position after the array or dictionary starting at `from` (`[` or `<<`): nesting
/// of both is counted alike, strings and comments are stepped over. The end of the data
/// when it is not closed.
fn composite_end(data: &[u8], from: usize) -> usize {
    let mut depth = 0usize;
    let mut i = from;
    while i < data.len() {
        if !SPECIAL[data[i] as usize] {
            i += 1;
            continue;
        }
        match data[i] {
            b'[' => depth += 1,
            b']' => depth = depth.saturating_sub(1),
            b'<' if data.get(i + 1) == Some(&b'<') => {
                depth += 1;
                i += 1;
            }
            b'>' if data.get(i + 1) == Some(&b'>') => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'<' => {
                i = memchr::memchr(b'>', &data[i..]).map_or(data.len(), |k| i + k);
            }
            b'(' => i = literal_end(data, i + 1),
            b'%' => i = line_end(data, i),
            _ => {}
        }
        i += 1;
        if depth == 0 {
            return i.min(data.len());
        }
    }
    data.len()
}

/// The value of a number token (§7.3.3: an optional sign, digits with at most one
/// period, at least one digit): the digits as an integer divided by the power of ten of
/// the fraction's length; more than 18 digits are read as a float. `None` for anything
/// else.
fn parse_number(token: &[u8]) -> Option<f64> {
    let (negative, digits) = match token.first() {
        Some(b'-') => (true, &token[1..]),
        Some(b'+') => (false, &token[1..]),
        _ => (false, token),
    };
    let mut mantissa = 0u64;
    let mut count = 0usize;
    let mut point = None;
    for (i, &b) in digits.iter().enumerate() {
        let d = b.wrapping_sub(b'0');
        if d < 10 {
            mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(d));
            count += 1;
        } else if b == b'.' && point.is_none() {
            point = Some(i);
        } else {
            return None;
        }
    }
    if count == 0 {
        return None;
    }
    let value = if count > 18 {
        std::str::from_utf8(digits).ok()?.parse::<f64>().ok()?
    } else {
        match point {
            None => mantissa as f64,
            Some(at) => mantissa as f64 / POWERS_OF_TEN[digits.len() - at - 1],
        }
    };
    Some(if negative { -value } else { value })
}

const POWERS_OF_TEN: [f64; 19] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18,
];

fn hex_value(b: u8) -> Option<u8> {
    char::from(b).to_digit(16).map(|v| v as u8)
}

/// `#xx` escapes of a name applied (§7.3.5); a `#` not followed by two hex digits stays.
fn unescape_name(raw: &[u8]) -> Cow<'_, [u8]> {
    if !raw.contains(&b'#') {
        return Cow::Borrowed(raw);
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'#'
            && let (Some(h), Some(l)) = (
                raw.get(i + 1).and_then(|&b| hex_value(b)),
                raw.get(i + 2).and_then(|&b| hex_value(b)),
            )
        {
            out.push(h << 4 | l);
            i += 3;
        } else {
            out.push(raw[i]);
            i += 1;
        }
    }
    Cow::Owned(out)
}

fn string_bytes<'a: 'b, 'b>(kind: Kind, raw: &'a [u8], buf: &'b mut Vec<u8>) -> Option<&'b [u8]> {
    match kind {
        Kind::Literal => {
            // Most strings are a few bytes: a plain loop beats a vectorised search.
            let plain = if raw.len() < 64 {
                !raw.iter().any(|&b| matches!(b, b'\\' | b'\r' | b'\n'))
            } else {
                memchr::memchr3(b'\\', b'\r', b'\n', raw).is_none()
            };
            if plain {
                return Some(raw);
            }
            buf.clear();
            unescape_literal(raw, buf);
            Some(buf)
        }
        Kind::Hex => {
            buf.clear();
            let mut high: Option<u8> = None;
            for v in raw.iter().filter_map(|&b| hex_value(b)) {
                match high.take() {
                    Some(h) => buf.push(h << 4 | v),
                    None => high = Some(v),
                }
            }
            if let Some(h) = high {
                buf.push(h << 4);
            }
            Some(buf)
        }
        _ => None,
    }
}

/// A literal string's escapes (§7.3.4.2, Table 3): `\n \r \t \b \f \( \) \\`, one to
/// three octal digits (high-order overflow ignored), a backslash before an end of line
/// joins the lines, a backslash before anything else is dropped; an end of line (CR,
/// LF or CR LF) is one LF.
fn unescape_literal(raw: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        i += 1;
        match b {
            b'\r' => {
                if raw.get(i) == Some(&b'\n') {
                    i += 1;
                }
                out.push(b'\n');
            }
            b'\\' => {
                let Some(&e) = raw.get(i) else { break };
                i += 1;
                match e {
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'b' => out.push(0x08),
                    b'f' => out.push(0x0c),
                    b'0'..=b'7' => {
                        let mut v = u32::from(e - b'0');
                        for _ in 0..2 {
                            match raw.get(i) {
                                Some(&d @ b'0'..=b'7') => {
                                    v = v * 8 + u32::from(d - b'0');
                                    i += 1;
                                }
                                _ => break,
                            }
                        }
                        out.push(v as u8);
                    }
                    b'\r' => {
                        if raw.get(i) == Some(&b'\n') {
                            i += 1;
                        }
                    }
                    b'\n' => {}
                    other => out.push(other),
                }
            }
            other => out.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each operator with its operands as (kind, bytes).
    fn scan(data: &[u8]) -> Vec<(String, Vec<(Kind, String)>)> {
        let mut s = Scanner::new(data, Vec::new());
        let mut out = Vec::new();
        while let Some(op) = s.next_operator() {
            let operands = s
                .operands()
                .iter()
                .map(|o| (o.kind, String::from_utf8_lossy(s.raw(o)).into_owned()))
                .collect();
            out.push((String::from_utf8_lossy(op).into_owned(), operands));
        }
        out
    }

    #[test]
    fn operators_and_their_operands() {
        let ops = scan(b"BT /F1 12 Tf 1 0 0 1 72.5 -.5 Tm [(a) -20 <0041>] TJ ET % done\nq");
        let names: Vec<&str> = ops.iter().map(|(o, _)| o.as_str()).collect();
        assert_eq!(names, ["BT", "Tf", "Tm", "TJ", "ET", "q"]);
        assert_eq!(
            ops[1].1,
            [(Kind::Name, "F1".into()), (Kind::Number, "12".into())]
        );
        assert_eq!(ops[2].1.len(), 6);
        assert_eq!(ops[3].1, [(Kind::Array, "(a) -20 <0041>".into())]);
    }

    #[test]
    fn numbers_parse_as_written() {
        for (t, v) in [
            (&b"12"[..], 12.0),
            (b"-3.5", -3.5),
            (b"+.25", 0.25),
            (b"4.", 4.0),
            (b"-.002", -0.002),
            (b"0.1", 0.1),
            (b"123456789012345678901", 123456789012345678901.0),
        ] {
            assert_eq!(parse_number(t), Some(v), "{t:?}");
        }
        for t in [&b"1.2.3"[..], b"--1", b"-", b".", b"1e5", b"1a", b""] {
            assert_eq!(parse_number(t), None, "{t:?}");
        }
        // A damaged number is an operand that reads as no number.
        let data = b"1 2 3x 4 Td";
        let mut s = Scanner::new(data, Vec::new());
        assert_eq!(s.next_operator(), Some(&b"Td"[..]));
        let values: Vec<Option<f64>> = s.operands().iter().map(|o| s.number(o)).collect();
        assert_eq!(values, [Some(1.0), Some(2.0), None, Some(4.0)]);
    }

    #[test]
    fn strings_unescape_and_nest() {
        let data = b"(a\\(b\\)c (nested) \\101\\60x\\\nd\\q\r\ne) Tj <48 65 6c6C 6> Tj";
        let mut s = Scanner::new(data, Vec::new());
        let mut buf = Vec::new();
        assert_eq!(s.next_operator(), Some(&b"Tj"[..]));
        let op = s.operands()[0];
        assert_eq!(s.string(&op, &mut buf).unwrap(), b"a(b)c (nested) A0xdq\ne");
        assert_eq!(s.next_operator(), Some(&b"Tj"[..]));
        let op = s.operands()[0];
        assert_eq!(s.string(&op, &mut buf).unwrap(), b"Hell`");
        // Without escapes the written bytes are used as they are.
        let s = Scanner::new(b"(plain)", Vec::new());
        assert_eq!(
            string_bytes(Kind::Literal, &s.data()[1..6], &mut buf).unwrap(),
            b"plain"
        );
    }

    #[test]
    fn arrays_dicts_and_names() {
        let data =
            b"/P <</MCID 3 /A [1 (x]) <<>>] /S (>>)>> BDC [ (a) 1.5 [2] /N <42> ] TJ /A#20B Do";
        let mut s = Scanner::new(data, Vec::new());
        assert_eq!(s.next_operator(), Some(&b"BDC"[..]));
        assert_eq!(s.operands().len(), 2);
        let dict = s.operands()[1];
        assert_eq!(s.raw(&dict), &b"<</MCID 3 /A [1 (x]) <<>>] /S (>>)>>"[..]);
        assert_eq!(s.next_operator(), Some(&b"TJ"[..]));
        let arr = s.operands()[0];
        let mut buf = Vec::new();
        let items: Vec<String> = s
            .items(&arr)
            .map(|i| match &i {
                Item::Number(v) => format!("n{v}"),
                Item::String(..) => {
                    format!("s{}", String::from_utf8_lossy(i.bytes(&mut buf).unwrap()))
                }
                Item::Other => "o".into(),
            })
            .collect();
        assert_eq!(items, ["sa", "n1.5", "o", "o", "sB"]);
        assert_eq!(s.next_operator(), Some(&b"Do"[..]));
        let name = s.operands()[0];
        assert_eq!(&*s.name(&name).unwrap(), b"A B");
    }

    #[test]
    fn inline_images_are_skipped() {
        let mut data = b"q BI /W 4 /H 1 /BPC 8 /CS /G ID ".to_vec();
        data.extend_from_slice(b"\x00EI\xff\x80 Tj\x01");
        data.extend_from_slice(b" EI Q (after) Tj");
        let names: Vec<String> = scan(&data).into_iter().map(|(o, _)| o).collect();
        assert_eq!(names, ["q", "BI", "Q", "Tj"]);
        // Unterminated: the rest is image data.
        assert_eq!(scan(b"BI /W 1 ID xxxx").len(), 1);
    }

    #[test]
    fn damage_never_stops_the_scan_or_panics() {
        let ops = scan(b") ] } > { 1 0 0 RG (unclosed");
        assert_eq!(ops.len(), 1);
        for data in [
            &b"["[..],
            b"<<",
            b"<",
            b"(",
            b"(\\",
            b"/",
            b"BI",
            b"BI ID",
            b"[[[[((((",
            b"<</A (x) >",
            b"%",
        ] {
            let _ = scan(data);
        }
        // The stack is bounded.
        let many = b"1 ".repeat(1000);
        let mut s = Scanner::new(&many, Vec::new());
        assert_eq!(s.next_operator(), None);
        assert!(s.operands().len() <= MAX_OPERANDS);
    }
}
