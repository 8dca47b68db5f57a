//! OGC API - Features, Part 1 Core, with GeoJSON: landing page, conformance, collections, items
//! and single features for `towns villages grids stations alliances members` and every declared
//! layer (and the read-only `events`, in `event_collection`), as the caller may see them (`index::access`): the public gets public fields; an
//! account, inside its area, the staff and personal fields its role allows. A staff layer's
//! features outside the area are absent (404 for one).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Value, json};

use super::auth::Caller;
use super::base_url::BaseUrl;
use super::crs::{crs_param, write_geometry};
use super::error::ApiError;
use super::event_collection;
use super::ogc_params::TimeSpan;
use super::params::Params;
use super::queryables::{public_properties, temporal_property};
use super::{AppState, GEOJSON};
use crate::access::View;
use crate::geodesy::{CRS84, Crs};
use crate::index::Snapshot;
use crate::index::access::Scope;
use crate::model::AnyLayer;

pub const DEFAULT_LIMIT: u64 = 10;
pub const MAX_LIMIT: u64 = 10_000;

/// The conformance classes served: Core with GeoJSON and an OpenAPI 3.0 definition, CRS by
/// reference (CRS84 and EPSG:4326), and queryables usable as query parameters.
pub const CONFORMANCE: &[&str] = &[
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
];

/// The link relation of a collection's queryables (OGC API - Features Part 3).
pub(super) const REL_QUERYABLES: &str = "http://www.opengis.net/def/rel/ogc/1.0/queryables";

pub(super) fn link(href: String, rel: &str, kind: &str, title: &str) -> Value {
    json!({"href": href, "rel": rel, "type": kind, "title": title})
}

/// The collection `collection_id`: a built-in or a declared layer of the snapshot.
pub(super) fn layer_of(snap: &Snapshot, collection_id: &str) -> Result<AnyLayer, ApiError> {
    if collection_id == event_collection::ID {
        // Reads of it never come here: what does is a write.
        return Err(event_collection::read_only());
    }
    snap.layer_named(collection_id).ok_or_else(|| {
        let names: Vec<&str> = snap.layers().iter().map(|l| l.name()).collect();
        ApiError::NotFound(format!(
            "collection '{collection_id}' does not exist; use one of {}",
            names.join(", ")
        ))
    })
}

pub(super) fn check_format(params: &Params) -> Result<(), ApiError> {
    match params.get("f") {
        None | Some("json") | Some("geojson") => Ok(()),
        Some(other) => Err(ApiError::bad(
            "f",
            format!("'{other}' is not offered; use f=json"),
        )),
    }
}

/// A GeoJSON answer in `crs`, saying so in `Content-Crs` (OGC API - Features Part 2).
pub(super) fn geojson_response(body: Value, crs: Crs) -> Response {
    let mut response = Json(body).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(GEOJSON));
    if let Ok(v) = HeaderValue::from_str(&format!("<{}>", crs.uri())) {
        h.insert("content-crs", v);
    }
    response
}

/// The Core parameters every items request takes (a collection adds its queryables).
pub(super) const CORE_ITEM_PARAMS: [&str; 7] = [
    "bbox", "bbox-crs", "crs", "datetime", "limit", "offset", "f",
];

/// An items request's Core parameters, read once for every collection.
pub(super) struct ItemsQuery {
    pub crs: Crs,
    /// WGS84, whatever `bbox-crs` the request wrote it in.
    pub bbox: Option<crate::model::Bbox>,
    pub when: Option<TimeSpan>,
    pub limit: usize,
    pub offset: usize,
}

