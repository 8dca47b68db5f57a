//! The stores' schemas agree with the layer declarations (`model::schema`): every declared field
//! is a column of its layer's table in every PostGIS migration applied in order and in a
//! GeoPackage gridmap wrote, and every other column is one the store keeps for itself.

use std::collections::{BTreeMap, BTreeSet};

use gridmap::model::Layer;

/// Columns a store keeps besides the declared fields: the geometry, PostGIS's change time, the
/// flag marking a derived member point, and the GeoPackage feature id.
const STORE_COLUMNS: &[&str] = &["geom", "updated_at", "geom_derived", "fid"];

/// The declared fields as columns: a layer keyed by id keeps the key as `key_column`.
fn declared(layer: Layer, key_column: &str) -> BTreeSet<String> {
    let def = layer.def();
    def.fields
        .iter()
        .map(|f| {
            if f.name == def.key && def.keyed_by_id() {
                key_column.to_string()
            } else {
                f.name.to_string()
            }
        })
        .collect()
}

/// The columns that hold declared fields: all but the store's own (the id column is a field's
/// when the layer is keyed by id).
fn ours(layer: Layer, columns: BTreeSet<String>, key_column: &str) -> BTreeSet<String> {
    let by_id = layer.def().keyed_by_id();
    columns
        .into_iter()
        .filter(|c| (by_id && c == key_column) || !STORE_COLUMNS.contains(&c.as_str()))
        .collect()
}

/// Each table's columns after applying migrations/*.sql in order (CREATE TABLE, then ALTER
/// TABLE ... ADD COLUMN), read from the SQL text.
fn postgis_columns() -> BTreeMap<String, BTreeSet<String>> {
    let dir = crate::common::repo().join("migrations");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    let mut tables: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let sql = std::fs::read_to_string(&file).unwrap();
        let mut current: Option<String> = None;
        for line in sql.lines().map(str::trim) {
            let words: Vec<&str> = line.split_whitespace().collect();
            match (&current, words.as_slice()) {
                (None, ["CREATE", "TABLE", name, "(", ..]) => current = Some(name.to_string()),
                (None, ["ALTER", "TABLE", name, "ADD", "COLUMN", column, ..]) => {
                    tables
                        .entry(name.to_string())
                        .or_default()
                        .insert(column.to_string());
                }
                (Some(_), [")" | ");", ..]) => current = None,
                (Some(table), [column, ..])
                    if !["CONSTRAINT", "PRIMARY", "UNIQUE", "--"].contains(column)
                        && !column.starts_with("--")
                        && column.chars().all(|c| c.is_ascii_lowercase() || c == '_') =>
                {
                    tables
                        .entry(table.clone())
                        .or_default()
                        .insert(column.to_string());
                }
                _ => {}
            }
        }
    }
    tables
}

#[test]
fn every_postgis_migration_stores_exactly_the_declared_fields() {
    let tables = postgis_columns();
    for layer in Layer::ALL {
        let columns = tables
            .get(layer.name())
            .unwrap_or_else(|| panic!("no CREATE TABLE {} in migrations/", layer.name()));
        assert!(columns.contains("geom"), "{layer}: {columns:?}");
        assert_eq!(
            ours(layer, columns.clone(), "id"),
            declared(layer, "id"),
            "{layer}: migrations/ against model::schema"
        );
    }
}

#[tokio::test]
async fn the_geopackage_stores_exactly_the_declared_fields() {
    // A file gridmap created and loaded the sample into (so every upgrade has run).
    let (dir, _state) = crate::common::sample_state();
    let conn = rusqlite::Connection::open(dir.path().join("gridmap.gpkg")).unwrap();
    for layer in Layer::ALL {
        let mut stmt = conn
            .prepare(&format!("SELECT name FROM pragma_table_info('{layer}')"))
            .unwrap();
        let columns: BTreeSet<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(columns.contains("geom"), "{layer}: {columns:?}");
        assert_eq!(
            ours(layer, columns, "fid"),
            declared(layer, "fid"),
            "{layer}: the GeoPackage against model::schema"
        );
    }
}

/// A post's services read the same from either store: sorted, without repeats, and a name no
/// declaration knows is an error naming it (not silently dropped). Written here by another tool.
#[test]
fn geopackage_services_are_read_as_declared_and_unknown_ones_refused() {
    use gridmap::model::{Dataset, Service};
    use gridmap::store::{GeoPackage, Store};
    let (dir, _state) = crate::common::sample_state();
    let path = dir.path().join("gridmap.gpkg");
    // GDAL's ogrinfo as the other tool: it provides the ST_* functions the R-tree triggers call.
    let edit = |services: &str| {
        let out = std::process::Command::new("ogrinfo")
            .arg(&path)
            .arg("-sql")
            .arg(format!(
                "UPDATE stations SET services = '{services}' WHERE fid = (SELECT min(fid) FROM stations)"
            ))
            .output()
            .expect("ogrinfo runs (scripts/test installs gdal-bin)");
        crate::common::assert_success(&out);
    };
    let read = || {
        GeoPackage::open(&path, gridmap::model::declared::Declarations::shipped())
            .unwrap()
            .catch_up(None, &Dataset::default())
            .map(|r| r.unwrap().1)
    };
    edit("relief,policy,relief");
    let d = read().unwrap();
    let first = d.stations.iter().min_by_key(|s| s.id).unwrap();
    assert_eq!(first.services, [Service::Policy, Service::Relief]);
    edit("policy,karaoke");
    let e = read().unwrap_err().to_string();
    assert!(e.contains("karaoke") && e.contains("mediation"), "{e}");
}
