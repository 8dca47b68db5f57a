//! The items parameters real clients send beyond Core's bbox and limit: `crs` and `bbox-crs`
//! (GDAL 3.12 sends `crs` with every request), the exploded `bbox` form of generated clients,
//! `datetime`, and queryables with server-side filters; each checked against the dataset by
//! brute force.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::common::{backed_state, get, get_raw};

const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
const EPSG_4326: &str = "http://www.opengis.net/def/crs/EPSG/0/4326";
const EPSG_4490: &str = "http://www.opengis.net/def/crs/EPSG/0/4490";

fn ids(page: &Value) -> Vec<String> {
    page["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].to_string())
        .collect()
}

/// Every position of a GeoJSON geometry, in document order.
fn positions(coordinates: &Value, out: &mut Vec<(f64, f64)>) {
    let items = coordinates.as_array().unwrap();
    if items[0].is_number() {
        out.push((items[0].as_f64().unwrap(), items[1].as_f64().unwrap()));
    } else {
        items.iter().for_each(|c| positions(c, out));
    }
}

#[tokio::test]
async fn crs84_is_accepted_as_gdal_sends_it_and_named_in_content_crs() {
    let (_store, state) = backed_state();
    let plain = get_raw(&state, "/collections/grids/items?limit=5", &[]).await;
    let with_crs = get_raw(
        &state,
        &format!("/collections/grids/items?limit=5&crs={CRS84}"),
        &[],
    )
    .await;
    assert_eq!(with_crs.status, 200);
    assert_eq!(with_crs.header("content-crs"), format!("<{CRS84}>"));
    assert_eq!(plain.header("content-crs"), format!("<{CRS84}>"));
    let a: Value = serde_json::from_slice(&plain.body).unwrap();
    let b: Value = serde_json::from_slice(&with_crs.body).unwrap();
    assert_eq!(a["features"], b["features"]);
}

#[tokio::test]
async fn epsg_4326_answers_latitude_first_and_takes_a_latitude_first_bbox() {
    let (_store, state) = backed_state();
    let id = "321181001001001";
    let lon_lat = get(&state, &format!("/collections/grids/items/{id}")).await;
    let lat_lon = get_raw(
        &state,
        &format!("/collections/grids/items/{id}?crs={EPSG_4326}"),
        &[],
    )
    .await;
    assert_eq!(lat_lon.header("content-crs"), format!("<{EPSG_4326}>"));
    let lat_lon: Value = serde_json::from_slice(&lat_lon.body).unwrap();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    positions(&lon_lat.json["geometry"]["coordinates"], &mut a);
    positions(&lat_lon["geometry"]["coordinates"], &mut b);
    assert!(a.len() > 3);
    assert_eq!(a.len(), b.len());
    for ((lon, lat), (lat2, lon2)) in a.iter().zip(&b) {
        assert_eq!((lon, lat), (lon2, lat2));
        // Danyang: latitude about 32, longitude about 119.5.
        assert!((31.0..33.0).contains(lat2) && (119.0..120.0).contains(lon2));
    }

    let lon_first = get(
        &state,
        "/collections/grids/items?bbox=119.56,31.97,119.60,32.00&limit=1000",
    )
    .await;
    let lat_first = get(
        &state,
        &format!(
            "/collections/grids/items?bbox=31.97,119.56,32.00,119.60&bbox-crs={EPSG_4326}&limit=1000"
        ),
    )
    .await;
    assert!(lon_first.json["numberMatched"].as_u64().unwrap() > 20);
    assert_eq!(ids(&lon_first.json), ids(&lat_first.json));
}

#[tokio::test]
async fn other_crs_are_refused_naming_the_parameter_and_the_offer() {
    let (_store, state) = backed_state();
    for (param, value) in [
        ("crs", "http://www.opengis.net/def/crs/EPSG/0/3857"),
        ("bbox-crs", "EPSG:4549"),
    ] {
        let r = get(&state, &format!("/collections/grids/items?{param}={value}")).await;
        assert_eq!(r.status, 400, "{param}");
        let message = r.json["message"].as_str().unwrap();
        assert!(message.starts_with(&format!("{param}:")), "{message}");
        assert!(message.contains(CRS84), "{message}");
    }
}

#[tokio::test]
async fn collections_advertise_the_crs_they_serve_and_their_queryables() {
    let (_store, state) = backed_state();
    let r = get(&state, "/collections/stations").await;
    assert_eq!(
        r.json["crs"],
        serde_json::json!([CRS84, EPSG_4326, EPSG_4490])
    );
    assert_eq!(r.json["storageCrs"], CRS84);
    let conformance = get(&state, "/conformance").await;
    let classes = conformance.json["conformsTo"].to_string();
    for class in [
        "ogcapi-features-2/1.0/conf/crs",
        "ogcapi-features-3/1.0/conf/queryables",
        "ogcapi-features-3/1.0/conf/queryables-query-parameters",
    ] {
        assert!(classes.contains(class), "{class}");
    }
    let link = r.json["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "http://www.opengis.net/def/rel/ogc/1.0/queryables")
        .expect("a queryables link");
    assert_eq!(
        link["href"],
        "http://test.local/collections/stations/queryables"
    );
}

#[tokio::test]
async fn the_exploded_bbox_form_equals_the_comma_form() {
    let (_store, state) = backed_state();
    let comma = get(
        &state,
        "/collections/villages/items?bbox=119.5,31.9,119.7,32.1&limit=500",
    )
    .await;
    let exploded = get(
        &state,
        "/collections/villages/items?bbox=119.5&bbox=31.9&bbox=119.7&bbox=32.1&limit=500",
    )
    .await;
    assert_eq!(exploded.status, 200, "{}", exploded.json);
    assert!(comma.json["numberMatched"].as_u64().unwrap() > 5);
    assert_eq!(ids(&comma.json), ids(&exploded.json));
    let three = get(&state, "/collections/villages/items?bbox=1&bbox=2&bbox=3").await;
    assert_eq!(three.status, 400);
}

#[tokio::test]
async fn datetime_selects_alliances_by_founding_day() {
    let (_store, state) = backed_state();
    let snap = state.index.load();
    let founded: Vec<(u64, String)> = snap
        .dataset()
        .alliances
        .iter()
        .map(|a| (a.id, a.founded.clone()))
        .collect();
    let mut days: Vec<&String> = founded.iter().map(|(_, d)| d).collect();
    days.sort();
    let middle = days[days.len() / 2].clone();
    // (query, which founding days it includes), written out by hand.
    type Includes<'a> = Box<dyn Fn(&str) -> bool + 'a>;
    let cases: Vec<(String, Includes)> = vec![
        (middle.clone(), Box::new(|d: &str| d == middle)),
        (
            format!("{middle}T08:30:00%2B08:00"),
            Box::new(|d: &str| d == middle),
        ),
        (
            format!("../{middle}"),
            Box::new(|d: &str| d <= middle.as_str()),
        ),
        (
            format!("{middle}T00:00:00Z/.."),
            Box::new(|d: &str| d >= middle.as_str()),
        ),
        (
            format!("{}/{middle}", days[0]),
            Box::new(|d: &str| d <= middle.as_str()),
        ),
    ];
    for (query, includes) in cases {
        let expected: BTreeSet<String> = founded
            .iter()
            .filter(|(_, d)| includes(d))
            .map(|(id, _)| id.to_string())
            .collect();
        let r = get(
            &state,
            &format!("/collections/alliances/items?datetime={query}&limit=100"),
        )
        .await;
        assert_eq!(r.status, 200, "{query}: {}", r.json);
        let got: BTreeSet<String> = ids(&r.json).into_iter().collect();
        assert!(!expected.is_empty(), "{query}");
        assert_eq!(got, expected, "{query}");
    }
    let collection = get(&state, "/collections/alliances").await;
    let interval = &collection.json["extent"]["temporal"]["interval"][0];
    assert_eq!(interval[0], format!("{}T00:00:00Z", days[0]));
}

#[tokio::test]
async fn datetime_leaves_collections_without_time_whole_and_refuses_nonsense() {
    let (_store, state) = backed_state();
    let all = get(&state, "/collections/towns/items?limit=100").await;
    let dated = get(
        &state,
        "/collections/towns/items?limit=100&datetime=2020-01-01T00:00:00Z/..",
    )
    .await;
    assert_eq!(dated.status, 200);
    assert_eq!(ids(&all.json), ids(&dated.json));
    for bad in [
        "yesterday",
        "../..",
        "2021-02-30",
        "2022-01-01/2021-01-01",
        // Multi-byte characters where digits belong (percent-encoded é).
        "2021-01-01T00:00:0%C3%A9",
        "2021-01-01T00:00:0%C3%A9/..",
    ] {
        let r = get(&state, &format!("/collections/towns/items?datetime={bad}")).await;
        assert_eq!(r.status, 400, "{bad}");
        assert!(r.json["message"].as_str().unwrap().starts_with("datetime:"));
    }
}

#[tokio::test]
async fn queryables_list_every_filterable_property_with_its_type() {
    let (_store, state) = backed_state();
    let r = get_raw(&state, "/collections/grids/queryables", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), "application/schema+json");
    let doc: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(doc["type"], "object");
    assert_eq!(doc["$id"], "http://test.local/collections/grids/queryables");
    let props = doc["properties"].as_object().unwrap();
    assert_eq!(props["households"]["type"], "integer");
    assert_eq!(props["village_code"]["type"], "string");
    assert_eq!(props["geometry"]["format"], "geometry-multipolygon");
    // Every queryable except the geometry is accepted as a filter, and nothing else is.
    let grid = get(&state, "/collections/grids/items?limit=1").await;
    let sample = &grid.json["features"][0]["properties"];
    for (name, _) in props.iter().filter(|(n, _)| *n != "geometry") {
        let value = match &sample[name] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let r = get(
            &state,
            &format!("/collections/grids/items?{name}={value}&limit=1"),
        )
        .await;
        assert_eq!(r.status, 200, "{name}");
        assert!(r.json["numberMatched"].as_u64().unwrap() >= 1, "{name}");
    }
    let stations = get(&state, "/collections/stations/queryables").await;
    let services = &stations.json["properties"]["services"];
    assert_eq!(services["type"], "array");
    assert_eq!(
        services["items"]["enum"],
        serde_json::json!(["policy", "mediation", "relief", "civility"])
    );
    // Enterprises, banks and agencies have no village: the schema must allow their null.
    let members = get(&state, "/collections/members/queryables").await;
    assert_eq!(
        members.json["properties"]["village_code"]["type"],
        serde_json::json!(["string", "null"])
    );
    let missing = get(&state, "/collections/roads/queryables").await;
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn filter_values_of_the_wrong_type_are_refused_not_answered_empty() {
    let (_store, state) = backed_state();
    for (query, field) in [
        ("grids/items?households=many", "households"),
        ("stations/items?services=karaoke", "services"),
        ("alliances/items?founded=2021-02-30", "founded"),
    ] {
        let r = get(&state, &format!("/collections/{query}")).await;
        assert_eq!(r.status, 400, "{query}");
        assert!(
            r.json["message"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{field}:")),
            "{}",
            r.json
        );
    }
    let snap = state.index.load();
    let expected = snap
        .dataset()
        .grids
        .iter()
        .filter(|g| g.households == snap.dataset().grids[7].households)
        .count();
    let r = get(
        &state,
        &format!(
            "/collections/grids/items?households={}&limit=1",
            snap.dataset().grids[7].households
        ),
    )
    .await;
    assert_eq!(r.json["numberMatched"].as_u64().unwrap() as usize, expected);
}
