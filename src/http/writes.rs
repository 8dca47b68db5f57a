//! Writes through the API (OGC API - Features Part 4, create/replace and delete of one feature):
//! `PUT` and `DELETE` on `/collections/{id}/items/{featureId}`, allowed only on a server started
//! with `--write-token` and only with `Authorization: Bearer <token>`. A write goes through the
//! store like `gridmap import` (validated as a whole, one transaction), then this server catches
//! up before answering, so the writer reads its own write; other replicas follow the store.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use geojson::{Feature, FeatureCollection, feature::Id};

use super::AppState;
use super::base_url::BaseUrl;
use super::error::ApiError;
use super::features::{builtin_layer_of, feature_json, item_url};
use crate::model::geojson::{Visibility, layer_features_visible, read_layer};
use crate::model::{AnyLayer, Layer};

/// The largest PUT body read (axum's default limit): a town polygon of the sample is ~100 KB.
pub const MAX_BODY_BYTES: usize = 2 << 20;

/// Check the bearer token (compared in constant time).
fn authorize(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(token) = state.write_token.as_deref() else {
        return Err(ApiError::WritesDisabled);
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            ApiError::Unauthorized("give the write token as Authorization: Bearer <token>".into())
        })?;
    let same = given.len() == token.len()
        && given
            .bytes()
            .zip(token.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same {
        Ok(())
    } else {
        Err(ApiError::Unauthorized("the write token is wrong".into()))
    }
}

/// Run a store write and this server's catch-up off the async threads. Once the write has
/// committed, the answer is the write's: a catch-up that fails then (the store went away right
/// after) is logged and reported as `caught_up: false`, never as "nothing was written"; the
/// follower catches up when the store is back.
async fn write_then_catch_up<T: Send + 'static>(
    state: &AppState,
    write: impl FnOnce(&AppState) -> crate::Result<T> + Send + 'static,
) -> Result<(T, bool), ApiError> {
    let s = state.clone();
    tokio::task::spawn_blocking(move || {
        let out = write(&s)?;
        let caught_up = match s.reload() {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(error = %e, "a write committed, but this server could not catch up yet");
                false
            }
        };
        Ok((out, caught_up))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
}

/// `PUT /collections/{id}/items/{featureId}`: create or replace one feature from a GeoJSON Feature
/// body. 201 with `Location` when created, 200 when replaced; the body is the public feature.
pub async fn put_item(
    State(state): State<AppState>,
    Path((collection_id, feature_id)): Path<(String, String)>,
    base: BaseUrl,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let layer = builtin_layer_of(&state.index.load(), &collection_id)?;
    authorize(&state, &headers)?;
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge(format!(
                "the body is over {MAX_BODY_BYTES} bytes; send one feature, simplified if need be"
            ))
        } else {
            ApiError::bad("body", e.body_text())
        }
    })?;
    let mut feature: Feature = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad("body", format!("not a GeoJSON Feature: {e}")))?;
    // The key may come from the URL alone; when the body names one too, they must agree.
    let named = feature
        .properties
        .as_ref()
        .and_then(|p| p.get(if layer.keyed_by_code() { "code" } else { "id" }))
        .is_some();
    if feature.id.is_none() && !named {
        feature.id = Some(Id::String(feature_id.clone()));
    }
    let text = FeatureCollection::from_iter([feature]).to_string();
    let data = read_layer(layer, &text).map_err(|r| ApiError::Invalid(r.to_string()))?;
    let key = data.keys().pop().unwrap_or_default();
    if key != feature_id {
        let field = if layer.keyed_by_code() { "code" } else { "id" };
        return Err(ApiError::bad(
            field,
            format!("the body says '{key}' but the URL says '{feature_id}'; make them agree"),
        ));
    }
    // What was written, public fields only: the answer if this server has not caught up.
    let written = layer_features_visible(&data, Visibility::Public).pop();
    let (summary, caught_up) =
        write_then_catch_up(&state, move |s| s.store.import(data, false, &|_, _| {})).await?;
    let snap = state.index.load();
    // Caught up, the answer is the feature as served (with derived geometry); else as written.
    let body = match snap.find(layer, &feature_id).filter(|_| caught_up) {
        Some(i) => Json(feature_json(&snap, AnyLayer::Builtin(layer), i)),
        None => Json(serde_json::to_value(written).map_err(|e| ApiError::Internal(e.to_string()))?),
    };
    let location = item_url(&base, layer, &feature_id);
    Ok(if summary.inserted > 0 {
        (
            StatusCode::CREATED,
            [(header::LOCATION, location)],
            [(header::CONTENT_TYPE, super::GEOJSON)],
            body,
        )
            .into_response()
    } else {
        ([(header::CONTENT_TYPE, super::GEOJSON)], body).into_response()
    })
}

/// `DELETE /collections/{id}/items/{featureId}`: 204, or 422 when other features still refer to it.
pub async fn delete_item(
    State(state): State<AppState>,
    Path((collection_id, feature_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let layer: Layer = builtin_layer_of(&state.index.load(), &collection_id)?;
    authorize(&state, &headers)?;
    if state.index.load().find(layer, &feature_id).is_none() {
        return Err(ApiError::NotFound(format!(
            "{layer} has no feature '{feature_id}'"
        )));
    }
    let keys = vec![feature_id];
    write_then_catch_up(&state, move |s| s.store.delete(layer, &keys)).await?;
    Ok(StatusCode::NO_CONTENT)
}
