//! `GET /events/stream`: server-sent events for the command centre's screen, each new report and
//! step of an event the caller's area holds, as this server learns of it (its own writes at once,
//! other replicas' within the follower's turn, about a second). Each message's `id` is the log's
//! sequence number: a client reconnecting with `Last-Event-ID` first gets what it missed, from
//! the book. No personal data travels here; `GET /events/{id}` has the case in full.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::Stream;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use super::AppState;
use super::auth::Caller;
use super::error::ApiError;
use super::event_cases::sees;
use crate::access::Account;
use crate::events::{Action, Case, Entry, Step};
use crate::model::date::utc_text_ms;

/// A message for one step of `case`.
fn message(case: &Case, step: &Step, now_ms: i64) -> SseEvent {
    let e = &case.event;
    let kind = if step.action == Action::Report {
        "report"
    } else {
        "transition"
    };
    let data = json!({
        "seq": step.seq, "id": e.id, "action": step.action.name(), "at": utc_text_ms(step.at_ms),
        "actor": step.actor, "status": case.status.name(), "category": e.category,
        "severity": e.severity.name(), "lon": e.lon, "lat": e.lat, "grid_code": e.grid,
        "village_code": e.village, "town_code": e.town, "holder": case.holder,
        "assignee": case.assignee, "deadline": utc_text_ms(e.deadline_ms),
        "overdue": case.overdue_at(now_ms),
    });
    SseEvent::default()
        .event(kind)
        .id(step.seq.to_string())
        .data(data.to_string())
}

/// What a subscriber has waiting: missed steps to replay, then the live feed.
struct Feed {
    state: AppState,
    account: Arc<Account>,
    /// The caller's token and address, checked again before each live message: a revoked
    /// account's stream ends, a changed area applies at once.
    token: String,
    address: std::net::IpAddr,
    backlog: VecDeque<SseEvent>,
    last_seq: u64,
    live: tokio::sync::broadcast::Receiver<Arc<Entry>>,
    /// True once the server is stopping: the stream ends (the client reconnects elsewhere).
    stopping: tokio::sync::watch::Receiver<bool>,
}

impl Feed {
    /// The account as the registry knows it now; `None` once its token is refused.
    fn still_signed_in(&mut self) -> bool {
        let now_s = crate::model::date::now_s();
        match self.state.accounts.check(&self.token, self.address, now_s) {
            Ok(account) => {
                self.account = account;
                true
            }
            Err(_) => false,
        }
    }

    /// The message for a live entry the caller may see, if it is newer than what was sent.
    fn visible(&mut self, entry: &Entry) -> Option<SseEvent> {
        if entry.step.seq <= self.last_seq {
            return None;
        }
        self.last_seq = entry.step.seq;
        let snap = self.state.index.load();
        let scope = snap.scope(Some(&self.account));
        let book = self.state.events.book();
        let case = book.get(entry.step.event_id)?;
        sees(&snap, &scope, case).then(|| message(case, &entry.step, self.state.events.now_ms()))
    }
}

/// `GET /events/stream`.
pub async fn stream(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    caller.signed_in("the event stream")?;
    let account = caller.account.clone().expect("signed in");
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(super::auth::bearer)
        .unwrap_or_default()
        .to_string();
    let resume = match headers.get("last-event-id") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or_else(|| {
                    ApiError::bad(
                        "Last-Event-ID",
                        "is not a sequence number; send the id of the last message received",
                    )
                })?,
        ),
    };
    // Subscribe before reading the book, so nothing falls between the two.
    let live = state.events.subscribe();
    let mut backlog = Vec::new();
    let last_seq = {
        let book = state.events.book();
        if let Some(after) = resume {
            let snap = state.index.load();
            let scope = snap.scope(Some(&account));
            let now_ms = state.events.now_ms();
            for case in book.all().filter(|c| sees(&snap, &scope, c)) {
                for step in case.steps.iter().filter(|s| s.seq > after) {
                    backlog.push((step.seq, message(case, step, now_ms)));
                }
            }
        }
        book.last_seq()
    };
    backlog.sort_by_key(|(seq, _)| *seq);
    let stopping = state.stopping.subscribe();
    let feed = Feed {
        stopping,
        state,
        account,
        token,
        address: caller.address,
        backlog: backlog.into_iter().map(|(_, m)| m).collect(),
        last_seq,
        live,
    };
    let stream = futures_util::stream::unfold(feed, |mut feed| async move {
        if let Some(m) = feed.backlog.pop_front() {
            return Some((Ok(m), feed));
        }
        loop {
            let received = tokio::select! {
                received = feed.live.recv() => received,
                _ = feed.stopping.wait_for(|stopping| *stopping) => return None,
            };
            match received {
                Ok(entry) => {
                    if !feed.still_signed_in() {
                        return None;
                    }
                    if let Some(m) = feed.visible(&entry) {
                        return Some((Ok(m), feed));
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    // Too slow a reader: say so; the client reloads the list.
                    let m = SseEvent::default()
                        .event("lagged")
                        .data(json!({"missed": missed}).to_string());
                    return Some((Ok(m), feed));
                }
                Err(RecvError::Closed) => return None,
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
