//! The GeoPackage's change log, `gridmap_changes`: row triggers on every layer table append the
//! layer and key of each feature inserted, updated or deleted, whoever writes (gridmap, another
//! gridmap process, QGIS or GDAL), so a server following the file re-reads only what changed.
//! A declared layer's entries carry no key: the layer is re-read whole, as on PostGIS.
//!
//! A catch-up trusts the log only when every table has its triggers and the schema is the one it
//! saw last (SQLite's `schema_version` moves with any table or trigger made or dropped, say by
//! `ogr2ogr -overwrite`); otherwise it reads the whole file, as before the log existed.

use std::collections::HashSet;

use rusqlite::Connection;

use super::changes::Changes;
use super::gpkg_rows::key_column;
use super::gpkg_schema::table_exists;
use crate::model::Layer;
use crate::model::declared::Declarations;

const LOG: &str = "CREATE TABLE IF NOT EXISTS gridmap_changes (
  id INTEGER PRIMARY KEY AUTOINCREMENT, layer TEXT NOT NULL, key TEXT);";

/// Entries kept: a server further behind than `changes::PATCH_LIMIT` reads everything anyway.
const KEEP: i64 = 50_000;

/// A table whose changes are logged: its name and its key column (`None`: a declared layer,
/// logged without keys).
pub type Logged<'a> = (&'a str, Option<&'a str>);

/// The tables whose changes are logged: every built-in layer, and every declared one of `layers`
/// the file has a table for.
pub fn tables(
    conn: &Connection,
    layers: &'static Declarations,
) -> rusqlite::Result<Vec<Logged<'static>>> {
    let mut tables: Vec<Logged> = Layer::ALL
        .iter()
        .map(|l| (l.name(), Some(key_column(*l))))
        .collect();
    for def in &layers.layers {
        if table_exists(conn, def.name)? {
            tables.push((def.name, None));
        }
    }
    Ok(tables)
}

fn trigger_names(table: &str) -> [String; 3] {
    ["insert", "update", "delete"].map(|event| format!("gridmap_log_{table}_{event}"))
}

/// The log and the triggers of `tables`, each only when missing (a current file is not written
/// to). Returns whether anything was added. The caller owns the transaction.
pub fn install(conn: &Connection, tables: &[Logged]) -> rusqlite::Result<bool> {
    let mut changed = false;
    if !table_exists(conn, "gridmap_changes")? {
        conn.execute_batch(LOG)?;
        changed = true;
    }
    let present = triggers(conn)?;
    for &(table, key) in tables {
        let [insert, update, delete] = trigger_names(table);
        if [&insert, &update, &delete]
            .iter()
            .all(|n| present.contains(*n))
        {
            continue;
        }
        let quoted = super::declared::quote(table);
        let (new, old) = match key {
            Some(k) => (format!("NEW.\"{k}\""), format!("OLD.\"{k}\"")),
            None => ("NULL".to_string(), "NULL".to_string()),
        };
        conn.execute_batch(&format!(
            r#"
DROP TRIGGER IF EXISTS "{insert}";
DROP TRIGGER IF EXISTS "{update}";
DROP TRIGGER IF EXISTS "{delete}";
CREATE TRIGGER "{insert}" AFTER INSERT ON "{table}" BEGIN INSERT INTO gridmap_changes (layer, key) VALUES ({quoted}, {new}); END;
CREATE TRIGGER "{update}" AFTER UPDATE ON "{table}" BEGIN INSERT INTO gridmap_changes (layer, key) VALUES ({quoted}, {old}), ({quoted}, {new}); END;
CREATE TRIGGER "{delete}" AFTER DELETE ON "{table}" BEGIN INSERT INTO gridmap_changes (layer, key) VALUES ({quoted}, {old}); END;
"#
        ))?;
        changed = true;
    }
    Ok(changed)
}

/// The names of the log's triggers in the file.
fn triggers(conn: &Connection) -> rusqlite::Result<HashSet<String>> {
    let mut stmt = conn.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'gridmap_log_%'",
    )?;
    stmt.query_map([], |r| r.get(0))?.collect()
}

/// Drop the oldest entries beyond `KEEP`. The caller owns the transaction.
pub fn prune(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM gridmap_changes WHERE id <= (SELECT max(id) FROM gridmap_changes) - ?1",
        [KEEP],
    )
    .map(|_| ())
}

/// Where the log stood when a dataset was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark {
    /// The latest entry's id (0 when none).
    change_id: i64,
    /// SQLite's `schema_version` then.
    schema_version: i64,
}

/// Where the log stands, read in the caller's transaction; `None` for a file without a log
/// (written by an earlier gridmap and not written since).
pub fn mark(conn: &Connection) -> rusqlite::Result<Option<Mark>> {
    if !table_exists(conn, "gridmap_changes")? {
        return Ok(None);
    }
    let change_id = conn.query_row(
        "SELECT coalesce(max(id), 0) FROM gridmap_changes",
        [],
        |r| r.get(0),
    )?;
    let schema_version = conn.query_row("PRAGMA schema_version", [], |r| r.get(0))?;
    Ok(Some(Mark {
        change_id,
        schema_version,
    }))
}

/// What changed between `from` and `now` (both read from this file, `now` in the caller's
/// transaction); `None` when the log cannot say and everything must be read: the schema moved,
/// a table of `tables` lacks its triggers, entries after `from` were pruned, or more changed
/// than `changes::PATCH_LIMIT`.
pub fn since(
    conn: &Connection,
    from: Mark,
    now: Mark,
    tables: &[Logged],
    declared: impl Fn(&str) -> bool,
) -> rusqlite::Result<Option<Changes>> {
    if from.schema_version != now.schema_version || now.change_id < from.change_id {
        return Ok(None);
    }
    let present = triggers(conn)?;
    if tables
        .iter()
        .flat_map(|(t, _)| trigger_names(t))
        .any(|n| !present.contains(&n))
    {
        return Ok(None);
    }
    let mut changes = Changes::default();
    if now.change_id == from.change_id {
        return Ok(Some(changes));
    }
    let first: i64 = conn.query_row("SELECT min(id) FROM gridmap_changes", [], |r| r.get(0))?;
    if first > from.change_id + 1 {
        return Ok(None);
    }
    let mut stmt = conn
        .prepare("SELECT layer, key FROM gridmap_changes WHERE id > ?1 AND id <= ?2 ORDER BY id")?;
    let mut rows = stmt.query([from.change_id, now.change_id])?;
    while let Some(r) = rows.next()? {
        let name: String = r.get(0)?;
        let key: Option<String> = r.get(1)?;
        match (Layer::parse(&name), key) {
            (Some(layer), Some(key)) => {
                if !changes.add_keys(layer, [key]) {
                    return Ok(None);
                }
            }
            (None, _) if declared(&name) => changes.add_declared(name),
            // A built-in row without a key, or a table this server does not know.
            _ => return Ok(None),
        }
    }
    Ok(Some(changes))
}
