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
use serde_json::{Map, Value, json};

use super::AppState;
use super::auth::Caller;
use super::base_url::BaseUrl;
use super::error::ApiError;
use super::event_photos::{photo_json, photos_of};
use super::params::Params;
use super::write_rules::body_bytes;
use crate::access::{Account, Role, Token, TokenHash, View, mask};
use crate::desk::{DeskError, Request};
use crate::events::intake::{Report, intake, text_field};
use crate::events::lifecycle::{Ask, Capacity, Refusal, level_name, offered};
use crate::events::{Action, Case, Filter, Source, Status, Step};
use crate::geodesy::Crs;
use crate::index::Snapshot;
use crate::index::access::Scope;
use crate::model::date::{parse_utc, utc_text_ms};
use crate::model::{AnyLayer, Layer};

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

fn json_body<T: serde::de::DeserializeOwned>(
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
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
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
    let crs = match body.crs.as_deref() {
        None => Crs::Wgs84,
        Some(c) => Crs::parse(c).ok_or_else(|| {
            ApiError::field("crs", format!("'{c}' is not supported; use wgs84 or gcj02"))
        })?,
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
    audit_reporters(&caller, &state, view, std::iter::once(case));
    let location = base.join(&format!("/events/{id}"));
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(feature),
    )
        .into_response())
}

/// The view an account gets of an event it sees.
pub fn view_of(scope: &Scope) -> View {
    scope.account().map_or(View::Public, Account::view_inside)
}

/// Whether the caller's area holds the event: its point's unit, its holder, or the unit it was
/// dispatched to.
pub fn sees(snap: &Snapshot, scope: &Scope, case: &Case) -> bool {
    scope.account().is_some()
        && (scope.holds_code(case.event.unit())
            || scope.holds_code(&case.holder)
            || case
                .assignee
                .as_deref()
                .is_some_and(|a| assignee_is(snap, scope, a)))
}

/// The member id of a `member:ID` assignee.
fn member_id(code: &str) -> Option<u64> {
    code.strip_prefix("member:")?.parse().ok()
}

/// Whether the caller is the unit `assignee` names: a grid worker of that grid, staff of that
/// village or town, or the alliance of that member.
fn assignee_is(snap: &Snapshot, scope: &Scope, assignee: &str) -> bool {
    let Some(account) = scope.account() else {
        return false;
    };
    if account.role == Role::Admin {
        return true;
    }
    if let Some(id) = member_id(assignee) {
        return scope.alliance().is_some_and(|alliance| {
            snap.find(Layer::Members, &id.to_string())
                .is_some_and(|i| snap.dataset().members[i].alliance_id == alliance)
        });
    }
    let role = match assignee.len() {
        15 => Role::GridWorker,
        12 => Role::Village,
        9 => Role::Town,
        _ => return false,
    };
    account.role == role && scope.holds_code(assignee)
}

/// The capacities in which the caller acts on `case`.
fn capacity(snap: &Snapshot, scope: &Scope, case: &Case, token: Option<&str>) -> Capacity {
    let holder = scope.account().is_some_and(|a| {
        matches!(
            a.role,
            Role::Admin | Role::City | Role::Town | Role::Village
        ) && scope.holds_code(&case.holder)
    });
    Capacity {
        holder,
        assignee: case
            .assignee
            .as_deref()
            .is_some_and(|a| assignee_is(snap, scope, a)),
        reporter: reporter_holds(case, token),
    }
}

