//! `/metrics`: what an operator's Prometheus scrapes, in the OpenMetrics text format, with the
//! usual names: `http_requests_total{route,method,status}` and the
//! `http_request_duration_seconds` histogram by route, then `gridmap_…` for the rest (requests in
//! flight and shed, tile cache, snapshot, store lag, writes and events).
//!
//! Request metrics are counted by the first middleware (the front layer, `front.rs`) as answers leave; the rest is read
//! from the server's state at each scrape. Labels are route templates (`/tiles/{z}/{x}/{y}`),
//! never raw paths, so their number stays bounded whatever clients ask.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{Method, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use super::AppState;
use super::limits::{Class, Gate};
use crate::follow::SyncState;
use crate::index::Index;
use crate::tiles::cache::TileCache;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClassLabels {
    class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WriteLabels {
    method: &'static str,
}

/// The request metrics of one server.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Answers and latencies by route: the request path's part, without locks.
    routes: super::route_stats::RouteStats,
    shed: Family<ClassLabels, Counter>,
    timeouts: Family<RouteLabels, Counter>,
    writes: Family<WriteLabels, Counter>,
    events_reported: Counter,
    event_transitions: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let shed = Family::<ClassLabels, Counter>::default();
        registry.register(
            "gridmap_http_requests_shed",
            "Requests refused with 503 because their class was at its cap (--max-in-flight, --max-heavy)",
            shed.clone(),
        );
        let timeouts = Family::<RouteLabels, Counter>::default();
        registry.register(
            "gridmap_http_request_timeouts",
            "Requests answered 503 because they passed the time limit (--request-timeout-s)",
            timeouts.clone(),
        );
        let writes = Family::<WriteLabels, Counter>::default();
        registry.register(
            "gridmap_writes",
            "Features created, replaced, patched or deleted over HTTP, by method",
            writes.clone(),
        );
        let events_reported = Counter::default();
        registry.register(
            "gridmap_events_reported",
            "Events reported over HTTP (POST /events answered 201)",
            events_reported.clone(),
        );
        let event_transitions = Counter::default();
        registry.register(
            "gridmap_event_transitions",
            "Event transitions over HTTP (dispatch, accept, close, evaluate...)",
            event_transitions.clone(),
        );
        Metrics {
            registry,
            routes: Default::default(),
            shed,
            timeouts,
            writes,
            events_reported,
            event_transitions,
        }
    }
}

impl Metrics {
    pub fn shed(&self, class: Class) {
        self.shed
            .get_or_create(&ClassLabels {
                class: class.name(),
            })
            .inc();
    }

    pub fn timed_out(&self, route: &str) {
        self.timeouts
            .get_or_create(&RouteLabels {
                route: route.to_string(),
            })
            .inc();
    }

    /// Count one answer to `route` (a template); writes (any method but GET and HEAD) and events
    /// by what succeeded.
    pub fn answered(
        &self,
        route: &str,
        method: &Method,
        written: bool,
        status: u16,
        elapsed: std::time::Duration,
    ) {
        let method = method_name(method);
        if written && (200..300).contains(&status) {
            match route {
                "/events" => {
                    self.events_reported.inc();
                }
                "/events/{id}/transitions" => {
                    self.event_transitions.inc();
                }
                r if r.starts_with("/collections/{collection_id}/items") => {
                    // By method only: a collection named in the path may be percent-encoded
                    // (a label per spelling) or a staff layer (not for the public /metrics).
                    self.writes.get_or_create(&WriteLabels { method }).inc();
                }
                _ => {}
            }
        }
        self.routes.record(route, method, status, elapsed);
    }
}

/// A method's label without an allocation.
fn method_name(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// GET /metrics
pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut text = String::new();
    let mut now = Registry::default();
    now.register_collector(Box::new(StateNow {
        metrics: state.metrics.clone(),
        index: state.index.clone(),
        tiles: [state.tiles.clone(), state.tiles_gcj02.clone()],
        sync: state.sync.clone(),
        gate: state.gate.clone(),
    }));
    use prometheus_client::encoding::text::{encode_eof, encode_registry};
    let encoded = encode_registry(&mut text, &now)
        .and_then(|()| encode_registry(&mut text, &state.metrics.registry))
        .and_then(|()| encode_eof(&mut text));
    if encoded.is_err() {
        return super::ApiError::Internal("encoding /metrics failed".into()).into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// What is read from the server's state at a scrape.
struct StateNow {
    metrics: Arc<Metrics>,
    index: Arc<Index>,
    /// The WGS84 and the GCJ-02 tile caches.
    tiles: [Arc<TileCache>; 2],
    sync: Arc<SyncState>,
    gate: Arc<Gate>,
}

impl std::fmt::Debug for StateNow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateNow")
    }
}

