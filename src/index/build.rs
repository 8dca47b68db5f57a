//! Building a snapshot: one R-tree per layer plus the key maps, each made anew or taken from the
//! previous snapshot where the layers it is made from did not change.

use std::collections::HashMap;
use std::sync::Arc;

use geo::{BoundingRect, CoordsIter, MonotonicPolygons, MultiPolygon, Point};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

use super::{Accelerators, AreaTree, Keys, PointTree, Prepared, Snapshot};
use crate::geodesy::LowerBoundPlane;
use crate::model::records::DeclaredData;
use crate::model::{AnyLayer, Dataset, Derived, Layer, Shared, derive};

fn area_tree<'a>(geoms: impl Iterator<Item = Option<&'a MultiPolygon>>) -> AreaTree {
    let items = geoms
        .enumerate()
        .filter_map(|(i, g)| {
            let r = g?.bounding_rect()?;
            let aabb = AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]);
            Some(GeomWithData::new(Rectangle::from_aabb(aabb), i))
        })
        .collect();
    RTree::bulk_load_with_params(items)
}

fn point_tree(points: impl Iterator<Item = Option<Point>>) -> PointTree {
    let items = points
        .enumerate()
        .filter_map(|(i, p)| p.map(|p| GeomWithData::new([p.x(), p.y()], i)))
        .collect();
    RTree::bulk_load_with_params(items)
}

fn positions<K: std::hash::Hash + Eq>(keys: impl Iterator<Item = K>) -> HashMap<K, usize> {
    keys.enumerate().map(|(i, k)| (k, i)).collect()
}

/// Polygons with more vertices than this get a monotone subdivision for point-in-polygon tests.
const PREPARE_ABOVE_VERTICES: usize = 32;

/// A monotone subdivision of `g` when it has many vertices.
fn prepare(g: &MultiPolygon) -> Option<Arc<MonotonicPolygons<f64>>> {
    (g.coords_count() > PREPARE_ABOVE_VERTICES)
        // The subdivision assumes valid input; a geometry it cannot take is tested directly.
        .then(|| std::panic::catch_unwind(|| MonotonicPolygons::from(g.clone())).ok())
        .flatten()
        .map(Arc::new)
}

/// Mean spacing of `points` if spread evenly over their bounding box, at least 10 m.
fn spacing_m(points: &[Point]) -> f64 {
    let Some(r) = geo::MultiPoint(points.to_vec()).bounding_rect() else {
        return 1_000.0;
    };
    let width_m = r.width() * crate::geodesy::m_per_deg_lon(r.center().y);
    let height_m = r.height() * crate::geodesy::m_per_deg_lat(r.center().y);
    ((width_m * height_m) / points.len() as f64)
        .sqrt()
        .max(10.0)
}

/// How one layer of a dataset differs from the layer the previous snapshot indexed.
enum Change {
    /// Every record is the one the previous snapshot holds.
    Same,
    /// The same keys at the same positions; the records at these positions differ.
    Edited(Vec<usize>),
    /// Keys were added or removed (so positions moved), or there is nothing to compare with.
    Reshaped,
}

impl Change {
    fn is_changed(&self) -> bool {
        !matches!(self, Change::Same)
    }
}

/// Compare `new` (sorted by key) with `old`, and make every record that equals the old one at its
/// position the old one itself: what a store read again in full (a GeoPackage) then shares with
/// the previous snapshot like what a change-log patch (PostGIS) never copied.
fn classify_and_share<T: PartialEq, K: PartialEq>(
    old: Option<&[Shared<T>]>,
    new: &mut [Shared<T>],
    key: impl Fn(&T) -> K,
) -> Change {
    let Some(old) = old else {
        return Change::Reshaped;
    };
    if old.len() != new.len() {
        return Change::Reshaped;
    }
    let mut edited = Vec::new();
    for (i, (a, b)) in old.iter().zip(new.iter_mut()).enumerate() {
        if Shared::same(a, b) {
            continue;
        }
        if key(a) != key(b) {
            return Change::Reshaped;
        }
        if a == b {
            *b = a.clone();
        } else {
            edited.push(i);
        }
    }
    if edited.is_empty() {
        Change::Same
    } else {
        Change::Edited(edited)
    }
}

