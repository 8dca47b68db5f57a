//! `POST /impact[?f=json|csv]`: what an emergency touches (`analysis::impact`). The body is a
//! GeoJSON Polygon or MultiPolygon (bare or as a Feature), `{"lon", "lat", "radius_m"}` or
//! `{"risk_zone": KEY}`. Open to everyone like `/coverage`; each grid's responsible worker as the
//! caller may see it (reads of personal data audited).

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::AppState;
use super::auth::Caller;
use super::crs::{lon_lat, read_geometry};
use super::error::ApiError;
use super::events::json_body;
use super::params::Params;
use super::queries::Beyond;
use crate::analysis::impact;
use crate::geodesy::Crs;
use crate::model::{AnyLayer, Layer};

/// `POST /impact`.
pub async fn impact(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    params.only(&["f", "crs"])?;
    let crs = params.crs()?;
    let format = params.get("f").unwrap_or("json");
    if !["json", "csv"].contains(&format) {
        return Err(ApiError::bad(
            "f",
            format!("'{format}' is not offered; use json or csv"),
        ));
    }
    let mut body: Value = json_body(
        body,
        r#"{"lon": 119.606, "lat": 32.0095, "radius_m": 1000}"#,
    )?;
    read_area(crs, &mut body);
    let refused = |r: impact::Refusal| ApiError::field(r.field, r.message);
    let asked = impact::read(&body).map_err(refused)?;
    let snap = state.index.load();
    let scope = snap.scope(caller.account());
    let area =
        impact::resolve(&snap, asked, |layer, i| scope.sees(&snap, layer, i)).map_err(refused)?;
    let assessed = {
        let (snap, account) = (snap.clone(), caller.account().cloned());
        super::request_id::blocking(move || {
            let scope = snap.scope(account.as_ref());
            impact::assess(&snap, &area, |layer, i| scope.sees(&snap, layer, i))
        })
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
    };
    let Some(assessed) = assessed else {
        return Err(ApiError::field(
            "geometry",
            "the area meets no grid of the county; give an area within it",
        ));
    };
    if format == "csv" {
        return Ok((
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            impact::csv(&snap, &assessed),
        )
            .into_response());
    }
    let mut beyond = Beyond::new(&snap, &scope);
    let grids = AnyLayer::Builtin(Layer::Grids);
    let mut answer = impact::json(&snap, &assessed, |code| {
        match beyond.add(Value::Object(Default::default()), grids, code) {
            Value::Object(o) => o,
            _ => Default::default(),
        }
    });
    beyond.audit(&caller, &state);
    write_shelters(crs, &mut answer);
    let private = if caller.account().is_some() {
        "private, no-store"
    } else {
        "no-store"
    };
    Ok(([(header::CACHE_CONTROL, private)], axum::Json(answer)).into_response())
}

/// The area a request gives in `crs` (a GeoJSON geometry or Feature, or `lon` and `lat` with
/// a radius), as WGS84, in place. What is not an area is left for `impact::read` to refuse.
fn read_area(crs: Crs, body: &mut Value) {
    if !(crs.shifts() || crs.lat_first()) {
        return;
    }
    match body.get("type").and_then(Value::as_str) {
        Some("Feature") => read_geometry(crs, &mut body["geometry"]),
        Some(_) => read_geometry(crs, body),
        None => {
            let (Some(lon), Some(lat)) = (body["lon"].as_f64(), body["lat"].as_f64()) else {
                return;
            };
            if (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat) {
                let p = crs.to_wgs84(geo::Point::new(lon, lat));
                body["lon"] = p.x().into();
                body["lat"] = p.y().into();
            }
        }
    }
}

/// The nearest shelters' `lon` and `lat` in `crs`.
fn write_shelters(crs: Crs, answer: &mut Value) {
    let Some(nearest) = answer["shelters"]["nearest"].as_array_mut() else {
        return;
    };
    for s in nearest {
        if let (Some(lon), Some(lat)) = (s["lon"].as_f64(), s["lat"].as_f64()) {
            let [lon, lat] = lon_lat(crs, geo::Point::new(lon, lat));
            s["lon"] = lon.into();
            s["lat"] = lat.into();
        }
    }
}
