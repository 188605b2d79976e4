//! A file's bytes: mapped when large, read when small.
//!
//! Mapping avoids copying large files, and for small files a plain read is as fast as
//! setting up a mapping, so files under [`MAP_THRESHOLD`] are read into a reused buffer
//! (a mapping that fails falls back to a read as well).
//!
//! A mapped file that another process truncates raises SIGBUS when the vanished pages are
//! touched, which would kill the worker. A SIGBUS handler guards the one live mapping: a
//! fault inside it gets a page of zeros mapped in its place, the read goes on (the parser
//! sees zeros and fails or finishes), and [`Bytes::changed_underneath`] tells the caller to
//! count the file as an I/O error. A fault anywhere else is not ours and still kills.

// The mapping and the SIGBUS guard need `unsafe`; every block says why it is sound.
#![allow(unsafe_code)]

use std::fs::File;
use std::io::{self, Read};
use std::ops::Deref;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Once};

use memmap2::Mmap;

/// Files smaller than this are read rather than mapped.
pub const MAP_THRESHOLD: u64 = 256 * 1024;

/// The bytes of one file, borrowed from a mapping or from the caller's buffer.
pub enum Bytes<'buf> {
    /// Shared, so the engine can parse the mapping itself without copying the file.
    Mapped(Arc<Guarded>),
    Read(&'buf [u8]),
}

impl Deref for Bytes<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(map) => &map.map,
            Bytes::Read(bytes) => bytes,
        }
    }
}

impl Bytes<'_> {
    /// True when the file shrank while mapped: some of the bytes read were zeros put in
    /// place of vanished pages, so whatever was extracted is not the file's content.
    pub fn changed_underneath(&self) -> bool {
        matches!(self, Bytes::Mapped(_)) && FAULTED.load(Ordering::SeqCst)
    }
}

/// Opens `path` and returns its bytes, reading into `buf` (reused across calls) when the
/// file is small or cannot be mapped.
pub fn load<'buf>(path: &Path, buf: &'buf mut Vec<u8>) -> io::Result<Bytes<'buf>> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    if len >= MAP_THRESHOLD {
        // SAFETY: the mapping is read-only and private to this process. If another
        // process truncates the file while it is mapped, touching the vanished pages
        // raises SIGBUS, which the guard below turns into zero pages and a flag.
        if let Ok(map) = unsafe { Mmap::map(&file) } {
            return Ok(Bytes::Mapped(Arc::new(Guarded::new(map))));
        }
    }
    buf.clear();
    file.read_to_end(buf)?;
    Ok(Bytes::Read(buf))
}

/// The live mapping's address range, read by the SIGBUS handler. The worker extracts one
/// file at a time, so there is at most one; a second one while the first lives is left
/// unguarded rather than guessed at.
static MAP_START: AtomicUsize = AtomicUsize::new(0);
static MAP_LEN: AtomicUsize = AtomicUsize::new(0);
static FAULTED: AtomicBool = AtomicBool::new(false);
static INSTALL: Once = Once::new();

/// A mapping registered with the SIGBUS guard for as long as it lives.
pub struct Guarded {
    map: Mmap,
    registered: bool,
}

impl Guarded {
    fn new(map: Mmap) -> Guarded {
        INSTALL.call_once(install_sigbus_handler);
        let registered = MAP_LEN
            .compare_exchange(0, map.len(), Ordering::SeqCst, Ordering::SeqCst)
            .is_ok();
        if registered {
            FAULTED.store(false, Ordering::SeqCst);
            MAP_START.store(map.as_ptr() as usize, Ordering::SeqCst);
        }
        Guarded { map, registered }
    }
}

impl AsRef<[u8]> for Guarded {
    fn as_ref(&self) -> &[u8] {
        &self.map
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        if self.registered {
            MAP_START.store(0, Ordering::SeqCst);
            MAP_LEN.store(0, Ordering::SeqCst);
        }
    }
}

fn install_sigbus_handler() {
    // SAFETY: sigaction with a zeroed struct, an empty mask and a handler of the
    // SA_SIGINFO signature; nothing else in the worker handles SIGBUS.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigbus as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut());
    }
}

