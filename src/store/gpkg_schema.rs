//! The GeoPackage schema: the core tables, gridmap's layer tables, the R-tree spatial index
//! (extension `gpkg_rtree_index`) with the triggers that keep it current whoever writes, and the
//! SQL functions those triggers call.
//!
//! New files get the first version's tables and then `upgrade`, as a file written by an earlier
//! gridmap does on its first write here: one path, exercised by every new file.

use rusqlite::functions::FunctionFlags;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension};

use super::blob::{Envelope, envelope, is_empty};
use crate::model::Layer;

/// GeoPackage 1.3 core tables, with the three SRS rows the standard requires.
const GPKG_CORE: &str = "
PRAGMA application_id = 1196444487;
PRAGMA user_version = 10300;
CREATE TABLE IF NOT EXISTS gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES
 ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system'),
 ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system'),
 ('WGS 84 geodetic', 4326, 'EPSG', 4326, 'GEOGCS[\"WGS 84\",DATUM[\"WGS_1984\",SPHEROID[\"WGS 84\",6378137,298.257223563,AUTHORITY[\"EPSG\",\"7030\"]],AUTHORITY[\"EPSG\",\"6326\"]],PRIMEM[\"Greenwich\",0,AUTHORITY[\"EPSG\",\"8901\"]],UNIT[\"degree\",0.0174532925199433,AUTHORITY[\"EPSG\",\"9122\"]],AXIS[\"Latitude\",NORTH],AXIS[\"Longitude\",EAST],AUTHORITY[\"EPSG\",\"4326\"]]', 'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid');
CREATE TABLE IF NOT EXISTS gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
  description TEXT DEFAULT '', last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE IF NOT EXISTS gpkg_geometry_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
";

/// gridmap's layer tables as the first version wrote them (`upgrade` brings them up to date).
/// `fid` is the GeoPackage feature id; for stations, alliances and members it is the feature's
/// own id.
const GRIDMAP_TABLES: &str = "
CREATE TABLE IF NOT EXISTS towns (fid INTEGER PRIMARY KEY AUTOINCREMENT, geom MULTIPOLYGON,
  code TEXT NOT NULL UNIQUE, name TEXT NOT NULL, mca_code TEXT, kind TEXT);
CREATE TABLE IF NOT EXISTS villages (fid INTEGER PRIMARY KEY AUTOINCREMENT, geom MULTIPOLYGON,
  code TEXT NOT NULL UNIQUE, town_code TEXT NOT NULL, name TEXT NOT NULL, kind TEXT);
CREATE TABLE IF NOT EXISTS grids (fid INTEGER PRIMARY KEY AUTOINCREMENT, geom MULTIPOLYGON,
  code TEXT NOT NULL UNIQUE, village_code TEXT NOT NULL, name TEXT NOT NULL,
  households INTEGER NOT NULL, population INTEGER NOT NULL, worker_name TEXT, worker_phone TEXT,
  publish_contact BOOLEAN NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS stations (fid INTEGER PRIMARY KEY, geom POINT, name TEXT NOT NULL,
  grid_code TEXT NOT NULL, services TEXT NOT NULL, opening_hours TEXT, contact_phone TEXT);
CREATE TABLE IF NOT EXISTS alliances (fid INTEGER PRIMARY KEY, name TEXT NOT NULL, theme TEXT,
  founded TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS members (fid INTEGER PRIMARY KEY, geom POINT, alliance_id INTEGER NOT NULL,
  kind TEXT NOT NULL, name TEXT NOT NULL, village_code TEXT);
INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) VALUES
 ('towns', 'features', 'towns', 'Towns and streets (镇/街道)', 4326),
 ('villages', 'features', 'villages', 'Villages and communities (村/社区)', 4326),
 ('grids', 'features', 'grids', 'Grids (网格)', 4326),
 ('stations', 'features', 'stations', 'Grid posts (网格驿站)', 4326),
 ('alliances', 'attributes', 'alliances', 'Functional alliances (功能型联合体)', NULL),
 ('members', 'features', 'members', 'Alliance members', 4326);
INSERT OR IGNORE INTO gpkg_geometry_columns VALUES
 ('towns', 'geom', 'MULTIPOLYGON', 4326, 0, 0),
 ('villages', 'geom', 'MULTIPOLYGON', 4326, 0, 0),
 ('grids', 'geom', 'MULTIPOLYGON', 4326, 0, 0),
 ('stations', 'geom', 'POINT', 4326, 0, 0),
 ('members', 'geom', 'POINT', 4326, 0, 0);
";

/// Every layer table has its geometry in this column (alliances since the upgrade).
pub const GEOMETRY_COLUMN: &str = "geom";

/// The tables `open` creates in an empty file.
pub fn create(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(GPKG_CORE)?;
    conn.execute_batch(GRIDMAP_TABLES)?;
    upgrade(conn)?;
    Ok(())
}

/// Whether `table` has a column `column`.
pub fn has_column(conn: &Connection, table: &str, column: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2",
        [table, column],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}

pub fn table_exists(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [name],
        |_| Ok(()),
    )
    .optional()
    .map(|found| found.is_some())
}

