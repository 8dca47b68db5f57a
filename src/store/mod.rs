//! Persistence. `Store` is the one small trait every backend implements; nothing outside this
//! module knows SQL. The embedded GeoPackage file is the default backend.

mod blob;
mod changes;
pub mod declared;
mod event_rows;
mod fill;
pub mod foreign;
mod gpkg;
mod gpkg_access;
mod gpkg_changes;
mod gpkg_derived;
mod gpkg_events;
mod gpkg_rows;
mod gpkg_schema;
mod gpkg_tables;
mod postgis;
mod rows;

pub use gpkg::GeoPackage;
pub use postgis::{MIGRATIONS, PostGis};

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::access::StoredAccount;
use crate::access::audit::{AuditQuery, AuditRow};
use crate::events::Entry;
use crate::events::photos::Photo;
use crate::model::declared::Declarations;
use crate::model::records::{DeclaredData, Units, complete, refill_parents_from};
use crate::model::schema::LayerDef;
use crate::model::{Dataset, Layer, LayerData, ValidationReport, validate_dataset_with};
use crate::{Error, Result};

/// How many features an import added, changed and removed.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportSummary {
    /// The layer's name (a built-in or a declared layer).
    pub layer: Option<&'static str>,
    pub inserted: usize,
    pub updated: usize,
    pub deleted: usize,
}

/// Progress of a long write: (features written, features to write).
pub type Progress<'a> = &'a (dyn Fn(usize, usize) + Sync);

/// What a write through the API brings besides its data: a check of the dataset as it stands
/// inside the write's transaction, under the write lock (an `If-Match` precondition, a create's
/// "not there yet"), and the audit rows committed with the write.
pub struct Guard<'a> {
    pub check: &'a (dyn Fn(&Dataset) -> Result<()> + Sync),
    pub audit: &'a [AuditRow],
}

pub trait Store: Send + Sync {
    /// Where the data lives, with any secret redacted (for logs and `--help`).
    fn describe(&self) -> String;

    /// Whether other users of this machine may read the store (a file with group or other
    /// read bits); the server warns, as it holds personal data and accounts.
    fn readable_by_others(&self) -> bool {
        false
    }

    /// Every layer, as stored.
    fn load(&self) -> Result<Dataset>;

    /// Upsert `data` into its layer (or replace the layer), validating the whole resulting dataset
    /// first; with a `guard` (an API write), `guard.check` passes on the dataset inside the
    /// transaction first and `guard.audit` is appended in it. All or nothing: on any error, or a
    /// crash, the stored data is unchanged.
    fn import_with(
        &self,
        data: LayerData,
        replace: bool,
        progress: Progress,
        guard: Option<&Guard>,
    ) -> Result<ImportSummary>;

    /// Delete the features of `layer` whose key (code, or id as text) is in `keys`, validating the
    /// whole resulting dataset first (a delete that orphans children is refused), guarded as
    /// `import_with`. All or nothing.
    fn delete_with(
        &self,
        layer: Layer,
        keys: &[String],
        guard: Option<&Guard>,
    ) -> Result<ImportSummary>;

    /// `import_with` without a guard (`gridmap import`).
    fn import(&self, data: LayerData, replace: bool, progress: Progress) -> Result<ImportSummary> {
        self.import_with(data, replace, progress, None)
    }

    /// `import_with` of one API write.
    fn import_guarded(&self, data: LayerData, guard: &Guard) -> Result<ImportSummary> {
        self.import_with(data, false, &|_, _| {}, Some(guard))
    }

    /// `delete_with` without a guard.
    fn delete(&self, layer: Layer, keys: &[String]) -> Result<ImportSummary> {
        self.delete_with(layer, keys, None)
    }

    /// `delete_with` of one API write.
    fn delete_guarded(
        &self,
        layer: Layer,
        keys: &[String],
        guard: &Guard,
    ) -> Result<ImportSummary> {
        self.delete_with(layer, keys, Some(guard))
    }

    /// Every account, revoked ones too, by name.
    fn accounts(&self) -> Result<Vec<StoredAccount>>;

