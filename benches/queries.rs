//! Query and index benchmarks on the sample and on `generate --scale 100`.
//!
//! cargo bench --bench queries
//! Set GRIDMAP_BENCH_SCALE to change the large dataset's scale (default 100).

mod common;

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use geo::{Contains, Point};
use gridmap::index::Snapshot;
use gridmap::model::Dataset;
use gridmap::store::{GeoPackage, Store};

/// Seeded points spread evenly over Danyang's bounding box; with `in_county`, only those inside
/// a town (where field apps ask from), tested by brute force over the 12 town polygons.
fn points(n: usize, data: &Dataset, in_county: bool) -> Vec<Point> {
    let mut s: u64 = 0x2545_f491_4f6c_dd1d;
    let mut unit = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    std::iter::repeat_with(|| Point::new(119.40 + unit() * 0.49, 31.74 + unit() * 0.39))
        .filter(|p| !in_county || data.towns.iter().any(|t| t.geometry.contains(p)))
        .take(n)
        .collect()
}

/// Resident set size of this process, in bytes (Linux).
fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn query_benches(c: &mut Criterion, label: &str, snap: &Snapshot) {
    let mut group = c.benchmark_group(label);
    for (name, in_county) in [("in_county", true), ("anywhere_in_bbox", false)] {
        let pts = points(4096, snap.dataset(), in_county);
        let mut i = 0;
        group.bench_function(format!("locate/{name}"), |b| {
            b.iter(|| {
                i = (i + 1) % pts.len();
                black_box(snap.locate(black_box(pts[i])).grid.is_some())
            })
        });
        group.bench_function(format!("nearest_k5/{name}"), |b| {
            b.iter(|| {
                i = (i + 1) % pts.len();
                black_box(snap.nearest(black_box(pts[i]), 5, None, None).len())
            })
        });
    }
    // The search box: a whole village name, a code prefix, one character found in most names,
    // a prefix of every code, a digit in most names and codes, a grid's name (in every village)
    // and nothing. The text index is built first: its time and memory are printed.
    let d = snap.dataset();
    let village = d.villages[d.villages.len() / 2].name.clone();
    let prefix = d.villages[d.villages.len() / 2].code[..9].to_string();
    let searched = snap.searchable();
    let before = rss_bytes();
    let started = Instant::now();
    snap.prepare_search();
    let built = started.elapsed();
    if let (Some(a), Some(b)) = (before, rss_bytes()) {
        eprintln!(
            "{label}: text index built in {built:.2?}, resident {:.1} MiB",
            (b.saturating_sub(a)) as f64 / 1048576.0
        );
    }
    for (name, query) in [
        ("village_name", village.as_str()),
        ("code_prefix", &prefix),
        ("one_common_char", "村"),
        ("every_code", "3211"),
        ("one_digit", "1"),
        ("grid_name", "第3网格"),
        ("nothing", "zzz"),
    ] {
        group.bench_function(format!("search/{name}"), |b| {
            b.iter(|| black_box(snap.search(black_box(query), &searched, 10).len()))
        });
    }
    // The same after 1,000 grids were renamed in place (`MAX_STALE`: past it `Index`'s thread
    // builds the snapshot's own index) and after 10,000 (`MAX_LAID_OVER`, the most laid over
    // while that build is behind): the built index, minus the stale entries, merged with a scan
    // of the fresh ones.
    for (bench, renames) in [
        ("search_after_renames", 1_000),
        ("search_after_10k_renames", 10_000),
    ] {
        if snap.dataset().grids.len() < renames {
            continue;
        }
        let mut renamed = snap.dataset().clone();
        for g in renamed.grids.iter_mut().take(renames) {
            g.name.push('改');
        }
        let after = Snapshot::build_after(Some(snap), renamed);
        let stale = after.search_index_stale();
        assert_eq!(stale, Some(renames), "renames laid over");
        for (name, query) in [
            ("village_name", village.as_str()),
            ("one_common_char", "村"),
            ("renamed", "改"),
            ("nothing", "zzz"),
        ] {
            group.bench_function(format!("{bench}/{name}"), |b| {
                b.iter(|| black_box(after.search(black_box(query), &searched, 10).len()))
            });
        }
    }
    // The scan the index replaced, on the sample only (80 ms a query at scale 100).
    if label == "sample" {
        group.bench_function("search_scan/one_common_char", |b| {
            b.iter(|| {
                let all = &|_, _| true;
                black_box(snap.search_scan(black_box("村"), &searched, 10, all).len())
            })
        });
    }
    group.finish();
}

