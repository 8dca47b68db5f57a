//! Photos of events in PostGIS (migration 0007): `gridmap_event_photos`, numbered per event. A
//! write takes the event log's advisory lock first, so two servers adding photos to one event
//! take numbers in turn, the ninth is the last, and a close committed before it is seen.

use postgres::Row;

use super::PostGis;
use super::events::EVENTS_LOCK;
use crate::events::photos::{MAX_PHOTOS, Photo};
use crate::store::PhotoRefusal;
use crate::store::event_rows::media_type;
use crate::{Error, Result, StoreFailure};

/// The columns `photo_of` reads, then `extra`.
fn select(extra: &str) -> String {
    format!(
        "SELECT event_id, n, media_type, width_px, height_px,
           (extract(epoch FROM at) * 1000)::bigint, actor, sha256, length(bytes)::bigint{extra}
         FROM gridmap_event_photos"
    )
}

fn photo_of(r: &Row) -> std::result::Result<Photo, String> {
    Ok(Photo {
        event_id: r.get::<_, i64>(0) as u64,
        n: r.get::<_, i32>(1) as u32,
        media_type: media_type(r.get(2))?,
        width_px: r.get::<_, i32>(3) as u32,
        height_px: r.get::<_, i32>(4) as u32,
        at_ms: r.get(5),
        actor: r.get(6),
        sha256: r.get(7),
        size_bytes: r.get::<_, i64>(8) as u64,
    })
}

impl PostGis {
    fn unreadable(&self, text: String) -> Error {
        Error::store_failure(&self.location, StoreFailure::Unreadable, text)
    }

    pub(super) fn insert_photo(&self, photo: &Photo, bytes: &[u8]) -> Result<Photo> {
        let stored = self.with_client(|c| {
            let db = |e| self.db_err(e);
            let mut tx = c.transaction().map_err(db)?;
            // The event log's lock: no step (a close) and no other photo commits while this
            // one checks the case and counts.
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&EVENTS_LOCK])
                .map_err(db)?;
            let last: Option<String> = tx
                .query_opt(
                    "SELECT action FROM gridmap_event_steps WHERE event_id = $1
                     ORDER BY n DESC LIMIT 1",
                    &[&(photo.event_id as i64)],
                )
                .map_err(db)?
                .map(|r| r.get(0));
            if last.as_deref().is_some_and(PhotoRefusal::closed_by) {
                return Ok(Err(PhotoRefusal::Closed));
            }
            let held: i64 = tx
                .query_one(
                    "SELECT count(*) FROM gridmap_event_photos WHERE event_id = $1",
                    &[&(photo.event_id as i64)],
                )
                .map_err(db)?
                .get(0);
            if held >= i64::from(MAX_PHOTOS) {
                return Ok(Err(PhotoRefusal::Full));
            }
            let n = held as i32 + 1;
            tx.execute(
                "INSERT INTO gridmap_event_photos (event_id, n, media_type, width_px,
                       height_px, at, actor, sha256, bytes)
                     VALUES ($1, $2, $3, $4, $5, to_timestamp($6::float8 / 1000), $7, $8, $9)",
                &[
                    &(photo.event_id as i64),
                    &n,
                    &photo.media_type.mime(),
                    &(photo.width_px as i32),
                    &(photo.height_px as i32),
                    &(photo.at_ms as f64),
                    &photo.actor,
                    &photo.sha256,
                    &bytes,
                ],
            )
            .map_err(db)?;
            tx.commit().map_err(|e| self.commit_err(e))?;
            Ok(Ok(n as u32))
        })?;
        let n = stored.map_err(|r| r.error(photo.event_id))?;
        Ok(Photo { n, ..photo.clone() })
    }

    pub(super) fn photo_list(&self, event_id: u64) -> Result<Vec<Photo>> {
        let rows = self.with_client(|c| {
            c.query(
                &format!("{} WHERE event_id = $1 ORDER BY n", select("")),
                &[&(event_id as i64)],
            )
            .map_err(|e| self.db_err(e))
        })?;
        rows.iter()
            .map(|r| photo_of(r).map_err(|t| self.unreadable(t)))
            .collect()
    }

    pub(super) fn photo_with_bytes(
        &self,
        event_id: u64,
        n: u32,
    ) -> Result<Option<(Photo, Vec<u8>)>> {
        let row = self.with_client(|c| {
            c.query_opt(
                &format!("{} WHERE event_id = $1 AND n = $2", select(", bytes")),
                &[&(event_id as i64), &(n as i32)],
            )
            .map_err(|e| self.db_err(e))
        })?;
        row.map(|r| {
            let photo = photo_of(&r).map_err(|t| self.unreadable(t))?;
            Ok((photo, r.get::<_, Vec<u8>>(9)))
        })
        .transpose()
    }
}
