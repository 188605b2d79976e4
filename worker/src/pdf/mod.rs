//! The object layer: opening a document from borrowed bytes and getting at the decoded
//! bytes of its streams, on top of `hayro-syntax` (xref tables and streams, repair by
//! scanning, object streams, filters, decryption with the empty user password).
//!
//! What this module adds: a document over a reusable copy of the caller's bytes, error kinds the engine maps to a [`crate::protocol::Reason`], and stream
//! decoding with a cap on the inflated size.

pub mod stream;

use std::sync::Arc;

use hayro_syntax::page::Page;
use hayro_syntax::{LoadPdfError, Pdf, PdfData};

/// Why a document could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenError {
    /// No `%PDF-` header and nothing parseable.
    NotPdf,
    /// A password (other than the empty one) is needed, or the method is unsupported.
    Encrypted(&'static str),
    /// There is a header, but neither the xref nor a scan found a usable catalog/page tree.
    Malformed,
    /// The file parses but has no reachable page.
    NoPages,
    /// Its object and xref streams inflate past [`MAX_OBJECT_STREAMS`].
    Bomb,
}

impl OpenError {
    pub fn detail(self) -> &'static str {
        match self {
            OpenError::Bomb => "the object and xref streams inflate past 48 MB: a compression bomb",
            OpenError::NotPdf => "no %PDF- header and no PDF objects found",
            OpenError::Encrypted(d) => d,
            OpenError::Malformed => "no readable xref, catalog or page tree (even after repair)",
            OpenError::NoPages => "the document has no reachable page",
        }
    }
}

/// An open document. It owns (a share of) a copy of the bytes it was opened from.
pub struct Document {
    pdf: Pdf,
}

/// How far into the file the header may start (junk before it is tolerated, as by
/// Acrobat; ISO 32000-1 §7.5.2 puts it first, implementation note: within 1024 bytes).
const HEADER_WINDOW: usize = 1024;

impl Document {
    /// Opens a document. Only the xref and the page tree are read now; everything else
    /// lazily.
    ///
    /// `hayro-syntax` wants the data as an owned `Arc` (its objects and xref clones hold
    /// it), so borrowed `data` is copied into `buf`, whose allocation is reused when no
    /// clone of it is alive any more (the previous `Document` dropped). Handing over a
    /// borrow with its lifetime erased would be unsound, since `XRef: Clone` lets a clone
    /// of the data escape any borrow. A mapped file avoids the copy: [`Self::open_shared`].
    pub fn open(data: &[u8], buf: &mut Arc<Vec<u8>>) -> Result<Self, OpenError> {
        Self::open_with(data, || {
            match Arc::get_mut(buf) {
                Some(v) => {
                    v.clear();
                    v.extend_from_slice(data);
                }
                None => *buf = Arc::new(data.to_vec()),
            }
            PdfData::from(buf.clone())
        })
    }

    /// Opens a document from bytes already held in an `Arc` (a mapped file): handed to
    /// `hayro-syntax` as they are, without a copy.
    pub fn open_shared(data: PdfData) -> Result<Self, OpenError> {
        let owned = data.clone();
        Self::open_with(data.as_ref(), move || owned)
    }

    /// The checks every open makes on the bytes, then `hayro-syntax` on `owned()`.
    fn open_with(data: &[u8], owned: impl FnOnce() -> PdfData) -> Result<Self, OpenError> {
        let has_header = find(&data[..data.len().min(HEADER_WINDOW)], b"%PDF-").is_some();
        if !has_header && find(data, b" obj").is_none() {
            return Err(OpenError::NotPdf);
        }
        if !object_streams_bounded(data) {
            return Err(OpenError::Bomb);
        }
        match Pdf::new(owned()) {
            Ok(pdf) => {
                if pdf.pages().is_empty() {
                    return Err(OpenError::NoPages);
                }
                Ok(Document { pdf })
            }
            Err(LoadPdfError::Decryption(e)) => Err(OpenError::Encrypted(match e {
                hayro_syntax::DecryptionError::PasswordProtected => "a user password is needed",
                hayro_syntax::DecryptionError::UnsupportedAlgorithm => {
                    "unsupported encryption method"
                }
                hayro_syntax::DecryptionError::MissingIDEntry => {
                    "encrypted, but the trailer has no /ID to derive the key"
                }
                hayro_syntax::DecryptionError::InvalidEncryption => "invalid encryption dictionary",
            })),
            Err(LoadPdfError::Invalid) if !has_header => Err(OpenError::NotPdf),
            Err(LoadPdfError::Invalid) => {
                // hayro-syntax reports a missing page tree and an unreadable file alike;
                // tell them apart by whether any page object exists at all.
                if has_page_object(data) {
                    Err(OpenError::Malformed)
                } else {
                    Err(OpenError::NoPages)
                }
            }
        }
    }

    /// The pages, in document order (page tree order, or file order after repair).
    pub fn pages(&self) -> &[Page<'_>] {
        self.pdf.pages()
    }
}

