//! Declared layers in PostGIS: each a table with typed columns, the key as primary key, a GiST
//! index, `NOT NULL` on required fields and a `CHECK` per enumeration, and the change-log
//! triggers every layer has, so other servers follow writes to it. `gridmap_layers` records
//! each table's shape (`store::declared`).

use postgres::Transaction;

use super::PostGis;
use crate::model::records::Record;
use crate::model::schema::{Field, FieldType, GeometryKind, LayerDef};
use crate::store::declared::{
    Cell, Registered, Shape, Tables, broken_condition, cells, quote, stored_record,
};
use crate::{Error, Result, StoreFailure};

/// Rows sent in one `INSERT` (as arrays) when a declared layer is written.
const WRITE_BATCH: usize = 5_000;

pub struct PgTables<'a, 'b> {
    pub tx: &'a mut Transaction<'b>,
    pub store: &'a PostGis,
}

const REGISTRY: &str = "CREATE TABLE IF NOT EXISTS gridmap_layers (
  name text PRIMARY KEY, checksum text NOT NULL, shape text NOT NULL,
  migrated_at timestamptz NOT NULL DEFAULT now())";

fn sql_type(ty: FieldType) -> &'static str {
    match ty {
        FieldType::Integer => "bigint",
        FieldType::Number => "double precision",
        FieldType::Boolean => "boolean",
        FieldType::Date => "date",
        _ => "text",
    }
}

fn geometry_type(kind: GeometryKind) -> &'static str {
    match kind {
        GeometryKind::Point => "Point",
        GeometryKind::MultiLineString => "MultiLineString",
        GeometryKind::MultiPolygon => "MultiPolygon",
    }
}

/// A cell as the text PostgreSQL casts to the column's type.
fn text(cell: Cell) -> Option<String> {
    match cell {
        Cell::Null => None,
        Cell::Text(s) => Some(s),
        Cell::Integer(i) => Some(i.to_string()),
        Cell::Real(x) => Some(x.to_string()),
        Cell::Bool(b) => Some(b.to_string()),
        Cell::List(items) => Some(format!("{{{}}}", items.join(","))),
    }
}

impl PgTables<'_, '_> {
    fn run(&mut self, sql: &str) -> Result<()> {
        self.tx.batch_execute(sql).map_err(|e| self.store.db_err(e))
    }
}

impl Tables for PgTables<'_, '_> {
    fn registered(&mut self) -> Result<Vec<Registered>> {
        let db = |e| self.store.db_err(e);
        let exists: bool = self
            .tx
            .query_one("SELECT to_regclass('gridmap_layers') IS NOT NULL", &[])
            .map_err(db)?
            .get(0);
        if !exists {
            return Ok(Vec::new());
        }
        let rows = self
            .tx
            .query("SELECT name, shape FROM gridmap_layers ORDER BY name", &[])
            .map_err(db)?;
        let rows = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        crate::store::declared::registered(rows, &self.store.location)
    }

    fn create(&mut self, def: &LayerDef) -> Result<()> {
        let t = def.name;
        let mut columns = Vec::new();
        for (i, f) in def.fields.iter().enumerate() {
            let key = if i == 0 { " PRIMARY KEY" } else { "" };
            columns.push(format!("\"{}\" {}{key}", f.name, sql_type(f.ty)));
        }
        columns.push(format!(
            "geom geometry({}, 4326) NOT NULL",
            geometry_type(def.geometry)
        ));
        let mut comments = format!("COMMENT ON TABLE \"{t}\" IS {};", quote(def.title));
        for f in def.fields {
            comments.push_str(&format!(
                "COMMENT ON COLUMN \"{t}\".\"{}\" IS {};",
                f.name,
                quote(f.description)
            ));
        }
        let key = quote(def.key);
        self.run(REGISTRY)?;
        self.run(&format!(
            "CREATE TABLE \"{t}\" ({});
             CREATE INDEX \"{t}_geom_idx\" ON \"{t}\" USING gist (geom);
             {comments}
             CREATE TRIGGER \"{t}_log_insert\" AFTER INSERT ON \"{t}\" REFERENCING NEW TABLE AS new_rows
               FOR EACH STATEMENT EXECUTE FUNCTION gridmap_log_changes({key});
             CREATE TRIGGER \"{t}_log_update\" AFTER UPDATE ON \"{t}\" REFERENCING OLD TABLE AS old_rows
               NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION gridmap_log_changes({key});
             CREATE TRIGGER \"{t}_log_delete\" AFTER DELETE ON \"{t}\" REFERENCING OLD TABLE AS old_rows
               FOR EACH STATEMENT EXECUTE FUNCTION gridmap_log_changes({key});
             CREATE TRIGGER \"{t}_log_truncate\" AFTER TRUNCATE ON \"{t}\"
               FOR EACH STATEMENT EXECUTE FUNCTION gridmap_log_changes({key});
             ALTER TABLE \"{t}\" ENABLE ALWAYS TRIGGER \"{t}_log_insert\",
               ENABLE ALWAYS TRIGGER \"{t}_log_update\", ENABLE ALWAYS TRIGGER \"{t}_log_delete\",
               ENABLE ALWAYS TRIGGER \"{t}_log_truncate\";",
            columns.join(", ")
        ))?;
        self.set_rules(def)
    }

