//! Topology checks planners rely on: grids tile their village and villages tile their town,
//! without gaps or overlaps (全覆盖、无缝隙); stations stand inside their grid.

use std::collections::HashMap;
use std::fmt;

use geo::{Area, BooleanOps, BoundingRect, Intersects, MultiPolygon, unary_union};

use crate::geodesy::{WGS84_A, WGS84_F, distance_outside_m};
use crate::model::{Dataset, buildings};

/// Default tolerance per unit, in square metres. Stored coordinates are rounded to 1e-7 degrees
/// (about 1 cm) and boolean operations snap to a fixed grid, which leaves slivers along shared
/// edges: at most ~35 m² per unit on the sample (a town's boundary is tens of kilometres long).
/// A real error, say a missing 100 m x 100 m block or a 1 m strip along a 100 m edge, is larger.
pub const DEFAULT_TOLERANCE_M2: f64 = 50.0;

/// How far outside the grid its code names a building may stand (coordinates are rounded to
/// 1 cm; a digitised point on the boundary line may fall either side).
pub const BUILDING_TOLERANCE_M: f64 = 1.0;

/// A unit whose children do not tile it, a station or building outside its grid, or a grid whose
/// buildings do not add up to it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Offender {
    /// `village` (its grids), `town` (its villages), `station`, `building` or `grid` (its
    /// buildings' sums).
    pub level: &'static str,
    pub code: String,
    pub name: String,
    pub gap_m2: f64,
    pub overlap_m2: f64,
    pub outside_m2: f64,
    pub note: Option<String>,
}

impl Offender {
    /// An offender that is not about area: a post, a building or a grid's sums, and why.
    fn noted(level: &'static str, code: String, name: String, note: String) -> Offender {
        Offender {
            level,
            code,
            name,
            gap_m2: 0.0,
            overlap_m2: 0.0,
            outside_m2: 0.0,
            note: Some(note),
        }
    }
}

impl fmt::Display for Offender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.note {
            Some(note) => write!(f, "{} {} ({}): {note}", self.level, self.code, self.name),
            None => write!(
                f,
                "{} {} ({}): gap {:.1} m2, overlap {:.1} m2, outside {:.1} m2",
                self.level, self.code, self.name, self.gap_m2, self.overlap_m2, self.outside_m2
            ),
        }
    }
}

/// Area in m² of a small figure near `lat_deg`: planar area in square degrees times the local
/// size of a square degree on the WGS84 ellipsoid. Gaps and overlaps are slivers centimetres wide,
/// where this is exact to far better than their own size, and where the ellipsoidal polygon
/// algorithm loses precision (it sums large signed trapezoids around the pole).
fn area_m2(mp: &MultiPolygon, lat_deg: f64) -> f64 {
    let phi = lat_deg.to_radians();
    let e2 = WGS84_F * (2.0 - WGS84_F);
    let w = (1.0 - e2 * phi.sin().powi(2)).sqrt();
    let n = WGS84_A / w; // prime vertical radius of curvature
    let m = WGS84_A * (1.0 - e2) / w.powi(3); // meridional radius of curvature
    let m2_per_deg2 = (n * phi.cos()).to_radians() * m.to_radians();
    mp.unsigned_area() * m2_per_deg2
}

/// Gap, overlap and spill-over (m²) of `children` against `parent`.
pub fn tiling_errors_m2(parent: &MultiPolygon, children: &[&MultiPolygon]) -> (f64, f64, f64) {
    let lat = parent.bounding_rect().map(|r| r.center().y).unwrap_or(0.0);
    if children.is_empty() {
        return (area_m2(parent, lat), 0.0, 0.0);
    }
    let union = unary_union(children.iter().copied());
    let overlap = children.iter().map(|c| area_m2(c, lat)).sum::<f64>() - area_m2(&union, lat);
    (
        area_m2(&parent.difference(&union), lat),
        overlap.max(0.0),
        area_m2(&union.difference(parent), lat),
    )
}

