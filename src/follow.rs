//! The store follower: keeps a server's index (and the tiles cached from it) caught up with the
//! store, whoever wrote to it. `run` waits for a change (a NOTIFY for PostGIS, a version poll for
//! a GeoPackage), `reload` catches up, swaps the index and drops the tiles the change touches.
//! While the store is unreachable the server is marked degraded and reads go on from memory.
//!
//! Knows nothing of HTTP: `http` builds one `Follower` per server and reports `SyncState` in
//! `/health`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use crate::Result;
use crate::access::Registry;
use crate::access::audit::Pending;
use crate::analysis::coverage::DEFAULT_RADIUS_M;
use crate::desk::Desk;
use crate::geodesy::grow_rect;
use crate::index::{Index, Snapshot};
use crate::model::Bbox;
use crate::store::Store;
use crate::tiles::{self, TileConfig, cache::TileCache};

/// How long one wait for a change notification lasts before the store is asked again.
const FOLLOW_TIMEOUT: Duration = Duration::from_secs(1);
/// How often audit rows older than `--audit-days` are pruned.
const PRUNE_INTERVAL: Duration = Duration::from_secs(3600);
/// How long to wait before reconnecting to an unreachable store.
const RETRY_INTERVAL: Duration = Duration::from_millis(500);

/// The store version the index reflects, and whether the store is reachable.
#[derive(Debug, Default)]
pub struct SyncState {
    version: AtomicU64,
    degraded: Mutex<Option<Degraded>>,
    /// One reload at a time (the follower and a write's own catch-up), so an older catch-up never
    /// swaps in after a newer one.
    reloading: Mutex<()>,
    /// The newest store version the follower has seen, and since when the index has been behind
    /// it (`/metrics` reports the lag).
    seen_in_store: AtomicU64,
    behind_since: Mutex<Option<Instant>>,
    /// How long the last catch-up took (read, build and swap), in microseconds.
    last_reload_us: AtomicU64,
}

/// How far the served index is behind the store.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Lag {
    /// Since the follower first saw a change the index does not reflect yet (0 when caught up);
    /// while the store is unreachable, since it became so.
    pub seconds: f64,
    /// Store versions (PostGIS change-log ids) behind.
    pub changes: u64,
}

/// `b` grown by `metres` on the ground on every side (at least).
fn widen(b: Bbox, metres: f64) -> Bbox {
    let r = grow_rect(
        geo::Rect::new(
            geo::Coord {
                x: b.min_lon,
                y: b.min_lat,
            },
            geo::Coord {
                x: b.max_lon,
                y: b.max_lat,
            },
        ),
        metres,
    );
    Bbox {
        min_lon: r.min().x,
        min_lat: r.min().y,
        max_lon: r.max().x,
        max_lat: r.max().y,
    }
}

/// Why and since when the store has been unreachable; reads go on from the index meanwhile.
#[derive(Clone, Debug)]
pub struct Degraded {
    pub error: String,
    pub since: SystemTime,
}

impl SyncState {
    /// Caught up to `version`, healthy.
    pub fn at(version: u64) -> SyncState {
        let sync = SyncState::default();
        sync.version.store(version, Ordering::Release);
        sync
    }

    /// The store version the served index reflects.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    pub fn degraded(&self) -> Option<Degraded> {
        self.degraded.lock().map(|d| d.clone()).unwrap_or(None)
    }

    /// Record that the store could not be reached; returns true when this starts a degraded spell.
    pub fn set_degraded(&self, error: String) -> bool {
        let Ok(mut d) = self.degraded.lock() else {
            return false;
        };
        let starts = d.is_none();
        let since = d.as_ref().map_or_else(SystemTime::now, |d| d.since);
        *d = Some(Degraded { error, since });
        starts
    }

    /// The follower saw the store at `version`: the index is behind it until a catch-up.
    pub fn saw_store_version(&self, version: u64) {
        self.seen_in_store.store(version, Ordering::Release);
        if let Ok(mut since) = self.behind_since.lock() {
            if version <= self.version() {
                *since = None;
            } else {
                since.get_or_insert_with(Instant::now);
            }
        }
    }

    /// A catch-up to `version` swapped in, `took` after it started. The next look at the store
    /// tells whether it moved on meanwhile.
    fn caught_up(&self, version: u64, took: Duration) {
        self.version.store(version, Ordering::Release);
        self.seen_in_store.fetch_max(version, Ordering::AcqRel);
        self.last_reload_us
            .store(took.as_micros() as u64, Ordering::Relaxed);
        if let Ok(mut since) = self.behind_since.lock() {
            *since = None;
        }
    }

    /// How far the index is behind the store.
    pub fn lag(&self) -> Lag {
        let changes = self
            .seen_in_store
            .load(Ordering::Acquire)
            .saturating_sub(self.version());
        let behind = self
            .behind_since
            .lock()
            .ok()
            .and_then(|s| *s)
            .map_or(0.0, |s| s.elapsed().as_secs_f64());
        let unreachable = self
            .degraded()
            .map_or(0.0, |d| d.since.elapsed().map_or(0.0, |t| t.as_secs_f64()));
        Lag {
            seconds: behind.max(unreachable),
            changes,
        }
    }

    /// How long the last catch-up took.
    pub fn last_reload(&self) -> Duration {
        Duration::from_micros(self.last_reload_us.load(Ordering::Relaxed))
    }

    /// Record that the store answered; returns true when this ends a degraded spell.
    pub fn set_healthy(&self) -> bool {
        self.degraded
            .lock()
            .map(|mut d| d.take().is_some())
            .unwrap_or(false)
    }
}

