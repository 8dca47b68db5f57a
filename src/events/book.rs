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

/// What statistics read of a case, kept side by side with every other case's so that a walk over
/// all of them reads memory in order (a `Case` is boxed, with its strings and steps elsewhere:
/// a walk over cases costs a cache miss or three per case).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    pub reported_at_ms: i64,
    pub deadline_ms: i64,
    pub closed_ms: Option<i64>,
    /// The most specific unit holding the event's point (`Event::unit`), as ASCII digits.
    unit: [u8; 15],
    unit_len: u8,
    /// An index into the book's categories (`Book::category`): a configured few.
    pub category: u16,
    pub rating: Option<u8>,
    pub open: bool,
}

impl Summary {
    /// The most specific unit holding the event's point: grid, else village, else town code.
    pub fn unit(&self) -> &str {
        std::str::from_utf8(&self.unit[..usize::from(self.unit_len)]).unwrap_or_default()
    }

    /// Open past its deadline at `now_ms` (as `Case::overdue_at`).
    pub fn overdue_at(&self, now_ms: i64) -> bool {
        self.open && now_ms > self.deadline_ms
    }

    /// Closed by its deadline (`None` while open), as `Case::on_time`.
    pub fn on_time(&self) -> Option<bool> {
        self.closed_ms.map(|c| c <= self.deadline_ms)
    }
}

/// The cases, as of the log's entry `last_seq`.
#[derive(Default)]
pub struct Book {
    /// Boxed, so growing the map moves pointers, not cases: a resize at a million cases takes
    /// milliseconds under the write lock instead of a second.
    cases: HashMap<u64, Box<Case>>,
    points: RTree<Located>,
    last_seq: u64,
    /// Every case's `Summary`, in the order the log brought them; `slots` finds a case's.
    summaries: Vec<Summary>,
    slots: HashMap<u64, usize>,
    /// The categories summaries name, by index.
    categories: Vec<String>,
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
                    let case = Case::new(event.clone(), entry.step.clone());
                    let summary = Self::summarize(&mut self.categories, &case);
                    match self.slots.get(&event.id) {
                        Some(&slot) => self.summaries[slot] = summary,
                        None => {
                            self.slots.insert(event.id, self.summaries.len());
                            self.summaries.push(summary);
                        }
                    }
                    self.cases.insert(event.id, Box::new(case));
                }
                None => match self.cases.get_mut(&entry.step.event_id) {
                    Some(case) => {
                        case.apply(entry.step.clone());
                        let case: &Case = case;
                        let summary = Self::summarize(&mut self.categories, case);
                        if let Some(&slot) = self.slots.get(&entry.step.event_id) {
                            self.summaries[slot] = summary;
                        }
                    }
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

    /// Every case's summary, in the order the log brought them: what statistics walk.
    pub fn summaries(&self) -> &[Summary] {
        &self.summaries
    }

    /// The category a summary's index names.
    pub fn category(&self, index: u16) -> &str {
        self.categories
            .get(usize::from(index))
            .map_or("", String::as_str)
    }

    /// `case`'s summary, its category added to `categories` if new.
    fn summarize(categories: &mut Vec<String>, case: &Case) -> Summary {
        let e = &case.event;
        let category = match categories.iter().position(|c| *c == e.category) {
            Some(i) => i,
            None => {
                categories.push(e.category.clone());
                categories.len() - 1
            }
        };
        let code = e.unit().as_bytes();
        let mut unit = [0u8; 15];
        let unit_len = code.len().min(unit.len());
        unit[..unit_len].copy_from_slice(&code[..unit_len]);
        Summary {
            reported_at_ms: e.reported_at_ms,
            deadline_ms: e.deadline_ms,
            closed_ms: case.closed_ms,
            unit,
            unit_len: unit_len as u8,
            category: u16::try_from(category).unwrap_or(u16::MAX),
            rating: case.rating,
            open: case.open(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Categories;
    use crate::index::Snapshot;

    #[test]
    fn every_summary_says_what_its_case_says() {
        let snap = Snapshot::build(crate::sample::dataset().unwrap());
        let mut entries = crate::generate::events::year(&snap, &Categories::shipped());
        for (i, e) in entries.iter_mut().enumerate() {
            e.step.seq = i as u64 + 1;
        }
        let mut book = Book::default();
        // In two batches, so that some cases' later steps come in a later apply.
        let later = entries.split_off(entries.len() / 2);
        book.apply(entries);
        book.apply(later);
        assert_eq!(book.summaries().len(), book.len());
        let now_ms = crate::generate::events::YEAR_START_MS + crate::generate::events::YEAR_MS;
        let (mut closed, mut rated) = (0, 0);
        for case in book.all() {
            let s = &book.summaries()[book.slots[&case.event.id]];
            assert_eq!(s.unit(), case.event.unit());
            assert_eq!(book.category(s.category), case.event.category);
            assert_eq!(s.reported_at_ms, case.event.reported_at_ms);
            assert_eq!(s.closed_ms, case.closed_ms);
            assert_eq!(s.rating, case.rating);
            assert_eq!(s.on_time(), case.on_time());
            assert_eq!(s.overdue_at(now_ms), case.overdue_at(now_ms));
            closed += usize::from(s.closed_ms.is_some());
            rated += usize::from(s.rating.is_some());
        }
        // The year has cases in every state that matters here.
        assert!(
            closed > 0 && closed < book.len() && rated > 0,
            "{closed} closed, {rated} rated"
        );
    }
}
