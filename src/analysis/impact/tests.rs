//! Hand cases and checks against independent computations for `analysis::impact`.

use super::*;
use crate::geodesy::distance_m;
use geo::{Contains, Destination, Geodesic, Point};
use serde_json::json;
use std::sync::OnceLock;

fn sample() -> &'static Snapshot {
    static SNAP: OnceLock<Snapshot> = OnceLock::new();
    SNAP.get_or_init(|| Snapshot::build(crate::sample::dataset().unwrap()))
}

fn polygon_json(area: &MultiPolygon) -> Value {
    serde_json::to_value(geojson::Geometry::from(area)).unwrap()
}

#[test]
fn a_polygon_equal_to_a_grid_reports_that_grid_whole_and_no_neighbour() {
    let snap = sample();
    for i in [0, 500, 1_333] {
        let grid = &snap.dataset().grids[i];
        let asked = read(&polygon_json(&grid.geometry)).unwrap();
        let area = resolve(snap, asked, |_, _| true).unwrap();
        let impact = assess(snap, &area, |_, _| true).unwrap();
        let me = impact.grids.iter().find(|h| h.grid == i).unwrap();
        assert!(
            (me.share - 1.0).abs() <= 0.001,
            "{}: {}",
            grid.code,
            me.share
        );
        for h in impact.grids.iter().filter(|h| h.grid != i) {
            assert!(
                h.share < 0.001,
                "neighbour {}: {}",
                snap.dataset().grids[h.grid].code,
                h.share
            );
        }
        // Its people are the grid's (by buildings, which add up to the grid, or whole).
        assert_eq!(me.people, u64::from(grid.population), "{}", grid.code);
    }
}

#[test]
fn a_circle_is_round_on_the_ground() {
    let centre = Point::new(119.606, 32.0095);
    let c = circle(centre, 1_000.0);
    let ring = &c.0[0].exterior().0;
    assert_eq!(ring.first(), ring.last());
    for v in ring {
        // Vincenty against Karney's destination: the same metre.
        assert!((distance_m(centre, Point::from(*v)) - 1_000.0).abs() < 0.001);
    }
    let want = std::f64::consts::PI * 1e6;
    let got = c.geodesic_area_unsigned();
    assert!((got / want - 1.0).abs() < 0.005, "{got} against {want}");
    let impact = assess(sample(), &c, |_, _| true).unwrap();
    assert!((impact.area_m2 / want - 1.0).abs() < 0.005);
    // A clockwise ring (GeoJSON before RFC 7946 often has them) is the same area.
    let mut clockwise = c.clone();
    clockwise.0[0].exterior_mut(|r| r.0.reverse());
    let again = assess(sample(), &clockwise, |_, _| true).unwrap();
    assert!((again.area_m2 - impact.area_m2).abs() < 1.0);
    // The overlaps, each measured in its grid's plane, add up to the circle.
    let sum: f64 = impact.grids.iter().map(|g| g.overlap_m2).sum();
    assert!((sum / got - 1.0).abs() < 0.001, "{sum} against {got}");
}

#[test]
fn households_affected_are_the_buildings_inside() {
    let snap = sample();
    let d = snap.dataset();
    let buildings = crate::model::buildings::all(d);
    // A box over part of town: the buildings inside it, by brute force over all of them.
    let (lon, lat) = (119.60, 32.00);
    let area = MultiPolygon(vec![
        geo::Rect::new(
            geo::coord! {x: lon, y: lat},
            geo::coord! {x: lon + 0.012, y: lat + 0.009},
        )
        .to_polygon(),
    ]);
    let impact = assess(snap, &area, |_, _| true).unwrap();
    let hit: std::collections::HashSet<&str> = impact
        .grids
        .iter()
        .filter(|h| h.by_buildings)
        .map(|h| d.grids[h.grid].code.as_str())
        .collect();
    assert!(hit.len() > 3, "{hit:?}");
    let inside: Vec<_> = buildings
        .iter()
        .filter(|b| hit.contains(b.grid_code()) && area.contains(&b.at))
        .collect();
    let households: u64 = impact
        .grids
        .iter()
        .filter(|h| h.by_buildings)
        .map(|h| h.households)
        .sum();
    assert_eq!(households, inside.iter().map(|b| b.households).sum::<u64>());
    assert!(households > 0);

    // A box around one building alone holds exactly its households and residents.
    let b = buildings.iter().find(|b| b.households > 0).unwrap();
    let e = 1e-5;
    let tiny = MultiPolygon(vec![
        geo::Rect::new(
            geo::coord! {x: b.at.x() - e, y: b.at.y() - e},
            geo::coord! {x: b.at.x() + e, y: b.at.y() + e},
        )
        .to_polygon(),
    ]);
    let alone = buildings.iter().filter(|o| tiny.contains(&o.at)).count();
    assert_eq!(alone, 1);
    let impact = assess(snap, &tiny, |_, _| true).unwrap();
    let households: u64 = impact.grids.iter().map(|h| h.households).sum();
    let people: u64 = impact.grids.iter().map(|h| h.people).sum();
    assert_eq!((households, people), (b.households, b.residents));
}

