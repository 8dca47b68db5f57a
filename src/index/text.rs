//! The text index behind `/search`: every searchable feature numbered by its rank (the order
//! equally good matches are listed in), keys and names sorted for exact and prefix matches, and a
//! posting list for each character and each pair of adjacent characters of the names (CJK names
//! have no words; a pair narrows a Chinese query as a trigram narrows a Latin one in pg_trgm).
//!
//! A query takes the match classes best first and stops when it has `limit` hits: exact and prefix
//! matches come from a binary search of the sorted keys and names, then the smallest ranks of that
//! range; "contains" walks the shortest posting list of the query's characters in rank order and
//! checks each name, so a query matching most names stops after `limit` of them. The answers equal
//! those of the linear scan it replaced (`Snapshot::search_scan`), which the tests compare.
//!
//! Posting lists are ascending ranks stored as varint deltas: a character in most of the 670,000
//! names of `--scale 100` costs about a byte per name instead of four.

use std::collections::BinaryHeap;

use super::search::{Hit, Match, Query};
use crate::model::AnyLayer;

#[derive(Debug, PartialEq)]
pub(super) struct TextIndex {
    /// The searchable layers, in the order equally good matches are listed.
    layers: Vec<AnyLayer>,
    /// By position in `layers`: whether only callers whose area holds a feature may find it.
    staff: Vec<bool>,
    /// By rank: the feature's layer (position in `layers`) and its position in that layer.
    features: Vec<(u16, u32)>,
    /// By rank: the feature's key, ASCII lower-cased.
    keys: Texts,
    /// By rank: the feature's name, ASCII lower-cased.
    names: Texts,
    /// Ranks in the order of their key; in the order of their name.
    by_key: Vec<u32>,
    by_name: Vec<u32>,
    /// For each character, and each pair of adjacent characters, of the names: the ranks of the
    /// names holding it.
    grams: foldhash::HashMap<u64, Postings>,
}

/// Many strings in one buffer: string `i` is `text[ends[i - 1]..ends[i]]`.
#[derive(Debug, Default, PartialEq)]
struct Texts {
    text: String,
    ends: Vec<u32>,
}

impl Texts {
    fn push_lowercase(&mut self, s: &str) {
        let start = self.text.len();
        self.text.push_str(s);
        // ASCII lower-casing keeps every byte's length.
        self.text[start..].make_ascii_lowercase();
        self.ends.push(self.text.len() as u32);
    }

    fn get(&self, i: u32) -> &str {
        let i = i as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.text[start..self.ends[i] as usize]
    }
}

/// Ascending ranks as LEB128 varints of their differences.
#[derive(Debug, Default, PartialEq)]
struct Postings {
    bytes: Vec<u8>,
    len: u32,
    last: Option<u32>,
}

impl Postings {
    fn push(&mut self, rank: u32) {
        let mut delta = rank - self.last.map_or(0, |l| l + 1);
        while delta >= 0x80 {
            self.bytes.push((delta as u8) | 0x80);
            delta >>= 7;
        }
        self.bytes.push(delta as u8);
        self.last = Some(rank);
        self.len += 1;
    }

    fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        let mut bytes = self.bytes.iter();
        let mut next = 0u32;
        std::iter::from_fn(move || {
            let mut delta = 0u32;
            let mut shift = 0;
            loop {
                let b = *bytes.next()?;
                delta |= u32::from(b & 0x7f) << shift;
                if b < 0x80 {
                    break;
                }
                shift += 7;
            }
            let rank = next + delta;
            next = rank + 1;
            Some(rank)
        })
    }
}

/// A posting-list key: one character, or two adjacent ones.
fn gram(first: char, second: Option<char>) -> u64 {
    ((first as u64) << 32) | second.map_or(0, |c| c as u64 + 1)
}

/// The distinct characters and pairs of adjacent characters of `name`, into `grams`.
fn grams_of(name: &str, grams: &mut Vec<u64>) {
    grams.clear();
    let mut previous = None;
    for c in name.chars() {
        grams.push(gram(c, None));
        if let Some(p) = previous {
            grams.push(gram(p, Some(c)));
        }
        previous = Some(c);
    }
    grams.sort_unstable();
    grams.dedup();
}

/// One searchable feature while the index is built, listed layer by layer in position order.
pub(super) struct Entry<'a> {
    pub layer: u16,
    pub index: u32,
    pub key: String,
    pub name: &'a str,
}

