//! Voronoi cells clipped to polygons: how the generator tiles a town with villages and a village
//! with grids, without gaps or overlaps.
//!
//! Cells are built in a local metric plane (an affine map of lon/lat, so straight edges stay
//! straight) by clipping a bounding square with the bisector of each neighbour, nearest first,
//! stopping once the next neighbour is farther than twice the cell's radius (no farther seed can
//! cut the cell then). Each cell is then intersected with the parent polygon.

use geo::{BooleanOps, Coord, LineString, MultiPolygon, Polygon};
use rstar::RTree;
use rstar::primitives::GeomWithData;

/// A local equirectangular plane in metres around a reference latitude, on a sphere-like scale
/// (111,320 m per degree of longitude at the equator). Not `geodesy::LocalPlane` on purpose: the
/// generator only needs plausible shapes, and its output is pinned byte for byte (the embedded
/// sample, `tests/it/reproducible.rs`), which a change of scale would redraw. Measurements
/// (coverage, siting, distances) never use this plane.
#[derive(Clone, Copy)]
pub struct Plane {
    lon0: f64,
    lat0: f64,
    m_per_deg_lon: f64,
    m_per_deg_lat: f64,
}

impl Plane {
    pub fn around(lon0: f64, lat0: f64) -> Plane {
        Plane {
            lon0,
            lat0,
            m_per_deg_lon: 111_320.0 * lat0.to_radians().cos(),
            m_per_deg_lat: 110_574.0,
        }
    }

    pub fn to_m(&self, c: Coord) -> [f64; 2] {
        [
            (c.x - self.lon0) * self.m_per_deg_lon,
            (c.y - self.lat0) * self.m_per_deg_lat,
        ]
    }

    pub fn to_deg(&self, p: [f64; 2]) -> Coord {
        Coord {
            x: self.lon0 + p[0] / self.m_per_deg_lon,
            y: self.lat0 + p[1] / self.m_per_deg_lat,
        }
    }
}

/// Keep the part of convex polygon `poly` nearer to `s` than to `n`.
fn clip_half_plane(poly: &[[f64; 2]], s: [f64; 2], n: [f64; 2]) -> Vec<[f64; 2]> {
    let m = [(s[0] + n[0]) / 2.0, (s[1] + n[1]) / 2.0];
    let d = [n[0] - s[0], n[1] - s[1]];
    let side = |p: [f64; 2]| (p[0] - m[0]) * d[0] + (p[1] - m[1]) * d[1];
    let mut out = Vec::with_capacity(poly.len() + 1);
    for i in 0..poly.len() {
        let (a, b) = (poly[i], poly[(i + 1) % poly.len()]);
        let (sa, sb) = (side(a), side(b));
        if sa <= 0.0 {
            out.push(a);
        }
        if (sa < 0.0 && sb > 0.0) || (sa > 0.0 && sb < 0.0) {
            let t = sa / (sa - sb);
            out.push([a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])]);
        }
    }
    out
}

/// The Voronoi cell of every seed (metres), each bounded by the square `[-half, half]^2` around
/// its seed's plane origin.
pub fn cells(seeds: &[[f64; 2]], bound: ([f64; 2], [f64; 2])) -> Vec<Vec<[f64; 2]>> {
    let tree = RTree::bulk_load(
        seeds
            .iter()
            .enumerate()
            .map(|(i, &s)| GeomWithData::new(s, i))
            .collect(),
    );
    let (lo, hi) = bound;
    seeds
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            let mut poly = vec![lo, [hi[0], lo[1]], hi, [lo[0], hi[1]]];
            for (n, d2) in tree.nearest_neighbor_iter_with_distance_2(s) {
                if n.data == i {
                    continue;
                }
                let radius2 = poly
                    .iter()
                    .map(|p| (p[0] - s[0]).powi(2) + (p[1] - s[1]).powi(2))
                    .fold(0.0, f64::max);
                if d2 > 4.0 * radius2 || poly.is_empty() {
                    break;
                }
                poly = clip_half_plane(&poly, s, *n.geom());
            }
            poly
        })
        .collect()
}

/// Round to 1e-7 degrees (about 1 cm): stable bytes in the sample files.
pub fn round7(c: Coord) -> Coord {
    Coord {
        x: (c.x * 1e7).round() / 1e7,
        y: (c.y * 1e7).round() / 1e7,
    }
}

/// Round every coordinate and drop repeated points and rings that collapse.
pub fn rounded(mp: &MultiPolygon) -> MultiPolygon {
    let ring = |ls: &LineString| -> Option<LineString> {
        let mut pts: Vec<Coord> = Vec::with_capacity(ls.0.len());
        for c in ls.0.iter().map(|&c| round7(c)) {
            if pts.last() != Some(&c) {
                pts.push(c);
            }
        }
        (pts.len() >= 4).then_some(LineString(pts))
    };
    MultiPolygon(
        mp.0.iter()
            .filter_map(|p| {
                let ext = ring(p.exterior())?;
                Some(Polygon::new(
                    ext,
                    p.interiors().iter().filter_map(ring).collect(),
                ))
            })
            .collect(),
    )
}

/// Tile `parent` with the Voronoi cells of `seeds` (lon/lat), one (possibly empty) piece per seed.
pub fn tile(
    parent: &MultiPolygon,
    seeds: &[Coord],
    plane: Plane,
    bound_m: f64,
) -> Vec<MultiPolygon> {
    let seeds_m: Vec<[f64; 2]> = seeds.iter().map(|&c| plane.to_m(c)).collect();
    let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
    for s in &seeds_m {
        lo = [lo[0].min(s[0]), lo[1].min(s[1])];
        hi = [hi[0].max(s[0]), hi[1].max(s[1])];
    }
    let bound = (
        [lo[0] - bound_m, lo[1] - bound_m],
        [hi[0] + bound_m, hi[1] + bound_m],
    );
    cells(&seeds_m, bound)
        .into_iter()
        .map(|cell| {
            let mut ring: Vec<Coord> = cell.iter().map(|&p| plane.to_deg(p)).collect();
            if let Some(&first) = ring.first() {
                ring.push(first);
            }
            let cell = Polygon::new(LineString(ring), vec![]);
            rounded(&MultiPolygon(vec![cell]).intersection(parent))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Area, polygon};

    #[test]
    fn cells_tile_the_parent_without_gaps_or_overlaps() {
        let parent = MultiPolygon(vec![polygon![
            (x: 119.50, y: 31.90), (x: 119.56, y: 31.90), (x: 119.56, y: 31.93), (x: 119.53, y: 31.95), (x: 119.50, y: 31.93), (x: 119.50, y: 31.90),
        ]]);
        let seeds: Vec<Coord> = (0..40)
            .map(|i| Coord {
                x: 119.501 + (i as f64 * 0.618_034).fract() * 0.058,
                y: 31.901 + (i as f64 * 0.414_214).fract() * 0.028,
            })
            .collect();
        let pieces = tile(&parent, &seeds, Plane::around(119.5, 31.9), 5000.0);
        let total: f64 = pieces.iter().map(|p| p.unsigned_area()).sum();
        assert!((total - parent.unsigned_area()).abs() / parent.unsigned_area() < 1e-6);
        for (i, a) in pieces.iter().enumerate() {
            for b in &pieces[i + 1..] {
                assert!(a.intersection(b).unsigned_area() < 1e-12);
            }
        }
    }
}
