//! GET /search over HTTP, checked against the committed sample files (read here with serde,
//! not through gridmap) and against /locate.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::common::{backed_state, get, repo};

fn sample(layer: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(repo().join(format!("geodata/{layer}.geojson"))).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    doc["features"].as_array().unwrap().clone()
}

fn encode(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn every_village_is_found_first_by_its_own_name_with_its_town_as_context() {
    let (_keep, state) = backed_state();
    let towns = sample("towns");
    let town_name = |code: &str| {
        towns
            .iter()
            .find(|t| t["properties"]["code"] == code)
            .map(|t| t["properties"]["name"].as_str().unwrap().to_string())
            .unwrap()
    };
    let villages = sample("villages");
    for village in villages.iter().step_by(7) {
        let p = &village["properties"];
        let name = p["name"].as_str().unwrap();
        let reply = get(&state, &format!("/search?q={}&limit=50", encode(name))).await;
        assert_eq!(reply.status, 200);
        let results = reply.json["results"].as_array().unwrap();
        // Names repeat across towns (two 新村 villages, say): all of them come first.
        let same_name = villages
            .iter()
            .filter(|v| v["properties"]["name"] == name)
            .count();
        let first: BTreeSet<&str> = results[..same_name]
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        assert!(
            first.contains(p["code"].as_str().unwrap()),
            "{name}: {results:?}"
        );
        let hit = results.iter().find(|r| r["id"] == p["code"]).unwrap();
        assert_eq!(hit["layer"], "villages");
        assert_eq!(hit["matched"], "name");
        let town_code = &p["code"].as_str().unwrap()[..9];
        assert_eq!(hit["context"], serde_json::json!([town_name(town_code)]));
    }
}

#[tokio::test]
async fn results_land_inside_what_they_name() {
    let (_keep, state) = backed_state();
    let stations = sample("stations");
    // A grid code prefix (a village's code) lists the village, then its grids; each grid's centre
    // is located in that very grid.
    let village_code = "321181001003";
    let reply = get(
        &state,
        &format!("/search?q={village_code}&limit=50&layers=villages,grids"),
    )
    .await;
    let results = reply.json["results"].as_array().unwrap();
    assert_eq!(results[0]["id"], village_code);
    assert!(results.len() > 1);
    for r in &results[1..] {
        assert_eq!(r["layer"], "grids");
        let [lon, lat] = [
            r["center"][0].as_f64().unwrap(),
            r["center"][1].as_f64().unwrap(),
        ];
        let bbox: Vec<f64> = r["bbox"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert!(bbox[0] <= lon && lon <= bbox[2] && bbox[1] <= lat && lat <= bbox[3]);
        let located = get(&state, &format!("/locate?lon={lon}&lat={lat}")).await;
        assert_eq!(located.json["grid"]["code"], r["id"], "{r}");
        assert_eq!(r["context"][1], located.json["village"]["name"]);
    }
    // A station id finds that station at its own position, with its grid last in the context.
    let station = &stations[123];
    let id = station["properties"]["id"].as_u64().unwrap();
    let reply = get(&state, &format!("/search?q={id}&layers=stations&limit=1")).await;
    let hit = &reply.json["results"][0];
    assert_eq!(hit["id"], id.to_string());
    assert_eq!(hit["matched"], "key");
    assert_eq!(hit["center"], station["geometry"]["coordinates"]);
    assert_eq!(hit["bbox"], Value::Null);
    let located = get(
        &state,
        &format!("/locate?lon={}&lat={}", hit["center"][0], hit["center"][1]),
    )
    .await;
    assert_eq!(hit["context"][2], located.json["grid"]["name"]);
}

#[tokio::test]
async fn bad_searches_are_4xx_json_naming_the_field() {
    let (_keep, state) = backed_state();
    let long = "村".repeat(101);
    for (uri, field) in [
        ("/search".to_string(), "q"),
        ("/search?q=%20%20".to_string(), "q"),
        (format!("/search?q={}", encode(&long)), "q"),
        ("/search?q=a&limit=0".to_string(), "limit"),
        ("/search?q=a&limit=51".to_string(), "limit"),
        ("/search?q=a&layers=alliances".to_string(), "layers"),
        ("/search?q=a&layers=towns,,grids".to_string(), "layers"),
        ("/search?q=a&bbox=1,2,3,4".to_string(), "bbox"),
    ] {
        let reply = get(&state, &uri).await;
        assert_eq!(reply.status, 400, "{uri}: {}", reply.json);
        assert!(
            reply.json["message"].as_str().unwrap().contains(field),
            "{uri}: {}",
            reply.json
        );
    }
    let none = get(&state, "/search?q=zzzz").await;
    assert_eq!(none.status, 200);
    assert_eq!(none.json["numberReturned"], 0);
}
