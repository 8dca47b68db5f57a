//! Exact k-nearest stations by geodesic distance on the WGS84 ellipsoid.
//!
//! Stations are indexed in a `LowerBoundPlane`: scaled by a factor for a latitude band, straight
//! distances there never exceed the geodesic between points whose geodesic stays in the band.
//! The search takes every station whose bound lies within a radius (doubling it a few times),
//! ranks them lazily in bound order (so only about k+1 geodesics are computed), and stops once
//! the k-th best distance lies inside the radius: no station outside it can do better. Sparse
//! surroundings fall back to rstar's incremental iterator; queries where the bound is not
//! promised (near a pole or the antimeridian, or over 1,000 km from every station) scan.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use geo::Point;

use super::{Nearby, Snapshot};
use crate::geodesy::{distance_m, m_per_deg_lat};
use crate::model::Service;

/// The plane's bound holds for the true geodesic; `distance_m` (Vincenty) may differ from it by
/// up to 0.5 mm and floating point adds its own: allow 1 mm before trusting that a bound exceeds
/// a computed distance, so that no candidate (and no tie) is cut off early.
const SLACK_M: f64 = 1e-3;

/// Radius searches (doubling) before searching incrementally.
const RADIUS_ROUNDS: usize = 3;

/// Above this many stations within the search radius, search incrementally instead.
const MAX_RADIUS_CANDIDATES: usize = 256;

/// Beyond this radius the plane is not used (the bulge allowance below assumes shorter
/// geodesics): scan instead.
const MAX_PLANE_RADIUS_M: f64 = 1_000_000.0;

/// The plane is used only while the latitude band stays below this; nearer the poles, scan.
const MAX_BAND_LAT: f64 = 80.0;

/// Longitudes are compared raw, so the query and every station must keep this far from the
/// antimeridian (1,000 km and more) for the plane to be used.
const CLEAR_OF_ANTIMERIDIAN_DEG: f64 = 170.0;

/// Polar radius of WGS84, metres: the smallest radius of curvature, for the bulge allowance.
const POLAR_RADIUS_M: f64 = 6_356_752.3;

impl Snapshot {
    /// Up to `k` stations nearest to `p` by geodesic distance on the WGS84 ellipsoid, closest first
    /// (ties by id), optionally within `max_distance_m` and offering `service`. Exact; see the
    /// module docs for how.
    pub fn nearest(
        &self,
        p: Point,
        k: usize,
        max_distance_m: Option<f64>,
        service: Option<Service>,
    ) -> Vec<Nearby<'_>> {
        if k == 0 || self.data.stations.is_empty() {
            return Vec::new();
        }
        let limit = max_distance_m.unwrap_or(f64::INFINITY);
        if !self.clear_of_antimeridian(p) {
            return self.rank_all(p, k, limit, service);
        }
        let q = self.plane.project(p);
        let plane_distance = |x: &[f64; 2]| (x[0] - q[0]).hypot(x[1] - q[1]);

        let mut radius_m = (self.station_spacing_m * (k as f64).sqrt() * 0.5).min(limit + SLACK_M);
        for _ in 0..RADIUS_ROUNDS {
            let Some(factor) = self.bound_factor(p, radius_m) else {
                break;
            };
            let plane_radius = radius_m / factor;
            let candidates: Vec<Reverse<(u64, usize)>> = self
                .stations_plane
                .locate_within_distance(q, plane_radius * plane_radius)
                .map(|item| Reverse((plane_distance(item.geom()).to_bits(), item.data)))
                .collect();
            let covers_limit = radius_m >= limit + SLACK_M;
            if candidates.len() > MAX_RADIUS_CANDIDATES || (candidates.len() < k && !covers_limit) {
                break;
            }
            // A heap yields candidates in bound order without sorting those never reached.
            // (Non-negative floats order like their bit patterns.)
            let mut heap = BinaryHeap::from(candidates);
            let ordered =
                std::iter::from_fn(|| heap.pop().map(|Reverse((b, i))| (f64::from_bits(b), i)));
            let best = self.rank(p, ordered, &|d, _| factor * d, k, limit, service);
            let kth_inside = best.len() == k && best[k - 1].distance_m <= radius_m - SLACK_M;
            if covers_limit || kth_inside {
                return best;
            }
            radius_m *= 2.0;
        }

