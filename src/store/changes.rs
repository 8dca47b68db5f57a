//! Catching up from a change log, the same for both stores: what changed after the version a
//! server holds (`Changes`, read from PostGIS's `change_log` or the GeoPackage's
//! `gridmap_changes`), and the dataset those changes make of the one it holds (`patch`).

use std::collections::{HashMap, HashSet};

use crate::Result;
use crate::model::declared::Declarations;
use crate::model::records::{DeclaredData, Record};
use crate::model::schema::LayerDef;
use crate::model::{Dataset, Layer, LayerData};

/// Above this many changed features a full read is cheaper than fetching them by key.
pub const PATCH_LIMIT: usize = 20_000;

/// The features changed after a version: keys of built-in layers, and the declared layers
/// changed (re-read whole: they are small beside the grids).
#[derive(Debug, Default)]
pub struct Changes {
    keys: HashMap<Layer, HashSet<String>>,
    declared: HashSet<String>,
    total: usize,
}

impl Changes {
    /// Note changed features of `layer` by key (code, or id as text). False once more than
    /// `PATCH_LIMIT` are noted: the caller reads everything instead.
    pub fn add_keys(&mut self, layer: Layer, keys: impl IntoIterator<Item = String>) -> bool {
        let set = self.keys.entry(layer).or_default();
        let before = set.len();
        set.extend(keys);
        self.total += set.len() - before;
        self.total <= PATCH_LIMIT
    }

    /// Note a change to the declared layer `name`.
    pub fn add_declared(&mut self, name: String) {
        self.declared.insert(name);
    }

    /// How many built-in features and declared layers changed.
    pub fn count(&self) -> usize {
        self.total + self.declared.len()
    }
}

/// `current` with the changed features read anew through `read_keys` (present ones replaced or
/// added, absent ones removed, in key order like a full read) and the changed declared layers
/// through `read_declared`; a declared layer not in `layers` is left as it is. The copy shares
/// every record it does not replace with `current` (`model::Shared`).
pub fn patch(
    current: &Dataset,
    changes: Changes,
    layers: &'static Declarations,
    mut read_keys: impl FnMut(Layer, &HashSet<String>) -> Result<LayerData>,
    mut read_declared: impl FnMut(&'static LayerDef) -> Result<Vec<Record>>,
) -> Result<Dataset> {
    let mut next = current.clone();
    for (layer, keys) in changes.keys {
        next.remove(layer, &keys);
        next.append(read_keys(layer, &keys)?);
    }
    for name in changes.declared {
        let Some(def) = layers.get(&name) else {
            continue;
        };
        let features = read_declared(def)?;
        next.apply_declared(DeclaredData { def, features }, true);
    }
    next.sort_by_key();
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_count_distinct_keys_and_stop_past_the_limit() {
        let mut c = Changes::default();
        assert_eq!(c.count(), 0);
        assert!(c.add_keys(Layer::Grids, ["a".to_string(), "a".to_string()]));
        assert!(c.add_keys(Layer::Grids, ["a".to_string(), "b".to_string()]));
        c.add_declared("shelters".into());
        c.add_declared("shelters".into());
        assert_eq!(c.count(), 3);
        let many = (0..PATCH_LIMIT - 2).map(|i| i.to_string());
        assert!(c.add_keys(Layer::Stations, many));
        assert!(!c.add_keys(Layer::Stations, ["x".to_string()]));
    }
}
