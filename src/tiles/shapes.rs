//! What a tile draws that does not depend on the tile, prepared once per snapshot: each polygon
//! projected to Web Mercator, simplified for a zoom and (when a tile holds it whole) rounded to the
//! zoom's pixel grid; each polygon's label point; each feature's public properties with their MVT
//! tags. A tile is then a query, a clip (or a shift) and an encode.
//!
//! Kept with the snapshot (`Snapshot::derived`) and filled as tiles ask: the first tile of a zoom
//! to meet a feature prepares it, every later tile of that zoom (any of its neighbours, or the
//! same tile again after the cache dropped it) reuses it. A catch-up hands the next snapshot the
//! shapes of features it did not change (`carry_over`), so they live as long as their feature is
//! unchanged and grow with the zooms and features tiles have met. A
//! polygon is simplified in world units by the same area threshold a tile would use in tile
//! units (a uniform scale), so a prepared tile draws what an unprepared one did.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use geo::Point;

use super::features::Props;
use super::geometry::{TileFrame, ZoomPolygon};
use crate::geodesy::Crs;
use crate::index::Snapshot;
use crate::model::{Layer, Service, Shared};

/// Which features a set of slots is for (their polygons, label points or properties), by position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum ShapeSet {
    /// A model layer's polygons (alliances: their footprints).
    Builtin(Layer),
    /// A declared layer's polygons, by its name.
    Declared(&'static str),
    /// Each grid's coverage gap, of the map at this radius and service (the snapshot's own).
    Gaps {
        radius_bits: u64,
        service: Option<Service>,
    },
}

/// One zoom's shapes of one set: what decides how a polygon is projected and simplified.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    set: ShapeSet,
    z: u8,
    crs: Crs,
    extent_bits: u64,
    tolerance_bits: u64,
}

/// Every prepared shape of one snapshot.
#[derive(Default)]
pub(super) struct Shapes {
    polygons: Mutex<HashMap<Key, Arc<Slots<Arc<ZoomPolygon>>>>>,
    labels: Mutex<HashMap<ShapeSet, Arc<Slots<Point>>>>,
    properties: Mutex<HashMap<ShapeSet, Arc<Slots<Tagged>>>>,
}

/// A feature's id and public properties, with their tags.
pub(super) type Tagged = (Option<u64>, Arc<Props>);

/// One value per feature position, each made on first use (a slot costs its `T` before it is
/// made: polygons are behind an `Arc`, so a set of 200,000 grids costs 3 MB until tiles fill it,
/// and the next snapshot can share them, `carry_over`). `None` when there is nothing to
/// draw (a degenerate polygon, an alliance without a footprint).
pub(super) struct Slots<T>(Vec<OnceLock<Option<T>>>);

impl<T> Slots<T> {
    fn new(len: usize) -> Slots<T> {
        Slots((0..len).map(|_| OnceLock::new()).collect())
    }

    /// The value at `i`, made by `make` if no tile has asked for it yet.
    pub fn get(&self, i: usize, make: impl FnOnce() -> Option<T>) -> Option<&T> {
        self.0.get(i)?.get_or_init(make).as_ref()
    }
}

impl Shapes {
    /// The polygons of `set` (`len` of them) prepared for `frame`'s zoom with `tolerance` tile
    /// units (`TileFrame::zoom_polygon`).
    pub fn polygons(
        &self,
        set: ShapeSet,
        len: usize,
        frame: &TileFrame,
        tolerance: f64,
    ) -> Arc<Slots<Arc<ZoomPolygon>>> {
        let key = Key {
            set,
            z: frame.z,
            crs: frame.crs,
            extent_bits: frame.extent.to_bits(),
            tolerance_bits: tolerance.to_bits(),
        };
        lock(&self.polygons)
            .entry(key)
            .or_insert_with(|| Arc::new(Slots::new(len)))
            .clone()
    }

    /// The label points of `set`'s polygons (`len` of them), in WGS84 as stored.
    pub fn labels(&self, set: ShapeSet, len: usize) -> Arc<Slots<Point>> {
        slots(&self.labels, set, len)
    }

    /// The public properties of `set`'s features (`len` of them), as every zoom tags them.
    pub fn properties(&self, set: ShapeSet, len: usize) -> Arc<Slots<Tagged>> {
        slots(&self.properties, set, len)
    }
}

