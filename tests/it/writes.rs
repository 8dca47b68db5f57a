//! Writes through the API (OGC API - Features Part 4): POST, PUT, PATCH and DELETE of one
//! feature by an account whose role and area allow it, with If-Match against lost updates,
//! validated like an import, audited in the same transaction, visible to the writer at once.
//! Runs on either backend (GRIDMAP_TEST_BACKEND).

use axum::http::StatusCode;
use gridmap::access::Role;
use gridmap::access::audit::AuditQuery;
use gridmap::http::AppState;
use gridmap::model::LayerData;
use gridmap::model::geojson::{Visibility, station_feature};
use serde_json::{Value, json};

use crate::common::{account, backed_state, get, get_raw, send};

/// A station of the sample as a full GeoJSON Feature (personal fields included, as a writer sends).
fn station_json(state: &AppState, i: usize) -> Value {
    let station = state.index.load().dataset().stations[i].clone();
    serde_json::to_value(station_feature(&station, Visibility::Personal)).unwrap()
}

/// The ETag of one item as `token` reads it.
async fn etag(state: &AppState, uri: &str, token: &str) -> String {
    let bearer = format!("Bearer {token}");
    let raw = get_raw(state, uri, &[("authorization", &bearer)]).await;
    assert_eq!(raw.status, 200, "{uri}");
    let tag = raw.header("etag").to_string();
    assert!(tag.starts_with('"'), "{uri} has no ETag for {token}");
    tag
}

fn auth(token: &str) -> String {
    format!("Bearer {token}")
}

#[tokio::test]
async fn writes_need_an_account_whose_role_allows_them() {
    let (_store, state) = backed_state();
    let viewer = account(&state, "viewer", Role::Viewer, &["321181001"]);
    let body = station_json(&state, 0).to_string();
    let id = state.index.load().dataset().stations[0].id;
    let uri = format!("/collections/stations/items/{id}");
    let version = state.store.version().unwrap();
    let bad_token = auth("gm_not-a-token");
    let viewer_auth = auth(&viewer);
    for (headers, code, says) in [
        (vec![], 401, "Bearer"),
        (
            vec![("authorization", bad_token.as_str())],
            401,
            "no account",
        ),
        (vec![("authorization", "Basic dXNlcjpwYXNz")], 401, "Bearer"),
        (
            vec![("authorization", viewer_auth.as_str())],
            403,
            "reads only",
        ),
    ] {
        for method in ["PUT", "PATCH", "DELETE"] {
            let (status, h, json) = send(&state, method, &uri, &headers, &body).await;
            assert_eq!(status.as_u16(), code, "{method} {headers:?}: {json}");
            assert!(json["message"].as_str().unwrap().contains(says), "{json}");
            if code == 401 {
                assert_eq!(h["www-authenticate"], "Bearer");
            }
        }
        let (status, _, _) = send(
            &state,
            "POST",
            "/collections/stations/items",
            &headers,
            &body,
        )
        .await;
        assert_eq!(status.as_u16(), code);
    }
    assert_eq!(
        state.store.version().unwrap(),
        version,
        "nothing was written"
    );
}

