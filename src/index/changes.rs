//! What changed between two snapshots, as lon/lat boxes: what a tile cache must forget.

use std::collections::HashMap;

use geo::BoundingRect;

use super::Snapshot;
use crate::model::{Bbox, Layer};

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

impl Snapshot {
    /// The boxes (old and new extent) of every public feature that was added, removed or changed
    /// in any way between `self` and `newer`, derived geometry included (alliance footprints,
    /// member positions): exactly what tiles showing them need to be redrawn for.
    pub fn changed_areas(&self, newer: &Snapshot) -> Vec<Bbox> {
        let mut out = Vec::new();
        for layer in Layer::ALL {
            let keyed = |snap: &Snapshot| -> HashMap<String, geojson::Feature> {
                (0..snap.data.count(layer))
                    .map(|i| {
                        let f = snap.public_feature(layer, i);
                        (
                            f.id.as_ref()
                                .map(|id| format!("{id:?}"))
                                .unwrap_or_default(),
                            f,
                        )
                    })
                    .collect()
            };
            let (before, after) = (keyed(self), keyed(newer));
            for (key, old) in &before {
                if after.get(key) != Some(old) {
                    out.extend(bbox_of(old));
                    out.extend(after.get(key).and_then(bbox_of));
                }
            }
            for (key, new) in &after {
                if !before.contains_key(key) {
                    out.extend(bbox_of(new));
                }
            }
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
