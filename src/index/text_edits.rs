//! A snapshot's search index when names changed in place since the last full build: that build's
//! `TextIndex` (shared, never copied), the features whose entry in it is stale, and their entries
//! now. A query asks the built index for its best hits among the entries still true, scans the
//! few fresh entries, and merges the two by rank, so the answer is the one a full build gives
//! (the tests compare both with the scan). A rename at `--scale 100` then costs a copy of the
//! stale entries instead of a rebuild of 670,000 (about half a second of a core, during which
//! searches fell back to the scan).
//!
//! Past `MAX_STALE` renames `Index`'s thread builds the snapshot's index anew, and the one laid
//! over answers until it is done. Only renames keep an index (of built-in features, or of a
//! declared layer's searched field): a feature added to or removed from a searchable layer moves
//! the positions the built index holds, so the next snapshot builds anew, searches scanning
//! meanwhile, as they do past `MAX_LAID_OVER`.

use std::sync::Arc;

use super::Snapshot;
use super::search::{Hit, Query, best, push};
use super::text::TextIndex;
use crate::model::{AnyLayer, Layer};

/// Past this many renamed features since the last full build, a snapshot's index is built anew
/// (behind it, on `Index`'s thread) rather than scanning more fresh entries per query: at 1,000
/// a query costs at most about 0.1 ms more (BENCHMARKS.md, "Renames laid over the search
/// index"), and a full build at `--scale 100` (0.6 s of a core) comes once per 1,000 renames.
pub(super) const MAX_STALE: usize = 1_000;

/// The most renames a snapshot lays over a built index, while that build is behind it (edits
/// coming faster than full builds, or one change renaming thousands): a query then costs up to
/// ten times `MAX_STALE`'s, still under a millisecond. Past it the snapshot has no index until
/// its own is built, and searches scan.
pub(super) const MAX_LAID_OVER: usize = 10 * MAX_STALE;

pub(super) struct SearchIndex {
    built: Arc<TextIndex>,
    /// The (layer position, position in the layer) of the entries of `built` that no longer hold.
    stale: foldhash::HashSet<(u16, u32)>,
    /// Those features' entries now.
    fresh: Vec<Fresh>,
}

/// A renamed feature's entry: its key and name as the snapshot has them.
struct Fresh {
    layer: u16,
    index: u32,
    key: String,
    name: String,
}

impl SearchIndex {
    pub fn new(built: TextIndex) -> SearchIndex {
        SearchIndex {
            built: Arc::new(built),
            stale: Default::default(),
            fresh: Vec::new(),
        }
    }

    /// This index after `renamed` features (positions unchanged) took the key and name `entry`
    /// gives; `None` when a layer is not one this index holds or more than `MAX_LAID_OVER`
    /// entries would be stale.
    pub fn after_renames(
        &self,
        renamed: &[(AnyLayer, usize)],
        entry: impl Fn(AnyLayer, usize) -> (String, String),
    ) -> Option<SearchIndex> {
        let layers = self.built.layers();
        let mut stale = self.stale.clone();
        for &(layer, index) in renamed {
            let at = layers.iter().position(|&l| l == layer)?;
            stale.insert((at as u16, index as u32));
        }
        if stale.len() > MAX_LAID_OVER {
            return None;
        }
        let fresh = stale
            .iter()
            .map(|&(layer, index)| {
                let (key, name) = entry(layers[usize::from(layer)], index as usize);
                Fresh {
                    layer,
                    index,
                    key,
                    name,
                }
            })
            .collect();
        Some(SearchIndex {
            built: self.built.clone(),
            stale,
            fresh,
        })
    }

    /// How many entries of the built index are stale (0 right after a full build).
    pub fn stale(&self) -> usize {
        self.stale.len()
    }

    /// The index a full build made (with `stale` entries no longer true).
    pub fn built(&self) -> &TextIndex {
        &self.built
    }

    /// Every entry that holds, as (layer position, position in the layer, key, name), both
    /// ASCII lower-cased, in that order: what a full build of the same snapshot indexes.
    pub fn entries(&self) -> Vec<(u16, u32, String, String)> {
        let mut entries: Vec<_> = (self.built.entries())
            .filter(|(layer, index, ..)| !self.stale.contains(&(*layer, *index)))
            .map(|(layer, index, key, name)| (layer, index, key.to_string(), name.to_string()))
            .chain(self.fresh.iter().map(|f| {
                let lower = |s: &str| s.to_ascii_lowercase();
                (f.layer, f.index, lower(&f.key), lower(&f.name))
            }))
            .collect();
        entries.sort_unstable();
        entries
    }

