//! Statistics over time (趋势): the event metrics of `analysis::stats` for each unit of a level,
//! per calendar day, week or month. Periods are China Standard Time (UTC+8, no daylight saving):
//! the months a Danyang command centre reports by. Each period counts the cases reported in it,
//! so a period's figures never change as later periods fill (a case closed late still counts for
//! the month it was reported in, on time or not).

use super::stats::{self, Counts, Level, Metric, Unit, count_case, units_of};
use super::table;
use crate::events::Book;
use crate::model::Dataset;
use crate::model::date::{civil_from_days, days_from_civil, parse_utc};

/// China Standard Time's offset from UTC.
pub const UTC_OFFSET_MS: i64 = 8 * 3_600_000;
/// Most periods one answer carries (over ten years of months, a year and a month of days).
pub const MAX_PERIODS: usize = 400;
const DAY_MS: i64 = 86_400_000;

/// How long a period is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interval {
    Day,
    /// Monday to Sunday (ISO 8601 weeks).
    Week,
    Month,
}

impl Interval {
    pub const ALL: [Interval; 3] = [Interval::Day, Interval::Week, Interval::Month];

    pub fn name(self) -> &'static str {
        match self {
            Interval::Day => "day",
            Interval::Week => "week",
            Interval::Month => "month",
        }
    }

    /// The interval a name gives (month when absent), or why not, listing them.
    pub fn parse(asked: Option<&str>) -> Result<Interval, String> {
        let name = asked.unwrap_or("month");
        Interval::ALL
            .into_iter()
            .find(|i| i.name() == name)
            .ok_or_else(|| {
                format!(
                    "'{name}' is not an interval; use {}",
                    Interval::ALL.map(Interval::name).join(", ")
                )
            })
    }

    /// The start (Unix ms) of the period holding `at_ms`.
    fn floor(self, at_ms: i64) -> i64 {
        let day = (at_ms + UTC_OFFSET_MS).div_euclid(DAY_MS);
        let first = match self {
            Interval::Day => day,
            // 1970-01-01 was a Thursday: Monday is three days after it, modulo seven.
            Interval::Week => day - (day - 4).rem_euclid(7),
            Interval::Month => {
                let (y, m, _) = civil_from_days(day);
                days_from_civil(y, i64::from(m), 1)
            }
        };
        first * DAY_MS - UTC_OFFSET_MS
    }

    /// The start of the period after the one starting at `start_ms`.
    fn next(self, start_ms: i64) -> i64 {
        match self {
            Interval::Day => start_ms + DAY_MS,
            Interval::Week => start_ms + 7 * DAY_MS,
            Interval::Month => {
                let day = (start_ms + UTC_OFFSET_MS).div_euclid(DAY_MS);
                let (y, m, _) = civil_from_days(day);
                let (y, m) = if m == 12 {
                    (y + 1, 1)
                } else {
                    (y, i64::from(m) + 1)
                };
                days_from_civil(y, m, 1) * DAY_MS - UTC_OFFSET_MS
            }
        }
    }
}

/// One period: `[start_ms, end_ms)` and its label in China Standard Time (`2026-03` for a
/// month, the first day for a day or week).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Period {
    pub start_ms: i64,
    pub end_ms: i64,
    pub label: String,
}

/// A time as a trend reads it: a date (`2026-04-01`) is that day's midnight in China Standard
/// Time, where the trend's days begin; an RFC 3339 UTC time (`2026-03-31T16:00:00Z`) is that
/// instant. `None` for anything else.
pub fn read_time(text: &str) -> Option<i64> {
    let ms = parse_utc(text)? * 1000;
    Some(if text.len() == 10 {
        ms - UTC_OFFSET_MS
    } else {
        ms
    })
}

/// The periods of `interval` holding the instants of `[from_ms, to_ms)`: from the one holding
/// `from_ms` to the one holding the last instant before `to_ms`. Past `MAX_PERIODS`, an error
/// when `strict`, else the last `MAX_PERIODS`. An error too when `to_ms` is not after `from_ms`.
pub fn periods(
    interval: Interval,
    from_ms: i64,
    to_ms: i64,
    strict: bool,
) -> Result<Vec<Period>, String> {
    if to_ms <= from_ms {
        return Err("'to' must come after 'from'".into());
    }
    // Backwards from the last, so that a span reaching far back costs no more than the limit.
    let mut starts = vec![interval.floor(to_ms - 1)];
    while let Some(&start) = starts.last()
        && start > from_ms
    {
        if starts.len() == MAX_PERIODS {
            if strict {
                return Err(format!(
                    "that span holds more than {MAX_PERIODS} periods of a {}; give a later 'from' or a longer interval",
                    interval.name()
                ));
            }
            break;
        }
        starts.push(interval.floor(start - 1));
    }
    Ok(starts
        .into_iter()
        .rev()
        .map(|start| {
            let (y, m, d) = civil_from_days((start + UTC_OFFSET_MS).div_euclid(DAY_MS));
            let label = match interval {
                Interval::Month => format!("{y:04}-{m:02}"),
                Interval::Day | Interval::Week => format!("{y:04}-{m:02}-{d:02}"),
            };
            Period {
                start_ms: start,
                end_ms: interval.next(start),
                label,
            }
        })
        .collect())
}

