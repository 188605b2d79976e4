//! The little that text extraction needs from embedded font programs: their built-in
//! encoding (code -> glyph name), used when the font dictionary names no base encoding
//! and has no ToUnicode map (ISO 32000-1 §9.6.6.1: the base is then the font's own).

use super::tables;

/// Reads the built-in encoding from the clear-text part of a Type 1 font program
/// (Adobe Type 1 Font Format §2.3: `/Encoding StandardEncoding def`, or
/// `/Encoding 256 array ... dup 65 /A put ... readonly def`). `None` when the program
/// uses StandardEncoding or has no readable encoding.
pub fn type1_encoding(clear: &[u8]) -> Option<Vec<(u8, Vec<u8>)>> {
    let start = find(clear, b"/Encoding")? + b"/Encoding".len();
    let rest = &clear[start..];
    let mut tokens = rest
        .split(|b| b.is_ascii_whitespace())
        .filter(|t| !t.is_empty());
    if tokens.next()? == b"StandardEncoding" {
        return None;
    }
    // The encoding ends at its `def`; `eexec` bounds it in any case.
    let mut out = Vec::new();
    let mut window: [&[u8]; 3] = [b"", b"", b""];
    for token in tokens.take(1 << 16) {
        if token == b"def" || token == b"readonly" || token == b"eexec" {
            if token != b"readonly" {
                break;
            }
            continue;
        }
        // `dup CODE /NAME put`, possibly without whitespace before the name.
        if token == b"put" && window[0] == b"dup" {
            if let (Some(code), Some(name)) = (parse_code(window[1]), window[2].strip_prefix(b"/"))
                && !name.is_empty()
            {
                out.push((code, name.to_vec()));
            }
        } else if token == b"put"
            && window[1] == b"dup"
            && let Some((code, name)) = split_glued(window[2])
        {
            out.push((code, name.to_vec()));
        }
        window = [window[1], window[2], token];
    }
    (!out.is_empty()).then_some(out)
}

/// Reads the built-in encoding of a bare CFF font program (FontFile3 /Type1C; Adobe
/// Technical Note #5176 §12-§13): codes -> glyph ids from the Encoding, glyph ids -> names
/// from the charset. `None` for the predefined Standard and Expert encodings, CID-keyed
/// fonts and anything unreadable.
pub fn cff_encoding(data: &[u8]) -> Option<Vec<(u8, Vec<u8>)>> {
    let header_size = *data.get(2)? as usize;
    let (_names, pos) = index(data, header_size)?;
    let (top_dicts, pos) = index(data, pos)?;
    let (strings, _) = index(data, pos)?;
    let top = top_dicts.first()?;
    let (mut charset_at, mut encoding_at, mut charstrings_at) = (0usize, 0usize, None);
    let mut operands: Vec<f64> = Vec::new();
    let mut i = 0;
    while i < top.len() {
        let b0 = top[i];
        match b0 {
            0..=21 => {
                let op = if b0 == 12 {
                    i += 1;
                    1200 + *top.get(i)? as u16
                } else {
                    b0 as u16
                };
                i += 1;
                let first = operands.last().copied().unwrap_or(0.0);
                let offset = (first >= 0.0 && first < data.len() as f64).then_some(first as usize);
                match op {
                    15 => charset_at = offset?,
                    16 => encoding_at = offset?,
                    17 => charstrings_at = offset,
                    // ROS: a CID-keyed font has no encoding of codes to names.
                    1230 => return None,
                    _ => {}
                }
                operands.clear();
            }
            _ => {
                let (v, len) = dict_number(&top[i..])?;
                if operands.len() < 48 {
                    operands.push(v);
                }
                i += len;
            }
        }
    }
    // Encodings 0 and 1 are Standard and Expert: nothing the PDF side does not know.
    if encoding_at <= 1 {
        return None;
    }
    let (charstrings, _) = index(data, charstrings_at?)?;
    let glyphs = charstrings.len();
    let sids = charset(data, charset_at, glyphs)?;
    let name = |sid: u16| -> Option<Vec<u8>> {
        let sid = sid as usize;
        match tables::CFF_STANDARD_STRINGS.get(sid) {
            Some(s) => Some(s.as_bytes().to_vec()),
            None => strings
                .get(sid - tables::CFF_STANDARD_STRINGS.len())
                .map(|s| s.to_vec()),
        }
    };
    let mut out = Vec::new();
    let format = *data.get(encoding_at)?;
    let mut p = encoding_at + 1;
    match format & 0x7f {
        0 => {
            let n = *data.get(p)? as usize;
            for (k, &code) in data.get(p + 1..p + 1 + n)?.iter().enumerate() {
                if let Some(n) = sids.get(k + 1).and_then(|&sid| name(sid)) {
                    out.push((code, n));
                }
            }
            p += 1 + n;
        }
        1 => {
            let ranges = *data.get(p)? as usize;
            let mut gid = 1usize;
            for r in data.get(p + 1..p + 1 + 2 * ranges)?.chunks(2) {
                for code in r[0] as usize..=(r[0] as usize + r[1] as usize).min(255) {
                    if let Some(n) = sids.get(gid).and_then(|&sid| name(sid)) {
                        out.push((code as u8, n));
                    }
                    gid += 1;
                }
            }
            p += 1 + 2 * ranges;
        }
        _ => return None,
    }
    if format & 0x80 != 0 {
        // Supplements: more codes for glyphs already encoded, by SID.
        let n = *data.get(p)? as usize;
        for sup in data.get(p + 1..p + 1 + 3 * n)?.chunks(3) {
            if let Some(n) = name(u16::from_be_bytes([sup[1], sup[2]])) {
                out.push((sup[0], n));
            }
        }
    }
    // A code given twice keeps its first glyph (subsets from Acrobat map 99 to 'c' and,
    // later, to 'minus'); /Differences is applied after, so the last entry would win.
    let mut seen = [false; 256];
    out.retain(|(code, _)| !std::mem::replace(&mut seen[*code as usize], true));
    (!out.is_empty()).then_some(out)
}

