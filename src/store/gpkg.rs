//! The embedded store: one GeoPackage (SQLite) file that QGIS and GDAL open directly.
//!
//! Writes run in one `BEGIN IMMEDIATE` transaction with SQLite's rollback journal and
//! `synchronous=FULL`: an import is all or nothing, and a process killed mid-write leaves the
//! previous data intact (the journal is rolled back on the next open).
//!
//! Every write also materialises the derived geometry (`model::derive`: alliance footprints,
//! village members' points) in the same transaction, and keeps the R-tree index current through
//! GDAL's triggers (`gpkg_schema.rs`). A file from an earlier gridmap is upgraded by its first
//! write here, never by opening or reading it.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::{Connection, TransactionBehavior};

use super::changes;
use super::declared::{Tables, migrate};
use super::fill;
use super::gpkg_changes::{self, Mark};
use super::gpkg_derived::{update_extent, write_derived};
use super::gpkg_rows::{read_dataset, read_layer, write_rows};
use super::gpkg_schema::{self, create, register_functions, upgrade};
use super::gpkg_tables::GpkgTables;
use super::{
    Guard, ImportSummary, Progress, Store, gpkg_access, gpkg_events, plan_delete,
    plan_delete_declared, plan_import, plan_import_declared,
};
use crate::access::StoredAccount;
use crate::access::audit::{AuditQuery, AuditRow};
use crate::events::Entry;
use crate::events::photos::Photo;
use crate::model::declared::Declarations;
use crate::model::records::DeclaredData;
use crate::model::schema::LayerDef;
use crate::model::{Dataset, Layer, LayerData, derive};
use crate::{Error, Result, StoreFailure};

pub struct GeoPackage {
    path: PathBuf,
    layers: &'static Declarations,
    conn: Mutex<Connection>,
    /// Commits made through this connection (SQLite's data_version counts only the others').
    own_commits: AtomicU64,
    /// The dataset this handle read last and where the change log stood then: the next read
    /// (a catch-up, or a write's look at what is stored) reads only the features logged since.
    /// It shares its records with what was handed out, so it costs pointers, not features.
    held: Mutex<Option<(Mark, Dataset)>>,
}

/// Create `path` empty and readable by its owner only, when it does not exist: the store holds
/// personal data and accounts. SQLite gives its journal the same mode.
fn create_private(path: &Path) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(Error::Io {
            path: path.display().to_string(),
            source,
        }),
    }
}

impl GeoPackage {
    /// Open the file, creating it (and its directory) with an empty schema when missing, and
    /// bring the tables of the declared `layers` up to them (only what adds; see
    /// `declared::migrate`).
    pub fn open(path: impl AsRef<Path>, layers: &'static Declarations) -> Result<GeoPackage> {
        GeoPackage::open_with(path.as_ref(), layers, true)
    }

    /// `open` without touching the declared layers' tables, for `gridmap migrate`, which
    /// migrates them itself (perhaps dropping what is no longer declared).
    pub fn open_for_migrate(
        path: impl AsRef<Path>,
        layers: &'static Declarations,
    ) -> Result<GeoPackage> {
        GeoPackage::open_with(path.as_ref(), layers, false)
    }

