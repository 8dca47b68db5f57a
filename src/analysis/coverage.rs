//! Coverage of grids by grid posts within a walking radius (GB 50180-2018 life circles: about
//! 300 m, 500 m, 1000 m), measured on the ground.
//!
//! Each grid is projected to a local plane in metres around its own centre (`LocalPlane`; over a
//! few kilometres its scale error is below 0.01%), every post within reach becomes a polygon
//! circle of the true radius there, and the grid minus the union of those circles is its gap.
//! Only posts found near the grid through an R-tree take part (subtracting all buffers from every
//! grid is what makes naive coverage slow). Villages and towns add up their grids.
//!
//! Population and households covered count **buildings** where a grid has them: a building is
//! covered when a post stands within the radius of it (geodesic distance), and the grid's people
//! covered are its people times the share of its buildings' residents covered (exactly the
//! residents covered when the buildings sum to the grid, as the sample's do). A grid without
//! buildings is **area-weighted**: its people are taken as spread evenly over it, so a grid 70%
//! covered has 70% of its population covered.

use std::collections::HashMap;
use std::sync::Arc;

use geo::{
    Area, BooleanOps, BoundingRect, Coord, LineString, MultiPolygon, Point, Polygon, unary_union,
};
use rstar::RTree;
use rstar::primitives::GeomWithData;

pub use crate::geodesy::LocalPlane;
use crate::geodesy::{distance_m, grow_rect};
use crate::model::buildings::{self, Building};
use crate::model::{Dataset, Service, Shared, Station};

/// Radii a request may ask for, in metres.
pub const MIN_RADIUS_M: f64 = 50.0;
pub const MAX_RADIUS_M: f64 = 5_000.0;
/// The 10-minute life circle.
pub const DEFAULT_RADIUS_M: f64 = 500.0;
/// Vertices of a circle polygon (its radius is set so that its area is exactly πr²).
const CIRCLE_VERTICES: usize = 72;

/// A circle of area exactly πr² around `centre` (plane metres).
pub fn circle(centre: Coord, radius_m: f64) -> Polygon {
    let n = CIRCLE_VERTICES as f64;
    let step = std::f64::consts::TAU / n;
    // A regular n-gon of circumradius R has area n R² sin(2π/n) / 2.
    let r = radius_m * (std::f64::consts::TAU / (n * step.sin())).sqrt();
    let mut ring: Vec<Coord> = (0..CIRCLE_VERTICES)
        .map(|i| {
            let a = step * i as f64;
            Coord {
                x: centre.x + r * a.cos(),
                y: centre.y + r * a.sin(),
            }
        })
        .collect();
    ring.push(ring[0]);
    Polygon::new(LineString(ring), vec![])
}

/// The posts that count, as points in an R-tree (lon/lat) with their index in the dataset.
pub struct Posts {
    tree: RTree<GeomWithData<[f64; 2], usize>>,
}

impl Posts {
    /// The posts offering `service` (all when `None`).
    pub fn new(data: &Dataset, service: Option<Service>) -> Posts {
        let points = data
            .stations
            .iter()
            .enumerate()
            .filter(|(_, s)| service.is_none_or(|want| s.services.contains(&want)))
            .map(|(i, s)| GeomWithData::new([s.location.x(), s.location.y()], i))
            .collect();
        Posts {
            tree: RTree::bulk_load(points),
        }
    }

    pub fn len(&self) -> usize {
        self.tree.size()
    }

    pub fn is_empty(&self) -> bool {
        self.tree.size() == 0
    }

    /// Posts at these points, whatever their services.
    fn at(points: impl IntoIterator<Item = Point>) -> Posts {
        let points = points
            .into_iter()
            .map(|p| GeomWithData::new([p.x(), p.y()], 0))
            .collect();
        Posts {
            tree: RTree::bulk_load(points),
        }
    }

