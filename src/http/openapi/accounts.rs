//! What the document says about accounts: the writes (OGC API - Features Part 4, bearer
//! token required) and the reads whose answer depends on who asks (token optional).

use serde_json::{Map, Value, json};

use super::{error, ogc};
use crate::http::GEOJSON;

/// The writes of OGC API - Features Part 4, by accounts whose role and area allow them.
pub struct Writes {
    /// POST on a collection's items (create).
    pub create: Value,
    /// PUT, PATCH and DELETE of one feature.
    pub replace: Value,
    pub patch: Value,
    pub delete: Value,
}

pub(super) fn writes() -> Writes {
    let secured = json!([{"bearer": []}]);
    let common = |extra: Value| {
        let mut r = json!({
            "401": error("No token, or a token no active account has (WWW-Authenticate: Bearer)"),
            "403": error("The account's role or area does not allow this write; the message says why"),
            "404": error("No such collection or feature (a staff layer's feature outside the account's area does not exist for it)"),
            "422": error("The feature, or the dataset after the write, breaks a model rule, or the store refused it by a constraint; nothing was written"),
            "429": error("Too many wrong tokens from this address within a minute (Retry-After says when to try again)"),
            "500": error("Something failed on the server (logged)"),
            "503": error("The store cannot be reached; nothing was written (a write that committed is always answered as done)"),
        });
        if let (Some(r), Value::Object(extra)) = (r.as_object_mut(), extra) {
            r.extend(extra);
        }
        r
    };
    let feature = json!({"$ref": "#/components/schemas/Feature"});
    let etag = json!({"ETag": {"description": "The feature's version, for If-Match", "schema": {"type": "string"}}});
    let written = |what: &str| {
        json!({"description": what, "headers": etag,
        "content": {GEOJSON: {"schema": feature}}})
    };
    let body = |what: &str| {
        json!({"required": true, "description": what,
        "content": {GEOJSON: {"schema": {"type": "object"}}, "application/json": {"schema": {"type": "object"}}}})
    };
    let if_match = json!({"name": "If-Match", "in": "header", "required": true,
        "description": "The ETag of the feature as last read (GET gives it to accounts that see the whole feature)",
        "schema": {"type": "string"}});
    let one = json!([
        ogc::param_ref("collectionId"),
        ogc::param_ref("featureId"),
        if_match
    ]);
    let guarded = |extra: Value| {
        let mut r = common(json!({
            "400": error("Not a GeoJSON Feature (or merge patch), or its key disagrees with the URL"),
            "412": error("If-Match names an older version: the feature changed since it was read; nothing was written"),
            "428": error("If-Match is missing"),
            "413": error(&format!("The body is over {} bytes", crate::http::writes::MAX_BODY_BYTES)),
        }));
        if let (Some(r), Value::Object(extra)) = (r.as_object_mut(), extra) {
            r.extend(extra);
        }
        r
    };
    Writes {
        create: json!({
            "operationId": "createFeature", "summary": "Create one feature (its key in the body)", "tags": ["OGC API - Features"],
            "parameters": [ogc::param_ref("collectionId")], "security": secured,
            "requestBody": body("A GeoJSON Feature of the collection, every field"),
            "responses": common(json!({
                "201": {"description": "Created: the feature as stored, with Location and ETag",
                    "headers": {"Location": {"schema": {"type": "string"}}, "ETag": etag["ETag"]},
                    "content": {GEOJSON: {"schema": feature}}},
                "400": error("Not a GeoJSON Feature"),
                "409": error("A feature with this key exists"),
                "413": error(&format!("The body is over {} bytes", crate::http::writes::MAX_BODY_BYTES)),
            })),
        }),
        replace: json!({
            "operationId": "replaceFeature", "summary": "Replace one feature", "tags": ["OGC API - Features"],
            "parameters": one, "security": secured,
            "requestBody": body("A GeoJSON Feature of the collection, every field (the key may be left to the URL)"),
            "responses": guarded(json!({"200": written("Replaced: the feature as stored")})),
        }),
        patch: json!({
            "operationId": "patchFeature", "summary": "Change one feature by a JSON merge patch (RFC 7396)", "tags": ["OGC API - Features"],
            "parameters": one, "security": secured,
            "requestBody": {"required": true, "description": "A merge patch of the feature: {\"properties\": {…}} and/or {\"geometry\": …}",
                "content": {"application/merge-patch+json": {"schema": {"type": "object"}}, "application/json": {"schema": {"type": "object"}}}},
            "responses": guarded(json!({"200": written("Changed: the feature as stored")})),
        }),
        delete: json!({
            "operationId": "deleteFeature", "summary": "Delete one feature", "tags": ["OGC API - Features"],
            "parameters": one, "security": secured,
            "responses": guarded(json!({"204": {"description": "Deleted"}})),
        }),
    }
}

/// The reads whose answer depends on who asks (their handlers take `auth::Caller`): a token is
/// optional (none is the public), and a token no active account has is 401.
pub(super) fn caller_aware(paths: &mut Map<String, Value>) {
    let aware = |path: &str| {
        path.starts_with("/collections/") && path.contains("/items")
            || [
                "/collections",
                "/collections/{collectionId}",
                "/collections/{collectionId}/queryables",
                "/locate",
                "/nearest",
                "/search",
                "/health",
                "/tiles/{z}/{x}/{y}.mvt",
                "/tiles/{z}/{x}/{y}.pbf",
                "/tiles/events/{z}/{x}/{y}.mvt",
                "/tiles/gcj02/{z}/{x}/{y}.mvt",
                "/tiles/gcj02/events/{z}/{x}/{y}.mvt",
            ]
            .contains(&path)
    };
    for (_, item) in paths.iter_mut().filter(|(p, _)| aware(p)) {
        let Some(get) = item.get_mut("get").and_then(Value::as_object_mut) else {
            continue;
        };
        get.insert("security".into(), json!([{}, {"bearer": []}]));
        if let Some(r) = get.get_mut("responses").and_then(Value::as_object_mut) {
            r.insert(
                "401".into(),
                error("A token no active account has (send none for the public view)"),
            );
            r.insert(
                "429".into(),
                error("Too many wrong tokens from this address within a minute"),
            );
        }
    }
}
