//! Coverage for planners: `/coverage` (a report per unit), `/coverage/gaps` (uncovered areas as
//! GeoJSON) and `/coverage/suggest` (sites for new posts). Computing a coverage map takes a
//! while at scale, so maps are cached per snapshot generation, radius and service.

use std::sync::{Arc, Mutex, OnceLock};

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use geo::{BoundingRect, Intersects};
use serde_json::{Value, json};

use super::AppState;
use super::crs::{lon_lat, write_features};
use super::error::ApiError;
use super::params::Params;
use crate::analysis::coverage::{
    CoverageMap, DEFAULT_RADIUS_M, Level, MAX_RADIUS_M, MIN_RADIUS_M, UnitCoverage, report,
    unit_gap,
};
use crate::analysis::round;
use crate::analysis::siting::{Candidate, centroid_candidates, suggest as greedy_sites};
use crate::geodesy::Crs;
use crate::index::Snapshot;
use crate::model::{Service, buildings};

/// Most new sites one request may ask for.
pub const MAX_K: u64 = 50;
/// Coverage maps kept (each is about the size of the grids' geometry).
const CACHED_MAPS: usize = 8;

type Key = (u64, u64, Option<Service>);
/// A map being computed or computed: whoever asks while it is computed waits for that one
/// computation instead of starting another.
type Cell = Arc<OnceLock<Arc<CoverageMap>>>;

/// The last few coverage maps, by (snapshot generation, radius bits, service).
#[derive(Default)]
pub struct CoverageCache {
    maps: Mutex<Vec<(Key, Cell)>>,
}

impl CoverageCache {
    /// The coverage map of `snap` for a radius and service, computed once.
    pub fn get(
        &self,
        snap: &Snapshot,
        radius_m: f64,
        service: Option<Service>,
    ) -> Arc<CoverageMap> {
        let key = (snap.generation, radius_m.to_bits(), service);
        let (cell, previous) = {
            let mut maps = self.lock();
            match maps.iter().position(|(k, _)| *k == key) {
                // Least recently used goes first: a hit moves to the back, so the maps the
                // statistics read all day outlast a planner's one-off radii.
                Some(i) => {
                    let entry = maps.remove(i);
                    let cell = entry.1.clone();
                    maps.push(entry);
                    (cell, None)
                }
                None => {
                    // The newest map of an older snapshot at this radius and service: what the
                    // change since did not reach is taken from it (`compute_after`).
                    let previous = maps
                        .iter()
                        .rev()
                        .filter(|(k, _)| k.0 < snap.generation && k.1 == key.1 && k.2 == service)
                        .find_map(|(_, c)| c.get().cloned());
                    // Maps of older snapshots go as soon as a newer one is asked for (a
                    // request still reading an older snapshot keeps the newer maps).
                    maps.retain(|(k, _)| k.0 >= snap.generation);
                    let cell = Cell::default();
                    maps.push((key, cell.clone()));
                    if maps.len() > CACHED_MAPS {
                        maps.remove(0);
                    }
                    (cell, previous)
                }
            }
        };
        cell.get_or_init(|| {
            Arc::new(CoverageMap::compute_after(
                previous.as_deref(),
                snap.dataset(),
                radius_m,
                service,
            ))
        })
        .clone()
    }

