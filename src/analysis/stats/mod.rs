//! Statistics by unit (研判): for the city, each town, village or grid, counts that add up
//! (people, households, grid workers, posts and the posts lacking one of the four roles, grids
//! without a Party branch, people within reach of a post, events by category, closed, on time,
//! overdue, ratings) and the ratios a command centre reads, computed from those sums, never
//! averaged. Each level is tallied from the data itself, not from the level below, so that
//! "children sum to their parent" is a check and not a tautology.

//!
//! `metric` names the figures and reads them from a unit's counts; `write` turns the units into
//! rows, class breaks, JSON, GeoJSON and CSV.

mod metric;
mod write;

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::analysis::coverage::CoverageMap;
use crate::events::Book;
use crate::events::book::Summary;
use crate::model::{COUNTY_DIGITS, CodeLevel, Dataset, Service, county_name};

pub use metric::{Metric, metrics};
pub use write::{breaks, csv, geojson, json, json_value, quantile_breaks, rows};

/// The walking radii coverage is counted at.
pub const RADII_M: [f64; 3] = [300.0, 500.0, 1_000.0];

/// The kind of party organisation every grid should have (the `party_orgs` layer's `kind`).
const GRID_BRANCH: &str = "网格党支部";

/// The units statistics are about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    City,
    Town,
    Village,
    Grid,
}

impl Level {
    pub const ALL: [Level; 4] = [Level::City, Level::Town, Level::Village, Level::Grid];

    pub fn name(self) -> &'static str {
        match self {
            Level::City => "city",
            Level::Town => "town",
            Level::Village => "village",
            Level::Grid => "grid",
        }
    }

    pub fn parse(name: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.name() == name)
    }

    /// The length of this level's codes: a longer code's prefix names its unit at this level.
    pub fn code_len(self) -> usize {
        match self {
            Level::City => COUNTY_DIGITS,
            Level::Town => CodeLevel::Town.digits(),
            Level::Village => CodeLevel::Village.digits(),
            Level::Grid => CodeLevel::Grid.digits(),
        }
    }

    /// The level above (`None` for the city).
    pub fn parent(self) -> Option<Level> {
        match self {
            Level::City => None,
            Level::Town => Some(Level::City),
            Level::Village => Some(Level::Town),
            Level::Grid => Some(Level::Village),
        }
    }
}

/// What a unit holds, every field additive (a parent's is the sum of its children's).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Counts {
    pub population: u64,
    pub households: u64,
    pub grids: u64,
    /// Grids with a named worker (网格员).
    pub grid_workers: u64,
    pub posts: u64,
    /// Posts offering fewer than the four roles (宣讲, 调解, 纾困, 新风).
    pub posts_lacking_a_role: u64,
    /// Grids without a 网格党支部 in the `party_orgs` layer.
    pub grids_without_branch: u64,
    /// People within reach of a post at each of `RADII_M`, rounded per grid.
    pub people_covered: [u64; 3],
    pub events: u64,
    pub events_by_category: BTreeMap<String, u64>,
    pub closed: u64,
    pub closed_on_time: u64,
    /// Open and past their deadline now.
    pub overdue_now: u64,
    pub ratings: u64,
    pub rating_sum: u64,
    /// Hours from report to close of each closed case: a median does not add up, so the
    /// durations are kept whole.
    pub hours_to_close: Vec<f64>,
}

impl Counts {
    /// Add `other` (a child unit) into these.
    pub fn add(&mut self, other: &Counts) {
        self.population += other.population;
        self.households += other.households;
        self.grids += other.grids;
        self.grid_workers += other.grid_workers;
        self.posts += other.posts;
        self.posts_lacking_a_role += other.posts_lacking_a_role;
        self.grids_without_branch += other.grids_without_branch;
        for (a, b) in self.people_covered.iter_mut().zip(other.people_covered) {
            *a += b;
        }
        self.events += other.events;
        for (c, n) in &other.events_by_category {
            *self.events_by_category.entry(c.clone()).or_default() += n;
        }
        self.closed += other.closed;
        self.closed_on_time += other.closed_on_time;
        self.overdue_now += other.overdue_now;
        self.ratings += other.ratings;
        self.rating_sum += other.rating_sum;
        self.hours_to_close.extend(&other.hours_to_close);
    }

    fn share(part: u64, whole: u64) -> Option<f64> {
        (whole > 0).then(|| part as f64 / whole as f64)
    }

    pub fn households_per_worker(&self) -> Option<f64> {
        Self::share(self.households, self.grid_workers)
    }

    /// The share of people within reach at `RADII_M[i]`.
    pub fn coverage_share(&self, i: usize) -> Option<f64> {
        Self::share(self.people_covered[i], self.population)
    }

    /// Events per 1,000 residents.
    pub fn events_per_1000(&self, events: u64) -> Option<f64> {
        Self::share(events * 1_000, self.population)
    }

    pub fn closure_share(&self) -> Option<f64> {
        Self::share(self.closed, self.events)
    }

    pub fn on_time_share(&self) -> Option<f64> {
        Self::share(self.closed_on_time, self.closed)
    }

    pub fn mean_rating(&self) -> Option<f64> {
        Self::share(self.rating_sum, self.ratings)
    }

    pub fn median_hours_to_close(&self) -> Option<f64> {
        let mut h = self.hours_to_close.clone();
        h.sort_by(f64::total_cmp);
        let n = h.len();
        match n {
            0 => None,
            _ if n % 2 == 1 => Some(h[n / 2]),
            _ => Some((h[n / 2 - 1] + h[n / 2]) / 2.0),
        }
    }
}

