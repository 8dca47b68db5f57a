//! The real router on the Danyang sample in a temporary GeoPackage, built once per process.

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::Request;
use tower::ServiceExt;

struct Served {
    runtime: tokio::runtime::Runtime,
    router: axum::Router,
    _dir: tempfile::TempDir,
}

fn served() -> &'static Served {
    static SERVED: OnceLock<Served> = OnceLock::new();
    SERVED.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let location = dir.path().join("gridmap.gpkg").display().to_string();
        let layers = gridmap::model::declared::Declarations::shipped();
        let store = gridmap::store::open(&location, layers).unwrap();
        gridmap::sample::load_if_empty(store.as_ref()).unwrap();
        let state = gridmap::http::AppState::load(store).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        Served {
            runtime,
            router: gridmap::http::router(state),
            _dir: dir,
        }
    })
}

pub fn warm() {
    served();
}

/// GET `uri` (made a valid URI first, or skipped); panic on a 5xx.
pub fn get_is_not_5xx(uri: &str) {
    let served = served();
    let Ok(request) = Request::get(uri)
        .header("host", "fuzz.local")
        .body(Body::empty())
    else {
        return;
    };
    let response = served
        .runtime
        .block_on(served.router.clone().oneshot(request))
        .unwrap();
    assert!(
        !response.status().is_server_error(),
        "{uri}: {}",
        response.status()
    );
}
