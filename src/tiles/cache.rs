//! An in-memory cache of encoded tiles, bounded in bytes, least recently used out first.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use super::TileCoord;

/// An encoded tile, its gzip form (made when a client first asks for it) and an ETag for each.
#[derive(Debug)]
pub struct EncodedTile {
    pub raw: Vec<u8>,
    /// Made on first use: a client that does not take gzip (a script, a tile seeder, `wrk`)
    /// does not pay for it. `None` inside if compressing failed (logged): the tile is then
    /// served as it is.
    gzip: OnceLock<Option<Vec<u8>>>,
    /// Strong validators of `raw` and of the gzip form (see [`etags`]).
    pub etag: String,
    pub etag_gzip: String,
    /// Per tile layer, how many features carry personal data in clear (`render::Rendered`):
    /// each response with the tile adds an audit row, a cached one too.
    pub personal: Vec<(&'static str, usize)>,
}

impl EncodedTile {
    pub fn new(raw: Vec<u8>) -> EncodedTile {
        let (etag, etag_gzip) = etags(&raw);
        EncodedTile {
            raw,
            gzip: OnceLock::new(),
            etag,
            etag_gzip,
            personal: Vec::new(),
        }
    }

    /// A tile rendered for a caller, with its count of personal data.
    pub fn rendered(r: super::Rendered) -> EncodedTile {
        EncodedTile {
            personal: r.personal,
            ..EncodedTile::new(r.bytes)
        }
    }

    /// The gzip form, compressed now if no client asked for it before (a few milliseconds for
    /// a large tile: call it off the async runtime, as rendering is). `None` when compressing
    /// failed or did not make the tile smaller: the tile is then served as it is.
    pub fn gzip(&self) -> Option<&[u8]> {
        self.gzip
            .get_or_init(|| {
                gzip(&self.raw, flate2::Compression::fast()).filter(|g| g.len() < self.raw.len())
            })
            .as_deref()
    }

    /// Whether the gzip form is made (or known not to be worth it).
    pub fn has_gzip(&self) -> bool {
        self.gzip.get().is_some()
    }

    /// What the tile may come to hold, for the cache's budget: the gzip form counted at its size
    /// once made, else at the tile's (a gzip form is kept only when smaller), so that making it
    /// later never takes the cache over its budget. A tile cached for a client that takes no
    /// gzip is counted twice over until then.
    fn size(&self) -> usize {
        let gzip = match self.gzip.get() {
            Some(made) => made.as_ref().map_or(0, Vec::len),
            None => self.raw.len(),
        };
        self.raw.len() + gzip + 96
    }
}

/// The strong ETags of `bytes` served as they are and gzipped: XXH3-64 of the bytes and their
/// length, the same on every server for the same bytes; the gzip form (other bytes, so another
/// representation, RFC 9110 §8.8.3) has `-gzip` inside the quotes, as Apache's mod_deflate does.
/// Tiles and the web map's files are tagged with it.
pub fn etags(bytes: &[u8]) -> (String, String) {
    let hash = twox_hash::XxHash3_64::oneshot(bytes);
    let tag = format!("{hash:016x}-{:x}", bytes.len());
    (format!("\"{tag}\""), format!("\"{tag}-gzip\""))
}

/// `bytes` gzipped; `None`, logged, if compressing failed (the identity form is then served).
/// Tiles (fast) and the web map's files (best) are compressed with it.
pub fn gzip(bytes: &[u8], level: flate2::Compression) -> Option<Vec<u8>> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), level);
    match gz.write_all(bytes).and_then(|_| gz.finish()) {
        Ok(gzip) => Some(gzip),
        Err(e) => {
            tracing::error!(error = %e, "gzip failed; serving the identity form");
            None
        }
    }
}

/// A cached tile's address: the scope it was rendered for (`PUBLIC`, or an area's view, see
/// `index::access::Scope::cache_key`) and its coordinates.
type Key = (u64, TileCoord);

