//! The tile byte budget: which polygons a tile over `TileConfig::budget_bytes` drops and how its
//! points are thinned, first by estimate (`plan`), then from what each drawing weighed (`next`;
//! `render::render_scoped` draws it again without them).

use std::cell::OnceCell;

use serde_json::Value;

use super::features::{TileFeature, TileGeometry};
use super::layers::TileLayer;

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

/// How much more `weigh` counts than the encoder writes: a layer stores each distinct property
/// value once where `weigh` counts it for every feature, and most coordinates take one byte where
/// it counts one and a half. Measured at `--scale 100` (z12 and z14 of the urban core, every
/// drawing): 1.12-1.53 for the layers a budget thins, 1.2-1.3 for grids and Party organisations,
/// the largest of them. `plan` takes the low end of the large layers' range, so that its first
/// drawing errs towards more bytes, which a later drawing thins from what the encoder wrote (or,
/// when it comes out under, `replan` corrects with the tile's own ratio).
const ESTIMATE_OVER_ENCODED: f64 = 1.2;

/// A feature of one tile with what the budget weighs it by.
pub(super) struct Weighed {
    pub feature: TileFeature,
    /// Square tile units, holes taken out; 0 for points and lines.
    pub area: f64,
    /// About what it takes in its layer (`weigh`).
    pub estimated_bytes: usize,
}

impl From<TileFeature> for Weighed {
    fn from(feature: TileFeature) -> Weighed {
        let (area, estimated_bytes) = weigh(&feature.2, feature.1.estimated_bytes);
        Weighed {
            feature,
            area,
            estimated_bytes,
        }
    }
}

/// A layer's features in one tile, before any budget.
pub(super) struct Gathered {
    pub layer: TileLayer,
    /// Below the layer's full detail zoom: what a budget may drop.
    pub thinned: bool,
    pub features: Vec<Weighed>,
    has_polygons: bool,
    has_points: bool,
    /// Positions in `features`, the most important first (`importance`; the first of equals),
    /// made when a drawing first thins the layer's points.
    ranked: OnceCell<Vec<usize>>,
}

impl Gathered {
    pub fn new(layer: TileLayer, thinned: bool, features: Vec<TileFeature>) -> Gathered {
        let features: Vec<Weighed> = features.into_iter().map(Weighed::from).collect();
        let has = |kind: fn(&TileGeometry) -> bool| features.iter().any(|f| kind(&f.feature.2));
        Gathered {
            layer,
            thinned,
            has_polygons: has(|g| matches!(g, TileGeometry::Polygon(_))),
            has_points: has(|g| matches!(g, TileGeometry::Point(_))),
            features,
            ranked: OnceCell::new(),
        }
    }

    /// What of `thinning` selects this layer's features: nothing at its full detail zoom, else
    /// the least area where it has polygons and the spacing where it has points. Two drawings
    /// that it gives the same answer for draw the layer the same.
    pub fn applies(&self, thinning: Thinning) -> Thinning {
        Thinning {
            least_area: if self.thinned && self.has_polygons {
                thinning.least_area
            } else {
                0.0
            },
            point_spacing: if self.thinned && self.has_points {
                thinning.point_spacing
            } else {
                0
            },
        }
    }

    /// The features a drawing with `thinning` (as `applies` gives it) keeps, in drawing order:
    /// polygons of at least its least area, and, when it spaces points, one point per
    /// `point_spacing`-wide cell, the most important of each (the features then ordered by
    /// importance).
    pub fn kept(&self, thinning: Thinning) -> Vec<&Weighed> {
        let big_enough = |f: &&Weighed| f.area == 0.0 || f.area >= thinning.least_area;
        if thinning.point_spacing <= 0 {
            return self.features.iter().filter(big_enough).collect();
        }
        let spacing = thinning.point_spacing;
        let ranked = self.ranked.get_or_init(|| {
            let mut ranked: Vec<(f64, usize)> = self
                .features
                .iter()
                .enumerate()
                .map(|(i, f)| (importance(&f.feature.1.map), i))
                .collect();
            ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
            ranked.into_iter().map(|(_, i)| i).collect()
        });
        let mut taken = std::collections::HashSet::new();
        ranked
            .iter()
            .map(|&i| &self.features[i])
            .filter(big_enough)
            .filter(|f| match &f.feature.2 {
                TileGeometry::Point(c) => {
                    taken.insert((c.x.div_euclid(spacing), c.y.div_euclid(spacing)))
                }
                _ => true,
            })
            .collect()
    }

