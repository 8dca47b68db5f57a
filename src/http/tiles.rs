//! GET /tiles/{z}/{x}/{y}.mvt (composite Mapbox Vector Tiles), GET /tiles.json (TileJSON 3.0.0)
//! and GET /tiles/metadata.json (tippecanoe's layout, for GDAL's MVT driver); the same tiles
//! drawn in GCJ-02 for AMap and Tencent basemaps at /tiles/gcj02/{z}/{x}/{y}.mvt and
//! /tiles/gcj02.json, always rendered from the index, with their own cache.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::AppState;
use super::auth::Caller;
use super::base_url::BaseUrl;
use super::encoding::{accepts_gzip, none_match};
use super::error::ApiError;
use crate::analysis::coverage::DEFAULT_RADIUS_M;
use crate::geodesy::Crs;
use crate::tiles::cache::{EncodedTile, PUBLIC};
use crate::tiles::{self, MAX_ZOOM, TileConfig, TileCoord, render_scoped};

pub const MVT: &str = "application/vnd.mapbox-vector-tile";

fn parse(name: &str, text: &str) -> Result<u32, ApiError> {
    text.parse()
        .map_err(|_| ApiError::bad(name, format!("expected a whole number, got '{text}'")))
}

/// The tile address of a `{z}/{x}/{y}.mvt` path (`.pbf` taken too).
pub(super) fn coord_of(z: &str, x: &str, y_ext: &str) -> Result<TileCoord, ApiError> {
    let Some((y, ext)) = y_ext.rsplit_once('.') else {
        return Err(ApiError::bad(
            "y",
            format!("'{y_ext}' needs the extension: /tiles/{{z}}/{{x}}/{{y}}.mvt"),
        ));
    };
    if ext != "mvt" && ext != "pbf" {
        return Err(ApiError::bad(
            "extension",
            format!("'.{ext}' is not served; use .mvt"),
        ));
    }
    TileCoord::new(parse("z", z)?, parse("x", x)?, parse("y", y)?)
        .map_err(|message| ApiError::bad("z/x/y", message))
}

/// The tile for `z/x/y.mvt`, rendered from the index or taken from the cache. With a token, the
/// features the account's area holds carry the fields its role may see; such tiles are cached
/// per area (never served to a caller of another area) and sent `Cache-Control: private`.
pub async fn tile(
    State(state): State<AppState>,
    Path((z, x, y_ext)): Path<(String, String, String)>,
    headers: HeaderMap,
    caller: Caller,
) -> Result<Response, ApiError> {
    serve(state, Crs::Wgs84, (z, x, y_ext), headers, caller).await
}

/// The tile for `/tiles/gcj02/z/x/y.mvt`: `tile` drawn in GCJ-02 (an archive is not used: it
/// holds the WGS84 pyramid).
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
    let coord = coord_of(&z, &x, &y_ext)?;
    let (cache, archive) = match crs {
        Crs::Gcj02 => (&state.tiles_gcj02, &None),
        _ => (&state.tiles, &state.archive),
    };

    // An archive holds the public pyramid only: every caller gets it.
    // One snapshot for the cache key and the render (an alliance's villages may change).
    let snap = state.index.load();
    let scope_key = match archive {
        Some(_) => PUBLIC,
        None => snap.scope(caller.account()).cache_key(),
    };
    let tile = match (cache.get_in(scope_key, coord), archive) {
        (Some(tile), _) => tile,
        (None, Some(archive)) => {
            // An archive does not change with the store: cache under the current generation.
            let generation = snap.generation;
            let raw = archive
                .get(coord)
                .await
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            let tile = Arc::new(EncodedTile::new(raw));
            cache.put(coord, tile.clone(), generation);
            tile
        }
        (None, None) => {
            let config = TileConfig {
                crs,
                ..state.tile_options.config
            };
            let generation = snap.generation;
            let coverage = state.coverage.clone();
            let account = caller.account.clone();
            let gzip = accepts_gzip(&headers);
            let tile = super::request_id::blocking(move || {
                // Gaps at the default radius, computed once per snapshot when a tile needs them.
                let gaps = tiles::layers::shows_coverage(coord.z)
                    .then(|| coverage.get(&snap, DEFAULT_RADIUS_M, None));
                let scope = snap.scope(account.as_deref());
                let tile = render_scoped(&snap, coord, &config, gaps.as_deref(), &scope)
                    .map(EncodedTile::rendered)?;
                if gzip {
                    tile.gzip(); // compressed here, off the runtime, and counted by the cache
                }
                Ok::<_, crate::Error>(Arc::new(tile))
            })
            .await
            .map_err(|e| ApiError::Internal(format!("tile {z}/{x}/{y_ext}: {e}")))??;
            cache.put_in(scope_key, coord, tile.clone(), generation);
            tile
        }
    };
    if accepts_gzip(&headers) && !tile.has_gzip() && !tile.raw.is_empty() {
        // Cached or read from the archive for a client that did not take gzip.
        let tile = tile.clone();
        super::request_id::blocking(move || {
            tile.gzip();
        })
        .await
        .map_err(|e| ApiError::Internal(format!("tile {z}/{x}/{y_ext}: {e}")))?;
    }
    let mut response = tile_response(&tile, &headers);
    // A tile that carried personal data in clear is audited (a 304 carries none).
    if response.status() == StatusCode::OK {
        for &(layer, count) in &tile.personal {
            caller.audit_read_count(&state, layer, count);
        }
    }
    if scope_key != PUBLIC {
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            // Revalidated on every use (a 304 when unchanged), so a signed-out browser asks again.
            HeaderValue::from_static("private, no-cache"),
        );
    }
    Ok(response)
}