impl TextIndex {
    /// Index `entries` of `layers` (`staff` by layer position).
    pub fn build(layers: Vec<AnyLayer>, staff: Vec<bool>, mut entries: Vec<Entry>) -> TextIndex {
        // Rank: layer order, shorter name, name (as written), position in the layer.
        entries.sort_by_cached_key(|e| (e.layer, e.name.chars().count(), e.name, e.index));
        let mut features = Vec::with_capacity(entries.len());
        let (mut keys, mut names) = (Texts::default(), Texts::default());
        for e in &entries {
            features.push((e.layer, e.index));
            keys.push_lowercase(&e.key);
            names.push_lowercase(e.name);
        }
        drop(entries);
        let ranks = 0..keys.ends.len() as u32;
        // The sorted orders on one thread, the posting lists on another.
        let ((by_key, by_name), grams) = std::thread::scope(|scope| {
            let sorted = scope.spawn(|| {
                let mut by_key: Vec<u32> = ranks.clone().collect();
                by_key.sort_unstable_by(|&a, &b| keys.get(a).cmp(keys.get(b)));
                let mut by_name: Vec<u32> = ranks.clone().collect();
                by_name.sort_unstable_by(|&a, &b| names.get(a).cmp(names.get(b)));
                (by_key, by_name)
            });
            let mut grams: foldhash::HashMap<u64, Postings> = foldhash::HashMap::default();
            let mut cut = Vec::new();
            for rank in ranks.clone() {
                grams_of(names.get(rank), &mut cut);
                for &g in &cut {
                    grams.entry(g).or_default().push(rank);
                }
            }
            grams
                .values_mut()
                .for_each(|list| list.bytes.shrink_to_fit());
            (sorted.join().expect("sorting ranks does not panic"), grams)
        });
        TextIndex {
            layers,
            staff,
            features,
            keys,
            names,
            by_key,
            by_name,
            grams,
        }
    }

    /// Every entry, by rank: (layer position, position in the layer, key, name), ASCII
    /// lower-cased.
    pub fn entries(&self) -> impl Iterator<Item = (u16, u32, &str, &str)> {
        (0..self.features.len() as u32).map(|rank| {
            let (layer, index) = self.features[rank as usize];
            (layer, index, self.keys.get(rank), self.names.get(rank))
        })
    }

    /// The searchable layers, in rank order.
    pub fn layers(&self) -> &[AnyLayer] {
        &self.layers
    }

    /// The best `limit` features of `layers` matching `query` (as `Snapshot::search_where`),
    /// leaving out those whose entry here is `stale` (by layer position and position in it).
    pub fn search(
        &self,
        query: &Query,
        layers: &[AnyLayer],
        limit: usize,
        sees: &dyn Fn(AnyLayer, usize) -> bool,
        stale: &dyn Fn(u16, u32) -> bool,
    ) -> Vec<Hit> {
        let wanted: Vec<bool> = self.layers.iter().map(|l| layers.contains(l)).collect();
        // The ranks from the first wanted layer's first to the last one's last (ranks go layer
        // by layer, so a binary search finds where each layer starts).
        let first = wanted.iter().position(|&w| w);
        let last = wanted.iter().rposition(|&w| w);
        let starting = |layer: usize| {
            self.features
                .partition_point(|&(l, _)| usize::from(l) < layer) as u32
        };
        let wanted_ranks = match (first, last) {
            (Some(first), Some(last)) => starting(first)..starting(last + 1),
            _ => 0..0,
        };
        let q = query.text.as_str();
        let keys = prefixed(&self.by_key, |r| self.keys.get(r), q);
        let names = prefixed(&self.by_name, |r| self.names.get(r), q);
        let mut hits = Vec::new();
        for class in [
            Match::Key,
            Match::Name,
            Match::KeyPrefix,
            Match::NamePrefix,
            Match::NameContains,
        ] {
            let need = limit.saturating_sub(hits.len());
            if need == 0 {
                break;
            }
            // A feature is listed once, in its best class, when the caller may see it.
            let takes = |rank: u32| {
                let (at, index) = self.features[rank as usize];
                let layer = usize::from(at);
                wanted[layer]
                    && !stale(at, index)
                    && query.matches(self.keys.get(rank), self.names.get(rank)) == Some(class)
                    && (!self.staff[layer] || sees(self.layers[layer], index as usize))
            };
            let ranks = match class {
                Match::Key => fewest(keys.exact, need, takes),
                Match::Name => fewest(names.exact, need, takes),
                Match::KeyPrefix => fewest(keys.longer, need, takes),
                Match::NamePrefix => fewest(names.longer, need, takes),
                Match::NameContains => match self.postings(q) {
                    // Ranks go layer by layer: only the span of the wanted layers is walked.
                    Some(list) => list
                        .iter()
                        .skip_while(|&r| r < wanted_ranks.start)
                        .take_while(|&r| r < wanted_ranks.end)
                        .filter(|&r| takes(r))
                        .take(need)
                        .collect(),
                    None => Vec::new(),
                },
            };
            hits.extend(ranks.into_iter().map(|rank| {
                let (layer, index) = self.features[rank as usize];
                Hit {
                    layer: self.layers[usize::from(layer)],
                    index: index as usize,
                    matched: class,
                }
            }));
        }
        hits
    }

