//! Declared layers in the GeoPackage: each a features table with typed columns (QGIS and
//! `ogrinfo` list them), the key unique and required, an R-tree with GDAL's triggers, and the
//! declaration's rules (required fields, enumeration values) as `BEFORE INSERT/UPDATE`
//! triggers, so an edit in QGIS keeps them too. `gridmap_layers` records each table's shape.

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ToSql, params_from_iter};

use super::blob::{decode, encode};
use super::declared::{
    Cell, Registered, Shape, Tables, broken_condition, cells, quote, stored_record,
};
use super::gpkg_schema::{GEOMETRY_COLUMN, create_rtree, rtree_name, table_exists};
use crate::model::records::Record;
use crate::model::schema::{Field, FieldType, GeometryKind, LayerDef};
use crate::{Error, Result, StoreFailure};

pub struct GpkgTables<'a> {
    pub conn: &'a Connection,
    /// The file, for messages.
    pub path: String,
}

/// The registry, an attributes table of the GeoPackage (so GDAL lists only registered tables,
/// and this one as what it is).
const REGISTRY: &str = "CREATE TABLE IF NOT EXISTS gridmap_layers (
  name TEXT PRIMARY KEY, checksum TEXT NOT NULL, shape TEXT NOT NULL,
  migrated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')));
INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description)
  VALUES ('gridmap_layers', 'attributes', 'gridmap_layers',
          'gridmap: the declared layers and the shape of their tables');";

impl ToSql for Cell {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Cell::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Cell::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Cell::Integer(i) => ToSqlOutput::Owned((*i).into()),
            Cell::Real(x) => ToSqlOutput::Owned((*x).into()),
            Cell::Bool(b) => ToSqlOutput::Owned(i64::from(*b).into()),
            Cell::List(items) => ToSqlOutput::Owned(items.join(",").into()),
        })
    }
}

/// A fetched SQLite value as a cell; `None` for a blob, which no field holds.
pub fn cell(value: ValueRef) -> Option<Cell> {
    Some(match value {
        ValueRef::Null => Cell::Null,
        ValueRef::Integer(n) => Cell::Integer(n),
        ValueRef::Real(x) => Cell::Real(x),
        ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(_) => return None,
    })
}

/// The GeoPackage column type of a field.
fn sql_type(ty: FieldType) -> &'static str {
    match ty {
        FieldType::Integer => "INTEGER",
        FieldType::Number => "REAL",
        FieldType::Boolean => "BOOLEAN",
        FieldType::Date => "DATE",
        _ => "TEXT",
    }
}

fn geometry_type(kind: GeometryKind) -> &'static str {
    match kind {
        GeometryKind::Point => "POINT",
        GeometryKind::MultiLineString => "MULTILINESTRING",
        GeometryKind::MultiPolygon => "MULTIPOLYGON",
    }
}

impl GpkgTables<'_> {
    fn err(&self, e: rusqlite::Error) -> Error {
        super::gpkg::failure(self.path.to_string(), e)
    }

    fn run(&self, sql: &str) -> Result<()> {
        self.conn.execute_batch(sql).map_err(|e| self.err(e))
    }

    fn drop_rules(&self, table: &str) -> Result<()> {
        self.run(&format!(
            "DROP TRIGGER IF EXISTS \"gridmap_rules_{table}_insert\";
             DROP TRIGGER IF EXISTS \"gridmap_rules_{table}_update\";"
        ))
    }
}