/// The SID of each glyph (§13); glyph 0 is .notdef.
fn charset(data: &[u8], at: usize, glyphs: usize) -> Option<Vec<u16>> {
    let mut sids = vec![0u16];
    if at <= 2 {
        // ISOAdobe (and, approximately, the Expert sets): SID = glyph id.
        sids.extend((1..glyphs.min(391)).map(|g| g as u16));
        return Some(sids);
    }
    let format = *data.get(at)?;
    let mut p = at + 1;
    while sids.len() < glyphs {
        match format {
            0 => {
                sids.push(u16::from_be_bytes([*data.get(p)?, *data.get(p + 1)?]));
                p += 2;
            }
            1 | 2 => {
                let first = u16::from_be_bytes([*data.get(p)?, *data.get(p + 1)?]);
                let left = if format == 1 {
                    p += 3;
                    *data.get(p - 1)? as usize
                } else {
                    p += 4;
                    u16::from_be_bytes([*data.get(p - 2)?, *data.get(p - 1)?]) as usize
                };
                for k in 0..=left.min(glyphs) {
                    sids.push(first.saturating_add(k as u16));
                }
            }
            _ => return None,
        }
    }
    sids.truncate(glyphs);
    Some(sids)
}

/// A CFF INDEX at `pos` (§5): its items and the position after it.
fn index(data: &[u8], pos: usize) -> Option<(Vec<&[u8]>, usize)> {
    let count = u16::from_be_bytes([*data.get(pos)?, *data.get(pos + 1)?]) as usize;
    if count == 0 {
        return Some((Vec::new(), pos + 2));
    }
    let off_size = *data.get(pos + 2)? as usize;
    if !(1..=4).contains(&off_size) {
        return None;
    }
    let offsets_at = pos + 3;
    let offset = |k: usize| -> Option<usize> {
        let b = data.get(offsets_at + k * off_size..offsets_at + (k + 1) * off_size)?;
        Some(b.iter().fold(0usize, |acc, &x| acc << 8 | x as usize))
    };
    let base = offsets_at + (count + 1) * off_size - 1;
    let mut items = Vec::with_capacity(count.min(4096));
    let mut prev = offset(0)?;
    for k in 1..=count {
        let next = offset(k)?;
        items.push(data.get(base + prev..base + next)?);
        prev = next;
    }
    Some((items, base + prev))
}

/// A DICT operand (§4): the value and its length in bytes.
fn dict_number(b: &[u8]) -> Option<(f64, usize)> {
    let b0 = *b.first()? as i32;
    let at = |i: usize| b.get(i).map(|&x| x as i32);
    Some(match b0 {
        32..=246 => ((b0 - 139) as f64, 1),
        247..=250 => (((b0 - 247) * 256 + at(1)? + 108) as f64, 2),
        251..=254 => ((-(b0 - 251) * 256 - at(1)? - 108) as f64, 2),
        28 => (i16::from_be_bytes([*b.get(1)?, *b.get(2)?]) as f64, 3),
        29 => (
            i32::from_be_bytes([*b.get(1)?, *b.get(2)?, *b.get(3)?, *b.get(4)?]) as f64,
            5,
        ),
        30 => {
            // A real: nibbles up to 0xf. Its value is never an offset; skip it.
            let len = b
                .iter()
                .skip(1)
                .position(|&x| x & 0x0f == 0x0f || x >> 4 == 0x0f)?;
            (0.0, len + 2)
        }
        _ => return None,
    })
}