    /// Adds what a budget could still drop of `kept` (this layer's features in a drawing).
    pub fn droppable(&self, kept: &[&Weighed], into: &mut Droppable) {
        if !self.thinned {
            return;
        }
        for f in kept {
            match f.feature.2 {
                TileGeometry::Polygon(_) => into.polygons.push((f.area, f.estimated_bytes)),
                TileGeometry::Point(_) => {
                    into.points += 1;
                    into.point_bytes += f.estimated_bytes;
                }
                TileGeometry::Line(_) => {}
            }
        }
    }
}

/// A tile's thinning as `plan` chose it, with the estimates it chose by.
pub(super) struct Planned {
    pub thinning: Thinning,
    /// What the drawing with `thinning` weighs (`estimate`).
    estimated_bytes: usize,
    /// What the whole tile weighs (`estimate` without thinning).
    estimated_whole_bytes: usize,
}

/// The thinning a tile's first drawing starts from: `next` applied to the features' weights
/// (`weigh`, taken as `over_encoded` times what they encode to: `ESTIMATE_OVER_ENCODED` until a
/// drawing of the tile says better) until they fit in `budget_bytes`, so that a tile far over its
/// budget is not encoded whole before it is thinned. `Thinning::default()` for a tile that fits.
pub(super) fn plan(
    layers: &[Gathered],
    budget_bytes: usize,
    over_encoded: Option<f64>,
    extent: u32,
) -> Planned {
    let over_encoded = over_encoded.unwrap_or(ESTIMATE_OVER_ENCODED);
    let budget = (budget_bytes as f64 * over_encoded) as usize;
    let (whole, mut droppable) = estimate(layers, Thinning::default());
    let mut planned = Planned {
        thinning: Thinning::default(),
        estimated_bytes: whole,
        estimated_whole_bytes: whole,
    };
    for _ in 1..MAX_DRAWINGS {
        let over = planned.estimated_bytes.saturating_sub(budget);
        let Some(more) = (over > 0)
            .then(|| next(planned.thinning, &mut droppable, over, extent))
            .flatten()
        else {
            break;
        };
        let (bytes, more_droppable) = estimate(layers, more);
        (planned.thinning, planned.estimated_bytes, droppable) = (more, bytes, more_droppable);
    }
    planned
}

/// After a first drawing as `planned` came out at `bytes`, within `budget_bytes`: what to draw
/// instead when this tile's own ratio of estimate to encoded bytes says a drawing that keeps more
/// fits. The whole tile when it would fit, or nearly (within a tenth, so that a tile the estimate
/// misjudges is drawn rather than thinned for nothing); else, when the drawing is under 90% of
/// the budget and the ratio above the one `plan` took, a plan with it 5% under the budget. `None`
/// when the drawing stands. The caller serves the first drawing if what this gives comes out over.
pub(super) fn replan(
    layers: &[Gathered],
    planned: &Planned,
    bytes: usize,
    budget_bytes: usize,
    extent: u32,
) -> Option<Thinning> {
    if planned.thinning == Thinning::default() {
        return None;
    }
    let over_encoded = planned.estimated_bytes as f64 / bytes.max(1) as f64;
    let budget = budget_bytes as f64;
    if planned.estimated_whole_bytes as f64 / over_encoded <= budget * 1.1 {
        return Some(Thinning::default());
    }
    // Within a tenth of the budget the drawing stands: a plan would mostly come out over it.
    if bytes as f64 >= budget * 0.9 || over_encoded * 0.95 <= ESTIMATE_OVER_ENCODED {
        return None;
    }
    let again = plan(layers, (budget * 0.95) as usize, Some(over_encoded), extent).thinning;
    (again != planned.thinning).then_some(again)
}

/// What a drawing of `layers` with `thinning` weighs (`weigh`), and what a budget could still
/// drop from it.
pub(super) fn estimate(layers: &[Gathered], thinning: Thinning) -> (usize, Droppable) {
    let mut bytes = 0;
    let mut droppable = Droppable::default();
    for layer in layers {
        let kept = layer.kept(layer.applies(thinning));
        bytes += kept.iter().map(|f| f.estimated_bytes).sum::<usize>();
        layer.droppable(&kept, &mut droppable);
    }
    (bytes, droppable)
}

