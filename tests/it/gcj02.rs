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