/// One unlabelled metric.
fn one(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    metric: impl EncodeMetric,
) -> Result<(), std::fmt::Error> {
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

/// One metric per tile set (`crs="wgs84"`, `crs="gcj02"`).
fn per_tile_set<M: EncodeMetric>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    values: [M; 2],
) -> Result<(), std::fmt::Error> {
    let mut family = encoder.encode_descriptor(name, help, None, values[0].metric_type())?;
    for (crs, metric) in ["wgs84", "gcj02"].into_iter().zip(values) {
        metric.encode(family.encode_family(&[("crs", crs)])?)?;
    }
    Ok(())
}

impl Collector for StateNow {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let e = &mut encoder;
        self.metrics.routes.encode(e)?;
        one(
            e,
            "gridmap_http_requests_in_flight",
            "Requests being served, within --max-in-flight",
            ConstGauge::new(self.gate.in_flight() as i64),
        )?;
        one(
            e,
            "gridmap_http_heavy_requests_in_flight",
            "Heavy requests (coverage, statistics, impact) being served, within --max-heavy",
            ConstGauge::new(self.gate.heavy_in_flight() as i64),
        )?;
        let counts = self.tiles.each_ref().map(|t| t.hits_and_misses());
        per_tile_set(
            e,
            "gridmap_tile_cache_hits",
            "Tile requests answered from the cache",
            counts.map(|(hits, _)| ConstCounter::new(hits)),
        )?;
        per_tile_set(
            e,
            "gridmap_tile_cache_misses",
            "Tile requests that had to be rendered",
            counts.map(|(_, misses)| ConstCounter::new(misses)),
        )?;
        per_tile_set(
            e,
            "gridmap_tile_cache_bytes",
            "Bytes of encoded tiles in the cache (--tile-cache-mb bounds them)",
            self.tiles
                .each_ref()
                .map(|t| ConstGauge::new(t.bytes() as i64)),
        )?;
        per_tile_set(
            e,
            "gridmap_tile_cache_tiles",
            "Tiles in the cache",
            self.tiles
                .each_ref()
                .map(|t| ConstGauge::new(t.len() as i64)),
        )?;
        let snap = self.index.load();
        one(
            e,
            "gridmap_snapshot_generation",
            "The served snapshot's generation: 1 at start, one more per catch-up with the store",
            ConstGauge::new(snap.generation as i64),
        )?;
        one(
            e,
            "gridmap_snapshot_build_seconds",
            "How long the last catch-up took to read the store and build the snapshot",
            ConstGauge::new(self.sync.last_reload().as_secs_f64()),
        )?;
        one(
            e,
            "gridmap_store_version",
            "The store version the served snapshot reflects",
            ConstGauge::new(self.sync.version() as i64),
        )?;
        let lag = self.sync.lag();
        one(
            e,
            "gridmap_store_lag_seconds",
            "How long the snapshot has been behind the store (0 when caught up; while the store is unreachable, how long it has been)",
            ConstGauge::new(lag.seconds),
        )?;
        one(
            e,
            "gridmap_store_lag_changes",
            "Store versions (PostGIS change ids) the snapshot is behind",
            ConstGauge::new(lag.changes as i64),
        )?;
        one(
            e,
            "gridmap_store_up",
            "1 while the store answers, 0 while it is unreachable (reads go on from memory)",
            ConstGauge::new(i64::from(self.sync.degraded().is_none())),
        )?;
        // Public layers only: how many residents or households a city has is staff's business.
        let mut family = e.encode_descriptor(
            "gridmap_features",
            "Features in the served snapshot, by public layer",
            None,
            prometheus_client::metrics::MetricType::Gauge,
        )?;
        for layer in snap.layers().into_iter().filter(|l| !l.def().staff_only()) {
            let n = snap.count_any(layer);
            ConstGauge::new(n as i64).encode(family.encode_family(&[("layer", layer.name())])?)?;
        }
        Ok(())
    }
}