/// Whether `token` is the case's evaluation token (what the reporter got with the 201).
pub fn reporter_holds(case: &Case, token: Option<&str>) -> bool {
    token.is_some_and(|t| {
        case.event
            .evaluation_sha256
            .as_deref()
            .and_then(TokenHash::from_hex)
            .is_some_and(|h| h.same(&TokenHash::of(t)))
    })
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

fn step_json(s: &Step) -> Value {
    json!({
        "n": s.n, "action": s.action.name(), "at": utc_text_ms(s.at_ms), "actor": s.actor,
        "to": s.to, "note": s.note, "rating": s.rating,
    })
}

/// A case as a GeoJSON Feature for `view`: the reporter's name and phone in full for `Full`,
/// masked for `Masked`, absent for `Public`; the grid worker's contact as the access rules
/// give it.
pub fn case_json(
    snap: &Snapshot,
    scope: &Scope,
    case: &Case,
    view: View,
    now_ms: i64,
    history: bool,
) -> Value {
    let e = &case.event;
    let mut p = Map::new();
    p.insert("id".into(), json!(e.id));
    p.insert("status".into(), json!(case.status.name()));
    p.insert("category".into(), json!(e.category));
    p.insert("severity".into(), json!(e.severity.name()));
    p.insert("source".into(), json!(e.source.name()));
    p.insert("text".into(), json!(e.text));
    p.insert("address".into(), json!(e.address));
    p.insert("reported_at".into(), json!(utc_text_ms(e.reported_at_ms)));
    p.insert("deadline".into(), json!(utc_text_ms(e.deadline_ms)));
    p.insert("overdue".into(), json!(case.overdue_at(now_ms)));
    p.insert("town_code".into(), json!(e.town));
    p.insert("village_code".into(), json!(e.village));
    p.insert("grid_code".into(), json!(e.grid));
    p.insert("post_id".into(), json!(e.post));
    p.insert("post_offers_service".into(), json!(e.post_offers_service));
    p.insert("near_boundary".into(), json!(e.near_boundary));
    p.insert("holder".into(), json!(case.holder));
    p.insert("holder_level".into(), json!(level_name(&case.holder)));
    p.insert("assignee".into(), json!(case.assignee));
    p.insert("closed_at".into(), json!(case.closed_ms.map(utc_text_ms)));
    p.insert("on_time".into(), json!(case.on_time()));
    p.insert("rating".into(), json!(case.rating));
    if view != View::Public {
        // The steps this caller may take now (what a worklist offers).
        let actions = offered(case, capacity(snap, scope, case, None));
        p.insert(
            "actions".into(),
            json!(actions.iter().map(|a| a.name()).collect::<Vec<_>>()),
        );
        let r = e.reporter.clone().unwrap_or_default();
        let shown = |v: Option<String>| {
            v.map(|v| match view {
                View::Full => json!(v),
                _ => mask(&json!(v)),
            })
        };
        p.insert("reporter_name".into(), json!(shown(r.name)));
        p.insert("reporter_phone".into(), json!(shown(r.phone)));
    }
    let grid = e.grid.as_deref().and_then(|g| snap.find(Layer::Grids, g));
    if let Some(i) = grid {
        let (extra, _) = snap.fields_beyond_public(scope, AnyLayer::Builtin(Layer::Grids), i);
        let public = snap.feature_as(AnyLayer::Builtin(Layer::Grids), i, View::Public);
        let value = |field: &str| {
            extra
                .get(field)
                .cloned()
                .or_else(|| {
                    public
                        .properties
                        .as_ref()
                        .and_then(|p| p.get(field).cloned())
                })
                .unwrap_or(Value::Null)
        };
        p.insert("worker_name".into(), value("worker_name"));
        p.insert("worker_phone".into(), value("worker_phone"));
    }
    if history {
        p.insert(
            "history".into(),
            Value::Array(case.steps.iter().map(step_json).collect()),
        );
    }
    json!({
        "type": "Feature",
        "id": e.id,
        "geometry": {"type": "Point", "coordinates": [e.lon, e.lat]},
        "properties": p,
    })
}

/// Record that `cases` went out with their reporters in clear.
pub fn audit_reporters<'a>(
    caller: &Caller,
    state: &AppState,
    view: View,
    cases: impl Iterator<Item = &'a Case>,
) {
    if view != View::Full {
        return;
    }
    let keys = cases
        .filter(|c| c.event.reporter.is_some())
        .map(|c| c.event.id.to_string())
        .collect();
    caller.audit_read(state, "events", keys);
}

fn bool_param(params: &Params, name: &str) -> Result<Option<bool>, ApiError> {
    match params.get(name) {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(v) => Err(ApiError::bad(name, format!("'{v}' is not true or false"))),
    }
}

fn time_param(params: &Params, name: &str) -> Result<Option<i64>, ApiError> {
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

fn filter(params: &Params, state: &AppState) -> Result<Filter, ApiError> {
    filter_with(
        params,
        state,
        params.bbox()?,
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

/// `GET /events`: the events the caller's area holds, newest first, paged.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    params: Params,
) -> Result<Response, ApiError> {
    params.only(&[
        "bbox", "status", "category", "code", "overdue", "from", "to", "limit", "offset",
    ])?;
    let account = caller.signed_in("listing events")?;
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
    let body = json!({
        "type": "FeatureCollection",
        "numberMatched": matched.len(),
        "numberReturned": page.len(),
        "features": features,
        "links": links,
    });
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
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let account = caller.signed_in("reading an event")?;
    let id = parse_id(&id)?;
    let (mut body, carried) = {
        let snap = state.index.load();
        let scope = snap.scope(Some(account));
        let book = state.events.book();
        let case = book
            .get(id)
            .filter(|c| sees(&snap, &scope, c))
            .ok_or_else(|| {
                ApiError::NotFound(format!(
                    "no event {id} in the area of account '{}'",
                    account.name
                ))
            })?;
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
