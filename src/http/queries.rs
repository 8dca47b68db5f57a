//! Point queries for field apps and dispatch: which units contain a point, nearest stations.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use geo::Point;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::AppState;
use super::auth::Caller;
use super::crs::{lon_lat, write_position};
use super::error::ApiError;
use super::params::Params;
use crate::geodesy::Crs;
use crate::index::access::Scope;
use crate::index::{Nearby, Snapshot};
use crate::model::{AnyLayer, Layer, Service, Station};

/// Largest `k` for /nearest.
pub const MAX_K: u64 = 100;

/// A post as `/locate` and `/nearest` list it: its public fields, then what the caller sees
/// beyond them. Written by serde straight into the answer (no `Value` tree per post).
#[derive(Serialize)]
struct StationOut<'a> {
    id: u64,
    name: &'a str,
    grid_code: &'a str,
    services: &'a [Service],
    opening_hours: &'a str,
    lon: f64,
    lat: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    distance_m: Option<f64>,
    /// 1 for the nearest (`/nearest` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    rank: Option<usize>,
    #[serde(flatten)]
    beyond: Map<String, Value>,
}

impl<'a> StationOut<'a> {
    fn new(s: &'a Station, crs: Crs, beyond: &mut Beyond) -> StationOut<'a> {
        let [lon, lat] = lon_lat(crs, s.location);
        StationOut {
            id: s.id,
            name: &s.name,
            grid_code: &s.grid_code,
            services: &s.services,
            opening_hours: &s.opening_hours,
            lon,
            lat,
            distance_m: None,
            rank: None,
            beyond: beyond.fields(AnyLayer::Builtin(Layer::Stations), &s.id.to_string()),
        }
    }

    fn nearby(n: &Nearby<'a>, crs: Crs, beyond: &mut Beyond) -> StationOut<'a> {
        StationOut {
            distance_m: Some(metres(n.distance_m)),
            ..StationOut::new(n.station, crs, beyond)
        }
    }
}

/// Metres, rounded to the centimetre (what a geodesic on rounded inputs can honestly promise).
fn metres(d: f64) -> f64 {
    (d * 100.0).round() / 100.0
}

/// The point asked about, in the system it was asked in.
#[derive(Serialize)]
struct Query {
    lon: f64,
    lat: f64,
    crs: &'static str,
}

impl Query {
    fn new(p: Point, crs: Crs) -> Query {
        Query {
            lon: p.x(),
            lat: p.y(),
            crs: crs.name(),
        }
    }
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
        if let Some(o) = v.as_object_mut() {
            o.extend(self.fields(layer, key));
        }
        v
    }

    /// The fields of `key` beyond its public ones that the caller sees.
    fn fields(&mut self, layer: AnyLayer, key: &str) -> Map<String, Value> {
        let Some(i) = self.snap.find_any(layer, key) else {
            return Map::new();
        };
        let (extra, carried) = self.snap.fields_beyond_public(self.scope, layer, i);
        if carried {
            self.personal.push((layer.name(), key.to_string()));
        }
        extra
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

/// The answer of `/locate`.
#[derive(Serialize)]
struct Located<'a> {
    query: Query,
    town: Option<Unit<'a>>,
    village: Option<Unit<'a>>,
    grid: Option<GridOut<'a>>,
    stations: Vec<StationOut<'a>>,
    nearest_station: Option<StationOut<'a>>,
    alliances: Vec<AllianceOut<'a>>,
    centres: Vec<Value>,
    declared: Map<String, Value>,
}

#[derive(Serialize)]
struct Unit<'a> {
    code: &'a str,
    name: &'a str,
}

#[derive(Serialize)]
struct GridOut<'a> {
    code: &'a str,
    name: &'a str,
    households: u32,
    population: u32,
    #[serde(flatten)]
    beyond: Map<String, Value>,
}

#[derive(Serialize)]
struct AllianceOut<'a> {
    id: u64,
    name: &'a str,
    theme: &'a str,
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
) -> Result<Response, ApiError> {
    params.only(&["lon", "lat", "crs"])?;
    let crs = params.crs()?;
    let asked = params.lon_lat()?;
    let snap = state.index.load();
    let scope = snap.scope(caller.account());
    let mut beyond = Beyond::new(&snap, &scope);
    let at = crs.to_wgs84(asked);
    let loc = snap.locate(at);
    let body = Located {
        query: Query::new(asked, crs),
        town: loc.town.map(|t| Unit {
            code: &t.code,
            name: &t.name,
        }),
        village: loc.village.map(|v| Unit {
            code: &v.code,
            name: &v.name,
        }),
        grid: loc.grid.map(|g| GridOut {
            code: &g.code,
            name: &g.name,
            households: g.households,
            population: g.population,
            beyond: beyond.fields(AnyLayer::Builtin(Layer::Grids), &g.code),
        }),
        stations: (loc.stations.iter())
            .map(|s| StationOut::new(s, crs, &mut beyond))
            .collect(),
        nearest_station: loc
            .nearest
            .map(|n| StationOut::nearby(&n, crs, &mut beyond)),
        alliances: (loc.alliances.iter())
            .map(|a| AllianceOut {
                id: a.id,
                name: &a.name,
                theme: &a.theme,
            })
            .collect(),
        centres: responsible_centres(
            &mut beyond,
            loc.town.map(|t| t.code.as_str()),
            loc.village.map(|v| v.code.as_str()),
        ),
        declared: declared_at(&mut beyond, at),
    };
    beyond.audit(&caller, &state);
    // Serialised here: the answer borrows from the snapshot.
    Ok(Json(body).into_response())
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

/// The answer of `/nearest`: a GeoJSON FeatureCollection of posts.
#[derive(Serialize)]
struct Nearest<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    query: Query,
    #[serde(rename = "numberReturned")]
    number_returned: usize,
    features: Vec<PostFeature<'a>>,
}

#[derive(Serialize)]
struct PostFeature<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: u64,
    geometry: PointGeometry,
    properties: StationOut<'a>,
}

#[derive(Serialize)]
struct PointGeometry {
    #[serde(rename = "type")]
    kind: &'static str,
    coordinates: [f64; 2],
}

/// GET /nearest?lon=&lat=[&k=5][&max_distance_m=][&service=][&crs=]
///
/// A GeoJSON FeatureCollection of stations, nearest first by geodesic metres (ties by id).
pub async fn nearest(
    State(state): State<AppState>,
    params: Params,
    caller: Caller,
) -> Result<Response, ApiError> {
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
    let features: Vec<PostFeature> = (found.iter().enumerate())
        .map(|(rank, n)| PostFeature {
            kind: "Feature",
            id: n.station.id,
            geometry: PointGeometry {
                kind: "Point",
                coordinates: write_position(crs, n.station.location.x(), n.station.location.y()),
            },
            properties: StationOut {
                rank: Some(rank + 1),
                ..StationOut::nearby(n, crs, &mut beyond)
            },
        })
        .collect();
    beyond.audit(&caller, &state);
    // A FeatureCollection: labelled GeoJSON, as /openapi.json and the OGC items say.
    Ok((
        [(header::CONTENT_TYPE, super::GEOJSON)],
        Json(Nearest {
            kind: "FeatureCollection",
            query: Query::new(asked, crs),
            number_returned: features.len(),
            features,
        }),
    )
        .into_response())
}
