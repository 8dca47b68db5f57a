//! OGC API - Features over the sample, checked against the dataset by brute force.

use std::collections::BTreeSet;

use geo::{BoundingRect, Intersects, Rect, coord};

use crate::common::{backed_state, get, strings};
use serde_json::json;

#[tokio::test]
async fn landing_page_links_the_api_definition_conformance_and_data() {
    let (_store, state) = backed_state();
    let r = get(&state, "/").await;
    assert_eq!(r.status, 200);
    let rels = strings(&r.json["links"], "rel");
    for rel in ["self", "service-desc", "conformance", "data"] {
        assert!(rels.contains(&rel), "{rels:?}");
    }
    let links = r.json["links"].as_array().unwrap();
    let link = |key: &str, value: &str| links.iter().find(|l| l[key] == value).unwrap();
    assert_eq!(
        link("rel", "service-desc")["href"],
        "http://test.local/openapi.json"
    );
    // The TileJSON is linked as `related`, not as an OGC API - Tiles tileset list it is not.
    assert_eq!(
        link("href", "http://test.local/tiles.json")["rel"],
        "related"
    );
    assert!(!rels.iter().any(|r| r.contains("tilesets")), "{rels:?}");
    let conf = get(&state, "/conformance").await;
    let classes = conf.json["conformsTo"].as_array().unwrap();
    assert!(
        classes
            .iter()
            .any(|c| c.as_str().unwrap().ends_with("/conf/core"))
    );
    assert!(
        classes
            .iter()
            .any(|c| c.as_str().unwrap().ends_with("/conf/geojson"))
    );
    let api = get(&state, "/openapi.json").await;
    assert_eq!(api.json["openapi"], "3.0.3");
}

#[tokio::test]
async fn collections_list_the_built_in_then_the_declared_layers_with_extents() {
    let (_store, state) = backed_state();
    let r = get(&state, "/collections").await;
    let ids = strings(&r.json["collections"], "id");
    let declared = gridmap::model::declared::Declarations::shipped()
        .layers
        .iter()
        .map(|d| d.name);
    let want: Vec<&str> = [
        "towns",
        "villages",
        "grids",
        "stations",
        "alliances",
        "members",
    ]
    .into_iter()
    .chain(declared)
    .collect();
    assert_eq!(ids, want);
    assert_eq!(
        want.len(),
        14,
        "buildings and the seven of geodata/layers.toml"
    );
    assert_eq!(
        want[6], "buildings",
        "the built-in declared layer comes first"
    );
    // A declared layer's extent is its features' (the risk zones along the canal, in the county).
    let risk = get(&state, "/collections/risk_zones").await;
    let bbox = &risk.json["extent"]["spatial"]["bbox"][0];
    assert!(
        (119.3..119.9).contains(&bbox[0].as_f64().unwrap()),
        "{bbox}"
    );
    assert!((31.7..32.2).contains(&bbox[3].as_f64().unwrap()), "{bbox}");
    // A staff layer's extent tells nothing of where its features are: it is the county's.
    let care = get(&state, "/collections/care_households").await;
    let towns = get(&state, "/collections/towns").await;
    assert_eq!(
        care.json["extent"]["spatial"],
        towns.json["extent"]["spatial"]
    );
    let grids = get(&state, "/collections/grids").await;
    let bbox = &grids.json["extent"]["spatial"]["bbox"][0];
    assert!(
        (119.3..119.5).contains(&bbox[0].as_f64().unwrap()),
        "{bbox}"
    );
    assert!((32.0..32.2).contains(&bbox[3].as_f64().unwrap()), "{bbox}");
}

/// Follow `next` links (as GDAL does) and collect every feature id.
async fn all_ids(state: &gridmap::http::AppState, first: &str) -> (Vec<String>, u64) {
    let mut ids = Vec::new();
    let mut uri = first.to_string();
    let mut matched = 0;
    loop {
        let r = get(state, &uri).await;
        assert_eq!(r.status, 200, "{uri}: {}", r.json);
        assert_eq!(r.content_type, "application/geo+json");
        matched = r.json["numberMatched"].as_u64().unwrap_or(matched);
        let features = r.json["features"].as_array().unwrap();
        assert_eq!(
            r.json["numberReturned"].as_u64().unwrap() as usize,
            features.len()
        );
        ids.extend(features.iter().map(|f| f["id"].to_string()));
        let next = r.json["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "next")
            .map(|l| l["href"].as_str().unwrap().to_string());
        match next {
            Some(href) => uri = href.trim_start_matches("http://test.local").to_string(),
            None => break,
        }
    }
    (ids, matched)
}

#[tokio::test]
async fn paging_with_next_links_returns_every_station_once() {
    let (_store, state) = backed_state();
    let (ids, matched) = all_ids(&state, "/collections/stations/items?limit=37").await;
    assert_eq!(matched, 300);
    assert_eq!(ids.len(), 300);
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), 300);
}

