//! OGC API - Features, Part 1 Core, with GeoJSON: landing page, conformance, collections, items
//! and single features for `towns villages grids stations alliances members`. Only public
//! properties appear (no worker names, no phones).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::params::Params;
use crate::index::Snapshot;
use crate::model::Layer;

pub const DEFAULT_LIMIT: u64 = 10;
pub const MAX_LIMIT: u64 = 10_000;
const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
const GEOJSON: &str = "application/geo+json";

/// Public properties per layer: what items return and what can be filtered on.
pub fn public_properties(layer: Layer) -> &'static [&'static str] {
    match layer {
        Layer::Towns => &["code", "name", "mca_code", "kind"],
        Layer::Villages => &["code", "name", "kind", "town_code"],
        Layer::Grids => &["code", "name", "village_code", "households", "population"],
        Layer::Stations => &["id", "name", "grid_code", "services", "opening_hours"],
        Layer::Alliances => &["id", "name", "theme", "founded"],
        Layer::Members => &["id", "alliance_id", "kind", "name", "village_code"],
    }
}

fn describe(layer: Layer) -> (&'static str, &'static str) {
    match layer {
        Layer::Towns => (
            "Towns and streets (镇/街道)",
            "The 12 towns and streets of Danyang, 9-digit NBS codes.",
        ),
        Layer::Villages => (
            "Villages and communities (村/社区)",
            "Rural villages and urban communities, 12-digit codes.",
        ),
        Layer::Grids => (
            "Grids (网格)",
            "The smallest governance unit; every household belongs to one. 15-digit codes.",
        ),
        Layer::Stations => (
            "Grid posts (网格驿站)",
            "Service stations inside grids: policy, mediation, relief, civility.",
        ),
        Layer::Alliances => (
            "Functional alliances (功能型联合体)",
            "Alliances of villages, enterprises, banks and agencies; geometry is the union of member villages.",
        ),
        Layer::Members => (
            "Alliance members",
            "Villages (placed inside their polygon), enterprises, banks and agencies.",
        ),
    }
}

/// `scheme://host` of this request, for absolute links (GDAL and QGIS follow them).
fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("http");
    format!("{scheme}://{host}")
}

fn link(href: String, rel: &str, kind: &str, title: &str) -> Value {
    json!({"href": href, "rel": rel, "type": kind, "title": title})
}

pub(super) fn layer_of(collection_id: &str) -> Result<Layer, ApiError> {
    Layer::parse(collection_id).ok_or_else(|| {
        ApiError::NotFound(format!(
            "collection '{collection_id}' does not exist; use towns, villages, grids, stations, alliances or members"
        ))
    })
}

fn check_format(params: &Params) -> Result<(), ApiError> {
    match params.get("f") {
        None | Some("json") | Some("geojson") => Ok(()),
        Some(other) => Err(ApiError::bad(
            "f",
            format!("'{other}' is not offered; use f=json"),
        )),
    }
}

fn geojson_response(body: Value) -> Response {
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(GEOJSON));
    response
}

/// The public GeoJSON feature at position `i` of `layer`.
pub fn feature_json(snap: &Snapshot, layer: Layer, i: usize) -> Value {
    serde_json::to_value(snap.public_feature(layer, i)).unwrap_or(Value::Null)
}

/// Whether a property value matches a filter value given as text (arrays match any element).
fn matches(value: &Value, wanted: &str) -> bool {
    match value {
        Value::String(s) => s == wanted,
        Value::Number(n) => n.to_string() == wanted || wanted.parse::<f64>().ok() == n.as_f64(),
        Value::Bool(b) => b.to_string() == wanted,
        Value::Array(items) => items.iter().any(|v| matches(v, wanted)),
        _ => false,
    }
}

fn collection_json(snap: &Snapshot, layer: Layer, base: &str) -> Value {
    let (title, description) = describe(layer);
    let id = layer.name();
    let bbox = snap
        .extent(layer)
        .map(|b| vec![b.min_lon, b.min_lat, b.max_lon, b.max_lat])
        .unwrap_or_else(|| vec![-180.0, -90.0, 180.0, 90.0]);
    json!({
        "id": id, "title": title, "description": description, "itemType": "feature",
        "extent": {"spatial": {"bbox": [bbox], "crs": CRS84}},
        "crs": [CRS84], "storageCrs": CRS84,
        "links": [
            link(format!("{base}/collections/{id}"), "self", "application/json", title),
            link(format!("{base}/collections/{id}/items"), "items", GEOJSON, "Items as GeoJSON"),
        ],
    })
}

/// GET /
///
/// A browser (Accept lists text/html before JSON) or `?f=html` is redirected to the map page;
/// OGC clients, scripts and `?f=json` get the JSON document.
pub async fn landing(headers: HeaderMap, params: Params) -> Result<Response, ApiError> {
    params.only(&["f"])?;
    // The answer depends on Accept: caches must keep the two apart.
    let vary = [(header::VARY, HeaderValue::from_static("accept"))];
    let html = match params.get("f") {
        Some("html") => true,
        None => super::web::wants_html(&headers),
        Some(_) => {
            check_format(&params)?;
            false
        }
    };
    if html {
        return Ok((vary, Redirect::to("map")).into_response());
    }
    let base = base_url(&headers);
    let json = Json(json!({
        "title": "gridmap",
        "description": "Grid governance for Danyang (丹阳): towns, villages, grids, grid posts and functional alliances.",
        "links": [
            link(format!("{base}/"), "self", "application/json", "This document"),
            link(format!("{base}/openapi.json"), "service-desc", "application/vnd.oai.openapi+json;version=3.1", "The API definition"),
            link(format!("{base}/conformance"), "conformance", "application/json", "Conformance classes"),
            link(format!("{base}/collections"), "data", "application/json", "Collections"),
            link(format!("{base}/map"), "alternate", "text/html", "The one-map web page"),
        ],
    }));
    Ok((vary, json).into_response())
}