impl ItemsQuery {
    /// Read `params`, which must hold nothing beyond `CORE_ITEM_PARAMS` and `extra`.
    pub(super) fn read(params: &Params, extra: &[&str]) -> Result<ItemsQuery, ApiError> {
        let allowed: Vec<&str> = CORE_ITEM_PARAMS.iter().chain(extra).copied().collect();
        params.only(&allowed)?;
        check_format(params)?;
        let bbox_crs = crs_param(params, "bbox-crs", Crs::Crs84)?;
        if params.get("bbox-crs").is_some() && params.get("bbox").is_none() {
            return Err(ApiError::bad(
                "bbox-crs",
                "names the CRS of bbox, and no bbox is given; give bbox too, or leave bbox-crs out",
            ));
        }
        Ok(ItemsQuery {
            crs: crs_param(params, "crs", Crs::Crs84)?,
            bbox: params.bbox(bbox_crs)?,
            when: params
                .get("datetime")
                .map(TimeSpan::parse_datetime)
                .transpose()?,
            // Like pg_featureserv, and as Core requires, a limit above the maximum is served
            // at the maximum.
            limit: params
                .int("limit", 1, u64::MAX, DEFAULT_LIMIT)?
                .min(MAX_LIMIT) as usize,
            offset: params.int("offset", 0, u64::MAX, 0)? as usize,
        })
    }

    /// A page of collection `id`: the FeatureCollection with its counts and its self,
    /// collection, next and previous links, as GeoJSON in the request's `crs`.
    pub(super) fn page(
        &self,
        params: &Params,
        base: &BaseUrl,
        id: &str,
        features: Vec<Value>,
        matched: usize,
    ) -> Response {
        let (limit, offset) = (self.limit, self.offset);
        let items_url = base.join(&format!("/collections/{id}/items"));
        let query_with = |offset: usize| params.page_url(&items_url, limit, offset);
        let mut links = vec![
            link(query_with(offset), "self", GEOJSON, "This page"),
            link(
                base.join(&format!("/collections/{id}")),
                "collection",
                "application/json",
                "The collection",
            ),
        ];
        if offset + features.len() < matched {
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
        geojson_response(
            json!({
                "type": "FeatureCollection",
                "numberMatched": matched,
                "numberReturned": features.len(),
                "links": links,
                "features": features,
            }),
            self.crs,
        )
    }
}

/// Feature `i` as the scope's caller may see it, in `crs`'s axis order; and whether it carried
/// personal data in clear (for the audit log).
fn feature_in(
    snap: &Snapshot,
    scope: &Scope,
    layer: AnyLayer,
    i: usize,
    crs: Crs,
) -> (Value, bool) {
    let view = scope.view(snap, layer, i);
    let feature = snap.feature_as(layer, i, view);
    let carried = view == View::Full
        && feature
            .properties
            .as_ref()
            .is_some_and(|p| layer.def().carries_personal(p));
    let mut f = serde_json::to_value(feature).unwrap_or(Value::Null);
    write_geometry(crs, &mut f["geometry"]);
    (f, carried)
}

/// The keys of features whose answer carried personal data, for `Caller::audit_read`.
pub(super) fn key_of(snap: &Snapshot, layer: AnyLayer, i: usize) -> String {
    let f = snap.public_feature_any(layer, i);
    match f.id {
        Some(geojson::feature::Id::String(s)) => s,
        Some(geojson::feature::Id::Number(n)) => n.to_string(),
        None => i.to_string(),
    }
}

/// The first and last day of the collection's time property, as an OGC temporal extent.
fn temporal_extent(snap: &Snapshot, layer: AnyLayer) -> Option<Value> {
    let field = temporal_property(layer.def())?;
    let mut days: Vec<String> = (0..snap.count_any(layer))
        .filter_map(|i| {
            let f = snap.public_feature_any(layer, i);
            f.property(field)?.as_str().map(str::to_string)
        })
        .collect();
    days.sort();
    let (first, last) = (days.first()?, days.last()?);
    Some(json!({
        "interval": [[format!("{first}T00:00:00Z"), format!("{last}T23:59:59Z")]],
        "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
    }))
}

fn collection_json(snap: &Snapshot, layer: AnyLayer, base: &BaseUrl) -> Value {
    let (title, description) = (layer.def().title, layer.def().description);
    let id = layer.name();
    // A staff layer's own extent would tell the public where its features are: it gets the
    // county's, and no temporal extent.
    let staff = layer.def().staff_only();
    let of = if staff {
        AnyLayer::Builtin(crate::model::Layer::Towns)
    } else {
        layer
    };
    let bbox = snap
        .extent_any(of)
        .map(|b| vec![b.min_lon, b.min_lat, b.max_lon, b.max_lat])
        .unwrap_or_else(|| vec![-180.0, -90.0, 180.0, 90.0]);
    let mut extent = json!({"spatial": {"bbox": [bbox], "crs": CRS84}});
    if !staff && let Some(temporal) = temporal_extent(snap, layer) {
        extent["temporal"] = temporal;
    }
    json!({
        "id": id, "title": title, "description": description, "itemType": "feature",
        "extent": extent,
        "crs": Crs::OGC.map(Crs::uri), "storageCrs": CRS84,
        "links": [
            link(base.join(&format!("/collections/{id}")), "self", "application/json", title),
            link(base.join(&format!("/collections/{id}/items")), "items", GEOJSON, "Items as GeoJSON"),
            link(base.join(&format!("/collections/{id}/queryables")), REL_QUERYABLES, "application/schema+json", "What can be filtered on"),
        ],
    })
}

/// GET /
///
/// A browser (Accept lists text/html before JSON) or `?f=html` is redirected to the map page;
/// OGC clients, scripts and `?f=json` get the JSON document.
pub async fn landing(
    headers: HeaderMap,
    base: BaseUrl,
    params: Params,
) -> Result<Response, ApiError> {
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
        return Ok((vary, Redirect::to(&base.join("/map"))).into_response());
    }
    let json = Json(json!({
        "title": "gridmap",
        "description": "Grid governance: towns, villages, grids, grid posts and functional alliances on one map.",
        "links": [
            link(base.join("/"), "self", "application/json", "This document"),
            link(base.join("/openapi.json"), "service-desc", super::openapi::MEDIA_TYPE, "The API definition"),
            link(base.join("/conformance"), "conformance", "application/json", "Conformance classes"),
            link(base.join("/collections"), "data", "application/json", "Collections"),
            link(base.join("/map"), "alternate", "text/html", "The one-map web page"),
            // TileJSON, not an OGC API Tiles tileset list: `related`, so no client expects the latter.
            link(base.join("/tiles.json"), "related", "application/json", "Vector tiles (TileJSON 3.0.0)"),
        ],
    }));
    Ok((vary, json).into_response())
}

