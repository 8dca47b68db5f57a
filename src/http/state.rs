//! What every handler shares, and how it follows the store.

use std::sync::Arc;

use crate::Result;
use crate::index::{Index, Snapshot};
use crate::store::Store;
use crate::tiles::archive::Archive;
use crate::tiles::cache::TileCache;
use crate::tiles::{self, TileConfig};

/// Tile serving options (from the CLI).
#[derive(Clone, Debug)]
pub struct TileOptions {
    pub config: TileConfig,
    /// Bytes of encoded tiles to keep in memory; 0 turns the cache off.
    pub cache_bytes: usize,
    /// The public base URL for tile URLs in TileJSON (`https://map.example.gov.cn`); the request's
    /// Host header when unset.
    pub public_url: Option<String>,
    /// Serve tiles from this PMTiles archive instead of rendering them.
    pub archive: Option<std::path::PathBuf>,
}

impl Default for TileOptions {
    fn default() -> Self {
        TileOptions {
            config: TileConfig::default(),
            cache_bytes: 64 << 20,
            public_url: None,
            archive: None,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub index: Arc<Index>,
    pub store: Arc<dyn Store>,
    pub tiles: Arc<TileCache>,
    pub tile_options: Arc<TileOptions>,
    /// When set, tiles come from this PMTiles archive instead of being rendered.
    pub archive: Option<Arc<Archive>>,
}

impl AppState {
    /// Load the store into a fresh index, with default tile options.
    pub fn load(store: Arc<dyn Store>) -> Result<AppState> {
        AppState::with_options(store, TileOptions::default())
    }

    pub fn with_options(store: Arc<dyn Store>, tile_options: TileOptions) -> Result<AppState> {
        let snapshot = Snapshot::build(store.load()?);
        Ok(AppState {
            index: Arc::new(Index::new(snapshot)),
            tiles: Arc::new(TileCache::new(tile_options.cache_bytes)),
            tile_options: Arc::new(tile_options),
            archive: None,
            store,
        })
    }

    /// Serve tiles from a PMTiles archive instead of rendering them.
    pub fn with_archive(mut self, archive: Archive) -> AppState {
        self.archive = Some(Arc::new(archive));
        self
    }

    /// Rebuild the index from the store and swap it in (readers keep their snapshot meanwhile),
    /// then drop exactly the cached tiles that show a changed feature, at every zoom. Returns how
    /// many tiles were dropped.
    pub fn reload(&self) -> Result<usize> {
        let newer = Snapshot::build(self.store.load()?);
        let areas = self.index.load().changed_areas(&newer);
        let generation = self.index.replace(newer);
        let config = &self.tile_options.config;
        Ok(self.tiles.invalidate(
            |c| areas.iter().any(|a| tiles::touches(c, a, config)),
            generation,
        ))
    }
}
