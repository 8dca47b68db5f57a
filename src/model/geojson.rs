//! GeoJSON features <-> the model. Serialisation only, no I/O.
//!
//! Which properties a feature carries is its layer's declaration (`schema`), cut at a
//! visibility: `Visibility::Public` leaves out staff and personal fields (PIPL) and is what the
//! HTTP API and tiles use; `Visibility::Personal` keeps every field, for the store's own files
//! (export, the generated sample).

use geo::{Coord, LineString, MultiPolygon, Point, Polygon};
use geojson::{Feature, GeometryValue, JsonObject, JsonValue, feature::Id};

pub use super::schema::Visibility;
use super::schema::{Properties, visible};
use super::{
    Alliance, AnyLayer, Grid, Layer, LayerData, Member, MemberKind, Personal, Problem, Service,
    Station, Town, ValidationReport, Village,
};

/// A feature of any layer: its declared properties that `vis` may see (`schema`), its key as the
/// GeoJSON id (a number for layers keyed by id, else the code).
pub fn feature_of<T: Properties>(
    f: &T,
    vis: Visibility,
    geometry: Option<GeometryValue>,
) -> Feature {
    let def = T::LAYER.def();
    let properties = visible(f, vis);
    let id = match properties.get(def.key) {
        Some(JsonValue::Number(n)) => Some(Id::Number(n.clone())),
        Some(JsonValue::String(s)) => Some(Id::String(s.clone())),
        _ => None,
    };
    Feature {
        bbox: None,
        geometry: geometry.map(geojson::Geometry::new),
        id,
        properties: Some(properties),
        foreign_members: None,
    }
}

/// Feature `i` of `layer` in `d` with the fields `vis` may see and no geometry: its id and
/// properties (what a tile tags it with).
pub fn bare_feature(d: &super::Dataset, layer: Layer, i: usize, vis: Visibility) -> Feature {
    match layer {
        Layer::Towns => feature_of(&*d.towns[i], vis, None),
        Layer::Villages => feature_of(&*d.villages[i], vis, None),
        Layer::Grids => feature_of(&*d.grids[i], vis, None),
        Layer::Stations => feature_of(&*d.stations[i], vis, None),
        Layer::Alliances => feature_of(&*d.alliances[i], vis, None),
        Layer::Members => feature_of(&*d.members[i], vis, None),
    }
}

pub fn town_feature(t: &Town, vis: Visibility) -> Feature {
    feature_of(t, vis, Some(GeometryValue::from(&t.geometry)))
}

pub fn village_feature(v: &Village, vis: Visibility) -> Feature {
    feature_of(v, vis, Some(GeometryValue::from(&v.geometry)))
}

pub fn grid_feature(g: &Grid, vis: Visibility) -> Feature {
    feature_of(g, vis, Some(GeometryValue::from(&g.geometry)))
}

pub fn station_feature(s: &Station, vis: Visibility) -> Feature {
    feature_of(s, vis, Some(GeometryValue::from(&s.location)))
}

/// An alliance with its derived footprint (the union of its member villages), when known.
pub fn alliance_feature(
    a: &Alliance,
    vis: Visibility,
    footprint: Option<&MultiPolygon>,
) -> Feature {
    feature_of(a, vis, footprint.map(GeometryValue::from))
}

/// A member; `location` overrides the stored one (villages are placed by their polygon).
pub fn member_feature(m: &Member, vis: Visibility, location: Option<Point>) -> Feature {
    feature_of(
        m,
        vis,
        location.or(m.location).map(|p| GeometryValue::from(&p)),
    )
}

/// Every field: what the store's own files carry.
const ALL: Visibility = Visibility::Personal;

/// Feature `i` of `layer` in `d` as stored: every field, stored geometry only (what an API
/// write's version tag is computed from). `i` is a position in `d` (as `position` gives).
pub fn stored_feature_at(d: &super::Dataset, layer: AnyLayer, i: usize) -> Feature {
    match layer {
        AnyLayer::Builtin(Layer::Towns) => town_feature(&d.towns[i], ALL),
        AnyLayer::Builtin(Layer::Villages) => village_feature(&d.villages[i], ALL),
        AnyLayer::Builtin(Layer::Grids) => grid_feature(&d.grids[i], ALL),
        AnyLayer::Builtin(Layer::Stations) => station_feature(&d.stations[i], ALL),
        AnyLayer::Builtin(Layer::Alliances) => alliance_feature(&d.alliances[i], ALL, None),
        AnyLayer::Builtin(Layer::Members) => member_feature(&d.members[i], ALL, None),
        AnyLayer::Declared(def) => declared_records(d, def)[i].feature(def, ALL),
    }
}

