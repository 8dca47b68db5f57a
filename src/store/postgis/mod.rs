//! The PostGIS store: the layers as PostgreSQL tables that QGIS, GDAL and psql read directly,
//! a change log filled by triggers, and LISTEN/NOTIFY so that every server follows every write.
//!
//! The `Store` trait is synchronous; the `postgres` crate (the blocking face of tokio-postgres)
//! runs each call on its own small runtime. That runtime must not be entered from async code, so
//! every call goes through [`off_runtime`].

mod access;
mod changes;
mod derived;
mod errors;
mod events;
mod migrate;
mod photos;
mod rows;
mod tables;

pub use migrate::{Applied, MIGRATIONS};

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use postgres::{Client, Config, NoTls, Transaction};

use super::declared::{Tables, migrate as migrate_declared};
use super::fill;
use super::{
    Guard, ImportSummary, Progress, Store, plan_delete, plan_delete_declared, plan_import,
    plan_import_declared, redact,
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
use rows::{columns, copy_in, read_dataset};
use tables::PgTables;

/// The channel servers LISTEN on; the payload is the new change-log id.
pub const CHANNEL: &str = "gridmap_changes";

/// How long a connection attempt may take before the store counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Change-log entries older than this are pruned by the next write (the latest one is kept).
const KEEP_CHANGES: &str = "30 days";

pub struct PostGis {
    /// The URL with its password redacted, for messages.
    location: String,
    layers: &'static Declarations,
    config: Config,
    client: Mutex<Option<Client>>,
    /// A second connection that only LISTENs (see `wait_for_change`).
    listener: Mutex<Option<Client>>,
    /// The dataset this handle read last, the change id and the tables then
    /// (`changes::read_current`).
    held: Mutex<Option<changes::Held>>,
    /// The table whose log triggers keep the log untrusted, once said (`changes::note_untrusted`).
    log_untrusted: Mutex<Option<String>>,
}

impl PostGis {
    /// Connect, apply pending migrations and bring the declared `layers`' tables up to them
    /// (only what adds; see `store::declared::migrate`).
    pub fn open(url: &str, layers: &'static Declarations) -> Result<PostGis> {
        let store = PostGis::connect_only(url, layers)?;
        store.migrate()?;
        store.migrate_layers(false)?;
        Ok(store)
    }

    /// Connect without touching the schema.
    pub fn connect_only(url: &str, layers: &'static Declarations) -> Result<PostGis> {
        let location = redact(url);
        let mut config: Config = url.parse().map_err(|e| {
            Error::store(
                &location,
                format!("not a PostgreSQL URL ({e}); write postgres://user[:password]@host[:port]/database"),
            )
        })?;
        if config.get_ssl_mode() == postgres::config::SslMode::Require {
            return Err(Error::store(
                &location,
                "sslmode=require: gridmap does not speak TLS to PostgreSQL yet; reach the database over a trusted network or a local socket with sslmode=disable or prefer",
            ));
        }
        if config.get_application_name().is_none() {
            config.application_name("gridmap");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let store = PostGis {
            location,
            layers,
            config,
            client: Mutex::new(None),
            listener: Mutex::new(None),
            held: Mutex::new(None),
            log_untrusted: Mutex::new(None),
        };
        store.with_client(|_| Ok(()))?;
        Ok(store)
    }

    /// Apply pending migrations; see `migrations/README.md`. When any was applied, bring the
    /// derived geometry up to date in a transaction of its own (a database at version 2 has
    /// none stored; one statement per table, nothing logged when nothing differs).
    pub fn migrate(&self) -> Result<Applied> {
        let applied = self.with_client(|c| {
            migrate::migrate(c).map_err(|e| match e {
                // What the database said, with its detail and hint (a missing PostGIS names
                // the package), not the driver's bare "db error".
                migrate::MigrateError::Db(e) => self.db_err(e),
                e => self.err(e),
            })
        })?;
        if !applied.applied.is_empty() {
            self.refresh_derived()?;
        }
        Ok(applied)
    }

    /// Recompute and store the derived geometry of everything stored.
    fn refresh_derived(&self) -> Result<()> {
        self.with_client(|client| {
            let db = |e| self.db_err(e);
            let mut tx = begin_write(client).map_err(db)?;
            // Derived geometry comes from the built-in layers alone (and the declared layers'
            // tables may not exist yet: `open` migrates them after this).
            let data = read_dataset(&mut tx).map_err(|e| self.read_err(e))?;
            derived::write_derived(&mut tx, &data, &derive(&data)).map_err(db)?;
            tx.commit().map_err(db)?;
            Ok(())
        })
    }

    /// Every built-in and declared layer, as stored, in the transaction's snapshot.
    fn read_all(&self, tx: &mut Transaction) -> Result<Dataset> {
        let mut data = read_dataset(tx).map_err(|e| self.read_err(e))?;
        let mut tables = PgTables { tx, store: self };
        for &def in &self.layers.layers {
            data.declared.push(crate::model::Shared::new(DeclaredData {
                def,
                features: tables.read(def)?,
            }));
        }
        Ok(data)
    }

    /// Write the declared layers of `after` that differ from `before` (only changed rows are
    /// touched, so only they are logged).
    fn write_declared(
        &self,
        tx: &mut Transaction,
        before: &Dataset,
        after: &Dataset,
    ) -> Result<()> {
        let mut tables = PgTables { tx, store: self };
        for layer in &after.declared {
            if before.declared(layer.def.name) != Some(layer) {
                tables.write(layer.def, &layer.features, true)?;
            }
        }
        Ok(())
    }

    /// One write of the layers, all or nothing: in a write transaction (under the write lock),
    /// `guard` checked on the dataset as stored, then `write` given the transaction and that
    /// dataset, then the guard's audit rows appended and the change log pruned. A retry after a
    /// lost connection runs `write` again, so it is `Fn`.
    fn guarded_write(
        &self,
        guard: Option<&Guard>,
        write: impl Fn(&mut Transaction, Dataset) -> Result<ImportSummary> + Sync,
    ) -> Result<ImportSummary> {
        self.with_client(|client| {
            let db = |e| self.db_err(e);
            let mut tx = begin_write(client).map_err(db)?;
            // What the last read held, patched from the log under the write lock (read whole
            // when the tables are not the ones it read: `changes::read_current`).
            let (_, current) = changes::read_current(self, &mut tx)?;
            if let Some(g) = guard {
                (g.check)(&current)?;
            }
            let summary = write(&mut tx, current)?;
            if let Some(g) = guard {
                access::append(&mut tx, g.audit).map_err(db)?;
            }
            prune_changes(&mut tx).map_err(db)?;
            tx.commit().map_err(|e| self.commit_err(e))?;
            Ok(summary)
        })
    }

    fn connect(&self) -> Result<Client> {
        self.config.connect(NoTls).map_err(|e| self.db_err(e))
    }

    fn lock<'a>(&self, m: &'a Mutex<Option<Client>>) -> Result<MutexGuard<'a, Option<Client>>> {
        m.lock()
            .map_err(|_| self.err("connection lock poisoned by an earlier panic"))
    }

    /// Run `f` on the main connection, (re)connecting first when needed. When the connection
    /// turns out to be closed (the database restarted), reconnect and run `f` once more: every
    /// `f` is one transaction, which a lost connection rolls back, so the retry applies it once.
    /// The exception is a COMMIT whose answer was lost (`StoreFailure::Uncertain`, from
    /// `commit_err`): it may have been applied, so it is never retried.
    fn with_client<R: Send>(&self, f: impl Fn(&mut Client) -> Result<R> + Sync) -> Result<R> {
        off_runtime(|| {
            let mut guard = self.lock(&self.client)?;
            for attempt in 0..2 {
                if guard.as_ref().is_none_or(|c| c.is_closed()) {
                    *guard = Some(self.connect()?);
                }
                let client = guard.as_mut().expect("connected above");
                match f(client) {
                    Err(e) if attempt == 0 && client.is_closed() && !uncertain(&e) => {
                        tracing::warn!(store = %self.location, error = %e, "connection lost; reconnecting");
                        *guard = None;
                    }
                    other => return other,
                }
            }
            unreachable!("the second attempt returns")
        })
    }

    /// Replace every layer with `data` in one transaction (with `only_if_empty`, only when the
    /// store holds nothing). Returns whether it wrote.
    fn write_all(&self, data: &Dataset, progress: Progress, only_if_empty: bool) -> Result<bool> {
        fill::check(data, self.layers, &self.location)?;
        self.with_client(|client| {
            let db = |e| self.db_err(e);
            let mut tx = begin_write(client).map_err(db)?;
            let wrote = fill::fill(
                &mut PgFill {
                    store: self,
                    tx: &mut tx,
                },
                data,
                progress,
                only_if_empty,
            )?;
            if wrote {
                tx.commit().map_err(|e| self.commit_err(e))?;
            }
            Ok(wrote)
        })
    }
}

