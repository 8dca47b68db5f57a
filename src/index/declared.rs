//! Declared layers in a snapshot: an R-tree of each feature's box and a key map per layer, and
//! the queries every layer answers (`AnyLayer`): features in a box, by key, its extent, which
//! contain a point, the nearest, and what changed.

use std::collections::HashMap;

use geo::{BoundingRect, Contains, Intersects, Point, Rect, coord};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

use super::{AreaTree, Snapshot};
use crate::geodesy::distance_m;
use crate::model::records::DeclaredData;
use crate::model::schema::Visibility;
use crate::model::{AnyLayer, Bbox};

/// One declared layer's index, by position in `Dataset::declared`.
pub(super) struct DeclaredIndex {
    pub(super) tree: AreaTree,
    pub(super) keys: HashMap<String, usize>,
}

impl DeclaredIndex {
    pub(super) fn build(layer: &DeclaredData) -> DeclaredIndex {
        let items = layer
            .features
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                let b = r.geometry.bounding_rect()?;
                let aabb = AABB::from_corners([b.min().x, b.min().y], [b.max().x, b.max().y]);
                Some(GeomWithData::new(Rectangle::from_aabb(aabb), i))
            })
            .collect();
        DeclaredIndex {
            tree: RTree::bulk_load_with_params(items),
            keys: layer
                .features
                .iter()
                .enumerate()
                .map(|(i, r)| (r.key.clone(), i))
                .collect(),
        }
    }
}

impl Snapshot {
    /// Every layer: the built-in ones, then the declared ones in declaration order.
    pub fn layers(&self) -> Vec<AnyLayer> {
        crate::model::Layer::ALL
            .into_iter()
            .map(AnyLayer::Builtin)
            .chain(self.data.declared.iter().map(|d| AnyLayer::Declared(d.def)))
            .collect()
    }

    /// A layer by name, built-in or declared.
    pub fn layer_named(&self, name: &str) -> Option<AnyLayer> {
        self.layers().into_iter().find(|l| l.name() == name)
    }

    fn declared_position(&self, name: &str) -> Option<usize> {
        self.data.declared.iter().position(|d| d.def.name == name)
    }

    /// The features of a declared layer (empty when the snapshot has no such layer).
    pub fn declared_layer(&self, name: &str) -> Option<&DeclaredData> {
        self.data.declared(name)
    }

    /// How many features a layer has.
    pub fn count_any(&self, layer: AnyLayer) -> usize {
        match layer {
            AnyLayer::Builtin(l) => self.data.count(l),
            AnyLayer::Declared(def) => self
                .declared_layer(def.name)
                .map_or(0, |d| d.features.len()),
        }
    }

    /// Positions of a layer's features meeting `bbox` (all when `None`), in key order.
    pub fn in_bbox_any(&self, layer: AnyLayer, bbox: Option<Bbox>) -> Vec<usize> {
        let def = match layer {
            AnyLayer::Builtin(l) => return self.in_bbox(l, bbox),
            AnyLayer::Declared(def) => def,
        };
        let (Some(li), Some(data)) = (
            self.declared_position(def.name),
            self.declared_layer(def.name),
        ) else {
            return Vec::new();
        };
        let Some(b) = bbox else {
            return (0..data.features.len()).collect();
        };
        let rect = Rect::new(
            coord! { x: b.min_lon, y: b.min_lat },
            coord! { x: b.max_lon, y: b.max_lat },
        );
        let aabb = AABB::from_corners([b.min_lon, b.min_lat], [b.max_lon, b.max_lat]);
        let mut out: Vec<usize> = self.declared[li]
            .tree
            .locate_in_envelope_intersecting(aabb)
            .map(|item| item.data)
            .filter(|&i| data.features[i].geometry.intersects(&rect))
            .collect();
        out.sort_unstable();
        out
    }

    /// A feature's position by its key.
    pub fn find_any(&self, layer: AnyLayer, key: &str) -> Option<usize> {
        match layer {
            AnyLayer::Builtin(l) => self.find(l, key),
            AnyLayer::Declared(def) => {
                let li = self.declared_position(def.name)?;
                self.declared[li].keys.get(key).copied()
            }
        }
    }

    /// The box of a layer's geometries; `None` when it has none.
    pub fn extent_any(&self, layer: AnyLayer) -> Option<Bbox> {
        let def = match layer {
            AnyLayer::Builtin(l) => return self.extent(l),
            AnyLayer::Declared(def) => def,
        };
        let tree = &self.declared[self.declared_position(def.name)?].tree;
        (tree.size() > 0).then(|| {
            let e = tree.root().envelope();
            Bbox {
                min_lon: e.lower()[0],
                min_lat: e.lower()[1],
                max_lon: e.upper()[0],
                max_lat: e.upper()[1],
            }
        })
    }

    /// The public GeoJSON feature at position `i` of any layer.
    pub fn public_feature_any(&self, layer: AnyLayer, i: usize) -> geojson::Feature {
        self.feature_visible_any(layer, i, Visibility::Public)
    }

