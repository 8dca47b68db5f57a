//! Coverage, gaps and siting through HTTP, checked against independent sums, a lattice of points
//! tested by geodesic nearest-post distance, and a brute-force scan of every post.

use geo::{Area, BoundingRect, Contains, Point, Validation};
use gridmap::geodesy::distance_m;
use serde_json::Value;

use crate::common::{backed_state, get};

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

#[tokio::test]
async fn the_report_adds_up_and_lists_the_worst_covered_first() {
    let (_store, state) = backed_state();
    let data = state.index.load().dataset().clone();
    for level in ["town", "village", "grid"] {
        let r = get(&state, &format!("/coverage?radius_m=500&level={level}")).await;
        assert_eq!(r.status, 200, "{}", r.json);
        let units = r.json["units"].as_array().unwrap();
        let expected = match level {
            "town" => data.towns.len(),
            "village" => data.villages.len(),
            _ => data.grids.len(),
        };
        assert_eq!(units.len(), expected);
        let total = &r.json["total"];
        let sum = |key: &str| units.iter().map(|u| f(&u[key])).sum::<f64>();
        assert_eq!(sum("population"), 988_900.0);
        assert_eq!(sum("stations"), 300.0);
        assert!((sum("area_m2") - f(&total["area_m2"])).abs() < 10.0);
        assert!((sum("covered_area_m2") - f(&total["covered_area_m2"])).abs() < 10.0);
        let shares: Vec<f64> = units.iter().map(|u| f(&u["covered_share"])).collect();
        assert!(shares.windows(2).all(|w| w[0] <= w[1]), "worst first");
        assert!(shares.iter().all(|s| (0.0..=1.0).contains(s)));
    }
    // A service filter counts only the posts offering it.
    let r = get(&state, "/coverage?level=town&service=mediation").await;
    let mediation = data
        .stations
        .iter()
        .filter(|s| s.services.contains(&gridmap::model::Service::Mediation))
        .count();
    assert_eq!(f(&r.json["total"]["stations"]) as usize, mediation);
    // A larger radius never covers less.
    let small = get(&state, "/coverage?level=town&radius_m=300").await;
    let large = get(&state, "/coverage?level=town&radius_m=1000").await;
    assert!(
        f(&small.json["total"]["covered_area_m2"]) < f(&large.json["total"]["covered_area_m2"])
    );
}