/// `fill`'s steps in one PostGIS transaction.
struct PgFill<'a, 'b> {
    store: &'a PostGis,
    tx: &'a mut Transaction<'b>,
}

impl fill::Fill for PgFill<'_, '_> {
    fn holds_anything(&mut self) -> Result<bool> {
        let tables = Layer::ALL
            .map(|l| l.name())
            .into_iter()
            .chain(self.store.layers.layers.iter().map(|d| d.name));
        let any = tables
            .map(|t| format!("EXISTS (SELECT 1 FROM \"{t}\")"))
            .collect::<Vec<_>>()
            .join(" OR ");
        self.tx
            .query_one(&format!("SELECT {any}"), &[])
            .map(|r| r.get(0))
            .map_err(|e| self.store.db_err(e))
    }

    fn clear(&mut self, layer: Layer) -> Result<()> {
        self.tx
            .execute(&format!("DELETE FROM {layer}"), &[])
            .map(|_| ())
            .map_err(|e| self.store.db_err(e))
    }

    fn write_layer(&mut self, data: &LayerData, progress: Progress) -> Result<()> {
        copy_in(self.tx, data.layer().name(), data, progress)
            .map(|_| ())
            .map_err(|e| self.store.db_err(e))
    }

    fn write_declared(&mut self, data: &Dataset) -> Result<()> {
        self.store
            .write_declared(self.tx, &Dataset::default(), data)
    }

