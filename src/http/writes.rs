//! Writes through the API (OGC API - Features Part 4): `POST` on a collection's items creates,
//! `PUT` replaces, `PATCH` applies a JSON merge patch (RFC 7396), `DELETE` removes, each by an
//! account whose role and area allow it (`access`). Every item carries an `ETag` (a hash of the
//! feature as stored, every field); `PUT`, `PATCH` and `DELETE` need `If-Match` with it (428
//! without, 412 when the feature changed since), checked inside the write's transaction under
//! the store's write lock, so of two editors exactly one wins. A write goes through the store like
//! `gridmap import` (the whole dataset validated, one transaction, its audit row in the same
//! transaction), then this server catches up before answering, so the writer reads its own write.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use geojson::Feature;
use serde_json::Value;

use super::AppState;
use super::auth::Caller;
use super::base_url::BaseUrl;
use super::error::ApiError;
use super::features::{item_url, layer_of};
use super::params::Params;
use super::write_rules::{
    Incoming, attributes_only, body_bytes, current, etag_at, etag_in, holds_written, merge_patch,
    outside, parse_feature, placed_in_its_unit, read_body, without_parents, writer,
    writes_in_wgs84,
};
use crate::access::audit::{Action, AuditRow};
use crate::access::{Account, Edits};
use crate::index::Snapshot;
use crate::model::date::now_s;
use crate::model::geojson::{Visibility, stored_feature_at};
use crate::model::{AnyLayer, Dataset};
use crate::store::Guard;

/// The largest body read (axum's default limit): a town polygon of the sample is ~100 KB.
pub const MAX_BODY_BYTES: usize = 2 << 20;

