//! Tile rendering benchmarks: uncached tiles over the densest part of the sample and of
//! `generate --scale 100`, and the whole z8-z16 pyramid of the sample.
//!
//! cargo bench --bench tiles
//! GRIDMAP_BENCH_SCALE sets the large dataset's scale (default 100).

mod common;

/// The server's allocator (`src/main.rs`), so that these figures are what `serve` spends.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use gridmap::analysis::coverage::{CoverageMap, DEFAULT_RADIUS_M};
use gridmap::index::Snapshot;
use gridmap::model::Layer;
use gridmap::tiles::{TileConfig, TileCoord, lon_lat_to_world, render};

/// The urban core of Danyang (云阳街道 / 曲阿街道), where grids are densest.
const CORE: (f64, f64) = (119.585, 31.99167);

fn core_tile(z: u8) -> TileCoord {
    let (x, y) = lon_lat_to_world(CORE.0, CORE.1);
    let n = f64::from(1u32 << z);
    TileCoord::new(z.into(), (x * n) as u32, (y * n) as u32).expect("a valid tile")
}

fn render_benches(c: &mut Criterion, label: &str, snap: &Snapshot) {
    let config = TileConfig::default();
    // The coverage gaps a server computes once per snapshot and draws from z10.
    let gaps = CoverageMap::compute(snap.dataset(), DEFAULT_RADIUS_M, None);
    let gaps = Some(&gaps);
    let mut group = c.benchmark_group(label);
    for z in [10u8, 12, 14] {
        let coord = core_tile(z);
        // The first render of the tile on this snapshot also prepares its features for the zoom
        // (`tiles::shapes`); the measured ones find them prepared.
        let started = Instant::now();
        let size = render(snap, coord, &config, gaps).unwrap().len();
        eprintln!(
            "{label} z{z} {}/{}/{}: {size} bytes, first render {:.1?}",
            coord.z,
            coord.x,
            coord.y,
            started.elapsed()
        );
        group.bench_function(format!("render_uncached_z{z}"), |b| {
            b.iter(|| black_box(render(snap, coord, &config, gaps).unwrap()))
        });
    }
    group.finish();
}

fn sample(c: &mut Criterion) {
    let snap = Snapshot::build(gridmap::sample::dataset().expect("embedded sample"));
    render_benches(c, "tiles_sample", &snap);
    let bbox = snap.extent(Layer::Towns).expect("towns");
    let gaps = CoverageMap::compute(snap.dataset(), DEFAULT_RADIUS_M, None);
    let mut group = c.benchmark_group("tiles_sample");
    group.sample_size(10);
    // Each run on a snapshot of its own: what it prepares for tiles (`tiles::shapes`) is made
    // during the run, as `gridmap tiles` does.
    group.bench_function("pyramid_z8_z16_render_and_encode", |b| {
        b.iter_batched(
            || Snapshot::build(snap.dataset().clone()),
            |fresh| {
                let mut bytes = 0;
                for z in 8..=16 {
                    for coord in gridmap::tiles::archive::tiles_covering(&bbox, z) {
                        bytes += render(&fresh, coord, &TileConfig::default(), Some(&gaps))
                            .unwrap()
                            .len();
                    }
                }
                // Dropped after the timing, with the snapshot.
                (fresh, black_box(bytes))
            },
            criterion::BatchSize::PerIteration,
        )
    });
    group.finish();
}

fn scaled(c: &mut Criterion) {
    let scale = common::bench_scale();
    let started = Instant::now();
    let snap = Snapshot::build(gridmap::generate::generate(scale).expect("generate"));
    eprintln!(
        "scale {scale}: {} grids indexed in {:.1?}",
        snap.dataset().grids.len(),
        started.elapsed()
    );
    render_benches(c, &format!("tiles_scale{scale}"), &snap);
    first_tiles_after_a_change(c, &format!("tiles_scale{scale}_after_a_change"), &snap);
}

/// The first render of the urban core's tiles on the snapshot after one changed grid, built from
/// the previous one as a server's catch-up does, with the shapes the previous snapshot prepared
/// carried over (`tiles::carry_over`, as the follower does) and, for comparison, without.
fn first_tiles_after_a_change(c: &mut Criterion, label: &str, snap: &Snapshot) {
    let config = TileConfig::default();
    let mut data = snap.dataset().clone();
    data.grids[0].population += 1;
    // Every run makes the same change, so one coverage map serves them all.
    let gaps = CoverageMap::compute(&data, DEFAULT_RADIUS_M, None);
    let next = Snapshot::build_after(Some(snap), data.clone());
    let started = Instant::now();
    let carried = gridmap::tiles::carry_over(snap, &next);
    eprintln!(
        "{label}: carry_over of {} shapes and properties in {:.1?}",
        carried.values().sum::<usize>(),
        started.elapsed()
    );
    let mut group = c.benchmark_group(label);
    group.sample_size(10);
    for z in [12u8, 14] {
        for carry in [true, false] {
            let name = if carry { "carried" } else { "prepared_anew" };
            group.bench_function(format!("first_render_z{z}_shapes_{name}"), |b| {
                b.iter_batched(
                    || {
                        let next = Snapshot::build_after(Some(snap), data.clone());
                        if carry {
                            gridmap::tiles::carry_over(snap, &next);
                        }
                        next
                    },
                    |next| {
                        let tile = render(&next, core_tile(z), &config, Some(&gaps)).unwrap();
                        (next, black_box(tile))
                    },
                    criterion::BatchSize::PerIteration,
                )
            });
        }
    }
    group.finish();
}

criterion_group!(benches, sample, scaled);
criterion_main!(benches);
