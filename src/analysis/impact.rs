//! What an emergency touches (应急研判): for an area (a polygon, a circle, a risk zone), every
//! grid it meets with the overlap in m² and as a share of the grid, the households and people
//! affected (by the buildings inside where the grid has buildings, else pro rata to area), the
//! posts and centres inside; totals by village, town and for the whole; the three shelters
//! nearest to the area and the shortfall when the people affected exceed the capacity of the
//! shelters within 3 km. What `POST /impact` and `gridmap impact` both answer.
//!
//! Overlaps are clipped in longitude/latitude and measured in the plane tangent at each grid
//! (the equirectangular scaling is affine, so clipping before or after projecting gives the same
//! polygon); the area as a whole is measured on the ellipsoid (Karney).

use std::collections::{BTreeMap, HashMap};

use geo::orient::{Direction, Orient};
use geo::{
    Area, BooleanOps, BoundingRect, Destination, Geodesic, GeodesicArea, Intersects, MultiPolygon,
    Point, Polygon, Validation,
};
use serde_json::{Value, json};

use crate::geodesy::{distance_outside_m, m_per_deg_lat, m_per_deg_lon};
use crate::index::Snapshot;
use crate::model::records::Record;
use crate::model::{AnyLayer, Bbox, Layer};

/// The largest circle asked for, in metres (beyond it an emergency is the county's whole).
pub const MAX_RADIUS_M: f64 = 50_000.0;
/// Shelters this far from the area (or inside it) count towards its capacity.
pub const SHELTER_REACH_M: f64 = 3_000.0;
/// The most vertices an asked area may have (a county's outline has a few thousand).
pub const MAX_VERTICES: usize = 10_000;
/// Vertices of a circle's polygon: its area is within 0.05% of the circle's.
const CIRCLE_VERTICES: usize = 128;
/// The declared layers read here (`geodata/layers.toml`).
const SHELTERS: &str = "shelters";
const CENTRES: &str = "centres";
const RISK_ZONES: &str = "risk_zones";

/// Why an asked area was refused: the body field and the fix.
#[derive(Debug, PartialEq)]
pub struct Refusal {
    pub field: &'static str,
    pub message: String,
}

fn refuse(field: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        field,
        message: message.into(),
    }
}

/// The area a request names, before it is resolved against the map.
#[derive(Clone, Debug, PartialEq)]
pub enum Asked {
    Area(MultiPolygon),
    Circle { centre: Point, radius_m: f64 },
    RiskZone(String),
}

