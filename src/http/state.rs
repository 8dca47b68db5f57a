//! What every handler shares: the index, the store, caches and options (the follower that keeps
//! them caught up is `follow.rs`).

use std::sync::{Arc, Mutex};

use crate::Result;
use crate::access::Registry;
use crate::access::audit::Pending;
use crate::desk::Desk;
use crate::events::{Categories, Clock, SystemClock};
use crate::follow::{Follower, SyncState};
use crate::index::{Index, Snapshot};
use crate::model::Dataset;
use crate::store::Store;
use crate::tiles::TileConfig;
use crate::tiles::archive::Archive;
use crate::tiles::cache::TileCache;

/// Tile serving options (from the CLI).
#[derive(Clone, Debug)]
pub struct TileOptions {
    pub config: TileConfig,
    /// Bytes of encoded tiles to keep in memory; 0 turns the cache off.
    pub cache_bytes: usize,
    /// Serve tiles from this PMTiles archive instead of rendering them.
    pub archive: Option<std::path::PathBuf>,
}

impl Default for TileOptions {
    fn default() -> Self {
        TileOptions {
            config: TileConfig::default(),
            cache_bytes: 64 << 20,
            archive: None,
        }
    }
}

/// How long audit rows are kept unless `--audit-days` says otherwise.
pub const DEFAULT_AUDIT_DAYS: u32 = 365;

/// What every handler shares, behind one `Arc`: axum clones the state for each extractor of each
/// request, and one reference count is all that costs (a struct of two dozen `Arc`s cost a tenth
/// of a cached tile's time). Fields read through `Deref`; `with_*` set them before serving.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

#[derive(Clone)]
pub struct Shared {
    pub index: Arc<Index>,
    pub store: Arc<dyn Store>,
    pub tiles: Arc<TileCache>,
    /// The GCJ-02 tile set's own cache (`/tiles/gcj02/...`), as large as the first.
    pub tiles_gcj02: Arc<TileCache>,
    pub tile_options: Arc<TileOptions>,
    /// When set, tiles come from this PMTiles archive instead of being rendered.
    pub archive: Option<Arc<Archive>>,
    /// How far this server has followed the store.
    pub sync: Arc<SyncState>,
    /// The accounts, by token (re-read from the store by the follower every second).
    pub accounts: Arc<Registry>,
    /// Audit rows of reads of personal data, written by the follower within a second.
    pub audit: Arc<Pending>,
    /// Audit rows older than this many days are pruned (`--audit-days`).
    pub audit_days: u32,
    /// Events: their book and the writer of reports and transitions.
    pub events: Arc<Desk>,
    /// Coverage maps computed for recent requests.
    pub coverage: Arc<super::coverage::CoverageCache>,
    /// The live tiles' `metadata.json`, computed once per snapshot generation.
    pub tile_metadata: Arc<PerGeneration<serde_json::Value>>,
    /// Drawn under the layers of the web page; none by default.
    pub basemap: Option<Arc<super::Basemap>>,
    /// The basemap's datum (`--basemap-crs`): the web page draws and asks in it.
    pub basemap_crs: crate::geodesy::Crs,
    /// The base of every absolute link (`https://gis.example.org/gridmap`); when unset, each
    /// request's proxy headers or Host decide (`base_url.rs`).
    pub public_url: Option<Arc<str>>,
    /// Body and time limits, and the caps on requests in flight (`limits.rs`).
    pub gate: Arc<super::limits::Gate>,
    /// Request counts and latencies for `/metrics`.
    pub metrics: Arc<super::metrics::Metrics>,
    /// Set once the server is stopping: event streams end, so shutdown is not held up by them.
    pub stopping: Arc<tokio::sync::watch::Sender<bool>>,
}

/// One value derived from a snapshot, kept until a newer snapshot asks for its own.
#[derive(Debug)]
pub struct PerGeneration<T> {
    latest: Mutex<Option<(u64, Arc<T>)>>,
}

impl<T> Default for PerGeneration<T> {
    fn default() -> Self {
        PerGeneration {
            latest: Mutex::new(None),
        }
    }
}

impl<T> PerGeneration<T> {
    /// The value kept for `generation`, if it is the one kept.
    pub fn get(&self, generation: u64) -> Option<Arc<T>> {
        let latest = self.latest.lock().unwrap_or_else(|e| e.into_inner());
        latest
            .as_ref()
            .filter(|(g, _)| *g == generation)
            .map(|(_, v)| v.clone())
    }

    /// Keep `value` for `generation` unless a newer generation's value is already kept.
    pub fn put(&self, generation: u64, value: T) -> Arc<T> {
        let value = Arc::new(value);
        let mut latest = self.latest.lock().unwrap_or_else(|e| e.into_inner());
        if latest.as_ref().is_none_or(|(g, _)| *g <= generation) {
            *latest = Some((generation, value.clone()));
        }
        value
    }
}

