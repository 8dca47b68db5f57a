//! Declared layers in a store, the same for every backend: one row codec (a feature's values
//! as typed cells and back, by its declaration) and one migration rule (which declarations a
//! store's tables were made for, and what a changed file may change). A backend supplies the
//! SQL behind the small `Tables` interface.
//!
//! A store records each declared layer's table shape (geometry, key, fields with their column
//! type, whether required, enumeration values) as JSON with a checksum. Opening a store with a
//! declaration file applies every change that loses nothing and keeps every stored feature valid
//! (a new layer, a new field, a rule made looser, or tighter when no stored feature breaks it:
//! counted first); a layer or field no longer declared is dropped only by `gridmap migrate
//! --allow-drop`; a changed type, key or geometry, or a rule stored features break, is refused
//! with what to do.

use geo::{Geometry, MultiLineString, MultiPolygon};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::declared::{Declarations, checksum, column_type};
use crate::model::records::Record;
use crate::model::schema::{Field, FieldType, GeometryKind, LayerDef};
use crate::{Error, Result};

/// One stored value, as a backend binds or reads it.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Null,
    Text(String),
    Integer(i64),
    Real(f64),
    Bool(bool),
    /// A list of names (a post's services): comma-separated text in the GeoPackage, `text[]`
    /// in PostGIS.
    List(Vec<String>),
}

/// A feature's values as cells, in declaration order (the key first).
pub fn cells(def: &LayerDef, record: &Record) -> Vec<Cell> {
    to_cells(def, &record.values)
}

/// Values (one per declared field, in order) as cells: integers, numbers and booleans typed,
/// lists (a post's services) as lists, the rest as text.
pub fn to_cells(def: &LayerDef, values: &[Value]) -> Vec<Cell> {
    def.fields
        .iter()
        .zip(values)
        .map(|(f, v)| match (f.ty, v) {
            (_, Value::Null) => Cell::Null,
            (FieldType::Integer, Value::Number(n)) => {
                n.as_i64().map(Cell::Integer).unwrap_or(Cell::Null)
            }
            (FieldType::Number, Value::Number(n)) => {
                n.as_f64().map(Cell::Real).unwrap_or(Cell::Null)
            }
            (FieldType::Boolean, Value::Bool(b)) => Cell::Bool(*b),
            (FieldType::EnumList(_), Value::Array(items)) => Cell::List(
                items
                    .iter()
                    .map(|i| {
                        i.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| i.to_string())
                    })
                    .collect(),
            ),
            (_, Value::String(s)) => Cell::Text(s.clone()),
            (_, other) => Cell::Text(other.to_string()),
        })
        .collect()
}

/// A feature from its stored geometry and cells; a cell that does not fit its field (a row
/// another tool wrote) is an error naming the layer, the feature and the field.
pub fn record(def: &LayerDef, geometry: Geometry, cells: Vec<Cell>) -> Result<Record, String> {
    let key = key_of(&cells);
    let values = from_cells(def, &key, cells)?;
    Ok(Record {
        key,
        geometry,
        values,
    })
}

/// A declared feature from what a backend fetched: its geometry (already decoded, `None` when
/// missing or unreadable) and cells. An error names the layer and the feature.
pub fn stored_record(
    def: &LayerDef,
    geometry: Option<Geometry>,
    cells: Vec<Cell>,
) -> Result<Record, String> {
    let geometry = geometry
        .and_then(|g| as_kind(def.geometry, g))
        .ok_or_else(|| {
            format!(
                "{} {}: the geometry is missing or not a {}",
                def.name,
                key_of(&cells),
                def.geometry.geojson_type()
            )
        })?;
    record(def, geometry, cells)
}

/// The key a row's first cell holds, as text (for messages and lookups).
pub fn key_of(cells: &[Cell]) -> String {
    match cells.first() {
        Some(Cell::Text(s)) => s.clone(),
        Some(Cell::Integer(i)) => i.to_string(),
        _ => "(no key)".to_string(),
    }
}

