//! The extraction engine's one entry point: bytes of a PDF in, page texts out.
//!
//! [`pdf`](crate::pdf) opens the document (xref, page tree) and decodes streams with a cap;
//! [`text`](crate::text) interprets each page's content stream and lays the glyphs out
//! as lines. Everything runs on the calling thread; a panic anywhere below is caught
//! and reported as [`Reason::Panic`].

use std::cell::Cell;
use std::ops::ControlFlow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Instant;

use hayro_syntax::PdfData;

use crate::pdf::{Document, OpenError, Survey, stream};
use crate::protocol::Reason;
use crate::text::annots;
use crate::text::interp::{Cache, Interpreter, Stop};
use crate::text::layout::TextBuilder;

/// A copy of the file, and a page's decoded content, up to this size is kept for the next
/// file (bytes).
const KEEP_DATA: usize = 16 << 20;

/// Limits from the config, applied while extracting one file.
#[derive(Debug, Clone, Default)]
pub struct Limits {
    /// `pdf.max_pages_to_extract`: extract at most this many pages (the first ones).
    pub max_pages: Option<u32>,
    /// `pdf.skip_if_pages_over`: skip the file (Reason::TooManyPages) when it has more pages.
    pub skip_if_pages_over: Option<u32>,
    /// `processing.timeout_per_file`, as an instant: checked cooperatively; past it the file
    /// is abandoned with Reason::Timeout. A cell, so that the page callback can move it
    /// (the measured loop pauses between slots, and that time is not the file's).
    pub deadline: Cell<Option<Instant>>,
}

/// Why a file could not be (fully) extracted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtractError {
    pub reason: Reason,
    pub detail: String,
}

impl ExtractError {
    fn new(reason: Reason, detail: impl Into<String>) -> Self {
        ExtractError {
            reason,
            detail: detail.into(),
        }
    }
}

/// What happened to one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Pages in the document.
    pub page_count: u32,
    /// Pages whose text was extracted and handed to the callback (which counts their
    /// characters if it wants them: the engine does not count them a second time).
    pub pages_extracted: u32,
    /// False when the callback asked to stop early.
    pub complete: bool,
}

/// Extracts the text of each page in order and hands it to `on_page(index, text)`.
/// `on_page` may return `ControlFlow::Break(())` to stop (the measured window closed).
pub fn extract(
    data: &[u8],
    limits: &Limits,
    on_page: &mut dyn FnMut(u32, &str) -> ControlFlow<()>,
) -> Result<Outcome, ExtractError> {
    Extractor::default().extract(data, limits, on_page)
}

/// An extractor that keeps its scratch buffers (content bytes, page text) from one file
/// to the next. [`extract`] is this with fresh buffers.
#[derive(Default)]
pub struct Extractor {
    content: stream::Buffer,
    text: TextBuilder,
    /// Fonts and forms of the current document, and the interpreter's buffers.
    cache: Cache,
    /// The copy of the current file that `hayro-syntax` reads (see [`Document::open`]).
    data: Arc<Vec<u8>>,
}

/// The engine's checks of a file's raw bytes before parsing ([`Survey`]: compression
/// bombs in object streams, hostile nesting), made once: a verdict about the file, like
/// its size, not extracted text. Handed to each extraction of the same bytes it spares
/// making them again (issue 11: they were 4.8% of the instructions of every pass).
/// Bytes it was not made for (the file changed: another length, or other bytes at
/// either end) are checked afresh.
#[derive(Debug, Clone)]
pub struct Verdict {
    survey: Survey,
    len: usize,
    ends: u64,
}

impl Verdict {
    /// Makes the checks on `data`.
    pub fn of(data: &[u8]) -> Verdict {
        Verdict {
            survey: Survey::of(data),
            len: data.len(),
            ends: ends(data),
        }
    }

    /// The survey, when it was made for `data`.
    fn for_bytes(&self, data: &[u8]) -> Option<&Survey> {
        (self.len == data.len() && self.ends == ends(data)).then_some(&self.survey)
    }
}

/// A hash of the first and last 4 KB of `data`.
fn ends(data: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    data[..data.len().min(4096)].hash(&mut h);
    data[data.len().saturating_sub(4096)..].hash(&mut h);
    h.finish()
}

/// The bytes of one file as the engine gets them.
enum Input<'a> {
    /// Copied into the extractor's reused buffer (hayro-syntax needs owned data).
    Borrowed(&'a [u8]),
    /// Already shared, e.g. a mapped file: used as is, no copy.
    Shared(PdfData),
}

impl Extractor {
    /// As [`extract`].
    pub fn extract(
        &mut self,
        data: &[u8],
        limits: &Limits,
        on_page: &mut dyn FnMut(u32, &str) -> ControlFlow<()>,
    ) -> Result<Outcome, ExtractError> {
        self.extract_input(Input::Borrowed(data), None, limits, on_page)
    }

