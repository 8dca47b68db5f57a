//! `GET /geocode?q=` (an address to its building, with how sure) and `GET /reverse?lon=&lat=`
//! (a point to the nearest building's address), through the buildings layer
//! (`index::geocode`). Buildings are public data; so are their addresses.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::AppState;
use super::crs::lon_lat;
use super::error::ApiError;
use super::params::Params;
use crate::geodesy::Crs;
use crate::index::geocode::Found;
use crate::model::declared::BUILDINGS;

/// Most results one query returns.
const MAX_LIMIT: u64 = 20;

fn found_json(f: &Found, crs: Crs) -> Value {
    let [lon, lat] = lon_lat(crs, f.at);
    json!({
        "code": f.code, "address": f.address, "precision": f.precision.name(),
        "confidence": (f.confidence * 1000.0).round() / 1000.0, "lon": lon, "lat": lat,
        "grid_code": f.code.get(..15), "village_code": f.code.get(..12), "town_code": f.code.get(..9),
    })
}

/// `GET /geocode?q=&limit=5&crs=`.
pub async fn geocode(
    State(state): State<AppState>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    params.only(&["q", "limit", "crs"])?;
    let q = params.get("q").map(str::trim).unwrap_or_default();
    if q.is_empty() || q.chars().count() > 200 {
        return Err(ApiError::bad(
            "q",
            "give an address of up to 200 characters, as 云阳街道太阳城社区华府公寓5幢2单元 (town and village may be left out)",
        ));
    }
    let limit = params.int("limit", 1, MAX_LIMIT, 5)? as usize;
    let crs = params.crs()?;
    let snap = state.index.load();
    let results: Vec<Value> = snap
        .geocoder()
        .geocode(q, limit)
        .iter()
        .map(|f| found_json(f, crs))
        .collect();
    Ok(Json(
        json!({"query": q, "crs": crs.name(), "results": results}),
    ))
}

/// `GET /reverse?lon=&lat=&crs=`: the nearest building and its address.
pub async fn reverse(
    State(state): State<AppState>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    params.only(&["lon", "lat", "crs"])?;
    let crs = params.crs()?;
    let p = crs.to_wgs84(params.lon_lat()?);
    let snap = state.index.load();
    let nearest = snap.declared_nearest(BUILDINGS, p, |_| true).and_then(|(i, d)| {
        let layer = snap.dataset().declared(BUILDINGS)?;
        let rec = layer.features.get(i)?;
        let compound = rec.value(layer.def, "compound").as_str().unwrap_or_default().to_string();
        let address = snap.geocoder().address_of(&rec.key, &compound)?;
        let [lon, lat] = lon_lat(crs, rec.anchor()?);
        Some(json!({
            "code": rec.key, "address": address, "lon": lon, "lat": lat,
            "distance_m": (d * 100.0).round() / 100.0,
            "grid_code": rec.key.get(..15), "village_code": rec.key.get(..12), "town_code": rec.key.get(..9),
        }))
    });
    let [lon, lat] = lon_lat(crs, p);
    Ok(Json(
        json!({"query": {"lon": lon, "lat": lat, "crs": crs.name()}, "building": nearest}),
    ))
}
