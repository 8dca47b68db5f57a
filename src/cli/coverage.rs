//! `gridmap coverage` and `gridmap suggest`: the planners' reports on a terminal, as CSV or as
//! GeoJSON.

use std::io::Write;

use crate::analysis::coverage::{CoverageMap, Level, UnitCoverage, report, unit_gap};
use crate::analysis::siting::{centroid_candidates, suggest};
use crate::model::{Dataset, Service};

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Geojson,
}

/// Columns on a terminal: East Asian wide characters (Chinese names) take two.
pub fn display_width(s: &str) -> usize {
    s.chars()
        .map(|c| match c as u32 {
            0x1100..=0x115F
            | 0x2E80..=0x303E
            | 0x3041..=0x33FF
            | 0x3400..=0x4DBF
            | 0x4E00..=0x9FFF
            | 0xA000..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6
            | 0x20000..=0x3FFFD => 2,
            _ => 1,
        })
        .sum()
}

/// `s` padded with spaces to `width` terminal columns (left-aligned).
fn pad(s: &str, width: usize) -> String {
    format!("{s}{}", " ".repeat(width.saturating_sub(display_width(s))))
}

fn uncovered(u: &UnitCoverage) -> f64 {
    u.population as f64 - u.population_covered
}

/// Print the coverage report of `level`, worst covered first.
pub fn print_coverage(
    out: &mut impl Write,
    data: &Dataset,
    radius_m: f64,
    level: Level,
    service: Option<Service>,
    format: Format,
) -> std::io::Result<()> {
    let map = CoverageMap::compute(data, radius_m, service);
    let (units, total) = report(data, &map, level);
    match format {
        Format::Csv => {
            writeln!(
                out,
                "code,name,area_m2,covered_area_m2,covered_share,population,population_covered,households,households_covered,stations"
            )?;
            for u in units.iter().chain([&total]) {
                writeln!(
                    out,
                    "{},\"{}\",{:.1},{:.1},{:.4},{},{:.1},{},{:.1},{}",
                    u.code,
                    u.name.replace('"', "\"\""),
                    u.area_m2,
                    u.covered_area_m2,
                    u.covered_share,
                    u.population,
                    u.population_covered,
                    u.households,
                    u.households_covered,
                    u.stations
                )?;
            }
        }
        Format::Geojson => {
            let features: Vec<geojson::Feature> = units
                .iter()
                .filter(|u| u.covered_share < 1.0)
                .map(|u| {
                    let mut f = geojson::Feature::from(geojson::Geometry::from(&unit_gap(&map, u)));
                    f.id = Some(geojson::feature::Id::String(u.code.clone()));
                    for (k, v) in [
                        ("code", serde_json::json!(u.code)),
                        ("name", serde_json::json!(u.name)),
                        (
                            "uncovered_area_m2",
                            serde_json::json!(u.area_m2 - u.covered_area_m2),
                        ),
                        ("uncovered_population", serde_json::json!(uncovered(u))),
                        ("covered_share", serde_json::json!(u.covered_share)),
                    ] {
                        f.set_property(k, v);
                    }
                    f
                })
                .collect();
            writeln!(out, "{}", geojson::FeatureCollection::from_iter(features))?;
        }
        Format::Table => {
            let name_width = units
                .iter()
                .map(|u| display_width(&u.name))
                .max()
                .unwrap_or(4)
                .max(4);
            writeln!(
                out,
                "{:<15}  {}  {:>10}  {:>8}  {:>10}  {:>10}  {:>8}",
                "code",
                pad("name", name_width),
                "area km2",
                "covered",
                "people",
                "uncovered",
                "stations"
            )?;
            for u in units.iter().chain([&total]) {
                writeln!(
                    out,
                    "{:<15}  {}  {:>10.2}  {:>7.1}%  {:>10}  {:>10.0}  {:>8}",
                    u.code,
                    pad(&u.name, name_width),
                    u.area_m2 / 1e6,
                    u.covered_share * 100.0,
                    u.population,
                    uncovered(u),
                    u.stations
                )?;
            }
        }
    }
    Ok(())
}

/// Print `k` proposed sites, best first, with the gain of each and the total after it.
pub fn print_suggestions(
    out: &mut impl Write,
    data: &Dataset,
    radius_m: f64,
    k: usize,
    villages: bool,
    service: Option<Service>,
) -> std::io::Result<()> {
    let map = CoverageMap::compute(data, radius_m, service);
    let (_, total) = report(data, &map, Level::Town);
    let candidates = centroid_candidates(data, villages);
    let picks = suggest(
        data,
        &map,
        &candidates,
        k,
        total.population_covered,
        total.population as f64,
    );
    writeln!(
        out,
        "covered today: {:.0} of {} people ({:.1}%) within {radius_m} m",
        total.population_covered,
        total.population,
        total.population_covered / total.population.max(1) as f64 * 100.0
    )?;
    writeln!(
        out,
        "{:>4}  {:<15}  {:>11}  {:>10}  {:>8}  {:>10}",
        "rank", "site", "lon", "lat", "gain", "covered"
    )?;
    for p in &picks {
        writeln!(
            out,
            "{:>4}  {:<15}  {:>11.6}  {:>10.6}  {:>8.0}  {:>9.1}%",
            p.rank,
            p.candidate,
            p.lon,
            p.lat,
            p.gain,
            p.covered_share_after * 100.0
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_names_take_two_columns() {
        assert_eq!(display_width("陵口镇"), 6);
        assert_eq!(display_width("abc"), 3);
        assert_eq!(display_width("云阳街道（城区）"), 16);
        assert_eq!(display_width(&pad("丹北镇", 10)), 10);
    }
}
