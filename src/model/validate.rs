//! Model rules. Every problem names the layer, the feature and what is wrong, so an import can be
//! fixed from its report alone.

use std::fmt;

use geo::{CoordsIter, MultiPolygon, Point, Validation};

use super::{
    CodeLevel, Dataset, Layer, MemberKind, Shared, code_level, grid_village_code, village_town_code,
};

/// One broken rule: `layer` feature `id` has `message`.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Problem {
    /// The layer's name (a built-in or a declared layer).
    pub layer: &'static str,
    pub id: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.layer, self.id, self.message)
    }
}

/// Every problem found, in layer order.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct ValidationReport {
    pub problems: Vec<Problem>,
}

impl ValidationReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    fn push(&mut self, layer: Layer, id: impl fmt::Display, message: impl Into<String>) {
        self.problems.push(Problem {
            layer: layer.name(),
            id: id.to_string(),
            message: message.into(),
        });
    }
}

impl fmt::Display for ValidationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 20;
        write!(f, "{} problem(s)", self.problems.len())?;
        for p in self.problems.iter().take(SHOWN) {
            write!(f, "\n  {p}")?;
        }
        if self.problems.len() > SHOWN {
            write!(f, "\n  ... and {} more", self.problems.len() - SHOWN)?;
        }
        Ok(())
    }
}

/// Longitude/latitude inside the WGS84 domain, as finite numbers.
pub(crate) fn lon_lat_in_range(lon: f64, lat: f64) -> bool {
    lon.is_finite()
        && lat.is_finite()
        && (-180.0..=180.0).contains(&lon)
        && (-90.0..=90.0).contains(&lat)
}

fn check_area(report: &mut ValidationReport, layer: Layer, id: &str, geometry: &MultiPolygon) {
    if geometry.0.is_empty() {
        report.push(
            layer,
            id,
            "geometry is empty; give a Polygon or MultiPolygon",
        );
        return;
    }
    if let Some(c) = geometry.coords_iter().find(|c| !lon_lat_in_range(c.x, c.y)) {
        report.push(
            layer,
            id,
            format!(
                "coordinate ({}, {}) is outside lon -180..180 / lat -90..90; give WGS84 lon/lat",
                c.x, c.y
            ),
        );
        return;
    }
    if let Err(e) = geometry.check_validation() {
        report.push(layer, id, format!("invalid geometry: {e}"));
    }
}

fn check_point(report: &mut ValidationReport, layer: Layer, id: impl fmt::Display, p: Point) {
    if !lon_lat_in_range(p.x(), p.y()) {
        report.push(
            layer,
            id,
            format!(
                "point ({}, {}) is outside lon -180..180 / lat -90..90; give WGS84 lon/lat",
                p.x(),
                p.y()
            ),
        );
    }
}

fn check_code(report: &mut ValidationReport, layer: Layer, code: &str, level: CodeLevel) -> bool {
    if code_level(code) == Some(level) {
        return true;
    }
    report.push(
        layer,
        code,
        format!("code must be {} digits", level.digits()),
    );
    false
}

/// The keys of a layer, each reported when it appears more than once.
fn unique_keys<K: std::hash::Hash + Eq + fmt::Display>(
    report: &mut ValidationReport,
    layer: Layer,
    keys: impl Iterator<Item = K>,
) -> foldhash::HashSet<K> {
    let mut seen = foldhash::HashSet::default();
    for key in keys {
        if let Some(again) = seen.replace(key) {
            report.push(
                layer,
                again,
                "appears more than once; codes and ids must be unique",
            );
        }
    }
    seen
}

/// Run `checks` of a record's own fields, unless it passed them before (`Shared::checked`);
/// marks it when it passes now.
fn own_fields<T>(
    report: &mut ValidationReport,
    record: &Shared<T>,
    checks: impl FnOnce(&mut ValidationReport),
) {
    if record.checked() {
        return;
    }
    let before = report.problems.len();
    checks(report);
    if report.problems.len() == before {
        record.mark_checked();
    }
}

