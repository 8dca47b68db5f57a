//! The embedded store: one GeoPackage (SQLite) file that QGIS and GDAL open directly.
//!
//! Writes run in one `BEGIN IMMEDIATE` transaction with SQLite's rollback journal and
//! `synchronous=FULL`: an import is all or nothing, and a process killed mid-write leaves the
//! previous data intact (the journal is rolled back on the next open).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::{Connection, TransactionBehavior};

use super::gpkg_rows::{read_dataset, write_rows};
use super::{ImportSummary, Progress, Store, plan_delete, plan_import};
use crate::model::{Dataset, Layer, LayerData};
use crate::{Error, Result};

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

/// gridmap's layer tables. `fid` is the GeoPackage feature id; for stations, alliances and members
/// it is the feature's own id.
const GRIDMAP_TABLES: &str = "
CREATE TABLE IF NOT EXISTS towns (fid INTEGER PRIMARY KEY AUTOINCREMENT, geom MULTIPOLYGON,
  code TEXT NOT NULL UNIQUE, name TEXT NOT NULL, mca_code TEXT, kind TEXT);
CREATE TABLE IF NOT EXISTS villages (fid INTEGER PRIMARY KEY AUTOINCREMENT, geom MULTIPOLYGON,
  code TEXT NOT NULL UNIQUE, town_code TEXT NOT NULL, name TEXT NOT NULL, kind TEXT);
CREATE TABLE IF NOT EXISTS grids (fid INTEGER PRIMARY KEY AUTOINCREMENT, geom MULTIPOLYGON,
  code TEXT NOT NULL UNIQUE, village_code TEXT NOT NULL, name TEXT NOT NULL,
  households INTEGER NOT NULL, population INTEGER NOT NULL, worker_name TEXT, worker_phone TEXT);
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

pub struct GeoPackage {
    path: PathBuf,
    conn: Mutex<Connection>,
    /// Commits made through this connection (SQLite's data_version counts only the others').
    own_commits: AtomicU64,
}

impl GeoPackage {
    /// Open the file, creating it (and its directory) with an empty schema when missing.
    pub fn open(path: impl AsRef<Path>) -> Result<GeoPackage> {
        let path = path.as_ref().to_path_buf();
        let err = |e: rusqlite::Error| Error::store(path.display().to_string(), e);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let mut conn = Connection::open(&path).map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(err)?;
        conn.execute_batch("PRAGMA journal_mode = DELETE; PRAGMA synchronous = FULL;")
            .map_err(err)?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let app_id: i64 = tx
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .map_err(err)?;
        let tables: i64 = tx
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
                [],
                |r| r.get(0),
            )
            .map_err(err)?;
        if tables > 0 && app_id != 1_196_444_487 {
            return Err(Error::store(
                path.display().to_string(),
                "exists but is not a GeoPackage; give a new path or a .gpkg written by gridmap",
            ));
        }
        // Write the schema only when it is missing: a write here would count as a change for
        // every server following this file.
        let complete: i64 = tx
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN
                   ('gpkg_spatial_ref_sys', 'gpkg_contents', 'gpkg_geometry_columns',
                    'towns', 'villages', 'grids', 'stations', 'alliances', 'members')",
                [],
                |r| r.get(0),
            )
            .map_err(err)?;
        if complete < 9 || app_id != 1_196_444_487 {
            tx.execute_batch(GPKG_CORE).map_err(err)?;
            tx.execute_batch(GRIDMAP_TABLES).map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(GeoPackage {
            path,
            conn: Mutex::new(conn),
            own_commits: AtomicU64::new(0),
        })
    }

    fn err(&self, e: impl std::fmt::Display) -> Error {
        Error::store(self.path.display().to_string(), e)
    }

    fn connection(&self) -> Result<std::sync::MutexGuard<'_, Connection>> {
        self.conn
            .lock()
            .map_err(|_| self.err("connection lock poisoned by an earlier panic"))
    }
}

