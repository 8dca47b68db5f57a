//! Reading a layer of someone else's GeoPackage (a bureau's delivery) for `gridmap import`:
//! its features' geometry and attributes, and the system its layer declares. Read only.

use geo::Geometry;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use serde_json::{Map, Value};

/// One feature table of a GeoPackage.
pub struct ForeignLayer {
    pub name: String,
    /// `(organization, organization_coordsys_id)` of the layer's system (`("EPSG", 4549)`).
    pub srs: Option<(String, i64)>,
    /// Each feature's geometry (none when null or unreadable) and other columns.
    pub rows: Vec<(Option<Geometry>, Map<String, Value>)>,
}

/// The feature table `layer` of the GeoPackage at `path`; without `layer`, its only one.
pub fn read_gpkg_layer(
    path: &std::path::Path,
    layer: Option<&str>,
) -> Result<ForeignLayer, String> {
    let fail = |e: rusqlite::Error| format!("{}: {e}", path.display());
    let db = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(fail)?;
    let tables: Vec<String> = db
        .prepare(
            "SELECT table_name FROM gpkg_contents WHERE data_type = 'features' ORDER BY table_name",
        )
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(|e| {
            format!(
                "{} is not a GeoPackage with feature layers: {e}",
                path.display()
            )
        })?;
    let name = match layer {
        Some(l) if tables.iter().any(|t| t == l) => l.to_string(),
        Some(l) => {
            return Err(format!(
                "{} has no feature layer '{l}'; its layers: {}",
                path.display(),
                tables.join(", ")
            ));
        }
        None if tables.len() == 1 => tables[0].clone(),
        None => {
            return Err(format!(
                "{} has {} feature layers ({}); pick one with --source-layer",
                path.display(),
                tables.len(),
                tables.join(", ")
            ));
        }
    };
    let (column, srs_id): (String, i64) = db
        .query_row(
            "SELECT column_name, srs_id FROM gpkg_geometry_columns WHERE table_name = ?1",
            [&name],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(fail)?;
    let srs = db
        .query_row(
            "SELECT organization, organization_coordsys_id FROM gpkg_spatial_ref_sys WHERE srs_id = ?1",
            [srs_id],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
        )
        .ok();
    // The integer primary key (GDAL's fid) is the file's row number, not an attribute.
    let key: Option<String> = db
        .prepare(&format!("PRAGMA table_info({})", quoted(&name)))
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get::<_, String>(1)?, r.get::<_, i64>(5)?)))?
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(fail)?
        .into_iter()
        .find(|(_, pk)| *pk == 1)
        .map(|(n, _)| n);
    let mut statement = db
        .prepare(&format!("SELECT * FROM {}", quoted(&name)))
        .map_err(fail)?;
    let names: Vec<String> = statement
        .column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut rows = Vec::new();
    let mut query = statement.query([]).map_err(fail)?;
    while let Some(row) = query.next().map_err(fail)? {
        let mut properties = Map::new();
        let mut geometry = None;
        for (i, n) in names.iter().enumerate() {
            let value = row.get_ref(i).map_err(fail)?;
            if *n == column {
                if let ValueRef::Blob(b) = value {
                    geometry = super::blob::decode(b);
                }
                continue;
            }
            if key.as_deref() == Some(n.as_str()) {
                continue;
            }
            let v = match value {
                ValueRef::Null | ValueRef::Blob(_) => Value::Null,
                ValueRef::Integer(i) => i.into(),
                ValueRef::Real(f) => f.into(),
                ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned().into(),
            };
            properties.insert(n.clone(), v);
        }
        rows.push((geometry, properties));
    }
    Ok(ForeignLayer { name, srs, rows })
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
