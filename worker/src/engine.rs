//! The extraction engine's one entry point: bytes of a PDF in, page texts out.
//!
//! PLACEHOLDER: the engine is being written (issue 3). Until it lands every file is
//! reported as malformed, so nothing is counted.

use std::ops::ControlFlow;
use std::time::Instant;

use crate::protocol::Reason;

/// Limits from the config, applied while extracting one file.
#[derive(Debug, Clone, Default)]
pub struct Limits {
    /// `pdf.max_pages_to_extract`: extract at most this many pages (the first ones).
    pub max_pages: Option<u32>,
    /// `pdf.skip_if_pages_over`: skip the file (Reason::TooManyPages) when it has more pages.
    pub skip_if_pages_over: Option<u32>,
    /// `processing.timeout_per_file`, as an instant: checked cooperatively; past it the file
    /// is abandoned with Reason::Timeout.
    pub deadline: Option<Instant>,
}

/// Why a file could not be (fully) extracted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtractError {
    pub reason: Reason,
    pub detail: String,
}

/// What happened to one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Pages in the document.
    pub page_count: u32,
    /// Pages whose text was extracted and handed to the callback.
    pub pages_extracted: u32,
    /// Characters handed to the callback.
    pub chars: u64,
    /// False when the callback asked to stop early.
    pub complete: bool,
}

/// Extracts the text of each page in order and hands it to `on_page(index, text)`.
/// `on_page` may return `ControlFlow::Break(())` to stop (the measured window closed).
pub fn extract(
    _data: &[u8],
    _limits: &Limits,
    _on_page: &mut dyn FnMut(u32, &str) -> ControlFlow<()>,
) -> Result<Outcome, ExtractError> {
    Err(ExtractError {
        reason: Reason::Malformed,
        detail: "engine not built yet".into(),
    })
}