        // Sparse surroundings (outside the city, a rare service): search incrementally. The bound
        // only has to hold for stations that could still beat the current k-th best (or the
        // limit), so its factor tightens as the search closes in.
        let ordered = self
            .stations_plane
            .nearest_neighbor_iter(q)
            .map(|item| (plane_distance(item.geom()), item.data));
        let bound =
            |d: f64, cutoff_m: f64| match self.bound_factor(p, cutoff_m.min(MAX_PLANE_RADIUS_M)) {
                Some(factor) if cutoff_m <= MAX_PLANE_RADIUS_M => factor * d,
                // Not promised here: never stop early.
                _ => f64::NEG_INFINITY,
            };
        let best = self.rank(p, ordered, &bound, k, limit, service);
        if best.len() == k || limit <= MAX_PLANE_RADIUS_M {
            return best;
        }
        // Fewer than k stations within 1,000 km: the iterator ran to the end, so every station was
        // ranked and the answer is complete.
        best
    }

    /// The factor that turns plane distances from `p` into lower bounds of geodesic distances, valid
    /// for every station within `radius_m` of `p` (the geodesic to it stays in the band this
    /// covers). `None` where the band would reach too near a pole.
    fn bound_factor(&self, p: Point, radius_m: f64) -> Option<f64> {
        let reach_deg = radius_m / m_per_deg_lat(0.0);
        let widest = (p.y().abs() + reach_deg).min(89.0).to_radians();
        // A geodesic of length d bulges poleward of its ends by at most ~tan(lat) (d/2R)^2 / 2
        // radians; allow twice that.
        let bulge_deg = (widest.tan() * (radius_m / (2.0 * POLAR_RADIUS_M)).powi(2)).to_degrees();
        let (lo, hi) = (p.y() - reach_deg - bulge_deg, p.y() + reach_deg + bulge_deg);
        (lo > -MAX_BAND_LAT && hi < MAX_BAND_LAT).then(|| self.plane.factor(lo, hi))
    }

    /// Whether the query and every station keep clear of the antimeridian, so that the plane's
    /// longitude differences are the short way round for every geodesic the search considers.
    fn clear_of_antimeridian(&self, p: Point) -> bool {
        let e = self.stations.root().envelope();
        let (west, east) = (e.lower()[0].min(p.x()), e.upper()[0].max(p.x()));
        west > -CLEAR_OF_ANTIMERIDIAN_DEG && east < CLEAR_OF_ANTIMERIDIAN_DEG
    }

    /// Rank every station (a full scan): where the plane's bound is not promised.
    fn rank_all(
        &self,
        p: Point,
        k: usize,
        limit: f64,
        service: Option<Service>,
    ) -> Vec<Nearby<'_>> {
        let all = (0..self.data.stations.len()).map(|i| (0.0, i));
        self.rank(p, all, &|_, _| f64::NEG_INFINITY, k, limit, service)
    }

    /// The best `k` of `candidates`, given as (plane distance, position) in increasing plane
    /// distance. `bound(d, cutoff_m)` turns a plane distance into a lower bound of the geodesic in
    /// metres, valid for stations nearer than `cutoff_m`; ranking stops at the first candidate
    /// whose bound exceeds the cutoff (the k-th best distance, or the limit).
    fn rank(
        &self,
        p: Point,
        candidates: impl Iterator<Item = (f64, usize)>,
        bound: &dyn Fn(f64, f64) -> f64,
        k: usize,
        limit: f64,
        service: Option<Service>,
    ) -> Vec<Nearby<'_>> {
        let mut best: Vec<Nearby> = Vec::with_capacity(k + 1);
        for (plane_d, i) in candidates {
            let cutoff_m = if best.len() == k {
                best[k - 1].distance_m.min(limit)
            } else {
                limit
            };
            if cutoff_m.is_finite() && bound(plane_d, cutoff_m) - SLACK_M > cutoff_m {
                break;
            }
            let station = &self.data.stations[i];
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::Snapshot;
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
            stations: crate::model::share(vec![
                station(1, 119.51, 32.0),
                station(2, 119.5, 32.009),
            ]),
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
            stations: crate::model::share(vec![
                station(9, 119.5, 32.001),
                station(3, 119.5, 32.001),
                station(5, 119.5, 31.999),
            ]),
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
            stations: crate::model::share(vec![station(1, 119.501, 32.0), far]),
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

    #[test]
    fn far_queries_and_sparse_services_are_still_exact() {
        let mut stations: Vec<Station> = (0..400)
            .map(|i| {
                station(
                    i + 1,
                    119.4 + (i % 20) as f64 * 0.02,
                    31.8 + (i / 20) as f64 * 0.015,
                )
            })
            .collect();
        stations[123].services = vec![Service::Relief];
        let snap = Snapshot::build(Dataset {
            stations: crate::model::share(stations),
            ..Dataset::default()
        });
        let brute = |p: Point, k: usize, service: Option<Service>| -> Vec<u64> {
            let mut all: Vec<(f64, u64)> = snap
                .dataset()
                .stations
                .iter()
                .filter(|s| service.is_none_or(|x| s.services.contains(&x)))
                .map(|s| (distance_m(p, s.location), s.id))
                .collect();
            all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            all.into_iter().take(k).map(|x| x.1).collect()
        };
        // Beijing, Urumqi, Sydney, the antimeridian, near the pole, and a rare service in town.
        for (p, k, service) in [
            (Point::new(116.39, 39.91), 3, None),
            (Point::new(87.6, 43.8), 5, None),
            (Point::new(151.2, -33.9), 2, None),
            (Point::new(179.9, 10.0), 2, None),
            (Point::new(0.0, 89.0), 1, None),
            (Point::new(119.5, 31.9), 2, Some(Service::Relief)),
        ] {
            let got: Vec<u64> = snap
                .nearest(p, k, None, service)
                .iter()
                .map(|n| n.station.id)
                .collect();
            assert_eq!(got, brute(p, k, service), "{p:?}");
        }
    }
}
