//! Geometry in tile space: project lon/lat to the tile's integer grid (y down), simplify for the
//! zoom, clip to the buffered tile, round, and keep only valid rings.

use geo::{
    Area, BooleanOps, BoundingRect, Coord, LineString, MapCoords, MultiLineString, MultiPolygon,
    Point, Polygon, Rect, SimplifyVwPreserve, coord,
};

use std::sync::OnceLock;

use super::{TileConfig, TileCoord, lon_lat_to_world, world_to_lon_lat};
use crate::geodesy::Crs;
use crate::model::Bbox;

/// One tile's frame: how lon/lat maps into its `extent` x `extent` grid. A tile set in GCJ-02
/// shifts each WGS84 coordinate into that datum before projecting it (Web Mercator of GCJ-02
/// longitude, latitude, as AMap's and Tencent's tiles are).
pub struct TileFrame {
    x0: f64,
    y0: f64,
    size: f64,
    pub z: u8,
    pub extent: f64,
    pub buffer: f64,
    pub crs: Crs,
}

impl TileFrame {
    pub fn new(coord: TileCoord, config: &TileConfig) -> TileFrame {
        let (x0, y0, size) = coord.world_bounds();
        TileFrame {
            x0,
            y0,
            size,
            z: coord.z,
            extent: f64::from(config.extent),
            buffer: f64::from(config.buffer),
            crs: config.crs,
        }
    }

    /// Tile-space coordinates (floating) of a WGS84 lon/lat coordinate.
    pub fn project(&self, c: Coord) -> Coord {
        self.to_tile(self.world(c))
    }

    /// World coordinates (Web Mercator, 0..1 from the west and from the north) of a WGS84
    /// lon/lat coordinate, in the frame's datum: the same for every tile of a tile set.
    fn world(&self, c: Coord) -> Coord {
        let c = if self.crs.shifts() {
            self.crs.from_wgs84(Point(c)).0
        } else {
            c
        };
        let (x, y) = lon_lat_to_world(c.x, c.y);
        coord! { x: x, y: y }
    }

    /// Tile-space coordinates of world coordinates.
    fn to_tile(&self, w: Coord) -> Coord {
        let scale = self.extent / self.size;
        coord! { x: (w.x - self.x0) * scale, y: (w.y - self.y0) * scale }
    }

    /// The WGS84 lon/lat box of what lands in the tile grown by `margin` tile units on every
    /// side (for a shifted set, the box holding that area's image back in WGS84).
    pub fn lon_lat_bbox(&self, margin: f64) -> Bbox {
        let m = margin / self.extent * self.size;
        let (min_lon, max_lat) = world_to_lon_lat(self.x0 - m, self.y0 - m);
        let (max_lon, min_lat) = world_to_lon_lat(self.x0 + self.size + m, self.y0 + self.size + m);
        let (min_lon, max_lon) = (min_lon.max(-180.0), max_lon.min(180.0));
        if !self.crs.shifts() {
            return Bbox {
                min_lon,
                min_lat,
                max_lon,
                max_lat,
            };
        }
        let r = self.crs.rect_to_wgs84(Rect::new(
            coord! { x: min_lon, y: min_lat },
            coord! { x: max_lon, y: max_lat },
        ));
        Bbox {
            min_lon: r.min().x.max(-180.0),
            min_lat: r.min().y,
            max_lon: r.max().x.min(180.0),
            max_lat: r.max().y,
        }
    }

    /// A point's integer position, if it lies inside the tile proper (not its buffer).
    pub fn point(&self, p: Point) -> Option<Coord<i32>> {
        let c = self.project(p.0);
        let inside = (0.0..self.extent).contains(&c.x) && (0.0..self.extent).contains(&c.y);
        inside.then(|| coord! { x: c.x.floor() as i32, y: c.y.floor() as i32 })
    }

    /// A polygon in tile space: simplified by `tolerance` (tile units), clipped to the buffered
    /// tile, rounded to integers, with collapsed rings removed. `None` when nothing valid remains
    /// or its area is below `min_area` (square tile units).
    pub fn polygon(
        &self,
        mp: &MultiPolygon,
        tolerance: f64,
        min_area: f64,
    ) -> Option<MultiPolygon<i32>> {
        self.polygon_at_zoom(&self.zoom_polygon(mp, tolerance), mp, min_area)
    }

