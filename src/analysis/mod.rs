//! Analyses over the model: pure functions, no I/O.

pub mod coverage;
pub mod impact;
pub mod siting;
pub mod stats;
pub mod table;
pub mod topology;
pub mod trend;

/// `v` rounded to `decimals` places, as answers write measures (metres to 0.1, shares to 1e-6).
pub(crate) fn round(v: f64, decimals: i32) -> f64 {
    let k = 10_f64.powi(decimals);
    (v * k).round() / k
}