/// What catches a server up with its store: the server's own index, store, tile cache and sync
/// state (shared, so a write's catch-up and the follower thread are one).
pub struct Follower {
    pub index: Arc<Index>,
    pub store: Arc<dyn Store>,
    pub tiles: Arc<TileCache>,
    /// The GCJ-02 tile set's cache, drawn with `tile_config` in GCJ-02.
    pub tiles_gcj02: Arc<TileCache>,
    pub tile_config: TileConfig,
    pub sync: Arc<SyncState>,
    /// The accounts, re-read from the store on every turn of `run` (so a revoked token stops
    /// working everywhere within about a second).
    pub accounts: Arc<Registry>,
    /// Audit rows of reads, appended to the store on every turn of `run`.
    pub audit: Arc<Pending>,
    /// Audit rows older than this many days are pruned (at start, then hourly).
    pub audit_days: u32,
    /// The events, caught up with other servers' entries on every turn of `run`.
    pub events: Arc<Desk>,
}

impl Follower {
    /// Re-read the accounts, append the audit rows waiting, and prune old ones once an hour.
    pub fn keep_accounts_and_audit(&self, pruned: &mut Option<Instant>) -> Result<()> {
        // Accounts first: a revocation must not wait on audit rows the store refuses.
        let ticket = self.accounts.ticket();
        self.accounts.replace_read(ticket, self.store.accounts()?);
        self.flush_audit()?;
        if pruned.is_none_or(|t| t.elapsed() >= PRUNE_INTERVAL) {
            let before_s = crate::model::date::now_s() - i64::from(self.audit_days) * 86_400;
            let n = self.store.prune_audit(before_s)?;
            if n > 0 {
                tracing::info!(rows = n, days = self.audit_days, "pruned old audit rows");
            }
            *pruned = Some(Instant::now());
        }
        Ok(())
    }

    /// Append the audit rows waiting (kept for the next try when the store fails).
    pub fn flush_audit(&self) -> Result<()> {
        let rows = self.audit.take();
        if rows.is_empty() {
            return Ok(());
        }
        self.store
            .append_audit(&rows)
            .inspect_err(|_| self.audit.put_back(rows.clone()))
    }

