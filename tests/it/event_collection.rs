//! The `events` OGC collection: offered to accounts only, read-only, each account seeing what
//! `/events` shows it; `bbox` in either axis order and `datetime` select what a brute-force
//! check over every listed event selects; `crs=EPSG:4326` answers latitude first.

use gridmap::access::Role;
use gridmap::http::AppState;
use serde_json::{Value, json};

use crate::common::{account, backed_state, send};

async fn get(state: &AppState, uri: &str, token: Option<&str>) -> (u16, Value) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", a.as_str())).collect();
    let (status, _, json) = send(state, "GET", uri, &headers, "").await;
    (status.as_u16(), json)
}

fn ids(page: &Value) -> Vec<u64> {
    let mut ids: Vec<u64> = page["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_u64().unwrap())
        .collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread")]
async fn the_events_collection_shows_each_account_its_area_read_only() {
    let (_keep, state) = backed_state();
    let (village, other_village, points) = {
        let snap = state.index.load();
        let d = snap.dataset();
        let village = d.villages[3].code.clone();
        let other = d.villages[4].code.clone();
        // Four reports in the village (at grid interior points), one in the other.
        use geo::InteriorPoint;
        let pts: Vec<(f64, f64)> = d
            .grids
            .iter()
            .filter(|g| g.code.starts_with(&village))
            .take(4)
            .chain(
                d.grids
                    .iter()
                    .filter(|g| g.code.starts_with(&other))
                    .take(1),
            )
            .map(|g| {
                let p = g.geometry.interior_point().unwrap();
                (p.x(), p.y())
            })
            .collect();
        (village, other, pts)
    };
    assert_eq!(points.len(), 5);
    for (i, (lon, lat)) in points.iter().enumerate() {
        let body = json!({"lon": lon, "lat": lat, "category": "hazard", "severity": "red",
            "source": "public", "text": format!("井盖缺失 {i}"),
            "reporter": {"name": "李四", "phone": "13900000000"}});
        let (status, _, e) = send(&state, "POST", "/events", &[], &body.to_string()).await;
        assert_eq!(status, 201, "{e}");
    }
    let staff = account(&state, "oc.village", Role::Village, &[&village]);
    let other_staff = account(&state, "oc.other", Role::Village, &[&other_village]);

    // Offered to accounts, not to the public, who are told to sign in.
    let (_, public) = get(&state, "/collections", None).await;
    let listed = |c: &Value| {
        c["collections"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == "events")
    };
    assert!(!listed(&public));
    let (_, signed_in) = get(&state, "/collections", Some(&staff)).await;
    assert!(listed(&signed_in));
    for uri in [
        "/collections/events",
        "/collections/events/items",
        "/collections/events/items?status=lost",
        "/collections/events/items/1",
        "/collections/events/queryables",
    ] {
        assert_eq!(get(&state, uri, None).await.0, 401, "{uri}");
    }
    let (status, q) = get(&state, "/collections/events/queryables", Some(&staff)).await;
    assert_eq!(status, 200);
    assert!(q["properties"]["status"]["enum"].as_array().unwrap().len() == 6);

    // Each account sees what /events shows it.
    let (_, all) = get(&state, "/collections/events/items?limit=100", Some(&staff)).await;
    let (_, listed_events) = get(&state, "/events?limit=100", Some(&staff)).await;
    assert_eq!(ids(&all), ids(&listed_events));
    assert_eq!(all["numberMatched"], 4);
    assert_eq!(
        all["features"][0]["properties"]["reporter_phone"],
        "13900000000"
    );
    let (_, theirs) = get(&state, "/collections/events/items", Some(&other_staff)).await;
    assert_eq!(theirs["numberMatched"], 1);
    let first = ids(&all)[0];
    let (status, one) = get(
        &state,
        &format!("/collections/events/items/{first}"),
        Some(&staff),
    )
    .await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["properties"]["history"][0]["action"], "report");
    // The steps this account may take now: the village holds it at home (nothing to return to).
    assert_eq!(one["properties"]["actions"], json!(["accept", "escalate"]));
    let (status, _) = get(
        &state,
        &format!("/collections/events/items/{first}"),
        Some(&other_staff),
    )
    .await;
    assert_eq!(status, 404);

    // A box around two of the points: brute force over the listed events, then the same box
    // written latitude first with bbox-crs=EPSG:4326.
    let (lon0, lat0) = points[0];
    let (lon1, lat1) = points[1];
    let b = [
        lon0.min(lon1) - 1e-6,
        lat0.min(lat1) - 1e-6,
        lon0.max(lon1) + 1e-6,
        lat0.max(lat1) + 1e-6,
    ];
    let inside: Vec<u64> = {
        let mut v: Vec<u64> = all["features"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| {
                let c = &f["geometry"]["coordinates"];
                let (x, y) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
                b[0] <= x && x <= b[2] && b[1] <= y && y <= b[3]
            })
            .map(|f| f["id"].as_u64().unwrap())
            .collect();
        v.sort();
        v
    };
    assert!(inside.len() >= 2);
    let lon_first = format!(
        "/collections/events/items?bbox={},{},{},{}",
        b[0], b[1], b[2], b[3]
    );
    let lat_first = format!(
        "/collections/events/items?bbox={},{},{},{}&bbox-crs=http://www.opengis.net/def/crs/EPSG/0/4326",
        b[1], b[0], b[3], b[2]
    );
    assert_eq!(ids(&get(&state, &lon_first, Some(&staff)).await.1), inside);
    assert_eq!(ids(&get(&state, &lat_first, Some(&staff)).await.1), inside);

    // datetime on the report time: today's reports, none from last year.
    let now = all["features"][0]["properties"]["reported_at"]
        .as_str()
        .unwrap()
        .to_string();
    let day = &now[..10];
    let (_, today) = get(
        &state,
        &format!("/collections/events/items?datetime={day}"),
        Some(&staff),
    )
    .await;
    assert_eq!(ids(&today), ids(&all));
    let (_, before) = get(
        &state,
        "/collections/events/items?datetime=../2000-01-01",
        Some(&staff),
    )
    .await;
    assert_eq!(before["numberMatched"], 0);

    // crs=EPSG:4326: latitude first, said in Content-Crs.
    let (status, headers, swapped) = send(
        &state,
        "GET",
        &format!(
            "/collections/events/items/{first}?crs=http://www.opengis.net/def/crs/EPSG/0/4326"
        ),
        &[("authorization", &format!("Bearer {staff}"))],
        "",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        headers["content-crs"],
        "<http://www.opengis.net/def/crs/EPSG/0/4326>"
    );
    assert_eq!(
        swapped["geometry"]["coordinates"][0],
        one["geometry"]["coordinates"][1]
    );

    // Read-only: a write is 405 naming where reports go; bad parameters are 400.
    let (status, headers, refused) = send(
        &state,
        "POST",
        "/collections/events/items",
        &[("authorization", &format!("Bearer {staff}"))],
        r#"{"type": "Feature", "geometry": null, "properties": {}}"#,
    )
    .await;
    assert_eq!(status, 405, "{refused}");
    assert_eq!(headers["allow"], "GET, HEAD");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("POST /events")
    );
    for bad in [
        "status=lost",
        "overdue=maybe",
        "datetime=yesterday",
        "colour=red",
    ] {
        let (status, e) = get(
            &state,
            &format!("/collections/events/items?{bad}"),
            Some(&staff),
        )
        .await;
        assert_eq!(status, 400, "{bad}: {e}");
    }
}
