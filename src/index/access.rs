//! Which features an account's area holds, and the feature as a caller may see it. The area is
//! a code-prefix rule over each feature's most specific unit code (a grid's code, a post's grid,
//! a member's village, a declared feature's grid, village or town); an alliance account's area
//! is its alliance, its members and their villages.

use geojson::Feature;
use serde_json::Value;

use super::Snapshot;
use crate::access::{Account, View, mask};
use crate::model::schema::Visibility;
use crate::model::{AnyLayer, Layer};

/// One caller's area resolved against one snapshot: built once per request.
pub struct Scope<'a> {
    account: Option<&'a Account>,
    /// Unit codes whose features (and those below) the area holds.
    prefixes: Vec<String>,
    /// The alliance of an alliance account.
    alliance: Option<u64>,
}

impl<'a> Scope<'a> {
    /// The public: holds nothing.
    pub fn public() -> Scope<'static> {
        Scope {
            account: None,
            prefixes: Vec::new(),
            alliance: None,
        }
    }

    pub fn account(&self) -> Option<&'a Account> {
        self.account
    }

    /// The alliance of an alliance account.
    pub fn alliance(&self) -> Option<u64> {
        self.alliance
    }

    /// Whether the area holds a unit code (and so what lies in that unit).
    pub fn holds_code(&self, code: &str) -> bool {
        self.account.is_some_and(|a| a.role.everywhere())
            || self.prefixes.iter().any(|p| code.starts_with(p.as_str()))
    }

    /// Whether the area holds feature `i` of `layer`.
    pub fn holds(&self, snap: &Snapshot, layer: AnyLayer, i: usize) -> bool {
        let Some(account) = self.account else {
            return false;
        };
        if account.role.everywhere() {
            return true;
        }
        let d = &snap.data;
        // An alliance works with its members and their villages as units, not with what lies
        // inside them (grids, posts and their people).
        if let Some(id) = self.alliance {
            return match layer {
                AnyLayer::Builtin(Layer::Alliances) => d.alliances[i].id == id,
                AnyLayer::Builtin(Layer::Members) => d.members[i].alliance_id == id,
                AnyLayer::Builtin(Layer::Villages) => self.prefixes.contains(&d.villages[i].code),
                _ => false,
            };
        }
        snap.area_code(layer, i)
            .is_some_and(|code| self.holds_code(code))
    }

    /// Whether the caller may know feature `i` of `layer` exists: every feature of a public
    /// layer; of a staff layer, those the area holds.
    pub fn sees(&self, snap: &Snapshot, layer: AnyLayer, i: usize) -> bool {
        !layer.def().staff_only() || self.holds(snap, layer, i)
    }

    /// How many features of `layer` the caller may know exist.
    pub fn count(&self, snap: &Snapshot, layer: AnyLayer) -> usize {
        let all = snap.count_any(layer);
        if !layer.def().staff_only() {
            return all;
        }
        (0..all).filter(|&i| self.sees(snap, layer, i)).count()
    }

    /// What a tile cache keeps this scope's tiles under: 0 (the public tiles) for the public,
    /// else a hash of what decides their content (the view inside the area, and the area). Two
    /// accounts share cached tiles only when they would render the same bytes.
    pub fn cache_key(&self) -> u64 {
        let Some(a) = self.account else {
            return crate::tiles::cache::PUBLIC;
        };
        let what = format!(
            "{:?}|{}|{:?}|{}",
            a.view_inside(),
            a.role.everywhere(),
            self.alliance,
            self.prefixes.join(",")
        );
        crate::model::fnv1a(what.as_bytes()).max(1)
    }

    /// How much of feature `i` of `layer` the caller sees.
    pub fn view(&self, snap: &Snapshot, layer: AnyLayer, i: usize) -> View {
        match self.account {
            Some(a) if self.holds(snap, layer, i) => a.view_inside(),
            _ => View::Public,
        }
    }
}

