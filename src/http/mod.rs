//! The HTTP API (axum): `router(state)` builds every route; handlers are grouped by resource.
//! All coordinates are WGS84 lon/lat unless a request says `crs=gcj02`.

mod audit;
mod auth;
mod base_url;
pub(crate) mod coverage;
mod crs;
mod encoding;
mod error;
mod event_cases;
pub(crate) mod event_collection;
mod event_filter;
mod event_photos;
mod event_stream;
mod event_tiles;
mod events;
mod features;
mod front;
mod geocode;
mod impact;
mod limits;
mod metrics;
mod ogc_params;
mod openapi;
mod params;
mod queries;
mod queryables;
mod request_id;
mod route_stats;
pub(crate) mod search;
mod state;
pub(crate) mod stats;
mod tiles;
mod web;
mod write_rules;
mod writes;

pub use auth::Caller;
pub use base_url::BaseUrl;
pub use error::ApiError;
pub use limits::Limits;
pub use state::{AppState, DEFAULT_AUDIT_DAYS, TileOptions};
pub use web::Basemap;
pub use writes::MAX_BODY_BYTES;

/// The media type of GeoJSON (RFC 7946), named by every GeoJSON answer and link.
pub const GEOJSON: &str = "application/geo+json";

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::{Result, sample, store};

pub fn router(state: AppState) -> Router {
    // A feature is written whole in one body: 2 MiB at most, or less if the server says so.
    let feature_body_bytes = writes::MAX_BODY_BYTES.min(state.gate.limits.max_body_bytes);
    Router::new()
        .route("/", get(features::landing))
        .route("/conformance", get(features::conformance))
        .route("/collections", get(features::collections))
        .route("/collections/{collection_id}", get(features::collection))
        .route(
            "/collections/{collection_id}/items",
            get(features::items)
                .post(writes::create_item)
                .layer(axum::extract::DefaultBodyLimit::max(feature_body_bytes)),
        )
        .route(
            "/collections/{collection_id}/queryables",
            get(queryables::queryables),
        )
        .route(
            "/collections/{collection_id}/items/{feature_id}",
            get(features::item)
                .put(writes::replace_item)
                .patch(writes::patch_item)
                .delete(writes::delete_item)
                .layer(axum::extract::DefaultBodyLimit::max(feature_body_bytes)),
        )
        .route("/events", get(events::list).post(events::report))
        .route("/events/stream", get(event_stream::stream))
        .route("/events/{id}", get(events::one))
        .route("/events/{id}/transitions", post(events::transition))
        // The photo handler reads its body itself, after the caller is checked, up to 5 MiB.
        .route("/events/{id}/photos", post(event_photos::add))
        .route("/events/{id}/photos/{n}", get(event_photos::one))
        .route("/geocode", get(geocode::geocode))
        .route("/reverse", get(geocode::reverse))
        .route("/locate", get(queries::locate))
        .route("/nearest", get(queries::nearest))
        .route("/search", get(search::search))
        .route("/stats", get(stats::stats))
        .route("/stats/trend", get(stats::trend))
        .route("/impact", post(impact::impact))
        .route("/coverage", get(coverage::coverage))
        .route("/coverage/gaps", get(coverage::gaps))
        .route("/coverage/suggest", get(coverage::suggest))
        .route("/tiles/{z}/{x}/{y}", get(tiles::tile))
        .route("/tiles/events/{z}/{x}/{y}", get(event_tiles::tile))
        .route("/tiles/events.json", get(event_tiles::tilejson))
        .route("/tiles.json", get(tiles::tilejson))
        .route("/tiles/gcj02/{z}/{x}/{y}", get(tiles::tile_gcj02))
        .route("/tiles/gcj02.json", get(tiles::tilejson_gcj02))
        .route(
            "/tiles/gcj02/events/{z}/{x}/{y}",
            get(event_tiles::tile_gcj02),
        )
        .route("/tiles/gcj02/events.json", get(event_tiles::tilejson_gcj02))
        .route("/tiles/metadata.json", get(tiles::metadata))
        .route("/health", get(health))
        .route("/metrics", get(metrics::metrics))
        .route("/audit", get(audit::audit))
        .route("/openapi.json", get(openapi::document))
        .route("/map", get(web::page))
        .route(
            "/map/",
            get(|| async { axum::response::Redirect::permanent("../map") }),
        )
        .route("/map/config.json", get(web::config))
        .route("/map/{*path}", get(web::asset))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Bodies read by extractors stop at the limit too, when no Content-Length said so.
        .layer(axum::extract::DefaultBodyLimit::max(
            state.gate.limits.max_body_bytes,
        ))
        // CORS, request ids and their log span, limits, metrics, and gzip for JSON answers:
        // in one layer (`front`), because every layer stacked here is paid for by every request.
        .layer(front::Front {
            gate: state.gate.clone(),
            metrics: state.metrics.clone(),
        })
        .with_state(state)
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!(
        "{} is not a resource here; GET / lists what is",
        uri.path()
    ))
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// `ok`, or `degraded` while the store is unreachable: reads are still served from the index
/// (so the answer stays 200 and a load balancer keeps the replica), but writes made elsewhere
/// arrive only after the store is back. The public gets the status and versions; accounts also
/// the feature counts; admin accounts also where the store is and what failed.
async fn health(State(state): State<AppState>, caller: Caller) -> Json<Value> {
    let degraded = state.sync.degraded();
    let mut body = json!({
        "status": if degraded.is_some() { "degraded" } else { "ok" },
        "version": env!("CARGO_PKG_VERSION"),
        "store_version": state.sync.version(),
    });
    let Some(account) = caller.account() else {
        return Json(body);
    };
    let snap = state.index.load();
    let scope = snap.scope(Some(account));
    let counts: serde_json::Map<String, Value> = snap
        .layers()
        .into_iter()
        .map(|l| (l.name().to_string(), json!(scope.count(&snap, l))))
        .collect();
    body["features"] = json!(counts);
    if account.role == crate::access::Role::Admin {
        body["store"] = json!(state.store.describe());
        body["accounts"] = json!(state.accounts.len());
        if let Some(d) = degraded {
            body["store_error"] = json!(d.error);
            body["degraded_for_s"] = json!(d.since.elapsed().map_or(0, |t| t.as_secs()));
        }
    }
    Json(body)
}

