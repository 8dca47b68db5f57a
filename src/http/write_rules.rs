//! The rules of an API write, apart from the handlers (`writes.rs`): a feature's version tag
//! and `If-Match`, who may write what (role and area), reading a body as one feature, and a JSON
//! merge patch (RFC 7396).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use geojson::{Feature, FeatureCollection, feature::Id};
use serde_json::Value;

use super::auth::Caller;
use super::error::ApiError;
use super::writes::MAX_BODY_BYTES;
use crate::access::{Account, Edits, Role};
use crate::geodesy::Crs;
use crate::index::Snapshot;
use crate::index::access::Scope;
use crate::model::declared::PARENT_FIELDS;
use crate::model::geojson::{
    Visibility, key_at, layer_features_visible, position, read_layer, stored_feature_at,
};
use crate::model::records::{DeclaredData, complete, read_declared};
use crate::model::schema::{FieldType, Origin};
use crate::model::{AnyLayer, Dataset, Layer, LayerData};

/// One feature as a write brings it, read and checked: of a built-in layer (validated with the
/// whole dataset when stored) or of a declared one (its town, village and grid already filled).
pub(super) enum Incoming {
    Builtin(LayerData),
    Declared(DeclaredData),
}

impl Incoming {
    /// Its key, as the store keeps it.
    pub(super) fn key(&self) -> String {
        match self {
            Incoming::Builtin(data) => data.keys().pop().unwrap_or_default(),
            Incoming::Declared(data) => data
                .features
                .first()
                .map(|r| r.key.clone())
                .unwrap_or_default(),
        }
    }

    /// The unit code it lies in (as `Snapshot::area_code` says for stored features).
    fn area_code(&self) -> Option<String> {
        match self {
            Incoming::Builtin(LayerData::Towns(v)) => v.first().map(|f| f.code.clone()),
            Incoming::Builtin(LayerData::Villages(v)) => v.first().map(|f| f.code.clone()),
            Incoming::Builtin(LayerData::Grids(v)) => v.first().map(|f| f.code.clone()),
            Incoming::Builtin(LayerData::Stations(v)) => v.first().map(|f| f.grid_code.clone()),
            Incoming::Builtin(LayerData::Members(v)) => {
                v.first().and_then(|f| f.village_code.clone())
            }
            Incoming::Builtin(LayerData::Alliances(_)) => None,
            Incoming::Declared(data) => data
                .features
                .first()?
                .area_code(data.def)
                .map(str::to_string),
        }
    }

    /// Every field of the feature, as JSON (what the audit log keeps).
    pub(super) fn full_json(&self) -> Value {
        let feature = match self {
            Incoming::Builtin(data) => layer_features_visible(data, Visibility::Personal).pop(),
            Incoming::Declared(data) => data
                .features
                .first()
                .map(|r| r.feature(data.def, Visibility::Personal)),
        };
        feature
            .and_then(|f| serde_json::to_value(f).ok())
            .unwrap_or(Value::Null)
    }
}

/// The version tag of feature `key` of `layer` as stored in `d`: FNV-1a of its JSON with every
/// field and its length, so any change (a phone included) changes it. `None` when there is no
/// such feature. (Tiles are tagged by XXH3 since; items keep FNV-1a, so that a tag a client holds
/// stays good across an upgrade.)
pub(super) fn etag_in(d: &Dataset, layer: AnyLayer, key: &str) -> Option<String> {
    position(d, layer, key).map(|i| etag_at(d, layer, i))
}

pub(super) fn etag_at(d: &Dataset, layer: AnyLayer, i: usize) -> String {
    let text = serde_json::to_string(&stored_feature_at(d, layer, i)).unwrap_or_default();
    let hash = crate::model::fnv1a(text.as_bytes());
    format!("\"{hash:016x}-{:x}\"", text.len())
}

/// The ETag of a feature answered in `crs`: the stored feature's, marked with the CRS when its
/// positions differ from WGS84 longitude, latitude (shifted or latitude first). Writes take
/// WGS84 only, so a body read in GCJ-02 and sent back with this tag is refused (412), never
/// stored 500 m off.
pub(super) fn etag_in_crs(etag: &str, crs: Crs) -> String {
    if !(crs.shifts() || crs.lat_first()) {
        return etag.to_string();
    }
    let mark = match crs {
        Crs::Epsg4326 => "epsg4326",
        Crs::Epsg4490 => "epsg4490",
        other => other.name(),
    };
    format!("{};crs={mark}\"", etag.trim_end_matches('"'))
}

/// `crs` on a write: WGS84 longitude, latitude only (the shorthand or CRS84, or CGCS2000).
pub(super) fn writes_in_wgs84(params: &super::params::Params) -> Result<(), ApiError> {
    let crs = params.crs()?;
    if crs.shifts() || crs.lat_first() {
        return Err(ApiError::bad(
            "crs",
            format!(
                "writes take WGS84 longitude, latitude (wgs84 or CRS84), not {}; convert the geometry or leave crs out",
                crs.name()
            ),
        ));
    }
    Ok(())
}