/// Begins `next`'s prepared shapes with those of `previous` that still hold, so that the first
/// tiles after a change do not prepare every feature of their zoom again: the polygons and label
/// points of each town, village and grid, and the public properties of every feature of the six
/// model layers, whose record `next` shares with `previous` (`Shared::same`: it did not change;
/// found at the same position, or by its key when features came or went), and all of a declared
/// layer `next` shares whole. A feature's properties are its record's alone
/// (`model::geojson::bare_feature`); alliances' shapes (footprints follow villages and members)
/// and coverage gaps (they follow posts and buildings) start empty. Call it before `next` draws a
/// tile. Returns how many were carried, by layer (every zoom and datum counted).
pub fn carry_over(previous: &Snapshot, next: &Snapshot) -> BTreeMap<&'static str, usize> {
    let mut carried = BTreeMap::new();
    if std::ptr::eq(previous, next) {
        return carried;
    }
    let (old, new) = (previous.derived::<Shapes>(), next.derived::<Shapes>());
    let mut carry = Carry {
        previous,
        next,
        carried: &mut carried,
    };
    carry.sets(&old.polygons, &new.polygons, |k| k.set, Holds::Shapes);
    carry.sets(&old.labels, &new.labels, |set| *set, Holds::Shapes);
    carry.sets(
        &old.properties,
        &new.properties,
        |set| *set,
        Holds::Properties,
    );
    carried
}

/// What a set's slots hold, and so what they follow.
#[derive(Clone, Copy, PartialEq)]
enum Holds {
    /// Polygons and label points: the feature's geometry (an alliance's: its footprint).
    Shapes,
    /// Public properties: the feature's record.
    Properties,
}

struct Carry<'a> {
    previous: &'a Snapshot,
    next: &'a Snapshot,
    carried: &'a mut BTreeMap<&'static str, usize>,
}

impl Carry<'_> {
    /// Every set of `from` (`previous`'s) that can be carried, begun in `into` (`next`'s). The
    /// sets are listed under the lock and copied after it: tiles drawn meanwhile from `previous`,
    /// still the one served, do not wait for the copy.
    fn sets<K: Copy + Eq + std::hash::Hash, T: Clone>(
        &mut self,
        from: &Mutex<HashMap<K, Arc<Slots<T>>>>,
        into: &Mutex<HashMap<K, Arc<Slots<T>>>>,
        set_of: fn(&K) -> ShapeSet,
        holds: Holds,
    ) {
        let listed: Vec<_> = lock(from)
            .iter()
            .map(|(key, slots)| (*key, slots.clone()))
            .collect();
        let kept: Vec<_> = listed
            .into_iter()
            .filter_map(|(key, slots)| {
                let set = set_of(&key);
                let (len, to) = unchanged(self.previous, self.next, set, holds)?;
                let count = self.carried.entry(set.name()).or_default();
                Some((key, Arc::new(slots.carried(len, &to, count))))
            })
            .collect();
        let mut sets = lock(into);
        for (key, slots) in kept {
            sets.entry(key).or_insert(slots);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ShapeSet {
    /// The tile layer its shapes are drawn in.
    fn name(self) -> &'static str {
        match self {
            ShapeSet::Builtin(layer) => layer.name(),
            ShapeSet::Declared(name) => name,
            ShapeSet::Gaps { .. } => "coverage_gaps",
        }
    }
}

/// For a set whose shapes can be carried from `previous` to `next`: how many features `next` has,
/// and where in `next` the feature at a position of `previous` is, when it is unchanged.
type Unchanged<'a> = (usize, Box<dyn Fn(usize) -> Option<usize> + 'a>);

