//! Statistics checked against the data: every level sums to the one above, ratios from sums,
//! class breaks by hand.

use super::*;
use crate::index::Snapshot;

/// The sample, its coverage at the three radii and its year of events in a book.
fn sample() -> (Dataset, [CoverageMap; 3], Book) {
    let data = crate::sample::dataset().unwrap();
    let coverage = RADII_M.map(|r| CoverageMap::compute(&data, r, None));
    let snap = Snapshot::build(data.clone());
    let book = crate::generate::events::year_book(&snap);
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