    fn add_column(&mut self, def: &LayerDef, field: &Field) -> Result<()> {
        self.run(&format!(
            "ALTER TABLE \"{}\" ADD COLUMN \"{}\" {}; COMMENT ON COLUMN \"{}\".\"{}\" IS {};",
            def.name,
            field.name,
            sql_type(field.ty),
            def.name,
            field.name,
            quote(field.description)
        ))
    }

    fn drop_column(&mut self, table: &str, column: &str) -> Result<()> {
        self.run(&format!("ALTER TABLE \"{table}\" DROP COLUMN \"{column}\""))
    }

    fn drop_table(&mut self, table: &str) -> Result<()> {
        self.run(&format!(
            "DROP TABLE IF EXISTS \"{table}\"; DELETE FROM gridmap_layers WHERE name = {};",
            quote(table)
        ))
    }

    fn violations(&mut self, def: &LayerDef, field: &Field) -> Result<u64> {
        let Some(condition) = broken_condition(field, "") else {
            return Ok(0);
        };
        let n: i64 = self
            .tx
            .query_one(
                &format!("SELECT count(*) FROM \"{}\" WHERE {condition}", def.name),
                &[],
            )
            .map_err(|e| self.store.db_err(e))?
            .get(0);
        Ok(n as u64)
    }

    fn set_rules(&mut self, def: &LayerDef) -> Result<()> {
        let t = def.name;
        let old: Vec<String> = self
            .tx
            .query(
                "SELECT conname::text FROM pg_constraint
                 WHERE conrelid = to_regclass($1) AND contype = 'c' AND conname LIKE 'gridmap_values_%'",
                &[&format!("\"{t}\"")],
            )
            .map_err(|e| self.store.db_err(e))?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let mut sql = String::new();
        for name in old {
            sql.push_str(&format!("ALTER TABLE \"{t}\" DROP CONSTRAINT \"{name}\";"));
        }
        for f in def.fields.iter().skip(1) {
            let null = if f.nullable { "DROP" } else { "SET" };
            sql.push_str(&format!(
                "ALTER TABLE \"{t}\" ALTER COLUMN \"{}\" {null} NOT NULL;",
                f.name
            ));
            if let FieldType::Enum(values) = f.ty {
                let list: Vec<String> = values.iter().map(|v| quote(v)).collect();
                sql.push_str(&format!(
                    "ALTER TABLE \"{t}\" ADD CONSTRAINT \"gridmap_values_{}\" CHECK (\"{}\" IN ({}));",
                    f.name,
                    f.name,
                    list.join(", ")
                ));
            }
        }
        self.run(&sql)?;
        let shape = Shape::of(def);
        self.run(REGISTRY)?;
        self.tx
            .execute(
                "INSERT INTO gridmap_layers (name, checksum, shape) VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO UPDATE SET checksum = $2, shape = $3, migrated_at = now()",
                &[&t, &shape.checksum(), &shape.json()],
            )
            .map_err(|e| self.store.db_err(e))?;
        Ok(())
    }