/// A layer's area tree after `change`: the previous one shared, patched where edited features'
/// boxes moved, or built anew.
fn area_tree_after<'a>(
    previous: Option<&Arc<AreaTree>>,
    change: &Change,
    old: impl Fn(usize) -> &'a MultiPolygon,
    geometry: impl Fn(usize) -> &'a MultiPolygon,
    len: usize,
) -> Arc<AreaTree> {
    let item = |g: &MultiPolygon, i| {
        let r = g.bounding_rect()?;
        let aabb = AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]);
        Some(GeomWithData::new(Rectangle::from_aabb(aabb), i))
    };
    match (previous, change) {
        (Some(tree), Change::Same) => tree.clone(),
        (Some(tree), Change::Edited(positions)) => {
            let moved: Vec<_> = positions
                .iter()
                .map(|&i| (item(old(i), i), item(geometry(i), i)))
                .filter(|(was, now)| was != now)
                .collect();
            if moved.is_empty() {
                return tree.clone();
            }
            // Past an eighth of the layer, a bulk load is quicker than moving boxes one by one
            // (and leaves the tree as well shaped as a full build does).
            if moved.len() > len / 8 {
                return Arc::new(area_tree((0..len).map(|i| Some(geometry(i)))));
            }
            let mut tree = AreaTree::clone(tree);
            for (was, now) in moved {
                if let Some(was) = was {
                    let removed = tree.remove(&was);
                    debug_assert!(removed.is_some(), "the previous tree holds {was:?}");
                }
                if let Some(now) = now {
                    tree.insert(now);
                }
            }
            Arc::new(tree)
        }
        _ => Arc::new(area_tree((0..len).map(|i| Some(geometry(i))))),
    }
}

/// A layer's point-in-polygon accelerators after `change`: shared, patched or made anew.
fn prepared_after<'a>(
    previous: Option<&Accelerators>,
    change: &Change,
    old: impl Fn(usize) -> &'a MultiPolygon,
    geometry: impl Fn(usize) -> &'a MultiPolygon,
    len: usize,
) -> Accelerators {
    match (previous, change) {
        (Some(prepared), Change::Same) => prepared.clone(),
        (Some(prepared), Change::Edited(positions)) => {
            let reshaped: Vec<usize> = positions
                .iter()
                .copied()
                .filter(|&i| old(i) != geometry(i))
                .collect();
            if reshaped.is_empty() {
                return prepared.clone();
            }
            let mut patched = Vec::clone(prepared);
            for i in reshaped {
                patched[i] = prepare(geometry(i));
            }
            Arc::new(patched)
        }
        _ => Arc::new((0..len).map(|i| prepare(geometry(i))).collect()),
    }
}

impl Snapshot {
    /// Index a dataset. Layers are sorted by code or id, so positions follow keys. The dataset is
    /// assumed valid (`validate_dataset`); dangling references are skipped rather than trusted.
    pub fn build(data: Dataset) -> Snapshot {
        Snapshot::build_after(None, data)
    }

