//! Distances in metres on the WGS84 ellipsoid, a lower-bound plane for the index, the
//! coordinate systems clients speak (crs.rs), China's obfuscated datums (china.rs) and the
//! systems files come in (gauss_kruger.rs: CGCS2000 and its Gauss-Kruger zones). No I/O.

mod china;
mod crs;
pub mod gauss_kruger;

pub use china::{bd09_to_wgs84, gcj02_to_wgs84, wgs84_to_bd09, wgs84_to_gcj02};
pub use crs::{CRS84, Crs, EPSG_4326, EPSG_4490};

use geo::{
    Coord, Distance, Geodesic, LineString, MultiPolygon, Point, Polygon, Rect, VincentyDistance,
};

/// WGS84 semi-major axis, metres.
pub const WGS84_A: f64 = 6_378_137.0;
/// WGS84 flattening.
pub const WGS84_F: f64 = 1.0 / 298.257_223_563;

/// Geodesic distance in metres on the WGS84 ellipsoid.
///
/// Vincenty's inverse formula (accurate to 0.5 mm, about 2.3x faster than Karney's here), with
/// Karney's algorithm (geographiclib-rs) where Vincenty does not converge: nearly antipodal points.
pub fn distance_m(a: Point, b: Point) -> f64 {
    a.vincenty_distance(&b)
        .unwrap_or_else(|_| Geodesic.distance(a, b))
}

/// Metres per degree of longitude along the parallel `lat_deg` on the WGS84 ellipsoid.
pub fn m_per_deg_lon(lat_deg: f64) -> f64 {
    let e2 = WGS84_F * (2.0 - WGS84_F);
    let phi = lat_deg.to_radians();
    let n = WGS84_A / (1.0 - e2 * phi.sin().powi(2)).sqrt();
    (n * phi.cos()).to_radians()
}

/// Metres per degree of latitude (meridional arc) at `lat_deg` on the WGS84 ellipsoid.
pub fn m_per_deg_lat(lat_deg: f64) -> f64 {
    let e2 = WGS84_F * (2.0 - WGS84_F);
    let phi = lat_deg.to_radians();
    (WGS84_A * (1.0 - e2) / (1.0 - e2 * phi.sin().powi(2)).powf(1.5)).to_radians()
}

/// Degrees of longitude and latitude that reach at least `metres` on the ground from anywhere in
/// the latitudes `lat_lo..=lat_hi`: `(d_lon, d_lat)`. A degree of latitude is shortest at the
/// equator; a degree of longitude shortest at the most poleward latitude reached, which is the
/// band grown by `d_lat` (capped at 89.9°, where no grid lies).
pub fn reach_deg(metres: f64, lat_lo: f64, lat_hi: f64) -> (f64, f64) {
    let d_lat = metres / m_per_deg_lat(0.0);
    let poleward = (lat_lo - d_lat).abs().max((lat_hi + d_lat).abs()).min(89.9);
    (metres / m_per_deg_lon(poleward), d_lat)
}

/// `rect` (lon/lat) grown by `metres` on the ground on every side, at least; clamped to the
/// WGS84 domain.
pub fn grow_rect(rect: Rect, metres: f64) -> Rect {
    let (d_lon, d_lat) = reach_deg(metres, rect.min().y, rect.max().y);
    Rect::new(
        Coord {
            x: (rect.min().x - d_lon).max(-180.0),
            y: (rect.min().y - d_lat).max(-90.0),
        },
        Coord {
            x: (rect.max().x + d_lon).min(180.0),
            y: (rect.max().y + d_lat).min(90.0),
        },
    )
}

/// Metres on the ground from `p` to the nearest point of `area` (0 inside), in a plane around
/// `p`: exact to well under a centimetre at tens of metres, and within about 0.05% at the few
/// kilometres `/impact` measures shelters at (the plane's scale drifts with latitude).
pub fn distance_outside_m(area: &MultiPolygon, p: Point) -> f64 {
    use geo::Euclidean;
    let plane = LocalPlane::at(p);
    Euclidean.distance(&Point::new(0.0, 0.0), &plane.project(area))
}

/// A plane in metres tangent at `origin`: x east, y north.
#[derive(Clone, Copy, Debug)]
pub struct LocalPlane {
    lon0: f64,
    lat0: f64,
    kx: f64,
    ky: f64,
}

