//! What an impact request asks for: a polygon (bare or as a Feature), a circle, or a risk zone,
//! read from the body and checked (closed rings, no self-intersection, inside the coordinate
//! range, a radius in (0, 50 km]), then resolved to the polygon it stands for on the map.

use geo::{Area, BoundingRect, Destination, Geodesic, MultiPolygon, Point, Polygon, Validation};
use serde_json::Value;

use super::{CIRCLE_VERTICES, MAX_RADIUS_M, MAX_VERTICES, RISK_ZONES};
use crate::index::Snapshot;
use crate::model::AnyLayer;

/// Why an asked area was refused: the body field and the fix.
#[derive(Debug, PartialEq)]
pub struct Refusal {
    pub field: &'static str,
    pub message: String,
}

fn refuse(field: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        field,
        message: message.into(),
    }
}

/// The area a request names, before it is resolved against the map.
#[derive(Clone, Debug, PartialEq)]
pub enum Asked {
    Area(MultiPolygon),
    Circle { centre: Point, radius_m: f64 },
    RiskZone(String),
}

/// Read the body of an impact request: a GeoJSON Polygon or MultiPolygon (bare or as a
/// Feature), `{"lon", "lat", "radius_m"}`, or `{"risk_zone": KEY}`; rings closed, no
/// self-intersection, coordinates WGS84 lon/lat, a radius in (0, 50 km].
pub fn read(body: &Value) -> Result<Asked, Refusal> {
    let Some(object) = body.as_object() else {
        return Err(refuse(
            "body",
            "give a GeoJSON Polygon or MultiPolygon, {\"lon\", \"lat\", \"radius_m\"} or {\"risk_zone\": KEY}",
        ));
    };
    if let Some(key) = object.get("risk_zone") {
        return key
            .as_str()
            .filter(|k| !k.is_empty())
            .map(|k| Asked::RiskZone(k.to_string()))
            .ok_or_else(|| refuse("risk_zone", "give the risk zone's code as a string"));
    }
    if object.contains_key("radius_m") || object.contains_key("lon") {
        let number = |name: &'static str| {
            object
                .get(name)
                .and_then(Value::as_f64)
                .ok_or_else(|| refuse(name, format!("give {name} as a number")))
        };
        let (lon, lat, radius_m) = (number("lon")?, number("lat")?, number("radius_m")?);
        if !crate::model::lon_lat_in_range(lon, lat) {
            return Err(refuse(
                "lon",
                format!(
                    "({lon}, {lat}) is outside lon -180..180 / lat -90..90; give WGS84 lon/lat"
                ),
            ));
        }
        if !(radius_m > 0.0 && radius_m <= MAX_RADIUS_M) {
            return Err(refuse(
                "radius_m",
                format!("{radius_m} is not in 0 < radius_m <= 50000; give metres on the ground"),
            ));
        }
        // A circle drawn across the antimeridian or around a pole is no polygon in lon/lat.
        let ring = circle(Point::new(lon, lat), radius_m);
        let wraps = ring
            .bounding_rect()
            .is_none_or(|r| r.width() > 180.0 || r.max().y >= 90.0 || r.min().y <= -90.0);
        if wraps {
            return Err(refuse(
                "radius_m",
                "the circle crosses the antimeridian or a pole; give one within the county",
            ));
        }
        return Ok(Asked::Circle {
            centre: Point::new(lon, lat),
            radius_m,
        });
    }
    let geometry = match object.get("type").and_then(Value::as_str) {
        Some("Feature") => object.get("geometry").cloned().unwrap_or(Value::Null),
        Some("Polygon" | "MultiPolygon") => body.clone(),
        Some(other) => {
            return Err(refuse(
                "type",
                format!(
                    "a {other} is not an area; give one Polygon or MultiPolygon (bare or as a Feature)"
                ),
            ));
        }
        None => {
            return Err(refuse(
                "body",
                "give a GeoJSON Polygon or MultiPolygon, {\"lon\", \"lat\", \"radius_m\"} or {\"risk_zone\": KEY}",
            ));
        }
    };
    let geometry: geojson::Geometry = serde_json::from_value(geometry)
        .map_err(|e| refuse("geometry", format!("not a GeoJSON geometry: {e}")))?;
    let area =
        crate::model::geojson::area_from_geometry(&geometry).map_err(|m| refuse("geometry", m))?;
    check_area(&area)?;
    Ok(Asked::Area(area))
}

fn check_area(area: &MultiPolygon) -> Result<(), Refusal> {
    use geo::CoordsIter;
    let vertices = area.coords_count();
    if vertices > MAX_VERTICES {
        return Err(refuse(
            "geometry",
            format!("{vertices} vertices is more than {MAX_VERTICES}; simplify the polygon"),
        ));
    }
    if let Some(c) = area
        .coords_iter()
        .find(|c| !crate::model::lon_lat_in_range(c.x, c.y))
    {
        return Err(refuse(
            "geometry",
            format!(
                "({}, {}) is outside lon -180..180 / lat -90..90; give WGS84 lon/lat",
                c.x, c.y
            ),
        ));
    }
    if let Err(e) = area.check_validation() {
        return Err(refuse(
            "geometry",
            format!(
                "{e}; give a simple polygon (rings that do not cross themselves or each other)"
            ),
        ));
    }
    if area.unsigned_area() == 0.0 {
        return Err(refuse("geometry", "the polygon has no area"));
    }
    Ok(())
}

/// A circle of `radius_m` on the ground around `centre`: `CIRCLE_VERTICES` points at that
/// geodesic distance.
pub fn circle(centre: Point, radius_m: f64) -> MultiPolygon {
    let ring: Vec<geo::Coord> = (0..=CIRCLE_VERTICES)
        .map(|i| {
            // Counter-clockwise, as RFC 7946 wants an exterior ring.
            let bearing = 360.0 - 360.0 * (i % CIRCLE_VERTICES) as f64 / CIRCLE_VERTICES as f64;
            Geodesic.destination(centre, bearing, radius_m).0
        })
        .collect();
    MultiPolygon(vec![Polygon::new(ring.into(), Vec::new())])
}

/// The polygon an asked area stands for on `snap`'s map: a risk zone by its key, if `sees` it.
pub fn resolve(
    snap: &Snapshot,
    asked: Asked,
    sees: impl Fn(AnyLayer, usize) -> bool,
) -> Result<MultiPolygon, Refusal> {
    match asked {
        Asked::Area(area) => Ok(area),
        Asked::Circle { centre, radius_m } => Ok(circle(centre, radius_m)),
        Asked::RiskZone(key) => {
            let missing = || refuse("risk_zone", format!("no risk zone has the code '{key}'"));
            let data = snap.declared_layer(RISK_ZONES).ok_or_else(missing)?;
            let layer = AnyLayer::Declared(data.def);
            let i = snap
                .find_any(layer, &key)
                .filter(|&i| sees(layer, i))
                .ok_or_else(missing)?;
            match &data.features[i].geometry {
                geo::Geometry::MultiPolygon(mp) => Ok(mp.clone()),
                geo::Geometry::Polygon(p) => Ok(MultiPolygon(vec![p.clone()])),
                _ => Err(missing()),
            }
        }
    }
}