/// Only async-signal-safe work: atomics, mmap, signal.
extern "C" fn on_sigbus(_sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo_t for SA_SIGINFO handlers; si_addr is the
    // faulting address for SIGBUS.
    let addr = unsafe { (*info).si_addr() } as usize;
    let start = MAP_START.load(Ordering::SeqCst);
    let len = MAP_LEN.load(Ordering::SeqCst);
    if start != 0 && addr >= start && addr < start + len {
        // SAFETY: sysconf is async-signal-safe.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        let at = addr & !(page - 1);
        // SAFETY: the page lies inside our own read-only mapping, which stays ours until
        // Mmap's drop unmaps the whole range (this page included). MAP_FIXED replaces the
        // vanished file page with zeros, so the faulting read is retried and succeeds.
        let p = unsafe {
            libc::mmap(
                at as *mut libc::c_void,
                page,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        if p != libc::MAP_FAILED {
            FAULTED.store(true, Ordering::SeqCst);
            return;
        }
    }
    // Not a fault of the guarded mapping: die as we would have without the handler.
    // SAFETY: resetting to the default action is async-signal-safe; returning re-runs
    // the faulting instruction, which then ends the process with SIGBUS.
    unsafe {
        libc::signal(libc::SIGBUS, libc::SIG_DFL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The guard covers one mapping at a time, as the worker uses them; tests that map
    /// take turns.
    static ONE_MAPPING: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("dbw-source-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn small_files_are_read_and_large_files_mapped() {
        let _turn = ONE_MAPPING.lock().unwrap_or_else(|e| e.into_inner());
        let dir = temp_dir("kinds");
        let small = dir.join("small.pdf");
        let large = dir.join("large.pdf");
        std::fs::write(&small, b"%PDF-1.4 small").unwrap();
        std::fs::write(&large, vec![b'x'; MAP_THRESHOLD as usize + 1]).unwrap();

        let mut buf = Vec::new();
        let bytes = load(&small, &mut buf).unwrap();
        assert!(matches!(bytes, Bytes::Read(_)));
        assert_eq!(&*bytes, b"%PDF-1.4 small");

        let bytes = load(&large, &mut buf).unwrap();
        assert!(matches!(bytes, Bytes::Mapped(_)));
        assert_eq!(bytes.len(), MAP_THRESHOLD as usize + 1);
        assert!(!bytes.changed_underneath());
        drop(bytes);

        assert!(load(&dir.join("missing.pdf"), &mut buf).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Issue 5: a file truncated while mapped must not kill the worker with SIGBUS.
    #[test]
    fn a_mapped_file_truncated_underneath_reads_zeros_and_is_flagged() {
        let _turn = ONE_MAPPING.lock().unwrap_or_else(|e| e.into_inner());
        let dir = temp_dir("truncated");
        let path = dir.join("shrinks.pdf");
        let len = 4 * MAP_THRESHOLD as usize;
        std::fs::write(&path, vec![b'x'; len]).unwrap();
        let mut buf = Vec::new();
        let bytes = load(&path, &mut buf).unwrap();
        assert!(matches!(bytes, Bytes::Mapped(_)));
        assert_eq!(bytes[len - 1], b'x');

        // Another writer cuts the file down to nothing while it is mapped.
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(0)
            .unwrap();
        // Touch every page: without the guard the first read past the new end kills us.
        let sum: u64 = bytes.iter().step_by(4096).map(|&b| u64::from(b)).sum();
        assert_eq!(sum, 0, "vanished pages read as zeros");
        assert!(bytes.changed_underneath());
        drop(bytes);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// What the engine makes of it: an `io` error, not whatever the zeros parse as.
    #[test]
    fn the_engine_counts_a_file_truncated_underneath_as_io() {
        let _turn = ONE_MAPPING.lock().unwrap_or_else(|e| e.into_inner());
        let dir = temp_dir("truncated-engine");
        let path = dir.join("shrinks.pdf");
        let mut pdf = b"%PDF-1.4\n".to_vec();
        pdf.resize(2 * MAP_THRESHOLD as usize, b' ');
        std::fs::write(&path, &pdf).unwrap();
        let mut buf = Vec::new();
        let bytes = load(&path, &mut buf).unwrap();
        assert!(matches!(bytes, Bytes::Mapped(_)));
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(0)
            .unwrap();
        let mut on_page = |_: u32, _: &str| std::ops::ControlFlow::Continue(());
        let err = crate::engine::Extractor::default()
            .extract_loaded(&bytes, &Default::default(), &mut on_page)
            .unwrap_err();
        assert_eq!(err.reason, crate::protocol::Reason::Io, "{}", err.detail);
        drop(bytes);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
