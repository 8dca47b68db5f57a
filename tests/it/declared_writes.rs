//! Writes to declared layers through the API (OGC API - Features Part 4), under the same rules
//! as the built-in ones: If-Match, the caller's role and area, validation against the
//! declaration, gridmap filling the town, village and grid, and the audit row in the same
//! transaction. Runs on either backend (GRIDMAP_TEST_BACKEND).

use geo::{Contains, Point};
use gridmap::access::Role;
use gridmap::access::audit::AuditQuery;
use gridmap::http::AppState;
use gridmap::model::schema::Visibility;
use serde_json::{Value, json};

use crate::common::{account, backed_state, get, send};

/// Feature `i` of declared layer `name` as stored (every field), as GeoJSON.
fn stored(state: &AppState, name: &str, i: usize) -> Value {
    let snap = state.index.load();
    let layer = snap.declared_layer(name).unwrap();
    serde_json::to_value(layer.features[i].feature(layer.def, Visibility::Personal)).unwrap()
}

/// The code of the grid whose polygon contains `p`, by brute force over every grid.
fn grid_at(state: &AppState, p: Point) -> Option<String> {
    let snap = state.index.load();
    snap.dataset()
        .grids
        .iter()
        .find(|g| g.geometry.contains(&p))
        .map(|g| g.code.clone())
}

/// `send` with a bearer token and an optional If-Match.
async fn call(
    state: &AppState,
    method: &str,
    uri: &str,
    token: &str,
    if_match: Option<&str>,
    body: &Value,
) -> (u16, axum::http::HeaderMap, Value) {
    let bearer = format!("Bearer {token}");
    let mut headers = vec![("authorization", bearer.as_str())];
    if let Some(tag) = if_match {
        headers.push(("if-match", tag));
    }
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let (status, h, json) = send(state, method, uri, &headers, &body).await;
    (status.as_u16(), h, json)
}