impl GeoPackage {
    /// Replace every layer with `data` in one transaction; with `only_if_empty`, only when no
    /// layer holds a feature. Returns whether it wrote.
    fn write_all(&self, data: &Dataset, progress: Progress, only_if_empty: bool) -> Result<bool> {
        let report = crate::model::validate_dataset(data);
        if !report.is_ok() {
            return Err(Error::Invalid(report));
        }
        let mut conn = self.connection()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        if only_if_empty && !read_dataset(&tx).map_err(|e| self.err(e))?.is_empty() {
            return Ok(false);
        }
        // Children first, so a reader never sees a dangling reference mid-transaction.
        for layer in Layer::ALL.iter().rev() {
            tx.execute(&format!("DELETE FROM {}", layer.name()), [])
                .map_err(|e| self.err(e))?;
        }
        let total: usize = Layer::ALL.iter().map(|&l| data.count(l)).sum();
        let mut done = 0;
        for layer in Layer::ALL {
            let rows = data.layer(layer);
            let n = rows.len();
            let offset = done;
            write_rows(&tx, &rows, true, &|i, _| progress(offset + i, total))
                .map_err(|e| self.err(e))?;
            update_extent(&tx, data, layer).map_err(|e| self.err(e))?;
            done += n;
        }
        tx.commit().map_err(|e| self.err(e))?;
        self.own_commits.fetch_add(1, Ordering::Relaxed);
        Ok(true)
    }
}

impl Store for GeoPackage {
    fn describe(&self) -> String {
        format!("GeoPackage {}", self.path.display())
    }

    fn load(&self) -> Result<Dataset> {
        let conn = self.connection()?;
        read_dataset(&conn).map_err(|e| self.err(e))
    }

    fn import(&self, data: LayerData, replace: bool, progress: Progress) -> Result<ImportSummary> {
        let mut conn = self.connection()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        let current = read_dataset(&tx).map_err(|e| self.err(e))?;
        let (after, summary) = plan_import(current, data.clone(), replace)?;
        write_rows(&tx, &data, replace, progress).map_err(|e| self.err(e))?;
        update_extent(&tx, &after, data.layer()).map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        self.own_commits.fetch_add(1, Ordering::Relaxed);
        Ok(summary)
    }

    fn delete(&self, layer: Layer, keys: &[String]) -> Result<ImportSummary> {
        let mut conn = self.connection()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        let current = read_dataset(&tx).map_err(|e| self.err(e))?;
        let (after, summary) = plan_delete(current, layer, keys)?;
        let column = if layer.keyed_by_code() { "code" } else { "fid" };
        for key in keys {
            tx.execute(&format!("DELETE FROM {layer} WHERE {column} = ?1"), [key])
                .map_err(|e| self.err(e))?;
        }
        update_extent(&tx, &after, layer).map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        self.own_commits.fetch_add(1, Ordering::Relaxed);
        Ok(summary)
    }

    fn replace_all(&self, data: &Dataset, progress: Progress) -> Result<()> {
        self.write_all(data, progress, false).map(|_| ())
    }

    fn fill_if_empty(&self, data: &Dataset, progress: Progress) -> Result<bool> {
        self.write_all(data, progress, true)
    }

    fn version(&self) -> Result<u64> {
        let conn = self.connection()?;
        let others: u64 = conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        Ok(others.wrapping_add(self.own_commits.load(Ordering::Relaxed)))
    }
}

/// Keep `gpkg_contents` extents and last_change true after a write (GDAL reports them).
fn update_extent(conn: &Connection, data: &Dataset, layer: Layer) -> rusqlite::Result<()> {
    use geo::BoundingRect;
    let rects: Vec<geo::Rect> = match layer {
        Layer::Towns => data
            .towns
            .iter()
            .filter_map(|f| f.geometry.bounding_rect())
            .collect(),
        Layer::Villages => data
            .villages
            .iter()
            .filter_map(|f| f.geometry.bounding_rect())
            .collect(),
        Layer::Grids => data
            .grids
            .iter()
            .filter_map(|f| f.geometry.bounding_rect())
            .collect(),
        Layer::Stations => data
            .stations
            .iter()
            .map(|f| f.location.bounding_rect())
            .collect(),
        Layer::Members => data
            .members
            .iter()
            .filter_map(|f| f.location.map(|p| p.bounding_rect()))
            .collect(),
        Layer::Alliances => Vec::new(),
    };
    let extent = rects.iter().fold(None, |acc: Option<[f64; 4]>, r| {
        let [a, b, c, d] = acc.unwrap_or([f64::MAX, f64::MAX, f64::MIN, f64::MIN]);
        Some([
            a.min(r.min().x),
            b.min(r.min().y),
            c.max(r.max().x),
            d.max(r.max().y),
        ])
    });
    let [min_x, min_y, max_x, max_y] = match extent {
        Some(e) => e.map(Some),
        None => [None; 4],
    };
    conn.execute(
        "UPDATE gpkg_contents SET min_x = ?1, min_y = ?2, max_x = ?3, max_y = ?4,
           last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE table_name = ?5",
        rusqlite::params![min_x, min_y, max_x, max_y, layer.name()],
    )?;
    Ok(())
}
