//! The HTTP API (axum): `router(state)` builds every route; handlers are grouped by resource.
//! All coordinates are WGS84 lon/lat unless a request says `crs=gcj02`.

mod error;
mod features;
mod openapi;
mod params;
mod queries;
mod state;
mod tiles;

pub use error::ApiError;
pub use state::{AppState, TileOptions};

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::State;
use axum::http::{Method, header};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use tower_http::cors::{Any, CorsLayer};
use tower_http::trace::TraceLayer;

use crate::model::Layer;
use crate::{Result, sample, store};

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(features::landing))
        .route("/conformance", get(features::conformance))
        .route("/collections", get(features::collections))
        .route("/collections/{collection_id}", get(features::collection))
        .route("/collections/{collection_id}/items", get(features::items))
        .route(
            "/collections/{collection_id}/items/{feature_id}",
            get(features::item),
        )
        .route("/locate", get(queries::locate))
        .route("/nearest", get(queries::nearest))
        .route("/tiles/{z}/{x}/{y}", get(tiles::tile))
        .route("/tiles.json", get(tiles::tilejson))
        .route("/health", get(health))
        .route("/openapi.json", get(openapi::document))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(TraceLayer::new_for_http())
        .layer(
            CorsLayer::new()
                .allow_origin(Any)
                .allow_methods([Method::GET, Method::HEAD])
                .expose_headers([header::ETAG]),
        )
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

async fn health(State(state): State<AppState>) -> Json<Value> {
    let snap = state.index.load();
    let counts: serde_json::Map<String, Value> = Layer::ALL
        .iter()
        .map(|&l| (l.name().to_string(), json!(snap.dataset().count(l))))
        .collect();
    Json(json!({"status": "ok", "store": state.store.describe(), "features": counts}))
}

/// How `gridmap serve` is configured (validated by the CLI before anything binds).
#[derive(Clone, Debug)]
pub struct ServeConfig {
    pub bind: SocketAddr,
    pub store: String,
    pub tiles: TileOptions,
}

/// How often a server checks its store for changes committed by other processes.
const WATCH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Poll the store's version; on a change, rebuild the index and drop the tiles it touches.
async fn watch_store(state: AppState) {
    let mut seen = state.store.version().ok();
    loop {
        tokio::time::sleep(WATCH_INTERVAL).await;
        let now = state.store.version().ok();
        if now == seen {
            continue;
        }
        seen = now;
        let s = state.clone();
        match tokio::task::spawn_blocking(move || s.reload()).await {
            Ok(Ok(dropped)) => {
                tracing::info!(dropped_tiles = dropped, "store changed: index rebuilt")
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "store changed but could not be reloaded; serving the previous data")
            }
            Err(e) => tracing::error!(error = %e, "reload task failed"),
        }
    }
}

/// Open the store (loading the Danyang sample into an empty one), index it and serve until
/// Ctrl-C or SIGTERM.
pub async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let started = Instant::now();
    let store_location = config.store.clone();
    let tile_options = config.tiles.clone();
    let state = tokio::task::spawn_blocking(move || -> Result<AppState> {
        let store = store::open(&store_location)?;
        if sample::load_if_empty(store.as_ref())? {
            tracing::info!(store = %store.describe(), "empty store: loaded the Danyang sample");
        }
        AppState::with_options(store, tile_options)
    })
    .await??;
    let state = match &config.tiles.archive {
        Some(path) => {
            let archive = crate::tiles::archive::Archive::open(path).await?;
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
    drop(snap);
    tokio::spawn(watch_store(state.clone()));
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
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
