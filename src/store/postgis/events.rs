//! The event log in PostGIS (migration 0006): `gridmap_events` with a point geometry (QGIS draws
//! it) and `gridmap_event_steps`. A write takes advisory lock 7266707372 first, so sequence
//! numbers become visible in order and "everything after seq N" never skips a late commit.

use postgres::{GenericClient, Row};

use crate::events::{Entry, Event, Reporter, Step};
use crate::store::event_rows::{action, severity, source};

/// Serialises event writes (not map writes, which take 7266707371).
const EVENTS_LOCK: i64 = 7_266_707_372;

/// Why a read failed: the database, or a row gridmap cannot read.
pub enum EventError {
    Db(postgres::Error),
    Row(String),
}

impl From<postgres::Error> for EventError {
    fn from(e: postgres::Error) -> Self {
        EventError::Db(e)
    }
}

/// Append `entries` in the caller's transaction; returns them with ids and sequence numbers.
pub fn append(
    tx: &mut impl GenericClient,
    entries: &[Entry],
) -> Result<Vec<Entry>, postgres::Error> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&EVENTS_LOCK])?;
    let insert_event = tx.prepare(
        "INSERT INTO gridmap_events (reported_at, geom, category, severity, source, text, address,
           reporter_name, reporter_phone, town_code, village_code, grid_code, post_id,
           post_offers_service, near_boundary, deadline, evaluation_sha256)
         VALUES (to_timestamp($1::float8 / 1000), ST_SetSRID(ST_MakePoint($2, $3), 4326), $4, $5,
           $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, to_timestamp($17::float8 / 1000), $18)
         RETURNING id",
    )?;
    let insert_step = tx.prepare(
        "INSERT INTO gridmap_event_steps (event_id, n, action, at, actor, to_code, note, rating)
         VALUES ($1, $2, $3, to_timestamp($4::float8 / 1000), $5, $6, $7, $8)
         RETURNING seq",
    )?;
    let mut stored = Vec::with_capacity(entries.len());
    for entry in entries {
        let mut entry = entry.clone();
        if let Some(e) = entry.event.as_mut() {
            let reporter = e.reporter.clone().unwrap_or_default();
            let row = tx.query_one(
                &insert_event,
                &[
                    &(e.reported_at_ms as f64),
                    &e.lon,
                    &e.lat,
                    &e.category,
                    &e.severity.name(),
                    &e.source.name(),
                    &e.text,
                    &e.address,
                    &reporter.name,
                    &reporter.phone,
                    &e.town,
                    &e.village,
                    &e.grid,
                    &e.post.map(|p| p as i64),
                    &e.post_offers_service,
                    &e.near_boundary,
                    &(e.deadline_ms as f64),
                    &e.evaluation_sha256,
                ],
            )?;
            e.id = row.get::<_, i64>(0) as u64;
            entry.step.event_id = e.id;
            entry.step.n = 0;
        }
        let s = &entry.step;
        let row = tx.query_one(
            &insert_step,
            &[
                &(s.event_id as i64),
                &(s.n as i32),
                &s.action.name(),
                &(s.at_ms as f64),
                &s.actor,
                &s.to,
                &s.note,
                &s.rating.map(i16::from),
            ],
        )?;
        entry.step.seq = row.get::<_, i64>(0) as u64;
        stored.push(entry);
    }
    Ok(stored)
}

fn ms(column: &str) -> String {
    format!("(extract(epoch FROM {column}) * 1000)::bigint")
}

fn step_of(r: &Row) -> Result<Step, EventError> {
    Ok(Step {
        seq: r.get::<_, i64>(0) as u64,
        event_id: r.get::<_, i64>(1) as u64,
        n: r.get::<_, i32>(2) as u32,
        action: action(r.get(3)).map_err(EventError::Row)?,
        at_ms: r.get(4),
        actor: r.get(5),
        to: r.get(6),
        note: r.get(7),
        rating: r.get::<_, Option<i16>>(8).map(|v| v as u8),
    })
}

fn event_of(r: &Row, at: usize) -> Result<Event, EventError> {
    let name: Option<String> = r.get(at + 9);
    let phone: Option<String> = r.get(at + 10);
    Ok(Event {
        id: r.get::<_, i64>(at) as u64,
        reported_at_ms: r.get(at + 1),
        lon: r.get(at + 2),
        lat: r.get(at + 3),
        category: r.get(at + 4),
        severity: severity(r.get(at + 5)).map_err(EventError::Row)?,
        source: source(r.get(at + 6)).map_err(EventError::Row)?,
        text: r.get(at + 7),
        address: r.get(at + 8),
        reporter: (name.is_some() || phone.is_some()).then_some(Reporter { name, phone }),
        town: r.get(at + 11),
        village: r.get(at + 12),
        grid: r.get(at + 13),
        post: r.get::<_, Option<i64>>(at + 14).map(|p| p as u64),
        post_offers_service: r.get(at + 15),
        near_boundary: r.get(at + 16),
        deadline_ms: r.get(at + 17),
        evaluation_sha256: r.get(at + 18),
    })
}

/// The entries after `after_seq`, at most `limit`, in sequence order.
pub fn since(
    client: &mut impl GenericClient,
    after_seq: u64,
    limit: usize,
) -> Result<Vec<Entry>, EventError> {
    let sql = format!(
        "SELECT s.seq, s.event_id, s.n, s.action, {}, s.actor, s.to_code, s.note, s.rating,
           e.id, {}, ST_X(e.geom), ST_Y(e.geom), e.category, e.severity, e.source, e.text,
           e.address, e.reporter_name, e.reporter_phone, e.town_code, e.village_code,
           e.grid_code, e.post_id, e.post_offers_service, e.near_boundary, {},
           e.evaluation_sha256
         FROM gridmap_event_steps s
         LEFT JOIN gridmap_events e ON s.n = 0 AND e.id = s.event_id
         WHERE s.seq > $1 ORDER BY s.seq LIMIT $2",
        ms("s.at"),
        ms("e.reported_at"),
        ms("e.deadline")
    );
    let rows = client.query(&sql, &[&(after_seq as i64), &(limit as i64)])?;
    rows.iter()
        .map(|r| {
            let step = step_of(r)?;
            let event = match r.get::<_, Option<i64>>(9) {
                Some(_) => Some(event_of(r, 9)?),
                None => None,
            };
            Ok(Entry { step, event })
        })
        .collect()
}