    /// Add an account, or change it (a new token, a revocation), by name.
    fn put_account(&self, account: &StoredAccount) -> Result<()>;

    /// Append rows to the audit log (their ids are the store's).
    fn append_audit(&self, rows: &[AuditRow]) -> Result<()>;

    /// Rows of the audit log, newest first.
    fn read_audit(&self, query: &AuditQuery) -> Result<Vec<AuditRow>>;

    /// Delete the audit rows from before `before_s` (Unix seconds): the one change the log
    /// allows. How many went.
    fn prune_audit(&self, before_s: i64) -> Result<usize>;

    /// Append entries to the event log in one transaction, all or nothing: a report's event
    /// gets its id, every step its sequence number (in commit order: a follower that has read
    /// up to N never misses an entry below N committed later). A step whose number its event
    /// already has is refused (`StoreFailure::Rejected`): another server took that step first.
    /// Returns the entries as stored.
    fn append_events(&self, entries: &[Entry]) -> Result<Vec<Entry>>;

    /// The event log's entries after sequence number `after_seq`, in order, at most `limit`.
    fn events_since(&self, after_seq: u64, limit: usize) -> Result<Vec<Entry>>;

    /// Add a photo to event `photo.event_id` as its next number (1 to `MAX_PHOTOS`, which the
    /// answer carries); `Error::Refused` when it holds that many already or the case is closed
    /// (both decided inside the write's transaction, after any step committed before it).
    fn add_photo(&self, photo: &Photo, bytes: &[u8]) -> Result<Photo>;

    /// The photos of an event, in order, without their bytes.
    fn photos(&self, event_id: u64) -> Result<Vec<Photo>>;

    /// Photo `n` of an event with its bytes.
    fn photo(&self, event_id: u64, n: u32) -> Result<Option<(Photo, Vec<u8>)>>;

    /// Upsert `data` into its declared layer (or replace the layer), after checking it against
    /// its declaration and filling each feature's town, village and grid; guarded as
    /// `import_with`. All or nothing.
    fn import_declared_with(
        &self,
        data: DeclaredData,
        replace: bool,
        guard: Option<&Guard>,
    ) -> Result<ImportSummary>;

    /// Delete the features of declared layer `def` whose key is in `keys`, guarded as
    /// `import_with`. All or nothing.
    fn delete_declared_with(
        &self,
        def: &'static LayerDef,
        keys: &[String],
        guard: Option<&Guard>,
    ) -> Result<ImportSummary>;

    /// `import_declared_with` without a guard (`gridmap import --layer NAME`).
    fn import_declared(&self, data: DeclaredData, replace: bool) -> Result<ImportSummary> {
        self.import_declared_with(data, replace, None)
    }

    /// The declared layers this store was opened with.
    fn declarations(&self) -> &'static Declarations;

    /// Bring the declared layers' tables to the declarations (see `declared::migrate`); with
    /// `allow_drop`, also drop what is no longer declared. One line per change made.
    fn migrate_layers(&self, allow_drop: bool) -> Result<Vec<String>>;

    /// Replace every layer with `data` in one transaction (used to load the sample).
    fn replace_all(&self, data: &Dataset, progress: Progress) -> Result<()>;

    /// Load `data` into every layer, in one transaction, only when the store holds no feature at
    /// all (checked inside that transaction). Returns whether it did.
    fn fill_if_empty(&self, data: &Dataset, progress: Progress) -> Result<bool>;

    /// A number that changes whenever any process commits a change to the store (for PostGIS,
    /// the id of the latest change-log entry).
    fn version(&self) -> Result<u64>;

    /// Block until the version differs from `seen` or `timeout` passes, and return the version
    /// then. An error means the store is unreachable; the next call reconnects. The default polls.
    fn wait_for_change(&self, seen: u64, timeout: Duration) -> Result<u64> {
        let deadline = Instant::now() + timeout;
        loop {
            let now = self.version()?;
            if now != seen || Instant::now() >= deadline {
                return Ok(now);
            }
            std::thread::sleep(POLL_INTERVAL.min(deadline - Instant::now()));
        }
    }

