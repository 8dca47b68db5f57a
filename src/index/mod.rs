//! The in-memory spatial index over every layer, and the queries on it.
//!
//! A `Snapshot` is immutable: built from a `Dataset` (anew, or from its predecessor, reusing what
//! a change did not touch: `build_after`), then shared. `Index` holds the current
//! snapshot behind an atomic pointer, so readers never wait for a rebuild: a writer builds a new
//! snapshot aside and swaps it in. No rstar type leaves this module.

pub mod access;
mod build;
mod changes;
mod compare;
mod declared;
pub mod geocode;
mod nearest;
mod queries;
mod search;
mod text;
mod text_edits;

pub use queries::{Location, Nearby};
pub use search::{Hit, Match};

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use arc_swap::ArcSwap;
use geo::{MonotonicPolygons, MultiPolygon, Point};
use rstar::RTree;
use rstar::primitives::{GeomWithData, Rectangle};

use crate::geodesy::LowerBoundPlane;
use crate::model::{Dataset, Layer};

type AreaTree = RTree<GeomWithData<Rectangle<[f64; 2]>, usize>, Params>;
type PointTree = RTree<GeomWithData<[f64; 2], usize>, Params>;

/// Nodes of up to 16 children (rstar's default is 6): shallower trees, measured ~20% faster
/// point location and radius search on 200k grids (BENCHMARKS.md).
#[derive(Clone)]
struct Params;

impl rstar::RTreeParams for Params {
    const MIN_SIZE: usize = 4;
    const MAX_SIZE: usize = 16;
    const REINSERTION_COUNT: usize = 4;
    type DefaultInsertionStrategy = rstar::RStarInsertionStrategy;
}

/// An immutable, fully indexed dataset. Feature positions (`usize`) index the dataset's vectors.
pub struct Snapshot {
    /// Increases with every snapshot swapped into an `Index` (0 for one built alone).
    pub generation: u64,
    data: Dataset,
    towns: Arc<AreaTree>,
    villages: Arc<AreaTree>,
    grids: Arc<AreaTree>,
    /// Stations in a plane whose distances bound geodesic ones from below (see `nearest`).
    stations_plane: Arc<PointTree>,
    plane: LowerBoundPlane,
    /// Typical distance between neighbouring stations: the first search radius for `nearest`.
    station_spacing_m: f64,
    stations: Arc<PointTree>,
    members: Arc<PointTree>,
    alliances: Arc<AreaTree>,
    /// Derived alliance footprints: the union of member village polygons.
    alliance_footprints: Arc<Vec<Option<MultiPolygon>>>,
    /// Where each member is drawn: its own point, or an interior point of its village.
    member_locations: Arc<Vec<Option<Point>>>,
    /// Point-in-polygon accelerators for large town, village and grid polygons.
    prepared: Prepared,
    keys: Keys,
    /// One index per declared layer, in `data.declared` order.
    declared: Vec<Arc<declared::DeclaredIndex>>,
    /// Addresses to buildings, built on first use (most snapshots never geocode).
    geocoder: std::sync::OnceLock<geocode::Geocoder>,
    /// Names and keys for `/search`: the previous snapshot's when no key or name changed, or
    /// that with the renamed features' entries laid over it (`text_edits`) when only names
    /// changed in place; built anew by `Index`'s thread when there is none or too many entries
    /// are laid over (`text_edits::MAX_STALE`), the one laid over answering meanwhile.
    text: arc_swap::ArcSwapOption<text_edits::SearchIndex>,
    /// What outer modules derive from this snapshot and keep as long as it lives (`derived`).
    derived: Derived,
}

/// Per-snapshot data of types this module does not know (the tiles' projected and simplified
/// shapes), one value per type: what `http::Extensions` is to a request.
#[derive(Default)]
struct Derived(std::sync::Mutex<Vec<Arc<dyn std::any::Any + Send + Sync>>>);

/// Monotone subdivisions (O(log n) point-in-polygon) of polygons with many vertices, by position;
/// `None` for small polygons, which are tested directly.
/// Shared between snapshots while the layer's geometry does not change.
struct Prepared {
    towns: Accelerators,
    villages: Accelerators,
    grids: Accelerators,
}

/// One layer's point-in-polygon accelerators, by position (`None`: tested directly).
type Accelerators = Arc<Vec<Option<Arc<MonotonicPolygons<f64>>>>>;

/// Lookups by code or id, and the links between layers; each shared between snapshots while what
/// it is made from does not change (see `build_after`).
#[derive(Default)]
struct Keys {
    town: Arc<HashMap<String, usize>>,
    village: Arc<HashMap<String, usize>>,
    grid: Arc<HashMap<String, usize>>,
    station: Arc<HashMap<u64, usize>>,
    alliance: Arc<HashMap<u64, usize>>,
    member: Arc<HashMap<u64, usize>>,
    /// By grid position: its village's position (when the village exists).
    village_of_grid: Arc<Vec<Option<usize>>>,
    /// By village position: its town's position.
    town_of_village: Arc<Vec<Option<usize>>>,
    /// By grid position: the positions of its stations.
    stations_in_grid: Arc<Vec<Vec<usize>>>,
    /// By village position: the positions of the alliances it belongs to.
    alliances_of_village: Arc<Vec<Vec<usize>>>,
}

