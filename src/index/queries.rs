//! Queries on a snapshot: locate a point, nearest stations on the ground, features in a box.

use geo::{Intersects, MultiPolygon, Point, Rect, coord};
use rstar::AABB;

use super::{AreaTree, Snapshot};
use crate::geodesy::{distance_m, ecef_m};
use crate::model::{Alliance, Bbox, Grid, Layer, Service, Station, Town, Village};

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

/// Chord distances are computed in floating point; allow this much (metres) before trusting that
/// a chord exceeds a geodesic distance, so that ties are never cut off by rounding.
const CHORD_SLACK_M: f64 = 1e-6;

/// The feature containing `p` (boundary included). Where several do (a point on a shared edge),
/// the one with the smallest key wins, so answers are deterministic.
fn containing<'a>(
    tree: &AreaTree,
    p: Point,
    geometry: impl Fn(usize) -> (&'a MultiPolygon, &'a str),
) -> Option<usize> {
    tree.locate_all_at_point([p.x(), p.y()])
        .map(|item| item.data)
        .filter(|&i| geometry(i).0.intersects(&p))
        .min_by_key(|&i| geometry(i).1)
}

fn areas_in<'a>(
    tree: &AreaTree,
    aabb: AABB<[f64; 2]>,
    rect: &Rect,
    geom: &dyn Fn(usize) -> Option<&'a MultiPolygon>,
) -> Vec<usize> {
    tree.locate_in_envelope_intersecting(aabb)
        .map(|item| item.data)
        .filter(|&i| geom(i).is_some_and(|g| g.intersects(rect)))
        .collect()
}

impl Snapshot {
    pub fn locate(&self, p: Point) -> Location<'_> {
        let d = &self.data;
        let town = containing(&self.towns, p, |i| {
            (&d.towns[i].geometry, d.towns[i].code.as_str())
        });
        let village = containing(&self.villages, p, |i| {
            (&d.villages[i].geometry, d.villages[i].code.as_str())
        });
        let grid = containing(&self.grids, p, |i| {
            (&d.grids[i].geometry, d.grids[i].code.as_str())
        });
        let grid = grid.map(|i| &d.grids[i]);
        let village = village.map(|i| &d.villages[i]);
        let stations = grid
            .and_then(|g| self.keys.stations_in_grid.get(&g.code))
            .map(|list| list.iter().map(|&i| &d.stations[i]).collect())
            .unwrap_or_default();
        let alliances = village
            .and_then(|v| self.keys.alliances_of_village.get(&v.code))
            .map(|list| list.iter().map(|&i| &d.alliances[i]).collect())
            .unwrap_or_default();
        Location {
            town: town.map(|i| &d.towns[i]),
            village,
            grid,
            stations,
            nearest: self.nearest(p, 1, None, None).into_iter().next(),
            alliances,
        }
    }

    /// Up to `k` stations nearest to `p` by geodesic distance on the WGS84 ellipsoid, closest first
    /// (ties by id), optionally within `max_distance_m` and offering `service`.
    ///
    /// Exact, not approximate: stations come out of the R-tree in order of straight-line (chord)
    /// distance through the Earth, which never exceeds the geodesic distance; once the next chord
    /// is longer than the k-th best geodesic distance, no later station can do better.
    pub fn nearest(
        &self,
        p: Point,
        k: usize,
        max_distance_m: Option<f64>,
        service: Option<Service>,
    ) -> Vec<Nearby<'_>> {
        let mut best: Vec<Nearby> = Vec::with_capacity(k + 1);
        if k == 0 {
            return best;
        }
        let limit = max_distance_m.unwrap_or(f64::INFINITY);
        for (item, chord2) in self
            .stations_ecef
            .nearest_neighbor_iter_with_distance_2(ecef_m(p))
        {
            let chord = chord2.sqrt() - CHORD_SLACK_M;
            if chord > limit || (best.len() == k && chord > best[k - 1].distance_m) {
                break;
            }
            let station = &self.data.stations[item.data];
            if service.is_some_and(|s| !station.services.contains(&s)) {
                continue;
            }
            let distance_m = distance_m(p, station.location);
            if distance_m > limit {
                continue;
            }
            let at =
                best.partition_point(|b| (b.distance_m, b.station.id) < (distance_m, station.id));
            if at < k {
                best.insert(
                    at,
                    Nearby {
                        station,
                        distance_m,
                    },
                );
                best.truncate(k);
            }
        }
        best
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Dataset, Station};

    fn station(id: u64, lon: f64, lat: f64) -> Station {
        Station {
            id,
            name: format!("station {id}"),
            grid_code: "321181001001001".into(),
            services: vec![Service::Policy],
            opening_hours: String::new(),
            contact_phone: None,
            location: Point::new(lon, lat),
        }
    }

    #[test]
    fn nearest_ranks_by_ground_distance_not_degrees() {
        // At 32N a degree of longitude is 94.5 km and a degree of latitude 110.9 km. Station 1 is
        // 0.0100 deg east (~945 m); station 2 is 0.0090 deg north (~998 m). In raw degrees station
        // 2 is nearer; on the ground station 1 is.
        let q = Point::new(119.5, 32.0);
        let data = Dataset {
            stations: vec![station(1, 119.51, 32.0), station(2, 119.5, 32.009)],
            ..Dataset::default()
        };
        let snap = Snapshot::build(data);
        let degree_nearest = snap
            .dataset()
            .stations
            .iter()
            .min_by(|a, b| {
                let da = (a.location.x() - q.x()).hypot(a.location.y() - q.y());
                let db = (b.location.x() - q.x()).hypot(b.location.y() - q.y());
                da.total_cmp(&db)
            })
            .map(|s| s.id);
        assert_eq!(degree_nearest, Some(2));
        let got: Vec<u64> = snap
            .nearest(q, 2, None, None)
            .iter()
            .map(|n| n.station.id)
            .collect();
        assert_eq!(got, vec![1, 2]);
        let d = snap.nearest(q, 1, None, None)[0].distance_m;
        assert!((d - 944.9).abs() < 1.0, "{d}");
    }

    #[test]
    fn equal_distances_are_ordered_by_id() {
        let q = Point::new(119.5, 32.0);
        let data = Dataset {
            stations: vec![
                station(9, 119.5, 32.001),
                station(3, 119.5, 32.001),
                station(5, 119.5, 31.999),
            ],
            ..Dataset::default()
        };
        let snap = Snapshot::build(data);
        let got: Vec<u64> = snap
            .nearest(q, 2, None, None)
            .iter()
            .map(|n| n.station.id)
            .collect();
        // 32.001 and 31.999 differ on the ellipsoid by centimetres; the two at 32.001 tie exactly.
        let d_north = distance_m(q, Point::new(119.5, 32.001));
        let d_south = distance_m(q, Point::new(119.5, 31.999));
        if d_south < d_north {
            assert_eq!(got, vec![5, 3]);
        } else {
            assert_eq!(got, vec![3, 9]);
        }
    }

    #[test]
    fn max_distance_and_service_filter_stations() {
        let q = Point::new(119.5, 32.0);
        let mut far = station(2, 119.6, 32.0);
        far.services = vec![Service::Mediation];
        let data = Dataset {
            stations: vec![station(1, 119.501, 32.0), far],
            ..Dataset::default()
        };
        let snap = Snapshot::build(data);
        assert_eq!(snap.nearest(q, 5, Some(1000.0), None).len(), 1);
        let med = snap.nearest(q, 5, None, Some(Service::Mediation));
        assert_eq!(
            med.iter().map(|n| n.station.id).collect::<Vec<_>>(),
            vec![2]
        );
    }
}
