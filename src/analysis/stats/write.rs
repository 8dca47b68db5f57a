//! The units written out: rows (what `/stats` answers and `gridmap stats` prints), quantile
//! class breaks for a choropleth's legend, and the JSON, GeoJSON and CSV answers.

use std::collections::HashMap;

use super::{Level, Metric, Unit};
use crate::analysis::table;
use crate::model::Dataset;

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
