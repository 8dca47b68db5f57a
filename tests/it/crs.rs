//! Every endpoint that takes or returns coordinates, asked in every `crs` a client may name
//! (issue 16): the answer must be the WGS84 answer with each coordinate converted (and in the
//! CRS's axis order), everything else equal; inputs (points, boxes, areas) are given in the
//! CRS, converted from the WGS84 request's. The conversions themselves are checked against an
//! independent implementation (tests/reference/china_coords.py) in `china_coords`.

use geo::Point;
use gridmap::access::Role;
use gridmap::geodesy::Crs;
use gridmap::http::AppState;
use serde_json::{Value, json};

use crate::common::{account, backed_state, send};

/// A request: method, path and query, JSON body.
type Asked = (&'static str, String, String);

/// What each CRS is, written here from the issue and OGC API - Features Part 2 rather than taken
/// from gridmap's `Crs`: whether positions come latitude first, and the datum's forward
/// conversion (gridmap's functions, checked against coordtransform in gcj02.rs).
fn expected(crs: Crs) -> (bool, fn(Point) -> Point) {
    use gridmap::geodesy::{wgs84_to_bd09, wgs84_to_gcj02};
    let same: fn(Point) -> Point = |p| p;
    match crs {
        Crs::Wgs84 | Crs::Cgcs2000 | Crs::Crs84 => (false, same),
        Crs::Epsg4326 | Crs::Epsg4490 => (true, same),
        Crs::Gcj02 => (false, wgs84_to_gcj02),
        Crs::Bd09 => (false, wgs84_to_bd09),
    }
}

/// A WGS84 point as the CRS writes it in a position (GeoJSON, bbox): converted, axis-ordered.
fn position(crs: Crs, lon: f64, lat: f64) -> [f64; 2] {
    let (lat_first, convert) = expected(crs);
    let p = convert(Point::new(lon, lat));
    if lat_first {
        [p.y(), p.x()]
    } else {
        [p.x(), p.y()]
    }
}

/// A WGS84 point as `lon` and `lat` fields (always longitude first).
fn lon_lat(crs: Crs, lon: f64, lat: f64) -> [f64; 2] {
    let p = expected(crs).1(Point::new(lon, lat));
    [p.x(), p.y()]
}

/// The test's box, as `crs` gives it (its corners converted, in its axis order); and the WGS84
/// box that holds it, which the WGS84 request asks with. (BD-09's shift wobbles by metres over
/// a few kilometres, so a box with converted corners is not the same ground as the WGS84 box.)
fn boxes(crs: Crs) -> (String, String) {
    let b = [119.55, 31.95, 119.60, 32.00];
    let (lo, hi) = (lon_lat(crs, b[0], b[1]), lon_lat(crs, b[2], b[3]));
    let ordered = |p: [f64; 2]| if expected(crs).0 { [p[1], p[0]] } else { p };
    let (a, c) = (ordered(lo), ordered(hi));
    let w = crs.rect_to_wgs84(geo::Rect::new(
        geo::coord! {x: lo[0], y: lo[1]},
        geo::coord! {x: hi[0], y: hi[1]},
    ));
    (
        format!("{},{},{},{}", a[0], a[1], c[0], c[1]),
        format!("{},{},{},{}", w.min().x, w.min().y, w.max().x, w.max().y),
    )
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// How far a converted coordinate may be from the test's own conversion: answers are written
/// to 1e-7 degrees in places (about a centimetre).
const DEG_TOLERANCE: f64 = 2e-7;

/// Compare `got` (asked in `crs`) with `wgs` (asked in WGS84) converted: the coordinates by
/// their role, every other value equal (numbers to a centimetre's worth of rounding).
fn check(crs: Crs, path: &str, key: &str, wgs: &Value, got: &Value, coordinates: usize) -> usize {
    let near = |a: f64, b: f64| (a - b).abs() <= DEG_TOLERANCE;
    let pair = |v: &Value| -> Option<[f64; 2]> {
        let a = v.as_array()?;
        Some([a.first()?.as_f64()?, a.get(1)?.as_f64()?])
    };
    let expect_pair = |want: [f64; 2], v: &Value, what: &str| {
        let have = pair(v).unwrap_or_else(|| panic!("{path}: {what} is not a pair: {v}"));
        assert!(
            near(have[0], want[0]) && near(have[1], want[1]),
            "{crs:?} {path}: {what} {have:?}, expected {want:?}"
        );
    };
    match (wgs, got) {
        // GeoJSON positions: converted, in the CRS's axis order.
        (Value::Array(w), Value::Array(_))
            if key == "coordinates" && w.first().is_some_and(Value::is_number) =>
        {
            let [lon, lat] = pair(wgs).unwrap();
            expect_pair(position(crs, lon, lat), got, "position");
            coordinates + 1
        }
        (Value::Array(w), Value::Array(g)) if key == "coordinates" => {
            assert_eq!(w.len(), g.len(), "{crs:?} {path}");
            w.iter()
                .zip(g)
                .fold(coordinates, |n, (w, g)| check(crs, path, key, w, g, n))
        }
        // A search result's centre and box: longitude first, like lon and lat fields.
        (Value::Array(_), Value::Array(g)) if key == "center" => {
            let [lon, lat] = pair(wgs).unwrap();
            expect_pair(lon_lat(crs, lon, lat), got, "center");
            assert_eq!(g.len(), 2);
            coordinates + 1
        }
        (Value::Array(w), Value::Array(g)) if key == "bbox" && w.len() == 4 => {
            let n: Vec<f64> = w.iter().map(|x| x.as_f64().unwrap()).collect();
            let g: Vec<Value> = g.clone();
            // GeoJSON members (in a Feature) follow the axis order; /search's are lon first.
            let convert = if path.contains("results") {
                lon_lat
            } else {
                position
            };
            expect_pair(convert(crs, n[0], n[1]), &json!([g[0], g[1]]), "bbox min");
            expect_pair(convert(crs, n[2], n[3]), &json!([g[2], g[3]]), "bbox max");
            coordinates + 2
        }
        (Value::Object(w), Value::Object(g)) => {
            let mut n = coordinates;
            if let (Some(lon), Some(lat)) = (
                w.get("lon").and_then(Value::as_f64),
                w.get("lat").and_then(Value::as_f64),
            ) {
                let want = lon_lat(crs, lon, lat);
                let have = [g["lon"].as_f64().unwrap(), g["lat"].as_f64().unwrap()];
                assert!(
                    near(have[0], want[0]) && near(have[1], want[1]),
                    "{crs:?} {path}: lon/lat {have:?}, expected {want:?}"
                );
                n += 1;
            }
            let keys =
                |o: &serde_json::Map<String, Value>| -> Vec<String> { o.keys().cloned().collect() };
            assert_eq!(keys(w), keys(g), "{crs:?} {path}");
            for (k, wv) in w {
                // Links carry the request's own query; `crs` echoes the request.
                if ["lon", "lat", "links", "crs"].contains(&k.as_str()) {
                    continue;
                }
                n = check(crs, &format!("{path}.{k}"), k, wv, &g[k], n);
            }
            n
        }
        (Value::Array(w), Value::Array(g)) => {
            assert_eq!(w.len(), g.len(), "{crs:?} {path}: lengths differ");
            w.iter()
                .zip(g)
                .enumerate()
                .fold(coordinates, |n, (i, (w, g))| {
                    check(crs, &format!("{path}[{i}]"), key, w, g, n)
                })
        }
        (Value::Number(w), Value::Number(g)) => {
            let (w, g) = (w.as_f64().unwrap(), g.as_f64().unwrap());
            // Distances from a point converted there and back differ below a centimetre.
            assert!(
                (w - g).abs() <= 0.011 + w.abs() * 1e-9,
                "{crs:?} {path}: {g} != {w}"
            );
            coordinates
        }
        _ => {
            assert_eq!(wgs, got, "{crs:?} {path}");
            coordinates
        }
    }
}

async fn ask(state: &AppState, token: &str, (method, uri, body): &Asked) -> Value {
    let auth = format!("Bearer {token}");
    let (status, headers, json) = send(state, method, uri, &[("authorization", &auth)], body).await;
    assert_eq!(status.as_u16(), 200, "{method} {uri}: {json}");
    // The OGC items say which CRS their coordinates are in.
    if uri.starts_with("/collections/") {
        let content_crs = headers
            .get("content-crs")
            .map(|h| h.to_str().unwrap().to_string());
        let asked = uri
            .split(['?', '&'])
            .find_map(|p| p.strip_prefix("crs="))
            .and_then(|c| Crs::parse(&c.replace("%3A", ":").replace("%2F", "/")))
            .unwrap_or(Crs::Crs84);
        assert_eq!(content_crs, Some(format!("<{}>", asked.uri())), "{uri}");
    }
    json
}

/// Each endpoint's request in `crs`, its inputs converted from the WGS84 request's.
fn requests(crs: Crs, ids: &Ids, b: &str) -> Vec<Asked> {
    let c = encode(crs.name());
    let at = lon_lat(crs, 119.58, 31.99);
    let (x, y) = (at[0], at[1]);
    let p2 = lon_lat(crs, 119.62, 32.02);
    // A polygon given in the CRS's axis order, for /impact.
    let ring: Vec<[f64; 2]> = [
        [119.60, 32.00],
        [119.62, 32.00],
        [119.62, 32.02],
        [119.60, 32.00],
    ]
    .iter()
    .map(|p| position(crs, p[0], p[1]))
    .collect();
    let g = |method, uri: String| (method, uri, String::new());
    vec![
        g(
            "GET",
            format!("/collections/grids/items?limit=5&bbox={b}&bbox-crs={c}&crs={c}"),
        ),
        g(
            "GET",
            format!("/collections/stations/items/{}?crs={c}", ids.station),
        ),
        g(
            "GET",
            format!("/collections/events/items?limit=3&bbox={b}&bbox-crs={c}&crs={c}"),
        ),
        g("GET", format!("/locate?lon={x}&lat={y}&crs={c}")),
        g("GET", format!("/nearest?lon={x}&lat={y}&k=3&crs={c}")),
        g("GET", format!("/search?q={}&crs={c}", encode("司徒"))),
        g("GET", format!("/reverse?lon={x}&lat={y}&crs={c}")),
        g(
            "GET",
            format!("/coverage/gaps?radius_m=500&level=village&limit=3&bbox={b}&crs={c}"),
        ),
        g(
            "GET",
            format!("/coverage/gaps?radius_m=300&unit=buildings&limit=3&bbox={b}&crs={c}"),
        ),
        g(
            "GET",
            format!(
                "/coverage/suggest?radius_m=500&k=1&candidates=points&points={x},{y};{},{}&crs={c}",
                p2[0], p2[1]
            ),
        ),
        g("GET", format!("/events?limit=3&bbox={b}&crs={c}")),
        g("GET", format!("/events/{}?crs={c}", ids.event)),
        g(
            "GET",
            format!("/stats?level=town&metrics=population&f=geojson&crs={c}"),
        ),
        (
            "POST",
            format!("/impact?crs={c}"),
            json!({"lon": x, "lat": y, "radius_m": 800}).to_string(),
        ),
        (
            "POST",
            format!("/impact?crs={c}"),
            json!({"type": "Polygon", "coordinates": [ring]}).to_string(),
        ),
    ]
}

struct Ids {
    station: String,
    event: String,
}

#[tokio::test]
async fn every_endpoint_answers_in_the_crs_it_is_asked_in() {
    let (_keep, state) = backed_state();
    let city = account(&state, "指挥中心", Role::City, &[]);
    // Reports inside the box the requests ask about, and the report itself asked in each CRS:
    // routed to the same grid, its answer in the CRS.
    for (i, crs) in Crs::ALL.iter().enumerate() {
        let at = lon_lat(*crs, 119.57 + 0.003 * i as f64, 31.97);
        let report = json!({"lon": at[0], "lat": at[1], "crs": crs.name(), "category": "dispute",
            "severity": "yellow", "source": "hotline", "text": "邻里纠纷"});
        let (status, _, e) = send(
            &state,
            "POST",
            "/events",
            &[("authorization", &format!("Bearer {city}"))],
            &report.to_string(),
        )
        .await;
        assert_eq!(status.as_u16(), 201, "{e}");
        let p = &e["geometry"]["coordinates"];
        let want = position(*crs, 119.57 + 0.003 * i as f64, 31.97);
        assert!(
            (p[0].as_f64().unwrap() - want[0]).abs() < DEG_TOLERANCE,
            "{crs:?}: {e}"
        );
        assert!(
            (p[1].as_f64().unwrap() - want[1]).abs() < DEG_TOLERANCE,
            "{crs:?}: {e}"
        );
    }
    let stations = ask(
        &state,
        &city,
        &(
            "GET",
            "/collections/stations/items?limit=1".into(),
            String::new(),
        ),
    )
    .await;
    let events = ask(
        &state,
        &city,
        &(
            "GET",
            "/events?limit=1&bbox=119.55,31.95,119.60,32.00".into(),
            String::new(),
        ),
    )
    .await;
    let ids = Ids {
        station: stations["features"][0]["id"].to_string(),
        event: events["features"][0]["id"].to_string(),
    };
    for crs in Crs::ALL {
        let (in_crs, in_wgs84) = boxes(crs);
        for (asked, wgs84) in
            requests(crs, &ids, &in_crs)
                .iter()
                .zip(requests(Crs::Wgs84, &ids, &in_wgs84))
        {
            let (wgs, got) = (
                ask(&state, &city, &wgs84).await,
                ask(&state, &city, asked).await,
            );
            let wgs = &wgs;
            let n = check(crs, &asked.1, "", wgs, &got, 0);
            // Every answer carries coordinates to compare, or the test would prove nothing.
            assert!(
                n > 0,
                "{crs:?} {}: no coordinates compared in {got}",
                asked.1
            );
            if crs.shifts() {
                assert_ne!(wgs, &got, "{crs:?} {}: the answer did not change", asked.1);
            }
        }
    }
}

#[tokio::test]
async fn bad_crs_parameters_are_refused_naming_them() {
    let (_keep, state) = backed_state();
    let city = account(&state, "指挥中心", Role::City, &[]);
    let auth = format!("Bearer {city}");
    for (uri, name) in [
        ("/locate?lon=119.58&lat=31.99&crs=mars", "crs"),
        ("/collections/grids/items?crs=EPSG:3857", "crs"),
        ("/collections/grids/items?bbox-crs=gcj02", "bbox-crs"),
        (
            "/collections/grids/items?bbox=1,2,3,4&bbox-crs=EPSG:4549",
            "bbox-crs",
        ),
        ("/events?crs=EPSG:4549", "crs"),
        ("/coverage/gaps?crs=bd-10", "crs"),
        ("/stats?f=geojson&crs=baidu", "crs"),
    ] {
        let (status, _, body) = send(&state, "GET", uri, &[("authorization", &auth)], "").await;
        assert_eq!(status.as_u16(), 400, "{uri}: {body}");
        let message = body["message"].as_str().unwrap();
        assert!(message.starts_with(&format!("{name}: ")), "{uri}: {body}");
        assert!(
            message.contains("gcj02") || message.contains("give bbox"),
            "{uri}: {body}"
        );
    }
}

#[tokio::test]
async fn a_report_may_name_its_crs_in_the_query_and_not_two_different_ones() {
    let (_keep, state) = backed_state();
    let city = account(&state, "指挥中心", Role::City, &[]);
    let auth = format!("Bearer {city}");
    let at = lon_lat(Crs::Gcj02, 119.58, 31.99);
    let report = |crs: Option<&str>| {
        let mut r = json!({"lon": at[0], "lat": at[1], "category": "dispute", "severity": "yellow",
            "source": "hotline", "text": "邻里纠纷"});
        if let Some(c) = crs {
            r["crs"] = c.into();
        }
        r.to_string()
    };
    let (status, _, in_query) = send(
        &state,
        "POST",
        "/events?crs=gcj02",
        &[("authorization", &auth)],
        &report(None),
    )
    .await;
    assert_eq!(status.as_u16(), 201, "{in_query}");
    let (status, _, in_body) = send(
        &state,
        "POST",
        "/events",
        &[("authorization", &auth)],
        &report(Some("gcj02")),
    )
    .await;
    assert_eq!(status.as_u16(), 201, "{in_body}");
    // The same point, routed to the same grid, answered in GCJ-02 both ways.
    assert_eq!(
        in_query["properties"]["grid_code"],
        in_body["properties"]["grid_code"]
    );
    assert_eq!(in_query["geometry"], in_body["geometry"]);
    let p = &in_query["geometry"]["coordinates"];
    assert!(
        (p[0].as_f64().unwrap() - at[0]).abs() < DEG_TOLERANCE,
        "{in_query}"
    );
    let (status, _, refused) = send(
        &state,
        "POST",
        "/events?crs=wgs84",
        &[("authorization", &auth)],
        &report(Some("gcj02")),
    )
    .await;
    assert_eq!(status.as_u16(), 400, "{refused}");
    assert!(
        refused["message"].as_str().unwrap().starts_with("crs: "),
        "{refused}"
    );
}

/// Writes take WGS84 only: a feature read in GCJ-02 carries an ETag saying so, and sending it
/// back is refused (412), never stored 500 m off; `crs=gcj02` on a write is a 400.
#[tokio::test]
async fn a_feature_read_in_gcj02_cannot_be_written_back_as_if_in_wgs84() {
    let (_keep, state) = backed_state();
    let city = account(&state, "指挥中心", Role::City, &[]);
    let auth = format!("Bearer {city}");
    let id = state.index.load().dataset().stations[0].id;
    let uri = format!("/collections/stations/items/{id}");
    let read = |crs: &'static str| {
        let (state, auth, uri) = (state.clone(), auth.clone(), uri.clone());
        async move {
            let (status, headers, body) = send(
                &state,
                "GET",
                &format!("{uri}?crs={crs}"),
                &[("authorization", &auth)],
                "",
            )
            .await;
            assert_eq!(status.as_u16(), 200, "{body}");
            (headers["etag"].to_str().unwrap().to_string(), body)
        }
    };
    let (shifted_tag, shifted) = read("gcj02").await;
    let (plain_tag, plain) = read("wgs84").await;
    assert_ne!(shifted_tag, plain_tag);
    let put = |uri: String, tag: String, body: Value| {
        let (state, auth) = (state.clone(), auth.clone());
        async move {
            let headers = [("authorization", auth.as_str()), ("if-match", tag.as_str())];
            send(&state, "PUT", &uri, &headers, &body.to_string()).await
        }
    };
    let (status, _, refused) = put(uri.clone(), shifted_tag.clone(), shifted.clone()).await;
    assert_eq!(status.as_u16(), 412, "{refused}");
    assert!(
        refused["message"].as_str().unwrap().contains("WGS84"),
        "{refused}"
    );
    let (status, _, refused) = put(format!("{uri}?crs=gcj02"), plain_tag.clone(), shifted).await;
    assert_eq!(status.as_u16(), 400, "{refused}");
    assert!(
        refused["message"].as_str().unwrap().starts_with("crs: "),
        "{refused}"
    );
    // Unchanged, and written back in WGS84 with its own tag it is accepted.
    let (status, _, ok) = put(uri.clone(), plain_tag, plain.clone()).await;
    assert_eq!(status.as_u16(), 200, "{ok}");
    assert_eq!(ok["geometry"], plain["geometry"]);
}