#[tokio::test]
async fn bbox_returns_exactly_the_grids_that_intersect_it() {
    let (_store, state) = backed_state();
    let snap = state.index.load();
    let (x0, y0, x1, y1) = (119.56, 31.97, 119.60, 32.00);
    let rect = Rect::new(coord! {x: x0, y: y0}, coord! {x: x1, y: y1});
    let expected: BTreeSet<String> = snap
        .dataset()
        .grids
        .iter()
        .filter(|g| g.geometry.bounding_rect().is_some() && g.geometry.intersects(&rect))
        .map(|g| format!("\"{}\"", g.code))
        .collect();
    assert!(expected.len() > 20);
    let (ids, matched) = all_ids(
        &state,
        &format!("/collections/grids/items?bbox={x0},{y0},{x1},{y1}&limit=10"),
    )
    .await;
    assert_eq!(matched as usize, expected.len());
    assert_eq!(ids.into_iter().collect::<BTreeSet<_>>(), expected);
}

#[tokio::test]
async fn property_filters_select_by_equality() {
    let (_store, state) = backed_state();
    let snap = state.index.load();
    let village = "321181001001";
    let expected = snap
        .dataset()
        .grids
        .iter()
        .filter(|g| g.village_code() == village)
        .count();
    let r = get(
        &state,
        &format!("/collections/grids/items?village_code={village}&limit=1000"),
    )
    .await;
    assert_eq!(r.json["numberMatched"].as_u64().unwrap() as usize, expected);
    let mediation = snap
        .dataset()
        .stations
        .iter()
        .filter(|s| s.services.contains(&gridmap::model::Service::Mediation))
        .count();
    let r = get(
        &state,
        "/collections/stations/items?services=mediation&limit=1",
    )
    .await;
    assert_eq!(
        r.json["numberMatched"].as_u64().unwrap() as usize,
        mediation
    );
    let r = get(&state, "/collections/members/items?kind=bank&limit=100").await;
    assert_eq!(r.json["numberMatched"], 27);
}

#[tokio::test]
async fn limits_above_the_maximum_are_served_at_the_maximum() {
    let (_store, state) = backed_state();
    let r = get(&state, "/collections/grids/items?limit=50000").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json["numberReturned"].as_u64().unwrap(),
        r.json["numberMatched"].as_u64().unwrap().min(10_000)
    );
}