/// Most bytes all object and xref streams of a file may inflate to (the realworld
/// corpus's largest total is 2 MB).
pub const MAX_OBJECT_STREAMS: usize = 48 << 20;

/// `hayro-syntax` inflates object streams (ISO 32000-1 §7.5.7) and xref streams (§7.5.8)
/// whole, with no cap, and keeps the object streams. So before opening, every `/ObjStm`
/// and `/XRef` stream in the file is inflated into a counter (nothing kept) and the
/// total checked. Encrypted object streams cannot be counted this way (their bytes look
/// like garbage and count as nothing).
fn object_streams_bounded(data: &[u8]) -> bool {
    let mut total = 0usize;
    let object_streams = memchr::memmem::find_iter(data, b"/ObjStm");
    let xref_streams = memchr::memmem::find_iter(data, b"/XRef");
    for at in object_streams.chain(xref_streams) {
        let dict = &data[at..data.len().min(at + 4096)];
        let Some(keyword) = memchr::memmem::find(dict, b"stream") else {
            continue;
        };
        let mut body = &data[at + keyword + b"stream".len()..];
        body = body
            .strip_prefix(b"\r\n")
            .or_else(|| body.strip_prefix(b"\n"))
            .or_else(|| body.strip_prefix(b"\r"))
            .unwrap_or(body);
        total += stream::inflated_size(body, MAX_OBJECT_STREAMS + 1 - total);
        if total > MAX_OBJECT_STREAMS {
            return false;
        }
    }
    true
}

/// Whether `/Type /Page` (not `/Pages`) occurs anywhere, as a cheap test made only
/// after a failure. Inside compressed object streams it is missed; such files are then
/// reported as having no pages, which is what a reader sees too.
fn has_page_object(data: &[u8]) -> bool {
    let mut rest = data;
    while let Some(i) = find(rest, b"/Page") {
        let after = &rest[i + 5..];
        if after.first().is_none_or(|b| !b.is_ascii_alphanumeric()) {
            return true;
        }
        rest = after;
    }
    false
}

/// First occurrence of `needle` in `hay`.
pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    let first = needle[0];
    let mut i = 0;
    while i + needle.len() <= hay.len() {
        let pos = hay[i..=hay.len() - needle.len()]
            .iter()
            .position(|&b| b == first)?;
        let at = i + pos;
        if &hay[at..at + needle.len()] == needle {
            return Some(at);
        }
        i = at + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_locates_needles() {
        assert_eq!(find(b"abc%PDF-1.4", b"%PDF-"), Some(3));
        assert_eq!(find(b"%PD", b"%PDF-"), None);
        assert_eq!(find(b"", b"x"), None);
        assert_eq!(find(b"aab", b"ab"), Some(1));
    }

    fn open(data: &[u8]) -> Result<Document, OpenError> {
        Document::open(data, &mut Arc::default())
    }

    #[test]
    fn garbage_is_not_a_pdf() {
        assert_eq!(open(b"hello world").err(), Some(OpenError::NotPdf));
        assert_eq!(open(b"").err(), Some(OpenError::NotPdf));
    }

    #[test]
    fn header_without_body_is_malformed_or_pageless() {
        let e = open(b"%PDF-1.4\n%%EOF\n").err();
        assert!(matches!(e, Some(OpenError::NoPages)), "{e:?}");
        let e = open(b"%PDF-1.4\n1 0 obj << /Type /Page >> endobj\n%%EOF").err();
        assert!(
            matches!(e, Some(OpenError::Malformed | OpenError::NoPages)),
            "{e:?}"
        );
    }

    #[test]
    fn object_stream_bombs_are_refused_before_hayro_inflates_them() {
        let z = miniz_oxide::deflate::compress_to_vec_zlib(&vec![b' '; MAX_OBJECT_STREAMS + 1], 1);
        let mut pdf = b"%PDF-1.5\n1 0 obj\n<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode >>\nstream\r\n".to_vec();
        pdf.extend_from_slice(&z);
        pdf.extend_from_slice(b"\nendstream\nendobj\n%%EOF\n");
        assert_eq!(open(&pdf).err(), Some(OpenError::Bomb));
        // Half the bomb inflates to about half the limit.
        assert!(object_streams_bounded(&pdf[..pdf.len() / 2]));
        let small = miniz_oxide::deflate::compress_to_vec_zlib(b"2 0 << >>", 6);
        let mut ok = b"1 0 obj << /Type/ObjStm >>stream\n".to_vec();
        ok.extend_from_slice(&small);
        assert!(object_streams_bounded(&ok));
        let mut xref_bomb = b"%PDF-1.5\n9 0 obj << /Type /XRef /W [1 2 1] >>stream\n".to_vec();
        xref_bomb.extend_from_slice(&z);
        assert_eq!(open(&xref_bomb).err(), Some(OpenError::Bomb));
    }

    #[test]
    fn page_object_test_ignores_pages_nodes() {
        assert!(!has_page_object(b"<< /Type /Pages >>"));
        assert!(has_page_object(b"<< /Type /Page >>"));
        assert!(has_page_object(b"<</Type/Page/Parent 2 0 R>>"));
    }
}