/// Cells read from a store as values of the declared fields' types; `key` names the feature in
/// an error.
pub fn from_cells(def: &LayerDef, key: &str, cells: Vec<Cell>) -> Result<Vec<Value>, String> {
    if !matches!(cells.first(), Some(Cell::Text(_) | Cell::Integer(_))) {
        return Err(format!("{}: a row has no key {}", def.name, def.key));
    }
    let mut values = Vec::with_capacity(cells.len());
    for (f, cell) in def.fields.iter().zip(cells) {
        let value = match (f.ty, cell) {
            (_, Cell::Null) => Value::Null,
            (FieldType::Integer, Cell::Integer(i)) => Value::from(i),
            (FieldType::Integer, Cell::Text(t)) if t.parse::<i64>().is_ok() => {
                Value::from(t.parse::<i64>().unwrap_or_default())
            }
            (FieldType::Number, Cell::Real(x)) => Value::from(x),
            (FieldType::Number, Cell::Integer(i)) => Value::from(i as f64),
            (FieldType::Number, Cell::Text(t)) if t.parse::<f64>().is_ok() => {
                Value::from(t.parse::<f64>().unwrap_or_default())
            }
            (FieldType::Boolean, Cell::Bool(b)) => Value::Bool(b),
            (FieldType::Boolean, Cell::Integer(i)) if i == 0 || i == 1 => Value::Bool(i == 1),
            (FieldType::Boolean, Cell::Text(t)) if t == "true" || t == "false" => {
                Value::Bool(t == "true")
            }
            // A list stored as text (GeoPackage) is comma-separated; each name is checked by
            // the model.
            (FieldType::EnumList(_), Cell::List(items)) => {
                Value::Array(items.into_iter().map(Value::String).collect())
            }
            (FieldType::EnumList(_), Cell::Text(t)) => Value::Array(
                t.split(',')
                    .filter(|s| !s.is_empty())
                    .map(|s| Value::String(s.to_string()))
                    .collect(),
            ),
            (_, Cell::Text(t)) => {
                let v = Value::String(t);
                crate::model::records::typed(f.ty, &v).map_err(|want| {
                    format!(
                        "{} {key}: column {} holds {v}, not {want}",
                        def.name, f.name
                    )
                })?
            }
            (_, other) => {
                return Err(format!(
                    "{} {key}: column {} holds {other:?}, not {}",
                    def.name,
                    f.name,
                    f.ty.name()
                ));
            }
        };
        values.push(value);
    }
    Ok(values)
}

/// A stored geometry as the declaration's kind (a Polygon read as a one-part MultiPolygon).
pub fn as_kind(kind: GeometryKind, g: Geometry) -> Option<Geometry> {
    Some(match (kind, g) {
        (GeometryKind::Point, g @ Geometry::Point(_)) => g,
        (GeometryKind::MultiPolygon, g @ Geometry::MultiPolygon(_)) => g,
        (GeometryKind::MultiPolygon, Geometry::Polygon(p)) => {
            Geometry::MultiPolygon(MultiPolygon(vec![p]))
        }
        (GeometryKind::MultiLineString, g @ Geometry::MultiLineString(_)) => g,
        (GeometryKind::MultiLineString, Geometry::LineString(l)) => {
            Geometry::MultiLineString(MultiLineString(vec![l]))
        }
        _ => return None,
    })
}

/// What a store's table for a declared layer was made for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Shape {
    pub geometry: String,
    pub key: String,
    pub fields: Vec<Column>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    /// `text`, `integer`, `number`, `boolean` or `date` (`column_type`).
    pub column: String,
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
}

impl Shape {
    pub fn of(def: &LayerDef) -> Shape {
        Shape {
            geometry: def.geometry.name().to_string(),
            key: def.key.to_string(),
            fields: def
                .fields
                .iter()
                .map(|f| Column {
                    name: f.name.to_string(),
                    column: column_type(f.ty).to_string(),
                    required: !f.nullable,
                    values: match f.ty {
                        FieldType::Enum(v) => Some(v.iter().map(|s| s.to_string()).collect()),
                        _ => None,
                    },
                })
                .collect(),
        }
    }

    pub fn json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn checksum(&self) -> String {
        checksum(&self.json())
    }

    fn column(&self, name: &str) -> Option<&Column> {
        self.fields.iter().find(|c| c.name == name)
    }
}

/// A declared layer's table as a store records it.
pub struct Registered {
    pub name: String,
    pub shape: Shape,
}

/// The rows of `gridmap_layers` (name, shape as JSON) as registered layers; a shape gridmap
/// cannot read is an unreadable store, named.
pub fn registered(rows: Vec<(String, String)>, store: &str) -> Result<Vec<Registered>> {
    rows.into_iter()
        .map(|(name, shape)| {
            let shape: Shape = serde_json::from_str(&shape).map_err(|e| {
                Error::store_failure(
                    store,
                    crate::StoreFailure::Unreadable,
                    format!("gridmap_layers row {name}: {e}"),
                )
            })?;
            Ok(Registered { name, shape })
        })
        .collect()
}

