//! A handle on the caller's bytes that `hayro-syntax` accepts as document data.
//!
//! `hayro_syntax::PdfData` wants `Arc<dyn AsRef<[u8]> + Send + Sync + 'static>`, but the
//! worker maps each file and hands the engine a borrowed slice. Copying a 4 MB file per
//! pass would cost more than extracting a page from it, so the slice is passed through
//! with its lifetime erased; `Document<'a>` restores the bound.

/// The caller's bytes, with the lifetime erased. Only `Document::open` creates one.
pub(super) struct BorrowedBytes {
    ptr: *const u8,
    len: usize,
}

impl BorrowedBytes {
    /// # Safety
    /// The bytes must stay valid and unmodified for as long as this value, or any `Arc`
    /// holding it, is alive. `Document<'a>` guarantees that: it owns the only `Pdf`
    /// (and so every clone of the `Arc`) and cannot outlive the `&'a [u8]` it was opened
    /// from. Leaking a `Document` is harmless: nothing reads the bytes afterwards.
    pub(super) unsafe fn new(data: &[u8]) -> Self {
        BorrowedBytes {
            ptr: data.as_ptr(),
            len: data.len(),
        }
    }
}

impl AsRef<[u8]> for BorrowedBytes {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: `ptr`/`len` come from a valid slice that, per the contract of `new`,
        // outlives this value; the bytes are never written through this handle.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

// SAFETY: the handle only gives shared, read-only access to bytes that outlive it (the
// contract of `new`), which is what `&[u8]: Send + Sync` allows too.
unsafe impl Send for BorrowedBytes {}
// SAFETY: as above.
unsafe impl Sync for BorrowedBytes {}