#[tokio::test]
async fn put_needs_the_current_etag_and_the_writer_reads_its_own_write() {
    let (_store, state) = backed_state();
    let city = account(&state, "city", Role::City, &[]);
    let mut feature = station_json(&state, 0);
    let id = feature["id"].as_u64().unwrap();
    let uri = format!("/collections/stations/items/{id}");
    let tag = etag(&state, &uri, &city).await;
    feature["properties"]["name"] = json!("接口改名驿站");
    let body = feature.to_string();
    let bearer = auth(&city);

    let (status, _, json) = send(&state, "PUT", &uri, &[("authorization", &bearer)], &body).await;
    assert_eq!(status, 428, "{json}");
    assert!(json["message"].as_str().unwrap().contains("If-Match"));
    // `*` would overwrite whatever changed since: not enough.
    let (status, _, json) = send(
        &state,
        "PUT",
        &uri,
        &[("authorization", &bearer), ("if-match", "*")],
        &body,
    )
    .await;
    assert_eq!(status, 428, "{json}");
    let (status, _, json) = send(
        &state,
        "PUT",
        &uri,
        &[("authorization", &bearer), ("if-match", "\"0-0\"")],
        &body,
    )
    .await;
    assert_eq!(status, 412, "{json}");
    assert!(
        json["message"].as_str().unwrap().contains(&tag),
        "names the current tag: {json}"
    );
    // A weak tag never matches (If-Match compares strongly).
    let weak = format!("W/{tag}");
    let (status, _, _) = send(
        &state,
        "PUT",
        &uri,
        &[("authorization", &bearer), ("if-match", &weak)],
        &body,
    )
    .await;
    assert_eq!(status, 412);

    let (status, h, json) = send(
        &state,
        "PUT",
        &uri,
        &[("authorization", &bearer), ("if-match", &tag)],
        &body,
    )
    .await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["properties"]["name"], "接口改名驿站");
    let new_tag = h["etag"].to_str().unwrap().to_string();
    assert_ne!(new_tag, tag);
    assert_eq!(
        etag(&state, &uri, &city).await,
        new_tag,
        "the answer's ETag is the item's"
    );
    assert_eq!(
        get(&state, &uri).await.json["properties"]["name"],
        "接口改名驿站"
    );
    let stored = state.store.load().unwrap();
    assert_eq!(stored.stations[0].name, "接口改名驿站");
    // The old tag is stale now.
    let (status, _, _) = send(
        &state,
        "PUT",
        &uri,
        &[("authorization", &bearer), ("if-match", &tag)],
        &body,
    )
    .await;
    assert_eq!(status, 412);
}

#[tokio::test]
async fn post_creates_once_and_patch_merges() {
    let (_store, state) = backed_state();
    let town_code = state.index.load().dataset().stations[1].grid_code[..9].to_string();
    let town = account(&state, "town", Role::Town, &[&town_code]);
    let bearer = auth(&town);
    let mut new = station_json(&state, 1);
    new.as_object_mut().unwrap().remove("id");
    new["properties"]["id"] = json!(5000);
    let (status, h, json) = send(
        &state,
        "POST",
        "/collections/stations/items",
        &[("authorization", &bearer)],
        &new.to_string(),
    )
    .await;
    assert_eq!(status, 201, "{json}");
    assert_eq!(
        h["location"],
        "http://test.local/collections/stations/items/5000"
    );
    let tag = h["etag"].to_str().unwrap().to_string();
    let (status, _, json) = send(
        &state,
        "POST",
        "/collections/stations/items",
        &[("authorization", &bearer)],
        &new.to_string(),
    )
    .await;
    assert_eq!(status, 409, "{json}");

    let patch =
        json!({"properties": {"opening_hours": "Mo-Su 08:00-20:00", "contact_phone": null}});
    let uri = "/collections/stations/items/5000";
    let (status, _, json) = send(
        &state,
        "PATCH",
        uri,
        &[("authorization", &bearer), ("if-match", &tag)],
        &patch.to_string(),
    )
    .await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["properties"]["opening_hours"], "Mo-Su 08:00-20:00");
    assert_eq!(json["properties"]["contact_phone"], Value::Null);
    assert_eq!(
        json["properties"]["name"], new["properties"]["name"],
        "the rest is kept"
    );
    let stored = state.store.load().unwrap();
    let s = stored.stations.iter().find(|s| s.id == 5000).unwrap();
    assert_eq!(
        (s.opening_hours.as_str(), s.contact_phone.as_deref()),
        ("Mo-Su 08:00-20:00", None)
    );
}

