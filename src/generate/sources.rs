//! The real Danyang inputs, embedded so `gridmap generate` works from any directory. Copies of
//! ../shared/geodata; see geodata/README.md for sources and licences.

use std::collections::BTreeMap;

use geo::{MultiPolygon, Point};

use crate::model::Layer;

pub const DIVISIONS_CSV: &str = include_str!("../../geodata/source/danyang_divisions_coords.csv");
pub const TOWNS_SYNTHETIC_GEOJSON: &str =
    include_str!("../../geodata/source/danyang_towns_SYNTHETIC_voronoi_wgs84.geojson");

/// One row of the divisions list (county, towns and villages with their NBS codes).
pub struct Division {
    pub code12: String,
    pub level: String,
    pub name: String,
    pub name_short: String,
    pub town_code9_nbs: String,
    pub town_code9_mca: String,
    pub kind: String,
    pub point_wgs84: Option<Point>,
}

pub fn divisions() -> Vec<Division> {
    let mut lines = DIVISIONS_CSV.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let (code, level, name, short, nbs, mca, kind, lon, lat) = (
        col("code12"),
        col("level"),
        col("name"),
        col("name_short"),
        col("town_code9_nbs"),
        col("town_code9_mca"),
        col("kind"),
        col("lon_wgs84"),
        col("lat_wgs84"),
    );
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            let get =
                |c: Option<usize>| c.and_then(|i| f.get(i)).copied().unwrap_or("").to_string();
            let num = |c: Option<usize>| get(c).parse::<f64>().ok();
            Division {
                code12: get(code),
                level: get(level),
                name: get(name),
                name_short: get(short),
                town_code9_nbs: get(nbs),
                town_code9_mca: get(mca),
                kind: get(kind),
                point_wgs84: num(lon).zip(num(lat)).map(|(x, y)| Point::new(x, y)),
            }
        })
        .collect()
}

/// The synthetic town polygons (Voronoi of the real town and village points, dissolved by town,
/// clipped to the real county outline), by 12-digit code.
pub fn town_polygons() -> BTreeMap<String, MultiPolygon> {
    let mut out = BTreeMap::new();
    let Ok(collection) = TOWNS_SYNTHETIC_GEOJSON.parse::<geojson::FeatureCollection>() else {
        return out;
    };
    for f in collection.features {
        let code = f
            .properties
            .as_ref()
            .and_then(|p| p.get("code12"))
            .and_then(|v| v.as_str())
            .map(str::to_string);
        let geometry = f.geometry.as_ref().and_then(|g| match &g.value {
            geojson::GeometryValue::Polygon { .. } => geo::Polygon::try_from(&g.value)
                .ok()
                .map(|p| MultiPolygon(vec![p])),
            _ => MultiPolygon::try_from(&g.value).ok(),
        });
        if let (Some(code), Some(geometry)) = (code, geometry) {
            out.insert(code, geometry);
        }
    }
    out
}

/// The sample file of a layer, e.g. `grids.geojson`.
pub fn file_name(layer: Layer) -> String {
    format!("{}.geojson", layer.name())
}