/// Bring a file written by an earlier gridmap up to the current schema, step by step, each only
/// when missing: a current file is not written to (a write would count as a change for every
/// server following it). Returns whether anything was added. The caller owns the transaction.
///
/// 1. `alliances` gains a MULTIPOLYGON `geom` (the footprint gridmap derives) and becomes a
///    features table; `members` gains `geom_derived` (1: `geom` is the interior point of the
///    member's village, kept by gridmap, not a location of its own).
/// 2. Every layer gets its R-tree, filled from the table, and GDAL's triggers.
pub fn upgrade(conn: &Connection) -> rusqlite::Result<bool> {
    let mut changed = false;
    if !has_column(conn, "alliances", GEOMETRY_COLUMN)? {
        conn.execute_batch(
            "ALTER TABLE alliances ADD COLUMN geom MULTIPOLYGON;
             UPDATE gpkg_contents SET data_type = 'features', srs_id = 4326
               WHERE table_name = 'alliances';
             INSERT OR IGNORE INTO gpkg_geometry_columns
               VALUES ('alliances', 'geom', 'MULTIPOLYGON', 4326, 0, 0);",
        )?;
        changed = true;
    }
    if !has_column(conn, "members", "geom_derived")? {
        conn.execute_batch(
            "ALTER TABLE members ADD COLUMN geom_derived BOOLEAN NOT NULL DEFAULT 0;",
        )?;
        changed = true;
    }
    // Issue 13: whether a grid worker's contact is public (false until someone says so).
    if !has_column(conn, "grids", "publish_contact")? {
        conn.execute_batch(
            "ALTER TABLE grids ADD COLUMN publish_contact BOOLEAN NOT NULL DEFAULT 0;",
        )?;
        changed = true;
    }
    if !table_exists(conn, "gpkg_extensions")? {
        conn.execute_batch(
            "CREATE TABLE gpkg_extensions (table_name TEXT, column_name TEXT,
               extension_name TEXT NOT NULL, definition TEXT NOT NULL, scope TEXT NOT NULL,
               CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name));",
        )?;
        changed = true;
    }
    for layer in Layer::ALL {
        if !table_exists(conn, &rtree_name(layer.name()))? {
            create_rtree(conn, layer.name())?;
            changed = true;
        }
    }
    Ok(changed)
}

/// The R-tree of a layer, as the extension names it: `rtree_<table>_<column>`.
pub fn rtree_name(table: &str) -> String {
    format!("rtree_{table}_{GEOMETRY_COLUMN}")
}