/// Why a trend's span was refused: the parameter and the fix.
#[derive(Debug, PartialEq)]
pub struct Refusal {
    pub field: &'static str,
    pub message: String,
}

/// The periods a trend covers when asked for `[from, to)`: without `to`, up to now (or the last
/// case reported, if later); without `from`, from the first case reported, at most the last
/// `MAX_PERIODS`. A `from` that makes more than `MAX_PERIODS` is refused.
pub fn plan(
    book: &Book,
    interval: Interval,
    from_ms: Option<i64>,
    to_ms: Option<i64>,
    now_ms: i64,
) -> Result<Vec<Period>, Refusal> {
    let reported = book.summaries().iter().map(|s| s.reported_at_ms);
    let to = to_ms.unwrap_or_else(|| {
        reported
            .clone()
            .max()
            .map_or(now_ms, |last| now_ms.max(last + 1))
    });
    let refuse = |field, message| Refusal { field, message };
    match from_ms {
        Some(from) if to <= from => Err(refuse("to", "'to' must come after 'from'".into())),
        Some(from) => periods(interval, from, to, true).map_err(|m| refuse("from", m)),
        None => {
            let first = reported.min().unwrap_or(to - 1).min(to - 1);
            periods(interval, first, to, false).map_err(|m| refuse("to", m))
        }
    }
}

/// The metrics a trend carries: those a comma-separated list names (every metric of events
/// when absent), or why not.
pub fn metrics(asked: Option<&str>, categories: &[&str]) -> Result<Vec<Metric>, String> {
    let metrics = match asked {
        None => Metric::all(categories)
            .into_iter()
            .filter(Metric::of_events)
            .collect(),
        Some(_) => stats::metrics(asked, categories)?,
    };
    check_metrics(&metrics)?;
    Ok(metrics)
}

/// One unit's counts in each period (`counts[k]` for `periods[k]`). Population and households
/// are the unit's now, in every period, so that rates per 1,000 residents are comparable.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub code: String,
    pub name: String,
    pub counts: Vec<Counts>,
}

/// Every unit of `level`, in code order, with the cases of `book` counted in the period they
/// were reported in (cases outside every period are left out).
pub fn tally(
    data: &Dataset,
    book: &Book,
    periods: &[Period],
    now_ms: i64,
    level: Level,
) -> Vec<Series> {
    let (units, at) = units_of(data, level);
    let mut residents: Vec<Counts> = vec![Counts::default(); units.len()];
    for g in &data.grids {
        if let Some(u) = at.at(&g.code) {
            residents[u].population += u64::from(g.population);
            residents[u].households += u64::from(g.households);
        }
    }
    let mut series: Vec<Series> = units
        .into_iter()
        .zip(residents)
        .map(|(Unit { code, name, .. }, base)| Series {
            code,
            name,
            counts: vec![base; periods.len()],
        })
        .collect();
    let (Some(first), Some(last)) = (periods.first(), periods.last()) else {
        return series;
    };
    for case in book.summaries() {
        let t = case.reported_at_ms;
        if t < first.start_ms || t >= last.end_ms {
            continue;
        }
        let Some(u) = at.at(case.unit()) else {
            continue;
        };
        let k = periods.partition_point(|p| p.end_ms <= t);
        count_case(
            &mut series[u].counts[k],
            case,
            book.category(case.category),
            now_ms,
        );
    }
    series
}

/// The metrics a trend can carry (those of events), or why one cannot.
fn check_metrics(metrics: &[Metric]) -> Result<(), String> {
    match metrics.iter().find(|m| !m.of_events()) {
        None => Ok(()),
        Some(m) => Err(format!(
            "'{}' describes the map as it is, not events over time; a trend takes events, events_<category>, events_per_1000, events_per_1000_<category>, closure_share, on_time_share, median_hours_to_close or mean_rating",
            m.name()
        )),
    }
}

