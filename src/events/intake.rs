//! Taking a report in: its fields checked (each refusal names the field and the fix), its point
//! routed (`route`), its deadline set from its severity. Shared by `POST /events` and `gridmap
//! events import`, so a hotline file and the API refuse the same things the same way.

use geo::Point;

use super::model::{Event, Reporter, Source};
use super::{Categories, Severity, route};
use crate::index::Snapshot;
use crate::index::geocode::Precision;

/// The longest text, note or address taken, in characters.
pub const MAX_TEXT_CHARS: usize = 2_000;

/// A report as it arrives, before it is checked.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// WGS84.
    pub at: Option<Point>,
    pub category: String,
    pub severity: String,
    pub source: String,
    pub text: String,
    pub address: Option<String>,
    pub reporter_name: Option<String>,
    pub reporter_phone: Option<String>,
}

/// Why a report is refused: the field and the fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    pub field: &'static str,
    pub message: String,
}

fn refuse(field: &'static str, message: impl Into<String>) -> Refused {
    Refused {
        field,
        message: message.into(),
    }
}

/// Trimmed text of at most `MAX_TEXT_CHARS` characters; `required` refuses an empty one.
pub fn text_field(
    field: &'static str,
    value: Option<String>,
    required: bool,
) -> Result<Option<String>, Refused> {
    let value = value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty());
    match value {
        None if required => Err(refuse(field, "is empty; say what happened")),
        Some(v) if v.chars().count() > MAX_TEXT_CHARS => Err(refuse(
            field,
            format!("is over {MAX_TEXT_CHARS} characters; shorten it"),
        )),
        v => Ok(v),
    }
}

fn reporter(name: Option<String>, phone: Option<String>) -> Result<Option<Reporter>, Refused> {
    let name = name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    if name.as_ref().is_some_and(|n| n.chars().count() > 64) {
        return Err(refuse("reporter.name", "is over 64 characters"));
    }
    if name
        .as_ref()
        .is_some_and(|n| n.chars().any(char::is_control))
    {
        return Err(refuse(
            "reporter.name",
            "holds control characters; send the name as text",
        ));
    }
    let phone = phone
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty());
    if let Some(p) = &phone {
        let digits = p.chars().filter(char::is_ascii_digit).count();
        let allowed = p.chars().all(|c| c.is_ascii_digit() || "+- ()".contains(c));
        if !(3..=20).contains(&digits) || !allowed {
            return Err(refuse(
                "reporter.phone",
                format!(
                    "'{p}' is not a phone number; give digits, as 13812345678 or 0511-86881234"
                ),
            ));
        }
    }
    Ok((name.is_some() || phone.is_some()).then_some(Reporter { name, phone }))
}

/// Where an address without coordinates is: its building, when the geocoder finds one building
/// (or house) for it; else a refusal naming what it could mean.
fn placed(snap: &Snapshot, address: &str) -> Result<Point, Refused> {
    let found = snap.geocoder().geocode(address, 3);
    match found.first() {
        Some(f) if f.precision >= Precision::Building && f.confidence >= 0.9 => Ok(f.at),
        Some(_) => Err(refuse(
            "address",
            format!(
                "'{address}' could mean {}; name the village (or town), the building and entrance, or give lon and lat",
                found
                    .iter()
                    .map(|f| f.address.as_str())
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        )),
        None => Err(refuse(
            "address",
            format!("'{address}' names no compound or hamlet gridmap knows; give lon and lat"),
        )),
    }
}

/// Check `report` and route it on `snap`: the event to store, reported at `at_ms`.
pub fn intake(
    snap: &Snapshot,
    categories: &Categories,
    report: Report,
    at_ms: i64,
) -> Result<Event, Refused> {
    let category = categories.get(&report.category).ok_or_else(|| {
        refuse(
            "category",
            format!(
                "'{}' is not a category; use one of {}",
                report.category,
                categories.ids()
            ),
        )
    })?;
    let severity = Severity::parse(&report.severity).ok_or_else(|| {
        refuse(
            "severity",
            format!(
                "'{}' is not a severity; use red, yellow or blue",
                report.severity
            ),
        )
    })?;
    let source = Source::parse(&report.source).ok_or_else(|| {
        refuse(
            "source",
            format!(
                "'{}' is not a source; use one of {}",
                report.source,
                Source::ALL.map(Source::name).join(", ")
            ),
        )
    })?;
    let text = text_field("text", Some(report.text), true)?.unwrap_or_default();
    let address = text_field("address", report.address, false)?;
    let reporter = reporter(report.reporter_name, report.reporter_phone)?;
    let p = match (report.at, &address) {
        (Some(p), _) => p,
        (None, Some(a)) => placed(snap, a)?,
        (None, None) => {
            return Err(refuse(
                "lon",
                "give the event's position (lon and lat, in degrees) or its address",
            ));
        }
    };
    let (lon, lat) = (p.x(), p.y());
    if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
        return Err(refuse(
            "lon",
            format!(
                "({lon}, {lat}) is not a position; give longitude -180..180 and latitude -90..90, lon first"
            ),
        ));
    }
    let Some(routing) = route(snap, p, category.service) else {
        return Err(refuse(
            "lon",
            format!(
                "({lon}, {lat}) is outside the county: no town holds it; check the position and that lon comes first"
            ),
        ));
    };
    Ok(Event {
        id: 0,
        reported_at_ms: at_ms,
        lon: (lon * 1e7).round() / 1e7,
        lat: (lat * 1e7).round() / 1e7,
        category: category.id.clone(),
        severity,
        source,
        text,
        address,
        reporter,
        town: routing.town.code.clone(),
        village: routing.village.map(|v| v.code.clone()),
        grid: routing.grid.map(|g| g.code.clone()),
        post: routing.post.as_ref().map(|n| n.station.id),
        post_offers_service: routing.post_offers_service,
        near_boundary: routing
            .near_boundary
            .iter()
            .map(|(g, _)| g.code.clone())
            .collect(),
        deadline_ms: at_ms + i64::from(categories.deadline_h(severity)) * 3_600_000,
        evaluation_sha256: None,
    })
}
