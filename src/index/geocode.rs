//! Addresses to buildings and back, through the buildings layer: an address is a town, a village,
//! a compound (小区) or hamlet (自然村), a building (幢, 栋, 座 or a house's 号) and an entrance
//! (单元): `云阳街道太阳城社区华府公寓1幢2单元`. The town and village may be left out, the
//! building may be written 栋 or 号 or as a bare number; the answer says how sure it is.
//!
//! Built once per snapshot (a map from compound name to its buildings); a query is a few
//! substring searches and a lookup.

use std::collections::HashMap;

use geo::Point;

use crate::model::Dataset;
use crate::model::buildings;

/// How precisely a result places the address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Precision {
    /// The compound alone (no such building in it, or none given): its centre.
    Compound,
    /// The building (several entrances, none given): its first entrance.
    Building,
    /// The exact entrance, or a house.
    Entrance,
}

impl Precision {
    pub fn name(self) -> &'static str {
        match self {
            Precision::Compound => "compound",
            Precision::Building => "building",
            Precision::Entrance => "entrance",
        }
    }
}

/// One place an address may mean.
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    /// The building's code (the compound's first building for `Compound`).
    pub code: String,
    pub at: Point,
    /// The address in full, as gridmap writes it.
    pub address: String,
    pub precision: Precision,
    /// 0-1: how sure (1: one exact entrance; shared among equally good candidates).
    pub confidence: f64,
}

struct Entry {
    code: String,
    village: String,
    building: String,
    entrance: Option<i64>,
    at: Point,
}

/// The buildings by compound name, with the unit names to recognise and write.
pub struct Geocoder {
    compounds: HashMap<String, Vec<Entry>>,
    /// Compound names, longest first (a longer name wins over one it contains).
    names: Vec<String>,
    towns: Vec<(String, String)>,
    villages: Vec<(String, String)>,
}

/// A place name as people say it: 太阳城社区 for 太阳城社区居委会, 城北村 for 城北村委会.
fn short(name: &str) -> &str {
    name.strip_suffix("居委会")
        .or_else(|| name.strip_suffix("委会"))
        .unwrap_or(name)
}

/// Full-width digits to ASCII; spaces and the city's own prefix dropped.
fn normalise(q: &str) -> String {
    let mut s: String = q
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            _ => c,
        })
        .collect();
    for prefix in ["江苏省", "镇江市", "丹阳市"] {
        if let Some(rest) = s.strip_prefix(prefix) {
            s = rest.to_string();
        }
    }
    s
}