/// The R-tree virtual table, filled from the rows there are, its `gpkg_extensions` row, and the
/// triggers exactly as GDAL 3.12 writes them (GeoPackage 1.4's set: update6/update7 replace 1.3's
/// update1/update3, which mishandled an update from a NULL geometry), so QGIS or GDAL editing the
/// file keep the index true, and gridmap's own writes do too.
pub fn create_rtree(conn: &Connection, table: &str) -> rusqlite::Result<()> {
    let t = table;
    let c = GEOMETRY_COLUMN;
    let r = rtree_name(table);
    let values = format!(
        "NEW.\"fid\",ST_MinX(NEW.\"{c}\"), ST_MaxX(NEW.\"{c}\"),ST_MinY(NEW.\"{c}\"), ST_MaxY(NEW.\"{c}\")"
    );
    conn.execute_batch(&format!(
        r#"
CREATE VIRTUAL TABLE "{r}" USING rtree(id, minx, maxx, miny, maxy);
INSERT OR REPLACE INTO "{r}" SELECT "fid", ST_MinX("{c}"), ST_MaxX("{c}"), ST_MinY("{c}"), ST_MaxY("{c}")
  FROM "{t}" WHERE "{c}" NOT NULL AND NOT ST_IsEmpty("{c}");
INSERT OR IGNORE INTO gpkg_extensions VALUES
  ('{t}', '{c}', 'gpkg_rtree_index', 'http://www.geopackage.org/spec120/#extension_rtree', 'write-only');
CREATE TRIGGER "{r}_insert" AFTER INSERT ON "{t}" WHEN (new."{c}" NOT NULL AND NOT ST_IsEmpty(NEW."{c}")) BEGIN INSERT OR REPLACE INTO "{r}" VALUES ({values}); END;
CREATE TRIGGER "{r}_update6" AFTER UPDATE OF "{c}" ON "{t}" WHEN OLD."fid" = NEW."fid" AND (NEW."{c}" NOTNULL AND NOT ST_IsEmpty(NEW."{c}")) AND (OLD."{c}" NOTNULL AND NOT ST_IsEmpty(OLD."{c}")) BEGIN UPDATE "{r}" SET minx = ST_MinX(NEW."{c}"), maxx = ST_MaxX(NEW."{c}"),miny = ST_MinY(NEW."{c}"), maxy = ST_MaxY(NEW."{c}") WHERE id = NEW."fid";END;
CREATE TRIGGER "{r}_update7" AFTER UPDATE OF "{c}" ON "{t}" WHEN OLD."fid" = NEW."fid" AND (NEW."{c}" NOTNULL AND NOT ST_IsEmpty(NEW."{c}")) AND (OLD."{c}" ISNULL OR ST_IsEmpty(OLD."{c}")) BEGIN INSERT INTO "{r}" VALUES ({values}); END;
CREATE TRIGGER "{r}_update2" AFTER UPDATE OF "{c}" ON "{t}" WHEN OLD."fid" = NEW."fid" AND (NEW."{c}" ISNULL OR ST_IsEmpty(NEW."{c}")) BEGIN DELETE FROM "{r}" WHERE id = OLD."fid"; END;
CREATE TRIGGER "{r}_update5" AFTER UPDATE ON "{t}" WHEN OLD."fid" != NEW."fid" AND (NEW."{c}" NOTNULL AND NOT ST_IsEmpty(NEW."{c}")) BEGIN DELETE FROM "{r}" WHERE id = OLD."fid"; INSERT OR REPLACE INTO "{r}" VALUES ({values}); END;
CREATE TRIGGER "{r}_update4" AFTER UPDATE ON "{t}" WHEN OLD."fid" != NEW."fid" AND (NEW."{c}" ISNULL OR ST_IsEmpty(NEW."{c}")) BEGIN DELETE FROM "{r}" WHERE id IN (OLD."fid", NEW."fid"); END;
CREATE TRIGGER "{r}_delete" AFTER DELETE ON "{t}" WHEN old."{c}" NOT NULL BEGIN DELETE FROM "{r}" WHERE id = OLD."fid"; END;
"#
    ))
}

/// Picks one bound of an envelope.
type Bound = fn(&Envelope) -> f64;

/// Register `ST_MinX`, `ST_MaxX`, `ST_MinY`, `ST_MaxY` and `ST_IsEmpty` on a connection, as GDAL
/// does on its own: the R-tree triggers call them, and plain SQLite has none, so without them
/// every write to a layer table would fail. Each reads the GeoPackage blob header (see
/// `blob.rs`) and gives NULL for NULL or for what is not a GeoPackage geometry.
pub fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
    // Innocuous: the triggers live in the schema, and SQLite lets schema code call only
    // functions marked safe when `trusted_schema` is off.
    let flags = FunctionFlags::SQLITE_UTF8
        | FunctionFlags::SQLITE_DETERMINISTIC
        | FunctionFlags::SQLITE_INNOCUOUS;
    let bounds: [(&str, Bound); 4] = [
        ("ST_MinX", |e| e.min_x),
        ("ST_MaxX", |e| e.max_x),
        ("ST_MinY", |e| e.min_y),
        ("ST_MaxY", |e| e.max_y),
    ];
    for (name, pick) in bounds {
        conn.create_scalar_function(name, 1, flags, move |ctx| {
            Ok(match ctx.get_raw(0) {
                ValueRef::Blob(b) => envelope(b).as_ref().map(pick),
                _ => None,
            })
        })?;
    }
    conn.create_scalar_function("ST_IsEmpty", 1, flags, |ctx| {
        Ok(match ctx.get_raw(0) {
            ValueRef::Blob(b) => is_empty(b),
            _ => None,
        })
    })?;
    Ok(())
}
