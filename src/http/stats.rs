//! `GET /stats?level=&metrics=&from=&to=&f=json|csv|geojson`: statistics by unit
//! (`analysis::stats`) for accounts, each getting the units of its area (city roles all); the
//! public gets 401. `f=geojson` carries each unit's outline for a choropleth; every format
//! carries the same numbers as `gridmap stats`.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::auth::Caller;
use super::error::ApiError;
use super::event_filter::time_param;
use super::params::Params;
use super::{AppState, GEOJSON};
use crate::analysis::stats::{self, Level, RADII_M, Unit};
use crate::model::{AnyLayer, Layer};

/// `GET /stats`.
pub async fn stats(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<Response, ApiError> {
    let account = caller.signed_in("statistics")?;
    params.only(&["level", "metrics", "from", "to", "f"])?;
    let categories: Vec<&str> = state
        .events
        .categories()
        .all()
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    let level = stats::level(params.get("level")).map_err(|m| ApiError::bad("level", m))?;
    let metrics = stats::metrics(params.get("metrics"), &categories)
        .map_err(|m| ApiError::bad("metrics", m))?;
    let format = params.get("f").unwrap_or("json");
    if !["json", "csv", "geojson"].contains(&format) {
        return Err(ApiError::bad(
            "f",
            format!("'{format}' is not offered; use json, csv or geojson"),
        ));
    }
    let span = (
        time_param(&params, "from")?.unwrap_or(i64::MIN),
        time_param(&params, "to")?.unwrap_or(i64::MAX),
    );
    let snap = state.index.load();
    let s = state.clone();
    let snap_for_tally = snap.clone();
    // Coverage maps are computed once per snapshot (the coverage endpoints share them).
    let units: Vec<Unit> = tokio::task::spawn_blocking(move || {
        let maps = RADII_M.map(|r| s.coverage.get(&snap_for_tally, r, None));
        let book = s.events.book();
        stats::tally(
            snap_for_tally.dataset(),
            [&maps[0], &maps[1], &maps[2]],
            &book,
            span,
            s.events.now_ms(),
            level,
        )
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    // The units the account's area holds, by the same rule as its features (an alliance holds
    // its members' villages, not the grids inside them); the city row to city roles.
    let scope = snap.scope(Some(account));
    let layer = match level {
        Level::City => None,
        Level::Town => Some(Layer::Towns),
        Level::Village => Some(Layer::Villages),
        Level::Grid => Some(Layer::Grids),
    };
    let holds = |code: &str| match layer {
        None => account.role.everywhere(),
        Some(l) => snap
            .find(l, code)
            .is_some_and(|i| scope.holds(&snap, AnyLayer::Builtin(l), i)),
    };
    let units: Vec<Unit> = units.into_iter().filter(|u| holds(&u.code)).collect();
    if units.is_empty() {
        return Err(ApiError::Forbidden(format!(
            "no {} lies within the area of account '{}'; ask for a level inside it",
            level.name(),
            account.name
        )));
    }
    let private = [(header::CACHE_CONTROL, "private, no-store")];
    match format {
        "csv" => Ok((
            private,
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            stats::csv(&units, &metrics),
        )
            .into_response()),
        "geojson" => Ok((
            private,
            [(header::CONTENT_TYPE, GEOJSON)],
            axum::Json(stats::geojson(&units, &metrics, level, snap.dataset())),
        )
            .into_response()),
        _ => Ok((private, axum::Json(stats::json(&units, &metrics, level))).into_response()),
    }
}