    fn read(&mut self, def: &'static LayerDef) -> Result<Vec<Record>> {
        let columns: Vec<String> = def
            .fields
            .iter()
            .map(|f| match f.ty {
                FieldType::Date => format!("to_char(\"{}\", 'YYYY-MM-DD')", f.name),
                _ => format!("\"{}\"::text", f.name),
            })
            .collect();
        let order = if def.keyed_by_id() {
            format!("\"{}\"", def.key)
        } else {
            format!("\"{}\" COLLATE \"C\"", def.key)
        };
        let rows = self
            .tx
            .query(
                &format!(
                    "SELECT ST_AsBinary(geom), {} FROM \"{}\" ORDER BY {order}",
                    columns.join(", "),
                    def.name
                ),
                &[],
            )
            .map_err(|e| self.store.db_err(e))?;
        let unreadable =
            |m: String| Error::store_failure(&self.store.location, StoreFailure::Unreadable, m);
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let values: Vec<Cell> = (0..def.fields.len())
                .map(|i| match r.get::<_, Option<String>>(i + 1) {
                    Some(s) => Cell::Text(s),
                    None => Cell::Null,
                })
                .collect();
            let bytes: Vec<u8> = r.get(0);
            use geo_traits::to_geo::ToGeoGeometry;
            let geometry = wkb::reader::read_wkb(&bytes).ok().map(|g| g.to_geometry());
            out.push(stored_record(def, geometry, values).map_err(unreadable)?);
        }
        out.sort_by(crate::model::record_order);
        Ok(out)
    }

    fn delete(&mut self, def: &LayerDef, keys: &[String]) -> Result<()> {
        self.tx
            .execute(
                &format!(
                    "DELETE FROM \"{}\" WHERE \"{}\"::text = ANY($1::text[])",
                    def.name, def.key
                ),
                &[&keys],
            )
            .map_err(|e| self.store.db_err(e))?;
        Ok(())
    }

    fn write(&mut self, def: &LayerDef, records: &[Record], replace: bool) -> Result<()> {
        let t = def.name;
        let db = |e| self.store.db_err(e);
        if replace {
            let keys: Vec<&str> = records.iter().map(|r| r.key.as_str()).collect();
            self.tx
                .execute(
                    &format!(
                        "DELETE FROM \"{t}\" WHERE NOT (\"{}\"::text = ANY($1::text[]))",
                        def.key
                    ),
                    &[&keys],
                )
                .map_err(db)?;
        }
        let names: Vec<String> = def
            .fields
            .iter()
            .map(|f| format!("\"{}\"", f.name))
            .collect();
        // Rows go in batches, each field as one text array (`unnest`): one round trip and one
        // firing of the statement-level change-log triggers per batch, not per row. Keys are
        // unique in `records` (`records::complete` checks), as one upsert cannot touch a row twice.
        let values: Vec<String> = def
            .fields
            .iter()
            .enumerate()
            .map(|(i, f)| format!("u.c{i}::{}", sql_type(f.ty)))
            .collect();
        let arrays: Vec<String> = (0..def.fields.len())
            .map(|i| format!("${}::text[]", i + 2))
            .collect();
        let columns: Vec<String> = (0..def.fields.len()).map(|i| format!("c{i}")).collect();
        let others: Vec<&String> = names.iter().skip(1).collect();
        let set: Vec<String> = others
            .iter()
            .map(|c| format!("{c} = EXCLUDED.{c}"))
            .collect();
        let old: Vec<String> = others.iter().map(|c| format!("x.{c}")).collect();
        let new: Vec<String> = others.iter().map(|c| format!("EXCLUDED.{c}")).collect();
        let sql = format!(
            "INSERT INTO \"{t}\" AS x (geom, {})
             SELECT ST_GeomFromWKB(u.g, 4326), {} FROM unnest($1::bytea[], {}) AS u(g, {})
             ON CONFLICT ({}) DO UPDATE SET geom = EXCLUDED.geom{}{}
             WHERE (ST_AsBinary(x.geom){}{}) IS DISTINCT FROM (ST_AsBinary(EXCLUDED.geom){}{})",
            names.join(", "),
            values.join(", "),
            arrays.join(", "),
            columns.join(", "),
            names[0],
            if set.is_empty() { "" } else { ", " },
            set.join(", "),
            if old.is_empty() { "" } else { ", " },
            old.join(", "),
            if new.is_empty() { "" } else { ", " },
            new.join(", "),
        );
        let stmt = self.tx.prepare(&sql).map_err(db)?;
        let options = wkb::writer::WriteOptions {
            endianness: wkb::Endianness::LittleEndian,
        };
        for batch in records.chunks(WRITE_BATCH) {
            let mut wkbs: Vec<Vec<u8>> = Vec::with_capacity(batch.len());
            let mut texts: Vec<Vec<Option<String>>> =
                vec![Vec::with_capacity(batch.len()); def.fields.len()];
            for r in batch {
                let mut wkb = Vec::with_capacity(128);
                wkb::writer::write_geometry(&mut wkb, &r.geometry, &options).map_err(|e| {
                    Error::store(
                        &self.store.location,
                        format!("{t} {}: geometry as WKB: {e}", r.key),
                    )
                })?;
                wkbs.push(wkb);
                for (column, cell) in texts.iter_mut().zip(cells(def, r)) {
                    column.push(text(cell));
                }
            }
            let mut params: Vec<&(dyn postgres::types::ToSql + Sync)> = vec![&wkbs];
            params.extend(
                texts
                    .iter()
                    .map(|c| c as &(dyn postgres::types::ToSql + Sync)),
            );
            self.tx.execute(&stmt, &params).map_err(db)?;
        }
        Ok(())
    }
}
