//! Finding towns, villages, grids, stations and the features of declared layers by name or
//! code, for the map's search box and field apps: what a match is and how matches are ordered,
//! answered from the snapshot's text index (`text`; built on `Index`'s thread, or carried over
//! renames by `text_edits`). The linear scan it replaced answers until then, and stays as
//! `search_scan`, the reference the index is tested and measured against.

use super::Snapshot;
use super::text::{Entry, TextIndex};
use super::text_edits::{MAX_STALE, SearchIndex};
use crate::model::{AnyLayer, Layer};

/// How well a feature matches, best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Match {
    /// The query is the code (or station id).
    Key,
    /// The query is the whole name.
    Name,
    /// The code starts with the query.
    KeyPrefix,
    /// The name starts with the query.
    NamePrefix,
    /// The name contains the query.
    NameContains,
}

impl Match {
    pub fn name(self) -> &'static str {
        match self {
            Match::Key => "key",
            Match::Name => "name",
            Match::KeyPrefix => "key_prefix",
            Match::NamePrefix => "name_prefix",
            Match::NameContains => "name_contains",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hit {
    pub layer: AnyLayer,
    /// The feature's position in its layer.
    pub index: usize,
    pub matched: Match,
}

impl Snapshot {
    /// Every layer `/search` can look in, in the order equally good matches are listed: each
    /// layer whose declaration names a search field, the built-in ones first (towns, villages,
    /// grids, posts), then the declared ones in declaration order.
    pub fn searchable(&self) -> Vec<AnyLayer> {
        Layer::ALL
            .into_iter()
            .filter(|l| l.def().search.is_some())
            .map(AnyLayer::Builtin)
            .chain(
                self.dataset()
                    .declared
                    .iter()
                    .filter(|d| d.def.search.is_some())
                    .map(|d| AnyLayer::Declared(d.def)),
            )
            .collect()
    }

    /// The name `/search` matches for feature `i` of a searchable layer.
    pub fn search_name(&self, layer: AnyLayer, i: usize) -> &str {
        let d = self.dataset();
        match layer {
            AnyLayer::Builtin(Layer::Towns) => &d.towns[i].name,
            AnyLayer::Builtin(Layer::Villages) => &d.villages[i].name,
            AnyLayer::Builtin(Layer::Grids) => &d.grids[i].name,
            AnyLayer::Builtin(Layer::Stations) => &d.stations[i].name,
            AnyLayer::Builtin(_) => "",
            AnyLayer::Declared(def) => self
                .declared_layer(def.name)
                .zip(def.search)
                .and_then(|(data, field)| data.features[i].value(def, field).as_str())
                .unwrap_or(""),
        }
    }

    /// Features of `layers` whose name contains `query` or whose code starts with it (ASCII case
    /// ignored, surrounding spaces trimmed), best match first; then by layer (the order of
    /// `searchable`), shorter name, name, position in the layer (key order). At most `limit`. An empty query finds nothing.
    pub fn search(&self, query: &str, layers: &[AnyLayer], limit: usize) -> Vec<Hit> {
        self.search_where(query, layers, limit, &|_, _| true)
    }

    /// `search` among the features of staff layers that `sees` accepts (the caller's area:
    /// `Scope::sees`); features of public layers are all searched.
    pub fn search_where(
        &self,
        query: &str,
        layers: &[AnyLayer],
        limit: usize,
        sees: &dyn Fn(AnyLayer, usize) -> bool,
    ) -> Vec<Hit> {
        let query = Query::new(query);
        if query.text.is_empty() {
            return Vec::new();
        }
        // Until the index is built (`Index` starts it on a thread of its own when the snapshot
        // becomes current) the scan answers, the same hits in the same order: a search never
        // waits for a build.
        match &*self.text.load() {
            Some(index) => index.search(&query, layers, limit, sees, &|layer, i| {
                self.search_name(layer, i)
            }),
            None => self.search_scan_query(&query, layers, limit, sees),
        }
    }

    /// Build this snapshot's text index now, unless it has one with at most `MAX_STALE` renames
    /// laid over (what `Index` does on a thread of its own; benches and tests call it to time or
    /// use the index).
    pub fn prepare_search(&self) {
        self.text_index();
    }

    /// The text index of this snapshot: carried from its predecessor's (`build_after`) with at
    /// most `MAX_STALE` renames laid over, or built now (and kept) otherwise. Two callers at once
    /// would both build: in a server only `Index`'s thread calls it (searches never do).
    pub(super) fn text_index(&self) -> std::sync::Arc<SearchIndex> {
        if let Some(index) = self.text.load_full()
            && index.stale() <= MAX_STALE
        {
            return index;
        }
        let built = std::sync::Arc::new(self.build_search_index());
        self.text.store(Some(built.clone()));
        built
    }

    /// A full build of this snapshot's text index (not kept).
    pub(super) fn build_search_index(&self) -> SearchIndex {
        {
            let searchable = self.searchable();
            let staff = searchable.iter().map(|l| l.def().staff_only()).collect();
            let mut entries = Vec::new();
            for (at, &layer) in searchable.iter().enumerate() {
                self.each_searchable(layer, true, &mut |index, key, name| {
                    entries.push(Entry {
                        layer: at as u16,
                        index: index as u32,
                        key: key.to_string(),
                        name,
                    })
                });
            }
            SearchIndex::new(TextIndex::build(searchable, staff, entries))
        }
    }

    /// Each feature of searchable `layer` with its key and name. Post ids are formatted only
    /// with `station_keys` (otherwise their key is empty).
    fn each_searchable<'a>(
        &'a self,
        layer: AnyLayer,
        station_keys: bool,
        f: &mut dyn FnMut(usize, &str, &'a str),
    ) {
        let d = self.dataset();
        match layer {
            AnyLayer::Builtin(Layer::Towns) => {
                (d.towns.iter().enumerate()).for_each(|(i, t)| f(i, &t.code, &t.name))
            }
            AnyLayer::Builtin(Layer::Villages) => {
                (d.villages.iter().enumerate()).for_each(|(i, v)| f(i, &v.code, &v.name))
            }
            AnyLayer::Builtin(Layer::Grids) => {
                (d.grids.iter().enumerate()).for_each(|(i, g)| f(i, &g.code, &g.name))
            }
            AnyLayer::Builtin(Layer::Stations) => {
                let mut key = String::new();
                for (i, s) in d.stations.iter().enumerate() {
                    key.clear();
                    if station_keys {
                        use std::fmt::Write;
                        let _ = write!(key, "{}", s.id);
                    }
                    f(i, &key, &s.name);
                }
            }
            AnyLayer::Builtin(Layer::Alliances | Layer::Members) => {}
            AnyLayer::Declared(def) => {
                let (Some(data), Some(field)) = (self.declared_layer(def.name), def.search) else {
                    return;
                };
                let Some(at) = def.position(field) else {
                    return;
                };
                for (i, r) in data.features.iter().enumerate() {
                    f(i, &r.key, r.values[at].as_str().unwrap_or(""));
                }
            }
        }
    }

    /// `search_where` by a scan of every name: what answers before the index is built, and the
    /// reference it is tested against.
    pub fn search_scan(
        &self,
        query: &str,
        layers: &[AnyLayer],
        limit: usize,
        sees: &dyn Fn(AnyLayer, usize) -> bool,
    ) -> Vec<Hit> {
        let query = Query::new(query);
        if query.text.is_empty() {
            return Vec::new();
        }
        self.search_scan_query(&query, layers, limit, sees)
    }

    fn search_scan_query(
        &self,
        query: &Query,
        layers: &[AnyLayer],
        limit: usize,
        sees: &dyn Fn(AnyLayer, usize) -> bool,
    ) -> Vec<Hit> {
        let searchable = self.searchable();
        // Each hit with its name and the name's length, for ordering.
        let mut hits: Vec<(Hit, usize, &str)> = Vec::new();
        for &layer in searchable.iter().filter(|l| layers.contains(l)) {
            let staff = layer.def().staff_only();
            // Ids are digits: only a query of digits can match one (no string otherwise).
            self.each_searchable(layer, query.digits, &mut |index, key, name| {
                if !staff || sees(layer, index) {
                    push(&mut hits, query, layer, index, key, name)
                }
            });
        }
        best(hits, limit, &searchable)
    }
}

/// The best `limit` of `hits` (each with its name's length and its name), best first: by how
/// it matched, then layer (its place in `searchable`), shorter name, name, position in the
/// layer. Only the best `limit` are ordered: a query matching most names costs a linear
/// selection, not a sort of every hit.
pub(super) fn best(
    mut hits: Vec<(Hit, usize, &str)>,
    limit: usize,
    searchable: &[AnyLayer],
) -> Vec<Hit> {
    let order = |l: AnyLayer| searchable.iter().position(|&s| s == l);
    let cmp = |(a, a_len, a_name): &(Hit, usize, &str), (b, b_len, b_name): &(Hit, usize, &str)| {
        (a.matched, order(a.layer), a_len, a_name, a.index).cmp(&(
            b.matched,
            order(b.layer),
            b_len,
            b_name,
            b.index,
        ))
    };
    if limit > 0 && hits.len() > limit {
        hits.select_nth_unstable_by(limit - 1, cmp);
        hits.truncate(limit);
    }
    hits.sort_by(cmp);
    hits.into_iter().take(limit).map(|(hit, ..)| hit).collect()
}

/// Add feature `index` of `layer` to `hits` when it matches, with its name for ordering.
pub(super) fn push<'a>(
    hits: &mut Vec<(Hit, usize, &'a str)>,
    query: &Query,
    layer: AnyLayer,
    index: usize,
    key: &str,
    name: &'a str,
) {
    if let Some(matched) = query.matches(key, name) {
        let hit = Hit {
            layer,
            index,
            matched,
        };
        hits.push((hit, name.chars().count(), name));
    }
}

/// A query, trimmed and ASCII-lower-cased once.
pub(super) struct Query {
    pub text: String,
    /// Whether it has ASCII letters (then names are compared ignoring ASCII case; otherwise as
    /// they are, which is the fast path for Chinese names and codes).
    letters: bool,
    digits: bool,
}

impl Query {
    pub fn new(query: &str) -> Query {
        let text = query.trim().to_ascii_lowercase();
        Query {
            letters: text.bytes().any(|b| b.is_ascii_alphabetic()),
            digits: !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()),
            text,
        }
    }

    /// How `key`/`name` match, if at all.
    pub fn matches(&self, key: &str, name: &str) -> Option<Match> {
        let q = self.text.as_str();
        let name_is = |f: fn(&[u8], &[u8]) -> bool| f(name.as_bytes(), q.as_bytes());
        let key_is = |f: fn(&[u8], &[u8]) -> bool| f(key.as_bytes(), q.as_bytes());
        if key_is(|k, q| k.eq_ignore_ascii_case(q)) {
            Some(Match::Key)
        } else if name_is(|n, q| n.eq_ignore_ascii_case(q)) {
            Some(Match::Name)
        } else if key_is(|k, q| k.len() >= q.len() && k[..q.len()].eq_ignore_ascii_case(q)) {
            Some(Match::KeyPrefix)
        } else if name_is(|n, q| n.len() >= q.len() && n[..q.len()].eq_ignore_ascii_case(q)) {
            Some(Match::NamePrefix)
        } else if self.contained_in(name) {
            Some(Match::NameContains)
        } else {
            None
        }
    }

    /// UTF-8 is self-synchronising: a byte-wise match of a whole query starts on a character.
    fn contained_in(&self, name: &str) -> bool {
        if !self.letters {
            return name.contains(self.text.as_str());
        }
        let q = self.text.as_bytes();
        name.as_bytes()
            .windows(q.len())
            .any(|w| w.eq_ignore_ascii_case(q))
    }
}

#[cfg(test)]
mod tests;