/// What a backend does for declared layers; `migrate` and the stores' read and write paths
/// call these, each inside the transaction the backend holds.
pub trait Tables {
    /// Every declared layer the store has a table for.
    fn registered(&mut self) -> Result<Vec<Registered>>;
    /// Create the table (typed columns, the key unique and required, a spatial index) and
    /// record `def`'s shape.
    fn create(&mut self, def: &LayerDef) -> Result<()>;
    fn add_column(&mut self, def: &LayerDef, field: &Field) -> Result<()>;
    fn drop_column(&mut self, table: &str, column: &str) -> Result<()>;
    fn drop_table(&mut self, table: &str) -> Result<()>;
    /// Rows whose value of `field` breaks its rule (null when required, outside the values).
    fn violations(&mut self, def: &LayerDef, field: &Field) -> Result<u64>;
    /// (Re)make the checks of required fields and enumerations, and record `def`'s shape.
    fn set_rules(&mut self, def: &LayerDef) -> Result<()>;
    fn read(&mut self, def: &'static LayerDef) -> Result<Vec<Record>>;
    /// Upsert `records` by key; with `replace`, first delete the rows not among them.
    fn write(&mut self, def: &LayerDef, records: &[Record], replace: bool) -> Result<()>;
    /// Delete the rows whose key is among `keys`.
    fn delete(&mut self, def: &LayerDef, keys: &[String]) -> Result<()>;
}

/// Bring a store's declared tables to `decls`; returns one line per change made. A change that
/// could lose data needs `allow_drop`; one that cannot be made in place is refused.
pub fn migrate(
    t: &mut dyn Tables,
    decls: &Declarations,
    allow_drop: bool,
    store: &str,
) -> Result<Vec<String>> {
    let refuse = |message: String| Error::store(store, message);
    let fix = if decls.source == super::super::model::declared::SHIPPED {
        "run `gridmap migrate --allow-drop`".to_string()
    } else {
        format!(
            "run `gridmap migrate --layers {} --allow-drop`",
            decls.source
        )
    };
    let registered = t.registered()?;
    let mut done = Vec::new();
    for r in &registered {
        if decls.get(&r.name).is_none() {
            if !allow_drop {
                return Err(refuse(format!(
                    "the store has declared layer '{}', which {} does not declare; declare it again, or {fix} to drop its table and features",
                    r.name, decls.source
                )));
            }
            t.drop_table(&r.name)?;
            done.push(format!("dropped layer {}", r.name));
        }
    }
    for &def in &decls.layers {
        let want = Shape::of(def);
        let Some(have) = registered.iter().find(|r| r.name == def.name) else {
            t.create(def)?;
            done.push(format!("created layer {}", def.name));
            continue;
        };
        let have = &have.shape;
        if *have == want {
            continue;
        }
        if have.geometry != want.geometry || have.key != want.key {
            return Err(refuse(format!(
                "layer '{}': its geometry or key changed ({} keyed by {} in the store, {} keyed by {} in {}); a table cannot change that in place: remove the layer from the file, {fix}, then declare it anew and import",
                def.name, have.geometry, have.key, want.geometry, want.key, decls.source
            )));
        }
        for old in &have.fields {
            match want.column(&old.name) {
                None if !allow_drop => {
                    return Err(refuse(format!(
                        "layer '{}': field '{}' is no longer declared; declare it again, or {fix} to drop the column and its values",
                        def.name, old.name
                    )));
                }
                None => {
                    t.drop_column(def.name, &old.name)?;
                    done.push(format!("dropped {}.{}", def.name, old.name));
                }
                Some(new) if new.column != old.column => {
                    return Err(refuse(format!(
                        "layer '{}': field '{}' changed type ({} to {}); a column cannot change type in place: add a field under a new name, or remove it, {fix}, and add it again",
                        def.name, old.name, old.column, new.column
                    )));
                }
                Some(_) => {}
            }
        }
        for f in def.fields {
            if have.column(f.name).is_none() {
                t.add_column(def, f)?;
                done.push(format!("added {}.{}", def.name, f.name));
            }
        }
        // Tighter rules (required, fewer values) hold only if the rows already keep them.
        for f in def.fields {
            let old = have.column(f.name);
            let tighter = old.is_some_and(|old| {
                let new = want.column(f.name);
                new.is_some_and(|new| {
                    (new.required && !old.required)
                        || match (&old.values, &new.values) {
                            (Some(o), Some(n)) => o.iter().any(|v| !n.contains(v)),
                            // Free text becoming an enumeration: stored values may be outside it.
                            (None, Some(_)) => true,
                            _ => false,
                        }
                })
            }) || (old.is_none() && !f.nullable);
            if tighter {
                let broken = t.violations(def, f)?;
                if broken > 0 {
                    return Err(refuse(format!(
                        "layer '{}': {broken} stored feature(s) break the new rule of field '{}' ({}); fix or re-import them first, or keep the old rule",
                        def.name,
                        f.name,
                        rule(f)
                    )));
                }
            }
        }
        t.set_rules(def)?;
        done.push(format!("updated the rules of {}", def.name));
    }
    Ok(done)
}

fn rule(f: &Field) -> String {
    match f.ty {
        FieldType::Enum(values) if !f.nullable => {
            format!("required, one of {}", values.join(", "))
        }
        FieldType::Enum(values) => format!("one of {}", values.join(", ")),
        _ => "required".into(),
    }
}

/// The SQL condition under which `column` breaks `f`'s rule, for checks and triggers
/// (`prefix` is `NEW.` in a trigger). Text values are quoted for SQL.
pub fn broken_condition(f: &Field, prefix: &str) -> Option<String> {
    let c = format!("{prefix}\"{}\"", f.name);
    let mut parts = Vec::new();
    if !f.nullable {
        parts.push(format!("{c} IS NULL"));
    }
    if let FieldType::Enum(values) = f.ty {
        let list: Vec<String> = values.iter().map(|v| quote(v)).collect();
        parts.push(format!(
            "({c} IS NOT NULL AND {c} NOT IN ({}))",
            list.join(", ")
        ));
    }
    (!parts.is_empty()).then(|| parts.join(" OR "))
}

/// A SQL string literal (standard-conforming: only the quote is doubled; declaration files
/// cannot hold NUL, which `declared::parse` refuses).
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::declared::Declarations;

