//! Analyses over the model: pure functions, no I/O. Coverage and siting arrive here later.

pub mod topology;