impl LocalPlane {
    pub fn at(origin: Point) -> LocalPlane {
        LocalPlane {
            lon0: origin.x(),
            lat0: origin.y(),
            kx: m_per_deg_lon(origin.y()),
            ky: m_per_deg_lat(origin.y()),
        }
    }

    pub fn to_m(&self, c: Coord) -> Coord {
        Coord {
            x: (c.x - self.lon0) * self.kx,
            y: (c.y - self.lat0) * self.ky,
        }
    }

    pub fn to_lon_lat(&self, c: Coord) -> Coord {
        Coord {
            x: self.lon0 + c.x / self.kx,
            y: self.lat0 + c.y / self.ky,
        }
    }

    pub fn project(&self, mp: &MultiPolygon) -> MultiPolygon {
        map_coords(mp, |c| self.to_m(c))
    }

    pub fn unproject(&self, mp: &MultiPolygon) -> MultiPolygon {
        map_coords(mp, |c| self.to_lon_lat(c))
    }
}

fn map_coords(mp: &MultiPolygon, f: impl Fn(Coord) -> Coord) -> MultiPolygon {
    let ring = |r: &LineString| LineString(r.0.iter().map(|&c| f(c)).collect());
    MultiPolygon(
        mp.0.iter()
            .map(|p| Polygon::new(ring(p.exterior()), p.interiors().iter().map(ring).collect()))
            .collect(),
    )
}

/// A plane in which straight-line distance, scaled by a factor, never exceeds the geodesic
/// distance: what lets a 2D R-tree answer exact nearest-by-ground-distance queries.
///
/// Points map to `(lon * kx, lat * ky)`. On the ellipsoid `ds^2 = (N cos(phi) dlon)^2 +
/// (M dphi)^2`; where a geodesic stays inside a latitude band, `N cos(phi)` and `M` are at least
/// their minima over the band, so its length is at least the straight-line length in the plane
/// with those minima as scales. `factor(band)` converts this plane's distances to that bound.
#[derive(Clone, Copy, Debug)]
pub struct LowerBoundPlane {
    kx: f64,
    ky: f64,
}

impl LowerBoundPlane {
    /// A plane scaled for the parallel `lat_deg` (the data's centre).
    pub fn around(lat_deg: f64) -> LowerBoundPlane {
        LowerBoundPlane {
            kx: m_per_deg_lon(lat_deg),
            ky: m_per_deg_lat(lat_deg),
        }
    }

    pub fn project(&self, p: Point) -> [f64; 2] {
        [p.x() * self.kx, p.y() * self.ky]
    }