/// How important a point is when a budget thins points: its `population` (or `members`,
/// `people`, `capacity`), else 0.
fn importance(properties: &serde_json::Map<String, Value>) -> f64 {
    ["population", "members", "people", "capacity"]
        .iter()
        .find_map(|k| properties.get(*k).and_then(Value::as_f64))
        .unwrap_or(0.0)
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

/// A tile feature's area (square tile units, holes taken out; 0 but for polygons) and about how
/// many bytes it and its properties (`properties_bytes`, `properties_size`) take: MVT spends a
/// command or a zigzag varint of one or two bytes per coordinate.
pub(super) fn weigh(geometry: &TileGeometry, properties_bytes: usize) -> (f64, usize) {
    match geometry {
        TileGeometry::Point(_) => (0.0, 6 + properties_bytes),
        TileGeometry::Line(ml) => {
            let vertices: usize = ml.0.iter().map(|l| l.0.len()).sum();
            (0.0, 4 + 3 * vertices + properties_bytes)
        }
        TileGeometry::Polygon(mp) => area_and_size(mp, properties_bytes),
    }
}

fn area_and_size(mp: &geo::MultiPolygon<i32>, properties_bytes: usize) -> (f64, usize) {
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
    (area, 4 + 3 * vertices + properties_bytes)
}

/// About what a feature's properties take in its tile: two varints per tag, and its value, counted
/// for every feature though a layer stores a repeated value once (`ESTIMATE_OVER_ENCODED`).
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
    use crate::tiles::layers::Source;
    use geo::{Coord, LineString, MultiPolygon, Polygon};
    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::Arc;

    fn layer(features: Vec<TileFeature>) -> Gathered {
        let layer = TileLayer {
            name: "test",
            source: Source::Features(crate::model::Layer::Stations),
            minzoom: 0,
            maxzoom: 22,
            full_detail_zoom: 22,
        };
        Gathered::new(layer, true, features)
    }

    fn props(population: u64) -> Arc<super::super::features::Props> {
        let mut map = serde_json::Map::new();
        map.insert("population".into(), Value::from(population));
        Arc::new(map.into())
    }

    /// A pseudo-random sequence (no crate needed): xorshift.
    fn numbers(mut state: u64) -> impl FnMut() -> u64 {
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        }
    }

    #[test]
    fn spaced_points_are_the_most_important_of_each_cell() {
        let mut next_number = numbers(7);
        let points: Vec<TileFeature> = (0..2_000u64)
            .map(|id| {
                let at = Coord {
                    x: (next_number() % 4096) as i32,
                    y: (next_number() % 4096) as i32,
                };
                (Some(id), props(next_number() % 50), TileGeometry::Point(at))
            })
            .collect();
        let layer = layer(points);
        for spacing in [64, 300, 1000] {
            let kept: BTreeSet<u64> = layer
                .kept(Thinning {
                    least_area: 0.0,
                    point_spacing: spacing,
                })
                .iter()
                .map(|f| f.feature.0.unwrap())
                .collect();
            // The plain way: per cell, the largest population, the first of equals.
            let mut best: BTreeMap<(i32, i32), (u64, u64)> = BTreeMap::new();
            for f in &layer.features {
                let TileGeometry::Point(c) = f.feature.2 else {
                    unreachable!()
                };
                let population = f.feature.1.map["population"].as_u64().unwrap();
                let cell = (c.x / spacing, c.y / spacing);
                let id = f.feature.0.unwrap();
                best.entry(cell)
                    .and_modify(|b| {
                        if population > b.0 {
                            *b = (population, id)
                        }
                    })
                    .or_insert((population, id));
            }
            let expected: BTreeSet<u64> = best.values().map(|b| b.1).collect();
            assert_eq!(kept, expected, "spacing {spacing}");
        }
    }

    #[test]
    fn a_plan_drops_the_smallest_polygons_until_the_estimate_fits() {
        let square = |side: i32| {
            MultiPolygon(vec![Polygon::new(
                LineString::from(vec![(0, 0), (side, 0), (side, side), (0, side), (0, 0)]),
                vec![],
            )])
        };
        let polygons: Vec<TileFeature> = (1..=100u64)
            .map(|id| (Some(id), props(0), TileGeometry::Polygon(square(id as i32))))
            .collect();
        let layers = [layer(polygons)];
        let (all, _) = estimate(&layers, Thinning::default());
        assert_eq!(
            plan(&layers, all, Some(1.0), 4096).thinning,
            Thinning::default()
        );
        for budget in [all / 2, all / 5] {
            let thinning = plan(&layers, budget, Some(1.0), 4096).thinning;
            let (bytes, _) = estimate(&layers, thinning);
            assert!(bytes <= budget, "{bytes} over {budget}");
            // The largest kept, each as large as its id.
            let kept: Vec<u64> = layers[0]
                .kept(thinning)
                .iter()
                .map(|f| f.feature.0.unwrap())
                .collect();
            assert_eq!(kept, (101 - kept.len() as u64..=100).collect::<Vec<_>>());
            // Not thinned further than it needs: the next smaller polygon would not fit.
            let one_more = bytes + layers[0].features[100 - kept.len() - 1].estimated_bytes;
            assert!(one_more > budget, "{one_more} would still fit in {budget}");
        }
        // Estimates taken as twice what they encode to: half of them fits in half the budget.
        let relaxed = plan(&layers, all / 2, Some(2.0), 4096).thinning;
        assert_eq!(relaxed, Thinning::default());
    }

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
        let (area, bytes) = area_and_size(&mp, 0);
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