    /// Posts within `radius_m` on the ground of the box `rect` (lon/lat), at least: the box grown
    /// by the radius (`geodesy::grow_rect`), so nothing in reach is missed. In coordinate order,
    /// whatever the tree's shape, so that what is computed from them depends on the posts alone.
    pub fn near(&self, rect: geo::Rect, radius_m: f64) -> Vec<Point> {
        let grown = grow_rect(rect, radius_m);
        let envelope = rstar::AABB::from_corners(
            [grown.min().x, grown.min().y],
            [grown.max().x, grown.max().y],
        );
        let mut found: Vec<Point> = self
            .tree
            .locate_in_envelope(envelope)
            .map(|p| Point::new(p.geom()[0], p.geom()[1]))
            .collect();
        found.sort_by(|a, b| a.x().total_cmp(&b.x()).then(a.y().total_cmp(&b.y())));
        found
    }

    /// Whether any post is within `radius_m` of the box `rect` by `near`'s rule.
    fn any_near(&self, rect: geo::Rect, radius_m: f64) -> bool {
        let grown = grow_rect(rect, radius_m);
        let envelope = rstar::AABB::from_corners(
            [grown.min().x, grown.min().y],
            [grown.max().x, grown.max().y],
        );
        self.tree.locate_in_envelope(envelope).next().is_some()
    }
}

/// One grid's coverage.
#[derive(Clone, Debug, PartialEq)]
pub struct GridCoverage {
    pub area_m2: f64,
    pub covered_m2: f64,
    /// The uncovered part, lon/lat (empty when fully covered).
    pub gap: MultiPolygon,
    /// Its buildings' coverage, when it has buildings.
    pub buildings: Option<BuildingCoverage>,
}

/// The buildings of one grid within reach of a post.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BuildingCoverage {
    pub households: u64,
    pub households_covered: u64,
    pub residents: u64,
    pub residents_covered: u64,
    /// Positions in `model::buildings::all` of the buildings no post reaches.
    pub uncovered: Vec<usize>,
}

impl GridCoverage {
    /// The share of the grid's area within reach.
    pub fn covered_share(&self) -> f64 {
        if self.area_m2 > 0.0 {
            (self.covered_m2 / self.area_m2).clamp(0.0, 1.0)
        } else {
            1.0
        }
    }

    /// How many of the grid's `population` no post reaches (by `people_shares`).
    pub fn uncovered_people(&self, population: u32) -> f64 {
        f64::from(population) * (1.0 - self.people_shares().0)
    }

    /// The shares of the grid's population and households within reach: by its buildings'
    /// residents and households where it has buildings holding any, else by area.
    pub fn people_shares(&self) -> (f64, f64) {
        let area = self.covered_share();
        let Some(b) = &self.buildings else {
            return (area, area);
        };
        let share = |covered: u64, all: u64| (all > 0).then(|| covered as f64 / all as f64);
        let residents = share(b.residents_covered, b.residents);
        let households = share(b.households_covered, b.households);
        (
            residents.or(households).unwrap_or(area),
            households.or(residents).unwrap_or(area),
        )
    }
}

/// The coverage of `area` (lon/lat) by circles of `radius_m` around `posts` (lon/lat).
pub fn cover(area: &MultiPolygon, posts: &[Point], radius_m: f64) -> GridCoverage {
    let Some(rect) = area.bounding_rect() else {
        return GridCoverage {
            area_m2: 0.0,
            covered_m2: 0.0,
            gap: MultiPolygon(vec![]),
            buildings: None,
        };
    };
    let plane = LocalPlane::at(rect.center().into());
    let shape = plane.project(area);
    let area_m2 = shape.unsigned_area();
    let centres: Vec<Coord> = posts.iter().map(|p| plane.to_m(p.0)).collect();
    let vertices = || shape.0.iter().flat_map(|p| p.exterior().0.iter());
    let dist2 = |a: &Coord, b: &Coord| (a.x - b.x).powi(2) + (a.y - b.y).powi(2);
    // Inside one circle whole (a circle is convex, so its exterior vertices decide)?
    if centres
        .iter()
        .any(|c| vertices().all(|v| dist2(v, c) <= radius_m * radius_m * 0.999_999))
    {
        return GridCoverage {
            area_m2,
            covered_m2: area_m2,
            gap: MultiPolygon(vec![]),
            buildings: None,
        };
    }
    // Circles that reach the shape's box at all.
    let b = shape.bounding_rect().expect("a box exists");
    let reach: Vec<Polygon> = centres
        .iter()
        .filter(|c| {
            let dx = (b.min().x - c.x).max(c.x - b.max().x).max(0.0);
            let dy = (b.min().y - c.y).max(c.y - b.max().y).max(0.0);
            dx * dx + dy * dy < radius_m * radius_m
        })
        .map(|&c| circle(c, radius_m))
        .collect();
    if reach.is_empty() {
        return GridCoverage {
            area_m2,
            covered_m2: 0.0,
            gap: area.clone(),
            buildings: None,
        };
    }
    let union = unary_union(reach.iter());
    let gap = shape.difference(&union);
    let gap_m2 = gap.unsigned_area();
    GridCoverage {
        area_m2,
        covered_m2: (area_m2 - gap_m2).max(0.0),
        gap: plane.unproject(&gap),
        buildings: None,
    }
}