/// Every unit whose gap, overlap or spill-over exceeds `tolerance_m2`, every station that does
/// not stand in its grid, every building more than `BUILDING_TOLERANCE_M` outside the grid its
/// code names (or with a negative count), and every grid whose buildings' households and
/// residents do not sum to its own.
pub fn check(data: &Dataset, tolerance_m2: f64) -> Vec<Offender> {
    let mut out = Vec::new();
    let mut grids_of: HashMap<&str, Vec<&MultiPolygon>> = HashMap::new();
    for g in &data.grids {
        grids_of
            .entry(g.village_code())
            .or_default()
            .push(&g.geometry);
    }
    let mut villages_of: HashMap<&str, Vec<&MultiPolygon>> = HashMap::new();
    for v in &data.villages {
        villages_of
            .entry(v.town_code())
            .or_default()
            .push(&v.geometry);
    }
    let units = data
        .villages
        .iter()
        .map(|v| {
            (
                "village",
                &v.code,
                &v.name,
                &v.geometry,
                grids_of.get(v.code.as_str()),
            )
        })
        .chain(data.towns.iter().map(|t| {
            (
                "town",
                &t.code,
                &t.name,
                &t.geometry,
                villages_of.get(t.code.as_str()),
            )
        }));
    for (level, code, name, geometry, children) in units {
        let children = children.map(Vec::as_slice).unwrap_or_default();
        let (gap_m2, overlap_m2, outside_m2) = tiling_errors_m2(geometry, children);
        if gap_m2.max(overlap_m2).max(outside_m2) > tolerance_m2 {
            out.push(Offender {
                level,
                code: code.clone(),
                name: name.clone(),
                gap_m2,
                overlap_m2,
                outside_m2,
                note: None,
            });
        }
    }
    let grid: HashMap<&str, &MultiPolygon> = data
        .grids
        .iter()
        .map(|g| (g.code.as_str(), &g.geometry))
        .collect();
    for s in &data.stations {
        if !grid
            .get(s.grid_code.as_str())
            .is_some_and(|g| g.intersects(&s.location))
        {
            out.push(Offender::noted(
                "station",
                s.id.to_string(),
                s.name.clone(),
                format!("does not stand inside its grid {}", s.grid_code),
            ));
        }
    }
    let mut sums: HashMap<&str, (u64, u64)> = HashMap::new();
    for b in buildings::all(data) {
        let sum = sums.entry(b.grid_code()).or_default();
        sum.0 += b.households;
        sum.1 += b.residents;
        let negative = ["households", "residents"]
            .into_iter()
            .find(|f| b.record.value(b.def, f).as_i64().is_some_and(|n| n < 0));
        let note = match grid.get(b.grid_code()) {
            _ if negative.is_some() => negative.map(|f| format!("{f} is negative")),
            None => Some(format!("its code names no grid ({})", b.grid_code())),
            Some(g) if g.intersects(&b.at) => None,
            Some(g) => {
                let outside_m = distance_outside_m(g, b.at);
                (outside_m > BUILDING_TOLERANCE_M)
                    .then(|| format!("stands {outside_m:.1} m outside its grid {}", b.grid_code()))
            }
        };
        if let Some(note) = note {
            out.push(Offender::noted(
                "building",
                b.code.to_string(),
                format!("{} {}", b.text("compound"), b.text("building")),
                note,
            ));
        }
    }
    // Coverage takes a grid's people from its buildings' shares: they should add up to it.
    for g in &data.grids {
        let Some(&(households, residents)) = sums.get(g.code.as_str()) else {
            continue;
        };
        if (households, residents) != (u64::from(g.households), u64::from(g.population)) {
            out.push(Offender::noted(
                "grid",
                g.code.clone(),
                g.name.clone(),
                format!(
                    "its buildings hold {households} households and {residents} residents; the grid has {} and {}",
                    g.households, g.population
                ),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geodesy::LocalPlane;
    use geo::polygon;

    fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon {
        MultiPolygon(vec![
            polygon![(x: x0, y: y0), (x: x1, y: y0), (x: x1, y: y1), (x: x0, y: y1), (x: x0, y: y0)],
        ])
    }

    #[test]
    fn a_building_more_than_a_metre_outside_its_grid_is_named() {
        let mut d = crate::sample::dataset().unwrap();
        assert!(check(&d, DEFAULT_TOLERANCE_M2).is_empty());
        let layer = d
            .declared
            .iter_mut()
            .find(|l| l.def.name == "buildings")
            .unwrap();
        let b = &mut layer.features[0];
        let grid_code = b.key[..15].to_string();
        let grid = d.grids.iter().find(|g| g.code == grid_code).unwrap();
        // The grid's easternmost vertex: every point of the grid lies west of it, so a point
        // due east of it is exactly that far from the grid.
        let east = grid
            .geometry
            .0
            .iter()
            .flat_map(|p| p.exterior().0.iter().copied())
            .max_by(|a, b| a.x.total_cmp(&b.x))
            .unwrap();
        let east_by = |m: f64| {
            let plane = LocalPlane::at(east.into());
            geo::Geometry::Point(plane.to_lon_lat(geo::coord! {x: m, y: 0.0}).into())
        };
        let code = b.key.clone();
        b.geometry = east_by(0.5);
        assert!(check(&d, DEFAULT_TOLERANCE_M2).is_empty(), "within 1 m");
        let layer = d
            .declared
            .iter_mut()
            .find(|l| l.def.name == "buildings")
            .unwrap();
        layer.features[0].geometry = east_by(3.0);
        let found = check(&d, DEFAULT_TOLERANCE_M2);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].level, "building");
        assert_eq!(found[0].code, code);
        assert_eq!(
            found[0].note.as_deref(),
            Some(format!("stands 3.0 m outside its grid {grid_code}").as_str())
        );
        // A building's residents off by one: its grid no longer adds up.
        let layer = d
            .declared
            .iter_mut()
            .find(|l| l.def.name == "buildings")
            .unwrap();
        layer.features[0].geometry = east_by(0.5);
        let residents = layer.def.position("residents").unwrap();
        let was = layer.features[0].values[residents].as_i64().unwrap();
        layer.features[0].values[residents] = (was + 1).into();
        let found = check(&d, DEFAULT_TOLERANCE_M2);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            (found[0].level, found[0].code.as_str()),
            ("grid", grid_code.as_str())
        );
        layer_values(&mut d)[residents] = (-1).into();
        let found = check(&d, DEFAULT_TOLERANCE_M2);
        assert_eq!(found[0].note.as_deref(), Some("residents is negative"));
    }

    fn layer_values(d: &mut Dataset) -> &mut Vec<serde_json::Value> {
        let layer = d
            .declared
            .iter_mut()
            .find(|l| l.def.name == "buildings")
            .unwrap();
        &mut layer.features[0].values
    }

    #[test]
    fn exact_halves_tile_their_parent() {
        let parent = rect(119.0, 32.0, 119.02, 32.01);
        let (a, b) = (
            rect(119.0, 32.0, 119.01, 32.01),
            rect(119.01, 32.0, 119.02, 32.01),
        );
        let (gap, overlap, outside) = tiling_errors_m2(&parent, &[&a, &b]);
        assert!(
            gap < 1e-3 && overlap < 1e-3 && outside < 1e-3,
            "{gap} {overlap} {outside}"
        );
    }

    #[test]
    fn gaps_and_overlaps_are_measured_in_square_metres() {
        // Parent 0.02 x 0.01 degrees at 32N; children leave a 0.001-degree strip and overlap by one.
        let parent = rect(119.0, 32.0, 119.02, 32.01);
        let (a, b) = (
            rect(119.0, 32.0, 119.0095, 32.01),
            rect(119.0085, 32.0, 119.019, 32.01),
        );
        let (gap, overlap, _) = tiling_errors_m2(&parent, &[&a, &b]);
        // A 0.001 x 0.01 degree cell at 32N is about 94.5 m x 1,108.6 m = 104,760 m2.
        assert!((gap - 104_760.0).abs() / 104_760.0 < 0.01, "{gap}");
        assert!((overlap - 104_760.0).abs() / 104_760.0 < 0.01, "{overlap}");
    }
}