/// Run a store write and this server's catch-up off the async threads. Once the write has
/// committed, the answer is the write's: a catch-up that fails then (the store went away right
/// after) is logged and reported as `caught_up: false`, never as "nothing was written"; the
/// follower catches up when the store is back.
async fn write_then_catch_up<T: Send + 'static>(
    state: &AppState,
    write: impl FnOnce(&AppState) -> crate::Result<T> + Send + 'static,
) -> Result<(T, bool), ApiError> {
    let s = state.clone();
    super::request_id::blocking(move || {
        let out = write(&s)?;
        tracing::info!("write committed; catching up");
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

/// The audit row of one write.
fn audit_row(
    caller: &Caller,
    account: &Account,
    action: Action,
    layer: AnyLayer,
    key: &str,
    before: Option<Value>,
    after: Option<Value>,
) -> AuditRow {
    AuditRow {
        id: 0,
        at_s: now_s(),
        account: account.name.clone(),
        address: caller.address.to_string(),
        action,
        layer: layer.name().to_string(),
        keys: vec![key.to_string()],
        count: 1,
        before,
        after,
    }
}

/// Write `data` (or delete `key` when `data` is `None`) guarded by `expected` (the ETag the
/// feature must have now, or `None`: it must not exist), with `row` in the same transaction.
async fn guarded(
    state: &AppState,
    layer: AnyLayer,
    key: String,
    data: Option<Incoming>,
    expected: Option<String>,
    row: AuditRow,
) -> Result<bool, ApiError> {
    let (_, caught_up) = write_then_catch_up(state, move |s| {
        let check = |current: &Dataset| match (etag_in(current, layer, &key), &expected) {
            (None, None) => Ok(()),
            (Some(_), None) => Err(crate::Error::Exists(format!(
                "{layer} '{key}' exists; change it with PUT or PATCH and its ETag"
            ))),
            (None, Some(_)) => Err(crate::Error::Stale(format!(
                "{layer} '{key}' was deleted since you read it; nothing was written"
            ))),
            (Some(now), Some(tag)) if now == *tag => Ok(()),
            (Some(now), Some(_)) => Err(crate::Error::Stale(format!(
                "{layer} '{key}' changed since you read it (its ETag is now {now}); GET it again, redo your change, and send the new ETag in If-Match"
            ))),
        };
        let guard = Guard {
            check: &check,
            audit: std::slice::from_ref(&row),
        };
        let keys = std::slice::from_ref(&key);
        match (data, layer) {
            (Some(Incoming::Builtin(data)), _) => s.store.import_guarded(data, &guard),
            (Some(Incoming::Declared(data)), _) => {
                s.store.import_declared_with(data, false, Some(&guard))
            }
            (None, AnyLayer::Builtin(layer)) => s.store.delete_guarded(layer, keys, &guard),
            (None, AnyLayer::Declared(def)) => {
                s.store.delete_declared_with(def, keys, Some(&guard))
            }
        }
    })
    .await?;
    Ok(caught_up)
}

/// The answer to a write: the feature as now served (as written, if this server has not caught
/// up), its ETag, and `Location` when created.
fn written(
    state: &AppState,
    layer: AnyLayer,
    key: &str,
    written: Value,
    caught_up: bool,
    created: Option<String>,
) -> Response {
    let snap = state.index.load();
    let found = snap.find_any(layer, key).filter(|_| caught_up);
    let body = match found {
        Some(i) => serde_json::to_value(snap.feature_visible_any(layer, i, Visibility::Personal))
            .unwrap_or(Value::Null),
        None => written,
    };
    let mut response = Json(body).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(super::GEOJSON),
    );
    if let Some(tag) = found
        .map(|i| etag_at(snap.dataset(), layer, i))
        .and_then(|t| HeaderValue::from_str(&t).ok())
    {
        h.insert(header::ETAG, tag);
    }
    if let Some(location) = created.and_then(|l| HeaderValue::from_str(&l).ok()) {
        h.insert(header::LOCATION, location);
        *response.status_mut() = StatusCode::CREATED;
    }
    response
}

/// `POST /collections/{id}/items`: create one feature from a GeoJSON Feature (its key in the
/// body). 201 with `Location` and `ETag`; 409 when the key exists.
pub async fn create_item(
    State(state): State<AppState>,
    Path(collection_id): Path<String>,
    base: BaseUrl,
    caller: Caller,
    params: Params,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    writes_in_wgs84(&params)?;
    let snap = state.index.load();
    let layer = layer_of(&snap, &collection_id)?;
    let account = writer(&caller, layer)?;
    if account.role.edits() != Edits::Everything {
        return Err(ApiError::Forbidden(format!(
            "a {} account changes attributes of existing features; creating one is for town, village or city staff",
            account.role
        )));
    }
    let data = parse_feature(snap.dataset(), layer, read_body(layer, body)?, None)?;
    let key = data.key();
    let scope = snap.scope(Some(account));
    if !holds_written(&scope, &data) {
        return Err(outside(account, layer, &key));
    }
    placed_in_its_unit(snap.dataset(), &data)?;
    let after = data.full_json();
    let row = audit_row(
        &caller,
        account,
        Action::Create,
        layer,
        &key,
        None,
        Some(after.clone()),
    );
    let caught_up = guarded(&state, layer, key.clone(), Some(data), None, row).await?;
    let location = item_url(&base, layer, &key);
    Ok(written(
        &state,
        layer,
        &key,
        after,
        caught_up,
        Some(location),
    ))
}

/// `PUT /collections/{id}/items/{featureId}`: replace one feature (with `If-Match`).
pub async fn replace_item(
    State(state): State<AppState>,
    Path((collection_id, key)): Path<(String, String)>,
    caller: Caller,
    headers: HeaderMap,
    params: Params,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    writes_in_wgs84(&params)?;
    let (account, target) = target(&state, &caller, &collection_id, &key, &headers)?;
    let data = parse_feature(
        target.snap.dataset(),
        target.layer,
        read_body(target.layer, body)?,
        Some(&target.key),
    )?;
    change(&state, &caller, account, &target, data, Action::Replace).await
}

/// `PATCH /collections/{id}/items/{featureId}`: a JSON merge patch (RFC 7396) of the feature as
/// stored (`properties`, `geometry`), with `If-Match`.
pub async fn patch_item(
    State(state): State<AppState>,
    Path((collection_id, key)): Path<(String, String)>,
    caller: Caller,
    headers: HeaderMap,
    params: Params,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    writes_in_wgs84(&params)?;
    let (account, target) = target(&state, &caller, &collection_id, &key, &headers)?;
    let body = body_bytes(body)?;
    let patch: Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad(
            "body",
            format!(
                "not JSON ({e}); send a merge patch such as {{\"properties\": {{\"name\": \"…\"}}}}"
            ),
        )
    })?;
    if !patch.is_object() {
        return Err(ApiError::bad(
            "body",
            "a merge patch of a feature is an object, such as {\"properties\": {\"name\": \"…\"}}",
        ));
    }
    let mut feature = target.before();
    without_parents(target.layer, &mut feature);
    merge_patch(&mut feature, &patch);
    let feature: Feature = serde_json::from_value(feature)
        .map_err(|e| ApiError::bad("body", format!("the patched feature is not GeoJSON: {e}")))?;
    let data = parse_feature(
        target.snap.dataset(),
        target.layer,
        feature,
        Some(&target.key),
    )?;
    change(&state, &caller, account, &target, data, Action::Patch).await
}