/// Which of `buildings` (positions in `all`) a post of `posts` reaches: one within `radius_m`
/// on the ground.
pub fn cover_buildings(
    all: &[Building],
    buildings: &[usize],
    posts: &Posts,
    radius_m: f64,
) -> BuildingCoverage {
    let mut out = BuildingCoverage::default();
    for &i in buildings {
        let b = &all[i];
        out.households += b.households;
        out.residents += b.residents;
        let reached = posts
            .near(geo::Rect::new(b.at.0, b.at.0), radius_m)
            .into_iter()
            .any(|p| distance_m(p, b.at) <= radius_m);
        if reached {
            out.households_covered += b.households;
            out.residents_covered += b.residents;
        } else {
            out.uncovered.push(i);
        }
    }
    out
}

/// Every grid's coverage for one radius and service: the base of reports, gaps and siting.
pub struct CoverageMap {
    pub radius_m: f64,
    pub service: Option<Service>,
    /// Per grid, in dataset order (shared with the map of the next snapshot where unchanged).
    pub grids: Vec<Arc<GridCoverage>>,
    /// The dataset it was computed from (its records shared, so pointers), for `compute_after`.
    basis: Dataset,
}

impl CoverageMap {
    pub fn compute(data: &Dataset, radius_m: f64, service: Option<Service>) -> CoverageMap {
        CoverageMap::compute_after(None, data, radius_m, service)
    }

    /// The map of `data`, equal to `compute`'s, taking from `previous` (a map of an earlier
    /// dataset) every grid whose record is the same, whose buildings layer is the same, and near
    /// which (by `Posts::near`'s rule, for the grid and each of its buildings) no post came, went,
    /// moved or changed: after an edit only the grids within reach of it are computed again.
    pub fn compute_after(
        previous: Option<&CoverageMap>,
        data: &Dataset,
        radius_m: f64,
        service: Option<Service>,
    ) -> CoverageMap {
        let posts = Posts::new(data, service);
        let all = buildings::all(data);
        let position: HashMap<&str, usize> = data
            .grids
            .iter()
            .enumerate()
            .map(|(i, g)| (g.code.as_str(), i))
            .collect();
        let mut of_grid: Vec<Vec<usize>> = vec![Vec::new(); data.grids.len()];
        for (i, b) in all.iter().enumerate() {
            if let Some(&g) = position.get(b.grid_code()) {
                of_grid[g].push(i);
            }
        }
        let reuse = match previous {
            Some(p) if p.radius_m == radius_m && p.service == service => {
                p.reusable(data, &of_grid, &all)
            }
            _ => vec![None; data.grids.len()],
        };
        let one = |((g, mine), kept): (
            (&crate::model::Grid, &Vec<usize>),
            &Option<Arc<GridCoverage>>,
        )| {
            if let Some(kept) = kept {
                return kept.clone();
            }
            let mut c = match g.geometry.bounding_rect() {
                Some(rect) => cover(&g.geometry, &posts.near(rect, radius_m), radius_m),
                None => cover(&g.geometry, &[], radius_m),
            };
            if !mine.is_empty() {
                c.buildings = Some(cover_buildings(&all, mine, &posts, radius_m));
            }
            Arc::new(c)
        };
        // Two halves on two threads: the work is independent per grid.
        let half = data.grids.len() / 2;
        let grids: Vec<_> = data
            .grids
            .iter()
            .map(|g| &**g)
            .zip(&of_grid)
            .zip(&reuse)
            .collect();
        let (a, b) = grids.split_at(half);
        let grids = std::thread::scope(|s| {
            let first = s.spawn(|| a.iter().copied().map(one).collect::<Vec<_>>());
            let mut second: Vec<_> = b.iter().copied().map(one).collect();
            let mut all = first.join().expect("coverage thread");
            all.append(&mut second);
            all
        });
        CoverageMap {
            radius_m,
            service,
            grids,
            basis: data.clone(),
        }
    }