    /// Index `data`, reusing what `previous` indexed of it: a layer whose records are all the
    /// previous ones (or equal to them) shares its trees, key maps and accelerators; a layer whose
    /// records changed in place (same keys) patches them, moving only changed boxes in its R-tree;
    /// a layer that gained or lost keys is indexed anew, with what depends on it. The result
    /// answers every query as `build(data)` does (`differences`; the tests below and the store
    /// contract compare them after random edits).
    pub fn build_after(previous: Option<&Snapshot>, mut data: Dataset) -> Snapshot {
        data.sort_by_key_but(&|layer| {
            previous.is_some_and(|p| p.data.declared.iter().any(|d| Shared::same(d, layer)))
        });
        let old = previous.map(|p| &p.data);
        let towns = classify_and_share(old.map(|d| &d.towns[..]), &mut data.towns, |t| {
            t.code.clone()
        });
        let villages = classify_and_share(old.map(|d| &d.villages[..]), &mut data.villages, |v| {
            v.code.clone()
        });
        let grids = classify_and_share(old.map(|d| &d.grids[..]), &mut data.grids, |g| {
            g.code.clone()
        });
        let stations =
            classify_and_share(old.map(|d| &d.stations[..]), &mut data.stations, |s| s.id);
        let alliances =
            classify_and_share(old.map(|d| &d.alliances[..]), &mut data.alliances, |a| a.id);
        let members = classify_and_share(old.map(|d| &d.members[..]), &mut data.members, |m| m.id);
        // A declared layer equal to the previous one becomes it, as records do in `classify_and_share`.
        for layer in &mut data.declared {
            let equal = old.and_then(|o| o.declared.iter().find(|d| **d == *layer));
            if let Some(equal) = equal {
                *layer = equal.clone();
            }
        }
        // What a piece of the index is made from decides when the previous one serves.
        let reshaped = |c: &Change| matches!(c, Change::Reshaped);
        let keep = |from: &[&Change]| from.iter().all(|c| !c.is_changed());
        let kept = |from: &[&Change]| previous.filter(|_| keep(from));
        let keys_kept = |from: &[&Change]| previous.filter(|_| !from.iter().any(|c| reshaped(c)));

        let keys = Keys {
            town: keys_kept(&[&towns]).map_or_else(
                || Arc::new(positions(data.towns.iter().map(|t| t.code.clone()))),
                |p| p.keys.town.clone(),
            ),
            village: keys_kept(&[&villages]).map_or_else(
                || Arc::new(positions(data.villages.iter().map(|v| v.code.clone()))),
                |p| p.keys.village.clone(),
            ),
            grid: keys_kept(&[&grids]).map_or_else(
                || Arc::new(positions(data.grids.iter().map(|g| g.code.clone()))),
                |p| p.keys.grid.clone(),
            ),
            station: keys_kept(&[&stations]).map_or_else(
                || Arc::new(positions(data.stations.iter().map(|s| s.id))),
                |p| p.keys.station.clone(),
            ),
            alliance: keys_kept(&[&alliances]).map_or_else(
                || Arc::new(positions(data.alliances.iter().map(|a| a.id))),
                |p| p.keys.alliance.clone(),
            ),
            member: keys_kept(&[&members]).map_or_else(
                || Arc::new(positions(data.members.iter().map(|m| m.id))),
                |p| p.keys.member.clone(),
            ),
            ..Keys::default()
        };
        // A grid's village and a village's town follow from their codes: only new keys move them.
        let village_of_grid = keys_kept(&[&grids, &villages]).map_or_else(
            || {
                Arc::new(
                    data.grids
                        .iter()
                        .map(|g| keys.village.get(g.village_code()).copied())
                        .collect(),
                )
            },
            |p| p.keys.village_of_grid.clone(),
        );
        let town_of_village = keys_kept(&[&villages, &towns]).map_or_else(
            || {
                Arc::new(
                    data.villages
                        .iter()
                        .map(|v| keys.town.get(v.town_code()).copied())
                        .collect(),
                )
            },
            |p| p.keys.town_of_village.clone(),
        );
        // A post names its grid: any change to posts, or new grid keys, moves it.
        let stations_in_grid =
            match previous.filter(|_| !stations.is_changed() && !reshaped(&grids)) {
                Some(p) => p.keys.stations_in_grid.clone(),
                None => {
                    let mut in_grid = vec![Vec::new(); data.grids.len()];
                    for (i, s) in data.stations.iter().enumerate() {
                        if let Some(&g) = keys.grid.get(&s.grid_code) {
                            in_grid[g].push(i);
                        }
                    }
                    Arc::new(in_grid)
                }
            };
        // Alliance footprints and member points: the same derivation the stores materialise.
        let (
            alliance_footprints,
            member_locations,
            alliances_of_village,
            alliances_tree,
            members_tree,
        ) = match kept(&[&villages, &alliances, &members]) {
            Some(p) => (
                p.alliance_footprints.clone(),
                p.member_locations.clone(),
                p.keys.alliances_of_village.clone(),
                p.alliances.clone(),
                p.members.clone(),
            ),
            None => {
                let Derived {
                    alliance_footprints,
                    member_locations,
                    alliances_of_village,
                } = derive(&data);
                let alliances_tree = area_tree(alliance_footprints.iter().map(Option::as_ref));
                let members_tree = point_tree(member_locations.iter().copied());
                (
                    Arc::new(alliance_footprints),
                    Arc::new(member_locations),
                    Arc::new(alliances_of_village),
                    Arc::new(alliances_tree),
                    Arc::new(members_tree),
                )
            }
        };
        let keys = Keys {
            village_of_grid,
            town_of_village,
            stations_in_grid,
            alliances_of_village,
            ..keys
        };

        let posts = match kept(&[&stations]) {
            Some(p) => Posts {
                tree: p.stations.clone(),
                plane: p.plane,
                in_plane: p.stations_plane.clone(),
                spacing_m: p.station_spacing_m,
            },
            None => Posts::build(&data),
        };

        let previous_of = |layer: fn(&Snapshot) -> &Arc<AreaTree>| previous.map(layer);
        let towns_tree = area_tree_after(
            previous_of(|p| &p.towns),
            &towns,
            |i| &old.expect("an edit has a previous snapshot").towns[i].geometry,
            |i| &data.towns[i].geometry,
            data.towns.len(),
        );
        let villages_tree = area_tree_after(
            previous_of(|p| &p.villages),
            &villages,
            |i| &old.expect("an edit has a previous snapshot").villages[i].geometry,
            |i| &data.villages[i].geometry,
            data.villages.len(),
        );
        let grids_tree = area_tree_after(
            previous_of(|p| &p.grids),
            &grids,
            |i| &old.expect("an edit has a previous snapshot").grids[i].geometry,
            |i| &data.grids[i].geometry,
            data.grids.len(),
        );
        let prepared = Prepared {
            towns: prepared_after(
                previous.map(|p| &p.prepared.towns),
                &towns,
                |i| &old.expect("an edit has a previous snapshot").towns[i].geometry,
                |i| &data.towns[i].geometry,
                data.towns.len(),
            ),
            villages: prepared_after(
                previous.map(|p| &p.prepared.villages),
                &villages,
                |i| &old.expect("an edit has a previous snapshot").villages[i].geometry,
                |i| &data.villages[i].geometry,
                data.villages.len(),
            ),
            grids: prepared_after(
                previous.map(|p| &p.prepared.grids),
                &grids,
                |i| &old.expect("an edit has a previous snapshot").grids[i].geometry,
                |i| &data.grids[i].geometry,
                data.grids.len(),
            ),
        };
        let renamed =
            previous.and_then(|p| renamed(p, &data, [&towns, &villages, &grids, &stations]));
        // A declared layer equal to the one the previous snapshot indexed keeps its index.
        let declared = data
            .declared
            .iter()
            .map(|layer| {
                previous
                    .and_then(|p| {
                        let at = p
                            .data
                            .declared
                            .iter()
                            .position(|d| Shared::same(d, layer))?;
                        p.declared.get(at).cloned()
                    })
                    .unwrap_or_else(|| Arc::new(super::declared::DeclaredIndex::build(layer)))
            })
            .collect();

        // The search index holds keys and names: while no key comes or goes, the previous one
        // serves (`carry_search_index`).
        let snapshot = Snapshot {
            generation: 0,
            station_spacing_m: posts.spacing_m,
            prepared,
            towns: towns_tree,
            villages: villages_tree,
            grids: grids_tree,
            stations: posts.tree,
            members: members_tree,
            alliances: alliances_tree,
            stations_plane: posts.in_plane,
            plane: posts.plane,
            alliance_footprints,
            member_locations,
            keys,
            declared,
            geocoder: std::sync::OnceLock::new(),
            text: Default::default(),
            derived: Default::default(),
            data,
        };
        if let (Some(previous), Some(renamed)) = (previous, renamed) {
            snapshot.carry_search_index(previous, &renamed);
        }
        snapshot
    }
}