    /// The feature at position `i` of any layer with the fields up to `vis`.
    pub fn feature_visible_any(
        &self,
        layer: AnyLayer,
        i: usize,
        vis: Visibility,
    ) -> geojson::Feature {
        match layer {
            AnyLayer::Builtin(l) => self.feature_visible(l, i, vis),
            AnyLayer::Declared(def) => self
                .declared_layer(def.name)
                .map(|d| d.features[i].feature(def, vis))
                .unwrap_or_else(|| {
                    geojson::Feature::from(geojson::GeometryValue::new_point([0.0, 0.0]))
                }),
        }
    }

    /// `feature_visible_any` without the geometry.
    pub fn bare_feature_any(&self, layer: AnyLayer, i: usize, vis: Visibility) -> geojson::Feature {
        match layer {
            AnyLayer::Builtin(l) => crate::model::geojson::bare_feature(&self.data, l, i, vis),
            AnyLayer::Declared(def) => self
                .declared_layer(def.name)
                .map(|d| d.features[i].feature_without_geometry(def, vis))
                .unwrap_or_default(),
        }
    }

    /// The features of a declared polygon or line layer whose geometry contains `p` (boundary
    /// included), in key order.
    pub fn declared_containing(&self, name: &str, p: Point) -> Vec<usize> {
        let (Some(li), Some(data)) = (self.declared_position(name), self.declared_layer(name))
        else {
            return Vec::new();
        };
        let mut out: Vec<usize> = self.declared[li]
            .tree
            .locate_all_at_point([p.x(), p.y()])
            .map(|item| item.data)
            .filter(|&i| {
                let g = &data.features[i].geometry;
                g.contains(&p) || g.intersects(&p)
            })
            .collect();
        out.sort_unstable();
        out
    }

    /// The feature of a declared point or line layer nearest `p` on the ground among those
    /// `keep` accepts, with its distance in metres: to the point, or to the closest point of the
    /// line (found in degrees, then measured on the ellipsoid). Candidates come from the R-tree
    /// by box distance until no box can hold anything nearer.
    pub fn declared_nearest(
        &self,
        name: &str,
        p: Point,
        keep: impl Fn(usize) -> bool,
    ) -> Option<(usize, f64)> {
        use geo::{Closest, ClosestPoint};
        let li = self.declared_position(name)?;
        let data = self.declared_layer(name)?;
        // Metres per degree of box distance, from below: a degree of longitude is the shorter,
        // and shortest at the box's latitude farthest from the equator (within 1 degree here;
        // farther boxes are far anyway).
        let m_per_deg = crate::geodesy::m_per_deg_lon(p.y().abs() + 1.0).min(110_000.0);
        let mut best: Option<(usize, f64)> = None;
        for (item, d2) in self.declared[li]
            .tree
            .nearest_neighbor_iter_with_distance_2([p.x(), p.y()])
        {
            if let Some((_, best_m)) = best
                && d2.sqrt() * m_per_deg > best_m
            {
                break;
            }
            if !keep(item.data) {
                continue;
            }
            let g = &data.features[item.data].geometry;
            let at = match g.closest_point(&p) {
                Closest::Intersection(q) | Closest::SinglePoint(q) => q,
                Closest::Indeterminate => continue,
            };
            let d = distance_m(p, at);
            if best.is_none_or(|(i, m)| d < m || (d == m && item.data < i)) {
                best = Some((item.data, d));
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use geo::Point;

    use crate::geodesy::distance_m;
    use crate::index::Snapshot;

    /// The nearest feature among those a filter keeps (a town's households in care), against a
    /// brute force over every kept feature, at points across the county.
    #[test]
    fn the_nearest_kept_feature_is_the_nearest_by_brute_force() {
        let snap = Snapshot::build(crate::sample::dataset().unwrap());
        let data = snap.declared_layer("care_households").unwrap();
        let town = &snap.dataset().towns[3].code;
        let keep = |i: usize| data.features[i].key.starts_with(town.as_str());
        let at = |i: usize| match data.features[i].geometry {
            geo::Geometry::Point(p) => p,
            _ => unreachable!("a point layer"),
        };
        for k in 0..200 {
            let p = Point::new(
                119.3 + 0.6 * f64::from(k % 20) / 19.0,
                31.7 + 0.45 * f64::from(k / 20) / 9.0,
            );
            let brute = (0..data.features.len())
                .filter(|&i| keep(i))
                .map(|i| (i, distance_m(p, at(i))))
                .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
            let found = snap.declared_nearest("care_households", p, keep);
            match (found, brute) {
                (Some((i, d)), Some((j, e))) => {
                    assert!(
                        (d - e).abs() < 1e-6,
                        "{p:?}: {i} at {d} m, brute force {j} at {e} m"
                    );
                }
                other => panic!("{p:?}: {other:?}"),
            }
        }
        assert_eq!(
            snap.declared_nearest("care_households", Point::new(119.5, 32.0), |_| false),
            None
        );
    }
}