    /// Compute, in the background, what the first statistics request of `snap` would: the
    /// coverage maps at `stats::RADII_M`, so that the command centre's first view does not wait.
    /// The thread doing it, if it started.
    pub fn warm(self: &Arc<Self>, snap: Arc<Snapshot>) -> Option<std::thread::JoinHandle<()>> {
        let cache = self.clone();
        let spawned = std::thread::Builder::new()
            .name("warm-coverage".into())
            .spawn(move || {
                let started = std::time::Instant::now();
                for radius_m in crate::analysis::stats::RADII_M {
                    cache.get(&snap, radius_m, None);
                }
                tracing::debug!(
                    generation = snap.generation,
                    ms = started.elapsed().as_millis() as u64,
                    "coverage maps warmed"
                );
            });
        spawned
            .inspect_err(|e| tracing::warn!(error = %e, "cannot start warming the coverage maps; the first request computes them"))
            .ok()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(Key, Cell)>> {
        self.maps.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// radius_m (50..=5000, default 500) and service from the query.
fn radius_and_service(params: &Params) -> Result<(f64, Option<Service>), ApiError> {
    let radius_m = params.f64("radius_m")?.unwrap_or(DEFAULT_RADIUS_M);
    if !(MIN_RADIUS_M..=MAX_RADIUS_M).contains(&radius_m) {
        return Err(ApiError::bad(
            "radius_m",
            format!(
                "{radius_m} is outside {MIN_RADIUS_M}..={MAX_RADIUS_M}; give metres on the ground, e.g. 300, 500 or 1000 (GB 50180 life circles)"
            ),
        ));
    }
    let service = params.service()?;
    Ok((radius_m, service))
}

fn level(params: &Params) -> Result<Level, ApiError> {
    match params.get("level") {
        None => Ok(Level::Village),
        Some(s) => Level::parse(s).ok_or_else(|| {
            ApiError::bad(
                "level",
                format!("'{s}' is unknown; use town, village or grid"),
            )
        }),
    }
}

fn unit_json(u: &UnitCoverage) -> Value {
    json!({
        "code": u.code, "name": u.name,
        "area_m2": round(u.area_m2, 1), "covered_area_m2": round(u.covered_area_m2, 1),
        "covered_share": round(u.covered_share, 4),
        "population": u.population, "population_covered": round(u.population_covered, 1),
        "households": u.households, "households_covered": round(u.households_covered, 1),
        "stations": u.stations,
    })
}

/// Compute off the async threads (a first map at scale takes seconds).
async fn with_map<T: Send + 'static>(
    state: &AppState,
    radius_m: f64,
    service: Option<Service>,
    f: impl FnOnce(&Snapshot, &CoverageMap) -> T + Send + 'static,
) -> Result<T, ApiError> {
    let state = state.clone();
    super::request_id::blocking(move || {
        let snap = state.index.load();
        let map = state.coverage.get(&snap, radius_m, service);
        f(&snap, &map)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))
}

/// `GET /coverage?radius_m=500&level=village[&service=]`: every unit, worst covered first.
pub async fn coverage(
    State(state): State<AppState>,
    params: Params,
) -> Result<impl IntoResponse, ApiError> {
    params.only(&["radius_m", "level", "service"])?;
    let (radius_m, service) = radius_and_service(&params)?;
    let level = level(&params)?;
    let body = with_map(&state, radius_m, service, move |snap, map| {
        let (units, total) = report(snap.dataset(), map, level);
        json!({
            "radius_m": radius_m, "level": level, "service": service.map(Service::name),
            "population_method": POPULATION_METHOD,
            "total": unit_json(&total),
            "units": units.iter().map(unit_json).collect::<Vec<_>>(),
        })
    })
    .await?;
    Ok(Json(body))
}

/// How `/coverage` counts people covered.
const POPULATION_METHOD: &str = "by buildings where a grid has them (a building is covered when a post stands within the radius), else area-weighted (a grid's people spread evenly over it)";

/// What `/coverage/gaps` answers: uncovered areas per unit, or uncovered buildings.
#[derive(Clone, Copy, PartialEq)]
enum GapUnit {
    Areas,
    Buildings,
}

fn gap_unit(params: &Params) -> Result<GapUnit, ApiError> {
    match params.get("unit") {
        None | Some("areas") => Ok(GapUnit::Areas),
        Some("buildings") => {
            if params.get("level").is_some() {
                return Err(ApiError::bad(
                    "level",
                    "applies to unit=areas; leave it out with unit=buildings (each building is its own feature)",
                ));
            }
            Ok(GapUnit::Buildings)
        }
        Some(other) => Err(ApiError::bad(
            "unit",
            format!("'{other}' is unknown; use areas (the default) or buildings"),
        )),
    }
}

/// `GET /coverage/gaps?radius_m=&level=&bbox=[&unit=areas|buildings]`: the uncovered part of
/// every unit, or every building no post reaches, as GeoJSON.
pub async fn gaps(
    State(state): State<AppState>,
    params: Params,
) -> Result<impl IntoResponse, ApiError> {
    params.only(&[
        "radius_m", "level", "service", "bbox", "unit", "limit", "offset", "crs",
    ])?;
    let crs = params.crs()?;
    let (radius_m, service) = radius_and_service(&params)?;
    let unit = gap_unit(&params)?;
    let level = level(&params)?;
    let bbox = params.bbox(crs)?;
    let page = (
        params.int("offset", 0, u64::MAX, 0)? as usize,
        params.int("limit", 1, u64::MAX, u64::MAX)? as usize,
    );
    if unit == GapUnit::Buildings {
        if buildings::layer(state.index.load().dataset()).is_none_or(|l| l.features.is_empty()) {
            return Err(ApiError::bad(
                "unit",
                "the store holds no buildings; import them (gridmap import --layer buildings FILE) or ask for unit=areas",
            ));
        }
        let mut body = with_map(&state, radius_m, service, move |snap, map| {
            building_gaps(snap, map, bbox, page)
        })
        .await?;
        write_features(crs, &mut body);
        return Ok(([(header::CONTENT_TYPE, super::GEOJSON)], Json(body)));
    }
    let mut body = with_map(&state, radius_m, service, move |snap, map| {
        let (units, _) = report(snap.dataset(), map, level);
        let window = bbox.map(|b| {
            geo::Rect::new(
                geo::coord! {x: b.min_lon, y: b.min_lat},
                geo::coord! {x: b.max_lon, y: b.max_lat},
            )
        });
        let features: Vec<Value> = units
            .iter()
            .filter(|u| u.covered_share < 1.0)
            .filter_map(|u| {
                let gap = unit_gap(map, u);
                let rect = gap.bounding_rect()?;
                if window.is_some_and(|w| !w.intersects(&rect) || !w.intersects(&gap)) {
                    return None;
                }
                let geometry = geojson::Geometry::from(&gap);
                Some(json!({
                    "type": "Feature", "id": u.code, "geometry": geometry,
                    "properties": {
                        "code": u.code, "name": u.name, "level": level,
                        "uncovered_area_m2": round(u.area_m2 - u.covered_area_m2, 1),
                        "uncovered_population": round(u.population as f64 - u.population_covered, 1),
                        "covered_share": round(u.covered_share, 4),
                    },
                }))
            })
            .collect();
        let matched = features.len();
        let features: Vec<Value> = features.into_iter().skip(page.0).take(page.1).collect();
        json!({
            "type": "FeatureCollection", "radius_m": radius_m, "level": level,
            "numberMatched": matched, "numberReturned": features.len(), "features": features,
        })
    })
    .await?;
    write_features(crs, &mut body);
    Ok(([(header::CONTENT_TYPE, super::GEOJSON)], Json(body)))
}

/// Every building no post reaches (within `bbox` when given), as GeoJSON points with its
/// households and residents, one page of them (`offset`, `limit`); `totals` and
/// `numberMatched` count every one matched.
fn building_gaps(
    snap: &Snapshot,
    map: &CoverageMap,
    bbox: Option<crate::model::Bbox>,
    (offset, limit): (usize, usize),
) -> Value {
    let all = buildings::all(snap.dataset());
    let matched: Vec<&buildings::Building> = map
        .grids
        .iter()
        .filter_map(|c| c.buildings.as_ref())
        .flat_map(|b| b.uncovered.iter().map(|&i| &all[i]))
        .filter(|b| bbox.is_none_or(|w| w.contains(b.at)))
        .collect();
    let households: u64 = matched.iter().map(|b| b.households).sum();
    let residents: u64 = matched.iter().map(|b| b.residents).sum();
    let features: Vec<Value> = matched
        .iter()
        .skip(offset)
        .take(limit)
        .map(|b| {
            json!({
                "type": "Feature", "id": b.code,
                "geometry": {"type": "Point", "coordinates": [b.at.x(), b.at.y()]},
                "properties": {
                    "code": b.code, "grid_code": b.grid_code(),
                    "compound": b.text("compound"), "building": b.text("building"),
                    "entrance": b.record.value(b.def, "entrance"), "use": b.text("use"),
                    "households": b.households, "residents": b.residents,
                },
            })
        })
        .collect();
    json!({
        "type": "FeatureCollection", "radius_m": map.radius_m, "unit": "buildings",
        "service": map.service.map(Service::name),
        "totals": {"buildings": matched.len(), "households": households, "residents": residents},
        "numberMatched": matched.len(), "numberReturned": features.len(), "features": features,
    })
}

/// The candidate sites a request names.
fn candidates(params: &Params, snap: &Snapshot, crs: Crs) -> Result<Vec<Candidate>, ApiError> {
    let d = snap.dataset();
    match params.get("candidates").unwrap_or("grid-centroids") {
        "grid-centroids" => Ok(centroid_candidates(d, false)),
        "village-centroids" => Ok(centroid_candidates(d, true)),
        "points" => {
            let text = params.get("points").ok_or_else(|| {
                ApiError::bad(
                    "points",
                    "candidates=points needs points=lon,lat;lon,lat;...",
                )
            })?;
            text.split(';')
                .enumerate()
                .map(|(i, pair)| {
                    let nums: Vec<f64> = pair
                        .split(',')
                        .filter_map(|n| n.trim().parse().ok())
                        .collect();
                    match nums[..] {
                        [lon, lat]
                            if (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat) =>
                        {
                            Ok(Candidate {
                                name: format!("point {}", i + 1),
                                at: crs.to_wgs84(geo::Point::new(lon, lat)),
                            })
                        }
                        _ => Err(ApiError::bad(
                            "points",
                            format!("'{pair}' (point {}) is not lon,lat in degrees", i + 1),
                        )),
                    }
                })
                .collect()
        }
        other => Err(ApiError::bad(
            "candidates",
            format!("'{other}' is unknown; use grid-centroids, village-centroids or points"),
        )),
    }
}

/// `GET /coverage/suggest?radius_m=&k=&candidates=`: k new sites by greedy maximum coverage.
pub async fn suggest(
    State(state): State<AppState>,
    params: Params,
) -> Result<impl IntoResponse, ApiError> {
    params.only(&["radius_m", "k", "candidates", "points", "service", "crs"])?;
    let crs = params.crs()?;
    let (radius_m, service) = radius_and_service(&params)?;
    let k = params.int("k", 1, MAX_K, 10)? as usize;
    if params.get("points").is_some() && params.get("candidates") != Some("points") {
        return Err(ApiError::bad(
            "points",
            "give candidates=points with points",
        ));
    }
    let candidates = candidates(&params, &state.index.load(), crs)?;
    let body = with_map(&state, radius_m, service, move |snap, map| {
        let (_, total) = report(snap.dataset(), map, Level::Town);
        let picks = greedy_sites(
            snap.dataset(),
            map,
            &candidates,
            k,
            total.population_covered,
            total.population as f64,
        );
        json!({
            "radius_m": radius_m, "k": k, "service": service.map(Service::name),
            "population": total.population,
            "covered_before": round(total.population_covered, 1),
            "covered_share_before": round(total.population_covered / (total.population.max(1) as f64), 4),
            "method": "greedy maximum coverage of uncovered population (area-weighted, sampled on a lattice); within 1-1/e of the optimum",
            "picks": picks.iter().map(|p| {
                let [lon, lat] = lon_lat(crs, geo::Point::new(p.lon, p.lat));
                json!({
                "rank": p.rank, "candidate": p.candidate, "lon": lon, "lat": lat,
                "gain": round(p.gain, 1), "covered_after": round(p.covered_after, 1),
                "covered_share_after": round(p.covered_share_after, 4),
            })}).collect::<Vec<_>>(),
        })
    })
    .await?;
    Ok(Json(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_map_asked_for_at_once_by_many_is_computed_once() {
        let snap = Arc::new(Snapshot::build(crate::sample::dataset().unwrap()));
        let cache = Arc::new(CoverageCache::default());
        // The warmer and four requests at the same moment all get the one map.
        let warming = cache.warm(snap.clone()).unwrap();
        let maps: Vec<Arc<CoverageMap>> = std::thread::scope(|s| {
            let asks: Vec<_> = (0..4)
                .map(|_| s.spawn(|| cache.get(&snap, 500.0, None)))
                .collect();
            asks.into_iter().map(|a| a.join().unwrap()).collect()
        });
        for m in &maps {
            assert!(Arc::ptr_eq(m, &maps[0]));
        }
        // Every warmed radius is there.
        warming.join().unwrap();
        assert_eq!(cache.lock().len(), 3);
        // The least recently used goes first: 300 m is asked again, then five other radii.
        cache.get(&snap, 300.0, None);
        for radius_m in [100.0, 200.0, 400.0, 600.0, 700.0, 800.0] {
            cache.get(&snap, radius_m, None);
        }
        let held: Vec<u64> = cache.lock().iter().map(|(k, _)| k.1).collect();
        assert_eq!(held.len(), CACHED_MAPS);
        assert!(held.contains(&300f64.to_bits()) && !held.contains(&500f64.to_bits()));
        // A newer snapshot's map pushes the older ones out.
        let mut newer = Snapshot::build(snap.dataset().clone());
        newer.generation = snap.generation + 1;
        cache.get(&newer, 300.0, None);
        let held: Vec<Key> = cache.lock().iter().map(|(k, _)| *k).collect();
        assert_eq!(held, vec![(newer.generation, 300f64.to_bits(), None)]);
    }
}