/// Read the body of an impact request: a GeoJSON Polygon or MultiPolygon (bare or as a
/// Feature), `{"lon", "lat", "radius_m"}`, or `{"risk_zone": KEY}`; rings closed, no
/// self-intersection, coordinates WGS84 lon/lat, a radius in (0, 50 km].
pub fn read(body: &Value) -> Result<Asked, Refusal> {
    let Some(object) = body.as_object() else {
        return Err(refuse(
            "body",
            "give a GeoJSON Polygon or MultiPolygon, {\"lon\", \"lat\", \"radius_m\"} or {\"risk_zone\": KEY}",
        ));
    };
    if let Some(key) = object.get("risk_zone") {
        return key
            .as_str()
            .filter(|k| !k.is_empty())
            .map(|k| Asked::RiskZone(k.to_string()))
            .ok_or_else(|| refuse("risk_zone", "give the risk zone's code as a string"));
    }
    if object.contains_key("radius_m") || object.contains_key("lon") {
        let number = |name: &'static str| {
            object
                .get(name)
                .and_then(Value::as_f64)
                .ok_or_else(|| refuse(name, format!("give {name} as a number")))
        };
        let (lon, lat, radius_m) = (number("lon")?, number("lat")?, number("radius_m")?);
        if !crate::model::lon_lat_in_range(lon, lat) {
            return Err(refuse(
                "lon",
                format!(
                    "({lon}, {lat}) is outside lon -180..180 / lat -90..90; give WGS84 lon/lat"
                ),
            ));
        }
        if !(radius_m > 0.0 && radius_m <= MAX_RADIUS_M) {
            return Err(refuse(
                "radius_m",
                format!("{radius_m} is not in 0 < radius_m <= 50000; give metres on the ground"),
            ));
        }
        // A circle drawn across the antimeridian or around a pole is no polygon in lon/lat.
        let ring = circle(Point::new(lon, lat), radius_m);
        let wraps = ring
            .bounding_rect()
            .is_none_or(|r| r.width() > 180.0 || r.max().y >= 90.0 || r.min().y <= -90.0);
        if wraps {
            return Err(refuse(
                "radius_m",
                "the circle crosses the antimeridian or a pole; give one within the county",
            ));
        }
        return Ok(Asked::Circle {
            centre: Point::new(lon, lat),
            radius_m,
        });
    }
    let geometry = match object.get("type").and_then(Value::as_str) {
        Some("Feature") => object.get("geometry").cloned().unwrap_or(Value::Null),
        Some("Polygon" | "MultiPolygon") => body.clone(),
        Some(other) => {
            return Err(refuse(
                "type",
                format!(
                    "a {other} is not an area; give one Polygon or MultiPolygon (bare or as a Feature)"
                ),
            ));
        }
        None => {
            return Err(refuse(
                "body",
                "give a GeoJSON Polygon or MultiPolygon, {\"lon\", \"lat\", \"radius_m\"} or {\"risk_zone\": KEY}",
            ));
        }
    };
    let geometry: geojson::Geometry = serde_json::from_value(geometry)
        .map_err(|e| refuse("geometry", format!("not a GeoJSON geometry: {e}")))?;
    let area =
        crate::model::geojson::area_from_geometry(&geometry).map_err(|m| refuse("geometry", m))?;
    check_area(&area)?;
    Ok(Asked::Area(area))
}

fn check_area(area: &MultiPolygon) -> Result<(), Refusal> {
    use geo::CoordsIter;
    let vertices = area.coords_count();
    if vertices > MAX_VERTICES {
        return Err(refuse(
            "geometry",
            format!("{vertices} vertices is more than {MAX_VERTICES}; simplify the polygon"),
        ));
    }
    if let Some(c) = area
        .coords_iter()
        .find(|c| !crate::model::lon_lat_in_range(c.x, c.y))
    {
        return Err(refuse(
            "geometry",
            format!(
                "({}, {}) is outside lon -180..180 / lat -90..90; give WGS84 lon/lat",
                c.x, c.y
            ),
        ));
    }
    if let Err(e) = area.check_validation() {
        return Err(refuse(
            "geometry",
            format!(
                "{e}; give a simple polygon (rings that do not cross themselves or each other)"
            ),
        ));
    }
    if area.unsigned_area() == 0.0 {
        return Err(refuse("geometry", "the polygon has no area"));
    }
    Ok(())
}

/// A circle of `radius_m` on the ground around `centre`: `CIRCLE_VERTICES` points at that
/// geodesic distance.
pub fn circle(centre: Point, radius_m: f64) -> MultiPolygon {
    let ring: Vec<geo::Coord> = (0..=CIRCLE_VERTICES)
        .map(|i| {
            // Counter-clockwise, as RFC 7946 wants an exterior ring.
            let bearing = 360.0 - 360.0 * (i % CIRCLE_VERTICES) as f64 / CIRCLE_VERTICES as f64;
            Geodesic.destination(centre, bearing, radius_m).0
        })
        .collect();
    MultiPolygon(vec![Polygon::new(ring.into(), Vec::new())])
}

