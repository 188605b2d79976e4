//! Pure analysis of what the workers reported, and the exporters.

pub mod analysis;
pub mod export;
pub mod model;
pub mod stats;
