//! The one map's other elements for the sample (`geodata/layers.toml`): risk zones along the
//! Grand Canal and in the hills, emergency shelters, Party organisations, households in care,
//! command and mediation centres, police beats and dedicated grids. Seeded and deterministic like the rest; placed
//! inside the generated towns, villages and grids. The canal's course is a sketch (a polyline
//! through the towns it crosses), not surveyed data.
//!
//! Each layer is generated only when the declarations have a layer of that name; features carry
//! the values of the declared fields the generator knows (others stay empty), and their town,
//! village and grid are filled by `model::records::complete`, as an import would.

use geo::{Contains, Coord, InteriorPoint, LineString, MultiPolygon, Point, Polygon};
use serde_json::{Map, Value, json};

use super::rng::Rng;
use super::voronoi::{Plane, round7, rounded, tile};
use super::{random_point_in, society};
use crate::model::declared::{BUILDINGS, Declarations};
use crate::model::records::{DeclaredData, Record, complete};
use crate::model::schema::LayerDef;
use crate::model::{Dataset, label_point};
use crate::{Error, Result};

/// The Grand Canal's course through the county, north-west (from Zhenjiang) to south-east
/// (towards Changzhou), roughly through the city and 吕城.
const CANAL: &[(f64, f64)] = &[
    (119.47, 32.08),
    (119.53, 32.04),
    (119.575, 32.005),
    (119.60, 31.985),
    (119.65, 31.945),
    (119.71, 31.895),
    (119.76, 31.86),
    (119.80, 31.835),
];

/// A feature before it meets its declaration: geometry and values by field name.
struct Draft {
    geometry: geo::Geometry,
    values: Map<String, Value>,
}

fn draft(geometry: impl Into<geo::Geometry>, values: Value) -> Draft {
    Draft {
        geometry: geometry.into(),
        values: match values {
            Value::Object(m) => m,
            _ => Map::new(),
        },
    }
}

/// Every declared layer the generator knows, filled; the others are left out (empty).
pub fn generate(data: &Dataset, layers: &Declarations, plane: Plane) -> Result<Vec<DeclaredData>> {
    let mut out = Vec::new();
    for &def in &layers.layers {
        let drafts = match def.name {
            "risk_zones" => risk_zones(data, plane),
            "shelters" => shelters(data),
            "party_orgs" => party_orgs(data),
            "care_households" => care_households(data),
            "centres" => centres(data),
            "police_beats" => police_beats(data, plane),
            "dedicated_grids" => dedicated_grids(data, plane),
            BUILDINGS => super::buildings::drafts(data, plane)
                .into_iter()
                .map(|(at, values)| draft(at, values))
                .collect(),
            _ => continue,
        };
        let mut layer = DeclaredData {
            def,
            features: drafts.into_iter().map(|d| record(def, d)).collect(),
        };
        let report = complete(&mut layer, data);
        if !report.is_ok() {
            return Err(Error::Invalid(report));
        }
        out.push(layer);
    }
    Ok(out)
}

fn record(def: &LayerDef, mut d: Draft) -> Record {
    let values: Vec<Value> = def
        .fields
        .iter()
        .map(|f| d.values.remove(f.name).unwrap_or(Value::Null))
        .collect();
    let key = match &values[0] {
        Value::String(s) => s.clone(),
        v => v.to_string(),
    };
    Record {
        key,
        geometry: d.geometry,
        values,
    }
}

/// An irregular polygon of `sides` around `centre`, `radius_m` on average, inside `within`
/// (shrunk until every vertex is); `None` when even a small one does not fit.
fn blob(
    centre: Coord,
    radius_m: f64,
    sides: usize,
    rng: &mut Rng,
    plane: Plane,
    within: &MultiPolygon,
) -> Option<MultiPolygon> {
    let c = plane.to_m(centre);
    let jitter: Vec<f64> = (0..sides).map(|_| rng.range(0.65, 1.0)).collect();
    let mut r = radius_m;
    while r > 20.0 {
        let ring: Vec<Coord> = (0..=sides)
            .map(|i| {
                let k = i % sides;
                let a = std::f64::consts::TAU * k as f64 / sides as f64;
                round7(plane.to_deg([
                    c[0] + r * jitter[k] * a.cos(),
                    c[1] + r * jitter[k] * a.sin(),
                ]))
            })
            .collect();
        if ring.iter().all(|p| within.contains(&Point::from(*p))) {
            return Some(rounded(&MultiPolygon(vec![Polygon::new(
                LineString(ring),
                vec![],
            )])));
        }
        r *= 0.7;
    }
    None
}

