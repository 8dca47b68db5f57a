//! GET /search: towns, villages, grids and stations by name or code, for the map's search box.

use axum::Json;
use axum::extract::State;
use geo::{BoundingRect, MultiPolygon, Point};
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::params::Params;
use crate::index::{Hit, SEARCHED, Snapshot};
use crate::model::{Layer, label_point};

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
            &format!("must be at most {MAX_QUERY_CHARS} characters"),
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
                            &format!(
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
        .map(|hit| result_json(&snap, hit))
        .collect();
    Ok(Json(json!({
        "query": query,
        "numberReturned": results.len(),
        "results": results,
    })))
}

fn result_json(snap: &Snapshot, hit: Hit) -> Value {
    let d = snap.dataset();
    let i = hit.index;
    let (id, name, context, area): (String, &str, Vec<&str>, Option<&MultiPolygon>) =
        match hit.layer {
            Layer::Towns => (
                d.towns[i].code.clone(),
                &d.towns[i].name,
                vec![],
                Some(&d.towns[i].geometry),
            ),
            Layer::Villages => {
                let v = &d.villages[i];
                (
                    v.code.clone(),
                    &v.name,
                    parents(snap, v.town_code(), None),
                    Some(&v.geometry),
                )
            }
            Layer::Grids => {
                let g = &d.grids[i];
                let village = snap
                    .find(Layer::Villages, g.village_code())
                    .map(|v| &d.villages[v]);
                let town = village.map_or("", |v| v.town_code());
                (
                    g.code.clone(),
                    &g.name,
                    parents(snap, town, village.map(|v| v.name.as_str())),
                    Some(&g.geometry),
                )
            }
            Layer::Stations => {
                let s = &d.stations[i];
                let grid = snap.find(Layer::Grids, &s.grid_code).map(|g| &d.grids[g]);
                let village = grid
                    .and_then(|g| snap.find(Layer::Villages, g.village_code()))
                    .map(|v| &d.villages[v]);
                let mut context = parents(
                    snap,
                    village.map_or("", |v| v.town_code()),
                    village.map(|v| v.name.as_str()),
                );
                context.extend(grid.map(|g| g.name.as_str()));
                (s.id.to_string(), &s.name, context, None)
            }
            Layer::Alliances | Layer::Members => unreachable!("not searched"),
        };
    let (center, bbox) = match area {
        Some(mp) => (
            label_point(mp),
            mp.bounding_rect()
                .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y]),
        ),
        None => (Some(d.stations[i].location), None),
    };
    json!({
        "layer": hit.layer.name(),
        "id": id,
        "name": name,
        "context": context,
        "matched": hit.matched.name(),
        "center": center.map(|p: Point| [round7(p.x()), round7(p.y())]),
        "bbox": bbox.map(|b| b.map(round7)),
    })
}

/// The names of a town and village, outermost first, those that exist.
fn parents<'a>(snap: &'a Snapshot, town_code: &str, village: Option<&'a str>) -> Vec<&'a str> {
    let d = snap.dataset();
    let town = snap
        .find(Layer::Towns, town_code)
        .map(|t| d.towns[t].name.as_str());
    town.into_iter().chain(village).collect()
}

fn round7(x: f64) -> f64 {
    (x * 1e7).round() / 1e7
}