/// The key of feature `i` of `layer` in `d`, as stored (a code, or an id in decimal).
pub fn key_at(d: &super::Dataset, layer: AnyLayer, i: usize) -> String {
    match layer {
        AnyLayer::Builtin(Layer::Towns) => d.towns[i].code.clone(),
        AnyLayer::Builtin(Layer::Villages) => d.villages[i].code.clone(),
        AnyLayer::Builtin(Layer::Grids) => d.grids[i].code.clone(),
        AnyLayer::Builtin(Layer::Stations) => d.stations[i].id.to_string(),
        AnyLayer::Builtin(Layer::Alliances) => d.alliances[i].id.to_string(),
        AnyLayer::Builtin(Layer::Members) => d.members[i].id.to_string(),
        AnyLayer::Declared(def) => declared_records(d, def)[i].key.clone(),
    }
}

/// The position of the feature keyed `key` in `layer` of `d` (a scan: for one write).
pub fn position(d: &super::Dataset, layer: AnyLayer, key: &str) -> Option<usize> {
    match layer {
        AnyLayer::Builtin(Layer::Towns) => d.towns.iter().position(|f| f.code == key),
        AnyLayer::Builtin(Layer::Villages) => d.villages.iter().position(|f| f.code == key),
        AnyLayer::Builtin(Layer::Grids) => d.grids.iter().position(|f| f.code == key),
        AnyLayer::Builtin(Layer::Stations) => {
            d.stations.iter().position(|f| f.id.to_string() == key)
        }
        AnyLayer::Builtin(Layer::Alliances) => {
            d.alliances.iter().position(|f| f.id.to_string() == key)
        }
        AnyLayer::Builtin(Layer::Members) => d.members.iter().position(|f| f.id.to_string() == key),
        AnyLayer::Declared(def) => declared_records(d, def).iter().position(|r| r.key == key),
    }
}

/// The features of declared layer `def` in `d` (none when `d` has no such layer).
fn declared_records<'a>(
    d: &'a super::Dataset,
    def: &super::schema::LayerDef,
) -> &'a [super::records::Record] {
    d.declared(def.name).map_or(&[], |l| &l.features)
}

/// Every feature of a layer as stored (every field, stored geometry only).
pub fn layer_features(data: &LayerData) -> Vec<Feature> {
    layer_features_visible(data, ALL)
}

/// Every feature of a layer with the fields `vis` may see (stored geometry only).
pub fn layer_features_visible(data: &LayerData, vis: Visibility) -> Vec<Feature> {
    match data {
        LayerData::Towns(v) => v.iter().map(|f| town_feature(f, vis)).collect(),
        LayerData::Villages(v) => v.iter().map(|f| village_feature(f, vis)).collect(),
        LayerData::Grids(v) => v.iter().map(|f| grid_feature(f, vis)).collect(),
        LayerData::Stations(v) => v.iter().map(|f| station_feature(f, vis)).collect(),
        LayerData::Alliances(v) => v.iter().map(|f| alliance_feature(f, vis, None)).collect(),
        LayerData::Members(v) => v.iter().map(|f| member_feature(f, vis, None)).collect(),
    }
}

/// A FeatureCollection with one feature per line: stable bytes, readable diffs.
pub fn write_collection(features: &[Feature]) -> String {
    let mut out = String::from("{\"type\":\"FeatureCollection\",\"features\":[\n");
    for (i, f) in features.iter().enumerate() {
        // A Feature always serialises; fall back to null rather than panic.
        out.push_str(&serde_json::to_string(f).unwrap_or_else(|_| "null".into()));
        out.push_str(if i + 1 < features.len() { ",\n" } else { "\n" });
    }
    out.push_str("]}\n");
    out
}

// ---- reading ----------------------------------------------------------------------------------

pub(super) type FieldResult<T> = Result<T, String>;

struct Props<'a> {
    props: &'a JsonObject,
}

impl<'a> Props<'a> {
    fn get(&self, key: &str) -> Option<&'a JsonValue> {
        self.props.get(key).filter(|v| !v.is_null())
    }

    fn string(&self, key: &str) -> FieldResult<String> {
        match self.get(key) {
            Some(JsonValue::String(s)) => Ok(s.clone()),
            Some(JsonValue::Number(n)) => Ok(n.to_string()),
            Some(other) => Err(format!("property '{key}' must be a string, got {other}")),
            None => Err(format!("property '{key}' is missing")),
        }
    }

    fn opt_string(&self, key: &str) -> FieldResult<Option<String>> {
        self.get(key).map(|_| self.string(key)).transpose()
    }

    fn opt_bool(&self, key: &str) -> FieldResult<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some(JsonValue::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(format!(
                "property '{key}' must be true or false, got {other}"
            )),
        }
    }

    fn string_or(&self, key: &str, default: &str) -> FieldResult<String> {
        Ok(self.opt_string(key)?.unwrap_or_else(|| default.to_string()))
    }

    fn u64(&self, key: &str) -> FieldResult<u64> {
        match self.get(key) {
            Some(JsonValue::Number(n)) => n
                .as_u64()
                .ok_or_else(|| format!("property '{key}' must be a whole number >= 0, got {n}")),
            Some(JsonValue::String(s)) => s
                .parse()
                .map_err(|_| format!("property '{key}' must be a whole number >= 0, got '{s}'")),
            Some(other) => Err(format!("property '{key}' must be a number, got {other}")),
            None => Err(format!("property '{key}' is missing")),
        }
    }

    fn u32(&self, key: &str) -> FieldResult<u32> {
        let v = self.u64(key)?;
        u32::try_from(v).map_err(|_| format!("property '{key}' is too large ({v})"))
    }
}

