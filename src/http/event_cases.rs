//! Who sees an event and in which capacities they act on it (`sees`, `capacity`), and how a case
//! reads for them (`case_json`, with the steps it may take as `actions`): shared by `/events`,
//! its photos, the `events` collection, the stream and the event tiles.

use serde_json::{Map, Value, json};

use super::AppState;
use super::auth::Caller;
use super::error::ApiError;
use crate::access::{Account, Role, TokenHash, View, mask};
use crate::events::lifecycle::{Capacity, level_name, offered};
use crate::events::{Book, Case, Step};
use crate::index::Snapshot;
use crate::index::access::Scope;
use crate::model::date::utc_text_ms;
use crate::model::{AnyLayer, Layer};

/// Case `id` if the caller's area holds it; else 404, as if it did not exist.
pub fn visible<'b>(
    book: &'b Book,
    snap: &Snapshot,
    scope: &Scope,
    id: u64,
) -> Result<&'b Case, ApiError> {
    book.get(id)
        .filter(|c| sees(snap, scope, c))
        .ok_or_else(|| {
            ApiError::NotFound(match scope.account() {
                Some(a) => format!("no event {id} in the area of account '{}'", a.name),
                None => format!("no event {id}"),
            })
        })
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
pub fn member_id(code: &str) -> Option<u64> {
    code.strip_prefix("member:")?.parse().ok()
}

/// Whether the caller is the unit `assignee` names: a grid worker of that grid, staff of that
/// village or town, or the alliance of that member.
pub fn assignee_is(snap: &Snapshot, scope: &Scope, assignee: &str) -> bool {
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
pub fn capacity(snap: &Snapshot, scope: &Scope, case: &Case, token: Option<&str>) -> Capacity {
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

pub fn step_json(s: &Step) -> Value {
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
