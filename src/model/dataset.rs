//! A whole dataset (every layer) and one layer's worth of features for an import.

use std::collections::HashMap;

use super::records::{DeclaredData, Record};
use super::{Alliance, Grid, Layer, Member, Shared, Station, Town, Village, unshare};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dataset {
    pub towns: Vec<Shared<Town>>,
    pub villages: Vec<Shared<Village>>,
    pub grids: Vec<Shared<Grid>>,
    pub stations: Vec<Shared<Station>>,
    pub alliances: Vec<Shared<Alliance>>,
    pub members: Vec<Shared<Member>>,
    /// The declared layers (`model::declared`), in declaration order, each sorted by key; a
    /// layer is shared whole between datasets until it changes.
    pub declared: Vec<Shared<DeclaredData>>,
}

/// The features of one layer, as read from a file or written by the generator.
#[derive(Clone, Debug, PartialEq)]
pub enum LayerData {
    Towns(Vec<Town>),
    Villages(Vec<Village>),
    Grids(Vec<Grid>),
    Stations(Vec<Station>),
    Alliances(Vec<Alliance>),
    Members(Vec<Member>),
}

impl LayerData {
    pub fn layer(&self) -> Layer {
        match self {
            LayerData::Towns(_) => Layer::Towns,
            LayerData::Villages(_) => Layer::Villages,
            LayerData::Grids(_) => Layer::Grids,
            LayerData::Stations(_) => Layer::Stations,
            LayerData::Alliances(_) => Layer::Alliances,
            LayerData::Members(_) => Layer::Members,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            LayerData::Towns(v) => v.len(),
            LayerData::Villages(v) => v.len(),
            LayerData::Grids(v) => v.len(),
            LayerData::Stations(v) => v.len(),
            LayerData::Alliances(v) => v.len(),
            LayerData::Members(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Each feature's key: its code, or its id as text.
    pub fn keys(&self) -> Vec<String> {
        match self {
            LayerData::Towns(v) => v.iter().map(|f| f.code.clone()).collect(),
            LayerData::Villages(v) => v.iter().map(|f| f.code.clone()).collect(),
            LayerData::Grids(v) => v.iter().map(|f| f.code.clone()).collect(),
            LayerData::Stations(v) => v.iter().map(|f| f.id.to_string()).collect(),
            LayerData::Alliances(v) => v.iter().map(|f| f.id.to_string()).collect(),
            LayerData::Members(v) => v.iter().map(|f| f.id.to_string()).collect(),
        }
    }
}

/// Replace `current` by `incoming` (`replace`), or upsert `incoming` into it by key, keeping the
/// order of `current` and appending new keys in their input order.
fn merge<T, S: From<T> + std::borrow::Borrow<T>, K: std::hash::Hash + Eq>(
    current: &mut Vec<S>,
    incoming: Vec<T>,
    replace: bool,
    key: impl Fn(&T) -> K,
) {
    if replace {
        *current = incoming.into_iter().map(S::from).collect();
        return;
    }
    let mut position: HashMap<K, usize> = current
        .iter()
        .enumerate()
        .map(|(i, f)| (key(f.borrow()), i))
        .collect();
    for feature in incoming {
        match position.get(&key(&feature)) {
            Some(&i) => current[i] = S::from(feature),
            None => {
                position.insert(key(&feature), current.len());
                current.push(S::from(feature));
            }
        }
    }
}

impl Dataset {
    /// Apply an import: upsert by code or id, or replace the whole layer.
    pub fn apply(&mut self, data: LayerData, replace: bool) {
        match data {
            LayerData::Towns(v) => merge(&mut self.towns, v, replace, |f| f.code.clone()),
            LayerData::Villages(v) => merge(&mut self.villages, v, replace, |f| f.code.clone()),
            LayerData::Grids(v) => merge(&mut self.grids, v, replace, |f| f.code.clone()),
            LayerData::Stations(v) => merge(&mut self.stations, v, replace, |f| f.id),
            LayerData::Alliances(v) => merge(&mut self.alliances, v, replace, |f| f.id),
            LayerData::Members(v) => merge(&mut self.members, v, replace, |f| f.id),
        }
    }

    /// Add features whose keys the layer does not hold (its caller removed them first), without
    /// looking for them: what a catch-up adds to a 200,000-grid dataset costs only what it adds.
    pub fn append(&mut self, data: LayerData) {
        match data {
            LayerData::Towns(v) => self.towns.extend(v.into_iter().map(Shared::new)),
            LayerData::Villages(v) => self.villages.extend(v.into_iter().map(Shared::new)),
            LayerData::Grids(v) => self.grids.extend(v.into_iter().map(Shared::new)),
            LayerData::Stations(v) => self.stations.extend(v.into_iter().map(Shared::new)),
            LayerData::Alliances(v) => self.alliances.extend(v.into_iter().map(Shared::new)),
            LayerData::Members(v) => self.members.extend(v.into_iter().map(Shared::new)),
        }
    }

    /// The declared layer `name`, if the dataset has it.
    pub fn declared(&self, name: &str) -> Option<&DeclaredData> {
        self.declared
            .iter()
            .find(|d| d.def.name == name)
            .map(|d| &**d)
    }

    /// Apply an import to a declared layer: upsert by key, or replace it. A layer the dataset
    /// does not have yet is added.
    pub fn apply_declared(&mut self, data: DeclaredData, replace: bool) {
        match self
            .declared
            .iter_mut()
            .find(|d| d.def.name == data.def.name)
        {
            // A replacement is a new layer: nothing of the old one is copied.
            Some(current) if replace => *current = Shared::new(data),
            Some(current) => {
                let current = &mut **current;
                merge(&mut current.features, data.features, false, |r: &Record| {
                    r.key.clone()
                });
                current.def = data.def;
            }
            None => self.declared.push(Shared::new(data)),
        }
    }

    /// Remove the features of `layer` whose key (code, or id as text) is in `keys`.
    pub fn remove(&mut self, layer: Layer, keys: &std::collections::HashSet<String>) {
        let id = |id: u64| keys.contains(&id.to_string());
        match layer {
            Layer::Towns => self.towns.retain(|f| !keys.contains(&f.code)),
            Layer::Villages => self.villages.retain(|f| !keys.contains(&f.code)),
            Layer::Grids => self.grids.retain(|f| !keys.contains(&f.code)),
            Layer::Stations => self.stations.retain(|f| !id(f.id)),
            Layer::Alliances => self.alliances.retain(|f| !id(f.id)),
            Layer::Members => self.members.retain(|f| !id(f.id)),
        }
    }

    /// Sort every layer by code or id: the order the stores read and the index keeps.
    pub fn sort_by_key(&mut self) {
        self.sort_by_key_but(&|_| false);
    }

    /// `sort_by_key`, taking the declared layers `known_sorted` says are sorted as they are (a
    /// layer shared with a sorted dataset): checking 700,000 records costs a catch-up 15 ms.
    pub fn sort_by_key_but(&mut self, known_sorted: &dyn Fn(&Shared<DeclaredData>) -> bool) {
        self.towns.sort_by(|a, b| a.code.cmp(&b.code));
        self.villages.sort_by(|a, b| a.code.cmp(&b.code));
        self.grids.sort_by(|a, b| a.code.cmp(&b.code));
        self.stations.sort_by_key(|s| s.id);
        self.alliances.sort_by_key(|a| a.id);
        self.members.sort_by_key(|m| m.id);
        // Read first: a layer shared with another dataset is copied only when it needs sorting.
        for d in &mut self.declared {
            if !known_sorted(d) && !d.features.is_sorted_by(|a, b| record_order(a, b).is_le()) {
                d.features.sort_by(record_order);
            }
        }
    }

    /// One layer's features, cloned.
    pub fn layer(&self, layer: Layer) -> LayerData {
        match layer {
            Layer::Towns => LayerData::Towns(unshare(&self.towns)),
            Layer::Villages => LayerData::Villages(unshare(&self.villages)),
            Layer::Grids => LayerData::Grids(unshare(&self.grids)),
            Layer::Stations => LayerData::Stations(unshare(&self.stations)),
            Layer::Alliances => LayerData::Alliances(unshare(&self.alliances)),
            Layer::Members => LayerData::Members(unshare(&self.members)),
        }
    }

    pub fn count(&self, layer: Layer) -> usize {
        match layer {
            Layer::Towns => self.towns.len(),
            Layer::Villages => self.villages.len(),
            Layer::Grids => self.grids.len(),
            Layer::Stations => self.stations.len(),
            Layer::Alliances => self.alliances.len(),
            Layer::Members => self.members.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        Layer::ALL.iter().all(|&l| self.count(l) == 0)
            && self.declared.iter().all(|d| d.features.is_empty())
    }
}

impl LayerData {
    pub fn empty(layer: Layer) -> LayerData {
        match layer {
            Layer::Towns => LayerData::Towns(Vec::new()),
            Layer::Villages => LayerData::Villages(Vec::new()),
            Layer::Grids => LayerData::Grids(Vec::new()),
            Layer::Stations => LayerData::Stations(Vec::new()),
            Layer::Alliances => LayerData::Alliances(Vec::new()),
            Layer::Members => LayerData::Members(Vec::new()),
        }
    }

    /// Append `other`'s features; a different layer is ignored (callers build both from one layer).
    pub fn extend(&mut self, other: LayerData) {
        match (self, other) {
            (LayerData::Towns(a), LayerData::Towns(b)) => a.extend(b),
            (LayerData::Villages(a), LayerData::Villages(b)) => a.extend(b),
            (LayerData::Grids(a), LayerData::Grids(b)) => a.extend(b),
            (LayerData::Stations(a), LayerData::Stations(b)) => a.extend(b),
            (LayerData::Alliances(a), LayerData::Alliances(b)) => a.extend(b),
            (LayerData::Members(a), LayerData::Members(b)) => a.extend(b),
            _ => {}
        }
    }
}

/// The order of a declared layer's features: by numeric key, else by code.
pub fn record_order(a: &Record, b: &Record) -> std::cmp::Ordering {
    match (a.values.first(), b.values.first()) {
        (Some(serde_json::Value::Number(x)), Some(serde_json::Value::Number(y))) => {
            x.as_i64().cmp(&y.as_i64())
        }
        _ => a.key.cmp(&b.key),
    }
}
