//! GET /search: towns, villages, grids and stations by name or code, for the map's search box.

use axum::Json;
use axum::extract::State;
use geo::{BoundingRect, Point};
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::params::Params;
use crate::index::{Hit, SEARCHED, Snapshot};
use crate::model::{Layer, grid_village_code, label_point, village_town_code};

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
) -> Result<Json<Value>, ApiError> {
    params.only(&["q", "limit", "layers"])?;
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
    let layers = match params.get("layers") {
        None => SEARCHED.to_vec(),
        Some(list) => list
            .split(',')
            .map(|name| {
                Layer::parse(name.trim())
                    .filter(|l| SEARCHED.contains(l))
                    .ok_or_else(|| {
                        ApiError::bad(
                            "layers",
                            format!(
                                "'{name}' is not searchable; use a comma-separated list of towns, villages, grids, stations"
                            ),
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    let snap = state.index.load();
    let results: Vec<Value> = snap
        .search(query, &layers, limit)
        .into_iter()
        .filter_map(|hit| result_json(&snap, hit))
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
    let (id, name, area) = match hit.layer {
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
        "layer": hit.layer.name(),
        "id": id,
        "name": name,
        "context": context(snap, hit.layer, i),
        "matched": hit.matched.name(),
        "center": center.map(|p: Point| [round7(p.x()), round7(p.y())]),
        "bbox": bbox.map(|b| b.map(round7)),
    }))
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