/// Whether `If-Match` holds `etag` (strong comparison, RFC 9110 §13.1.1: a weak tag never
/// matches); `None` when the request has no `If-Match`, or only `*`, which RFC 9110 allows but
/// which would let two editors overwrite each other: the point of asking for it.
pub(super) fn if_match(headers: &HeaderMap, etag: &str) -> Option<bool> {
    let tags: Vec<&str> = headers
        .get_all(header::IF_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty() && *t != "*")
        .collect();
    if tags.is_empty() {
        return None;
    }
    Some(tags.contains(&etag))
}

/// Whether the scope's area holds a feature as written (before it is stored).
pub(super) fn holds_written(scope: &Scope, data: &Incoming) -> bool {
    if scope.account().is_some_and(|a| a.role.everywhere()) {
        return true;
    }
    if let Some(id) = scope.alliance() {
        return match data {
            Incoming::Builtin(LayerData::Alliances(v)) => v.iter().all(|a| a.id == id),
            Incoming::Builtin(LayerData::Members(v)) => v.iter().all(|m| m.alliance_id == id),
            _ => false,
        };
    }
    data.area_code().is_some_and(|c| scope.holds_code(&c))
}

/// Whether a role that changes attributes only may change features of `layer`: a grid worker
/// what belongs to its grids (the grids, their posts, declared features keyed under a grid such
/// as buildings and Party branches); an alliance its alliance and members.
fn attributes_of(role: Role, layer: AnyLayer) -> bool {
    match (role, layer) {
        (Role::GridWorker, AnyLayer::Builtin(l)) => matches!(l, Layer::Grids | Layer::Stations),
        (Role::GridWorker, AnyLayer::Declared(def)) => {
            def.origin == Origin::DeclaredByPrefix(Layer::Grids)
        }
        (_, AnyLayer::Builtin(l)) => matches!(l, Layer::Alliances | Layer::Members),
        (_, AnyLayer::Declared(_)) => false,
    }
}

/// The account, when its role may write at all and may write `layer`.
pub(super) fn writer(caller: &Caller, layer: AnyLayer) -> Result<&Account, ApiError> {
    let account = caller.signed_in("writing a feature")?;
    let allowed = match account.role.edits() {
        Edits::Nothing => false,
        Edits::Everything => true,
        Edits::Attributes => attributes_of(account.role, layer),
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

pub(super) fn outside(account: &Account, layer: AnyLayer, key: &str) -> ApiError {
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

/// A request body's bytes: 413 over the limit, 400 when unreadable.
pub(super) fn body_bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge(format!(
                "body: over the limit (one feature: {MAX_BODY_BYTES} bytes; any body: the server's --max-body-mb); send less, a feature simplified if need be"
            ))
        } else {
            ApiError::bad("body", e.body_text())
        }
    })
}

/// Read a request body as one GeoJSON Feature of `layer`.
pub(super) fn read_body(
    layer: AnyLayer,
    body: Result<Bytes, BytesRejection>,
) -> Result<Feature, ApiError> {
    let body = body_bytes(body)?;
    serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad(
            "body",
            format!("not a GeoJSON Feature of {layer}: {e}; send {{\"type\": \"Feature\", \"geometry\": …, \"properties\": {{…}}}}"),
        )
    })
}

