//! The event log's columns, shared by both backends: the names of enumerations as stored, read
//! back strictly (a value another tool wrote that gridmap does not know is an unreadable row,
//! named, never a guess).

use crate::events::photos::MediaType;
use crate::events::{Action, Severity, Source};

/// The columns of `gridmap_events` after `id`, in the order both backends write and read them.
pub const EVENT_COLUMNS: &str = "reported_at_ms, lon, lat, category, severity, source, text, address, \
     reporter_name, reporter_phone, town_code, village_code, grid_code, post_id, \
     post_offers_service, near_boundary, deadline_ms, evaluation_sha256";

/// The columns of `gridmap_event_steps` after `seq`.
pub const STEP_COLUMNS: &str = "event_id, n, action, at_ms, actor, to_code, note, rating";

fn unknown(what: &str, value: &str, known: &[&str]) -> String {
    format!(
        "an event row holds {what} '{value}', which gridmap does not know (one of {})",
        known.join(", ")
    )
}

pub fn severity(text: &str) -> Result<Severity, String> {
    Severity::parse(text)
        .ok_or_else(|| unknown("severity", text, &Severity::ALL.map(Severity::name)))
}

pub fn source(text: &str) -> Result<Source, String> {
    Source::parse(text).ok_or_else(|| unknown("source", text, &Source::ALL.map(Source::name)))
}

pub fn action(text: &str) -> Result<Action, String> {
    Action::parse(text).ok_or_else(|| unknown("action", text, &Action::ALL.map(Action::name)))
}

pub fn media_type(text: &str) -> Result<MediaType, String> {
    MediaType::parse(text).ok_or_else(|| {
        unknown(
            "photo media type",
            text,
            &MediaType::ALL.map(MediaType::mime),
        )
    })
}