fn check_ring(ring: &[geojson::Position], what: &str) -> FieldResult<()> {
    if ring.len() < 4 {
        return Err(format!(
            "{what} has {} positions; a ring needs at least 4",
            ring.len()
        ));
    }
    if ring.first().map(|p| p.as_slice()) != ring.last().map(|p| p.as_slice()) {
        return Err(format!(
            "{what} is not closed: its last position must repeat its first"
        ));
    }
    if ring.iter().any(|p| p.len() < 2) {
        return Err(format!("{what} has a position with fewer than 2 numbers"));
    }
    Ok(())
}

fn ring(positions: &[geojson::Position]) -> LineString {
    LineString(
        positions
            .iter()
            .map(|p| Coord {
                x: p.as_slice()[0],
                y: p.as_slice()[1],
            })
            .collect(),
    )
}

fn polygon(rings: &[Vec<geojson::Position>], part: usize) -> FieldResult<Polygon> {
    let Some((exterior, holes)) = rings.split_first() else {
        return Err(format!("polygon {part} has no rings"));
    };
    check_ring(exterior, &format!("polygon {part} exterior ring"))?;
    for (i, h) in holes.iter().enumerate() {
        check_ring(h, &format!("polygon {part} hole {i}"))?;
    }
    Ok(Polygon::new(
        ring(exterior),
        holes.iter().map(|h| ring(h)).collect(),
    ))
}

pub(super) fn area_geometry(f: &Feature) -> FieldResult<MultiPolygon> {
    match &f.geometry {
        Some(g) => area_from_geometry(g),
        None => Err("geometry is missing; give a Polygon or MultiPolygon".into()),
    }
}

/// A GeoJSON Polygon or MultiPolygon as read for a layer: every ring closed and of at least four
/// positions (geo would close an open ring silently), or why not. Validity (self-intersection)
/// is checked apart.
pub fn area_from_geometry(g: &geojson::Geometry) -> Result<MultiPolygon, String> {
    match &g.value {
        GeometryValue::Polygon { coordinates } => Ok(MultiPolygon(vec![polygon(coordinates, 0)?])),
        GeometryValue::MultiPolygon { coordinates } => Ok(MultiPolygon(
            coordinates
                .iter()
                .enumerate()
                .map(|(i, p)| polygon(p, i))
                .collect::<FieldResult<_>>()?,
        )),
        _ => Err("geometry must be a Polygon or MultiPolygon".into()),
    }
}

fn point_geometry(f: &Feature) -> FieldResult<Option<Point>> {
    match f.geometry.as_ref().map(|g| &g.value) {
        Some(GeometryValue::Point { coordinates }) if coordinates.len() >= 2 => {
            let c = coordinates.as_slice();
            Ok(Some(Point::new(c[0], c[1])))
        }
        Some(_) => Err("geometry must be a Point with [lon, lat]".into()),
        None => Ok(None),
    }
}

fn services(p: &Props) -> FieldResult<Vec<Service>> {
    let names: Vec<String> = match p.get("services") {
        Some(JsonValue::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("services item {v} is not a string"))
            })
            .collect::<FieldResult<_>>()?,
        Some(JsonValue::String(s)) => s
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        Some(other) => {
            return Err(format!(
                "property 'services' must be an array of strings, got {other}"
            ));
        }
        None => return Err("property 'services' is missing".into()),
    };
    Service::parse_list(names.iter().map(String::as_str))
}

/// The feature's key for error messages: its code or id property, its GeoJSON id, or its index.
pub(super) fn feature_label(f: &Feature, index: usize) -> String {
    let props = f.properties.as_ref();
    for key in ["code", "id"] {
        if let Some(v) = props.and_then(|p| p.get(key)).filter(|v| !v.is_null()) {
            return v
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string());
        }
    }
    match &f.id {
        Some(Id::String(s)) => s.clone(),
        Some(Id::Number(n)) => n.to_string(),
        None => format!("feature #{index}"),
    }
}