    /// What `polygon` does to `mp` that is the same for every tile of this frame's zoom, done
    /// once (`tiles::shapes`): projected and simplified in world units (Visvalingam's areas
    /// scale with the square of the map, so the threshold is the tile's one scaled), and rounded
    /// to the zoom's pixel grid, which a tile holding the whole polygon only shifts.
    pub fn zoom_polygon(&self, mp: &MultiPolygon, tolerance: f64) -> ZoomPolygon {
        let world = self.map_polygon(mp, |c| self.world(c));
        let world = if tolerance > 0.0 {
            let tolerance_world = tolerance / self.extent * self.size;
            world.simplify_vw_preserve(tolerance_world * tolerance_world / 2.0)
        } else {
            world
        };
        ZoomPolygon {
            bounds: world.bounding_rect(),
            world,
            rounded: OnceLock::new(),
        }
    }

    /// `polygon` from `zoom` (`zoom_polygon` of `mp`): only the clip, or the shift when the tile
    /// holds it whole, is the tile's own.
    pub fn polygon_at_zoom(
        &self,
        zoom: &ZoomPolygon,
        mp: &MultiPolygon,
        min_area: f64,
    ) -> Option<MultiPolygon<i32>> {
        let bounds = zoom.bounds?;
        let (min, max) = (self.to_tile(bounds.min()), self.to_tile(bounds.max()));
        let (lo, hi) = (-self.buffer, self.extent + self.buffer);
        let inside = min.x >= lo && min.y >= lo && max.x <= hi && max.y <= hi;
        let scale = self.extent / self.size;
        // The zoom's pixel grid, in tile units from the world's north-west corner (i32 holds it
        // to z18 at extent 4096; beyond, every tile rounds its own part). Made by the first tile
        // that holds the polygon whole. Shifting it is exact and gives what rounding in the tile
        // would: the tile's corner is `x * extent` grid units, a whole number, as the world's size
        // in tiles is a power of two.
        let rounded = || {
            zoom.rounded
                .get_or_init(|| {
                    let on_grid = self
                        .map_polygon(&zoom.world, |w| coord! { x: w.x * scale, y: w.y * scale });
                    let rounded = round(&on_grid);
                    super::valid::is_valid(&rounded).then(|| {
                        let area = as_f64(&rounded).unsigned_area();
                        (rounded, area)
                    })
                })
                .as_ref()
        };
        if inside
            && scale < f64::from(i32::MAX)
            && let Some((rounded, area)) = rounded()
        {
            if *area < min_area {
                return None;
            }
            let (dx, dy) = ((self.x0 * scale).round(), (self.y0 * scale).round());
            let (dx, dy) = (dx as i32, dy as i32);
            return Some(rounded.map_coords(|c| coord! { x: c.x - dx, y: c.y - dy }));
        }
        // Simplification can (rarely) leave an invalid ring after rounding; fall back to the
        // unsimplified shape, then to nothing.
        self.clip_and_round(&self.map_polygon(&zoom.world, |w| self.to_tile(w)))
            .or_else(|| self.clip_and_round(&self.map_polygon(mp, |c| self.project(c))))
            .filter(|mp| as_f64(mp).unsigned_area() >= min_area)
    }

    /// A line in tile space: simplified by `tolerance` (tile units), clipped to the buffered
    /// tile, rounded to integers, with repeated points and collapsed parts removed. `None` when
    /// nothing remains.
    pub fn line(&self, ml: &MultiLineString, tolerance: f64) -> Option<MultiLineString<i32>> {
        use geo::Simplify;
        let projected = MultiLineString(
            ml.0.iter()
                .map(|l| LineString(l.0.iter().map(|&c| self.project(c)).collect()))
                .collect(),
        );
        let simplified = if tolerance > 0.0 {
            projected.simplify(tolerance)
        } else {
            projected
        };
        let (lo, hi) = (-self.buffer, self.extent + self.buffer);
        let clip = Rect::new(coord! { x: lo, y: lo }, coord! { x: hi, y: hi }).to_polygon();
        let clipped = clip.clip(&simplified, false);
        let parts: Vec<LineString<i32>> = clipped
            .0
            .iter()
            .filter_map(|l| {
                let mut points: Vec<Coord<i32>> =
                    l.0.iter()
                        .map(|c| coord! { x: c.x.round() as i32, y: c.y.round() as i32 })
                        .collect();
                points.dedup();
                (points.len() >= 2).then_some(LineString(points))
            })
            .collect();
        (!parts.is_empty()).then_some(MultiLineString(parts))
    }