    /// Per grid of `data`, this map's coverage of it when `compute` would give the same (see
    /// `compute_after`); `of_grid` and `all` are `data`'s buildings by grid.
    fn reusable(
        &self,
        data: &Dataset,
        of_grid: &[Vec<usize>],
        all: &[Building],
    ) -> Vec<Option<Arc<GridCoverage>>> {
        let none = || vec![None; data.grids.len()];
        // Buildings are known by position in their layer: only the very same layer keeps them.
        let same_buildings = match (buildings::layer(&self.basis), buildings::layer(data)) {
            (None, None) => true,
            (Some(a), Some(b)) => std::ptr::eq(a, b),
            _ => false,
        };
        if !same_buildings {
            return none();
        }
        // Where every post that came, went or changed (in any field) stands now and stood.
        let before: HashMap<u64, &Shared<Station>> =
            self.basis.stations.iter().map(|s| (s.id, s)).collect();
        let now: HashMap<u64, &Shared<Station>> = data.stations.iter().map(|s| (s.id, s)).collect();
        let mut moved = Vec::new();
        for s in &data.stations {
            match before.get(&s.id) {
                Some(b) if Shared::same(b, s) => {}
                Some(b) => moved.extend([b.location, s.location]),
                None => moved.push(s.location),
            }
        }
        for b in &self.basis.stations {
            if !now.contains_key(&b.id) {
                moved.push(b.location);
            }
        }
        let moved = Posts::at(moved);
        let previous: HashMap<&str, usize> = self
            .basis
            .grids
            .iter()
            .enumerate()
            .map(|(i, g)| (g.code.as_str(), i))
            .collect();
        let point = |p: Point| geo::Rect::new(p.0, p.0);
        data.grids
            .iter()
            .zip(of_grid)
            .map(|(g, mine)| {
                let j = *previous.get(g.code.as_str())?;
                let untouched = Shared::same(&self.basis.grids[j], g)
                    && g.geometry
                        .bounding_rect()
                        .is_none_or(|r| !moved.any_near(r, self.radius_m))
                    && !mine
                        .iter()
                        .any(|&b| moved.any_near(point(all[b].at), self.radius_m));
                untouched.then(|| self.grids[j].clone())
            })
            .collect()
    }
}

/// Which units a report is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Town,
    Village,
    Grid,
}

impl Level {
    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "town" => Some(Level::Town),
            "village" => Some(Level::Village),
            "grid" => Some(Level::Grid),
            _ => None,
        }
    }

    /// The length of this level's codes (a grid code's prefix names its village and town).
    fn code_len(self) -> usize {
        match self {
            Level::Town => 9,
            Level::Village => 12,
            Level::Grid => 15,
        }
    }
}

/// One unit's line of a coverage report.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct UnitCoverage {
    pub code: String,
    pub name: String,
    pub area_m2: f64,
    pub covered_area_m2: f64,
    pub covered_share: f64,
    pub population: u64,
    pub population_covered: f64,
    pub households: u64,
    pub households_covered: f64,
    /// Posts (offering the service, when one is asked for) standing in the unit.
    pub stations: usize,
    /// Indexes of the unit's grids in the dataset.
    #[serde(skip)]
    pub grids: Vec<usize>,
}

impl UnitCoverage {
    fn new(code: String, name: String) -> UnitCoverage {
        UnitCoverage {
            code,
            name,
            area_m2: 0.0,
            covered_area_m2: 0.0,
            covered_share: 0.0,
            population: 0,
            population_covered: 0.0,
            households: 0,
            households_covered: 0.0,
            stations: 0,
            grids: Vec::new(),
        }
    }