/// GET /conformance
pub async fn conformance() -> Json<Value> {
    Json(json!({"conformsTo": [
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    ]}))
}

/// GET /collections
pub async fn collections(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    params.only(&["f"])?;
    check_format(&params)?;
    let base = base_url(&headers);
    let snap = state.index.load();
    Ok(Json(json!({
        "links": [link(format!("{base}/collections"), "self", "application/json", "Collections")],
        "collections": Layer::ALL.iter().map(|&l| collection_json(&snap, l, &base)).collect::<Vec<_>>(),
    })))
}

/// GET /collections/{collection_id}
pub async fn collection(
    State(state): State<AppState>,
    Path(collection_id): Path<String>,
    headers: HeaderMap,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let layer = layer_of(&collection_id)?;
    params.only(&["f"])?;
    check_format(&params)?;
    Ok(Json(collection_json(
        &state.index.load(),
        layer,
        &base_url(&headers),
    )))
}

/// GET /collections/{collection_id}/items?bbox=&limit=&offset=&<property>=<value>
pub async fn items(
    State(state): State<AppState>,
    Path(collection_id): Path<String>,
    headers: HeaderMap,
    params: Params,
) -> Result<Response, ApiError> {
    let layer = layer_of(&collection_id)?;
    let properties = public_properties(layer);
    let mut allowed = vec!["bbox", "bbox-crs", "limit", "offset", "f"];
    allowed.extend_from_slice(properties);
    params.only(&allowed)?;
    check_format(&params)?;
    if let Some(crs) = params.get("bbox-crs").filter(|c| *c != CRS84) {
        return Err(ApiError::bad(
            "bbox-crs",
            format!("'{crs}' is not supported; bbox is in {CRS84}"),
        ));
    }
    let bbox = params.bbox()?;
    // Like pg_featureserv, a limit above the maximum is served at the maximum.
    let limit = params
        .int("limit", 1, u64::MAX, DEFAULT_LIMIT)?
        .min(MAX_LIMIT) as usize;
    let offset = params.int("offset", 0, u64::MAX, 0)? as usize;
    let filters: Vec<(&str, &str)> = params
        .0
        .iter()
        .filter(|(k, _)| properties.contains(&k.as_str()))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();

    let snap = state.index.load();
    let mut positions = snap.in_bbox(layer, bbox);
    if !filters.is_empty() {
        positions.retain(|&i| {
            let f = feature_json(&snap, layer, i);
            filters
                .iter()
                .all(|(k, v)| matches(&f["properties"][*k], v))
        });
    }
    let matched = positions.len();
    let page: Vec<Value> = positions
        .iter()
        .skip(offset)
        .take(limit)
        .map(|&i| feature_json(&snap, layer, i))
        .collect();

    let base = base_url(&headers);
    let items_url = format!("{base}/collections/{}/items", layer.name());
    let query_with = |offset: usize| {
        let mut pairs: Vec<(String, String)> = params
            .0
            .iter()
            .filter(|(k, _)| k != "offset" && k != "limit")
            .cloned()
            .collect();
        pairs.push(("limit".into(), limit.to_string()));
        pairs.push(("offset".into(), offset.to_string()));
        format!(
            "{items_url}?{}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    };
    let mut links = vec![
        link(query_with(offset), "self", GEOJSON, "This page"),
        link(
            format!("{base}/collections/{}", layer.name()),
            "collection",
            "application/json",
            "The collection",
        ),
    ];
    if offset + page.len() < matched {
        links.push(link(
            query_with(offset + limit),
            "next",
            GEOJSON,
            "Next page",
        ));
    }
    if offset > 0 {
        links.push(link(
            query_with(offset.saturating_sub(limit)),
            "prev",
            GEOJSON,
            "Previous page",
        ));
    }
    Ok(geojson_response(json!({
        "type": "FeatureCollection",
        "numberMatched": matched,
        "numberReturned": page.len(),
        "links": links,
        "features": page,
    })))
}

/// GET /collections/{collection_id}/items/{feature_id}
pub async fn item(
    State(state): State<AppState>,
    Path((collection_id, feature_id)): Path<(String, String)>,
    headers: HeaderMap,
    params: Params,
) -> Result<Response, ApiError> {
    let layer = layer_of(&collection_id)?;
    params.only(&["f"])?;
    check_format(&params)?;
    let snap = state.index.load();
    let key = if layer.keyed_by_code() {
        "code"
    } else {
        "numeric id"
    };
    let i = snap.find(layer, &feature_id).ok_or_else(|| {
        ApiError::NotFound(format!(
            "{} has no feature '{feature_id}' (features are keyed by {key})",
            layer.name()
        ))
    })?;
    let base = base_url(&headers);
    let mut feature = feature_json(&snap, layer, i);
    feature["links"] = json!([
        link(
            format!("{base}/collections/{}/items/{feature_id}", layer.name()),
            "self",
            GEOJSON,
            "This feature"
        ),
        link(
            format!("{base}/collections/{}", layer.name()),
            "collection",
            "application/json",
            "The collection"
        ),
    ]);
    Ok(geojson_response(feature))
}
