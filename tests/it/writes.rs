//! Writes through the API: PUT and DELETE of one feature, only with the write token, validated
//! like an import, visible to the writer at once. Runs on either backend (GRIDMAP_TEST_BACKEND).

use axum::body::Body;
use axum::http::{Request, StatusCode};
use gridmap::http::{AppState, router};
use gridmap::model::LayerData;
use gridmap::model::geojson::{Visibility, station_feature};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::common::{backed_state, get};

const TOKEN: &str = "test-token-0123456789";

async fn send(
    state: &AppState,
    method: &str,
    uri: &str,
    auth: Option<&str>,
    body: &str,
) -> (StatusCode, Option<String>, Value) {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/geo+json");
    if let Some(token) = auth {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = router(state.clone())
        .oneshot(request.body(Body::from(body.to_string())).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let json = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{uri}: not JSON ({e})"))
    };
    (status, location, json)
}

/// A station of the sample as a full GeoJSON Feature (personal fields included, as a writer sends).
fn station_json(state: &AppState, i: usize) -> Value {
    let station = state.index.load().dataset().stations[i].clone();
    serde_json::to_value(station_feature(&station, Visibility::Personal)).unwrap()
}

#[tokio::test]
async fn writes_need_a_server_with_a_token_and_the_token() {
    let (_store, state) = backed_state();
    let body = station_json(&state, 0).to_string();
    let (status, _, json) = send(&state, "PUT", "/collections/stations/items/1", None, &body).await;
    assert_eq!(status, 405);
    assert!(json["message"].as_str().unwrap().contains("--write-token"));

    let state = state.with_write_token(TOKEN);
    let version = state.store.version().unwrap();
    for auth in [None, Some("wrong-token-0123456789")] {
        let (status, _, json) =
            send(&state, "PUT", "/collections/stations/items/1", auth, &body).await;
        assert_eq!(status, 401, "{json}");
        assert_eq!(json["error"], "unauthorized");
        let (status, _, _) =
            send(&state, "DELETE", "/collections/stations/items/1", auth, "").await;
        assert_eq!(status, 401);
    }
    assert_eq!(
        state.store.version().unwrap(),
        version,
        "nothing was written"
    );
}

#[tokio::test]
async fn put_replaces_or_creates_and_the_writer_reads_its_own_write() {
    let (_store, state) = backed_state();
    let state = state.with_write_token(TOKEN);
    let mut feature = station_json(&state, 0);
    let id = feature["id"].as_u64().unwrap();
    feature["properties"]["name"] = json!("接口改名驿站");
    let uri = format!("/collections/stations/items/{id}");
    let (status, location, json) =
        send(&state, "PUT", &uri, Some(TOKEN), &feature.to_string()).await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(location, None);
    assert_eq!(json["properties"]["name"], "接口改名驿站");
    assert!(
        json["properties"].get("contact_phone").is_none(),
        "the answer is public"
    );
    assert_eq!(
        get(&state, &uri).await.json["properties"]["name"],
        "接口改名驿站"
    );
    let stored = state.store.load().unwrap();
    assert_eq!(stored.stations[0].name, "接口改名驿站");
    assert_eq!(
        stored.stations[0].contact_phone,
        state.index.load().dataset().stations[0].contact_phone,
        "personal fields are kept as sent"
    );

    // A new id, given by the URL alone: 201 with its Location.
    let mut new = station_json(&state, 1);
    new.as_object_mut().unwrap().remove("id");
    new["properties"].as_object_mut().unwrap().remove("id");
    let (status, location, _) = send(
        &state,
        "PUT",
        "/collections/stations/items/5000",
        Some(TOKEN),
        &new.to_string(),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(
        location.as_deref(),
        // No Host header in this request: the link names localhost.
        Some("http://localhost/collections/stations/items/5000")
    );
    assert_eq!(
        get(&state, "/collections/stations/items/5000").await.status,
        200
    );
}

#[tokio::test]
async fn bad_writes_are_4xx_json_and_change_nothing() {
    let (_store, state) = backed_state();
    let state = state.with_write_token(TOKEN);
    let before = state.store.load().unwrap();
    let version = state.store.version().unwrap();
    let feature = station_json(&state, 0);
    let id = feature["id"].as_u64().unwrap();
    let mut orphan = feature.clone();
    orphan["properties"]["grid_code"] = json!("321181999999001");
    let mut outside = feature.clone();
    outside["geometry"]["coordinates"] = json!([200.0, 31.9]);
    let cases: Vec<(&str, String, String, u16, &str)> = vec![
        (
            "PUT",
            format!("/collections/stations/items/{id}"),
            "{not json".into(),
            400,
            "body",
        ),
        (
            "PUT",
            format!("/collections/stations/items/{}", id + 1),
            feature.to_string(),
            400,
            "URL",
        ),
        (
            "PUT",
            format!("/collections/stations/items/{id}"),
            orphan.to_string(),
            422,
            "321181999999001",
        ),
        (
            "PUT",
            format!("/collections/stations/items/{id}"),
            outside.to_string(),
            422,
            "lon",
        ),
        (
            "PUT",
            "/collections/nowhere/items/1".into(),
            feature.to_string(),
            404,
            "nowhere",
        ),
        // Over the body limit: 413 in the JSON error shape, naming the limit.
        (
            "PUT",
            format!("/collections/stations/items/{id}"),
            " ".repeat(gridmap::http::MAX_BODY_BYTES + 1),
            413,
            "bytes",
        ),
        // A grid that posts stand in cannot go.
        (
            "DELETE",
            format!("/collections/grids/items/{}", before.stations[0].grid_code),
            String::new(),
            422,
            "grid_code",
        ),
        (
            "DELETE",
            "/collections/stations/items/987654".into(),
            String::new(),
            404,
            "987654",
        ),
    ];
    for (method, uri, body, code, names) in cases {
        let (status, _, json) = send(&state, method, &uri, Some(TOKEN), &body).await;
        assert_eq!(status.as_u16(), code, "{method} {uri}: {json}");
        let message = json["message"].as_str().unwrap_or_default();
        assert!(message.contains(names), "{method} {uri}: {message}");
    }
    assert_eq!(
        state.store.version().unwrap(),
        version,
        "nothing was written"
    );
    assert_eq!(state.store.load().unwrap(), before);
}

#[tokio::test]
async fn delete_removes_a_feature_everywhere_it_was_served() {
    let (_store, state) = backed_state();
    let state = state.with_write_token(TOKEN);
    let station = state.index.load().dataset().stations[3].clone();
    let uri = format!("/collections/stations/items/{}", station.id);
    let (status, _, json) = send(&state, "DELETE", &uri, Some(TOKEN), "").await;
    assert_eq!(status, 204, "{json}");
    assert_eq!(get(&state, &uri).await.status, 404);
    let stored = state.store.load().unwrap();
    assert!(stored.stations.iter().all(|s| s.id != station.id));
    // And it can be put back.
    let features = LayerData::Stations(vec![station.clone()]);
    let feature = &gridmap::model::geojson::layer_features(&features)[0];
    let (status, _, _) = send(
        &state,
        "PUT",
        &uri,
        Some(TOKEN),
        &serde_json::to_string(feature).unwrap(),
    )
    .await;
    assert_eq!(status, 201);
}

/// A store that commits writes and then cannot be reached: what a write sees when the database
/// goes away between its commit and this server's catch-up.
struct GoneAfterCommit {
    inner: gridmap::store::GeoPackage,
    committed: std::sync::atomic::AtomicBool,
}

impl GoneAfterCommit {
    fn gone(&self) -> gridmap::Result<()> {
        if self.committed.load(std::sync::atomic::Ordering::SeqCst) {
            Err(gridmap::Error::store(
                "test",
                "connection lost after the commit",
            ))
        } else {
            Ok(())
        }
    }
}

impl gridmap::store::Store for GoneAfterCommit {
    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn load(&self) -> gridmap::Result<gridmap::model::Dataset> {
        self.gone()?;
        self.inner.load()
    }
    fn import(
        &self,
        data: LayerData,
        replace: bool,
        progress: gridmap::store::Progress,
    ) -> gridmap::Result<gridmap::store::ImportSummary> {
        let summary = self.inner.import(data, replace, progress)?;
        self.committed
            .store(true, std::sync::atomic::Ordering::SeqCst);
        Ok(summary)
    }
    fn delete(
        &self,
        layer: gridmap::model::Layer,
        keys: &[String],
    ) -> gridmap::Result<gridmap::store::ImportSummary> {
        self.inner.delete(layer, keys)
    }
    fn replace_all(
        &self,
        data: &gridmap::model::Dataset,
        progress: gridmap::store::Progress,
    ) -> gridmap::Result<()> {
        self.inner.replace_all(data, progress)
    }
    fn fill_if_empty(
        &self,
        data: &gridmap::model::Dataset,
        progress: gridmap::store::Progress,
    ) -> gridmap::Result<bool> {
        self.inner.fill_if_empty(data, progress)
    }
    fn version(&self) -> gridmap::Result<u64> {
        self.gone()?;
        self.inner.version()
    }
    fn import_declared(
        &self,
        data: gridmap::model::records::DeclaredData,
        replace: bool,
    ) -> gridmap::Result<gridmap::store::ImportSummary> {
        self.inner.import_declared(data, replace)
    }
    fn declarations(&self) -> &'static gridmap::model::declared::Declarations {
        self.inner.declarations()
    }
    fn migrate_layers(&self, allow_drop: bool) -> gridmap::Result<Vec<String>> {
        self.inner.migrate_layers(allow_drop)
    }
}

/// A write that committed is answered as done (with the feature as written), never as a 503
/// "nothing was written", even when this server cannot catch up right after; the store has it.
#[tokio::test]
async fn a_committed_write_is_answered_as_done_even_if_the_catch_up_fails() {
    let (dir, sample) = crate::common::sample_state();
    let path = dir.path().join("gridmap.gpkg");
    let store = GoneAfterCommit {
        inner: gridmap::store::GeoPackage::open(
            &path,
            gridmap::model::declared::Declarations::shipped(),
        )
        .unwrap(),
        committed: Default::default(),
    };
    let state = AppState::with_options(std::sync::Arc::new(store), Default::default())
        .unwrap()
        .with_write_token(TOKEN);
    let mut feature = station_json(&sample, 0);
    let id = feature["id"].as_u64().unwrap();
    feature["properties"]["name"] = json!("改名的驿站");
    let uri = format!("/collections/stations/items/{id}");
    let (status, _, json) = send(&state, "PUT", &uri, Some(TOKEN), &feature.to_string()).await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["properties"]["name"], "改名的驿站");
    assert!(
        json["properties"].get("contact_phone").is_none(),
        "the answer is public: {json}"
    );
    let stored = gridmap::store::Store::load(
        &gridmap::store::GeoPackage::open(&path, gridmap::model::declared::Declarations::shipped())
            .unwrap(),
    )
    .unwrap();
    let written = stored.stations.iter().find(|s| s.id == id).unwrap();
    assert_eq!(written.name, "改名的驿站");
}
