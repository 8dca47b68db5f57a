//! Whether two snapshots index the same: what checks that a snapshot built from its predecessor
//! (`Snapshot::build_after`) is the one a full build gives. R-trees are compared by their entries,
//! not their shape (a patched tree and a bulk-loaded one differ in shape, never in answers).

use std::fmt::Debug;

use rstar::RTreeObject;

use super::{AreaTree, PointTree, Snapshot};

/// A tree's entries (box corners, position), in position order.
fn area_entries(tree: &AreaTree) -> Vec<([f64; 2], [f64; 2], usize)> {
    let mut all: Vec<_> = tree
        .iter()
        .map(|e| {
            let b = e.envelope();
            (b.lower(), b.upper(), e.data)
        })
        .collect();
    all.sort_by_key(|e| e.2);
    all
}

fn point_entries(tree: &PointTree) -> Vec<([f64; 2], usize)> {
    let mut all: Vec<_> = tree.iter().map(|e| (*e.geom(), e.data)).collect();
    all.sort_by_key(|e| e.1);
    all
}

/// Names `what` in `out` unless `a` equals `b`.
fn same<T: PartialEq + Debug>(out: &mut Vec<String>, what: &str, a: &T, b: &T) {
    if a != b {
        let shown = |v: &T| {
            let text = format!("{v:?}");
            text.chars().take(200).collect::<String>()
        };
        out.push(format!("{what}: {} != {}", shown(a), shown(b)));
    }
}

impl Snapshot {
    /// Where `self` and `other` index differently (empty when they answer every query alike): the
    /// data, every R-tree's entries, the key maps and links, the derived geometry, the
    /// point-in-polygon accelerators, the search index, and the declared layers' indexes. For
    /// tests: it builds both search indexes when they are not built yet.
    #[doc(hidden)]
    pub fn differences(&self, other: &Snapshot) -> Vec<String> {
        let mut out = Vec::new();
        let o = &mut out;
        same(o, "data", &self.data, &other.data);
        same(
            o,
            "towns tree",
            &area_entries(&self.towns),
            &area_entries(&other.towns),
        );
        same(
            o,
            "villages tree",
            &area_entries(&self.villages),
            &area_entries(&other.villages),
        );
        same(
            o,
            "grids tree",
            &area_entries(&self.grids),
            &area_entries(&other.grids),
        );
        same(
            o,
            "alliances tree",
            &area_entries(&self.alliances),
            &area_entries(&other.alliances),
        );
        same(
            o,
            "stations tree",
            &point_entries(&self.stations),
            &point_entries(&other.stations),
        );
        same(
            o,
            "members tree",
            &point_entries(&self.members),
            &point_entries(&other.members),
        );
        same(
            o,
            "stations plane",
            &point_entries(&self.stations_plane),
            &point_entries(&other.stations_plane),
        );
        same(
            o,
            "plane",
            &format!("{:?}", self.plane),
            &format!("{:?}", other.plane),
        );
        same(
            o,
            "station spacing",
            &self.station_spacing_m,
            &other.station_spacing_m,
        );
        same(
            o,
            "footprints",
            &self.alliance_footprints,
            &other.alliance_footprints,
        );
        same(
            o,
            "member locations",
            &self.member_locations,
            &other.member_locations,
        );
        let (a, b) = (&self.keys, &other.keys);
        same(o, "town keys", &a.town, &b.town);
        same(o, "village keys", &a.village, &b.village);
        same(o, "grid keys", &a.grid, &b.grid);
        same(o, "station keys", &a.station, &b.station);
        same(o, "alliance keys", &a.alliance, &b.alliance);
        same(o, "member keys", &a.member, &b.member);
        same(o, "village of grid", &a.village_of_grid, &b.village_of_grid);
        same(o, "town of village", &a.town_of_village, &b.town_of_village);
        same(
            o,
            "stations in grid",
            &a.stations_in_grid,
            &b.stations_in_grid,
        );
        same(
            o,
            "alliances of village",
            &a.alliances_of_village,
            &b.alliances_of_village,
        );
        // An accelerator is told by its pieces' boundaries: one made from other rings differs.
        let has = |p: &[Option<std::sync::Arc<geo::MonotonicPolygons<f64>>>]| {
            p.iter()
                .map(|m| {
                    m.as_ref().map(|m| {
                        m.subdivisions()
                            .iter()
                            .map(|piece| (piece.top().clone(), piece.bot().clone()))
                            .collect::<Vec<_>>()
                    })
                })
                .collect::<Vec<_>>()
        };
        let (a, b) = (&self.prepared, &other.prepared);
        same(o, "prepared towns", &has(&a.towns), &has(&b.towns));
        same(o, "prepared villages", &has(&a.villages), &has(&b.villages));
        same(o, "prepared grids", &has(&a.grids), &has(&b.grids));
        // The search index as the snapshot has it (built here, not kept, if it has none): what
        // one carried over or laid over renames holds is what a new one holds; one carried
        // without renames is the built index itself.
        let index = |s: &Snapshot| {
            (s.text.load_full()).unwrap_or_else(|| std::sync::Arc::new(s.build_search_index()))
        };
        let (a, b) = (index(self), index(other));
        same(o, "search entries", &a.entries(), &b.entries());
        if a.stale() == 0 && b.stale() == 0 {
            same(o, "search index", a.built(), b.built());
        }
        same(
            o,
            "declared layers",
            &self.declared.len(),
            &other.declared.len(),
        );
        for (i, (a, b)) in self.declared.iter().zip(&other.declared).enumerate() {
            same(
                o,
                &format!("declared {i} tree"),
                &area_entries(&a.tree),
                &area_entries(&b.tree),
            );
            same(o, &format!("declared {i} keys"), &a.keys, &b.keys);
        }
        out
    }
}
