//! GET /search: towns, villages, grids, stations and the declared layers' features by name or
//! code, for the map's search box.

use axum::Json;
use axum::extract::State;
use geo::{BoundingRect, Point};
use serde_json::{Value, json};

use super::AppState;
use super::auth::Caller;
use super::crs::lon_lat;
use super::error::ApiError;
use super::params::Params;
use crate::geodesy::Crs;
use crate::index::{Hit, Snapshot};
use crate::model::schema::{GeometryKind, LayerDef};
use crate::model::{AnyLayer, Layer, grid_village_code, label_point, village_town_code};

/// Largest `limit`.
pub const MAX_LIMIT: u64 = 50;
/// Longest query, in characters.
const MAX_QUERY_CHARS: usize = 100;

/// GET /search?q=[&limit=10][&layers=towns,villages,grids,stations]
///
/// Matches best first: the code or station id itself, the whole name, a code prefix, a name
/// prefix, then a name containing the query. Each result carries what a map needs to go there
/// (`bbox` for areas, `center` for all) and its parents' names as `context`.
pub async fn search(
    State(state): State<AppState>,
    params: Params,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    params.only(&["q", "limit", "layers", "crs"])?;
    let crs = params.crs()?;
    let query = params.get("q").map(str::trim).unwrap_or("");
    if query.is_empty() {
        return Err(ApiError::bad(
            "q",
            "is required: part of a name (司徒) or the start of a code (321181001)",
        ));
    }
    if query.chars().count() > MAX_QUERY_CHARS {
        return Err(ApiError::bad(
            "q",
            format!("must be at most {MAX_QUERY_CHARS} characters"),
        ));
    }
    let limit = params.int("limit", 1, MAX_LIMIT, 10)? as usize;
    let snap = state.index.load();
    let searchable = snap.searchable();
    let layers = match params.get("layers") {
        None => searchable.clone(),
        Some(list) => list
            .split(',')
            .map(|name| {
                searchable
                    .iter()
                    .copied()
                    .find(|l| l.name() == name.trim())
                    .ok_or_else(|| {
                        let names: Vec<&str> = searchable.iter().map(|l| l.name()).collect();
                        ApiError::bad(
                            "layers",
                            format!(
                                "'{name}' is not searchable; use a comma-separated list of {}",
                                names.join(", ")
                            ),
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    let scope = snap.scope(caller.account());
    let results: Vec<Value> = snap
        .search_where(query, &layers, limit, &|layer, i| {
            scope.sees(&snap, layer, i)
        })
        .into_iter()
        .filter_map(|hit| result_json(&snap, hit))
        .map(|r| in_crs(r, crs))
        .collect();
    Ok(Json(json!({
        "query": query,
        "numberReturned": results.len(),
        "results": results,
    })))
}

fn result_json(snap: &Snapshot, hit: Hit) -> Option<Value> {
    let d = snap.dataset();
    let i = hit.index;
    let layer = match hit.layer {
        AnyLayer::Builtin(layer) => layer,
        AnyLayer::Declared(def) => return declared_result(snap, def, hit),
    };
    let (id, name, area) = match layer {
        Layer::Towns => (
            d.towns[i].code.clone(),
            &d.towns[i].name,
            Some(&d.towns[i].geometry),
        ),
        Layer::Villages => (
            d.villages[i].code.clone(),
            &d.villages[i].name,
            Some(&d.villages[i].geometry),
        ),
        Layer::Grids => (
            d.grids[i].code.clone(),
            &d.grids[i].name,
            Some(&d.grids[i].geometry),
        ),
        Layer::Stations => (d.stations[i].id.to_string(), &d.stations[i].name, None),
        Layer::Alliances | Layer::Members => return None,
    };
    let (center, bbox) = match area {
        Some(mp) => (
            label_point(mp),
            mp.bounding_rect()
                .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y]),
        ),
        None => (Some(d.stations[i].location), None),
    };
    Some(json!({
        "layer": layer.name(),
        "id": id,
        "name": name,
        "context": context(snap, layer, i),
        "matched": hit.matched.name(),
        "center": center.map(|p: Point| [round7(p.x()), round7(p.y())]),
        "bbox": bbox.map(|b| b.map(round7)),
    }))
}

/// A declared layer's hit: its key as id, its search field as name, its parents (the codes
/// gridmap filled) as context, its anchor point as center and the box of lines and polygons.
fn declared_result(snap: &Snapshot, def: &'static LayerDef, hit: Hit) -> Option<Value> {
    let r = &snap.declared_layer(def.name)?.features[hit.index];
    let code = |field: &str| r.value(def, field).as_str().map(str::to_string);
    let names = [
        code("town_code")
            .and_then(|c| snap.find(Layer::Towns, &c))
            .map(|j| snap.dataset().towns[j].name.as_str()),
        code("village_code")
            .and_then(|c| snap.find(Layer::Villages, &c))
            .map(|j| snap.dataset().villages[j].name.as_str()),
        code("grid_code")
            .and_then(|c| snap.find(Layer::Grids, &c))
            .map(|j| snap.dataset().grids[j].name.as_str()),
    ];
    let context: Vec<&str> = names.into_iter().flatten().collect();
    let bbox = match def.geometry {
        GeometryKind::Point => None,
        _ => r
            .geometry
            .bounding_rect()
            .map(|b| [b.min().x, b.min().y, b.max().x, b.max().y].map(round7)),
    };
    Some(json!({
        "layer": def.name,
        "id": r.key,
        "name": snap.search_name(hit.layer, hit.index),
        "context": context,
        "matched": hit.matched.name(),
        "center": r.anchor().map(|p| [round7(p.x()), round7(p.y())]),
        "bbox": bbox,
    }))
}

/// A result's `center` and `bbox` (written in WGS84) in `crs`, longitude first like `lon` and
/// `lat` fields: the box's corners converted.
fn in_crs(mut result: Value, crs: Crs) -> Value {
    if !crs.shifts() {
        return result;
    }
    let pair = |v: &Value, i: usize| -> Option<[f64; 2]> {
        let a = v.as_array()?;
        let p = geo::Point::new(a.get(i)?.as_f64()?, a.get(i + 1)?.as_f64()?);
        Some(lon_lat(crs, p).map(round7))
    };
    if let Some(c) = pair(&result["center"], 0) {
        result["center"] = json!(c);
    }
    if let (Some(lo), Some(hi)) = (pair(&result["bbox"], 0), pair(&result["bbox"], 2)) {
        result["bbox"] = json!([lo[0], lo[1], hi[0], hi[1]]);
    }
    result
}

/// The names of the town, village and grid above feature `i` of `layer`, outermost first.
fn context(snap: &Snapshot, layer: Layer, i: usize) -> Vec<&str> {
    let d = snap.dataset();
    let grid = match layer {
        Layer::Stations => Some(d.stations[i].grid_code.as_str()),
        _ => None,
    };
    let village = match layer {
        Layer::Grids => Some(d.grids[i].village_code()),
        _ => grid.map(grid_village_code),
    };
    let town = match layer {
        Layer::Villages => Some(d.villages[i].town_code()),
        _ => village.map(village_town_code),
    };
    let town = town
        .and_then(|c| snap.find(Layer::Towns, c))
        .map(|j| d.towns[j].name.as_str());
    let village = village
        .and_then(|c| snap.find(Layer::Villages, c))
        .map(|j| d.villages[j].name.as_str());
    let grid = grid
        .and_then(|c| snap.find(Layer::Grids, c))
        .map(|j| d.grids[j].name.as_str());
    [town, village, grid].into_iter().flatten().collect()
}

fn round7(x: f64) -> f64 {
    (x * 1e7).round() / 1e7
}
