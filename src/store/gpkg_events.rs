//! The event log in the GeoPackage: `gridmap_events` (what was reported and where it went, one row
//! per event), `gridmap_event_steps` (every step, the report included, numbered per event and in
//! one sequence over all events) and `gridmap_event_photos`, made on the first write. All three
//! are append-only by trigger;
//! `UNIQUE (event_id, n)` lets only one of two writers take a case's next step. Times are Unix
//! milliseconds, lists comma-separated text.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::PhotoRefusal;
use super::event_rows::{EVENT_COLUMNS, STEP_COLUMNS, action, media_type, severity, source};
use crate::events::photos::{MAX_PHOTOS, Photo};
use crate::events::{Entry, Event, Reporter, Step};

/// The columns of `gridmap_event_photos` between `n` and `bytes`.
const PHOTO_COLUMNS: &str = "media_type, width_px, height_px, at_ms, actor, sha256";

/// Make the tables when missing.
pub fn ensure(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS gridmap_events (
           id INTEGER PRIMARY KEY AUTOINCREMENT,
           reported_at_ms INTEGER NOT NULL,
           lon REAL NOT NULL CHECK (lon BETWEEN -180 AND 180),
           lat REAL NOT NULL CHECK (lat BETWEEN -90 AND 90),
           category TEXT NOT NULL,
           severity TEXT NOT NULL CHECK (severity IN ('red', 'yellow', 'blue')),
           source TEXT NOT NULL CHECK (source IN ('grid_worker', 'hotline', 'public', 'sensor')),
           text TEXT NOT NULL,
           address TEXT,
           reporter_name TEXT,
           reporter_phone TEXT,
           town_code TEXT NOT NULL,
           village_code TEXT,
           grid_code TEXT,
           post_id INTEGER,
           post_offers_service INTEGER NOT NULL,
           near_boundary TEXT NOT NULL,
           deadline_ms INTEGER NOT NULL,
           evaluation_sha256 TEXT);
         CREATE TABLE IF NOT EXISTS gridmap_event_steps (
           seq INTEGER PRIMARY KEY AUTOINCREMENT,
           event_id INTEGER NOT NULL REFERENCES gridmap_events (id),
           n INTEGER NOT NULL CHECK (n >= 0),
           action TEXT NOT NULL,
           at_ms INTEGER NOT NULL,
           actor TEXT NOT NULL,
           to_code TEXT,
           note TEXT,
           rating INTEGER CHECK (rating BETWEEN 1 AND 5),
           UNIQUE (event_id, n));
         CREATE TABLE IF NOT EXISTS gridmap_event_photos (
           event_id INTEGER NOT NULL REFERENCES gridmap_events (id),
           n INTEGER NOT NULL CHECK (n BETWEEN 1 AND 9),
           media_type TEXT NOT NULL CHECK (media_type IN ('image/jpeg', 'image/png', 'image/webp')),
           width_px INTEGER NOT NULL CHECK (width_px > 0),
           height_px INTEGER NOT NULL CHECK (height_px > 0),
           at_ms INTEGER NOT NULL,
           actor TEXT NOT NULL,
           sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
           bytes BLOB NOT NULL CHECK (length(bytes) <= 5242880),
           PRIMARY KEY (event_id, n));
         CREATE TRIGGER IF NOT EXISTS gridmap_event_photos_no_update BEFORE UPDATE ON gridmap_event_photos
           BEGIN SELECT RAISE(ABORT, 'gridmap_event_photos is append-only'); END;
         CREATE TRIGGER IF NOT EXISTS gridmap_event_photos_no_delete BEFORE DELETE ON gridmap_event_photos
           BEGIN SELECT RAISE(ABORT, 'gridmap_event_photos is append-only'); END;
         CREATE TRIGGER IF NOT EXISTS gridmap_events_no_update BEFORE UPDATE ON gridmap_events
           BEGIN SELECT RAISE(ABORT, 'gridmap_events is append-only'); END;
         CREATE TRIGGER IF NOT EXISTS gridmap_events_no_delete BEFORE DELETE ON gridmap_events
           BEGIN SELECT RAISE(ABORT, 'gridmap_events is append-only'); END;
         CREATE TRIGGER IF NOT EXISTS gridmap_event_steps_no_update BEFORE UPDATE ON gridmap_event_steps
           BEGIN SELECT RAISE(ABORT, 'gridmap_event_steps is append-only'); END;
         CREATE TRIGGER IF NOT EXISTS gridmap_event_steps_no_delete BEFORE DELETE ON gridmap_event_steps
           BEGIN SELECT RAISE(ABORT, 'gridmap_event_steps is append-only'); END;",
    )
}

