//! What changed between two snapshots, as lon/lat boxes: what a tile cache must forget.

use std::cmp::Ordering;

use geo::BoundingRect;

use super::Snapshot;
use crate::model::records::DeclaredData;
use crate::model::schema::Visibility;
use crate::model::{AnyLayer, Bbox, Layer};

/// The bounding box of a feature's public GeoJSON geometry.
fn bbox_of(feature: &geojson::Feature) -> Option<Bbox> {
    let geometry: geo::Geometry = feature.geometry.as_ref()?.value.clone().try_into().ok()?;
    let r = geometry.bounding_rect()?;
    Some(Bbox {
        min_lon: r.min().x,
        min_lat: r.min().y,
        max_lon: r.max().x,
        max_lat: r.max().y,
    })
}

/// Walk two lists sorted by key together, calling `each(i, j)` for every key: `(Some, Some)`
/// when both hold it, `(Some, None)` when only the old one, `(None, Some)` when only the new.
fn merge_join<T>(
    old: &[T],
    new: &[T],
    cmp: impl Fn(&T, &T) -> Ordering,
    mut each: impl FnMut(Option<usize>, Option<usize>),
) {
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        let order = match (old.get(i), new.get(j)) {
            (Some(a), Some(b)) => cmp(a, b),
            (Some(_), None) => Ordering::Less,
            _ => Ordering::Greater,
        };
        match order {
            Ordering::Less => {
                each(Some(i), None);
                i += 1;
            }
            Ordering::Greater => {
                each(None, Some(j));
                j += 1;
            }
            Ordering::Equal => {
                each(Some(i), Some(j));
                i += 1;
                j += 1;
            }
        }
    }
}

impl Snapshot {
    /// Whether feature `i` here and `j` in `newer` are equal as stored. For towns, villages, grids
    /// and stations that settles it cheaply; alliances and members also show derived geometry
    /// (footprints, village positions), so they are always compared as public features.
    fn same_source(&self, newer: &Snapshot, layer: Layer, i: usize, j: usize) -> bool {
        let (a, b) = (&self.data, &newer.data);
        match layer {
            Layer::Towns => a.towns[i] == b.towns[j],
            Layer::Villages => a.villages[i] == b.villages[j],
            Layer::Grids => a.grids[i] == b.grids[j],
            Layer::Stations => a.stations[i] == b.stations[j],
            Layer::Alliances | Layer::Members => false,
        }
    }

    /// The boxes (old and new extent) of every public feature that was added, removed or changed
    /// in any way between `self` and `newer`, derived geometry included (alliance footprints,
    /// member positions): exactly what tiles showing them need to be redrawn for. A change to
    /// personal fields only (never in tiles) is no change here.
    pub fn changed_areas(&self, newer: &Snapshot) -> Vec<Bbox> {
        let mut out = Vec::new();
        let (a, b) = (&self.data, &newer.data);
        for layer in Layer::ALL {
            // Snapshots keep every layer sorted by key (see `build`).
            let mut each = |i: Option<usize>, j: Option<usize>| match (i, j) {
                (Some(i), Some(j)) => {
                    if self.same_source(newer, layer, i, j) {
                        return;
                    }
                    let (old, new) = (
                        self.public_feature(layer, i),
                        newer.public_feature(layer, j),
                    );
                    if old != new {
                        out.extend(bbox_of(&old));
                        out.extend(bbox_of(&new));
                    }
                }
                (Some(i), None) => out.extend(bbox_of(&self.public_feature(layer, i))),
                (None, Some(j)) => out.extend(bbox_of(&newer.public_feature(layer, j))),
                (None, None) => {}
            };
            match layer {
                Layer::Towns => {
                    merge_join(&a.towns, &b.towns, |x, y| x.code.cmp(&y.code), &mut each)
                }
                Layer::Villages => merge_join(
                    &a.villages,
                    &b.villages,
                    |x, y| x.code.cmp(&y.code),
                    &mut each,
                ),
                Layer::Grids => {
                    merge_join(&a.grids, &b.grids, |x, y| x.code.cmp(&y.code), &mut each)
                }
                Layer::Stations => {
                    merge_join(&a.stations, &b.stations, |x, y| x.id.cmp(&y.id), &mut each)
                }
                Layer::Alliances => merge_join(
                    &a.alliances,
                    &b.alliances,
                    |x, y| x.id.cmp(&y.id),
                    &mut each,
                ),
                Layer::Members => {
                    merge_join(&a.members, &b.members, |x, y| x.id.cmp(&y.id), &mut each)
                }
            }
        }
        // Declared layers: a layer added or dropped changes everywhere it has features.
        for layer in newer.layers().into_iter().chain(self.layers()) {
            let AnyLayer::Declared(def) = layer else {
                continue;
            };
            let empty = DeclaredData::empty(def);
            let old = a.declared(def.name).unwrap_or(&empty);
            let new = b.declared(def.name).unwrap_or(&empty);
            // The same layer (shared between the snapshots) settles it without reading it.
            if std::ptr::eq(old, new) || old == new {
                continue;
            }
            let feature =
                |d: &DeclaredData, i: usize| d.features[i].feature(d.def, Visibility::Public);
            merge_join(
                &old.features,
                &new.features,
                crate::model::record_order,
                |i, j| match (i, j) {
                    (Some(i), Some(j)) => {
                        let (x, y) = (feature(old, i), feature(new, j));
                        if x != y {
                            out.extend(bbox_of(&x));
                            out.extend(bbox_of(&y));
                        }
                    }
                    (Some(i), None) => out.extend(bbox_of(&feature(old, i))),
                    (None, Some(j)) => out.extend(bbox_of(&feature(new, j))),
                    (None, None) => {}
                },
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::index::Snapshot;

    #[test]
    fn a_renamed_station_changes_only_its_own_spot() {
        let data = crate::sample::dataset().unwrap();
        let old = Snapshot::build(data.clone());
        let mut changed = data;
        changed.stations[5].name = "改名".into();
        let p = changed.stations[5].location;
        let areas = old.changed_areas(&Snapshot::build(changed));
        assert_eq!(areas.len(), 2, "old and new extent of the one station");
        assert!(
            areas
                .iter()
                .all(|b| b.min_lon == p.x() && b.max_lat == p.y())
        );
        assert!(
            old.changed_areas(&Snapshot::build(crate::sample::dataset().unwrap()))
                .is_empty()
        );
    }
}