impl Snapshot {
    /// `account`'s area resolved against this snapshot (an alliance's villages looked up).
    pub fn scope<'a>(&self, account: Option<&'a Account>) -> Scope<'a> {
        let Some(a) = account else {
            return Scope::public();
        };
        let alliance = a.alliance();
        let prefixes = match alliance {
            Some(id) => {
                let mut villages: Vec<String> = self
                    .data
                    .members
                    .iter()
                    .filter(|m| m.alliance_id == id)
                    .filter_map(|m| m.village_code.clone())
                    .collect();
                villages.sort();
                villages.dedup();
                villages
            }
            None => a.areas.clone(),
        };
        Scope {
            account: Some(a),
            prefixes,
            alliance,
        }
    }

    /// The most specific unit code of feature `i`: what an area holds it by.
    pub fn area_code(&self, layer: AnyLayer, i: usize) -> Option<&str> {
        let d = &self.data;
        match layer {
            AnyLayer::Builtin(Layer::Towns) => Some(&d.towns[i].code),
            AnyLayer::Builtin(Layer::Villages) => Some(&d.villages[i].code),
            AnyLayer::Builtin(Layer::Grids) => Some(&d.grids[i].code),
            AnyLayer::Builtin(Layer::Stations) => Some(&d.stations[i].grid_code),
            AnyLayer::Builtin(Layer::Members) => d.members[i].village_code.as_deref(),
            AnyLayer::Builtin(Layer::Alliances) => None,
            AnyLayer::Declared(def) => self.declared_layer(def.name)?.features[i].area_code(def),
        }
    }

    /// Feature `i` of `layer` as `view` shows it: public fields; or public and staff fields with
    /// personal ones masked; or every field.
    pub fn feature_as(&self, layer: AnyLayer, i: usize, view: View) -> Feature {
        let vis = match view {
            View::Public => Visibility::Public,
            View::Full | View::Masked => Visibility::Personal,
        };
        masked_for(layer, view, self.feature_visible_any(layer, i, vis))
    }

    /// `feature_as` without the geometry (its id and properties only): what a tile tags a
    /// feature with, without converting its polygon to GeoJSON.
    pub fn properties_as(&self, layer: AnyLayer, i: usize, view: View) -> Feature {
        let vis = match view {
            View::Public => Visibility::Public,
            View::Full | View::Masked => Visibility::Personal,
        };
        masked_for(layer, view, self.bare_feature_any(layer, i, vis))
    }

    /// The fields of feature `i` beyond the public ones that the scope's caller sees (staff
    /// fields, personal ones in clear or masked, and contacts published by consent even to the
    /// public), for answers that list public fields by name (`/locate`, `/nearest`); and whether
    /// personal data went out in clear without consent (for the audit log).
    pub fn fields_beyond_public(
        &self,
        scope: &Scope,
        layer: AnyLayer,
        i: usize,
    ) -> (serde_json::Map<String, Value>, bool) {
        let view = scope.view(self, layer, i);
        // The public sees beyond the public fields only those a person consented to publish: a
        // layer without such fields has nothing more to show it (`/nearest`'s posts, without
        // building each as a feature only to find that out).
        if view == View::Public && layer.def().fields.iter().all(|f| f.consent.is_none()) {
            return (serde_json::Map::new(), false);
        }
        let mut all = self
            .properties_as(layer, i, view)
            .properties
            .unwrap_or_default();
        let carried = view == View::Full && layer.def().carries_personal(&all);
        let mut out = serde_json::Map::new();
        for f in layer.def().fields {
            if f.visibility > Visibility::Public
                && let Some(v) = all.remove(f.name)
            {
                out.insert(f.name.to_string(), v);
            }
        }
        (out, carried)
    }
}

/// `f` (with every field) as `view` shows it: a masked view masks the personal fields its
/// person did not consent to publish (what the public sees in clear stays in clear).
fn masked_for(layer: AnyLayer, view: View, mut f: Feature) -> Feature {
    if view != View::Masked {
        return f;
    }
    if let Some(props) = f.properties.as_mut() {
        let masked: Vec<&str> = layer
            .def()
            .fields
            .iter()
            .filter(|field| field.visibility == Visibility::Personal && !field.consented(props))
            .map(|field| field.name)
            .collect();
        for name in masked {
            if let Some(v) = props.get_mut(name) {
                *v = mask(v);
            }
        }
    }
    f
}
