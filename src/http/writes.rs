//! Writes through the API (OGC API - Features Part 4): `POST` on a collection's items creates,
//! `PUT` replaces, `PATCH` applies a JSON merge patch (RFC 7396), `DELETE` removes, each by an
//! account whose role and area allow it (`access`). Every item carries an `ETag` (a hash of the
//! feature as stored, every field); `PUT`, `PATCH` and `DELETE` need `If-Match` with it (428
//! without, 412 when the feature changed since), checked inside the write's transaction under
//! the store's write lock, so of two editors exactly one wins. A write goes through the store like
//! `gridmap import` (the whole dataset validated, one transaction, its audit row in the same
//! transaction), then this server catches up before answering, so the writer reads its own write.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use geojson::{Feature, FeatureCollection, feature::Id};
use serde_json::Value;

use super::AppState;
use super::auth::Caller;
use super::base_url::BaseUrl;
use super::error::ApiError;
use super::features::{builtin_layer_of, item_url};
use crate::access::audit::{Action, AuditRow};
use crate::access::{Account, Edits};
use crate::index::Snapshot;
use crate::index::access::Scope;
use crate::model::date::now_s;
use crate::model::geojson::{
    Visibility, layer_features_visible, position, read_layer, stored_feature_at,
};
use crate::model::{AnyLayer, Dataset, Layer, LayerData};
use crate::store::Guard;

/// The largest body read (axum's default limit): a town polygon of the sample is ~100 KB.
pub const MAX_BODY_BYTES: usize = 2 << 20;

/// The version tag of feature `key` of `layer` as stored in `d`: FNV-1a of its JSON with every
/// field, so any change (a phone included) changes it. `None` when there is no such feature.
pub(super) fn etag_in(d: &Dataset, layer: Layer, key: &str) -> Option<String> {
    position(d, layer, key).map(|i| etag_at(d, layer, i))
}

pub(super) fn etag_at(d: &Dataset, layer: Layer, i: usize) -> String {
    let text = serde_json::to_string(&stored_feature_at(d, layer, i)).unwrap_or_default();
    crate::tiles::cache::etags(text.as_bytes()).0
}

/// Whether `If-Match` holds `etag` (strong comparison, RFC 9110 §13.1.1: a weak tag never
/// matches) or `*`; `None` when the request has no `If-Match`.
fn if_match(headers: &HeaderMap, etag: &str) -> Option<bool> {
    let values: Vec<&str> = headers
        .get_all(header::IF_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if values.is_empty() {
        return None;
    }
    Some(
        values
            .iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .any(|t| t == "*" || t == etag),
    )
}

/// The unit code a new or changed feature lies in (as `Snapshot::area_code` for stored ones).
fn area_code_of(data: &LayerData) -> Option<String> {
    match data {
        LayerData::Towns(v) => v.first().map(|f| f.code.clone()),
        LayerData::Villages(v) => v.first().map(|f| f.code.clone()),
        LayerData::Grids(v) => v.first().map(|f| f.code.clone()),
        LayerData::Stations(v) => v.first().map(|f| f.grid_code.clone()),
        LayerData::Members(v) => v.first().and_then(|f| f.village_code.clone()),
        LayerData::Alliances(_) => None,
    }
}

/// Whether the scope's area holds a feature as written (before it is stored).
fn holds_written(scope: &Scope, data: &LayerData) -> bool {
    if scope.account().is_some_and(|a| a.role.everywhere()) {
        return true;
    }
    if let Some(id) = scope.alliance() {
        match data {
            LayerData::Alliances(v) => return v.iter().all(|a| a.id == id),
            LayerData::Members(v) if v.iter().all(|m| m.alliance_id == id) => return true,
            _ => {}
        }
    }
    area_code_of(data).is_some_and(|c| scope.holds_code(&c))
}

/// The account, when its role may write at all and may write `layer`.
fn writer(caller: &Caller, layer: Layer) -> Result<&Account, ApiError> {
    let account = caller.signed_in("writing a feature")?;
    let allowed = match account.role.edits() {
        Edits::Nothing => false,
        Edits::Everything => true,
        Edits::Attributes => match account.role {
            crate::access::Role::GridWorker => matches!(layer, Layer::Grids | Layer::Stations),
            _ => matches!(layer, Layer::Alliances | Layer::Members),
        },
    };
    if allowed {
        Ok(account)
    } else {
        Err(ApiError::Forbidden(format!(
            "a {} account may not change {layer}; {}",
            account.role,
            match account.role.edits() {
                Edits::Nothing => "it reads only".to_string(),
                _ => "ask the town or village staff of the area".to_string(),
            }
        )))
    }
}

fn outside(account: &Account, layer: Layer, key: &str) -> ApiError {
    ApiError::Forbidden(format!(
        "{layer} '{key}' is outside the area of account '{}' ({}); nothing was written",
        account.name,
        if account.areas.is_empty() {
            "none".to_string()
        } else {
            account.areas.join(", ")
        }
    ))
}

/// Read a request body as one GeoJSON Feature of `layer` keyed `key` (the URL's key, or the
/// body's when creating).
fn read_body(layer: Layer, body: Result<Bytes, BytesRejection>) -> Result<Feature, ApiError> {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge(format!(
                "the body is over {MAX_BODY_BYTES} bytes; send one feature, simplified if need be"
            ))
        } else {
            ApiError::bad("body", e.body_text())
        }
    })?;
    serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad(
            "body",
            format!("not a GeoJSON Feature of {layer}: {e}; send {{\"type\": \"Feature\", \"geometry\": …, \"properties\": {{…}}}}"),
        )
    })
}

