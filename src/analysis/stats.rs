//! Statistics by unit (研判): for the city, each town, village or grid, counts that add up
//! (people, households, grid workers, posts and the posts lacking one of the four roles, grids
//! without a Party branch, people within reach of a post, events by category, closed, on time,
//! overdue, ratings) and the ratios a command centre reads, computed from those sums, never
//! averaged. Each level is tallied from the data itself, not from the level below, so that
//! "children sum to their parent" is a check and not a tautology.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::analysis::coverage::CoverageMap;
use crate::analysis::table;
use crate::events::Book;
use crate::events::book::Summary;
use crate::model::{COUNTY_DIGITS, CodeLevel, Dataset, Service, county_name};

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

/// A figure `/stats` and `gridmap stats` report for a unit, read from its `Counts`: a count
/// (additive) or a ratio of sums.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Metric {
    Population,
    Households,
    GridWorkers,
    HouseholdsPerWorker,
    Posts,
    PostsLackingARole,
    GridsWithoutBranch,
    /// The share of people within `RADII_M[i]` of a post.
    Coverage(usize),
    Events,
    /// Events of one category.
    CategoryEvents(String),
    EventsPer1000,
    /// Events of one category per 1,000 residents.
    CategoryPer1000(String),
    ClosureShare,
    OnTimeShare,
    MedianHoursToClose,
    MeanRating,
    OverdueNow,
}

impl Metric {
    /// Every metric, the per-category ones for `categories`.
    pub fn all(categories: &[&str]) -> Vec<Metric> {
        let mut all = vec![
            Metric::Population,
            Metric::Households,
            Metric::GridWorkers,
            Metric::HouseholdsPerWorker,
            Metric::Posts,
            Metric::PostsLackingARole,
            Metric::GridsWithoutBranch,
            Metric::Coverage(0),
            Metric::Coverage(1),
            Metric::Coverage(2),
            Metric::Events,
        ];
        all.extend(
            categories
                .iter()
                .map(|c| Metric::CategoryEvents(c.to_string())),
        );
        all.push(Metric::EventsPer1000);
        all.extend(
            categories
                .iter()
                .map(|c| Metric::CategoryPer1000(c.to_string())),
        );
        all.extend([
            Metric::ClosureShare,
            Metric::OnTimeShare,
            Metric::MedianHoursToClose,
            Metric::MeanRating,
            Metric::OverdueNow,
        ]);
        all
    }

    pub fn name(&self) -> String {
        match self {
            Metric::Population => "population".into(),
            Metric::Households => "households".into(),
            Metric::GridWorkers => "grid_workers".into(),
            Metric::HouseholdsPerWorker => "households_per_worker".into(),
            Metric::Posts => "posts".into(),
            Metric::PostsLackingARole => "posts_lacking_a_role".into(),
            Metric::GridsWithoutBranch => "grids_without_branch".into(),
            Metric::Coverage(i) => format!("coverage_{}m", RADII_M[*i]),
            Metric::Events => "events".into(),
            Metric::CategoryEvents(c) => format!("events_{c}"),
            Metric::EventsPer1000 => "events_per_1000".into(),
            Metric::CategoryPer1000(c) => format!("events_per_1000_{c}"),
            Metric::ClosureShare => "closure_share".into(),
            Metric::OnTimeShare => "on_time_share".into(),
            Metric::MedianHoursToClose => "median_hours_to_close".into(),
            Metric::MeanRating => "mean_rating".into(),
            Metric::OverdueNow => "overdue_now".into(),
        }
    }

    /// Whether a parent's value is the sum of its children's.
    pub fn additive(&self) -> bool {
        matches!(
            self,
            Metric::Population
                | Metric::Households
                | Metric::GridWorkers
                | Metric::Posts
                | Metric::PostsLackingARole
                | Metric::GridsWithoutBranch
                | Metric::Events
                | Metric::CategoryEvents(_)
                | Metric::OverdueNow
        )
    }

    /// Whether the metric counts events (those reported within a span), so that it has a value
    /// per period of a trend; the others describe the map as it is now.
    pub fn of_events(&self) -> bool {
        matches!(
            self,
            Metric::Events
                | Metric::CategoryEvents(_)
                | Metric::EventsPer1000
                | Metric::CategoryPer1000(_)
                | Metric::ClosureShare
                | Metric::OnTimeShare
                | Metric::MedianHoursToClose
                | Metric::MeanRating
        )
    }

