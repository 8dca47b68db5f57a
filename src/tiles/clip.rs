//! A cheap cut of polygons to a rectangle (Sutherland–Hodgman): linear in a ring's length, where
//! the exact overlay is not.
//!
//! Each ring is cut against the rectangle's four sides in turn. For a point strictly inside the
//! rectangle, the cut ring winds around it as the original did, so under the even-odd rule the
//! cut polygon covers exactly what the original covers there. Where a ring leaves and comes back
//! across one side, the cut joins the pieces along that side, and where two pieces of the ring
//! run along the same stretch of it they overlap there: zero-width edges, an invalid polygon.
//! `TileFrame` takes a cut as it is when it is valid, and otherwise gives the exact overlay the
//! cut to a rectangle a unit larger, whose zero-width edges the overlay cuts away.

use geo::{Coord, LineString, MultiPolygon, Polygon, Rect};

/// `mp` cut to `rect`: rings that miss it dropped, the others cut along its sides. Covers what
/// `mp` covers strictly inside `rect` (even-odd), and may be invalid on `rect`'s boundary.
pub fn to_rect(mp: &MultiPolygon, rect: Rect) -> MultiPolygon {
    let mut scratch = Vec::new();
    MultiPolygon(
        mp.0.iter()
            .filter_map(|p| {
                let exterior = ring(p.exterior(), rect, &mut scratch)?;
                let interiors = p
                    .interiors()
                    .iter()
                    .filter_map(|r| ring(r, rect, &mut scratch))
                    .collect();
                Some(Polygon::new(exterior, interiors))
            })
            .collect(),
    )
}

/// One ring cut to `rect`, `None` when fewer than three points are left (nothing inside).
fn ring(ls: &LineString, rect: Rect, scratch: &mut Vec<Coord>) -> Option<LineString> {
    let (min, max) = (rect.min(), rect.max());
    let mut points: Vec<Coord> = ls.0.clone();
    // The closing repeat of the first point is implied by the cut.
    if points.len() > 1 && points.first() == points.last() {
        points.pop();
    }
    // Each side: whether a point is on the kept side, and where an edge crosses the side.
    let at_x = |a: Coord, b: Coord, x: f64| {
        let t = (x - a.x) / (b.x - a.x);
        Coord {
            x,
            y: a.y + t * (b.y - a.y),
        }
    };
    let at_y = |a: Coord, b: Coord, y: f64| {
        let t = (y - a.y) / (b.y - a.y);
        Coord {
            x: a.x + t * (b.x - a.x),
            y,
        }
    };
    cut(
        &mut points,
        scratch,
        |c| c.x >= min.x,
        |a, b| at_x(a, b, min.x),
    );
    cut(
        &mut points,
        scratch,
        |c| c.x <= max.x,
        |a, b| at_x(a, b, max.x),
    );
    cut(
        &mut points,
        scratch,
        |c| c.y >= min.y,
        |a, b| at_y(a, b, min.y),
    );
    cut(
        &mut points,
        scratch,
        |c| c.y <= max.y,
        |a, b| at_y(a, b, max.y),
    );
    points.dedup();
    if points.len() > 1 && points.first() == points.last() {
        points.pop();
    }
    (points.len() >= 3).then(|| LineString::new(points)) // `Polygon::new` closes it
}

