//! Features of declared layers (`declared`): a key, a geometry and one value per declared field,
//! read from GeoJSON against the declaration (types, required fields, enumerations), given
//! their town, village and grid, and written back as GeoJSON.

use std::cell::OnceCell;
use std::collections::HashSet;

use geo::{
    BoundingRect, Geometry, InteriorPoint, Intersects, LineString, MultiLineString, Point, Rect,
    Validation,
};
use geojson::{Feature, GeometryValue, JsonValue, feature::Id};
use serde_json::{Map, Value};

use super::geojson::{area_geometry, read_features};
use super::schema::{FieldType, GeometryKind, LayerDef, Origin, Visibility};
use super::validate::lon_lat_in_range;
use super::{
    Dataset, Grid, Problem, Shared, Town, ValidationReport, Village, grid_village_code,
    village_town_code,
};

/// One feature of a declared layer. `values` follow the declaration's fields (the key first),
/// each `Null` or of the field's type: integers as i64, numbers as f64, dates as `YYYY-MM-DD`.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub key: String,
    pub geometry: Geometry,
    pub values: Vec<Value>,
}

/// Every feature of one declared layer.
#[derive(Clone, Debug, PartialEq)]
pub struct DeclaredData {
    pub def: &'static LayerDef,
    pub features: Vec<Record>,
}

impl DeclaredData {
    pub fn empty(def: &'static LayerDef) -> DeclaredData {
        DeclaredData {
            def,
            features: Vec::new(),
        }
    }
}

impl Record {
    /// The value of field `name` (`Null` when absent or undeclared).
    pub fn value<'a>(&'a self, def: &LayerDef, name: &str) -> &'a Value {
        def.position(name)
            .and_then(|i| self.values.get(i))
            .unwrap_or(&Value::Null)
    }

    /// The most specific unit code gridmap filled for it (its grid, else village, else town):
    /// what an account's area holds it by. `None` for a layer with no parent.
    pub fn area_code<'a>(&'a self, def: &LayerDef) -> Option<&'a str> {
        super::declared::PARENT_FIELDS
            .iter()
            .rev()
            .find_map(|f| self.value(def, f).as_str())
    }

    /// A point on the feature: the point itself, a point inside a polygon, a point on a line.
    pub fn anchor(&self) -> Option<Point> {
        match &self.geometry {
            Geometry::MultiPolygon(mp) => super::label_point(mp),
            g => g.interior_point(),
        }
    }

    /// The feature's id in vector tiles, where ids are numbers: a numeric key below 2^53
    /// itself, else a checksum of the key within JavaScript's safe integers (stable while the
    /// key is; the key itself is a property of every tile feature).
    pub fn tile_id(&self) -> u64 {
        match self.values.first().and_then(Value::as_u64) {
            Some(id) if id < 1 << 53 => id,
            _ => super::fnv1a(self.key.as_bytes()) & ((1 << 53) - 1),
        }
    }

    /// The fields `vis` may see, by name.
    pub fn properties(&self, def: &LayerDef, vis: Visibility) -> Map<String, Value> {
        def.fields
            .iter()
            .zip(&self.values)
            .filter(|(f, _)| f.visibility <= vis)
            .map(|(f, v)| (f.name.to_string(), v.clone()))
            .collect()
    }

    /// The GeoJSON feature with the fields `vis` may see; the key is its id.
    pub fn feature(&self, def: &LayerDef, vis: Visibility) -> Feature {
        Feature {
            geometry: Some(geojson::Geometry::new(GeometryValue::from(&self.geometry))),
            ..self.feature_without_geometry(def, vis)
        }
    }

    /// `feature` with no geometry: its id and properties.
    pub fn feature_without_geometry(&self, def: &LayerDef, vis: Visibility) -> Feature {
        let id = match self.values.first() {
            Some(JsonValue::Number(n)) => Some(Id::Number(n.clone())),
            _ => Some(Id::String(self.key.clone())),
        };
        Feature {
            bbox: None,
            geometry: None,
            id,
            properties: Some(self.properties(def, vis)),
            foreign_members: None,
        }
    }
}

