//! Pure analysis of what the workers reported, and the exporters.

pub mod analysis;
pub mod compare;
pub mod export;
#[cfg(test)]
mod fixtures;
pub mod model;
pub mod stats;
pub mod study;