/// 204 for an empty tile; else the tile in the encoding the client accepts (gzip when it can),
/// with that encoding's ETag, or 304 when If-None-Match holds that tag.
pub fn tile_response(tile: &EncodedTile, headers: &HeaderMap) -> Response {
    if tile.raw.is_empty() {
        return StatusCode::NO_CONTENT.into_response();
    }
    let gzipped = accepts_gzip(headers).then(|| tile.gzip()).flatten();
    let gzip = gzipped.is_some();
    let etag = if gzip { &tile.etag_gzip } else { &tile.etag };
    let mut response = if none_match(headers, etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = Response::new(Body::from(gzipped.unwrap_or(&tile.raw).to_vec()));
        if gzip {
            r.headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(MVT));
        r
    };
    let h = response.headers_mut();
    h.insert(
        header::ETAG,
        HeaderValue::from_str(etag).unwrap_or(HeaderValue::from_static("\"\"")),
    );
    // The same URL answers an account with its area's fields: shared caches key on the token too.
    h.insert(
        header::VARY,
        HeaderValue::from_static("Accept-Encoding, Authorization"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    response
}

/// GET /tiles.json
pub async fn tilejson(State(state): State<AppState>, base: BaseUrl) -> Json<Value> {
    let (min_zoom, max_zoom) = state
        .archive
        .as_ref()
        .map(|a| (a.min_zoom, a.max_zoom))
        .unwrap_or((0, MAX_ZOOM));
    let url = base.join("/tiles/{z}/{x}/{y}.mvt");
    Json(tiles::tilejson::tilejson(
        &state.index.load(),
        &url,
        min_zoom,
        max_zoom,
    ))
}

/// GET /tiles/gcj02.json: the TileJSON of the GCJ-02 set, its bounds and centre in GCJ-02.
pub async fn tilejson_gcj02(State(state): State<AppState>, base: BaseUrl) -> Json<Value> {
    let url = base.join("/tiles/gcj02/{z}/{x}/{y}.mvt");
    let mut doc = tiles::tilejson::tilejson(&state.index.load(), &url, 0, MAX_ZOOM);
    doc["name"] = "gridmap (GCJ-02)".into();
    doc["description"] = "gridmap's tiles with every coordinate shifted to GCJ-02, to lay over AMap or Tencent basemaps".into();
    doc["crs"] = Crs::Gcj02.name().into();
    tiles::tilejson::bounds_in(&mut doc, Crs::Gcj02);
    Json(doc)
}

/// GET /tiles/metadata.json: what GDAL's MVT driver reads before the tiles next to it
/// (`ogrinfo MVT:http://host/tiles`). With `--tiles`, the archive's own statistics; else those of
/// the live tiles, counted from the index (every layer typed, every feature once).
pub async fn metadata(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let snap = state.index.load();
    if let Some(archive) = &state.archive {
        // PMTiles keeps zooms, bounds and centre in its header, and another tool's metadata may
        // lack the TileJSON fields: start from the layers gridmap draws over the archive's
        // zooms, take what the archive's metadata says, and the header's zooms, bounds and centre.
        let mut described =
            tiles::tilejson::tilejson(&snap, "", archive.min_zoom, archive.max_zoom);
        if let (Some(out), Some(m)) = (described.as_object_mut(), archive.metadata.as_object()) {
            out.extend(m.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        described["minzoom"] = archive.min_zoom.into();
        described["maxzoom"] = archive.max_zoom.into();
        described["bounds"] = serde_json::json!(archive.bounds);
        described["center"] = serde_json::json!(archive.center);
        return Ok(Json(tiles::tilejson::tippecanoe_metadata(
            &described,
            &archive.metadata["tilestats"],
        )));
    }
    if let Some(cached) = state.tile_metadata.get(snap.generation) {
        return Ok(Json((*cached).clone()));
    }
    let coverage = state.coverage.clone();
    let generation = snap.generation;
    let metadata = super::request_id::blocking(move || {
        let gaps = coverage.get(&snap, DEFAULT_RADIUS_M, None);
        let stats = tiles::stats::TileStats::from_snapshot(&snap, Some(&gaps), 0, MAX_ZOOM);
        tiles::tilejson::live_metadata(&snap, 0, MAX_ZOOM, &stats)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("tile metadata: {e}")))?;
    Ok(Json(
        (*state.tile_metadata.put(generation, metadata)).clone(),
    ))
}