/// The features of the searchable layers whose name changed in place since `previous`, given how
/// towns, villages, grids and posts changed; `None` when a key came or went in one of them or in
/// a searchable declared layer. What the search index is carried over with: its keys and names
/// are all that it holds.
fn renamed(
    previous: &Snapshot,
    data: &Dataset,
    [towns, villages, grids, stations]: [&Change; 4],
) -> Option<Vec<(AnyLayer, usize)>> {
    let mut all = declared_renamed(&previous.data.declared, &data.declared)?;
    let in_layer = |layer: Layer, c: &Change, same: &dyn Fn(usize) -> bool| match c {
        Change::Same => Some(Vec::new()),
        Change::Edited(positions) => Some(
            (positions.iter().filter(|&&i| !same(i)))
                .map(|&i| (AnyLayer::Builtin(layer), i))
                .collect::<Vec<_>>(),
        ),
        Change::Reshaped => None,
    };
    let (o, d) = (&previous.data, data);
    all.extend(in_layer(Layer::Towns, towns, &|i| {
        o.towns[i].name == d.towns[i].name
    })?);
    all.extend(in_layer(Layer::Villages, villages, &|i| {
        o.villages[i].name == d.villages[i].name
    })?);
    all.extend(in_layer(Layer::Grids, grids, &|i| {
        o.grids[i].name == d.grids[i].name
    })?);
    all.extend(in_layer(Layer::Stations, stations, &|i| {
        o.stations[i].name == d.stations[i].name
    })?);
    Some(all)
}

