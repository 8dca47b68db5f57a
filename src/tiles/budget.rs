//! The tile byte budget: which polygons a tile over `TileConfig::budget_bytes` drops and how its
//! points are thinned (`render::render_scoped` draws it again without them).

use serde_json::Value;

/// At most this many drawings of one tile: the first, then one per estimate of what to drop.
pub(super) const MAX_DRAWINGS: usize = 8;

/// What a drawing of a tile leaves out, below each layer's full detail zoom.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(super) struct Thinning {
    /// Polygons need at least this area (square tile units) besides `MIN_AREA_PX2`.
    pub least_area: f64,
    /// Points are kept one per square cell this wide (tile units), the most important first;
    /// 0 keeps them all.
    pub point_spacing: i32,
}

/// What a budget could still drop from a drawing: each polygon's area (square tile units) and
/// about how many bytes it takes, and the points' count and bytes.
#[derive(Default)]
pub(super) struct Droppable {
    pub polygons: Vec<(f64, usize)>,
    pub points: usize,
    pub point_bytes: usize,
}

/// How to draw a tile `over` bytes over budget again, or `None` when nothing is left to drop.
/// Polygons go first, the smallest first, as far as their estimated bytes make up what is over;
/// when they cannot, they all go and the points are thinned to one per cell, cells sized for
/// the share of their bytes to keep and grown on every further drawing.
pub(super) fn next(
    now: Thinning,
    drawn: &mut Droppable,
    over: usize,
    extent: u32,
) -> Option<Thinning> {
    let polygon_bytes: usize = drawn.polygons.iter().map(|p| p.1).sum();
    if !drawn.polygons.is_empty() && (polygon_bytes >= over || drawn.points == 0) {
        let least_area = least_area_to_drop(&mut drawn.polygons, over, now.least_area);
        return Some(Thinning { least_area, ..now });
    }
    let extent = i32::try_from(extent).unwrap_or(i32::MAX);
    if drawn.points == 0 || now.point_spacing >= extent {
        return None;
    }
    let need = over.saturating_sub(polygon_bytes) as f64;
    let keep = (1.0 - need / drawn.point_bytes.max(1) as f64).clamp(0.05, 0.8);
    let point_spacing = if now.point_spacing == 0 {
        // About as many cells as points to keep, were they spread evenly.
        (f64::from(extent) / (drawn.points as f64 * keep).sqrt()).ceil() as i32
    } else {
        (f64::from(now.point_spacing) / keep.sqrt()).ceil() as i32
    };
    Some(Thinning {
        least_area: f64::INFINITY,
        point_spacing: point_spacing.clamp(now.point_spacing + 1, extent),
    })
}

/// `features` (points) thinned to one per `spacing`-wide cell: in each, the one with the largest
/// `population` (or `members`, `people`, `capacity`), the first of equals.
pub(super) fn thin_points(
    mut features: Vec<&super::render::TileFeature>,
    spacing: i32,
) -> Vec<&super::render::TileFeature> {
    let importance = |p: &serde_json::Map<String, Value>| {
        ["population", "members", "people", "capacity"]
            .iter()
            .find_map(|k| p.get(*k).and_then(Value::as_f64))
            .unwrap_or(0.0)
    };
    // Each feature's importance looked up once, not at every comparison.
    let mut ranked: Vec<(f64, &super::render::TileFeature)> = features
        .drain(..)
        .map(|f| (importance(&f.1.map), f))
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut taken = std::collections::HashSet::new();
    ranked
        .into_iter()
        .map(|(_, f)| f)
        .filter(|feature| match &feature.2 {
            super::render::TileGeometry::Point(c) => {
                taken.insert((c.x.div_euclid(spacing), c.y.div_euclid(spacing)))
            }
            _ => true,
        })
        .collect()
}

/// The least area polygons below their full detail zoom need in the next drawing of a tile
/// `over` bytes over budget whose droppable polygons are `polygons` (at least `least_area`
/// already): the smallest are dropped until their estimated bytes make up what is over, and the
/// first one kept sets the area; infinite (drop them all) when that is not enough.
fn least_area_to_drop(polygons: &mut [(f64, usize)], over: usize, least_area: f64) -> f64 {
    polygons.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut freed = 0;
    let keep_from = polygons.iter().position(|&(_, bytes)| {
        let enough = freed >= over;
        freed += bytes;
        enough
    });
    match keep_from {
        Some(i) if polygons[i].0 > least_area => polygons[i].0,
        // Ties at the smallest kept area: drop them too rather than draw the same tile again.
        Some(_) => least_area.next_up(),
        None => f64::INFINITY,
    }
}

/// A tile polygon's area (square tile units, holes taken out) and about how many bytes it and its
/// properties take: MVT spends a command or a zigzag varint of one or two bytes per coordinate.
pub(super) fn area_and_size(
    mp: &geo::MultiPolygon<i32>,
    properties: &serde_json::Map<String, Value>,
) -> (f64, usize) {
    let ring = |r: &geo::LineString<i32>| -> f64 {
        let twice: i64 = r
            .0
            .windows(2)
            .map(|w| i64::from(w[0].x) * i64::from(w[1].y) - i64::from(w[1].x) * i64::from(w[0].y))
            .sum();
        (twice as f64 / 2.0).abs()
    };
    let mut area = 0.0;
    let mut vertices = 0;
    for p in &mp.0 {
        area += ring(p.exterior()) - p.interiors().iter().map(ring).sum::<f64>();
        vertices += p.exterior().0.len() + p.interiors().iter().map(|r| r.0.len()).sum::<usize>();
    }
    (area, 4 + 3 * vertices + properties_size(properties))
}

/// About what a feature's properties take in its tile: two varints per tag, and its value
/// (values repeat rarely in a layer of names and codes, so each is counted).
pub(super) fn properties_size(properties: &serde_json::Map<String, Value>) -> usize {
    properties
        .values()
        .map(|v| {
            2 + match v {
                Value::String(s) => s.len() + 3,
                Value::Array(items) => items.iter().map(|i| i.to_string().len()).sum::<usize>() + 3,
                _ => 9,
            }
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{LineString, MultiPolygon, Polygon};

    #[test]
    fn area_takes_holes_out() {
        let square = |x0: i32, y0: i32, side: i32| {
            LineString::from(vec![
                (x0, y0),
                (x0 + side, y0),
                (x0 + side, y0 + side),
                (x0, y0 + side),
                (x0, y0),
            ])
        };
        let mp = MultiPolygon(vec![
            Polygon::new(square(0, 0, 10), vec![square(2, 2, 2)]),
            Polygon::new(square(20, 0, 3), vec![]),
        ]);
        let (area, bytes) = area_and_size(&mp, &serde_json::Map::new());
        assert_eq!(area, 100.0 - 4.0 + 9.0);
        assert_eq!(bytes, 4 + 3 * 15);
    }

    #[test]
    fn the_smallest_go_first_until_what_is_over_is_made_up() {
        let mut polygons = vec![(3.0, 10), (1.0, 10), (2.0, 10)];
        assert_eq!(least_area_to_drop(&mut polygons, 15, 0.0), 3.0);
        assert_eq!(least_area_to_drop(&mut polygons, 5, 0.0), 2.0);
        assert_eq!(least_area_to_drop(&mut polygons, 31, 0.0), f64::INFINITY);
        // Equal areas at the threshold already reached: the next drawing drops them too.
        let mut ties = vec![(5.0, 10), (5.0, 10)];
        assert!(least_area_to_drop(&mut ties, 5, 5.0) > 5.0);
    }
}