    fn map_polygon(&self, mp: &MultiPolygon, f: impl Fn(Coord) -> Coord) -> MultiPolygon {
        let ring = |ls: &LineString| LineString(ls.0.iter().map(|&c| f(c)).collect());
        MultiPolygon(
            mp.0.iter()
                .map(|p| Polygon::new(ring(p.exterior()), p.interiors().iter().map(ring).collect()))
                .collect(),
        )
    }

    fn clip_and_round(&self, mp: &MultiPolygon) -> Option<MultiPolygon<i32>> {
        let (lo, hi) = (-self.buffer, self.extent + self.buffer);
        let clip = Rect::new(coord! { x: lo, y: lo }, coord! { x: hi, y: hi });
        let r = mp.bounding_rect()?;
        let inside = r.min().x >= lo && r.min().y >= lo && r.max().x <= hi && r.max().y <= hi;
        let valid = super::valid::is_valid;
        let clipped = if inside {
            mp.clone()
        } else {
            // Most polygons cross a tile's edge simply (each ring in once and out once per
            // side): cut along the buffer's sides they are valid as they are. One that is not (a
            // ring that leaves and comes back across one side keeps a zero-width edge along it,
            // a hole cut open lies on the outer ring) goes through the exact overlay, on the
            // part a unit beyond the buffer only; the overlay cuts the rest away.
            let cut = super::clip::to_rect(mp, clip);
            if cut.0.is_empty() {
                return None; // its box meets the buffer, its rings do not
            }
            let cut = round(&cut);
            if valid(&cut) {
                return Some(cut);
            }
            let outer = Rect::new(
                coord! { x: lo - 1.0, y: lo - 1.0 },
                coord! { x: hi + 1.0, y: hi + 1.0 },
            );
            super::clip::to_rect(mp, outer).intersection(&clip.to_polygon())
        };
        let rounded = round(&clipped);
        if valid(&rounded) {
            return Some(rounded);
        }
        // Rounding can make a ring touch itself (a vertex landing on another edge, as where a
        // circle's arc grazes the buffer's edge). The boolean overlay splits such rings into
        // valid parts; on integer input it adds no new vertex, so one more rounding is exact.
        let repaired = round(&as_f64(&rounded).intersection(&clip.to_polygon()));
        valid(&repaired).then_some(repaired)
    }
}

/// A polygon prepared for every tile of one zoom (`TileFrame::zoom_polygon`).
pub struct ZoomPolygon {
    /// Projected to world units (0..1) and simplified for the zoom.
    world: MultiPolygon,
    bounds: Option<Rect>,
    /// `world` on the zoom's pixel grid, with its area in square tile units, when valid there.
    rounded: OnceLock<Option<(MultiPolygon<i32>, f64)>>,
}

/// Round to the integer grid, dropping repeated points and rings that collapse to no area.
fn round(mp: &MultiPolygon) -> MultiPolygon<i32> {
    let ring = |ls: &LineString| -> Option<LineString<i32>> {
        let mut pts: Vec<Coord<i32>> = Vec::with_capacity(ls.0.len());
        for c in &ls.0 {
            let c = coord! { x: c.x.round() as i32, y: c.y.round() as i32 };
            if pts.last() != Some(&c) {
                pts.push(c);
            }
        }
        let ring = LineString(drop_collinear(pts));
        (ring.0.len() >= 4 && ring_area2(&ring) != 0).then_some(ring)
    };
    MultiPolygon(
        mp.0.iter()
            .filter_map(|p| {
                Some(Polygon::new(
                    ring(p.exterior())?,
                    p.interiors().iter().filter_map(ring).collect(),
                ))
            })
            .collect(),
    )
}

/// Remove every vertex in line with its two neighbours, until none is left: points along a
/// straight edge (no change to the shape) and the backtracking spikes rounding makes where a
/// clipped edge runs along the buffer (A, B, C on one line with C back between A and B), which
/// would make the ring touch itself. `pts` is a closed ring.
fn drop_collinear(mut pts: Vec<Coord<i32>>) -> Vec<Coord<i32>> {
    let cross = |a: Coord<i32>, b: Coord<i32>, c: Coord<i32>| {
        i64::from(b.x - a.x) * i64::from(c.y - a.y) - i64::from(b.y - a.y) * i64::from(c.x - a.x)
    };
    loop {
        // Work on the open ring (without the closing repeat of the first point).
        if pts.len() > 1 && pts.first() == pts.last() {
            pts.pop();
        }
        let n = pts.len();
        if n < 3 {
            break;
        }
        let keep: Vec<bool> = (0..n)
            .map(|i| cross(pts[(i + n - 1) % n], pts[i], pts[(i + 1) % n]) != 0)
            .collect();
        let before = pts.len();
        let mut i = 0;
        pts.retain(|_| {
            i += 1;
            keep[i - 1]
        });
        if pts.len() == before || pts.len() < 3 {
            break;
        }
    }
    if let Some(&first) = pts.first() {
        pts.push(first);
    }
    pts
}