/// `renamed` for the declared layers: the features of a searchable layer whose searched field
/// changed, when the layer has the same keys in the same order (its features are in key order);
/// `None` when the layers differ or a key came or went. Other layers hold no entries.
fn declared_renamed(
    old: &[Shared<DeclaredData>],
    new: &[Shared<DeclaredData>],
) -> Option<Vec<(AnyLayer, usize)>> {
    if old.len() != new.len() {
        return None;
    }
    let mut all = Vec::new();
    for (o, d) in old.iter().zip(new) {
        if o.def.search.is_none() && d.def.search.is_none() {
            continue;
        }
        if !std::ptr::eq(o.def, d.def) {
            return None;
        }
        let searched = d.def.search.and_then(|field| d.def.position(field))?;
        if Shared::same(o, d) {
            continue;
        }
        if o.features.len() != d.features.len() {
            return None;
        }
        for (i, (a, b)) in o.features.iter().zip(&d.features).enumerate() {
            if a.key != b.key {
                return None;
            }
            if a.values.get(searched) != b.values.get(searched) {
                all.push((AnyLayer::Declared(d.def), i));
            }
        }
    }
    Some(all)
}

/// The posts' indexes: by lon/lat, and in a plane whose distances bound geodesic ones from below.
struct Posts {
    tree: Arc<PointTree>,
    plane: LowerBoundPlane,
    in_plane: Arc<PointTree>,
    spacing_m: f64,
}

