//! Whether a tile polygon is valid, as `geo::Validation` says, without its cost on long rings.
//!
//! geo looks for a ring's self-intersections by trying every pair of its edges, both ways round:
//! a million tests for a ring of a thousand, and each clipped polygon of a tile is checked. Here
//! a sweep over the edges' boxes hands geo's own predicate only the pairs whose boxes meet, so
//! the answer is geo's, for one polygon without holes (most of what crosses a tile's edge: grids,
//! villages, towns). Anything else is left to geo whole.

use geo::{Coord, Intersects, Line, LineString, MultiPolygon, Validation};

use super::geometry::as_f64;

/// `mp` has a polygon and is valid (OGC, as `geo::Validation::is_valid` judges it).
pub fn is_valid(mp: &MultiPolygon<i32>) -> bool {
    match mp.0.as_slice() {
        [] => false,
        [p] if p.interiors().is_empty() => ring_is_valid(p.exterior()),
        _ => as_f64(mp).is_valid(),
    }
}

/// geo's checks of a polygon's ring: at least four points (repeats in a row counted once), and
/// no two edges meeting other than where one ends and the other starts.
fn ring_is_valid(ring: &LineString<i32>) -> bool {
    if ring.0.is_empty() {
        return true; // an empty polygon, which geo takes as valid
    }
    let mut distinct = ring.0.clone();
    distinct.dedup();
    if distinct.len() < 4 {
        return false;
    }
    // Exact: tile coordinates are far below 2^53.
    let f = |c: Coord<i32>| Coord {
        x: f64::from(c.x),
        y: f64::from(c.y),
    };
    let lines: Vec<Line> = ring
        .lines()
        .map(|l| Line::new(f(l.start), f(l.end)))
        .collect();
    !has_self_intersection(&lines)
}

/// Whether two of `lines` meet other than end to start, as geo's
/// `linestring_has_self_intersection` decides it (its predicate, on the pairs whose boxes meet:
/// the others cannot intersect).
fn has_self_intersection(lines: &[Line]) -> bool {
    let bounds = |l: &Line| {
        (
            l.start.x.min(l.end.x),
            l.start.x.max(l.end.x),
            l.start.y.min(l.end.y),
            l.start.y.max(l.end.y),
        )
    };
    let mut order: Vec<usize> = (0..lines.len()).collect();
    order.sort_unstable_by(|&a, &b| bounds(&lines[a]).0.total_cmp(&bounds(&lines[b]).0));
    // The edges whose boxes reach the sweep's x, with their boxes.
    let mut active: Vec<(usize, (f64, f64, f64, f64))> = Vec::new();
    for i in order {
        let line = &lines[i];
        let b = bounds(line);
        active.retain(|(_, a)| a.1 >= b.0);
        for &(j, a) in &active {
            let other = &lines[j];
            // The test is symmetric: geo's (i, j) and (j, i) ask the same.
            if a.2 <= b.3
                && b.2 <= a.3
                && line.intersects(other)
                && line.start != other.end
                && line.end != other.start
            {
                return true;
            }
        }
        active.push((i, b));
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Polygon, coord};

    /// Random rings on a small grid (so that edges cross, touch, overlap and repeat points) and
    /// some with holes or a second polygon: the same verdict as geo's, many of each.
    #[test]
    fn the_verdict_is_geos_on_rings_that_cross_touch_and_overlap() {
        let mut rng = crate::generate::rng::Rng::named("rings on a small grid");
        let mut rand = move |n: u64| rng.int(0, n - 1) as i32;
        let (mut valid, mut invalid) = (0, 0);
        for case in 0..20_000 {
            let n = 3 + rand(10) as usize;
            let mut ring: Vec<Coord<i32>> =
                (0..n).map(|_| coord! { x: rand(8), y: rand(8) }).collect();
            ring.push(ring[0]);
            let exterior = LineString(ring);
            let mp = match case % 10 {
                0 => MultiPolygon(vec![Polygon::new(
                    exterior,
                    vec![LineString(vec![
                        coord! { x: 2, y: 2 },
                        coord! { x: 3, y: 2 },
                        coord! { x: 3, y: 3 },
                        coord! { x: 2, y: 2 },
                    ])],
                )]),
                _ => MultiPolygon(vec![Polygon::new(exterior, vec![])]),
            };
            let expected = as_f64(&mp).is_valid();
            assert_eq!(is_valid(&mp), expected, "case {case}: {mp:?}");
            if expected {
                valid += 1;
            } else {
                invalid += 1;
            }
        }
        assert!(
            valid > 1000 && invalid > 1000,
            "{valid} valid, {invalid} not"
        );
        assert!(!is_valid(&MultiPolygon(vec![])));
    }
}