/// Twice the signed area of a closed integer ring (the shoelace sum).
fn ring_area2(ring: &LineString<i32>) -> i64 {
    ring.0
        .windows(2)
        .map(|w| i64::from(w[0].x) * i64::from(w[1].y) - i64::from(w[1].x) * i64::from(w[0].y))
        .sum()
}

pub fn as_f64(mp: &MultiPolygon<i32>) -> MultiPolygon {
    let ring = |ls: &LineString<i32>| {
        LineString(
            ls.0.iter()
                .map(|c| coord! { x: f64::from(c.x), y: f64::from(c.y) })
                .collect(),
        )
    };
    MultiPolygon(
        mp.0.iter()
            .map(|p| Polygon::new(ring(p.exterior()), p.interiors().iter().map(ring).collect()))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Validation, polygon};

    fn frame() -> TileFrame {
        TileFrame::new(
            TileCoord::new(14, 13634, 6653).unwrap(),
            &TileConfig::default(),
        )
    }

    #[test]
    fn polygons_straddling_the_edge_are_clipped_to_the_buffer() {
        let f = frame();
        let b = f.lon_lat_bbox(0.0);
        // A square from the tile's middle to far beyond its east edge.
        let (mid_lon, mid_lat) = ((b.min_lon + b.max_lon) / 2.0, (b.min_lat + b.max_lat) / 2.0);
        let mp = MultiPolygon(vec![polygon![
            (x: mid_lon, y: mid_lat), (x: mid_lon + 1.0, y: mid_lat), (x: mid_lon + 1.0, y: mid_lat + 0.001),
            (x: mid_lon, y: mid_lat + 0.001), (x: mid_lon, y: mid_lat),
        ]]);
        let t = f.polygon(&mp, 0.0, 0.0).unwrap();
        let r = as_f64(&t).bounding_rect().unwrap();
        assert_eq!(r.max().x, 4096.0 + 64.0);
        assert!((r.min().x - 2048.0).abs() <= 1.0, "{r:?}");
        assert!(as_f64(&t).is_valid());
    }

    /// Polygons crossing the buffer's edges, some simply (the cut alone is taken) and some
    /// leaving and coming back across a side (the overlay is): either way the tile holds what
    /// the exact overlay alone gives, rounded, and is valid.
    #[test]
    fn a_polygon_cut_at_the_edge_covers_what_the_exact_overlay_gives() {
        let f = frame();
        let (lo, hi) = (-f.buffer, f.extent + f.buffer);
        let rect = Rect::new(coord! { x: lo, y: lo }, coord! { x: hi, y: hi });
        let buffered = rect.to_polygon();
        let mut rng = crate::generate::rng::Rng::named("stars at the edge");
        let mut rand = move || rng.unit();
        let (mut simple, mut overlaid) = (0, 0);
        for case in 0..400 {
            // A star around a point near an edge or a corner, spiky enough in some cases to
            // cross a side more than twice.
            let (cx, cy) = (rand() * 6000.0 - 1000.0, rand() * 6000.0 - 1000.0);
            let n = 8 + case % 50;
            let spiky = case % 2 == 0;
            let mut ring: Vec<Coord> = (0..n)
                .map(|i| {
                    let a = i as f64 / n as f64 * std::f64::consts::TAU;
                    let r = 1500.0
                        * if spiky {
                            0.2 + 0.8 * rand()
                        } else {
                            0.9 + 0.1 * rand()
                        };
                    coord! { x: cx + r * a.cos(), y: cy + r * a.sin() }
                })
                .collect();
            ring.push(ring[0]);
            let mp = MultiPolygon(vec![Polygon::new(LineString(ring), vec![])]);
            let expected = round(&mp.intersection(&buffered));
            let Some(got) = f.clip_and_round(&mp) else {
                assert!(expected.0.is_empty(), "case {case}: nothing drawn");
                continue;
            };
            let cut = round(&crate::tiles::clip::to_rect(&mp, rect));
            if as_f64(&cut).is_valid() {
                simple += 1;
            } else {
                overlaid += 1;
            }
            assert!(as_f64(&got).is_valid(), "case {case}");
            let apart = as_f64(&got).xor(&as_f64(&expected)).unsigned_area();
            assert!(apart <= 1.0, "case {case}: {apart} square units apart");
        }
        assert!(
            simple >= 50 && overlaid >= 25,
            "{simple} cut, {overlaid} overlaid"
        );
    }

    /// What rests on geo's whole check: a hole cut open by the buffer's edge, a hole holding
    /// the whole tile, two parts crossing one side. Each as the overlay alone gives it.
    #[test]
    fn holes_and_parts_at_the_edge_come_out_as_the_overlay_gives_them() {
        let f = frame();
        let (lo, hi) = (-f.buffer, f.extent + f.buffer);
        let buffered = Rect::new(coord! { x: lo, y: lo }, coord! { x: hi, y: hi }).to_polygon();
        let square = |x0: f64, y0: f64, x1: f64, y1: f64| {
            LineString(vec![
                coord! { x: x0, y: y0 },
                coord! { x: x1, y: y0 },
                coord! { x: x1, y: y1 },
                coord! { x: x0, y: y1 },
                coord! { x: x0, y: y0 },
            ])
        };
        let cases = [
            // A hole across the east edge of the buffer (4160).
            (
                "hole cut open",
                MultiPolygon(vec![Polygon::new(
                    square(3000.0, 1000.0, 6000.0, 3000.0),
                    vec![square(4000.0, 1500.0, 4500.0, 2500.0)],
                )]),
                Some(1_160.0 * 2_000.0 - 160.0 * 1_000.0),
            ),
            // A frame whose hole holds the whole buffered tile.
            (
                "hole around the tile",
                MultiPolygon(vec![Polygon::new(
                    square(-9000.0, -9000.0, 13000.0, 13000.0),
                    vec![square(-1000.0, -1000.0, 5000.0, 5000.0)],
                )]),
                None,
            ),
            // Two squares across the north edge (-64), apart.
            (
                "two parts",
                MultiPolygon(vec![
                    Polygon::new(square(100.0, -500.0, 400.0, 200.0), vec![]),
                    Polygon::new(square(600.0, -500.0, 900.0, 200.0), vec![]),
                ]),
                Some(2.0 * 300.0 * 264.0),
            ),
        ];
        for (name, mp, area) in cases {
            let got = f.clip_and_round(&mp);
            let expected = round(&mp.intersection(&buffered));
            match (area, got) {
                (None, got) => assert!(got.is_none() && expected.0.is_empty(), "{name}"),
                (Some(area), Some(got)) => {
                    assert!(as_f64(&got).is_valid(), "{name}");
                    assert_eq!(as_f64(&got).unsigned_area(), area, "{name}");
                    let apart = as_f64(&got).xor(&as_f64(&expected)).unsigned_area();
                    assert_eq!(apart, 0.0, "{name}");
                }
                (Some(_), None) => panic!("{name}: nothing drawn"),
            }
        }
    }

    #[test]
    fn tiny_polygons_are_dropped_below_the_area_threshold() {
        let f = frame();
        let b = f.lon_lat_bbox(0.0);
        let eps = (b.max_lon - b.min_lon) / 4096.0 * 0.4;
        let mp = MultiPolygon(vec![polygon![
            (x: b.min_lon + 0.001, y: b.min_lat + 0.001), (x: b.min_lon + 0.001 + eps, y: b.min_lat + 0.001),
            (x: b.min_lon + 0.001, y: b.min_lat + 0.001 + eps), (x: b.min_lon + 0.001, y: b.min_lat + 0.001),
        ]]);
        assert!(f.polygon(&mp, 0.0, 16.0).is_none());
    }

    #[test]
    fn points_in_the_buffer_are_not_in_the_tile() {
        let f = frame();
        let b = f.lon_lat_bbox(0.0);
        assert!(
            f.point(Point::new(
                (b.min_lon + b.max_lon) / 2.0,
                (b.min_lat + b.max_lat) / 2.0
            ))
            .is_some()
        );
        assert!(
            f.point(Point::new(b.max_lon + 1e-6, b.max_lat - 1e-4))
                .is_none()
        );
    }
}