/// A Feature as one feature of `layer`, its key checked against `key` when given (the URL's).
fn parse_feature(
    layer: Layer,
    mut feature: Feature,
    key: Option<&str>,
) -> Result<LayerData, ApiError> {
    let field = if layer.keyed_by_code() { "code" } else { "id" };
    let named = feature
        .properties
        .as_ref()
        .and_then(|p| p.get(field))
        .is_some_and(|v| !v.is_null());
    if let Some(key) = key
        && feature.id.is_none()
        && !named
    {
        feature.id = Some(Id::String(key.to_string()));
    }
    let text = FeatureCollection::from_iter([feature]).to_string();
    let data = read_layer(layer, &text).map_err(|r| ApiError::Invalid(r.to_string()))?;
    if let Some(key) = key {
        let given = data.keys().pop().unwrap_or_default();
        if given != key {
            return Err(ApiError::bad(
                field,
                format!(
                    "the body says '{given}' but the URL says '{key}'; make them agree (a key cannot change)"
                ),
            ));
        }
    }
    Ok(data)
}

/// Every field of the one feature in `data`, as JSON (what the audit log keeps).
fn full_json(data: &LayerData) -> Value {
    layer_features_visible(data, Visibility::Personal)
        .pop()
        .and_then(|f| serde_json::to_value(f).ok())
        .unwrap_or(Value::Null)
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

/// The audit row of one write.
fn audit_row(
    caller: &Caller,
    account: &Account,
    action: Action,
    layer: Layer,
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
    layer: Layer,
    key: String,
    data: Option<LayerData>,
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
        match data {
            Some(data) => s.store.import_guarded(data, &guard),
            None => s.store.delete_guarded(layer, std::slice::from_ref(&key), &guard),
        }
    })
    .await?;
    Ok(caught_up)
}

