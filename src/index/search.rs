//! Finding towns, villages, grids and stations by name or code, for the map's search box and
//! field apps. A linear scan without allocation: the sample's 2,500 features take 0.1-0.3 ms,
//! 230,000 (`--scale 100`) 15-20 ms, 85 ms when one character matches nearly all of them
//! (BENCHMARKS.md), so no text index is kept yet.

use super::Snapshot;
use crate::model::Layer;

/// The layers searched, in the order equally good matches are listed.
pub const SEARCHED: [Layer; 4] = [Layer::Towns, Layer::Villages, Layer::Grids, Layer::Stations];

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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hit {
    pub layer: Layer,
    /// The feature's position in its layer.
    pub index: usize,
    pub matched: Match,
}

impl Snapshot {
    /// Features of `layers` whose name contains `query` or whose code starts with it (ASCII case
    /// ignored, surrounding spaces trimmed), best match first; then by layer (towns first),
    /// shorter name, key order. At most `limit`. An empty query finds nothing.
    pub fn search(&self, query: &str, layers: &[Layer], limit: usize) -> Vec<Hit> {
        let query = Query::new(query);
        if query.text.is_empty() {
            return Vec::new();
        }
        let d = self.dataset();
        let mut hits: Vec<(Hit, usize)> = Vec::new();
        let mut station_key = String::new();
        for &layer in SEARCHED.iter().filter(|l| layers.contains(l)) {
            let mut add = |index: usize, key: &str, name: &str| {
                if let Some(matched) = query.matches(key, name) {
                    let hit = Hit {
                        layer,
                        index,
                        matched,
                    };
                    hits.push((hit, name.chars().count()));
                }
            };
            match layer {
                Layer::Towns => {
                    (d.towns.iter().enumerate()).for_each(|(i, t)| add(i, &t.code, &t.name))
                }
                Layer::Villages => {
                    (d.villages.iter().enumerate()).for_each(|(i, v)| add(i, &v.code, &v.name))
                }
                Layer::Grids => {
                    (d.grids.iter().enumerate()).for_each(|(i, g)| add(i, &g.code, &g.name))
                }
                Layer::Stations => {
                    for (i, s) in d.stations.iter().enumerate() {
                        // Ids are digits: only a query of digits can match one (no string otherwise).
                        station_key.clear();
                        if query.digits {
                            use std::fmt::Write;
                            let _ = write!(station_key, "{}", s.id);
                        }
                        add(i, &station_key, &s.name);
                    }
                }
                Layer::Alliances | Layer::Members => {}
            }
        }
        let order = |l: Layer| SEARCHED.iter().position(|&s| s == l);
        let name = |h: &Hit| match h.layer {
            Layer::Towns => d.towns[h.index].name.as_str(),
            Layer::Villages => d.villages[h.index].name.as_str(),
            Layer::Grids => d.grids[h.index].name.as_str(),
            _ => d.stations[h.index].name.as_str(),
        };
        hits.sort_by(|(a, a_len), (b, b_len)| {
            (a.matched, order(a.layer), a_len, name(a), a.index).cmp(&(
                b.matched,
                order(b.layer),
                b_len,
                name(b),
                b.index,
            ))
        });
        hits.into_iter().take(limit).map(|(hit, ..)| hit).collect()
    }
}

/// A query, trimmed and ASCII-lower-cased once.
struct Query {
    text: String,
    /// Whether it has ASCII letters (then names are compared ignoring ASCII case; otherwise as
    /// they are, which is the fast path for Chinese names and codes).
    letters: bool,
    digits: bool,
}