    fn finish(&mut self, data: &Dataset) -> Result<()> {
        let db = |e| self.store.db_err(e);
        derived::write_derived(self.tx, data, &derive(data)).map_err(db)?;
        prune_changes(self.tx).map_err(db)
    }
}

/// Whether a write failed at its COMMIT with the connection lost: it may have been applied.
fn uncertain(e: &Error) -> bool {
    matches!(
        e,
        Error::Store {
            failure: crate::StoreFailure::Uncertain,
            ..
        }
    )
}

/// A transaction holding the write lock that every writer of the layers takes (see
/// `migrations/0002_change_log.sql`): validation reads and change-log ids stay in commit order.
fn begin_write(client: &mut Client) -> std::result::Result<Transaction<'_>, postgres::Error> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT gridmap_write_lock()", &[])?;
    Ok(tx)
}

/// Upsert the staged rows into the layer's table, touching only rows that differ (so a repeated
/// import changes nothing and logs nothing); with `replace`, first delete what is not staged.
fn merge_staged(
    tx: &mut Transaction,
    layer: Layer,
    replace: bool,
) -> std::result::Result<(), postgres::Error> {
    let (key, cols) = columns(layer);
    if replace {
        tx.execute(
            &format!(
                "DELETE FROM {layer} t WHERE NOT EXISTS (SELECT 1 FROM staging s WHERE s.{key} = t.{key})"
            ),
            &[],
        )?;
    }
    let list = cols.join(", ");
    let others: Vec<&str> = cols.iter().copied().filter(|c| *c != key).collect();
    let set: Vec<String> = others
        .iter()
        .map(|c| format!("{c} = EXCLUDED.{c}"))
        .collect();
    let old: Vec<String> = others.iter().map(|c| format!("t.{c}")).collect();
    let new: Vec<String> = others.iter().map(|c| format!("EXCLUDED.{c}")).collect();
    tx.execute(
        &format!(
            "INSERT INTO {layer} AS t ({list}) SELECT {list} FROM staging
             ON CONFLICT ({key}) DO UPDATE SET {}
             WHERE ({}) IS DISTINCT FROM ({})",
            set.join(", "),
            old.join(", "),
            new.join(", ")
        ),
        &[],
    )?;
    Ok(())
}

