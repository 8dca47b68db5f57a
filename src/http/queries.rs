//! Point queries for field apps and dispatch: which units contain a point, nearest stations.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use geo::Point;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::params::Params;
use crate::geodesy::Crs;
use crate::index::Nearby;
use crate::model::Station;

/// Largest `k` for /nearest.
pub const MAX_K: u64 = 100;

/// A station's position in the client's CRS, to 1e-7 degrees (about 1 cm, as stored).
fn position(s: &Station, crs: Crs) -> Point {
    let p = crs.from_wgs84(s.location);
    Point::new((p.x() * 1e7).round() / 1e7, (p.y() * 1e7).round() / 1e7)
}

fn station_json(s: &Station, crs: Crs) -> Value {
    let p = position(s, crs);
    let services: Vec<&str> = s.services.iter().map(|s| s.name()).collect();
    json!({
        "id": s.id, "name": s.name, "grid_code": s.grid_code, "services": services,
        "opening_hours": s.opening_hours, "lon": p.x(), "lat": p.y(),
    })
}

/// Metres, rounded to the centimetre (what a geodesic on rounded inputs can honestly promise).
fn metres(d: f64) -> f64 {
    (d * 100.0).round() / 100.0
}

fn nearby_json(n: &Nearby, crs: Crs) -> Value {
    let mut v = station_json(n.station, crs);
    v["distance_m"] = json!(metres(n.distance_m));
    v
}

fn query_json(p: Point, crs: Crs) -> Value {
    json!({"lon": p.x(), "lat": p.y(), "crs": crs.name()})
}

/// GET /locate?lon=&lat=[&crs=]
pub async fn locate(
    State(state): State<AppState>,
    params: Params,
) -> Result<impl IntoResponse, ApiError> {
    params.only(&["lon", "lat", "crs"])?;
    let crs = params.crs()?;
    let asked = params.lon_lat()?;
    let snap = state.index.load();
    let at = crs.to_wgs84(asked);
    let loc = snap.locate(at);
    Ok(Json(json!({
        "query": query_json(asked, crs),
        "town": loc.town.map(|t| json!({"code": t.code, "name": t.name})),
        "village": loc.village.map(|v| json!({"code": v.code, "name": v.name})),
        "grid": loc.grid.map(|g| json!({
            "code": g.code, "name": g.name, "households": g.households, "population": g.population,
        })),
        "stations": loc.stations.iter().map(|s| station_json(s, crs)).collect::<Vec<_>>(),
        "nearest_station": loc.nearest.map(|n| nearby_json(&n, crs)),
        "alliances": loc.alliances.iter().map(|a| json!({"id": a.id, "name": a.name, "theme": a.theme})).collect::<Vec<_>>(),
        "declared": declared_at(&snap, at),
    })))
}

/// For each declared layer, what it has at `p`: the polygons containing it, or for point and
/// line layers the nearest feature with its geodesic distance. Public fields only.
fn declared_at(snap: &crate::index::Snapshot, p: Point) -> serde_json::Map<String, Value> {
    use crate::model::schema::{GeometryKind, Visibility};
    snap.dataset()
        .declared
        .iter()
        .map(|d| {
            let props =
                |i: usize| Value::Object(d.features[i].properties(d.def, Visibility::Public));
            let found: Vec<Value> = match d.def.geometry {
                GeometryKind::MultiPolygon => snap
                    .declared_containing(d.def.name, p)
                    .into_iter()
                    .map(props)
                    .collect(),
                _ => snap
                    .declared_nearest(d.def.name, p)
                    .map(|(i, distance_m)| {
                        let mut v = props(i);
                        v["distance_m"] = json!(metres(distance_m));
                        v
                    })
                    .into_iter()
                    .collect(),
            };
            (d.def.name.to_string(), Value::Array(found))
        })
        .collect()
}

/// GET /nearest?lon=&lat=[&k=5][&max_distance_m=][&service=][&crs=]
///
/// A GeoJSON FeatureCollection of stations, nearest first by geodesic metres (ties by id).
pub async fn nearest(
    State(state): State<AppState>,
    params: Params,
) -> Result<impl IntoResponse, ApiError> {
    params.only(&["lon", "lat", "k", "max_distance_m", "service", "crs"])?;
    let crs = params.crs()?;
    let asked = params.lon_lat()?;
    let k = params.int("k", 1, MAX_K, 5)? as usize;
    let max_distance_m = params.f64("max_distance_m")?;
    if max_distance_m.is_some_and(|d| d < 0.0) {
        return Err(ApiError::bad("max_distance_m", "must be >= 0 (metres)"));
    }
    let service = params.service()?;
    let snap = state.index.load();
    let found = snap.nearest(crs.to_wgs84(asked), k, max_distance_m, service);
    let features: Vec<Value> = found
        .iter()
        .enumerate()
        .map(|(rank, n)| {
            let mut props = nearby_json(n, crs);
            props["rank"] = json!(rank + 1);
            let p = position(n.station, crs);
            json!({
                "type": "Feature", "id": n.station.id,
                "geometry": {"type": "Point", "coordinates": [p.x(), p.y()]},
                "properties": props,
            })
        })
        .collect();
    // A FeatureCollection: labelled GeoJSON, as /openapi.json and the OGC items say.
    Ok((
        [(header::CONTENT_TYPE, super::GEOJSON)],
        Json(json!({
            "type": "FeatureCollection",
            "query": query_json(asked, crs),
            "numberReturned": features.len(),
            "features": features,
        })),
    ))
}