    fn open_with(path: &Path, layers: &'static Declarations, declared: bool) -> Result<GeoPackage> {
        let path = path.to_path_buf();
        let err = |e: rusqlite::Error| failure(path.display().to_string(), e);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                path: dir.display().to_string(),
                source,
            })?;
        }
        create_private(&path)?;
        let mut conn = Connection::open(&path).map_err(err)?;
        register_functions(&conn).map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(err)?;
        conn.execute_batch(
            "PRAGMA journal_mode = DELETE; PRAGMA synchronous = FULL; PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;",
        )
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
        let new = complete < 9 || app_id != 1_196_444_487;
        if new {
            create(&tx).map_err(err)?;
        }
        if declared {
            let location = path.display().to_string();
            let mut tables = GpkgTables {
                conn: &tx,
                path: location.clone(),
            };
            migrate(&mut tables, layers, false, &location)?;
        }
        // A new file is logged from the start; one an earlier gridmap wrote only from its first
        // write here (opening never upgrades it).
        if new || gpkg_schema::table_exists(&tx, "gridmap_changes").map_err(err)? {
            gpkg_changes::install(&tx, &gpkg_changes::tables(&tx, layers).map_err(err)?)
                .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(GeoPackage {
            path,
            layers,
            conn: Mutex::new(conn),
            own_commits: AtomicU64::new(0),
            held: Mutex::new(None),
        })
    }

    /// Bring a file written by an earlier gridmap to the current schema (R-tree index, stored
    /// alliance footprints and member points) in one transaction; `gridmap migrate` calls it,
    /// and every write does the same first. Returns whether it wrote; a current file is left
    /// untouched, so this is not a change for servers following it.
    pub fn upgrade(&self) -> Result<bool> {
        let mut conn = self.connection()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        let upgraded = upgrade(&tx).map_err(|e| self.err(e))?;
        let logged = self.log_changes(&tx)?;
        if !upgraded && !logged {
            return Ok(false);
        }
        if upgraded {
            let data = self.read_all(&tx)?;
            finish_write(&tx, &data, &[]).map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))?;
        self.own_commits.fetch_add(1, Ordering::Relaxed);
        Ok(true)
    }

    fn err(&self, e: rusqlite::Error) -> Error {
        failure(self.path.display().to_string(), e)
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }

    /// The declared tables, through `conn` (the store's connection or a transaction on it).
    fn tables<'c>(&self, conn: &'c Connection) -> GpkgTables<'c> {
        GpkgTables {
            conn,
            path: self.location(),
        }
    }

    /// Install the change log where it is missing (`gpkg_changes::install`), in the caller's
    /// transaction. Returns whether anything was added.
    fn log_changes(&self, conn: &Connection) -> Result<bool> {
        let tables = gpkg_changes::tables(conn, self.layers).map_err(|e| self.err(e))?;
        gpkg_changes::install(conn, &tables).map_err(|e| self.err(e))
    }

    /// The store's version as `conn` sees it (see `Store::version`).
    fn version_on(&self, conn: &Connection) -> Result<u64> {
        let others: u64 = conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        Ok(others.wrapping_add(self.own_commits.load(Ordering::Relaxed)))
    }

    /// Every layer as stored, read in the caller's transaction: the dataset this handle read
    /// last, patched with the features the change log names since (`store::changes::patch`), when
    /// the log can say (see `gpkg_changes::since`); otherwise the whole file. Kept for next time.
    fn read_current(&self, tx: &Connection) -> Result<Dataset> {
        let err = |e| self.err(e);
        let now = gpkg_changes::mark(tx).map_err(err)?;
        let held = self.held.lock().ok().and_then(|mut h| h.take());
        let logged = match (held, now) {
            (Some((from, data)), Some(now)) => {
                let tables = gpkg_changes::tables(tx, self.layers).map_err(err)?;
                let declared = |name: &str| self.layers.get(name).is_some();
                gpkg_changes::since(tx, from, now, &tables, declared)
                    .map_err(err)?
                    .map(|changes| (data, changes))
            }
            _ => None,
        };
        let data = match logged {
            Some((data, changes)) if changes.count() == 0 => data,
            Some((data, changes)) => {
                tracing::debug!(changed = changes.count(), "read from the change log");
                let tables = std::cell::RefCell::new(self.tables(tx));
                changes::patch(
                    &data,
                    changes,
                    self.layers,
                    |layer, keys| read_layer(tx, layer, Some(keys)).map_err(err),
                    |def| tables.borrow_mut().read(def),
                )?
            }
            None => self.read_all(tx)?,
        };
        if let (Some(now), Ok(mut held)) = (now, self.held.lock()) {
            *held = Some((now, data.clone()));
        }
        Ok(data)
    }

    /// Every built-in and declared layer, as stored.
    fn read_all(&self, conn: &Connection) -> Result<Dataset> {
        let mut data = read_dataset(conn).map_err(|e| self.err(e))?;
        let mut tables = self.tables(conn);
        for &def in &self.layers.layers {
            data.declared.push(crate::model::Shared::new(DeclaredData {
                def,
                features: tables.read(def)?,
            }));
        }
        Ok(data)
    }

    /// Write the declared layers of `after` that differ from `before`, whole.
    fn write_declared(&self, conn: &Connection, before: &Dataset, after: &Dataset) -> Result<()> {
        let mut tables = self.tables(conn);
        for layer in &after.declared {
            if before.declared(layer.def.name) != Some(layer) {
                tables.write(layer.def, &layer.features, true)?;
            }
        }
        Ok(())
    }

    /// One write of the layers, all or nothing: in a write transaction, `guard` checked on the
    /// dataset as stored, then `write` given the transaction and that dataset, then the guard's
    /// audit rows appended.
    fn guarded_write(
        &self,
        guard: Option<&Guard>,
        write: impl FnOnce(&Connection, Dataset) -> Result<ImportSummary>,
    ) -> Result<ImportSummary> {
        let mut conn = self.connection()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        let current = self.read_current(&tx)?;
        if let Some(g) = guard {
            (g.check)(&current)?;
        }
        self.log_changes(&tx)?;
        let summary = write(&tx, current)?;
        gpkg_changes::prune(&tx).map_err(|e| self.err(e))?;
        if let Some(g) = guard {
            gpkg_access::append(&tx, g.audit).map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))?;
        self.own_commits.fetch_add(1, Ordering::Relaxed);
        Ok(summary)
    }

    fn connection(&self) -> Result<std::sync::MutexGuard<'_, Connection>> {
        self.conn.lock().map_err(|_| {
            Error::store(
                self.path.display().to_string(),
                "connection lock poisoned by an earlier panic",
            )
        })
    }
}

