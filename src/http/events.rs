//! Events over HTTP: `POST /events` (a report, routed at intake), `GET /events` (the caller's
//! area, filtered and paged), `GET /events/{id}` (with its history) and `POST
//! /events/{id}/transitions`; photos are in `event_photos`. Events are staff data: the public may report (source `public`) and
//! evaluate through its link, and sees nothing else. An account sees the events its area holds
//! (by the event's grid, village or town, or as the case's holder or the unit it was dispatched
//! to); one that does not gets 404, as if the event did not exist.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use geo::Point;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::auth::Caller;
use super::base_url::BaseUrl;
use super::crs::write_features;
use super::error::ApiError;
use super::event_cases::{
    audit_reporters, capacity, case_json, member_id, sees, step_json, view_of, visible,
};
use super::event_filter::filter;
use super::event_photos::{photo_json, photos_of};
use super::params::Params;
use super::write_rules::body_bytes;
use crate::access::{Token, View};
use crate::desk::{DeskError, Request};
use crate::events::intake::{Report, intake, text_field};
use crate::events::lifecycle::{Ask, Refusal, level_name};
use crate::events::{Action, Case, Source};
use crate::geodesy::Crs;
use crate::index::Snapshot;
use crate::model::Layer;

/// Most events one page lists.
const MAX_LIMIT: u64 = 1_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportBody {
    lon: Option<f64>,
    lat: Option<f64>,
    crs: Option<String>,
    category: String,
    severity: String,
    source: String,
    text: String,
    address: Option<String>,
    reporter: Option<ReporterBody>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReporterBody {
    name: Option<String>,
    phone: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TransitionBody {
    action: String,
    to: Option<String>,
    note: Option<String>,
    rating: Option<i64>,
    /// The reporter's evaluation token (from the report's answer), instead of an account.
    token: Option<String>,
}

pub(super) fn json_body<T: serde::de::DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
    example: &str,
) -> Result<T, ApiError> {
    let body = body_bytes(body)?;
    serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad("body", format!("{e}; send a JSON object such as {example}")))
}

/// `POST /events`: a report, routed at intake; 201 once stored.
pub async fn report(
    State(state): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    params: Params,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    params.only(&["crs"])?;
    let body: ReportBody = json_body(
        body,
        r#"{"lon": 119.58, "lat": 31.99, "category": "dispute", "severity": "yellow", "source": "public", "text": "…"}"#,
    )?;
    let desk = &state.events;
    if caller.account().is_none() && body.source != Source::Public.name() {
        return Err(ApiError::Unauthorized(format!(
            "a report from source '{}' needs an account; without one, report as source 'public'",
            body.source
        )));
    }
    // The CRS in the body (as a phone app sends it) or in the query, as on every endpoint.
    let crs = match (body.crs.as_deref(), params.get("crs")) {
        (None, _) => params.crs()?,
        (Some(c), query) => {
            let crs = Crs::parse(c).ok_or_else(|| {
                ApiError::field("crs", format!("'{c}' is not offered; use {}", Crs::OFFERED))
            })?;
            if query.is_some_and(|q| Crs::parse(q) != Some(crs)) {
                return Err(ApiError::bad(
                    "crs",
                    "the query and the body name different CRSs; give one",
                ));
            }
            crs
        }
    };
    let at = match (body.lon, body.lat) {
        (Some(lon), Some(lat))
            if (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat) =>
        {
            Some(crs.to_wgs84(Point::new(lon, lat)))
        }
        (Some(lon), Some(lat)) => Some(Point::new(lon, lat)),
        _ => None,
    };
    let reporter = body.reporter.unwrap_or(ReporterBody {
        name: None,
        phone: None,
    });
    let report = Report {
        at,
        category: body.category,
        severity: body.severity,
        source: body.source,
        text: body.text,
        address: body.address,
        reporter_name: reporter.name,
        reporter_phone: reporter.phone,
    };
    let snap = state.index.load();
    let mut event = intake(&snap, desk.categories(), report, desk.now_ms())
        .map_err(|r| ApiError::field(r.field, r.message))?;
    let token = Token::generate().map_err(ApiError::Internal)?;
    event.evaluation_sha256 = Some(token.hash().to_hex());
    let actor = caller
        .account()
        .map_or("public".to_string(), |a| a.name.clone());
    let entry = desk
        .submit(Request::Report(Box::new(event), actor))
        .await
        .map_err(desk_error)?;
    let id = entry.step.event_id;
    let book = desk.book();
    let case = book
        .get(id)
        .ok_or_else(|| ApiError::Internal(format!("event {id} stored but not in the book")))?;
    let scope = snap.scope(caller.account());
    // Staff see the case as their view allows; the public (the reporter too: they know what
    // they sent) sees no personal data.
    let view = if sees(&snap, &scope, case) {
        view_of(&scope)
    } else {
        View::Public
    };
    let mut feature = case_json(&snap, &scope, case, view, desk.now_ms(), false);
    feature["properties"]["evaluation_token"] = json!(token.as_str());
    write_features(crs, &mut feature);
    audit_reporters(&caller, &state, view, std::iter::once(case));
    let location = base.join(&format!("/events/{id}"));
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(feature),
    )
        .into_response())
}

