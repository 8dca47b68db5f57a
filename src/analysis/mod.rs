//! Analyses over the model: pure functions, no I/O.

pub mod coverage;
pub mod impact;
pub mod siting;
pub mod stats;
pub mod table;
pub mod topology;
pub mod trend;