/// The level a name gives (town when absent), or why not, listing them.
pub fn level(asked: Option<&str>) -> Result<Level, String> {
    let name = asked.unwrap_or("town");
    Level::parse(name).ok_or_else(|| {
        format!(
            "'{name}' is not a level; use {}",
            Level::ALL.map(Level::name).join(", ")
        )
    })
}

/// One unit's statistics.
#[derive(Clone, Debug, PartialEq)]
pub struct Unit {
    pub code: String,
    pub name: String,
    pub counts: Counts,
}

/// The units of `level`, every one (those with nothing too), in code order, each tallied from
/// the data: the map, its coverage at `RADII_M` (`coverage[i]` for `RADII_M[i]`), and the cases
/// of `book` reported within `[from_ms, to_ms)` (overdue as of `now_ms`).
pub fn tally(
    data: &Dataset,
    coverage: [&CoverageMap; 3],
    book: &Book,
    span_ms: (i64, i64),
    now_ms: i64,
    level: Level,
) -> Vec<Unit> {
    let (mut units, at) = units_of(data, level);
    let at = |code: &str| at.at(code);
    let branches: HashSet<&str> = data
        .declared
        .iter()
        .filter(|d| d.def.name == "party_orgs")
        .flat_map(|d| {
            d.features
                .iter()
                .filter(|r| r.value(d.def, "kind").as_str() == Some(GRID_BRANCH))
                .filter_map(|r| r.key.get(..15))
        })
        .collect();
    for (i, g) in data.grids.iter().enumerate() {
        let Some(u) = at(&g.code) else { continue };
        let c = &mut units[u].counts;
        c.population += u64::from(g.population);
        c.households += u64::from(g.households);
        c.grids += 1;
        c.grid_workers += u64::from(g.worker.name.as_deref().is_some_and(|n| !n.is_empty()));
        c.grids_without_branch += u64::from(!branches.contains(g.code.as_str()));
        for (r, map) in coverage.iter().enumerate() {
            let share = map.grids[i].people_shares().0;
            c.people_covered[r] += (f64::from(g.population) * share).round() as u64;
        }
    }
    for s in &data.stations {
        let Some(u) = at(&s.grid_code) else { continue };
        let c = &mut units[u].counts;
        c.posts += 1;
        c.posts_lacking_a_role +=
            u64::from(!Service::ALL.iter().all(|want| s.services.contains(want)));
    }
    let (from_ms, to_ms) = span_ms;
    for case in book.summaries() {
        if case.reported_at_ms < from_ms || case.reported_at_ms >= to_ms {
            continue;
        }
        let Some(u) = at(case.unit()) else { continue };
        count_case(
            &mut units[u].counts,
            case,
            book.category(case.category),
            now_ms,
        );
    }
    units
}

/// Finds the unit at a level that holds a longer code (`Locator::at`).
pub struct Locator {
    position: HashMap<String, usize>,
    len: usize,
}

impl Locator {
    /// The index of the unit whose code is `code`'s prefix at this level.
    pub fn at(&self, code: &str) -> Option<usize> {
        code.get(..self.len)
            .and_then(|p| self.position.get(p))
            .copied()
    }
}

/// Every unit of `level` in `data`, in code order and with nothing counted, and where a code's
/// unit lies among them.
pub fn units_of(data: &Dataset, level: Level) -> (Vec<Unit>, Locator) {
    let mut units: Vec<Unit> = match level {
        Level::City => {
            let code = city_code(data);
            let name = county_name(&code).map_or_else(|| code.clone(), str::to_string);
            vec![(code, name)]
        }
        Level::Town => data
            .towns
            .iter()
            .map(|t| (t.code.clone(), t.name.clone()))
            .collect(),
        Level::Village => data
            .villages
            .iter()
            .map(|v| (v.code.clone(), v.name.clone()))
            .collect(),
        Level::Grid => data
            .grids
            .iter()
            .map(|g| (g.code.clone(), g.name.clone()))
            .collect(),
    }
    .into_iter()
    .map(|(code, name)| Unit {
        code,
        name,
        counts: Counts::default(),
    })
    .collect();
    units.sort_by(|a, b| a.code.cmp(&b.code));
    let position = units
        .iter()
        .enumerate()
        .map(|(i, u)| (u.code.clone(), i))
        .collect();
    let locator = Locator {
        position,
        len: level.code_len(),
    };
    (units, locator)
}

pub(crate) fn count_case(c: &mut Counts, case: &Summary, category: &str, now_ms: i64) {
    c.events += 1;
    // Looked up before inserting: no String allocated per case.
    match c.events_by_category.get_mut(category) {
        Some(n) => *n += 1,
        None => {
            c.events_by_category.insert(category.to_string(), 1);
        }
    }
    if let Some(closed_ms) = case.closed_ms {
        c.closed += 1;
        c.closed_on_time += u64::from(case.on_time() == Some(true));
        c.hours_to_close
            .push((closed_ms - case.reported_at_ms) as f64 / 3_600_000.0);
    }
    c.overdue_now += u64::from(case.overdue_at(now_ms));
    if let Some(r) = case.rating {
        c.ratings += 1;
        c.rating_sum += u64::from(r);
    }
}

/// The county's code: the first six digits every town shares.
fn city_code(data: &Dataset) -> String {
    data.towns
        .first()
        .and_then(|t| t.code.get(..COUNTY_DIGITS))
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
mod tests;
