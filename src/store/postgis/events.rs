//! The event log in PostGIS (migration 0006): `gridmap_events` with a point geometry (QGIS draws
//! it) and `gridmap_event_steps`. A write takes advisory lock 7266707372 first, so sequence
//! numbers become visible in order and "everything after seq N" never skips a late commit.

use postgres::{GenericClient, Row};

use crate::events::{Entry, Event, Reporter, Step};
use crate::store::event_rows::{action, severity, source};

/// Serialises event writes (not map writes, which take 7266707371).
pub const EVENTS_LOCK: i64 = 7_266_707_372;

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
/// Ids and sequence numbers are drawn first (under the lock, so in order), then every event and
/// every step goes in with one statement each, as arrays through `unnest`: a batch is a handful
/// of round trips whatever its size.
pub fn append(
    tx: &mut impl GenericClient,
    entries: &[Entry],
) -> Result<Vec<Entry>, postgres::Error> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&EVENTS_LOCK])?;
    let reports = entries.iter().filter(|e| e.event.is_some()).count() as i64;
    let mut draw = |sequence: &str, n: i64| -> Result<Vec<i64>, postgres::Error> {
        let rows = tx.query(
            "SELECT nextval($1::text::regclass) FROM generate_series(1::bigint, $2)",
            &[&sequence, &n],
        )?;
        Ok(rows.iter().map(|r| r.get::<_, i64>(0)).collect())
    };
    let ids = draw("gridmap_events_id_seq", reports)?;
    let seqs = draw("gridmap_event_steps_seq_seq", entries.len() as i64)?;
    let mut stored = entries.to_vec();
    let mut ids = ids.into_iter();
    for (entry, seq) in stored.iter_mut().zip(seqs) {
        if let Some(e) = entry.event.as_mut() {
            e.id = ids.next().expect("one id per report") as u64;
            entry.step.event_id = e.id;
            entry.step.n = 0;
        }
        entry.step.seq = seq as u64;
    }
    let events: Vec<&Event> = stored.iter().filter_map(|e| e.event.as_ref()).collect();
    if !events.is_empty() {
        let col = |f: &dyn Fn(&Event) -> Option<String>| -> Vec<Option<String>> {
            events.iter().map(|e| f(e)).collect()
        };
        let reporter = |e: &Event| e.reporter.clone().unwrap_or_default();
        let near: Vec<String> = events
            .iter()
            .map(|e| format!("{{{}}}", e.near_boundary.join(",")))
            .collect();
        tx.execute(
            "INSERT INTO gridmap_events (id, reported_at, geom, category, severity, source, text,
               address, reporter_name, reporter_phone, town_code, village_code, grid_code, post_id,
               post_offers_service, near_boundary, deadline, evaluation_sha256)
             SELECT id, to_timestamp(at / 1000), ST_SetSRID(ST_MakePoint(lon, lat), 4326),
               category, severity, source, text, address, rname, rphone, town, village, grid, post,
               offers, near::text[], to_timestamp(deadline / 1000), eval
             FROM unnest($1::bigint[], $2::float8[], $3::float8[], $4::float8[], $5::text[],
               $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],
               $12::text[], $13::text[], $14::text[], $15::bigint[], $16::bool[], $17::text[],
               $18::float8[], $19::text[])
               AS t(id, at, lon, lat, category, severity, source, text, address, rname, rphone,
                    town, village, grid, post, offers, near, deadline, eval)",
            &[
                &events.iter().map(|e| e.id as i64).collect::<Vec<_>>(),
                &events
                    .iter()
                    .map(|e| e.reported_at_ms as f64)
                    .collect::<Vec<_>>(),
                &events.iter().map(|e| e.lon).collect::<Vec<_>>(),
                &events.iter().map(|e| e.lat).collect::<Vec<_>>(),
                &col(&|e| Some(e.category.clone())),
                &col(&|e| Some(e.severity.name().to_string())),
                &col(&|e| Some(e.source.name().to_string())),
                &col(&|e| Some(e.text.clone())),
                &col(&|e| e.address.clone()),
                &col(&|e| reporter(e).name),
                &col(&|e| reporter(e).phone),
                &col(&|e| Some(e.town.clone())),
                &col(&|e| e.village.clone()),
                &col(&|e| e.grid.clone()),
                &events
                    .iter()
                    .map(|e| e.post.map(|p| p as i64))
                    .collect::<Vec<_>>(),
                &events
                    .iter()
                    .map(|e| e.post_offers_service)
                    .collect::<Vec<_>>(),
                &near,
                &events
                    .iter()
                    .map(|e| e.deadline_ms as f64)
                    .collect::<Vec<_>>(),
                &col(&|e| e.evaluation_sha256.clone()),
            ],
        )?;
    }
    let steps: Vec<&Step> = stored.iter().map(|e| &e.step).collect();
    tx.execute(
        "INSERT INTO gridmap_event_steps (seq, event_id, n, action, at, actor, to_code, note, rating)
         SELECT seq, event_id, n, action, to_timestamp(at / 1000), actor, to_code, note, rating
         FROM unnest($1::bigint[], $2::bigint[], $3::int[], $4::text[], $5::float8[], $6::text[],
           $7::text[], $8::text[], $9::smallint[])
           AS t(seq, event_id, n, action, at, actor, to_code, note, rating)",
        &[
            &steps.iter().map(|s| s.seq as i64).collect::<Vec<_>>(),
            &steps.iter().map(|s| s.event_id as i64).collect::<Vec<_>>(),
            &steps.iter().map(|s| s.n as i32).collect::<Vec<_>>(),
            &steps.iter().map(|s| s.action.name()).collect::<Vec<_>>(),
            &steps.iter().map(|s| s.at_ms as f64).collect::<Vec<_>>(),
            &steps.iter().map(|s| s.actor.as_str()).collect::<Vec<_>>(),
            &steps.iter().map(|s| s.to.as_deref()).collect::<Vec<_>>(),
            &steps.iter().map(|s| s.note.as_deref()).collect::<Vec<_>>(),
            &steps.iter().map(|s| s.rating.map(i16::from)).collect::<Vec<_>>(),
        ],
    )?;
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
    // The steps first, by the primary key (only those after `after_seq`), then each report's
    // event by its id: LATERAL keeps it a lookup per step whatever the planner thinks of the
    // tables' sizes (a hash join over every event, chosen on stale statistics, made this read
    // grow with the log).
    let sql = format!(
        "SELECT s.seq, s.event_id, s.n, s.action, {}, s.actor, s.to_code, s.note, s.rating,
           e.id, e.reported_at_ms, e.lon, e.lat, e.category, e.severity, e.source, e.text,
           e.address, e.reporter_name, e.reporter_phone, e.town_code, e.village_code,
           e.grid_code, e.post_id, e.post_offers_service, e.near_boundary, e.deadline_ms,
           e.evaluation_sha256
         FROM (SELECT * FROM gridmap_event_steps WHERE seq > $1 ORDER BY seq LIMIT $2) s
         LEFT JOIN LATERAL (
           SELECT id, {} AS reported_at_ms, ST_X(geom) AS lon, ST_Y(geom) AS lat, category,
             severity, source, text, address, reporter_name, reporter_phone, town_code,
             village_code, grid_code, post_id, post_offers_service, near_boundary,
             {} AS deadline_ms, evaluation_sha256
           FROM gridmap_events WHERE id = s.event_id AND s.n = 0
         ) e ON true
         ORDER BY s.seq",
        ms("s.at"),
        ms("reported_at"),
        ms("deadline")
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