    fn finish(&mut self) {
        self.covered_share = if self.area_m2 > 0.0 {
            (self.covered_area_m2 / self.area_m2).clamp(0.0, 1.0)
        } else {
            1.0
        };
    }
}

/// The NBS code of the area all towns lie in, from the data: the county (6 digits) when every
/// town shares it, else the prefecture (4) or province (2); empty when the towns share none.
fn enclosing_code(data: &Dataset) -> String {
    [6, 4, 2]
        .into_iter()
        .find_map(|len| {
            let first = data.towns.first()?.code.get(..len)?;
            data.towns
                .iter()
                .all(|t| t.code.get(..len) == Some(first))
                .then(|| first.to_string())
        })
        .unwrap_or_default()
}

/// Units of `level` (every one, also those without grids), worst covered first (then most people
/// uncovered, then code), and the city's totals.
pub fn report(
    data: &Dataset,
    map: &CoverageMap,
    level: Level,
) -> (Vec<UnitCoverage>, UnitCoverage) {
    let mut units: Vec<UnitCoverage> = match level {
        Level::Town => data
            .towns
            .iter()
            .map(|t| UnitCoverage::new(t.code.clone(), t.name.clone()))
            .collect(),
        Level::Village => data
            .villages
            .iter()
            .map(|v| UnitCoverage::new(v.code.clone(), v.name.clone()))
            .collect(),
        Level::Grid => data
            .grids
            .iter()
            .map(|g| UnitCoverage::new(g.code.clone(), g.name.clone()))
            .collect(),
    };
    let position: HashMap<String, usize> = units
        .iter()
        .enumerate()
        .map(|(i, u)| (u.code.clone(), i))
        .collect();
    let unit_of = |code: &str| code.get(..level.code_len()).and_then(|c| position.get(c));
    let mut total = UnitCoverage::new(enclosing_code(data), "total".into());
    for (i, (g, c)) in data.grids.iter().zip(&map.grids).enumerate() {
        let (people, households) = c.people_shares();
        let add = |u: &mut UnitCoverage| {
            u.area_m2 += c.area_m2;
            u.covered_area_m2 += c.covered_m2;
            u.population += u64::from(g.population);
            u.population_covered += f64::from(g.population) * people;
            u.households += u64::from(g.households);
            u.households_covered += f64::from(g.households) * households;
        };
        add(&mut total);
        if let Some(&u) = unit_of(&g.code) {
            add(&mut units[u]);
            units[u].grids.push(i);
        }
    }
    for s in &data.stations {
        if map.service.is_some_and(|want| !s.services.contains(&want)) {
            continue;
        }
        total.stations += 1;
        if let Some(&u) = unit_of(&s.grid_code) {
            units[u].stations += 1;
        }
    }
    units.iter_mut().for_each(UnitCoverage::finish);
    total.finish();
    units.sort_by(|a, b| {
        a.covered_share
            .total_cmp(&b.covered_share)
            .then(
                (b.population as f64 - b.population_covered)
                    .total_cmp(&(a.population as f64 - a.population_covered)),
            )
            .then_with(|| a.code.cmp(&b.code))
    });
    (units, total)
}

