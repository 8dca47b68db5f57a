//! The coordinates a request gives and an answer carries, in the caller's `crs` (and, on the
//! OGC items, `bbox-crs`): parsing the parameters, and converting GeoJSON geometry and
//! positions at the edge. Inside, everything is WGS84 longitude, latitude.

use geo::Point;
use serde_json::Value;

use super::error::ApiError;
use super::params::Params;
use crate::geodesy::Crs;

/// The parameter `name` (`crs` or `bbox-crs`), `default` when absent.
pub fn crs_param(params: &Params, name: &str, default: Crs) -> Result<Crs, ApiError> {
    match params.get(name) {
        None => Ok(default),
        Some(v) => Crs::parse(v).ok_or_else(|| {
            ApiError::bad(name, format!("'{v}' is not offered; use {}", Crs::OFFERED))
        }),
    }
}

/// Shifted coordinates are written to 1e-9 degrees (0.1 mm), not to the last bit of an f64.
fn trim(x: f64) -> f64 {
    (x * 1e9).round() / 1e9
}

/// A WGS84 point as this system's longitude, latitude (for fields named `lon` and `lat`).
pub fn lon_lat(crs: Crs, p: Point) -> [f64; 2] {
    if crs.shifts() {
        let q = crs.from_wgs84(p);
        [trim(q.x()), trim(q.y())]
    } else {
        [p.x(), p.y()]
    }
}

/// A WGS84 position as this system writes it: converted, in its axis order.
pub fn write_position(crs: Crs, x: f64, y: f64) -> [f64; 2] {
    let [lon, lat] = lon_lat(crs, Point::new(x, y));
    if crs.lat_first() {
        [lat, lon]
    } else {
        [lon, lat]
    }
}

/// A position given in this system, as WGS84 longitude, latitude.
fn read_position(crs: Crs, a: f64, b: f64) -> [f64; 2] {
    let (lon, lat) = if crs.lat_first() { (b, a) } else { (a, b) };
    let p = crs.to_wgs84(Point::new(lon, lat));
    [p.x(), p.y()]
}

/// Apply `f` to every position of a GeoJSON `coordinates` tree (heights kept).
fn each_position(coordinates: &mut Value, f: &dyn Fn(f64, f64) -> [f64; 2]) {
    let Some(items) = coordinates.as_array_mut() else {
        return;
    };
    if let [Value::Number(a), Value::Number(b), ..] = &items[..] {
        let (Some(a), Some(b)) = (a.as_f64(), b.as_f64()) else {
            return;
        };
        let [x, y] = f(a, b);
        items[0] = x.into();
        items[1] = y.into();
    } else {
        items.iter_mut().for_each(|c| each_position(c, f));
    }
}

fn each_geometry_position(geometry: &mut Value, f: &dyn Fn(f64, f64) -> [f64; 2]) {
    if let Some(c) = geometry.get_mut("coordinates") {
        each_position(c, f);
    }
    if let Some(parts) = geometry.get_mut("geometries").and_then(Value::as_array_mut) {
        parts.iter_mut().for_each(|g| each_geometry_position(g, f));
    }
}

/// A GeoJSON geometry, stored WGS84 longitude, latitude, written in `crs`, in place.
pub fn write_geometry(crs: Crs, geometry: &mut Value) {
    if crs.shifts() || crs.lat_first() {
        each_geometry_position(geometry, &|x, y| write_position(crs, x, y));
    }
}

/// A GeoJSON geometry given in `crs`, read into WGS84 longitude, latitude, in place.
pub fn read_geometry(crs: Crs, geometry: &mut Value) {
    if crs.shifts() || crs.lat_first() {
        each_geometry_position(geometry, &|a, b| read_position(crs, a, b));
    }
}

/// Every geometry (and `bbox` member) of a GeoJSON Feature or FeatureCollection, in `crs`.
pub fn write_features(crs: Crs, doc: &mut Value) {
    if !(crs.shifts() || crs.lat_first()) {
        return;
    }
    if let Some(features) = doc.get_mut("features").and_then(Value::as_array_mut) {
        features.iter_mut().for_each(|f| write_features(crs, f));
    }
    if let Some(g) = doc.get_mut("geometry") {
        write_geometry(crs, g);
    }
    if let Some(b) = doc.get_mut("bbox") {
        write_bbox(crs, b);
    }
}

/// A `[min_lon, min_lat, max_lon, max_lat]` array in `crs`: its corners converted, in the
/// system's axis order.
pub fn write_bbox(crs: Crs, bbox: &mut Value) {
    let nums: Option<Vec<f64>> = bbox
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect());
    if let Some([a, b, c, d]) = nums.as_deref() {
        let (lo, hi) = (write_position(crs, *a, *b), write_position(crs, *c, *d));
        *bbox = serde_json::json!([lo[0], lo[1], hi[0], hi[1]]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn epsg_4326_swaps_axes_and_gcj02_shifts_every_position() {
        let mut g = json!({"type": "MultiPolygon", "coordinates": [[[[119.5, 31.9], [119.6, 31.9], [119.5, 32.0]]]]});
        write_geometry(Crs::Epsg4326, &mut g);
        assert_eq!(g["coordinates"][0][0][1], json!([31.9, 119.6]));
        read_geometry(Crs::Epsg4326, &mut g);
        assert_eq!(g["coordinates"][0][0][1], json!([119.6, 31.9]));
        let mut p = json!({"type": "GeometryCollection", "geometries": [{"type": "Point", "coordinates": [119.5, 31.9, 12.0]}]});
        write_geometry(Crs::Gcj02, &mut p);
        let at = &p["geometries"][0]["coordinates"];
        let expected = crate::geodesy::wgs84_to_gcj02(Point::new(119.5, 31.9));
        assert!((at[0].as_f64().unwrap() - expected.x()).abs() < 1e-9);
        assert!((at[1].as_f64().unwrap() - expected.y()).abs() < 1e-9);
        assert_eq!(at[2], json!(12.0));
        let mut same = json!({"type": "Point", "coordinates": [119.5, 31.9]});
        write_geometry(Crs::Cgcs2000, &mut same);
        assert_eq!(same["coordinates"], json!([119.5, 31.9]));
    }
}