/// The answer to a write: the feature as now served (as written, if this server has not caught
/// up), its ETag, and `Location` when created.
fn written(
    state: &AppState,
    layer: Layer,
    key: &str,
    written: Value,
    caught_up: bool,
    created: Option<String>,
) -> Response {
    let snap = state.index.load();
    let found = snap.find(layer, key).filter(|_| caught_up);
    let body = match found {
        Some(i) => serde_json::to_value(snap.feature_visible(layer, i, Visibility::Personal))
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

/// The current feature `key` for a change: found, held by the caller's area, and the
/// `If-Match` the request carries (428 without it, 412 when it is not the current ETag).
fn current(
    snap: &Snapshot,
    scope: &Scope,
    account: &Account,
    layer: Layer,
    key: &str,
    headers: &HeaderMap,
) -> Result<(usize, String), ApiError> {
    let i = snap.find(layer, key).ok_or_else(|| {
        ApiError::NotFound(format!(
            "{layer} has no feature '{key}'; create one with POST /collections/{layer}/items"
        ))
    })?;
    if !scope.holds(snap, AnyLayer::Builtin(layer), i) {
        return Err(outside(account, layer, key));
    }
    let etag = etag_at(snap.dataset(), layer, i);
    match if_match(headers, &etag) {
        None => Err(ApiError::PreconditionRequired(format!(
            "If-Match: send the feature's ETag (GET /collections/{layer}/items/{key} gives it) so that a change made since is not overwritten"
        ))),
        Some(false) => Err(ApiError::PreconditionFailed(format!(
            "If-Match: {layer} '{key}' changed since you read it (its ETag is now {etag}); GET it again, redo your change, and send the new ETag"
        ))),
        Some(true) => Ok((i, etag)),
    }
}

/// For roles that change attributes only: the new version keeps the geometry, key and unit.
fn attributes_only(
    account: &Account,
    before: &Value,
    after: &Value,
    layer: Layer,
) -> Result<(), ApiError> {
    if account.role.edits() != Edits::Attributes {
        return Ok(());
    }
    if before["geometry"] != after["geometry"] {
        return Err(ApiError::Forbidden(format!(
            "a {} account changes attributes only: keep the geometry of this {layer} feature as it is",
            account.role
        )));
    }
    for field in ["grid_code", "village_code", "alliance_id"] {
        if before["properties"][field] != after["properties"][field] {
            return Err(ApiError::Forbidden(format!(
                "{field}: a {} account cannot move a feature to another unit; ask the town or village staff",
                account.role
            )));
        }
    }
    Ok(())
}

/// `POST /collections/{id}/items`: create one feature from a GeoJSON Feature (its key in the
/// body). 201 with `Location` and `ETag`; 409 when the key exists.
pub async fn create_item(
    State(state): State<AppState>,
    Path(collection_id): Path<String>,
    base: BaseUrl,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let snap = state.index.load();
    let layer = builtin_layer_of(&snap, &collection_id)?;
    let account = writer(&caller, layer)?;
    if account.role.edits() != Edits::Everything {
        return Err(ApiError::Forbidden(format!(
            "a {} account changes attributes of existing features; creating one is for town, village or city staff",
            account.role
        )));
    }
    let data = parse_feature(layer, read_body(layer, body)?, None)?;
    let key = data.keys().pop().unwrap_or_default();
    let scope = snap.scope(Some(account));
    if !holds_written(&scope, &data) {
        return Err(outside(account, layer, &key));
    }
    let after = full_json(&data);
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
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let snap = state.index.load();
    let layer = builtin_layer_of(&snap, &collection_id)?;
    let account = writer(&caller, layer)?;
    let scope = snap.scope(Some(account));
    let (i, etag) = current(&snap, &scope, account, layer, &key, &headers)?;
    let data = parse_feature(layer, read_body(layer, body)?, Some(&key))?;
    change(
        &state,
        &caller,
        account,
        &scope,
        layer,
        &key,
        i,
        etag,
        data,
        Action::Replace,
    )
    .await
}

/// `PATCH /collections/{id}/items/{featureId}`: a JSON merge patch (RFC 7396) of the feature as
/// stored (`properties`, `geometry`), with `If-Match`.
pub async fn patch_item(
    State(state): State<AppState>,
    Path((collection_id, key)): Path<(String, String)>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let snap = state.index.load();
    let layer = builtin_layer_of(&snap, &collection_id)?;
    let account = writer(&caller, layer)?;
    let scope = snap.scope(Some(account));
    let (i, etag) = current(&snap, &scope, account, layer, &key, &headers)?;
    let body = body.map_err(|e| ApiError::bad("body", e.body_text()))?;
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
    let mut feature = serde_json::to_value(stored_feature_at(snap.dataset(), layer, i))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    merge_patch(&mut feature, &patch);
    let feature: Feature = serde_json::from_value(feature)
        .map_err(|e| ApiError::bad("body", format!("the patched feature is not GeoJSON: {e}")))?;
    let data = parse_feature(layer, feature, Some(&key))?;
    change(
        &state,
        &caller,
        account,
        &scope,
        layer,
        &key,
        i,
        etag,
        data,
        Action::Patch,
    )
    .await
}

/// A replace or patch, checked and written.
#[allow(clippy::too_many_arguments)]
async fn change(
    state: &AppState,
    caller: &Caller,
    account: &Account,
    scope: &Scope<'_>,
    layer: Layer,
    key: &str,
    i: usize,
    etag: String,
    data: LayerData,
    action: Action,
) -> Result<Response, ApiError> {
    if !holds_written(scope, &data) {
        return Err(ApiError::Forbidden(format!(
            "the new {layer} '{key}' would lie outside the area of account '{}'; nothing was written",
            account.name
        )));
    }
    let snap = state.index.load();
    let before =
        serde_json::to_value(stored_feature_at(snap.dataset(), layer, i)).unwrap_or(Value::Null);
    let after = full_json(&data);
    attributes_only(account, &before, &after, layer)?;
    let row = audit_row(
        caller,
        account,
        action,
        layer,
        key,
        Some(before),
        Some(after.clone()),
    );
    let caught_up = guarded(state, layer, key.to_string(), Some(data), Some(etag), row).await?;
    Ok(written(state, layer, key, after, caught_up, None))
}

/// `DELETE /collections/{id}/items/{featureId}` (with `If-Match`): 204, or 422 when other
/// features still refer to it.
pub async fn delete_item(
    State(state): State<AppState>,
    Path((collection_id, key)): Path<(String, String)>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let snap = state.index.load();
    let layer = builtin_layer_of(&snap, &collection_id)?;
    let account = writer(&caller, layer)?;
    if account.role.edits() != Edits::Everything {
        return Err(ApiError::Forbidden(format!(
            "a {} account changes attributes only; deleting is for town, village or city staff",
            account.role
        )));
    }
    let scope = snap.scope(Some(account));
    let (i, etag) = current(&snap, &scope, account, layer, &key, &headers)?;
    let before =
        serde_json::to_value(stored_feature_at(snap.dataset(), layer, i)).unwrap_or(Value::Null);
    let row = audit_row(
        &caller,
        account,
        Action::Delete,
        layer,
        &key,
        Some(before),
        None,
    );
    guarded(&state, layer, key, None, Some(etag), row).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// RFC 7396: objects merge member by member, `null` removes, anything else replaces.
fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(members) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    let Value::Object(t) = target else { return };
    for (k, v) in members {
        if v.is_null() {
            t.remove(k);
        } else {
            merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::merge_patch;
    use serde_json::json;

    /// The examples of RFC 7396, appendix A.
    #[test]
    fn merge_patch_follows_rfc_7396() {
        let cases = [
            (json!({"a":"b"}), json!({"a":"c"}), json!({"a":"c"})),
            (json!({"a":"b"}), json!({"b":"c"}), json!({"a":"b","b":"c"})),
            (json!({"a":"b"}), json!({"a":null}), json!({})),
            (
                json!({"a":"b","b":"c"}),
                json!({"a":null}),
                json!({"b":"c"}),
            ),
            (json!({"a":["b"]}), json!({"a":"c"}), json!({"a":"c"})),
            (json!({"a":"c"}), json!({"a":["b"]}), json!({"a":["b"]})),
            (
                json!({"a":{"b":"c"}}),
                json!({"a":{"b":"d","c":null}}),
                json!({"a":{"b":"d"}}),
            ),
            (json!({"a":[{"b":"c"}]}), json!({"a":[1]}), json!({"a":[1]})),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a":"b"}), json!(["c"]), json!(["c"])),
            (json!({"a":"foo"}), json!(null), json!(null)),
            (json!({"a":"foo"}), json!("bar"), json!("bar")),
            (json!({"e":null}), json!({"a":1}), json!({"e":null,"a":1})),
            (json!([1, 2]), json!({"a":"b","c":null}), json!({"a":"b"})),
            (
                json!({}),
                json!({"a":{"bb":{"ccc":null}}}),
                json!({"a":{"bb":{}}}),
            ),
        ];
        for (mut target, patch, want) in cases {
            merge_patch(&mut target, &patch);
            assert_eq!(target, want, "{patch}");
        }
    }
}