impl AppState {
    /// Load the store into a fresh index, with default tile options.
    pub fn load(store: Arc<dyn Store>) -> Result<AppState> {
        AppState::with_options(store, TileOptions::default())
    }

    pub fn with_options(store: Arc<dyn Store>, tile_options: TileOptions) -> Result<AppState> {
        AppState::with_events(
            store,
            tile_options,
            Categories::shipped(),
            Arc::new(SystemClock),
        )
    }

    /// `with_options` with the event categories and a clock (tests set the time by hand).
    pub fn with_events(
        store: Arc<dyn Store>,
        tile_options: TileOptions,
        categories: Categories,
        clock: Arc<dyn Clock>,
    ) -> Result<AppState> {
        let (version, dataset) = store
            .catch_up(None, &Dataset::default())?
            .ok_or_else(|| crate::Error::store(store.describe(), "read nothing on start"))?;
        let sync = SyncState::at(version);
        let accounts = Registry::new(store.accounts()?);
        let events = Desk::start(store.clone(), categories, clock)?;
        Ok(AppState(Arc::new(Shared {
            events: Arc::new(events),
            index: Arc::new(Index::new(Snapshot::build(dataset))),
            tiles: Arc::new(TileCache::new(tile_options.cache_bytes)),
            tiles_gcj02: Arc::new(TileCache::new(tile_options.cache_bytes)),
            tile_options: Arc::new(tile_options),
            archive: None,
            sync: Arc::new(sync),
            accounts: Arc::new(accounts),
            audit: Arc::default(),
            audit_days: DEFAULT_AUDIT_DAYS,
            coverage: Arc::default(),
            tile_metadata: Arc::default(),
            basemap: None,
            basemap_crs: crate::geodesy::Crs::Wgs84,
            public_url: None,
            gate: Arc::default(),
            metrics: Arc::default(),
            stopping: Arc::new(tokio::sync::watch::Sender::new(false)),
            store,
        })))
    }

    /// The fields, to set before serving (copied if the state is shared already).
    pub fn edit(&mut self) -> &mut Shared {
        Arc::make_mut(&mut self.0)
    }

    /// Build every absolute link from this base instead of the request's headers.
    pub fn with_public_url(mut self, url: &str) -> AppState {
        self.edit().public_url = Some(url.trim_end_matches('/').into());
        self
    }

    /// Draw this basemap under the web page's layers.
    pub fn with_basemap(mut self, basemap: super::Basemap) -> AppState {
        self.edit().basemap = Some(Arc::new(basemap));
        self
    }

    /// Serve within these limits instead of the defaults.
    pub fn with_limits(mut self, limits: super::Limits) -> AppState {
        self.edit().gate = Arc::new(super::limits::Gate::new(limits));
        self
    }

    /// Serve tiles from a PMTiles archive instead of rendering them.
    pub fn with_archive(mut self, archive: Archive) -> AppState {
        self.edit().archive = Some(Arc::new(archive));
        self
    }

    /// This server's follower: what keeps the index and the tile cache caught up with the
    /// store (`follow`), sharing this state's index, store, tiles and sync state.
    pub fn follower(&self) -> Follower {
        Follower {
            index: self.index.clone(),
            store: self.store.clone(),
            tiles: self.tiles.clone(),
            tiles_gcj02: self.tiles_gcj02.clone(),
            tile_config: self.tile_options.config,
            sync: self.sync.clone(),
            accounts: self.accounts.clone(),
            audit: self.audit.clone(),
            audit_days: self.audit_days,
            events: self.events.clone(),
        }
    }

    /// Catch up with the store now (see `Follower::reload`); how many cached tiles were dropped.
    pub fn reload(&self) -> Result<usize> {
        self.follower().reload()
    }
}

#[cfg(test)]
mod tests {
    use super::PerGeneration;

    #[test]
    fn a_value_is_kept_for_its_generation_and_never_replaced_by_an_older_one() {
        let memo = PerGeneration::default();
        assert_eq!(memo.get(1), None);
        memo.put(2, "two");
        assert_eq!(memo.get(2).as_deref(), Some(&"two"));
        assert_eq!(memo.get(1), None);
        // A slow computation for an older snapshot finishing late is answered, not kept.
        assert_eq!(*memo.put(1, "one"), "one");
        assert_eq!(memo.get(2).as_deref(), Some(&"two"));
        memo.put(3, "three");
        assert_eq!(memo.get(2), None);
        assert_eq!(memo.get(3).as_deref(), Some(&"three"));
    }
}