/// GET /conformance
pub async fn conformance(params: Params) -> Result<Json<Value>, ApiError> {
    params.only(&["f"])?;
    check_format(&params)?;
    Ok(Json(json!({ "conformsTo": CONFORMANCE })))
}

/// GET /collections
///
/// `events` is listed to accounts only (as GeoServer leaves a secured layer out of what an
/// anonymous client is offered): the public could read nothing of it.
pub async fn collections(
    State(state): State<AppState>,
    base: BaseUrl,
    params: Params,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    params.only(&["f"])?;
    check_format(&params)?;
    let snap = state.index.load();
    let events = caller
        .account()
        .map(|_| event_collection::collection_json(&state, &base));
    Ok(Json(json!({
        "links": [link(base.join("/collections"), "self", "application/json", "Collections")],
        "crs": Crs::OGC.map(Crs::uri),
        "collections": snap.layers().into_iter().map(|l| collection_json(&snap, l, &base))
            .chain(events)
            .collect::<Vec<_>>(),
    })))
}

/// GET /collections/{collection_id}
pub async fn collection(
    State(state): State<AppState>,
    Path(collection_id): Path<String>,
    base: BaseUrl,
    params: Params,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    params.only(&["f"])?;
    check_format(&params)?;
    if collection_id == event_collection::ID {
        caller.signed_in("the events collection")?;
        return Ok(Json(event_collection::collection_json(&state, &base)));
    }
    let snap = state.index.load();
    let layer = layer_of(&snap, &collection_id)?;
    Ok(Json(collection_json(&snap, layer, &base)))
}