/// What routing an event costs at intake (issue 14: ≤ 10 µs): the grid, village and town, the
/// post offering the category's service within 1 km (else the nearest), and the grids within
/// 30 m, at points in the county, half of them a mediation case.
fn routing_benches(c: &mut Criterion, snap: &Snapshot) {
    use gridmap::model::Service;
    let pts = points(4096, snap.dataset(), true);
    let mut group = c.benchmark_group("events");
    let mut i = 0;
    group.bench_function("route", |b| {
        b.iter(|| {
            i = (i + 1) % pts.len();
            let service = (i % 2 == 0).then_some(Service::Mediation);
            black_box(gridmap::events::route(snap, black_box(pts[i]), service).is_some())
        })
    });
    // Geocoding (≤ 1 ms per address): addresses of 1,024 buildings written in full, as
    // gridmap writes them back from /reverse.
    let geocoder = snap.geocoder();
    let addresses: Vec<String> = gridmap::model::buildings::all(snap.dataset())
        .iter()
        .step_by(97)
        .take(1024)
        .filter_map(|b| geocoder.address_of(b.code, b.text("compound")))
        .collect();
    let mut j = 0;
    group.bench_function("geocode", |b| {
        b.iter(|| {
            j = (j + 1) % addresses.len();
            black_box(geocoder.geocode(black_box(&addresses[j]), 5).len())
        })
    });
    group.finish();
}

/// What authentication and the area rule cost a request: the token's SHA-256 and lookup among
/// 1,000 accounts, resolving the area against the snapshot, and deciding one feature's view.
fn access_benches(c: &mut Criterion, snap: &Snapshot) {
    use gridmap::access::{Account, Registry, Role, StoredAccount, Token};
    use gridmap::model::{AnyLayer, Layer};
    let d = snap.dataset();
    let town = d.towns[0].code.clone();
    let mut accounts = Vec::new();
    let mut tokens = Vec::new();
    for n in 0..1000 {
        let token = Token::generate().expect("random");
        let account = Account::new(&format!("user{n}"), Role::Town, vec![town.clone()], 0, None)
            .expect("account");
        accounts.push(StoredAccount {
            account,
            token: token.hash(),
        });
        tokens.push(token.as_str().to_string());
    }
    let registry = Registry::new(accounts);
    let ip: std::net::IpAddr = "127.0.0.1".parse().expect("ip");
    let grids = AnyLayer::Builtin(Layer::Grids);
    let mut group = c.benchmark_group("access");
    let mut i = 0;
    group.bench_function("check_token", |b| {
        b.iter(|| {
            i = (i + 1) % tokens.len();
            black_box(registry.check(black_box(&tokens[i]), ip, 1).is_ok())
        })
    });
    group.bench_function("authenticate_scope_and_view", |b| {
        b.iter(|| {
            i = (i + 1) % tokens.len();
            let account = registry.check(black_box(&tokens[i]), ip, 1).expect("known");
            let scope = snap.scope(Some(&account));
            black_box(scope.view(snap, grids, i % d.grids.len()))
        })
    });
    group.finish();
}

fn sample(c: &mut Criterion) {
    let data = gridmap::sample::dataset().expect("embedded sample");
    let snap = Snapshot::build(data.clone());
    query_benches(c, "sample", &snap);
    access_benches(c, &snap);
    routing_benches(c, &snap);

    let dir = tempfile::tempdir().expect("temp dir");
    let store = GeoPackage::open(
        dir.path().join("gridmap.gpkg"),
        gridmap::model::declared::Declarations::shipped(),
    )
    .expect("store");
    store.replace_all(&data, &|_, _| {}).expect("load sample");
    let mut group = c.benchmark_group("sample");
    group.sample_size(20);
    group.bench_function("index_build", |b| {
        b.iter(|| black_box(Snapshot::build(data.clone())))
    });
    group.bench_function("startup_load_and_index", |b| {
        b.iter(|| black_box(Snapshot::build(store.load().expect("load"))))
    });
    group.finish();
}

fn scaled(c: &mut Criterion) {
    let scale = common::bench_scale();
    let started = Instant::now();
    let data: Dataset = gridmap::generate::generate(scale).expect("generate");
    eprintln!(
        "scale {scale}: generated {} grids, {} stations in {:.1?}",
        data.grids.len(),
        data.stations.len(),
        started.elapsed()
    );
    let grids = data.grids.len();
    let before = rss_bytes();
    let started = Instant::now();
    let snap = Snapshot::build(data.clone());
    let built = started.elapsed();
    if let (Some(a), Some(b)) = (before, rss_bytes()) {
        eprintln!(
            "scale {scale}: index build {built:.2?}; resident memory of the snapshot (R-trees, prepared polygons, keys; its records are shared with the generated dataset) {:.1} MiB = {:.1} MiB per 100k grids",
            (b.saturating_sub(a)) as f64 / 1048576.0,
            (b.saturating_sub(a)) as f64 / 1048576.0 / (grids as f64 / 100_000.0)
        );
    }
    query_benches(c, &format!("scale{scale}"), &snap);
    let mut group = c.benchmark_group(format!("scale{scale}"));
    group.sample_size(10);
    group.bench_function("index_build", |b| {
        b.iter(|| black_box(Snapshot::build(data.clone())))
    });
    // What a catch-up does in memory after one grid changed (`Follower::reload` less the store's
    // read): copy the dataset, change the grid, build from the previous snapshot, diff the two.
    group.bench_function("catch_up_one_grid", |b| {
        let mut n = 0;
        b.iter(|| {
            let mut next = snap.dataset().clone();
            n = (n + 7_919) % next.grids.len();
            next.grids[n].population += 1;
            let newer = Snapshot::build_after(Some(&snap), next);
            black_box(snap.changed_areas(&newer))
        })
    });
    group.finish();
}

criterion_group!(benches, sample, scaled);
criterion_main!(benches);