/// For 40 seeded grids, the covered share agrees with a 20 m lattice of points, each tested by
/// the geodesic distance to its nearest post.
#[tokio::test]
async fn covered_shares_agree_with_a_lattice_tested_by_ground_distance() {
    let (_store, state) = backed_state();
    let snap = state.index.load();
    let r = get(&state, "/coverage?radius_m=500&level=grid").await;
    let by_code: std::collections::HashMap<&str, f64> = r.json["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["code"].as_str().unwrap(), f(&u["covered_share"])))
        .collect();
    let grids = &snap.dataset().grids;
    let mut checked = 0;
    for i in (0..grids.len()).step_by(grids.len() / 40) {
        let g = &grids[i];
        let rect = g.geometry.bounding_rect().unwrap();
        let (mx, my) = (
            gridmap::geodesy::m_per_deg_lon(rect.center().y),
            gridmap::geodesy::m_per_deg_lat(rect.center().y),
        );
        let (step_x, step_y) = (20.0 / mx, 20.0 / my);
        let (mut inside, mut covered) = (0usize, 0usize);
        let mut y = rect.min().y + step_y / 2.0;
        while y < rect.max().y {
            let mut x = rect.min().x + step_x / 2.0;
            while x < rect.max().x {
                let p = Point::new(x, y);
                if g.geometry.contains(&p) {
                    inside += 1;
                    let nearest = snap.nearest(p, 1, None, None);
                    if nearest.first().is_some_and(|n| n.distance_m <= 500.0) {
                        covered += 1;
                    }
                }
                x += step_x;
            }
            y += step_y;
        }
        if inside < 400 {
            continue; // too few points to judge a share
        }
        let lattice = covered as f64 / inside as f64;
        let reported = by_code[g.code.as_str()];
        assert!(
            (lattice - reported).abs() < 0.03,
            "grid {}: lattice {lattice:.3} ({inside} points), reported {reported:.3}",
            g.code
        );
        checked += 1;
    }
    assert!(checked >= 20, "{checked}");
}

#[tokio::test]
async fn gaps_are_valid_polygons_inside_their_units_and_add_up() {
    let (_store, state) = backed_state();
    let report = get(&state, "/coverage?radius_m=500&level=village").await;
    let gaps = get(&state, "/coverage/gaps?radius_m=500&level=village").await;
    assert_eq!(gaps.status, 200);
    assert_eq!(gaps.content_type, "application/geo+json");
    let snap = state.index.load();
    let features = gaps.json["features"].as_array().unwrap();
    let total_uncovered =
        f(&report.json["total"]["area_m2"]) - f(&report.json["total"]["covered_area_m2"]);
    let mut sum = 0.0;
    for feature in features {
        let code = feature["properties"]["code"].as_str().unwrap();
        let geometry: geo::Geometry =
            serde_json::from_value::<geojson::Geometry>(feature["geometry"].clone())
                .unwrap()
                .try_into()
                .unwrap();
        assert!(geometry.is_valid(), "{code}: invalid gap");
        let village =
            &snap.dataset().villages[snap.find(gridmap::model::Layer::Villages, code).unwrap()];
        // In square degrees, a gap is no larger than its village (plus boolean-op rounding).
        assert!(
            geometry.unsigned_area() <= village.geometry.unsigned_area() * 1.0001,
            "{code}"
        );
        sum += f(&feature["properties"]["uncovered_area_m2"]);
    }
    assert!(
        (sum - total_uncovered).abs() < 100.0,
        "{sum} vs {total_uncovered}"
    );
    // A bbox keeps only the gaps that meet it.
    let some = get(
        &state,
        "/coverage/gaps?level=village&bbox=119.55,31.95,119.60,32.00",
    )
    .await;
    let n = some.json["features"].as_array().unwrap().len();
    assert!(n > 0 && n < features.len(), "{n}");
}

/// `unit=buildings`: every building no post reaches, by a brute force over every post, and
/// their residents are exactly the people the report leaves uncovered.
#[tokio::test]
async fn uncovered_buildings_are_those_no_post_reaches_and_add_up() {
    let (_store, state) = backed_state();
    let snap = state.index.load();
    let data = snap.dataset();
    let report = get(&state, "/coverage?radius_m=300&level=town").await;
    let gaps = get(&state, "/coverage/gaps?radius_m=300&unit=buildings").await;
    assert_eq!(gaps.status, 200, "{}", gaps.json);
    assert_eq!(gaps.content_type, "application/geo+json");
    let features = gaps.json["features"].as_array().unwrap();
    let sum = |key: &str| {
        features
            .iter()
            .map(|f| f["properties"][key].as_u64().unwrap())
            .sum::<u64>()
    };
    let totals = &gaps.json["totals"];
    assert_eq!(
        totals["buildings"].as_u64().unwrap() as usize,
        features.len()
    );
    assert_eq!(totals["residents"].as_u64().unwrap(), sum("residents"));
    assert_eq!(totals["households"].as_u64().unwrap(), sum("households"));
    // The sample's buildings sum to their grids, so the uncovered people are exactly theirs.
    let total = &report.json["total"];
    assert_eq!(
        f(&total["population"]) - f(&total["population_covered"]),
        sum("residents") as f64
    );
    assert_eq!(
        f(&total["households"]) - f(&total["households_covered"]),
        sum("households") as f64
    );
    let nearest = |at: Point| {
        data.stations
            .iter()
            .map(|s| distance_m(at, s.location))
            .fold(f64::MAX, f64::min)
    };
    let uncovered: std::collections::HashSet<&str> = features
        .iter()
        .map(|f| f["properties"]["code"].as_str().unwrap())
        .collect();
    for feature in features.iter().step_by(20) {
        let c = &feature["geometry"]["coordinates"];
        let at = Point::new(f(&c[0]), f(&c[1]));
        assert!(nearest(at) > 300.0, "{feature}");
    }
    let all = gridmap::model::buildings::all(data);
    for b in all.iter().step_by(50) {
        assert_eq!(
            nearest(b.at) > 300.0,
            uncovered.contains(b.code),
            "{}",
            b.code
        );
    }
    // Pages: numberMatched and totals count all, the features are the slice asked for.
    let page = get(
        &state,
        "/coverage/gaps?radius_m=300&unit=buildings&offset=5&limit=10",
    )
    .await;
    assert_eq!(
        page.json["numberMatched"].as_u64().unwrap() as usize,
        features.len()
    );
    assert_eq!(page.json["totals"], gaps.json["totals"]);
    assert_eq!(
        page.json["features"].as_array().unwrap()[..],
        features[5..15]
    );
    // A bbox keeps the buildings inside it.
    let some = get(
        &state,
        "/coverage/gaps?radius_m=300&unit=buildings&bbox=119.55,31.95,119.60,32.00",
    )
    .await;
    let inside = some.json["features"].as_array().unwrap();
    assert!(!inside.is_empty() && inside.len() < features.len());
    let expected = features
        .iter()
        .filter(|feature| {
            let c = &feature["geometry"]["coordinates"];
            (119.55..=119.60).contains(&f(&c[0])) && (31.95..=32.00).contains(&f(&c[1]))
        })
        .count();
    assert_eq!(inside.len(), expected);
}

#[tokio::test]
async fn suggested_sites_are_far_from_every_post_and_gain_less_each_time() {
    let (_store, state) = backed_state();
    let r = get(&state, "/coverage/suggest?radius_m=500&k=20").await;
    assert_eq!(r.status, 200, "{}", r.json);
    let picks = r.json["picks"].as_array().unwrap();
    assert_eq!(picks.len(), 20);
    let stations = state.index.load().dataset().stations.clone();
    let mut covered = f(&r.json["covered_before"]);
    let mut last_gain = f64::INFINITY;
    let mut seen = std::collections::HashSet::new();
    for p in picks {
        let at = Point::new(f(&p["lon"]), f(&p["lat"]));
        // Brute force: no existing post within the radius (to the cm rounding of the bound).
        let nearest = stations
            .iter()
            .map(|s| distance_m(at, s.location))
            .fold(f64::MAX, f64::min);
        assert!(nearest >= 499.9, "{p}: a post stands {nearest} m away");
        let gain = f(&p["gain"]);
        assert!(
            gain > 0.0 && gain <= last_gain + 0.1,
            "gains shrink: {gain} after {last_gain}"
        );
        covered += gain;
        assert!((covered - f(&p["covered_after"])).abs() < 1.0);
        assert!(
            seen.insert(p["candidate"].as_str().unwrap().to_string()),
            "a site twice"
        );
        last_gain = gain;
    }
    // Village centroids and given points are candidates too.
    let v = get(&state, "/coverage/suggest?k=3&candidates=village-centroids").await;
    assert_eq!(v.json["picks"].as_array().unwrap().len(), 3);
    let given = get(
        &state,
        "/coverage/suggest?k=3&candidates=points&points=119.40,31.80;119.85,32.10",
    )
    .await;
    let names: Vec<&str> = given.json["picks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["candidate"].as_str().unwrap())
        .collect();
    assert!(names.iter().all(|n| n.starts_with("point ")), "{names:?}");
}

#[tokio::test]
async fn bad_coverage_requests_are_4xx_json_naming_the_field() {
    let (_store, state) = backed_state();
    for (uri, field) in [
        ("/coverage?radius_m=10", "radius_m"),
        ("/coverage?radius_m=9000", "radius_m"),
        ("/coverage?radius_m=abc", "radius_m"),
        ("/coverage?level=county", "level"),
        ("/coverage?service=karaoke", "service"),
        ("/coverage?radius=500", "radius"),
        ("/coverage/gaps?bbox=1,2,3", "bbox"),
        ("/coverage/gaps?unit=houses", "unit"),
        ("/coverage/gaps?unit=buildings&level=town", "level"),
        ("/coverage/gaps?unit=buildings&limit=0", "limit"),
        ("/coverage/suggest?k=0", "k"),
        ("/coverage/suggest?k=51", "k"),
        ("/coverage/suggest?candidates=towns", "candidates"),
        ("/coverage/suggest?candidates=points", "points"),
        (
            "/coverage/suggest?candidates=points&points=119.5;31.9",
            "points",
        ),
    ] {
        let r = get(&state, uri).await;
        assert_eq!(r.status, 400, "{uri}: {}", r.json);
        assert!(
            r.json["message"].as_str().unwrap().starts_with(field),
            "{uri}: {}",
            r.json
        );
    }
}
