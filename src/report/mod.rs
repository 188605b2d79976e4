//! Pure analysis of what the workers reported, and the exporters.

pub mod model;
