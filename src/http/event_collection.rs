//! Events as an OGC API Features collection, `events`: read-only, for accounts (the public gets
//! 401 for it, its items and its queryables), each seeing the events its area holds as on `/events`, so QGIS or GDAL can draw and
//! filter them. Items take the Core parameters (`bbox` with `bbox-crs`, `crs`, `datetime` on the
//! report time, `limit`, `offset`) and `status`, `category`, `code`, `overdue` as queryables.
//! Reports and steps go through `/events`, never through the collection.

use axum::response::Response;
use serde_json::{Value, json};

use super::auth::Caller;
use super::base_url::BaseUrl;
use super::crs::{crs_param, write_geometry};
use super::error::ApiError;
use super::event_cases::{audit_reporters, case_json, sees, view_of, visible};
use super::event_filter::filter_with;
use super::features::{ItemsQuery, check_format, geojson_response, link};
use super::params::Params;
use super::{AppState, GEOJSON};
use crate::events::Status;
use crate::geodesy::{CRS84, Crs};
use crate::model::Layer;

/// The collection's id.
pub const ID: &str = "events";

const TITLE: &str = "Events (事件)";

/// The refusal of a write through the collection.
pub fn read_only() -> ApiError {
    ApiError::ReadOnly(
        "the events collection is read-only: report with POST /events and take a step with POST /events/{id}/transitions".into(),
    )
}

/// The collection's description, extent the county's (as for every staff layer).
pub fn collection_json(state: &AppState, base: &BaseUrl) -> Value {
    let snap = state.index.load();
    let bbox = snap
        .extent(Layer::Towns)
        .map(|b| vec![b.min_lon, b.min_lat, b.max_lon, b.max_lat])
        .unwrap_or_else(|| vec![-180.0, -90.0, 180.0, 90.0]);
    json!({
        "id": ID, "title": TITLE,
        "description": "Problems reported at a place and followed until closed and evaluated: read-only, for accounts, each seeing its area's. Report and take steps through /events.",
        "itemType": "feature",
        "extent": {"spatial": {"bbox": [bbox], "crs": CRS84}},
        "crs": Crs::OGC.map(Crs::uri), "storageCrs": CRS84,
        "links": [
            link(base.join(&format!("/collections/{ID}")), "self", "application/json", TITLE),
            link(base.join(&format!("/collections/{ID}/items")), "items", GEOJSON, "Items as GeoJSON"),
            link(base.join(&format!("/collections/{ID}/queryables")), super::features::REL_QUERYABLES, "application/schema+json", "What can be filtered on"),
        ],
    })
}

/// `GET /collections/events/queryables`.
pub fn queryables(state: &AppState, base: &BaseUrl) -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": base.join(&format!("/collections/{ID}/queryables")),
        "type": "object",
        "title": TITLE,
        "properties": {
            "geometry": {"title": "geometry", "format": "geometry-point", "x-ogc-role": "primary-geometry"},
            "status": {"title": "status", "type": "string", "enum": Status::ALL.map(Status::name)},
            "category": {"title": "category", "type": "string", "enum": state.events.categories().all().iter().map(|c| c.id.as_str()).collect::<Vec<_>>()},
            "code": {"title": "code", "type": "string", "description": "A town, village or grid code: its events"},
            "overdue": {"title": "overdue", "type": "boolean"},
        },
        "additionalProperties": false,
    })
}

fn time_bound(s: i64) -> Option<i64> {
    (s != i64::MIN && s != i64::MAX).then(|| s.saturating_mul(1000))
}

/// `GET /collections/events/items`.
pub fn items(
    state: &AppState,
    base: &BaseUrl,
    params: &Params,
    caller: &Caller,
) -> Result<Response, ApiError> {
    let account = caller.signed_in("the events collection")?;
    let query = ItemsQuery::read(params, &["status", "category", "code", "overdue"])?;
    let filter = filter_with(
        params,
        state,
        query.bbox,
        query.when.and_then(|w| time_bound(w.start_s)),
        query.when.and_then(|w| time_bound(w.end_s)),
    )?;
    let snap = state.index.load();
    let scope = snap.scope(Some(account));
    let view = view_of(&scope);
    let now_ms = state.events.now_ms();
    let book = state.events.book();
    let matched = book.query(&filter, now_ms, |c| sees(&snap, &scope, c));
    let shown: Vec<_> = matched
        .iter()
        .skip(query.offset)
        .take(query.limit)
        .copied()
        .collect();
    let page: Vec<Value> = shown
        .iter()
        .map(|c| {
            let mut f = case_json(&snap, &scope, c, view, now_ms, false);
            write_geometry(query.crs, &mut f["geometry"]);
            f
        })
        .collect();
    audit_reporters(caller, state, view, shown.into_iter());
    Ok(private(query.page(params, base, ID, page, matched.len())))
}

/// Events are for the account that asked: never kept by a shared cache.
fn private(mut response: Response) -> Response {
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("private, no-store"),
    );
    response
}

/// `GET /collections/events/items/{id}`: the event with its history.
pub fn item(
    state: &AppState,
    base: &BaseUrl,
    params: &Params,
    caller: &Caller,
    feature_id: &str,
) -> Result<Response, ApiError> {
    let account = caller.signed_in("the events collection")?;
    params.only(&["f", "crs"])?;
    check_format(params)?;
    let crs = crs_param(params, "crs", Crs::Crs84)?;
    let missing = || {
        ApiError::NotFound(format!(
            "events has no feature '{feature_id}' in the area of account '{}' (features are keyed by numeric id)",
            account.name
        ))
    };
    let id: u64 = feature_id.parse().map_err(|_| missing())?;
    let snap = state.index.load();
    let scope = snap.scope(Some(account));
    let book = state.events.book();
    let case = visible(&book, &snap, &scope, id)?;
    let view = view_of(&scope);
    let mut f = case_json(&snap, &scope, case, view, state.events.now_ms(), true);
    write_geometry(crs, &mut f["geometry"]);
    f["links"] = json!([
        link(
            base.join(&format!("/collections/{ID}/items/{id}")),
            "self",
            GEOJSON,
            "This feature"
        ),
        link(
            base.join(&format!("/events/{id}")),
            "alternate",
            GEOJSON,
            "The event, with its photos"
        ),
        link(
            base.join(&format!("/collections/{ID}")),
            "collection",
            "application/json",
            "The collection"
        ),
    ]);
    audit_reporters(caller, state, view, std::iter::once(case));
    Ok(private(geojson_response(f, crs)))
}