    /// The best `limit` features of `layers` matching `query` (as `Snapshot::search_where`);
    /// `name` gives a feature's name now (the order among equally good matches needs it).
    pub fn search<'a>(
        &'a self,
        query: &Query,
        layers: &[AnyLayer],
        limit: usize,
        sees: &dyn Fn(AnyLayer, usize) -> bool,
        name: &dyn Fn(AnyLayer, usize) -> &'a str,
    ) -> Vec<Hit> {
        if self.stale.is_empty() {
            return self.built.search(query, layers, limit, sees, &|_, _| false);
        }
        let stale = |layer: u16, index: u32| self.stale.contains(&(layer, index));
        let built_layers = self.built.layers();
        // The built index's best `limit` among true entries, then every fresh match: the best
        // `limit` of all are among them.
        let mut hits: Vec<(Hit, usize, &str)> = self
            .built
            .search(query, layers, limit, sees, &stale)
            .into_iter()
            .map(|hit| (hit, name(hit.layer, hit.index)))
            .map(|(hit, name)| (hit, name.chars().count(), name))
            .collect();
        for f in &self.fresh {
            let layer = built_layers[usize::from(f.layer)];
            let index = f.index as usize;
            if layers.contains(&layer) && (!layer.def().staff_only() || sees(layer, index)) {
                push(&mut hits, query, layer, index, &f.key, &f.name);
            }
        }
        best(hits, limit, built_layers)
    }
}

impl Snapshot {
    /// How many entries of this snapshot's search index are laid over renames (`None` until it
    /// is built; 0 for a full build): for benchmarks and tests.
    pub fn search_index_stale(&self) -> Option<usize> {
        self.text.load().as_ref().map(|t| t.stale())
    }

    /// Take `previous`'s search index, if it has one, after `renamed` features (positions
    /// unchanged) took their names here: the same index when none was, with their entries laid
    /// over it otherwise. Left unset past `MAX_LAID_OVER`: then `Index` builds one anew.
    pub(super) fn carry_search_index(&self, previous: &Snapshot, renamed: &[(AnyLayer, usize)]) {
        let Some(built) = previous.text.load_full() else {
            return;
        };
        let carried = if renamed.is_empty() {
            Some(built)
        } else {
            (built.after_renames(renamed, |layer, i| self.search_entry(layer, i))).map(Arc::new)
        };
        // Only `build_after` calls this, on a snapshot it has just made: the cell is empty.
        self.text.store(carried);
    }

    /// What `Index`'s thread does with the newest snapshot it was sent: build its search index
    /// unless it has one with at most `MAX_STALE` renames laid over; then, when that replaced
    /// renames laid over an older build and `current` (the snapshot served now, made from this
    /// one by renames) lays its own over the same older build, lay `current`'s over the new
    /// one. Without that, edits coming faster than a build would lay renames over the old build
    /// until `MAX_LAID_OVER`, and every build would be of a snapshot already replaced.
    pub(super) fn refresh_search_index(&self, current: &Snapshot) {
        let was = self.text.load_full();
        let now = self.text_index();
        if let Some(was) = was
            && !Arc::ptr_eq(&was, &now)
            && !std::ptr::eq(self, current)
        {
            current.rebase_search_index(self, &was, &now);
        }
    }

    /// Lay this snapshot's renames over `now`, a full build of `from`, in place of its index
    /// laid over `was`'s build (`from`'s before `now`), if it has one. The two snapshots then
    /// have the same features in the same positions, and differ where either laid a rename.
    fn rebase_search_index(&self, from: &Snapshot, was: &SearchIndex, now: &SearchIndex) {
        let Some(mine) = self.text.load_full() else {
            return;
        };
        if !Arc::ptr_eq(&mine.built, &was.built) {
            return;
        }
        let layers = was.built.layers();
        let mut positions: Vec<(u16, u32)> = mine.stale.union(&was.stale).copied().collect();
        positions.sort_unstable();
        let renamed: Vec<(AnyLayer, usize)> = positions
            .into_iter()
            .map(|(layer, index)| (layers[usize::from(layer)], index as usize))
            .filter(|&(layer, i)| self.search_entry(layer, i) != from.search_entry(layer, i))
            .collect();
        if let Some(rebased) = now.after_renames(&renamed, |layer, i| self.search_entry(layer, i)) {
            // Unless another full build was stored meanwhile.
            self.text
                .compare_and_swap(&Some(mine), Some(Arc::new(rebased)));
        }
    }

    /// The key and name `/search` matches for feature `i` of a searchable layer (a post's key is
    /// its id).
    fn search_entry(&self, layer: AnyLayer, i: usize) -> (String, String) {
        let d = self.dataset();
        let key = match layer {
            AnyLayer::Builtin(Layer::Towns) => d.towns[i].code.clone(),
            AnyLayer::Builtin(Layer::Villages) => d.villages[i].code.clone(),
            AnyLayer::Builtin(Layer::Grids) => d.grids[i].code.clone(),
            AnyLayer::Builtin(Layer::Stations) => d.stations[i].id.to_string(),
            AnyLayer::Builtin(_) => String::new(),
            AnyLayer::Declared(def) => self
                .declared_layer(def.name)
                .map(|data| data.features[i].key.clone())
                .unwrap_or_default(),
        };
        (key, self.search_name(layer, i).to_string())
    }
}
