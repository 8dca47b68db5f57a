//! The figures statistics report (`Metric`): their names, whether they add up, and their value
//! for a unit, read from its `Counts`.

use super::{Counts, RADII_M};

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