/// The counts of every series added up, per period: the area the series cover.
pub fn total(series: &[Series], periods: usize) -> Vec<Counts> {
    let mut total = vec![Counts::default(); periods];
    for s in series {
        for (t, c) in total.iter_mut().zip(&s.counts) {
            t.add(c);
        }
    }
    total
}

/// The trend as JSON: the periods, then per unit and for the total a list of values per metric
/// (one per period, `null` where a ratio has nothing to divide by).
pub fn json(
    series: &[Series],
    metrics: &[Metric],
    level: Level,
    interval: Interval,
    periods: &[Period],
) -> serde_json::Value {
    use crate::model::date::utc_text_ms;
    let values = |counts: &[Counts]| -> serde_json::Map<String, serde_json::Value> {
        metrics
            .iter()
            .map(|m| {
                let v: Vec<serde_json::Value> = counts
                    .iter()
                    .map(|c| stats::json_value(m, m.value(c)))
                    .collect();
                (m.name(), v.into())
            })
            .collect()
    };
    serde_json::json!({
        "level": level.name(),
        "interval": interval.name(),
        "time_zone": "+08:00",
        "metrics": metrics.iter().map(Metric::name).collect::<Vec<_>>(),
        "periods": periods.iter().map(|p| serde_json::json!({
            "label": p.label, "start": utc_text_ms(p.start_ms), "end": utc_text_ms(p.end_ms),
        })).collect::<Vec<_>>(),
        "units": series.iter().map(|s| serde_json::json!({
            "code": s.code, "name": s.name, "values": values(&s.counts),
        })).collect::<Vec<_>>(),
        "total": values(&total(series, periods.len())),
    })
}