/// Sutherland–Hodgman against one side: `points` (an open ring) replaced by its part on the
/// kept side, with a point where each edge crosses the side.
fn cut(
    points: &mut Vec<Coord>,
    out: &mut Vec<Coord>,
    keep: impl Fn(Coord) -> bool,
    crossing: impl Fn(Coord, Coord) -> Coord,
) {
    out.clear();
    let Some(&last) = points.last() else {
        return;
    };
    let mut prev = last;
    let mut prev_in = keep(prev);
    for &c in points.iter() {
        let c_in = keep(c);
        if c_in != prev_in {
            // The crossing is computed from the outside point towards the inside one, so that
            // an edge cut from either direction gives the same point.
            out.push(if c_in {
                crossing(prev, c)
            } else {
                crossing(c, prev)
            });
        }
        if c_in {
            out.push(c);
        }
        (prev, prev_in) = (c, c_in);
    }
    std::mem::swap(points, out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Area, BooleanOps, coord, polygon};

    fn square(min: f64, max: f64) -> Rect {
        Rect::new(coord! { x: min, y: min }, coord! { x: max, y: max })
    }

    /// What the tiles do: the cut, then the exact overlay against a rectangle inside it.
    fn cut_then_overlay(mp: &MultiPolygon, outer: Rect, inner: Rect) -> MultiPolygon {
        to_rect(mp, outer).intersection(&inner.to_polygon())
    }

    #[test]
    fn a_u_shape_cut_across_both_arms_overlaps_itself_and_the_overlay_mends_it() {
        // A U: a bar along the bottom, arms up the sides. A rectangle over the arms' tops cuts
        // each arm, and the cut runs along its bottom side from one arm to the other and back:
        // the edge (7,5)-(3,5) lies inside the edge (0,5)-(10,5).
        let u = MultiPolygon(vec![polygon![
            (x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 10.0, y: 10.0), (x: 7.0, y: 10.0),
            (x: 7.0, y: 3.0), (x: 3.0, y: 3.0), (x: 3.0, y: 10.0), (x: 0.0, y: 10.0),
        ]]);
        let (outer, inner) = (square(-1.0, 11.0), square(-0.5, 10.5));
        let outer = Rect::new(coord! { x: outer.min().x, y: 5.0 }, outer.max());
        let inner = Rect::new(coord! { x: inner.min().x, y: 5.5 }, inner.max());
        let cut = to_rect(&u, outer);
        assert_eq!(
            cut.0[0].exterior().0,
            vec![
                coord! { x: 0.0, y: 5.0 },
                coord! { x: 10.0, y: 5.0 },
                coord! { x: 10.0, y: 10.0 },
                coord! { x: 7.0, y: 10.0 },
                coord! { x: 7.0, y: 5.0 },
                coord! { x: 3.0, y: 5.0 },
                coord! { x: 3.0, y: 10.0 },
                coord! { x: 0.0, y: 10.0 },
                coord! { x: 0.0, y: 5.0 },
            ]
        );
        assert!(!geo::Validation::is_valid(&cut), "the cut overlaps itself");
        // By hand: the two arms' tops, 0..3 and 7..10 by 5..10, are 30; the bridge adds none.
        assert_eq!(cut.unsigned_area(), 30.0);
        let exact = u.intersection(&inner.to_polygon());
        let ours = cut_then_overlay(&u, outer, inner);
        // Within the inner rectangle: 0..3 and 7..10 by 5.5..10.
        assert_eq!(exact.unsigned_area(), 2.0 * 3.0 * 4.5);
        assert_eq!(ours.xor(&exact).unsigned_area(), 0.0);
        assert_eq!(ours.0.len(), 2, "two arms, apart");
        assert!(geo::Validation::is_valid(&ours));
    }

    #[test]
    fn rings_that_miss_the_rectangle_go_and_a_hole_around_it_empties_it() {
        let far = polygon![(x: 20.0, y: 20.0), (x: 30.0, y: 20.0), (x: 30.0, y: 30.0)];
        assert!(
            to_rect(&MultiPolygon(vec![far]), square(0.0, 10.0))
                .0
                .is_empty()
        );
        // A frame whose hole holds the whole rectangle: nothing of it is inside.
        let frame = polygon!(
            exterior: [(x: -50.0, y: -50.0), (x: 50.0, y: -50.0), (x: 50.0, y: 50.0), (x: -50.0, y: 50.0)],
            interiors: [[(x: -20.0, y: -20.0), (x: -20.0, y: 20.0), (x: 20.0, y: 20.0), (x: 20.0, y: -20.0)]],
        );
        let mp = MultiPolygon(vec![frame]);
        let ours = cut_then_overlay(&mp, square(-1.0, 11.0), square(0.0, 10.0));
        assert_eq!(ours.unsigned_area(), 0.0);
        // And a polygon around the rectangle is the rectangle.
        let big = MultiPolygon(vec![square(-100.0, 100.0).to_polygon()]);
        assert_eq!(to_rect(&big, square(0.0, 10.0)).unsigned_area(), 100.0);
    }

    /// Star-shaped rings (concave, many crossings of each side) with a hole, at random places
    /// against random rectangles: the cut then the overlay covers what the overlay alone does.
    #[test]
    fn random_stars_cut_then_overlaid_equal_the_overlay_alone() {
        let mut rng = crate::generate::rng::Rng::named("clip stars");
        let mut rand = move || rng.unit();
        let star = |cx: f64, cy: f64, r: f64, n: usize, rand: &mut dyn FnMut() -> f64| {
            let mut pts: Vec<Coord> = (0..n)
                .map(|i| {
                    let a = i as f64 / n as f64 * std::f64::consts::TAU;
                    let r = r * (0.3 + 0.7 * rand());
                    coord! { x: cx + r * a.cos(), y: cy + r * a.sin() }
                })
                .collect();
            pts.push(pts[0]);
            LineString::new(pts)
        };
        for case in 0..300 {
            let (cx, cy) = (rand() * 100.0, rand() * 100.0);
            let exterior = star(cx, cy, 60.0, 40 + case % 60, &mut rand);
            let mut hole = star(cx, cy, 10.0, 12, &mut rand);
            hole.0.reverse();
            let mp = MultiPolygon(vec![Polygon::new(exterior, vec![hole])]);
            let lo = rand() * 60.0;
            let hi = lo + 10.0 + rand() * 40.0;
            let (outer, inner) = (square(lo - 1.0, hi + 1.0), square(lo, hi));
            let exact = mp.intersection(&inner.to_polygon());
            let ours = cut_then_overlay(&mp, outer, inner);
            // Equal to the overlay's own precision: it snaps to a grid fitted to its input's
            // bounds, which the cut makes smaller (parts in a billion of the rectangle).
            let tolerance = 1e-7 * (hi - lo) * (hi - lo);
            let (a, b) = (exact.unsigned_area(), ours.unsigned_area());
            assert!(
                (a - b).abs() <= tolerance,
                "case {case}: overlay alone {a}, after the cut {b}"
            );
            // And the same region: nothing of one lies outside the other.
            let apart = exact.xor(&ours).unsigned_area();
            assert!(apart <= tolerance, "case {case}: {apart} apart of {a}");
        }
    }
}