#[tokio::test]
async fn an_area_bounds_what_an_account_writes() {
    let (_store, state) = backed_state();
    let snap = state.index.load();
    let d = snap.dataset();
    let grid = d.grids[0].clone();
    let other = d
        .grids
        .iter()
        .find(|g| g.code[..9] != grid.code[..9])
        .unwrap()
        .clone();
    let town = account(&state, "town", Role::Town, &[&grid.code[..9]]);
    let worker = account(&state, "worker", Role::GridWorker, &[&grid.code]);
    let mine = format!("/collections/grids/items/{}", grid.code);
    let theirs = format!("/collections/grids/items/{}", other.code);
    let name = json!({"properties": {"name": "新名字网格"}}).to_string();
    let version = state.store.version().unwrap();

    // Outside the area: 403 before anything else, whatever If-Match says.
    for token in [&town, &worker] {
        let (status, _, json) = send(
            &state,
            "PATCH",
            &theirs,
            &[("authorization", &auth(token)), ("if-match", "*")],
            &name,
        )
        .await;
        assert_eq!(status, 403, "{json}");
        assert!(
            json["message"]
                .as_str()
                .unwrap()
                .contains("outside the area")
        );
    }
    // A grid worker: attributes of its grid, not its geometry; no delete, no create.
    let moved = json!({"geometry": {"type": "MultiPolygon", "coordinates": [[[[119.5, 32.0], [119.51, 32.0], [119.51, 32.01], [119.5, 32.0]]]]}}).to_string();
    let worker_tag = etag(&state, &mine, &worker).await;
    let (status, _, json) = send(
        &state,
        "PATCH",
        &mine,
        &[("authorization", &auth(&worker)), ("if-match", &worker_tag)],
        &moved,
    )
    .await;
    assert_eq!(status, 403, "{json}");
    assert!(json["message"].as_str().unwrap().contains("geometry"));
    let (status, _, _) = send(
        &state,
        "DELETE",
        &mine,
        &[("authorization", &auth(&worker)), ("if-match", "*")],
        "",
    )
    .await;
    assert_eq!(status, 403);
    let town_uri = format!("/collections/towns/items/{}", &grid.code[..9]);
    let (status, _, _) = send(
        &state,
        "PATCH",
        &town_uri,
        &[("authorization", &auth(&worker)), ("if-match", "*")],
        &name,
    )
    .await;
    assert_eq!(status, 403, "a grid worker edits grids and posts only");
    assert_eq!(
        state.store.version().unwrap(),
        version,
        "nothing was written"
    );

    let tag = etag(&state, &mine, &worker).await;
    let (status, _, json) = send(
        &state,
        "PATCH",
        &mine,
        &[("authorization", &auth(&worker)), ("if-match", &tag)],
        &name,
    )
    .await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["properties"]["name"], "新名字网格");
    // The town's staff may move it (geometry included) but not out of their town.
    let tag = etag(&state, &mine, &town).await;
    let mut out = serde_json::to_value(gridmap::model::geojson::grid_feature(
        &state.index.load().dataset().grids[0],
        Visibility::Personal,
    ))
    .unwrap();
    out["properties"]["code"] = json!(other.code);
    let (status, _, json) = send(
        &state,
        "PUT",
        &mine,
        &[("authorization", &auth(&town)), ("if-match", &tag)],
        &out.to_string(),
    )
    .await;
    assert_eq!(status, 400, "a key cannot change: {json}");
}

