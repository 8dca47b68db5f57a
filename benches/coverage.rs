//! Coverage, gaps and siting on the sample and on `generate --scale 100`.
//!
//!   cargo bench --bench coverage
//!
//! Set GRIDMAP_BENCH_SCALE to change the large dataset's scale (default 100). Each figure is a
//! whole computation from the dataset, as a first request after a change costs (later requests
//! for the same radius hit the server's cache).

mod common;

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use gridmap::analysis::coverage::{CoverageMap, Level, report, unit_gap};
use gridmap::analysis::siting::{centroid_candidates, suggest};
use gridmap::model::Dataset;

/// The full report: every grid's coverage, then the units of `level`.
fn full_report(data: &Dataset, radius_m: f64, level: Level) -> usize {
    let map = CoverageMap::compute(data, radius_m, None);
    report(data, &map, level).0.len()
}

/// The report and every unit's gap polygon (what /coverage/gaps serves).
fn gaps(data: &Dataset, radius_m: f64, level: Level) -> usize {
    let map = CoverageMap::compute(data, radius_m, None);
    let (units, _) = report(data, &map, level);
    units.iter().map(|u| unit_gap(&map, u).0.len()).sum()
}

fn sites(data: &Dataset, radius_m: f64, k: usize) -> usize {
    let map = CoverageMap::compute(data, radius_m, None);
    let (_, total) = report(data, &map, Level::Town);
    let candidates = centroid_candidates(data, false);
    suggest(
        data,
        &map,
        &candidates,
        k,
        total.population_covered,
        total.population as f64,
    )
    .len()
}

fn benches_for(c: &mut Criterion, label: &str, data: &Dataset, radii: &[f64]) {
    let mut group = c.benchmark_group(label);
    group.sample_size(10);
    for &r in radii {
        group.bench_function(format!("report_village_{r}m"), |b| {
            b.iter(|| black_box(full_report(data, r, Level::Village)))
        });
        group.bench_function(format!("gaps_village_{r}m"), |b| {
            b.iter(|| black_box(gaps(data, r, Level::Village)))
        });
        group.bench_function(format!("suggest_k20_{r}m"), |b| {
            b.iter(|| black_box(sites(data, r, 20)))
        });
    }
    group.finish();
}

fn sample(c: &mut Criterion) {
    let data = gridmap::sample::dataset().expect("embedded sample");
    benches_for(c, "coverage_sample", &data, &[500.0]);
    // The map of the snapshot after one post moved 100 m: from scratch, and from the previous
    // snapshot's map (what the server does after an edit).
    let mut after = data.clone();
    let p = after.stations[0].location;
    after.stations[0].location = geo::Point::new(p.x() + 0.001, p.y());
    let mut group = c.benchmark_group("coverage_sample_after_a_moved_post");
    group.sample_size(10);
    let previous = CoverageMap::compute(&data, 500.0, None);
    group.bench_function("from_scratch_500m", |b| {
        b.iter(|| black_box(CoverageMap::compute(&after, 500.0, None).grids.len()))
    });
    group.bench_function("from_the_previous_map_500m", |b| {
        b.iter(|| {
            black_box(
                CoverageMap::compute_after(Some(&previous), &after, 500.0, None)
                    .grids
                    .len(),
            )
        })
    });
    group.finish();
}

fn scaled(c: &mut Criterion) {
    let scale = common::bench_scale();
    let started = Instant::now();
    let data = gridmap::generate::generate(scale).expect("generate");
    eprintln!(
        "scale {scale}: {} grids, {} stations generated in {:.1?}",
        data.grids.len(),
        data.stations.len(),
        started.elapsed()
    );
    // 500 m covers nearly everything once there are 30,000 posts; 100 m leaves every grid
    // partly covered, the expensive case.
    benches_for(c, &format!("coverage_scale{scale}"), &data, &[500.0, 100.0]);
}

criterion_group!(benches, sample, scaled);
criterion_main!(benches);