/// A Feature as one feature of `layer`, its key checked against `key` when given (the URL's); a
/// declared feature gets its town, village and grid from `d` as an import would.
pub(super) fn parse_feature(
    d: &Dataset,
    layer: AnyLayer,
    mut feature: Feature,
    key: Option<&str>,
) -> Result<Incoming, ApiError> {
    let field = layer.def().key;
    let named = feature
        .properties
        .as_ref()
        .and_then(|p| p.get(field))
        .is_some_and(|v| !v.is_null());
    if let Some(key) = key
        && !named
    {
        match layer {
            // A built-in layer reads its key from the id when the properties lack it.
            AnyLayer::Builtin(_) => {
                if feature.id.is_none() {
                    feature.id = Some(Id::String(key.to_string()));
                }
            }
            AnyLayer::Declared(def) => {
                let value = match def.field(field).map(|f| f.ty) {
                    Some(FieldType::Integer) => key.parse::<i64>().map_or(Value::Null, Value::from),
                    _ => Value::from(key),
                };
                feature
                    .properties
                    .get_or_insert_with(Default::default)
                    .insert(field.to_string(), value);
            }
        }
    }
    let text = FeatureCollection::from_iter([feature]).to_string();
    let invalid = |r: crate::model::ValidationReport| ApiError::Invalid(r.to_string());
    let data = match layer {
        AnyLayer::Builtin(l) => Incoming::Builtin(read_layer(l, &text).map_err(invalid)?),
        AnyLayer::Declared(def) => {
            let mut data = read_declared(def, &text).map_err(invalid)?;
            let report = complete(&mut data, d);
            if !report.is_ok() {
                return Err(invalid(report));
            }
            Incoming::Declared(data)
        }
    };
    if let Some(key) = key {
        let given = data.key();
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

/// For a layer whose key names its unit (`parent = "grids"`, say): the feature stands within
/// `gridmap check`'s tolerance of that unit, since its area comes from the key. Checked where a
/// write places a feature (a create, or a change of its geometry), so a feature imported a
/// little outside can still have its attributes edited.
pub(super) fn placed_in_its_unit(d: &Dataset, data: &Incoming) -> Result<(), ApiError> {
    use crate::analysis::topology::BUILDING_TOLERANCE_M;
    use crate::geodesy::distance_outside_m;
    let Incoming::Declared(data) = data else {
        return Ok(());
    };
    let (def, Some(r)) = (data.def, data.features.first()) else {
        return Ok(());
    };
    let Origin::DeclaredByPrefix(level) = def.origin else {
        return Ok(());
    };
    let Some(code) = r.area_code(def) else {
        return Ok(());
    };
    let unit = match level {
        Layer::Towns => d.towns.iter().find(|u| u.code == code).map(|u| &u.geometry),
        Layer::Villages => d
            .villages
            .iter()
            .find(|u| u.code == code)
            .map(|u| &u.geometry),
        _ => d.grids.iter().find(|u| u.code == code).map(|u| &u.geometry),
    };
    let (Some(unit), Some(at)) = (unit, r.anchor()) else {
        return Ok(());
    };
    let outside_m = distance_outside_m(unit, at);
    if outside_m <= BUILDING_TOLERANCE_M {
        return Ok(());
    }
    Err(ApiError::Invalid(format!(
        "geometry: {} '{}' would stand {outside_m:.1} m outside {code}, the unit its key names; place it inside, or give it a key of the unit it stands in",
        def.name, r.key
    )))
}

/// For a merge patch of a declared feature: its town, village and grid as stored are left out,
/// so that gridmap fills them anew where the patch moves it (a patch may still name them).
pub(super) fn without_parents(layer: AnyLayer, feature: &mut Value) {
    if let AnyLayer::Declared(def) = layer
        && matches!(
            def.origin,
            Origin::DeclaredByPrefix(_) | Origin::DeclaredByContainment
        )
        && let Some(props) = feature["properties"].as_object_mut()
    {
        for f in PARENT_FIELDS {
            props.remove(f);
        }
    }
}

/// The current feature `key` for a change: found, held by the caller's area, and the
/// `If-Match` the request carries (428 without it, 412 when it is not the current ETag). Its
/// position, ETag and key as stored (`007` asked, `7` stored).
pub(super) fn current(
    snap: &Snapshot,
    scope: &Scope,
    account: &Account,
    layer: AnyLayer,
    key: &str,
    headers: &HeaderMap,
) -> Result<(usize, String, String), ApiError> {
    // A staff layer's feature outside the area does not exist for the caller.
    let i = snap
        .find_any(layer, key)
        .filter(|&i| scope.sees(snap, layer, i))
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "{layer} has no feature '{key}'; create one with POST /collections/{layer}/items"
            ))
        })?;
    if !scope.holds(snap, layer, i) {
        return Err(outside(account, layer, key));
    }
    let etag = etag_at(snap.dataset(), layer, i);
    let in_crs = headers
        .get_all(header::IF_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.split(";crs=")
                .nth(1)
                .map(|c| c.trim_end_matches('"').to_string())
        });
    if let Some(crs) = in_crs {
        return Err(ApiError::PreconditionFailed(format!(
            "If-Match: that ETag came with {layer} '{key}' in {crs}, and writes take WGS84 longitude, latitude; GET it without crs, and send that ETag with the geometry in WGS84"
        )));
    }
    match if_match(headers, &etag) {
        None => Err(ApiError::PreconditionRequired(format!(
            "If-Match: send the feature's ETag (GET /collections/{layer}/items/{key} gives it; `*` is not enough) so that a change made since is not overwritten"
        ))),
        Some(false) => Err(ApiError::PreconditionFailed(format!(
            "If-Match: {layer} '{key}' changed since you read it (its ETag is now {etag}); GET it again, redo your change, and send the new ETag"
        ))),
        Some(true) => Ok((i, etag, key_at(snap.dataset(), layer, i))),
    }
}

/// For roles that change attributes only: the new version keeps the geometry, key and unit.
pub(super) fn attributes_only(
    account: &Account,
    before: &Value,
    after: &Value,
    layer: AnyLayer,
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
    for field in ["grid_code", "village_code", "town_code", "alliance_id"] {
        if before["properties"][field] != after["properties"][field] {
            return Err(ApiError::Forbidden(format!(
                "{field}: a {} account cannot move a feature to another unit; ask the town or village staff",
                account.role
            )));
        }
    }
    Ok(())
}

/// RFC 7396: objects merge member by member, `null` removes, anything else replaces.
pub(super) fn merge_patch(target: &mut Value, patch: &Value) {
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