    /// The shortest posting list holding every name that contains `q`; `None` when one of its
    /// characters or pairs is in no name.
    fn postings(&self, q: &str) -> Option<&Postings> {
        let chars: Vec<char> = q.chars().collect();
        let grams: Vec<u64> = match chars[..] {
            [c] => vec![gram(c, None)],
            _ => chars.windows(2).map(|w| gram(w[0], Some(w[1]))).collect(),
        };
        let lists: Option<Vec<&Postings>> = grams.iter().map(|g| self.grams.get(g)).collect();
        lists?.into_iter().min_by_key(|list| list.len)
    }
}

/// The ranks in `sorted` (ordered by `text`) whose text is `q`, and those that start with it
/// and are longer.
struct Prefixed<'a> {
    exact: &'a [u32],
    longer: &'a [u32],
}

fn prefixed<'a, 't>(sorted: &'a [u32], text: impl Fn(u32) -> &'t str, q: &str) -> Prefixed<'a> {
    // Texts starting with `q` sort together, right after those less than it; `q` itself first.
    let start = sorted.partition_point(|&r| text(r) < q);
    let rest = &sorted[start..];
    let end = rest.partition_point(|&r| text(r).starts_with(q));
    let exact = rest[..end].partition_point(|&r| text(r) == q);
    Prefixed {
        exact: &rest[..exact],
        longer: &rest[exact..end],
    }
}

/// The `need` smallest ranks of `ranks` that `takes` accepts, ascending. `takes` is asked only
/// of ranks that would enter the answer, so a range of 200,000 codes costs a pass of comparisons.
fn fewest(ranks: &[u32], need: usize, takes: impl Fn(u32) -> bool) -> Vec<u32> {
    let mut best: BinaryHeap<u32> = BinaryHeap::with_capacity(need.min(ranks.len()) + 1);
    for &rank in ranks {
        if best.len() == need && best.peek().is_some_and(|&worst| rank >= worst) {
            continue;
        }
        if takes(rank) {
            best.push(rank);
            if best.len() > need {
                best.pop();
            }
        }
    }
    best.into_sorted_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postings_round_trip_through_varints() {
        let ranks = [
            0,
            1,
            2,
            127,
            128,
            300,
            16_383,
            16_384,
            2_000_000,
            u32::MAX - 1,
        ];
        let mut list = Postings::default();
        ranks.iter().for_each(|&r| list.push(r));
        assert_eq!(list.iter().collect::<Vec<_>>(), ranks);
        assert_eq!(list.len as usize, ranks.len());
        // Neighbouring ranks take a byte each.
        let mut dense = Postings::default();
        (5..1005).for_each(|r| dense.push(r));
        assert_eq!(dense.bytes.len(), 1000);
    }

    #[test]
    fn grams_are_characters_and_adjacent_pairs() {
        let mut expected = vec![
            gram('村', None),
            gram('第', None),
            gram('3', None),
            gram('村', Some('第')),
            gram('第', Some('3')),
            gram('3', Some('村')),
        ];
        expected.sort_unstable();
        let mut grams = vec![1];
        grams_of("村第3村", &mut grams);
        assert_eq!(grams, expected);
        grams_of("", &mut grams);
        assert!(grams.is_empty());
    }
}
