//! Photos of events over HTTP, on the store `GRIDMAP_TEST_BACKEND` names. The photos are files
//! Pillow wrote (`tests/photos/make.py`): gridmap must read the format and size Pillow gave them
//! from their bytes, serve them back byte for byte to staff of the event's area only, refuse
//! what is not a photo, is too large, is the tenth, or comes after the case closed, and store
//! nothing for a refusal.

use axum::body::Body;
use axum::http::Request;
use gridmap::access::Role;
use gridmap::http::{AppState, router};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::common::{account, backed_state, repo, send};

struct Answer {
    status: u16,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{}: not JSON ({e})", String::from_utf8_lossy(&self.body)))
    }
}

async fn request(
    state: &AppState,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Answer {
    let mut r = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "test.local");
    for (name, value) in headers {
        r = r.header(*name, *value);
    }
    let response = router(state.clone())
        .oneshot(r.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    Answer {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes().to_vec(),
    }
}

fn photo(name: &str) -> Vec<u8> {
    std::fs::read(repo().join("tests/photos").join(name)).unwrap()
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// Add a photo claiming to be a JPEG, whatever it is: gridmap reads the bytes, not the claim.
async fn add(state: &AppState, id: u64, auth: (&str, &str), bytes: Vec<u8>) -> Answer {
    request(
        state,
        "POST",
        &format!("/events/{id}/photos"),
        &[auth, ("content-type", "image/jpeg")],
        bytes,
    )
    .await
}

async fn photos_listed(state: &AppState, id: u64, token: &str) -> Vec<Value> {
    let (status, _, event) = send(
        state,
        "GET",
        &format!("/events/{id}"),
        &[("authorization", &bearer(token))],
        "",
    )
    .await;
    assert_eq!(status, 200, "{event}");
    event["properties"]["photos"].as_array().unwrap().clone()
}

async fn step(state: &AppState, id: u64, token: &str, body: Value) {
    let (status, _, answer) = send(
        state,
        "POST",
        &format!("/events/{id}/transitions"),
        &[("authorization", &bearer(token))],
        &body.to_string(),
    )
    .await;
    assert_eq!(status, 200, "{body}: {answer}");
}

#[tokio::test(flavor = "multi_thread")]
async fn photos_go_in_by_their_bytes_and_come_back_to_staff_of_the_area() {
    use geo::InteriorPoint;
    let (_keep, state) = backed_state();
    let (lon, lat, grid, village, other_village) = {
        let snap = state.index.load();
        let g = &snap.dataset().grids[40];
        let p = g.geometry.interior_point().unwrap();
        let village = g.code[..12].to_string();
        let other = snap
            .dataset()
            .villages
            .iter()
            .find(|v| v.code != village)
            .unwrap()
            .code
            .clone();
        (p.x(), p.y(), g.code.clone(), village, other)
    };
    let staff = account(&state, "ph.village", Role::Village, &[&village]);
    let worker = account(&state, "ph.worker", Role::GridWorker, &[&grid]);
    let outsider = account(&state, "ph.outsider", Role::Village, &[&other_village]);
    let report = json!({
        "lon": lon, "lat": lat, "category": "sanitation", "severity": "blue", "source": "public",
        "text": "垃圾桶满了",
    });
    let (status, _, e) = send(&state, "POST", "/events", &[], &report.to_string()).await;
    assert_eq!(status, 201, "{e}");
    let id = e["id"].as_u64().unwrap();
    let evaluation = e["properties"]["evaluation_token"].as_str().unwrap();

    // The reporter adds the first with the evaluation token; the format and the size in pixels
    // are Pillow's.
    let jpeg = photo("street.jpg");
    let first = add(&state, id, ("report-token", evaluation), jpeg.clone()).await;
    assert_eq!(
        first.status,
        201,
        "{}",
        String::from_utf8_lossy(&first.body)
    );
    let first_json = first.json();
    assert_eq!(first_json["n"], 1);
    assert_eq!(first_json["type"], "image/jpeg");
    assert_eq!(
        (&first_json["width_px"], &first_json["height_px"]),
        (&json!(640), &json!(480))
    );
    assert_eq!(first_json["size_bytes"], jpeg.len());
    assert_eq!(first_json["actor"], "reporter");
    assert_eq!(
        first.headers["location"],
        format!("http://test.local/events/{id}/photos/1")
    );
    // Staff of the area add the others, whatever Content-Type they claim.
    for (name, mime, size) in [
        ("sign.png", "image/png", (120, 90)),
        ("bin.webp", "image/webp", (300, 200)),
    ] {
        let a = add(&state, id, ("authorization", &bearer(&staff)), photo(name)).await;
        assert_eq!(
            a.status,
            201,
            "{name}: {}",
            String::from_utf8_lossy(&a.body)
        );
        let j = a.json();
        assert_eq!(j["type"], mime);
        assert_eq!(
            (j["width_px"].clone(), j["height_px"].clone()),
            (json!(size.0), json!(size.1))
        );
        assert_eq!(j["actor"], "ph.village");
    }

    // Refusals, each naming the fix, none storing anything.
    // (body, auth header, status, what the message says)
    type Refusal<'a> = (Vec<u8>, (&'a str, String), u16, &'a str);
    let refusals: Vec<Refusal> = vec![
        (
            jpeg.clone(),
            ("authorization", String::new()),
            401,
            "account",
        ),
        (
            jpeg.clone(),
            ("report-token", "gm_wrong".into()),
            404,
            "no event",
        ),
        (
            jpeg.clone(),
            ("authorization", bearer(&outsider)),
            404,
            "no event",
        ),
        (
            b"%PDF-1.7 a leaflet".to_vec(),
            ("authorization", bearer(&staff)),
            422,
            "JPEG, PNG or WebP",
        ),
        (
            b"GIF89a\x01\x00\x01\x00".to_vec(),
            ("authorization", bearer(&staff)),
            422,
            "GIF",
        ),
        (
            jpeg[..20].to_vec(),
            ("authorization", bearer(&staff)),
            422,
            "whole file",
        ),
        (Vec::new(), ("authorization", bearer(&staff)), 422, "empty"),
        (
            {
                let mut big = jpeg.clone();
                big.resize(6_000_000, 0);
                big
            },
            ("authorization", bearer(&staff)),
            413,
            "5 MiB",
        ),
    ];
    for (bytes, (header, value), status, says) in refusals {
        let headers: Vec<(&str, &str)> = if value.is_empty() {
            Vec::new()
        } else {
            vec![(header, value.as_str())]
        };
        let a = request(
            &state,
            "POST",
            &format!("/events/{id}/photos"),
            &headers,
            bytes,
        )
        .await;
        let body = a.json();
        assert_eq!(a.status, status, "{body}");
        assert!(
            body["message"].as_str().unwrap().contains(says),
            "{says}: {body}"
        );
    }
    assert_eq!(photos_listed(&state, id, &staff).await.len(), 3);

    // Staff of the area read them back byte for byte, with their type and an ETag.
    let listed = photos_listed(&state, id, &worker).await;
    for (p, name) in listed.iter().zip(["street.jpg", "sign.png", "bin.webp"]) {
        let href = p["href"].as_str().unwrap().replace("http://test.local", "");
        let a = request(
            &state,
            "GET",
            &href,
            &[("authorization", &bearer(&worker))],
            vec![],
        )
        .await;
        assert_eq!(a.status, 200);
        assert_eq!(a.body, photo(name), "{name}");
        assert_eq!(a.headers["content-type"], p["type"].as_str().unwrap());
        assert_eq!(a.headers["x-content-type-options"], "nosniff");
        let etag = a.headers["etag"].to_str().unwrap().to_string();
        let again = request(
            &state,
            "GET",
            &href,
            &[
                ("authorization", &bearer(&worker)),
                ("if-none-match", &etag),
            ],
            vec![],
        )
        .await;
        assert_eq!(again.status, 304);
    }
    let first_href = format!("/events/{id}/photos/1");
    let outside = request(
        &state,
        "GET",
        &first_href,
        &[("authorization", &bearer(&outsider))],
        vec![],
    )
    .await;
    assert_eq!(outside.status, 404);
    let public = request(&state, "GET", &first_href, &[], vec![]).await;
    assert_eq!(public.status, 401);
    // The reporter adds photos but reads none back, as they read no event.
    let reporter = request(
        &state,
        "GET",
        &first_href,
        &[("report-token", evaluation)],
        vec![],
    )
    .await;
    assert_eq!(reporter.status, 401);
    let none = request(
        &state,
        "GET",
        &format!("/events/{id}/photos/4"),
        &[("authorization", &bearer(&staff))],
        vec![],
    )
    .await;
    assert_eq!(none.status, 404);

    // Nine at most: the tenth is a conflict and stores nothing.
    for _ in 3..9 {
        let a = add(
            &state,
            id,
            ("authorization", &bearer(&worker)),
            photo("sign.png"),
        )
        .await;
        assert_eq!(a.status, 201);
    }
    let tenth = add(
        &state,
        id,
        ("authorization", &bearer(&worker)),
        photo("sign.png"),
    )
    .await;
    assert_eq!(tenth.status, 409);
    assert!(
        tenth.json()["message"]
            .as_str()
            .unwrap()
            .contains("9 photos")
    );
    assert_eq!(photos_listed(&state, id, &staff).await.len(), 9);

    // Once closed, no more photos: the case is done.
    let other = json!({
        "lon": lon, "lat": lat, "category": "sanitation", "severity": "blue", "source": "public",
        "text": "又满了",
    });
    let (_, _, e2) = send(&state, "POST", "/events", &[], &other.to_string()).await;
    let id2 = e2["id"].as_u64().unwrap();
    step(&state, id2, &staff, json!({"action": "accept"})).await;
    step(
        &state,
        id2,
        &staff,
        json!({"action": "dispatch", "to": grid}),
    )
    .await;
    let proof = add(
        &state,
        id2,
        ("authorization", &bearer(&worker)),
        photo("bin.webp"),
    )
    .await;
    assert_eq!(proof.status, 201, "the handler's proof");
    step(
        &state,
        id2,
        &worker,
        json!({"action": "handle", "note": "已清运"}),
    )
    .await;
    step(&state, id2, &staff, json!({"action": "close"})).await;
    let late = add(
        &state,
        id2,
        ("authorization", &bearer(&staff)),
        photo("sign.png"),
    )
    .await;
    assert_eq!(late.status, 409);
    assert!(late.json()["message"].as_str().unwrap().contains("closed"));
    assert_eq!(photos_listed(&state, id2, &staff).await.len(), 1);
}