/// Drop change-log entries older than `KEEP_CHANGES`, always keeping the latest.
fn prune_changes(tx: &mut Transaction) -> std::result::Result<(), postgres::Error> {
    tx.execute(
        &format!(
            "DELETE FROM change_log WHERE changed_at < now() - interval '{KEEP_CHANGES}'
               AND id < (SELECT max(id) FROM change_log)"
        ),
        &[],
    )?;
    Ok(())
}

impl Store for PostGis {
    fn describe(&self) -> String {
        format!("PostGIS {}", self.location)
    }

    fn load(&self) -> Result<Dataset> {
        self.with_client(|client| {
            let mut tx = changes::snapshot_transaction(client).map_err(|e| self.db_err(e))?;
            let data = self.read_all(&mut tx)?;
            tx.commit().map_err(|e| self.db_err(e))?;
            Ok(data)
        })
    }

    fn import_declared_with(
        &self,
        data: DeclaredData,
        replace: bool,
        guard: Option<&Guard>,
    ) -> Result<ImportSummary> {
        self.guarded_write(guard, |tx, current| {
            let (_, data, summary) = plan_import_declared(current, data.clone(), replace)?;
            PgTables { tx, store: self }.write(data.def, &data.features, replace)?;
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
            PgTables { tx, store: self }.delete(def, keys)?;
            Ok(plan_delete_declared(current, def, keys).1)
        })
    }