    /// As [`extract`], for bytes the caller already holds in an `Arc` (a mapped file):
    /// they are parsed where they are, without copying the file.
    pub fn extract_shared<T: AsRef<[u8]> + Send + Sync + 'static>(
        &mut self,
        data: Arc<T>,
        limits: &Limits,
        on_page: &mut dyn FnMut(u32, &str) -> ControlFlow<()>,
    ) -> Result<Outcome, ExtractError> {
        self.extract_input(Input::Shared(PdfData::from(data)), None, limits, on_page)
    }

    /// As [`extract`], for a file loaded by [`crate::source::load`]: a mapping is parsed
    /// where it is, read bytes are copied into the reused buffer. A mapped file that
    /// shrank while it was read is an `io` error, whatever was extracted from it.
    pub fn extract_loaded(
        &mut self,
        bytes: &crate::source::Bytes<'_>,
        limits: &Limits,
        on_page: &mut dyn FnMut(u32, &str) -> ControlFlow<()>,
    ) -> Result<Outcome, ExtractError> {
        self.extract_vetted(bytes, None, limits, on_page)
    }

    /// As [`Self::extract_loaded`], with the [`Verdict`] made on the file before (once).
    pub fn extract_vetted(
        &mut self,
        bytes: &crate::source::Bytes<'_>,
        verdict: Option<&Verdict>,
        limits: &Limits,
        on_page: &mut dyn FnMut(u32, &str) -> ControlFlow<()>,
    ) -> Result<Outcome, ExtractError> {
        let survey = verdict.and_then(|v| v.for_bytes(bytes));
        let input = match bytes {
            crate::source::Bytes::Mapped(map) => Input::Shared(PdfData::from(map.clone())),
            crate::source::Bytes::Read(data) => Input::Borrowed(data),
        };
        let result = self.extract_input(input, survey, limits, on_page);
        if bytes.changed_underneath() {
            return Err(ExtractError::new(
                Reason::Io,
                "the file shrank while it was being read",
            ));
        }
        result
    }

    fn extract_input(
        &mut self,
        input: Input<'_>,
        survey: Option<&Survey>,
        limits: &Limits,
        on_page: &mut dyn FnMut(u32, &str) -> ControlFlow<()>,
    ) -> Result<Outcome, ExtractError> {
        let result = catch_unwind(AssertUnwindSafe(|| {
            self.extract_inner(input, survey, limits, on_page)
        }));
        // Whatever happened, no font or form of this document may serve the next one. A
        // large file's copy is not kept for the next (smaller) one.
        self.cache.end_document();
        if self.data.capacity() > KEEP_DATA {
            self.data = Default::default();
        }
        if self.content.capacity() > KEEP_DATA {
            self.content = Default::default();
        }
        match result {
            Ok(r) => r,
            Err(payload) => {
                // The buffers may be in any state after a panic: start afresh.
                *self = Extractor::default();
                let msg = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                Err(ExtractError::new(
                    Reason::Panic,
                    format!("engine panicked: {msg}"),
                ))
            }
        }
    }

    fn extract_inner(
        &mut self,
        input: Input<'_>,
        survey: Option<&Survey>,
        limits: &Limits,
        on_page: &mut dyn FnMut(u32, &str) -> ControlFlow<()>,
    ) -> Result<Outcome, ExtractError> {
        let opened = match input {
            Input::Borrowed(data) => Document::open(data, &mut self.data, survey),
            Input::Shared(data) => Document::open_shared(data, survey),
        };
        let doc = opened.map_err(|e| {
            let reason = match e {
                OpenError::NotPdf => Reason::NotPdf,
                OpenError::Encrypted(_) => Reason::Encrypted,
                OpenError::Malformed | OpenError::Bomb | OpenError::BadPredictor => {
                    Reason::Malformed
                }
                OpenError::NoPages => Reason::NoPages,
            };
            ExtractError::new(reason, e.detail())
        })?;
        let pages = doc.pages();
        let page_count = u32::try_from(pages.len()).unwrap_or(u32::MAX);
        if let Some(max) = limits.skip_if_pages_over
            && page_count > max
        {
            return Err(ExtractError::new(
                Reason::TooManyPages,
                format!("{page_count} pages, more than the limit of {max}"),
            ));
        }
        let wanted = limits.max_pages.map_or(page_count, |m| m.min(page_count));
        let mut outcome = Outcome {
            page_count,
            pages_extracted: 0,
            complete: true,
        };
        let timeout = || ExtractError::new(Reason::Timeout, "the time limit per file passed");
        // One interpreter for the document: fonts and forms are resolved once.
        let mut interp = Interpreter::new(&mut self.cache, &mut self.text, limits.deadline.get());
        for (index, page) in pages.iter().take(wanted as usize).enumerate() {
            if limits.deadline.get().is_some_and(|d| Instant::now() >= d) {
                return Err(timeout());
            }
            self.content.clear();
            stream::page_contents(page, stream::MAX_DECODED, &mut self.content);
            // The deadline may have moved since the last page (the measured loop pauses
            // between slots, and that time is not the file's).
            interp.set_deadline(limits.deadline.get());
            // MuPDF clips to the crop box (within the media box), the visible page.
            let b = page.intersected_crop_box();
            interp.clip_to([b.x0, b.y0, b.x1, b.y1]);
            let ran = interp
                .run_page(self.content.as_slice(), page.resources())
                .and_then(|()| annots::run_annotations(&mut interp, page));
            match ran {
                Ok(()) | Err(Stop::Budget) => {}
                Err(Stop::Timeout) => return Err(timeout()),
            }
            let text = interp.page_text();
            outcome.pages_extracted += 1;
            if on_page(index as u32, text).is_break() {
                outcome.complete = false;
                break;
            }
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verdict_is_for_bytes_of_its_length_and_ends_only() {
        let data = vec![b'x'; 20_000];
        let verdict = Verdict::of(&data);
        assert!(verdict.for_bytes(&data).is_some());
        assert!(verdict.for_bytes(&data[1..]).is_none());
        for at in [0, 100, 19_999] {
            let mut changed = data.clone();
            changed[at] = b'y';
            assert!(verdict.for_bytes(&changed).is_none(), "{at}");
        }
    }
}