/// Two editors with the same ETag: exactly one wins, the other gets 412 and writes nothing.
#[tokio::test]
async fn of_two_writers_with_one_etag_exactly_one_wins() {
    let (_store, state) = backed_state();
    let city = account(&state, "city", Role::City, &[]);
    let id = state.index.load().dataset().stations[2].id;
    let uri = format!("/collections/stations/items/{id}");
    let tag = etag(&state, &uri, &city).await;
    let bearer = auth(&city);
    let body = |name: &str| json!({"properties": {"name": name}}).to_string();
    let (a, b) = (body("甲改的名"), body("乙改的名"));
    let headers = [
        ("authorization", bearer.as_str()),
        ("if-match", tag.as_str()),
    ];
    let ((sa, _, ja), (sb, _, jb)) = tokio::join!(
        send(&state, "PATCH", &uri, &headers, &a),
        send(&state, "PATCH", &uri, &headers, &b)
    );
    let mut codes = [sa.as_u16(), sb.as_u16()];
    codes.sort();
    assert_eq!(codes, [200, 412], "{ja} {jb}");
    let winner = if sa == StatusCode::OK {
        "甲改的名"
    } else {
        "乙改的名"
    };
    let stored = state.store.load().unwrap();
    assert_eq!(
        stored.stations.iter().find(|s| s.id == id).unwrap().name,
        winner
    );
    let rows = state
        .store
        .read_audit(&AuditQuery {
            key: Some(id.to_string()),
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(rows.len(), 1, "one audit row, the winner's: {rows:?}");
    assert_eq!(
        rows[0].after.as_ref().unwrap()["properties"]["name"],
        winner
    );
}

#[tokio::test]
async fn bad_writes_are_4xx_json_and_change_nothing() {
    let (_store, state) = backed_state();
    let city = account(&state, "city", Role::City, &[]);
    let bearer = auth(&city);
    let before = state.store.load().unwrap();
    let version = state.store.version().unwrap();
    let feature = station_json(&state, 0);
    let id = feature["id"].as_u64().unwrap();
    let mut orphan = feature.clone();
    orphan["properties"]["grid_code"] = json!("321181999999001");
    let mut outside = feature.clone();
    outside["geometry"]["coordinates"] = json!([200.0, 31.9]);
    let item = format!("/collections/stations/items/{id}");
    let cases: Vec<(&str, String, String, u16, &str)> = vec![
        ("PUT", item.clone(), "{not json".into(), 400, "body"),
        (
            "PUT",
            format!("/collections/stations/items/{}", before.stations[1].id),
            feature.to_string(),
            400,
            "URL",
        ),
        (
            "PUT",
            item.clone(),
            orphan.to_string(),
            422,
            "321181999999001",
        ),
        ("PUT", item.clone(), outside.to_string(), 422, "lon"),
        ("PATCH", item.clone(), "[1]".into(), 400, "object"),
        (
            "PATCH",
            item.clone(),
            json!({"properties": {"services": ["dance"]}}).to_string(),
            422,
            "dance",
        ),
        (
            "PUT",
            "/collections/nowhere/items/1".into(),
            feature.to_string(),
            404,
            "nowhere",
        ),
        (
            "POST",
            "/collections/stations/items".into(),
            "{\"type\": \"Feature\"}".into(),
            422,
            "'id' is missing",
        ),
        // Over the body limit: 413 in the JSON error shape, naming the limit.
        (
            "PUT",
            item.clone(),
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
        // A declared layer checks a write against its declaration.
        (
            "PUT",
            format!(
                "/collections/shelters/items/{}",
                before.declared("shelters").unwrap().features[0].key
            ),
            feature.to_string(),
            422,
            "is not declared for shelters",
        ),
    ];
    for (method, uri, body, code, names) in cases {
        // The item's current ETag where it exists, so each case reaches the check it is about.
        let current = get_raw(&state, &uri, &[("authorization", &bearer)]).await;
        let tag = current.header("etag").to_string();
        let (status, _, json) = send(
            &state,
            method,
            &uri,
            &[("authorization", &bearer), ("if-match", &tag)],
            &body,
        )
        .await;
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
async fn delete_removes_a_feature_everywhere_it_was_served_and_is_audited() {
    let (_store, state) = backed_state();
    let city = account(&state, "city", Role::City, &[]);
    let admin = account(&state, "root", Role::Admin, &[]);
    let bearer = auth(&city);
    let station = state.index.load().dataset().stations[3].as_ref().clone();
    let uri = format!("/collections/stations/items/{}", station.id);
    let tag = etag(&state, &uri, &city).await;
    let (status, _, json) = send(&state, "DELETE", &uri, &[("authorization", &bearer)], "").await;
    assert_eq!(status, 428, "{json}");
    let (status, _, json) = send(
        &state,
        "DELETE",
        &uri,
        &[("authorization", &bearer), ("if-match", &tag)],
        "",
    )
    .await;
    assert_eq!(status, 204, "{json}");
    assert_eq!(get(&state, &uri).await.status, 404);
    let stored = state.store.load().unwrap();
    assert!(stored.stations.iter().all(|s| s.id != station.id));
    // And it can be created again.
    let features = LayerData::Stations(vec![station.clone()]);
    let feature = &gridmap::model::geojson::layer_features(&features)[0];
    let (status, _, _) = send(
        &state,
        "POST",
        "/collections/stations/items",
        &[("authorization", &bearer)],
        &serde_json::to_string(feature).unwrap(),
    )
    .await;
    assert_eq!(status, 201);

    // The log: who, what, before and after; for admins only.
    let key = station.id.to_string();
    let (status, _, _) = send(
        &state,
        "GET",
        &format!("/audit?key={key}"),
        &[("authorization", &bearer)],
        "",
    )
    .await;
    assert_eq!(status, 403);
    let (status, _, log) = send(
        &state,
        "GET",
        &format!("/audit?key={key}&user=city"),
        &[("authorization", &auth(&admin))],
        "",
    )
    .await;
    assert_eq!(status, 200, "{log}");
    let all = log["rows"].as_array().unwrap();
    assert!(
        all.iter().any(|r| r["action"] == "read"),
        "reading the post's phone (for its ETag) is logged too: {log}"
    );
    let rows: Vec<&Value> = all.iter().filter(|r| r["action"] != "read").collect();
    let actions: Vec<&str> = rows.iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["create", "delete"], "newest first: {log}");
    assert_eq!(
        rows[1]["before"]["properties"]["contact_phone"],
        json!(station.contact_phone)
    );
    assert_eq!(rows[1]["after"], Value::Null);
    assert_eq!(rows[0]["account"], "city");
    assert!(rows[0]["at"].as_str().unwrap().ends_with('Z'));
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
    fn import_with(
        &self,
        data: LayerData,
        replace: bool,
        progress: gridmap::store::Progress,
        guard: Option<&gridmap::store::Guard>,
    ) -> gridmap::Result<gridmap::store::ImportSummary> {
        let summary = self.inner.import_with(data, replace, progress, guard)?;
        // An API write committed: from now on the store is gone.
        if guard.is_some() {
            self.committed
                .store(true, std::sync::atomic::Ordering::SeqCst);
        }
        Ok(summary)
    }
    fn delete_with(
        &self,
        layer: gridmap::model::Layer,
        keys: &[String],
        guard: Option<&gridmap::store::Guard>,
    ) -> gridmap::Result<gridmap::store::ImportSummary> {
        self.inner.delete_with(layer, keys, guard)
    }
    fn accounts(&self) -> gridmap::Result<Vec<gridmap::access::StoredAccount>> {
        self.inner.accounts()
    }
    fn put_account(&self, account: &gridmap::access::StoredAccount) -> gridmap::Result<()> {
        self.inner.put_account(account)
    }
    fn append_audit(&self, rows: &[gridmap::access::audit::AuditRow]) -> gridmap::Result<()> {
        self.inner.append_audit(rows)
    }
    fn read_audit(
        &self,
        query: &AuditQuery,
    ) -> gridmap::Result<Vec<gridmap::access::audit::AuditRow>> {
        self.inner.read_audit(query)
    }
    fn prune_audit(&self, before_s: i64) -> gridmap::Result<usize> {
        self.inner.prune_audit(before_s)
    }
    fn append_events(
        &self,
        entries: &[gridmap::events::Entry],
    ) -> gridmap::Result<Vec<gridmap::events::Entry>> {
        self.inner.append_events(entries)
    }
    fn events_since(
        &self,
        after_seq: u64,
        limit: usize,
    ) -> gridmap::Result<Vec<gridmap::events::Entry>> {
        self.inner.events_since(after_seq, limit)
    }
    fn add_photo(
        &self,
        photo: &gridmap::events::photos::Photo,
        bytes: &[u8],
    ) -> gridmap::Result<gridmap::events::photos::Photo> {
        self.inner.add_photo(photo, bytes)
    }
    fn photos(&self, event_id: u64) -> gridmap::Result<Vec<gridmap::events::photos::Photo>> {
        self.inner.photos(event_id)
    }
    fn photo(
        &self,
        event_id: u64,
        n: u32,
    ) -> gridmap::Result<Option<(gridmap::events::photos::Photo, Vec<u8>)>> {
        self.inner.photo(event_id, n)
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
    fn import_declared_with(
        &self,
        data: gridmap::model::records::DeclaredData,
        replace: bool,
        guard: Option<&gridmap::store::Guard>,
    ) -> gridmap::Result<gridmap::store::ImportSummary> {
        self.inner.import_declared_with(data, replace, guard)
    }
    fn delete_declared_with(
        &self,
        def: &'static gridmap::model::schema::LayerDef,
        keys: &[String],
        guard: Option<&gridmap::store::Guard>,
    ) -> gridmap::Result<gridmap::store::ImportSummary> {
        self.inner.delete_declared_with(def, keys, guard)
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
    let state = AppState::with_options(std::sync::Arc::new(store), Default::default()).unwrap();
    let city = account(&state, "city", Role::City, &[]);
    let mut feature = station_json(&sample, 0);
    let id = feature["id"].as_u64().unwrap();
    feature["properties"]["name"] = json!("改名的驿站");
    let uri = format!("/collections/stations/items/{id}");
    let tag = etag(&state, &uri, &city).await;
    let (status, _, json) = send(
        &state,
        "PUT",
        &uri,
        &[("authorization", &auth(&city)), ("if-match", &tag)],
        &feature.to_string(),
    )
    .await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["properties"]["name"], "改名的驿站");
    let stored = gridmap::store::Store::load(
        &gridmap::store::GeoPackage::open(&path, gridmap::model::declared::Declarations::shipped())
            .unwrap(),
    )
    .unwrap();
    let written = stored.stations.iter().find(|s| s.id == id).unwrap();
    assert_eq!(written.name, "改名的驿站");
}
