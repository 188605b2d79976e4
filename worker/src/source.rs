//! A file's bytes through mmap, with a plain read fallback (being written).
