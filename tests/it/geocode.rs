//! Geocoding against the buildings as stored: addresses written here from each building's own
//! fields (not by the geocoder) in the ways people write them, each found back; `/reverse` at a
//! building's point names that building; a report by address alone lands on its building.

use std::collections::HashMap;

use serde_json::json;

use crate::common::{get, sample_state, send};

#[tokio::test(flavor = "multi_thread")]
async fn addresses_find_their_buildings_and_points_their_addresses() {
    let (_dir, state) = sample_state();
    let snap = state.index.load();
    let d = snap.dataset();
    let town_name: HashMap<&str, &str> = d
        .towns
        .iter()
        .map(|t| (t.code.as_str(), t.name.as_str()))
        .collect();
    let village_name: HashMap<&str, String> = d
        .villages
        .iter()
        .map(|v| {
            let spoken = v.name.replace("居委会", "").replace("村委会", "村");
            (v.code.as_str(), spoken)
        })
        .collect();
    let all = gridmap::model::buildings::all(d);
    // Brute force: how many buildings share a (village, compound, building, entrance).
    let mut same: HashMap<(String, String, String, Option<i64>), usize> = HashMap::new();
    let key = |b: &gridmap::model::buildings::Building| {
        (
            b.code[..12].to_string(),
            b.text("compound").to_string(),
            b.text("building").to_string(),
            b.record.value(b.def, "entrance").as_i64(),
        )
    };
    for b in &all {
        *same.entry(key(b)).or_default() += 1;
    }
    let geocoder = snap.geocoder();
    let mut checked = 0;
    for b in all.iter().step_by(all.len() / 1000) {
        let (village, compound, building, entrance) = key(b);
        let town = town_name[&b.code[..9]];
        let vname = &village_name[village.as_str()];
        let unit = |mark: &str| match entrance {
            Some(n) => format!("{building}{mark}{n}单元"),
            None => format!("{building}号"),
        };
        for address in [
            format!("{town}{vname}{compound}{}", unit("幢")),
            format!("{vname}{compound}{}", unit("栋")),
            format!("丹阳市 {town} {vname} {compound} {}", unit("幢")),
        ] {
            let found = geocoder.geocode(&address, 20);
            assert!(!found.is_empty(), "{address}: nothing");
            let best = found[0].confidence;
            let tied: Vec<&str> = found
                .iter()
                .filter(|f| f.confidence == best)
                .map(|f| f.code.as_str())
                .collect();
            assert!(tied.contains(&b.code), "{address}: {found:?}");
            if same[&key(b)] == 1 {
                assert_eq!(found[0].code, b.code, "{address}");
                assert_eq!(found[0].confidence, 1.0, "{address}");
                assert_eq!(found[0].at, b.at);
            }
            checked += 1;
        }
    }
    assert!(checked >= 3000, "{checked}");

    // /reverse at a building's own point names it; its address geocodes back to it.
    for b in all.iter().step_by(all.len() / 50) {
        let r = get(
            &state,
            &format!("/reverse?lon={}&lat={}", b.at.x(), b.at.y()),
        )
        .await;
        assert_eq!(r.status, 200);
        let building = &r.json["building"];
        assert_eq!(building["distance_m"], 0.0, "{building}");
        let address = building["address"].as_str().unwrap();
        let g = get(&state, &format!("/geocode?q={}", urlencode(address))).await;
        let results = g.json["results"].as_array().unwrap();
        // The sample has a few addresses twice (two houses 14号 in one hamlet): then both tie.
        let best = results[0]["confidence"].as_f64().unwrap();
        let points: Vec<(f64, f64)> = results
            .iter()
            .filter(|r| r["confidence"].as_f64() == Some(best))
            .map(|r| (r["lon"].as_f64().unwrap(), r["lat"].as_f64().unwrap()))
            .collect();
        assert!(
            points.contains(&(b.at.x(), b.at.y())),
            "{address}: {results:?}"
        );
    }
    // A compound alone: the compound, less sure; nothing known: no results; bad q: 400.
    let b = &all[0];
    let g = get(
        &state,
        &format!("/geocode?q={}", urlencode(b.text("compound"))),
    )
    .await;
    assert_eq!(g.json["results"][0]["precision"], "compound");
    assert!(g.json["results"][0]["confidence"].as_f64().unwrap() <= 0.5);
    let g = get(&state, &format!("/geocode?q={}", urlencode("火星基地1幢"))).await;
    assert_eq!(g.json["results"], json!([]));
    assert_eq!(get(&state, "/geocode?q=").await.status, 400);

    // A hotline report with only an address lands on the building, routed like any other.
    let unique = all
        .iter()
        .find(|b| same[&key(b)] == 1 && b.record.value(b.def, "entrance").as_i64().is_some())
        .unwrap();
    let address = geocoder
        .address_of(unique.code, unique.text("compound"))
        .unwrap();
    let token = crate::common::account(&state, "geo.hotline", gridmap::access::Role::City, &[]);
    let auth = format!("Bearer {token}");
    let body = json!({"address": address, "category": "livelihood", "severity": "blue", "source": "hotline", "text": "停水"}).to_string();
    let (status, _, e) = send(
        &state,
        "POST",
        "/events",
        &[("authorization", &auth)],
        &body,
    )
    .await;
    assert_eq!(status.as_u16(), 201, "{e}");
    assert_eq!(
        e["geometry"]["coordinates"],
        json!([unique.at.x(), unique.at.y()])
    );
    assert_eq!(e["properties"]["grid_code"], json!(&unique.code[..15]));
    // A compound alone is not enough to route: 422 naming the address.
    let body = json!({"address": unique.text("compound"), "category": "livelihood", "severity": "blue", "source": "hotline", "text": "停水"}).to_string();
    let (status, _, e) = send(
        &state,
        "POST",
        "/events",
        &[("authorization", &auth)],
        &body,
    )
    .await;
    assert_eq!(status.as_u16(), 422, "{e}");
    assert!(
        e["message"].as_str().unwrap().starts_with("address:"),
        "{e}"
    );
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("q", s)]).unwrap()[2..].to_string()
}