/// The polygon an asked area stands for on `snap`'s map: a risk zone by its key, if `sees` it.
pub fn resolve(
    snap: &Snapshot,
    asked: Asked,
    sees: impl Fn(AnyLayer, usize) -> bool,
) -> Result<MultiPolygon, Refusal> {
    match asked {
        Asked::Area(area) => Ok(area),
        Asked::Circle { centre, radius_m } => Ok(circle(centre, radius_m)),
        Asked::RiskZone(key) => {
            let missing = || refuse("risk_zone", format!("no risk zone has the code '{key}'"));
            let data = snap.declared_layer(RISK_ZONES).ok_or_else(missing)?;
            let layer = AnyLayer::Declared(data.def);
            let i = snap
                .find_any(layer, &key)
                .filter(|&i| sees(layer, i))
                .ok_or_else(missing)?;
            match &data.features[i].geometry {
                geo::Geometry::MultiPolygon(mp) => Ok(mp.clone()),
                geo::Geometry::Polygon(p) => Ok(MultiPolygon(vec![p.clone()])),
                _ => Err(missing()),
            }
        }
    }
}

/// One grid the area meets.
#[derive(Clone, Debug, PartialEq)]
pub struct GridHit {
    /// The grid's position in the dataset.
    pub grid: usize,
    pub overlap_m2: f64,
    /// Of the grid's area.
    pub share: f64,
    pub households: u64,
    pub people: u64,
    /// Whether households and people were counted by buildings (else pro rata to area).
    pub by_buildings: bool,
    /// Post ids inside the area.
    pub posts: Vec<u64>,
    /// Keys of the centres inside the area.
    pub centres: Vec<String>,
}

/// A shelter and its distance to the area (0 inside).
#[derive(Clone, Debug, PartialEq)]
pub struct ShelterNear {
    /// Its position in the shelters layer.
    pub index: usize,
    pub capacity: u64,
    pub distance_m: f64,
}

/// What an area touches.
#[derive(Clone, Debug, PartialEq)]
pub struct Impact {
    /// The area's own size on the ellipsoid.
    pub area_m2: f64,
    pub grids: Vec<GridHit>,
    /// The nearest three, nearest first.
    pub nearest_shelters: Vec<ShelterNear>,
    pub shelters_within_reach: usize,
    pub capacity_within_reach: u64,
}

impl Impact {
    pub fn people(&self) -> u64 {
        self.grids.iter().map(|g| g.people).sum()
    }

    /// People affected beyond what the shelters within 3 km hold (0 when they hold everyone).
    pub fn shortfall(&self) -> u64 {
        self.people().saturating_sub(self.capacity_within_reach)
    }
}

fn bbox_of(area: &MultiPolygon) -> Option<Bbox> {
    area.bounding_rect().map(|r| Bbox {
        min_lon: r.min().x,
        min_lat: r.min().y,
        max_lon: r.max().x,
        max_lat: r.max().y,
    })
}

/// Square metres per square degree in the plane tangent at the middle of `r`.
fn m2_per_deg2(r: geo::Rect) -> f64 {
    let lat = r.center().y;
    m_per_deg_lon(lat) * m_per_deg_lat(lat)
}