/// The trend as CSV in long form: a line per unit and period (`period`, `code`, `name`, then
/// one column per metric), as spreadsheets pivot.
pub fn csv(series: &[Series], metrics: &[Metric], periods: &[Period]) -> String {
    let header = ["period", "code", "name"]
        .into_iter()
        .map(str::to_string)
        .chain(metrics.iter().map(Metric::name));
    let rows = series.iter().flat_map(|s| {
        periods.iter().zip(&s.counts).map(|(p, c)| {
            [p.label.clone(), s.code.clone(), s.name.clone()]
                .into_iter()
                .chain(
                    metrics
                        .iter()
                        .map(|m| table::cell(&stats::json_value(m, m.value(c)))),
                )
                .collect::<Vec<_>>()
        })
    });
    table::csv(header, rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::Snapshot;

    fn ms(text: &str) -> i64 {
        parse_utc(text).unwrap() * 1000
    }

    #[test]
    fn months_weeks_and_days_start_at_midnight_in_china() {
        let labels = |p: &[Period]| p.iter().map(|p| p.label.clone()).collect::<Vec<_>>();
        let month = |from, to| periods(Interval::Month, from, to, true).unwrap();
        // 2026-03-01 00:00 in China is 2026-02-28 16:00 UTC.
        let p = month(ms("2026-02-28T16:00:00Z"), ms("2026-05-01"));
        assert_eq!(labels(&p), ["2026-03", "2026-04", "2026-05"]);
        assert_eq!(p[0].start_ms, ms("2026-02-28T16:00:00Z"));
        assert_eq!(p[0].end_ms, ms("2026-03-31T16:00:00Z"));
        // One second earlier is still February in China.
        let p = month(ms("2026-02-28T15:59:59Z"), ms("2026-03-01"));
        assert_eq!(p[0].label, "2026-02");
        // December rolls over into January.
        let p = month(ms("2026-12-15"), ms("2027-01-15"));
        assert_eq!(labels(&p), ["2026-12", "2027-01"]);
        // 2026-12-02 is a Wednesday: its week began on Monday 2026-11-30, China time.
        let p = periods(
            Interval::Week,
            ms("2026-12-02T12:00:00Z"),
            ms("2026-12-03"),
            true,
        );
        let p = p.unwrap();
        assert_eq!(p[0].label, "2026-11-30");
        assert_eq!(p[0].start_ms, ms("2026-11-29T16:00:00Z"));
        assert_eq!(p[0].end_ms - p[0].start_ms, 7 * DAY_MS);
        let day = |from, to| periods(Interval::Day, from, to, true);
        let p = day(ms("2026-12-02T17:00:00Z"), ms("2026-12-03T17:00:00Z")).unwrap();
        assert_eq!(labels(&p), ["2026-12-03", "2026-12-04"]);
        // A date is midnight in China: January to March, April left out.
        let p = month(
            read_time("2026-01-01").unwrap(),
            read_time("2026-04-01").unwrap(),
        );
        assert_eq!(labels(&p), ["2026-01", "2026-02", "2026-03"]);
        assert_eq!(read_time("2026-04-01T00:00:00Z"), Some(ms("2026-04-01")));
        assert_eq!(read_time("April"), None);
        // Past the limit: refused when strict, else the last periods up to the end.
        assert!(day(ms("2020-01-01"), ms("2026-01-01")).is_err());
        let last = periods(Interval::Day, ms("2020-01-01"), ms("2026-01-01"), false).unwrap();
        assert_eq!(last.len(), MAX_PERIODS);
        assert_eq!(last.last().unwrap().label, "2026-01-01");
        assert!(day(ms("2026-01-01"), ms("2026-01-01")).is_err());
    }

    #[test]
    fn every_case_is_counted_once_in_the_period_it_was_reported_in() {
        let data = crate::sample::dataset().unwrap();
        let snap = Snapshot::build(data.clone());
        let book = crate::generate::events::year_book(&snap);
        let now_ms = crate::generate::events::YEAR_START_MS + crate::generate::events::YEAR_MS;
        let months = plan(&book, Interval::Month, None, Some(now_ms), now_ms).unwrap();
        assert_eq!(
            months.len(),
            12,
            "the sample's year is December to November"
        );
        let series = tally(&data, &book, &months, now_ms, Level::Town);
        // Brute force: each case's month found by comparing with every month's bounds, its
        // town by its code's first nine digits.
        for (k, month) in months.iter().enumerate() {
            for s in &series {
                let cases: Vec<_> = book
                    .all()
                    .filter(|c| c.event.unit().starts_with(&s.code))
                    .filter(|c| (month.start_ms..month.end_ms).contains(&c.event.reported_at_ms))
                    .collect();
                let got = &s.counts[k];
                assert_eq!(got.events, cases.len() as u64, "{} {}", s.code, month.label);
                let on_time = cases.iter().filter(|c| c.on_time() == Some(true)).count();
                assert_eq!(got.closed_on_time, on_time as u64);
                let hazard = cases
                    .iter()
                    .filter(|c| c.event.category == "hazard")
                    .count();
                assert_eq!(
                    Metric::CategoryEvents("hazard".into()).value(got),
                    Some(hazard as f64)
                );
            }
        }
        // And the months add up to the whole year's statistics of each town.
        let coverage = crate::analysis::stats::RADII_M
            .map(|r| crate::analysis::coverage::CoverageMap::compute(&data, r, None));
        let year = crate::analysis::stats::tally(
            &data,
            [&coverage[0], &coverage[1], &coverage[2]],
            &book,
            (i64::MIN, i64::MAX),
            now_ms,
            Level::Town,
        );
        for (s, u) in series.iter().zip(&year) {
            let events: u64 = s.counts.iter().map(|c| c.events).sum();
            assert_eq!(events, u.counts.events, "{}", u.code);
        }
        let total = total(&series, months.len());
        let all: u64 = total.iter().map(|c| c.events).sum();
        assert_eq!(all, book.len() as u64);
    }

    #[test]
    fn only_metrics_of_events_make_a_trend() {
        let names = |m: Vec<Metric>| m.iter().map(Metric::name).collect::<Vec<_>>();
        let asked = metrics(Some("events,on_time_share"), &["hazard"]).unwrap();
        assert_eq!(names(asked), ["events", "on_time_share"]);
        let all = names(metrics(None, &["hazard"]).unwrap());
        assert!(
            all.contains(&"events_hazard".to_string()) && !all.contains(&"population".to_string())
        );
        let refused = metrics(Some("events,population"), &[]).unwrap_err();
        assert!(refused.contains("'population'"), "{refused}");
    }

    #[test]
    fn a_plan_without_a_span_runs_from_the_first_case_to_now() {
        let book = Book::default();
        let now = ms("2026-12-02T12:00:00Z");
        // No cases: the current period alone.
        let p = plan(&book, Interval::Month, None, None, now).unwrap();
        assert_eq!(
            p.iter().map(|p| &p.label[..]).collect::<Vec<_>>(),
            ["2026-12"]
        );
        // A 'from' this month before any report: this month, not a refusal.
        let p = plan(&book, Interval::Month, read_time("2026-12-01"), None, now).unwrap();
        assert_eq!(p.len(), 1);
        let refused = plan(&book, Interval::Month, Some(now), Some(now - 1), now).unwrap_err();
        assert_eq!(refused.field, "to");
        let refused = plan(&book, Interval::Day, read_time("2020-01-01"), None, now).unwrap_err();
        assert_eq!(refused.field, "from");
    }
}
