//! Photos of events: `POST /events/{id}/photos` (the bytes of one JPEG, PNG or WebP as the body,
//! recognised by their bytes; at most 5 MiB, 9 per event) and `GET /events/{id}/photos/{n}`.
//! Staff who see the event add and read them; the reporter adds them with the report's
//! evaluation token in the `Report-Token` header (and reads nothing back, as for the event).
//! Photos are taken until the case is closed.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::AppState;
use super::auth::Caller;
use super::base_url::BaseUrl;
use super::error::ApiError;
use super::event_cases::{reporter_holds, sees, visible};
use super::events::parse_id;
use crate::events::Status;
use crate::events::photos::{MAX_PHOTO_BYTES, Photo, sha256_hex, sniff};
use crate::model::date::utc_text_ms;

/// The header that carries the reporter's evaluation token.
pub const REPORT_TOKEN: &str = "report-token";

/// A photo's description, as `GET /events/{id}` lists it.
pub fn photo_json(base: &BaseUrl, p: &Photo) -> Value {
    json!({
        "n": p.n,
        "type": p.media_type.mime(),
        "size_bytes": p.size_bytes,
        "width_px": p.width_px,
        "height_px": p.height_px,
        "at": utc_text_ms(p.at_ms),
        "actor": p.actor,
        "href": base.join(&format!("/events/{}/photos/{}", p.event_id, p.n)),
    })
}

/// The photos of an event, read from the store off the async threads.
pub async fn photos_of(state: &AppState, event_id: u64) -> Result<Vec<Photo>, ApiError> {
    let store = state.store.clone();
    super::request_id::blocking(move || store.photos(event_id))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(ApiError::from)
}

/// `POST /events/{id}/photos`: add one photo; 201 with its description.
pub async fn add(
    State(state): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let token = headers
        .get(REPORT_TOKEN)
        .map(|v| v.to_str().unwrap_or_default().to_string());
    if caller.account().is_none() && token.is_none() {
        return Err(ApiError::Unauthorized(format!(
            "adding a photo needs an account, or the reporter's evaluation token in a {REPORT_TOKEN} header"
        )));
    }
    {
        let snap = state.index.load();
        let scope = snap.scope(caller.account());
        let book = state.events.book();
        let case = book
            .get(id)
            .filter(|c| sees(&snap, &scope, c) || reporter_holds(c, token.as_deref()))
            .ok_or_else(|| ApiError::NotFound(format!("no event {id}")))?;
        if matches!(case.status, Status::Closed | Status::Evaluated) {
            return Err(ApiError::Conflict(format!(
                "event {id} is {}; photos are taken until it is closed",
                case.status.name()
            )));
        }
    }
    // Read only now that the caller may add it, and never past the limit.
    let bytes = axum::body::to_bytes(body, MAX_PHOTO_BYTES)
        .await
        .map_err(|e| {
            if std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
            {
                ApiError::TooLarge(format!(
                    "the photo is over {MAX_PHOTO_BYTES} bytes (5 MiB); send it smaller (resize or recompress it)"
                ))
            } else {
                ApiError::bad("body", format!("the body could not be read: {e}"))
            }
        })?;
    let (media_type, width_px, height_px) =
        sniff(&bytes).map_err(|r| ApiError::field("photo", r.to_string()))?;
    let photo = Photo {
        event_id: id,
        n: 0,
        media_type,
        size_bytes: bytes.len() as u64,
        width_px,
        height_px,
        at_ms: state.events.now_ms(),
        actor: caller
            .account()
            .map_or_else(|| "reporter".to_string(), |a| a.name.clone()),
        sha256: sha256_hex(&bytes),
    };
    let store = state.store.clone();
    let stored = super::request_id::blocking(move || store.add_photo(&photo, &bytes))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    let location = base.join(&format!("/events/{id}/photos/{}", stored.n));
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        axum::Json(photo_json(&base, &stored)),
    )
        .into_response())
}

/// `GET /events/{id}/photos/{n}`: the photo's bytes, to staff who see the event.
pub async fn one(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, n)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let account = caller.signed_in("reading an event's photo")?;
    let id = parse_id(&id)?;
    let missing = || ApiError::NotFound(format!("event {id} has no photo '{n}'"));
    let n: u32 = n.parse().map_err(|_| missing())?;
    {
        let snap = state.index.load();
        let scope = snap.scope(Some(account));
        let book = state.events.book();
        visible(&book, &snap, &scope, id)?;
    }
    let store = state.store.clone();
    let (photo, bytes) = super::request_id::blocking(move || store.photo(id, n))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??
        .ok_or_else(missing)?;
    let etag = format!("\"{}\"", photo.sha256);
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let common = [
        (header::ETAG, etag.clone()),
        // Revalidated each time (a 304 is cheap): a shared browser must not show a photo after
        // its account signed out or lost the area.
        (header::CACHE_CONTROL, "private, no-cache".to_string()),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
    ];
    if fresh {
        return Ok((StatusCode::NOT_MODIFIED, common).into_response());
    }
    Ok((
        common,
        [(header::CONTENT_TYPE, photo.media_type.mime().to_string())],
        Body::from(bytes),
    )
        .into_response())
}