impl Posts {
    fn build(data: &Dataset) -> Posts {
        let points: Vec<Point> = data.stations.iter().map(|s| s.location).collect();
        let rect = geo::MultiPoint(points.clone()).bounding_rect();
        let plane = LowerBoundPlane::around(rect.map(|r| r.center().y).unwrap_or(0.0));
        let in_plane = RTree::bulk_load_with_params(
            points
                .iter()
                .enumerate()
                .map(|(i, &p)| GeomWithData::new(plane.project(p), i))
                .collect(),
        );
        Posts {
            tree: Arc::new(point_tree(points.iter().copied().map(Some))),
            plane,
            in_plane: Arc::new(in_plane),
            spacing_m: spacing_m(&points),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use geo::MapCoords;

    use super::{Snapshot, declared_renamed};
    use crate::generate::rng::Rng;
    use crate::model::AnyLayer;
    use crate::model::{Dataset, Shared};

    /// One random edit of `d`: a rename, a moved or reshaped feature, an added or removed one, in
    /// any built-in layer or a declared one.
    fn edit(d: &mut Dataset, rng: &mut Rng) {
        let shift = |rng: &mut Rng| (rng.range(-0.002, 0.002), rng.range(-0.002, 0.002));
        match rng.int(0, 11) {
            0 => {
                let i = rng.int(0, d.grids.len() as u64 - 1) as usize;
                d.grids[i].name.push('改');
            }
            1 => {
                let i = rng.int(0, d.grids.len() as u64 - 1) as usize;
                let (dx, dy) = shift(rng);
                let g = &mut d.grids[i];
                g.geometry = g
                    .geometry
                    .map_coords(|c| geo::coord! { x: c.x + dx, y: c.y + dy });
            }
            2 => {
                let i = rng.int(0, d.villages.len() as u64 - 1) as usize;
                let (dx, dy) = shift(rng);
                let v = &mut d.villages[i];
                v.geometry = v
                    .geometry
                    .map_coords(|c| geo::coord! { x: c.x + dx, y: c.y + dy });
            }
            3 => {
                // Towns are the sample's only polygons with point-in-polygon accelerators.
                let i = rng.int(0, d.towns.len() as u64 - 1) as usize;
                if rng.unit() < 0.5 {
                    d.towns[i].name.push('镇');
                } else {
                    let (dx, dy) = shift(rng);
                    let t = &mut d.towns[i];
                    t.geometry = t
                        .geometry
                        .map_coords(|c| geo::coord! { x: c.x + dx, y: c.y + dy });
                }
            }
            4 => {
                let i = rng.int(0, d.stations.len() as u64 - 1) as usize;
                let (dx, dy) = shift(rng);
                let s = &mut d.stations[i];
                s.location = geo::Point::new(s.location.x() + dx, s.location.y() + dy);
            }
            5 => {
                // A post moves to another grid.
                let i = rng.int(0, d.stations.len() as u64 - 1) as usize;
                let g = rng.int(0, d.grids.len() as u64 - 1) as usize;
                d.stations[i].grid_code = d.grids[g].code.clone();
            }
            6 => {
                let i = rng.int(0, d.stations.len() as u64 - 1) as usize;
                let mut added = crate::model::Station::clone(&d.stations[i]);
                added.id = 100_000 + rng.int(0, 1_000);
                d.stations.retain(|s| s.id != added.id);
                d.stations.push(Shared::new(added));
            }
            7 => {
                let i = rng.int(0, d.grids.len() as u64 - 1) as usize;
                d.grids.remove(i);
            }
            8 => {
                let i = rng.int(0, d.members.len() as u64 - 1) as usize;
                let (dx, dy) = shift(rng);
                d.members[i].location = Some(geo::Point::new(119.6 + dx, 32.0 + dy));
            }
            9 => {
                let i = rng.int(0, d.members.len() as u64 - 1) as usize;
                d.members.remove(i);
            }
            10 => {
                let i = rng.int(0, d.alliances.len() as u64 - 1) as usize;
                d.alliances[i].name.push('会');
            }
            _ => {
                let layers: Vec<usize> = (0..d.declared.len())
                    .filter(|&l| !d.declared[l].features.is_empty())
                    .collect();
                let l = *rng.pick(&layers);
                let def = d.declared[l].def;
                let features = &mut d.declared[l].features;
                let i = rng.int(0, features.len() as u64 - 1) as usize;
                let roll = rng.unit();
                let searched = def.search.and_then(|field| def.position(field));
                let key_at = 0; // a declared feature's key is its first value
                if roll < 0.3 {
                    features.remove(i);
                } else if roll < 0.4 {
                    // A key replaced, the count kept.
                    let f = &mut features[i];
                    f.values[key_at] = match &f.values[key_at] {
                        serde_json::Value::Number(n) => (n.as_i64().unwrap() + 10_000_000).into(),
                        other => format!("{}~", other.as_str().unwrap()).into(),
                    };
                    f.key = match &f.values[key_at] {
                        serde_json::Value::String(k) => k.clone(),
                        n => n.to_string(),
                    };
                } else if let Some(at) = searched.filter(|_| roll < 0.7) {
                    // A rename: what search matches of a declared feature.
                    let name = features[i].values[at].as_str().unwrap_or("").to_string();
                    features[i].values[at] = serde_json::Value::String(format!("{name}改"));
                } else {
                    let (dx, dy) = shift(rng);
                    let g = &mut features[i].geometry;
                    *g = g.map_coords(|c| geo::coord! { x: c.x + dx, y: c.y + dy });
                }
            }
        }
    }

    /// A declared layer's renames are the features whose searched field changed under the same
    /// keys; a key replaced (the count kept) is no rename, and a layer search does not read
    /// changes nothing the index holds.
    #[test]
    fn declared_renames_are_searched_fields_changed_under_the_same_keys() {
        let old = crate::sample::dataset().unwrap().declared;
        let l = (old.iter())
            .position(|d| d.def.search.is_some() && d.features.len() > 3)
            .unwrap();
        let def = old[l].def;
        let at = def.position(def.search.unwrap()).unwrap();
        let mut renamed = old.clone();
        renamed[l].features[2].values[at] = "新名".into();
        let (dx, dy) = (0.001, 0.0);
        let g = &mut renamed[l].features[0].geometry;
        *g = g.map_coords(|c| geo::coord! { x: c.x + dx, y: c.y + dy });
        assert_eq!(
            declared_renamed(&old, &renamed),
            Some(vec![(AnyLayer::Declared(def), 2)])
        );
        let mut rekeyed = renamed.clone();
        rekeyed[l].features[1].key.push('~');
        assert_eq!(declared_renamed(&old, &rekeyed), None);
        let mut fewer = renamed.clone();
        fewer[l].features.pop();
        assert_eq!(declared_renamed(&old, &fewer), None);
        let n = (old.iter())
            .position(|d| d.def.search.is_none() && !d.features.is_empty())
            .expect("the sample declares a layer search does not read");
        let mut gone = old.clone();
        gone[n].features.clear();
        assert_eq!(declared_renamed(&old, &gone), Some(Vec::new()));
    }

    #[test]
    fn a_snapshot_built_from_the_previous_one_indexes_what_a_full_build_does() {
        let mut rng = Rng::named("incremental snapshots");
        let mut data = crate::sample::dataset().unwrap();
        let mut snap = Snapshot::build(data.clone());
        let mut shared_grid_trees = 0;
        let mut carried_text = 0;
        let mut renames_over_it = 0;
        snap.prepare_search();
        let every = snap.layers();
        for step in 0..30 {
            // One to three edits between snapshots; some steps change nothing.
            for _ in 0..rng.int(0, 3) {
                edit(&mut data, &mut rng);
            }
            let next = Snapshot::build_after(Some(&snap), data.clone());
            let full = Snapshot::build(data.clone());
            let differences = next.differences(&full);
            assert!(differences.is_empty(), "step {step}: {differences:#?}");
            shared_grid_trees += usize::from(Arc::ptr_eq(&next.grids, &snap.grids));
            // Search: the index (carried over or built) finds what a full build's index does.
            next.prepare_search();
            full.prepare_search();
            carried_text += usize::from(std::ptr::eq(
                next.text_index().built(),
                snap.text_index().built(),
            ));
            renames_over_it += usize::from(next.text_index().stale() > 0);
            for q in [
                "改",
                "镇",
                "村",
                "网格",
                &data.grids[step].name,
                &data.stations[step].name,
            ] {
                assert_eq!(
                    next.search(q, &every, 50),
                    full.search(q, &every, 50),
                    "{q}"
                );
            }
            snap = next;
        }
        // The test must go through the reuse it checks, not only through full builds.
        assert!(
            shared_grid_trees > 5,
            "{shared_grid_trees} grid trees shared"
        );
        assert!(
            carried_text > 5,
            "{carried_text} search indexes carried over"
        );
        assert!(
            renames_over_it > 1,
            "{renames_over_it} search indexes with renames laid over"
        );
        // And it can fail: an edit the previous snapshot is wrongly trusted with shows.
        let mut moved = data.clone();
        let g = &mut moved.grids[0];
        g.geometry = g
            .geometry
            .map_coords(|c| geo::coord! { x: c.x + 0.01, y: c.y });
        let mut stale = Snapshot::build_after(Some(&snap), moved.clone());
        stale.grids = snap.grids.clone();
        let found = stale.differences(&Snapshot::build(moved));
        assert!(
            found.len() == 1 && found[0].starts_with("grids tree"),
            "{found:#?}"
        );
    }

    #[test]
    fn an_equal_record_read_again_is_shared_with_the_previous_snapshot() {
        let data = crate::sample::dataset().unwrap();
        let snap = Snapshot::build(data.clone());
        // A full read makes new records of equal content (what a GeoPackage catch-up gives).
        let mut again = data.clone();
        for g in &mut again.grids {
            *g = Shared::new(crate::model::Grid::clone(g));
        }
        again.grids[3].population += 1;
        for layer in &mut again.declared {
            *layer = Shared::new(crate::model::records::DeclaredData::clone(layer));
        }
        let next = Snapshot::build_after(Some(&snap), again);
        // Declared layers read again equal are the previous ones, and keep their indexes.
        for (i, layer) in next.data.declared.iter().enumerate() {
            assert!(Shared::same(layer, &snap.data.declared[i]));
            assert!(Arc::ptr_eq(&next.declared[i], &snap.declared[i]));
        }
        assert!(Shared::same(&next.data.grids[2], &snap.data.grids[2]));
        assert!(!Shared::same(&next.data.grids[3], &snap.data.grids[3]));
        // A population is not a box: the grid tree is the previous one.
        assert!(Arc::ptr_eq(&next.grids, &snap.grids));
    }
}
