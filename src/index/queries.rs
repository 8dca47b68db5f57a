//! Queries on a snapshot: locate a point, nearest stations on the ground, features in a box.

use geo::coordinate_position::CoordPos;
use geo::{CoordinatePosition, Intersects, MonotonicPolygons, MultiPolygon, Point, Rect, coord};
use rstar::{AABB, Envelope, RTreeObject};

use super::{AreaTree, Snapshot};
use crate::model::{Alliance, Bbox, Grid, Layer, Station, Town, Village};

/// What contains a point, and who serves it.
#[derive(Debug)]
pub struct Location<'a> {
    pub town: Option<&'a Town>,
    pub village: Option<&'a Village>,
    pub grid: Option<&'a Grid>,
    /// The stations standing in the grid.
    pub stations: Vec<&'a Station>,
    pub nearest: Option<Nearby<'a>>,
    /// The alliances that include the village.
    pub alliances: Vec<&'a Alliance>,
}

/// A station and its geodesic distance in metres from the query point.
#[derive(Clone, Copy, Debug)]
pub struct Nearby<'a> {
    pub station: &'a Station,
    pub distance_m: f64,
}

/// The feature containing `p` (boundary included). Where several do (a point on a shared edge),
/// the one with the smallest key wins, so answers are deterministic: positions follow keys, so
/// candidates are tested in position order and the first hit is the answer.
fn containing<'a>(
    tree: &AreaTree,
    p: Point,
    prepared: &[Option<std::sync::Arc<MonotonicPolygons<f64>>>],
    geometry: impl Fn(usize) -> &'a MultiPolygon,
) -> Option<usize> {
    let mut candidates: Vec<usize> = tree
        .locate_all_at_point([p.x(), p.y()])
        .map(|item| item.data)
        .collect();
    candidates.sort_unstable();
    // The R-tree has already checked the bounding box; go straight to the rings.
    candidates.into_iter().find(|&i| match &prepared[i] {
        Some(m) => m.intersects(&p.0),
        None => geometry(i).coordinate_position(&p.0) != CoordPos::Outside,
    })
}

fn areas_in<'a>(
    tree: &AreaTree,
    aabb: AABB<[f64; 2]>,
    rect: &Rect,
    geom: &dyn Fn(usize) -> Option<&'a MultiPolygon>,
) -> Vec<usize> {
    tree.locate_in_envelope_intersecting(aabb)
        .filter(|item| {
            // A polygon whose box lies in the rectangle meets it: the exact test (which walks
            // every ring) only for those reaching beyond, as most of a tile's features do not.
            aabb.contains_envelope(&item.geom().envelope())
                || geom(item.data).is_some_and(|g| g.intersects(rect))
        })
        .map(|item| item.data)
        .collect()
}

impl Snapshot {
    /// The grid, village and town at `p`, the grid's stations, the nearest station and the
    /// village's alliances.
    ///
    /// Answers are hierarchy-consistent: when a grid contains the point, its village and town are
    /// the grid's parents (what dispatch routes to), not a separate lookup that could disagree on
    /// a shared edge. Only where no grid contains the point (a gap, or outside) are villages and
    /// then towns looked up by their own polygons.
    pub fn locate(&self, p: Point) -> Location<'_> {
        let d = &self.data;
        let prepared = &self.prepared;
        let grid = containing(&self.grids, p, &prepared.grids, |i| &d.grids[i].geometry);
        let village = grid.and_then(|g| self.keys.village_of_grid[g]).or_else(|| {
            containing(&self.villages, p, &prepared.villages, |i| {
                &d.villages[i].geometry
            })
        });
        let town = village
            .and_then(|v| self.keys.town_of_village[v])
            .or_else(|| containing(&self.towns, p, &prepared.towns, |i| &d.towns[i].geometry));
        let stations = grid
            .map(|g| {
                self.keys.stations_in_grid[g]
                    .iter()
                    .map(|&i| &*d.stations[i])
                    .collect()
            })
            .unwrap_or_default();
        let alliances = village
            .map(|v| {
                self.keys.alliances_of_village[v]
                    .iter()
                    .map(|&i| &*d.alliances[i])
                    .collect()
            })
            .unwrap_or_default();
        Location {
            town: town.map(|i| &*d.towns[i]),
            village: village.map(|i| &*d.villages[i]),
            grid: grid.map(|i| &*d.grids[i]),
            stations,
            nearest: self.nearest(p, 1, None, None).into_iter().next(),
            alliances,
        }
    }

    /// The grids whose polygon lies within `distance_m` of `p` on the ground (a grid containing
    /// it at 0 m), nearest first, ties by code: the grids an event near an edge might belong to.
    pub fn grids_near(&self, p: Point, distance_m: f64) -> Vec<(usize, f64)> {
        let (d_lon, d_lat) = crate::geodesy::reach_deg(distance_m, p.y(), p.y());
        let aabb = AABB::from_corners(
            [p.x() - d_lon, p.y() - d_lat],
            [p.x() + d_lon, p.y() + d_lat],
        );
        let grids = &self.data.grids;
        let mut near: Vec<(usize, f64)> = self
            .grids
            .locate_in_envelope_intersecting(aabb)
            .map(|item| item.data)
            .map(|i| (i, crate::geodesy::distance_outside_m(&grids[i].geometry, p)))
            .filter(|&(_, m)| m <= distance_m)
            .collect();
        near.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        near
    }

    /// Positions of the features of `layer` whose geometry intersects `bbox` (all when `None`), in
    /// storage order. Features without geometry match only when there is no box.
    pub fn in_bbox(&self, layer: Layer, bbox: Option<Bbox>) -> Vec<usize> {
        let d = &self.data;
        let Some(b) = bbox else {
            return (0..d.count(layer)).collect();
        };
        let rect = Rect::new(
            coord! { x: b.min_lon, y: b.min_lat },
            coord! { x: b.max_lon, y: b.max_lat },
        );
        let aabb = AABB::from_corners([b.min_lon, b.min_lat], [b.max_lon, b.max_lat]);
        let mut out: Vec<usize> = match layer {
            Layer::Towns => areas_in(&self.towns, aabb, &rect, &|i| Some(&d.towns[i].geometry)),
            Layer::Villages => areas_in(&self.villages, aabb, &rect, &|i| {
                Some(&d.villages[i].geometry)
            }),
            Layer::Grids => areas_in(&self.grids, aabb, &rect, &|i| Some(&d.grids[i].geometry)),
            Layer::Alliances => areas_in(&self.alliances, aabb, &rect, &|i| {
                self.alliance_footprint(i)
            }),
            Layer::Stations => self
                .stations
                .locate_in_envelope(aabb)
                .map(|item| item.data)
                .collect(),
            Layer::Members => self
                .members
                .locate_in_envelope(aabb)
                .map(|item| item.data)
                .collect(),
        };
        out.sort_unstable();
        out
    }

    /// The position of a feature by its key: the code for towns, villages and grids, else the id.
    pub fn find(&self, layer: Layer, key: &str) -> Option<usize> {
        let k = &self.keys;
        match layer {
            Layer::Towns => k.town.get(key).copied(),
            Layer::Villages => k.village.get(key).copied(),
            Layer::Grids => k.grid.get(key).copied(),
            Layer::Stations => k.station.get(&key.parse().ok()?).copied(),
            Layer::Alliances => k.alliance.get(&key.parse().ok()?).copied(),
            Layer::Members => k.member.get(&key.parse().ok()?).copied(),
        }
    }
}