/// What `area` (valid, WGS84) touches on `snap`'s map, reading only the declared features the
/// caller `sees` (a layer may be declared for staff only). `None` when it meets no grid: the area
/// lies outside the county.
pub fn assess(
    snap: &Snapshot,
    area: &MultiPolygon,
    sees: impl Fn(AnyLayer, usize) -> bool,
) -> Option<Impact> {
    let data = snap.dataset();
    let bbox = bbox_of(area)?;
    let mut grids: Vec<GridHit> = Vec::new();
    for i in snap.in_bbox(Layer::Grids, Some(bbox)) {
        let g = &data.grids[i].geometry;
        let Some(r) = g.bounding_rect() else { continue };
        let whole_deg2 = g.unsigned_area();
        let overlap_deg2 = g.intersection(area).unsigned_area();
        if overlap_deg2 <= 0.0 || whole_deg2 <= 0.0 {
            continue;
        }
        let share = (overlap_deg2 / whole_deg2).min(1.0);
        grids.push(GridHit {
            grid: i,
            overlap_m2: overlap_deg2 * m2_per_deg2(r),
            share,
            households: 0,
            people: 0,
            by_buildings: false,
            posts: Vec::new(),
            centres: Vec::new(),
        });
    }
    if grids.is_empty() {
        return None;
    }
    let hit: HashMap<&str, usize> = grids
        .iter()
        .enumerate()
        .map(|(k, h)| (data.grids[h.grid].code.as_str(), k))
        .collect();
    count_people(snap, area, &mut grids, &hit);
    for s in snap.in_bbox(Layer::Stations, Some(bbox)) {
        let post = &data.stations[s];
        if let Some(&k) = hit.get(post.grid_code.as_str())
            && area.intersects(&post.location)
        {
            grids[k].posts.push(post.id);
        }
    }
    if let Some(centres) = snap.declared_layer(CENTRES) {
        let layer = AnyLayer::Declared(centres.def);
        for i in snap.in_bbox_any(layer, Some(bbox)) {
            if !sees(layer, i) {
                continue;
            }
            let r = &centres.features[i];
            let grid = r.value(centres.def, "grid_code").as_str();
            if let (Some(&k), Some(p)) = (grid.and_then(|c| hit.get(c)), r.anchor())
                && area.intersects(&p)
            {
                grids[k].centres.push(r.key.clone());
            }
        }
    }
    let (nearest_shelters, shelters_within_reach, capacity_within_reach) =
        shelters(snap, area, &sees);
    Some(Impact {
        // Karney's area reads a clockwise ring as the rest of the globe: orient it first.
        area_m2: area.orient(Direction::Default).geodesic_area_unsigned(),
        grids,
        nearest_shelters,
        shelters_within_reach,
        capacity_within_reach,
    })
}

/// Households and people affected in each grid hit: the buildings inside the area where the grid
/// has buildings holding anyone, else its figures times the share of its area (rounded).
fn count_people(
    snap: &Snapshot,
    area: &MultiPolygon,
    grids: &mut [GridHit],
    hit: &HashMap<&str, usize>,
) {
    let data = snap.dataset();
    // Every building of the grids hit lies within their boxes (a building stands within 1 m
    // of its grid), so one query over their union finds them all.
    let union = grids
        .iter()
        .filter_map(|h| data.grids[h.grid].geometry.bounding_rect())
        .reduce(|a, b| {
            geo::Rect::new(
                geo::coord! {x: a.min().x.min(b.min().x), y: a.min().y.min(b.min().y)},
                geo::coord! {x: a.max().x.max(b.max().x), y: a.max().y.max(b.max().y)},
            )
        });
    let mut housed = vec![false; grids.len()];
    let mut inside = vec![(0_u64, 0_u64); grids.len()];
    if let (Some(layer), Some(u)) = (crate::model::buildings::layer(data), union) {
        let (h, r) = (
            layer.def.position("households"),
            layer.def.position("residents"),
        );
        let count = |rec: &Record, i: Option<usize>| {
            i.and_then(|i| rec.values.get(i))
                .and_then(Value::as_u64)
                .unwrap_or(0)
        };
        let ubox = Bbox {
            min_lon: u.min().x,
            min_lat: u.min().y,
            max_lon: u.max().x,
            max_lat: u.max().y,
        };
        for i in snap.in_bbox_any(AnyLayer::Declared(layer.def), Some(ubox)) {
            let rec = &layer.features[i];
            let Some(&k) = rec.key.get(..15).and_then(|c| hit.get(c)) else {
                continue;
            };
            let (households, residents) = (count(rec, h), count(rec, r));
            housed[k] |= households + residents > 0;
            if rec.anchor().is_some_and(|p| area.intersects(&p)) {
                inside[k].0 += households;
                inside[k].1 += residents;
            }
        }
    }
    for (k, g) in grids.iter_mut().enumerate() {
        let grid = &data.grids[g.grid];
        if housed[k] {
            g.by_buildings = true;
            (g.households, g.people) = inside[k];
        } else {
            g.households = (f64::from(grid.households) * g.share).round() as u64;
            g.people = (f64::from(grid.population) * g.share).round() as u64;
        }
    }
}