/// How `gridmap serve` is configured (validated by the CLI before anything binds).
#[derive(Clone, Debug)]
pub struct ServeConfig {
    pub bind: SocketAddr,
    pub store: String,
    /// The declared layers (`--layers`).
    pub layers: &'static crate::model::declared::Declarations,
    pub tiles: TileOptions,
    /// Audit rows older than this many days are pruned.
    pub audit_days: u32,
    /// A basemap for the web page at /map; none by default.
    pub basemap: Option<Basemap>,
    /// The basemap's datum: the web page draws and asks in it (WGS84 or GCJ-02).
    pub basemap_crs: crate::geodesy::Crs,
    /// The base of every absolute link; from each request's headers when `None`.
    pub public_url: Option<String>,
    pub limits: Limits,
    /// How long requests in flight may take to finish after SIGTERM or Ctrl-C.
    pub shutdown_grace: std::time::Duration,
}

/// Open the store (loading the Danyang sample into an empty one), index it and serve until
/// Ctrl-C or SIGTERM.
pub async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let started = Instant::now();
    let store_location = config.store.clone();
    let tile_options = config.tiles.clone();
    let layers = config.layers;
    let state = tokio::task::spawn_blocking(move || -> Result<AppState> {
        let store = store::open(&store_location, layers)?;
        if store.readable_by_others() {
            tracing::warn!(store = %store.describe(), "the store is readable by other users of this machine, and it holds personal data and accounts: chmod 600 it");
        }
        if sample::load_if_empty(store.as_ref())? {
            tracing::info!(store = %store.describe(), "empty store: loaded the Danyang sample");
            let snap = crate::index::Snapshot::build(store.load()?);
            let events = sample::load_events_if_empty(store.as_ref(), &snap)?;
            tracing::info!(events, "and the sample's year of events");
        }
        AppState::with_options(store, tile_options)
    })
    .await??;
    let mut state = state.with_limits(config.limits.clone());
    state.edit().audit_days = config.audit_days;
    state.edit().basemap_crs = config.basemap_crs;
    let state = match &config.public_url {
        Some(url) => state.with_public_url(url),
        None => state,
    };
    let state = match config.basemap {
        Some(basemap) => state.with_basemap(basemap),
        None => state,
    };
    let state = match &config.tiles.archive {
        Some(path) => {
            let archive = crate::tiles::archive::Archive::open(path).await?;
            // /tiles serves WGS84; a GCJ-02 pyramid there would sit 500 m off every other layer.
            if let Some(crs) = archive.metadata["crs"].as_str().filter(|c| *c != "wgs84") {
                anyhow::bail!(
                    "--tiles {}: the archive is drawn in {crs} (gridmap tiles --crs {crs}), and /tiles serves WGS84; write it without --crs (/tiles/gcj02/... is always rendered live)",
                    path.display()
                );
            }
            tracing::info!(archive = %path.display(), min_zoom = archive.min_zoom, max_zoom = archive.max_zoom, "serving tiles from an archive");
            state.with_archive(archive)
        }
        None => state,
    };
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot listen on {}: {e} (is another server running there? use --bind)",
                config.bind
            )
        })?;
    let snap = state.index.load();
    tracing::info!(
        bind = %listener.local_addr()?,
        store = %state.store.describe(),
        grids = snap.dataset().grids.len(),
        stations = snap.dataset().stations.len(),
        startup_ms = started.elapsed().as_millis() as u64,
        "gridmap listening"
    );
    // The first statistics request would compute these; compute them while nobody waits.
    state.coverage.warm(snap);
    let follower = state.follower();
    std::thread::Builder::new()
        .name("follow-store".into())
        .spawn(move || follower.run())?;
    let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    // On the signal: stop accepting, end the event streams, let requests in flight finish
    // within the grace period, then write what is pending and close the store.
    let stopping = state.stopping.clone();
    let mut stopped = stopping.subscribe();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown_signal().await;
        tracing::info!("stopping: no new connections; letting requests in flight finish");
        stopping.send_replace(true);
    });
    let grace = config.shutdown_grace;
    tokio::select! {
        served = server => served?,
        () = async {
            let _ = stopped.wait_for(|s| *s).await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!(grace_s = grace.as_secs_f64(), in_flight = state.gate.in_flight(), "requests still in flight after the grace period: exiting anyway");
        }
    }
    // The audit rows of the last second's reads.
    let follower = state.follower();
    tokio::task::spawn_blocking(move || follower.flush_audit()).await??;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
}