impl GeoPackage {
    /// Replace every layer with `data` in one transaction; with `only_if_empty`, only when no
    /// layer holds a feature. Returns whether it wrote.
    fn write_all(&self, data: &Dataset, progress: Progress, only_if_empty: bool) -> Result<bool> {
        fill::check(data, self.layers, &self.location())?;
        let mut conn = self.connection()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        upgrade(&tx).map_err(|e| self.err(e))?;
        self.log_changes(&tx)?;
        let wrote = fill::fill(
            &mut GpkgFill {
                store: self,
                tx: &tx,
            },
            data,
            progress,
            only_if_empty,
        )?;
        if wrote {
            gpkg_changes::prune(&tx).map_err(|e| self.err(e))?;
            tx.commit().map_err(|e| self.err(e))?;
            self.own_commits.fetch_add(1, Ordering::Relaxed);
        }
        Ok(wrote)
    }
}

/// `fill`'s steps in one GeoPackage transaction.
struct GpkgFill<'a> {
    store: &'a GeoPackage,
    tx: &'a Connection,
}

impl fill::Fill for GpkgFill<'_> {
    fn holds_anything(&mut self) -> Result<bool> {
        Ok(!self.store.read_all(self.tx)?.is_empty())
    }

    fn clear(&mut self, layer: Layer) -> Result<()> {
        self.tx
            .execute(&format!("DELETE FROM {layer}"), [])
            .map(|_| ())
            .map_err(|e| self.store.err(e))
    }

    fn write_layer(&mut self, data: &LayerData, progress: Progress) -> Result<()> {
        write_rows(self.tx, data, true, progress).map_err(|e| self.store.err(e))
    }

    fn write_declared(&mut self, data: &Dataset) -> Result<()> {
        self.store
            .write_declared(self.tx, &Dataset::default(), data)
    }

    fn finish(&mut self, data: &Dataset) -> Result<()> {
        finish_write(self.tx, data, &Layer::ALL).map_err(|e| self.store.err(e))
    }
}

impl Store for GeoPackage {
    /// Whether other users of the machine may read the file (its mode has group or other bits).
    fn readable_by_others(&self) -> bool {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(&self.path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
        }
        #[cfg(not(unix))]
        false
    }

    fn describe(&self) -> String {
        format!("GeoPackage {}", self.path.display())
    }

    fn load(&self) -> Result<Dataset> {
        let conn = self.connection()?;
        self.read_all(&conn)
    }

    fn import_declared_with(
        &self,
        data: DeclaredData,
        replace: bool,
        guard: Option<&Guard>,
    ) -> Result<ImportSummary> {
        self.guarded_write(guard, |tx, current| {
            let (_, data, summary) = plan_import_declared(current, data, replace)?;
            self.tables(tx).write(data.def, &data.features, replace)?;
            Ok(summary)
        })
    }

