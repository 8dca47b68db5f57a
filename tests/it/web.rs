//! The map page as an HTTP client sees it: every asset is embedded and served (gzip, ETag), the
//! page refers to nothing off the server, `/` sends browsers to it and keeps JSON for the rest.
//! What the page does in a browser is `browser.rs`. Also: JSON answers are gzipped when accepted,
//! and what is gzipped already (tiles, the page's files) is not gzipped twice.

use std::io::Read;
use std::process::Command;

use axum::http::StatusCode;
use gridmap::http::Basemap;
use serde_json::Value;

use crate::common::{Raw, bin, get_raw, repo, sample_state};

/// The local files the page names in `src="..."` and `href="..."`, and in `import ... from`.
fn references(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for marker in ["src=\"", "stylesheet\" href=\"", "from '"] {
        for part in text.split(marker).skip(1) {
            let end = part.find(['"', '\'']).unwrap();
            found.push(part[..end].to_string());
        }
    }
    found
}

#[tokio::test]
async fn the_page_and_everything_it_loads_come_from_gridmap() {
    let (_dir, state) = sample_state();
    let page = get_raw(&state, "/map", &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.header("content-type").starts_with("text/html"));
    let html = String::from_utf8(page.body).unwrap();
    let mut pending: Vec<String> = references(&html);
    let mut seen = Vec::new();
    while let Some(reference) = pending.pop() {
        if reference.starts_with("data:") || seen.contains(&reference) {
            continue;
        }
        // No CDN, no remote fonts or styles: only paths on this server.
        assert!(
            !reference.contains("://") && !reference.starts_with("//"),
            "the page refers to {reference} off the server"
        );
        // Modules import each other relative to /map/js/; the page's links are relative to /.
        let path = match reference.strip_prefix("./") {
            Some(module) => format!("/map/js/{module}"),
            None => format!("/{reference}"),
        };
        let asset = get_raw(&state, &path, &[]).await;
        assert_eq!(asset.status, StatusCode::OK, "{path}");
        if path.ends_with(".js") && path.contains("/js/") {
            let text = String::from_utf8(asset.body).unwrap();
            // SVG's namespace is a name the browser compares, never fetches.
            let fetched = text.replace("http://www.w3.org/2000/svg", "");
            assert!(
                !fetched.contains("http://") && !fetched.contains("https://"),
                "{path} names a remote URL"
            );
            pending.extend(references(&text));
        }
        seen.push(reference);
    }
    for expected in [
        "map/vendor/maplibre-gl.js",
        "map/vendor/maplibre-gl.css",
        "map/js/main.js",
        "./style.js",
        "./panels.js",
        "./tools.js",
        "./charts.js",
        "./screen.js",
        "./crs.js",
    ] {
        assert!(
            seen.iter().any(|s| s == expected),
            "{expected} not loaded; saw {seen:?}"
        );
    }
}

