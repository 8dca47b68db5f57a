//! Absolute links behind a reverse proxy: every document that names a URL (landing page,
//! collections, items and their `next` pages, one feature, queryables, TileJSON, the OpenAPI
//! `servers`, the web map's config, a redirect) names the public one; and CORS preflights for the headers scripts send.

use serde_json::Value;

use crate::common::get_raw;

/// The sample, with a basemap served by the same server (whose URL the page's config names).
fn backed_state() -> (Box<dyn std::any::Any>, gridmap::http::AppState) {
    let (store, state) = crate::common::backed_state();
    let basemap = gridmap::http::Basemap::parse("/basemap/{z}/{x}/{y}.png", None).unwrap();
    (store, state.with_basemap(basemap))
}

/// Every `href`, `$id`, TileJSON tile template and OpenAPI server URL in a JSON document.
fn urls(doc: &Value, out: &mut Vec<String>) {
    match doc {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("href" | "$id", Value::String(s)) => out.push(s.clone()),
                    ("tiles", Value::Array(a)) => {
                        out.extend(a.iter().filter_map(|t| t.as_str().map(str::to_string)))
                    }
                    ("servers", Value::Array(a)) => out.extend(
                        a.iter()
                            .filter_map(|s| s["url"].as_str().map(str::to_string)),
                    ),
                    _ => urls(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| urls(v, out)),
        _ => {}
    }
}

/// Whether `url` is `base` itself (OpenAPI `servers`) or a path below it.
fn under(url: &str, base: &str) -> bool {
    url == base || url.starts_with(&format!("{base}/"))
}

const DOCUMENTS: &[&str] = &[
    "/",
    "/collections",
    "/collections/grids",
    "/collections/grids/items?limit=2&offset=4",
    "/collections/grids/items/321181001001001",
    "/collections/grids/queryables",
    "/tiles.json",
    "/openapi.json",
    "/map/config.json",
];

/// The URLs of every document, fetched with these request headers.
async fn all_urls(state: &gridmap::http::AppState, headers: &[(&str, &str)]) -> Vec<String> {
    let mut out = Vec::new();
    for path in DOCUMENTS {
        let r = get_raw(state, path, headers).await;
        assert_eq!(r.status, 200, "{path}");
        let doc: Value = serde_json::from_slice(&r.body).unwrap();
        let before = out.len();
        urls(&doc, &mut out);
        assert!(out.len() > before, "{path} names no URL");
    }
    out
}

#[tokio::test]
async fn forwarded_headers_give_every_link_the_proxy_scheme_host_and_prefix() {
    let (_store, state) = backed_state();
    let x_forwarded = [
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", "gis.example.org"),
        ("x-forwarded-prefix", "/gridmap"),
    ];
    let rfc_7239 = [
        (
            "forwarded",
            "for=192.0.2.1;proto=https;host=gis.example.org",
        ),
        ("x-forwarded-prefix", "/gridmap"),
    ];
    for headers in [&x_forwarded[..], &rfc_7239[..]] {
        let found = all_urls(&state, headers).await;
        assert!(found.len() > 20);
        for url in &found {
            assert!(
                under(url, "https://gis.example.org/gridmap"),
                "{url} with {headers:?}"
            );
        }
        // The next page names the public URL too (GDAL and OWSLib follow it as it is).
        assert!(
            found
                .iter()
                .any(|u| u.contains("/items?") && u.contains("offset=6"))
        );
    }
}

#[tokio::test]
async fn without_proxy_headers_links_name_the_host_asked() {
    let (_store, state) = backed_state();
    for url in all_urls(&state, &[]).await {
        assert!(under(&url, "http://test.local"), "{url}");
    }
}

#[tokio::test]
async fn public_url_overrides_the_headers_everywhere() {
    let (_store, state) = backed_state();
    let state = state.with_public_url("https://map.example.cn/gis/");
    let headers = [
        ("x-forwarded-host", "other.example"),
        ("x-forwarded-proto", "http"),
    ];
    for url in all_urls(&state, &headers).await {
        assert!(under(&url, "https://map.example.cn/gis"), "{url}");
    }
    let redirect = get_raw(&state, "/?f=html", &[]).await;
    assert_eq!(redirect.status, 303);
    assert_eq!(
        redirect.header("location"),
        "https://map.example.cn/gis/map"
    );
}

#[tokio::test]
async fn cors_preflight_allows_the_headers_scripts_send() {
    let (_store, state) = backed_state();
    let r = {
        use axum::body::Body;
        use axum::http::Request;
        use tower::ServiceExt;
        let request = Request::builder()
            .method("OPTIONS")
            .uri("/tiles/14/13634/6653.mvt")
            .header("host", "test.local")
            .header("origin", "https://app.example.org")
            .header("access-control-request-method", "GET")
            .header(
                "access-control-request-headers",
                "if-none-match,authorization,accept-language",
            )
            .body(Body::empty())
            .unwrap();
        gridmap::http::router(state.clone())
            .oneshot(request)
            .await
            .unwrap()
    };
    assert!(r.status().is_success(), "{}", r.status());
    let allowed = r
        .headers()
        .get("access-control-allow-headers")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    for header in ["if-none-match", "authorization", "accept-language"] {
        assert!(allowed.contains(header), "{allowed}");
    }
    let methods = r.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap();
    assert!(
        methods.contains("PATCH") && methods.contains("DELETE"),
        "{methods}"
    );
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    // The allowed headers mirror the request's, so a cache must key the answer on them.
    let vary = r.headers()["vary"].to_str().unwrap();
    assert!(vary.contains("access-control-request-headers"), "{vary}");
    // A preflight reaches no handler, but has its id like every answer.
    assert!(r.headers().contains_key("x-request-id"));
    let simple = get_raw(
        &state,
        "/collections/grids/items?limit=1",
        &[("origin", "https://app.example.org")],
    )
    .await;
    let exposed = simple
        .header("access-control-expose-headers")
        .to_ascii_lowercase();
    assert!(
        exposed.contains("etag") && exposed.contains("content-crs"),
        "{exposed}"
    );
    assert_eq!(simple.header("access-control-allow-origin"), "*");
    // Errors too, so that a script can read what went wrong.
    let missing = get_raw(
        &state,
        "/no/such/thing",
        &[("origin", "https://app.example.org")],
    )
    .await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.header("access-control-allow-origin"), "*");
}