fn exists(conn: &Connection, table: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [table],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}

/// Append `entries` (in a transaction the caller commits): a report's event gets its id, every
/// step its sequence number. Returns them as stored.
pub fn append(conn: &Connection, entries: &[Entry]) -> rusqlite::Result<Vec<Entry>> {
    ensure(conn)?;
    let mut insert_event = conn.prepare_cached(&format!(
        "INSERT INTO gridmap_events ({EVENT_COLUMNS})
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"
    ))?;
    let mut insert_step = conn.prepare_cached(&format!(
        "INSERT INTO gridmap_event_steps ({STEP_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
    ))?;
    let mut stored = Vec::with_capacity(entries.len());
    for entry in entries {
        let mut entry = entry.clone();
        if let Some(e) = entry.event.as_mut() {
            let reporter = e.reporter.clone().unwrap_or_default();
            insert_event.execute(params![
                e.reported_at_ms,
                e.lon,
                e.lat,
                e.category,
                e.severity.name(),
                e.source.name(),
                e.text,
                e.address,
                reporter.name,
                reporter.phone,
                e.town,
                e.village,
                e.grid,
                e.post.map(|p| p as i64),
                e.post_offers_service,
                e.near_boundary.join(","),
                e.deadline_ms,
                e.evaluation_sha256,
            ])?;
            e.id = conn.last_insert_rowid() as u64;
            entry.step.event_id = e.id;
            entry.step.n = 0;
        }
        let s = &entry.step;
        insert_step.execute(params![
            s.event_id as i64,
            s.n,
            s.action.name(),
            s.at_ms,
            s.actor,
            s.to,
            s.note,
            s.rating,
        ])?;
        entry.step.seq = conn.last_insert_rowid() as u64;
        stored.push(entry);
    }
    Ok(stored)
}

fn unreadable(text: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, text.into())
}

fn step_of(r: &Row, at: usize) -> rusqlite::Result<Step> {
    Ok(Step {
        seq: r.get::<_, i64>(at)? as u64,
        event_id: r.get::<_, i64>(at + 1)? as u64,
        n: r.get(at + 2)?,
        action: action(&r.get::<_, String>(at + 3)?).map_err(unreadable)?,
        at_ms: r.get(at + 4)?,
        actor: r.get(at + 5)?,
        to: r.get(at + 6)?,
        note: r.get(at + 7)?,
        rating: r.get(at + 8)?,
    })
}

fn event_of(r: &Row, at: usize) -> rusqlite::Result<Event> {
    let name: Option<String> = r.get(at + 9)?;
    let phone: Option<String> = r.get(at + 10)?;
    let near: String = r.get(at + 16)?;
    Ok(Event {
        id: r.get::<_, i64>(at)? as u64,
        reported_at_ms: r.get(at + 1)?,
        lon: r.get(at + 2)?,
        lat: r.get(at + 3)?,
        category: r.get(at + 4)?,
        severity: severity(&r.get::<_, String>(at + 5)?).map_err(unreadable)?,
        source: source(&r.get::<_, String>(at + 6)?).map_err(unreadable)?,
        text: r.get(at + 7)?,
        address: r.get(at + 8)?,
        reporter: (name.is_some() || phone.is_some()).then_some(Reporter { name, phone }),
        town: r.get(at + 11)?,
        village: r.get(at + 12)?,
        grid: r.get(at + 13)?,
        post: r.get::<_, Option<i64>>(at + 14)?.map(|p| p as u64),
        post_offers_service: r.get(at + 15)?,
        near_boundary: near
            .split(',')
            .filter(|g| !g.is_empty())
            .map(str::to_string)
            .collect(),
        deadline_ms: r.get(at + 17)?,
        evaluation_sha256: r.get(at + 18)?,
    })
}

