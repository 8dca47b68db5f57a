//! GCJ-02 conversion against the shipped pairs of real outlines: the same Danyang boundary as
//! published in GCJ-02 and as converted to WGS84 (geodata/source, from ../shared/geodata).

use geo::Point;
use gridmap::geodesy::{distance_m, gcj02_to_wgs84, wgs84_to_gcj02};

use crate::common::repo;

fn vertices(file: &str) -> Vec<Point> {
    let text = std::fs::read_to_string(repo().join("geodata/source").join(file)).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut out = Vec::new();
    fn walk(v: &serde_json::Value, out: &mut Vec<Point>) {
        match v.as_array() {
            Some(a) if a.len() == 2 && a[0].is_number() => {
                out.push(Point::new(a[0].as_f64().unwrap(), a[1].as_f64().unwrap()))
            }
            Some(a) => a.iter().for_each(|x| walk(x, out)),
            None => {}
        }
    }
    for f in v["features"].as_array().unwrap() {
        walk(&f["geometry"]["coordinates"], &mut out);
    }
    out
}

#[test]
fn converting_the_gcj02_outlines_lands_within_a_metre_of_their_wgs84_twins() {
    for (gcj, wgs) in [
        (
            "danyang_county_gcj02.geojson",
            "danyang_county_wgs84.geojson",
        ),
        (
            "danyang_county_hires_gcj02.geojson",
            "danyang_county_hires_wgs84.geojson",
        ),
    ] {
        let (g, w) = (vertices(gcj), vertices(wgs));
        assert_eq!(g.len(), w.len());
        assert!(g.len() > 500);
        let mut worst = 0.0f64;
        for (g, w) in g.iter().zip(&w) {
            worst = worst.max(distance_m(gcj02_to_wgs84(*g), *w));
            // And the forward direction reproduces the published GCJ-02 coordinates.
            assert!(distance_m(wgs84_to_gcj02(*w), *g) < 1.0);
            // The offset itself is ~500 m here, so the test could not pass by doing nothing.
            assert!(distance_m(*g, *w) > 300.0);
        }
        assert!(worst < 1.0, "{gcj}: worst {worst} m");
    }
}

/// 10,000 points across China, converted by the PyPI package coordtransform (an independent
/// implementation of the published formulas; tests/reference/china_coords.py): gridmap's
/// forward conversions agree with it to the last bits, and its inverses take the package's
/// forward results back to the start within a centimetre (the package's own one-step GCJ-02
/// inverse errs by metres, which is why gridmap iterates).
#[test]
fn gcj02_and_bd09_agree_with_coordtransform_on_10000_points() {
    use gridmap::geodesy::{bd09_to_wgs84, wgs84_to_bd09};
    let out = std::process::Command::new("python3")
        .arg(repo().join("tests/reference/china_coords.py"))
        .arg("10000")
        .output()
        .expect("python3 runs (the README's test command installs coordtransform)");
    assert!(
        out.status.success(),
        "the reference failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<[f64; 8]> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 10_000);
    let (mut worst_forward_deg, mut worst_inverse_m, mut worst_one_step_m) =
        (0.0f64, 0.0f64, 0.0f64);
    for [lon, lat, g_lon, g_lat, b_lon, b_lat, one_lon, one_lat] in rows {
        let w = Point::new(lon, lat);
        let (g, b) = (wgs84_to_gcj02(w), wgs84_to_bd09(w));
        for (ours, theirs) in [
            (g.x(), g_lon),
            (g.y(), g_lat),
            (b.x(), b_lon),
            (b.y(), b_lat),
        ] {
            worst_forward_deg = worst_forward_deg.max((ours - theirs).abs());
        }
        let back_g = gcj02_to_wgs84(Point::new(g_lon, g_lat));
        let back_b = bd09_to_wgs84(Point::new(b_lon, b_lat));
        worst_inverse_m = worst_inverse_m
            .max(distance_m(back_g, w))
            .max(distance_m(back_b, w));
        worst_one_step_m = worst_one_step_m.max(distance_m(Point::new(one_lon, one_lat), w));
    }
    // The same formula in double precision: agreement to ~1e-12 degrees (0.1 micrometre).
    assert!(
        worst_forward_deg < 1e-9,
        "forward differs by {worst_forward_deg} degrees"
    );
    assert!(worst_inverse_m < 0.01, "inverse off by {worst_inverse_m} m");
    // And the test can tell: the package's one-step inverse is metres off.
    assert!(worst_one_step_m > 0.5, "{worst_one_step_m}");
    eprintln!(
        "coordtransform: forward within {worst_forward_deg:e} deg, inverse within {worst_inverse_m:e} m (one-step: {worst_one_step_m:.2} m)"
    );
}