/// The town polygon that contains `p`, if any.
fn town_at(data: &Dataset, p: Coord) -> Option<&MultiPolygon> {
    data.towns
        .iter()
        .map(|t| &t.geometry)
        .find(|g| g.contains(&Point::from(p)))
}

fn risk_zones(data: &Dataset, plane: Plane) -> Vec<Draft> {
    let mut rng = Rng::named("risk-zones");
    let mut out = Vec::new();
    let canal: Vec<[f64; 2]> = CANAL
        .iter()
        .map(|&(x, y)| plane.to_m(Coord { x, y }))
        .collect();
    // Low ground along the canal, every ~1.6 km, on alternating banks.
    let mut n = 0;
    for pair in canal.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let length = ((b[0] - a[0]).powi(2) + (b[1] - a[1]).powi(2)).sqrt();
        let steps = (length / 1_600.0).floor() as usize;
        for s in 0..steps {
            let t = (s as f64 + rng.range(0.2, 0.8)) / steps.max(1) as f64;
            let side = if n % 2 == 0 { 1.0 } else { -1.0 };
            let (nx, ny) = ((a[1] - b[1]) / length, (b[0] - a[0]) / length);
            let off = side * rng.range(150.0, 900.0);
            let centre = plane.to_deg([
                a[0] + t * (b[0] - a[0]) + off * nx,
                a[1] + t * (b[1] - a[1]) + off * ny,
            ]);
            let Some(town) = town_at(data, centre) else {
                continue;
            };
            let radius = rng.range(180.0, 520.0);
            if let Some(shape) = blob(centre, radius, 9, &mut rng, plane, town) {
                n += 1;
                let level = 1 + rng.int(0, 2);
                out.push(draft(
                    shape,
                    json!({
                        "code": format!("FX{n:03}"),
                        "name": format!("运河沿线低洼易涝区{n}"),
                        "kind": "低洼易涝",
                        "level": level,
                        "households": rng.int(20, 400),
                    }),
                ));
            }
        }
    }
    // Hazards in the hilly south-west, dilapidated housing in the old city streets.
    let groups: [(&str, &str, usize); 2] = [("地质灾害隐患", "司徒", 6), ("危房片区", "街道", 6)];
    for (kind, town_marker, count) in groups {
        let towns: Vec<&MultiPolygon> = data
            .towns
            .iter()
            .filter(|t| t.name.contains(town_marker) || t.kind == town_marker)
            .map(|t| &t.geometry)
            .collect();
        if towns.is_empty() {
            continue;
        }
        let mut placed = 0;
        let mut tries = 0;
        while placed < count && tries < count * 20 {
            tries += 1;
            let town = towns[placed % towns.len()];
            let centre = random_point_in(town, &mut rng);
            if let Some(shape) = blob(centre, rng.range(120.0, 350.0), 7, &mut rng, plane, town) {
                placed += 1;
                n += 1;
                let label = if kind == "危房片区" {
                    "老旧危房片区"
                } else {
                    "山体地质灾害隐患点"
                };
                out.push(draft(
                    shape,
                    json!({
                        "code": format!("FX{n:03}"),
                        "name": format!("{label}{placed}"),
                        "kind": kind,
                        "level": 1 + rng.int(0, 2),
                        "households": rng.int(5, 150),
                    }),
                ));
            }
        }
    }
    out
}