fn desk_error(e: DeskError) -> ApiError {
    match e {
        DeskError::NotFound(id) => ApiError::NotFound(format!("no event {id}")),
        DeskError::Refused(Refusal::State(m)) | DeskError::Conflict(m) => ApiError::Conflict(m),
        DeskError::Refused(Refusal::Role(m)) => ApiError::Forbidden(m),
        DeskError::Refused(Refusal::Field(name, m)) => ApiError::field(name, m),
        DeskError::Busy => ApiError::Busy(
            "too many reports are waiting to be stored; try again in a second".into(),
        ),
        DeskError::Store(e) => ApiError::from(e),
    }
}

/// `GET /events`: the events the caller's area holds, newest first, paged.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    params: Params,
) -> Result<Response, ApiError> {
    params.only(&[
        "bbox", "status", "category", "code", "overdue", "from", "to", "limit", "offset", "crs",
    ])?;
    let account = caller.signed_in("listing events")?;
    let crs = params.crs()?;
    let filter = filter(&params, &state)?;
    let limit = params.int("limit", 1, MAX_LIMIT, 100)? as usize;
    let offset = params.int("offset", 0, u64::MAX, 0)? as usize;
    let snap = state.index.load();
    let scope = snap.scope(Some(account));
    let view = view_of(&scope);
    let now_ms = state.events.now_ms();
    let book = state.events.book();
    let matched = book.query(&filter, now_ms, |c| sees(&snap, &scope, c));
    let page: Vec<&Case> = matched.iter().skip(offset).take(limit).copied().collect();
    let features: Vec<Value> = page
        .iter()
        .map(|c| case_json(&snap, &scope, c, view, now_ms, false))
        .collect();
    audit_reporters(&caller, &state, view, page.iter().copied());
    let url = base.join("/events");
    let mut links = vec![json!({"rel": "self", "type": "application/geo+json",
        "href": params.page_url(&url, limit, offset)})];
    if offset + page.len() < matched.len() {
        links.push(json!({"rel": "next", "type": "application/geo+json",
            "href": params.page_url(&url, limit, offset + limit)}));
    }
    let mut body = json!({
        "type": "FeatureCollection",
        "numberMatched": matched.len(),
        "numberReturned": page.len(),
        "features": features,
        "links": links,
    });
    write_features(crs, &mut body);
    Ok((
        [
            (header::CONTENT_TYPE, "application/geo+json"),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        Json(body),
    )
        .into_response())
}

pub fn parse_id(id: &str) -> Result<u64, ApiError> {
    id.parse()
        .map_err(|_| ApiError::NotFound(format!("no event '{id}': event ids are numbers")))
}

/// `GET /events/{id}`: one event with its history and its photos.
pub async fn one(
    State(state): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    params: Params,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let account = caller.signed_in("reading an event")?;
    params.only(&["crs"])?;
    let crs = params.crs()?;
    let id = parse_id(&id)?;
    let (mut body, carried) = {
        let snap = state.index.load();
        let scope = snap.scope(Some(account));
        let book = state.events.book();
        let case = visible(&book, &snap, &scope, id)?;
        let view = view_of(&scope);
        let carried = view == View::Full && case.event.reporter.is_some();
        (
            case_json(&snap, &scope, case, view, state.events.now_ms(), true),
            carried,
        )
    };
    // The case comes from memory; its photos from the store. A store that cannot answer leaves
    // `photos` null (said in the log), never the case unread.
    body["properties"]["photos"] = match photos_of(&state, id).await {
        Ok(photos) => photos.iter().map(|p| photo_json(&base, p)).collect(),
        Err(e) => {
            tracing::warn!(event = id, error = ?e, "the event's photos could not be read");
            Value::Null
        }
    };
    if carried {
        caller.audit_read(&state, "events", vec![id.to_string()]);
    }
    write_features(crs, &mut body);
    Ok((
        [
            (header::CONTENT_TYPE, "application/geo+json"),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        Json(body),
    )
        .into_response())
}

/// Check a dispatch's `to`: a grid, village or town inside the holder's area, or an alliance
/// member (`member:ID`).
fn check_target(snap: &Snapshot, case: &Case, to: &str) -> Result<(), ApiError> {
    let inside = |code: &str| code.starts_with(case.holder.as_str());
    if let Some(id) = member_id(to) {
        let member = snap
            .find(Layer::Members, &id.to_string())
            .map(|i| &snap.dataset().members[i]);
        return match member {
            None => Err(ApiError::field(
                "to",
                format!("there is no alliance member {id}"),
            )),
            Some(m) if case.holder.len() > 6 && !m.village_code.as_deref().is_some_and(inside) => {
                Err(ApiError::field(
                    "to",
                    format!(
                        "member {id} is not in {} {}, which holds the event",
                        level_name(&case.holder),
                        case.holder
                    ),
                ))
            }
            Some(_) => Ok(()),
        };
    }
    let layer = match to.len() {
        15 => Layer::Grids,
        12 => Layer::Villages,
        9 => Layer::Towns,
        _ => {
            return Err(ApiError::field(
                "to",
                format!(
                    "'{to}' is not a grid (15 digits), village (12) or town (9) code, or member:ID"
                ),
            ));
        }
    };
    if snap.find(layer, to).is_none() {
        return Err(ApiError::field(
            "to",
            format!("there is no {} {to}", level_name(to)),
        ));
    }
    if !inside(to) {
        return Err(ApiError::field(
            "to",
            format!(
                "{to} is outside {} {}, which holds the event: dispatch within it, or escalate",
                level_name(&case.holder),
                case.holder
            ),
        ));
    }
    Ok(())
}

/// `POST /events/{id}/transitions`: take a step in the event's life.
pub async fn transition(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let body: TransitionBody = json_body(body, r#"{"action": "accept"}"#)?;
    let action = Action::parse(&body.action)
        .filter(|a| *a != Action::Report)
        .ok_or_else(|| {
            ApiError::field(
                "action",
                format!(
                    "'{}' is not a step; use one of {}",
                    body.action,
                    Action::transitions()
                        .map(Action::name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
    let rating = body
        .rating
        .map(|r| {
            u8::try_from(r)
                .ok()
                .filter(|r| (1..=5).contains(r))
                .ok_or_else(|| ApiError::field("rating", format!("{r} is not 1 to 5")))
        })
        .transpose()?;
    let note =
        text_field("note", body.note, false).map_err(|r| ApiError::field(r.field, r.message))?;
    let snap = state.index.load();
    let account = caller.account.clone();
    let token = body.token.clone();
    {
        let scope = snap.scope(account.as_deref());
        let book = state.events.book();
        let visible = book.get(id).filter(|c| {
            sees(&snap, &scope, c) || capacity(&snap, &scope, c, token.as_deref()).reporter
        });
        if visible.is_none() {
            return Err(match &account {
                None if token.is_none() => ApiError::Unauthorized(
                    "a step needs an account, or the reporter's evaluation token in \"token\""
                        .into(),
                ),
                _ => ApiError::NotFound(format!("no event {id}")),
            });
        }
    }
    let actor = account
        .as_ref()
        .map_or_else(|| "reporter".to_string(), |a| a.name.clone());
    let snap_for_capacity = snap.clone();
    let target = body.to.clone().filter(|_| action == Action::Dispatch);
    let capacity_of = Box::new(move |case: &Case| {
        // The target is checked on the case as the writer sees it (a return may have moved it).
        if let Some(to) = &target {
            check_target(&snap_for_capacity, case, to).map_err(|e| match e {
                ApiError::Unprocessable { message, .. } => Refusal::Field("to", message),
                other => Refusal::Field("to", format!("{other:?}")),
            })?;
        }
        let scope = snap_for_capacity.scope(account.as_deref());
        Ok(capacity(&snap_for_capacity, &scope, case, token.as_deref()))
    });
    let entry = state
        .events
        .submit(Request::Step {
            event_id: id,
            action,
            ask: Ask {
                to: body.to,
                note,
                rating,
            },
            actor,
            capacity: capacity_of,
        })
        .await
        .map_err(desk_error)?;
    let book = state.events.book();
    let case = book
        .get(id)
        .ok_or_else(|| ApiError::Internal(format!("event {id} left the book")))?;
    let scope = snap.scope(caller.account());
    let view = if sees(&snap, &scope, case) {
        view_of(&scope)
    } else {
        View::Public
    };
    // The reporter (no account) sees where the case stands, not staff's names and notes.
    let staff = view != View::Public;
    let mut body = case_json(&snap, &scope, case, view, state.events.now_ms(), staff);
    if staff {
        body["properties"]["step"] = step_json(&entry.step);
    }
    audit_reporters(&caller, &state, view, std::iter::once(case));
    Ok((StatusCode::OK, Json(body)).into_response())
}
