//! Pure analysis of what the workers reported, and the exporters.

pub mod analysis;
#[allow(dead_code)] // Called by the scaling loop, which is being written.
pub mod compare;
pub mod export;
#[cfg(test)]
mod fixtures;
pub mod model;
pub mod stats;
#[allow(dead_code)] // Called by the scaling loop, which is being written.
pub mod study;