/// The feature a PUT, PATCH or DELETE changes, as this request found it: in one snapshot, so
/// its position, version and the "before" of the audit row all describe the same feature.
struct Target {
    snap: Arc<Snapshot>,
    layer: AnyLayer,
    i: usize,
    etag: String,
    /// The key as stored (`7` when `007` was asked).
    key: String,
}

impl Target {
    /// The feature as stored, every field.
    fn before(&self) -> Value {
        serde_json::to_value(stored_feature_at(self.snap.dataset(), self.layer, self.i))
            .unwrap_or(Value::Null)
    }
}

/// The collection, an account whose role may write it, and the feature `key` held by
/// its area, with the `If-Match` the request carries (see `write_rules::current`).
fn target<'c>(
    state: &AppState,
    caller: &'c Caller,
    collection_id: &str,
    key: &str,
    headers: &HeaderMap,
) -> Result<(&'c Account, Target), ApiError> {
    let snap = state.index.load();
    let layer = layer_of(&snap, collection_id)?;
    let account = writer(caller, layer)?;
    let (i, etag, key) = current(
        &snap,
        &snap.scope(Some(account)),
        account,
        layer,
        key,
        headers,
    )?;
    Ok((
        account,
        Target {
            snap,
            layer,
            i,
            etag,
            key,
        },
    ))
}

/// A replace or patch, checked and written.
async fn change(
    state: &AppState,
    caller: &Caller,
    account: &Account,
    target: &Target,
    data: Incoming,
    action: Action,
) -> Result<Response, ApiError> {
    let Target { layer, key, .. } = target;
    if !holds_written(&target.snap.scope(Some(account)), &data) {
        return Err(ApiError::Forbidden(format!(
            "the new {layer} '{key}' would lie outside the area of account '{}'; nothing was written",
            account.name
        )));
    }
    let before = target.before();
    let after = data.full_json();
    attributes_only(account, &before, &after, *layer)?;
    if before["geometry"] != after["geometry"] {
        placed_in_its_unit(target.snap.dataset(), &data)?;
    }
    let row = audit_row(
        caller,
        account,
        action,
        *layer,
        key,
        Some(before),
        Some(after.clone()),
    );
    let caught_up = guarded(
        state,
        *layer,
        key.clone(),
        Some(data),
        Some(target.etag.clone()),
        row,
    )
    .await?;
    Ok(written(state, *layer, key, after, caught_up, None))
}

/// `DELETE /collections/{id}/items/{featureId}` (with `If-Match`): 204, or 422 when other
/// features still refer to it.
pub async fn delete_item(
    State(state): State<AppState>,
    Path((collection_id, key)): Path<(String, String)>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let layer = layer_of(&state.index.load(), &collection_id)?;
    let account = writer(&caller, layer)?;
    if account.role.edits() != Edits::Everything {
        return Err(ApiError::Forbidden(format!(
            "a {} account changes attributes only; deleting is for town, village or city staff",
            account.role
        )));
    }
    let (_, target) = target(&state, &caller, &collection_id, &key, &headers)?;
    let row = audit_row(
        &caller,
        account,
        Action::Delete,
        layer,
        &target.key,
        Some(target.before()),
        None,
    );
    guarded(&state, layer, target.key, None, Some(target.etag), row).await?;
    Ok(StatusCode::NO_CONTENT)
}
