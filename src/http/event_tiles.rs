//! `GET /tiles/events/{z}/{x}/{y}.mvt` and its TileJSON `/tiles/events.json`: the event layers
//! (`tiles::events`), rendered on every request from the event book (events change by the
//! second; the map's tiles stay cached), revalidated by ETag. The public gets `event_density`;
//! an account also the `events` points its area holds.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::AppState;
use super::auth::Caller;
use super::base_url::BaseUrl;
use super::encoding::accepts_gzip;
use super::error::ApiError;
use super::event_cases::sees;
use super::tiles::{coord_of, tile_response};
use crate::geodesy::Crs;
use crate::tiles::cache::EncodedTile;
use crate::tiles::events::{DENSITY_MINZOOM, POINTS_MINZOOM, render};
use crate::tiles::{MAX_ZOOM, TileConfig, TileCoord};

/// `GET /tiles/events/{z}/{x}/{y}.mvt`.
pub async fn tile(
    State(state): State<AppState>,
    Path((z, x, y_ext)): Path<(String, String, String)>,
    headers: HeaderMap,
    caller: Caller,
) -> Result<Response, ApiError> {
    serve(state, Crs::Wgs84, (z, x, y_ext), headers, caller).await
}

/// `GET /tiles/gcj02/events/{z}/{x}/{y}.mvt`: the same, drawn in GCJ-02.
pub async fn tile_gcj02(
    State(state): State<AppState>,
    Path((z, x, y_ext)): Path<(String, String, String)>,
    headers: HeaderMap,
    caller: Caller,
) -> Result<Response, ApiError> {
    serve(state, Crs::Gcj02, (z, x, y_ext), headers, caller).await
}

async fn serve(
    state: AppState,
    crs: Crs,
    (z, x, y_ext): (String, String, String),
    headers: HeaderMap,
    caller: Caller,
) -> Result<Response, ApiError> {
    let coord: TileCoord = coord_of(&z, &x, &y_ext)?;
    let account = caller.account.clone();
    let signed_in = account.is_some();
    let s = state.clone();
    let gzip = accepts_gzip(&headers);
    let tile = super::request_id::blocking(move || {
        let snap = s.index.load();
        let scope = snap.scope(account.as_deref());
        let book = s.events.book();
        render(
            &snap,
            &book,
            coord,
            &TileConfig {
                crs,
                ..s.tile_options.config
            },
            s.events.now_ms(),
            |c| sees(&snap, &scope, c),
        )
        .map(|raw| {
            let tile = EncodedTile::new(raw);
            if gzip {
                tile.gzip(); // here, off the runtime
            }
            tile
        })
    })
    .await
    .map_err(|e| ApiError::Internal(format!("event tile {z}/{x}/{y_ext}: {e}")))??;
    let mut response = tile_response(&tile, &headers);
    if response.status() != StatusCode::NO_CONTENT {
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(if signed_in {
                "private, no-cache"
            } else {
                "no-cache"
            }),
        );
    }
    Ok(response)
}

/// `GET /tiles/events.json`: TileJSON 3.0.0 of the event tiles.
pub async fn tilejson(State(state): State<AppState>, base: BaseUrl) -> Json<Value> {
    tilejson_in(&state, &base, Crs::Wgs84)
}

/// `GET /tiles/gcj02/events.json`: the TileJSON of the GCJ-02 event tiles.
pub async fn tilejson_gcj02(State(state): State<AppState>, base: BaseUrl) -> Json<Value> {
    tilejson_in(&state, &base, Crs::Gcj02)
}

fn tilejson_in(state: &AppState, base: &BaseUrl, crs: Crs) -> Json<Value> {
    let snap = state.index.load();
    let bounds = snap
        .extent(crate::model::Layer::Towns)
        .map(|b| crate::tiles::area_in(crs, &b))
        .map(|b| vec![b.min_lon, b.min_lat, b.max_lon, b.max_lat]);
    let path = match crs {
        Crs::Gcj02 => "/tiles/gcj02/events/{z}/{x}/{y}.mvt",
        _ => "/tiles/events/{z}/{x}/{y}.mvt",
    };
    Json(json!({
        "tilejson": "3.0.0",
        "name": "gridmap events",
        "description": "Reported problems: open and recent cases per grid for everyone; case points for staff of their area (send the account's token)",
        "scheme": "xyz",
        "tiles": [base.join(path)],
        "minzoom": DENSITY_MINZOOM.min(POINTS_MINZOOM),
        "maxzoom": MAX_ZOOM,
        "bounds": bounds,
        "vector_layers": [
            {"id": "event_density", "minzoom": DENSITY_MINZOOM, "maxzoom": MAX_ZOOM,
             "description": "Each grid with how many of its cases are open and how many were reported in the last 30 days",
             "fields": {"code": "String", "open": "Number", "recent_30d": "Number"}},
            {"id": "events", "minzoom": POINTS_MINZOOM, "maxzoom": MAX_ZOOM,
             "description": "Cases the caller's area holds, open or of the last 30 days (accounts only)",
             "fields": {"id": "Number", "status": "String", "category": "String",
                        "severity": "String", "overdue": "Boolean", "grid_code": "String",
                        "holder": "String", "assignee": "String"}},
        ],
    }))
}
