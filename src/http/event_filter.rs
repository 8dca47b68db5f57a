//! The filter of an events list from its query: `status`, `category`, `code`, `overdue`, and
//! the box and span of report times (`/events` reads `bbox`, `from`, `to`; the OGC collection
//! `bbox` in `bbox-crs` and `datetime`).

use super::AppState;
use super::error::ApiError;
use super::params::Params;
use crate::events::{Filter, Status};
use crate::model::date::parse_utc;

fn bool_param(params: &Params, name: &str) -> Result<Option<bool>, ApiError> {
    match params.get(name) {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(v) => Err(ApiError::bad(name, format!("'{v}' is not true or false"))),
    }
}

pub fn time_param(params: &Params, name: &str) -> Result<Option<i64>, ApiError> {
    params
        .get(name)
        .map(|v| {
            parse_utc(v).map(|s| s * 1000).ok_or_else(|| {
                ApiError::bad(
                    name,
                    format!("'{v}' is not a date or time; give 2026-12-01 or 2026-12-01T08:30:00Z"),
                )
            })
        })
        .transpose()
}

pub fn filter(params: &Params, state: &AppState) -> Result<Filter, ApiError> {
    filter_with(
        params,
        state,
        params.bbox(params.crs()?)?,
        time_param(params, "from")?,
        time_param(params, "to")?,
    )
}

/// The filter of `status`, `category`, `code` and `overdue` in `params`, with a box and a span
/// of report times read by the caller (`/events` and the OGC collection read them differently).
pub fn filter_with(
    params: &Params,
    state: &AppState,
    bbox: Option<crate::model::Bbox>,
    from_ms: Option<i64>,
    to_ms: Option<i64>,
) -> Result<Filter, ApiError> {
    let status = params
        .get("status")
        .map(|list| {
            list.split(',')
                .map(|s| {
                    Status::parse(s.trim()).ok_or_else(|| {
                        ApiError::bad(
                            "status",
                            format!(
                                "'{s}' is not a status; use one or more of {} (comma-separated)",
                                Status::ALL.map(Status::name).join(", ")
                            ),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let category = params.get("category").map(str::to_string);
    if let Some(c) = &category
        && state.events.categories().get(c).is_none()
    {
        return Err(ApiError::bad(
            "category",
            format!(
                "'{c}' is not a category; use one of {}",
                state.events.categories().ids()
            ),
        ));
    }
    let code = params.get("code").map(str::to_string);
    if let Some(c) = &code
        && (![6, 9, 12, 15].contains(&c.len()) || !c.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(ApiError::bad(
            "code",
            format!(
                "'{c}' is not a unit code; give a town (9 digits), village (12) or grid (15) code"
            ),
        ));
    }
    Ok(Filter {
        bbox,
        status,
        category,
        code,
        overdue: bool_param(params, "overdue")?,
        from_ms,
        to_ms,
    })
}