    const FILE: &str = r#"
[[layer]]
name = "things"
geometry = "point"
key = "id"
fields = [
  { name = "id", type = "integer" },
  { name = "label", type = "text", required = true },
  { name = "ratio", type = "number" },
  { name = "open", type = "boolean" },
  { name = "since", type = "date" },
  { name = "kind", type = "enum", values = ["a", "b"] },
]
"#;

    #[test]
    fn cells_round_trip_every_type() {
        let def = Declarations::parse(FILE, "t.toml")
            .unwrap()
            .get("things")
            .unwrap();
        let r = Record {
            key: "7".into(),
            geometry: Geometry::Point(geo::Point::new(119.5, 32.0)),
            values: vec![
                Value::from(7),
                Value::from("x"),
                Value::from(0.25),
                Value::Bool(true),
                Value::from("2024-02-29"),
                Value::from("b"),
            ],
        };
        let c = cells(def, &r);
        assert_eq!(c[0], Cell::Integer(7));
        assert_eq!(c[3], Cell::Bool(true));
        assert_eq!(record(def, r.geometry.clone(), c).unwrap(), r);
        // What SQLite and PostgreSQL give back as text reads the same.
        let text = vec![
            Cell::Text("7".into()),
            Cell::Text("x".into()),
            Cell::Text("0.25".into()),
            Cell::Text("true".into()),
            Cell::Text("2024-02-29".into()),
            Cell::Text("b".into()),
        ];
        assert_eq!(record(def, r.geometry.clone(), text).unwrap(), r);
        let bad = vec![
            Cell::Integer(7),
            Cell::Text("x".into()),
            Cell::Null,
            Cell::Null,
            Cell::Null,
            Cell::Text("c".into()),
        ];
        let e = record(def, r.geometry.clone(), bad).unwrap_err();
        assert!(
            e.starts_with("things 7: column kind holds \"c\", not one of a, b"),
            "{e}"
        );
    }

    #[test]
    fn rules_become_sql_conditions() {
        let def = Declarations::parse(FILE, "t.toml")
            .unwrap()
            .get("things")
            .unwrap();
        let label = def.field("label").unwrap();
        assert_eq!(
            broken_condition(label, "NEW.").unwrap(),
            "NEW.\"label\" IS NULL"
        );
        let kind = def.field("kind").unwrap();
        assert_eq!(
            broken_condition(kind, "").unwrap(),
            "(\"kind\" IS NOT NULL AND \"kind\" NOT IN ('a', 'b'))"
        );
        assert!(broken_condition(def.field("ratio").unwrap(), "").is_none());
    }
}