    /// The dataset as of the store's current version, given the `current` one at version `seen`
    /// (`None`: nothing loaded yet). `Ok(None)` when nothing changed since `seen`. Backends with
    /// a change log read only the changed features; the default reads everything.
    fn catch_up(&self, seen: Option<u64>, current: &Dataset) -> Result<Option<(u64, Dataset)>> {
        let _ = current;
        let version = self.version()?;
        if seen == Some(version) {
            return Ok(None);
        }
        Ok(Some((version, self.load()?)))
    }
}

/// Why a store refused a photo, decided inside the write's transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PhotoRefusal {
    /// The case is closed (its last step a close or an evaluation).
    Closed,
    /// It holds `MAX_PHOTOS` already.
    Full,
}

impl PhotoRefusal {
    /// Whether a case whose last step is `action` takes no more photos.
    fn closed_by(action: &str) -> bool {
        matches!(action, "close" | "evaluate")
    }

    fn error(self, event_id: u64) -> Error {
        Error::Refused(match self {
            PhotoRefusal::Closed => format!(
                "event {event_id} is closed; photos are taken until it is closed; nothing was added"
            ),
            PhotoRefusal::Full => format!(
                "event {event_id} holds {} photos, the most an event takes; nothing was added",
                crate::events::photos::MAX_PHOTOS
            ),
        })
    }
}

/// How often the default `wait_for_change` asks for the version.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Open a store from a `--store` value: a `postgres://` URL (PostGIS; pending migrations are
/// applied) or a file path (GeoPackage, created when missing), with the declared layers of
/// `layers` (their tables created or extended; a change that could lose data is refused).
pub fn open(location: &str, layers: &'static Declarations) -> Result<Arc<dyn Store>> {
    if is_postgres(location) {
        return Ok(Arc::new(PostGis::open(location, layers)?));
    }
    Ok(Arc::new(GeoPackage::open(location, layers)?))
}

/// Whether a `--store` value names a PostgreSQL database.
pub fn is_postgres(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

/// A connection string with its password replaced by `***`.
pub fn redact(location: &str) -> String {
    match (location.find("://"), location.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &location[scheme + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &location[..scheme + 3],
                    &userinfo[..colon],
                    &location[at..]
                ),
                None => location.to_string(),
            }
        }
        _ => location.to_string(),
    }
}

/// Give the declared features their parents anew, then validate `d`: with one index of the
/// units for both (building it is most of a write's checks at `--scale 100`).
fn refill_and_validate(d: &mut Dataset) -> ValidationReport {
    let units = Units::new(&d.towns, &d.villages, &d.grids);
    refill_parents_from(&mut d.declared, &units);
    validate_dataset_with(d, &units)
}

/// The dataset after an import, validated, with the counts of what changes. Shared by backends.
pub fn plan_import(
    mut current: Dataset,
    data: LayerData,
    replace: bool,
) -> Result<(Dataset, ImportSummary)> {
    let layer = data.layer();
    let before = keys(&current.layer(layer));
    let incoming = keys(&data);
    current.apply(data, replace);
    let report = refill_and_validate(&mut current);
    if !report.is_ok() {
        return Err(Error::Invalid(report));
    }
    let updated = incoming.iter().filter(|k| before.contains(*k)).count();
    let summary = ImportSummary {
        layer: Some(layer.name()),
        inserted: incoming.len() - updated,
        updated,
        deleted: if replace {
            before.iter().filter(|k| !incoming.contains(*k)).count()
        } else {
            0
        },
    };
    Ok((current, summary))
}

/// The dataset after deleting `keys` from `layer`, validated, with the count of what goes.
pub fn plan_delete(
    mut current: Dataset,
    layer: Layer,
    keys: &[String],
) -> Result<(Dataset, ImportSummary)> {
    let before = current.count(layer);
    current.remove(layer, &keys.iter().cloned().collect());
    let report = refill_and_validate(&mut current);
    if !report.is_ok() {
        return Err(Error::Invalid(report));
    }
    let summary = ImportSummary {
        layer: Some(layer.name()),
        deleted: before - current.count(layer),
        ..ImportSummary::default()
    };
    Ok((current, summary))
}