/// GET /collections/{collection_id}/items?bbox=&bbox-crs=&crs=&datetime=&limit=&offset=&<property>=<value>
pub async fn items(
    State(state): State<AppState>,
    Path(collection_id): Path<String>,
    base: BaseUrl,
    params: Params,
    caller: Caller,
) -> Result<Response, ApiError> {
    if collection_id == event_collection::ID {
        return event_collection::items(&state, &base, &params, &caller);
    }
    let snap = state.index.load();
    let scope = snap.scope(caller.account());
    let layer = layer_of(&snap, &collection_id)?;
    let properties = public_properties(layer.def());
    let names: Vec<&str> = properties.iter().map(|p| p.name).collect();
    let query = ItemsQuery::read(&params, &names)?;
    let (crs, bbox, when, limit, offset) =
        (query.crs, query.bbox, query.when, query.limit, query.offset);
    let mut filters: Vec<(&str, &str)> = Vec::new();
    for (k, v) in &params.0 {
        if let Some(p) = properties.iter().find(|p| p.name == k) {
            p.check(v)?;
            filters.push((p.name, v.as_str()));
        }
    }
    // Collections without a time property have no time to exclude a feature by: datetime
    // (checked above) leaves them whole, as the collection advertises no temporal extent.
    let time_filter = when.zip(temporal_property(layer.def()));

    let mut positions = snap.in_bbox_any(layer, bbox);
    // A staff layer's features exist only for accounts whose area holds them.
    positions.retain(|&i| scope.sees(&snap, layer, i));
    if !filters.is_empty() || time_filter.is_some() {
        positions.retain(|&i| {
            let f = snap.public_feature_any(layer, i);
            let props = f.properties.as_ref();
            let value = |k: &str| props.and_then(|p| p.get(k)).unwrap_or(&Value::Null);
            filters
                .iter()
                .all(|(k, v)| super::queryables::matches(value(k), v))
                && time_filter.is_none_or(|(span, field)| {
                    value(field)
                        .as_str()
                        .and_then(TimeSpan::of_date)
                        .is_some_and(|day| day.intersects(&span))
                })
        });
    }
    let matched = positions.len();
    let mut personal = Vec::new();
    let page: Vec<Value> = positions
        .iter()
        .skip(offset)
        .take(limit)
        .map(|&i| {
            let (f, carried) = feature_in(&snap, &scope, layer, i, crs);
            if carried {
                personal.push(key_of(&snap, layer, i));
            }
            f
        })
        .collect();
    caller.audit_read(&state, layer.name(), personal);

    Ok(query.page(&params, &base, layer.name(), page, matched))
}

/// GET /collections/{collection_id}/items/{feature_id}
pub async fn item(
    State(state): State<AppState>,
    Path((collection_id, feature_id)): Path<(String, String)>,
    base: BaseUrl,
    params: Params,
    caller: Caller,
) -> Result<Response, ApiError> {
    if collection_id == event_collection::ID {
        return event_collection::item(&state, &base, &params, &caller, &feature_id);
    }
    let snap = state.index.load();
    let scope = snap.scope(caller.account());
    let layer = layer_of(&snap, &collection_id)?;
    params.only(&["f", "crs"])?;
    check_format(&params)?;
    let crs = crs_param(&params, "crs", Crs::Crs84)?;
    let key = if layer.def().keyed_by_id() {
        format!("numeric {}", layer.def().key)
    } else {
        layer.def().key.to_string()
    };
    let i = snap
        .find_any(layer, &feature_id)
        .filter(|&i| scope.sees(&snap, layer, i))
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "{} has no feature '{feature_id}' (features are keyed by {key})",
                layer.name()
            ))
        })?;
    let (mut feature, carried) = feature_in(&snap, &scope, layer, i, crs);
    if carried {
        caller.audit_read(&state, layer.name(), vec![feature_id.clone()]);
    }
    feature["links"] = json!([
        link(
            item_url(&base, layer, &feature_id),
            "self",
            GEOJSON,
            "This feature"
        ),
        link(
            base.join(&format!("/collections/{}", layer.name())),
            "collection",
            "application/json",
            "The collection"
        ),
    ]);
    let mut response = geojson_response(feature, crs);
    // The version to send back in If-Match, to those who see the whole feature (a hash of every
    // field must not let the public test guesses of a phone number).
    if scope.view(&snap, layer, i) == View::Full
        && let Ok(tag) = HeaderValue::from_str(&super::write_rules::etag_in_crs(
            &super::write_rules::etag_at(snap.dataset(), layer, i),
            crs,
        ))
    {
        response.headers_mut().insert(header::ETAG, tag);
    }
    Ok(response)
}

/// The absolute URL of one feature (its `self` link, a write's `Location`).
pub(super) fn item_url(base: &BaseUrl, layer: impl std::fmt::Display, feature_id: &str) -> String {
    base.join(&format!("/collections/{layer}/items/{feature_id}"))
}
