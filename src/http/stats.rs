//! `GET /stats?level=&metrics=&from=&to=&f=json|csv|geojson`: statistics by unit
//! (`analysis::stats`) for accounts, each getting the units of its area (city roles all); the
//! public gets 401. `GET /stats/trend` gives the event metrics per period (`analysis::trend`). `f=geojson` carries each unit's outline for a choropleth; every format
//! carries the same numbers as `gridmap stats`.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::auth::Caller;
use super::crs::write_features;
use super::error::ApiError;
use super::event_filter::time_param;
use super::params::Params;
use super::{AppState, GEOJSON};
use crate::access::Account;
use crate::analysis::stats::{self, Level, RADII_M, Unit};
use crate::analysis::trend::{self, Interval, Series};
use crate::index::Snapshot;
use crate::model::{AnyLayer, Layer};

/// Whether the account's area holds a unit of `level`, by the same rule as its features (an
/// alliance holds its members' villages, not the grids inside them); the city to city roles.
fn held<'a, U: HasCode>(
    snap: &'a Snapshot,
    account: &'a Account,
    level: Level,
) -> impl Fn(&U) -> bool + 'a {
    let scope = snap.scope(Some(account));
    let layer = match level {
        Level::City => None,
        Level::Town => Some(Layer::Towns),
        Level::Village => Some(Layer::Villages),
        Level::Grid => Some(Layer::Grids),
    };
    move |unit: &U| match layer {
        None => account.role.everywhere(),
        Some(l) => snap
            .find(l, unit.code())
            .is_some_and(|i| scope.holds(snap, AnyLayer::Builtin(l), i)),
    }
}

/// Units and series alike have a code.
trait HasCode {
    fn code(&self) -> &str;
}

impl HasCode for Unit {
    fn code(&self) -> &str {
        &self.code
    }
}

impl HasCode for Series {
    fn code(&self) -> &str {
        &self.code
    }
}

fn nothing_held(account: &Account, level: Level) -> ApiError {
    ApiError::Forbidden(format!(
        "no {} lies within the area of account '{}'; ask for a level inside it",
        level.name(),
        account.name
    ))
}

/// The event categories' ids, for the per-category metrics.
fn category_ids(state: &AppState) -> Vec<String> {
    state
        .events
        .categories()
        .all()
        .iter()
        .map(|c| c.id.clone())
        .collect()
}

/// `GET /stats`.
pub async fn stats(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<Response, ApiError> {
    let account = caller.signed_in("statistics")?;
    params.only(&["level", "metrics", "from", "to", "f", "crs"])?;
    let crs = params.crs()?;
    let ids = category_ids(&state);
    let categories: Vec<&str> = ids.iter().map(String::as_str).collect();
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
    let units: Vec<Unit> = super::request_id::blocking(move || {
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
    let units: Vec<Unit> = units
        .into_iter()
        .filter(held(&snap, account, level))
        .collect();
    if units.is_empty() {
        return Err(nothing_held(account, level));
    }
    Ok(match format {
        "csv" => private(CSV, stats::csv(&units, &metrics)),
        "geojson" => {
            let mut doc = stats::geojson(&units, &metrics, level, snap.dataset());
            write_features(crs, &mut doc);
            private(GEOJSON, axum::Json(doc))
        }
        _ => private(JSON, axum::Json(stats::json(&units, &metrics, level))),
    })
}

const CSV: &str = "text/csv; charset=utf-8";
const JSON: &str = "application/json";

/// An answer for the caller alone: statistics of an account's area are never cached on the way.
fn private(content_type: &'static str, body: impl IntoResponse) -> Response {
    (
        [
            (header::CACHE_CONTROL, "private, no-store"),
            (header::CONTENT_TYPE, content_type),
        ],
        body,
    )
        .into_response()
}

/// A trend's `from` or `to`: a date is midnight in China Standard Time (`trend::read_time`).
fn trend_time(params: &Params, name: &str) -> Result<Option<i64>, ApiError> {
    params
        .get(name)
        .map(|v| {
            trend::read_time(v).ok_or_else(|| {
                ApiError::bad(
                    name,
                    format!("'{v}' is not a date or time; give 2026-12-01 (China time) or 2026-12-01T08:30:00Z"),
                )
            })
        })
        .transpose()
}

/// `GET /stats/trend`: the event metrics of each unit of the account's area per day, week or
/// month (China Standard Time), and their total over those units.
pub async fn trend(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<Response, ApiError> {
    let account = caller.signed_in("statistics")?;
    params.only(&["level", "metrics", "interval", "from", "to", "f"])?;
    let ids = category_ids(&state);
    let categories: Vec<&str> = ids.iter().map(String::as_str).collect();
    let level = stats::level(params.get("level")).map_err(|m| ApiError::bad("level", m))?;
    let metrics = trend::metrics(params.get("metrics"), &categories)
        .map_err(|m| ApiError::bad("metrics", m))?;
    let interval =
        Interval::parse(params.get("interval")).map_err(|m| ApiError::bad("interval", m))?;
    let format = params.get("f").unwrap_or("json");
    if !["json", "csv"].contains(&format) {
        return Err(ApiError::bad(
            "f",
            format!("'{format}' is not offered; use json or csv"),
        ));
    }
    let (from, to) = (trend_time(&params, "from")?, trend_time(&params, "to")?);
    let snap = state.index.load();
    let s = state.clone();
    let snap_for_tally = snap.clone();
    let (series, periods) = super::request_id::blocking(move || {
        let book = s.events.book();
        let periods = trend::plan(&book, interval, from, to, s.events.now_ms())
            .map_err(|r| ApiError::bad(r.field, r.message))?;
        let series = trend::tally(
            snap_for_tally.dataset(),
            &book,
            &periods,
            s.events.now_ms(),
            level,
        );
        Ok::<_, ApiError>((series, periods))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??;
    let series: Vec<Series> = series
        .into_iter()
        .filter(held(&snap, account, level))
        .collect();
    if series.is_empty() {
        return Err(nothing_held(account, level));
    }
    Ok(match format {
        "csv" => private(CSV, trend::csv(&series, &metrics, &periods)),
        _ => private(
            JSON,
            axum::Json(trend::json(&series, &metrics, level, interval, &periods)),
        ),
    })
}
