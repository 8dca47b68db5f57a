//! locate and nearest for seeded random points against a brute-force scan of every feature.

use geo::{Intersects, MultiPolygon, Point};
use gridmap::geodesy::distance_m;
use gridmap::model::{Dataset, Service};

use crate::common::{backed_state, get};

/// A seeded xorshift: the points are the same on every run.
pub struct Seeded(pub u64);
impl Seeded {
    pub fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Points over Danyang's bounding box, a little beyond it on every side.
pub fn points(n: usize) -> Vec<Point> {
    let mut r = Seeded(0x9e37_79b9_7f4a_7c15);
    (0..n)
        .map(|_| Point::new(119.38 + r.unit() * 0.54, 31.72 + r.unit() * 0.44))
        .collect()
}

fn brute_containing<'a>(
    items: impl Iterator<Item = (&'a str, &'a MultiPolygon)>,
    p: Point,
) -> Option<&'a str> {
    items
        .filter(|(_, g)| g.intersects(&p))
        .map(|(code, _)| code)
        .min()
}

fn brute_nearest(
    d: &Dataset,
    p: Point,
    k: usize,
    max_m: Option<f64>,
    service: Option<Service>,
) -> Vec<(u64, f64)> {
    let mut all: Vec<(f64, u64)> = d
        .stations
        .iter()
        .filter(|s| service.is_none_or(|x| s.services.contains(&x)))
        .map(|s| (distance_m(p, s.location), s.id))
        .filter(|(dist, _)| max_m.is_none_or(|m| *dist <= m))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    all.into_iter()
        .take(k)
        .map(|(dist, id)| (id, dist))
        .collect()
}

/// `nearest` with a random k (up to `max_k`), and sometimes a service filter or a distance limit
/// (up to `max_limit_m`), equals the brute-force answer: same stations, order and distances.
fn check_nearest(
    snap: &gridmap::index::Snapshot,
    p: Point,
    r: &mut Seeded,
    max_k: usize,
    max_limit_m: f64,
) {
    let k = 1 + (r.unit() * max_k as f64) as usize;
    let service = (r.unit() < 0.3).then(|| Service::ALL[(r.unit() * 4.0) as usize % 4]);
    let max_m = (r.unit() < 0.25).then(|| r.unit() * max_limit_m);
    let got: Vec<(u64, f64)> = snap
        .nearest(p, k, max_m, service)
        .iter()
        .map(|n| (n.station.id, n.distance_m))
        .collect();
    assert_eq!(
        got,
        brute_nearest(snap.dataset(), p, k, max_m, service),
        "{p:?} k={k} {service:?} {max_m:?}"
    );
}

#[test]
fn locate_agrees_with_brute_force_on_3000_random_points() {
    let (_store, state) = backed_state();
    let snap = state.index.load();
    let d = snap.dataset();
    let mut inside = 0;
    for p in points(3_000) {
        let got = snap.locate(p);
        let grid = brute_containing(d.grids.iter().map(|g| (g.code.as_str(), &g.geometry)), p);
        let village_by_polygon =
            brute_containing(d.villages.iter().map(|v| (v.code.as_str(), &v.geometry)), p);
        let town_by_polygon =
            brute_containing(d.towns.iter().map(|t| (t.code.as_str(), &t.geometry)), p);
        // locate answers the grid's parents when a grid contains the point (codes nest)...
        let village = grid.map(|g| &g[..12]).or(village_by_polygon);
        let town = village.map(|v| &v[..9]).or(town_by_polygon);
        assert_eq!(got.grid.map(|g| g.code.as_str()), grid, "{p:?}");
        assert_eq!(got.village.map(|v| v.code.as_str()), village, "{p:?}");
        assert_eq!(got.town.map(|t| t.code.as_str()), town, "{p:?}");
        // ...and on this data those parents are also what the polygons alone say.
        assert_eq!(village, village_by_polygon, "{p:?}");
        assert_eq!(town, town_by_polygon, "{p:?}");
        let stations: Vec<u64> = d
            .stations
            .iter()
            .filter(|s| Some(s.grid_code.as_str()) == grid)
            .map(|s| s.id)
            .collect();
        assert_eq!(
            got.stations.iter().map(|s| s.id).collect::<Vec<_>>(),
            stations
        );
        inside += usize::from(grid.is_some());
    }
    assert!(inside > 1_000, "only {inside} points fell inside grids");
}

#[test]
fn nearest_agrees_with_brute_force_on_2000_random_points() {
    let (_store, state) = backed_state();
    let snap = state.index.load();
    let d = snap.dataset();
    let mut r = Seeded(42);
    let mut degree_and_ground_differ = 0;
    for p in points(2_000) {
        check_nearest(&snap, p, &mut r, 20, 5_000.0);

        let by_degrees = d
            .stations
            .iter()
            .min_by(|a, b| {
                let da = (a.location.x() - p.x()).hypot(a.location.y() - p.y());
                let db = (b.location.x() - p.x()).hypot(b.location.y() - p.y());
                da.total_cmp(&db)
            })
            .map(|s| s.id);
        degree_and_ground_differ +=
            usize::from(by_degrees != snap.nearest(p, 1, None, None).first().map(|n| n.station.id));
    }
    // The trap is real on this data: raw-degree nearest is wrong for a share of points.
    assert!(degree_and_ground_differ > 20, "{degree_and_ground_differ}");
}

#[tokio::test]
async fn http_answers_agree_with_brute_force() {
    let (_store, state) = backed_state();
    let snap = state.index.load();
    let d = snap.dataset();
    for p in points(200) {
        let r = get(&state, &format!("/nearest?lon={}&lat={}&k=5", p.x(), p.y())).await;
        let ids: Vec<u64> = r.json["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_u64().unwrap())
            .collect();
        let expected: Vec<u64> = brute_nearest(d, p, 5, None, None)
            .iter()
            .map(|x| x.0)
            .collect();
        assert_eq!(ids, expected);
        let r = get(&state, &format!("/locate?lon={}&lat={}", p.x(), p.y())).await;
        let grid = brute_containing(d.grids.iter().map(|g| (g.code.as_str(), &g.geometry)), p);
        assert_eq!(r.json["grid"]["code"].as_str(), grid);
    }
}

#[test]
fn nearest_agrees_with_brute_force_at_scale_10_near_and_far() {
    let snap = gridmap::index::Snapshot::build(gridmap::generate::generate(10).unwrap());
    let d = snap.dataset();
    assert_eq!(d.stations.len(), 3_000);
    let mut r = Seeded(7);
    // Points over the city, plus points up to ~2,000 km away.
    let near = points(1_000);
    let far: Vec<Point> = (0..100)
        .map(|_| Point::new(100.0 + r.unit() * 30.0, 20.0 + r.unit() * 25.0))
        .collect();
    for p in near.into_iter().chain(far) {
        check_nearest(&snap, p, &mut r, 30, 3_000.0);
    }
}