impl Tables for GpkgTables<'_> {
    fn registered(&mut self) -> Result<Vec<Registered>> {
        if !table_exists(self.conn, "gridmap_layers").map_err(|e| self.err(e))? {
            return Ok(Vec::new());
        }
        let mut stmt = self
            .conn
            .prepare("SELECT name, shape FROM gridmap_layers ORDER BY name")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))?;
        super::declared::registered(rows, &self.path)
    }

    fn create(&mut self, def: &LayerDef) -> Result<()> {
        let t = def.name;
        let mut columns = vec![
            "fid INTEGER PRIMARY KEY AUTOINCREMENT".to_string(),
            format!("{GEOMETRY_COLUMN} {}", geometry_type(def.geometry)),
        ];
        for (i, f) in def.fields.iter().enumerate() {
            let key = if i == 0 { " NOT NULL UNIQUE" } else { "" };
            columns.push(format!("\"{}\" {}{key}", f.name, sql_type(f.ty)));
        }
        self.run(REGISTRY)?;
        self.run(&format!(
            "CREATE TABLE \"{t}\" ({});
             INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id)
               VALUES ({}, 'features', {}, {}, 4326);
             INSERT INTO gpkg_geometry_columns VALUES ({}, '{GEOMETRY_COLUMN}', '{}', 4326, 0, 0);",
            columns.join(", "),
            quote(t),
            quote(t),
            quote(def.title),
            quote(t),
            geometry_type(def.geometry),
        ))?;
        create_rtree(self.conn, t).map_err(|e| self.err(e))?;
        self.set_rules(def)
    }

    fn add_column(&mut self, def: &LayerDef, field: &Field) -> Result<()> {
        self.run(&format!(
            "ALTER TABLE \"{}\" ADD COLUMN \"{}\" {}",
            def.name,
            field.name,
            sql_type(field.ty)
        ))
    }

    fn drop_column(&mut self, table: &str, column: &str) -> Result<()> {
        // The rules' triggers name the columns; `set_rules` makes them again after.
        self.drop_rules(table)?;
        self.run(&format!("ALTER TABLE \"{table}\" DROP COLUMN \"{column}\""))
    }

    fn drop_table(&mut self, table: &str) -> Result<()> {
        let q = quote(table);
        self.run(&format!(
            "DROP TABLE IF EXISTS \"{table}\";
             DROP TABLE IF EXISTS \"{}\";
             DELETE FROM gpkg_geometry_columns WHERE table_name = {q};
             DELETE FROM gpkg_extensions WHERE table_name = {q};
             DELETE FROM gpkg_contents WHERE table_name = {q};
             DELETE FROM gridmap_layers WHERE name = {q};",
            rtree_name(table)
        ))
    }

    fn violations(&mut self, def: &LayerDef, field: &Field) -> Result<u64> {
        let Some(condition) = broken_condition(field, "") else {
            return Ok(0);
        };
        self.conn
            .query_row(
                &format!("SELECT count(*) FROM \"{}\" WHERE {condition}", def.name),
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(|e| self.err(e))
    }

    fn set_rules(&mut self, def: &LayerDef) -> Result<()> {
        let t = def.name;
        self.drop_rules(t)?;
        let checks: Vec<String> = def
            .fields
            .iter()
            .filter_map(|f| {
                let message = match f.ty {
                    FieldType::Enum(values) => format!(
                        "{t}.{} must be {}one of {}",
                        f.name,
                        if f.nullable { "" } else { "given and " },
                        values.join(", ")
                    ),
                    _ => format!("{t}.{} is required", f.name),
                };
                broken_condition(f, "NEW.")
                    .map(|c| format!("SELECT RAISE(ABORT, {}) WHERE {c};", quote(&message)))
            })
            .collect();
        if !checks.is_empty() {
            for (event, name) in [("INSERT", "insert"), ("UPDATE", "update")] {
                self.run(&format!(
                    "CREATE TRIGGER \"gridmap_rules_{t}_{name}\" BEFORE {event} ON \"{t}\" BEGIN {} END;",
                    checks.join(" ")
                ))?;
            }
        }
        let shape = Shape::of(def);
        self.run(REGISTRY)?;
        self.conn
            .execute(
                "INSERT INTO gridmap_layers (name, checksum, shape) VALUES (?1, ?2, ?3)
                 ON CONFLICT(name) DO UPDATE SET checksum = ?2, shape = ?3,
                   migrated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')",
                [t, &shape.checksum(), &shape.json()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn read(&mut self, def: &'static LayerDef) -> Result<Vec<Record>> {
        let columns: Vec<String> = def
            .fields
            .iter()
            .map(|f| format!("\"{}\"", f.name))
            .collect();
        let sql = format!(
            "SELECT {GEOMETRY_COLUMN}, {} FROM \"{}\" ORDER BY \"{}\"",
            columns.join(", "),
            def.name,
            def.key
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        let unreadable = |m: String| Error::store_failure(&self.path, StoreFailure::Unreadable, m);
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            let mut values = Vec::with_capacity(def.fields.len());
            for i in 0..def.fields.len() {
                let value = row.get_ref(i + 1).map_err(|e| self.err(e))?;
                values.push(cell(value).ok_or_else(|| {
                    unreadable(format!(
                        "{}: column {} holds a blob",
                        def.name, def.fields[i].name
                    ))
                })?);
            }
            let blob: Option<Vec<u8>> = row.get(0).map_err(|e| self.err(e))?;
            let geometry = blob.as_deref().and_then(decode);
            out.push(stored_record(def, geometry, values).map_err(unreadable)?);
        }
        out.sort_by(crate::model::record_order);
        Ok(out)
    }

    fn write(&mut self, def: &LayerDef, records: &[Record], replace: bool) -> Result<()> {
        let t = def.name;
        if replace {
            self.run(&format!("DELETE FROM \"{t}\""))?;
        }
        let names: Vec<String> = def
            .fields
            .iter()
            .map(|f| format!("\"{}\"", f.name))
            .collect();
        let marks: Vec<String> = (2..=def.fields.len() + 1)
            .map(|i| format!("?{i}"))
            .collect();
        let set: Vec<String> = names
            .iter()
            .zip(&marks)
            .skip(1)
            .map(|(n, m)| format!("{n} = {m}"))
            .collect();
        let sql = format!(
            "INSERT INTO \"{t}\" ({GEOMETRY_COLUMN}, {}) VALUES (?1, {})
             ON CONFLICT({}) DO UPDATE SET {GEOMETRY_COLUMN} = ?1{}{}",
            names.join(", "),
            marks.join(", "),
            names[0],
            if set.is_empty() { "" } else { ", " },
            set.join(", ")
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        for r in records {
            let blob = encode(&r.geometry).map_err(|e| self.err(e))?;
            let mut params: Vec<Box<dyn ToSql>> = vec![Box::new(blob)];
            params.extend(
                cells(def, r)
                    .into_iter()
                    .map(|c| Box::new(c) as Box<dyn ToSql>),
            );
            stmt.execute(params_from_iter(params.iter()))
                .map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    fn delete(&mut self, def: &LayerDef, keys: &[String]) -> Result<()> {
        // A key column of INTEGER affinity compares numerically with a text parameter.
        let sql = format!("DELETE FROM \"{}\" WHERE \"{}\" = ?1", def.name, def.key);
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        for key in keys {
            stmt.execute([key]).map_err(|e| self.err(e))?;
        }
        Ok(())
    }
}