    fn declarations(&self) -> &'static Declarations {
        self.layers
    }

    fn migrate_layers(&self, allow_drop: bool) -> Result<Vec<String>> {
        self.with_client(|client| {
            let db = |e| self.db_err(e);
            let mut tx = begin_write(client).map_err(db)?;
            // Servers opening together migrate one at a time (the lock of `migrations`).
            tx.execute("SELECT pg_advisory_xact_lock(7266707371)", &[])
                .map_err(db)?;
            let done = migrate_declared(
                &mut PgTables {
                    tx: &mut tx,
                    store: self,
                },
                self.layers,
                allow_drop,
                &self.location,
            )?;
            tx.commit().map_err(db)?;
            Ok(done)
        })
    }

    fn accounts(&self) -> Result<Vec<StoredAccount>> {
        self.with_client(|c| access::accounts(c).map_err(|e| self.access_err(e)))
    }

    fn put_account(&self, account: &StoredAccount) -> Result<()> {
        self.with_client(|c| access::put_account(c, account).map_err(|e| self.db_err(e)))
    }

    fn append_audit(&self, rows: &[AuditRow]) -> Result<()> {
        self.with_client(|c| {
            let db = |e| self.db_err(e);
            let mut tx = c.transaction().map_err(db)?;
            access::append(&mut tx, rows).map_err(db)?;
            tx.commit().map_err(|e| self.commit_err(e))
        })
    }

    fn append_events(&self, entries: &[Entry]) -> Result<Vec<Entry>> {
        self.with_client(|c| {
            let db = |e| self.db_err(e);
            let mut tx = c.transaction().map_err(db)?;
            let stored = events::append(&mut tx, entries).map_err(db)?;
            tx.commit().map_err(|e| self.commit_err(e))?;
            Ok(stored)
        })
    }

    fn events_since(&self, after_seq: u64, limit: usize) -> Result<Vec<Entry>> {
        self.with_client(|c| {
            events::since(c, after_seq, limit).map_err(|e| match e {
                events::EventError::Db(e) => self.db_err(e),
                events::EventError::Row(text) => {
                    Error::store_failure(&self.location, StoreFailure::Unreadable, text)
                }
            })
        })
    }

    fn add_photo(&self, photo: &Photo, bytes: &[u8]) -> Result<Photo> {
        self.insert_photo(photo, bytes)
    }

    fn photos(&self, event_id: u64) -> Result<Vec<Photo>> {
        self.photo_list(event_id)
    }

    fn photo(&self, event_id: u64, n: u32) -> Result<Option<(Photo, Vec<u8>)>> {
        self.photo_with_bytes(event_id, n)
    }

    fn read_audit(&self, query: &AuditQuery) -> Result<Vec<AuditRow>> {
        self.with_client(|c| access::read(c, query).map_err(|e| self.access_err(e)))
    }

    fn prune_audit(&self, before_s: i64) -> Result<usize> {
        self.with_client(|c| {
            let db = |e| self.db_err(e);
            let mut tx = c.transaction().map_err(db)?;
            let n = access::prune(&mut tx, before_s).map_err(db)?;
            tx.commit().map_err(db)?;
            Ok(n)
        })
    }

    fn import_with(
        &self,
        data: LayerData,
        replace: bool,
        progress: Progress,
        guard: Option<&Guard>,
    ) -> Result<ImportSummary> {
        let layer = data.layer();
        self.guarded_write(guard, |tx, current| {
            let db = |e| self.db_err(e);
            let (after, summary) = plan_import(current.clone(), data.clone(), replace)?;
            let derived = derive(&after);
            tx.batch_execute(&format!(
                "CREATE TEMP TABLE staging (LIKE {layer} INCLUDING DEFAULTS) ON COMMIT DROP"
            ))
            .map_err(db)?;
            copy_in(tx, "staging", &data, progress).map_err(db)?;
            if layer == Layer::Members {
                // Staged as stored, derived points included, so unchanged members merge as
                // unchanged (a repeated import logs nothing).
                derived::place_members(tx, "staging", &after, &derived).map_err(db)?;
            }
            merge_staged(tx, layer, replace).map_err(db)?;
            self.write_declared(tx, &current, &after)?;
            derived::write_derived(tx, &after, &derived).map_err(db)?;
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
            let db = |e| self.db_err(e);
            let (after, summary) = plan_delete(current.clone(), layer, keys)?;
            let (key, _) = columns(layer);
            let cast = if key == "id" { "::bigint[]" } else { "" };
            tx.execute(
                &format!("DELETE FROM {layer} WHERE {key} = ANY($1::text[]{cast})"),
                &[&keys],
            )
            .map_err(db)?;
            self.write_declared(tx, &current, &after)?;
            derived::write_derived(tx, &after, &derive(&after)).map_err(db)?;
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
        self.with_client(|client| changes::latest_change(client).map_err(|e| self.db_err(e)))
    }

    fn wait_for_change(&self, seen: u64, timeout: Duration) -> Result<u64> {
        off_runtime(|| {
            let mut guard = self.lock(&self.listener)?;
            let result = self.listen_once(&mut guard, seen, timeout);
            if result.is_err() {
                *guard = None; // reconnect on the next call
            }
            result
        })
    }

    /// The handle's last read is the base, patched from the change log (`changes::read_current`).
    fn catch_up(&self, seen: Option<u64>, current: &Dataset) -> Result<Option<(u64, Dataset)>> {
        let _ = current;
        self.with_client(|client| changes::catch_up(self, client, seen))
    }
}

impl PostGis {
    fn listen_once(
        &self,
        guard: &mut MutexGuard<'_, Option<Client>>,
        seen: u64,
        timeout: Duration,
    ) -> Result<u64> {
        let db = |e| self.db_err(e);
        if guard.as_ref().is_none_or(|c| c.is_closed()) {
            let mut client = self.connect()?;
            client
                .batch_execute(&format!("LISTEN {CHANNEL}"))
                .map_err(db)?;
            **guard = Some(client);
        }
        let client = guard.as_mut().expect("connected above");
        changes::wait_for_notification(client, seen, timeout).map_err(db)
    }
}

impl Drop for PostGis {
    fn drop(&mut self) {
        // Each client owns a runtime, which must not be dropped inside async code.
        let clients = (
            self.client.get_mut().ok().and_then(Option::take),
            self.listener.get_mut().ok().and_then(Option::take),
        );
        off_runtime(move || drop(clients));
    }
}

/// Run `f` on the current thread, or on a fresh scoped thread when the current one is inside a
/// tokio runtime (where the blocking `postgres` client would panic).
fn off_runtime<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    if tokio::runtime::Handle::try_current().is_err() {
        return f();
    }
    // The caller's log span goes along: what the call logs keeps the request id.
    let span = tracing::Span::current();
    std::thread::scope(|s| match s.spawn(move || span.in_scope(f)).join() {
        Ok(r) => r,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}