    /// `f` such that `f * plane_distance(a, b) <= geodesic(a, b)` whenever the geodesic from a to b
    /// stays within latitudes `lat_lo..=lat_hi` and does not cross the antimeridian.
    pub fn factor(&self, lat_lo: f64, lat_hi: f64) -> f64 {
        let widest = lat_lo.abs().max(lat_hi.abs()).min(90.0);
        let nearest_equator = if lat_lo <= 0.0 && lat_hi >= 0.0 {
            0.0
        } else {
            lat_lo.abs().min(lat_hi.abs())
        };
        (m_per_deg_lon(widest) / self.kx).min(m_per_deg_lat(nearest_equator) / self.ky)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    /// Nothing within `metres` on the ground of a box lies outside the grown box: every point
    /// just outside it is at least that far (geodesically) from a dense sample of the box.
    #[test]
    fn a_grown_box_contains_everything_within_reach() {
        for (lat, metres) in [
            (31.9, 500.0),
            (31.9, 5_000.0),
            (60.0, 5_000.0),
            (-45.0, 1_000.0),
        ] {
            let rect = Rect::new(
                Coord { x: 119.5, y: lat },
                Coord {
                    x: 119.53,
                    y: lat + 0.02,
                },
            );
            let grown = grow_rect(rect, metres);
            let inside: Vec<Point> = (0..=20)
                .flat_map(|i| {
                    (0..=20).map(move |j| {
                        Point::new(
                            rect.min().x + rect.width() * f64::from(i) / 20.0,
                            rect.min().y + rect.height() * f64::from(j) / 20.0,
                        )
                    })
                })
                .collect();
            let (lo, hi) = (grown.min(), grown.max());
            let outside = [
                Point::new(lo.x - 1e-9, rect.center().y),
                Point::new(hi.x + 1e-9, rect.min().y),
                Point::new(hi.x + 1e-9, hi.y),
                Point::new(rect.center().x, lo.y - 1e-9),
                Point::new(lo.x, hi.y + 1e-9),
            ];
            for p in outside {
                let nearest = inside
                    .iter()
                    .map(|q| distance_m(p, *q))
                    .fold(f64::INFINITY, f64::min);
                assert!(
                    nearest >= metres * 0.999,
                    "{lat}: {p:?} is {nearest} m away"
                );
            }
            // And it is not grossly larger than needed (a tenth of the reach at most).
            let spare_m = distance_m(
                Point::new(lo.x, rect.center().y),
                Point::new(rect.min().x, rect.center().y),
            ) - metres;
            assert!(spare_m < metres * 0.1, "{lat}: {spare_m} m to spare");
        }
    }

    #[test]
    fn distances_match_published_geodesic_values() {
        // GeographicLib's documented example (GeodSolve -i 40.6 -73.8 51.6 -0.5, JFK to LHR).
        let jfk = Point::new(-73.8, 40.6);
        let lhr = Point::new(-0.5, 51.6);
        assert_relative_eq!(distance_m(jfk, lhr), 5_551_759.400, epsilon = 1e-3);
        // One degree of latitude from the equator: the WGS84 meridian arc, 110,574.389 m.
        assert_relative_eq!(
            distance_m(Point::new(0.0, 0.0), Point::new(0.0, 1.0)),
            110_574.389,
            epsilon = 1e-3
        );
        // Along the 32N parallel, 0.001 degree: (pi/180) * N(32) * cos(32) / 1000, computed by hand
        // from N = a / sqrt(1 - e^2 sin^2 phi): 94,493.14 m per degree.
        let per_degree = distance_m(Point::new(119.0, 32.0), Point::new(119.001, 32.0)) * 1000.0;
        assert_relative_eq!(per_degree, 94_493.14, epsilon = 0.01);
    }

    /// Seeded uniform numbers in [0, 1) (a 64-bit LCG).
    fn seeded_unit(mut seed: u64) -> impl FnMut() -> f64 {
        move || {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    #[test]
    fn vincenty_agrees_with_karney_to_the_millimetre() {
        let mut unit = seeded_unit(7);
        for _ in 0..2_000 {
            let a = Point::new(unit() * 360.0 - 180.0, unit() * 170.0 - 85.0);
            let b = Point::new(unit() * 360.0 - 180.0, unit() * 170.0 - 85.0);
            assert!(
                (distance_m(a, b) - Geodesic.distance(a, b)).abs() < 1e-3,
                "{a:?} {b:?}"
            );
        }
        // Nearly antipodal: Vincenty fails to converge; the answer still comes (from Karney).
        let (a, b) = (Point::new(0.0, 0.0), Point::new(179.7, 0.5));
        assert!((distance_m(a, b) - Geodesic.distance(a, b)).abs() < 1e-6);
    }

    #[test]
    fn the_lower_bound_plane_never_exceeds_the_geodesic() {
        let plane = LowerBoundPlane::around(31.95);
        let mut unit = seeded_unit(11);
        let mut tightest = 0.0f64;
        for _ in 0..5_000 {
            // Pairs within 5 degrees of Danyang, the band widened by 2 degrees for the bulge.
            let a = Point::new(114.6 + unit() * 10.0, 27.0 + unit() * 10.0);
            let b = Point::new(114.6 + unit() * 10.0, 27.0 + unit() * 10.0);
            let f = plane.factor(a.y().min(b.y()) - 2.0, a.y().max(b.y()) + 2.0);
            let (pa, pb) = (plane.project(a), plane.project(b));
            let bound = f * (pa[0] - pb[0]).hypot(pa[1] - pb[1]);
            let exact = Geodesic.distance(a, b);
            assert!(bound <= exact, "{a:?} {b:?}: {bound} > {exact}");
            tightest = tightest.max(bound / exact);
        }
        // And it is a useful bound, not a trivial one.
        assert!(tightest > 0.99, "{tightest}");
        // Over a city (a band half a degree wide) the bound is within 0.4% of the distance.
        let (a, b) = (Point::new(119.5, 31.8), Point::new(119.6, 31.9));
        let f = plane.factor(31.7, 32.2);
        let (pa, pb) = (plane.project(a), plane.project(b));
        assert_relative_eq!(
            f * (pa[0] - pb[0]).hypot(pa[1] - pb[1]),
            Geodesic.distance(a, b),
            max_relative = 4e-3
        );
    }
}