/// The first run of ASCII digits in `s` and what follows it.
fn number(s: &str) -> Option<(&str, &str)> {
    let start = s.find(|c: char| c.is_ascii_digit())?;
    let rest = &s[start..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    Some((&rest[..end], &rest[end..]))
}

impl Geocoder {
    pub fn build(d: &Dataset) -> Geocoder {
        let mut compounds: HashMap<String, Vec<Entry>> = HashMap::new();
        for b in buildings::all(d) {
            let entrance = b.record.value(b.def, "entrance").as_i64();
            compounds
                .entry(b.text("compound").to_string())
                .or_default()
                .push(Entry {
                    code: b.code.to_string(),
                    village: b.code.get(..12).unwrap_or(b.code).to_string(),
                    building: b.text("building").to_string(),
                    entrance,
                    at: b.at,
                });
        }
        let mut names: Vec<String> = compounds.keys().cloned().collect();
        names.sort_by(|a, b| b.chars().count().cmp(&a.chars().count()).then(a.cmp(b)));
        Geocoder {
            compounds,
            names,
            towns: d
                .towns
                .iter()
                .map(|t| (t.code.clone(), t.name.clone()))
                .collect(),
            villages: d
                .villages
                .iter()
                .map(|v| (v.code.clone(), v.name.clone()))
                .collect(),
        }
    }

    fn town_name(&self, code: &str) -> &str {
        self.towns
            .iter()
            .find(|(c, _)| code.starts_with(c.as_str()))
            .map_or("", |(_, n)| n)
    }

    fn village_name(&self, code: &str) -> &str {
        self.villages
            .iter()
            .find(|(c, _)| c == code)
            .map_or("", |(_, n)| short(n))
    }

    /// The address of a building as gridmap writes it.
    fn address(&self, compound: &str, e: &Entry, precision: Precision) -> String {
        let mut a = format!(
            "{}{}{compound}",
            self.town_name(&e.village),
            self.village_name(&e.village)
        );
        if precision >= Precision::Building {
            match e.entrance {
                Some(_) => a.push_str(&format!("{}幢", e.building)),
                None => a.push_str(&format!("{}号", e.building)),
            }
        }
        if precision == Precision::Entrance
            && let Some(n) = e.entrance
        {
            a.push_str(&format!("{n}单元"));
        }
        a
    }

    /// The places `q` may mean, best first (at most `limit`); empty when no compound is named.
    pub fn geocode(&self, q: &str, limit: usize) -> Vec<Found> {
        let q = normalise(q);
        // The unit prefixes the query names, by the longest name found.
        let town = self
            .towns
            .iter()
            .filter(|(_, n)| q.contains(n.as_str()))
            .max_by_key(|(_, n)| n.len())
            .map(|(c, _)| c.as_str());
        // Villages of the same name in different towns are all kept (the town may be left out).
        let named: Vec<(&str, &str)> = self
            .villages
            .iter()
            .filter(|(c, _)| town.is_none_or(|t| c.starts_with(t)))
            .map(|(c, n)| (c.as_str(), short(n)))
            .filter(|(_, n)| q.contains(n))
            .collect();
        let longest = named.iter().map(|(_, n)| n.len()).max().unwrap_or(0);
        let villages: Vec<(&str, &str)> = named
            .into_iter()
            .filter(|(_, n)| n.len() == longest)
            .collect();
        // After the village name (if any), the longest compound name present.
        let after_village = villages
            .first()
            .and_then(|(_, n)| q.find(n).map(|at| &q[at + n.len()..]))
            .unwrap_or(&q);
        let Some((name, entries)) = self.names.iter().find_map(|n| {
            if !after_village.contains(n.as_str()) {
                return None;
            }
            let entries: Vec<&Entry> = self.compounds[n]
                .iter()
                .filter(|e| villages.is_empty() || villages.iter().any(|(v, _)| e.village == *v))
                .filter(|e| town.is_none_or(|t| e.village.starts_with(t)))
                .collect();
            (!entries.is_empty()).then_some((n, entries))
        }) else {
            return Vec::new();
        };
        let rest = &after_village[after_village.find(name.as_str()).unwrap_or(0) + name.len()..];
        // Building: the first number (with 幢, 栋, 座, 号 or nothing after it); entrance: a number
        // followed by 单元.
        let (building, entrance) = match number(rest) {
            None => (None, None),
            Some((b, tail)) => {
                let entrance = number(tail).and_then(|(n, after)| {
                    after
                        .starts_with("单元")
                        .then(|| n.parse::<i64>().ok())
                        .flatten()
                });
                if tail.starts_with("单元") {
                    (None, b.parse::<i64>().ok())
                } else {
                    (Some(b.trim_start_matches('0').to_string()), entrance)
                }
            }
        };
        let in_building: Vec<&Entry> = match &building {
            Some(b) => entries
                .iter()
                .copied()
                .filter(|e| &e.building == b)
                .collect(),
            None => Vec::new(),
        };
        let mut found: Vec<Found> = if in_building.is_empty() {
            // The compound alone: one answer per village holding a compound of that name.
            let mut by_village: Vec<(&str, Vec<&Entry>)> = Vec::new();
            for e in &entries {
                match by_village.iter_mut().find(|(v, _)| *v == e.village) {
                    Some((_, list)) => list.push(e),
                    None => by_village.push((&e.village, vec![e])),
                }
            }
            let share = 1.0 / by_village.len() as f64;
            by_village
                .into_iter()
                .map(|(_, list)| {
                    let n = list.len() as f64;
                    let at = Point::new(
                        list.iter().map(|e| e.at.x()).sum::<f64>() / n,
                        list.iter().map(|e| e.at.y()).sum::<f64>() / n,
                    );
                    Found {
                        code: list[0].code.clone(),
                        at,
                        address: self.address(name, list[0], Precision::Compound),
                        precision: Precision::Compound,
                        confidence: 0.5 * share,
                    }
                })
                .collect()
        } else {
            let exact: Vec<&Entry> = in_building
                .iter()
                .copied()
                .filter(|e| e.entrance.is_none() || e.entrance == entrance)
                .collect();
            let (chosen, precision): (Vec<&Entry>, Precision) = if exact.is_empty() {
                // Entrances, none given (or none matching): the building's first entrance.
                let mut villages: Vec<&Entry> = Vec::new();
                for e in &in_building {
                    if !villages.iter().any(|v| v.village == e.village) {
                        villages.push(e);
                    }
                }
                (villages, Precision::Building)
            } else {
                (exact, Precision::Entrance)
            };
            let share = 1.0 / chosen.len() as f64;
            let base = if precision == Precision::Entrance {
                1.0
            } else {
                0.9
            };
            chosen
                .into_iter()
                .map(|e| Found {
                    code: e.code.clone(),
                    at: e.at,
                    address: self.address(name, e, precision),
                    precision,
                    confidence: base * share,
                })
                .collect()
        };
        found.sort_by(|a, b| {
            b.confidence
                .total_cmp(&a.confidence)
                .then_with(|| a.code.cmp(&b.code))
        });
        found.truncate(limit);
        found
    }

    /// The address of building `code` (as `geocode` would write it for its entrance).
    pub fn address_of(&self, code: &str, compound: &str) -> Option<String> {
        let e = self
            .compounds
            .get(compound)?
            .iter()
            .find(|e| e.code == code)?;
        Some(self.address(compound, e, Precision::Entrance))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_are_read_as_people_write_them() {
        assert_eq!(short("太阳城社区居委会"), "太阳城社区");
        assert_eq!(short("城北村委会"), "城北村");
        assert_eq!(
            normalise("丹阳市 云阳街道 华府公寓１幢"),
            "云阳街道华府公寓1幢"
        );
        assert_eq!(number("华府公寓12幢3单元"), Some(("12", "幢3单元")));
        assert_eq!(number("幢"), None);
    }
}