impl Query {
    fn new(query: &str) -> Query {
        let text = query.trim().to_ascii_lowercase();
        Query {
            letters: text.bytes().any(|b| b.is_ascii_alphabetic()),
            digits: !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()),
            text,
        }
    }

    /// How `key`/`name` match, if at all.
    fn matches(&self, key: &str, name: &str) -> Option<Match> {
        let q = self.text.as_str();
        let name_is = |f: fn(&[u8], &[u8]) -> bool| f(name.as_bytes(), q.as_bytes());
        if key == q {
            Some(Match::Key)
        } else if name_is(|n, q| n.eq_ignore_ascii_case(q)) {
            Some(Match::Name)
        } else if key.starts_with(q) {
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
mod tests {
    use super::*;
    use crate::sample;

    fn snapshot() -> Snapshot {
        Snapshot::build(sample::dataset().unwrap())
    }

    #[test]
    fn codes_names_and_order() {
        let snap = snapshot();
        let d = snap.dataset();
        let village = &d.villages[7];
        // The exact code finds that village first, then its grids (codes starting with it).
        let hits = snap.search(&village.code, &SEARCHED, 50);
        assert_eq!((hits[0].layer, hits[0].index), (Layer::Villages, 7));
        assert!(
            hits[1..].iter().all(
                |h| h.layer == Layer::Grids && d.grids[h.index].code.starts_with(&village.code)
            )
        );
        let grids = d
            .grids
            .iter()
            .filter(|g| g.code.starts_with(&village.code))
            .count();
        assert_eq!(hits.len(), 1 + grids);
        // The whole name ranks the feature first, with spaces around ignored.
        let hits = snap.search(&format!("  {} ", village.name), &SEARCHED, 5);
        assert_eq!(hits[0].matched, Match::Name);
        assert_eq!(d.villages[hits[0].index].name, village.name);
        // Nothing for an empty query or in an unsearched layer.
        assert!(snap.search("   ", &SEARCHED, 5).is_empty());
        assert!(snap.search(&village.code, &[Layer::Towns], 5).is_empty());
    }

    #[test]
    fn ascii_case_is_ignored_and_other_text_compared_as_is() {
        let q = Query::new(" AbC ");
        assert_eq!(q.matches("1", "abc"), Some(Match::Name));
        assert_eq!(q.matches("1", "ABCD 村"), Some(Match::NamePrefix));
        assert_eq!(q.matches("1", "村abc"), Some(Match::NameContains));
        assert_eq!(q.matches("abc", "x"), Some(Match::Key));
        assert_eq!(q.matches("1", "ab c"), None);
        let q = Query::new("第3网格");
        assert_eq!(q.matches("1", "南村第3网格驿站"), Some(Match::NameContains));
        assert_eq!(q.matches("1", "南村第13网格"), None);
    }

    /// Against a brute-force filter written the plain way: every feature whose name contains the
    /// query, or whose key starts with it, and nothing else.
    #[test]
    fn finds_exactly_what_a_brute_force_filter_finds() {
        let snap = snapshot();
        let d = snap.dataset();
        let keyed = |key: &str, name: &str| (key.to_string(), name.to_string());
        let every: Vec<(Layer, Vec<(String, String)>)> = vec![
            (
                Layer::Towns,
                d.towns.iter().map(|t| keyed(&t.code, &t.name)).collect(),
            ),
            (
                Layer::Villages,
                d.villages.iter().map(|v| keyed(&v.code, &v.name)).collect(),
            ),
            (
                Layer::Grids,
                d.grids.iter().map(|g| keyed(&g.code, &g.name)).collect(),
            ),
            (
                Layer::Stations,
                d.stations
                    .iter()
                    .map(|s| keyed(&s.id.to_string(), &s.name))
                    .collect(),
            ),
        ];
        for query in ["丹", "村", "驿站", "3211", "321181001", "镇", "1", "zz"] {
            let mut expected: Vec<(Layer, usize)> = Vec::new();
            for (layer, features) in &every {
                for (i, (key, name)) in features.iter().enumerate() {
                    if name.contains(query) || key.starts_with(query) {
                        expected.push((*layer, i));
                    }
                }
            }
            let mut found: Vec<(Layer, usize)> = snap
                .search(query, &SEARCHED, usize::MAX)
                .into_iter()
                .map(|h| (h.layer, h.index))
                .collect();
            expected.sort_by_key(|&(l, i)| (l.name(), i));
            found.sort_by_key(|&(l, i)| (l.name(), i));
            assert_eq!(found, expected, "query {query}");
        }
    }
}