    /// The unit's value; `None` where a ratio has nothing to divide by.
    pub fn value(&self, c: &Counts) -> Option<f64> {
        let n = |v: u64| Some(v as f64);
        match self {
            Metric::Population => n(c.population),
            Metric::Households => n(c.households),
            Metric::GridWorkers => n(c.grid_workers),
            Metric::HouseholdsPerWorker => c.households_per_worker(),
            Metric::Posts => n(c.posts),
            Metric::PostsLackingARole => n(c.posts_lacking_a_role),
            Metric::GridsWithoutBranch => n(c.grids_without_branch),
            Metric::Coverage(i) => c.coverage_share(*i),
            Metric::Events => n(c.events),
            Metric::CategoryEvents(cat) => n(c.events_by_category.get(cat).copied().unwrap_or(0)),
            Metric::EventsPer1000 => c.events_per_1000(c.events),
            Metric::CategoryPer1000(cat) => {
                c.events_per_1000(c.events_by_category.get(cat).copied().unwrap_or(0))
            }
            Metric::ClosureShare => c.closure_share(),
            Metric::OnTimeShare => c.on_time_share(),
            Metric::MedianHoursToClose => c.median_hours_to_close(),
            Metric::MeanRating => c.mean_rating(),
            Metric::OverdueNow => n(c.overdue_now),
        }
    }
}