    /// Catch up with the store: when it changed since the index was built, build the new index
    /// and swap it in (readers keep their snapshot meanwhile), then drop exactly the cached tiles
    /// that show a changed feature, at every zoom. Returns how many tiles were dropped.
    pub fn reload(&self) -> Result<usize> {
        let _one_at_a_time = self
            .sync
            .reloading
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let seen = self.sync.version();
        let started = Instant::now();
        // Only a reload swaps the index, one at a time: `current` stays the one served until ours.
        let current = self.index.load();
        let Some((version, dataset)) = self.store.catch_up(Some(seen), current.dataset())? else {
            return Ok(0);
        };
        let read = started.elapsed();
        let newer = Snapshot::build_after(Some(&current), dataset);
        // What tiles prepared of features the change did not touch serves the new snapshot too.
        let carried = tiles::carry_over(&current, &newer);
        let built = started.elapsed();
        // Coverage gaps in tiles reach a walking radius beyond a changed post: widen every box.
        let areas: Vec<_> = current
            .changed_areas(&newer)
            .into_iter()
            .map(|b| widen(b, DEFAULT_RADIUS_M))
            .collect();
        let compared = started.elapsed();
        let config = &self.tile_config;
        // The GCJ-02 set's tiles are numbered in GCJ-02: shift the changed areas into it once and
        // compare them with the tiles' own boxes (not every cached tile back to WGS84). Corners
        // and a 100 m margin, more than GCJ-02's shift bends across a feature's box: dropping a
        // few tiles too many is harmless, keeping a stale one is not.
        let shifted: Vec<_> = areas.iter().map(shifted_area).collect();
        let invalidate = |generation: u64| {
            self.tiles.invalidate(
                |c| areas.iter().any(|a| tiles::touches(c, a, config)),
                generation,
            ) + self.tiles_gcj02.invalidate(
                |c| shifted.iter().any(|a| tiles::touches(c, a, config)),
                generation,
            )
        };
        // Before the swap, so that no reader of the new snapshot (one that has just seen the
        // change through the API) is served a tile cached from the old one; from then on a tile
        // drawn from an older snapshot is not cached. After it, again with the generation the
        // swap gave, should another swap have come between.
        let mut dropped = invalidate(current.generation + 1);
        drop(current);
        // The version follows the swap at once; the old snapshot is freed last.
        let (generation, previous) = self.index.replace(newer);
        self.sync.caught_up(version, started.elapsed());
        dropped += invalidate(generation);
        tracing::debug!(
            read_ms = read.as_millis() as u64,
            build_ms = (built - read).as_millis() as u64,
            diff_ms = (compared - built).as_millis() as u64,
            invalidate_ms = (started.elapsed() - compared).as_millis() as u64,
            carried_shapes = carried.values().sum::<usize>(),
            "reload phases"
        );
        drop(previous);
        Ok(dropped)
    }

    /// Follow the store until the process ends: wait for a change, catch up, log; while the store
    /// is unreachable, mark the server degraded and retry; catching up afterwards applies
    /// everything missed.
    pub fn run(self) {
        let mut pruned: Option<Instant> = None;
        loop {
            if let Err(e) = self.keep_accounts_and_audit(&mut pruned) {
                tracing::warn!(error = %e, "could not refresh accounts or write audit rows; retrying");
            }
            let seen = self.sync.version();
            let result = self
                .store
                .wait_for_change(seen, FOLLOW_TIMEOUT)
                .and_then(|now| {
                    self.sync.saw_store_version(now);
                    // Events first: they are what a command centre waits for, and another
                    // process's event commits also look like a change to a GeoPackage. A failure
                    // here must not hold up the map.
                    if let Err(e) = self.events.catch_up() {
                        tracing::warn!(error = %e, "could not read new events; retrying");
                    }
                    if now == seen {
                        return Ok(None);
                    }
                    let started = Instant::now();
                    let dropped = self.reload()?;
                    Ok(Some((dropped, started.elapsed())))
                });
            match result {
                Ok(dropped) => {
                    if self.sync.set_healthy() {
                        tracing::info!(version = self.sync.version(), "store reachable again");
                    }
                    if let Some((dropped, took)) = dropped {
                        tracing::info!(
                            version = self.sync.version(),
                            dropped_tiles = dropped,
                            reload_ms = took.as_millis() as u64,
                            "store changed: index rebuilt"
                        );
                    }
                }
                Err(e) => {
                    if self.sync.set_degraded(e.to_string()) {
                        let what = match &e {
                            crate::Error::Store {
                                failure: crate::StoreFailure::Unreadable,
                                ..
                            } => "store holds data gridmap cannot read",
                            crate::Error::Store {
                                failure: crate::StoreFailure::Unreachable,
                                ..
                            } => "store unreachable",
                            _ => "store failed",
                        };
                        tracing::error!(error = %e, "{what}: serving reads from the index, retrying");
                    }
                    std::thread::sleep(RETRY_INTERVAL);
                }
            }
        }
    }
}

/// A changed WGS84 area in GCJ-02: its corners shifted, grown by 0.001 degrees (about 100 m).
fn shifted_area(area: &crate::model::Bbox) -> crate::model::Bbox {
    use crate::geodesy::wgs84_to_gcj02;
    const MARGIN_DEG: f64 = 0.001;
    let lo = wgs84_to_gcj02(geo::Point::new(area.min_lon, area.min_lat));
    let hi = wgs84_to_gcj02(geo::Point::new(area.max_lon, area.max_lat));
    crate::model::Bbox {
        min_lon: lo.x() - MARGIN_DEG,
        min_lat: lo.y() - MARGIN_DEG,
        max_lon: hi.x() + MARGIN_DEG,
        max_lat: hi.y() + MARGIN_DEG,
    }
}
