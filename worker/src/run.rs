//! The measured loop (being written).