/// The metrics a comma-separated list names (all when absent), or why not, listing them.
pub fn metrics(asked: Option<&str>, categories: &[&str]) -> Result<Vec<Metric>, String> {
    let all = Metric::all(categories);
    let Some(list) = asked else { return Ok(all) };
    let names: Vec<&str> = list
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .collect();
    if names.is_empty() {
        return Err("name at least one metric, or leave metrics out for all".into());
    }
    names
        .into_iter()
        .map(|name| {
            all.iter()
                .find(|m| m.name() == name)
                .cloned()
                .ok_or_else(|| {
                    format!(
                        "'{name}' is not a metric; use any of {}",
                        all.iter().map(Metric::name).collect::<Vec<_>>().join(", ")
                    )
                })
        })
        .collect()
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

/// Class breaks splitting `values` into `classes` groups of about equal size (quantiles), for a
/// choropleth's legend: rising values, a unit's class being how many breaks are at or below its
/// value. A run of equal values stays in one class (a boundary falling inside it moves to the
/// next larger value), so the smallest value is never a break and a mostly-zero metric still
/// separates its zeros from the rest; fewer than `classes - 1` breaks when values repeat.
pub fn quantile_breaks(values: &[f64], classes: usize) -> Vec<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    if v.is_empty() || classes < 2 {
        return Vec::new();
    }
    let mut breaks: Vec<f64> = Vec::new();
    for k in 1..classes {
        let rank = (k * v.len() / classes).min(v.len() - 1);
        // The first value above the run that holds the boundary's lower neighbour.
        let below = v[rank.saturating_sub(1)];
        let Some(&b) = v[rank..].iter().find(|&&x| x > below) else {
            continue;
        };
        if breaks.last().is_none_or(|&last| b > last) {
            breaks.push(b);
        }
    }
    breaks
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

/// A metric's value as it is written out: counts as integers, ratios to six decimals, `null`
/// where there is nothing to divide by.
pub fn json_value(metric: &Metric, value: Option<f64>) -> serde_json::Value {
    match value {
        None => serde_json::Value::Null,
        Some(v) if metric.additive() => serde_json::json!(v as u64),
        Some(v) => serde_json::json!((v * 1e6).round() / 1e6),
    }
}

/// The units as rows (`code`, `name`, then one member per metric): what `/stats` answers and
/// `gridmap stats` prints, so the two cannot differ.
pub fn rows(units: &[Unit], metrics: &[Metric]) -> Vec<serde_json::Value> {
    units
        .iter()
        .map(|u| {
            let mut row = serde_json::Map::new();
            row.insert("code".into(), u.code.clone().into());
            row.insert("name".into(), u.name.clone().into());
            for m in metrics {
                row.insert(m.name(), json_value(m, m.value(&u.counts)));
            }
            serde_json::Value::Object(row)
        })
        .collect()
}

/// Quantile class breaks (five classes) of each metric over `units`.
pub fn breaks(units: &[Unit], metrics: &[Metric]) -> serde_json::Map<String, serde_json::Value> {
    metrics
        .iter()
        .map(|m| {
            let values: Vec<f64> = units.iter().filter_map(|u| m.value(&u.counts)).collect();
            // Written as the values are (ratios to six decimals), then kept strictly rising: a
            // map's `step` expression refuses equal stops.
            let mut b: Vec<serde_json::Value> = quantile_breaks(&values, 5)
                .into_iter()
                .map(|v| json_value(m, Some(v)))
                .collect();
            b.dedup();
            (m.name(), serde_json::Value::Array(b))
        })
        .collect()
}

/// The units as a GeoJSON FeatureCollection for a choropleth: each unit's outline from `data`
/// (none for the city), its row as properties, and the class breaks.
pub fn geojson(
    units: &[Unit],
    metrics: &[Metric],
    level: Level,
    data: &Dataset,
) -> serde_json::Value {
    let outlines = outlines(data, level);
    let features: Vec<serde_json::Value> = rows(units, metrics)
        .into_iter()
        .zip(units)
        .map(|(row, u)| {
            let geometry = outlines
                .get(u.code.as_str())
                .and_then(|g| serde_json::to_value(geojson::Geometry::from(*g)).ok())
                .unwrap_or(serde_json::Value::Null);
            serde_json::json!({"type": "Feature", "id": u.code, "geometry": geometry, "properties": row})
        })
        .collect();
    serde_json::json!({
        "type": "FeatureCollection",
        "level": level.name(),
        "breaks": breaks(units, metrics),
        "features": features,
    })
}

/// The units as JSON: the level, the metrics, a row per unit, and the class breaks.
pub fn json(units: &[Unit], metrics: &[Metric], level: Level) -> serde_json::Value {
    serde_json::json!({
        "level": level.name(),
        "metrics": metrics.iter().map(Metric::name).collect::<Vec<_>>(),
        "units": rows(units, metrics),
        "breaks": breaks(units, metrics),
    })
}

/// The outlines of the units at `level` in `data` by code (none for the city).
fn outlines(data: &Dataset, level: Level) -> HashMap<&str, &geo::MultiPolygon> {
    match level {
        Level::City => HashMap::new(),
        Level::Town => data
            .towns
            .iter()
            .map(|t| (t.code.as_str(), &t.geometry))
            .collect(),
        Level::Village => data
            .villages
            .iter()
            .map(|v| (v.code.as_str(), &v.geometry))
            .collect(),
        Level::Grid => data
            .grids
            .iter()
            .map(|g| (g.code.as_str(), &g.geometry))
            .collect(),
    }
}

/// The rows as CSV: a header, then a line per unit (an empty cell for `null`).
pub fn csv(units: &[Unit], metrics: &[Metric]) -> String {
    let names: Vec<String> = metrics.iter().map(Metric::name).collect();
    let header = ["code", "name"]
        .into_iter()
        .map(str::to_string)
        .chain(names.iter().cloned());
    let rows = rows(units, metrics).into_iter().map(|row| {
        ["code", "name"]
            .iter()
            .map(|f| table::cell(&row[*f]))
            .chain(names.iter().map(|m| table::cell(&row[m.as_str()])))
            .collect::<Vec<_>>()
    });
    table::csv(header, rows)
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
mod tests {
    use super::*;
    use crate::events::Categories;
    use crate::index::Snapshot;

    /// The sample, its coverage at the three radii and its year of events in a book.
    fn sample() -> (Dataset, [CoverageMap; 3], Book) {
        let data = crate::sample::dataset().unwrap();
        let coverage = RADII_M.map(|r| CoverageMap::compute(&data, r, None));
        let snap = Snapshot::build(data.clone());
        let mut entries = crate::generate::events::year(&snap, &Categories::shipped());
        for (i, e) in entries.iter_mut().enumerate() {
            e.step.seq = i as u64 + 1;
        }
        let mut book = Book::default();
        book.apply(entries);
        (data, coverage, book)
    }

    fn sum_by(children: &[Unit], level: Level) -> BTreeMap<String, Counts> {
        let mut out: BTreeMap<String, Counts> = BTreeMap::new();
        for u in children {
            out.entry(u.code[..level.code_len()].to_string())
                .or_default()
                .add(&u.counts);
        }
        out
    }

    #[test]
    fn every_level_sums_exactly_to_the_level_above() {
        let (data, coverage, book) = sample();
        let now_ms = crate::generate::events::YEAR_START_MS + crate::generate::events::YEAR_MS;
        let all = (i64::MIN, i64::MAX);
        let maps = [&coverage[0], &coverage[1], &coverage[2]];
        let tally_at = |l| tally(&data, maps, &book, all, now_ms, l);
        for level in [Level::Grid, Level::Village, Level::Town] {
            let parent = level.parent().unwrap();
            let mut sums = sum_by(&tally_at(level), parent);
            for p in tally_at(parent) {
                let mut sum = sums.remove(&p.code).unwrap_or_default();
                let mut want = p.counts.clone();
                sum.hours_to_close.sort_by(f64::total_cmp);
                want.hours_to_close.sort_by(f64::total_cmp);
                assert_eq!(
                    sum,
                    want,
                    "{} {} from its {}s",
                    parent.name(),
                    p.code,
                    level.name()
                );
            }
            assert!(
                sums.is_empty(),
                "children without a parent: {:?}",
                sums.keys()
            );
        }
        // The city against the data itself.
        let city = &tally_at(Level::City)[0].counts;
        let population: u64 = data.grids.iter().map(|g| u64::from(g.population)).sum();
        assert_eq!(city.population, population);
        assert_eq!(city.posts, data.stations.len() as u64);
        assert_eq!(city.events, book.len() as u64);
        assert!(
            city.closed > city.events / 2 && city.overdue_now > 0,
            "{city:?}"
        );
        assert!(city.people_covered[0] < city.people_covered[1]);
        assert!(city.people_covered[1] < city.people_covered[2]);
        assert!(city.people_covered[2] <= city.population);
    }

    #[test]
    fn quantile_breaks_split_into_equal_groups() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(quantile_breaks(&v, 5), [3.0, 5.0, 7.0, 9.0]);
        // One value: one class, no break.
        assert!(quantile_breaks(&[2.0, 2.0, 2.0], 5).is_empty());
        assert!(quantile_breaks(&[], 5).is_empty());
        // 85 zeros and 1..=15: the zeros are one class, the rest split above them.
        let mostly_zero: Vec<f64> = std::iter::repeat_n(0.0, 85)
            .chain((1..=15).map(f64::from))
            .collect();
        let b = quantile_breaks(&mostly_zero, 5);
        assert_eq!(b[0], 1.0, "{b:?}");
        assert!(b.windows(2).all(|w| w[0] < w[1]), "{b:?}");
        // A unit's class is how many breaks are at or below its value.
        let class = |x: f64| b.iter().filter(|&&br| br <= x).count();
        assert_eq!(class(0.0), 0);
        assert!(class(15.0) >= 1);
    }

    #[test]
    fn ratios_come_from_sums_not_averages() {
        let a = Counts {
            population: 100,
            people_covered: [50, 50, 50],
            closed: 1,
            closed_on_time: 1,
            hours_to_close: vec![1.0],
            ..Counts::default()
        };
        let b = Counts {
            population: 300,
            people_covered: [300, 300, 300],
            closed: 3,
            closed_on_time: 0,
            hours_to_close: vec![10.0, 20.0, 30.0],
            ..Counts::default()
        };
        let mut both = a.clone();
        both.add(&b);
        // 350 of 400 people, not the mean of 0.5 and 1.0; 1 of 4 closed on time, not 0.5.
        assert_eq!(both.coverage_share(1), Some(0.875));
        assert_eq!(both.on_time_share(), Some(0.25));
        assert_eq!(both.median_hours_to_close(), Some(15.0));
        assert_eq!(a.median_hours_to_close(), Some(1.0));
        assert_eq!(Counts::default().on_time_share(), None);
        assert_eq!(both.events_per_1000(2), Some(5.0));
    }
}