/// The uncovered area of a unit: its grids' gaps, dissolved into one (Multi)Polygon.
pub fn unit_gap(map: &CoverageMap, unit: &UnitCoverage) -> MultiPolygon {
    let parts: Vec<&MultiPolygon> = unit
        .grids
        .iter()
        .map(|&i| &map.grids[i].gap)
        .filter(|g| !g.0.is_empty())
        .collect();
    match parts.len() {
        0 => MultiPolygon(vec![]),
        1 => parts[0].clone(),
        _ => unary_union(parts.iter().flat_map(|mp| mp.0.iter())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geodesy::{m_per_deg_lat, m_per_deg_lon};
    use std::f64::consts::PI;

    /// How many grids' coverage `next` took over from `previous` (the very same `Arc`).
    fn kept(next: &CoverageMap, previous: &CoverageMap) -> usize {
        next.grids
            .iter()
            .zip(&previous.grids)
            .filter(|(a, b)| Arc::ptr_eq(a, b))
            .count()
    }

    #[test]
    fn a_map_after_an_edit_equals_a_fresh_one_and_keeps_what_the_edit_did_not_reach() {
        let mut before = crate::sample::dataset().unwrap();
        let from = before.stations[0].location;
        let to = Point::new(from.x() + 0.003, from.y());
        // A building standing far outside its grid's box, 400 m east of where a post will move (about 680 m
        // from where it stood):
        // only the check of each building sees that the move reaches it.
        let buildings = before
            .declared
            .iter_mut()
            .find(|d| d.def.name == "buildings")
            .unwrap();
        let far = (0..buildings.features.len())
            .max_by(|&a, &b| {
                let d = |i: usize| distance_m(buildings.features[i].anchor().unwrap(), to);
                d(a).total_cmp(&d(b))
            })
            .unwrap();
        buildings.features[far].geometry = offset(to.x(), to.y(), 400.0, 0.0).into();
        let mut after = before.clone();
        // A post moved about 280 m east, one removed, one added beside a third, a grid renamed.
        after.stations[0].location = to;
        after.stations.remove(5);
        let mut added = after.stations[10].as_ref().clone();
        added.id = 99_999;
        added.location = offset(added.location.x(), added.location.y(), 120.0, -80.0);
        after.stations.push(Shared::new(added));
        after.grids[7].name.push('改');
        for service in [None, Some(Service::Mediation)] {
            let previous = CoverageMap::compute(&before, DEFAULT_RADIUS_M, service);
            let next =
                CoverageMap::compute_after(Some(&previous), &after, DEFAULT_RADIUS_M, service);
            let fresh = CoverageMap::compute(&after, DEFAULT_RADIUS_M, service);
            assert!(
                next.grids == fresh.grids,
                "{service:?}: not what a fresh map gives"
            );
            let kept = kept(&next, &previous);
            let n = after.grids.len();
            assert!(
                kept > n * 9 / 10 && kept < n,
                "{service:?}: kept {kept} of {n}"
            );
        }
        // Another radius, or another buildings layer, computes everything.
        let previous = CoverageMap::compute(&before, DEFAULT_RADIUS_M, None);
        let other = CoverageMap::compute_after(Some(&previous), &after, 300.0, None);
        assert_eq!(kept(&other, &previous), 0);
        let mut rebuilt = after.clone();
        for d in &mut rebuilt.declared {
            if d.def.name == "buildings" {
                *d = Shared::new(d.as_ref().clone());
            }
        }
        let next = CoverageMap::compute_after(Some(&previous), &rebuilt, DEFAULT_RADIUS_M, None);
        assert_eq!(kept(&next, &previous), 0);
    }

    #[test]
    fn the_total_is_named_by_the_area_every_town_lies_in() {
        let mut d = crate::sample::dataset().unwrap();
        assert_eq!(enclosing_code(&d), "321181", "Danyang's county code");
        d.towns[0].code = "321182001".into(); // a town of the next county
        assert_eq!(enclosing_code(&d), "3211");
        d.towns[0].code = "110101001".into(); // Beijing
        assert_eq!(enclosing_code(&d), "");
        assert_eq!(enclosing_code(&Dataset::default()), "");
    }

    /// A ground square of `side_m` centred on (lon, lat), in lon/lat.
    fn square(lon: f64, lat: f64, side_m: f64) -> MultiPolygon {
        let plane = LocalPlane::at(Point::new(lon, lat));
        let h = side_m / 2.0;
        let ring = [(-h, -h), (h, -h), (h, h), (-h, h), (-h, -h)]
            .map(|(x, y)| plane.to_lon_lat(Coord { x, y }));
        MultiPolygon(vec![Polygon::new(LineString(ring.to_vec()), vec![])])
    }

    /// The point `dx_m` east and `dy_m` north of (lon, lat), by the local plane.
    fn offset(lon: f64, lat: f64, dx_m: f64, dy_m: f64) -> Point {
        LocalPlane::at(Point::new(lon, lat))
            .to_lon_lat(Coord { x: dx_m, y: dy_m })
            .into()
    }

    fn within(got: f64, want: f64, share: f64) -> bool {
        (got - want).abs() <= want * share
    }

    #[test]
    fn one_post_in_the_middle_covers_pi_r_squared() {
        let (lon, lat, r) = (119.58, 31.99, 500.0);
        let c = cover(&square(lon, lat, 4_000.0), &[Point::new(lon, lat)], r);
        assert!(within(c.covered_m2, PI * r * r, 0.005), "{}", c.covered_m2);
        assert!(within(c.area_m2, 16e6, 0.001), "{}", c.area_m2);
        // Independently: count a 10 m lattice of points by geodesic distance to the post.
        let mut inside = 0usize;
        for i in -60..=60 {
            for j in -60..=60 {
                let p = offset(lon, lat, f64::from(i) * 10.0, f64::from(j) * 10.0);
                if crate::geodesy::distance_m(p, Point::new(lon, lat)) <= r {
                    inside += 1;
                }
            }
        }
        assert!(
            within(c.covered_m2, inside as f64 * 100.0, 0.005),
            "{inside}"
        );
    }

    #[test]
    fn a_post_near_the_edge_covers_the_circle_minus_the_segment_outside() {
        let (lon, lat, r, d) = (119.58, 31.99, 500.0, 200.0);
        // The post stands d metres inside the west edge of a 4 km square.
        let post = offset(lon, lat, -2_000.0 + d, 0.0);
        let c = cover(&square(lon, lat, 4_000.0), &[post], r);
        let segment = r * r * (d / r).acos() - d * (r * r - d * d).sqrt();
        assert!(
            within(c.covered_m2, PI * r * r - segment, 0.005),
            "{}",
            c.covered_m2
        );
    }

    #[test]
    fn overlapping_circles_count_once() {
        let (lon, lat, r, d) = (119.58, 31.99, 500.0, 600.0);
        let posts = [
            offset(lon, lat, -d / 2.0, 0.0),
            offset(lon, lat, d / 2.0, 0.0),
        ];
        let c = cover(&square(lon, lat, 4_000.0), &posts, r);
        let lens = 2.0 * r * r * (d / (2.0 * r)).acos() - d / 2.0 * (4.0 * r * r - d * d).sqrt();
        assert!(
            within(c.covered_m2, 2.0 * PI * r * r - lens, 0.005),
            "{}",
            c.covered_m2
        );
    }

    #[test]
    fn a_circle_in_degrees_would_be_15_percent_wrong_at_32_north() {
        let (lon, lat, r) = (119.58, 32.0, 1_000.0);
        let c = cover(&square(lon, lat, 6_000.0), &[Point::new(lon, lat)], r);
        assert!(within(c.covered_m2, PI * r * r, 0.005));
        // The same radius turned into degrees the usual naive way (111,320 m a degree, the
        // equator's) and buffered in lon/lat is an ellipse on the ground, squeezed east-west.
        let r_deg = r / 111_320.0;
        let degree_circle = PI * r_deg * r_deg * m_per_deg_lon(lat) * m_per_deg_lat(lat);
        let error = (degree_circle - PI * r * r).abs() / (PI * r * r);
        assert!(error > 0.15, "{error}");
    }

    #[test]
    fn no_post_in_reach_leaves_the_whole_unit_as_the_gap() {
        let sq = square(119.58, 31.99, 1_000.0);
        let far = offset(119.58, 31.99, 5_000.0, 0.0);
        let c = cover(&sq, &[far], 500.0);
        assert_eq!(c.covered_m2, 0.0);
        assert_eq!(c.gap, sq);
        let all = cover(&sq, &[Point::new(119.58, 31.99)], 800.0);
        assert_eq!(
            all.covered_m2, all.area_m2,
            "a 1 km square fits in an 800 m circle"
        );
        assert!(all.gap.0.is_empty());
    }

    /// A grid (a `side_m` square around (lon, lat)) with one post in its middle and buildings of
    /// 10 residents and 4 households at the given offsets (metres east, north) from the post.
    fn grid_with_buildings(side_m: f64, offsets: &[(f64, f64)]) -> Dataset {
        use crate::model::records::{DeclaredData, Record};
        use serde_json::Value;
        let (lon, lat) = (119.58, 31.99);
        let code = "321181001001001";
        let def = crate::model::declared::Declarations::none()
            .get("buildings")
            .unwrap();
        let features = offsets
            .iter()
            .enumerate()
            .map(|(i, &(dx, dy))| {
                let key = format!("{code}{:05}", i + 1);
                let values = def
                    .fields
                    .iter()
                    .map(|f| match f.name {
                        "code" => Value::from(key.clone()),
                        "compound" | "building" => Value::from("1"),
                        "use" => Value::from("residential"),
                        "households" => Value::from(4),
                        "residents" => Value::from(10),
                        "grid_code" => Value::from(code),
                        _ => Value::Null,
                    })
                    .collect();
                Record {
                    key,
                    geometry: offset(lon, lat, dx, dy).into(),
                    values,
                }
            })
            .collect();
        Dataset {
            grids: crate::model::share(vec![crate::model::Grid {
                code: code.into(),
                name: "g".into(),
                households: 4 * offsets.len() as u32,
                population: 10 * offsets.len() as u32,
                worker: Default::default(),
                geometry: square(lon, lat, side_m),
            }]),
            stations: crate::model::share(vec![crate::model::Station {
                id: 1,
                name: "p".into(),
                grid_code: code.into(),
                services: vec![Service::Mediation],
                opening_hours: String::new(),
                contact_phone: None,
                location: Point::new(lon, lat),
            }]),
            declared: vec![DeclaredData { def, features }.into()],
            ..Dataset::default()
        }
    }

    #[test]
    fn a_grid_whose_buildings_are_all_within_reach_is_wholly_covered() {
        // A 4 km square: a 500 m circle covers under 5% of its area, but all its people.
        let d = grid_with_buildings(4_000.0, &[(0.0, 0.0), (300.0, 0.0), (0.0, -495.0)]);
        let map = CoverageMap::compute(&d, 500.0, None);
        assert!(map.grids[0].covered_share() < 0.05);
        let (_, total) = report(&d, &map, Level::Grid);
        assert_eq!(total.population, 30);
        assert_eq!(total.population_covered, 30.0);
        assert_eq!(total.households_covered, 12.0);

        // One of four buildings 505 m away: three quarters of the people are covered.
        let d = grid_with_buildings(
            4_000.0,
            &[(0.0, 0.0), (300.0, 0.0), (0.0, -495.0), (505.0, 0.0)],
        );
        let map = CoverageMap::compute(&d, 500.0, None);
        let (_, total) = report(&d, &map, Level::Grid);
        assert_eq!(total.population_covered, 30.0);
        assert_eq!(total.households_covered, 12.0);
        let b = map.grids[0].buildings.as_ref().unwrap();
        assert_eq!(b.uncovered, [3]);
        // The post offering only mediation: nothing is covered for relief.
        let map = CoverageMap::compute(&d, 500.0, Some(Service::Relief));
        let (_, total) = report(&d, &map, Level::Grid);
        assert_eq!(total.population_covered, 0.0);
    }

    #[test]
    fn buildings_are_covered_exactly_when_a_post_is_within_the_radius() {
        // Against a brute force over every post, on every 25th building of the sample.
        let d = crate::sample::dataset().unwrap();
        let all = buildings::all(&d);
        let map = CoverageMap::compute(&d, 300.0, None);
        let uncovered: std::collections::HashSet<usize> = map
            .grids
            .iter()
            .filter_map(|c| c.buildings.as_ref())
            .flat_map(|b| b.uncovered.iter().copied())
            .collect();
        let mut checked = (0, 0);
        for (i, b) in all.iter().enumerate().step_by(25) {
            let reached = d
                .stations
                .iter()
                .any(|s| crate::geodesy::distance_m(s.location, b.at) <= 300.0);
            assert_eq!(reached, !uncovered.contains(&i), "{}", b.code);
            if reached {
                checked.0 += 1;
            } else {
                checked.1 += 1;
            }
        }
        assert!(checked.0 > 100 && checked.1 > 100, "{checked:?}");
    }

    #[test]
    fn circles_have_the_area_of_a_circle() {
        let p = circle(Coord { x: 0.0, y: 0.0 }, 300.0);
        assert!(within(p.unsigned_area(), PI * 300.0 * 300.0, 1e-9));
    }
}