fn unchanged<'a>(
    previous: &'a Snapshot,
    next: &'a Snapshot,
    set: ShapeSet,
    holds: Holds,
) -> Option<Unchanged<'a>> {
    let (old, new) = (previous.dataset(), next.dataset());
    // At the same position (a layer edited in place), else found by its key (keys came or went,
    // and positions moved); the very record in both.
    fn moved_to<'a, T>(
        next: &'a Snapshot,
        layer: Layer,
        old: &'a [Shared<T>],
        new: &'a [Shared<T>],
        key: fn(&T) -> String,
    ) -> Unchanged<'a> {
        let to = move |j: usize| {
            let record = old.get(j)?;
            let i = match new.get(j) {
                Some(r) if Shared::same(r, record) => j,
                _ => next.find(layer, &key(record))?,
            };
            Shared::same(&new[i], record).then_some(i)
        };
        (new.len(), Box::new(to))
    }
    let properties = holds == Holds::Properties;
    match set {
        ShapeSet::Builtin(layer @ Layer::Towns) => {
            Some(moved_to(next, layer, &old.towns, &new.towns, |t| {
                t.code.clone()
            }))
        }
        ShapeSet::Builtin(layer @ Layer::Villages) => {
            Some(moved_to(next, layer, &old.villages, &new.villages, |v| {
                v.code.clone()
            }))
        }
        ShapeSet::Builtin(layer @ Layer::Grids) => {
            Some(moved_to(next, layer, &old.grids, &new.grids, |g| {
                g.code.clone()
            }))
        }
        ShapeSet::Builtin(layer @ Layer::Stations) if properties => {
            Some(moved_to(next, layer, &old.stations, &new.stations, |s| {
                s.id.to_string()
            }))
        }
        ShapeSet::Builtin(layer @ Layer::Alliances) if properties => {
            Some(moved_to(next, layer, &old.alliances, &new.alliances, |a| {
                a.id.to_string()
            }))
        }
        ShapeSet::Builtin(layer @ Layer::Members) if properties => {
            Some(moved_to(next, layer, &old.members, &new.members, |m| {
                m.id.to_string()
            }))
        }
        ShapeSet::Declared(name) => {
            let layer =
                |d: &'a crate::model::Dataset| d.declared.iter().find(|l| l.def.name == name);
            let (a, b) = (layer(old)?, layer(new)?);
            Shared::same(a, b).then(|| -> Unchanged<'a> { (b.features.len(), Box::new(Some)) })
        }
        ShapeSet::Builtin(_) | ShapeSet::Gaps { .. } => None,
    }
}

impl<T: Clone> Slots<T> {
    /// `len` slots holding this one's values of the features `to` finds unchanged, where it finds
    /// them.
    fn carried(
        &self,
        len: usize,
        to: &dyn Fn(usize) -> Option<usize>,
        carried: &mut usize,
    ) -> Slots<T> {
        let slots = Slots::new(len);
        for (j, slot) in self.0.iter().enumerate() {
            if let Some(value) = slot.get()
                && let Some(i) = to(j)
                && slots.0.get(i).is_some_and(|s| s.set(value.clone()).is_ok())
            {
                *carried += 1;
            }
        }
        slots
    }
}

fn slots<T>(
    sets: &Mutex<HashMap<ShapeSet, Arc<Slots<T>>>>,
    set: ShapeSet,
    len: usize,
) -> Arc<Slots<T>> {
    lock(sets)
        .entry(set)
        .or_insert_with(|| Arc::new(Slots::new(len)))
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tiles::{TileConfig, TileCoord};

    #[test]
    fn a_slot_is_made_once_and_sets_differ_by_zoom_and_datum() {
        let shapes = Shapes::default();
        let config = TileConfig::default();
        let frame = |z: u32, crs: Crs| {
            TileFrame::new(
                TileCoord::new(z, 0, 0).unwrap(),
                &TileConfig { crs, ..config },
            )
        };
        let set = ShapeSet::Builtin(Layer::Grids);
        let a = shapes.polygons(set, 3, &frame(12, Crs::Wgs84), 0.5);
        let again = shapes.polygons(set, 3, &frame(12, Crs::Wgs84), 0.5);
        assert!(Arc::ptr_eq(&a, &again));
        assert!(!Arc::ptr_eq(
            &a,
            &shapes.polygons(set, 3, &frame(13, Crs::Wgs84), 0.5)
        ));
        assert!(!Arc::ptr_eq(
            &a,
            &shapes.polygons(set, 3, &frame(12, Crs::Gcj02), 0.5)
        ));
        let labels = shapes.labels(set, 3);
        let mut made = 0;
        for _ in 0..2 {
            labels.get(1, || {
                made += 1;
                Some(Point::new(1.0, 2.0))
            });
        }
        assert_eq!(made, 1);
        assert_eq!(labels.get(1, || None), Some(&Point::new(1.0, 2.0)));
        assert_eq!(labels.get(7, || Some(Point::new(0.0, 0.0))), None);
    }
}
