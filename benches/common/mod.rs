//! Shared by the benchmarks (a folder, so Cargo does not take it for a bench target).

/// The scale of the large generated dataset: `GRIDMAP_BENCH_SCALE`, default 100.
pub fn bench_scale() -> u32 {
    std::env::var("GRIDMAP_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100)
}
