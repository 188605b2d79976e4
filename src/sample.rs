//! The built-in sample corpus (being written).
