//! Coordinate conversions (issue 16): GCJ-02 and BD-09 each way, and the CGCS2000 Gauss–Krüger
//! inverse, per point; and the GCJ-02 tile set against the WGS84 one over the sample's urban
//! core (render time; sizes printed).
//!
//! cargo bench --bench crs

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use geo::Point;
use gridmap::analysis::coverage::{CoverageMap, DEFAULT_RADIUS_M};
use gridmap::geodesy::gauss_kruger::SourceCrs;
use gridmap::geodesy::{Crs, bd09_to_wgs84, gcj02_to_wgs84, wgs84_to_bd09, wgs84_to_gcj02};
use gridmap::index::Snapshot;
use gridmap::tiles::{TileConfig, TileCoord, lon_lat_to_world, render};

/// 1,000 points over Danyang, a batch per iteration: the time per point is a thousandth of it.
fn points() -> Vec<Point> {
    (0..1000)
        .map(|i| {
            let t = f64::from(i) / 1000.0;
            Point::new(119.4 + 0.35 * t, 31.8 + 0.35 * ((t * 7.3) % 1.0))
        })
        .collect()
}

fn conversions(c: &mut Criterion) {
    let wgs = points();
    let gcj: Vec<Point> = wgs.iter().map(|p| wgs84_to_gcj02(*p)).collect();
    let bd: Vec<Point> = wgs.iter().map(|p| wgs84_to_bd09(*p)).collect();
    let gk = SourceCrs::parse("EPSG:4549").unwrap();
    let en: Vec<(f64, f64)> = wgs
        .iter()
        .map(|p| {
            (
                500_000.0 + (p.x() - 120.0) * 94_000.0,
                3_530_000.0 + (p.y() - 31.9) * 110_900.0,
            )
        })
        .collect();
    let mut group = c.benchmark_group("crs_1000_points");
    let each = |f: fn(Point) -> Point, input: &[Point]| {
        input.iter().map(|p| f(*p)).fold(0.0, |s, q| s + q.x())
    };
    group.bench_function("wgs84_to_gcj02", |b| {
        b.iter(|| black_box(each(wgs84_to_gcj02, &wgs)))
    });
    group.bench_function("gcj02_to_wgs84", |b| {
        b.iter(|| black_box(each(gcj02_to_wgs84, &gcj)))
    });
    group.bench_function("wgs84_to_bd09", |b| {
        b.iter(|| black_box(each(wgs84_to_bd09, &wgs)))
    });
    group.bench_function("bd09_to_wgs84", |b| {
        b.iter(|| black_box(each(bd09_to_wgs84, &bd)))
    });
    group.bench_function("gauss_kruger_4549_to_wgs84", |b| {
        b.iter(|| {
            black_box(
                en.iter()
                    .map(|&(e, n)| gk.to_wgs84(e, n).unwrap().x())
                    .sum::<f64>(),
            )
        })
    });
    group.finish();
}

fn tiles(c: &mut Criterion) {
    let snap = Snapshot::build(gridmap::sample::dataset().expect("embedded sample"));
    let gaps = CoverageMap::compute(snap.dataset(), DEFAULT_RADIUS_M, None);
    let mut group = c.benchmark_group("tiles_gcj02_sample");
    for z in [12u8, 14] {
        for crs in [Crs::Wgs84, Crs::Gcj02] {
            let config = TileConfig {
                crs,
                ..TileConfig::default()
            };
            // The urban core's tile in that set's own coordinates.
            let core = crs.from_wgs84(Point::new(119.585, 31.99167));
            let (x, y) = lon_lat_to_world(core.x(), core.y());
            let n = f64::from(1u32 << z);
            let coord = TileCoord::new(z.into(), (x * n) as u32, (y * n) as u32).unwrap();
            let size = render(&snap, coord, &config, Some(&gaps)).unwrap().len();
            eprintln!(
                "{} z{z} {}/{}/{}: {size} bytes",
                crs.name(),
                coord.z,
                coord.x,
                coord.y
            );
            group.bench_function(format!("render_uncached_z{z}_{}", crs.name()), |b| {
                b.iter(|| black_box(render(&snap, coord, &config, Some(&gaps)).unwrap()))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, conversions, tiles);
criterion_main!(benches);