/// Read a GeoJSON FeatureCollection as features of the declared layer `def`. Every feature that
/// does not fit the declaration is reported (its key or position, the field and the fix).
pub fn read_declared(def: &'static LayerDef, text: &str) -> Result<DeclaredData, ValidationReport> {
    let features = read_features(def.name, text, |f| read_record(def, f))?;
    Ok(DeclaredData { def, features })
}

pub(super) fn read_record(def: &LayerDef, f: &Feature) -> Result<Record, String> {
    let empty = Map::new();
    let props = f.properties.as_ref().unwrap_or(&empty);
    if let Some(unknown) = props.keys().find(|k| def.field(k).is_none()) {
        return Err(format!(
            "property '{unknown}' is not declared for {}; its fields are {}",
            def.name,
            def.fields
                .iter()
                .map(|f| f.name)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let mut values = Vec::with_capacity(def.fields.len());
    for field in def.fields {
        let raw = props.get(field.name).unwrap_or(&Value::Null);
        let value = typed(field.ty, raw)
            .map_err(|want| format!("property '{}' must be {want}, got {raw}", field.name))?;
        if value.is_null() && !field.nullable {
            return Err(format!(
                "property '{}' is missing; it is required ({})",
                field.name,
                field.ty.name()
            ));
        }
        values.push(value);
    }
    let key = match &values[0] {
        Value::String(s) => s.clone(),
        v => v.to_string(),
    };
    Ok(Record {
        key,
        geometry: geometry(def.geometry, f)?,
        values,
    })
}

/// `raw` as a value of type `ty` (null stays null), or what it should be.
pub fn typed(ty: FieldType, raw: &Value) -> Result<Value, String> {
    let want = || -> String {
        match ty {
            FieldType::Text => "text without NUL characters".into(),
            FieldType::Integer => "a whole number".into(),
            FieldType::Number => "a number".into(),
            FieldType::Boolean => "true or false".into(),
            FieldType::Date => "a date YYYY-MM-DD".into(),
            FieldType::Enum(names) | FieldType::EnumList(names) => {
                format!("one of {}", names.join(", "))
            }
        }
    };
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let ok = match (ty, raw) {
        // NUL ends a C string: SQLite would keep it, PostgreSQL refuses it.
        (_, Value::String(s)) if s.contains('\0') => None,
        (FieldType::Text, Value::String(_)) => Some(raw.clone()),
        (FieldType::Integer, Value::Number(n)) => n.as_i64().map(Value::from),
        (FieldType::Number, Value::Number(n)) => n.as_f64().map(Value::from),
        (FieldType::Boolean, Value::Bool(_)) => Some(raw.clone()),
        (FieldType::Date, Value::String(s)) => {
            super::date::days_since_epoch(s).map(|_| raw.clone())
        }
        (FieldType::Enum(names), Value::String(s)) => {
            names.contains(&s.as_str()).then(|| raw.clone())
        }
        _ => None,
    };
    ok.ok_or_else(want)
}

fn geometry(kind: GeometryKind, f: &Feature) -> Result<Geometry, String> {
    let value = f.geometry.as_ref().map(|g| &g.value);
    let g = match (kind, value) {
        (GeometryKind::MultiPolygon, _) => Geometry::MultiPolygon(area_geometry(f)?),
        (GeometryKind::Point, Some(GeometryValue::Point { coordinates }))
            if coordinates.len() >= 2 =>
        {
            Geometry::Point(Point::new(coordinates[0], coordinates[1]))
        }
        (GeometryKind::MultiLineString, Some(GeometryValue::LineString { coordinates })) => {
            Geometry::MultiLineString(MultiLineString(vec![line(coordinates)?]))
        }
        (GeometryKind::MultiLineString, Some(GeometryValue::MultiLineString { coordinates })) => {
            Geometry::MultiLineString(MultiLineString(
                coordinates
                    .iter()
                    .map(|l| line(l))
                    .collect::<Result<_, _>>()?,
            ))
        }
        (GeometryKind::Point, None) | (GeometryKind::MultiLineString, None) => {
            return Err(format!("geometry is missing; give a {}", want(kind)));
        }
        _ => return Err(format!("geometry must be a {}", want(kind))),
    };
    if let Some(c) = geo::CoordsIter::coords_iter(&g).find(|c| !lon_lat_in_range(c.x, c.y)) {
        return Err(format!(
            "coordinate ({}, {}) is outside lon -180..180, lat -90..90",
            c.x, c.y
        ));
    }
    if let Geometry::MultiPolygon(mp) = &g
        && let Err(e) = mp.check_validation()
    {
        return Err(format!("geometry is not a valid polygon: {e}"));
    }
    Ok(g)
}

fn want(kind: GeometryKind) -> &'static str {
    match kind {
        GeometryKind::Point => "Point with [lon, lat]",
        GeometryKind::MultiLineString => "LineString or MultiLineString",
        GeometryKind::MultiPolygon => "Polygon or MultiPolygon",
    }
}

fn line(positions: &[geojson::Position]) -> Result<LineString, String> {
    if positions.len() < 2 || positions.iter().any(|p| p.len() < 2) {
        return Err("a line needs at least 2 positions of [lon, lat]".into());
    }
    Ok(positions.iter().map(|p| (p[0], p[1])).collect())
}

/// Check a declared layer's features together (unique keys) and fill each one's town, village
/// and grid from `d` (by containment or by the key's prefix). Problems name the feature.
pub fn complete(data: &mut DeclaredData, d: &Dataset) -> ValidationReport {
    let (report, fills) = parents(data, &Units::of(d));
    for (i, at, value) in fills {
        data.features[i].values[at] = value;
    }
    report
}

/// What `complete` reports of every declared layer of `d`, without filling anything (and so
/// without copying a layer shared with another dataset), against `units` (of `d`).
pub fn check_declared(d: &Dataset, units: &Units) -> ValidationReport {
    let mut report = ValidationReport::default();
    for data in &d.declared {
        report.problems.extend(parents(data, units).0.problems);
    }
    report
}

/// `complete`'s problems, and the empty parent fields it fills: (feature, field, value).
fn parents(data: &DeclaredData, units: &Units) -> (ValidationReport, Vec<(usize, usize, Value)>) {
    let def = data.def;
    let mut report = ValidationReport::default();
    let mut fills = Vec::new();
    let mut seen = HashSet::new();
    let mut problem = |id: &str, message: String| {
        report.problems.push(Problem {
            layer: def.name,
            id: id.to_string(),
            message,
        })
    };
    for r in &data.features {
        if !seen.insert(r.key.as_str()) {
            problem(&r.key, format!("key {} '{}' appears twice", def.key, r.key));
        }
    }
    let Some(positions) = parent_positions(def) else {
        return (report, fills);
    };
    for (n, r) in data.features.iter().enumerate() {
        let Some(found) = units.parents(def, r) else {
            let why = match def.origin {
                Origin::DeclaredByPrefix(layer) => format!(
                    "key '{}' does not start with the code of one of the {layer}",
                    r.key
                ),
                _ => "lies outside every town of the county".to_string(),
            };
            problem(&r.key, why);
            continue;
        };
        for (i, code) in positions.into_iter().zip(found) {
            let value = code.map(Value::from).unwrap_or(Value::Null);
            match r.values.get(i) {
                Some(slot) if *slot == value => {}
                Some(slot) if slot.is_null() => fills.push((n, i, value)),
                Some(slot) => {
                    problem(
                        &r.key,
                        format!(
                            "property '{}' is {slot} but the feature's {} is {value}; leave it out (gridmap fills it)",
                            def.fields[i].name, def.fields[i].name
                        ),
                    );
                }
                None => {}
            }
        }
    }
    (report, fills)
}

/// Where a layer that takes its town, village and grid from the units keeps them (`usize::MAX`
/// for a field it lacks); `None` for a layer that takes none.
fn parent_positions(def: &LayerDef) -> Option<[usize; 3]> {
    match def.origin {
        Origin::Builtin(_) | Origin::Declared => None,
        _ => Some(super::declared::PARENT_FIELDS.map(|f| def.position(f).unwrap_or(usize::MAX))),
    }
}

/// Give every declared feature its town, village and grid anew from `d`, as if it had been
/// imported without them. Only the features whose parents change are written, so a layer the
/// change does not reach stays shared with the dataset it came from.
pub fn refill_parents(d: &mut Dataset) {
    let units = Units::new(&d.towns, &d.villages, &d.grids);
    refill_parents_from(&mut d.declared, &units);
}

/// `refill_parents` with the units' index the caller already has (it validates with it next).
/// After any write, not only one to the units: a unit or a feature edited by another program
/// (QGIS, SQL) leaves parent fields that only this mends, and a declaration given `parent`
/// later leaves them empty.
pub fn refill_parents_from(declared: &mut [Shared<DeclaredData>], units: &Units) {
    // (layer, feature, field, value) of every parent field that changes.
    let mut changes: Vec<(usize, usize, usize, Value)> = Vec::new();
    for (l, layer) in declared.iter().enumerate() {
        let fields: Vec<usize> = super::declared::PARENT_FIELDS
            .iter()
            .filter_map(|f| layer.def.position(f))
            .collect();
        if fields.is_empty() {
            continue;
        }
        let positions = parent_positions(layer.def);
        for (n, r) in layer.features.iter().enumerate() {
            let found = positions.and_then(|_| units.parents(layer.def, r));
            for &i in &fields {
                let value = match (positions, &found) {
                    (Some(p), Some(codes)) => p
                        .iter()
                        .position(|&at| at == i)
                        .and_then(|k| codes[k].clone())
                        .map(Value::from)
                        .unwrap_or(Value::Null),
                    _ => Value::Null,
                };
                if r.values.get(i).is_some_and(|v| *v != value) {
                    changes.push((l, n, i, value));
                }
            }
        }
    }
    for (l, n, i, value) in changes {
        declared[l].features[n].values[i] = value;
    }
}

/// A unit's box: (level 0 town, 1 village, 2 grid; position).
type UnitBox = rstar::primitives::GeomWithData<rstar::primitives::Rectangle<[f64; 2]>, (u8, usize)>;

/// Towns, villages and grids, to find which contain a point or prefix a key. Their index (an
/// R-tree of boxes and a set of codes) is built on first use, once for all the layers checked
/// against them: at `--scale 100` it is the largest part of a write's validation.
pub struct Units<'a> {
    towns: &'a [Shared<Town>],
    villages: &'a [Shared<Village>],
    grids: &'a [Shared<Grid>],
    index: OnceCell<UnitIndex<'a>>,
}

struct UnitIndex<'a> {
    boxes: rstar::RTree<UnitBox>,
    codes: HashSet<&'a str>,
}