fn shelters(data: &Dataset) -> Vec<Draft> {
    let mut rng = Rng::named("shelters");
    let kinds = ["school", "stadium", "park"];
    let mut out = Vec::new();
    let mut n = 0;
    for town in &data.towns {
        let count = if town.kind == "街道" { 5 } else { 3 };
        for i in 0..count {
            n += 1;
            let kind = kinds[i % kinds.len()];
            let at = random_point_in(&town.geometry, &mut rng);
            let (label, capacity) = match kind {
                "school" => ("学校避难场所", rng.int(800, 3_000)),
                "stadium" => ("体育场避难场所", rng.int(2_000, 8_000)),
                _ => ("公园避难场所", rng.int(1_000, 6_000)),
            };
            out.push(draft(
                Point::from(at),
                json!({
                    "code": format!("BN{n:03}"),
                    "name": format!("{}{label}{}", town.name, i + 1),
                    "kind": kind,
                    "capacity": capacity,
                    "indoor": kind != "park",
                    "keeper_phone": society::phone(&mut rng),
                }),
            ));
        }
    }
    out
}

fn party_orgs(data: &Dataset) -> Vec<Draft> {
    let mut rng = Rng::named("party-orgs");
    let streets = society::street_codes(data);
    let mut out = Vec::new();
    for g in &data.grids {
        let urban = streets.iter().any(|t| g.code.starts_with(t));
        let extra = if urban { rng.int(0, 3) } else { rng.int(0, 2) };
        for seq in 0..=extra {
            let (kind, name) = match (seq, urban) {
                (0, _) => ("网格党支部", format!("{}党支部", g.name)),
                (_, true) => ("楼栋党小组", format!("{}第{seq}楼栋党小组", g.name)),
                (_, false) => ("党员中心户", format!("{}党员中心户{seq}", g.name)),
            };
            let at = if seq == 0 {
                label_point(&g.geometry).map(|p| p.0)
            } else {
                None
            }
            .unwrap_or_else(|| random_point_in(&g.geometry, &mut rng));
            out.push(draft(
                Point::from(round7(at)),
                json!({
                    "code": format!("{}{:02}", g.code, seq + 1),
                    "name": name,
                    "kind": kind,
                    "members": if seq == 0 { rng.int(8, 60) } else { rng.int(3, 12) },
                    "secretary": society::person(&mut rng),
                }),
            ));
        }
    }
    out
}

/// Households in care: none to three in each grid, at a point inside it, visited in 2026.
fn care_households(data: &Dataset) -> Vec<Draft> {
    let mut rng = Rng::named("care-households");
    let kinds = ["独居老人", "留守儿童", "残疾人", "低保户"];
    let mut out = Vec::new();
    for g in &data.grids {
        for seq in 1..=rng.int(0, 3) {
            let kind = *rng.pick(&kinds);
            let people = match kind {
                "独居老人" => 1,
                _ => rng.int(1, 5),
            };
            let at = random_point_in(&g.geometry, &mut rng);
            out.push(draft(
                Point::from(round7(at)),
                json!({
                    "code": format!("{}{seq:03}", g.code),
                    "kind": kind,
                    "people": people,
                    "last_visit": format!("2026-{:02}-{:02}", rng.int(1, 11), rng.int(1, 28)),
                    "head": society::person(&mut rng),
                    "phone": society::phone(&mut rng),
                }),
            ));
        }
    }
    out
}