/// Every public answer, scanned: all items of every collection, one item of each, `/locate` at
/// every post, `/nearest`, `/search` and every public answer about an event with a named
/// reporter: no staff or personal field (by the declarations) and
/// no personal value (every phone the store holds) appears, except a grid worker's contact
/// where the worker consented (`publish_contact`), which must appear there.
#[tokio::test]
async fn personal_fields_never_appear_in_public_responses() {
    use gridmap::model::schema::Visibility;
    let (_store, state) = backed_state();
    let snap = state.index.load();
    let mut phones = std::collections::BTreeSet::new();
    let mut published_phones = std::collections::BTreeSet::new();
    let mut texts = Vec::new();
    for layer in snap.layers() {
        let hidden: Vec<&str> = layer
            .def()
            .fields
            .iter()
            .filter(|f| f.visibility != Visibility::Public)
            .map(|f| f.name)
            .collect();
        let mut consent = std::collections::BTreeMap::new();
        for i in 0..snap.count_any(layer) {
            let full = snap.feature_visible_any(layer, i, Visibility::Personal);
            let props = full.properties.clone().unwrap_or_default();
            for f in layer.def().fields {
                let published = f
                    .consent
                    .is_some_and(|c| props.get(c) == Some(&json!(true)));
                if f.visibility == Visibility::Personal
                    && let Some(v) = props.get(f.name).and_then(|v| v.as_str())
                    && v.chars().filter(|c| c.is_ascii_digit()).count() >= 7
                {
                    if published {
                        published_phones.insert(v.to_string());
                    } else {
                        phones.insert(v.to_string());
                    }
                }
            }
            consent.insert(serde_json::to_string(&full.id).unwrap(), props);
        }
        let all = get(&state, &format!("/collections/{layer}/items?limit=10000")).await;
        assert_eq!(all.status, 200);
        for f in all.json["features"].as_array().unwrap() {
            let stored = &consent[&f["id"].to_string()];
            for key in &hidden {
                let field = layer.def().field(key).unwrap();
                let published = field
                    .consent
                    .is_some_and(|c| stored.get(c) == Some(&json!(true)));
                // A grid worker's contact is public exactly where the worker consented.
                assert_eq!(
                    f["properties"].get(*key),
                    published.then(|| &stored[*key]),
                    "{layer} {key}: {f}"
                );
            }
        }
        texts.push((layer.to_string(), all.json.to_string()));
    }
    // A number someone published by consent (two of the sample's workers share one) is public
    // wherever it appears.
    for p in &published_phones {
        phones.remove(p);
    }
    assert!(
        phones.len() > 300,
        "the sample holds phones: {}",
        phones.len()
    );
    for s in &snap.dataset().stations {
        let at = format!("lon={}&lat={}", s.location.x(), s.location.y());
        texts.push((
            format!("locate {at}"),
            get(&state, &format!("/locate?{at}")).await.json.to_string(),
        ));
        texts.push((
            format!("nearest {at}"),
            get(&state, &format!("/nearest?{at}&k=5"))
                .await
                .json
                .to_string(),
        ));
    }
    for q in ["村", "3211", "驿站", "网格"] {
        texts.push((
            format!("search {q}"),
            get(&state, &format!("/search?q={}&limit=50", urlencode(q)))
                .await
                .json
                .to_string(),
        ));
    }
    // Events: a public report naming its reporter, then every public answer about it (the
    // report's own answer, the event and its photo, the lists, the collections, the event tile).
    let reporter = ("赵某某", "13987654321");
    let post = snap.dataset().stations[7].location;
    let report = json!({"lon": post.x(), "lat": post.y(), "category": "dispute", "severity": "red",
        "source": "public", "text": "噪音扰民", "reporter": {"name": reporter.0, "phone": reporter.1}});
    let (status, _, answer) =
        crate::common::send(&state, "POST", "/events", &[], &report.to_string()).await;
    assert_eq!(status, 201, "{answer}");
    texts.push(("POST /events".into(), answer.to_string()));
    let id = &answer["id"];
    let (x, y) = crate::common::tile_xy(post, 14);
    for uri in [
        format!("/events/{id}"),
        "/events".into(),
        format!("/events/{id}/photos/1"),
        "/collections".into(),
        format!("/collections/events/items/{id}"),
        "/collections/events/items".into(),
        format!("/tiles/events/14/{x}/{y}.mvt"),
        format!("/tiles/events/12/{}/{}.mvt", x / 4, y / 4),
    ] {
        let raw = crate::common::get_raw(&state, &uri, &[]).await;
        assert!(raw.status.as_u16() < 500, "{uri}: {}", raw.status);
        texts.push((uri, String::from_utf8_lossy(&raw.body).into_owned()));
    }
    phones.insert(reporter.1.to_string());
    for (what, text) in &texts {
        assert!(
            !text.contains(reporter.0),
            "{what} leaks the reporter's name"
        );
        assert!(
            !text.contains("contact_phone"),
            "{what} leaks contact_phone"
        );
        for phone in &phones {
            assert!(!text.contains(phone.as_str()), "{what} leaks {phone}");
        }
    }
    let (published, unpublished) = consent_counts(&snap);
    assert!(
        published > 300 && unpublished > 300,
        "the sample has grids with and without a published contact: {published}, {unpublished}"
    );
}

/// Grids whose worker published their contact, and grids whose worker did not.
fn consent_counts(snap: &gridmap::index::Snapshot) -> (usize, usize) {
    let grids = &snap.dataset().grids;
    let published = grids.iter().filter(|g| g.worker.published).count();
    (published, grids.len() - published)
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

#[tokio::test]
async fn alliances_have_footprints_and_village_members_have_points() {
    let (_store, state) = backed_state();
    let r = get(&state, "/collections/alliances/items/1").await;
    assert_eq!(r.json["geometry"]["type"], "MultiPolygon");
    let r = get(&state, "/collections/members/items?kind=village&limit=1").await;
    assert_eq!(r.json["features"][0]["geometry"]["type"], "Point");
}