/// The scope of the public tiles.
pub const PUBLIC: u64 = 0;

#[derive(Default)]
struct Inner {
    /// Each tile with its last use and the bytes counted for it when it came in.
    tiles: HashMap<Key, (Arc<EncodedTile>, u64, usize)>,
    /// Use order: tick -> tile.
    order: BTreeMap<u64, Key>,
    bytes: usize,
    tick: u64,
    /// The snapshot generation of the last invalidation: tiles rendered from older snapshots
    /// are not cached any more (they may predate the change).
    generation: u64,
}

/// Tiles by scope and address, at most `max_bytes` in all (0 turns the cache off). Public tiles
/// and each area's scoped tiles share the budget; a change drops the touched tiles of every
/// scope.
pub struct TileCache {
    max_bytes: usize,
    inner: Mutex<Inner>,
    /// Lookups answered from the cache, and not (for `/metrics`).
    hits: AtomicU64,
    misses: AtomicU64,
}

impl TileCache {
    pub fn new(max_bytes: usize) -> TileCache {
        TileCache {
            max_bytes,
            inner: Mutex::new(Inner::default()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves a consistent map (every step is a whole insert or
        // remove), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A public tile.
    pub fn get(&self, coord: TileCoord) -> Option<Arc<EncodedTile>> {
        self.get_in(PUBLIC, coord)
    }

    /// A tile of `scope`.
    pub fn get_in(&self, scope: u64, coord: TileCoord) -> Option<Arc<EncodedTile>> {
        let key = (scope, coord);
        let mut inner = self.lock();
        inner.tick += 1;
        let tick = inner.tick;
        let Some((tile, old)) = inner
            .tiles
            .get_mut(&key)
            .map(|(t, used, _)| (t.clone(), std::mem::replace(used, tick)))
        else {
            self.misses.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        self.hits.fetch_add(1, Ordering::Relaxed);
        inner.order.remove(&old);
        inner.order.insert(tick, key);
        Some(tile)
    }

    /// Cache a public tile rendered from the snapshot of `generation`.
    pub fn put(&self, coord: TileCoord, tile: Arc<EncodedTile>, generation: u64) {
        self.put_in(PUBLIC, coord, tile, generation)
    }

    /// Cache a tile of `scope` rendered from the snapshot of `generation`.
    pub fn put_in(&self, scope: u64, coord: TileCoord, tile: Arc<EncodedTile>, generation: u64) {
        let key = (scope, coord);
        let size = tile.size();
        if size > self.max_bytes {
            return;
        }
        let mut inner = self.lock();
        if generation < inner.generation {
            return;
        }
        inner.tick += 1;
        let tick = inner.tick;
        if let Some((_, used, old_size)) = inner.tiles.insert(key, (tile, tick, size)) {
            inner.order.remove(&used);
            inner.bytes -= old_size;
        }
        inner.order.insert(tick, key);
        inner.bytes += size;
        while inner.bytes > self.max_bytes {
            let Some((_, oldest)) = inner.order.pop_first() else {
                break;
            };
            if let Some((_, _, size)) = inner.tiles.remove(&oldest) {
                inner.bytes -= size;
            }
        }
    }

    /// Drop every cached tile for which `touched` is true, now that the snapshot of `generation`
    /// is current; returns how many.
    pub fn invalidate(&self, touched: impl Fn(TileCoord) -> bool, generation: u64) -> usize {
        let mut inner = self.lock();
        inner.generation = inner.generation.max(generation);
        let doomed: Vec<(Key, u64)> = inner
            .tiles
            .iter()
            .filter(|((_, c), _)| touched(*c))
            .map(|(k, (_, used, _))| (*k, *used))
            .collect();
        for (key, used) in &doomed {
            if let Some((_, _, size)) = inner.tiles.remove(key) {
                inner.bytes -= size;
            }
            inner.order.remove(used);
        }
        doomed.len()
    }

    pub fn len(&self) -> usize {
        self.lock().tiles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Lookups answered from the cache and lookups that were not, since the server started.
    pub fn hits_and_misses(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tile(n: usize) -> Arc<EncodedTile> {
        Arc::new(EncodedTile::new(vec![7u8; n]))
    }

    #[test]
    fn the_cache_stays_within_its_byte_budget_evicting_the_least_recently_used() {
        let c = |x| TileCoord { z: 10, x, y: 0 };
        let one = tile(1000).size();
        let cache = TileCache::new(one * 3);
        for x in 0..3 {
            cache.put(c(x), tile(1000), 0);
        }
        assert!(cache.get(c(0)).is_some()); // 0 is now the most recent
        cache.put(c(3), tile(1000), 0);
        assert!(cache.bytes() <= one * 3);
        assert!(
            cache.get(c(1)).is_none(),
            "the least recently used goes first"
        );
        assert!(cache.get(c(0)).is_some() && cache.get(c(3)).is_some());
        assert_eq!(cache.invalidate(|t| t.x == 0, 1), 1);
        assert!(cache.get(c(0)).is_none());
        cache.put(c(0), tile(1000), 0);
        assert!(
            cache.get(c(0)).is_none(),
            "a tile from a snapshot older than the change is not cached"
        );
        assert!(TileCache::new(0).is_empty());
    }

    #[test]
    fn etags_depend_on_the_bytes_only() {
        assert_eq!(
            EncodedTile::new(vec![1, 2]).etag,
            EncodedTile::new(vec![1, 2]).etag
        );
        assert_ne!(
            EncodedTile::new(vec![1, 2]).etag,
            EncodedTile::new(vec![2, 1]).etag
        );
    }

    #[test]
    fn each_encoding_has_its_own_tag() {
        // XXH3-64 of these bytes, as Python's `xxhash.xxh3_64_hexdigest` computes it.
        assert_eq!(
            etags(&[]),
            (
                "\"2d06800538d394c2-0\"".to_string(),
                "\"2d06800538d394c2-0-gzip\"".to_string()
            )
        );
        assert_eq!(etags(b"gridmap tile").0, "\"e3253e82bea73c8a-c\"");
        let tile = EncodedTile::new(vec![7; 20]);
        assert_eq!(tile.etag, "\"239f50d16a6a78f9-14\"");
        assert_eq!(tile.etag_gzip, tile.etag.replace("-14\"", "-14-gzip\""));
    }

    #[test]
    fn the_gzip_form_is_made_on_first_use_and_decodes_to_the_tile() {
        use std::io::Read;
        let raw: Vec<u8> = (0..50_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let tile = EncodedTile::new(raw.clone());
        assert!(!tile.has_gzip());
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(tile.gzip().unwrap())
            .read_to_end(&mut back)
            .unwrap();
        assert!(tile.has_gzip());
        assert_eq!(back, raw);
    }

    #[test]
    fn a_gzip_form_made_after_caching_stays_within_what_the_cache_counted() {
        // Bytes that do not compress, whose deflate output is larger than they are.
        let mut rng = crate::generate::rng::Rng::named("noise");
        let noise: Vec<u8> = (0..200_000).map(|_| rng.next_u64() as u8).collect();
        for (raw, compresses) in [(noise, false), (vec![0; 200_000], true), (vec![9], false)] {
            let tile = Arc::new(EncodedTile::new(raw));
            let cache = TileCache::new(10 << 20);
            cache.put(TileCoord { z: 1, x: 0, y: 0 }, tile.clone(), 0);
            let counted = cache.bytes();
            assert_eq!(counted, tile.size());
            assert_eq!(
                tile.gzip().is_some(),
                compresses,
                "{} bytes",
                tile.raw.len()
            );
            assert!(
                tile.size() <= counted,
                "the count holds what the tile came to hold"
            );
            assert_eq!(cache.bytes(), counted, "and does not move");
            assert!(cache.invalidate(|_| true, 1) == 1 && cache.bytes() == 0);
        }
    }
}
