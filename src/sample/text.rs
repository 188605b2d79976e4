//! Deterministic prose, and its encoding for WinAnsi fonts.

/// Prose vocabulary.
#[rustfmt::skip]
pub(super) const WORDS: &[&str] = &[
    "the", "of", "and", "a", "to", "in", "is", "that", "for", "it", "as", "was", "with",
    "be", "by", "on", "not", "this", "are", "or", "from", "at", "which", "but", "have",
    "an", "they", "more", "one", "were", "all", "their", "there", "been", "when", "would",
    "about", "system", "report", "results", "throughput", "measure", "process", "document",
    "committee", "market", "river", "mountain", "village", "harbour", "morning", "evening",
    "window", "journey", "figure", "table", "section", "value", "growth", "season",
    "garden", "letter", "question", "answer", "method", "careful", "quiet", "bright",
    "narrow", "ancient", "modern", "steady", "remarkable", "efficient", "parallel",
    "regional", "annual", "average", "typical", "early", "late", "small", "large",
    "certain", "several", "therefore", "however", "although", "because", "while", "during",
    "between", "across", "without", "under", "above", "describe", "compare", "observe",
    "improve", "deliver", "consider", "suggest", "follow", "remain", "contain", "extract",
    "recover", "publish",
];

/// Words drawn now and then, which with the punctuation below give the non-ASCII WinAnsi
/// characters an extractor must map back to Unicode. Rare, as in English text, so most
/// strings stay literal and a few are hex.
#[rustfmt::skip]
pub(super) const ACCENTED: &[&str] = &[
    "café", "naïve", "résumé", "über", "Zürich", "façade", "déjà", "vu", "coöperation",
    "élan", "piñata", "São", "Paulo", "Øresund", "Ångström", "crème", "brûlée", "fiancée",
    "jalapeño", "Málaga", "Köln", "smörgåsbord", "œuvre", "Kraków", "Montréal", "Reykjavík",
    "señor", "garçon", "Brontë",
];

pub(super) const SENTENCE_ENDS: &[&str] = &[".", ".", ".", ".", "?", "!", "…"];

/// SplitMix64: tiny, seedable, and the same on every platform.
pub(super) struct Rng(u64);

impl Rng {
    /// Seeded from the file name (FNV-1a), so each file has its own text.
    pub(super) fn for_file(name: &str) -> Rng {
        let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        Rng(hash)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub(super) fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo + 1) as u64) as usize
    }

    pub(super) fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    pub(super) fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.range(0, items.len() - 1)]
    }
}

pub(super) fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn word(rng: &mut Rng) -> &'static str {
    if rng.chance(4) {
        rng.pick(ACCENTED)
    } else {
        rng.pick(WORDS)
    }
}

/// A sentence of 6 to 18 words, sometimes with a comma, a quotation or a dash.
pub(super) fn sentence(rng: &mut Rng) -> String {
    let n = rng.range(6, 18);
    let mut words: Vec<String> = (0..n).map(|_| word(rng).to_string()).collect();
    words[0] = capitalize(&words[0]);
    if n > 9 && rng.chance(35) {
        words[rng.range(3, n - 4)].push(',');
    }
    if rng.chance(20) {
        let i = rng.range(1, n - 3);
        words[i] = format!("“{}", words[i]);
        words[i + 1].push('”');
    }
    if rng.chance(15) {
        words.insert(rng.range(2, n - 2), "–".to_string());
    }
    let mut text = words.join(" ");
    text.push_str(rng.pick(SENTENCE_ENDS));
    text
}

pub(super) fn paragraph(rng: &mut Rng) -> String {
    let n = rng.range(2, 6);
    (0..n).map(|_| sentence(rng)).collect::<Vec<_>>().join(" ")
}

pub(super) fn heading(rng: &mut Rng, number: u32) -> String {
    let n = rng.range(2, 5);
    let words: Vec<String> = (0..n).map(|_| capitalize(word(rng))).collect();
    format!("{number}. {}", words.join(" "))
}

/// Greedy line breaking on an estimated number of characters per line: the corpus needs
/// plausible lines, not exact metrics.
pub(super) fn wrap(text: &str, max_chars: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > max_chars {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// Characters that fit in `width` points at `size`, for a font whose average glyph is
/// `em` of the size wide.
pub(super) fn chars_per_line(width: f32, size: f32, em: f32) -> usize {
    (width / (size * em)) as usize
}

/// WinAnsiEncoding byte of `c` (ISO 32000-1 Annex D.2). Only the characters this corpus
/// uses outside Latin-1 are listed; Latin-1's printable range agrees with WinAnsi.
pub(super) fn winansi_byte(c: char) -> Option<u8> {
    let byte = match c {
        ' '..='~' | '\u{a0}'..='\u{ff}' => c as u32 as u8,
        '€' => 0x80,
        '…' => 0x85,
        'Œ' => 0x8c,
        '‘' => 0x91,
        '’' => 0x92,
        '“' => 0x93,
        '”' => 0x94,
        '•' => 0x95,
        '–' => 0x96,
        '—' => 0x97,
        '™' => 0x99,
        'œ' => 0x9c,
        'Ÿ' => 0x9f,
        _ => return None,
    };
    Some(byte)
}

/// Encodes `text` for a WinAnsi font; a character outside the encoding becomes `?`.
pub(super) fn winansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| winansi_byte(c).unwrap_or(b'?'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_keeps_every_word_and_the_limit() {
        let text = "one two three four five six seven eight nine ten";
        let lines = wrap(text, 14);
        assert!(lines.iter().all(|l| l.chars().count() <= 14), "{lines:?}");
        assert_eq!(lines.join(" "), text);
    }
}