#[tokio::test]
async fn assets_are_gzipped_when_asked_and_revalidated_by_etag() {
    let (_dir, state) = sample_state();
    let plain = get_raw(&state, "/map/vendor/maplibre-gl.js", &[]).await;
    assert_eq!(
        plain.header("content-type"),
        "text/javascript; charset=utf-8"
    );
    assert_eq!(plain.header("content-encoding"), "");
    let gzip = get_raw(
        &state,
        "/map/vendor/maplibre-gl.js",
        &[("accept-encoding", "gzip, deflate, br")],
    )
    .await;
    assert_eq!(gzip.header("content-encoding"), "gzip");
    assert!(
        gzip.body.len() * 3 < plain.body.len(),
        "gzip {} of {}",
        gzip.body.len(),
        plain.body.len()
    );
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&gzip.body[..])
        .read_to_end(&mut unzipped)
        .unwrap();
    assert_eq!(unzipped, plain.body);
    let etag = plain.header("etag").to_string();
    assert_eq!(
        gzip.header("etag"),
        format!("{}-gzip\"", etag.trim_end_matches('"')),
        "the gzip form has a tag of its own"
    );
    let again = get_raw(
        &state,
        "/map/vendor/maplibre-gl.js",
        &[("if-none-match", &etag)],
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
    let other = get_raw(&state, "/map/js/main.js", &[("if-none-match", &etag)]).await;
    assert_eq!(
        other.status,
        StatusCode::OK,
        "another file's ETag must not match"
    );
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[tokio::test]
async fn json_is_gzipped_when_accepted_and_nothing_twice() {
    let (_dir, state) = sample_state();
    let gzip = [("accept-encoding", "gzip")];
    for uri in [
        "/coverage/gaps?radius_m=800&level=village",
        "/collections/grids/items?limit=500",
        "/tiles.json",
    ] {
        let plain = get_raw(&state, uri, &[]).await;
        let zipped = get_raw(&state, uri, &gzip).await;
        assert_eq!(plain.header("content-encoding"), "", "{uri}");
        assert_eq!(zipped.header("content-encoding"), "gzip", "{uri}");
        assert!(zipped.body.len() < plain.body.len(), "{uri}");
        let a: Value = serde_json::from_slice(&plain.body).unwrap();
        let b: Value = serde_json::from_slice(&gunzip(&zipped.body)).unwrap();
        assert_eq!(a, b, "{uri}");
        // Both forms say they vary by encoding, so a shared cache keeps them apart.
        for raw in [&plain, &zipped] {
            assert_eq!(varies_by_encoding(raw), 1, "{uri}: {:?}", raw.headers);
        }
    }
    // A z14 tile of the city centre: gzipped once by the tile handler, which the layer leaves be.
    let tile = "/tiles/14/13634/6653.mvt";
    let plain = get_raw(&state, tile, &[]).await;
    let zipped = get_raw(&state, tile, &gzip).await;
    assert_eq!(plain.status, StatusCode::OK);
    assert_eq!(zipped.header("content-encoding"), "gzip");
    assert_eq!(gunzip(&zipped.body), plain.body);
    // The tile handler names the Vary itself; nothing adds a second one.
    assert_eq!(varies_by_encoding(&plain), 1, "{:?}", plain.headers);
    let page = get_raw(&state, "/map/js/main.js", &gzip).await;
    assert_eq!(
        gunzip(&page.body),
        get_raw(&state, "/map/js/main.js", &[]).await.body
    );
}

/// How many of an answer's `Vary` values name Accept-Encoding.
fn varies_by_encoding(raw: &Raw) -> usize {
    raw.headers
        .get_all("vary")
        .iter()
        .filter(|v| {
            v.to_str()
                .unwrap()
                .to_ascii_lowercase()
                .contains("accept-encoding")
        })
        .count()
}

#[test]
fn the_vendored_maplibre_is_the_npm_release_with_its_licence() {
    let dir = repo().join("web/vendor/maplibre-gl");
    let out = Command::new("sha256sum")
        .arg("-c")
        .arg("SHA256SUMS")
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let licence = std::fs::read_to_string(dir.join("LICENSE.txt")).unwrap();
    assert!(licence.contains("BSD"), "MapLibre's BSD licence is kept");
}

#[tokio::test]
async fn browsers_asking_for_slash_get_the_map_and_clients_get_json() {
    let (_dir, state) = sample_state();
    let chromium =
        "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";
    let browser = get_raw(&state, "/", &[("accept", chromium)]).await;
    assert_eq!(browser.status, StatusCode::SEE_OTHER);
    assert_eq!(browser.header("location"), "http://test.local/map");
    for accept in [
        None,
        Some("application/json"),
        Some("*/*"),
        Some("application/json, text/html;q=0.5"),
    ] {
        let headers: Vec<(&str, &str)> = accept.map(|a| ("accept", a)).into_iter().collect();
        let client = get_raw(&state, "/", &headers).await;
        assert_eq!(client.status, StatusCode::OK, "{accept:?}");
        let json: Value = serde_json::from_slice(&client.body).unwrap();
        assert!(
            json["links"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["href"] == "http://test.local/map")
        );
    }
    for raw in [browser, get_raw(&state, "/", &[]).await] {
        let vary: Vec<&str> = raw
            .headers
            .get_all("vary")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        assert!(
            vary.iter()
                .any(|v| v.to_ascii_lowercase().contains("accept")),
            "{vary:?}"
        );
    }
    // `f` overrides Accept, as in OGC API; an unknown format is a 400 naming f.
    let forced = get_raw(&state, "/?f=json", &[("accept", chromium)]).await;
    assert_eq!(forced.status, StatusCode::OK);
    assert!(serde_json::from_slice::<Value>(&forced.body).is_ok());
    let html = get_raw(&state, "/?f=html", &[]).await;
    assert_eq!(html.status, StatusCode::SEE_OTHER);
    let bad = get_raw(&state, "/?f=xml", &[]).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&bad.body).contains("f="));
    let slash = get_raw(&state, "/map/", &[]).await;
    assert_eq!(slash.status, StatusCode::PERMANENT_REDIRECT);
    let missing = get_raw(&state, "/map/js/nope.js", &[]).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let json: Value = serde_json::from_slice(&missing.body).unwrap();
    assert!(json["message"].as_str().unwrap().contains("/map"), "{json}");
}

#[tokio::test]
async fn config_names_the_basemap_only_when_one_is_set() {
    let (_dir, state) = sample_state();
    let none = get_raw(&state, "/map/config.json", &[]).await;
    let json: Value = serde_json::from_slice(&none.body).unwrap();
    assert_eq!(json["basemap"], Value::Null);
    assert_eq!(json["coverage"]["default_radius_m"], 500.0);
    let template = "https://t0.tianditu.gov.cn/DataServer?T=vec_w&x={x}&y={y}&l={z}&tk=KEY";
    let raster = Basemap::parse(template, Some("天地图".into())).unwrap();
    let with = get_raw(&state.clone().with_basemap(raster), "/map/config.json", &[]).await;
    let json: Value = serde_json::from_slice(&with.body).unwrap();
    assert_eq!(json["basemap"]["type"], "raster");
    assert_eq!(json["basemap"]["tiles"][0], template);
    assert_eq!(json["basemap"]["attribution"], "天地图");
}

#[test]
fn a_bad_basemap_is_refused_at_start() {
    for (url, says) in [
        ("ftp://tiles/{z}/{x}/{y}.png", "http(s)"),
        ("https://tiles/{z}/{x}.png", "{y}"),
    ] {
        let out = Command::new(bin())
            .args(["serve", "--bind", "127.0.0.1:0", "--basemap", url])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{url}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("--basemap") && stderr.contains(says),
            "{stderr}"
        );
    }
}
