//! Point queries for field apps and dispatch: which units contain a point, nearest stations.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use geo::Point;
use serde_json::{Value, json};

use super::AppState;
use super::auth::Caller;
use super::crs::{lon_lat, write_geometry};
use super::error::ApiError;
use super::params::Params;
use crate::geodesy::Crs;
use crate::index::access::Scope;
use crate::index::{Nearby, Snapshot};
use crate::model::{AnyLayer, Layer, Station};

/// Largest `k` for /nearest.
pub const MAX_K: u64 = 100;

fn station_json(s: &Station, crs: Crs) -> Value {
    let [lon, lat] = lon_lat(crs, s.location);
    let services: Vec<&str> = s.services.iter().map(|s| s.name()).collect();
    json!({
        "id": s.id, "name": s.name, "grid_code": s.grid_code, "services": services,
        "opening_hours": s.opening_hours, "lon": lon, "lat": lat,
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

/// What the caller sees of a feature beyond its public fields, merged into `v`; its key is
/// added to `personal` when personal data went out in clear.
pub(super) struct Beyond<'a> {
    snap: &'a Snapshot,
    scope: &'a Scope<'a>,
    /// Per layer, the keys whose personal fields the answer carried.
    personal: Vec<(&'static str, String)>,
}

impl<'a> Beyond<'a> {
    pub(super) fn new(snap: &'a Snapshot, scope: &'a Scope<'a>) -> Beyond<'a> {
        Beyond {
            snap,
            scope,
            personal: Vec::new(),
        }
    }

    pub(super) fn add(&mut self, mut v: Value, layer: AnyLayer, key: &str) -> Value {
        let Some(i) = self.snap.find_any(layer, key) else {
            return v;
        };
        let (extra, carried) = self.snap.fields_beyond_public(self.scope, layer, i);
        if carried {
            self.personal.push((layer.name(), key.to_string()));
        }
        if let Some(o) = v.as_object_mut() {
            o.extend(extra);
        }
        v
    }

    /// Record the reads of personal data in the audit log.
    pub(super) fn audit(self, caller: &Caller, state: &AppState) {
        let mut by_layer: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
        for (layer, key) in self.personal {
            by_layer.entry(layer).or_default().push(key);
        }
        for (layer, keys) in by_layer {
            caller.audit_read(state, layer, keys);
        }
    }
}

/// GET /locate?lon=&lat=[&crs=]
///
/// With a token, the grid, posts and declared features the caller's area holds carry their
/// staff and personal fields (the grid's worker: who is responsible here). `centres` lists the
/// town's and the village's centres (their duty phones to staff of the area).
pub async fn locate(
    State(state): State<AppState>,
    params: Params,
    caller: Caller,
) -> Result<impl IntoResponse, ApiError> {
    params.only(&["lon", "lat", "crs"])?;
    let crs = params.crs()?;
    let asked = params.lon_lat()?;
    let snap = state.index.load();
    let scope = snap.scope(caller.account());
    let mut beyond = Beyond::new(&snap, &scope);
    let at = crs.to_wgs84(asked);
    let loc = snap.locate(at);
    let grids = AnyLayer::Builtin(Layer::Grids);
    let stations = AnyLayer::Builtin(Layer::Stations);
    let body = json!({
        "query": query_json(asked, crs),
        "town": loc.town.map(|t| json!({"code": t.code, "name": t.name})),
        "village": loc.village.map(|v| json!({"code": v.code, "name": v.name})),
        "grid": loc.grid.map(|g| beyond.add(json!({
            "code": g.code, "name": g.name, "households": g.households, "population": g.population,
        }), grids, &g.code)),
        "stations": loc.stations.iter().map(|s| beyond.add(station_json(s, crs), stations, &s.id.to_string())).collect::<Vec<_>>(),
        "nearest_station": loc.nearest.map(|n| beyond.add(nearby_json(&n, crs), stations, &n.station.id.to_string())),
        "alliances": loc.alliances.iter().map(|a| json!({"id": a.id, "name": a.name, "theme": a.theme})).collect::<Vec<_>>(),
        "centres": responsible_centres(&mut beyond, loc.town.map(|t| t.code.as_str()), loc.village.map(|v| v.code.as_str())),
        "declared": declared_at(&mut beyond, at),
    });
    beyond.audit(&caller, &state);
    Ok(Json(body))
}

/// The declared layer of command and mediation centres (`geodata/layers.toml`).
const CENTRES: &str = "centres";

/// The centres responsible for a place: the town's (level `town`, in the town) and the
/// village's (level `village`, in the village), with what the caller may see of them. Empty when
/// the declarations have no `centres` layer.
fn responsible_centres(
    beyond: &mut Beyond,
    town: Option<&str>,
    village: Option<&str>,
) -> Vec<Value> {
    use crate::model::schema::Visibility;
    let Some(data) = beyond.snap.declared_layer(CENTRES) else {
        return Vec::new();
    };
    let text = |r: &crate::model::records::Record, f: &str| {
        r.value(data.def, f).as_str().map(str::to_string)
    };
    let (snap, scope) = (beyond.snap, beyond.scope);
    let layer = AnyLayer::Declared(data.def);
    data.features
        .iter()
        .enumerate()
        .filter(|&(i, _)| scope.sees(snap, layer, i))
        .map(|(_, r)| r)
        .filter(|r| match text(r, "level").as_deref() {
            Some("town") => town.is_some() && text(r, "town_code").as_deref() == town,
            Some("village") => village.is_some() && text(r, "village_code").as_deref() == village,
            _ => false,
        })
        .map(|r| {
            let v = Value::Object(r.properties(data.def, Visibility::Public));
            beyond.add(v, AnyLayer::Declared(data.def), &r.key)
        })
        .collect()
}

/// For each declared layer, what it has at `p`: the polygons containing it, or for point and
/// line layers the nearest feature with its geodesic distance. Public fields, and what the
/// caller's area shows beyond them.
fn declared_at(beyond: &mut Beyond, p: Point) -> serde_json::Map<String, Value> {
    use crate::model::schema::{GeometryKind, Visibility};
    let (snap, scope) = (beyond.snap, beyond.scope);
    snap.dataset()
        .declared
        .iter()
        .map(|d| {
            let mut props = |i: usize| {
                let r = &d.features[i];
                let v = Value::Object(r.properties(d.def, Visibility::Public));
                beyond.add(v, AnyLayer::Declared(d.def), &r.key)
            };
            let layer = AnyLayer::Declared(d.def);
            // The public holds nothing: a staff layer has nothing for it (and no nearest to
            // search the whole tree for).
            if d.def.staff_only() && scope.account().is_none() {
                return (d.def.name.to_string(), Value::Array(Vec::new()));
            }
            let sees = |i: usize| scope.sees(snap, layer, i);
            let found: Vec<Value> = match d.def.geometry {
                GeometryKind::MultiPolygon => snap
                    .declared_containing(d.def.name, p)
                    .into_iter()
                    .filter(|&i| sees(i))
                    .map(&mut props)
                    .collect(),
                _ => snap
                    .declared_nearest(d.def.name, p, sees)
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
    caller: Caller,
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
    let scope = snap.scope(caller.account());
    let mut beyond = Beyond::new(&snap, &scope);
    let stations = AnyLayer::Builtin(Layer::Stations);
    let features: Vec<Value> = found
        .iter()
        .enumerate()
        .map(|(rank, n)| {
            let mut props = beyond.add(nearby_json(n, crs), stations, &n.station.id.to_string());
            props["rank"] = json!(rank + 1);
            let at = n.station.location;
            let mut geometry = json!({"type": "Point", "coordinates": [at.x(), at.y()]});
            write_geometry(crs, &mut geometry);
            json!({
                "type": "Feature", "id": n.station.id, "geometry": geometry, "properties": props,
            })
        })
        .collect();
    beyond.audit(&caller, &state);
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
