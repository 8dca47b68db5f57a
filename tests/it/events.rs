//! Events (issue 14): where a report goes, against brute force over every grid and post.

use geo::{Contains, Distance, Euclidean, Intersects, MultiPolygon, Point};
use gridmap::events::{Categories, route};
use gridmap::geodesy::distance_m;
use gridmap::index::Snapshot;
use gridmap::model::{Dataset, Service};

use crate::differential::{Seeded, points};

/// The grid whose polygon holds `p`, by brute force over every grid (the smallest code on a
/// shared edge, as the service rules).
fn containing_grid(d: &Dataset, p: Point) -> Option<&str> {
    d.grids
        .iter()
        .filter(|g| g.geometry.intersects(&p))
        .map(|g| g.code.as_str())
        .min()
}

/// The post to help at `p`: the nearest offering `service` within 1 km, else the nearest, by a
/// geodesic to every post (ties by id).
fn helping_post(d: &Dataset, p: Point, service: Option<Service>) -> Option<(u64, bool)> {
    let nearest = |offers: &dyn Fn(&gridmap::model::Station) -> bool| {
        d.stations
            .iter()
            .filter(|s| offers(s))
            .map(|s| (distance_m(p, s.location), s.id))
            .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
    };
    let by_service = service
        .and_then(|x| nearest(&|s| s.services.contains(&x)))
        .filter(|(m, _)| *m <= 1_000.0);
    match by_service {
        Some((_, id)) => Some((id, true)),
        None => nearest(&|_| true).map(|(_, id)| (id, false)),
    }
}

/// Metres from `p` to `area` in an equirectangular plane around `p` scaled by the WGS84
/// ellipsoid's radii of curvature there (written here, not the service's local plane): good to
/// a centimetre at tens of metres.
fn metres_outside(area: &MultiPolygon, p: Point) -> f64 {
    if area.contains(&p) {
        return 0.0;
    }
    let (a, f) = (6_378_137.0_f64, 1.0 / 298.257_223_563);
    let e2 = f * (2.0 - f);
    let (sin, cos) = p.y().to_radians().sin_cos();
    let w = (1.0 - e2 * sin * sin).sqrt();
    let (meridian, normal) = (a * (1.0 - e2) / (w * w * w), a / w);
    let to_m = |c: geo::Coord| geo::Coord {
        x: (c.x - p.x()).to_radians() * normal * cos,
        y: (c.y - p.y()).to_radians() * meridian,
    };
    let plane: MultiPolygon = geo::MapCoords::map_coords(area, to_m);
    Euclidean.distance(&Point::new(0.0, 0.0), &plane)
}

/// 10,000 seeded points: 9,000 over the county's box (about half of them outside the county,
/// which no route takes), 1,000 within 5 m of an edge between grids. Each is routed to the grid
/// that holds it, the right post, and flagged near other grids exactly when one lies within 30 m.
#[test]
fn every_report_goes_to_the_grid_that_holds_it_and_the_right_post() {
    let snap = Snapshot::build(gridmap::sample::dataset().unwrap());
    let d = snap.dataset();
    let categories = Categories::shipped();
    let boxes: Vec<geo::Rect> = d
        .grids
        .iter()
        .map(|g| geo::BoundingRect::bounding_rect(&g.geometry).unwrap())
        .collect();
    let mut r = Seeded(0x2545_f491_4f6c_dd1d);
    let mut all = points(9_000);
    // Points within 5 m of an edge: on a random edge of a random grid, pushed up to 5 m off it.
    while all.len() < 10_000 {
        let g = &d.grids[(r.unit() * d.grids.len() as f64) as usize % d.grids.len()];
        let ring = &g.geometry.0[0].exterior().0;
        let i = (r.unit() * (ring.len() - 1) as f64) as usize % (ring.len() - 1);
        let (a, b) = (ring[i], ring[i + 1]);
        let t = r.unit();
        let m_per_deg = 111_195.0;
        let (off_e, off_n) = ((r.unit() - 0.5) * 10.0, (r.unit() - 0.5) * 10.0);
        let k = a.y.to_radians().cos();
        let p = Point::new(
            a.x + t * (b.x - a.x) + off_e / 2f64.sqrt() / (m_per_deg * k),
            a.y + t * (b.y - a.y) + off_n / 2f64.sqrt() / m_per_deg,
        );
        all.push(p);
    }
    let (mut routed, mut outside, mut flagged) = (0, 0, 0);
    for (n, &p) in all.iter().enumerate() {
        let category = &categories.categories[n % categories.categories.len()];
        let got = route(&snap, p, category.service);
        let in_county = d.towns.iter().any(|t| t.geometry.intersects(&p));
        let Some(got) = got else {
            assert!(!in_county, "{p:?} is in the county but was not routed");
            outside += 1;
            continue;
        };
        assert!(in_county, "{p:?} routed, but no town holds it");
        routed += 1;
        let grid = got.grid.map(|g| g.code.as_str());
        assert_eq!(grid, containing_grid(d, p), "{p:?}: grid");
        if let Some(g) = got.grid {
            assert_eq!(got.village.map(|v| v.code.as_str()), Some(&g.code[..12]));
            assert_eq!(got.town.code, g.code[..9]);
        }
        let post = got.post.map(|x| (x.station.id, got.post_offers_service));
        assert_eq!(
            post,
            helping_post(d, p, category.service),
            "{p:?}: post for {}",
            category.id
        );
        // Near other grids: exactly those within 30 m (a band of 5 cm around 30 m is left to
        // either method's rounding).
        let flags: Vec<&str> = got
            .near_boundary
            .iter()
            .map(|(g, _)| g.code.as_str())
            .collect();
        // Every grid whose box lies within ~100 m (a scan of all boxes), measured exactly.
        for (other, bbox) in d.grids.iter().zip(&boxes) {
            let reach = 0.0012;
            let near_box = p.x() > bbox.min().x - reach
                && p.x() < bbox.max().x + reach
                && p.y() > bbox.min().y - reach
                && p.y() < bbox.max().y + reach;
            if !near_box || Some(other.code.as_str()) == grid {
                continue;
            }
            let m = metres_outside(&other.geometry, p);
            if m < 29.95 {
                assert!(
                    flags.contains(&other.code.as_str()),
                    "{p:?}: {} at {m:.2} m not flagged",
                    other.code
                );
            } else if m > 30.05 {
                assert!(
                    !flags.contains(&other.code.as_str()),
                    "{p:?}: {} at {m:.2} m flagged",
                    other.code
                );
            }
        }
        assert!(
            got.near_boundary.windows(2).all(|w| w[0].1 <= w[1].1),
            "{p:?}: nearest first"
        );
        assert!(
            !flags.contains(&grid.unwrap_or("")),
            "{p:?}: its own grid is not near itself"
        );
        for (g, m) in &got.near_boundary {
            assert!(
                (metres_outside(&g.geometry, p) - m).abs() < 0.05,
                "{p:?}: {} at {m} m",
                g.code
            );
        }
        if n >= 9_000 {
            flagged += usize::from(!flags.is_empty());
        }
    }
    assert!(
        routed > 4_000 && outside > 1_000,
        "routed {routed}, outside {outside}"
    );
    // Within 5 m of an edge is within 30 m of the grid beyond it, unless the edge is the
    // county's own (no grid beyond it).
    assert!(
        flagged > 800,
        "of 1,000 points by an edge, {flagged} flagged"
    );
}
