//! A file's bytes: mapped when large, read when small.
//!
//! Mapping avoids copying large files, but a mapped file that shrinks while we read it
//! raises SIGBUS, and for small files a plain read is as fast as setting up a mapping. So
//! files under [`MAP_THRESHOLD`] are read into a reused buffer, and a mapping that fails
//! falls back to a read as well.

use std::fs::File;
use std::io::{self, Read};
use std::ops::Deref;
use std::path::Path;

use memmap2::Mmap;

/// Files smaller than this are read rather than mapped.
pub const MAP_THRESHOLD: u64 = 256 * 1024;

/// The bytes of one file, borrowed from a mapping or from the caller's buffer.
pub enum Bytes<'buf> {
    Mapped(Mmap),
    Read(&'buf [u8]),
}

impl Deref for Bytes<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(map) => map,
            Bytes::Read(bytes) => bytes,
        }
    }
}

/// Opens `path` and returns its bytes, reading into `buf` (reused across calls) when the
/// file is small or cannot be mapped.
pub fn load<'buf>(path: &Path, buf: &'buf mut Vec<u8>) -> io::Result<Bytes<'buf>> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    if len >= MAP_THRESHOLD {
        // SAFETY: the mapping is read-only and private to this process. The corpus is
        // not expected to change during a run; if another process truncates the file
        // while it is mapped, reading past the new end raises SIGBUS, which is why small
        // files (most of a typical corpus) are read instead.
        if let Ok(map) = unsafe { Mmap::map(&file) } {
            return Ok(Bytes::Mapped(map));
        }
    }
    buf.clear();
    file.read_to_end(buf)?;
    Ok(Bytes::Read(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_files_are_read_and_large_files_mapped() {
        let dir = std::env::temp_dir().join(format!("dbw-source-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
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

        assert!(load(&dir.join("missing.pdf"), &mut buf).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
