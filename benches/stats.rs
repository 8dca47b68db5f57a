//! Judging the situation: statistics by unit (`GET /stats`), their trend by month
//! (`GET /stats/trend`) and what an emergency touches (`POST /impact`), on the sample with its year of events and on `generate --scale 100` with a
//! year of events at the same rate.
//!
//!   cargo bench --bench stats
//!
//! Set GRIDMAP_BENCH_SCALE to change the large dataset's scale (default 100). Each figure is what
//! a request costs on a warm server: the tally of every unit at the level from the data and the
//! book of events, its rows and class breaks, written as JSON. The coverage maps at 300, 500 and
//! 1,000 m are computed once per snapshot (the server caches them) and timed apart.

mod common;

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use gridmap::analysis::coverage::CoverageMap;
use gridmap::analysis::impact;
use gridmap::analysis::stats::{self, Level, Metric, RADII_M};
use gridmap::analysis::trend;
use gridmap::events::{Book, Categories};
use gridmap::index::Snapshot;

/// The dataset's year of events (`generate::events::year`, as `serve` loads into a new store).
fn year(data: gridmap::model::Dataset) -> (Snapshot, Book) {
    let snap = Snapshot::build(data);
    let book = gridmap::generate::events::year_book(&snap);
    (snap, book)
}

fn benches_for(c: &mut Criterion, label: &str, snap: &Snapshot, book: &Book) {
    let data = snap.dataset();
    let started = Instant::now();
    let maps = RADII_M.map(|r| CoverageMap::compute(data, r, None));
    eprintln!(
        "{label}: coverage maps at 300, 500 and 1,000 m in {:.1?}",
        started.elapsed()
    );
    let categories = Categories::shipped();
    let ids: Vec<&str> = categories.all().iter().map(|c| c.id.as_str()).collect();
    let metrics = Metric::all(&ids);
    let now_ms = gridmap::generate::events::YEAR_START_MS + gridmap::generate::events::YEAR_MS;
    let mut group = c.benchmark_group(label);
    group.sample_size(10);
    for level in [Level::Town, Level::Village, Level::Grid] {
        group.bench_function(format!("{}_all_metrics_json", level.name()), |b| {
            b.iter(|| {
                let units = stats::tally(
                    data,
                    [&maps[0], &maps[1], &maps[2]],
                    book,
                    (i64::MIN, i64::MAX),
                    now_ms,
                    level,
                );
                black_box(serde_json::to_vec(&stats::json(&units, &metrics, level)).unwrap())
            })
        });
    }
    // The trend: every event metric of every village per month over the year (what the
    // statistics panel's charts ask at the town level, for ten times the units).
    let event_metrics: Vec<Metric> = metrics.iter().filter(|m| m.of_events()).cloned().collect();
    let months = trend::plan(book, trend::Interval::Month, None, Some(now_ms), now_ms)
        .expect("twelve months");
    group.bench_function("trend_village_month_json", |b| {
        b.iter(|| {
            let series = trend::tally(data, book, &months, now_ms, Level::Village);
            black_box(
                serde_json::to_vec(&trend::json(
                    &series,
                    &event_metrics,
                    Level::Village,
                    trend::Interval::Month,
                    &months,
                ))
                .unwrap(),
            )
        })
    });
    // A square of 10 km² (3.16 km a side) over the city centre, as `POST /impact` assesses it.
    let side_m = 10e6_f64.sqrt();
    let (lon, lat) = (119.58, 31.99);
    let (d_lon, d_lat) = (
        side_m / gridmap::geodesy::m_per_deg_lon(lat),
        side_m / gridmap::geodesy::m_per_deg_lat(lat),
    );
    let square = geo::MultiPolygon(vec![
        geo::Rect::new(
            geo::coord! {x: lon, y: lat},
            geo::coord! {x: lon + d_lon, y: lat + d_lat},
        )
        .to_polygon(),
    ]);
    let grids = impact::assess(snap, &square, |_, _| true)
        .expect("the square meets grids")
        .grids
        .len();
    eprintln!("{label}: the 10 km² square meets {grids} grids");
    group.bench_function("impact_10km2_json", |b| {
        b.iter(|| {
            let assessed = impact::assess(snap, &square, |_, _| true).unwrap();
            black_box(
                serde_json::to_vec(&impact::json(snap, &assessed, |_| Default::default())).unwrap(),
            )
        })
    });
    group.finish();
}

fn sample(c: &mut Criterion) {
    let (data, book) = year(gridmap::sample::dataset().expect("embedded sample"));
    eprintln!("sample: {} events", book.len());
    benches_for(c, "stats_sample", &data, &book);
}

fn scaled(c: &mut Criterion) {
    let scale = common::bench_scale();
    let started = Instant::now();
    let (data, book) = year(gridmap::generate::generate(scale).expect("generate"));
    eprintln!(
        "scale {scale}: {} grids, {} posts, {} events generated in {:.1?}",
        data.dataset().grids.len(),
        data.dataset().stations.len(),
        book.len(),
        started.elapsed()
    );
    benches_for(c, &format!("stats_scale{scale}"), &data, &book);
}

criterion_group!(benches, sample, scaled);
criterion_main!(benches);