impl Snapshot {
    /// The geocoder of this snapshot's buildings (built on the first call).
    pub fn geocoder(&self) -> &geocode::Geocoder {
        self.geocoder
            .get_or_init(|| geocode::Geocoder::build(&self.data))
    }

    /// The `T` derived from this snapshot: made by `T::default()` on the first call, then shared
    /// by every caller until the snapshot is dropped. For caches an outer module fills as it
    /// reads the snapshot, which must fill it from this snapshot's data only (or begin it with
    /// what a predecessor prepared from records the two share, as `tiles::carry_over` does).
    pub fn derived<T: Default + Send + Sync + 'static>(&self) -> Arc<T> {
        let mut values = self.derived.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(found) = values.iter().find_map(|v| v.clone().downcast::<T>().ok()) {
            return found;
        }
        let made = Arc::new(T::default());
        values.push(made.clone());
        made
    }

    pub fn dataset(&self) -> &Dataset {
        &self.data
    }

    pub fn alliance_footprint(&self, i: usize) -> Option<&MultiPolygon> {
        self.alliance_footprints.get(i).and_then(Option::as_ref)
    }

    pub fn member_location(&self, i: usize) -> Option<Point> {
        self.member_locations.get(i).copied().flatten()
    }

    /// The public GeoJSON feature at position `i` of `layer` (no personal fields), with derived
    /// geometry for alliances and village members. What the API and the tiles show.
    pub fn public_feature(&self, layer: Layer, i: usize) -> geojson::Feature {
        self.feature_visible(layer, i, crate::model::geojson::Visibility::Public)
    }

    /// The feature at position `i` of `layer` with the fields up to `vis`.
    pub fn feature_visible(
        &self,
        layer: Layer,
        i: usize,
        vis: crate::model::geojson::Visibility,
    ) -> geojson::Feature {
        use crate::model::geojson::*;
        let d = &self.data;
        match layer {
            Layer::Towns => town_feature(&d.towns[i], vis),
            Layer::Villages => village_feature(&d.villages[i], vis),
            Layer::Grids => grid_feature(&d.grids[i], vis),
            Layer::Stations => station_feature(&d.stations[i], vis),
            Layer::Alliances => alliance_feature(&d.alliances[i], vis, self.alliance_footprint(i)),
            Layer::Members => member_feature(&d.members[i], vis, self.member_location(i)),
        }
    }
}

/// The current snapshot, swapped atomically on change.
pub struct Index {
    current: Arc<ArcSwap<Snapshot>>,
    /// To a thread that builds the newest snapshot's text index when it has none or one with too
    /// many renames laid over (one at a time, the newest of those sent meanwhile; then it lays
    /// the renames of the snapshot served by then over that build: `refresh_search_index`). It
    /// ends with the `Index`.
    warm: std::sync::mpsc::Sender<Weak<Snapshot>>,
}

impl Index {
    pub fn new(snapshot: Snapshot) -> Index {
        let (warm, newest) = std::sync::mpsc::channel::<Weak<Snapshot>>();
        let current = Arc::new(ArcSwap::from_pointee(snapshot));
        let served = current.clone();
        let spawned = std::thread::Builder::new()
            .name("text-index".into())
            .spawn(move || {
                while let Ok(mut snapshot) = newest.recv() {
                    while let Ok(newer) = newest.try_recv() {
                        snapshot = newer;
                    }
                    if let Some(snapshot) = snapshot.upgrade() {
                        snapshot.refresh_search_index(&served.load());
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("no thread to build the text index: searches scan every name: {e}");
        }
        let index = Index { current, warm };
        index.warm_up();
        index
    }

    /// The snapshot to answer one request from; later swaps do not affect it.
    pub fn load(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// Swap in `snapshot` as the next generation; returns its generation and the previous
    /// snapshot, for the caller to drop when it suits (freeing a large one takes a while).
    pub fn replace(&self, mut snapshot: Snapshot) -> (u64, Arc<Snapshot>) {
        snapshot.generation = self.current.load().generation + 1;
        let generation = snapshot.generation;
        let previous = self.current.swap(Arc::new(snapshot));
        self.warm_up();
        (generation, previous)
    }

    fn warm_up(&self) {
        // Nobody to receive only when the thread could not start.
        let _ = self.warm.send(Arc::downgrade(&self.current.load()));
    }
}

impl Snapshot {
    /// The bounding box of a layer's geometries, from its R-tree root; `None` when it has none.
    pub fn extent(&self, layer: Layer) -> Option<crate::model::Bbox> {
        let envelope = match layer {
            Layer::Towns => (self.towns.size() > 0).then(|| self.towns.root().envelope()),
            Layer::Villages => (self.villages.size() > 0).then(|| self.villages.root().envelope()),
            Layer::Grids => (self.grids.size() > 0).then(|| self.grids.root().envelope()),
            Layer::Alliances => {
                (self.alliances.size() > 0).then(|| self.alliances.root().envelope())
            }
            Layer::Stations => (self.stations.size() > 0).then(|| self.stations.root().envelope()),
            Layer::Members => (self.members.size() > 0).then(|| self.members.root().envelope()),
        }?;
        let (lo, hi) = (envelope.lower(), envelope.upper());
        Some(crate::model::Bbox {
            min_lon: lo[0],
            min_lat: lo[1],
            max_lon: hi[0],
            max_lat: hi[1],
        })
    }
}