/// The entries after `after_seq`, at most `limit`, in sequence order.
pub fn since(conn: &Connection, after_seq: u64, limit: usize) -> rusqlite::Result<Vec<Entry>> {
    if !exists(conn, "gridmap_event_steps")? {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT s.seq, {STEP_COLUMNS}, e.id, {EVENT_COLUMNS}
         FROM gridmap_event_steps s
         LEFT JOIN gridmap_events e ON s.n = 0 AND e.id = s.event_id
         WHERE s.seq > ?1 ORDER BY s.seq LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![after_seq as i64, limit as i64], |r| {
        let step = step_of(r, 0)?;
        let event = match r.get::<_, Option<i64>>(9)? {
            Some(_) => Some(event_of(r, 9)?),
            None => None,
        };
        Ok(Entry { step, event })
    })?;
    rows.collect()
}

/// Add a photo to event `photo.event_id` (in an immediate transaction the caller commits, so no
/// step or photo commits in between) as its next number, unless the case is closed or holds
/// `MAX_PHOTOS` already.
pub fn add_photo(
    conn: &Connection,
    photo: &Photo,
    bytes: &[u8],
) -> rusqlite::Result<Result<Photo, PhotoRefusal>> {
    ensure(conn)?;
    let last: Option<String> = conn
        .query_row(
            "SELECT action FROM gridmap_event_steps WHERE event_id = ?1 ORDER BY n DESC LIMIT 1",
            [photo.event_id as i64],
            |r| r.get(0),
        )
        .optional()?;
    if last.as_deref().is_some_and(PhotoRefusal::closed_by) {
        return Ok(Err(PhotoRefusal::Closed));
    }
    let held: u32 = conn.query_row(
        "SELECT count(*) FROM gridmap_event_photos WHERE event_id = ?1",
        [photo.event_id as i64],
        |r| r.get(0),
    )?;
    if held >= MAX_PHOTOS {
        return Ok(Err(PhotoRefusal::Full));
    }
    let photo = Photo {
        n: held + 1,
        ..photo.clone()
    };
    conn.prepare_cached(&format!(
        "INSERT INTO gridmap_event_photos (event_id, n, {PHOTO_COLUMNS}, bytes)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
    ))?
    .execute(params![
        photo.event_id as i64,
        photo.n,
        photo.media_type.mime(),
        photo.width_px,
        photo.height_px,
        photo.at_ms,
        photo.actor,
        photo.sha256,
        bytes,
    ])?;
    Ok(Ok(photo))
}

fn photo_of(r: &Row) -> rusqlite::Result<Photo> {
    Ok(Photo {
        event_id: r.get::<_, i64>(0)? as u64,
        n: r.get(1)?,
        media_type: media_type(&r.get::<_, String>(2)?).map_err(unreadable)?,
        width_px: r.get(3)?,
        height_px: r.get(4)?,
        at_ms: r.get(5)?,
        actor: r.get(6)?,
        sha256: r.get(7)?,
        size_bytes: r.get::<_, i64>(8)? as u64,
    })
}

/// The photos of event `event_id`, in order, without their bytes.
pub fn photos(conn: &Connection, event_id: u64) -> rusqlite::Result<Vec<Photo>> {
    if !exists(conn, "gridmap_event_photos")? {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT event_id, n, {PHOTO_COLUMNS}, length(bytes) FROM gridmap_event_photos
         WHERE event_id = ?1 ORDER BY n"
    ))?;
    let rows = stmt.query_map([event_id as i64], photo_of)?;
    rows.collect()
}

/// Photo `n` of event `event_id` with its bytes.
pub fn photo(
    conn: &Connection,
    event_id: u64,
    n: u32,
) -> rusqlite::Result<Option<(Photo, Vec<u8>)>> {
    if !exists(conn, "gridmap_event_photos")? {
        return Ok(None);
    }
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT event_id, n, {PHOTO_COLUMNS}, length(bytes), bytes FROM gridmap_event_photos
         WHERE event_id = ?1 AND n = ?2"
    ))?;
    let mut rows = stmt.query_map(params![event_id as i64, n], |r| {
        Ok((photo_of(r)?, r.get::<_, Vec<u8>>(9)?))
    })?;
    rows.next().transpose()
}