fn centres(data: &Dataset) -> Vec<Draft> {
    let mut rng = Rng::named("centres");
    let mut out = Vec::new();
    let mut n = 0;
    let mut push = |at: Coord, name: String, kind: &str, level: &str, rng: &mut Rng| {
        n += 1;
        let year = 2019 + rng.int(0, 4);
        out.push(draft(
            Point::from(round7(at)),
            json!({
                "code": format!("ZX{n:03}"),
                "name": name,
                "kind": kind,
                "level": level,
                "opened": format!("{year}-{:02}-{:02}", 1 + rng.int(0, 11), 1 + rng.int(0, 27)),
                // An office line, derived from the code (no draw: the rest of the stream stays).
                "duty_phone": format!("0511-8600{n:04}"),
            }),
        ));
    };
    push(
        society::CITY_SEAT,
        "丹阳市社会治理现代化指挥中心".into(),
        "指挥中心",
        "city",
        &mut rng,
    );
    push(
        Coord {
            x: society::CITY_SEAT.x + 0.004,
            y: society::CITY_SEAT.y - 0.002,
        },
        "丹阳市矛盾纠纷多元化解中心".into(),
        "矛盾纠纷多元化解中心",
        "city",
        &mut rng,
    );
    for t in &data.towns {
        let Some(seat) = t.geometry.interior_point() else {
            continue;
        };
        push(
            seat.0,
            format!("{}社会治理现代化指挥中心", t.name),
            "指挥中心",
            "town",
            &mut rng,
        );
        let near = random_point_in(&t.geometry, &mut rng);
        push(
            near,
            format!("{}矛盾纠纷多元化解中心", t.name),
            "矛盾纠纷多元化解中心",
            "town",
            &mut rng,
        );
    }
    for (i, v) in data.villages.iter().enumerate() {
        let Some(at) = label_point(&v.geometry) else {
            continue;
        };
        if i % 3 == 0 {
            push(
                at.0,
                format!("{}说事点", v.name),
                "说事点",
                "village",
                &mut rng,
            );
        }
        if i % 7 == 0 {
            let near = random_point_in(&v.geometry, &mut rng);
            push(
                near,
                format!("{}矛盾纠纷调解室", v.name),
                "矛盾纠纷多元化解中心",
                "village",
                &mut rng,
            );
        }
    }
    out
}

fn police_beats(data: &Dataset, plane: Plane) -> Vec<Draft> {
    let mut rng = Rng::named("police-beats");
    let mut out = Vec::new();
    for t in &data.towns {
        let people: u64 = data
            .grids
            .iter()
            .filter(|g| g.code.starts_with(&t.code))
            .map(|g| u64::from(g.population))
            .sum();
        let beats = (people / 12_000).clamp(3, 12) as usize;
        let seeds: Vec<Coord> = (0..beats)
            .map(|_| random_point_in(&t.geometry, &mut rng))
            .collect();
        for (i, piece) in tile(&t.geometry, &seeds, plane, 20_000.0)
            .into_iter()
            .filter(|p| !p.0.is_empty())
            .enumerate()
        {
            out.push(draft(
                piece,
                json!({
                    "code": format!("JG{}{:02}", t.code, i + 1),
                    "name": format!("{}第{}警格", t.name, i + 1),
                    "station": format!("{}派出所", t.name.trim_end_matches(['镇', '街', '道'])),
                    "officer_phone": society::phone(&mut rng),
                }),
            ));
        }
    }
    out
}

fn dedicated_grids(data: &Dataset, plane: Plane) -> Vec<Draft> {
    let mut rng = Rng::named("dedicated-grids");
    let kinds = [
        ("school", "学校", 220.0),
        ("hospital", "医院", 160.0),
        ("market", "农贸市场", 90.0),
        ("enterprise", "企业园区", 350.0),
    ];
    let mut out = Vec::new();
    let mut n = 0;
    for t in &data.towns {
        let count = if t.kind == "街道" { 8 } else { 2 };
        for i in 0..count {
            let (kind, label, radius) = kinds[(i + n) % kinds.len()];
            let centre = random_point_in(&t.geometry, &mut rng);
            if let Some(shape) = blob(centre, radius, 6, &mut rng, plane, &t.geometry) {
                n += 1;
                let area = {
                    use geo::Area;
                    let ring: Vec<[f64; 2]> = shape
                        .0
                        .iter()
                        .flat_map(|p| p.exterior().0.iter().map(|c| plane.to_m(*c)))
                        .collect();
                    let m = MultiPolygon(vec![Polygon::new(
                        ring.iter().map(|p| Coord { x: p[0], y: p[1] }).collect(),
                        vec![],
                    )]);
                    (m.unsigned_area()).round()
                };
                out.push(draft(
                    shape,
                    json!({
                        "code": format!("ZS{n:03}"),
                        "name": format!("{}{label}专属网格{}", t.name, i + 1),
                        "kind": kind,
                        "area_m2": area,
                    }),
                ));
            }
        }
    }
    out
}