/// Two shelters placed by hand: one 1 km east of a 500 m circle's edge holding 100, one 5 km
/// away holding 100,000. Only the first is within 3 km, so the shortfall is everyone but 100.
#[test]
fn the_shelter_shortfall_counts_only_shelters_within_reach() {
    let mut data = sample().dataset().clone();
    let centre = Point::new(119.606, 32.0095);
    let near = Geodesic.destination(centre, 90.0, 1_500.0);
    let far = Geodesic.destination(centre, 0.0, 5_500.0);
    let layer = data
        .declared
        .iter_mut()
        .find(|d| d.def.name == SHELTERS)
        .unwrap();
    let capacity = layer.def.position("capacity").unwrap();
    let template = layer.features[0].clone();
    let place = |key: &str, at: Point, holds: u64| {
        let mut r = template.clone();
        r.key = key.into();
        r.geometry = geo::Geometry::Point(at);
        r.values[capacity] = json!(holds);
        r
    };
    layer.features = vec![place("near", near, 100), place("far", far, 100_000)];
    let snap = Snapshot::build(data);
    let impact = assess(&snap, &circle(centre, 500.0), |_, _| true).unwrap();
    assert!(impact.people() > 1_000, "{}", impact.people());
    assert_eq!(impact.shelters_within_reach, 1);
    assert_eq!(impact.capacity_within_reach, 100);
    assert_eq!(impact.shortfall(), impact.people() - 100);
    let nearest = &impact.nearest_shelters;
    assert_eq!(nearest.len(), 2);
    assert!(
        (nearest[0].distance_m - 1_000.0).abs() < 5.0,
        "{}",
        nearest[0].distance_m
    );
    assert!(
        (nearest[1].distance_m - 5_000.0).abs() < 5.0,
        "{}",
        nearest[1].distance_m
    );
}

#[test]
fn bad_areas_are_refused_naming_the_fix() {
    let field = |body: Value| read(&body).unwrap_err().field;
    let open = json!({"type": "Polygon", "coordinates": [[[119.5, 32.0], [119.6, 32.0], [119.6, 32.1], [119.5, 32.1]]]});
    assert_eq!(field(open.clone()), "geometry");
    assert!(read(&open).unwrap_err().message.contains("not closed"));
    let bowtie = json!({"type": "Polygon", "coordinates": [[[119.5, 32.0], [119.6, 32.1], [119.6, 32.0], [119.5, 32.1], [119.5, 32.0]]]});
    assert!(
        read(&bowtie)
            .unwrap_err()
            .message
            .contains("simple polygon"),
        "{:?}",
        read(&bowtie)
    );
    assert_eq!(
        field(json!({"lon": 119.6, "lat": 32.0, "radius_m": 0})),
        "radius_m"
    );
    assert_eq!(
        field(json!({"lon": 119.6, "lat": 32.0, "radius_m": 50_001})),
        "radius_m"
    );
    assert_eq!(field(json!({"lon": 119.6, "lat": 32.0})), "radius_m");
    assert_eq!(
        field(json!({"lon": 219.6, "lat": 32.0, "radius_m": 10})),
        "lon"
    );
    assert_eq!(
        field(json!({"type": "FeatureCollection", "features": []})),
        "type"
    );
    assert_eq!(field(json!({"risk_zone": 7})), "risk_zone");
    assert_eq!(field(json!([1, 2])), "body");
    // Valid, but outside the county: nothing to assess.
    let away = circle(Point::new(121.47, 31.23), 1_000.0);
    assert!(assess(sample(), &away, |_, _| true).is_none());
    assert_eq!(
        field(json!({"lon": 179.9, "lat": 32.0, "radius_m": 50_000})),
        "radius_m"
    );
    let many: Vec<[f64; 2]> = (0..=MAX_VERTICES + 1)
        .map(|i| {
            let a = i as f64 / (MAX_VERTICES + 1) as f64 * std::f64::consts::TAU;
            [119.6 + 0.01 * a.cos(), 32.0 + 0.01 * a.sin()]
        })
        .collect();
    let mut ring = many.clone();
    ring.push(many[0]);
    assert!(
        read(&json!({"type": "Polygon", "coordinates": [ring]}))
            .unwrap_err()
            .message
            .contains("simplify")
    );
    let unknown = resolve(sample(), Asked::RiskZone("nowhere".into()), |_, _| true);
    assert_eq!(unknown.unwrap_err().field, "risk_zone");
}