fn read_feature(layer: Layer, f: &Feature) -> FieldResult<LayerData> {
    let empty = JsonObject::new();
    let p = Props {
        props: f.properties.as_ref().unwrap_or(&empty),
    };
    // Ids are stored as 64-bit signed integers (SQLite's and PostgreSQL's), so at most i64::MAX.
    let in_range = |id: u64| -> FieldResult<u64> {
        if id > i64::MAX as u64 {
            return Err(format!("id {id} is too large; ids go up to {}", i64::MAX));
        }
        Ok(id)
    };
    let num_id = || -> FieldResult<u64> {
        match (&f.id, p.get("id")) {
            (_, Some(_)) => in_range(p.u64("id")?),
            (Some(Id::Number(n)), None) => in_range(
                n.as_u64()
                    .ok_or_else(|| format!("id {n} must be a whole number >= 0"))?,
            ),
            (Some(Id::String(s)), None) => in_range(
                s.parse()
                    .map_err(|_| format!("id '{s}' must be a whole number"))?,
            ),
            (None, None) => Err("property 'id' is missing".into()),
        }
    };
    let code = || -> FieldResult<String> {
        match (&f.id, p.get("code")) {
            (Some(Id::String(s)), None) => Ok(s.clone()),
            _ => p.string("code"),
        }
    };
    Ok(match layer {
        Layer::Towns => LayerData::Towns(vec![Town {
            code: code()?,
            name: p.string("name")?,
            mca_code: p.string_or("mca_code", "")?,
            kind: p.string_or("kind", "")?,
            geometry: area_geometry(f)?,
        }]),
        Layer::Villages => LayerData::Villages(vec![Village {
            code: code()?,
            name: p.string("name")?,
            kind: p.string_or("kind", "")?,
            geometry: area_geometry(f)?,
        }]),
        Layer::Grids => LayerData::Grids(vec![Grid {
            code: code()?,
            name: p.string("name")?,
            households: p.u32("households")?,
            population: p.u32("population")?,
            worker: Personal {
                name: p.opt_string("worker_name")?,
                phone: p.opt_string("worker_phone")?,
                published: p.opt_bool("publish_contact")?.unwrap_or(false),
            },
            geometry: area_geometry(f)?,
        }]),
        Layer::Stations => LayerData::Stations(vec![Station {
            id: num_id()?,
            name: p.string("name")?,
            grid_code: p.string("grid_code")?,
            services: services(&p)?,
            opening_hours: p.string_or("opening_hours", "")?,
            contact_phone: p.opt_string("contact_phone")?,
            location: point_geometry(f)?.ok_or("geometry is missing; give a Point")?,
        }]),
        Layer::Alliances => LayerData::Alliances(vec![Alliance {
            id: num_id()?,
            name: p.string("name")?,
            theme: p.string_or("theme", "")?,
            founded: p.string("founded")?,
        }]),
        Layer::Members => {
            let kind = p.string("kind")?;
            LayerData::Members(vec![Member {
                id: num_id()?,
                alliance_id: p.u64("alliance_id")?,
                kind: MemberKind::parse_or_explain(&kind)?,
                name: p.string("name")?,
                village_code: p.opt_string("village_code")?,
                location: point_geometry(f)?,
            }])
        }
    })
}

/// Read a GeoJSON FeatureCollection as features of `layer`. Every unreadable feature is reported
/// (with its code/id and the problem); model rules are checked later by `validate_dataset`.
pub fn read_layer(layer: Layer, text: &str) -> Result<LayerData, ValidationReport> {
    let mut out = LayerData::empty(layer);
    for one in read_features(layer.name(), text, |f| read_feature(layer, f))? {
        out.extend(one);
    }
    Ok(out)
}

/// Each feature of a GeoJSON FeatureCollection through `read`; every feature it refuses is
/// reported under `layer` with its code, id or position and the problem.
pub(super) fn read_features<T>(
    layer: &'static str,
    text: &str,
    read: impl Fn(&Feature) -> FieldResult<T>,
) -> Result<Vec<T>, ValidationReport> {
    let collection: geojson::FeatureCollection = text.parse().map_err(|e| ValidationReport {
        problems: vec![Problem {
            layer,
            id: "file".into(),
            message: format!("not a GeoJSON FeatureCollection: {e}"),
        }],
    })?;
    let mut out = Vec::with_capacity(collection.features.len());
    let mut report = ValidationReport::default();
    for (i, f) in collection.features.iter().enumerate() {
        match read(f) {
            Ok(one) => out.push(one),
            Err(message) => report.problems.push(Problem {
                layer,
                id: feature_label(f, i),
                message,
            }),
        }
    }
    if report.is_ok() { Ok(out) } else { Err(report) }
}
