//! Every case in memory: by id, and by point in an R-tree, kept current one entry at a time from
//! the event log (the server's own writes and, through the follower, every other replica's).
//! Events never rebuild the map's snapshot.

use std::collections::HashMap;

use rstar::RTree;
use rstar::primitives::GeomWithData;

use super::lifecycle::Status;
use super::model::{Case, Entry};
use crate::model::Bbox;

type Located = GeomWithData<[f64; 2], u64>;

/// The cases, as of the log's entry `last_seq`.
#[derive(Default)]
pub struct Book {
    /// Boxed, so growing the map moves pointers, not cases: a resize at a million cases takes
    /// milliseconds under the write lock instead of a second.
    cases: HashMap<u64, Box<Case>>,
    points: RTree<Located>,
    last_seq: u64,
}

/// What `GET /events` asks for.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub bbox: Option<Bbox>,
    pub status: Option<Vec<Status>>,
    pub category: Option<String>,
    /// A unit code: the cases whose grid, village or town it is (or contains).
    pub code: Option<String>,
    /// Open past their deadline (true) or not (false), at `now_ms`.
    pub overdue: Option<bool>,
    /// Reported from (inclusive) and to (exclusive), Unix milliseconds.
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

impl Book {
    /// The log's last entry applied.
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    pub fn len(&self) -> usize {
        self.cases.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cases.is_empty()
    }

    pub fn get(&self, id: u64) -> Option<&Case> {
        self.cases.get(&id).map(|c| &**c)
    }

    /// Apply log entries in sequence order; those at or before `last_seq` (already applied, as
    /// when a server's own write and its follower both bring an entry) are skipped. Returns the
    /// entries applied.
    pub fn apply(&mut self, entries: impl IntoIterator<Item = Entry>) -> Vec<Entry> {
        let mut applied = Vec::new();
        for entry in entries {
            if entry.step.seq <= self.last_seq {
                continue;
            }
            self.last_seq = entry.step.seq;
            match &entry.event {
                Some(event) => {
                    self.points
                        .insert(GeomWithData::new([event.lon, event.lat], event.id));
                    self.cases.insert(
                        event.id,
                        Box::new(Case::new(event.clone(), entry.step.clone())),
                    );
                }
                None => match self.cases.get_mut(&entry.step.event_id) {
                    Some(case) => case.apply(entry.step.clone()),
                    None => {
                        tracing::warn!(
                            event = entry.step.event_id,
                            seq = entry.step.seq,
                            "a step of an unknown event: skipped"
                        );
                        continue;
                    }
                },
            }
            applied.push(entry);
        }
        applied
    }

    /// The cases matching `filter` that `sees` lets through, newest report first.
    pub fn query(&self, filter: &Filter, now_ms: i64, sees: impl Fn(&Case) -> bool) -> Vec<&Case> {
        let keep = |c: &&Case| {
            let e = &c.event;
            filter.status.as_ref().is_none_or(|s| s.contains(&c.status))
                && filter.category.as_ref().is_none_or(|k| *k == e.category)
                && filter.code.as_ref().is_none_or(|code| {
                    e.unit().starts_with(code.as_str())
                        || e.near_boundary.iter().any(|g| g.starts_with(code.as_str()))
                })
                && filter.overdue.is_none_or(|o| c.overdue_at(now_ms) == o)
                && filter.from_ms.is_none_or(|t| e.reported_at_ms >= t)
                && filter.to_ms.is_none_or(|t| e.reported_at_ms < t)
                && sees(c)
        };
        let mut found: Vec<&Case> = match &filter.bbox {
            Some(b) => self
                .points
                .locate_in_envelope(rstar::AABB::from_corners(
                    [b.min_lon, b.min_lat],
                    [b.max_lon, b.max_lat],
                ))
                .filter_map(|p| self.get(p.data))
                .filter(keep)
                .collect(),
            None => self.all().filter(keep).collect(),
        };
        found.sort_unstable_by_key(|c| std::cmp::Reverse((c.event.reported_at_ms, c.event.id)));
        found
    }

    /// Every case, by id.
    pub fn all(&self) -> impl Iterator<Item = &Case> {
        self.cases.values().map(|c| &**c)
    }
}
