//! The answer to an impact request: every grid with its figures, totals by village and town and
//! for the whole, the nearest shelters and the shortfall, as JSON (with the fields the caller may
//! see of each grid's worker) and as CSV (the public figures).

use std::collections::BTreeMap;

use geo::{Area, BoundingRect};
use serde_json::{Value, json};

use super::{GridHit, Impact, SHELTER_REACH_M, SHELTERS, m2_per_deg2};
use crate::analysis::{round, table};
use crate::index::Snapshot;
use crate::model::Layer;

/// A unit's totals: the grids of it the area meets, added up.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Totals {
    pub grids: u64,
    pub overlap_m2: f64,
    pub households: u64,
    pub people: u64,
    pub posts: u64,
    pub centres: u64,
}

impl Totals {
    fn add(&mut self, g: &GridHit) {
        self.grids += 1;
        self.overlap_m2 += g.overlap_m2;
        self.households += g.households;
        self.people += g.people;
        self.posts += g.posts.len() as u64;
        self.centres += g.centres.len() as u64;
    }

    fn json(&self) -> serde_json::Map<String, Value> {
        let v = json!({
            "grids": self.grids, "overlap_m2": round(self.overlap_m2, 1),
            "households": self.households, "people": self.people,
            "posts": self.posts, "centres": self.centres,
        });
        match v {
            Value::Object(o) => o,
            _ => unreachable!("a json! object"),
        }
    }
}

/// The totals by the unit whose code is the first `len` digits of each grid's, in code order.
pub fn totals_by(snap: &Snapshot, impact: &Impact, len: usize) -> BTreeMap<String, Totals> {
    let mut out: BTreeMap<String, Totals> = BTreeMap::new();
    for g in &impact.grids {
        let code = &snap.dataset().grids[g.grid].code;
        out.entry(code[..len.min(code.len())].to_string())
            .or_default()
            .add(g);
    }
    out
}

/// The answer as JSON: `grids` (each with its published worker, and what `beyond(code)` adds
/// for the caller: the responsible worker where the caller's area holds the grid), `totals` with
/// `villages` and `towns`, and `shelters`.
pub fn json(
    snap: &Snapshot,
    impact: &Impact,
    mut beyond: impl FnMut(&str) -> serde_json::Map<String, Value>,
) -> Value {
    let data = snap.dataset();
    let grids: Vec<Value> = impact
        .grids
        .iter()
        .map(|h| {
            let g = &data.grids[h.grid];
            let mut v = json!({
                "code": g.code, "name": g.name, "village_code": g.village_code(), "town_code": crate::model::village_town_code(g.village_code()),
                "overlap_m2": round(h.overlap_m2, 1), "share": round(h.share, 6),
                "households": h.households, "people": h.people,
                "counted_by": if h.by_buildings { "buildings" } else { "area" },
                "posts": h.posts, "centres": h.centres,
            });
            // The responsible worker: the public sees a published one (the grid's public
            // fields), `beyond` adds what the caller's area shows.
            let public = snap.public_feature(Layer::Grids, h.grid);
            if let (Some(o), Some(p)) = (v.as_object_mut(), public.properties.as_ref()) {
                for field in ["worker_name", "worker_phone"] {
                    if let Some(w) = p.get(field) {
                        o.insert(field.into(), w.clone());
                    }
                }
                o.extend(beyond(&g.code));
            }
            v
        })
        .collect();
    let units = |layer: Layer, len: usize| -> Vec<Value> {
        totals_by(snap, impact, len)
            .into_iter()
            .map(|(code, t)| {
                let (name, whole_m2) = unit_name_and_area(snap, layer, &code);
                let mut o = serde_json::Map::new();
                o.insert("code".into(), code.into());
                o.insert("name".into(), name.into());
                o.extend(t.json());
                o.insert(
                    "share".into(),
                    json!(whole_m2.map(|w| round((t.overlap_m2 / w).min(1.0), 6))),
                );
                Value::Object(o)
            })
            .collect()
    };
    let mut totals = Totals::default();
    impact.grids.iter().for_each(|g| totals.add(g));
    let mut totals = totals.json();
    totals.insert("villages".into(), units(Layer::Villages, 12).into());
    totals.insert("towns".into(), units(Layer::Towns, 9).into());
    let shelters = snap.declared_layer(SHELTERS);
    let nearest: Vec<Value> = impact
        .nearest_shelters
        .iter()
        .filter_map(|s| {
            let layer = shelters?;
            let r = &layer.features[s.index];
            let p = r.anchor()?;
            Some(json!({
                "code": r.key, "name": r.value(layer.def, "name"), "capacity": s.capacity,
                "distance_m": round(s.distance_m, 1), "lon": p.x(), "lat": p.y(),
            }))
        })
        .collect();
    json!({
        "area_m2": round(impact.area_m2, 1),
        "grids": grids,
        "totals": totals,
        "shelters": {
            "nearest": nearest,
            "within_m": SHELTER_REACH_M,
            "count_within": impact.shelters_within_reach,
            "capacity_within": impact.capacity_within_reach,
            "shortfall": impact.shortfall(),
        },
    })
}

/// A town's or village's name and its area in m² (in the plane at its middle).
fn unit_name_and_area(snap: &Snapshot, layer: Layer, code: &str) -> (String, Option<f64>) {
    let d = snap.dataset();
    let found = snap.find(layer, code).map(|i| match layer {
        Layer::Towns => (&d.towns[i].name, &d.towns[i].geometry),
        _ => (&d.villages[i].name, &d.villages[i].geometry),
    });
    match found {
        Some((name, g)) => (
            name.clone(),
            g.bounding_rect()
                .map(|r| g.unsigned_area() * m2_per_deg2(r)),
        ),
        None => (String::new(), None),
    }
}

/// The answer as CSV: a row per grid, village and town (`level` says which), the public figures.
pub fn csv(snap: &Snapshot, impact: &Impact) -> String {
    let answer = json(snap, impact, |_| serde_json::Map::new());
    const COLUMNS: [&str; 8] = [
        "code",
        "name",
        "overlap_m2",
        "share",
        "households",
        "people",
        "posts",
        "centres",
    ];
    let lists = [
        ("grid", &answer["grids"]),
        ("village", &answer["totals"]["villages"]),
        ("town", &answer["totals"]["towns"]),
    ];
    let rows = lists.into_iter().flat_map(|(level, list)| {
        list.as_array().into_iter().flatten().map(move |row| {
            std::iter::once(level.to_string())
                .chain(COLUMNS.iter().map(|f| table::cell(&row[*f])))
                .collect::<Vec<_>>()
        })
    });
    table::csv(std::iter::once("level").chain(COLUMNS), rows)
}