    fn delete_declared_with(
        &self,
        def: &'static LayerDef,
        keys: &[String],
        guard: Option<&Guard>,
    ) -> Result<ImportSummary> {
        self.guarded_write(guard, |tx, current| {
            self.tables(tx).delete(def, keys)?;
            Ok(plan_delete_declared(current, def, keys).1)
        })
    }

    fn declarations(&self) -> &'static Declarations {
        self.layers
    }

    fn migrate_layers(&self, allow_drop: bool) -> Result<Vec<String>> {
        let mut conn = self.connection()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        let location = self.location();
        let done = migrate(&mut self.tables(&tx), self.layers, allow_drop, &location)?;
        if !done.is_empty() {
            self.log_changes(&tx)?;
            tx.commit().map_err(|e| self.err(e))?;
            self.own_commits.fetch_add(1, Ordering::Relaxed);
        }
        Ok(done)
    }

    // Accounts and audit rows go through the one connection without counting as this store's
    // commits: SQLite's data_version counts only other connections' commits, so they are no
    // change for this server to follow (a `gridmap user add` from another process is one).
    fn accounts(&self) -> Result<Vec<StoredAccount>> {
        let conn = self.connection()?;
        gpkg_access::accounts(&conn).map_err(|e| self.err(e))
    }

    fn put_account(&self, account: &StoredAccount) -> Result<()> {
        let mut conn = self.connection()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        gpkg_access::put_account(&tx, account).map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))
    }

    fn append_audit(&self, rows: &[AuditRow]) -> Result<()> {
        let mut conn = self.connection()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        gpkg_access::append(&tx, rows).map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))
    }

    // Event-log writes do not count as this store's commits either: events never rebuild the
    // map (another process's do, through data_version; see ARCHITECTURE.md).
    fn append_events(&self, entries: &[Entry]) -> Result<Vec<Entry>> {
        let mut conn = self.connection()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        let stored = gpkg_events::append(&tx, entries).map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(stored)
    }

    fn events_since(&self, after_seq: u64, limit: usize) -> Result<Vec<Entry>> {
        let conn = self.connection()?;
        gpkg_events::since(&conn, after_seq, limit).map_err(|e| self.err(e))
    }

    fn add_photo(&self, photo: &Photo, bytes: &[u8]) -> Result<Photo> {
        let mut conn = self.connection()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        let stored = gpkg_events::add_photo(&tx, photo, bytes).map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        stored.map_err(|r| r.error(photo.event_id))
    }

    fn photos(&self, event_id: u64) -> Result<Vec<Photo>> {
        let conn = self.connection()?;
        gpkg_events::photos(&conn, event_id).map_err(|e| self.err(e))
    }

    fn photo(&self, event_id: u64, n: u32) -> Result<Option<(Photo, Vec<u8>)>> {
        let conn = self.connection()?;
        gpkg_events::photo(&conn, event_id, n).map_err(|e| self.err(e))
    }

    fn read_audit(&self, query: &AuditQuery) -> Result<Vec<AuditRow>> {
        let conn = self.connection()?;
        gpkg_access::read(&conn, query).map_err(|e| self.err(e))
    }

    fn prune_audit(&self, before_s: i64) -> Result<usize> {
        let mut conn = self.connection()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        let n = gpkg_access::prune(&tx, before_s).map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(n)
    }

    fn import_with(
        &self,
        data: LayerData,
        replace: bool,
        progress: Progress,
        guard: Option<&Guard>,
    ) -> Result<ImportSummary> {
        self.guarded_write(guard, |tx, current| {
            let (after, summary) = plan_import(current.clone(), data.clone(), replace)?;
            upgrade(tx).map_err(|e| self.err(e))?;
            write_rows(tx, &data, replace, progress).map_err(|e| self.err(e))?;
            self.write_declared(tx, &current, &after)?;
            finish_write(tx, &after, &[data.layer()]).map_err(|e| self.err(e))?;
            Ok(summary)
        })
    }

    fn delete_with(
        &self,
        layer: Layer,
        keys: &[String],
        guard: Option<&Guard>,
    ) -> Result<ImportSummary> {
        self.guarded_write(guard, |tx, current| {
            let (after, summary) = plan_delete(current.clone(), layer, keys)?;
            upgrade(tx).map_err(|e| self.err(e))?;
            let column = if layer.keyed_by_code() { "code" } else { "fid" };
            for key in keys {
                tx.execute(&format!("DELETE FROM {layer} WHERE {column} = ?1"), [key])
                    .map_err(|e| self.err(e))?;
            }
            self.write_declared(tx, &current, &after)?;
            finish_write(tx, &after, &[layer]).map_err(|e| self.err(e))?;
            Ok(summary)
        })
    }

    fn replace_all(&self, data: &Dataset, progress: Progress) -> Result<()> {
        self.write_all(data, progress, false).map(|_| ())
    }

    fn fill_if_empty(&self, data: &Dataset, progress: Progress) -> Result<bool> {
        self.write_all(data, progress, true)
    }

    fn version(&self) -> Result<u64> {
        let conn = self.connection()?;
        self.version_on(&conn)
    }

    /// The dataset at the store's version, read in one transaction so the two match; only the
    /// features logged since this handle's last read, when the log can say (`read_current`).
    fn catch_up(&self, seen: Option<u64>, current: &Dataset) -> Result<Option<(u64, Dataset)>> {
        let _ = current; // the handle's own last read is the base: its log position is known
        let mut conn = self.connection()?;
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        // The first read takes the shared lock: no other process commits until it ends.
        gpkg_changes::mark(&tx).map_err(|e| self.err(e))?;
        let version = self.version_on(&tx)?;
        if seen == Some(version) {
            return Ok(None);
        }
        if seen.is_none() {
            // Nothing loaded yet: everything is read.
            self.held.lock().map(|mut h| h.take()).ok();
        }
        let data = self.read_current(&tx)?;
        tx.finish().map_err(|e| self.err(e))?;
        Ok(Some((version, data)))
    }
}