/// The three shelters nearest to `area` (geodesic distance to its edge, 0 inside), and how many
/// lie within `SHELTER_REACH_M` and what they hold.
fn shelters(
    snap: &Snapshot,
    area: &MultiPolygon,
    sees: &impl Fn(AnyLayer, usize) -> bool,
) -> (Vec<ShelterNear>, usize, u64) {
    let Some(layer) = snap.declared_layer(SHELTERS) else {
        return (Vec::new(), 0, 0);
    };
    let capacity = layer.def.position("capacity");
    let mut all: Vec<ShelterNear> = layer
        .features
        .iter()
        .enumerate()
        .filter(|&(index, _)| sees(AnyLayer::Declared(layer.def), index))
        .filter_map(|(index, r)| {
            let p = r.anchor()?;
            Some(ShelterNear {
                index,
                capacity: capacity
                    .and_then(|c| r.values.get(c))
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
                distance_m: distance_outside_m(area, p),
            })
        })
        .collect();
    all.sort_by(|a, b| {
        a.distance_m
            .total_cmp(&b.distance_m)
            .then(a.index.cmp(&b.index))
    });
    let near: Vec<&ShelterNear> = all
        .iter()
        .filter(|s| s.distance_m <= SHELTER_REACH_M)
        .collect();
    let (count, held) = (near.len(), near.iter().map(|s| s.capacity).sum());
    all.truncate(3);
    (all, count, held)
}

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