impl<'a> Units<'a> {
    pub fn new(
        towns: &'a [Shared<Town>],
        villages: &'a [Shared<Village>],
        grids: &'a [Shared<Grid>],
    ) -> Units<'a> {
        Units {
            towns,
            villages,
            grids,
            index: OnceCell::new(),
        }
    }

    pub fn of(d: &'a Dataset) -> Units<'a> {
        Units::new(&d.towns, &d.villages, &d.grids)
    }

    fn index(&self) -> &UnitIndex<'a> {
        self.index.get_or_init(|| {
            let codes = self
                .towns
                .iter()
                .map(|t| t.code.as_str())
                .chain(self.villages.iter().map(|v| v.code.as_str()))
                .chain(self.grids.iter().map(|g| g.code.as_str()))
                .collect();
            let rect = |r: Option<Rect>, level: u8, i: usize| {
                r.map(|r| {
                    rstar::primitives::GeomWithData::new(
                        rstar::primitives::Rectangle::from_corners(
                            [r.min().x, r.min().y],
                            [r.max().x, r.max().y],
                        ),
                        (level, i),
                    )
                })
            };
            let boxes = self
                .towns
                .iter()
                .enumerate()
                .filter_map(|(i, t)| rect(t.geometry.bounding_rect(), 0, i))
                .chain(
                    self.villages
                        .iter()
                        .enumerate()
                        .filter_map(|(i, v)| rect(v.geometry.bounding_rect(), 1, i)),
                )
                .chain(
                    self.grids
                        .iter()
                        .enumerate()
                        .filter_map(|(i, g)| rect(g.geometry.bounding_rect(), 2, i)),
                )
                .collect();
            UnitIndex {
                boxes: rstar::RTree::bulk_load(boxes),
                codes,
            }
        })
    }

    /// The codes of the town, village and grid whose code starts `key`, down to `layer`.
    /// The town, village and grid a feature of `def` takes: by its key's prefix or by where it
    /// stands, as its layer says.
    fn parents(&self, def: &LayerDef, r: &Record) -> Option<[Option<String>; 3]> {
        match def.origin {
            Origin::DeclaredByPrefix(layer) => self.by_prefix(layer, &r.key),
            _ => r.anchor().and_then(|p| self.containing(p)),
        }
    }

    fn by_prefix(&self, layer: super::Layer, key: &str) -> Option<[Option<String>; 3]> {
        use super::Layer::*;
        let len = match layer {
            Towns => 9,
            Villages => 12,
            _ => 15,
        };
        let code = key.get(..len).filter(|c| self.index().codes.contains(c))?;
        Some(match layer {
            Towns => [Some(code.to_string()), None, None],
            Villages => [
                Some(village_town_code(code).to_string()),
                Some(code.to_string()),
                None,
            ],
            _ => {
                let village = grid_village_code(code);
                [
                    Some(village_town_code(village).to_string()),
                    Some(village.to_string()),
                    Some(code.to_string()),
                ]
            }
        })
    }

    /// The codes of the town, village and grid that contain `p`, boundary included (the finest
    /// level found; on a shared edge, the unit with the smallest code, as `/locate` answers).
    fn containing(&self, p: Point) -> Option<[Option<String>; 3]> {
        let code = |level: u8, i: usize| -> &str {
            match level {
                0 => &self.towns[i].code,
                1 => &self.villages[i].code,
                _ => &self.grids[i].code,
            }
        };
        let mut best: Option<(u8, usize)> = None;
        for hit in self.index().boxes.locate_all_at_point([p.x(), p.y()]) {
            let (level, i) = hit.data;
            let better = match best {
                None => true,
                Some((b, j)) => level > b || (level == b && code(level, i) < code(b, j)),
            };
            if !better {
                continue;
            }
            let inside = match level {
                0 => self.towns[i].geometry.intersects(&p),
                1 => self.villages[i].geometry.intersects(&p),
                _ => self.grids[i].geometry.intersects(&p),
            };
            if inside {
                best = Some((level, i));
            }
        }
        let (level, i) = best?;
        Some(match level {
            0 => [Some(self.towns[i].code.clone()), None, None],
            1 => {
                let v = &self.villages[i];
                [Some(v.town_code().to_string()), Some(v.code.clone()), None]
            }
            _ => {
                let g = &self.grids[i];
                let village = g.village_code();
                [
                    Some(village_town_code(village).to_string()),
                    Some(village.to_string()),
                    Some(g.code.clone()),
                ]
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Shared;

    /// `refill_parents` as it was first written: every parent field emptied, then `complete`.
    fn refilled_by_emptying(d: &Dataset) -> Dataset {
        let mut out = d.clone();
        let layers: Vec<DeclaredData> = out.declared.iter().map(|l| (**l).clone()).collect();
        out.declared = layers
            .into_iter()
            .map(|mut layer| {
                for f in super::super::declared::PARENT_FIELDS {
                    if let Some(i) = layer.def.position(f) {
                        for r in &mut layer.features {
                            r.values[i] = Value::Null;
                        }
                    }
                }
                complete(&mut layer, d);
                Shared::new(layer)
            })
            .collect();
        out
    }

    #[test]
    fn refilling_parents_writes_only_what_changes_and_gives_what_emptying_and_completing_gives() {
        let sample = crate::sample::dataset().unwrap();
        // Nothing changed: every layer stays the very one it was.
        let mut same = sample.clone();
        refill_parents(&mut same);
        assert!(
            same.declared
                .iter()
                .zip(&sample.declared)
                .all(|(a, b)| Shared::same(a, b))
        );
        assert_eq!(same, refilled_by_emptying(&sample));
        // A grid gone: what stands in it (by location) or is keyed under it loses its grid;
        // layers it does not reach stay shared.
        let mut moved = sample.clone();
        let before = moved.grids.remove(0).code.clone();
        let expected = refilled_by_emptying(&moved);
        refill_parents(&mut moved);
        assert_eq!(moved, expected);
        let changed: Vec<&str> = moved
            .declared
            .iter()
            .zip(&sample.declared)
            .filter(|(a, b)| !Shared::same(a, b))
            .map(|(a, _)| a.def.name)
            .collect();
        assert!(
            !changed.is_empty() && changed.len() < sample.declared.len(),
            "{changed:?} after {before}"
        );
    }
}