/// The end of every write, in its transaction: materialise the derived geometry of `after` (the
/// whole dataset as committed), and refresh the extents of the written `layers` and of the
/// derived layers whose geometry changed.
fn finish_write(conn: &Connection, after: &Dataset, layers: &[Layer]) -> rusqlite::Result<()> {
    let derived = derive(after);
    let changed = write_derived(conn, after, &derived)?;
    for layer in Layer::ALL {
        let derived_changed = match layer {
            Layer::Alliances => changed.alliances,
            Layer::Members => changed.members,
            _ => false,
        };
        if derived_changed || layers.contains(&layer) {
            update_extent(conn, after, &derived, layer)?;
        }
    }
    Ok(())
}

/// A SQLite error as a store error of its kind: a busy, locked or unopenable file is
/// unreachable (try again), a constraint a rejected write, a value gridmap cannot read an
/// unreadable row.
pub(super) fn failure(path: String, e: rusqlite::Error) -> Error {
    use rusqlite::ErrorCode::*;
    let kind = match &e {
        rusqlite::Error::SqliteFailure(f, _) => match f.code {
            DatabaseBusy | DatabaseLocked | CannotOpen | SystemIoFailure | DiskFull | ReadOnly => {
                StoreFailure::Unreachable
            }
            ConstraintViolation => StoreFailure::Rejected,
            _ => StoreFailure::Failed,
        },
        rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::IntegralValueOutOfRange(..) => StoreFailure::Unreadable,
        _ => StoreFailure::Failed,
    };
    Error::store_failure(path, kind, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(e: rusqlite::Error) -> StoreFailure {
        match failure("test.gpkg".into(), e) {
            Error::Store { failure, .. } => failure,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn sqlite_errors_become_store_failures_of_their_kind() {
        let sqlite = |code| rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None);
        assert_eq!(
            kind(sqlite(rusqlite::ffi::SQLITE_BUSY)),
            StoreFailure::Unreachable
        );
        assert_eq!(
            kind(sqlite(rusqlite::ffi::SQLITE_CANTOPEN)),
            StoreFailure::Unreachable
        );
        assert_eq!(
            kind(sqlite(rusqlite::ffi::SQLITE_CONSTRAINT)),
            StoreFailure::Rejected
        );
        assert_eq!(
            kind(sqlite(rusqlite::ffi::SQLITE_ERROR)),
            StoreFailure::Failed
        );
        let unreadable =
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Blob, "x".into());
        assert_eq!(kind(unreadable), StoreFailure::Unreadable);
    }
}