/// The ETag `token` reads for `uri`.
async fn etag_of(state: &AppState, uri: &str, token: &str) -> String {
    let (status, h, json) = call(state, "GET", uri, token, None, &Value::Null).await;
    assert_eq!(status, 200, "{uri}: {json}");
    h["etag"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn a_grid_worker_updates_its_buildings_attributes_and_nothing_else() {
    let (_store, state) = backed_state();
    let building = stored(&state, "buildings", 0);
    let code = building["properties"]["code"].as_str().unwrap().to_string();
    let grid = code[..15].to_string();
    let worker = account(&state, "worker", Role::GridWorker, &[&grid]);
    let uri = format!("/collections/buildings/items/{code}");
    let tag = etag_of(&state, &uri, &worker).await;

    // Moving it, or touching a building of another grid or a town's shelter, is refused.
    let moved = json!({"geometry": {"type": "Point", "coordinates": [119.6, 32.0]}});
    let (status, _, json) = call(&state, "PATCH", &uri, &worker, Some(&tag), &moved).await;
    assert_eq!(status, 403, "{json}");
    assert!(
        json["message"].as_str().unwrap().contains("geometry"),
        "{json}"
    );
    let other = {
        let snap = state.index.load();
        let b = snap.declared_layer("buildings").unwrap();
        b.features
            .iter()
            .find(|r| !r.key.starts_with(&grid))
            .unwrap()
            .key
            .clone()
    };
    let (status, _, json) = call(
        &state,
        "PATCH",
        &format!("/collections/buildings/items/{other}"),
        &worker,
        Some("\"stale\""),
        &json!({"properties": {"households": 1}}),
    )
    .await;
    assert_eq!(status, 403, "another grid's building: {json}");
    let shelter = stored(&state, "shelters", 0);
    let (status, _, json) = call(
        &state,
        "PATCH",
        &format!(
            "/collections/shelters/items/{}",
            shelter["id"].as_str().unwrap()
        ),
        &worker,
        Some("\"stale\""),
        &json!({"properties": {"capacity": 1}}),
    )
    .await;
    assert_eq!(status, 403, "a shelter is the town's: {json}");
    assert!(
        json["message"].as_str().unwrap().contains("shelters"),
        "{json}"
    );

    // Its households: allowed, with the current ETag.
    let households = building["properties"]["households"].as_i64().unwrap() + 3;
    let patch = json!({"properties": {"households": households}});
    let (status, h, json) = call(&state, "PATCH", &uri, &worker, Some(&tag), &patch).await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["properties"]["households"], households);
    assert_eq!(
        json["properties"]["grid_code"], grid,
        "gridmap keeps its grid"
    );
    assert_ne!(h["etag"].to_str().unwrap(), tag, "a new version");
    // The old ETag no longer matches.
    let (status, _, _) = call(&state, "PATCH", &uri, &worker, Some(&tag), &patch).await;
    assert_eq!(status, 412);

    let reloaded = state.store.load().unwrap();
    let layer = reloaded.declared("buildings").unwrap();
    let r = layer.features.iter().find(|r| r.key == code).unwrap();
    assert_eq!(r.value(layer.def, "households"), &json!(households));
    let rows = state
        .store
        .read_audit(&AuditQuery {
            key: Some(code.clone()),
            limit: 1000,
            ..AuditQuery::default()
        })
        .unwrap();
    let row = rows.iter().find(|r| r.action.name() == "patch").unwrap();
    assert_eq!(
        (row.account.as_str(), row.layer.as_str()),
        ("worker", "buildings")
    );
    assert_eq!(
        row.before.as_ref().unwrap()["properties"]["households"],
        building["properties"]["households"]
    );

    // A building an import placed outside its grid (imports allow it; `gridmap check` names it)
    // still takes attribute edits; only moving it is held to its grid.
    let mut layer = state
        .store
        .load()
        .unwrap()
        .declared("buildings")
        .unwrap()
        .clone();
    layer.features.retain(|r| r.key == code);
    layer.features[0].geometry = geo::Geometry::Point(Point::new(119.6, 32.0));
    state.store.import_declared(layer, false).unwrap();
    state.reload().unwrap();
    let tag = etag_of(&state, &uri, &worker).await;
    let patch = json!({"properties": {"households": households + 1}});
    let (status, _, json) = call(&state, "PATCH", &uri, &worker, Some(&tag), &patch).await;
    assert_eq!(status, 200, "{json}");
}

#[tokio::test]
async fn a_town_creates_moves_and_deletes_a_shelter_of_its_own() {
    let (_store, state) = backed_state();
    let template = stored(&state, "shelters", 0);
    let town_code = template["properties"]["town_code"]
        .as_str()
        .unwrap()
        .to_string();
    let town = account(&state, "town", Role::Town, &[&town_code]);
    // Two points in grids of its town, and one in another town.
    let (inside, elsewhere, outside) = {
        let snap = state.index.load();
        let d = snap.dataset();
        let mut mine = d
            .grids
            .iter()
            .filter(|g| g.code.starts_with(&town_code))
            .filter_map(|g| gridmap::model::label_point(&g.geometry));
        let other = d
            .grids
            .iter()
            .find(|g| !g.code.starts_with(&town_code))
            .and_then(|g| gridmap::model::label_point(&g.geometry))
            .unwrap();
        (mine.next().unwrap(), mine.nth(5).unwrap(), other)
    };
    let shelter = |at: Point| {
        json!({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [at.x(), at.y()]},
            "properties": {"code": "SH-TEST-1", "name": "测试避难点", "kind": "park", "capacity": 800},
        })
    };

    // Bad input: 4xx naming the field, nothing written.
    let version = state.store.version().unwrap();
    let mut unknown = shelter(inside);
    unknown["properties"]["colour"] = json!("red");
    let (status, _, json) = call(
        &state,
        "POST",
        "/collections/shelters/items",
        &town,
        None,
        &unknown,
    )
    .await;
    assert_eq!(status, 422, "{json}");
    assert!(
        json["message"].as_str().unwrap().contains("colour"),
        "{json}"
    );
    let far = shelter(Point::new(116.4, 39.9));
    let (status, _, json) = call(
        &state,
        "POST",
        "/collections/shelters/items",
        &town,
        None,
        &far,
    )
    .await;
    assert_eq!(status, 422, "outside the county: {json}");
    let (status, _, json) = call(
        &state,
        "POST",
        "/collections/shelters/items",
        &town,
        None,
        &shelter(outside),
    )
    .await;
    assert_eq!(status, 403, "another town's ground: {json}");
    assert_eq!(state.store.version().unwrap(), version, "nothing written");

    // Created: 201, its town, village and grid filled by gridmap.
    let (status, h, json) = call(
        &state,
        "POST",
        "/collections/shelters/items",
        &town,
        None,
        &shelter(inside),
    )
    .await;
    assert_eq!(status, 201, "{json}");
    let uri = "/collections/shelters/items/SH-TEST-1";
    assert!(h["location"].to_str().unwrap().ends_with(uri));
    assert_eq!(
        json["properties"]["grid_code"].as_str(),
        grid_at(&state, inside).as_deref()
    );
    let (status, _, _) = call(
        &state,
        "POST",
        "/collections/shelters/items",
        &town,
        None,
        &shelter(inside),
    )
    .await;
    assert_eq!(status, 409, "the key exists");

    // Moved within the town by a merge patch: its grid follows (no stale code kept).
    let tag = h["etag"].to_str().unwrap().to_string();
    let moved =
        json!({"geometry": {"type": "Point", "coordinates": [elsewhere.x(), elsewhere.y()]}});
    let (status, h, json) = call(&state, "PATCH", uri, &town, Some(&tag), &moved).await;
    assert_eq!(status, 200, "{json}");
    let now = grid_at(&state, elsewhere).unwrap();
    assert_eq!(json["properties"]["grid_code"], now);
    assert_eq!(json["properties"]["village_code"], now[..12]);
    assert_eq!(json["properties"]["capacity"], 800, "the rest is kept");
    // Moving it out of the town is refused.
    let tag = h["etag"].to_str().unwrap().to_string();
    let away = json!({"geometry": {"type": "Point", "coordinates": [outside.x(), outside.y()]}});
    let (status, _, json) = call(&state, "PATCH", uri, &town, Some(&tag), &away).await;
    assert_eq!(status, 403, "{json}");

    // A PUT whose key disagrees with the URL is refused, naming the key field.
    let mut renamed = shelter(elsewhere);
    renamed["properties"]["code"] = json!("SH-OTHER");
    let (status, _, json) = call(&state, "PUT", uri, &town, Some(&tag), &renamed).await;
    assert_eq!(status, 400, "{json}");
    assert!(
        json["message"].as_str().unwrap().starts_with("code"),
        "{json}"
    );

    // Deleted with its ETag: gone from the API and the store, the audit row keeps it.
    let (status, _, _) = call(&state, "DELETE", uri, &town, None, &Value::Null).await;
    assert_eq!(status, 428);
    let (status, _, json) = call(&state, "DELETE", uri, &town, Some(&tag), &Value::Null).await;
    assert_eq!(status, 204, "{json}");
    assert_eq!(get(&state, uri).await.status, 404);
    let reloaded = state.store.load().unwrap();
    assert!(
        reloaded
            .declared("shelters")
            .unwrap()
            .features
            .iter()
            .all(|r| r.key != "SH-TEST-1")
    );
    let rows = state
        .store
        .read_audit(&AuditQuery {
            key: Some("SH-TEST-1".into()),
            limit: 1000,
            ..AuditQuery::default()
        })
        .unwrap();
    let actions: Vec<String> = rows
        .iter()
        .filter(|r| r.action.name() != "read")
        .map(|r| r.action.name().to_string())
        .collect();
    assert_eq!(actions, ["delete", "patch", "create"], "newest first");
    assert_eq!(
        rows[0].before.as_ref().unwrap()["properties"]["grid_code"],
        now
    );

    // A building's key names its grid, and so its area: the town may move it within that grid,
    // never out of it (into another town, say), which would put it outside the area its key
    // claims.
    let (code, inside_its_grid) = {
        let snap = state.index.load();
        let d = snap.dataset();
        let b = snap.declared_layer("buildings").unwrap();
        let r = b
            .features
            .iter()
            .find(|r| r.key.starts_with(&town_code))
            .unwrap();
        let g = d.grids.iter().find(|g| r.key.starts_with(&g.code)).unwrap();
        (
            r.key.clone(),
            gridmap::model::label_point(&g.geometry).unwrap(),
        )
    };
    let uri = format!("/collections/buildings/items/{code}");
    let tag = etag_of(&state, &uri, &town).await;
    let point = |p: Point| json!({"geometry": {"type": "Point", "coordinates": [p.x(), p.y()]}});
    let (status, _, json) = call(&state, "PATCH", &uri, &town, Some(&tag), &point(outside)).await;
    assert_eq!(status, 422, "{json}");
    assert!(
        json["message"].as_str().unwrap().contains("outside"),
        "{json}"
    );
    let (status, _, json) = call(
        &state,
        "PATCH",
        &uri,
        &town,
        Some(&tag),
        &point(inside_its_grid),
    )
    .await;
    assert_eq!(status, 200, "{json}");
}