/// The dataset after an import into a declared layer, checked, with the counts of what changes.
pub fn plan_import_declared(
    mut current: Dataset,
    mut data: DeclaredData,
    replace: bool,
) -> Result<(Dataset, DeclaredData, ImportSummary)> {
    let report = complete(&mut data, &current);
    if !report.is_ok() {
        return Err(Error::Invalid(report));
    }
    let before: std::collections::HashSet<String> = current
        .declared(data.def.name)
        .map(|d| d.features.iter().map(|r| r.key.clone()).collect())
        .unwrap_or_default();
    let incoming: std::collections::HashSet<String> =
        data.features.iter().map(|r| r.key.clone()).collect();
    let updated = incoming.iter().filter(|k| before.contains(*k)).count();
    let summary = ImportSummary {
        layer: Some(data.def.name),
        inserted: incoming.len() - updated,
        updated,
        deleted: if replace {
            before.iter().filter(|k| !incoming.contains(*k)).count()
        } else {
            0
        },
    };
    current.apply_declared(data.clone(), replace);
    current.sort_by_key();
    Ok((current, data, summary))
}

/// The dataset after deleting `keys` from declared layer `def`, with the count of what goes.
/// Nothing refers to a declared feature, so nothing else changes.
pub fn plan_delete_declared(
    mut current: Dataset,
    def: &'static LayerDef,
    keys: &[String],
) -> (Dataset, ImportSummary) {
    let keys: std::collections::HashSet<&str> = keys.iter().map(String::as_str).collect();
    let mut deleted = 0;
    if let Some(layer) = current.declared.iter_mut().find(|d| d.def.name == def.name) {
        let before = layer.features.len();
        layer.features.retain(|r| !keys.contains(r.key.as_str()));
        deleted = before - layer.features.len();
    }
    let summary = ImportSummary {
        layer: Some(def.name),
        deleted,
        ..ImportSummary::default()
    };
    (current, summary)
}

fn keys(data: &LayerData) -> std::collections::HashSet<String> {
    data.keys().into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::validate_dataset;
    use serde_json::Value;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://gm:s3cret@db:5432/gridmap"),
            "postgres://gm:***@db:5432/gridmap"
        );
        assert_eq!(
            redact("postgres://gm@db/gridmap"),
            "postgres://gm@db/gridmap"
        );
        assert_eq!(redact("data/gridmap.gpkg"), "data/gridmap.gpkg");
    }

    #[test]
    fn any_write_mends_parent_fields_another_program_left_stale() {
        let before = crate::sample::dataset().unwrap();
        // A declared feature placed by where it stands, its grid_code changed behind gridmap's
        // back (a unit or the feature edited in QGIS leaves the same).
        let (l, at) = before
            .declared
            .iter()
            .enumerate()
            .find_map(|(l, layer)| {
                let at = layer.def.position("grid_code")?;
                (layer.def.origin == crate::model::schema::Origin::DeclaredByContainment
                    && !layer.features.is_empty())
                .then_some((l, at))
            })
            .expect("a declared layer placed by containment, with a grid_code");
        let right = before.declared[l].features[0].values[at].clone();
        assert!(right.is_string(), "{right}");
        let mut stale = before.clone();
        let other = before
            .grids
            .iter()
            .find(|g| right != g.code.as_str())
            .unwrap();
        stale.declared[l].features[0].values[at] = Value::from(other.code.as_str());
        assert!(!validate_dataset(&stale).is_ok());
        // A post renamed: the write passes, and the stale field is mended.
        let mut post = (*stale.stations[0]).clone();
        post.name = "驿站".into();
        let (after, _) =
            plan_import(stale.clone(), LayerData::Stations(vec![post]), false).unwrap();
        assert_eq!(after.declared[l].features[0].values[at], right);
        // Layers with nothing to mend stay the very ones they were.
        for (n, (a, b)) in after.declared.iter().zip(&stale.declared).enumerate() {
            assert_eq!(crate::model::Shared::same(a, b), n != l, "{}", a.def.name);
        }
    }
}