fn round(v: f64, decimals: i32) -> f64 {
    let k = 10_f64.powi(decimals);
    (v * k).round() / k
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
                .chain(COLUMNS.iter().map(|f| super::table::cell(&row[*f])))
                .collect::<Vec<_>>()
        })
    });
    super::table::csv(std::iter::once("level").chain(COLUMNS), rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geodesy::distance_m;
    use geo::Contains;
    use std::sync::OnceLock;

    fn sample() -> &'static Snapshot {
        static SNAP: OnceLock<Snapshot> = OnceLock::new();
        SNAP.get_or_init(|| Snapshot::build(crate::sample::dataset().unwrap()))
    }

    fn polygon_json(area: &MultiPolygon) -> Value {
        serde_json::to_value(geojson::Geometry::from(area)).unwrap()
    }

    #[test]
    fn a_polygon_equal_to_a_grid_reports_that_grid_whole_and_no_neighbour() {
        let snap = sample();
        for i in [0, 500, 1_333] {
            let grid = &snap.dataset().grids[i];
            let asked = read(&polygon_json(&grid.geometry)).unwrap();
            let area = resolve(snap, asked, |_, _| true).unwrap();
            let impact = assess(snap, &area, |_, _| true).unwrap();
            let me = impact.grids.iter().find(|h| h.grid == i).unwrap();
            assert!(
                (me.share - 1.0).abs() <= 0.001,
                "{}: {}",
                grid.code,
                me.share
            );
            for h in impact.grids.iter().filter(|h| h.grid != i) {
                assert!(
                    h.share < 0.001,
                    "neighbour {}: {}",
                    snap.dataset().grids[h.grid].code,
                    h.share
                );
            }
            // Its people are the grid's (by buildings, which add up to the grid, or whole).
            assert_eq!(me.people, u64::from(grid.population), "{}", grid.code);
        }
    }

    #[test]
    fn a_circle_is_round_on_the_ground() {
        let centre = Point::new(119.606, 32.0095);
        let c = circle(centre, 1_000.0);
        let ring = &c.0[0].exterior().0;
        assert_eq!(ring.first(), ring.last());
        for v in ring {
            // Vincenty against Karney's destination: the same metre.
            assert!((distance_m(centre, Point::from(*v)) - 1_000.0).abs() < 0.001);
        }
        let want = std::f64::consts::PI * 1e6;
        let got = c.geodesic_area_unsigned();
        assert!((got / want - 1.0).abs() < 0.005, "{got} against {want}");
        let impact = assess(sample(), &c, |_, _| true).unwrap();
        assert!((impact.area_m2 / want - 1.0).abs() < 0.005);
        // A clockwise ring (GeoJSON before RFC 7946 often has them) is the same area.
        let mut clockwise = c.clone();
        clockwise.0[0].exterior_mut(|r| r.0.reverse());
        let again = assess(sample(), &clockwise, |_, _| true).unwrap();
        assert!((again.area_m2 - impact.area_m2).abs() < 1.0);
        // The overlaps, each measured in its grid's plane, add up to the circle.
        let sum: f64 = impact.grids.iter().map(|g| g.overlap_m2).sum();
        assert!((sum / got - 1.0).abs() < 0.001, "{sum} against {got}");
    }

    #[test]
    fn households_affected_are_the_buildings_inside() {
        let snap = sample();
        let d = snap.dataset();
        let buildings = crate::model::buildings::all(d);
        // A box over part of town: the buildings inside it, by brute force over all of them.
        let (lon, lat) = (119.60, 32.00);
        let area = MultiPolygon(vec![
            geo::Rect::new(
                geo::coord! {x: lon, y: lat},
                geo::coord! {x: lon + 0.012, y: lat + 0.009},
            )
            .to_polygon(),
        ]);
        let impact = assess(snap, &area, |_, _| true).unwrap();
        let hit: std::collections::HashSet<&str> = impact
            .grids
            .iter()
            .filter(|h| h.by_buildings)
            .map(|h| d.grids[h.grid].code.as_str())
            .collect();
        assert!(hit.len() > 3, "{hit:?}");
        let inside: Vec<_> = buildings
            .iter()
            .filter(|b| hit.contains(b.grid_code()) && area.contains(&b.at))
            .collect();
        let households: u64 = impact
            .grids
            .iter()
            .filter(|h| h.by_buildings)
            .map(|h| h.households)
            .sum();
        assert_eq!(households, inside.iter().map(|b| b.households).sum::<u64>());
        assert!(households > 0);

        // A box around one building alone holds exactly its households and residents.
        let b = buildings.iter().find(|b| b.households > 0).unwrap();
        let e = 1e-5;
        let tiny = MultiPolygon(vec![
            geo::Rect::new(
                geo::coord! {x: b.at.x() - e, y: b.at.y() - e},
                geo::coord! {x: b.at.x() + e, y: b.at.y() + e},
            )
            .to_polygon(),
        ]);
        let alone = buildings.iter().filter(|o| tiny.contains(&o.at)).count();
        assert_eq!(alone, 1);
        let impact = assess(snap, &tiny, |_, _| true).unwrap();
        let households: u64 = impact.grids.iter().map(|h| h.households).sum();
        let people: u64 = impact.grids.iter().map(|h| h.people).sum();
        assert_eq!((households, people), (b.households, b.residents));
    }

    /// Two shelters placed by hand: one 1 km east of a 500 m circle's edge holding 100, one 5 km
    /// away holding 100,000. Only the first is within 3 km, so the shortfall is everyone but 100.
    #[test]
    fn the_shelter_shortfall_counts_only_shelters_within_reach() {
        let mut data = sample().dataset().clone();
        let centre = Point::new(119.606, 32.0095);
        let near = Geodesic.destination(centre, 90.0, 1_500.0);
        let far = Geodesic.destination(centre, 0.0, 5_500.0);
        let layer = data
            .declared
            .iter_mut()
            .find(|d| d.def.name == SHELTERS)
            .unwrap();
        let capacity = layer.def.position("capacity").unwrap();
        let template = layer.features[0].clone();
        let place = |key: &str, at: Point, holds: u64| {
            let mut r = template.clone();
            r.key = key.into();
            r.geometry = geo::Geometry::Point(at);
            r.values[capacity] = json!(holds);
            r
        };
        layer.features = vec![place("near", near, 100), place("far", far, 100_000)];
        let snap = Snapshot::build(data);
        let impact = assess(&snap, &circle(centre, 500.0), |_, _| true).unwrap();
        assert!(impact.people() > 1_000, "{}", impact.people());
        assert_eq!(impact.shelters_within_reach, 1);
        assert_eq!(impact.capacity_within_reach, 100);
        assert_eq!(impact.shortfall(), impact.people() - 100);
        let nearest = &impact.nearest_shelters;
        assert_eq!(nearest.len(), 2);
        assert!(
            (nearest[0].distance_m - 1_000.0).abs() < 5.0,
            "{}",
            nearest[0].distance_m
        );
        assert!(
            (nearest[1].distance_m - 5_000.0).abs() < 5.0,
            "{}",
            nearest[1].distance_m
        );
    }

    #[test]
    fn bad_areas_are_refused_naming_the_fix() {
        let field = |body: Value| read(&body).unwrap_err().field;
        let open = json!({"type": "Polygon", "coordinates": [[[119.5, 32.0], [119.6, 32.0], [119.6, 32.1], [119.5, 32.1]]]});
        assert_eq!(field(open.clone()), "geometry");
        assert!(read(&open).unwrap_err().message.contains("not closed"));
        let bowtie = json!({"type": "Polygon", "coordinates": [[[119.5, 32.0], [119.6, 32.1], [119.6, 32.0], [119.5, 32.1], [119.5, 32.0]]]});
        assert!(
            read(&bowtie)
                .unwrap_err()
                .message
                .contains("simple polygon"),
            "{:?}",
            read(&bowtie)
        );
        assert_eq!(
            field(json!({"lon": 119.6, "lat": 32.0, "radius_m": 0})),
            "radius_m"
        );
        assert_eq!(
            field(json!({"lon": 119.6, "lat": 32.0, "radius_m": 50_001})),
            "radius_m"
        );
        assert_eq!(field(json!({"lon": 119.6, "lat": 32.0})), "radius_m");
        assert_eq!(
            field(json!({"lon": 219.6, "lat": 32.0, "radius_m": 10})),
            "lon"
        );
        assert_eq!(
            field(json!({"type": "FeatureCollection", "features": []})),
            "type"
        );
        assert_eq!(field(json!({"risk_zone": 7})), "risk_zone");
        assert_eq!(field(json!([1, 2])), "body");
        // Valid, but outside the county: nothing to assess.
        let away = circle(Point::new(121.47, 31.23), 1_000.0);
        assert!(assess(sample(), &away, |_, _| true).is_none());
        assert_eq!(
            field(json!({"lon": 179.9, "lat": 32.0, "radius_m": 50_000})),
            "radius_m"
        );
        let many: Vec<[f64; 2]> = (0..=MAX_VERTICES + 1)
            .map(|i| {
                let a = i as f64 / (MAX_VERTICES + 1) as f64 * std::f64::consts::TAU;
                [119.6 + 0.01 * a.cos(), 32.0 + 0.01 * a.sin()]
            })
            .collect();
        let mut ring = many.clone();
        ring.push(many[0]);
        assert!(
            read(&json!({"type": "Polygon", "coordinates": [ring]}))
                .unwrap_err()
                .message
                .contains("simplify")
        );
        let unknown = resolve(sample(), Asked::RiskZone("nowhere".into()), |_, _| true);
        assert_eq!(unknown.unwrap_err().field, "risk_zone");
    }
}