fn parse_code(t: &[u8]) -> Option<u8> {
    std::str::from_utf8(t).ok()?.parse().ok()
}

/// `65/A` written as one token.
fn split_glued(t: &[u8]) -> Option<(u8, &[u8])> {
    let slash = t.iter().position(|&b| b == b'/')?;
    let name = &t[slash + 1..];
    Some((parse_code(&t[..slash])?, name)).filter(|_| !name.is_empty())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    crate::pdf::find(hay, needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_custom_type1_encoding() {
        // pysamples__GeoTopo-komprimiert: TeX's CMMI/CMSY fonts encode ',' ';' '∈' ...
        // only in their programs.
        let clear = b"%!PS-AdobeFont-1.0: CMMI10 003.002\n/FontName /CMMI10 def\n\
            /Encoding 256 array\n0 1 255 {1 index exch /.notdef put} for\n\
            dup 59 /comma put\ndup 60/less put\ndup 50 /element put\nreadonly def\n\
            currentdict end\ncurrentfile eexec\n\x8f\x00garbage dup 1 /x put";
        let enc = type1_encoding(clear).unwrap();
        assert_eq!(
            enc,
            vec![
                (59, b"comma".to_vec()),
                (60, b"less".to_vec()),
                (50, b"element".to_vec())
            ]
        );
    }

    /// A bare CFF font with glyphs named by `sids` (glyph 1 on) and a format-0 encoding
    /// giving `codes[i]` to glyph i + 1.
    fn cff(sids: &[u16], codes: &[u8]) -> Vec<u8> {
        let int = |v: usize| {
            let mut b = vec![29];
            b.extend_from_slice(&(v as i32).to_be_bytes());
            b
        };
        let top_len = 3 * 6;
        let charset_at = 4 + 6 + (5 + top_len) + 2 + 2;
        let encoding_at = charset_at + 1 + 2 * sids.len();
        let charstrings_at = encoding_at + 2 + codes.len();
        let mut f = vec![1, 0, 4, 1];
        f.extend_from_slice(&[0, 1, 1, 1, 2, b'F']); // Name INDEX: "F"
        f.extend_from_slice(&[0, 1, 1, 1, top_len as u8 + 1]); // Top DICT INDEX
        for (v, op) in [(charset_at, 15), (encoding_at, 16), (charstrings_at, 17)] {
            f.extend(int(v));
            f.push(op);
        }
        f.extend_from_slice(&[0, 0, 0, 0]); // String and Global Subr INDEXes: empty
        f.push(0);
        for sid in sids {
            f.extend_from_slice(&sid.to_be_bytes());
        }
        f.extend_from_slice(&[0, codes.len() as u8]);
        f.extend_from_slice(codes);
        let glyphs = sids.len() + 1;
        f.extend_from_slice(&[0, glyphs as u8, 1]);
        f.extend((1..=glyphs as u8 + 1).collect::<Vec<u8>>());
        f.extend(vec![14u8; glyphs]); // endchar
        f
    }

    #[test]
    fn reads_a_cff_built_in_encoding() {
        // pysamples__GeoTopo-komprimiert: the CMSY/CMMI subsets are bare CFF (FontFile3
        // /Type1C) and their codes mean something only through the program's encoding.
        // SIDs 13 comma, 66 a, 68 c, 166 minus (TN #5176 Appendix A).
        let enc = cff_encoding(&cff(&[13, 66, 68, 166], &[59, 97, 99, 99])).unwrap();
        let names: Vec<(u8, &[u8])> = enc.iter().map(|(c, n)| (*c, n.as_slice())).collect();
        // TheGoProgrammingLanguageCh1: a code given twice keeps its first glyph.
        assert_eq!(names, vec![(59, &b"comma"[..]), (97, b"a"), (99, b"c")]);
        for cut in 0..40 {
            let _ = cff_encoding(&cff(&[13, 66], &[59, 97])[..cut]);
        }
    }

    #[test]
    fn standard_or_missing_encoding_is_none() {
        assert_eq!(type1_encoding(b"/Encoding StandardEncoding def"), None);
        assert_eq!(type1_encoding(b"no encoding here"), None);
        assert_eq!(type1_encoding(b"/Encoding"), None);
        assert_eq!(
            type1_encoding(b"/Encoding 256 array dup 999 /x put def"),
            None
        );
    }
}