fn check_name(report: &mut ValidationReport, layer: Layer, id: impl fmt::Display, name: &str) {
    if name.trim().is_empty() {
        report.push(layer, id, "name is empty");
    }
}

/// A valid `YYYY-MM-DD` from year 1 on (no founding date lies in year 0).
fn is_iso_date(s: &str) -> bool {
    super::date::days_since_epoch(s).is_some() && !s.starts_with("0000")
}

/// Check every rule of the model over a whole dataset: geometry, codes, nesting and references.
pub fn validate_dataset(d: &Dataset) -> ValidationReport {
    validate_dataset_with(d, &super::records::Units::of(d))
}

/// `validate_dataset` with the index of `d`'s units the caller has already built. The checks of
/// a record's own fields (code form, name, geometry, dates) run once per record; those between
/// records (unique keys, parents, references) run over every record each time.
pub fn validate_dataset_with(d: &Dataset, units: &super::records::Units) -> ValidationReport {
    let mut r = ValidationReport::default();

    let towns = unique_keys(
        &mut r,
        Layer::Towns,
        d.towns.iter().map(|t| t.code.as_str()),
    );
    for t in &d.towns {
        own_fields(&mut r, t, |r| {
            check_code(r, Layer::Towns, &t.code, CodeLevel::Town);
            check_name(r, Layer::Towns, &t.code, &t.name);
            check_area(r, Layer::Towns, &t.code, &t.geometry);
        });
    }

    let villages = unique_keys(
        &mut r,
        Layer::Villages,
        d.villages.iter().map(|v| v.code.as_str()),
    );
    for v in &d.villages {
        own_fields(&mut r, v, |r| {
            check_code(r, Layer::Villages, &v.code, CodeLevel::Village);
            check_name(r, Layer::Villages, &v.code, &v.name);
            check_area(r, Layer::Villages, &v.code, &v.geometry);
        });
        if code_level(&v.code) == Some(CodeLevel::Village)
            && !towns.contains(village_town_code(&v.code))
        {
            r.push(
                Layer::Villages,
                &v.code,
                format!(
                    "its town {} (the code's first 9 digits) does not exist; import the town first",
                    v.town_code()
                ),
            );
        }
    }

    let grids = unique_keys(
        &mut r,
        Layer::Grids,
        d.grids.iter().map(|g| g.code.as_str()),
    );
    for g in &d.grids {
        own_fields(&mut r, g, |r| {
            check_code(r, Layer::Grids, &g.code, CodeLevel::Grid);
            check_name(r, Layer::Grids, &g.code, &g.name);
            if g.households > g.population {
                r.push(
                    Layer::Grids,
                    &g.code,
                    format!(
                        "households ({}) exceed population ({})",
                        g.households, g.population
                    ),
                );
            }
            check_area(r, Layer::Grids, &g.code, &g.geometry);
        });
        if code_level(&g.code) == Some(CodeLevel::Grid)
            && !villages.contains(grid_village_code(&g.code))
        {
            r.push(
                Layer::Grids,
                &g.code,
                format!("its village {} (the code's first 12 digits) does not exist; import the village first", g.village_code()),
            );
        }
    }

    unique_keys(&mut r, Layer::Stations, d.stations.iter().map(|s| s.id));
    for s in &d.stations {
        own_fields(&mut r, s, |r| {
            check_name(r, Layer::Stations, s.id, &s.name);
            if s.services.is_empty() {
                r.push(
                    Layer::Stations,
                    s.id,
                    "services is empty; give at least one of policy, mediation, relief, civility",
                );
            }
            check_point(r, Layer::Stations, s.id, s.location);
        });
        if !grids.contains(s.grid_code.as_str()) {
            r.push(
                Layer::Stations,
                s.id,
                format!(
                    "grid_code {} does not exist; give the 15-digit code of the grid it stands in",
                    s.grid_code
                ),
            );
        }
    }

    let alliances = unique_keys(&mut r, Layer::Alliances, d.alliances.iter().map(|a| a.id));
    for a in &d.alliances {
        own_fields(&mut r, a, |r| {
            check_name(r, Layer::Alliances, a.id, &a.name);
            if !is_iso_date(&a.founded) {
                r.push(
                    Layer::Alliances,
                    a.id,
                    format!("founded '{}' is not a date; write YYYY-MM-DD", a.founded),
                );
            }
        });
    }

    unique_keys(&mut r, Layer::Members, d.members.iter().map(|m| m.id));
    for m in &d.members {
        own_fields(&mut r, m, |r| {
            check_name(r, Layer::Members, m.id, &m.name);
            if let (None, MemberKind::Village) = (&m.village_code, m.kind) {
                r.push(
                    Layer::Members,
                    m.id,
                    "a village member needs village_code (12 digits)",
                );
            }
            match m.location {
                Some(p) => check_point(r, Layer::Members, m.id, p),
                None if m.kind != MemberKind::Village => r.push(
                    Layer::Members,
                    m.id,
                    format!("a {} member needs a Point geometry", m.kind.name()),
                ),
                None => {}
            }
        });
        if !alliances.contains(&m.alliance_id) {
            r.push(
                Layer::Members,
                m.id,
                format!(
                    "alliance_id {} does not exist; import the alliance first",
                    m.alliance_id
                ),
            );
        }
        if let Some(code) = &m.village_code
            && !villages.contains(code.as_str())
        {
            r.push(
                Layer::Members,
                m.id,
                format!("village_code {code} does not exist"),
            );
        }
    }
    // Declared layers: unique keys, and each feature's town, village and grid as stored are
    // the ones its location (or its key) gives in this dataset.
    r.problems
        .extend(super::records::check_declared(d, units).problems);
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Grid, Personal, Town, Village};
    use geo::{MultiPolygon, polygon};

    fn square(x: f64, y: f64, size: f64) -> MultiPolygon {
        MultiPolygon(vec![polygon![
            (x: x, y: y), (x: x + size, y: y), (x: x + size, y: y + size), (x: x, y: y + size), (x: x, y: y),
        ]])
    }

    fn tiny() -> Dataset {
        Dataset {
            towns: crate::model::share(vec![Town {
                code: "321181001".into(),
                name: "云阳街道".into(),
                mca_code: "321181001".into(),
                kind: "街道".into(),
                geometry: square(119.5, 31.9, 0.1),
            }]),
            villages: crate::model::share(vec![Village {
                code: "321181001001".into(),
                name: "太阳城社区居委会".into(),
                kind: "社区居委会".into(),
                geometry: square(119.5, 31.9, 0.1),
            }]),
            grids: crate::model::share(vec![Grid {
                code: "321181001001001".into(),
                name: "第1网格".into(),
                households: 10,
                population: 25,
                worker: Personal::default(),
                geometry: square(119.5, 31.9, 0.1),
            }]),
            ..Dataset::default()
        }
    }

    #[test]
    fn a_consistent_dataset_passes() {
        assert_eq!(validate_dataset(&tiny()).problems, vec![]);
    }

    #[test]
    fn a_grid_whose_village_is_missing_is_named() {
        let mut d = tiny();
        d.grids[0].code = "321181001002001".into();
        let r = validate_dataset(&d);
        assert_eq!(r.problems.len(), 1);
        assert_eq!(r.problems[0].id, "321181001002001");
        assert!(r.problems[0].message.contains("321181001002"), "{r}");
    }

    #[test]
    fn a_self_intersecting_bowtie_is_rejected() {
        let mut d = tiny();
        d.villages[0].geometry = MultiPolygon(vec![polygon![
            (x: 119.5, y: 31.9), (x: 119.6, y: 32.0), (x: 119.6, y: 31.9), (x: 119.5, y: 32.0), (x: 119.5, y: 31.9),
        ]]);
        let r = validate_dataset(&d);
        assert_eq!(r.problems.len(), 1, "{r}");
        assert_eq!(r.problems[0].layer, "villages");
        assert!(r.problems[0].message.contains("invalid geometry"), "{r}");
    }

    #[test]
    fn out_of_range_latitude_is_rejected() {
        let mut d = tiny();
        d.towns[0].geometry = square(119.5, 95.0, 0.1);
        let r = validate_dataset(&d);
        assert!(
            r.problems[0].message.contains("outside lon -180..180"),
            "{r}"
        );
    }

    #[test]
    fn badly_sized_codes_and_duplicates_are_rejected() {
        let mut d = tiny();
        d.grids.push(d.grids[0].clone());
        d.grids.push(crate::model::Shared::new(Grid {
            code: "3211810010010".into(),
            ..Grid::clone(&d.grids[0])
        }));
        let r = validate_dataset(&d);
        let messages: Vec<_> = r.problems.iter().map(|p| p.message.as_str()).collect();
        assert!(messages.iter().any(|m| m.contains("more than once")), "{r}");
        assert!(messages.iter().any(|m| m.contains("15 digits")), "{r}");
    }

    #[test]
    fn dates_must_be_iso() {
        assert!(is_iso_date("2022-07-01"));
        assert!(!is_iso_date("2022-13-01"));
        assert!(!is_iso_date("2022/07/01"));
        assert!(!is_iso_date("22-07-01"));
        assert!(!is_iso_date("2023-02-29"), "not a leap year");
        assert!(is_iso_date("2024-02-29"));
        assert!(!is_iso_date("2024-04-31"));
    }

    /// `d` with every record copied: nothing in it checked before.
    fn fresh(d: &Dataset) -> Dataset {
        use crate::model::{share, unshare};
        Dataset {
            towns: share(unshare(&d.towns)),
            villages: share(unshare(&d.villages)),
            grids: share(unshare(&d.grids)),
            stations: share(unshare(&d.stations)),
            alliances: share(unshare(&d.alliances)),
            members: share(unshare(&d.members)),
            ..d.clone()
        }
    }

    fn sorted(r: ValidationReport) -> Vec<Problem> {
        let mut p = r.problems;
        p.sort_by(|a, b| (a.layer, &a.id, &a.message).cmp(&(b.layer, &b.id, &b.message)));
        p
    }

    /// Edits, some breaking a record's own fields and some the references between records, to a
    /// copy of a dataset validated before (its records marked): the report is the one a dataset
    /// of fresh copies gives, where every check runs.
    #[test]
    fn a_dataset_checked_before_reports_what_a_fresh_one_reports_after_edits() {
        let base = crate::sample::dataset().unwrap();
        assert!(validate_dataset(&base).is_ok());
        assert!(base.grids.iter().all(|g| g.checked()), "marked");
        let bowtie = MultiPolygon(vec![polygon![
            (x: 119.5, y: 31.9), (x: 119.6, y: 32.0), (x: 119.6, y: 31.9), (x: 119.5, y: 32.0), (x: 119.5, y: 31.9),
        ]]);
        let mut state = 7u64;
        let mut next = |n: usize| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as usize % n
        };
        for round in 0..40 {
            let mut d = base.clone();
            for _ in 0..1 + round % 4 {
                let g = next(d.grids.len());
                let s = next(d.stations.len());
                match next(9) {
                    0 => d.grids[g].households = d.grids[g].population + 1,
                    1 => d.grids[g].name = " ".into(),
                    2 => d.grids[g].geometry = bowtie.clone(),
                    3 => d.stations[s].location = Point::new(200.0, 32.0),
                    4 => d.stations[s].grid_code = "321181999999999".into(),
                    5 => {
                        let v = next(d.villages.len());
                        d.villages.remove(v);
                    }
                    6 => {
                        let copy = d.grids[g].clone();
                        d.grids.push(copy);
                    }
                    7 => {
                        let m = next(d.members.len());
                        d.members[m].alliance_id = 999_999;
                    }
                    _ => d.towns[0].code = "32118".into(),
                }
            }
            let report = validate_dataset(&d);
            assert!(!report.is_ok(), "round {round}: every edit breaks a rule");
            assert_eq!(
                sorted(report),
                sorted(validate_dataset(&fresh(&d))),
                "round {round}"
            );
            assert!(validate_dataset(&base).is_ok(), "the base is untouched");
        }
    }
}
