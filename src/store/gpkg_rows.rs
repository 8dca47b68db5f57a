//! Rows of the GeoPackage's built-in layer tables: binding and fetching the cells of
//! `store::rows` (the conversion both stores share). A layer keyed by id keeps it in `fid`, the
//! GeoPackage feature id; lists are comma-separated text.

use std::collections::HashSet;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, ToSql, params_from_iter};

use super::Progress;
use super::blob::{decode, encode};
use super::gpkg_schema::has_column;
use super::gpkg_tables::cell;
use super::rows::{Row, StoredGeometry, feature, row, stored_geometry};
use crate::model::{Dataset, Layer, LayerData};

fn bad(column: usize, what: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        column,
        rusqlite::types::Type::Blob,
        what.to_string().into(),
    )
}

/// The column holding a declared field: the key of a layer keyed by id is the table's `fid`.
fn column(layer: Layer, field: &str) -> &str {
    let def = layer.def();
    if field == def.key && def.keyed_by_id() {
        "fid"
    } else {
        field
    }
}

/// The column holding a built-in layer's key: `code`, or `fid` for a layer keyed by id.
pub fn key_column(layer: Layer) -> &'static str {
    column(layer, layer.def().key)
}

/// One built-in layer, ordered by key; with `keys`, only the features with those keys (code, or
/// id as text).
pub fn read_layer(
    conn: &Connection,
    layer: Layer,
    keys: Option<&HashSet<String>>,
) -> rusqlite::Result<LayerData> {
    let def = layer.def();
    let stored = stored_geometry(layer);
    let geom = if stored == StoredGeometry::Derived {
        "NULL"
    } else {
        "geom"
    };
    // A file not yet upgraded has no `geom_derived`: every point there is the member's own.
    let derived =
        if stored == StoredGeometry::OwnPoint && has_column(conn, layer.name(), "geom_derived")? {
            "geom_derived"
        } else {
            "0"
        };
    // A field added since the file was written (not yet upgraded) reads as null.
    let mut columns: Vec<&str> = Vec::with_capacity(def.fields.len());
    for f in def.fields {
        let c = column(layer, f.name);
        columns.push(if c == "fid" || has_column(conn, layer.name(), c)? {
            c
        } else {
            "NULL"
        });
    }
    let key = key_column(layer);
    // The keys as one JSON array (ids as numbers, to compare with the integer `fid`).
    let wanted = keys.map(|keys| {
        let list: Vec<serde_json::Value> = if def.keyed_by_id() {
            keys.iter()
                .filter_map(|k| k.parse::<i64>().ok())
                .map(serde_json::Value::from)
                .collect()
        } else {
            keys.iter()
                .map(|k| serde_json::Value::from(k.as_str()))
                .collect()
        };
        serde_json::Value::Array(list).to_string()
    });
    let filter = if wanted.is_some() {
        format!("WHERE {key} IN (SELECT value FROM json_each(?1))")
    } else {
        String::new()
    };
    let sql = format!(
        "SELECT {geom}, {derived}, {} FROM {layer} {filter} ORDER BY {key}",
        columns.join(", "),
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = match &wanted {
        Some(json) => stmt.query([json])?,
        None => stmt.query([])?,
    };
    let mut out = LayerData::empty(layer);
    while let Some(r) = rows.next()? {
        let mut cells = Vec::with_capacity(columns.len());
        for i in 0..columns.len() {
            cells.push(
                cell(r.get_ref(i + 2)?)
                    .ok_or_else(|| bad(i + 2, "a blob where a value belongs"))?,
            );
        }
        // A derived point is gridmap's copy of what `model::derive` computes, kept for other
        // tools; the model holds only a location of the feature's own.
        let own = !r.get::<_, bool>(1)?;
        let geometry = match r.get_ref(0)? {
            ValueRef::Blob(b) if own => {
                Some(decode(b).ok_or_else(|| bad(0, "not a GeoPackage geometry blob"))?)
            }
            _ => None,
        };
        out.extend(feature(layer, geometry, cells).map_err(|e| bad(0, &e))?);
    }
    Ok(out)
}

/// Every built-in layer.
pub fn read_dataset(conn: &Connection) -> rusqlite::Result<Dataset> {
    let mut d = Dataset::default();
    for layer in Layer::ALL {
        d.apply(read_layer(conn, layer, None)?, true);
    }
    Ok(d)
}

/// Report progress every this many rows.
const PROGRESS_EVERY: usize = 1_000;

/// Upsert (or, with `replace`, delete and insert) one layer's rows. The caller owns the transaction.
///
/// Upserts are `ON CONFLICT DO UPDATE`, never `INSERT OR REPLACE`: a REPLACE deletes the old row
/// without firing delete triggers, which would leave the R-tree entry of a row whose new
/// geometry is NULL behind (and GDAL's update7 trigger then fails on the duplicate id). An
/// alliance's footprint and a member's derived point are written by `write_derived` after this.
pub fn write_rows(
    conn: &Connection,
    data: &LayerData,
    replace: bool,
    progress: Progress,
) -> rusqlite::Result<()> {
    let layer = data.layer();
    let def = layer.def();
    if replace {
        conn.execute(&format!("DELETE FROM {layer}"), [])?;
    }
    let stored = stored_geometry(layer);
    let mut columns: Vec<&str> = Vec::new();
    if stored != StoredGeometry::Derived {
        columns.push("geom");
    }
    columns.extend(def.fields.iter().map(|f| column(layer, f.name)));
    if stored == StoredGeometry::OwnPoint {
        columns.push("geom_derived");
    }
    let key = column(layer, def.key);
    let marks: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
    let set: Vec<String> = columns
        .iter()
        .zip(&marks)
        .filter(|(c, _)| **c != key)
        .map(|(c, m)| format!("{c} = {m}"))
        .collect();
    let mut stmt = conn.prepare(&format!(
        "INSERT INTO {layer} ({}) VALUES ({}) ON CONFLICT({key}) DO UPDATE SET {}",
        columns.join(", "),
        marks.join(", "),
        set.join(", ")
    ))?;
    let total = data.len();
    for i in 0..total {
        let Row { geometry, cells } = row(data, i);
        let mut params: Vec<Box<dyn ToSql>> = Vec::with_capacity(columns.len());
        if stored != StoredGeometry::Derived {
            params.push(Box::new(geometry.map(|g| encode(&g)).transpose()?));
        }
        params.extend(cells.into_iter().map(|c| Box::new(c) as Box<dyn ToSql>));
        if stored == StoredGeometry::OwnPoint {
            params.push(Box::new(false));
        }
        stmt.execute(params_from_iter(params.iter()))?;
        if (i + 1).is_multiple_of(PROGRESS_EVERY) || i + 1 == total {
            progress(i + 1, total);
        }
    }
    Ok(())
}
