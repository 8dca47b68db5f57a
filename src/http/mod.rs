//! The HTTP API (axum): `router(state)` builds every route; handlers are grouped by resource.
//! All coordinates are WGS84 lon/lat unless a request says `crs=gcj02`.

mod error;
mod features;
mod openapi;
mod params;
mod queries;

pub use error::ApiError;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use tower_http::trace::TraceLayer;

use crate::index::{Index, Snapshot};
use crate::model::Layer;
use crate::store::Store;
use crate::{Result, sample, store};

/// What every handler shares: the current index snapshot and the store behind it.
#[derive(Clone)]
pub struct AppState {
    pub index: Arc<Index>,
    pub store: Arc<dyn Store>,
}

impl AppState {
    /// Load the store into a fresh index.
    pub fn load(store: Arc<dyn Store>) -> Result<AppState> {
        let snapshot = Snapshot::build(store.load()?);
        Ok(AppState {
            index: Arc::new(Index::new(snapshot)),
            store,
        })
    }

    /// Rebuild the index from the store and swap it in; readers keep their snapshot meanwhile.
    pub fn reload(&self) -> Result<()> {
        self.index.replace(Snapshot::build(self.store.load()?));
        Ok(())
    }
}

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
        .route("/health", get(health))
        .route("/openapi.json", get(openapi::document))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(TraceLayer::new_for_http())
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
}

/// Open the store (loading the Danyang sample into an empty one), index it and serve until
/// Ctrl-C or SIGTERM.
pub async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let started = Instant::now();
    let store_location = config.store.clone();
    let state = tokio::task::spawn_blocking(move || -> Result<AppState> {
        let store = store::open(&store_location)?;
        if sample::load_if_empty(store.as_ref())? {
            tracing::info!(store = %store.describe(), "empty store: loaded the Danyang sample");
        }
        AppState::load(store)
    })
    .await??;
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
